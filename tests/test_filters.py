"""Tests for posestack.filters: one_euro, butterworth, fill_gaps and filter_poses.

Synthetic signals with known answers: Butterworth frequency response, exact
interpolation of lines and cubics, one-euro steady-state lag, agreement with
reference implementations (``OneEuro`` class, plain ``sosfiltfilt``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import signal

from posestack.errors import InputError
from posestack.filters import OneEuro, butterworth, fill_gaps, filter_poses, one_euro
from posestack.poses import Poses
from posestack.skeletons import COCO17

FS = 100.0


def sine(freq: float, seconds: float = 20.0, fs: float = FS) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(int(seconds * fs)) / fs
    return t, np.sin(2 * np.pi * freq * t)


def fit_sine(t: np.ndarray, y: np.ndarray, freq: float) -> tuple[float, float]:
    """Amplitude and phase (radians) of the ``freq`` component, by least squares."""
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    (a, b), *_ = np.linalg.lstsq(basis, y, rcond=None)
    return math.hypot(a, b), math.atan2(b, a)


def zero_phase_gain(freq: float, cutoff: float, order: int, fs: float = FS) -> float:
    """|H|² of a digital Butterworth of order ``order/2`` (bilinear, pre-warped)."""
    ratio = math.tan(math.pi * freq / fs) / math.tan(math.pi * cutoff / fs)
    return 1.0 / (1.0 + ratio ** (2 * (order // 2)))


def middle(a: np.ndarray) -> slice:
    n = len(a)
    return slice(n // 4, 3 * n // 4)


# -- butterworth: frequency response ---------------------------------------------------


@pytest.mark.parametrize("order", [2, 4, 8])
def test_butterworth_gain_at_cutoff_is_one_half(order):
    # Each pass is designed -3 dB (gain 1/sqrt(2)) at the cutoff; forward + backward
    # multiplies the magnitudes, so the zero-phase gain there is (1/sqrt(2))² = 1/2,
    # i.e. -6.02 dB, whatever the order.
    t, x = sine(6.0)
    y = butterworth(x, FS, 6.0, order)
    gain, phase = fit_sine(t[middle(t)], y[middle(t)], 6.0)
    assert gain == pytest.approx(0.5, abs=2e-3)
    assert 20 * math.log10(gain) == pytest.approx(-6.02, abs=0.05)
    assert abs(phase) < 1e-3


@pytest.mark.parametrize("order", [2, 4, 8])
@pytest.mark.parametrize("freq", [2.0, 4.8, 9.0, 15.0, 24.0])
def test_butterworth_gain_matches_theory(order, freq):
    t, x = sine(freq)
    y = butterworth(x, FS, 6.0, order)
    gain, _ = fit_sine(t[middle(t)], y[middle(t)], freq)
    assert gain == pytest.approx(zero_phase_gain(freq, 6.0, order), abs=2e-3)


def test_butterworth_minus_3db_point_of_order_4_is_0_80_cutoff():
    # documented: no double-pass cutoff correction, so -3 dB sits at (sqrt(2)-1)^(1/4)·fc
    f3 = (math.sqrt(2) - 1) ** 0.25 * 6.0
    assert f3 == pytest.approx(0.802 * 6.0, abs=1e-2)
    t, x = sine(f3)
    gain, _ = fit_sine(t[middle(t)], butterworth(x, FS, 6.0)[middle(t)], f3)
    assert gain == pytest.approx(1 / math.sqrt(2), abs=5e-3)


def test_butterworth_strong_attenuation_well_above_cutoff():
    for freq, at_most in ((24.0, 0.005), (40.0, 5e-4)):
        t, x = sine(freq)
        y = butterworth(x, FS, 6.0, 4)
        gain, _ = fit_sine(t[middle(t)], y[middle(t)], freq)
        assert gain < at_most
        assert np.max(np.abs(y[middle(t)])) < at_most + 1e-3


def test_butterworth_passband_keeps_amplitude_and_has_zero_lag():
    t, x = sine(1.0)
    y = butterworth(x, FS, 6.0, 4)
    mid = middle(t)
    amp = np.max(np.abs(y[mid]))
    assert amp == pytest.approx(1.0, rel=0.01)
    gain, phase = fit_sine(t[mid], y[mid], 1.0)
    assert gain == pytest.approx(1.0, rel=0.01)
    assert abs(phase) < 1e-4

    def peak_lag(z: np.ndarray) -> int:
        xm, zm = x[mid], z[mid]
        corr = np.correlate(zm, xm, mode="full")
        return int(np.argmax(corr)) - (len(xm) - 1)

    assert peak_lag(y) == 0
    # the check can see a lag: a causal single pass of the same filter is late
    causal = signal.sosfilt(signal.butter(2, 6.0, output="sos", fs=FS), x)
    assert peak_lag(causal) > 0


def test_butterworth_constant_and_empty_and_trailing_shape():
    assert np.allclose(butterworth(np.full((40, 3), 7.5), FS, 6.0), 7.5)
    assert butterworth(np.zeros((0, 2)), FS, 6.0).shape == (0, 2)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2, 3))
    y = butterworth(x, FS, 6.0)
    sos = signal.butter(2, 6.0, output="sos", fs=FS)
    assert y.shape == x.shape and y.dtype == np.float64
    assert np.allclose(y, signal.sosfiltfilt(sos, x, axis=0))


def test_butterworth_nan_runs_filtered_separately():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 2))
    x[100:120, 0] = np.nan  # column 0: runs [0,100) and [120,300)
    x[50:53, 1] = np.nan  # column 1: runs [0,50), [53,58) short, [58,300)
    x[58:60, 1] = np.nan
    before = x.copy()
    y = butterworth(x, FS, 6.0, 4)
    assert np.array_equal(x, before, equal_nan=True)  # input untouched
    assert np.array_equal(np.isnan(y), np.isnan(x))  # NaN stay NaN, nothing else is NaN
    sos = signal.butter(2, 6.0, output="sos", fs=FS)
    assert np.allclose(y[:100, 0], signal.sosfiltfilt(sos, x[:100, 0]))
    assert np.allclose(y[120:, 0], signal.sosfiltfilt(sos, x[120:, 0]))
    assert np.allclose(y[:50, 1], signal.sosfiltfilt(sos, x[:50, 1]))
    # [53, 58): 5 samples <= padlen 9, left unfiltered
    assert np.array_equal(y[53:58, 1], x[53:58, 1])
    assert np.allclose(y[60:, 1], signal.sosfiltfilt(sos, x[60:, 1]))


def test_butterworth_short_run_threshold_is_padlen():
    x = np.random.default_rng(3).normal(size=30)
    x[10] = np.nan
    # order 4 -> one SOS section -> padlen 3·(2·1+1) = 9
    y9 = butterworth(np.concatenate([x[:9], [np.nan], x[11:21]]), FS, 6.0)
    assert np.array_equal(y9[:9], x[:9])  # 9 samples: unfiltered
    assert not np.allclose(y9[10:], x[11:21])  # 10 samples: filtered


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cutoff": 0.0}, "cutoff must be a positive"),
        ({"cutoff": -1.0}, "cutoff must be a positive"),
        ({"cutoff": 50.0}, r"below the Nyquist frequency fs/2 = 50 Hz"),
        ({"cutoff": 60.0}, "Nyquist"),
        ({"fs": 0.0}, "fs must be a positive"),
        ({"fs": float("nan")}, "fs must be a positive"),
        ({"order": 0}, "order must be an even integer >= 2"),
        ({"order": 3}, "order must be an even integer >= 2"),
        ({"order": 4.0}, "order must be an even integer"),
        ({"order": True}, "order must be an even integer"),
    ],
)
def test_butterworth_bad_arguments(kwargs, match):
    args = {"fs": FS, "cutoff": 6.0, "order": 4, **kwargs}
    with pytest.raises(InputError, match=match):
        butterworth(np.zeros(50), **args)


def test_bad_values_rejected():
    with pytest.raises(InputError, match="infinite"):
        butterworth(np.array([0.0, np.inf, 1.0]), FS, 6.0)
    with pytest.raises(InputError, match=r"at least one dimension"):
        fill_gaps(3.0, 1)
    with pytest.raises(InputError, match="numeric array"):
        one_euro(["a", "b"], [0.0, 1.0])


# -- fill_gaps -------------------------------------------------------------------------


def test_fill_linear_exact_on_lines_and_never_extrapolates():
    t = np.arange(30, dtype=float)
    x = 3.0 * t - 2.0
    g = x.copy()
    g[[0, 1]] = np.nan  # leading: never filled
    g[5] = np.nan  # length 1
    g[9:11] = np.nan  # length 2
    g[15:18] = np.nan  # length 3
    g[21:25] = np.nan  # length 4 > max_gap
    g[28:] = np.nan  # trailing
    y = fill_gaps(g, max_gap=3)
    assert np.allclose(y[[5, 9, 10, 15, 16, 17]], x[[5, 9, 10, 15, 16, 17]], atol=1e-12)
    assert np.isnan(y[[0, 1, 21, 22, 23, 24, 28, 29]]).all()
    finite = np.isfinite(g)
    assert np.array_equal(y[finite], g[finite])


def test_fill_linear_uses_times_as_abscissa():
    times = np.cumsum(np.r_[0.0, np.random.default_rng(4).uniform(0.5, 2.0, 19)])
    x = 0.5 * times + 1.0
    g = x.copy()
    g[[4, 5, 11]] = np.nan
    y = fill_gaps(g, max_gap=2, times=times)
    assert np.allclose(y, x)
    # with sample index as abscissa, an irregular line is not reproduced
    assert not np.allclose(fill_gaps(g, max_gap=2), x)


def test_fill_cubic_exact_on_cubic_polynomial():
    t = np.linspace(-2.0, 3.0, 60)
    x = 0.7 * t**3 - 2.0 * t**2 + t - 4.0
    g = x.copy()
    g[[7, 20, 21, 22, 40, 41]] = np.nan
    g[:2] = np.nan
    g[-3:] = np.nan
    y = fill_gaps(g, max_gap=3, method="cubic", times=t)
    fill = [7, 20, 21, 22, 40, 41]
    assert np.allclose(y[fill], x[fill], rtol=1e-9, atol=1e-9)
    assert np.isnan(y[:2]).all() and np.isnan(y[-3:]).all()
    # linear cannot do that
    assert not np.allclose(fill_gaps(g, 3, "linear", times=t)[fill], x[fill], atol=1e-3)


def test_fill_cubic_does_not_reach_across_long_gaps():
    # different cubics either side of a gap longer than max_gap: each side is exact
    t = np.arange(60, dtype=float) / 10
    left = t**3 - t
    right = -2.0 * t**3 + 5.0 * t**2 + 30.0
    x = np.where(t < 3.0, left, right)
    g = x.copy()
    g[28:35] = np.nan  # long gap: 7 samples, spans the change of polynomial
    g[[10, 11]] = np.nan
    g[[45, 46]] = np.nan
    y = fill_gaps(g, max_gap=2, method="cubic", times=t)
    assert np.isnan(y[28:35]).all()
    assert np.allclose(y[[10, 11, 45, 46]], x[[10, 11, 45, 46]], rtol=1e-9, atol=1e-9)


def test_fill_cubic_short_segments_fall_back_to_line_and_parabola():
    # a segment of 2 finite samples gives a straight line; 3 give a parabola
    g2 = np.array([np.nan] * 3 + [1.0, np.nan, 3.0] + [np.nan] * 3)
    assert fill_gaps(g2, 1, "cubic")[4] == pytest.approx(2.0)
    t = np.arange(5.0)
    g3 = t**2
    g3[[1, 3]] = np.nan
    assert np.allclose(fill_gaps(g3, 1, "cubic"), t**2)


def test_fill_trailing_shape_with_different_masks():
    t = np.arange(20, dtype=float)
    x = np.stack([2 * t, -t + 3, 0.5 * t], axis=1).reshape(20, 3, 1)
    g = x.copy()
    g[3, 0] = np.nan
    g[6:9, 1] = np.nan
    g[12:16, 2] = np.nan
    before = g.copy()
    y = fill_gaps(g, max_gap=3)
    assert np.array_equal(g, before, equal_nan=True)
    assert np.allclose(y[:, :2], x[:, :2])
    assert np.isnan(y[12:16, 2]).all()
    assert y.shape == x.shape and y.dtype == np.float64


def test_fill_max_gap_zero_is_a_copy():
    g = np.array([1.0, np.nan, 3.0])
    y = fill_gaps(g, 0)
    assert np.array_equal(y, g, equal_nan=True) and y is not g


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((-1,), {}, "max_gap must be a non-negative integer"),
        ((1.5,), {}, "max_gap must be a non-negative integer"),
        ((True,), {}, "max_gap must be a non-negative integer"),
        ((2, "spline"), {}, r"method must be one of \('linear', 'cubic'\); got 'spline'"),
        ((2,), {"times": np.arange(4.0)}, r"times must have shape \(T,\) = \(5,\)"),
        ((2,), {"times": [0, 1, 1, 2, 3]}, "strictly increasing"),
        ((2,), {"times": [0, 1, np.nan, 2, 3]}, "finite"),
    ],
)
def test_fill_bad_arguments(args, kwargs, match):
    with pytest.raises(InputError, match=match):
        fill_gaps(np.array([0.0, np.nan, 2.0, 3.0, 4.0]), *args, **kwargs)


def _nan_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    out, i = [], 0
    while i < len(mask):
        if mask[i]:
            j = i
            while j < len(mask) and mask[j]:
                j += 1
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


@settings(max_examples=150, deadline=None)
@given(
    x=hnp.arrays(
        np.float64,
        st.tuples(st.integers(0, 40), st.integers(1, 3)),
        elements=st.one_of(st.floats(-1e3, 1e3), st.just(np.nan)),
    ),
    max_gap=st.integers(0, 6),
    method=st.sampled_from(["linear", "cubic"]),
)
def test_fill_properties(x, max_gap, method):
    before = x.copy()
    y = fill_gaps(x, max_gap, method)
    assert np.array_equal(x, before, equal_nan=True)
    finite = np.isfinite(x)
    assert np.array_equal(y[finite], x[finite])  # finite samples never change
    assert np.isfinite(y[np.isnan(x)]).sum() <= np.isnan(x).sum()
    n = x.shape[0]
    for c in range(x.shape[1]):
        for s, e in _nan_runs(np.isnan(x[:, c])):
            fillable = s > 0 and e < n and e - s <= max_gap
            if fillable:
                assert np.isfinite(y[s:e, c]).all()
                if method == "linear":
                    lo, hi = sorted((x[s - 1, c], x[e, c]))
                    assert np.all((y[s:e, c] >= lo - 1e-9) & (y[s:e, c] <= hi + 1e-9))
            else:  # ends and long gaps stay NaN
                assert np.isnan(y[s:e, c]).all()


# -- one_euro --------------------------------------------------------------------------


def test_one_euro_constant_unchanged():
    t = np.arange(100) / 30.0
    x = np.full((100, 2, 3), 4.25)
    assert np.allclose(one_euro(x, t, 1.0, 0.5), 4.25, rtol=0, atol=1e-12)


def test_one_euro_reduces_noise_variance():
    rng = np.random.default_rng(5)
    noise = rng.normal(0.0, 1.0, 2000)
    t = np.arange(2000) / FS
    y = one_euro(5.0 + noise, t, min_cutoff=1.0, beta=0.0)
    # beta = 0: a first-order low-pass with a = 1/(1 + fs/(2π·1 Hz)); white-noise
    # variance ratio a/(2 - a) ≈ 0.03
    a = 1.0 / (1.0 + FS / (2 * np.pi))
    ratio = np.var(y[200:]) / np.var(noise)
    assert ratio < 0.1
    assert ratio == pytest.approx(a / (2 - a), rel=0.3)
    assert np.mean(y[200:]) == pytest.approx(5.0, abs=0.1)


def test_one_euro_lags_less_with_higher_beta():
    t = np.arange(400) / FS
    ramp = 2.0 * t  # 2 units/s
    lag = {b: float(np.mean(ramp[200:] - one_euro(ramp, t, 1.0, b)[200:])) for b in (0, 0.1, 1, 5)}
    # beta = 0: steady-state lag of a first-order low-pass is speed·tau = 2/(2π·1 Hz)
    assert lag[0] == pytest.approx(2.0 / (2 * np.pi), rel=1e-3)
    assert lag[0] > lag[0.1] > lag[1] > lag[5] > 0
    assert lag[5] < 0.2 * lag[0]


def test_one_euro_matches_reference_class():
    rng = np.random.default_rng(6)
    times = np.cumsum(rng.uniform(0.02, 0.05, 80))  # irregular
    x = np.cumsum(rng.normal(size=(80, 4)), axis=0)
    y = one_euro(x, times, min_cutoff=0.5, beta=0.3, d_cutoff=2.0)
    ref = OneEuro(0.5, 0.3, 2.0)
    expect = np.stack([ref(x[i], times[i]) for i in range(80)])
    assert np.allclose(y, expect, rtol=0, atol=1e-12)


def test_one_euro_nan_resets_filter():
    rng = np.random.default_rng(7)
    t = np.arange(60) / 30.0
    x = rng.normal(size=(60, 2))
    x[20:23, 0] = np.nan
    before = x.copy()
    y = one_euro(x, t, 1.0, 0.2)
    assert np.array_equal(x, before, equal_nan=True)
    assert np.isnan(y[20:23, 0]).all() and np.isfinite(np.delete(y[:, 0], [20, 21, 22])).all()
    assert y[23, 0] == x[23, 0]  # restart: first sample after the gap passes through
    assert np.allclose(y[23:, 0], one_euro(x[23:, 0], t[23:], 1.0, 0.2))
    assert np.allclose(y[:20, 0], one_euro(x[:20, 0], t[:20], 1.0, 0.2))
    assert np.allclose(y[:, 1], one_euro(x[:, 1], t, 1.0, 0.2))  # other element unaffected


def test_one_euro_empty_and_single():
    assert one_euro(np.zeros((0, 3)), np.zeros(0)).shape == (0, 3)
    y = one_euro(np.array([[2.0, np.nan]]), [1.0])
    assert np.array_equal(y, [[2.0, np.nan]], equal_nan=True)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_cutoff": 0.0}, "min_cutoff must be a positive"),
        ({"d_cutoff": -1.0}, "d_cutoff must be a positive"),
        ({"beta": -0.1}, "beta must be a finite number >= 0"),
        ({"times": np.arange(4.0)}, r"times must have shape \(T,\) = \(5,\)"),
        ({"times": [0.0, 0.1, 0.1, 0.2, 0.3]}, "strictly increasing for one_euro"),
        ({"times": [0.0, 0.1, np.inf, 0.2, 0.3]}, "finite"),
    ],
)
def test_one_euro_bad_arguments(kwargs, match):
    args = {"times": np.arange(5) / 30.0, **kwargs}
    with pytest.raises(InputError, match=match):
        one_euro(np.zeros(5), **args)


# -- filter_poses ----------------------------------------------------------------------


def two_people(t: int = 90, fps: float = 30.0, seed: int = 8) -> Poses:
    rng = np.random.default_rng(seed)
    times = np.arange(t) / fps
    base = 200 + 50 * np.sin(2 * np.pi * 0.5 * times)[:, None, None, None]
    coords = base + rng.normal(0, 2.0, size=(t, 2, 17, 2))
    coords[:, 1] += 300.0
    scores = rng.uniform(0.3, 1.0, size=(t, 2, 17))
    coords[10:12, 0, 3] = np.nan  # short gap, person 0 keypoint 3
    coords[30:40, 1, 5] = np.nan  # long gap, person 1 keypoint 5
    coords[:2, 1, 0] = np.nan  # leading gap
    return Poses(COCO17, coords, scores, times, "image:cam0", tracked=True, meta={"src": "x"})


def test_filter_poses_butterworth_matches_function():
    p = two_people()
    out = filter_poses(p, "butterworth", cutoff=6.0, order=4)
    expect = butterworth(p.coords.astype(np.float64), 30.0, 6.0, 4)
    assert np.allclose(out.coords, expect.astype(np.float32), equal_nan=True)
    assert np.array_equal(np.isnan(out.coords), np.isnan(p.coords))
    assert np.array_equal(out.scores, p.scores)
    assert out.meta["filter"] == "butterworth" and out.meta["src"] == "x"
    params = out.meta["filter_params"]
    assert params["cutoff"] == 6.0 and params["order"] == 4
    assert params["fs"] == pytest.approx(30.0)
    assert out.tracked and out.skeleton is p.skeleton and out.space == p.space
    # reduces the noise: residual to the clean sine is smaller after filtering
    clean = 200 + 50 * np.sin(2 * np.pi * 0.5 * p.times)
    err_in = np.nanstd(p.coords[20:70, 0, :, 0] - clean[20:70, None])
    err_out = np.nanstd(out.coords[20:70, 0, :, 0] - clean[20:70, None])
    # white noise over 0-15 Hz, 6 Hz zero-phase cut-off: about 60 % of its std is left
    assert err_out < 0.75 * err_in


def test_filter_poses_people_are_independent():
    p = two_people()
    both = filter_poses(p, "oneeuro", min_cutoff=1.0, beta=0.1)
    for i in range(2):
        alone = filter_poses(p.people(i), "oneeuro", min_cutoff=1.0, beta=0.1)
        assert np.array_equal(both.coords[:, i], alone.coords[:, 0], equal_nan=True)
    expect = one_euro(p.coords.astype(np.float64), p.times, 1.0, 0.1)
    assert np.allclose(both.coords, expect, equal_nan=True, atol=1e-4)
    assert both.meta["filter_params"] == {"min_cutoff": 1.0, "beta": 0.1, "d_cutoff": 1.0}


def test_filter_poses_fills_gaps_and_scores():
    p = two_people()
    out = filter_poses(p, "none", max_gap=3)
    # short gap filled linearly, score = min of the two neighbouring frames
    exp = p.coords[9, 0, 3] + (p.coords[12, 0, 3] - p.coords[9, 0, 3]) * (1 / 3)
    assert np.allclose(out.coords[10, 0, 3], exp, atol=1e-4)
    assert np.allclose(out.scores[10:12, 0, 3], min(p.scores[9, 0, 3], p.scores[12, 0, 3]))
    # long gap and leading gap stay missing with score 0
    assert np.isnan(out.coords[30:40, 1, 5]).all() and (out.scores[30:40, 1, 5] == 0).all()
    assert np.isnan(out.coords[:2, 1, 0]).all() and (out.scores[:2, 1, 0] == 0).all()
    # everything else untouched
    keep = ~np.isnan(p.coords).any(axis=-1)
    assert np.array_equal(out.coords[keep], p.coords[keep])
    assert np.array_equal(out.scores[keep], p.scores[keep])
    assert out.meta["filter"] == "none"
    assert out.meta["filter_params"] == {"max_gap": 3, "fill_method": "linear"}
    # the input object is unchanged
    assert np.isnan(p.coords[10:12, 0, 3]).all() and (p.scores[10:12, 0, 3] == 0).all()
    assert "filter" not in p.meta


def test_filter_poses_fill_then_butterworth_filters_across_filled_gap():
    p = two_people()
    out = filter_poses(p, "butterworth", max_gap=2)
    filled = fill_gaps(p.coords.astype(np.float64), 2)
    expect = butterworth(filled, 30.0, 6.0, 4)
    assert np.allclose(out.coords, expect, equal_nan=True, atol=1e-3)
    assert np.isfinite(out.coords[10:12, 0, 3]).all()


def test_filter_poses_none_without_gaps_is_identity():
    p = two_people()
    out = filter_poses(p, "none")
    assert out is not p
    assert np.array_equal(out.coords, p.coords, equal_nan=True)
    assert np.array_equal(out.scores, p.scores)


def test_filter_poses_errors():
    p = two_people()
    with pytest.raises(InputError, match=r"method must be one of \('oneeuro', 'butterworth'"):
        filter_poses(p, "kalman")
    with pytest.raises(InputError, match="needs at least 2 frames"):
        filter_poses(p.frames(slice(0, 1)), "butterworth")
    jitter = p.times.copy()
    jitter[5] += 0.002  # 6 % of a 33 ms step
    irregular = Poses(COCO17, p.coords, p.scores, jitter, "image:cam0")
    with pytest.raises(InputError, match=r"regular timestamps .* use method='oneeuro'"):
        filter_poses(irregular, "butterworth")
    assert filter_poses(irregular, "oneeuro").n_frames == p.n_frames  # one-euro is fine
    with pytest.raises(InputError, match=r"Nyquist frequency fs/2 = 15 Hz"):
        filter_poses(p, "butterworth", cutoff=15.0)
    with pytest.raises(InputError, match="order must be an even integer"):
        filter_poses(p, "butterworth", order=0)
    with pytest.raises(InputError, match="min_cutoff must be a positive"):
        filter_poses(p, "oneeuro", min_cutoff=0)
    with pytest.raises(InputError, match=r"max_gap must be a non-negative integer \(frames\)"):
        filter_poses(p, "none", max_gap=-1)
    with pytest.raises(InputError, match=r"fill_method must be one of \('linear', 'cubic'\)"):
        filter_poses(p, "none", fill_method="spline")
    with pytest.raises(InputError, match="must be a Poses object"):
        filter_poses(p.coords, "none")
    dup = Poses(COCO17, p.coords[:3], p.scores[:3], [0.0, 0.0, 0.1], "image:cam0")
    with pytest.raises(InputError, match="strictly increasing"):
        filter_poses(dup, "oneeuro")
