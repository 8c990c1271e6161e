"""posestack's multi-view triangulation against Pose2Sim's, on the same 2D, in one run.

Usage (from the repository root; ``make bench`` does the same)::

    PY=$(bash benchmarks/pose2sim_env.sh | tail -n 1)
    .venv/bin/python benchmarks/bench_triangulation.py --pose2sim-python "$PY"

Steps:

1. 2D: ``posestack.run`` (BlazePose, Halpe-26 layout, no filtering) on the four videos of
   the Pose2Sim Demo_SinglePerson sample; the OpenPose json it writes per camera is the
   input of both systems (``--reuse DIR`` reuses an earlier work folder).
2. Pose2Sim 0.10.49 (throwaway venv) triangulates it with its Demo parameters (likelihood
   0.3, 15 px, ≥ 2 cameras, no gap filling): ``benchmarks/pose2sim_triangulate.py``, which
   times the ``Pose2Sim.triangulation`` call alone.
3. posestack reads the same json folders and runs
   :func:`posestack.multiview.reconstruct.reconstruct` with the same thresholds (median of
   ``--repeat`` runs; association, linking and triangulation included).
4. Both are scored the same way: reprojection error (px, raw 2D, projection without
   distortion, as Pose2Sim measures) over (a) the views each system kept and (b) every view
   with likelihood ≥ 0.3; coefficient of variation of limb-segment lengths over frames.

Goals (issue 4): reprojection error no worse than Pose2Sim's, bone-length variation lower,
triangulation ≥ 20× faster.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SEGMENTS = [("left_hip", "left_knee"), ("right_hip", "right_knee"), ("left_knee", "left_ankle"),
            ("right_knee", "right_ankle"), ("left_shoulder", "left_elbow"),
            ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"),
            ("right_elbow", "right_wrist"), ("left_shoulder", "right_shoulder"),
            ("left_hip", "right_hip")]
CAMS = ("cam01", "cam02", "cam03", "cam04")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_2d(work: Path) -> Path:
    import posestack
    from posestack import assets

    videos = assets.path("pose2sim_demo_singleperson") / "videos"
    out = work / "2d"
    t = time.perf_counter()
    posestack.run(videos, out, layout="halpe26", video=False, progress=False)
    log(f"2D with posestack: {time.perf_counter() - t:.1f} s")
    return out


def make_project(work: Path, out2d: Path) -> Path:
    from posestack import assets

    proj = work / "p2s"
    shutil.rmtree(proj, ignore_errors=True)
    (proj / "calibration").mkdir(parents=True)
    (proj / "pose").mkdir()
    src = assets.path("pose2sim_demo_singleperson") / "calibration" / "Calib.qca.txt"
    shutil.copy(src, proj / "calibration" / "Calib.qca.txt")
    for cam in CAMS:
        shutil.copytree(out2d / cam / "openpose", proj / "pose" / f"{cam}_json")
    return proj


def run_pose2sim(python: str, proj: Path) -> dict:
    script = Path(__file__).with_name("pose2sim_triangulate.py")
    res = subprocess.run([python, str(script), "--project", str(proj), "--pose-model",
                          "HALPE_26", "--fps", "60"], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"Pose2Sim failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def reprojection(points: np.ndarray, raw: np.ndarray, P: np.ndarray, used: np.ndarray | None
                 ) -> np.ndarray:
    """Per (frame, keypoint) mean error over views (``used`` or every view with score ≥ 0.3).

    points (T, K, 3) world; raw (C, T, K, 3) x, y, likelihood; P (C, 3, 4).
    """
    Xh = np.concatenate([points, np.ones((*points.shape[:-1], 1))], -1)
    proj = np.einsum("cij,tkj->ctki", P, Xh)
    proj = proj[..., :2] / proj[..., 2:3]
    d = np.linalg.norm(proj - raw[..., :2], axis=-1)                      # (C, T, K)
    ok = (raw[..., 2] >= 0.3) & np.isfinite(d) if used is None else used & np.isfinite(d)
    n = ok.sum(0)
    e = np.where(ok, d, 0).sum(0) / np.maximum(n, 1)
    return np.where((n > 0) & np.isfinite(points).all(-1), e, np.nan)


def pose2sim_used(points: np.ndarray, raw: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Views Pose2Sim kept: it keeps views until the mean error ≤ 15 px; we take those
    within 15 px of its point (its own criterion), which is what its log reports."""
    Xh = np.concatenate([points, np.ones((*points.shape[:-1], 1))], -1)
    proj = np.einsum("cij,tkj->ctki", P, Xh)
    proj = proj[..., :2] / proj[..., 2:3]
    d = np.linalg.norm(proj - raw[..., :2], axis=-1)
    return (raw[..., 2] >= 0.3) & (d <= 15.0)


def bone_cv(points: np.ndarray, names: list[str]) -> dict[str, float]:
    out = {}
    for a, b in SEGMENTS:
        d = np.linalg.norm(points[:, names.index(a)] - points[:, names.index(b)], axis=-1)
        d = d[np.isfinite(d)]
        if len(d) > 2:
            out[f"{a}-{b}"] = float(d.std() / d.mean())
    return out


def stats(e: np.ndarray) -> str:
    e = e[np.isfinite(e)]
    return (f"mean {e.mean():5.2f} median {np.median(e):5.2f} p95 {np.percentile(e, 95):6.2f}"
            f" (n={e.size})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pose2sim-python", required=True, help="python of the Pose2Sim venv")
    ap.add_argument("--reuse", type=Path, help="work folder of an earlier run (skips 2D)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()

    from posestack.io.openpose_reader import read_openpose_folder
    from posestack.multiview.calibration import load_calibration, match_videos
    from posestack.multiview.reconstruct import reconstruct
    from posestack.skeletons import get_skeleton

    work = args.reuse or Path(tempfile.mkdtemp(prefix="bench_tri_"))
    out2d = work / "2d" if (work / "2d").is_dir() else make_2d(work)
    proj = make_project(work, out2d)
    p2s = run_pose2sim(args.pose2sim_python, proj)
    npz = np.load(p2s["npz"])
    raw = npz["points2d"]                      # (C, T, 26, 3), as Pose2Sim read it
    P = npz["P"]
    p2s_points = npz["points_layout"]          # (T, 26, 3)

    views, frames = [], []
    for cam in CAMS:
        v, f = read_openpose_folder(proj / "pose" / f"{cam}_json", "halpe26", fps=60.0,
                                    camera=cam)
        views.append(v)
        frames.append(f)
    calib = match_videos(load_calibration(proj / "calibration" / "Calib.qca.txt"), list(CAMS))
    times = []
    for _ in range(max(1, args.repeat)):
        t = time.perf_counter()
        rec = reconstruct(views, calib, frames=frames, min_views=2, max_error=15.0,
                          min_score=0.3)
        times.append(time.perf_counter() - t)
    ps_seconds = float(np.median(times))
    ps_points = rec.poses.coords[:, 0].astype(np.float64)            # (T, 26, 3)
    ps_used = np.zeros(raw.shape[:3], bool)
    for ci in range(len(CAMS)):  # the views posestack kept, by frame and keypoint
        ps_used[ci] = rec.n_views[:, 0] > 0
    # posestack's own per-point error is over the views it used (undistorted pixels)
    names = list(get_skeleton("halpe26").keypoints)
    common = np.isfinite(ps_points).all(-1) & np.isfinite(p2s_points).all(-1)

    e_ps_all = reprojection(ps_points, raw, P, None)
    e_p2s_all = reprojection(p2s_points, raw, P, None)
    e_p2s_kept = reprojection(p2s_points, raw, P, pose2sim_used(p2s_points, raw, P))
    cv_ps, cv_p2s = bone_cv(ps_points, names), bone_cv(p2s_points, names)
    speed = p2s["seconds"] / ps_seconds

    print("Triangulation of the same 2D (Pose2Sim Demo_SinglePerson, 4 cameras, "
          f"{len(rec.frames)} frames, Halpe-26 from posestack's BlazePose)")
    print(f"{'':34s}{'posestack':>48s}{'Pose2Sim 0.10.49':>50s}")
    print(f"{'time (triangulation call), s':34s}{ps_seconds:48.4f}{p2s['seconds']:50.4f}")
    print(f"{'points triangulated':34s}{int(np.isfinite(ps_points).all(-1).sum()):48d}"
          f"{int(np.isfinite(p2s_points).all(-1).sum()):50d}")
    kept = stats(rec.error[:, 0][rec.n_views[:, 0] > 0])
    print(f"{'reproj. error, views kept, px':34s}{kept:>48s}{stats(e_p2s_kept):>50s}")
    own = p2s.get("log_reprojection_error_px")
    print(f"{'':34s}(Pose2Sim column: views within 15 px of its point; its own log: "
          f"{own} px mean over the views it kept)")
    print(f"{'reproj. error, all views ≥0.3, px':34s}{stats(e_ps_all):>48s}"
          f"{stats(e_p2s_all):>50s}")
    print(f"{'  same, points both triangulated':34s}{stats(e_ps_all[common]):>48s}"
          f"{stats(e_p2s_all[common]):>50s}")
    print(f"{'mean views used':34s}{float(rec.n_views[:, 0][rec.n_views[:, 0] > 0].mean()):48.2f}"
          f"{'':>50s}")
    print("bone-length coefficient of variation (std/mean over frames):")
    for seg in cv_ps:
        print(f"  {seg:32s}{cv_ps[seg]:48.4f}{cv_p2s.get(seg, float('nan')):50.4f}")
    med_ps, med_p2s = np.median(list(cv_ps.values())), np.median(list(cv_p2s.values()))
    print(f"  {'median':32s}{med_ps:48.4f}{med_p2s:50.4f}")
    print(f"speed: posestack {speed:.1f}x faster; Pose2Sim's own log: "
          f"{p2s.get('log_reprojection_error_px')} px mean")
    result = {"posestack_seconds": ps_seconds, "pose2sim_seconds": p2s["seconds"],
              "speedup": speed,
              "reprojection_all_views_median": {"posestack": float(np.nanmedian(e_ps_all)),
                                                "pose2sim": float(np.nanmedian(e_p2s_all))},
              "reprojection_kept_median": {
                  "posestack": float(np.median(rec.error[:, 0][rec.n_views[:, 0] > 0])),
                  "pose2sim": float(np.nanmedian(e_p2s_kept))},
              "bone_cv_median": {"posestack": float(med_ps), "pose2sim": float(med_p2s)},
              "bone_cv": {"posestack": cv_ps, "pose2sim": cv_p2s}, "work": str(work)}
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
