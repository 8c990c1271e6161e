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
4. Agreement per angle (``posestack.evaluate.agreement``; our fit converted to the model's
   coordinates with :func:`posestack.kinematics.ik.to_opensim`): RMSE, bias, 95% limits
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

MAIN = ["hip_flexion_l", "hip_flexion_r", "knee_angle_l", "knee_angle_r", "ankle_angle_l",
        "ankle_angle_r", "elbow_flex_l", "elbow_flex_r"]


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
    from posestack.kinematics.ik import fit, to_opensim
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
    # frames of our fit nearest in time to OpenSim's rows
    ti = np.clip(np.searchsorted(poses.times, mot.times), 1, n - 1)
    ti = np.where(np.abs(poses.times[ti - 1] - mot.times) < np.abs(poses.times[ti] - mot.times),
                  ti - 1, ti)
    ok = np.abs(poses.times[ti] - mot.times) < 1e-3

    def compare(result, zero):
        ours, theirs, names = [], [], []
        for coord, values in to_opensim(result, zero=zero).items():
            if coord not in mot.names or coord.endswith(("_tx", "_ty", "_tz")):
                continue
            col = np.full(n, np.nan)
            col[ti[ok]] = mot.values[ok, mot.names.index(coord)]
            ours.append(values.astype(np.float64))
            theirs.append(col)
            names.append(coord)
        return agreement(np.stack(ours, 1), np.stack(theirs, 1), names,
                         labels=("posestack IK", "OpenSim IK"))

    # the headline: defaults (smoothing on, generic zero-pose offsets)
    rep = compare(ik, "generic")
    print(f"Pose2Sim Demo_SinglePerson, {n} frames, Halpe-26 triangulated by posestack")
    print(f"skeletal IK: {ik_fps:8.1f} frames/s   OpenSim IK: {os_fps:8.1f} frames/s   "
          f"ratio {ik_fps / os_fps:.1f}x   (OpenSim scaling {osim.seconds_scale:.2f} s, "
          f"marker RMS {np.nanmedian(osim.marker_errors) * 100:.1f} cm)")
    print("posestack IK with its defaults (smooth=1), converted with to_opensim(zero='generic')")
    print(rep.format())
    main_rmse = {k: round(rep[k].rmse, 2) for k in MAIN if k in rep.names}
    print("main flexion angles, RMSE (deg):", main_rmse)
    # variants: no zero-pose calibration; per-frame (smooth=0, like OpenSim); the subject's
    # scaled model for the zero pose
    per_frame = fit(poses, smooth=0.0, max_iter=1000)
    variants = {"no zero calibration": compare(ik, None),
                "smooth=0 (per frame, like OpenSim)": compare(per_frame, "generic")}
    try:
        from posestack.biomech.opensim_ik import ik_calibration

        scaled = ik_calibration("halpe26", osim.scaled_model)
        variants["zero pose of the scaled model"] = compare(ik, scaled)
        variants["smooth=0 + scaled model's zero"] = compare(per_frame, scaled)
    except Exception as exc:
        print(f"(scaled-model zero pose skipped: {exc})", file=sys.stderr)
    print("\nmain flexion angles, RMSE / bias (deg), variants:")
    print(f"{'':36s}" + "".join(f"{k:>15s}" for k in MAIN))
    for label, r in {"defaults": rep, **variants}.items():
        print(f"{label:36s}" + "".join(f"{r[k].rmse:7.2f}/{r[k].bias:+6.2f} " for k in MAIN))
    if args.json_out:
        args.json_out.write_text(json.dumps({"ik_fps": ik_fps, "opensim_fps": os_fps,
                                             "main_rmse": main_rmse,
                                             "report": rep.to_dict()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
