"""Labels: a pure function of a `SceneBatch` and what was rendered of it (instance ids, silhouettes).

Per image: the camera (OpenCV intrinsics, camera-to-world), and per object (the target and every
visible distractor): id (its slot, the value in the instance mask), class, pose in world and camera
frames, tight 2D box from the mask, visible and in-frame fractions, the 8 projected corners of its 3D
box and its projected centre, and the target's position and quaternion.

Visibility has one meaning in every format, the BOP toolkit's: the visible fraction is the visible pixels
over the pixels of the object's whole silhouette, the part outside the image included (measured on a
canvas one image size beyond each border, `domrand.silhouettes`); the in-frame fraction is the part of
that silhouette inside the image (truncation alone).

Example:
    >>> import torch
    >>> from domrand.config import load_config
    >>> pipe = load_config(overrides={"image_size": 32}).pipeline()
    >>> frame = pipe.render(pipe.sample(2, rng=torch.Generator().manual_seed(0)))
    >>> labels = compute(frame.scene, frame.instance, frame.silhouette, frame.clean_depth)
    >>> rec = labels.record(0)
    >>> sorted(rec), rec["objects"][0]["role"]
    (['camera', 'objects', 'target_name', 'target_position', 'target_quaternion'], 'target')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from domrand.generators import lens
from domrand.generators.transforms import matrix_to_quaternion, rotation_entries
from domrand.render.frontend import invert_rigid
from domrand.render.project import intrinsics_parts, pinhole
from domrand.scene import SceneBatch
from domrand.silhouettes import Silhouettes
from domrand.world import TARGET, mesh_half_extents, used_vertices

#: Corners of the unit box in the order the 8 keypoints use (x, y, z in {-1, +1}), then the centre.
BOX_CORNERS = torch.tensor(
    [[x, y, z] for x in (-1.0, 1.0) for y in (-1.0, 1.0) for z in (-1.0, 1.0)] + [[0.0, 0.0, 0.0]]
)


@dataclass(frozen=True, eq=False)
class Labels:
    """Labels of a batch of B images with K slots (objects are slots TARGET and up).

    Attributes:
        intrinsics: (B, 3, 3); cam_to_world: (B, 4, 4) OpenCV axes; size: (H, W).
        present: (B, K) bool, the object is in the scene (target and placed distractors).
        mesh: (B, K) int64 bank index; names: mesh names by bank index.
        pose_world, pose_camera: (B, K, 4, 4) object-to-world and object-to-camera, metres.
        extents: (B, K, 3) size of the object's 3D box, metres.
        pixels: (B, K) int64 visible pixels; silhouette: (B, K) pixels without occluders, in the image;
            silhouette_full: (B, K) the same including the part outside the image (`domrand.silhouettes`);
            silhouette_box: (B, K, 4) int64 x0, y0, x1, y1 of that whole silhouette (pixel edges, x1 and y1
            exclusive, not clipped to the image; zeros where it is empty).
        bbox: (B, K, 4) float x0, y0, x1, y1 in pixel-edge coordinates (x1, y1 exclusive), -1 if unseen.
        keypoints: (B, K, 9, 3) u, v (pixels, OpenCV) and camera depth z (metres) of the 8 box
            corners (see `BOX_CORNERS`) and the centre.
        keypoint_visibility: (B, K, 9) int8 COCO flags from a depth test (`keypoint_visibility`): 2 on the
            object's visible surface, 1 in the image but hidden (occluded, or off the object, as the centre
            and the corners of a round object are), 0 outside the image or behind the camera.
        scale: (B, K, 3) per-axis scale applied to the banked mesh.
        amodal_bbox: (B, K, 4) box of the whole projected object (occluded parts too), clipped to
            the image, pixel-edge coordinates; -1 where it is out of view.
    """

    intrinsics: Tensor
    cam_to_world: Tensor
    size: tuple[int, int]
    present: Tensor
    mesh: Tensor
    names: tuple[str, ...]
    pose_world: Tensor
    pose_camera: Tensor
    extents: Tensor
    pixels: Tensor
    silhouette: Tensor
    silhouette_full: Tensor
    silhouette_box: Tensor
    bbox: Tensor
    keypoints: Tensor
    keypoint_visibility: Tensor
    amodal_bbox: Tensor
    scale: Tensor
    object_classes: tuple[str, ...] | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        """Every label as a batch-first numpy array (what the native format stores; see `record_from`)."""
        quat_w = matrix_to_quaternion(self.pose_world[..., :3, :3])
        quat_c = matrix_to_quaternion(self.pose_camera[..., :3, :3])
        out = {
            "intrinsics": self.intrinsics, "cam_to_world": self.cam_to_world, "present": self.present, "mesh": self.mesh,
            "position": self.pose_world[..., :3, 3], "quaternion": quat_w, "position_camera": self.pose_camera[..., :3, 3],
            "quaternion_camera": quat_c, "extents": self.extents, "scale": self.scale, "pixels": self.pixels,
            "silhouette": self.silhouette, "silhouette_full": self.silhouette_full, "silhouette_box": self.silhouette_box, "bbox": self.bbox, "amodal_bbox": self.amodal_bbox, "keypoints": self.keypoints,
            "keypoint_visibility": self.keypoint_visibility,
        }  # fmt: skip
        return {k: v.detach().cpu().numpy() for k, v in out.items()}

    def record(self, i: int) -> dict[str, Any]:
        """The JSON record of image i (writers add file paths, indices and parameters)."""
        return record_from(self.arrays(), i, self.names, self.size, self.object_classes)


def record_from(
    a: dict[str, np.ndarray],
    i: int,
    names: tuple[str, ...] | list[str],
    size: tuple[int, int],
    object_classes: tuple[str, ...] | list[str] | None = None,
) -> dict[str, Any]:
    """The JSON record of row i of label arrays `a` (from `Labels.arrays`).

    Keys: target_position (world, metres), target_quaternion (w, x, y, z), target_name, camera (fx, fy,
    cx, cy, width, height, cam_to_world) and objects: per object id (its slot and mask value), class,
    role, position / quaternion in world and camera frames, extents and scale, bbox and amodal_bbox
    (x0, y0, x1, y1, pixel edges), pixels (visible), silhouette_pixels (the whole unoccluded silhouette,
    outside the image too) and silhouette_bbox (its box, not clipped), visible_fraction (pixels /
    silhouette_pixels), in_frame_fraction (the silhouette's share inside the image), keypoints (8 box
    corners then the centre, each u, v, depth) and keypoint_visibility (0, 1, 2 each, COCO's flags).

    Roles: with `object_classes` (a world of user classes), "object" for an instance of one of them and
    "distractor" for the rest; without, "target" for slot TARGET and "distractor" for the rest."""
    return record_from_row({name: v[i].tolist() for name, v in a.items()}, names, size, object_classes)


def record_from_row(
    r: dict[str, Any],
    names: tuple[str, ...] | list[str],
    size: tuple[int, int],
    object_classes: tuple[str, ...] | list[str] | None = None,
) -> dict[str, Any]:
    """`record_from` of one row of the label arrays already as Python values ({name: a[name][i].tolist()}): a
    writer converts a chunk's arrays once and slices the lists."""
    k = r["intrinsics"]
    objects = []
    legacy = "silhouette_full" not in r  # a native dataset written before 0.2: visibility within the image only
    for s in (j for j, p in enumerate(r["present"]) if p):
        pix, sil = int(r["pixels"][s]), int(r["silhouette"][s])
        full = sil if legacy else int(r["silhouette_full"][s])
        amodal = r["amodal_bbox"][s]
        objects.append(
            {
                "id": s, "class": names[int(r["mesh"][s])], "role": _role(s, names[int(r["mesh"][s])], object_classes),
                "position": r["position"][s], "quaternion": r["quaternion"][s],
                "position_camera": r["position_camera"][s], "quaternion_camera": r["quaternion_camera"][s],
                "extents": r["extents"][s], "scale": r["scale"][s],
                "bbox": r["bbox"][s] if pix else None, "amodal_bbox": amodal if amodal[0] >= 0 else None,
                "pixels": pix, "silhouette_pixels": None if legacy else full,
                "silhouette_bbox": r["silhouette_box"][s] if full and not legacy else None,
                "visible_fraction": pix / full if full else 0.0,
                "in_frame_fraction": None if legacy else (sil / full if full else 0.0),
                "keypoints": r["keypoints"][s],
                "keypoint_visibility": None if legacy else r["keypoint_visibility"][s],
            }
        )  # fmt: skip
    return {
        "target_position": r["position"][TARGET],
        "target_quaternion": r["quaternion"][TARGET],
        "target_name": names[int(r["mesh"][TARGET])],
        "camera": {
            "fx": float(k[0][0]),
            "fy": float(k[1][1]),
            "cx": float(k[0][2]),
            "cy": float(k[1][2]),
            "width": int(size[1]),
            "height": int(size[0]),
            "cam_to_world": r["cam_to_world"],
        },
        "objects": objects,
    }


def _role(slot: int, name: str, object_classes: tuple[str, ...] | list[str] | None) -> str:
    if object_classes is not None:
        return "object" if name in object_classes else "distractor"
    return "target" if slot == TARGET else "distractor"


def pose_matrix(position: list[float], quaternion: list[float]) -> np.ndarray:
    """(4, 4) float64 pose from a position and a (w, x, y, z) quaternion (as in the records)."""
    norm = math.sqrt(sum(float(v) * float(v) for v in quaternion))
    out = np.eye(4)  # `quaternion_to_matrix`'s arithmetic on floats: no torch for one pose (BOP asks per object)
    out[:3, :3] = np.reshape(rotation_entries(*(float(v) / norm for v in quaternion)), (3, 3))
    out[:3, 3] = position
    return out


def boxes_from_mask(instance: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Tight boxes and pixel counts of slots 0..k-1 in instance masks (B, H, W).

    Returns:
        bbox (B, K, 4) float x0, y0, x1, y1 (x1, y1 exclusive; -1 where absent) and pixels (B, K).
    """
    b, h, w = instance.shape
    if instance.device.type == "cpu":  # one compiled pass per mask
        from domrand.kernels.silhouettes import mask_stats

        bbox_c, pixels_c = torch.empty(b, k, 4, dtype=torch.float32), torch.empty(b, k, dtype=torch.int64)
        from domrand.kernels.threads import parallel

        parallel(mask_stats, b, instance.to(torch.int32).contiguous().numpy(), k, bbox_c.numpy(), pixels_c.numpy())
        return bbox_c, pixels_c
    ids = instance.reshape(b, h * w).to(torch.int64)
    keep = ids >= 0
    key = (torch.arange(b)[:, None] * k + ids.clamp(min=0)).reshape(-1)  # (B * P,) scene-slot bin
    pixels = torch.bincount(key[keep.reshape(-1)], minlength=b * k).reshape(b, k)
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    xs, ys = xs.reshape(-1).expand(b, -1).reshape(-1), ys.reshape(-1).expand(b, -1).reshape(-1)
    big = h + w + 1

    def reduce(v: Tensor, op: str, init: int) -> Tensor:
        out = torch.full((b * k,), init, dtype=torch.int64)
        return out.scatter_reduce_(0, key, torch.where(keep.reshape(-1), v, torch.full_like(v, init)), op).reshape(b, k)

    bbox = torch.stack(
        [reduce(xs, "amin", big), reduce(ys, "amin", big), reduce(xs, "amax", -1) + 1, reduce(ys, "amax", -1) + 1], -1
    )
    bbox = bbox.to(torch.float32)
    return torch.where((pixels > 0)[..., None], bbox, torch.full_like(bbox, -1.0)), pixels


def compute(
    scene: SceneBatch,
    instance: Tensor,
    silhouette: Silhouettes,
    depth: Tensor,
    object_classes: tuple[str, ...] | None = None,
) -> Labels:
    """Labels of a rendered batch (CPU tensors).

    Args:
        scene: the B scenes with K slots that were rendered.
        instance: (B, H, W) int32 rendered slot per pixel, -1 for background.
        silhouette: the unoccluded silhouettes (`RenderOutput.silhouette` of a render asked for the object
            slots).
        depth: (B, H, W) float32 rendered depth, metres (before any depth noise: `Frame.clean_depth`).
        object_classes: a user world's classes (`TableWorld.class_names()` when it has `objects`): the records'
            roles are then object / distractor (see `record_from`).
    """
    inst = scene.instances
    _b, k = inst.mesh.shape
    objects = torch.arange(k) >= TARGET
    present = inst.visible & objects[None]
    world_to_cam = invert_rigid(scene.camera.cam_to_world)
    pose_cam = world_to_cam[:, None] @ inst.pose
    half = mesh_half_extents(scene.meshes)[inst.mesh] * inst.scale  # (B, K, 3)
    corners = BOX_CORNERS[None, None] * half[:, :, None, :]  # (B, K, 9, 3) object frame
    cam_pts = corners @ pose_cam[..., :3, :3].transpose(-1, -2) + pose_cam[..., None, :3, 3]
    kmat = scene.camera.intrinsics[:, None, None]
    z = cam_pts[..., 2]
    safe = torch.where(z.abs() < 1e-9, torch.full_like(z, 1e-9), z)
    if scene.camera.distortion is not None:  # through the lens, as the image was warped
        u, v = lens.project(
            torch.stack([cam_pts[..., 0], cam_pts[..., 1], safe], -1), kmat, scene.camera.distortion[:, None, None]
        )
    else:
        u, v = pinhole(cam_pts[..., 0], cam_pts[..., 1], safe, *intrinsics_parts(kmat))
    bbox, pixels = boxes_from_mask(instance, k)
    amodal = _amodal_boxes(scene, pose_cam)
    kps = torch.stack([u, v, z], -1)
    fx = scene.camera.intrinsics[:, 0, 0]
    return Labels(
        intrinsics=scene.camera.intrinsics, cam_to_world=scene.camera.cam_to_world, size=scene.image_size, present=present,
        mesh=inst.mesh, names=scene.meshes.names, pose_world=inst.pose, pose_camera=pose_cam, extents=2 * half,
        pixels=pixels, silhouette=silhouette.area, silhouette_full=silhouette.area_full, silhouette_box=silhouette.box_full, bbox=bbox, keypoints=kps,
        keypoint_visibility=keypoint_visibility(kps, instance, depth, fx, 2 * half), amodal_bbox=amodal, scale=inst.scale, object_classes=object_classes,
    )  # fmt: skip


#: The depth test of a keypoint: it is on the visible surface when a pixel of its object within one pixel of
#: it has a depth within KEYPOINT_TOL_M plus KEYPOINT_TOL_PX pixel footprints (z / fx) of the keypoint's,
#: and at most KEYPOINT_TOL_EXTENT of the object's smallest extent.
KEYPOINT_TOL_M = 0.002
KEYPOINT_TOL_PX = 1.0
KEYPOINT_TOL_EXTENT = 0.25


def keypoint_visibility(keypoints: Tensor, instance: Tensor, depth: Tensor, fx: Tensor, extents: Tensor) -> Tensor:
    """COCO visibility flags of every object's keypoints (the 8 box corners, then the centre) from a depth test.

    Args:
        keypoints: (B, K, 9, 3) u, v (pixels, OpenCV: pixel centres at integers) and z (metres) of slot k's
            keypoints, the centre last.
        instance: (B, H, W) int32 slot per pixel, -1 for background.
        depth: (B, H, W) float32 metres.
        fx: (B,) focal length, pixels.
        extents: (B, K, 3) size of each object's 3D box, metres.

    Returns:
        (B, K, 9) int8: 0 if the keypoint is behind the camera or its pixel (round(u), round(v)) is outside
        the image; for a corner, 2 if a pixel of its own slot in the 3 x 3 pixels around it has a depth within
        min(`KEYPOINT_TOL_M` + `KEYPOINT_TOL_PX` * z / fx, `KEYPOINT_TOL_EXTENT` * smallest extent) of z (it
        lies on the visible surface); 1 otherwise (occluded by another object or by its own, or not on the
        object at all). The centre lies inside the object: 1 whenever it is in the image.
    """
    args = (keypoints, instance, depth, fx, extents)
    if all(t.device.type == "cpu" for t in args) and [t.dtype for t in args] == _KEYPOINT_DTYPES:
        from domrand.kernels.keypoints import keypoint_visibility as kernel  # the compiled twin: the same flags

        out = torch.empty(keypoints.shape[:-1], dtype=torch.int8)
        kernel(
            *(t.contiguous().numpy() for t in args), KEYPOINT_TOL_M, KEYPOINT_TOL_PX, KEYPOINT_TOL_EXTENT, out.numpy()
        )
        return out
    return keypoint_visibility_torch(*args)


_KEYPOINT_DTYPES = [torch.float32, torch.int32, torch.float32, torch.float32, torch.float32]


def keypoint_visibility_torch(
    keypoints: Tensor, instance: Tensor, depth: Tensor, fx: Tensor, extents: Tensor
) -> Tensor:
    """`keypoint_visibility` in torch ops, on any device: the reference of the compiled CPU kernel
    (`kernels.keypoints`), which gives the same flags."""
    b, h, w = instance.shape
    k, n = keypoints.shape[1], keypoints.shape[2]
    u, v, z = keypoints.unbind(-1)
    px, py = torch.floor(u + 0.5), torch.floor(v + 0.5)
    inside = (z > 0) & (px >= 0) & (px < w) & (py >= 0) & (py < h)
    tol = torch.minimum(
        KEYPOINT_TOL_M + KEYPOINT_TOL_PX * z / fx[:, None, None], KEYPOINT_TOL_EXTENT * extents.amin(-1)[..., None]
    )
    # The 3 x 3 pixels around each keypoint, all at once: (B, K, N, 9) flat pixel indices (clamped; `ok` masks).
    off = torch.tensor([-1.0, 0.0, 1.0])
    x = (px[..., None, None] + off).expand(b, k, n, 3, 3).reshape(b, k, n, 9)
    y = (py[..., None, None] + off[:, None]).expand(b, k, n, 3, 3).reshape(b, k, n, 9)
    ok = inside[..., None] & (x >= 0) & (x < w) & (y >= 0) & (y < h)
    flat = (torch.arange(b)[:, None, None, None] * h + y.clamp(0, h - 1).long()) * w + x.clamp(0, w - 1).long()
    same = instance.reshape(-1)[flat] == torch.arange(k)[None, :, None, None]
    near = (depth.reshape(-1)[flat] - z[..., None]).abs() <= tol[..., None]
    seen = (ok & same & near).any(-1)
    seen[..., n - 1] = False  # the centre
    return torch.where(inside, torch.where(seen, 2, 1), 0).to(torch.int8)


def _amodal_boxes(scene: SceneBatch, pose_cam: Tensor) -> Tensor:
    """(B, K, 4) image-clipped bounds of every slot's projected vertices in front of the camera."""
    bank, inst = scene.meshes, scene.instances
    h, w = scene.image_size
    if pose_cam.device.type == "cpu" and scene.camera.distortion is None:  # one compiled pass over the vertices
        from domrand.kernels.silhouettes import amodal_boxes

        out = torch.empty(*inst.mesh.shape, 4, dtype=torch.float32)
        from domrand.kernels.threads import parallel

        parallel(
            amodal_boxes,
            inst.mesh.shape[0],
            bank.vertices.contiguous().numpy(),
            used_vertices(bank).numpy(),
            bank.num_vertices.numpy(),
            inst.mesh.contiguous().numpy(),
            inst.scale.contiguous().numpy(),
            pose_cam.contiguous().numpy(),
            scene.camera.intrinsics.contiguous().numpy(),
            h,
            w,
            out.numpy(),
        )
        return out
    return _amodal_boxes_torch(scene, pose_cam)


def _amodal_boxes_torch(scene: SceneBatch, pose_cam: Tensor) -> Tensor:
    bank, inst = scene.meshes, scene.instances
    h, w = scene.image_size
    verts = bank.vertices[inst.mesh] * inst.scale[:, :, None, :]  # (B, K, V, 3)
    cam = verts @ pose_cam[..., :3, :3].transpose(-1, -2) + pose_cam[..., None, :3, 3]
    used = used_vertices(bank)[inst.mesh] & (cam[..., 2] > 1e-6)
    kmat = scene.camera.intrinsics[:, None, None]
    z = cam[..., 2].clamp_min(1e-6)
    if scene.camera.distortion is not None:
        u, v = lens.project(
            torch.stack([cam[..., 0], cam[..., 1], z], -1), kmat, scene.camera.distortion[:, None, None]
        )
    else:
        u, v = pinhole(cam[..., 0], cam[..., 1], z, *intrinsics_parts(kmat))
    inf = torch.tensor(float("inf"))
    x0 = torch.where(used, u, inf).amin(-1) + 0.5
    x1 = torch.where(used, u, -inf).amax(-1) + 0.5
    y0 = torch.where(used, v, inf).amin(-1) + 0.5
    y1 = torch.where(used, v, -inf).amax(-1) + 0.5
    box = torch.stack([x0.clamp(0, w), y0.clamp(0, h), x1.clamp(0, w), y1.clamp(0, h)], -1)
    seen = used.any(-1) & (box[..., 2] > box[..., 0]) & (box[..., 3] > box[..., 1])
    return torch.where(seen[..., None], box, torch.full_like(box, -1.0))
