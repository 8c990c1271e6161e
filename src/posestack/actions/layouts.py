"""The skeleton layouts action models take, and how our layouts map onto them.

Two model layouts, as PYSKL names its graphs:

* ``coco`` (17 points, 2D or 3D): the COCO keypoint order, which PYSKL's NTU-2D (HRNet)
  pickles use. Any of our layouts with the 17 COCO body points maps by name.
* ``ntu25`` (25 points, 3D): the Kinect v2 joints of NTU RGB+D, in NTU's order.

Bones (one convention per layout; the bone and bone-motion modalities depend on it):
each joint's bone is ``joint - parent`` with the parents below, and the root's bone is
zero. ``ntu25`` follows PYSKL's ``nturgb+d`` graph (root 20, the spine at the shoulders;
hand tip and thumb both hang off the hand, as in NTU's own viewer). ``coco`` follows
PYSKL's ``coco`` graph (root 0, the nose; hips hang off the shoulders).

Our layouts onto ``ntu25`` (by keypoint name; a point with no source is NaN, never
guessed): spine base = the hips' midpoint (``mid_hip``/``pelvis``), spine mid = halfway
from it to the spine at the shoulders, neck = ``neck`` (else the shoulders' midpoint, the
same as the spine at the shoulders), head = ``head_top`` (else the ears' midpoint), hands
= the index and pinky knuckles' midpoint (BlazePose; else the wrist), feet = the big toe
(or BlazePose's foot index), hand tips = the index finger's tip or knuckle, thumbs = the
thumb.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..poses import Poses

NTU25_NAMES = (
    "spine_base", "spine_mid", "neck", "head", "left_shoulder", "left_elbow", "left_wrist",
    "left_hand", "right_shoulder", "right_elbow", "right_wrist", "right_hand", "left_hip",
    "left_knee", "left_ankle", "left_foot", "right_hip", "right_knee", "right_ankle",
    "right_foot", "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip",
    "right_thumb")
#: 0-based parent of each NTU joint (PYSKL nturgb+d graph; 20 is the root)
NTU25_PARENTS = (1, 20, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, 20,
                 7, 7, 11, 11)
#: left/right mirror permutation of the NTU joints
NTU25_FLIP = (0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15, 20, 23,
              24, 21, 22)

COCO_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
              "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
              "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
#: 0-based parent of each COCO point (PYSKL coco graph; 0 is the root)
COCO_PARENTS = (0, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14)
COCO_FLIP = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)

MODEL_LAYOUTS = {"coco": (COCO_NAMES, COCO_PARENTS, COCO_FLIP),
                 "ntu25": (NTU25_NAMES, NTU25_PARENTS, NTU25_FLIP)}

#: SkateFormer's body-part groups (0-based), equal in size. ``ntu25``: SkateFormer's six
#: groups of four (the spine at the shoulders left out): two arms with hand tip and thumb,
#: two legs, shoulders with hips, spine with head. ``coco`` (ours; SkateFormer has no COCO
#: partition): two arms, two legs, and each side of the face with the nose, three each.
SKATE_GROUPS = {
    "ntu25": ((6, 7, 21, 22), (10, 11, 23, 24), (12, 13, 14, 15), (16, 17, 18, 19),
              (4, 8, 5, 9), (1, 2, 0, 3)),
    "coco": ((5, 7, 9), (6, 8, 10), (11, 13, 15), (12, 14, 16), (1, 3, 0), (2, 4, 0)),
}

#: PSUMNet-style part streams (0-based joints each stream sees; the others are zeroed).
#: ``ntu25`` after PSUMNet's hand and leg sets; ``coco``: arms with the shoulders and head,
#: legs with the hips.
PARTS = {
    "ntu25": {"body": tuple(range(25)),
              "arms": (20, 4, 5, 6, 7, 21, 22, 8, 9, 10, 11, 23, 24),
              "legs": (0, 12, 13, 14, 15, 16, 17, 18, 19)},
    "coco": {"body": tuple(range(17)),
             "arms": (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
             "legs": (11, 12, 13, 14, 15, 16)},
}


def _first(names: list[str], *cands: str) -> int | None:
    return next((names.index(c) for c in cands if c in names), None)


def to_model_layout(poses: Poses, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints of ``poses`` in a model layout.

    Args:
        poses: ``(T, P, K, D)`` poses in any posestack layout.
        layout: ``"coco"`` or ``"ntu25"`` (3D only).

    Returns:
        ``(coords (P, T, V, D) float32 with NaN where missing, scores (P, T, V) float32)``
        (persons first, as PYSKL stores them).

    Raises:
        InputError: an unknown layout, 2D poses for ``ntu25``, or a layout that lacks the
            points the model layout needs (hips, shoulders, knees...).
    """
    if layout not in MODEL_LAYOUTS:
        raise InputError(f"unknown model layout {layout!r}; valid: {', '.join(MODEL_LAYOUTS)}")
    names = list(poses.skeleton.keypoints)
    X = np.where((poses.scores > 0)[..., None], poses.coords.astype(np.float64), np.nan)
    S = poses.scores.astype(np.float64)
    T, P = X.shape[:2]
    D = poses.dim

    def pt(*cands: str) -> tuple[np.ndarray, np.ndarray]:
        i = _first(names, *cands)
        if i is None:
            return np.full((T, P, D), np.nan), np.zeros((T, P))
        return X[:, :, i], S[:, :, i]

    def mid(a: tuple, b: tuple) -> tuple[np.ndarray, np.ndarray]:
        return (a[0] + b[0]) / 2, np.minimum(a[1], b[1])

    need = ("left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee",
            "right_knee")
    missing = [n for n in need if n not in names]
    if missing:
        raise InputError(f"layout {poses.skeleton.name} lacks {', '.join(missing)}: it has no "
                         f"map to the {layout} layout")
    if layout == "coco":
        lack = [n for n in COCO_NAMES if n not in names]
        if lack:
            raise InputError(f"layout {poses.skeleton.name} lacks {', '.join(lack)} for the "
                             "coco layout")
        pts = [pt(n) for n in COCO_NAMES]
    else:
        if D != 3:
            raise InputError("the ntu25 layout is 3D (NTU's Kinect joints); use the coco "
                             "layout for 2D keypoints")
        hips = mid(pt("left_hip"), pt("right_hip"))
        base = pt("mid_hip", "pelvis") if _first(names, "mid_hip", "pelvis") is not None \
            else hips
        shoulders = mid(pt("left_shoulder"), pt("right_shoulder"))
        neck = pt("neck") if "neck" in names else shoulders
        head = pt("head_top") if "head_top" in names else mid(pt("left_ear"), pt("right_ear"))

        def hand(s: str) -> tuple:
            if f"{s}_index" in names and f"{s}_pinky" in names:
                return mid(pt(f"{s}_index"), pt(f"{s}_pinky"))
            return pt(f"{s}_wrist")

        pts = [base, mid(base, shoulders), neck, head]
        for s in ("left", "right"):
            pts += [pt(f"{s}_shoulder"), pt(f"{s}_elbow"), pt(f"{s}_wrist"), hand(s)]
        for s in ("left", "right"):
            pts += [pt(f"{s}_hip"), pt(f"{s}_knee"), pt(f"{s}_ankle"),
                    pt(f"{s}_big_toe", f"{s}_foot_index")]
        pts.append(shoulders)
        for s in ("left", "right"):
            pts += [pt(f"{s}_hand_index_finger_tip", f"{s}_forefinger4", f"{s}_index"),
                    pt(f"{s}_hand_thumb_tip", f"{s}_thumb4", f"{s}_thumb")]
    coords = np.stack([p[0] for p in pts], axis=2)          # (T, P, V, D)
    scores = np.stack([p[1] for p in pts], axis=2)          # (T, P, V)
    scores = np.where(np.isfinite(coords).all(-1), scores, 0.0)
    return (np.moveaxis(coords, 1, 0).astype(np.float32),
            np.moveaxis(scores, 1, 0).astype(np.float32))


def bones(keypoint: np.ndarray, layout: str) -> np.ndarray:
    """The bone modality: ``keypoint[..., v, :] - keypoint[..., parent(v), :]`` (the root's
    bone is zero), for ``(..., V, C)`` arrays in a model layout."""
    parents = np.asarray(MODEL_LAYOUTS[layout][1])
    if keypoint.shape[-2] != parents.size:
        raise InputError(f"{layout} has {parents.size} joints; the array has "
                         f"{keypoint.shape[-2]}")
    return keypoint - keypoint[..., parents, :]
