"""`domrand bench generate`: end-to-end images/s to disk (native format) beside render-only images/s.

render-only: the generate pipeline up to rendered, post-processed images (sampling, scene building,
texture synthesis, rendering, image noise), no labels and no writing. end-to-end: `domrand generate`
itself (labels, native shards, fsync, manifest) into a temporary folder. Both run the same seeds and
chunks, interleaved, three times; figures are medians and the write cost is 1 - end-to-end/render-only.

With `--ray`, a local two-CPU Ray cluster is started once (its start-up time is reported, not counted)
and `--backend ray` (two workers) is timed beside the local backend; the line reports the ratio to the
best local figure, the difference per chunk, and the round trip of an empty Ray task (Ray's own
per-chunk overhead).

`--memory` also runs `domrand generate` for 10,000 and 100,000 images at 64 x 64 in child processes and
reports each one's peak resident memory.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from domrand.config import load_config
from domrand.generate import GenerateOptions, generate
from domrand.rng import chunk_rng
from domrand.tools.bench.markdown import write_results


def render_only_rate(cfg, n: int, seed: int = 0) -> float:
    pipe = cfg.pipeline()
    c = cfg.chunk_size
    pipe.render(pipe.sample(min(c, n), rng=chunk_rng(seed, 0)))  # warm up
    t0 = time.perf_counter()
    for k in range((n + c - 1) // c):
        pipe.render(pipe.sample(min(c, n - k * c), rng=chunk_rng(seed, k)))
    return n / (time.perf_counter() - t0)


def generate_rate(cfg, n: int, workers: int, backend: str = "local", seed: int = 0) -> float:
    """Images/s of a whole `generate` run (for Ray: including starting and stopping a local cluster)."""
    out = Path(tempfile.mkdtemp(prefix="domrand_bench_"))
    try:
        t0 = time.perf_counter()
        generate(
            cfg, GenerateOptions(out=str(out / "ds"), num=n, seed=seed, workers=workers, quiet=True, backend=backend)
        )
        return n / (time.perf_counter() - t0)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _task_roundtrip_ms(ray: Any, n: int = 200) -> float:
    """Mean time to submit one empty Ray task and get its result (Ray's own per-chunk overhead)."""

    @ray.remote(num_cpus=1)
    def nothing() -> int:
        return 0

    ray.get(nothing.remote())
    t0 = time.perf_counter()
    for _ in range(n):
        ray.get(nothing.remote())
    return (time.perf_counter() - t0) / n * 1000


def peak_rss_mb(num: int, size: int) -> float:
    """Peak resident memory (MB) of a child `domrand generate` of `num` images at size x size."""
    out = Path(tempfile.mkdtemp(prefix="domrand_mem_"))
    try:
        cmd = [sys.executable, "-m", "domrand.cli", "generate", "--num", str(num), "--size", str(size)]
        cmd += ["--out", str(out / "ds"), "--quiet"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed with {proc.returncode}")
        return usage.ru_maxrss / 1024  # kilobytes on Linux
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main(
    size: int = 128,
    images: int = 0,
    ray: bool = False,
    memory: bool = False,
    json_out: str | None = None,
    readme: str | None = None,
) -> list[dict[str, Any]]:
    """Measure and report (printed table, `json_out` rows, `readme` table); returns the rows."""
    import logging

    logging.getLogger("domrand.generate").setLevel(logging.WARNING)
    cfg = load_config(overrides={"image_size": size})
    n = images or 1024
    rows: list[dict[str, Any]] = []
    want_ray = ray
    render, e2e, e2e2, ray_rates = [], [], [], []
    ray_startup = None
    if want_ray:  # one local cluster for all Ray runs, started outside the timed runs
        import ray as ray_module

        t0 = time.perf_counter()
        ray_module.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray_startup = time.perf_counter() - t0
    for _ in range(3):
        render.append(render_only_rate(cfg, n))
        e2e.append(generate_rate(cfg, n, workers=1))
        e2e2.append(generate_rate(cfg, n, workers=2))
        if want_ray:
            ray_rates.append(generate_rate(cfg, n, workers=2, backend="ray"))
    r, g1, g2 = statistics.median(render), statistics.median(e2e), statistics.median(e2e2)
    rows.append({"measure": "render_only", "size": size, "images": n, "images_per_s": round(r, 1)})
    rows.append(
        {
            "measure": "generate_native",
            "workers": 1,
            "size": size,
            "images": n,
            "images_per_s": round(g1, 1),
            "write_cost": round(1 - g1 / r, 3),
        }
    )
    rows.append(
        {
            "measure": "generate_native",
            "workers": 2,
            "size": size,
            "images": n,
            "images_per_s": round(g2, 1),
            "write_cost": round(1 - g2 / r, 3),
        }
    )
    if ray_rates:
        rr = statistics.median(ray_rates)
        chunks = (n + cfg.chunk_size - 1) // cfg.chunk_size
        rows.append(
            {
                "measure": "generate_native_ray",
                "workers": 2,
                "size": size,
                "images": n,
                "images_per_s": round(rr, 1),
                "ray_vs_best_local": round(rr / max(g1, g2), 3),
                "ray_minus_best_local_s_per_chunk": round((n / rr - n / max(g1, g2)) / chunks, 4),
                "ray_task_roundtrip_ms": round(_task_roundtrip_ms(ray_module), 2),
                "ray_cluster_startup_s": round(ray_startup or 0.0, 2),
            }
        )
        ray_module.shutdown()
    if memory:
        small, big = peak_rss_mb(10_000, 64), peak_rss_mb(100_000, 64)
        rows.append(
            {
                "measure": "peak_rss_mb",
                "size": 64,
                "images_10k": round(small, 1),
                "images_100k": round(big, 1),
                "ratio": round(big / small, 3),
            }
        )
    for row in rows:
        print(json.dumps(row), flush=True)
    write_results(rows, table(rows), "BENCH_GENERATE", json_out, readme)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the rows `main` measures (rates as medians of three runs)."""
    lines = ["| measure | images/s | against render only |", "| --- | --- | --- |"]
    render = next((r["images_per_s"] for r in rows if r["measure"] == "render_only"), None)
    for r in rows:
        if r["measure"] == "render_only":
            lines.append(
                f"| render only, {r['size']} px (randomize + render, no labels, no writing) | {r['images_per_s']} | 1.00 |"
            )
        elif r["measure"].startswith("generate_native"):
            how = "Ray, 2 workers" if r["measure"].endswith("ray") else f"local, {r['workers']} worker(s)"
            rel = f"{r['images_per_s'] / render:.2f}" if render else "-"
            lines.append(f"| `domrand generate` native, {how} | {r['images_per_s']} | {rel} |")
    for r in rows:
        if r["measure"] == "generate_native_ray":
            lines.append(
                f"\nRay: task round trip {r['ray_task_roundtrip_ms']} ms, cluster start {r['ray_cluster_startup_s']} s "
                f"(outside the timed runs), {r['ray_vs_best_local']:.2f}x the best local rate."
            )
        if r["measure"] == "peak_rss_mb":
            lines.append(
                f"\nPeak memory of `domrand generate` at {r['size']} px: {r['images_10k']} MB for 10,000 images, "
                f"{r['images_100k']} MB for 100,000 ({r['ratio']:.2f}x)."
            )
    return "\n".join(lines)
