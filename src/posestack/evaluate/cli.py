"""``posestack evaluate``: the command line over :mod:`posestack.evaluate.keypoints`."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ANGLE_SUFFIXES = (".mot", ".sto")


def add_parser(sub) -> None:
    """Add ``evaluate`` to the main parser's subparsers."""
    e = sub.add_parser(
        "evaluate", help="score predicted keypoints (or angles) against a reference",
        description="Score predicted keypoints against a reference: a posestack table "
                    "(keypoints3d.parquet, keypoints3d_body.parquet, keypoints2d.parquet), "
                    "a bundle folder, or an OpenSim .trc. Keypoints are paired by name, "
                    "frames by time, people by identity or by the assignment with the "
                    "least error. Prints, per person, MPJPE (root-aligned), N-MPJPE "
                    "(+ scale), PA-MPJPE (+ rotation: Procrustes), 3D PCK@150 mm and AUC "
                    "(0-150 mm) - or 2D errors in pixels and PCK - and the worst joints. "
                    "Two angle files (angles*.parquet, .mot) go to the agreement of "
                    "`posestack compare`; a COCO results json and a COCO annotation json "
                    "give OKS AP and AR (posestack[eval]).")
    e.add_argument("pred", type=Path, metavar="PRED", help="the keypoints under test")
    e.add_argument("gt", type=Path, metavar="GT", help="the reference")
    e.add_argument("--root", metavar="NAME",
                   help="root keypoint for MPJPE (default: the mid-hip, else the centroid)")
    e.add_argument("--threshold", type=float, default=150.0, metavar="MM",
                   help="3D PCK threshold, mm (default 150)")
    e.add_argument("--calibration", type=Path,
                   help="turn PRED's 3D from its camera's axes (BlazePose's world landmarks, "
                        "lifted 3D) into the world's by this calibration's rotation, so that "
                        "MPJPE means something (default: not turned; only PA-MPJPE holds)")
    e.add_argument("--camera", help="PRED's camera in --calibration (default: from the "
                                    "table, or its bundle folder's name)")
    e.add_argument("-o", "--output", type=Path, metavar="DIR",
                   help="also write DIR/evaluation.parquet, DIR/per_joint.parquet and "
                        "DIR/per_joint.png (default: print only)")
    e.set_defaults(func=_cmd_evaluate)


def _is_angles(p: Path) -> bool:
    return p.suffix.lower() in ANGLE_SUFFIXES or (p.suffix.lower() == ".parquet"
                                                   and p.name.startswith("angles"))


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from .keypoints import evaluate

    if _is_angles(args.pred) or _is_angles(args.gt):
        if not (_is_angles(args.pred) and _is_angles(args.gt)):
            raise InputError("one file holds angles and the other keypoints: compare like "
                             "with like")
        from ..cli import _cmd_compare

        return _cmd_compare(argparse.Namespace(a=args.pred, b=args.gt, person=0,
                                               output=None))
    if args.pred.suffix.lower() == ".json" or args.gt.suffix.lower() == ".json":
        from .coco import coco_keypoint_ap

        if args.pred.suffix.lower() != ".json" or args.gt.suffix.lower() != ".json":
            raise InputError("COCO results (.json) are scored against a COCO annotation "
                             f"file (.json); got {args.pred.name} and {args.gt.name}")

        stats = coco_keypoint_ap(args.pred, args.gt)
        print("COCO keypoints (OKS), " + ", ".join(f"{k} {v:.3f}" for k, v in stats.items()))
        if any(v == -1 for v in stats.values()):
            print("(-1: the reference has no person of that size)")
        if args.output is not None:
            import pyarrow as pa

            from ..io.tables import write_parquet

            args.output.mkdir(parents=True, exist_ok=True)
            write_parquet(args.output / "evaluation.parquet", pa.Table.from_pylist([stats]))
        return 0
    if not args.threshold > 0:
        raise InputError(f"--threshold must be a positive number of mm; got {args.threshold}")
    if args.output is not None and args.output.exists() and not args.output.is_dir():
        raise InputError(f"-o {args.output} is a file: give a folder")
    if args.camera is not None and args.calibration is None:
        raise InputError("--camera names PRED's camera in --calibration: give both")
    pred = args.pred
    if args.calibration is not None:
        from .keypoints import load_keypoints, to_world, world_camera

        pred = load_keypoints(args.pred)
        cam = world_camera(pred, args.calibration, args.camera)
        print(f"{pred.source.name} turned into the world by camera {cam.name}'s rotation "
              f"({args.calibration.name})")
        pred = to_world(pred, None, cam)
    ev = evaluate(pred, args.gt, root=args.root, threshold_mm=args.threshold)
    print(format_evaluation(ev))
    if args.output is not None:
        write_evaluation(ev, args.output)
        print(f"written: {args.output}/evaluation.parquet, per_joint.parquet, per_joint.png")
    return 0


def format_evaluation(ev) -> str:
    """The table a user reads: one line per matched person, then the worst joints."""
    u = ev.unit
    lines = [f"{len(ev.names)} keypoints compared ({u})"]
    if u == "mm":
        pck = f"PCK{ev.rows[0]['threshold_mm']:g}" if ev.rows else "PCK"
        lines.append(f"{'person':>6} {'ref':>4} {'frames':>7} {'MPJPE':>8} {'N-MPJPE':>8} "
                     f"{'PA-MPJPE':>9} {pck:>7} {'AUC':>6}")
        for r in ev.rows:
            lines.append(f"{r['person']:>6} {r['reference_person']:>4} {r['frames']:>7} "
                         f"{r['mpjpe_mm']:>8.1f} {r['n_mpjpe_mm']:>8.1f} "
                         f"{r['pa_mpjpe_mm']:>9.1f} {r['pck']:>7.3f} {r['auc']:>6.3f}")
    else:
        lines.append(f"{'person':>6} {'ref':>4} {'frames':>7} {'error':>8} {'N-error':>8} "
                     f"{'PA-error':>9} {'PCK':>6}")
        for r in ev.rows:
            lines.append(f"{r['person']:>6} {r['reference_person']:>4} {r['frames']:>7} "
                         f"{r['mpjpe_px']:>8.1f} {r['n_mpjpe_px']:>8.1f} "
                         f"{r['pa_mpjpe_px']:>9.1f} {r['pck2d']:>6.3f}")
    for person, pj in ev.per_joint.items():
        worst = sorted(((v, n) for n, v in pj.items() if v == v), reverse=True)[:5]
        lines.append(f"person {person}, worst joints: " +
                     ", ".join(f"{n} {v:.0f}" for v, n in worst))
    lines += [f"warning: {w}" for w in ev.warnings]
    return "\n".join(lines)


def write_evaluation(ev, folder: Path) -> None:
    """``evaluation.parquet`` (the rows), ``per_joint.parquet`` and a bar plot
    ``per_joint.png`` of the per-joint errors, written atomically into ``folder``."""
    import pyarrow as pa

    from ..io.atomic import atomic_path
    from ..io.tables import write_parquet

    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(folder / "evaluation.parquet", pa.Table.from_pylist(ev.rows))
    per = [{"person": p, "keypoint": n, f"error_{ev.unit}": v}
           for p, pj in ev.per_joint.items() for n, v in pj.items()]
    write_parquet(folder / "per_joint.parquet", pa.Table.from_pylist(per))
    from matplotlib.figure import Figure  # a private figure: no pyplot, no global backend

    fig = Figure(figsize=(max(6, 0.35 * len(ev.names)), 3.6), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(ev.per_joint))
    for i, (p, pj) in enumerate(ev.per_joint.items()):
        ax.bar(np.arange(len(ev.names)) + i * width, [pj[n] for n in ev.names], width,
               label=f"person {p}")
    ax.set_xticks(np.arange(len(ev.names)) + width * (len(ev.per_joint) - 1) / 2, ev.names,
                  rotation=70, ha="right", fontsize=7)
    ax.set_ylabel(f"error ({ev.unit}, root-aligned)" if ev.unit == "mm" else "error (px)")
    ax.legend(fontsize=7)
    with atomic_path(folder / "per_joint.png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")

