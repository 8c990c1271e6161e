"""Re-identification cues: what a person looks like, to give back an identity.

:func:`appearance` describes each person of a frame by the colours of their
torso (shoulders to hips) and thighs (hips to knees): an HSV histogram per
region (hue × saturation for chromatic pixels, value for grey ones), square-rooted
and normalised so that the dot product of two descriptors is their
Bhattacharyya coefficient (1 = the same colour distribution). Colours are far
more stable across a person's pose changes (a flip, a crouch) than keypoint
geometry, and differ between most pairs of people.

Conventions: image RGB uint8 ``(H, W, 3)``; keypoints ``(P, K, 2)`` pixels in
any layout that names ``left_shoulder``, ``right_shoulder``, ``left_hip``,
``right_hip``, ``left_knee`` and ``right_knee``.
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import InputError
from .skeletons import Skeleton, get_skeleton

H_BINS, S_BINS, V_BINS = 12, 3, 6
FEATURE_SIZE = 2 * (H_BINS * S_BINS + V_BINS)
_REGIONS = (("left_shoulder", "right_shoulder", "right_hip", "left_hip"),
            ("left_hip", "right_hip", "right_knee", "left_knee"))


# Each 8-bit HSV value (OpenCV's: hue 0-179, saturation and value 0-255) coded so that one
# histogram over the codes gives the descriptor: hue bin; saturation 0 below 40, else 1 + its
# bin; value 0 below 40, 1 for 40-42 (value bin 0 but chromatic), else 1 + its value bin. A
# chromatic pixel (saturation and value ≥ 40) counts in hue × saturation, a grey one in value.
_CODES = np.zeros((1, 256, 3), np.uint8)
_CODES[0, :, 0] = np.minimum(np.arange(256) * H_BINS // 180, H_BINS - 1)
_CODES[0, 40:, 1] = 1 + np.minimum((np.arange(40, 256) - 40) * S_BINS // 216, S_BINS - 1)
_CODES[0, 40:, 2] = 1 + np.minimum(np.arange(40, 256) * V_BINS // 256, V_BINS - 1)
_CODES[0, 40:43, 2] = 1
_N_CODES = (H_BINS, S_BINS + 1, V_BINS + 1)


def _region_hist(hsv: np.ndarray, quad: np.ndarray) -> np.ndarray:
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    h, w = hsv.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    out = np.zeros(H_BINS * S_BINS + V_BINS, np.float64)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return out
    patch = hsv[y0:y1, x0:x1]
    mask = np.zeros(patch.shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad - [x0, y0]).astype(np.int32), 1)
    codes = cv2.LUT(np.ascontiguousarray(patch), _CODES)
    hist = cv2.calcHist([codes], [0, 1, 2], mask, list(_N_CODES),
                        [0, _N_CODES[0], 0, _N_CODES[1], 0, _N_CODES[2]]).astype(np.float64)
    n = hist.sum()  # the pixels inside the quad (exact: counts in float32 below 2**24)
    if n < 8:
        return out
    out[:H_BINS * S_BINS] = hist[:, 1:, 1:].sum(axis=2).ravel()  # chromatic: hue × sat
    grey = hist[:, 0, :].sum(axis=0)  # per value code: unsaturated pixels
    grey[0] += hist[:, 1:, 0].sum()  # and dark ones
    out[H_BINS * S_BINS:] = grey[1:]  # codes 1..V_BINS are value bins 0..V_BINS-1
    out[H_BINS * S_BINS] += grey[0]  # code 0 (value < 40) is value bin 0 too
    return out / n


def appearance(image: np.ndarray, coords: np.ndarray, scores: np.ndarray,
               skeleton: Skeleton | str, min_score: float = 0.3) -> np.ndarray:
    """Colour descriptors of each person: ``(P, F)`` float32, F = ``FEATURE_SIZE``.

    Args:
        image: RGB uint8 ``(H, W, 3)``.
        coords: ``(P, K, 2)`` pixels; scores: ``(P, K)``.
        skeleton: the keypoints' layout.
        min_score: a region is described only when its four corners score above this.

    A person with no describable region gets a row of zeros (no evidence).
    """
    skel = get_skeleton(skeleton)
    coords = np.asarray(coords, np.float64)
    scores = np.asarray(scores, np.float64)
    if coords.ndim != 3 or coords.shape[1:] != (len(skel), 2) or scores.shape != coords.shape[:2]:
        raise InputError(f"appearance needs coords (P, {len(skel)}, 2) and scores (P, "
                         f"{len(skel)}); got {coords.shape} and {scores.shape}")
    try:
        regions = [skel.indices(r) for r in _REGIONS]
    except InputError:
        return np.zeros((coords.shape[0], FEATURE_SIZE), np.float32)
    out = np.zeros((coords.shape[0], FEATURE_SIZE), np.float64)
    half = FEATURE_SIZE // 2
    h, w = image.shape[:2]
    for p in range(coords.shape[0]):
        quads = [(r, coords[p, list(idx)]) for r, idx in enumerate(regions)
                 if np.isfinite(coords[p, list(idx)]).all()
                 and (scores[p, list(idx)] > min_score).all()]
        if not quads:
            continue
        # colour-convert only the person's regions, not the whole frame
        pts = np.concatenate([q for _, q in quads])
        x0, y0 = np.clip(np.floor(pts.min(axis=0)).astype(int), 0, [w, h])
        x1, y1 = np.clip(np.ceil(pts.max(axis=0)).astype(int) + 1, 0, [w, h])
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        hsv = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2HSV)
        for r, quad in quads:
            out[p, r * half:(r + 1) * half] = _region_hist(hsv, quad - [x0, y0])
    out = np.sqrt(out)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.where(norm > 0, norm, 1.0)).astype(np.float32)


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bhattacharyya-style similarity of descriptors ``(N, F)`` and ``(M, F)`` → ``(N, M)``.

    NaN where either row is all zeros (nothing to compare).
    """
    a = np.asarray(a, np.float64).reshape(-1, FEATURE_SIZE)
    b = np.asarray(b, np.float64).reshape(-1, FEATURE_SIZE)
    s = a @ b.T
    empty = (np.abs(a).sum(1)[:, None] == 0) | (np.abs(b).sum(1)[None, :] == 0)
    return np.where(empty, np.nan, s)
