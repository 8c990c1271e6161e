"""Left/right swaps: a 2D estimator that labels the left leg as the right one.

Seen from the side, a person's legs (and arms) overlap, and 2D estimators
exchange their labels for stretches of frames. posestack corrects them per
*side group* (hips, legs below the hips, shoulders, arms below the shoulders,
face), the units in which estimators are seen to swap:

* **Several cameras** (:func:`fix_swaps_multiview`): for each person, frame and
  group, every way of swapping the group in a minority of the cameras is
  triangulated; the labelling with the lowest reprojection error wins if it
  beats the labels as given by a clear margin. Geometry decides, so a swap in
  one camera is corrected from the others.
* **One camera** (:func:`fix_swaps_temporal`): along each tracked person, a
  group whose two sides each jump to where the other side was predicted to be
  (constant velocity from the corrected past) is swapped back, for as long as
  that holds.

Both are pure functions on arrays; the pipeline reports their counts.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping

import numpy as np

from .errors import InputError
from .filters import true_runs
from .poses import Poses
from .skeletons import Skeleton, get_skeleton

# name fragments -> group; checked in this order, so "hand"/"thumb" fall under the arms
_GROUPS = (
    ("hips", ("hip",)),
    ("legs", ("knee", "ankle", "heel", "toe", "foot", "small_toe", "big_toe")),
    ("shoulders", ("shoulder",)),
    ("arms", ("elbow", "wrist", "hand", "thumb", "index", "pinky", "finger")),
    ("face", ("eye", "ear", "mouth")),
)


def side_groups(skeleton: Skeleton | str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Left/right keypoint pairs of a layout, by side group.

    Returns:
        ``{group: (left, right)}``: index arrays of equal length, ``left[i]`` and
        ``right[i]`` mirror each other (the skeleton's flip table). Groups the
        layout lacks are absent. Hands and face of whole-body layouts (their own
        left/right hands, 21 points each) are in ``"arms"``.
    """
    sk = get_skeleton(skeleton) if isinstance(skeleton, str) else skeleton
    out: dict[str, tuple[list[int], list[int]]] = {}
    for i, j in sk.flip_pairs:
        a, b = sk.keypoints[i].lower(), sk.keypoints[j].lower()
        if "left" in a and "right" in b:
            left, right = i, j
        elif "left" in b and "right" in a:
            left, right = j, i
        else:  # a mirrored pair without a side in its names (face contour points)
            continue
        name = a if left == i else b
        for group, words in _GROUPS:
            if any(w in name for w in words):
                out.setdefault(group, ([], []))
                out[group][0].append(left)
                out[group][1].append(right)
                break
    return {g: (np.array(lr[0]), np.array(lr[1])) for g, lr in out.items()}


def _swap(a: np.ndarray, mask: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``a`` (..., K, ...) with ``left``/``right`` exchanged where ``mask`` (a's leading
    dims up to K) is true."""
    out = a.copy()
    sel = out[mask]
    tmp = sel[:, left].copy()
    sel[:, left] = sel[:, right]
    sel[:, right] = tmp
    out[mask] = sel
    return out


def _flip_sets(c: int) -> list[tuple[int, ...]]:
    """The camera subsets that may be swapped: a strict minority (so that the labels the
    majority agrees on win), the empty set first."""
    most = (c - 1) // 2
    return [s for k in range(most + 1) for s in itertools.combinations(range(c), k)]


def _group_error(xy: np.ndarray, w: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Mean reprojection error (px) over views and keypoints of DLT points.

    xy ``(C, N, G, 2)``, w ``(C, N, G)`` → ``(N,)``, NaN without 2 views."""
    from .multiview.triangulate import dlt, reproject

    X = dlt(xy, w, P)                                      # (N, G, 3)
    proj = reproject(X, P)                                 # (C, N, G, 2)
    d = np.linalg.norm(proj - xy, axis=-1)
    use = (w > 0) & np.isfinite(d)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(use, d, 0.0).sum((0, 2)) / use.sum((0, 2))


def fix_swaps_multiview(xy: np.ndarray, scores: np.ndarray, P: np.ndarray,
                        skeleton: Skeleton | str, *, min_score: float = 0.3,
                        ratio: float = 0.6, min_gain: float = 3.0,
                        ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Correct left/right swaps in some cameras from the geometry of the others.

    Args:
        xy: ``(C, T, Q, K, 2)`` ideal (undistorted) pixels of each 3D person ``Q``
            as seen by each camera (NaN where not seen).
        scores: ``(C, T, Q, K)`` 2D confidences.
        P: ``(C, 3, 4)`` projection matrices.
        skeleton: the keypoint layout.
        min_score: 2D points below it take no part.
        ratio, min_gain: a swap is made when the best labelling's reprojection error
            is below ``ratio`` × that of the labels as given and lower by at least
            ``min_gain`` px.

    Returns:
        ``(xy, scores, swapped)``: corrected copies, and ``{group: (C, T, Q) bool}``
        where a group was swapped in a camera.
    """
    xy = np.asarray(xy, np.float64)
    scores = np.asarray(scores, np.float64)
    if xy.ndim != 5 or xy.shape[-1] != 2 or scores.shape != xy.shape[:-1]:
        raise InputError(f"xy must be (C, T, Q, K, 2) and scores (C, T, Q, K); got "
                         f"{xy.shape} and {scores.shape}")
    c, t, q, _ = scores.shape
    flips = _flip_sets(c)
    swapped: dict[str, np.ndarray] = {}
    if len(flips) < 2 or t * q == 0:
        return xy, scores, swapped
    out_xy, out_sc = xy.copy(), scores.copy()
    for group, (left, right) in side_groups(skeleton).items():
        both = np.concatenate([left, right])
        n = len(left)
        gx = xy[:, :, :, both].reshape(c, t * q, 2 * n, 2)
        gs = scores[:, :, :, both].reshape(c, t * q, 2 * n)
        gw = np.where((gs >= min_score) & np.isfinite(gx).all(-1), gs, 0.0)
        # a camera can be swapped only where it sees both sides of the group
        sees = (gw[:, :, :n] > 0).any(-1) & (gw[:, :, n:] > 0).any(-1)       # (C, N)
        exch = np.r_[np.arange(n, 2 * n), np.arange(n)]
        errs = []
        for s in flips:
            sx, sw = gx.copy(), gw.copy()
            for ci in s:
                sx[ci] = gx[ci][:, exch]
                sw[ci] = gw[ci][:, exch]
            e = _group_error(sx, sw, P)
            if s:
                e = np.where(sees[list(s)].all(0), e, np.nan)
            errs.append(e)
        errs = np.stack(errs)                                                  # (S, N)
        given = errs[0]
        alt = np.where(np.isnan(errs[1:]), np.inf, errs[1:])
        best = np.argmin(alt, axis=0)
        best_err = alt[best, np.arange(t * q)]
        do = np.isfinite(given) & (best_err < ratio * given) & (given - best_err >= min_gain)
        mask = np.zeros((c, t * q), bool)
        for i in np.flatnonzero(do):
            mask[list(flips[best[i] + 1]), i] = True
        mask = mask.reshape(c, t, q)
        if mask.any():
            out_xy = _swap(out_xy, mask, left, right)
            out_sc = _swap(out_sc, mask, left, right)
        swapped[group] = mask
    return out_xy, out_sc, swapped


def fix_swaps_temporal(poses: Poses, *, min_score: float = 0.3, switch_cost: float = 0.25,
                       swapped_cost: float = 0.02) -> tuple[Poses, dict[str, np.ndarray]]:
    """Correct left/right swaps along each tracked person of one camera.

    For each person and side group, every frame is either as given or swapped;
    the labelling of the whole track that moves most smoothly is chosen by
    dynamic programming (Viterbi over pairs of consecutive states): its cost is
    the acceleration of the group's points (each step's second difference,
    divided by the person's torso size so that it does not depend on distance
    or units), plus ``switch_cost`` each time the labelling changes and
    ``swapped_cost`` per swapped frame, so that the labels as given stand
    unless the motion clearly says otherwise. A swap shows as both sides
    jumping to where the other was; the legs crossing in a side view do not.

    Args:
        poses: ``(T, P, K, D)`` tracked poses (2D pixels or 3D), regular or not.
        min_score: points below it take no part in the costs.
        switch_cost, swapped_cost: in torso sizes of acceleration per step.

    Returns:
        ``(poses, swapped)``: the corrected poses (``meta["swaps"]``: counts per
        group) and ``{group: (T, P) bool}``.
    """
    if not isinstance(poses, Poses):
        raise InputError(f"poses must be a Poses object; got {type(poses).__name__}")
    groups = side_groups(poses.skeleton)
    coords = np.array(poses.coords, np.float64)
    scores = np.array(poses.scores, np.float64)
    t_n, p_n = coords.shape[:2]
    swapped = {g: np.zeros((t_n, p_n), bool) for g in groups}
    if t_n < 3 or not groups:
        return poses, swapped
    ok = (scores >= min_score) & np.isfinite(coords).all(-1)
    size = _torso_size(poses, ok)
    for group, (left, right) in groups.items():
        both = np.concatenate([left, right])
        n = len(left)
        exch = np.r_[np.arange(n, 2 * n), np.arange(n)]
        for p in range(p_n):
            if not np.isfinite(size[p]) or size[p] <= 0:
                continue
            x = coords[:, p, both] / size[p]                       # (T, 2n, D)
            v = ok[:, p, both]
            present = v[:, :n].any(1) & v[:, n:].any(1)
            starts, ends = true_runs(present)
            for a, b in zip(starts, ends, strict=True):
                if b - a >= 3:
                    swapped[group][a:b, p] = _viterbi(x[a:b], v[a:b], exch, switch_cost,
                                                      swapped_cost)
        mask = swapped[group]
        if mask.any():
            coords = _swap(coords, mask, left, right)
            scores = _swap(scores, mask, left, right)
    counts = {g: int(m.sum()) for g, m in swapped.items()}
    out = dataclasses.replace(poses, coords=coords.astype(np.float32),
                              scores=scores.astype(np.float32),
                              meta={**poses.meta, "swaps": counts})
    return out, swapped


def _viterbi(x: np.ndarray, v: np.ndarray, exch: np.ndarray, switch: float,
             prior: float) -> np.ndarray:
    """(T,) bool: the swap labelling of one group's track ``x`` (T, M, D) (valid ``v``
    (T, M)) with the least acceleration + switching + swapped-state cost."""
    t_n = len(x)
    xs = np.stack([x, x[:, exch]])                                 # (2, T, M, D)
    vs = np.stack([v, v[:, exch]])
    acc = np.zeros((2, 2, 2, t_n))                                 # [a, b, c, t]
    for a, b, c in itertools.product((0, 1), repeat=3):
        d = xs[c, 2:] - 2 * xs[b, 1:-1] + xs[a, :-2]
        m = vs[c, 2:] & vs[b, 1:-1] & vs[a, :-2]
        norm = np.linalg.norm(np.nan_to_num(d), axis=-1)
        cnt = m.sum(1)
        acc[a, b, c, 2:] = np.where(cnt > 0, (norm * m).sum(1) / np.maximum(cnt, 1), 0.0)
    # D[b, c]: best cost of frames ..t with states (t-1, t) = (b, c)
    cost = np.array([[prior * (b + c) + switch * (b != c) for c in (0, 1)] for b in (0, 1)])
    back = np.zeros((t_n, 2, 2), np.int8)
    for t in range(2, t_n):
        new = np.empty((2, 2))
        for b in (0, 1):
            for c in (0, 1):
                cand = cost[:, b] + acc[:, b, c, t]
                a = int(np.argmin(cand))
                back[t, b, c] = a
                new[b, c] = cand[a] + switch * (b != c) + prior * c
        cost = new
    b, c = np.unravel_index(int(np.argmin(cost)), cost.shape)
    states = np.zeros(t_n, np.int64)
    states[-1], states[-2] = c, b
    for t in range(t_n - 1, 1, -1):
        states[t - 2] = back[t, states[t - 1], states[t]]
    return states.astype(bool)


def _torso_size(poses: Poses, ok: np.ndarray) -> np.ndarray:
    """(P,) median shoulder-to-hip distance per person (poses' units); NaN if unseen."""
    sk = poses.skeleton
    try:
        sh = [sk.index("left_shoulder"), sk.index("right_shoulder")]
        hp = [sk.index("left_hip"), sk.index("right_hip")]
    except (KeyError, ValueError, InputError):
        return np.full(poses.n_people, np.nan)
    c = poses.coords.astype(np.float64)
    good = ok[:, :, sh].all(-1) & ok[:, :, hp].all(-1)
    size = np.linalg.norm(c[:, :, sh].mean(2) - c[:, :, hp].mean(2), axis=-1)
    size = np.where(good, size, np.nan)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(size, axis=0)


def swap_counts(swapped: Mapping[str, np.ndarray], names: list[str] | None = None,
                ) -> dict[str, dict[str, int]]:
    """Counts for a manifest: ``{camera_or_"all": {group: frames}}`` from
    :func:`fix_swaps_multiview`'s ``(C, T, Q)`` masks (``names``: the cameras) or
    :func:`fix_swaps_temporal`'s ``(T, P)`` masks."""
    if names is None:
        return {"all": {g: int(m.sum()) for g, m in swapped.items()}}
    return {cam: {g: int(m[ci].sum()) for g, m in swapped.items()}
            for ci, cam in enumerate(names)}


def apply_swaps(poses: Poses, swapped: Mapping[str, np.ndarray]) -> Poses:
    """Exchange the side groups of ``poses`` where ``swapped[group]`` ``(T, P)`` is true
    (e.g. the masks found on the 2D, applied to the same frames' 3D landmarks)."""
    groups = side_groups(poses.skeleton)
    coords, scores = np.asarray(poses.coords), np.asarray(poses.scores)
    for group, mask in swapped.items():
        if group in groups and mask.any():
            left, right = groups[group]
            coords = _swap(coords, mask, left, right)
            scores = _swap(scores, mask, left, right)
    return dataclasses.replace(poses, coords=coords, scores=scores)
