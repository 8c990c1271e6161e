"""Who is who through time: identities and consistent left/right labels for 3D people.

:func:`link_people` gives the people found in each frame
(:func:`~posestack.multiview.associate.associate`) stable identities in two passes:

1. Frame to frame: each identity remembers the last position of each of its points
   and its velocity; the frame's people are matched to the predicted points
   (Hungarian on the median distance over the points both have, as labelled or
   with left and right exchanged, at most ``max_distance`` metres). An identity
   unmatched for more than ``max_age`` seconds ends. A person of the frame at the
   same place as one already matched there (within ``same_person``) is a second
   copy of them and gets the same identity (the caller joins the two).
2. Over the trial: two identities that never appear together, except in frames
   where they are at the same place, and where one takes over from the other
   within ``max_age`` seconds and ``max_distance`` metres of where it was going,
   are one person: the later identity is given the earlier one's number. A second
   copy of a person that slipped through step 1 can then not split the person in
   two for the rest of the trial.

:func:`orient_people` makes each identity's left and right labels consistent:
within runs of nearby frames, a person whose points match the previous frame's
only with left and right exchanged is mirrored relative to it; over each run, the
labelling that most of the person's 2D detections agree with wins (a detector
swaps sides now and then, not most of the time).

Shapes: Q_t people in frame t, K points per person, C cameras. World metres, seconds.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["MAX_SHARED", "MAX_SPEED", "join_rows", "link_people", "orient_people"]

#: Largest speed (m/s) a prediction extrapolates; faster estimates are noise.
MAX_SPEED = 6.0

#: Longest stretch (s) two identities may share while being the same person.
MAX_SHARED = 0.5


def _as_points(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    return a[:, None] if a.ndim == 2 else a


def _distance(a: np.ndarray, b: np.ndarray, twin: np.ndarray | None,
              min_points: int = 1) -> tuple[float, bool]:
    """Median distance of corresponding points, and whether ``b`` mirrored matches better."""
    def med(x: np.ndarray, y: np.ndarray) -> float:
        d = np.linalg.norm(x - y, axis=-1)
        d = d[np.isfinite(d)]
        return float(np.median(d)) if len(d) >= min_points else float("inf")

    direct = med(a, b)
    if twin is None:
        return direct, False
    mirror = med(a, b[twin])
    return (mirror, True) if mirror < direct else (direct, False)


class _Track:
    """One identity while linking: where each of its points was last (or is predicted to
    be, for points not seen then), its velocity (m/s) and when it was last seen (s)."""

    def __init__(self, points: np.ndarray, t: float) -> None:
        self.points = points.copy()
        self.velocity = np.zeros(3)
        self.last = t

    def predict(self, t: float) -> np.ndarray:
        return self.points + self.velocity * (t - self.last)

    def update(self, points: np.ndarray, t: float) -> None:
        ok = np.isfinite(points).all(-1)
        dt = t - self.last
        if dt > 0:
            common = ok & np.isfinite(self.points).all(-1)
            if common.any():
                v = np.median(points[common] - self.points[common], axis=0) / dt
                speed = float(np.linalg.norm(v))
                if speed > MAX_SPEED:
                    v = v * (MAX_SPEED / speed)
                self.velocity = 0.5 * self.velocity + 0.5 * v
        self.points = np.where(ok[:, None], points, self.predict(t))
        self.last = t


def link_people(positions: Sequence[np.ndarray], times: np.ndarray, *,
                max_distance: float = 1.0, max_age: float = 1.0, same_person: float = 0.15,
                twin: Sequence[int] | None = None) -> list[np.ndarray]:
    """Identities for per-frame 3D people.

    Args:
        positions: per frame ``(Q_t, 3)`` centroids or ``(Q_t, K, 3)`` points, metres
            (NaN where missing; a person with no finite point is never matched).
        times: ``(T,)`` seconds.
        max_distance: largest distance (m) between an identity's predicted points and
            a match (median over the points both have).
        max_age: seconds an unmatched identity is kept.
        same_person: a person closer than this (m, median over at least 2 points, or
            the centroid) to one matched in the same frame is a second copy of them
            and gets their identity (0: never).
        twin: for each of the K points, the index of its left/right mirror: distances
            are then the smaller of as labelled and mirrored.

    Returns:
        per frame an int ``(Q_t,)`` identity, numbered 0, 1, 2… in order of appearance
        (−1 for people without a finite point). Two people of one frame share an
        identity only when they are copies of one person.
    """
    tw = None if twin is None else np.asarray(twin, np.int64)
    tracks: list[_Track] = []
    out: list[np.ndarray] = []
    pts_t = [_as_points(p) for p in positions]
    for pts, t in zip(pts_t, times, strict=True):
        t = float(t)
        ids = np.full(len(pts), -1, np.int64)
        mirrored = np.zeros(len(pts), bool)
        alive = [i for i, tr in enumerate(tracks) if t - tr.last <= max_age]
        valid = [q for q in range(len(pts)) if np.isfinite(pts[q]).all(-1).any()]
        if alive and valid:
            dist = np.full((len(alive), len(valid)), np.inf)
            flip = np.zeros(dist.shape, bool)
            for r, i in enumerate(alive):
                pred = tracks[i].predict(t)
                for col, q in enumerate(valid):
                    dist[r, col], flip[r, col] = _distance(pred, pts[q], tw)
            rows, cols = linear_sum_assignment(np.where(dist <= max_distance, dist, 1e9))
            for r, col in zip(rows, cols, strict=True):
                if dist[r, col] <= max_distance:
                    ids[valid[col]] = alive[r]
                    mirrored[valid[col]] = flip[r, col]
        matched = [q for q in valid if ids[q] >= 0]
        new = set()
        for q in valid:
            if ids[q] < 0 and same_person > 0:
                for m in matched:
                    if _same_place(pts[q], pts[m], tw, same_person):
                        ids[q] = ids[m]
                        break
            if ids[q] < 0:
                ids[q] = len(tracks)
                new.add(len(tracks))
                tracks.append(_Track(pts[q], t))
                matched.append(q)
        done = set(new)
        for q in valid:
            i = int(ids[q])
            if i in done:
                continue
            done.add(i)
            tracks[i].update(pts[q][tw] if mirrored[q] else pts[q], t)
        out.append(ids)
    joined = _join_tracks(out, pts_t, np.asarray(times, np.float64), max_distance, max_age,
                          same_person, tw)
    number: dict[int, int] = {}                         # 0, 1, 2… in order of appearance
    for ids in joined:
        for i in ids:
            if i >= 0:
                number.setdefault(int(i), len(number))
    return [np.array([number[int(i)] if i >= 0 else -1 for i in ids], np.int64)
            for ids in joined]


def _same_place(a: np.ndarray, b: np.ndarray, twin: np.ndarray | None, limit: float) -> bool:
    """Copies of one person: ≥ 2 common points within ``limit`` (median), or, for single
    positions (centroids), within ``limit``."""
    need = 1 if a.shape[0] == 1 else 2
    return _distance(a, b, twin, need)[0] <= limit


def _join_tracks(ids_t: list[np.ndarray], pts_t: list[np.ndarray], times: np.ndarray,
                 max_distance: float, max_age: float, same_person: float,
                 twin: np.ndarray | None) -> list[np.ndarray]:
    """Step 2 of :func:`link_people`: one identity for identities that are one person."""
    frames: dict[int, dict[int, int]] = {}
    for ti, ids in enumerate(ids_t):
        for row, i in enumerate(ids):
            if i >= 0:
                frames.setdefault(int(i), {}).setdefault(ti, row)
    if len(frames) < 2 or same_person <= 0:
        return ids_t
    new_id = {i: i for i in frames}
    order = sorted(frames, key=lambda i: min(frames[i]))
    gone: set[int] = set()
    for a in order:
        if a in gone:
            continue
        merged = True
        while merged:
            merged = False
            end = times[max(frames[a])] + max_age
            for b in order:
                if b == a or b in gone or min(frames[b]) < min(frames[a]):
                    continue
                if times[min(frames[b])] > end:
                    continue
                if _one_person(frames[a], frames[b], pts_t, times, max_distance, max_age,
                               same_person, twin):
                    for ti, row in frames[b].items():
                        frames[a].setdefault(ti, row)
                    gone.add(b)
                    new_id[b] = a
                    merged = True
                    break
    if not gone:
        return ids_t

    def final(i: int) -> int:
        while new_id[i] != i:
            i = new_id[i]
        return i

    return [np.array([final(int(i)) if i >= 0 else -1 for i in ids], np.int64)
            for ids in ids_t]


def _one_person(fa: dict[int, int], fb: dict[int, int], pts_t: list[np.ndarray],
                times: np.ndarray, max_distance: float, max_age: float, same_person: float,
                twin: np.ndarray | None) -> bool:
    """Identities ``a`` and ``b`` (frame → row) are one person: see :func:`link_people`.

    Where both appear (for at most :data:`MAX_SHARED` seconds) they are at the same
    place; along the frames of either, in time order, every change from one to the
    other is a step of at most ``max_age`` seconds and ``max_distance`` metres.
    """
    shared = sorted(set(fa) & set(fb))
    if shared and times[shared[-1]] - times[shared[0]] > MAX_SHARED:
        return False
    for ti in shared:
        d, _ = _distance(pts_t[ti][fa[ti]], pts_t[ti][fb[ti]], twin, 1)
        if not d <= same_person:
            return False
    seq = sorted([(ti, 0, fa[ti]) for ti in fa] + [(ti, 1, fb[ti]) for ti in fb
                                                     if ti not in fa])
    for (t0, w0, r0), (t1, w1, r1) in itertools.pairwise(seq):
        if w0 == w1:
            continue
        if times[t1] - times[t0] > max_age:
            return False
        d, _ = _distance(pts_t[t0][r0], pts_t[t1][r1], twin, 1)
        if not d <= max_distance:
            return False
    return True


def join_rows(ids: Sequence[np.ndarray], groups: Sequence[np.ndarray],
              mirrored: Sequence[np.ndarray], points: Sequence[np.ndarray],
              twin: Sequence[int] | None) -> tuple[list[np.ndarray], list[np.ndarray],
                                                   list[np.ndarray], list[np.ndarray]]:
    """One row per identity and frame: rows that :func:`link_people` gave one identity joined.

    The first row keeps its detections and labels; a later row adds the cameras the
    first lacks, its detections mirrored relative to the first when its points match
    the first's better mirrored.

    Args:
        ids: per frame ``(Q_t,)`` identities (−1: dropped).
        groups: per frame int ``(Q_t, C)`` detections; mirrored: per frame bool ``(Q_t, C)``.
        points: per frame ``(Q_t, K, 3)`` body points in each row's own labels, metres.
        twin: mirror of each of the K points, or None.

    Returns:
        ``(ids, groups, mirrored, points)`` per frame, without −1 rows and with one row
        per identity.
    """
    tw = None if twin is None else np.asarray(twin, np.int64)
    out = ([], [], [], [])
    for i_t, g_t, m_t, p_t in zip(ids, groups, mirrored, points, strict=True):
        rows: dict[int, list] = {}
        for i, g, m, p in zip(i_t, g_t, m_t, p_t, strict=True):
            if i < 0:
                continue
            if int(i) not in rows:
                rows[int(i)] = [np.array(g), np.array(m, bool), np.array(p, np.float64)]
                continue
            cur = rows[int(i)]
            _, flip = _distance(cur[2], p, tw, 1)
            free = (np.asarray(g) >= 0) & (cur[0] < 0)
            cur[0] = np.where(free, g, cur[0])
            cur[1] = np.where(free, np.asarray(m, bool) ^ flip, cur[1])
            other = p[tw] if flip else p
            both = np.stack([cur[2], other])
            n = np.isfinite(both).all(-1).sum(0)[:, None]
            cur[2] = np.where(n > 0, np.nansum(both, axis=0) / np.maximum(n, 1), np.nan)
        c = np.asarray(g_t).shape[1] if np.asarray(g_t).ndim == 2 else 0
        k = np.asarray(p_t).shape[1] if np.asarray(p_t).ndim == 3 else 0
        keys = list(rows)
        out[0].append(np.array(keys, np.int64))
        out[1].append(np.array([rows[i][0] for i in keys], np.int64).reshape(len(keys), c))
        out[2].append(np.array([rows[i][1] for i in keys], bool).reshape(len(keys), c))
        out[3].append(np.array([rows[i][2] for i in keys], np.float64).reshape(len(keys), k, 3))
    return out


def orient_people(ids: Sequence[np.ndarray], points: Sequence[np.ndarray],
                  mirrored: Sequence[np.ndarray], groups: Sequence[np.ndarray],
                  twin: Sequence[int], times: np.ndarray, *, max_gap: float = 0.1,
                  margin: float = 0.05) -> list[np.ndarray]:
    """Left/right labels consistent along each identity, set by the majority of detections.

    Args:
        ids: per frame ``(Q_t,)`` identities, at most one row per identity (−1 ignored).
        points: per frame ``(Q_t, K, 3)`` body points as labelled by the row's unmirrored
            detections, metres (NaN where missing).
        mirrored: per frame bool ``(Q_t, C)``: detection labels exchanged relative to
            the row (:class:`~posestack.multiview.associate.Association`).
        groups: per frame int ``(Q_t, C)`` detection indices (−1: none).
        twin: for each point, the index of its left/right mirror.
        times: ``(T,)`` seconds.
        max_gap: frames further apart (s) are not compared: the person may have turned.
        margin: the labelled and the mirrored match must differ by this much (m) to
            link two frames' labels.

    Returns:
        per frame bool ``(Q_t, C)``: the detections whose left and right keypoints must
        be exchanged before triangulation.
    """
    tw = np.asarray(twin, np.int64)
    out = [np.asarray(m, bool).copy() for m in mirrored]
    tracks: dict[int, list[tuple[int, int]]] = {}
    for ti, row_ids in enumerate(ids):
        for row, ident in enumerate(np.asarray(row_ids)):
            if ident >= 0:
                tracks.setdefault(int(ident), []).append((ti, row))
    for rows in tracks.values():
        runs: list[list[tuple[int, int, bool]]] = []
        prev = None                     # (time, points in the run's labels)
        for ti, row in rows:
            x = np.asarray(points[ti][row], np.float64)
            flip, linked = False, False
            near = prev is not None and times[ti] - prev[0] <= max_gap
            if near:
                direct, _ = _distance(prev[1], x, None, 2)
                mirror, _ = _distance(prev[1], x[tw], None, 2)
                if np.isfinite(min(direct, mirror)) and abs(direct - mirror) >= margin:
                    flip, linked = mirror < direct, True
                elif not np.isfinite(x).any():
                    linked = True                       # nothing to compare: keep the run
            if linked:
                runs[-1].append((ti, row, flip))
            else:
                runs.append([(ti, row, False)])
            oriented = x[tw] if flip else x
            if linked:
                keep = np.isfinite(oriented).all(-1)
                oriented = np.where(keep[:, None], oriented, prev[1])
            prev = (float(times[ti]), oriented)
        for run in runs:
            votes = [0, 0]
            for ti, row, flip in run:
                seen = np.asarray(groups[ti][row]) >= 0
                f = out[ti][row][seen] ^ flip
                votes[0] += int((~f).sum())
                votes[1] += int(f.sum())
            swap = votes[1] > votes[0]
            for ti, row, flip in run:
                out[ti][row] = out[ti][row] ^ (flip ^ swap)
    return out
