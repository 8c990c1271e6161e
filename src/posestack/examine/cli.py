"""``posestack examine``: the command line over :mod:`posestack.examine`."""

from __future__ import annotations

import argparse
from pathlib import Path

from .perturb import BASE, PARTS


def add_parser(sub) -> None:
    """Add ``examine`` to the main parser's subparsers."""
    from ..estimate import ESTIMATORS

    e = sub.add_parser(
        "examine", help="find where an estimator breaks under perturbed frames",
        description="Sample frames of a video (or a folder of images), run the estimator "
                    "on them clean and perturbed at severities 1 to 5 (blur, noise, JPEG, "
                    "darkness, contrast, rotation, resolution, crops, grey patches over a "
                    "body part), and find, by bisection, the severity at which its PCK "
                    "against its own clean results drops below --fail-below. Prints the "
                    "failures; -o writes robustness.parquet, failures.parquet and "
                    "robustness.png.")
    e.add_argument("source", type=Path, metavar="VIDEO_OR_FOLDER",
                   help="a video or a folder of images")
    e.add_argument("--estimator", default="blazepose", choices=list(ESTIMATORS),
                   help="the estimator to examine (default blazepose)")
    e.add_argument("--model", type=Path, help="the .onnx file of an ONNX estimator")
    e.add_argument("--perturbations", default="blur,noise,jpeg,dark,rotate,occlude:left_leg",
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
    names = [p.strip() for p in args.perturbations.split(",") if p.strip()]
    ex = examine(args.source, args.estimator, model=args.model, frames=args.frames,
                 perturbations=names, alpha=args.alpha, fail_below=args.fail_below,
                 person_detector=args.person_detector, progress=not args.quiet)
    print(f"{args.estimator} on {ex.frames} frames, {ex.calls} estimator calls; fails where "
          f"PCK@{args.alpha:g} < {args.fail_below:g}:")
    for f in ex.failures:
        at = ("never (PCK at severity 5: {:.2f})".format(f["pck_at_5"])
              if f["fails_at"] is None else
              f"severity {f['fails_at']:.2f} ({f['parameter']:g} {f['unit']})")
        print(f"  {f['perturbation']:<20} {at}")
    if args.output is not None:
        write_examination(ex, args.output)
        print(f"written: {args.output}/robustness.parquet, failures.parquet, robustness.png")
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
    for name in dict.fromkeys(r["perturbation"] for r in ex.rows):
        pts = sorted((r["severity"], r["pck"]) for r in ex.rows if r["perturbation"] == name)
        ax.plot(*zip(*pts, strict=True), marker="o", ms=3, label=name)
    ax.axhline(ex.fail_below, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("severity")
    ax.set_ylabel("PCK against the clean frames")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    with atomic_path(folder / "robustness.png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
