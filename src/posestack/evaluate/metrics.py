"""The field's keypoint metrics, vectorised over frames and people.

3D (arrays ``(..., K, 3)``, any unit; missing joints are NaN and left out):

- :func:`joint_errors`: the Euclidean distance per joint, after an optional alignment
  of each pose (``"none"``; ``"root"``: translation onto the reference root;
  ``"scale"``: root-centred, then the least-squares scale (N-MPJPE, Rhodin et al. 2018);
  ``"procrustes"``: similarity (rotation, scale, translation; Umeyama, reflections
  refused) per pose (PA-MPJPE));
- :func:`mpjpe` (mean of those), :func:`per_joint` (mean per joint over poses);
- :func:`pck3d` (share of joints within 150 mm, MPI-INF-3DHP) and :func:`auc3d`
  (PCK averaged over thresholds 0, 5, … 150 mm, as 3DHP's evaluation).

2D (pixels): :func:`pck2d` (within ``alpha`` × a per-pose size: the bounding box's
longer side, or the head segment for PCKh).

Each function takes poses already matched (same frames, people and joints); NaN in
either array marks a missing joint, which counts neither way.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

ALIGNMENTS = ("none", "root", "scale", "procrustes")
AUC_THRESHOLDS_MM = np.arange(0.0, 151.0, 5.0)  # 31 thresholds, as MPI-INF-3DHP


def _pair(pred, gt, dims: tuple[int, ...] = (2, 3)) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, np.float64)
    g = np.asarray(gt, np.float64)
    if p.shape != g.shape or p.ndim < 2 or p.shape[-1] not in dims:
        raise InputError(f"predictions and reference must have the same shape (..., K, "
                         f"{' or '.join(map(str, dims))}); got {p.shape} and {g.shape}")
    return p, g


def _procrustes(p: np.ndarray, g: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Each pose of ``p`` (N, K, D) aligned onto ``g`` by the similarity that fits its
    joints marked ``ok`` (N, K) best (Umeyama; det(R) = +1). Poses with fewer than
    D + 1 joints, or all joints at one point, come back NaN."""
    n, k, d = p.shape
    if ok.all():  # the usual case: no masking, fewer temporaries
        cnt = np.full((n, 1), float(k))
        safe = cnt
        mp, mg = p.mean(1), g.mean(1)
        a, b = p - mp[:, None], g - mg[:, None]
    else:
        w = ok.astype(np.float64)[..., None]
        cnt = w.sum(1)  # (N, 1)
        safe = np.maximum(cnt, 1)
        pz = np.where(ok[..., None], p, 0.0)
        gz = np.where(ok[..., None], g, 0.0)
        mp = pz.sum(1) / safe
        mg = gz.sum(1) / safe
        a = (pz - mp[:, None]) * w
        b = (gz - mg[:, None]) * w
    var = np.einsum("nki,nki->n", a, a) / safe[:, 0]
    cov = np.einsum("nki,nkj->nij", b, a) / safe[:, :, None]
    u, s, vt = np.linalg.svd(cov)
    sign = np.ones((n, d))
    sign[:, -1] = np.where(np.linalg.det(u @ vt) < 0, -1.0, 1.0)
    r = u @ (sign[:, :, None] * vt)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = (s * sign).sum(1) / var
    t = mg - scale[:, None] * np.einsum("nij,nj->ni", r, mp)
    out = scale[:, None, None] * np.einsum("nij,nkj->nki", r, p) + t[:, None]
    bad = (cnt[:, 0] < d + 1) | ~(var > 0)
    out[bad] = np.nan
    return out


def align(pred, gt, mode: str = "procrustes", root: int | list[int] | None = None
          ) -> np.ndarray:
    """``pred`` aligned pose by pose onto ``gt`` (see the module for the modes).

    Args:
        pred, gt: ``(..., K, D)`` matched poses (D = 2 or 3), NaN where missing.
        mode: ``"none"``, ``"root"``, ``"scale"`` or ``"procrustes"``.
        root: the root joint index (or indices, averaged: e.g. both hips) for
            ``"root"`` and ``"scale"``; None: the mean of the joints present in both.

    Returns:
        the aligned predictions, shape of ``pred``; NaN for poses that cannot be aligned.
    """
    p, g = _pair(pred, gt)
    if mode not in ALIGNMENTS:
        raise InputError(f"alignment must be one of {', '.join(ALIGNMENTS)}; got {mode!r}")
    shape = p.shape
    p = p.reshape(-1, *shape[-2:])
    g = g.reshape(-1, *shape[-2:])
    ok = np.isfinite(p).all(-1) & np.isfinite(g).all(-1)
    if mode == "none":
        out = p
    elif mode == "procrustes":
        out = _procrustes(p, g, ok)
    else:
        if root is None:
            sel = ok
        else:
            idx = np.atleast_1d(root)
            if idx.min() < 0 or idx.max() >= shape[-2]:
                raise InputError(f"root {root} is not a joint index (0 to {shape[-2] - 1})")
            sel = np.zeros_like(ok)
            sel[:, idx] = True
            sel &= ok
        if root is not None:  # the root joints only: small arrays
            idx = np.atleast_1d(root)
            ws = sel[:, idx, None].astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                cp = (np.nan_to_num(p[:, idx]) * ws).sum(1, keepdims=True) / ws.sum(1)[:, None]
                cg = (np.nan_to_num(g[:, idx]) * ws).sum(1, keepdims=True) / ws.sum(1)[:, None]
        else:
            ws = sel[..., None].astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                cp = (np.nan_to_num(p) * ws).sum(1, keepdims=True) / ws.sum(1)[:, None]
                cg = (np.nan_to_num(g) * ws).sum(1, keepdims=True) / ws.sum(1)[:, None]
        pc = p - cp
        if mode == "root":
            out = pc + cg
        else:
            gc = g - cg
            if ok.all():
                pcz, gcz = pc, gc
            else:  # joints present in both only
                okm = ok[..., None]
                pcz, gcz = np.where(okm, pc, 0.0), np.where(okm, gc, 0.0)
            num = np.einsum("nki,nki->n", pcz, gcz)
            den = np.einsum("nki,nki->n", pcz, pcz)
            with np.errstate(invalid="ignore", divide="ignore"):
                s = np.where(den > 0, num / den, np.nan)
            out = s[:, None, None] * pc + cg
    return out.reshape(shape)


def joint_errors(pred, gt, alignment: str = "none", root: int | list[int] | None = None
                 ) -> np.ndarray:
    """Distance per joint between matched poses, after ``alignment``.

    Args:
        pred, gt: ``(..., K, D)``, the same unit (metres, millimetres or pixels).
        alignment: see :func:`align`.
        root: see :func:`align`.

    Returns:
        ``(..., K)`` distances in the input unit; NaN where a joint is missing in either.

    >>> gt = np.zeros((1, 2, 3)); gt[0, 1] = [1, 0, 0]
    >>> joint_errors(gt + [0, 0.1, 0], gt).round(3).tolist()
    [[0.1, 0.1]]
    >>> joint_errors(gt + [0, 0.1, 0], gt, "root", root=0).round(3).tolist()
    [[0.0, 0.0]]
    """
    p, g = _pair(pred, gt)
    a = align(p, g, alignment, root) if alignment != "none" else p
    return _norm(a - g)


def _norm(d: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis (einsum: ~5 times np.linalg.norm's speed here)."""
    return np.sqrt(np.einsum("...i,...i->...", d, d))


def mpjpe(pred, gt, alignment: str = "none", root: int | list[int] | None = None) -> float:
    """Mean per-joint position error over every joint present in both (input unit):
    MPJPE with ``"none"`` or ``"root"``, N-MPJPE with ``"scale"``, PA-MPJPE with
    ``"procrustes"``. NaN when no joint pairs up."""
    e = joint_errors(pred, gt, alignment, root)
    return float(np.nanmean(e)) if np.isfinite(e).any() else float("nan")


def per_joint(pred, gt, alignment: str = "none", root: int | list[int] | None = None
              ) -> np.ndarray:
    """``(K,)`` mean error per joint over all poses (input unit); NaN for a joint never
    present in both."""
    e = joint_errors(pred, gt, alignment, root)
    e = e.reshape(-1, e.shape[-1])
    n = np.isfinite(e).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.nansum(e, 0) / n, np.nan)


def pck3d(pred, gt, threshold: float = 150.0, alignment: str = "none",
          root: int | list[int] | None = None) -> float:
    """Share (0–1) of the joints present in both within ``threshold`` (input unit:
    150 for millimetres, 0.15 for metres), after ``alignment``."""
    e = joint_errors(pred, gt, alignment, root)
    ok = np.isfinite(e)
    return float((e[ok] <= threshold).mean()) if ok.any() else float("nan")


def auc3d(pred, gt, unit: float = 1.0, alignment: str = "none",
          root: int | list[int] | None = None) -> float:
    """Area under the PCK curve over 0, 5, … 150 mm (0–1), as MPI-INF-3DHP.

    Args:
        unit: millimetres per input unit (1 for millimetres, 1000 for metres).
    """
    e = joint_errors(pred, gt, alignment, root) * unit
    e = e[np.isfinite(e)]
    if not e.size:
        return float("nan")
    e = np.sort(e)
    return float(np.mean(np.searchsorted(e, AUC_THRESHOLDS_MM, side="right") / e.size))


def pck2d(pred, gt, alpha: float = 0.5, size: np.ndarray | None = None,
          head: tuple[int, int] | None = None) -> float:
    """2D PCK: share (0–1) of the joints present in both within ``alpha`` × a size per
    pose.

    Args:
        pred, gt: ``(..., K, 2)`` pixels.
        alpha: the fraction (0.5 for PCKh@0.5; 0.05–0.2 with the box size).
        size: ``(...)`` the size per pose, pixels; None: the reference's head segment
            length when ``head`` (two joint indices) is given (PCKh), else the longer
            side of the reference's bounding box.
    """
    p, g = _pair(pred, gt, dims=(2,))
    e = _norm(p - g)
    if size is None:
        if head is not None:
            size = np.linalg.norm(g[..., head[0], :] - g[..., head[1], :], axis=-1)
        else:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                size = np.nanmax(np.nanmax(g, -2) - np.nanmin(g, -2), -1)
    size = np.asarray(size, np.float64)
    if size.shape != e.shape[:-1]:
        raise InputError(f"size must have one value per pose {e.shape[:-1]}; got {size.shape}")
    ok = np.isfinite(e) & np.isfinite(size)[..., None] & (size > 0)[..., None]
    if not ok.any():
        return float("nan")
    return float((e <= alpha * size[..., None])[ok].mean())
