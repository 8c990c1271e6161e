"""``posestack calibrate``: the command line over :mod:`posestack.calibrate`."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    """Add ``calibrate`` and its subcommands to the main parser's subparsers."""
    ca = sub.add_parser("calibrate", help="calibrate cameras (intrinsics from a checkerboard)",
                        description="Calibrate cameras. 'intrinsics' fits each camera's K and "
                                    "distortion from views of a checkerboard.")
    cas = ca.add_subparsers(dest="calibrate_command", required=True, metavar="COMMAND",
                            help="intrinsics (extrinsics and sync are to come)")
    ci = cas.add_parser(
        "intrinsics", help="K and distortion of each camera from views of a checkerboard",
        description="Fit each camera's K and distortion (OpenCV's model) from views of a "
                    "checkerboard: one folder of images or one video per camera. Writes a "
                    "Pose2Sim/Anipose Calib.toml (intrinsics only: rotation and translation "
                    "zero) and prints the RMS reprojection error of every view.")
    ci.add_argument("inputs", nargs="+", type=Path, metavar="IMAGES_OR_VIDEOS",
                    help="per camera: a folder of images, a video, or image files")
    ci.add_argument("--board", required=True,
                    help="checkerboard:COLSxROWS:SQUARE_MM, counting inner corners (where four "
                         "squares meet), e.g. checkerboard:4x7:60")
    ci.add_argument("-o", "--output", type=Path, required=True,
                    help="the Calib.toml to write (only when every camera succeeds)")
    ci.add_argument("--fisheye", action="store_true",
                    help="OpenCV's fisheye model (4 coefficients) instead of the standard one")
    ci.add_argument("--k3", action="store_true",
                    help="also fit the third radial distortion term (wide-angle lenses; "
                         "needs views that reach the image's corners)")
    ci.add_argument("--max-views", type=int, default=60,
                    help="frames sampled evenly from each video (default 60)")
    ci.add_argument("--debug", type=Path, metavar="DIR",
                    help="save each view with its detected corners as PNG into DIR/<camera>/")
    ci.set_defaults(func=_cmd_intrinsics)


def _cmd_intrinsics(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..multiview.calibration import Calibration, save_toml
    from .boards import parse_board
    from .intrinsics import calibrate_intrinsics
    from .sources import group_inputs, views

    board = parse_board(args.board)                 # everything checked before any work
    groups = group_inputs(args.inputs)
    if args.max_views < 4:
        raise InputError(f"--max-views must be at least 4; got {args.max_views}")
    if args.output.is_dir():
        raise InputError(f"{args.output} is a folder: give the Calib.toml file to write")
    if args.output.suffix.lower() != ".toml":
        raise InputError(f"{args.output}: the calibration is written as TOML; name it "
                         "Calib.toml (or any .toml)")
    cams = []
    for name, files in groups:
        debug = args.debug / name if args.debug else None
        res = calibrate_intrinsics(views(files, args.max_views), board, name=name,
                                   fisheye=args.fisheye, k3=args.k3, debug_dir=debug)
        cam = res.camera
        print(f"{name}: {len(res.used)} of {len(res.views)} views used, RMS {res.rms:.3f} px; "
              f"fx {cam.K[0, 0]:.1f} fy {cam.K[1, 1]:.1f} cx {cam.K[0, 2]:.1f} "
              f"cy {cam.K[1, 2]:.1f} px; distortion {' '.join(f'{d:.4f}' for d in cam.dist)}")
        for v in res.views:
            err = f"{v.rms:.3f} px" if v.status == "used" else ""
            print(f"  {v.source}: {v.status} {err}".rstrip())
        for w in res.warnings:
            print(f"warning: {w}")
        cams.append(cam)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_toml(Calibration(tuple(cams), source=f"checkerboard views ({board})"), args.output)
    print(f"-> {args.output}")
    return 0
