"""Temporal filters for keypoint streams.

Two families live here:

* **Online, MediaPipe-faithful** — :class:`LowPass` and :class:`OneEuro` follow
  MediaPipe's ``OneEuroFilter`` (``mediapipe/util/filtering/one_euro_filter.cc``)
  so that posestack's BlazePose video mode smooths exactly as MediaPipe does:
  the sampling frequency comes from the timestamps (30 Hz until two timestamps
  are seen), the derivative is scaled by ``value_scale`` (1 / object size in
  pixels for image landmarks), and the first sample passes through unchanged.
* **Offline, pure functions of whole sequences** — :func:`one_euro`,
  :func:`butterworth` and :func:`fill_gaps` take ``(T, ...)`` arrays, and
  :func:`filter_poses` applies them to a :class:`~posestack.poses.Poses`.

Convention: time is axis 0 (T samples); any trailing shape (e.g. ``P, K, D``)
is filtered element-wise. NaN marks a missing sample and stays NaN unless
:func:`fill_gaps` fills it. Times are seconds, frequencies Hz. Inputs are never
modified; the offline functions return new float64 arrays of the input's shape.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any

import numpy as np

from posestack.errors import InputError
from posestack.poses import Poses

__all__ = [
    "LowPass",
    "OneEuro",
    "butterworth",
    "fill_gaps",
    "filter_poses",
    "one_euro",
    "true_runs",
]


class LowPass:
    """Exponential smoothing ``y = a·x + (1-a)·y_prev``; first sample passes through."""

    def __init__(self) -> None:
        self.raw: np.ndarray | None = None
        self.stored: np.ndarray | None = None

    def reset(self) -> None:
        self.raw = None
        self.stored = None

    def __call__(self, value: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64)
        out = value if self.stored is None else alpha * value + (1.0 - alpha) * self.stored
        self.raw = value
        self.stored = out
        return out


class OneEuro:
    """One-euro filter (Casiez et al. 2012) with MediaPipe's conventions.

    Args:
        min_cutoff: minimum cutoff frequency, Hz.
        beta: speed coefficient (cutoff grows by ``beta·|speed|``).
        d_cutoff: cutoff for the derivative, Hz.
        frequency: initial sampling frequency, Hz, used until two timestamps
            have been seen.
    """

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float = 1.0,
                 frequency: float = 30.0) -> None:
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.initial_frequency = float(frequency)
        self.reset()

    def reset(self) -> None:
        self.frequency = self.initial_frequency
        self.last_time: float | None = None
        self.x = LowPass()
        self.dx = LowPass()

    def _alpha(self, cutoff: float | np.ndarray) -> float | np.ndarray:
        te = 1.0 / self.frequency
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / te)

    def __call__(self, value: np.ndarray, time: float, value_scale: float = 1.0) -> np.ndarray:
        """Filter one sample.

        Args:
            value: array of any shape.
            time: seconds; a time not after the previous one returns ``value``
                unfiltered (as MediaPipe does).
            value_scale: multiplies the derivative (1 / object scale).
        """
        value = np.asarray(value, dtype=np.float64)
        if self.last_time is not None:
            if time <= self.last_time:
                return value
            self.frequency = 1.0 / (time - self.last_time)
        self.last_time = time
        if self.x.raw is None:
            dvalue = np.zeros_like(value)
        else:
            dvalue = (value - self.x.raw) * value_scale * self.frequency
        edvalue = self.dx(dvalue, self._alpha(self.d_cutoff))
        cutoff = self.min_cutoff + self.beta * np.abs(edvalue)
        return self.x(value, self._alpha(cutoff))


# -- offline filters: pure functions of (T, ...) arrays ------------------------------------

_FILL_METHODS = ("linear", "cubic")
_POSE_METHODS = ("oneeuro", "butterworth", "none")
# filter_poses accepts timestamps whose steps differ from the median step by at most this
# fraction when a fixed sampling rate is needed (Butterworth).
_TIMING_TOLERANCE = 0.01


def _values(values: Any, name: str = "values") -> np.ndarray:
    """A fresh float64 ``(T, ...)`` copy of ``values``; finite or NaN only."""
    try:
        arr = np.array(values, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a numeric array; could not convert it ({exc})") from None
    if arr.ndim < 1:
        raise InputError(
            f"{name} must have at least one dimension, time first: (T, ...); got a scalar"
        )
    n_inf = int(np.isinf(arr).sum())
    if n_inf:
        raise InputError(
            f"{name} must be finite or NaN (NaN marks a missing sample); "
            f"found {n_inf} infinite value(s)"
        )
    return arr


def _flat(x: np.ndarray) -> np.ndarray:
    """``(T, M)`` view of a ``(T, ...)`` array (also for T = 0)."""
    return x.reshape(x.shape[0], math.prod(x.shape[1:]))


def _positive(value: Any, name: str, unit: str = "Hz") -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = math.nan
    if not (math.isfinite(out) and out > 0):
        raise InputError(f"{name} must be a positive finite number ({unit}); got {value!r}")
    return out


def _non_negative(value: Any, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = math.nan
    if not (math.isfinite(out) and out >= 0):
        raise InputError(f"{name} must be a finite number >= 0; got {value!r}")
    return out


def _count(value: Any, name: str, unit: str = "samples") -> int:
    """A non-negative integer (bools and fractional numbers rejected)."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or value < 0:
        raise InputError(f"{name} must be a non-negative integer ({unit}); got {value!r}")
    return int(value)


def _times(times: Any, n: int, need: str) -> np.ndarray:
    """``(T,)`` float64 seconds, finite and strictly increasing."""
    try:
        t = np.array(times, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise InputError(f"times must be a numeric array of seconds ({exc})") from None
    if t.shape != (n,):
        raise InputError(
            f"times must have shape (T,) = ({n},), one per sample along axis 0 of values; "
            f"got {t.shape}"
        )
    n_bad = int((~np.isfinite(t)).sum())
    if n_bad:
        raise InputError(f"times must be finite seconds; found {n_bad} NaN/inf value(s)")
    n_back = int((np.diff(t) <= 0).sum())
    if n_back:
        raise InputError(
            f"times must be strictly increasing for {need}; found {n_back} step(s) that "
            f"repeat or go back in time"
        )
    return t


def true_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) ends ``(n,), (n,)`` int of the runs of True in a 1-D bool
    ``mask`` (frames where something holds: a track present, a code true)."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _mask_groups(finite: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Columns of a ``(T, M)`` mask grouped by identical pattern: ``[(mask (T,), cols)]``.

    Pose data shares one pattern across the D coordinates of a keypoint (and
    often across keypoints), so each group is processed with one vectorised call.
    """
    if finite.shape[1] == 0:
        return []
    patterns, inverse = np.unique(finite.T, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return [(patterns[g], np.flatnonzero(inverse == g)) for g in range(len(patterns))]


def one_euro(
    values: Any,
    times: Any,
    min_cutoff: float = 1.0,
    beta: float = 0.0,
    d_cutoff: float = 1.0,
) -> np.ndarray:
    """Causal one-euro filter (Casiez et al. 2012) over a whole sequence.

    Each element of the trailing shape is an independent scalar filter. The
    update is the authors' reference one (and MediaPipe's, i.e. :class:`OneEuro`
    with ``value_scale=1``): with ``dt`` the time step,
    ``a(fc) = 1 / (1 + 1/(2π·fc·dt))``, the derivative
    ``dx = (x - x_prev_raw) / dt`` is smoothed with ``a(d_cutoff)``, the cutoff
    is ``min_cutoff + beta·|dx_smoothed|`` and ``x`` is smoothed with ``a(cutoff)``.
    The first sample passes through unchanged. Time steps come from ``times``,
    so irregular sampling is handled.

    Gaps: a NaN sample gives NaN and resets that element's filter; the first
    finite sample after the gap passes through and filtering restarts there.

    Args:
        values: ``(T, ...)`` samples, NaN where missing.
        times: ``(T,)`` seconds, finite and strictly increasing.
        min_cutoff: minimum cutoff frequency, Hz (> 0). Lower = smoother at rest.
        beta: speed coefficient (>= 0), cutoff Hz per unit of speed. Higher = less
            lag on fast motion.
        d_cutoff: cutoff of the derivative filter, Hz (> 0).

    Returns:
        float64 array of ``values``' shape.

    Raises:
        InputError: non-positive cutoffs, negative ``beta``, infinite values, or
            ``times`` of the wrong shape, non-finite or not strictly increasing.

    Example::

        >>> import numpy as np
        >>> one_euro(np.array([1.0, 1.0, np.nan, 3.0]), np.arange(4) / 30.0)
        array([ 1.,  1., nan,  3.])
    """
    x = _values(values)
    t = _times(times, x.shape[0], "one_euro")
    min_cutoff = _positive(min_cutoff, "min_cutoff")
    beta = _non_negative(beta, "beta")
    d_cutoff = _positive(d_cutoff, "d_cutoff")

    flat = _flat(x)
    out = np.full_like(flat, np.nan)
    m = flat.shape[1]
    active = np.zeros(m, dtype=bool)  # element has filter state from the previous sample
    x_raw = np.zeros(m)  # previous raw sample
    x_hat = np.zeros(m)  # previous output
    dx_hat = np.zeros(m)  # previous smoothed derivative

    def alpha(cutoff: float | np.ndarray, dt: float) -> float | np.ndarray:
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    for i in range(flat.shape[0]):
        xi = flat[i]
        ok = np.isfinite(xi)
        cont = np.flatnonzero(ok & active)
        start = np.flatnonzero(ok & ~active)
        if cont.size:
            dt = t[i] - t[i - 1]
            dx = (xi[cont] - x_raw[cont]) / dt
            a_d = alpha(d_cutoff, dt)
            dx_hat[cont] = a_d * dx + (1.0 - a_d) * dx_hat[cont]
            a = alpha(min_cutoff + beta * np.abs(dx_hat[cont]), dt)
            x_hat[cont] = a * xi[cont] + (1.0 - a) * x_hat[cont]
        x_hat[start] = xi[start]
        dx_hat[start] = 0.0
        x_raw[ok] = xi[ok]
        out[i, ok] = x_hat[ok]
        active = ok
    return out.reshape(x.shape)


def _butter_sos(fs: Any, cutoff: Any, order: Any) -> tuple[np.ndarray, int]:
    """Validated design: SOS of order ``order // 2`` and sosfiltfilt's default padlen."""
    fs = _positive(fs, "fs")
    cutoff = _positive(cutoff, "cutoff")
    # a relative margin: fs often comes from 1 / median step, e.g. 30.000000000000004
    if cutoff >= fs / 2 * (1 - 1e-9):
        raise InputError(
            f"cutoff must be below the Nyquist frequency fs/2 = {fs / 2:g} Hz; got {cutoff:g} Hz"
        )
    is_int = isinstance(order, (int, np.integer)) and not isinstance(order, (bool, np.bool_))
    if not is_int or order < 1 or order % 2:
        raise InputError(
            f"order must be an even integer >= 2: the order of the zero-phase (forward + "
            f"backward) filter, which runs a Butterworth of order/2 twice; got {order!r}"
        )
    from scipy import signal  # here, not at import: scipy.signal costs ~0.8 s to import

    sos = signal.butter(int(order) // 2, cutoff, btype="low", output="sos", fs=fs)
    # scipy.signal.sosfiltfilt's default padlen, stated here so the rule is ours.
    n_zeros = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    padlen = 3 * (2 * len(sos) + 1 - n_zeros)
    return sos, padlen


def butterworth(values: Any, fs: float, cutoff: float, order: int = 4) -> np.ndarray:
    """Zero-phase low-pass Butterworth filter (forward-backward), NaN-aware.

    Convention (biomechanics, Winter 2009; also Pose2Sim): ``order`` is the order
    of the zero-phase result. A Butterworth of order ``order/2`` is designed with
    ``scipy.signal.butter`` (SOS form) and run forward and backward with
    ``scipy.signal.sosfiltfilt``, so the default ``order=4`` is the classic
    "fourth-order zero-lag Butterworth". ``cutoff`` is the −3 dB frequency of
    each pass; the zero-phase response is the squared magnitude
    ``|H(f)|²``, so its gain at ``cutoff`` is exactly 1/2 (−6.02 dB) and its
    −3 dB point lies lower (≈ 0.80·cutoff for ``order=4``). No cutoff
    correction for the double pass is applied.

    NaN handling: each contiguous run of finite samples is filtered on its own
    (edges padded by odd reflection, sosfiltfilt's default). A run of at most
    ``padlen`` samples (9 for ``order=4``; ``3·(2·n_sections + 1)`` in general,
    minus trivial zeros) is too short for that padding and is returned
    **unfiltered**. NaN samples stay NaN.

    Args:
        values: ``(T, ...)`` samples at a regular rate, NaN where missing.
        fs: sampling frequency, Hz.
        cutoff: cut-off frequency, Hz, with ``0 < cutoff < fs/2``.
        order: even integer >= 2, order of the zero-phase filter (see above).

    Returns:
        float64 array of ``values``' shape.

    Raises:
        InputError: non-positive ``fs`` or ``cutoff``, ``cutoff >= fs/2``, an
            odd or non-positive ``order``, or infinite values.

    Example::

        >>> import numpy as np
        >>> y = butterworth(np.full(50, 2.0), fs=100.0, cutoff=6.0)
        >>> bool(np.allclose(y, 2.0))
        True
    """
    from scipy import signal

    x = _values(values)
    sos, padlen = _butter_sos(fs, cutoff, order)
    flat = _flat(x)
    out = flat.copy()
    finite = np.isfinite(flat)
    if finite.all():
        if flat.shape[0] > padlen:
            out = signal.sosfiltfilt(sos, flat, axis=0, padlen=padlen)
        return out.reshape(x.shape)
    for mask, cols in _mask_groups(finite):
        for s, e in zip(*true_runs(mask), strict=True):
            if e - s > padlen:
                out[s:e, cols] = signal.sosfiltfilt(sos, flat[s:e, cols], axis=0, padlen=padlen)
    return out.reshape(x.shape)


def fill_gaps(
    values: Any,
    max_gap: int,
    method: str = "linear",
    times: Any = None,
) -> np.ndarray:
    """Fill interior runs of at most ``max_gap`` NaN samples by interpolation.

    A gap is a run of NaN samples of one element with a finite sample on each
    side. Gaps of ``max_gap`` samples or fewer are filled; longer gaps, and NaN
    runs at the start or end (which would need extrapolation), stay NaN. Finite
    samples are never changed.

    Methods:

    * ``"linear"``: straight line between the two samples around the gap.
    * ``"cubic"``: ``scipy.interpolate.CubicSpline`` (not-a-knot ends) through
      every finite sample of the *segment* holding the gap, a segment being the
      stretch between gaps longer than ``max_gap`` (or the ends), so data never
      leaks across a gap that is not filled. It reproduces cubic polynomials
      exactly (a segment of 2 or 3 samples gives a line or a parabola). A
      C²-smooth spline suits kinematics, whose derivatives are taken later;
      it can overshoot, unlike PCHIP.

    Args:
        values: ``(T, ...)`` samples, NaN where missing.
        max_gap: longest gap to fill, in samples (0 fills nothing).
        method: ``"linear"`` or ``"cubic"``.
        times: optional ``(T,)`` sample times (finite, strictly increasing) used
            as the interpolation abscissa; by default the sample index. Gap
            length is counted in samples either way.

    Returns:
        float64 array of ``values``' shape.

    Raises:
        InputError: a negative or non-integer ``max_gap``, an unknown ``method``,
            infinite values, or bad ``times``.

    Example::

        >>> import numpy as np
        >>> fill_gaps(np.array([0.0, np.nan, 2.0, np.nan, np.nan, 5.0, np.nan]), max_gap=1)
        array([ 0.,  1.,  2., nan, nan,  5., nan])
    """
    x = _values(values)
    max_gap = _count(max_gap, "max_gap")
    if method not in _FILL_METHODS:
        raise InputError(f"method must be one of {_FILL_METHODS}; got {method!r}")
    n = x.shape[0]
    t = np.arange(n, dtype=np.float64) if times is None else _times(times, n, "fill_gaps")
    flat = _flat(x)
    finite = np.isfinite(flat)
    if max_gap == 0 or finite.all():
        return x
    for mask, cols in _mask_groups(finite):
        gap_s, gap_e = true_runs(~mask)
        fill = (gap_s > 0) & (gap_e < n) & (gap_e - gap_s <= max_gap)
        if not fill.any():
            continue
        if method == "linear":
            for s, e in zip(gap_s[fill], gap_e[fill], strict=True):
                left, right = flat[s - 1, cols], flat[e, cols]
                w = (t[s:e] - t[s - 1]) / (t[e] - t[s - 1])
                flat[s:e, cols] = left + w[:, None] * (right - left)
            continue
        # cubic: one spline per segment; segments are split at interior gaps not filled
        breaks = [0, *gap_s[~fill & (gap_s > 0) & (gap_e < n)].tolist(), n]
        for lo, hi in itertools.pairwise(breaks):
            in_seg = (gap_s >= lo) & (gap_e <= hi) & fill
            if not in_seg.any():
                continue
            known = np.flatnonzero(mask[lo:hi]) + lo
            where = np.concatenate(
                [np.arange(s, e) for s, e in zip(gap_s[in_seg], gap_e[in_seg], strict=True)]
            )
            from scipy.interpolate import CubicSpline

            spline = CubicSpline(t[known], flat[np.ix_(known, cols)], axis=0)
            flat[np.ix_(where, cols)] = spline(t[where])
    return flat.reshape(x.shape)


def _regular_rate(times: np.ndarray) -> float:
    """Sampling rate, Hz, from the median step of regular ``times``."""
    if times.shape[0] < 2:
        raise InputError(
            f"butterworth filtering needs at least 2 frames to know the sampling rate; "
            f"got {times.shape[0]}"
        )
    steps = np.diff(times)
    dt = float(np.median(steps))
    if not dt > 0:
        raise InputError(
            f"times must advance to give a sampling rate; the median frame step is {dt:g} s"
        )
    worst = float(np.max(np.abs(steps - dt))) / dt
    if worst > _TIMING_TOLERANCE:
        raise InputError(
            f"butterworth filtering needs regular timestamps (every step within "
            f"{_TIMING_TOLERANCE:.0%} of the median {dt:.6g} s); the worst step is off by "
            f"{worst:.1%}. Resample the frames or use method='oneeuro', which follows the "
            f"timestamps"
        )
    return 1.0 / dt


def _filled_scores(scores: np.ndarray, was_valid: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """Scores with each filled point given the lower score of the two samples around its gap."""
    n = scores.shape[0]
    idx = np.arange(n).reshape((n,) + (1,) * (scores.ndim - 1))
    prev = np.maximum.accumulate(np.where(was_valid, idx, 0), axis=0)
    nxt = np.flip(np.minimum.accumulate(np.flip(np.where(was_valid, idx, n - 1), 0), axis=0), 0)
    around = np.minimum(
        np.take_along_axis(scores, prev, axis=0), np.take_along_axis(scores, nxt, axis=0)
    )
    return np.where(filled, around, scores)


def filter_poses(
    poses: Poses,
    method: str,
    *,
    cutoff: float = 6.0,
    order: int = 4,
    min_cutoff: float = 1.0,
    beta: float = 0.0,
    d_cutoff: float = 1.0,
    max_gap: int = 0,
    fill_method: str = "linear",
) -> Poses:
    """Smooth each person's keypoint tracks along time.

    Steps: (1) when ``max_gap > 0``, gaps of at most ``max_gap`` frames are filled
    with :func:`fill_gaps` (``fill_method``, abscissa ``poses.times``); (2) the
    coordinates are filtered per person, keypoint and axis with ``method``:

    * ``"oneeuro"``: :func:`one_euro` with ``min_cutoff``, ``beta``, ``d_cutoff``,
      following ``poses.times`` (irregular timing is fine; times must be strictly
      increasing);
    * ``"butterworth"``: :func:`butterworth` with ``cutoff`` and ``order``, at
      ``fs = 1 / median(diff(poses.times))``; needs at least 2 frames and every
      frame step within 1 % of the median;
    * ``"none"``: no filtering (gap filling only).

    Person slots are filtered independently along time, so filtering only makes
    sense for tracked poses (``poses.tracked``); that is the caller's business.

    Scores: unchanged for keypoints that were present; a filled keypoint gets
    the lower of the scores of the two frames around its gap; a keypoint still
    missing keeps score 0.

    Args:
        poses: the keypoints to smooth.
        method: ``"oneeuro"``, ``"butterworth"`` or ``"none"``.
        cutoff: Butterworth cut-off, Hz.
        order: Butterworth zero-phase order (even, see :func:`butterworth`).
        min_cutoff, beta, d_cutoff: one-euro parameters (see :func:`one_euro`).
        max_gap: longest gap to fill before filtering, in frames (0: no filling).
        fill_method: ``"linear"`` or ``"cubic"`` (see :func:`fill_gaps`).

    Returns:
        A new Poses; ``meta`` gains ``"filter"`` (the method) and
        ``"filter_params"`` (a dict of the parameters used, ``fs`` included for
        Butterworth, with ``samples``: keypoint positions present, and
        ``unfiltered``: how many of them lie in runs shorter than ``min_run``
        frames, which Butterworth leaves as they are).

    Raises:
        InputError: an unknown method, bad parameters, too few frames or
            irregular timing for Butterworth.
    """
    if not isinstance(poses, Poses):
        raise InputError(f"poses must be a Poses object; got {type(poses).__name__}")
    if method not in _POSE_METHODS:
        raise InputError(f"method must be one of {_POSE_METHODS}; got {method!r}")
    max_gap = _count(max_gap, "max_gap", "frames")
    if fill_method not in _FILL_METHODS:
        raise InputError(f"fill_method must be one of {_FILL_METHODS}; got {fill_method!r}")
    fs = _regular_rate(poses.times) if method == "butterworth" else math.nan
    params: dict[str, Any] = {}

    coords = np.array(poses.coords, dtype=np.float64)
    was_valid = np.asarray(~np.isnan(coords).any(axis=-1))
    scores = np.array(poses.scores, dtype=np.float64)
    if max_gap > 0:
        coords = fill_gaps(coords, max_gap, fill_method, times=poses.times)
        params.update(max_gap=max_gap, fill_method=fill_method)

    match method:
        case "oneeuro":
            coords = one_euro(coords, poses.times, min_cutoff, beta, d_cutoff)
            params.update(min_cutoff=float(min_cutoff), beta=float(beta), d_cutoff=float(d_cutoff))
        case "butterworth":
            _, padlen = _butter_sos(fs, cutoff, order)
            present = np.isfinite(coords).all(axis=-1).reshape(len(coords), -1)  # (T, P·K)
            short = 0
            for mask, cols in _mask_groups(present):
                starts, ends = true_runs(mask)
                short += int(sum(e - s for s, e in zip(starts, ends, strict=True)
                                 if e - s <= padlen)) * len(cols)
            coords = butterworth(coords, fs, cutoff, order)
            params.update(cutoff=float(cutoff), order=int(order), fs=fs,
                          samples=int(present.sum()), unfiltered=short, min_run=padlen + 1)
        case "none":
            pass

    valid = np.asarray(~np.isnan(coords).any(axis=-1))
    if max_gap > 0:
        scores = _filled_scores(scores, was_valid, valid & ~was_valid)
    scores = np.where(valid, scores, 0.0)
    return dataclasses.replace(
        poses,
        coords=coords.astype(np.float32),
        scores=scores.astype(np.float32),
        meta={**poses.meta, "filter": method, "filter_params": params},
    )
