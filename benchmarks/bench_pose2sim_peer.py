"""posestack end to end against Pose2Sim's own published results for its demo trial.

Usage (from the repository root; ``make bench`` runs it; needs the ``biomech`` extra)::

    .venv/bin/python benchmarks/bench_pose2sim_peer.py [--out DIR] [--quick] [--force]

Reference (``benchmarks/data/pose2sim_demo/``, BSD-3-Clause, see ``SOURCE.md`` there):
Pose2Sim's OpenPose BODY_25B 2D json of the four cameras, the ``.trc`` it triangulated
(raw and Butterworth-filtered) and the OpenSim ``.mot`` it got from the filtered one, all
from one commit of its repository, for the trial of posestack's sample
``pose2sim_demo_singleperson`` (same four videos, same Qualisys calibration, 100 frames at
60 fps). A second Pose2Sim ``.mot`` of the same 2D, four months later, gives the noise
floor: how far two of Pose2Sim's own results are apart.

Stages (each one runs the posestack CLI in a subprocess; its output is cached in ``--out``
and reused unless ``--force``):

A. their 2D -> our 3D -> OpenSim: ``posestack triangulate pose/cam0?_json --layout body25b
   --fps 60 --filter butterworth --max-gap 20 --ik --opensim`` (and once with
   ``--filter none``, to compare the triangulation alone with Pose2Sim's raw ``.trc``).
B. end to end: ``posestack run <videos> --calibration Calib.qca.txt --layout halpe26
   --filter butterworth --max-gap 20 --ik --opensim --height 1.75 --mass 70`` (the
   README's command, ``--no-video``).

Comparisons, printed as one table per stage:

* 2D (stage B): per camera, per keypoint common to Halpe-26 and BODY_25B, the median pixel
  distance between our keypoint and theirs (frames where neither is mirrored). The subject
  is picked in every frame and camera, on both sides, as the person nearest to Pose2Sim's 3D
  projected into that camera (as labelled or mirrored). Left/right flips: frames where our
  left leg (knee, ankle, heel, big toe) is nearer to their right leg than to their left
  ("legs"), or that and the same for shoulders, elbows, wrists and hips ("body": a person
  seen back to front); and, as an arbiter, each side's flips against the projection of
  Pose2Sim's 3D (a 4-camera consensus). The lag (sub-frame) that best aligns our 2D with
  theirs.
* 3D: per marker, RMSE (mm) between our 3D and Pose2Sim's ``.trc`` (names matched through
  ``POSE2SIM_NAMES``; Pose2Sim's "Neck"/"Head" are not the same points in BODY_25B and
  Halpe-26), for the person OpenSim was run on and, per frame, for the nearest of ours.
* OpenSim angles: per coordinate and side, RMSE, bias (ours - theirs) and Pearson r
  (``posestack.evaluate.agreement``) of our OpenSim ``.mot`` and of our skeletal IK
  (``angles_ik.mot``) against Pose2Sim's ``.mot``; and of our skeletal IK against our
  OpenSim IK (same keypoints: the elbow bias goal).

Frames are paired by frame number: Pose2Sim's ``.trc``/``.mot`` row i (time (i+1)/60 s) is
json frame i; posestack's time is frame/60 s.

Goals (issue 13, item 4): end to end, hip flexion, knee and ankle within 8 deg RMSE and
r >= 0.8 on both sides; the skeletal IK's elbow bias against OpenSim IK (7 deg) reduced.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "pose2sim_demo"
CAMS = ("cam01", "cam02", "cam03", "cam04")
FPS = 60.0
THEIR_TRC_RAW = "pose2sim_0-100.trc"
THEIR_TRC = "pose2sim_filt_butterworth_0-100.trc"
THEIR_MOT = "pose2sim_filt_butterworth_0-100_body25b.mot"
THEIR_MOT_2 = "pose2sim_2024-04_filt_butterworth_0-100_body25b.mot"
LEG = ("knee", "ankle", "heel", "big_toe")
UPPER = ("shoulder", "elbow", "wrist", "hip")
GOAL_JOINTS = ("hip_flexion", "knee_angle", "ankle_angle")
GOAL_RMSE, GOAL_R = 8.0, 0.8
ANGLE_ROWS = ("pelvis_tilt", "pelvis_list", "pelvis_rotation", "L5_S1_Flex_Ext",
              "hip_flexion", "hip_adduction", "hip_rotation", "knee_angle", "ankle_angle",
              "subtalar_angle", "arm_flex", "arm_add", "arm_rot", "elbow_flex", "pro_sup")
SUBJECT_PX = 150.0  # a person farther than this (median px) from the projection is not him


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:6.1f} s] {msg}", file=sys.stderr, flush=True)


T0 = time.perf_counter()


# -- running posestack ------------------------------------------------------------------------


def posestack(args: list[str], out: Path, force: bool, what: str) -> float | None:
    """Run ``python -m posestack ARGS`` unless ``out/.done`` says it already ran with ARGS.

    Returns the wall time, or None when the cached result was reused.
    """
    stamp = out / ".done"
    if not force and stamp.is_file() and json.loads(stamp.read_text()) == args:
        log(f"{what}: cached in {out}")
        return None
    shutil.rmtree(out, ignore_errors=True)
    log(f"{what}: posestack {' '.join(args)}")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "posestack", *args], capture_output=True,
                          text=True, check=False, env=os.environ.copy())
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
        raise SystemExit(f"{what} failed (exit {proc.returncode})")
    out.mkdir(parents=True, exist_ok=True)
    (out / "posestack.log").write_text(proc.stdout + proc.stderr)
    stamp.write_text(json.dumps(args))
    log(f"{what}: {seconds:.1f} s")
    return seconds


def unpack_2d(dest: Path, n_frames: int) -> dict[str, dict[int, list[np.ndarray]]]:
    """Write Pose2Sim's json files (frames < n_frames) into dest/<cam>_json; return
    {cam: {frame: [(25, 3) arrays, one per person]}}."""
    files = json.loads(gzip.decompress((DATA / "pose2d_body25b.json.gz").read_bytes()))
    people: dict[str, dict[int, list[np.ndarray]]] = {c: {} for c in CAMS}
    for key, text in sorted(files.items()):
        folder, name = key.split("/")
        cam, frame = folder[: -len("_json")], int(name.split(".")[-2])
        if frame >= n_frames:
            continue
        path = dest / folder / name
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        doc = json.loads(text)
        people[cam][frame] = [np.asarray(p["pose_keypoints_2d"], float).reshape(-1, 3)
                              for p in doc.get("people", [])]
    return people


# -- reading results --------------------------------------------------------------------------


def read_their_trc(name: str) -> tuple[list[str], np.ndarray]:
    """Marker names and (frames, M, 3) world (Z up) metres; row i = json frame i."""
    from posestack.io.trc import read_trc

    d = read_trc(DATA / name, z_up=True, metres=True)
    frames = np.rint(d.times * FPS).astype(int) - 1
    if not np.array_equal(frames, np.arange(len(frames))):
        raise SystemExit(f"{name}: times are not (i+1)/{FPS:g} s")
    return list(d.names), d.xyz


def read_keypoints3d(path: Path, n_frames: int) -> tuple[list[str], np.ndarray, str]:
    """Our keypoints3d.parquet as Pose2Sim marker names and (frames, P, M, 3) metres."""
    import pyarrow.parquet as pq

    from posestack.io.trc import POSE2SIM_NAMES

    t = pq.read_table(path)
    skel = t.schema.metadata[b"posestack.skeleton"].decode()
    table = POSE2SIM_NAMES[skel]
    col = {k: t.column(k).to_numpy(zero_copy_only=False) for k in
           ("frame", "person", "x", "y", "z")}
    kp = np.asarray(t.column("keypoint").to_pylist(), dtype=object)
    names = list(table.values())
    out = np.full((n_frames, int(col["person"].max()) + 1, len(names), 3), np.nan)
    idx = {k: i for i, k in enumerate(table)}
    m = np.array([k in idx for k in kp]) & (col["frame"] < n_frames)
    ki = np.array([idx[k] for k in kp[m]])
    out[col["frame"][m], col["person"][m], ki] = np.stack([col[a][m] for a in "xyz"], -1)
    return names, out, skel


def read_mot_by_frame(path: Path, their_convention: bool) -> dict[str, dict[int, float]]:
    """{coordinate: {frame: value}}; Pose2Sim's rows are at (frame + 1) / fps."""
    from posestack.biomech.mot import read_mot

    m = read_mot(path)
    frames = np.rint(np.asarray(m.times) * FPS).astype(int) - (1 if their_convention else 0)
    vals = np.asarray(m.values, float)
    return {c: dict(zip(frames.tolist(), vals[:, j].tolist(), strict=True))
            for j, c in enumerate(m.names)}


def read_our_2d(bundle: Path, n_frames: int) -> tuple[list[str], np.ndarray]:
    """keypoints2d.parquet -> names, (frames, P, K, 3) x, y, score (NaN: missing)."""
    import pyarrow.parquet as pq

    t = pq.read_table(bundle / "keypoints2d.parquet")
    col = {k: t.column(k).to_numpy(zero_copy_only=False) for k in
           ("frame", "person", "x", "y", "score")}
    kp = np.asarray(t.column("keypoint").to_pylist(), dtype=object)
    names = list(dict.fromkeys(kp.tolist()))
    idx = {k: i for i, k in enumerate(names)}
    out = np.full((n_frames, int(col["person"].max()) + 1, len(names), 3), np.nan)
    m = (col["frame"] < n_frames) & (col["person"] >= 0)
    ki = np.array([idx[k] for k in kp[m]])
    out[col["frame"][m], col["person"][m], ki] = np.stack(
        [col["x"][m], col["y"][m], col["score"][m]], -1)
    out[out[..., 2] <= 0] = np.nan
    return names, out


# -- 2D ---------------------------------------------------------------------------------------


def mirror(name: str) -> str:
    return name.replace("left_", "@").replace("right_", "left_").replace("@", "right_")


def pick_subject(cands: np.ndarray, ref: np.ndarray, flip: list[int]) -> np.ndarray:
    """cands (P, K, 2), ref (K, 2): the candidate nearest to ref (median px, as labelled or
    mirrored left/right, so that a person detected back to front is still found), or NaNs."""
    best, best_d = None, SUBJECT_PX
    for p in cands:
        for q in (p, p[flip]):
            d = np.linalg.norm(q - ref, axis=-1)
            d = d[np.isfinite(d)]
            if len(d) >= 4 and np.median(d) < best_d:
                best, best_d = p, float(np.median(d))
    return best if best is not None else np.full(ref.shape, np.nan)


def group_swapped(a: dict[str, np.ndarray], b: dict[str, np.ndarray],
                  joints: tuple[str, ...]) -> bool | None:
    """Are a's left points of these joints nearer to b's right ones? None: too few points."""
    same = swap = 0.0
    n = 0
    for j in joints:
        pts = [a.get(f"left_{j}"), a.get(f"right_{j}"), b.get(f"left_{j}"), b.get(f"right_{j}")]
        if any(p is None or not np.isfinite(p).all() for p in pts):
            continue
        al, ar, bl, br = pts
        same += np.linalg.norm(al - bl) + np.linalg.norm(ar - br)
        swap += np.linalg.norm(al - br) + np.linalg.norm(ar - bl)
        n += 1
    return None if n < 2 else bool(swap < same)


def flip_kind(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> str | None:
    """'body' (all mirrored: a person seen back to front), 'legs' (legs only), 'arms' (upper
    body only), 'none'; None where there are too few points to tell."""
    legs, upper = group_swapped(a, b, LEG), group_swapped(a, b, UPPER)
    if legs is None and upper is None:
        return None
    if legs and upper:
        return "body"
    if legs:
        return "legs"
    return "arms" if upper else "none"


def lag_frames(a: np.ndarray, b: np.ndarray) -> tuple[float, dict[int, float]]:
    """Sub-frame lag L minimising the mean distance of a[f + L] to b[f] (both (T, K, 2))."""
    n = len(a)
    cost = {}
    for lag in range(-3, 4):
        d = np.linalg.norm(a[max(0, lag):n + min(0, lag)] - b[max(0, -lag):n - max(0, lag)],
                           axis=-1)
        cost[lag] = float(np.nanmean(np.minimum(d, 50.0))) if np.isfinite(d).any() else np.nan
    if not any(np.isfinite(v) for v in cost.values()):
        return float("nan"), cost
    best = min(cost, key=lambda k: cost[k] if np.isfinite(cost[k]) else np.inf)
    if -3 < best < 3:
        y0, y1, y2 = cost[best - 1], cost[best], cost[best + 1]
        den = y0 - 2 * y1 + y2
        return (best + 0.5 * (y0 - y2) / den if den > 0 else float(best)), cost
    return float(best), cost


def compare_2d(theirs: dict, ours_dir: Path, n_frames: int, calib_path: Path) -> dict:
    from posestack.io.trc import POSE2SIM_NAMES
    from posestack.multiview.calibration import load_calibration, match_videos
    from posestack.skeletons import get_skeleton

    body25b = list(get_skeleton("body25b").keypoints)
    calib = match_videos(load_calibration(calib_path), list(CAMS))
    p2s_names, p2s_xyz = read_their_trc(THEIR_TRC_RAW)
    res: dict = {}
    warnings.simplefilter("ignore", RuntimeWarning)  # nanmedian of all-NaN columns: NaN
    for cam in CAMS:
        our_names, ours = read_our_2d(ours_dir / cam, n_frames)
        common = [k for k in our_names if k in body25b
                  and POSE2SIM_NAMES["body25b"].get(k) in p2s_names]
        flip = [common.index(mirror(k)) if mirror(k) in common else i
                for i, k in enumerate(common)]
        proj = calib[cam].project(p2s_xyz[:n_frames])            # distorted pixels, as 2D
        ref = np.stack([proj[:, p2s_names.index(POSE2SIM_NAMES["body25b"][k])]
                        for k in common], axis=1)                 # (T, K, 2)
        subj = {"theirs": np.full((n_frames, len(common), 2), np.nan),
                "ours": np.full((n_frames, len(common), 2), np.nan)}
        kinds: dict[str, dict[str, int]] = {k: {} for k in ("ours_vs_theirs", "ours_vs_3d",
                                                             "theirs_vs_3d")}
        for f in range(n_frames):
            tp = theirs[cam].get(f, [])
            tarr = (np.stack([np.where(p[:, 2:3] > 0, p[:, :2], np.nan) for p in tp])
                    [:, [body25b.index(k) for k in common]] if tp
                    else np.zeros((0, len(common), 2)))
            oarr = ours[f][:, [our_names.index(k) for k in common], :2]
            subj["theirs"][f] = pick_subject(tarr, ref[f], flip)
            subj["ours"][f] = pick_subject(oarr, ref[f], flip)
            pts = {s: {k: subj[s][f, j] for j, k in enumerate(common)} for s in subj}
            pts["3d"] = {k: ref[f, j] for j, k in enumerate(common)}
            for key in kinds:
                a, b = key.split("_vs_")
                kind = flip_kind(pts[a], pts[b])
                if kind is not None:
                    kinds[key][kind] = kinds[key].get(kind, 0) + 1
        # keypoint distances on frames where neither side is mirrored against the 3D
        clean = np.ones(n_frames, bool)
        for s in ("ours", "theirs"):
            for f in range(n_frames):
                a = {k: subj[s][f, j] for j, k in enumerate(common)}
                b = {k: ref[f, j] for j, k in enumerate(common)}
                if flip_kind(a, b) not in ("none", None):
                    clean[f] = False
        dist = np.linalg.norm(subj["ours"] - subj["theirs"], axis=-1)[clean]
        lag, cost = lag_frames(np.where(clean[:, None, None], subj["ours"], np.nan),
                               np.where(clean[:, None, None], subj["theirs"], np.nan))
        found = {s: int(np.isfinite(subj[s]).any((1, 2)).sum()) for s in subj}
        res[cam] = {"median_px": {k: float(np.nanmedian(dist[:, j]))
                                  if np.isfinite(dist[:, j]).any() else None
                                  for j, k in enumerate(common)},
                    "median_px_all": float(np.nanmedian(dist)),
                    "clean_frames": int(clean.sum()), "flips": kinds,
                    "subject_frames": found, "lag_frames": lag, "lag_cost_px": cost}
    return res


def print_2d(res: dict, n_frames: int) -> None:
    kps = sorted({k for c in res for k in res[c]["median_px"]},
                 key=lambda k: list(next(iter(res.values()))["median_px"]).index(k)
                 if k in next(iter(res.values()))["median_px"] else 99)
    print(f"\n2D (stage B): our BlazePose (Halpe-26) vs Pose2Sim's OpenPose BODY_25B, {n_frames} "
          "frames. Median px distance per keypoint, over the frames where neither is mirrored "
          "left/right against Pose2Sim's 3D reprojected (n clean). Left/right flips per camera "
          "(frames): body = whole person mirrored (seen back to front), legs = legs only; "
          "'ours/P2S 3D' and 'theirs/P2S 3D' judge each side against the 4-camera 3D.")
    print(f"{'keypoint':20s}" + "".join(f"{c:>11s}" for c in res))
    for k in kps:
        vals = [res[c]["median_px"].get(k) for c in res]
        if all(v is None for v in vals):
            continue
        print(f"{k:20s}" + "".join(f"{v:11.1f}" if v is not None else f"{'-':>11s}"
                                   for v in vals))
    print(f"{'all keypoints':20s}" + "".join(f"{res[c]['median_px_all']:11.1f}" for c in res))
    print(f"{'n clean':20s}" + "".join(f"{res[c]['clean_frames']:11d}" for c in res))
    for key, label in (("ours_vs_theirs", "ours/theirs"), ("ours_vs_3d", "ours/P2S 3D"),
                       ("theirs_vs_3d", "theirs/P2S 3D")):
        print(f"{'flips ' + label + ' body':20s}" + "".join(
            f"{res[c]['flips'][key].get('body', 0):11d}" for c in res))
        print(f"{'flips ' + label + ' legs':20s}" + "".join(
            f"{res[c]['flips'][key].get('legs', 0):11d}" for c in res))
    print(f"{'frames compared':20s}" + "".join(
        f"{sum(res[c]['flips']['ours_vs_theirs'].values()):11d}" for c in res))
    print(f"{'lag ours-theirs fr':20s}" + "".join(f"{res[c]['lag_frames']:+11.2f}" for c in res))
    print("(lag > 0: our frame f + lag matches their frame f)")


# -- 3D ---------------------------------------------------------------------------------------


def compare_3d(ours_path: Path, their_trc: str, person: int, n_frames: int) -> dict:
    names_t, theirs = read_their_trc(their_trc)
    names_o, ours, skel = read_keypoints3d(ours_path, n_frames)
    theirs = theirs[:n_frames]
    common = [k for k in names_o if k in names_t]
    ti = [names_t.index(k) for k in common]
    oi = [names_o.index(k) for k in common]
    t = theirs[:, ti]                                          # (T, M, 3)
    o = ours[:, :, oi]                                         # (T, P, M, 3)
    d_all = np.linalg.norm(o - t[:, None], axis=-1)           # (T, P, M)
    cnt = np.isfinite(d_all).sum(-1)
    mean_d = np.where(cnt > 0, np.nansum(d_all, axis=-1) / np.maximum(cnt, 1), np.inf)
    nearest = np.argmin(mean_d, axis=1)
    has = np.isfinite(mean_d[np.arange(len(nearest)), nearest])
    d_near = np.where(has[:, None], d_all[np.arange(len(nearest)), nearest], np.nan)
    d_p = d_all[:, person] if person < d_all.shape[1] else np.full(t.shape[:2], np.nan)

    def rmse(d: np.ndarray) -> tuple[float, int]:
        d = d[np.isfinite(d)]
        return (float(np.sqrt(np.mean(d**2)) * 1000), int(d.size)) if d.size else (np.nan, 0)

    per = {k: {"person": rmse(d_p[:, j]), "nearest": rmse(d_near[:, j]),
               "median_mm": float(np.nanmedian(d_near[:, j]) * 1000)
               if np.isfinite(d_near[:, j]).any() else None}
           for j, k in enumerate(common)}
    # frame alignment check: RMSE of the nearest person at lags -3..3 frames
    lags = {}
    for lag in range(-3, 4):
        a = o[max(0, lag):n_frames + min(0, lag)]
        b = t[max(0, -lag):n_frames - max(0, lag)]
        dd = np.linalg.norm(a - b[:, None], axis=-1)
        nn = nearest[max(0, lag):n_frames + min(0, lag)]
        dd = dd[np.arange(len(nn)), nn]
        lags[lag] = rmse(dd)[0]
    return {"skeleton": skel, "person": person, "markers": per,
            "all": {"person": rmse(d_p), "nearest": rmse(d_near)},
            "frames_nearest_is_person": int(((nearest == person) & has).sum()),
            "frames_with_subject": int(has.sum()), "people": int(o.shape[1]),
            "best_lag_frames": min(lags, key=lambda k: lags[k] if np.isfinite(lags[k]) else 1e9),
            "rmse_by_lag_mm": lags}


def print_3d(title: str, res: dict) -> None:
    p = res["person"]
    print(f"\n3D ({title}): our {res['skeleton']} 3D vs Pose2Sim's .trc, RMSE mm "
          f"(n frames); p{p} = the person OpenSim was run on; nearest = our person nearest "
          f"to theirs in each frame ({res['people']} people in our 3D; nearest is p{p} in "
          f"{res['frames_nearest_is_person']}/{res['frames_with_subject']} frames; "
          f"best lag {res['best_lag_frames']} frames)")
    print(f"{'marker':12s}{'p' + str(p):>16s}{'nearest':>16s}{'median':>9s}")
    for k, v in (*res["markers"].items(), ("ALL", res["all"])):
        med = v.get("median_mm")
        print(f"{k:12s}{v['person'][0]:9.1f} ({v['person'][1]:3d}){v['nearest'][0]:9.1f} "
              f"({v['nearest'][1]:3d})" + (f"{med:9.1f}" if med is not None else ""))


# -- angles -----------------------------------------------------------------------------------


def compare_angles(a_path: Path, b_path: Path, a_theirs: bool, b_theirs: bool,
                   n_frames: int, lag: int = 0) -> dict:
    """Agreement of a's coordinates at frame f + lag with b's at frame f."""
    from posestack.evaluate.agreement import agreement

    a = read_mot_by_frame(a_path, a_theirs)
    b = read_mot_by_frame(b_path, b_theirs)
    names = [c for c in a if c in b and c != "time" and not c.endswith(("_tx", "_ty", "_tz"))]
    frames = np.arange(n_frames)
    A = np.array([[a[c].get(int(f) + lag, np.nan) for c in names] for f in frames])
    B = np.array([[b[c].get(int(f), np.nan) for c in names] for f in frames])
    rep = agreement(A, B, names, n_boot=0)
    return {s.name: {"rmse": s.rmse, "bias": s.bias, "r": s.r, "n": s.n} for s in rep.angles}


def goal_status(res: dict) -> tuple[bool, list[str]]:
    bad = []
    for j in GOAL_JOINTS:
        for s in "rl":
            v = res.get(f"{j}_{s}")
            if v is None or not (v["rmse"] <= GOAL_RMSE and v["r"] >= GOAL_R):
                bad.append(f"{j}_{s}")
    return not bad, bad


def print_angles(title: str, res: dict, goals: bool = False) -> None:
    def cell(v: dict | None) -> str:
        if v is None or v["n"] == 0:
            return f"{'-':>22s}"
        r = f"{v['r']:5.2f}" if np.isfinite(v["r"]) else "    -"
        return f"{v['rmse']:7.1f} {v['bias']:+7.1f} {r} "

    n = max((v["n"] for v in res.values()), default=0)
    print(f"\n{title} (deg; bias = first - second; {n} frames)")
    print(f"{'coordinate':16s}{'right: RMSE bias r':>22s}{'left: RMSE bias r':>22s}  goal")
    for row in ANGLE_ROWS:
        if row in res:
            print(f"{row:16s}{cell(res[row]):>22s}")
            continue
        r, left = res.get(f"{row}_r"), res.get(f"{row}_l")
        if r is None and left is None:
            continue
        flag = ""
        if goals and row in GOAL_JOINTS:
            ok = all(v is not None and v["rmse"] <= GOAL_RMSE and v["r"] >= GOAL_R
                     for v in (r, left))
            flag = "ok" if ok else f"MISS (<= {GOAL_RMSE:g} deg, r >= {GOAL_R:g})"
        print(f"{row:16s}{cell(r)}{cell(left)} {flag}")
    if goals:
        ok, bad = goal_status(res)
        print(f"goal (hip flexion, knee, ankle: RMSE <= {GOAL_RMSE:g} deg and r >= {GOAL_R:g}, "
              f"both sides): {'MET' if ok else 'not met: ' + ', '.join(bad)}")


# -- main -------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("out/bench_pose2sim_peer"),
                    help="work folder; stages already run there with the same arguments "
                    "are reused (default out/bench_pose2sim_peer)")
    ap.add_argument("--quick", action="store_true", help="first 40 frames only")
    ap.add_argument("--force", action="store_true", help="rerun every stage")
    ap.add_argument("--skip-b", action="store_true", help="stage A only (no video decoding)")
    ap.add_argument("--json-out", type=Path, help="also write every number here")
    ap.add_argument("--b-args", default="",
                    help="extra options for stage B's posestack run (quoted), to try a variant")
    args = ap.parse_args()

    from posestack import assets

    n_frames = 40 if args.quick else 100
    out = args.out.resolve() / ("quick" if args.quick else "full")
    demo = assets.path("pose2sim_demo_singleperson")
    calib = demo / "calibration" / "Calib.qca.txt"
    timings: dict[str, float | None] = {}
    result: dict = {"frames": n_frames, "timings_s": timings}
    common = ["--max-gap", "20", "--min-views", "2", "--max-error", "15"]

    # stage A: their 2D -> our 3D -> OpenSim
    theirs2d = unpack_2d(out / "pose", n_frames)
    jsons = [str(out / "pose" / f"{c}_json") for c in CAMS]
    a_args = ["triangulate", *jsons, "--calibration", str(calib), "--layout", "body25b",
              "--fps", f"{FPS:g}", *common]
    timings["A_3d_raw"] = posestack([*a_args, "--filter", "none", "-o", str(out / "A_raw")],
                                    out / "A_raw", args.force, "stage A, 3D unfiltered")
    timings["A"] = posestack([*a_args, "--filter", "butterworth", "--ik", "--opensim",
                              "--height", "1.75", "--mass", "70", "-o", str(out / "A")],
                             out / "A", args.force, "stage A, 3D + IK + OpenSim")

    # stage B: our videos -> our 2D -> 3D -> OpenSim
    if not args.skip_b:
        b_args = [str(demo / "videos"), "--calibration", str(calib), "--layout", "halpe26",
                  "--filter", "butterworth", *common, "--ik", "--opensim", "--height", "1.75",
                  "--mass", "70", "--no-video", "-q", "-o", str(out / "B"),
                  *args.b_args.split()]
        if args.quick:
            b_args += ["--end", f"{n_frames / FPS:.6f}"]
        timings["B"] = posestack(["run", *b_args], out / "B", args.force,
                                 "stage B, videos -> 2D -> 3D + IK + OpenSim")

    def mot_of(folder: Path) -> Path:
        """The OpenSim IK result: on the augmented markers when the run made them."""
        man = json.loads((folder / "manifest.json").read_text())
        key = "opensim_lstm" if "opensim_lstm" in man["outputs"] else "opensim"
        return folder / man["outputs"][key]["mot"]

    stages = {"A": out / "A"} | ({} if args.skip_b else {"B": out / "B" / "multiview"})
    # 2D
    if "B" in stages:
        r2 = compare_2d(theirs2d, out / "B", n_frames, calib)
        result["2d"] = r2
        print_2d(r2, n_frames)
    # 3D
    result["3d"] = {}
    r = compare_3d(out / "A_raw" / "keypoints3d.parquet", THEIR_TRC_RAW, 0, n_frames)
    result["3d"]["A_raw"] = r
    print_3d("stage A, their 2D, both unfiltered", r)
    for st, folder in stages.items():
        r = compare_3d(folder / "keypoints3d.parquet", THEIR_TRC, 0, n_frames)
        result["3d"][st] = r
        label = "stage A, their 2D" if st == "A" else "stage B, end to end from the videos"
        print_3d(f"{label}, both Butterworth 6 Hz", r)
    # angles
    result["angles"] = {}
    floor = compare_angles(DATA / THEIR_MOT_2, DATA / THEIR_MOT, True, True, n_frames)
    result["angles"]["pose2sim_2024_vs_pose2sim_2023"] = floor
    print_angles("Noise floor: Pose2Sim's 2024-04 OpenSim IK vs its 2023-12 one, same 2D", floor)
    for st, folder in stages.items():
        label = "stage A (their 2D)" if st == "A" else "stage B (end to end)"
        ours_mot = mot_of(folder)
        ik_mot = folder / "angles_ik.mot"
        r_os = compare_angles(ours_mot, DATA / THEIR_MOT, False, True, n_frames)
        r_ik = compare_angles(ik_mot, DATA / THEIR_MOT, False, True, n_frames)
        r_el = compare_angles(ik_mot, ours_mot, False, False, n_frames)
        result["angles"][st] = {"opensim_vs_pose2sim": r_os, "ik_vs_pose2sim": r_ik,
                                "ik_vs_opensim": r_el,
                                "goal_met": goal_status(r_os)[0]}
        print_angles(f"OpenSim angles, {label}: our OpenSim IK vs Pose2Sim's", r_os, goals=True)
        print_angles(f"Skeletal IK, {label}: our angles_ik.mot vs Pose2Sim's OpenSim", r_ik)
        print_angles(f"Skeletal IK vs our OpenSim IK, {label} (same 3D)", r_el)
        el = [r_el.get(f"elbow_flex_{s}", {}).get("bias", np.nan) for s in "rl"]
        print(f"elbow_flex bias of the skeletal IK against OpenSim IK: right {el[0]:+.1f}, "
              f"left {el[1]:+.1f} deg (README before: -3.9 / -6.9)")
        lag = int(result["3d"][st]["best_lag_frames"])
        if lag:
            r_lag = compare_angles(ours_mot, DATA / THEIR_MOT, False, True, n_frames, lag)
            result["angles"][st]["opensim_vs_pose2sim_at_best_3d_lag"] = {"lag": lag, **r_lag}
            print(f"sensitivity: our frame f{lag:+d} paired with their frame f (the 3D's best "
                  "lag): " + ", ".join(
                      f"{j}_{s} {r_lag[f'{j}_{s}']['rmse']:.1f}/{r_lag[f'{j}_{s}']['r']:.2f}"
                      for j in GOAL_JOINTS for s in "rl") + " (RMSE deg / r)")
    print("\ntimings (s; None = cached): " + ", ".join(
        f"{k} {v:.1f}" if v is not None else f"{k} cached" for k, v in timings.items()))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
