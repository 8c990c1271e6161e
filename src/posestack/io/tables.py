"""Parquet long tables of keypoints: one row per (frame, person, keypoint).

Columns (``keypoints2d.parquet``): camera (string), frame (int32, index in the
source), time (float64, s), person (int16), keypoint (string, dictionary
encoded), x, y (float32, pixels), score (float32 in [0, 1]). 3D tables add z
and use metres. Rows exist for each person present in a frame; a keypoint the
model could not place has NaN coordinates and score 0.

The schema metadata names the skeleton, the space, whether ``person`` is a tracked
identity, the units and the frames the table covers (``posestack.frames``: JSON
``{"first", "last", "times": [first, last]}``, source frame indices and seconds),
so that frames in which nobody was found are known too
(:func:`posestack.pipeline.read_keypoints` gives them back as NaN).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import InputError
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
            b"posestack.frames": json.dumps(
                {"first": int(frames[0]), "last": int(frames[-1]),
                 "times": [float(poses.times[0]), float(poses.times[-1])]} if t else {}
            ).encode(),
            b"posestack.space": poses.space.encode(),
            b"posestack.tracked": b"true" if poses.tracked else b"false",
            b"posestack.units": (b"pixels" if d == 2 else b"metres")}
    return pa.table(cols).replace_schema_metadata(meta)


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None,
                 what: str = "Parquet table"):
    """Read a Parquet file into a ``pyarrow.Table``, with one clear error when it cannot be.

    Raises:
        InputError: the file is missing, or damaged/truncated (the message names the
            file and the fix: rerun what wrote it with ``--force``).
    """
    import pyarrow.parquet as pq

    from .bundle import damaged_file_error

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} not found: {path}")
    try:
        return pq.read_table(path, columns=columns)
    except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ... for a damaged file
        raise damaged_file_error(path, e, what) from None


def write_parquet(path: str | os.PathLike, table) -> None:
    """Write a table to Parquet atomically (zstd)."""
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
