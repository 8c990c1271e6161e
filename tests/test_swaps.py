"""Left/right swaps (issue 13, item 1) on data whose truth is known: a walking figure
(legs and arms swinging, so the sides cross in side views) projected into the Pose2Sim
sample's four real cameras, with 2 px noise, dropped points, and swaps injected into
one camera."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posestack import assets
from posestack.multiview.calibration import load_calibration
from posestack.poses import Poses
from posestack.skeletons import get_skeleton
from posestack.swaps import fix_swaps_multiview, fix_swaps_temporal, side_groups

SK = get_skeleton("halpe26")
FPS = 60.0


def walker(n: int = 180, speed: float = 1.2, cadence: float = 0.9) -> np.ndarray:
    """(T, 26, 3) a halpe26 figure walking along world x through the sample's capture
    volume (Z up, metres): legs and arms swing in antiphase."""
    t = np.arange(n) / FPS
    phase = 2 * np.pi * cadence * t
    out = np.full((n, 26, 3), np.nan)
    root = np.c_[-1.0 + speed * t, np.zeros(n), np.zeros(n)]

    def put(name: str, xyz: np.ndarray) -> None:
        out[:, SK.index(name)] = root + xyz

    def const(x: float, y: float, z: float) -> np.ndarray:
        return np.tile([x, y, z], (n, 1)).astype(float)

    put("head_top", const(0.0, 0.0, 1.75))
    put("neck", const(0.0, 0.0, 1.48))
    put("nose", const(0.1, 0.0, 1.6))
    for side, s in (("left", 1.0), ("right", -1.0)):
        swing = np.sin(phase + (0 if side == "left" else np.pi))
        put(f"{side}_eye", const(0.08, 0.03 * s, 1.64))
        put(f"{side}_ear", const(0.0, 0.075 * s, 1.62))
        put(f"{side}_shoulder", const(0.0, 0.18 * s, 1.45))
        elbow = np.c_[-0.15 * swing, np.full(n, 0.2 * s), np.full(n, 1.17)]
        put(f"{side}_elbow", elbow)
        put(f"{side}_wrist", elbow + np.c_[-0.12 * swing + 0.05, np.zeros(n), np.full(n, -0.26)])
        put(f"{side}_hip", const(0.0, 0.1 * s, 0.95))
        knee = np.c_[0.22 * swing, np.full(n, 0.1 * s), 0.52 + 0.03 * np.cos(phase)]
        put(f"{side}_knee", knee)
        ankle = knee + np.c_[0.2 * np.sin(phase - 0.6 + (0 if side == "left" else np.pi)),
                             np.zeros(n), np.full(n, -0.44)]
        put(f"{side}_ankle", ankle)
        put(f"{side}_heel", ankle + np.array([-0.05, 0.0, -0.05]))
        put(f"{side}_big_toe", ankle + np.array([0.17, -0.02 * s, -0.07]))
        put(f"{side}_small_toe", ankle + np.array([0.15, 0.03 * s, -0.07]))
    put("mid_hip", const(0.0, 0.0, 0.95))
    return out


@pytest.fixture(scope="module")
def rig():
    return load_calibration(assets.path("pose2sim_demo_singleperson") / "calibration" /
                            "Calib.qca.txt")


def _project(rig, X: np.ndarray, noise: float = 2.0, drop: float = 0.05, seed: int = 0):
    """(C, T, 1, K, 2) ideal pixels and (C, T, 1, K) scores, with noise and dropouts."""
    rng = np.random.default_rng(seed)
    P = rig.projections()
    h = np.c_[X.reshape(-1, 3), np.ones(X.shape[0] * X.shape[1])]
    xy = []
    for Pc in P:
        u = h @ Pc.T
        xy.append((u[:, :2] / u[:, 2:]).reshape(X.shape[0], X.shape[1], 2))
    xy = np.stack(xy)[:, :, None] + rng.normal(0, noise, (len(P), X.shape[0], 1, 26, 2))
    sc = rng.uniform(0.6, 0.95, xy.shape[:-1])
    gone = rng.random(sc.shape) < drop
    xy[gone] = np.nan
    sc[gone] = 0.0
    return xy, sc


def _inject(xy, sc, cam: int, frames: slice, groups=("hips", "legs")):
    xy, sc = xy.copy(), sc.copy()
    g = side_groups(SK)
    for name in groups:
        left, right = g[name]
        for a in (xy, sc):
            sel = a[cam, frames, 0]
            sel[:, np.r_[left, right]] = sel[:, np.r_[right, left]]
    return xy, sc


def test_side_groups_pair_mirrored_points():
    g = side_groups("halpe26")
    assert set(g) == {"face", "shoulders", "arms", "hips", "legs"}
    for left, right in g.values():
        for a, b in zip(left, right, strict=True):
            assert SK.keypoints[a].startswith("left") and SK.keypoints[b] == \
                SK.keypoints[a].replace("left", "right")
    assert len(g["legs"][0]) == 5  # knee, ankle, heel, big and small toe
    assert "arms" in side_groups("coco_wholebody133")  # hands with the arms


def test_multiview_swaps_in_one_camera_are_corrected(rig):
    X = walker()
    clean, sc = _project(rig, X)
    xy, sc2 = _inject(clean, sc, cam=1, frames=slice(40, 85))
    fixed, fsc, swapped = fix_swaps_multiview(xy, sc2, rig.projections(), SK)
    legs = swapped["legs"][:, :, 0]
    truth = np.zeros_like(legs)
    truth[1, 40:85] = True
    seen = np.isfinite(xy[:, :, 0, side_groups(SK)["legs"][0]]).all(-1).any(-1)
    # every injected swap the camera could show is found, and nothing else is touched
    assert legs[truth & seen].mean() > 0.95
    assert (legs & ~truth).sum() <= 2
    ok = np.isfinite(clean) & np.isfinite(fixed)
    assert np.mean(np.abs(fixed[ok] - clean[ok]) < 1e-9) > 0.99  # back where they belong
    assert np.mean((fsc == 0) == (sc == 0)) > 0.99  # scores travel with their points
    # on clean data, no swaps
    _, _, none = fix_swaps_multiview(clean, sc, rig.projections(), SK)
    assert sum(int(m.sum()) for m in none.values()) == 0


def test_two_cameras_cannot_outvote_each_other(rig):
    X = walker(60)
    xy, sc = _project(rig, X)
    P = rig.projections()
    _, _, swapped = fix_swaps_multiview(xy[:2], sc[:2], P[:2], SK)
    assert swapped == {}  # a strict minority of 2 cameras is none


def test_temporal_swaps_in_one_camera_are_corrected(rig):
    """One camera alone: a stretch of swapped legs and single-frame flips are undone
    from the motion, while the legs crossing in the side view are left alone."""
    X = walker()
    clean, sc = _project(rig, X, drop=0.0, noise=1.0)
    xy, sc2 = _inject(clean, sc, cam=1, frames=slice(60, 75))
    for f in (100, 130):
        xy, sc2 = _inject(xy, sc2, cam=1, frames=slice(f, f + 1))
    times = np.arange(len(X)) / FPS
    poses = Poses(SK, xy[1].astype(np.float32), sc2[1].astype(np.float32), times,
                  "image:cam02", tracked=True)
    fixed, swapped = fix_swaps_temporal(poses)
    truth = np.zeros(len(X), bool)
    truth[60:75] = truth[100] = truth[130] = True
    legs = swapped["legs"][:, 0]
    assert legs[truth].mean() > 0.9 and (legs & ~truth).sum() <= 2
    d = np.linalg.norm(fixed.coords[:, 0] - clean[1, :, 0], axis=-1)
    assert np.nanmean(d < 1e-3) > 0.98
    assert fixed.meta["swaps"]["legs"] == int(legs.sum())
    clean_poses = Poses(SK, clean[1].astype(np.float32), sc[1].astype(np.float32), times,
                        "image:cam02", tracked=True)
    _, none = fix_swaps_temporal(clean_poses)
    assert sum(int(m.sum()) for m in none.values()) == 0


def test_biomechanics_route_turns_blazepose_smoothing_off(tmp_path, p2s_videos):
    """Issue 13, item 3: BlazePose's causal one-euro smoothing lags 1-2 frames; with the
    zero-phase Butterworth it is off unless asked for."""
    import posestack

    clip = p2s_videos / "cam01.mp4"
    kw = dict(end=0.2, video=False, progress=False)
    [a] = posestack.run(clip, tmp_path / "a", filter="butterworth", **kw)
    [b] = posestack.run(clip, tmp_path / "b", **kw)
    [c] = posestack.run(clip, tmp_path / "c", filter="butterworth", smooth=True, **kw)
    assert a.manifest["parameters"]["smooth"] is False
    assert b.manifest["parameters"]["smooth"] is True
    assert c.manifest["parameters"]["smooth"] is True


@pytest.mark.assets
def test_real_whole_body_mirror_in_cam02_is_undone(tmp_path, p2s_videos):
    """The sample's real case: BlazePose sees the subject in cam02 back to front (left and
    right exchanged) in about frames 41-79. Against Pose2Sim's own 3D of this trial (its
    published TRC, benchmarks/data), every 3D leg is on its side in every frame, and the
    manifest counts the mirrored detections per camera."""
    import json

    import posestack
    from posestack.cli import main
    from posestack.io.trc import read_trc

    out = tmp_path / "mv"
    assert main(["run", str(p2s_videos), "-o", str(out), "--layout", "halpe26", "--no-video",
                 "-q", "--end", "1.5"]) == 0
    m = json.loads((out / "multiview" / "manifest.json").read_text())
    mirrored = m["people"]["left_right_swaps"]
    assert mirrored["cam02"] >= 25 and all(mirrored[c] <= 2 for c in ("cam01", "cam03",
                                                                        "cam04")), mirrored
    ours, frames = posestack.read_keypoints(out / "multiview" / "keypoints3d.parquet")
    data = Path(__file__).parents[1] / "benchmarks" / "data" / "pose2sim_demo"
    names, _, xyz, _ = read_trc(data / "pose2sim_0-100.trc", z_up=True)
    sk = ours.skeleton
    for side, s in (("left", "L"), ("right", "R")):
        other = "R" if s == "L" else "L"
        for part, p in (("knee", "Knee"), ("ankle", "Ankle")):
            mine = ours.coords[:, 0, sk.index(f"{side}_{part}")]
            same = np.linalg.norm(mine - xyz[frames, names.index(f"{s}{p}")], axis=-1)
            swap = np.linalg.norm(mine - xyz[frames, names.index(f"{other}{p}")], axis=-1)
            assert (same < swap).mean() == 1.0, (side, part, np.flatnonzero(same >= swap))
