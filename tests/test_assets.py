"""assets/ holds data only, each file listed in assets/README.md with its SHA-256 (its provenance is there)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def listed_hashes(readme: str) -> dict[str, str]:
    """{path relative to assets/: SHA-256} from the README's rows "| `path` | `hash` |"."""
    return dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", readme, flags=re.M))


def test_every_asset_is_listed_with_its_sha256_and_every_listed_file_exists() -> None:
    listed = listed_hashes((ASSETS / "README.md").read_text())
    present = {
        p.relative_to(ASSETS).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in ASSETS.rglob("*")
        if p.is_file() and p.name != "README.md"
    }
    assert present, "no assets found"
    assert set(present) == set(listed), (sorted(set(present) - set(listed)), sorted(set(listed) - set(present)))
    changed = sorted(k for k in present if present[k] != listed[k])
    assert not changed, f"assets whose bytes differ from their listed SHA-256: {changed}"


def test_listed_hashes_reads_only_full_rows() -> None:
    good, short = "a" * 64, "b" * 63
    text = f"| `x/y.stl` | `{good}` |\n| `z.stl` | `{short}` |\n| `w.stl` | {good} |\n"
    assert listed_hashes(text) == {"x/y.stl": good}


def test_the_grocery_meshes_load_as_grasp_objects_scaled_to_the_extent_asked(tmp_path, monkeypatch) -> None:
    import torch

    from domrand.tasks.grasp.objects import load_folder

    monkeypatch.setenv("DOMRAND_CACHE", str(tmp_path))
    objects, skipped = load_folder(ASSETS / "meshes" / "robosuite_grocery", 0.12)
    assert skipped == []
    assert [o.name for o in objects] == [f"{n}.stl" for n in ("bottle", "bread", "can", "cereal", "lemon", "milk")]
    for o in objects:
        extent = o.mesh.vertices.max(0).values - o.mesh.vertices.min(0).values
        assert torch.isclose(extent.max(), torch.tensor(0.12), atol=1e-5), (o.name, extent)
        assert all(torch.isfinite(p).all() and len(p) >= 4 for p in o.parts), o.name
