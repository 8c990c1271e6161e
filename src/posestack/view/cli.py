"""``posestack view`` and ``posestack report``: the command line over :mod:`posestack.view`."""

from __future__ import annotations

import argparse
from pathlib import Path

from .viewer import GRPC_PORT, WEB_PORT


def add_parsers(sub) -> None:
    """Add ``view`` and ``report`` to the main parser's subparsers."""
    v = sub.add_parser(
        "view", help="an interactive viewer of a bundle or trial in the browser",
        description="Open a bundle or a multi-camera trial in an interactive viewer in the "
                    "browser (Rerun's web viewer, served from this machine: no network "
                    "needed): the video(s) with their 2D keypoints, the 3D skeletons in the "
                    "world with the cameras, the fitted body mesh where there is one, and "
                    "the joint angles as time series, on one timeline.")
    v.add_argument("bundle", type=Path, metavar="BUNDLE_OR_TRIAL",
                   help="a bundle (OUT/<name>), a multiview folder, or a trial folder "
                        "holding camera bundles and multiview/")
    v.add_argument("--save", type=Path, metavar="FILE",
                   help="write a Rerun recording (.rrd) to open later with `rerun FILE` "
                        "instead of serving the viewer (default: serve it)")
    v.add_argument("--port", type=int, default=WEB_PORT,
                   help=f"the web viewer's port (default {WEB_PORT}); Rerun listens on every "
                        "network interface, so use a firewall on a shared machine")
    v.add_argument("--grpc-port", type=int, default=GRPC_PORT,
                   help=f"the port of the gRPC server the viewer reads from (default "
                        f"{GRPC_PORT})")
    v.set_defaults(func=_cmd_view)

    r = sub.add_parser(
        "report", help="one self-contained HTML report of a bundle, to share",
        description="Write one HTML file that opens without a network: the overlay video, "
                    "joint-angle plots with normal ranges where known, a range-of-motion "
                    "table (min, max, mean, left/right symmetry), the 3D skeleton playback, "
                    "and the run's settings and warnings.")
    r.add_argument("bundle", type=Path, metavar="BUNDLE",
                   help="a bundle (OUT/<name>) or a multiview folder")
    r.add_argument("-o", "--output", type=Path,
                   help="the HTML file to write (default: BUNDLE/report.html)")
    r.set_defaults(func=_cmd_report)


def _cmd_view(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from .viewer import view

    for name, port in (("--port", args.port), ("--grpc-port", args.grpc_port)):
        if not 1 <= port <= 65535:
            raise InputError(f"{name} must be a port number, 1-65535; got {port}")
    if args.port == args.grpc_port:
        raise InputError(f"--port and --grpc-port must differ; both are {args.port}")
    if args.save is not None and (args.port, args.grpc_port) != (WEB_PORT, GRPC_PORT):
        raise InputError("--port and --grpc-port are for serving the viewer; --save writes "
                         "a file instead: drop one of them")
    return view(args.bundle, save=args.save, web_port=args.port, grpc_port=args.grpc_port)


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import report

    path = report(args.bundle, args.output)
    print(f"report: {path}")
    return 0
