"""The SSDLite person detector: conversion, anchors, decoding, tiling, bad model files."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from posestack.detect import SSDLitePersonDetector, TiledPersonDetector, nms, square_tiles
from posestack.detect.ssdlite import decode_boxes, graphdef_to_onnx, ssd_anchors
from posestack.errors import AssetError, InputError
from posestack.track import iou

from .conftest import decode


def test_anchors_layout():
    a = ssd_anchors()
    assert a.shape == (1917, 4)  # 19²·3 + (10² + 5² + 3² + 2² + 1²)·6
    # first cell of the 19x19 map: three anchors, (0.1, 1), (0.2, 2), (0.2, 1/2)
    np.testing.assert_allclose(a[:3, :2], [[0.5 / 19, 0.5 / 19]] * 3, atol=1e-6)
    np.testing.assert_allclose(a[0, 2:], [0.1, 0.1], atol=1e-6)
    np.testing.assert_allclose(a[1, 2:], [0.2 / np.sqrt(2), 0.2 * np.sqrt(2)], atol=1e-6)
    # the last anchor: the 1x1 map, interpolated scale sqrt(0.95 * 1)
    np.testing.assert_allclose(a[-1], [0.5, 0.5, np.sqrt(0.95), np.sqrt(0.95)], atol=1e-6)


def test_decode_zero_offsets_is_the_anchor():
    anchors = np.array([[0.5, 0.4, 0.2, 0.1]], np.float32)
    box = decode_boxes(np.zeros((1, 4)), anchors)
    np.testing.assert_allclose(box, [[0.35, 0.4, 0.45, 0.6]], atol=1e-6)
    # ty = 10 moves the centre down by one anchor height
    box = decode_boxes(np.array([[10.0, 0, 0, 0]]), anchors)
    np.testing.assert_allclose(box[0, [1, 3]], [0.6, 0.8], atol=1e-6)


def test_nms_and_iou():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], float)
    assert iou(boxes[:1], boxes).round(3).tolist() == [[1.0, 0.681, 0.0]]
    assert nms(boxes, np.array([0.9, 0.8, 0.7]), 0.6).tolist() == [0, 2]
    assert nms(boxes, np.array([0.9, 0.8, 0.7]), 0.7).tolist() == [0, 1, 2]


def test_square_tiles_cover_the_long_side():
    for w, h in ((1768, 994), (1080, 1920), (4000, 500)):
        tiles = square_tiles(w, h)
        side = min(w, h)
        starts = [x if w > h else y for x, y, _ in tiles]
        assert starts[0] == 0 and starts[-1] + side == max(w, h)
        assert all(b - a <= 0.75 * side + 1 for a, b in itertools.pairwise(starts))


@pytest.mark.assets
def test_finds_the_people_of_the_sports2d_sample(sports2d_video):
    # Frames 60-160: the walker and the backlit jumper on the box are both in view.
    # SSDLite alone (the pedestrian model squashes the wide frame to 300x300) often
    # misses the small jumper; its square tiles find more of them. (BlazePose's own
    # detector and the tracking find the rest: tests/test_crowd.py.)
    frames = decode(sports2d_video, set(range(60, 170, 10)))
    tiled, whole = TiledPersonDetector(), SSDLitePersonDetector()
    n_tiled = [len(tiled(frames[i])[0]) for i in sorted(frames)]
    n_whole = [len(whole(frames[i])[0]) for i in sorted(frames)]
    assert min(n_tiled) >= 1 and max(n_tiled) <= 2  # no phantom people
    assert sum(n_tiled) >= sum(n_whole) + 4, (n_tiled, n_whole)
    boxes, _ = tiled(frames[80])
    assert len(boxes) == 2 and (boxes[:, 3] - boxes[:, 1] > 250).all()  # two whole people


@pytest.mark.assets
def test_nobody_in_a_blank_image():
    boxes, scores = SSDLitePersonDetector()(np.full((300, 400, 3), 120, np.uint8))
    assert boxes.shape == (0, 4) and scores.shape == (0,)


@pytest.mark.assets
def test_wrong_model_files(tmp_path):
    from posestack import assets

    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\x0a\x05hello not a graph")
    with pytest.raises(AssetError, match=r"not a TensorFlow frozen graph|not an SSD detector"):
        SSDLitePersonDetector(junk)
    with pytest.raises(AssetError, match="does not exist"):
        SSDLitePersonDetector(tmp_path / "missing.pb")
    # a real TFLite file is not a TF graph
    with pytest.raises(AssetError):
        SSDLitePersonDetector(assets.path("blazepose_detector"))
    with pytest.raises(InputError, match="min_score"):
        SSDLitePersonDetector(min_score=2.0)
    with pytest.raises(InputError, match="uint8 RGB"):
        SSDLitePersonDetector()(np.zeros((10, 10), np.uint8))
    # the conversion is deterministic (the cached ONNX is the same bytes)
    pb = assets.path("ssdlite_person_detector")
    assert graphdef_to_onnx(pb) == graphdef_to_onnx(pb)
