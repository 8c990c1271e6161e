"""Keypoint layouts (skeletons) and maps between them.

A :class:`Skeleton` is an ordered list of keypoint names with its edges (for
drawing and kinematic chains), its left/right flip table, named parts and,
where the dataset defines them, OKS sigmas. Names are snake_case and the same
anatomical point carries the same name in every layout (``left_shoulder``,
``neck``, ``mid_hip``, ``left_big_toe``, ``left_heel`` ...), so maps between
layouts can be checked by name.

A :class:`KeypointMap` converts keypoint arrays from one layout to another:
each target keypoint is copied from one source keypoint, is the mean of
several (e.g. ``neck`` = mean of the shoulders), or is unavailable (NaN).

Sources of the facts below (names, orders, edges, flip pairs, sigmas):

* COCO-17, COCO-WholeBody-133, Halpe-26, H36M-17: mmpose
  ``configs/_base_/datasets/{coco,coco_wholebody,halpe26,h36m}.py``; COCO-WholeBody
  ``data_format.md`` and ``evaluation/myeval_wholebody.py``.
* BODY_25 / BODY_25B: OpenPose ``src/openpose/pose/poseParameters.cpp`` and
  ``include/openpose/pose/poseParametersRender.hpp``.
* BlazePose-33, hand-21, face mesh 468: MediaPipe ``mediapipe/python/solutions/
  {pose,pose_connections,hands,face_mesh_connections}.py`` and
  ``mediapipe/modules/face_geometry/data/canonical_face_model.obj``.

"Left" and "right" are always the person's own left and right.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from posestack.errors import InputError

__all__ = [
    "BLAZEPOSE33",
    "BODY25",
    "BODY25B",
    "COCO17",
    "COCO_WHOLEBODY",
    "FACE468",
    "H36M17",
    "HALPE26",
    "HAND21",
    "SKELETONS",
    "KeypointMap",
    "Skeleton",
    "get_skeleton",
    "keypoint_map",
]


# --------------------------------------------------------------------------------------
# Skeleton
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Skeleton:
    """An ordered keypoint layout.

    Attributes:
        name: registry name, e.g. ``"coco17"``.
        keypoints: ordered keypoint names (snake_case), length K.
        edges: pairs of keypoint indices ``(i, j)`` to connect.
        flip: ``flip[i]`` is the index of the mirrored keypoint (``i`` itself
            for points on the mid-line). Always an involution.
        parts: read-only mapping part name -> keypoint indices, e.g. ``"body"``,
            ``"feet"``, ``"face"``, ``"left_hand"``, ``"right_hand"``.
        sigmas: per-keypoint OKS sigmas (length K) where the dataset defines
            them, else ``None``.

    Skeletons are immutable and hashable (usable as dict keys); two skeletons
    are equal when all their fields are equal.
    """

    name: str
    keypoints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    flip: tuple[int, ...]
    parts: Mapping[str, tuple[int, ...]]
    sigmas: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        name = str(self.name)
        keypoints = tuple(str(k) for k in self.keypoints)
        n = len(keypoints)
        if n == 0:
            raise InputError(f"skeleton {name!r} needs at least one keypoint")
        dupes = sorted({k for k in keypoints if keypoints.count(k) > 1})
        if dupes:
            raise InputError(f"skeleton {name!r} has duplicate keypoint names: {dupes}")

        edges = tuple((int(a), int(b)) for a, b in self.edges)
        seen: set[frozenset[int]] = set()
        for a, b in edges:
            if not (0 <= a < n and 0 <= b < n) or a == b:
                raise InputError(
                    f"skeleton {name!r}: edge ({a}, {b}) must join two different keypoint "
                    f"indices in [0, {n})"
                )
            key = frozenset((a, b))
            if key in seen:
                raise InputError(f"skeleton {name!r}: duplicate edge ({a}, {b})")
            seen.add(key)

        flip = tuple(int(i) for i in self.flip)
        if len(flip) != n:
            raise InputError(
                f"skeleton {name!r}: flip must have one entry per keypoint ({n}); got {len(flip)}"
            )
        for i, j in enumerate(flip):
            if not 0 <= j < n or flip[j] != i:
                raise InputError(
                    f"skeleton {name!r}: flip must be an involution over [0, {n}) "
                    f"(flip[flip[i]] == i); fails at i={i}"
                )

        raw_parts = self.parts.items() if isinstance(self.parts, Mapping) else self.parts
        parts: dict[str, tuple[int, ...]] = {}
        for part, idx in raw_parts:
            idx_t = tuple(int(i) for i in idx)
            if any(not 0 <= i < n for i in idx_t):
                raise InputError(
                    f"skeleton {name!r}: part {part!r} has indices outside [0, {n})"
                )
            parts[str(part)] = idx_t

        sigmas = None
        if self.sigmas is not None:
            sigmas = tuple(float(s) for s in self.sigmas)
            if len(sigmas) != n:
                raise InputError(
                    f"skeleton {name!r}: sigmas must have one value per keypoint ({n}); "
                    f"got {len(sigmas)}"
                )
            if any(not s > 0 for s in sigmas):
                raise InputError(f"skeleton {name!r}: sigmas must be positive")

        object.__setattr__(self, "name", name)
        object.__setattr__(self, "keypoints", keypoints)
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "flip", flip)
        object.__setattr__(self, "parts", MappingProxyType(parts))
        object.__setattr__(self, "sigmas", sigmas)
        object.__setattr__(self, "_lookup", {k: i for i, k in enumerate(keypoints)})

    # -- identity -----------------------------------------------------------------------

    def _key(self) -> tuple:
        return (
            self.name,
            self.keypoints,
            self.edges,
            self.flip,
            tuple(self.parts.items()),
            self.sigmas,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Skeleton):
            return NotImplemented
        return self is other or self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.name, self.keypoints))

    def __repr__(self) -> str:
        return f"Skeleton(name={self.name!r}, K={len(self.keypoints)})"

    # -- lookup -------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of keypoints K."""
        return len(self.keypoints)

    def index(self, name: str) -> int:
        """Index of the keypoint called ``name``.

        Raises:
            InputError: the name is not in this skeleton (the message names the
                skeleton and suggests close matches).
        """
        try:
            return self._lookup[name]  # type: ignore[attr-defined]
        except (KeyError, TypeError):
            pass
        if len(self.keypoints) <= 40:
            hint = "valid names: " + ", ".join(self.keypoints)
        else:
            close = difflib.get_close_matches(str(name), self.keypoints, n=5)
            hint = (
                f"did you mean: {', '.join(close)}" if close else
                f"names are e.g. {', '.join(self.keypoints[:5])}, ..."
            )
        raise InputError(
            f"unknown keypoint {name!r} for skeleton {self.name} "
            f"({len(self.keypoints)} keypoints); {hint}"
        )

    def indices(self, names: Iterable[str]) -> tuple[int, ...]:
        """Indices of several keypoints, in the order given (see :meth:`index`)."""
        if isinstance(names, str):
            names = (names,)
        return tuple(self.index(n) for n in names)

    @property
    def flip_pairs(self) -> tuple[tuple[int, int], ...]:
        """Left/right pairs ``(i, flip[i])`` with ``i < flip[i]``."""
        return tuple((i, j) for i, j in enumerate(self.flip) if i < j)


# --------------------------------------------------------------------------------------
# Helpers used to build the tables (evaluated once, at import)
# --------------------------------------------------------------------------------------


def _swap_side(name: str) -> str:
    """``left_eye_inner`` -> ``right_eye_inner``, ``mouth_left`` -> ``mouth_right``."""
    swap = {"left": "right", "right": "left"}
    return "_".join(swap.get(tok, tok) for tok in name.split("_"))


def _flip_by_name(
    keypoints: Sequence[str], extra_pairs: Iterable[tuple[int, int]] = ()
) -> tuple[int, ...]:
    """Flip table pairing every ``left``/``right`` name with its mirror name.

    Points without a side token map to themselves, except those listed in
    ``extra_pairs`` (used for the unnamed 68-point face).
    """
    lookup = {k: i for i, k in enumerate(keypoints)}
    flip = [lookup.get(_swap_side(k), i) for i, k in enumerate(keypoints)]
    for a, b in extra_pairs:
        flip[a], flip[b] = b, a
    return tuple(flip)


def _chain(*indices: int) -> tuple[tuple[int, int], ...]:
    """Edges of the polyline through ``indices``."""
    return tuple(itertools.pairwise(indices))


def _parse_pairs(text: str) -> tuple[tuple[int, int], ...]:
    """``"0-1, 1-2"`` -> ``((0, 1), (1, 2))``."""
    return tuple(
        (int(a), int(b)) for a, b in re.findall(r"(\d+)\s*-\s*(\d+)", text)
    )


def _range(a: int, b: int) -> tuple[int, ...]:
    """Inclusive index range ``a..b``."""
    return tuple(range(a, b + 1))


# --------------------------------------------------------------------------------------
# COCO-17
# --------------------------------------------------------------------------------------

_COCO17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
_COCO17_EDGES = _parse_pairs(
    "15-13, 13-11, 16-14, 14-12, 11-12, 5-11, 6-12, 5-6, 5-7, 6-8, 7-9, 8-10, "
    "1-2, 0-1, 0-2, 1-3, 2-4, 3-5, 4-6"
)
# pycocotools / xtcocotools: [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62,
# 1.07, 1.07, .87, .87, .89, .89] / 10
_COCO17_SIGMAS = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
    0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
)

COCO17 = Skeleton(
    name="coco17",
    keypoints=_COCO17_NAMES,
    edges=_COCO17_EDGES,
    flip=_flip_by_name(_COCO17_NAMES),
    parts={"body": _range(0, 16)},
    sigmas=_COCO17_SIGMAS,
)


# --------------------------------------------------------------------------------------
# Hand-21 (MediaPipe hand landmark names; same order as COCO-WholeBody / OpenPose hands)
# --------------------------------------------------------------------------------------

_HAND21_NAMES = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_finger_mcp", "index_finger_pip", "index_finger_dip", "index_finger_tip",
    "middle_finger_mcp", "middle_finger_pip", "middle_finger_dip", "middle_finger_tip",
    "ring_finger_mcp", "ring_finger_pip", "ring_finger_dip", "ring_finger_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)
# Tree edges (20): wrist to the base of each finger, then along the finger. This is
# the OpenPose / mmpose / COCO-WholeBody hand graph. (MediaPipe's own HAND_CONNECTIONS
# has 21: it draws the palm as a polygon 0-1, 0-5, 5-9, 9-13, 13-17, 0-17.)
_HAND21_EDGES = (
    _chain(0, 1, 2, 3, 4)
    + _chain(0, 5, 6, 7, 8)
    + _chain(0, 9, 10, 11, 12)
    + _chain(0, 13, 14, 15, 16)
    + _chain(0, 17, 18, 19, 20)
)
# COCO-WholeBody hand sigmas (identical for the left and right hand).
_HAND21_SIGMAS = (
    0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024,
    0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.020, 0.019, 0.022, 0.031,
)

HAND21 = Skeleton(
    name="hand21",
    keypoints=_HAND21_NAMES,
    edges=_HAND21_EDGES,
    flip=tuple(range(21)),
    parts={
        "hand": _range(0, 20),
        "thumb": _range(1, 4),
        "index_finger": _range(5, 8),
        "middle_finger": _range(9, 12),
        "ring_finger": _range(13, 16),
        "pinky": _range(17, 20),
    },
    sigmas=_HAND21_SIGMAS,
)


# --------------------------------------------------------------------------------------
# COCO-WholeBody-133: body 17, feet 6, face 68, left hand 21, right hand 21
# --------------------------------------------------------------------------------------

_FEET6_NAMES = (
    "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel",
)
# 68-point iBUG / 300-W face, "face_k" at index 23 + k.
_FACE68_NAMES = tuple(f"face_{k}" for k in range(68))
_WB_HAND_SUFFIXES = (
    "hand_root",
    "thumb1", "thumb2", "thumb3", "thumb4",
    "forefinger1", "forefinger2", "forefinger3", "forefinger4",
    "middle_finger1", "middle_finger2", "middle_finger3", "middle_finger4",
    "ring_finger1", "ring_finger2", "ring_finger3", "ring_finger4",
    "pinky_finger1", "pinky_finger2", "pinky_finger3", "pinky_finger4",
)
_WB_NAMES = (
    _COCO17_NAMES
    + _FEET6_NAMES
    + _FACE68_NAMES
    + tuple(f"left_{s}" for s in _WB_HAND_SUFFIXES)
    + tuple(f"right_{s}" for s in _WB_HAND_SUFFIXES)
)
_WB_FACE0, _WB_LHAND0, _WB_RHAND0 = 23, 91, 112

# Mirror pairs of the 68-point face, in face_k numbering (standard 68-point scheme):
# jaw 0-16, brows 17-21 / 22-26, nose base 31-35, eyes 36-41 / 42-47, outer lips
# 48-59, inner lips 60-67. Points on the mid-line (8, 27-30, 33, 51, 57, 62, 66)
# mirror onto themselves.
_FACE68_FLIP_PAIRS = (
    (0, 16), (1, 15), (2, 14), (3, 13), (4, 12), (5, 11), (6, 10), (7, 9),   # jaw
    (17, 26), (18, 25), (19, 24), (20, 23), (21, 22),                      # brows
    (31, 35), (32, 34),                                                    # nose base
    (36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46),            # eyes
    (48, 54), (49, 53), (50, 52), (55, 59), (56, 58),                      # outer lips
    (60, 64), (61, 63), (65, 67),                                          # inner lips
)
# Feet: each toe / heel hangs off its ankle.
_WB_FEET_EDGES = _parse_pairs("15-17, 15-18, 15-19, 16-20, 16-21, 16-22")
_WB_EDGES = (
    _COCO17_EDGES
    + _WB_FEET_EDGES
    + tuple((a + _WB_LHAND0, b + _WB_LHAND0) for a, b in _HAND21_EDGES)
    + tuple((a + _WB_RHAND0, b + _WB_RHAND0) for a, b in _HAND21_EDGES)
)
# xtcocoapi demo_coco_wholebody.py == COCO-WholeBody myeval_wholebody.py == mmpose.
_WB_FEET_SIGMAS = (0.068, 0.066, 0.066, 0.092, 0.094, 0.094)
_WB_FACE_SIGMAS = (
    0.042, 0.043, 0.044, 0.043, 0.040, 0.035, 0.031, 0.025, 0.020, 0.023, 0.029, 0.032,
    0.037, 0.038, 0.043, 0.041, 0.045, 0.013, 0.012, 0.011, 0.011, 0.012, 0.012, 0.011,
    0.011, 0.013, 0.015, 0.009, 0.007, 0.007, 0.007, 0.012, 0.009, 0.008, 0.016, 0.010,
    0.017, 0.011, 0.009, 0.011, 0.009, 0.007, 0.013, 0.008, 0.011, 0.012, 0.010, 0.034,
    0.008, 0.008, 0.009, 0.008, 0.008, 0.007, 0.010, 0.008, 0.009, 0.009, 0.009, 0.007,
    0.007, 0.008, 0.011, 0.008, 0.008, 0.008, 0.010, 0.008,
)

COCO_WHOLEBODY = Skeleton(
    name="coco_wholebody133",
    keypoints=_WB_NAMES,
    edges=_WB_EDGES,
    flip=_flip_by_name(
        _WB_NAMES, [(a + _WB_FACE0, b + _WB_FACE0) for a, b in _FACE68_FLIP_PAIRS]
    ),
    parts={
        "body": _range(0, 16),
        "feet": _range(17, 22),
        "face": _range(23, 90),
        "left_hand": _range(91, 111),
        "right_hand": _range(112, 132),
    },
    sigmas=_COCO17_SIGMAS + _WB_FEET_SIGMAS + _WB_FACE_SIGMAS + _HAND21_SIGMAS * 2,
)


# --------------------------------------------------------------------------------------
# Halpe-26 (AlphaPose / mmpose halpe26.py). Feet alternate L/R, unlike COCO-WholeBody.
# --------------------------------------------------------------------------------------

_HALPE26_NAMES = (
    *_COCO17_NAMES,
    "head_top",      # 17, Halpe "Head": top of the head
    "neck",          # 18
    "mid_hip",       # 19, Halpe "Hip": centre between the hips
    "left_big_toe", "right_big_toe",
    "left_small_toe", "right_small_toe",
    "left_heel", "right_heel",
)
# mmpose halpe26.py skeleton (27 links).
_HALPE26_EDGES = _parse_pairs(
    "15-13, 13-11, 11-19, 16-14, 14-12, 12-19, 17-18, 18-19, 18-5, 5-7, 7-9, 18-6, 6-8, "
    "8-10, 1-2, 0-1, 0-2, 1-3, 2-4, 3-5, 4-6, 15-20, 15-22, 15-24, 16-21, 16-23, 16-25"
)
# Sigmas as in mmpose halpe26.py (head 0.026, neck 0.026, hip 0.066, feet 0.079).
# Halpe's official evaluation (halpecocotools cocoeval.py) uses different values for
# 17-25 (head/neck/hip 0.08, feet 0.089), so OKS numbers are not comparable across the two.
_HALPE26_SIGMAS = _COCO17_SIGMAS + (0.026, 0.026, 0.066) + (0.079,) * 6

HALPE26 = Skeleton(
    name="halpe26",
    keypoints=_HALPE26_NAMES,
    edges=_HALPE26_EDGES,
    flip=_flip_by_name(_HALPE26_NAMES),
    parts={"body": _range(0, 19), "feet": _range(20, 25)},
    sigmas=_HALPE26_SIGMAS,
)


# --------------------------------------------------------------------------------------
# BlazePose / MediaPipe Pose 33
# --------------------------------------------------------------------------------------

_BLAZEPOSE33_NAMES = (
    "nose",
    "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_pinky", "right_pinky",
    "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee",
    "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
# mediapipe pose_connections.py POSE_CONNECTIONS (35).
_BLAZEPOSE33_EDGES = _parse_pairs(
    "0-1, 1-2, 2-3, 3-7, 0-4, 4-5, 5-6, 6-8, 9-10, 11-12, 11-13, 13-15, 15-17, 15-19, "
    "15-21, 17-19, 12-14, 14-16, 16-18, 16-20, 16-22, 18-20, 11-23, 12-24, 23-24, 23-25, "
    "24-26, 25-27, 26-28, 27-29, 28-30, 29-31, 30-32, 27-31, 28-32"
)

BLAZEPOSE33 = Skeleton(
    name="blazepose33",
    keypoints=_BLAZEPOSE33_NAMES,
    edges=_BLAZEPOSE33_EDGES,
    flip=_flip_by_name(_BLAZEPOSE33_NAMES),
    parts={"body": _range(0, 32), "face": _range(0, 10)},
    sigmas=None,  # no published OKS sigmas
)


# --------------------------------------------------------------------------------------
# OpenPose BODY_25 and BODY_25B
# --------------------------------------------------------------------------------------

_BODY25_NAMES = (
    "nose", "neck",
    "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "mid_hip",
    "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel",
)
# poseParametersRender.hpp POSE_BODY_25_PAIRS_RENDER_GPU (24). The network's PAF list
# additionally has 2-17 and 5-18 (shoulder-ear), which OpenPose does not draw.
_BODY25_EDGES = _parse_pairs(
    "1-8, 1-2, 1-5, 2-3, 3-4, 5-6, 6-7, 8-9, 9-10, 10-11, 8-12, 12-13, 13-14, 1-0, 0-15, "
    "15-17, 0-16, 16-18, 14-19, 19-20, 14-21, 11-22, 22-23, 11-24"
)

BODY25 = Skeleton(
    name="body25",
    keypoints=_BODY25_NAMES,
    edges=_BODY25_EDGES,
    flip=_flip_by_name(_BODY25_NAMES),
    parts={"body": _range(0, 18), "feet": _range(19, 24)},
    sigmas=None,
)

# OpenPose experimental BODY_25B (openpose_train; POSE_BODY_25B_BODY_PARTS): COCO-17
# order, then UpperNeck, HeadTop and the six foot points in BODY_25 order. Index 17 is
# OpenPose's "UpperNeck" (MPII-style; Pose2Sim calls it "Neck"). It sits higher than BODY_25's
# neck (the shoulder midpoint), so it gets its own name.
_BODY25B_NAMES = (*_COCO17_NAMES, "upper_neck", "head_top", *_FEET6_NAMES)
# poseParametersRender.hpp POSE_BODY_25B_PAIRS_RENDER_GPU (24). As in OpenPose, the
# head (nose, eyes, ears) is not linked to the neck.
_BODY25B_EDGES = _parse_pairs(
    "0-1, 0-2, 1-3, 2-4, 5-7, 6-8, 7-9, 8-10, 5-11, 6-12, 11-13, 12-14, 13-15, 14-16, "
    "15-19, 19-20, 15-21, 16-22, 22-23, 16-24, 5-17, 6-17, 17-18, 11-12"
)

BODY25B = Skeleton(
    name="body25b",
    keypoints=_BODY25B_NAMES,
    edges=_BODY25B_EDGES,
    flip=_flip_by_name(_BODY25B_NAMES),
    parts={"body": _range(0, 18), "feet": _range(19, 24)},
    sigmas=None,
)


# --------------------------------------------------------------------------------------
# Human3.6M-17 (mmpose h36m.py)
# --------------------------------------------------------------------------------------

# Differences from mmpose's names, so that equal points share a name across layouts:
# mmpose "root" is "pelvis" here; mmpose "right_foot"/"left_foot" (H36M's RightFoot /
# LeftFoot joints, which are the ankle joints) are "right_ankle"/"left_ankle".
# "neck_base" is H36M's "Neck/Nose" joint; "head" is H36M's "Head" joint.
_H36M17_NAMES = (
    "pelvis", "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck_base", "head",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)
_H36M17_EDGES = _parse_pairs(
    "0-4, 4-5, 5-6, 0-1, 1-2, 2-3, 0-7, 7-8, 8-9, 9-10, 8-11, 11-12, 12-13, 8-14, 14-15, "
    "15-16"
)

H36M17 = Skeleton(
    name="h36m17",
    keypoints=_H36M17_NAMES,
    edges=_H36M17_EDGES,
    flip=_flip_by_name(_H36M17_NAMES),
    parts={"body": _range(0, 16)},
    sigmas=None,  # mmpose defines none
)


# --------------------------------------------------------------------------------------
# MediaPipe face mesh, 468 landmarks
# --------------------------------------------------------------------------------------

# Contour polylines (mediapipe face_mesh_connections.py FACEMESH_CONTOURS = lips,
# left eye, left eyebrow, right eye, right eyebrow, face oval; 124 edges in all).
# "Left" follows MediaPipe's naming (FACEMESH_LEFT_EYE contains landmark 263).
_FACE_LIPS = (
    _chain(61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)      # outer, lower
    + _chain(61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)      # outer, upper
    + _chain(78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)     # inner, lower
    + _chain(78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)     # inner, upper
)
_FACE_LEFT_EYE = (
    _chain(263, 249, 390, 373, 374, 380, 381, 382, 362)            # lower lid
    + _chain(263, 466, 388, 387, 386, 385, 384, 398, 362)          # upper lid
)
_FACE_LEFT_EYEBROW = _chain(276, 283, 282, 295, 285) + _chain(300, 293, 334, 296, 336)
_FACE_RIGHT_EYE = (
    _chain(33, 7, 163, 144, 145, 153, 154, 155, 133)               # lower lid
    + _chain(33, 246, 161, 160, 159, 158, 157, 173, 133)           # upper lid
)
_FACE_RIGHT_EYEBROW = _chain(46, 53, 52, 65, 55) + _chain(70, 63, 105, 66, 107)
_FACE_OVAL = _chain(
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
    377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
    109, 10,
)  # closed loop


def _nodes(edges: Iterable[tuple[int, int]]) -> tuple[int, ...]:
    """Indices touched by ``edges``, in order of first appearance."""
    out: dict[int, None] = {}
    for a, b in edges:
        out.setdefault(a)
        out.setdefault(b)
    return tuple(out)


# Mirror table of the 468 landmarks. Derived offline from MediaPipe's canonical face
# model (mediapipe/modules/face_geometry/data/canonical_face_model.obj, 468 vertices,
# symmetric about x = 0): negate x of every vertex and take the nearest original
# vertex. Every vertex has an exact mirror (distance 0; next-nearest >= 0.11 units),
# the result is an involution with 28 mid-line vertices (x = 0) mapping onto
# themselves, and it maps the left eye/eyebrow contours onto the right ones and the
# lips and face oval onto themselves.
_FACE468_FLIP = (
    0, 1, 2, 248, 4, 5, 6, 249, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 250, 251, 252, 253,
    254, 255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 272,
    273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286, 287, 288, 289, 290, 291,
    292, 293, 294, 295, 296, 297, 298, 299, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310,
    311, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 322, 323, 94, 324, 325, 326, 327, 328,
    329, 330, 331, 332, 333, 334, 335, 336, 337, 338, 339, 340, 341, 342, 343, 344, 345, 346, 347,
    348, 349, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 360, 361, 362, 363, 364, 365, 366,
    367, 368, 369, 370, 371, 372, 373, 374, 375, 376, 377, 378, 379, 151, 152, 380, 381, 382, 383,
    384, 385, 386, 387, 388, 389, 390, 164, 391, 392, 393, 168, 394, 395, 396, 397, 398, 399, 175,
    400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418,
    195, 419, 197, 420, 199, 200, 421, 422, 423, 424, 425, 426, 427, 428, 429, 430, 431, 432, 433,
    434, 435, 436, 437, 438, 439, 440, 441, 442, 443, 444, 445, 446, 447, 448, 449, 450, 451, 452,
    453, 454, 455, 456, 457, 458, 459, 460, 461, 462, 463, 464, 465, 466, 467, 3, 7, 20, 21, 22,
    23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45,
    46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68,
    69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91,
    92, 93, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112,
    113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131,
    132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150,
    153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 165, 166, 167, 169, 170, 171, 172, 173,
    174, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193,
    194, 196, 198, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216,
    217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235,
    236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247,
)

FACE468 = Skeleton(
    name="face468",
    keypoints=tuple(f"face_mesh_{k}" for k in range(468)),
    edges=(
        _FACE_LIPS + _FACE_LEFT_EYE + _FACE_LEFT_EYEBROW + _FACE_RIGHT_EYE
        + _FACE_RIGHT_EYEBROW + _FACE_OVAL
    ),
    flip=_FACE468_FLIP,
    parts={
        "face": _range(0, 467),
        "lips": _nodes(_FACE_LIPS),
        "left_eye": _nodes(_FACE_LEFT_EYE),
        "left_eyebrow": _nodes(_FACE_LEFT_EYEBROW),
        "right_eye": _nodes(_FACE_RIGHT_EYE),
        "right_eyebrow": _nodes(_FACE_RIGHT_EYEBROW),
        "face_oval": _nodes(_FACE_OVAL),
    },
    sigmas=None,
)


# MediaPipe Holistic: BlazePose-33, then the person's left hand, right hand (hand-21
# each, names prefixed) and the 468-point face mesh.
_HOL_LHAND0 = 33
_HOL_RHAND0 = 33 + 21
_HOL_FACE0 = 33 + 42
_HOLISTIC543_NAMES = (
    *_BLAZEPOSE33_NAMES,
    *(f"left_hand_{n}" for n in _HAND21_NAMES),
    *(f"right_hand_{n}" for n in _HAND21_NAMES),
    *FACE468.keypoints,
)
HOLISTIC543 = Skeleton(
    name="holistic543",
    keypoints=_HOLISTIC543_NAMES,
    edges=(
        _BLAZEPOSE33_EDGES
        + tuple((a + _HOL_LHAND0, b + _HOL_LHAND0) for a, b in _HAND21_EDGES)
        + tuple((a + _HOL_RHAND0, b + _HOL_RHAND0) for a, b in _HAND21_EDGES)
        + tuple((a + _HOL_FACE0, b + _HOL_FACE0) for a, b in FACE468.edges)
    ),
    flip=(
        *_flip_by_name(_HOLISTIC543_NAMES)[:_HOL_FACE0],
        *(f + _HOL_FACE0 for f in _FACE468_FLIP),
    ),
    parts={
        "body": _range(0, 32),
        "left_hand": _range(_HOL_LHAND0, _HOL_RHAND0 - 1),
        "right_hand": _range(_HOL_RHAND0, _HOL_FACE0 - 1),
        "face": _range(_HOL_FACE0, _HOL_FACE0 + 467),
    },
    sigmas=None,
)


# --------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------

SKELETONS: Mapping[str, Skeleton] = MappingProxyType(
    {
        s.name: s
        for s in (
            COCO17, COCO_WHOLEBODY, HALPE26, BLAZEPOSE33, HAND21, FACE468, BODY25, BODY25B,
            H36M17, HOLISTIC543,
        )
    }
)
"""All built-in skeletons by registry name."""

_ALIASES: dict[str, str] = {
    "coco": "coco17",
    "coco_17": "coco17",
    "wholebody": "coco_wholebody133",
    "wholebody133": "coco_wholebody133",
    "coco_wholebody": "coco_wholebody133",
    "coco_wholebody_133": "coco_wholebody133",
    "coco133": "coco_wholebody133",
    "coco_133": "coco_wholebody133",
    "halpe": "halpe26",
    "halpe_26": "halpe26",
    "blazepose": "blazepose33",
    "blazepose_33": "blazepose33",
    "mediapipe_pose": "blazepose33",
    "hand": "hand21",
    "hand_21": "hand21",
    "mediapipe_hand": "hand21",
    "mediapipe_hands": "hand21",
    "face": "face468",
    "face_468": "face468",
    "face_mesh": "face468",
    "facemesh": "face468",
    "mediapipe_face_mesh": "face468",
    "body_25": "body25",
    "openpose": "body25",
    "openpose_body25": "body25",
    "body_25b": "body25b",
    "holistic": "holistic543",
    "mediapipe_holistic": "holistic543",
    "h36m": "h36m17",
    "h36m_17": "h36m17",
    "human36m": "h36m17",
}


def _normalise_name(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def get_skeleton(name: str | Skeleton) -> Skeleton:
    """Look up a built-in skeleton by name or alias (case-insensitive).

    Accepts registry names (``"coco17"``, ``"coco_wholebody133"``, ``"halpe26"``,
    ``"blazepose33"``, ``"hand21"``, ``"face468"``, ``"body25"``, ``"body25b"``,
    ``"h36m17"``) and aliases such as ``"coco"``, ``"wholebody"``, ``"halpe"``,
    ``"blazepose"``, ``"mediapipe_pose"``, ``"hand"``, ``"body_25"``, ``"h36m"``.
    A :class:`Skeleton` passed in is returned unchanged.

    Raises:
        InputError: unknown name (the message lists the valid names).

    Example:
        >>> sk = get_skeleton("coco")
        >>> sk.name, len(sk), sk.index("left_wrist"), sk.keypoints[sk.flip[9]]
        ('coco17', 17, 9, 'right_wrist')
    """
    if isinstance(name, Skeleton):
        return name
    if not isinstance(name, str):
        raise InputError(
            f"skeleton must be a Skeleton or a name string; got {type(name).__name__}"
        )
    key = _normalise_name(name)
    key = _ALIASES.get(key, key)
    try:
        return SKELETONS[key]
    except KeyError:
        raise InputError(
            f"unknown skeleton {name!r}; valid names: {', '.join(SKELETONS)} "
            f"(aliases: {', '.join(sorted(_ALIASES))})"
        ) from None


# --------------------------------------------------------------------------------------
# Keypoint maps
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeypointMap:
    """Conversion of keypoint arrays from ``source`` layout to ``target`` layout.

    Attributes:
        source: layout of the input arrays (K_src keypoints).
        target: layout of the output arrays (K_tgt keypoints).
        sources: one entry per target keypoint: the source indices whose mean
            gives it; ``()`` means the target keypoint is not available.
    """

    source: Skeleton
    target: Skeleton
    sources: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        sources = tuple(tuple(int(i) for i in entry) for entry in self.sources)
        k_src, k_tgt = len(self.source), len(self.target)
        if len(sources) != k_tgt:
            raise InputError(
                f"KeypointMap {self.source.name}->{self.target.name}: sources needs one entry "
                f"per target keypoint ({k_tgt}); got {len(sources)}"
            )
        for t, entry in enumerate(sources):
            if any(not 0 <= i < k_src for i in entry):
                raise InputError(
                    f"KeypointMap {self.source.name}->{self.target.name}: entry for "
                    f"{self.target.keypoints[t]!r} has indices outside [0, {k_src})"
                )
        object.__setattr__(self, "sources", sources)

    def __repr__(self) -> str:
        n_avail = sum(1 for e in self.sources if e)
        return (
            f"KeypointMap({self.source.name} -> {self.target.name}, "
            f"{n_avail}/{len(self.target)} available)"
        )

    @property
    def one_to_one(self) -> tuple[tuple[int, int], ...]:
        """``(target_index, source_index)`` for targets copied from a single source."""
        return tuple((t, e[0]) for t, e in enumerate(self.sources) if len(e) == 1)

    def __call__(
        self, coords: np.ndarray, scores: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Convert arrays from the source to the target layout.

        Args:
            coords: ``(..., K_src, D)`` coordinates (any D, any units), NaN where
                missing.
            scores: ``(..., K_src)`` confidences in [0, 1], or ``None``.

        Returns:
            ``(coords, scores)`` with shapes ``(..., K_tgt, D)`` and ``(..., K_tgt)``.
            A target made from several sources is their mean and its score is the
            minimum of theirs. A target is NaN with score 0 if any of its sources
            is NaN or if it is unavailable (``()``). Without ``scores``, the output
            score is 1 where the target is finite and 0 elsewhere. Inputs are never
            modified; float32 input stays float32.

        Raises:
            InputError: shapes do not match the source skeleton.
        """
        x = np.asarray(coords)
        k_src, k_tgt = len(self.source), len(self.target)
        if x.ndim < 2 or x.shape[-2] != k_src:
            raise InputError(
                f"coords must have shape (..., K={k_src}, D) for skeleton {self.source.name}; "
                f"got {x.shape}"
            )
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float64)
        if scores is not None:
            s = np.asarray(scores)
            if s.shape != x.shape[:-1]:
                raise InputError(
                    f"scores must have shape {x.shape[:-1]} (coords shape without D) for "
                    f"skeleton {self.source.name}; got {s.shape}"
                )
            if not np.issubdtype(s.dtype, np.floating):
                s = s.astype(np.float64)

        width = max(1, max((len(e) for e in self.sources), default=0))
        idx = np.zeros((k_tgt, width), dtype=np.intp)
        valid = np.zeros((k_tgt, width), dtype=bool)
        for t, entry in enumerate(self.sources):
            idx[t, : len(entry)] = entry
            valid[t, : len(entry)] = True
        count = valid.sum(axis=1).astype(x.dtype)

        gathered = x[..., idx, :]  # (..., K_tgt, width, D)
        gathered = np.where(valid[:, :, None], gathered, x.dtype.type(0))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = gathered.sum(axis=-2) / count[:, None]  # 0/0 -> NaN for unavailable
        out = out.astype(x.dtype, copy=False)
        finite = ~np.isnan(out).any(axis=-1)
        out[~finite] = np.nan

        if scores is None:
            out_scores = finite.astype(x.dtype)
        else:
            gs = s[..., idx]  # (..., K_tgt, width)
            gs = np.where(valid, gs, np.inf)
            out_scores = gs.min(axis=-1)
            out_scores = np.where(finite & np.isfinite(out_scores), out_scores, 0)
            out_scores = out_scores.astype(s.dtype, copy=False)
        return out, out_scores

    def inverse(self) -> KeypointMap:
        """The map target -> source built from the one-to-one entries only.

        A source keypoint copied unchanged to some target keypoint is recovered
        from it (the first such target if several); every other source keypoint
        (only used in means, or unused) is unavailable in the inverse.
        """
        inv: list[tuple[int, ...]] = [()] * len(self.source)
        for t, s in self.one_to_one:
            if not inv[s]:
                inv[s] = (t,)
        return KeypointMap(source=self.target, target=self.source, sources=tuple(inv))


def _identity_map(skel: Skeleton) -> KeypointMap:
    return KeypointMap(skel, skel, tuple((i,) for i in range(len(skel))))


# Map tables: target keypoint name -> source keypoint name(s). Every target keypoint
# not listed is unavailable. One name = copied; several = their mean.

_BODY17_SAME = {n: (n,) for n in _COCO17_NAMES}  # the 17 COCO points, copied by name

# BlazePose-33 -> COCO-17: the 17 COCO points all exist in BlazePose under the same
# names (nose 0, eyes 2/5, ears 7/8, shoulders 11/12, elbows 13/14, wrists 15/16,
# hips 23/24, knees 25/26, ankles 27/28).
_BLAZEPOSE33_TO_COCO17 = dict(_BODY17_SAME)

# BlazePose's "foot_index" is the tip of the foot (the toes); it is taken as the big
# toe. BlazePose has no small toe and no head top.
_BLAZEPOSE_FEET = {
    "left_big_toe": ("left_foot_index",),     # approximation: foot tip taken as big toe
    "right_big_toe": ("right_foot_index",),   # approximation: foot tip taken as big toe
    "left_heel": ("left_heel",),
    "right_heel": ("right_heel",),
    # left_small_toe, right_small_toe: unavailable
}

# BlazePose-33 -> Halpe-26: neck and mid_hip are means; head_top unavailable.
_BLAZEPOSE33_TO_HALPE26 = {
    **_BODY17_SAME,
    "neck": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
    **_BLAZEPOSE_FEET,
}

# BlazePose-33 -> COCO-WholeBody-133: body 0-16 and feet; face and hands unavailable
# (BlazePose's mouth corners and hand points are not the 68-point face / 21-point hand).
_BLAZEPOSE33_TO_WB = {**_BODY17_SAME, **_BLAZEPOSE_FEET}

# BlazePose-33 -> BODY_25 (OpenPose): neck / mid_hip are means; small toes unavailable.
_BLAZEPOSE33_TO_BODY25 = {
    **{n: (n,) for n in _BODY25_NAMES if n in _BLAZEPOSE33_NAMES},
    "neck": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
    **_BLAZEPOSE_FEET,
}

# COCO-17 -> H36M-17 (mmpose apis/inference_3d.py convert_keypoint_definition):
# pelvis = mean of hips; thorax = mean of shoulders; spine = mean(pelvis, thorax), which
# is the plain mean of the four points; head = mean of eyes; neck_base <- nose
# (approximation, as mmpose does).
_COCO17_TO_H36M17 = {
    "pelvis": ("left_hip", "right_hip"),
    "right_hip": ("right_hip",),
    "right_knee": ("right_knee",),
    "right_ankle": ("right_ankle",),
    "left_hip": ("left_hip",),
    "left_knee": ("left_knee",),
    "left_ankle": ("left_ankle",),
    "spine": ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    "thorax": ("left_shoulder", "right_shoulder"),
    "neck_base": ("nose",),  # approximation
    "head": ("left_eye", "right_eye"),
    "left_shoulder": ("left_shoulder",),
    "left_elbow": ("left_elbow",),
    "left_wrist": ("left_wrist",),
    "right_shoulder": ("right_shoulder",),
    "right_elbow": ("right_elbow",),
    "right_wrist": ("right_wrist",),
}

# COCO-WholeBody-133 -> BODY_25: everything by name except neck / mid_hip (means).
_WB_TO_BODY25 = {
    **{n: (n,) for n in _BODY25_NAMES if n in _WB_NAMES},
    "neck": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
}

# COCO-17 -> BODY_25: as above, feet unavailable.
_COCO17_TO_BODY25 = {
    **{n: (n,) for n in _BODY25_NAMES if n in _COCO17_NAMES},
    "neck": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
}

# COCO-17 -> Halpe-26: body copied; neck / mid_hip are means; head_top and feet unavailable.
_COCO17_TO_HALPE26 = {
    **_BODY17_SAME,
    "neck": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
}

# Halpe-26 -> BODY_25: all by name (Halpe has annotated neck and mid-hip).
_HALPE26_TO_BODY25 = {n: (n,) for n in _BODY25_NAMES if n in _HALPE26_NAMES}

# COCO-WholeBody-133 -> Halpe-26: feet reordered by name; neck / mid_hip are means;
# head_top unavailable.
_WB_TO_HALPE26 = {
    **{n: (n,) for n in _HALPE26_NAMES if n in _WB_NAMES},
    "neck": ("left_shoulder", "right_shoulder"),
    "mid_hip": ("left_hip", "right_hip"),
}

# Hand-21 (MediaPipe names) -> one COCO-WholeBody hand: same order, different names.
_HAND21_TO_WB_SUFFIX = dict(zip(_HAND21_NAMES, _WB_HAND_SUFFIXES, strict=True))
_HAND21_TO_WB_LEFT = {f"left_{wb}": (h,) for h, wb in _HAND21_TO_WB_SUFFIX.items()}
_HAND21_TO_WB_RIGHT = {f"right_{wb}": (h,) for h, wb in _HAND21_TO_WB_SUFFIX.items()}

# Face mesh 468 -> the 68-point (iBUG / COCO-WholeBody) face. Correspondences follow the
# published MediaPipe-to-dlib table of P. Yan (github.com/PeizhiYan/Mediapipe_2_Dlib_Landmarks,
# 2024), with one change so that the table is mirror-symmetric under the mesh's flip:
# jaw point 13 is the mean of mesh 361 and 288, mirroring point 3 (mesh 132 and 58).
# Two indices = their mean. iBUG order: jaw from the person's right ear to the left,
# right brow, left brow, nose bridge and base, right eye, left eye, outer then inner lips.
_FACE468_TO_FACE68 = (
    (127,), (234,), (93,), (132, 58), (58, 172), (136,), (150,), (176,), (152,),
    (400,), (379,), (365,), (397, 288), (361, 288), (323,), (454,), (356,),   # jaw 0-16
    (70,), (63,), (105,), (66,), (107,),                                       # right brow
    (336,), (296,), (334,), (293,), (300,),                                    # left brow
    (168, 6), (197, 195), (5,), (4,),                                          # nose bridge
    (75,), (97,), (2,), (326,), (305,),                                        # nose base
    (33,), (160,), (158,), (133,), (153,), (144,),                             # right eye
    (362,), (385,), (387,), (263,), (373,), (380,),                            # left eye
    (61,), (39,), (37,), (0,), (267,), (269,), (291,),                         # outer lip, top
    (321,), (314,), (17,), (84,), (91,),                                       # outer lip, bottom
    (78,), (82,), (13,), (312,), (308,),                                       # inner lip, top
    (317,), (14,), (87,),                                                      # inner lip, bottom
)
_FACE468_TO_WB = {
    f"face_{k}": tuple(f"face_mesh_{i}" for i in src)
    for k, src in enumerate(_FACE468_TO_FACE68)
}

# Holistic-543 -> COCO-WholeBody-133: body and feet as from BlazePose (big toe <- foot
# index, heels; small toes unavailable), both hands one-to-one, face-68 from the mesh.
_HOLISTIC543_TO_WB = {
    **_BLAZEPOSE33_TO_WB,
    **{k: (f"left_hand_{v[0]}",) for k, v in _HAND21_TO_WB_LEFT.items()},
    **{k: (f"right_hand_{v[0]}",) for k, v in _HAND21_TO_WB_RIGHT.items()},
    **_FACE468_TO_WB,
}

# (source, target, side) -> table
_MAP_TABLES: dict[tuple[str, str, str | None], Mapping[str, tuple[str, ...]]] = {
    ("blazepose33", "coco17", None): _BLAZEPOSE33_TO_COCO17,
    ("blazepose33", "halpe26", None): _BLAZEPOSE33_TO_HALPE26,
    ("blazepose33", "coco_wholebody133", None): _BLAZEPOSE33_TO_WB,
    ("blazepose33", "body25", None): _BLAZEPOSE33_TO_BODY25,
    ("hand21", "coco_wholebody133", "left"): _HAND21_TO_WB_LEFT,
    ("hand21", "coco_wholebody133", "right"): _HAND21_TO_WB_RIGHT,
    ("coco17", "h36m17", None): _COCO17_TO_H36M17,
    ("coco_wholebody133", "h36m17", None): _COCO17_TO_H36M17,
    ("halpe26", "h36m17", None): _COCO17_TO_H36M17,
    ("coco_wholebody133", "body25", None): _WB_TO_BODY25,
    ("coco17", "body25", None): _COCO17_TO_BODY25,
    ("halpe26", "body25", None): _HALPE26_TO_BODY25,
    ("coco17", "coco_wholebody133", None): _BODY17_SAME,  # identity on the body
    ("coco_wholebody133", "coco17", None): _BODY17_SAME,
    ("halpe26", "coco17", None): _BODY17_SAME,
    ("coco17", "halpe26", None): _COCO17_TO_HALPE26,
    ("coco_wholebody133", "halpe26", None): _WB_TO_HALPE26,
    ("face468", "coco_wholebody133", None): _FACE468_TO_WB,
    ("holistic543", "coco_wholebody133", None): _HOLISTIC543_TO_WB,
    ("holistic543", "blazepose33", None): {n: (n,) for n in _BLAZEPOSE33_NAMES},
    ("holistic543", "coco17", None): _BLAZEPOSE33_TO_COCO17,
    ("holistic543", "halpe26", None): _BLAZEPOSE33_TO_HALPE26,
    ("holistic543", "body25", None): _BLAZEPOSE33_TO_BODY25,
}

_SIDES = ("left", "right")


def _build_map(source: Skeleton, target: Skeleton, table: Mapping[str, Sequence[str]]):
    sources = [()] * len(target)
    for tgt_name, src_names in table.items():
        sources[target.index(tgt_name)] = source.indices(src_names)
    return KeypointMap(source, target, tuple(sources))


def _side_needed(a: str, b: str) -> bool:
    return any((a, b, s) in _MAP_TABLES or (b, a, s) in _MAP_TABLES for s in _SIDES)


def keypoint_map(
    source: Skeleton | str, target: Skeleton | str, *, side: str | None = None
) -> KeypointMap:
    """The map converting keypoints from layout ``source`` to layout ``target``.

    Built-in tables (see the commented tables in this module): blazepose33 ->
    coco17 / halpe26 / coco_wholebody133 / body25; hand21 -> coco_wholebody133
    (``side="left"`` or ``"right"`` picks the hand); coco17 / coco_wholebody133 /
    halpe26 -> h36m17; coco_wholebody133 / coco17 / halpe26 -> body25;
    coco17 <-> coco_wholebody133; coco17 <-> halpe26; coco_wholebody133 -> halpe26.
    The reverse direction of any built-in table is its :meth:`KeypointMap.inverse`
    (one-to-one points only). ``source == target`` gives the identity.

    Raises:
        InputError: unknown skeleton, no map between the two layouts, or a
            missing / invalid ``side``.
    """
    src = get_skeleton(source)
    tgt = get_skeleton(target)
    if side is not None:
        side = str(side).lower()
        if side not in _SIDES:
            raise InputError(f"side must be 'left' or 'right'; got {side!r}")
    a, b = src.name, tgt.name
    known_src = SKELETONS.get(a) == src
    known_tgt = SKELETONS.get(b) == tgt

    if src == tgt and side is None:
        return _identity_map(src)
    if known_src and known_tgt:
        if _side_needed(a, b):
            if side is None:
                raise InputError(
                    f"keypoint_map({a!r}, {b!r}) needs side='left' or side='right' "
                    "(which hand of the whole-body layout)"
                )
        elif side is not None:
            raise InputError(
                f"side= only applies to maps between hand21 and coco_wholebody133; "
                f"got side={side!r} for {a} -> {b}"
            )
        table = _MAP_TABLES.get((a, b, side))
        if table is not None:
            return _build_map(src, tgt, table)
        table = _MAP_TABLES.get((b, a, side))
        if table is not None:
            return _build_map(tgt, src, table).inverse()
    available = sorted(
        {f"{s}->{t}" for s, t, _ in _MAP_TABLES} | {f"{t}->{s}" for s, t, _ in _MAP_TABLES}
    )
    raise InputError(
        f"no keypoint map from {a} to {b}; available: {', '.join(available)}"
    )
