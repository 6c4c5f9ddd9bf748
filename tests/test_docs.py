"""Every example in a public docstring runs and prints what it says (examples marked +SKIP need a GPU,
a cluster or minutes of work)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import domrand.generators
import pytest

import domrand

MODULES = sorted(
    {m.name for m in pkgutil.walk_packages(domrand.__path__, "domrand.")}
    | {m.name for m in pkgutil.walk_packages(domrand.generators.__path__, "domrand.generators.")}
)


def test_the_package_walk_finds_the_modules_with_examples():
    assert {"domrand.io.rle", "domrand.scene", "domrand.generators.textures"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {name} failed"
