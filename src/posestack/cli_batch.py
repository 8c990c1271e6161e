"""``posestack batch`` and ``posestack query``: the command line over
:mod:`posestack.batch` and :mod:`posestack.query`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
    from .batch import MULTIVIEW_OPTIONS

    # the 3D options given (differing from their defaults) go to the trials
    b.set_defaults(func=_cmd_batch,
                   multiview_defaults={k: b.get_default(k) for k in MULTIVIEW_OPTIONS})
    add_query_parser(sub)


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch import batch
    from .cli import _run_kwargs

    options = _run_kwargs(args)
    threads = options.pop("num_threads")
    progress = options.pop("progress")
    for k, default in args.multiview_defaults.items():
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


def add_query_parser(sub) -> None:
    """Add ``query`` to the main parser's subparsers."""
    q = sub.add_parser(
        "query", help="one SQL query over every bundle under a folder (DuckDB)",
        description="Run SQL (DuckDB's dialect) over every bundle under OUT. Views: bundles "
                    "(one row per bundle: bundle, trial, kind, input, estimator, layout, fps, "
                    "width, height, frames, people, created, posestack, seconds, warnings, "
                    "path), one view per table the bundles hold (keypoints2d, keypoints3d, "
                    "keypoints3d_body, angles, angles_ik, angles_opensim, codes…) with the "
                    "bundle's columns in front, and batch (the batch.parquet summaries). "
                    "Needs posestack[query].")
    q.add_argument("root", type=Path, metavar="OUT", help="a folder of bundles (run/batch -o)")
    q.add_argument("sql", nargs="?", metavar="SQL",
                   help="the query, e.g. \"select bundle, count(*) from keypoints2d group by "
                        "bundle\" (default: list the views and their columns)")
    q.add_argument("--csv", type=Path, metavar="FILE", help="also write the result as CSV")
    q.add_argument("--parquet", type=Path, metavar="FILE",
                   help="also write the result as Parquet")
    q.add_argument("--max-rows", type=int, default=40,
                   help="rows printed (default 40; the files get them all)")
    q.set_defaults(func=_cmd_query)


def _cmd_query(args: argparse.Namespace) -> int:
    from .errors import InputError
    from .io.atomic import atomic_path
    from .io.tables import write_parquet
    from .query import connect, query, tables

    if args.max_rows < 0:
        raise InputError(f"--max-rows must be 0 or more; got {args.max_rows}")
    for f in (args.csv, args.parquet):
        if f is not None and f.is_dir():
            raise InputError(f"{f} is a folder: give a file name to write")
        if f is not None and any(p.exists() and not p.is_dir() for p in f.parents):
            raise InputError(f"cannot write {f}: a part of its path is a file, not a folder")
    if args.sql is None:
        con = connect(args.root)
        for name in tables(con):
            cols = con.execute(f"describe {name}").fetchall()
            print(f"{name}: " + ", ".join(c[0] for c in cols))
        con.close()
        return 0
    table = query(args.root, args.sql)
    if args.csv is not None:
        import pyarrow.csv as pacsv

        with atomic_path(args.csv) as tmp:
            pacsv.write_csv(table, tmp)
    if args.parquet is not None:
        write_parquet(args.parquet, table)
    print(format_table(table, args.max_rows))
    return 0


def format_table(table, max_rows: int = 40) -> str:
    """A ``pyarrow.Table`` as aligned text: a header, at most ``max_rows`` rows, and how
    many more there are."""
    names = table.column_names
    rows = table.slice(0, max_rows).to_pylist()

    def cell(v) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.6g}"
        return str(v)

    cells = [[cell(r[n]) for n in names] for r in rows]
    widths = [max([len(n), *(len(c[i]) for c in cells)]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    more = table.num_rows - len(rows)
    lines.append(f"({table.num_rows} rows" + (f"; {more} not shown: --csv or --parquet "
                                                 "writes them all)" if more else ")"))
    return "\n".join(lines)
