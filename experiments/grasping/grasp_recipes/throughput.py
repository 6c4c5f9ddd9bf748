"""What a faster grasp trial costs in agreement (issue "Grasping that beats a heuristic": labelling throughput).

Labelling is executed grasps, and 97 % of a trial's time is PyBullet's `stepSimulation` (720 steps of 1/240 s at
100 solver iterations; Python's share is 3 %, so several grippers per world would save nothing). This recipe
times cheaper trials on the same (object, rest pose, grasp) triples as the labeller draws them and counts how
often each agrees with the reference trial of `domrand.tasks.grasp.sim`:

- the reference itself under the task's execution noise (1 mm, 1 deg: `sim.jittered`, three draws): how much an
  outcome moves when the grasp moves as little as a robot's does, the floor any other trial can be held to;
- PyBullet with the hold shortened from 1 s to 0.5 s, and with 50 solver iterations instead of 100;
- PyBullet's fast trial (`GraspSim(fast=True)`, `domrand label grasps --fast-trial`): phases end once nothing can
  change the outcome;
- the same trial in MuJoCo (`MujocoTrial` below: the same table, gripper, object parts, masses, friction,
  finger force and speed, phases and success test; elliptic friction cones, 2 no-slip iterations).

"stable" grasps are those whose reference outcome every jittered draw repeats; agreement is counted on all of
them and on the stable ones. Results: results/trial_speed.json; README "Trial speed against agreement".
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from grasp_recipes.common import LABEL_SCALES, save

JITTER_SEEDS = (1, 2, 3)
LANDING_NORMAL_Z = 0.7  # as `tasks.grasp.clutter`: a contact whose normal's z is above this is a landing
MUJOCO = {"noslip_iterations": 2, "iterations": 20}


def draw_trials(scenes: int, seed: int = 321, candidates: int = 24) -> list[tuple[Any, Any, list[Any]]]:
    """(object, rest pose, grasps) of `scenes` scenes as `domrand label grasps` draws them: a procedural object
    scaled within LABEL_SCALES, dropped, seen by the depth camera, and `candidates` of the sampler's grasps."""
    import torch

    from domrand.rng import derive_seed
    from domrand.tasks.grasp import candidates as cand
    from domrand.tasks.grasp.dataset import GraspDataConfig, ObjectPool, cand_view
    from domrand.tasks.grasp.sim import GraspSim

    cfg = GraspDataConfig(
        num_objects=40, scenes=scenes, seed=seed, scale_to=LABEL_SCALES[0], scale_to_max=LABEL_SCALES[1]
    )
    pool, sim, out = ObjectPool(cfg), GraspSim(), []
    try:
        for s in range(scenes):
            rng = np.random.default_rng(derive_seed(cfg.seed, s, 0))
            obj = pool.get(int(rng.integers(len(pool)))).scaled_to(float(rng.uniform(*LABEL_SCALES)))
            sim.load(obj)
            pos, orn = sim.drop(derive_seed(cfg.seed, s, 1) & 0xFFFFFFFF)
            depth, k, c2w = cand_view(obj, pos, orn, torch.Generator().manual_seed(derive_seed(cfg.seed, s, 2)))
            grasps = cand.sample(cand.world_points(depth, k, c2w), rng)[:candidates]
            out.append((obj, sim.rest, grasps))
    finally:
        sim.close()
    return out


def run_pybullet(trials: list, make: Callable[[], Any], jitter: int | None = None) -> tuple[np.ndarray, float]:
    """Outcomes (bool per grasp) and seconds inside the trials, each scene's object loaded at its rest pose."""
    from domrand.tasks.grasp.sim import jittered

    sim, out, seconds = make(), [], 0.0
    rng = None if jitter is None else np.random.default_rng(jitter)
    try:
        for obj, rest, grasps in trials:
            sim.load(obj)
            sim.rest = rest
            t0 = time.perf_counter()
            out += [sim.grasp(g if rng is None else jittered(g, rng)).success for g in grasps]
            seconds += time.perf_counter() - t0
    finally:
        sim.close()
    return np.array(out), seconds


def run_mujoco(trials: list) -> tuple[np.ndarray, float]:
    out, seconds = [], 0.0
    for obj, rest, grasps in trials:
        trial = MujocoTrial(obj, rest)
        t0 = time.perf_counter()
        out += [trial.grasp(g) for g in grasps]
        seconds += time.perf_counter() - t0
    return np.array(out), seconds


def solver_iterations(n: int) -> Callable[[], Any]:
    """A `GraspSim` factory whose worlds run `n` solver iterations a step (the task's: 100)."""
    from domrand.tasks.grasp.sim import GraspSim

    class Fewer(GraspSim):
        def load(self, obj: Any) -> None:
            super().load(obj)
            self.p.setPhysicsEngineParameter(numSolverIterations=n, **self._kw())

    return Fewer


@contextlib.contextmanager
def hold_seconds(s: float) -> Iterator[None]:
    """The trials' hold shortened to `s` seconds (the task's: `sim.HOLD_S`, 1 s) while inside."""
    from domrand.tasks.grasp import sim

    before = sim.HOLD_S
    sim.HOLD_S = s
    try:
        yield
    finally:
        sim.HOLD_S = before


def trial_speed(work: Any, scenes: int = 12) -> dict[str, Any]:
    """Time every trial variant on the same grasps and count its agreement with the reference."""
    from domrand.tasks.grasp.sim import GraspSim

    trials = draw_trials(scenes)
    ref, ref_s = run_pybullet(trials, GraspSim)
    jitters = [run_pybullet(trials, GraspSim, j)[0] for j in JITTER_SEEDS]
    stable = np.all([j == ref for j in jitters], axis=0)
    with hold_seconds(0.5):
        hold = run_pybullet(trials, GraspSim)
    variants = {
        "reference (PyBullet, 100 iterations, 1 s hold)": (ref, ref_s),
        "reference with 1 mm / 1 deg execution noise (each draw)": None,
        "PyBullet, hold 0.5 s": hold,
        "PyBullet, 50 solver iterations": run_pybullet(trials, solver_iterations(50)),
        "PyBullet, the fast trial (`--fast-trial`)": run_pybullet(trials, lambda: GraspSim(fast=True)),
        "MuJoCo (elliptic cones, 2 no-slip iterations)": run_mujoco(trials),
    }
    rows = []
    for name, result in variants.items():
        if result is None:  # the noise floor: each jittered draw against the reference
            agree = [round(float(np.mean(j == ref)), 3) for j in jitters]
            rows.append(
                {"trial": name, "agreement": agree, "success_rate": [round(float(j.mean()), 3) for j in jitters]}
            )
            continue
        outcome, seconds = result
        rows.append(
            {
                "trial": name,
                "grasps_per_s": round(len(outcome) / seconds, 1),
                "speedup": round(ref_s / seconds, 2),
                "success_rate": round(float(outcome.mean()), 3),
                "agreement": round(float(np.mean(outcome == ref)), 3),
                "agreement_stable": round(float(np.mean((outcome == ref)[stable])), 3),
                "lost_successes": int(np.sum(ref & ~outcome)),
                "new_successes": int(np.sum(~ref & outcome)),
            }
        )
    result = {"scenes": scenes, "grasps": len(ref), "stable_share": round(float(stable.mean()), 3), "rows": rows}
    save("trial_speed", result)
    return result


class MujocoTrial:
    """The grasp trial of `domrand.tasks.grasp.sim` rebuilt in MuJoCo for one object at its rest pose.

    MuJoCo's contacts are soft: a gripper driven down onto the object's top sinks into it where PyBullet's rigid
    contacts stop it, and can then pinch the object from inside (a box wider than the opening was lifted). So the
    approach stops descending while a part of the gripper rests on the object (`_landed`). The same table (a 1.0 x 0.8 m box, top at z = 0), object (its convex parts, 0.1 kg with PyBullet's box inertia
    about the mesh origin), gripper (a palm welded to a moving target as PyBullet's fixed constraint, two box
    fingers on slides, 40 N position servos whose targets move at most 0.2 m/s), friction (1.0, torsional 0.001 and
    0.002), time step, phases and success test."""

    def __init__(self, obj: Any, rest: tuple[list[float], list[float]]) -> None:
        from domrand.sims.common import headless_gl

        headless_gl()  # before mujoco's first import in the process: its renderer needs the GL back end chosen then
        import mujoco

        from domrand.tasks.grasp import sim

        self.mj, self.sim = mujoco, sim
        fx, fy, fz = sim.FINGER
        palm = (sim.MAX_OPENING / 2 + fx + 0.005, fy / 2 + 0.005, 0.01)
        self.z_palm = fz / 2 + palm[2]
        parts = [np.asarray(q, np.float64) for q in obj.parts]
        ext = np.max([q.max(0) for q in parts], 0) - np.min([q.min(0) for q in parts], 0)
        m = sim.OBJECT_MASS
        inertia = " ".join(f"{m / 12 * (ext[a] ** 2 + ext[b] ** 2):.9g}" for a, b in ((1, 2), (0, 2), (0, 1)))
        (px, py, pz), (qx, qy, qz, qw) = rest
        mesh = "".join(
            f'<mesh name="p{i}" vertex="{" ".join(f"{v:.7g}" for v in q.ravel())}"/>' for i, q in enumerate(parts)
        )
        geoms = "".join(
            f'<geom type="mesh" mesh="p{i}" friction="{sim.FRICTION} 0.001 0" condim="4"/>' for i in range(len(parts))
        )
        finger = (
            f'type="box" size="{fx / 2} {fy / 2} {fz / 2}" mass="0.05" friction="{sim.FRICTION} 0.002 0" condim="4"'
        )
        servo = f'kp="2000" forcerange="-{sim.FINGER_FORCE} {sim.FINGER_FORCE}"'
        xml = f"""<mujoco>
<option timestep="{sim.DT}" integrator="implicitfast" cone="elliptic" iterations="{MUJOCO["iterations"]}" noslip_iterations="{MUJOCO["noslip_iterations"]}"/>
<default><geom solref="0.01 1" solimp="0.95 0.99 0.001"/></default>
<asset>{mesh}</asset>
<worldbody>
  <geom name="table" type="box" size="0.5 0.4 0.02" pos="0 0 -0.02" friction="{sim.FRICTION} 0.001 0"/>
  <body name="obj" pos="{px} {py} {pz}" quat="{qw} {qx} {qy} {qz}"><freejoint/>
    <inertial pos="0 0 0" mass="{m}" diaginertia="{inertia}"/>{geoms}</body>
  <body name="target" mocap="true" pos="0 0 2"/>
  <body name="palm" pos="0 0 2"><freejoint/>
    <geom name="palm" type="box" size="{palm[0]} {palm[1]} {palm[2]}" mass="0.5"/>
    <body name="f0" pos="0 0 {-self.z_palm}"><joint name="j0" type="slide" axis="1 0 0"/><geom name="f0" {finger}/></body>
    <body name="f1" pos="0 0 {-self.z_palm}"><joint name="j1" type="slide" axis="1 0 0"/><geom name="f1" {finger}/></body>
  </body>
</worldbody>
<equality><weld body1="target" body2="palm" solref="0.002 1"/></equality>
<contact><exclude body1="palm" body2="f0"/><exclude body1="palm" body2="f1"/><exclude body1="f0" body2="f1"/></contact>
<actuator><position joint="j0" {servo}/><position joint="j1" {servo}/></actuator>
</mujoco>"""
        self.model = mujoco.MjModel.from_xml_string(xml)
        self.data = mujoco.MjData(self.model)
        self.rest_qpos = self.data.qpos.copy()
        geom = lambda n: mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_GEOM, n)  # noqa: E731
        self.table, self.gripper = geom("table"), {geom("palm"), geom("f0"), geom("f1")}
        self.fingers = (geom("f0"), geom("f1"))
        body = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, "obj")
        self.obj_geoms = set(np.flatnonzero(self.model.geom_bodyid == body).tolist())
        self.palm_qpos = int(self.model.jnt_qposadr[1])
        self.slides = (int(self.model.jnt_qposadr[2]), int(self.model.jnt_qposadr[3]))

    def _touching(self, a: set[int], b: set[int]) -> bool:
        for i in range(self.data.ncon):
            c = self.data.contact[i]
            if c.dist <= 0 and ((c.geom1 in a and c.geom2 in b) or (c.geom2 in a and c.geom1 in b)):
                return True
        return False

    def _landed(self) -> bool:
        """Whether a part of the gripper rests on the object: a contact whose normal points up at the gripper."""
        for i in range(self.data.ncon):
            c = self.data.contact[i]
            nz = c.frame[2]  # the normal, from geom1 to geom2
            if c.dist <= 0 and (
                (c.geom1 in self.obj_geoms and c.geom2 in self.gripper and nz > LANDING_NORMAL_Z)
                or (c.geom1 in self.gripper and c.geom2 in self.obj_geoms and nz < -LANDING_NORMAL_Z)
            ):
                return True
        return False

    def _place(self, x: float, y: float, z: float, yaw: float) -> None:
        self.data.mocap_pos[0] = (x, y, z + self.z_palm)
        self.data.mocap_quat[0] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))

    def _step(self) -> None:
        """One step, the finger servos' targets moved toward the commanded opening at most 0.2 m/s."""
        lim = 0.2 * self.sim.DT
        self.q += min(max(self.q_target - self.q, -lim), lim)
        self.data.ctrl[0], self.data.ctrl[1] = -self.q, self.q
        self.mj.mj_step(self.model, self.data)

    def _lowest(self) -> float:
        m, d, low = self.model, self.data, math.inf
        for g in self.obj_geoms:
            mesh = m.geom_dataid[g]
            v = m.mesh_vert[m.mesh_vertadr[mesh] : m.mesh_vertadr[mesh] + m.mesh_vertnum[mesh]]
            low = min(low, float((v @ d.geom_xmat[g].reshape(3, 3).T + d.geom_xpos[g])[:, 2].min()))
        return low

    def grasp(self, g: Any) -> bool:
        """One trial from the rest pose: approach, close, lift, hold; success as the task defines it."""
        sim, mj = self.sim, self.mj
        mj.mj_resetData(self.model, self.data)
        self.data.qpos[:] = self.rest_qpos
        g = g.clipped()
        x, y, z0 = g.x, g.y, g.z + sim.APPROACH
        a = self.palm_qpos
        self.data.qpos[a : a + 3] = (x, y, z0 + self.z_palm)
        self.data.qpos[a + 3 : a + 7] = (math.cos(g.yaw / 2), 0.0, 0.0, math.sin(g.yaw / 2))
        self.q = self.q_target = g.width / 2 + sim.FINGER[0] / 2
        self.data.qpos[self.slides[0]], self.data.qpos[self.slides[1]] = -self.q, self.q
        self._place(x, y, z0, g.yaw)
        mj.mj_forward(self.model, self.data)
        n, z = int(sim.DESCEND_S / sim.DT), z0
        for i in range(1, n + 1):
            if not self._landed():  # PyBullet's rigid contacts stop a finger on the object's top; soft ones yield
                z = z0 - sim.APPROACH * i / n
            self._place(x, y, z, g.yaw)
            self._step()
            if self._touching(self.gripper, {self.table}):
                break
        self.q_target = sim.FINGER[0] / 2  # closed
        for _ in range(int(sim.CLOSE_S / sim.DT)):
            self._step()
        n = int(sim.LIFT_S / sim.DT)
        for i in range(1, n + 1):
            self._place(x, y, z + sim.LIFT * i / n, g.yaw)
            self._step()
        for _ in range(int(sim.HOLD_S / sim.DT)):
            self._step()
        held = all(self._touching(self.obj_geoms, {f}) for f in self.fingers)
        return self._lowest() > sim.SUCCESS_HEIGHT and held
