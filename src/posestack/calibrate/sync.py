"""Synchronising cameras from the motion they see (``posestack sync``).

Each camera's signal is the person's vertical keypoint speed in the image (mean over the
keypoints seen with confidence, in body heights per second, so that near and far cameras
compare), low-passed (Butterworth, 6 Hz, order 4, forward and backward: Pose2Sim's
choice) and resampled to the fastest camera's rate. Vertical speed is what every upright
camera sees alike; horizontal speed depends on the direction of view.

Each camera's signal is compared with the reference camera's (the first) at every lag up
to ``max_lag``: the Pearson correlation over the moments both saw the person, so a camera
that loses the person for a while only shortens the overlap. The best lag is refined to a
fraction of a frame by a parabola through the correlation's peak. With several people, the
few people each camera sees longest are tried in pairs and the pair that correlates best
is kept. The lag kept is the one with the largest cross-correlation summed over the
overlap (so that a periodic motion, such as walking, does not fit as well a whole stride
off over a shorter overlap). The confidence reported is the Pearson correlation at that
lag, and the margin: how much lower, relatively, the best lag more than half a second away
scores.

When the cameras' calibration is known, each offset comes from the geometry instead: the
offset (searched at whole frames over the same range, then to a tenth of a frame) at which
the moving people's keypoints in the two views best satisfy the epipolar constraint (see
``_geometric`` for the score). This needs far less motion than the speeds do: a person
balancing on one leg is enough.

The offsets follow Pose2Sim's convention (``posestack run --offset``): camera frame −
offset = the reference camera's frame.
"""

from __future__ import annotations

import math
import tomllib
import warnings as pywarnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.signal import butter, medfilt, sosfiltfilt

from ..errors import InputError
from ..io.atomic import atomic_path
from ..poses import Poses
from .timeline import on_timeline, ranked_people

MIN_SCORE = 0.4
CUTOFF_HZ = 6.0
CANDIDATES = 3
MIN_MOTION = 0.05      # body heights per second (mean vertical speed) below: not moving
MIN_OVERLAP_S = 1.0
LOW_CONFIDENCE = 0.5
SPIKE = 0.05           # body heights off the running median: a detection glitch, dropped
SPIKE_WINDOW = 7       # frames of that running median
EPIPOLAR_CAP = 20.0    # px: a frame's epipolar error counts up to this (and this if unseen)


@dataclass
class CameraOffset:
    """One camera's offset: frames (its own) and seconds, and how sure it is."""

    name: str
    frames: float
    seconds: float
    fps: float
    correlation: float      # of the speeds at the best lag (1 for the reference; NaN: none)
    margin: float           # relative drop to the best lag more than half a second away
    person: int             # the person index whose motion was used
    epipolar_px: float = float("nan")   # the geometry's score at the offset (px, see
                                        # _geometric: capped per-frame epipolar distances)


@dataclass
class SyncResult:
    """The offsets of every camera relative to the first, and warnings."""

    cameras: list[CameraOffset]
    warnings: list[str] = field(default_factory=list)

    @property
    def offsets(self) -> dict[str, float]:
        """Camera name → offset in the camera's frames (camera frame − offset = reference
        frame)."""
        return {c.name: c.frames for c in self.cameras}


def _fill(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    if ok.sum() < 2:
        return np.zeros_like(x)
    i = np.arange(len(x))
    return np.interp(i, i[ok], x[ok])


def speed_signal(poses: Poses, person: int, fps: float, frames: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One person's filtered vertical speed in a camera.

    Args:
        poses: 2D pixels ``(T, P, K, 2)``.
        person: the person's index.
        fps: the camera's frame rate.
        frames: source frame index of each row (None: ``0..T−1``).

    Returns:
        ``(N,)`` speed in body heights per second on consecutive frames from the first
        row's frame (NaN where the person was not seen), and ``(N,)`` the frame numbers.
    """
    with pywarnings.catch_warnings():     # all-NaN frames and keypoints are expected here
        pywarnings.simplefilter("ignore", RuntimeWarning)
        return _speed_signal(poses, person, fps, frames)


def _speed_signal(poses: Poses, person: int, fps: float, frames: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    fr = np.arange(poses.n_frames) if frames is None else np.asarray(frames, np.int64)
    n = int(fr.max() - fr.min()) + 1
    xy = np.full((n, poses.n_keypoints, 2), np.nan)
    xy[fr - fr.min()] = poses.coords[:, person, :, :2]
    sc = np.zeros((n, poses.n_keypoints))
    sc[fr - fr.min()] = np.nan_to_num(poses.scores[:, person])
    xy[sc < MIN_SCORE] = np.nan
    y = xy[..., 1]
    with np.errstate(all="ignore"):
        extent = np.nanmax(y, axis=1) - np.nanmin(y, axis=1)        # (N,) pixels per frame
        h = float(np.nanmedian(extent))
    if not (math.isfinite(h) and h > 0):
        return np.full(n, np.nan), np.arange(fr.min(), fr.min() + n)
    seen = np.isfinite(y)
    sos = butter(4, min(CUTOFF_HZ, 0.4 * fps), fs=fps, output="sos")
    smooth = np.full_like(y, np.nan)
    for k in range(y.shape[1]):
        if seen[:, k].sum() > 15:
            filled = _fill(y[:, k])
            spike = np.abs(filled - medfilt(filled, SPIKE_WINDOW)) > SPIKE * h
            filled = _fill(np.where(spike, np.nan, filled))
            smooth[:, k] = np.where(seen[:, k], sosfiltfilt(sos, filled), np.nan)
    with np.errstate(all="ignore"):
        # the person's size in the image over about a second: one walking towards a camera
        # grows, and their speed in pixels with them
        win = max(3, int(fps) | 1)
        size = medfilt(_fill(np.where(extent > 0.3 * h, extent, np.nan)), win)
        size = np.where(size > 0, size, h)
        vy = np.diff(smooth, axis=0) * fps / size[1:, None]          # (N-1, K)
        v = np.nanmean(np.abs(vy), axis=1)
    v = np.concatenate([[np.nan], v])
    return v, np.arange(fr.min(), fr.min() + n)


def _on_grid(v: np.ndarray, frames: np.ndarray, fps: float, rate: float) -> np.ndarray:
    """Resample a signal sampled at camera frames to ``rate`` on times from 0."""
    t = frames / fps
    grid = np.arange(0, t[-1] + 1e-9, 1.0 / rate)
    out = np.interp(grid, t, _fill(v))
    seen = np.interp(grid, t, np.isfinite(v).astype(float)) > 0.99
    return np.where(seen, out, np.nan)


def _correlations(a: np.ndarray, b: np.ndarray, lags: np.ndarray, min_overlap: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """For each lag ``L``, comparing ``a[i]`` with ``b[i + L]``: the cross-correlation of
    the z-scored signals summed over their overlap and divided by the shorter signal's
    length (so a lag that keeps more of the motion in common scores higher: a periodic
    motion, such as walking, has many lags that fit as well over a short overlap), and the
    Pearson correlation over the overlap. NaN where the overlap of seen samples is shorter
    than ``min_overlap``."""
    za = (a - np.nanmean(a)) / (np.nanstd(a) or 1.0)
    zb = (b - np.nanmean(b)) / (np.nanstd(b) or 1.0)
    n = min(np.isfinite(a).sum(), np.isfinite(b).sum())
    score = np.full(len(lags), np.nan)
    pearson = np.full(len(lags), np.nan)
    for j, L in enumerate(lags):
        lo, hi = max(0, -L), min(len(a), len(b) - L)
        if hi - lo < min_overlap:
            continue
        x, y = za[lo:hi], zb[lo + L:hi + L]
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < min_overlap:
            continue
        x, y = x[ok], y[ok]
        score[j] = float((x * y).sum()) / n
        xc, yc = x - x.mean(), y - y.mean()
        d = math.sqrt(float((xc * xc).sum() * (yc * yc).sum()))
        pearson[j] = float((xc * yc).sum()) / d if d > 0 else np.nan
    return score, pearson


def _peak(c: np.ndarray, lags: np.ndarray) -> tuple[float, float]:
    j = int(np.nanargmax(c))
    frac = 0.0
    if 0 < j < len(c) - 1 and np.isfinite(c[j - 1]) and np.isfinite(c[j + 1]):
        den = c[j - 1] - 2 * c[j] + c[j + 1]
        if den < 0:
            frac = float(np.clip(0.5 * (c[j - 1] - c[j + 1]) / den, -0.5, 0.5))
    return float(lags[j]) + frac, float(c[j])


def _fundamental(a, b) -> np.ndarray:
    """Fundamental matrix between the ideal pixels of calibrated cameras a and b."""
    R = b.R @ a.R.T
    t = b.t - R @ a.t
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    return np.linalg.inv(b.K).T @ tx @ R @ np.linalg.inv(a.K)


def _epipolar(xa: np.ndarray, xb: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Per frame, the median symmetric distance (pixels) of paired keypoints ``(T, K, 2)``
    to their epipolar lines: ``(T,)``, NaN where no keypoint is seen in both."""
    ok = np.isfinite(xa).all(-1) & np.isfinite(xb).all(-1)
    ha = np.concatenate([np.where(ok[..., None], xa, 0.0), np.ones((*ok.shape, 1))], -1)
    hb = np.concatenate([np.where(ok[..., None], xb, 0.0), np.ones((*ok.shape, 1))], -1)
    lb = ha @ F.T                          # lines in b
    la = hb @ F                            # lines in a
    d = np.abs(np.sum(hb * lb, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        e = 0.5 * (d / np.hypot(lb[..., 0], lb[..., 1]) + d / np.hypot(la[..., 0], la[..., 1]))
    e = np.where(ok, e, np.nan)
    out = np.full(len(e), np.nan)
    some = ok.sum(1) >= 3
    out[some] = np.nanmedian(e[some], axis=1)
    return out


def _mean(x: np.ndarray) -> float:
    return float(np.nanmean(x)) if np.isfinite(x).any() else 0.0


def _geometric(ref: Poses, view: Poses, cam_a, cam_b, fps: float, rate_b: float,
               frames_a: np.ndarray, frames_b: np.ndarray, people_a: Sequence[int],
               people_b: Sequence[int], start: float, span: float
               ) -> tuple[float, float, int, int]:
    """The offset (camera b frames) in ``start ± span`` at which the two views fit the
    epipolar geometry best, pairing each of ``people_a`` with each of ``people_b`` (the
    people who move: someone standing still, or a statue taken for a person, fits the
    epipolar geometry at every offset): offset, score (px), person in a, person in b.

    The score of an offset is the mean, over the frames where the reference camera sees
    the person, of each frame's median epipolar distance capped at ``EPIPOLAR_CAP`` px,
    the cap also counting for frames the other camera does not show at that offset. So an
    offset that keeps little of the recording in common (or pairs the person with someone
    seen only for a while) cannot win by a few frames that happen to fit: an epipolar line
    constrains a point in one direction only, and some poses fit it at the wrong moment."""
    F = _fundamental(cam_a, cam_b)
    xa = cam_a.undistort(np.where((np.nan_to_num(ref.scores) >= MIN_SCORE)[..., None],
                                  ref.coords[..., :2], np.nan))
    xb = cam_b.undistort(np.where((np.nan_to_num(view.scores) >= MIN_SCORE)[..., None],
                                  view.coords[..., :2], np.nan))
    va = ref._replace(coords=xa)
    vb = view._replace(coords=xb)
    seen_a = {q: int((np.isfinite(xa[:, q]).all(-1).sum(1) >= 3).sum()) for q in people_a}

    def error(o: float) -> tuple[float, int, int]:
        pa, pb = on_timeline([va, vb], [frames_a, frames_b], [0.0, o], fps, [fps, rate_b])
        best = (np.inf, 0, 0)
        for qa in seen_a:
            for qb in people_b:
                e = _epipolar(pa.coords[:, qa], pb.coords[:, qb], F)
                e = np.minimum(e[np.isfinite(e)], EPIPOLAR_CAP)
                score = (e.sum() + EPIPOLAR_CAP * max(seen_a[qa] - len(e), 0)) / max(
                    seen_a[qa], 1)
                best = min(best, (float(score), qa, qb))
        return best

    coarse = np.arange(math.floor(start - span), math.ceil(start + span) + 1)
    errs = [error(float(o))[0] for o in coarse]
    o0 = float(coarse[int(np.argmin(errs))])
    fine = o0 + np.linspace(-1, 1, 21)
    res = [error(float(o)) for o in fine]
    j = int(np.argmin([r[0] for r in res]))
    return float(fine[j]), *res[j]


def estimate_offsets(views: Sequence[Poses], names: Sequence[str], fps: Sequence[float], *,
                     frames: Sequence[np.ndarray] | None = None,
                     max_lag: float | None = None, calibration=None) -> SyncResult:
    """Each camera's time offset relative to the first, from the people's motion.

    Args:
        views: per camera 2D :class:`Poses` ``(T_c, P_c, K, 2)``, pixels.
        names: camera names.
        fps: per camera frame rate, frames/s (they may differ).
        frames: per camera the source frame index of each row (None: ``0..T_c−1``).
        max_lag: largest offset searched, seconds (default: half the shortest video,
            at most 10 s).
        calibration: the cameras' :class:`~posestack.multiview.calibration.Calibration`
            (matched to ``names``), when known: offsets refined by the epipolar geometry.

    Returns:
        :class:`SyncResult`: per camera the offset in its own frames and in seconds
        (camera time − offset = reference time), the correlation and its margin.

    Raises:
        InputError: fewer than two cameras, nobody seen in a camera, a person who does
            not move enough to synchronise, videos too short for the lag asked.
    """
    C = len(views)
    if C < 2:
        raise InputError(f"synchronisation needs at least two cameras; got {C}")
    if not (len(names) == len(fps) == C):
        raise InputError("views, names and fps must have one entry per camera")
    for n, r in zip(names, fps, strict=True):
        if not (isinstance(r, int | float) and math.isfinite(r) and r > 0):
            raise InputError(f"camera {n}: frame rate {r!r} is not a positive number")
    rate = float(max(fps))
    frames = [np.arange(v.n_frames) if frames is None else np.asarray(frames[i], np.int64)
              for i, v in enumerate(views)]
    signals: list[dict[int, np.ndarray]] = []
    durations = []
    for v, n, r, fr in zip(views, names, fps, frames, strict=True):
        cands = ranked_people(v, MIN_SCORE, CANDIDATES)
        if not cands:
            raise InputError(f"camera {n}: nobody was seen with confidence ≥ {MIN_SCORE}: "
                             "nothing to synchronise from")
        sig, motion_of = {}, {}
        for q in cands:
            s, sf = speed_signal(v, q, r, fr)
            sig[q], motion_of[q] = _on_grid(s, sf, r, rate), _mean(s)
        moving = {q: x for q, x in sig.items() if motion_of[q] >= MIN_MOTION}
        motion = max(motion_of.values())
        sig = moving or sig          # someone still (or a statue) says nothing of time
        if not motion >= MIN_MOTION and calibration is None:
            raise InputError(
                f"camera {n}: the person moves too little to synchronise from (mean vertical "
                f"speed {motion:.3f} body heights/s; {MIN_MOTION} needed). Record a few "
                "seconds of clear motion (a jump, arm raises) seen by every camera, give "
                "--calibration (offsets from the geometry need less motion), or give "
                "--offset CAM=N")
        signals.append(sig)
        durations.append(len(fr) / r)
    lag_s = max_lag if max_lag is not None else min(10.0, 0.5 * min(durations))
    if not (isinstance(lag_s, int | float) and lag_s > 0):
        raise InputError(f"--max-lag must be a positive number of seconds; got {max_lag!r}")
    M = round(lag_s * rate)
    lags = np.arange(-M, M + 1)
    min_overlap = int(MIN_OVERLAP_S * rate)
    if min(durations) < MIN_OVERLAP_S + 2 / rate:
        raise InputError(f"a video is {min(durations):.2f} s long: synchronising needs more "
                         f"than {MIN_OVERLAP_S:.0f} s seen by every camera")
    ref_q = max(signals[0], key=lambda q: np.isfinite(signals[0][q]).sum())
    out = [CameraOffset(names[0], 0.0, 0.0, float(fps[0]), 1.0, 1.0, ref_q)]
    warnings: list[str] = []
    for c in range(1, C):
        best = None
        for a in signals[0].values():
            for qb, b in signals[c].items():
                score, pearson = _correlations(a, b, lags, min_overlap)
                if not np.isfinite(score).any():
                    continue
                lag, top = _peak(score, lags)
                far = np.abs(lags - lag) > 0.5 * rate
                margin = (top - float(np.nanmax(score[far]))) / top \
                    if np.isfinite(score[far]).any() and top > 0 else 1.0
                peak = float(pearson[int(np.nanargmax(score))])
                if best is None or top > best[4]:
                    best = (lag, peak, margin, qb, top)
        if best is None and calibration is None:
            raise InputError(f"cameras {names[0]} and {names[c]} never see people at the "
                             f"same time within ±{lag_s:g} s (for over {MIN_OVERLAP_S:g} s): "
                             "nothing to synchronise them by (try --max-lag)")
        lag, peak, margin, q, _ = best if best is not None else (0.0, np.nan, np.nan, 0, 0)
        frames_c = lag / rate * fps[c]
        epi = np.nan
        if calibration is not None:
            span = M / rate * fps[c]
            frames_c, epi, _, q = _geometric(views[0], views[c], calibration[names[0]],
                                             calibration[names[c]], float(fps[0]), float(fps[c]),
                                             frames[0], frames[c], list(signals[0]),
                                             list(signals[c]), 0.0, span)
            if not math.isfinite(epi):
                raise InputError(f"cameras {names[0]} and {names[c]} never see the same "
                                 f"person at the same time within ±{lag_s:g} s: nothing to "
                                 "synchronise them by (try --max-lag)")
        seconds = frames_c / fps[c]
        out.append(CameraOffset(names[c], frames_c, seconds, float(fps[c]), peak, margin, q,
                                epi))
        if calibration is None and (peak < LOW_CONFIDENCE or margin < 0.05):
            warnings.append(f"camera {names[c]}: low confidence (correlation {peak:.2f}, "
                            f"margin {margin:.2f}): check the offset by eye")
        share = abs(seconds) / min(durations[0], durations[c])
        if share > 0.25:
            warnings.append(f"camera {names[c]}: the offset ({seconds:+.2f} s) is "
                            f"{share:.0%} of the shorter video: check it by eye before "
                            "using it (a wrong offset gives a wrong calibration that can "
                            "still look consistent)")
        if abs(abs(frames_c) - M / rate * fps[c]) < 1:
            warnings.append(f"camera {names[c]}: the best offset is at the edge of the range "
                            f"searched (±{lag_s:g} s): raise --max-lag")
    return SyncResult(out, warnings)


def save_offsets(result: SyncResult, path: str | Path) -> None:
    """Write the offsets as TOML: one table per camera (``offset_frames``,
    ``offset_seconds``, ``fps``, ``correlation``, ``margin``)."""
    lines = ["# posestack sync: camera frame - offset_frames = the reference camera's frame",
             f"reference = \"{result.cameras[0].name}\"", ""]
    for c in result.cameras:
        lines += [f"[\"{c.name}\"]", f"offset_frames = {c.frames:.3f}",
                  f"offset_seconds = {c.seconds:.5f}", f"fps = {c.fps:g}",
                  f"correlation = {c.correlation:.3f}", f"margin = {c.margin:.3f}"]
        if math.isfinite(c.epipolar_px):
            lines.append(f"epipolar_px = {c.epipolar_px:.2f}")
        lines.append("")
    with atomic_path(Path(path)) as tmp:
        Path(tmp).write_text("\n".join(lines), encoding="utf-8")


def read_offsets(path: str | Path) -> dict[str, float]:
    """Camera name → offset in its frames, from a file :func:`save_offsets` wrote."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: no such offsets file (write one with 'posestack sync')") \
            from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: not a TOML offsets file ({e})") from None
    out = {}
    for k, v in data.items():
        if isinstance(v, dict):
            f = v.get("offset_frames")
            if not (isinstance(f, int | float) and math.isfinite(f)):
                raise InputError(f"{p}: camera {k} has no numeric offset_frames")
            out[k] = float(f)
    if not out:
        raise InputError(f"{p}: no camera offsets in it (write one with 'posestack sync')")
    return out


__all__ = ["CameraOffset", "SyncResult", "estimate_offsets", "read_offsets", "save_offsets",
           "speed_signal"]
