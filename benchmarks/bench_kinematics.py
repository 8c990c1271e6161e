"""posestack's skeletal IK against OpenSim IK on the same triangulated keypoints, in one run.

Usage (from the repository root; part of ``make bench``)::

    .venv/bin/python benchmarks/bench_kinematics.py [--work DIR] [--repeat 3]

1. 3D: ``posestack.pipeline.run_multiview`` on the Pose2Sim Demo_SinglePerson sample (4
   cameras, 100 frames, Halpe-26, Butterworth 6 Hz, gaps ≤ 20 frames filled), cached in
   ``--work``.
2. posestack's skeletal IK (:func:`posestack.kinematics.ik.fit`) on those keypoints: frames/s
   (median of ``--repeat``).
3. OpenSim 4.6: Pose2Sim's model scaled to the subject and OpenSim IK on the .trc of the same
   keypoints (:func:`posestack.biomech.opensim_ik.scale_and_ik`): IK frames/s.
4. Agreement per angle (``posestack.evaluate.agreement``; our names mapped to the model's
   coordinates with :data:`posestack.kinematics.ik.OPENSIM_NAMES`): RMSE, bias, 95% limits
   of agreement, r. Goal (issue 5): RMSE ≤ 5° for hip, knee, ankle and elbow flexion; IK
   ≥ 10× OpenSim's frame rate and ≥ 200 frames/s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MAIN = ["left_hip_flexion", "right_hip_flexion", "left_knee_flexion", "right_knee_flexion",
        "left_ankle_dorsiflexion", "right_ankle_dorsiflexion", "left_elbow_flexion",
        "right_elbow_flexion"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench_kin")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()

    from posestack import assets
    from posestack.biomech.mot import read_mot
    from posestack.biomech.opensim_ik import scale_and_ik
    from posestack.evaluate.agreement import agreement
    from posestack.kinematics.ik import OPENSIM_NAMES, fit
    from posestack.pipeline import read_keypoints, run_multiview

    bundle = args.work / "multiview"
    if not (bundle / "keypoints3d.parquet").is_file():
        t = time.perf_counter()
        run_multiview(assets.path("pose2sim_demo_singleperson") / "videos", None, args.work,
                      layout="halpe26", video=False, progress=False, filter="butterworth",
                      max_gap=20)
        print(f"2D + 3D: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    poses, _ = read_keypoints(bundle / "keypoints3d.parquet")
    n = poses.n_frames

    times = []
    for _ in range(max(1, args.repeat)):
        t = time.perf_counter()
        ik = fit(poses)
        times.append(time.perf_counter() - t)
    ik_fps = n / float(np.median(times))

    trc = sorted(bundle.glob("*_p0.trc"))[0]
    osim = scale_and_ik(trc, args.work / "opensim", layout="halpe26")
    os_fps = len(osim.times) / osim.seconds_ik
    mot = read_mot(osim.mot)

    ours, theirs, names = [], [], []
    for name in ik.angles.names:
        if name not in OPENSIM_NAMES:
            continue
        coord, sign = OPENSIM_NAMES[name]
        if coord not in mot.names:
            continue
        a = ik.angles.get(name)[:, 0].astype(np.float64)
        ti = np.searchsorted(poses.times, mot.times)
        ok = (ti < n) & (np.abs(poses.times[np.minimum(ti, n - 1)] - mot.times) < 1e-3)
        col = np.full(n, np.nan)
        col[ti[ok]] = sign * mot.values[ok, mot.names.index(coord)]
        ours.append(a)
        theirs.append(col)
        names.append(name)
    rep = agreement(np.stack(ours, 1), np.stack(theirs, 1), names, labels=("posestack IK",
                                                                           "OpenSim IK"))
    print(f"Pose2Sim Demo_SinglePerson, {n} frames, Halpe-26 triangulated by posestack")
    print(f"skeletal IK: {ik_fps:8.1f} frames/s   OpenSim IK: {os_fps:8.1f} frames/s   "
          f"ratio {ik_fps / os_fps:.1f}x   (OpenSim scaling {osim.seconds_scale:.2f} s, "
          f"marker RMS {np.nanmedian(osim.marker_errors) * 100:.1f} cm)")
    print(rep.format())
    main_rmse = {k: round(rep[k].rmse, 2) for k in MAIN if k in rep.names}
    print("main flexion angles, RMSE (deg):", main_rmse)
    if args.json_out:
        args.json_out.write_text(json.dumps({"ik_fps": ik_fps, "opensim_fps": os_fps,
                                             "main_rmse": main_rmse,
                                             "report": rep.to_dict()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
