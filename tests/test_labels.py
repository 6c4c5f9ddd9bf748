"""Amodal boxes against cv2.projectPoints of the meshes' own vertices; the compiled and torch paths agree."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from domrand.config import load_config
from domrand.labels import _amodal_boxes_torch, compute
from domrand.rng import chunk_rng
from domrand.world import used_vertices


def _batch():
    pipe = load_config(overrides={"image_size": 64}).pipeline()
    frame = pipe.render(pipe.sample(12, rng=chunk_rng(4, 0)))
    return frame, compute(frame.scene, frame.instance, frame.silhouette, frame.clean_depth)


def test_amodal_boxes_match_cv2_projection_of_every_used_vertex():
    frame, labels = _batch()
    scene = frame.scene
    bank, inst = scene.meshes, scene.instances
    h, w = scene.image_size
    used = used_vertices(bank)
    checked = 0
    for b in range(inst.mesh.shape[0]):
        w2c = np.linalg.inv(scene.camera.cam_to_world[b].double().numpy())
        rvec, _ = cv2.Rodrigues(w2c[:3, :3])
        k = scene.camera.intrinsics[b].double().numpy()
        for s in range(inst.mesh.shape[1]):
            m = int(inst.mesh[b, s])
            local = bank.vertices[m][used[m]].double().numpy() * inst.scale[b, s].double().numpy()
            pose = inst.pose[b, s].double().numpy()
            world = local @ pose[:3, :3].T + pose[:3, 3]
            cam = world @ w2c[:3, :3].T + w2c[:3, 3]
            front = world[cam[:, 2] > 1e-6]
            got = labels.amodal_bbox[b, s].numpy()
            if len(front) == 0:
                assert (got == -1).all()
                continue
            uv, _ = cv2.projectPoints(front, rvec, w2c[:3, 3], k, None)
            uv = uv[:, 0]
            want = np.array(
                [
                    np.clip(uv[:, 0].min() + 0.5, 0, w),
                    np.clip(uv[:, 1].min() + 0.5, 0, h),
                    np.clip(uv[:, 0].max() + 0.5, 0, w),
                    np.clip(uv[:, 1].max() + 0.5, 0, h),
                ]
            )
            if want[2] - want[0] < 1e-3 or want[3] - want[1] < 1e-3:  # empty or edge-on after clipping
                continue
            np.testing.assert_allclose(got, want, atol=2e-3, err_msg=f"scene {b} slot {s}")
            checked += 1
    assert checked >= 12 * 3


def test_amodal_boxes_compiled_and_torch_paths_agree():
    frame, labels = _batch()
    scene = frame.scene
    world_to_cam = torch.linalg.inv(scene.camera.cam_to_world)
    pose_cam = world_to_cam[:, None] @ scene.instances.pose
    torch.testing.assert_close(labels.amodal_bbox, _amodal_boxes_torch(scene, pose_cam), atol=1e-3, rtol=0)
