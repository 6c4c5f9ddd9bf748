"""PyBulletRandomizer on URDFs that ship with pybullet_data: a robot arm, a mobile robot, table-top objects."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pybullet = pytest.importorskip("pybullet")
pybullet_data = pytest.importorskip("pybullet_data")

from domrand.dist import IntUniform, Uniform  # noqa: E402
from domrand.randomizers.lighting import LightRandomizer  # noqa: E402
from domrand.sims.common import draws_equal  # noqa: E402
from domrand.sims.pybullet import PyBulletRandomization, PyBulletRandomizer  # noqa: E402

WORLDS = {
    "arm": ["kuka_iiwa/model.urdf"],
    "mobile": ["husky/husky.urdf"],
    "tabletop": ["table/table.urdf", "duck_vhacd.urdf", "lego/lego.urdf"],
}
POSES = {"table/table.urdf": [0, 0, 0], "duck_vhacd.urdf": [0.1, 0, 0.7], "lego/lego.urdf": [-0.1, 0.1, 0.7]}


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


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
    ra, rb, rc = PyBulletRandomizer(a), PyBulletRandomizer(b), PyBulletRandomizer(c)
    pa, pb, pc = ra.randomize(rng=gen(2)), rb.randomize(rng=gen(2)), rc.randomize(rng=gen(3))
    assert draws_equal(pa, pb) and not draws_equal(pa, pc)
    ia, ib, ic = image(a, ra), image(b, rb), image(c, rc)
    assert np.array_equal(ia, ib)
    assert not np.array_equal(ia, ic)


@pytest.mark.parametrize("name", list(WORLDS))
def test_restore_returns_every_touched_field(name, clients):
    cid = clients(name)
    before = state(cid)
    r, rng = PyBulletRandomizer(cid), gen(0)
    p = r.randomize(rng=rng)
    assert state(cid) != before
    changed = state(cid)
    r.randomize(rng=rng)
    r.apply(p)
    assert state(cid) == changed, "apply(params) must replay exactly"
    r.restore()
    assert state(cid) == before


@pytest.mark.parametrize("name", list(WORLDS))
def test_randomized_physics_runs_1000_steps_without_nan(name, clients):
    cid = clients(name)
    PyBulletRandomizer(cid).randomize(rng=gen(1))
    for _ in range(1000):
        pybullet.stepSimulation(physicsClientId=cid)
    for i in range(pybullet.getNumBodies(physicsClientId=cid)):
        pos, orn = pybullet.getBasePositionAndOrientation(
            pybullet.getBodyUniqueId(i, physicsClientId=cid), physicsClientId=cid
        )
        assert np.isfinite(pos).all() and np.isfinite(orn).all()


def test_survives_a_simulation_reset(clients):
    cid = clients("tabletop")
    r, rng = PyBulletRandomizer(cid), gen(0)
    r.randomize(rng=rng)
    pybullet.resetSimulation(physicsClientId=cid)
    pybullet.loadURDF("plane.urdf", physicsClientId=cid)
    pybullet.loadURDF("husky/husky.urdf", [0, 0, 0.2], physicsClientId=cid)
    fresh = state(cid)
    params = r.randomize(rng=rng)  # no stale handles: the new bodies are attached afresh
    assert params["links"].ids.shape[1] == sum(
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
    PyBulletRandomizer(cid, bodies=[table]).randomize(rng=gen(0))
    after = state(cid)
    n_plane_entries = 1 + 1  # the plane's visual data and its base's dynamics come first
    assert after[:n_plane_entries] == before[:n_plane_entries]
    with pytest.raises(ValueError, match="body 99 does not exist"):
        PyBulletRandomizer(cid, bodies=[99])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mass_scale", Uniform(-1.0, 2.0)),
        ("light_specular", Uniform(0.0, 3.0)),
        ("light", LightRandomizer(count=IntUniform(1, 1), intensity=Uniform(0.5, 3.0))),
        ("camera", True),
    ],
)
def test_bad_range_is_one_clear_error_naming_it(field, value):
    with pytest.raises(ValueError, match=field):
        PyBulletRandomization(**{field: value})


def test_regression_changetexture_is_invisible_to_tinyrenderer(clients):
    """Bug: textures were rewritten with changeTexture, which PyBullet's TinyRenderer never shows; only
    textures change here (no colours, light, camera or dynamics), and the picture must change."""
    cid = clients("tabletop")
    r, rng = PyBulletRandomizer(cid, colors=False, dynamics=False, light=None, camera=None), gen(0)
    r.randomize(rng=rng)
    first = image(cid, r)
    r.randomize(rng=rng)
    second = image(cid, r)
    assert np.abs(second.astype(int) - first).mean() > 5


def test_regression_every_randomizer_left_a_tmp_folder(clients, tmp_path, monkeypatch):
    """Bug: each PyBulletRandomizer made a /tmp/domrand_pb_* folder for its texture pool and never removed it."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cid = clients("tabletop")
    for seed in range(3):
        PyBulletRandomizer(cid).randomize(rng=gen(seed))
    assert list(tmp_path.iterdir()) == []


def test_light_and_camera_come_from_the_dataset_randomizers(clients):
    """The draw holds LightRandomizer's and CameraJitter's own Params; TinyRenderer's light is read from them."""
    from domrand.randomizers.camera import CameraParams
    from domrand.randomizers.lighting import LightingParams

    cid = clients("arm")
    r = PyBulletRandomizer(cid)
    p = r.randomize(rng=gen(0))
    assert isinstance(p["light"], LightingParams) and isinstance(p["camera"], CameraParams)
    kw = r.light_kwargs()
    el = float(p["light"].elevation[0, 0])
    assert np.isclose(kw["lightDirection"][2], np.sin(el), atol=1e-6)
    assert np.isclose(kw["lightDiffuseCoeff"], float(p["light"].intensity[0, 0]), atol=1e-6)
    assert abs(float(p["camera"].roll[0])) <= np.radians(3) + 1e-6


def test_regression_restore_kept_the_randomized_light(clients):
    """After restore() the light is PyBullet's own again: no randomized light keywords are handed out."""
    cid = clients("arm")
    r = PyBulletRandomizer(cid)
    r.randomize(rng=gen(1))
    assert r.light_kwargs()
    r.restore()
    assert r.light_kwargs() == {}
