"""Lighting: directions on a hemisphere and colours from a colour temperature.

Example:
    >>> import torch
    >>> d = hemisphere(torch.tensor([0.0]), torch.tensor([1.5707963]))
    >>> [round(v, 3) for v in d[0].tolist()]
    [0.0, 0.0, 1.0]
    >>> [round(v, 2) for v in kelvin_to_rgb(torch.tensor([6500.0]))[0].tolist()]
    [1.0, 1.0, 0.98]
"""

from __future__ import annotations

import torch
from torch import Tensor


def hemisphere(azimuth: Tensor, elevation: Tensor) -> Tensor:
    """(..., 3) unit vectors at `azimuth` (from +x towards +y) and `elevation` (above the xy-plane), radians."""
    ce = elevation.cos()
    return torch.stack([ce * azimuth.cos(), ce * azimuth.sin(), elevation.sin()], -1)


def kelvin_to_rgb(kelvin: Tensor) -> Tensor:
    """(..., 3) RGB in [0, 1], normalised so the largest channel is 1, of black-body light at `kelvin` K.

    Uses Tanner Helland's fit of the CIE black-body locus, valid for 1,000 K to 40,000 K.
    """
    t = kelvin.clamp(1000, 40000) / 100
    r = torch.where(t <= 66, torch.full_like(t, 255.0), 329.698727446 * (t - 60).clamp_min(1e-6).pow(-0.1332047592))
    g = torch.where(
        t <= 66, 99.4708025861 * t.log() - 161.1195681661, 288.1221695283 * (t - 60).clamp_min(1e-6).pow(-0.0755148492)
    )
    b = torch.where(
        t >= 66,
        torch.full_like(t, 255.0),
        torch.where(t <= 19, torch.zeros_like(t), 138.5177312231 * (t - 10).clamp_min(1e-6).log() - 305.0447927307),
    )
    rgb = torch.stack([r, g, b], -1).clamp(0, 255) / 255
    return rgb / rgb.amax(-1, keepdim=True)
