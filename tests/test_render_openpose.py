"""ControlNet/DWPose-style pose images: colours, sizes and draw order by hand."""

from __future__ import annotations

import numpy as np

from posestack.render.openpose import COLOURS, HAND_COLOURS, draw_openpose, openpose18


def _person() -> tuple[np.ndarray, np.ndarray]:
    c = np.full((133, 2), np.nan)
    s = np.zeros(133)
    return c, s


def test_neck_is_the_shoulder_mean_and_hidden_points_drop():
    c, s = _person()
    c[5], c[6], s[5], s[6] = (100, 50), (60, 50), 0.9, 0.9
    op = openpose18(c, s)
    assert np.allclose(op[1], (80, 50)) and np.allclose(op[5], (100, 50))
    assert np.allclose(op[2], (60, 50))  # OpenPose 2 is the right shoulder (COCO 6)
    s[6] = 0.2  # below 0.3: hidden, and the neck with it
    op = openpose18(c, s)
    assert np.isnan(op[2]).all() and np.isnan(op[1]).all()


def test_body_limb_colour_darkened_and_joints_full_colour():
    c, s = _person()
    c[6], c[8], s[6], s[8] = (40, 60), (40, 140), 1.0, 1.0  # right shoulder -> right elbow
    img = draw_openpose((200, 100), c[None], s[None])
    # limb 2 (OpenPose 2-3) is drawn with colour 2, then darkened by 0.6
    limb = (np.array(COLOURS[2]) * 0.6).astype(np.uint8)
    assert np.array_equal(img[100, 40], limb)
    assert np.array_equal(img[100, 43], limb) and np.array_equal(img[100, 46], [0, 0, 0])
    # joints: full-colour discs of radius 4 (OpenPose 2 and 3)
    assert np.array_equal(img[60, 40], COLOURS[2]) and np.array_equal(img[140, 40], COLOURS[3])
    assert np.array_equal(img[60, 43], COLOURS[2])
    assert img.dtype == np.uint8 and img.shape == (200, 100, 3)
    assert np.array_equal(img[10, 90], [0, 0, 0])  # black canvas


def test_hands_and_face():
    c, s = _person()
    c[91], c[92], s[91], s[92] = (20, 20), (20, 80), 1.0, 1.0  # left hand root -> thumb1
    c[23 + 30], s[23 + 30] = (70, 70), 1.0  # one face point
    img = draw_openpose((100, 100), c[None], s[None])
    edge = np.rint(HAND_COLOURS[0]).astype(int)
    assert np.abs(img[50, 20].astype(int) - edge).max() <= 1  # 2 px line, edge colour 0
    assert np.array_equal(img[20, 20], [0, 0, 255])  # hand points: blue, radius 4
    assert np.array_equal(img[70, 70], [255, 255, 255])  # face: white dot radius 3
    assert np.array_equal(img[70, 73], [255, 255, 255])
    assert np.array_equal(img[70, 75], [0, 0, 0])
    assert np.array_equal(img[0, 99], [0, 0, 0])


def test_feet_are_not_drawn():
    c, s = _person()
    c[17:23], s[17:23] = (50, 50), 1.0
    assert draw_openpose((100, 100), c[None], s[None]).max() == 0
