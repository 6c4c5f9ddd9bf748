"""Configuration: presets load, and every bad value is one ValueError that names it."""

from __future__ import annotations

import json

import pytest

from domrand.config import DatasetConfig, load_config


@pytest.mark.parametrize("preset", ["tabletop", "grasping"])
def test_presets_load_and_serialise(preset):
    cfg = load_config(preset)
    assert isinstance(cfg, DatasetConfig)
    json.dumps(cfg.to_json())  # everything is plain JSON


def test_tabletop_preset_matches_the_task_spec():
    cfg = load_config()
    assert cfg.camera.eye == (0.0, -0.70, 0.60) and cfg.camera.fov_deg == 45.0
    assert cfg.camera.eye_jitter.bounds() == (-0.05, 0.05) and cfg.camera.roll_deg.bounds() == (-3.0, 3.0)
    assert cfg.world.table_size == (1.0, 0.8, 0.04) and cfg.world.floor_z == -0.75
    assert cfg.placement.target_x.bounds() == (-0.30, 0.30) and cfg.placement.target_y.bounds() == (-0.20, 0.20)
    assert cfg.placement.distractor_count.bounds() == (0, 10) and cfg.placement.distractor_extent.bounds() == (
        0.02,
        0.10,
    )
    g = load_config("grasping")
    assert (
        g.camera.height == 0.70
        and g.camera.tilt_deg.bounds() == (-3.0, 3.0)
        and g.camera.position_jitter.bounds() == (-0.03, 0.03)
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"textures": {"size": -4}}, "textures.size"),
        ({"image_size": -1}, "image_size"),
        ({"world": {"table_size": [1.0, -0.8, 0.04]}}, "world.table_size"),
        ({"camera": {"eye_jitter": [0.05, -0.05]}}, "camera.eye_jitter"),
        ({"lighting": {"intensity": {"kind": "uniform", "low": 2, "high": 1}}}, "lighting.intensity"),
        ({"textures": {"kinds": ["flat", "plaid"]}}, "plaid"),
        ({"textures": {"pool_size": 0}}, "textures.pool_size"),
        ({"camera": {"eye_jiter": [0, 1]}}, "camera.eye_jiter"),
        ({"colour": 3}, "colour"),
        (
            {"placement": {"distractor_count": {"kind": "intuniform", "low": 0, "high": 50}}},
            "placement.distractor_count",
        ),
        ({"lighting": {"count": {"kind": "intuniform", "low": 0, "high": 2}}}, "lighting.count"),
        ({"noise": {"blur_sigma": "lots"}}, "noise.blur_sigma"),
        ({"render": {"supersample": 9}}, "render.supersample"),
        ({"world": {"target": "teapot"}}, "teapot"),
        ({"camera": {"fov_deg": 179.0}}, "camera.fov_deg"),
        ({"noise": {"enabled": "no"}}, "noise.enabled"),
        ({"lighting": {"azimuth_deg": {"kind": "gaussian", "mean": 0}}}, "gaussian"),
    ],
)
def test_bad_value_is_one_error_naming_it(overrides, named):
    with pytest.raises(ValueError, match=named.replace(".", r"\.").replace("[", r"\[")):
        load_config(overrides=overrides)


def test_empty_image_folder_is_named(tmp_path):
    with pytest.raises(ValueError, match="holds no"):
        load_config(overrides={"textures": {"image_folder": str(tmp_path)}})


def test_yaml_file_extends_a_preset(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("preset: grasping\nimage_size: 64\nnoise: {enabled: false}\n")
    cfg = load_config(path=f)
    assert cfg.task == "grasping" and cfg.image_size == 64 and cfg.noise is None


@pytest.mark.parametrize(("text", "named"), [("a: [1,\n", "not valid YAML"), ("- 1\n- 2\n", "mapping")])
def test_bad_yaml_file_is_named(tmp_path, text, named):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ValueError, match=named):
        load_config(path=f)


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_config(path=tmp_path / "nope.yaml")


def test_unknown_preset_is_named():
    with pytest.raises(ValueError, match="unknown preset 'kitchen'"):
        load_config("kitchen")
