"""Evaluation: how well posestack's numbers agree with a reference.

:mod:`posestack.evaluate.agreement`: agreement of two sets of joint angles the
way measuring instruments are compared (Bland–Altman): RMSE, bias, limits of
agreement and correlation, with block-bootstrap confidence intervals.
"""

from .agreement import AgreementReport, AngleAgreement, agreement, compare_files

__all__ = ["AgreementReport", "AngleAgreement", "agreement", "compare_files"]
