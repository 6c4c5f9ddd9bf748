"""`Renderer`: SceneBatch -> RenderOutput (rgb, depth, instance ids, optional normals).

Example:
    >>> import torch
    >>> from domrand.render import Renderer, RenderConfig
    >>> from domrand.render.demo import demo_scene
    >>> scene = demo_scene(4, size=64, rng=torch.Generator().manual_seed(0))
    >>> out = Renderer(RenderConfig()).render(scene)
    >>> tuple(out.rgb.shape), tuple(out.depth.shape), out.instance.dtype
    ((4, 64, 64, 3), (4, 64, 64), torch.int32)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from domrand.render import frontend as fe
from domrand.render import raster_torch, shade_torch
from domrand.scene import Camera, SceneBatch
from domrand.silhouettes import MARGIN, Silhouettes

BACKENDS = ("auto", "torch", "numba")


@dataclass(frozen=True)
class RenderConfig:
    """How to render.

    Attributes:
        shadows: cast shadows from each scene's shadow light (see `Lights.shadow`).
        shadow_map_size: shadow map edge, pixels (covers `SceneBatch.shadow_region`); None: twice the
            image's side, clamped to [128, 256].
        cull_back_faces: skip back faces of single-sided meshes.
        supersample: render RGB at this factor and box-filter it down (anti-aliasing); depth and
            instance ids stay exact at the output pixel centres.
        max_batch: scenes rendered at once; bounds memory, never changes a pixel.
        backend: "numba" (compiled CPU kernel), "torch" (any device; the CUDA path), or "auto"
            (numba on CPU tensors, torch otherwise).
        normals: also return world-space normals.
        fragments_per_scene: torch back end on CUDA: initial fragment buffer per scene, as a
            multiple of H * W; it grows (and the batch is redone) if a batch needs more.
        validate: check the scene's shapes and ranges first (reads values back from the device).
    """

    shadows: bool = True
    shadow_map_size: int | None = None
    cull_back_faces: bool = True
    supersample: int = 1
    max_batch: int = 64
    backend: str = "auto"
    normals: bool = False
    fragments_per_scene: float = 12.0
    validate: bool = True

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not (isinstance(self.supersample, int) and 1 <= self.supersample <= 4):
            raise ValueError(f"supersample must be an int in [1, 4], got {self.supersample!r}")
        if not (isinstance(self.max_batch, int) and self.max_batch >= 1):
            raise ValueError(f"max_batch must be an int >= 1, got {self.max_batch!r}")
        if self.shadow_map_size is not None and not (
            isinstance(self.shadow_map_size, int) and 16 <= self.shadow_map_size <= 4096
        ):
            raise ValueError(f"shadow_map_size must be null or an int in [16, 4096], got {self.shadow_map_size!r}")
        if not self.fragments_per_scene > 0:
            raise ValueError(f"fragments_per_scene must be > 0, got {self.fragments_per_scene}")


@dataclass(frozen=True, eq=False)
class RenderOutput:
    """What a render returns; all tensors on the scene's device.

    Attributes:
        rgb: (B, H, W, 3) float32 linear colour in [0, 1].
        depth: (B, H, W) float32 metres along the camera's optical axis, 0 where nothing is hit.
        instance: (B, H, W) int32 instance slot, -1 for background.
        normals: (B, H, W, 3) float32 world normals (zeros on background), or None.
        silhouette: what each asked-for slot covers with nothing in front of it, in and around the image
            (`Silhouettes`; see `Renderer.render`'s `silhouettes`), or None.
    """

    rgb: Tensor
    depth: Tensor
    instance: Tensor
    normals: Tensor | None = None
    silhouette: Silhouettes | None = None

    def to(self, device: torch.device | str) -> RenderOutput:
        opt = lambda t: None if t is None else t.to(device)  # noqa: E731
        return RenderOutput(
            self.rgb.to(device),
            self.depth.to(device),
            self.instance.to(device),
            opt(self.normals),
            opt(self.silhouette),
        )


def _cat(outs: list[RenderOutput]) -> RenderOutput:
    if len(outs) == 1:
        return outs[0]
    return RenderOutput(
        torch.cat([o.rgb for o in outs]),
        torch.cat([o.depth for o in outs]),
        torch.cat([o.instance for o in outs]),
        None if outs[0].normals is None else torch.cat([o.normals for o in outs]),
        None if outs[0].silhouette is None else Silhouettes.cat([o.silhouette for o in outs]),
    )


def supersampled(scene: SceneBatch, factor: int) -> SceneBatch:
    """The same scene at `factor` times the resolution (pixel centres kept in OpenCV convention)."""
    k = scene.camera.intrinsics.clone()
    k[:, 0, 0] *= factor
    k[:, 1, 1] *= factor
    k[:, 0, 2] = k[:, 0, 2] * factor + 0.5 * (factor - 1)
    k[:, 1, 2] = k[:, 1, 2] * factor + 0.5 * (factor - 1)
    h, w = scene.image_size
    return scene.replace(camera=Camera(k, scene.camera.cam_to_world), image_size=(h * factor, w * factor))


class Renderer:
    """Renders `SceneBatch`es; holds only configuration and a fragment-buffer estimate."""

    def __init__(self, config: RenderConfig | None = None) -> None:
        self.config = config or RenderConfig()
        self._fragments_per_pixel = self.config.fragments_per_scene
        self._raster_capacity_mode = False  # CPU tensors size the buffer exactly unless this is set

    def shadow_size(self, image_size: tuple[int, int]) -> int:
        """Shadow map edge for images of `image_size`."""
        if self.config.shadow_map_size is not None:
            return self.config.shadow_map_size
        return min(max(2 * max(image_size), 128), 256)

    def backend_for(self, device: torch.device) -> str:
        """Which back end renders tensors on `device`."""
        if self.config.backend == "auto":
            return "numba" if device.type == "cpu" else "torch"
        if self.config.backend == "numba" and device.type != "cpu":
            raise ValueError(f"backend 'numba' renders CPU tensors only, got scene on {device}")
        return self.config.backend

    def render(self, scene: SceneBatch, silhouettes: Tensor | None = None) -> RenderOutput:
        """Render every scene of `scene`, `max_batch` at a time.

        Args:
            scene: the batch.
            silhouettes: optional (K,) bool, the slots whose unoccluded silhouette areas to count too
                (`RenderOutput.silhouette`, in and around the image; the CPU kernel gets them almost for free).

        On CUDA the whole call queues its work without reading anything back, then checks once, at
        the end, that no fragment buffer overflowed; if one did, the buffer grows and the call redoes
        the batch (rare: the estimate is kept for later calls).
        """
        if self.config.validate:
            scene.validate()
        cfg = self.config
        step = part_size(scene, cfg.max_batch)
        while True:
            self._overflow: list[Tensor] = []
            self._needed: list[Tensor] = []
            parts = range(0, scene.batch_size, step)
            out = _cat([self._render_part(scene.slice(i, min(i + step, scene.batch_size)), silhouettes) for i in parts])
            if not self._overflow or not bool(torch.stack(self._overflow).any()):
                return out
            self._fragments_per_pixel = 1.25 * float(torch.stack(self._needed).max())

    def silhouette_areas(self, scene: SceneBatch, slots: Tensor | None = None) -> Tensor:
        """(B, K) int64: pixels each visible slot covers in the image when drawn alone (`silhouettes(...).area`)."""
        return self.silhouettes(scene, slots).area

    def silhouettes(self, scene: SceneBatch, slots: Tensor | None = None) -> Silhouettes:
        """What each visible slot covers when drawn alone (no occluders), in the image and on the canvas
        around it (`domrand.silhouettes`). With a render's instance ids this gives each object's visible
        fraction.

        Args:
            scene: the batch.
            slots: (K,) bool, which slots to measure (default all); the others read 0.
        """
        if self.config.validate:
            scene.validate()
        b, k = scene.instances.mesh.shape
        h, w = scene.image_size
        if slots is not None:
            inst = scene.instances
            scene = scene.replace(
                instances=type(inst)(**{**inst.__dict__, "visible": inst.visible & slots.to(inst.visible.device)[None]})
            )
        if self.backend_for(scene.device) == "numba":
            import numpy as np

            from domrand.kernels.silhouettes import silhouette_areas
            from domrand.kernels.threads import parallel

            pos, _ = _world_geometry_numba(scene)
            out = torch.zeros(b, k, 6, dtype=torch.int64)
            cam = fe.camera_view(scene)
            n = lambda t: t.contiguous().numpy()  # noqa: E731
            bank = scene.meshes
            parallel(
                silhouette_areas, b, n(pos), n(scene.instances.mesh), n(bank.faces), n(bank.num_faces), n(bank.num_vertices), n(bank.double_sided), n(scene.instances.visible),
                n(cam.world_to_view), n(cam.proj), np.float32(cam.near), self.config.cull_back_faces, h, w, out.numpy(),
            )  # fmt: skip
            return Silhouettes.from_stats(out)
        # Torch: draw every (scene, slot) pair as its own scene with only that slot visible, on the canvas.
        one_hot = (
            torch.eye(k, dtype=torch.bool, device=scene.device)[None].expand(b, k, k)
            & scene.instances.visible[:, None, :]
        )
        rep = lambda t: t.repeat_interleave(k, 0)  # noqa: E731
        inst = scene.instances
        inst = type(inst)(
            **{f: (one_hot.reshape(b * k, k) if f == "visible" else rep(v)) for f, v in inst.__dict__.items()}
        )
        big = scene.replace(
            instances=inst,
            lights=type(scene.lights)(**{f: rep(v) for f, v in scene.lights.__dict__.items()}),
            camera=Camera(rep(scene.camera.intrinsics), rep(scene.camera.cam_to_world)),
            background_color=rep(scene.background_color),
            background_texture=rep(scene.background_texture),
        )
        parts = [
            self._canvas_stats(big.slice(i, min(i + self.config.max_batch, b * k)))
            for i in range(0, b * k, self.config.max_batch)
        ]
        return Silhouettes.from_stats(torch.cat(parts).reshape(b, k, 6))

    def _canvas_stats(self, scene: SceneBatch) -> Tensor:
        """(B, 6) int64 `kernels.raster.cover_stats` rows of scenes drawn on the silhouette canvas (torch twin)."""
        h, w = scene.image_size
        oy, ox = MARGIN * h, MARGIN * w
        pos, _ = fe.world_geometry(scene)
        tris = fe.triangles(scene, pos, fe.camera_view(scene), self.config.cull_back_faces)
        covered = self._raster(tris, (h + 2 * oy, w + 2 * ox), origin=(-oy, -ox)).tri >= 0  # (B, Hc, Wc)
        area = covered[:, oy : oy + h, ox : ox + w].sum((1, 2))
        area_full = covered.sum((1, 2))
        cols, rows = covered.any(1), covered.any(2)  # (B, Wc), (B, Hc)

        def first_last(m: Tensor, offset: int) -> tuple[Tensor, Tensor]:
            idx = torch.arange(m.shape[1], device=m.device)
            lo = torch.where(m, idx, m.shape[1]).amin(1) - offset
            hi = torch.where(m, idx, -1).amax(1) + 1 - offset
            return lo, hi

        (x0, x1), (y0, y1) = first_last(cols, ox), first_last(rows, oy)
        box = torch.where((area_full > 0)[:, None], torch.stack([x0, y0, x1, y1], -1), 0)
        return torch.cat([area[:, None], area_full[:, None], box], -1).to(torch.int64)

    def _render_part(self, scene: SceneBatch, silhouettes: Tensor | None = None) -> RenderOutput:
        ss = self.config.supersample
        if ss == 1:
            return self._render_once(scene, shade=True, silhouettes=silhouettes)
        hi = self._render_once(supersampled(scene, ss), shade=True)
        rgb = F.avg_pool2d(hi.rgb.permute(0, 3, 1, 2), ss).permute(0, 2, 3, 1).contiguous()
        labels = self._render_once(scene, shade=False, silhouettes=silhouettes)  # exact at the output pixel centres
        return RenderOutput(rgb, labels.depth, labels.instance, labels.normals, labels.silhouette)

    def _render_once(self, scene: SceneBatch, shade: bool, silhouettes: Tensor | None = None) -> RenderOutput:
        if self.backend_for(scene.device) == "numba":
            return self._numba(scene, *_world_geometry_numba(scene), shade, silhouettes)
        pos, nrm = fe.world_geometry(scene)
        out = self._torch(scene, pos, nrm, shade)
        if silhouettes is None:
            return out
        return RenderOutput(out.rgb, out.depth, out.instance, out.normals, self.silhouettes(scene, slots=silhouettes))

    def _raster(
        self, tris: fe.Triangles, size: tuple[int, int], origin: tuple[int, int] = (0, 0)
    ) -> raster_torch.Fragments:
        if tris.screen.device.type == "cpu" and not self._raster_capacity_mode:
            return raster_torch.rasterize(tris, size, origin=origin)
        pixels = size[0] * size[1] * tris.valid.shape[0]
        frags = raster_torch.rasterize(tris, size, capacity=int(self._fragments_per_pixel * pixels), origin=origin)
        self._overflow.append(frags.overflow)
        self._needed.append(frags.needed.to(torch.float32) / pixels)
        return frags

    def _torch(self, scene: SceneBatch, pos: Tensor, nrm: Tensor, shade: bool) -> RenderOutput:
        cfg = self.config
        cam_tris = fe.triangles(scene, pos, fe.camera_view(scene), cfg.cull_back_faces)
        light, has_shadow = fe.shadow_light(scene)
        has_shadow = has_shadow & cfg.shadows & shade
        lview = fe.light_view(scene, light, self.shadow_size(scene.image_size))
        frags = self._raster(cam_tris, scene.image_size)
        surf = shade_torch.resolve(frags.tri, cam_tris, scene, pos, nrm)
        b, (h, w) = scene.batch_size, scene.image_size
        depth = torch.where(surf.hit, frags.depth.reshape(b, -1), torch.zeros((), device=pos.device)).reshape(b, h, w)
        instance = torch.where(surf.hit, surf.slot, -1).to(torch.int32).reshape(b, h, w)
        normals = None
        if self.config.normals:
            normals = torch.where(surf.hit[..., None], surf.normal, 0.0).reshape(b, h, w, 3)
        if not shade:
            return RenderOutput(torch.zeros(b, h, w, 3, device=pos.device), depth, instance, normals)
        vis = torch.ones(surf.hit.shape, device=pos.device)
        if cfg.shadows:
            l_tris = fe.triangles(scene, pos, lview, cull_back=False, shadow_pass=True)
            smap = self._raster(l_tris, lview.size).depth
            lpos = scene.lights.position[torch.arange(b, device=pos.device), light]
            directional = (scene.lights.kind[torch.arange(b, device=pos.device), light] == 0)[:, None, None]
            ldir = torch.where(directional, lpos[:, None, :], lpos[:, None, :] - surf.position)
            ldir = ldir / ldir.norm(dim=-1, keepdim=True).clamp_min(1e-12)
            vis = shade_torch.shadow_visibility(smap, lview, surf.position, (surf.normal * ldir).sum(-1))
        rgb = shade_torch.shade(scene, surf, vis, light, has_shadow).reshape(b, h, w, 3)
        return RenderOutput(rgb, depth, instance, normals)

    def _numba(
        self, scene: SceneBatch, pos: Tensor, nrm: Tensor, shade: bool, silhouettes: Tensor | None = None
    ) -> RenderOutput:
        import numpy as np

        from domrand.kernels import raster

        cfg = self.config
        b, (h, w) = scene.batch_size, scene.image_size
        # The kernel writes every pixel's depth and id, and with shading every pixel's colour: no zeros to fill.
        rgb = torch.empty(b, h, w, 3) if shade else torch.zeros(b, h, w, 3)
        depth = torch.empty(b, h, w)
        instance = torch.empty(b, h, w, dtype=torch.int32)
        normals = torch.zeros(b, h, w, 3) if cfg.normals else torch.zeros(1, 1, 1, 3)
        k = scene.instances.mesh.shape[1]
        sil_slots = torch.zeros(k, dtype=torch.bool) if silhouettes is None else silhouettes.to("cpu", torch.bool)
        sil = torch.zeros(b, k, 6, dtype=torch.int64)
        light, has_shadow = fe.shadow_light(scene)
        has_shadow = has_shadow & cfg.shadows & shade
        lview = fe.light_view(scene, light, self.shadow_size(scene.image_size))
        cam = fe.camera_view(scene)
        inst, lights, bank = scene.instances, scene.lights, scene.meshes
        n = lambda t: t.contiguous().numpy()  # noqa: E731
        job = raster.RenderJob(
            world_pos=n(pos), world_nrm=n(nrm), inst_mesh=n(inst.mesh), faces=n(bank.faces), num_faces=n(bank.num_faces),
            num_vertices=n(bank.num_vertices), uvs=n(bank.uvs), double_sided=n(bank.double_sided), visible=n(inst.visible),
            cast_shadow=n(inst.cast_shadow), cam_w2v=n(cam.world_to_view), cam_proj=n(cam.proj), near=np.float32(cam.near),
            l_w2v=n(lview.world_to_view), l_proj=n(lview.proj), l_ortho=n(lview.ortho), l_near=np.float32(lview.near),
            has_shadow=n(has_shadow), shadow_light=n(light), smap_size=self.shadow_size(scene.image_size),
            cull_back=cfg.cull_back_faces, inst_tex=n(inst.texture), inst_color=n(inst.color), inst_uv_scale=n(inst.uv_scale),
            inst_spec=n(inst.specular), inst_shin=n(inst.shininess), textures=n(scene.textures), l_kind=n(lights.kind),
            l_pos=n(lights.position), l_color=n(lights.color), l_intensity=n(lights.intensity), l_enabled=n(lights.enabled),
            ambient=n(lights.ambient), eye=n(scene.camera.cam_to_world[:, :3, 3]), bg_color=n(scene.background_color),
            bg_tex=n(scene.background_texture), rgb=rgb.numpy(), depth=depth.numpy(), inst_out=instance.numpy(),
            normals_out=normals.numpy(), want_normals=cfg.normals, shade_on=shade, sil_slots=n(sil_slots), sil_out=sil.numpy(),
        )  # fmt: skip
        raster.render(job)
        return RenderOutput(
            rgb,
            depth,
            instance,
            normals if cfg.normals else None,
            None if silhouettes is None else Silhouettes.from_stats(sil),
        )


#: Bytes the per-vertex world geometry of one render part may take (positions, normals and their clip-space
#: copies, float32, every slot padded to the bank's largest mesh); parts shrink below `max_batch` to stay under.
GEOMETRY_BUDGET = 512 * 2**20


def part_size(scene: SceneBatch, max_batch: int) -> int:
    """Scenes per render part: `max_batch`, fewer when the bank's largest mesh would make the per-vertex
    geometry of a part exceed `GEOMETRY_BUDGET` (a user's 300k-triangle scan). Parts change no byte."""
    per_scene = scene.instances.mesh.shape[1] * scene.meshes.vertices.shape[1] * 3 * 4 * 4
    return max(1, min(max_batch, GEOMETRY_BUDGET // max(per_scene, 1)))


def _world_geometry_numba(scene: SceneBatch) -> tuple[Tensor, Tensor]:
    """`frontend.world_geometry` by the compiled kernel: positions bit-identical, only used vertex rows."""
    from domrand.kernels import frontend
    from domrand.kernels.threads import parallel

    bank, inst = scene.meshes, scene.instances
    b, k = inst.mesh.shape
    # Only the rows of vertices a slot's mesh has are written (and read by the kernels): the padding stays as it is.
    pos = torch.empty(b, k, bank.vertices.shape[1], 3)
    nrm = torch.empty_like(pos)
    n = lambda t: t.contiguous().numpy()  # noqa: E731
    parallel(
        frontend.world_geometry, b, n(bank.vertices), n(bank.normals), n(bank.num_vertices), n(inst.mesh), n(inst.scale), n(inst.pose), pos.numpy(), nrm.numpy()
    )  # fmt: skip
    return pos, nrm
