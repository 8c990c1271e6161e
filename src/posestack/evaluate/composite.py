"""Crowds with known truth: people cut out of one video and pasted, moving, into another.

No public multi-person data with keypoint truth ships in a package we can
reach, so test material is made from the samples: a person is cut out of a
source video (MediaPipe's selfie-segmentation mask inside the person's own
keypoint region) and pasted into the frames of another video by a similarity
transform (scale, rotation, shift) per frame; where the pasted person covers
the people already there, they are occluded. The keypoints of the source's
single-person run, moved by the same transform, are the pasted person's truth;
the background's own single-person run is its people's truth.

Pure pieces: :func:`paste` (warp + alpha blend), :func:`keypoint_mask`,
:func:`match_people` and :func:`crowd_metrics` (recall, keypoint error,
identity switches); :class:`PersonSegmenter` runs the mask model;
:func:`composite_frames` puts them together.

Conventions: images RGB uint8 ``(H, W, 3)``; keypoints ``(…, K, 2)`` pixels,
NaN where missing; affine matrices ``(2, 3)`` map source pixels to target pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import InputError

SEG_SIZE = 256


class PersonSegmenter:
    """MediaPipe's selfie segmentation (``selfie_segmentation.tflite``) on a person's region.

    Call with an RGB uint8 image and the person's keypoints ``(K, 2)``: the model
    runs on a square crop around them; returns an ``(H, W)`` float32 mask in
    [0, 1] that is 0 outside the person's dilated keypoint region (so a second
    person in the crop is not cut out with them). ``threshold``: the model's
    probability at which the alpha is ½.
    """

    def __init__(self, model_path: Path | str | None = None, num_threads: int = 1,
                 threshold: float = 0.3) -> None:
        from ..estimate.blazepose import _load_interpreter

        self.threshold = float(threshold)
        if model_path is None:
            from .. import assets

            model_path = assets.path("selfie_segmentation")
        self.interp = _load_interpreter(Path(model_path), num_threads, SEG_SIZE,
                                        "the selfie segmentation model", "selfie_segmentation")
        self._in = self.interp.get_input_details()[0]["index"]
        self._out = self.interp.get_output_details()[0]["index"]

    def __call__(self, image: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        region = keypoint_mask((h, w), keypoints)
        pts = keypoints[np.isfinite(keypoints).all(axis=1)]
        if len(pts) < 3:
            return np.zeros((h, w), np.float32)
        (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
        side = 1.4 * max(x1 - x0, y1 - y0)
        cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        k = SEG_SIZE / side
        m = np.array([[k, 0.0, (side / 2 - cx) * k], [0.0, k, (side / 2 - cy) * k]])
        crop = cv2.warpAffine(image, m, (SEG_SIZE, SEG_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        self.interp.set_tensor(self._in, (crop.astype(np.float32) / 255.0)[None])
        self.interp.invoke()
        prob = np.array(self.interp.get_tensor(self._out))[0, :, :, 0]
        full = cv2.warpAffine(prob, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        # The model is made for close-up selfies and is unsure on whole bodies (0.3-0.7
        # on the person): a steep ramp makes the cut-out opaque, with a soft edge.
        alpha = np.clip((full - self.threshold) / 0.2 + 0.5, 0.0, 1.0)
        return (alpha * region).astype(np.float32)


def keypoint_mask(shape: tuple[int, int], keypoints: np.ndarray,
                  grow: float = 0.12) -> np.ndarray:
    """``(H, W)`` float32 mask of a person's region: the convex hull of their keypoints
    ``(K, 2)``, dilated by ``grow`` × the keypoint box's long side (the head and
    hands reach past their keypoints) and softened at the edge."""
    h, w = shape
    pts = keypoints[np.isfinite(keypoints).all(axis=1)]
    out = np.zeros((h, w), np.float32)
    if len(pts) < 3:
        return out
    hull = cv2.convexHull(np.round(pts).astype(np.int32))
    inside = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(inside, hull, 1)
    r = max(1, int(grow * float(np.ptp(pts, axis=0).max())))
    # dilation by a disc of radius r: pixels within r of the hull (a distance transform
    # costs the same whatever r, unlike a morphological dilation with a large disc)
    dist = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    out[dist <= r] = 1.0
    return out


def paste(target: np.ndarray, source: np.ndarray, mask: np.ndarray,
          matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Paste ``source``'s masked pixels into ``target`` through the affine ``matrix``.

    Args:
        target: RGB uint8 ``(H, W, 3)`` (not modified).
        source: RGB uint8 ``(h, w, 3)``; mask: ``(h, w)`` alpha in [0, 1].
        matrix: ``(2, 3)`` source pixels → target pixels.

    Returns the new image and the pasted alpha ``(H, W)`` in target pixels.
    """
    h, w = target.shape[:2]
    warped = cv2.warpAffine(source, matrix, (w, h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT)
    alpha = cv2.warpAffine(mask.astype(np.float32), matrix, (w, h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = np.clip(alpha, 0.0, 1.0)
    out = target.astype(np.float32) * (1.0 - alpha[..., None]) + warped * alpha[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), alpha


def transform_points(xy: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply an affine ``(2, 3)`` to points ``(…, 2)`` (NaN stays NaN)."""
    return xy @ matrix[:, :2].T + matrix[:, 2]


def similarity_matrix(scale: float, angle: float, shift: Sequence[float],
                      centre: Sequence[float]) -> np.ndarray:
    """``(2, 3)``: rotate by ``angle`` (radians) and scale about ``centre``, then shift (px)."""
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    cx, cy = centre
    return np.array([[c, -s, cx - c * cx + s * cy + shift[0]],
                     [s, c, cy - s * cx - c * cy + shift[1]]])


@dataclass(frozen=True)
class PastedPerson:
    """One person to paste: their source frames, keypoints and per-frame placement.

    ``frames``: T source RGB frames; ``keypoints``: ``(T, K, 2)`` their truth in the
    source; ``matrices``: ``(T, 2, 3)`` source → target pixels.
    """

    frames: Sequence[np.ndarray]
    keypoints: np.ndarray
    matrices: np.ndarray


def composite_frames(background: Iterable[np.ndarray], people: Sequence[PastedPerson],
                     segmenter: PersonSegmenter | None = None,
                     ) -> Iterator[tuple[np.ndarray, np.ndarray, list[np.ndarray]]]:
    """Paste ``people`` (in order: later ones in front) into each background frame.

    Yields ``(frame, truth (Q, K, 2), alphas)`` per frame: the pasted people's
    keypoints in the target, and each pasted person's alpha ``(H, W)`` (to tell
    which background keypoints are hidden). Stops at the shortest input.
    """
    seg = segmenter if segmenter is not None else PersonSegmenter()
    for t, frame in enumerate(background):
        if any(t >= len(p.frames) for p in people):
            return
        out, truth, alphas = frame, [], []
        for p in people:
            kp = p.keypoints[t]
            mask = seg(p.frames[t], kp)
            out, alpha = paste(out, p.frames[t], mask, p.matrices[t])
            truth.append(transform_points(kp, p.matrices[t]))
            alphas.append(alpha)
        yield out, np.stack(truth) if truth else np.zeros((0, 0, 2)), alphas


# --------------------------------------------------------------------------------------
# Scoring against the truth
# --------------------------------------------------------------------------------------


def _person_size(xy: np.ndarray) -> float:
    pts = xy[np.isfinite(xy).all(axis=1)]
    return float(np.ptp(pts, axis=0).max()) if len(pts) >= 2 else math.nan


def match_people(pred: np.ndarray, truth: np.ndarray, max_error: float = 0.2,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Match one frame's predicted people to the true ones.

    Args:
        pred: ``(P, K, 2)`` pixels (NaN rows: nobody); truth: ``(Q, K, 2)``.
        max_error: a pair counts only if the median keypoint distance is below this
            fraction of the true person's size (long side of their keypoint box).

    Returns ``(Q,)`` the index of the prediction matched to each true person (−1:
    missed) and ``(Q,)`` the median keypoint error of each match in pixels (NaN).
    """
    q = truth.shape[0]
    match = np.full(q, -1, np.int64)
    err = np.full(q, np.nan)
    if q == 0 or pred.shape[0] == 0:
        return match, err
    d = np.linalg.norm(pred[:, None] - truth[None], axis=-1)  # (P, Q, K)
    d = np.where(np.isfinite(d), d, np.inf)
    med = np.median(d, axis=-1)  # (P, Q); inf where half the keypoints are missing
    sizes = np.array([_person_size(t) for t in truth])
    ok = np.isfinite(med) & (med < max_error * sizes[None])
    cost = np.where(ok, med, 1e9)
    rows, cols = linear_sum_assignment(cost)
    for r, c in zip(rows, cols, strict=True):
        if ok[r, c]:
            match[c], err[c] = r, med[r, c]
    return match, err


@dataclass(frozen=True)
class CrowdMetrics:
    """How well people were found, placed and kept apart in a composited clip.

    ``recall``: fraction of (frame, true person) found; ``error_px``: median
    keypoint error of the found ones (pixels); ``error_rel``: the same relative
    to the person's size; ``id_switches``: times a true person's matched
    identity changed from one found frame to the next; ``identities``: distinct
    identities in the predictions; ``per_person_recall``: ``(Q,)``.
    """

    recall: float
    error_px: float
    error_rel: float
    id_switches: int
    identities: int
    per_person_recall: tuple[float, ...]


def in_view(truth: np.ndarray, size: tuple[int, int], min_fraction: float = 0.5) -> np.ndarray:
    """``(…,)`` whether each true person ``(…, K, 2)`` has at least ``min_fraction`` of
    their keypoints inside the ``(width, height)`` image (a person walking in or out
    of the frame counts once half of them is in view)."""
    w, h = size
    x, y = truth[..., 0], truth[..., 1]
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    return inside.mean(axis=-1) >= min_fraction


def crowd_metrics(pred: np.ndarray, truth: np.ndarray, max_error: float = 0.2,
                  size: tuple[int, int] | None = None) -> CrowdMetrics:
    """Score tracked predictions ``(T, P, K, 2)`` against the truth ``(T, Q, K, 2)``.

    ``P`` is the identity axis (a tracked :class:`~posestack.poses.Poses`); both
    must share the keypoint layout. See :func:`match_people` for ``max_error``.
    With the image ``size`` (width, height), a true person counts only in the
    frames where they are in view (:func:`in_view`).
    """
    pred = np.asarray(pred, np.float64)
    truth = np.asarray(truth, np.float64)
    if pred.ndim != 4 or truth.ndim != 4 or pred.shape[0] != truth.shape[0] \
            or pred.shape[2:] != truth.shape[2:]:
        raise InputError(f"pred (T, P, K, 2) and truth (T, Q, K, 2) must agree in T, K, D; "
                         f"got {pred.shape} and {truth.shape}")
    t_n, q = truth.shape[:2]
    counted = in_view(truth, size) if size is not None else np.ones((t_n, q), bool)
    truth = np.where(counted[..., None, None], truth, np.nan)
    found = np.zeros((t_n, q), bool)
    errs, rels = [], []
    last = np.full(q, -1)
    switches = 0
    for t in range(t_n):
        m, e = match_people(pred[t], truth[t], max_error)
        for j in range(q):
            if m[j] < 0:
                continue
            found[t, j] = True
            errs.append(e[j])
            rels.append(e[j] / _person_size(truth[t, j]))
            if last[j] >= 0 and m[j] != last[j]:
                switches += 1
            last[j] = m[j]
    present = np.isfinite(pred).all(axis=-1).any(axis=-1)  # (T, P)
    per_person = found.sum(axis=0) / np.maximum(counted.sum(axis=0), 1)
    return CrowdMetrics(
        recall=float(found.sum() / counted.sum()) if counted.any() else math.nan,
        error_px=float(np.median(errs)) if errs else math.nan,
        error_rel=float(np.median(rels)) if rels else math.nan,
        id_switches=int(switches),
        identities=int(present.any(axis=0).sum()),
        per_person_recall=tuple(float(v) for v in per_person),
    )


__all__ = ["CrowdMetrics", "PastedPerson", "PersonSegmenter", "composite_frames",
           "crowd_metrics", "in_view", "keypoint_mask", "match_people", "paste",
           "similarity_matrix", "transform_points"]
