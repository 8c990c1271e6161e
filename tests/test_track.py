"""Tests of posestack.track: helpers, synthetic crossings, the Sports2D sample, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posestack.errors import InputError
from posestack.poses import Poses
from posestack.skeletons import get_skeleton
from posestack.track import (
    DEFAULT_SIGMA,
    Tracker,
    TrackingParameters,
    boxes_from_keypoints,
    iou,
    oks,
    oks_matrix,
    oks_sigmas,
    track,
)

FPS = 30.0
COCO = get_skeleton("coco17")
NOSE = COCO.index("nose")

# A standing person in COCO-17 order, x right / y down, in units of body height
# (feet at y = 0, head at y = -1), facing the camera.
_TEMPLATE = np.array([
    [0.00, -0.93],                                  # nose
    [0.03, -0.95], [-0.03, -0.95],                  # eyes
    [0.07, -0.93], [-0.07, -0.93],                  # ears
    [0.13, -0.80], [-0.13, -0.80],                  # shoulders
    [0.17, -0.62], [-0.17, -0.62],                  # elbows
    [0.19, -0.45], [-0.19, -0.45],                  # wrists
    [0.09, -0.50], [-0.09, -0.50],                  # hips
    [0.10, -0.27], [-0.10, -0.27],                  # knees
    [0.11, -0.03], [-0.11, -0.03],                  # ankles
])


def _person(x: float, y_feet: float, height: float, phase: float) -> np.ndarray:
    """``(17, 2)`` pixels: the template scaled and placed, legs and arms swinging."""
    xy = _TEMPLATE * height
    swing = 0.08 * height * math.sin(phase)
    xy[[13, 15], 0] += swing                        # left leg forward
    xy[[14, 16], 0] -= swing
    xy[[7, 9], 0] -= 0.5 * swing                    # arms opposite to legs
    xy[[8, 10], 0] += 0.5 * swing
    return xy + np.array([x, y_feet])


def _crossing(
    seed: int,
    *,
    n_frames: int = 120,
    hide_b: range = range(0),
    speed: float = 4.0,
    pad: int = 1,
    twins: bool = False,
) -> tuple[Poses, np.ndarray, np.ndarray]:
    """Two people walking towards each other and crossing at frame 60.

    A starts on the left (x = 100) walking right, B on the right (x = 580)
    walking left; B is 10 % taller and a little nearer the camera, so A is
    partly hidden behind B for frames 57-62 (legs and far arm missing, low
    scores). With ``twins`` B has A's height and depth: only motion tells them
    apart. B is absent in the frames of ``hide_b``. Detections are shuffled
    in every frame and padded with ``pad`` empty rows.

    Returns:
        the Poses, and A's and B's true mid-line x per frame ``(T,)``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)
    xa = 100.0 + speed * t
    xb = 580.0 - speed * t
    frames = []
    for i in t:
        a = _person(xa[i], 400.0, 170.0, 0.35 * i) + rng.normal(0, 1.0, (17, 2))
        b = _person(xb[i], 400.0 if twins else 410.0, 170.0 if twins else 187.0,
                    0.35 * i + 1.0) + rng.normal(0, 1.0, (17, 2))
        sa = np.full(17, 0.9)
        sb = np.full(17, 0.8)
        if 57 <= i <= 62:                           # A occluded by B
            hidden = [7, 9, 11, 13, 14, 15, 16]
            a[hidden] = np.nan
            sa[hidden] = 0.0
            sa[sa > 0] = 0.3
        people = [(a, sa)] + ([] if i in hide_b else [(b, sb)])
        people += [(np.full((17, 2), np.nan), np.zeros(17))] * pad
        order = rng.permutation(len(people))
        frames.append((np.stack([people[j][0] for j in order]),
                       np.stack([people[j][1] for j in order])))
    poses = Poses.from_frames(COCO, frames, t / FPS, "image:cam0")
    return poses, xa, xb


def _nose_x(poses: Poses) -> np.ndarray:
    """``(T, P)`` nose x (NaN where absent); the nose is on the body's mid-line."""
    return poses.coords[:, :, NOSE, 0]


def _present(poses: Poses) -> np.ndarray:
    """``(T, P)`` bool: any keypoint with score > 0."""
    return (poses.scores > 0).any(axis=-1)


def _assert_follows(poses: Poses, p: int, x_true: np.ndarray, frames: np.ndarray) -> None:
    """Identity ``p`` is present in ``frames`` and its nose stays within 6 px of ``x_true``."""
    hx = _nose_x(poses)[frames, p]
    assert np.isfinite(hx).all(), f"identity {p} missing in some of frames {frames}"
    err = np.abs(hx - x_true[frames])
    assert err.max() < 6.0, f"identity {p} strays {err.max():.1f} px from its person"


# --------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------


def test_oks_hand_computed():
    sig = np.array([0.1, 0.2])
    a = np.array([[0.0, 0.0], [10.0, 0.0]])
    b = np.array([[3.0, 4.0], [10.0, 0.0]])               # d = 5 for keypoint 0
    area = 400.0
    # e = d² / (2·s²·(2σ)²) = 25 / (2·400·0.04) = 0.78125
    assert oks(a, b, area, sig) == pytest.approx((math.exp(-0.78125) + 1.0) / 2)
    assert oks(a, a, area, sig) == pytest.approx(1.0)
    # only keypoints visible in both count
    assert oks(a, b, area, sig, b_visible=np.array([False, True])) == pytest.approx(1.0)
    b_nan = b.copy()
    b_nan[1] = np.nan
    assert oks(a, b_nan, area, sig) == pytest.approx(math.exp(-0.78125))
    assert oks(a, np.full((2, 2), np.nan), area, sig) == 0.0
    # larger objects tolerate larger errors
    assert oks(a, b, 4 * area, sig) > oks(a, b, area, sig)


def test_oks_matrix_matches_pairwise():
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 100, (3, 17, 2))
    b = rng.uniform(0, 100, (4, 17, 2))
    b[1, :5] = np.nan
    areas = np.array([900.0, 2500.0, 100.0])
    sig = oks_sigmas("coco17")
    m = oks_matrix(a, b, areas, sig)
    assert m.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert m[i, j] == pytest.approx(oks(a[i], b[j], areas[i], sig))
    assert oks_matrix(a[:0], b, areas[:0], sig).shape == (0, 4)
    with pytest.raises(InputError, match=r"\(N, K, 2\) and \(M, K, 2\)"):
        oks_matrix(a, b[:, :5], areas, sig)
    with pytest.raises(InputError, match="sigmas must have shape"):
        oks_matrix(a, b, areas, sig[:3])
    with pytest.raises(InputError, match="areas must have shape"):
        oks_matrix(a, b, areas[:2], sig)


def test_oks_sigmas():
    coco = get_skeleton("coco17")
    assert np.allclose(oks_sigmas(coco), coco.sigmas)
    blaze = get_skeleton("blazepose33")
    s = oks_sigmas(blaze)
    assert s.shape == (33,)
    assert s[blaze.index("left_hip")] == pytest.approx(coco.sigmas[coco.index("left_hip")])
    assert s[blaze.index("nose")] == pytest.approx(0.026)
    assert s[blaze.index("left_pinky")] == DEFAULT_SIGMA          # no COCO counterpart
    assert s[blaze.index("left_heel")] == pytest.approx(0.066)    # COCO-WholeBody heel


def test_boxes_from_keypoints():
    xy = np.array([[[1.0, 2.0], [5.0, -1.0], [3.0, 9.0]],
                   [[0.0, 0.0], [np.nan, np.nan], [np.nan, np.nan]]])
    boxes = boxes_from_keypoints(xy)
    assert boxes.shape == (2, 4)
    assert boxes[0].tolist() == [1.0, -1.0, 5.0, 9.0]
    assert np.isnan(boxes[1]).all()                                # one point is too few
    assert boxes_from_keypoints(xy, min_keypoints=1)[1].tolist() == [0.0, 0.0, 0.0, 0.0]
    scores = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert boxes_from_keypoints(xy, scores)[0].tolist() == [1.0, -1.0, 5.0, 2.0]
    assert boxes_from_keypoints(np.zeros((0, 17, 2))).shape == (0, 4)
    with pytest.raises(InputError, match=r"\(\.\.\., K, 2\)"):
        boxes_from_keypoints(np.zeros((4, 3)))
    with pytest.raises(InputError, match="scores must have shape"):
        boxes_from_keypoints(xy, scores[:, :2])


def test_iou():
    a = np.array([[0.0, 0.0, 2.0, 2.0], [10.0, 10.0, 11.0, 11.0]])
    b = np.array([[1.0, 0.0, 3.0, 2.0], [0.0, 0.0, 2.0, 2.0], [np.nan] * 4,
                  [5.0, 5.0, 5.0, 5.0]])
    m = iou(a, b)
    assert m.shape == (2, 4)
    assert m[0, 0] == pytest.approx(2.0 / 6.0)
    assert m[0, 1] == pytest.approx(1.0)
    assert m[1, 0] == 0.0 and m[0, 2] == 0.0 and m[0, 3] == 0.0
    assert np.allclose(iou(b[:2], a), m[:, :2].T)
    assert iou(a[:0], b).shape == (0, 4)
    with pytest.raises(InputError, match=r"\(N, 4\) and \(M, 4\)"):
        iou(a[:, :3], b)


# --------------------------------------------------------------------------------------
# Synthetic scenes
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_crossing_keeps_identities(seed):
    poses, xa, xb = _crossing(seed)
    out = track(poses)
    assert out.tracked and out.n_people == 2
    assert out.coords.shape == (120, 2, 17, 2)
    every = np.arange(120)
    _assert_follows(out, 0, xa, every)      # identity 0 started on the left
    _assert_follows(out, 1, xb, every)
    # the occluded frames keep their missing keypoints missing
    assert np.isnan(out.coords[58, 0, 13]).all() and out.scores[58, 0, 13] == 0
    meta = out.meta["tracking"]
    assert meta["max_age"] == 1.0 and meta["predict"] is True and meta["dropped"] == 0


@pytest.mark.parametrize("seed", range(6))
def test_crossing_twins_needs_prediction(seed):
    """Two people of the same size and depth crossing fast: only their motion tells
    them apart, and constant-velocity prediction keeps them apart."""
    poses, xa, xb = _crossing(seed, speed=8.0, twins=True)
    out = track(poses)
    assert out.n_people == 2
    _assert_follows(out, 0, xa, np.arange(120))
    _assert_follows(out, 1, xb, np.arange(120))


def test_crossing_twins_swap_without_prediction():
    """The twins scene is hard: matching on the last pose alone swaps them in most runs."""
    swapped = 0
    for seed in range(6):
        poses, xa, _ = _crossing(seed, speed=8.0, twins=True)
        out = track(poses, predict=False)
        swapped += bool(np.nanmax(np.abs(_nose_x(out)[:, 0] - xa)) > 50.0)
    assert swapped >= 3


def test_crossing_without_prediction():
    """The crossing is also solved when only the last pose is used (no prediction)."""
    poses, xa, xb = _crossing(0, speed=3.0)
    out = track(poses, predict=False)
    assert out.n_people == 2
    _assert_follows(out, 0, xa, np.arange(120))
    _assert_follows(out, 1, xb, np.arange(120))


@pytest.mark.parametrize("seed", range(3))
def test_short_disappearance_keeps_identity(seed):
    # B gone for 10 frames (1/3 s < max_age) right after the crossing, then back.
    poses, xa, xb = _crossing(seed, hide_b=range(64, 74))
    out = track(poses)
    assert out.n_people == 2
    present_b = np.setdiff1d(np.arange(120), np.arange(64, 74))
    _assert_follows(out, 0, xa, np.arange(120))
    _assert_follows(out, 1, xb, present_b)
    assert not _present(out)[64:74, 1].any()


@pytest.mark.parametrize("seed", range(3))
def test_long_disappearance_gives_new_identity(seed):
    # B gone for 40 frames (1.33 s > max_age = 1 s): it comes back as identity 2.
    poses, xa, xb = _crossing(seed, hide_b=range(70, 110))
    out = track(poses)
    assert out.n_people == 3
    _assert_follows(out, 0, xa, np.arange(120))
    _assert_follows(out, 1, xb, np.arange(70))
    _assert_follows(out, 2, xb, np.arange(110, 120))
    assert not _present(out)[70:, 1].any() and not _present(out)[:110, 2].any()
    # a longer max_age bridges the gap
    out2 = track(poses, max_age=2.0)
    assert out2.n_people == 2
    _assert_follows(out2, 1, xb, np.setdiff1d(np.arange(120), np.arange(70, 110)))


def test_max_identities_caps_and_drops():
    poses, xa, _ = _crossing(0)
    out = track(poses, max_identities=1)
    assert out.n_people == 1
    # A (higher scores) takes the only identity in frame 0 and keeps it through the crossing
    _assert_follows(out, 0, xa, np.arange(120))
    assert out.meta["tracking"]["dropped"] == 120
    assert out.meta["tracking"]["max_identities"] == 1


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_detection_order_does_not_matter(shuffle_seed):
    poses, _, _ = _crossing(3, n_frames=80)
    rng = np.random.default_rng(shuffle_seed)
    perm = np.stack([rng.permutation(poses.n_people) for _ in range(poses.n_frames)])
    shuffled = Poses(
        poses.skeleton,
        np.take_along_axis(poses.coords, perm[:, :, None, None], axis=1),
        np.take_along_axis(poses.scores, perm[:, :, None], axis=1),
        poses.times,
        poses.space,
    )
    a, b = track(poses), track(shuffled)
    np.testing.assert_array_equal(a.coords, b.coords)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_tracker_streaming_matches_track():
    poses, _, _ = _crossing(2, hide_b=range(30, 40))
    out = track(poses)
    tracker = Tracker("coco17")
    for t in range(poses.n_frames):
        ids = tracker.update(poses.coords[t], poses.scores[t], float(poses.times[t]))
        assert ids.shape == (poses.n_people,) and ids.dtype == np.int64
        for p, i in enumerate(ids):
            if i >= 0:
                np.testing.assert_array_equal(out.coords[t, i], poses.coords[t, p])
            else:
                assert not (poses.scores[t, p] > 0).any()
    assert tracker.n_identities == 2
    assert set(tracker.active_identities) == {0, 1}
    tracker.reset()
    assert tracker.n_identities == 0 and tracker.active_identities == ()
    # after reset time may start again
    ids = tracker.update(poses.coords[0], poses.scores[0], 0.0)
    assert sorted(ids[ids >= 0].tolist()) == [0, 1]


def test_input_is_not_modified_and_meta_is_kept():
    poses, _, _ = _crossing(0, n_frames=20)
    poses = Poses(poses.skeleton, poses.coords, poses.scores, poses.times, poses.space,
                  meta={"source": "synthetic"})
    before = poses.coords.copy()
    out = track(poses)
    assert out is not poses
    np.testing.assert_array_equal(poses.coords, before)
    assert out.meta["source"] == "synthetic" and "tracking" in out.meta
    assert "tracking" not in poses.meta
    assert out.space == poses.space and out.skeleton == poses.skeleton
    np.testing.assert_array_equal(out.times, poses.times)


# --------------------------------------------------------------------------------------
# Degenerate input and bad arguments
# --------------------------------------------------------------------------------------


def test_no_frames():
    out = track(Poses.empty("coco17", 2, "image:cam0"))
    assert out.coords.shape == (0, 0, 17, 2) and out.tracked
    assert out.meta["tracking"]["dropped"] == 0


def test_no_people_and_all_nan_frames():
    times = np.arange(5) / FPS
    out = track(Poses.empty("coco17", 2, "image:cam0", times=times))
    assert out.coords.shape == (5, 0, 17, 2)
    out = track(Poses.empty("blazepose33", 2, "image:cam0", times=times, n_people=3))
    assert out.coords.shape == (5, 0, 33, 2) and out.tracked


def test_single_frame_orders_by_confidence():
    a = _person(100, 400, 170, 0.0)
    b = _person(400, 400, 170, 0.0)
    coords = np.stack([a, b])[None]
    scores = np.stack([np.full(17, 0.5), np.full(17, 0.9)])[None]
    out = track(Poses("coco17", coords, scores, [0.0], "image:cam0"))
    assert out.n_people == 2
    np.testing.assert_array_equal(out.coords[0, 0], coords[0, 1].astype(np.float32))
    np.testing.assert_array_equal(out.coords[0, 1], coords[0, 0].astype(np.float32))


def test_detections_with_too_few_keypoints_are_dropped():
    xy = np.stack([_person(100, 400, 170, 0.0), _person(400, 400, 170, 0.0)])[None]
    scores = np.zeros((1, 2, 17))
    scores[0, 0] = 0.9
    scores[0, 1, :2] = 0.9                                 # only 2 keypoints
    poses = Poses("coco17", xy, scores, [0.0], "image:cam0")
    out = track(poses)
    assert out.n_people == 1 and out.meta["tracking"]["dropped"] == 1
    assert track(poses, min_keypoints=2).n_people == 2


def test_equal_times_are_accepted():
    poses, _, _ = _crossing(0, n_frames=10)
    same = Poses(poses.skeleton, poses.coords, poses.scores, np.zeros(10), poses.space)
    assert track(same).n_people == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_age": -1.0}, "max_age must be finite seconds"),
        ({"max_age": math.inf}, "max_age must be finite seconds"),
        ({"max_age": "1"}, "max_age must be finite seconds"),
        ({"max_identities": 0}, "max_identities must be a positive integer or None"),
        ({"max_identities": 1.5}, "max_identities must be a positive integer or None"),
        ({"max_identities": True}, "max_identities must be a positive integer or None"),
        ({"min_similarity": 1.5}, r"min_similarity must be a number in \[0, 1\]"),
        ({"min_similarity": math.nan}, r"min_similarity must be a number in \[0, 1\]"),
        ({"oks_weight": -0.1}, r"oks_weight must be a number in \[0, 1\]"),
        ({"min_keypoints": 0}, "min_keypoints must be a positive integer"),
        ({"min_keypoints": 18}, "min_keypoints must be at most K=17"),
        ({"predict": "yes"}, "predict must be True or False"),
    ],
)
def test_bad_parameters(kwargs, message):
    poses, _, _ = _crossing(0, n_frames=3)
    with pytest.raises(InputError, match=message):
        track(poses, **kwargs)
    with pytest.raises(InputError, match=message):
        Tracker("coco17", **kwargs)


def test_bad_poses():
    with pytest.raises(InputError, match="poses must be a posestack Poses; got ndarray"):
        track(np.zeros((1, 1, 17, 2)))
    body = Poses.empty("coco17", 3, "body", times=[0.0], n_people=1)
    with pytest.raises(InputError, match=r"track needs 2-D image keypoints \(D=2"):
        track(body)


def test_tracker_bad_updates():
    tracker = Tracker("coco17")
    with pytest.raises(InputError, match=r"coords must have shape \(P, K=17, 2\)"):
        tracker.update(np.zeros((1, 33, 2)), np.ones((1, 33)), 0.0)
    with pytest.raises(InputError, match=r"scores must have shape \(P, K\)"):
        tracker.update(np.zeros((2, 17, 2)), np.ones((1, 17)), 0.0)
    with pytest.raises(InputError, match="time must be finite seconds"):
        tracker.update(np.zeros((0, 17, 2)), np.zeros((0, 17)), math.nan)
    tracker.update(np.zeros((0, 17, 2)), np.zeros((0, 17)), 1.0)
    with pytest.raises(InputError, match="time must not go backwards"):
        tracker.update(np.zeros((0, 17, 2)), np.zeros((0, 17)), 0.5)
    with pytest.raises(InputError, match="unknown skeleton 'no_such_layout'"):
        Tracker("no_such_layout")


def test_parameters_as_dict():
    prm = TrackingParameters(max_age=2, max_identities=np.int64(3))
    assert prm.as_dict() == {
        "max_age": 2.0, "max_identities": 3, "min_similarity": 0.2, "oks_weight": 0.5,
        "min_keypoints": 3, "predict": True, "reid_similarity": 0.85,
    }
    assert isinstance(prm.max_identities, int)


# --------------------------------------------------------------------------------------
# Real data: Sports2D demo (a man jumping off a box, a woman walking right to left)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sports2d_poses() -> Poses:
    import posestack
    import posestack.assets

    [r] = posestack.run(posestack.assets.path("sports2d_demo"), None, max_people=4,
                        progress=False)
    return r.keypoints2d


def _segments(present: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` runs of True."""
    edges = np.flatnonzero(np.diff(np.r_[0, present.astype(int), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


@pytest.mark.assets
def test_sports2d_identities(sports2d_poses):
    poses = sports2d_poses
    blaze = poses.skeleton
    hips = [blaze.index("left_hip"), blaze.index("right_hip")]
    hip = poses.coords[:, :, hips].mean(axis=2)                       # (T, P, 2)
    present = _present(poses)
    t_frames, p_slots = present.shape

    # Ground truth from the estimator's own slots, where it follows one person for a
    # long run; checked against what is known of the clip.
    label = np.full((t_frames, p_slots), -1)
    runs = []
    for p in range(p_slots):
        for a, b in _segments(present[:, p]):
            if b - a >= 20:
                label[a:b, p] = len(runs)
                runs.append((p, a, b))
    on_box = [i for i, (p, a, b) in enumerate(runs) if np.median(hip[a:b, p, 1]) < 500]
    walking = [i for i, (p, a, b) in enumerate(runs)
               if np.median(hip[a:b, p, 1]) > 600 and hip[a, p, 0] - hip[b - 1, p, 0] > 800]
    assert len(on_box) == 1 and len(walking) == 1, "ground truth: the clip changed?"
    jumper, walker = on_box[0], walking[0]
    pj, aj, bj = runs[jumper]
    pw, aw, bw = runs[walker]
    assert bj - aj > 150 and bw - aw > 120 and max(aj, aw) < min(bj, bw)   # overlap in time
    assert (hip[aj:bj, pj, 1] < 480).all() and (hip[aw:bw, pw, 1] > 650).all()

    # Destroy the slot order, then track.
    rng = np.random.default_rng(7)
    perm = np.stack([rng.permutation(p_slots) for _ in range(t_frames)])
    shuffled = Poses(
        blaze,
        np.take_along_axis(poses.coords, perm[:, :, None, None], axis=1),
        np.take_along_axis(poses.scores, perm[:, :, None], axis=1),
        poses.times,
        poses.space,
    )
    label_shuffled = np.take_along_axis(label, perm, axis=1)
    out = track(shuffled)
    assert out.tracked and 2 <= out.n_people <= 6

    # Identity of every input detection, found by its (exactly copied) keypoints.
    ident = np.full((t_frames, p_slots), -1)
    for t in range(t_frames):
        for p in np.flatnonzero(_present(shuffled)[t]):
            same = np.flatnonzero(
                (np.nan_to_num(out.coords[t], nan=-1e9)
                 == np.nan_to_num(shuffled.coords[t, p], nan=-1e9)).all(axis=(1, 2))
            )
            assert same.size == 1, f"frame {t}: detection {p} not found once in the output"
            ident[t, p] = same[0]

    ids_jumper = set(ident[label_shuffled == jumper].tolist())
    ids_walker = set(ident[label_shuffled == walker].tolist())
    assert len(ids_jumper) == 1, f"jumper split over identities {ids_jumper}"
    assert len(ids_walker) == 1, f"walker split over identities {ids_walker}"
    assert ids_jumper != ids_walker
    # no other long run of the estimator ends up in the jumper's or the walker's identity
    for i in range(len(runs)):
        if i not in (jumper, walker):
            assert not set(ident[label_shuffled == i].tolist()) & (ids_jumper | ids_walker)

    # Every identity moves smoothly: no jump > 100 px of the hip centre between frames
    # (people move < 30 px per frame here; the estimator's first frames move 63 px).
    out_hip = out.coords[:, :, hips].mean(axis=2)
    for i in range(out.n_people):
        h = out_hip[_present(out)[:, i], i]
        steps = np.linalg.norm(np.diff(h, axis=0), axis=-1)
        assert steps.size == 0 or steps.max() < 100.0, f"identity {i} jumps {steps.max():.0f} px"


# --- re-identification ----------------------------------------------------------------


def _walker(x0: float) -> np.ndarray:
    base = np.stack([np.linspace(0, 40, 17), np.linspace(0, 160, 17)], axis=1)
    return base + np.array([x0, 0.0])


def _feat(seed: int) -> np.ndarray:
    f = np.random.default_rng(seed).random(84)
    return f / np.linalg.norm(f)


def test_reidentifies_a_person_who_comes_back_by_appearance():
    tr = Tracker("coco17", max_age=0.5)
    ones = np.ones((1, 17))
    assert tr.update(_walker(0)[None], ones, 0.0, _feat(1)[None]).tolist() == [0]
    assert tr.update(_walker(500)[None], ones, 0.1, _feat(2)[None]).tolist() == [1]
    # both are gone for 3 s (longer than max_age); person 1 comes back where they
    # were, person 0 far from where they were: both by their looks
    assert tr.update(_walker(505)[None], ones, 3.0, _feat(2)[None]).tolist() == [1]
    ids = tr.update(np.stack([_walker(505), _walker(900)]), np.ones((2, 17)), 3.1,
                    np.stack([_feat(2), _feat(1)]))
    assert ids.tolist() == [1, 0] and tr.reidentified == 2 and tr.n_identities == 2


def test_a_stranger_gets_a_new_identity():
    tr = Tracker("coco17", max_age=0.5)
    ones = np.ones((1, 17))
    tr.update(_walker(0)[None], ones, 0.0, _feat(1)[None])
    ids = tr.update(_walker(900)[None], ones, 3.0, _feat(7)[None])
    assert ids.tolist() == [1] and tr.reidentified == 0


def test_a_short_loss_within_reach_keeps_the_identity():
    # a flip: the pose changes beyond the OKS/IoU match, the person stays near
    tr = Tracker("coco17", max_age=1.0)
    ones = np.ones((1, 17))
    tr.update(_walker(0)[None], ones, 0.0, _feat(1)[None])
    flipped = _walker(150)[::-1].copy()
    ids = tr.update(flipped[None], ones, 0.5, (0.6 * _feat(1) + 0.4 * _feat(3))[None])
    assert ids.tolist() == [0]
    # too far for the time elapsed: someone else
    ids = tr.update(_walker(3000)[None], ones, 0.55, _feat(1)[None])
    assert ids.tolist() == [1]


def test_max_identities_gives_back_the_most_similar_lost_identity():
    tr = Tracker("coco17", max_age=0.2, max_identities=2)
    ones = np.ones((1, 17))
    tr.update(np.stack([_walker(0), _walker(500)]), np.ones((2, 17)), 0.0,
              np.stack([_feat(1), _feat(2)]))
    # both gone, one comes back looking unlike either: the cap says it is one of them
    ids = tr.update(_walker(2000)[None], ones, 5.0, (0.5 * _feat(2) + 0.5 * _feat(9))[None])
    assert ids.tolist() == [1] and tr.n_identities == 2
    with pytest.raises(InputError, match=r"features must have shape \(P=1, F\)"):
        tr.update(_walker(0)[None], ones, 6.0, np.zeros((2, 84)))


def test_stitch_merges_a_fragment_and_drops_a_ghost():
    from posestack.track import stitch

    t_n = 30
    times = np.arange(t_n) / 30.0
    coords = np.full((t_n, 3, 17, 2), np.nan)
    scores = np.zeros((t_n, 3, 17))
    # identity 0: frames 0-9 and 16-29; identity 1: frames 11-14, a few px away (a flip
    # the streaming tracker could not follow); identity 2: a second estimate of 0 at
    # frame 20 (inside its box)
    for t in [*range(10), *range(16, 30)]:
        coords[t, 0], scores[t, 0] = _walker(2.0 * t), 1.0
    for t in range(11, 15):
        coords[t, 1], scores[t, 1] = _walker(2.0 * t + 15)[::-1], 1.0
    coords[20, 2], scores[20, 2] = _walker(40.0) * [1.0, 0.8] + [0, 20], 1.0
    poses = Poses("coco17", coords, scores, times, "image:cam", tracked=True)
    out, mapping = stitch(poses, max_gap=0.5)
    assert out.n_people == 1 and mapping.tolist() == [0, 0, -1]
    assert out.present()[:, 0].sum() == 28 and out.meta["ghosts"] == 1
    # a second person far away, or after a long gap, stays separate
    coords[11:15, 1] += [2000.0, 0.0]
    out, mapping = stitch(Poses("coco17", coords, scores, times, "image:cam", tracked=True))
    assert out.n_people == 2 and mapping.tolist() == [0, 1, -1]


# --- the assignment without scipy for one track or one detection ---------------------


def test_linear_assignment_matches_scipy_on_rows_and_columns_with_ties():
    from scipy.optimize import linear_sum_assignment

    from posestack.track import _REFUSED, _linear_assignment

    rng = np.random.default_rng(0)
    for _ in range(2000):
        m = int(rng.integers(1, 7))
        cost = rng.integers(0, 3, size=m).astype(np.float64)  # many ties
        cost[rng.random(m) < 0.3] = _REFUSED
        for mat in (cost[None], cost[:, None]):
            want = linear_sum_assignment(mat)
            got = _linear_assignment(mat)
            assert [a.tolist() for a in got] == [a.tolist() for a in want]
    for shape in ((3, 4), (4, 2), (1, 0), (0, 1)):
        mat = rng.random(shape)
        want = linear_sum_assignment(mat)
        got = _linear_assignment(mat)
        assert [a.tolist() for a in got] == [a.tolist() for a in want]


def test_run_path_modules_do_not_import_scipy():
    # scipy costs ~0.8 s of CPU to import; a video run (estimate, track, write) needs none,
    # nor does looking for a calibration beside the video (every run does).
    import os
    import subprocess
    import sys
    from pathlib import Path

    import posestack

    src = str(Path(posestack.__file__).resolve().parents[1])  # the posestack under test
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    code = ("import sys, posestack.pipeline, posestack.filters, posestack.track, "
            "posestack.estimate.blazepose, posestack.estimate.holistic, posestack.reid, "
            "posestack.kinematics.angles, posestack.io.tables, posestack.io.formats, "
            "posestack.cli, posestack.multiview.calibration, posestack.pipeline_multiview; "
            "from pathlib import Path; posestack.pipeline_multiview.find_calibration(Path('.')); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout.strip()
    assert out == "[]"
