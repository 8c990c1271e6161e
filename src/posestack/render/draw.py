"""Drawing skeletons onto images (overlays).

Colours follow the usual convention: the person's left side green, right side
orange, the midline blue; each person gets a numbered label. Keypoints below
``threshold`` and their edges are not drawn.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..skeletons import Skeleton

LEFT = (0, 200, 0)
RIGHT = (255, 128, 0)
MIDDLE = (51, 153, 255)


def _side(name: str) -> tuple[int, int, int]:
    if name.startswith("left"):
        return LEFT
    if name.startswith("right"):
        return RIGHT
    return MIDDLE


def draw_skeleton(image: np.ndarray, coords: np.ndarray, scores: np.ndarray,
                  skeleton: Skeleton, threshold: float = 0.5,
                  labels: list[str] | None = None) -> np.ndarray:
    """Draw people on a copy of an RGB image.

    Args:
        image: uint8 RGB ``(H, W, 3)`` (not modified).
        coords: ``(P, K, 2)`` pixels; NaN where missing.
        scores: ``(P, K)`` in [0, 1].
        skeleton: layout giving the edges and names.
        threshold: minimum score to draw a keypoint or an edge.
        labels: optional text per person, drawn above their head.

    Returns the drawn copy.
    """
    out = image.copy()
    h, w = out.shape[:2]
    thick = max(2, round(min(h, w) / 250))
    radius = thick + 1
    names = skeleton.keypoints
    colours = [_side(n) for n in names]
    for p in range(coords.shape[0]):
        xy = coords[p]
        ok = np.isfinite(xy).all(axis=1) & (scores[p] >= threshold)
        if not ok.any():
            continue
        pts = np.round(np.where(ok[:, None], xy, 0)).astype(np.int32)
        for a, b in skeleton.edges:
            if ok[a] and ok[b]:
                side = colours[a] if colours[a] == colours[b] else MIDDLE
                cv2.line(out, tuple(pts[a]), tuple(pts[b]), side, thick, cv2.LINE_AA)
        for k in np.nonzero(ok)[0]:
            cv2.circle(out, tuple(pts[k]), radius, colours[k], -1, cv2.LINE_AA)
            cv2.circle(out, tuple(pts[k]), radius, (255, 255, 255), 1, cv2.LINE_AA)
        if labels is not None:
            x0 = int(pts[ok, 0].min())
            y0 = int(pts[ok, 1].min())
            scale = thick / 3
            cv2.putText(out, labels[p], (x0, max(0, y0 - 3 * thick)), cv2.FONT_HERSHEY_SIMPLEX,
                        scale, (255, 255, 255), thick + 2, cv2.LINE_AA)
            cv2.putText(out, labels[p], (x0, max(0, y0 - 3 * thick)), cv2.FONT_HERSHEY_SIMPLEX,
                        scale, (20, 20, 20), max(1, thick // 2), cv2.LINE_AA)
    return out
