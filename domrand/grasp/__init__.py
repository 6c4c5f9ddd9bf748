"""The grasping task: objects, the PyBullet grasp simulator, candidate grasps, labels, the ranker model."""
