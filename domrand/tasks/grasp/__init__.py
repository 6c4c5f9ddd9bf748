"""The grasping task: objects, the PyBullet grasp simulator, candidates, views, ranker, labels, trainer, evaluation."""
