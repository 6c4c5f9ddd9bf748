"""Depth images of a grasp scene rendered by domrand's renderer: the table and the rested object under the
task's top-down camera (perturbed for training), with depth-sensor noise."""

from __future__ import annotations

import math

import numpy as np
import torch

from domrand.generators.meshes import primitives
from domrand.generators.transforms import pose, quaternion_to_matrix
from domrand.randomizers.camera import TopDownCamera
from domrand.randomizers.noise import DepthNoise
from domrand.render import RenderConfig, Renderer
from domrand.scene import DIRECTIONAL, Instances, Lights, MeshBank, SceneBatch
from domrand.tasks.grasp.objects import GraspObject

SIZE = 128
_TABLE = primitives.box((1.0, 0.8, 0.04))
_RENDERER = Renderer(RenderConfig(shadows=False, validate=False))


def depth_view(
    obj: GraspObject,
    position: np.ndarray,
    quat_xyzw: np.ndarray,
    rng: torch.Generator | None,
    size: int = SIZE,
    perturb_camera: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Depth (H, W) float32 metres (0: no reading), intrinsics (3, 3) and camera-to-world (4, 4).

    Args:
        obj: the object; position and quat_xyzw: its pose (PyBullet's base frame, the mesh's frame).
        rng: draws the camera perturbation (if `perturb_camera`) and the depth noise; None: the nominal
            camera and no noise.
    """
    bank = MeshBank.from_meshes([_TABLE, obj.mesh])
    q = torch.tensor([quat_xyzw[3], quat_xyzw[0], quat_xyzw[1], quat_xyzw[2]], dtype=torch.float32)
    poses = torch.stack(
        [
            pose(torch.eye(3), torch.tensor([0.0, 0.0, -0.02])),
            pose(quaternion_to_matrix(q), torch.tensor(position, dtype=torch.float32)),
        ]
    )[None]
    inst = Instances.create(torch.tensor([[0, 1]]), poses)
    lights = Lights(
        torch.tensor([[DIRECTIONAL]]),
        torch.tensor([[[0.0, 0.0, 1.0]]]),
        torch.ones(1, 1, 3),
        torch.ones(1, 1),
        torch.ones(1, 1, dtype=torch.bool),
        torch.full((1, 3), 0.3),
        torch.zeros(1, 1, dtype=torch.bool),
    )
    base = SceneBatch(  # type: ignore[arg-type]  (the camera is set below)
        meshes=bank, instances=inst, lights=lights, camera=None, textures=torch.full((1, 2, 2, 3), 128, dtype=torch.uint8),
        background_color=torch.zeros(1, 3), background_texture=torch.full((1,), -1), image_size=(size, size),
    )  # fmt: skip
    cam = TopDownCamera()
    params = (
        cam.sample(1, rng=rng)
        if rng is not None and perturb_camera
        else cam.sample(1, rng=torch.Generator().manual_seed(0)).map(torch.zeros_like)
    )
    scene = cam.apply(base, params)
    depth = _RENDERER.render(scene).depth
    if rng is not None:
        noise = DepthNoise()
        depth = noise.apply(depth, noise.sample(1, rng=rng))
    return depth[0].numpy(), scene.camera.intrinsics[0].double().numpy(), scene.camera.cam_to_world[0].double().numpy()


def nominal_camera(size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """The task's unperturbed top-down camera: intrinsics (3, 3) and camera-to-world (4, 4), float64, for
    `size` x `size` depth images (what `depth_view` uses without `perturb_camera`)."""
    cam = TopDownCamera()
    zeros = cam.sample(1, rng=torch.Generator().manual_seed(0)).map(torch.zeros_like)
    bank = MeshBank.from_meshes([_TABLE])
    base = SceneBatch(  # type: ignore[arg-type]  (the camera is set below)
        meshes=bank, instances=Instances.create(torch.zeros(1, 1, dtype=torch.int64), torch.eye(4)[None, None]),
        lights=None, camera=None, textures=torch.zeros(1, 2, 2, 3, dtype=torch.uint8), background_color=torch.zeros(1, 3),
        background_texture=torch.full((1,), -1), image_size=(size, size),
    )  # fmt: skip
    c = cam.apply(base, zeros).camera
    return c.intrinsics[0].double().numpy(), c.cam_to_world[0].double().numpy()


def fov_half_width(height: float = 0.70, fov_deg: float = 45.0) -> float:
    """Half the table width the nominal camera sees, metres."""
    return height * math.tan(math.radians(fov_deg) / 2)
