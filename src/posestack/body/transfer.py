"""Motion transfer: one person's fitted motion on another body shape.

As Champ aligns the shape of the reference image's person with the driving
video's motion, :func:`transfer_motion` keeps every pose parameter (the bones'
rotations and the root's orientation) and swaps the shape. The root's height is
shifted by the difference of the two bodies' rest-pose sole heights below the
root, so the new body stands on the same floor instead of floating or sinking
(a taller body's root is higher); the horizontal path is kept as is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .model import BodyParams, ParametricBody

__all__ = ["transfer_motion"]


def _sole(body: ParametricBody, shape: np.ndarray, up: int) -> float:
    """Height of the lowest rest-pose vertex relative to the root (metres, model axes)."""
    rest = body.rest_params(1)
    rest.shape = np.asarray(shape, float)
    return float(body(rest)["vertices"][0, :, up].min())


def transfer_motion(body: ParametricBody, params: BodyParams, shape: Any) -> BodyParams:
    """The same motion on another shape.

    Args:
        body: the model both shapes belong to.
        params: the fitted motion (model axes).
        shape: the new shape ``(S,)`` (Anny: a phenotype in [0, 1], e.g. a reference
            person's fitted ``body.npz["shape"]``).

    Returns:
        New :class:`BodyParams`: ``shape`` replaced, ``pose`` and ``global_orient``
        unchanged, ``transl`` raised or lowered along the model's up axis so the soles
        stay at the same height.

    Raises:
        InputError: the shape has the wrong size, is not finite, or is out of bounds.
    """
    new = np.asarray(shape, float)
    old = BodyParams(np.asarray(params.shape, float), params.pose, params.global_orient,
                     params.transl)
    old.check(body)
    candidate = BodyParams(new, params.pose, params.global_orient, params.transl)
    candidate.check(body)
    up = "xyz".index(body.up)
    shift = _sole(body, old.shape, up) - _sole(body, new, up)
    transl = np.array(params.transl, float)
    transl[:, up] += shift
    return BodyParams(new, np.array(params.pose, float), np.array(params.global_orient, float),
                      transl)
