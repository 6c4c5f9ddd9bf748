"""`GraspRanker`: the success probability of a candidate grasp from its rotated height crop and opening;
`RankerEnsemble`: the mean logit of several rankers over each crop's symmetric views.

Example:
    >>> import torch
    >>> GraspRanker()(torch.zeros(3, 2, 32, 32), torch.full((3,), 0.05)).shape
    torch.Size([3])
    >>> RankerEnsemble([GraspRanker(), GraspRanker()])(torch.zeros(3, 2, 32, 32), torch.full((3,), 0.05)).shape
    torch.Size([3])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from domrand.tasks import checkpoint as ckpt

HEIGHT_SCALE = 0.05  # metres: heights are divided by this before the first layer


def _block(cin: int, cout: int) -> nn.Sequential:
    """Two 3x3 convolutions with batch norm and ReLU, then 2x2 max pooling."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 1, 1),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.Conv2d(cout, cout, 3, 1, 1),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


class GraspRanker(nn.Module):
    """(B, 2, 32, 32) crops (height relative to the grasp, object mask) and (B,) openings -> (B,) logits."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.width = width
        c = width
        block = _block
        self.features = nn.Sequential(
            block(2, c), block(c, 2 * c), block(2 * c, 4 * c), nn.AdaptiveAvgPool2d(2), nn.Flatten()
        )
        self.head = nn.Sequential(nn.Linear(16 * c + 1, 128), nn.ReLU(), nn.Linear(128, 1))

    def forward(self, crops: Tensor, width: Tensor) -> Tensor:
        x = torch.cat([crops[:, :1] / HEIGHT_SCALE, crops[:, 1:2]], 1)
        return self.head(torch.cat([self.features(x), (width[:, None] - 0.05) / 0.02], 1))[:, 0]


VIEWS = (1, 2, 4)  # how many of a crop's symmetric views: as it is; fingers swapped; both mirrors too


def check_views(views: int) -> int:
    """`views` if it is one of `VIEWS`, else one ValueError naming it."""
    if views not in VIEWS:
        raise ValueError(f"views must be one of {VIEWS}, got {views}")
    return views


def symmetric_views(crops: Tensor, views: int = 4) -> Tensor:
    """(views * B, 2, C, C): the crops (B, 2, C, C) as they are, with the fingers swapped (x flipped), mirrored
    across the closing line (y flipped), and both. A parallel-jaw grasp is the same grasp with its fingers
    swapped, and physics is symmetric under the mirror, so a grasp's outcome is the same in all four."""
    out = [crops, crops.flip(-1), crops.flip(-2), crops.flip(-1).flip(-2)][: check_views(views)]
    return torch.cat(out)


class RankerEnsemble(nn.Module):
    """(B, 2, 32, 32) crops and (B,) openings -> (B,) logits: the mean over `members` (rankers trained with
    different seeds) and over each crop's `views` symmetric views (`symmetric_views`).

    The candidate executed is the argmax over tens to a hundred candidates, so one ranker's chance highs decide
    it; averaging over members and views damps them. One member and one view is a plain `GraspRanker`.
    """

    def __init__(self, members: list[GraspRanker], views: int = 4) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one ranker")
        self.members = nn.ModuleList(members)
        self.views = check_views(views)

    def forward(self, crops: Tensor, width: Tensor) -> Tensor:
        b = crops.shape[0]
        x, w = symmetric_views(crops, self.views), width.repeat(self.views)
        return torch.stack([m(x, w).reshape(self.views, b).mean(0) for m in self.members]).mean(0)


def load_ranker(path: str | Path) -> tuple[RankerEnsemble, dict[str, Any]]:
    """The checkpoint's rankers as one `RankerEnsemble` (eval mode) and its metadata. Checkpoints from before
    ensembles hold one ranker ("model") and are evaluated as they were: one view."""
    state = ckpt.load(path, "grasp")
    width = int(state.get("width", 32))  # checkpoints from before the width was stored had 32
    members = []
    for weights in state["members"] if "members" in state else [state["model"]]:
        m = GraspRanker(width)
        ckpt.load_state(m, weights, path)
        members.append(m)
    try:
        model = RankerEnsemble(members, int(state.get("views", 1)))
    except ValueError as e:
        raise ValueError(f"checkpoint {str(path)!r}: {e}") from None
    model.eval()
    return model, {k: v for k, v in state.items() if k not in ("model", "members")}
