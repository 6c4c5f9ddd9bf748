"""Renderer contracts: back ends agree, batch size changes nothing, supersampling, bad input, CUDA."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from domrand.generators.meshes import primitives
from domrand.generators.transforms import intrinsics_from_fov, look_at
from scenes import camera, scene, translation

from domrand.render import RenderConfig, Renderer
from domrand.render.demo import demo_scene
from domrand.scene import Camera


def close_camera_scenes(n: int, size: int) -> Camera:
    """Cameras low over the table and close to it, so that big triangles cross the near plane."""
    g = torch.Generator().manual_seed(5)
    eye = torch.stack(
        [torch.rand(n, generator=g) * 0.4 - 0.2, torch.full((n,), -0.3), 0.02 + 0.05 * torch.rand(n, generator=g)], -1
    )
    target = torch.stack([torch.zeros(n), torch.full((n,), 0.3), torch.zeros(n)], -1)
    fov = torch.full((n,), math.radians(80))
    return Camera(intrinsics_from_fov(fov, size, size), look_at(eye, target))


@pytest.mark.parametrize("size", [64, 97])
def test_numba_and_torch_back_ends_agree(size):
    s = demo_scene(6, size=size, rng=torch.Generator().manual_seed(size))
    close = s.replace(camera=close_camera_scenes(6, size))
    for sc in (s, close):
        a = Renderer(RenderConfig(backend="numba", normals=True)).render(sc)
        b = Renderer(RenderConfig(backend="torch", normals=True)).render(sc)
        assert torch.equal(a.instance, b.instance)
        assert torch.equal(a.depth, b.depth)
        # Shading may differ in the last bits of sqrt/pow: under one uint8 step, and tiny on average.
        assert (a.rgb - b.rgb).abs().max() < 1 / 255
        assert (a.rgb - b.rgb).abs().mean() < 1e-5
        assert (a.normals - b.normals).abs().max() < 1e-4


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_render_batch_size_changes_no_byte(backend):
    s = demo_scene(5, size=48, rng=torch.Generator().manual_seed(1))
    one = Renderer(RenderConfig(backend=backend, max_batch=1)).render(s)
    all_ = Renderer(RenderConfig(backend=backend, max_batch=5)).render(s)
    two = Renderer(RenderConfig(backend=backend, max_batch=2)).render(s)
    for a, b in ((one, all_), (two, all_)):
        assert torch.equal(a.rgb, b.rgb) and torch.equal(a.depth, b.depth) and torch.equal(a.instance, b.instance)


def test_supersampling_keeps_labels_exact_and_smooths_edges(backend):
    cam = camera((0.0, -0.6, 0.3), (0.0, 0.0, 0.0), size=(64, 64))
    s = scene([(primitives.box((0.2, 0.2, 0.2)), translation(0, 0, 0))], cam, size=(64, 64), colors=[[1.0, 1.0, 1.0]])
    plain = Renderer(RenderConfig(backend=backend)).render(s)
    aa = Renderer(RenderConfig(backend=backend, supersample=3)).render(s)
    assert torch.equal(plain.instance, aa.instance) and torch.equal(plain.depth, aa.depth)
    # Anti-aliased edges take intermediate values that the plain render cannot have.
    levels_plain = plain.rgb[0, ..., 0].unique().numel()
    levels_aa = aa.rgb[0, ..., 0].unique().numel()
    assert levels_aa > levels_plain


def test_shadows_only_darken():
    s = demo_scene(3, size=64, rng=torch.Generator().manual_seed(2))
    lit = Renderer(RenderConfig(shadows=False)).render(s)
    shadowed = Renderer(RenderConfig(shadows=True)).render(s)
    assert torch.equal(lit.instance, shadowed.instance)
    assert (shadowed.rgb <= lit.rgb + 1e-6).all()
    assert (shadowed.rgb < lit.rgb - 0.05).any()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.replace(image_size=(0, 64)), "image_size"),
        (lambda s: s.replace(near=-1.0), "near"),
        (
            lambda s: s.replace(instances=dataclasses.replace(s.instances, mesh=s.instances.mesh + 100)),
            "instances.mesh",
        ),
        (
            lambda s: s.replace(instances=dataclasses.replace(s.instances, pose=s.instances.pose[:, :, :3])),
            "instances.pose",
        ),
        (
            lambda s: s.replace(instances=dataclasses.replace(s.instances, texture=s.instances.texture + 10**6)),
            "instances.texture",
        ),
        (lambda s: s.replace(textures=s.textures.float()), "textures"),
        (lambda s: s.replace(camera=Camera(s.camera.intrinsics, s.camera.cam_to_world * 2)), "rigid"),
        (lambda s: s.replace(instances=dataclasses.replace(s.instances, scale=-s.instances.scale)), "scale"),
    ],
)
def test_bad_scene_is_one_clear_error(change, message):
    s = demo_scene(2, size=32, rng=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=message):
        Renderer().render(change(s))


def test_bad_config_is_one_clear_error():
    with pytest.raises(ValueError, match="backend"):
        RenderConfig(backend="opengl")
    with pytest.raises(ValueError, match="supersample"):
        RenderConfig(supersample=0)
    with pytest.raises(ValueError, match="max_batch"):
        RenderConfig(max_batch=0)


def test_numba_back_end_refuses_gpu_tensors():
    r = Renderer(RenderConfig(backend="numba"))
    with pytest.raises(ValueError, match="CPU"):
        r.backend_for(torch.device("cuda"))


def test_fragment_buffer_grows_when_too_small():
    s = demo_scene(2, size=48, rng=torch.Generator().manual_seed(3))
    ref = Renderer(RenderConfig(backend="torch")).render(s)
    r = Renderer(RenderConfig(backend="torch", fragments_per_scene=0.01))
    # Exercise the CUDA capacity path on the CPU: force a fixed, far too small buffer.
    r._raster_capacity_mode = True
    out = r.render(s)
    assert torch.equal(out.instance, ref.instance) and torch.equal(out.depth, ref.depth)
    assert r._fragments_per_pixel > 0.01


@pytest.mark.cuda
def test_cuda_matches_cpu(device):
    s = demo_scene(4, size=64, rng=torch.Generator().manual_seed(4))
    cpu = Renderer(RenderConfig(backend="numba")).render(s)
    gpu = Renderer(RenderConfig(backend="torch")).render(s.to(device)).to("cpu")
    assert (cpu.instance != gpu.instance).float().mean() < 1e-3
    assert (cpu.rgb - gpu.rgb).abs().mean() < 1e-3


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_silhouettes_from_render_equal_the_separate_pass_and_bound_the_visible_pixels(backend):
    s = demo_scene(4, size=48, rng=torch.Generator().manual_seed(7))
    r = Renderer(RenderConfig(backend=backend))
    slots = torch.arange(s.instances.mesh.shape[1]) >= 2
    out = r.render(s, silhouettes=slots)
    alone = r.silhouettes(s, slots=slots)
    sil = out.silhouette
    assert torch.equal(sil.area, alone.area) and torch.equal(sil.area_full, alone.area_full)
    assert torch.equal(sil.box_full, alone.box_full) and torch.equal(sil.area, r.silhouette_areas(s, slots=slots))
    visible = torch.stack([(out.instance == k).reshape(4, -1).sum(-1) for k in range(slots.numel())], 1)
    assert (visible[:, slots] <= sil.area[:, slots]).all() and (sil.area[:, ~slots] == 0).all()
    assert (sil.area <= sil.area_full).all() and (sil.area_full[:, ~slots] == 0).all()
    assert (sil.area[:, 2] > 0).all()


def test_silhouette_twins_agree_on_the_canvas_around_the_image():
    """The compiled and the torch silhouettes agree pixel for pixel on the whole canvas (areas and boxes)."""
    s = demo_scene(3, size=40, rng=torch.Generator().manual_seed(11))
    a = Renderer(RenderConfig(backend="numba")).silhouettes(s)
    b = Renderer(RenderConfig(backend="torch")).silhouettes(s)
    assert torch.equal(a.area, b.area) and torch.equal(a.area_full, b.area_full) and torch.equal(a.box_full, b.box_full)
    assert (a.area_full > a.area).any()  # the demo's table reaches past the image


def test_silhouette_of_a_cube_cut_by_the_border_equals_an_analytic_ray_cast():
    """A cube seen from above, centred left of the image border: its silhouette on the canvas (area, in-image
    area, box) equals an analytic slab test of the pixel-centre rays against the cube."""
    h, w, size = 32, 32, 0.05
    s = demo_scene(1, size=w, rng=torch.Generator().manual_seed(0))
    inst = s.instances
    visible = torch.zeros_like(inst.visible)
    visible[0, 2] = True  # the 5 cm cube alone, centred at x = y = 0 on z in [0, 0.05]
    pose = inst.pose.clone()
    pose[0, 2] = torch.eye(4)
    pose[0, 2, 2, 3] = size / 2
    inst = type(inst)(**{**inst.__dict__, "visible": visible, "pose": pose})
    eye = torch.tensor([0.01, 0.004, 0.45])
    c2w = torch.eye(4)
    c2w[:3, :3] = torch.tensor([[1.0, 0, 0], [0, -1, 0], [0, 0, -1]])  # OpenCV axes looking down -z
    c2w[:3, 3] = eye
    k = torch.tensor([[120.0, 0, -3.3], [0, 120.0, 15.2], [0, 0, 1]])
    scene = s.replace(instances=inst, camera=Camera(k[None], c2w[None]))
    sil = Renderer(RenderConfig()).silhouettes(scene)
    # analytic: rays through every canvas pixel centre, slab test against the box [-s/2, s/2]^2 x [0, s]
    ys, xs = torch.meshgrid(
        torch.arange(-h, 2 * h, dtype=torch.float64), torch.arange(-w, 2 * w, dtype=torch.float64), indexing="ij"
    )
    d_cam = torch.stack([(xs - k[0, 2]) / k[0, 0], (ys - k[1, 2]) / k[1, 1], torch.ones_like(xs)], -1)
    d = d_cam @ c2w[:3, :3].to(torch.float64).T
    lo = torch.tensor([-size / 2, -size / 2, 0.0], dtype=torch.float64)
    hi = torch.tensor([size / 2, size / 2, size], dtype=torch.float64)
    t1, t2 = (lo - eye.double()) / d, (hi - eye.double()) / d
    hit = torch.minimum(t1, t2).amax(-1) <= torch.maximum(t1, t2).amin(-1)
    inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    cols, rows = hit.any(0).nonzero()[:, 0] - w, hit.any(1).nonzero()[:, 0] - h
    assert int(sil.area_full[0, 2]) == int(hit.sum()) > int(sil.area[0, 2]) == int((hit & inside).sum()) > 0
    assert sil.box_full[0, 2].tolist() == [int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1]
    assert sil.box_full[0, 2, 0] < 0  # reaches past the left border
