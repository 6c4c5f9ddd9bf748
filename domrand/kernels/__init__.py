"""Every compiled CPU kernel (numba), each the twin of a torch reference that it names and shares constants with.

| module | twin of | what it computes |
| --- | --- | --- |
| `frontend` | `render.frontend` | world geometry, view transform, near-plane clipping, projection |
| `raster` | `render.raster_torch`, `render.renderer` | whole-scene rasterization, shadow maps, the per-scene render loop |
| `shade` | `render.shade_torch` | texture lookup, shadow test, Blinn-Phong shading |
| `silhouettes` | `render.renderer.silhouette_areas`, `labels` (torch paths) | unoccluded silhouettes, mask boxes, amodal boxes |
| `textures` | `generators.textures` | procedural texture synthesis (kind ids from `generators.textures.KINDS`) |
| `noise` | `randomizers.noise` (torch path) | image noise: colour jitter, blur, Gaussian and salt-and-pepper |

Nothing here draws random numbers: the randomizers draw, the kernels compute.
"""
