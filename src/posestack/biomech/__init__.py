"""Biomechanics: OpenSim scaling and inverse kinematics, marker augmentation, ``.mot`` files.

* :func:`~posestack.biomech.opensim_ik.scale_and_ik` scales Pose2Sim's OpenSim
  model to a ``.trc`` and solves OpenSim's inverse kinematics (needs the
  ``biomech`` extra: ``pip install posestack[biomech]``);
* :func:`~posestack.biomech.augment.augment_markers` predicts OpenCap's 43
  anatomical markers from 3D keypoints (ONNX Runtime, no OpenSim needed);
* :func:`~posestack.biomech.mot.read_mot` / :func:`~posestack.biomech.mot.write_mot`.

Nothing heavy is imported here: OpenSim is imported inside the functions that use it.
"""

from __future__ import annotations

from .augment import LSTM_MARKERS, LSTM_SKELETON, augment_markers, write_augmented_trc
from .mot import MOTData, read_mot, write_mot
from .opensim_ik import OpenSimResult, scale_and_ik

__all__ = [
    "LSTM_MARKERS",
    "LSTM_SKELETON",
    "MOTData",
    "OpenSimResult",
    "augment_markers",
    "read_mot",
    "scale_and_ik",
    "write_augmented_trc",
    "write_mot",
]
