"""Labelled synthetic motions (issue 15, item 6, the generator): each class moves as named,
visible in its posecodes; 2D projections are inside the image with noise and gaps."""

from __future__ import annotations

import numpy as np
import pytest

from posestack.actions.layouts import to_model_layout
from posestack.actions.synthetic import CLASSES, make_motion
from posestack.describe import compute_codes


def _codes(label: str, seed: int = 0):
    m = make_motion(label, np.random.default_rng(seed), frames=90)
    return m, compute_codes(m.poses3d)


def _cats(codes, name):
    return [codes.at(t).get(name, ("",))[0] for t in range(codes.values.shape[0])]


@pytest.mark.parametrize("label, code, expect", [
    ("jumping_jack", "arms_pose", {"arms_raised"}),
    ("squat", "left_knee.bend", {"deeply_bent", "right_angle"}),
    ("lunge", "posture", {"lunging"}),
    ("wave_left_hand", "left_hand.height_vs_head", {"above", "level", "slightly_above"}),
    ("wave_right_hand", "right_hand.height_vs_head", {"above", "level", "slightly_above"}),
    ("bow", "trunk.lean", {"forward"}),
    ("walk_in_place", "left_knee.bend", {"bent"}),
    ("arm_circles", "arms_pose", {"t_pose"}),
])
def test_each_class_moves_as_named(label, code, expect):
    _, codes = _codes(label)
    assert expect & set(_cats(codes, code)), (label, code, set(_cats(codes, code)))


def test_waves_are_one_sided_and_clips_differ_by_seed():
    _, left = _codes("wave_left_hand")
    assert "above" not in _cats(left, "right_hand.height_vs_head")
    a, _ = _codes("squat", 1)
    b, _ = _codes("squat", 1)
    c, _ = _codes("squat", 2)
    assert np.array_equal(a.poses3d.coords, b.poses3d.coords, equal_nan=True)
    assert not np.allclose(a.poses3d.coords, c.poses3d.coords, equal_nan=True)


def test_2d_projection_and_model_layout():
    m = make_motion("jumping_jack", np.random.default_rng(3), frames=60, drop=0.1)
    uv, sc = m.poses2d.coords, m.poses2d.scores
    missing = sc == 0
    assert 0.05 < missing.mean() < 0.15
    assert np.isnan(uv[missing]).all() and np.isfinite(uv[~missing]).all()
    w, h = m.camera["size"]
    inside = (uv[..., 0] >= 0) & (uv[..., 0] < w) & (uv[..., 1] >= 0) & (uv[..., 1] < h)
    assert inside[~missing].mean() > 0.95
    kp, score = to_model_layout(m.poses2d, "coco")
    assert kp.shape == (1, 60, 17, 2) and score.shape == (1, 60, 17)
    kp3, _ = to_model_layout(m.poses3d, "ntu25")
    assert kp3.shape == (1, 60, 25, 3)
    assert set(CLASSES) >= {"walk_in_place", "squat", "jumping_jack", "wave_left_hand",
                            "wave_right_hand", "arm_circles", "lunge", "bow"}
