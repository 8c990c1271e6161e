"""Parametric body fitting and animation renders on the Pose2Sim sample, in one run.

Usage (from the repository root; part of ``make bench``)::

    .venv/bin/python benchmarks/bench_body.py [--work DIR] [--iterations 400]

1. 3D: ``posestack.pipeline.run_multiview`` on Pose2Sim's Demo_SinglePerson (4 cameras,
   100 frames, Halpe-26, Butterworth 6 Hz), cached in ``--work`` (shared with
   ``bench_kinematics.py``); then :func:`posestack.body.fit_body` on those 3D keypoints:
   seconds per frame, keypoint residual RMS, uncertainty.
2. The reference measured in the same run: one Adam iteration with Anny's whole mesh in the
   loop (skinning 13,718 vertices, as the first version did) against the keypoint-only
   path the fitter uses (65 skinned points): the ratio.
3. 2D: ``posestack.pipeline.run`` on cam01 alone (BlazePose, 33 keypoints), then
   ``fit_body`` on those 2D keypoints with cam01's calibration: seconds per frame,
   reprojection RMS, and the distance of its 3D keypoints to the triangulated ones (raw,
   and after a per-frame similarity alignment).
4. Renders at 512x512 of the fitted bodies (a square camera looking at the person): ms per
   map (depth, normal, semantic, overlay, skeleton), median over the frames.

Goal (issue 6): a 100-frame sequence fitted in under a minute on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def pa_aligned(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a (N, 3)`` after the similarity transform that best maps it onto ``b``."""
    ma, mb = a.mean(0), b.mean(0)
    U, S, Vt = np.linalg.svd((a - ma).T @ (b - mb))
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    R = (U @ D @ Vt).T
    return (S * np.diag(D)).sum() / ((a - ma) ** 2).sum() * (a - ma) @ R.T + mb


def iteration_ms(body, T: int, mesh: bool, repeat: int = 5) -> float:
    torch = body.torch
    g = torch.Generator().manual_seed(0)
    pose = (0.2 * torch.randn((T, len(body.pose_bones), 3), generator=g)).requires_grad_(True)
    orient = torch.zeros((T, 3), requires_grad=True)
    transl = torch.zeros((T, 3), requires_grad=True)
    shape = torch.full((6,), 0.5, requires_grad=True)
    times = []
    for _ in range(repeat + 1):
        t = time.perf_counter()
        out = body.forward_torch(shape, pose, orient, transl, mesh=mesh)
        kp = body.regressor(out) if mesh else out["keypoints"]
        kp.square().sum().backward()
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times[1:]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench_kin")
    ap.add_argument("--iterations", type=int, default=400)
    ap.add_argument("--render-frames", type=int, default=10)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()

    import torch

    from posestack import assets
    from posestack.body import AnnyBody, fit_body
    from posestack.body.parts import anny_part_labels
    from posestack.multiview.calibration import Camera, load_calibration, match_videos
    from posestack.pipeline import read_keypoints, run, run_multiview
    from posestack.render import mesh as M
    from posestack.render.animation import skeleton_image

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    sample = assets.path("pose2sim_demo_singleperson")
    bundle = args.work / "multiview"
    if not (bundle / "keypoints3d.parquet").is_file():
        t = time.perf_counter()
        run_multiview(sample / "videos", None, args.work, layout="halpe26", video=False,
                      progress=False, filter="butterworth", max_gap=20)
        print(f"2D + 3D: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    poses3d, _ = read_keypoints(bundle / "keypoints3d.parquet")
    body = AnnyBody()
    report: dict = {"machine": f"{platform.processor() or platform.machine()}, "
                               f"{os.cpu_count()} CPUs, torch threads "
                               f"{torch.get_num_threads()}"}
    print(report["machine"])

    # 1. 3D fit
    fit3 = fit_body(poses3d, body=body, iterations=args.iterations)
    T = len(fit3.frames)
    rms3 = float(np.sqrt(np.nanmean(fit3.residuals**2)))
    report["fit3d"] = {"frames": T, "seconds": fit3.seconds, "ms_per_frame":
                       1e3 * fit3.seconds / T, "residual_rms_mm": 1e3 * rms3,
                       "uncertainty_median_mm": 1e3 * float(np.nanmedian(fit3.uncertainty))}
    print(f"3D fit  : {T} frames in {fit3.seconds:.1f} s ({1e3 * fit3.seconds / T:.0f} ms/frame;"
          f" goal < 60 s per 100 frames: {'met' if fit3.seconds * 100 / T < 60 else 'NOT met'})"
          f", keypoint residual RMS {1e3 * rms3:.1f} mm, uncertainty median "
          f"{report['fit3d']['uncertainty_median_mm']:.1f} mm")

    # 2. reference: the mesh in the loop
    full, fast = iteration_ms(body, T, True), iteration_ms(body, T, False)
    report["iteration_ms"] = {"mesh_in_loop": full, "keypoints_only": fast, "ratio": full / fast}
    print(f"one Adam iteration at T={T}: mesh in the loop {full:.0f} ms, keypoints only "
          f"{fast:.0f} ms: {full / fast:.1f}x")

    # 3. 2D fit on cam01's own detections, with its calibration
    single = args.work / "cam01_2d"
    if not (single / "cam01" / "keypoints2d.parquet").is_file():
        run(sample / "videos" / "cam01.mp4", single, video=False, progress=False)
    poses2d, index = read_keypoints(single / "cam01" / "keypoints2d.parquet")
    calib = match_videos(load_calibration(sample / "calibration" / "Calib.qca.txt"),
                         ["cam01.mp4", "cam02.mp4", "cam03.mp4", "cam04.mp4"])
    cam = calib.cameras[0]
    fit2 = fit_body(poses2d, camera=cam, body=body, iterations=args.iterations)
    T2 = len(fit2.frames)
    rms2 = float(np.sqrt(np.nanmean(fit2.residuals**2)))
    names = [n for n in poses3d.skeleton.keypoints if n in poses2d.skeleton.keypoints
             and n in body.keypoint_names]
    a = [poses2d.skeleton.index(n) for n in names]
    b = [poses3d.skeleton.index(n) for n in names]
    raw, pa = [], []
    for i, f in enumerate(index[fit2.frames]):
        if f >= poses3d.n_frames:
            continue
        x, y = fit2.keypoints[i, a], poses3d.coords[f, 0, b].astype(float)
        ok = np.isfinite(x).all(1) & np.isfinite(y).all(1)
        if ok.sum() >= 6:
            raw.append(np.linalg.norm(x[ok] - y[ok], axis=1).mean())
            pa.append(np.linalg.norm(pa_aligned(x[ok], y[ok]) - y[ok], axis=1).mean())
    report["fit2d"] = {"frames": T2, "seconds": fit2.seconds, "ms_per_frame":
                       1e3 * fit2.seconds / T2, "reprojection_rms_px": rms2,
                       "mpjpe_vs_triangulated_mm": 1e3 * float(np.mean(raw)),
                       "pa_mpjpe_vs_triangulated_mm": 1e3 * float(np.mean(pa)),
                       "pose_uncertainty_median_mm":
                           1e3 * float(np.nanmedian(fit2.pose_uncertainty))}
    print(f"2D fit  : {T2} frames in {fit2.seconds:.1f} s ({1e3 * fit2.seconds / T2:.0f} "
          f"ms/frame), reprojection RMS {rms2:.1f} px; its 3D keypoints vs the triangulated "
          f"ones: {1e3 * np.mean(raw):.0f} mm, {1e3 * np.mean(pa):.0f} mm after alignment; "
          f"pose uncertainty median "
          f"{report['fit2d']['pose_uncertainty_median_mm']:.0f} mm")

    # 4. renders at 512x512
    labels = anny_part_labels(body)
    frame = np.full((512, 512, 3), 90, np.uint8)
    per: dict[str, list[float]] = {m: [] for m in ("depth", "normal", "semantic", "overlay",
                                                   "skeleton")}
    kp_names = poses3d.skeleton.keypoints
    for i in np.linspace(0, T - 1, args.render_frames).astype(int):
        v = fit3.vertices[i]
        lo, hi = v.min(0), v.max(0)
        mid = (lo + hi) / 2
        centre = mid + np.array([0.0, -3.0, 0.0])
        z = (mid - centre) / 3.0
        x = np.cross(z, [0.0, 0.0, 1.0])
        x /= np.linalg.norm(x)
        R = np.stack([x, np.cross(z, x), z])
        f = 0.85 * 512 * 3.0 / (hi[2] - lo[2])
        sq = Camera("square", [[f, 0, 255.5], [0, f, 255.5], [0, 0, 1]], np.zeros(5), R,
                    -R @ centre, (512, 512))
        for m in per:
            t = time.perf_counter()
            if m == "skeleton":
                skeleton_image(fit3.keypoints[i], kp_names, sq)
            else:
                M.render_maps(v, body.faces, sq, (m,), vertex_labels=labels, frame=frame)
            per[m].append(1e3 * (time.perf_counter() - t))
    report["render_512_ms"] = {m: float(np.median(x)) for m, x in per.items()}
    print("render 512x512 (ms per frame, median): " + ", ".join(
        f"{m} {x:.1f}" for m, x in report["render_512_ms"].items()))
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
