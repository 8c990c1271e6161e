"""Tests for posestack.multiview.triangulate: dlt, reproject, subset_masks and triangulate.

Synthetic rigs (P = K·[R | t], cameras on a circle around a 2 m capture volume) with known 3D
points: exact recovery without noise, agreement with OpenCV's ``triangulatePoints`` and
``projectPoints``, the effect of weights, outlier rejection, and agreement of the vectorised
view selection with a naive per-point loop implementing Pose2Sim's rule.
"""

from __future__ import annotations

import itertools
import warnings

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posestack.errors import InputError
from posestack.multiview import triangulate as tri_mod
from posestack.multiview.triangulate import (
    Triangulation,
    dlt,
    reproject,
    subset_masks,
    triangulate,
)

# --------------------------------------------------------------------------- synthetic rigs


def look_at(centre: np.ndarray, target: np.ndarray, f: float = 1000.0) -> np.ndarray:
    """P = K·[R | t] of a 1920x1080 camera at ``centre`` looking at ``target`` (z up)."""
    z = target - centre
    z = z / np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    t = -R @ centre
    K = np.array([[f, 0.0, 960.0], [0.0, f, 540.0], [0.0, 0.0, 1.0]])
    return K @ np.hstack([R, t[:, None]])


def rig(C: int = 4, radius: float = 4.0) -> np.ndarray:
    """(C, 3, 4): cameras evenly spread on a circle, 1.5–2.3 m high, aimed at (0, 0, 1)."""
    angles = np.linspace(0.0, 2 * np.pi, C, endpoint=False) + 0.3
    return np.stack([
        look_at(np.array([radius * np.cos(a), radius * np.sin(a), 1.5 + 0.2 * (i % 5)]),
                np.array([0.0, 0.0, 1.0]))
        for i, a in enumerate(angles)
    ])


def points(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform([-1.0, -1.0, 0.0], [1.0, 1.0, 2.0], size=(n, 3))


def project_naive(X: np.ndarray, P: np.ndarray) -> np.ndarray:
    """(n, 3), (C, 3, 4) -> (C, n, 2) by explicit homogeneous multiplication."""
    h = np.einsum("cij,nj->cni", P, np.hstack([X, np.ones((len(X), 1))]))
    return h[..., :2] / h[..., 2:]


# --------------------------------------------------------------------------- naive reference


def naive_dlt(xy: np.ndarray, w: np.ndarray, P: np.ndarray) -> np.ndarray:
    """One point, Pose2Sim's ``weighted_triangulation``: SVD of the stacked weighted rows."""
    rows = []
    for (x, y), wc, Pc in zip(xy, w, P, strict=True):
        rows.append(wc * (x * Pc[2] - Pc[0]))
        rows.append(wc * (y * Pc[2] - Pc[1]))
    q = np.linalg.svd(np.array(rows))[2][-1]
    return q[:3] / q[3]


def naive_triangulate(xy, scores, P, *, min_score=0.3, min_views=2, max_error=15.0,
                      weighted=True):
    """Per-point loop: Pose2Sim's camera exclusion, as specified for ``triangulate``."""
    C, n = scores.shape
    out_X = np.full((n, 3), np.nan)
    out_err = np.full(n, np.nan)
    out_used = np.zeros((C, n), dtype=bool)
    for i in range(n):
        valid = [c for c in range(C)
                 if np.isfinite(xy[c, i]).all() and np.isfinite(scores[c, i])
                 and scores[c, i] >= min_score and (scores[c, i] > 0 or not weighted)]
        for size in range(len(valid), min_views - 1, -1):
            best = (np.inf, None, None)
            for combo in itertools.combinations(valid, size):
                cams = list(combo)
                w = scores[cams, i] if weighted else np.ones(size)
                X = naive_dlt(xy[cams, i], w, P[cams])
                errs = []
                for c in cams:
                    h = P[c] @ np.append(X, 1.0)
                    errs.append(np.hypot(h[0] / h[2] - xy[c, i, 0], h[1] / h[2] - xy[c, i, 1]))
                err = float(np.mean(errs))
                if err < best[0]:
                    best = (err, X, cams)
            if best[0] <= max_error:
                out_err[i], out_X[i] = best[0], best[1]
                out_used[best[2], i] = True
                break
    return out_X, out_err, out_used


# --------------------------------------------------------------------------- subset_masks


def test_subset_masks_order_and_count():
    m = subset_masks(4, 2)
    assert m.shape == (11, 4) and m.dtype == bool
    assert m[0].all()
    sizes = m.sum(1)
    assert (np.diff(sizes) <= 0).all() and sizes.min() == 2
    assert len({tuple(r) for r in m}) == 11
    assert m[1].tolist() == [True, True, True, False]           # combinations order
    assert subset_masks(5, 3).shape == (16, 5)                   # 1 + 5 + 10
    assert subset_masks(1, 2).shape == (0, 1)


@pytest.mark.parametrize("args", [(-1, 2), (21, 2), (2.5, 2), (4, 0)])
def test_subset_masks_bad_input(args):
    with pytest.raises(InputError, match="must be an integer"):
        subset_masks(*args)


# --------------------------------------------------------------------------- reproject


def test_reproject_matches_opencv_project_points():
    X = points(50)
    f, cx, cy = 800.0, 640.0, 360.0
    K = np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])
    rvecs = [np.array([0.1, -0.2, 0.05]), np.array([-0.3, 0.4, 0.2])]
    tvecs = [np.array([0.1, -0.2, 5.0]), np.array([-0.5, 0.3, 6.0])]
    P = np.stack([K @ np.hstack([cv2.Rodrigues(r)[0], t[:, None]])
                  for r, t in zip(rvecs, tvecs, strict=True)])
    uv = reproject(X, P)
    assert uv.shape == (2, 50, 2)
    for c in range(2):
        ref = cv2.projectPoints(X, rvecs[c], tvecs[c], K, None)[0][:, 0]
        np.testing.assert_allclose(uv[c], ref, atol=1e-9)


def test_reproject_shapes_and_nan():
    P = rig(3)
    X = points(12).reshape(3, 4, 3)
    X[1, 2] = np.nan
    uv = reproject(X, P)
    assert uv.shape == (3, 3, 4, 2)
    assert np.isnan(uv[:, 1, 2]).all() and np.isfinite(uv[:, 0]).all()
    np.testing.assert_allclose(reproject(X[0, 0], P), project_naive(X[0, :1], P)[:, 0])


# --------------------------------------------------------------------------- dlt


def test_dlt_exact_recovery_without_noise():
    P = rig(4)
    X = points(1000)
    w = np.random.default_rng(1).uniform(0.1, 1.0, (4, 1000))
    np.testing.assert_allclose(dlt(project_naive(X, P), w, P), X, atol=1e-9)


def test_dlt_two_views_matches_opencv():
    P = rig(4)[[0, 1]]
    X = points(2000, seed=2)
    xy = project_naive(X, P) + np.random.default_rng(3).normal(0.0, 1.0, (2, 2000, 2))
    ours = dlt(xy, np.ones((2, 2000)), P)
    h = cv2.triangulatePoints(P[0], P[1], xy[0].T.copy(), xy[1].T.copy())
    ref = (h[:3] / h[3]).T
    rms_ours = np.sqrt(np.mean(np.sum((ours - X) ** 2, axis=1)))
    rms_cv = np.sqrt(np.mean(np.sum((ref - X) ** 2, axis=1)))
    assert rms_ours <= 1.001 * rms_cv
    # Same algebraic objective: the same points, up to rounding.
    np.testing.assert_allclose(ours, ref, atol=1e-7)


def test_dlt_weights_matter():
    P = rig(4)
    X = points(500, seed=4)
    rng = np.random.default_rng(5)
    xy = project_naive(X, P) + rng.normal(0.0, 0.3, (4, 500, 2))
    xy[0] += rng.normal(0.0, 30.0, (500, 2))                 # one very noisy view
    w = np.ones((4, 500))
    equal = np.linalg.norm(dlt(xy, w, P) - X, axis=1).mean()
    w[0] = 0.01
    low = np.linalg.norm(dlt(xy, w, P) - X, axis=1).mean()
    w[0] = 0.0
    without = np.linalg.norm(dlt(xy, w, P) - X, axis=1).mean()
    assert low < equal / 10
    assert low < 1.2 * without


def test_dlt_fewer_than_two_views_is_nan_and_nonfinite_views_ignored():
    P = rig(3)
    X = points(4, seed=6)
    xy = project_naive(X, P)
    w = np.ones((3, 4))
    w[1:, 0] = 0.0                      # point 0: one view
    w[:, 1] = 0.0                       # point 1: none
    xy[2, 2] = np.nan                   # point 2: two finite views left
    w[0, 3] = np.nan                    # point 3: NaN weight ignored
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = dlt(xy, w, P)
    assert np.isnan(out[:2]).all()
    np.testing.assert_allclose(out[2:], X[2:], atol=1e-9)


def test_dlt_leading_dims_and_projective_scale_of_P():
    P = rig(4)
    X = points(6 * 5, seed=7)
    xy = project_naive(X, P) + np.random.default_rng(8).normal(0, 1.0, (4, 30, 2))
    w = np.random.default_rng(9).uniform(0.3, 1, (4, 30))
    flat = dlt(xy, w, P)
    out = dlt(xy.reshape(4, 6, 5, 2), w.reshape(4, 6, 5), P)
    assert out.shape == (6, 5, 3)
    np.testing.assert_allclose(out.reshape(30, 3), flat, atol=1e-12)
    scaled = P * np.array([2.0, -0.5, 1e3, 1e-3])[:, None, None]
    np.testing.assert_allclose(dlt(xy, w, scaled), flat, atol=1e-10)
    # And equals the per-point SVD of Pose2Sim's rows.
    ref = np.stack([naive_dlt(xy[:, i], w[:, i], P) for i in range(30)])
    np.testing.assert_allclose(flat, ref, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(st.floats(-1.0, 1.0), st.floats(-1.0, 1.0), st.floats(0.0, 2.0),
       st.lists(st.floats(0.05, 10.0), min_size=5, max_size=5))
def test_dlt_recovers_any_point_with_any_weights(x, y, z, ws):
    P = rig(5)
    X = np.array([[x, y, z]])
    out = dlt(project_naive(X, P), np.array(ws)[:, None], P)
    np.testing.assert_allclose(out, X, atol=1e-9)


def test_dlt_bad_input():
    P = rig(3)
    xy = np.zeros((3, 5, 2))
    with pytest.raises(InputError, match=r"\(C, 3, 4\)"):
        dlt(xy, np.ones((3, 5)), P[:, :, :3])
    with pytest.raises(InputError, match="P has 2"):
        dlt(xy, np.ones((3, 5)), P[:2])
    with pytest.raises(InputError, match="weights must have shape"):
        dlt(xy, np.ones((3, 4)), P)
    with pytest.raises(InputError, match=">= 0"):
        dlt(xy, -np.ones((3, 5)), P)
    with pytest.raises(InputError, match=r"\(C, \.\.\., 2\)"):
        dlt(np.zeros((3, 5, 3)), np.ones((3, 5)), P)
    bad = P.copy()
    bad[1, 2, :3] = 0
    with pytest.raises(InputError, match="cameras \\[1\\]"):
        dlt(xy, np.ones((3, 5)), bad)


# --------------------------------------------------------------------------- triangulate


def noisy_views(C: int, n: int, noise: float = 0.5, seed: int = 10):
    P = rig(C)
    X = points(n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    xy = project_naive(X, P) + rng.normal(0.0, noise, (C, n, 2))
    scores = rng.uniform(0.5, 1.0, (C, n))
    return P, X, xy, scores


def test_triangulate_clean_uses_all_views():
    P, X, xy, scores = noisy_views(4, 300, noise=0.0)
    res = triangulate(xy, scores, P)
    assert isinstance(res, Triangulation)
    np.testing.assert_allclose(res.points, X, atol=1e-9)
    assert (res.n_views == 4).all() and res.used.all()
    assert res.error.max() < 1e-6
    assert res.n_views.dtype.kind == "i" and res.used.dtype == bool


def test_triangulate_rejects_one_corrupted_view():
    P, X, xy, scores = noisy_views(4, 400)
    bad = np.zeros(400, dtype=bool)
    bad[::3] = True
    cam = np.random.default_rng(12).integers(0, 4, 400)
    direction = np.random.default_rng(13).normal(size=(400, 2))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    xy[cam[bad], np.flatnonzero(bad)] += 200.0 * direction[bad]
    res = triangulate(xy, scores, P)
    assert (res.n_views[bad] == 3).all() and (res.n_views[~bad] == 4).all()
    assert not res.used[cam[bad], np.flatnonzero(bad)].any()
    assert res.error.max() < 2.0
    assert np.linalg.norm(res.points - X, axis=1).max() < 0.01


def test_triangulate_rejects_two_bad_views_of_five():
    P, X, xy, scores = noisy_views(5, 200, seed=20)
    xy[1] += np.array([180.0, -120.0])
    xy[3] += np.array([-150.0, -200.0])
    res = triangulate(xy, scores, P)
    assert (res.n_views == 3).all()
    assert not res.used[[1, 3]].any() and res.used[[0, 2, 4]].all()
    assert res.error.max() < 2.0
    assert np.linalg.norm(res.points - X, axis=1).max() < 0.01


def test_triangulate_min_views_and_max_error():
    P, _, xy, scores = noisy_views(4, 3, seed=30)
    scores[2:, 0] = 0.0          # point 0: 2 valid views
    scores[3:, 1] = 0.0          # point 1: 3 valid views
    res = triangulate(xy, scores, P, min_views=3)
    assert np.isnan(res.points[0]).all() and res.n_views[0] == 0 and not res.used[:, 0].any()
    assert np.isnan(res.error[0])
    assert res.n_views.tolist() == [0, 3, 4]
    res2 = triangulate(xy, scores, P, min_views=2)
    assert res2.n_views.tolist() == [2, 3, 4]
    # Nothing is within a 1e-6 px budget with 0.5 px noise.
    res3 = triangulate(xy, scores, P, max_error=1e-6)
    assert np.isnan(res3.points).all() and (res3.n_views == 0).all()
    # Every view is kept with an infinite budget, even a wild one.
    xy[0, 2] += 500.0
    res4 = triangulate(xy, scores, P, max_error=np.inf)
    assert res4.n_views[2] == 4 and res4.error[2] > 15.0


def test_triangulate_all_nan_input_no_warnings():
    P = rig(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = triangulate(np.full((4, 7, 3, 2), np.nan), np.full((4, 7, 3), np.nan), P)
        res2 = triangulate(np.zeros((4, 5, 2)), np.zeros((4, 5)), P)
    assert res.points.shape == (7, 3, 3) and np.isnan(res.points).all()
    assert np.isnan(res.error).all() and (res.n_views == 0).all() and not res.used.any()
    assert np.isnan(res2.points).all() and (res2.n_views == 0).all()


def test_triangulate_degenerate_rig_does_not_crash():
    P = np.stack([rig(1)[0]] * 3)                        # three identical cameras
    xy = np.broadcast_to(np.array([960.0, 540.0]), (3, 4, 2)).copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = triangulate(xy, np.ones((3, 4)), P)
    assert res.points.shape == (4, 3)
    assert ((res.n_views == 0) | (res.n_views >= 2)).all()


def test_absurd_pixels_give_nan_not_an_exception():
    P = rig(3)
    xy = np.full((3, 4, 2), 1e200)
    xy[:, 1] = project_naive(points(1, seed=80), P)[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = triangulate(xy, np.ones((3, 4)), P, max_error=np.inf)
        out = dlt(xy, np.ones((3, 4)), P)
    assert np.isnan(res.points[[0, 2, 3]]).all() and (res.n_views[[0, 2, 3]] == 0).all()
    assert res.n_views[1] == 3 and np.isnan(out[[0, 2, 3]]).all() and np.isfinite(out[1]).all()


def test_triangulate_ignores_low_scores():
    P, _, xy, scores = noisy_views(4, 100, seed=40)
    ref = triangulate(xy[:3], scores[:3], P[:3])
    xy[3] += 400.0                                       # garbage, but below min_score
    scores[3] = 0.29
    res = triangulate(xy, scores, P, min_score=0.3)
    assert not res.used[3].any() and (res.n_views == 3).all()
    np.testing.assert_allclose(res.points, ref.points, atol=1e-12)
    np.testing.assert_allclose(res.error, ref.error, atol=1e-12)
    # With a lower threshold the view is valid and then excluded for its error instead.
    res_low = triangulate(xy, scores, P, min_score=0.2)
    assert not res_low.used[3].any()


def test_triangulate_weighted_flag():
    P, _, xy, scores = noisy_views(4, 200, noise=1.0, seed=50)
    w = triangulate(xy, scores, P, weighted=True)
    u = triangulate(xy, scores, P, weighted=False)
    np.testing.assert_allclose(u.points, dlt(xy, np.ones_like(scores), P), atol=1e-12)
    np.testing.assert_allclose(w.points, dlt(xy, scores, P), atol=1e-12)
    assert np.abs(w.points - u.points).max() > 1e-6


@pytest.mark.parametrize("lead", [(200,), (10, 20), (2, 5, 20)])
def test_triangulate_leading_dims(lead):
    P, _, xy, scores = noisy_views(4, 200, seed=60)
    xy[2, ::7] += 300.0
    flat = triangulate(xy, scores, P)
    res = triangulate(xy.reshape(4, *lead, 2), scores.reshape(4, *lead), P)
    assert res.points.shape == (*lead, 3)
    assert res.error.shape == res.n_views.shape == lead
    assert res.used.shape == (4, *lead)
    np.testing.assert_array_equal(res.points.reshape(200, 3), flat.points)
    np.testing.assert_array_equal(res.used.reshape(4, 200), flat.used)


def test_triangulate_empty():
    P = rig(4)
    res = triangulate(np.zeros((4, 0, 17, 2)), np.zeros((4, 0, 17)), P)
    assert res.points.shape == (0, 17, 3) and res.used.shape == (4, 0, 17)
    assert dlt(np.zeros((4, 0, 2)), np.zeros((4, 0)), P).shape == (0, 3)


def test_triangulate_chunking_does_not_change_results(monkeypatch):
    P, _, xy, scores = noisy_views(5, 500, seed=70)
    xy[np.random.default_rng(71).random((5, 500)) < 0.2] += 250.0
    whole = triangulate(xy, scores, P)
    monkeypatch.setattr(tri_mod, "CHUNK", 37)
    chunked = triangulate(xy, scores, P)
    np.testing.assert_array_equal(whole.used, chunked.used)
    np.testing.assert_allclose(whole.points, chunked.points, atol=1e-12)
    np.testing.assert_allclose(whole.error, chunked.error, atol=1e-12)
    monkeypatch.setattr(tri_mod, "CHUNK", 32768)
    whole_dlt = dlt(xy, scores, P)
    monkeypatch.setattr(tri_mod, "CHUNK", 3)
    np.testing.assert_allclose(dlt(xy, scores, P), whole_dlt, atol=1e-12)


def random_problem(C: int, n: int, seed: int):
    """Noise, random outliers (50–300 px), low scores and missing detections."""
    P = rig(C)
    X = points(n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    xy = project_naive(X, P) + rng.normal(0.0, 1.0, (C, n, 2))
    out = rng.random((C, n)) < 0.2
    xy[out] += rng.uniform(50, 300, (out.sum(), 1)) * rng.normal(size=(out.sum(), 2))
    scores = rng.uniform(0.0, 1.0, (C, n))
    scores[rng.random((C, n)) < 0.1] = np.nan
    xy[rng.random((C, n)) < 0.05] = np.nan
    return xy, scores, P


@pytest.mark.parametrize(("C", "kwargs"), [
    (4, {}),
    (5, {}),
    (5, {"weighted": False}),
    (6, {"min_views": 3, "max_error": 8.0, "min_score": 0.2}),
])
def test_triangulate_agrees_with_naive_pose2sim_rule(C, kwargs):
    xy, scores, P = random_problem(C, 200, seed=100 + C)
    res = triangulate(xy, scores, P, **kwargs)
    X_ref, err_ref, used_ref = naive_triangulate(xy, scores, P, **kwargs)
    np.testing.assert_array_equal(res.used, used_ref)
    np.testing.assert_array_equal(res.n_views, used_ref.sum(0))
    np.testing.assert_allclose(res.points, X_ref, atol=1e-9, rtol=0)
    np.testing.assert_allclose(res.error, err_ref, atol=1e-9, rtol=0)
    # The test is not vacuous: some points lose views, some are rejected.
    counts = np.bincount(res.n_views, minlength=C + 1)
    assert counts[C] > 0 and counts[0] > 0 and counts[1:C].sum() > 0


def test_triangulate_bad_input():
    P = rig(3)
    xy, s = np.zeros((3, 5, 2)), np.ones((3, 5))
    with pytest.raises(InputError, match="min_views must be an integer >= 2"):
        triangulate(xy, s, P, min_views=1)
    with pytest.raises(InputError, match="max_error must be >= 0"):
        triangulate(xy, s, P, max_error=-1.0)
    with pytest.raises(InputError, match="max_error must be >= 0"):
        triangulate(xy, s, P, max_error=np.nan)
    with pytest.raises(InputError, match="min_score"):
        triangulate(xy, s, P, min_score=np.nan)
    with pytest.raises(InputError, match="scores must have shape"):
        triangulate(xy, s[:, :4], P)
    with pytest.raises(InputError, match="P has 3"):
        triangulate(np.zeros((4, 5, 2)), np.ones((4, 5)), P)
