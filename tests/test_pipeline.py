"""The main job end to end: `posestack run` / `posestack.run` on real video, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

import posestack
from posestack import assets
from posestack.cli import main
from posestack.io.media import VideoWriter
from posestack.skeletons import get_skeleton

from .conftest import decode

pytestmark = pytest.mark.assets


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def cam01_bundle(tmp_path_factory, p2s_videos):
    """One CLI run on the first half second (30 frames) of cam01."""
    out = tmp_path_factory.mktemp("out")
    code = main(["run", str(p2s_videos / "cam01.mp4"), "-o", str(out), "--end", "0.5", "-q"])
    assert code == 0
    return out / "cam01"


def test_bundle_files(cam01_bundle):
    files = _files(cam01_bundle)
    for name in ("manifest.json", "keypoints2d.parquet", "keypoints3d_body.parquet",
                 "coco_results.json", "overlay.mp4"):
        assert name in files
    ops = sorted(f for f in files if f.startswith("openpose/"))
    assert len(ops) == 30 and ops[0] == "openpose/cam01_000000000000_keypoints.json"
    assert not [f for f in files if Path(f).name.startswith(".")]  # no temporary leftovers


def test_keypoints2d_table(cam01_bundle):
    # cam01 shows the subject and, by the door in the background, a second person:
    # both are found in every frame; the subject (largest, most confident) is person 0.
    t = pq.read_table(cam01_bundle / "keypoints2d.parquet")
    assert t.column_names == ["camera", "frame", "time", "person", "keypoint", "x", "y",
                              "score"]
    assert t.num_rows == 30 * 33 * 2
    df = t.to_pydict()
    assert set(df["camera"]) == {"cam01"} and set(df["person"]) == {0, 1}
    assert sorted(set(df["frame"])) == list(range(30))
    times = np.unique(np.asarray(df["time"]))
    assert np.allclose(np.diff(times), 1 / 60, atol=1e-6) and times[0] == 0.0
    assert df["keypoint"][:3] == ["nose", "left_eye_inner", "left_eye"]
    x, y, s = (np.asarray(df[c]) for c in ("x", "y", "score"))
    assert np.all((s >= 0) & (s <= 1))
    subject = np.asarray(df["person"]) == 0
    # the subject stands in the middle of the 1080x1920 portrait frame, the other
    # person near its left edge
    assert 200 < np.nanmedian(x[subject]) < 900 and 300 < np.nanmedian(y[subject]) < 1700
    assert np.nanmedian(x[~subject]) < 200


def test_keypoints3d_body_table_and_round_trip(cam01_bundle):
    t = pq.read_table(cam01_bundle / "keypoints3d_body.parquet")
    assert t.column_names == ["camera", "frame", "time", "person", "keypoint", "x", "y", "z",
                              "score"]
    poses, frames = posestack.read_keypoints(cam01_bundle / "keypoints3d_body.parquet")
    assert poses.space == "body" and poses.coords.shape == (30, 2, 33, 3)
    sk = poses.skeleton
    hips = poses.coords[:, 0, [sk.index("left_hip"), sk.index("right_hip")]]
    # metres, centred between the hips
    assert np.abs(hips.mean(axis=1)).max() < 0.05
    width = np.linalg.norm(hips[:, 0] - hips[:, 1], axis=1)
    assert np.all((width > 0.1) & (width < 0.5))
    assert list(frames) == list(range(30))


def test_manifest(cam01_bundle, p2s_videos):
    m = json.loads((cam01_bundle / "manifest.json").read_text())
    src = p2s_videos / "cam01.mp4"
    assert m["input"]["sha256"] == assets.sha256_file(src)
    assert m["input"]["size"] == src.stat().st_size
    assert m["input"]["width"] == 1080 and m["input"]["height"] == 1920
    assert m["frames"]["processed"] == 30 and m["frames"]["with_people"] == 30
    assert m["parameters"]["end"] == 0.5 and m["parameters"]["estimator"] == "blazepose"
    hashes = {x["name"]: x["sha256"] for x in m["models"]}
    assert hashes["blazepose_landmark_full"] == dict(
        assets.get("blazepose_landmark_full").members)[
        "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"]
    assert m["truncated"] is False and m["warnings"] == []
    assert m["timings"]["frames_per_s"] > 0
    assert set(m["outputs"]) == {"keypoints2d", "keypoints3d_body", "coco", "openpose",
                                 "overlay", "angles"}


def test_planar_angles_in_the_bundle(cam01_bundle):
    t = pq.read_table(cam01_bundle / "angles.parquet").to_pydict()
    names = set(t["angle"])
    assert {"right_knee", "left_knee", "trunk", "right_elbow"} <= names
    knee = np.array([d for a, d, p in zip(t["angle"], t["degrees"], t["person"], strict=True)
                     if a == "right_knee" and p == 0])
    assert len(knee) == 30 and np.all(np.abs(knee) <= 180)
    assert set(t["frame"]) == set(range(30))


def test_coco_and_openpose_json(cam01_bundle):
    coco = json.loads((cam01_bundle / "coco_results.json").read_text())
    assert len(coco) == 60  # two people in 30 frames
    r = coco[0]
    assert r["category_id"] == 1 and r["image_id"] == 0 and len(r["keypoints"]) == 17 * 3
    t = pq.read_table(cam01_bundle / "keypoints2d.parquet").to_pydict()
    # COCO nose = BlazePose nose, frame 0
    assert r["keypoints"][:2] == pytest.approx([t["x"][0], t["y"][0]], abs=0.01)
    op = json.loads((cam01_bundle / "openpose" / "cam01_000000000000_keypoints.json").read_text())
    assert op["version"] == 1.3 and len(op["people"]) == 2
    kp = op["people"][0]["pose_keypoints_2d"]
    assert len(kp) == 33 * 3 and kp[:2] == pytest.approx([t["x"][0], t["y"][0]], abs=0.01)


def test_overlay_is_h264_with_every_frame(cam01_bundle):
    with av.open(str(cam01_bundle / "overlay.mp4")) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.codec_context.pix_fmt == "yuv420p"
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 30 and frames[0].shape == (1920, 1080, 3)


def test_python_api_in_memory_matches_files(cam01_bundle, p2s_videos):
    [r] = posestack.run(p2s_videos / "cam01.mp4", None, end=0.5, progress=False)
    assert r.bundle is None and r.keypoints2d.coords.shape == (30, 2, 33, 2)
    assert r.keypoints2d.space == "image:cam01"
    disk, _ = posestack.read_keypoints(cam01_bundle / "keypoints2d.parquet")
    np.testing.assert_allclose(disk.coords, r.keypoints2d.coords, atol=1e-3)


def test_rerun_skips_finished_work(tmp_path, p2s_videos):
    args = [p2s_videos / "cam01.mp4"]
    [a] = posestack.run(args, tmp_path, end=0.2, video=False, progress=False)
    stamp = (tmp_path / "cam01" / "manifest.json").stat().st_mtime_ns
    [b] = posestack.run(args, tmp_path, end=0.2, video=False, progress=False)
    assert b.skipped and not a.skipped
    assert (tmp_path / "cam01" / "manifest.json").stat().st_mtime_ns == stamp
    np.testing.assert_allclose(a.keypoints2d.coords, b.keypoints2d.coords, atol=1e-3)
    assert "overlay.mp4" not in _files(tmp_path / "cam01")
    [c] = posestack.run(args, tmp_path, end=0.3, video=False, progress=False)  # new params
    assert not c.skipped and c.keypoints2d.n_frames == 18


def test_two_people_on_sports2d(tmp_path, sports2d_video):
    [r] = posestack.run(sports2d_video, tmp_path, end=4.0, video=False, progress=False)
    present = r.keypoints2d.present()
    assert r.keypoints2d.n_people >= 2
    assert present[60:].sum(axis=1).mean() > 1.8  # both people from ~2 s on
    t = pq.read_table(tmp_path / "demo" / "keypoints2d.parquet")
    assert set(t.column("person").to_pylist()) >= {0, 1}


def test_image_and_folder_inputs(tmp_path, cam01_frames):
    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "person.png"), cv2.cvtColor(cam01_frames[40], cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(folder / "nobody.jpg"), np.full((240, 320, 3), 90, np.uint8))
    (folder / "notes.txt").write_text("ignored: not an image or a video")
    out = tmp_path / "out"
    assert main(["run", str(folder), "-o", str(out), "-q"]) == 0
    assert {p.name for p in out.iterdir()} == {"person", "nobody"}
    person, _ = posestack.read_keypoints(out / "person" / "keypoints2d.parquet")
    assert person.coords.shape == (1, 2, 33, 2)  # the subject and the person by the door
    # an image's overlay is an image
    overlay = cv2.imread(str(out / "person" / "overlay.png"))
    assert overlay is not None and overlay.shape == cam01_frames[40].shape
    assert not (out / "person" / "overlay.mp4").exists()
    manifest = json.loads((out / "person" / "manifest.json").read_text())
    assert manifest["outputs"]["overlay"] == "overlay.png"
    # nobody: an empty but valid result
    m = json.loads((out / "nobody" / "manifest.json").read_text())
    assert m["frames"]["processed"] == 1 and m["frames"]["with_people"] == 0
    assert pq.read_table(out / "nobody" / "keypoints2d.parquet").num_rows == 0
    assert json.loads((out / "nobody" / "coco_results.json").read_text()) == []
    assert len(list((out / "nobody" / "openpose").iterdir())) == 1


# --- bad input ------------------------------------------------------------------------------


def _err(capsys) -> str:
    return capsys.readouterr().err


def test_missing_input(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "o"), "-q"]) == 2
    err = _err(capsys)
    assert err.count("error:") == 1 and "input not found" in err and "nope.mp4" in err


def test_not_a_video(tmp_path, capsys):
    fake = tmp_path / "clip.mp4"
    fake.write_text("hello, I am text\n" * 50)
    assert main(["run", str(fake), "-o", str(tmp_path / "o"), "-q"]) == 2
    assert "not a readable video or image" in _err(capsys)
    assert not (tmp_path / "o" / "clip").exists()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    assert main(["run", str(broken), "-o", str(tmp_path / "o"), "-q"]) == 2
    assert "could not be decoded as an image" in _err(capsys)


def test_zero_frame_video(tmp_path, capsys):
    for fmt, message in (("avi", "contains no decodable video frames"),
                         ("mp4", "has no video stream")):  # mp4 drops an empty stream
        empty = tmp_path / f"empty.{fmt}"
        with av.open(str(empty), "w", format=fmt) as c:
            s = c.add_stream("mpeg4", rate=30)
            s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
            c.start_encoding()
        assert main(["run", str(empty), "-o", str(tmp_path / "o"), "-q"]) == 2
        err = _err(capsys)
        assert err.count("error:") == 1 and message in err, err
        assert list((tmp_path / "o").iterdir()) == []  # not even an empty bundle folder


def _short_clip(frames: list[np.ndarray], path: Path, n: int) -> Path:
    with VideoWriter(path, 540, 960, 60.0) as w:
        for f in frames[:n]:
            w.write(cv2.resize(f, (540, 960)))
    return path


def test_truncated_video_keeps_what_it_can_read(tmp_path, cam01_frames, capsys):
    clip = _short_clip(cam01_frames, tmp_path / "full.mp4", 60)
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    assert main(["run", str(cut), "-o", str(tmp_path / "o"), "-q", "--no-video"]) == 0
    assert "truncated" in _err(capsys)
    m = json.loads((tmp_path / "o" / "cut" / "manifest.json").read_text())
    assert m["truncated"] is True and m["warnings"]
    assert 5 < m["frames"]["processed"] < 60


def test_output_not_writable_fails_before_work(tmp_path, p2s_videos, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")

    def no_estimator(*a, **k):  # the check must come before any model is loaded
        raise AssertionError("estimator built before the output was checked")

    monkeypatch.setattr("posestack.estimate.make_estimator", no_estimator)
    assert main(["run", str(p2s_videos / "cam01.mp4"), "-o", str(blocker / "out"), "-q"]) == 2
    err = _err(capsys)
    assert "cannot write to output folder" in err and "-o" in err


def test_bad_parameters(tmp_path, p2s_videos, capsys):
    v = str(p2s_videos / "cam01.mp4")
    assert main(["run", v, "-o", str(tmp_path), "--start", "1", "--end", "0.5"]) == 2
    assert "--end" in _err(capsys)
    assert main(["run", v, "-o", str(tmp_path), "--device", "cuda"]) == 2
    assert "valid devices: cpu" in _err(capsys)
    assert main(["run", v, "-o", str(tmp_path), "--start", "9"]) == 2  # clip is 1.67 s
    assert "--start 9.0 s is past the end of" in _err(capsys)  # before any work
    assert _files(tmp_path) == set()


def test_corrupt_model_offline_is_one_clear_error(tmp_path, p2s_videos, capsys, monkeypatch):
    home = tmp_path / "home"
    for name in ("blazepose_detector", "blazepose_landmark_full"):
        src = assets.path(name)
        dst = home / "assets" / name / src.name
        dst.parent.mkdir(parents=True)
        shutil.copy(src, dst)
    model = home / "assets" / "blazepose_landmark_full" / "pose_landmark_full.tflite"
    data = bytearray(model.read_bytes())
    data[5000] ^= 0xFF
    model.write_bytes(bytes(data))
    monkeypatch.setenv("POSESTACK_HOME", str(home))
    monkeypatch.setenv("POSESTACK_OFFLINE", "1")
    out = tmp_path / "o"
    assert main(["run", str(p2s_videos / "cam01.mp4"), "-o", str(out), "-q"]) == 2
    err = _err(capsys)
    assert "blazepose_landmark_full" in err and "corrupt" in err
    assert "posestack assets fetch blazepose_landmark_full" in err
    assert _files(out) == set()


def test_failure_mid_run_leaves_no_half_files(tmp_path, p2s_videos, monkeypatch):
    from posestack.estimate import blazepose

    real = blazepose.BlazePose.__call__
    calls = []

    def flaky(self, image, time=None):
        calls.append(1)
        if len(calls) > 5:
            raise RuntimeError("boom")
        return real(self, image, time)

    monkeypatch.setattr(blazepose.BlazePose, "__call__", flaky)
    with pytest.raises(RuntimeError, match="boom"):
        posestack.run(p2s_videos / "cam01.mp4", tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_demo_command(tmp_path, capsys, sports2d_video):
    assert main(["demo", "-o", str(tmp_path), "-q"]) == 0
    out = capsys.readouterr().out
    assert "bundle:" in out and (tmp_path / "demo" / "overlay.mp4").is_file()
    m = json.loads((tmp_path / "demo" / "manifest.json").read_text())
    assert m["frames"]["processed"] == 230 and m["people"] >= 2


def test_overlay_draws_the_skeleton(tmp_path, p2s_videos):
    """The overlay differs from the source where the skeleton is, and only near it."""
    [r] = posestack.run(p2s_videos / "cam01.mp4", tmp_path, end=0.1, progress=False)
    src = decode(p2s_videos / "cam01.mp4", {0})[0].astype(int)
    with av.open(str(tmp_path / "cam01" / "overlay.mp4")) as c:
        ov = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    diff = np.abs(ov - src).sum(axis=2) > 120
    people = r.keypoints2d.coords[0]  # (2, 33, 2): the subject and the person by the door
    xy = people.reshape(-1, 2)
    ys, xs = np.nonzero(diff)
    near = np.min(np.hypot(xs[:, None] - xy[None, :, 0], ys[:, None] - xy[None, :, 1]), axis=1)
    # drawn pixels lie on the skeletons' bounding regions
    assert diff.sum() > 2000
    inside = np.zeros(len(xs), bool)
    for p in people:
        x0, y0 = np.nanmin(p, 0) - 60
        x1, y1 = np.nanmax(p, 0) + 60
        inside |= (xs > x0) & (xs < x1) & (ys > y0) & (ys < y1)
    assert inside.mean() > 0.95
    assert np.median(near) < 150
    assert get_skeleton("blazepose33").edges  # drawn with BlazePose's connections


def test_same_file_name_in_two_folders_gets_two_bundles(tmp_path, p2s_videos):
    """Issue 12, item 4: s1/clip.mp4 and s2/clip.mp4 each get a bundle (parent folder in
    front of the name), and a rerun skips both; one file given twice is refused."""
    import shutil

    for folder, cam in (("s1", "cam01"), ("s2", "cam03")):
        (tmp_path / folder).mkdir()
        shutil.copy(p2s_videos / f"{cam}.mp4", tmp_path / folder / "clip.mp4")
    args = ["run", str(tmp_path / "s1" / "clip.mp4"), str(tmp_path / "s2" / "clip.mp4"),
            "-o", str(tmp_path / "out"), "--end", "0.1", "--no-video", "-q"]
    assert main(args) == 0
    bundles = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert bundles == ["s1_clip", "s2_clip"]
    digests = {json.loads((tmp_path / "out" / b / "manifest.json").read_text())["input"][
        "sha256"] for b in bundles}
    assert len(digests) == 2
    [a, b] = posestack.run([tmp_path / "s1" / "clip.mp4", tmp_path / "s2" / "clip.mp4"],
                           tmp_path / "out", end=0.1, video=False, progress=False)
    assert a.skipped and b.skipped
    with pytest.raises(posestack.InputError, match="the same input is given twice"):
        posestack.run([tmp_path / "s1" / "clip.mp4", tmp_path / "s1" / ".." / "s1" / "clip.mp4"],
                      tmp_path / "out2")


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_threads=0), "--threads must be between 1 and"),
    (dict(num_threads=-2), "--threads must be between 1 and"),
    (dict(start=99.0), r"--start 99.0 s is past the end of .*cam01.mp4 \(1\.\d+ s long\)"),
    (dict(filter="butterworth", cutoff=40.0), "at or above the Nyquist frequency"),
    (dict(detect_interval=-1), "--detect-interval must be ≥ 0"),
])
def test_options_checked_against_the_input_before_work(tmp_path, p2s_videos, kwargs, message):
    """Issue 12, item 5 (part): one clear error before any frame is estimated."""
    with pytest.raises(posestack.InputError, match=message):
        posestack.run(p2s_videos / "cam01.mp4", tmp_path / "out", progress=False, **kwargs)
    assert not (tmp_path / "out" / "cam01").exists()


@pytest.mark.parametrize("argv, message", [
    (["--height", "1.8"], "are for 3D from several cameras"),
    (["--mass", "80"], "are for 3D from several cameras"),
    (["--min-views", "1"], "are for 3D from several cameras"),
    (["--keypoints-from", "coco"], "are for 3D from several cameras"),
    (["--style", "openpose", "--no-video"], "--no-video writes none"),
    (["--calibration", "{calib}", "--height", "1.8"], "use them with --opensim"),
    (["--calibration", "{calib}", "--augment"], "--augment adds markers for OpenSim"),
    (["--calibration", "{calib}", "--filter", "butterworth", "--cutoff", "31"],
     "Nyquist frequency"),
])
def test_option_combinations_refused_before_work(tmp_path, p2s_videos, capsys, monkeypatch,
                                                 argv, message):
    """Issue 12, item 5: options that make no sense for these inputs, refused before the
    first frame is estimated (the estimator is never made)."""
    from posestack import estimate

    def no_estimator(*a, **k):
        raise AssertionError("work started")

    monkeypatch.setattr(estimate, "make_estimator", no_estimator)
    calib = str(p2s_videos.parent / "calibration" / "Calib.qca.txt")
    inputs = [str(p2s_videos)] if "{calib}" in argv else [str(p2s_videos / "cam01.mp4")]
    code = main(["run", *inputs, "-o", str(tmp_path / "out"), "-q",
                 *[a.format(calib=calib) for a in argv]])
    err = _err(capsys)
    assert code != 0 and err.count("error:") == 1 and message in err, err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_filter_that_cannot_run_says_so(tmp_path, p2s_videos):
    """A Butterworth filter leaves tracks shorter than its padding unfiltered: the run warns
    (and records it) instead of claiming the data was filtered."""
    [r] = posestack.run(p2s_videos / "cam01.mp4", tmp_path, end=0.1, video=False,
                        progress=False, filter="butterworth")
    assert r.keypoints2d.n_frames == 6
    assert any("left unfiltered" in w and "shorter than 10 frames" in w for w in r.warnings)
    assert r.manifest["warnings"] == list(r.warnings)
    [r] = posestack.run(p2s_videos / "cam01.mp4", tmp_path, end=0.5, video=False,
                        progress=False, filter="butterworth")
    assert not any("left unfiltered" in w for w in r.warnings), r.warnings


def test_read_keypoints_gives_every_frame_and_filters_work(tmp_path):
    """Frames in which nobody was found have no rows in the table: read_keypoints gives
    them back (NaN, score 0) on the regular grid of the run, so that the README's
    ``filter_poses(track(poses), "butterworth", ...)`` works on what it reads."""
    from posestack.filters import filter_poses
    from posestack.io.tables import poses_to_table, write_parquet
    from posestack.poses import Poses
    from posestack.track import track

    t = 40
    xy = np.full((t, 1, 17, 2), np.nan, np.float32)
    rng = np.random.default_rng(0)
    seen = np.r_[3:12, 15:20, 23:35]                 # nobody at 0-2, 12-14, 20-22, 35-39
    xy[seen, 0] = 200 + rng.normal(0, 1, (len(seen), 17, 2)) + np.arange(17)[:, None] * 10
    scores = np.where(np.isfinite(xy[..., 0]), 0.9, 0.0).astype(np.float32)
    frames = np.arange(100, 100 + t)                 # a run that started at frame 100
    poses = Poses("coco17", xy, scores, frames / 30.0, "image:cam")
    write_parquet(tmp_path / "k.parquet", poses_to_table(poses, frames, "cam"))
    back, index = posestack.read_keypoints(tmp_path / "k.parquet")
    assert index.tolist() == frames.tolist()
    np.testing.assert_allclose(back.times, frames / 30.0)
    assert back.coords.shape == (t, 1, 17, 2) and not back.present()[[0, 12, 21, 39], 0].any()
    np.testing.assert_allclose(back.coords[seen], xy[seen], atol=1e-4)
    smooth = filter_poses(track(back), "butterworth", cutoff=6.0, order=4, max_gap=10)
    assert smooth.n_frames == t and np.isfinite(smooth.coords[seen]).all()
    # a table written without the frame range still reads on a regular grid, row to row
    table = pq.read_table(tmp_path / "k.parquet")
    meta = {k: v for k, v in table.schema.metadata.items() if k != b"posestack.frames"}
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "old.parquet")
    old, index = posestack.read_keypoints(tmp_path / "old.parquet")
    assert index.tolist() == list(range(103, 135)) and old.n_frames == 32
