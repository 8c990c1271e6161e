"""The keypoint metrics on hand-computed cases (posestack.evaluate.metrics)."""

from __future__ import annotations

import numpy as np
import pytest

from posestack.errors import InputError
from posestack.evaluate import similarity_transform
from posestack.evaluate.metrics import (
    align,
    auc3d,
    joint_errors,
    mpjpe,
    pck2d,
    pck3d,
    per_joint,
)

RNG = np.random.default_rng(7)


def _rot(axis: np.ndarray, angle: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(axis / np.linalg.norm(axis) * angle).as_matrix()


def test_hand_computed_errors_and_alignments():
    gt = np.array([[[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]]])
    # a shift of 1 along x: MPJPE 1, nothing after root alignment
    assert mpjpe(gt + np.array([1.0, 0, 0]), gt) == pytest.approx(1.0)
    assert mpjpe(gt + np.array([1.0, 0, 0]), gt, "root", root=0) == pytest.approx(0.0)
    # twice the size about joint 0: MPJPE = mean(0, 1, 2, 3) = 1.5; N-MPJPE removes it
    assert mpjpe(2 * gt, gt) == pytest.approx(1.5)
    assert mpjpe(2 * gt, gt, "scale") == pytest.approx(0.0, abs=1e-12)
    # rotated, scaled and moved: only Procrustes removes all of it
    moved = 0.5 * gt @ _rot(np.array([1.0, 2, 3]), 0.7).T + [3, -1, 2]
    assert mpjpe(moved, gt, "scale") > 0.1
    assert mpjpe(moved, gt, "procrustes") == pytest.approx(0.0, abs=1e-9)


def test_a_mirror_image_is_not_aligned_away():
    """PA-MPJPE refuses reflections: the mirrored pose keeps an error, the one the public
    similarity_transform (det R = +1) gives."""
    gt = RNG.normal(size=(1, 12, 3))
    mirrored = gt * [-1, 1, 1]
    pa = mpjpe(mirrored, gt, "procrustes")
    s, r, t = similarity_transform(mirrored[0], gt[0])
    ref = np.linalg.norm(s * mirrored[0] @ r.T + t - gt[0], axis=1).mean()
    assert pa == pytest.approx(ref, rel=1e-9) and pa > 0.3


def test_procrustes_per_frame_matches_the_one_helper():
    gt = RNG.normal(size=(50, 17, 3))
    pred = np.einsum("ij,fkj->fki", _rot(np.array([0.2, 1, 0]), 0.4), gt) * 1.1 + \
        RNG.normal(scale=0.05, size=gt.shape)
    pred[3, 5] = np.nan  # a missing joint
    got = joint_errors(pred, gt, "procrustes")
    for f in (0, 3, 49):
        s, r, t = similarity_transform(pred[f], gt[f])
        want = np.linalg.norm(s * pred[f] @ r.T + t - gt[f], axis=1)
        np.testing.assert_allclose(got[f], want, rtol=1e-9, atol=1e-12)
    assert np.isnan(got[3, 5]) and np.isfinite(got[3, np.r_[0:5, 6:17]]).all()


def test_missing_joints_count_neither_way():
    gt = np.zeros((2, 3, 3))
    pred = gt.copy()
    pred[:, 0] = [3.0, 4, 0]  # error 5 at joint 0
    pred[1, 1] = np.nan       # missing in the prediction
    gt[0, 2] = np.nan         # missing in the reference
    assert mpjpe(pred, gt) == pytest.approx((5 + 0 + 5 + 0) / 4)  # two joints per frame
    np.testing.assert_allclose(per_joint(pred, gt), [5.0, 0.0, 0.0])
    assert np.isnan(mpjpe(np.full((1, 3, 3), np.nan), gt[:1]))


def test_pck_and_auc_by_hand():
    gt = np.zeros((1, 3, 3))
    pred = np.array([[[0.0, 0, 0], [100, 0, 0], [0, 200, 0]]])  # mm: 0, 100, 200
    assert pck3d(pred, gt) == pytest.approx(2 / 3)
    assert pck3d(pred / 1000, gt, threshold=0.15) == pytest.approx(2 / 3)
    # thresholds 0..95 (20 of them) hold 1 joint in 3, 100..150 (11) hold 2
    assert auc3d(pred, gt) == pytest.approx((20 / 3 + 22 / 3) / 31)
    assert auc3d(pred / 1000, gt, unit=1000) == pytest.approx((20 / 3 + 22 / 3) / 31)


def test_pck2d_by_box_and_by_head():
    gt = np.array([[[0.0, 0], [0, 10], [100, 200]]])  # box 100 x 200: size 200
    pred = gt + np.array([[[0.0, 0], [0, 6], [30, 0]]])
    assert pck2d(pred, gt, alpha=0.1) == pytest.approx(2 / 3)   # within 20 px
    assert pck2d(pred, gt, alpha=0.5, head=(0, 1)) == pytest.approx(1 / 3)  # within 5 px
    with pytest.raises(InputError, match="one value per pose"):
        pck2d(pred, gt, size=np.ones(3))


def test_bad_shapes_and_options():
    with pytest.raises(InputError, match="same shape"):
        mpjpe(np.zeros((2, 17, 3)), np.zeros((2, 16, 3)))
    with pytest.raises(InputError, match="alignment must be one of"):
        align(np.zeros((1, 4, 3)), np.zeros((1, 4, 3)), "affine")
    with pytest.raises(InputError, match="root 20 is not a joint"):
        mpjpe(np.zeros((1, 4, 3)), np.zeros((1, 4, 3)), "root", root=20)


def test_the_scale_uses_only_joints_present_in_both():
    gt = np.array([[[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [5, 5, 5]]])
    pred = 2 * gt
    gt[0, 4] = np.nan  # a joint the reference lacks must not pull the scale
    assert mpjpe(pred, gt, "scale", root=0) == pytest.approx(0.0, abs=1e-12)
