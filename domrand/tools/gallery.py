"""Contact sheets for looking at what the generators make: tabletop images and procedural objects."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from domrand.config import load_config
from domrand.frame import quantize
from domrand.generators.meshes import procedural
from domrand.generators.transforms import intrinsics_from_fov, look_at
from domrand.io.images import encode_png
from domrand.render import RenderConfig, Renderer
from domrand.scene import DIRECTIONAL, POINT, Camera, Instances, Lights, MeshBank, SceneBatch


def grid(images: np.ndarray, columns: int = 8, pad: int = 2) -> np.ndarray:
    """(N, H, W, 3) uint8 -> one sheet with `columns` columns and white gutters."""
    n, h, w, _ = images.shape
    rows = math.ceil(n / columns)
    sheet = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad, 3), 255, dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        sheet[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = img
    return sheet


def tabletop_sheet(out: Path, count: int = 64, seed: int = 0, size: int = 128) -> Path:
    """`count` images of the tabletop preset, as the dataset would hold them."""
    pipe = load_config(overrides={"image_size": size}).pipeline()
    frame = pipe.render(pipe.sample(count, rng=torch.Generator().manual_seed(seed)))
    out.write_bytes(encode_png(grid(frame.rgb_uint8().numpy())))
    return out


def objects_sheet(out: Path, count: int = 64, seed: int = 0, size: int = 128, family: str | None = None) -> Path:
    """`count` procedural objects (seeds seed, seed + 1, ..., of `family` or the default mix), each alone on a grey
    ground, lit from above."""
    meshes = [procedural.random_object(seed + i, family) for i in range(count)]
    ground = __import__("domrand.generators.meshes.primitives", fromlist=["box"]).box((4.0, 4.0, 0.02))
    bank = MeshBank.from_meshes([ground, *meshes])
    n = count
    mesh = torch.stack([torch.zeros(n, dtype=torch.int64), torch.arange(1, n + 1)], 1)
    poses = torch.eye(4).repeat(n, 2, 1, 1)
    poses[:, 0, 2, 3] = -0.01
    z = torch.stack([(m.vertices[:, 2].max() - m.vertices[:, 2].min()) / 2 for m in meshes])
    poses[:, 1, 2, 3] = z
    hue = torch.linspace(0, 1, n + 1)[:-1]
    colour = torch.stack([0.55 + 0.35 * torch.cos(2 * math.pi * (hue + k / 3)) for k in range(3)], -1)
    inst = Instances.create(
        mesh, poses, color=torch.stack([torch.full((n, 3), 0.8), colour], 1), specular=torch.full((n, 2), 0.3)
    )
    lights = Lights(
        kind=torch.tensor([[DIRECTIONAL, POINT]]).expand(n, 2).clone(),
        position=torch.tensor([[[0.4, -0.3, 1.0], [-1.5, -1.5, 2.0]]]).expand(n, 2, 3).clone(),
        color=torch.ones(n, 2, 3), intensity=torch.tensor([[0.7, 0.3]]).expand(n, 2).clone(),
        enabled=torch.ones(n, 2, dtype=torch.bool), ambient=torch.full((n, 3), 0.25), shadow=torch.tensor([[True, False]]).expand(n, 2).clone(),
    )  # fmt: skip
    eye = torch.tensor([[1.1, -1.3, 1.0]]).expand(n, 3)
    target = torch.stack([torch.zeros(n), torch.zeros(n), z], -1)
    cam = Camera(intrinsics_from_fov(torch.full((n,), math.radians(45)), size, size), look_at(eye, target))
    scene = SceneBatch(
        meshes=bank, instances=inst, lights=lights, camera=cam, textures=torch.full((1, 4, 4, 3), 255, dtype=torch.uint8),
        background_color=torch.full((n, 3), 0.9), background_texture=torch.full((n,), -1), image_size=(size, size),
        shadow_region=(0.0, 0.0, 0.0, 1.2),
    )  # fmt: skip
    rgb = Renderer(RenderConfig(supersample=2, shadow_map_size=512)).render(scene).rgb
    out.write_bytes(encode_png(grid(quantize(rgb).numpy())))
    return out


def mujoco_sheet(out: Path, count: int = 8, seed: int = 0, size: int = 160) -> Path:
    """`count` randomizations of Gymnasium's Ant and dm_control's walker, rendered by MuJoCo itself."""

    from domrand.sims.common import headless_gl

    headless_gl()
    import gymnasium
    import mujoco

    from domrand.sims.mujoco import MujocoRandomizer

    def frames(model: Any, camera: int) -> list[np.ndarray]:
        r = MujocoRandomizer(model)
        rng = torch.Generator().manual_seed(seed)
        renderer = mujoco.Renderer(model, size, size)
        r.attach_renderer(renderer)
        data = mujoco.MjData(model)
        out_frames = []
        for _ in range(count // 2):
            r.randomize(rng=rng)
            mujoco.mj_forward(model, data)
            renderer.update_scene(data, camera=camera)
            out_frames.append(renderer.render().copy())
        renderer.close()
        return out_frames

    ant = gymnasium.make("Ant-v5").unwrapped.model
    from dm_control.suite import walker

    xml, assets = walker.get_model_and_assets()
    tiles = frames(ant, -1) + frames(mujoco.MjModel.from_xml_string(xml, assets), 0)
    out.write_bytes(encode_png(grid(np.stack(tiles), columns=count // 2)))
    return out
