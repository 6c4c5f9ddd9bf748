"""`Frame`: a rendered, post-processed batch and the scene it came from (what labels and writers read).

Example:
    >>> import torch
    >>> quantize(torch.tensor([0.0, 0.5, 1.0, 1.2])).tolist()
    [0, 128, 255, 255]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from domrand.scene import SceneBatch
from domrand.silhouettes import Silhouettes


@dataclass(frozen=True, eq=False)
class Frame:
    """A rendered, post-processed batch and the scene it came from.

    Attributes:
        rgb: (B, H, W, 3) float32 in [0, 1], after image noise.
        depth: (B, H, W) float32 metres along the optical axis (0: no surface), after depth noise.
        instance: (B, H, W) int32 slot per pixel, -1 for background.
        clean_depth: (B, H, W) float32 depth before depth noise (labels use it).
        scene: the `SceneBatch` (on the CPU).
        silhouette: the unoccluded silhouettes of the object slots (target and up), in and around the image.
    """

    rgb: Tensor
    depth: Tensor
    instance: Tensor
    clean_depth: Tensor
    scene: SceneBatch
    silhouette: Silhouettes

    def rgb_uint8(self) -> Tensor:
        """(B, H, W, 3) uint8: `rgb` quantised as every image domrand writes is (see `quantize`)."""
        return quantize(self.rgb)


def quantize(x: Tensor) -> Tensor:
    """Values in [0, 1] (any shape, float) -> uint8 0..255, rounded half up and clipped: `(x * 255 + 0.5)`."""
    return (x * 255 + 0.5).clamp(0, 255).to(torch.uint8)
