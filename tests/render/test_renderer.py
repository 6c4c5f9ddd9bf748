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
    assert torch.equal(out.silhouette, r.silhouette_areas(s, slots=slots))
    visible = torch.stack([(out.instance == k).reshape(4, -1).sum(-1) for k in range(slots.numel())], 1)
    assert (visible[:, slots] <= out.silhouette[:, slots]).all() and (out.silhouette[:, ~slots] == 0).all()
    assert (out.silhouette[:, 2] > 0).all()
