"""`PyBulletRandomizer`: domrand's randomizers inside a live PyBullet world.

Example:
    >>> import pybullet as p, pybullet_data, torch                                  # doctest: +SKIP
    >>> cid = p.connect(p.DIRECT); p.setAdditionalSearchPath(pybullet_data.getDataPath())  # doctest: +SKIP
    >>> robot = p.loadURDF("kuka_iiwa/model.urdf")                                  # doctest: +SKIP
    >>> r = PyBulletRandomizer(cid)                      # every body in the world    # doctest: +SKIP
    >>> params = r.randomize(rng=torch.Generator().manual_seed(0))                  # doctest: +SKIP
    >>> view, proj = r.camera_matrices(128, 128)         # the perturbed camera       # doctest: +SKIP
    >>> img = p.getCameraImage(128, 128, view, proj, **r.light_kwargs())            # doctest: +SKIP
    >>> r.restore()                                                                 # doctest: +SKIP

Randomizes per link: texture (one of a pool of procedural textures loaded once: PyBullet can never free a
loaded texture, and `changeTexture` does not reach its TinyRenderer), colour, mass, lateral / spinning / rolling
friction, restitution and linear / angular damping; per draw: the light and the camera, drawn by domrand's own
`LightRandomizer` and `CameraJitter` (the dataset's ranges; `LightingParams` and `CameraParams` in the draw).
Perturbations are relative to the values saved when a body was first seen. A `resetSimulation` (or removing
and loading bodies) is noticed and the new bodies are attached afresh.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from domrand.dist import Dist, IntUniform, Uniform
from domrand.generators.lighting import hemisphere, kelvin_to_rgb
from domrand.params import Params, bool_field, int_field
from domrand.randomizers.camera import CameraJitter, CameraParams
from domrand.randomizers.lighting import LightingParams, LightRandomizer
from domrand.rng import derive_seed
from domrand.sims import common
from domrand.sims.common import ColorBlend, Draw, SimRandomizer

# PyBullet can not read linear / angular damping back; these are its documented defaults.
DEFAULT_LINEAR_DAMPING = 0.04
DEFAULT_ANGULAR_DAMPING = 0.04


@dataclass(frozen=True, eq=False)
class LinkIds(Params):
    """Which links a draw is for: (body unique id, link index; -1 is the base)."""

    ids: Tensor = int_field()  # (B, N, 2)


@dataclass(frozen=True, eq=False)
class LinkTextures(Params):
    """Each link's texture, an index into the adapter's texture pool."""

    index: Tensor = int_field()  # (B, N)


@dataclass(frozen=True, eq=False)
class LinkDynamics(Params):
    """Each link's dynamics relative to its saved values."""

    mass_scale: Tensor  # (B, N) mass and inertia factor
    friction_scale: Tensor  # (B, N, 3) lateral, spinning, rolling friction factors
    restitution_shift: Tensor  # (B, N) added to restitution (clipped to [0, 1])
    damping_scale: Tensor  # (B, N, 2) linear, angular damping factors


@dataclass(frozen=True, eq=False)
class BulletLightExtras(Params):
    """What TinyRenderer's light has beyond domrand's lights: a specular coefficient and a shadow switch."""

    specular: Tensor  # (B,) in [0, 1]
    shadow: Tensor = bool_field()  # (B,)


#: The `Params` class of every group a draw may hold (what `draw_from_json` needs).
PARAMS: dict[str, type[Params]] = {
    "links": LinkIds, "textures": LinkTextures, "colors": ColorBlend, "dynamics": LinkDynamics,
    "light": LightingParams, "light_extras": BulletLightExtras, "camera": CameraParams,
}  # fmt: skip


@dataclass(frozen=True)
class PyBulletRandomization:
    """What `PyBulletRandomizer` randomizes, and how much (each group can be switched off).

    Randomizes:
        textures: every link takes one of `texture_pool` procedural textures (`texture_kinds`,
            `texture_size` texels), drawn once from `texture_pool_seed`.
        colors: link rgba blended towards a random colour by `color_mix` (0.5 to 1).
        dynamics: mass and inertia x `mass_scale` (0.7 to 1.3), lateral / spinning / rolling friction x
            `friction_scale` (0.5 to 1.5), restitution + `restitution_shift` (0 to 0.3), linear and
            angular damping x `damping_scale` (0.5 to 2).
        light: `light`, a `LightRandomizer` (None: off) whose first light is TinyRenderer's: direction from
            its azimuth and elevation (20 to 85 deg), colour from its temperature, distance, diffuse
            coefficient = intensity, ambient coefficient = ambient; beyond it, the specular coefficient
            `light_specular` (0 to 0.5) and shadows with probability `shadow_probability`.
        camera: `camera`, a `CameraJitter` (None: off) around its nominal look-at camera (by default eye
            (1, -1, 1), looking at (0, 0, 0.3), 60 deg vertical field of view, the jitter of the dataset
            preset: +-0.05 m, +-0.03 m, +-3 deg roll, +-3 deg field of view).
    """

    textures: bool = True
    colors: bool = True
    dynamics: bool = True
    light: LightRandomizer | None = LightRandomizer(count=IntUniform(1, 1), shadows=False)
    camera: CameraJitter | None = CameraJitter(eye=(1.0, -1.0, 1.0), look_at=(0.0, 0.0, 0.3), fov_deg=60.0)
    texture_kinds: tuple[str, ...] = common.DEFAULT_KINDS
    texture_size: int = 64
    texture_pool: int = 64
    texture_pool_seed: int = 0
    color_mix: Dist = Uniform(0.5, 1.0)
    mass_scale: Dist = Uniform(0.7, 1.3)
    friction_scale: Dist = Uniform(0.5, 1.5)
    restitution_shift: Dist = Uniform(0.0, 0.3)
    damping_scale: Dist = Uniform(0.5, 2.0)
    light_specular: Dist = Uniform(0.0, 0.5)
    shadow_probability: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "texture_kinds", common.check_kinds(self.texture_kinds))
        if not (isinstance(self.texture_size, int) and 4 <= self.texture_size <= 1024):
            raise ValueError(f"texture_size must be an int in [4, 1024], got {self.texture_size!r}")
        if not (isinstance(self.texture_pool, int) and 1 <= self.texture_pool <= 4096):
            raise ValueError(f"texture_pool must be an int in [1, 4096], got {self.texture_pool!r}")
        common.check_range("color_mix", self.color_mix, 0.0, 1.0)
        for name in ("mass_scale", "friction_scale", "damping_scale"):
            common.check_range(name, getattr(self, name), low=1e-6)
        common.check_range("restitution_shift", self.restitution_shift, -1.0, 1.0)
        common.check_range("light_specular", self.light_specular, 0.0, 1.0)
        if self.light is not None and not isinstance(self.light, LightRandomizer):
            raise ValueError(f"light must be a LightRandomizer or None (off), got {self.light!r}")
        if self.camera is not None and not isinstance(self.camera, CameraJitter):
            raise ValueError(f"camera must be a CameraJitter or None (off), got {self.camera!r}")
        if self.light is not None:
            common.check_range("light.intensity", self.light.intensity, 0.0, 1.0)
            common.check_range("light.ambient", self.light.ambient, 0.0, 1.0)
        if not 0 <= self.shadow_probability <= 1:
            raise ValueError(f"shadow_probability must be in [0, 1], got {self.shadow_probability}")


@dataclass
class _Link:
    body: int
    link: int
    rgba: tuple[float, ...]
    texture: int  # the texture PyBullet had on it when attached (-1: none)
    dynamics: tuple[Any, ...]  # getDynamicsInfo
    has_visual: bool


class PyBulletRandomizer(SimRandomizer):
    """Randomizes bodies of a live PyBullet world (see `PyBulletRandomization`).

    Args:
        client_id: the physics client (`pybullet.connect`).
        bodies: body unique ids to randomize; None: every body in the world, looked up at each call.
        config: ranges and switches; keyword arguments override its fields, e.g. `dynamics=False`.
    """

    def __init__(
        self,
        client_id: int,
        bodies: list[int] | None = None,
        config: PyBulletRandomization | None = None,
        **overrides: Any,
    ) -> None:
        import pybullet

        self.p, self.cid = pybullet, client_id
        common.refuse_seed(overrides)
        self.config = (
            dataclasses.replace(config or PyBulletRandomization(), **overrides)
            if overrides
            else (config or PyBulletRandomization())
        )
        self.bodies = None if bodies is None else list(bodies)
        self._links: dict[tuple[int, int], _Link] = {}
        self._names: dict[int, bytes] = {}
        self._pool: list[int] = []
        self.last: Draw | None = None
        self._attach()

    # ---------------------------------------------------------------------------------- bodies
    def _world_bodies(self) -> list[int]:
        if self.bodies is not None:
            return list(self.bodies)
        return [
            self.p.getBodyUniqueId(i, physicsClientId=self.cid)
            for i in range(self.p.getNumBodies(physicsClientId=self.cid))
        ]

    def _attach(self) -> None:
        """Save the current values of bodies not seen before; drop everything after a world reset."""
        p, kw = self.p, {"physicsClientId": self.cid}
        bodies = self._world_bodies()
        names = {}
        for b in bodies:
            try:
                names[b] = p.getBodyInfo(b, **kw)[1]
            except p.error:
                raise ValueError(f"body {b} does not exist in PyBullet client {self.cid}") from None
        if any(b in self._names and self._names[b] != names.get(b) for b in self._names) or any(
            b not in names for b in self._names
        ):
            self._links.clear()  # the world was reset: ids now name other bodies, textures are gone
            self._pool.clear()
            self._names.clear()
        for b in bodies:
            if b in self._names:
                continue
            self._names[b] = names[b]
            visuals = {v[1]: v for v in p.getVisualShapeData(b, flags=p.VISUAL_SHAPE_DATA_TEXTURE_UNIQUE_IDS, **kw)}
            for link in range(-1, p.getNumJoints(b, **kw)):
                v = visuals.get(link)
                self._links[(b, link)] = _Link(
                    b, link, tuple(v[7]) if v else (1.0, 1.0, 1.0, 1.0), int(v[8]) if v and len(v) > 8 else -1,
                    tuple(p.getDynamicsInfo(b, link, **kw)), v is not None,
                )  # fmt: skip

    def _keys(self) -> list[tuple[int, int]]:
        bodies = set(self._world_bodies())
        return sorted(k for k in self._links if k[0] in bodies)

    # ---------------------------------------------------------------------------------- sampling
    def sample(self, n: int, *, rng: torch.Generator) -> Draw:
        """Draw n sets of parameters for the bodies present now (attaching new ones first); nothing is applied."""
        common.check_n(n)
        self._attach()
        c, g = self.config, rng
        keys = self._keys()
        k = len(keys)
        out: Draw = {"links": LinkIds(torch.tensor(keys, dtype=torch.int64).reshape(1, k, 2).expand(n, k, 2).clone())}
        if c.textures:
            out["textures"] = LinkTextures(torch.randint(0, c.texture_pool, (n, k), generator=g))
        if c.colors:
            out["colors"] = ColorBlend(torch.rand(n, k, 3, generator=g), c.color_mix.sample((n, k), rng=g))
        if c.dynamics:
            out["dynamics"] = LinkDynamics(
                c.mass_scale.sample((n, k), rng=g), c.friction_scale.sample((n, k, 3), rng=g),
                c.restitution_shift.sample((n, k), rng=g), c.damping_scale.sample((n, k, 2), rng=g),
            )  # fmt: skip
        if c.light is not None:
            out["light"] = c.light.sample(n, rng=g)
            out["light_extras"] = BulletLightExtras(
                c.light_specular.sample((n,), rng=g), torch.rand(n, generator=g) < c.shadow_probability
            )
        if c.camera is not None:
            out["camera"] = c.camera.sample(n, rng=g)
        return out

    # ---------------------------------------------------------------------------------- applying
    def apply(self, params: Draw) -> None:
        """Set the bodies from their saved values and one draw (light and camera are read by `light_kwargs`
        and `camera_matrices`)."""
        common.batch_of_one(params)
        self._attach()
        p, kw = self.p, {"physicsClientId": self.cid}
        keys = [tuple(int(x) for x in key) for key in params["links"].ids[0].tolist()]
        tex, col, dyn = params.get("textures"), params.get("colors"), params.get("dynamics")
        for i, key in enumerate(keys):
            link = self._links.get(key)
            if link is None:
                raise ValueError(f"params name link {key[1]} of body {key[0]}, which is not in the world")
            if link.has_visual and tex is not None:
                p.changeVisualShape(key[0], key[1], textureUniqueId=self._textures()[int(tex.index[0, i])], **kw)
            if link.has_visual and col is not None:
                rgba = np.asarray(link.rgba, dtype=np.float64)
                mix = float(col.mix[0, i])
                rgba[:3] = (1 - mix) * rgba[:3] + mix * col.color[0, i].double().numpy()
                p.changeVisualShape(key[0], key[1], rgbaColor=rgba.tolist(), **kw)
            if dyn is not None:
                d, m, f = link.dynamics, float(dyn.mass_scale[0, i]), dyn.friction_scale[0, i].tolist()
                damp = dyn.damping_scale[0, i].tolist()
                p.changeDynamics(
                    key[0], key[1], mass=d[0] * m, localInertiaDiagonal=[x * m for x in d[2]], lateralFriction=d[1] * f[0], spinningFriction=d[7] * f[1],
                    rollingFriction=d[6] * f[2], restitution=float(np.clip(d[5] + float(dyn.restitution_shift[0, i]), 0, 1)),
                    linearDamping=DEFAULT_LINEAR_DAMPING * damp[0], angularDamping=DEFAULT_ANGULAR_DAMPING * damp[1], **kw,
                )  # fmt: skip
        self.last = params

    def restore(self) -> None:
        """Put every link's texture, colour and dynamics back to their saved values."""
        p, kw = self.p, {"physicsClientId": self.cid}
        self._attach()
        for key in self._keys():
            link = self._links[key]
            if link.has_visual:
                p.changeVisualShape(key[0], key[1], rgbaColor=list(link.rgba), textureUniqueId=link.texture, **kw)
            d = link.dynamics
            p.changeDynamics(
                key[0], key[1], mass=d[0], localInertiaDiagonal=list(d[2]), lateralFriction=d[1], spinningFriction=d[7], rollingFriction=d[6], restitution=d[5],
                linearDamping=DEFAULT_LINEAR_DAMPING, angularDamping=DEFAULT_ANGULAR_DAMPING, **kw,
            )  # fmt: skip
        self.last = None

    def _textures(self) -> list[int]:
        """The texture pool's PyBullet ids, loaded once per world (PyBullet never frees textures)."""
        if not self._pool:
            from PIL import Image

            c = self.config
            specs = common.texture_specs(
                c.texture_pool, c.texture_kinds, torch.Generator().manual_seed(derive_seed(c.texture_pool_seed, 0x7E))
            )
            with tempfile.TemporaryDirectory(prefix="domrand_pb_") as tmp:  # loadTexture reads the file at once
                for i in range(c.texture_pool):
                    path = os.path.join(tmp, f"pool_{c.texture_pool_seed}_{i}.png")
                    Image.fromarray(common.texture_pixels(specs, i, c.texture_size)).save(path)
                    self._pool.append(self.p.loadTexture(path, physicsClientId=self.cid))
        return self._pool

    # ---------------------------------------------------------------------------------- light and camera
    def light_kwargs(self) -> dict[str, Any]:
        """getCameraImage keyword arguments for the last applied light (empty if the light is off or none was applied)."""
        v = self.last
        if v is None or "light" not in v:
            return {}
        light, extras = v["light"], v["light_extras"]
        direction = hemisphere(light.azimuth[0, 0], light.elevation[0, 0])
        return {
            "lightDirection": direction.tolist(), "lightColor": kelvin_to_rgb(light.kelvin[0, 0]).tolist(),
            "lightDistance": float(light.distance[0, 0]), "lightAmbientCoeff": float(light.ambient[0]),
            "lightDiffuseCoeff": float(light.intensity[0, 0]), "lightSpecularCoeff": float(extras.specular[0]),
            "shadow": int(extras.shadow[0]),
        }  # fmt: skip

    def camera_matrices(
        self, width: int, height: int, near: float = 0.01, far: float = 10.0
    ) -> tuple[list[float], list[float]]:
        """(viewMatrix, projectionMatrix) of the nominal camera perturbed by the last applied draw."""
        cam, v = (
            self.config.camera or CameraJitter(eye=(1.0, -1.0, 1.0), look_at=(0.0, 0.0, 0.3), fov_deg=60.0),
            self.last,
        )
        eye, target = np.asarray(cam.eye, dtype=np.float64), np.asarray(cam.look_at, dtype=np.float64)
        roll, fov = 0.0, cam.fov_deg
        if v is not None and "camera" in v:
            p = v["camera"]
            eye, target = eye + p.eye_offset[0].double().numpy(), target + p.target_offset[0].double().numpy()
            roll, fov = float(p.roll[0]), fov + math.degrees(float(p.fov_offset[0]))
        forward = (target - eye) / np.linalg.norm(target - eye)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right = right / max(np.linalg.norm(right), 1e-9) if np.linalg.norm(right) > 1e-6 else np.array([1.0, 0.0, 0.0])
        up = np.cross(right, forward)
        up = math.cos(roll) * up + math.sin(roll) * right
        view = self.p.computeViewMatrix(eye.tolist(), target.tolist(), up.tolist(), physicsClientId=self.cid)
        proj = self.p.computeProjectionMatrixFOV(fov, width / height, near, far, physicsClientId=self.cid)
        return list(view), list(proj)
