"""Where a trainer runs: `resolve_device` turns the command line's `--device` into a torch device;
`resolve_precision` says whether it trains in bfloat16 there.

Example:
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_precision("fp32")
    'fp32'
"""

from __future__ import annotations

from typing import Any

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device that `device` names: "auto" (CUDA where torch sees a GPU, else the CPU), "cpu", "cuda"
    or "cuda:N". One ValueError names a device this machine does not have."""
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {name!r}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {name!r}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r}: CUDA is not available here (torch {torch.__version__}, no usable GPU)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return dev


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """ "bf16" or "fp32": what `precision` ("auto", "bf16", "fp32") means on `device`."""
    if precision != "auto":
        return precision
    if torch.device(device).type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    native = [getattr(torch.cpu, f, None) for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return "bf16" if any(f is not None and f() for f in native) else "fp32"


PRECISIONS = ("auto", "bf16", "fp32")


def check_precision(precision: str) -> str:
    """`precision` if it is one of `PRECISIONS`, else one ValueError naming it."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'auto', 'bf16' or 'fp32', got {precision!r}")
    return precision


def precision_arg(args: Any) -> dict[str, str]:
    """{"precision": args.precision} where the command line gave `--precision`, else {} (the config's default)."""
    precision = getattr(args, "precision", None)
    return {} if precision is None else {"precision": precision}
