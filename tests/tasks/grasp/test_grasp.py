"""The grasp simulator's judgement on hand-made cases, determinism, candidates, bad meshes, the report."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

pytest.importorskip("pybullet")

from domrand.generators.meshes import export, primitives
from grasp_objects import box, of_mesh
from scenes import in_pieces, piece_hulls

from domrand.tasks import checkpoint as ckpt
from domrand.tasks.grasp import candidates as cand
from domrand.tasks.grasp.dataset import GraspDataConfig, ObjectPool, label_scene
from domrand.tasks.grasp.evaluate import evaluate, wilson
from domrand.tasks.grasp.objects import GraspObjectError, from_file, from_procedural, load_folder
from domrand.tasks.grasp.ranker import GraspRanker
from domrand.tasks.grasp.sim import MAX_OPENING, Grasp, GraspSim


def rested_box(sim: GraspSim, size) -> tuple[np.ndarray, float, float]:
    """Load a box, drop it, return its centre and the yaws of its narrow and wide horizontal sides."""
    sim.load(box(*size))
    for seed in range(50):  # a drop that leaves the box on its largest face (its height is then size[2])
        pos, orn = sim.drop(seed)
        rot = np.asarray(sim.p.getMatrixFromQuaternion(orn)).reshape(3, 3)
        if abs(rot[2, 2]) > 0.99:
            break
    yaw_x = math.atan2(rot[1, 0], rot[0, 0])  # the box's x axis in the table plane
    narrow = yaw_x if size[0] < size[1] else yaw_x + math.pi / 2
    return pos, narrow, narrow + math.pi / 2


@pytest.fixture(scope="module")
def sim():
    s = GraspSim()
    yield s
    s.close()


def test_box_grasped_across_its_narrow_side_succeeds(sim):
    pos, narrow, _ = rested_box(sim, (0.04, 0.10, 0.06))
    r = sim.grasp(Grasp(pos[0], pos[1], pos[2], narrow, 0.07))
    assert r.success and all(r.touches) and r.lowest_z > 0.10


def test_grasp_in_empty_air_fails(sim):
    rested_box(sim, (0.04, 0.10, 0.06))
    r = sim.grasp(Grasp(0.35, -0.3, 0.03, 0.0, MAX_OPENING))
    assert not r.success and not any(r.touches)


def test_grasp_wider_than_the_opening_fails(sim):
    pos, _, wide = rested_box(sim, (0.04, 0.12, 0.06))  # 12 cm across: more than the 8.5 cm opening
    r = sim.grasp(Grasp(pos[0], pos[1], pos[2], wide, MAX_OPENING))
    assert not r.success


def test_same_seed_same_drop_and_same_outcomes():
    a, b = GraspSim(), GraspSim()
    obj = from_procedural(11)
    for s in (a, b):
        s.load(obj)
    pa, pb = a.drop(3), b.drop(3)
    assert np.array_equal(pa[0], pb[0]) and np.array_equal(pa[1], pb[1])
    g = Grasp(float(pa[0][0]), float(pa[0][1]), 0.03, 0.4, 0.07)
    ra, rb = a.grasp(g), b.grasp(g)
    assert ra == rb and a.grasp(g) == ra  # trials restore the rested state: repeatable
    cfg = GraspDataConfig(num_objects=5, scenes=2, candidates=6, seed=4)
    la, lb = label_scene(a, ObjectPool(cfg), cfg, 1), label_scene(b, ObjectPool(cfg), cfg, 1)
    assert all(np.array_equal(la[k], lb[k]) for k in la)
    a.close()
    b.close()


def test_centroid_baseline_closes_across_the_long_axis():
    sim = GraspSim()
    pos, narrow, _ = rested_box(sim, (0.03, 0.09, 0.04))
    from domrand.tasks.grasp.views import depth_view

    depth, k, c2w = depth_view(box(0.03, 0.09, 0.04), *sim.object_pose(), rng=None)
    points = cand.world_points(depth, k, c2w)
    g = cand.centroid_grasp(points)
    d = (g.yaw - narrow) % math.pi
    assert min(d, math.pi - d) < math.radians(8)
    assert abs(g.x - pos[0]) < 0.005 and abs(g.y - pos[1]) < 0.005 and 0.03 < g.width < 0.06
    assert sim.grasp(g).success
    crops = cand.crops(points, [g, *cand.sample(points, np.random.default_rng(0))[:3]])
    assert crops.shape == (4, 2, cand.CROP_CELLS, cand.CROP_CELLS)
    sim.close()


def test_depth_noise_does_not_put_table_pixels_in_the_object_mask():
    """Regression: with the depth noise used in training and evaluation (up to 0.5% of depth, 3.5 mm at the
    camera's 0.7 m), single table pixels rose above OBJECT_MIN_HEIGHT and joined the object, which then
    spanned the whole image; candidates through them were wider than the gripper and were dropped."""
    from domrand.tasks.grasp.views import depth_view

    size = (0.03, 0.06, 0.02)
    pos = np.array([0.05, -0.02, 0.01])
    depth, k, c2w = depth_view(box(*size), pos, np.array([0.0, 0.0, 0.0, 1.0]), rng=None)
    noisy = depth * (1 + 0.005 * np.random.default_rng(0).standard_normal(depth.shape)).astype(np.float32)
    noisy[np.random.default_rng(1).random(depth.shape) < 0.01] = 0  # missing readings
    pts = cand.object_points(cand.world_points(noisy, k, c2w))
    px = 2 * 0.7 * math.tan(math.radians(22.5)) / depth.shape[0]  # metres per pixel on the table
    assert np.all(np.abs(pts[:, :2] - pos[:2]) <= np.array(size[:2]) / 2 + px)
    assert np.ptp(pts[:, 0]) > size[0] - 2 * px and np.ptp(pts[:, 1]) > size[1] - 2 * px
    g = cand.centroid_grasp(cand.world_points(noisy, k, c2w))
    assert abs(g.x - pos[0]) < 0.003 and abs(g.y - pos[1]) < 0.003 and g.width < size[0] + 2 * cand.MARGIN + 2 * px


def test_centroid_section_is_none_exactly_where_the_object_is_wider_than_the_opening():
    """A box lying flat, seen from above: its centroid section is its narrow side, which fits the 0.085 m
    opening at 0.06 m and does not at 0.10 m (the "wide" drops of diagnose.py)."""
    from domrand.tasks.grasp.views import depth_view

    for narrow, fits in ((0.06, True), (0.10, False)):
        size = (narrow, 0.11, 0.03)
        depth, k, c2w = depth_view(box(*size), np.array([0.02, 0.01, 0.015]), np.array([0.0, 0.0, 0.0, 1.0]), rng=None)
        cx, cy, yaw, g = cand.centroid_section(cand.object_points(cand.world_points(depth, k, c2w)))
        assert abs(cx - 0.02) < 0.003 and abs(cy - 0.01) < 0.003
        assert min(yaw % math.pi, math.pi - yaw % math.pi) < math.radians(5)  # closing along x, the narrow side
        assert (g is not None) == fits
        if fits:
            assert narrow < g.width <= MAX_OPENING


def test_wilson_interval_matches_known_values():
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def bad_meshes(folder):
    export.write_obj(primitives.box((0.05, 0.03, 0.02)), folder / "good.obj")
    (folder / "empty.obj").write_text("")
    (folder / "nan.obj").write_text(
        "v nan 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nv 1 1 1\nf 1 2 3\nf 1 3 4\nf 2 3 4\nf 1 2 4\n"
    )
    (folder / "flat.obj").write_text(
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nv 2 2 0\nf 1 2 3\nf 2 4 3\nf 3 4 5\nf 1 3 5\n"
    )
    (folder / "broken.urdf").write_text(
        '<robot name="x"><link name="a"><visual><geometry><mesh filename="nowhere.obj"/></geometry></visual></link></robot>'
    )


def test_bad_meshes_are_named_and_skipped_and_the_others_still_run(tmp_path):
    bad_meshes(tmp_path)
    objects, skipped = load_folder(tmp_path)
    assert [o.name for o in objects] == ["good.obj"]
    reasons = {s["file"]: s["reason"] for s in skipped}
    assert set(reasons) == {"empty.obj", "nan.obj", "flat.obj", "broken.urdf"}
    assert (
        "empty" in reasons["empty.obj"] and "non-finite" in reasons["nan.obj"] and "degenerate" in reasons["flat.obj"]
    )
    assert "does not exist" in reasons["broken.urdf"]
    with pytest.raises(GraspObjectError, match="does not exist"):
        from_file(tmp_path / "missing.obj")
    ckpt.save(tmp_path / "r.pt", "grasp", {"model": GraspRanker(32).state_dict(), "width": 32})
    report = evaluate(str(tmp_path / "r.pt"), objects, trials=1, workers=1, skipped=skipped)
    assert report["n_trials"] == 1 and [s["file"] for s in report["skipped"]] == sorted(reasons)
    for key in ("success_rate", "ci95_low", "ci95_high"):
        assert key in report and key in report["baselines"]["centroid"] and key in report["baselines"]["random"]


def test_a_ranker_checkpoint_that_does_not_load_fails_before_any_simulation(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable domrand checkpoint"):
        evaluate(str(tmp_path / "bad.pt"), [from_procedural(0)], trials=1, workers=1)
    assert torch.is_tensor(GraspRanker()(torch.zeros(1, 2, 32, 32), torch.zeros(1)))


def test_train_grasp_accepts_an_existing_empty_run_folder(tmp_path):
    """Regression: a pre-made empty run folder made train_grasp crash with FileExistsError."""
    from domrand.tasks.grasp.dataset import generate
    from domrand.tasks.grasp.trainer import GraspTrainConfig, train_grasp

    data = tmp_path / "labels"
    generate(GraspDataConfig(objects="procedural", num_objects=1, scenes=2, seed=1), data, workers=1, quiet=True)
    (tmp_path / "run").mkdir()
    train_grasp(str(data), str(tmp_path / "run"), GraspTrainConfig(steps=2, batch_size=8, eval_every=1), quiet=True)
    assert (tmp_path / "run" / "best.pt").is_file()
    with pytest.raises(ValueError, match="not empty"):
        train_grasp(str(data), str(tmp_path / "run"), GraspTrainConfig(steps=2), quiet=True)


def test_urdf_mesh_scale_is_applied(tmp_path):
    """Regression: a URDF's `<mesh scale=...>` was ignored, so pybullet_data's jenga block (a unit cube scaled
    0.15 x 0.05 x 0.03 by its URDF) was loaded as a cube."""
    export.write_obj(primitives.box((1.0, 1.0, 1.0)), tmp_path / "cube.obj")
    (tmp_path / "block.urdf").write_text(
        '<robot name="b"><link name="a"><visual><geometry>'
        '<mesh filename="cube.obj" scale="0.15 0.05 0.03"/></geometry></visual></link></robot>'
    )
    ext = np.ptp(from_file(tmp_path / "block.urdf", scale_to=0.08).mesh.vertices.numpy(), axis=0)
    np.testing.assert_allclose(ext, [0.08, 0.08 / 3, 0.016], rtol=1e-5)
    (tmp_path / "bad.urdf").write_text(
        '<robot name="b"><link name="a"><visual><geometry>'
        '<mesh scale="1 -1 1" filename="cube.obj"/></geometry></visual></link></robot>'
    )
    with pytest.raises(GraspObjectError, match=r"bad\.urdf.*bad mesh scale '1 -1 1'"):
        from_file(tmp_path / "bad.urdf")
    objects, skipped = load_folder(tmp_path)  # cube.obj is named by a URDF: loaded through it only
    assert [o.name for o in objects] == ["block.urdf"] and [s["file"] for s in skipped] == ["bad.urdf"]


def test_a_ring_wider_than_the_opening_gets_wall_grasps_with_a_finger_in_its_hole():
    """A 12.4 cm ring lying flat: every section through its middle is wider than the 8.5 cm opening, but its
    wall is not. The sampler proposes grasps closing radially across the wall (one finger in the hole),
    which the old whole-section sampler could not, and such a grasp lifts the ring in physics."""
    from domrand.tasks.grasp.views import depth_view

    m = primitives.torus(major=0.05, minor=0.012)
    ring = of_mesh(m, "ring")
    sim = GraspSim()
    sim.load(ring)
    pos, orn = sim.drop(0)
    rot = np.asarray(sim.p.getMatrixFromQuaternion(orn)).reshape(3, 3)
    assert abs(rot[2, 2]) > 0.95  # it lies flat
    depth, k, c2w = depth_view(ring, pos, orn, rng=None)
    points = cand.world_points(depth, k, c2w)
    pts = cand.object_points(points)
    radial = []
    for g in cand.sample(points, np.random.default_rng(0), n_points=40, n_yaws=8):
        r = np.array([g.x - pos[0], g.y - pos[1]])
        if np.linalg.norm(r) < 0.03:
            continue
        d = (g.yaw - math.atan2(r[1], r[0])) % math.pi
        if min(d, math.pi - d) < math.radians(15):
            radial.append(g)
    assert radial, "no grasp closes radially across the wall"
    for g in radial:
        assert 0.024 <= g.width <= 0.06  # the wall (2.4 cm) plus margins, not the ring
        assert 0.038 < math.hypot(g.x - pos[0], g.y - pos[1]) < 0.062  # centred on the wall
        # the whole section along that line is the ring's diameter, wider than the gripper opens
        assert cand.grasp_through(pts, g.x, g.y, g.yaw, whole=True) is None
    assert any(sim.grasp(g).success for g in radial[:4])
    sim.close()


def test_labels_at_several_scales_draw_each_scenes_extent_from_the_range():
    cfg = GraspDataConfig(num_objects=3, scenes=4, candidates=4, seed=2, scale_to=0.08, scale_to_max=0.14)
    sim, pool = GraspSim(), ObjectPool(cfg)
    extents = [float(label_scene(sim, pool, cfg, s)["extent"]) for s in range(4)]
    sim.close()
    assert all(0.08 - 1e-6 <= e <= 0.14 + 1e-6 for e in extents) and len(set(extents)) == 4
    fixed = GraspDataConfig(num_objects=3, scenes=1, candidates=4, seed=2)
    sim = GraspSim()
    assert abs(float(label_scene(sim, ObjectPool(fixed), fixed, 0)["extent"]) - 0.08) < 1e-6
    sim.close()
    with pytest.raises(ValueError, match="scale_to_max"):
        GraspDataConfig(scale_to=0.1, scale_to_max=0.09)


def test_labels_of_one_procedural_family_use_its_objects_and_reject_unknown_families():
    cfg = GraspDataConfig(num_objects=2, first_seed=7, scenes=1, candidates=4, family="random_prism")
    pool = ObjectPool(cfg)
    assert pool.names() == ["random_prism_7", "random_prism_8"]
    assert pool.get(1).mesh.name == "random_prism" and pool.get(1).name == "random_prism_8"
    assert ObjectPool(GraspDataConfig(num_objects=1, first_seed=3)).get(0).name == "procedural_3"
    with pytest.raises(ValueError, match="'boxes'"):
        GraspDataConfig(family="boxes")
    with pytest.raises(ValueError, match="family 'random_prism' is for procedural objects"):
        GraspDataConfig(objects="meshes/", family="random_prism")


def test_ranker_ensemble_is_invariant_to_the_grasps_symmetries_and_averages_its_members():
    from domrand.tasks.grasp.ranker import RankerEnsemble

    torch.manual_seed(0)
    a, b = GraspRanker().eval(), GraspRanker().eval()
    x, w = torch.randn(5, 2, 32, 32), torch.rand(5) * 0.08
    with torch.no_grad():
        ens = RankerEnsemble([a, b], views=4)
        for flipped in (x.flip(-1), x.flip(-2), x.flip(-1).flip(-2)):  # fingers swapped, mirrored, both
            assert torch.allclose(ens(flipped, w), ens(x, w), atol=1e-5)
        assert not torch.allclose(a(x.flip(-2), w), a(x, w), atol=1e-3)  # a single ranker is not invariant
        one = (a(x, w) + a(x.flip(-1), w) + a(x.flip(-2), w) + a(x.flip(-1).flip(-2), w)) / 4
        two = (b(x, w) + b(x.flip(-1), w) + b(x.flip(-2), w) + b(x.flip(-1).flip(-2), w)) / 4
        assert torch.allclose(ens(x, w), (one + two) / 2, atol=1e-5)
        assert torch.allclose(RankerEnsemble([a], views=1)(x, w), a(x, w))
    with pytest.raises(ValueError, match="views"):
        RankerEnsemble([a], views=3)


def test_single_ranker_checkpoints_load_as_they_were_evaluated(tmp_path):
    """Checkpoints from before ensembles hold one ranker under "model": one member, one view, the same logits."""
    from domrand.tasks.grasp.ranker import load_ranker

    torch.manual_seed(1)
    r = GraspRanker(16).eval()
    ckpt.save(tmp_path / "old.pt", "grasp", {"model": r.state_dict(), "width": 16})
    loaded, _ = load_ranker(tmp_path / "old.pt")
    x, w = torch.randn(4, 2, 32, 32), torch.rand(4) * 0.08
    with torch.no_grad():
        assert torch.allclose(loaded(x, w), r(x, w))
    assert loaded.views == 1 and len(loaded.members) == 1


def test_train_grasp_writes_every_member_and_the_views(tmp_path):
    from domrand.tasks.grasp.dataset import generate
    from domrand.tasks.grasp.ranker import load_ranker
    from domrand.tasks.grasp.trainer import GraspTrainConfig, train_grasp

    data = tmp_path / "labels"
    generate(GraspDataConfig(objects="procedural", num_objects=2, scenes=4, seed=1), data, workers=1, quiet=True)
    cfg = GraspTrainConfig(steps=4, batch_size=8, eval_every=2, members=2, views=4)
    s = train_grasp(str(data), str(tmp_path / "run"), cfg, quiet=True)
    model, meta = load_ranker(tmp_path / "run" / "best.pt")
    assert len(model.members) == 2 and model.views == 4 and len(meta["steps"]) == 2
    members = [json.loads(line)["member"] for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert sorted(set(members)) == [0, 1]
    assert s["best_val_loss"] == pytest.approx(meta["val_loss"])
    a, b = model.members
    assert any(not torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_an_open_box_is_lifted_by_pinching_its_wall_with_a_finger_inside_not_across_its_middle(sim):
    """A `random_shell` box 12 cm long keeps its cavity in physics (one convex piece per wall): a finger lowered
    into it and one outside pinch the wall and lift the box; closing across its middle, wider than the
    opening, fails."""
    from domrand.generators.meshes import procedural

    m = procedural.random_object(16, "random_shell").scaled_to(0.12)  # a 12 x 12 x 4.3 cm tray with a floor
    assert len(m.parts) == 5
    sim.load(of_mesh(m, "tray"))
    for seed in range(50):  # a drop that leaves it open side up
        pos, orn = sim.drop(seed)
        rot = np.asarray(sim.p.getMatrixFromQuaternion(orn)).reshape(3, 3)
        if rot[2, 2] > 0.99:
            break
    assert rot[2, 2] > 0.99
    # The +x wall in the object frame: where a ray from the axis, at the rim's height, is inside a piece.
    hulls = piece_hulls(m)
    top = float(m.vertices[:, 2].max()) - 1e-3
    xs = [x for x in np.arange(0, 0.06, 5e-4) if in_pieces(np.array([x, 1e-3, top]), hulls)]
    inner, outer = min(xs), max(xs)
    assert 0.004 < outer - inner < 0.03
    yaw = math.atan2(rot[1, 0], rot[0, 0])
    wall = np.asarray(pos) + rot @ np.array([(inner + outer) / 2, 0.0, 0.0])
    r = sim.grasp(Grasp(wall[0], wall[1], pos[2], yaw, min(MAX_OPENING, outer - inner + 0.04)))
    assert r.success and all(r.touches)
    r = sim.grasp(Grasp(pos[0], pos[1], pos[2], yaw, MAX_OPENING))
    assert not r.success


def test_train_grasp_init_starts_from_a_checkpoints_weights_and_refuses_another_width(tmp_path, capsys):
    """`domrand train grasp --init CKPT` (fine-tuning): with a vanishing learning rate the run's ranker is the
    checkpoint's (without --init it is not), the checkpoint's hash is recorded, and a ranker of another width is one
    clear error before any run folder is made."""
    from domrand.cli import main
    from domrand.tasks import checkpoint as ckpt
    from domrand.tasks.grasp.dataset import generate
    from domrand.tasks.grasp.ranker import GraspRanker, load_ranker

    data = tmp_path / "labels"
    generate(GraspDataConfig(objects="procedural", num_objects=2, scenes=4, seed=1), data, workers=1, quiet=True)
    args = ["train", "grasp", "--data", str(data), "--batch-size", "8", "--quiet"]
    assert main([*args, "--steps", "4", "--out", str(tmp_path / "a")]) == 0
    a = load_ranker(tmp_path / "a" / "best.pt")[0].members[0].state_dict()
    slow = ["--steps", "1", "--lr", "1e-12", "--seed", "5"]
    assert main([*args, *slow, "--init", str(tmp_path / "a" / "best.pt"), "--out", str(tmp_path / "b")]) == 0
    assert main([*args, *slow, "--out", str(tmp_path / "c")]) == 0
    b, meta = load_ranker(tmp_path / "b" / "best.pt")
    c = load_ranker(tmp_path / "c" / "best.pt")[0].members[0]
    # the weights (a training step moves batch norm's running statistics whatever the learning rate)
    assert all(torch.allclose(a[k], v, atol=1e-6) for k, v in b.members[0].named_parameters())
    assert not all(torch.allclose(a[k], v, atol=1e-3) for k, v in c.named_parameters())
    assert meta["train_config"]["init"] == str(tmp_path / "a" / "best.pt") and len(meta["init_sha256"]) == 64

    ckpt.save(tmp_path / "wide.pt", "grasp", {"members": [GraspRanker(32).state_dict()], "width": 32})
    capsys.readouterr()
    assert main([*args, "--steps", "1", "--init", str(tmp_path / "wide.pt"), "--out", str(tmp_path / "d")]) != 0
    err = capsys.readouterr().err
    assert "width 32" in err and "Traceback" not in err and not (tmp_path / "d").exists()
