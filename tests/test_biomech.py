"""posestack.biomech: .mot files, OpenCap marker augmentation, OpenSim scaling + IK."""

from __future__ import annotations

import math
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from posestack import assets
from posestack.biomech import (
    LSTM_MARKERS,
    LSTM_SKELETON,
    augment_markers,
    read_mot,
    scale_and_ik,
    write_augmented_trc,
    write_mot,
)
from posestack.biomech import opensim_ik as oik
from posestack.errors import AssetError, InputError
from posestack.io.trc import read_trc
from posestack.poses import Poses

# -- .mot ------------------------------------------------------------------------------------


def test_mot_round_trip(tmp_path):
    names = ["pelvis_tilt", "pelvis_tx", "knee_angle_r"]
    times = np.arange(5) / 60.0
    values = np.array([[1.5, 0.01, 30.0], [2.0, 0.02, 31.25], [np.nan, 0.03, 32.0],
                       [-4.125, -0.5, 0.0], [180.0, 1.0, 1e-8]])
    write_mot(tmp_path / "a.mot", names, times, values)
    m = read_mot(tmp_path / "a.mot")
    assert m.names == tuple(names)
    np.testing.assert_allclose(m.times, times, atol=1e-8)
    np.testing.assert_array_equal(np.isnan(m.values), np.isnan(values))
    np.testing.assert_allclose(m.values, values, atol=1e-8)
    assert m.header["name"] == "Coordinates"
    assert (m.header["nRows"], m.header["nColumns"], m.header["inDegrees"]) == ("5", "4", "yes")
    write_mot(tmp_path / "b.mot", names, times, values, in_degrees=False, name="Motion")
    assert read_mot(tmp_path / "b.mot").header["inDegrees"] == "no"
    assert read_mot(tmp_path / "b.mot").header["name"] == "Motion"


def test_mot_reads_opensim4_sto(tmp_path):
    text = ("Model Marker Errors from IK\nversion=1\nnRows=2\nnColumns=3\ninDegrees=no\n"
            "DataType=double\nOpenSimVersion=4.6\nendheader\n"
            "time\ttotal_squared_error\tmarker_error_RMS\n"
            "      0.00000000\t      0.02273237\t      0.03214482\n"
            "      0.01666667\t      0.02305581\t      0.03237270\t\n")
    (tmp_path / "e.sto").write_text(text)
    m = read_mot(tmp_path / "e.sto")
    assert m.names == ("total_squared_error", "marker_error_RMS")
    assert m.header["OpenSimVersion"] == "4.6"
    np.testing.assert_allclose(m.values[:, 1], [0.03214482, 0.0323727])


def test_mot_errors(tmp_path):
    with pytest.raises(InputError, match=r"no such \.mot file"):
        read_mot(tmp_path / "missing.mot")
    (tmp_path / "x.mot").write_text("Coordinates\nversion=1\ntime\ta\n0\t1\n")
    with pytest.raises(InputError, match="endheader"):
        read_mot(tmp_path / "x.mot")
    (tmp_path / "y.mot").write_text("Coordinates\nendheader\ntime\ta\n0\t1\t2\t3\n")
    with pytest.raises(InputError, match=r"4 field.*expected 2"):
        read_mot(tmp_path / "y.mot")
    (tmp_path / "z.mot").write_text("Coordinates\nendheader\ntime\ta\n0\tabc\n")
    with pytest.raises(InputError, match="not a number"):
        read_mot(tmp_path / "z.mot")
    (tmp_path / "w.mot").write_text("Coordinates\nendheader\nframe\ta\n0\t1\n")
    with pytest.raises(InputError, match="'time'"):
        read_mot(tmp_path / "w.mot")
    with pytest.raises(InputError, match=r"shape \(T, N\) = \(2, 1\)"):
        write_mot(tmp_path / "v.mot", ["a"], [0.0, 1.0], np.zeros((2, 2)))
    with pytest.raises(InputError, match="unique"):
        write_mot(tmp_path / "v.mot", ["a", "a"], [0.0], np.zeros((1, 2)))
    with pytest.raises(InputError, match="whitespace"):
        write_mot(tmp_path / "v.mot", ["knee angle"], [0.0], np.zeros((1, 1)))
    assert not (tmp_path / "v.mot").exists()


# -- scaling helpers (no OpenSim) ------------------------------------------------------------


def _standing(t: int = 1) -> dict[str, np.ndarray]:
    """Pose2Sim-named markers of a person standing straight (Z up), ``t`` frames."""
    z = {"Heel": 0.0, "Ankle": 0.1, "Knee": 0.5, "Hip": 0.9, "Shoulder": 1.4}
    m = {}
    for side, y in (("R", -0.1), ("L", 0.1)):
        for name, h in z.items():
            m[side + name] = np.tile([0.0, y, h], (t, 1))
    m["Head"] = np.tile([0.0, 0.0, 1.7], (t, 1))
    m["Nose"] = np.tile([0.1, 0.0, 1.6], (t, 1))
    return m


def test_estimate_height_hand_values():
    m = _standing()
    # foot 0.1 + shank 0.4 + femur 0.4 + back 0.5 + (1.7 - 1.4) * 1.008
    assert oik.estimate_height(m) == pytest.approx(1.7024)
    no_head = {k: v for k, v in m.items() if k != "Head"}
    nose = math.dist([0.1, 0.0, 1.6], [0.0, 0.0, 1.4])
    assert oik.estimate_height(no_head) == pytest.approx(1.4 + nose * 1.5)
    legs = {k: v for k, v in m.items() if "Shoulder" not in k and k not in ("Head", "Nose")}
    assert oik.estimate_height(legs) == pytest.approx(0.9 / 0.485)
    no_heel = {k: v for k, v in m.items() if "Heel" not in k}
    assert oik.estimate_height(no_heel) == pytest.approx(1.7024)  # heel missing -> 10 cm
    gone = dict(m, RKnee=np.full((1, 3), np.nan), LKnee=np.full((1, 3), np.nan))
    assert math.isnan(oik.estimate_height(gone))


def test_trimmed_mean_and_scaling_frames():
    v = np.array([100.0, 1.0, 2.0, 3.0, 4.0, -50.0, np.nan, 2.5])
    # 7 finite values: the lowest 1 and the highest 2 (int(7 * 0.75) = 5) are dropped
    assert oik._trimmed_mean(v, 50) == pytest.approx(np.mean([1.0, 2.0, 2.5, 3.0]))
    assert oik._trimmed_mean(v, 0) == pytest.approx(np.nanmean(v))
    assert math.isnan(oik._trimmed_mean(np.full(3, np.nan), 50))
    # 60 frames standing, 40 crouched (knees bent 90 deg): only the standing ones are kept
    m = _standing(100)
    for s in "RL":
        m[s + "Ankle"] = m[s + "Ankle"].copy()
        m[s + "Ankle"][60:] = m[s + "Knee"][60:] + np.array([0.4, 0.0, 0.0])
    times = np.arange(100) / 60
    frames = oik._scaling_frames(m, times, None, 30.0)
    np.testing.assert_array_equal(frames, np.arange(60))
    frames = oik._scaling_frames(m, times, (0.5, 1.0), 30.0)
    assert times[frames].min() >= 0.5 and times[frames].max() <= 1.0
    with pytest.raises(InputError, match="static_window"):
        oik._scaling_frames(m, times, (5.0, 6.0), 30.0)


def test_scale_factors_and_fallback():
    pairs = [("A", "B"), ("C", "D"), ("E", "F")]
    body_pairs = {"femur_r_X": [0, 1], "femur_r_Y": [0, 1], "femur_r_Z": [0, 1],
                  "head_X": [2], "head_Y": [2], "head_Z": [2]}
    factors, fell_back = oik._scale_factors(pairs, body_pairs, [1.1, 0.9, math.nan],
                                            [1.0, 1.0, 0.5])
    assert factors["femur_r"] == pytest.approx((1.0, 1.0, 1.0))
    assert factors["head"] == pytest.approx((1.0, 1.0, 1.0))  # median of 1.1 and 0.9
    assert sorted(fell_back) == ["head_X", "head_Y", "head_Z"]
    with pytest.raises(InputError, match="no marker pair"):
        oik._scale_factors(pairs, body_pairs, [math.nan] * 3, [1.0] * 3)


def test_scale_and_ik_bad_input(tmp_path):
    with pytest.raises(InputError, match="no such TRC file"):
        scale_and_ik(tmp_path / "missing.trc", tmp_path)
    (tmp_path / "a.trc").write_text("x")
    with pytest.raises(InputError, match=r"valid: halpe26, coco17"):
        scale_and_ik(tmp_path / "a.trc", tmp_path, layout="halpe27")
    with pytest.raises(InputError, match="mass"):
        scale_and_ik(tmp_path / "a.trc", tmp_path, mass=-3)
    with pytest.raises(InputError, match="height"):
        scale_and_ik(tmp_path / "a.trc", tmp_path, height=float("nan"))
    with pytest.raises(InputError, match="static_window"):
        scale_and_ik(tmp_path / "a.trc", tmp_path, static_window=(2.0, 1.0))


def test_scale_and_ik_without_opensim(tmp_path, monkeypatch):
    (tmp_path / "a.trc").write_text("x")
    monkeypatch.setitem(sys.modules, "opensim", None)  # import opensim -> ImportError
    with pytest.raises(AssetError, match=r"pip install posestack\[biomech\]"):
        scale_and_ik(tmp_path / "a.trc", tmp_path)


# -- augmentation: layout and bad input ---------------------------------------------------------


def test_lstm_skeleton():
    assert len(LSTM_MARKERS) == 43 and LSTM_SKELETON.keypoints == LSTM_MARKERS
    flip = LSTM_SKELETON.flip
    name = LSTM_SKELETON.keypoints
    assert name[flip[name.index("r.ASIS_study")]] == "L.ASIS_study"
    assert name[flip[name.index("r_mwrist_study")]] == "L_mwrist_study"
    assert name[flip[name.index("RHJC_study")]] == "LHJC_study"
    assert flip[name.index("C7_study")] == name.index("C7_study")
    assert len(LSTM_SKELETON.parts["lower"]) == 35 and len(LSTM_SKELETON.parts["upper"]) == 8


@pytest.mark.assets
def test_lstm_names_match_opensim_marker_set():
    root = ET.parse(assets.path("opensim_setup") / "Markers_LSTM.xml").getroot()
    names = {m.get("name") for m in root.iter("Marker")}
    assert set(LSTM_MARKERS) <= names


def test_augment_bad_input():
    p2 = Poses("halpe26", np.zeros((2, 1, 26, 2)), np.ones((2, 1, 26)), [0.0, 0.1], "image:c")
    with pytest.raises(InputError, match="3D poses"):
        augment_markers(p2, 1.7, 70)
    p3 = Poses("halpe26", np.zeros((2, 1, 26, 3)), np.ones((2, 1, 26)), [0.0, 0.1], "world")
    with pytest.raises(InputError, match="height"):
        augment_markers(p3, -1.7, 70)
    with pytest.raises(InputError, match=r"one per person \(1\)"):
        augment_markers(p3, [1.7, 1.8], 70)
    with pytest.raises(InputError, match="mass"):
        augment_markers(p3, 1.7, "heavy")
    with pytest.raises(InputError, match="missing_small_toes"):
        augment_markers(p3, 1.7, 70, missing_small_toes="guess")
    hand = Poses("hand21", np.zeros((1, 1, 21, 3)), np.ones((1, 1, 21)), [0.0], "world")
    with pytest.raises(InputError, match="cannot be converted to halpe26"):
        augment_markers(hand, 1.7, 70)


# -- on the Pose2Sim sample ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample3d(tmp_path_factory):
    """3D Halpe-26 keypoints of the first 0.5 s of Pose2Sim's Demo_SinglePerson, and its .trc."""
    from posestack.pipeline import run_multiview

    out = tmp_path_factory.mktemp("p2s3d")
    res = run_multiview(assets.path("pose2sim_demo_singleperson") / "videos", None, out,
                        layout="halpe26", video=False, progress=False, end=0.5)
    trc = out / "multiview" / "multiview_p0.trc"
    assert trc.is_file()
    return res.poses3d, trc


@pytest.fixture(scope="module")
def augmented(sample3d):
    poses, _ = sample3d
    return augment_markers(poses, 1.72, 70.0, missing_small_toes="use_big_toe")


def _kp(poses, name):
    return poses.coords[:, 0, poses.skeleton.index(name)].astype(np.float64)


def _dist(a, b):
    return np.linalg.norm(a - b, axis=-1)


@pytest.mark.assets
def test_augment_needs_small_toes(sample3d):
    poses, _ = sample3d  # BlazePose -> halpe26: no small toes
    with pytest.raises(InputError, match="missing_small_toes='use_big_toe'"):
        augment_markers(poses, 1.72, 70.0)


@pytest.mark.assets
def test_augment_shape_and_meta(sample3d, augmented):
    poses, _ = sample3d
    assert augmented.skeleton == LSTM_SKELETON
    assert augmented.coords.shape == (poses.n_frames, poses.n_people, 43, 3)
    assert augmented.space == "world" and augmented.tracked == poses.tracked
    np.testing.assert_array_equal(augmented.times, poses.times)
    assert np.isfinite(augmented.coords[:, 0]).all()  # the sample has every input each frame
    assert ((augmented.scores > 0) & (augmented.scores <= 1)).all()
    assert augmented.meta["height_m"] == [1.72]


@pytest.mark.assets
def test_augmented_markers_near_their_keypoints(sample3d, augmented):
    poses, _ = sample3d
    m = {n: _kp(augmented, n) for n in LSTM_MARKERS}
    for s, side in (("r", "right"), ("L", "left")):
        for joint in ("knee", "ankle"):
            lateral = _dist(m[f"{s}_{joint}_study"], _kp(poses, f"{side}_{joint}"))
            medial = _dist(m[f"{s}_m{joint}_study"], _kp(poses, f"{side}_{joint}"))
            centre = _dist((m[f"{s}_{joint}_study"] + m[f"{s}_m{joint}_study"]) / 2,
                           _kp(poses, f"{side}_{joint}"))
            # epicondyles / malleoli lie about half a joint width (4-6 cm) from the centre
            assert np.median(lateral) < 0.07 and lateral.max() < 0.10, (s, joint)
            assert np.median(medial) < 0.07 and medial.max() < 0.10, (s, joint)
            assert np.median(centre) < 0.03 and centre.max() < 0.06, (s, joint)
        hjc = "RHJC_study" if s == "r" else "LHJC_study"
        assert np.median(_dist(m[hjc], _kp(poses, f"{side}_hip"))) < 0.07
        wrist = _dist((m[f"{s}_lwrist_study"] + m[f"{s}_mwrist_study"]) / 2,
                      _kp(poses, f"{side}_wrist"))
        assert np.median(wrist) < 0.05
        assert np.median(_dist(m[f"{s}_calc_study"], _kp(poses, f"{side}_heel"))) < 0.07
    # up is up: knees above ankles above the floor-level calcaneus, pelvis above knees
    z = {n: v[:, 2] for n, v in m.items()}
    assert (z["r_knee_study"] > z["r_ankle_study"] + 0.25).all()
    assert (z["r.ASIS_study"] > z["r_knee_study"] + 0.2).all()
    assert (z["C7_study"] > z["r.ASIS_study"] + 0.3).all()


@pytest.mark.assets
def test_augmented_markers_keep_left_right(sample3d, augmented):
    poses, _ = sample3d
    mid = _kp(poses, "mid_hip")
    axis = _kp(poses, "right_hip") - _kp(poses, "left_hip")  # pelvis left -> right
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)

    def side(name):
        return np.einsum("ij,ij->i", _kp(augmented, name) - mid, axis)

    # The subject balances on a beam, feet on one line: the feet and shanks cross the
    # mid-line, so only the pelvis, thighs, knees, trunk and arms are checked per frame.
    sided = ["ASIS_study", "HJC_study", "knee_study", "thigh1_study", "thigh2_study",
             "thigh3_study", "shoulder_study", "lelbow_study", "melbow_study",
             "lwrist_study", "mwrist_study"]
    for n in LSTM_MARKERS:
        if not any(n.endswith(k) and not n.endswith("mknee_study") for k in sided):
            continue
        if n.startswith(("r_", "r.", "RHJC")):
            assert (side(n) > 0.02).all(), n
        else:
            assert n.startswith(("L_", "L.", "LHJC")), n
            assert (side(n) < -0.02).all(), n
    for s, sign in (("r", 1), ("L", -1)):  # medians: feet and PSIS on their side too
        for n in ("PSIS_study", "ankle_study", "5meta_study", "sh1_study"):
            name = f"{s}.{n}" if n == "PSIS_study" else f"{s}_{n}"
            assert sign * np.median(side(name)) > 0.02, name
    # lateral markers lie outside the medial ones
    assert (side("r_knee_study") > side("r_mknee_study")).all()
    assert (side("L_knee_study") < side("L_mknee_study")).all()
    assert (side("r_ankle_study") > side("r_mankle_study")).all()
    assert (side("L_ankle_study") < side("L_mankle_study")).all()
    assert (side("r_lelbow_study") > side("r_melbow_study")).all()


@pytest.mark.assets
def test_augment_gaps_and_translation(sample3d, augmented):
    poses, _ = sample3d
    coords = poses.coords.copy()
    coords[10:12, 0, poses.skeleton.index("left_knee")] = np.nan  # a lower-body input lost
    gap = Poses(poses.skeleton, coords, poses.scores, poses.times, "world", tracked=True)
    out = augment_markers(gap, 1.72, 70.0, missing_small_toes="use_big_toe")
    lower = list(LSTM_SKELETON.parts["lower"])
    upper = list(LSTM_SKELETON.parts["upper"])
    assert np.isnan(out.coords[10:12, 0, lower]).all()
    assert (out.scores[10:12, 0, lower] == 0).all()
    assert np.isfinite(out.coords[10:12, 0, upper]).all()  # the upper model still runs
    np.testing.assert_allclose(out.coords[:10], augmented.coords[:10], atol=1e-5)
    assert np.isfinite(out.coords[12:]).all()  # a gap does not poison what follows
    # after the gap the lower LSTM restarts: same as running on the tail alone
    tail = augment_markers(gap.frames(slice(12, None)), 1.72, 70.0,
                           missing_small_toes="use_big_toe")
    np.testing.assert_allclose(out.coords[12:, :, lower], tail.coords[:, :, lower], atol=1e-5)
    np.testing.assert_allclose(out.coords[:, :, upper], augmented.coords[:, :, upper], atol=1e-5)
    # translating the person translates the markers (everything is relative to mid-hip)
    shift = np.array([1.0, -2.0, 0.5], np.float32)
    moved = Poses(poses.skeleton, poses.coords + shift, poses.scores, poses.times, "world")
    out2 = augment_markers(moved, 1.72, 70.0, missing_small_toes="use_big_toe")
    np.testing.assert_allclose(out2.coords - shift, augmented.coords, atol=2e-4)


@pytest.mark.assets
def test_write_augmented_trc(sample3d, augmented, tmp_path):
    poses, _ = sample3d
    path = tmp_path / "demo_LSTM.trc"
    write_augmented_trc(path, poses, augmented)
    data = read_trc(path, z_up=True)
    assert data.names[:3] == ("Hip", "RHip", "RKnee") and data.names[-43:] == LSTM_MARKERS
    np.testing.assert_allclose(data.xyz[:, -43:], augmented.coords[:, 0], atol=2e-6)
    with pytest.raises(InputError, match="augment_markers"):
        write_augmented_trc(path, poses, poses)


# -- OpenSim ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def opensim_run(sample3d, tmp_path_factory):
    pytest.importorskip("opensim")
    _, trc = sample3d
    out = tmp_path_factory.mktemp("opensim")
    return scale_and_ik(trc, out), out


@pytest.mark.assets
def test_scale_and_ik_outputs(opensim_run, sample3d):
    opensim = pytest.importorskip("opensim")
    res, out = opensim_run
    poses, _ = sample3d
    for path in (res.scaled_model, res.mot, res.markers, res.log):
        assert path.is_file() and path.parent == out
    assert not [p for p in out.iterdir() if p.name.startswith(".opensim-")]  # work dir gone
    t = poses.n_frames
    assert res.angles.shape == (t, len(res.coordinates)) and res.times.shape == (t,)
    np.testing.assert_allclose(res.times, poses.times, atol=1e-6)
    assert res.units[res.coordinates.index("pelvis_tx")] == "m"
    assert res.units[res.coordinates.index("knee_angle_r")] == "deg"
    assert np.isfinite(res.angles).all()
    assert np.isfinite(res.marker_errors).all() and (res.marker_errors < 0.06).all()
    assert 1.5 < res.height < 1.95 and res.mass == 70.0
    assert res.seconds_scale > 0 and res.seconds_ik > 0
    assert set(res.scale_factors) >= {"femur_r", "tibia_l", "pelvis", "torso", "head"}
    assert all(0.6 < f < 1.5 for xyz in res.scale_factors.values() for f in xyz)
    # OpenSim reads the .mot back, with the same numbers as ours
    table = opensim.TimeSeriesTable(str(res.mot))
    assert table.getNumRows() == t
    labels = list(table.getColumnLabels())
    assert labels == list(res.coordinates)
    knee = table.getDependentColumn("knee_angle_r").to_numpy()
    np.testing.assert_allclose(knee, res.angle("knee_angle_r"), atol=1e-6)
    mot = read_mot(res.mot)
    np.testing.assert_allclose(mot.values, res.angles)
    scaled = opensim.Model(str(res.scaled_model))
    assert scaled.getMarkerSet().contains("RKnee")
    # the markers file OpenSim read uses Pose2Sim names
    assert "RKnee" in read_trc(res.markers).names


@pytest.mark.assets
def test_scale_and_ik_with_relative_paths(sample3d, tmp_path, monkeypatch):
    """Relative paths, as a user types them: OpenSim resolves a relative path in a setup
    file against the setup file's folder, which doubled it ("ScaleTool: No model
    specified") before every path given to OpenSim was made absolute."""
    pytest.importorskip("opensim")
    import shutil

    _, trc = sample3d
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    shutil.copy(trc, tmp_path / "in" / "walk.trc")
    res = scale_and_ik("in/walk.trc", "out/opensim", height=1.72)
    assert res.mot == tmp_path / "out" / "opensim" / "walk.mot" and res.mot.is_file()
    assert res.scaled_model.is_file() and np.isfinite(res.angles).all()


@pytest.mark.assets
def test_scale_and_ik_plausible_angles(opensim_run):
    res, _ = opensim_run
    for s in "rl":
        knee = res.angle(f"knee_angle_{s}")
        hip = res.angle(f"hip_flexion_{s}")
        # the demo subject balances on a beam with bent knees
        assert 0.0 <= knee.min() and knee.max() < 120.0
        assert knee.max() > 10.0 and np.ptp(knee) < 90.0
        assert -30.0 <= hip.min() and hip.max() <= 120.0
        assert np.abs(np.diff(knee)).max() < 30.0  # unfiltered 3D, but no flips
    assert np.abs(res.angle("pelvis_tilt")).max() < 45.0
    assert np.abs(res.angle("pelvis_list")).max() < 30.0
    assert 0.8 < np.median(res.angle("pelvis_ty")) < 1.1  # pelvis height, m


@pytest.mark.assets
def test_scale_and_ik_given_height_and_window(sample3d, tmp_path):
    pytest.importorskip("opensim")
    _, trc = sample3d
    res = scale_and_ik(trc, tmp_path, height=1.8, mass=80.0, static_window=(0.0, 0.1))
    assert res.height == 1.8 and res.mass == 80.0
    assert res.scaling_times.min() >= 0.0 and res.scaling_times.max() <= 0.1 + 1e-9
    total = opensim_mass(res.scaled_model)
    assert total == pytest.approx(80.0, rel=1e-6)


def opensim_mass(model_path):
    import opensim

    model = opensim.Model(str(model_path))
    model.initSystem()
    bodies = model.getBodySet()
    return sum(bodies.get(i).getMass() for i in range(bodies.getSize()))


@pytest.mark.assets
def test_scale_and_ik_lstm_markers(sample3d, augmented, tmp_path):
    pytest.importorskip("opensim")
    poses, _ = sample3d
    trc = tmp_path / "demo_LSTM.trc"
    write_augmented_trc(trc, poses, augmented)
    res = scale_and_ik(trc, tmp_path / "ik", layout="lstm", height=1.72)
    assert res.mot.name == "demo_LSTM.mot" and res.angles.shape[0] == poses.n_frames
    assert (res.marker_errors < 0.05).all()
    for s in "rl":
        assert -30.0 <= res.angle(f"hip_flexion_{s}").min()
        assert res.angle(f"hip_flexion_{s}").max() <= 120.0
        assert 0.0 <= res.angle(f"knee_angle_{s}").min()


@pytest.mark.assets
def test_scale_and_ik_wrong_layout(sample3d, tmp_path):
    pytest.importorskip("opensim")
    _, trc = sample3d
    with pytest.raises(InputError, match="do not match layout 'lstm'"):
        scale_and_ik(trc, tmp_path, layout="lstm")
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.assets
def test_scale_and_ik_skips_empty_frames(sample3d, tmp_path):
    pytest.importorskip("opensim")
    poses, _ = sample3d
    coords = poses.coords.copy()
    coords[:3] = np.nan  # nobody seen at the start ...
    coords[10] = np.nan  # ... nor in one frame in the middle
    holes = Poses(poses.skeleton, coords, poses.scores, poses.times, "world")
    from posestack.io.trc import write_trc

    trc = tmp_path / "holes.trc"
    write_trc(trc, holes, rate=60.0)
    res = scale_and_ik(trc, tmp_path / "ik", height=1.72)
    keep = np.r_[3:10, 11:poses.n_frames]
    np.testing.assert_allclose(res.times, poses.times[keep], atol=1e-6)
    assert np.isfinite(res.angles).all()
    assert read_mot(res.mot).times.shape == keep.shape
