"""Skeletal inverse kinematics: a space-time fit of a kinematic body to keypoints.

:func:`fit` fits a kinematic tree (XNect-style, with OpenSim-like joints) to the
3D keypoints of each person of a :class:`~posestack.poses.Poses`, and optionally
to the 2D keypoints of calibrated cameras, over the whole sequence at once:

* **per-person constant body**: bone lengths are the medians of the per-frame
  keypoint distances (NaN ignored; left/right averaged with ``symmetric``), the
  offsets of head, foot, hand and extra pelvis points are medians of their
  coordinates in segment frames built from the keypoints themselves
  (:func:`estimate_model`);
* **one least-squares problem for all frames**: keypoint residuals (metres,
  weighted by score; NaN → weight 0), reprojection residuals (pixels scaled to
  metres at the person's depth), an acceleration penalty on every degree of
  freedom (``smooth``), soft joint limits (:data:`LIMITS`) and weak priors;
* **solver**: Levenberg–Marquardt with analytic forward kinematics and an
  analytic (geometric) Jacobian, vectorised over frames; the normal equations
  are block-banded in time and solved with a banded Cholesky
  (``scipy.linalg.solveh_banded``). ``solver="scipy"`` solves the same problem
  with ``scipy.optimize.least_squares(method="trf")`` and a sparse Jacobian —
  the slow reference the fast path is tested against.

Model (segments, parent → child; DoFs in the order applied, body-fixed):

=============  ===========  ==========================================================
segment        parent       degrees of freedom (name: axis of the parent-side frame)
=============  ===========  ==========================================================
pelvis         world        pelvis_tx, _ty, _tz; pelvis_rotation: +Z,
                            pelvis_tilt: +Y, pelvis_obliquity: +X
trunk          pelvis       lumbar_flexion: +Y, lumbar_bending: +X, lumbar_rotation: +Z
head           trunk        neck_flexion: +Y, neck_bending: +X, neck_rotation: +Z
thigh (L/R)    pelvis       hip_flexion: −Y, hip_adduction: ∓X, hip_rotation: ∓Z
shank          thigh        knee_flexion: +Y
foot           shank        ankle_dorsiflexion: −Y, ankle_inversion: ∓X
upper arm      trunk        shoulder_flexion: −Y, shoulder_abduction: ±X,
                            shoulder_rotation: ∓Z
forearm        upper arm    elbow_flexion: −Y
hand           forearm      forearm_pronation: ∓Z, wrist_flexion: −Y, wrist_deviation: ∓X
=============  ===========  ==========================================================

(upper sign: left side, lower sign: right side.) Segment origins: pelvis at
the midpoint of the hip joints (the lumbar joint is there too); hips at
``(0, ±hip_width/2, 0)``; the head (neck joint) at ``(0, 0, trunk)`` in the
trunk frame; shoulders at ``(shoulder_forward, ±shoulder_width/2, trunk +
shoulder_height)``; knee, ankle, elbow and wrist at ``(0, 0, −length)`` of
their parent segment.

Convention:
    * Axes: world right-handed, metres, **+Z up** (other inputs: ``up=``; the
      fit runs in the world turned so that ``up`` is +Z). Every segment frame:
      X anterior, Y to the person's left, Z superior (along the segment, from
      the distal joint to the proximal one), in the zero pose.
    * Zero pose = the anatomical standing pose: upright, facing +X of the
      world, arms hanging with the palms forward, feet flat (the heel→toe line
      perpendicular to the shank), head level (the ear→eye line perpendicular
      to the trunk).
    * Signs (ISB-style, the same anatomical motion has the same sign on both
      sides): flexion, adduction, internal rotation, dorsiflexion, inversion,
      abduction (shoulder), pronation, ulnar deviation are positive; pelvis_tilt
      > 0 is anterior tilt, pelvis_obliquity > 0 raises the left side,
      pelvis_rotation > 0 turns to the left (about +Z); lumbar/neck bending > 0
      bends to the right, lumbar/neck rotation > 0 turns to the left. Every angle
      out is in (−180°, 180°] (the fit itself follows a turn continuously; a
      person turning past 180° jumps by 360° in the output, as in Sports2D).
    * Observability: the hips lie on the pelvis's tilt axis, so keypoints
      cannot tell pelvis tilt from lumbar flexion. By default (``lean="pelvis"``)
      the pelvis takes the sagittal lean of the trunk and lumbar flexion is held
      near 0 by a weak prior, as Pose2Sim's OpenSim IK setups do (an
      ``IKCoordinateTask`` on ``L5_S1_Flex_Ext``, weight 0.1); hip flexion is
      then the thigh relative to the trunk's sagittal line, the quantity OpenSim
      reports. ``lean="split"`` shares the lean equally (``lumbar_flexion ≈
      pelvis_tilt``). Shoulder (and hip) rotation of a straight elbow (knee)
      without hand (foot) points is held by the smoothing and a weak prior
      towards 0. A layout without ears and eyes (h36m17) gets a 2-DoF neck
      (flexion, bending) whose zero is the person's median head posture.
    * 2D keypoints (``cameras=``): reprojection residuals on undistorted pixels,
      weighted by score × ``weight2d`` and scaled by depth / focal length (a
      pixel counts as the metric error it means at the person); a view farther
      than 10 cm (at that scale) from the 3D-only fit is left out, since a
      wrong detection would pull the body by metres.
    * Degrees out (translations in metres); radians never leave this module.

:data:`OPENSIM_NAMES` maps our angles to the coordinates of Pose2Sim's OpenSim
model (``Model_Pose2Sim_simple.osim``, Rajagopal-based) with their signs, read
from the model's joint axes: hip, knee (``knee_angle_*`` > 0 in flexion in this
model, range 0–155°), ankle, shoulder and elbow coordinates have our signs
(``arm_add`` is adduction: −abduction); ``L5_S1_Flex_Ext`` and the model's
``neck_flexion`` are positive in *extension*; ``pelvis_tilt`` is positive for a
posterior tilt. :func:`to_opensim` converts a result, with the pelvis rotation
decomposed in OpenSim's own order and axes.

Example (a model's own keypoints: zero pose with the right knee bent 30°)::

    >>> import numpy as np
    >>> from posestack.poses import Poses
    >>> m = default_model("halpe26")
    >>> q = np.zeros((5, len(DOF_NAMES))); q[:, DOF_NAMES.index("pelvis_tz")] = 0.95
    >>> q[:, DOF_NAMES.index("right_knee_flexion")] = 30.0
    >>> xyz = m.keypoints(q)[:, None]
    >>> res = fit(Poses("halpe26", xyz, np.ones(xyz.shape[:3]), np.arange(5) / 30, "world"))
    >>> round(float(res.angles.get("right_knee_flexion")[2, 0]), 1)
    30.0
"""

from __future__ import annotations

import functools
import logging
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy import linalg, optimize, sparse
from scipy.spatial.transform import Rotation

from posestack.errors import InputError
from posestack.kinematics.angles import Angles
from posestack.poses import Poses
from posestack.skeletons import Skeleton, get_skeleton

log = logging.getLogger(__name__)

__all__ = [
    "ANGLE_NAMES",
    "DOF_NAMES",
    "LIMITS",
    "OPENSIM_NAMES",
    "BodyModel",
    "IKResult",
    "default_model",
    "estimate_model",
    "fit",
    "static_angles",
    "to_opensim",
]

_SIDES = (("left", 1.0), ("right", -1.0))

# --------------------------------------------------------------------------------------
# The model: segments and degrees of freedom
# --------------------------------------------------------------------------------------

_SEGMENTS: tuple[tuple[str, str | None], ...] = (
    ("pelvis", None),
    ("trunk", "pelvis"),
    ("head", "trunk"),
    *(
        (f"{s}_{seg}", f"{s}_{parent}" if parent != "pelvis" else "pelvis")
        for s, _ in _SIDES
        for seg, parent in (("thigh", "pelvis"), ("shank", "thigh"), ("foot", "shank"))
    ),
    *(
        (f"{s}_{seg}", f"{s}_{parent}" if parent != "trunk" else "trunk")
        for s, _ in _SIDES
        for seg, parent in (("upper_arm", "trunk"), ("forearm", "upper_arm"),
                            ("hand", "forearm"))
    ),
)
_SEG_INDEX = {name: i for i, (name, _) in enumerate(_SEGMENTS)}


@dataclass(frozen=True)
class _Dof:
    name: str
    segment: str
    axis: int          # 0, 1, 2 = X, Y, Z of the segment's parent-side frame
    sign: float        # rotation about sign * axis
    translation: bool
    lo: float          # degrees (NaN: no limit)
    hi: float


def _dof_table() -> tuple[_Dof, ...]:
    out: list[_Dof] = []

    def add(name: str, seg: str, axis: str, lo: float = math.nan, hi: float = math.nan,
            translation: bool = False) -> None:
        out.append(_Dof(name, seg, "xyz".index(axis[1]), 1.0 if axis[0] == "+" else -1.0,
                        translation, lo, hi))

    for a in "xyz":
        add(f"pelvis_t{a}", "pelvis", "+" + a, translation=True)
    add("pelvis_rotation", "pelvis", "+z")
    add("pelvis_tilt", "pelvis", "+y")
    add("pelvis_obliquity", "pelvis", "+x")
    add("lumbar_flexion", "trunk", "+y", -30, 90)
    add("lumbar_bending", "trunk", "+x", -40, 40)
    add("lumbar_rotation", "trunk", "+z", -45, 45)
    add("neck_flexion", "head", "+y", -60, 70)
    add("neck_bending", "head", "+x", -45, 45)
    add("neck_rotation", "head", "+z", -80, 80)
    for s, sgn in _SIDES:
        m = "-" if sgn > 0 else "+"      # the mirrored sign: left -, right +
        add(f"{s}_hip_flexion", f"{s}_thigh", "-y", -30, 140)
        add(f"{s}_hip_adduction", f"{s}_thigh", m + "x", -50, 30)
        add(f"{s}_hip_rotation", f"{s}_thigh", m + "z", -50, 50)
        add(f"{s}_knee_flexion", f"{s}_shank", "+y", 0, 160)
        add(f"{s}_ankle_dorsiflexion", f"{s}_foot", "-y", -55, 35)
        add(f"{s}_ankle_inversion", f"{s}_foot", m + "x", -25, 30)
    for s, sgn in _SIDES:
        p = "+" if sgn > 0 else "-"
        m = "-" if sgn > 0 else "+"
        add(f"{s}_shoulder_flexion", f"{s}_upper_arm", "-y", -90, 180)
        add(f"{s}_shoulder_abduction", f"{s}_upper_arm", p + "x", -45, 180)
        add(f"{s}_shoulder_rotation", f"{s}_upper_arm", m + "z", -90, 100)
        add(f"{s}_elbow_flexion", f"{s}_forearm", "-y", 0, 160)
        add(f"{s}_forearm_pronation", f"{s}_hand", m + "z", -30, 180)
        add(f"{s}_wrist_flexion", f"{s}_hand", "-y", -80, 80)
        add(f"{s}_wrist_deviation", f"{s}_hand", m + "x", -30, 40)
    return tuple(out)


_DOFS = _dof_table()
#: Every degree of freedom, in the order of :meth:`BodyModel.keypoints` input:
#: ``pelvis_tx, pelvis_ty, pelvis_tz`` (metres) then the rotations (degrees).
DOF_NAMES: tuple[str, ...] = tuple(d.name for d in _DOFS)
#: The rotational degrees of freedom (degrees), in output order.
ANGLE_NAMES: tuple[str, ...] = tuple(d.name for d in _DOFS if not d.translation)
#: Soft joint limits in degrees, ``name -> (low, high)`` (a penalty grows outside).
LIMITS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {d.name: (d.lo, d.hi) for d in _DOFS if not math.isnan(d.lo)}
)

#: Our angle -> (coordinate of Pose2Sim's ``Model_Pose2Sim_simple.osim``, sign):
#: ``opensim ≈ sign * ours``. Exact for hips, knees, lumbar, neck, shoulders (same
#: axes and order); approximate for the ankle/subtalar, elbow, forearm and wrist,
#: whose OpenSim axes are oblique, and for the pelvis, whose OpenSim angles are
#: about the ground's axes in the order tilt–list–rotation (see :func:`to_opensim`).
OPENSIM_NAMES: Mapping[str, tuple[str, float]] = MappingProxyType({
    "pelvis_tilt": ("pelvis_tilt", -1.0),
    "pelvis_obliquity": ("pelvis_list", 1.0),
    "pelvis_rotation": ("pelvis_rotation", 1.0),
    "lumbar_flexion": ("L5_S1_Flex_Ext", -1.0),
    "lumbar_bending": ("L5_S1_Lat_Bending", 1.0),
    "lumbar_rotation": ("L5_S1_axial_rotation", 1.0),
    "neck_flexion": ("neck_flexion", -1.0),
    "neck_bending": ("neck_bending", 1.0),
    "neck_rotation": ("neck_rotation", 1.0),
    **{
        f"{s}_{ours}": (f"{theirs}_{s[0]}", sign)
        for s, _ in _SIDES
        for ours, theirs, sign in (
            ("hip_flexion", "hip_flexion", 1.0),
            ("hip_adduction", "hip_adduction", 1.0),
            ("hip_rotation", "hip_rotation", 1.0),
            ("knee_flexion", "knee_angle", 1.0),
            ("ankle_dorsiflexion", "ankle_angle", 1.0),
            ("ankle_inversion", "subtalar_angle", 1.0),
            ("shoulder_flexion", "arm_flex", 1.0),
            ("shoulder_abduction", "arm_add", -1.0),
            ("shoulder_rotation", "arm_rot", 1.0),
            ("elbow_flexion", "elbow_flex", 1.0),
            ("forearm_pronation", "pro_sup", 1.0),
            ("wrist_flexion", "wrist_flex", 1.0),
            ("wrist_deviation", "wrist_dev", 1.0),
        )
    },
})

# Weights of the penalty terms, in metres of keypoint error per radian (or per metre).
_W_PRIOR = 0.003     # every joint angle towards 0 (holds unobservable DoFs)
_W_SPLIT = 0.1       # lumbar_flexion ≈ 0 or ≈ pelvis_tilt (the unobservable split)
_W_LIMIT = 10.0      # per radian beyond a limit
_SMOOTH_HZ = 6.0     # smooth=1: -6 dB frequency of a DoF observed on its own
_H_FLOOR = 1e-3      # m²/rad², least data weight used to scale the smoothing
_RTOL = 1e-8         # stop when a step lowers the cost by less than this fraction...
_STEP_TOL = 1e-6     # ... or moves no DoF by more than this (rad, m)
_GATE_2D = 0.1       # m: 2D views farther than this from the 3D fit are left out
_FRAME_ITER = 10     # iterations of the per-frame stage before the space-time solve


# --------------------------------------------------------------------------------------
# Keypoints of a layout: which model point each one is
# --------------------------------------------------------------------------------------

# Keypoints at a segment's origin (offset 0 in that segment).
_AT_ORIGIN: dict[str, str] = {"neck": "head", "thorax": "head"}
for _s, _ in _SIDES:
    _AT_ORIGIN.update({
        f"{_s}_hip": f"{_s}_thigh", f"{_s}_knee": f"{_s}_shank", f"{_s}_ankle": f"{_s}_foot",
        f"{_s}_shoulder": f"{_s}_upper_arm", f"{_s}_elbow": f"{_s}_forearm",
        f"{_s}_wrist": f"{_s}_hand", f"{_s}_hand_root": f"{_s}_hand",
        f"{_s}_hand_wrist": f"{_s}_hand",
    })
# Keypoints rigid in a segment at an offset estimated from the data.
_ESTIMATED: dict[str, str] = {"mid_hip": "pelvis", "pelvis": "pelvis", "spine": "trunk"}
for _n in ("nose", "head_top", "upper_neck", "neck_base", "head"):
    _ESTIMATED[_n] = "head"
for _s, _ in _SIDES:
    for _n in ("eye", "eye_inner", "eye_outer", "ear"):
        _ESTIMATED[f"{_s}_{_n}"] = "head"
    _ESTIMATED[f"mouth_{_s}"] = "head"
    for _n in ("heel", "big_toe", "small_toe", "foot_index"):
        _ESTIMATED[f"{_s}_{_n}"] = f"{_s}_foot"
    for _n in ("index", "pinky", "thumb", "forefinger1", "middle_finger1", "ring_finger1",
               "pinky_finger1", "hand_index_finger_mcp", "hand_middle_finger_mcp",
               "hand_ring_finger_mcp", "hand_pinky_mcp"):
        _ESTIMATED[f"{_s}_{_n}"] = f"{_s}_hand"

_REQUIRED = tuple(f"{s}_{j}" for s, _ in _SIDES
                  for j in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist"))
_NECK_NAMES = ("neck", "thorax")
# Points that define the segment frames used to estimate offsets (first found wins).
_HEAD_FRAME = ("left_ear", "right_ear", "left_eye", "right_eye")


def _hand_frame_names(skel: Skeleton, side: str) -> tuple[str, str] | None:
    for index, pinky in (("hand_index_finger_mcp", "hand_pinky_mcp"),
                         ("forefinger1", "pinky_finger1"), ("index", "pinky")):
        a, b = f"{side}_{index}", f"{side}_{pinky}"
        if a in skel.keypoints and b in skel.keypoints:
            return a, b
    return None


def _toe_names(skel: Skeleton, side: str) -> tuple[str, ...]:
    toes = tuple(n for n in (f"{side}_big_toe", f"{side}_small_toe") if n in skel.keypoints)
    if len(toes) == 2:
        return toes
    return (f"{side}_foot_index",) if f"{side}_foot_index" in skel.keypoints else toes


@dataclass(frozen=True, eq=False)
class _Structure:
    """What a layout lets the model use: active DoFs and model points."""

    skeleton: Skeleton
    dof_index: np.ndarray      # (n,) indices into _DOFS of the active DoFs
    seg_dofs: tuple[tuple[tuple[int, int, float, bool], ...], ...]  # per segment
    point_kp: np.ndarray       # (M,) keypoint index of each model point
    point_seg: np.ndarray      # (M,) segment of each model point
    point_names: tuple[str, ...]
    estimated: np.ndarray      # (M,) bool: offset estimated from data
    anc: np.ndarray            # (M, n) bool: DoF k moves point m
    pairs: tuple[np.ndarray, np.ndarray]  # (m, k) of the rotational True entries of anc
    dof_seg: np.ndarray        # (n,) segment of each DoF
    trans: np.ndarray          # (n,) bool
    lo: np.ndarray             # (n,) radians, NaN for none
    hi: np.ndarray
    prior: np.ndarray          # (n,) weight of the prior towards 0
    split: tuple[int, int]     # local indices of lumbar_flexion, pelvis_tilt
    neck_dofs: int
    feet: tuple[bool, bool]
    hands: tuple[bool, bool]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(_DOFS[i].name for i in self.dof_index)


@functools.lru_cache(maxsize=32)
def _structure(skel: Skeleton) -> _Structure:
    names = set(skel.keypoints)
    missing = [n for n in _REQUIRED if n not in names]
    if missing:
        raise InputError(
            f"skeletal IK needs the keypoints {', '.join(_REQUIRED)}; layout {skel.name} lacks "
            f"{', '.join(missing)} (layouts with them: halpe26, coco17, blazepose33, body25, "
            "body25b, coco_wholebody133, h36m17, holistic543)"
        )
    head_pts = [n for n in skel.keypoints if _ESTIMATED.get(n) == "head"]
    if all(n in names for n in _HEAD_FRAME):
        neck_dofs = 3
    else:
        neck_dofs = 2 if head_pts else 0
    feet = tuple(f"{s}_heel" in names and bool(_toe_names(skel, s)) for s, _ in _SIDES)
    hands = tuple(_hand_frame_names(skel, s) is not None for s, _ in _SIDES)
    off = set()
    if neck_dofs < 3:
        off.add("neck_rotation")
    if neck_dofs == 0:
        off.update(("neck_flexion", "neck_bending"))
    for (s, _), has_foot, has_hand in zip(_SIDES, feet, hands, strict=True):
        if not has_foot:
            off.update((f"{s}_ankle_dorsiflexion", f"{s}_ankle_inversion"))
        if not has_hand:
            off.update((f"{s}_forearm_pronation", f"{s}_wrist_flexion", f"{s}_wrist_deviation"))
    dof_index = np.array([i for i, d in enumerate(_DOFS) if d.name not in off])
    local = {int(i): k for k, i in enumerate(dof_index)}
    seg_dofs = tuple(
        tuple((local[i], _DOFS[i].axis, _DOFS[i].sign, _DOFS[i].translation)
              for i in dof_index if _DOFS[i].segment == seg)
        for seg, _ in _SEGMENTS
    )
    # model points
    kp, seg_of, pnames, est = [], [], [], []
    usable = {"head": neck_dofs > 0}
    for (s, _), has_foot, has_hand in zip(_SIDES, feet, hands, strict=True):
        usable[f"{s}_foot"] = has_foot
        usable[f"{s}_hand"] = has_hand
    for k, n in enumerate(skel.keypoints):
        if n in _AT_ORIGIN:
            seg, e = _AT_ORIGIN[n], False
        elif n in _ESTIMATED and usable.get(_ESTIMATED[n], True):
            seg, e = _ESTIMATED[n], True
        else:
            continue
        kp.append(k)
        seg_of.append(_SEG_INDEX[seg])
        pnames.append(n)
        est.append(e)
    # ancestry: DoF k (of segment s_k) moves the points of s_k and its descendants
    n_seg = len(_SEGMENTS)
    below = np.eye(n_seg, dtype=bool)   # below[a, b]: b is a or a descendant of a
    for b, (_, parent) in enumerate(_SEGMENTS):
        a = b
        while parent is not None:
            a = _SEG_INDEX[parent]
            below[a, b] = True
            parent = _SEGMENTS[a][1]
    dof_seg = np.array([_SEG_INDEX[_DOFS[i].segment] for i in dof_index])
    anc = below[dof_seg][:, np.array(seg_of)].T
    trans = np.array([_DOFS[i].translation for i in dof_index], dtype=bool)
    lo = np.radians([_DOFS[i].lo for i in dof_index])
    hi = np.radians([_DOFS[i].hi for i in dof_index])
    prior = np.where(np.array([_DOFS[i].segment == "pelvis" for i in dof_index]), 0.0, _W_PRIOR)
    split = (local[DOF_NAMES.index("lumbar_flexion")], local[DOF_NAMES.index("pelvis_tilt")])
    pm, pk = np.nonzero(anc & ~trans[None, :])
    return _Structure(skel, dof_index, seg_dofs, np.array(kp), np.array(seg_of), tuple(pnames),
                      np.array(est), anc, (pm, pk), dof_seg, trans, lo, hi, prior, split,
                      neck_dofs, feet, hands)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Body model (per person): lengths and offsets
# --------------------------------------------------------------------------------------

#: Lengths (metres) of :class:`BodyModel` and their defaults for a 1.75 m person.
_DEFAULT_LENGTHS: dict[str, float] = {
    "hip_width": 0.18, "trunk": 0.50, "shoulder_width": 0.36, "shoulder_forward": 0.0,
    "shoulder_height": -0.02,
    **{f"{s}_{b}": v for s, _ in _SIDES
       for b, v in (("thigh", 0.42), ("shank", 0.41), ("upper_arm", 0.29), ("forearm", 0.25))},
}
_SIDED_LENGTHS = ("thigh", "shank", "upper_arm", "forearm")

# Default offsets (left side; right = mirrored y) in segment frames, 1.75 m person.
_DEFAULT_OFFSETS: dict[str, tuple[float, float, float]] = {
    "mid_hip": (0.0, 0.0, 0.0), "pelvis": (0.0, 0.0, 0.0), "spine": (0.0, 0.0, 0.25),
    "nose": (0.10, 0.0, 0.14), "left_eye": (0.085, 0.032, 0.17),
    "left_eye_inner": (0.09, 0.018, 0.17), "left_eye_outer": (0.075, 0.045, 0.17),
    "left_ear": (0.0, 0.075, 0.17), "mouth_left": (0.09, 0.025, 0.10),
    "head_top": (0.02, 0.0, 0.30), "upper_neck": (0.0, 0.0, 0.08),
    "neck_base": (0.02, 0.0, 0.06), "head": (0.04, 0.0, 0.22),
    "left_heel": (-0.06, 0.0, -0.07), "left_big_toe": (0.16, -0.025, -0.07),
    "left_small_toe": (0.12, 0.025, -0.07), "left_foot_index": (0.15, 0.0, -0.07),
    "left_index": (0.0, 0.035, -0.09), "left_pinky": (0.0, -0.035, -0.09),
    "left_thumb": (0.02, 0.045, -0.045), "left_forefinger1": (0.0, 0.03, -0.09),
    "left_middle_finger1": (0.0, 0.01, -0.095), "left_ring_finger1": (0.0, -0.01, -0.09),
    "left_pinky_finger1": (0.0, -0.03, -0.09), "left_hand_index_finger_mcp": (0.0, 0.03, -0.09),
    "left_hand_middle_finger_mcp": (0.0, 0.01, -0.095),
    "left_hand_ring_finger_mcp": (0.0, -0.01, -0.09),
    "left_hand_pinky_mcp": (0.0, -0.03, -0.09),
}


def _mirror_name(name: str) -> str:
    swap = {"left": "right", "right": "left"}
    return "_".join(swap.get(t, t) for t in name.split("_"))


def _default_offset(name: str) -> np.ndarray:
    if name in _DEFAULT_OFFSETS:
        return np.array(_DEFAULT_OFFSETS[name], dtype=float)
    mirrored = _mirror_name(name)
    if mirrored in _DEFAULT_OFFSETS:
        return np.array(_DEFAULT_OFFSETS[mirrored], dtype=float) * (1.0, -1.0, 1.0)
    return np.zeros(3)


@dataclass(frozen=True, eq=False)
class BodyModel:
    """One person's kinematic body for one keypoint layout.

    Attributes:
        skeleton: the keypoint layout.
        lengths: metres: ``hip_width``, ``trunk`` (mid-hip to neck joint),
            ``shoulder_width``, ``shoulder_forward`` and ``shoulder_height``
            (mid-shoulder relative to the neck joint, trunk frame), and per side
            ``thigh``, ``shank``, ``upper_arm``, ``forearm``.
        offsets: keypoint name -> ``(3,)`` metres in its segment's frame, from
            the segment origin, for the points whose offsets are estimated
            (head, feet, hands, ``mid_hip``...).

    Use :meth:`keypoints` to pose it (forward kinematics).
    """

    skeleton: Skeleton
    lengths: Mapping[str, float]
    offsets: Mapping[str, np.ndarray]

    def __post_init__(self) -> None:
        skel = get_skeleton(self.skeleton)
        st = _structure(skel)
        lengths = {k: float(self.lengths.get(k, v)) for k, v in _DEFAULT_LENGTHS.items()}
        unknown = sorted(set(self.lengths) - set(_DEFAULT_LENGTHS))
        if unknown:
            raise InputError(f"unknown length(s) {unknown}; valid: {sorted(_DEFAULT_LENGTHS)}")
        offsets = {}
        for name, est in zip(st.point_names, st.estimated, strict=True):
            if est:
                v = self.offsets.get(name)
                v = _default_offset(name) if v is None else np.array(v, dtype=float)
                if v.shape != (3,) or not np.isfinite(v).all():
                    raise InputError(f"offset of {name!r} must be 3 finite numbers; got {v!r}")
                v.flags.writeable = False
                offsets[name] = v
        object.__setattr__(self, "skeleton", skel)
        object.__setattr__(self, "lengths", MappingProxyType(lengths))
        object.__setattr__(self, "offsets", MappingProxyType(offsets))

    @property
    def dof_names(self) -> tuple[str, ...]:
        """The degrees of freedom this layout lets the model use."""
        return _structure(self.skeleton).names

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Segment origins ``(S, 3)`` in the parent frame and point offsets ``(M, 3)``."""
        st = _structure(self.skeleton)
        L = self.lengths
        origins = np.zeros((len(_SEGMENTS), 3))
        origins[_SEG_INDEX["head"]] = (0.0, 0.0, L["trunk"])
        for s, sgn in _SIDES:
            origins[_SEG_INDEX[f"{s}_thigh"]] = (0.0, sgn * L["hip_width"] / 2, 0.0)
            origins[_SEG_INDEX[f"{s}_shank"]] = (0.0, 0.0, -L[f"{s}_thigh"])
            origins[_SEG_INDEX[f"{s}_foot"]] = (0.0, 0.0, -L[f"{s}_shank"])
            origins[_SEG_INDEX[f"{s}_upper_arm"]] = (
                L["shoulder_forward"], sgn * L["shoulder_width"] / 2,
                L["trunk"] + L["shoulder_height"])
            origins[_SEG_INDEX[f"{s}_forearm"]] = (0.0, 0.0, -L[f"{s}_upper_arm"])
            origins[_SEG_INDEX[f"{s}_hand"]] = (0.0, 0.0, -L[f"{s}_forearm"])
        offsets = np.zeros((len(st.point_names), 3))
        for m, (name, est) in enumerate(zip(st.point_names, st.estimated, strict=True)):
            if est:
                offsets[m] = self.offsets[name]
        return origins, offsets

    def keypoints(self, dofs: np.ndarray) -> np.ndarray:
        """Forward kinematics: keypoints ``(..., K, 3)`` (metres, Z up).

        Args:
            dofs: ``(..., len(DOF_NAMES))``: ``pelvis_tx, _ty, _tz`` in metres, then
                the angles in degrees, in :data:`DOF_NAMES` order. Values of DoFs
                this layout does not use are ignored; NaN counts as 0.

        Returns:
            keypoints in the skeleton's order; those the model does not have are NaN.
        """
        q = np.asarray(dofs, dtype=float)
        if q.ndim < 1 or q.shape[-1] != len(DOF_NAMES):
            raise InputError(f"dofs must have shape (..., {len(DOF_NAMES)}) in DOF_NAMES order; "
                             f"got {q.shape}")
        st = _structure(self.skeleton)
        lead = q.shape[:-1]
        flat = np.nan_to_num(q.reshape(-1, q.shape[-1]))[:, st.dof_index]
        flat = np.where(st.trans, flat, np.radians(flat))
        origins, offsets = self._arrays()
        X = _forward(st, origins, offsets, flat, jac=False)[0]
        out = np.full((flat.shape[0], len(self.skeleton), 3), np.nan)
        out[:, st.point_kp] = X
        return out.reshape(*lead, len(self.skeleton), 3)


def default_model(skeleton: Skeleton | str, height: float = 1.75) -> BodyModel:
    """A plausible body of ``height`` metres (the defaults scaled), e.g. for synthetic data."""
    skel = get_skeleton(skeleton)
    if not (isinstance(height, int | float) and 0.3 <= height <= 3.0):
        raise InputError(f"height must be a number of metres in [0.3, 3]; got {height!r}")
    s = float(height) / 1.75
    st = _structure(skel)
    offsets = {n: _default_offset(n) * s for n, e in zip(st.point_names, st.estimated,
                                                         strict=True) if e}
    lengths = {k: v * s for k, v in _DEFAULT_LENGTHS.items()}
    if not any(n in skel.keypoints for n in _NECK_NAMES):
        # no neck keypoint: the neck joint is the mid-shoulder (what estimate_model finds)
        lengths["trunk"] += lengths["shoulder_height"]
        lengths["shoulder_height"] = lengths["shoulder_forward"] = 0.0
    return BodyModel(skel, lengths, offsets)


# --------------------------------------------------------------------------------------
# Frames from keypoints (for offsets and the initial guess), vectorised over frames
# --------------------------------------------------------------------------------------


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.linalg.norm(v, axis=-1, keepdims=True)
        return np.where(n > 1e-9, v / n, np.nan)


def _frame(primary: np.ndarray, secondary: np.ndarray, order: str) -> np.ndarray:
    """``(..., 3, 3)`` rotation (columns X, Y, Z) from two directions.

    ``order`` names the axes the directions give: ``"yz"`` (Y exact, Z in the
    plane), ``"zy"``, ``"yx"``, ``"xy"``.
    """
    a = _unit(primary)
    b = _unit(secondary - np.sum(secondary * a, axis=-1, keepdims=True) * a)
    axes = {order[0]: a, order[1]: b}
    missing = ({"x", "y", "z"} - set(order)).pop()
    if missing == "x":
        axes["x"] = np.cross(axes["y"], axes["z"])
    elif missing == "y":
        axes["y"] = np.cross(axes["z"], axes["x"])
    else:
        axes["z"] = np.cross(axes["x"], axes["y"])
    return np.stack([axes["x"], axes["y"], axes["z"]], axis=-1)


class _Landmarks:
    """Keypoints of one person, ``(T, 3)`` by name (NaN if absent)."""

    def __init__(self, skel: Skeleton, coords: np.ndarray) -> None:
        self.skel = skel
        self.coords = coords

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.skel.keypoints:
            return self.coords[:, self.skel.index(name)]
        return np.full((self.coords.shape[0], 3), np.nan)

    def has(self, name: str) -> bool:
        return name in self.skel.keypoints

    def mean(self, *names: str) -> np.ndarray:
        return np.mean([self[n] for n in names], axis=0)

    def neck(self) -> np.ndarray:
        """The neck joint: the layout's neck keypoint, else the mid-shoulder."""
        for n in _NECK_NAMES:
            if self.has(n):
                return self[n]
        return self.mean("left_shoulder", "right_shoulder")


def _segment_frames(st: _Structure, lm: _Landmarks) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Frames ``(T, 3, 3)`` and origins ``(T, 3)`` of segments, built from keypoints."""
    mid_hip = lm.mean("left_hip", "right_hip")
    neck = lm.neck()
    out = {
        "pelvis": (_frame(lm["left_hip"] - lm["right_hip"], neck - mid_hip, "yz"), mid_hip),
        "trunk": (_frame(neck - mid_hip, lm["left_shoulder"] - lm["right_shoulder"], "zy"),
                  mid_hip),
    }
    if st.neck_dofs == 3:
        ears = lm.mean("left_ear", "right_ear")
        eyes = lm.mean("left_eye", "right_eye")
        out["head"] = (_frame(lm["left_ear"] - lm["right_ear"], eyes - ears, "yx"), neck)
    elif st.neck_dofs:
        out["head"] = (out["trunk"][0], neck)
    for (s, sgn), has_foot, has_hand in zip(_SIDES, st.feet, st.hands, strict=True):
        if has_foot:
            ankle, heel = lm[f"{s}_ankle"], lm[f"{s}_heel"]
            toe = lm.mean(*_toe_names(st.skeleton, s))
            x = toe - heel
            y = np.cross(ankle - heel, x)
            out[f"{s}_foot"] = (_frame(x, y, "xy"), ankle)
        if has_hand:
            index, pinky = _hand_frame_names(st.skeleton, s)  # type: ignore[misc]
            wrist = lm[f"{s}_wrist"]
            knuckles = lm.mean(index, pinky)
            out[f"{s}_hand"] = (_frame(wrist - knuckles, sgn * (lm[index] - lm[pinky]), "zy"),
                                wrist)
    return out


def _nanmedian(a: np.ndarray, axis: int = 0) -> np.ndarray:
    with np.errstate(all="ignore"):
        ok = np.isfinite(a).all(axis=-1, keepdims=True) if a.ndim > 1 else np.isfinite(a)
        if not ok.any():
            return np.full(a.shape[1:], np.nan)
        return np.nanmedian(np.where(ok, a, np.nan), axis=axis)


def _estimate(st: _Structure, coords: np.ndarray, symmetric: bool) -> BodyModel:
    """Lengths and offsets from ``(T, K, 3)`` Z-up keypoints of one person."""
    lm = _Landmarks(st.skeleton, coords)

    def dist(a: np.ndarray, b: np.ndarray) -> float:
        d = np.linalg.norm(a - b, axis=-1)
        d = d[np.isfinite(d)]
        return float(np.median(d)) if d.size else math.nan

    L: dict[str, float] = {}
    mid_hip = lm.mean("left_hip", "right_hip")
    neck = lm.neck()
    L["hip_width"] = dist(lm["left_hip"], lm["right_hip"])
    L["trunk"] = dist(neck, mid_hip)
    L["shoulder_width"] = dist(lm["left_shoulder"], lm["right_shoulder"])
    if any(lm.has(n) for n in _NECK_NAMES):
        R, _ = _segment_frames(st, lm)["trunk"]
        rel = np.einsum("tji,tj->ti", R, lm.mean("left_shoulder", "right_shoulder") - neck)
        med = _nanmedian(rel)
        L["shoulder_forward"], L["shoulder_height"] = float(med[0]), float(med[2])
    else:
        L["shoulder_forward"] = L["shoulder_height"] = 0.0
    for s, _ in _SIDES:
        for name, a, b in (("thigh", "hip", "knee"), ("shank", "knee", "ankle"),
                           ("upper_arm", "shoulder", "elbow"), ("forearm", "elbow", "wrist")):
            L[f"{s}_{name}"] = dist(lm[f"{s}_{a}"], lm[f"{s}_{b}"])
    if symmetric:
        for name in _SIDED_LENGTHS:
            v = np.nanmean([L[f"left_{name}"], L[f"right_{name}"]]) \
                if np.isfinite([L[f"left_{name}"], L[f"right_{name}"]]).any() else math.nan
            L[f"left_{name}"] = L[f"right_{name}"] = float(v)
    # scale of the defaults for what could not be measured
    ratios = [L[k] / v for k, v in _DEFAULT_LENGTHS.items() if v > 0 and np.isfinite(L[k])]
    scale = float(np.median(ratios)) if ratios else 1.0
    for k, v in _DEFAULT_LENGTHS.items():
        if not np.isfinite(L[k]):
            log.warning("ik: %s could not be measured; using %.3f m", k, v * scale)
            L[k] = v * scale
    frames = _segment_frames(st, lm)
    offsets: dict[str, np.ndarray] = {}
    for name, seg, est in zip(st.point_names, st.point_seg, st.estimated, strict=True):
        if not est:
            continue
        R, origin = frames[_SEGMENTS[seg][0]]
        rel = np.einsum("tji,tj->ti", R, lm[name] - origin)
        med = _nanmedian(rel)
        offsets[name] = med if np.isfinite(med).all() else _default_offset(name) * scale
    if symmetric:
        for name in list(offsets):
            other = _mirror_name(name)
            if other != name and other in offsets and name < other:
                mean = (offsets[name] + offsets[other] * (1.0, -1.0, 1.0)) / 2
                offsets[name], offsets[other] = mean, mean * (1.0, -1.0, 1.0)
    return BodyModel(st.skeleton, L, offsets)


# --------------------------------------------------------------------------------------
# Forward kinematics and its Jacobian
# --------------------------------------------------------------------------------------


def _axis_rot(axis: int, ang: np.ndarray) -> np.ndarray:
    """``(N, 3, 3)`` rotations by ``ang`` about a coordinate axis."""
    c, s = np.cos(ang), np.sin(ang)
    R = np.zeros((ang.shape[0], 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    R[:, axis, axis] = 1.0
    R[:, i, i] = c
    R[:, j, j] = c
    R[:, i, j] = -s
    R[:, j, i] = s
    return R


def _forward(st: _Structure, origins: np.ndarray, offsets: np.ndarray, q: np.ndarray,
             jac: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Points ``(N, M, 3)``, their Jacobian ``(N, M, 3, n)`` and segment rotations.

    ``q`` is ``(N, n)`` in the structure's DoF order, radians and metres.
    """
    N, n = q.shape
    S = len(_SEGMENTS)
    R = np.empty((N, S, 3, 3))
    o = np.empty((N, S, 3))
    w_axis = np.zeros((N, n, 3))
    eye = np.broadcast_to(np.eye(3), (N, 3, 3))
    for s, (_, parent) in enumerate(_SEGMENTS):
        if parent is None:
            Rc = eye
            oc = np.zeros((N, 3))
        else:
            p = _SEG_INDEX[parent]
            Rc = R[:, p]
            oc = o[:, p] + Rc @ origins[s]
        for k, axis, sign, is_trans in st.seg_dofs[s]:
            if is_trans:
                oc = oc.copy()
                oc[:, axis] += sign * q[:, k]
                w_axis[:, k, axis] = sign
            else:
                w_axis[:, k] = sign * Rc[:, :, axis]
                Rc = Rc @ _axis_rot(axis, sign * q[:, k])
        R[:, s] = Rc
        o[:, s] = oc
    seg = st.point_seg
    X = o[:, seg] + np.einsum("nmij,mj->nmi", R[:, seg], offsets)
    if not jac:
        return X, None, R
    # geometric Jacobian: d X_m / d q_k = w_k × (X_m - pivot_k) for the (m, k) pairs
    # where DoF k moves point m; a translation DoF moves every point along w_k
    pm, pk = st.pairs
    w = w_axis[:, pk]                                                   # (N, pairs, 3)
    d = X[:, pm] - o[:, st.dof_seg[pk]]
    J = np.zeros((N, X.shape[1], 3, n))
    # (advanced indices around a slice go first: J[:, pm, :, pk] is (pairs, N, 3))
    J[:, pm, :, pk] = np.stack([w[..., 1] * d[..., 2] - w[..., 2] * d[..., 1],
                                w[..., 2] * d[..., 0] - w[..., 0] * d[..., 2],
                                w[..., 0] * d[..., 1] - w[..., 1] * d[..., 0]],
                               axis=-1).transpose(1, 0, 2)
    if st.trans.any():
        J[..., st.trans] = w_axis[:, None, st.trans].transpose(0, 1, 3, 2)
    return X, J, R


# --------------------------------------------------------------------------------------
# The least-squares problem
# --------------------------------------------------------------------------------------


@dataclass
class _Camera:
    R: np.ndarray        # (3, 3) internal frame -> camera
    t: np.ndarray        # (3,)
    f: np.ndarray        # (2,) fx, fy
    c: np.ndarray        # (2,) cx, cy
    uv: np.ndarray       # (T, M, 2) undistorted pixels, 0 where missing
    sw: np.ndarray       # (T, M) sqrt weights (set after the initial fit: depth / f)


@dataclass
class _Problem:
    st: _Structure
    origins: np.ndarray
    offsets: np.ndarray
    Y: np.ndarray        # (T, M, 3), 0 where missing
    sw: np.ndarray       # (T, M) sqrt of the score
    cams: list[_Camera]
    limits: bool
    S: np.ndarray        # (n,) smoothing weight per DoF (acceleration)
    lean: float = 0.0    # split row: lumbar_flexion - lean * pelvis_tilt (0: lumbar -> 0)

    def terms(self, x: np.ndarray, jac: bool = True):
        """Frame-local residuals and Jacobians.

        Returns ``r (T, R)``, ``J (T, R, n)`` for the data rows, then the diagonal
        terms ``(a, b)`` (each ``(T, n)``: rows ``b`` with derivative ``a`` on
        their own DoF) for the prior and the limits, and the split row ``(T,)``.
        """
        st = self.st
        X, JX, _ = _forward(st, self.origins, self.offsets, x, jac)
        T, M = self.sw.shape
        rs = [(self.sw[..., None] * (X - self.Y)).reshape(T, 3 * M)]
        Js = [(self.sw[..., None, None] * JX).reshape(T, 3 * M, -1)] if jac else []
        for cam in self.cams:
            Xc = X @ cam.R.T + cam.t
            z = Xc[..., 2]
            ok = z > 1e-3
            zs = np.where(ok, z, 1.0)
            uv = Xc[..., :2] / zs[..., None] * cam.f + cam.c
            w = np.where(ok, cam.sw, 0.0)
            rs.append((w[..., None] * (uv - cam.uv)).reshape(T, 2 * M))
            if jac:
                d = np.zeros((T, M, 2, 3))
                d[..., 0, 0] = cam.f[0] / zs
                d[..., 1, 1] = cam.f[1] / zs
                d[..., 0, 2] = -cam.f[0] * Xc[..., 0] / zs**2
                d[..., 1, 2] = -cam.f[1] * Xc[..., 1] / zs**2
                d = (w[..., None, None] * d) @ cam.R
                Js.append((d @ JX).reshape(T, 2 * M, -1))
        r = np.concatenate(rs, axis=1)
        J = np.concatenate(Js, axis=1) if jac else None
        a_p = np.broadcast_to(st.prior, x.shape)
        b_p = st.prior * x
        if self.limits:
            over = np.where(x > st.hi, x - st.hi, 0.0)
            under = np.where(x < st.lo, x - st.lo, 0.0)
            viol = np.nan_to_num(over) + np.nan_to_num(under)
            a_l = np.where(viol != 0.0, _W_LIMIT, 0.0)
            b_l = _W_LIMIT * viol
        else:
            a_l = b_l = np.zeros_like(x)
        i, j = st.split
        split = _W_SPLIT * (x[:, i] - self.lean * x[:, j])
        return r, J, (a_p, b_p), (a_l, b_l), split

    def smooth_residual(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] < 3:
            return np.zeros((0, x.shape[1]))
        return np.sqrt(self.S) * (x[2:] - 2 * x[1:-1] + x[:-2])


def _second_difference_diagonals(T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Diagonals 0, 1, 2 of DᵀD for the (T-2, T) second-difference matrix D."""
    if T < 3:
        return np.zeros(T), np.zeros(max(T - 1, 0)), np.zeros(max(T - 2, 0))
    D = sparse.diags([1.0, -2.0, 1.0], [0, 1, 2], shape=(T - 2, T))
    DtD = (D.T @ D).todia()
    c = {k: DtD.diagonal(k) for k in (0, 1, 2)}
    return c[0], c[1], c[2]


def _frame_costs(pb: _Problem, x: np.ndarray) -> np.ndarray:
    """``(T,)`` cost of every frame's own terms (data, prior, limits, split)."""
    r, _, (_, b_p), (_, b_l), split = pb.terms(x, jac=False)
    return np.sum(r**2, 1) + np.sum(b_p**2, 1) + np.sum(b_l**2, 1) + split**2


def _frame_system(pb: _Problem, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame Gauss–Newton system of the frame-local terms.

    Returns ``H (T, n, n)``, ``g (T, n)`` (gradient / 2) and the per-frame cost
    ``(T,)``; the smoothing (which couples frames) is not included.
    """
    r, J, (a_p, b_p), (a_l, b_l), split = pb.terms(x)
    n = x.shape[1]
    i_s, j_s = pb.st.split
    c = pb.lean
    H = np.matmul(J.transpose(0, 2, 1), J)
    g = np.einsum("trn,tr->tn", J, r)
    idx = np.arange(n)
    H[:, idx, idx] += a_p**2 + a_l**2
    g += a_p * b_p + a_l * b_l
    H[:, i_s, i_s] += _W_SPLIT**2
    H[:, j_s, j_s] += (c * _W_SPLIT) ** 2
    H[:, i_s, j_s] -= c * _W_SPLIT**2
    H[:, j_s, i_s] -= c * _W_SPLIT**2
    g[:, i_s] += _W_SPLIT * split
    g[:, j_s] -= c * _W_SPLIT * split
    cost = np.sum(r**2, 1) + np.sum(b_p**2, 1) + np.sum(b_l**2, 1) + split**2
    return H, g, cost


def _solve_banded(pb: _Problem, x0: np.ndarray, max_iter: int) -> tuple[np.ndarray, int]:
    """Levenberg–Marquardt on the whole sequence with banded normal equations."""
    T, n = x0.shape
    bw = 2 * n if T >= 3 else n
    c0, c1, c2 = _second_difference_diagonals(T)
    ii, jj = np.tril_indices(n)
    rows = np.tile(ii - jj, T)
    cols = (np.arange(T)[:, None] * n + jj[None]).ravel()

    def normal(x):
        H, g, frame_cost = _frame_system(pb, x)
        d2 = pb.smooth_residual(x) * np.sqrt(pb.S)       # S * D x
        if T >= 3:
            g[:-2] += d2
            g[1:-1] -= 2 * d2
            g[2:] += d2
        ab = np.zeros((bw + 1, T * n))
        ab[rows, cols] = H[:, ii, jj].ravel()
        if T >= 3:
            ab[0] += (c0[:, None] * pb.S).ravel()
            ab[n, : (T - 1) * n] += (c1[:, None] * pb.S).ravel()
            ab[2 * n, : (T - 2) * n] += (c2[:, None] * pb.S).ravel()
        cost = float(np.sum(frame_cost) + np.sum(pb.smooth_residual(x) ** 2))
        return ab, g.ravel(), cost

    def cost_of(x):
        return float(np.sum(_frame_costs(pb, x)) + np.sum(pb.smooth_residual(x) ** 2))

    # Levenberg-Marquardt with Marquardt's scaling and Nielsen's damping update
    x = x0.copy()
    ab, g, cost = normal(x)
    mu, nu = 1e-3, 2.0
    it = 0
    while it < max_iter:
        it += 1
        diag = ab[0].copy()
        ab[0] = diag * (1.0 + mu) + 1e-12
        try:
            step = linalg.solveh_banded(ab, -g, lower=True, check_finite=False)
        except linalg.LinAlgError:
            mu, nu = mu * nu, nu * 2.0
            ab[0] = diag
            continue
        predicted = float(-g @ step + mu * np.sum(diag * step**2))
        x_new = x + step.reshape(T, n)
        cost_new = cost_of(x_new)
        if cost_new < cost and predicted > 0:
            rho = (cost - cost_new) / predicted
            mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            nu = 2.0
            small = cost - cost_new <= _RTOL * cost or np.abs(step).max() < _STEP_TOL
            x = x_new
            ab, g, cost = normal(x)
            if small:
                break
        else:
            ab[0] = diag
            mu, nu = mu * nu, nu * 2.0
            if mu > 1e12:
                break
    else:
        log.warning("skeletal IK stopped at max_iter=%d before converging (cost %.4g); pass a "
                    "larger max_iter", max_iter, cost)
    return x, it


def _solve_frames(pb: _Problem, x0: np.ndarray, max_iter: int) -> tuple[np.ndarray, int]:
    """Levenberg–Marquardt on every frame on its own (no smoothing), batched over frames.

    A cheap first stage for :func:`_solve_banded`: the dense per-frame ``(n, n)``
    systems are solved together, each frame with its own damping, so the
    nonlinear part of the fit (large rotations from the closed-form guess) costs
    a fraction of a space-time iteration; the banded solve then only adds the
    temporal coupling.
    """
    T, n = x0.shape
    idx = np.arange(n)
    x = x0.copy()
    mu = np.full(T, 1e-3)
    active = np.ones(T, dtype=bool)
    cost = _frame_costs(pb, x)
    it = 0
    while it < max_iter and active.any():
        it += 1
        H, g, _ = _frame_system(pb, x)
        H[:, idx, idx] = H[:, idx, idx] * (1.0 + mu[:, None]) + 1e-12
        try:
            step = np.linalg.solve(H, -g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            break
        step[~active] = 0.0
        x_new = x + step
        cost_new = _frame_costs(pb, x_new)
        better = active & (cost_new < cost)
        small = better & ((cost - cost_new <= _RTOL * cost) | (np.abs(step).max(1) < _STEP_TOL))
        x[better] = x_new[better]
        cost = np.where(better, cost_new, cost)
        mu = np.where(better, mu / 3.0, mu * 2.0)
        active &= ~small & (mu < 1e12)
    return x, it


def _solve_scipy(pb: _Problem, x0: np.ndarray, max_iter: int) -> tuple[np.ndarray, int]:
    """The same problem with ``scipy.optimize.least_squares`` (trf, sparse Jacobian)."""
    T, n = x0.shape
    i_s, j_s = pb.st.split
    sqS = np.sqrt(pb.S)

    def fun(xf):
        x = xf.reshape(T, n)
        r, _, (_, b_p), (_, b_l), split = pb.terms(x, jac=False)
        return np.concatenate([r.ravel(), b_p.ravel(), b_l.ravel(), split,
                               pb.smooth_residual(x).ravel()])

    def jacobian(xf):
        x = xf.reshape(T, n)
        _, J, (a_p, _), (a_l, _), _ = pb.terms(x)
        blocks = [sparse.block_diag(list(J), format="csr"),
                  sparse.diags(np.broadcast_to(a_p, (T, n)).ravel()),
                  sparse.diags(a_l.ravel())]
        sp = np.zeros((T, n))
        sp[:, i_s], sp[:, j_s] = _W_SPLIT, -pb.lean * _W_SPLIT
        rows = np.repeat(np.arange(T), n)
        blocks.append(sparse.csr_matrix((sp.ravel(), (rows, np.arange(T * n))),
                                        shape=(T, T * n)))
        if T >= 3:
            D = sparse.diags([1.0, -2.0, 1.0], [0, 1, 2], shape=(T - 2, T))
            blocks.append(sparse.kron(D, sparse.diags(sqS)))
        return sparse.vstack(blocks, format="csr")

    # small problems: dense Jacobian and exact trust-region steps (an accurate
    # reference); large ones: sparse Jacobian and LSMR steps
    dense = T * n <= 4000
    res = optimize.least_squares(fun, x0.ravel(),
                                 jac=(lambda xf: jacobian(xf).toarray()) if dense else jacobian,
                                 method="trf", tr_solver="exact" if dense else "lsmr",
                                 x_scale="jac", ftol=1e-12, xtol=1e-12, gtol=1e-12,
                                 max_nfev=max_iter * 10)
    return res.x.reshape(T, n), int(res.nfev)


# --------------------------------------------------------------------------------------
# Initial guess
# --------------------------------------------------------------------------------------


def _euler(R: np.ndarray, seq: str) -> np.ndarray:
    """Intrinsic Euler angles ``(N, 3)`` of ``(N, 3, 3)`` rotations; NaN rows stay NaN."""
    out = np.full((R.shape[0], 3), np.nan)
    ok = np.isfinite(R).all(axis=(1, 2))
    if ok.any():
        with warnings.catch_warnings():   # gimbal lock: any of the equivalent angles will do
            warnings.simplefilter("ignore", UserWarning)
            out[ok] = Rotation.from_matrix(R[ok]).as_euler(seq)
    return out


def _initial(st: _Structure, model: BodyModel, coords: np.ndarray, limits: bool) -> np.ndarray:
    """Closed-form angles ``(T, n)`` from keypoints (NaN-free: gaps interpolated)."""
    T = coords.shape[0]
    lm = _Landmarks(st.skeleton, coords)
    frames = _segment_frames(st, lm)
    q = np.full((T, len(_DOFS)), np.nan)
    col = {d.name: i for i, d in enumerate(_DOFS)}
    Rp, mid_hip = frames["pelvis"]
    q[:, [col["pelvis_tx"], col["pelvis_ty"], col["pelvis_tz"]]] = mid_hip
    q[:, [col["pelvis_rotation"], col["pelvis_tilt"], col["pelvis_obliquity"]]] = _euler(Rp, "ZYX")
    Rt = frames["trunk"][0]
    q[:, [col["lumbar_flexion"], col["lumbar_bending"], col["lumbar_rotation"]]] = _euler(
        np.swapaxes(Rp, 1, 2) @ Rt, "YXZ")

    def limb(R_parent, root, mid, end, prefix, flex, add, rot, sgn, upper):
        d = _unit(np.einsum("tji,tj->ti", R_parent, lm[mid] - lm[root]))
        e = _unit(np.einsum("tji,tj->ti", R_parent, lm[end] - lm[mid]))
        f = np.arctan2(d[:, 0], -d[:, 2])
        # hip adduction axis: left -X, right +X; shoulder abduction: left +X, right -X
        a_sign = sgn if upper else -sgn
        a = a_sign * np.arcsin(np.clip(d[:, 1], -1, 1))
        bend = np.arccos(np.clip(np.sum(d * e, axis=1), -1, 1))
        # the distal direction in the frame after flexion and ab/adduction
        Rfa = _axis_rot(1, -f) @ _axis_rot(0, a_sign * a)
        s = np.einsum("tji,tj->ti", Rfa, e)
        if upper:   # forearm flexes forward: (sin e cos r', sin e sin r', -cos e)
            r_prime = np.arctan2(s[:, 1], s[:, 0])
        else:       # shank flexes backward: (-sin k cos r', -sin k sin r', -cos k)
            r_prime = np.arctan2(-s[:, 1], -s[:, 0])
        # (bend, r') and (-bend, r' ± 180°) give the same points. With limits, elbows
        # and knees do not hyperextend, so the bend stays >= 0 (the other branch
        # would be clipped to a straight limb); without, take the smaller turn.
        if not limits:
            back = np.abs(r_prime) > np.pi / 2
            bend = np.where(back, -bend, bend)
            r_prime = np.where(back, r_prime - np.sign(r_prime) * np.pi, r_prime)
        r = np.where(np.abs(np.sin(bend)) > 0.25, -sgn * r_prime, 0.0)
        q[:, col[f"{prefix}_{flex}"]] = f
        q[:, col[f"{prefix}_{add}"]] = a
        q[:, col[f"{prefix}_{rot}"]] = r
        return bend

    Rtrunk = Rp @ _axis_rot(1, np.nan_to_num(q[:, col["lumbar_flexion"]])) \
        @ _axis_rot(0, np.nan_to_num(q[:, col["lumbar_bending"]])) \
        @ _axis_rot(2, np.nan_to_num(q[:, col["lumbar_rotation"]]))
    for s, sgn in _SIDES:
        q[:, col[f"{s}_knee_flexion"]] = limb(Rp, f"{s}_hip", f"{s}_knee", f"{s}_ankle",
                                               s, "hip_flexion", "hip_adduction",
                                               "hip_rotation", sgn, False)
        q[:, col[f"{s}_elbow_flexion"]] = limb(Rtrunk, f"{s}_shoulder", f"{s}_elbow",
                                                f"{s}_wrist", s, "shoulder_flexion",
                                                "shoulder_abduction", "shoulder_rotation",
                                                sgn, True)
    q = _fill(q)
    # distal segments (head, feet, hands) relative to their fitted parents
    dof = st.dof_index
    origins, offsets = model._arrays()
    for name in ("neck_flexion", "neck_bending", "neck_rotation"):
        q[:, col[name]] = 0.0
    for s, _ in _SIDES:
        for name in ("ankle_dorsiflexion", "ankle_inversion", "forearm_pronation",
                     "wrist_flexion", "wrist_deviation"):
            q[:, col[f"{s}_{name}"]] = 0.0
    x = q[:, dof]
    _, _, Rseg = _forward(st, origins, offsets, x, jac=False)
    if st.neck_dofs == 3:
        rel = np.swapaxes(Rseg[:, _SEG_INDEX["trunk"]], 1, 2) @ frames["head"][0]
        q[:, [col["neck_flexion"], col["neck_bending"], col["neck_rotation"]]] = _euler(rel, "YXZ")
    for (s, sgn), has_foot, has_hand in zip(_SIDES, st.feet, st.hands, strict=True):
        if has_foot:
            rel = np.swapaxes(Rseg[:, _SEG_INDEX[f"{s}_shank"]], 1, 2) @ frames[f"{s}_foot"][0]
            e = _euler(rel, "YXZ")
            q[:, col[f"{s}_ankle_dorsiflexion"]] = -e[:, 0]
            q[:, col[f"{s}_ankle_inversion"]] = -sgn * e[:, 1]
        if has_hand:
            rel = np.swapaxes(Rseg[:, _SEG_INDEX[f"{s}_forearm"]], 1, 2) @ frames[f"{s}_hand"][0]
            e = _euler(rel, "ZYX")
            q[:, col[f"{s}_forearm_pronation"]] = -sgn * e[:, 0]
            q[:, col[f"{s}_wrist_flexion"]] = -e[:, 1]
            q[:, col[f"{s}_wrist_deviation"]] = -sgn * e[:, 2]
    q = _fill(q)
    x = q[:, dof]
    # unwrap rotations over time, then bring each into its limits' turn
    rot = ~st.trans
    x[:, rot] = np.unwrap(x[:, rot], axis=0)
    for k in np.flatnonzero(rot):
        if np.isfinite(st.lo[k]):
            centre = (st.lo[k] + st.hi[k]) / 2
            x[:, k] -= 2 * np.pi * np.round((np.median(x[:, k]) - centre) / (2 * np.pi))
            if limits:
                x[:, k] = np.clip(x[:, k], st.lo[k], st.hi[k])
        elif k != st.dof_index.tolist().index(DOF_NAMES.index("pelvis_rotation")):
            x[:, k] -= 2 * np.pi * np.round(np.median(x[:, k]) / (2 * np.pi))
    return x


def wrap_degrees(deg: np.ndarray) -> np.ndarray:
    """Angles ``(...)`` in degrees brought into (−180°, 180°]; NaN stays NaN."""
    deg = np.asarray(deg, dtype=float)
    return 180.0 - np.mod(180.0 - deg, 360.0)


def _fill(q: np.ndarray) -> np.ndarray:
    """Fill NaN over time by linear interpolation (nearest at the ends; 0 if none)."""
    q = q.copy()
    t = np.arange(q.shape[0])
    for k in range(q.shape[1]):
        ok = np.isfinite(q[:, k])
        if ok.all():
            continue
        q[:, k] = np.interp(t, t[ok], q[ok, k]) if ok.any() else 0.0
    return q


# --------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class IKResult:
    """What :func:`fit` returns.

    Attributes:
        angles: :class:`~posestack.kinematics.angles.Angles` ``(T, P, A)`` degrees,
            ``meta["kind"] == "ik"``; the names are the rotational DoFs the layout
            lets the model use (:data:`ANGLE_NAMES` order). NaN where the person
            has no keypoint in that frame.
        translation: ``(T, P, 3)`` metres: ``pelvis_tx, _ty, _tz``, the
            mid-hip joint centre in the fit's Z-up world (= the input world for
            ``up="z"``).
        fitted: the model's keypoints, :class:`Poses` ``(T, P, K, 3)`` in the
            input's space and axes; keypoints the model lacks are NaN, score 0;
            modelled ones have score 1.
        residuals: ``(T, P, K)`` metres between fitted and input keypoints; NaN
            where the input is missing or the model lacks the keypoint.
        bone_lengths: per person, the model's lengths (metres); empty for a
            person never seen.
        models: per person, the :class:`BodyModel` (None for a person never seen).
        iterations: per person, solver iterations (function evaluations for
            ``solver="scipy"``).
        seconds: wall time of the fit.
        meta: the fit's parameters.
    """

    angles: Angles
    translation: np.ndarray
    fitted: Poses
    residuals: np.ndarray
    bone_lengths: tuple[Mapping[str, float], ...]
    models: tuple[BodyModel | None, ...]
    iterations: tuple[int, ...]
    seconds: float
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        t, p, a = self.angles.degrees.shape
        return f"IKResult(T={t}, P={p}, A={a}, seconds={self.seconds:.3f})"


# --------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------

_UP = {
    "z": np.eye(3),
    "y": np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
    "x": np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
}
_SOLVERS = ("banded", "scipy")
_LEANS = {"pelvis": 0.0, "split": 1.0}


def up_matrix(up: str) -> np.ndarray:
    """The rotation ``(3, 3)`` taking world coordinates whose up axis is ``up``
    ("x", "y", "z", "-x", "-y" or "-z") to a right-handed Z-up frame.

    >>> up_matrix("y") @ [0.0, 1.0, 0.0]
    array([0., 0., 1.])
    """
    if not isinstance(up, str) or up.lstrip("+-") not in _UP or up.count("-") > 1:
        raise InputError(f"up must be one of 'x', 'y', 'z', '-x', '-y', '-z'; got {up!r}")
    A = _UP[up.lstrip("+-")]
    return np.diag([1.0, -1.0, -1.0]) @ A if up.startswith("-") else A


def _check_poses(poses: Any) -> Poses:
    if not isinstance(poses, Poses):
        raise InputError(f"poses must be a Poses object; got {type(poses).__name__}")
    if poses.dim != 3:
        raise InputError(f"skeletal IK fits 3D keypoints (D=3, metres); got D={poses.dim} "
                         f"in space {poses.space!r}")
    return poses


def estimate_model(poses: Poses, person: int = 0, *, symmetric: bool = True,
                   up: str = "z") -> BodyModel:
    """One person's body (lengths and offsets) from a sequence of 3D keypoints.

    Lengths are medians over the frames where both keypoints exist; with
    ``symmetric`` the left and right values are averaged (and mirrored offsets
    too). Offsets are medians of the points' coordinates in segment frames built
    from keypoints: head (ears and eyes), foot (ankle, heel, toes), hand (wrist,
    index and pinky knuckles), pelvis and trunk (hips, neck or mid-shoulder,
    shoulders). What cannot be measured comes from :func:`default_model`,
    scaled to the measured lengths (with a logged warning).
    """
    poses = _check_poses(poses)
    if not 0 <= int(person) < poses.n_people:
        raise InputError(f"person must be in [0, {poses.n_people}); got {person!r}")
    st = _structure(poses.skeleton)
    coords = poses.coords[:, int(person)].astype(float) @ up_matrix(up).T
    return _estimate(st, coords, bool(symmetric))


def _cameras(cameras: Any, keypoints2d: Any, poses: Poses, A: np.ndarray):
    """Pairs (Camera, Poses) with checks; cameras moved into the Z-up frame."""
    from posestack.multiview.calibration import Calibration, Camera

    if cameras is None and keypoints2d is None:
        return []
    if cameras is None or keypoints2d is None:
        raise InputError("2D terms need both cameras= (a Calibration or Cameras) and "
                         "keypoints2d= (one image-space Poses per camera)")
    cams = list(cameras.cameras if isinstance(cameras, Calibration) else cameras)
    if any(not isinstance(c, Camera) for c in cams):
        raise InputError("cameras must be a Calibration or a sequence of Camera objects")
    if isinstance(keypoints2d, Mapping):
        try:
            kps = [keypoints2d[c.name] for c in cams]
        except KeyError as e:
            raise InputError(f"keypoints2d has no entry for camera {e.args[0]!r}; it has "
                             f"{', '.join(map(str, keypoints2d))}") from None
    else:
        kps = list(keypoints2d)
    if len(kps) != len(cams):
        raise InputError(f"keypoints2d must give one Poses per camera ({len(cams)}); "
                         f"got {len(kps)}")
    out = []
    for cam, kp in zip(cams, kps, strict=True):
        if not isinstance(kp, Poses) or kp.dim != 2:
            raise InputError(f"keypoints2d for camera {cam.name!r} must be a 2D Poses")
        if kp.skeleton != poses.skeleton:
            kp = kp.to_skeleton(poses.skeleton)
        if kp.n_frames != poses.n_frames or kp.n_people != poses.n_people:
            raise InputError(
                f"keypoints2d for camera {cam.name!r} is T={kp.n_frames}, P={kp.n_people}; "
                f"the 3D poses are T={poses.n_frames}, P={poses.n_people} (same frames and "
                "person slots needed)")
        out.append((cam, kp, cam.R @ A.T))
    return out


def fit(poses: Poses, *, smooth: float = 1.0, limits: bool = True, symmetric: bool = True,
        cameras: Any = None, keypoints2d: Any = None, weight2d: float = 1.0, up: str = "z",
        solver: str = "banded", max_iter: int = 200, lean: str = "pelvis") -> IKResult:
    """Fit the kinematic body to every person of ``poses`` over the whole sequence.

    Args:
        poses: 3D keypoints ``(T, P, K, 3)``, metres, in any 3D space; the layout
            must have hips, knees, ankles, shoulders, elbows and wrists; head,
            foot and hand points are used where the layout has them (halpe26,
            coco17, blazepose33, body25, body25b, coco_wholebody133, h36m17,
            holistic543). With P > 1 the slots must be identities (``tracked``).
        smooth: weight of the acceleration penalty on every DoF; frame-rate
            independent: a DoF observed on its own is smoothed like a
            second-order filter with -6 dB at about ``6 Hz / smooth ** 0.25``.
            0 fits every frame on its own.
        limits: soft joint limits (:data:`LIMITS`).
        symmetric: the same bone lengths (and mirrored offsets) left and right.
        cameras: a :class:`~posestack.multiview.calibration.Calibration` (or a
            sequence of Cameras) whose 2D keypoints are fitted too ...
        keypoints2d: ... one image-space Poses per camera (a sequence in camera
            order or a mapping by camera name), the same frames and person slots.
        weight2d: weight of a reprojection residual relative to a 3D one (a
            pixel error counts as the metric error it means at the person's depth).
        up: the world's up axis (``"z"``, ``"y"``, ``"-y"`` for OpenCV camera
            space, ...).
        solver: ``"banded"`` (fast) or ``"scipy"`` (``least_squares``, slow reference).
        max_iter: iteration cap of the solver (a warning is logged when it is
            reached before convergence: the result then depends on the cap).
        lean: where the trunk's sagittal lean goes, which keypoints cannot
            observe: ``"pelvis"`` (lumbar flexion held near 0, OpenSim/Pose2Sim's
            choice) or ``"split"`` (equally between pelvis tilt and lumbar flexion).

    Returns:
        :class:`IKResult`.

    Raises:
        InputError: not 3D, a layout without the limb keypoints, a bad option.
    """
    t_start = time.perf_counter()
    poses = _check_poses(poses)
    try:
        smooth = float(smooth)
        weight2d = float(weight2d)
    except (TypeError, ValueError):
        raise InputError("smooth and weight2d must be non-negative numbers") from None
    if not (math.isfinite(smooth) and smooth >= 0):
        raise InputError(f"smooth must be a finite number >= 0; got {smooth!r}")
    if not (math.isfinite(weight2d) and weight2d >= 0):
        raise InputError(f"weight2d must be a finite number >= 0; got {weight2d!r}")
    if solver not in _SOLVERS:
        raise InputError(f"solver must be one of {', '.join(_SOLVERS)}; got {solver!r}")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise InputError(f"max_iter must be a positive integer; got {max_iter!r}")
    if lean not in _LEANS:
        raise InputError(f"lean must be one of {', '.join(_LEANS)}; got {lean!r}")
    A = up_matrix(up)
    st = _structure(poses.skeleton)
    cams = _cameras(cameras, keypoints2d, poses, A)
    if poses.n_people > 1 and not poses.tracked:
        log.warning("ik: %d person slots but poses.tracked is False; each slot is fitted as "
                    "one person", poses.n_people)
    T, P, K = poses.coords.shape[:3]
    n = len(st.dof_index)
    names = st.names
    x_all = np.full((T, P, n), np.nan)
    fitted = np.full((T, P, K, 3), np.nan)
    resid = np.full((T, P, K), np.nan)
    lengths: list[Mapping[str, float]] = []
    models: list[BodyModel | None] = []
    iters: list[int] = []
    coords_all = poses.coords.astype(float) @ A.T
    for p in range(P):
        present = np.flatnonzero(poses.present()[:, p])
        if present.size == 0:
            lengths.append(MappingProxyType({}))
            models.append(None)
            iters.append(0)
            continue
        t0, t1 = int(present[0]), int(present[-1]) + 1
        coords = coords_all[t0:t1, p]
        model = _estimate(st, coords, bool(symmetric))
        x, it = _fit_person(st, model, coords, poses.scores[t0:t1, p], poses.times[t0:t1],
                            [(c, kp.coords[t0:t1, p], kp.scores[t0:t1, p], R)
                             for c, kp, R in cams],
                            smooth, limits, weight2d, solver, max_iter, _LEANS[lean])
        origins, offsets = model._arrays()
        X = _forward(st, origins, offsets, x, jac=False)[0]
        keep = np.zeros(t1 - t0, dtype=bool)
        keep[present - t0] = True
        x[~keep] = np.nan
        X[~keep] = np.nan
        x_all[t0:t1, p] = x
        fitted[t0:t1, p][:, st.point_kp] = X @ A          # back to the input's axes
        obs = coords[:, st.point_kp]
        resid[t0:t1, p][:, st.point_kp] = np.linalg.norm(X - obs, axis=-1)
        lengths.append(model.lengths)
        models.append(model)
        iters.append(it)
    rot = ~st.trans
    degrees = wrap_degrees(np.degrees(x_all[..., rot]))
    trans = np.full((T, P, 3), np.nan)
    for k, name in enumerate(names):
        if st.trans[k]:
            trans[..., "xyz".index(name[-1])] = x_all[..., k]
    params = {"smooth": smooth, "limits": bool(limits), "symmetric": bool(symmetric),
              "up": up, "solver": solver, "cameras": [c.name for c, _, _ in cams],
              "weight2d": weight2d, "lean": lean}
    angles = Angles(tuple(n_ for n_, r in zip(names, rot, strict=True) if r), degrees,
                    poses.times, {"kind": "ik", "skeleton": poses.skeleton.name,
                                  "space": poses.space, "parameters": params})
    fitted_poses = Poses(poses.skeleton, fitted, np.isfinite(fitted[..., 0]).astype(np.float32),
                         poses.times, poses.space, tracked=poses.tracked,
                         meta={**poses.meta, "ik": params})
    trans.flags.writeable = False
    resid.flags.writeable = False
    return IKResult(angles, trans, fitted_poses, resid, tuple(lengths), tuple(models),
                    tuple(iters), time.perf_counter() - t_start, MappingProxyType(params))


def _fit_person(st: _Structure, model: BodyModel, coords: np.ndarray, scores: np.ndarray,
                times: np.ndarray, cams: list, smooth: float, limits: bool, weight2d: float,
                solver: str, max_iter: int, lean: float) -> tuple[np.ndarray, int]:
    """Angles ``(T, n)`` (radians, metres) of one person over frames ``coords (T, K, 3)``."""
    T = coords.shape[0]
    obs = coords[:, st.point_kp]
    w = np.where(np.isfinite(obs).all(axis=-1), scores[:, st.point_kp].astype(float), 0.0)
    origins, offsets = model._arrays()
    x0 = _initial(st, model, coords, limits)
    pb = _Problem(st, origins, offsets, np.nan_to_num(obs), np.sqrt(w), [], limits,
                  np.zeros(len(st.dof_index)), lean)
    steps = np.diff(times)
    dt = float(np.median(steps[steps > 0])) if (steps > 0).any() else 1 / 30

    def solve(x_start: np.ndarray) -> tuple[np.ndarray, int]:
        # smoothing: per DoF, scaled by how strongly the data hold it
        if smooth > 0 and T >= 3:
            _, J, *_ = pb.terms(x_start)
            h = np.median(np.sum(J**2, axis=1), axis=0)
            pb.S = smooth * np.maximum(h, _H_FLOOR) / (2 * np.pi * _SMOOTH_HZ * dt) ** 4
        match solver:
            case "banded":
                if T >= 3 and not pb.cams:
                    # the nonlinear part frame by frame (cheap), then the space-time fit
                    x_f, it_f = _solve_frames(pb, x_start, min(max_iter, _FRAME_ITER))
                    x_b, it_b = _solve_banded(pb, x_f, max_iter)
                    return x_b, it_f + it_b
                return _solve_banded(pb, x_start, max_iter)
            case "scipy":
                return _solve_scipy(pb, x_start, max_iter)
        raise AssertionError(solver)

    x, iterations = solve(x0)
    if not cams:
        return x, iterations
    # 2D terms, from the 3D fit: depth scale, and views that disagree with it left out
    X = _forward(st, origins, offsets, x, jac=False)[0]
    for cam, uv, sc, Rint in cams:
        uv = uv[:, st.point_kp].astype(float)
        ok = np.isfinite(uv).all(axis=-1)
        und = np.zeros_like(uv)
        if ok.any():
            und[ok] = cam.undistort(uv[ok])
        Xc = X @ Rint.T + cam.t
        front = Xc[..., 2] > 1e-3
        depth = np.nanmedian(np.where(front, Xc[..., 2], np.nan), axis=1) \
            if front.any() else np.zeros(T)
        depth = np.where(np.isfinite(depth), depth, 0.0)
        f = np.array([cam.K[0, 0], cam.K[1, 1]])
        c = np.array([cam.K[0, 2], cam.K[1, 2]])
        scale = depth / f.mean()
        proj = Xc[..., :2] / np.where(front, Xc[..., 2], 1.0)[..., None] * f + c
        error = np.linalg.norm(proj - und, axis=-1) * scale[:, None]
        keep = ok & front & (error <= _GATE_2D)
        sw = np.sqrt(weight2d * np.where(keep, sc[:, st.point_kp], 0.0)) * scale[:, None]
        pb.cams.append(_Camera(Rint, np.asarray(cam.t, float), f, c, und, sw))
    x, more = solve(x)
    return x, iterations + more


def static_angles(poses: Poses, **fit_options: Any) -> dict[str, np.ndarray]:
    """Our angles for each frame of ``poses`` fitted on its own (e.g. another model's poses).

    Each frame is a static pose (e.g. OpenSim's markers in given coordinates:
    :func:`posestack.biomech.opensim_ik.model_pose`); frames are fitted
    independently (no smoothing) and without limits (another model's zero may
    lie outside ours, e.g. a bent elbow). Angles of segments whose frame the
    keypoints do not define (a head without ears and eyes, a foot without heel
    and toes, a hand without knuckles) are left out: the fit would only return
    its own default for them.

    Returns:
        name -> ``(F,)``: the angles (degrees, our names) and ``pelvis_tx, _ty,
        _tz`` (metres, the fit's Z-up world), for the first person.
    """
    poses = _check_poses(poses)
    st = _structure(poses.skeleton)
    coords = poses.coords[:, 0].astype(float)
    lm = _Landmarks(st.skeleton, coords)
    seen = {"head": all(np.isfinite(lm[n]).all() for n in _HEAD_FRAME)}
    for s_, _ in _SIDES:
        toes = _toe_names(st.skeleton, s_)
        seen[f"{s_}_foot"] = bool(toes) and all(
            np.isfinite(lm[n]).all() for n in (f"{s_}_heel", *toes))
        hand = _hand_frame_names(st.skeleton, s_)
        seen[f"{s_}_hand"] = hand is not None and all(np.isfinite(lm[n]).all() for n in hand)
    held = Poses(poses.skeleton, np.repeat(poses.coords, 3, axis=0),
                 np.repeat(poses.scores, 3, axis=0),
                 np.arange(3 * poses.n_frames) / 30.0, poses.space)
    res = fit(held, **{"smooth": 0.0, "limits": False, "max_iter": 1000, **fit_options})
    deg = res.angles.degrees[1::3, 0].astype(float)
    out = {}
    for k, name in enumerate(res.angles.names):
        if seen.get(_DOFS[DOF_NAMES.index(name)].segment, True):
            out[name] = deg[:, k]
    for k, a in enumerate("xyz"):
        out[f"pelvis_t{a}"] = res.translation[1::3, 0, k].astype(float)
    return out


def _interp_linear(x: np.ndarray, xp: Any, fp: Any) -> np.ndarray:
    """``np.interp`` extended linearly beyond the ends; NaN stays NaN."""
    xp, fp = np.asarray(xp, float), np.asarray(fp, float)
    y = np.interp(x, xp, fp)
    lo, hi = x < xp[0], x > xp[-1]
    y[lo] = fp[0] + (x[lo] - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0])
    y[hi] = fp[-1] + (x[hi] - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    return y


def _calibration(result: IKResult, zero: Any) -> Mapping[str, Any] | None:
    if zero is None:
        return None
    if isinstance(zero, str):
        if zero != "generic":
            raise InputError(f"zero must be 'generic', None or a mapping; got {zero!r}")
        from posestack.kinematics._opensim_zero import OPENSIM_ZERO

        layout = result.angles.meta.get("skeleton")
        if layout not in OPENSIM_ZERO:
            log.warning("to_opensim: no OpenSim zero-pose offsets for layout %s; angles are "
                        "not calibrated to the model's zero pose", layout)
            return None
        return OPENSIM_ZERO[layout]
    if not isinstance(zero, Mapping) or not isinstance(zero.get("zero"), Mapping):
        raise InputError("zero must be 'generic', None or a calibration mapping {'zero': {...}, "
                         "'curves': {...}} (posestack.biomech.opensim_ik.ik_calibration)")
    return zero


def to_opensim(result: IKResult, person: int = 0,
               zero: Mapping[str, float] | str | None = "generic") -> dict[str, np.ndarray]:
    """A result's angles as the coordinates of Pose2Sim's OpenSim model.

    **Calibration to the model.** Our zero is the anatomical pose of the
    keypoints (limb keypoints in line); OpenSim's is its model with every
    coordinate at 0, where the layout's markers are not in our zero pose (the
    generic model's elbow markers are bent by 23°, its elbow axis is oblique,
    the hip keypoints sit 5-8° off the pelvis vertical...). ``zero`` is a
    calibration measured on the OpenSim model itself
    (:func:`posestack.biomech.opensim_ik.ik_calibration`): ``"zero"``, our
    angles at its zero pose, which are subtracted, and ``"curves"``, for the
    main flexion coordinates (hip, knee, ankle, elbow, shoulder flexion), our
    angle against the coordinate as that coordinate alone sweeps its range,
    which are interpolated (linear beyond the ends). ``"generic"`` (default)
    uses the calibration of Pose2Sim's unscaled model for the result's layout
    (``_opensim_zero.py``, written by ``benchmarks/make_opensim_zero.py``);
    a mapping gives one (e.g. of the subject's scaled model); None converts
    without calibration. Exact for a single coordinate moving on its own, first
    order for the coupled 3-DoF joints.

    Other joint coordinates are ``sign * (ours - zero)`` (:data:`OPENSIM_NAMES`),
    degrees. The pelvis is converted exactly: the fit's Z-up world is turned
    into OpenSim's ground the way posestack's ``.trc`` writer (and Pose2Sim) does
    (ground X, Y, Z = world y, z, x); with a zero table, the pelvis frame and
    origin are those that coincide with OpenSim's pelvis in its zero pose
    (without, our pelvis frame and the mid-hip joint centre, which lies about 6
    cm behind and 9 cm below OpenSim's pelvis origin); the rotation is
    decomposed in OpenSim's order (``pelvis_tilt`` about ground Z, then
    ``pelvis_list`` about X, then ``pelvis_rotation`` about Y).
    ``pelvis_tx, _ty, _tz`` are metres in ground.
    """
    if not isinstance(result, IKResult):
        raise InputError(f"result must be an IKResult; got {type(result).__name__}")
    cal = _calibration(result, zero)
    z = cal["zero"] if cal else None
    curves = cal.get("curves", {}) if cal else {}
    deg = result.angles.degrees[:, person].astype(float)
    names = result.angles.names
    out: dict[str, np.ndarray] = {}
    for k, name in enumerate(names):
        if name.startswith("pelvis_"):
            continue
        theirs, sign = OPENSIM_NAMES[name]
        if name in curves:
            out[theirs] = _interp_linear(deg[:, k], *curves[name])
        else:
            out[theirs] = sign * (deg[:, k] - (float(z.get(name, 0.0)) if z else 0.0))
    pelvis = ("pelvis_rotation", "pelvis_tilt", "pelvis_obliquity")

    def rot(rz, ry, rx):
        return _axis_rot(2, np.nan_to_num(rz)) @ _axis_rot(1, np.nan_to_num(ry)) \
            @ _axis_rot(0, np.nan_to_num(rx))

    rz, ry, rx = (np.radians(deg[:, names.index(n)]) for n in pelvis)
    R = rot(rz, ry, rx)
    M = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])   # world -> ground
    t = result.translation[:, person] @ M.T
    if z:
        # OpenSim's pelvis = ours turned by a constant C, with M R0 C = I at the zero pose
        R0 = rot(*(np.radians([float(z[n])]) for n in pelvis))[0]
        C = R0.T @ M.T
        Rg = M @ R @ C
        # its origin: at the zero pose it is the ground origin, -t0 from our mid-hip
        t0 = M @ np.array([float(z[f"pelvis_t{a}"]) for a in "xyz"])
        t = t - np.einsum("tij,j->ti", Rg, t0)
    else:
        B = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # OpenSim body -> ours
        Rg = M @ R @ B
    e = np.degrees(Rotation.from_matrix(Rg).as_euler("ZXY"))
    e[~np.isfinite(rz)] = np.nan
    e[:, 2] = np.degrees(np.unwrap(np.radians(np.nan_to_num(e[:, 2]))))
    e[~np.isfinite(rz)] = np.nan
    out["pelvis_tilt"], out["pelvis_list"], out["pelvis_rotation"] = e[:, 0], e[:, 1], e[:, 2]
    out["pelvis_tx"], out["pelvis_ty"], out["pelvis_tz"] = t[:, 0], t[:, 1], t[:, 2]
    return out
