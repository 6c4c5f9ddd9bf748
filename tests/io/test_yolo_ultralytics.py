"""The YOLO output trains with Ultralytics for one epoch, from model YAMLs (no downloaded weights).

Optional: set DOMRAND_ULTRALYTICS to a Python that has `ultralytics` (its own virtual environment: the
registry's torchvision is a CUDA build that does not import beside the CPU torch wheel, so it cannot live
in domrand's environment). Without it the test is skipped; the README's "Formats" section has the commands.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from domrand.config import load_config
from domrand.generate import GenerateOptions, generate

PYTHON = os.environ.get("DOMRAND_ULTRALYTICS")

SCRIPT = """
import sys
from ultralytics import YOLO
root, project = sys.argv[1], sys.argv[2]
for task, data, model in (("segment", f"{root}/yolo/data.yaml", "yolov8n-seg.yaml"),
                          ("pose", f"{root}/yolo/pose/data.yaml", "yolov8n-pose.yaml")):
    YOLO(model).train(data=data, epochs=1, imgsz=64, batch=8, device="cpu", workers=0, plots=False,
                      project=project, name=task, exist_ok=True, verbose=False)
    print("trained", task)
"""


@pytest.mark.skipif(not PYTHON, reason="set DOMRAND_ULTRALYTICS to a Python with ultralytics")
def test_ultralytics_trains_one_epoch_on_the_yolo_output(tmp_path):
    out = tmp_path / "ds"
    generate(load_config(overrides={"image_size": 64}), GenerateOptions(out=out, num=32, formats=("yolo",), quiet=True))
    run = subprocess.run(
        [PYTHON, "-c", SCRIPT, str(out), str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-3000:]
    assert "trained segment" in log and "trained pose" in log and " 0 corrupt" in log, log[-3000:]
