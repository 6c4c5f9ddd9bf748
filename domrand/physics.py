"""Objects dropped onto a support and settled by PyBullet (placement `mode: drop`), and the convex pieces
their collision shapes are made of (a user's concave mesh decomposed by V-HACD, cached by its hash).

Pure in its inputs: the same bodies and start poses give the same rest poses (a fresh, deterministic
PyBullet world per scene; nothing carries over between scenes).

Example:
    >>> import numpy as np
    >>> cube = parts_file([np.array([[x, y, z] for x in (-0.02, 0.02) for y in (-0.02, 0.02) for z in (-0.02, 0.02)])])
    >>> sup = Support(parts=(np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.4, 0.4) for z in (-0.04, 0.0)]),))
    >>> rest = settle([(cube, 1.0)], np.array([[0.0, 0.0, 0.1]]), np.array([[0.0, 0.0, 0.0, 1.0]]), sup)
    >>> round(float(rest.position[0, 2]), 3), bool(rest.at_rest[0])
    (0.02, True)
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Simulation step, seconds; longest settling time, seconds; the velocity under which a body is at rest.
DT = 1.0 / 240.0
MAX_SECONDS = 6.0
REST_LINEAR = 1e-3  # m/s
REST_ANGULAR = 1e-2  # rad/s
FRICTION = 0.8
#: Density of every dropped body, kg/m^3 (masses from their convex volumes).
DENSITY = 500.0


@dataclass(frozen=True, eq=False)
class Support:
    """The static world the bodies land on: convex pieces (table, bin walls) and/or one concave triangle mesh
    (a user's scene), all in world coordinates, metres."""

    parts: tuple[np.ndarray, ...] = ()
    mesh: tuple[np.ndarray, np.ndarray] | None = None  # (V, 3) vertices, (F, 3) faces


@dataclass(frozen=True, eq=False)
class Rest:
    """Where the bodies came to rest: position (N, 3) metres, quaternion (N, 4) x, y, z, w, at_rest (N,) bool
    (linear speed under `REST_LINEAR` and angular under `REST_ANGULAR` at the end), and the largest
    interpenetration depth found among all contacts, metres (>= 0)."""

    position: np.ndarray
    quaternion: np.ndarray
    at_rest: np.ndarray
    penetration: float


_CLIENT = threading.local()  # one PyBullet world per thread (generate's workers may be threads of one process)


def _client():
    import pybullet

    key = os.getpid()
    if getattr(_CLIENT, "pid", None) != key:  # a forked child must not reuse its parent's connection
        _CLIENT.pid, _CLIENT.cid = key, pybullet.connect(pybullet.DIRECT)
    return pybullet, _CLIENT.cid


def settle(bodies: list[tuple[str, float]], position: np.ndarray, quaternion: np.ndarray, support: Support) -> Rest:
    """Drop bodies and step until all rest (or `MAX_SECONDS`).

    Args:
        bodies: per body, its convex pieces as an OBJ file (`parts_file`) and a uniform scale.
        position: (N, 3) start positions, metres. quaternion: (N, 4) start orientations x, y, z, w.
        support: the static world.
    """
    p, cid = _client()
    kw = {"physicsClientId": cid}
    p.resetSimulation(**kw)
    p.setGravity(0, 0, -9.81, **kw)
    p.setPhysicsEngineParameter(fixedTimeStep=DT, numSolverIterations=50, deterministicOverlappingPairs=1, **kw)
    statics = []
    if support.parts:
        shapes = [p.createCollisionShape(p.GEOM_MESH, vertices=q.tolist(), **kw) for q in support.parts]
        for s in shapes:
            statics.append(p.createMultiBody(0, s, -1, [0, 0, 0], **kw))
    if support.mesh is not None:
        v, f = support.mesh
        s = p.createCollisionShape(
            p.GEOM_MESH, vertices=v.tolist(), indices=f.reshape(-1).tolist(), flags=p.GEOM_FORCE_CONCAVE_TRIMESH, **kw
        )
        statics.append(p.createMultiBody(0, s, -1, [0, 0, 0], **kw))
    for b in statics:
        p.changeDynamics(b, -1, lateralFriction=FRICTION, collisionMargin=0.0, **kw)
    ids = []
    for (path, scale), pos, quat in zip(bodies, position, quaternion):
        shape = p.createCollisionShape(p.GEOM_MESH, fileName=path, meshScale=[scale] * 3, **kw)
        mass = DENSITY * max(_volume(path) * scale**3, 1e-7)
        b = p.createMultiBody(mass, shape, -1, pos.tolist(), quat.tolist(), **kw)
        p.changeDynamics(
            b, -1, lateralFriction=FRICTION, rollingFriction=1e-4, spinningFriction=1e-4, collisionMargin=0.0, **kw
        )
        ids.append(b)
    bodies = ids
    still = 0
    for step in range(int(MAX_SECONDS / DT)):
        p.stepSimulation(**kw)
        if step % 12 == 11:
            if all(_resting(p, b, kw) for b in bodies):
                still += 1
                if still >= 3:
                    break
            else:
                still = 0
    pos = np.array([p.getBasePositionAndOrientation(b, **kw)[0] for b in bodies]).reshape(-1, 3)
    quat = np.array([p.getBasePositionAndOrientation(b, **kw)[1] for b in bodies]).reshape(-1, 4)
    rest = np.array([_resting(p, b, kw) for b in bodies], dtype=bool)
    depth = [-c[8] for c in p.getContactPoints(**kw)]
    return Rest(pos, quat, rest, max([0.0, *depth]))


def _resting(p, body: int, kw: dict) -> bool:
    lin, ang = p.getBaseVelocity(body, **kw)
    return bool(np.linalg.norm(lin) < REST_LINEAR and np.linalg.norm(ang) < REST_ANGULAR)


@functools.lru_cache(maxsize=256)
def _volume(path: str) -> float:
    """The summed volume of the convex pieces in a parts file, cubic metres (from their hull triangles)."""
    pieces, verts, total = [], [], 0.0
    for line in Path(path).read_text().splitlines():
        if line.startswith("v "):
            verts.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("f "):
            pieces.append([int(x.split("/")[0]) - 1 for x in line.split()[1:4]])
    v = np.asarray(verts)
    for a, b, c in pieces:  # divergence theorem over the closed hulls
        total += float(np.dot(v[a], np.cross(v[b], v[c]))) / 6.0
    return abs(total)


def parts_file(pieces: list[np.ndarray]) -> str:
    """An OBJ of convex pieces (each a (P, 3) point set, metres), an `o` group and hull triangles each, cached
    by content: what PyBullet turns into one convex hull per group."""
    from scipy.spatial import ConvexHull

    key = hashlib.sha256(b"".join(np.ascontiguousarray(q, dtype=np.float64).tobytes() for q in pieces)).hexdigest()[:24]
    path = _cache() / f"{key}.obj"
    if not path.is_file():
        lines, offset = [], 1
        for i, q in enumerate(pieces):
            q = np.asarray(q, dtype=np.float64)
            try:
                hull = ConvexHull(q)
            except Exception:  # a flat piece: skip it (its neighbours carry the contact)
                continue
            used = np.unique(hull.simplices)
            remap = {int(u): k for k, u in enumerate(used)}
            lines.append(f"o part_{i}")
            lines += [f"v {x:.9g} {y:.9g} {z:.9g}" for x, y, z in q[used].tolist()]
            for tri, eq in zip(hull.simplices, hull.equations):
                a, b, c = (remap[int(t)] for t in tri)
                n = np.cross(q[tri[1]] - q[tri[0]], q[tri[2]] - q[tri[0]])
                if np.dot(n, eq[:3]) < 0:  # outward winding
                    b, c = c, b
                lines.append(f"f {a + offset} {b + offset} {c + offset}")
            offset += len(used)
        tmp = path.with_name(f"{key}.{os.getpid()}.tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, path)
    return str(path)


def _cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "domrand" / "convex"
    base.mkdir(parents=True, exist_ok=True)
    return base


def convex_parts(vertices: np.ndarray, faces: np.ndarray) -> list[np.ndarray]:
    """A concave mesh's convex pieces by PyBullet's V-HACD, cached by the mesh's hash (a few seconds the first
    time a mesh is seen, on any machine; then a file read).

    Args:
        vertices: (V, 3) metres. faces: (F, 3) indices.
    """
    v = np.ascontiguousarray(vertices, dtype=np.float64)
    f = np.ascontiguousarray(faces, dtype=np.int64)
    key = hashlib.sha256(v.tobytes() + f.tobytes()).hexdigest()[:24]
    path = _cache() / f"{key}.npz"
    if path.is_file():
        with np.load(path) as z:
            return [z[f"p{i}"] for i in range(len(z.files))]
    import pybullet

    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.obj", Path(tmp) / "out.obj"
        src.write_text(
            "".join(f"v {a:.9g} {b:.9g} {c:.9g}\n" for a, b, c in v.tolist())
            + "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in f.tolist())
        )
        _quiet(lambda: pybullet.vhacd(str(src), str(out), str(Path(tmp) / "log.txt"), resolution=50000))
        pieces, cur = [], []
        for line in out.read_text().splitlines():
            if line.startswith("o ") and cur:
                pieces.append(np.array(cur))
                cur = []
            elif line.startswith("v "):
                cur.append([float(x) for x in line.split()[1:4]])
        if cur:
            pieces.append(np.array(cur))
    pieces = [q for q in pieces if len(q) >= 4] or [v]
    tmp_path = path.with_name(f"{key}.{os.getpid()}.tmp.npz")
    np.savez(tmp_path, **{f"p{i}": q for i, q in enumerate(pieces)})
    os.replace(tmp_path, path)
    return pieces


def _quiet(fn):
    """Run fn with the C library's stdout silenced (V-HACD prints its progress there)."""
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            return fn()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
