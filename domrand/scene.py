"""`SceneBatch`: B scenes as tensors, the single source of truth the renderer and labels read.

Meshes live once in a `MeshBank`; each scene has K instance slots (which mesh, pose, scale,
material, texture, visible or not), up to L lights, one OpenCV camera and a background.
Conventions: world z up, metres; camera axes OpenCV (x right, y down, z forward).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, fields
from typing import TypeVar

import torch
from torch import Tensor

from domrand.generators.meshes import Mesh

T = TypeVar("T")

DIRECTIONAL, POINT = 0, 1


def _map_tensors(obj: T, fn) -> T:
    """A copy of dataclass `obj` with `fn` applied to every tensor field (nested dataclasses too)."""
    changes = {}
    for f in fields(obj):  # type: ignore[arg-type]
        v = getattr(obj, f.name)
        if isinstance(v, Tensor):
            changes[f.name] = fn(v)
        elif dataclasses.is_dataclass(v):
            changes[f.name] = _map_tensors(v, fn)
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]


@dataclass(frozen=True, eq=False)
class MeshBank:
    """Meshes stored once, padded to a common vertex and face count.

    Attributes:
        vertices: (M, V, 3) float32 object-frame positions, metres (padding is zero).
        normals: (M, V, 3) float32 unit normals.
        uvs: (M, V, 2) float32 texture coordinates.
        faces: (M, F, 3) int64 indices; rows at or past `num_faces[m]` are padding.
        num_faces: (M,) int64 real faces per mesh.
        double_sided: (M,) bool; single-sided meshes have their back faces culled.
        names: M mesh names.
    """

    vertices: Tensor
    normals: Tensor
    uvs: Tensor
    faces: Tensor
    num_faces: Tensor
    double_sided: Tensor
    names: tuple[str, ...]

    @staticmethod
    def from_meshes(meshes: list[Mesh], double_sided: list[bool] | None = None) -> MeshBank:
        """Pack `meshes` into a bank.

        Example:
            >>> from domrand.generators.meshes import primitives
            >>> bank = MeshBank.from_meshes([primitives.cube(), primitives.sphere()])
            >>> tuple(bank.faces.shape)
            (2, 960, 3)
        """
        if not meshes:
            raise ValueError("a MeshBank needs at least one mesh")
        m = len(meshes)
        v_max = max(x.vertices.shape[0] for x in meshes)
        f_max = max(x.faces.shape[0] for x in meshes)
        verts, norms, uvs = torch.zeros(m, v_max, 3), torch.zeros(m, v_max, 3), torch.zeros(m, v_max, 2)
        faces = torch.zeros(m, f_max, 3, dtype=torch.int64)
        for i, x in enumerate(meshes):
            if not bool(torch.isfinite(x.vertices).all()):
                raise ValueError(f"mesh {i} ({x.name!r}) has non-finite vertices")
            nv, nf = x.vertices.shape[0], x.faces.shape[0]
            if nf == 0:
                raise ValueError(f"mesh {i} ({x.name!r}) has no faces")
            if int(x.faces.min()) < 0 or int(x.faces.max()) >= nv:
                raise ValueError(f"mesh {i} ({x.name!r}) has face indices outside [0, {nv})")
            verts[i, :nv], norms[i, :nv], uvs[i, :nv] = x.vertices, x.normals, x.uvs
            faces[i, :nf] = x.faces
        ds = torch.tensor(double_sided if double_sided is not None else [False] * m, dtype=torch.bool)
        if ds.shape != (m,):
            raise ValueError(f"double_sided needs {m} entries, got {tuple(ds.shape)}")
        nfaces = torch.tensor([x.faces.shape[0] for x in meshes], dtype=torch.int64)
        return MeshBank(verts, norms, uvs, faces, nfaces, ds, tuple(x.name for x in meshes))

    def to(self, device: torch.device | str) -> MeshBank:
        return _map_tensors(self, lambda t: t.to(device))

    @functools.cached_property
    def num_vertices(self) -> Tensor:
        """(M,) int64: the vertex rows each mesh's faces reach (1 + the largest index they use)."""
        rows = torch.arange(self.faces.shape[1], device=self.faces.device)
        real = rows[None, :, None] < self.num_faces[:, None, None]
        return (torch.where(real, self.faces, -1).amax((1, 2)) + 1).clamp_min(0)


@dataclass(frozen=True, eq=False)
class Instances:
    """K object slots per scene.

    Attributes:
        mesh: (B, K) int64 index into the `MeshBank`.
        pose: (B, K, 4, 4) float32 object-to-world (rigid), metres.
        scale: (B, K, 3) float32 per-axis scale applied in the object frame before `pose`.
        texture: (B, K) int64 index into `SceneBatch.textures`, -1 for a flat colour.
        color: (B, K, 3) float32 albedo (multiplies the texture), in [0, 1].
        uv_scale: (B, K) float32 texture repeats per UV unit.
        specular: (B, K) float32 Blinn-Phong specular strength, >= 0.
        shininess: (B, K) float32 Blinn-Phong exponent, > 0.
        visible: (B, K) bool; invisible slots are not drawn and cast no shadow.
        cast_shadow: (B, K) bool; e.g. a floor need not cast.
    """

    mesh: Tensor
    pose: Tensor
    scale: Tensor
    texture: Tensor
    color: Tensor
    uv_scale: Tensor
    specular: Tensor
    shininess: Tensor
    visible: Tensor
    cast_shadow: Tensor

    @staticmethod
    def create(mesh: Tensor, pose: Tensor, **kw: Tensor) -> Instances:
        """Instances with defaults for every field not given: unit scale, white, no texture, visible."""
        b, k = mesh.shape
        defaults = {
            "scale": torch.ones(b, k, 3),
            "texture": torch.full((b, k), -1, dtype=torch.int64),
            "color": torch.ones(b, k, 3),
            "uv_scale": torch.ones(b, k),
            "specular": torch.zeros(b, k),
            "shininess": torch.full((b, k), 32.0),
            "visible": torch.ones(b, k, dtype=torch.bool),
            "cast_shadow": torch.ones(b, k, dtype=torch.bool),
        }
        unknown = set(kw) - set(defaults)
        if unknown:
            raise TypeError(f"unknown Instances fields: {sorted(unknown)}")
        return Instances(mesh=mesh.to(torch.int64), pose=pose.to(torch.float32), **{**defaults, **kw})


@dataclass(frozen=True, eq=False)
class Lights:
    """Up to L lights per scene plus ambient light.

    Attributes:
        kind: (B, L) int64, `DIRECTIONAL` (0) or `POINT` (1).
        position: (B, L, 3) float32: a point light's position (metres), or the unit direction
            from the scene towards a directional light.
        color: (B, L, 3) float32 light colour in [0, 1].
        intensity: (B, L) float32 multiplier, >= 0.
        enabled: (B, L) bool.
        ambient: (B, 3) float32 ambient light.
        shadow: (B, L) bool; the renderer casts shadows from the first enabled light with this set.
    """

    kind: Tensor
    position: Tensor
    color: Tensor
    intensity: Tensor
    enabled: Tensor
    ambient: Tensor
    shadow: Tensor


@dataclass(frozen=True, eq=False)
class Camera:
    """A pinhole camera per scene, OpenCV conventions.

    Attributes:
        intrinsics: (B, 3, 3) float32 K; pixel centres at integer coordinates.
        cam_to_world: (B, 4, 4) float32 rigid transform, axes x right, y down, z forward.
        distortion: None (a pinhole camera) or (B, 8) float32 OpenCV terms k1, k2, p1, p2, k3, k4, k5, k6
            (`render.distortion`: the pipeline renders a pinhole canvas and warps it).
    """

    intrinsics: Tensor
    cam_to_world: Tensor
    distortion: Tensor | None = None


@dataclass(frozen=True, eq=False)
class SceneBatch:
    """B scenes as tensors: meshes, instances, lights, camera, textures, background.

    Attributes:
        meshes: the shared `MeshBank`.
        instances: K slots per scene.
        lights: L lights per scene.
        camera: one camera per scene.
        textures: (N, S, S, 3) uint8 texture bank shared by the batch.
        background_color: (B, 3) float32 colour where no surface is hit.
        background_texture: (B,) int64 texture index drawn across the image, -1 for the colour.
        image_size: (H, W) pixels.
        shadow_region: (cx, cy, cz, radius), metres: the sphere a light's shadow map covers.
        near: near clipping distance, metres; geometry crossing it is clipped, not dropped.
    """

    meshes: MeshBank
    instances: Instances
    lights: Lights
    camera: Camera
    textures: Tensor
    background_color: Tensor
    background_texture: Tensor
    image_size: tuple[int, int]
    shadow_region: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    near: float = 0.01

    @property
    def batch_size(self) -> int:
        return int(self.instances.mesh.shape[0])

    @property
    def device(self) -> torch.device:
        return self.instances.pose.device

    def replace(self, **changes) -> SceneBatch:
        """A copy with some fields replaced (the scene is immutable)."""
        return dataclasses.replace(self, **changes)

    def to(self, device: torch.device | str) -> SceneBatch:
        """A copy on `device`."""
        return _map_tensors(self, lambda t: t.to(device))

    def slice(self, start: int, stop: int) -> SceneBatch:
        """Scenes [start, stop) as a batch; the mesh bank and texture bank are shared, not copied."""
        per_scene = lambda t: t[start:stop]  # noqa: E731
        return dataclasses.replace(
            self,
            instances=_map_tensors(self.instances, per_scene),
            lights=_map_tensors(self.lights, per_scene),
            camera=_map_tensors(self.camera, per_scene),
            background_color=self.background_color[start:stop],
            background_texture=self.background_texture[start:stop],
        )

    def validate(self) -> None:
        """Raise ValueError naming the first field with a wrong shape, dtype or value."""
        check_scene(self)


def _shape(name: str, t: Tensor, shape: tuple[int, ...], dtype: torch.dtype) -> None:
    if tuple(t.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(t.shape)}")
    if t.dtype != dtype:
        raise ValueError(f"{name} must be {dtype}, got {t.dtype}")


def check_scene(s: SceneBatch) -> None:
    """Check shapes, dtypes and ranges of every field of `s`."""
    h, w = s.image_size
    if not (isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0):
        raise ValueError(f"image_size must be two positive ints (H, W), got {s.image_size}")
    if not s.near > 0:
        raise ValueError(f"near must be > 0 metres, got {s.near}")
    if not s.shadow_region[3] > 0:
        raise ValueError(f"shadow_region radius must be > 0 metres, got {s.shadow_region[3]}")
    inst, lights, cam = s.instances, s.lights, s.camera
    b, k = inst.mesh.shape
    m = s.meshes.vertices.shape[0]
    _shape("instances.mesh", inst.mesh, (b, k), torch.int64)
    _shape("instances.pose", inst.pose, (b, k, 4, 4), torch.float32)
    _shape("instances.scale", inst.scale, (b, k, 3), torch.float32)
    _shape("instances.texture", inst.texture, (b, k), torch.int64)
    _shape("instances.color", inst.color, (b, k, 3), torch.float32)
    for name in ("uv_scale", "specular", "shininess"):
        _shape(f"instances.{name}", getattr(inst, name), (b, k), torch.float32)
    _shape("instances.visible", inst.visible, (b, k), torch.bool)
    _shape("instances.cast_shadow", inst.cast_shadow, (b, k), torch.bool)
    if k and (int(inst.mesh.min()) < 0 or int(inst.mesh.max()) >= m):
        raise ValueError(
            f"instances.mesh must index the {m} banked meshes, got values in [{int(inst.mesh.min())}, {int(inst.mesh.max())}]"
        )
    n_tex = s.textures.shape[0]
    if s.textures.ndim != 4 or s.textures.shape[3] != 3 or s.textures.dtype != torch.uint8:
        raise ValueError(f"textures must be (N, S, S, 3) uint8, got {tuple(s.textures.shape)} {s.textures.dtype}")
    if s.textures.shape[1] != s.textures.shape[2]:
        raise ValueError(f"textures must be square, got {tuple(s.textures.shape[1:3])}")
    for name, t in (("instances.texture", inst.texture), ("background_texture", s.background_texture)):
        if t.numel() and (int(t.min()) < -1 or int(t.max()) >= n_tex):
            raise ValueError(
                f"{name} must be -1 or index the {n_tex} textures, got values in [{int(t.min())}, {int(t.max())}]"
            )
    if bool((inst.scale <= 0).any()):
        raise ValueError("instances.scale must be > 0")
    if bool((inst.shininess <= 0).any()):
        raise ValueError("instances.shininess must be > 0")
    n_l = lights.kind.shape[1]
    _shape("lights.kind", lights.kind, (b, n_l), torch.int64)
    _shape("lights.position", lights.position, (b, n_l, 3), torch.float32)
    _shape("lights.color", lights.color, (b, n_l, 3), torch.float32)
    _shape("lights.intensity", lights.intensity, (b, n_l), torch.float32)
    _shape("lights.enabled", lights.enabled, (b, n_l), torch.bool)
    _shape("lights.ambient", lights.ambient, (b, 3), torch.float32)
    _shape("lights.shadow", lights.shadow, (b, n_l), torch.bool)
    if not 1 <= n_l <= 4:
        raise ValueError(f"each scene takes 1 to 4 lights, got {n_l}")
    _shape("camera.intrinsics", cam.intrinsics, (b, 3, 3), torch.float32)
    _shape("camera.cam_to_world", cam.cam_to_world, (b, 4, 4), torch.float32)
    if cam.distortion is not None:
        _shape("camera.distortion", cam.distortion, (b, 8), torch.float32)
    rot = cam.cam_to_world[:, :3, :3]
    err = (rot.transpose(1, 2) @ rot - torch.eye(3, device=rot.device)).abs().amax()
    if float(err) > 1e-4:
        raise ValueError(f"camera.cam_to_world must be rigid (orthonormal rotation), off by {float(err):.2e}")
    _shape("background_color", s.background_color, (b, 3), torch.float32)
    _shape("background_texture", s.background_texture, (b,), torch.int64)
    for name, t in (
        ("instances.pose", inst.pose),
        ("camera.intrinsics", cam.intrinsics),
        ("lights.position", lights.position),
    ):
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} has non-finite values")
