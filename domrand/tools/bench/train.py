"""`domrand bench train`: seconds per pose-training step in float32 and in bfloat16 autocast, side by side,
on the CPU or (`--device cuda`) a GPU.

The two precisions step in turn (one float32 step, one bfloat16 step, repeated) on the same random batch,
so that both see the same machine load; the figure is the median of each and their ratio. The data do
not matter to a step's cost, so no dataset is needed.

    domrand bench train --size 128 --batch 64 --steps 10 --json experiments/benchmarks/train_cpu.json
    domrand bench train --device cuda --size 128 --batch 256 --steps 50
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from domrand.tools.bench.markdown import write_results


def _step(model: Any, opt: Any, x: torch.Tensor, bf16: bool) -> float:
    cuda = x.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(x.device)
    t0 = time.perf_counter()
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        pos, heat, _ = model.forward_train(x)
    loss = pos.square().mean() + heat.square().mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if cuda:  # the step is done when the GPU is
        torch.cuda.synchronize(x.device)
    return time.perf_counter() - t0


def run(size: int, batch: int, steps: int, device: str = "cpu") -> list[dict[str, Any]]:
    """Median seconds per step of each precision (float32 contiguous, float32 and bfloat16 channels-last) on
    `device` ("cpu", "cuda", "cuda:N")."""
    from domrand.tasks.device import resolve_device, resolve_precision
    from domrand.tasks.pose.model import PoseNet, PoseNetConfig

    dev = resolve_device(device)
    variants = [("fp32", False, False), ("fp32 channels-last", False, True), ("bf16 channels-last", True, True)]
    torch.manual_seed(0)
    x = torch.rand(batch, 3, size, size).to(dev)
    setups = []
    for name, bf16, cl in variants:
        model = PoseNet(PoseNetConfig(image_size=size)).to(dev)
        if cl:
            model = model.to(memory_format=torch.channels_last)
        xin = x.contiguous(memory_format=torch.channels_last) if cl else x
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        for _ in range(2):  # warm-up: oneDNN picks its kernels
            _step(model, opt, xin, bf16)
        setups.append((name, bf16, model, opt, xin, []))
    for _ in range(steps):
        for _name, bf16, model, opt, xin, times in setups:
            times.append(_step(model, opt, xin, bf16))
    native = resolve_precision("auto", dev) == "bf16"
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    base = statistics.median(setups[0][5])
    return [
        {
            "variant": name, "size": size, "batch": batch, "steps": steps, "threads": torch.get_num_threads(),
            "s_per_step": round(statistics.median(times), 4), "speedup": round(base / statistics.median(times), 2),
            "bf16_native": native, "device": where,
        }
        for name, _, _, _, _, times in setups
    ]  # fmt: skip


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| variant | s per step | speedup over float32 |", "| --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['variant']} | {r['s_per_step']:.3f} | {r['speedup']:.2f}x |")
    r = rows[0]
    where = r.get("device", "cpu")
    on = f"{r['threads']} threads" if where == "cpu" else where
    lines.append(
        f"\nPoseNet at {r['size']} px, {r['batch']} images a step, {on}, median of {r['steps']} "
        f"interleaved steps; bfloat16 native on this processor: {'yes' if r['bf16_native'] else 'no'}."
    )
    return "\n".join(lines)


def main(
    size: int = 128,
    batch: int = 64,
    steps: int = 10,
    device: str = "cpu",
    json_out: str | None = None,
    readme: str | None = None,
) -> list[dict[str, Any]]:
    """Measure and report (printed table, `json_out` rows, `readme` table); returns the rows."""
    if size < 32 or size % 16:
        raise ValueError(f"--size must be a multiple of 16, >= 32, got {size}")
    if batch < 1 or steps < 1:
        raise ValueError(f"--batch and --steps must be >= 1, got {batch}, {steps}")
    rows = run(size, batch, steps, device)
    write_results(rows, table(rows), "BENCH_TRAIN", json_out, readme)
    return rows
