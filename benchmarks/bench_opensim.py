"""OpenSim scaling + inverse kinematics speed on the Pose2Sim sample (the baseline for our IK).

Usage (from the repository root; needs the ``biomech`` extra)::

    .venv/bin/python benchmarks/bench_opensim.py [--out DIR] [--repeat 3] [--model simple]

Steps:

1. 3D keypoints: ``posestack.pipeline.run_multiview`` (BlazePose, Halpe-26 layout) on the
   four videos of Pose2Sim's Demo_SinglePerson (60 fps), with Pose2Sim's defaults after
   triangulation: gaps of up to 20 frames filled linearly, Butterworth 6 Hz order 4. The
   ``.trc`` of the bundle is the input (``--reuse`` skips this step when
   ``OUT/multiview/multiview_p0.trc`` exists).
2. ``scale_and_ik`` on that ``.trc`` (layout halpe26), ``--repeat`` times; the scaling and
   the IK are timed separately (OpenSimResult.seconds_scale / seconds_ik) and reported as
   the median, with IK frames per second.
3. The same with the OpenCap marker augmenter first (``augment_markers``, small toes taken
   from the big toes as BlazePose has none) and the LSTM setup (``layout="lstm"``).

Prints one table and the paths of the ``.mot`` files (to compare with our skeletal IK).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_trc(out: Path, end: float | None, reuse: bool):
    from posestack import assets, pipeline

    trc = out / "multiview" / "multiview_p0.trc"
    if reuse and trc.is_file():
        return trc, None
    t = time.perf_counter()
    res = pipeline.run_multiview(assets.path("pose2sim_demo_singleperson") / "videos", None, out,
                                 layout="halpe26", video=False, progress=False, end=end,
                                 max_gap=20, filter="butterworth", cutoff=6.0, order=4)
    log(f"3D keypoints with posestack: {time.perf_counter() - t:.1f} s")
    return trc, res.poses3d


def bench(trc: Path, out: Path, layout: str, model: str, repeat: int, height: float | None):
    from posestack.biomech import scale_and_ik

    runs = []
    for _ in range(repeat):
        runs.append(scale_and_ik(trc, out, layout=layout, model=model, height=height))
    r = runs[-1]
    scale = float(np.median([x.seconds_scale for x in runs]))
    ik = float(np.median([x.seconds_ik for x in runs]))
    return r, scale, ik


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="work folder (default: a temp dir)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default="simple", choices=["simple", "muscles"])
    ap.add_argument("--end", type=float, default=None, help="seconds of video (default all)")
    ap.add_argument("--reuse", action="store_true", help="reuse OUT/multiview/multiview_p0.trc")
    args = ap.parse_args()

    import opensim

    from posestack.biomech import augment_markers, write_augmented_trc
    from posestack.io.trc import read_trc
    from posestack.poses import Poses

    out = args.out or Path(tempfile.mkdtemp(prefix="bench_opensim_"))
    trc, poses = make_trc(out, args.end, args.reuse)
    if poses is None:
        data = read_trc(trc, z_up=True, metres=True)
        from posestack.skeletons import get_skeleton

        skel = get_skeleton("halpe26")
        idx = [data.names.index(k) for k in skel.keypoints]
        xyz = data.xyz[:, idx][:, None]
        poses = Poses(skel, xyz, np.isfinite(xyz).all(-1).astype(np.float32), data.times,
                      "world")

    rows = []
    r, s_scale, s_ik = bench(trc, out / "opensim_halpe26", "halpe26", args.model, args.repeat,
                             None)
    rows.append(("halpe26", r, s_scale, s_ik, 0.0))

    tic = time.perf_counter()
    aug = augment_markers(poses, r.height, r.mass, missing_small_toes="use_big_toe")
    s_aug = time.perf_counter() - tic
    lstm_trc = out / "lstm" / f"{trc.stem}_LSTM.trc"
    write_augmented_trc(lstm_trc, poses, aug)
    r2, s_scale2, s_ik2 = bench(lstm_trc, out / "opensim_lstm", "lstm", args.model, args.repeat,
                                r.height)
    rows.append(("lstm", r2, s_scale2, s_ik2, s_aug))

    t = r.times.shape[0]
    print(f"OpenSim {opensim.__version__}, model {args.model!r}, {t} frames "
          f"({r.times[-1] - r.times[0] + (r.times[1] - r.times[0]):.2f} s of video), "
          f"median of {args.repeat} run(s), height {r.height:.3f} m, mass {r.mass:g} kg")
    print(f"{'markers':8s} {'augment s':>9s} {'scale s':>8s} {'IK s':>7s} {'IK fr/s':>8s} "
          f"{'all fr/s':>8s} {'RMS err mm':>10s}  .mot")
    for name, res, sc, ik, au in rows:
        n = res.times.shape[0]
        print(f"{name:8s} {au:9.3f} {sc:8.3f} {ik:7.3f} {n / ik:8.1f} {n / (au + sc + ik):8.1f} "
              f"{1000 * float(np.nanmean(res.marker_errors)):10.1f}  {res.mot}")
    for name, res, *_ in rows:
        k = {c: res.angle(c) for c in ("hip_flexion_r", "knee_angle_r", "ankle_angle_r")}
        print(f"{name:8s} " + "  ".join(f"{c} {v.min():.0f}..{v.max():.0f} deg"
                                        for c, v in k.items()))


if __name__ == "__main__":
    main()
