"""`domrand bench generate`: `domrand generate` end to end against the PyBullet peer, in one run on the same cores.

Every `domrand generate` figure is the wall clock of the command itself in a fresh process (`python -m
domrand.cli generate ...`, start-up included: imports, the compiled kernels' cache, the scene bank) on the
warm cache. Reported, at one image size (128 px by default):

- the PyBullet peer pipeline (`pybullet_peer`: pool textures, colours, light and camera per image, rgb + depth +
  segmentation) in as many processes as there are cores (the time of its `images` images);
- native output of `images` images with 1 and with 2 workers, and each other format, and all four, on
  `format_images` images (by default `images`; native again on that count, for the formats' ratios);
- the per-stage breakdown of a chunk (`stages.breakdown`, ms per image);
- start-up: the wall clock of a 64-image run; and the cold start: seconds until the first chunk is written
  with an empty compile cache (`NUMBA_CACHE_DIR` pointing to an empty folder), once a round (the median).

With `--repeats R` every variant runs once per round, R rounds, and each rate is the median of its rounds. The
ratios are paired: in every round each format's time is divided into the mean of the two native runs just before
the formats and just after them, and native's into the peer's run just before it; a ratio is the median of its
rounds' ratios (a slow spell on a shared machine moves a round's runs alike, and its ratio little), and the rows
keep every round's ratio. `--ray` adds the Ray backend (two workers; its start-up is inside the wall clock), `--memory` the peak memory of
10,000- and 100,000-image runs at 64 px. A finished run's output is emptied and kept until the end (`spent`):
deleting it would make the next run's file creations slower on some file systems.
"""

from __future__ import annotations

import functools
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
from domrand.tools.bench.markdown import write_results
from domrand.tools.bench.spent import remove_spent, spend

FORMATS = ("jsonl", "coco", "bop", "yolo")


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def generate_seconds(
    n: int,
    size: int,
    formats: str = "native",
    workers: int = 1,
    backend: str = "local",
    env: dict | None = None,
    until_first_chunk: bool = False,
    config: str | None = None,
) -> float:
    """Wall clock of `domrand generate` in a fresh process (or, with `until_first_chunk`, until chunk 0 is done)."""
    out = Path(tempfile.mkdtemp(prefix="domrand_bench_"))
    cmd = [sys.executable, "-m", "domrand.cli", "generate", "--num", str(n), "--size", str(size), "--format", formats]
    cmd += ["--workers", str(workers), "--backend", backend, "--out", str(out / "ds"), "--quiet"]
    cmd += ["--config", config] if config else []
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
        )
        marker = out / "ds" / "chunks" / "000000.json"
        while until_first_chunk and proc.poll() is None and not marker.exists():
            time.sleep(0.02)
        first = time.perf_counter() - t0
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {err.decode()[-2000:]}")
        return first if until_first_chunk else time.perf_counter() - t0
    finally:
        spend(out)  # emptied now, unlinked at the end: a deletion would slow the next run's files (`spent`)


#: The user world of the benchmark: (class, asset, keys, subdivisions) of its three classes.
USER_CLASSES = (
    ("mug", "pybullet_data/mug.obj", {"units": "m"}, 1),
    ("duck", "pybullet_data/duck.obj", {"extent": 0.08, "up": "y", "appearance": "mixed"}, 0),
    ("can", "robosuite_grocery/can.stl", {"units": "m"}, 1),
)


def user_world(folder: Path) -> tuple[str, list[int]]:
    """A user world's config in `folder`: three classes of 1k to 20k triangles from assets/ (subdivided where
    they have fewer), five distractors among the primitives and the grocery meshes, a 640 x 480 camera. Returns
    the config's path and the classes' triangle counts."""
    import trimesh
    import yaml

    assets = Path(__file__).resolve().parents[3] / "assets" / "meshes"
    objects, triangles = [], []
    for name, rel, keys, subdivide in USER_CLASSES:
        src = assets / rel
        if subdivide:
            mesh = trimesh.load(src, force="mesh", process=False)
            for _ in range(subdivide):
                mesh = mesh.subdivide()
            path = folder / f"{name}.ply"
            mesh.export(path)
        else:
            path = src
        objects.append({"name": name, "mesh": str(path), "count": [1, 1], **keys})
        triangles.append(len(trimesh.load(path, force="mesh", process=False).faces))
    cfg = {
        "world": {
            "objects": objects,
            "distractors": {"meshes": [str(assets / "robosuite_grocery")], "count": [5, 5]},
        },
        "camera": {
            "intrinsics": {"fx": 615.0, "fy": 615.0, "cx": 321.5, "cy": 238.5, "width": 640, "height": 480},
            "eye": [0.0, -0.55, 0.45],
        },
    }
    path = folder / "user_world.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return str(path), triangles


def peak_rss_mb(num: int, size: int, batch: int | None = None) -> float:
    """Peak resident memory (MB) of a child `domrand generate` of `num` images at size x size (`--batch-size
    batch`; None: its default)."""
    out = Path(tempfile.mkdtemp(prefix="domrand_mem_"))
    try:
        cmd = [sys.executable, "-m", "domrand.cli", "generate", "--num", str(num), "--size", str(size)]
        cmd += ["--out", str(out / "ds"), "--quiet"] + (["--batch-size", str(batch)] if batch else [])
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
    format_images: int = 0,
    repeats: int = 1,
    cold: bool = True,
) -> list[dict[str, Any]]:
    """Measure and report (printed table, `json_out` rows, `readme` table); returns the rows."""
    n = images or 8192
    cores = _cores()
    rows: list[dict[str, Any]] = [{"measure": "machine", "cores": cores, "size": size}]
    generate_seconds(64, size)  # the compile cache warm, the files in the page cache
    # Every variant once per round, rounds one after another: a busy spell on a shared machine hits them all
    # alike, and each figure is the median of its rounds.
    variants: dict[tuple[str, str, int, str], Any] = {}
    try:
        from domrand.tools.bench.pybullet_peer import measure

        variants[("peer", "", cores, "")] = lambda: n / measure(size, n, procs=cores)
    except ImportError:
        pass
    for workers in (1, 2):
        variants[("generate", "native", workers, "local")] = functools.partial(
            generate_seconds, n, size, workers=workers
        )
    if ray:
        variants[("generate", "native", 2, "ray")] = functools.partial(
            generate_seconds, n, size, workers=2, backend="ray"
        )
    m = format_images or n  # the bars compare the formats with native on the same 8,192 images
    for fmt in ("native", *FORMATS, "native,jsonl,coco,bop"):
        variants[("formats", fmt, 1, "local")] = functools.partial(generate_seconds, m, size, formats=fmt)
    # native again after the formats: each format's ratio pairs it with the mean of the natives around it
    variants[("formats", "native", 1, "after")] = functools.partial(generate_seconds, m, size)
    user_dir = Path(tempfile.mkdtemp(prefix="domrand_user_world_"))
    user_cfg, user_tris = user_world(user_dir)
    u = 256
    generate_seconds(64, size, config=user_cfg)  # the meshes read once (their cache), the kernels at 640 x 480
    variants[("user", "native", 1, "local")] = functools.partial(generate_seconds, u, size, config=user_cfg)
    seconds: dict[Any, list[float]] = {key: [] for key in variants}
    for _ in range(repeats):
        for key, run in variants.items():
            seconds[key].append(run())
    shutil.rmtree(user_dir, ignore_errors=True)
    native_times = [(a + b) / 2 for a, b in zip(seconds[("formats", "native", 1, "local")], seconds.pop(("formats", "native", 1, "after")))]  # fmt: skip
    peer_times = seconds.get(("peer", "", cores, ""))
    for (measure_, fmt, workers, backend), times in seconds.items():
        count = m if measure_ == "formats" else (u if measure_ == "user" else n)
        rate = round(count / statistics.median(times), 1)
        if measure_ == "peer":
            rows.append(
                {
                    "measure": "peer",
                    "what": f"PyBullet TinyRenderer, {workers} processes",
                    "images": n,
                    "images_per_s": rate,
                }
            )
        elif measure_ == "user":
            rows.append(
                {
                    "measure": "user",
                    "what": f"3 user classes ({', '.join(f'{t:,}' for t in user_tris)} triangles), 5 distractors, 640 x 480",
                    "images": count,
                    "images_per_s": rate,
                }
            )
        else:
            row = {"measure": measure_, "formats": fmt, "workers": workers, "images": count, "images_per_s": rate}
            if measure_ == "formats":  # paired with the natives of its round (native itself: its two runs' mean)
                row |= _paired("ratio_to_native", [t_n / t for t_n, t in zip(native_times, times)])
            elif peer_times:  # the peer's time for its n images against this run's
                row |= _paired("ratio_to_peer", [t_p / t for t_p, t in zip(peer_times, times)])
            rows.append({**row, "backend": "ray"} if backend == "ray" else row)
    from domrand.tools.bench.stages import breakdown, file_create, shard_write

    stages = breakdown(load_config(overrides={"image_size": size}))
    rows.append({"measure": "stages", "ms_per_image": {k: round(v, 3) for k, v in stages.items()}})
    rows.append({"measure": "file_create", "ms_per_file": {k: round(v, 3) for k, v in file_create().items()}})
    rows.append({"measure": "shard_write", "cpu_ms_per_shard": {k: round(v, 2) for k, v in shard_write().items()}})
    rows.append(
        {
            "measure": "startup",
            "images": 64,
            "seconds": round(statistics.median(generate_seconds(64, size) for _ in range(3)), 2),
        }
    )
    if cold:  # once a round: one reading on a shared machine can fall in a slow minute (16.0 s beside 13-15)
        firsts = []
        for _ in range(max(repeats, 1)):
            empty = tempfile.mkdtemp(prefix="domrand_cold_")
            try:
                firsts.append(generate_seconds(128, size, env={"NUMBA_CACHE_DIR": empty}, until_first_chunk=True))
            finally:
                shutil.rmtree(empty, ignore_errors=True)
        rows.append(
            {
                "measure": "cold_start",
                "seconds_to_first_chunk": round(statistics.median(firsts), 1),
                "seconds_by_round": [round(f, 1) for f in firsts],
            }
        )
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
    remove_spent()
    for row in rows:
        print(json.dumps(row), flush=True)
    write_results(rows, table(rows), "BENCH_GENERATE", json_out, readme)
    return rows


def _paired(name: str, ratios: list[float]) -> dict[str, Any]:
    """A paired ratio's row fields: the median of the rounds' ratios, and each round's."""
    return {name: round(statistics.median(ratios), 3), f"{name}_by_round": [round(r, 3) for r in ratios]}


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown of the rows `main` measures: rates with their ratio to the peer, formats with their ratio to
    native, the stage breakdown, start-up and cold start."""
    machine = next(r for r in rows if r["measure"] == "machine")
    peer = next((r["images_per_s"] for r in rows if r["measure"] == "peer"), None)
    ratio = lambda v: f"{v / peer:.2f}x" if peer else "-"  # noqa: E731

    def to_peer(r: dict[str, Any]) -> str:  # the paired ratio (rows from before it: the ratio of the medians)
        return f"{r['ratio_to_peer']:.2f}x" if "ratio_to_peer" in r else ratio(r["images_per_s"])

    lines = ["| what | images/s | against the peer |", "| --- | --- | --- |"]
    for r in rows:
        if r["measure"] == "peer":
            lines.append(
                f"| {r['what']} (randomized pool textures, colours, light, camera; rgb + depth + segmentation) | {r['images_per_s']} | 1.00x |"
            )
        elif r["measure"] == "generate":
            how = (
                "Ray, 2 workers"
                if r.get("backend") == "ray"
                else f"{r['workers']} worker{'s' if r['workers'] > 1 else ''}"
            )
            lines.append(
                f"| `domrand generate` native, {how}, {r['images']:,} images, wall clock with start-up | {r['images_per_s']} | {to_peer(r)} |"
            )
        elif r["measure"] == "user":
            lines.append(
                f"| a user world: {r['what']}, native, 1 worker, {r['images']:,} images with start-up | {r['images_per_s']} | - |"
            )
    fmts = [r for r in rows if r["measure"] == "formats"]
    if fmts:
        native = next(r["images_per_s"] for r in fmts if r["formats"] == "native")
        lines += [
            "",
            "| `--format` ({:,} images, 1 worker) | images/s | against native (paired; rounds' range) | against the peer |".format(
                fmts[0]["images"]
            ),
            "| --- | --- | --- | --- |",
        ]
        for r in fmts:
            against = r.get("ratio_to_native", r["images_per_s"] / native)
            rounds = r.get("ratio_to_native_by_round", [])
            spread = f" ({min(rounds):.2f}-{max(rounds):.2f})" if len(rounds) > 1 and r["formats"] != "native" else ""
            lines.append(
                f"| {r['formats']} | {r['images_per_s']} | {against:.2f}{spread} | {ratio(r['images_per_s'])} |"
            )
    for r in rows:
        if r["measure"] == "stages":
            ms = r["ms_per_image"]
            other = {k: v for k, v in ms.items() if k.startswith("write ") and k != "write native"}
            native = {k: v for k, v in ms.items() if k not in other}
            total = sum(native.values())
            parts = ", ".join(f"{k} {v:.3f}" for k, v in sorted(native.items(), key=lambda kv: -kv[1]) if v >= 0.005)
            lines.append(
                f"\nA chunk's stages, ms per image ({machine['cores']} threads, {machine['size']} px; {total:.2f} in all): {parts}."
            )
            if other:
                each = ", ".join(f"{k[6:]} {v:.3f}" for k, v in other.items())
                lines.append(f"Each other format's writer alone on the same chunks, ms per image: {each}.")
        elif r["measure"] == "file_create":
            ms = r["ms_per_file"]
            lines.append(
                f"Creating one 20 KB file in the temporary folder took {ms['serial']:.3f} ms (one thread; "
                f"{ms['two_threads']:.3f} ms a file with two threads side by side): the formats write 3 to 5 files an image."
            )
        elif r["measure"] == "shard_write":
            ms = r["cpu_ms_per_shard"]
            direct = (
                f", written directly (O_DIRECT, what domrand does where the file system allows) {ms['direct']:.2f} ms"
                if "direct" in ms
                else " (the temporary folder's file system refuses O_DIRECT)"
            )
            lines.append(
                f"Writing a native chunk's 9.8 MB shard and syncing it took {ms['page_cache']:.2f} ms of CPU through the"
                f" page cache{direct}."
            )
        elif r["measure"] == "startup":
            lines.append(f"\nStart-up: a {r['images']}-image run takes {r['seconds']} s from the command to the end.")
        elif r["measure"] == "cold_start":
            runs = r.get("seconds_by_round", [])
            each = f"; the median of {len(runs)} runs: {', '.join(str(x) for x in runs)} s" if len(runs) > 1 else ""
            lines.append(
                f"First run on an empty compile cache: the first chunk is written after {r['seconds_to_first_chunk']} s"
                f"{each} (a message says the kernels compile)."
            )
        elif r["measure"] == "peak_rss_mb":
            lines.append(
                f"\nPeak memory of `domrand generate` at {r['size']} px: {r['images_10k']} MB for 10,000 images, "
                f"{r['images_100k']} MB for 100,000 ({r['ratio']:.2f}x)."
            )
    return "\n".join(lines)
