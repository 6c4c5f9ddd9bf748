"""`PyBulletRandomizer`: domrand's randomizers inside a live PyBullet world.

Example:
    >>> import pybullet as p, pybullet_data                                         # doctest: +SKIP
    >>> cid = p.connect(p.DIRECT); p.setAdditionalSearchPath(pybullet_data.getDataPath())  # doctest: +SKIP
    >>> robot = p.loadURDF("kuka_iiwa/model.urdf")                                  # doctest: +SKIP
    >>> r = PyBulletRandomizer(cid, seed=0)              # every body in the world    # doctest: +SKIP
    >>> params = r.randomize()                                                      # doctest: +SKIP
    >>> view, proj = r.camera_matrices(128, 128)         # the perturbed camera       # doctest: +SKIP
    >>> img = p.getCameraImage(128, 128, view, proj, **r.light_kwargs())            # doctest: +SKIP
    >>> r.restore()                                                                 # doctest: +SKIP

Randomizes per link: texture (one of a pool of procedural textures loaded once: PyBullet can never free a
loaded texture, and `changeTexture` does not reach its TinyRenderer), colour, mass, lateral / spinning / rolling friction,
restitution and linear / angular damping; per call of `randomize`: the light (direction, colour,
distance, ambient / diffuse / specular coefficients, shadows) and a camera perturbed around a nominal
look-at camera. Perturbations are relative to the values saved when a body was first seen. A
`resetSimulation` (or removing and loading bodies) is noticed and the new bodies are attached afresh.
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

from domrand.dist import Dist, Uniform
from domrand.rng import derive_seed
from domrand.sims.common import (
    DEFAULT_KINDS,
    SimParams,
    SimRandomizer,
    check_kinds,
    check_range,
    sample,
    texture_pixels,
    texture_spec_arrays,
)

# PyBullet can not read linear / angular damping back; these are its documented defaults.
DEFAULT_LINEAR_DAMPING = 0.04
DEFAULT_ANGULAR_DAMPING = 0.04


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
        light: direction on the upper hemisphere (elevation `light_elevation_deg` 20 to 85), colour
            `light_color` (0.6 to 1 per channel), distance `light_distance` (1 to 5 m), ambient /
            diffuse / specular coefficients, shadows with probability `shadow_probability`.
        camera: around `camera_eye` looking at `camera_target`: eye + `camera_eye_jitter` (+-0.05 m),
            look-at + `camera_target_jitter` (+-0.03 m), roll `camera_roll_deg` (+-3 deg), vertical
            field of view `camera_fov_deg` + `camera_fov_jitter_deg` (+-3 deg).
    """

    textures: bool = True
    colors: bool = True
    dynamics: bool = True
    light: bool = True
    camera: bool = True
    texture_kinds: tuple[str, ...] = DEFAULT_KINDS
    texture_size: int = 64
    texture_pool: int = 64
    texture_pool_seed: int = 0
    color_mix: Dist = Uniform(0.5, 1.0)
    mass_scale: Dist = Uniform(0.7, 1.3)
    friction_scale: Dist = Uniform(0.5, 1.5)
    restitution_shift: Dist = Uniform(0.0, 0.3)
    damping_scale: Dist = Uniform(0.5, 2.0)
    light_elevation_deg: Dist = Uniform(20.0, 85.0)
    light_color: Dist = Uniform(0.6, 1.0)
    light_distance: Dist = Uniform(1.0, 5.0)
    light_ambient: Dist = Uniform(0.2, 0.7)
    light_diffuse: Dist = Uniform(0.3, 0.9)
    light_specular: Dist = Uniform(0.0, 0.5)
    shadow_probability: float = 0.5
    camera_eye: tuple[float, float, float] = (1.0, -1.0, 1.0)
    camera_target: tuple[float, float, float] = (0.0, 0.0, 0.3)
    camera_fov_deg: float = 60.0
    camera_eye_jitter: Dist = Uniform(-0.05, 0.05)
    camera_target_jitter: Dist = Uniform(-0.03, 0.03)
    camera_roll_deg: Dist = Uniform(-3.0, 3.0)
    camera_fov_jitter_deg: Dist = Uniform(-3.0, 3.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "texture_kinds", check_kinds(self.texture_kinds))
        if not (isinstance(self.texture_size, int) and 4 <= self.texture_size <= 1024):
            raise ValueError(f"texture_size must be an int in [4, 1024], got {self.texture_size!r}")
        if not (isinstance(self.texture_pool, int) and 1 <= self.texture_pool <= 4096):
            raise ValueError(f"texture_pool must be an int in [1, 4096], got {self.texture_pool!r}")
        check_range("color_mix", self.color_mix, 0.0, 1.0)
        for name in ("mass_scale", "friction_scale", "damping_scale", "light_distance"):
            check_range(name, getattr(self, name), low=1e-6)
        check_range("restitution_shift", self.restitution_shift, -1.0, 1.0)
        check_range("light_elevation_deg", self.light_elevation_deg, 0.0, 90.0)
        for name in ("light_color", "light_ambient", "light_diffuse", "light_specular"):
            check_range(name, getattr(self, name), 0.0, 1.0)
        if not 0 <= self.shadow_probability <= 1:
            raise ValueError(f"shadow_probability must be in [0, 1], got {self.shadow_probability}")
        lo, hi = self.camera_fov_jitter_deg.bounds()
        if not (0 < self.camera_fov_deg + lo and self.camera_fov_deg + hi < 180):
            raise ValueError(
                f"camera_fov_deg + camera_fov_jitter_deg must stay in (0, 180), got {self.camera_fov_deg} + [{lo}, {hi}]"
            )


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
        seed: seed of the randomizer's own stream.
        bodies: body unique ids to randomize; None: every body in the world, looked up at each call.
        config: ranges and switches; keyword arguments override its fields, e.g. `dynamics=False`.
    """

    def __init__(
        self,
        client_id: int,
        seed: int = 0,
        bodies: list[int] | None = None,
        config: PyBulletRandomization | None = None,
        **overrides: Any,
    ) -> None:
        import pybullet

        self.p, self.cid = pybullet, client_id
        self.config = (
            dataclasses.replace(config or PyBulletRandomization(), **overrides)
            if overrides
            else (config or PyBulletRandomization())
        )
        self.bodies = None if bodies is None else list(bodies)
        self._links: dict[tuple[int, int], _Link] = {}
        self._names: dict[int, bytes] = {}
        self._pool: list[int] = []
        self._tmp = tempfile.mkdtemp(prefix="domrand_pb_")
        self.last: SimParams | None = None
        self.reseed(seed)
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
    def sample(self) -> SimParams:
        """Draw parameters for the bodies present now (attaching new ones first)."""
        self._attach()
        c, g = self.config, self.rng
        keys = self._keys()
        n = len(keys)
        v: dict[str, np.ndarray] = {"links": np.asarray(keys, dtype=np.int64).reshape(n, 2)}
        if c.textures:
            v["texture_index"] = torch.randint(0, c.texture_pool, (n,), generator=g).numpy()
        if c.colors:
            v["color"], v["color_mix"] = torch.rand(n, 3, generator=g).numpy(), sample(c.color_mix, (n,), g)
        if c.dynamics:
            v["mass_scale"] = sample(c.mass_scale, (n,), g)
            v["friction_scale"] = sample(c.friction_scale, (n, 3), g)
            v["restitution_shift"] = sample(c.restitution_shift, (n,), g)
            v["damping_scale"] = sample(c.damping_scale, (n, 2), g)
        if c.light:
            az = torch.rand(1, generator=g).numpy() * 2 * math.pi
            el = np.deg2rad(sample(c.light_elevation_deg, (1,), g))
            v["light_direction"] = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], -1)[0]
            v["light_color"], v["light_distance"] = sample(c.light_color, (3,), g), sample(c.light_distance, (1,), g)
            v["light_coefficients"] = np.concatenate(
                [sample(d, (1,), g) for d in (c.light_ambient, c.light_diffuse, c.light_specular)]
            )
            v["shadow"] = (torch.rand(1, generator=g) < c.shadow_probability).numpy()
        if c.camera:
            v["eye_offset"], v["target_offset"] = (
                sample(c.camera_eye_jitter, (3,), g),
                sample(c.camera_target_jitter, (3,), g),
            )
            v["roll_deg"], v["fov_offset_deg"] = (
                sample(c.camera_roll_deg, (1,), g),
                sample(c.camera_fov_jitter_deg, (1,), g),
            )
        return SimParams(v)

    # ---------------------------------------------------------------------------------- applying
    def apply(self, params: SimParams) -> None:
        """Set the bodies from their saved values and `params` (light and camera are read by
        `light_kwargs` and `camera_matrices`)."""
        self._attach()
        p, kw = self.p, {"physicsClientId": self.cid}
        keys = [tuple(int(x) for x in k) for k in params["links"]]
        for i, key in enumerate(keys):
            link = self._links.get(key)
            if link is None:
                raise ValueError(f"params name link {key[1]} of body {key[0]}, which is not in the world")
            if link.has_visual and "texture_index" in params:
                p.changeVisualShape(
                    key[0], key[1], textureUniqueId=self._textures()[int(params["texture_index"][i])], **kw
                )
            if link.has_visual and "color_mix" in params:
                rgba = np.asarray(link.rgba, dtype=np.float64)
                mix = params["color_mix"][i]
                rgba[:3] = (1 - mix) * rgba[:3] + mix * params["color"][i]
                p.changeVisualShape(key[0], key[1], rgbaColor=rgba.tolist(), **kw)
            if "mass_scale" in params:
                d = link.dynamics
                f = params["friction_scale"][i]
                p.changeDynamics(
                    key[0], key[1], mass=d[0] * params["mass_scale"][i], localInertiaDiagonal=[x * params["mass_scale"][i] for x in d[2]], lateralFriction=d[1] * f[0], spinningFriction=d[7] * f[1],
                    rollingFriction=d[6] * f[2], restitution=float(np.clip(d[5] + params["restitution_shift"][i], 0, 1)),
                    linearDamping=DEFAULT_LINEAR_DAMPING * params["damping_scale"][i, 0], angularDamping=DEFAULT_ANGULAR_DAMPING * params["damping_scale"][i, 1], **kw,
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
            specs = texture_spec_arrays(
                c.texture_pool, c.texture_kinds, torch.Generator().manual_seed(derive_seed(c.texture_pool_seed, 0x7E))
            )
            for i in range(c.texture_pool):
                path = os.path.join(self._tmp, f"pool_{c.texture_pool_seed}_{i}.png")
                if not os.path.exists(path):
                    Image.fromarray(texture_pixels(specs, i, c.texture_size)).save(path)
                self._pool.append(self.p.loadTexture(path, physicsClientId=self.cid))
        return self._pool

    # ---------------------------------------------------------------------------------- light and camera
    def light_kwargs(self) -> dict[str, Any]:
        """getCameraImage keyword arguments for the last drawn light (empty if the light is off or not drawn)."""
        v = self.last
        if v is None or "light_direction" not in v:
            return {}
        a, d, s = (float(x) for x in v["light_coefficients"])
        return {
            "lightDirection": v["light_direction"].tolist(), "lightColor": v["light_color"].tolist(),
            "lightDistance": float(v["light_distance"][0]), "lightAmbientCoeff": a, "lightDiffuseCoeff": d,
            "lightSpecularCoeff": s, "shadow": int(v["shadow"][0]),
        }  # fmt: skip

    def camera_matrices(
        self, width: int, height: int, near: float = 0.01, far: float = 10.0
    ) -> tuple[list[float], list[float]]:
        """(viewMatrix, projectionMatrix) of the nominal camera perturbed by the last draw."""
        c, v = self.config, self.last
        eye, target = np.asarray(c.camera_eye, dtype=np.float64), np.asarray(c.camera_target, dtype=np.float64)
        roll, fov = 0.0, c.camera_fov_deg
        if v is not None and "eye_offset" in v:
            eye, target = eye + v["eye_offset"], target + v["target_offset"]
            roll, fov = math.radians(float(v["roll_deg"][0])), fov + float(v["fov_offset_deg"][0])
        forward = (target - eye) / np.linalg.norm(target - eye)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right = right / max(np.linalg.norm(right), 1e-9) if np.linalg.norm(right) > 1e-6 else np.array([1.0, 0.0, 0.0])
        up = np.cross(right, forward)
        up = math.cos(roll) * up + math.sin(roll) * right
        view = self.p.computeViewMatrix(eye.tolist(), target.tolist(), up.tolist(), physicsClientId=self.cid)
        proj = self.p.computeProjectionMatrixFOV(fov, width / height, near, far, physicsClientId=self.cid)
        return list(view), list(proj)
