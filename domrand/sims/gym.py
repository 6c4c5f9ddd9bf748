"""`DomainRandomizationWrapper`: randomize a Gymnasium environment's MuJoCo or PyBullet simulation on
reset, every step, or every N steps.

Example:
    >>> import gymnasium                                                              # doctest: +SKIP
    >>> from domrand.sims.gym import DomainRandomizationWrapper                       # doctest: +SKIP
    >>> env = DomainRandomizationWrapper(gymnasium.make("Pusher-v5"), seed=0, every="reset")  # doctest: +SKIP
    >>> obs, info = env.reset(seed=1)     # the same reset seed gives the same randomization  # doctest: +SKIP
    >>> env.last_params                   # what was drawn                           # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import gymnasium
import torch

from domrand.rng import derive_seed


def _find_randomizer(env: gymnasium.Env, kwargs: dict[str, Any]) -> Any:
    base = env.unwrapped
    model = getattr(base, "model", None)
    if model is not None and type(model).__module__.startswith("mujoco"):
        from domrand.sims.mujoco import MujocoRandomizer

        return MujocoRandomizer(model, **kwargs)
    for attr in ("_p", "p", "client", "_client", "physics_client"):
        cid = getattr(base, attr, None)
        if isinstance(cid, int):
            from domrand.sims.pybullet import PyBulletRandomizer

            return PyBulletRandomizer(cid, **kwargs)
    raise ValueError(
        f"cannot find a MuJoCo model or PyBullet client in {type(base).__name__}; pass randomizer=... yourself"
    )


class DomainRandomizationWrapper(gymnasium.Wrapper, gymnasium.utils.RecordConstructorArgs):
    """Randomizes the wrapped environment's simulation.

    Args:
        env: a Gymnasium environment backed by MuJoCo (`env.unwrapped.model`) or PyBullet.
        seed: seed of the randomization stream (the wrapper's `rng`); `reset(seed=s)` restarts it from (seed, s),
            so the same reset seed always gives the same randomization.
        every: "reset", "step", or an int N (every N steps, and on reset).
        randomizer: use this randomizer instead of finding one; other keyword arguments configure the
            found one (e.g. `dynamics=False`).
    """

    def __init__(
        self, env: gymnasium.Env, seed: int = 0, every: str | int = "reset", randomizer: Any = None, **kwargs: Any
    ) -> None:
        gymnasium.utils.RecordConstructorArgs.__init__(
            self, seed=seed, every=every, **kwargs
        )  # env specs can rebuild it
        gymnasium.Wrapper.__init__(self, env)
        if not (every in ("reset", "step") or (isinstance(every, int) and not isinstance(every, bool) and every >= 1)):
            raise ValueError(f"every must be 'reset', 'step' or a positive int, got {every!r}")
        self.every = every
        self.base_seed = seed
        self.randomizer = randomizer or _find_randomizer(env, kwargs)
        self.rng = torch.Generator().manual_seed(derive_seed(seed))  # the wrapper's stream: adapters hold none
        self.last_params: Any = None
        self._steps = 0
        self._uploaded_viewers: set[int] = set()

    def _randomize(self) -> None:
        self.last_params = self.randomizer.randomize(rng=self.rng)
        self._sync_viewers()

    def _sync_viewers(self) -> None:
        """Push new textures to Gymnasium's MuJoCo render contexts (created lazily by the env)."""
        renderer = getattr(self.env.unwrapped, "mujoco_renderer", None)
        viewers = getattr(renderer, "_viewers", None) or {}
        attach = getattr(self.randomizer, "attach_renderer", None)
        for viewer in viewers.values():
            if attach is not None and id(viewer) not in self._uploaded_viewers:
                attach(viewer)
                self._uploaded_viewers.add(id(viewer))
        if attach is not None and viewers:
            self.randomizer._upload()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if seed is not None:
            self.rng = torch.Generator().manual_seed(derive_seed(self.base_seed, seed))
        self._steps = 0
        self._randomize()
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self._steps += 1
        if self.every == "step" or (isinstance(self.every, int) and self._steps % self.every == 0):
            self._randomize()
        return self.env.step(action)

    def render(self) -> Any:
        out = self.env.render()
        self._sync_viewers()
        return out

    def close(self) -> None:
        self.randomizer.restore()
        super().close()
