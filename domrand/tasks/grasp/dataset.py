"""Grasp labels: objects dropped in physics, seen by domrand's renderer, candidate grasps executed.

Per scene: an object (procedural seed, or a mesh file) is dropped from a random pose and rests; its depth
image is rendered with a perturbed top-down camera and depth noise; candidates come from the depth image
(`candidates.sample`, plus both baselines' grasps) and each is executed from the rested state. A chunk of
scenes is written atomically to `chunks/00000k.npz`:

    crops (N, 2, 32, 32) float16   the ranker's input per candidate (see `candidates.crops`)
    grasp (N, 5) float32           x, y, z, yaw, width
    success (N,) bool              the physics outcome
    rate (N,) float32              with `executions` > 1 only: the success rate over the executions (the first
                                   as placed, the others with execution noise, `sim.jittered`)
    scene (N,) int64               scene index; per scene: depth (S, 128, 128) float16 metres (0: no reading),
                                   depth_scene (S,) its scene index, intrinsics (S, 3, 3) and cam_to_world
                                   (S, 4, 4) float32 (OpenCV axes) of its camera, object (S,) index into the
                                   manifest's "objects", extent (S,) the object's largest extent, metres

A grasp (x, y, z, yaw, width) is the task's top-down parallel-jaw grasp in the world frame (z up, metres,
the table top at z = 0): the fingers' centre at (x, y, z) (midway between them, at half their 50 mm height: the
tips are 25 mm lower), the fingers closing along the direction at `yaw` radians from the x axis, opened to
`width` metres before closing. `domrand info` and `domrand preview` read a label folder; `domrand predict grasp`
ranks the candidates of your own depth image.

`manifest.json` records the configuration and object list; reruns finish only missing chunks.

    domrand label grasps --procedural 1000 --scenes 1200 --out data/grasps_1k

Focused labels (`focus`, a ranker checkpoint): of each scene's candidates, the `focus_top` that the ranker scores
highest are executed, beside a random draw of the rest. A ranker executes the argmax of a hundred or more
candidates, so its errors are where it is most confident and wrong; random draws seldom label those. Training on
such labels as well (`load` takes several folders) corrects them, as hard-example mining does.

    domrand label grasps --procedural 1000 --scenes 1600 --seed 2 --focus grasp.pt --out data/grasps_focus

Rate labels (`executions` > 1): each candidate is executed again with 1 mm / 1 deg of execution noise and
labelled with its success rate. A pinch at the edge of the friction cone (a box's corner) succeeds or fails
by chance; one execution labels it a clean success or failure, so a ranker cannot learn which pinches hold
for sure. The trainer fits the rate where a folder has one.

    domrand label grasps --procedural 500 --family random_prism --scenes 800 --executions 3 --out data/rates
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from domrand.generate import pool
from domrand.generators.meshes import procedural
from domrand.rng import derive_seed
from domrand.tasks.grasp import candidates as cand
from domrand.tasks.grasp.objects import SCALE_TO, GraspObject, from_procedural, load_folder, procedural_name
from domrand.tasks.grasp.sim import jittered

TEST_SEED_OFFSET = 1_000_000  # procedural test objects use seeds from here; training seeds stay below


@dataclass(frozen=True)
class GraspDataConfig:
    """What to label.

    Attributes:
        objects: "procedural", or a folder of mesh files.
        num_objects: procedural: seeds [first_seed, first_seed + num_objects).
        first_seed: first procedural seed (training objects stay below TEST_SEED_OFFSET).
        scenes: drops to label. candidates: grasps executed per scene (the sampler's and both baselines').
        scale_to: largest extent of every object, metres. scale_to_max: if set, each scene's object is
            scaled to a largest extent drawn uniformly from [scale_to, scale_to_max] instead (so that a
            ranker learns where the gripper no longer fits every way).
        seed: scenes, drops, cameras and candidates.
        chunk: scenes per file.
        focus: a ranker checkpoint (`domrand train grasp`) or None. If set, the `focus_top` candidates it scores
            highest are among each scene's executed ones, the others a random draw as without it.
        focus_top: how many of the focus ranker's best candidates are executed per scene.
        family: procedural: every object of this family of `procedural.FAMILIES` (None: each seed's own, the
            default mix).
        executions: times each candidate is executed; beyond the first (as placed), with execution noise
            (`sim.jittered`), and the chunk holds each candidate's success rate (`rate`) too.
        clutter: if set, each scene is a pile of 3 to `clutter` objects of the pool settled in the bin of the
            clutter task (experiments/tasks/grasping_clutter.md; objects scaled to its `clutter.EXTENT`, so
            `scale_to` only sizes the pool), labelled with the clutter trial (`clutter.ClutterSim`); the
            baseline candidate is the topmost object's centroid grasp. None: one object per scene.
        bin_check: piles only: the sampled candidates executed are drawn from those whose fingers stay off the
            bin's walls (`clutter.bin_clear`, what the clutter model skips when it chooses), so no execution goes
            to a grasp the model never makes (without it about a third do); the two baselines are executed as
            they are.
        fingertips: piles only: the candidates are sampled as the clutter model's are by default
            (`candidates.grasp_through`'s `fingertips`: the part the fingertips meet, so a box lying flat gets
            some); off, as the labels made before 2026-12-06.
        fast_trial: execute with the fast trial (`sim.GraspSim(fast=True)`: the close and the hold end once
            everything rests, a trial ends once the fingers close on nothing, objects below a held one are taken
            away); it decided as the reference trial did on every grasp of fresh labeller samples (288 of 288 in
            piles, 276 of 276 single objects). Off: the reference trial, as the labels made before 2026-12-07.
    """

    objects: str = "procedural"
    num_objects: int = 1000
    first_seed: int = 0
    scenes: int = 1000
    candidates: int = 24
    scale_to: float = SCALE_TO
    scale_to_max: float | None = None
    seed: int = 0
    chunk: int = 25
    focus: str | None = None
    focus_top: int = 8
    family: str | None = None
    executions: int = 1
    clutter: int | None = None
    bin_check: bool = False
    fingertips: bool = False
    fast_trial: bool = False

    def __post_init__(self) -> None:
        for name in ("num_objects", "scenes", "candidates", "chunk", "executions"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.focus is not None and not 1 <= self.focus_top <= self.candidates - 2:
            raise ValueError(f"focus_top must be in [1, candidates - 2 = {self.candidates - 2}], got {self.focus_top}")
        if not self.scale_to > 0:
            raise ValueError(f"scale_to must be > 0 metres, got {self.scale_to}")
        if self.scale_to_max is not None and not self.scale_to_max >= self.scale_to:
            raise ValueError(f"scale_to_max must be >= scale_to ({self.scale_to}), got {self.scale_to_max}")
        if self.family is not None and self.family not in procedural.FAMILIES:
            raise ValueError(f"unknown procedural family {self.family!r}; known: {sorted(procedural.FAMILIES)}")
        if self.family is not None and self.objects != "procedural":
            raise ValueError(f"family {self.family!r} is for procedural objects, not the folder {self.objects!r}")
        if self.clutter is not None and not self.clutter >= 3:
            raise ValueError(f"clutter must be >= 3 (piles of 3 to K objects), got {self.clutter}")
        if self.bin_check and self.clutter is None:
            raise ValueError("bin_check is for piles (the clutter task's bin): give clutter too")
        if self.fingertips and self.clutter is None:
            raise ValueError("fingertips is for piles (the clutter model's sampler): give clutter too")
        if self.clutter is not None and self.scale_to_max is not None:
            raise ValueError(
                "scale_to_max is for single objects; piles scale each object to the clutter task's extents"
            )
        if self.objects == "procedural" and self.first_seed + self.num_objects > TEST_SEED_OFFSET:
            raise ValueError(f"training procedural seeds must stay below {TEST_SEED_OFFSET}")


class ObjectPool:
    """The objects of a configuration (procedural objects are made on demand)."""

    def __init__(self, cfg: GraspDataConfig) -> None:
        self.cfg = cfg
        self.files: list[GraspObject] = []
        self.skipped: list[dict[str, str]] = []
        if cfg.objects != "procedural":
            self.files, self.skipped = load_folder(cfg.objects, cfg.scale_to)
            if not self.files:
                raise ValueError(f"no usable meshes in {cfg.objects!r}: {self.skipped}")

    def __len__(self) -> int:
        return self.cfg.num_objects if self.cfg.objects == "procedural" else len(self.files)

    def get(self, i: int) -> GraspObject:
        return (
            from_procedural(self.cfg.first_seed + i, self.cfg.scale_to, self.cfg.family)
            if self.cfg.objects == "procedural"
            else self.files[i]
        )

    def names(self) -> list[str]:
        return (
            [procedural_name(self.cfg.first_seed + i, self.cfg.family) for i in range(len(self))]
            if self.cfg.objects == "procedural"
            else [o.name for o in self.files]
        )


def label_scene(
    sim: Any, pool: ObjectPool, cfg: GraspDataConfig, s: int, focus: Any = None
) -> dict[str, np.ndarray] | None:
    """Drop, render, sample and execute the candidates of scene s (deterministic in cfg.seed and s, and the
    `focus` ranker, `RankerEnsemble`, that cfg.focus names, if any); a pile's with `cfg.clutter` (`label_pile`)."""
    if cfg.clutter is not None:
        return label_pile(sim, pool, cfg, s, focus)
    rng = np.random.default_rng(derive_seed(cfg.seed, s, 0))
    index = int(rng.integers(len(pool)))
    obj = pool.get(index)
    if cfg.scale_to_max is not None:
        obj = obj.scaled_to(float(rng.uniform(cfg.scale_to, cfg.scale_to_max)))
    sim.load(obj)
    pos, orn = sim.drop(derive_seed(cfg.seed, s, 1) & 0xFFFFFFFF)
    depth, k, c2w = cand_view(obj, pos, orn, torch.Generator().manual_seed(derive_seed(cfg.seed, s, 2)))
    points = cand.world_points(depth, k, c2w)
    view = (depth, k, c2w, points)
    return _execute(sim, cfg, s, rng, focus, view, cand.centroid_grasp(points), index, float(obj.mesh.extents.max()))


def pile_draw(cfg: GraspDataConfig, s: int, pool_size: int) -> tuple[np.random.Generator, np.ndarray]:
    """Which of the pool's objects scene s's pile holds (3 to `cfg.clutter` indices into a pool of `pool_size`,
    distinct while the pool has enough), and the scene's generator, ready for the draws that follow."""
    rng = np.random.default_rng(derive_seed(cfg.seed, s, 0))
    n = int(rng.integers(3, cfg.clutter + 1))
    return rng, rng.choice(pool_size, size=n, replace=pool_size < n)


def label_pile(
    sim: Any, pool: ObjectPool, cfg: GraspDataConfig, s: int, focus: Any = None
) -> dict[str, np.ndarray] | None:
    """Scene s as a pile (`cfg.clutter`): 3 to K objects of the pool scaled to the clutter task's extents,
    settled in its bin by `sim` (a `clutter.ClutterSim`), seen by its top-down camera, and the candidates of the
    pile's depth image executed with the clutter trial (the fingers collide with the bin and every object; a
    success is any object held). None if nothing stayed in the bin. `object` is -1 (many); `extent` the largest."""
    from domrand.tasks.grasp.clutter import EXTENT, Pile, centroid_topmost, in_bin, pile_view

    rng, idx = pile_draw(cfg, s, len(pool))
    pile = Pile(
        tuple(pool.get(int(i)).scaled_to(float(rng.uniform(*EXTENT))) for i in idx),
        derive_seed(cfg.seed, s, 1) & 0xFFFFFFFF,
    )
    sim.load_pile(pile)
    poses = sim.settle(pile.seed)
    if not poses:
        return None
    depth, instance, k, c2w = pile_view(pile, poses, torch.Generator().manual_seed(derive_seed(cfg.seed, s, 2)))
    points = in_bin(cand.world_points(depth, k, c2w))
    extent = max(float(pile.objects[i].mesh.extents.max()) for i in poses)
    return _execute(sim, cfg, s, rng, focus, (depth, k, c2w, points), centroid_topmost(points, instance), -1, extent)


def _execute(
    sim: Any, cfg: GraspDataConfig, s: int, rng: np.random.Generator, focus: Any, view: tuple, baseline: Any,
    index: int, extent: float,
) -> dict[str, np.ndarray] | None:  # fmt: skip
    """Sample scene s's candidates on its view (depth, intrinsics, camera-to-world, world points), add the
    `baseline` grasp and a random one, execute them all in `sim` and return the scene's labels."""
    depth, k, c2w, points = view
    grasps = cand.sample(points, rng, fingertips=cfg.fingertips)
    if cfg.bin_check:
        from domrand.tasks.grasp.clutter import bin_clear

        grasps = [g for g in grasps if bin_clear(g)]
    if len(grasps) > cfg.candidates - 2:
        grasps = [grasps[i] for i in pick_candidates(points, grasps, cfg, rng, focus)]
    grasps += [g for g in (baseline, cand.random_grasp(points, rng)) if g is not None]
    if not grasps:
        return None
    success = np.array([sim.grasp(g).success for g in grasps])
    out = {
        "crops": cand.crops(points, grasps).numpy().astype(np.float16),
        "grasp": np.array([[g.x, g.y, g.z, g.yaw, g.width] for g in grasps], dtype=np.float32),
        "success": success,
        "depth": depth.astype(np.float16),
        "intrinsics": k.astype(np.float32),
        "cam_to_world": c2w.astype(np.float32),
        "object": np.int64(index),
        "extent": np.float32(extent),
    }
    if cfg.executions > 1:
        noise = np.random.default_rng(derive_seed(cfg.seed, s, 3))
        again = [[sim.grasp(jittered(g, noise)).success for _ in range(cfg.executions - 1)] for g in grasps]
        out["rate"] = ((success + np.sum(again, axis=1)) / cfg.executions).astype(np.float32)
    return out


def pick_candidates(
    points: np.ndarray, grasps: list[cand.Grasp], cfg: GraspDataConfig, rng: np.random.Generator, focus: Any
) -> list[int]:
    """Sorted indices of the `cfg.candidates - 2` (fewer than len(grasps)) sampled grasps to execute: a random
    draw, or with a `focus` ranker its `cfg.focus_top` best (ties to the earlier) and a random draw of the rest."""
    keep = cfg.candidates - 2
    if focus is None:
        return sorted(rng.choice(len(grasps), keep, replace=False).tolist())
    top = np.argsort(-cand.scores(focus, points, grasps).numpy(), kind="stable")[: cfg.focus_top]
    rest = np.setdiff1d(np.arange(len(grasps)), top)
    return sorted([*top.tolist(), *rng.choice(rest, keep - len(top), replace=False).tolist()])


def cand_view(
    obj: GraspObject, pos: np.ndarray, orn: np.ndarray, rng: torch.Generator | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from domrand.tasks.grasp.views import depth_view

    return depth_view(obj, pos, orn, rng)


def focus_ranker(cfg: GraspDataConfig) -> Any:
    """The `RankerEnsemble` of cfg.focus (None without one); a bad checkpoint is one clear error."""
    if cfg.focus is None:
        return None
    from domrand.tasks.grasp.ranker import load_ranker

    return load_ranker(cfg.focus)[0]


def sim_class(cfg: GraspDataConfig) -> type:
    """The physics world `label_scene` runs cfg's trials in: `clutter.ClutterSim` for piles, else `sim.GraspSim`."""
    if cfg.clutter is None:
        from domrand.tasks.grasp.sim import GraspSim

        return GraspSim
    from domrand.tasks.grasp.clutter import ClutterSim

    return ClutterSim


class ChunkLabeller:
    """Labels and writes grasp-label chunks of one folder; built once per process. Call it with a chunk index."""

    def __init__(self, cfg: GraspDataConfig, out: str) -> None:

        torch.set_num_threads(1)
        self.cfg, self.out = cfg, out
        self.pool, self.sim, self.focus = ObjectPool(cfg), sim_class(cfg)(fast=cfg.fast_trial), focus_ranker(cfg)

    def __call__(self, k: int) -> int:
        """Label chunk k's scenes and write chunks/00000k.npz atomically; returns its scene count."""
        cfg = self.cfg
        scenes = range(k * cfg.chunk, min(cfg.scenes, (k + 1) * cfg.chunk))
        rows = [(s, label_scene(self.sim, self.pool, cfg, s, self.focus)) for s in scenes]
        rows = [(s, r) for s, r in rows if r is not None]
        arrays = {
            "crops": np.concatenate([r["crops"] for _, r in rows]),
            "grasp": np.concatenate([r["grasp"] for _, r in rows]),
            "success": np.concatenate([r["success"] for _, r in rows]),
            **({"rate": np.concatenate([r["rate"] for _, r in rows])} if cfg.executions > 1 else {}),
            "scene": np.concatenate([np.full(len(r["success"]), s) for s, r in rows]),
            "depth": np.stack([r["depth"] for _, r in rows]),
            "depth_scene": np.array([s for s, _ in rows]),
            "intrinsics": np.stack([r["intrinsics"] for _, r in rows]),
            "cam_to_world": np.stack([r["cam_to_world"] for _, r in rows]),
            "object": np.array([r["object"] for _, r in rows]),
            "extent": np.array([r["extent"] for _, r in rows]),
        }
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        path = Path(self.out) / "chunks" / f"{k:06d}.npz"
        tmp = path.with_name(path.name + ".tmp-domrand")
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, path)
        return len(scenes)


def generate(cfg: GraspDataConfig, out: str | Path, workers: int = 2, quiet: bool = False) -> dict[str, Any]:
    """Label `cfg.scenes` scenes into `out` (resuming: chunks already there are kept)."""
    import pybullet  # noqa: F401  (the simulator of every trial: missing, the command fails before the folder is made)

    root = Path(out)
    manifest = {"kind": "grasp labels", "config": asdict(cfg), "objects": ObjectPool(cfg).names()}
    if cfg.focus is not None:
        focus_ranker(cfg)  # a bad checkpoint fails here, before any folder is written
        manifest["focus_sha256"] = hashlib.sha256(Path(cfg.focus).read_bytes()).hexdigest()
    mpath = root / "manifest.json"
    if mpath.is_file():
        old = json.loads(mpath.read_text())
        # A field newer than the folder's manifest takes its default, which keeps the behaviour from before it.
        old["config"] = {**asdict(GraspDataConfig()), **old["config"]}
        if old["config"] != manifest["config"] or old.get("focus_sha256") != manifest.get("focus_sha256"):
            raise ValueError(f"{str(root)!r} holds grasp labels of another configuration; choose another folder")
    (root / "chunks").mkdir(parents=True, exist_ok=True)
    mpath.write_text(json.dumps(manifest, indent=2))
    n_chunks = (cfg.scenes + cfg.chunk - 1) // cfg.chunk
    todo = [k for k in range(n_chunks) if not (root / "chunks" / f"{k:06d}.npz").is_file()]
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(
            total=cfg.scenes,
            initial=cfg.scenes - sum(min(cfg.chunk, cfg.scenes - k * cfg.chunk) for k in todo),
            unit="scene",
        )
    for n in pool.run(functools.partial(ChunkLabeller, cfg, str(root)), todo, workers):
        bar is not None and bar.update(n)
    if bar is not None:
        bar.close()
    return load_summary(root)


def load(roots: str | Path | Sequence[str | Path]) -> dict[str, np.ndarray]:
    """All chunks of one grasp-label folder, or of several in order, concatenated (crops as float32). Scene
    numbers of a later folder follow the earlier folders' (so that each scene keeps one number). `target` (N,)
    float32 is what a ranker fits: the success rate where a folder has one (`executions` > 1), else the outcome."""
    roots = [roots] if isinstance(roots, (str, Path)) else list(roots)
    if not roots:
        raise ValueError("no grasp-label folder given")
    parts = []
    for root in map(Path, roots):
        files = sorted((root / "chunks").glob("*.npz"))
        if not files:
            raise ValueError(f"{str(root)!r} holds no grasp labels (chunks/*.npz)")
        folder = [dict(np.load(f)) for f in files]
        offset = parts[-1]["scene"].max() + 1 if parts else 0
        for p in folder:
            p["scene"] = p["scene"] + offset
            p["target"] = p.get("rate", p["success"]).astype(np.float32)
        parts += folder
    out = {k: np.concatenate([p[k] for p in parts]) for k in ("crops", "grasp", "success", "target", "scene")}
    out["crops"] = out["crops"].astype(np.float32)
    return out


def load_summary(roots: str | Path | Sequence[str | Path]) -> dict[str, Any]:
    """Candidates, their success rate and scenes of one grasp-label folder or several (`load`)."""
    d = load(roots)
    return {
        "candidates": len(d["success"]),
        "success_rate": float(d["success"].mean()),
        "scenes": len(np.unique(d["scene"])),
    }
