"""Constants that a compiled kernel and its torch twin must share (plain Python: importing this loads no numba,
and no torch)."""

from domrand.silhouettes import MARGIN  # silhouettes are measured on a canvas around the image

__all__ = ["MARGIN", "SHADOW_BIAS_TEXELS", "SHADOW_SLOPE_TEXELS"]

SHADOW_BIAS_TEXELS = 1.5  # constant shadow-map depth bias, in shadow-map texels
SHADOW_SLOPE_TEXELS = 3.0  # slope-scaled shadow-map depth bias, texels at grazing light
