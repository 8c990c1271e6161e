"""Person detection over the whole image and over overlapping square tiles.

SSD-style detectors squash the image to a small square input (300×300 for
SSDLite): in a wide video a person of a third of the image height becomes a
few dozen pixels tall and is missed. :class:`TiledPersonDetector` also runs the
detector on square tiles as tall as the image's short side, spread along the
long side with overlap, and merges everything:

* a box from a tile that touches a tile edge inside the image is a cut person
  and is dropped (another tile or the whole image sees them whole);
* boxes are merged by greedy NMS (IoU > ``nms_iou``: the same person), so
  people who overlap one another keep separate boxes.

Boxes: ``(x0, y0, x1, y1)`` image pixels.
"""

from __future__ import annotations

import math

import numpy as np

from ._nms import nms
from .ssdlite import NMS_IOU, SSDLitePersonDetector


def square_tiles(width: int, height: int, overlap: float = 0.25) -> list[tuple[int, int, int]]:
    """``(x0, y0, side)`` of square tiles of side = the short side, overlapping by
    at least ``overlap`` of a side, covering the image (none for a square image).

    >>> square_tiles(1768, 994)
    [(0, 0, 994), (387, 0, 994), (774, 0, 994)]
    >>> square_tiles(500, 500)
    []
    """
    side = min(width, height)
    long_ = max(width, height)
    if long_ - side < 0.1 * side:
        return []
    step = side * (1.0 - overlap)
    n = max(2, math.ceil((long_ - side) / step) + 1)
    starts = np.linspace(0, long_ - side, n).round().astype(int)
    if width >= height:
        return [(int(s), 0, side) for s in starts]
    return [(0, int(s), side) for s in starts]


class TiledPersonDetector:
    """SSDLite person boxes from the whole image and its square tiles, merged.

    Args:
        detector: an :class:`SSDLitePersonDetector` (default: the cached asset).
        tiles: also run on square tiles (see :func:`square_tiles`).
        nms_iou: IoU above which two boxes are one person.
        edge: a tile box within this many pixels of an inner tile edge is a cut person.
        num_threads: ONNX Runtime threads when ``detector`` is None.

    Call on an RGB uint8 ``(H, W, 3)`` image → boxes ``(N, 4)`` and scores ``(N,)``,
    best first.
    """

    def __init__(self, detector: SSDLitePersonDetector | None = None, *, tiles: bool = True,
                 nms_iou: float = NMS_IOU, edge: float = 4.0,
                 num_threads: int | None = 1) -> None:
        self.detector = detector if detector is not None else SSDLitePersonDetector(
            num_threads=num_threads)
        self.tiles = bool(tiles)
        self.nms_iou = float(nms_iou)
        self.edge = float(edge)

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = image.shape[:2]
        boxes, scores = self.detector(image)
        all_b, all_s = [boxes], [scores]
        if self.tiles:
            for x0, y0, side in square_tiles(w, h):
                b, s = self.detector(image[y0:y0 + side, x0:x0 + side])
                if not len(s):
                    continue
                b = b + np.array([x0, y0, x0, y0], np.float64)
                cut = np.zeros(len(s), bool)
                e = self.edge
                if x0 > 0:
                    cut |= b[:, 0] <= x0 + e
                if x0 + side < w:
                    cut |= b[:, 2] >= x0 + side - e
                if y0 > 0:
                    cut |= b[:, 1] <= y0 + e
                if y0 + side < h:
                    cut |= b[:, 3] >= y0 + side - e
                all_b.append(b[~cut])
                all_s.append(s[~cut])
        boxes = np.concatenate(all_b).reshape(-1, 4)
        scores = np.concatenate(all_s)
        if not len(scores):
            return boxes, scores
        keep = nms(boxes, scores, self.nms_iou)
        return boxes[keep], scores[keep]

    def __repr__(self) -> str:
        return f"TiledPersonDetector({self.detector!r}, tiles={self.tiles})"
