"""`MujocoRandomizer`: domrand's randomizers inside a live MuJoCo model (save, randomize, replay, restore).

Example:
    >>> import mujoco                                                    # doctest: +SKIP
    >>> from domrand.sims.mujoco import MujocoRandomizer                 # doctest: +SKIP
    >>> model = mujoco.MjModel.from_xml_path("robot.xml")               # doctest: +SKIP
    >>> r = MujocoRandomizer(model, seed=0)                              # doctest: +SKIP
    >>> params = r.randomize()   # draws, applies, returns what it drew  # doctest: +SKIP
    >>> r.apply(params)          # replays it exactly                    # doctest: +SKIP
    >>> r.restore()              # every touched field back, bit-exact   # doctest: +SKIP

Every perturbation is relative to the values saved when the randomizer attached, never to the current
ones, so randomizing twice does not drift. Fields a model lacks (no textures, lights or cameras) are
skipped. `import domrand` never imports mujoco; this module does, when used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from domrand.dist import Dist, Uniform
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

GROUPS = ("textures", "materials", "geoms", "lights", "cameras", "dynamics")
FIELDS = {
    "textures": ("tex_data",),
    "materials": ("mat_rgba", "mat_specular", "mat_shininess", "mat_reflectance"),
    "geoms": ("geom_rgba",),
    "lights": (
        "light_pos",
        "light_dir",
        "light_diffuse",
        "light_specular",
        "light_ambient",
        "light_active",
        "light_castshadow",
    ),
    "cameras": ("cam_pos", "cam_quat", "cam_fovy"),
    "dynamics": (
        "body_mass",
        "body_inertia",
        "geom_friction",
        "dof_damping",
        "dof_armature",
        "dof_frictionloss",
        "actuator_gainprm",
        "actuator_biasprm",
    ),
}


@dataclass(frozen=True)
class MujocoRandomization:
    """What `MujocoRandomizer` randomizes, and how much (each group can be switched off).

    Randomizes:
        textures: every 2D, cube and skybox texture refilled by a procedural kind from `texture_kinds`.
        materials: rgba blended towards a random colour by `color_mix` (0.5 to 1); specular,
            shininess and reflectance shifted by `specular_shift`, `shininess_shift`, `reflectance_shift`.
        geoms: geom rgba blended towards a random colour by `color_mix`.
        lights: position + `light_pos_jitter` (+-0.5 m per axis); direction + `light_dir_jitter` per
            axis, renormalised; diffuse x `light_diffuse_scale` (0.5 to 1.5 per channel); specular and
            ambient shifted; each light on with `light_on_probability` (at least one stays on) and casting
            shadows with `light_shadow_probability`.
        cameras: position + `camera_pos_jitter` (+-0.05 m), rotation by `camera_rot_deg` about each
            axis (+-3 deg), vertical field of view + `camera_fovy_jitter_deg` (+-3 deg).
        dynamics: body mass and inertia x `mass_scale` (0.7 to 1.3, one factor per body), geom friction
            x `friction_scale` (0.5 to 1.5 per coefficient), joint damping, armature and friction loss x
            `joint_scale` (0.5 to 1.5), actuator gain (and the matching bias terms) x `gain_scale`
            (0.8 to 1.2).
    """

    textures: bool = True
    materials: bool = True
    geoms: bool = True
    lights: bool = True
    cameras: bool = True
    dynamics: bool = True
    texture_kinds: tuple[str, ...] = DEFAULT_KINDS
    color_mix: Dist = Uniform(0.5, 1.0)
    specular_shift: Dist = Uniform(-0.3, 0.3)
    shininess_shift: Dist = Uniform(-0.3, 0.3)
    reflectance_shift: Dist = Uniform(0.0, 0.2)
    light_pos_jitter: Dist = Uniform(-0.5, 0.5)
    light_dir_jitter: Dist = Uniform(-0.3, 0.3)
    light_diffuse_scale: Dist = Uniform(0.5, 1.5)
    light_specular_shift: Dist = Uniform(-0.2, 0.2)
    light_ambient_shift: Dist = Uniform(-0.1, 0.2)
    light_on_probability: float = 0.9
    light_shadow_probability: float = 0.5
    camera_pos_jitter: Dist = Uniform(-0.05, 0.05)
    camera_rot_deg: Dist = Uniform(-3.0, 3.0)
    camera_fovy_jitter_deg: Dist = Uniform(-3.0, 3.0)
    mass_scale: Dist = Uniform(0.7, 1.3)
    friction_scale: Dist = Uniform(0.5, 1.5)
    joint_scale: Dist = Uniform(0.5, 1.5)
    gain_scale: Dist = Uniform(0.8, 1.2)

    def __post_init__(self) -> None:
        object.__setattr__(self, "texture_kinds", check_kinds(self.texture_kinds))
        check_range("color_mix", self.color_mix, 0.0, 1.0)
        for name in ("mass_scale", "friction_scale", "joint_scale", "gain_scale", "light_diffuse_scale"):
            check_range(name, getattr(self, name), low=1e-6)
        check_range("camera_rot_deg", self.camera_rot_deg, -45.0, 45.0)
        check_range("camera_fovy_jitter_deg", self.camera_fovy_jitter_deg, -60.0, 60.0)
        for name in ("light_on_probability", "light_shadow_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


def _blend(base: np.ndarray, target: np.ndarray, mix: np.ndarray) -> np.ndarray:
    """rgba rows with rgb moved towards `target` by `mix`; alpha kept."""
    out = base.copy()
    out[:, :3] = (1 - mix[:, None]) * base[:, :3] + mix[:, None] * target
    return out.astype(base.dtype)


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = a.T
    w2, x2, y2, z2 = b.T
    return np.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        -1,
    )


def _axis_angle_quat(v: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(v, axis=-1, keepdims=True)
    axis = v / np.maximum(angle, 1e-12)
    return np.concatenate([np.cos(angle / 2), axis * np.sin(angle / 2)], -1)


class MujocoRandomizer(SimRandomizer):
    """Randomizes a live `mujoco.MjModel` (see `MujocoRandomization` for what and how much).

    Args:
        model: the model to randomize in place.
        seed: seed of the randomizer's own stream (`reseed` restarts it).
        config: ranges and switches; keyword arguments override its fields, e.g. `dynamics=False`.
    """

    def __init__(self, model: Any, seed: int = 0, config: MujocoRandomization | None = None, **overrides: Any) -> None:
        import mujoco

        self._mj = mujoco
        self.model = model
        self.config = config or MujocoRandomization()
        if overrides:
            import dataclasses

            self.config = dataclasses.replace(self.config, **overrides)
        self.saved: dict[str, np.ndarray] = {}
        for group in GROUPS:
            if getattr(self.config, group):
                for name in FIELDS[group]:
                    value = getattr(model, name, None)
                    if value is not None and np.asarray(value).size:
                        self.saved[name] = np.array(value, copy=True)
        self._renderers: list[Any] = []
        self.reseed(seed)

    def attach_renderer(self, renderer: Any) -> None:
        """Keep `renderer` (a `mujoco.Renderer`, or anything with `con` and `opengl_context`) in step:
        changed textures are uploaded to its GL context after every `apply` and `restore`."""
        self._renderers.append(renderer)
        self._upload()

    # ---------------------------------------------------------------------------------- sampling
    def sample(self) -> SimParams:
        """Draw parameters for this model (nothing is applied)."""
        c, m, g, v = self.config, self.model, self.rng, {}
        if "tex_data" in self.saved and m.ntex:
            v.update(texture_spec_arrays(int(m.ntex), c.texture_kinds, g))
        if "mat_rgba" in self.saved:
            n = int(m.nmat)
            v["mat_color"], v["mat_mix"] = torch.rand(n, 3, generator=g).numpy(), sample(c.color_mix, (n,), g)
            v["mat_specular_shift"], v["mat_shininess_shift"] = (
                sample(c.specular_shift, (n,), g),
                sample(c.shininess_shift, (n,), g),
            )
            v["mat_reflectance_shift"] = sample(c.reflectance_shift, (n,), g)
        if "geom_rgba" in self.saved:
            n = int(m.ngeom)
            v["geom_color"], v["geom_mix"] = torch.rand(n, 3, generator=g).numpy(), sample(c.color_mix, (n,), g)
        if "light_pos" in self.saved:
            n = int(m.nlight)
            v["light_pos_offset"], v["light_dir_offset"] = (
                sample(c.light_pos_jitter, (n, 3), g),
                sample(c.light_dir_jitter, (n, 3), g),
            )
            v["light_diffuse_scale"] = sample(c.light_diffuse_scale, (n, 3), g)
            v["light_specular_shift"], v["light_ambient_shift"] = (
                sample(c.light_specular_shift, (n, 3), g),
                sample(c.light_ambient_shift, (n, 3), g),
            )
            on = (torch.rand(n, generator=g) < c.light_on_probability).numpy()
            keep = int(torch.randint(0, n, (1,), generator=g))
            on[keep] |= bool(self.saved["light_active"].any()) if "light_active" in self.saved else True
            v["light_on"], v["light_shadow"] = on, (torch.rand(n, generator=g) < c.light_shadow_probability).numpy()
        if "cam_pos" in self.saved:
            n = int(m.ncam)
            v["cam_pos_offset"], v["cam_rotation_deg"] = (
                sample(c.camera_pos_jitter, (n, 3), g),
                sample(c.camera_rot_deg, (n, 3), g),
            )
            v["cam_fovy_offset_deg"] = sample(c.camera_fovy_jitter_deg, (n,), g)
        if "body_mass" in self.saved:
            v["mass_scale"] = sample(c.mass_scale, (int(m.nbody),), g)
            v["friction_scale"] = sample(c.friction_scale, (int(m.ngeom), 3), g)
            for name in ("damping", "armature", "frictionloss"):
                v[f"{name}_scale"] = sample(c.joint_scale, (int(m.nv),), g)
            v["gain_scale"] = sample(c.gain_scale, (int(m.nu),), g)
        return SimParams(v)

    # ---------------------------------------------------------------------------------- applying
    def apply(self, params: SimParams) -> None:
        """Set the model from the saved values and `params` (pure: the same params give the same model)."""
        m, s, p = self.model, self.saved, params
        if "texture.kind" in p and "tex_data" in s:
            self._write_textures(p)
        if "mat_mix" in p:
            m.mat_rgba[:] = _blend(s["mat_rgba"], p["mat_color"], p["mat_mix"])
            m.mat_specular[:] = np.clip(s["mat_specular"] + p["mat_specular_shift"], 0, 1)
            m.mat_shininess[:] = np.clip(s["mat_shininess"] + p["mat_shininess_shift"], 0, 1)
            m.mat_reflectance[:] = np.clip(s["mat_reflectance"] + p["mat_reflectance_shift"], 0, 1)
        if "geom_mix" in p:
            m.geom_rgba[:] = _blend(s["geom_rgba"], p["geom_color"], p["geom_mix"])
        if "light_on" in p:
            m.light_pos[:] = s["light_pos"] + p["light_pos_offset"]
            d = s["light_dir"] + p["light_dir_offset"]
            m.light_dir[:] = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
            m.light_diffuse[:] = np.clip(s["light_diffuse"] * p["light_diffuse_scale"], 0, 1)
            m.light_specular[:] = np.clip(s["light_specular"] + p["light_specular_shift"], 0, 1)
            m.light_ambient[:] = np.clip(s["light_ambient"] + p["light_ambient_shift"], 0, 1)
            if "light_active" in s:
                m.light_active[:] = p["light_on"].astype(s["light_active"].dtype)
            if "light_castshadow" in s:
                m.light_castshadow[:] = p["light_shadow"].astype(s["light_castshadow"].dtype)
        if "cam_pos_offset" in p:
            m.cam_pos[:] = s["cam_pos"] + p["cam_pos_offset"]
            q = _quat_mul(s["cam_quat"], _axis_angle_quat(np.deg2rad(p["cam_rotation_deg"])))
            m.cam_quat[:] = q / np.linalg.norm(q, axis=-1, keepdims=True)
            m.cam_fovy[:] = np.clip(s["cam_fovy"] + p["cam_fovy_offset_deg"], 1.0, 179.0)
        if "mass_scale" in p:
            m.body_mass[:] = s["body_mass"] * p["mass_scale"]
            m.body_inertia[:] = s["body_inertia"] * p["mass_scale"][:, None]
            m.geom_friction[:] = s["geom_friction"] * p["friction_scale"]
            for name in ("damping", "armature", "frictionloss"):
                if f"dof_{name}" in s:
                    getattr(m, f"dof_{name}")[:] = s[f"dof_{name}"] * p[f"{name}_scale"]
            if "actuator_gainprm" in s:
                m.actuator_gainprm[:, 0] = s["actuator_gainprm"][:, 0] * p["gain_scale"]
                m.actuator_biasprm[:, 1:3] = s["actuator_biasprm"][:, 1:3] * p["gain_scale"][:, None]
        self._upload()

    def restore(self) -> None:
        """Put every field this randomizer may touch back to its saved value, bit-exact."""
        for name, value in self.saved.items():
            np.copyto(getattr(self.model, name), value)
        self._upload()

    # ---------------------------------------------------------------------------------- textures
    def _write_textures(self, p: SimParams) -> None:
        m = self.model
        data = self.saved["tex_data"].copy()
        nchan = np.asarray(getattr(m, "tex_nchannel", np.full(m.ntex, 3)))
        for t in range(int(m.ntex)):
            w, h, nc, adr = int(m.tex_width[t]), int(m.tex_height[t]), int(nchan[t]), int(m.tex_adr[t])
            if int(m.tex_type[t]) == int(self._mj.mjtTexture.mjTEXTURE_2D):
                px = texture_pixels(p.values, t, max(w, h))[:h, :w]
            else:  # cube and skybox: six w x w faces stacked vertically
                face = texture_pixels(p.values, t, w)
                px = np.tile(face, (math.ceil(h / w), 1, 1))[:h]
            if nc == 4:
                px = np.concatenate([px, np.full((h, w, 1), 255, np.uint8)], -1)
            elif nc == 1:
                px = px.mean(-1, keepdims=True).astype(np.uint8)
            data[adr : adr + w * h * nc] = px.reshape(-1)
        m.tex_data[:] = data

    def _upload(self) -> None:
        if not self._renderers or "tex_data" not in self.saved:
            return
        for r in self._renderers:
            con = getattr(r, "_mjr_context", None) or getattr(r, "con", None)
            gl = getattr(r, "_gl_context", None) or getattr(r, "opengl_context", None)
            if con is None:
                continue
            if gl is not None:
                gl.make_current()
            for t in range(int(self.model.ntex)):
                self._mj.mjr_uploadTexture(self.model, con, t)
