"""Tests for posestack.io.trc: exact header, Y-up mapping, round trips, missing points, errors."""

from __future__ import annotations

import numpy as np
import pytest

from posestack.errors import InputError
from posestack.io.trc import POSE2SIM_NAMES, read_trc, write_trc, yup_to_zup, zup_to_yup
from posestack.poses import Poses
from posestack.skeletons import get_skeleton


def world_poses(t=6, p=2, skeleton="coco17", fps=30.0, seed=0, start=0.0, space="world"):
    rng = np.random.default_rng(seed)
    k = len(get_skeleton(skeleton))
    coords = rng.uniform(-2.0, 2.0, size=(t, p, k, 3))
    scores = rng.uniform(0.3, 1.0, size=(t, p, k))
    return Poses(skeleton, coords, scores, start + np.arange(t) / fps, space)


def opensim_tokens(line: str) -> list[str]:
    """Fields as OpenSim 4's FileAdapter::tokenize splits a data row on tabs.

    Empty fields between tabs are kept; a trailing tab adds no field.
    """
    fields = line.split("\t")
    return fields[:-1] if fields[-1] == "" else fields


# -- axis convention ---------------------------------------------------------------------


def test_axis_functions_are_pose2sim_zup2yup_and_inverse():
    # Pose2Sim's zup2yup reorders columns [Y, Z, X]: file X = world y, Y = z, Z = x.
    assert zup_to_yup(np.array([1.0, 2.0, 3.0])).tolist() == [2.0, 3.0, 1.0]
    assert yup_to_zup(np.array([2.0, 3.0, 1.0])).tolist() == [1.0, 2.0, 3.0]
    pts = np.random.default_rng(1).normal(size=(4, 5, 3))
    np.testing.assert_array_equal(yup_to_zup(zup_to_yup(pts)), pts)
    # a proper rotation: the permutation matrix has determinant +1 (handedness kept)
    m = zup_to_yup(np.eye(3))
    assert np.isclose(np.linalg.det(m), 1.0)
    # world up (Z) becomes OpenSim up (Y)
    assert zup_to_yup(np.array([0.0, 0.0, 1.0])).tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(InputError, match=r"\(\.\.\., 3\)"):
        zup_to_yup(np.zeros((2, 2)))


def test_point_in_z_up_world_is_written_as_y_z_x(tmp_path):
    coords = np.full((2, 1, 17, 3), np.nan)
    coords[:, 0, 0] = [0.1, 0.2, 1.7]  # nose at world x=0.1, y=0.2, z=1.7 (height)
    poses = Poses("coco17", coords, np.where(np.isnan(coords[..., 0]), 0, 1.0),
                  [0.0, 0.01], "world")
    write_trc(tmp_path / "up.trc", poses, names={"nose": "Nose"})
    rows = (tmp_path / "up.trc").read_text().splitlines()[6:]
    assert rows[0].split("\t")[2:] == ["0.200000", "1.700000", "0.100000"]
    write_trc(tmp_path / "raw.trc", poses, names={"nose": "Nose"}, rotate_to_y_up=False)
    rows = (tmp_path / "raw.trc").read_text().splitlines()[6:]
    assert rows[0].split("\t")[2:] == ["0.100000", "0.200000", "1.700000"]
    assert "Z up" in (tmp_path / "raw.trc").read_text().splitlines()[0]


# -- exact format ------------------------------------------------------------------------


def test_header_and_rows_exact_for_a_tiny_file(tmp_path):
    coords = np.zeros((2, 1, 17, 3))
    coords[:, 0, 0] = [[1.0, 2.0, 3.0], [1.5, 2.5, 3.5]]  # nose
    coords[:, 0, 1] = [[-1.0, 0.0, 0.25], [np.nan] * 3]  # left eye, missing in frame 2
    scores = np.ones((2, 1, 17))
    poses = Poses("coco17", coords, scores, [0.5, 0.6], "world")
    write_trc(tmp_path / "tiny.trc", poses, names={"nose": "Nose", "left_eye": "LEye"},
              frame_offset=10)
    text = (tmp_path / "tiny.trc").read_text()
    assert text.endswith("\n") and "\r" not in text
    assert text.splitlines() == [
        "PathFileType\t4\t(X/Y/Z)\ttiny.trc (posestack: Y up; X,Y,Z = world y,z,x)",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate"
        "\tOrigDataStartFrame\tOrigNumFrames",
        "10\t10\t2\t2\tm\t10\t11\t2",
        "Frame#\tTime\tNose\t\t\tLEye\t\t\t",
        "\t\tX1\tY1\tZ1\tX2\tY2\tZ2\t",
        "",
        "11\t0.500000\t2.000000\t3.000000\t1.000000\t0.000000\t0.250000\t-1.000000",
        "12\t0.600000\t2.500000\t3.500000\t1.500000\tNaN\tNaN\tNaN",
    ]


def test_default_names_are_all_skeleton_keypoints(tmp_path):
    poses = world_poses(t=3, p=1, skeleton="halpe26")
    write_trc(tmp_path / "a.trc", poses)
    data = read_trc(tmp_path / "a.trc")
    assert data.names == get_skeleton("halpe26").keypoints
    assert data.xyz.shape == (3, 26, 3)


# -- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("units", ["m", "cm", "mm"])
def test_round_trip_with_axis_and_unit_conversion(tmp_path, units):
    poses = world_poses(t=8, p=2, start=1.25, fps=60.0)
    write_trc(tmp_path / "rt.trc", poses, person=1, units=units, frame_offset=4)
    names, times, xyz, header = read_trc(tmp_path / "rt.trc", z_up=True, metres=True)
    assert names == get_skeleton("coco17").keypoints
    np.testing.assert_allclose(times, poses.times, atol=1e-6)
    np.testing.assert_allclose(xyz, poses.coords[:, 1], atol=1e-5)
    assert header["PathFileType"] == 4 and header["AxisLabel"] == "(X/Y/Z)"
    assert header["FileName"].startswith("rt.trc ")
    assert header["DataRate"] == pytest.approx(60.0)
    assert header["CameraRate"] == header["OrigDataRate"] == header["DataRate"]
    assert (header["NumFrames"], header["NumMarkers"], header["OrigNumFrames"]) == (8, 17, 8)
    assert header["Units"] == units and header["OrigDataStartFrame"] == 5
    rows = (tmp_path / "rt.trc").read_text().splitlines()[6:]
    assert [int(r.split("\t")[0]) for r in rows] == list(range(5, 13))


def test_file_axes_without_conversion_are_y_up(tmp_path):
    poses = world_poses(t=4, p=1)
    write_trc(tmp_path / "a.trc", poses)
    xyz = read_trc(tmp_path / "a.trc").xyz
    w = poses.coords[:, 0]
    np.testing.assert_allclose(xyz[..., 0], w[..., 1], atol=1e-5)  # X = world y
    np.testing.assert_allclose(xyz[..., 1], w[..., 2], atol=1e-5)  # Y = world z (up)
    np.testing.assert_allclose(xyz[..., 2], w[..., 0], atol=1e-5)  # Z = world x


def test_round_trip_without_rotation(tmp_path):
    poses = world_poses(t=4, p=1, space="body")
    write_trc(tmp_path / "a.trc", poses, rotate_to_y_up=False)
    np.testing.assert_allclose(read_trc(tmp_path / "a.trc").xyz, poses.coords[:, 0], atol=1e-5)


def test_pose2sim_names_select_and_order_markers(tmp_path):
    poses = world_poses(t=3, p=1, skeleton="halpe26")
    write_trc(tmp_path / "p.trc", poses, names="pose2sim")
    data = read_trc(tmp_path / "p.trc", z_up=True)
    table = POSE2SIM_NAMES["halpe26"]
    assert data.names == tuple(table.values())
    assert data.names[:3] == ("Hip", "RHip", "RKnee") and len(data.names) == 22
    skel = get_skeleton("halpe26")
    idx = [skel.index(k) for k in table]
    np.testing.assert_allclose(data.xyz, poses.coords[:, 0][:, idx], atol=1e-5)


# Pose2Sim v0.10.49 (Pose2Sim/skeletons.py): the ids of the nodes with an id, in
# RenderTree order, i.e. the keypoint index of each marker in its trc files.
P2S_IDS = {
    "halpe26": [19, 12, 14, 16, 21, 23, 25, 11, 13, 15, 20, 22, 24, 18, 17, 0, 6, 8, 10, 5, 7, 9],
    "coco17": [12, 14, 16, 11, 13, 15, 0, 6, 8, 10, 5, 7, 9],
    "body25": [8, 9, 10, 11, 22, 23, 24, 12, 13, 14, 19, 20, 21, 1, 0, 2, 3, 4, 5, 6, 7],
    "body25b": [12, 14, 16, 22, 23, 24, 11, 13, 15, 19, 20, 21, 17, 18, 0, 6, 8, 10, 5, 7, 9],
    "blazepose33": [24, 26, 28, 30, 32, 23, 25, 27, 29, 31, 0, 5, 2, 12, 14, 16, 18, 20, 22,
                    11, 13, 15, 17, 19, 21],
}
# Marker names in Pose2Sim/OpenSim_Setup/Markers_<model>.xml (v0.10.49).
P2S_MARKERS = {
    "halpe26": "Nose Head Neck LShoulder RShoulder LElbow RElbow LWrist RWrist Hip LHip RHip "
               "LKnee RKnee LAnkle RAnkle LBigToe LSmallToe LHeel RBigToe RSmallToe RHeel",
    "coco17": "Nose Neck LShoulder RShoulder LElbow RElbow LWrist RWrist LHip RHip LKnee RKnee "
              "LAnkle RAnkle",
    "body25": "Nose Neck LShoulder RShoulder LElbow RElbow LWrist RWrist LHip RHip LKnee RKnee "
              "LAnkle RAnkle LBigToe LSmallToe LHeel RBigToe RSmallToe RHeel CHip",
    "body25b": "Nose Head Neck LShoulder RShoulder LElbow RElbow LWrist RWrist LHip RHip LKnee "
               "RKnee LAnkle RAnkle LBigToe LSmallToe LHeel RBigToe RSmallToe RHeel",
    "blazepose33": "Nose LEye REye LShoulder RShoulder LElbow RElbow LWrist RWrist LHip RHip "
                   "LKnee RKnee LAnkle RAnkle LBigToe LHeel RBigToe RHeel RThumb RPinky RIndex "
                   "LThumb LPinky LIndex",
}


@pytest.mark.parametrize("layout", sorted(P2S_IDS))
def test_pose2sim_names_match_pose2sim_ids_and_opensim_markers(layout):
    table = POSE2SIM_NAMES[layout]
    skel = get_skeleton(layout)
    assert [skel.index(k) for k in table] == P2S_IDS[layout]
    assert set(table.values()) <= set(P2S_MARKERS[layout].split())
    # every OpenSim marker that is a detected keypoint is covered (COCO-17's Neck is
    # computed by Pose2Sim, not detected)
    missing = set(P2S_MARKERS[layout].split()) - set(table.values())
    assert missing <= {"Neck", "Hip"}
    assert missing == ({"Neck"} if layout == "coco17" else set())


# -- missing points ----------------------------------------------------------------------


def _with_gaps():
    poses = world_poses(t=5, p=1)
    coords = np.array(poses.coords)
    scores = np.array(poses.scores)
    coords[1, 0, 0] = np.nan          # first marker missing
    coords[2, 0, 16] = np.nan         # last marker missing
    scores[3, 0, 5] = 0.0             # score 0 counts as missing too
    coords[4, 0] = np.nan             # whole frame missing
    return Poses("coco17", coords, scores, poses.times, "world")


@pytest.mark.parametrize("missing", ["NaN", ""])
def test_missing_points_written_and_read_as_nan(tmp_path, missing):
    poses = _with_gaps()
    write_trc(tmp_path / "g.trc", poses, missing=missing)
    data = read_trc(tmp_path / "g.trc", z_up=True)
    gone = np.isnan(data.xyz).any(-1)
    expected = np.zeros((5, 17), dtype=bool)
    expected[1, 0] = expected[2, 16] = expected[3, 5] = True
    expected[4] = True
    np.testing.assert_array_equal(gone, expected)
    assert np.isnan(data.xyz[gone]).all()
    ok = ~expected
    np.testing.assert_allclose(data.xyz[ok], poses.coords[:, 0][ok], atol=1e-5)
    rows = (tmp_path / "g.trc").read_text().splitlines()[6:]
    # every row has Frame#, Time and 3 fields per marker as OpenSim 4 tokenizes it,
    # including rows whose last marker is missing
    assert all(len(opensim_tokens(r)) == 2 + 3 * 17 for r in rows)
    if missing == "NaN":
        assert rows[2].endswith("\tNaN\tNaN\tNaN") and "\t\t" not in rows[2]
    else:
        assert rows[2].endswith("\t\t\t\t") and "NaN" not in rows[2]


def test_reads_pose2sim_style_file(tmp_path):
    # Pose2Sim (pandas) style: no blank line before the data, empty fields, no trailing tab
    text = (
        "PathFileType\t4\t(X/Y/Z)\tdemo_0-2.trc\n"
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate"
        "\tOrigDataStartFrame\tOrigNumFrames\n"
        "60\t60\t2\t2\tm\t60\t0\t2\n"
        "Frame#\tTime\tHip\t\t\tRHip\t\t\t\n"
        "\t\tX1\tY1\tZ1\tX2\tY2\tZ2\t\n"
        "0\t0.0\t0.2\t0.9\t0.1\t\t\t\n"
        "1\t0.016666666666666666\t0.21\t0.91\t0.11\t0.3\t0.92\t0.0\n"
    )
    (tmp_path / "demo_0-2.trc").write_text(text)
    names, times, xyz, header = read_trc(tmp_path / "demo_0-2.trc", z_up=True)
    assert names == ("Hip", "RHip")
    np.testing.assert_allclose(times, [0.0, 1 / 60])
    np.testing.assert_allclose(xyz[0, 0], [0.1, 0.2, 0.9])  # (Z, X, Y) of the file
    assert np.isnan(xyz[0, 1]).all()
    np.testing.assert_allclose(xyz[1, 1], [0.0, 0.3, 0.92])
    assert header["DataRate"] == 60.0 and header["OrigDataStartFrame"] == 0


def test_reads_nan_spellings_and_crlf(tmp_path):
    text = (
        "PathFileType 4 (X/Y/Z) x.trc\r\n"
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate"
        "\tOrigDataStartFrame\tOrigNumFrames\r\n"
        "30\t30\t1\t2\tmm\t30\t1\t1\r\n"
        "Frame#\tTime\tA\t\t\tB\t\t\t\r\n"
        "\t\tX1\tY1\tZ1\tX2\tY2\tZ2\t\r\n"
        "\r\n"
        "1\t0\tnan\t-nan\tNaN\t1000\t2000\t-3000\t\r\n"
    )
    (tmp_path / "x.trc").write_bytes(text.encode())
    data = read_trc(tmp_path / "x.trc", metres=True)
    assert np.isnan(data.xyz[0, 0]).all()
    np.testing.assert_allclose(data.xyz[0, 1], [1.0, 2.0, -3.0])
    assert data.header["FileName"] == "x.trc"


# -- data rate ---------------------------------------------------------------------------


def test_rate_from_median_step_tolerates_1_percent_jitter(tmp_path):
    poses = world_poses(t=5, p=1)
    times = np.arange(5) / 50.0
    times[2] += 0.005 * (1 / 50)
    jittered = Poses("coco17", poses.coords, poses.scores, times, "world")
    write_trc(tmp_path / "j.trc", jittered)
    assert read_trc(tmp_path / "j.trc").header["DataRate"] == pytest.approx(50.0, rel=1e-2)


def test_irregular_times_need_rate(tmp_path):
    poses = world_poses(t=5, p=1)
    times = np.array([0.0, 0.1, 0.2, 0.35, 0.4])
    irregular = Poses("coco17", poses.coords, poses.scores, times, "world")
    with pytest.raises(InputError, match=r"not evenly spaced.*rate="):
        write_trc(tmp_path / "i.trc", irregular)
    assert not (tmp_path / "i.trc").exists()
    write_trc(tmp_path / "i.trc", irregular, rate=10)
    data = read_trc(tmp_path / "i.trc")
    assert data.header["DataRate"] == 10.0
    np.testing.assert_allclose(data.times, times, atol=1e-6)


def test_single_frame_needs_rate(tmp_path):
    poses = world_poses(t=1, p=1)
    with pytest.raises(InputError, match=r"1 frame.*rate="):
        write_trc(tmp_path / "one.trc", poses)
    write_trc(tmp_path / "one.trc", poses, rate=29.97)
    assert read_trc(tmp_path / "one.trc").header["DataRate"] == pytest.approx(29.97)


# -- bad input ---------------------------------------------------------------------------


def test_rejects_2d_and_camera_space(tmp_path):
    p2 = Poses("coco17", np.zeros((2, 1, 17, 2)), np.ones((2, 1, 17)), [0, 0.1], "image:c")
    with pytest.raises(InputError, match=r"3D poses in 'world' or 'body'"):
        write_trc(tmp_path / "a.trc", p2)
    pc = world_poses(t=2, p=1, space="camera:c")
    with pytest.raises(InputError, match=r"camera:c"):
        write_trc(tmp_path / "a.trc", pc)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"person": 2}, "out of range"),
        ({"person": True}, "integer"),
        ({"units": "in"}, "units must be one of m, cm, mm"),
        ({"missing": "0"}, "missing must be"),
        ({"frame_offset": -1}, "frame_offset must be >= 0"),
        ({"rate": 0}, "rate must be a positive"),
        ({"names": {"nose": "Nose", "tail": "T"}}, "'tail' is not a keypoint.*valid: nose"),
        ({"names": {"nose": "my nose"}}, "without whitespace"),
        ({"names": {"nose": "N", "left_eye": "N"}}, "unique"),
        ({"names": {}}, "no markers"),
        ({"names": "opensim"}, "'pose2sim'"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        write_trc(tmp_path / "a.trc", world_poses(t=3, p=2), **kwargs)


def test_pose2sim_names_unknown_for_layout(tmp_path):
    poses = world_poses(t=2, p=1, skeleton="coco_wholebody133")
    with pytest.raises(InputError, match=r"no Pose2Sim marker names for skeleton coco_whole"):
        write_trc(tmp_path / "a.trc", poses, names="pose2sim")


def test_no_frames(tmp_path):
    empty = Poses.empty("coco17", 3, "world", n_people=1)
    with pytest.raises(InputError, match=r"no frames"):
        write_trc(tmp_path / "a.trc", empty, rate=30)


def test_existing_file_untouched_on_error(tmp_path):
    target = tmp_path / "keep.trc"
    target.write_text("old")
    with pytest.raises(InputError):
        write_trc(target, world_poses(t=1, p=1))
    assert target.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["keep.trc"]


def test_read_errors(tmp_path):
    with pytest.raises(InputError, match=r"no such TRC file"):
        read_trc(tmp_path / "none.trc")
    (tmp_path / "short.trc").write_text("PathFileType\t4\n")
    with pytest.raises(InputError, match=r"not a TRC file"):
        read_trc(tmp_path / "short.trc")
    (tmp_path / "csv.trc").write_text("a,b\n1,2\n3,4\n5,6\n7,8\n")
    with pytest.raises(InputError, match=r"PathFileType"):
        read_trc(tmp_path / "csv.trc")

    write_trc(tmp_path / "ok.trc", world_poses(t=2, p=1))
    lines = (tmp_path / "ok.trc").read_text().splitlines()
    bad = list(lines)
    bad[2] = bad[2].replace("\t17\t", "\t16\t")
    (tmp_path / "count.trc").write_text("\n".join(bad) + "\n")
    with pytest.raises(InputError, match=r"NumMarkers=16 but line 4 names 17"):
        read_trc(tmp_path / "count.trc")
    bad = list(lines)
    bad[6] = bad[6].replace("\t", "\tabc\t", 1).rsplit("\t", 1)[0]
    (tmp_path / "word.trc").write_text("\n".join(bad) + "\n")
    with pytest.raises(InputError, match=r"not a number"):
        read_trc(tmp_path / "word.trc")
    bad = list(lines)
    bad[6] += "\t1.0\t2.0"
    (tmp_path / "long.trc").write_text("\n".join(bad) + "\n")
    with pytest.raises(InputError, match=r"line 7: 55 fields, expected 53"):
        read_trc(tmp_path / "long.trc")
    bad = list(lines)
    bad[2] = bad[2].replace("\tm\t", "\tinch\t")
    (tmp_path / "inch.trc").write_text("\n".join(bad) + "\n")
    assert read_trc(tmp_path / "inch.trc").header["Units"] == "inch"
    with pytest.raises(InputError, match=r"Units='inch' to metres"):
        read_trc(tmp_path / "inch.trc", metres=True)


# -- OpenSim itself (runs where the `biomech` extra is installed) -------------------------


@pytest.mark.parametrize("missing", ["NaN", ""])
def test_opensim_reads_our_file(tmp_path, missing):
    opensim = pytest.importorskip("opensim")
    poses = _with_gaps()
    path = tmp_path / "osim.trc"
    write_trc(path, poses, missing=missing, units="mm")
    table = opensim.TimeSeriesTableVec3(str(path))  # TRCFileAdapter
    labels = list(table.getColumnLabels())
    assert labels == list(get_skeleton("coco17").keypoints)
    xyz = np.array([[[table.getRowAtIndex(i)[j][a] for a in range(3)]
                     for j in range(len(labels))] for i in range(table.getNumRows())])
    expected = read_trc(path).xyz
    np.testing.assert_array_equal(np.isnan(xyz), np.isnan(expected))
    np.testing.assert_allclose(xyz, expected, atol=1e-9)
    markers = opensim.MarkerData(str(path))  # what the Scale and IK tools use
    assert (markers.getNumFrames(), markers.getNumMarkers()) == (5, 17)
    assert markers.getDataRate() == pytest.approx(30.0)
    last = markers.getFrame(2).getMarker(16)
    assert np.isnan([last[0], last[1], last[2]]).all()
