"""Parametric bodies fitted to keypoints: Anny (free, ``posestack[body]``).

* :class:`~posestack.body.anny_body.AnnyBody`: parameters -> vertices, faces,
  joints, keypoints (the interface: :class:`~posestack.body.model.ParametricBody`);
* :func:`~posestack.body.fit.fit_body`: a sequence fit to 3D keypoints or to one
  camera's 2D keypoints (one shape per person, batched over frames), with a
  per-joint uncertainty, written as ``body.npz`` and meshes;
* :func:`~posestack.body.gltf.write_glb`: the sequence as one animated, skinned ``.glb``.

* :class:`~posestack.body.smpl_body.SMPLBody`: SMPL, SMPL-H, SMPL-X and MANO from the
  user's model files (``posestack[smpl]``; non-commercial licence, opt-in);
* :func:`~posestack.body.transfer.transfer_motion`: a motion on another shape.

torch and anny (and smplx) are imported only when a body is built.
"""

from __future__ import annotations

from .anny_body import BODY_BONES, FIT_BONES, HAND_BONES, KEYPOINT_NAMES, PHENOTYPES, AnnyBody
from .fit import BodyFit, estimate_camera, fit_body, write_body_npz, write_obj
from .gltf import read_glb, write_glb
from .model import BodyParams, JointLimit, ParametricBody
from .smpl_body import SMPLBody
from .transfer import transfer_motion

__all__ = ["BODY_BONES", "FIT_BONES", "HAND_BONES", "KEYPOINT_NAMES", "PHENOTYPES", "AnnyBody",
           "BodyFit", "BodyParams", "JointLimit", "ParametricBody", "SMPLBody", "estimate_camera",
           "fit_body", "read_glb", "transfer_motion", "write_body_npz", "write_glb", "write_obj"]
