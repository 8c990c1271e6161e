"""Labelled synthetic motions whose truth is known, for training and testing action models.

Each class is a periodic pattern of joint angles applied to the posed body of
:mod:`posestack.describe.synthetic` (so joint ranges stay plausible), with a random body
(proportions scaled 0.85–1.15 with ±5% per segment), speed (period), phase, amplitude and
facing direction. :func:`make_motion` returns the 3D keypoints (Halpe-26, world, Z up)
and, through a random camera around the person, noisy 2D keypoints with missing points.

Classes (:data:`CLASSES`): walk in place, squat, jumping jack, wave with the left hand,
wave with the right hand, arm circles, lunge, bow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..describe.synthetic import LENGTHS, pose_from_angles
from ..poses import Poses
from ..skeletons import get_skeleton


def _walk(p: float, a: float) -> dict[str, float]:
    s = math.sin(2 * math.pi * p)
    return {"left_hip_flexion": 35 * a * max(s, 0), "left_knee_flexion": 60 * a * max(s, 0),
            "right_hip_flexion": 35 * a * max(-s, 0),
            "right_knee_flexion": 60 * a * max(-s, 0),
            "left_shoulder_flexion": -20 * a * s, "right_shoulder_flexion": 20 * a * s,
            "left_elbow_flexion": 20, "right_elbow_flexion": 20}


def _squat(p: float, a: float) -> dict[str, float]:
    d = 0.5 - 0.5 * math.cos(2 * math.pi * p)          # 0 standing .. 1 deepest
    return {"left_hip_flexion": 100 * a * d, "right_hip_flexion": 100 * a * d,
            "left_knee_flexion": 120 * a * d, "right_knee_flexion": 120 * a * d,
            "trunk_lean": 35 * a * d, "left_shoulder_flexion": 80 * d,
            "right_shoulder_flexion": 80 * d}


def _jack(p: float, a: float) -> dict[str, float]:
    d = 0.5 - 0.5 * math.cos(2 * math.pi * p)
    return {"left_shoulder_abduction": 160 * a * d, "right_shoulder_abduction": 160 * a * d,
            "left_hip_abduction": 20 * a * d, "right_hip_abduction": 20 * a * d,
            "left_knee_flexion": 10 * d, "right_knee_flexion": 10 * d}


def _wave(side: str) -> Callable[[float, float], dict[str, float]]:
    def f(p: float, a: float) -> dict[str, float]:
        return {f"{side}_shoulder_abduction": 150, f"{side}_shoulder_flexion": 10,
                f"{side}_elbow_flexion": 45 + 35 * a * math.sin(2 * math.pi * p)}
    return f


def _circles(p: float, a: float) -> dict[str, float]:
    c, s = math.cos(2 * math.pi * p), math.sin(2 * math.pi * p)
    return {"left_shoulder_abduction": 90 + 25 * a * c, "right_shoulder_abduction":
            90 + 25 * a * c, "left_shoulder_flexion": 25 * a * s,
            "right_shoulder_flexion": 25 * a * s}


def _lunge(p: float, a: float) -> dict[str, float]:
    d = 0.5 - 0.5 * math.cos(2 * math.pi * p)
    return {"left_hip_flexion": 80 * a * d, "left_knee_flexion": 90 * a * d,
            "right_hip_flexion": -20 * a * d, "right_knee_flexion": 60 * a * d}


def _bow(p: float, a: float) -> dict[str, float]:
    d = 0.5 - 0.5 * math.cos(2 * math.pi * p)
    return {"trunk_lean": 70 * a * d, "head_pitch": -20 * a * d,
            "left_shoulder_flexion": 15 * d, "right_shoulder_flexion": 15 * d}


#: class name -> angles(phase 0..1, amplitude ~1)
CLASSES: dict[str, Callable[[float, float], dict[str, float]]] = {
    "walk_in_place": _walk, "squat": _squat, "jumping_jack": _jack,
    "wave_left_hand": _wave("left"), "wave_right_hand": _wave("right"),
    "arm_circles": _circles, "lunge": _lunge, "bow": _bow,
}


@dataclass(frozen=True)
class Motion:
    """One synthetic clip: ``poses3d`` (Halpe-26, world, metres), ``poses2d`` (the same
    through ``camera``: pixels, with noise and missing points), its class ``label``."""

    label: str
    poses3d: Poses
    poses2d: Poses
    camera: dict


def _project(X: np.ndarray, rng: np.random.Generator, times: np.ndarray, scale: float, *,
             image: tuple[int, int], noise_px: float, drop: float,
             distance: tuple[float, float] = (3.5, 6.0)) -> tuple[Poses, dict]:
    """World points ``X (T, P, K, 3)`` through a random camera ``distance`` metres away at
    0.8–1.8 m height looking at the body's middle: noisy 2D with missing points."""
    frames, P, K = X.shape[:3]
    h, w = image
    dist, az = rng.uniform(*distance), rng.uniform(0, 2 * np.pi)
    height = rng.uniform(0.8, 1.8)
    c = np.array([dist * np.cos(az), dist * np.sin(az), height])
    target = np.array([0.0, 0.0, 0.9 * scale])
    z = (target - c) / np.linalg.norm(target - c)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    f = rng.uniform(0.8, 1.2) * w
    uvw = (X.reshape(-1, 3).astype(np.float64) - c) @ R.T
    uv = f * uvw[:, :2] / uvw[:, 2:3] + [w / 2, h / 2]
    uv = uv.reshape(frames, P, K, 2) + rng.normal(0, noise_px, (frames, P, K, 2))
    score = np.where(rng.random((frames, P, K)) < drop, 0.0,
                     rng.uniform(0.6, 1.0, (frames, P, K))).astype(np.float32)
    score = np.where(np.isfinite(uv).all(-1), score, 0.0).astype(np.float32)
    uv = np.where(score[..., None] > 0, uv, np.nan).astype(np.float32)
    skel = get_skeleton("halpe26")
    return (Poses(skel, uv, score, times, "image:synthetic", tracked=True),
            {"R": R, "centre": c, "focal": f, "size": (w, h)})


def make_motion(label: str, rng: np.random.Generator, *, frames: int = 60,
                fps: float = 30.0, noise_px: float = 2.0, drop: float = 0.05,
                image: tuple[int, int] = (720, 1280)) -> Motion:
    """A random clip of one class (see the module doc).

    Args:
        label: a key of :data:`CLASSES`.
        rng: the random generator (the same seed, the same clip).
        frames, fps: length and rate.
        noise_px: 2D noise (pixels, standard deviation).
        drop: share of 2D points missing (score 0, NaN).
        image: ``(height, width)`` of the virtual camera.
    """
    fn = CLASSES[label]
    scale = rng.uniform(0.85, 1.15)
    lengths = {k: v * scale * rng.uniform(0.95, 1.05) for k, v in LENGTHS.items()}
    period = rng.uniform(0.8, 2.0)                       # seconds per cycle
    phase, amp = rng.uniform(0, 1), rng.uniform(0.8, 1.1)
    heading = rng.uniform(-180, 180)
    skel = get_skeleton("halpe26")
    X = np.full((frames, 1, len(skel), 3), np.nan, np.float32)
    for t in range(frames):
        pts = pose_from_angles(fn((phase + t / fps / period) % 1.0, amp), heading=heading,
                               lengths=lengths)
        for i, n in enumerate(skel.keypoints):
            if n in pts:
                X[t, 0, i] = pts[n]
    times = np.arange(frames) / fps
    p3 = Poses(skel, X, np.isfinite(X).all(-1).astype(np.float32), times, "world",
               tracked=True)
    p2, cam = _project(X, rng, times, scale, image=image, noise_px=noise_px, drop=drop)
    return Motion(label, p3, p2, cam)


@dataclass(frozen=True)
class Sequence:
    """Several people, each chaining actions: ``poses3d``/``poses2d`` as in
    :class:`Motion` (``P`` people), and the truth: ``(person, start, end, label)`` rows,
    seconds (a segment's boundaries are the middle of the blends around it)."""

    poses3d: Poses
    poses2d: Poses
    truth: list[tuple[int, float, float, str]]
    camera: dict


def make_sequence(plan: list[list[tuple[str, float]]], rng: np.random.Generator, *,
                  fps: float = 30.0, blend: float = 0.4, noise_px: float = 2.0,
                  drop: float = 0.05, image: tuple[int, int] = (720, 1280),
                  spacing: float = 1.8) -> Sequence:
    """A long clip of ``len(plan)`` people side by side, each doing its list of
    ``(class, seconds)`` one after the other (angles blended linearly over ``blend``
    seconds at each change), filmed by one random camera.

    Every person has its own random body, facing, and per-segment speed, phase and
    amplitude; all plans must last equally long (to the frame).
    """
    lens = {round(sum(d for _, d in p) * fps) for p in plan}
    if len(lens) != 1 or not plan:
        raise ValueError("every person's plan must last equally long")
    frames = lens.pop()
    skel = get_skeleton("halpe26")
    P = len(plan)
    X = np.full((frames, P, len(skel), 3), np.nan, np.float32)
    truth: list[tuple[int, float, float, str]] = []
    times = np.arange(frames) / fps
    scales = []
    for p, steps in enumerate(plan):
        scale = rng.uniform(0.85, 1.15)
        scales.append(scale)
        lengths = {k: v * scale * rng.uniform(0.95, 1.05) for k, v in LENGTHS.items()}
        heading = rng.uniform(-60, 60)
        offset = np.array([(p - (P - 1) / 2) * spacing, rng.uniform(-0.3, 0.3), 0.0])
        segs, t0 = [], 0.0
        for label, dur in steps:
            if label not in CLASSES:
                raise ValueError(f"unknown class {label!r}")
            segs.append((t0, t0 + dur, CLASSES[label], rng.uniform(0.8, 2.0),
                         rng.uniform(0, 1), rng.uniform(0.8, 1.1)))
            truth.append((p, t0, t0 + dur, label))
            t0 += dur

        def angles(t: float, k: int, segs=segs) -> dict[str, float]:
            a, _, fn, period, phase, amp = segs[k]
            return fn((phase + (t - a) / period) % 1.0, amp)

        for ti, t in enumerate(times):
            k = next(i for i, sg in enumerate(segs) if t < sg[1] or i == len(segs) - 1)
            ang = angles(t, k)
            # blend with the neighbour within blend/2 of a boundary
            for j, edge in ((k - 1, segs[k][0]), (k + 1, segs[k][1])):
                if 0 <= j < len(segs) and abs(t - edge) < blend / 2:
                    w = 0.5 - abs(t - edge) / blend            # 0.5 at the edge, 0 away
                    other = angles(t, j)
                    keys = set(ang) | set(other)
                    ang = {n: (1 - w) * ang.get(n, 0.0) + w * other.get(n, 0.0) for n in keys}
            pts = pose_from_angles(ang, heading=heading, lengths=lengths)
            for i, n in enumerate(skel.keypoints):
                if n in pts:
                    X[ti, p, i] = np.asarray(pts[n]) + offset
    p3 = Poses(skel, X, np.isfinite(X).all(-1).astype(np.float32), times, "world",
               tracked=True)
    p2, cam = _project(X, rng, times, float(np.mean(scales)), image=image,
                       noise_px=noise_px, drop=drop, distance=(6.0, 8.0))
    return Sequence(p3, p2, truth, cam)


def synthetic_dataset(n_per_class: int, *, dim: int = 3, layout: str | None = None,
                      seed: int = 0, frames: int = 60, split: str = "train"):
    """An :class:`~posestack.actions.data.ActionData` of ``n_per_class`` random clips per
    class (all in one ``split``), 3D (``ntu25`` layout by default) or 2D (``coco``)."""
    from .data import ActionData
    from .layouts import to_model_layout

    layout = layout or ("ntu25" if dim == 3 else "coco")
    rng = np.random.default_rng(seed)
    names = sorted(CLASSES)
    anns = []
    for k, name in enumerate(names):
        for i in range(n_per_class):
            m = make_motion(name, rng, frames=frames)
            poses = m.poses3d if dim == 3 else m.poses2d
            kp, sc = to_model_layout(poses, layout)
            ann = {"frame_dir": f"{split}_{name}_{i}", "total_frames": frames, "label": k,
                   "keypoint": np.nan_to_num(kp, nan=0.0)}
            if dim == 2:
                ann["keypoint_score"] = sc
                ann["img_shape"] = ann["original_shape"] = (720, 1280)
            anns.append(ann)
    return ActionData({split: [a["frame_dir"] for a in anns]}, anns, names)


__all__ = ["CLASSES", "Motion", "Sequence", "make_motion", "make_sequence", "synthetic_dataset"]
