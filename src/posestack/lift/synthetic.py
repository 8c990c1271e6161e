"""Training data for the 2D→3D lifter, generated here (no motion capture).

:func:`sample_motions` poses the IK skeleton (:func:`posestack.kinematics.ik.default_model`,
COCO-17) with smooth motions inside its joint limits: a third of the sequences walk or
run (a gait cycle of random speed, stride and arm swing, with random turns), a third
stand and move the trunk and arms (weight shifts, reaching, waving), a third move every
joint on its own (low-pass random paths between random postures, now and then
crouching). Bodies vary in height (1.45–1.95 m) and proportions (±8 % per segment).
:func:`view` films each sequence with a random camera (2–9 m away, 0.3–2.8 m high,
20–80° field of view, aimed near the person) and adds what a real 2D detector does:
pixel noise, slow drifts of each keypoint (a detector's bias on a given person and
view), a few keypoints off by a lot, missing keypoints (score 0).

Following PoseDA: the 2D input is centred on the mid-hip and scaled by the image's
focal length (no absolute position), so the model's input does not depend on where
the person stands in the frame (global position alignment). Limb-level augmentation:
random segment lengths, and in a third of the sequences the arms (or the legs) take
the motion of another sequence of another kind.
"""

from __future__ import annotations

import numpy as np

from ..kinematics.ik import DOF_NAMES, LIMITS, BodyModel, default_model

SKELETON = "coco17"
_IDX = {n: i for i, n in enumerate(DOF_NAMES)}
_SEGMENT_LENGTHS = ("hip_width", "trunk", "shoulder_width", "shoulder_height",
                    "left_thigh", "left_shank", "left_upper_arm", "left_forearm",
                    "right_thigh", "right_shank", "right_upper_arm", "right_forearm")


def _body(rng: np.random.Generator) -> BodyModel:
    base = default_model(SKELETON, float(rng.uniform(1.45, 1.95)))
    lengths = dict(base.lengths)
    for k in _SEGMENT_LENGTHS:
        if k in lengths:
            lengths[k] *= float(rng.uniform(0.92, 1.08))
    return BodyModel(base.skeleton, lengths, dict(base.offsets))


def _smooth_noise(rng: np.random.Generator, t: int, n: int, cutoff: float) -> np.ndarray:
    """``(t, n)`` random paths of unit spread whose content stays below ``cutoff``
    cycles per frame (Gaussian-filtered white noise)."""
    from scipy.ndimage import gaussian_filter1d

    sigma = max(1.0, 0.2 / cutoff)
    x = gaussian_filter1d(rng.normal(size=(t + 8 * int(sigma), n)), sigma, axis=0)
    x = x[4 * int(sigma): 4 * int(sigma) + t]
    return x / (x.std(0, keepdims=True) + 1e-9)


def _clip_limits(q: np.ndarray) -> np.ndarray:
    for name, (lo, hi) in LIMITS.items():
        if name in _IDX:
            q[:, _IDX[name]] = np.clip(q[:, _IDX[name]], lo, hi)
    return q


def _gait(rng: np.random.Generator, t: int, fps: float) -> np.ndarray:
    q = np.zeros((t, len(DOF_NAMES)))
    speed = rng.uniform(0.6, 1.8)                   # cycles per second
    ph = 2 * np.pi * (np.arange(t) / fps * speed + rng.uniform())
    run = rng.uniform() < 0.3
    hip_amp = rng.uniform(15, 45 if run else 30)
    for side, sh in (("left", 0.0), ("right", np.pi)):
        p = ph + sh
        q[:, _IDX[f"{side}_hip_flexion"]] = 10 + hip_amp * np.sin(p)
        knee = (60 if run else 35) * np.clip(np.sin(p - 1.2), 0, None) + rng.uniform(0, 10)
        q[:, _IDX[f"{side}_knee_flexion"]] = knee
        q[:, _IDX[f"{side}_ankle_dorsiflexion"]] = 8 * np.sin(p + 0.5)
        q[:, _IDX[f"{side}_shoulder_flexion"]] = rng.uniform(0.3, 1.0) * hip_amp * \
            np.sin(p + np.pi)
        q[:, _IDX[f"{side}_elbow_flexion"]] = (70 if run else 15) + 10 * np.sin(p)
        q[:, _IDX[f"{side}_shoulder_abduction"]] = rng.uniform(3, 15)
    q[:, _IDX["lumbar_flexion"]] = (10 if run else 2) + rng.uniform(-3, 8)
    return q


def _free(rng: np.random.Generator, t: int, crouch: bool = True) -> np.ndarray:
    q = np.zeros((t, len(DOF_NAMES)))
    noise = _smooth_noise(rng, t, len(DOF_NAMES), cutoff=rng.uniform(0.01, 0.05))
    for name, (lo, hi) in LIMITS.items():
        i = _IDX[name]
        span = hi - lo
        centre = rng.uniform(lo + 0.1 * span, lo + 0.45 * span) if span > 0 else lo
        q[:, i] = centre + 0.2 * span * noise[:, i]
    # sitting, crouching, reaching: now and then both knees and hips bent together
    if crouch and rng.uniform() < 0.3:
        bend = rng.uniform(40, 110)
        for side in ("left", "right"):
            q[:, _IDX[f"{side}_hip_flexion"]] += bend * 0.8
            q[:, _IDX[f"{side}_knee_flexion"]] += bend
    return q


_ARMS = [i for n, i in _IDX.items() if "shoulder" in n or "elbow" in n or "wrist" in n
         or "forearm" in n]
_LEGS = [i for n, i in _IDX.items() if "hip_" in n or "knee" in n or "ankle" in n]


def _standing(rng: np.random.Generator, t: int) -> np.ndarray:
    """Standing: legs near straight with weight shifts, trunk and arms moving freely."""
    q = _free(rng, t, crouch=False)
    for i in _LEGS:
        q[:, i] *= rng.uniform(0.05, 0.3)
    shift = rng.uniform(0, 8) * _smooth_noise(rng, t, 1, 0.02)[:, 0]
    for side, sign in (("left", 1), ("right", -1)):
        q[:, _IDX[f"{side}_hip_adduction"]] += sign * shift
    return q


def _motion(rng: np.random.Generator, t: int, fps: float) -> np.ndarray:
    kind = rng.integers(3)
    return _gait(rng, t, fps) if kind == 0 else _standing(rng, t) if kind == 1 else \
        _free(rng, t)


def sample_motions(n: int, frames: int = 81, fps: float = 30.0, seed: int = 0
                   ) -> np.ndarray:
    """``n`` sequences of ``frames`` COCO-17 poses, world metres (Z up), ``(n, T, 17, 3)``.

    Args:
        n: sequences.
        frames: frames per sequence.
        fps: the motions' frame rate.
        seed: random seed.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((n, frames, 17, 3))
    for i in range(n):
        body = _body(rng)
        q = _motion(rng, frames, fps)
        if rng.uniform() < 0.33:  # limb-level mixing: arms or legs from another motion
            other = _motion(rng, frames, fps)
            part = _ARMS if rng.uniform() < 0.7 else _LEGS
            q[:, part] = other[:, part]
        q += 3.0 * _smooth_noise(rng, frames, len(DOF_NAMES), 0.05)  # nobody is a robot
        q = _clip_limits(q)
        yaw0 = rng.uniform(0, 360)
        turn = rng.normal(0, 20) * np.linspace(0, 1, frames)
        q[:, _IDX["pelvis_rotation"]] = yaw0 + turn
        q[:, _IDX["pelvis_tilt"]] = rng.normal(0, 5) + 2 * _smooth_noise(rng, frames, 1,
                                                                         0.03)[:, 0]
        q[:, _IDX["pelvis_obliquity"]] = rng.normal(0, 3)
        step = rng.uniform(0, 1.5) / fps
        heading = np.radians(yaw0 + turn)
        q[:, _IDX["pelvis_tx"]] = np.cumsum(step * np.cos(heading))
        q[:, _IDX["pelvis_ty"]] = np.cumsum(step * np.sin(heading))
        q[:, _IDX["pelvis_tz"]] = 0.0
        kp = body.keypoints(q)
        kp[..., 2] -= np.nanmin(kp[..., 2], axis=1, keepdims=True).min()  # on the floor
        out[i] = kp
    return out


def view(poses: np.ndarray, seed: int = 0, noise_px: tuple[float, float] = (0.5, 4.0),
         drop: float = 0.05, outliers: float = 0.01, drift_share: float = 0.02
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Film each sequence with a random camera.

    Args:
        poses: ``(n, T, K, 3)`` world metres, Z up.
        seed: random seed.
        noise_px: range of the 2D noise's sigma, pixels (per sequence).
        drop: share of keypoints missing (score 0), in runs of frames.
        outliers: share of keypoints displaced by 5–20 % of the body's size.
        drift_share: largest spread of each keypoint's slow drift, a share of the
            body's height in the image (per sequence, uniform from 0).

    Returns:
        ``(x2d, scores, y3d)``: the lifter's input ``(n, T, K, 2)`` (pixels relative to
        the mid-hip, divided by the focal length: PoseDA's global position alignment),
        ``(n, T, K)`` scores (0 missing, else 1), and the target ``(n, T, K, 3)`` in
        the camera's axes (x right, y down, z forward), metres, relative to the mid-hip.
    """
    rng = np.random.default_rng(seed)
    n, t, k, _ = poses.shape
    x2d = np.empty((n, t, k, 2))
    y3d = np.empty((n, t, k, 3))
    scores = np.ones((n, t, k))
    for i in range(n):
        hips = poses[i, :, 11:13].mean(1)
        centre = hips.mean(0)
        dist = rng.uniform(2.0, 9.0)
        az = rng.uniform(0, 2 * np.pi)
        cam = centre + np.array([dist * np.cos(az), dist * np.sin(az), 0.0])
        cam[2] = rng.uniform(0.3, 2.8)
        target = centre + rng.normal(0, 0.3, 3)
        z = target - cam
        z /= np.linalg.norm(z)
        x = np.cross(z, [0.0, 0.0, 1.0])
        x /= np.linalg.norm(x)
        R = np.stack([x, np.cross(z, x), z])
        # a slight roll, as a hand-held phone
        roll = np.radians(rng.normal(0, 3))
        Rr = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0],
                       [0, 0, 1]])
        R = Rr @ R
        pc = (poses[i] - cam) @ R.T                  # (T, K, 3) camera axes
        fov = np.radians(rng.uniform(20, 80))
        f = 960.0 / np.tan(fov / 2)
        uv = f * pc[..., :2] / pc[..., 2:3]          # pixels from the principal point
        uv += rng.normal(0, rng.uniform(*noise_px), uv.shape)
        size = np.ptp(uv[..., 1], axis=1).mean()
        # slow drifts: a detector's bias on this person and view
        drift = _smooth_noise(rng, t, k * 2, rng.uniform(0.01, 0.08)).reshape(t, k, 2)
        uv += rng.uniform(0.0, drift_share) * size * drift
        bad = rng.uniform(size=(t, k)) < outliers
        uv[bad] += rng.normal(0, rng.uniform(0.05, 0.2) * size, (int(bad.sum()), 2))
        root2d = uv[:, 11:13].mean(1, keepdims=True)
        x2d[i] = (uv - root2d) / f
        y3d[i] = pc - pc[:, 11:13].mean(1, keepdims=True)
        # missing keypoints in runs of a few frames
        for _ in range(rng.poisson(drop * t * k / 6)):
            kk, t0 = rng.integers(k), rng.integers(t)
            scores[i, t0:t0 + rng.integers(1, 12), kk] = 0.0
    x2d[scores == 0] = 0.0
    return x2d, scores, y3d
