"""Who is who across cameras and through time.

Per frame, each camera has its own list of 2D detections. :func:`associate_frame`
groups them into people: every candidate group (one detection or none per
camera, at least ``min_views`` cameras) is triangulated on a few *core*
keypoints (shoulders and hips) and scored by its mean reprojection error; the
best groups are taken greedily, each detection at most once, while their error
is below ``max_error`` pixels. A camera whose detection does not agree is left
out of that person's group for that frame.

:func:`link_people` then gives the per-frame 3D people stable identities by
matching their core-point centroids frame to frame (Hungarian, at most
``max_distance`` metres apart, identities kept for ``max_age`` seconds).

Shapes: C cameras, P detections in a camera, K keypoints, Q people.
Pixels are ideal (undistorted) pixels, matching the projection matrices.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from .triangulate import dlt, reproject

MAX_GROUPS = 20000


def candidate_groups(counts: Sequence[int], min_views: int = 2) -> np.ndarray:
    """All choices of one detection or none (−1) per camera, with ≥ ``min_views`` cameras.

    Args:
        counts: number of detections in each of the C cameras.

    Returns: int ``(G, C)``.
    """
    ranges = [range(-1, n) for n in counts]
    n_total = int(np.prod([n + 1 for n in counts]))
    if n_total > MAX_GROUPS * 4:
        raise ValueError(f"too many detection combinations ({n_total}); lower --max-people")
    groups = np.array(list(itertools.product(*ranges)), dtype=np.int64).reshape(-1, len(counts))
    return groups[(groups >= 0).sum(axis=1) >= min_views]


def associate_frame(xy: Sequence[np.ndarray], scores: Sequence[np.ndarray], P: np.ndarray,
                    core: Sequence[int], *, min_views: int = 2, max_error: float = 20.0,
                    min_score: float = 0.3, min_core: int = 2) -> np.ndarray:
    """Group one frame's detections into people.

    Args:
        xy: per camera ``(P_c, K, 2)`` ideal pixels (NaN where missing).
        scores: per camera ``(P_c, K)``.
        P: ``(C, 3, 4)`` projection matrices.
        core: keypoint indices used to judge a group (e.g. shoulders, hips).
        min_views: cameras a person needs.
        max_error: largest mean reprojection error (px) of an accepted group.
        min_score: keypoints below it are not used.
        min_core: core keypoints a group must triangulate.

    Returns:
        int ``(Q, C)``: for each person, the detection index in each camera
        (−1: not seen there), best groups first.
    """
    c = len(xy)
    counts = [len(a) for a in xy]
    groups = candidate_groups(counts, min_views)
    if not len(groups):
        return np.zeros((0, c), np.int64)
    core = np.asarray(core)
    kc = len(core)
    # (C, G, kc, 2) and weights (C, G, kc): the chosen detection's core points per camera
    gx = np.full((c, len(groups), kc, 2), np.nan)
    gw = np.zeros((c, len(groups), kc))
    for ci in range(c):
        sel = groups[:, ci]
        has = sel >= 0
        if not has.any() or counts[ci] == 0:
            continue
        pts = xy[ci][:, core]
        sc = scores[ci][:, core]
        ok = (sc >= min_score) & np.isfinite(pts).all(-1)
        gx[ci, has] = pts[sel[has]]
        gw[ci, has] = np.where(ok[sel[has]], sc[sel[has]], 0.0)
    X = dlt(np.nan_to_num(gx), gw, P)                                  # (G, kc, 3)
    proj = reproject(X, P)                                             # (C, G, kc, 2)
    d = np.linalg.norm(proj - gx, axis=-1)                             # (C, G, kc)
    used = gw > 0
    err_pt = np.where(used, d, 0.0).sum(0) / np.maximum(used.sum(0), 1)  # (G, kc)
    good = np.isfinite(X).all(-1) & (used.sum(0) >= min_views)         # (G, kc)
    n_good = good.sum(-1)
    err = np.where(good, err_pt, 0.0).sum(-1) / np.maximum(n_good, 1)  # (G,)
    n_views = (groups >= 0).sum(1)
    ok = (n_good >= min(min_core, kc)) & (err <= max_error)
    # prefer more views, then lower error
    order = np.lexsort((err, -n_views))
    order = order[ok[order]]
    taken = [set() for _ in range(c)]
    people = []
    for g in order:
        members = groups[g]
        if any(m >= 0 and m in taken[ci] for ci, m in enumerate(members)):
            continue
        people.append(members)
        for ci, m in enumerate(members):
            if m >= 0:
                taken[ci].add(int(m))
    return np.array(people, np.int64).reshape(-1, c)


def link_people(centroids: Sequence[np.ndarray], times: np.ndarray, *, max_distance: float = 1.0,
                max_age: float = 1.0) -> list[np.ndarray]:
    """Identities for per-frame 3D people.

    Args:
        centroids: per frame ``(Q_t, 3)`` metres (NaN rows allowed: never matched).
        times: ``(T,)`` seconds.
        max_distance: largest move (m) between a person's last position and a match.
        max_age: seconds an unmatched identity is kept.

    Returns:
        per frame an int ``(Q_t,)`` identity (−1 for rows that are NaN).
    """
    last_pos: list[np.ndarray] = []
    last_time: list[float] = []
    out = []
    for cen, t in zip(centroids, times, strict=True):
        ids = np.full(len(cen), -1, np.int64)
        alive = [i for i in range(len(last_pos)) if t - last_time[i] <= max_age]
        valid = [q for q in range(len(cen)) if np.isfinite(cen[q]).all()]
        if alive and valid:
            dist = np.linalg.norm(np.array([last_pos[i] for i in alive])[:, None]
                                  - cen[valid][None], axis=-1)
            rows, cols = linear_sum_assignment(np.where(dist <= max_distance, dist, 1e9))
            for r, col in zip(rows, cols, strict=True):
                if dist[r, col] <= max_distance:
                    ids[valid[col]] = alive[r]
        for q in valid:
            if ids[q] < 0:
                ids[q] = len(last_pos)
                last_pos.append(cen[q])
                last_time.append(float(t))
            else:
                last_pos[ids[q]] = cen[q]
                last_time[ids[q]] = float(t)
        out.append(ids)
    return out
