"""The grasping experiments' recipes, one module per family (`run.py` is their command line)."""
