"""Dataset formats: native shards (`NativeDataset`, `collate` for a DataLoader), the labelled folder
(`read_labels_folder`, `write_labels_folder`), COCO, BOP, YOLO."""

from domrand.io.jsonl import read_labels_folder, write_labels_folder
from domrand.io.native import NativeDataset, collate

__all__ = ["NativeDataset", "collate", "read_labels_folder", "write_labels_folder"]
