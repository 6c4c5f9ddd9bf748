"""A machine's first run compiles the kernels in two processes (`generate.warm`); this is the child's share:
the shading's run interpolation and a light's pass, the texture kernel, the image noise and the quantization,
each compiled by one call (or, for an internal kernel, for its argument types) on small dummy arrays of the
types the pipeline passes it: numba keys its cache by the argument types, so the pipeline's own calls then load
them. No torch and no config: the CLI starts the child before it imports torch, and without torch or a pipeline
to build, the child ends before the main process. tests/generate/test_warm_up.py checks that the pipeline
compiles none of these kernels again.
"""

from __future__ import annotations

import numpy as np

F32, I64, U8 = np.float32, np.int64, np.uint8


def surface() -> None:
    """The shading's run interpolation (`shade._surface_run`, ~1.2 s), as `shade._shade_scene` calls it."""
    from domrand.kernels.shade import ROWS, _surface_run

    row, bary = np.zeros((ROWS, 4), F32), np.zeros((3, 4), F32)
    screen, corner = np.ones((1, 3, 3), F32), np.zeros((1, 3, 8), F32)
    _surface_run(
        row, bary, I64(0), I64(2), F32(0), np.int32(0), screen, corner, F32(0), F32(0), F32(1),
        np.bool_(False), F32(1), F32(0), F32(1), F32(1), F32(1), F32(1),
    )  # fmt: skip


def light() -> None:
    """A light's pass over an image row (`shade._light_row`, ~0.9 s): an internal kernel, so compiled for the
    argument types `_shade_scene` passes (a tuple of them: a signature with a return type is cached apart)."""
    from numba import types as nt

    from domrand.kernels.shade import _light_row

    _light_row.compile((nt.float32[:, ::1], nt.int64, nt.boolean, *[nt.float32] * 7, nt.boolean))


def textures() -> None:
    """The texture kernel (`textures.synthesize`), as `randomizers.texture.synthesize` calls it: one row of kind
    -1 (nothing to draw)."""
    from domrand.kernels.textures import synthesize

    v, v2, v3 = (lambda: np.zeros(1, F32)), (lambda: np.zeros((1, 2), F32)), (lambda: np.zeros((1, 3), F32))
    kind, seed, image = np.full(1, -1, I64), np.zeros(1, I64), np.zeros(1, I64)
    synthesize(
        0, 1, kind, v3(), v3(), v3(), v(), v(), v(), seed, v2(), v(), image, v3(), v3(), np.zeros((1, 1, 1, 3), U8),
        4, np.zeros((1, 4, 4, 3), U8),
    )  # fmt: skip


def noise() -> None:
    """The image noise (`noise.degrade`), as `randomizers.noise.ImageNoise.apply` calls it."""
    from domrand.kernels.noise import degrade

    img = np.zeros((1, 4, 4, 3), F32)
    params = [np.zeros(1, F32) for _ in range(6)]
    degrade(0, 1, img, *params, np.zeros(1, I64), np.zeros_like(img), np.zeros((1, 1, 1, 3), U8), False)


def quantize() -> None:
    """The chunk's quantization (`noise.quantize`), as `generate.runner.quantize` calls it (every chunk, noise or
    not)."""
    from domrand.kernels.noise import quantize as kernel

    kernel(0, 1, np.zeros((1, 4, 4, 3), F32), np.zeros((1, 4, 4, 3), U8))


def compile_share(textures_on: bool = True, noise_on: bool = True) -> None:
    """The child's share: the run interpolation, a light's pass and the quantization, and the texture and noise
    kernels where the config has them (the early child cannot know, as it starts before the config is read: it compiles both)."""
    surface()
    light()
    if textures_on:
        textures()
    if noise_on:
        noise()
    quantize()
