"""PyBulletRandomizer on URDFs that ship with pybullet_data: a robot arm, a mobile robot, table-top objects."""

from __future__ import annotations

import numpy as np
import pytest

pybullet = pytest.importorskip("pybullet")
pybullet_data = pytest.importorskip("pybullet_data")

from domrand.dist import Uniform  # noqa: E402
from domrand.sims.pybullet import PyBulletRandomization, PyBulletRandomizer  # noqa: E402

WORLDS = {
    "arm": ["kuka_iiwa/model.urdf"],
    "mobile": ["husky/husky.urdf"],
    "tabletop": ["table/table.urdf", "duck_vhacd.urdf", "lego/lego.urdf"],
}
POSES = {"table/table.urdf": [0, 0, 0], "duck_vhacd.urdf": [0.1, 0, 0.7], "lego/lego.urdf": [-0.1, 0.1, 0.7]}


def world(name: str) -> int:
    cid = pybullet.connect(pybullet.DIRECT)
    pybullet.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=cid)
    pybullet.setGravity(0, 0, -9.81, physicsClientId=cid)
    pybullet.loadURDF("plane.urdf", physicsClientId=cid)
    for f in WORLDS[name]:
        pybullet.loadURDF(f, POSES.get(f, [0, 0, 0.2]), physicsClientId=cid)
    return cid


def state(cid: int) -> list:
    """Everything the randomizer may touch that PyBullet can report."""
    out = []
    for i in range(pybullet.getNumBodies(physicsClientId=cid)):
        b = pybullet.getBodyUniqueId(i, physicsClientId=cid)
        out.append(
            pybullet.getVisualShapeData(b, flags=pybullet.VISUAL_SHAPE_DATA_TEXTURE_UNIQUE_IDS, physicsClientId=cid)
        )
        for link in range(-1, pybullet.getNumJoints(b, physicsClientId=cid)):
            out.append(pybullet.getDynamicsInfo(b, link, physicsClientId=cid))
    return out


def image(cid: int, r: PyBulletRandomizer) -> np.ndarray:
    view, proj = r.camera_matrices(64, 64)
    _, _, rgb, _, _ = pybullet.getCameraImage(
        64, 64, view, proj, renderer=pybullet.ER_TINY_RENDERER, physicsClientId=cid, **r.light_kwargs()
    )
    return np.asarray(rgb, dtype=np.uint8).reshape(64, 64, 4)


@pytest.fixture
def clients():
    made: list[int] = []

    def make(name: str) -> int:
        made.append(world(name))
        return made[-1]

    yield make
    for cid in made:
        pybullet.disconnect(cid)


@pytest.mark.parametrize("name", list(WORLDS))
def test_same_seed_same_params_and_image_different_seed_different(name, clients):
    a, b, c = clients(name), clients(name), clients(name)
    ra, rb, rc = PyBulletRandomizer(a, seed=2), PyBulletRandomizer(b, seed=2), PyBulletRandomizer(c, seed=3)
    pa, pb, pc = ra.randomize(), rb.randomize(), rc.randomize()
    assert pa.equal(pb) and not pa.equal(pc)
    ia, ib, ic = image(a, ra), image(b, rb), image(c, rc)
    assert np.array_equal(ia, ib)
    assert not np.array_equal(ia, ic)


@pytest.mark.parametrize("name", list(WORLDS))
def test_restore_returns_every_touched_field(name, clients):
    cid = clients(name)
    before = state(cid)
    r = PyBulletRandomizer(cid, seed=0)
    p = r.randomize()
    assert state(cid) != before
    changed = state(cid)
    r.randomize()
    r.apply(p)
    assert state(cid) == changed, "apply(params) must replay exactly"
    r.restore()
    assert state(cid) == before


@pytest.mark.parametrize("name", list(WORLDS))
def test_randomized_physics_runs_1000_steps_without_nan(name, clients):
    cid = clients(name)
    PyBulletRandomizer(cid, seed=1).randomize()
    for _ in range(1000):
        pybullet.stepSimulation(physicsClientId=cid)
    for i in range(pybullet.getNumBodies(physicsClientId=cid)):
        pos, orn = pybullet.getBasePositionAndOrientation(
            pybullet.getBodyUniqueId(i, physicsClientId=cid), physicsClientId=cid
        )
        assert np.isfinite(pos).all() and np.isfinite(orn).all()


def test_survives_a_simulation_reset(clients):
    cid = clients("tabletop")
    r = PyBulletRandomizer(cid, seed=0)
    r.randomize()
    pybullet.resetSimulation(physicsClientId=cid)
    pybullet.loadURDF("plane.urdf", physicsClientId=cid)
    pybullet.loadURDF("husky/husky.urdf", [0, 0, 0.2], physicsClientId=cid)
    fresh = state(cid)
    params = r.randomize()  # no stale handles: the new bodies are attached afresh
    assert params["links"].shape[0] == sum(
        1 + pybullet.getNumJoints(pybullet.getBodyUniqueId(i, physicsClientId=cid), physicsClientId=cid)
        for i in range(2)
    )
    assert image(cid, r).std() > 0
    r.restore()
    assert state(cid) == fresh


def test_only_the_given_bodies_are_touched(clients):
    cid = clients("tabletop")
    table = pybullet.getBodyUniqueId(1, physicsClientId=cid)
    before = state(cid)
    PyBulletRandomizer(cid, seed=0, bodies=[table]).randomize()
    after = state(cid)
    n_plane_entries = 1 + 1  # the plane's visual data and its base's dynamics come first
    assert after[:n_plane_entries] == before[:n_plane_entries]
    with pytest.raises(ValueError, match="body 99 does not exist"):
        PyBulletRandomizer(cid, seed=0, bodies=[99])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mass_scale", Uniform(-1.0, 2.0)),
        ("light_color", Uniform(0.0, 3.0)),
        ("light_elevation_deg", Uniform(0.0, 120.0)),
    ],
)
def test_bad_range_is_one_clear_error_naming_it(field, value):
    with pytest.raises(ValueError, match=field):
        PyBulletRandomization(**{field: value})


def test_regression_changetexture_is_invisible_to_tinyrenderer(clients):
    """Bug: textures were rewritten with changeTexture, which PyBullet's TinyRenderer never shows; only
    textures change here (no colours, light, camera or dynamics), and the picture must change."""
    cid = clients("tabletop")
    r = PyBulletRandomizer(cid, seed=0, colors=False, dynamics=False, light=False, camera=False)
    r.randomize()
    first = image(cid, r)
    r.randomize()
    second = image(cid, r)
    assert np.abs(second.astype(int) - first).mean() > 5
