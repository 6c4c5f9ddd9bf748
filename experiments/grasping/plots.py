"""Plot and README tables of the grasping experiments, from results/*.json."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from domrand.tools.bench.markdown import fill_markers

HERE = Path(__file__).resolve().parent
RESULTS, PLOTS = HERE / "results", HERE / "plots"


def pct(s: dict) -> str:
    return f"{100 * s['success_rate']:.1f}% [{100 * s['ci95_low']:.0f}, {100 * s['ci95_high']:.0f}]"


def _errorbar(ax, xs: list, s: list[dict], **kw) -> None:
    ax.errorbar(
        xs,
        [100 * v["success_rate"] for v in s],
        yerr=[
            [max(0.0, 100 * (v["success_rate"] - v["ci95_low"])) for v in s],  # Wilson at 0 or n of n:
            [max(0.0, 100 * (v["ci95_high"] - v["success_rate"])) for v in s],  # the bound rounds past the rate
        ],
        marker="o",
        capsize=3,
        **kw,
    )


def count_plot() -> str:
    path = RESULTS / "object_count.json"
    if not path.is_file():
        return "(not run yet)"
    rows = json.loads(path.read_text())
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    xs = [r["unique_objects"] for r in rows]
    panels = (
        ("largest extent 0.08 m (the task's default)", (("realistic_test", "held-out realistic"),)),
        (
            "largest extent 0.12 m (wider than the opening)",
            (("realistic_test_hard", "held-out realistic"), ("procedural_test_hard", "held-out procedural")),
        ),
    )
    for ax, (title, sets) in zip(axes, panels):
        for (key, label), colour in zip(sets, ("C0", "C1")):
            s = [r[key] for r in rows]
            _errorbar(ax, xs, s, color=colour, label=f"ranker, {label}")
            ax.plot(xs, [100 * v["baselines"]["centroid"]["success_rate"] for v in s], "--", color=colour,
                    label=f"centroid baseline, {label}")  # fmt: skip
        key = sets[0][0]
        ax.plot(xs, [100 * r[key]["baselines"]["random"]["success_rate"] for r in rows], ":", color="C2",
                label="random baseline, held-out realistic")  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("unique procedural training objects")
        ax.set_ylim(0, 103)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title(title, fontsize=10)
    axes[0].set_ylabel("grasp success (%)")
    fig.suptitle("Grasp success against the number of training objects (95% Wilson intervals)")
    fig.tight_layout()
    PLOTS.mkdir(exist_ok=True)
    fig.savefig(PLOTS / "object_count.png", dpi=120)
    plt.close(fig)
    lines = [
        "| unique training objects | 0.08 m: ranker, realistic | centroid | 0.12 m: ranker, realistic | centroid | random | 0.12 m: ranker, procedural | centroid |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        rt, rh, ph = r["realistic_test"], r["realistic_test_hard"], r["procedural_test_hard"]
        lines.append(
            f"| {r['unique_objects']} | {pct(rt)} | {pct(rt['baselines']['centroid'])} | {pct(rh)} | {pct(rh['baselines']['centroid'])} "
            f"| {pct(rh['baselines']['random'])} | {pct(ph)} | {pct(ph['baselines']['centroid'])} |"
        )
    return "\n".join(lines)


def realistic_table() -> str:
    path = RESULTS / "procedural_vs_realistic.json"
    if not path.is_file():
        return "(not run yet)"
    rows = json.loads(path.read_text())
    lines = [
        "| training objects | 0.08 m: ranker | centroid | random | 0.12 m: ranker | centroid | random |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        t, h = r["realistic_test"], r["realistic_test_hard"]
        lines.append(
            f"| {r['training objects']} | {pct(t)} | {pct(t['baselines']['centroid'])} | {pct(t['baselines']['random'])} "
            f"| {pct(h)} | {pct(h['baselines']['centroid'])} | {pct(h['baselines']['random'])} |"
        )
    return "\n".join(lines)


def scale_table(name: str = "scale", key: str = "realistic_test") -> str:
    """The committed model and both baselines at each extent (results/NAME.json, each row's KEY report)."""
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        return "(not run yet)"
    lines = [
        "| largest extent | ranker (`checkpoints/grasp.pt`) | centroid | random |",
        "| --- | --- | --- | --- |",
    ]
    for r in json.loads(path.read_text()):
        t = r[key]
        lines.append(
            f"| {r['scale_to']:.2f} m | {pct(t)} | {pct(t['baselines']['centroid'])} | {pct(t['baselines']['random'])} |"
        )
    return "\n".join(lines)


def per_object_table(extent: float = 0.12, name: str = "scale", key: str = "realistic_test") -> str:
    """Per held-out object success of the committed model and both baselines at one extent (results/NAME.json)."""
    path = RESULTS / f"{name}.json"
    rows = [r for r in json.loads(path.read_text()) if abs(r["scale_to"] - extent) < 1e-9] if path.is_file() else []
    if not rows:
        return "(not run yet)"
    per, ceiling = rows[0][key]["per_object"], rows[0].get("ceiling")
    oracle = ["oracle: some candidate succeeds"] if ceiling else []
    lines = [
        "| " + " | ".join(["object", "ranker", "centroid", "random", *oracle]) + " |",
        "|" + " --- |" * (4 + len(oracle)),
    ]
    for obj, r in per.items():
        cells = [obj, *(f"{100 * r[m]:.0f}%" for m in ("model", "centroid", "random"))]
        cells += [f"{100 * ceiling['per_object'][obj]['oracle']:.0f}%"] if ceiling else []
        lines.append("| " + " | ".join(cells) + " |")
    if ceiling:
        lines.append(
            f"| all | {pct(rows[0][key])} | {pct(rows[0][key]['baselines']['centroid'])} | "
            f"{pct(rows[0][key]['baselines']['random'])} | {100 * ceiling['oracle']:.1f}% |"
        )
    return "\n".join(lines)


def ceiling_table() -> str:
    """What any ranker of the sampler's candidates could reach on the realistic test drops (results/ceiling.json)
    beside the committed model, the centroid and the issue's bar (at least 80% and 15 points above the centroid)."""
    path = RESULTS / "ceiling.json"
    if not path.is_file():
        return "(not run yet)"
    rows = json.loads(path.read_text())
    # ceiling.json from before the field was recorded was made with the prism run's model, committed then
    model = rows[0].get("committed_model", "prism_1000_2000_1600_1200")
    lines = [
        f"| largest extent | drops | oracle: some candidate succeeds | robust oracle (bound) | model committed when it ran (`{model}`) | centroid | the bar |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        n = len(r["objects"]) * r["trials_per_object"]
        robust = f"{100 * r['robust_oracle_bound']:.1f}%" if "robust_oracle_bound" in r else "not measured"
        bar = max(80.0, 100 * r["centroid"] + 15)
        lines.append(
            f"| {r['scale_to']:.2f} m | {n} | {100 * r['oracle']:.1f}% | {robust} | {100 * r['committed']:.1f}% "
            f"| {100 * r['centroid']:.1f}% | {bar:.1f}% |"
        )
    hard = [r for r in rows if "robust" in r]
    if hard:
        r = hard[0]
        per = "; ".join(
            f"{name} {100 * v['robust oracle']:.0f}% (`{model}`'s pick {100 * v['robust committed']:.0f}%, "
            f"centroid {100 * v['robust centroid']:.0f}%)"
            for name, v in r["robust"].items()
        )
        lines += [
            "",
            f"Under execution noise at {r['scale_to']:.2f} m (best candidate's rate over 5 executions): {per}.",
        ]
    return "\n".join(lines)


def smooth_table() -> str:
    """The committed rankers' pick success on the dense validation drops under each way of scoring a candidate
    (results/smooth.json, `run.py smooth`)."""
    path = RESULTS / "smooth.json"
    if not path.is_file():
        return "(not run yet)"
    r = json.loads(path.read_text())
    n = sum(r["drops"].values())
    lines = [
        f"| scoring (`{r['checkpoint']}`'s rankers) | picks that succeed, of {n} | procedural | realistic training |",
        "| --- | --- | --- | --- |",
    ]
    for k, wins in r["successes"].items():
        sets = " | ".join(f"{100 * r['by_set'][s][k]:.1f}%" for s in ("procedural", "realistic_train"))
        lines.append(f"| {k} | {wins} ({100 * wins / n:.2f}%) | {sets} |")
    verdict = ", ".join(r["replaces_committed_scoring"]) or "none"
    lines.append(
        f"\nClears the margin fixed beforehand ({r['margin']} more of the {n} drops, no fewer in either set): {verdict}."
    )
    return "\n".join(lines)


def rows_of(name: str, describe) -> list[tuple[str, dict]]:
    """(description, row) for each row of results/NAME.json (none if it was not run)."""
    path = RESULTS / f"{name}.json"
    return [(describe(r), r) for r in json.loads(path.read_text())] if path.is_file() else []


def ensemble_table() -> str:
    """The committed recipe (results/ensemble.json), with focused labels (results/focus.json), prism labels
    (results/prism.json), rate labels (results/rates.json), shell labels (results/shell.json), the pick loss
    (results/pick.json) and wide-regime labels (results/wide.json), beside the
    count experiment's row for the same objects."""
    rows = rows_of(
        "ensemble",
        lambda e: f"{e['members']} rankers x {e['views']} views, {e['scenes']} scenes, {e['objects']} objects",
    )
    if not rows:
        return "(not run yet)"
    e = rows[0][1]
    rows += rows_of(
        "focus",
        lambda f: (
            f"{f['members']} rankers x {f['views']} views, {f['scenes']} scenes + {f['focus_scenes']} focused by "
            f"`{f['focus_model']}` (its best {f['focus_top']} of 24 executed), {f['objects']} objects"
        ),
    )
    rows += rows_of(
        "prism",
        lambda p: (
            f"{p['members']} rankers x {p['views']} views, the committed model's {p['scenes']} + {p['focus_scenes']} "
            f"focused scenes + {p['prism_scenes']} scenes of {p['prism_objects']} `random_prism` objects"
        ),
    )
    rows += rows_of(
        "rates",
        lambda r: (
            f"{r['members']} rankers x {r['views']} views, the prism model's scenes + {r['rate_scenes']} scenes of "
            f"{r['rate_objects']} more `random_prism` objects labelled with success rates over {r['executions']} "
            "executions"
        ),
    )
    rows += rows_of(
        "shell",
        lambda h: (
            f"{h['members']} rankers x {h['views']} views, the prism model's scenes + {h['shell_scenes']} scenes of "
            f"{h['shell_objects']} `random_shell` objects (open cups, boxes, trays, tubes)"
        ),
    )
    rows += rows_of(
        "pick",
        lambda k: (
            f"{k['members']} rankers x {k['views']} views, "
            + (
                f"**pick loss** (weight {k['pick_weight']:g}, {k['pick_scenes']} scenes a step)"
                if k["pick_weight"]
                else "the pick loss's control (cross-entropy only)"
            )
            + f", {k['scenes']} scenes + {k['prism_scenes']} scenes of {k['prism_objects']} `random_prism` objects "
            f"(no focused scenes), {k['precision_used']}"
        ),
    )
    rows += rows_of(
        "wide",
        lambda w: (
            f"{w['members']} rankers x {w['views']} views, {w['scenes']} scenes + {w['wide_scenes']} wide-regime "
            f"scenes (objects scaled to {w['wide_scales'][0]:g} to {w['wide_scales'][1]:g} m), {w['objects']} objects"
        ),
    )
    count = RESULTS / "object_count.json"
    if count.is_file():
        rows += [
            (
                f"1 ranker (2 views in training, 1 at test), {r['scenes']} scenes, {r['unique_objects']} objects (count experiment)",
                r,
            )
            for r in json.loads(count.read_text())
            if r["unique_objects"] == e["objects"]
        ]
    lines = [
        "| recipe | 0.08 m: ranker, realistic | centroid | 0.12 m: ranker, realistic | centroid | random | 0.12 m: ranker, procedural | centroid |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, r in rows:
        t, h, p = r["realistic_test"], r["realistic_test_hard"], r["procedural_test_hard"]
        lines.append(
            f"| {label} | {pct(t)} | {pct(t['baselines']['centroid'])} | {pct(h)} | {pct(h['baselines']['centroid'])} "
            f"| {pct(h['baselines']['random'])} | {pct(p)} | {pct(p['baselines']['centroid'])} |"
        )
    sel = RESULTS / "selection.json"
    if sel.is_file():
        s = json.loads(sel.read_text())
        by_set = s.get("pick_success_by_set", {"procedural": s["pick_success"]})
        earlier = set(s.get("earlier", []))
        picks = ", ".join(
            f"`{k}`{'*' if k in earlier else ''} {100 * v:.1f}% ({' / '.join(f'{100 * by_set[n][k]:.1f}' for n in by_set)})"
            for k, v in s["pick_success"].items()
        )
        sets = f"{s['validation'][2]} drops each of the held-out procedural objects (seeds {s['validation'][0]:,} to {s['validation'][1] - 1:,})"
        if "realistic_validation_drops" in s:
            sets += f" and {s['realistic_validation_drops']} each of the 25 realistic training meshes"
        lines += [
            "",
            f"Pick success on the dense validation drops ({sets}, at {s['scale_to']} m; in brackets "
            f"{' / '.join(by_set)}; `grasp` is the checkpoint committed before the selection"
            f"{'; * a run scored by an earlier selection on the same drops, no longer on disk' if earlier else ''}): "
            f"{picks}; committed: `{s['committed']}`.",
        ]
    return "\n".join(lines)


def clutter_plot() -> str:
    """Success and clearance on the 48 grocery test piles against the number of procedural training objects, and
    procedural against realistic training objects (results/clutter_count.json, clutter_realistic.json)."""
    cpath, rpath = RESULTS / "clutter_count.json", RESULTS / "clutter_realistic.json"
    if not (cpath.is_file() and rpath.is_file()):
        return "(not run yet)"
    count, real = json.loads(cpath.read_text()), json.loads(rpath.read_text())
    base = count[0]["baselines"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True, gridspec_kw={"width_ratios": [3, 2]})
    ax = axes[0]
    for n_piles, colour in ((240, "C0"), (480, "C1")):
        rows = [r for r in count if r["piles"] == n_piles]
        xs = [r["unique_objects"] for r in rows]
        _errorbar(
            ax, xs, [r["test"] for r in rows], color=colour, label=f"ranker, {n_piles} piles: success per attempt"
        )
        ax.plot(xs, [100 * r["test"]["clearance_rate"] for r in rows], "s--", color=colour, alpha=0.6,
                label=f"ranker, {n_piles} piles: clearance")  # fmt: skip
    for (m, b), colour in zip(base.items(), ("C2", "C3", "C4")):
        ax.axhline(100 * b["success_rate"], ls=":", color=colour, label=f"{m} baseline: success per attempt")
    ax.axhline(85, color="k", lw=0.8, label="the issue's bar (85%)")
    ax.set_xscale("log")
    xs = sorted({r["unique_objects"] for r in count})
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel("unique procedural training objects")
    ax.set_ylabel("%")
    ax.set_ylim(0, 103)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("object count", fontsize=10)
    ax = axes[1]
    succ = [r["test"] for r in real]
    at = np.arange(len(real))
    ax.bar(at - 0.2, [100 * v["success_rate"] for v in succ], 0.4, color="C0", label="success per attempt",
           yerr=[[100 * (v["success_rate"] - v["ci95_low"]) for v in succ],
                 [100 * (v["ci95_high"] - v["success_rate"]) for v in succ]], capsize=3)  # fmt: skip
    ax.bar(at + 0.2, [100 * v["clearance_rate"] for v in succ], 0.4, color="C0", alpha=0.5, label="clearance")
    ax.axhline(100 * max(b["success_rate"] for b in base.values()), ls=":", color="C3",
               label="best baseline: success per attempt")  # fmt: skip
    ax.set_xticks(at, [r["training objects"].replace(" (", "\n(") + f"\n{r['piles']} piles" for r in real], fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("procedural against realistic training objects", fontsize=10)
    n = count[0]["test"]["piles"]
    fig.suptitle(f"Grasping in clutter: {n} held-out grocery piles, clearance runs (95% Wilson intervals)")
    fig.tight_layout()
    PLOTS.mkdir(exist_ok=True)
    fig.savefig(PLOTS / "clutter_experiments.png", dpi=120)
    plt.close(fig)
    lines = [
        "| training objects | labelled piles (grasps, held) | objects the piles drew | attempts | success per attempt "
        "| clearance | first attempt |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    named = [dict(c, **{"training objects": f"procedural, {c['unique_objects']}"}) for c in count] + [real[1]]
    for r in named:
        t = r["test"]
        lines.append(
            f"| {r['training objects']} | {r['piles']} ({r['grasps']:,}, {100 * r['held']:.0f}%) | {r['objects_drawn']} "
            f"| {t['n_trials']} | {pct(t)} | {100 * t['clearance_rate']:.1f}% | {100 * t['first_attempt_rate']:.1f}% |"
        )
    for m, b in base.items():
        lines.append(
            f"| baseline `{m}` | | | {b['n_trials']} | {pct(b)} | {100 * b['clearance_rate']:.1f}% "
            f"| {100 * b['first_attempt_rate']:.1f}% |"
        )
    return "\n".join(lines)


def clutter_model_table() -> str:
    """The clutter model's choice: each run's clearance runs on the validation piles, the margin, the choice and
    its test reading (results/clutter_model.json, `run.py clutter_model`)."""
    path = RESULTS / "clutter_model.json"
    if not path.is_file():
        return "(not run yet)"
    r = json.loads(path.read_text())
    lines = [
        "| run | validation: success per attempt | procedural: held / attempts, clearance | realistic training meshes: "
        "held / attempts, clearance |",
        "| --- | --- | --- | --- |",
    ]
    for name, v in r["validation"].items():
        cells = [
            f"{v[k]['held']} / {v[k]['attempts']}, {100 * v[k]['clearance_rate']:.0f}%"
            for k in ("procedural", "realistic_train")
        ]
        mark = " (chosen)" if name == r["chosen"] else ""
        lines.append(f"| `{name}`{mark} | {100 * v['success_rate']:.1f}% | {cells[0]} | {cells[1]} |")
    t = r["test"]
    best = max(t["baselines"].items(), key=lambda kv: kv[1]["success_rate"])
    lines += [
        "",
        f"Margin fixed beforehand: {100 * r['select_margin']:.0f} points over `run480`. The choice on the "
        f"{t['piles']} grocery test piles: **{pct(t)}** per attempt over {t['n_trials']} attempts, clearance "
        f"{100 * t['clearance_rate']:.1f}%, first attempt {100 * t['first_attempt_rate']:.1f}%; best baseline "
        f"`{best[0]}` {pct(best[1])}.",
    ]
    return "\n".join(lines)


def main() -> None:
    count, real, scale, per = count_plot(), realistic_table(), scale_table(), per_object_table()
    markers = {
        "COUNT": count, "REALISTIC": real, "SCALE": scale, "PER_OBJECT": per, "ENSEMBLE": ensemble_table(),
        "CEILING": ceiling_table(), "SMOOTH": smooth_table(), "GROCERY": scale_table("grocery", "grocery_test"),
        "GROCERY_PER_OBJECT": per_object_table(0.12, "grocery", "grocery_test"), "CLUTTER": clutter_plot(),
        "CLUTTER_MODEL": clutter_model_table(),
    }  # fmt: skip
    fill_markers(HERE / "README.md", markers)


if __name__ == "__main__":
    main()
