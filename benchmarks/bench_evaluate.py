"""Speed of the evaluation tools: the metrics on 100,000 frames, and an ``examine`` run.

Run from the repository root with the project venv::

    .venv/bin/python benchmarks/bench_evaluate.py [--frames 100] [--skip-examine]

* metrics: MPJPE with each alignment (none, root, scale, Procrustes) and PCK/AUC on
  100,000 random 17-joint poses (the issue's target: under a second each);
* examine: BlazePose on ``--frames`` frames of the Pose2Sim sample (cam01), 6
  perturbations x 5 severities plus the bisection (target: under 5 minutes), with
  MediaPipe's detector (the default) and, for the same frames, the time per call with
  ``auto``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=100, help="examine's frames (default 100)")
    ap.add_argument("--skip-examine", action="store_true", help="metrics only")
    args = ap.parse_args()

    from posestack.evaluate import auc3d, mpjpe, pck3d

    rng = np.random.default_rng(0)
    gt = rng.normal(size=(100_000, 17, 3))
    pred = gt + rng.normal(scale=0.03, size=gt.shape)
    print("metrics on 100,000 poses of 17 joints (best of 3):")

    def best(fn) -> float:
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    for mode in ("none", "root", "scale", "procrustes"):
        print(f"  MPJPE, alignment {mode:<11} {best(lambda m=mode: mpjpe(pred, gt, m)):6.2f} s")
    pm, gm = pred * 1000, gt * 1000
    print(f"  PCK150 + AUC              {best(lambda: (pck3d(pm, gm), auc3d(pm, gm))):6.2f} s")
    if args.skip_examine:
        return 0

    from posestack import assets
    from posestack.examine import examine

    video = assets.path("pose2sim_demo_singleperson") / "videos" / "cam01.mp4"
    t0 = time.perf_counter()
    ex = examine(video, "blazepose", frames=args.frames, progress=False)
    took = time.perf_counter() - t0
    print(f"examine, blazepose, {ex.frames} frames, 6 perturbations x 5 severities + "
          f"bisection: {ex.calls} calls in {took:.0f} s ({1000 * took / ex.calls:.0f} ms "
          "per call)")
    for f in ex.failures:
        at = "never" if f["fails_at"] is None else \
            f"severity {f['fails_at']:.2f} ({f['parameter']:g} {f['unit']})"
        print(f"  {f['perturbation']:<18} fails at {at}")
    t0 = time.perf_counter()
    ex2 = examine(video, "blazepose", frames=10, perturbations=["blur"], refine=0,
                  person_detector="auto", progress=False)
    print(f"with --person-detector auto: {1000 * (time.perf_counter() - t0) / ex2.calls:.0f} "
          "ms per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
