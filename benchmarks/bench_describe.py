"""Speed of posestack.describe (issue 14, item 7): posecodes for 10,000 person-frames, their
descriptions, and ``find`` over one million person-frames. Goal: each under one second.

Run from the repository root (needs the ``query`` extra for DuckDB)::

    .venv/bin/python benchmarks/bench_describe.py [--frames 10000] [--million 1000000]

The poses are synthetic (``posestack.describe.synthetic.random_pose``, random headings),
so every code is observed. For ``find``, the codes of the 10,000 poses are written as 100
bundles' ``codes.parquet`` (1,000,000 person-frames, about 60 million code rows) and
three queries run through :func:`posestack.describe.find.find` (DuckDB) after one warm-up
query; the time of each query is reported. The reference is the goal itself (1 s): there
is no other posecode engine to run here (PoseScript's code is CC BY-NC-SA and needs SMPL-H
inputs).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--million", type=int, default=1_000_000,
                    help="person-frames searched by find (a multiple of --frames)")
    args = ap.parse_args()

    from posestack.describe import compute_codes
    from posestack.describe.bundle import write_codes
    from posestack.describe.find import find
    from posestack.describe.synthetic import poses_from_angles, random_pose
    from posestack.describe.text import describe_codes

    rng = np.random.default_rng(7)
    n = args.frames
    t0 = time.perf_counter()
    poses = poses_from_angles([random_pose(rng) for _ in range(n)],
                              headings=list(rng.uniform(-180, 180, n)))
    print(f"made {n} synthetic poses in {time.perf_counter() - t0:.1f} s (not timed)")

    rows = []
    t0 = time.perf_counter()
    codes = compute_codes(poses)
    t_codes = time.perf_counter() - t0
    rows.append(("posecodes", n, t_codes))

    t0 = time.perf_counter()
    cats = codes.categories[:, 0, :]
    names = codes.names
    texts = [describe_codes({names[i]: c for i, c in enumerate(row) if c}) for row in cats]
    t_text = time.perf_counter() - t0
    rows.append(("descriptions", n, t_text))
    assert len(texts) == n

    work = Path(tempfile.mkdtemp(prefix="bench_describe_"))
    try:
        copies = max(1, args.million // n)
        table = codes.to_table()
        for b in range(copies):
            d = work / f"b{b:03d}"
            d.mkdir()
            write_codes(d / "codes.parquet", table)
        total = copies * n
        find([work], "standing")   # warm-up: DuckDB's start and the file footers
        for q in ("left knee bent at a right angle and both hands above the head",
                  "hands less than 20 cm apart and not standing",
                  "when is the left knee most bent"):
            t0 = time.perf_counter()
            moments, _ = find([work], q, limit=10)
            rows.append((f"find: {q!r} ({len(moments)} moments)", total,
                         time.perf_counter() - t0))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("\n| step | person-frames | seconds | vs goal (1 s) |\n|---|---|---|---|")
    for what, k, s in rows:
        print(f"| {what} | {k:,} | {s:.3f} | {s:.2f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
