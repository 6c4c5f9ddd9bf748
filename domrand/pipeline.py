"""The data flow of one batch: randomizers.sample -> randomizers.apply -> renderer -> post-processing.

Example:
    >>> import torch
    >>> from domrand.config import load_config
    >>> pipe = Pipeline(load_config(overrides={"image_size": 32}))
    >>> params = pipe.sample(2, rng=torch.Generator().manual_seed(0))
    >>> frame = pipe.render(params)
    >>> tuple(frame.rgb.shape), tuple(frame.instance.shape)
    ((2, 32, 32, 3), (2, 32, 32))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from domrand.config import DatasetConfig
from domrand.params import Params
from domrand.randomizers import Compose
from domrand.render import RenderConfig, Renderer
from domrand.scene import SceneBatch
from domrand.world import TARGET


@dataclass(frozen=True, eq=False)
class Frame:
    """A rendered, post-processed batch and the scene it came from.

    Attributes:
        rgb: (B, H, W, 3) float32 in [0, 1], after image noise.
        depth: (B, H, W) float32 metres along the optical axis (0: no surface), after depth noise.
        instance: (B, H, W) int32 slot per pixel, -1 for background.
        clean_depth: (B, H, W) float32 depth before depth noise (labels use it).
        scene: the `SceneBatch` (on the CPU).
        silhouette: (B, K) int64 unoccluded silhouette areas of the object slots (target and up).
    """

    rgb: Tensor
    depth: Tensor
    instance: Tensor
    clean_depth: Tensor
    scene: SceneBatch
    silhouette: Tensor | None = None


class Pipeline:
    """A dataset configuration turned into batches of rendered frames."""

    def __init__(
        self, config: DatasetConfig, device: str | torch.device = "cpu", backend: str = "auto", max_batch: int = 64
    ) -> None:
        self.config = config
        self.device = torch.device(device)
        c = config
        scene_r = [
            (n, getattr(c, n))
            for n in ("camera", "lighting", "placement", "textures", "materials")
            if getattr(c, n) is not None
        ]
        image_r = [(n, getattr(c, n)) for n in ("noise", "depth_noise") if getattr(c, n) is not None]
        self.compose = Compose(scene=tuple(scene_r), image=tuple(image_r))
        rs = c.render
        self.renderer = Renderer(
            RenderConfig(
                shadows=rs.shadows,
                shadow_map_size=rs.shadow_map_size,
                supersample=rs.supersample,
                max_batch=max_batch,
                backend=backend,
            )
        )

    def sample(self, n: int, *, rng: torch.Generator) -> dict[str, Params]:
        """Draw the parameters of n images (on the CPU)."""
        return self.compose.sample(n, rng=rng)

    def scene(self, params: dict[str, Params]) -> SceneBatch:
        """The scenes that `params` describe (pure: the same params give the same scenes)."""
        n = next(iter(params.values())).batch_size if params else 1
        size = (self.config.image_size, self.config.image_size)
        return self.compose.apply(self.config.world.base_scene(n, size), params)

    def render(self, params: dict[str, Params]) -> Frame:
        """Render and post-process the images that `params` describe."""
        scene = self.scene(params)
        objects = torch.arange(scene.instances.mesh.shape[1]) >= TARGET
        out = self.renderer.render(scene.to(self.device), silhouettes=objects.to(self.device)).to("cpu")
        images = self.compose.apply_images(
            {"rgb": out.rgb, "depth": out.depth}, params, {"noise": "rgb", "depth_noise": "depth"}
        )
        return Frame(images["rgb"], images["depth"], out.instance, out.depth, scene, out.silhouette)
