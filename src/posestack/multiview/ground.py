"""One camera's 3D placed in the world: the lowest foot point stands on the floor.

BlazePose's world landmarks (and any root-relative 3D) say how a person is posed but
not where they are. With the camera calibrated to the world (Z up, the floor at
``z = floor``), :func:`place_on_floor` turns each pose into the world's axes by the
camera's rotation, finds its lowest foot point, casts the ray through that point's
pixel, and moves the pose so that the point sits where the ray meets the plane
``z = floor + contact``: XNect's "global" 3D from one view, with the floor as prior.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import InputError

FOOT = ("left_heel", "right_heel", "left_foot_index", "right_foot_index", "left_big_toe",
        "right_big_toe", "left_ankle", "right_ankle")


def pixel_rays(camera, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The camera centre ``(3,)`` and unit ray directions ``(N, 3)`` in the world through
    pixels ``xy`` ``(N, 2)`` (distortion removed)."""
    pts = np.asarray(xy, np.float64).reshape(-1, 1, 2)
    if camera.fisheye:
        und = cv2.fisheye.undistortPoints(pts, camera.K, camera.dist[:4])
    else:
        und = cv2.undistortPoints(pts, camera.K, camera.dist)
    d_cam = np.concatenate([und.reshape(-1, 2), np.ones((len(pts), 1))], axis=1)
    d = d_cam @ camera.R  # R^T d for each row
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return -camera.R.T @ camera.t, d


def place_on_floor(body: np.ndarray, xy: np.ndarray, names: tuple[str, ...], camera,
                   floor: float = 0.0, contact: float = 0.05) -> np.ndarray:
    """Root-relative 3D in the camera's axes, placed in a Z-up world.

    Args:
        body: ``(T, K, 3)`` metres in the camera's axes (x right, y down, z forward),
            any origin (BlazePose: the mid-hip); NaN where missing.
        xy: ``(T, K, 2)`` the same keypoints in the image, pixels.
        names: the K keypoint names (the foot points of :data:`FOOT` are used).
        camera: a :class:`posestack.multiview.calibration.Camera` (world Z up).
        floor: the floor's height in the world, metres.
        contact: the height of the lowest foot point above the floor, metres.

    Returns:
        ``(T, K, 3)`` world metres; NaN for frames with no foot point seen in both or a
        ray that does not come down to the floor.

    Raises:
        InputError: no foot keypoint among ``names``, or shapes that differ.
    """
    body = np.asarray(body, np.float64)
    xy = np.asarray(xy, np.float64)
    if body.shape[:2] != xy.shape[:2] or body.shape[-1] != 3 or xy.shape[-1] != 2:
        raise InputError(f"body (T, K, 3) and xy (T, K, 2) must match; got {body.shape} "
                         f"and {xy.shape}")
    feet = [i for i, n in enumerate(names) if n in FOOT]
    if not feet:
        raise InputError("no foot keypoint (heels, toes, ankles) to stand on the floor")
    world = body @ camera.R  # into the world's axes (R^T b)
    out = np.full_like(world, np.nan)
    fz = np.where(np.isfinite(xy[:, feet]).all(-1), world[:, feet, 2], np.nan)
    have = np.isfinite(fz).any(1)
    if not have.any():
        return out
    low = np.array(feet)[np.nanargmin(np.where(have[:, None], fz, 0.0), axis=1)]
    t_idx = np.nonzero(have)[0]
    centre, rays = pixel_rays(camera, xy[t_idx, low[t_idx]])
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (floor + contact - centre[2]) / rays[:, 2]
    ok = np.isfinite(s) & (s > 0)
    hit = centre + s[:, None] * rays
    shift = hit - world[t_idx, low[t_idx]]
    out[t_idx[ok]] = world[t_idx[ok]] + shift[ok][:, None]
    return out
