"""One camera's 3D placed in the world by the floor: known truth from a synthetic view."""

from __future__ import annotations

import numpy as np
import pytest

from posestack.errors import InputError
from posestack.multiview.ground import place_on_floor

from .multiview_scenes import look_at

NAMES = ("nose", "left_hip", "right_hip", "left_ankle", "right_ankle", "left_heel",
         "right_heel")


def test_a_pose_seen_by_one_camera_is_put_back_where_it_stood():
    K = np.array([[1000.0, 0, 960], [0, 1000, 540], [0, 0, 1]])
    cam = look_at("c", [4.0, -3.0, 1.5], [0.0, 0.0, 1.0], K, [0.05, -0.02, 0, 0, 0],
                  (1920, 1080))
    # a person walking across the floor; the lower heel 5 cm above it
    t = np.linspace(0, 1, 12)[:, None]
    base = np.array([[0.0, 0, 1.7], [0.1, 0, 1.0], [-0.1, 0, 1.0], [0.1, 0.05, 0.12],
                     [-0.1, -0.1, 0.15], [0.1, 0.0, 0.05], [-0.1, -0.15, 0.08]])
    world = base[None] + np.stack([t[:, 0] * 1.5, t[:, 0] * 0.5, 0 * t[:, 0]], -1)[:, None]
    import cv2

    xy = np.stack([cv2.projectPoints(w, cv2.Rodrigues(cam.R)[0], cam.t, cam.K, cam.dist)[0]
                   .reshape(-1, 2) for w in world])
    # what a monocular model gives: the pose in the camera's axes, hip-centred
    hips = world[:, 1:3].mean(1, keepdims=True)
    body = (world - hips) @ cam.R.T
    placed = place_on_floor(body, xy, NAMES, cam, floor=0.0, contact=0.05)
    np.testing.assert_allclose(placed, world, atol=1e-6)
    # a frame without feet in the image cannot be placed
    xy[3, 3:] = np.nan
    assert np.isnan(place_on_floor(body, xy, NAMES, cam)[3]).all()
    with pytest.raises(InputError, match="no foot keypoint"):
        place_on_floor(body[:, :3], xy[:, :3], NAMES[:3], cam)
