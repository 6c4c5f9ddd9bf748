"""Scaling out `domrand generate`: the Ray backend (`pip install 'domrand[ray]'`)."""
