"""The PyBullet TinyRenderer peer on the benchmark scene, for side-by-side measurements.

The scene matches `domrand.render.demo.demo_scene`: a table (1.0 x 0.8 x 0.04 m), a floor, a 5 cm
target cube and 10 distractors built from the same 200-500-triangle meshes (as GEOM_MESH), each with a
texture from a pool of 32 (`changeVisualShape`, PyBullet's cheapest way to randomize textures), a new
light direction and colour, and a camera jittered as in the localization task, every image, with
shadows; RGB, depth and segmentation are read back. Processes run in parallel and are timed between a
common barrier and the last one finishing.
"""

from __future__ import annotations

import multiprocessing as mp
import time

import numpy as np


def _scene(p, rng, distractors: int, textures: int):
    from domrand.render.demo import bench_distractors

    box = lambda he: p.createVisualShape(p.GEOM_BOX, halfExtents=he)  # noqa: E731
    bodies = [
        p.createMultiBody(0, -1, box([3, 3, 0.01]), [0, 0, -0.76]),
        p.createMultiBody(0, -1, box([0.5, 0.4, 0.02]), [0, 0, -0.02]),
    ]
    bodies.append(p.createMultiBody(0, -1, box([0.025] * 3), [0, 0, 0.025]))
    meshes = bench_distractors()
    half_z = []
    for _ in range(distractors):
        m = meshes[int(rng.integers(len(meshes)))]
        s = rng.uniform(0.02, 0.10) / float(m.extents.max())
        v = (m.vertices.double().numpy() * s).tolist()
        vs = p.createVisualShape(
            p.GEOM_MESH, vertices=v, indices=m.faces.reshape(-1).tolist(), uvs=m.uvs.double().numpy().tolist()
        )
        bodies.append(p.createMultiBody(0, -1, vs, [0, 0, 0.05]))
        half_z.append(float(m.extents[2]) * s / 2)
    import os
    import tempfile

    from PIL import Image

    tmp = tempfile.mkdtemp(prefix="domrand_peer_")
    pool = []
    for i in range(textures):
        path = os.path.join(tmp, f"{i}.png")
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)).save(path)
        pool.append(p.loadTexture(path))
    return bodies, half_z, pool


def _render_loop(size: int, n: int, seed: int, distractors: int, barrier, queue) -> None:
    import pybullet as p

    p.connect(p.DIRECT)
    rng = np.random.default_rng(seed)
    bodies, half_z, pool = _scene(p, rng, distractors, 32)
    proj_base = 45.0

    def one() -> None:
        for i, b in enumerate(bodies[2:]):
            x, y = (
                (rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2))
                if i == 0
                else (rng.uniform(-0.45, 0.45), rng.uniform(-0.35, 0.35))
            )
            z = 0.025 if i == 0 else half_z[i - 1]
            p.resetBasePositionAndOrientation(b, [x, y, z], p.getQuaternionFromEuler([0, 0, rng.uniform(0, 6.28)]))
        for b in bodies:
            p.changeVisualShape(
                b,
                -1,
                textureUniqueId=pool[int(rng.integers(len(pool)))],
                rgbaColor=[*rng.uniform(0.5, 1, 3).tolist(), 1],
            )
        eye = np.array([0.0, -0.70, 0.60]) + rng.uniform(-0.05, 0.05, 3)
        view = p.computeViewMatrix(eye.tolist(), rng.uniform(-0.03, 0.03, 3).tolist(), [0, 0, 1])
        proj = p.computeProjectionMatrixFOV(proj_base + rng.uniform(-3, 3), 1.0, 0.01, 10.0)
        light = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(1, 3)]
        p.getCameraImage(
            size,
            size,
            view,
            proj,
            lightDirection=light,
            lightColor=rng.uniform(0.7, 1, 3).tolist(),
            shadow=1,
            renderer=p.ER_TINY_RENDERER,
        )

    for _ in range(3):
        one()
    barrier.wait()
    t0 = time.perf_counter()
    for _ in range(n):
        one()
    queue.put((t0, time.perf_counter(), n))
    p.disconnect()


def measure(size: int, images: int, procs: int = 2, distractors: int = 10, seed: int = 0) -> float:
    """Images per second of `procs` PyBullet processes rendering `images` in all."""
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(procs), ctx.Queue()
    per = max(1, images // procs)
    ps = [
        ctx.Process(target=_render_loop, args=(size, per, seed + 1000 * k, distractors, barrier, queue))
        for k in range(procs)
    ]
    for pr in ps:
        pr.start()
    res = [queue.get() for _ in ps]
    for pr in ps:
        pr.join()
    wall = max(r[1] for r in res) - min(r[0] for r in res)
    return sum(r[2] for r in res) / wall
