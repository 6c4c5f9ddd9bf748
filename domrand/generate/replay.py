"""Replay one image of a dataset from its stored randomization parameters: the same pixels, rebuilt.

Every image's parameters are stored with it (native arrays, and each record's "params" in labels.jsonl).
`replay` reads them back (`Params.from_rows`), builds the dataset's pipeline from its recorded
configuration, renders that one image and quantises it as `generate` does, so the result equals the
stored image byte for byte (the render batch size never changes a pixel).

Example:
    >>> from domrand.generate.replay import replay                  # doctest: +SKIP
    >>> r = replay("out/tabletop", index=5)                         # doctest: +SKIP
    >>> r.rgb.shape, r.matches_stored                               # doctest: +SKIP
    ((128, 128, 3), True)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from domrand.config import from_data
from domrand.params import Params


@dataclass(frozen=True, eq=False)
class Replayed:
    """One image rendered again from its parameters.

    Attributes:
        rgb: (H, W, 3) uint8. depth: (H, W) float32 metres (after depth noise, as stored). instance: (H, W)
            int16 slot per pixel, -1 where no surface.
        params: {randomizer: Params} of the one image.
        record: the image's stored record (labels.jsonl line or native record).
        matches_stored: whether rgb, depth and instance equal the stored arrays byte for byte (None where
            the dataset has no native arrays to compare with).
    """

    rgb: np.ndarray
    depth: np.ndarray
    instance: np.ndarray
    params: dict[str, Params]
    record: dict[str, Any]
    matches_stored: bool | None


def _record(root: Path, manifest: dict[str, Any], index: int) -> tuple[dict[str, Any], Any]:
    """The stored record of image `index` and, with native arrays, the dataset to compare against."""
    if "native" in manifest["formats"]:
        from domrand.io.native import NativeDataset

        ds = NativeDataset(root)
        return ds.label(index), ds
    if "jsonl" in manifest["formats"]:
        with open(root / "labels.jsonl") as f:
            for n, line in enumerate(f):
                if n == index:
                    return json.loads(line), None
    raise ValueError(f"dataset {str(root)!r} stores its parameters in native or jsonl, and has neither")


def replay(root: str | Path, index: int, device: str = "cpu") -> Replayed:
    """Render image `index` of the dataset at `root` again from its stored parameters.

    Raises:
        ValueError: no dataset at `root`, or `index` outside it.
    """
    root = Path(root)
    path = root / "manifest.json"
    if not path.is_file():
        raise ValueError(f"{str(root)!r} is not a domrand dataset (no manifest.json)")
    manifest = json.loads(path.read_text())
    n = int(manifest["num_images"])
    if not (isinstance(index, int) and 0 <= index < n):
        raise ValueError(f"--index must be in [0, {n - 1}] for this {n}-image dataset, got {index!r}")
    config = from_data(manifest["config"])
    pipeline = config.pipeline(device=device, max_batch=1)
    record, stored = _record(root, manifest, index)
    rows = record["params"]
    params = {}
    for name, r in pipeline.compose.scene + pipeline.compose.image:
        if name not in rows:
            raise ValueError(f"image {index} has no stored parameters for randomizer {name!r}")
        params[name] = r.params_type.from_rows([rows[name]])
    frame = pipeline.render(params)
    rgb = frame.rgb_uint8()[0].numpy()
    depth = frame.depth[0].numpy().astype(np.float32)
    instance = frame.instance[0].numpy().astype(np.int16)
    match = None
    if stored is not None:
        match = all(
            np.array_equal(a, stored.array(index, k))
            for a, k in ((rgb, "rgb"), (depth, "depth"), (instance, "instance"))
        )
    return Replayed(rgb, depth, instance, params, record, match)
