"""Lens distortion, OpenCV's model (`k1, k2, p1, p2[, k3[, k4, k5, k6]]`), applied to images and labels alike.

A distorted camera is rendered as a pinhole camera with the same focal lengths on a canvas that covers
the distorted image's whole field, then every output pixel takes the canvas pixel it sees through the lens
(nearest for instance ids and depth, bilinear for colour). Keypoints and boxes are projected through the same
model (`project`). Visible and in-frame fractions are measured on the pinhole canvas (they are ratios of
areas, nearly unchanged by a smooth warp) and the silhouette pixel counts are rescaled to image pixels by
each object's own ratio of visible pixels in the image to visible pixels on the canvas.

The lens formulas themselves are `generators.lens` (pure), which the labels use too.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from domrand.generators.lens import _border, distort, undistort
from domrand.render.project import intrinsics_parts
from domrand.scene import Camera, SceneBatch
from domrand.silhouettes import Silhouettes


def canvas(scene: SceneBatch) -> tuple[SceneBatch, Tensor]:
    """The pinhole scene to render for a distorted camera: same pose and focal lengths, principal points
    moved so that one canvas size covers every image's field. Returns it and (B, 3, 3) canvas intrinsics."""
    cam = scene.camera
    assert cam.distortion is not None
    h, w = scene.image_size
    u, v = _border(h, w)
    kc = cam.intrinsics.clone()
    lo, hi = [], []
    for b in range(kc.shape[0]):
        fx, fy, cx, cy = (float(t) for t in intrinsics_parts(cam.intrinsics[b].double()))
        x, y = undistort((u - cx) / fx, (v - cy) / fy, cam.distortion[b].double())
        pu, pv = fx * x, fy * y  # pinhole pixel offsets from the principal point
        lo.append((float(pu.min()), float(pv.min())))
        hi.append((float(pu.max()), float(pv.max())))
    wc = max(math.ceil(b[0] - a[0]) + 2 for a, b in zip(lo, hi))
    hc = max(math.ceil(b[1] - a[1]) + 2 for a, b in zip(lo, hi))
    for b, (a, _) in enumerate(zip(lo, hi)):
        kc[b, 0, 2] = -a[0] + 0.5
        kc[b, 1, 2] = -a[1] + 0.5
    return scene.replace(camera=Camera(kc, cam.cam_to_world), image_size=(hc, wc)), kc


def source_pixels(camera: Camera, kc: Tensor, size: tuple[int, int]) -> tuple[Tensor, Tensor]:
    """(B, H, W) canvas coordinates (u, v) that each image pixel sees through the lens."""
    h, w = size
    vs, us = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    out_u, out_v = [], []
    for b in range(kc.shape[0]):
        fx, fy, cx, cy = (float(t) for t in intrinsics_parts(camera.intrinsics[b].double()))
        x, y = undistort((us - cx) / fx, (vs - cy) / fy, camera.distortion[b].double())
        out_u.append(fx * x + float(kc[b, 0, 2]))
        out_v.append(fy * y + float(kc[b, 1, 2]))
    return torch.stack(out_u), torch.stack(out_v)


def warp(
    rgb: Tensor, depth: Tensor, instance: Tensor, sil: Silhouettes, scene: SceneBatch, kc: Tensor
) -> tuple[Tensor, Tensor, Tensor, Silhouettes]:
    """Canvas renders (B, Hc, Wc, ...) -> the distorted images of `scene` (its camera and size), and the
    silhouettes rescaled to image pixels (see the module docstring)."""
    h, w = scene.image_size
    hc, wc = instance.shape[1:3]
    su, sv = source_pixels(scene.camera, kc, (h, w))
    ui, vi = torch.floor(su + 0.5).long(), torch.floor(sv + 0.5).long()
    inside = (ui >= 0) & (ui < wc) & (vi >= 0) & (vi < hc)
    bidx = torch.arange(rgb.shape[0])[:, None, None]
    uc, vc = ui.clamp(0, wc - 1), vi.clamp(0, hc - 1)
    inst = torch.where(inside, instance[bidx, vc, uc], torch.full_like(instance[bidx, vc, uc], -1))
    dep = torch.where(inside, depth[bidx, vc, uc], torch.zeros_like(depth[bidx, vc, uc]))
    grid = torch.stack([(su + 0.5) / wc * 2 - 1, (sv + 0.5) / hc * 2 - 1], -1).to(rgb.dtype)
    col = F.grid_sample(rgb.permute(0, 3, 1, 2), grid, mode="bilinear", padding_mode="border", align_corners=False)
    col = col.permute(0, 2, 3, 1).contiguous()
    # Silhouettes: the canvas pixels that land in the image, counted per slot, against the image's pixels.
    k = sil.area.shape[1]
    field = _field(scene.camera, kc, (hc, wc), (h, w))
    on_canvas = _counts(torch.where(field, instance, torch.full_like(instance, -1)), k)
    in_image = _counts(inst, k)
    ratio = torch.where(
        on_canvas > 0,
        in_image.double() / on_canvas.clamp_min(1).double(),
        torch.ones_like(on_canvas, dtype=torch.float64),
    )
    scaled = Silhouettes(
        (sil.area.double() * ratio).round().long(),
        (sil.area_full.double() * ratio).round().long(),
        _boxes(sil.box_full, scene.camera, kc),
    )
    return col, dep, inst.to(instance.dtype), scaled


def _counts(instance: Tensor, k: int) -> Tensor:
    b = instance.shape[0]
    ids = instance.reshape(b, -1).long()
    keep = ids >= 0
    key = (torch.arange(b)[:, None] * k + ids.clamp(min=0))[keep]
    return torch.bincount(key, minlength=b * k).reshape(b, k)


def _field(camera: Camera, kc: Tensor, canvas_size: tuple[int, int], size: tuple[int, int]) -> Tensor:
    """(B, Hc, Wc) bool: the canvas pixels whose distorted image falls inside the image."""
    hc, wc = canvas_size
    h, w = size
    vs, us = torch.meshgrid(torch.arange(hc, dtype=torch.float64), torch.arange(wc, dtype=torch.float64), indexing="ij")
    out = []
    for b in range(kc.shape[0]):
        fx, fy, cx, cy = (float(t) for t in intrinsics_parts(camera.intrinsics[b].double()))
        xd, yd = distort((us - float(kc[b, 0, 2])) / fx, (vs - float(kc[b, 1, 2])) / fy, camera.distortion[b].double())
        u, v = fx * xd + cx, fy * yd + cy
        out.append((u >= -0.5) & (u < w - 0.5) & (v >= -0.5) & (v < h - 0.5))
    return torch.stack(out)


def _boxes(box: Tensor, camera: Camera, kc: Tensor) -> Tensor:
    """Canvas-pixel boxes (B, K, 4) -> the image-pixel box of their edges seen through the lens."""
    t = torch.linspace(0, 1, 9, dtype=torch.float64)
    x0, y0, x1, y1 = (box[..., i].double()[..., None] - 0.5 for i in range(4))
    us = torch.cat([x0 + (x1 - x0) * t, x1.expand(-1, -1, 9), x0 + (x1 - x0) * t, x0.expand(-1, -1, 9)], -1)
    vs = torch.cat([y0.expand(-1, -1, 9), y0 + (y1 - y0) * t, y1.expand(-1, -1, 9), y0 + (y1 - y0) * t], -1)
    fx, fy, cx, cy = (t_.double()[:, None, None] for t_ in intrinsics_parts(camera.intrinsics))
    d = camera.distortion.double()[:, None, None, :]
    xd, yd = distort(
        (us - kc[:, 0, 2].double()[:, None, None]) / fx, (vs - kc[:, 1, 2].double()[:, None, None]) / fy, d
    )
    u, v = fx * xd + cx, fy * yd + cy
    out = torch.stack([u.amin(-1), v.amin(-1), u.amax(-1), v.amax(-1)], -1)
    out = torch.stack(
        [
            torch.floor(out[..., 0] + 0.5),
            torch.floor(out[..., 1] + 0.5),
            torch.ceil(out[..., 2] + 0.5),
            torch.ceil(out[..., 3] + 0.5),
        ],
        -1,
    )
    empty = (box == 0).all(-1, keepdim=True)
    return torch.where(empty, torch.zeros_like(box), out.long())
