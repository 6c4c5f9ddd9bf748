"""Pose (localization) from randomized images: model, data, camera, trainer, inference, evaluation."""
