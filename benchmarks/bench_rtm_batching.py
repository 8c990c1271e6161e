"""Per-person latency of top-down pose: all persons in one ONNX call vs one call per person.

Run from the repository root with the project venv (needs ``onnx``, from the ``dev`` extra)::

    .venv/bin/python benchmarks/bench_rtm_batching.py
    .venv/bin/python benchmarks/bench_rtm_batching.py --quick --json-out bench_rtm.json

No real RTMPose weights are needed: the model is a synthetic SimCC graph with the
shapes of RTMPose-m 256x192 (input ``(N, 3, 256, 192)``, ``simcc_x`` ``(N, 17, 384)``,
``simcc_y`` ``(N, 17, 512)``) and some real compute (four 3x3 convolutions, global
pooling and two linear heads; ``tests/onnx_graphs.py::conv_simcc``; ~0.24 GMAC per
person at the default ``--width 32``, several times less than RTMPose-m, so the fixed
per-call overhead weighs more here than with real models). For each thread
count and number of persons P, :class:`posestack.estimate.rtm.TopDownPose` runs on one
1280x720 frame with P boxes, once with ``batch=True`` (one inference of batch P) and
once with ``batch=False`` (P inferences of batch 1); each is warmed up, then timed
``--repeat`` times (median reported; crop, normalisation and decode included). The
table gives ms per frame, ms per person and the speed-up of batching, and checks that
both modes return the same keypoints (max |Δxy| in pixels). Timings only; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests/onnx_graphs.py (the graph builders)

from tests import onnx_graphs  # noqa: E402

from posestack.estimate.rtm import TopDownPose  # noqa: E402


def person_boxes(p: int, image_hw: tuple[int, int], seed: int = 0) -> np.ndarray:
    """``(p, 4)`` xyxy boxes of standing-person proportions spread over the frame."""
    rng = np.random.default_rng(seed)
    h, w = image_hw
    bw = rng.uniform(0.08, 0.2, p) * w
    bh = bw * rng.uniform(1.8, 2.8, p)
    x1 = rng.uniform(0, w - bw)
    y1 = rng.uniform(0, np.maximum(h - bh, 1))
    return np.stack([x1, y1, x1 + bw, y1 + bh], axis=1)


def time_call(fn, repeat: int, warmup: int) -> float:
    """Median wall time of ``fn()`` in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(model: Path, persons: list[int], threads: int | None, repeat: int, warmup: int,
            image_hw: tuple[int, int] = (720, 1280)) -> list[dict]:
    """One row per P: batched and per-person ms per frame and per person."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (*image_hw, 3), dtype=np.uint8)
    batched = TopDownPose(model, batch=True, num_threads=threads)
    single = TopDownPose(model, batch=False, num_threads=threads)
    rows = []
    for p in persons:
        boxes = person_boxes(p, image_hw)
        xy_b, _ = batched.predict(image, boxes)
        xy_s, _ = single.predict(image, boxes)
        diff = float(np.nanmax(np.abs(xy_b - xy_s))) if p else 0.0
        tb = time_call(lambda b=boxes: batched.predict(image, b), repeat, warmup)
        ts = time_call(lambda b=boxes: single.predict(image, b), repeat, warmup)
        rows.append({"threads": threads or 0, "persons": p,
                     "batched_ms_frame": 1e3 * tb, "single_ms_frame": 1e3 * ts,
                     "batched_ms_person": 1e3 * tb / p, "single_ms_person": 1e3 * ts / p,
                     "speedup": ts / tb, "max_dxy_px": diff})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", default="1,2,4,8,16",
                    help="comma-separated numbers of persons per frame")
    ap.add_argument("--threads", default="1,0",
                    help="comma-separated ONNX Runtime intra-op threads (0: its default)")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--width", type=int, default=32, help="channels of the first conv")
    ap.add_argument("--quick", action="store_true", help="P = 1, 4, 16; 5 repeats")
    ap.add_argument("--json-out", type=Path, help="also write the rows as JSON")
    args = ap.parse_args(argv)
    persons = [1, 4, 16] if args.quick else [int(v) for v in args.persons.split(",")]
    repeat = 5 if args.quick else args.repeat
    threads = [int(v) or None for v in args.threads.split(",")]

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = onnx_graphs.conv_simcc(Path(tmp) / "conv_simcc.onnx", width=args.width)
        for t in threads:
            print(f"threads={t or 'default'} ...", file=sys.stderr)
            rows += measure(model, persons, t, repeat, args.warmup)

    print(f"CPU cores: {os.cpu_count()}; synthetic SimCC 256x192, K=17, width {args.width}")
    head = (f"{'threads':>7} {'P':>3} {'batched ms/frame':>16} {'single ms/frame':>15} "
            f"{'batched ms/pers':>15} {'single ms/pers':>14} {'speed-up':>8} {'max|Δxy|':>9}")
    print(head)
    for r in rows:
        print(f"{r['threads'] or 'def':>7} {r['persons']:>3} {r['batched_ms_frame']:>16.2f} "
              f"{r['single_ms_frame']:>15.2f} {r['batched_ms_person']:>15.2f} "
              f"{r['single_ms_person']:>14.2f} {r['speedup']:>7.2f}x {r['max_dxy_px']:>9.2g}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"cpu_count": os.cpu_count(), "width": args.width,
                                             "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
