"""Procedural content for domrand: pure, batched, seeded functions (textures, lighting, cameras, meshes).

Installed as ``domrand.generators``; this package never imports ``domrand`` itself.
"""
