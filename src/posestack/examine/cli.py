"""``posestack examine``: the command line over :mod:`posestack.examine`."""

from __future__ import annotations

import argparse
from pathlib import Path

from .anny import SWEEPS
from .perturb import BASE, PARTS

_DEFAULT_PERTURBATIONS = "blur,noise,jpeg,dark,rotate,occlude:left_leg"


def add_parser(sub) -> None:
    """Add ``examine`` to the main parser's subparsers."""
    from ..estimate import ESTIMATORS

    e = sub.add_parser(
        "examine", help="find where an estimator breaks under perturbed frames",
        description="Sample frames of a video (or a folder of images), run the estimator "
                    "on them clean and perturbed at severities 1 to 5 (blur, noise, JPEG, "
                    "darkness, contrast, rotation, resolution, crops, grey patches over a "
                    "body part), and find, by bisection, the severity at which its PCK "
                    "against its own clean results (or a trial's 3D reprojected into this "
                    "camera: --reference, --calibration) drops below --fail-below. Prints "
                    "the failures; -o writes robustness.parquet, failures.parquet and "
                    "robustness.png.")
    e.add_argument("source", type=Path, metavar="VIDEO_OR_FOLDER", nargs="?",
                   help="a video or a folder of images (or none, with --anny)")
    e.add_argument("--anny", action="store_true",
                   help="examine on rendered bodies instead (the body extra): sweep the "
                        "viewpoint, the shape, the pose and the distance, with exact truth "
                        "(default: off)")
    e.add_argument("--sweeps", default=",".join(SWEEPS),
                   help="with --anny, comma-separated: " + ", ".join(SWEEPS) +
                        " (default all)")
    e.add_argument("--renders", type=int, default=8,
                   help="with --anny: bodies rendered per severity (default 8)")
    e.add_argument("--estimator", default="blazepose", choices=list(ESTIMATORS),
                   help="the estimator to examine (default blazepose)")
    e.add_argument("--model", type=Path, help="the .onnx file of an ONNX estimator")
    e.add_argument("--perturbations", default=_DEFAULT_PERTURBATIONS,
                   help="comma-separated: " + ", ".join(BASE) + ", occlude:<" +
                        "|".join(PARTS) + "> (default blur,noise,jpeg,dark,rotate,"
                        "occlude:left_leg)")
    e.add_argument("--frames", type=int, default=100,
                   help="frames sampled evenly from the video (default 100)")
    e.add_argument("--alpha", type=float, default=0.1,
                   help="a keypoint is found within alpha x the person's size (default 0.1)")
    e.add_argument("--fail-below", type=float, default=0.5,
                   help="the PCK under which the estimator fails (default 0.5)")
    e.add_argument("--person-detector", default="blazepose",
                   choices=["auto", "ssdlite", "blazepose"],
                   help="who finds the people for BlazePose and top-down models (default "
                        "blazepose: the pose model on the clearest person; auto also audits "
                        "the multi-person search, at about 4 times the cost)")
    e.add_argument("--reference", type=Path, metavar="3D",
                   help="score against this 3D (a multiview bundle, its keypoints3d.parquet "
                        "or a .trc) reprojected into the video's camera, instead of the "
                        "estimator's own clean run (default: the clean run); needs "
                        "--calibration")
    e.add_argument("--calibration", type=Path,
                   help="the calibration the --reference 3D was made with")
    e.add_argument("--camera", help="the video's camera in --calibration (default: the "
                                    "video's name, cam01.mp4 -> cam01)")
    e.add_argument("-o", "--output", type=Path, metavar="DIR",
                   help="write robustness.parquet, failures.parquet and robustness.png "
                        "(default: print only)")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=_cmd_examine)


def _cmd_examine(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from .search import examine

    if args.output is not None and args.output.exists() and not args.output.is_dir():
        raise InputError(f"-o {args.output} is a file: give a folder")
    if args.anny:
        return _cmd_sweep(args)
    if args.source is None:
        raise InputError("give a video or a folder of images to examine, or --anny to "
                         "examine on rendered bodies")
    if args.sweeps != ",".join(SWEEPS) or args.renders != 8:
        raise InputError("--sweeps and --renders are for rendered bodies: add --anny (and "
                         "leave out the video)")
    if (args.reference is None) != (args.calibration is None):
        raise InputError("--reference and --calibration go together: the 3D and the "
                         "calibration it was made with")
    if args.camera is not None and args.reference is None:
        raise InputError("--camera names the video's camera in --calibration: use it with "
                         "--reference and --calibration")
    truth = None
    if args.reference is not None:
        from ..io.media import probe
        from .truth import reprojected

        if not args.source.is_file():
            raise InputError(f"{args.source}: a multi-view reference needs a video")
        info = probe(args.source)
        truth = reprojected(args.reference, args.calibration, args.camera or args.source.stem,
                            (info.width, info.height))
    names = [p.strip() for p in args.perturbations.split(",") if p.strip()]
    ex = examine(args.source, args.estimator, model=args.model, frames=args.frames,
                 perturbations=names, alpha=args.alpha, fail_below=args.fail_below,
                 person_detector=args.person_detector, progress=not args.quiet, truth=truth)
    print(f"{args.estimator} on {ex.frames} frames, {ex.calls} estimator calls, against "
          f"{ex.reference}; fails where PCK@{args.alpha:g} < {args.fail_below:g}:")
    if truth is not None:
        print(f"  {'clean':<20} PCK {ex.rows[0]['pck']:.2f}")
    return _finish(ex, args.output)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from .anny import sweep

    if args.source is not None:
        raise InputError("--anny renders its own bodies: leave out the video "
                         f"({args.source})")
    if args.reference is not None or args.frames != 100 or \
            args.perturbations != _DEFAULT_PERTURBATIONS:
        raise InputError("--frames, --perturbations and --reference are for videos; "
                         "--anny takes --sweeps and --renders")
    names = [s.strip() for s in args.sweeps.split(",") if s.strip()]
    ex = sweep(args.estimator, sweeps=names, renders=args.renders, alpha=args.alpha,
               fail_below=args.fail_below, model=args.model,
               person_detector=args.person_detector, progress=not args.quiet)
    print(f"{args.estimator} on rendered bodies ({ex.frames} per severity, {ex.calls} "
          f"renders); fails where PCK@{args.alpha:g} < {args.fail_below:g}:")
    return _finish(ex, args.output)


def _finish(ex, output: Path | None) -> int:
    """Print each perturbation's (or sweep's) failure and write the results to ``output``."""
    for f in ex.failures:
        at = ("never (PCK at severity 5: {:.2f})".format(f["pck_at_5"])
              if f["fails_at"] is None else
              f"severity {f['fails_at']:.2f} ({f['parameter']:g} {f['unit']})")
        print(f"  {f['perturbation']:<20} {at}")
    if output is not None:
        write_examination(ex, output)
        print(f"written: {output}/robustness.parquet, failures.parquet, robustness.png")
    return 0


def write_examination(ex, folder: Path) -> None:
    """The tables (atomically) and a plot of PCK against severity per perturbation."""
    import pyarrow as pa

    from ..io.atomic import atomic_path
    from ..io.tables import write_parquet

    folder.mkdir(parents=True, exist_ok=True)
    write_parquet(folder / "robustness.parquet", pa.Table.from_pylist(ex.rows))
    write_parquet(folder / "failures.parquet", pa.Table.from_pylist(ex.failures))
    from matplotlib.figure import Figure  # a private figure: no pyplot, no global backend

    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    for r in ex.rows:
        if r["perturbation"] == "clean":  # scored against a multi-view reference
            ax.axhline(r["pck"], color="black", lw=0.8, ls=":", label="clean")
    names = dict.fromkeys(r["perturbation"] for r in ex.rows if r["perturbation"] != "clean")
    for i, name in enumerate(names):
        pts = sorted((r["severity"], r["pck"]) for r in ex.rows if r["perturbation"] == name)
        # lines that coincide (several never failing) stay visible by their style and a
        # small vertical offset
        ax.plot(*zip(*[(x, y - 0.006 * i) for x, y in pts], strict=True),
                marker="osD^v<>"[i % 7], ms=3, ls=("-", "--", "-.", ":")[i % 4], label=name)
    ax.axhline(ex.fail_below, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("severity")
    ax.set_ylabel(f"PCK against {ex.reference}")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    with atomic_path(folder / "robustness.png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
