"""`Silhouettes`: what each object would cover with nothing in front of it, in and around the image.

Visibility is measured the BOP toolkit's way (`scripts/calc_gt_info.py`): an object's full silhouette is
drawn on a canvas that extends the image by one image width and height on every side (3W x 3H), so an
object cut by the image border still has its whole area. Visible fraction = visible pixels / `area_full`;
in-frame fraction = `area` / `area_full`.

Example:
    >>> import torch
    >>> s = Silhouettes(torch.tensor([[4]]), torch.tensor([[8]]), torch.tensor([[[-2, 0, 2, 2]]]))
    >>> s.batch_size, s.select(torch.tensor([0])).area_full.tolist()
    (1, [[8]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where a method needs it: the compiled kernels read MARGIN from here, and
    import torch  # checking the compile cache (`kernels.cache_is_cold`) must not wait for torch's import
    from torch import Tensor

#: The canvas reaches this many image sizes beyond each border of the image (the BOP toolkit's
#: `calc_gt_info.py` renders at 3W x 3H). The compiled kernels read it from here.
MARGIN = 1


@dataclass(frozen=True, eq=False)
class Silhouettes:
    """Unoccluded silhouettes of the slots a render was asked to measure (0 for the others).

    Attributes:
        area: (B, K) int64 pixels inside the image.
        area_full: (B, K) int64 pixels on the canvas (the image and `MARGIN` image sizes around it).
        box_full: (B, K, 4) int64 x0, y0, x1, y1 of the canvas pixels in image pixel coordinates (x1, y1
            exclusive; may lie outside the image, down to -W and up to 2W); zeros where `area_full` is 0.
    """

    area: Tensor
    area_full: Tensor
    box_full: Tensor

    @property
    def batch_size(self) -> int:
        return int(self.area.shape[0])

    @staticmethod
    def from_stats(stats: Tensor) -> Silhouettes:
        """From the compiled kernels' (B, K, 6) int64 rows: area, area_full, x0, y0, x1, y1."""
        return Silhouettes(stats[..., 0].clone(), stats[..., 1].clone(), stats[..., 2:6].clone())

    def to(self, device: torch.device | str) -> Silhouettes:
        return Silhouettes(self.area.to(device), self.area_full.to(device), self.box_full.to(device))

    def select(self, idx: Tensor) -> Silhouettes:
        return Silhouettes(self.area[idx], self.area_full[idx], self.box_full[idx])

    @staticmethod
    def cat(parts: list[Silhouettes]) -> Silhouettes:
        import torch

        return Silhouettes(
            torch.cat([p.area for p in parts]),
            torch.cat([p.area_full for p in parts]),
            torch.cat([p.box_full for p in parts]),
        )
