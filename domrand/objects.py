"""Users' objects: labelled classes from mesh files (`world.objects`) and distractor meshes
(`world.distractors`), as configuration values. Paths are absolute by the time these are built (the config
loader resolves them against the config file's folder); meshes are read and checked when they are built.

Example:
    >>> import tempfile, pathlib, trimesh
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = trimesh.creation.box((80.0, 60.0, 40.0)).export(d / "box.stl")
    >>> c = ObjectClass(name="box", mesh=str(d / "box.stl"), units="mm", count=(1, 2))
    >>> c.max_count, [round(float(x), 2) for x in c.load().extents]
    (2, [0.08, 0.06, 0.04])
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from domrand.generators.meshes import Mesh
from domrand.meshfile import SUFFIXES, UNITS, MeshFile, read_mesh

APPEARANCES = ("random", "original", "mixed")
#: Class names are written into file names and YAML: letters, digits, `_ - .`, not starting with a digit.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class ObjectClass:
    """One labelled class of objects: a mesh file and how many instances of it each image holds.

    Attributes:
        name: class name, written by every format (COCO category, BOP object, YOLO class).
        mesh: path of an .obj .stl .ply .glb .gltf or .off file.
        units: the file's length unit: "m", "cm" or "mm".
        extent: if set, scale the mesh so that its largest extent is this many metres (overrides units).
        count: [low, high] instances per image (each drawn uniformly).
        appearance: "random" (domrand's textures), "original" (the mesh's own texture or colours) or
            "mixed" (original with probability `original_p`).
        original_p: the share of original looks under "mixed".
        up: the file's up axis: "z", "y", or "auto" ("y" for glTF files, whose spec is y-up; "z" otherwise).
    """

    name: str
    mesh: str
    units: str = "m"
    extent: float | None = None
    count: tuple[int, int] = (1, 1)
    appearance: str = "random"
    original_p: float = 0.5
    up: str = "auto"

    def __post_init__(self) -> None:
        where = f"world.objects[{self.name!r}]"
        if not NAME.match(self.name):
            raise ValueError(f"{where}: name must be letters, digits, '_', '-' or '.', not starting with a digit")
        if self.name in ("table", "floor", "target") or self.name.startswith("distractor"):
            raise ValueError(f"{where}: the name {self.name!r} is domrand's own; choose another")
        if self.units not in UNITS:
            raise ValueError(f"{where}.units must be one of {list(UNITS)}, got {self.units!r}")
        if self.extent is not None and not 0 < self.extent <= 5.0:
            raise ValueError(f"{where}.extent must be in (0, 5] metres, got {self.extent}")
        lo, hi = self.count
        if not 0 <= lo <= hi <= 32 or hi < 1:
            raise ValueError(
                f"{where}.count must be [low, high] with 0 <= low <= high <= 32 and high >= 1, got {list(self.count)}"
            )
        if self.appearance not in APPEARANCES:
            raise ValueError(f"{where}.appearance must be one of {list(APPEARANCES)}, got {self.appearance!r}")
        if not 0.0 <= self.original_p <= 1.0:
            raise ValueError(f"{where}.original_p must be in [0, 1], got {self.original_p}")
        f = self.read()  # a bad file is refused here, before any work
        if self.appearance != "random" and f.texture is None:
            raise ValueError(
                f"{where}: appearance {self.appearance!r} needs the mesh's own texture or colours, and "
                f"{self.mesh!r} has neither: use appearance: random"
            )

    @property
    def max_count(self) -> int:
        return int(self.count[1])

    def read(self) -> MeshFile:
        return read_mesh(self.mesh, units=self.units, extent=self.extent, up=self.up, name=self.name)

    def load(self) -> Mesh:
        """The class's mesh, metres, centred on its bounding box, named after the class."""
        return self.read().mesh


@dataclass(frozen=True)
class DistractorSet:
    """Distractor meshes beside (or instead of) the built-in primitives.

    Attributes:
        meshes: mesh files and folders (every mesh file in a folder, sorted by name).
        count: [low, high] distractors per image.
        primitives: also draw from the built-in primitives and procedural meshes.
    """

    meshes: tuple[str, ...] = ()
    count: tuple[int, int] = (0, 10)
    primitives: bool = True

    def __post_init__(self) -> None:
        lo, hi = self.count
        if not 0 <= lo <= hi <= 32:
            raise ValueError(
                f"world.distractors.count must be [low, high] with 0 <= low <= high <= 32, got {list(self.count)}"
            )
        if not self.files() and not self.primitives:
            raise ValueError(
                "world.distractors has no meshes and primitives: false: give meshes or keep the primitives"
            )
        for f in self.files():
            read_mesh(f, extent=1.0)

    def files(self) -> list[str]:
        """Every mesh file the set names, folders expanded (sorted), in order; listed once per set (the slot
        layout and every chunk's placement read it), so a folder that changes later does not move the bank."""
        if "_files" not in self.__dict__:
            object.__setattr__(self, "_files", tuple(self._list()))
        return list(self.__dict__["_files"])

    def _list(self) -> list[str]:
        out: list[str] = []
        for m in self.meshes:
            p = Path(m)
            if p.is_dir():
                found = sorted(str(x) for x in p.iterdir() if x.suffix.lower() in SUFFIXES)
                if not found:
                    raise ValueError(f"world.distractors.meshes: folder {m!r} holds no {'/'.join(SUFFIXES)} files")
                out += found
            elif not p.is_file():
                raise ValueError(f"world.distractors.meshes: {m!r} does not exist (relative to the config file)")
            else:
                out.append(str(p))
        return out

    def load(self) -> list[Mesh]:
        """The meshes, each scaled to a largest extent of 1 m (placement scales them down)."""
        return [read_mesh(f, extent=1.0, name=f"distractor:{Path(f).stem}").mesh for f in self.files()]
