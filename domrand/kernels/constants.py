"""Constants that a compiled kernel and its torch twin must share (plain Python: importing this loads no numba)."""

__all__ = ["MARGIN", "SHADOW_BIAS_TEXELS", "SHADOW_SLOPE_TEXELS"]

#: The canvas reaches this many image sizes beyond each border of the image (the BOP toolkit's
#: `calc_gt_info.py` renders at 3W x 3H): silhouettes are measured on it.
MARGIN = 1
SHADOW_BIAS_TEXELS = 1.5  # constant shadow-map depth bias, in shadow-map texels
SHADOW_SLOPE_TEXELS = 3.0  # slope-scaled shadow-map depth bias, texels at grazing light
