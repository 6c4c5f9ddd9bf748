"""Randomizer invariants checked by independent computation on the scenes they produce."""

from __future__ import annotations

import math

import pytest
import torch
from domrand.generators.cameras import fov_from_intrinsics

from domrand.config import load_config
from domrand.randomizers.texture import TextureRandomizer
from domrand.world import FIRST_DISTRACTOR, TARGET, footprint_radii

TABLETOP = load_config(overrides={"image_size": 64})


@pytest.fixture(scope="module")
def tabletop():
    pipe = TABLETOP.pipeline()
    params = pipe.sample(64, rng=torch.Generator().manual_seed(11))
    return pipe, params, pipe.scene(params)


def world_vertices(scene, slot):
    """(B, V, 3) world positions of slot `slot`'s used vertices (computed here, not by the renderer)."""
    bank, inst = scene.meshes, scene.instances
    out = []
    for b in range(scene.batch_size):
        m = int(inst.mesh[b, slot])
        used = bank.faces[m, : int(bank.num_faces[m])].reshape(-1).unique()
        v = bank.vertices[m, used].double() * inst.scale[b, slot].double()
        p = inst.pose[b, slot].double()
        out.append(v @ p[:3, :3].T + p[:3, 3])
    return out


def test_target_and_distractors_rest_on_the_table(tabletop):
    _, _params, scene = tabletop
    for v in world_vertices(scene, TARGET):
        assert abs(float(v[:, 2].min())) < 1e-6
    vis = scene.instances.visible
    for slot in range(FIRST_DISTRACTOR, scene.instances.mesh.shape[1]):
        for b, v in enumerate(world_vertices(scene, slot)):
            if vis[b, slot]:
                assert abs(float(v[:, 2].min())) < 1e-6


def test_footprints_do_not_overlap(tabletop):
    _pipe, _params, scene = tabletop
    placement = TABLETOP.placement
    vis = scene.instances.visible
    radii = footprint_radii(scene.meshes)[scene.instances.mesh] * scene.instances.scale[..., 0]
    checked = 0
    for b in range(scene.batch_size):
        slots = [TARGET] + [s for s in range(FIRST_DISTRACTOR, vis.shape[1]) if vis[b, s]]
        # Independent footprint: the largest xy distance of any world vertex from the object's centre.
        verts = {s: world_vertices(scene.slice(b, b + 1), s)[0] for s in slots}
        for i, a in enumerate(slots):
            for c in slots[i + 1 :]:
                ca, cc = scene.instances.pose[b, a, :2, 3].double(), scene.instances.pose[b, c, :2, 3].double()
                ra = float((verts[a][:, :2] - ca).norm(dim=-1).max())
                rc = float((verts[c][:, :2] - cc).norm(dim=-1).max())
                assert ra <= float(radii[b, a]) + 1e-5 and rc <= float(radii[b, c]) + 1e-5
                assert float((ca - cc).norm()) >= ra + rc + placement.gap - 1e-6
                checked += 1
    assert checked > 50


def test_targets_and_distractors_stay_in_their_regions(tabletop):
    _pipe, params, _scene = tabletop
    pl = params["placement"]
    assert (pl.target_xy[:, 0].abs() <= 0.30).all() and (pl.target_xy[:, 1].abs() <= 0.20).all()
    assert (pl.count >= 0).all() and (pl.count <= 10).all() and len(pl.count.unique()) > 5
    ext = pl.extent[pl.placed]
    assert (ext >= 0.02).all() and (ext <= 0.10).all()


def test_cameras_stay_inside_their_ranges(tabletop):
    _pipe, _, scene = tabletop
    cam = TABLETOP.camera
    eye = scene.camera.cam_to_world[:, :3, 3]
    assert ((eye - torch.tensor(cam.eye)).abs() <= 0.05 + 1e-6).all()
    fov = torch.rad2deg(fov_from_intrinsics(scene.camera.intrinsics))
    assert (fov >= 42 - 1e-4).all() and (fov <= 48 + 1e-4).all()
    # The optical axis passes within the jittered look-at box: check the look-at point's distance.
    z = scene.camera.cam_to_world[:, :3, 2]
    to_origin = torch.tensor(cam.look_at) - eye
    off_axis = (to_origin - (to_origin * z).sum(-1, keepdim=True) * z).norm(dim=-1)
    assert (off_axis <= math.sqrt(3) * 0.03 + 1e-5).all()
    roll = torch.atan2(
        -scene.camera.cam_to_world[:, 2, 0], -scene.camera.cam_to_world[:, 2, 1]
    )  # world z in image axes
    assert (roll.abs() <= math.radians(3) + math.radians(0.5)).all()


def test_target_centre_is_never_covered(tabletop):
    pipe, _params, scene = tabletop
    out = pipe.renderer.render(scene)
    k, c2w = scene.camera.intrinsics, scene.camera.cam_to_world
    centre = scene.instances.pose[:, TARGET, :3, 3]
    r = c2w[:, :3, :3]
    p = ((centre - c2w[:, :3, 3])[:, None, :] @ r)[:, 0]  # camera frame
    u = (k[:, 0, 0] * p[:, 0] / p[:, 2] + k[:, 0, 2]).round().long()
    v = (k[:, 1, 1] * p[:, 1] / p[:, 2] + k[:, 1, 2]).round().long()
    inside = (u >= 0) & (u < 64) & (v >= 0) & (v < 64)
    assert inside.all()
    assert (out.instance[torch.arange(64), v, u] == TARGET).all()


@pytest.mark.parametrize("n", [1, 10, 500])
def test_texture_pool_holds_exactly_n_distinct_textures(n):
    r = TextureRandomizer(pool_size=n, kinds=("flat", "checker", "noise"), size=16)
    pool = r.pool()
    assert pool.shape == (n, 16, 16, 3)
    assert len({t.numpy().tobytes() for t in pool}) == n


def test_texture_pool_of_flat_colours_stays_distinct_even_when_draws_collide():
    # 300 flat textures at 4 grey-ish levels would collide; the pool must still hold 300 distinct ones.
    r = TextureRandomizer(pool_size=300, kinds=("flat",), size=4)
    assert len({t.numpy().tobytes() for t in r.pool()}) == 300


def test_pool_mode_uses_only_pool_textures():
    pipe = load_config(overrides={"image_size": 32, "textures": {"pool_size": 7}}).pipeline()
    scene = pipe.scene(pipe.sample(16, rng=torch.Generator().manual_seed(0)))
    assert scene.textures.shape[0] == 7
    used = torch.cat([scene.instances.texture.reshape(-1), scene.background_texture])
    assert used.min() >= 0 and used.max() < 7


def test_a_stored_row_renders_the_same_image_alone():
    pipe = load_config(overrides={"image_size": 48}).pipeline()
    params = pipe.sample(5, rng=torch.Generator().manual_seed(3))
    batch = pipe.render(params)
    alone = pipe.render({k: p.index(2) for k, p in params.items()})
    assert torch.equal(batch.rgb[2], alone.rgb[0]) and torch.equal(batch.instance[2], alone.instance[0])


def test_grasping_object_rests_on_the_table_in_any_orientation():
    pipe = load_config("grasping", overrides={"image_size": 32, "world": {"procedural_targets": 8}}).pipeline()
    params = pipe.sample(16, rng=torch.Generator().manual_seed(0))
    scene = pipe.scene(params)
    for v in world_vertices(scene, TARGET):
        assert abs(float(v[:, 2].min())) < 1e-5
    q = params["placement"].quaternion
    assert (q.abs().std(0) > 0.1).all()  # orientations vary on every axis
