"""Instance masks against PyBullet's TinyRenderer segmentation of the same scene and camera."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from domrand.generators.meshes import primitives
from domrand.generators.transforms import pose, rotation_z
from scenes import camera, scene, translation

from domrand.render import RenderConfig, Renderer

pybullet = pytest.importorskip("pybullet")


def opengl_matrices(cam, size, near=0.01, far=20.0):
    """PyBullet view and projection matrices (column-major lists) equal to an OpenCV camera.

    TinyRenderer samples image column c at GL window x = c and row r at window y = h - 1 - r (pixel
    corners, not centres; found by sweeping half-pixel offsets: any other choice drops every IoU
    below 0.96), while OpenCV puts pixel centres at integer coordinates. The projection's principal
    point terms carry that difference.
    """
    h, w = size
    k = cam.intrinsics[0].double().numpy()
    c2w = cam.cam_to_world[0].double().numpy()
    gl_c2w = c2w @ np.diag([1.0, -1.0, -1.0, 1.0])  # OpenCV (y down, z forward) -> OpenGL (y up, z back)
    view = np.linalg.inv(gl_c2w)
    fx, fy, cx, cy = k[0, 0], k[1, 1], k[0, 2], k[1, 2]
    proj = np.zeros((4, 4))
    proj[0, 0], proj[0, 2] = 2 * fx / w, 1 - 2 * cx / w
    proj[1, 1], proj[1, 2] = 2 * fy / h, 2 * (cy + 1) / h - 1
    proj[2, 2], proj[2, 3] = -(far + near) / (far - near), -2 * far * near / (far - near)
    proj[3, 2] = -1
    return view.T.reshape(-1).tolist(), proj.T.reshape(-1).tolist()


def pybullet_segmentation(objects, cam, size):
    client = pybullet.connect(pybullet.DIRECT)
    try:
        ids = []
        for mesh, p in objects:
            vis = pybullet.createVisualShape(
                pybullet.GEOM_MESH,
                vertices=mesh.vertices.double().tolist(),
                indices=mesh.faces.reshape(-1).tolist(),
                physicsClientId=client,
            )
            rot = p[:3, :3].double().numpy()
            from scipy.spatial.transform import Rotation

            quat = Rotation.from_matrix(rot).as_quat().tolist()  # x, y, z, w
            ids.append(pybullet.createMultiBody(0, -1, vis, p[:3, 3].tolist(), quat, physicsClientId=client))
        view, proj = opengl_matrices(cam, size)
        _, _, _, _, seg = pybullet.getCameraImage(
            size[1], size[0], view, proj, renderer=pybullet.ER_TINY_RENDERER, shadow=0, physicsClientId=client
        )
        seg = np.asarray(seg).reshape(size)
        return np.where(seg >= 0, np.searchsorted(ids, seg), -1)  # body id -> slot
    finally:
        pybullet.disconnect(client)


def test_instance_masks_match_pybullet_segmentation(backend):
    size = (192, 256)
    cam = camera((0.05, -0.7, 0.6), (0.0, 0.0, 0.0), size=size, fov_deg=45)
    objects = [
        (primitives.box((1.0, 0.8, 0.04)), translation(0, 0, -0.02)),
        (primitives.box((3.0, 3.0, 0.02)), translation(0, 0, -0.76)),
        (primitives.box((0.08, 0.06, 0.05)), pose(rotation_z(torch.tensor(0.5)), torch.tensor([-0.15, 0.05, 0.025]))),
        (primitives.sphere(0.04, rings=24, segments=48), translation(0.1, -0.05, 0.04)),
        (primitives.cylinder(0.03, 0.1, segments=48), translation(0.05, 0.15, 0.05)),
    ]
    ours = (
        Renderer(RenderConfig(backend=backend, shadows=False))
        .render(scene(objects, cam, size=size))
        .instance[0]
        .numpy()
    )
    ref = pybullet_segmentation(objects, cam, size)
    for slot in range(len(objects)):
        a, b = ours == slot, ref == slot
        if not b.any():
            continue
        iou = (a & b).sum() / (a | b).sum()
        assert iou > 0.97, f"slot {slot}: IoU {iou:.4f}"
    assert (ref == 3).sum() > 300 and (ref == 4).sum() > 300  # the small objects are in view


def test_user_world_masks_match_pybullet_segmentation_at_640x480_off_centre(tmp_path):
    """Three pybullet_data meshes as classes (and its clutter as distractors) through the whole pipeline, a
    640 x 480 camera with cx, cy off centre: every object of 100 px or more against PyBullet's segmentation."""
    from types import SimpleNamespace

    import yaml
    from userworld import write_config

    from domrand.config import load_config

    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["world"]["objects"][2]["count"] = [1, 2]  # every image has all three classes
    path.write_text(yaml.safe_dump(data))
    cfg = load_config(path=path, overrides={"render": {"shadows": False}})
    assert cfg.size == (480, 640) and cfg.nominal_camera()["cx"] != 319.5
    pipe = cfg.pipeline()
    frame = pipe.render(pipe.sample(3, rng=torch.Generator().manual_seed(3)))
    bank, inst = frame.scene.meshes, frame.scene.instances
    checked = set()
    for b in range(3):
        objects, slots = [], []
        for k in range(inst.mesh.shape[1]):
            if not inst.visible[b, k]:
                continue
            m = int(inst.mesh[b, k])
            nf = int(bank.num_faces[m])
            faces = bank.faces[m, :nf]
            verts = bank.vertices[m, : int(faces.max()) + 1] * inst.scale[b, k]
            objects.append((SimpleNamespace(vertices=verts, faces=faces), inst.pose[b, k]))
            slots.append(k)
        cam = SimpleNamespace(
            intrinsics=frame.scene.camera.intrinsics[b : b + 1], cam_to_world=frame.scene.camera.cam_to_world[b : b + 1]
        )
        ref = pybullet_segmentation(objects, cam, (480, 640))
        ours = frame.instance[b].numpy()
        for j, k in enumerate(slots):
            a, r = ours == k, ref == j
            if k < 2 or r.sum() < 100:
                continue
            iou = (a & r).sum() / (a | r).sum()
            assert iou > 0.97, f"image {b} slot {k} ({bank.names[int(inst.mesh[b, k])]}): IoU {iou:.4f}"
            checked.add(bank.names[int(inst.mesh[b, k])])
    assert {"mug", "duck", "bunny"} <= checked, checked
