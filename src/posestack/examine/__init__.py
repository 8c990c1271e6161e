"""Robustness audits of any estimator: perturbed real frames, and the severity at which it
fails (``posestack examine``).

:mod:`posestack.examine.perturb`: the perturbations (blur, noise, JPEG, darkness,
contrast, rotation, resolution, crops, patches over body parts), each with a continuous
severity; :mod:`posestack.examine.search`: the search for the failing severity.
"""

from .search import DEFAULT, Examination, examine

__all__ = ["DEFAULT", "Examination", "examine"]
