"""``posestack view``: the Rerun recording of a bundle / trial, read back, and the web
viewer served offline and drawn by headless Chromium."""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from posestack.cli import main
from posestack.errors import InputError, PosestackError

rr = pytest.importorskip("rerun")

pytestmark = pytest.mark.assets

FRAME = 5   # the frame whose values are compared


@pytest.fixture(scope="module")
def trial(tmp_path_factory, p2s_videos) -> Path:
    """The Pose2Sim sample, 4 cameras × 15 frames, with a quick body fit when the body
    extra is installed."""
    out = tmp_path_factory.mktemp("view_trial")
    calib = p2s_videos.parent / "calibration" / "Calib.qca.txt"
    assert main(["run", str(p2s_videos), "--calibration", str(calib), "-o", str(out),
                 "--layout", "halpe26", "--end", "0.25", "-q"]) == 0
    try:
        import anny  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return out
    assert main(["body", str(out / "multiview"), "--iterations", "20", "-q"]) == 0
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sports2d_video) -> Path:
    """One video (the Sports2D sample, 9 frames): a 2D bundle without calibration, with
    lifted 3D."""
    out = tmp_path_factory.mktemp("view_clip")
    assert main(["run", str(sports2d_video), "-o", str(out), "--end", "0.3",
                 "--max-people", "2", "--lift", "-q"]) == 0
    return out / sports2d_video.stem


def _rows(table: Path, frame: int, col: str = "x") -> list[dict]:
    """The rows of a posestack Parquet table at ``frame`` whose ``col`` is not NaN."""
    return [r for r in pq.read_table(table).to_pylist()
            if r["frame"] == frame and r[col] is not None and np.isfinite(r[col])]


def _read(rrd: Path) -> dict[str, list]:
    """Entity path -> its chunks' record batches."""
    from rerun.chunk import RrdReader

    out: dict[str, list] = defaultdict(list)
    for c in RrdReader(rrd).stream().to_chunks():
        out[c.entity_path].append(c.to_record_batch())
    return out


def _column(batches: list, name: str, frame: int | None = None) -> list:
    """The values of component column ``name`` (rows at ``frame`` on the frame timeline,
    or the static rows when None)."""
    vals = []
    for rb in batches:
        if name not in rb.schema.names:
            continue
        col = rb.column(name).to_pylist()
        if frame is None:
            if "frame" not in rb.schema.names:
                vals += [v for v in col if v is not None]
            continue
        if "frame" in rb.schema.names:
            vals += [v for f, v in zip(rb.column("frame").to_pylist(), col, strict=True)
                     if f == frame and v is not None]
    return vals


@pytest.fixture(scope="module")
def trial_rrd(trial, tmp_path_factory) -> Path:
    rrd = tmp_path_factory.mktemp("view_rrd") / "trial.rrd"
    assert main(["view", str(trial), "--save", str(rrd)]) == 0
    return rrd


def test_save_trial_holds_3d_cameras_videos_mesh_and_angles(trial, trial_rrd):
    ents = _read(trial_rrd)
    assert not list(trial_rrd.parent.glob(".*part")), "the temporary file was left behind"
    assert _column(ents["/world"], "ViewCoordinates:xyz")          # Z up, static

    # 3D keypoints at FRAME: the parquet's values (metres), in keypoint order
    t = _rows(trial / "multiview" / "keypoints3d.parquet", FRAME)
    pos = _column(ents["/world/skeleton/points"], "Points3D:positions", FRAME)
    ids = _column(ents["/world/skeleton/points"], "Points3D:keypoint_ids", FRAME)
    assert len(pos) == 1 and len(pos[0]) == len(t) > 10
    names = list(pq.read_table(trial / "multiview" / "keypoints3d.parquet")
                 .column("keypoint").combine_chunks().dictionary.to_pylist())
    got = {names[k]: p for k, p in zip(ids[0], pos[0], strict=True)}
    for row in t:
        np.testing.assert_allclose(got[row["keypoint"]], [row["x"], row["y"], row["z"]],
                                   atol=1e-6)
    assert _column(ents["/world/skeleton/bones"], "LineStrips3D:strips", FRAME)

    from posestack.multiview.calibration import load_calibration

    calib = load_calibration(json.loads((trial / "multiview" / "manifest.json").read_text())
                             ["calibration"]["path"])
    for cam in ("cam01", "cam02", "cam03", "cam04"):
        base = f"/world/cameras/{cam}"
        K = _column(ents[base], "Pinhole:image_from_camera")
        np.testing.assert_allclose(np.reshape(K[0], (3, 3)).T, calib[cam].K)   # column-major
        t = _column(ents[base], "Transform3D:translation")[-1]
        np.testing.assert_allclose(np.reshape(t, 3), calib[cam].t)
        assert _column(ents[f"{base}/video"], "AssetVideo:blob")
        assert _column(ents[f"{base}/video"], "VideoFrameReference:timestamp", FRAME)
        # 2D keypoints (pixels) of this camera at FRAME
        k2 = _rows(trial / cam / "keypoints2d.parquet", FRAME)
        p2 = _column(ents[f"{base}/keypoints/points"], "Points2D:positions", FRAME)[0]
        assert len(p2) == len(k2)
        np.testing.assert_allclose(sorted(map(tuple, p2)),
                                   sorted((r["x"], r["y"]) for r in k2), atol=1e-3)

    # joint angles: one series per person and angle, the parquet's degrees
    rows = _rows(trial / "multiview" / "angles.parquet", FRAME, "degrees")
    assert len(rows) > 10
    for row in rows:
        ent = f"/angles/3d/p{row['person']}/{row['angle']}"
        np.testing.assert_allclose(_column(ents[ent], "Scalars:scalars", FRAME),
                                   [[row["degrees"]]], rtol=1e-6)
    assert any(e.startswith("/angles/cam01/p0/") for e in ents)

    npz = trial / "multiview" / "body" / "body_p0.npz"
    if npz.is_file():
        body = np.load(npz)
        i = int(np.flatnonzero(body["frames"] == FRAME)[0])
        v = _column(ents["/world/bodies/p0"], "Mesh3D:vertex_positions", FRAME)[0]
        np.testing.assert_allclose(v, body["vertices"][i], atol=1e-6)
        faces = _column(ents["/world/bodies/p0"], "Mesh3D:triangle_indices")[0]
        assert len(faces) == len(body["faces"])
    else:
        assert any("no fitted body" in str(v) for v in
                   _column(ents["/notes"], "TextLog:text", 0))


def test_save_clip_shows_what_a_2d_bundle_has_and_says_what_it_lacks(clip, tmp_path, capsys):
    rrd = tmp_path / "clip.rrd"
    assert main(["view", str(clip), "--save", str(rrd)]) == 0
    out = capsys.readouterr().out
    assert "no multi-view 3D" in out and str(rrd) in out
    ents = _read(rrd)
    name = clip.name
    assert _column(ents[f"/image/{name}/video"], "AssetVideo:blob")
    k2 = _rows(clip / "keypoints2d.parquet", FRAME)
    pts = _column(ents[f"/image/{name}/keypoints/points"], "Points2D:positions", FRAME)[0]
    cls = _column(ents[f"/image/{name}/keypoints/points"], "Points2D:class_ids", FRAME)[0]
    np.testing.assert_allclose(sorted(map(tuple, pts)), sorted((r["x"], r["y"]) for r in k2),
                               atol=1e-3)
    assert sorted(set(cls)) == sorted({r["person"] for r in k2})   # class id = person
    # BlazePose world landmarks: metres, hip-centred, y down -> logged as RDF
    rdf = [[3, 2, 5]]          # Rerun's axis codes: Right = 3, Down = 2, Forward = 5
    assert _column(ents[f"/body3d/{name}"], "ViewCoordinates:xyz") == [rdf]
    assert _column(ents[f"/body3d/{name}/skeleton/points"], "Points3D:positions", FRAME)
    # the lifted 3D (--lift): the same axes
    assert _column(ents[f"/lifted3d/{name}"], "ViewCoordinates:xyz") == [rdf]
    lifted = _rows(clip / "keypoints3d_lifted.parquet", FRAME)
    got = _column(ents[f"/lifted3d/{name}/skeleton/points"], "Points3D:positions", FRAME)[0]
    np.testing.assert_allclose(sorted(map(tuple, got)),
                               sorted((r["x"], r["y"], r["z"]) for r in lifted), atol=1e-5)
    assert any(e.startswith(f"/angles/{name}/p0/") for e in ents)
    notes = _column(ents["/notes"], "TextLog:text", 0)
    assert any("no multi-view 3D" in str(n) for n in notes)


def test_bad_inputs_fail_before_any_work(tmp_path, capsys, monkeypatch):
    from posestack.view.viewer import view

    with pytest.raises(InputError, match="does not exist"):
        view(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no posestack results"):
        view(tmp_path / "empty", save=tmp_path / "x.rrd")
    assert main(["view", str(tmp_path / "empty")]) == 2
    assert "no posestack results" in capsys.readouterr().err
    for args, message in ((["--port", "0"], "1-65535"), (["--grpc-port", "70000"], "1-65535"),
                          (["--port", "9876"], "must differ"),
                          (["--save", "x.rrd", "--port", "8000"], "drop one of them")):
        assert main(["view", str(tmp_path / "empty"), *args]) == 2
        assert message in capsys.readouterr().err
    monkeypatch.setitem(__import__("sys").modules, "rerun", None)
    with pytest.raises(PosestackError, match=r"pip install 'posestack\[view\]'"):
        view(tmp_path / "empty")
    assert not list(tmp_path.glob("*.rrd*"))
    # the ports reach the server
    import posestack.view.viewer as viewer_mod

    seen = {}
    monkeypatch.setattr(viewer_mod, "serve", lambda path, **kw: seen.update(kw) or 0)
    assert main(["view", str(tmp_path / "empty"), "--port", "8123", "--grpc-port",
                 "8124"]) == 0
    assert seen == {"web_port": 8123, "grpc_port": 8124}


def test_save_is_atomic(clip, tmp_path, monkeypatch):
    from posestack.view import viewer

    def boom(*a, **k):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(viewer, "log_bundle", boom)
    with pytest.raises(RuntimeError):
        viewer.view(clip, save=tmp_path / "c.rrd")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="does not exist"):
        viewer.view(clip, save=tmp_path / "no" / "c.rrd")


# ------------------------------------------------------------------ the web viewer, drawn

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# WebGL 2 on SwiftShader (CPU): the viewer falls back to it from WebGPU
GL = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _screenshots(url: str, until, timeout: float = 120.0, size=(1600, 1000)) -> bytes:
    """Open ``url`` in headless Chromium driven over the DevTools pipe (stdlib only) and
    take a PNG every 3 s of real time until ``until(png)`` is true or ``timeout`` s pass;
    returns the last PNG. (``tests/browser.py``'s ``--screenshot`` fires when its virtual
    time budget runs out, which does not wait for the 40 MB viewer wasm to compile.)"""
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()

    def fds():
        os.dup2(to_r, 3)
        os.dup2(from_w, 4)

    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--no-first-run", "--mute-audio",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", "--remote-debugging-pipe", *GL,
             f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}", url],
            preexec_fn=fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        buf, n = b"", 0

        def call(method, params=None, session=None):
            nonlocal buf, n
            n += 1
            msg = {"id": n, "method": method, "params": params or {}}
            if session:
                msg["sessionId"] = session
            os.write(to_w, json.dumps(msg).encode() + b"\0")
            while True:
                while b"\0" not in buf:
                    if not select.select([from_r], [], [], 90)[0]:
                        raise TimeoutError(f"Chromium did not answer {method}")
                    chunk = os.read(from_r, 1 << 20)
                    if not chunk:
                        raise RuntimeError("Chromium closed the DevTools pipe")
                    buf += chunk
                raw, buf = buf.split(b"\0", 1)
                m = json.loads(raw)
                if m.get("id") == n:
                    if "error" in m:
                        raise RuntimeError(f"{method}: {m['error']}")
                    return m["result"]

        try:
            page = next(t["targetId"] for t in call("Target.getTargets")["targetInfos"]
                        if t["type"] == "page")
            sid = call("Target.attachToTarget", {"targetId": page, "flatten": True})["sessionId"]
            call("Runtime.enable", session=sid)
            t0 = time.monotonic()
            while True:
                t1 = time.monotonic()
                while time.monotonic() - t1 < 3:   # keep talking to the page meanwhile
                    time.sleep(0.5)
                    call("Runtime.evaluate", {"expression": "1"}, session=sid)
                png = base64.b64decode(call("Page.captureScreenshot", {"format": "png"},
                                            session=sid)["data"])
                if until(png) or time.monotonic() - t0 > timeout:
                    return png
        finally:
            proc.kill()
            proc.wait()
            os.close(to_w)
            os.close(from_r)


def _colour_pixels(png: bytes, rgb, tol: int = 30) -> int:
    import cv2

    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    return int((np.abs(img.astype(int) - np.array(rgb)).max(-1) <= tol).sum())


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_web_viewer_served_offline_draws_the_skeletons(trial, tmp_path):
    from posestack.view.viewer import PERSON_COLORS, serve

    web, grpc = _free_port(), _free_port()
    stop, ready = threading.Event(), threading.Event()
    status: list[int] = []
    th = threading.Thread(target=lambda: status.append(serve(
        trial, web_port=web, grpc_port=grpc, stop=stop, ready=ready)), daemon=True)
    th.start()
    try:
        assert ready.wait(60)
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/", timeout=10) as r:
            assert b"Rerun" in r.read()          # the viewer bundled in the wheel
        head = urllib.request.Request(f"http://127.0.0.1:{web}/re_viewer_bg.wasm",
                                      method="HEAD")
        with urllib.request.urlopen(head, timeout=10) as r:
            assert r.headers["Content-Type"] == "application/wasm"
        url = f"http://127.0.0.1:{web}/?url=rerun%2Bhttp://127.0.0.1:{grpc}/proxy"
        person0 = PERSON_COLORS[0]
        png = _screenshots(url, lambda p: _colour_pixels(p, person0) > 1000)
    finally:
        stop.set()
        th.join(30)
    shot = tmp_path / "viewer.png"
    shot.write_bytes(png)
    keep = os.environ.get("POSESTACK_KEEP_SCREENSHOT")
    if keep:
        Path(keep).write_bytes(png)
    assert status == [0]
    # person 0's colour: the 2D skeletons over the four videos and the 3D skeleton/mesh
    n = _colour_pixels(png, person0)
    assert n > 1000, f"no skeleton drawn ({n} pixels of its colour); see {shot}"
