"""Throughput of ``posestack batch`` against a serial run, and ``query`` over 1,000 bundles.

Run from the repository root with the project venv (Ray from ``posestack[scale]``)::

    .venv/bin/python benchmarks/bench_batch.py [--clips 20] [--frames 30] [--width 640]
        [--json-out bench_batch.json]

The inputs are ``--clips`` clips of ``--frames`` frames cut from the Sports2D and Pose2Sim
samples (``tests/clips.py``), with the overlay video written, as a user runs them. In the
same run it measures:

* ``serial``: one ``posestack.run`` over all clips in this process (default threads): the
  reference;
* ``pool`` with 1 and 2 workers, and ``ray`` with 1 and 2 workers (a local Ray started for
  each, its start-up included): wall time and clips/s, and the ratio to the serial run;
* Ray's start-up alone (``ray.init`` + ``shutdown``) and its overhead per task: (Ray's wall
  time - its start-up - the pool's wall time at the same workers) / clips;
* ``query`` over 1,000 synthetic bundles (manifest + a 300-row angles table each): the
  time to open the views and run one aggregate.

Every batch run writes to a fresh folder, so nothing is skipped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.clips import cut_clips  # noqa: E402


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _synthetic_bundles(root: Path, n: int = 1000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    for i in range(n):
        b = root / f"S{i // 10:03d}_t{i % 10}"
        b.mkdir(parents=True)
        (b / "manifest.json").write_text(json.dumps(
            {"input": {"path": f"/data/{b.name}.mp4", "fps": 30.0},
             "frames": {"processed": 300}, "parameters": {"estimator": "blazepose"},
             "people": 1}))
        pq.write_table(pa.table({"frame": np.arange(300), "time": np.arange(300) / 30,
                                 "person": np.zeros(300, np.int16),
                                 "angle": ["right_knee"] * 300,
                                 "degrees": rng.normal(40, 10, 300).astype(np.float32)}),
                       b / "angles.parquet")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=20, help="clips (default 20)")
    ap.add_argument("--frames", type=int, default=30, help="frames per clip (default 30)")
    ap.add_argument("--width", type=int, default=640, help="clip width, px (default 640)")
    ap.add_argument("--no-ray", action="store_true", help="leave Ray out")
    ap.add_argument("--json-out", type=Path, help="also write the figures as json")
    args = ap.parse_args()

    import posestack
    from posestack.batch import batch
    from posestack.query import query

    work = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    try:
        clips = cut_clips(work / "clips", n=args.clips, frames=args.frames, width=args.width)
        frames = args.clips * args.frames
        res: dict[str, dict] = {}
        t = _timed(lambda: posestack.run(clips, work / "serial", progress=False))
        res["serial"] = {"seconds": t}
        runs = [("pool", 1), ("pool", 2)]
        if not args.no_ray:
            runs += [("ray", 1), ("ray", 2)]
        for kind, w in runs:
            out = work / f"{kind}{w}"
            t = _timed(lambda out=out, kind=kind, w=w: batch(
                clips, out, workers=w, ray=kind == "ray", progress=False))
            res[f"{kind} x{w}"] = {"seconds": t}
        if not args.no_ray:
            import ray

            res["ray start-up"] = {"seconds": _timed(lambda: (ray.init(
                num_cpus=2, include_dashboard=False, log_to_driver=False), ray.shutdown()))}
        base = res["serial"]["seconds"]
        print(f"batch: {args.clips} clips x {args.frames} frames ({args.width} px wide), "
              f"overlay written; {frames} frames in all")
        print(f"{'run':<16}{'seconds':>9}{'clips/s':>9}{'frames/s':>10}{'vs serial':>11}")
        for name, r in res.items():
            if name == "ray start-up":
                continue
            r["clips_per_s"] = args.clips / r["seconds"]
            r["ratio_to_serial"] = base / r["seconds"]
            print(f"{name:<16}{r['seconds']:>9.1f}{r['clips_per_s']:>9.2f}"
                  f"{frames / r['seconds']:>10.1f}{r['ratio_to_serial']:>10.2f}x")
        if not args.no_ray:
            start = res["ray start-up"]["seconds"]
            print(f"Ray start-up alone: {start:.1f} s")
            for w in (1, 2):
                per = (res[f"ray x{w}"]["seconds"] - start - res[f"pool x{w}"]["seconds"]) \
                    / args.clips
                res[f"ray x{w}"]["overhead_per_task_s"] = per
                print(f"Ray overhead per task, {w} worker(s), beyond the pool: "
                      f"{per * 1000:.0f} ms")

        qroot = work / "bundles1000"
        _synthetic_bundles(qroot)
        t = _timed(lambda: query(qroot, "select split_part(bundle, '_', 1) as s, "
                                        "avg(degrees) from angles group by 1"))
        res["query 1000 bundles"] = {"seconds": t}
        print(f"query over 1,000 bundles (300,000 angle rows): {t:.2f} s")
        if args.json_out:
            args.json_out.write_text(json.dumps(res, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
