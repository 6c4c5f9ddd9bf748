"""The localization experiments' recipes, one module per family (`run.py` is their command line)."""
