"""Evaluation: how well posestack's numbers agree with a reference.

:mod:`posestack.evaluate.agreement`: agreement of two sets of joint angles the
way measuring instruments are compared (Bland–Altman): RMSE, bias, limits of
agreement and correlation, with block-bootstrap confidence intervals.
:mod:`posestack.evaluate.align`: the similarity (Procrustes) alignment every comparison
of point sets uses. :mod:`posestack.evaluate.metrics`: MPJPE, N-MPJPE, PA-MPJPE, per-joint
errors, 3D PCK and AUC, 2D PCK/PCKh.
"""

from .agreement import AgreementReport, AngleAgreement, agreement, compare_files
from .align import rotation_angle, similarity_transform
from .metrics import auc3d, joint_errors, mpjpe, pck2d, pck3d, per_joint

__all__ = ["AgreementReport", "AngleAgreement", "agreement", "auc3d", "compare_files",
           "joint_errors", "mpjpe", "pck2d", "pck3d", "per_joint", "rotation_angle",
           "similarity_transform"]
