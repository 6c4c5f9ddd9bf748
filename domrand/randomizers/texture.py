"""Texture randomizer: a procedural texture on every surface (table, floor, target, distractors, background).

Two modes: fresh textures drawn per image (`pool_size` None, the paper's "unlimited"), or a pool of
exactly `pool_size` unique textures drawn once from `pool_seed` and reused, so that experiments can
vary the number of unique textures.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from domrand.dist import Dist, IntUniform, LogUniform, Uniform
from domrand.generators import textures as tx
from domrand.params import Params, int_field
from domrand.randomizers.base import Randomizer, check_n
from domrand.rng import generator
from domrand.scene import SceneBatch

KINDS = tx.KINDS  # a texture's kind is stored as its index in this table (owned by generators.textures)
PROCEDURAL_KINDS = tuple(k for k in KINDS if k != "image")


@dataclass(frozen=True, eq=False)
class TextureSpec(Params):
    """Parameters of N textures (one row each); `generate` turns them into pixels."""

    kind: Tensor = int_field()  # (N,) index into KINDS
    color0: Tensor  # (N, 3) RGB in [0, 1]
    color1: Tensor  # (N, 3)
    color2: Tensor  # (N, 3)
    angle: Tensor  # (N,) radians
    cells: Tensor  # (N,) checker cells / stripe periods / noise lattice cells across the texture
    duty: Tensor  # (N,) stripe duty cycle
    seed: Tensor = int_field()  # (N,) noise seed
    centre: Tensor  # (N, 2) radial gradient centre, UV units
    radius: Tensor  # (N,) radial gradient radius, UV units
    image: Tensor = int_field()  # (N,) source image index
    crop: Tensor  # (N, 3) x0, y0, side in fractions of the image's shorter side
    tint: Tensor  # (N, 3) RGB multipliers


@dataclass(frozen=True, eq=False)
class TextureParams(Params):
    """What `TextureRandomizer` drew, per scene: S = slots + 1 surfaces (the last is the background).

    In pool mode `pool_index` picks textures from the pool and `spec` rows are unused (kind -1);
    otherwise `spec` holds one texture per surface, flattened (B * S rows) and `pool_index` is -1.
    """

    pool_index: Tensor = int_field()  # (B, S)
    uv_scale: Tensor  # (B, S)
    kind: Tensor = int_field()  # (B, S), per-surface copies of the spec fields below
    color0: Tensor  # (B, S, 3)
    color1: Tensor  # (B, S, 3)
    color2: Tensor  # (B, S, 3)
    angle: Tensor  # (B, S)
    cells: Tensor  # (B, S)
    duty: Tensor  # (B, S)
    seed: Tensor = int_field()  # (B, S)
    centre: Tensor  # (B, S, 2)
    radius: Tensor  # (B, S)
    image: Tensor = int_field()  # (B, S)
    crop: Tensor  # (B, S, 3)
    tint: Tensor  # (B, S, 3)

    def spec(self) -> TextureSpec:
        """The per-surface texture parameters flattened to (B * S) rows."""
        names = [f for f in TextureSpec.__dataclass_fields__]
        return TextureSpec(**{n: getattr(self, n).reshape(-1, *getattr(self, n).shape[2:]) for n in names})


@dataclass(frozen=True)
class TextureRandomizer(Randomizer[TextureParams]):
    """Random procedural textures on every surface.

    Randomizes:
        texture kind per surface from `kinds` (all of flat, linear and radial gradient, checker,
        stripes, multi-octave value noise, a blend of two patterns, dead leaves, stones and strokes,
        and crops of `image_folder` photos when given); colours uniform in RGB; checker cells
        `checker_cells` (2 to 16, also the scale of dead leaves, stones and strokes) and
        rotation (0 to 180 deg); stripe periods `stripe_count` (2 to 12); noise lattice
        `noise_cells` (2 to 8 cells); radial radius `radial_radius` (0.2 to 0.9); image crop side
        `crop_side` (0.2 to 1) and tint `tint` (0.6 to 1.2); texture repeats per UV unit per surface
        class (`uv_scale_table`, `uv_scale_floor`, `uv_scale_target`, `uv_scale_distractor`; the
        `object_slots` slots from 2 on are the labelled objects and take `uv_scale_target`).
        With `pool_size` N, each surface takes one of N unique textures drawn once from `pool_seed`.
    """

    slots: int = 13
    object_slots: int = 1
    kinds: tuple[str, ...] = PROCEDURAL_KINDS
    size: int = 64
    pool_size: int | None = None
    pool_seed: int = 0
    image_folder: str | None = None
    checker_cells: Dist = Uniform(2.0, 16.0)
    stripe_count: Dist = Uniform(2.0, 12.0)
    noise_cells: Dist = IntUniform(2, 8)
    radial_radius: Dist = Uniform(0.2, 0.9)
    crop_side: Dist = Uniform(0.2, 1.0)
    tint: Dist = Uniform(0.6, 1.2)
    uv_scale_table: Dist = LogUniform(0.1, 0.6)
    uv_scale_floor: Dist = LogUniform(0.03, 0.2)
    uv_scale_target: Dist = LogUniform(0.7, 3.0)
    uv_scale_distractor: Dist = LogUniform(0.05, 0.4)
    params_type = TextureParams

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"textures.kinds must be a non-empty subset of {list(KINDS)}, got unknown {unknown}")
        if "image" in self.kinds and not self.image_folder:
            raise ValueError("textures.kinds includes 'image' but textures.image_folder is not set")
        if self.image_folder and "image" not in self.kinds:
            object.__setattr__(self, "kinds", (*self.kinds, "image"))
        if not (isinstance(self.size, int) and 4 <= self.size <= 1024):
            raise ValueError(f"textures.size must be an int in [4, 1024] texels, got {self.size!r}")
        if self.pool_size is not None and not (isinstance(self.pool_size, int) and self.pool_size >= 1):
            raise ValueError(f"textures.pool_size must be a positive int or null (unlimited), got {self.pool_size!r}")
        if not self.slots >= 1:
            raise ValueError(f"textures.slots must be >= 1, got {self.slots}")
        if not 1 <= self.object_slots <= max(1, self.slots - 2):
            raise ValueError(f"textures.object_slots must be in [1, slots - 2], got {self.object_slots}")
        for name in ("checker_cells", "stripe_count", "noise_cells", "radial_radius", "crop_side"):
            if not getattr(self, name).bounds()[0] > 0:
                raise ValueError(f"textures.{name} must stay > 0, got {getattr(self, name).bounds()}")
        if self.crop_side.bounds()[1] > 1:
            raise ValueError(f"textures.crop_side must stay <= 1, got {self.crop_side.bounds()}")
        for name in ("uv_scale_table", "uv_scale_floor", "uv_scale_target", "uv_scale_distractor"):
            if not getattr(self, name).bounds()[0] > 0:
                raise ValueError(f"textures.{name} must stay > 0, got {getattr(self, name).bounds()}")
        if self.image_folder:
            self.images()  # fail now, naming the folder, if it is missing or empty

    @property
    def surfaces(self) -> int:
        return self.slots + 1

    def images(self) -> Tensor:
        """The photos of `image_folder` as (N, 256, 256, 3) uint8 (cached), or an empty tensor."""
        return _load_images(self.image_folder) if self.image_folder else torch.zeros(0, 1, 1, 3, dtype=torch.uint8)

    def sample_spec(self, n: int, *, rng: torch.Generator) -> TextureSpec:
        """Parameters of n independent textures."""
        kind_ids = torch.tensor([KINDS.index(k) for k in self.kinds])
        n_img = int(self.images().shape[0])
        side = self.crop_side.sample((n,), rng=rng)
        kind = kind_ids[torch.randint(0, len(kind_ids), (n,), generator=rng)]
        checker, stripes = self.checker_cells.sample((n,), rng=rng), self.stripe_count.sample((n,), rng=rng)
        noise = self.noise_cells.sample((n,), rng=rng).to(torch.float32)
        cells = torch.where(
            kind == KINDS.index("stripes"), stripes, torch.where(kind == KINDS.index("noise"), noise, checker)
        )
        return TextureSpec(
            kind=kind,
            color0=torch.rand(n, 3, generator=rng),
            color1=torch.rand(n, 3, generator=rng),
            color2=torch.rand(n, 3, generator=rng),
            angle=torch.rand(n, generator=rng) * math.pi,
            cells=cells.round().clamp(min=1.0),
            duty=0.2 + 0.6 * torch.rand(n, generator=rng),
            seed=torch.randint(0, 2**31 - 1, (n,), generator=rng),
            centre=torch.rand(n, 2, generator=rng),
            radius=self.radial_radius.sample((n,), rng=rng),
            image=torch.randint(0, max(n_img, 1), (n,), generator=rng),
            crop=torch.cat([torch.rand(n, 2, generator=rng) * (1 - side[:, None]), side[:, None]], 1),
            tint=self.tint.sample((n, 3), rng=rng),
        )

    def generate(self, spec: TextureSpec) -> Tensor:
        """(N, size, size, 3) uint8 pixels of textures `spec` (the compiled kernel; see `generate`)."""
        return synthesize(spec, self.size, self.images())

    def pool(self) -> Tensor:
        """(pool_size, size, size, 3) uint8, exactly `pool_size` distinct textures (cached)."""
        if self.pool_size is None:
            raise ValueError("textures.pool_size is not set")
        return _pool(self)

    def sample(self, n: int, *, rng: torch.Generator) -> TextureParams:
        check_n(n)
        s = self.surfaces
        uv = torch.empty(n, s)
        uv[:, 0] = self.uv_scale_table.sample((n,), rng=rng)
        uv[:, 1] = self.uv_scale_floor.sample((n,), rng=rng)
        o = self.object_slots
        if s > 2:
            uv[:, 2] = self.uv_scale_target.sample((n,), rng=rng)
        if o > 1:
            uv[:, 3 : 2 + o] = self.uv_scale_target.sample((n, o - 1), rng=rng)
        if s > 3 + o:
            uv[:, 2 + o : -1] = self.uv_scale_distractor.sample((n, s - 3 - o), rng=rng)
        uv[:, -1] = 1.0  # the background stretches one texture over the image
        if self.pool_size is not None:
            index = torch.randint(0, self.pool_size, (n, s), generator=rng)
            spec = _empty_spec(n * s)
        else:
            index = torch.full((n, s), -1, dtype=torch.int64)
            spec = self.sample_spec(n * s, rng=rng)
        fields = {k: v.reshape(n, s, *v.shape[1:]) for k, v in spec.tensors().items()}
        return TextureParams(pool_index=index, uv_scale=uv, **fields)

    def apply(self, scene: SceneBatch, p: TextureParams) -> SceneBatch:
        b, s = p.pool_index.shape
        if s != scene.instances.mesh.shape[1] + 1:
            raise ValueError(f"texture params cover {s - 1} slots but the scene has {scene.instances.mesh.shape[1]}")
        if self.pool_size is not None:
            bank, index = self.pool(), p.pool_index
        else:
            # Only the textures a render can show: hidden slots (distractors not placed) keep zeros.
            shown = torch.cat([scene.instances.visible, torch.ones(b, 1, dtype=torch.bool)], 1).reshape(-1)
            bank = synthesize(p.spec(), self.size, self.images(), only=shown)
            index = torch.arange(b * s).reshape(b, s)
        inst = scene.instances
        inst = type(inst)(
            **{
                **inst.__dict__,
                "texture": index[:, :-1].clone(),
                "uv_scale": p.uv_scale[:, :-1].clone(),
                "color": torch.ones_like(inst.color),
            }
        )
        return scene.replace(instances=inst, textures=bank, background_texture=index[:, -1].clone())


def _empty_spec(n: int) -> TextureSpec:
    z = torch.zeros
    return TextureSpec(
        kind=torch.full((n,), -1, dtype=torch.int64), color0=z(n, 3), color1=z(n, 3), color2=z(n, 3), angle=z(n), cells=z(n),
        duty=z(n), seed=torch.zeros(n, dtype=torch.int64), centre=z(n, 2), radius=z(n), image=torch.zeros(n, dtype=torch.int64),
        crop=z(n, 3), tint=z(n, 3),
    )  # fmt: skip


def synthesize(spec: TextureSpec, size: int, images: Tensor, only: Tensor | None = None) -> Tensor:
    """Pixels (N, size, size, 3) uint8 of N texture rows, by the compiled kernel (`kernels.textures`).

    Args:
        only: optional (N,) bool: synthesize these rows; the others stay zero (textures nothing will show).
    """
    from domrand.kernels.textures import synthesize as kernel

    n = spec.kind.shape[0]
    out = torch.empty(n, size, size, 3, dtype=torch.uint8)  # the kernel writes every row whole (kind -1: zeros)
    if n == 0:
        return out
    if only is not None:
        spec = type(spec)(**{**spec.tensors(), "kind": torch.where(only, spec.kind, torch.full_like(spec.kind, -1))})
    if bool((spec.kind == KINDS.index("image")).any()) and images.shape[0] == 0:
        raise ValueError("an 'image' texture needs textures.image_folder")
    a = lambda t: t.contiguous().numpy()  # noqa: E731
    imgs = images if images.shape[0] else torch.zeros(1, 1, 1, 3, dtype=torch.uint8)
    from domrand.kernels.threads import parallel

    parallel(
        kernel, n, a(spec.kind), a(spec.color0), a(spec.color1), a(spec.color2), a(spec.angle), a(spec.cells), a(spec.duty),
        a(spec.seed), a(spec.centre), a(spec.radius), a(spec.image), a(spec.crop), a(spec.tint), a(imgs), size, out.numpy(),
    )  # fmt: skip
    return out


def generate(spec: TextureSpec, size: int, images: Tensor) -> Tensor:
    """Pixels (N, size, size, 3) uint8 of N texture rows, each by its kind (see `KINDS`), through the torch
    generators of `domrand.generators.textures`: the reference the compiled kernel is tested against."""
    n = spec.kind.shape[0]
    out = torch.zeros(n, size, size, 3)
    for kind_id, name in enumerate(KINDS):
        m = spec.kind == kind_id
        if not bool(m.any()):
            continue
        r = spec.select(m)
        if name == "flat":
            t = tx.flat(r.color0, size)
        elif name == "linear_gradient":
            t = tx.linear_gradient(r.color0, r.color1, r.angle, size)
        elif name == "radial_gradient":
            t = tx.radial_gradient(r.color0, r.color1, r.centre, r.radius, size)
        elif name == "checker":
            t = tx.checker(r.color0, r.color1, r.cells, r.angle, size)
        elif name == "stripes":
            t = tx.stripes(r.color0, r.color1, r.cells, r.angle, r.duty, size)
        elif name == "noise":
            t = tx.noise(r.color0, r.color1, r.seed, r.cells.to(torch.int64), size)
        elif name == "blend":
            a = tx.checker(r.color0, r.color1, r.cells, r.angle, size)
            g = tx.linear_gradient(r.color2, r.color1, r.angle + math.pi / 2, size)
            t = tx.blend(a, g, tx.value_noise(r.seed, torch.full_like(r.seed, 2), size, octaves=3))
        elif name == "dead_leaves":
            t = tx.dead_leaves(r.color0, r.color1, r.color2, r.seed, r.cells, r.duty, size)
        elif name == "stones":
            t = tx.stones(r.color0, r.color1, r.color2, r.seed, r.cells, r.duty, size)
        elif name == "strokes":
            t = tx.strokes(r.color0, r.color1, r.color2, r.seed, r.cells, r.angle, r.duty, size)
        else:
            if images.shape[0] == 0:
                raise ValueError("an 'image' texture needs textures.image_folder")
            t = tx.image_crops(images, r.image, r.crop, r.tint, size)
        out[m] = t
    return tx.to_uint8(out)


@functools.lru_cache(maxsize=4)
def _load_images(folder: str) -> Tensor:
    return tx.load_image_folder(folder)


@functools.lru_cache(maxsize=4)
def _pool(r: TextureRandomizer) -> Tensor:
    n = int(r.pool_size or 0)
    rng = generator(r.pool_seed, 0x7E)
    pixels = r.generate(r.sample_spec(n, rng=rng))
    digests = [hashlib.blake2b(t.numpy().tobytes(), digest_size=16).digest() for t in pixels]
    seen: dict[bytes, int] = {}
    for _ in range(100):
        dup = []
        seen.clear()
        for i, d in enumerate(digests):
            if d in seen:
                dup.append(i)
            else:
                seen[d] = i
        if not dup:
            return pixels
        fresh = r.generate(r.sample_spec(len(dup), rng=rng))
        for j, i in enumerate(dup):
            pixels[i] = fresh[j]
            digests[i] = hashlib.blake2b(fresh[j].numpy().tobytes(), digest_size=16).digest()
    raise ValueError(f"could not draw {n} distinct textures with textures.kinds={list(r.kinds)} at size {r.size}")
