"""`MujocoRandomizer`: domrand's randomizers inside a live MuJoCo model (save, randomize, replay, restore).

Example:
    >>> import mujoco, torch                                             # doctest: +SKIP
    >>> from domrand.sims.mujoco import MujocoRandomizer                 # doctest: +SKIP
    >>> model = mujoco.MjModel.from_xml_path("robot.xml")               # doctest: +SKIP
    >>> r = MujocoRandomizer(model)                                      # doctest: +SKIP
    >>> params = r.randomize(rng=torch.Generator().manual_seed(0))  # draws, applies, returns it  # doctest: +SKIP
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
from torch import Tensor

from domrand.dist import Dist, Uniform
from domrand.params import Params, bool_field
from domrand.randomizers.camera import CameraJitter
from domrand.randomizers.texture import TextureSpec
from domrand.sims import common
from domrand.sims.common import ColorBlend, Draw, SimRandomizer

GROUPS = ("textures", "materials", "geoms", "lights", "cameras", "dynamics")


@dataclass(frozen=True, eq=False)
class MaterialJitter(Params):
    """Every material's rgba blended towards `color`; specular, shininess, reflectance shifted (clipped to [0, 1])."""

    color: Tensor  # (B, M, 3)
    mix: Tensor  # (B, M)
    specular_shift: Tensor  # (B, M)
    shininess_shift: Tensor  # (B, M)
    reflectance_shift: Tensor  # (B, M)


@dataclass(frozen=True, eq=False)
class LightJitter(Params):
    """Every light of the model moved, turned and recoloured relative to its saved values; on / off, shadows."""

    pos_offset: Tensor  # (B, L, 3) metres
    dir_offset: Tensor  # (B, L, 3) added to the direction, then renormalised
    diffuse_scale: Tensor  # (B, L, 3)
    specular_shift: Tensor  # (B, L, 3)
    ambient_shift: Tensor  # (B, L, 3)
    on: Tensor = bool_field()  # (B, L)
    shadow: Tensor = bool_field()  # (B, L)


@dataclass(frozen=True, eq=False)
class CameraPerturbation(Params):
    """Every camera of the model moved and turned relative to its saved pose; its field of view widened or narrowed."""

    pos_offset: Tensor  # (B, C, 3) metres
    rotation: Tensor  # (B, C, 3) radians about the camera's x, y, z axes (an axis-angle vector)
    fovy_offset: Tensor  # (B, C) degrees


@dataclass(frozen=True, eq=False)
class DynamicsScale(Params):
    """Physics relative to the saved model: factors per body, geom, degree of freedom and actuator."""

    mass_scale: Tensor  # (B, nbody) mass and inertia
    friction_scale: Tensor  # (B, ngeom, 3)
    damping_scale: Tensor  # (B, nv)
    armature_scale: Tensor  # (B, nv)
    frictionloss_scale: Tensor  # (B, nv)
    gain_scale: Tensor  # (B, nu) actuator gain and the matching bias terms


#: The `Params` class of every group a draw may hold (what `draw_from_json` needs). "textures" holds one
#: `TextureSpec` row per model texture: fields (B, ntex, ...).
PARAMS: dict[str, type[Params]] = {
    "textures": TextureSpec, "materials": MaterialJitter, "geoms": ColorBlend, "lights": LightJitter,
    "cameras": CameraPerturbation, "dynamics": DynamicsScale,
}  # fmt: skip
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
            shininess and reflectance shifted by `specular_shift`, `shininess_shift` (+-0.3), `reflectance_shift`
            (+-0.2: as often less reflective as more, clipped to [0, 1]).
        geoms: geom rgba blended towards a random colour by `color_mix`.
        lights: position + `light_pos_jitter` (+-0.5 m per axis); direction + `light_dir_jitter` per
            axis, renormalised; diffuse x `light_diffuse_scale` (0.5 to 1.5 per channel); specular and
            ambient shifted; each light on with `light_on_probability` (at least one stays on) and casting
            shadows with `light_shadow_probability`.
        cameras: the ranges of `camera`, a `CameraJitter` (the dataset preset's, by default): position +
            its `eye_jitter` (+-0.05 m per axis), rotation by its `roll_deg` about each camera axis (+-3 deg),
            vertical field of view + its `fov_jitter_deg` (+-3 deg). MuJoCo cameras have no look-at point,
            so its `target_jitter` is not used.
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
    texture_kinds: tuple[str, ...] = common.DEFAULT_KINDS
    color_mix: Dist = Uniform(0.5, 1.0)
    specular_shift: Dist = Uniform(-0.3, 0.3)
    shininess_shift: Dist = Uniform(-0.3, 0.3)
    reflectance_shift: Dist = Uniform(-0.2, 0.2)
    light_pos_jitter: Dist = Uniform(-0.5, 0.5)
    light_dir_jitter: Dist = Uniform(-0.3, 0.3)
    light_diffuse_scale: Dist = Uniform(0.5, 1.5)
    light_specular_shift: Dist = Uniform(-0.2, 0.2)
    light_ambient_shift: Dist = Uniform(-0.1, 0.2)
    light_on_probability: float = 0.9
    light_shadow_probability: float = 0.5
    camera: CameraJitter = CameraJitter()
    mass_scale: Dist = Uniform(0.7, 1.3)
    friction_scale: Dist = Uniform(0.5, 1.5)
    joint_scale: Dist = Uniform(0.5, 1.5)
    gain_scale: Dist = Uniform(0.8, 1.2)

    def __post_init__(self) -> None:
        object.__setattr__(self, "texture_kinds", common.check_kinds(self.texture_kinds))
        common.check_range("color_mix", self.color_mix, 0.0, 1.0)
        for name in ("mass_scale", "friction_scale", "joint_scale", "gain_scale", "light_diffuse_scale"):
            common.check_range(name, getattr(self, name), low=1e-6)
        if not isinstance(self.camera, CameraJitter):
            raise ValueError(f"camera must be a CameraJitter (its ranges are the cameras'), got {self.camera!r}")
        common.check_range("camera.roll_deg", self.camera.roll_deg, -45.0, 45.0)
        common.check_range("camera.fov_jitter_deg", self.camera.fov_jitter_deg, -60.0, 60.0)
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
        config: ranges and switches; keyword arguments override its fields, e.g. `dynamics=False`.
    """

    def __init__(self, model: Any, config: MujocoRandomization | None = None, **overrides: Any) -> None:
        common.headless_gl()
        import mujoco

        self._mj = mujoco
        common.refuse_seed(overrides)
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

    def attach_renderer(self, renderer: Any) -> None:
        """Keep `renderer` (a `mujoco.Renderer`, or anything with `con` and `opengl_context`) in step:
        changed textures are uploaded to its GL context after every `apply` and `restore`."""
        self._renderers.append(renderer)
        self._upload()

    # ---------------------------------------------------------------------------------- sampling
    def sample(self, n: int, *, rng: torch.Generator) -> Draw:
        """Draw n sets of parameters for this model (nothing is applied)."""
        common.check_n(n)
        c, m, g, out = self.config, self.model, rng, {}
        if "tex_data" in self.saved and m.ntex:
            t = int(m.ntex)
            spec = common.texture_specs(n * t, c.texture_kinds, g)
            out["textures"] = spec.map(lambda x: x.reshape(n, t, *x.shape[1:]))
        if "mat_rgba" in self.saved:
            k = int(m.nmat)
            out["materials"] = MaterialJitter(
                torch.rand(n, k, 3, generator=g), c.color_mix.sample((n, k), rng=g), c.specular_shift.sample((n, k), rng=g),
                c.shininess_shift.sample((n, k), rng=g), c.reflectance_shift.sample((n, k), rng=g),
            )  # fmt: skip
        if "geom_rgba" in self.saved:
            k = int(m.ngeom)
            out["geoms"] = ColorBlend(torch.rand(n, k, 3, generator=g), c.color_mix.sample((n, k), rng=g))
        if "light_pos" in self.saved:
            k = int(m.nlight)
            on = torch.rand(n, k, generator=g) < c.light_on_probability
            keep = torch.randint(0, k, (n,), generator=g)
            if "light_active" not in self.saved or bool(self.saved["light_active"].any()):
                on[torch.arange(n), keep] = True  # at least one light stays on where the model had one on
            out["lights"] = LightJitter(
                c.light_pos_jitter.sample((n, k, 3), rng=g), c.light_dir_jitter.sample((n, k, 3), rng=g),
                c.light_diffuse_scale.sample((n, k, 3), rng=g), c.light_specular_shift.sample((n, k, 3), rng=g),
                c.light_ambient_shift.sample((n, k, 3), rng=g), on, torch.rand(n, k, generator=g) < c.light_shadow_probability,
            )  # fmt: skip
        if "cam_pos" in self.saved:
            k, cam = int(m.ncam), c.camera
            out["cameras"] = CameraPerturbation(
                cam.eye_jitter.sample((n, k, 3), rng=g), torch.deg2rad(cam.roll_deg.sample((n, k, 3), rng=g)),
                cam.fov_jitter_deg.sample((n, k), rng=g),
            )  # fmt: skip
        if "body_mass" in self.saved:
            nv = int(m.nv)
            out["dynamics"] = DynamicsScale(
                c.mass_scale.sample((n, int(m.nbody)), rng=g), c.friction_scale.sample((n, int(m.ngeom), 3), rng=g),
                c.joint_scale.sample((n, nv), rng=g), c.joint_scale.sample((n, nv), rng=g), c.joint_scale.sample((n, nv), rng=g),
                c.gain_scale.sample((n, int(m.nu)), rng=g),
            )  # fmt: skip
        return out

    # ---------------------------------------------------------------------------------- applying
    def apply(self, params: Draw) -> None:
        """Set the model from the saved values and one draw (pure: the same draw gives the same model)."""
        common.batch_of_one(params)
        m, s = self.model, self.saved
        p = {name: {k: v[0].double().numpy() if v.is_floating_point() else v[0].numpy() for k, v in q.tensors().items()}
             for name, q in params.items()}  # fmt: skip
        if "textures" in params and "tex_data" in s:
            self._write_textures(params["textures"].map(lambda x: x[0]))
        if "materials" in p:
            q = p["materials"]
            m.mat_rgba[:] = _blend(s["mat_rgba"], q["color"], q["mix"])
            m.mat_specular[:] = np.clip(s["mat_specular"] + q["specular_shift"], 0, 1)
            m.mat_shininess[:] = np.clip(s["mat_shininess"] + q["shininess_shift"], 0, 1)
            m.mat_reflectance[:] = np.clip(s["mat_reflectance"] + q["reflectance_shift"], 0, 1)
        if "geoms" in p:
            m.geom_rgba[:] = _blend(s["geom_rgba"], p["geoms"]["color"], p["geoms"]["mix"])
        if "lights" in p:
            q = p["lights"]
            m.light_pos[:] = s["light_pos"] + q["pos_offset"]
            d = s["light_dir"] + q["dir_offset"]
            m.light_dir[:] = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
            m.light_diffuse[:] = np.clip(s["light_diffuse"] * q["diffuse_scale"], 0, 1)
            m.light_specular[:] = np.clip(s["light_specular"] + q["specular_shift"], 0, 1)
            m.light_ambient[:] = np.clip(s["light_ambient"] + q["ambient_shift"], 0, 1)
            if "light_active" in s:
                m.light_active[:] = q["on"].astype(s["light_active"].dtype)
            if "light_castshadow" in s:
                m.light_castshadow[:] = q["shadow"].astype(s["light_castshadow"].dtype)
        if "cameras" in p:
            q = p["cameras"]
            m.cam_pos[:] = s["cam_pos"] + q["pos_offset"]
            rot = _quat_mul(s["cam_quat"], _axis_angle_quat(q["rotation"]))
            m.cam_quat[:] = rot / np.linalg.norm(rot, axis=-1, keepdims=True)
            m.cam_fovy[:] = np.clip(s["cam_fovy"] + q["fovy_offset"], 1.0, 179.0)
        if "dynamics" in p:
            q = p["dynamics"]
            m.body_mass[:] = s["body_mass"] * q["mass_scale"]
            m.body_inertia[:] = s["body_inertia"] * q["mass_scale"][:, None]
            m.geom_friction[:] = s["geom_friction"] * q["friction_scale"]
            for name in ("damping", "armature", "frictionloss"):
                if f"dof_{name}" in s:
                    getattr(m, f"dof_{name}")[:] = s[f"dof_{name}"] * q[f"{name}_scale"]
            if "actuator_gainprm" in s:
                m.actuator_gainprm[:, 0] = s["actuator_gainprm"][:, 0] * q["gain_scale"]
                m.actuator_biasprm[:, 1:3] = s["actuator_biasprm"][:, 1:3] * q["gain_scale"][:, None]
        self._upload()

    def restore(self) -> None:
        """Put every field this randomizer may touch back to its saved value, bit-exact."""
        for name, value in self.saved.items():
            np.copyto(getattr(self.model, name), value)
        self._upload()

    # ---------------------------------------------------------------------------------- textures
    def _write_textures(self, spec: TextureSpec) -> None:
        """Refill every texture of the model from `spec` ((ntex, ...) rows, one per texture)."""
        m = self.model
        data = self.saved["tex_data"].copy()
        nchan = np.asarray(getattr(m, "tex_nchannel", np.full(m.ntex, 3)))
        for t in range(int(m.ntex)):
            w, h, nc, adr = int(m.tex_width[t]), int(m.tex_height[t]), int(nchan[t]), int(m.tex_adr[t])
            if int(m.tex_type[t]) == int(self._mj.mjtTexture.mjTEXTURE_2D):
                px = common.texture_pixels(spec, t, max(w, h))[:h, :w]
            else:  # cube and skybox: six w x w faces stacked vertically
                face = common.texture_pixels(spec, t, w)
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
