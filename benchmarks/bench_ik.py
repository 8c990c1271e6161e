"""Speed and residuals of ``posestack.kinematics.ik.fit`` (skeletal IK, space-time fit).

Run from the repository root with the project venv::

    .venv/bin/python benchmarks/bench_ik.py
    .venv/bin/python benchmarks/bench_ik.py --frames 1000 --repeat 5 --cache /tmp/posestack_bench_ik

Scenarios (one person, one thread of Python; numpy/scipy may use BLAS threads):

* ``synthetic``: a ``--frames``-frame halpe26 sequence at 60 fps made by the model itself
  (smooth random angle trajectories, 5 mm noise, 3 % of the keypoints missing). Reports
  frames/s, the RMS error of the recovered angles (degrees) and of the bone lengths (cm).
* ``pose2sim_3d``: Pose2Sim's Demo_SinglePerson, 2D by posestack's default estimator in the
  halpe26 layout and triangulated by ``posestack.pipeline.run_multiview`` (cached under
  ``--cache``; the first run takes about a minute). Reports frames/s and the mean distance
  between fitted and triangulated keypoints (cm).
* ``pose2sim_3d+2d``: the same, also fitting the 2D keypoints of the four calibrated cameras
  (reprojection residuals). Reports the mean 3D residual and the median reprojection error
  (px, all detected 2D keypoints) of the fitted keypoints, next to those of the 3D-only fit
  and of the triangulated points, and how much the angles move.

* ``--opensim`` (needs the ``opensim`` package, the ``biomech`` extra): the same 3D written as a
  ``.trc`` with Pose2Sim's marker names, Pose2Sim's model scaled and run through OpenSim's
  ``InverseKinematicsTool`` with Pose2Sim's halpe26 setup files; for every coordinate, the
  correlation and the mean and RMS difference between OpenSim's angles and ours converted with
  ``ik.to_opensim`` (a check of :data:`~posestack.kinematics.ik.OPENSIM_NAMES`' signs).

Times are the best of ``--repeat`` runs after one warm-up. On a machine shared with other
busy processes, OpenBLAS's spinning threads can slow the banded solves of layouts with
more than 32 degrees of freedom (hands); ``OPENBLAS_NUM_THREADS=1`` avoids that.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from posestack.kinematics import ik
from posestack.poses import Poses


def synthetic(frames: int, fps: float = 60.0, seed: int = 0) -> tuple[ik.BodyModel,
                                                                        np.ndarray, Poses]:
    """A model-made halpe26 sequence: (true model, true DoFs (T, len(DOF_NAMES)), Poses)."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fps
    q = np.zeros((frames, len(ik.DOF_NAMES)))
    centre_amp = {"pelvis_rotation": (30, 40), "pelvis_tilt": (5, 8), "pelvis_obliquity": (0, 6),
                  "lumbar_bending": (0, 10), "lumbar_rotation": (0, 15),
                  "neck_flexion": (5, 20), "neck_bending": (0, 15), "neck_rotation": (0, 30)}
    for s in ("left", "right"):
        centre_amp.update({
            f"{s}_hip_flexion": (25, 35), f"{s}_hip_adduction": (-3, 10),
            f"{s}_hip_rotation": (0, 20), f"{s}_knee_flexion": (50, 40),
            f"{s}_ankle_dorsiflexion": (-3, 15), f"{s}_ankle_inversion": (0, 8),
            f"{s}_shoulder_flexion": (25, 40), f"{s}_shoulder_abduction": (30, 25),
            f"{s}_shoulder_rotation": (5, 30), f"{s}_elbow_flexion": (65, 45)})
    for name, (c, a) in centre_amp.items():
        wave = sum(rng.uniform(0.3, 1) * np.sin(2 * np.pi * rng.uniform(0.2, 1.5) * t
                                                 + rng.uniform(0, 2 * np.pi)) for _ in range(3))
        q[:, ik.DOF_NAMES.index(name)] = c + a * wave / 3
    q[:, ik.DOF_NAMES.index("pelvis_tx")] = 0.8 * t
    q[:, ik.DOF_NAMES.index("pelvis_tz")] = 0.9 + 0.03 * np.sin(4 * t)
    q[:, ik.DOF_NAMES.index("lumbar_flexion")] = q[:, ik.DOF_NAMES.index("pelvis_tilt")]
    model = ik.default_model("halpe26", 1.72)
    xyz = model.keypoints(q) + rng.normal(0, 0.005, (frames, 26, 3))
    xyz[rng.random((frames, 26)) < 0.03] = np.nan
    xyz[:, 17] = np.nan             # halpe26 head_top: left out, as detectors often miss it
    scores = np.isfinite(xyz[..., 0]).astype(float)
    return model, q, Poses("halpe26", xyz[:, None], scores[:, None], t, "world", tracked=True)


def pose2sim(cache: Path) -> tuple[Poses, object, list[Poses]]:
    """Triangulated halpe26 3D of Pose2Sim's demo, its calibration and the 2D per camera."""
    from posestack import assets
    from posestack.multiview.calibration import load_calibration, match_videos
    from posestack.pipeline import find_calibration, run_multiview

    videos = assets.path("pose2sim_demo_singleperson") / "videos"
    calib_path = find_calibration(videos)
    cache.mkdir(parents=True, exist_ok=True)
    npz = cache / "pose2sim_halpe26.npz"
    if not npz.exists():
        t0 = time.perf_counter()
        mv = run_multiview(videos, None, cache / "run", layout="halpe26", video=False,
                           progress=False)
        print(f"(pose2sim demo: 2D + triangulation in {time.perf_counter() - t0:.0f} s, "
              f"cached in {npz})")
        p = mv.poses3d
        arrays = {"coords": p.coords, "scores": p.scores, "times": p.times,
                  "cameras": np.array([v.name for v in mv.views])}
        for v in mv.views:
            arrays[f"xy_{v.name}"] = v.keypoints2d.coords
            arrays[f"score_{v.name}"] = v.keypoints2d.scores
        tmp = npz.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, npz)
    d = np.load(npz)
    p3 = Poses("halpe26", d["coords"], d["scores"], d["times"], "world", tracked=True)
    names = [str(n) for n in d["cameras"]]
    calib = match_videos(load_calibration(calib_path), names)
    p2 = [Poses("halpe26", d[f"xy_{n}"], d[f"score_{n}"], d["times"], f"image:{n}",
                tracked=True) for n in names]
    return p3, calib, p2


def best_time(fn, repeat: int):
    fn()
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def reprojection_px(points: np.ndarray, calib, views: list[Poses]) -> float:
    """Median pixel distance between projected 3D keypoints (T, K, 3) and the 2D ones."""
    errs = []
    for cam, v in zip(calib.cameras, views, strict=True):
        uv = cam.project(points)
        e = np.linalg.norm(uv - v.coords[:, 0], axis=-1)
        errs.append(e[np.isfinite(e) & (v.scores[:, 0] > 0)])
    return float(np.median(np.concatenate(errs)))


def _run_opensim(work: Path, setup: Path, p3: Poses, t0: float, t1: float) -> str:
    """Scale Pose2Sim's model and run OpenSim IK in ``work``; the ``.mot`` text."""
    import re

    import opensim

    from posestack.io.trc import write_trc

    write_trc(work / "trial.trc", p3, names="pose2sim")
    # OpenSim reads the paths in a setup file relative to the setup file's folder
    scale = (setup / "Scaling_Setup_Pose2Sim_Halpe26.xml").read_text()
    scale = scale.replace("<model_file>Unassigned</model_file>",
                          f"<model_file>{setup / 'Model_Pose2Sim_simple.osim'}</model_file>")
    scale = scale.replace("<marker_set_file>Unassigned</marker_set_file>",
                          f"<marker_set_file>{setup / 'Markers_Halpe26.xml'}"
                          "</marker_set_file>")
    scale = re.sub(r"<marker_file>[^<]*</marker_file>", "<marker_file>trial.trc</marker_file>",
                   scale)
    scale = re.sub(r"<time_range>[^<]*</time_range>", f"<time_range>{t0} {t1}</time_range>",
                   scale)
    scale = scale.replace("<output_model_file>Unassigned</output_model_file>",
                          "<output_model_file>scaled.osim</output_model_file>", 1)
    (work / "scale.xml").write_text(scale)
    opensim.ScaleTool(str(work / "scale.xml")).run()
    setup_ik = (setup / "IK_Setup_Pose2Sim_Halpe26.xml").read_text()
    for tag, value in (("model_file", "scaled.osim"), ("marker_file", "trial.trc"),
                       ("time_range", f"{t0} {t1}"), ("output_motion_file", "ik.mot")):
        setup_ik = re.sub(rf"<{tag}>[^<]*</{tag}>", f"<{tag}>{value}</{tag}>", setup_ik)
    (work / "ik.xml").write_text(setup_ik)
    opensim.InverseKinematicsTool(str(work / "ik.xml")).run()
    return (work / "ik.mot").read_text()


def opensim_comparison(p3: Poses, result: ik.IKResult) -> None:
    """OpenSim IK (Pose2Sim's model, scaled, and halpe26 setup) against ``to_opensim(result)``."""
    import tempfile

    from posestack import assets

    setup = assets.path("opensim_setup")
    t0, t1 = float(p3.times[0]), float(p3.times[-1])
    cwd = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.chdir(work)      # OpenSim writes opensim.log and resolves some paths in the cwd
        try:
            mot = _run_opensim(work, setup, p3, t0, t1)
        finally:
            os.chdir(cwd)
    lines = mot.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader")
    cols = [c.strip() for c in lines[start + 1].split("\t")]
    data = np.array([[float(v) for v in line.split("\t")] for line in lines[start + 2:]
                     if line.strip()])
    theirs = {c: data[:, i] for i, c in enumerate(cols)}
    ours = ik.to_opensim(result)
    print(f"\n{'OpenSim coordinate':22s} {'r':>5s} {'mean diff':>9s} {'RMS diff':>8s}  "
          "(ours - OpenSim, degrees; OpenSim: Pose2Sim model scaled, its halpe26 IK setup)")
    for name, a in ours.items():
        if name not in theirs or name in ("pelvis_tx", "pelvis_ty", "pelvis_tz"):
            continue
        b = theirs[name][: len(a)]
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 3 or np.std(b[ok]) < 1e-6 or np.std(a[ok]) < 1e-6:
            print(f"{name:22s}     -  (constant in one of them: OpenSim mean {b[ok].mean():.1f}, "
                  f"ours {a[ok].mean():.1f})")
            continue
        r = np.corrcoef(a[ok], b[ok])[0, 1]
        d = a[ok] - b[ok]
        print(f"{name:22s} {r:5.2f} {d.mean():9.1f} {np.sqrt(np.mean(d**2)):8.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=1000, help="synthetic sequence length")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs (best is reported)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/posestack_bench_ik"),
                    help="where the Pose2Sim demo's triangulation is cached")
    ap.add_argument("--no-pose2sim", action="store_true", help="only the synthetic scenario")
    ap.add_argument("--opensim", action="store_true",
                    help="also compare with OpenSim's IK on the Pose2Sim demo (needs opensim)")
    args = ap.parse_args()

    print(f"{'scenario':16s} {'frames':>6s} {'seconds':>8s} {'frames/s':>9s}  accuracy")
    model, q, poses = synthetic(args.frames)
    sec, res = best_time(lambda: ik.fit(poses), args.repeat)
    names = res.angles.names
    truth = q[:, [ik.DOF_NAMES.index(n) for n in names]]
    err = res.angles.degrees[:, 0] - truth
    rms = np.sqrt(np.nanmean(err**2, axis=0))
    worst = int(np.argmax(rms))
    est = res.models[0]
    len_err = [abs(est.lengths[k] - v) for k, v in model.lengths.items()]
    print(f"{'synthetic':16s} {args.frames:6d} {sec:8.3f} {args.frames / sec:9.0f}  "
          f"angle RMS {np.sqrt(np.mean(rms**2)):.2f} deg (worst {names[worst]} "
          f"{rms[worst]:.2f}), bone lengths max error {100 * max(len_err):.2f} cm, "
          f"mean residual {100 * np.nanmean(res.residuals):.2f} cm, "
          f"{res.iterations[0]} iterations")
    if args.no_pose2sim:
        return
    p3, calib, p2 = pose2sim(args.cache)
    t = p3.n_frames
    sec, res = best_time(lambda: ik.fit(p3), args.repeat)
    print(f"{'pose2sim_3d':16s} {t:6d} {sec:8.3f} {t / sec:9.0f}  "
          f"mean residual {100 * np.nanmean(res.residuals):.2f} cm "
          f"(median {100 * np.nanmedian(res.residuals):.2f}), "
          f"{res.iterations[0]} iterations")
    tri_px = reprojection_px(p3.coords[:, 0], calib, p2)
    fit_px = reprojection_px(res.fitted.coords[:, 0], calib, p2)
    sec, res2 = best_time(lambda: ik.fit(p3, cameras=calib, keypoints2d=p2), args.repeat)
    fit2_px = reprojection_px(res2.fitted.coords[:, 0], calib, p2)
    print(f"{'pose2sim_3d+2d':16s} {t:6d} {sec:8.3f} {t / sec:9.0f}  "
          f"mean residual {100 * np.nanmean(res2.residuals):.2f} cm, reprojection "
          f"{fit2_px:.1f} px (3D-only fit {fit_px:.1f} px, triangulated points {tri_px:.1f} px), "
          f"{res2.iterations[0]} iterations")
    diff = np.abs(res2.angles.degrees - res.angles.degrees)[:, 0]
    per_angle = np.nanmean(diff, axis=0)
    k = int(np.nanargmax(per_angle))
    print(f"{'':16s} angles 3D+2D vs 3D-only: mean |diff| {np.nanmean(diff):.2f} deg "
          f"(largest: {res.angles.names[k]} {per_angle[k]:.1f} deg on average)")
    if args.opensim:
        opensim_comparison(p3, res)


if __name__ == "__main__":
    main()
