"""Meshes: primitives, procedural random objects, and export for physics."""

from .mesh import Mesh, box_uvs, flat_mesh, merge

__all__ = ["Mesh", "box_uvs", "flat_mesh", "merge"]
