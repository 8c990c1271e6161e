"""Body-part labels of Anny's default mesh (for semantic maps).

Fifteen parts in the spirit of DensePose's coarse segmentation (:data:`PART_NAMES`),
each with a fixed colour (:data:`PART_COLOURS`; black is left for the background).
A vertex takes the part of the bone with its largest skinning weight; bones map
to parts by name (:data:`BONE_PARTS`):

============== ==========================================================
part           Anny bones
============== ==========================================================
head           head, eye.L/R, neck02, neck03 (above the neck line, see below)
neck           neck01; and head/neck vertices below the skull base and the chin
torso          root, spine01-05, pelvis.L/R, clavicle.L/R
upper arm      shoulder01, upperarm01, upperarm02
forearm        lowerarm01, lowerarm02
hand           wrist, metacarpal1-4, finger1-5 (all segments)
thigh          upperleg01, upperleg02
shin           lowerleg01, lowerleg02
foot           foot, toe1-5 (all segments)
============== ==========================================================

Anny's head bone skins most of the neck, so the neck is cut geometrically in the
rest pose: below the head bone's head (the skull base) and below the line from
there down to the chin. Part borders are then smoothed by five rounds of a
majority vote over each vertex's neighbours (the dominant-bone borders are ragged).

``left`` is the body's own left: Anny's ``.L`` bones, at +X in the rest pose.
"""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AssetError, InputError

if TYPE_CHECKING:
    from .anny_body import AnnyBody

__all__ = ["BONE_PARTS", "PART_COLOURS", "PART_NAMES", "anny_part_labels", "bone_part"]

#: Part names; a label is an index into this tuple.
PART_NAMES = ("head", "neck", "torso", "left_upper_arm", "right_upper_arm", "left_forearm",
              "right_forearm", "left_hand", "right_hand", "left_thigh", "right_thigh",
              "left_shin", "right_shin", "left_foot", "right_foot")

#: (15, 3) uint8 RGB colour per part (distinct, none black; left and right differ).
PART_COLOURS = np.array([
    (230, 25, 75),    # head: red
    (245, 130, 48),   # neck: orange
    (255, 225, 25),   # torso: yellow
    (60, 180, 75),    # left upper arm: green
    (0, 130, 200),    # right upper arm: blue
    (170, 255, 195),  # left forearm: mint
    (70, 240, 240),   # right forearm: cyan
    (210, 245, 60),   # left hand: lime
    (145, 30, 180),   # right hand: purple
    (240, 50, 230),   # left thigh: magenta
    (0, 128, 128),    # right thigh: teal
    (250, 190, 212),  # left shin: pink
    (220, 190, 255),  # right shin: lavender
    (170, 110, 40),   # left foot: brown
    (128, 0, 0),      # right foot: maroon
], dtype=np.uint8)
PART_COLOURS.setflags(write=False)

#: Anny bone name (without its ``.L``/``.R`` side) → part (sided parts without the side).
BONE_PARTS: dict[str, str] = {
    "root": "torso", "spine01": "torso", "spine02": "torso", "spine03": "torso",
    "spine04": "torso", "spine05": "torso", "pelvis": "torso", "clavicle": "torso",
    "neck01": "neck", "neck02": "head", "neck03": "head", "head": "head", "eye": "head",
    "shoulder01": "upper_arm", "upperarm01": "upper_arm", "upperarm02": "upper_arm",
    "lowerarm01": "forearm", "lowerarm02": "forearm",
    "wrist": "hand", "metacarpal": "hand", "finger": "hand",
    "upperleg01": "thigh", "upperleg02": "thigh",
    "lowerleg01": "shin", "lowerleg02": "shin",
    "foot": "foot", "toe": "foot",
}
_SMOOTH_ROUNDS = 5
# labels per anny model (several AnnyBody share one model); entries go with the model
_CACHE: weakref.WeakKeyDictionary[Any, np.ndarray] = weakref.WeakKeyDictionary()
_BONE = re.compile(r"^(?P<base>[a-z]+?)(?P<num>\d+(-\d+)?)?(\.(?P<side>[LR]))?$")


def bone_part(name: str) -> int:
    """The part label (index into :data:`PART_NAMES`) of an Anny bone name.

    Raises:
        AssetError: for a bone this table does not know (a changed rig).

    Example:
        >>> PART_NAMES[bone_part("lowerleg01.L")], PART_NAMES[bone_part("finger2-3.R")]
        ('left_shin', 'right_hand')
    """
    m = _BONE.match(name)
    part = None
    if m is not None:
        base = m["base"]
        part = BONE_PARTS.get(base + (m["num"] or "")) or BONE_PARTS.get(base)
    if part is None:
        raise AssetError(f"no body part for Anny bone {name!r}; known bones: "
                         f"{', '.join(BONE_PARTS)} (with .L/.R)")
    side = m["side"]
    if part in ("head", "neck", "torso"):   # midline parts, whatever the bone's side
        return PART_NAMES.index(part)
    if side is None:
        raise AssetError(f"Anny bone {name!r} (part {part!r}) has no .L/.R side")
    full = f"{'left' if side == 'L' else 'right'}_{part}"
    return PART_NAMES.index(full)


def _neck(rest: np.ndarray, head_joint: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Which ``head`` vertices (bool mask) are neck: below the skull base and under the chin.

    ``rest`` (V, 3) rest vertices (Z up, facing -Y), ``head_joint`` (3,) the head
    bone's head (the skull base). The chin is the lowest head vertex more than 5 cm
    in front of the skull base; the neck lies below the skull base's height and
    below the line from the skull base down to the chin.
    """
    hy, hz = head_joint[1], head_joint[2]
    front = np.flatnonzero(head & (rest[:, 1] < hy - 0.05))
    if len(front) == 0:
        return head & (rest[:, 2] < hz)
    chin = rest[front[np.argmin(rest[front, 2])]]
    slope = (hz - chin[2]) / (hy - chin[1])   # dz/dy of the skull base -> chin line
    under = rest[:, 2] < hz + slope * (rest[:, 1] - hy)
    return head & (rest[:, 2] < hz) & under


def _smooth(labels: np.ndarray, faces: np.ndarray, n_labels: int, rounds: int) -> np.ndarray:
    """Majority vote over each vertex's 1-ring (ties keep the vertex's own label)."""
    i = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2], faces[:, 1], faces[:, 2],
                        faces[:, 0]])
    j = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0], faces[:, 0], faces[:, 1],
                        faces[:, 2]])
    V = len(labels)
    for _ in range(rounds):
        votes = np.zeros((V, n_labels))
        np.add.at(votes, (i, labels[j]), 1.0)   # a neighbour counts once per shared face
        votes[np.arange(V), labels] += 0.5
        labels = votes.argmax(1)
    return labels


def _labels(body: Any) -> np.ndarray:
    model, names = body.model, tuple(body.joint_names)
    idx = model.vertex_bone_indices.detach().cpu().numpy()
    wts = model.vertex_bone_weights.detach().cpu().numpy()
    if idx.shape != wts.shape or idx.ndim != 2:
        raise AssetError(f"anny's skinning arrays have shapes {idx.shape} and {wts.shape}; "
                         "expected (V, k) each")
    dominant = idx[np.arange(len(idx)), wts.argmax(1)]
    bone_to_part = np.array([bone_part(n) for n in names], dtype=np.int64)
    labels = bone_to_part[dominant]
    # the head bone skins most of the neck: split it geometrically in the rest pose
    out = body(body.rest_params(1))
    head = PART_NAMES.index("head")
    neck = _neck(out["vertices"][0], out["joints"][0, names.index("head")],
                 np.isin(labels, (head, PART_NAMES.index("neck"))))
    labels[neck] = PART_NAMES.index("neck")
    labels = _smooth(labels, np.asarray(body.faces), len(PART_NAMES), _SMOOTH_ROUNDS)
    labels.setflags(write=False)
    return labels


def anny_part_labels(body: AnnyBody) -> np.ndarray:
    """Part label per vertex of Anny's default mesh, from its skinning weights.

    Each vertex takes the bone with its largest skinning weight; the bone's
    name gives the part (:func:`bone_part`); then the neck is cut out of the
    head and borders are smoothed (see the module docstring). Cached per anny
    model: repeated calls return the same read-only array.

    Args:
        body: a :class:`posestack.body.AnnyBody`.

    Returns:
        (V,) int64 labels, indices into :data:`PART_NAMES` (colours: :data:`PART_COLOURS`).
    """
    model = getattr(body, "model", None)
    names = getattr(body, "joint_names", None)
    if model is None or names is None or not hasattr(model, "vertex_bone_weights"):
        raise InputError(f"anny_part_labels needs a posestack.body.AnnyBody, "
                         f"got {type(body).__name__}")
    try:
        return _CACHE[model]
    except KeyError:
        pass
    except TypeError:       # not weak-referenceable: no cache
        return _labels(body)
    labels = _labels(body)
    _CACHE[model] = labels
    return labels
