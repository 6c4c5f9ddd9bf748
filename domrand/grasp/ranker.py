"""`GraspRanker`: the success probability of a candidate grasp from its rotated height crop and opening.

Example:
    >>> import torch
    >>> GraspRanker()(torch.zeros(3, 2, 32, 32), torch.full((3,), 0.05)).shape
    torch.Size([3])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

HEIGHT_SCALE = 0.05  # metres: heights are divided by this before the first layer


def _block(cin: int, cout: int) -> nn.Sequential:
    """Two 3x3 convolutions with batch norm and ReLU, then 2x2 max pooling."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 1, 1),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, 1, 1),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


class GraspRanker(nn.Module):
    """(B, 2, 32, 32) crops (height relative to the grasp, object mask) and (B,) openings -> (B,) logits."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.width = width
        c = width
        block = _block
        self.features = nn.Sequential(
            block(2, c), block(c, 2 * c), block(2 * c, 4 * c), nn.AdaptiveAvgPool2d(2), nn.Flatten()
        )
        self.head = nn.Sequential(nn.Linear(16 * c + 1, 128), nn.ReLU(), nn.Linear(128, 1))

    def forward(self, crops: Tensor, width: Tensor) -> Tensor:
        x = torch.cat([crops[:, :1] / HEIGHT_SCALE, crops[:, 1:2]], 1)
        return self.head(torch.cat([self.features(x), (width[:, None] - 0.05) / 0.02], 1))[:, 0]
