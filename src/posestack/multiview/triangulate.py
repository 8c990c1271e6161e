"""Multi-view triangulation: weighted DLT and robust view selection, as pure array functions.

:func:`dlt` is Pose2Sim's weighted linear triangulation (``common.weighted_triangulation``)
and :func:`triangulate` is its camera-exclusion rule (``triangulation_from_best_cameras``)
made exact and vectorised over any number of points: no Python loop runs per point or per
frame, only over view subsets and over chunks of points.

Convention:
    * Shapes: C cameras, N points; ``...`` stands for any leading point dimensions (e.g.
      ``T, K`` frames × keypoints, or ``T, P, K``), which are flattened internally and
      restored on output. Camera is always axis 0 of per-view arrays: ``xy`` is
      ``(C, ..., 2)``, ``scores``/``weights``/``used`` are ``(C, ...)``.
    * ``P`` is ``(C, 3, 4)``, world → ideal pixels: ``λ·[x, y, 1]ᵀ = P·[X, Y, Z, 1]ᵀ``,
      ``P = K·[R | t]`` (``R`` world → camera, ``t`` in metres). Pixels must be *ideal*:
      undistort them first; lens distortion is not modelled here.
    * World coordinates are metres; errors are pixels. NaN marks "not triangulated".
    * Each camera's ``P`` is rescaled so that ``‖P[2, :3]‖ = 1`` (a no-op for ``K·[R | t]``
      with ``K[2] = [0, 0, 1]``), which makes the DLT independent of the arbitrary projective
      scale of each ``P``; otherwise the DLT minimises exactly Pose2Sim's (and OpenCV's
      ``cv2.triangulatePoints``) algebraic error.
    * Reprojection error of a point over a set of views: the mean over those views of the
      Euclidean distance, in pixels, between the observed and the reprojected point
      (unweighted, as in Pose2Sim).

Numerics: the DLT solution is the eigenvector of the smallest eigenvalue of the 4×4 normal
matrix ``AᵀA`` (batched :func:`numpy.linalg.eigh`), with ``A`` the weighted rows
``w·(x·P₂ − P₀)``, ``w·(y·P₂ − P₁)``. Forming ``AᵀA`` squares the condition number of
``A``; for world coordinates in metres centred near the capture volume the difference from
an SVD of ``A`` is ~1e-14 m (about 1e-10 m for a volume 100 m from the world origin).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from posestack.errors import InputError

__all__ = ["Triangulation", "dlt", "reproject", "subset_masks", "triangulate"]

#: Points handled at once; bounds the temporary memory (a few times ``C·CHUNK·10·8`` bytes, the
#: per-view normal-matrix entries: 21 MiB for 8 cameras), whatever the number of points.
CHUNK = 32768

#: Largest number of cameras :func:`subset_masks` enumerates (2^C subsets).
MAX_CAMERAS = 20


@dataclass(frozen=True)
class Triangulation:
    """Result of :func:`triangulate`.

    Attributes:
        points: ``(..., 3)`` world coordinates, metres; NaN where no acceptable view subset.
        error: ``(...,)`` mean reprojection error over the views used, pixels; NaN where not
            triangulated.
        n_views: ``(...,)`` int, number of views used; 0 where not triangulated.
        used: ``(C, ...)`` bool, which views were used for each point.
    """

    points: np.ndarray
    error: np.ndarray
    n_views: np.ndarray
    used: np.ndarray


# --------------------------------------------------------------------------- checks


def _check_P(P: np.ndarray) -> np.ndarray:
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 3 or P.shape[1:] != (3, 4):
        raise InputError(f"P must have shape (C, 3, 4) (one 3x4 projection matrix per camera); "
                         f"got {P.shape}")
    if not np.isfinite(P).all():
        raise InputError("P contains NaN or inf; every projection matrix must be finite")
    norm = np.linalg.norm(P[:, 2, :3], axis=1)
    if (norm == 0).any():
        bad = np.flatnonzero(norm == 0).tolist()
        raise InputError(f"P[c, 2, :3] is zero for cameras {bad}: not a valid projection matrix "
                         "(expected P = K·[R | t])")
    return P / norm[:, None, None]


def _check_views(xy: np.ndarray, values: np.ndarray, P: np.ndarray,
                 name: str) -> tuple[np.ndarray, np.ndarray]:
    xy = np.asarray(xy, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if xy.ndim < 2 or xy.shape[-1] != 2:
        raise InputError(f"xy must have shape (C, ..., 2) (pixels per camera); got {xy.shape}")
    if xy.shape[0] != P.shape[0]:
        raise InputError(f"xy has {xy.shape[0]} cameras (axis 0) but P has {P.shape[0]}")
    if values.shape != xy.shape[:-1]:
        raise InputError(f"{name} must have shape xy.shape[:-1] = {xy.shape[:-1]} "
                         f"(one value per camera and point); got {values.shape}")
    return xy, values


def _check_min_views(min_views: int) -> int:
    if isinstance(min_views, bool) or int(min_views) != min_views or min_views < 2:
        raise InputError(f"min_views must be an integer >= 2 (a DLT needs two views); "
                         f"got {min_views!r}")
    return int(min_views)


# --------------------------------------------------------------------------- kernels


#: The 10 unique entries (i ≤ j) of a symmetric 4×4 matrix.
_UPPER = tuple((i, j) for i in range(4) for j in range(i, 4))


def _normal_entries(xy: np.ndarray, w: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Per view, the unique entries of ``w²·(aaᵀ + bbᵀ)``: ``(C, 10, n)``.

    ``a = x·P₂ − P₀`` and ``b = y·P₂ − P₁`` are the view's DLT rows, so the normal matrix
    ``AᵀA`` of any set of views is the sum of their entries (:func:`_assemble`).
    """
    w_ = w[:, None]                                                          # (C, 1, n)
    p0, p1, p2 = (P[:, r, :, None] for r in range(3))                        # (C, 4, 1)
    a = (w * xy[..., 0])[:, None] * p2 - w_ * p0                             # (C, 4, n)
    b = (w * xy[..., 1])[:, None] * p2 - w_ * p1
    with np.errstate(over="ignore", invalid="ignore"):
        g = np.stack([a[:, i] * a[:, j] + b[:, i] * b[:, j] for i, j in _UPPER], axis=1)
    g[~np.isfinite(g)] = np.nan             # absurd pixels overflow: NaN (quietly) → NaN point
    return g


def _assemble(g: np.ndarray) -> np.ndarray:
    """``(10, n)`` unique entries → ``(n, 4, 4)`` symmetric matrices."""
    M = np.empty((g.shape[1], 4, 4))
    for k, (i, j) in enumerate(_UPPER):
        M[:, i, j] = g[k]
        M[:, j, i] = g[k]
    return M


def _smallest_eigvec_point(M: np.ndarray) -> np.ndarray:
    """``(n, 4, 4)`` symmetric normal matrices → ``(n, 3)`` dehomogenised null vectors."""
    if M.shape[0] == 0:
        return np.empty((0, 3))
    # Unit trace: leaves the eigenvectors unchanged, keeps the magnitudes near 1 whatever the
    # weights and pixel scales are.
    tr = np.trace(M, axis1=1, axis2=2)
    bad = ~np.isfinite(tr)                  # overflowed: would make LAPACK fail
    M = M / np.where(tr > 0, tr, 1.0)[:, None, None]
    M[bad] = np.eye(4)
    q = np.linalg.eigh(M)[1][:, :, 0]
    q[bad] = np.nan
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        X = q[:, :3] / q[:, 3:]
    X[~np.isfinite(X).all(axis=1)] = np.nan
    return X


def _project(X: np.ndarray, P: np.ndarray) -> np.ndarray:
    """``(n, 3)`` points, ``(C, 3, 4)`` → ``(C, n, 2)`` pixels (NaN where depth is 0)."""
    h = X @ P[:, :, :3].transpose(0, 2, 1) + P[:, None, :, 3]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        uv = h[..., :2] / h[..., 2:]
    uv[~np.isfinite(uv)] = np.nan
    return uv


def _mean_error(X: np.ndarray, xy: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Mean over the C given views of the pixel distance: ``(n,)``."""
    d = _project(X, P) - xy
    return np.sqrt(d[..., 0] ** 2 + d[..., 1] ** 2).mean(axis=0)


def _dlt_flat(xy: np.ndarray, w: np.ndarray, P: np.ndarray) -> np.ndarray:
    """xy (C, n, 2) finite, w (C, n) ≥ 0 → (n, 3); NaN where fewer than 2 weights > 0."""
    M = _assemble(_normal_entries(xy, w, P).sum(axis=0))
    X = _smallest_eigvec_point(M)
    X[(w > 0).sum(axis=0) < 2] = np.nan
    return X


# --------------------------------------------------------------------------- public API


def subset_masks(C: int, min_views: int = 2) -> np.ndarray:
    """All subsets of ``C`` views with at least ``min_views`` members, as boolean masks.

    Ordered by size, largest first, then in :func:`itertools.combinations` order (so
    ``masks[0]`` is all views). This is the order in which :func:`triangulate` tries them:
    among subsets of equal size and exactly equal error, the first one wins.

    Args:
        C: number of cameras, 0 ≤ C ≤ 20.
        min_views: smallest subset size (≥ 1).

    Returns:
        ``(M, C)`` bool, ``M = Σ_{s ≥ min_views} binom(C, s)`` (0 rows if ``C < min_views``).

    >>> subset_masks(3).astype(int)
    array([[1, 1, 1],
           [1, 1, 0],
           [1, 0, 1],
           [0, 1, 1]])
    """
    if isinstance(C, bool) or int(C) != C or not 0 <= C <= MAX_CAMERAS:
        raise InputError(f"C must be an integer between 0 and {MAX_CAMERAS}; got {C!r}")
    if isinstance(min_views, bool) or int(min_views) != min_views or min_views < 1:
        raise InputError(f"min_views must be an integer >= 1; got {min_views!r}")
    C, min_views = int(C), int(min_views)
    rows = [combo for s in range(C, min_views - 1, -1)
            for combo in itertools.combinations(range(C), s)]
    masks = np.zeros((len(rows), C), dtype=bool)
    for i, combo in enumerate(rows):
        masks[i, list(combo)] = True
    return masks


def reproject(X: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Project world points into every camera.

    Args:
        X: ``(..., 3)`` world points, metres.
        P: ``(C, 3, 4)`` projection matrices.

    Returns:
        ``(C, ..., 2)`` ideal pixels; NaN for NaN points and for points on a camera's
        principal plane (depth 0). Points behind a camera are projected too (no cheirality
        check), as in Pose2Sim.
    """
    P = _check_P(P)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim < 1 or X.shape[-1] != 3:
        raise InputError(f"X must have shape (..., 3) (world points); got {X.shape}")
    lead = X.shape[:-1]
    uv = _project(X.reshape(-1, 3), P)
    return uv.reshape((P.shape[0], *lead, 2))


def dlt(xy: np.ndarray, weights: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Weighted linear triangulation (DLT) of every point from all its weighted views.

    Each camera contributes the rows ``w·(x·P₂ − P₀)`` and ``w·(y·P₂ − P₁)``; the point is the
    unit null vector of the stacked rows in the least-squares sense (smallest eigenvector of
    ``AᵀA``), dehomogenised. With equal weights this is ``cv2.triangulatePoints`` generalised
    to C views; with weights = likelihoods it is Pose2Sim's ``weighted_triangulation``.

    Args:
        xy: ``(C, ..., 2)`` ideal (undistorted) pixels.
        weights: ``(C, ...)`` ≥ 0; 0 means the view is not used. Views with NaN weight or
            non-finite ``xy`` are not used either.
        P: ``(C, 3, 4)`` projection matrices.

    Returns:
        ``(..., 3)`` world points; NaN where fewer than 2 views have weight > 0 (or the
        solution is at infinity).

    >>> K = np.array([[1000.0, 0, 500], [0, 1000, 500], [0, 0, 1]])
    >>> P = np.stack([K @ np.c_[np.eye(3), [0, 0, 5]], K @ np.c_[np.eye(3), [-1, 0, 5]]])
    >>> xy = reproject(np.array([0.2, -0.1, 0.3]), P)
    >>> np.round(dlt(xy, np.ones(2), P), 9)
    array([ 0.2, -0.1,  0.3])
    """
    P = _check_P(P)
    xy, w = _check_views(xy, weights, P, "weights")
    if (w < 0).any():
        raise InputError("weights must be >= 0 (0 = view not used); got negative values")
    C, lead = xy.shape[0], xy.shape[1:-1]
    xy = xy.reshape(C, -1, 2)
    w = w.reshape(C, -1)
    n = xy.shape[1]
    out = np.empty((n, 3))
    for i in range(0, n, CHUNK):
        xy_c, w_c = xy[:, i:i + CHUNK], w[:, i:i + CHUNK]
        usable = np.isfinite(xy_c).all(axis=-1) & np.isfinite(w_c) & (w_c > 0)
        out[i:i + CHUNK] = _dlt_flat(np.where(usable[..., None], xy_c, 0.0),
                                     np.where(usable, w_c, 0.0), P)
    return out.reshape((*lead, 3))


def triangulate(xy: np.ndarray, scores: np.ndarray, P: np.ndarray, *, min_score: float = 0.3,
                min_views: int = 2, max_error: float = 15.0,
                weighted: bool = True) -> Triangulation:
    """Robust triangulation: the largest set of views that agree, found exactly.

    A view is *valid* for a point if its score is ≥ ``min_score`` (and > 0 when
    ``weighted``: a zero weight cannot constrain the DLT) and its ``xy`` and score are finite.
    Per point, among the subsets of its valid views with at least ``min_views`` members, the
    result is the DLT (:func:`dlt`, weighted by the scores when ``weighted``) of the
    **largest** subset whose mean reprojection error is ≤ ``max_error``; among subsets of
    that size, the one with the lowest error. This is Pose2Sim's camera exclusion (drop as
    few cameras as possible; at each number of dropped cameras, try every combination and
    keep the lowest error) without its shortcuts: Pose2Sim also counts low-score cameras
    among the dropped ones and stops early when some combination would leave too few.

    Vectorised: subsets are visited by size, largest first, each for all the points still
    undecided whose valid views contain it (a point accepted at some size is not looked at
    again), so a clean point costs one 4×4 eigendecomposition. Points are processed in
    chunks of :data:`CHUNK`, so memory stays bounded for millions of points.

    Args:
        xy: ``(C, ..., 2)`` ideal (undistorted) pixels; NaN = not detected.
        scores: ``(C, ...)`` detection scores (likelihoods); NaN = not detected.
        P: ``(C, 3, 4)`` projection matrices.
        min_score: views scoring below this are not used (Pose2Sim's
            ``likelihood_threshold_triangulation``).
        min_views: fewest views a point may be triangulated from (≥ 2;
            ``min_cameras_for_triangulation``).
        max_error: largest acceptable mean reprojection error, pixels
            (``reproj_error_threshold_triangulation``); ``inf`` accepts all views.
        weighted: weight each view's DLT rows by its score (Pose2Sim) or equally.

    Returns:
        :class:`Triangulation`; points without an acceptable subset (too few valid views,
        or every subset above ``max_error``) are NaN with ``n_views`` 0 and no view used.
    """
    P = _check_P(P)
    xy, scores = _check_views(xy, scores, P, "scores")
    min_views = _check_min_views(min_views)
    min_score, max_error = float(min_score), float(max_error)
    if np.isnan(min_score):
        raise InputError("min_score must be a number, got NaN")
    if not max_error >= 0:
        raise InputError(f"max_error must be >= 0 pixels (inf to accept all); got {max_error}")

    C, lead = xy.shape[0], xy.shape[1:-1]
    xy = xy.reshape(C, -1, 2)
    scores = scores.reshape(C, -1)
    masks = subset_masks(C, min_views) if C >= min_views else np.zeros((0, C), dtype=bool)
    bits = np.int64(1) << np.arange(C, dtype=np.int64)
    levels = [(s, [(int(m @ bits), np.flatnonzero(m)) for m in masks[masks.sum(1) == s]])
              for s in range(C, min_views - 1, -1)]

    n = xy.shape[1]
    points = np.full((n, 3), np.nan)
    error = np.full(n, np.nan)
    code = np.zeros(n, dtype=np.int64)
    for i in range(0, n, CHUNK):
        sl = slice(i, i + CHUNK)
        xy_c, s_c = xy[:, sl], scores[:, sl]
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(xy_c).all(axis=-1) & np.isfinite(s_c) & (s_c >= min_score)
            if weighted:
                valid &= s_c > 0
        w = np.where(valid, s_c, 0.0) if weighted else valid.astype(np.float64)
        xy_c = np.where(valid[..., None], xy_c, 0.0)
        points[sl], error[sl], code[sl] = _select_views(xy_c, w, valid, P, bits, levels,
                                                        min_views, max_error)
    used = (code[None, :] & bits[:, None]) != 0
    return Triangulation(points=points.reshape((*lead, 3)), error=error.reshape(lead),
                         n_views=used.sum(axis=0).reshape(lead),
                         used=used.reshape((C, *lead)))


def _select_views(xy: np.ndarray, w: np.ndarray, valid: np.ndarray, P: np.ndarray,
                  bits: np.ndarray, levels: list[tuple[int, list[tuple[int, np.ndarray]]]],
                  min_views: int, max_error: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One chunk of :func:`triangulate`: (n, 3) points, (n,) errors, (n,) used-view bit codes."""
    n = xy.shape[1]
    points = np.full((n, 3), np.nan)
    error = np.full(n, np.nan)
    chosen = np.zeros(n, dtype=np.int64)
    vcode = bits @ valid.astype(np.int64)              # bit c set ⇔ view c valid
    nvalid = valid.sum(axis=0)
    g = _normal_entries(xy, w, P)                       # (C, 10, n)
    undecided = nvalid >= min_views
    for size, level in levels:
        cand = np.flatnonzero(undecided & (nvalid >= size))
        if cand.size == 0:
            continue
        ccode = vcode[cand]
        best_err = np.full(cand.size, np.inf)
        best_code = np.zeros(cand.size, dtype=np.int64)
        best_X = np.full((cand.size, 3), np.nan)
        for mcode, cams in level:
            sel = np.flatnonzero((ccode & mcode) == mcode)
            if sel.size == 0:
                continue
            idx = cand[sel]
            if idx.size == n:                                 # every point: no gather
                idx = slice(None)
            m = g[cams[0]][:, idx]
            for c in cams[1:]:
                m = m + g[c][:, idx]
            X = _smallest_eigvec_point(_assemble(m))
            obs = xy[cams] if isinstance(idx, slice) else xy[cams[:, None], idx]
            err = _mean_error(X, obs, P[cams])
            better = err < best_err[sel]                  # NaN error never wins
            upd = sel[better]
            best_err[upd] = err[better]
            best_code[upd] = mcode
            best_X[upd] = X[better]
        ok = best_err <= max_error
        acc = cand[ok]
        points[acc] = best_X[ok]
        error[acc] = best_err[ok]
        chosen[acc] = best_code[ok]
        undecided[acc] = False
    return points, error, chosen
