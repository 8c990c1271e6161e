"""posestack's BlazePose against MediaPipe's own Pose solution, and its parts.

The reference (tests/data/mediapipe_reference.json) was made by
benchmarks/make_mediapipe_reference.py with mediapipe==0.10.21's legacy Pose
solution (model_complexity=1) on frames of the Pose2Sim sample; see `make reference`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from posestack.errors import AssetError, InputError
from posestack.estimate import blazepose as bpm
from posestack.estimate.blazepose import BlazePose, Roi

from .conftest import decode

REFERENCE = Path(__file__).parent / "data" / "mediapipe_reference.json"


def _agreement(est, section: str, videos: Path, times_per_s: float | None = None):
    ref = json.loads(REFERENCE.read_text())[section]["frames"]
    px, world, n_frames = [], [], 0
    for video in sorted({f["video"] for f in ref}):
        want = {f["frame"]: f for f in ref if f["video"] == video}
        if times_per_s is None:
            frames = decode(videos / video, set(want))
        else:  # video mode: every frame, in order
            frames = decode(videos / video)
        est.reset()
        for i in sorted(frames):
            people = est(frames[i], None if times_per_s is None else i / times_per_s)
            if i not in want:
                continue
            r = want[i]
            assert r["detected"], f"reference has no pose in {video}:{i}"
            assert len(people) == 1, f"{video}:{i}: found {len(people)} people"
            p = people[0]
            vis = np.asarray(r["visibility"]) > 0.5
            lm = np.asarray(r["landmarks"])[:, :2]
            px.append(np.linalg.norm(p.xy - lm, axis=1)[vis])
            world.append(np.linalg.norm(p.world - np.asarray(r["world"]), axis=1))
            n_frames += 1
    return np.concatenate(px), np.concatenate(world), n_frames


@pytest.mark.assets
def test_static_landmarks_agree_with_mediapipe(p2s_videos, blazepose_static):
    px, world, n = _agreement(blazepose_static, "static", p2s_videos)
    assert n == 30  # cam01, cam03, cam04 x 10 frames
    assert np.median(px) <= 2.0, np.median(px)
    assert np.percentile(px, 95) <= 6.0, np.percentile(px, 95)
    assert np.median(world) <= 0.02, np.median(world)


@pytest.mark.assets
def test_static_landmarks_with_the_general_detector_agree_with_mediapipe(p2s_videos):
    # The default detector (SSDLite boxes, BlazePose's ROI found inside each box) finds
    # the same main person as MediaPipe on every reference frame (cam01 also shows a
    # second person in the background), with landmarks as close as MediaPipe's own ROI.
    est = BlazePose(static=True, max_people=1, num_threads=1, person_detector="auto")
    px, world, n = _agreement(est, "static", p2s_videos)
    assert n == 30
    assert np.median(px) <= 3.0, np.median(px)
    assert np.percentile(px, 95) <= 10.0, np.percentile(px, 95)
    assert np.median(world) <= 0.03, np.median(world)


@pytest.mark.assets
def test_video_mode_agrees_with_mediapipe(p2s_videos):
    # MediaPipe's Python solution stamps frames at 30 fps whatever the video's rate.
    est = BlazePose(max_people=1, num_threads=1, person_detector="blazepose")
    px, world, n = _agreement(est, "video_mode", p2s_videos, times_per_s=30.0)
    assert n == 10
    assert np.median(px) <= 2.0
    assert np.percentile(px, 95) <= 8.0
    assert np.median(world) <= 0.02


@pytest.mark.assets
def test_video_mode_runs_detector_only_when_needed(cam01_frames):
    est = BlazePose(max_people=1, num_threads=1, person_detector="blazepose")
    calls = []
    real = est.detector

    class Counting:
        def __call__(self, image):
            calls.append(1)
            return real(image)

    est.detector = Counting()
    found = [len(est(f, i / 60)) for i, f in enumerate(cam01_frames)]
    assert found == [1] * len(cam01_frames)
    assert len(calls) == 1  # followed from frame to frame, never lost


@pytest.mark.assets
def test_every_person_gets_landmarks(sports2d_video):
    # The jumper on the box is backlit: the detector scores them 0.4-0.6 at the start and
    # misses them later, so they are found early and then followed from frame to frame.
    frames = decode(sports2d_video, set(range(171)))
    est = BlazePose(max_people=4, num_threads=2)
    counts = []
    for i in sorted(frames):
        people = est(frames[i], i / 30)
        if i < 60:
            continue
        counts.append(len(people))
        if len(people) == 2:
            a, b = people
            assert a.slot != b.slot
            # two different people, well apart in the image
            assert np.linalg.norm(np.nanmean(a.xy, 0) - np.nanmean(b.xy, 0)) > 100
    # The walker and the jumper are both in view over frames 60-170.
    assert np.mean(np.asarray(counts) == 2) > 0.9, counts


def test_nobody_in_a_blank_image(blazepose_static):
    assert blazepose_static(np.full((480, 640, 3), 127, np.uint8)) == []


def test_rejects_non_rgb_input(blazepose_static):
    with pytest.raises(InputError, match=r"uint8 RGB array of shape \(H, W, 3\)"):
        blazepose_static(np.zeros((480, 640), np.uint8))
    with pytest.raises(InputError, match="uint8"):
        blazepose_static(np.zeros((480, 640, 3), np.float32))


def test_model_of_the_wrong_kind(tmp_path):
    from posestack import assets

    det = assets.path("blazepose_detector")
    lm = assets.path("blazepose_landmark_full")
    with pytest.raises(AssetError, match="not the BlazePose detector"):
        BlazePose(detector_path=lm, landmark_path=lm)
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"this is not a flatbuffer" * 100)
    with pytest.raises(AssetError, match="not a loadable TFLite model"):
        BlazePose(detector_path=det, landmark_path=junk)


@pytest.mark.assets
def test_landmark_model_without_its_segmentation_is_bit_identical():
    from ai_edge_litert.interpreter import Interpreter

    from posestack import assets
    from posestack.estimate._tflite import prune_outputs

    data = assets.path("blazepose_landmark_full").read_bytes()
    pruned = prune_outputs(data, lambda _, shape: shape != (1, 256, 256, 1))
    full = Interpreter(model_content=data, num_threads=1)
    lean = Interpreter(model_content=pruned, num_threads=1)
    outs = {}
    for name, it in (("full", full), ("lean", lean)):
        it.allocate_tensors()
        x = np.random.default_rng(3).random((1, 256, 256, 3)).astype(np.float32)
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        outs[name] = {d["name"]: it.get_tensor(d["index"]).copy()
                      for d in it.get_output_details()}
    assert sorted(outs["full"]) == ["Identity", "Identity_1", "Identity_2", "Identity_3",
                                    "Identity_4"]
    assert sorted(outs["lean"]) == ["Identity", "Identity_1", "Identity_3", "Identity_4"]
    for k, v in outs["lean"].items():
        assert np.array_equal(v, outs["full"][k]), k
    assert len(lean._get_ops_details()) < len(full._get_ops_details()) - 40
    # what BlazePose loads is the lean model: no 256x256 mask among its outputs
    shapes = [tuple(d["shape"]) for d in
              bpm.PoseLandmarker(assets.path("blazepose_landmark_full")).interp
              .get_output_details()]
    assert (1, 256, 256, 1) not in shapes and len(shapes) == 4


@pytest.mark.assets
def test_prune_outputs_keeps_the_model_when_nothing_or_everything_goes():
    from posestack import assets
    from posestack.estimate._tflite import prune_outputs

    data = assets.path("blazepose_landmark_full").read_bytes()
    assert prune_outputs(data, lambda _, __: True) is data
    assert prune_outputs(data, lambda _, __: False) is data
    with pytest.raises(ValueError, match="not a TFLite model"):
        prune_outputs(b"this is not a flatbuffer" * 10, lambda _, __: True)


def test_ssd_anchors_match_mediapipe_layout():
    a = bpm.ssd_anchors()
    assert a.shape == (2254, 2)
    # stride 8: 28x28 cells, 2 anchors each, row-major, x first
    assert np.allclose(a[0], [0.5 / 28, 0.5 / 28]) and np.allclose(a[1], a[0])
    assert np.allclose(a[2], [1.5 / 28, 0.5 / 28])
    assert np.allclose(a[2 * 28], [0.5 / 28, 1.5 / 28])
    # stride 16 starts after 28*28*2; stride 32 (three layers merged) has 6 per cell
    assert np.allclose(a[1568], [0.5 / 14, 0.5 / 14])
    last = a[1568 + 14 * 14 * 2:]
    assert len(last) == 7 * 7 * 6 and np.allclose(last[:6], [0.5 / 7, 0.5 / 7])


def test_weighted_nms_by_hand():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    kps = np.array([[[0, 0]], [[2, 2]], [[55, 55]]], float)
    scores = np.array([0.9, 0.6, 0.8])
    b, k, s = bpm.weighted_nms(boxes, kps, scores)
    assert np.allclose(s, [0.9, 0.8])  # the best score of each cluster
    w = np.array([0.9, 0.6]) / 1.5
    assert np.allclose(b[0], w @ boxes[:2])
    assert np.allclose(k[0], [[1.2 / 1.5, 1.2 / 1.5]])
    assert np.allclose(b[1], boxes[2])


def test_roi_rotation_and_size():
    # scale point straight above the centre: no rotation
    r = bpm.roi_from_points(np.array([100.0, 200.0]), np.array([100.0, 150.0]))
    assert r.rot == pytest.approx(0.0)
    assert r.w == pytest.approx(2 * 50 * 1.25) and r.h == r.w
    # scale point to the right: the person lies on their side, rotated by +90°
    r = bpm.roi_from_points(np.array([100.0, 200.0]), np.array([150.0, 200.0]))
    assert r.rot == pytest.approx(math.pi / 2)
    assert bpm.normalize_radians(3 * math.pi) == pytest.approx(-math.pi)


def test_crop_then_project_round_trip():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    roi = Roi(210.0, 140.0, 120.0, 120.0, 0.6)
    tensor, pad, _ = bpm.crop_to_tensor(image, roi, 64, True, (0.0, 1.0), False)
    assert tensor.shape == (1, 64, 64, 3) and pad == (0.0, 0.0, 0.0, 0.0)
    # the crop pixel (u, v) shows the image at project_from_roi((u, v) / 64)
    uv = np.array([[10, 20], [32, 32], [50, 7]])
    xy = bpm.project_from_roi(uv / 64.0, roi)
    for (u, v), (x, y) in zip(uv, xy, strict=True):
        expect = image[round(y), round(x)] / 255.0
        assert np.abs(tensor[0, v, u] - expect).max() < 0.25  # bilinear vs nearest pixel
    # letterbox of a landscape image onto a square tensor
    _, pad, padded = bpm.crop_to_tensor(image, Roi(200, 150, 400, 300, 0), 224, True,
                                        (-1.0, 1.0), True)
    assert pad == pytest.approx((0.0, 0.125, 0.0, 0.125)) and padded.h == 400


def _refine_naive(xy, heat, kernel=7, min_conf=0.5):
    """Straight transcription of the loop, as a reference for the vectorised version."""
    hh, hw, n = heat.shape
    out = xy.copy()
    off = (kernel - 1) // 2
    for i in range(n):
        c, r = int(xy[i, 0] * hw), int(xy[i, 1] * hh)
        if c < 0 or c >= hw or r < 0 or c >= hh:
            continue
        total = wc = wr = mx = 0.0
        for row in range(max(0, r - off), min(hh, r + off + 1)):
            for col in range(max(0, c - off), min(hw, c + off + 1)):
                s = 1 / (1 + math.exp(-heat[row, col, i]))
                total += s
                mx = max(mx, s)
                wc += col * s
                wr += row * s
        if mx >= min_conf and total > 0:
            out[i] = (wc / hw / total, wr / hh / total)
    return out


def test_heatmap_refinement_matches_naive_loop():
    rng = np.random.default_rng(1)
    heat = rng.normal(-2, 3, (64, 64, 39)).astype(np.float32)
    xy = rng.uniform(-0.1, 1.1, (39, 2))
    xy[:4] = [[0.0, 0.0], [0.999, 0.999], [0.5, 1.02], [0.5, 1.06]]  # edges, rows past the end
    assert np.allclose(bpm.refine_from_heatmap(xy, heat), _refine_naive(xy, heat))
    # a single confident blob pulls the landmark to its centre
    blob = np.full((64, 64, 1), -10.0, np.float32)
    blob[40, 20, 0] = 10.0
    out = bpm.refine_from_heatmap(np.array([[21.5 / 64, 41.5 / 64]]), blob)
    assert np.allclose(out, [[20 / 64, 40 / 64]], atol=1e-3)


@pytest.mark.assets
def test_empty_stretch_does_not_run_the_full_search_every_frame(sports2d_video):
    # Nobody in view for 40 frames (the subject out of the picture), then the Sports2D
    # frames, whose people BlazePose's own whole-frame detector misses at first (they need
    # the person detector and the tiles). MediaPipe runs its cheap detector on every empty
    # frame; the person detector and tiles (about ten times its cost) run every few.
    frames = decode(sports2d_video, set(range(12)))
    est = BlazePose(max_people=1, num_threads=1)
    calls = []
    real = est.boxes

    class Counting:
        detector = real.detector

        def __call__(self, image):
            calls.append(1)
            return real(image)

    est.boxes = Counting()
    blank = np.full_like(frames[0], 90)
    for i in range(40):
        assert est(blank, i / 30) == []
    assert 40 / bpm.EMPTY_SEARCH_INTERVAL <= len(calls) <= 40 / bpm.EMPTY_SEARCH_INTERVAL + 1
    found = [len(est(frames[i], (40 + i) / 30)) for i in sorted(frames)]
    # found within one search interval of coming into view, then followed
    first = found.index(1)
    assert first < bpm.EMPTY_SEARCH_INTERVAL and all(found[first:]), found
