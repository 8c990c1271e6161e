"""Parametric bodies: Anny (free, ``posestack[body]``) fitted to keypoints.

* :class:`~posestack.body.anny_body.AnnyBody`: parameters -> vertices, faces,
  joints, keypoints;
* :func:`~posestack.body.fit.fit_body`: a sequence fit to 3D keypoints (one
  shape per person, batched over frames), written as ``body.npz`` and meshes.

torch and anny are imported only when a body is built.
"""

from __future__ import annotations

from .anny_body import FIT_BONES, KEYPOINT_NAMES, PHENOTYPES, AnnyBody, BodyParams
from .fit import BodyFit, fit_body, write_body_npz, write_obj

__all__ = ["FIT_BONES", "KEYPOINT_NAMES", "PHENOTYPES", "AnnyBody", "BodyFit", "BodyParams",
           "fit_body", "write_body_npz", "write_obj"]
