"""Similarity alignment (Umeyama's least-squares fit) of one point set onto another.

The one alignment helper of posestack: PA-MPJPE-style scores, comparing a calibration
with a reference, and benchmarks all use :func:`similarity_transform`.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError


def similarity_transform(source: np.ndarray, target: np.ndarray, *, scale: bool = True
                         ) -> tuple[float, np.ndarray, np.ndarray]:
    """The ``s, R, t`` minimising ``Σ |s R x + t − y|²`` over paired points (Umeyama 1991).

    Args:
        source: ``(N, D)`` points ``x`` (any unit); rows with NaN are left out.
        target: ``(N, D)`` points ``y``, paired with ``source`` row by row.
        scale: fit the scale ``s`` (False: ``s = 1``, a rigid fit).

    Returns:
        ``s`` (float), ``R`` ``(D, D)`` a proper rotation (det +1: a reflection is never
        returned, the best rotation is), ``t`` ``(D,)`` in the target's unit. Apply it as
        ``s * x @ R.T + t``.

    Raises:
        InputError: shapes differ, or fewer than ``D`` paired finite points, or all the
            source points coincide.

    Example:
        >>> x = np.array([[0., 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
        >>> Rz = np.array([[0., -1, 0], [1, 0, 0], [0, 0, 1]])
        >>> s, R, t = similarity_transform(x, 2 * x @ Rz.T + 5)
        >>> round(s, 6), np.allclose(R, Rz), t.round(6).tolist()
        (2.0, True, [5.0, 5.0, 5.0])
    """
    x = np.asarray(source, np.float64)
    y = np.asarray(target, np.float64)
    if x.shape != y.shape or x.ndim != 2:
        raise InputError(f"similarity_transform needs two (N, D) arrays of the same shape; "
                         f"got {x.shape} and {y.shape}")
    ok = np.isfinite(x).all(1) & np.isfinite(y).all(1)
    x, y = x[ok], y[ok]
    d = x.shape[1]
    if len(x) < d:
        raise InputError(f"similarity_transform needs at least {d} paired finite points; "
                         f"got {len(x)}")
    mx, my = x.mean(0), y.mean(0)
    a, b = x - mx, y - my
    var = float((a ** 2).sum()) / len(x)
    if var == 0:
        raise InputError("similarity_transform: all the source points coincide")
    U, S, Vt = np.linalg.svd(b.T @ a / len(x))
    sign = np.ones(d)
    sign[-1] = np.sign(np.linalg.det(U @ Vt)) or 1.0
    R = U @ np.diag(sign) @ Vt
    s = float((S * sign).sum() / var) if scale else 1.0
    t = my - s * R @ mx
    return s, R, t


def rotation_angle(R1: np.ndarray, R2: np.ndarray) -> float:
    """The angle (degrees) of the rotation between two ``(3, 3)`` rotations."""
    c = (np.trace(np.asarray(R1).T @ np.asarray(R2)) - 1) / 2
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


__all__ = ["rotation_angle", "similarity_transform"]
