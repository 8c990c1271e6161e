"""Putting several cameras' 2D on one timeline, with whole or fractional frame offsets."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ..poses import Poses


def _dense(p: Poses, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """A view's coords and scores on consecutive frame numbers from its first frame."""
    f0 = int(frames.min())
    n = int(frames.max()) - f0 + 1
    xy = np.full((n, *p.coords.shape[1:]), np.nan)
    sc = np.zeros((n, *p.scores.shape[1:]))
    xy[frames - f0] = p.coords
    sc[frames - f0] = np.nan_to_num(p.scores)
    return xy, sc, f0


def on_timeline(views: Sequence[Poses], frames: Sequence[np.ndarray] | None,
                offsets: Sequence[float], fps: float,
                rates: Sequence[float] | None = None) -> list[Poses]:
    """Every view resampled on one timeline of whole frames.

    Camera ``c``'s frame ``f`` is the moment ``f − offsets[c]`` (Pose2Sim's convention, as
    ``posestack run --offset``) when the cameras share one frame rate; with ``rates``, the
    moment ``m`` (at ``fps``) is camera ``c``'s frame ``m × rates[c] / fps + offsets[c]``.
    The timeline runs over every moment some camera saw. A fractional moment is
    interpolated linearly between the camera's two neighbouring frames (a keypoint needs
    both; its score is the lower of the two).

    Args:
        views: per camera 2D :class:`Poses` ``(T_c, P_c, K, 2)``.
        frames: per camera the source frame index of each row (None: ``0..T_c−1``).
        offsets: per camera, frames (may be fractional), in the camera's own frames.
        fps: the common frame rate, frames/s.
        rates: per camera frame rate, frames/s (default: all ``fps``).

    Returns:
        per camera :class:`Poses` ``(T, P_c, K, 2)``, row ``i`` the moment ``start + i``
        (the same for every camera); unseen is NaN with score 0.
    """
    if len(offsets) != len(views):
        raise InputError(f"{len(offsets)} offsets for {len(views)} cameras")
    if any(not math.isfinite(o) for o in offsets):
        raise InputError(f"offsets must be finite numbers of frames; got {list(offsets)}")
    frames = [np.arange(v.n_frames) if frames is None else np.asarray(frames[i], np.int64)
              for i, v in enumerate(views)]
    if any(len(f) == 0 for f in frames):
        raise InputError("a camera has no frames")
    k = [1.0 if rates is None else float(r) / fps for r in (rates or views)]
    if any(not (math.isfinite(x) and x > 0) for x in k):
        raise InputError(f"frame rates must be positive; got {list(rates or [])}")
    lo = min(math.ceil((f.min() - o) / r - 1e-9)
             for f, o, r in zip(frames, offsets, k, strict=True))
    hi = max(math.floor((f.max() - o) / r + 1e-9)
             for f, o, r in zip(frames, offsets, k, strict=True))
    moments = np.arange(lo, hi + 1)
    out = []
    for v, f, o, r in zip(views, frames, offsets, k, strict=True):
        xy, sc, f0 = _dense(v, f)
        pos = moments * r + o - f0                   # fractional row in the dense arrays
        i0 = np.floor(pos + 1e-9).astype(np.int64)
        w = np.clip(pos - i0, 0.0, 1.0)
        w[np.abs(w) < 1e-9] = 0.0
        i1 = np.where(w > 0, i0 + 1, i0)
        ok = (i0 >= 0) & (i1 < len(xy))
        a, b = np.clip(i0, 0, len(xy) - 1), np.clip(i1, 0, len(xy) - 1)
        wv = w[:, None, None, None]
        c = (1 - wv) * xy[a] + wv * xy[b]
        s = np.minimum(sc[a], sc[b])
        c[~ok] = np.nan
        s[~ok] = 0.0
        s = np.where(np.isfinite(c).all(-1), s, 0.0)
        out.append(Poses(v.skeleton, c, s, moments / fps, v.space, v.tracked, v.meta))
    return out


def ranked_people(poses: Poses, min_score: float, n: int,
                  rows: np.ndarray | slice = slice(None)) -> list[int]:
    """The indices of the (at most) ``n`` people seen most in ``poses`` over ``rows``
    (keypoints with score ≥ ``min_score``, counted), most seen first; people never seen
    are left out."""
    seen = (np.nan_to_num(poses.scores[rows]) >= min_score).sum(axis=(0, 2))     # (P,)
    order = np.argsort(-seen, kind="stable")
    return [int(i) for i in order[:n] if seen[i] > 0]


__all__ = ["on_timeline", "ranked_people"]
