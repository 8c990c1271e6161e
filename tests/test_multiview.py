"""Multi-view 3D: association, linking and reconstruction (synthetic truth and the
Pose2Sim four-camera sample), `posestack run --calibration` and `posestack triangulate`."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

import posestack
from posestack.cli import main
from posestack.errors import InputError
from posestack.multiview.calibration import Calibration, Camera
from posestack.multiview.reconstruct import bone_length_cv, reconstruct
from posestack.poses import Poses
from posestack.skeletons import get_skeleton

from .multiview_scenes import look_at

COCO = get_skeleton("coco17")


def _look_at(name: str, centre: np.ndarray, target=(0.0, 0.0, 1.0)) -> Camera:
    K = np.array([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]])
    return look_at(name, centre, target, K, [0.05, -0.02, 0.0, 0.0], (1280, 720))


def _rig(n: int = 4) -> Calibration:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False) + 0.3
    return Calibration(tuple(_look_at(f"cam{i + 1:02d}",
                                      np.array([4 * np.cos(a), 4 * np.sin(a), 1.5]))
                             for i, a in enumerate(angles)))


def _person(t: np.ndarray, x0: float, vx: float) -> np.ndarray:
    """(T, 17, 3) a rigid coco17 figure walking along x, Z up, metres."""
    rng = np.random.default_rng(0)
    template = np.c_[rng.uniform(-0.2, 0.2, 17), rng.uniform(-0.15, 0.15, 17),
                     np.linspace(1.7, 0.05, 17)]
    template[[5, 6, 11, 12], 0] = [-0.2, 0.2, -0.12, 0.12]  # shoulders and hips apart
    pos = np.c_[x0 + vx * t, np.zeros_like(t), np.zeros_like(t)]
    return template[None] + pos[:, None]


def _views(calib: Calibration, people: list[np.ndarray], times: np.ndarray, noise: float = 0.5,
           shuffle: bool = True) -> list[Poses]:
    rng = np.random.default_rng(1)
    views = []
    for cam in calib.cameras:
        xy = np.stack([cam.project(p) for p in people], axis=1)  # (T, P, K, 2)
        xy = xy + rng.normal(0, noise, xy.shape)
        if shuffle:
            for ti in range(len(times)):
                xy[ti] = xy[ti, rng.permutation(len(people))]
        views.append(Poses(COCO, xy, np.full(xy.shape[:3], 0.9), times, f"image:{cam.name}"))
    return views


def test_two_people_four_cameras_recovered_with_identities():
    calib = _rig(4)
    times = np.arange(40) / 30.0
    truth = [_person(times, -1.0, 0.5), _person(times, 1.0, -0.5)]  # they cross at t≈2 s
    rec = reconstruct(_views(calib, truth, times), calib)
    assert rec.poses.n_people == 2 and rec.poses.tracked
    for q in range(2):
        # each identity follows one true person the whole time (no swap)
        d = [np.linalg.norm(rec.poses.coords[:, q] - p, axis=-1).mean(axis=1) for p in truth]
        best = int(np.argmin([np.nanmean(x) for x in d]))
        assert np.nanmax(d[best]) < 0.01  # < 1 cm with 0.5 px noise
    assert np.median(rec.error[rec.n_views > 0]) < 1.5
    assert (rec.n_views[rec.n_views > 0] == 4).mean() > 0.95


def test_outlier_view_left_out_and_nan_frames_do_not_crash():
    calib = _rig(4)
    times = np.arange(10) / 30.0
    truth = [_person(times, 0.0, 0.2)]
    views = _views(calib, truth, times, shuffle=False)
    bad = views[2].coords.copy()
    bad[:, :, 9] += 150.0  # left wrist wrong by 150 px in one camera
    scores = views[0].scores.copy()
    scores[5] = 0.0  # nobody seen in camera 1 at frame 5
    views[2] = Poses(COCO, bad, views[2].scores, times, "image:cam03")
    views[0] = Poses(COCO, views[0].coords, scores, times, "image:cam01")
    allgone = [Poses(COCO, v.coords, np.where(np.arange(10)[:, None, None] == 7, 0.0, v.scores),
                     times, v.space) for v in views]  # frame 7: every view fails
    rec = reconstruct(allgone, calib)
    assert rec.n_views[7].sum() == 0 and np.isnan(rec.poses.coords[7]).all()
    wrist = rec.n_views[[0, 1, 2, 3, 4, 6, 8, 9], 0, 9]
    assert (wrist == 3).all()  # the bad camera is excluded for the wrist
    err = np.linalg.norm(rec.poses.coords[:, 0, 9] - truth[0][:, 9], axis=-1)
    assert np.nanmax(err) < 0.01


def test_offsets_align_cameras():
    calib = _rig(3)
    times = np.arange(30) / 30.0
    truth = [_person(times, -0.5, 1.0)]
    views = _views(calib, truth, times, shuffle=False)
    # camera 2 started 4 frames late: its frame k is everyone's frame k + 4
    late = views[1]
    shifted = Poses(COCO, late.coords[4:], late.scores[4:], late.times[4:] - late.times[4],
                    late.space)
    frames = [np.arange(30), np.arange(26), np.arange(30)]
    wrong = reconstruct([views[0], shifted, views[2]], calib, frames=frames)
    right = reconstruct([views[0], shifted, views[2]], calib, frames=frames,
                        offsets={"cam02": -4})
    ok = right.n_views > 0
    assert np.median(right.error[ok]) < 1.5
    assert right.camera_use["cam02"] > 0.9
    assert wrong.camera_use["cam02"] < 0.5 or np.median(wrong.error[wrong.n_views > 0]) > 3
    with pytest.raises(InputError, match="unknown cameras"):
        reconstruct(views, calib, offsets={"cam09": 1})


def test_view_count_and_skeleton_mismatch():
    calib = _rig(3)
    times = np.arange(3) / 30.0
    views = _views(calib, [_person(times, 0, 0)], times)
    with pytest.raises(InputError, match="2 views for a calibration of 3 cameras"):
        reconstruct(views[:2], calib)
    other = views[0].to_skeleton("halpe26")
    with pytest.raises(InputError, match="layout"):
        reconstruct([other, *views[1:]], calib)


def test_bone_length_cv_of_a_rigid_figure_is_zero():
    calib = _rig(4)
    times = np.arange(20) / 30.0
    rec = reconstruct(_views(calib, [_person(times, 0, 0.3)], times, noise=0.0,
                             shuffle=False), calib)
    cv = bone_length_cv(rec.poses)
    assert cv and max(cv.values()) < 1e-6


# --- the Pose2Sim sample: four real cameras, Qualisys calibration ---------------------------


@pytest.fixture(scope="module")
def demo_3d(tmp_path_factory, p2s_videos):
    out = tmp_path_factory.mktemp("mv")
    code = main(["run", str(p2s_videos), "-o", str(out), "--layout", "halpe26", "--end", "0.5",
                 "--filter", "butterworth", "-q"])
    assert code == 0
    return out


@pytest.mark.assets
def test_demo_multiview_bundle(demo_3d):
    b = demo_3d / "multiview"
    m = json.loads((b / "manifest.json").read_text())
    assert m["calibration"]["cameras"] == ["cam01", "cam02", "cam03", "cam04"]
    assert m["calibration"]["path"].endswith("Calib.qca.txt")
    acc = m["accuracy"]
    assert acc["frames_with_3d"] == 30
    assert acc["reprojection_error_px"]["median"] < 15.0
    assert acc["mean_views"] > 2.5
    t = pq.read_table(b / "keypoints3d.parquet")
    assert t.column_names[-3:] == ["score", "reprojection_error", "views"]
    poses, _ = posestack.read_keypoints(b / "keypoints3d.parquet")
    sk = poses.skeleton
    assert poses.space == "world" and sk.name == "halpe26"
    # a person standing on the floor: ankles near z=0 (world Z up), nose 1.2-2 m up,
    # shoulders 0.25-0.5 m apart
    ank = np.nanmedian(poses.coords[:, 0, [sk.index("left_ankle"), sk.index("right_ankle")], 2])
    nose = np.nanmedian(poses.coords[:, 0, sk.index("nose"), 2])
    sh = np.nanmedian(np.linalg.norm(poses.coords[:, 0, 5] - poses.coords[:, 0, 6], axis=-1))
    assert -0.1 < ank < 0.4 and 1.1 < nose - ank < 2.0 and 0.25 < sh < 0.5
    assert sorted(m["outputs"]["overlays"]) == [f"overlay_cam0{i}.mp4" for i in range(1, 5)]
    assert m["outputs"]["trc"] == ["multiview_p0.trc"]


@pytest.mark.assets
def test_demo_trc_is_y_up(demo_3d):
    from posestack.io.trc import read_trc

    names, times, xyz, _ = read_trc(demo_3d / "multiview" / "multiview_p0.trc")
    assert len(times) == 30 and "nose" in names
    nose, ankle = names.index("nose"), names.index("left_ankle")
    # OpenSim's Y is up: the nose is well above the ankle in the file's Y
    assert np.nanmedian(xyz[:, nose, 1] - xyz[:, ankle, 1]) > 1.0


@pytest.mark.assets
def test_reprojection_overlay_lands_on_the_person(demo_3d):
    """The reprojected skeleton is drawn where the person's 2D detection is."""
    import av

    poses2d, _ = posestack.read_keypoints(demo_3d / "cam03" / "keypoints2d.parquet")
    with av.open(str(demo_3d / "multiview" / "overlay_cam03.mp4")) as c:
        img = next(c.decode(video=0)).to_ndarray(format="rgb24")
    # the midline colour of the drawn skeleton appears near the 2D hips
    hips = poses2d.coords[0, 0, [11, 12]].mean(0)
    x, y = np.round(hips).astype(int)
    patch = img[y - 40:y + 40, x - 40:x + 40].reshape(-1, 3).astype(int)
    coloured = (np.abs(patch - [51, 153, 255]).max(1) < 60) | (
        np.abs(patch - [0, 200, 0]).max(1) < 60) | (np.abs(patch - [255, 128, 0]).max(1) < 60)
    assert coloured.sum() > 20


@pytest.mark.assets
def test_triangulate_command_on_bundles_and_openpose_json(demo_3d, tmp_path, p2s_videos):
    calib = p2s_videos.parent / "calibration" / "Calib.qca.txt"
    cams = [str(demo_3d / f"cam0{i}") for i in range(1, 5)]
    assert main(["triangulate", *cams, "--calibration", str(calib), "-o",
                 str(tmp_path / "a")]) == 0
    a, _ = posestack.read_keypoints(tmp_path / "a" / "keypoints3d.parquet")
    # the same 2D through OpenPose json folders (named <cam>_json, as Pose2Sim wants them)
    for i in range(1, 5):
        (tmp_path / f"cam0{i}_json").symlink_to(demo_3d / f"cam0{i}" / "openpose")
    jsons = [str(tmp_path / f"cam0{i}_json") for i in range(1, 5)]
    assert main(["triangulate", *jsons, "--calibration", str(calib), "--layout", "halpe26",
                 "--fps", "60", "-o", str(tmp_path / "b")]) == 0
    b, _ = posestack.read_keypoints(tmp_path / "b" / "keypoints3d.parquet")
    assert a.coords.shape == b.coords.shape
    np.testing.assert_allclose(a.coords, b.coords, atol=2e-3)  # json rounds to 1/1000 px
    # whose hips these are (issue 13, item 2): BlazePose's, from the bundles' manifests, also
    # through a bundle's own json in the Halpe-26 layout; the user's word overrides it
    for out in ("a", "b"):
        m = json.loads((tmp_path / out / "manifest.json").read_text())
        assert m["parameters"]["keypoints_from"] == "blazepose", out
    assert main(["triangulate", *jsons, "--calibration", str(calib), "--layout", "halpe26",
                 "--fps", "60", "--keypoints-from", "coco", "-o", str(tmp_path / "c")]) == 0
    m = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert m["parameters"]["keypoints_from"] == "coco"


@pytest.mark.assets
def test_calibration_that_does_not_match_is_refused_before_work(tmp_path, p2s_videos, capsys,
                                                               monkeypatch):
    calib = p2s_videos.parent / "calibration" / "Calib.qca.txt"

    def no_estimator(*a, **k):
        raise AssertionError("2D started before the calibration was checked")

    monkeypatch.setattr("posestack.estimate.make_estimator", no_estimator)
    three = [str(p2s_videos / f"cam0{i}.mp4") for i in (1, 2, 3)]
    assert main(["run", *three, "--calibration", str(calib), "-o", str(tmp_path), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "cam04" in err
    small = tmp_path / "small.mp4"
    from posestack.io.media import VideoWriter

    with VideoWriter(small, 540, 960, 60.0) as w:
        w.write(np.zeros((960, 540, 3), np.uint8))
    (tmp_path / "v").mkdir()
    for i in (1, 2, 3):
        (tmp_path / "v" / f"cam0{i}.mp4").symlink_to(p2s_videos / f"cam0{i}.mp4")
    (tmp_path / "v" / "cam04.mp4").symlink_to(small)
    assert main(["run", str(tmp_path / "v"), "--calibration", str(calib), "-o",
                 str(tmp_path / "o"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "cam04" in err and "540" in err
    assert main(["run", str(tmp_path / "v"), "--calibration", str(tmp_path / "nope.toml"),
                 "-o", str(tmp_path / "o"), "-q"]) == 2
    assert "nope.toml" in capsys.readouterr().err


def test_a_camera_that_sees_nothing_and_the_sync_warning():
    from types import SimpleNamespace

    from posestack.pipeline_multiview import _camera_warnings

    calib = _rig(3)
    times = np.arange(8) / 30.0
    views = _views(calib, [_person(times, 0, 0.2)], times, shuffle=False)
    empty = Poses(COCO, np.zeros((8, 0, 17, 2)), np.zeros((8, 0, 17)), times, "image:cam02")
    rec = reconstruct([views[0], empty, views[2]], calib)
    assert rec.poses.n_people == 1 and (rec.n_views[rec.n_views > 0] == 2).all()
    fake = SimpleNamespace(camera_use={"cam01": 0.95, "cam02": 0.2, "cam03": 0.97},
                           n_views=np.ones(3))
    [w] = _camera_warnings(fake, ["cam01", "cam02", "cam03"])
    assert "cam02" in w and "--offset cam02=N" in w
    nothing = SimpleNamespace(camera_use={"a": 0.0, "b": 0.0}, n_views=np.zeros(3))
    assert any("no point could be triangulated" in w for w in _camera_warnings(nothing, "ab"))


@pytest.mark.assets
def test_cameras_with_different_lengths_are_reported(demo_3d, tmp_path, p2s_videos, capsys):
    import shutil

    calib = p2s_videos.parent / "calibration" / "Calib.qca.txt"
    dirs = []
    for i in range(1, 5):
        d = tmp_path / f"cam0{i}_json"
        shutil.copytree(demo_3d / f"cam0{i}" / "openpose", d)
        dirs.append(str(d))
    for f in sorted((tmp_path / "cam02_json").iterdir())[20:]:
        f.unlink()  # cam02 stops after 20 frames
    assert main(["triangulate", *dirs, "--calibration", str(calib), "--fps", "60",
                 "-o", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "different numbers of frames" in err and "cam02: 20" in err
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["frames"]["count"] == 30 and m["accuracy"]["frames_with_3d"] == 30


@pytest.mark.assets
def test_angles_ik_opensim_compare_and_plot(demo_3d, tmp_path, p2s_videos, capsys):
    pytest.importorskip("opensim")
    calib = p2s_videos.parent / "calibration" / "Calib.qca.txt"
    cams = [str(demo_3d / f"cam0{i}") for i in range(1, 5)]
    out = tmp_path / "bio"
    assert main(["triangulate", *cams, "--calibration", str(calib), "-o", str(out), "--filter",
                 "butterworth", "--max-gap", "10", "--ik", "--opensim", "--augment", "--mass",
                 "72"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert {"angles", "angles_ik", "angles_ik_mot", "opensim", "angles_opensim",
            "opensim_lstm", "augmented_trc"} <= set(m["outputs"])
    from posestack.biomech.mot import read_mot

    ours = read_mot(out / "angles_ik.mot")  # our IK as the OpenSim model's coordinates
    assert "knee_angle_r" in ours.names and "pelvis_tilt" in ours.names
    assert len(ours.times) == 30
    assert m["opensim"]["lstm_marker_rms_m_median"] < 0.06
    osim = pq.read_table(out / "angles_opensim.parquet").to_pydict()
    assert "knee_angle_r" in set(osim["angle"]) and "pelvis_tx" not in set(osim["angle"])
    assert m["opensim"]["mass_kg"] == 72 and 1.4 < m["opensim"]["height_m"] < 2.0
    ang = pq.read_table(out / "angles.parquet").to_pydict()
    knee = np.array([d for a, d in zip(ang["angle"], ang["degrees"], strict=True)
                     if a == "right_knee_flexion"])
    assert len(knee) == 30 and np.nanmin(knee) > -10 and np.nanmax(knee) < 120
    capsys.readouterr()
    assert main(["compare", str(out / "angles_ik.parquet"),
                 str(out / m["outputs"]["opensim"]["mot"]), "-o", str(tmp_path / "r.json")]) == 0
    text = capsys.readouterr().out
    assert "right_knee_flexion" in text and "overall" in text
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["paired_samples"]["paired"] == 30
    # knees agree with OpenSim within a few degrees on the sample
    rows = {r["name"]: r for r in rep["angles"]}
    assert rows["right_knee_flexion"]["rmse"] < 8 and rows["left_knee_flexion"]["rmse"] < 8
    assert main(["plot", str(out)]) == 0
    pngs = sorted((out / "plots").glob("*.png"))
    assert [p.name for p in pngs] == ["angles_person0.png"] and pngs[0].stat().st_size > 10000


def test_a_person_one_camera_does_not_see_is_reconstructed_and_reported():
    # cam02 sees the second person only in the first 15 of 40 frames (hidden behind,
    # or merged with, the first): 3D still holds both people, from the other three
    # cameras, and the warning names cam02 alone.
    from posestack.multiview.reconstruct import people_report

    calib = _rig(4)
    times = np.arange(40) / 30.0
    truth = [_person(times, -1.0, 0.5), _person(times, 1.5, 0.0)]
    views = _views(calib, truth, times, shuffle=False)
    c2 = views[1]
    coords, scores = c2.coords.copy(), c2.scores.copy()
    coords[15:, 1], scores[15:, 1] = np.nan, 0.0
    views[1] = Poses(COCO, coords, scores, times, c2.space)
    rec = reconstruct(views, calib)
    assert rec.poses.n_people == 2 and rec.poses.present().all()
    d = np.linalg.norm(rec.poses.coords[:, 1] - truth[1], axis=-1)
    if np.nanmean(d) > 0.5:  # identities in the other order
        d = np.linalg.norm(rec.poses.coords[:, 0] - truth[1], axis=-1)
    assert np.nanmax(d) < 0.02
    summary, warnings = people_report(rec)
    assert summary["per_frame_3d"] == {"2": 40}
    assert len(warnings) == 1 and "camera cam02 sees fewer people" in warnings[0]
    assert "62%" in warnings[0] and "typically 1 of 2" in warnings[0]
    assert summary["cameras"]["cam02"] < summary["cameras"]["cam01"] == 1.0


def test_people_count_changing_over_time_is_reported():
    from posestack.multiview.reconstruct import people_report

    calib = _rig(4)
    times = np.arange(40) / 30.0
    truth = [_person(times, -1.0, 0.5), _person(times, 1.5, 0.0)]
    views = []
    for v in _views(calib, truth, times, shuffle=False):
        coords, scores = v.coords.copy(), v.scores.copy()
        coords[30:, 1], scores[30:, 1] = np.nan, 0.0  # the second person leaves
        views.append(Poses(COCO, coords, scores, times, v.space))
    summary, warnings = people_report(reconstruct(views, calib))
    assert summary["per_frame_3d"] == {"1": 10, "2": 30}
    assert warnings == ["the number of people in 3D changes over the trial (1 in 10 frames, "
                        "2 in 30 frames): people entering or leaving, or lost in some frames"]


@pytest.mark.assets
def test_multiview_rerun_skips_what_is_complete(demo_3d, tmp_path, p2s_videos, capsys):
    """Issue 12, item 9: the same multi-view command again redoes neither the 2D, nor the 3D,
    nor the overlays; a damaged 3D file or --force makes the 3D again (built aside)."""
    import shutil

    out = tmp_path / "mv"
    shutil.copytree(demo_3d, out)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    args = ["run", str(p2s_videos), "-o", str(out), "--layout", "halpe26", "--end", "0.5",
            "--filter", "butterworth", "-q"]
    assert main(args) == 0
    assert "skipped" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps
    m = json.loads((out / "multiview" / "manifest.json").read_text())
    assert m["run_key"] and "overlay_cam01.mp4" in m["files"]
    # a damaged overlay: the 3D is made again, the 2D bundles still skip
    (out / "multiview" / "overlay_cam02.mp4").write_bytes(b"")
    assert main(args) == 0
    assert (out / "multiview" / "overlay_cam02.mp4").stat().st_size > 1000
    assert (out / "cam01" / "manifest.json").stat().st_mtime_ns == stamps[
        out / "cam01" / "manifest.json"]
    # triangulate: skip on the same inputs, redo with --force; nothing left beside it
    calib = p2s_videos.parent / "calibration" / "Calib.qca.txt"
    tri = ["triangulate", *[str(out / f"cam0{i}") for i in range(1, 5)], "--calibration",
           str(calib), "-o", str(tmp_path / "tri")]
    capsys.readouterr()
    assert main(tri) == 0 and "skipped" not in capsys.readouterr().out
    assert main(tri) == 0 and "skipped" in capsys.readouterr().out
    assert main([*tri, "--force"]) == 0 and "skipped" not in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_files_that_only_look_like_calibrations(tmp_path, p2s_videos, capsys):
    """Issue 12, item 6: a pyproject.toml or notes.json beside the videos is not taken for
    the calibration; given with --calibration, one clear error says it is not one."""
    import shutil

    from posestack.pipeline import find_calibration

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mine"\n')
    (tmp_path / "notes.json").write_text('{"subject": "S01", "notes": "left knee"}')
    (tmp_path / "cam01.mp4").symlink_to(p2s_videos / "cam01.mp4")
    assert find_calibration(tmp_path) is None
    (tmp_path / "calibration").mkdir()
    shutil.copy(p2s_videos.parent / "calibration" / "Calib.qca.txt", tmp_path / "calibration")
    assert find_calibration(tmp_path) == tmp_path / "calibration" / "Calib.qca.txt"
    for bad in ("pyproject.toml", "notes.json"):
        code = main(["run", str(tmp_path / "cam01.mp4"), "--calibration", str(tmp_path / bad),
                     "-o", str(tmp_path / "out"), "-q"])
        err = capsys.readouterr().err
        assert code != 0 and err.count("error:") == 1 and "is not a calibration file" in err
    assert not (tmp_path / "out").exists()


# --- two people in the sample's four real cameras, OpenPose BODY_25B json (issue 12, item 7) ---


def _identities(coords: np.ndarray, frames: np.ndarray, truth: np.ndarray) -> dict:
    """Who each 3D person is, frame by frame, against the truth.

    ``coords`` ``(T', Q, K, 3)`` at ``frames`` (indices into ``truth`` ``(T, 2, K, 3)``).
    A 3D person is on a true person in a frame when the centre of its keypoints is within
    0.3 m of the centre of the same keypoints of the truth. Per true person:
    ``duplicates`` (frames where more than one 3D person is on them), ``missing`` (frames
    with none), ``main`` (the 3D identity on them most often), ``continuity`` (share of
    all frames where ``main`` is on them), ``ids`` (identities ever on them), ``mpjpe``
    (m, mean over the keypoints and frames where ``main`` is on them); ``strays``: 3D
    people-frames on nobody.
    """
    t_n = truth.shape[0]
    ok = np.isfinite(coords).all(-1)                                         # (T', Q, K)
    n = np.maximum(ok.sum(-1), 1)[..., None]
    centre = np.where(ok[..., None], coords, 0).sum(2) / n                   # (T', Q, 3)
    tr = truth[frames]                                                        # (T', 2, K, 3)
    true_c = (ok[:, :, None, :, None] * tr[:, None]).sum(3) / n[:, :, None]  # (T', Q, 2, 3)
    d = np.linalg.norm(centre[:, :, None] - true_c, axis=-1)                 # (T', Q, 2)
    present = ok.any(-1)
    on = np.where(present & (d.min(-1) < 0.3), d.argmin(-1), -1)            # (T', Q)
    out: dict = {"strays": int((present & (on < 0)).sum())}
    for p in range(truth.shape[1]):
        n_on = (on == p).sum(axis=1)
        counts = (on == p).sum(axis=0)
        main = int(counts.argmax())
        sel = on[:, main] == p
        err = np.linalg.norm(coords[sel, main] - tr[sel, p], axis=-1)
        out[p] = {"duplicates": int((n_on > 1).sum()), "missing": int(t_n - (n_on > 0).sum()),
                  "main": main, "continuity": float(counts[main] / t_n),
                  "mpjpe": float(np.nanmean(err)), "ids": int((counts > 0).sum())}
    return out


def _check_identities(report: dict) -> None:
    walker, bystander = report[0], report[1]
    for who in (walker, bystander):
        assert who["duplicates"] == 0, report        # never one person twice in a frame
        assert who["continuity"] >= 0.95, report     # one identity for the whole trial
        assert who["mpjpe"] < 0.030, report          # < 30 mm
    assert walker["main"] != bystander["main"], report
    assert report["strays"] <= 3, report


@pytest.fixture(scope="module")
def two_people_json(tmp_path_factory):
    from .multiview_scenes import two_people, write_openpose_folders

    scene = two_people()
    folder = tmp_path_factory.mktemp("two_people")
    return scene, write_openpose_folders(scene, folder)


@pytest.mark.assets
def test_two_people_openpose_json_one_identity_each_no_duplicates(two_people_json, tmp_path):
    """A walker crossing the sample's four cameras past a bystander standing at the back,
    BODY_25B json with noise, dropped keypoints and detections, occlusions and left/right
    confusions in the cameras that see a person from behind: each person is one 3D
    identity for the whole trial, never two at once, within 30 mm of the truth, through
    the API and the command line."""
    from posestack.pipeline import triangulate_files

    scene, dirs = two_people_json
    mv = triangulate_files(dirs, scene.calibration_path, None, layout="body25b", fps=scene.fps)
    assert mv.poses3d.skeleton.name == "body25b"
    _check_identities(_identities(mv.poses3d.coords, mv.reconstruction.frames, scene.truth))

    out = tmp_path / "cli"
    assert main(["triangulate", *map(str, dirs), "--calibration", str(scene.calibration_path),
                 "--layout", "body25b", "--fps", str(scene.fps), "-o", str(out)]) == 0
    poses, frames = posestack.read_keypoints(out / "keypoints3d.parquet")
    _check_identities(_identities(poses.coords, frames, scene.truth))
    m = json.loads((out / "manifest.json").read_text())
    assert m["people"]["per_frame_3d"].get("2", 0) >= 140


def _mirror(view: Poses, frames: slice) -> Poses:
    """The view with left and right exchanged in ``frames`` (a detector's side swap)."""
    coords, scores = view.coords.copy(), view.scores.copy()
    flip = list(view.skeleton.flip)
    coords[frames] = coords[frames][:, :, flip]
    scores[frames] = scores[frames][:, :, flip]
    return Poses(view.skeleton, coords, scores, view.times, view.space)


def test_person_mirrored_in_two_of_four_cameras_is_one_person_with_true_sides():
    # frames 10-19: cam03 and cam04 swap left and right; each pair of cameras agrees with
    # itself, so without mirror handling the person is accepted twice (two identities).
    calib = _rig(4)
    times = np.arange(30) / 30.0
    truth = [_person(times, -0.5, 0.8)]
    views = _views(calib, truth, times, shuffle=False)
    views[2], views[3] = _mirror(views[2], slice(10, 20)), _mirror(views[3], slice(10, 20))
    rec = reconstruct(views, calib)
    assert rec.poses.n_people == 1 and rec.poses.present().all()
    assert rec.mirrored[10:20, 0, 2:].all() and not rec.mirrored[:10].any()
    err = np.linalg.norm(rec.poses.coords[:, 0] - truth[0], axis=-1)
    assert np.nanmax(err) < 0.01


def test_groups_of_one_person_that_disagree_are_merged(monkeypatch):
    # cam01+cam02 and cam03+cam04 each see the person consistently, but the pairs disagree
    # by 10 cm (as detectors that place joints differently from the front and from behind):
    # no group of 3 or 4 cameras passes a 3 px threshold, both pairs do; they are one person.
    from posestack.multiview import associate as assoc_mod
    from posestack.multiview.associate import associate, associate_frames
    from posestack.multiview.reconstruct import landmarks

    calib = _rig(4)
    times = np.arange(3) / 30.0
    P = calib.projections()

    def detections(people):
        xy, sc = [], []
        for i, cam in enumerate(calib.cameras):
            moved = [p + (np.array([0.1, 0.0, 0.0]) if i >= 2 else 0.0) for p in people]
            xy.append(np.stack([cam.project(p, distort=False) for p in moved], axis=1))
            sc.append(np.full(xy[-1].shape[:-1], 0.9))
        return xy, sc

    xy, sc = detections([_person(times, 0.0, 0.0)])
    groups = associate_frames(xy, sc, P, [5, 6, 11, 12], max_error=3.0)
    assert [g.tolist() for g in groups] == [[[0, 0, 0, 0]]] * 3
    # the same when cam03 and cam04 also swap sides and mirrored groups are not tried
    monkeypatch.setattr(assoc_mod, "MAX_MIRRORED", 0)
    flip = list(COCO.flip)
    xy_m = [a if i < 2 else a[:, :, flip] for i, a in enumerate(xy)]
    res = associate(xy_m, sc, P, landmarks(COCO), max_error=3.0)
    assert res.merged == 3 and [g.tolist() for g in res.groups] == [[[0, 0, 0, 0]]] * 3
    # the pairs are mirror images of each other (which one is right is settled over time)
    assert all(m.tolist() in ([[False, False, True, True]], [[True, True, False, False]])
               for m in res.mirrored)
    # two people 0.4 m apart: each is merged with itself, never with the other
    xy, sc = detections([_person(times, 0.0, 0.0), _person(times, 0.4, 0.0)])
    res = associate(xy, sc, P, landmarks(COCO), max_error=3.0)
    assert res.merged == 6
    assert all(sorted(g.tolist()) == [[0, 0, 0, 0], [1, 1, 1, 1]] for g in res.groups)


def test_a_copy_of_a_person_does_not_split_their_identity():
    # frame 10 holds a second copy of the walker sharing a single point with them (too
    # little to call it a copy there); whichever copy goes on, the trial has one identity.
    from posestack.multiview.link import link_people

    times = np.arange(30) / 30.0
    walker = _person(times, -1.0, 1.2)
    other = _person(times, 1.5, 0.0)
    frames = []
    for ti in range(30):
        rows = [walker[ti], other[ti]]
        if ti == 10:
            copy = np.full_like(walker[ti], np.nan)
            copy[[0, 5]] = walker[ti, [0, 5]] + 0.01
            rows.insert(0, copy)
        frames.append(np.stack(rows))
    ids = link_people(frames, times)
    assert ids[10].tolist() == [0, 0, 1]
    assert all(i.tolist() == [0, 1] for t, i in enumerate(ids) if t != 10)


@pytest.mark.assets
def test_triangulate_detects_body25b_and_body25_json(two_people_json, tmp_path, capsys):
    """Issue 12, item 8: 25-point json without --layout is read in the layout its geometry
    shows (BODY_25B here, and BODY_25 when the same 3D is written as BODY_25), said so in
    the manifest and on the console; json whose geometry says neither is refused."""
    from .multiview_scenes import to_body25, write_openpose_folders

    scene, dirs = two_people_json
    calib = str(scene.calibration_path)
    fps = str(scene.fps)
    assert main(["triangulate", *map(str, dirs), "--calibration", calib, "--fps", fps,
                 "-o", str(tmp_path / "b")]) == 0
    assert "layout: body25b (detected from the keypoint geometry)" in capsys.readouterr().out
    m = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert m["skeleton"] == "body25b" and m["layout"]["name"] == "body25b"
    assert m["layout"]["votes"]["body25"] == 0 and m["layout"]["votes"]["body25b"] > 500
    assert m["parameters"]["keypoints_from"] == "coco"  # OpenPose's hips: COCO's definition
    b, frames = posestack.read_keypoints(tmp_path / "b" / "keypoints3d.parquet")
    _check_identities(_identities(b.coords, frames, scene.truth))

    dirs25 = write_openpose_folders(scene, tmp_path / "json25", layout="body25")
    assert main(["triangulate", *map(str, dirs25), "--calibration", calib, "--fps", fps,
                 "-o", str(tmp_path / "a")]) == 0
    m = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert m["skeleton"] == "body25" and m["layout"]["name"] == "body25"
    a, frames_a = posestack.read_keypoints(tmp_path / "a" / "keypoints3d.parquet")
    _check_identities(_identities(a.coords, frames_a, to_body25(scene.truth)))

    rng = np.random.default_rng(0)       # 25 points per person that are not a person
    junk = []
    for cam in ("cam01", "cam02"):
        d = tmp_path / f"{cam}_json"
        d.mkdir()
        for t in range(10):
            flat = np.c_[rng.uniform(10, 500, (25, 2)), np.full(25, 0.9)].ravel().tolist()
            (d / f"{cam}_{t:06d}.json").write_text(json.dumps({"people": [
                {"pose_keypoints_2d": flat}]}))
        junk.append(str(d))
    capsys.readouterr()
    assert main(["triangulate", *junk, "--calibration", calib, "-o", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "does not decide" in err and "--layout body25 or --layout body25b" in err


# --- camera names, offsets, --cameras (checked before any work) -----------------------------


def _bundles(tmp_path, calib: Calibration, views: list[Poses], frames: list[np.ndarray]):
    """One posestack 2D bundle per camera (keypoints2d.parquet) and the Calib.toml."""
    from posestack.io.tables import poses_to_table, write_parquet
    from posestack.multiview.calibration import save_toml

    folders = []
    for cam, v, f in zip(calib.cameras, views, frames, strict=True):
        (tmp_path / cam.name).mkdir()
        write_parquet(tmp_path / cam.name / "keypoints2d.parquet", poses_to_table(v, f, cam.name))
        folders.append(str(tmp_path / cam.name))
    save_toml(calib, tmp_path / "Calib.toml")
    return folders, str(tmp_path / "Calib.toml")


def test_positive_and_negative_offsets_pose2sim_convention(tmp_path):
    """``--offset cam02=4`` (Pose2Sim's convention: subtracted from cam02's frame numbers):
    cam02 started 4 frames before the others, so its frame 4 is their frame 0. The 3D
    frames are numbered from the camera that started first, never negative (the .trc
    writer refused the negative first frame before); ``cam2`` finds cam02."""
    calib = _rig(3)
    instants = np.arange(-4, 30)                     # cam02 films from instant -4
    truth = [_person(instants / 30.0, -0.5, 1.0)]
    full = _views(calib, truth, instants / 30.0, shuffle=False)
    views = [Poses(COCO, v.coords[s:], v.scores[s:], v.times[s:] - v.times[s], v.space)
             for v, s in zip(full, (4, 0, 4), strict=True)]
    frames = [np.arange(30), np.arange(34), np.arange(30)]
    folders, toml = _bundles(tmp_path, calib, views, frames)
    for spelling in ("cam02=4", "cam2=4"):
        out = tmp_path / f"o_{spelling[:5]}"
        assert main(["triangulate", *folders, "--calibration", toml, "-o", str(out),
                     "--offset", spelling]) == 0
        m = json.loads((out / "manifest.json").read_text())
        assert m["frames"]["first"] == 0 and m["frames"]["count"] == 34
        # camera frame = 3D frame + offset: cam01 and cam03 started 4 frames after cam02
        assert m["offsets"] == {"cam01": -4, "cam03": -4}
        assert m["parameters"]["offsets"] == {"cam02": 4}
        assert m["accuracy"]["reprojection_error_px"]["median"] < 1.5
        assert m["outputs"]["trc"] == [f"{out.name}_p0.trc"]
    # the same alignment from the late cameras' side: cam01 and cam03 started 4 frames late
    out = tmp_path / "late"
    assert main(["triangulate", *folders, "--calibration", toml, "-o", str(out),
                 "--offset", "cam01=-4", "--offset", "cam03=-4"]) == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["offsets"] == {"cam01": -4, "cam03": -4} and m["frames"]["first"] == 0
    assert m["accuracy"]["reprojection_error_px"]["median"] < 1.5


def test_offset_and_camera_names_checked_before_any_work(tmp_path, capsys):
    calib = _rig(3)
    times = np.arange(5) / 30.0
    views = _views(calib, [_person(times, 0, 0)], times, shuffle=False)
    folders, toml = _bundles(tmp_path, calib, views, [np.arange(5)] * 3)
    for args, expect in ((["--offset", "cam09=1"], "'cam09' is not a camera here"),
                         (["--offset", "cam=1"], "is not a camera here (did you mean cam0"),
                         (["--offset", "left=1"], "the cameras are cam01, cam02, cam03"),
                         (["--offset", "camm02=1"], "'camm02' is not a camera here"),
                         (["--offset", "c2=1"], "'c2' is not a camera here"),
                         (["--offset", "2=1"], "'2' is not a camera here"),
                         (["--cameras", "cam01,kam02"], "--cameras 'kam02'"),
                         (["--offset", "cam02=1.5"], "whole number of frames"),
                         (["--offset", "cam02=1", "--offset", "cam2=2"], "camera cam02 twice"),
                         (["--cameras", "cam01,cam07"], "--cameras 'cam07'")):
        assert main(["triangulate", *folders, "--calibration", toml, "-o",
                     str(tmp_path / "o"), *args]) == 2, args
        err = capsys.readouterr().err
        assert err.count("error:") == 1 and expect in err, (args, err)
        assert not (tmp_path / "o").exists()


@pytest.mark.assets
def test_run_checks_offsets_and_picks_cameras_before_2d(tmp_path, p2s_videos, capsys,
                                                         monkeypatch):
    """A wrong --offset camera is refused before any 2D work; three videos with a
    four-camera calibration are refused with the --cameras option that fixes it, and
    run with it."""
    calib = p2s_videos.parent / "calibration" / "Calib.qca.txt"

    def no_estimator(*a, **k):
        raise AssertionError("2D started")

    monkeypatch.setattr("posestack.estimate.make_estimator", no_estimator)
    assert main(["run", str(p2s_videos), "-o", str(tmp_path), "--offset", "cam9=3",
                 "-q"]) == 2
    assert "'cam9' is not a camera here" in capsys.readouterr().err
    three = [str(p2s_videos / f"cam0{i}.mp4") for i in (1, 2, 3)]
    assert main(["run", *three, "--calibration", str(calib), "-o", str(tmp_path), "-q"]) == 2
    assert "--cameras cam01,cam02,cam03" in capsys.readouterr().err
    with pytest.raises(AssertionError, match="2D started"):  # every check passed
        main(["run", *three, "--calibration", str(calib), "--cameras", "cam1,cam2,cam3",
              "--offset", "cam2=3", "-o", str(tmp_path), "-q"])


@pytest.mark.assets
def test_failed_opensim_is_not_claimed_in_the_manifest(demo_3d, tmp_path, p2s_videos, capsys,
                                                       monkeypatch):
    """OpenSim failing leaves a manifest that says so (and vouches for the 3D only)."""
    from posestack.errors import InputError as Err

    def fail(*a, **k):
        raise Err("OpenSim scaling failed: ScaleTool: No model specified.")

    monkeypatch.setattr("posestack.biomech.opensim_ik.scale_and_ik", fail)
    calib = p2s_videos.parent / "calibration" / "Calib.qca.txt"
    cams = [str(demo_3d / f"cam0{i}") for i in range(1, 5)]
    assert main(["triangulate", *cams, "--calibration", str(calib), "-o",
                 str(tmp_path / "o"), "--opensim", "--augment"]) == 2
    assert "No model specified" in capsys.readouterr().err
    m = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert m["parameters"]["opensim"] is False and m["parameters"]["augment"] is False
    assert "No model specified" in m["opensim"]["error"]
    assert any(w.startswith("OpenSim failed") for w in m["warnings"])
    assert "opensim" not in m["outputs"] and "angles_opensim" not in m["outputs"]
    assert (tmp_path / "o" / "keypoints3d.parquet").is_file()


@pytest.mark.assets
def test_multiview_rerun_with_other_options_says_what_it_replaces(demo_3d, tmp_path,
                                                                  p2s_videos, capsys):
    """A multi-view rerun with another option (here the 3D filter) warns, like a 2D
    bundle, which parameters differ from the results it replaces; a later rerun that skips
    does not repeat it."""
    import shutil

    out = tmp_path / "mv"
    shutil.copytree(demo_3d, out)
    args = ["run", str(p2s_videos), "-o", str(out), "--layout", "halpe26", "--end", "0.5",
            "--filter", "oneeuro"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "replaced the finished results" in err and "filter=butterworth" in err, err
    m = json.loads((out / "multiview" / "manifest.json").read_text())
    assert any("replaced the finished results" in w for w in m["warnings"])
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.out and "replaced" not in captured.err


@pytest.mark.assets
def test_triangulate_a_bundles_json_takes_its_frame_rate(demo_3d, tmp_path, p2s_videos,
                                                         caplog):
    """A bundle's openpose/ folder without --fps is read at its video's rate (60 here), and
    the manifest says the rate used; json from elsewhere without --fps warns of 30."""
    from posestack.io.trc import read_trc

    calib = str(p2s_videos.parent / "calibration" / "Calib.qca.txt")
    jsons = [str(demo_3d / f"cam0{i}" / "openpose") for i in range(1, 5)]
    assert main(["triangulate", *jsons, "--calibration", calib, "-o", str(tmp_path / "a")]) == 0
    m = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert m["parameters"]["fps"] == pytest.approx(60.0, rel=1e-3)
    _, times, _, _ = read_trc(tmp_path / "a" / m["outputs"]["trc"][0])
    assert np.median(np.diff(times)) == pytest.approx(1 / 60, rel=1e-3)
    import shutil

    for i in range(1, 5):
        shutil.copytree(demo_3d / f"cam0{i}" / "openpose", tmp_path / f"cam0{i}_json")
    with caplog.at_level("WARNING", logger="posestack"):
        assert main(["triangulate", *[str(tmp_path / f"cam0{i}_json") for i in range(1, 5)],
                     "--calibration", calib, "-o", str(tmp_path / "b")]) == 0
    assert "taken as 30 frames/s" in caplog.text
