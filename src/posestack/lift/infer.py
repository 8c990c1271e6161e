"""Run an exported lifter (ONNX Runtime) on people's 2D keypoints.

posestack ships one lifter, ``posestack/lift/lifter.onnx``, trained here on generated
motions only (:mod:`posestack.lift.train`; its figures are in the file's metadata);
a user's own (same input and output) is given by path.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

#: The lifter that ships with posestack.
BUNDLED = Path(__file__).with_name("lifter.onnx")
#: The frame rate the lifter was trained at (frames per second).
TRAINED_FPS = 30.0
#: 2D keypoints scored at or below this are missing to the lifter.
MIN_SCORE = 0.3


def lifter_path(model: str | os.PathLike | None) -> Path:
    """The lifter's file: ``None`` or ``"posestack"`` for the bundled one, else a path,
    checked to be a posestack lifter (:class:`InputError` naming the problem if not)."""
    path = BUNDLED if model is None or str(model) == "posestack" else Path(model)
    if not path.is_file():
        if path == BUNDLED:
            raise InputError(f"the bundled lifter {path} is missing: reinstall posestack, or "
                             "train one with `python -m posestack.lift.train --out F.onnx` "
                             "and give --lifter F.onnx")
        what = "is a folder" if path.is_dir() else "not found"
        raise InputError(f"--lifter {path}: {what} (give a lifter .onnx made by `python -m "
                         "posestack.lift.train`, or --lift alone for the bundled one)")
    _describe(str(path.resolve()), path.stat().st_mtime_ns)
    return path


@functools.lru_cache(maxsize=8)
def _describe(path: str, _mtime: int) -> dict[str, Any]:
    import onnx

    try:
        m = onnx.load(path, load_external_data=False)
    except Exception as e:  # any parse failure means "not a model"
        raise InputError(f"--lifter {path} is not an ONNX model ({type(e).__name__}): give a "
                         "lifter made by `python -m posestack.lift.train`") from None

    def shapes(values) -> list[tuple[str, list]]:
        return [(v.name, [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim])
                for v in values]

    inputs, outputs = shapes(m.graph.input), shapes(m.graph.output)
    ok_in = len(inputs) == 1 and inputs[0][0] == "keypoints" and len(inputs[0][1]) == 4 \
        and inputs[0][1][2:] == [17, 3]
    ok_out = len(outputs) == 1 and len(outputs[0][1]) == 4 and outputs[0][1][2:] == [17, 3]
    if not (ok_in and ok_out):
        raise InputError(f"--lifter {path} is not a posestack lifter: it takes {inputs} and "
                         f"gives {outputs}; a lifter takes one input 'keypoints' of shape "
                         "(batch, frames, 17, 3) and gives (batch, frames, 17, 3) (make one "
                         "with `python -m posestack.lift.train`)")
    meta = {p.key: p.value for p in m.metadata_props}
    try:
        return dict(json.loads(meta.get("posestack_lifter", "{}")))
    except (ValueError, TypeError):  # figures unreadable: the model itself is fine
        return {}


def lifter_figures(model: str | os.PathLike | None = None) -> dict[str, Any]:
    """The training figures stored in a lifter (steps, held-out MPJPE/PA-MPJPE in mm...)."""
    path = lifter_path(model)
    return dict(_describe(str(path.resolve()), path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=4)
def _session(path: str, _mtime: int, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def lift(model: str | os.PathLike | None, xy: np.ndarray, scores: np.ndarray, focal: float,
         centre: tuple[float, float], fps: float = TRAINED_FPS, threads: int = 0,
         min_score: float = MIN_SCORE) -> np.ndarray:
    """3D of one person's COCO-17 keypoints over time.

    Args:
        model: the lifter's ``.onnx`` (None: the bundled one).
        xy: ``(T, 17, 2)`` pixels (NaN where missing); ``scores`` ``(T, 17)``.
        focal: the camera's focal length, pixels; ``centre``: its principal point.
        fps: the frames' rate. Above 1.5× the lifter's 30 frames/s, every n-th frame is
            lifted as its own sequence (n phases, interleaved back), so the motion
            reaches the model at about the speed it was trained on.
        threads: ONNX Runtime threads (0: its default).
        min_score: keypoints scored below this count as missing.

    Returns:
        ``(T, 17, 3)`` metres in the camera's axes (x right, y down, z forward),
        relative to the mid-hip; NaN for frames without both hips.
    """
    xy = np.asarray(xy, np.float64)
    if xy.ndim != 3 or xy.shape[1:] != (17, 2):
        raise InputError(f"the lifter takes COCO-17 keypoints (T, 17, 2); got {xy.shape}")
    if not (np.isfinite(focal) and focal > 0):
        raise InputError(f"the lifter needs a positive focal length in pixels; got {focal}")
    path = lifter_path(model)
    sess = _session(str(path.resolve()), path.stat().st_mtime_ns, int(threads))
    ok = np.isfinite(xy).all(-1) & (np.asarray(scores) > min_score)
    uv = xy - np.asarray(centre, np.float64)
    root = uv[:, 11:13].mean(1, keepdims=True)
    has_root = ok[:, 11:13].all(1)
    x = np.where(ok[..., None], (uv - root) / float(focal), 0.0)
    inp = np.concatenate([x, ok[..., None].astype(np.float64)], -1).astype(np.float32)
    inp[~has_root] = 0.0
    step = max(1, round(fps / TRAINED_FPS)) if fps > 1.5 * TRAINED_FPS else 1
    out = np.empty(inp.shape, np.float64)
    for phase in range(min(step, len(inp))):
        out[phase::step] = sess.run(None, {"keypoints": inp[None, phase::step]})[0][0]
    out[~has_root] = np.nan
    return out


def lift_poses(poses, model: str | os.PathLike | None, focal: float | None = None,
               centre: tuple[float, float] | None = None, size: tuple[int, int] | None = None,
               fps: float | None = None, threads: int = 0):
    """Lift every person of a 2D :class:`~posestack.poses.Poses` to 3D.

    Args:
        poses: 2D keypoints in pixels, any layout that maps to COCO-17.
        model: the lifter (None: the bundled one).
        focal: focal length in pixels; None: the image's larger side (about 53° across),
            the guess ``calibrate people`` also starts from. ``size``: ``(width, height)``
            of the image, for that guess and the default principal point (its centre).
        fps: the frames' rate (None: from the times).
        threads: ONNX Runtime threads.

    Returns:
        COCO-17 :class:`Poses` in space ``"camera:<cam>"`` (``<cam>`` from the 2D's
        ``"image:<cam>"``): metres, x right, y down, z forward, origin at the mid-hip.
        Keypoints missing in the 2D (or scored :data:`MIN_SCORE` or less), and frames
        without both hips, are missing (NaN, score 0).
    """
    from ..poses import Poses

    coco = poses if poses.skeleton.name == "coco17" else poses.to_skeleton("coco17")
    if focal is None or centre is None:
        if size is None:
            raise InputError("lift_poses needs the focal length and principal point, or "
                             "the image size to guess them from")
        focal = float(max(size)) if focal is None else focal
        centre = (size[0] / 2.0, size[1] / 2.0) if centre is None else centre
    if fps is None:
        dt = np.diff(coco.times)
        fps = float(1.0 / np.median(dt)) if len(dt) and np.median(dt) > 0 else TRAINED_FPS
    out = np.full((*coco.coords.shape[:3], 3), np.nan, np.float32)
    scores = np.zeros(coco.scores.shape, np.float32)
    for p in range(coco.n_people):
        seen = (coco.scores[:, p] > 0).any(1)
        if not seen.any():
            continue
        # lift the person's span, not the frames before or after it
        a, b = np.flatnonzero(seen)[[0, -1]]
        xyz = lift(model, coco.coords[a:b + 1, p], coco.scores[a:b + 1, p], focal, centre,
                   fps, threads)
        out[a:b + 1, p] = xyz
        got = np.isfinite(xyz).all(-1)
        s = coco.scores[a:b + 1, p]
        scores[a:b + 1, p] = np.where(got & (s > MIN_SCORE), s, 0.0)
    out[scores == 0] = np.nan
    cam = coco.space.split(":", 1)[1] if coco.space.startswith("image:") else "camera"
    return Poses(coco.skeleton, out, scores, coco.times, f"camera:{cam}", tracked=coco.tracked,
                 meta={**coco.meta, "lifter": str(lifter_path(model)), "focal_px": focal})
