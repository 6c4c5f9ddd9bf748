"""Wide vectors: the `domrand` command compiles its kernels for AVX-512's full 512-bit width where the CPU has it.

LLVM, which compiles numba's code, keeps loops to 256-bit vectors on CPUs with AVX-512 unless told otherwise (its
`prefer-256-bit` tuning: on the first AVX-512 chips, wide instructions lowered the clock). The kernels' shading,
image-noise and PNG loops are vector code, and on this project's machines (`rocketlake` to LLVM, AVX-512 with FP16)
512-bit vectors render a 128 px tabletop image in 0.94-0.97 ms against 1.03-1.07 (`kernels.raster.render_batch`, one
thread) and `domrand generate --num 8192` runs 3-6 % faster (three alternated rounds). The bytes are the same: the
loops are element by element (no float sum is reordered, numba's code has no fast math), so the vector width changes
no value (8,192 images compared file by file).

numba's CPU features are one setting for the whole process, the user's own numba code included, so the library leaves
them alone; the `domrand` command, whose process (and children: the warm-up child, pool workers, a local Ray cluster)
runs only domrand's code, turns the preference off (`use_wide_vectors`) unless the user chose features already
(`NUMBA_CPU_FEATURES`) or says no (`DOMRAND_WIDE_VECTORS=0`). Compiled kernels are cached per feature string, so the
command's and a Python session's kernels are cached side by side. A script can ask for the same with
`NUMBA_CPU_FEATURES="$(python -c 'from domrand.kernels.vectors import wide_features; print(wide_features() or "")')"`.
"""

from __future__ import annotations

import os

#: Set to 0 to keep LLVM's 256-bit preference in the `domrand` command too.
ENV = "DOMRAND_WIDE_VECTORS"
#: numba's variable for the CPU features it compiles for (the command sets it, so that its children inherit it).
NUMBA_ENV = "NUMBA_CPU_FEATURES"


def wide_features() -> str | None:
    """numba's CPU feature string for this host with LLVM's 256-bit preference off (`-prefer-256-bit` appended to the
    string numba would use), or None where the CPU has no AVX-512 (nothing wider to use)."""
    from numba.core.codegen import get_host_cpu_features

    features = get_host_cpu_features()
    if "+avx512f" not in features.split(","):
        return None
    return f"{features},-prefer-256-bit"


def use_wide_vectors() -> bool:
    """Compile this process's (and its children's) kernels with 512-bit vectors where the CPU has AVX-512; whether it
    did. Nothing happens where the user set `NUMBA_CPU_FEATURES` or `DOMRAND_WIDE_VECTORS=0`, or where numba already
    compiled something in this process (its features are fixed then: a test calling the command's `main`)."""
    if os.environ.get(NUMBA_ENV) or os.environ.get(ENV, "1").strip() == "0":
        return False
    try:
        from numba.core import config
        from numba.core.registry import cpu_target

        if "_toplevel_target_context" in cpu_target.__dict__:  # numba's code generator exists: too late to change
            return False
        features = wide_features()
    except (ImportError, AttributeError):  # another numba's internals: its defaults, rather than a guess
        return False
    if features is None:
        return False
    os.environ[NUMBA_ENV] = features
    config.CPU_FEATURES = features
    return True
