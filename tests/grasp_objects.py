"""Grasp objects built by hand for the grasp tests: a mesh as a `GraspObject` whose collision parts are the mesh's
own convex pieces, and boxes."""

from __future__ import annotations

from domrand.generators.meshes import Mesh, primitives

from domrand.tasks.grasp.objects import GraspObject

UP = [0.0, 0.0, 0.0, 1.0]  # the identity orientation (x, y, z, w quaternion): an object as built


def of_mesh(mesh: Mesh, name: str) -> GraspObject:
    """`mesh` as a grasp object named `name`, its convex pieces (`Mesh.parts`) its collision parts."""
    return GraspObject(name, mesh, tuple(mesh.parts))


def box(x: float, y: float, z: float, name: str = "box") -> GraspObject:
    """An x by y by z metre box, centred on the origin."""
    return of_mesh(primitives.box((x, y, z)), name)
