"""`domrand evaluate pose` and `domrand predict pose`.

Metric (experiments/tasks/localization.md): Euclidean distance between predicted and true target centre,
metres, in 3D; reported as mean, median, 95th percentile and the shares under 1.5 cm and 3 cm.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from domrand.io.images import read_image
from domrand.tasks.pose.camera import CameraBatch, PinholeCamera, check_sizes
from domrand.tasks.pose.data import (
    data_identity,
    folder_cameras,
    load_any,
    native_cameras,
    resize,
    shared_chunks,
    square_crop,
    to_input,
)
from domrand.tasks.pose.infer import confidences, load_model, predictions

log = logging.getLogger("domrand")


def metrics(err: Tensor | np.ndarray, vectors: Tensor | np.ndarray | None = None) -> dict[str, Any]:
    """The task's report from per-image errors (metres); with the error vectors (N, 3) (prediction minus truth,
    world frame, metres) also their mean, `mean_error_vector_m`: a bias a user must know about."""
    e = np.asarray(err, dtype=np.float64)
    if e.size == 0:
        raise ValueError("no images to evaluate")
    bias = {} if vectors is None else {"mean_error_vector_m": np.asarray(vectors, dtype=np.float64).mean(0).tolist()}
    return {
        "n": int(e.size),
        "mean_error_m": float(e.mean()),
        "median_error_m": float(np.median(e)),
        "p95_error_m": float(np.percentile(e, 95)),
        "frac_under_0.015": float((e < 0.015).mean()),
        "frac_under_0.03": float((e < 0.03).mean()),
        **bias,
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
    model: Any, camera: str | None, n: int, info: dict | list | None = None, data: str = "", target: str | None = None
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
        return folder_cameras(info) if isinstance(info, list) else native_cameras(data, target)
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
    images, positions, info = load_any(data, model.config.image_size, meta["target"])
    known = (
        fixed.batch(len(images))
        if fixed is not None
        else cameras(model, camera, len(images), info, data, meta["target"])
    )
    if fixed is not None or (camera == "labels" and isinstance(info, list)):  # a native dataset's own cameras fit
        if isinstance(info, list):
            sizes, names = [tuple(r["image_size"]) for r in info], [f"image {r['image']!r}" for r in info]
        else:
            sizes = [tuple(int(v) for v in s) for s in native_cameras(data, meta["target"]).size.tolist()]
            names = [f"image {i} of {data!r}" for i in range(len(sizes))]
        check_sizes(known, sizes, names)
    if isinstance(info, list):
        names = {r.get("target") for r in info if r.get("target")}
        if names and names != {meta["target"]}:
            raise ValueError(
                f"labelled folder {data!r} is for target(s) {sorted(names)} but the checkpoint is for {meta['target']!r}"
            )
    shared = _shared_with_training(meta, data)
    vectors = predictions(model, images, camera=known) - positions
    out: dict[str, Any] = {
        **metrics(vectors.norm(dim=-1), vectors),
        "target": meta["target"],
        "checkpoint": str(checkpoint),
        "data": str(data),
        "mirror_average": bool(model.config.mirror_average),
        "mirror_fusion": model.config.mirror_fusion,
        "camera": camera or "learned",
    }
    if shared:
        out["shared_with_training"] = shared
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(out, indent=2) + "\n")
    return out


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One image's prediction: `position` (x, y, z metres, world frame), `confidence` in (0, 1)
    (`infer.confidences`: threshold it), and the square `crop` (x0, y0, side, pixels) the model read of a
    non-square image (None for a square one)."""

    image: str
    position: list[float]
    confidence: float
    crop: tuple[int, int, int] | None


def cropped_camera(cam: CameraBatch, crop: tuple[int, int, int] | None) -> CameraBatch:
    """One image's camera (a 1-row `CameraBatch`) for its `square_crop`: the principal point moves by the crop's
    offset, the size becomes the side."""
    if crop is None:
        return cam
    x0, y0, side = crop
    k = cam.intrinsics.clone()
    k[:, 2] -= x0
    k[:, 3] -= y0
    return CameraBatch(k, torch.full_like(cam.size, float(side)), cam.cam_to_world)


def _shared_with_training(meta: dict[str, Any], data: str) -> dict[str, int] | None:
    """The chunks `data` draws from the same streams as the checkpoint's training data (same seed, chunk size and
    target: `data_identity`), with a warning: the model was trained on those scenes, so their error flatters it.
    None if it shares none."""
    trained = meta.get("data_identity")
    if trained is None and meta.get("data"):  # a checkpoint from before identities: its data, if still there
        trained = data_identity(_manifest_of(meta["data"]))
    mine = data_identity(_manifest_of(data))
    n = shared_chunks(trained, mine)
    if not n:
        return None
    images = min(n * mine["chunk_size"], int(_manifest_of(data)["num_images"]))
    log.warning(
        f"warning: {data!r} shares seed {mine['root_seed']} and its first {n} chunks ({images} images) with the "
        "checkpoint's training data, so it shows the scenes the model was trained on and this error is optimistic. "
        "Evaluate on data generated with another --seed."
    )
    return {"chunks": n, "images": images}


def _manifest_of(root: str) -> dict | None:
    path = Path(root) / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else None


def predict(
    checkpoint: str,
    images: list[str],
    fusion: str | None = None,
    mirror: bool | None = None,
    camera: str | None = None,
) -> list[Prediction]:
    """A `Prediction` per image file (`fusion`, `mirror`: see `readout`; `camera` "nominal" or a camera JSON file:
    see `cameras`). Images of any size: a non-square one is read as its centred square (`square_crop`), with a
    given camera moved to match; the model then resizes the square to its input size."""
    if camera == "labels":
        raise ValueError("--camera labels is for `domrand evaluate pose`; give predict a camera JSON file or 'nominal'")
    model, _ = load_model(checkpoint)
    readout(model, fusion, mirror)
    known = cameras(model, camera, len(images))
    photos = [read_image(p) for p in images]
    if known is not None and camera != "nominal":
        check_sizes(known, [(im.shape[1], im.shape[0]) for im in photos], [f"image {p!r}" for p in images])
    crops = [square_crop(im) for im in photos]
    if known is not None and camera != "nominal":
        rows = [cropped_camera(known.rows(i, i + 1), c) for i, (_, c) in enumerate(crops)]
        known = CameraBatch(*(torch.cat([getattr(r, f) for r in rows]) for f in ("intrinsics", "size", "cam_to_world")))
    batch = torch.from_numpy(np.stack([resize(im[None], model.config.image_size)[0] for im, _ in crops]))
    with torch.no_grad():
        positions = model(to_input(batch), None, known).tolist()
    conf = confidences(model, batch).tolist()
    return [Prediction(p, pos, c, crop) for p, pos, c, (_, crop) in zip(images, positions, conf, crops)]


def predict_pose(
    checkpoint: str,
    images: list[str],
    fusion: str | None = None,
    mirror: bool | None = None,
    camera: str | None = None,
) -> list[list[float]]:
    """One position (x, y, z metres, world frame) per image file (`predict` without the confidences)."""
    return [p.position for p in predict(checkpoint, images, fusion, mirror, camera)]
