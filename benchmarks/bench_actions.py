"""Speed of posestack.actions (issue 15, item 8): prediction over a one-minute, 30 fps
video with two tracked people (goal: under 5 s on this machine with ONNX Runtime), and
training time per epoch on the synthetic set, for ST-GCN++ and SkateFormer.

Run from the repository root::

    .venv/bin/python benchmarks/bench_actions.py [--seconds 60] [--epochs 1]

The two people chain the eight synthetic actions (``make_sequence``), 2D through a
random camera. Each model is trained for ``--epochs`` on 16 clips per class (its
accuracy is not the point here), exported to ONNX, and ``recognise`` runs with the
defaults (2-s windows every 0.25 s: 480 windows per person-minute pair) on ONNX Runtime
and on torch; the reference is the goal (5 s) and torch measured in the same run.
Prediction is timed in a fresh process (``--predict MODEL_DIR BACKEND``), as a user runs
``posestack actions predict``: in the process that has just trained, ONNX Runtime was about
30% slower (4.9-5.1 s against 3.8-4.0 s for ST-GCN++).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--models", nargs="+", default=["stgcnpp", "skateformer"])
    ap.add_argument("--predict", nargs=2, metavar=("MODEL_DIR", "BACKEND"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.predict:
        return _predict_only(args.seconds, *args.predict)

    import subprocess
    import sys

    import torch

    from posestack.actions.data import ActionData
    from posestack.actions.model import export_onnx
    from posestack.actions.synthetic import synthetic_dataset
    from posestack.actions.train import TrainConfig, train

    torch.set_num_threads(2)
    seq = _sequence(args.seconds)
    a = synthetic_dataset(16, dim=2, seed=1, split="train")
    b = synthetic_dataset(4, dim=2, seed=2, split="val")
    data = ActionData({**a.split, **b.split}, a.annotations + b.annotations, a.label_names)
    print(f"video: {seq.poses2d.n_frames} frames, {seq.poses2d.n_people} people; "
          f"train: {len(a.annotations)} clips")
    for model in args.models:
        with tempfile.TemporaryDirectory() as d:
            cfg = TrainConfig(model=model, epochs=args.epochs)
            t0 = time.perf_counter()
            h = train(data, d, cfg, progress=False)
            per_epoch = (time.perf_counter() - t0) / args.epochs
            export_onnx(d)
            res = {}
            for backend in ("onnx", "torch"):
                out = subprocess.run([sys.executable, __file__, "--seconds", str(args.seconds),
                                      "--predict", d, backend], capture_output=True, text=True,
                                     check=True).stdout.split()
                res[backend], n_segments = float(out[0]), int(out[1])
            c = TrainConfig(model=model).resolved()
            print(f"{model} (width {c.base_channels}, {c.clip_len} frames): train "
                  f"{per_epoch:.1f} s/epoch ({len(a.annotations)} clips; val "
                  f"{h['best_accuracy']:.0%} after {args.epochs}); predict "
                  f"{args.seconds:.0f} s x 2 people: ONNX Runtime {res['onnx']:.2f} s "
                  f"({res['onnx'] / 5.0:.2f}x the 5-s goal), torch {res['torch']:.2f} s "
                  f"(ONNX {res['torch'] / res['onnx']:.2f}x faster); "
                  f"{n_segments} segments")
    return 0


def _sequence(seconds: float):
    from posestack.actions.synthetic import CLASSES, make_sequence

    names = sorted(CLASSES)
    n = max(1, int(seconds // 4))
    plan = [[(names[(i + k) % 8], seconds / n) for i in range(n)] for k in (0, 3)]
    return make_sequence(plan, np.random.default_rng(0))


def _predict_only(seconds: float, model_dir: str, backend: str) -> int:
    """Time ``recognise`` over the benchmark's video in this (fresh) process; prints the
    seconds and the number of segments."""
    from posestack.actions.model import load_model
    from posestack.actions.predict import recognise

    if backend == "torch":
        import torch

        torch.set_num_threads(2)
    seq = _sequence(seconds)
    m = load_model(model_dir, backend=backend)
    m.probabilities(np.zeros((2, 1, m.config.clip_len, 17, 3), np.float32))  # warm-up
    t0 = time.perf_counter()
    rec = recognise(seq.poses2d, [m])
    print(f"{time.perf_counter() - t0:.3f} {len(rec.segments)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
