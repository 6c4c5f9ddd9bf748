"""Dataset formats: native shards (`NativeDataset`, `collate` for a DataLoader), the labelled folder
(`read_labels_folder`, `write_labels_folder`), COCO, BOP, YOLO."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["NativeDataset", "collate", "read_labels_folder", "write_labels_folder"]

#: Where each public name lives. Imported on first use: `domrand.io.files` (which every command's error handling
#: imports) must not import torch, or a cold start could not begin compiling before torch is loaded.
_HOME = {"NativeDataset": "native", "collate": "native", "read_labels_folder": "jsonl", "write_labels_folder": "jsonl"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'domrand.io' has no attribute {name!r}")
    return getattr(importlib.import_module(f"domrand.io.{_HOME[name]}"), name)
