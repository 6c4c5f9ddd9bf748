"""The compiled world transform matches the torch front end; vertex counts match the faces."""

from __future__ import annotations

import torch
from domrand.generators.meshes import primitives

from domrand.render import frontend as fe
from domrand.render.demo import demo_scene
from domrand.render.renderer import _world_geometry_numba
from domrand.scene import MeshBank
from domrand.world import used_vertices


def test_num_vertices_is_one_past_the_last_vertex_the_faces_use():
    cube, sphere = primitives.cube(), primitives.sphere()
    bank = MeshBank.from_meshes([cube, sphere])
    assert bank.num_vertices.tolist() == [int(cube.faces.max()) + 1, int(sphere.faces.max()) + 1]
    assert bank.vertices.shape[1] == max(cube.vertices.shape[0], sphere.vertices.shape[0])


def test_compiled_world_geometry_is_bit_identical_to_the_torch_front_end_on_used_rows():
    scene = demo_scene(6, size=32, rng=torch.Generator().manual_seed(3))
    pos_t, nrm_t = fe.world_geometry(scene)
    pos_n, nrm_n = _world_geometry_numba(scene)
    used = used_vertices(scene.meshes)[scene.instances.mesh]  # (B, K, V)
    assert used.any()
    assert torch.equal(pos_n[used], pos_t[used])
    torch.testing.assert_close(nrm_n[used], nrm_t[used], atol=1e-6, rtol=0)
