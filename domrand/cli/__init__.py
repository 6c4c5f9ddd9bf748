"""The `domrand` command line: parse, build a config, call the library. Nothing else lives here."""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import yaml


class UsageError(ValueError):
    pass


def _set_overrides(items: list[str]) -> dict[str, Any]:
    """--set a.b=value pairs -> a nested dict (values parsed as YAML, so numbers and lists work)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--set needs key=value, got {item!r}")
        key, raw = item.split("=", 1)
        node = out
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        try:
            node[parts[-1]] = yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise UsageError(f"--set {key}: cannot parse {raw!r}: {e}") from None
    return out


def objects_section(paths: list[str]) -> list[dict[str, Any]]:
    """`--objects a.obj b.stl`: one class per mesh file, named after the file (deduplicated with _2, _3, ...),
    one instance each per image, metres unless the mesh is implausibly large for metres (then millimetres)."""
    from pathlib import Path

    from domrand.meshfile import read_mesh

    out, seen = [], {}
    for p in paths:
        stem = "".join(ch if ch.isalnum() or ch in "_-." else "_" for ch in Path(p).stem) or "object"
        stem = stem if not stem[0].isdigit() else f"obj_{stem}"
        seen[stem] = seen.get(stem, 0) + 1
        name = stem if seen[stem] == 1 else f"{stem}_{seen[stem]}"
        units = "m"
        try:
            read_mesh(p, units="m")
        except ValueError as e:
            if "units: mm" not in str(e) and "units: cm" not in str(e):
                raise
            units = "mm" if "units: mm" in str(e) else "cm"
            print(f"--objects: {p} reads as {units} (too large for metres); set units in a config to change it")
        out.append({"name": name, "mesh": p, "units": units, "count": [1, 1]})
    return out


def _config(args: argparse.Namespace) -> Any:
    from domrand.config import load_config

    overrides = _set_overrides(args.set or [])
    if getattr(args, "objects", None):
        overrides["world"] = {**overrides.get("world", {}), "objects": objects_section(args.objects)}
    if getattr(args, "size", None) is not None:
        overrides["image_size"] = args.size
    if getattr(args, "chunk_size", None) is not None:
        overrides["chunk_size"] = args.chunk_size
    output = {
        "min_visible_pixels": getattr(args, "min_visible_pixels", None),
        "coco_segmentation": getattr(args, "coco_segmentation", None),
        "bop_distractors": True if getattr(args, "bop_distractors", False) else None,
    }
    output = {k: v for k, v in output.items() if v is not None}
    if output:
        overrides["output"] = {**overrides.get("output", {}), **output}
    return load_config(preset=args.preset, path=args.config, overrides=overrides)


def _format_names(text: str) -> tuple[str, ...]:
    """`--format`'s comma-separated names."""
    return tuple(f.strip() for f in text.split(",") if f.strip())


def _generate_request(args: argparse.Namespace) -> tuple[Any, Any]:
    """The dataset config and `GenerateOptions` that `domrand generate`'s command line asks for."""
    from domrand.config import dataset_manifest
    from domrand.generate import GenerateOptions

    cfg = _config(args)
    recorded = dataset_manifest(args.config) if args.config else None  # --config DIR: that dataset again
    num = args.num if args.num is not None else recorded and recorded["num_images"]
    if num is None:
        raise ValueError("--num is required: the number of images to generate")
    seed = args.seed if args.seed is not None else (recorded["root_seed"] if recorded else 0)
    formats = (
        _format_names(args.format)
        if args.format is not None
        else tuple(recorded["formats"] if recorded else ("native",))
    )
    opts = GenerateOptions(
        out=args.out, num=num, seed=seed, formats=formats, workers=args.workers, batch_size=args.batch_size,
        device=args.device, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet, backend=args.backend, address=args.address,
    )  # fmt: skip
    return cfg, opts


#: The early warm-up child's command (`_early_warm_up`), followed by this command line's arguments.
WARM_CHILD = "import sys; from domrand.cli import warm_child; warm_child(sys.argv[1:])"


def _early_warm_up(args: argparse.Namespace) -> subprocess.Popen[bytes] | None:
    """On a machine's first run (numba's cache lacks the renderer), start the warm-up child now: it reads the same
    command line and compiles its share of the kernels (textures, image noise, the formats' encoders) while this
    process imports torch and reads the config, a second before `warm_up` could start it. None on a warm cache
    (the check imports the kernel modules, not torch) or off the CPU. Its output is dropped: whatever it would
    say (a bad config), this process says once."""
    if args.device != "cpu":
        return None
    from domrand.kernels import cache_is_cold

    if not cache_is_cold():
        return None
    quiet = subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-c", WARM_CHILD, *Parser.argv], stdin=quiet, stdout=quiet, stderr=quiet)


def warm_child(argv: list[str]) -> None:
    """The early warm-up child: compile the child's share of the kernels (`kernels.first_run`, and the formats'
    with `io.first_run` if the command line asks for a format other than native) for the `domrand generate`
    command line `argv`, without torch and without reading the config: the texture and noise kernels whatever
    the config (the main process's share takes longer anyway)."""
    from domrand.io.first_run import compile_formats
    from domrand.kernels.first_run import compile_share

    args = parser().parse_args(argv)
    compile_share()
    if any(f != "native" for f in _early_formats(args)):
        compile_formats()


def _early_formats(args: argparse.Namespace) -> tuple[str, ...]:
    """The formats the command line asks for, as `_generate_request` reads them (`--format`, else those of the
    dataset that `--config DIR` names, else native), without importing torch."""
    if args.format is not None:
        return _format_names(args.format)
    if args.config:
        p = Path(args.config)
        p = p / "manifest.json" if p.is_dir() else p
        if p.name == "manifest.json" and p.is_file():
            try:
                return tuple(json.loads(p.read_text()).get("formats", ("native",)))
            except (OSError, ValueError):
                pass
    return ("native",)


def cmd_generate(args: argparse.Namespace) -> int:
    # Start-up imports numba and torch and reads the config: about a million objects that live as long as the
    # process, which Python's cyclic collector walked again and again (0.1-0.2 s of a 2 s start-up). None is
    # garbage, so they are frozen (`gc.freeze`: out of the collector's sight) and the collector runs as before.
    from domrand.io.chunk import gc_paused

    with gc_paused(freeze=True):
        child = _early_warm_up(args)
        from domrand.generate import generate
        from domrand.generate.warm import early

        request = _generate_request(args)
    with early(child):
        s = generate(*request)
    print(
        f"wrote {s.images} images ({s.chunks_written} chunks, {s.chunks_skipped} already done) to {s.out} in {s.seconds:.1f} s: {s.images_per_s:.1f} images/s"
    )
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from domrand.tools.preview import preview

    out = preview(
        Path(args.dataset),
        Path(args.out) if args.out else None,
        count=args.count,
        columns=args.columns,
        start=args.start,
    )
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    import yaml

    if args.source and args.config:
        raise ValueError("give the dataset or YAML as the argument or as --config, not both")
    args.config = args.source or args.config
    cfg = _config(args)
    print("# domrand dataset configuration: feed it back with domrand generate --config FILE")
    print(yaml.safe_dump(cfg.to_json(), sort_keys=False, default_flow_style=None, width=120), end="")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from domrand.generate.replay import replay
    from domrand.io.images import encode_png

    r = replay(args.dataset, args.index, device=args.device)
    out = Path(args.out) if args.out else Path(args.dataset) / f"replay_{args.index:06d}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(encode_png(r.rgb))
    same = {
        True: "byte-identical to the stored image",
        False: "DIFFERS from the stored image",
        None: "(no native arrays to compare)",
    }
    print(f"wrote {out}: image {args.index} rendered again from its parameters, {same[r.matches_stored]}")
    return 0 if r.matches_stored is not False else 1


def cmd_info(args: argparse.Namespace) -> int:
    from domrand.tools.preview import info

    print(info(Path(args.dataset)))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    out = {"json_out": args.json_out, "readme": args.readme}
    if args.what == "render":
        from domrand.tools.bench import render

        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        render.main(sizes, args.images, args.peer, args.procs, args.device, **out)
    elif args.what == "train":
        from domrand.tools.bench import train

        train.main(args.size, args.batch, args.steps, args.device, **out)
    elif args.what == "grasp":
        from domrand.tools.bench import grasp

        grasp.main(args.scenes, args.piles, **out)
    else:
        from domrand.tools.bench import generate

        generate.main(args.size, args.images, args.ray, args.memory, repeats=args.repeats, **out)
    return 0


def cmd_gallery(args: argparse.Namespace) -> int:
    from domrand.tools import gallery

    make = {"tabletop": gallery.tabletop_sheet, "objects": gallery.objects_sheet, "mujoco": gallery.mujoco_sheet}[
        args.what
    ]
    if args.family is not None and args.what != "objects":
        raise ValueError(f"--family is for `domrand gallery objects`, not {args.what!r}")
    kw = {"family": args.family} if args.family is not None else {}
    out = make(Path(args.out), count=args.count, seed=args.seed, **kw)
    print(f"wrote {out}")
    return 0


def _add_config_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", choices=["tabletop", "grasping"], help="built-in preset (default: tabletop)")
    g.add_argument(
        "--config",
        type=str,
        help="YAML config file (may name its own `preset` to start from), or a dataset folder / its manifest.json "
        "(that dataset's full configuration)",
    )
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override one setting, e.g. --set textures.pool_size=100"
    )


class Parser(argparse.ArgumentParser):
    """argparse, but an unknown option is named (with the closest known one) before any other complaint:
    `--nmu 8` says `unknown option --nmu (did you mean --num?)`, not only that --num is missing."""

    argv: ClassVar[list[str]] = []

    def error(self, message: str) -> NoReturn:
        known = _options(self, self.argv)
        for token in self.argv:
            if token == "--":
                break
            opt = token.split("=", 1)[0]
            if opt.startswith("--") and opt not in known:
                close = difflib.get_close_matches(opt, known, n=1)
                message = f"unknown option {opt}" + (f" (did you mean {close[0]}?)" if close else "")
                break
        super().error(message)


def _options(p: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """The options of the (sub)command that `argv` names: `domrand train pose ...` -> train pose's."""
    own = [o for a in p._actions for o in a.option_strings]
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for i, token in enumerate(argv):
                if token in action.choices:
                    return own + _options(action.choices[token], argv[i + 1 :])
    return own


def parser() -> argparse.ArgumentParser:
    ap = Parser(prog="domrand", description="Sim-to-real domain randomization: datasets, benchmarks, trainers.")
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = ap.add_subparsers(dest="command", required=True)

    g = sub.add_parser(
        "generate",
        help="write a labelled synthetic dataset",
        description="Write a labelled synthetic dataset. With no --preset or --config, the tabletop preset.",
    )
    _add_config_args(g)
    g.add_argument(
        "--objects",
        nargs="+",
        metavar="MESH",
        help="your meshes (.obj .stl .ply .glb .gltf .off) as labelled classes on the tabletop, one instance each, "
        "named after their files (world.objects; a config file sets counts, units and looks)",
    )
    g.add_argument("--num", type=int, help="number of images (with --config DIR: that dataset's)")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--seed", type=int, help="root seed (default 0; with --config DIR: that dataset's)")
    g.add_argument("--size", type=int, help="image size in pixels (default: the preset's, 128)")
    g.add_argument(
        "--chunk-size", type=int, help="images per chunk, the unit of seeding and writing (default: the preset's, 64)"
    )
    g.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    g.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    g.add_argument(
        "--batch-size",
        type=int,
        help="images rendered at once, across chunks; a memory knob that changes no byte (default: 256 images up "
        "to 64 x 64 px, 128 up to 128 x 128, else 64)",
    )
    g.add_argument(
        "--format",
        help="comma-separated: native, jsonl, coco, bop, yolo (default native; with --config DIR: that dataset's)",
    )
    g.add_argument(
        "--min-visible-pixels",
        type=int,
        help="COCO and YOLO leave out objects with fewer visible pixels (output.min_visible_pixels; default 0: all)",
    )
    g.add_argument(
        "--coco-segmentation",
        choices=["rle", "polygon"],
        help="COCO masks as RLE (exact, default) or polygons (output.coco_segmentation)",
    )
    g.add_argument(
        "--bop-distractors",
        action="store_true",
        help="BOP ground truth lists the distractors too (output.bop_distractors; needs "
        "--set placement.distractor_extent_step=0.01)",
    )
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    mode.add_argument("--overwrite", action="store_true", help="replace the dataset in --out")
    g.add_argument("--quiet", action="store_true", help="log lines instead of a progress bar")
    g.add_argument("--backend", default="local", choices=["local", "ray"], help="where chunks run (default local)")
    g.add_argument(
        "--address", default=None, help="Ray cluster address (auto, ray://HOST:PORT); default: start a local Ray"
    )
    g.set_defaults(func=cmd_generate, on_interrupt="; finished chunks are intact, continue with --resume")

    c = sub.add_parser(
        "config",
        help="print a configuration as YAML (a dataset's, a preset's, a file's with --set applied)",
        description="Print the full configuration: of a dataset (DIR or DIR/manifest.json), a YAML file, or a preset, "
        "with --set overrides applied. `domrand generate --config` reads the output back.",
    )
    c.add_argument("source", nargs="?", help="dataset folder, its manifest.json, or a YAML file")
    _add_config_args(c)
    c.set_defaults(func=cmd_config)

    rp = sub.add_parser(
        "replay",
        help="render one image of a dataset again from its stored parameters",
        description="Render image INDEX of a dataset again from its stored randomization parameters, write it as a PNG "
        "and say whether it equals the stored image byte for byte (Python: domrand.generate.replay.replay).",
    )
    rp.add_argument("dataset")
    rp.add_argument("--index", type=int, required=True, help="image index in the dataset")
    rp.add_argument("--out", help="PNG path (default DATASET/replay_INDEX.png)")
    rp.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    rp.set_defaults(func=cmd_replay)

    p = sub.add_parser("preview", help="contact sheet of a dataset with overlays")
    p.add_argument("dataset")
    p.add_argument("--out", help="PNG path (default DATASET/preview.png)")
    p.add_argument("--count", type=int, default=16)
    p.add_argument("--columns", type=int, default=4)
    p.add_argument("--start", type=int, default=0, help="first image index")
    p.set_defaults(func=cmd_preview)

    i = sub.add_parser("info", help="summarise a dataset from its manifest")
    i.add_argument("dataset")
    i.set_defaults(func=cmd_info)

    b = sub.add_parser(
        "bench", help="benchmarks: render or generate throughput, pose-training step cost, executed grasps per second"
    )
    b.add_argument("what", choices=["render", "generate", "train", "grasp"])
    b.add_argument("--json", dest="json_out", help="write results to this JSON file")
    b.add_argument(
        "--readme", help="fill the table between <!-- BENCH_RENDER|GENERATE|TRAIN --> markers in this Markdown file"
    )
    b.add_argument("--sizes", default="64,128,224", help="image sizes (render benchmark)")
    b.add_argument("--images", type=int, default=0, help="images per measurement (default: size-dependent)")
    b.add_argument(
        "--peer", default="auto", choices=["auto", "on", "off"], help="also measure the PyBullet TinyRenderer peer"
    )
    b.add_argument("--procs", type=int, default=2, help="peer processes (the same cores domrand uses)")
    b.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    b.add_argument("--size", type=int, default=128, help="image size (generate and train benchmarks)")
    b.add_argument("--batch", type=int, default=64, help="images per step (train benchmark)")
    b.add_argument("--steps", type=int, default=10, help="timed steps per variant (train benchmark)")
    b.add_argument("--scenes", type=int, default=20, help="grasp benchmark: scenes to label")
    b.add_argument("--piles", type=int, default=10, help="grasp benchmark: clutter piles")
    b.add_argument("--ray", action="store_true", help="also measure the Ray backend (generate benchmark)")
    b.add_argument(
        "--repeats", type=int, default=1, help="generate benchmark: runs per figure (the median is reported)"
    )
    b.add_argument(
        "--memory", action="store_true", help="also measure peak memory of 10k and 100k-image runs (generate benchmark)"
    )
    b.set_defaults(func=cmd_bench)

    gl = sub.add_parser(
        "gallery", help="contact sheets: the tabletop preset, procedural objects, randomized MuJoCo scenes"
    )
    gl.add_argument("what", choices=["tabletop", "objects", "mujoco"])
    gl.add_argument("--out", required=True)
    gl.add_argument("--count", type=int, default=64)
    gl.add_argument("--seed", type=int, default=0)
    gl.add_argument(
        "--family", help="objects: only this procedural family (e.g. random_prism, random_shell; default: the mix)"
    )
    gl.set_defaults(func=cmd_gallery)
    from domrand.cli.train import add_train_commands

    add_train_commands(sub)
    return ap


def extra_for(module: str) -> str | None:
    """The optional extra of domrand's package metadata (pyproject's `optional-dependencies`) that installs the
    top-level `module`, other than `dev`; None if no extra does.

    Example:
        >>> extra_for("pybullet"), extra_for("pycocotools"), extra_for("numpy")
        ('sim', 'coco', None)
    """
    import re
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        requires = metadata("domrand").get_all("Requires-Dist") or []
    except PackageNotFoundError:  # run from a source tree that was never installed
        return None
    for req in requires:
        name = re.match(r"[A-Za-z0-9_.-]+", req)
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", req)
        if name and extra and extra.group(1) != "dev" and name.group(0).replace("-", "_") == module:
            return extra.group(1)
    return None


def main(argv: list[str] | None = None) -> int:
    Parser.argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.func not in (cmd_config, cmd_info):  # the commands that run kernels: 512-bit vectors where the CPU has them
        from domrand.kernels.vectors import use_wide_vectors

        use_wide_vectors()
    from domrand.io.files import DatasetWriteError
    from domrand.tasks.interrupt import TrainingInterrupted

    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as e:
        print(f"domrand: error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:  # an optional dependency this command needs (another missing module is a bug)
        module = (e.name or "").split(".")[0]
        extra = extra_for(module)
        if extra is None:
            raise
        print(
            f"domrand: error: this command needs {module}, which is not installed: pip install 'domrand[{extra}]'"
            f" (from a checkout: pip install -e '.[{extra}]')",
            file=sys.stderr,
        )
        return 2
    except DatasetWriteError as e:
        print(f"domrand: error: {e}. Finished chunks are intact; rerun with --resume when fixed.", file=sys.stderr)
        return 1
    except TrainingInterrupted as e:
        print(f"domrand: {e}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"domrand: interrupted{getattr(args, 'on_interrupt', '')}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `domrand info DIR | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as e:  # a pool's worker process died (`generate.pool`, not imported unless a pool ran: torch)
        pool = sys.modules.get("domrand.generate.pool")
        if pool is None or not isinstance(e, pool.WorkerDied):
            raise
        print(f"domrand: error: {e}", file=sys.stderr)
        return 1
