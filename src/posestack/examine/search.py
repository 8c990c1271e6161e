"""Where an estimator breaks: PCK against its own clean run, under growing perturbations.

:func:`examine` samples frames of a video (or the images of a folder), runs the
estimator on each clean frame (the reference: per frame, the person with the highest
score and at least 8 keypoints scored 0.5 or more), then on the frames perturbed at
severities 1 to 5. A keypoint counts as found when it lies within ``alpha`` (0.1) of
the person's size (the longer side of their keypoints' box) of the clean one; a person
not found at all counts every keypoint as lost. The PCK of a severity is over every
frame. An estimator **fails** where the PCK drops below ``fail_below`` (0.5); the
severity is then narrowed by bisection between the last severity that passed and the
first that failed, and reported with the perturbation's own parameter (blur sigma in
pixels, JPEG quality…). This is PoseExaminer's idea (search the perturbation space for
failures) on real frames with image-space perturbations.

With a multi-view reference (``truth``, :func:`posestack.examine.truth.reprojected`: a
trial's 3D reprojected into the examined camera), that reference replaces the clean
run: the PCK is against it, the person's size is the reference's, and a ``clean`` row
gives the unperturbed frames' PCK.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..progress import progress_bar
from . import perturb as pt

log = logging.getLogger(__name__)

DEFAULT = ("blur", "noise", "jpeg", "dark", "rotate", "occlude:left_leg")
MIN_KEYPOINTS = 8


@dataclass(frozen=True)
class Frames:
    """The sampled frames: ``images`` (RGB uint8), their source ``indices``; and the
    clean reference per frame: ``xy`` ``(F, K, 2)`` pixels, ``ok`` ``(F, K)`` keypoints
    scored ≥ 0.5, ``size`` ``(F,)`` pixels; ``names`` the K keypoint names."""

    images: list[np.ndarray]
    indices: np.ndarray
    xy: np.ndarray
    ok: np.ndarray
    size: np.ndarray
    names: tuple[str, ...]


@dataclass
class Examination:
    """What :func:`examine` found: ``rows`` (perturbation, severity, parameter, unit,
    pck, lost: the share of frames where no person was found, frames), ``failures``
    (perturbation, fails_at severity or None, parameter, unit, pck_at_5), and the
    ``fail_below`` PCK they were judged by; ``reference`` what the PCK is against."""

    rows: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    frames: int
    calls: int
    fail_below: float
    reference: str = "the clean frames"


def _read_frames(source: Path, count: int
                 ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None]:
    """Sampled frames, their indices and times (s; None for images)."""
    from ..io.media import IMAGE_EXTENSIONS, frames_by_index, media_files, probe, read_image

    if source.is_dir():
        files = [f for f in media_files(source) if f.suffix.lower() in IMAGE_EXTENSIONS]
        if not files:
            raise InputError(f"{source} has no images (give a video or a folder of images)")
        pick = np.unique(np.linspace(0, len(files) - 1, min(count, len(files))).round()
                         ).astype(int)
        return [read_image(files[i]) for i in pick], pick, None
    if not source.is_file():
        raise InputError(f"{source} not found: give a video or a folder of images")
    info = probe(source)
    if info.kind == "image":
        return [read_image(source)], np.array([0]), None
    n = info.n_frames or 1
    pick = np.unique(np.linspace(0, n - 1, min(count, n)).round()).astype(int)
    got = [(i, rgb) for i, rgb in frames_by_index(source, pick) if rgb is not None]
    if not got:
        raise InputError(f"no frame of {source} could be read")
    idx = np.array([i for i, _ in got])
    times = idx / info.fps if info.fps else None
    return [rgb for _, rgb in got], idx, times


def _best(people: Sequence[Any]) -> Any | None:
    scored = [p for p in people if (np.asarray(p.scores) >= 0.5).sum() >= MIN_KEYPOINTS]
    if not scored:
        return None
    return max(scored, key=lambda p: float(np.mean(p.scores)))


def reference(images: list[np.ndarray], indices: np.ndarray, est: Callable,
              names: tuple[str, ...], truth: Any = None, times: np.ndarray | None = None
              ) -> tuple[Frames, list[list[Any]]]:
    """The reference on the frames, and the estimator's clean people per kept frame.

    Without ``truth``: the estimator's clean results (frames with nobody clear dropped).
    With ``truth`` (a :class:`posestack.examine.truth.Truth`) and the frames' ``times``:
    its keypoints in each frame (frames it does not cover dropped).

    Raises:
        InputError: nobody is found clearly in any frame, or the reference covers none.
    """
    clean = [est(rgb, 0.0) for rgb in images]
    best = [_best(c) for c in clean]
    if truth is None:
        keep = [i for i, p in enumerate(best) if p is not None]
        if not keep:
            raise InputError("the estimator finds nobody clearly (8 keypoints or more "
                             "scored 0.5) in any sampled frame: nothing to examine (for "
                             "people far from the camera, try --person-detector auto)")
        xy = np.stack([np.asarray(best[i].xy, np.float64) for i in keep])
        ok = np.stack([np.asarray(best[i].scores) >= 0.5 for i in keep])
    else:
        from .truth import truth_frames

        if times is None:
            raise InputError("a multi-view reference needs a video (frame times), not images")
        txy, has = truth_frames(truth, times, names, [
            None if p is None else np.asarray(p.xy, np.float64) for p in best])
        keep = list(np.flatnonzero(has))
        if not keep:
            raise InputError(f"the reference ({truth.source}, {truth.times[0]:.2f}-"
                             f"{truth.times[-1]:.2f} s) covers none of the sampled frames "
                             f"({times[0]:.2f}-{times[-1]:.2f} s)")
        if len(keep) < len(images):
            log.warning("%d of the %d sampled frames fall outside the reference (%.2f-%.2f "
                        "s) or show nobody it has: examined on %d", len(images) - len(keep),
                        len(images), truth.times[0], truth.times[-1], len(keep))
        xy = txy[keep]
        ok = np.isfinite(xy).all(-1)
    box = np.where(ok[..., None], xy, np.nan)
    size = np.nanmax(np.nanmax(box, 1) - np.nanmin(box, 1), -1)
    return (Frames([images[i] for i in keep], indices[keep], xy, ok, size, names),
            [clean[i] for i in keep])


def _pck(people: Sequence[Any], ref_xy: np.ndarray, ok: np.ndarray, size: float,
         back: pt.MapBack, alpha: float) -> tuple[int, int, bool]:
    """(keypoints found, keypoints counted, person found) for one perturbed frame."""
    best = max((int(((np.linalg.norm(back(np.asarray(p.xy, np.float64)) - ref_xy, axis=1)
                      <= alpha * size) & ok).sum()) for p in people), default=0)
    return best, int(ok.sum()), len(people) > 0


def make_examined(estimator: str | Callable, names: Sequence[str] | None,
                  model: str | os.PathLike | None, person_detector: str,
                  num_threads: int | None) -> tuple[Callable, tuple[str, ...]]:
    """The estimator to examine, as ``est(rgb, t)`` returning people, and its keypoint
    names: a posestack estimator by name (on single images), or a callable with the
    ``names`` given."""
    if callable(estimator):
        if names is None:
            raise InputError("a callable estimator needs its keypoint names (names=...)")
        return estimator, tuple(names)
    from ..estimate import make_estimator
    from ..skeletons import get_skeleton

    est = make_estimator(estimator, static=True, max_people=2, model=model,
                         person_detector=person_detector, num_threads=num_threads)
    return est, tuple(get_skeleton(est.skeleton_name).keypoints)


def search(perts: Sequence[pt.Perturbation], measure: Callable[[pt.Perturbation, float],
           dict[str, Any]], fail_below: float, refine: int
           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Measure each perturbation at severities 1 to 5, then narrow its first failing
    severity by ``refine`` bisection steps.

    Args:
        perts: the perturbations (or sweeps) to search.
        measure: ``measure(p, severity)`` returns a row with at least ``pck`` (called
            once per perturbation and severity).
        fail_below: the PCK under which the estimator fails.
        refine: bisection steps.

    Returns:
        ``(rows, failures)``: every row measured, sorted by perturbation and severity;
        per perturbation, ``fails_at`` (the severity, None if it never fails),
        ``parameter`` and ``unit`` there, and ``pck_at_5``.
    """
    rows, failures = [], []
    cache: dict[tuple[str, float], dict[str, Any]] = {}

    def measured(p: pt.Perturbation, s: float) -> dict[str, Any]:
        key = (p.name, round(s, 6))
        if key not in cache:
            cache[key] = measure(p, s)
        return cache[key]

    for p in perts:
        grid = [measured(p, float(s)) for s in range(1, 6)]
        rows.extend(grid)
        bad = [r for r in grid if r["pck"] < fail_below]
        if not bad:
            failures.append({"perturbation": p.name, "fails_at": None, "parameter": None,
                             "unit": p.unit, "pck_at_5": grid[-1]["pck"]})
            continue
        first = bad[0]["severity"]
        lo, hi = first - 1.0, first
        if first > 1:
            for _ in range(refine):
                mid = (lo + hi) / 2
                r = measured(p, mid)
                rows.append(r)
                lo, hi = (lo, mid) if r["pck"] < fail_below else (mid, hi)
        failures.append({"perturbation": p.name, "fails_at": round(hi, 3),
                         "parameter": round(p.parameter(hi), 4), "unit": p.unit,
                         "pck_at_5": grid[-1]["pck"]})
    rows.sort(key=lambda r: (r["perturbation"], r["severity"]))
    return rows, failures


def examine(source: str | os.PathLike, estimator: str | Callable = "blazepose", *,
            model: str | os.PathLike | None = None, frames: int = 100,
            perturbations: Sequence[str] = DEFAULT, alpha: float = 0.1,
            fail_below: float = 0.5, refine: int = 3, names: Sequence[str] | None = None,
            person_detector: str = "blazepose", num_threads: int | None = None,
            progress: bool = True, truth: Any = None) -> Examination:
    """Search each perturbation for the severity at which the estimator fails.

    Args:
        source: a video or a folder of images.
        estimator: a posestack estimator name (``blazepose``, ``holistic``, ``rtmw``,
            ``dwpose``, ``rtmpose``, ``rtmo``), or a callable ``est(rgb, t)`` returning
            people with ``xy (K, 2)`` and ``scores (K,)`` (then give ``names``).
        model: the ``.onnx`` file of an ONNX estimator.
        frames: frames sampled evenly from the video.
        perturbations: names from :mod:`posestack.examine.perturb` (``blur``, ``noise``,
            ``jpeg``, ``dark``, ``contrast``, ``rotate``, ``resolution``, ``crop``,
            ``occlude:<part>``).
        alpha: a keypoint is found within ``alpha`` × the person's size of the clean one.
        fail_below: the PCK under which the estimator fails.
        refine: bisection steps between the last passing and the first failing severity.
        names: the keypoint names of a callable estimator.
        person_detector, num_threads: as in :func:`posestack.run`; the default here is
            ``"blazepose"`` (MediaPipe's detector, the one BlazePose is paired with):
            examine audits the pose model on the clearest person of each frame;
            ``"auto"`` audits the multi-person search too, at about 4 times the cost.
        progress: a progress bar over the estimator calls.
        truth: a multi-view reference (:func:`posestack.examine.truth.reprojected`) to
            score against instead of the clean run (videos only).

    Returns:
        an :class:`Examination`.

    Raises:
        InputError: a bad perturbation name or option, an unreadable source, an
            estimator that finds nobody clearly in any frame, or a reference that the
            clean frames already miss (another camera or another recording).
    """
    if not 0 < alpha <= 1:
        raise InputError(f"alpha must be in (0, 1]; got {alpha}")
    if not 0 < fail_below < 1:
        raise InputError(f"fail_below must be between 0 and 1; got {fail_below}")
    if frames < 1:
        raise InputError(f"--frames must be at least 1; got {frames}")
    if refine < 0:
        raise InputError(f"refine must be 0 or more; got {refine}")
    perts = [pt.get(n) for n in dict.fromkeys(perturbations)]  # each once
    if not perts:
        raise InputError("no perturbation given: name at least one (e.g. blur,noise,jpeg)")
    est, kp_names = make_examined(estimator, names, model, person_detector, num_threads)
    images, indices, times = _read_frames(Path(source).expanduser(), frames)
    ref, clean = reference(images, indices, est, kp_names, truth, times)
    n = len(ref.images)
    clean_row = None
    if truth is not None:
        got = [_pck(clean[f], ref.xy[f], ref.ok[f], ref.size[f], lambda a: a, alpha)
               for f in range(n)]
        total = sum(g[1] for g in got)
        clean_row = {"perturbation": "clean", "severity": 0.0, "parameter": 0.0, "unit": "",
                     "pck": sum(g[0] for g in got) / total if total else float("nan"),
                     "lost": sum(not g[2] for g in got) / n, "frames": n}
        if not clean_row["pck"] >= fail_below:
            raise InputError(f"against the reference ({truth.source}) the clean frames "
                             f"already score PCK {clean_row['pck']:.2f} < {fail_below:g}: "
                             "the reference is not of this video (another camera, another "
                             "recording, or offsets), or the estimator fails unperturbed")
    bar = progress_bar(n * len(perts) * (5 + refine), "examine", unit="call",
                       enabled=progress)
    calls = n

    def measure(p: pt.Perturbation, s: float) -> dict[str, Any]:
        nonlocal calls
        good = total = lost = 0
        for f in range(n):
            img, back, vis = pt.apply(p, ref.images[f], s, ref.xy[f], kp_names, seed=f)
            ok = ref.ok[f] if vis is None else ref.ok[f] & vis
            people = est(np.ascontiguousarray(img), 0.0) if img.size else []
            g, t, found = _pck(people, ref.xy[f], ok, ref.size[f], back, alpha)
            good, total, lost = good + g, total + t, lost + (not found)
            calls += 1
            bar.update(1)
        row = {"perturbation": p.name, "severity": round(s, 4),
               "parameter": round(p.parameter(s), 4), "unit": p.unit,
               "pck": good / total if total else float("nan"), "lost": lost / n, "frames": n}
        return row

    try:
        rows, failures = search(perts, measure, fail_below, refine)
    finally:
        bar.close()
    if clean_row is not None:
        rows.insert(0, clean_row)
    return Examination(rows, failures, n, calls, fail_below,
                       "the clean frames" if truth is None else truth.source)
