"""Evaluation: `domrand evaluate pose` and `domrand evaluate grasp` metrics and reports."""
