"""Recognise what every tracked person does over a long video.

For each person, windows of ``window`` seconds slide along the track every ``stride``
seconds; each window with the person seen in at least half its frames is prepared as the
model was trained (:func:`~posestack.actions.inputs.model_input`: the same normalisation,
sampling to ``clip_len`` frames, looping of a window shorter than that) and classified.
Several models (modalities, part streams, architectures) are an ensemble: their class
probabilities are averaged, with weights if given.

A frame's probabilities are the average of the windows covering it, weighted by a
triangle that peaks at each window's centre, then smoothed by a moving average over
``smooth`` seconds. A frame gets the most probable class when that probability is at
least ``min_score`` (else no label), and runs shorter than ``min_duration`` seconds are
merged into the neighbour that explains them better. The result is one row per segment:
``person, start, end, label, score`` (the mean probability of the label over it).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..poses import Poses
from .data import _bundle_poses
from .inputs import batch_inputs
from .layouts import to_model_layout
from .model import ActionModel, load_model

ACTIONS_FILE = "actions.parquet"
OVERLAY_FILE = "actions.mp4"


@dataclass(frozen=True)
class Segment:
    """One person doing one action from ``start`` to ``end`` (seconds; frames inclusive)."""

    person: int
    start: float
    end: float
    label: str
    score: float
    frame_start: int
    frame_end: int


@dataclass(frozen=True)
class Recognition:
    """Per-frame class probabilities ``probs (T, P, classes)`` (NaN where a person has no
    window), per-frame labels ``labels (T, P)`` (class index, −1: none), the segments."""

    label_names: list[str]
    times: np.ndarray
    frames: np.ndarray
    probs: np.ndarray
    labels: np.ndarray
    segments: list[Segment]


def _check_models(models: Sequence[ActionModel], weights: Sequence[float] | None) -> None:
    if not models:
        raise InputError("give at least one model")
    names = {tuple(m.label_names) for m in models}
    if len(names) != 1:
        raise InputError("the models of an ensemble must share their classes (in order); "
                         f"got {[m.label_names for m in models]}")
    if len({m.dim for m in models}) != 1:
        raise InputError("the models of an ensemble must all be 2D or all 3D")
    if weights is not None and (len(weights) != len(models) or
                                not all(np.isfinite(w) and w >= 0 for w in weights) or
                                not sum(weights) > 0):
        raise InputError(f"give one weight per model ({len(models)}), each >= 0 and not "
                         f"all 0; got {list(weights)}")


def recognise(poses: Poses, models: Sequence[ActionModel], *, window: float = 2.0,
              stride: float = 0.25, smooth: float = 0.5, min_score: float = 0.3,
              min_duration: float = 0.5, weights: Sequence[float] | None = None,
              frames: np.ndarray | None = None, progress: bool = False) -> Recognition:
    """Label every person of ``poses`` over time (see the module doc).

    Args:
        poses: tracked keypoints, 2D (pixels) or 3D (metres, Z up) as the models expect.
        models: one model or an ensemble (same classes, same dimension).
        window, stride, smooth, min_duration: seconds.
        min_score: least probability for a label (0–1).
        weights: one per model (default equal).
        frames: the video frame index of each row of ``poses`` (default 0, 1, ...).
        progress: a line on stderr with windows/s.
    """
    _check_models(models, weights)
    for name, v in (("window", window), ("stride", stride)):
        if not (np.isfinite(v) and v > 0):
            raise InputError(f"{name} must be a positive number of seconds; got {v}")
    if stride > window:
        raise InputError(f"stride ({stride:g} s) must not exceed window ({window:g} s): the "
                         "frames between windows would never be looked at")
    if not (np.isfinite(smooth) and smooth >= 0 and np.isfinite(min_duration)
            and min_duration >= 0):
        raise InputError("smooth and min_duration must be seconds >= 0")
    if not 0.0 <= min_score <= 1.0:
        raise InputError(f"min_score must be within 0..1; got {min_score}")
    dim = models[0].dim
    if poses.coords.shape[-1] != dim:
        raise InputError(f"the model takes {dim}D keypoints; these are "
                         f"{poses.coords.shape[-1]}D")
    T, P = poses.n_frames, poses.n_people
    times = np.asarray(poses.times, float)
    frames = np.arange(T) if frames is None else np.asarray(frames)
    w = np.ones(len(models)) if weights is None else np.asarray(weights, float)
    w = w / w.sum()
    n_cls = len(models[0].label_names)
    acc = np.zeros((T, P, n_cls))
    wsum = np.zeros((T, P))
    layouts = {m.config.layout for m in models}
    mapped = {lay: to_model_layout(poses, lay) for lay in layouts}   # (P, T, V, C), (P, T, V)
    t0 = time.perf_counter()
    centres = np.arange(times[0], times[-1] + 1e-9, stride) if T else np.zeros(0)
    half = window / 2
    jobs: list[tuple[int, np.ndarray, float]] = []
    for p in range(P):
        for c in centres:
            sel = np.nonzero((times >= c - half) & (times < c + half))[0]
            if sel.size == 0:
                continue
            seen = next(iter(mapped.values()))[1][p, sel]        # (frames, V) scores
            if ((seen > 0).mean(axis=1) >= 0.5).mean() < 0.5:     # seen in half the frames
                continue
            jobs.append((p, sel, c))
    if not jobs:
        return Recognition(list(models[0].label_names), times, frames,
                           np.full((T, P, n_cls), np.nan), np.full((T, P), -1), [])
    probs = np.zeros((len(jobs), n_cls))
    for m, wm in zip(models, w, strict=True):
        coords, scores = mapped[m.config.layout]
        X = batch_inputs([_ann(coords, scores, p, sel, dim) for p, sel, _ in jobs], m.config)
        probs += wm * m.probabilities(X)
    for (p, sel, c), pr in zip(jobs, probs, strict=True):
        tri = np.maximum(1.0 - np.abs(times[sel] - c) / half, 1e-3)
        acc[sel, p] += tri[:, None] * pr
        wsum[sel, p] += tri
    if progress:
        dt = time.perf_counter() - t0
        print(f"{len(jobs)} windows in {dt:.1f} s ({len(jobs) / max(dt, 1e-9):.0f}/s)",
              file=sys.stderr, flush=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        fp = acc / wsum[..., None]
    fp[wsum == 0] = np.nan
    fp = _smooth(fp, times, smooth)
    # a window's probabilities reach only the frames where its person is seen (gaps
    # under GAP_FILL seconds bridged): a segment never runs before a person comes into
    # view or after they leave
    fp[~_present(next(iter(mapped.values()))[1], times, GAP_FILL)] = np.nan
    labels = np.where(np.nan_to_num(fp).max(-1) >= min_score,
                      np.nan_to_num(fp, nan=-1).argmax(-1), -1)
    labels[~np.isfinite(fp).all(-1)] = -1
    segs: list[Segment] = []
    dt_frame = float(np.median(np.diff(times))) if T > 1 else 0.0
    names = list(models[0].label_names)
    for p in range(P):
        lab = _merge_short(labels[:, p].copy(), fp[:, p], times, min_duration)
        labels[:, p] = lab
        for a, b in _runs(lab):
            k = int(lab[a])
            if k < 0:
                continue
            segs.append(Segment(p, float(times[a]), float(times[b] + dt_frame), names[k],
                                float(np.nanmean(fp[a:b + 1, p, k])), int(frames[a]),
                                int(frames[b])))
    segs.sort(key=lambda s: (s.person, s.start))
    return Recognition(names, times, frames, fp, labels, segs)


GAP_FILL = 0.5  # seconds: a person unseen for less than this is still there


def _present(scores: np.ndarray, times: np.ndarray, gap: float) -> np.ndarray:
    """``(T, P)`` frames where each person is seen (any point scored), with gaps of less
    than ``gap`` seconds inside a track bridged; ``scores`` is ``(P, T, V)``."""
    from ..filters import true_runs

    seen = (scores > 0).any(-1).T                                    # (T, P)
    out = seen.copy()
    for p in range(seen.shape[1]):
        for a, b in zip(*true_runs(~seen[:, p]), strict=True):
            if a > 0 and b < len(times) and times[b] - times[a - 1] <= gap + 1e-9:
                out[a:b, p] = True
    return out


def _ann(coords: np.ndarray, scores: np.ndarray, p: int, sel: np.ndarray,
         dim: int) -> dict[str, Any]:
    kp = np.nan_to_num(coords[p:p + 1, sel, :, :dim], nan=0.0)
    ann: dict[str, Any] = {"keypoint": kp}
    if dim == 2:
        ann["keypoint_score"] = scores[p:p + 1, sel]
    return ann


def _smooth(fp: np.ndarray, times: np.ndarray, seconds: float) -> np.ndarray:
    """Moving average over ``seconds`` along time, ignoring NaN (NaN stays NaN)."""
    if seconds <= 0 or len(times) < 2:
        return fp
    dt = float(np.median(np.diff(times)))
    k = max(1, round(seconds / dt) | 1)
    k = min(k, len(times) if len(times) % 2 else len(times) - 1)   # no longer than the clip
    if k == 1:
        return fp
    ok = np.isfinite(fp).all(-1, keepdims=True)
    v = np.where(ok, fp, 0.0)
    ker = np.ones(k)
    num = np.apply_along_axis(lambda a: np.convolve(a, ker, mode="same"), 0, v)
    den = np.apply_along_axis(lambda a: np.convolve(a, ker, mode="same"), 0,
                              ok.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return np.where(ok, out, np.nan)


def _runs(lab: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` index of each run of equal values."""
    if lab.size == 0:
        return []
    cut = np.nonzero(np.diff(lab))[0]
    starts = np.r_[0, cut + 1]
    ends = np.r_[cut, lab.size - 1]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _merge_short(lab: np.ndarray, fp: np.ndarray, times: np.ndarray,
                 min_duration: float) -> np.ndarray:
    """Give each labelled run shorter than ``min_duration`` to the neighbouring label
    that is more probable over it; drop it when its neighbours are unlabelled frames, keep
    it when it is all that is seen of the person (a short clip)."""
    if min_duration <= 0 or lab.size < 2:
        return lab
    dt = float(np.median(np.diff(times)))
    seen = np.isfinite(fp).all(-1)
    keep: set[tuple[int, int]] = set()
    while True:
        runs = [(a, b) for a, b in _runs(lab) if lab[a] >= 0 and (a, b) not in keep and
                (b - a + 1) * dt < min_duration - 1e-9]
        if not runs:
            return lab
        a, b = min(runs, key=lambda r: r[1] - r[0])
        cands = [lab[i] for i in (a - 1, b + 1) if 0 <= i < lab.size and lab[i] >= 0]
        if cands:
            best = max(cands, key=lambda k: np.nanmean(fp[a:b + 1, k]))
            lab[a:b + 1] = best
        elif all(not (0 <= i < lab.size) or not seen[i] for i in (a - 1, b + 1)):
            keep.add((a, b))     # all there is of this person (a short clip): keep it
        else:
            lab[a:b + 1] = -1


def segment_iou(pred: Sequence[Segment], truth: Sequence[tuple[int, float, float, str]]
                ) -> list[float]:
    """For each true ``(person, start, end, label)``: the best temporal IoU with a
    predicted segment of the same person and label (0 when there is none)."""
    out = []
    for person, s, e, label in truth:
        best = 0.0
        for g in pred:
            if g.person != person or g.label != label:
                continue
            inter = max(0.0, min(e, g.end) - max(s, g.start))
            union = max(e, g.end) - min(s, g.start)
            best = max(best, inter / union if union > 0 else 0.0)
        out.append(best)
    return out


def write_actions(path: str | os.PathLike, rec: Recognition, meta: dict[str, str]) -> Path:
    """``actions.parquet``: one row per segment (person, start, end, label, score,
    frame_start, frame_end), written atomically, with ``meta`` in its schema metadata."""
    import pyarrow as pa

    from ..io.tables import write_parquet

    s = rec.segments
    table = pa.table({
        "person": pa.array([g.person for g in s], pa.int32()),
        "start": pa.array([g.start for g in s], pa.float64()),
        "end": pa.array([g.end for g in s], pa.float64()),
        "label": pa.array([g.label for g in s], pa.string()),
        "score": pa.array([g.score for g in s], pa.float32()),
        "frame_start": pa.array([g.frame_start for g in s], pa.int64()),
        "frame_end": pa.array([g.frame_end for g in s], pa.int64()),
    }).replace_schema_metadata({f"posestack.{k}": v for k, v in meta.items()})
    write_parquet(path, table)
    return Path(path)


def predict_bundle(bundle: str | os.PathLike, models: Sequence[str | os.PathLike], *,
                   window: float = 2.0, stride: float = 0.25, smooth: float = 0.5,
                   min_score: float = 0.3, min_duration: float = 0.5,
                   weights: Sequence[float] | None = None, video: bool = True,
                   backend: str = "auto", progress: bool = True) -> tuple[Recognition, list[Path]]:
    """Recognise the actions of every person in a bundle and write ``actions.parquet``
    (and ``actions.mp4``, each person's current action drawn over the video, when
    ``video``). Models are folders from ``posestack actions train`` (or their files).

    Returns:
        the recognition and the files written.

    Raises:
        InputError: no such bundle, models that disagree, a bundle without the keypoints
            the models take (2D or 3D).
    """
    b = Path(bundle).expanduser()
    if not (b / "manifest.json").is_file():
        raise InputError(f"{b} is not a finished posestack bundle (no manifest.json): run "
                         "'posestack run' on the video first")
    loaded = [load_model(m, backend=backend) for m in models]
    _check_models(loaded, weights)
    poses, frames = _bundle_poses(b, loaded[0].dim)
    rec = recognise(poses, loaded, window=window, stride=stride, smooth=smooth,
                    min_score=min_score, min_duration=min_duration, weights=weights,
                    frames=frames, progress=progress)
    meta = {"models": ";".join(str(m.path) for m in loaded),
            "backend": ",".join(sorted({m.backend for m in loaded})),
            "window": str(window), "stride": str(stride), "smooth": str(smooth),
            "min_score": str(min_score), "min_duration": str(min_duration)}
    written = [write_actions(b / ACTIONS_FILE, rec, meta)]
    if not video and (b / OVERLAY_FILE).is_file():
        (b / OVERLAY_FILE).unlink()   # it showed the previous predictions
        print(f"removed {b / OVERLAY_FILE}: it showed the previous predictions (rerun "
              "without --no-video to draw these)", file=sys.stderr)
    if video:
        from .overlay import drawable, render_actions

        written.append(render_actions(b, drawable(b, poses), rec, b / OVERLAY_FILE,
                                      progress=progress))
    return rec, written


__all__ = ["ACTIONS_FILE", "OVERLAY_FILE", "Recognition", "Segment", "evaluate_models",
           "predict_bundle",
           "recognise", "segment_iou", "write_actions"]


def _check_clips_fit(anns: list[dict[str, Any]], model: ActionModel) -> None:
    """Refuse clips of another dimension or joint count than ``model`` takes."""
    from .layouts import MODEL_LAYOUTS

    n_joints = len(MODEL_LAYOUTS[model.config.layout][0])
    for a in anns:
        shape = np.shape(a["keypoint"])
        if shape[-1] != model.dim or shape[-2] != n_joints:
            raise InputError(
                f"{model.path} takes {model.dim}D clips of {n_joints} joints "
                f"({model.config.layout}); the dataset's clip {a.get('frame_dir', '?')!r} is "
                f"{shape[-1]}D with {shape[-2]} joints: evaluate it with a model trained on "
                "such clips")


def evaluate_models(data, models: Sequence[ActionModel], *, split: str = "val",
                    weights: Sequence[float] | None = None) -> dict[str, Any]:
    """Top-1 accuracy of each model and of their ensemble (weighted mean probabilities)
    on one split of an :class:`~posestack.actions.data.ActionData`.

    Returns:
        ``per_model`` (accuracies), ``accuracy`` (the ensemble's), ``confusion`` (its
        ``(classes, classes)`` counts) and ``label_names``.
    """
    from .train import confusion

    _check_models(models, weights)
    if list(models[0].label_names) != list(data.label_names):
        raise InputError(f"the models' classes {models[0].label_names} are not the "
                         f"dataset's {data.label_names}")
    by_dir = {a["frame_dir"]: a for a in data.annotations}
    anns = [by_dir[d] for d in data.split.get(split, [])]
    if not anns:
        raise InputError(f"the dataset has no clips in split {split!r} (splits: "
                         f"{', '.join(data.split) or 'none'})")
    for m in models:
        _check_clips_fit(anns, m)
    y = np.array([int(a["label"]) for a in anns])
    w = np.ones(len(models)) if weights is None else np.asarray(weights, float)
    w = w / w.sum()
    total = np.zeros((len(anns), len(data.label_names)))
    per = []
    for m, wm in zip(models, w, strict=True):
        pr = m.probabilities(batch_inputs(anns, m.config))
        per.append(float((pr.argmax(1) == y).mean()))
        total += wm * pr
    pred = total.argmax(1)
    return {"per_model": per, "accuracy": float((pred == y).mean()),
            "confusion": confusion(y, pred, len(data.label_names)),
            "label_names": list(data.label_names)}
