"""Temporal filters for keypoint streams.

The one-euro filter here follows MediaPipe's ``OneEuroFilter``
(``mediapipe/util/filtering/one_euro_filter.cc``) so that posestack's BlazePose
video mode smooths exactly as MediaPipe does: the sampling frequency comes
from the timestamps (30 Hz until two timestamps are seen), the derivative is
scaled by ``value_scale`` (1 / object size in pixels for image landmarks),
and the first sample passes through unchanged.

Convention: values are float arrays of any shape, filtered element-wise;
times are seconds.
"""

from __future__ import annotations

import math

import numpy as np


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
