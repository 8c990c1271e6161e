"""Pose semantics: posecodes, descriptions, pose-to-pose instructions and text search."""

from .codes import Codes, compute_codes, stabilize

__all__ = ["Codes", "compute_codes", "stabilize"]
