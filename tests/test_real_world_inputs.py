"""Inputs a real user has, generated on the fly from the sample (issue 12, notes): odd
frame sizes, variable frame rate, grayscale, 10-bit HEVC, alpha and 16-bit PNG. Each is
run through the main job and compared with the same frames as an ordinary 8-bit H.264
clip; the readers of other tools' files (OpenPose json, TRC, MOT, calibrations) are fed
random and malformed content and must either read it or raise one InputError."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import posestack
from posestack.errors import InputError

N = 24  # frames per generated clip


@pytest.fixture(scope="module")
def frames(cam01_frames) -> list[np.ndarray]:
    """Frames 0..N of the Pose2Sim cam01 clip, at half size (540×960, portrait)."""
    return [cv2.resize(f, (540, 960), interpolation=cv2.INTER_AREA) for f in cam01_frames[:N]]


def _encode(path: Path, frames: list[np.ndarray], codec: str, pix_fmt: str,
            pts_ms: list[int] | None = None, size: tuple[int, int] | None = None) -> Path:
    """Write ``frames`` (RGB) with PyAV; ``pts_ms``: each frame's time in ms (VFR)."""
    h, w = frames[0].shape[:2] if size is None else size[::-1]
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=60)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        if pts_ms is not None:
            s.time_base = Fraction(1, 1000)
            s.codec_context.time_base = Fraction(1, 1000)
        for i, f in enumerate(frames):
            img = f if f.shape[:2] == (h, w) else cv2.resize(f, (w, h))
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            if pts_ms is not None:
                vf.pts, vf.time_base = pts_ms[i], Fraction(1, 1000)
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory, frames):
    """The plain case: 8-bit H.264 at 60 frames/s, and its keypoints."""
    d = tmp_path_factory.mktemp("ref")
    clip = _encode(d / "plain.mp4", frames, "libx264", "yuv420p")
    [r] = posestack.run(clip, d / "out", video=False, progress=False)
    return r


def _subject(r) -> np.ndarray:
    """(T, 33, 2) the subject: the person with the most points, frame by frame."""
    c = r.keypoints2d.coords
    best = np.nanargmax(np.where(np.isnan(c[..., 0]), 0, r.keypoints2d.scores).sum(-1), 1)
    return c[np.arange(len(c)), best]


def _close_to_reference(r, reference, scale: float = 1.0, tol_px: float = 6.0) -> None:
    a, b = _subject(r) / scale, _subject(reference)
    n = min(len(a), len(b))
    err = np.linalg.norm(a[:n] - b[:n], axis=-1)
    assert np.isfinite(err).mean() > 0.8, "the subject was not found"
    assert np.nanmedian(err) < tol_px, f"median {np.nanmedian(err):.1f} px"


@pytest.mark.parametrize("kind", ["odd_size_ffv1_mkv", "hevc_10bit", "gray_png_mov",
                                  "yuv444_h264"])
def test_unusual_videos_give_the_same_keypoints(tmp_path, frames, reference, kind):
    if kind == "odd_size_ffv1_mkv":  # lossless, odd width and height, 4:4:4
        clip, scale = _encode(tmp_path / "odd.mkv", frames, "ffv1", "yuv444p",
                              size=(541, 961)), 541 / 540
    elif kind == "hevc_10bit":  # what phones record in HDR mode
        clip, scale = _encode(tmp_path / "hdr.mp4", frames, "libx265", "yuv420p10le"), 1.0
    elif kind == "gray_png_mov":  # a monochrome machine-vision camera
        clip, scale = _encode(tmp_path / "gray.mov", frames, "png", "gray"), 1.0
    else:
        clip, scale = _encode(tmp_path / "444.mp4", frames, "libx264", "yuv444p"), 1.0
    [r] = posestack.run(clip, tmp_path / "out", progress=False)
    assert r.manifest["frames"]["processed"] == N
    info = r.manifest["input"]
    assert (info["width"], info["height"]) == ((541, 961) if "odd" in kind else (540, 960))
    _close_to_reference(r, reference, scale, tol_px=10.0 if kind == "gray_png_mov" else 6.0)
    # the overlay is an ordinary H.264 file of the input's size (4:2:0 needs even sizes:
    # an odd side is padded by one pixel), every frame
    with av.open(str(r.bundle / "overlay.mp4")) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264"
        even = (info["width"] + info["width"] % 2, info["height"] + info["height"] % 2)
        assert (s.codec_context.width, s.codec_context.height) == even
        assert sum(1 for _ in c.decode(video=0)) == N


def test_variable_frame_rate_keeps_each_frame_time(tmp_path, frames, reference):
    """A phone's VFR clip: frame times are kept as recorded, and a Butterworth filter
    (which needs a regular rate) is refused before any work, with the way out."""
    steps = [17 if i % 3 else 33 for i in range(N)]
    pts = list(np.cumsum([0, *steps[:-1]]))
    clip = _encode(tmp_path / "vfr.mp4", frames, "libx264", "yuv420p", pts_ms=pts)
    [r] = posestack.run(clip, tmp_path / "out", video=False, progress=False)
    np.testing.assert_allclose(r.keypoints2d.times, np.array(pts) / 1000, atol=1e-3)
    _close_to_reference(r, reference)
    [r] = posestack.run(clip, tmp_path / "out", video=False, progress=False,
                        filter="oneeuro")  # follows the frame times
    assert r.manifest["parameters"]["filter"] == "oneeuro"
    with pytest.raises(InputError, match=r"variable frame rate.*--filter oneeuro"):
        posestack.run(clip, tmp_path / "out2", progress=False, filter="butterworth")
    assert not (tmp_path / "out2" / "vfr").exists()


@pytest.mark.parametrize("kind", ["rgba", "gray16", "gray8", "palette"])
def test_unusual_images(tmp_path, frames, kind):
    rgb = frames[0]
    path = tmp_path / f"{kind}.png"
    if kind == "rgba":  # transparent margins, as a cut-out person is saved
        alpha = np.full(rgb.shape[:2], 255, np.uint8)
        alpha[:, :60] = 0
        cv2.imwrite(str(path), np.dstack([rgb[..., ::-1], alpha]))
    elif kind == "gray16":
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257
        cv2.imwrite(str(path), gray)
    elif kind == "gray8":
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    else:
        from PIL import Image

        Image.fromarray(rgb).quantize(256).save(path)
    [r] = posestack.run(path, tmp_path / "out", progress=False)
    [ref] = posestack.run(_png(tmp_path, rgb), tmp_path / "ref", progress=False)
    _close_to_reference(r, ref, tol_px=8.0)
    assert (r.bundle / "overlay.png").is_file() or (r.bundle / "overlay.mp4").is_file()


def _png(tmp_path: Path, rgb: np.ndarray) -> Path:
    p = tmp_path / "plain.png"
    cv2.imwrite(str(p), rgb[..., ::-1])
    return p


# --- other tools' files: read them, or one InputError --------------------------------------

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
_numbers = st.lists(st.one_of(st.floats(allow_nan=True), st.integers(-5, 5), st.none(),
                              st.text(max_size=3)), max_size=80)


def _only_input_errors(fn, *args, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except InputError:
        pass


@FUZZ
@given(people=st.lists(st.one_of(
    st.fixed_dictionaries({"pose_keypoints_2d": _numbers}),
    st.dictionaries(st.text(max_size=20), _numbers, max_size=3),
    st.none(), st.integers()), max_size=3),
    version=st.one_of(st.floats(allow_nan=False), st.text(max_size=4), st.none()),
    raw=st.one_of(st.none(), st.binary(max_size=200)))
def test_openpose_json_reader(tmp_path_factory, people, version, raw):
    from posestack.io.openpose_reader import read_openpose_folder

    d = tmp_path_factory.mktemp("op")
    for i in range(3):
        f = d / f"cam_{i:012d}_keypoints.json"
        if raw is not None and i == 1:
            f.write_bytes(raw)
        else:
            f.write_text(json.dumps({"version": version, "people": people}))
    for layout in ("auto", "body25", "coco17"):
        _only_input_errors(read_openpose_folder, d, layout, fps=30.0, camera="cam")


_TRC_HEAD = ("PathFileType\t4\t(X/Y/Z)\tx.trc\nDataRate\tCameraRate\tNumFrames\tNumMarkers\t"
             "Units\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames\n{header}\n"
             "Frame#\tTime\t{names}\n\t\t{xyz}\n\n")


@FUZZ
@given(header=_text, names=_text, body=_text, raw=st.one_of(st.none(), st.binary(max_size=300)))
def test_trc_reader(tmp_path_factory, header, names, body, raw):
    from posestack.io.trc import read_trc

    p = tmp_path_factory.mktemp("trc") / "x.trc"
    if raw is not None:
        p.write_bytes(raw)
    else:
        p.write_text(_TRC_HEAD.format(header=header, names=names, xyz="X1\tY1\tZ1") + body)
    _only_input_errors(read_trc, p)


@FUZZ
@given(header=_text, columns=_text, body=_text, raw=st.one_of(st.none(), st.binary(max_size=300)))
def test_mot_reader(tmp_path_factory, header, columns, body, raw):
    from posestack.biomech.mot import read_mot

    p = tmp_path_factory.mktemp("mot") / "x.mot"
    if raw is not None:
        p.write_bytes(raw)
    else:
        p.write_text(f"Coordinates\nversion=1\n{header}\nendheader\ntime\t{columns}\n{body}")
    _only_input_errors(read_mot, p)


_cam_value = st.one_of(st.lists(st.one_of(st.floats(), st.integers(-3, 3)), max_size=4),
                       st.lists(st.lists(st.floats(), max_size=3), max_size=3),
                       st.floats(), st.text(max_size=5), st.booleans())


@FUZZ
@given(tables=st.dictionaries(
    st.sampled_from(["cam01", "cam_2", "metadata", "x"]),
    st.dictionaries(st.sampled_from(["name", "size", "matrix", "distortions", "rotation",
                                     "translation", "fisheye"]), _cam_value, max_size=7),
    max_size=3),
    kind=st.sampled_from(["toml", "json", "yml", "qca.txt"]), raw=st.one_of(
        st.none(), st.binary(max_size=300)))
@example(tables={"cam01": {"name": [], "size": [], "translation": [], "matrix": [],
                           "distortions": [], "rotation": [[], [0.0]]}},
         kind="json", raw=None)   # a ragged rotation: a raw ValueError before (CI found it)
def test_calibration_readers(tmp_path_factory, tables, kind, raw):
    from posestack.multiview.calibration import load_calibration

    p = tmp_path_factory.mktemp("calib") / f"c.{kind}"
    if raw is not None:
        p.write_bytes(raw)
    elif kind == "toml":
        lines = []
        for name, t in tables.items():
            lines.append(f"[{name}]")
            lines += [f"{k} = {_toml(v)}" for k, v in t.items()]
        p.write_text("\n".join(lines) + "\n")
    elif kind == "json":
        p.write_text(json.dumps({"cameras": [{"name": k, **{
            {"matrix": "K", "distortions": "dist", "rotation": "R", "translation": "t"}.get(
                a, a): v for a, v in t.items()}} for k, t in tables.items()]}))
    elif kind == "yml":
        p.write_text("%YAML:1.0\n---\n" + "".join(f"{k}: {json.dumps(v)}\n"
                                                 for t in tables.values() for k, v in t.items()))
    else:
        p.write_text("<calibration>" + "".join(f'<camera serial="{k}" {a}="{v}"/>'
                                               for k, t in tables.items()
                                               for a, v in t.items()) + "</calibration>")
    _only_input_errors(load_calibration, p)


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not np.isfinite(v):
        return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return json.dumps(v)
