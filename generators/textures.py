"""Procedural textures, batched: every function returns (B, S, S, 3) float32 RGB in [0, 1].

Each is a pure function of explicit per-texture parameters, so a stored parameter row replays one
texture exactly. Noise is lattice noise hashed from an integer seed per texture (no generator state),
so it is batched, device-independent and replayable.

Example:
    >>> import torch
    >>> from domrand.generators import textures
    >>> rng = torch.Generator().manual_seed(0)
    >>> a, b = torch.rand(2, 3, generator=rng), torch.rand(2, 3, generator=rng)
    >>> tex = textures.checker(a, b, cells=torch.tensor([4.0, 8.0]), angle=torch.zeros(2), size=32)
    >>> tuple(tex.shape)
    (2, 32, 32, 3)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

# Every texture kind by the id a texture row stores, and the shape-based kinds' sizes: the one table that
# `domrand`'s randomizer (torch reference) and its compiled kernel both read (`texture_kinds`, no torch).
from .texture_kinds import KINDS as KINDS  # re-exported: the randomizer reads it here
from .texture_kinds import LEAVES, STROKES
from .texture_kinds import SALT as _SALT

_MASK = 0xFFFFFFFF


def _grid(size: int, device: torch.device | None = None) -> tuple[Tensor, Tensor]:
    """(S, S) u, v coordinates of texel centres in [0, 1)."""
    t = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size
    v, u = torch.meshgrid(t, t, indexing="ij")
    return u, v


def _mix(c0: Tensor, c1: Tensor, t: Tensor) -> Tensor:
    """Blend colours (B, 3) by t (B, S, S) in [0, 1] -> (B, S, S, 3)."""
    t = t.clamp(0, 1)[..., None]
    return c0[:, None, None, :] * (1 - t) + c1[:, None, None, :] * t


def _rotated(u: Tensor, v: Tensor, angle: Tensor) -> Tensor:
    """(B, S, S) coordinate along direction `angle` (radians) through the texture centre."""
    c, s = angle.cos()[:, None, None], angle.sin()[:, None, None]
    return (u - 0.5) * c + (v - 0.5) * s


def _rotated_perp(u: Tensor, v: Tensor, angle: Tensor) -> Tensor:
    c, s = angle.cos()[:, None, None], angle.sin()[:, None, None]
    return -(u - 0.5) * s + (v - 0.5) * c


def _check_colors(**kw: Tensor) -> int:
    b = None
    for name, c in kw.items():
        if c.ndim != 2 or c.shape[1] != 3:
            raise ValueError(f"{name} must be (B, 3) RGB, got {tuple(c.shape)}")
        b = c.shape[0] if b is None else b
        if c.shape[0] != b:
            raise ValueError(f"{name} has batch {c.shape[0]}, expected {b}")
    return int(b or 0)


def _check_size(size: int) -> None:
    if not (isinstance(size, int) and size >= 1):
        raise ValueError(f"texture size must be a positive int of texels, got {size!r}")


def flat(color: Tensor, size: int) -> Tensor:
    """One colour everywhere; color (B, 3) in [0, 1]."""
    _check_colors(color=color)
    _check_size(size)
    return color[:, None, None, :].expand(-1, size, size, 3).clone()


def linear_gradient(c0: Tensor, c1: Tensor, angle: Tensor, size: int) -> Tensor:
    """From c0 to c1 (B, 3) along direction `angle` (B,) radians, across the whole texture."""
    _check_colors(c0=c0, c1=c1)
    _check_size(size)
    u, v = _grid(size, c0.device)
    return _mix(c0, c1, _rotated(u, v, angle) / math.sqrt(2) + 0.5)


def radial_gradient(c0: Tensor, c1: Tensor, centre: Tensor, radius: Tensor, size: int) -> Tensor:
    """c0 at `centre` (B, 2) in UV units, reaching c1 at distance `radius` (B,) UV units."""
    _check_colors(c0=c0, c1=c1)
    _check_size(size)
    if bool((radius <= 0).any()):
        raise ValueError(f"radius must be > 0, got min {float(radius.min())}")
    u, v = _grid(size, c0.device)
    d = ((u - centre[:, 0, None, None]) ** 2 + (v - centre[:, 1, None, None]) ** 2).sqrt()
    return _mix(c0, c1, d / radius[:, None, None])


def checker(c0: Tensor, c1: Tensor, cells: Tensor, angle: Tensor, size: int) -> Tensor:
    """A checkerboard of `cells` (B,) squares across the texture, rotated by `angle` (B,) radians."""
    _check_colors(c0=c0, c1=c1)
    _check_size(size)
    if bool((cells <= 0).any()):
        raise ValueError(f"cells must be > 0, got min {float(cells.min())}")
    u, v = _grid(size, c0.device)
    a = (_rotated(u, v, angle) * cells[:, None, None]).floor()
    b = (_rotated_perp(u, v, angle) * cells[:, None, None]).floor()
    return _mix(c0, c1, ((a + b) % 2))


def stripes(c0: Tensor, c1: Tensor, count: Tensor, angle: Tensor, duty: Tensor, size: int) -> Tensor:
    """`count` (B,) stripe periods across the texture at `angle` (B,) radians; `duty` (B,) in (0, 1)."""
    _check_colors(c0=c0, c1=c1)
    _check_size(size)
    if bool(((duty <= 0) | (duty >= 1)).any()):
        raise ValueError(f"duty must be in (0, 1), got {duty.tolist()}")
    u, v = _grid(size, c0.device)
    phase = (_rotated(u, v, angle) * count[:, None, None]) % 1.0
    return _mix(c0, c1, (phase < duty[:, None, None]).to(torch.float32))


def _hash(seed: Tensor, ix: Tensor, iy: Tensor) -> Tensor:
    """Integer hash of (seed, ix, iy) -> float32 in [0, 1); 32-bit arithmetic kept inside int64."""
    h = ((seed & _MASK) * 0x27D4EB2D + (ix & _MASK) * 0x165667B1 + (iy & _MASK) * 0x61C88647) & _MASK
    h = ((h ^ (h >> 15)) * 0x2C1B3C6D) & _MASK
    h = ((h ^ (h >> 12)) * 0x297A2D39) & _MASK
    h = h ^ (h >> 15)
    return (h & 0xFFFFFF).to(torch.float32) / float(1 << 24)


def value_noise(seed: Tensor, cells: Tensor, size: int, octaves: int = 4, persistence: float = 0.5) -> Tensor:
    """Multi-octave value noise, (B, S, S) in [0, 1], tiling seamlessly.

    Args:
        seed: (B,) int64 per-texture seeds.
        cells: (B,) int64 lattice cells across the texture at the first octave (>= 1).
        size: texels.
        octaves: octaves summed, each with twice the cells.
        persistence: amplitude ratio between octaves.
    """
    _check_size(size)
    if not 1 <= octaves <= 8:
        raise ValueError(f"octaves must be in [1, 8], got {octaves}")
    if bool((cells < 1).any()):
        raise ValueError(f"cells must be >= 1, got min {int(cells.min())}")
    u, v = _grid(size, seed.device)
    b = seed.shape[0]
    total = torch.zeros(b, size, size, device=seed.device)
    amp, norm = 1.0, 0.0
    for o in range(octaves):
        n = cells * (2**o)  # (B,) lattice cells across the texture
        n_max = int(n.max())
        # Hash each lattice point once, then interpolate texels from their four corners (gathers).
        idx = torch.arange(n_max, device=seed.device)
        s = (seed * 1013 + o)[:, None, None]
        lattice = _hash(s, idx[None, None, :], idx[None, :, None]).reshape(b, n_max * n_max)
        nn = n[:, None, None]
        x, y = u * nn, v * nn
        x0, y0 = x.floor(), y.floor()
        fx, fy = x - x0, y - y0
        fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)  # smoothstep
        ix0, iy0 = x0.to(torch.int64) % nn, y0.to(torch.int64) % nn
        ix1, iy1 = (ix0 + 1) % nn, (iy0 + 1) % nn

        def at(iy: Tensor, ix: Tensor) -> Tensor:
            return torch.gather(lattice, 1, (iy * n_max + ix).reshape(b, -1)).reshape(b, size, size)  # noqa: B023

        top = at(iy0, ix0) * (1 - fx) + at(iy0, ix1) * fx
        bot = at(iy1, ix0) * (1 - fx) + at(iy1, ix1) * fx
        total = total + amp * (top * (1 - fy) + bot * fy)
        norm += amp
        amp *= persistence
    return total / norm


def noise(
    c0: Tensor, c1: Tensor, seed: Tensor, cells: Tensor, size: int, octaves: int = 4, contrast: Tensor | None = None
) -> Tensor:
    """Two colours mixed by multi-octave value noise; `contrast` (B,) stretches it about 0.5."""
    _check_colors(c0=c0, c1=c1)
    t = value_noise(seed, cells, size, octaves)
    if contrast is not None:
        t = (t - 0.5) * contrast[:, None, None] + 0.5
    return _mix(c0, c1, t)


# Textures with the statistics of photographs: occluding shapes of every size, lit relief, fibres. Their
# shapes come from the same integer hash as the noise, salted per field, so a row replays exactly.


def _field(seed: Tensor, f: int, a: Tensor, b: Tensor) -> Tensor:
    """Hash field `f` of the texture `seed` (B, 1) at integer coordinates (a, b) -> float32 in [0, 1)."""
    return _hash(seed * 1013 + (_SALT + f), a, b)


def _wrap(d: Tensor) -> Tensor:
    """Offsets on the unit torus, in [-0.5, 0.5) (the textures tile seamlessly)."""
    return d - torch.floor(d + 0.5)


def _palette(c0: Tensor, c1: Tensor, c2: Tensor, h0: Tensor, h1: Tensor, h2: Tensor) -> Tensor:
    """Colours (B, K, 3) of K shapes: between c0 and c1 by h0 (B, K), towards c2 by h1^2, at brightness
    0.55 to 1 by h2 (photographs vary more in brightness than in hue)."""
    a, b, c = c0[:, None, :], c1[:, None, :], c2[:, None, :]
    base = a + (b - a) * h0[..., None]
    col = base + (c - base) * (h1 * h1)[..., None]
    return col * (0.55 + 0.45 * h2)[..., None]


def _first_hit(inside: Tensor, value: Tensor, background: Tensor) -> Tensor:
    """Per texel, the value (B, K, S, S, 3) of the first shape k whose `inside` (B, K, S, S) holds."""
    hit = inside.any(1)
    k = inside.to(torch.int8).argmax(1)  # the first maximal index: shape 0 lies on top
    v = torch.gather(value, 1, k[:, None, :, :, None].expand(-1, 1, -1, -1, 3))[:, 0]
    return torch.where(hit[..., None], v, background)


def dead_leaves(c0: Tensor, c1: Tensor, c2: Tensor, seed: Tensor, cells: Tensor, duty: Tensor, size: int) -> Tensor:
    """Dead leaves: `LEAVES` overlapping discs and squares (shape 0 on top) in colours of the palette
    (c0, c1, c2), radii from r_max / 6 to r_max = min(1.5 / cells, 0.5) UV units with density r^-3 (the
    scale-invariant model of natural images), each shaded from flat to domed; uncovered texels are c0 / 2.

    Args:
        c0, c1, c2: (B, 3) RGB in [0, 1]. seed: (B,) int64. cells: (B,) > 0, the scale (as a checker's
            cells). duty: (B,) in [0, 1], the share of squares (rotated) among the shapes.
    """
    _check_colors(c0=c0, c1=c1, c2=c2)
    _check_size(size)
    u, v = _grid(size, c0.device)
    k = torch.arange(LEAVES, device=c0.device)[None, :]
    s = seed[:, None]

    def h(f: int) -> Tensor:
        return _field(s, f, k, torch.zeros_like(k))

    r_max = torch.clamp(1.5 / cells, max=0.5)[:, None]
    r_min = r_max / 6.0
    inv_max, inv_min = 1.0 / (r_max * r_max), 1.0 / (r_min * r_min)
    r = 1.0 / torch.sqrt(inv_max + h(2) * (inv_min - inv_max))  # (B, K), inverse-CDF of density r^-3
    square = h(3) < duty[:, None]
    rot = h(4) * (math.pi / 2)
    colour = _palette(c0, c1, c2, h(5), h(6), h(7))
    dome = 0.6 * h(8)
    dx = _wrap(u[None, None] - h(0)[..., None, None])
    dy = _wrap(v[None, None] - h(1)[..., None, None])
    ca, sa = torch.cos(rot)[..., None, None], torch.sin(rot)[..., None, None]
    x, y = dx * ca + dy * sa, dy * ca - dx * sa
    rr = (r * r)[..., None, None]
    m = torch.maximum(x.abs(), y.abs()) * 1.1284  # a square of the disc's area: half-side r * sqrt(pi) / 2
    q = torch.where(square[..., None, None], m * m, dx * dx + dy * dy) / rr
    value = colour[:, :, None, None, :] * (1.0 - dome[..., None, None] * q)[..., None]
    out = _first_hit(q < 1.0, value, (c0 * 0.5)[:, None, None, :].expand(-1, size, size, 3))
    return out.clamp(0, 1)


def stones(c0: Tensor, c1: Tensor, c2: Tensor, seed: Tensor, cells: Tensor, duty: Tensor, size: int) -> Tensor:
    """Stones: a Voronoi tiling of `cells` x `cells` jittered sites (B,), each stone a colour between c0
    and c1 at its own brightness, domed (brighter towards its middle), set in mortar of colour c2 x 0.8
    whose width grows with `duty` (B,) in [0, 1] (0.03 to 0.15 cell)."""
    _check_colors(c0=c0, c1=c1, c2=c2)
    _check_size(size)
    if bool((cells < 1).any()):
        raise ValueError(f"cells must be >= 1, got min {float(cells.min())}")
    u, v = _grid(size, c0.device)
    b = seed.shape[0]
    n = cells.floor()[:, None, None]  # (B, 1, 1)
    x, y = u[None] * n, v[None] * n
    ix, iy = x.floor(), y.floor()
    s = seed[:, None, None]
    ni = n.to(torch.int64)
    best = torch.full((b, size, size), 1e9, device=c0.device)
    second = best.clone()
    cid = torch.zeros(b, size, size, 2, dtype=torch.int64, device=c0.device)
    for dj in (-1, 0, 1):
        for di in (-1, 0, 1):
            cx, cy = ix + di, iy + dj
            wx, wy = cx.to(torch.int64) % ni, cy.to(torch.int64) % ni
            px, py = cx + _field(s, 0, wx, wy), cy + _field(s, 1, wx, wy)
            d = (x - px) * (x - px) + (y - py) * (y - py)
            closer = d < best
            second = torch.where(closer, best, torch.minimum(second, d))
            cid = torch.where(closer[..., None], torch.stack([wx, wy], -1), cid)
            best = torch.where(closer, d, best)
    edge = torch.sqrt(second) - torch.sqrt(best)  # 0 on a border, up to about 1 in a stone's middle
    h0, h1 = _field(s, 2, cid[..., 0], cid[..., 1]), _field(s, 3, cid[..., 0], cid[..., 1])
    a, c = c0[:, None, None, :], c1[:, None, None, :]
    stone = (a + (c - a) * h0[..., None]) * (0.6 + 0.4 * h1)[..., None]
    shade = 0.55 + 0.45 * torch.sqrt(torch.clamp(edge * 2.0, max=1.0))
    mortar = (0.03 + 0.12 * duty)[:, None, None]
    out = torch.where((edge < mortar)[..., None], (c2 * 0.8)[:, None, None, :], stone * shade[..., None])
    return out.clamp(0, 1)


def strokes(
    c0: Tensor, c1: Tensor, c2: Tensor, seed: Tensor, cells: Tensor, angle: Tensor, duty: Tensor, size: int
) -> Tensor:
    """Strokes: `STROKES` fibres (stroke 0 on top) on a c0 x 0.7 ground, like straw, grass or wood grain:
    segments of half-length (0.25 to 1) x 1.5 / cells UV units and half-width 0.004 to 0.016, at `angle`
    (B,) radians give or take `duty` (B,) x 90 degrees, in colours between c1 and c2 (towards c0 by a
    random share), each shaded like a round fibre (darker to its sides)."""
    _check_colors(c0=c0, c1=c1, c2=c2)
    _check_size(size)
    u, v = _grid(size, c0.device)
    k = torch.arange(STROKES, device=c0.device)[None, :]
    s = seed[:, None]

    def h(f: int) -> Tensor:
        return _field(s, f, k, torch.ones_like(k))

    theta = angle[:, None] + (h(2) - 0.5) * (math.pi * duty[:, None])
    half_len = (0.25 + 0.75 * h(3)) * (1.5 / cells[:, None])
    half_w = 0.004 + 0.012 * h(4)
    colour = _palette(c1, c2, c0, h(5), h(6), h(7))
    dx = _wrap(u[None, None] - h(0)[..., None, None])
    dy = _wrap(v[None, None] - h(1)[..., None, None])
    ca, sa = torch.cos(theta)[..., None, None], torch.sin(theta)[..., None, None]
    along, across = dx * ca + dy * sa, dy * ca - dx * sa
    t = across / half_w[..., None, None]
    inside = (along.abs() < half_len[..., None, None]) & (t.abs() < 1.0)
    value = colour[:, :, None, None, :] * (1.0 - 0.5 * t * t)[..., None]
    out = _first_hit(inside, value, (c0 * 0.7)[:, None, None, :].expand(-1, size, size, 3))
    return out.clamp(0, 1)


def blend(a: Tensor, b: Tensor, mask: Tensor) -> Tensor:
    """Per-texel mix of two texture batches (B, S, S, 3) by mask (B, S, S) in [0, 1]."""
    if a.shape != b.shape or mask.shape != a.shape[:3]:
        raise ValueError(
            f"blend needs a, b {tuple(a.shape)} and mask {tuple(a.shape[:3])}, got {tuple(b.shape)}, {tuple(mask.shape)}"
        )
    m = mask.clamp(0, 1)[..., None]
    return a * (1 - m) + b * m


def image_crops(images: Tensor, index: Tensor, crop: Tensor, tint: Tensor, size: int) -> Tensor:
    """Textures cut from photographs: a square crop of each chosen image, resized and tinted.

    Args:
        images: (N, H, W, 3) uint8 or float source images (see `load_image_folder`).
        index: (B,) int64 which image.
        crop: (B, 3) float (x0, y0, side) in fractions of the image's shorter side: top-left corner
            and edge of the square crop, so that the crop stays inside the image.
        tint: (B, 3) float RGB multipliers.
        size: output texels.
    """
    _check_size(size)
    n, h, w = images.shape[:3]
    if bool(((index < 0) | (index >= n)).any()):
        raise ValueError(f"index must be in [0, {n}), got {index.tolist()}")
    src = images.to(torch.float32)
    if images.dtype == torch.uint8:
        src = src / 255.0
    short = min(h, w)
    t = (torch.arange(size, device=images.device, dtype=torch.float32) + 0.5) / size
    side = crop[:, 2, None] * short
    xs = crop[:, 0, None] * short + t[None] * side  # (B, S) source pixel coordinates
    ys = crop[:, 1, None] * short + t[None] * side
    xi = xs.floor().clamp(0, w - 1).to(torch.int64)
    yi = ys.floor().clamp(0, h - 1).to(torch.int64)
    out = src[index[:, None, None], yi[:, :, None], xi[:, None, :]]  # (B, S, S, 3)
    return (out * tint[:, None, None, :]).clamp(0, 1)


def load_image_folder(folder: str, max_side: int = 256) -> Tensor:
    """Load every PNG/JPEG in `folder` (sorted by name) as (N, max_side, max_side, 3) uint8, centre-cropped.

    Raises:
        ValueError: the folder is missing, holds no images, or an image cannot be decoded.
    """
    from pathlib import Path

    from PIL import Image, UnidentifiedImageError

    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"texture image folder {str(root)!r} does not exist or is not a folder")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    if not files:
        raise ValueError(f"texture image folder {str(root)!r} holds no .png/.jpg/.jpeg images")
    out = []
    for p in files:
        try:
            im = Image.open(p).convert("RGB")
        except (UnidentifiedImageError, OSError) as e:
            raise ValueError(f"texture image {str(p)!r} cannot be read: {e}") from None
        s = min(im.size)
        left, top = (im.size[0] - s) // 2, (im.size[1] - s) // 2
        im = im.crop((left, top, left + s, top + s)).resize((max_side, max_side), Image.BILINEAR)
        out.append(torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).reshape(max_side, max_side, 3))
    return torch.stack(out)


def to_uint8(textures: Tensor) -> Tensor:
    """(B, S, S, 3) float [0, 1] -> uint8, rounding to nearest."""
    return (textures * 255).add_(0.5).clamp_(0, 255).to(torch.uint8)
