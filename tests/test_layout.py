"""The layout shows the data flow: every import inside `domrand/` points upstream (ARCHITECTURE.md).

The imports are read from the source (every `import` statement, also those inside functions: a lazy
import is still an arrow), so the test needs no package installed and fails on a single wrong arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "domrand"

#: Rooms in data-flow order. A module may import from its own room and from rooms of lower rank;
#: two rooms of one rank know nothing of each other.
RANKS = {
    "values": 0,  # dist, params, rng, scene, silhouettes, world (and users' meshes and objects), frame, the package
    "kernels": 1,
    "physics": 1,  # PyBullet settling for placement: drop
    "randomizers": 2,
    "render": 2,
    "labels": 3,
    "pipeline": 3,
    "io": 4,
    "config": 5,
    "presets": 5,
    "generate": 6,
    "tasks": 7,
    "sims": 7,
    "tools": 8,
    "cli": 9,
}
VALUES = {
    "domrand",
    "domrand.dist",
    "domrand.params",
    "domrand.rng",
    "domrand.scene",
    "domrand.silhouettes",
    "domrand.world",
    "domrand.meshfile",
    "domrand.objects",
    "domrand.frame",
    "domrand.cachedir",
}


def module_names(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for p in root.rglob("*.py"):
        parts = ("domrand", *p.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = module_names()


def imports(name: str, modules: dict[str, Path] = MODULES) -> set[str]:
    """The domrand modules that module `name` imports (at any depth of its code)."""
    path = modules[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            out |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    return {m for m in out if m in modules and m != name}


GRAPH = {name: imports(name) for name in MODULES}


def room(name: str) -> str:
    return "values" if name in VALUES else name.split(".")[1]


def reachable(name: str, graph: dict[str, set[str]] = GRAPH) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        for m in graph[todo.pop()] - seen:
            seen.add(m)
            todo.append(m)
    return seen


def test_every_module_is_in_a_room():
    assert {room(m) for m in MODULES} <= set(RANKS), sorted({room(m) for m in MODULES} - set(RANKS))


def test_no_import_circle():
    circles = sorted(m for m in MODULES if m in reachable(m))
    assert not circles, f"modules that import themselves through others: {circles}"


def wrong_arrows(name: str, graph: dict[str, set[str]] = GRAPH) -> list[str]:
    """The modules `name` imports from a room of its own rank or lower in the flow (downstream or beside it)."""
    here = room(name)
    return sorted(m for m in graph[name] if room(m) != here and RANKS[room(m)] >= RANKS[here])


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_upstream(name):
    wrong = wrong_arrows(name)
    assert not wrong, f"{name} ({room(name)}, rank {RANKS[room(name)]}) imports downstream or sideways: {wrong}"


def test_labels_know_neither_the_pipeline_nor_the_renderer():
    bad = {"domrand.pipeline", "domrand.render.renderer", "domrand.generate"}
    assert not (reachable("domrand.labels") & bad), sorted(reachable("domrand.labels") & bad)


@pytest.mark.parametrize("name", sorted(m for m in MODULES if room(m) == "io"))
def test_writers_know_neither_the_config_nor_the_randomizers(name):
    bad = sorted(m for m in reachable(name) if m == "domrand.config" or room(m) == "randomizers")
    assert not bad, f"{name} reaches {bad}"


def test_only_the_cli_sees_argparse():
    users = sorted(
        name
        for name in MODULES
        if room(name) != "cli"
        and "argparse"
        in {
            a.name for n in ast.walk(ast.parse(MODULES[name].read_text())) if isinstance(n, ast.Import) for a in n.names
        }
        | {n.module for n in ast.walk(ast.parse(MODULES[name].read_text())) if isinstance(n, ast.ImportFrom)}
    )
    assert not users, f"argparse outside domrand/cli: {users}"


def test_regression_graph_sees_lazy_and_relative_imports():
    """The walk must not miss an import inside a function: that is how the old circles hid."""
    assert "domrand.tasks.grasp.ranker" in GRAPH["domrand.tasks.grasp.dataset"]  # imported inside focus_ranker


def test_regression_the_checks_catch_the_old_circles_and_arrows(tmp_path):
    """A tree with the layout's old faults (labels importing the pipeline lazily, generate <-> its Ray backend
    through a relative import) is caught by the same functions the tests above use."""
    (tmp_path / "generate").mkdir()
    files = {
        "labels.py": "def compute():\n    from domrand.pipeline import Frame\n",
        "pipeline.py": "import torch\n",
        "generate/__init__.py": "from .ray import run_ray\n",
        "generate/ray.py": "def run_ray():\n    from domrand.generate import ChunkRunner\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).write_text(text)
    modules = module_names(tmp_path)
    graph = {name: imports(name, modules) for name in modules}
    assert "domrand.generate" in reachable("domrand.generate", graph)  # the circle
    assert wrong_arrows("domrand.labels", graph) == ["domrand.pipeline"]  # labels -> pipeline, same rank
