"""``posestack batch`` and ``posestack query``: the command line over
:mod:`posestack.batch` and :mod:`posestack.query`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

_MULTIVIEW_DEFAULTS = {"min_views": 2, "max_error": 15.0, "ik": False, "opensim": False,
                       "augment": False, "height": None, "mass": 70.0,
                       "keypoints_from": "auto"}


def add_parsers(sub, add_run_options) -> None:
    """Add ``batch`` and ``query`` to the main parser's subparsers."""
    b = sub.add_parser(
        "batch", help="run many inputs on a local process pool or a Ray cluster",
        description="One task per input (a video, an image, a folder of images, or a "
                    "multi-camera trial: a folder of camera videos with its calibration "
                    "beside them or in calibration/), run on a local process pool or on Ray. "
                    "Finished bundles are skipped, a failed input is recorded and the others "
                    "go on, and OUT/batch.parquet sums up every input (status, frames, "
                    "people, seconds, error). Run the same command again to finish what a "
                    "killed batch left.")
    b.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                   help="videos, images, folders, or list files (.txt: one path per line, "
                        "relative to the list file; # comments)")
    b.add_argument("-o", "--output", type=Path, required=True,
                   help="output folder: one bundle (or trial folder) per input, and "
                        "batch.parquet")
    b.add_argument("--workers", type=int,
                   help="tasks at once (default: one per core; with --ray, the cluster's "
                        "CPUs); each task gets the cores shared out as threads")
    b.add_argument("--ray", nargs="?", const=True, default=False, metavar="ADDRESS",
                   help="run on Ray (posestack[scale]): alone, a local Ray started here; "
                        "with an ADDRESS (auto, ray://host:10001), that cluster, whose nodes "
                        "must see the inputs and OUT at the same paths (default: a local "
                        "process pool)")
    b.add_argument("--retries", type=int, default=2,
                   help="times a task whose worker died (killed, out of memory) is given to "
                        "another worker (default 2)")
    add_run_options(b, calibration=False)
    b.set_defaults(func=_cmd_batch)


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch import batch
    from .cli import _run_kwargs

    options = _run_kwargs(args)
    threads = options.pop("num_threads")
    progress = options.pop("progress")
    for k, default in _MULTIVIEW_DEFAULTS.items():
        if getattr(args, k) != default:
            options[k] = getattr(args, k)
    res = batch(args.inputs, args.output, workers=args.workers, ray=args.ray,
                threads=threads, retries=args.retries, progress=progress, **options)
    counts = {s: sum(r["status"] == s for r in res.rows) for s in
              ("done", "skipped", "failed", "not run")}
    print(f"batch: {len(res.rows)} inputs in {res.seconds:.1f} s: "
          + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" -> {res.summary}")
    for r in res.failed:
        print(f"  failed: {r['input']}: {r['error']}", file=sys.stderr)
    return 1 if res.failed else 0
