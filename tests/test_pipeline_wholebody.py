"""The main job with whole-body estimators, layouts, tracking, filtering and overlay styles."""

from __future__ import annotations

import json

import av
import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

import posestack
from posestack.cli import main
from posestack.render.openpose import COLOURS

from .onnx_graphs import constant_simcc, peaked, yolox_end2end

pytestmark = pytest.mark.assets


def _first_frame(path):
    with av.open(str(path)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


def test_holistic_wholebody_bundle(tmp_path, p2s_videos):
    out = tmp_path / "o"
    assert main(["run", str(p2s_videos / "cam01.mp4"), "-o", str(out), "--estimator",
                 "holistic", "--layout", "wholebody133", "--start", "0.6", "--end", "1.0",
                 "-q"]) == 0
    b = out / "cam01"
    m = json.loads((b / "manifest.json").read_text())
    assert m["skeleton"] == {"estimator": "holistic543", "keypoints2d": "coco_wholebody133"}
    assert m["tracked"] is True and m["parameters"]["layout"] == "wholebody133"
    t = pq.read_table(b / "keypoints2d.parquet")
    assert t.schema.metadata[b"posestack.tracked"] == b"true"
    df = t.to_pydict()
    names = set(df["keypoint"])
    assert len(names) == 133 and "left_hand_root" in names and "face_0" in names
    # the subject's hands were found in these frames (0.6-1.0 s: both hands in view in
    # cam01); person 1, by the door in the background, is too small for the hand model
    assert set(df["person"]) == {0, 1}
    hand = [s for k, s, p in zip(df["keypoint"], df["score"], df["person"], strict=True)
            if p == 0 and k.startswith("right_") and ("finger" in k or "thumb" in k)]
    assert np.mean(np.asarray(hand) > 0.5) > 0.5
    # 3D stays BlazePose's 33 world landmarks
    assert pq.read_table(b / "keypoints3d_body.parquet").schema.metadata[
        b"posestack.skeleton"] == b"blazepose33"
    op = json.loads(sorted((b / "openpose").iterdir())[0].read_text())
    assert len(op["people"][0]["pose_keypoints_2d"]) == 133 * 3


def test_openpose_style_overlay(tmp_path, p2s_videos):
    [r] = posestack.run(p2s_videos / "cam01.mp4", tmp_path, estimator="holistic",
                        style="openpose", end=0.2, progress=False)
    img = _first_frame(tmp_path / "cam01" / "overlay.mp4").astype(int)
    assert (img.sum(axis=2) < 30).mean() > 0.9  # a black canvas with a skeleton on it
    # joints are drawn in their OpenPose colours: the nose (OpenPose 0, red) at the nose
    wb = r.keypoints2d.to_skeleton("coco_wholebody133")
    x, y = np.round(wb.coords[0, 0, 0]).astype(int)
    assert np.abs(img[y, x] - COLOURS[0]).max() < 60  # H.264 shifts colours a little
    m = r.manifest
    assert m["parameters"]["style"] == "openpose"


def test_tracking_and_butterworth_on_sports2d(tmp_path, sports2d_video):
    raw, smooth = (posestack.run(sports2d_video, None, end=4.0, filter=f, progress=False)[0]
                   for f in ("none", "butterworth"))
    kp = smooth.keypoints2d
    assert kp.tracked and kp.n_people >= 2
    assert kp.meta["filter"] == "butterworth" and kp.meta["filter_params"]["cutoff"] == 6.0
    # identity 0 is the jumper on the box (high in the image), identity 1 the walker
    hips = kp.coords[:, :, [23, 24], 1].mean(axis=2)  # (T, P) hip height, NaN if absent
    assert np.nanmax(hips[:, 0]) < 500 < np.nanmin(hips[:, 1])
    # zero-phase smoothing reduces frame-to-frame jitter without moving the tracks
    def jitter(p):
        return np.nanmedian(np.abs(np.diff(p.coords[:, :2], n=2, axis=0)))

    assert jitter(smooth.keypoints2d) < 0.7 * jitter(raw.keypoints2d)
    d = np.abs(smooth.keypoints2d.coords[:, :2] - raw.keypoints2d.coords[:, :2])
    assert np.nanmedian(d) < 3.0


def test_no_track_keeps_estimator_slots(tmp_path, sports2d_video):
    [r] = posestack.run(sports2d_video, None, end=1.0, track=False, progress=False)
    assert not r.keypoints2d.tracked and r.manifest["tracked"] is False


def test_layout_errors_before_any_work(tmp_path, p2s_videos, capsys):
    v = str(p2s_videos / "cam01.mp4")
    with pytest.raises(SystemExit) as exc:  # argparse rejects it and lists the choices
        main(["run", v, "-o", str(tmp_path), "--layout", "body25"])
    assert exc.value.code == 2 and "choose from" in capsys.readouterr().err
    with pytest.raises(posestack.InputError, match="valid"):
        posestack.run(v, tmp_path, layout="body25", progress=False)
    with pytest.raises(posestack.InputError, match="--model/--detector are for the ONNX"):
        posestack.run(v, tmp_path, model="x.onnx", progress=False)
    assert list(tmp_path.iterdir()) == []


# --- ONNX estimators through the main job, on graphs with known outputs ---------------------


def _wholebody_graph(path, x_bin: int, y_bin: int):
    k = 133
    return constant_simcc(path, peaked(k, 192 * 2, [x_bin] * k, 0.9),
                          peaked(k, 256 * 2, [y_bin] * k, 0.9))


def test_rtmw_with_yolox_detector_end_to_end(tmp_path, cam01_frames, capsys):
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), cv2.cvtColor(cam01_frames[0], cv2.COLOR_RGB2BGR))
    h, w = cam01_frames[0].shape[:2]
    # YOLOX (640x640, top-left letterbox): one person box in input pixels
    r = 640 / max(h, w)
    box = np.array([300, 400, 700, 1600], float)  # image pixels
    det = yolox_end2end(tmp_path / "yolox.onnx", np.array([[*(box * r), 0.95]]),
                        labels=np.array([0]))
    model = _wholebody_graph(tmp_path / "rtmw.onnx", x_bin=192, y_bin=256)  # crop centre
    out = tmp_path / "o"
    assert main(["run", str(image), "-o", str(out), "--estimator", "rtmw", "--model",
                 str(model), "--detector", str(det), "-q"]) == 0
    poses, _ = posestack.read_keypoints(out / "frame" / "keypoints2d.parquet")
    assert poses.skeleton.name == "coco_wholebody133" and poses.coords.shape[:2] == (1, 1)
    # every keypoint sits at the crop centre, which is the box centre
    np.testing.assert_allclose(poses.coords[0, 0], np.tile([(300 + 700) / 2, (400 + 1600) / 2],
                                                           (133, 1)), atol=1.0)
    m = json.loads((out / "frame" / "manifest.json").read_text())
    assert {x["name"] for x in m["models"]} == {"pose", "detector"}
    assert "keypoints3d_body" not in m["outputs"]  # no 3D from a 2D model


def test_onnx_estimator_errors(tmp_path, p2s_videos, capsys):
    v = str(p2s_videos / "cam01.mp4")
    assert main(["run", v, "-o", str(tmp_path / "o"), "--estimator", "rtmw"]) == 2
    assert "needs its model file" in capsys.readouterr().err
    body = constant_simcc(tmp_path / "body.onnx", peaked(17, 384, [10] * 17),
                          peaked(17, 512, [10] * 17))
    assert main(["run", v, "-o", str(tmp_path / "o"), "--estimator", "rtmw", "--model",
                 str(body)]) == 2
    assert "expects a 133-keypoint whole-body model" in capsys.readouterr().err
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model")
    assert main(["run", v, "-o", str(tmp_path / "o"), "--estimator", "rtmpose", "--model",
                 str(junk)]) == 2
    assert capsys.readouterr().err.count("error:") == 1
    assert not (tmp_path / "o" / "cam01").exists()
