"""Phone rotation: a video whose stream says "turn me by N° to display me" (the display
matrix phones write) and a JPEG with an EXIF orientation are analysed as displayed.

The videos are made here from the upright Sports2D sample, as a phone makes them: the
stored pixels are the upright picture turned the other way, and the display matrix says
how to turn them back. OpenCV (its own FFmpeg build) is the independent reader that shows
what a player shows: its orientation property and its auto-rotated frames must agree with
the upright original before anything of ours is tested.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

import posestack
from posestack.cli import main
from posestack.io.media import FrameReader, probe
from posestack.multiview.calibration import Calibration
from posestack.pipeline import run_multiview

from .conftest import decode

pytestmark = pytest.mark.assets

FIRST, N_FRAMES = 60, 40  # 2 s in, where both people are in view
W, H = 1768, 994          # the Sports2D sample as displayed
ROTATIONS = (90, 180, 270)  # clockwise degrees a player turns the stored frames by


def write_phone_video(path: Path, frames: list[np.ndarray], clockwise: int) -> None:
    """H.264 mp4 whose stored frames are ``frames`` turned ``clockwise``° counter-clockwise,
    with a display matrix that turns them ``clockwise``° clockwise back (a phone's file;
    ``clockwise`` = 90 is a phone held upright: ffmpeg's ``rotate=90`` tag, a display
    matrix angle of -90 in FFmpeg's counter-clockwise convention)."""
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=30)
        stored = [np.ascontiguousarray(np.rot90(f, clockwise // 90)) for f in frames]
        s.height, s.width = stored[0].shape[:2]
        s.pix_fmt = "yuv420p"
        s.options = {"crf": "16", "preset": "veryfast"}
        if clockwise:
            s.set_display_rotation(-clockwise)  # PyAV: counter-clockwise degrees
        for f in stored:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


@pytest.fixture(scope="module")
def upright_frames(sports2d_video) -> list[np.ndarray]:
    frames = decode(sports2d_video, set(range(FIRST, FIRST + N_FRAMES)))
    return [frames[i] for i in range(FIRST, FIRST + N_FRAMES)]


@pytest.fixture(scope="module")
def phone_videos(tmp_path_factory, upright_frames) -> dict[int, Path]:
    """{0: the upright re-encode, 90/180/270: the phone-style files}, all the same encoder."""
    folder = tmp_path_factory.mktemp("phone")
    out = {}
    for cw in (0, *ROTATIONS):
        out[cw] = folder / f"rot{cw}.mp4"
        write_phone_video(out[cw], upright_frames, cw)
    return out


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.mark.parametrize("cw", ROTATIONS)
def test_the_test_videos_are_what_a_player_shows_upright(phone_videos, upright_frames, cw):
    """Sign convention, checked with an independent reader (OpenCV's FFmpeg backend
    auto-rotates by the display matrix and reports the clockwise angle)."""
    cap = cv2.VideoCapture(str(phone_videos[cw]))
    try:
        assert cap.get(cv2.CAP_PROP_ORIENTATION_META) == cw
        ok, bgr = cap.read()
    finally:
        cap.release()
    assert ok and bgr.shape == (H, W, 3)
    assert _mad(bgr[..., ::-1], upright_frames[0]) < 4  # upright, up to H.264 loss
    with av.open(str(phone_videos[cw])) as c:  # stored sideways (or upside down)
        s = c.streams.video[0]
        assert (s.codec_context.width, s.codec_context.height) == ((H, W) if cw % 180 else (W, H))


@pytest.mark.parametrize("cw", ROTATIONS)
def test_probe_and_reader_give_displayed_frames(phone_videos, upright_frames, cw):
    info = probe(phone_videos[cw])
    assert (info.width, info.height) == (W, H)
    assert info.rotation == cw and info.applied_rotation == cw
    assert info.stored_size == ((H, W) if cw % 180 else (W, H))
    frames = list(FrameReader(info, end=0.1))
    assert [i for i, _, _ in frames] == [0, 1, 2]
    for i, _, rgb in frames:
        assert rgb.shape == (H, W, 3) and _mad(rgb, upright_frames[i]) < 4
    # --no-autorotate: as stored
    raw = probe(phone_videos[cw], autorotate=False)
    assert (raw.width, raw.height) == raw.stored_size == info.stored_size
    assert raw.rotation == cw and raw.applied_rotation == 0
    _, _, rgb = next(iter(FrameReader(raw)))
    assert _mad(rgb, np.rot90(upright_frames[0], cw // 90)) < 4


def test_unrotated_video_is_unchanged(phone_videos, upright_frames):
    info = probe(phone_videos[0])
    assert (info.width, info.height, info.rotation, info.applied_rotation) == (W, H, 0, 0)


def _kp(bundle: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames, persons) → coords (T, P, K, 2), scores (T, P, K), frame indices (T,)."""
    poses, frames = posestack.read_keypoints(bundle / "keypoints2d.parquet")
    return poses.coords, poses.scores, frames


def _match_people(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (person in a, person in b) by the nearest median position."""
    pairs = []
    for p in range(a.shape[1]):
        ca = np.nanmedian(a[:, p].reshape(-1, 2), axis=0)
        d = [np.linalg.norm(ca - np.nanmedian(b[:, q].reshape(-1, 2), axis=0))
             for q in range(b.shape[1])]
        pairs.append((p, int(np.nanargmin(d))))
    return pairs


def _assert_same_keypoints(upright: Path, rotated: Path) -> list[tuple[int, int]]:
    ca, sa, fa = _kp(upright)
    cb, sb, fb = _kp(rotated)
    assert list(fa) == list(fb) == list(range(N_FRAMES))
    pairs = _match_people(ca, cb)
    assert len(pairs) >= 2 and len({q for _, q in pairs}) == len(pairs)
    errs = []
    for p, q in pairs:
        good = (sa[:, p] > 0.5) & (sb[:, q] > 0.5)
        errs.append(np.linalg.norm(ca[:, p] - cb[:, q], axis=-1)[good])
    err = np.concatenate(errs)
    assert len(err) > 0.5 * N_FRAMES * 2 * 33
    # the same picture up to H.264 loss: BlazePose lands within a few pixels
    assert np.median(err) < 3.0 and np.percentile(err, 90) < 10.0, (
        np.median(err), np.percentile(err, 90))
    return pairs


def _angles(bundle: Path) -> dict[tuple[int, int, str], float]:
    t = pq.read_table(bundle / "angles.parquet").to_pydict()
    return {(f, p, a): d for f, p, a, d in zip(t["frame"], t["person"], t["angle"],
                                                t["degrees"], strict=True)}


def _manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text())


@pytest.fixture(scope="module")
def upright_bundle(tmp_path_factory, phone_videos) -> Path:
    out = tmp_path_factory.mktemp("upright")
    posestack.run(phone_videos[0], out, video=False, progress=False)
    return out / "rot0"


@pytest.mark.parametrize("cw", [180, 270])
def test_run_api_analyses_as_displayed(tmp_path, phone_videos, upright_bundle, cw):
    [r] = posestack.run(phone_videos[cw], tmp_path, video=False, progress=False)
    bundle = tmp_path / f"rot{cw}"
    pairs = dict(_assert_same_keypoints(upright_bundle, bundle))
    inp = _manifest(bundle)["input"]
    assert inp["rotation"] == cw and inp["rotation_in_file"] == cw
    assert (inp["width"], inp["height"]) == (W, H)
    assert (inp["stored_width"], inp["stored_height"]) == ((H, W) if cw % 180 else (W, H))
    assert r.manifest["parameters"]["autorotate"] is True
    # planar angles (relative to the image's horizontal) as from the upright file
    a, b = _angles(upright_bundle), _angles(bundle)
    diff = np.array([abs((d - b[f, pairs[p], n] + 180) % 360 - 180)
                     for (f, p, n), d in a.items() if (f, pairs[p], n) in b])
    assert np.isfinite(diff).sum() > 0.8 * len(a) and np.nanmedian(diff) < 2.0, np.nanmedian(diff)


def test_run_cli_rotated_90_with_upright_overlay(tmp_path, phone_videos, upright_bundle,
                                                 upright_frames):
    assert main(["run", str(phone_videos[90]), "-o", str(tmp_path), "-q"]) == 0
    bundle = tmp_path / "rot90"
    _assert_same_keypoints(upright_bundle, bundle)
    m = _manifest(bundle)
    assert m["input"]["rotation"] == 90 and (m["input"]["width"], m["input"]["height"]) == (W, H)
    assert m["warnings"] == []
    with av.open(str(bundle / "overlay.mp4")) as c:
        s = c.streams.video[0]
        assert (s.codec_context.width, s.codec_context.height) == (W, H)
        first = next(c.decode(s))
        assert first.rotation == 0  # the overlay is stored upright, no matrix to honour
        ov = first.to_ndarray(format="rgb24")
    # the overlay is the upright picture with skeletons drawn on it
    assert np.median(np.abs(ov.astype(int) - upright_frames[0]).sum(-1)) < 12


def test_run_cli_no_autorotate_analyses_as_stored(tmp_path, phone_videos):
    assert main(["run", str(phone_videos[90]), "-o", str(tmp_path), "-q", "--no-autorotate",
                 "--no-video"]) == 0
    m = _manifest(tmp_path / "rot90")
    assert m["parameters"]["autorotate"] is False
    assert m["input"]["rotation"] == 0 and m["input"]["rotation_in_file"] == 90
    assert (m["input"]["width"], m["input"]["height"]) == (H, W)
    assert any("--no-autorotate" in w and "90°" in w for w in m["warnings"])
    coords, _, _ = _kp(tmp_path / "rot90")
    ok = np.isfinite(coords[..., 0])
    assert ok.any() and np.nanmax(coords[..., 0]) < H + 50  # stored frame: 994 wide


def test_rotation_is_part_of_the_run_key(tmp_path, phone_videos):
    [a] = posestack.run(phone_videos[90], tmp_path, end=0.1, video=False, progress=False)
    [b] = posestack.run(phone_videos[90], tmp_path, end=0.1, video=False, progress=False,
                        autorotate=False)
    assert not b.skipped and b.info.applied_rotation == 0 and a.info.applied_rotation == 90


# --- images: EXIF orientation --------------------------------------------------------------

def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """A JPEG with an APP1 EXIF segment holding only IFD0's Orientation tag (0x0112)."""
    tiff = (b"MM\x00\x2a\x00\x00\x00\x08" + b"\x00\x01"           # big-endian, 1 entry
            + b"\x01\x12\x00\x03\x00\x00\x00\x01" + orientation.to_bytes(2, "big") + b"\x00\x00"
            + b"\x00\x00\x00\x00")                                # no next IFD
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + app1 + jpeg[2:]


@pytest.fixture(scope="module")
def exif_images(tmp_path_factory, upright_frames) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("exif")
    up = upright_frames[0]
    ok, plain = cv2.imencode(".jpg", cv2.cvtColor(up, cv2.COLOR_RGB2BGR),
                             [cv2.IMWRITE_JPEG_QUALITY, 95])
    stored = np.ascontiguousarray(np.rot90(up, 1))  # a phone held upright: turn 90° back
    ok2, side = cv2.imencode(".jpg", cv2.cvtColor(stored, cv2.COLOR_RGB2BGR),
                             [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok and ok2
    (folder / "upright.jpg").write_bytes(plain.tobytes())
    # EXIF orientation 6: "rotate 90° clockwise to display"
    (folder / "phone.jpg").write_bytes(_with_exif_orientation(side.tobytes(), 6))
    return {"upright": folder / "upright.jpg", "phone": folder / "phone.jpg"}


def test_exif_orientation_is_honoured(exif_images, upright_frames):
    PIL = pytest.importorskip("PIL.Image")
    from PIL import ImageOps

    # independent reader: Pillow's exif_transpose shows the picture upright
    shown = np.asarray(ImageOps.exif_transpose(PIL.open(exif_images["phone"])))
    assert shown.shape == (H, W, 3) and _mad(shown, upright_frames[0]) < 4
    info = probe(exif_images["phone"])
    assert (info.width, info.height) == (W, H)
    assert info.rotation == 90 and info.applied_rotation == 90
    _, _, rgb = next(iter(FrameReader(info)))
    assert _mad(rgb, upright_frames[0]) < 4
    raw = probe(exif_images["phone"], autorotate=False)
    assert (raw.width, raw.height) == (H, W) and raw.applied_rotation == 0
    _, _, rgb = next(iter(FrameReader(raw)))
    assert rgb.shape == (W, H, 3)


def test_exif_rotated_image_keypoints_match_upright(tmp_path, exif_images):
    rs = posestack.run([exif_images["upright"], exif_images["phone"]], tmp_path,
                       video=False, progress=False)
    a, b = (r.keypoints2d for r in rs)
    pairs = _match_people(a.coords, b.coords)
    for p, q in pairs:
        good = (a.scores[0, p] > 0.5) & (b.scores[0, q] > 0.5)
        err = np.linalg.norm(a.coords[0, p] - b.coords[0, q], axis=-1)[good]
        assert good.sum() > 10 and np.median(err) < 3.0
    inp = _manifest(tmp_path / "phone")["input"]
    assert inp["rotation"] == 90 and (inp["width"], inp["height"]) == (W, H)


def test_render_reads_the_video_as_the_bundle_was_analysed(phone_videos, upright_frames):
    from posestack.cli import _autorotated
    from posestack.io.media import frames_by_index as _frames

    [(i, rgb)] = list(_frames(phone_videos[90], np.array([2])))
    assert i == 2 and _mad(rgb, upright_frames[2]) < 4
    [(_, rgb)] = list(_frames(phone_videos[90], np.array([2]), autorotate=False))
    assert rgb.shape == (W, H, 3)
    assert _autorotated({"parameters": {"autorotate": True}})
    assert not _autorotated({"parameters": {"autorotate": False}})
    assert not _autorotated({"parameters": {}})  # made before posestack turned videos


# --- several calibrated cameras: the calibration must be of the frames analysed ---------------

def test_check_sizes_names_the_rotation():
    from posestack.errors import InputError

    from .test_calibration import look_at

    calib = Calibration((look_at("cam01", (3, 0, 1), size=(1920, 1080)),))
    # a phone's file: stored 1920x1080, displayed 1080x1920 — the calibration fits the stored
    with pytest.raises(InputError) as e:
        calib.check_sizes({"cam01": (1080, 1920)}, rotations={"cam01": 90})
    msg = str(e.value)
    assert ("'cam01': video is 1080x1920 as displayed (its file asks for a 90° turn, applied) "
            "but the calibration is 1920x1080, the size as stored" in msg)
    assert "--no-autorotate" in msg
    calib.check_sizes({"cam01": (1920, 1080)}, rotations={"cam01": 90}, autorotate=False)
    # stored 1080x1920 analysed as stored, calibration of the displayed 1920x1080 picture
    with pytest.raises(InputError, match=r"as stored \(--no-autorotate.*leave out "
                                         r"--no-autorotate"):
        calib.check_sizes({"cam01": (1080, 1920)}, rotations={"cam01": 270}, autorotate=False)
    with pytest.raises(InputError, match=r"1280x720 as displayed \(turned 90°\)"):
        calib.check_sizes({"cam01": (1280, 720)}, rotations={"cam01": 90})


@pytest.fixture(scope="module")
def rotated_rig(tmp_path_factory, p2s_videos) -> dict[str, Path]:
    """The Pose2Sim demo folder (calibration 1088x1920 portrait) with cam01 replaced by a
    phone-style copy of its first frames: ``stored_landscape`` (stored 1920x1080, turned
    90° for display: fits the calibration as displayed) and ``stored_portrait`` (stored
    1080x1920, turned 90°: fits it only as stored)."""
    frames = decode(p2s_videos / "cam01.mp4", set(range(3)))
    upright = [frames[i] for i in range(3)]
    out = {}
    for name, frames_in, cw in (("stored_landscape", upright, 90),
                                ("stored_portrait", [np.rot90(f, -1) for f in upright], 90)):
        d = tmp_path_factory.mktemp(name)
        write_phone_video(d / "cam01.mp4", frames_in, cw)
        for i in (2, 3, 4):
            (d / f"cam0{i}.mp4").symlink_to(p2s_videos / f"cam0{i}.mp4")
        out[name] = d
    return out


class _Started(Exception):
    pass


def test_multiview_calibration_sizes_follow_the_rotation(rotated_rig, p2s_videos, monkeypatch,
                                                         capsys, tmp_path):
    calib = str(p2s_videos.parent / "calibration" / "Calib.qca.txt")

    def started(*a, **k):
        raise _Started  # the sizes were accepted: 2D work begins

    monkeypatch.setattr("posestack.estimate.make_estimator", started)
    land, port = (str(rotated_rig[k]) for k in ("stored_landscape", "stored_portrait"))
    # displayed 1080x1920 = the calibration: accepted as displayed, refused as stored
    with pytest.raises(_Started):
        run_multiview(land, calib, tmp_path, progress=False)
    assert main(["run", land, "--calibration", calib, "-o", str(tmp_path), "-q",
                 "--no-autorotate"]) == 2
    err = capsys.readouterr().err
    assert "cam01" in err and "1920x1080 as stored" in err and "leave out --no-autorotate" in err
    # displayed 1920x1080, stored 1080x1920 = the calibration: refused, advice given
    assert main(["run", port, "--calibration", calib, "-o", str(tmp_path), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "cam01': video is 1920x1080 as displayed" in err
    assert "calibrate on the displayed orientation" in err and "--no-autorotate" in err
    with pytest.raises(_Started):
        run_multiview(port, calib, tmp_path, progress=False, autorotate=False)


def test_half_turn_calibration_warning(upright_frames, tmp_path):
    from posestack.pipeline_multiview import _turned_calibration_warnings

    write_phone_video(tmp_path / "cam01.mp4", upright_frames[:2], 180)
    infos = [probe(tmp_path / "cam01.mp4"), probe(tmp_path / "cam01.mp4", autorotate=False)]
    [w] = _turned_calibration_warnings(["cam01", "cam02"], infos)
    assert w.startswith("camera cam01: its video file asks for a 180° turn") and (
        "--no-autorotate" in w)
