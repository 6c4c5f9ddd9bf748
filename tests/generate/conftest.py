"""Fixtures of the generate tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def render_sizes(monkeypatch) -> list[int]:
    """The batch size of every `Renderer.render` call made while the test runs, in order."""
    from domrand.render.renderer import Renderer

    sizes: list[int] = []
    render = Renderer.render

    def counted(self, scene, *a, **k):
        sizes.append(int(scene.instances.mesh.shape[0]))
        return render(self, scene, *a, **k)

    monkeypatch.setattr(Renderer, "render", counted)
    return sizes
