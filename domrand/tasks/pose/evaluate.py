"""`domrand evaluate pose` and `domrand predict pose`.

Metric (experiments/tasks/localization.md): Euclidean distance between predicted and true target centre,
metres, in 3D; reported as mean, median, 95th percentile and the shares under 1.5 cm and 3 cm.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from domrand.io.images import read_image
from domrand.tasks.pose.camera import CameraBatch, PinholeCamera, check_sizes
from domrand.tasks.pose.data import folder_cameras, load_any, native_cameras, resize, to_input
from domrand.tasks.pose.infer import errors, load_model


def metrics(err: Tensor | np.ndarray) -> dict[str, float | int]:
    """The task's report from per-image errors (metres)."""
    e = np.asarray(err, dtype=np.float64)
    if e.size == 0:
        raise ValueError("no images to evaluate")
    return {
        "n": int(e.size),
        "mean_error_m": float(e.mean()),
        "median_error_m": float(np.median(e)),
        "p95_error_m": float(np.percentile(e, 95)),
        "frac_under_0.015": float((e < 0.015).mean()),
        "frac_under_0.03": float((e < 0.03).mean()),
    }


def readout(model: Any, fusion: str | None = None, mirror: bool | None = None) -> None:
    """Override how `model` (a `PoseNet`) reads its two mirror views out, in place: `fusion` "heatmap" or
    "position" (`PoseNetConfig.mirror_fusion`; None keeps the checkpoint's), `mirror` False to read the image
    alone (None keeps `mirror_average`). One ValueError names a bad value or a model that cannot mirror."""
    changes: dict[str, Any] = {}
    if fusion is not None:
        changes["mirror_fusion"] = fusion
    if mirror is not None:
        changes["mirror_average"] = mirror
    if changes:
        model.config = dataclasses.replace(model.config, **changes)  # validated by PoseNetConfig


def cameras(
    model: Any, camera: str | None, n: int, info: dict | list | None = None, data: str = ""
) -> CameraBatch | None:
    """The known cameras of n images for `PoseNet.forward`: None (`camera` None or "learned": the checkpoint's
    own geometry, for a roughly known camera), the model's nominal camera ("nominal": a camera calibrated to
    sit where the training cameras centre), each image's own camera from the dataset's labels ("labels"; `info`
    is what `load_any` returned for `data`), or one camera from a JSON file (any other value: its path)."""
    if camera is None or camera == "learned":
        return None
    if camera == "nominal":
        return model.nominal_camera(n)
    if camera == "labels":
        if info is None:
            raise ValueError("--camera labels needs a dataset whose labels give each image's camera")
        return folder_cameras(info) if isinstance(info, list) else native_cameras(data)
    return PinholeCamera.read(camera).batch(n)


def evaluate_pose(
    checkpoint: str,
    data: str,
    report: str | None = None,
    fusion: str | None = None,
    mirror: bool | None = None,
    camera: str | None = None,
) -> dict[str, Any]:
    """Evaluate a pose checkpoint on a native dataset or a labelled folder; optionally write a JSON report.
    `fusion` and `mirror` override the checkpoint's read-out (`readout`), `camera` gives a known camera
    (`cameras`); the report records the ones used."""
    model, meta = load_model(checkpoint)
    readout(model, fusion, mirror)
    fixed = None if camera in (None, "learned", "nominal", "labels") else PinholeCamera.read(camera)  # fails early
    images, positions, info = load_any(data, model.config.image_size)
    known = fixed.batch(len(images)) if fixed is not None else cameras(model, camera, len(images), info, data)
    if fixed is not None or (camera == "labels" and isinstance(info, list)):  # a native dataset's own cameras fit
        if isinstance(info, list):
            sizes, names = [tuple(r["image_size"]) for r in info], [f"image {r['image']!r}" for r in info]
        else:
            sizes = [tuple(int(v) for v in s) for s in native_cameras(data).size.tolist()]
            names = [f"image {i} of {data!r}" for i in range(len(sizes))]
        check_sizes(known, sizes, names)
    if isinstance(info, list):
        names = {r.get("target") for r in info if r.get("target")}
        if names and names != {meta["target"]}:
            raise ValueError(
                f"labelled folder {data!r} is for target(s) {sorted(names)} but the checkpoint is for {meta['target']!r}"
            )
    out: dict[str, Any] = {
        **metrics(errors(model, images, positions, camera=known)),
        "target": meta["target"],
        "checkpoint": str(checkpoint),
        "data": str(data),
        "mirror_average": bool(model.config.mirror_average),
        "mirror_fusion": model.config.mirror_fusion,
        "camera": camera or "learned",
    }
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(out, indent=2) + "\n")
    return out


def predict_pose(
    checkpoint: str,
    images: list[str],
    fusion: str | None = None,
    mirror: bool | None = None,
    camera: str | None = None,
) -> list[list[float]]:
    """One position (x, y, z metres, world frame) per image file (`fusion`, `mirror`: see `readout`; `camera`
    "nominal" or a camera JSON file: see `cameras`)."""
    if camera == "labels":
        raise ValueError("--camera labels is for `domrand evaluate pose`; give predict a camera JSON file or 'nominal'")
    model, _ = load_model(checkpoint)
    readout(model, fusion, mirror)
    known = cameras(model, camera, len(images))
    photos = [read_image(p) for p in images]
    if known is not None and camera != "nominal":
        check_sizes(known, [(im.shape[1], im.shape[0]) for im in photos], [f"image {p!r}" for p in images])
    batch = np.stack([resize(im[None], model.config.image_size)[0] for im in photos])
    with torch.no_grad():
        return model(to_input(torch.from_numpy(batch)), None, known).tolist()
