"""domrand: sim-to-real domain randomization with a batched PyTorch renderer."""

__version__ = "0.1.0"
