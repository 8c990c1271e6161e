"""Who is who across cameras in each frame.

Per frame, each camera has its own list of 2D detections. :func:`associate` groups
them into people: every candidate group (one detection or none per camera, at
least ``min_views`` cameras) is triangulated on a few *core* keypoints (shoulders
and hips) and scored by its mean reprojection error; the best groups are taken
greedily (more cameras first, then lower error), each detection at most once,
while their error is below ``max_error`` pixels. A camera whose detection does
not agree is left out of that person's group for that frame.

Detectors exchange left and right now and then, mostly for people seen from
behind. When the layout has sides, a candidate group may therefore take a
detection *mirrored* (its left and right keypoints exchanged): each group is
tried with every choice of mirrored members (the first member as detected),
as long as that keeps the candidates below :data:`MAX_MIRRORED`; the choice is
returned in ``Association.mirrored``.

Greedy acceptance can still split one person in two: when the cameras disagree
by more than ``max_error`` as a whole, every large group fails while two disjoint
sets of cameras each agree, and the person is accepted twice. So accepted groups
with no camera in common whose body keypoints lie at the same place (median
distance below ``same_person`` metres, as labelled or mirrored) are merged into
one person. Which labelling of a person is the true one is settled over time
(:func:`~posestack.multiview.link.orient_people`), and
:func:`~posestack.multiview.link.link_people` gives the people of every frame
stable identities.

Shapes: C cameras, P detections in a camera, K keypoints, Q people, G candidate
groups. Pixels are ideal (undistorted) pixels, matching the projection matrices.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .link import link_people
from .triangulate import dlt, reproject

__all__ = ["MAX_GROUPS", "MAX_MIRRORED", "Association", "Landmarks", "associate", "associate_frame",
           "associate_frames", "body_distance", "candidate_groups", "link_people"]

MAX_GROUPS = 20000

#: Most candidate groups with mirrored members per frame; beyond it detections are only
#: tried as detected (the merge of mirrored duplicates still applies).
MAX_MIRRORED = 20000


@dataclass(frozen=True)
class Landmarks:
    """The keypoints that find a person and tell two people apart.

    Attributes:
        core: K_c keypoint indices (e.g. shoulders and hips) that judge a group of
            detections by their reprojection error.
        body: K_b keypoint indices compared to tell whether two groups are one person
            (default: ``core``).
        flip: the layout's left/right table (``flip[k]``: the mirror of keypoint k), or
            None when it has no sides: then nothing is tried mirrored. ``core`` and
            ``body`` must each hold the mirror of every point they hold.
    """

    core: tuple[int, ...]
    body: tuple[int, ...] = ()
    flip: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        core = tuple(int(i) for i in self.core)
        body = tuple(int(i) for i in self.body) or core
        object.__setattr__(self, "core", core)
        object.__setattr__(self, "body", body)
        if self.flip is not None:
            flip = tuple(int(i) for i in self.flip)
            object.__setattr__(self, "flip", flip)
            for name, pts in (("core", core), ("body", body)):
                if any(k >= len(flip) or flip[k] not in pts for k in pts):
                    raise ValueError(f"{name} {pts} must hold the mirror (flip) of each of "
                                     "its points")

    def twin(self, which: str = "body") -> np.ndarray | None:
        """For each point of ``core`` or ``body``, the position of its mirror among them."""
        pts = self.core if which == "core" else self.body
        if self.flip is None:
            return None
        pos = {k: i for i, k in enumerate(pts)}
        return np.array([pos[self.flip[k]] for k in pts], np.int64)


@dataclass(frozen=True)
class Association:
    """People found in each of T frames by :func:`associate`.

    Attributes:
        groups: per frame an int ``(Q_t, C)`` array: for each person, the detection
            index in each camera (−1: not seen there), best groups first.
        mirrored: per frame a bool ``(Q_t, C)`` array: that detection's left and right
            labels are exchanged relative to the person's first detection.
        centroids: per frame ``(Q_t, 3)``: the mean of the person's triangulated core
            points, world metres (NaN when none could be triangulated).
        body: per frame ``(Q_t, K_b, 3)``: the body points (:class:`Landmarks`) from the
            plain DLT of the group's detections (mirrored ones exchanged), labelled as
            its first detection labels them, world metres (NaN where missing).
        merged: groups merged into another one as a second view of the same person.
    """

    groups: list[np.ndarray]
    mirrored: list[np.ndarray]
    centroids: list[np.ndarray]
    body: list[np.ndarray]
    merged: int


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


def _with_mirrors(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every group with every choice of mirrored members but the first: ``(G', C)`` twice."""
    member = groups >= 0
    sizes = member.sum(1)
    if int((2 ** np.maximum(sizes - 1, 0)).sum()) > MAX_MIRRORED:
        return groups, np.zeros(groups.shape, bool)
    rows, flags = [], []
    for g, has in zip(groups, member, strict=True):
        idx = np.flatnonzero(has)[1:]
        for pattern in itertools.product((False, True), repeat=len(idx)):
            f = np.zeros(len(g), bool)
            f[idx] = pattern
            rows.append(g)
            flags.append(f)
    return np.array(rows, np.int64), np.array(flags, bool)


def body_distance(a: np.ndarray, b: np.ndarray, min_points: int = 2) -> float:
    """Median distance between two people's corresponding points.

    Args:
        a, b: ``(K, 3)`` world metres, NaN where missing.
        min_points: points both must have; fewer gives ``inf``.

    Returns: metres (the median resists a few wrong points).
    """
    d = np.linalg.norm(a - b, axis=-1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if len(d) >= max(min_points, 1) else float("inf")


def associate_frame(xy: Sequence[np.ndarray], scores: Sequence[np.ndarray], P: np.ndarray,
                    core: Sequence[int], *, min_views: int = 2, max_error: float = 20.0,
                    min_score: float = 0.3, min_core: int = 2) -> np.ndarray:
    """Group one frame's detections into people (:func:`associate` for one frame).

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
    """:func:`associate_frame` for T frames at once: :func:`associate`'s groups (no sides).

    Args:
        xy: per camera ``(T, P_c, K, 2)``; scores: per camera ``(T, P_c, K)``;
            detections whose scores are all 0 in a frame are absent there.

    Returns: per frame an int ``(Q_t, C)`` array as :func:`associate_frame`.
    """
    return associate(xy, scores, P, Landmarks(tuple(core)), min_views=min_views,
                     max_error=max_error, min_score=min_score, min_core=min_core,
                     chunk=chunk).groups


def associate(xy: Sequence[np.ndarray], scores: Sequence[np.ndarray], P: np.ndarray,
              landmarks: Landmarks, *, min_views: int = 2, max_error: float = 20.0,
              min_score: float = 0.3, min_core: int = 2, same_person: float = 0.15,
              chunk: int = 200_000) -> Association:
    """Group the detections of T frames into people, one group per person and frame.

    Args:
        xy: per camera ``(T, P_c, K, 2)`` ideal pixels (NaN where missing).
        scores: per camera ``(T, P_c, K)``; detections whose scores are all 0 in a frame
            are absent there.
        P: ``(C, 3, 4)`` projection matrices.
        landmarks: the core and body keypoints and the layout's left/right table.
        min_views: cameras a person needs.
        max_error: largest mean reprojection error (px) of an accepted group.
        min_score: keypoints below it are not used.
        min_core: core keypoints a group must triangulate.
        same_person: accepted groups with no camera in common whose body points are
            closer than this (metres, median over the points both have, at least 2),
            as labelled or mirrored, are one person and are merged (0: never merge).
            Two people's joints stay farther apart than 0.2 m even when they touch.
        chunk: bounds the work arrays (frames × groups × core points per batch).

    Returns:
        :class:`Association`.
    """
    c = len(xy)
    t_n = xy[0].shape[0] if c else 0
    counts = [a.shape[1] for a in xy]
    core = np.asarray(landmarks.core, np.int64)
    body = np.asarray(landmarks.body, np.int64)
    kb = len(body)
    groups = candidate_groups(counts, min_views)
    if not len(groups) or t_n == 0:
        return Association([np.zeros((0, c), np.int64) for _ in range(t_n)],
                           [np.zeros((0, c), bool) for _ in range(t_n)],
                           [np.zeros((0, 3)) for _ in range(t_n)],
                           [np.zeros((0, kb, 3)) for _ in range(t_n)], 0)
    core_twin, body_twin = landmarks.twin("core"), landmarks.twin("body")
    kw = {"min_views": min_views, "max_error": max_error, "min_score": min_score,
          "min_core": min_core, "chunk": chunk}
    flags = np.zeros(groups.shape, bool)
    if core_twin is not None:
        groups, flags = _with_mirrors(groups)
    chosen = _accept(xy, scores, P, core, core_twin, groups, flags, **kw)
    # the body points of every accepted group, all at once
    tt = np.array([ti for ti, (m, _, _) in enumerate(chosen) for _ in m], np.int64)
    members = np.concatenate([m for m, _, _ in chosen]) if len(tt) else np.zeros((0, c), int)
    flags = np.concatenate([f for _, f, _ in chosen]) if len(tt) else np.zeros((0, c), bool)
    pts = _body_points(xy, scores, P, tt, members, flags, body, body_twin, min_score)
    out_g, out_m, out_c, out_x = [], [], [], []
    n_merged = 0
    r = 0
    for m, f, cen in chosen:
        n = len(m)
        mem, mir, bpts, cpts = list(m), list(f), list(pts[r:r + n]), list(cen)
        r += n
        if same_person > 0 and n > 1:
            n_merged += _merge_same(mem, mir, bpts, cpts, body_twin, same_person)
        q = len(mem)
        out_g.append(np.array(mem, np.int64).reshape(q, c))
        out_m.append(np.array(mir, bool).reshape(q, c))
        out_c.append(np.array(cpts, np.float64).reshape(q, 3))
        out_x.append(np.array(bpts, np.float64).reshape(q, kb, 3))
    return Association(out_g, out_m, out_c, out_x, n_merged)


def _accept(xy: Sequence[np.ndarray], scores: Sequence[np.ndarray], P: np.ndarray,
            core: np.ndarray, core_twin: np.ndarray | None, groups: np.ndarray,
            flags: np.ndarray, *, min_views: int, max_error: float, min_score: float,
            min_core: int, chunk: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Greedy acceptance among candidate groups (detections ``groups``, mirrored ``flags``,
    ``(G, C)``) in each frame: per frame ``(members (n, C), flags (n, C), core centres
    (n, 3))`` of the accepted groups, best first.

    Only the groups whose detections are all present in a frame are triangulated there.
    """
    c = len(xy)
    t_n = xy[0].shape[0]
    kc = len(core)
    g_n = len(groups)
    member = groups >= 0                                                 # (G, C)
    n_views = member.sum(1)
    n_flips = flags.sum(1)
    mirrored = core if core_twin is None else core[core_twin]
    # groups whose members are all present, (T, G)
    valid = np.ones((t_n, g_n), bool)
    for ci in range(c):
        has = member[:, ci]
        if xy[ci].shape[1]:
            valid[:, has] &= (scores[ci] > 0).any(-1)[:, groups[has, ci]]
    tv, gv = np.nonzero(valid)
    err = np.full((t_n, g_n), np.inf)
    where = np.full((t_n, g_n), -1, np.int64)
    where[tv, gv] = np.arange(len(tv))
    X = np.full((len(tv), kc, 3), np.nan)
    good = np.zeros((len(tv), kc), bool)
    step = max(1, chunk // max(kc, 1))
    for i0 in range(0, len(tv), step):
        t_c, g_c = tv[i0:i0 + step], gv[i0:i0 + step]
        gx = np.zeros((c, len(t_c), kc, 2))
        gw = np.zeros((c, len(t_c), kc))
        for ci in range(c):
            det = groups[g_c, ci]
            has = np.nonzero(det >= 0)[0]
            cols = np.where(flags[g_c[has], ci][:, None], mirrored[None], core[None])
            pts = np.take_along_axis(xy[ci][t_c[has], det[has]], cols[..., None], axis=1)
            sc = np.take_along_axis(scores[ci][t_c[has], det[has]], cols, axis=1)
            ok = (sc >= min_score) & np.isfinite(pts).all(-1)
            gx[ci, has] = np.where(ok[..., None], pts, 0.0)
            gw[ci, has] = np.where(ok, sc, 0.0)
        x = dlt(gx, gw, P)                                               # (n, kc, 3)
        d = np.linalg.norm(reproject(x, P) - gx, axis=-1)                # (C, n, kc)
        used = gw > 0
        err_pt = np.where(used, d, 0.0).sum(0) / np.maximum(used.sum(0), 1)
        g_ok = np.isfinite(x).all(-1) & (used.sum(0) >= min_views)       # (n, kc)
        n_good = g_ok.sum(-1)
        e = np.where(g_ok, err_pt, 0.0).sum(-1) / np.maximum(n_good, 1)
        e[n_good < min(min_core, kc)] = np.inf
        err[t_c, g_c] = e
        X[i0:i0 + step] = x
        good[i0:i0 + step] = g_ok
    out = []
    for ti in range(t_n):
        cand = np.nonzero(err[ti] <= max_error)[0]
        # more views first, then lower error, then fewer mirrored members
        cand = cand[np.lexsort((n_flips[cand], err[ti, cand], -n_views[cand]))]
        taken = _greedy(groups, cand)
        cen = np.full((len(taken), 3), np.nan)
        for i, g in enumerate(taken):
            row = where[ti, g]
            if good[row].any():
                cen[i] = X[row][good[row]].mean(0)
        out.append((groups[taken].reshape(-1, c), flags[taken].reshape(-1, c), cen))
    return out


def _greedy(groups: np.ndarray, cand: np.ndarray) -> list[int]:
    """Groups taken in ``cand``'s order, each detection at most once."""
    taken: set[tuple[int, int]] = set()
    people = []
    for g in cand:
        mine = [(ci, int(m)) for ci, m in enumerate(groups[g]) if m >= 0]
        if any(k in taken for k in mine):
            continue
        people.append(int(g))
        taken.update(mine)
    return people


def _body_points(xy: Sequence[np.ndarray], scores: Sequence[np.ndarray], P: np.ndarray,
                 tt: np.ndarray, members: np.ndarray, flags: np.ndarray, body: np.ndarray,
                 twin: np.ndarray | None, min_score: float) -> np.ndarray:
    """``(n, K_b, 3)``: the DLT of the body points of n groups (frame ``tt``, detections
    ``members`` ``(n, C)``, mirrored ``flags`` ``(n, C)``)."""
    c = len(xy)
    if not len(tt):
        return np.zeros((0, len(body), 3))
    gx = np.zeros((c, len(tt), len(body), 2))
    gw = np.zeros((c, len(tt), len(body)))
    mirrored = body if twin is None else body[twin]
    for ci in range(c):
        m = members[:, ci]
        has = np.nonzero(m >= 0)[0]
        cols = np.where(flags[has, ci][:, None], mirrored[None], body[None])   # (n, K_b)
        p = xy[ci][tt[has], m[has]]                                      # (n, K, 2)
        w = scores[ci][tt[has], m[has]]
        p = np.take_along_axis(p, cols[..., None], axis=1)
        w = np.take_along_axis(w, cols, axis=1)
        ok = (w >= min_score) & np.isfinite(p).all(-1)
        gx[ci, has] = np.where(ok[..., None], p, 0.0)
        gw[ci, has] = np.where(ok, w, 0.0)
    return dlt(gx, gw, P)


def _merge_same(members: list[np.ndarray], flags: list[np.ndarray], pts: list[np.ndarray],
                cen: list[np.ndarray], twin: np.ndarray | None, same_person: float) -> int:
    """Merge, in place, groups that are one person (see :func:`associate`); returns merges.

    The earlier (better) group keeps its labels; a later one merged into it as a mirror
    image has its members' flags toggled. The points of a merged person are the mean of
    both.
    """
    merged = 0
    i = 0
    while i < len(members):
        j = i + 1
        while j < len(members):
            if ((members[i] >= 0) & (members[j] >= 0)).any():
                j += 1                                  # a camera sees both: two people
                continue
            direct = body_distance(pts[i], pts[j])
            mirror = body_distance(pts[i], pts[j][twin]) if twin is not None \
                else float("inf")
            if min(direct, mirror) > same_person:
                j += 1
                continue
            flip = mirror < direct
            has = members[j] >= 0
            members[i] = np.where(has, members[j], members[i])
            flags[i] = np.where(has, flags[j] ^ flip, flags[i])
            pts[i] = _mean2(pts[i], pts[j][twin] if flip else pts[j])
            cen[i] = _mean2(cen[i][None], cen[j][None])[0]
            del members[j], flags[j], pts[j], cen[j]
            merged += 1
            j = i + 1                                   # the merged group may now match more
        i += 1
    return merged


def _mean2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise mean of two ``(n, 3)`` point sets, ignoring NaN rows."""
    both = np.stack([a, b])
    n = np.isfinite(both).all(-1).sum(0)[:, None]
    return np.where(n > 0, np.nansum(both, axis=0) / np.maximum(n, 1), np.nan)
