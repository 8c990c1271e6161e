"""Two people seen by the Pose2Sim sample's four real cameras, with known 3D truth.

Used by tests/test_multiview.py (identities across views and time) and
tests/test_openpose_reader.py (BODY_25 / BODY_25B detection).

The people are simple articulated figures (segment lengths of an adult of about
1.75 m, Z up, metres): a *walker* crossing the capture volume at walking speed
with a gait cycle (legs and arms swinging, feet rolling) and a *bystander*
standing still at the back of the volume, visible in all four cameras, with a
slight sway. Their keypoints are projected into the sample's calibration with its
lens distortion, then made to look like a 2D detector's output: Gaussian noise of
a few pixels, a few keypoints thrown 30–80 px off, left and right swapped in runs
of frames in the cameras that see a person from behind, scores between 0.5 and
0.95, keypoints dropped at random or when they fall outside the image, whole
detections dropped at random, the farther person's keypoints hidden where the
nearer person's box covers them, and the people listed in a random order in each
file (a detector's order is not an identity).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posestack import assets
from posestack.multiview.calibration import Calibration, Camera, load_calibration
from posestack.skeletons import get_skeleton

BODY25B = get_skeleton("body25b")
BODY25 = get_skeleton("body25")

#: Keypoints of a standing figure in its own frame: x forward, y left, z up (metres).
_REST = {
    "nose": (0.10, 0.0, 1.61), "left_eye": (0.08, 0.035, 1.645),
    "right_eye": (0.08, -0.035, 1.645), "left_ear": (0.0, 0.075, 1.62),
    "right_ear": (0.0, -0.075, 1.62), "left_shoulder": (0.0, 0.19, 1.43),
    "right_shoulder": (0.0, -0.19, 1.43), "left_hip": (0.0, 0.095, 0.93),
    "right_hip": (0.0, -0.095, 0.93), "upper_neck": (0.0, 0.0, 1.52),
    "head_top": (0.01, 0.0, 1.75),
}
_THIGH, _SHANK, _UPPER_ARM, _FOREARM, _ANKLE_H = 0.44, 0.42, 0.29, 0.26, 0.08


def figure(heading: np.ndarray, position: np.ndarray, phase: np.ndarray,
           amplitude: float) -> np.ndarray:
    """``(T, 25, 3)`` BODY_25B keypoints of a walking (or, with ``amplitude`` 0, standing) figure.

    Args:
        heading: ``(T,)`` direction the figure faces, radians from world +X.
        position: ``(T, 2)`` world XY of the pelvis, metres (feet on Z = 0).
        phase: ``(T,)`` gait phase, radians.
        amplitude: hip swing, radians (0.35 walking, 0 standing).
    """
    t_n = len(heading)
    out = np.zeros((t_n, len(BODY25B), 3))
    idx = BODY25B.index
    for name, p in _REST.items():
        out[:, idx(name)] = p
    for side, sign in (("left", 1.0), ("right", -1.0)):
        # legs: hip flexion ±amplitude, knee flexes in swing; arms swing opposite
        hip_a = sign * amplitude * np.sin(phase)
        knee_a = amplitude * 1.6 * np.clip(np.sin(phase + sign * np.pi / 2 - 0.6), 0, None)
        hip = np.array(_REST[f"{side}_hip"])
        knee = hip + _THIGH * np.c_[np.sin(hip_a), np.zeros(t_n), -np.cos(hip_a)]
        shank = hip_a - knee_a
        ankle = knee + _SHANK * np.c_[np.sin(shank), np.zeros(t_n), -np.cos(shank)]
        out[:, idx(f"{side}_knee")] = knee
        out[:, idx(f"{side}_ankle")] = ankle
        out[:, idx(f"{side}_heel")] = ankle + np.array([-0.05, 0.0, -0.06])
        out[:, idx(f"{side}_big_toe")] = ankle + np.array([0.17, -sign * 0.01, -0.07])
        out[:, idx(f"{side}_small_toe")] = ankle + np.array([0.15, sign * 0.04, -0.07])
        arm_a = -sign * 0.6 * amplitude * np.sin(phase)
        sh = np.array(_REST[f"{side}_shoulder"])
        elbow = sh + _UPPER_ARM * np.c_[np.sin(arm_a), np.full(t_n, sign * 0.1), -np.cos(arm_a)]
        fore = arm_a + 0.3 + 0.5 * amplitude
        wrist = elbow + _FOREARM * np.c_[np.sin(fore), np.zeros(t_n), -np.cos(fore)]
        out[:, idx(f"{side}_elbow")] = elbow
        out[:, idx(f"{side}_wrist")] = wrist
    c, s = np.cos(heading), np.sin(heading)
    rot = np.stack([np.stack([c, -s, 0 * c], -1), np.stack([s, c, 0 * c], -1),
                    np.stack([0 * c, 0 * c, 1 + 0 * c], -1)], 1)           # (T, 3, 3)
    world = np.einsum("tij,tkj->tki", rot, out)
    world[..., :2] += position[:, None]
    return world


def to_body25(xyz: np.ndarray) -> np.ndarray:
    """BODY_25B ``(..., 25, D)`` → BODY_25 ``(..., 25, D)`` (neck and mid-hip: means)."""
    out = np.empty_like(xyz)
    for i, name in enumerate(BODY25.keypoints):
        if name == "neck":
            out[..., i, :] = xyz[..., [5, 6], :].mean(-2)
        elif name == "mid_hip":
            out[..., i, :] = xyz[..., [11, 12], :].mean(-2)
        else:
            out[..., i, :] = xyz[..., BODY25B.index(name), :]
    return out


def look_at(name: str, centre, target, K: np.ndarray, dist, size: tuple[int, int]) -> Camera:
    """A level camera (its x axis horizontal, Z up) at ``centre`` looking at ``target``."""
    centre = np.asarray(centre, float)
    z = np.asarray(target, float) - centre
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(z, x), z])
    return Camera(name, K, np.asarray(dist, float), R, -R @ centre, size)


def ring_views(n_frames: int = 40, n_cameras: int = 4, noise: float = 2.0,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A walker seen by ``n_cameras`` cameras around them (no assets needed).

    Returns ``(xy, scores)``: ``(C, T, 25, 2)`` BODY_25B pixels (1280×720 images, noise
    in px, 5 % of the points dropped as NaN) and ``(C, T, 25)`` scores in [0.5, 0.95].
    """
    rng = np.random.default_rng(seed)
    times = np.arange(n_frames) / 30.0
    pos = np.c_[-0.6 + 1.2 * times, 0.1 * np.sin(times)]
    walker = figure(np.full(n_frames, 0.2), pos, 2 * np.pi * times, 0.35)
    xys = []
    for a in np.linspace(0, 2 * np.pi, n_cameras, endpoint=False) + 0.4:
        K = np.array([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]])
        cam = look_at("c", [4 * np.cos(a), 4 * np.sin(a), 1.6], [0.0, 0.0, 0.9], K,
                      np.zeros(4), (1280, 720))
        xys.append(cam.project(walker))
    xy = np.stack(xys) + rng.normal(0, noise, (n_cameras, n_frames, 25, 2))
    drop = rng.random(xy.shape[:-1]) < 0.05
    xy[drop] = np.nan
    scores = np.where(drop, 0.0, rng.uniform(0.5, 0.95, drop.shape))
    return xy, scores


@dataclass(frozen=True)
class TwoPeople:
    """The scene: truth and the 2D each camera's detector reports."""

    calibration: Calibration
    calibration_path: Path
    truth: np.ndarray          # (T, 2, 25, 3) world metres, BODY_25B: walker, bystander
    xy: list[np.ndarray]       # per camera (T, P_max, 25, 2) distorted pixels, NaN missing
    scores: list[np.ndarray]   # per camera (T, P_max, 25), 0 missing
    who: list[np.ndarray]      # per camera (T, P_max) index into truth's people, −1 padding
    swapped: list[np.ndarray]  # per camera (T, 2) bool: the person's left/right labels swapped
    fps: float


def two_people(n_frames: int = 150, fps: float = 60.0, noise: float = 2.5,
               drop_keypoint: float = 0.05, drop_person: float = 0.05,
               swap: float = 0.1, outliers: float = 0.01, seed: int = 0) -> TwoPeople:
    """The walker and the bystander in the Pose2Sim sample's four cameras.

    The walker crosses the volume from (−2.3, 0.75) to (0.7, −0.45) m at about
    1.3 m/s (60 fps, 150 frames: 2.5 s) and passes 0.7 m from the bystander, who
    stands at (−1.2, −0.45) m; in some cameras one hides the other. Cameras 3 and 4
    see the walker from behind (more than 120° from where he faces), camera 4 the
    bystander: there a run of swapped sides starts with probability ``swap`` per
    frame and goes on with probability 0.8 (5 frames on average; about a third of
    those frames with the default). ``noise``: px (σ); ``drop_keypoint``,
    ``drop_person``, ``outliers``: probabilities per keypoint, per detection, per
    keypoint.
    """
    rng = np.random.default_rng(seed)
    path = assets.path("pose2sim_demo_singleperson") / "calibration" / "Calib.qca.txt"
    calib = load_calibration(path)
    times = np.arange(n_frames) / fps
    start, end = np.array([-2.3, 0.75]), np.array([0.7, -0.45])
    u = times / times[-1]
    walk_pos = start + u[:, None] * (end - start)
    heading = np.full(n_frames, np.arctan2(*(end - start)[::-1]))
    facing = [heading, np.full(n_frames, 0.3)]
    walker = figure(heading, walk_pos, 2 * np.pi * 0.95 * times, 0.35)
    sway = 0.01 * np.c_[np.sin(2 * np.pi * 0.3 * times), np.cos(2 * np.pi * 0.2 * times)]
    bystander = figure(facing[1], np.array([-1.2, -0.45]) + sway,
                       np.zeros(n_frames), 0.0)
    truth = np.stack([walker, bystander], axis=1)                      # (T, 2, 25, 3)
    xys, scs, whos, swaps = [], [], [], []
    for cam in calib.cameras:
        w, h = cam.size
        xy = cam.project(truth)                                        # (T, 2, 25, 2)
        depth = cam.to_camera(truth)[..., 2].mean(-1)                  # (T, 2)
        xy = xy + rng.normal(0.0, noise, xy.shape)
        # gross errors: a keypoint put 30-80 px away (a limb given to the wrong place)
        bad = rng.random(xy.shape[:-1]) < outliers
        ang = rng.uniform(0, 2 * np.pi, bad.sum())
        xy[bad] += rng.uniform(30, 80, bad.sum())[:, None] * np.c_[np.cos(ang), np.sin(ang)]
        # left/right confusion seen from behind: runs of mirrored labels
        centre = -cam.R.T @ cam.t                                           # camera centre
        swapped = np.zeros((n_frames, 2), bool)
        for q in range(2):
            to_cam = centre[:2] - truth[:, q, 11:13, :2].mean(1)
            ang = np.arctan2(to_cam[:, 1], to_cam[:, 0]) - facing[q]
            behind = np.cos(ang) < -0.5                                     # > 120° off
            on = False
            for ti in range(n_frames):
                on = behind[ti] and (rng.random() < (0.8 if on else swap))
                if on:
                    xy[ti, q] = xy[ti, q, list(BODY25B.flip)]
                    swapped[ti, q] = True
        sc = rng.uniform(0.5, 0.95, xy.shape[:-1])
        inside = np.isfinite(xy).all(-1) & (xy[..., 0] >= 0) & (xy[..., 0] < w) \
            & (xy[..., 1] >= 0) & (xy[..., 1] < h)
        keep = inside & (rng.random(sc.shape) >= drop_keypoint)
        # the nearer person hides the farther one's keypoints inside their box
        for ti in range(n_frames):
            near, far = (0, 1) if depth[ti, 0] < depth[ti, 1] else (1, 0)
            pts = xy[ti, near][inside[ti, near]]
            if len(pts) < 2:
                continue
            lo, hi = pts.min(0) - 10, pts.max(0) + 10
            covered = ((xy[ti, far] > lo) & (xy[ti, far] < hi)).all(-1)
            keep[ti, far] &= ~covered
        present = (keep.sum(-1) >= 8) & (rng.random((n_frames, 2)) >= drop_person)
        keep &= present[..., None]
        xy[~keep] = np.nan
        sc[~keep] = 0.0
        out_xy = np.full_like(xy, np.nan)
        out_sc = np.zeros_like(sc)
        out_who = np.full((n_frames, 2), -1)
        for ti in range(n_frames):
            listed = rng.permutation(np.flatnonzero(present[ti]))
            out_xy[ti, :len(listed)] = xy[ti, listed]
            out_sc[ti, :len(listed)] = sc[ti, listed]
            out_who[ti, :len(listed)] = listed
        xys.append(out_xy)
        scs.append(out_sc)
        whos.append(out_who)
        swaps.append(swapped)
    return TwoPeople(calib, path, truth, xys, scs, whos, swaps, fps)


def write_openpose_folders(scene: TwoPeople, folder: Path, layout: str = "body25b") -> list[Path]:
    """One OpenPose json folder per camera (``<cam>_json``, one file per frame).

    ``layout``: ``"body25b"`` (the scene's own order) or ``"body25"`` (neck and
    mid-hip as the means of the shoulders and of the hips).
    """
    dirs = []
    for cam, xy, sc in zip(scene.calibration.names, scene.xy, scene.scores, strict=True):
        d = folder / f"{cam}_json"
        d.mkdir(parents=True, exist_ok=True)
        if layout == "body25":
            xy = to_body25(xy)                 # a mean is NaN unless both points are there
            sc = np.where(np.isfinite(xy).all(-1), to_body25(sc[..., None])[..., 0], 0.0)
        for ti in range(xy.shape[0]):
            people = []
            for p in range(xy.shape[1]):
                if not (sc[ti, p] > 0).any():
                    continue
                flat = np.c_[np.nan_to_num(xy[ti, p]), sc[ti, p]]
                flat[sc[ti, p] <= 0] = 0.0
                people.append({"person_id": [-1],
                               "pose_keypoints_2d": np.round(flat, 3).ravel().tolist()})
            (d / f"{cam}_{ti:012d}_keypoints.json").write_text(
                json.dumps({"version": 1.3, "people": people}))
        dirs.append(d)
    return dirs
