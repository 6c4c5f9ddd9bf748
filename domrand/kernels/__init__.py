"""Every compiled CPU kernel (numba), each the twin of a torch reference that it names and shares constants with.

| module | twin of | what it computes |
| --- | --- | --- |
| `frontend` | `render.frontend` | world geometry, view transform, near-plane clipping, projection |
| `raster` | `render.raster_torch`, `render.renderer` | whole-scene rasterization, shadow maps, the per-scene render loop |
| `shade` | `render.shade_torch` | texture lookup, shadow test, Blinn-Phong shading |
| `silhouettes` | `render.renderer.Renderer.silhouettes`, `labels` (torch paths) | unoccluded silhouettes on the canvas around the image, mask boxes, amodal boxes; `depth_canvas` (BOP's model renders, checked against the BOP toolkit and trimesh ray casts) |
| `textures` | `generators.textures` | procedural texture synthesis (kind ids from `generators.textures.KINDS`) |
| `noise` | `randomizers.noise` (torch path) | image noise: colour jitter, blur, Gaussian and salt-and-pepper |
| `outlines` | `io.polygons.outlines_reference` | mask outlines for COCO and YOLO polygons |
| `rle` | `io.rle.encode` | COCO's compressed RLE counts of one object in an instance image |
| `png` | zlib (tests decode with zlib, OpenCV and Pillow) | PNG encoding of RGB images, masks and depth for the interchange formats |
| `bop_gt` | `io.bop_gt` (the BOP toolkit's numpy arithmetic, tests/io/test_bop_visibility.py) | BOP's visibility masks and pixel counts of one object |

Nothing here draws random numbers: the randomizers draw, the kernels compute. Beside them: `cache` (where numba
keeps them), `threads` (a batch's items over the kernel threads), `fmath` (inline floor, ceil and a vectorizable
power), `vectors` (the `domrand` command compiles them with 512-bit vectors where the CPU has AVX-512: the same
bytes), `first_run` (the warm-up child's share of a first compile).
"""


def cache_is_cold(png: bool = False) -> bool:
    """Whether the renderer's compiled kernel (and with `png`, the PNG encoders') is not yet in numba's on-disk
    cache for this process's CPU features (the first run on a machine, after an upgrade, or the first with other
    features: `kernels.vectors`): the first render then compiles for a while. Imports the kernel modules and reads
    their cache indexes, compiles nothing."""
    try:
        from domrand.kernels import raster

        kernels = [raster.render_batch]
        if png:
            from domrand.kernels import bop_gt
            from domrand.kernels import png as png_kernels

            kernels += [
                png_kernels.deflate_rgb,
                png_kernels.deflate_grey,
                bop_gt.visibility,
            ]
        return not all(_cached_here(k) for k in kernels)
    except (AttributeError, ImportError, TypeError, IndexError):  # another numba's internals: say nothing, not guess
        return False


def _cached_here(kernel: object) -> bool:
    """Whether numba's on-disk cache holds `kernel` compiled for this process's code generator (a cache index keeps
    one entry per signature and `magic_tuple`: target, CPU name and features)."""
    from numba.core.registry import cpu_target

    index = kernel._cache._cache_file._load_index()  # type: ignore[attr-defined]  # {} when missing or stale
    magic = cpu_target.target_context.codegen().magic_tuple()
    return any(key[1] == magic for key in index)
