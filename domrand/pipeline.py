"""The data flow of one batch: randomizers.sample -> randomizers.apply -> renderer -> image randomizers.

A `Pipeline` knows randomizers only as a `Compose` (names and order are the caller's: `DatasetConfig.pipeline`
builds it from a configuration), a world that makes the base scenes, and a renderer configuration.

Example:
    >>> import torch
    >>> from domrand.config import load_config
    >>> pipe = load_config(overrides={"image_size": 32}).pipeline()
    >>> params = pipe.sample(2, rng=torch.Generator().manual_seed(0))
    >>> frame = pipe.render(params)
    >>> tuple(frame.rgb.shape), tuple(frame.instance.shape)
    ((2, 32, 32, 3), (2, 32, 32))
"""

from __future__ import annotations

from typing import Protocol

import torch

from domrand.frame import Frame
from domrand.params import Params
from domrand.randomizers import Compose
from domrand.render import RenderConfig, Renderer, distortion
from domrand.scene import SceneBatch
from domrand.world import TARGET


class World(Protocol):
    """What a pipeline needs of a world: the unrandomized scenes."""

    def base_scene(self, n: int, size: tuple[int, int]) -> SceneBatch: ...


class Pipeline:
    """Randomizers, a world and a renderer turned into batches of rendered frames.

    Args:
        compose: the scene and image randomizers, in order.
        world: makes the base scenes (`TableWorld`).
        image_size: (H, W) pixels.
        render: renderer settings (shadows, supersampling, max_batch, backend).
        device: where scenes are rendered; frames come back on the CPU.
    """

    def __init__(
        self,
        compose: Compose,
        world: World,
        image_size: tuple[int, int],
        render: RenderConfig,
        device: str | torch.device = "cpu",
    ) -> None:
        self.compose, self.world, self.image_size = compose, world, (int(image_size[0]), int(image_size[1]))
        self.device = torch.device(device)
        self.renderer = Renderer(render)

    def sample(self, n: int, *, rng: torch.Generator) -> dict[str, Params]:
        """Draw the parameters of n images (on the CPU)."""
        return self.compose.sample(n, rng=rng)

    def scene(self, params: dict[str, Params]) -> SceneBatch:
        """The scenes that `params` describe (pure: the same params give the same scenes)."""
        n = next(iter(params.values())).batch_size if params else 1
        return self.compose.apply(self.world.base_scene(n, self.image_size), params)

    def render(self, params: dict[str, Params]) -> Frame:
        """Render and post-process the images that `params` describe."""
        scene = self.scene(params)
        objects = torch.arange(scene.instances.mesh.shape[1]) >= TARGET
        if scene.camera.distortion is not None:  # a pinhole canvas over the lens's field, warped through the lens
            flat, kc = distortion.canvas(scene)
            out = self.renderer.render(flat.to(self.device), silhouettes=objects.to(self.device)).to("cpu")
            assert out.silhouette is not None
            rgb, depth, instance, sil = distortion.warp(out.rgb, out.depth, out.instance, out.silhouette, scene, kc)
        else:
            out = self.renderer.render(scene.to(self.device), silhouettes=objects.to(self.device)).to("cpu")
            assert out.silhouette is not None  # asked for above
            rgb, depth, instance, sil = out.rgb, out.depth, out.instance, out.silhouette
        images = self.compose.apply_images({"rgb": rgb, "depth": depth}, params)
        return Frame(images["rgb"], images["depth"], instance, depth, scene, sil)
