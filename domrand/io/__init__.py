"""Dataset formats: native shards (`NativeDataset`), the labelled folder (`read_labels_folder`), COCO, BOP."""

from domrand.io.jsonl import read_labels_folder
from domrand.io.native import NativeDataset

__all__ = ["NativeDataset", "read_labels_folder"]
