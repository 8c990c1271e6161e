"""Run an exported lifter (ONNX Runtime) on a person's 2D keypoints."""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError


def lift(model: str | os.PathLike, xy: np.ndarray, scores: np.ndarray, focal: float,
         centre: tuple[float, float]) -> np.ndarray:
    """3D of one person's COCO-17 keypoints over time.

    Args:
        model: the lifter's ``.onnx`` (:mod:`posestack.lift.train`).
        xy: ``(T, 17, 2)`` pixels (NaN where missing); ``scores`` ``(T, 17)``.
        focal: the camera's focal length, pixels; ``centre``: its principal point.

    Returns:
        ``(T, 17, 3)`` metres in the camera's axes (x right, y down, z forward),
        relative to the mid-hip; NaN for frames without both hips.
    """
    import onnxruntime as ort

    xy = np.asarray(xy, np.float64)
    if xy.ndim != 3 or xy.shape[1:] != (17, 2):
        raise InputError(f"the lifter takes COCO-17 keypoints (T, 17, 2); got {xy.shape}")
    ok = np.isfinite(xy).all(-1) & (np.asarray(scores) > 0.3)
    uv = xy - np.asarray(centre, np.float64)
    root = uv[:, 11:13].mean(1, keepdims=True)
    has_root = ok[:, 11:13].all(1)
    x = np.where(ok[..., None], (uv - root) / float(focal), 0.0)
    inp = np.concatenate([x, ok[..., None].astype(np.float64)], -1)[None].astype(np.float32)
    inp[0, ~has_root] = 0.0
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    out = sess.run(None, {"keypoints": inp})[0][0].astype(np.float64)
    out[~has_root] = np.nan
    return out
