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
        scores: per camera ``(P_c, K)``; a detection whose scores are all 0 is absent.
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
    return associate_frames([a[None] for a in xy], [a[None] for a in scores], P, core,
                            min_views=min_views, max_error=max_error, min_score=min_score,
                            min_core=min_core)[0]


def associate_frames(xy: Sequence[np.ndarray], scores: Sequence[np.ndarray], P: np.ndarray,
                     core: Sequence[int], *, min_views: int = 2, max_error: float = 20.0,
                     min_score: float = 0.3, min_core: int = 2,
                     chunk: int = 200_000) -> list[np.ndarray]:
    """:func:`associate_frame` for T frames at once (one triangulation for all of them).

    Args:
        xy: per camera ``(T, P_c, K, 2)``; scores: per camera ``(T, P_c, K)``;
            detections whose scores are all 0 in a frame are absent there.

    Returns: per frame an int ``(Q_t, C)`` array as :func:`associate_frame`.
    """
    c = len(xy)
    t_n = xy[0].shape[0] if c else 0
    counts = [a.shape[1] for a in xy]
    groups = candidate_groups(counts, min_views)
    if not len(groups) or t_n == 0:
        return [np.zeros((0, c), np.int64) for _ in range(t_n)]
    core = np.asarray(core)
    kc = len(core)
    g_n = len(groups)
    member = groups >= 0                                                 # (G, C)
    n_views = member.sum(1)
    # per camera: is each detection present in each frame, (T, P_c)
    present = [(sc > 0).any(-1) for sc in scores]
    # groups whose members are all present, per frame (T, G)
    valid = np.ones((t_n, g_n), bool)
    for ci in range(c):
        has = member[:, ci]
        if counts[ci]:
            valid[:, has] &= present[ci][:, groups[has, ci]]
    err = np.full((t_n, g_n), np.inf)
    step = max(1, chunk // max(g_n * kc, 1))
    for t0 in range(0, t_n, step):
        t1 = min(t_n, t0 + step)
        gx = np.zeros((c, t1 - t0, g_n, kc, 2))
        gw = np.zeros((c, t1 - t0, g_n, kc))
        for ci in range(c):
            has = member[:, ci]
            if not counts[ci] or not has.any():
                continue
            pts = xy[ci][t0:t1][:, groups[has, ci]][:, :, core]          # (t, g, kc, 2)
            sc = scores[ci][t0:t1][:, groups[has, ci]][:, :, core]
            ok = (sc >= min_score) & np.isfinite(pts).all(-1)
            gx[ci][:, has] = np.nan_to_num(pts)
            gw[ci][:, has] = np.where(ok, sc, 0.0)
        X = dlt(gx, gw, P)                                               # (t, G, kc, 3)
        d = np.linalg.norm(reproject(X, P) - gx, axis=-1)                # (C, t, G, kc)
        used = gw > 0
        err_pt = np.where(used, d, 0.0).sum(0) / np.maximum(used.sum(0), 1)
        good = np.isfinite(X).all(-1) & (used.sum(0) >= min_views)       # (t, G, kc)
        n_good = good.sum(-1)
        e = np.where(good, err_pt, 0.0).sum(-1) / np.maximum(n_good, 1)
        e[n_good < min(min_core, kc)] = np.inf
        err[t0:t1] = e
    ok = valid & (err <= max_error)
    out = []
    for ti in range(t_n):
        cand = np.nonzero(ok[ti])[0]
        if not len(cand):
            out.append(np.zeros((0, c), np.int64))
            continue
        # prefer more views, then lower error
        cand = cand[np.lexsort((err[ti, cand], -n_views[cand]))]
        taken = [set() for _ in range(c)]
        people = []
        for g in cand:
            members = groups[g]
            if any(m >= 0 and m in taken[ci] for ci, m in enumerate(members)):
                continue
            people.append(members)
            for ci, m in enumerate(members):
                if m >= 0:
                    taken[ci].add(int(m))
        out.append(np.array(people, np.int64).reshape(-1, c))
    return out


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
