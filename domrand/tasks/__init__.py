"""The papers' tasks, each in one room: `pose` (Tobin et al. 2017) and `grasp` (Tobin et al. 2018).

Each has its model, data, trainer, inference and evaluation; `checkpoint` and `device` are shared by both.
"""
