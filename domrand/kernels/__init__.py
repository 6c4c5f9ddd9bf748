"""Every compiled CPU kernel (numba), each the twin of a torch reference that it names and shares constants with.

| module | twin of | what it computes |
| --- | --- | --- |
| `frontend` | `render.frontend` | world geometry, view transform, near-plane clipping, projection |
| `raster` | `render.raster_torch`, `render.renderer` | whole-scene rasterization, shadow maps, the per-scene render loop |
| `shade` | `render.shade_torch` | texture lookup, shadow test, Blinn-Phong shading |
| `silhouettes` | `render.renderer.Renderer.silhouettes`, `labels` (torch paths) | unoccluded silhouettes on the canvas around the image, mask boxes, amodal boxes; `depth_canvas` (BOP's model renders, checked against the BOP toolkit and trimesh ray casts) |
| `textures` | `generators.textures` | procedural texture synthesis (kind ids from `generators.textures.KINDS`) |
| `noise` | `randomizers.noise` (torch path) | image noise: colour jitter, blur, Gaussian and salt-and-pepper |

Nothing here draws random numbers: the randomizers draw, the kernels compute.
"""
