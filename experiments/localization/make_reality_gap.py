"""Build the reality-gap test set: the localization task rendered by an independent renderer with realistic
appearance, written as a labelled folder (labels.jsonl + rgb/*.png).

Nothing here comes from domrand's training randomization:
- renderer: PyBullet's TinyRenderer (its own rasterizer, lighting model and shadows);
- textures: photographs shipped with scikit-image (brick, grass, gravel, coffee, ...), pybullet_data (wood,
  tray, domino, stadium grass) and matplotlib (a portrait), on the floor, the table and the distractors;
- distractors: real meshes from pybullet_data (Stanford bunny, duck, teddy bear, mug, soccer ball, stone,
  lego brick, jenga block (stretched by its URDF's scale, as in the physics), domino), not primitives or
  procedural objects;
- target: the task's 5 cm cube, painted in one of a few plain colours or wood;
- camera: the task's nominal camera with a small calibration error (+-1 cm, +-1 deg), not the
  training's +-5 cm / +-3 deg.

Modes: `objects` (target alone), `distractors` (2 to 6 real objects that do not occlude the target), and
`occluded` (1 to 4 objects, at least one hiding 15 to 70% of the target but never its centre).

    python experiments/localization/make_reality_gap.py --out data/gap_distractors --mode distractors --num 500
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

SIZE_RENDER = 128
TABLE = (1.0, 0.8, 0.04)
CUBE = 0.05
EYE, LOOK, FOV = np.array([0.0, -0.70, 0.60]), np.array([0.0, 0.0, 0.0]), 45.0
# The calibration error of every image's camera, uniform in +-each: eye and look-at point per axis (m), field of
# view and roll (deg).
EYE_ERR, LOOK_ERR, FOV_ERR_DEG, ROLL_ERR_DEG = 0.01, 0.01, 1.0, 1.0
MESHES = [
    "bunny.obj",
    "duck.obj",
    "teddy2_VHACD_CHs.obj",
    "objects/mug.obj",
    "soccerball.obj",
    "stone.obj",
    "lego/lego.obj",
    "jenga/jenga.obj",
    "domino/domino.obj",
]
# Per-axis scales the meshes' URDFs in pybullet_data apply (uniform ones do not matter: every mesh is scaled to a
# largest extent). jenga.obj is a unit cube that jenga.urdf stretches into the block.
AXIS_SCALE = {"jenga/jenga.obj": (0.15, 0.05, 0.03)}
# Version 2: the jenga block has its URDF's shape; version 1 drew it as a cube, at 5 cm a second copy of the
# target's shape (results measured on version 1 are marked so).
GAP_VERSION = 2


def shaped_extents(path: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The mesh file's extents (x, y, z) and bounding-box centre, metres, after its URDF's per-axis scale."""
    import trimesh

    m = trimesh.load(path, force="mesh")
    m.apply_scale(AXIS_SCALE.get(name, (1.0, 1.0, 1.0)))
    return np.asarray(m.extents), (m.bounds[0] + m.bounds[1]) / 2


def photos() -> list[np.ndarray]:
    """Photographic textures (RGB uint8) from packages installed with the project's extras."""
    import matplotlib
    import pybullet_data
    import skimage
    from PIL import Image

    paths = [
        os.path.join(os.path.dirname(skimage.__file__), "data", f)
        for f in (
            "brick.png",
            "grass.png",
            "gravel.png",
            "coffee.png",
            "chelsea.png",
            "astronaut.png",
            "rocket.jpg",
            "motorcycle_left.png",
            "hubble_deep_field.jpg",
            "retina.jpg",
        )
    ]
    d = pybullet_data.getDataPath()
    paths += [
        os.path.join(d, f)
        for f in (
            "table/table.png",
            "tray/tray.jpg",
            "domino/domino.jpg",
            "roboschool/models_outdoor/stadium/stadium_grass.jpg",
            "jenga/jenga.png",
        )
    ]
    paths.append(os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "sample_data", "grace_hopper.jpg"))
    out = []
    for p in paths:
        if os.path.exists(p):
            im = Image.open(p).convert("RGB")
            s = min(im.size)
            out.append(
                np.asarray(
                    im.crop(
                        ((im.size[0] - s) // 2, (im.size[1] - s) // 2, (im.size[0] + s) // 2, (im.size[1] + s) // 2)
                    ).resize((256, 256))
                )
            )
    if len(out) < 8:
        raise RuntimeError("photographic textures are missing: pip install scikit-image matplotlib pybullet")
    return out


def camera(rng: np.random.Generator, size: int) -> tuple[list, list, dict]:
    """PyBullet matrices and the OpenCV camera record of the nominal camera with a small calibration error."""
    eye = EYE + rng.uniform(-EYE_ERR, EYE_ERR, 3)
    look = LOOK + rng.uniform(-LOOK_ERR, LOOK_ERR, 3)
    fov = FOV + rng.uniform(-FOV_ERR_DEG, FOV_ERR_DEG)
    z = (look - eye) / np.linalg.norm(look - eye)
    x = np.cross(z, [0, 0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    roll = math.radians(rng.uniform(-ROLL_ERR_DEG, ROLL_ERR_DEG))
    x, y = math.cos(roll) * x + math.sin(roll) * y, -math.sin(roll) * x + math.cos(roll) * y
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = x, y, z, eye
    f = (size / 2) / math.tan(math.radians(fov) / 2)
    c = (size - 1) / 2
    view = np.linalg.inv(c2w @ np.diag([1.0, -1.0, -1.0, 1.0]))  # OpenCV -> OpenGL axes
    near, far = 0.01, 10.0
    proj = np.zeros((4, 4))
    # TinyRenderer samples pixel corners (see tests/render/test_pybullet_segmentation.py).
    proj[0, 0], proj[0, 2], proj[1, 1], proj[1, 2] = (
        2 * f / size,
        1 - 2 * c / size,
        2 * f / size,
        2 * (c + 1) / size - 1,
    )
    proj[2, 2], proj[2, 3], proj[3, 2] = -(far + near) / (far - near), -2 * far * near / (far - near), -1
    record = {"fx": f, "fy": f, "cx": c, "cy": c, "width": size, "height": size, "cam_to_world": c2w.tolist()}
    return view.T.reshape(-1).tolist(), proj.T.reshape(-1).tolist(), record


def preset_overrides() -> list[str]:
    """This set's camera spread as `domrand generate --set` overrides of the `tabletop` preset (whose nominal
    camera is the same), for domrand renders with the reality-gap cameras."""
    return [
        f"camera.eye_jitter=[{-EYE_ERR},{EYE_ERR}]",
        f"camera.target_jitter=[{-LOOK_ERR},{LOOK_ERR}]",
        f"camera.roll_deg=[{-ROLL_ERR_DEG},{ROLL_ERR_DEG}]",
        f"camera.fov_jitter_deg=[{-FOV_ERR_DEG},{FOV_ERR_DEG}]",
    ]


class Scene:
    def __init__(self, seed: int) -> None:
        import pybullet as p
        import pybullet_data
        from PIL import Image

        self.p, self.rng = p, np.random.default_rng(seed)
        self.cid = p.connect(p.DIRECT)
        self.data = pybullet_data.getDataPath()
        tmp = tempfile.mkdtemp(prefix="gap_")
        self.textures = []
        for i, img in enumerate(photos()):
            path = os.path.join(tmp, f"{i}.png")
            Image.fromarray(img).save(path)
            self.textures.append(p.loadTexture(path))
        box = lambda he, rgba=(1, 1, 1, 1): p.createVisualShape(p.GEOM_BOX, halfExtents=he, rgbaColor=list(rgba))  # noqa: E731
        self.floor = p.createMultiBody(0, -1, box([3, 3, 0.01]), [0, 0, -0.76])
        self.table = p.createMultiBody(0, -1, box([TABLE[0] / 2, TABLE[1] / 2, TABLE[2] / 2]), [0, 0, -TABLE[2] / 2])
        self.target = p.createMultiBody(0, -1, box([CUBE / 2] * 3), [0, 0, CUBE / 2])
        self.meshes = []  # (visual shape, scaled extents (x, y, z), mesh file, largest extent) per mesh file and size
        for name in MESHES:
            path = os.path.join(self.data, name)
            ext, c = shaped_extents(path, name)
            axis = np.asarray(AXIS_SCALE.get(name, (1.0, 1.0, 1.0)))
            for extent in (0.05, 0.08, 0.11):
                s = extent / float(ext.max())
                vs = p.createVisualShape(
                    p.GEOM_MESH, fileName=path, meshScale=(s * axis).tolist(), visualFramePosition=(-c * s).tolist()
                )
                self.meshes.append((vs, ext * s, name, extent))
        self.bodies: list[int] = []
        self.placed: list[dict] = []  # each distractor of the scene being drawn (its label)

    def render(self, mode: str, size: int) -> tuple[np.ndarray, dict]:
        p, rng = self.p, self.rng
        for b in self.bodies:
            p.removeBody(b)
        self.bodies, self.placed = [], []
        t = self.textures
        p.changeVisualShape(self.floor, -1, textureUniqueId=t[rng.integers(len(t))], rgbaColor=[1, 1, 1, 1])
        p.changeVisualShape(self.table, -1, textureUniqueId=t[rng.integers(len(t))], rgbaColor=[1, 1, 1, 1])
        paint = [(0.8, 0.1, 0.1), (0.1, 0.3, 0.8), (0.1, 0.6, 0.2), (0.9, 0.75, 0.1), (0.95, 0.95, 0.95)]
        if rng.random() < 0.3:
            p.changeVisualShape(self.target, -1, textureUniqueId=t[0], rgbaColor=[1, 1, 1, 1])  # wood-like photo
        else:
            p.changeVisualShape(self.target, -1, textureUniqueId=-1, rgbaColor=[*paint[rng.integers(len(paint))], 1])
        txy = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2)])
        yaw = rng.uniform(0, 2 * math.pi)
        p.resetBasePositionAndOrientation(
            self.target, [txy[0], txy[1], CUBE / 2], p.getQuaternionFromEuler([0, 0, yaw])
        )
        view, proj, cam = camera(rng, size)
        light = dict(lightDirection=[rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.8, 2.0)], lightColor=rng.uniform(0.8, 1.0, 3).tolist(), lightDistance=3.0,
                     lightAmbientCoeff=rng.uniform(0.3, 0.6), lightDiffuseCoeff=rng.uniform(0.5, 0.8), lightSpecularCoeff=rng.uniform(0.0, 0.3), shadow=1)  # fmt: skip
        n = {"objects": 0, "distractors": int(rng.integers(2, 7)), "occluded": int(rng.integers(1, 5))}[mode]
        occluder_placed = False
        for i in range(n):
            vs, ext, mesh_name, extent = self.meshes[rng.integers(len(self.meshes))]
            on_side = rng.random() < 0.5  # rotated 90 degrees about x: its y extent becomes its height
            hh = (ext[1] if on_side else ext[2]) / 2
            r = float(np.linalg.norm([ext[0], ext[2] if on_side else ext[1]])) / 2
            for _ in range(50):
                if mode == "occluded" and i == 0:  # between the target and the camera, off its centre line
                    toward = (EYE[:2] - txy) / np.linalg.norm(EYE[:2] - txy)
                    side = np.array([-toward[1], toward[0]])
                    xy = txy + toward * rng.uniform(0.06, 0.14) + side * rng.uniform(-0.05, 0.05)
                else:
                    xy = np.array([rng.uniform(-0.45, 0.45), rng.uniform(-0.35, 0.35)])
                if np.linalg.norm(xy - txy) > r + 0.04 and all(
                    np.linalg.norm(xy - q) > r + 0.02
                    for q, _ in [(np.array(p.getBasePositionAndOrientation(b)[0][:2]), b) for b in self.bodies]
                ):
                    break
            orn = p.getQuaternionFromEuler([math.pi / 2 if on_side else 0, 0, rng.uniform(0, 2 * math.pi)])
            b = p.createMultiBody(0, -1, vs, [xy[0], xy[1], hh], orn)
            self.placed.append({
                "class": mesh_name, "extent_m": extent, "position": [float(xy[0]), float(xy[1]), float(hh)],
                "quaternion": [float(orn[3]), float(orn[0]), float(orn[1]), float(orn[2])],
            })  # fmt: skip
            p.changeVisualShape(
                b,
                -1,
                textureUniqueId=t[rng.integers(len(t))] if rng.random() < 0.5 else -1,
                rgbaColor=[*rng.uniform(0.3, 1.0, 3).tolist(), 1],
            )
            self.bodies.append(b)
            occluder_placed |= mode == "occluded" and i == 0
        _, _, rgb, _, seg = p.getCameraImage(size, size, view, proj, renderer=p.ER_TINY_RENDERER, **light)
        seg = np.asarray(seg).reshape(size, size)
        rgb = np.asarray(rgb, dtype=np.uint8).reshape(size, size, 4)[..., :3]
        centre = self._project(cam, [txy[0], txy[1], CUBE / 2])
        rec = {
            "target_position": [float(txy[0]), float(txy[1]), CUBE / 2],
            "target_quaternion": [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)],
            "camera": cam,
            "target": "cube",
            "mode": mode,
            "distractors": self.placed,  # class (pybullet_data mesh), largest extent, centre and (w, x, y, z)
            "gap_version": GAP_VERSION,
        }
        rec["_visible"] = self._visible(seg, centre, view, proj, size, light, mode)
        return rgb, rec

    @staticmethod
    def _project(cam: dict, pt: list[float]) -> tuple[int, int]:
        w2c = np.linalg.inv(np.asarray(cam["cam_to_world"]))
        q = w2c[:3, :3] @ np.asarray(pt) + w2c[:3, 3]
        return round(cam["fx"] * q[0] / q[2] + cam["cx"]), round(cam["fy"] * q[1] / q[2] + cam["cy"])

    def _visible(
        self, seg: np.ndarray, centre: tuple[int, int], view: list, proj: list, size: int, light: dict, mode: str
    ) -> float | None:
        """Visible fraction of the target (None if its centre pixel is covered: such images are redrawn)."""
        u, v = centre
        if not (0 <= u < size and 0 <= v < size) or seg[v, u] != self.target:
            return None
        shown = int((seg == self.target).sum())
        if mode != "occluded":
            return 1.0
        hidden = []
        for b in self.bodies:  # count the target's pixels with the distractors out of the way
            pos, orn = self.p.getBasePositionAndOrientation(b)
            hidden.append((b, pos, orn))
            self.p.resetBasePositionAndOrientation(b, [pos[0], pos[1], -5], orn)
        full = int(
            (
                np.asarray(self.p.getCameraImage(size, size, view, proj, renderer=self.p.ER_TINY_RENDERER)[4]).reshape(
                    size, size
                )
                == self.target
            ).sum()
        )
        for b, pos, orn in hidden:
            self.p.resetBasePositionAndOrientation(b, pos, orn)
        return shown / max(full, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", choices=["objects", "distractors", "occluded"], default="distractors")
    ap.add_argument("--num", type=int, default=500)
    ap.add_argument("--size", type=int, default=SIZE_RENDER)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = Path(args.out)
    (out / "rgb").mkdir(parents=True, exist_ok=True)
    scene = Scene(args.seed)
    from PIL import Image

    lines, i, tries = [], 0, 0
    while i < args.num:
        tries += 1
        rgb, rec = scene.render(args.mode, args.size)
        vis = rec.pop("_visible")
        if vis is None or (args.mode == "occluded" and not 0.3 <= vis <= 0.85):
            continue  # the target's centre is covered, or the occlusion is not partial: draw again
        rec["visible_fraction"] = vis
        name = f"rgb/{i:06d}.png"
        Image.fromarray(rgb).save(out / name)
        lines.append(json.dumps({"image": name, **rec}, sort_keys=True))
        i += 1
    (out / "labels.jsonl").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.num} images ({tries} drawn) to {out}")


if __name__ == "__main__":
    main()
