"""The texture kinds and the sizes of the shape-based kinds: the one table that the torch generators
(`generators.textures`) and domrand's compiled kernel both read, in a module of its own so that reading it
needs no torch (domrand's first-run compiling child imports the kernel before torch is loaded)."""

from __future__ import annotations

#: Every texture kind, by the id a texture row stores. New kinds are appended, so stored rows keep replaying.
KINDS = (
    "flat", "linear_gradient", "radial_gradient", "checker", "stripes", "noise", "blend", "image",
    "dead_leaves", "stones", "strokes",
)  # fmt: skip

LEAVES = 256  # shapes in a `dead_leaves` texture
STROKES = 192  # segments in a `strokes` texture
SALT = 16  # field salts start here (value noise salts its octaves 0 to 7)
