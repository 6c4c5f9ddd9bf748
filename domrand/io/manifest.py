"""`manifest.json`: what made a dataset (seed, chunk size, full config, versions), written once at the start
and marked complete at the end; a resumed run must match it exactly."""

from __future__ import annotations

import json
import platform
from typing import Any

import numpy as np
import torch

import domrand

FORMAT_VERSION = 1
# Keys a resumed run must reproduce exactly.
IDENTITY = (
    "format_version",
    "root_seed",
    "num_images",
    "chunk_size",
    "formats",
    "backend",
    "device",
    "config",
    "versions",
)


def versions() -> dict[str, str]:
    import cv2
    import numba
    import orjson

    return {
        "domrand": domrand.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "opencv": cv2.__version__,  # its PNG encoder makes the depth and mask files' bytes
        "orjson": orjson.__version__,  # writes the labels' JSON (its float digits)
        "python": platform.python_version(),
    }


def build(
    config: dict[str, Any],
    world: dict[str, Any],
    seed: int,
    num_images: int,
    chunk_size: int,
    formats: tuple[str, ...],
    backend: str,
    device: str,
) -> dict[str, Any]:
    """The manifest of a new dataset, from plain data.

    Args:
        config: the full configuration as JSON values (`DatasetConfig.to_json()`).
        world: what the labels refer to: "image_size" [H, W], "slots" (names by slot), "meshes" (names by
            bank index), "target_meshes" [first, stop) bank indices, "classes", "nominal_camera" (fx, fy,
            cx, cy, width, height of the unrandomized camera); in a world of user classes also "object_classes"
            (the labelled classes; the other meshes are distractors).
        seed, num_images, chunk_size: the chunk grid; formats, backend, device: how it is written.
    """
    return {
        "format_version": FORMAT_VERSION,
        "generator": "domrand generate",
        "root_seed": seed,
        "num_images": num_images,
        "chunk_size": chunk_size,
        "num_chunks": (num_images + chunk_size - 1) // chunk_size,
        "formats": list(formats),
        "backend": backend,
        "device": device,
        "image_size": list(world["image_size"]),
        "config": config,
        "versions": versions(),
        "slots": list(world["slots"]),
        "meshes": list(world["meshes"]),
        "target_meshes": list(world["target_meshes"]),
        "classes": list(world["classes"]),
        "nominal_camera": dict(world["nominal_camera"]),
        **({"object_classes": list(world["object_classes"])} if "object_classes" in world else {}),
        "arrays": {
            "rgb": "uint8 (H, W, 3)",
            "depth": "float32 (H, W) metres along the optical axis, 0 where no surface",
            "instance": "int16 (H, W) slot index, -1 background; slots are listed in 'slots'",
        },
        "complete": False,
    }


def read(store: Any) -> dict[str, Any]:
    try:
        return json.loads(store.read("manifest.json"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read the manifest of {store.url!r}: {e}") from None


def write(store: Any, manifest: dict[str, Any]) -> None:
    store.write("manifest.json", (json.dumps(manifest, sort_keys=True, indent=2, allow_nan=False) + "\n").encode())


def check_resumable(old: dict[str, Any], new: dict[str, Any]) -> None:
    """Raise ValueError naming the first setting that differs from the dataset being resumed."""
    for key in IDENTITY:
        if old.get(key) != new.get(key):
            if key == "config":
                diff = _first_difference(old.get(key), new.get(key), "config")
                raise ValueError(f"cannot resume: {diff} differs from the dataset's manifest")
            raise ValueError(
                f"cannot resume: {key} is {new.get(key)!r} but the dataset was started with {old.get(key)!r}"
            )


def _first_difference(a: Any, b: Any, path: str) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{path}.{k}")
    return f"{path} ({b!r} vs {a!r} in the manifest)"


#: What the annotation formats write when a manifest predates the `output` section (`config.OutputSettings`).
OUTPUT_DEFAULTS = {"min_visible_pixels": 0, "coco_segmentation": "rle", "bop_distractors": False}


def output_options(manifest: dict[str, Any]) -> dict[str, Any]:
    """The dataset's `output` settings (min_visible_pixels, coco_segmentation, bop_distractors)."""
    return {**OUTPUT_DEFAULTS, **manifest.get("config", {}).get("output", {})}
