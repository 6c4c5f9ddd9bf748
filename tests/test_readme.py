"""The README's Python examples run as written (in a scratch folder holding the files they name)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")  # headless, as in tests/sims (set before mujoco is imported)

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
ROBOT_XML = """<mujoco><worldbody><light pos="0 0 3"/><camera name="c" pos="0 -1 1" xyaxes="1 0 0 0 1 1"/>
<geom type="plane" size="1 1 .1"/><body pos="0 0 .2"><joint type="free"/><geom type="box" size=".05 .05 .05"/>
</body></worldbody></mujoco>"""


def test_the_readme_has_the_examples_this_file_runs():
    assert len(BLOCKS) == 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    block = BLOCKS[index]
    monkeypatch.chdir(tmp_path)
    if "import mujoco" in block or "gymnasium" in block:
        pytest.importorskip("mujoco")
    if "pybullet" in block:
        pytest.importorskip("pybullet")
    if "NativeDataset(" in block:
        from domrand.config import load_config
        from domrand.generate import GenerateOptions, generate

        generate(load_config(), GenerateOptions(out="out/tabletop", num=4, quiet=True))
    (tmp_path / "my_robot.xml").write_text(ROBOT_XML)
    exec(compile(block, f"README.md python block {index + 1}", "exec"), {"__name__": "readme"})


def test_regression_readme_and_presets_linked_to_shared():
    """The task specs live in the repository (experiments/tasks/); nothing a user reads points outside it."""
    root = README.parent
    files = [
        README,
        *root.glob("domrand/**/*.py"),
        *root.glob("domrand/presets/*.yaml"),
        *root.glob("experiments/**/*.md"),
    ]
    offenders = [str(p.relative_to(root)) for p in files if "shared/" in p.read_text()]
    assert not offenders, offenders
    assert (root / "experiments" / "tasks" / "localization.md").is_file()
    assert (root / "experiments" / "tasks" / "grasping.md").is_file()
