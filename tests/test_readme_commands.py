"""The README's shell commands: every `domrand` command line parses as written (each flag exists, each value
has its type), and those that finish in seconds run as written in a scratch folder."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from domrand.cli import main, parser

README = Path(__file__).resolve().parents[1] / "README.md"
ROOT = README.parent


def domrand_lines() -> list[str]:
    """Every `domrand ...` command of the README's bash blocks (comments and `&&` chains split off)."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith("domrand ") and "..." not in part:
                    out.append(part)
    return out


LINES = domrand_lines()


def test_the_readme_has_the_commands_this_file_checks():
    assert len(LINES) >= 25


@pytest.mark.parametrize("line", LINES)
def test_readme_command_parses_as_written(line):
    args = parser().parse_args(shlex.split(line)[1:])
    assert callable(args.func)


#: Commands that finish in seconds, run as written (in this order: later ones read what earlier ones wrote).
QUICK = [
    "domrand generate --num 64 --size 128 --out data/cube --seed 0",
    "domrand preview data/cube --count 16",
    "domrand info data/cube",
    "domrand generate --num 1000 --size 128 --seed 1 --out data/cube_test",
]


def test_the_quick_commands_are_in_the_readme_or_scaled_from_it():
    text = README.read_text()
    for line in QUICK[1:]:
        assert line in text, line
    assert "domrand generate --num 20000 --size 128 --out data/cube" in text  # QUICK[0], at 64 images


def test_quick_readme_commands_run_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for line in QUICK:
        assert main(shlex.split(line)[1:] + (["--quiet"] if line.startswith("domrand generate") else [])) == 0, line
    assert (tmp_path / "data" / "cube" / "preview.png").is_file()
    ck = ROOT / "experiments" / "localization" / "checkpoints" / "cube.pt"
    capsys.readouterr()
    cmd = f"domrand evaluate pose --checkpoint {ck} --data data/cube_test --report cube.json"
    assert main(shlex.split(cmd)[1:]) == 0
    assert (tmp_path / "cube.json").is_file()


OWN_OBJECTS = "domrand generate --config experiments/own_objects/objects.yaml --num 16 --out data/objects --format native,coco,bop"


def test_the_own_objects_command_runs_as_written(tmp_path, monkeypatch):
    """The README's "Your own objects" example from the repository root (its config's mesh paths are relative to
    the config file), into a scratch folder."""
    import json

    assert OWN_OBJECTS in README.read_text()
    monkeypatch.chdir(ROOT)
    args = shlex.split(OWN_OBJECTS)[1:]
    args[args.index("--out") + 1] = str(tmp_path / "objects")
    assert main([*args, "--quiet"]) == 0
    m = json.loads((tmp_path / "objects" / "manifest.json").read_text())
    assert m["object_classes"] == ["mug", "duck", "can"] and m["image_size"] == [480, 640]
