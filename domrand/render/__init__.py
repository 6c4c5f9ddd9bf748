"""The batched renderer: `Renderer(RenderConfig()).render(scene) -> RenderOutput`."""

from domrand.render.renderer import RenderConfig, Renderer, RenderOutput

__all__ = ["RenderConfig", "RenderOutput", "Renderer"]
