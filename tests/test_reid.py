"""Appearance descriptors (posestack.reid): the region histogram against a per-pixel count."""

from __future__ import annotations

import cv2
import numpy as np

from posestack.reid import FEATURE_SIZE, H_BINS, S_BINS, V_BINS, _region_hist, appearance


def _per_pixel(hsv: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The descriptor's definition, one pixel at a time (the reference)."""
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    h, w = hsv.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    out = np.zeros(H_BINS * S_BINS + V_BINS)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return out
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad - [x0, y0]).astype(np.int32), 1)
    px = [tuple(int(c) for c in hsv[y0 + r, x0 + c]) for r, c in zip(*np.nonzero(mask),
                                                                      strict=True)]
    if len(px) < 8:
        return out
    for hue, sat, val in px:
        if sat >= 40 and val >= 40:
            out[min(hue * H_BINS // 180, H_BINS - 1) * S_BINS
                + min((sat - 40) * S_BINS // 216, S_BINS - 1)] += 1
        else:
            out[H_BINS * S_BINS + min(val * V_BINS // 256, V_BINS - 1)] += 1
    return out / len(px)


def test_region_histogram_matches_the_per_pixel_count():
    rng = np.random.default_rng(0)
    for i in range(40):
        h, w = rng.integers(10, 60, 2)
        hsv = np.dstack([rng.integers(0, 180, (h, w)), rng.integers(0, 256, (h, w)),
                         rng.integers(0, 256, (h, w))]).astype(np.uint8)
        if i % 2:  # many pixels at the thresholds (saturation and value 35-45)
            hsv[..., 1:] = rng.integers(35, 46, (h, w, 2))
        quad = rng.uniform(-5, max(h, w) + 5, (4, 2))
        assert np.array_equal(_region_hist(hsv, quad), _per_pixel(hsv, quad)), i


def test_region_histogram_by_hand():
    hsv = np.zeros((10, 10, 3), np.uint8)
    hsv[:, :5] = (0, 255, 255)   # saturated red: hue bin 0, saturation bin 2
    hsv[:, 5:] = (90, 10, 41)    # grey (unsaturated), value 41: value bin 0
    quad = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])
    out = _region_hist(hsv, quad)
    want = np.zeros(H_BINS * S_BINS + V_BINS)
    want[0 * S_BINS + 2] = want[H_BINS * S_BINS + 0] = 0.5
    assert np.array_equal(out, want)


def test_appearance_shape_and_norm():
    img = np.full((200, 100, 3), (200, 30, 30), np.uint8)
    coco = np.full((1, 17, 2), np.nan)
    # shoulders, hips, knees of a person standing in the image
    coco[0, 5:7] = [[60, 40], [40, 40]]
    coco[0, 11:13] = [[60, 110], [40, 110]]
    coco[0, 13:15] = [[60, 160], [40, 160]]
    f = appearance(img, coco, np.ones((1, 17)), "coco17")
    assert f.shape == (1, FEATURE_SIZE) and np.isclose(np.linalg.norm(f), 1.0)
