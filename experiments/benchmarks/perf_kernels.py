"""Name the compiled kernels in a Linux `perf` profile of a whole `domrand` command.

numba's machine code lives in anonymous memory, so `perf report` shows it as bare addresses ("[JIT]"). This runs a
`domrand` command in this process, then writes `/tmp/perf-<pid>.map`, the map `perf` reads for such code: the
address and size of every function the command's kernels hold (internal kernels and numba's runtime, such as
`NRT_incref`, included). Kernels loaded from the compile cache carry no function list (only their entry is
named, with everything linked into it), so the command compiles afresh into a temporary `NUMBA_CACHE_DIR` (about
13 s first; give a run long enough that the steady state dominates, and read a time window of it). On a first
run the CLI's warm-up child compiles the texture and noise kernels, which the command then loads from that cache:
they show under their entries' names.

    perf record -F 999 -o /tmp/perf.data -- python experiments/benchmarks/perf_kernels.py \\
        generate --num 6000 --out /tmp/perf_ds --overwrite --quiet
    perf report -i /tmp/perf.data --sort sym --stdio --time 60%-97% | head -40

Reading on 2026-12-07 (a7645de, 2 cores, the tabletop preset at 128 px, the last 40 % of a 6,000-image run): the
texture kernel 10.9 % of the process's samples, image noise 8.5, a light's row 8.4, the raster 6.9, the texture
lookups 6.1, the rest of the shading 5.5, the runs' interpolation 4.8, the shadow lookups 4.3, numba's reference
counts (`NRT_incref` / `NRT_decref`) 8.1, memmove 2.2, the silhouettes' mask statistics 1.9, Python's cyclic
garbage collector about 1.5; torch and Python the rest (a second reading within half a point of each). Compiling
the row helpers and the raster without reference counts (numba's `_nrt=False`) took the counts to 5.1 % and
changed nothing measurable in the render stage (1.40-1.61 against 1.39-1.45 ms of CPU an image, alternated): the
counts' samples are not time the kernels would save.
"""

from __future__ import annotations

import os
import sys
import tempfile


def kernel_symbols() -> dict[int, tuple[int, str]]:
    """{address: (size in bytes, name)} of the functions in the compiled kernels this process holds (each size
    runs to the next function's start; the last one gets 4 KiB)."""
    from numba.core.dispatcher import Dispatcher

    seen, starts = set(), {}
    dispatchers = {
        id(v): v
        for name, module in list(sys.modules.items())
        if name.startswith(("domrand", "generators")) and module is not None
        for v in vars(module).values()
        if isinstance(v, Dispatcher)
    }
    for d in dispatchers.values():
        for cres in list(d.overloads.values()):
            libraries = [cres.library]
            while libraries:
                lib = libraries.pop()
                if id(lib) in seen:
                    continue
                seen.add(id(lib))
                libraries += list(getattr(lib, "_linking_libraries", ()))
                module = getattr(lib, "_final_module", None)
                names = [f.name for f in module.functions if not f.is_declaration] if module is not None else []
                if lib is cres.library:  # a kernel loaded from the cache (the warm-up child's): its entry alone
                    names.append(cres.fndesc.llvm_func_name)
                for fn in names:
                    try:
                        address = lib.get_pointer_to_function(fn)
                    except Exception:  # a function LLVM inlined away or never emitted
                        continue
                    if address:
                        starts[address] = fn
    ordered = sorted(starts)
    ends = [*ordered[1:], ordered[-1] + 4096] if ordered else []
    return {a: (min(b - a, 1 << 20), starts[a]) for a, b in zip(ordered, ends)}


def main(argv: list[str]) -> int:
    os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="domrand_perf_cache_"))
    from domrand.cli import main as cli

    try:
        code = cli(argv)
    except SystemExit as e:
        code = int(e.code or 0)
    symbols = kernel_symbols()
    path = f"/tmp/perf-{os.getpid()}.map"
    with open(path, "w") as f:
        for address, (size, name) in symbols.items():
            f.write(f"{address:x} {size:x} {name}\n")
    print(f"{len(symbols)} kernel functions named in {path}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
