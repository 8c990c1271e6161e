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
The lifter and the body fit of issue 18 are to be added as routes here.
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
    from posestack.evaluate.keypoints import COCO17, _frames, _names

    pi, gi, names = _names(pred, ref)
    keep = [i for i, n in enumerate(names) if n in COCO17]
    pi, gi = [pi[i] for i in keep], [gi[i] for i in keep]
    fp, fg = _frames(pred.times, ref.times)
    p = pred.coords[fp][:, 0][:, pi] * 1000
    g = ref.coords[fg][:, 0][:, gi] * 1000
    hips = [names[i] for i in keep].index("left_hip"), [names[i] for i in keep].index(
        "right_hip")
    root = np.linalg.norm(p[:, list(hips)].mean(1) - g[:, list(hips)].mean(1), axis=-1)
    return {"mpjpe": mpjpe(p, g), "root": float(np.nanmean(root))}


def _lifted(model, bundle, camera, ref) -> dict:
    """The lifter on this camera's 2D (BlazePose-33 to COCO-17), turned into the world."""
    import posestack
    from posestack.evaluate.keypoints import COCO17, Keypoints, evaluate
    from posestack.lift.infer import lift

    poses, _ = posestack.read_keypoints(bundle / "keypoints2d.parquet")
    coco = poses.to_skeleton("coco17")
    xyz = lift(model, coco.coords[:, 0], coco.scores[:, 0], float(camera.K[0, 0]),
               (float(camera.K[0, 2]), float(camera.K[1, 2])))
    world = xyz @ camera.R  # camera axes to world axes
    kp = Keypoints(world[:, None], coco.times, tuple(coco.skeleton.keypoints), bundle,
                   "world")
    return evaluate(kp, ref, keypoints=COCO17).rows[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--end", type=float, default=None, help="seconds of the trial (default all)")
    ap.add_argument("--json-out", type=Path, help="also write the table as json")
    ap.add_argument("--lifter", type=Path,
                    help="a lifter .onnx (python -m posestack.lift.train) to score as a route")
    args = ap.parse_args()

    import posestack
    from posestack import assets
    from posestack.evaluate.keypoints import COCO17, Keypoints, evaluate, load_keypoints
    from posestack.multiview.calibration import load_calibration
    from posestack.multiview.ground import place_on_floor
    from posestack.pipeline import triangulate_files

    d = assets.path("pose2sim_demo_singleperson")
    calib_path = d / "calibration" / "Calib.qca.txt"
    videos = sorted((d / "videos").glob("cam0*.mp4"))
    work = Path(tempfile.mkdtemp(prefix="bench_mono3d_"))
    t0 = time.perf_counter()
    results = posestack.run(videos, work, end=args.end, video=False, progress=False,
                            max_people=1)
    per_frame_ms = 1000 * (time.perf_counter() - t0) / sum(len(r.frames) for r in results)
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
        r = calib[cam].R
        world = Keypoints(np.einsum("ji,tpkj->tpki", r, mono.coords), mono.times, mono.names,
                          mono.source, "world")
        ev = evaluate(world, ref, keypoints=COCO17).rows[0]
        rows.append({"camera": cam, "route": "blazepose_world", **ev})
        # placed in the world from this camera alone: the lowest foot point on the floor
        xy2d = load_keypoints(work / cam / "keypoints2d.parquet")
        placed = place_on_floor(mono.coords[:, 0], xy2d.coords[:, 0], mono.names, calib[cam])
        gk = Keypoints(placed[:, None], mono.times, mono.names, mono.source, "world")
        glob = evaluate(gk, ref, keypoints=COCO17).rows[0]
        absolute = _absolute(gk, ref)
        rows.append({"camera": cam, "route": "blazepose_global", **glob,
                     "absolute_mm": absolute["mpjpe"], "root_mm": absolute["root"]})
        if args.lifter is not None:
            rows.append({"camera": cam, "route": "lifter",
                         **_lifted(args.lifter, work / cam, calib[cam], ref)})
    print(f"Monocular 3D, leave one camera out (Pose2Sim sample, {len(results[0].frames)} "
          f"frames per camera; 2D + world landmarks {per_frame_ms:.1f} ms/frame)")
    print(f"{'camera':<8}{'route':<18}{'frames':>7}{'MPJPE':>8}{'N-MPJPE':>9}{'PA-MPJPE':>10}"
          f"{'PCK150':>8}{'AUC':>7}")
    for r in rows:
        if r["route"] == "blazepose_global":
            continue
        print(f"{r['camera']:<8}{r['route']:<18}{r['frames']:>7}{r['mpjpe_mm']:>8.1f}"
              f"{r['n_mpjpe_mm']:>9.1f}{r['pa_mpjpe_mm']:>10.1f}{r['pck']:>8.3f}"
              f"{r['auc']:>7.3f}")
    mean = {}
    for route in ("blazepose_world", "lifter"):
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
    if args.json_out:
        args.json_out.write_text(json.dumps({"rows": rows, "mean": mean,
                                             "ms_per_frame": per_frame_ms}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
