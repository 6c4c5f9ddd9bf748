"""`domrand train pose`: train `PoseNet` from scratch on a written dataset or on batches rendered on the fly.

Differences from Tobin et al. 2017 (VGG-16 pretrained on ImageNet, 224 x 224, L2 loss, Adam 1e-4): a
0.6 M-parameter ResNet trained from scratch (no downloaded weights, and it fits two CPU cores), smaller
images (64 to 128 pixels), AdamW at 1e-3 with warm-up and cosine decay, convolutions in bfloat16 where
the processor computes it natively (`precision`, 2.7x faster per step on an AVX-512 BF16 CPU). The loss is the paper's L2 on
positions normalised by the target's workspace, plus a cross-entropy on a heatmap of the target's image
position (every synthetic image has it): without that dense signal, a network trained from scratch on two
cores learns the 4-pixel cube far too slowly.

Example:
    >>> summary = train_pose("data/cube", "runs/cube", target="cube", config=PoseTrainConfig(steps=100))  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from domrand.tasks import checkpoint as ckpt
from domrand.tasks.device import check_precision, resolve_device, resolve_precision
from domrand.tasks.interrupt import TrainingInterrupted, graceful
from domrand.tasks.pose.data import data_identity, load_folder_for_training, load_native, to_input
from domrand.tasks.pose.infer import errors, weights
from domrand.tasks.pose.model import PoseNet, PoseNetConfig


@dataclass(frozen=True)
class PoseTrainConfig:
    """How to train (recorded in every checkpoint).

    Attributes:
        steps: optimisation steps. batch_size: images per step. lr: peak learning rate (Adam).
        weight_decay: AdamW decoupled decay. warmup: linear warm-up steps, then cosine decay to 1%.
        seed: initialisation, batch order and (online) rendering. val_fraction: share of the data
            held out for validation (the last images). eval_every / checkpoint_every: in steps.
        image_size: the model's input, pixels (data are resized if needed).
        precision: "auto" (bfloat16 autocast for the convolutions where the device computes bfloat16
            natively: CUDA, or a CPU with AVX-512 BF16 or AMX; float32 elsewhere), "bf16" or "fp32".
            The read-out, the position head, the losses and the weights stay float32.
    """

    steps: int = 3000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 100
    seed: int = 0
    val_fraction: float = 0.05
    eval_every: int = 250
    checkpoint_every: int = 250
    image_size: int = 64
    precision: str = "auto"

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "checkpoint_every"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not 0 < self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must be in (0, 0.5), got {self.val_fraction}")
        check_precision(self.precision)


def lr_at(step: int, cfg: PoseTrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


HEATMAP_WEIGHT = 0.3  # weight of the heatmap cross-entropy beside the position L2
CAMERA_WEIGHT = 1.0  # weight of the camera head's plane-point L2 (in units of CAMERA_UNIT)
CAMERA_UNIT = 0.02  # image units ([-1, 1] across the image) of that L2: 1.3 px at 128 px
HEATMAP_SIGMA = 1.0  # Gaussian width of the heatmap target, heatmap cells


def heatmap_loss(logits: Tensor, uv: Tensor) -> Tensor:
    """Cross-entropy between the heatmap's softmax (B, h, w) and a Gaussian at uv (B, 2) in [-1, 1]."""
    b, h, w = logits.shape
    xs = (torch.arange(w, device=logits.device) + 0.5) / w * 2 - 1
    ys = (torch.arange(h, device=logits.device) + 0.5) / h * 2 - 1
    dx = (xs[None, None, :] - uv[:, 0, None, None]) * (w / 2)
    dy = (ys[None, :, None] - uv[:, 1, None, None]) * (h / 2)
    target = torch.exp(-(dx**2 + dy**2) / (2 * HEATMAP_SIGMA**2))
    target = target / target.sum((1, 2), keepdim=True).clamp_min(1e-12)
    logp = torch.log_softmax(logits.reshape(b, -1), -1).reshape(b, h, w)
    return -(target * logp).sum((1, 2)).mean()


class OnlineData:
    """Batches rendered on the fly from a dataset configuration (no disk)."""

    def __init__(self, config: Any, seed: int, device: torch.device | str = "cpu") -> None:
        self.pipe = config.pipeline(device=device)  # renders there; the batches come back on the CPU
        self.seed = seed

    def batch(self, step: int, n: int, plane: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
        """Images (n, S, S, 3) uint8, target positions (n, 3), their image positions (n, 2) in [-1, 1], and
        the image positions (n, P, 2) of the world points `plane` (P, 3) (None without)."""
        from domrand.rng import chunk_rng
        from domrand.tasks.pose.model import project
        from domrand.world import TARGET

        frame = self.pipe.render(self.pipe.sample(n, rng=chunk_rng(self.seed, step)))
        images = frame.rgb_uint8()
        pos = frame.scene.instances.pose[:, TARGET, :3, 3].clone()
        cam = frame.scene.camera
        size = images.shape[1]
        uv = project(pos[:, None], cam.intrinsics, cam.cam_to_world, size, size)[:, 0]
        pl = None if plane is None else project(plane, cam.intrinsics, cam.cam_to_world, size, size)
        return images, pos, uv, pl


def _check_target(manifest: dict, target: str, data: str) -> None:
    if manifest.get("object_classes") is not None:  # user classes: `load_native` checked the name
        return
    found = manifest.get("config", {}).get("world", {}).get("target")
    if found is not None and found != target:
        raise ValueError(f"dataset {data!r} has target {found!r} but --target is {target!r}")


def train_pose(
    data: str | None,
    out: str,
    target: str = "cube",
    config: PoseTrainConfig | None = None,
    model_config: PoseNetConfig | None = None,
    online: Any = None,
    resume: bool = False,
    quiet: bool = False,
    log: Any = None,
    init: str | None = None,
    device: str | torch.device = "cpu",
    pretrained: str | None = None,
) -> dict[str, Any]:
    """Train (or resume) a pose model; writes RUN/last.pt, RUN/best.pt and RUN/log.jsonl.

    Args:
        data: native dataset folder, or None with `online` (a `DatasetConfig`) to render batches.
        out: run folder.
        target: the target object the model is for (must match the dataset's).
        config, model_config: training and architecture settings.
        resume: continue from RUN/last.pt (the settings must match).
        init: start from this pose checkpoint's weights (a model of ours, never downloaded weights) with a
            fresh optimizer and schedule: a fine-tune. Its architecture is used unless `model_config` gives
            one (whose weights must then match); a resumed run ignores it.
        pretrained: start from the learnt layers of a pose checkpoint for another target or camera (pre-training
            on another domrand task, never downloaded weights): its architecture and its convolution and head
            weights, with this dataset's nominal camera, target height and position normalisation
            (`GEOMETRY`), and a fresh optimizer and schedule. An alternative to `init`.
        device: where to train: "cpu", "cuda", "cuda:N" or "auto" (`resolve_device`). Checkpoints hold
            CPU tensors whatever the device, and a run may resume on another device. Batch order and the
            initial weights do not depend on it; the arithmetic does, so a run is bit-for-bit reproducible
            (and resumable) on one kind of device, not across kinds.
    """
    cfg = config or PoseTrainConfig()
    dev = resolve_device(device)
    run = Path(out)
    last = run / "last.pt"
    state = ckpt.load(last, "pose") if resume and last.is_file() else None  # the run this call resumes
    init_state = None
    if init is not None and pretrained is not None:
        raise ValueError(
            "--init and --pretrained are alternatives: --init for the same target, --pretrained for another"
        )
    if pretrained is not None and state is None:
        init_state = ckpt.load(pretrained, "pose")
        arch = PoseNetConfig.from_json(init_state["model_config"])
        dataset_config = online.to_json() if online is not None else (_manifest(data) or {}).get("config")
        geometry = model_config_for(dataset_config, arch.image_size, target)
        model_config = replace(arch, **{f: getattr(geometry, f) for f in GEOMETRY})  # its layers, this geometry
    if init is not None and state is None:
        init_state = ckpt.load(init, "pose")
        if init_state.get("target") != target:
            raise ValueError(
                f"--init checkpoint {init!r} is for target {init_state.get('target')!r}, not {target!r}: "
                "--pretrained starts from another target's layers"
            )
        if model_config is None:
            model_config = PoseNetConfig.from_json(init_state["model_config"])
    source = init or pretrained
    if init_state is not None and model_config is not None and model_config.image_size != cfg.image_size:
        flag = "--init" if init else "--pretrained"
        raise ValueError(
            f"{flag} checkpoint {source!r} takes {model_config.image_size} px images, not {cfg.image_size}: "
            f"pass --size {model_config.image_size}"
        )
    if model_config is None and state is None:
        dataset_config = online.to_json() if online is not None else (_manifest(data) or {}).get("config")
        model_config = model_config_for(dataset_config, cfg.image_size, target)
    if run.exists() and any(run.iterdir()) and not resume:
        raise ValueError(f"run folder {out!r} is not empty: pass --resume to continue it, or choose another folder")
    if state is not None:
        model_config = PoseNetConfig.from_json(state["model_config"])
    mcfg = model_config or PoseNetConfig(image_size=cfg.image_size)
    if mcfg.image_size != cfg.image_size:
        mcfg = replace(mcfg, image_size=cfg.image_size)
    torch.manual_seed(cfg.seed)  # parameter initialisation only; batches use their own generator
    model = PoseNet(mcfg).to(dev, memory_format=torch.channels_last)  # oneDNN's fast layout on CPU
    precision = resolve_precision(cfg.precision, dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    step, best = 0, float("inf")
    if state is not None:
        if state["train_config"] != _json(asdict(cfg)) or state["target"] != target:
            raise ValueError(f"cannot resume {out!r}: its training settings or target differ from these")
        ckpt.load_state(model, weights(state), last)
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        step, best = int(state["step"]), float(state["best_val"])
    elif resume:
        raise ValueError(f"cannot resume {out!r}: it has no last.pt")
    elif init_state is not None:
        w = weights(init_state)
        if pretrained is not None:  # this task's geometry buffers, the pre-trained layers
            own = model.state_dict()
            w = {k: own[k] if k in GEOMETRY_BUFFERS else v for k, v in w.items()}
        ckpt.load_state(model, w, source)
    if dev.type == "cuda":
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False

    plane = model.plane.cpu() if mcfg.geometry == "homography" else None  # the labels are made on the CPU
    if data is not None:
        native = (Path(data) / "native").is_dir() or not (Path(data) / "labels.jsonl").is_file()
        loaded = (
            load_native(data, cfg.image_size, with_uv=True, plane=plane, target=target)
            if native
            else load_folder_for_training(data, cfg.image_size, plane=plane)  # labelled photos, e.g. to fine-tune
        )
        images, positions, manifest, uvs = loaded[:4]
        planes = loaded[4] if plane is not None else torch.zeros(len(images), 0, 2)
        if manifest is not None:
            _check_target(manifest, target, data)
        n_val = max(1, int(len(images) * cfg.val_fraction))
        train_x, train_y, train_uv, train_pl = images[:-n_val], positions[:-n_val], uvs[:-n_val], planes[:-n_val]
        val_x, val_y = images[-n_val:], positions[-n_val:]
        source = None
    else:
        if online is None:
            raise ValueError("give --data DIR or --online")
        source = OnlineData(online, cfg.seed, dev)
        val_x, val_y, _, _ = source.batch(10**9, 256)  # a held-out stream (step index no training step uses)
    run.mkdir(parents=True, exist_ok=True)  # only now that the data are read: a bad --data leaves no folder
    (run / "config.json").write_text(
        json.dumps(
            {
                "target": target,
                "train": asdict(cfg),
                "precision": precision,
                "device": str(dev),
                "model": mcfg.to_json(),
                "data": data,
                "init": init,
                "pretrained": pretrained,
            },
            indent=2,
        )
    )

    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, initial=step, unit="step", dynamic_ncols=True, file=sys.stderr)
    t0, running, val_err = time.perf_counter(), None, float("nan")
    model.train()
    with graceful() as stop:
        while step < cfg.steps:
            if source is None:
                idx = torch.randint(0, train_x.shape[0], (cfg.batch_size,), generator=gen)
                xb, y, uv, pl = train_x[idx], train_y[idx], train_uv[idx], train_pl[idx]
            else:
                xb, y, uv, pl = source.batch(step, cfg.batch_size, plane)
            x = to_input(xb.to(dev, non_blocking=True))
            y, uv = y.to(dev), uv.to(dev)
            pl = None if pl is None else pl.to(dev)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                pred, heat, plane_uv = model.forward_train(x.contiguous(memory_format=torch.channels_last))
            loss = ((pred - (y - model.mean) / model.scale) ** 2).sum(-1).mean() + HEATMAP_WEIGHT * heatmap_loss(
                heat, uv
            )
            if plane_uv is not None:
                loss = loss + CAMERA_WEIGHT * (((plane_uv - pl) / CAMERA_UNIT) ** 2).sum(-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            value = float(loss.detach())
            running = value if running is None else 0.98 * running + 0.02 * value
            if step % cfg.eval_every == 0 or step == cfg.steps:
                # The checkpoint is chosen by the single read-out, whatever the model's mirror_average.
                val_err = float(errors(model, val_x, val_y, mirror=False).mean())
                entry = {
                    "step": step,
                    "loss": running,
                    "val_mean_error_m": val_err,
                    "seconds": round(time.perf_counter() - t0, 1),
                }
                with open(run / "log.jsonl", "a") as f:
                    f.write(json.dumps(entry) + "\n")
                if log is not None:
                    log(entry)
                if val_err < best:
                    best = val_err
                    _save(run / "best.pt", model, opt, gen, step, best, cfg, mcfg, target, data)
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                _save(last, model, opt, gen, step, best, cfg, mcfg, target, data)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{running:.4f}", val_cm=f"{100 * val_err:.2f}")
            if stop.requested and step < cfg.steps:  # Ctrl-C: the step is whole; keep it and say how to go on
                _save(last, model, opt, gen, step, best, cfg, mcfg, target, data)
                if bar is not None:
                    bar.close()
                raise TrainingInterrupted(str(last), step, cfg.steps, "continue with the same command and --resume")
    if bar is not None:
        bar.close()
    return {
        "run": str(run), "steps": step, "best_val_mean_error_m": best, "seconds": time.perf_counter() - t0,
        "precision": precision, "device": str(dev),
    }  # fmt: skip


@functools.lru_cache(maxsize=8)
def _identity(data: str | None) -> dict | None:
    """The training data's `data_identity` (read once per run, not at every checkpoint)."""
    return data_identity(_manifest(data))


def _manifest(data: str | None) -> dict | None:
    path = Path(data) / "manifest.json" if data else None
    return json.loads(path.read_text()) if path is not None and path.is_file() else None


# What a pre-trained checkpoint (`train_pose(pretrained=...)`) does not bring: the fields of the task's geometry and
# the model's buffers made from them.
GEOMETRY = ("position_mean", "position_scale", "camera_eye", "camera_look_at", "camera_fov_deg", "target_height")
GEOMETRY_BUFFERS = ("mean", "scale", "k", "c2w")


def model_config_for(dataset_config: dict | None, image_size: int, target: str | None = None) -> PoseNetConfig:
    """The model's nominal camera and target height from a dataset's configuration (JSON form)."""
    if not dataset_config or not dataset_config.get("camera") or "eye" not in dataset_config["camera"]:
        return PoseNetConfig(image_size=image_size)
    from domrand.world import TARGETS

    cam = dataset_config["camera"]
    world = dataset_config["world"]
    name = world["target"]
    height = float(TARGETS[name]().extents[2]) / 2 if name in TARGETS else 0.025
    spec = next((o for o in world.get("objects") or [] if o["name"] == target), None)
    if spec is not None:  # a user class: its half height as its file stands (the model's nominal plane)
        from domrand.objects import ObjectClass

        height = float(ObjectClass(**{**spec, "count": tuple(spec["count"])}).load().extents[2]) / 2
    return PoseNetConfig(
        image_size=image_size, camera_eye=tuple(cam["eye"]), camera_look_at=tuple(cam["look_at"]), camera_fov_deg=float(cam["fov_deg"]),
        target_height=height, position_mean=(0.0, 0.0, height),
    )  # fmt: skip


def _json(obj: Any) -> Any:
    return json.loads(json.dumps(obj))


def _save(
    path: Path,
    model: PoseNet,
    opt: Any,
    gen: torch.Generator,
    step: int,
    best: float,
    cfg: PoseTrainConfig,
    mcfg: PoseNetConfig,
    target: str,
    data: str | None,
) -> None:
    ckpt.save(
        path, "pose",
        {
            "model": _cpu(model.state_dict()), "optimizer": _cpu(opt.state_dict()), "generator": gen.get_state(), "step": step,
            "best_val": best, "train_config": _json(asdict(cfg)), "model_config": mcfg.to_json(), "target": target, "data": data,
            "data_identity": _identity(data),
        },
    )  # fmt: skip


def _cpu(obj: Any) -> Any:
    """`obj` (nested dicts, lists and tensors) with every tensor on the CPU (no copy for CPU tensors); a state
    dict keeps its type and `_metadata`, so a CPU run's checkpoint is byte for byte what it was."""
    if isinstance(obj, Tensor):
        return obj.cpu()
    if isinstance(obj, dict):
        out = type(obj)((k, _cpu(v)) for k, v in obj.items())
        if hasattr(obj, "_metadata"):
            out._metadata = obj._metadata
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu(v) for v in obj)
    return obj
