"""From keypoints to anatomy: where each 2D model puts the hip, and how that reaches the model.

A "hip" keypoint is not the same point for every 2D model. OpenPose (BODY_25, BODY_25B),
and the models trained on COCO or Halpe annotations (RTMPose, RTMW, DWPose, RTMO), mark
the hip where COCO's annotators clicked it; Pose2Sim placed the hip markers of its OpenSim
marker sets (``Markers_*.xml``, every layout alike) for that point: on the pelvis at
(−0.064, −0.081, ±0.105) m, about 2.8 cm lateral of and 0.3 cm below the model's hip
joint centre. BlazePose (and Holistic, which uses BlazePose's body) puts its hips lower
and a little closer together.

Measured on the Pose2Sim demo trial (the only one here with both; one subject, 100
frames at 60 fps): BlazePose's 3D hips, triangulated from the four videos, against
OpenPose BODY_25B's 3D hips triangulated from Pose2Sim's own 2D of the same frames,
expressed in OpenPose's pelvis frame (lateral = left→right hip, up = towards the mid
shoulder, forward = their cross product): left hip 3.7 cm lower (inter-quartile range
1.0 cm) and 0.9 cm more medial, right hip 4.7 cm lower (IQR 1.2 cm) and 1.8 cm more
medial; the hip width 18.5 vs 20.8 cm. The forward differences (+3.6 / −3.1 cm, IQR 4–6
cm) have opposite signs on the two sides: that is a disagreement about the pelvis's
rotation (BlazePose's hip line follows the shoulder line, OpenPose's is turned about 10°
from it), not a different definition of the point, and is not corrected.

:data:`HIP_OFFSETS` holds, per keypoint source, where its hips sit relative to the COCO
definition (the reference, zero): BlazePose 4.2 cm below and 1.3 cm medial (the means of
the two sides). Before OpenSim (:func:`~posestack.biomech.opensim_ik.scale_and_ik`'s
``keypoints``), the skeletal IK and OpenCap's marker augmenter (trained on OpenPose
keypoints), each frame's hips are moved by the opposite offset in that frame's pelvis
frame, built as in the measurement (:func:`reference_hips`), so that the hip joint centre
does not depend on which 2D model made the keypoints. The keypoint tables of a bundle keep
the hips as the 2D model put them; OpenSim's ``<stem>_markers.trc`` holds the moved ones.
(Moving the model's hip markers on the pelvis instead is not the same: the pelvis's own
up axis is not the trunk's, and on Pose2Sim's 3D with BlazePose-placed hips it left the
knee angles 2.8° off, against 0.8° for moving the data.)

On that trial, with BlazePose's keypoints (``posestack run`` on the four videos), the
mapping took OpenSim's knee angles against Pose2Sim's from 5.4 / 11.2° RMSE (right /
left; bias −2.4 / −7.0°) to 4.8 / 9.1° (bias −1.4 / −4.7°), the ankles from 8.2 / 8.9° to
7.5 / 7.3° (bias −3.2 / −4.3° to −0.3 / −0.5°), left hip adduction bias from −6.3° to
−3.9°; hip flexion hardly moved (8.5 / 15.0° to 8.2 / 14.6°: its remaining difference
is the pelvis rotation above and the left leg's 2D in some frames). The offsets come
from one subject: treat them as a documented correction for BlazePose's definition, not
a calibration of this person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..poses import Poses


@dataclass(frozen=True)
class HipOffset:
    """Where a keypoint source's hips sit relative to the COCO-annotated hips, in metres,
    in the pelvis frame: ``up`` (> 0 higher), ``medial`` (> 0 towards the other hip),
    ``forward`` (> 0 anterior)."""

    up: float
    medial: float
    forward: float = 0.0


#: Keypoint source -> hip offset from the COCO/OpenPose definition (see the module doc).
HIP_OFFSETS: dict[str, HipOffset] = {
    "coco": HipOffset(0.0, 0.0, 0.0),
    "blazepose": HipOffset(-0.042, 0.013, 0.0),
}
SOURCES = tuple(HIP_OFFSETS)
_BLAZEPOSE_ESTIMATORS = frozenset({"blazepose", "holistic"})
_BLAZEPOSE_LAYOUTS = frozenset({"blazepose33", "holistic543"})


def keypoint_source(given: str | None = None, *, estimator: str | None = None,
                    layout: str | None = None) -> str:
    """The keypoint source (a key of :data:`HIP_OFFSETS`) of 3D keypoints.

    Args:
        given: the user's choice (``"coco"``, ``"blazepose"``; ``None``/``"auto"``:
            decide from the others).
        estimator: the posestack estimator that made the 2D (``blazepose`` and
            ``holistic`` are BlazePose's; the ONNX models are COCO/Halpe-trained).
        layout: the 2D layout when the estimator is unknown (OpenPose json):
            ``blazepose33`` is BlazePose's; any other is taken as COCO-defined.

    Raises:
        InputError: ``given`` is not a known source.
    """
    if given is not None and given != "auto":
        if given not in HIP_OFFSETS:
            raise InputError(f"unknown keypoint source {given!r}; valid: auto, "
                             f"{', '.join(SOURCES)}")
        return given
    if estimator is not None:
        return "blazepose" if estimator in _BLAZEPOSE_ESTIMATORS else "coco"
    return "blazepose" if layout in _BLAZEPOSE_LAYOUTS else "coco"


def reference_hips(left_hip: np.ndarray, right_hip: np.ndarray, left_shoulder: np.ndarray,
                   right_shoulder: np.ndarray, source: str,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hips moved from ``source``'s definition to COCO's, and the shift of their midpoint.

    Each frame's pelvis frame comes from the hips and shoulders: lateral = left→right
    hip, up = towards the mid-shoulder (made perpendicular to lateral), forward = up ×
    lateral; the hips are moved by minus the source's :class:`HipOffset` in it. Works in
    any right-handed axes and units of metres.

    Args:
        left_hip, right_hip, left_shoulder, right_shoulder: ``(..., 3)`` positions (m).
        source: a key of :data:`HIP_OFFSETS`.

    Returns:
        ``(left_hip, right_hip, mid_shift)``: the moved hips ``(..., 3)`` and the shift
        ``(..., 3)`` to add to a mid-hip point. Frames where the frame cannot be built
        (a point missing, hips on top of each other) are left as they are (zero shift).
    """
    off = HIP_OFFSETS[keypoint_source(source)]
    lh, rh, ls, rs = (np.asarray(a, dtype=np.float64) for a in
                      (left_hip, right_hip, left_shoulder, right_shoulder))
    with np.errstate(invalid="ignore", divide="ignore"):
        lat = rh - lh
        lat = lat / np.linalg.norm(lat, axis=-1, keepdims=True)
        up = (ls + rs) / 2 - (lh + rh) / 2
        up = up - np.sum(up * lat, axis=-1, keepdims=True) * lat
        up = up / np.linalg.norm(up, axis=-1, keepdims=True)
        fwd = np.cross(up, lat)
        mid = up * off.up + fwd * off.forward
        ok = np.isfinite(mid).all(-1, keepdims=True) & np.isfinite(lat).all(-1, keepdims=True)
        mid = np.where(ok, mid, 0.0)
        lat = np.where(ok, lat, 0.0)
    # medial of the left hip is towards the right hip (+lateral), of the right hip -lateral
    return lh - (mid + lat * off.medial), rh - (mid - lat * off.medial), -mid


def to_reference_hips(poses: Poses, source: str) -> Poses:
    """3D poses with COCO-defined hips: :func:`reference_hips` applied to every frame and
    person (a ``mid_hip``/``pelvis`` point moves with the hips' midpoint). COCO-defined
    poses, and layouts without both hips and both shoulders, are returned unchanged.

    Args:
        poses: 3D poses, metres.
        source: a key of :data:`HIP_OFFSETS`.
    """
    if HIP_OFFSETS[keypoint_source(source)] == HIP_OFFSETS["coco"]:
        return poses
    if poses.dim != 3:
        raise InputError("to_reference_hips needs 3D poses")
    names = list(poses.skeleton.keypoints)
    need = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")
    if not all(n in names for n in need):
        return poses
    idx = [names.index(n) for n in need]
    coords = poses.coords.copy()
    lh, rh, shift = reference_hips(*(coords[:, :, i] for i in idx), source)
    coords[:, :, idx[0]], coords[:, :, idx[1]] = lh, rh
    for mid in ("mid_hip", "pelvis"):
        if mid in names:
            coords[:, :, names.index(mid)] += shift.astype(coords.dtype)
    return poses._replace(coords=coords)
