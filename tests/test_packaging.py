"""The wheel holds every package (domrand/ and generators/ as domrand.generators) and the presets."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def packages_in_checkout() -> set[str]:
    out = {
        "domrand." + ".".join(p.parent.relative_to(ROOT / "domrand").parts)
        if p.parent != ROOT / "domrand"
        else "domrand"
        for p in (ROOT / "domrand").rglob("__init__.py")
    }
    out |= {
        ".".join(("domrand", "generators", *p.parent.relative_to(ROOT / "generators").parts))
        for p in (ROOT / "generators").rglob("__init__.py")
    }
    return {p.rstrip(".") for p in out}


@pytest.mark.slow
def test_regression_wheel_missing_io_and_bench_packages(tmp_path):
    """Bug: domrand.io and domrand.bench were left out of the explicit package list; the wheel must
    hold every package of the checkout, installed it must import, and the presets must load."""
    src = tmp_path / "src"  # a clean copy: a stale build/ folder in the checkout would hide missing packages
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", "out", "runs"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(src),
        ],
        check=True,
    )
    wheel = next(tmp_path.glob("domrand-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    in_wheel = {n.rsplit("/", 1)[0].replace("/", ".") for n in names if n.endswith("__init__.py")}
    assert packages_in_checkout() <= in_wheel, sorted(packages_in_checkout() - in_wheel)
    assert "domrand/presets/tabletop.yaml" in names and "domrand/presets/grasping.yaml" in names
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True
    )
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import domrand, domrand.generators.meshes.procedural, domrand.io, domrand.tools.bench, domrand.generate, domrand.tasks.grasp;"
        "from domrand.config import load_config; load_config('grasping'); assert domrand.__file__.startswith(sys.argv[1]), domrand.__file__"
    )
    subprocess.run([sys.executable, "-c", code, str(target)], check=True, cwd=tmp_path)
