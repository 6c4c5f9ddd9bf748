"""MujocoRandomizer and the Gymnasium wrapper on MJCF models that ship with Gymnasium and dm_control."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import pytest
import torch

mujoco = pytest.importorskip("mujoco")
gymnasium = pytest.importorskip("gymnasium")

from domrand.dist import Uniform  # noqa: E402
from domrand.randomizers.camera import CameraJitter  # noqa: E402
from domrand.sims.common import draws_equal  # noqa: E402
from domrand.sims.mujoco import MujocoRandomization, MujocoRandomizer  # noqa: E402


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def gym_model(name: str):
    return gymnasium.make(name).unwrapped.model


def dm_control_model(domain: str):
    suite = pytest.importorskip("dm_control.suite")
    module = getattr(__import__("dm_control.suite", fromlist=[domain]), domain)
    del suite
    xml, assets = module.get_model_and_assets()
    return mujoco.MjModel.from_xml_string(xml, assets)


MODELS = {
    "gym-ant": lambda: gym_model("Ant-v5"),
    "gym-pusher": lambda: gym_model("Pusher-v5"),  # no textures, materials or cameras
    "gym-reacher": lambda: gym_model("Reacher-v5"),  # no lights either
    "dm-cartpole": lambda: dm_control_model("cartpole"),
    "dm-walker": lambda: dm_control_model("walker"),
}


def arrays(model) -> dict[str, np.ndarray]:
    return {
        n: np.array(getattr(model, n), copy=True)
        for n in dir(model)
        if not n.startswith("_") and isinstance(getattr(model, n, None), np.ndarray)
    }


def image(model, size: int = 64) -> np.ndarray:
    try:
        renderer = mujoco.Renderer(model, size, size)
    except Exception as e:  # no OpenGL (EGL) available on this machine
        pytest.skip(f"MuJoCo cannot render here: {e}")
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    renderer.update_scene(data, camera=0 if model.ncam else -1)
    out = renderer.render().copy()
    renderer.close()
    return out


@pytest.mark.parametrize("name", list(MODELS))
def test_same_seed_same_params_and_image_different_seed_different(name):
    a, b, c = MODELS[name](), MODELS[name](), MODELS[name]()
    pa, pb = MujocoRandomizer(a).randomize(rng=gen(3)), MujocoRandomizer(b).randomize(rng=gen(3))
    pc = MujocoRandomizer(c).randomize(rng=gen(4))
    assert draws_equal(pa, pb) and not draws_equal(pa, pc)
    ia, ib, ic = image(a), image(b), image(c)
    assert np.array_equal(ia, ib)
    assert not np.array_equal(ia, ic)


@pytest.mark.parametrize("name", list(MODELS))
def test_apply_replays_exactly_and_restore_is_bit_exact(name):
    model = MODELS[name]()
    before = arrays(model)
    r, rng = MujocoRandomizer(model), gen(0)
    params = r.randomize(rng=rng)
    randomized = arrays(model)
    changed = [k for k in before if not np.array_equal(before[k], randomized[k])]
    assert changed, "randomize must change the model"
    r.randomize(rng=rng)
    r.apply(params)
    assert all(np.array_equal(randomized[k], v) for k, v in arrays(model).items()), "apply(params) must replay exactly"
    r.restore()
    after = arrays(model)
    assert [k for k in before if not np.array_equal(before[k], after[k])] == []


@pytest.mark.parametrize("name", list(MODELS))
def test_randomized_physics_runs_1000_steps_without_nan(name):
    model = MODELS[name]()
    MujocoRandomizer(model).randomize(rng=gen(1))
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    lo, hi = (model.actuator_ctrlrange[:, 0], model.actuator_ctrlrange[:, 1]) if model.nu else (None, None)
    for _ in range(1000):
        if model.nu:
            data.ctrl[:] = rng.uniform(np.where(np.isfinite(lo), lo, -1), np.where(np.isfinite(hi), hi, 1))
        mujoco.mj_step(model, data)
    assert np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all()


def test_randomizing_twice_does_not_drift():
    model = MODELS["dm-cartpole"]()
    r, rng = MujocoRandomizer(model), gen(0)
    p = r.randomize(rng=rng)
    once = arrays(model)
    for _ in range(5):
        r.randomize(rng=rng)
    r.apply(p)
    assert all(np.array_equal(once[k], v) for k, v in arrays(model).items())


def test_missing_fields_are_skipped():
    model = MODELS["gym-reacher"]()
    assert model.nlight == 0 and model.ntex == 0 and model.ncam == 0
    params = MujocoRandomizer(model).randomize(rng=gen(0))
    assert "lights" not in params and "textures" not in params and "cameras" not in params
    assert "dynamics" in params


def test_textures_reach_a_live_renderer():
    model = MODELS["gym-ant"]()
    try:
        renderer = mujoco.Renderer(model, 48, 48)
    except Exception as e:
        pytest.skip(f"MuJoCo cannot render here: {e}")
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    r, rng = MujocoRandomizer(model, lights=False, materials=False, geoms=False, cameras=False, dynamics=False), gen(0)
    r.attach_renderer(renderer)
    renderer.update_scene(data, camera=0)
    before = renderer.render().copy()
    r.randomize(rng=rng)  # only textures change: the picture changes only if they were re-uploaded
    renderer.update_scene(data, camera=0)
    after = renderer.render().copy()
    assert np.abs(after.astype(int) - before).mean() > 5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mass_scale", Uniform(-1.0, 1.0)),
        ("color_mix", Uniform(0.0, 2.0)),
        ("camera", CameraJitter(roll_deg=Uniform(-90.0, 90.0))),
    ],
)
def test_bad_range_is_one_clear_error_naming_it(field, value):
    with pytest.raises(ValueError, match=field):
        MujocoRandomization(**{field: value})
    with pytest.raises(ValueError, match="texture kinds"):
        MujocoRandomization(texture_kinds=("plaid",))


@pytest.mark.parametrize("name", ["Pusher-v5", "Ant-v5", "Reacher-v5"])
def test_gymnasium_wrapper_passes_check_env(name):
    from gymnasium.utils.env_checker import check_env

    from domrand.sims.gym import DomainRandomizationWrapper

    env = DomainRandomizationWrapper(gymnasium.make(name), seed=0, every=5)
    check_env(env, skip_render_check=True)
    obs1, _ = env.reset(seed=7)
    p1 = env.last_params
    obs2, _ = env.reset(seed=7)
    assert draws_equal(p1, env.last_params) and np.array_equal(obs1, obs2)
    for _ in range(12):
        env.step(env.action_space.sample())
    env.close()


def test_wrapper_renders_randomized_textures():
    from domrand.sims.gym import DomainRandomizationWrapper

    env = DomainRandomizationWrapper(gymnasium.make("Ant-v5", render_mode="rgb_array", width=64, height=64), seed=0)
    try:
        env.reset(seed=0)
        a = env.render()
    except Exception as e:
        pytest.skip(f"MuJoCo cannot render here: {e}")
    env.reset(seed=1)
    b = env.render()
    assert a.shape == (64, 64, 3) and np.abs(a.astype(int) - b).mean() > 5
    env.close()


def test_import_domrand_does_not_import_simulators():
    import subprocess
    import sys

    code = "import sys, domrand, domrand.generate, domrand.render; bad = [m for m in ('mujoco', 'pybullet', 'gymnasium') if m in sys.modules]; assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_applied_restores_even_when_the_block_raises():
    model = MODELS["dm-cartpole"]()
    before = arrays(model)
    r, rng = MujocoRandomizer(model), gen(0)
    params = r.sample(1, rng=rng)
    with pytest.raises(RuntimeError, match="inside"):
        with r.applied(params):
            assert not np.array_equal(arrays(model)["body_mass"], before["body_mass"])
            raise RuntimeError("inside")
    assert all(np.array_equal(before[k], v) for k, v in arrays(model).items())


def test_a_draw_is_the_randomizers_own_params_and_replays_from_json():
    """sample(n, rng) gives n draws as typed Params (cameras drawn with CameraJitter's ranges); one of them,
    through JSON and back, applies to the same model as the original; a batch of several is refused by name."""
    from domrand.sims.common import draw_from_json, draw_row, draw_to_json
    from domrand.sims.mujoco import PARAMS

    model = MODELS["gym-ant"]()
    r = MujocoRandomizer(model)
    draws = r.sample(3, rng=gen(0))
    assert {p.batch_size for p in draws.values()} == {3}
    assert set(draws) <= set(PARAMS) and {"textures", "cameras", "dynamics"} <= set(draws)
    cam = draws["cameras"]
    assert float(cam.pos_offset.abs().max()) <= 0.05 and float(cam.fovy_offset.abs().max()) <= 3.0
    with pytest.raises(ValueError, match="batch size 1"):
        r.apply(draws)
    one = draw_row(draws, 2)
    r.apply(one)
    direct = arrays(model)
    r.restore()
    r.apply(draw_from_json(draw_to_json(one), PARAMS))
    assert all(np.array_equal(direct[k], v) for k, v in arrays(model).items())


def test_regression_old_seed_argument_is_one_error_saying_what_to_do():
    """Code written for adapters that kept their own stream passes seed=; it gets the way out, not a TypeError."""
    with pytest.raises(ValueError, match=r"rng=torch.Generator\(\).manual_seed\(5\)"):
        MujocoRandomizer(MODELS["dm-cartpole"](), seed=5)


def test_regression_reflectance_shift_was_never_negative():
    """Every randomized material turned more mirror-like: the shift is now as often down as up."""
    model = MODELS["dm-cartpole"]()
    r = MujocoRandomizer(model)
    shifts = r.sample(64, rng=gen(3))["materials"].reflectance_shift
    assert (shifts < 0).float().mean() > 0.3 and (shifts > 0).float().mean() > 0.3
    model.mat_reflectance[:] = 0.5
    r = MujocoRandomizer(model)
    seen = []
    for i in range(20):
        r.randomize(rng=gen(i))
        seen.append(float(model.mat_reflectance[0]))
    r.restore()
    assert min(seen) < 0.5 < max(seen) and float(model.mat_reflectance[0]) == 0.5


def test_regression_headless_mujoco_needed_mujoco_gl(monkeypatch):
    """On a server without a display the adapter picks EGL when the user set no MUJOCO_GL."""
    from domrand.sims.common import headless_gl

    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    headless_gl()
    assert os.environ["MUJOCO_GL"] == "egl"
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    headless_gl()
    assert os.environ["MUJOCO_GL"] == "osmesa"  # the user's choice stays
