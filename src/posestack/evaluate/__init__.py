"""Evaluation: how well posestack's numbers agree with a reference.

:mod:`posestack.evaluate.agreement`: agreement of two sets of joint angles the
way measuring instruments are compared (Bland–Altman): RMSE, bias, limits of
agreement and correlation, with block-bootstrap confidence intervals.
:mod:`posestack.evaluate.align`: the similarity (Procrustes) alignment every comparison
of point sets uses.
"""

from .agreement import AgreementReport, AngleAgreement, agreement, compare_files
from .align import rotation_angle, similarity_transform

__all__ = ["AgreementReport", "AngleAgreement", "agreement", "compare_files", "rotation_angle",
           "similarity_transform"]
