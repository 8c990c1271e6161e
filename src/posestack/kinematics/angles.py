"""Joint and segment angles from keypoints, 3D (ISB-style) and 2D (Sports2D-style).

Two pure functions of a :class:`~posestack.poses.Poses`, vectorised over frames
T and people P, each returning an :class:`Angles`:

* :func:`joint_angles` — 3D poses (``world``, ``body`` or ``camera:<cam>``
  space, metres). Segment frames are built from the keypoints the layout has,
  by name, and joint angles follow the ISB recommendations (Wu et al. 2002,
  2005) as far as sparse keypoints allow: Cardan sequence flexion (about the
  parent's lateral Z axis) – adduction/abduction (floating anterior X axis) –
  internal rotation (the child's long Y axis), with left-side angles mirrored
  so that the same anatomical motion has the same sign on both sides.
* :func:`planar_angles` — 2D image poses (pixels, y down). The joint and
  segment angles Sports2D computes (Pose2Sim ``common.angle_dict``,
  ``points_to_angles`` and ``fixed_angles``, pose2sim 0.10.49 / sports2d
  0.8.34), including its left/right "visible side" flip.

Convention: every angle's name, definition, sign and zero pose is listed in one
table, ``docs/angles.md``; :data:`JOINT_ANGLES_3D` and :data:`PLANAR_ANGLES`
give the order of the names. Degrees in the output (radians never leave this
module). An angle whose keypoints are missing (NaN) in a frame is NaN in that
frame, never a guess; an angle whose reference direction is degenerate (a
reference within :data:`DEGENERATE_DEG` degrees of the axis it must be
perpendicular to, e.g. the forearm of a straight elbow for shoulder rotation)
is NaN too. Angles a layout cannot define at all (e.g. ankle angles without foot
keypoints) are left out of :attr:`Angles.names`.

Axes of the 3D segment frames (all right-handed, in the anatomical position):
X anterior, Y superior (along the segment), Z to the person's right. This
needs right-handed input coordinates, which every posestack 3D space is.

Example (a right knee flexed 45° seen from the person's right)::

    >>> import numpy as np
    >>> from posestack.poses import Poses
    >>> from posestack.skeletons import get_skeleton
    >>> skel = get_skeleton("coco17")
    >>> xy = np.full((1, 1, 17, 2), np.nan)
    >>> pts = {"right_hip": (200, 200), "right_knee": (200, 300), "right_ankle": (150, 350)}
    >>> for name, p in pts.items():
    ...     xy[0, 0, skel.index(name)] = p
    >>> a = planar_angles(Poses(skel, xy, np.ones((1, 1, 17)), [0.0], "image:cam0"))
    >>> round(float(a.get("right_knee")[0, 0]), 3), round(float(a.get("right_thigh")[0, 0]), 3)
    (45.0, -90.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from posestack.errors import InputError
from posestack.poses import Poses
from posestack.skeletons import Skeleton

__all__ = [
    "DEGENERATE_DEG",
    "JOINT_ANGLES_3D",
    "PLANAR_ANGLES",
    "VISIBLE_SIDES",
    "Angles",
    "joint_angles",
    "planar_angles",
]

#: A reference direction closer than this (degrees) to the axis it must be
#: perpendicular to gives NaN for the angles that need it.
DEGENERATE_DEG = 15.0
_MIN_SIN = math.sin(math.radians(DEGENERATE_DEG))
_EPS = 1e-9  # shorter segments (coordinate units) count as missing

_SIDES = ("left", "right")

#: Every 3D angle :func:`joint_angles` can return, in output order.
JOINT_ANGLES_3D: tuple[str, ...] = (
    "pelvis_tilt",
    "pelvis_obliquity",
    "pelvis_rotation",
    "lumbar_bending",
    "lumbar_rotation",
    "neck_flexion",
    "neck_bending",
    "neck_rotation",
    *(
        f"{s}_{a}"
        for s in _SIDES
        for a in (
            "hip_flexion",
            "hip_adduction",
            "hip_rotation",
            "knee_flexion",
            "ankle_dorsiflexion",
            "shoulder_flexion",
            "shoulder_abduction",
            "shoulder_rotation",
            "elbow_flexion",
            "wrist_flexion",
        )
    ),
)

#: Sports2D "visible side" modes accepted by :func:`planar_angles`.
VISIBLE_SIDES = ("auto", "right", "left", "front", "back", "none")


# --------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Angles:
    """Angles of P people over T frames.

    Attributes:
        names: angle names, length A (see ``docs/angles.md``).
        degrees: ``(T, P, A)`` float32 degrees, NaN where undefined.
        times: ``(T,)`` float64 seconds.
        meta: read-only: ``kind`` (``"joint3d"`` or ``"planar"``), ``skeleton``,
            ``space``, the keypoints each landmark came from (``sources``) and
            the parameters used.

    The arrays are copied and made read-only on construction.
    """

    names: tuple[str, ...]
    degrees: np.ndarray
    times: np.ndarray
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        if len(set(names)) != len(names):
            raise InputError(f"angle names must be unique; got {names}")
        deg = np.array(self.degrees, dtype=np.float32, copy=True)
        if deg.ndim != 3 or deg.shape[2] != len(names):
            raise InputError(
                f"degrees must have shape (T, P, A={len(names)}); got {deg.shape}"
            )
        times = np.array(self.times, dtype=np.float64, copy=True)
        if times.shape != (deg.shape[0],):
            raise InputError(
                f"times must have shape (T,) = ({deg.shape[0]},) to match degrees {deg.shape}; "
                f"got {times.shape}"
            )
        if not isinstance(self.meta, Mapping):
            raise InputError(f"meta must be a mapping; got {type(self.meta).__name__}")
        deg.flags.writeable = False
        times.flags.writeable = False
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "degrees", deg)
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    def __repr__(self) -> str:
        t, p, a = self.degrees.shape
        return f"Angles(kind={self.meta.get('kind')!r}, T={t}, P={p}, A={a})"

    def get(self, name: str) -> np.ndarray:
        """``(T, P)`` degrees of the angle called ``name`` (a read-only view).

        Raises:
            InputError: ``name`` is not among :attr:`names` (the message lists them).
        """
        try:
            i = self.names.index(name)
        except ValueError:
            raise InputError(
                f"no angle {name!r} here; available: {', '.join(self.names) or '(none)'}"
            ) from None
        return self.degrees[:, :, i]

    def to_table(self, frames: Sequence[int] | np.ndarray | None = None):
        """A ``pyarrow.Table`` in the long layout of ``angles.parquet``.

        Columns: frame (int32), time (float64, s), person (int16), angle
        (dictionary-encoded string), degrees (float32). One row per angle for
        each (frame, person) with at least one finite angle; the other angles of
        that person and frame are NaN rows.

        Args:
            frames: ``(T,)`` frame index in the source for each time step;
                ``None`` numbers the time steps 0..T-1.
        """
        import pyarrow as pa

        t, _, a = self.degrees.shape
        frames_arr = np.arange(t) if frames is None else np.asarray(frames)
        if frames_arr.shape != (t,) or not np.issubdtype(frames_arr.dtype, np.integer):
            raise InputError(
                f"frames must be {t} integer frame indices, shape (T,) = ({t},); "
                f"got {frames_arr.dtype} array of shape {frames_arr.shape}"
            )
        ti, pi = np.nonzero(np.isfinite(self.degrees).any(axis=2))
        n = len(ti) * a
        codes = pa.array(np.tile(np.arange(a, dtype=np.int32), len(ti)))
        cols = {
            "frame": pa.array(np.repeat(frames_arr[ti], a).astype(np.int32)),
            "time": pa.array(np.repeat(self.times[ti], a).astype(np.float64)),
            "person": pa.array(np.repeat(pi, a).astype(np.int16)),
            "angle": pa.DictionaryArray.from_arrays(codes, pa.array(list(self.names), pa.string())),
            "degrees": pa.array(self.degrees[ti, pi].reshape(n).astype(np.float32)),
        }
        meta = {
            b"posestack.kind": str(self.meta.get("kind", "")).encode(),
            b"posestack.skeleton": str(self.meta.get("skeleton", "")).encode(),
            b"posestack.space": str(self.meta.get("space", "")).encode(),
            b"posestack.units": b"degrees",
        }
        return pa.table(cols).replace_schema_metadata(meta)


# --------------------------------------------------------------------------------------
# Landmarks: keypoints looked up by name, with per-layout fallbacks
# --------------------------------------------------------------------------------------

# role -> candidate keypoint-name tuples, first match in the layout wins (a tuple
# of several names is their mean). The choice is per layout, never per frame.
_ROLES_COMMON: dict[str, tuple[tuple[str, ...], ...]] = {
    "mid_hip": (("mid_hip",), ("left_hip", "right_hip")),
    "neck": (("neck",), ("left_shoulder", "right_shoulder")),
}
for _s in _SIDES:
    for _kp in ("hip", "knee", "ankle", "heel", "shoulder", "elbow", "wrist", "ear"):
        _ROLES_COMMON[f"{_s}_{_kp}"] = ((f"{_s}_{_kp}",),)
    _ROLES_COMMON[f"{_s}_toe"] = ((f"{_s}_big_toe",), (f"{_s}_foot_index",))

_ROLES_3D = dict(_ROLES_COMMON)
_ROLES_3D["head"] = (("head_top",), ("left_ear", "right_ear"))
for _s in _SIDES:
    # the back of the foot: heel, or the ankle in layouts without heels
    _ROLES_3D[f"{_s}_foot_back"] = ((f"{_s}_heel",), (f"{_s}_ankle",))
    _ROLES_3D[f"{_s}_hand"] = (
        (f"{_s}_hand_middle_finger_mcp",),
        (f"{_s}_middle_finger1",),
        (f"{_s}_index", f"{_s}_pinky"),
    )
    _ROLES_3D[f"{_s}_index"] = (
        (f"{_s}_hand_index_finger_mcp",),
        (f"{_s}_forefinger1",),
        (f"{_s}_index",),
    )
    _ROLES_3D[f"{_s}_pinky"] = (
        (f"{_s}_hand_pinky_mcp",),
        (f"{_s}_pinky_finger1",),
        (f"{_s}_pinky",),
    )

_ROLES_2D = dict(_ROLES_COMMON)
_ROLES_2D["head"] = (("head_top",),)
for _s in _SIDES:
    # Sports2D's "RIndex": BlazePose index, COCO-WholeBody forefinger1 (id 117/96)
    _ROLES_2D[f"{_s}_index"] = (
        (f"{_s}_index",),
        (f"{_s}_forefinger1",),
        (f"{_s}_hand_index_finger_mcp",),
    )


def _resolve(skel: Skeleton, roles: Mapping[str, tuple[tuple[str, ...], ...]]):
    """role -> keypoint indices (or None when the layout cannot provide it)."""
    names = set(skel.keypoints)
    out: dict[str, tuple[int, ...] | None] = {}
    src: dict[str, str] = {}
    for role, candidates in roles.items():
        out[role] = None
        for cand in candidates:
            if all(n in names for n in cand):
                out[role] = skel.indices(cand)
                src[role] = cand[0] if len(cand) == 1 else f"mean({', '.join(cand)})"
                break
    return out, src


def _points(coords: np.ndarray, found: Mapping[str, tuple[int, ...] | None]):
    """role -> ``(T, P, D)`` float64 points (NaN when missing or unavailable)."""
    t, p, _, d = coords.shape
    pts = {}
    for role, idx in found.items():
        if idx is None:
            pts[role] = np.full((t, p, d), np.nan)
        else:
            pts[role] = coords[:, :, list(idx), :].mean(axis=2)  # NaN if any is NaN
    return pts


def _prepare(poses: Any, fn: str, want_dim: int, min_score: float) -> np.ndarray:
    if not isinstance(poses, Poses):
        raise InputError(f"{fn} expects a posestack Poses; got {type(poses).__name__}")
    if poses.dim != want_dim:
        other = "planar_angles" if poses.dim == 2 else "joint_angles"
        raise InputError(
            f"{fn} needs D={want_dim} poses; got D={poses.dim} in space {poses.space!r} "
            f"(use {other} for D={poses.dim})"
        )
    try:
        min_score = float(min_score)
    except (TypeError, ValueError):
        min_score = float("nan")
    if not 0.0 <= min_score <= 1.0:
        raise InputError(f"min_score must be a number in [0, 1]; got {min_score!r}")
    coords = poses.coords.astype(np.float64)
    if min_score > 0:
        coords[poses.scores < min_score] = np.nan
    return coords


# --------------------------------------------------------------------------------------
# Vector helpers (all on (..., 3) float64 arrays, NaN-propagating)
# --------------------------------------------------------------------------------------


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...i->...", a, b)


def _norm(a: np.ndarray) -> np.ndarray:
    return np.sqrt(_dot(a, a))


def _unit(v: np.ndarray) -> np.ndarray:
    n = _norm(v)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > _EPS, v / n, np.nan)


def _perp_unit(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """``v`` without its component along unit ``axis``, normalised; NaN if degenerate."""
    p = v - _dot(v, axis)[..., None] * axis
    n_p = _norm(p)[..., None]
    n_v = _norm(v)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_v > _EPS) & (n_p > _MIN_SIN * n_v), p / n_p, np.nan)


def _between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unsigned angle between vectors, radians in [0, pi]; NaN for zero-length vectors."""
    a, b = _unit(a), _unit(b)
    return np.arctan2(_norm(np.cross(a, b)), _dot(a, b))


def _asin(x: np.ndarray) -> np.ndarray:
    return np.arcsin(np.clip(x, -1.0, 1.0))


def _zxy(parent: tuple[np.ndarray, np.ndarray, np.ndarray], y: np.ndarray, x: np.ndarray,
         z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cardan Z-X-Y angles (radians) of a child frame (axes x, y, z) in a parent frame.

    ``R = parent^T child = Rz(a) Rx(b) Ry(c)``. ``a`` and ``b`` depend only on the
    child's Y axis and ``b``, ``c`` only on the parent's Z axis among the parent's
    axes, so each angle is NaN only when what it needs is missing.
    """
    px, py, pz = parent
    a = np.arctan2(-_dot(px, y), _dot(py, y))
    b = _asin(_dot(pz, y))
    c = np.arctan2(-_dot(pz, x), _dot(pz, z))
    return a, b, c


def _axis(value: Any, name: str) -> np.ndarray:
    try:
        v = np.array(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        v = np.zeros(0)
    if v.shape != (3,) or not np.isfinite(v).all() or np.linalg.norm(v) <= _EPS:
        raise InputError(
            f"{name} must be a non-zero finite 3-vector, e.g. (0, 0, 1); got {value!r}"
        )
    return v / np.linalg.norm(v)


def _default_axes(space: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if space == "world":
        return (0.0, 0.0, 1.0), (1.0, 0.0, 0.0)
    if space == "body" or space.startswith("camera:"):
        return (0.0, -1.0, 0.0), (0.0, 0.0, -1.0)
    raise InputError(
        f"joint_angles works in 'world', 'body' or 'camera:<cam>' space; got {space!r}"
    )


# --------------------------------------------------------------------------------------
# 3D joint angles
# --------------------------------------------------------------------------------------

_PELVIS = ("left_hip", "right_hip", "mid_hip", "neck")
_TRUNK = ("mid_hip", "neck", "left_shoulder", "right_shoulder")


def _needs_3d() -> dict[str, tuple[str, ...]]:
    need: dict[str, tuple[str, ...]] = {
        "pelvis_tilt": _PELVIS,
        "pelvis_obliquity": ("left_hip", "right_hip"),
        "pelvis_rotation": ("left_hip", "right_hip"),
        "lumbar_bending": _PELVIS,
        "lumbar_rotation": _PELVIS + _TRUNK,
        "neck_flexion": (*_TRUNK, "head"),
        "neck_bending": (*_TRUNK, "head"),
        "neck_rotation": (*_TRUNK, "head", "left_ear", "right_ear"),
    }
    for s in _SIDES:
        foot = (f"{s}_ankle", f"{s}_toe", f"{s}_foot_back")
        need[f"{s}_hip_flexion"] = (*_PELVIS, f"{s}_knee")
        need[f"{s}_hip_adduction"] = ("left_hip", "right_hip", f"{s}_knee")
        need[f"{s}_hip_rotation"] = ("left_hip", "right_hip", f"{s}_knee", *foot)
        need[f"{s}_knee_flexion"] = (f"{s}_hip", f"{s}_knee", f"{s}_ankle")
        need[f"{s}_ankle_dorsiflexion"] = (f"{s}_knee", *foot)
        need[f"{s}_shoulder_flexion"] = (*_TRUNK, f"{s}_elbow")
        need[f"{s}_shoulder_abduction"] = (*_TRUNK, f"{s}_elbow")
        need[f"{s}_shoulder_rotation"] = (*_TRUNK, f"{s}_elbow", f"{s}_wrist")
        need[f"{s}_elbow_flexion"] = (f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist")
        need[f"{s}_wrist_flexion"] = (
            f"{s}_elbow", f"{s}_wrist", f"{s}_hand", f"{s}_index", f"{s}_pinky",
        )
    return need


_NEEDS_3D = _needs_3d()


def _joint_angles_rad(pts: Mapping[str, np.ndarray], up: np.ndarray, forward: np.ndarray):
    """name -> ``(T, P)`` radians for every name in :data:`JOINT_ANGLES_3D`."""
    out: dict[str, np.ndarray] = {}
    # world reference frame, ISB axes: X forward, Y up, Z = X x Y (right)
    wx, wy = forward, up
    wz = np.cross(wx, wy)

    # pelvis: Z along the hip line (left -> right hip); Y towards the neck
    # (the hip centres alone cannot fix the pelvis tilt); X = Y x Z anterior.
    trunk_vec = pts["neck"] - pts["mid_hip"]
    pz = _unit(pts["right_hip"] - pts["left_hip"])
    py = _perp_unit(trunk_vec, pz)
    px = np.cross(py, pz)
    pelvis = (px, py, pz)
    # pelvis in the world, sequence rotation (Y) - obliquity (X) - tilt (Z)
    out["pelvis_tilt"] = np.arctan2(-_dot(px, wy), _dot(py, wy))
    out["pelvis_obliquity"] = _asin(-_dot(pz, wy))
    out["pelvis_rotation"] = np.arctan2(_dot(pz, wx), _dot(pz, wz))

    # trunk (thorax): Y mid-hip -> neck; Z along the shoulder line; X anterior
    ty = _unit(trunk_vec)
    tz = _perp_unit(pts["right_shoulder"] - pts["left_shoulder"], ty)
    tx = np.cross(ty, tz)
    trunk = (tx, ty, tz)
    _, b, c = _zxy(pelvis, ty, tx, tz)  # flexion is 0 by construction: not reported
    out["lumbar_bending"] = b
    out["lumbar_rotation"] = c

    # head: Y neck -> head top (or ear midpoint); Z along the ear line
    hy = _unit(pts["head"] - pts["neck"])
    hz = _perp_unit(pts["right_ear"] - pts["left_ear"], hy)
    hx = np.cross(hy, hz)
    a, b, c = _zxy(trunk, hy, hx, hz)
    out["neck_flexion"] = -a  # head Y points away from the trunk: forward is -a
    out["neck_bending"] = b
    out["neck_rotation"] = c

    for s in _SIDES:
        m = 1.0 if s == "right" else -1.0  # mirror: left adduction/rotation flip sign
        hip, knee, ankle = pts[f"{s}_hip"], pts[f"{s}_knee"], pts[f"{s}_ankle"]
        foot = pts[f"{s}_toe"] - pts[f"{s}_foot_back"]

        # thigh: Y knee -> hip; X anterior from the knee plane plus the foot
        fy = _unit(hip - knee)
        shank = ankle - knee
        with np.errstate(invalid="ignore", divide="ignore"):
            ref = -(shank - _dot(shank, fy)[..., None] * fy) / _norm(shank)[..., None]
            ref = ref + (foot - _dot(foot, fy)[..., None] * fy) / _norm(foot)[..., None]
        n_ref = _norm(ref)[..., None]
        with np.errstate(invalid="ignore", divide="ignore"):
            fx = np.where(n_ref > _MIN_SIN, ref / n_ref, np.nan)
        fz = np.cross(fx, fy)
        a, b, c = _zxy(pelvis, fy, fx, fz)
        out[f"{s}_hip_flexion"] = a
        out[f"{s}_hip_adduction"] = m * b
        out[f"{s}_hip_rotation"] = m * c

        out[f"{s}_knee_flexion"] = _between(knee - hip, ankle - knee)
        out[f"{s}_ankle_dorsiflexion"] = np.pi / 2 - _between(foot, knee - ankle)

        # upper arm: Y elbow -> shoulder; X along the forearm (ISB humerus option 2)
        sho, elb, wri = pts[f"{s}_shoulder"], pts[f"{s}_elbow"], pts[f"{s}_wrist"]
        uy = _unit(sho - elb)
        ux = _perp_unit(wri - elb, uy)
        uz = np.cross(ux, uy)
        a, b, c = _zxy(trunk, uy, ux, uz)
        out[f"{s}_shoulder_flexion"] = a
        out[f"{s}_shoulder_abduction"] = -m * b
        out[f"{s}_shoulder_rotation"] = m * c

        out[f"{s}_elbow_flexion"] = _between(elb - sho, wri - elb)

        # wrist: forearm Y wrist -> elbow, Z the hand's radio-ulnar line (pointing to
        # the person's right in the anatomical position), X = Y x Z palmar.
        ay = _unit(elb - wri)
        az = _perp_unit(m * (pts[f"{s}_index"] - pts[f"{s}_pinky"]), ay)
        ax = np.cross(ay, az)
        hand = _unit(pts[f"{s}_hand"] - wri)
        out[f"{s}_wrist_flexion"] = np.arctan2(_dot(hand, ax), -_dot(hand, ay))
    return out


def joint_angles(
    poses: Poses,
    *,
    up: Sequence[float] | np.ndarray | None = None,
    forward: Sequence[float] | np.ndarray | None = None,
    min_score: float = 0.0,
) -> Angles:
    """ISB-style 3D joint angles (degrees) from 3D poses.

    Segment frames come from the keypoints of the layout, by name: pelvis from
    the hips and the mid-hip→neck line, thighs hip→knee, shanks knee→ankle,
    feet heel→big toe (or foot index; ankle→toe without heels), trunk
    mid-hip→neck with the shoulder line, head neck→head top (or ear midpoint)
    with the ear line, upper arms shoulder→elbow, forearms elbow→wrist, hands
    wrist→middle-finger MCP (or the index/pinky midpoint). ``neck`` is the
    shoulder midpoint and ``mid_hip`` the hip midpoint in layouts without those
    keypoints. Definitions, signs and zero poses: ``docs/angles.md``.

    Only the pelvis angles depend on the world: they are measured against
    ``up`` and ``forward``. Every other angle is invariant to moving or
    rotating the whole body.

    Args:
        poses: ``(T, P, K, 3)`` poses in ``"world"``, ``"body"`` or
            ``"camera:<cam>"`` space.
        up: the vertical direction in the coordinates of ``poses``. Default
            ``+Z`` for ``world`` (Z up); ``-Y`` for ``body`` (BlazePose world
            landmarks: x right, y down, z away from the camera) and
            ``camera:*`` (OpenCV: y down; exact only for a level camera).
        forward: the horizontal direction of zero ``pelvis_rotation`` (the
            person facing it). Default ``+X`` for ``world``; ``-Z`` (facing
            the camera) for ``body`` and ``camera:*``. Made perpendicular to
            ``up``.
        min_score: keypoints with a score below this count as missing.

    Returns:
        :class:`Angles` with ``kind="joint3d"`` and the names of
        :data:`JOINT_ANGLES_3D` that the layout can define, in that order.

    Raises:
        InputError: ``poses`` is not a 3D :class:`Poses` (the message suggests
            :func:`planar_angles` for 2D), or ``up``/``forward`` are not
            non-zero 3-vectors at least :data:`DEGENERATE_DEG` degrees apart.
    """
    coords = _prepare(poses, "joint_angles", 3, min_score)
    d_up, d_fwd = _default_axes(poses.space)
    up_v = _axis(d_up if up is None else up, "up")
    fwd_v = _axis(d_fwd if forward is None else forward, "forward")
    fwd_p = fwd_v - np.dot(fwd_v, up_v) * up_v
    if np.linalg.norm(fwd_p) <= _MIN_SIN:
        raise InputError(
            f"forward must not be within {DEGENERATE_DEG:g}° of up; got up={up_v.tolist()}, "
            f"forward={fwd_v.tolist()}"
        )
    fwd_v = fwd_p / np.linalg.norm(fwd_p)

    found, sources = _resolve(poses.skeleton, _ROLES_3D)
    names = tuple(n for n in JOINT_ANGLES_3D if all(found[r] is not None for r in _NEEDS_3D[n]))
    rad = _joint_angles_rad(_points(coords, found), up_v, fwd_v)
    t, p = coords.shape[:2]
    deg = np.stack([np.degrees(rad[n]) for n in names], axis=-1) if names else np.zeros((t, p, 0))
    meta = {
        "kind": "joint3d",
        "skeleton": poses.skeleton.name,
        "space": poses.space,
        "up": tuple(float(v) for v in up_v),
        "forward": tuple(float(v) for v in fwd_v),
        "min_score": float(min_score),
        "sources": sources,
    }
    return Angles(names=names, degrees=deg, times=poses.times, meta=meta)


# --------------------------------------------------------------------------------------
# 2D planar angles (Sports2D)
# --------------------------------------------------------------------------------------

# name -> (role points, offset, scale), as Pose2Sim's angle_dict (0.10.49):
# 2 points a, b: segment angle of b->a; 3 points a, b, c: angle at b from b->a to
# b->c; 4 points a, b, c, d: angle from a->b to c->d. See _planar_raw.
_PLANAR_DEFS: dict[str, tuple[tuple[str, ...], float, float]] = {}
for _s in ("right", "left"):
    _PLANAR_DEFS[f"{_s}_ankle"] = ((f"{_s}_knee", f"{_s}_ankle", f"{_s}_toe", f"{_s}_heel"),
                                   90.0, 1.0)
for _s in ("right", "left"):
    _PLANAR_DEFS[f"{_s}_knee"] = ((f"{_s}_ankle", f"{_s}_knee", f"{_s}_hip"), -180.0, 1.0)
for _s in ("right", "left"):
    _PLANAR_DEFS[f"{_s}_hip"] = ((f"{_s}_knee", f"{_s}_hip", "mid_hip", "neck"), 0.0, -1.0)
for _s in ("right", "left"):
    _PLANAR_DEFS[f"{_s}_shoulder"] = ((f"{_s}_elbow", f"{_s}_shoulder", "mid_hip", "neck"),
                                      0.0, -1.0)
for _s in ("right", "left"):
    _PLANAR_DEFS[f"{_s}_elbow"] = ((f"{_s}_wrist", f"{_s}_elbow", f"{_s}_shoulder"), 180.0, -1.0)
for _seg, _a, _b in (("foot", "toe", "heel"), ("shank", "ankle", "knee"), ("thigh", "knee", "hip")):
    for _s in ("right", "left"):
        _PLANAR_DEFS[f"{_s}_{_seg}"] = ((f"{_s}_{_a}", f"{_s}_{_b}"), 0.0, -1.0)
_PLANAR_DEFS["pelvis"] = (("left_hip", "right_hip"), 0.0, -1.0)
_PLANAR_DEFS["trunk"] = (("neck", "mid_hip"), 0.0, -1.0)
_PLANAR_DEFS["shoulders"] = (("left_shoulder", "right_shoulder"), 0.0, -1.0)
_PLANAR_DEFS["head"] = (("head", "neck"), 0.0, -1.0)
for _seg, _a, _b in (("arm", "elbow", "shoulder"), ("forearm", "wrist", "elbow"),
                     ("hand", "index", "wrist")):
    for _s in ("right", "left"):
        _PLANAR_DEFS[f"{_s}_{_seg}"] = ((f"{_s}_{_a}", f"{_s}_{_b}"), 0.0, -1.0)

#: Every 2D angle :func:`planar_angles` can return, in output order (Sports2D's).
PLANAR_ANGLES: tuple[str, ...] = tuple(_PLANAR_DEFS)
_HALF_TURN = ("pelvis", "shoulders")  # wrapped to [-90, 90) like Sports2D


def _planar_raw(p: Sequence[np.ndarray]) -> np.ndarray:
    """Pose2Sim ``points_to_angles`` for 2D points, degrees (image coordinates)."""
    if len(p) == 2:
        u = p[0] - p[1]
        return np.degrees(np.arctan2(u[..., 1], u[..., 0]))
    if len(p) == 3:
        u, v = p[0] - p[1], p[2] - p[1]
    else:
        u, v = p[1] - p[0], p[3] - p[2]
    cross = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    dot = u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1]
    return -np.degrees(np.arctan2(cross, dot))


def planar_angles(
    poses: Poses,
    *,
    visible_side: str = "auto",
    min_score: float = 0.0,
) -> Angles:
    """Sports2D joint and segment angles (degrees) from 2D image poses.

    Reproduces Sports2D's per-frame angles (before its interpolation, filtering
    and floor-angle correction): Pose2Sim's ``angle_dict`` points, offsets and
    signs, computed in image coordinates (x right, y down) after Sports2D's
    x-flip for the visible side. Joint angles: ``<side>_ankle``, ``_knee``,
    ``_hip``, ``_shoulder``, ``_elbow`` (flexion positive, 0 in the upright
    standing pose). Segment angles: the segment's direction measured
    anticlockwise *as seen on the screen* from the horizontal pointing right
    (in the flipped image): ``<side>_foot``, ``_shank``, ``_thigh``, ``pelvis``,
    ``trunk``, ``shoulders``, ``head``, ``<side>_arm``, ``_forearm``, ``_hand``.
    Definitions: ``docs/angles.md``.

    Args:
        poses: ``(T, P, K, 2)`` poses in ``"image:<cam>"`` space.
        visible_side: Sports2D's ``visible_side`` for every person:
            ``"auto"`` (per frame: ``"right"`` when the toes point to +x, as
            judged from heel→big-toe x of both feet, else ``"left"``;
            ``"right"`` in layouts without toes and heels), ``"right"`` or
            ``"none"`` (no flip), ``"left"`` (x negated), ``"front"`` (x of the
            right-side keypoints negated) or ``"back"`` (left-side ones).
        min_score: keypoints with a score below this count as missing
            (Sports2D's ``keypoint_likelihood_threshold`` is 0.3).

    Returns:
        :class:`Angles` with ``kind="planar"`` and the names of
        :data:`PLANAR_ANGLES` that the layout can define, in that order.

    Raises:
        InputError: ``poses`` is not a 2D :class:`Poses` (the message suggests
            :func:`joint_angles` for 3D) or ``visible_side`` is unknown.
    """
    coords = _prepare(poses, "planar_angles", 2, min_score)
    if visible_side not in VISIBLE_SIDES:
        raise InputError(
            f"visible_side must be one of {', '.join(VISIBLE_SIDES)}; got {visible_side!r}"
        )
    found, sources = _resolve(poses.skeleton, _ROLES_2D)
    pts = _points(coords, found)
    t, p = coords.shape[:2]

    # x sign per (frame, person) and role, as Sports2D's compute_angles_for_person
    ones = np.ones((t, p))
    sign = {role: ones for role in pts}
    if visible_side == "left":
        sign = {role: -ones for role in pts}
    elif visible_side in ("front", "back"):
        flipped = "right_" if visible_side == "front" else "left_"
        sign = {role: (-ones if role.startswith(flipped) else ones) for role in pts}
    elif visible_side == "auto":
        feet = ("right_toe", "right_heel", "left_toe", "left_heel")
        if all(found[r] is not None for r in feet):
            r_dir = pts["right_toe"][..., 0] - pts["right_heel"][..., 0]
            l_dir = pts["left_toe"][..., 0] - pts["left_heel"][..., 0]
            both_nan = np.isnan(r_dir) & np.isnan(l_dir)
            total = np.nansum(np.stack([r_dir, l_dir]), axis=0)
            side = np.where(both_nan, np.nan, np.where(total >= 0, 1.0, -1.0))
            sign = {role: side for role in pts}

    def flipped_point(role: str, raw: bool) -> np.ndarray:
        xy = pts[role].copy()
        if not raw:
            xy[..., 0] *= sign[role]
        return xy

    names, cols = [], []
    for name, (roles, offset, scale) in _PLANAR_DEFS.items():
        if any(found[r] is None for r in roles):
            continue
        # pelvis and shoulders join a left and a right point: in front/back mode
        # they use unflipped x (Sports2D would mix flipped and unflipped points).
        raw = name in _HALF_TURN and visible_side in ("front", "back")
        with np.errstate(invalid="ignore"):
            ang = (_planar_raw([flipped_point(r, raw) for r in roles]) + offset) * scale
            if name in _HALF_TURN:
                ang = np.mod(ang + 90.0, 180.0) - 90.0
            else:
                ang = np.mod(ang + 180.0, 360.0) - 180.0
        names.append(name)
        cols.append(ang)
    deg = np.stack(cols, axis=-1) if cols else np.zeros((t, p, 0))
    meta = {
        "kind": "planar",
        "skeleton": poses.skeleton.name,
        "space": poses.space,
        "visible_side": visible_side,
        "min_score": float(min_score),
        "sources": sources,
    }
    return Angles(names=tuple(names), degrees=deg, times=poses.times, meta=meta)
