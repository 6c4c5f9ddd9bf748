"""`domrand bench render`: images per second of domrand's renderer and of the PyBullet peer, in one run.

Scene: `domrand.render.demo.demo_scene` (the localization task's tabletop: table, floor, target, 10
distractors of 200 to 500 triangles, 2 lights, shadows and textures on; rgb, depth and instance ids
out). Scenes are built before timing; every image is a different scene. Each figure is the median of
three timed repeats.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from typing import Any

import torch

from domrand.render import RenderConfig, Renderer
from domrand.render.demo import demo_scene
from domrand.tools.bench.markdown import write_results

DEFAULT_IMAGES = {64: 512, 128: 256, 224: 128}


def domrand_rate(size: int, images: int, device: str, batch: int = 64) -> float:
    scene = demo_scene(images, size=size, rng=torch.Generator().manual_seed(size)).to(device)
    r = Renderer(RenderConfig(max_batch=batch, validate=False))
    r.render(scene.slice(0, min(images, batch)))  # warm up (compiles or loads the kernels)
    rates = []
    for _ in range(3):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = r.render(scene)
        if device == "cuda":
            torch.cuda.synchronize()
        _ = out.rgb.sum()
        rates.append(images / (time.perf_counter() - t0))
    return statistics.median(rates)


def run(sizes: list[int], images: int, peer: str, procs: int, device: str) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        n = images or DEFAULT_IMAGES.get(size, 128)
        rate = domrand_rate(size, n, device)
        backend = "numba" if device == "cpu" else "torch"
        rows.append(
            {
                "renderer": f"domrand ({backend})",
                "device": device,
                "size": size,
                "images_per_s": round(rate, 1),
                "outputs": "rgb+depth+instance",
                "threads": os.cpu_count(),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
        if peer == "off":
            continue
        try:
            from domrand.tools.bench.pybullet_peer import measure
        except ImportError:
            if peer == "on":
                raise
            continue
        try:
            prate = statistics.median(measure(size, max(n // 2, 32), procs) for _ in range(3))
        except ImportError:
            if peer == "on":
                raise ValueError("--peer on needs pybullet: pip install 'domrand[sim]'") from None
            continue
        rows.append(
            {
                "renderer": "pybullet-tiny",
                "device": "cpu",
                "size": size,
                "images_per_s": round(prate, 1),
                "outputs": "rgb+depth+segmentation",
                "procs": procs,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table with domrand / peer ratios."""
    lines = ["| size | domrand images/s | PyBullet TinyRenderer images/s | ratio |", "| --- | --- | --- | --- |"]
    for size in sorted({r["size"] for r in rows}):
        d = next((r for r in rows if r["size"] == size and r["renderer"].startswith("domrand")), None)
        p = next((r for r in rows if r["size"] == size and r["renderer"] == "pybullet-tiny"), None)
        ratio = f"{d['images_per_s'] / p['images_per_s']:.1f}x" if d and p else "-"
        lines.append(f"| {size} | {d['images_per_s'] if d else '-'} | {p['images_per_s'] if p else '-'} | {ratio} |")
    return "\n".join(lines)


def main(
    sizes: list[int],
    images: int = 0,
    peer: str = "auto",
    procs: int = 2,
    device: str = "cpu",
    json_out: str | None = None,
    readme: str | None = None,
) -> list[dict[str, Any]]:
    """Measure and report (printed table, `json_out` rows, `readme` table); returns the rows."""
    if not sizes or any(s < 8 for s in sizes):
        raise ValueError(f"--sizes must be image sizes >= 8, got {sizes!r}")
    rows = run(sizes, images, peer, procs, device)
    write_results(rows, table(rows), "BENCH_RENDER", json_out, readme)
    return rows
