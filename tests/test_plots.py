"""Angle plots: files, sizes, layout, errors."""

from __future__ import annotations

import struct
import sys
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from posestack.errors import InputError

pytest.importorskip("matplotlib")

from posestack.render.plots import (
    DEFAULT_GROUPS,
    DPI,
    OTHER,
    _classify,
    _figure_size,
    _layout,
    plot_angles,
    plot_bundle,
)

NAMES = ["left_hip_flexion", "right_hip_flexion", "left_knee_flexion", "right_knee_flexion",
         "left_ankle_dorsiflexion", "right_ankle_dorsiflexion", "left_elbow_flexion",
         "right_elbow_flexion", "trunk_flexion", "pelvis_tilt"]


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def angles(n_people: int = 2, names=NAMES, seconds: float = 3.0):
    t = np.arange(0, seconds, 1 / 30)
    deg = np.stack([np.stack([(20 + 5 * j) * np.sin(2 * np.pi * (0.7 + 0.2 * p) * t)
                              for j in range(len(names))], axis=-1)
                    for p in range(n_people)], axis=1)
    return SimpleNamespace(names=list(names), times=t, degrees=deg)


def long_table(a) -> pa.Table:
    t, p, k = a.degrees.shape
    ti, pi, ki = np.meshgrid(np.arange(t), np.arange(p), np.arange(k), indexing="ij")
    ti, pi, ki = ti.ravel(), pi.ravel(), ki.ravel()
    return pa.table({
        "frame": pa.array(ti.astype(np.int32)),
        "time": pa.array(a.times[ti]),
        "person": pa.array(pi.astype(np.int16)),
        "angle": pa.array(np.asarray(a.names)[ki].tolist()).dictionary_encode(),
        "degrees": pa.array(a.degrees[ti, pi, ki].astype(np.float32)),
    })


def expected_px(names) -> tuple[int, int]:
    w, h = _figure_size(_layout(names, DEFAULT_GROUPS))
    return round(w * DPI), round(h * DPI)


def test_one_png_per_person(tmp_path):
    a = angles(3)
    a.degrees[:, 1] = np.nan  # person 1 has no angles: no plot
    a.degrees[10:20, 0, 2] = np.nan  # a gap
    paths = plot_angles(a, tmp_path / "plots")
    assert [p.name for p in paths] == ["angles_person0.png", "angles_person2.png"]
    for p in paths:
        assert p.stat().st_size > 10_000
        assert png_size(p) == expected_px(NAMES) == (1200, 900)  # 3 groups, 1 row each
    assert sorted(x.name for x in (tmp_path / "plots").iterdir()) == [p.name for p in paths]


def test_table_input_and_person(tmp_path):
    table = long_table(angles(2))
    paths = plot_angles(table, tmp_path, person=1)
    assert [p.name for p in paths] == ["angles_person1.png"]
    with pytest.raises(InputError, match=r"persons present: \[0, 1\]"):
        plot_angles(table, tmp_path, person=4)


def test_layout_groups_sides_and_other():
    names = ["knee_angle_r", "Left knee", "hip_flexion_l", "pelvis_tilt", "pro_sup_r",
             "elbow_flex_l", "hip_adduction_r"]
    lay = _layout(names, DEFAULT_GROUPS)
    assert list(lay) == ["Lower limb", "Upper limb", "Trunk and pelvis", OTHER]
    assert list(lay["Lower limb"]) == ["hip flexion", "hip adduction", "knee angle", "knee"]
    assert lay["Lower limb"]["knee angle"] == [(0, "right")]
    assert lay["Lower limb"]["knee"] == [(1, "left")]
    assert _classify("trunk_flexion", DEFAULT_GROUPS) == ("Trunk and pelvis", 1,
                                                          "trunk flexion", "middle")
    assert list(lay[OTHER]) == ["pro sup"]


def test_wrapped_rows_change_height(tmp_path):
    names = [f"{s}_{j}_flexion" for j in ("hip", "knee", "ankle", "subtalar", "mtp")
             for s in ("left", "right")]
    paths = plot_angles(angles(1, names), tmp_path, groups={"Legs": ("hip", "knee", "ankle",
                                                                     "subtalar", "mtp")})
    # 5 joints -> 2 rows of 4
    assert png_size(paths[0]) == (1200, round((0.6 + 2 * 2.8) * DPI))


def test_bundle(tmp_path):
    pq.write_table(long_table(angles(2)), tmp_path / "angles.parquet")
    paths = plot_bundle(tmp_path)
    assert paths == [tmp_path / "plots" / "angles_person0.png",
                     tmp_path / "plots" / "angles_person1.png"]
    assert all(png_size(p) == (1200, 900) for p in paths)
    other = plot_bundle(tmp_path, tmp_path / "elsewhere")
    assert [p.parent.name for p in other] == ["elsewhere", "elsewhere"]


def test_bundle_without_angles(tmp_path):
    """The advice names commands that exist (there is no --angles option)."""
    with pytest.raises(InputError, match="no joint angles") as e:
        plot_bundle(tmp_path)
    assert "--angles" not in str(e.value) and "posestack run VIDEO -o OUT" in str(e.value)
    with pytest.raises(InputError, match="is not a bundle folder"):
        plot_bundle(tmp_path / "missing")


def test_bundle_with_a_damaged_table(tmp_path):
    pq.write_table(long_table(angles(2)), tmp_path / "angles.parquet")
    data = (tmp_path / "angles.parquet").read_bytes()
    (tmp_path / "angles.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"angles\.parquet is damaged or incomplete.*--force"):
        plot_bundle(tmp_path)


@pytest.mark.parametrize(("bad", "match"), [
    (SimpleNamespace(names=["a"], times=np.arange(3.0), degrees=np.zeros((3, 2))), "T, P, A"),
    (SimpleNamespace(names=["a", "b"], times=np.arange(3.0), degrees=np.zeros((3, 1, 1))),
     "T, P, A"),
    (object(), "names"),
    (pa.table({"time": [0.0], "angle": ["x"]}), "needs columns"),
    (SimpleNamespace(names=[], times=np.zeros(0), degrees=np.zeros((0, 1, 0))), "no angles"),
])
def test_bad_input(tmp_path, bad, match):
    with pytest.raises(InputError, match=match):
        plot_angles(bad, tmp_path)


def test_no_pyplot_or_backend_change(tmp_path):
    import matplotlib

    backend = matplotlib.get_backend()
    had_pyplot = "matplotlib.pyplot" in sys.modules
    plot_angles(angles(1), tmp_path)
    assert matplotlib.get_backend() == backend
    assert had_pyplot or "matplotlib.pyplot" not in sys.modules
