"""Boards rendered through a known camera, for tests whose truth is known.

:func:`render_board` traces every pixel back through the camera's distortion
(``cv2.undistortPoints``) to the board's plane and samples the checkerboard there,
averaging ``supersample²`` rays per pixel so that edges are anti-aliased as a real
sensor would blur them. :func:`random_poses` gives board poses a careful user would
take: tilted up to ~40° and spread over the image.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from .boards import Board, CharucoBoard


@functools.lru_cache(maxsize=2)
def _rays(K: bytes, dist: bytes, size: tuple[int, int], s: int, fisheye: bool = False
          ) -> np.ndarray:
    """Each (sub)pixel's ray ``(N, 3)`` (z = 1) in the camera frame; the same for every pose,
    so computed once per camera (the iterative undistortion is most of the cost)."""
    w, h = size
    u, v = np.meshgrid((np.arange(w * s) + 0.5) / s - 0.5, (np.arange(h * s) + 0.5) / s - 0.5)
    pix = np.stack([u.ravel(), v.ravel()], axis=1).reshape(-1, 1, 2)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 1e-10)
    k, d = np.frombuffer(K).reshape(3, 3), np.frombuffer(dist)
    norm = (cv2.fisheye.undistortPoints(pix, k, d, criteria=crit) if fisheye else
            cv2.undistortPoints(pix, k, d, criteria=crit)).reshape(-1, 2)
    return np.concatenate([norm, np.ones((len(norm), 1))], axis=1)


def render_board(K: np.ndarray, dist: np.ndarray, rvec: np.ndarray, tvec: np.ndarray,
                 size: tuple[int, int], board: Board | CharucoBoard, *, supersample: int = 3,
                 background: int = 110, fisheye: bool = False) -> np.ndarray:
    """A grey uint8 ``(H, W)`` image of ``board`` (white margin of one square around the
    squares) posed by ``rvec, tvec`` (board → camera, metres) seen by ``K, dist``
    (OpenCV's standard model; ``fisheye``: its fisheye model, 4 coefficients) at ``size``
    ``(W, H)``. A ChArUco board is OpenCV's own
    image of it (``generateImage``, 80 px per square) sampled where each ray meets it."""
    w, h = size
    s = supersample
    ray = _rays(np.asarray(K, np.float64).tobytes(), np.asarray(dist, np.float64).tobytes(),
                (w, h), s, fisheye)
    R, _ = cv2.Rodrigues(np.asarray(rvec, np.float64))
    t = np.asarray(tvec, np.float64).ravel()
    n = R[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = (n @ t) / (ray @ n)
        local = (depth[:, None] * ray - t) @ R                  # board-frame points
    sq = board.square
    if isinstance(board, CharucoBoard):
        val = _charuco_texture(board, local[:, 0] / sq, local[:, 1] / sq, depth > 0,
                               background)
        img = val.reshape(h * s, w * s).reshape(h, s, w, s).mean(axis=(1, 3))
        return np.clip(np.round(img), 0, 255).astype(np.uint8)
    # squares from -1 to cols (rows) in square units: inner corners at 0..cols-1
    x, y = local[:, 0] / sq + 1, local[:, 1] / sq + 1
    inside = (x >= 0) & (x < board.cols + 1) & (y >= 0) & (y < board.rows + 1) & (depth > 0)
    margin = (x >= -1) & (x < board.cols + 2) & (y >= -1) & (y < board.rows + 2) & (depth > 0)
    val = np.full(len(x), float(background))
    val[margin] = 235.0
    dark = inside & ((np.floor(x).astype(np.int64) + np.floor(y).astype(np.int64)) % 2 == 0)
    val[dark] = 20.0
    img = val.reshape(h * s, w * s)
    img = img.reshape(h, s, w, s).mean(axis=(1, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


PX_PER_SQUARE = 80


@functools.lru_cache(maxsize=2)
def _charuco_image(board: CharucoBoard) -> np.ndarray:
    p = PX_PER_SQUARE
    return board.cv().generateImage(((board.cols + 2) * p, (board.rows + 2) * p),
                                    marginSize=p, borderBits=1)


def _charuco_texture(board: CharucoBoard, x: np.ndarray, y: np.ndarray, front: np.ndarray,
                     background: int) -> np.ndarray:
    """Grey values of the board at board coordinates ``x, y`` (in squares from its outer
    corner); ``background`` off the board (one square of white margin around it)."""
    tex = _charuco_image(board)
    p = PX_PER_SQUARE
    u = np.floor((x + 1) * p).astype(np.int64)
    v = np.floor((y + 1) * p).astype(np.int64)
    ok = front & (u >= 0) & (v >= 0) & (u < tex.shape[1]) & (v < tex.shape[0])
    val = np.full(len(x), float(background))
    val[ok] = np.clip(tex[v[ok], u[ok]].astype(float), 20, 235)
    return val


def random_poses(n: int, board: Board | CharucoBoard, K: np.ndarray, size: tuple[int, int],
                 rng: np.random.Generator, distance: tuple[float, float] = (0.5, 0.9),
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` board poses ``(rvec, tvec)`` that keep the whole board in the image: the first
    four close to each corner of the image (tilted up to 15°), the others tilted by up to
    ~40° with their centres anywhere in the middle 80% of the image."""
    if isinstance(board, CharucoBoard):   # the same poses for its inner corners' grid
        grid = Board(board.cols - 1, board.rows - 1, board.square)
        shift = np.array([board.square, board.square, 0.0])
        return [(r, t - cv2.Rodrigues(r)[0] @ shift)
                for r, t in random_poses(n, grid, K, size, rng, distance)]
    w, h = size
    centre = np.array([(board.cols - 1) * board.square / 2, (board.rows - 1) * board.square / 2,
                       0.0])
    out: list[tuple[np.ndarray, np.ndarray]] = []
    tries = 0
    while len(out) < n:
        tries += 1
        corner = len(out) < 4 and tries < 2000   # the first four reach the image's corners
        tilt = 15 if corner else 40
        ang = np.deg2rad(rng.uniform([-tilt, -tilt, -30], [tilt, tilt, 30]))
        R, _ = cv2.Rodrigues(ang)
        z = rng.uniform(*distance)
        if corner:
            f = K[0, 0] / z
            half = np.array([(board.cols - 1) / 2, (board.rows - 1) / 2]) * board.square * f
            half = np.abs(np.array([[np.cos(ang[2]), -np.sin(ang[2])],
                                    [np.sin(ang[2]), np.cos(ang[2])]])) @ half
            near = half + 1.3 * board.square * f + rng.uniform(0, 12, 2)
            sx, sy = (len(out) % 2, len(out) // 2)
            px = np.array([w - near[0] if sx else near[0], h - near[1] if sy else near[1]])
        else:
            px = rng.uniform([0.1 * w, 0.1 * h], [0.9 * w, 0.9 * h])
        target = np.array([(px[0] - K[0, 2]) / K[0, 0] * z, (px[1] - K[1, 2]) / K[1, 1] * z, z])
        t = target - R @ centre
        corners = (board.corners.astype(np.float64) @ R.T + t)
        if (corners[:, 2] <= 0.1).any():
            continue
        uv = corners[:, :2] / corners[:, 2:] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
        pad = 1.2 * board.square * K[0, 0] / z   # the outer squares in view
        if (uv[:, 0] < pad).any() or (uv[:, 0] > w - pad).any() or (uv[:, 1] < pad).any() \
                or (uv[:, 1] > h - pad).any():
            continue
        out.append((cv2.Rodrigues(R)[0].ravel(), t))
    return out


__all__ = ["random_poses", "render_board"]
