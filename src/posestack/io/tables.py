"""Parquet long tables of keypoints: one row per (frame, person, keypoint).

Columns (``keypoints2d.parquet``): camera (string), frame (int32, index in the
source), time (float64, s), person (int16), keypoint (string, dictionary
encoded), x, y (float32, pixels), score (float32 in [0, 1]). 3D tables add z
and use metres. Rows exist for each person present in a frame; a keypoint the
model could not place has NaN coordinates and score 0.
"""

from __future__ import annotations

import os

import numpy as np

from ..poses import Poses
from .atomic import atomic_path


def poses_to_table(poses: Poses, frames: np.ndarray, camera: str = "",
                   extra: dict[str, np.ndarray] | None = None):
    """A ``pyarrow.Table`` in the long layout above.

    Args:
        poses: (T, P, K, D) keypoints, D = 2 (x, y) or 3 (x, y, z).
        frames: int ``(T,)`` frame index in the source for each time step.
        camera: camera name written in every row.
        extra: more columns, each ``(T, P, K)`` (e.g. reprojection error), appended
            after ``score`` in the order given.
    """
    import pyarrow as pa

    t, _, k, d = poses.coords.shape
    frames = np.asarray(frames)
    if frames.shape != (t,):
        raise ValueError(f"frames must have shape (T={t},); got {frames.shape}")
    present = poses.present()  # (T, P)
    ti, pi = np.nonzero(present)
    n = len(ti) * k
    coords = poses.coords[ti, pi].reshape(n, d)
    scores = poses.scores[ti, pi].reshape(n)
    names = pa.array(np.tile(np.arange(k, dtype=np.int32), len(ti)))
    keypoint = pa.DictionaryArray.from_arrays(names, pa.array(list(poses.skeleton.keypoints)))
    cols = {
        # dictionary-encoded by hand: Array.dictionary_encode would import
        # pyarrow.compute (~0.1 s) for a column that holds one value
        "camera": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)),
                                                 pa.array([camera] if n else [], pa.string())),
        "frame": pa.array(np.repeat(frames[ti], k).astype(np.int32)),
        "time": pa.array(np.repeat(poses.times[ti], k).astype(np.float64)),
        "person": pa.array(np.repeat(pi, k).astype(np.int16)),
        "keypoint": keypoint,
        "x": pa.array(coords[:, 0].astype(np.float32)),
        "y": pa.array(coords[:, 1].astype(np.float32)),
    }
    if d == 3:
        cols["z"] = pa.array(coords[:, 2].astype(np.float32))
    cols["score"] = pa.array(scores.astype(np.float32))
    for name, values in (extra or {}).items():
        values = np.asarray(values)
        if values.shape != (t, poses.n_people, k):
            raise ValueError(f"column {name} must have shape (T, P, K) = "
                             f"{(t, poses.n_people, k)}; got {values.shape}")
        cols[name] = pa.array(values[ti, pi].reshape(n))
    meta = {b"posestack.skeleton": poses.skeleton.name.encode(),
            b"posestack.space": poses.space.encode(),
            b"posestack.tracked": b"true" if poses.tracked else b"false",
            b"posestack.units": (b"pixels" if d == 2 else b"metres")}
    return pa.table(cols).replace_schema_metadata(meta)


def write_parquet(path: str | os.PathLike, table) -> None:
    """Write a table to Parquet atomically (zstd)."""
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
