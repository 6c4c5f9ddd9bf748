"""Plot and README tables of the grasping experiments, from results/*.json."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from domrand.bench.markdown import fill_markers

HERE = Path(__file__).resolve().parent
RESULTS, PLOTS = HERE / "results", HERE / "plots"


def pct(s: dict) -> str:
    return f"{100 * s['success_rate']:.1f}% [{100 * s['ci95_low']:.0f}, {100 * s['ci95_high']:.0f}]"


def count_plot() -> str:
    path = RESULTS / "object_count.json"
    if not path.is_file():
        return "(not run yet)"
    rows = json.loads(path.read_text())
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [r["unique_objects"] for r in rows]
    for key, label in (
        ("realistic_test", "held-out realistic objects"),
        ("procedural_test", "held-out procedural objects"),
    ):
        s = [r[key] for r in rows]
        ax.errorbar(
            xs,
            [100 * v["success_rate"] for v in s],
            yerr=[
                [max(0.0, 100 * (v["success_rate"] - v["ci95_low"])) for v in s],  # Wilson at 0 or n of n:
                [max(0.0, 100 * (v["ci95_high"] - v["success_rate"])) for v in s],  # the bound rounds past the rate
            ],
            marker="o",
            capsize=3,
            label=f"ranker, {label}",
        )
        ax.plot(
            xs,
            [100 * v["baselines"]["centroid"]["success_rate"] for v in s],
            linestyle="--",
            label=f"centroid baseline, {label}",
        )
    ax.plot(
        xs,
        [100 * r["realistic_test"]["baselines"]["random"]["success_rate"] for r in rows],
        linestyle=":",
        label="random baseline, realistic",
    )
    ax.set_xscale("log")
    ax.set_xlabel("unique procedural training objects")
    ax.set_ylabel("grasp success (%)")
    ax.set_ylim(0, 103)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Grasp success against the number of training objects")
    fig.tight_layout()
    PLOTS.mkdir(exist_ok=True)
    fig.savefig(PLOTS / "object_count.png", dpi=120)
    plt.close(fig)
    lines = [
        "| unique training objects | ranker, realistic test | centroid | random | ranker, procedural test | centroid, procedural |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        rt, pt = r["realistic_test"], r["procedural_test"]
        lines.append(
            f"| {r['unique_objects']} | {pct(rt)} | {pct(rt['baselines']['centroid'])} | {pct(rt['baselines']['random'])} | {pct(pt)} | {pct(pt['baselines']['centroid'])} |"
        )
    return "\n".join(lines)


def realistic_table() -> str:
    path = RESULTS / "procedural_vs_realistic.json"
    if not path.is_file():
        return "(not run yet)"
    rows = json.loads(path.read_text())
    lines = ["| training objects | ranker, held-out realistic | centroid | random |", "| --- | --- | --- | --- |"]
    for r in rows:
        t = r["realistic_test"]
        lines.append(
            f"| {r['training objects']} | {pct(t)} | {pct(t['baselines']['centroid'])} | {pct(t['baselines']['random'])} |"
        )
    return "\n".join(lines)


def scale_table() -> str:
    path = RESULTS / "scale.json"
    if not path.is_file():
        return "(not run yet)"
    lines = [
        "| largest extent | ranker (`checkpoints/grasp.pt`) | centroid | random |",
        "| --- | --- | --- | --- |",
    ]
    for r in json.loads(path.read_text()):
        t = r["realistic_test"]
        lines.append(
            f"| {r['scale_to']:.2f} m | {pct(t)} | {pct(t['baselines']['centroid'])} | {pct(t['baselines']['random'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    count, real, scale = count_plot(), realistic_table(), scale_table()
    fill_markers(HERE / "README.md", {"COUNT": count, "REALISTIC": real, "SCALE": scale})


if __name__ == "__main__":
    main()
