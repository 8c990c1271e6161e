"""Calibration: formats, projection, undistortion, checks, and Pose2Sim's Qualisys sample.

Shape vocabulary: C cameras, N points, D coordinates.
"""

from __future__ import annotations

import json
import logging
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from posestack import assets
from posestack.errors import InputError
from posestack.multiview.calibration import (
    Calibration,
    Camera,
    load_calibration,
    match_videos,
    read_qca,
    save_calibration,
    save_json,
    save_opencv,
    save_toml,
)

DIST = np.array([-0.28, 0.09, 1.2e-3, -8e-4, -0.012])  # a realistic wide-ish lens (k1..k3)
FISHEYE_DIST = np.array([0.05, -0.01, 0.003, -0.0005])


def look_at(name: str, centre, target=(0.0, 0.0, 1.0), *, f: float = 1400.0,
            size=(1920, 1080), dist=DIST, fisheye: bool = False) -> Camera:
    """A camera at ``centre`` (world, Z up) looking at ``target`` with the image upright."""
    c = np.asarray(centre, float)
    z = np.asarray(target, float) - c
    z /= np.linalg.norm(z)
    x = np.cross(z, (0.0, 0.0, 1.0))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    w, h = size
    K = np.array([[f, 0, w / 2 - 3.7], [0, f * 1.001, h / 2 + 5.2], [0, 0, 1]])
    return Camera(name, K, dist, R, -R @ c, size, fisheye)


def rig(n: int = 4, dist=DIST) -> Calibration:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False) + 0.3
    return Calibration(tuple(
        look_at(f"cam{i + 1:02d}", (3.5 * np.cos(a), 3.5 * np.sin(a), 1.8 + 0.2 * i), dist=dist)
        for i, a in enumerate(angles)), "synthetic")


def volume_points(rng: np.random.Generator, n: int = 200) -> np.ndarray:
    return rng.uniform((-0.8, -0.8, 0.0), (0.8, 0.8, 2.0), size=(n, 3))


# --- Camera basics ------------------------------------------------------------------------------

def test_camera_properties_and_immutability():
    cam = look_at("a", (3, 1, 2))
    assert cam.P.shape == (3, 4)
    np.testing.assert_allclose(cam.P, cam.K @ np.hstack([cam.R, cam.t[:, None]]))
    np.testing.assert_allclose(cam.center, (3, 1, 2), atol=1e-12)
    np.testing.assert_allclose(cam.to_camera(cam.center), 0, atol=1e-12)
    for a in (cam.K, cam.dist, cam.R, cam.t):
        assert a.dtype == np.float64 and not a.flags.writeable
    with pytest.raises(AttributeError):
        cam.name = "b"
    assert isinstance(cam.size[0], int) and cam.size == (1920, 1080)


def test_camera_validation_messages():
    good = look_at("a", (3, 1, 2))
    with pytest.raises(InputError, match=r"camera 'a'.*R is not a rotation"):
        Camera("a", good.K, good.dist, good.R * 1.1, good.t, good.size)
    with pytest.raises(InputError, match=r"camera 'a'.*K.*shape"):
        Camera("a", np.eye(2), good.dist, good.R, good.t, good.size)
    with pytest.raises(InputError, match="NaN"):
        Camera("a", good.K, [np.nan, 0, 0, 0], good.R, good.t, good.size)
    with pytest.raises(InputError, match="7 distortion coefficients"):
        Camera("a", good.K, np.zeros(7), good.R, good.t, good.size)
    with pytest.raises(InputError, match="fisheye model takes 4"):
        Camera("a", good.K, np.zeros(5), good.R, good.t, good.size, fisheye=True)
    with pytest.raises(InputError, match="size"):
        Camera("a", good.K, good.dist, good.R, good.t, (0, 10))
    with pytest.raises(InputError, match="no skew"):
        Camera("a", good.K + np.diag([1.0, 0.0], k=1)[:3, :3], good.dist, good.R, good.t,
               good.size)
    assert Camera("a", good.K, [], good.R, good.t, good.size).dist.shape == (4,)
    with pytest.raises(InputError, match="unique"):
        Calibration((good, good))


# --- projection ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fisheye", [False, True])
def test_project_matches_cv2(fisheye):
    rng = np.random.default_rng(0)
    cam = look_at("a", (2.5, -2.0, 1.6), dist=FISHEYE_DIST if fisheye else DIST,
                  fisheye=fisheye)
    X = volume_points(rng)
    rvec = cv2.Rodrigues(cam.R)[0]
    if fisheye:
        ref = cv2.fisheye.projectPoints(X.reshape(-1, 1, 3), rvec, cam.t, cam.K, cam.dist)[0]
    else:
        ref = cv2.projectPoints(X, rvec, cam.t, cam.K, cam.dist)[0]
    np.testing.assert_allclose(cam.project(X), ref.reshape(-1, 2), atol=1e-6)
    ideal = cv2.projectPoints(X, rvec, cam.t, cam.K, None)[0].reshape(-1, 2)
    np.testing.assert_allclose(cam.project(X, distort=False), ideal, atol=1e-6)
    homog = np.c_[X, np.ones(len(X))] @ cam.P.T
    np.testing.assert_allclose(cam.project(X, distort=False), homog[:, :2] / homog[:, 2:],
                               atol=1e-8)


def test_project_shapes_nan_and_behind():
    cam = look_at("a", (3, 0, 1))
    rng = np.random.default_rng(1)
    X = volume_points(rng, 2 * 3 * 5).reshape(2, 3, 5, 3)  # (T, P, K, 3)
    X[0, 1, 2] = np.nan
    X[1, 0, 0] = cam.center + 2.0 * (cam.center - (0, 0, 1))  # behind the camera
    X[1, 0, 1] = cam.center  # on the camera centre
    uv = cam.project(X)
    assert uv.shape == (2, 3, 5, 2)
    assert np.isnan(uv[0, 1, 2]).all() and np.isnan(uv[1, 0, :2]).all()
    assert np.isfinite(uv).all(-1).sum() == 30 - 3
    assert cam.project(np.zeros((0, 3))).shape == (0, 2)
    assert cam.project(np.array([0.1, 0.2, 1.0])).shape == (2,)
    with pytest.raises(InputError, match=r"\(\.\.\., 3\)"):
        cam.project(np.zeros((4, 2)))


@pytest.mark.parametrize("fisheye", [False, True])
def test_undistort_inverts_project(fisheye):
    rng = np.random.default_rng(2)
    cam = look_at("a", (2.0, 2.5, 1.7), dist=FISHEYE_DIST if fisheye else DIST, fisheye=fisheye)
    X = volume_points(rng, 500)
    uv = cam.project(X)
    w, h = cam.size
    inside = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    assert inside.sum() > 400
    und = cam.undistort(uv[inside])
    np.testing.assert_allclose(und, cam.project(X[inside], distort=False), atol=1e-6)
    xy = np.full((3, 4, 2), np.nan)
    xy[1, 2] = uv[0]
    out = cam.undistort(xy)
    assert out.shape == (3, 4, 2) and np.isfinite(out).all(-1).sum() == 1
    np.testing.assert_allclose(out[1, 2], und[0] if inside[0] else cam.undistort(uv[0]))


def test_undistort_without_distortion_is_identity():
    cam = look_at("a", (3, 0, 1), dist=np.zeros(4))
    xy = np.array([[10.5, 20.25], [np.nan, 3.0]])
    out = cam.undistort(xy)
    np.testing.assert_array_equal(out, xy)
    assert out is not xy


def dlt(P: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Plain (unweighted) DLT: (C, 3, 4) projections, (C, N, 2) ideal pixels -> (N, 3)."""
    out = []
    for n in range(xy.shape[1]):
        rows = []
        for Pc, (u, v) in zip(P, xy[:, n], strict=True):
            rows += [u * Pc[2] - Pc[0], v * Pc[2] - Pc[1]]
        A = np.array(rows)
        A /= np.linalg.norm(A, axis=1, keepdims=True)
        Xh = np.linalg.svd(A)[2][-1]
        out.append(Xh[:3] / Xh[3])
    return np.array(out)


@pytest.mark.parametrize("names", [None, ("cam01", "cam03"), ("cam04", "cam02", "cam03")])
def test_project_undistort_triangulate_recovers_points(names):
    calib = rig()
    if names is not None:
        calib = calib.select(names)
    rng = np.random.default_rng(3)
    X = volume_points(rng, 100)
    observed = np.stack([cam.project(X) for cam in calib])          # (C, N, 2) distorted px
    ideal = np.stack([cam.undistort(o) for cam, o in zip(calib, observed, strict=True)])
    P = calib.projections()
    assert P.shape == (len(calib), 3, 4)
    np.testing.assert_array_equal(calib.projections(undistorted=False), P)
    np.testing.assert_allclose(dlt(P, ideal), X, atol=1e-6)


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_rotated_camera_matches_rotated_image(turns):
    rng = np.random.default_rng(4)
    cam = look_at("a", (2.0, -2.5, 1.4), size=(1920, 1088))
    X = volume_points(rng)
    uv = cam.project(X)
    rot = cam.rotated(turns)
    w, h = cam.size
    expected = uv.copy()
    for _ in range(turns):  # one clockwise quarter turn: (u, v) -> (H-1-v, u)
        expected = np.stack([h - 1 - expected[:, 1], expected[:, 0]], axis=1)
        w, h = h, w
    assert rot.size == (w, h)
    np.testing.assert_allclose(rot.project(X), expected, atol=1e-6)
    np.testing.assert_allclose(rot.center, cam.center, atol=1e-12)
    assert cam.rotated(4).isclose(cam, atol=1e-12)
    assert cam.rotated(turns).rotated(4 - turns).isclose(cam, atol=1e-12)


# --- the calibration container ------------------------------------------------------------------

def test_calibration_access_and_select():
    calib = rig()
    assert calib.names == ("cam01", "cam02", "cam03", "cam04")
    assert len(calib) == 4 and [c.name for c in calib] == list(calib.names)
    assert calib["cam03"] is calib[2] and calib[-1].name == "cam04"
    sub = calib.select(["cam04", "cam01"])
    assert sub.names == ("cam04", "cam01") and sub["cam04"] is calib["cam04"]
    with pytest.raises(InputError, match=r"'cam09'.*cam01, cam02"):
        calib.select(["cam09"])
    with pytest.raises(KeyError, match="cam09"):
        calib["cam09"]


def test_check_sizes():
    calib = rig(2)
    calib.check_sizes({"cam01": (1920, 1080), "cam02": (1920, 1080)})
    with pytest.raises(InputError) as e:
        calib.check_sizes({"cam01": (1280, 720), "cam02": (1920, 1080)})
    assert "'cam01'" in str(e.value) and "1280x720" in str(e.value) and "1920x1080" in str(e.value)
    assert "cam02'" not in str(e.value).split("(calibration cameras")[0]
    with pytest.raises(InputError, match=r"rotated by 90°"):
        calib.check_sizes({"cam01": (1080, 1920), "cam02": (1920, 1080)})
    with pytest.raises(InputError, match=r"2x smaller.*binning=2"):
        calib.check_sizes({"cam01": (960, 540), "cam02": (1920, 1080)})
    with pytest.raises(InputError, match=r"unknown camera\(s\) 'cam07'.*no video size for "
                                         r"camera\(s\) 'cam02'"):
        calib.check_sizes({"cam01": (1920, 1080), "cam07": (1920, 1080)})


def test_check_sizes_codec_padding(caplog):
    cam = look_at("cam01", (3, 0, 1), size=(1088, 1920))
    calib = Calibration((cam,))
    with caplog.at_level(logging.WARNING):
        calib.check_sizes({"cam01": (1080, 1920)})
    assert "codec padding" in caplog.text
    with pytest.raises(InputError, match=r"'cam01': video is 1080x1920 but the calibration is "
                                         r"1088x1920"):
        calib.check_sizes({"cam01": (1080, 1920)}, codec_padding=False)
    with pytest.raises(InputError, match="1072x1920"):  # more than a macroblock: not padding
        calib.check_sizes({"cam01": (1072, 1920)})


def test_match_videos():
    calib = rig()
    m = match_videos(calib, ["cam03", "cam01", "cam04", "cam02"])
    assert m.names == ("cam03", "cam01", "cam04", "cam02")
    assert m["cam03"].isclose(calib["cam03"], atol=0)
    # case-insensitive, then by number; cameras take the video names, in the videos' order
    named = Calibration(tuple(Camera(n, c.K, c.dist, c.R, c.t, c.size) for n, c in
                              zip(("cam_01", "Camera2", "CAM03", "side-4"), calib, strict=True)))
    m = match_videos(named, ["videos/camera4.mp4", "cam03", "cam01.MOV", "cam02"])
    assert m.names == ("camera4", "cam03", "cam01", "cam02")
    np.testing.assert_array_equal(m["camera4"].R, calib["cam04"].R)
    np.testing.assert_array_equal(m["cam03"].R, calib["cam03"].R)
    np.testing.assert_array_equal(m["cam01"].t, calib["cam01"].t)
    np.testing.assert_array_equal(m["cam02"].K, calib["cam02"].K)


def test_match_videos_errors():
    calib = rig(3)
    with pytest.raises(InputError) as e:
        match_videos(calib, ["cam01", "cam02"])
    msg = str(e.value)
    assert "2 video(s) for a calibration of 3 camera(s)" in msg
    assert "videos: cam01, cam02" in msg and "cameras: cam01, cam02, cam03" in msg
    with pytest.raises(InputError, match=r"no calibrated camera for video\(s\) left .*"
                                         r"cameras: cam01, cam02, cam03"):
        match_videos(calib, ["cam01", "cam02", "left"])
    twins = Calibration((look_at("a1", (3, 0, 1)), look_at("b1", (0, 3, 1))))
    with pytest.raises(InputError, match="matches several cameras"):
        match_videos(twins, ["x1", "y2"])


# --- files --------------------------------------------------------------------------------------

def odd_calibration() -> Calibration:
    """Cameras that stress the writers: fisheye, 8 and 14 coefficients, a name to quote."""
    base = rig(3)
    d8 = np.array([-0.2, 0.05, 1e-3, 2e-4, 0.01, 0.001, -0.002, 0.0005])
    fish = look_at("fish_eye", (0.5, -3.0, 2.2), dist=FISHEYE_DIST, fisheye=True)
    rational = look_at("cam-8", (-2.0, -2.0, 2.5), dist=d8)
    # a rotation of almost π, where naive Rodrigues conversions lose precision
    R = cv2.Rodrigues(np.array([np.pi - 1e-9, 1e-5, 0.0]))[0]
    flipped = Camera("cam04", base[0].K, np.r_[DIST, np.zeros(9)], R, (0.1, 0.2, 3.0), (640, 480))
    return Calibration((*base.cameras, fish, rational, flipped), "synthetic")


def test_toml_round_trip(tmp_path):
    calib = odd_calibration()
    path = tmp_path / "Calib.toml"
    save_toml(calib, path)
    data = tomllib.loads(path.read_text())
    assert list(data) == [*calib.names, "metadata"]
    assert data["metadata"] == {"adjusted": False, "error": 0.0}
    assert data["cam01"]["size"] == [1920, 1080] and data["fish_eye"]["fisheye"] is True
    assert len(data["cam01"]["rotation"]) == 3
    back = load_calibration(path)
    assert back.names == calib.names and back.source == str(path)
    assert back.isclose(calib, atol=1e-12)
    assert not list(tmp_path.glob(".*"))  # the atomic writer left no temporary file


def test_toml_reads_anipose_layout_and_quoted_names(tmp_path):
    cam = look_at("front left", (2, -3, 1.5), dist=np.zeros(5))
    save_toml(Calibration((cam,)), tmp_path / "q.toml")
    text = (tmp_path / "q.toml").read_text()
    assert '["front left"]' in text
    assert load_calibration(tmp_path / "q.toml")["front left"].isclose(cam, atol=1e-12)
    # Anipose: tables cam_0.., no fisheye key, extra tables to skip
    rv = cv2.Rodrigues(cam.R)[0].ravel().tolist()
    (tmp_path / "anipose.toml").write_text(
        '[cam_0]\nname = "A"\nsize = [1920, 1080]\n'
        f"matrix = {cam.K.tolist()}\ndistortions = [0.0, 0.0, 0.0, 0.0, 0.0]\n"
        f"rotation = {rv}\ntranslation = {cam.t.tolist()}\n\n"
        "[metadata]\nadjusted = false\nerror = 0.0\n\n[charuco]\nsquare_length = 0.05\n")
    back = load_calibration(tmp_path / "anipose.toml")
    assert back.names == ("A",) and not back["A"].fisheye
    np.testing.assert_allclose(back["A"].R, cam.R, atol=1e-12)


@pytest.mark.parametrize("suffix", [".yml", ".yaml", ".json"])
def test_opencv_filestorage_round_trip(tmp_path, suffix):
    calib = odd_calibration()
    path = tmp_path / f"calib{suffix}"
    save_opencv(calib, path)
    if suffix == ".yml":
        text = path.read_text()
        assert "names:" in text and "K_cam01:" in text and "size_cam01: [ 1920, 1080 ]" in text
    back = load_calibration(path)
    assert back.names == calib.names and back.isclose(calib, atol=1e-12)


def test_opencv_yaml_alternative_keys(tmp_path):
    """rvec_<n> (Rodrigues), T_<n> and EasyMocap-style 3x1 R_<n> are accepted."""
    cam = look_at("c1", (3, 1, 2))
    path = tmp_path / "alt.yml"
    fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    fs.startWriteStruct("names", cv2.FileNode_SEQ)
    for n in ("c1", "c2"):
        fs.write("", n)
    fs.endWriteStruct()
    for n, key in (("c1", "rvec"), ("c2", "R")):
        fs.write(f"K_{n}", cam.K)
        fs.write(f"dist_{n}", cam.dist.reshape(1, -1))
        fs.write(f"{key}_{n}", cv2.Rodrigues(cam.R)[0])
        fs.write(f"T_{n}", cam.t.reshape(3, 1))
        fs.write(f"size_{n}", np.array([[1920, 1080]], dtype=np.int32))
    fs.release()
    back = load_calibration(path)
    for c in back:
        np.testing.assert_allclose(c.R, cam.R, atol=1e-12)
        np.testing.assert_allclose(c.t, cam.t, atol=1e-15)
        assert c.size == (1920, 1080)


def test_json_round_trip(tmp_path):
    calib = odd_calibration()
    save_json(calib, tmp_path / "calib.json")
    doc = json.loads((tmp_path / "calib.json").read_text())
    assert [c["name"] for c in doc["cameras"]] == list(calib.names)
    assert set(doc["cameras"][0]) >= {"name", "K", "dist", "R", "t", "size", "fisheye"}
    assert load_calibration(tmp_path / "calib.json").isclose(calib, atol=1e-12)
    # a hand-written file with "rvec" instead of "R"
    cam = calib["cam02"]
    (tmp_path / "rvec.json").write_text(json.dumps({"cameras": [
        {"name": "x", "K": cam.K.tolist(), "dist": [], "rvec": cv2.Rodrigues(cam.R)[0].tolist(),
         "t": cam.t.tolist(), "size": [1920, 1080]}]}))
    np.testing.assert_allclose(load_calibration(tmp_path / "rvec.json")["x"].R, cam.R, atol=1e-12)


def test_save_calibration_by_suffix(tmp_path):
    calib = rig(2)
    for name in ("a.toml", "b.yml", "c.json"):
        save_calibration(calib, tmp_path / name)
        assert load_calibration(tmp_path / name).isclose(calib, atol=1e-12)
    with pytest.raises(InputError, match=r"\.csv.*\.toml"):
        save_calibration(calib, tmp_path / "d.csv")
    bad = Calibration((look_at("9 lives", (3, 0, 1)),))
    with pytest.raises(InputError, match="FileStorage keys"):
        save_opencv(bad, tmp_path / "e.yml")


def test_load_errors(tmp_path):
    with pytest.raises(InputError, match=r"not found: .*nope\.toml.*\.qca\.txt"):
        load_calibration(tmp_path / "nope.toml")
    with pytest.raises(InputError, match="not a file"):
        load_calibration(tmp_path)
    garbage = b"\x00\x01garbage\xff\xfe" * 20
    for name in ("g.qca.txt", "g.toml", "g.yml", "g.json", "g.dat"):
        (tmp_path / name).write_bytes(garbage)
        with pytest.raises(InputError) as e:
            load_calibration(tmp_path / name)
        assert name in str(e.value)
    with pytest.raises(InputError, match=r"unknown calibration format.*\.qca\.txt.*\.toml"):
        load_calibration(tmp_path / "g.dat")
    (tmp_path / "empty.toml").write_text("[metadata]\nadjusted = false\n")
    with pytest.raises(InputError, match="is not a calibration file: none of its tables"):
        load_calibration(tmp_path / "empty.toml")
    (tmp_path / "other.xml").write_text("<calibration><nothing/></calibration>")
    with pytest.raises(InputError, match="not a Qualisys calibration"):
        load_calibration(tmp_path / "other.xml")
    (tmp_path / "nocams.json").write_text('{"cams": []}')
    with pytest.raises(InputError, match=r'expected \{"cameras"'):
        load_calibration(tmp_path / "nocams.json")


def test_toml_missing_matrix(tmp_path):
    save_toml(rig(2), tmp_path / "c.toml")
    text = (tmp_path / "c.toml").read_text()
    start = text.index("[cam02]")
    line = next(ln for ln in text[start:].splitlines() if ln.startswith("matrix"))
    (tmp_path / "c.toml").write_text(text[:start] + text[start:].replace(line + "\n", "", 1))
    with pytest.raises(InputError, match=r"c\.toml: camera table \[cam02\] has no 'matrix'"):
        load_calibration(tmp_path / "c.toml")


def test_missing_fields_in_yaml_and_json(tmp_path):
    calib = rig(1)
    save_opencv(calib, tmp_path / "c.yml")
    text = (tmp_path / "c.yml").read_text()
    head, rest = text.split("\nt_cam01:", 1)
    (tmp_path / "c.yml").write_text(head + "\nx_cam01:" + rest)
    with pytest.raises(InputError, match="camera 'cam01' has no t_cam01"):
        load_calibration(tmp_path / "c.yml")
    save_json(calib, tmp_path / "c.json")
    doc = json.loads((tmp_path / "c.json").read_text())
    del doc["cameras"][0]["size"]
    (tmp_path / "c.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="camera 'cam01' has no 'size'"):
        load_calibration(tmp_path / "c.json")


QCA_TEMPLATE = """<?xml version='1.0' encoding='ASCII'?>
<calibration type="regular"><cameras>{cams}</cameras></calibration>"""
QCA_CAMERA = """<camera active="1" avg-residual="0.4" model="{model}" serial="{serial}"
 viewrotation="0">
<fov_video bottom="{bottom}" left="{left}" right="{right}" top="{top}"/>
<transform r11="1" r12="0" r13="0" r21="0" r22="1" r23="0" r31="0" r32="0" r33="1"
 x="100" y="-2000" z="1500"/>
<intrinsic centerPointU="64000" centerPointV="38400" focalLengthU="96000" focalLengthV="96064"
 radialDistortion1="-6.4" radialDistortion2="1.28" radialDistortion3="0" skew="0"
 tangentalDistortion1="0.064" tangentalDistortion2="-0.032"/>
</camera>"""


def test_read_qca_units_window_binning_and_filter(tmp_path):
    cams = "".join(QCA_CAMERA.format(model=m, serial=s, left=lf, top=tp, right=r, bottom=b)
                   for m, s, lf, tp, r, b in (
                       ("Miqus Video", "cam10", 0, 0, 1919, 1087),
                       ("Miqus Hybrid", "cam2", 64, 32, 1919, 1087),
                       ("Miqus", "marker1", 0, 0, 1823, 1087)))
    path = tmp_path / "x.qca.txt"
    path.write_text(QCA_TEMPLATE.format(cams=cams))
    calib = load_calibration(path)
    assert calib.names == ("cam2", "cam10")  # video/hybrid only, natural order
    c10, c2 = calib["cam10"], calib["cam2"]
    assert c10.size == (1920, 1088) and c2.size == (1856, 1056)
    np.testing.assert_allclose(c10.K, [[1500, 0, 1000], [0, 1501, 600], [0, 0, 1]])
    np.testing.assert_allclose(c2.K[:2, 2], (1000 - 64, 600 - 32))  # principal point in window
    np.testing.assert_allclose(c10.dist, [-0.1, 0.02, 0.001, -0.0005])
    np.testing.assert_allclose(c10.R, np.diag([1, -1, -1]))
    np.testing.assert_allclose(c10.center, (0.1, -2.0, 1.5))
    binned = read_qca(path, binning=2)["cam10"]
    assert binned.size == (960, 544)
    np.testing.assert_allclose(binned.K, [[750, 0, 500], [0, 750.5, 300], [0, 0, 1]])
    np.testing.assert_allclose(binned.dist, c10.dist / 2)  # Pose2Sim's convention
    (tmp_path / "m.qca.txt").write_text(QCA_TEMPLATE.format(cams=QCA_CAMERA.format(
        model="Oqus 7+", serial="m1", left=0, top=0, right=99, bottom=99)))
    with pytest.raises(InputError, match=r"no video camera.*Oqus 7\+"):
        load_calibration(tmp_path / "m.qca.txt")
    (tmp_path / "t.qca.txt").write_text(QCA_TEMPLATE.format(cams=QCA_CAMERA.format(
        model="none", serial="c1", left=0, top=0, right=99, bottom=99).replace(
        'focalLengthU="96000"', "")))
    with pytest.raises(InputError, match=r"camera 'c1'.*no 'focalLengthU'"):
        load_calibration(tmp_path / "t.qca.txt")


# --- Pose2Sim's demo calibration (Qualisys) ------------------------------------------------------

# Pose2Sim's own conversion of this very .qca.txt, as stored in its repository
# (perfanalytics/pose2sim, commit a948c205, Pose2Sim/S00_Demo_Session/S00_Calibration/
# Calib_qualisys.toml; the .qca.txt beside it differs from the demo's only by the camera serials
# cam_01.. instead of cam01..). BSD-3-Clause.
POSE2SIM_TOML = """
[cam_01]
name = "cam_01"
size = [ 1088.0, 1920.0]
matrix = [ [ 1681.244873046875, 0.0, 532.97369384375], [ 0.0, 1681.075439453125, \
948.137390140625], [ 0.0, 0.0, 1.0]]
distortions = [ -0.000721609375, 0.002187234375, 9.5e-06, 1.078125e-05]
rotation = [ 1.6882754799999993, 1.0483220499999997, -0.41955852000000016]
translation = [ 0.3211048899999996, 0.9563320600000009, 2.8907130499999996]
fisheye = false

[cam_02]
name = "cam_02"
size = [ 1088.0, 1920.0]
matrix = [ [ 1673.729614265625, 0.0, 534.494567875], [ 0.0, 1673.79724121875, \
963.225891109375], [ 0.0, 0.0, 1.0]]
distortions = [ -0.000747609375, 0.00213728125, 1.51875e-05, 4.546875e-06]
rotation = [ 1.34975875, 1.5963809099999993, -1.1983285799999999]
translation = [ -0.11152829000000014, 0.7766184800000001, 3.0675519599999994]
fisheye = false

[cam_03]
name = "cam_03"
size = [ 1088.0, 1920.0]
matrix = [ [ 1681.598388671875, 0.0, 513.20837403125], [ 0.0, 1681.509887703125, \
955.005126953125], [ 0.0, 0.0, 1.0]]
distortions = [ -0.000729765625, 0.00215034375, -8.46875e-06, -8.078125e-06]
rotation = [ 0.8109654899999995, -2.1972129299999996, 1.3760277799999996]
translation = [ -0.7934803899999995, 0.32283594000000126, 4.353514870000001]
fisheye = false

[cam_04]
name = "cam_04"
size = [ 1088.0, 1920.0]
matrix = [ [ 1675.234985359375, 0.0, 540.106201171875], [ 0.0, 1675.204223640625, \
964.0302734375], [ 0.0, 0.0, 1.0]]
distortions = [ -0.000744265625, 0.002104171875, 4.328125e-06, 3.109375e-06]
rotation = [ 1.4045571699999995, -1.3887412699999993, 0.42535743000000026]
translation = [ 0.5030217200000007, 0.04894934000000107, 4.406564460000002]
fisheye = false

[metadata]
adjusted = false
error = 0.0
"""


@pytest.fixture(scope="module")
def demo() -> Path:
    return assets.path("pose2sim_demo_singleperson")


def video_size(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return frame.width, frame.height


@pytest.mark.assets
def test_demo_qca_matches_videos(demo):
    calib = load_calibration(demo / "calibration" / "Calib.qca.txt")
    videos = sorted((demo / "videos").glob("*.mp4"))
    stems = [v.stem for v in videos]
    assert calib.names == tuple(stems) == ("cam01", "cam02", "cam03", "cam04")
    assert match_videos(calib, [v.name for v in videos]).names == calib.names
    sizes = {v.stem: video_size(v) for v in videos}
    # The calibration is portrait 1088x1920 for all four cameras (no rotation to apply);
    # cam03/cam04 decode at exactly that size, cam01/cam02 at 1080x1920: cam01's H.264 stream
    # codes 1088 columns and its SPS crops the last 8 (frame_crop_right_offset 4, 4:2:0),
    # cam02 is a VP9 re-encode at 1080; K is unchanged and check_sizes accepts it.
    assert all(c.size == (1088, 1920) for c in calib)
    assert sizes == {"cam01": (1080, 1920), "cam02": (1080, 1920),
                     "cam03": (1088, 1920), "cam04": (1088, 1920)}
    for name, (w, h) in sizes.items():
        cw, ch = calib[name].size
        assert h == ch and (w == cw or 0 < cw - w < 16)
    calib.check_sizes(sizes)
    with pytest.raises(InputError) as e:
        calib.check_sizes(sizes, codec_padding=False)
    msg = str(e.value)
    assert "'cam01': video is 1080x1920 but the calibration is 1088x1920" in msg
    assert "'cam02'" in msg and "'cam03'" not in msg.split("(calibration cameras")[0]


@pytest.mark.assets
def test_demo_qca_geometry(demo):
    calib = load_calibration(demo / "calibration" / "Calib.qca.txt")
    for cam in calib:
        c = cam.center
        assert 2.0 < np.linalg.norm(c) < 5.0, cam.name
        assert c[2] > 0.5, cam.name                      # above the floor (Z up)
        assert cam.to_camera(np.zeros(3))[2] > 0, cam.name  # the origin is in front
        u, v = cam.project(np.zeros(3))
        w, h = cam.size
        assert 0 <= u < w and 0 <= v < h, cam.name
        # a point 1 m above the origin is higher in the (upright, portrait) image
        assert cam.project(np.array([0.0, 0.0, 1.0]))[1] < v, cam.name
        assert cam.R[1, 2] < -0.8, cam.name  # image 'down' is world down: no 90° rotation
        assert cam.R[2, 2] < 0, cam.name     # looking slightly downwards


@pytest.mark.assets
def test_demo_qca_equals_pose2sim_conversion(demo, tmp_path):
    qca = demo / "calibration" / "Calib.qca.txt"
    calib = load_calibration(qca)
    (tmp_path / "Calib_qualisys.toml").write_text(POSE2SIM_TOML)
    p2s = match_videos(load_calibration(tmp_path / "Calib_qualisys.toml"), list(calib.names))
    for ours, theirs in zip(calib, p2s, strict=True):
        assert ours.size == theirs.size
        np.testing.assert_allclose(ours.K, theirs.K, rtol=1e-15)
        np.testing.assert_allclose(ours.dist, theirs.dist, rtol=1e-15)
        np.testing.assert_allclose(ours.R, theirs.R, atol=1e-12)
        np.testing.assert_allclose(ours.t, theirs.t, atol=1e-12)
    # Pose2Sim's extrinsic steps, literally (read_qca, world_to_camera_persp, rotate_cam(π, x))
    for el in ET.parse(qca).getroot().findall("cameras/camera"):
        tr = el.find("transform")
        M = np.array([[float(tr.get(f"r{i}{j}")) for j in (1, 2, 3)] for i in (1, 2, 3)])
        T = np.array([float(tr.get(k)) for k in "xyz"]) / 1000
        r_read = M.T                                  # "by-column to by-line"
        r, t = r_read.T, -(r_read.T @ T)              # world_to_camera_persp
        rx = np.array([[1, 0, 0], [0, -1, 0], [0, 0, -1.0]])
        r, t = rx @ r, rx @ t                         # rotate_cam(ang_x=pi)
        cam = calib[el.get("serial")]
        np.testing.assert_allclose(cam.R, r, atol=1e-15)
        np.testing.assert_allclose(cam.t, t, atol=1e-15)


@pytest.mark.assets
def test_demo_round_trips(demo, tmp_path):
    calib = load_calibration(demo / "calibration" / "Calib.qca.txt")
    for name in ("Calib.toml", "calib.yml", "calib.json"):
        save_calibration(calib, tmp_path / name)
        assert load_calibration(tmp_path / name).isclose(calib, atol=1e-12), name
    text = (tmp_path / "Calib.toml").read_text()
    assert "[cam01]" in text and "[metadata]" in text and "Calib.qca.txt" in text
