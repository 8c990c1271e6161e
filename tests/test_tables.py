"""Parquet long tables (posestack.io.tables)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from posestack.io.tables import poses_to_table, write_parquet
from posestack.poses import Poses


def _poses(t: int, present: bool) -> Poses:
    coords = np.full((t, 1, 17, 2), np.nan, np.float32)
    scores = np.zeros((t, 1, 17), np.float32)
    if present:
        coords[:] = np.random.default_rng(0).random((t, 1, 17, 2)) * 100
        scores[:] = 0.9
    return Poses("coco17", coords, scores, np.arange(t) / 30.0, "image:cam01", tracked=True)


def test_camera_column_is_dictionary_encoded(tmp_path):
    for present in (True, False):
        table = poses_to_table(_poses(3, present), np.arange(3), "cam01")
        n = table.num_rows
        assert n == (3 * 17 if present else 0)
        # what Array.dictionary_encode gives, built without pyarrow.compute
        assert table["camera"].combine_chunks().equals(
            pa.array(["cam01"] * n, pa.string()).dictionary_encode())
        write_parquet(tmp_path / "k.parquet", table)
        back = pq.read_table(tmp_path / "k.parquet")
        assert back["camera"].to_pylist() == ["cam01"] * n
        assert back["keypoint"].to_pylist()[:2] == (["nose", "left_eye"] if present else [])
