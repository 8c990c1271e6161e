"""Kinematics: segment frames and joint angles from keypoints.

* :func:`~posestack.kinematics.angles.joint_angles` — ISB-style 3D joint angles
  from 3D poses (``world``, ``body`` or ``camera:*`` space).
* :func:`~posestack.kinematics.angles.planar_angles` — Sports2D-style joint and
  segment angles from 2D image poses.

Both return an :class:`~posestack.kinematics.angles.Angles`. Every angle's
definition, sign and zero pose is in ``docs/angles.md``.
"""

from posestack.kinematics.angles import (
    JOINT_ANGLES_3D,
    PLANAR_ANGLES,
    Angles,
    joint_angles,
    planar_angles,
)

__all__ = ["JOINT_ANGLES_3D", "PLANAR_ANGLES", "Angles", "joint_angles", "planar_angles"]
