"""`domrand bench generate`'s paired ratios: each round's format time against the natives around it."""

from __future__ import annotations

import pytest

from domrand.tools.bench import generate as bench

# Seconds per (formats, round): round 1 runs on a machine twice as slow, which a ratio of medians would mix in.
NATIVE = {0: 10.0, 1: 20.0, 2: 10.0}
SLOWER = {"jsonl": 1.25, "coco": 1.1, "bop": 1.2, "yolo": 1.15, "native,jsonl,coco,bop": 1.5}


def test_paired_ratios_divide_each_round_by_its_own_natives(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"round": 0, "natives": 0}

    def fake_seconds(
        n, size, formats="native", workers=1, backend="local", env=None, until_first_chunk=False, config=None
    ):
        if config is not None or n == 64 or until_first_chunk:
            return 1.0  # warm-up, user world, start-up, cold start
        slow = NATIVE[calls["round"]]
        if formats == "native" and workers == 1:
            calls["natives"] += 1
            # the two natives around the formats differ (the round's machine drifts): their mean pairs
            return slow * (0.9 if calls["natives"] % 3 == 2 else 1.1 if calls["natives"] % 3 == 0 else 1.0)
        return slow * SLOWER.get(formats, 1.0)

    def fake_peer(size, n, procs):  # images/s; the peer takes twice native's time in every round
        return n / (2 * NATIVE[calls["round"]])

    monkeypatch.setattr("domrand.tools.bench.pybullet_peer.measure", fake_peer)
    monkeypatch.setattr(bench, "user_world", lambda folder: ("cfg.yaml", [1, 2, 3]))
    monkeypatch.setattr("domrand.tools.bench.stages.breakdown", lambda cfg: {"render": 1.0})
    monkeypatch.setattr("domrand.tools.bench.stages.file_create", lambda: {"serial": 0.25, "two_threads": 0.4})
    monkeypatch.setattr("domrand.tools.bench.stages.shard_write", lambda: {"page_cache": 24.0, "direct": 1.3})
    rounds = []

    def counted(*a, **k):
        out = fake_seconds(*a, **k)
        if k.get("config") is not None and a[0] == 256:  # the user world closes each round
            rounds.append(calls["round"])
            calls["round"] += 1
            calls["natives"] = 0
        return out

    monkeypatch.setattr(bench, "generate_seconds", counted)
    rows = bench.main(size=32, images=128, repeats=3, cold=False)
    assert rounds == [0, 1, 2]
    fmt = {r["formats"]: r for r in rows if r["measure"] == "formats"}
    # each format against the mean of the natives around it (0.9 and 1.1 of the round's time): 1 / its slowdown,
    # though round 1 ran twice as slow; a ratio of medians would not see the pairing
    for name, slower in SLOWER.items():
        assert fmt[name]["ratio_to_native_by_round"] == pytest.approx([1 / slower] * 3, abs=1e-3)
        assert fmt[name]["ratio_to_native"] == pytest.approx(1 / slower, abs=1e-3)
    gen = next(r for r in rows if r["measure"] == "generate" and r["workers"] == 1)
    assert gen["ratio_to_peer_by_round"] == pytest.approx([2.0, 2.0, 2.0])
    table = bench.table(rows)
    assert "| jsonl | " in table and "| 0.80 (0.80-0.80) |" in table and "| 2.00x |" in table
    assert "Creating one 20 KB file in the temporary folder took 0.250 ms (one thread; 0.400 ms" in table
    assert "shard and syncing it took 24.00 ms of CPU through the page cache, written directly" in table
    assert "1.30 ms." in table


def test_file_create_times_both_ways_and_leaves_nothing(tmp_path) -> None:
    from domrand.tools.bench.spent import remove_spent
    from domrand.tools.bench.stages import file_create

    ms = file_create(str(tmp_path), files=20, size=100)
    assert set(ms) == {"serial", "two_threads"} and all(0 < v < 1000 for v in ms.values())
    remove_spent()
    assert list(tmp_path.iterdir()) == []


def test_shard_write_times_both_ways_and_leaves_nothing(tmp_path) -> None:
    from domrand.tools.bench.spent import remove_spent
    from domrand.tools.bench.stages import shard_write

    ms = shard_write(str(tmp_path), shards=2, size=(2 << 20) + 5, rounds=1)
    assert "page_cache" in ms and all(0 <= v < 10_000 for v in ms.values())
    remove_spent()
    assert list(tmp_path.iterdir()) == []


def test_regression_the_bench_charged_each_format_for_the_last_runs_clean_up(tmp_path) -> None:
    """Each run's output was deleted before the next run, and on ext4 without a journal every file created in the
    next minutes costs a pass over the freed inodes (0.15-0.2 ms instead of 0.035): a finished run's files are now
    emptied (the disk space back) and their inodes kept until the benchmark ends."""
    from domrand.tools.bench.spent import remove_spent, spend

    run = tmp_path / "run"
    (run / "rgb").mkdir(parents=True)
    for i in range(5):
        (run / "rgb" / f"{i:06d}.png").write_bytes(b"x" * 4096)
    inodes = sorted(p.stat().st_ino for p in (run / "rgb").iterdir())
    spend(run)
    files = sorted((run / "rgb").iterdir())
    assert sorted(p.stat().st_ino for p in files) == inodes, "the files were unlinked before the benchmark ended"
    assert all(p.stat().st_size == 0 for p in files), "the disk space was not given back"
    remove_spent()
    assert not run.exists()


def test_regression_one_cold_start_reading_in_a_slow_minute_stood_for_the_bar() -> None:
    """The bench read the cold start once: on 2026-12-07 that one reading said 16.0 s (bar 15) in a slow spell of the
    shared machine where paired reruns said 14.9-15.4, and 13.1-13.3 half an hour before. It now reads it once a
    round and the table gives the median and every run; a row from before (one reading) reads as it did."""
    machine = {"measure": "machine", "cores": 2, "size": 128}
    rows = [machine, {"measure": "cold_start", "seconds_to_first_chunk": 13.3, "seconds_by_round": [13.1, 16.0, 13.3]}]
    text = bench.table(rows)
    assert "the first chunk is written after 13.3 s; the median of 3 runs: 13.1, 16.0, 13.3 s" in text
    old = bench.table([machine, {"measure": "cold_start", "seconds_to_first_chunk": 14.2}])
    assert "the first chunk is written after 14.2 s (a message says the kernels compile)." in old
