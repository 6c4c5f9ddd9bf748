"""The first run on a machine: compile the kernels a dataset needs, two groups at once.

numba compiles one function at a time in a process, and a cold cache (a new machine, a new version of the
kernels) costs about 24 s of compiling on one core before the first chunk. `warm_up` splits it: a child process
compiles the shading's run interpolation, the texture synthesis, the image noise, the quantization and the PNG
encoder (for formats other than native; `kernels.first_run`, `io.first_run`: one call each on dummy arrays of
the pipeline's types, no torch) while this one compiles the renderer and the label kernels (by rendering one
scene without textures or noise: the same argument types); both write numba's cache, which every later call,
process and run reads. The CLI starts the child as it starts (`domrand.cli._early_warm_up`, handed over with
`early`), before this process has imported torch and read its config, so the two groups end together (about
13 s on two cores).

    python -c "$CHILD" CONFIG.json                 # the child (`CHILD`): compile its share for that config
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from domrand.config import DatasetConfig, from_data
from domrand.kernels import cache_is_cold
from domrand.rng import chunk_rng


def _render(config: DatasetConfig) -> None:
    """Compile everything a chunk runs but the textures and the image noise (the child's): render and label one
    small scene without them."""
    from domrand.labels import compute

    pipe = dataclasses.replace(config, image_size=16, textures=None, noise=None).pipeline(max_batch=1)
    frame = pipe.render(pipe.sample(1, rng=chunk_rng(0, 0)))
    compute(frame.scene, frame.instance, frame.silhouette, frame.clean_depth)


#: A warm-up child that the CLI started as it started (`early`), before this process had read its config:
#: `warm_up` joins it instead of starting one.
_early: subprocess.Popen[bytes] | None = None


@contextlib.contextmanager
def early(child: subprocess.Popen[bytes] | None) -> Iterator[None]:
    """While inside, `warm_up` joins `child` (a process already compiling the child's share of this run's kernels,
    `child_work`: the CLI starts it before importing torch, a second sooner than `warm_up` could) instead of
    starting one. On the way out a child nobody joined (the run failed or had nothing to do) is stopped: numba
    writes each cache file whole, so a stopped child leaves no half-written kernel."""
    global _early
    _early = child
    try:
        yield
    finally:
        _early = None
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()


def warm_up(config: DatasetConfig, png: bool = False) -> float | None:
    """Compile the kernels `config` runs on the CPU (and with `png`, the PNG encoder that formats other than
    native use) if numba's cache lacks them; seconds spent, or None when the cache was warm."""
    if not cache_is_cold(png):
        return None
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="domrand_warm_") as tmp:
        spec = Path(tmp) / "config.json"
        spec.write_text(json.dumps({"config": config.to_json(), "png": png}))
        parallel = config.textures or config.noise or png
        child = _early or (subprocess.Popen([sys.executable, "-c", CHILD, str(spec)]) if parallel else None)
        try:
            _render(config)
        finally:
            if child is not None and child.wait() != 0:  # the child failed (no second process allowed?): here instead
                child_work(config, png)
    return time.perf_counter() - t0


#: The child's command: imported, not run as `-m` (that makes runpy warn that the package imported the module).
CHILD = "import sys; from domrand.generate.warm import child; child(sys.argv[1])"


def child(spec: str) -> None:
    """The child process: compile `child_work`'s share for the config in JSON file `spec` ({"config", "png"})."""
    torch.set_num_threads(1)
    job = json.loads(Path(spec).read_text())
    child_work(from_data(job["config"]), job["png"])


def child_work(config: DatasetConfig, png: bool) -> None:
    """What the child compiles (`kernels.first_run`, no torch needed): the shading's run interpolation, the texture
    kernel if `config` has textures, its image noise and the quantization, and the formats' kernels if `png`."""
    from domrand.io.first_run import compile_formats
    from domrand.kernels.first_run import compile_share

    compile_share(textures_on=bool(config.textures), noise_on=config.noise is not None)
    if png:
        compile_formats()


if __name__ == "__main__":
    child(sys.argv[1])
