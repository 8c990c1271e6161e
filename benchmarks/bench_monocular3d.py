"""Monocular 3D against real multi-view truth: leave one camera out on the Pose2Sim sample.

Run from the repository root with the project venv::

    .venv/bin/python benchmarks/bench_monocular3d.py [--end S] [--json-out F]

For each of the sample's four cameras, the reference is the triangulation of the other
three (posestack's 2D, the Qualisys calibration, no filtering), and the route scored is
that camera's single-view 3D:

* ``blazepose_world``: BlazePose's world landmarks (metres, hip-centred, the camera's
  axes). PA-MPJPE aligns each pose by a similarity; MPJPE turns the pose into the world
  by the camera's calibrated rotation and puts its mid-hip on the reference's (the
  usual root-relative protocol); N-MPJPE also fits the scale.

Scored on the 17 COCO body joints. Printed: per camera and route, MPJPE, N-MPJPE,
PA-MPJPE (mm), PCK@150 mm, AUC, frames, and the time per frame of the 2D+3D estimate.

* ``lifter``: posestack's lifter (``--lifter``, default the bundled one) on that camera's
  BlazePose 2D (to COCO-17) with the calibrated focal length, turned into the world
  like the world landmarks. ``lifter_guessed_f``: what ``posestack run --lift`` writes,
  with the focal length guessed as the image's larger side.
* ``body_fit``: the parametric body (Anny, ``posestack.body.fit_body``) fitted to that
  camera's 2D alone through its calibration (SMPLify-style), in the world directly;
  scored like the others and also placed (absolute error, no alignment at all).
  ``--no-body`` leaves it out (it takes most of the run's time).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _absolute(pred, ref) -> dict[str, float]:
    """MPJPE with no alignment at all, and the mid-hip's error, in mm (COCO-17)."""
    from posestack.evaluate import mpjpe
    from posestack.evaluate.keypoints import COCO17, match_frames, match_names

    pi, gi, names = match_names(pred, ref)
    keep = [i for i, n in enumerate(names) if n in COCO17]
    pi, gi = [pi[i] for i in keep], [gi[i] for i in keep]
    fp, fg = match_frames(pred.times, ref.times)
    p = pred.coords[fp][:, 0][:, pi] * 1000
    g = ref.coords[fg][:, 0][:, gi] * 1000
    hips = [names[i] for i in keep].index("left_hip"), [names[i] for i in keep].index(
        "right_hip")
    root = np.linalg.norm(p[:, list(hips)].mean(1) - g[:, list(hips)].mean(1), axis=-1)
    return {"mpjpe": mpjpe(p, g), "root": float(np.nanmean(root))}


def _lifted(model, bundle, camera) -> tuple[object, float]:
    """The lifter on this camera's 2D (BlazePose-33 to COCO-17) with the calibrated focal
    length; and the seconds it took."""
    import posestack
    from posestack.evaluate.keypoints import Keypoints
    from posestack.lift.infer import lift_poses

    poses, _ = posestack.read_keypoints(bundle / "keypoints2d.parquet")
    t0 = time.perf_counter()
    lifted = lift_poses(poses, model, focal=float(camera.K[0, 0]),
                        centre=(float(camera.K[0, 2]), float(camera.K[1, 2])))
    seconds = time.perf_counter() - t0
    return Keypoints.from_poses(lifted, bundle), seconds


def _body_fitted(bundle, camera, body) -> tuple[object, float]:
    """The body fitted to this camera's 2D through its calibration (world axes)."""
    import posestack
    from posestack.body import fit_body
    from posestack.evaluate.keypoints import Keypoints

    poses, _ = posestack.read_keypoints(bundle / "keypoints2d.parquet")
    t0 = time.perf_counter()
    fit = fit_body(poses, camera=camera, body=body, confidence=False)
    seconds = time.perf_counter() - t0
    return Keypoints(fit.keypoints[:, None].astype(np.float64), fit.times,
                     tuple(poses.skeleton.keypoints), bundle, "world"), seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--end", type=float, default=None, help="seconds of the trial (default all)")
    ap.add_argument("--json-out", type=Path, help="also write the table as json")
    ap.add_argument("--lifter", default="posestack",
                    help="the lifter to score (default: the bundled one; or a .onnx made by "
                         "python -m posestack.lift.train)")
    ap.add_argument("--no-body", action="store_true", help="leave the body-fit route out")
    args = ap.parse_args()

    import posestack
    from posestack import assets
    from posestack.evaluate.keypoints import COCO17, Keypoints, evaluate, load_keypoints, to_world
    from posestack.multiview.calibration import load_calibration
    from posestack.multiview.ground import place_on_floor
    from posestack.pipeline import triangulate_files

    d = assets.path("pose2sim_demo_singleperson")
    calib_path = d / "calibration" / "Calib.qca.txt"
    videos = sorted((d / "videos").glob("cam0*.mp4"))
    work = Path(tempfile.mkdtemp(prefix="bench_mono3d_"))
    t0 = time.perf_counter()
    results = posestack.run(videos, work, end=args.end, video=False, progress=False,
                            max_people=1, lift=args.lifter)
    n_frames = sum(len(r.frames) for r in results)
    per_frame_ms = 1000 * (time.perf_counter() - t0) / n_frames
    lift_s = body_s = 0.0
    body = None
    if not args.no_body:
        from posestack.body.anny_body import AnnyBody

        body = AnnyBody()
    calib = load_calibration(calib_path)
    names = [v.stem for v in videos]
    rows = []
    for cam in names:
        others = [n for n in names if n != cam]
        ref_dir = work / f"loco_{cam}"
        triangulate_files([work / n for n in others], calib_path, ref_dir, cameras=others)
        ref = load_keypoints(ref_dir)
        mono = load_keypoints(work / cam / "keypoints3d_body.parquet")
        # into the world's axes: body = camera axes, so world = R^T body
        ev = evaluate(to_world(mono, calib_path, cam), ref, keypoints=COCO17).rows[0]
        rows.append({"camera": cam, "route": "blazepose_world", **ev})
        # placed in the world from this camera alone: the lowest foot point on the floor
        xy2d = load_keypoints(work / cam / "keypoints2d.parquet")
        placed = place_on_floor(mono.coords[:, 0], xy2d.coords[:, 0], mono.names, calib[cam])
        gk = Keypoints(placed[:, None], mono.times, mono.names, mono.source, "world")
        glob = evaluate(gk, ref, keypoints=COCO17).rows[0]
        absolute = _absolute(gk, ref)
        rows.append({"camera": cam, "route": "blazepose_global", **glob,
                     "absolute_mm": absolute["mpjpe"], "root_mm": absolute["root"]})
        lifted, seconds = _lifted(args.lifter, work / cam, calib[cam])
        lift_s += seconds
        guessed = load_keypoints(work / cam / "keypoints3d_lifted.parquet")
        for route, kp in (("lifter", lifted), ("lifter_guessed_f", guessed)):
            ev = evaluate(to_world(kp, calib_path, cam), ref, keypoints=COCO17).rows[0]
            rows.append({"camera": cam, "route": route, **ev})
        if body is not None:
            fitted, seconds = _body_fitted(work / cam, calib[cam], body)
            body_s += seconds
            ev = evaluate(fitted, ref, keypoints=COCO17).rows[0]
            absolute = _absolute(fitted, ref)
            rows.append({"camera": cam, "route": "body_fit", **ev,
                         "absolute_mm": absolute["mpjpe"], "root_mm": absolute["root"]})
    print(f"Monocular 3D, leave one camera out (Pose2Sim sample, {len(results[0].frames)} "
          f"frames per camera; 2D + world landmarks {per_frame_ms:.1f} ms/frame, the "
          f"lifter {1000 * lift_s / n_frames:.2f} ms/frame, the body fit "
          f"{1000 * body_s / n_frames:.0f} ms/frame)")
    print(f"{'camera':<8}{'route':<18}{'frames':>7}{'MPJPE':>8}{'N-MPJPE':>9}{'PA-MPJPE':>10}"
          f"{'PCK150':>8}{'AUC':>7}")
    for r in rows:
        if r["route"] == "blazepose_global":
            continue
        print(f"{r['camera']:<8}{r['route']:<18}{r['frames']:>7}{r['mpjpe_mm']:>8.1f}"
              f"{r['n_mpjpe_mm']:>9.1f}{r['pa_mpjpe_mm']:>10.1f}{r['pck']:>8.3f}"
              f"{r['auc']:>7.3f}")
    mean = {}
    for route in ("blazepose_world", "lifter", "lifter_guessed_f", "body_fit"):
        these = [r for r in rows if r["route"] == route]
        if not these:
            continue
        m = mean[route] = {k: float(np.mean([r[k] for r in these])) for k in
                           ("mpjpe_mm", "n_mpjpe_mm", "pa_mpjpe_mm", "pck", "auc")}
        print(f"{'mean':<8}{route:<18}{'':>7}{m['mpjpe_mm']:>8.1f}{m['n_mpjpe_mm']:>9.1f}"
              f"{m['pa_mpjpe_mm']:>10.1f}{m['pck']:>8.3f}{m['auc']:>7.3f}")
    print("Placed in the world from one camera (lowest foot point on the floor, z = 0.05 m):")
    print(f"{'camera':<8}{'absolute MPJPE':>16}{'mid-hip error':>15}")
    for r in rows:
        if r["route"] == "blazepose_global":
            print(f"{r['camera']:<8}{r['absolute_mm']:>16.1f}{r['root_mm']:>15.1f}")
    if body is not None:
        print("Placed by the body fit through the camera (its size sets the depth):")
        for r in rows:
            if r["route"] == "body_fit":
                print(f"{r['camera']:<8}{r['absolute_mm']:>16.1f}{r['root_mm']:>15.1f}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"rows": rows, "mean": mean,
                                             "ms_per_frame": per_frame_ms,
                                             "lifter_ms_per_frame": 1000 * lift_s / n_frames,
                                             "body_ms_per_frame": 1000 * body_s / n_frames},
                                            indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
