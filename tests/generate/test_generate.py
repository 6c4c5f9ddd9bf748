"""`domrand generate`: byte-identical output whatever the workers and batch size, atomic chunks, resume
after SIGKILL, refusal of non-empty folders, and one clear error for write failures."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domrand.cli import main
from domrand.config import load_config
from domrand.generate import GenerateOptions, generate
from domrand.io import files, store

SMALL = {"image_size": 32, "chunk_size": 8}
ALL_FORMATS = ("native", "jsonl", "coco", "bop")


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run(out: Path, num: int = 20, **kw) -> None:
    cfg = load_config(overrides=SMALL)
    generate(cfg, GenerateOptions(out=out, num=num, formats=kw.pop("formats", ALL_FORMATS), quiet=True, **kw))


def test_output_is_byte_identical_whatever_the_workers_and_batch_size(tmp_path, monkeypatch):
    from domrand.generate import run as run_module

    run(tmp_path / "a", workers=1, batch_size=64)
    run(tmp_path / "b", workers=2, batch_size=3)
    monkeypatch.setattr(run_module, "CORES_PER_WORKER", 1)  # two spawned processes even on a 2-core machine
    assert run_module.local_processes(2, 2) == 2
    run(tmp_path / "c", workers=2, batch_size=5)
    a, b, c = tree(tmp_path / "a"), tree(tmp_path / "b"), tree(tmp_path / "c")
    assert a == b == c
    assert any(k.startswith("native/") for k in a) and "coco/annotations.json" in a and "labels.jsonl" in a
    assert not any(files.TMP_SUFFIX in k for k in a)


def test_render_lanes_change_no_byte(tmp_path, monkeypatch):
    """Two (or three) chunks rendering at once in one process write what one at a time writes."""
    from domrand.generate import run as run_module
    from domrand.kernels import threads

    monkeypatch.setattr(threads, "_threads", 3)  # lanes even on a machine of fewer cores
    trees = []
    for lanes in (1, 2, 3):
        monkeypatch.setattr(run_module, "RENDER_LANES", lanes)
        run(tmp_path / f"lanes{lanes}", num=44)
        trees.append(tree(tmp_path / f"lanes{lanes}"))
    assert trees[0] == trees[1] == trees[2] and len(trees[0]) > 20
    assert threads.get_threads() == 3  # the kernels' threads back as they were


def test_chunks_rendered_together_change_no_byte(tmp_path, monkeypatch, render_sizes):
    """A batch spanning several chunks (`ChunkRunner.render_many`, a batch size above the chunk size) writes what
    each chunk rendered alone writes, a short last chunk included; the renderer sees the grouped batches."""
    from domrand.generate import run as run_module

    sizes = render_sizes
    monkeypatch.setattr(run_module, "RENDER_LANES", 1)
    trees = {}
    for batch in (8, 24, 20, 64):  # chunks of 8: one chunk a batch, three, two, all six
        sizes.clear()
        run(tmp_path / f"b{batch}", num=44, batch_size=batch)
        trees[batch] = tree(tmp_path / f"b{batch}")
        assert sizes == {8: [8] * 5 + [4], 24: [24, 20], 20: [16, 16, 12], 64: [44]}[batch]
    assert trees[8] == trees[24] == trees[20] == trees[64] and len(trees[8]) > 20


def test_a_short_run_spreads_its_chunks_over_the_lanes(tmp_path):
    """Two chunks and two lanes: each lane renders one, rather than one lane a group of both."""
    from domrand.generate.options import GenerateOptions as Options
    from domrand.generate.run import prepare
    from domrand.generate.runner import ChunkRunner, RunSpec

    cfg = load_config(overrides=SMALL)
    opts = Options(out=str(tmp_path / "ds"), num=16, quiet=True)
    manifest, todo, _ = prepare(cfg, opts)
    runner = ChunkRunner(RunSpec(cfg, opts.out, manifest, 0, 16, 64, "cpu"))
    groups = []
    render_many = runner.render_many
    runner.render_many = lambda ks: groups.append(list(ks)) or render_many(ks)
    assert list(runner.pipelined(todo, lanes=2)) == [8, 8] and sorted(groups) == [[0], [1]]
    groups.clear()
    assert list(runner.pipelined(todo, lanes=1)) == [8, 8] and groups == [[0, 1]]


def test_pool_workers_take_groups_of_consecutive_chunks_and_render_them_pipelined(tmp_path, monkeypatch):
    """With several worker processes, a worker's item is a run of consecutive chunks that it renders as a process
    alone does (`run_pipelined`: lanes, batches spanning chunks) rather than one chunk at a time (1.3x slower a
    worker); every chunk once, and the same bytes as one process. The pool runs here in this process so that the
    workers' `render_many` calls can be seen."""
    from domrand.generate import pool
    from domrand.generate import run as run_module
    from domrand.generate.runner import ChunkRunner

    items, renders = [], []
    real_run, real_render = pool.run, ChunkRunner.render_many

    def in_this_process(factory, work, workers, **kw):
        work = list(work)
        items.extend(work)
        assert workers == 2
        yield from real_run(factory, work, 1, **kw)

    def spy(self, ks):
        renders.append(list(ks))
        return real_render(self, ks)

    run(tmp_path / "one", num=200, formats=("native", "jsonl"), batch_size=16)
    monkeypatch.setattr(run_module, "CORES_PER_WORKER", 1)  # two workers even on a 2-core machine
    monkeypatch.setattr(pool, "run", in_this_process)
    monkeypatch.setattr(ChunkRunner, "render_many", spy)
    run(tmp_path / "pool", num=200, formats=("native", "jsonl"), batch_size=16, workers=2)
    assert tree(tmp_path / "one") == tree(tmp_path / "pool")
    # 25 chunks of 8; a group is 2 render batches a lane (batch 16: 2 chunks) for 2 lanes: 8 chunks
    assert items == [list(range(8)), list(range(8, 16)), list(range(16, 24)), [24]]
    assert sum(len(ks) > 1 for ks in renders) >= 8 and sorted(k for ks in renders for k in ks) == list(range(25))


def test_chunks_whose_parameters_differ_in_shape_render_apart():
    import torch

    from domrand.generate.runner import _same_shapes
    from domrand.randomizers.lighting import LightingParams

    pipe = load_config(overrides=SMALL).pipeline()
    a = pipe.sample(3, rng=torch.Generator().manual_seed(0))
    b = pipe.sample(5, rng=torch.Generator().manual_seed(1))
    assert _same_shapes(a, b)
    name = next(n for n, p in a.items() if isinstance(p, LightingParams))
    wider = type(b[name])(**{f: torch.cat([t, t], dim=1) if t.dim() > 1 else t for f, t in b[name].tensors().items()})
    assert not _same_shapes(a, {**b, name: wider})
    assert not _same_shapes(a, {n: p for n, p in b.items() if n != name})


def test_workers_share_a_process_below_two_cores_each():
    from domrand.generate.run import local_processes

    assert [local_processes(2, c) for c in (1, 2, 3, 4, 16)] == [1, 1, 1, 2, 2]
    assert local_processes(8, 16) == 8 and local_processes(1, 16) == 1


def test_generate_gives_the_callers_torch_threads_back(tmp_path):
    """The runner takes torch to one thread (the kernels have their own); a library caller's setting returns."""
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        run(tmp_path / "ds", num=8, formats=("native",))
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("formats", "linked"),
    [(("jsonl", "bop"), True), (("coco", "bop"), True), (("bop",), False), (("native", "bop"), False)],
)
def test_bop_links_the_rgb_files_that_jsonl_or_coco_write(tmp_path, formats, linked):
    """BOP's rgb/*.png is a hard link to the dataset's rgb/*.png when jsonl or coco write one (decided by the
    dataset's formats, not by which files exist), else its own file; the pixels are the same either way."""
    run(tmp_path / "d", num=10, formats=formats)
    root = tmp_path / "d"
    for i in range(10):
        chunk, j = divmod(i, SMALL["chunk_size"])
        bop = root / "bop" / "train_pbr" / f"{chunk:06d}" / "rgb" / f"{j:06d}.png"
        shared = root / "rgb" / f"{i:06d}.png"
        assert bop.is_file() and shared.is_file() == linked
        if linked:
            assert os.path.samefile(bop, shared)
            assert os.stat(bop).st_nlink == 2


def test_coco_with_jsonl_writes_each_image_once(tmp_path, monkeypatch):
    """jsonl writes rgb/*.png and coco (which runs after it) names those files instead of writing them again."""
    written: list[str] = []
    original = store.LocalStore.write

    def counting(self, rel, data, sync=True, atomic=True):
        written.append(rel)
        return original(self, rel, data, sync, atomic)

    monkeypatch.setattr(store.LocalStore, "write", counting)
    run(tmp_path / "d", num=10, formats=("jsonl", "coco"))
    assert sorted(r for r in written if r.startswith("rgb/")) == [f"rgb/{i:06d}.png" for i in range(10)]
    written.clear()
    run(tmp_path / "e", num=10, formats=("coco",))
    assert sorted(r for r in written if r.startswith("rgb/")) == [f"rgb/{i:06d}.png" for i in range(10)]


def test_local_files_are_written_in_turn_and_remote_ones_side_by_side():
    """`for_each_file`: on a local store every file is written on the calling thread, in order (side by side,
    two threads creating files took twice the CPU); on a remote store the writes overlap on the io threads."""
    import threading

    seen: list[tuple[int, int]] = []

    def fn(i: int) -> None:
        seen.append((i, threading.get_ident()))

    local = store.LocalStore.__new__(store.LocalStore)
    files.for_each_file(local, fn, range(40))
    assert [i for i, _ in seen] == list(range(40)) and {t for _, t in seen} == {threading.get_ident()}
    seen.clear()
    remote = store.FsspecStore.__new__(store.FsspecStore)
    files.for_each_file(remote, fn, range(40))
    assert sorted(i for i, _ in seen) == list(range(40)) and threading.get_ident() not in {t for _, t in seen}


def test_different_seeds_give_different_datasets(tmp_path):
    run(tmp_path / "a", num=8, formats=("native",))
    run(tmp_path / "b", num=8, formats=("native",), seed=1)
    assert tree(tmp_path / "a")["native/000000.bin"] != tree(tmp_path / "b")["native/000000.bin"]


def test_a_non_empty_folder_is_refused_without_resume_or_overwrite(tmp_path):
    run(tmp_path / "ds", num=8, formats=("native",))
    before = tree(tmp_path / "ds")
    with pytest.raises(ValueError, match="not empty"):
        run(tmp_path / "ds", num=8, formats=("native",))
    assert tree(tmp_path / "ds") == before
    run(tmp_path / "ds", num=8, formats=("native",), overwrite=True)
    assert tree(tmp_path / "ds") == before
    other = tmp_path / "notes"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="not a domrand dataset"):
        run(other, num=8, formats=("native",), overwrite=True)
    assert (other / "thesis.tex").read_text() == "precious"


def test_resume_with_another_config_is_refused_naming_the_setting(tmp_path):
    run(tmp_path / "ds", num=8, formats=("native",))
    cfg = load_config(overrides={**SMALL, "textures": {"pool_size": 5}})
    with pytest.raises(ValueError, match=r"config\.textures\.pool_size"):
        generate(cfg, GenerateOptions(out=tmp_path / "ds", num=8, formats=("native",), resume=True, quiet=True))
    with pytest.raises(ValueError, match="root_seed"):
        run(tmp_path / "ds", num=8, formats=("native",), resume=True, seed=3)


def test_full_disk_is_one_clear_error_and_finished_chunks_stay_intact(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}

    def filling_open(path, mode="r", *args, **kw):
        f = open(path, mode, *args, **kw)
        if "w" in mode:
            calls["n"] += 1
            if calls["n"] > 40:  # the manifest and the first chunk (29 files) get through, then the disk is "full"
                f.close()
                raise OSError(errno.ENOSPC, "No space left on device")
        return f

    monkeypatch.setattr(store, "open", filling_open, raising=False)
    out = tmp_path / "ds"
    code = main(
        [
            "generate",
            "--num",
            "24",
            "--out",
            str(out),
            "--size",
            "32",
            "--chunk-size",
            "8",
            "--format",
            "native,jsonl",
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "no space left on the device" in err and "--resume" in err and err.count("error") == 1
    done = sorted(p.name for p in (out / "chunks").glob("*.json"))
    assert done, "the chunk finished before the failure must be kept"
    assert not list(out.rglob(f"*{files.TMP_SUFFIX}"))
    monkeypatch.delattr(store, "open")
    assert (
        main(
            [
                "generate",
                "--num",
                "24",
                "--out",
                str(out),
                "--size",
                "32",
                "--chunk-size",
                "8",
                "--format",
                "native,jsonl",
                "--quiet",
                "--resume",
            ]
        )
        == 0
    )
    ref = tmp_path / "ref"
    assert (
        main(
            [
                "generate",
                "--num",
                "24",
                "--out",
                str(ref),
                "--size",
                "32",
                "--chunk-size",
                "8",
                "--format",
                "native,jsonl",
                "--quiet",
            ]
        )
        == 0
    )
    assert tree(out) == tree(ref)


def test_unwritable_output_path_is_one_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["generate", "--num", "4", "--out", str(blocker / "ds"), "--size", "32", "--quiet"])
    assert code == 1
    assert "a parent of the path is a file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--num", "0"], "--num"),
        (["--format", "native,tiff"], "--format"),
        (["--set", "textures.size=-1"], "textures.size"),
    ],
)
def test_bad_arguments_fail_before_any_work(tmp_path, capsys, args, named):
    out = tmp_path / "ds"
    base = ["generate", "--num", "4", "--out", str(out), "--size", "32", "--quiet"]
    code = main(base + args)
    assert code == 2 and named in capsys.readouterr().err
    assert not out.exists()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "domrand.cli", *args]


@pytest.mark.slow
def test_sigkill_halfway_then_resume_ends_byte_identical(tmp_path):
    common = [
        "--num",
        "120",
        "--size",
        "32",
        "--chunk-size",
        "4",
        "--format",
        "native,jsonl,coco,bop",
        "--quiet",
        "--seed",
        "7",
    ]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        _cli("generate", "--out", str(killed), *common),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list((killed / "chunks").glob("*.json"))) < 5:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((killed / "chunks").glob("*.json")))
    assert 5 <= done < 30, f"the kill should land mid-run, {done} of 30 chunks were done"
    subprocess.run(_cli("generate", "--out", str(killed), *common, "--resume"), check=True, capture_output=True)
    fresh = tmp_path / "fresh"
    subprocess.run(_cli("generate", "--out", str(fresh), *common), check=True, capture_output=True)
    assert tree(killed) == tree(fresh)


@pytest.mark.slow
def test_memory_stays_flat_as_the_dataset_grows():
    """A small form of the 10k-vs-100k benchmark (`domrand bench generate --memory`): ten times the images,
    all formats but native off, peak resident memory within 10%. Batches of two chunks: the default (256 images
    at 32 px) would give the 5-chunk run smaller groups (`ChunkRunner.pipelined` spreads a short run over the
    lanes), a setting apart rather than growth."""
    from domrand.tools.bench.generate import peak_rss_mb

    small, big = peak_rss_mb(320, 32, batch=128), peak_rss_mb(3200, 32, batch=128)
    assert big <= 1.10 * small, f"peak RSS {small:.0f} MB for 320 images, {big:.0f} MB for 3,200"


def test_regression_the_cold_start_child_printed_a_runpy_warning(tmp_path):
    """The first run's compile child was started with `-m domrand.generate.warm`, and every new user saw runpy's
    RuntimeWarning about the package having imported the module. It is started by an import now."""
    import json

    from domrand.generate.warm import CHILD

    spec = tmp_path / "config.json"
    spec.write_text(json.dumps({"config": load_config(overrides={"image_size": 16}).to_json(), "png": True}))
    r = subprocess.run(
        [sys.executable, "-W", "default", "-c", CHILD, str(spec)], capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0 and "RuntimeWarning" not in r.stderr, r.stderr[-2000:]


def test_regression_a_first_run_shaded_differently_from_later_runs(tmp_path):
    """With fast math, the shading kernel compiled in the first run's own process and the same kernel loaded from
    numba's cache by later runs gave different last bits in ~6% of pixels: an image depended on whether it was
    the machine's first run. Two processes on one fresh compile cache must render the same bytes."""
    script = (
        "import hashlib, torch; from domrand.config import load_config; "
        "pipe = load_config(overrides={'image_size': 64}).pipeline(max_batch=16); "
        "f = pipe.render(pipe.sample(16, rng=torch.Generator().manual_seed(3))); "
        "print(hashlib.sha256(f.rgb.numpy().tobytes()).hexdigest())"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    digests = []
    for _ in range(2):  # the first compiles in its process, the second loads the cache
        r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        digests.append(r.stdout.strip())
    assert digests[0] == digests[1]
