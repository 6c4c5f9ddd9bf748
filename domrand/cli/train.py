"""`domrand train|evaluate|predict` subcommands (the trainers' command line)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def cmd_train(args: argparse.Namespace) -> int:
    if args.task == "pose":
        from domrand.tasks.device import precision_arg
        from domrand.tasks.pose.trainer import PoseTrainConfig, train_pose

        cfg = PoseTrainConfig(
            steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, image_size=args.size,
            eval_every=args.eval_every, checkpoint_every=args.checkpoint_every, **precision_arg(args),
        )  # fmt: skip
        online = None
        if args.online:
            from domrand.config import load_config

            online = load_config(
                preset="tabletop",
                path=args.config,
                overrides={"image_size": args.size, "world": {"target": args.target}},
            )
        elif args.data is None:
            raise ValueError("give --data DIR or --online")
        if args.data is not None and len(args.data) > 1:
            raise ValueError(f"domrand train pose takes one --data folder, got {len(args.data)}: {args.data}")
        s = train_pose(
            args.data and args.data[0], args.out, target=args.target, config=cfg, online=online, resume=args.resume, quiet=args.quiet,
            init=args.init, device=args.device, pretrained=args.pretrained,
        )  # fmt: skip
        print(
            f"trained {s['steps']} steps in {s['seconds']:.0f} s; best validation mean error {100 * s['best_val_mean_error_m']:.2f} cm; checkpoints in {s['run']}"
        )
        return 0
    return _train_grasp(args)


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.task == "pose":
        from domrand.tasks.pose.evaluate import evaluate_pose

        out: dict[str, Any] = evaluate_pose(args.checkpoint, args.data, args.report, *readout_args(args))
    else:
        if args.mirror_fusion is not None or args.no_mirror or args.camera is not None:
            raise ValueError("--mirror-fusion, --no-mirror and --camera are for `domrand evaluate pose`, not grasp")
        out = _evaluate_grasp(args)
    print(json.dumps(out, indent=2))
    return 0


def _train_grasp(args: argparse.Namespace) -> int:
    from domrand.tasks.device import precision_arg
    from domrand.tasks.grasp.trainer import GraspTrainConfig, train_grasp

    if not args.data:
        raise ValueError("domrand train grasp needs --data (folders from `domrand label grasps`)")
    cfg = GraspTrainConfig(
        steps=args.steps,
        batch_size=max(args.batch_size, 1),
        lr=args.lr,
        seed=args.seed,
        members=args.members,
        pick_weight=args.pick_weight,
        bin_check=args.bin_check,
        init=args.init,
        **precision_arg(args),
    )
    data = [args.data] if isinstance(args.data, str) else list(args.data)
    s = train_grasp(data[0] if len(data) == 1 else data, args.out, cfg, quiet=args.quiet, device=args.device)
    print(
        f"trained on {s['candidates']} labelled grasps ({100 * s['positives']:.0f}% successes) in {s['seconds']:.0f} s; best validation loss {s['best_val_loss']:.3f}; {s['run']}/best.pt"
    )
    return 0


def _evaluate_grasp(args: argparse.Namespace) -> dict[str, Any]:
    from domrand.tasks.grasp.dataset import TEST_SEED_OFFSET
    from domrand.tasks.grasp.evaluate import evaluate
    from domrand.tasks.grasp.objects import from_procedural, load_folder

    if (args.objects is None) == (args.procedural is None):
        raise ValueError("domrand evaluate grasp needs exactly one of --objects DIR or --procedural N")
    if not args.trials >= 1:
        raise ValueError(f"--trials must be >= 1, got {args.trials}")
    if not args.scale_to > 0:
        raise ValueError(f"--scale-to must be > 0 metres, got {args.scale_to}")
    if args.clutter is None and (
        args.clearance or args.piles != 20 or args.no_memory or args.no_bin_check or args.no_fingertips
    ):
        raise ValueError(
            "--piles, --clearance, --no-memory, --no-bin-check and --no-fingertips go with --clutter K (piles of 3 to K"
            " objects)"
        )
    if args.objects is not None:
        objects, skipped = load_folder(args.objects, args.scale_to)
        source = args.objects
    else:
        objects, skipped = [from_procedural(TEST_SEED_OFFSET + i, args.scale_to) for i in range(args.procedural)], []
        source = f"procedural seeds {TEST_SEED_OFFSET} to {TEST_SEED_OFFSET + args.procedural - 1}"
    if args.clutter is not None:
        from domrand.tasks.grasp.evaluate_clutter import evaluate_clutter

        report = evaluate_clutter(
            args.checkpoint, objects, args.clutter, args.piles, args.clearance, args.seed, args.workers, skipped,
            memory=not args.no_memory, bin_check=not args.no_bin_check, fingertips=not args.no_fingertips,
        )  # fmt: skip
        report.update(source=source)
    else:
        report = evaluate(args.checkpoint, objects, args.trials, args.seed, args.workers, skipped)
        report.update(source=source, scale_to=args.scale_to)
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    return report


def cmd_predict(args: argparse.Namespace) -> int:
    if args.task == "grasp":
        return _predict_grasp(args)
    if args.pile is not None:
        raise ValueError("--pile and --no-pile are for `domrand predict grasp`, not pose")
    from domrand.tasks.pose.evaluate import predict

    preds = predict(args.checkpoint, args.images, *readout_args(args))
    if not args.quiet:
        print(
            "# image x y z (metres, world frame) confidence (0 to 1: below 0.5, likely no target seen)", file=sys.stderr
        )
    for p in preds:
        x, y, z = p.position
        note = f"  # read the centred {p.crop[2]} x {p.crop[2]} square" if p.crop and not args.quiet else ""
        print(f"{p.image} {x:.4f} {y:.4f} {z:.4f} {p.confidence:.3f}{note}")
    return 0


def _predict_grasp(args: argparse.Namespace) -> int:
    import numpy as np

    from domrand.tasks.grasp.predict import predict_grasp, read_depth

    if args.mirror_fusion is not None or args.no_mirror:
        raise ValueError("--mirror-fusion and --no-mirror are for `domrand predict pose`, not grasp")
    if args.top < 1:
        raise ValueError(f"--top must be >= 1, got {args.top}")
    if args.camera is not None and args.camera in ("learned", "nominal", "labels"):
        raise ValueError("--camera for predict grasp is a JSON file (fx, fy, cx, cy, width, height, cam_to_world)")
    for path in args.images:
        depth = read_depth(path, args.depth_unit)
        if args.camera is None:
            from domrand.tasks.grasp.views import SIZE, nominal_camera

            if depth.shape != (SIZE, SIZE):
                raise ValueError(
                    f"{path!r} is {depth.shape[1]} x {depth.shape[0]}: the task's nominal camera takes {SIZE} x {SIZE} "
                    "depth images; give your camera with --camera FILE.json"
                )
            k, c2w = nominal_camera()
        else:
            from domrand.tasks.pose.camera import PinholeCamera

            cam = PinholeCamera.read(args.camera)
            if (int(cam.width), int(cam.height)) != (depth.shape[1], depth.shape[0]):
                raise ValueError(
                    f"{path!r} is {depth.shape[1]} x {depth.shape[0]} but the camera is for {int(cam.width)} x {int(cam.height)}"
                )
            k = np.array([[cam.fx, 0, cam.cx], [0, cam.fy, cam.cy], [0, 0, 1]], dtype=np.float64)
            c2w = np.asarray(cam.cam_to_world, dtype=np.float64)
        for r in predict_grasp(args.checkpoint, depth, k, c2w, top=args.top, pile=args.pile):
            g = r.grasp
            print(f"{path} {g.x:.4f} {g.y:.4f} {g.z:.4f} {g.yaw:.4f} {g.width:.4f} {r.probability:.3f}")
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from domrand.tasks.grasp.dataset import GraspDataConfig, generate

    if (args.objects is None) == (args.procedural is None):
        raise ValueError("domrand label grasps needs exactly one of --objects DIR or --procedural N")
    if args.bin_check and args.clutter is None:
        raise ValueError("--bin-check goes with --clutter K (it keeps grasps off the walls of the piles' bin)")
    if args.fingertips and args.clutter is None:
        raise ValueError("--fingertips goes with --clutter K (it samples candidates as the clutter model does)")
    if args.resume and not (Path(args.out) / "manifest.json").is_file():
        raise ValueError(f"nothing to resume in {args.out!r} (no manifest.json): run without --resume to start it")
    cfg = GraspDataConfig(
        objects=args.objects or "procedural", num_objects=args.procedural or 1, scenes=args.scenes, candidates=args.candidates,
        scale_to=args.scale_to, scale_to_max=args.scale_to_max, seed=args.seed, focus=args.focus,
        focus_top=args.focus_top, family=args.family, executions=args.executions, first_seed=args.first_seed,
        clutter=args.clutter, bin_check=args.bin_check, fingertips=args.fingertips, fast_trial=args.fast_trial,
    )  # fmt: skip
    s = generate(cfg, args.out, workers=args.workers, quiet=args.quiet)
    print(
        f"labelled {s['candidates']} grasps in {s['scenes']} scenes ({100 * s['success_rate']:.0f}% succeeded) in {args.out}"
    )
    return 0


def add_readout_flags(parser: argparse.ArgumentParser) -> None:
    """pose: override the checkpoint's mirror read-out (`domrand.tasks.pose.evaluate.readout`)."""
    parser.add_argument(
        "--mirror-fusion",
        choices=["heatmap", "position"],
        help="pose: combine the image's and its mirror's heatmaps, or their positions (default: the checkpoint's)",
    )
    parser.add_argument("--no-mirror", action="store_true", help="pose: read the image alone, without its mirror")
    parser.add_argument(
        "--camera",
        metavar="learned|nominal|labels|FILE.json",
        help="pose: a known camera to back-project through instead of the checkpoint's learnt correction for a roughly "
        "known one: 'nominal' (calibrated at the nominal pose), 'labels' (evaluate: each image's camera in the "
        "dataset), or a JSON file with fx, fy, cx, cy, width, height, cam_to_world (default: learned)",
    )


def readout_args(args: argparse.Namespace) -> tuple[str | None, bool | None, str | None]:
    """(fusion, mirror, camera) for `domrand.tasks.pose.evaluate` from `add_readout_flags`' flags (None: the checkpoint's)."""
    return args.mirror_fusion, (False if args.no_mirror else None), args.camera


class DefaultsHelp(argparse.HelpFormatter):
    """Help that shows each option's default where it has one (not for flags that are off, nor None)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.option_strings and "default" not in text and action.default not in (None, False, argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text


def _common_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="run folder (checkpoints, log)")
    p.add_argument("--steps", type=int, default=3000, help="optimisation steps")
    p.add_argument("--batch-size", type=int, default=64, help="examples a step")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    p.add_argument("--seed", type=int, default=0, help="initialisation and batch order")
    p.add_argument(
        "--precision",
        help="auto, bf16 or fp32. bf16: bfloat16 autocast; auto: bf16 where the device computes it natively (CUDA with "
        "bf16, AVX-512 BF16 or AMX CPUs), else fp32. Not given: pose auto, grasp fp32",
    )
    p.add_argument(
        "--device",
        default="cpu",
        help="where to train: cpu (as for domrand generate), cuda, cuda:N or auto (a GPU where torch sees one)",
    )
    p.add_argument("--quiet", action="store_true", help="log lines instead of a progress bar")


def add_train_commands(sub: Any) -> None:
    lab = sub.add_parser("label", help="label grasps in physics (objects dropped, rendered, candidates executed)")
    lab.add_argument("what", choices=["grasps"])
    lab.add_argument("--objects", help="folder of mesh files (.obj, .stl, .ply, .urdf)")
    lab.add_argument("--procedural", type=int, help="this many procedural training objects (seeds 0 to N-1)")
    lab.add_argument("--first-seed", type=int, default=0, help="with --procedural: seeds from this one instead of 0")
    lab.add_argument(
        "--family",
        help="with --procedural: every object of this procedural family (e.g. random_prism, random_shell; default: the mix)",
    )
    lab.add_argument("--scenes", type=int, default=1000)
    lab.add_argument("--candidates", type=int, default=24, help="grasps executed per scene")
    lab.add_argument("--scale-to", type=float, default=0.08, help="largest extent of every object, metres")
    lab.add_argument(
        "--scale-to-max", type=float, help="scale each scene's object to an extent drawn from [--scale-to, this]"
    )
    lab.add_argument("--seed", type=int, default=0)
    lab.add_argument("--focus", help="ranker checkpoint: its best candidates of each scene are among those executed")
    lab.add_argument("--focus-top", type=int, default=8, help="with --focus: how many of its best candidates")
    lab.add_argument(
        "--executions",
        type=int,
        default=1,
        help="execute each candidate this many times (beyond the first with 1 mm / 1 deg noise); label = success rate",
    )
    lab.add_argument(
        "--clutter",
        type=int,
        metavar="K",
        help="label piles of 3 to K objects settled in the clutter task's bin (its trial; objects scaled to its "
        "0.05-0.12 m) instead of one object per scene",
    )
    lab.add_argument(
        "--bin-check",
        action="store_true",
        help="with --clutter: execute only sampled grasps whose fingers stay off the bin's walls (those the clutter "
        "model chooses among)",
    )
    lab.add_argument(
        "--fingertips",
        action="store_true",
        help="with --clutter: sample candidates as the clutter model does (the part the fingertips meet: a box lying"
        " flat gets some); without it, as the labels made before 2026-12-06",
    )
    lab.add_argument(
        "--fast-trial",
        action="store_true",
        help="execute with the fast trial: phases end once nothing can change the outcome (it decided as the reference"
        " did on 288 of 288 pile grasps of a fresh sample); without it, the reference trial",
    )
    lab.add_argument("--workers", type=int, default=2)
    lab.add_argument("--out", required=True)
    lab.add_argument("--quiet", action="store_true")
    lab.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run in --out (the same command without it does too: finished chunks are kept)",
    )
    lab.set_defaults(
        func=cmd_label,
        on_interrupt="; finished chunks are intact, run the same command again (or with --resume) to continue",
    )

    t = sub.add_parser("train", help="train a pose or grasp model from scratch")
    tasks = t.add_subparsers(dest="task", required=True)
    fmt = DefaultsHelp
    tp = tasks.add_parser(
        "pose",
        help="the localization model (Tobin et al. 2017)",
        formatter_class=fmt,
        description="Train the pose model from scratch on a native dataset, a labelled folder (labels.jsonl: real "
        "photos too), or batches rendered on the fly. Ctrl-C finishes the step, writes RUN/last.pt and says how "
        "to continue (--resume).",
    )
    tp.add_argument("--data", nargs="+", help="native dataset folder, or a labelled folder (labels.jsonl)")
    tp.add_argument("--online", action="store_true", help="render training batches on the fly (no disk)")
    tp.add_argument("--config", help="with --online: dataset YAML (the tabletop preset when not given)")
    tp.add_argument("--target", default="cube", help="target object")
    tp.add_argument("--init", help="fine-tune from this checkpoint's weights (fresh optimizer and schedule)")
    tp.add_argument(
        "--pretrained",
        help="start from the layers of a pose checkpoint for another target or camera (pre-training on another "
        "domrand task), with this data's camera, target height and position normalisation",
    )
    tp.add_argument("--eval-every", type=int, default=250, help="steps between validations (and best.pt updates)")
    tp.add_argument("--checkpoint-every", type=int, default=250, help="steps between writes of last.pt")
    tp.add_argument("--size", type=int, default=64, help="model input size, pixels")
    tp.add_argument("--resume", action="store_true", help="continue from RUN/last.pt")
    _common_train_flags(tp)
    tp.set_defaults(func=cmd_train)

    tg = tasks.add_parser(
        "grasp",
        help="the grasp ranker (Tobin et al. 2018)",
        formatter_class=fmt,
        description="Train the grasp ranker on folders from `domrand label grasps`.",
    )
    tg.add_argument("--data", nargs="+", help="grasp-label folders (from domrand label grasps), one or more")
    tg.add_argument("--members", type=int, default=1, help="rankers trained with seeds seed, seed+1, ... and averaged")
    tg.add_argument(
        "--pick-weight",
        type=float,
        default=0.0,
        help="weight of the pick loss (a softmax over each scene's candidates trained towards its successes; 0: none)",
    )
    tg.add_argument(
        "--bin-check",
        action="store_true",
        help="pile labels: leave out the candidates whose fingers would land on the bin's walls (the model never"
        " executes them in a pile)",
    )
    tg.add_argument(
        "--init",
        help="a grasp checkpoint to start from (fine-tuning; member i from its member i): weights, not labels",
    )
    _common_train_flags(tg)
    tg.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="evaluate a checkpoint")
    e.add_argument("task", choices=["pose", "grasp"])
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--data", help="pose: native dataset or labelled folder (labels.jsonl)")
    e.add_argument("--objects", help="grasp: folder of meshes (.obj, .stl, .ply, .urdf)")
    e.add_argument("--procedural", type=int, help="grasp: this many procedural test objects")
    e.add_argument("--trials", type=int, default=5, help="grasp: drops per object")
    e.add_argument("--scale-to", type=float, default=0.08, help="grasp: largest extent of each object, metres")
    e.add_argument(
        "--clutter",
        type=int,
        help="grasp: piles of 3 to K objects in a bin (scaled to 0.05 to 0.12 m) instead of single objects",
    )
    e.add_argument("--piles", type=int, default=20, help="grasp --clutter: seeded piles (default 20)")
    e.add_argument(
        "--clearance",
        action="store_true",
        help="grasp --clutter: repeat attempts on each pile, taking out what was lifted, until it is empty or 3 fail in a row",
    )
    e.add_argument(
        "--no-memory",
        action="store_true",
        help="grasp --clutter --clearance: let the model repeat a grasp that failed earlier on the pile (by default it"
        " skips candidates within 2 cm and 30 deg of one; the baselines never remember)",
    )
    e.add_argument(
        "--no-bin-check",
        action="store_true",
        help="grasp --clutter: let the model choose grasps whose fingers would land on the bin's walls (by default it"
        " skips them when any other candidate is clear; the baselines never check)",
    )
    e.add_argument(
        "--no-fingertips",
        action="store_true",
        help="grasp --clutter: sample the model's candidates as before 2026-12-06: the part above the fingers' centre"
        " is what they pinch (by default, what their tips meet: a box lying flat gets candidates)",
    )
    e.add_argument("--seed", type=int, default=0, help="grasp: trial seed")
    e.add_argument("--workers", type=int, default=2, help="grasp: simulation processes")
    e.add_argument("--report", help="write the report to this JSON file")
    add_readout_flags(e)
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "predict",
        help="predict with a checkpoint",
        description="pose: one line per image: path, x y z (metres, world frame), confidence (0 to 1); a non-square "
        "image is read as its centred square (a --camera file moves with it). grasp: one line per grasp: path, x y z "
        "(the fingers' centre, their tips 25 mm lower, metres, world frame with the table top at z = 0), yaw "
        "(radians, the closing direction), width (opening, metres), probability that it holds; --camera gives the "
        "depth camera's intrinsics and pose (default: the task's nominal top-down camera, 128 x 128).",
    )
    p.add_argument("task", choices=["pose", "grasp"])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("images", nargs="+", help="pose: RGB images; grasp: top-down depth images (16-bit PNG or .npy)")
    p.add_argument("--quiet", action="store_true", help="pose: no header and no notes, only the lines")
    p.add_argument("--top", type=int, default=1, help="grasp: the best N candidates, best first (default 1)")
    p.add_argument(
        "--depth-unit", type=float, default=0.001, help="grasp: metres per PNG depth value (default 0.001: millimetres)"
    )
    p.add_argument(
        "--pile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="grasp: the image shows a pile in the clutter task's bin (0.30 m square under the camera, 0.06 m walls):"
        " candidates only inside it, pinching what the fingertips meet, none landing on its walls, as `evaluate grasp"
        " --clutter` chooses (default: as the checkpoint was trained, on piles or on single objects)",
    )
    add_readout_flags(p)
    p.set_defaults(func=cmd_predict)
