"""Holistic (body + hands + face) against MediaPipe's own legacy Holistic solution.

Reference: tests/data/holistic_reference.json, made by
benchmarks/make_holistic_reference.py with mediapipe==0.10.21 (model_complexity=1).
The Pose2Sim videos have anonymised faces, so the face is checked on the
scikit-image astronaut portrait (asset ``astronaut_image``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from posestack import assets
from posestack.estimate import holistic as hol
from posestack.estimate.blazepose import Roi
from posestack.estimate.holistic import Holistic
from posestack.io.media import FrameReader, probe
from posestack.poses import Poses

from .conftest import decode

REFERENCE = Path(__file__).parent / "data" / "holistic_reference.json"
pytestmark = pytest.mark.assets


def _hand_agreement(section: str, videos: Path, static: bool):
    ref = json.loads(REFERENCE.read_text())[section]["frames"]
    est = Holistic(static=static, max_people=1, num_threads=1)
    errs, both, either = [], 0, 0
    for video in sorted({f["video"] for f in ref}):
        want = {int(f["frame"]): f for f in ref if f["video"] == video}
        frames = decode(videos / video, set(want) if static else None)
        est.reset()
        for i in sorted(frames):
            people = est(frames[i], i / 30)  # MediaPipe's Python API stamps 30 fps
            if i not in want:
                continue
            assert len(people) == 1
            for side in ("left_hand", "right_hand"):
                mine, theirs = getattr(people[0], side), want[i][side]
                either += (mine is not None) or (theirs is not None)
                if mine is None or theirs is None:
                    continue
                both += 1
                errs.append(np.linalg.norm(mine.xy - np.asarray(theirs)[:, :2], axis=1))
    return np.concatenate(errs), both, either


def test_static_hands_agree_with_mediapipe_holistic(p2s_videos):
    px, both, either = _hand_agreement("static", p2s_videos, static=True)
    assert both == either == 26  # 13 frames, both hands found by both
    assert np.median(px) <= 3.0, np.median(px)
    assert np.percentile(px, 95) <= 10.0


def test_video_mode_hands_agree_with_mediapipe_holistic(p2s_videos):
    px, both, either = _hand_agreement("video_mode", p2s_videos, static=False)
    assert both >= either - 1  # found in the same frames but for at most one hand
    assert np.median(px) <= 3.0
    assert np.percentile(px, 95) <= 10.0


def test_face_agrees_with_mediapipe_holistic():
    ref = json.loads(REFERENCE.read_text())["image"]["frames"][0]
    image = next(iter(FrameReader(probe(assets.path("astronaut_image")))))[2]
    [p] = Holistic(static=True)(image)
    assert p.face is not None and p.face.presence > 0.5
    px = np.linalg.norm(p.face.xy - np.asarray(ref["face"])[:, :2], axis=1)
    assert np.median(px) <= 3.0 and px.max() <= 6.0
    # nobody's hands are in view: no hand is invented
    assert p.left_hand is None and p.right_hand is None
    assert np.isnan(p.xy[33:75]).all() and (p.scores[33:75] == 0).all()


def test_holistic_output_converts_to_wholebody(cam01_frames):
    est = Holistic(static=True)
    [p] = est(cam01_frames[50])
    poses = Poses("holistic543", p.xy[None, None], p.scores[None, None], np.zeros(1),
                  "image:cam01")
    wb = poses.to_skeleton("coco_wholebody133")
    sk = wb.skeleton
    c = wb.coords[0, 0]
    # hands land in the right slots: the wholebody wrist root equals the hand model's wrist
    np.testing.assert_allclose(c[sk.index("left_hand_root")], p.left_hand.xy[0])
    np.testing.assert_allclose(c[sk.index("right_thumb4")], p.right_hand.xy[4])
    # the hand's wrist is near the body's wrist (the person's own left)
    assert np.linalg.norm(p.left_hand.xy[0] - p.body.xy[15]) < 40
    assert np.linalg.norm(p.right_hand.xy[0] - p.body.xy[16]) < 40
    # feet: big toe from foot_index, small toe unavailable
    assert np.allclose(c[sk.index("left_big_toe")], p.body.xy[31])
    assert np.isnan(c[sk.index("left_small_toe")]).all()
    # the face is anonymised in this video: no face points, score 0
    assert p.face is None and np.isnan(c[23:91]).all() and (wb.scores[0, 0, 23:91] == 0).all()


def test_keep_tracking_rules():
    req = hol.HAND_TRACKING
    recrop = Roi(100, 100, 50, 50, 0.0)
    pts = np.array([[95.0, 95.0], [105.0, 110.0]])
    assert hol.keep_tracking(Roi(102, 98, 55, 55, 0.2), pts, recrop, req)
    assert not hol.keep_tracking(Roi(112, 98, 55, 55, 0.2), pts, recrop, req)  # moved > 0.2 w
    assert not hol.keep_tracking(Roi(100, 100, 80, 80, 0.0), pts, recrop, req)  # grew > 0.4
    assert not hol.keep_tracking(Roi(100, 100, 50, 50, math.radians(45)), pts, recrop, req)
    out = np.array([[95.0, 95.0], [123.0, 100.0]])  # outside the rect shrunk by 10 %
    assert hol.keep_tracking(Roi(100, 100, 50, 50, 0.0), out - [2, 0], recrop, req)
    assert not hol.keep_tracking(Roi(100, 100, 50, 50, 0.0), out, recrop, req)


def test_hand_roi_from_upright_hand_landmarks():
    # an upright hand: wrist at the bottom, fingers straight up
    xy = np.zeros((21, 2))
    xy[0] = (100, 200)
    for f, x in enumerate((70, 85, 100, 115, 130)):
        for j in range(4):
            xy[1 + 4 * f + j] = (x, 170 - 20 * j)
    roi = hol.hand_roi_from_landmarks(xy)
    assert roi.rot == pytest.approx(0.0, abs=1e-6)
    assert roi.w == roi.h
    # the 12-point subset (wrist, thumb 1-3, other fingers' MCP and PIP) spans 60 px wide,
    # 70 px high (wrist y 200 to thumb IP y 130); square on 70, x2.0
    assert roi.w == pytest.approx(140.0)
    # centre shifted up by 0.1 of the (pre-square) height
    assert roi.yc == pytest.approx((200 + 130) / 2 - 0.1 * 70)
    assert roi.xc == pytest.approx(100.0)


def test_stream_overlaps_frames_with_identical_results(cam01_frames):
    frames = [(f, i / 60) for i, f in enumerate(cam01_frames[35:60])]
    est = Holistic(max_people=1, num_threads=2)
    one_by_one = [est(f, t) for f, t in frames]
    est.reset()
    streamed = list(est.stream(iter(frames)))
    assert len(streamed) == len(one_by_one)
    found = 0
    for a, b in zip(one_by_one, streamed, strict=True):
        assert len(a) == len(b) == 1
        np.testing.assert_array_equal(a[0].xy, b[0].xy)
        found += a[0].left_hand is not None
    assert found > 5  # hand tracking state carried between frames in both
