"""Where a pose model's error comes from, on one test set (a native dataset or a labelled folder):

    python experiments/localization/diagnose.py CKPT DATA [--sheet worst.png]

Prints:
- the mean / median / p95 error (cm) of the model (one view, its learnt camera correction); of its heatmap read
  out two ways (soft-argmax, and the highest peak refined by a soft-argmax over the 7 x 7 cells around it) and
  back-projected through the nominal camera with no correction; of the true image point back-projected the same
  way (the floor that camera calibration alone sets);
- the heatmap's distance to the true image point (pixels of a 128 px image) and the share of misdetections
  (error over 5 cm);
- what the model's own camera estimate adds to its heatmap point back-projected through each image's true camera
  (both read out as `domrand evaluate pose` does): the mean offset, and the scale about the table centre of a
  least-squares affine fit, on the images whose true-camera error is under 5 cm (a scale under 1 pulls positions
  toward the centre);
- where the misdetections through the true cameras land: on which class of other object (a native dataset's
  objects, a labelled folder's "distractors"), against how often that class appears.
`--sheet` draws the 24 worst images: true centre (green circle), heatmap read-out (red cross).
"""

from __future__ import annotations

import argparse
from collections import Counter

import cv2
import numpy as np
import torch
from torch import Tensor

from domrand.tasks.pose.data import folder_cameras, load_folder, load_native, native_cameras, to_input
from domrand.tasks.pose.infer import load_model, predictions
from domrand.tasks.pose.model import peak_soft_argmax, soft_argmax


def true_uv(records: list[dict], positions: Tensor) -> Tensor:
    """(N, 2) image points in [-1, 1] (pixel-edge convention) of the true centres, through each record's camera."""
    out = []
    for r, p in zip(records, positions.numpy()):
        c = r["camera"]
        w2c = np.linalg.inv(np.asarray(c["cam_to_world"]))
        x, y, z = w2c[:3, :3] @ p + w2c[:3, 3]
        u, v = c["fx"] * x / z + c["cx"], c["fy"] * y / z + c["cy"]
        out.append([(u + 0.5) / c["width"] * 2 - 1, (v + 0.5) / c["height"] * 2 - 1])
    return torch.tensor(out, dtype=torch.float32)


def report(name: str, pred: Tensor, positions: Tensor) -> np.ndarray:
    """Print the error of positions `pred` (N, 3) against `positions` (N, 3), metres: mean, median, p95 and the mean
    error vector (x, y) over all images and over those under 5 cm (a bias the misdetections do not hide). Returns
    the errors (N,)."""
    d = (pred - positions).numpy()
    err = np.linalg.norm(d, axis=1)
    near = d[err < 0.05].mean(0) if (err < 0.05).any() else np.full(3, np.nan)
    print(
        f"{name:40s} mean {100 * err.mean():5.2f}  median {100 * np.median(err):5.2f}  p95 {100 * np.percentile(err, 95):5.2f} cm;"
        f" mean vector x {100 * d[:, 0].mean():+.2f} y {100 * d[:, 1].mean():+.2f}"
        f" (under 5 cm: x {100 * near[0]:+.2f} y {100 * near[1]:+.2f}) cm"
    )
    return err


def camera_bias(model, images: Tensor, positions: Tensor, known) -> Tensor:
    """Print what the model's camera estimate adds to its heatmap point through the true cameras (`known`), both
    read out as `domrand evaluate pose` does: an affine fit d = A t + b of the xy offset d on the true xy position
    t (about the origin). Returns the positions through the true cameras (N, 3)."""
    pred, true_cam = predictions(model, images), predictions(model, images, camera=known)
    ok = ((true_cam - positions).norm(dim=1) < 0.05).numpy()
    d, t = (pred - true_cam).numpy()[ok, :2], positions.numpy()[ok, :2]
    off, scale, spread = affine_offset(d, t)
    print(
        f"camera estimate against the true camera ({ok.sum()} images): mean offset x {100 * off[0]:+.2f}"
        f" y {100 * off[1]:+.2f} cm, scale about the origin {scale:.3f},"
        f" residual spread x {100 * spread[0]:.2f} y {100 * spread[1]:.2f} cm"
    )
    return true_cam


def others(data: str, records: list[dict] | None) -> list[list[dict]]:
    """Each image's other objects as {"class", "extent_m" (largest), "position"}: a native dataset's non-target
    objects, or a labelled folder's "distractors" records (the reality-gap sets' version 2)."""
    if records is not None:
        return [r.get("distractors", []) for r in records]
    from domrand.io import NativeDataset

    ds = NativeDataset(data, fields=("rgb",))
    return [
        [
            {"class": o["class"], "extent_m": round(max(o["extents"]), 2), "position": o["position"]}
            for o in ds.label(i)["objects"]
            if o["role"] != "target"
        ]
        for i in range(len(ds))
    ]


def misdetections(pred: np.ndarray, positions: np.ndarray, objects: list[list[dict]]) -> tuple[Counter, int, Counter]:
    """Where the predictions (N, 3) over 5 cm from the true positions (N, 3) land: on another object (its centre
    within 5 cm in xy), counted by (class, largest extent), or elsewhere; and how often each class appears."""
    on, elsewhere = Counter(), 0
    for i in np.flatnonzero(np.linalg.norm(pred - positions, axis=1) > 0.05):
        near = [(np.linalg.norm(np.asarray(o["position"][:2]) - pred[i, :2]), o) for o in objects[i]]
        dist, o = min(near, key=lambda t: t[0]) if near else (np.inf, None)
        if dist < 0.05:
            on[(o["class"], o["extent_m"])] += 1
        else:
            elsewhere += 1
    return on, elsewhere, Counter(o["class"] for objs in objects for o in objs)


def affine_offset(d: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Offsets d (N, 2) of estimated from true positions t (N, 2), both metres: their mean (2,), the scale about
    the origin of the least-squares affine fit d = t A + b (1 + trace(A) / 2: under 1 pulls toward the origin),
    and the standard deviation (2,) of what the fit leaves."""
    d, t = np.asarray(d, np.float64), np.asarray(t, np.float64)
    x = np.c_[t, np.ones(len(t))]
    coef, *_ = np.linalg.lstsq(x, d, rcond=None)
    return d.mean(0), float(1 + np.trace(coef[:2]) / 2), (d - x @ coef).std(0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("data")
    ap.add_argument("--sheet", help="PNG of the 24 worst images")
    args = ap.parse_args()
    model, _ = load_model(args.checkpoint)
    size = model.config.image_size
    try:
        images, positions, _, uv_true = load_native(args.data, size, with_uv=True)
        known, records = native_cameras(args.data), None
    except ValueError:
        images, positions, records = load_folder(args.data, size)
        uv_true = true_uv(records, positions)
        known = folder_cameras(records)
    preds, heats, contexts = [], [], []
    with torch.no_grad():
        for i in range(0, len(images), 200):
            heat, context = model.features(to_input(images[i : i + 200]))
            norm = model.locate(model.read_out(heat), context)[0]  # one view, as forward_train
            preds.append(norm * model.scale + model.mean)
            heats.append(heat)
            contexts.append(context)
        pred, heat = torch.cat(preds), torch.cat(heats)
        uv_soft, uv_peak = soft_argmax(heat), peak_soft_argmax(heat, 3)

        e = report("model", pred, positions)
        report("heatmap soft-argmax, nominal camera", model.back_project(uv_soft), positions)
        report("heatmap peak, nominal camera", model.back_project(uv_peak), positions)
        report("true image point, nominal camera", model.back_project(uv_true), positions)
        # the learnt correction at the true image point: the camera estimate's own bias, without the heatmap's error
        at_true = model.locate(uv_true, torch.cat(contexts))[0] * model.scale + model.mean
        report("true image point, learnt correction", at_true, positions)
    uv_model = uv_peak if model.config.readout == "peak" else uv_soft  # what the model reads out
    px = ((uv_model - uv_true).norm(dim=1) * 64).numpy()
    print(f"heatmap to true image point (px at 128): median {np.median(px):.2f}  p95 {np.percentile(px, 95):.2f}")
    print(f"model error over 5 cm: {(e > 0.05).mean():.1%}; mean of the rest {100 * e[e <= 0.05].mean():.2f} cm")
    true_cam = camera_bias(model, images, positions, known)
    on, elsewhere, seen = misdetections(true_cam.numpy(), positions.numpy(), others(args.data, records))
    by_class: dict[str, list[float]] = {}  # class -> the largest extent (m) of each object a misdetection is on
    for (c, extent), n in on.most_common():
        by_class.setdefault(c, []).extend([extent] * n)
    print(
        f"misdetections through the true cameras: {sum(on.values()) + elsewhere}; on another object {sum(on.values())},"
        f" elsewhere {elsewhere}; by class (misdetections / appearances, largest extents in m): "
        + ", ".join(
            f"{c} {len(e)}/{seen[c]} ({min(e):.2f}-{max(e):.2f})"
            for c, e in sorted(by_class.items(), key=lambda t: -len(t[1]))
        )
    )
    if args.sheet:
        tiles = []
        for i in np.argsort(-e)[:24]:
            im = cv2.resize(
                cv2.cvtColor(images[i].numpy(), cv2.COLOR_RGB2BGR), (256, 256), interpolation=cv2.INTER_NEAREST
            )
            (tu, tv), (pu, pv) = ((uv_true[i] + 1) * 128).tolist(), ((uv_model[i] + 1) * 128).tolist()
            cv2.circle(im, (int(tu), int(tv)), 8, (0, 255, 0), 2)
            cv2.drawMarker(im, (int(pu), int(pv)), (0, 0, 255), cv2.MARKER_CROSS, 14, 2)
            cv2.putText(im, f"{100 * e[i]:.0f} cm", (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
            tiles.append(im)
        tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 6)
        cv2.imwrite(args.sheet, np.concatenate([np.concatenate(tiles[k : k + 6], 1) for k in range(0, len(tiles), 6)]))


if __name__ == "__main__":
    main()
