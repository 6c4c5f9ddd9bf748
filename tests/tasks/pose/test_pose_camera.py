"""Known cameras for pose models: back-projection through a given camera against OpenCV, the nominal camera
against the model's own back-projection, and bad camera files."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
import torch
from domrand.generators.transforms import intrinsics_from_fov, look_at

from domrand.tasks.pose.camera import CameraBatch, PinholeCamera, plane_points
from domrand.tasks.pose.model import PoseNet, PoseNetConfig


def _camera(eye, target, fov_deg, width, height) -> PinholeCamera:
    k = intrinsics_from_fov(torch.tensor([math.radians(fov_deg)]), width, height)[0].double()
    c2w = look_at(torch.tensor([eye]), torch.tensor([target]))[0].double()
    return PinholeCamera(
        float(k[0, 0]), float(k[1, 1]), float(k[0, 2]) + 3.0, float(k[1, 2]) - 2.0, width, height,
        tuple(tuple(float(v) for v in row) for row in c2w.tolist()),
    )  # fmt: skip  # principal point off-centre on purpose


def test_back_projection_through_a_known_camera_inverts_opencv_projection():
    """Points on the plane z = h, projected by cv2.projectPoints into a 640 x 480 image with an off-centre
    principal point, come back to themselves (the image point given in [-1, 1], as a model reads it)."""
    g = torch.Generator().manual_seed(0)
    cams = [
        _camera([0.05, -0.62, 0.58], [0.02, 0.03, 0.0], 50.0, 640, 480),
        _camera([-0.2, -0.5, 0.7], [0.0, 0.0, 0.0], 40.0, 320, 240),
    ]
    h = 0.025
    pts = torch.rand(len(cams), 3, generator=g).double() * torch.tensor([0.6, 0.4, 0.0]) - torch.tensor([0.3, 0.2, -h])
    uv = []
    for cam, p in zip(cams, pts):
        w2c = np.linalg.inv(np.array(cam.cam_to_world))
        k = np.array([[cam.fx, 0, cam.cx], [0, cam.fy, cam.cy], [0, 0, 1]])
        px, _ = cv2.projectPoints(p[None].numpy(), cv2.Rodrigues(w2c[:3, :3])[0], w2c[:3, 3], k, None)
        u, v = px[0, 0]
        uv.append([(u + 0.5) / cam.width * 2 - 1, (v + 0.5) / cam.height * 2 - 1])
    back = plane_points(torch.tensor(uv, dtype=torch.float64), CameraBatch.of(cams), h)
    assert torch.allclose(back, pts, atol=1e-9)


def test_the_nominal_camera_back_projects_as_the_model_does():
    net = PoseNet(PoseNetConfig(image_size=64))
    uv = torch.rand(5, 2) * 1.6 - 0.8
    ours = plane_points(uv, net.nominal_camera(5), net.config.target_height)
    assert torch.allclose(ours, net.back_project(uv), atol=1e-5)


def test_forward_with_a_camera_skips_the_learnt_correction():
    """With a known camera the position is the read-out point back-projected through it: not what the
    correction head adds (here made non-zero), and the mean of the two views' points for position fusion."""
    torch.manual_seed(0)
    for fusion in ("heatmap", "position"):
        net = PoseNet(PoseNetConfig(image_size=32, mirror_fusion=fusion)).eval()
        torch.nn.init.normal_(net.head[-1].weight, std=0.5)
        x = torch.rand(3, 3, 32, 32)
        with torch.no_grad():
            cam = net.nominal_camera(3)
            known = net(x, camera=cam)
            points = net.image_points(x)
            assert len(points) == (2 if fusion == "position" else 1)
            expect = torch.stack([net.back_project(uv) for uv in points]).mean(0)
            assert torch.allclose(known, expect, atol=1e-5)
            assert float((net(x) - known).norm(dim=1).min()) > 1e-3  # the learnt geometry is another answer
            alone = net(x, mirror=False, camera=cam)
            assert torch.allclose(alone, net.back_project(net.read_out(net.features(x)[0])), atol=1e-5)


GOOD = {"fx": 150.0, "fy": 150.0, "cx": 63.5, "cy": 63.5, "width": 128, "height": 128,
        "cam_to_world": [[1, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 1.0], [0, 0, 0, 1]]}  # fmt: skip


@pytest.mark.parametrize(
    "change, message",
    [
        ({"fx": None}, "lacks fx"),
        ({"fy": float("nan")}, "fy must be a finite number"),
        ({"width": 0}, "width must be positive"),
        ({"height": 12.5}, "height must be a whole number"),
        ({"cam_to_world": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}, "cam_to_world must be a 4 x 4"),
        ({"cam_to_world": [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}, "is not a rotation"),
        ({"cam_to_world": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]]}, "last row must be 0 0 0 1"),
    ],
)
def test_bad_cameras_are_one_clear_error_naming_the_value(tmp_path, change, message):
    d = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    path = tmp_path / "cam.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=message) as e:
        PinholeCamera.read(path)
    assert str(path) in str(e.value)


def test_camera_files_that_are_missing_or_not_json_are_named(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        PinholeCamera.read(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{fx: 1")
    with pytest.raises(ValueError, match="is not JSON"):
        PinholeCamera.read(tmp_path / "bad.json")
    (tmp_path / "good.json").write_text(json.dumps(GOOD))
    assert PinholeCamera.read(tmp_path / "good.json").batch(4).cam_to_world.shape == (4, 4, 4)


def test_an_image_of_another_shape_than_its_camera_is_named():
    from domrand.tasks.pose.camera import check_sizes

    cams = PinholeCamera.from_json({**GOOD, "width": 640, "height": 480}).batch(3)
    check_sizes(cams, [(640, 480), (320, 240), (1280, 960)], ["a", "b", "c"])  # as taken, or resized alike
    with pytest.raises(ValueError, match=r"image 'd\.png' is 640 x 640 pixels but its camera is for 640 x 480"):
        check_sizes(cams, [(640, 480), (640, 640)], ["a", "image 'd.png'"])
