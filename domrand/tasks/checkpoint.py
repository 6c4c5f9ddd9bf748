"""Checkpoints: plain tensors and JSON-able metadata, written atomically, read with `weights_only=True`."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

FORMAT_VERSION = 1


def save(path: str | Path, kind: str, payload: dict[str, Any]) -> None:
    """Write `payload` (tensors, numbers, strings, lists, dicts) as a `kind` checkpoint, atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save({"domrand_checkpoint": kind, "format_version": FORMAT_VERSION, **payload}, buf)
    tmp = p.with_name(p.name + ".tmp-domrand")
    with open(tmp, "wb") as f:
        f.write(buf.getbuffer())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, p)


def load(path: str | Path, kind: str) -> dict[str, Any]:
    """Read a `kind` checkpoint; one ValueError naming the file if it is missing, corrupt or of another kind."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"checkpoint {str(p)!r} does not exist")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for truncated or foreign files
        raise ValueError(
            f"checkpoint {str(p)!r} is not a readable domrand checkpoint ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
        ) from None
    if not isinstance(ckpt, dict) or "domrand_checkpoint" not in ckpt:
        raise ValueError(f"checkpoint {str(p)!r} is not a domrand checkpoint")
    if ckpt["domrand_checkpoint"] != kind:
        raise ValueError(f"checkpoint {str(p)!r} is a {ckpt['domrand_checkpoint']} checkpoint, not a {kind} one")
    if ckpt.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"checkpoint {str(p)!r} has format version {ckpt.get('format_version')}, this domrand reads {FORMAT_VERSION}"
        )
    return ckpt


def load_state(module: torch.nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Load a state dict, turning key or shape mismatches into one ValueError naming the checkpoint."""
    own = module.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise ValueError(
            f"checkpoint {str(path)!r} does not match the model: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    bad = [k for k in own if own[k].shape != state[k].shape]
    if bad:
        raise ValueError(
            f"checkpoint {str(path)!r} does not match the model: {bad[0]} is {tuple(state[bad[0]].shape)}, expected {tuple(own[bad[0]].shape)}"
        )
    module.load_state_dict(state)
