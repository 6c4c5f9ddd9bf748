"""Plots and the README table of the localization experiments, from results/*.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from domrand.tools.bench.markdown import fill_markers

HERE = Path(__file__).resolve().parent
RESULTS, PLOTS = HERE / "results", HERE / "plots"
SETS = {
    "test_distractors": "randomized test, distractors",
    "gap_distractors": "reality gap, distractors",
    "test_objects": "randomized test, object only",
    "gap_objects": "reality gap, object only",
}


def gap_label(rows: list[dict]) -> str:
    """ "reality gap", or "reality gap v1" where a row was measured on an older version of the set."""
    from make_reality_gap import GAP_VERSION

    v = min(r.get("gap_version", 1) for r in rows) if rows else GAP_VERSION
    return "reality gap" if v == GAP_VERSION else f"reality gap v{v}"


def load(name: str) -> Any:
    """results/NAME.json, or None where that experiment has not run."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def cm(row: dict, key: str) -> float:
    return 100 * row[key]["mean_error_m"]


def curve(name: str, xkey: str, xlabel: str, title: str) -> None:
    rows = load(name)
    if rows is None:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = list(range(len(rows)))
    for key, label in SETS.items():
        label = label.replace("reality gap", gap_label(rows))
        ax.plot(
            xs, [cm(r, key) for r in rows], marker="o", label=label, linestyle="-" if key.startswith("gap") else "--"
        )
    ax.set_xticks(xs, [str(r[xkey]) for r in rows])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean position error (cm)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    PLOTS.mkdir(exist_ok=True)
    fig.savefig(PLOTS / f"{name}.png", dpi=120)
    plt.close(fig)


def _pretraining_rows() -> tuple[list[dict], list[dict]] | None:
    """(from scratch, pre-trained) rows of results/pretraining.json, by training images."""
    if not (RESULTS / "pretraining.json").is_file():
        return None
    rows = json.loads((RESULTS / "pretraining.json").read_text())
    scratch = sorted((r for r in rows if r["start"] == "scratch"), key=lambda r: r["train_images"])
    pre = sorted((r for r in rows if r["start"] != "scratch"), key=lambda r: r["train_images"])
    return scratch, pre


def pretraining_plot() -> None:
    """The paper's Fig. 4 in our terms: error against training images, from scratch and pre-trained."""
    both = _pretraining_rows()
    if both is None:
        return
    scratch, pre = both
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    xs = [r["train_images"] for r in pre]
    sets = {"test_distractors": "randomized, distractors", "gap_objects": "reality gap, object only",
            "gap_distractors": "reality gap, distractors"}  # fmt: skip
    for (key, label), color in zip(sets.items(), ("C0", "C1", "C2")):
        ax.plot(
            xs, [cm(r, key) for r in scratch], marker="o", color=color, linestyle="--", label=f"{label}: from scratch"
        )
        ax.plot(xs, [cm(r, key) for r in pre], marker="s", color=color, linestyle="-", label=f"{label}: pre-trained")
    ax.set_xscale("log")
    ax.set_xticks(xs, [f"{x / 1000:.0f}k" if x >= 1000 else str(x) for x in xs])
    ax.minorticks_off()
    ax.set_xlabel("training images (cube)")
    ax.set_ylabel("mean position error (cm)")
    ax.set_title("Pre-trained on a cylinder task against from scratch (64 px)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    PLOTS.mkdir(exist_ok=True)
    fig.savefig(PLOTS / "pretraining.png", dpi=120)
    plt.close(fig)


def pretraining_markdown() -> str:
    both = _pretraining_rows()
    if both is None:
        return "(not run yet)"
    scratch, pre = both
    g = gap_label(scratch + pre)
    keys = ("test_distractors", "gap_objects", "gap_distractors")
    lines = [
        f"| training images | from scratch: randomized distractors / {g} object / distractors (cm) | pre-trained: the same (cm) |",
        "| --- | --- | --- |",
    ]
    for s, p in zip(scratch, pre):
        a, b = (" / ".join(f"{cm(r, k):.1f}" for k in keys) for r in (s, p))
        lines.append(f"| {p['train_images']} | {a} | {b} |")
    return "\n".join(lines)


def table2_markdown() -> str:
    rows = load("table2")
    if rows is None:
        return "(not run yet)"
    paper = {
        "full method": "1.3 / 1.8 / 2.4",
        "no noise": "1.4 / 1.8 / 2.5",
        "no camera randomization": "2.4 / 3.1 / 3.0",
        "no distractors": "1.5 / 7.2 / 11.2",
    }
    lines = [
        f"| training | randomized test: object / distractors / occluded (cm) | {gap_label(rows)}: object / distractors / occluded (cm) | paper, real images (cm) |",
        "| --- | --- | --- | --- |",
    ]
    for r in rows:
        sim = " / ".join(f"{cm(r, k):.1f}" for k in ("test_objects", "test_distractors", "test_occluded"))
        gap = " / ".join(f"{cm(r, k):.1f}" for k in ("gap_objects", "gap_distractors", "gap_occluded"))
        lines.append(f"| {r['variant']} | {sim} | {gap} | {paper.get(r['variant'], '-')} |")
    return "\n".join(lines)


def series_markdown(name: str, xkey: str, xlabel: str) -> str:
    rows = load(name)
    if rows is None:
        return "(not run yet)"
    g = gap_label(rows)
    lines = [
        f"| {xlabel} | randomized test, distractors (cm) | {g}, distractors (cm) | {g}, object only (cm) |",
        "| --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r[xkey]} | {cm(r, 'test_distractors'):.1f} | {cm(r, 'gap_distractors'):.1f} | {cm(r, 'gap_objects'):.1f} |"
        )
    return "\n".join(lines)


def headline_markdown() -> str:
    r = load("headline")
    if r is None:
        return "(not run yet)"
    r = r[0]
    init = f", fine-tuned from run `{r['init']}`" if r.get("init") else ""
    g = gap_label([r])
    gap_note = "" if g == "reality gap" else f" The gap_* rows were measured on the {g} sets."
    lines = [
        f"`checkpoints/cube.pt` is run `{r['name']}` ({r['train_images']} images at {r['image_size']} px, "
        f"{r['steps']} steps{init}), chosen by its error on the randomized test set with distractors.{gap_note}",
        "",
        "| test set | n | mean (cm) | median (cm) | p95 (cm) | under 1.5 cm | under 3 cm |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key in ("test_objects", "test_distractors", "test_occluded", "gap_objects", "gap_distractors", "gap_occluded"):
        m = r[key]
        lines.append(
            f"| {key} | {m['n']} | {100 * m['mean_error_m']:.1f} | {100 * m['median_error_m']:.1f} | "
            f"{100 * m['p95_error_m']:.1f} | {m['frac_under_0.015']:.0%} | {m['frac_under_0.03']:.0%} |"
        )
    return "\n".join(lines)


def headline_runs_markdown() -> str:
    """Every headline run so far (results/headline_runs.json): what a longer run, a larger input or more data gave."""
    path = RESULTS / "headline_runs.json"
    if not path.is_file():
        return "(not run yet)"
    lines = [
        "| run | input (px) | training images | steps | randomized test sets | reality-gap sets "
        "| randomized test: object / distractors (cm) "
        "| reality gap: object / distractors / occluded, mean (cm) | reality gap: object / distractors, median (cm) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in json.loads(path.read_text()):
        med = [100 * r[k]["median_error_m"] for k in ("gap_objects", "gap_distractors")]
        steps = f"{r['steps']} more, from `{r['init']}`" if r.get("init") else r["steps"]
        lines.append(
            f"| `{r['name']}` | {r['image_size']} | {r['train_images']} | {steps} | v{r.get('test_version', 1)} | "
            f"v{r.get('gap_version', 1)} | "
            f"{cm(r, 'test_objects'):.1f} / {cm(r, 'test_distractors'):.1f} | "
            f"{cm(r, 'gap_objects'):.1f} / {cm(r, 'gap_distractors'):.1f} / {cm(r, 'gap_occluded'):.1f} | "
            f"{med[0]:.1f} / {med[1]:.1f} |"
        )
    return "\n".join(lines)


def design_markdown() -> str:
    """The design runs (results/design.json): textures, then the camera geometry, each against the last."""
    rows = load("design")
    if rows is None:
        return "(not run yet)"
    g = gap_label(rows)
    lines = [
        "| run | texture kinds | geometry | randomized test: object / distractors, mean (median) (cm) "
        f"| {g}: object / distractors / occluded, mean (cm) | {g}: object / distractors, median / p95 (cm) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        kinds = "original 7" if r["sets"] else "all 10 (+ dead leaves, stones, strokes)"
        geometry = r["model"].get("geometry", "correction")
        test = " / ".join(
            f"{cm(r, k):.1f} ({100 * r[k]['median_error_m']:.1f})" for k in ("test_objects", "test_distractors")
        )
        gap = " / ".join(f"{cm(r, k):.1f}" for k in ("gap_objects", "gap_distractors", "gap_occluded"))
        tail = " / ".join(
            f"{100 * r[k]['median_error_m']:.1f} / {100 * r[k]['p95_error_m']:.1f}"
            for k in ("gap_objects", "gap_distractors")
        )
        lines.append(f"| `{r['name']}` | {kinds} | {geometry} | {test} | {gap} | {tail} |")
    return "\n".join(lines)


def fusion_markdown() -> str:
    """The same weights with the two mirror fusions (results/fusion.json)."""
    rows = load("fusion")
    if rows is None:
        return "(not run yet)"
    g = gap_label(rows)
    lines = [
        "| run | fusion | randomized test: object / distractors / occluded, mean (cm) "
        f"| {g}: object / distractors / occluded, mean (cm) | {g}: distractors, median / p95 (cm) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        for fuse in ("position", "heatmap"):
            mark = " (checkpoint's)" if fuse == r["checkpoint_fusion"] else ""
            lines.append(f"| `{r['name']}` | {fuse}{mark} | {six_sets_cells(r[fuse])} |")
    return "\n".join(lines)


def six_sets_cells(m: dict) -> str:
    """Table cells of one model's figures on the six test sets: the randomized and the reality-gap means, and
    the reality-gap distractor set's median / p95 (cm)."""
    keys = ("test_objects", "test_distractors", "test_occluded", "gap_objects", "gap_distractors", "gap_occluded")
    test = " / ".join(f"{100 * m[k]['mean_error_m']:.2f}" for k in keys[:3])
    gap = " / ".join(f"{100 * m[k]['mean_error_m']:.2f}" for k in keys[3:])
    d = m["gap_distractors"]
    return f"{test} | {gap} | {100 * d['median_error_m']:.2f} / {100 * d['p95_error_m']:.1f}"


def camera_markdown() -> str:
    """The committed model with each camera it can be given (results/camera.json)."""
    result = load("camera")
    if result is None:
        return "(not run yet)"
    g = gap_label([result])
    lines = [
        "| `--camera` | the camera is | randomized test: object / distractors / occluded, mean (cm) "
        f"| {g}: object / distractors / occluded, mean (cm) | {g}: distractors, median / p95 (cm) "
        f"| {g}: distractors, over 5 cm | control (domrand, {g} cameras): object / distractors, mean (cm) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in result["rows"]:
        over = 100 * r["gap_distractors"]["frac_over_0.05"]
        control = " / ".join(
            f"{100 * r[k]['mean_error_m']:.2f}" if k in r else "not run"
            for k in ("control_objects", "control_distractors")
        )
        lines.append(f"| `{r['camera']}` | {r['assumes']} | {six_sets_cells(r)} | {over:.1f}% | {control} |")
    return "\n".join(lines)


def vector_cell(m: dict) -> str:
    """ "x / y" of a report's mean error vector, cm ("-" for reports from before it)."""
    v = m.get("mean_error_vector_m")
    return "-" if v is None else f"{100 * v[0]:+.2f} / {100 * v[1]:+.2f}"


def camera_bias_markdown() -> str:
    """The committed model's mean error vector (x / y) on every set with each camera (results/camera.json)."""
    result = load("camera")
    if result is None:
        return "(not run yet)"
    keys = ("test_objects", "test_distractors", "test_occluded", "gap_objects", "gap_distractors", "gap_occluded",
            "control_objects", "control_distractors")  # fmt: skip
    names = [k.replace("test_", "randomized ").replace("gap_", "reality gap ").replace("_", " ") for k in keys]
    lines = [
        "| `--camera` | " + " | ".join(names) + " |",
        "| --- |" + " --- |" * len(keys),
    ]
    for r in result["rows"]:
        lines.append(f"| `{r['camera']}` | " + " | ".join(vector_cell(r[k]) if k in r else "-" for k in keys) + " |")
    return "\n".join(lines)


def occlusion_camera_markdown() -> str:
    """Issue 33's runs side by side (results/occlusion_camera.json): errors, and the mean error vectors."""
    rows = load("occlusion_camera")
    if rows is None:
        return "(not run yet)"

    def mean_median(r: dict, keys: tuple[str, ...]) -> str:
        return " / ".join(f"{cm(r, k):.2f} ({100 * r[k]['median_error_m']:.2f})" for k in keys)

    lines = [
        "| run | reality gap: object / distractors / occluded, mean (median) (cm) "
        "| randomized: object / distractors / occluded, mean (cm) | control: object / distractors, mean (cm) "
        "| nominal camera, mean (cm) | mean error vector x / y (cm): control object; control distractors; nominal; "
        "reality gap object; reality gap distractors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        test = " / ".join(f"{cm(r, k):.2f}" for k in ("test_objects", "test_distractors", "test_occluded"))
        control = " / ".join(f"{cm(r, k):.2f}" for k in ("control_objects", "control_distractors"))
        vectors = "; ".join(
            vector_cell(r[k])
            for k in ("control_objects", "control_distractors", "nominal_objects", "gap_objects", "gap_distractors")
        )
        lines.append(
            f"| `{r['name']}` | {mean_median(r, ('gap_objects', 'gap_distractors', 'gap_occluded'))} | {test} "
            f"| {control} | {cm(r, 'nominal_objects'):.2f} | {vectors} |"
        )
    return "\n".join(lines)


def draws_markdown() -> str:
    """The committed model on the reality-gap sets of record (seed 7) and on further draws (results/gap_draws.json)."""
    path = RESULTS / "gap_draws.json"
    if not path.is_file():
        return "(not run yet)"
    lines = [
        "| set | seed | n | mean (cm) | median (cm) | p95 (cm) | over 5 cm |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in json.loads(path.read_text())["rows"]:
        mean = f"{100 * r['mean_error_m']:.2f}"
        if "mean_ci95_m" in r:
            lo, hi = r["mean_ci95_m"]
            mean += f" (95% {100 * lo:.2f} to {100 * hi:.2f})"
        seed = f"{r['seed']} (of record)" if r["seed"] == 7 else str(r["seed"])
        lines.append(
            f"| {r['set']} | {seed} | {r['n']} | {mean} | {100 * r['median_error_m']:.2f} | "
            f"{100 * r['p95_error_m']:.1f} | {100 * r['frac_over_0.05']:.1f}% |"
        )
    return "\n".join(lines)


def main() -> None:
    curve("datasize", "train_images", "training images", "Error against the number of training images")
    curve("textures", "unique_textures", "unique textures (10k images)", "Error against the number of unique textures")
    pretraining_plot()
    fill_markers(
        HERE / "README.md",
        {
            "HEADLINE": headline_markdown(),
            "HEADLINE_RUNS": headline_runs_markdown(),
            "DESIGN": design_markdown(),
            "FUSION": fusion_markdown(),
            "CAMERA": camera_markdown(),
            "CAMERA_BIAS": camera_bias_markdown(),
            "OCCLUSION_CAMERA": occlusion_camera_markdown(),
            "DRAWS": draws_markdown(),
            "TABLE2": table2_markdown(),
            "DATASIZE": series_markdown("datasize", "train_images", "training images"),
            "TEXTURES": series_markdown("textures", "unique_textures", "unique textures"),
            "PRETRAINING": pretraining_markdown(),
        },
    )


if __name__ == "__main__":
    main()
