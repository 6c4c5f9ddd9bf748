"""Python's cyclic garbage collector during `domrand generate`: off while start-up makes its long-lived objects
(imports, config, world, pipeline), which are then frozen (out of its sight: it walked them again and again, 0.2 s
of a 2 s start-up), and on again for the chunks, whatever happens."""

from __future__ import annotations

import gc

import pytest

import domrand.cli as cli
from domrand.cli import main
from domrand.generate import runner


def test_start_up_runs_without_the_collector_and_the_chunks_with_it(tmp_path, monkeypatch):
    seen: dict[str, bool] = {}

    def spy(name, fn):
        def wrapped(*a, **k):
            seen.setdefault(name, gc.isenabled())
            return fn(*a, **k)

        return wrapped

    monkeypatch.setattr(cli, "_generate_request", spy("config", cli._generate_request))
    monkeypatch.setattr(runner, "make_writers", spy("runner", runner.make_writers))
    render, write = runner.ChunkRunner.render_many, runner.ChunkRunner.write
    monkeypatch.setattr(runner.ChunkRunner, "render_many", lambda self, ks: spy(f"render {ks[0]}", render)(self, ks))
    monkeypatch.setattr(runner.ChunkRunner, "write", lambda self, c: spy(f"write {c.index}", write)(self, c))
    frozen = gc.get_freeze_count()
    args = ["generate", "--num", "12", "--chunk-size", "2", "--size", "16", "--out", str(tmp_path / "a"), "--quiet"]
    assert main(args) == 0
    assert gc.isenabled() and gc.get_freeze_count() > frozen
    assert not seen["config"] and not seen["runner"]  # start-up: the collector off
    assert seen["render 0"] and seen["write 0"]  # the chunks: on


def test_collector_back_on_after_a_bad_config_or_a_failed_chunk(tmp_path, monkeypatch):
    assert main(["generate", "--num", "4", "--set", "image_size=1", "--out", str(tmp_path / "b"), "--quiet"]) == 2
    assert gc.isenabled()

    def fails(self, ks):
        raise RuntimeError("render failed")

    monkeypatch.setattr(runner.ChunkRunner, "render_many", fails)
    with pytest.raises(RuntimeError, match="render failed"):
        main(["generate", "--num", "4", "--size", "16", "--out", str(tmp_path / "c"), "--quiet"])
    assert gc.isenabled()


def test_regression_a_library_callers_garbage_stayed_frozen_after_generate(tmp_path):
    """`generate()` from Python (a notebook, a script) froze everything alive when its runner started, the
    caller's unreachable cycles included, and never thawed it: they were never collected. In a fresh process the
    runner's freeze is undone when the run ends (the CLI, which froze its own start-up before, keeps it)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import gc, weakref
        from domrand.config import load_config
        from domrand.generate import GenerateOptions, generate

        class Node:
            pass

        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle, unreachable below: only the collector frees it
        ref = weakref.ref(a)
        del a, b
        gc.disable()  # as if no collection had come round yet
        generate(load_config(overrides={{"image_size": 16, "chunk_size": 4}}),
                 GenerateOptions(out={str(tmp_path / "ds")!r}, num=8, quiet=True))
        gc.enable()
        gc.collect()
        print("collected" if ref() is None else "leaked", gc.get_freeze_count())
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["collected", "0"]
