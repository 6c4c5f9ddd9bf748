"""experiments/grasping's trial-speed study (grasp_recipes/throughput.py): its MuJoCo rebuild of the grasp trial
judges hand cases as the PyBullet reference does, and the reference's knobs the study turns are restored."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from grasp_objects import box

from domrand.tasks.grasp import sim as sim_module
from domrand.tasks.grasp.sim import Grasp, GraspSim

os.environ.setdefault("MUJOCO_GL", "egl")  # headless, as in tests/sims (set before mujoco is imported)
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments" / "grasping"))
from grasp_recipes import throughput  # noqa: E402  (experiments/grasping is on the path above)

pytest.importorskip("mujoco")
pytest.importorskip("pybullet")


@pytest.mark.parametrize(
    "size, yaw, lifted",
    [
        ((0.04, 0.06, 0.05), 0.0, True),  # closing across the 4 cm side: held
        ((0.10, 0.04, 0.05), 0.0, False),  # across 10 cm, wider than the opening: the fingers land on it
        ((0.10, 0.04, 0.05), np.pi / 2, True),  # the same box turned a quarter: across its 4 cm side
    ],
)
def test_mujoco_trial_judges_hand_cases_as_the_reference(size, yaw, lifted):
    obj = box(*size)
    ref = GraspSim()
    try:
        ref.load(obj)
        rest = ([0.0, 0.0, size[2] / 2], [0.0, 0.0, 0.0, 1.0])  # lying flat at the origin
        ref.rest = rest
        g = Grasp(0.0, 0.0, size[2] / 2, yaw, 0.085)
        assert ref.grasp(g).success is lifted
    finally:
        ref.close()
    assert throughput.MujocoTrial(obj, rest).grasp(g) is lifted


def test_hold_seconds_restores_the_task_hold():
    before = sim_module.HOLD_S
    with throughput.hold_seconds(0.5):
        assert sim_module.HOLD_S == 0.5
    assert sim_module.HOLD_S == before == 1.0
