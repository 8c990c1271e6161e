"""posestack.estimate.rtm on small ONNX graphs whose outputs are known.

Real RTMPose / RTMO / YOLOX weights cannot be fetched here, so every model is a
graph from tests/onnx_graphs.py with constant outputs (or outputs that follow the
input's channel means). Expected image coordinates are computed in this file
from the published formulas (shared/reference/rtm_and_skeletons.md §1.3–§1.4,
§2, §3.1), and a few of them are written out as numbers worked by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from posestack.errors import AssetError, InputError
from posestack.estimate import rtm
from posestack.estimate.rtm import (
    RTMO,
    OnnxModel,
    Person2D,
    RTMEstimator,
    TopDownPose,
    YoloxDetector,
)

from . import onnx_graphs as g

IN_HW = (256, 192)  # RTMPose 256x192: tensor H x W
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


def expected_xy(box, bins, in_hw=IN_HW, ratio=2.0, padding=1.25):
    """Image pixel of SimCC bins (bx, by) for one xyxy box, from mmpose's formulas."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    sw, sh = (x2 - x1) * padding, (y2 - y1) * padding
    h_in, w_in = in_hw
    aspect = w_in / h_in
    if sw > sh * aspect:
        sh = sw / aspect
    else:
        sw = sh * aspect
    bx, by = bins
    return (bx / ratio / w_in * sw + cx - sw / 2, by / ratio / h_in * sh + cy - sh / 2)


# The constant SimCC model used below has K = 17 (a COCO-17 layout, so that the
# keypoint count is supported). Keypoints 0..2 have clean peaks (x bin, y bin, x height,
# y height); 3 and 6..16: all zero, no peak; 4: negative x, peak 0.9 at y bin 100;
# 5: no x peak, peak 0.9 at y bin 200.
PEAKS = [(100, 300, 0.8, 0.4), (0, 0, 1.0, 1.0), (383, 511, 0.5, 0.7)]
K = 17
MEAN_SCORES = [0.6, 1.0, 0.6, 0.0, -0.05, 0.45] + [0.0] * 11
MIN_SCORES = [0.4, 1.0, 0.5, 0.0, -1.0, 0.0] + [0.0] * 11


def _constant_arrays():
    sx = np.zeros((K, 384), np.float32)
    sy = np.zeros((K, 512), np.float32)
    for j, (bx, by, hx, hy) in enumerate(PEAKS):
        sx[j, bx], sy[j, by] = hx, hy
    sx[4] = -1.0
    sy[4, 100] = 0.9
    sy[5, 200] = 0.9
    return sx, sy


@pytest.fixture(scope="module")
def graphs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("graphs")
    sx, sy = _constant_arrays()
    out = {
        "const": g.constant_simcc(d / "const.onnx", sx, sy),
        "const_b1": g.constant_simcc(d / "const_b1.onnx", sx, sy, batch=1),
        "const_b4": g.constant_simcc(d / "const_b4.onnx", sx, sy, batch=4),
        "probe": g.probe_simcc(d / "probe.onnx", k=K, wx=(50, 0, 0), bx=192, wy=(0, 0, 50),
                               by=256, offsets=[0, 7] + [0] * (K - 2)),
        "yolox_e2e": g.yolox_end2end(d / "yolox_e2e.onnx", [[10, 20, 110, 220, 0.9]],
                                     [0]),
        "yolox_raw": g.yolox_raw(d / "yolox_raw.onnx", {0: [0, 0, 0, 0, 0.5, 0.5]}),
        "rtmo": g.rtmo(d / "rtmo.onnx", [[0, 0, 10, 10, 0.9]], np.ones((1, 17, 3))),
    }
    text = d / "notes.onnx"
    text.write_text("this is not an ONNX model\n")
    out["text"] = text
    return out


# --------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------


def test_center_scale_and_aspect_fix_by_hand():
    c, s = rtm.box_center_scale(np.array([[100.0, 50.0, 200.0, 450.0]]))
    assert c.tolist() == [[150.0, 250.0]] and s.tolist() == [[125.0, 500.0]]
    # 125 < 500·0.75 → widen to 375 (the box only grows)
    assert rtm.fix_aspect_ratio(s, 192 / 256).tolist() == [[375.0, 500.0]]
    # wide box: 500 > 125·0.75 → heighten to 500 / 0.75
    assert np.allclose(rtm.fix_aspect_ratio(np.array([[500.0, 125.0]]), 0.75),
                       [[500.0, 2000.0 / 3.0]])


def test_crop_samples_the_image_through_the_affine_map():
    h, w = 200, 300
    ys, xs = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = (xs * 0.8).astype(np.uint8)  # linear in x
    img[..., 1] = ys.astype(np.uint8)           # linear in y
    img[..., 2] = 255
    box = np.array([[250.0, 120.0, 330.0, 230.0]])  # runs off the right/bottom edges
    crops, centers, scales = rtm.crop_people(img, box, IN_HW)
    # hand: centre (290, 175); padded (100, 137.5); 100 < 137.5·0.75 = 103.125 → (103.125, 137.5)
    assert np.allclose(centers, [[290.0, 175.0]]) and np.allclose(scales, [[103.125, 137.5]])
    s = 192 / 103.125
    v, u = np.mgrid[0:256, 0:192]
    x = (u - 96) / s + 290  # crop pixel → image pixel
    y = (v - 128) / s + 175
    inside = (x >= 0) & (x <= w - 2) & (y >= 0) & (y <= h - 2)
    outside = (x < -1) | (x > w) | (y < -1) | (y > h)
    crop = crops[0].astype(float)
    assert inside.sum() > 1000 and outside.sum() > 1000
    assert np.abs(crop[..., 0][inside] - np.floor(x[inside] * 0.8)).max() <= 1.5
    assert np.abs(crop[..., 1][inside] - y[inside]).max() <= 1.0
    assert (crop[..., 2][inside] == 255).all()
    assert (crops[0][outside] == 0).all()  # constant black border


def test_normalise_crops_channels_in_given_order():
    crops = np.array([[[[200, 100, 30]]]], np.uint8)  # (1, 1, 1, 3)
    t = rtm.normalise_crops(crops)
    assert t.shape == (1, 3, 1, 1) and t.dtype == np.float32
    want = [(200 - MEAN[0]) / STD[0], (100 - MEAN[1]) / STD[1], (30 - MEAN[2]) / STD[2]]
    assert np.allclose(t[0, :, 0, 0], want, atol=1e-6)


def test_simcc_decode_by_hand():
    sx, sy = _constant_arrays()
    xy, sc = rtm.simcc_decode(sx[None], sy[None], 2.0, "mean")
    assert xy[0, :3].tolist() == [[50.0, 150.0], [0.0, 0.0], [191.5, 255.5]]
    assert np.allclose(sc[0], MEAN_SCORES)
    assert np.isnan(xy[0, 3]).all() and np.isnan(xy[0, 4]).all() and np.isnan(xy[0, 6:]).all()
    assert xy[0, 5].tolist() == [0.0, 100.0]  # mean 0.45 > 0: kept, at x bin 0 (rtmlib)
    xy, sc = rtm.simcc_decode(sx[None], sy[None], 2.0, "min")
    assert np.allclose(sc[0], MIN_SCORES)
    assert np.isnan(xy[0, 3:]).all()
    with pytest.raises(InputError, match="mean, min"):
        rtm.simcc_decode(sx[None], sy[None], 2.0, "max")


def test_letterbox_top_left_with_114():
    img = np.zeros((100, 250, 3), np.uint8)
    img[...] = (10, 20, 30)
    canvas, r = rtm.letterbox(img, (320, 320))
    assert r == pytest.approx(1.28)  # min(320/100, 320/250)
    assert canvas.shape == (320, 320, 3)
    assert (canvas[:128, :320] == (10, 20, 30)).all()  # int(100·1.28) = 128 rows of image
    assert (canvas[128:] == 114).all()
    tall, r2 = rtm.letterbox(np.zeros((400, 100, 3), np.uint8), (320, 256))
    assert r2 == pytest.approx(0.8) and (tall[:, :80] == 0).all() and (tall[:, 80:] == 114).all()


def test_nms_drops_overlaps_keeps_disjoint():
    boxes = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [1, 0, 11, 10], [0, 0, 10, 20.0]])
    scores = np.array([0.9, 0.5, 0.8, 0.7])
    # IoU(0, 2) = 90/110 = 0.82 > 0.45: dropped; IoU(0, 3) = 100/200 = 0.5 > 0.45: dropped
    assert rtm.nms(boxes, scores, 0.45).tolist() == [0, 1]
    assert rtm.nms(boxes, scores, 0.5).tolist() == [0, 3, 1]  # 0.5 is not above 0.5
    assert rtm.nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_yolox_decode_by_hand():
    in_hw = (256, 320)  # non-square: 32·40 + 16·20 + 8·10 = 1680 anchors
    assert g.yolox_grid_size(in_hw) == 1680
    raw = np.zeros((1680, 6))
    i = 32 * 40 + 3 * 20 + 5  # stride 16, row 3, column 5
    raw[i, :4] = [0.5, 0.25, math.log(4), math.log(6)]
    box = rtm.yolox_decode(raw, in_hw, rows=np.array([i]))
    # centre ((5 + .5)·16, (3 + .25)·16) = (88, 52); size (4·16, 6·16) = (64, 96)
    assert np.allclose(box, [[56, 4, 120, 100]])
    with pytest.raises(InputError, match="anchors"):
        rtm.yolox_decode(raw[:-1], in_hw)


@pytest.mark.parametrize(("k", "name"), [(17, "coco17"), (26, "halpe26"),
                                         (133, "coco_wholebody133"), (21, "hand21")])
def test_keypoint_count_to_skeleton(k, name, tmp_path):
    from posestack.skeletons import get_skeleton

    assert rtm.skeleton_for_keypoints(k) == name
    assert len(get_skeleton(name)) == k
    in_hw = (256, 256) if k == 21 else (384, 288)
    sx = np.zeros((k, 2 * in_hw[1]), np.float32)
    sy = np.zeros((k, 2 * in_hw[0]), np.float32)
    pose = TopDownPose(g.constant_simcc(tmp_path / "m.onnx", sx, sy, in_hw=in_hw))
    assert (pose.skeleton_name, pose.num_keypoints, pose.input_hw) == (name, k, in_hw)


def test_unsupported_keypoint_count(tmp_path):
    path = g.constant_simcc(tmp_path / "k5.onnx", np.zeros((5, 384)), np.zeros((5, 512)))
    assert OnnxModel(path).kind == "simcc"
    with pytest.raises(AssetError, match=r"5 keypoints.*17 \(coco17\).*133"):
        TopDownPose(path)


# --------------------------------------------------------------------------------------
# TopDownPose
# --------------------------------------------------------------------------------------

BOXES = [
    (100.0, 50.0, 200.0, 450.0),   # taller than the model (aspect 0.25 < 0.75)
    (10.0, 20.0, 410.0, 120.0),    # wider than the model
    (-30.0, -40.0, 50.0, 60.0),    # over the top-left corner
    (600.0, 400.0, 700.0, 533.3),  # about the model's aspect, at the bottom-right border
]


def test_worked_example_by_hand(graphs):
    pose = TopDownPose(graphs["const"])
    img = np.zeros((480, 640, 3), np.uint8)
    p = pose(img, np.array(BOXES[:2]))
    # tall box: centre (150, 250), padded (125, 500) → (375, 500);
    # kp0 bins (100, 300) → crop (50, 150) → (50/192·375 + 150 − 187.5, 150/256·500 + 0)
    assert p[0].xy[0] == pytest.approx([60.15625, 292.96875], abs=1e-4)
    # wide box: centre (210, 70), padded (500, 125) → (500, 666.67)
    assert p[1].xy[0] == pytest.approx([90.2083333, 127.2916667], abs=1e-4)
    assert isinstance(p[0], Person2D) and p[0].box.tolist() == list(BOXES[0])


@pytest.mark.parametrize("image_hw", [(480, 640), (1080, 1920), (300, 200)])
def test_keypoints_back_projected(graphs, image_hw):
    pose = TopDownPose(graphs["const"])
    assert (pose.num_keypoints, pose.split_ratio, pose.skeleton_name) == (K, 2.0, "coco17")
    img = np.full((*image_hw, 3), 90, np.uint8)
    people = pose(img, np.array(BOXES))
    assert len(people) == len(BOXES)
    for person, box in zip(people, BOXES, strict=True):
        assert person.xy.shape == (K, 2) and person.scores.shape == (K,)
        for j, (bx, by, _, _) in enumerate(PEAKS):
            assert person.xy[j] == pytest.approx(expected_xy(box, (bx, by)), abs=1e-3)
        assert person.xy[5] == pytest.approx(expected_xy(box, (0, 200)), abs=1e-3)
        assert np.isnan(person.xy[3:5]).all() and np.isnan(person.xy[6:]).all()
        assert person.score == pytest.approx(2.6 / 17)
        assert math.isnan(person.box_score)


def test_score_mode_mean_vs_min(graphs):
    img = np.zeros((480, 640, 3), np.uint8)
    box = np.array([BOXES[0]])
    mean = TopDownPose(graphs["const"], score_mode="mean")(img, box)[0]
    mn = TopDownPose(graphs["const"], score_mode="min")(img, box)[0]
    assert np.allclose(mean.scores, MEAN_SCORES)
    assert np.allclose(mn.scores, MIN_SCORES)
    assert np.isnan(mean.xy[[3, 4]]).all() and not np.isnan(mean.xy[5]).any()
    assert np.isnan(mn.xy[[3, 4, 5]]).all()
    assert np.array_equal(mean.xy[:3], mn.xy[:3])


def _colour_image() -> np.ndarray:
    img = np.zeros((600, 800, 3), np.uint8)
    img[:300, :400] = (200, 100, 30)
    img[:300, 400:] = (20, 180, 210)
    img[300:, :400] = (90, 40, 160)
    img[300:, 400:] = (250, 250, 5)
    return img


# one box inside each uniform quadrant (crops stay inside the quadrant) + one across all
QUAD_BOXES = np.array([[150, 60, 230, 220], [560, 80, 640, 200], [120, 380, 260, 520],
                       [560, 400, 640, 520], [300, 200, 500, 400.0]])


def _probe_expected(box, rgb, flip_rgb=True):
    """Keypoints of the probe model for a crop of uniform colour ``rgb``."""
    fed = rgb if flip_rgb else rgb[::-1]
    m0 = (fed[0] - MEAN[0]) / STD[0]
    m2 = (fed[2] - MEAN[2]) / STD[2]
    out = []
    for off in (0, 7):
        fx, fy = 50 * m0 + 192 + off, 50 * m2 + 256 + off
        bx, by = round(fx), round(fy)
        assert min(abs(fx % 1 - 0.5), abs(fy % 1 - 0.5)) > 0.01  # no rounding tie
        score = 0.5 * ((1 - (bx - fx) ** 2) + (1 - (by - fy) ** 2))
        out.append((expected_xy(box, (bx, by)), score))
    return out


@pytest.mark.parametrize("flip_rgb", [True, False])
def test_colour_order_reaches_the_model(graphs, flip_rgb):
    img = _colour_image()
    pose = TopDownPose(graphs["probe"], flip_rgb=flip_rgb)
    colours = [img[100, 100], img[100, 600], img[450, 200], img[450, 600]]
    people = pose(img, QUAD_BOXES[:4])
    for person, box, rgb in zip(people, QUAD_BOXES, colours, strict=False):
        for j, (xy, score) in enumerate(_probe_expected(box, rgb.astype(float), flip_rgb)):
            assert person.xy[j] == pytest.approx(xy, abs=1e-3)
            assert person.scores[j] == pytest.approx(score, abs=5e-3)  # float32 mean
    # RGB and BGR really differ for these colours
    other = TopDownPose(graphs["probe"], flip_rgb=not flip_rgb)(img, QUAD_BOXES[:1])[0]
    assert not np.allclose(other.xy, people[0].xy)


def test_batched_and_per_person_agree(graphs):
    img = _colour_image()
    runs = {}
    for name, kw in [("batched", {"batch": True}), ("single", {"batch": False}),
                     ("auto", {})]:
        pose = TopDownPose(graphs["probe"], **kw)
        calls = []
        run = pose.model.run
        pose.model.run = lambda x, names=None, _run=run, _calls=calls: (  # type: ignore
            _calls.append(len(x)) or _run(x, names))
        runs[name] = (pose(img, QUAD_BOXES), calls, pose.batched)
    assert runs["batched"][1] == [5] and runs["auto"][1] == [5]
    assert runs["single"][1] == [1] * 5
    assert (runs["batched"][2], runs["single"][2], runs["auto"][2]) == (True, False, True)
    ref = runs["single"][0]
    for name in ("batched", "auto"):
        for a, b in zip(runs[name][0], ref, strict=True):
            assert np.array_equal(a.xy, b.xy, equal_nan=True)
            assert np.array_equal(a.scores, b.scores)
    # different crops really gave different keypoints
    assert not np.allclose(ref[0].xy, ref[1].xy)


def test_fixed_batch_models(graphs):
    img = np.zeros((480, 640, 3), np.uint8)
    boxes = np.array([*BOXES, BOXES[0]])  # 5 persons
    ref = TopDownPose(graphs["const"])(img, boxes)
    b1 = TopDownPose(graphs["const_b1"])
    assert not b1.batched
    b4 = TopDownPose(graphs["const_b4"])  # chunks of 4, the last zero-padded
    for pose in (b1, b4):
        for a, b in zip(pose(img, boxes), ref, strict=True):
            assert np.array_equal(a.xy, b.xy, equal_nan=True)
    with pytest.raises(InputError, match="fixed batch size of 1"):
        TopDownPose(graphs["const_b1"], batch=True)


def test_whole_image_when_no_box(graphs):
    pose = TopDownPose(graphs["const"])
    img = np.zeros((300, 500, 3), np.uint8)
    for boxes in (None, np.zeros((0, 4)), []):
        (p,) = pose(img, boxes)
        assert p.box.tolist() == [0, 0, 500, 300]
        assert p.xy[0] == pytest.approx(expected_xy((0, 0, 500, 300), (100, 300)), abs=1e-3)
    assert TopDownPose(graphs["const"], whole_image_if_no_box=False)(img, None) == []
    xy, sc = pose.predict(img, np.zeros((0, 4)))
    assert xy.shape == (0, K, 2) and sc.shape == (0, K)


def test_symbolic_output_shapes_found_by_running(tmp_path):
    sx, sy = _constant_arrays()
    path = g.constant_simcc(tmp_path / "sym.onnx", sx, sy, symbolic_outputs=True)
    assert OnnxModel(path).outputs[0].shape == ("N", "K", "Wx")
    pose = TopDownPose(path)
    assert (pose.num_keypoints, pose.split_ratio) == (K, 2.0)
    # and the outputs are found by name, whatever their order
    swapped = g.constant_simcc(tmp_path / "sw.onnx", sx, sy, names=("simcc_y", "simcc_x"))
    with pytest.raises(AssetError, match="ratio"):  # simcc_x now has 512 bins for width 192
        TopDownPose(swapped)


def test_split_ratio_derived_and_checked(tmp_path):
    sx = g.peaked(K, 192 * 3, [300] + [0] * (K - 1))
    sy = g.peaked(K, 256 * 3, [600] + [0] * (K - 1))
    pose = TopDownPose(g.constant_simcc(tmp_path / "r3.onnx", sx, sy))
    assert pose.split_ratio == 3.0
    box = (100.0, 50.0, 200.0, 450.0)
    p = pose(np.zeros((480, 640, 3), np.uint8), np.array([box]))[0]
    assert p.xy[0] == pytest.approx(expected_xy(box, (300, 600), ratio=3.0), abs=1e-3)
    bad = g.constant_simcc(tmp_path / "bad.onnx", np.zeros((K, 384)), np.zeros((K, 768)))
    with pytest.raises(AssetError, match="same split ratio"):
        TopDownPose(bad)


def test_dynamic_input_size_needs_input_size(tmp_path):
    sx, sy = _constant_arrays()
    path = g.constant_simcc(tmp_path / "dyn.onnx", sx, sy, in_hw=("H", "W"))
    with pytest.raises(AssetError, match="input_size"):
        TopDownPose(path)
    pose = TopDownPose(path, input_size=(192, 256))
    assert pose.input_hw == (256, 192)
    with pytest.raises(InputError, match="disagrees"):
        TopDownPose(g.constant_simcc(tmp_path / "s.onnx", sx, sy), input_size=(288, 384))


@pytest.mark.parametrize(("key", "found"), [
    ("yolox_e2e", "YOLOX person detector with NMS"),
    ("yolox_raw", "raw YOLOX detector"),
    ("rtmo", "RTMO one-stage"),
])
def test_wrong_kind_as_pose_model(graphs, key, found):
    with pytest.raises(AssetError) as e:
        TopDownPose(graphs[key])
    msg = str(e.value)
    assert found in msg and "top-down SimCC pose model" in msg and str(graphs[key]) in msg
    assert ("--detector" in msg) == key.startswith("yolox")


def test_wrong_kind_as_detector_and_rtmo(graphs):
    with pytest.raises(AssetError, match=r"top-down SimCC pose model.*--model"):
        YoloxDetector(graphs["const"])
    with pytest.raises(AssetError, match=r"RTMO model .*expected"):
        RTMO(graphs["yolox_e2e"])


def test_unknown_kind(tmp_path):
    path = g.pooled(tmp_path / "pooled.onnx")
    assert OnnxModel(path).kind == "unknown"
    for make in (TopDownPose, YoloxDetector, RTMO, RTMEstimator):
        with pytest.raises(AssetError, match=r"kind posestack does not know.*means \(1, 3\)"):
            make(path)


def test_unloadable_and_missing_files(graphs, tmp_path):
    with pytest.raises(AssetError, match="not a loadable ONNX model"):
        TopDownPose(graphs["text"])
    with pytest.raises(AssetError, match="does not exist"):
        TopDownPose(tmp_path / "nope.onnx")
    with pytest.raises(AssetError, match="does not exist"):
        OnnxModel(tmp_path)  # a folder


def test_bad_user_input(graphs):
    pose = TopDownPose(graphs["const"])
    img = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(InputError, match="uint8 RGB"):
        pose(img.astype(np.float32), None)
    with pytest.raises(InputError, match="uint8 RGB"):
        pose(img[..., 0], None)
    with pytest.raises(InputError, match=r"\(N, 4\)"):
        pose(img, np.zeros((2, 3)))
    with pytest.raises(InputError, match="bad rows \\[1\\]"):
        pose(img, np.array([[0, 0, 10, 10], [5, 5, 5, 5.0]]))
    with pytest.raises(InputError, match="finite"):
        pose(img, np.array([[0, 0, np.nan, 10.0]]))
    with pytest.raises(InputError, match="box_scores"):
        pose(img, np.array([[0, 0, 10, 10.0]]), np.array([0.5, 0.6]))
    with pytest.raises(InputError, match="score_mode"):
        TopDownPose(graphs["const"], score_mode="max")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="padding"):
        TopDownPose(graphs["const"], padding=0)


# --------------------------------------------------------------------------------------
# YOLOX
# --------------------------------------------------------------------------------------


def _raw_rows():
    person = [0.5, 0.25, math.log(4), math.log(6), 0.9, 0.8]  # stride 16, cell (5, 3)
    dup = [0.25, 0.5, math.log(8), math.log(12), 0.8, 0.8]    # stride 8, cell (11, 6)
    other = [0, 0, 0, 0, 0.95, 0.1, 0, 0, 0, 0, 0.95]          # stride 32: class 5, not person
    far = [0, 0, math.log(2), math.log(3), 0.7, 0.9]          # stride 32, cell (8, 2)
    return {1600 + 3 * 20 + 5: person, 6 * 40 + 11: dup, 2000 + 1 * 10 + 2: other,
            2000 + 2 * 10 + 8: far}


def test_yolox_raw_decode_nms_and_rescale(tmp_path):
    det = YoloxDetector(g.yolox_raw(tmp_path / "raw.onnx", _raw_rows()))
    assert det.flavour == "yolox_raw" and det.input_hw == (320, 320)
    img = np.zeros((480, 800, 3), np.uint8)  # r = min(320/480, 320/800) = 0.4
    boxes, scores = det(img)
    # person: centre (88, 52), size (64, 96) in the input → (56, 4, 120, 100) / 0.4
    # dup: centre (90, 52), same size: IoU 0.94 with person → removed
    # far: centre (256, 64), size (64, 96) → (224, 16, 288, 112) / 0.4
    assert np.allclose(boxes, [[140, 10, 300, 250], [560, 40, 720, 280]])
    assert np.allclose(scores, [0.72, 0.63])
    loose = YoloxDetector(g.yolox_raw(tmp_path / "raw.onnx", _raw_rows()), nms_threshold=0.95)
    assert len(loose(img)[0]) == 3


def test_yolox_input_size_and_anchor_count_checked(tmp_path):
    fixed = g.yolox_raw(tmp_path / "raw.onnx", {}, in_hw=(320, 320))
    with pytest.raises(InputError, match="disagrees"):
        YoloxDetector(fixed, input_size=(416, 416))
    dynamic = g.yolox_raw(tmp_path / "dyn.onnx", {}, in_hw=(320, 320), dynamic_input=True)
    with pytest.raises(AssetError, match=r"dynamic input size.*input_size=\(width, height\)"):
        YoloxDetector(dynamic)
    with pytest.raises(AssetError, match="2100 rows but an input of 416x416 has 3549 anchors"):
        YoloxDetector(dynamic, input_size=(416, 416))
    assert YoloxDetector(dynamic, input_size=(320, 320)).input_hw == (320, 320)


def test_yolox_end2end_threshold_and_labels(tmp_path):
    dets = [[10, 10, 100, 200, 0.9], [5, 5, 50, 50, 0.2], [200, 10, 300, 200, 0.95],
            [0, 0, 0, 0, 0.0]]
    img = np.zeros((1280, 960, 3), np.uint8)  # r = min(640/1280, 640/960) = 0.5
    labelled = YoloxDetector(g.yolox_end2end(tmp_path / "l.onnx", dets, [0, 0, 1, 0]))
    boxes, scores = labelled(img)
    assert np.allclose(boxes, [[20, 20, 200, 400]]) and np.allclose(scores, [0.9])
    plain = YoloxDetector(g.yolox_end2end(tmp_path / "p.onnx", dets))
    boxes, scores = plain(img)
    assert np.allclose(boxes, [[400, 20, 600, 400], [20, 20, 200, 400]])
    assert np.allclose(scores, [0.95, 0.9])
    assert YoloxDetector(g.yolox_end2end(tmp_path / "p.onnx", dets),
                         score_threshold=0.99)(img)[0].shape == (0, 4)


def test_yolox_input_is_bgr_raw_and_letterboxed(tmp_path):
    det = YoloxDetector(g.pixel_probe_end2end(tmp_path / "probe.onnx",
                                              [[0, 0, 10, 10], [0, 0, 20, 20]]))
    img = np.zeros((100, 250, 3), np.uint8)
    img[:4, :4] = (10, 20, 200)  # RGB; YOLOX must see B = 200 in channel 0
    boxes, scores = det(img)
    # channel 0 at the top-left = 200 / 255; channel 2 at the bottom-right = padding 114 / 255
    assert np.allclose(scores, [200 / 255, 114 / 255], atol=1e-6)
    assert np.allclose(boxes, np.array([[0, 0, 10, 10], [0, 0, 20, 20]]) / 1.28)


# --------------------------------------------------------------------------------------
# RTMO
# --------------------------------------------------------------------------------------


def test_rtmo_rescale_filter_nms(tmp_path):
    rng = np.random.default_rng(1)
    dets = np.array([[100, 50, 300, 350, 0.9], [105, 50, 305, 350, 0.6],
                     [400, 60, 500, 300, 0.95], [10, 10, 20, 20, 0.3]])
    kps = np.concatenate([rng.uniform(0, 600, (4, 17, 2)), rng.uniform(0.1, 1, (4, 17, 1))],
                         axis=2)
    model = RTMO(g.rtmo(tmp_path / "rtmo.onnx", dets, kps))
    assert (model.skeleton_name, model.input_hw) == ("coco17", (640, 640))
    img = np.zeros((480, 960, 3), np.uint8)  # r = min(640/480, 640/960) = 2/3
    people = model(img)
    assert len(people) == 2  # 0.3 below threshold; the 0.6 box duplicates the 0.9 box
    for p, i in zip(people, [2, 0], strict=True):
        assert p.box == pytest.approx(dets[i, :4] * 1.5, abs=1e-3)
        assert p.xy == pytest.approx(kps[i, :, :2] * 1.5, abs=1e-3)
        assert p.scores == pytest.approx(kps[i, :, 2], abs=1e-6)
        assert p.score == pytest.approx(kps[i, :, 2].mean(), abs=1e-6)
        assert p.box_score == pytest.approx(dets[i, 4], abs=1e-6)
    assert RTMO(g.rtmo(tmp_path / "rtmo.onnx", dets, kps), score_threshold=0.99)(img) == []
    assert RTMO(g.rtmo(tmp_path / "empty.onnx", np.zeros((0, 5)), np.zeros((0, 17, 3))))(img) == []


# --------------------------------------------------------------------------------------
# RTMEstimator
# --------------------------------------------------------------------------------------


def test_estimator_with_yolox(graphs, tmp_path):
    dets = [[10, 20, 110, 220, 0.9], [300, 40, 360, 200, 0.8]]
    yolo = g.yolox_end2end(tmp_path / "det.onnx", dets, [0, 0])
    est = RTMEstimator(graphs["const"], detector=yolo)
    assert est.skeleton_name == "coco17" and isinstance(est.pose, TopDownPose)
    assert est.model_files == {"pose": graphs["const"], "detector": yolo}
    img = np.zeros((640, 640, 3), np.uint8)  # r = 1
    people = est(img, 0.0)
    assert [p.box.tolist() for p in people] == [d[:4] for d in dets]
    assert [p.box_score for p in people] == pytest.approx([0.9, 0.8])
    for p, d in zip(people, dets, strict=True):
        assert p.xy[0] == pytest.approx(expected_xy(d[:4], (100, 300)), abs=1e-3)
    assert len(RTMEstimator(graphs["const"], detector=yolo, max_people=1)(img)) == 1
    nobody = RTMEstimator(graphs["const"], detector=yolo, min_detection_confidence=0.95)
    assert nobody(img) == []
    fallback = RTMEstimator(graphs["const"], detector=yolo, min_detection_confidence=0.95,
                            whole_image_if_no_box=True)
    assert [p.box.tolist() for p in fallback(img)] == [[0, 0, 640, 640]]


def test_estimator_without_detector_and_rtmo(graphs):
    img = np.zeros((300, 400, 3), np.uint8)
    (p,) = RTMEstimator(graphs["const"])(img)
    assert p.box.tolist() == [0, 0, 400, 300] and math.isnan(p.box_score)
    est = RTMEstimator(graphs["rtmo"])
    assert isinstance(est.pose, RTMO) and est.skeleton_name == "coco17"
    assert est.model_files == {"pose": graphs["rtmo"]}
    assert len(est(np.zeros((640, 640, 3), np.uint8))) == 1
    est.reset()


def test_estimator_errors(graphs, tmp_path):
    with pytest.raises(InputError, match="RTMO one-stage model"):
        RTMEstimator(graphs["rtmo"], detector="blazepose")
    with pytest.raises(AssetError, match=r"YOLOX person detector.*pose model.*--detector"):
        RTMEstimator(graphs["yolox_e2e"])
    with pytest.raises(AssetError, match=r"top-down SimCC.*--model"):
        RTMEstimator(graphs["const"], detector=graphs["const"])
    with pytest.raises(AssetError, match="neither 'ssdlite', 'blazepose' nor an existing file"):
        RTMEstimator(graphs["const"], detector="yolox")
    with pytest.raises(AssetError, match="not a loadable ONNX"):
        RTMEstimator(graphs["text"])
    with pytest.raises(InputError, match="max_people"):
        RTMEstimator(graphs["const"], max_people=0)


def test_blazepose_boxes_from_detections():
    from posestack.estimate.blazepose import Detection

    d = Detection(np.zeros(4), np.array([[100.0, 200.0], [100.0, 100.0], [0, 0], [0, 0]]), 0.8)
    boxes, scores = rtm.blazepose_boxes([d])
    assert boxes.tolist() == [[0, 100, 200, 300]] and scores.tolist() == [0.8]
    roi = d.roi()  # square ROI of side 2·100·1.25 about the hips
    assert roi.w / 1.25 == pytest.approx(boxes[0, 2] - boxes[0, 0])
    tiny = Detection(np.zeros(4), np.array([[5.0, 5.0], [5.0, 5.2], [0, 0], [0, 0]]), 0.9)
    assert rtm.blazepose_boxes([tiny])[0].shape == (0, 4)


@pytest.mark.assets
def test_estimator_with_blazepose_detector(graphs, p2s_videos):
    from posestack import assets
    from posestack.estimate.blazepose import PoseDetector

    from .conftest import decode

    frame = decode(p2s_videos / "cam01.mp4", {0})[0]
    est = RTMEstimator(graphs["const"], detector="blazepose", max_people=1)
    assert est.model_files["detector"] == assets.path("blazepose_detector")
    people = est(frame)
    want, _ = rtm.blazepose_boxes(PoseDetector(assets.path("blazepose_detector"))(frame))
    assert len(want) >= 1 and len(people) == 1
    assert people[0].box == pytest.approx(want[0], abs=1e-3)
    assert people[0].xy[0] == pytest.approx(expected_xy(want[0], (100, 300)), abs=1e-2)


@pytest.mark.assets
def test_marker_augmenter_given_as_model_is_named(tmp_path, capsys):
    """OpenCap's marker-augmenter LSTM (one (N, T, 47) input, one (N, T, 105) output)
    given as --model: said to be a sequence model, not "a raw YOLOX detector"."""
    from posestack import assets
    from posestack.cli import main
    from posestack.estimate.rtm import OnnxModel

    lstm = assets.path("marker_augmenter") / "LSTM" / "v0.3_lower" / "model.onnx"
    assert OnnxModel(lstm).kind == "sequence"
    image = tmp_path / "x.png"
    import cv2

    cv2.imwrite(str(image), np.zeros((64, 64, 3), np.uint8))
    assert main(["run", str(image), "-o", str(tmp_path / "o"), "--estimator", "rtmw",
                 "--model", str(lstm), "-q"]) == 2
    err = capsys.readouterr().err
    assert "sequence model" in err and "marker-augmenter" in err and "YOLOX detector" not in err
    assert "--augment" in err
