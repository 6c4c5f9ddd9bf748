"""Adapters that put domrand's randomizers into users' own simulations.

`domrand.sims.mujoco.MujocoRandomizer`, `domrand.sims.pybullet.PyBulletRandomizer` and
`domrand.sims.gym.DomainRandomizationWrapper`. Each imports its simulator only when used, so
`import domrand` works without either.
"""
