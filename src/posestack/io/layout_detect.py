"""Tell OpenPose BODY_25 from BODY_25B by the geometry of the keypoints.

Both layouts have 25 points, so a json file does not say which one it holds, and
reading one as the other silently exchanges left and right, the neck and the
eyes (BODY_25: 0 nose, 1 neck, 2–7 right then left arm, 8 mid-hip, 9–14 right
then left leg, 15–18 eyes and ears; BODY_25B: COCO-17 order — 0 nose, 1–4 eyes
and ears, 5–16 arms and legs left before right —, then 17 upper neck, 18 head
top; both end with the same six foot points, see :mod:`posestack.skeletons`).

Each detection is read both ways and checked against what holds for a person in
any view, as fractions of the detection's size ``s`` (the diagonal of the box
around its points), so that the test does not depend on the camera or the
distance:

* BODY_25: the neck (1) lies at the middle of the shoulders (2, 5); the eyes
  (15, 16) lie next to the nose (0).
* BODY_25B: the eyes (1, 2) lie next to the nose (0); the upper neck (17) lies
  near the middle of the shoulders (5, 6).

A detection's residual for a reading is the mean of these distances over the
ones it has (0 is a perfect fit). It votes for a reading when that residual is
below :data:`FIT` and less than half the other's. The layout is decided when at
least ``min_votes`` detections voted and at least ``min_share`` of the votes
agree; otherwise it is not decided, and the caller must ask for the layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FIT", "LayoutGuess", "detect_body25_layout"]

#: Largest residual (fraction of the detection's size) of a reading that fits.
FIT = 0.08

# (a, b, c): point a lies at the middle of b and c (c = b: point a lies at b).
_RULES = {
    "body25": ((1, 2, 5), (15, 0, 0), (16, 0, 0)),
    "body25b": ((1, 0, 0), (2, 0, 0), (17, 5, 6)),
}


@dataclass(frozen=True)
class LayoutGuess:
    """What :func:`detect_body25_layout` concluded.

    Attributes:
        layout: ``"body25"``, ``"body25b"``, or None when the data do not decide.
        votes: detections that fit each reading, ``{"body25": n, "body25b": m}``.
        detections: detections with enough points to be judged.
        residual: median residual of the winning reading over its voters (fraction of
            the detection's size), NaN when undecided.
    """

    layout: str | None
    votes: dict[str, int]
    detections: int
    residual: float

    def describe(self) -> str:
        """One line for logs and errors."""
        n = sum(self.votes.values())
        counts = ", ".join(f"{k} {v}" for k, v in self.votes.items())
        if self.layout is None:
            return (f"the keypoint geometry does not decide between BODY_25 and BODY_25B "
                    f"({self.detections} detection(s) judged; votes: {counts})")
        return (f"{self.layout} detected from the keypoint geometry: "
                f"{self.votes[self.layout]} of {n} voting detection(s) agree "
                f"({self.detections} judged, median residual {self.residual:.3f} of the "
                f"person's size)")


def _residuals(xy: np.ndarray, ok: np.ndarray, rules, size: np.ndarray) -> np.ndarray:
    """``(N,)`` mean over the rules a detection has of |a − (b + c)/2| / size (NaN: none)."""
    total = np.zeros(len(xy))
    count = np.zeros(len(xy))
    for a, b, c in rules:
        has = ok[:, a] & ok[:, b] & ok[:, c]
        d = np.linalg.norm(xy[:, a] - 0.5 * (xy[:, b] + xy[:, c]), axis=-1) / size
        total += np.where(has, d, 0.0)
        count += has
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def detect_body25_layout(coords: np.ndarray, scores: np.ndarray | None = None, *,
                         min_score: float = 0.1, min_votes: int = 5,
                         min_share: float = 0.9) -> LayoutGuess:
    """Decide whether 25-point OpenPose keypoints are BODY_25 or BODY_25B.

    Args:
        coords: ``(..., 25, 2)`` pixels (any leading dimensions, e.g. ``(T, P)``); NaN
            where missing.
        scores: ``(..., 25)`` confidences; points below ``min_score`` are not used.
            Default: every finite point is used.
        min_score: lowest confidence of a point used.
        min_votes: fewest detections that must vote for a decision.
        min_share: share of the votes the winner needs (0.5–1).

    Returns:
        :class:`LayoutGuess`; ``layout`` is None when fewer than ``min_votes``
        detections fit one reading clearly, or the votes are split.

    Raises:
        ValueError: ``coords`` is not ``(..., 25, 2)`` or ``scores`` not ``(..., 25)``.
    """
    coords = np.asarray(coords, np.float64)
    if coords.ndim < 2 or coords.shape[-2:] != (25, 2):
        raise ValueError(f"coords must have shape (..., 25, 2); got {coords.shape}")
    xy = coords.reshape(-1, 25, 2)
    ok = np.isfinite(xy).all(-1)
    if scores is not None:
        scores = np.asarray(scores, np.float64)
        if scores.shape != coords.shape[:-1]:
            raise ValueError(f"scores must have shape {coords.shape[:-1]}; got {scores.shape}")
        ok &= np.nan_to_num(scores.reshape(-1, 25)) >= min_score
    hi = np.where(ok[..., None], xy, -np.inf).max(axis=1, initial=-np.inf)
    lo = np.where(ok[..., None], xy, np.inf).min(axis=1, initial=np.inf)
    size = np.where(ok.any(-1), np.linalg.norm(np.where(ok.any(-1)[:, None], hi - lo, 0.0),
                                               axis=-1), 0.0)
    judged = (ok.sum(-1) >= 5) & (size > 0)
    size = np.where(judged, size, 1.0)
    r25 = _residuals(xy, ok & judged[:, None], _RULES["body25"], size)
    r25b = _residuals(xy, ok & judged[:, None], _RULES["body25b"], size)
    both = np.isfinite(r25) & np.isfinite(r25b)
    v25 = both & (r25 < FIT) & (r25 < 0.5 * r25b)
    v25b = both & (r25b < FIT) & (r25b < 0.5 * r25)
    votes = {"body25": int(v25.sum()), "body25b": int(v25b.sum())}
    n = votes["body25"] + votes["body25b"]
    layout = None
    residual = float("nan")
    if n >= min_votes:
        for name, mask, r in (("body25", v25, r25), ("body25b", v25b, r25b)):
            if votes[name] >= min_share * n:
                layout, residual = name, float(np.median(r[mask]))
    return LayoutGuess(layout, votes, int(both.sum()), residual)
