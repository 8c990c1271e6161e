"""OpenPose / ControlNet / DWPose pose images (the conditioning maps of image animation).

The look follows DWPose's ControlNet annotator (``annotator/dwpose/util.py``,
same drawing code in controlnet_aux); facts in
``shared/reference/rtm_and_skeletons.md`` §6:

* black RGB canvas of the image size;
* body: the 18 OpenPose points (COCO-17 plus the neck, the shoulders' mean,
  present when both shoulders are), 17 limbs drawn as filled ellipses of
  half-width 4 px in the limb's colour, then the whole canvas × 0.6, then
  joints as filled circles of radius 4;
* hands: 20 edges per hand, edge e in HSV(e/20, 1, 1), 2 px lines, then the
  21 points as blue (0, 0, 255) circles of radius 4;
* face: the 68 points as white circles of radius 3;
* points with score below ``threshold`` (0.3) are hidden, with their limbs.
Feet are not drawn (as in DWPose).

Input is COCO-WholeBody-133 (convert with ``Poses.to_skeleton``); body-only
layouts converted to it simply have no hands or face.
"""

from __future__ import annotations

import colorsys
import math

import cv2
import numpy as np

# COCO-WholeBody index of each OpenPose-18 point (-1: the neck, made from 5 and 6).
OPENPOSE18_FROM_COCO = (0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3)
LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
         (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17))
COLOURS = ((255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0),
           (85, 255, 0), (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255),
           (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255), (170, 0, 255),
           (255, 0, 255), (255, 0, 170), (255, 0, 85))
HAND_EDGES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10),
              (10, 11), (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18),
              (18, 19), (19, 20))
HAND_COLOURS = tuple(
    tuple(c * 255 for c in colorsys.hsv_to_rgb(e / len(HAND_EDGES), 1.0, 1.0))
    for e in range(len(HAND_EDGES)))
STICK_WIDTH = 4
_FACE = slice(23, 91)
_LEFT_HAND = slice(91, 112)
_RIGHT_HAND = slice(112, 133)


def openpose18(coords: np.ndarray, scores: np.ndarray, threshold: float = 0.3) -> np.ndarray:
    """OpenPose-18 body points ``(18, 2)`` from COCO-WholeBody ``(133, 2)``; NaN where hidden."""
    ok = np.isfinite(coords).all(-1) & (scores >= threshold)
    pts = np.where(ok[:, None], coords, np.nan)
    out = np.full((18, 2), np.nan)
    for i, j in enumerate(OPENPOSE18_FROM_COCO):
        out[i] = pts[j] if j >= 0 else (pts[5] + pts[6]) / 2.0
    return out


def _limb(canvas: np.ndarray, a: np.ndarray, b: np.ndarray, colour) -> None:
    mid = (a + b) / 2.0
    length = float(np.hypot(*(a - b)))
    angle = math.degrees(math.atan2(a[1] - b[1], a[0] - b[0]))
    poly = cv2.ellipse2Poly((int(mid[0]), int(mid[1])), (int(length / 2), STICK_WIDTH),
                            int(angle), 0, 360, 1)
    cv2.fillConvexPoly(canvas, poly, colour)


def draw_openpose(shape: tuple[int, int], coords: np.ndarray, scores: np.ndarray,
                  threshold: float = 0.3) -> np.ndarray:
    """A ControlNet-style pose image.

    Args:
        shape: (H, W) of the canvas in pixels.
        coords: ``(P, 133, 2)`` COCO-WholeBody pixels, NaN where missing.
        scores: ``(P, 133)`` in [0, 1].
        threshold: points below it are hidden.

    Returns:
        uint8 RGB ``(H, W, 3)``.
    """
    h, w = shape
    canvas = np.zeros((h, w, 3), np.uint8)
    bodies = [openpose18(c, s, threshold) for c, s in zip(coords, scores, strict=True)]
    for i, (a, b) in enumerate(LIMBS):
        for body in bodies:
            if np.isfinite(body[[a, b]]).all():
                _limb(canvas, body[a], body[b], COLOURS[i])
    canvas = (canvas * 0.6).astype(np.uint8)
    for body in bodies:
        for i in range(18):
            if np.isfinite(body[i]).all():
                cv2.circle(canvas, (int(body[i, 0]), int(body[i, 1])), 4, COLOURS[i], -1)
    for c, s in zip(coords, scores, strict=True):
        for part in (_LEFT_HAND, _RIGHT_HAND):
            pts, ok = c[part], np.isfinite(c[part]).all(-1) & (s[part] >= threshold)
            for e, (a, b) in enumerate(HAND_EDGES):
                if ok[a] and ok[b]:
                    cv2.line(canvas, (int(pts[a, 0]), int(pts[a, 1])),
                             (int(pts[b, 0]), int(pts[b, 1])), HAND_COLOURS[e], 2)
            for k in np.nonzero(ok)[0]:
                cv2.circle(canvas, (int(pts[k, 0]), int(pts[k, 1])), 4, (0, 0, 255), -1)
        face, ok = c[_FACE], np.isfinite(c[_FACE]).all(-1) & (s[_FACE] >= threshold)
        for k in np.nonzero(ok)[0]:
            cv2.circle(canvas, (int(face[k, 0]), int(face[k, 1])), 3, (255, 255, 255), -1)
    return canvas
