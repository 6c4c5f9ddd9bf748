"""Contact sheets: tiles in rows, written as one PNG (the previews of datasets and of grasp-label folders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from domrand.io.images import encode_png


def write_sheet(tiles: list[np.ndarray], columns: int, out: Path) -> Path:
    """Tiles (each (H, W, 3) uint8, all one size) in rows of `columns` on white, written as a PNG at `out`."""
    th, tw = tiles[0].shape[:2]
    rows = (len(tiles) + columns - 1) // columns
    sheet = np.full((rows * (th + 2), columns * (tw + 2), 3), 255, dtype=np.uint8)
    for n, t in enumerate(tiles):
        r, c = divmod(n, columns)
        sheet[r * (th + 2) : r * (th + 2) + th, c * (tw + 2) : c * (tw + 2) + tw] = t
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(encode_png(sheet))
    return out
