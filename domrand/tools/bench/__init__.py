"""Benchmarks that anyone can rerun: `domrand bench render` and `domrand bench generate`."""
