"""Poses whose truth is known: a simple kinematic body posed by joint angles.

:func:`pose_from_angles` builds the 3D keypoints of the Halpe-26 layout (world axes, Z up,
metres; the person faces +X, their left is +Y) from named angles, so that tests and
benchmarks can check every posecode against the angle that made it. Segment lengths are
those of a 1.75 m adult (Winter's proportions, rounded). :func:`random_pose` draws
plausible poses (joint ranges of everyday movement).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..poses import Poses
from ..skeletons import get_skeleton

#: segment lengths (m)
LENGTHS = {"pelvis_half": 0.09, "trunk": 0.50, "shoulder_half": 0.19, "neck": 0.12,
           "head": 0.14, "upper_arm": 0.30, "forearm": 0.26, "thigh": 0.43, "shin": 0.42,
           "foot": 0.20, "heel": 0.05, "ankle_height": 0.08}

#: angle name -> (default, low, high) degrees, the ranges random_pose draws from
ANGLES: dict[str, tuple[float, float, float]] = {
    "trunk_lean": (0.0, -30.0, 90.0), "trunk_side": (0.0, -35.0, 35.0),
    "trunk_twist": (0.0, -60.0, 60.0), "head_turn": (0.0, -70.0, 70.0),
    "head_pitch": (0.0, -40.0, 40.0),
    **{f"{s}_{a}": v for s in ("left", "right") for a, v in (
        ("hip_flexion", (0.0, -20.0, 120.0)), ("hip_abduction", (0.0, -10.0, 45.0)),
        ("knee_flexion", (0.0, 0.0, 150.0)), ("ankle_plantarflexion", (0.0, -20.0, 45.0)),
        ("shoulder_flexion", (0.0, -40.0, 180.0)),
        ("shoulder_abduction", (0.0, 0.0, 180.0)), ("elbow_flexion", (0.0, 0.0, 150.0)))},
}


def _rot(axis: str, deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return {"x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def pose_from_angles(angles: Mapping[str, float] | None = None, *,
                     heading: float = 0.0, pitch: float = 0.0,
                     lengths: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Keypoint name -> (3,) position of the posed body (see the module doc).

    Angles (degrees; names in :data:`ANGLES`; missing ones take their default):
    ``trunk_lean`` forward (> 0) about the hips, ``trunk_side`` to the left (> 0),
    ``trunk_twist`` shoulders turned left (> 0); ``head_turn`` left (> 0), ``head_pitch``
    up (> 0); per side ``hip_flexion`` (thigh forward), ``hip_abduction`` (thigh out to
    the side), ``knee_flexion`` (shank back), ``ankle_plantarflexion`` (toes down),
    ``shoulder_flexion`` (arm forward and up),
    ``shoulder_abduction`` (arm out to the side and up; applied before flexion),
    ``elbow_flexion`` (forearm forward). The whole body is pitched forward by ``pitch``
    degrees (90: lying face down), its lowest point put on Z = 0, and turned by
    ``heading`` degrees about Z (its facing direction). ``lengths`` overrides entries of
    :data:`LENGTHS` (metres: another body's proportions).
    """
    a = {k: v[0] for k, v in ANGLES.items()}
    a.update(angles or {})
    L = {**LENGTHS, **(lengths or {})}
    P: dict[str, np.ndarray] = {}
    down = np.array([0.0, 0.0, -1.0])
    # pelvis at the origin; trunk leans about the hips
    R_trunk = _rot("y", a["trunk_lean"]) @ _rot("x", -a["trunk_side"])
    for s, sg in (("left", 1.0), ("right", -1.0)):
        P[f"{s}_hip"] = np.array([0.0, sg * L["pelvis_half"], 0.0])
    R_sh = R_trunk @ _rot("z", a["trunk_twist"])
    neck = R_trunk @ np.array([0.0, 0.0, L["trunk"]])
    P["neck"] = neck
    for s, sg in (("left", 1.0), ("right", -1.0)):
        P[f"{s}_shoulder"] = neck + R_sh @ np.array([0.0, sg * L["shoulder_half"], -0.03])
    # head: turned and pitched against the trunk
    R_head = R_sh @ _rot("z", a["head_turn"] - a["trunk_twist"]) @ _rot("y", -a["head_pitch"])
    head_base = neck + R_trunk @ np.array([0.0, 0.0, L["neck"]])
    P["nose"] = head_base + R_head @ np.array([0.10, 0.0, 0.0])
    for s, sg in (("left", 1.0), ("right", -1.0)):
        P[f"{s}_ear"] = head_base + R_head @ np.array([0.0, sg * 0.075, 0.025])
        P[f"{s}_eye"] = head_base + R_head @ np.array([0.085, sg * 0.032, 0.04])
    P["head_top"] = head_base + R_head @ np.array([0.0, 0.0, L["head"]])
    for s, sg in (("left", 1.0), ("right", -1.0)):
        # arm: abduction (about the forward axis), then flexion (about the lateral axis)
        R_arm = R_sh @ _rot("y", -a[f"{s}_shoulder_flexion"]) @ _rot(
            "x", sg * a[f"{s}_shoulder_abduction"])
        elbow = P[f"{s}_shoulder"] + R_arm @ (down * L["upper_arm"])
        R_fore = R_arm @ _rot("y", -a[f"{s}_elbow_flexion"])
        P[f"{s}_elbow"] = elbow
        P[f"{s}_wrist"] = elbow + R_fore @ (down * L["forearm"])
        # leg
        R_thigh = _rot("y", -a[f"{s}_hip_flexion"]) @ _rot("x", sg * a[f"{s}_hip_abduction"])
        knee = P[f"{s}_hip"] + R_thigh @ (down * L["thigh"])
        R_shin = R_thigh @ _rot("y", a[f"{s}_knee_flexion"])
        ankle = knee + R_shin @ (down * L["shin"])
        P[f"{s}_knee"], P[f"{s}_ankle"] = knee, ankle
        R_foot = R_shin @ _rot("y", a[f"{s}_ankle_plantarflexion"])
        fwd = R_foot @ np.array([1.0, 0.0, 0.0])
        sole = R_foot @ (down * L["ankle_height"])
        P[f"{s}_heel"] = ankle + sole - fwd * L["heel"]
        P[f"{s}_big_toe"] = ankle + sole + fwd * L["foot"] + R_foot @ np.array([0, sg * 0.03,
                                                                                 0])
        P[f"{s}_small_toe"] = ankle + sole + fwd * (L["foot"] - 0.03) + R_foot @ np.array(
            [0, sg * 0.07, 0])
    P["mid_hip"] = (P["left_hip"] + P["right_hip"]) / 2
    Ry = _rot("y", pitch)
    P = {k: Ry @ v for k, v in P.items()}
    low = min(float(v[2]) for v in P.values())
    Rz = _rot("z", heading)
    return {k: Rz @ (v - np.array([0.0, 0.0, low])) for k, v in P.items()}


def random_pose(rng: np.random.Generator) -> dict[str, float]:
    """Angles drawn uniformly from each range of :data:`ANGLES` (half of the poses keep
    a neutral trunk and head, as most everyday poses do)."""
    out = {k: float(rng.uniform(lo, hi)) for k, (_, lo, hi) in ANGLES.items()}
    if rng.random() < 0.5:
        for k in ("trunk_lean", "trunk_side", "trunk_twist", "head_turn", "head_pitch"):
            out[k] = float(rng.uniform(-10, 10))
    return out


def poses_from_angles(angle_sets: list[Mapping[str, float]], *, fps: float = 30.0,
                      headings: list[float] | None = None,
                      pitches: list[float] | None = None) -> Poses:
    """A :class:`Poses` (Halpe-26, world, one person) with one frame per angle set."""
    skel = get_skeleton("halpe26")
    T = len(angle_sets)
    coords = np.full((T, 1, len(skel), 3), np.nan, np.float32)
    for t, ang in enumerate(angle_sets):
        pts = pose_from_angles(ang, heading=headings[t] if headings else 0.0,
                               pitch=pitches[t] if pitches else 0.0)
        for i, n in enumerate(skel.keypoints):
            if n in pts:
                coords[t, 0, i] = pts[n]
    scores = np.isfinite(coords).all(-1).astype(np.float32)
    return Poses(skel, coords, scores, np.arange(T) / fps, "world", tracked=True)
