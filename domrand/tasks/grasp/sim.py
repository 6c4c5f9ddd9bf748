"""The grasping task's physics (experiments/tasks/grasping.md) in PyBullet, deterministic for a seed.

World: z up, metres; the table top is z = 0 (a static box, friction 1.0). One object per trial (mass
0.1 kg, lateral friction 1.0), dropped from a random orientation with its lowest point 0.1 m above the
table at x, y in [-0.10, 0.10], then simulated until it rests (or 2 s).

Gripper: free-floating parallel jaw, two box fingers 0.02 (closing direction) x 0.02 x 0.05 m, opening up
to 0.085 m, each pushing with at most 40 N, friction 1.0. A grasp is (x, y, z, yaw, width): the point
between the fingers' centres, the closing direction's angle in the table plane, the opening. The gripper
starts 0.15 m above the grasp point, opened to `width`, moves straight down (stopping early if it touches
the table), closes, lifts 0.20 m in 1 s and holds 1 s. Success: the object's lowest point is more than
0.10 m above the table and it touches both fingers.

Example:
    >>> from domrand.tasks.grasp.objects import from_procedural                       # doctest: +SKIP
    >>> sim = GraspSim(); sim.load(from_procedural(3)); sim.drop(seed=0)       # doctest: +SKIP
    >>> sim.grasp(Grasp(0.0, 0.0, 0.02, 0.0, 0.08)).success                    # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from domrand.tasks.grasp.objects import GraspObject

DT = 1.0 / 240.0
FINGER = (0.02, 0.02, 0.05)  # along the closing direction, across it, height (metres)
MAX_OPENING = 0.085
FINGER_FORCE = 40.0
FRICTION = 1.0
OBJECT_MASS = 0.1
APPROACH, LIFT = 0.15, 0.20
DESCEND_S, CLOSE_S, LIFT_S, HOLD_S, SETTLE_S = 0.5, 0.5, 1.0, 1.0, 2.0
SUCCESS_HEIGHT = 0.10
PARK = (0.0, 0.0, 2.0)
EXECUTION_NOISE_M = 0.001  # `jittered`: standard deviation of the grasp centre's x and y, metres
EXECUTION_NOISE_RAD = math.radians(1.0)  # and of its yaw, radians
# The fast trial (`GraspSim(fast=True)`): every FAST_CHECK steps it asks whether the close or the hold can end.
FAST_CHECK = 4
REST_CHECKS = 3  # consecutive checks at rest that end the close or the hold early
REST_LINEAR, REST_ANGULAR, REST_JOINT = 2e-3, 2e-2, 1e-3  # m/s, rad/s (every object), m/s (each finger): at rest
CLOSED_ON_NOTHING = 1e-3  # metres: an opening this small has nothing between the fingers


@dataclass(frozen=True)
class Grasp:
    """A top-down grasp: centre (x, y, z) metres (z: the fingers' centre height; their tips are `FINGER[2] / 2`
    lower), yaw of the closing direction (radians), opening (metres)."""

    x: float
    y: float
    z: float
    yaw: float
    width: float

    def clipped(self) -> Grasp:
        return Grasp(self.x, self.y, max(self.z, 0.0), self.yaw, float(min(max(self.width, 0.0), MAX_OPENING)))


def jittered(g: Grasp, rng: np.random.Generator) -> Grasp:
    """`g` as a robot would execute it: centre moved by N(0, EXECUTION_NOISE_M) in x and y, yaw turned by
    N(0, EXECUTION_NOISE_RAD). A grasp whose outcome flips under such noise is a coin toss, not a success."""
    dx, dy, dyaw = rng.normal(0.0, [EXECUTION_NOISE_M, EXECUTION_NOISE_M, EXECUTION_NOISE_RAD])
    return Grasp(g.x + float(dx), g.y + float(dy), g.z, g.yaw + float(dyaw), g.width)


def moved(g: Grasp, along: float, across: float, dyaw: float) -> Grasp:
    """`g` with its centre moved `along` (metres, in the closing direction) and `across` (metres, to its left
    in the table plane) and its yaw turned by `dyaw` (radians); height and opening kept."""
    c, s = math.cos(g.yaw), math.sin(g.yaw)
    return Grasp(g.x + along * c - across * s, g.y + along * s + across * c, g.z, g.yaw + dyaw, g.width)


@dataclass(frozen=True)
class GraspResult:
    success: bool
    lowest_z: float  # the object's lowest point after the hold, metres
    touches: tuple[bool, bool]  # contact with each finger after the hold
    stopped_on_table: bool


class GraspSim:
    """One PyBullet world with the table, the gripper and one object at a time.

    `fast`: the trial skips what cannot change its outcome (`_close_lift_hold_fast`): the close ends once
    everything rests, the hold too, the lift and hold end once the fingers have closed on nothing, and in a pile
    the objects left below the held one are taken away. The reference (the default) runs every phase to its end.
    """

    def __init__(self, fast: bool = False) -> None:
        import pybullet

        self.p = pybullet
        self.fast = fast
        self.cid = pybullet.connect(pybullet.DIRECT)
        self.obj: int | None = None
        self.rest: tuple[list[float], list[float]] | None = None

    def close(self) -> None:
        self.p.disconnect(self.cid)

    def _kw(self) -> dict:
        return {"physicsClientId": self.cid}

    def load(self, obj: GraspObject) -> None:
        """A fresh world with `obj` lying in it (not yet dropped)."""
        p, kw = self.p, self._kw()
        p.resetSimulation(**kw)
        self.obj = None
        p.setGravity(0, 0, -9.81, **kw)
        p.setPhysicsEngineParameter(fixedTimeStep=DT, numSolverIterations=100, deterministicOverlappingPairs=1, **kw)
        table = p.createMultiBody(
            0, p.createCollisionShape(p.GEOM_BOX, halfExtents=[0.5, 0.4, 0.02], **kw), -1, [0, 0, -0.02], **kw
        )
        p.changeDynamics(table, -1, lateralFriction=FRICTION, **kw)
        self.table = table
        self.col = p.createCollisionShape(p.GEOM_MESH, fileName=str(_parts_file(obj)), **kw)  # one convex hull per part
        self._make_gripper()
        self._spawn([0, 0, 0.5], [0, 0, 0, 1])
        self.rest = None

    def _spawn(self, pos: list[float], orn: list[float]) -> None:
        """(Re)create the object body: a new body carries no contact cache from earlier trials."""
        p, kw = self.p, self._kw()
        if getattr(self, "obj", None) is not None:
            p.removeBody(self.obj, **kw)
        self.obj = p.createMultiBody(OBJECT_MASS, self.col, -1, pos, orn, **kw)
        p.changeDynamics(self.obj, -1, lateralFriction=FRICTION, spinningFriction=0.001, rollingFriction=0.0, **kw)

    def _make_gripper(self) -> None:
        p, kw = self.p, self._kw()
        fx, fy, fz = FINGER
        palm_half = [MAX_OPENING / 2 + fx + 0.005, fy / 2 + 0.005, 0.01]
        palm = p.createCollisionShape(p.GEOM_BOX, halfExtents=palm_half, **kw)
        finger = p.createCollisionShape(p.GEOM_BOX, halfExtents=[fx / 2, fy / 2, fz / 2], **kw)
        z_palm = fz / 2 + palm_half[2]
        self.gripper = p.createMultiBody(
            0.5, palm, -1, [PARK[0], PARK[1], PARK[2] + z_palm], [0, 0, 0, 1], linkMasses=[0.05, 0.05], linkCollisionShapeIndices=[finger, finger],
            linkVisualShapeIndices=[-1, -1], linkPositions=[[0, 0, -z_palm], [0, 0, -z_palm]], linkOrientations=[[0, 0, 0, 1]] * 2,
            linkInertialFramePositions=[[0, 0, 0]] * 2, linkInertialFrameOrientations=[[0, 0, 0, 1]] * 2, linkParentIndices=[0, 0],
            linkJointTypes=[p.JOINT_PRISMATIC, p.JOINT_PRISMATIC], linkJointAxis=[[1, 0, 0], [1, 0, 0]], **kw,
        )  # fmt: skip
        self.z_palm = z_palm
        for link in (0, 1):
            p.changeDynamics(self.gripper, link, lateralFriction=FRICTION, spinningFriction=0.002, **kw)
        self.hold = p.createConstraint(
            self.gripper, -1, -1, -1, p.JOINT_FIXED, [0, 0, 0], [0, 0, 0], [PARK[0], PARK[1], PARK[2] + z_palm], **kw
        )
        p.changeConstraint(self.hold, maxForce=2000, **kw)
        self._fingers(MAX_OPENING, reset=True)

    def _fingers(self, width: float, reset: bool = False) -> None:
        """Drive (or set) the fingers to an opening of `width` metres between their inner faces."""
        p, kw = self.p, self._kw()
        q = width / 2 + FINGER[0] / 2
        for link, sign in ((0, -1.0), (1, 1.0)):
            if reset:
                p.resetJointState(self.gripper, link, sign * q, **kw)
            p.setJointMotorControl2(
                self.gripper,
                link,
                p.POSITION_CONTROL,
                targetPosition=sign * q,
                force=FINGER_FORCE,
                maxVelocity=0.2,
                **kw,
            )

    def _place(self, pos: tuple[float, float, float], yaw: float) -> None:
        """Move the constraint so that the point between the fingers' centres goes to `pos`."""
        orn = self.p.getQuaternionFromEuler([0, 0, yaw])
        self.p.changeConstraint(self.hold, [pos[0], pos[1], pos[2] + self.z_palm], orn, maxForce=2000, **self._kw())

    def _teleport(self, pos: tuple[float, float, float], yaw: float, width: float) -> None:
        orn = self.p.getQuaternionFromEuler([0, 0, yaw])
        self.p.resetBasePositionAndOrientation(self.gripper, [pos[0], pos[1], pos[2] + self.z_palm], orn, **self._kw())
        self.p.resetBaseVelocity(self.gripper, [0, 0, 0], [0, 0, 0], **self._kw())
        self._place(pos, yaw)
        self._fingers(width, reset=True)

    def drop(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Drop the object from a random pose (seeded) and let it rest; returns its (position, xyzw quaternion)."""
        p, kw = self.p, self._kw()
        rng = np.random.default_rng(seed)
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        xy = rng.uniform(-0.10, 0.10, 2)
        p.resetBasePositionAndOrientation(self.obj, [0, 0, 1.0], q.tolist(), **kw)
        low = p.getAABB(self.obj, **kw)[0][2]
        p.resetBasePositionAndOrientation(self.obj, [xy[0], xy[1], 1.0 - low + 0.10], q.tolist(), **kw)
        still = 0
        for _ in range(int(SETTLE_S / DT)):
            p.stepSimulation(**kw)
            lin, ang = p.getBaseVelocity(self.obj, **kw)
            still = still + 1 if np.linalg.norm(lin) < 2e-3 and np.linalg.norm(ang) < 2e-2 else 0
            if still >= 20:
                break
        pos, orn = p.getBasePositionAndOrientation(self.obj, **kw)
        self.rest = (list(pos), list(orn))
        return np.asarray(pos), np.asarray(orn)

    def object_pose(self) -> tuple[np.ndarray, np.ndarray]:
        pos, orn = self.p.getBasePositionAndOrientation(self.obj, **self._kw())
        return np.asarray(pos), np.asarray(orn)

    def _close_lift_hold(self, g: Grasp, z: float) -> None:
        """A trial after the approach: close the fingers, lift `LIFT` from height z in `LIFT_S`, hold `HOLD_S`."""
        if self.fast:
            self._close_lift_hold_fast(g, z)
            return
        p, kw = self.p, self._kw()
        self._fingers(0.0)
        for _ in range(int(CLOSE_S / DT)):
            p.stepSimulation(**kw)
        n = int(LIFT_S / DT)
        for i in range(1, n + 1):
            self._place((g.x, g.y, z + LIFT * i / n), g.yaw)
            p.stepSimulation(**kw)
        for _ in range(int(HOLD_S / DT)):
            p.stepSimulation(**kw)

    def _close_lift_hold_fast(self, g: Grasp, z: float) -> None:
        """`_close_lift_hold` less what cannot change the outcome, asked every `FAST_CHECK` steps: the close ends
        once the objects and the fingers rest (`_at_rest`, `REST_CHECKS` checks in a row: the rest of it would
        only hold still), the hold likewise; the lift and the hold end once the fingers have closed on nothing
        (`_closed_on_nothing`: no object can be held then); during the lift, the objects left below a held one are
        taken away (`_clear_below`, a pile's: they can no longer touch it or the fingers, and cost every step).
        On fresh labeller samples it decided as the reference did on every grasp (288 of 288 in piles, 276 of
        276 single objects); on the piles its rules were tuned on, 705 -> 501 steps a grasp."""
        p, kw = self.p, self._kw()
        self._fingers(0.0)
        if self._until_rest(int(CLOSE_S / DT)):
            return
        n = int(LIFT_S / DT)
        cleared = False
        for i in range(1, n + 1):
            self._place((g.x, g.y, z + LIFT * i / n), g.yaw)
            p.stepSimulation(**kw)
            if i % FAST_CHECK == 0:
                if self._closed_on_nothing():
                    return
                cleared = cleared or self._clear_below()
        self._until_rest(int(HOLD_S / DT))

    def _until_rest(self, steps: int) -> bool:
        """Step at most `steps` times, until everything rests (`_at_rest` at `REST_CHECKS` checks in a row, one
        every `FAST_CHECK` steps); True if the fingers closed on nothing first (the trial is decided)."""
        still = 0
        for i in range(1, steps + 1):
            self.p.stepSimulation(**self._kw())
            if i % FAST_CHECK == 0:
                if self._closed_on_nothing():
                    return True
                still = still + 1 if self._at_rest() else 0
                if still >= REST_CHECKS:
                    return False
        return False

    def _objects(self) -> list[int]:
        """The bodies a trial can lift."""
        return [self.obj] if self.obj is not None else []

    def _at_rest(self) -> bool:
        """Every object and both fingers slower than `REST_LINEAR`, `REST_ANGULAR` and `REST_JOINT`."""
        p, kw = self.p, self._kw()
        for b in self._objects():
            lin, ang = p.getBaseVelocity(b, **kw)
            if lin[0] ** 2 + lin[1] ** 2 + lin[2] ** 2 > REST_LINEAR**2:
                return False
            if ang[0] ** 2 + ang[1] ** 2 + ang[2] ** 2 > REST_ANGULAR**2:
                return False
        return all(abs(j[1]) <= REST_JOINT for j in p.getJointStates(self.gripper, [0, 1], **kw))

    def _closed_on_nothing(self) -> bool:
        """The fingers' inner faces closer than `CLOSED_ON_NOTHING`: nothing is between them."""
        a, b = (j[0] for j in self.p.getJointStates(self.gripper, [0, 1], **self._kw()))
        return (b - a) - FINGER[0] < CLOSED_ON_NOTHING

    def _clear_below(self) -> bool:
        """Take away the objects that can no longer matter to the lift (`ClutterSim`: those below a held one);
        True once done. One object: nothing to take away."""
        return True

    def grasp(self, g: Grasp) -> GraspResult:
        """Run one trial from the rested pose (the object is re-created there, so trials do not interact)."""
        p, kw = self.p, self._kw()
        if self.rest is None:
            raise RuntimeError("drop() the object before grasping")
        self._spawn(*self.rest)
        g = g.clipped()
        start = (g.x, g.y, g.z + APPROACH)
        self._teleport(start, g.yaw, g.width)
        n = int(DESCEND_S / DT)
        z = start[2]
        stopped = False
        for i in range(1, n + 1):
            z = start[2] - APPROACH * i / n
            self._place((g.x, g.y, z), g.yaw)
            p.stepSimulation(**kw)
            if p.getContactPoints(self.gripper, self.table, **kw):
                stopped = True
                break
        self._close_lift_hold(g, z)
        lowest = p.getAABB(self.obj, **kw)[0][2]
        touches = tuple(bool(p.getContactPoints(self.obj, self.gripper, -1, link, **kw)) for link in (0, 1))
        success = lowest > SUCCESS_HEIGHT and all(touches)
        self._teleport(PARK, 0.0, MAX_OPENING)
        return GraspResult(bool(success), float(lowest), touches, stopped)  # type: ignore[arg-type]


def _parts_file(obj: GraspObject) -> Path:
    """The object's convex parts as an OBJ with one `o` group each (PyBullet makes each a convex hull)."""
    import hashlib
    import tempfile

    from domrand.generators.meshes import export

    key = hashlib.sha256(b"".join(np.ascontiguousarray(q.numpy()).tobytes() for q in obj.parts)).hexdigest()[:20]
    path = Path(tempfile.gettempdir()) / "domrand_parts" / f"{key}.obj"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        export.write_parts_obj(
            obj.mesh.__class__(obj.mesh.vertices, obj.mesh.faces, obj.mesh.normals, obj.mesh.uvs, obj.parts, obj.name),
            tmp,
        )
        os.replace(tmp, path)
    return path


def yaw_between(a: np.ndarray, b: np.ndarray) -> float:
    """Yaw (radians) of the direction from a to b in the table plane."""
    return math.atan2(float(b[1] - a[1]), float(b[0] - a[0]))
