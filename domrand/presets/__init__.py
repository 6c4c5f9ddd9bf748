"""Built-in presets as data: `tabletop.yaml` (localization) and `grasping.yaml` (top-down grasping)."""
