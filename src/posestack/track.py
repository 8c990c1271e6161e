"""Multi-person tracking: give each person one slot across frames.

Pose estimators return the people of a frame in an arbitrary order (detection
order). :func:`track` reorders them so that person slot ``p`` is the same
person in every frame, and :class:`Tracker` does the same frame by frame for
live use. Pure helpers (:func:`oks`, :func:`oks_matrix`,
:func:`boxes_from_keypoints`, :func:`iou`, :func:`oks_sigmas`) hold the maths.

Method (per frame, at time ``t``):

1. tracks not matched for more than ``max_age`` seconds die;
2. each live track's pose is its last observation, moved at constant velocity
   (the median keypoint velocity between its last two observations) to ``t``
   when ``predict`` is on;
3. similarity between track ``n`` and detection ``m`` is
   ``w·OKS + (1 − w)·IoU`` with ``w = oks_weight``: OKS uses the COCO formula
   with ``s² =`` the area of the track's keypoint box and ``κ = 2σ`` over the
   keypoints visible in both; IoU compares the boxes of the keypoints visible
   in both (so a partly occluded detection is compared with the same part of
   the track);
4. the Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`)
   pairs tracks and detections minimising ``Σ (1 − similarity)``; pairs with
   similarity below ``min_similarity`` are refused. With ``predict``, the
   tracks and detections left over are matched a second time against the
   tracks' unmoved last poses (a sudden change of motion, such as a jump's
   take-off, defeats the prediction);
5. re-identification: when appearance descriptors are given
   (:func:`posestack.reid.appearance`), a detection left unmatched takes the
   identity of a lost person (a track left unmatched this frame, or one gone
   for longer than ``max_age``) whose descriptor is similar enough (≥
   ``reid_similarity``, and clearly the best: a margin of 0.05 over the next);
6. the remaining unmatched detections start new identities (most confident
   first, by the sum of their keypoint scores) until ``max_identities`` is
   reached; after that each one takes the most similar lost identity (by
   appearance, else the most recently seen), or is dropped (id −1) when every
   identity is in view.

Conventions:

* shapes: T frames, P detections (input) or identities (output), K keypoints,
  D = 2 image coordinates in pixels; times in seconds.
* a keypoint is *visible* when its coordinates are finite and its score is
  > 0; a detection is *present* when at least ``min_keypoints`` keypoints are
  visible. Detections that are not present get id −1.
* boxes are ``(x0, y0, x1, y1)`` with ``x0 ≤ x1`` and ``y0 ≤ y1``, the bounds
  of the visible keypoints; NaN when there are too few of them.
* identities are numbered 0, 1, 2, … in order of first appearance and never
  reused.
* keypoints a track has not seen lately (an occluded arm) are carried along
  with the rest of the body for up to ``max_age`` seconds, so a partly
  occluded person keeps a whole-body box and OKS support.

Example (one person walking right, detected in a shuffled slot)::

    >>> import numpy as np
    >>> from posestack.track import Tracker
    >>> base = np.stack([np.linspace(0, 40, 17), np.linspace(0, 160, 17)], axis=1)
    >>> tr = Tracker("coco17")
    >>> nan = np.full((17, 2), np.nan)
    >>> tr.update(np.stack([base, nan]), np.stack([np.ones(17), np.zeros(17)]), 0.0).tolist()
    [0, -1]
    >>> tr.update(np.stack([nan, base + [5, 0]]), np.stack([np.zeros(17), np.ones(17)]), 0.04)
    array([-1,  0])
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from posestack.errors import InputError
from posestack.poses import Poses
from posestack.skeletons import Skeleton, get_skeleton, keypoint_map

__all__ = [
    "DEFAULT_SIGMA",
    "Tracker",
    "TrackingParameters",
    "boxes_from_keypoints",
    "inside_fraction",
    "iou",
    "oks",
    "oks_matrix",
    "oks_sigmas",
    "stitch",
    "track",
]

#: OKS sigma for keypoints with no dataset sigma and no named counterpart in a
#: layout that has one (BlazePose fingers, eye corners, mouth, …).
DEFAULT_SIGMA = 0.07

# Layouts whose sigmas are borrowed, by keypoint name, for layouts without any.
_SIGMA_REFERENCES = ("coco_wholebody133", "coco17")

# Cost given to refused pairs so the assignment never prefers them.
_REFUSED = 1e6
# Appearance similarity enough to give back an identity lost less than max_age ago
# (within reach of where it was); longer losses need TrackingParameters.reid_similarity.
RECENT_REID_SIMILARITY = 0.3
# How far a lost person may have gone: body heights per second (a sprint, a flip).
REACH_HEIGHTS_PER_S = 3.0


# --------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _sigmas_cached(skel: Skeleton) -> tuple[float, ...]:
    if skel.sigmas is not None:
        return skel.sigmas
    sig = [math.nan] * len(skel)
    for ref in _SIGMA_REFERENCES:
        try:
            kmap = keypoint_map(skel, ref)
        except InputError:  # no table between the two layouts
            continue
        ref_sigmas = kmap.target.sigmas
        if ref_sigmas is None:
            continue
        for t, s in kmap.one_to_one:
            if math.isnan(sig[s]):
                sig[s] = ref_sigmas[t]
    return tuple(DEFAULT_SIGMA if math.isnan(s) else s for s in sig)


def oks_sigmas(skeleton: Skeleton | str) -> np.ndarray:
    """Per-keypoint OKS sigmas for a layout.

    The layout's own sigmas where the dataset defines them (COCO-17,
    COCO-WholeBody-133, Halpe-26, hand-21). Otherwise each keypoint copied
    one-to-one from a COCO-WholeBody-133 or COCO-17 keypoint (through
    :func:`~posestack.skeletons.keypoint_map`) takes that keypoint's sigma, and
    the others :data:`DEFAULT_SIGMA` (0.07).

    Returns:
        ``(K,)`` float64 sigmas (fractions of the object scale).

    >>> s = oks_sigmas("blazepose33")
    >>> float(s[0]), float(s[23]), float(s[1])   # nose, left_hip, left_eye_inner
    (0.026, 0.107, 0.07)
    """
    return np.array(_sigmas_cached(get_skeleton(skeleton)), dtype=np.float64)


def _visible(coords: np.ndarray, scores: np.ndarray | None) -> np.ndarray:
    """``(..., K)`` bool: finite coordinates and (when given) score > 0."""
    vis = np.isfinite(coords).all(axis=-1)
    if scores is not None:
        vis &= np.asarray(scores) > 0
    return vis


def oks_matrix(
    a: np.ndarray,
    b: np.ndarray,
    areas: np.ndarray,
    sigmas: np.ndarray,
    *,
    a_visible: np.ndarray | None = None,
    b_visible: np.ndarray | None = None,
) -> np.ndarray:
    """Object keypoint similarity between every pose of ``a`` and every pose of ``b``.

    COCO formula: ``OKS = mean_i exp(−d_i² / (2 s² κ_i²))`` with ``κ_i = 2σ_i``,
    ``d_i`` the distance between keypoint i of the two poses and ``s² =
    areas[n]`` (the scale of pose ``a[n]``), over the keypoints visible in both.

    Args:
        a: ``(N, K, 2)`` reference poses (pixels).
        b: ``(M, K, 2)`` poses compared with them (pixels).
        areas: ``(N,)`` object areas ``s²`` of the reference poses (pixels²),
            e.g. their keypoint-box areas.
        sigmas: ``(K,)`` per-keypoint sigmas (see :func:`oks_sigmas`).
        a_visible, b_visible: ``(N, K)`` / ``(M, K)`` bool masks; default:
            keypoints with finite coordinates.

    Returns:
        ``(N, M)`` float64 in [0, 1]; 0 where no keypoint is visible in both.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 3 or b.ndim != 3 or a.shape[1:] != b.shape[1:] or a.shape[2] != 2:
        raise InputError(
            f"a and b must have shapes (N, K, 2) and (M, K, 2) with the same K; "
            f"got {a.shape} and {b.shape}"
        )
    n, k = a.shape[:2]
    m = b.shape[0]
    areas = np.asarray(areas, dtype=np.float64)
    sigmas = np.asarray(sigmas, dtype=np.float64)
    if areas.shape != (n,):
        raise InputError(f"areas must have shape (N,) = ({n},); got {areas.shape}")
    if sigmas.shape != (k,):
        raise InputError(f"sigmas must have shape (K,) = ({k},); got {sigmas.shape}")
    va = _visible(a, None) if a_visible is None else np.asarray(a_visible, dtype=bool)
    vb = _visible(b, None) if b_visible is None else np.asarray(b_visible, dtype=bool)
    if va.shape != (n, k) or vb.shape != (m, k):
        raise InputError(
            f"a_visible and b_visible must have shapes ({n}, {k}) and ({m}, {k}); "
            f"got {va.shape} and {vb.shape}"
        )
    va = va & np.isfinite(a).all(axis=-1)
    vb = vb & np.isfinite(b).all(axis=-1)

    d2 = ((a[:, None] - b[None]) ** 2).sum(axis=-1)                       # (N, M, K)
    kappa2 = (2.0 * sigmas) ** 2                                          # (K,)
    scale = 2.0 * (np.maximum(areas, 0.0) + np.spacing(1.0))              # (N,)
    both = va[:, None, :] & vb[None, :, :]                                # (N, M, K)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(-d2 / (scale[:, None, None] * kappa2))
    total = np.where(both, e, 0.0).sum(axis=-1)
    count = both.sum(axis=-1)
    return np.divide(total, count, out=np.zeros((n, m)), where=count > 0)


def oks(
    a: np.ndarray,
    b: np.ndarray,
    area: float,
    sigmas: np.ndarray,
    *,
    a_visible: np.ndarray | None = None,
    b_visible: np.ndarray | None = None,
) -> float:
    """Object keypoint similarity of two poses (COCO formula, see :func:`oks_matrix`).

    Args:
        a: ``(K, 2)`` reference pose, pixels.
        b: ``(K, 2)`` other pose, pixels.
        area: object area ``s²`` (pixels²), e.g. the keypoint-box area of ``a``.
        sigmas: ``(K,)`` per-keypoint sigmas.
        a_visible, b_visible: ``(K,)`` bool masks (default: finite coordinates),
            e.g. ``scores > 0``.

    Returns:
        OKS in [0, 1]: 1 for identical poses, 0 when no keypoint is visible in both.

    >>> a = np.array([[0.0, 0.0], [10.0, 0.0]])
    >>> oks(a, a, 100.0, np.array([0.1, 0.1]))
    1.0
    >>> round(oks(a, a + [0.0, 2.0], 100.0, np.array([0.1, 0.1])), 4)  # exp(-4/8)
    0.6065
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise InputError(f"a and b must both have shape (K, 2); got {a.shape} and {b.shape}")
    av = None if a_visible is None else np.asarray(a_visible, dtype=bool)[None]
    bv = None if b_visible is None else np.asarray(b_visible, dtype=bool)[None]
    return float(
        oks_matrix(a[None], b[None], np.array([float(area)]), sigmas, a_visible=av, b_visible=bv)[
            0, 0
        ]
    )


def boxes_from_keypoints(
    coords: np.ndarray, scores: np.ndarray | None = None, *, min_keypoints: int = 2
) -> np.ndarray:
    """Bounding boxes of the visible keypoints.

    Args:
        coords: ``(..., K, 2)`` pixels, NaN where missing.
        scores: ``(..., K)``; keypoints with score 0 are ignored. None: use
            every keypoint with finite coordinates.
        min_keypoints: fewer visible keypoints than this give a NaN box.

    Returns:
        ``(..., 4)`` float64 boxes ``(x0, y0, x1, y1)``.

    >>> xy = np.array([[1.0, 2.0], [5.0, -1.0], [np.nan, np.nan]])
    >>> boxes_from_keypoints(xy).tolist()
    [1.0, -1.0, 5.0, 2.0]
    >>> bool(np.isnan(boxes_from_keypoints(xy, np.array([1.0, 0.0, 1.0]))).all())
    True
    """
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim < 2 or coords.shape[-1] != 2:
        raise InputError(f"coords must have shape (..., K, 2); got {coords.shape}")
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != coords.shape[:-1]:
            raise InputError(
                f"scores must have shape (..., K) = {coords.shape[:-1]} to match coords "
                f"{coords.shape}; got {scores.shape}"
            )
    vis = _visible(coords, scores)
    pts = np.where(vis[..., None], coords, np.nan)
    enough = vis.sum(axis=-1) >= max(int(min_keypoints), 1)
    out = np.full((*coords.shape[:-2], 4), np.nan)
    if enough.any():
        sel = pts[enough]
        out[enough] = np.concatenate([np.nanmin(sel, axis=-2), np.nanmax(sel, axis=-2)], axis=-1)
    return out


def iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``boxes_a`` with every box of ``boxes_b``.

    Args:
        boxes_a: ``(N, 4)`` boxes ``(x0, y0, x1, y1)``.
        boxes_b: ``(M, 4)`` boxes.

    Returns:
        ``(N, M)`` float64 in [0, 1]; 0 where either box is NaN or the union is empty.

    >>> iou(np.array([[0.0, 0.0, 2.0, 2.0]]), np.array([[1.0, 0.0, 3.0, 2.0]])).tolist()
    [[0.3333333333333333]]
    """
    a = np.asarray(boxes_a, dtype=np.float64)
    b = np.asarray(boxes_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != 4 or b.shape[1] != 4:
        raise InputError(
            f"boxes must have shapes (N, 4) and (M, 4) as (x0, y0, x1, y1); "
            f"got {a.shape} and {b.shape}"
        )
    return _iou_pairs(a[:, None, :], b[None, :, :])


def _iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise IoU of broadcastable ``(..., 4)`` boxes; 0 for NaN or empty unions."""
    w = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    h = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(w, 0.0, None) * np.clip(h, 0.0, None)
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    ok = np.isfinite(inter) & np.isfinite(union) & (union > 0)
    out = np.zeros(inter.shape)
    np.divide(inter, union, out=out, where=ok)
    return out


# --------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------


def _linear_assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost pairs ``(rows, cols)`` of a finite ``(N, M)`` cost matrix, as
    :func:`scipy.optimize.linear_sum_assignment` returns them.

    With one track or one detection (every frame of a one-person video) the pair is
    the smallest entry, the first one on ties as scipy's; only larger problems load
    ``scipy.optimize`` (about 0.4 s of CPU to import).
    """
    n, m = cost.shape
    if n == 1 or m == 1:
        best = np.array([int(np.argmin(cost))]) if n and m else np.zeros(0, np.int64)
        zero = np.zeros(len(best), np.int64)
        return (zero, best) if n == 1 else (best, zero)
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment(cost)


def _is_int(x: Any) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def _is_real(x: Any) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


@dataclass(frozen=True)
class TrackingParameters:
    """Settings of :class:`Tracker` / :func:`track` (validated on construction).

    Attributes:
        max_age: seconds a track is kept alive without a match (≥ 0).
        max_identities: most identities ever created (≥ 1), or None for no cap.
            Once reached, unmatched detections are dropped.
        min_similarity: pairs less similar than this (in [0, 1]) are not matched.
        oks_weight: ``w`` in ``similarity = w·OKS + (1 − w)·IoU``, in [0, 1].
        min_keypoints: visible keypoints (score > 0) a detection needs (≥ 1).
        predict: move lost or moving tracks at constant velocity before matching.
        reid_similarity: least appearance similarity (in [0, 1]) to give a lost
            identity back to a new detection.

    Raises:
        InputError: a value of the wrong type or out of range.
    """

    max_age: float = 1.0
    max_identities: int | None = None
    min_similarity: float = 0.2
    oks_weight: float = 0.5
    min_keypoints: int = 3
    predict: bool = True
    reid_similarity: float = 0.85

    def __post_init__(self) -> None:
        if not _is_real(self.max_age) or not (0 <= self.max_age < math.inf):
            raise InputError(f"max_age must be finite seconds ≥ 0; got {self.max_age!r}")
        if self.max_identities is not None and (
            not _is_int(self.max_identities) or self.max_identities < 1
        ):
            raise InputError(
                f"max_identities must be a positive integer or None (no cap); "
                f"got {self.max_identities!r}"
            )
        for name in ("min_similarity", "oks_weight", "reid_similarity"):
            value = getattr(self, name)
            if not _is_real(value) or not 0 <= value <= 1:
                raise InputError(f"{name} must be a number in [0, 1]; got {value!r}")
        if not _is_int(self.min_keypoints) or self.min_keypoints < 1:
            raise InputError(
                f"min_keypoints must be a positive integer; got {self.min_keypoints!r}"
            )
        if not isinstance(self.predict, bool | np.bool_):
            raise InputError(f"predict must be True or False; got {self.predict!r}")
        object.__setattr__(self, "max_age", float(self.max_age))
        if self.max_identities is not None:
            object.__setattr__(self, "max_identities", int(self.max_identities))
        object.__setattr__(self, "min_similarity", float(self.min_similarity))
        object.__setattr__(self, "oks_weight", float(self.oks_weight))
        object.__setattr__(self, "reid_similarity", float(self.reid_similarity))
        object.__setattr__(self, "min_keypoints", int(self.min_keypoints))
        object.__setattr__(self, "predict", bool(self.predict))

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (for metadata)."""
        return asdict(self)


# --------------------------------------------------------------------------------------
# Tracker
# --------------------------------------------------------------------------------------


class _Track:
    """State of one identity: its last pose, when each keypoint was seen, its velocity."""

    __slots__ = ("coords", "feature", "ident", "last_time", "seen", "velocity")

    def __init__(self, ident: int, coords: np.ndarray, visible: np.ndarray, time: float,
                 feature: np.ndarray | None = None) -> None:
        self.ident = ident
        self.feature: np.ndarray | None = None
        self.add_feature(feature)
        self.coords = np.where(visible[:, None], coords, np.nan)   # (K, 2)
        self.seen = np.where(visible, time, -np.inf)               # (K,) last time seen
        self.last_time = time
        self.velocity = np.zeros(2)                                # pixels / s

    def add_feature(self, feature: np.ndarray | None, rate: float = 0.1) -> None:
        """Fold an appearance descriptor into the track's running mean (zeros: no evidence)."""
        if feature is None or not np.any(feature):
            return
        f = np.asarray(feature, np.float64)
        if self.feature is not None:
            f = (1.0 - rate) * self.feature + rate * f
        self.feature = f / max(float(np.linalg.norm(f)), 1e-12)

    def predicted(self, time: float, predict: bool) -> np.ndarray:
        """``(K, 2)`` pose moved to ``time`` at constant velocity (or the last pose)."""
        if not predict:
            return self.coords
        return self.coords + self.velocity * (time - self.last_time)

    def update(self, coords: np.ndarray, visible: np.ndarray, time: float, max_age: float) -> None:
        """Take a matched detection; carry unseen keypoints along with the body."""
        common = visible & np.isfinite(self.coords).all(axis=-1)
        shift = (
            np.median(coords[common] - self.coords[common], axis=0) if common.any() else None
        )
        dt = time - self.last_time
        if shift is not None and dt > 0:
            self.velocity = shift / dt
        carried = (
            self.coords + shift if shift is not None else np.full_like(self.coords, np.nan)
        )
        keep = ~visible & (time - self.seen <= max_age)
        self.coords = np.where(
            visible[:, None], coords, np.where(keep[:, None], carried, np.nan)
        )
        self.seen = np.where(visible, time, self.seen)
        self.last_time = time


def _within_reach(track: _Track, coords: np.ndarray, visible: np.ndarray, time: float) -> bool:
    """Whether a detection ``(K, 2)`` is close enough to where ``track`` was last seen.

    Centres of the visible keypoints may be at most ``(1 + 3·dt)`` body heights
    apart, the height being the larger keypoint-box side of the two poses.
    """
    last = track.coords[np.isfinite(track.coords).all(axis=1)]
    now = coords[visible]
    if len(last) < 2 or len(now) < 2:
        return False
    size = max(float(np.ptp(last, axis=0).max()), float(np.ptp(now, axis=0).max()), 1.0)
    dist = float(np.hypot(*(last.mean(axis=0) - now.mean(axis=0))))
    dt = max(time - track.last_time, 0.0)
    return dist <= (1.0 + REACH_HEIGHTS_PER_S * dt) * size


class Tracker:
    """Streaming multi-person tracker: one call of :meth:`update` per frame.

    Args:
        skeleton: keypoint layout of the detections (gives K and OKS sigmas,
            see :func:`oks_sigmas`).
        max_age, max_identities, min_similarity, oks_weight, min_keypoints,
        predict, reid_similarity: see :class:`TrackingParameters` (and :func:`track`).

    Raises:
        InputError: unknown skeleton or invalid parameters (``min_keypoints``
            more than K included).
    """

    def __init__(
        self,
        skeleton: Skeleton | str,
        *,
        max_age: float = 1.0,
        max_identities: int | None = None,
        min_similarity: float = 0.2,
        oks_weight: float = 0.5,
        min_keypoints: int = 3,
        predict: bool = True,
        reid_similarity: float = 0.85,
    ) -> None:
        self.skeleton = get_skeleton(skeleton)
        self.params = TrackingParameters(
            max_age=max_age,
            max_identities=max_identities,
            min_similarity=min_similarity,
            oks_weight=oks_weight,
            min_keypoints=min_keypoints,
            predict=predict,
            reid_similarity=reid_similarity,
        )
        k = len(self.skeleton)
        if self.params.min_keypoints > k:
            raise InputError(
                f"min_keypoints must be at most K={k} (skeleton {self.skeleton.name}); "
                f"got {self.params.min_keypoints}"
            )
        self.sigmas = oks_sigmas(self.skeleton)
        self.reset()

    def reset(self) -> None:
        """Forget every track and start numbering identities from 0 again."""
        self._tracks: list[_Track] = []
        self._lost: dict[int, _Track] = {}  # identities gone longer than max_age
        self._n_identities = 0
        self._time: float | None = None
        self.reidentified = 0

    @property
    def n_identities(self) -> int:
        """Identities created so far (ids run from 0 to ``n_identities − 1``)."""
        return self._n_identities

    @property
    def active_identities(self) -> tuple[int, ...]:
        """Ids of the tracks still alive (matched within ``max_age``)."""
        return tuple(t.ident for t in self._tracks)

    def _assign(
        self,
        tracks: list[_Track],
        det_xy: np.ndarray,
        det_vis: np.ndarray,
        time: float,
        moved: bool,
    ) -> list[tuple[int, int]]:
        """Hungarian pairs ``(track, detection)`` with similarity ≥ ``min_similarity``."""
        prm = self.params
        pose = np.stack([t.predicted(time, moved) for t in tracks])          # (N, K, 2)
        pose_vis = np.isfinite(pose).all(axis=-1)                             # (N, K)
        boxes = boxes_from_keypoints(pose)                                    # (N, 4)
        areas = np.nan_to_num((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
        # IoU of the boxes of the keypoints visible in both, so that a partly
        # occluded detection is compared with the same part of the track.
        both = (pose_vis[:, None, :] & det_vis[None, :, :]).astype(np.float64)  # (N, M, K)
        n, m = both.shape[:2]
        box_t = boxes_from_keypoints(np.broadcast_to(pose[:, None], (n, m, *pose.shape[1:])), both)
        box_d = boxes_from_keypoints(np.broadcast_to(det_xy[None], (n, m, *det_xy.shape[1:])), both)
        sim = prm.oks_weight * oks_matrix(
            pose, det_xy, areas, self.sigmas, a_visible=pose_vis, b_visible=det_vis
        ) + (1.0 - prm.oks_weight) * _iou_pairs(box_t, box_d)                 # (N, M)
        cost = np.where(sim >= prm.min_similarity, 1.0 - sim, _REFUSED)
        rows, cols = _linear_assignment(cost)
        return [
            (int(r), int(c))
            for r, c in zip(rows, cols, strict=True)
            if sim[r, c] >= prm.min_similarity
        ]

    def update(self, coords: np.ndarray, scores: np.ndarray, time: float,
               features: np.ndarray | None = None) -> np.ndarray:
        """Match one frame's detections to identities.

        Args:
            coords: ``(P, K, 2)`` detections in any order, pixels, NaN where missing
                (P may be 0; NaN-padded rows are allowed).
            scores: ``(P, K)`` keypoint scores; 0 where missing.
            time: frame time in seconds, not before the previous frame's.
            features: ``(P, F)`` appearance descriptors
                (:func:`posestack.reid.appearance`) for re-identification, or None.

        Returns:
            ``(P,)`` int64 identity of each detection; −1 for detections that are
            not present (fewer than ``min_keypoints`` visible keypoints) or were
            dropped because ``max_identities`` was reached.

        Raises:
            InputError: wrong shapes, or a time that is not finite or goes backwards.
        """
        k = len(self.skeleton)
        coords = np.asarray(coords, dtype=np.float64)
        scores = np.asarray(scores, dtype=np.float64)
        if coords.ndim != 3 or coords.shape[1:] != (k, 2):
            raise InputError(
                f"coords must have shape (P, K={k}, 2) for skeleton {self.skeleton.name}; "
                f"got {coords.shape}"
            )
        if scores.shape != coords.shape[:2]:
            raise InputError(
                f"scores must have shape (P, K) = {coords.shape[:2]} to match coords; "
                f"got {scores.shape}"
            )
        if not _is_real(time) or not math.isfinite(time):
            raise InputError(f"time must be finite seconds; got {time!r}")
        time = float(time)
        if self._time is not None and time < self._time:
            raise InputError(
                f"time must not go backwards: got {time:g} s after {self._time:g} s "
                "(call reset() to start a new stream)"
            )
        self._time = time
        prm = self.params

        # Tracks unmatched for more than max_age die (and wait to be re-identified).
        for t in self._tracks:
            if time - t.last_time > prm.max_age:
                self._lost[t.ident] = t
        self._tracks = [t for t in self._tracks if time - t.last_time <= prm.max_age]
        if features is not None:
            features = np.asarray(features, np.float64)
            if features.ndim != 2 or features.shape[0] != coords.shape[0]:
                raise InputError(f"features must have shape (P={coords.shape[0]}, F); got "
                                 f"{features.shape}")

        visible = _visible(coords, scores)                                   # (P, K)
        ids = np.full(coords.shape[0], -1, dtype=np.int64)
        det = np.flatnonzero(visible.sum(axis=1) >= prm.min_keypoints)
        if det.size == 0:
            return ids
        det_xy = coords[det]
        det_vis = visible[det]

        unmatched = list(range(det.size))
        free = list(range(len(self._tracks)))
        # Stage 1 matches against the predicted poses; stage 2 lets the tracks and
        # detections left over try again with the tracks' last seen poses (a sudden
        # change of motion, e.g. a jump's take-off, defeats the prediction).
        stages = (True, False) if prm.predict else (False,)
        for moved in stages:
            if not free or not unmatched:
                break
            pairs = self._assign(
                [self._tracks[i] for i in free], det_xy[unmatched], det_vis[unmatched],
                time, moved,
            )
            for r, c in pairs:
                trk = self._tracks[free[r]]
                trk.update(det_xy[unmatched[c]], det_vis[unmatched[c]], time, prm.max_age)
                if features is not None:
                    trk.add_feature(features[det[unmatched[c]]])
                ids[det[unmatched[c]]] = trk.ident
            done_r = {r for r, _ in pairs}
            done_c = {c for _, c in pairs}
            free = [i for r, i in enumerate(free) if r not in done_r]
            unmatched = [m for c, m in enumerate(unmatched) if c not in done_c]

        # Lost people: live tracks left unmatched this frame, then those gone for longer.
        candidates = [self._tracks[i] for i in free] + sorted(
            self._lost.values(), key=lambda t: -t.last_time)
        feats = features[det] if features is not None else None
        if unmatched and candidates and feats is not None:
            unmatched = self._reidentify(unmatched, candidates, det, det_xy, det_vis, feats,
                                         ids, time, strict=True)
        # New identities: most confident detections first (sum of scores), then input order.
        strength = np.where(visible[det], scores[det], 0.0).sum(axis=1)
        for c in sorted(unmatched, key=lambda c: (-strength[c], c)):
            if prm.max_identities is not None and self._n_identities >= prm.max_identities:
                # The cap says who can be in the scene: the most similar lost identity.
                self._reidentify([c], candidates, det, det_xy, det_vis, feats, ids, time,
                                 strict=False)
                continue
            f = feats[c] if feats is not None else None
            self._tracks.append(_Track(self._n_identities, det_xy[c], det_vis[c], time, f))
            ids[det[c]] = self._n_identities
            self._n_identities += 1
        return ids

    def _reidentify(self, unmatched: list[int], candidates: list[_Track], det: np.ndarray,
                    det_xy: np.ndarray, det_vis: np.ndarray, feats: np.ndarray | None,
                    ids: np.ndarray, time: float, strict: bool) -> list[int]:
        """Give lost identities back to unmatched detections; returns those left over.

        ``strict``: only pairs with appearance similarity ≥ ``reid_similarity`` and a
        0.05 margin over the detection's next-best candidate. Otherwise each detection
        takes its most similar candidate (the most recent one without evidence).
        Candidates taken are removed from ``candidates``.
        """
        from .reid import similarity

        if not candidates:
            return unmatched
        cf = np.array([t.feature if t.feature is not None else np.zeros(feats.shape[1])
                       for t in candidates]) if feats is not None else None
        sim = (similarity(feats[unmatched], cf) if feats is not None
               else np.full((len(unmatched), len(candidates)), np.nan))
        left = []
        for row, c in enumerate(unmatched):
            avail = [j for j, t in enumerate(candidates) if t.ident not in ids]
            if not avail:
                left.append(c)
                continue
            s = np.array([sim[row, j] for j in avail])
            if strict:
                # A person lost within max_age (a flip, a crouch, a short occlusion) needs
                # less appearance evidence, but must be within reach of where they were.
                recent = np.array([time - candidates[j].last_time <= self.params.max_age
                                   for j in avail])
                reach = np.array([_within_reach(candidates[j], det_xy[c], det_vis[c], time)
                                  for j in avail])
                need = np.where(recent, RECENT_REID_SIMILARITY, self.params.reid_similarity)
                finite = np.isfinite(s) & (~recent | reach)
                if not finite.any():
                    left.append(c)
                    continue
                order = np.argsort(-np.where(finite, s, -np.inf))
                best = float(s[order[0]])
                second = float(s[order[1]]) if len(order) > 1 and finite[order[1]] else 0.0
                if best < need[order[0]] or best - second < 0.05:
                    left.append(c)
                    continue
                j = avail[int(order[0])]
            else:
                j = avail[int(np.argmax(np.where(np.isfinite(s), s, -1.0)))]
            old = candidates[j]
            trk = _Track(old.ident, det_xy[c], det_vis[c], time, None)
            trk.feature = old.feature
            if feats is not None:
                trk.add_feature(feats[c])
            self._tracks = [t for t in self._tracks if t.ident != old.ident] + [trk]
            self._lost.pop(old.ident, None)
            ids[det[c]] = old.ident
            self.reidentified += 1
        return left


# --------------------------------------------------------------------------------------
# Whole-sequence entry point
# --------------------------------------------------------------------------------------


def track(
    poses: Poses,
    *,
    max_age: float = 1.0,
    max_identities: int | None = None,
    min_similarity: float = 0.2,
    oks_weight: float = 0.5,
    min_keypoints: int = 3,
    predict: bool = True,
) -> Poses:
    """Give every person one slot across frames (see the module docstring for the method).

    Args:
        poses: 2-D image keypoints ``(T, P, K, 2)`` whose person axis is in
            arbitrary detection order per frame (P = most detections in a frame,
            NaN-padded). A ``tracked`` input is re-tracked all the same.
        max_age: seconds a lost track is kept alive; a person reappearing later
            gets a new identity.
        max_identities: cap on the number of identities (output P); once reached,
            people not matched to an existing identity are dropped. None: no cap.
        min_similarity: least ``w·OKS + (1 − w)·IoU`` for a track–detection pair.
        oks_weight: ``w`` above, in [0, 1].
        min_keypoints: visible keypoints (score > 0) a detection needs; others
            are dropped.
        predict: constant-velocity prediction of tracks from their last two
            observations.

    Returns:
        New :class:`Poses` ``(T, P', K, 2)`` with ``tracked=True``: slot ``p`` is
        identity ``p`` (in order of first appearance), NaN / score 0 in frames
        where it is absent. ``meta`` is the input's plus ``"tracking"``: the
        parameters and ``"dropped"``, the number of detections left out.

    Raises:
        InputError: ``poses`` is not 2-D :class:`Poses`, or a parameter is invalid.

    >>> import numpy as np
    >>> xy = np.zeros((2, 2, 17, 2)); xy[..., 1] = np.linspace(0, 100, 17)
    >>> xy[..., 0] = np.linspace(0, 30, 17)
    >>> xy[0, 1] = xy[1, 0] = np.nan                     # one person, slots swapped
    >>> xy[1, 1, :, 0] += 3.0
    >>> p = Poses("coco17", xy, np.isfinite(xy[..., 0]) * 0.9, [0.0, 0.1], "image:cam")
    >>> t = track(p)
    >>> t.n_people, t.tracked, float(t.coords[1, 0, 16, 0])
    (1, True, 33.0)
    """
    if not isinstance(poses, Poses):
        raise InputError(f"poses must be a posestack Poses; got {type(poses).__name__}")
    if poses.dim != 2:
        raise InputError(
            f"track needs 2-D image keypoints (D=2, space 'image:<cam>'); got D={poses.dim} "
            f"in space {poses.space!r}"
        )
    tracker = Tracker(
        poses.skeleton,
        max_age=max_age,
        max_identities=max_identities,
        min_similarity=min_similarity,
        oks_weight=oks_weight,
        min_keypoints=min_keypoints,
        predict=predict,
    )
    t_frames, p_in, k, d = poses.coords.shape
    ids = np.full((t_frames, p_in), -1, dtype=np.int64)
    for t in range(t_frames):
        ids[t] = tracker.update(poses.coords[t], poses.scores[t], float(poses.times[t]))

    n_id = tracker.n_identities
    coords = np.full((t_frames, n_id, k, d), np.nan, dtype=np.float32)
    scores = np.zeros((t_frames, n_id, k), dtype=np.float32)
    tt, pp = np.nonzero(ids >= 0)
    coords[tt, ids[tt, pp]] = poses.coords[tt, pp]
    scores[tt, ids[tt, pp]] = poses.scores[tt, pp]

    present = (poses.scores > 0).any(axis=-1)
    dropped = int((present & (ids < 0)).sum())
    meta = dict(poses.meta)
    meta["tracking"] = {**tracker.params.as_dict(), "dropped": dropped}
    return Poses(
        skeleton=poses.skeleton,
        coords=coords,
        scores=scores,
        times=poses.times,
        space=poses.space,
        tracked=True,
        meta=meta,
    )


# --------------------------------------------------------------------------------------
# Offline stitching of identity fragments
# --------------------------------------------------------------------------------------


def inside_fraction(a: np.ndarray | Sequence[float], b: np.ndarray | Sequence[float]) -> float:
    """Fraction of box ``a``'s area ``(x0, y0, x1, y1)`` inside box ``b`` (0 for NaN boxes).

    >>> inside_fraction((0, 0, 2, 2), (1, 0, 3, 2))
    0.5
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return 0.0
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1])
    return float(ix * iy / area) if area > 0 else 0.0


def stitch(poses: Poses, *, max_gap: float = 1.0, reach: float = REACH_HEIGHTS_PER_S,
           ghost_seconds: float = 1.0) -> tuple[Poses, np.ndarray]:
    """Merge identities that are fragments of one person (offline, on a whole video).

    A person whose pose changes beyond what the streaming tracker can match (a
    flip, a fall) may come back as a new identity for a few frames. Identity
    ``b`` is merged into an earlier identity ``a`` when the two are never in the
    same frame and at every hand-over between them (``a`` → ``b`` or ``b`` → ``a``)
    the gap is at most ``max_gap`` seconds and the person is within reach: the
    centres of their keypoints at most ``(1 + reach·dt)`` body heights apart.
    An identity whose whole life lasts at most ``ghost_seconds`` and who, in every
    frame of it, overlaps another person mostly (≥ 60% of either keypoint box
    inside the other) is a second estimate of that person and is removed (its
    slot maps to −1). (A real person seen only that briefly, and only behind
    someone else, is lost with it.)

    Args:
        poses: tracked 2-D :class:`Poses` ``(T, P, K, 2)``.
        max_gap: seconds between fragments.
        reach: body heights per second a person may travel while unseen.

    Returns the poses with merged identities renumbered 0, 1, … in order of
    first appearance, and ``(P,)`` the new slot of each old identity (the slot
    it was merged into).
    """
    if not isinstance(poses, Poses) or poses.dim != 2:
        raise InputError("stitch needs 2-D tracked Poses (T, P, K, 2)")
    coords, scores = poses.coords.copy(), poses.scores.copy()
    present = poses.present()                                     # (T, P)
    times = poses.times
    merges = 0
    into = np.arange(poses.n_people)

    def centre_size(p: int, t: int) -> tuple[np.ndarray, float]:
        ok = np.isfinite(coords[t, p]).all(axis=1) & (scores[t, p] > 0)
        pts = coords[t, p][ok]
        return pts.mean(axis=0), float(np.ptp(pts, axis=0).max()) if len(pts) > 1 else 0.0

    def compatible(a: int, b: int) -> bool:
        fa, fb = np.flatnonzero(present[:, a]), np.flatnonzero(present[:, b])
        if not len(fa) or not len(fb) or np.intersect1d(fa, fb).size:
            return False
        owner = np.zeros(len(times), np.int64) - 1
        owner[fa], owner[fb] = a, b
        seq = np.flatnonzero(owner >= 0)
        for t0, t1 in itertools.pairwise(seq):
            if owner[t0] == owner[t1]:
                continue
            dt = float(times[t1] - times[t0])
            if dt > max_gap:
                return False
            (c0, s0), (c1, s1) = centre_size(owner[t0], t0), centre_size(owner[t1], t1)
            if np.hypot(*(c1 - c0)) > (1.0 + reach * dt) * max(s0, s1, 1.0):
                return False
        return True

    first = [int(np.flatnonzero(present[:, p])[0]) if present[:, p].any() else len(times)
             for p in range(poses.n_people)]
    order = sorted(range(poses.n_people), key=lambda p: first[p])
    for i, b in enumerate(order):
        for a in order[:i]:
            if present[:, a].any() and compatible(a, b):
                fb = present[:, b]
                coords[fb, a], scores[fb, a] = coords[fb, b], scores[fb, b]
                coords[fb, b], scores[fb, b] = np.nan, 0.0
                present[:, a] |= fb
                present[:, b] = False
                into[into == b] = a
                merges += 1
                break
    # Ghosts: a short-lived identity that, in each of its frames, mostly overlaps another
    # person (a second, inconsistent estimate of that person).
    boxes = boxes_from_keypoints(np.where(scores[..., None] > 0, coords, np.nan))  # (T, P, 4)
    ghosts = 0
    for b in order:
        fb = np.flatnonzero(present[:, b])
        if not len(fb) or float(times[fb[-1]] - times[fb[0]]) > ghost_seconds:
            continue
        inside = []
        for t in fb:
            others = [a for a in range(poses.n_people) if a != b and present[t, a]]
            inside.append(max((max(inside_fraction(boxes[t, b], boxes[t, a]),
                                    inside_fraction(boxes[t, a], boxes[t, b])) for a in others),
                              default=0.0))
        if min(inside) >= 0.6:
            coords[fb, b], scores[fb, b] = np.nan, 0.0
            present[:, b] = False
            into[into == b] = -1
            ghosts += 1
    keep = [p for p in order if present[:, p].any()]
    slot = {old: new for new, old in enumerate(keep)}
    mapping = np.array([slot.get(int(into[p]), -1) for p in range(poses.n_people)], np.int64)
    meta = {**poses.meta, "stitched": merges, "ghosts": ghosts}
    out = Poses(poses.skeleton, coords[:, keep], scores[:, keep], times, poses.space,
                tracked=True, meta=meta)
    return out, mapping
