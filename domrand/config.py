"""Dataset configuration: presets and YAML files -> validated frozen dataclasses.

A YAML file may start from a preset (`preset: tabletop`) and override any key; every unknown key or
bad value is one ValueError naming its dotted path, raised before any work starts.

Example:
    >>> cfg = load_config(preset="tabletop", overrides={"image_size": 64, "textures": {"pool_size": 100}})
    >>> cfg.image_size, cfg.textures.pool_size, cfg.camera.fov_deg
    (64, 100, 45.0)
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Union

import torch
import yaml

from domrand.dist import Dist, dist_from_json
from domrand.generators.transforms import intrinsics_from_fov
from domrand.pipeline import Pipeline
from domrand.randomizers import (
    CameraJitter,
    Compose,
    DepthNoise,
    ImageNoise,
    LightRandomizer,
    MaterialRandomizer,
    RestingObject,
    TabletopPlacement,
    TextureRandomizer,
    TopDownCamera,
)
from domrand.randomizers.appearance import OriginalLook
from domrand.randomizers.drop import DropPlacement
from domrand.randomizers.occlusion import TargetOcclusion
from domrand.randomizers.surface import SurfacePlacement
from domrand.render import RenderConfig
from domrand.world import TableWorld

TASKS = ("localization", "grasping")
#: Randomizer sections in the order they act: scene randomizers, then those of the rendered images.
SCENE_RANDOMIZERS = ("camera", "lighting", "placement", "occlusion", "textures", "materials")
IMAGE_RANDOMIZERS = ("noise", "depth_noise")
PRESETS = ("tabletop", "grasping")


@dataclass(frozen=True)
class RenderSettings:
    """Renderer settings a dataset records (see `RenderConfig`)."""

    shadows: bool = True
    shadow_map_size: int | None = None
    supersample: int = 1

    def __post_init__(self) -> None:
        if self.shadow_map_size is not None and not (
            isinstance(self.shadow_map_size, int) and 16 <= self.shadow_map_size <= 4096
        ):
            raise ValueError(
                f"render.shadow_map_size must be null (twice the image side, 128 to 256) or an int in [16, 4096], got {self.shadow_map_size!r}"
            )
        if not (isinstance(self.supersample, int) and 1 <= self.supersample <= 4):
            raise ValueError(f"render.supersample must be an int in [1, 4], got {self.supersample!r}")


COCO_SEGMENTATIONS = ("rle", "polygon")


@dataclass(frozen=True)
class OutputSettings:
    """What the annotation formats write (recorded with the dataset; none changes an image).

    Attributes:
        min_visible_pixels: COCO and YOLO leave out objects with fewer visible pixels (0 keeps everything;
            1 to 3 pixel masks give detectors boxes without polygons). Native, jsonl and BOP keep all.
        coco_segmentation: "rle" (exact masks) or "polygon" (outlines, for readers that accept only
            polygons with `iscrowd: 0`).
        bop_distractors: BOP ground truth also lists the distractors, one object (obj_id and model) per
            distractor mesh and size; needs `placement.distractor_extent_step` > 0 (BOP models have one size).
    """

    min_visible_pixels: int = 0
    coco_segmentation: str = "rle"
    bop_distractors: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.min_visible_pixels, int) and self.min_visible_pixels >= 0):
            raise ValueError(f"output.min_visible_pixels must be an integer >= 0, got {self.min_visible_pixels!r}")
        if self.coco_segmentation not in COCO_SEGMENTATIONS:
            raise ValueError(
                f"output.coco_segmentation must be one of {list(COCO_SEGMENTATIONS)}, got {self.coco_segmentation!r}"
            )


@dataclass(frozen=True)
class DatasetConfig:
    """Everything that determines a dataset's images and labels (with the seed).

    Attributes:
        task: "localization" (tabletop) or "grasping" (top-down depth).
        image_size: square image edge, pixels (unused when `camera.intrinsics` gives the image's size).
        chunk_size: images per chunk: the unit of seeding and writing (a memory knob it is not).
        render: renderer settings.
        world: table, floor, target and distractor meshes.
        camera, lighting, textures, materials, placement, noise, depth_noise: randomizers; None
            means switched off (the world's nominal value is used). occlusion: off unless set (a share of
            scenes with a distractor partly in front of the target).
        output: what the annotation formats write.
    """

    task: str = "localization"
    image_size: int = 128
    chunk_size: int = 64
    render: RenderSettings = field(default_factory=RenderSettings)
    world: TableWorld = field(default_factory=TableWorld)
    camera: CameraJitter | TopDownCamera | None = field(default_factory=CameraJitter)
    lighting: LightRandomizer | None = field(default_factory=LightRandomizer)
    textures: TextureRandomizer | None = field(default_factory=TextureRandomizer)
    materials: MaterialRandomizer | None = field(default_factory=MaterialRandomizer)
    placement: DropPlacement | SurfacePlacement | TabletopPlacement | RestingObject | None = field(
        default_factory=TabletopPlacement
    )
    occlusion: TargetOcclusion | None = None
    noise: ImageNoise | None = field(default_factory=ImageNoise)
    depth_noise: DepthNoise | None = None
    output: OutputSettings = field(default_factory=OutputSettings)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if not (isinstance(self.image_size, int) and 8 <= self.image_size <= 2048):
            raise ValueError(f"image_size must be an int in [8, 2048] pixels, got {self.image_size!r}")
        if not (isinstance(self.chunk_size, int) and 1 <= self.chunk_size <= 100_000):
            raise ValueError(f"chunk_size must be an int in [1, 100000], got {self.chunk_size!r}")
        for name in ("textures", "materials"):
            r = getattr(self, name)
            if r is not None and r.slots != self.world.slots:
                raise ValueError(f"{name}.slots ({r.slots}) must equal the world's slots ({self.world.slots})")
        p = self.placement
        if p is not None and p.world != self.world:
            raise ValueError("placement.world must be the dataset's world")
        if self.output.bop_distractors and not (isinstance(p, TabletopPlacement) and p.distractor_extent_step > 0):
            raise ValueError(
                "output.bop_distractors needs distractors in fixed sizes (BOP models have one size): "
                "set placement.distractor_extent_step, e.g. --set placement.distractor_extent_step=0.01"
            )

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the images, pixels: the camera's intrinsics' size, else `image_size` square."""
        k = getattr(self.camera, "intrinsics", None)
        return k.size if k is not None else (self.image_size, self.image_size)

    def to_json(self) -> dict[str, Any]:
        """Every setting, as JSON values (what `manifest.json` records)."""
        return to_json(self)

    def pipeline(self, device: str | torch.device = "cpu", backend: str = "auto", max_batch: int = 64) -> Pipeline:
        """The `Pipeline` of this configuration: its randomizers in data-flow order, its world and renderer.

        `device`, `backend` and `max_batch` decide where and how much is rendered at once; none changes a pixel.
        """
        scene = tuple((n, getattr(self, n)) for n in SCENE_RANDOMIZERS if getattr(self, n) is not None)
        if any(c.appearance != "random" for c in self.world.objects):  # the classes' own looks, over the textures
            scene += (("appearance", OriginalLook(world=self.world, min_size=128)),)
        image = tuple((n, getattr(self, n)) for n in IMAGE_RANDOMIZERS if getattr(self, n) is not None)
        rs = self.render
        render = RenderConfig(
            shadows=rs.shadows,
            shadow_map_size=rs.shadow_map_size,
            supersample=rs.supersample,
            max_batch=max_batch,
            backend=backend,
        )
        return Pipeline(Compose(scene=scene, image=image), self.world, self.size, render, device=device)

    def nominal_camera(self) -> dict[str, float | int]:
        """The unrandomized camera's intrinsics: fx, fy, cx, cy (pixels), width, height."""
        h, w = self.size
        k = self.world.base_scene(1, (h, w)).camera.intrinsics[0]
        if getattr(self.camera, "intrinsics", None) is not None:
            k = self.camera.intrinsics.matrix()
        elif self.camera is not None:
            k = intrinsics_from_fov(torch.deg2rad(torch.tensor([self.camera.fov_deg])), w, h)[0]
        return {
            "fx": float(k[0, 0]), "fy": float(k[1, 1]), "cx": float(k[0, 2]), "cy": float(k[1, 2]),
            "width": w, "height": h,
        }  # fmt: skip

    def world_facts(self) -> dict[str, Any]:
        """What the labels refer to, as plain data (what `io.manifest.build` records as `world`)."""
        bank = self.world.mesh_bank()
        facts = {
            "image_size": list(self.size),
            "slots": self.world.slot_names(),
            "meshes": list(bank.names),
            "target_meshes": list(self.world.target_mesh_ids),
            "classes": self.world.class_names(),
            "nominal_camera": self.nominal_camera(),
        }
        if self.world.objects:
            facts["object_classes"] = self.world.class_names()
        return facts


def to_json(obj: Any) -> Any:
    """Dataclasses, distributions and tuples -> plain JSON values."""
    if isinstance(obj, Dist):
        return obj.to_json()
    if dataclasses.is_dataclass(obj):
        return {f.name: to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_json(x) for x in obj]
    return obj


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def build(cls: type, data: Any, path: str) -> Any:
    """Construct dataclass `cls` from mapping `data`, converting and checking every field by its type."""
    if not isinstance(data, dict):
        raise ValueError(f"{path or 'config'} must be a mapping of settings, got {type(data).__name__}: {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(data) - set(names))
    if unknown:
        where = f"{path}." if path else ""
        raise ValueError(f"unknown key {where}{unknown[0]!s}; expected one of {names}")
    kwargs = {k: convert(v, hints[k], f"{path}.{k}" if path else k) for k, v in data.items()}
    try:
        return cls(**kwargs)
    except ValueError as e:
        msg = str(e)
        raise ValueError(msg if path == "" or msg.startswith(path.split(".")[0]) else f"{path}: {msg}") from None


def convert(value: Any, tp: Any, path: str) -> Any:
    """Convert a YAML value to type `tp`, raising ValueError that names `path`."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            if type(None) in typing.get_args(tp):
                return None
            raise ValueError(f"{path} must not be null")
        errors = []
        for opt in options:
            try:
                return convert(value, opt, path)
            except ValueError as e:
                errors.append(str(e))
        raise ValueError(errors[0] if len(errors) == 1 else f"{path}: {errors[-1]}")
    if tp is Dist or (isinstance(tp, type) and issubclass(tp, Dist)):
        try:
            return dist_from_json(value)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{path} must be a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(convert(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ValueError(f"{path} must have {len(args)} entries, got {len(value)}: {value!r}")
        return tuple(convert(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if dataclasses.is_dataclass(tp):
        return build(tp, value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{path} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{path} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{path} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{path} must be a string, got {value!r}")
        return value
    raise ValueError(f"{path}: unsupported setting type {_type_name(tp)}")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def preset_data(name: str) -> dict[str, Any]:
    """The raw settings of a built-in preset."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; built-in presets: {list(PRESETS)}")
    text = resources.files("domrand.presets").joinpath(f"{name}.yaml").read_text()
    return yaml.safe_load(text)


def dataset_manifest(path: str | Path) -> dict[str, Any] | None:
    """The manifest when `path` is a domrand dataset folder or its manifest.json, else None."""
    p = Path(path)
    p = p / "manifest.json" if p.is_dir() else p
    if p.name != "manifest.json" or not p.is_file():
        return None
    data = read_yaml(p)
    return data if _is_manifest(data) else None


def _is_manifest(data: dict[str, Any]) -> bool:
    return data.get("generator") == "domrand generate" and isinstance(data.get("config"), dict)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML (or JSON) mapping from `path`, or one ValueError naming the file."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"config file {str(p)!r} does not exist")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"config file {str(p)!r} is not valid YAML: {e}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(p)!r} must hold a mapping of settings, got {type(data).__name__}")
    return data


SECTIONS = {
    "camera": {"localization": CameraJitter, "grasping": TopDownCamera},
    "lighting": {"*": LightRandomizer},
    "textures": {"*": TextureRandomizer},
    "materials": {"*": MaterialRandomizer},
    "placement": {"localization": TabletopPlacement, "grasping": RestingObject},
    "occlusion": {"localization": TargetOcclusion},
    "noise": {"*": ImageNoise},
    "depth_noise": {"*": DepthNoise},
}


def from_data(data: dict[str, Any]) -> DatasetConfig:
    """A `DatasetConfig` from raw settings (a preset merged with overrides)."""
    data = dict(data)
    data.pop("preset", None)
    allowed = [f.name for f in dataclasses.fields(DatasetConfig)]
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]}; expected one of {[*allowed, 'preset']}")
    task = convert(data.get("task", "localization"), str, "task")
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    world = build(TableWorld, data.get("world", {}), "world")
    kwargs: dict[str, Any] = {"task": task, "world": world}
    for key in ("image_size", "chunk_size"):
        if key in data:
            kwargs[key] = convert(data[key], int, key)
    kwargs["render"] = build(RenderSettings, data.get("render", {}), "render")
    kwargs["output"] = build(OutputSettings, data.get("output", {}), "output")
    for name, classes in SECTIONS.items():
        section = data.get(name)
        cls = classes.get(task, classes.get("*"))
        if section is None or cls is None:
            kwargs[name] = None
            continue
        section = dict(section) if isinstance(section, dict) else section
        if isinstance(section, dict):
            enabled = section.pop("enabled", True)
            if not isinstance(enabled, bool):
                raise ValueError(f"{name}.enabled must be true or false, got {enabled!r}")
            if not enabled:
                kwargs[name] = None
                continue
            if name in ("textures", "materials"):
                section.setdefault("slots", world.slots)
            if name == "textures":
                section.setdefault("object_slots", world.first_distractor - 2)
        if name == "placement":
            kwargs[name] = _placement(cls, section, world)
        elif name == "occlusion":
            kwargs[name] = build(cls, {k: v for k, v in section.items() if k != "world"}, name)
            kwargs[name] = dataclasses.replace(kwargs[name], world=world)
        else:
            kwargs[name] = build(cls, section, name)
    return DatasetConfig(**kwargs)


def _placement(cls: type, section: Any, world: TableWorld) -> Any:
    if not isinstance(section, dict):
        raise ValueError(f"placement must be a mapping of settings, got {section!r}")
    if world.objects and cls is TabletopPlacement:
        cls = DropPlacement if section.get("mode") == "drop" else SurfacePlacement
    if "mode" in section and cls is TabletopPlacement:
        raise ValueError("placement.mode applies to a world of user objects (world.objects)")
    if world.distractors is not None:  # world.distractors.count is the distractor count
        lo, hi = world.distractors.count
        section = {**section, "distractor_count": {"kind": "intuniform", "low": lo, "high": hi}}
    if "world" in section:  # a dataset's recorded config repeats the world here; it must be the same one
        section = dict(section)
        if build(TableWorld, section.pop("world"), "placement.world") != world:
            raise ValueError("placement.world differs from the top-level `world` section: remove it (world sets it)")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init and f.name != "world"]
    unknown = sorted(set(section) - set(names))
    if unknown:
        raise ValueError(f"unknown key placement.{unknown[0]}; expected one of {names}")
    kwargs = {k: convert(v, hints[k], f"placement.{k}") for k, v in section.items()}
    try:
        return cls(world=world, **kwargs)
    except ValueError as e:
        raise ValueError(str(e) if str(e).startswith("placement") else f"placement: {e}") from None


def load_config(
    preset: str | None = None, path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> DatasetConfig:
    """The dataset configuration from a preset, a YAML file (which may name its own `preset`), and overrides.

    With neither `preset` nor `path`, the `tabletop` preset. `path` may also be a dataset folder or its
    `manifest.json`: the dataset's full configuration, as recorded (no preset under it).
    """
    manifest = dataset_manifest(path) if path is not None else None
    if manifest is not None:
        if preset is not None:
            raise ValueError("a dataset's configuration is complete: give --config DIR or --preset, not both")
        return from_data(_merge(manifest["config"], overrides or {}))
    if path is not None and Path(path).is_dir():
        raise ValueError(
            f"config {str(path)!r} is a folder without manifest.json: give a YAML file or a dataset folder"
        )
    user = resolve_paths(read_yaml(path), Path(path).parent) if path is not None else {}
    base_name = preset or user.get("preset") or "tabletop"
    if not isinstance(base_name, str):
        raise ValueError(f"preset must be a name, got {base_name!r}")
    data = _merge(preset_data(base_name), user)
    data = _merge(data, resolve_paths(overrides or {}, Path.cwd()))
    return from_data(data)


def resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """`data` with the mesh paths of its `world` section (objects' meshes, distractor meshes, a scene mesh)
    made absolute against `base` (the config file's folder), and a class's `count: N` read as [N, N]."""
    world = data.get("world")
    if not isinstance(world, dict):
        return data
    world = dict(world)

    def absolute(p: Any, key: str) -> Any:
        if not isinstance(p, str):
            raise ValueError(f"{key} must be a path, got {p!r}")
        return str((base / Path(p).expanduser()).resolve())

    objects = world.get("objects")
    if isinstance(objects, list):
        out = []
        for i, o in enumerate(objects):
            if not isinstance(o, dict):
                raise ValueError(f"world.objects[{i}] must be a mapping (name, mesh, ...), got {o!r}")
            o = dict(o)
            if "mesh" in o:
                o["mesh"] = absolute(o["mesh"], f"world.objects[{i}].mesh")
            if isinstance(o.get("count"), int) and not isinstance(o.get("count"), bool):
                o["count"] = [o["count"], o["count"]]
            out.append(o)
        world["objects"] = out
    dis = world.get("distractors")
    if isinstance(dis, dict) and "meshes" in dis:
        meshes = dis["meshes"]
        meshes = [meshes] if isinstance(meshes, str) else meshes
        if not isinstance(meshes, list):
            raise ValueError(f"world.distractors.meshes must be a path or a list of paths, got {meshes!r}")
        world["distractors"] = {**dis, "meshes": [absolute(m, "world.distractors.meshes") for m in meshes]}
    scene = world.get("scene")
    if isinstance(scene, str) and scene not in ("table", "bin", "none"):
        world["scene"] = absolute(scene, "world.scene")
    return {**data, "world": world}
