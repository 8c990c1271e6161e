"""Tests for posestack.poses.Poses: invariants, selection, conversion, no mutation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from posestack.errors import InputError
from posestack.poses import Poses
from posestack.skeletons import BLAZEPOSE33, COCO17, HALPE26, get_skeleton


def make_arrays(t=5, p=2, k=17, d=2, seed=0):
    rng = np.random.default_rng(seed)
    coords = rng.uniform(0, 100, size=(t, p, k, d))
    scores = rng.uniform(0.2, 1.0, size=(t, p, k))
    times = np.arange(t) / 10.0
    return coords, scores, times


def make(t=5, p=2, skeleton=COCO17, d=2, space=None, seed=0, **kw):
    coords, scores, times = make_arrays(t, p, len(skeleton), d, seed)
    space = space or ("image:cam0" if d == 2 else "world")
    return Poses(skeleton, coords, scores, times, space, **kw)


# -- construction ------------------------------------------------------------------------


def test_valid_construction_dtypes_and_properties():
    coords, scores, times = make_arrays()
    p = Poses(COCO17, coords, scores, times, "image:cam0")
    assert p.coords.dtype == np.float32 and p.coords.shape == (5, 2, 17, 2)
    assert p.scores.dtype == np.float32 and p.scores.shape == (5, 2, 17)
    assert p.times.dtype == np.float64 and p.times.shape == (5,)
    assert (p.n_frames, p.n_people, p.n_keypoints, p.dim) == (5, 2, 17, 2)
    assert p.skeleton is COCO17 and p.space == "image:cam0" and p.tracked is False
    assert dict(p.meta) == {}
    np.testing.assert_allclose(p.coords, coords.astype(np.float32))
    for a in (p.coords, p.scores, p.times):
        assert not a.flags.writeable
    with pytest.raises(ValueError):
        p.coords[0, 0, 0, 0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.space = "world"  # type: ignore[misc]


def test_skeleton_by_name_and_3d_spaces():
    for space in ("camera:left", "body", "world"):
        p = make(skeleton=BLAZEPOSE33, d=3, space=space)
        assert p.dim == 3 and p.skeleton is BLAZEPOSE33
    coords, scores, times = make_arrays(k=33)
    p = Poses("blazepose", coords, scores, times, "image:cam-1.a_b")
    assert p.skeleton is BLAZEPOSE33
    # camera names are free text, e.g. a video file stem with spaces
    assert Poses(BLAZEPOSE33, coords, scores, times, "image:my clip (1)").space.endswith("(1)")


def test_inputs_not_mutated_and_not_aliased():
    coords, scores, times = make_arrays()
    coords = coords.astype(np.float32)
    scores = scores.astype(np.float32)
    coords[0, 0, 3, 1] = np.nan  # partly missing point: normalised on our copy only
    c0, s0, t0 = coords.copy(), scores.copy(), times.copy()
    p = Poses(COCO17, coords, scores, times, "image:cam0")
    np.testing.assert_array_equal(coords, c0)
    np.testing.assert_array_equal(scores, s0)
    np.testing.assert_array_equal(times, t0)
    assert scores[0, 0, 3] > 0 and not np.isnan(coords[0, 0, 3, 0])
    assert not np.shares_memory(p.coords, coords)
    assert not np.shares_memory(p.scores, scores)
    assert not np.shares_memory(p.times, times)
    # the caller changing its arrays afterwards does not affect the object
    before = p.coords.copy(), p.scores.copy(), p.times.copy()
    coords[:] = -1
    scores[:] = 0
    times[:] = 7
    np.testing.assert_array_equal(p.coords, before[0])
    np.testing.assert_array_equal(p.scores, before[1])
    np.testing.assert_array_equal(p.times, before[2])
    assert coords.flags.writeable  # caller's array untouched


def test_nan_coords_force_score_zero_but_not_reverse():
    coords, scores, times = make_arrays()
    coords[1, 0, 4, 0] = np.nan  # one coordinate missing -> whole point missing
    coords[2, 1, 5, :] = np.nan
    scores[3, 0, 6] = 0.0  # score 0 keeps its coordinates
    p = Poses(COCO17, coords, scores, times, "image:cam0")
    assert p.scores[1, 0, 4] == 0 and np.all(np.isnan(p.coords[1, 0, 4]))
    assert p.scores[2, 1, 5] == 0
    assert np.all(np.isfinite(p.coords[3, 0, 6]))
    assert p.scores[0, 0, 0] > 0


def test_meta_is_copied_and_read_only():
    meta = {"source": "a.mp4"}
    p = make(meta=meta)
    meta["source"] = "changed"
    assert p.meta["source"] == "a.mp4"
    with pytest.raises(TypeError):
        p.meta["x"] = 1  # type: ignore[index]


# -- invalid input: each raises InputError with a helpful message -------------------------


def _bad(**overrides):
    coords, scores, times = make_arrays()
    args = {"skeleton": COCO17, "coords": coords, "scores": scores, "times": times,
            "space": "image:cam0"}
    args.update(overrides)
    return args


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"coords": np.zeros((5, 17, 2))}, r"\(T, P, K=17, D\).*coco17.*\(5, 17, 2\)"),
        ({"coords": np.zeros((5, 2, 33, 2))}, r"K=17.*coco17.*\(5, 2, 33, 2\)"),
        ({"coords": np.zeros((5, 2, 17, 4))}, r"D=4"),
        ({"coords": np.zeros((5, 2, 17, 1))}, r"D in \(2, 3\)"),
        ({"scores": np.full((5, 2, 17), 1.5)}, r"\[0, 1\].*170 value"),
        ({"scores": np.full((5, 2, 17), -0.1)}, r"\[0, 1\]"),
        ({"scores": np.zeros((5, 2, 16))}, r"scores must have shape \(T, P, K\)"),
        ({"coords": np.full((5, 2, 17, 2), np.inf)}, r"340 infinite"),
        ({"times": np.arange(4.0)}, r"times must have shape \(T,\) = \(5,\)"),
        ({"times": np.array([0, 1, 2, np.nan, 4.0])}, r"finite"),
        ({"times": np.array([0, 1, 0.5, 2, 3.0])}, r"non-decreasing"),
        ({"space": "pixels"}, r"image:<cam>"),
        ({"space": "image:"}, r"image:<cam>"),
        ({"space": "image: "}, r"image:<cam>"),
        ({"space": "image:a\nb"}, r"image:<cam>"),
        ({"space": "Image:a"}, r"image:<cam>"),
        ({"space": "world\n"}, r"image:<cam>"),
        ({"space": "world"}, r"needs D=3"),
        ({"space": 3}, r"space must be a string"),
        ({"coords": np.array([["a"]])}, r"numeric"),
        ({"skeleton": "no_such_layout"}, r"unknown skeleton"),
        ({"meta": [1, 2]}, r"meta must be a mapping"),
    ],
)
def test_invalid_inputs_raise_input_error(overrides, pattern):
    with pytest.raises(InputError, match=pattern):
        Poses(**_bad(**overrides))


def test_nan_score_raises_with_count():
    coords, scores, times = make_arrays()
    scores[0, 0, :3] = np.nan
    with pytest.raises(InputError, match=r"3 NaN score"):
        Poses(COCO17, coords, scores, times, "image:cam0")


def test_image_space_requires_2d():
    coords, scores, times = make_arrays(d=3)
    with pytest.raises(InputError, match="needs D=2"):
        Poses(COCO17, coords, scores, times, "image:cam0")
    assert isinstance(InputError("x"), ValueError)


# -- empty / from_frames / concat --------------------------------------------------------


def test_empty():
    e = Poses.empty(COCO17, 2, "image:cam0")
    assert e.coords.shape == (0, 0, 17, 2) and e.scores.shape == (0, 0, 17)
    assert e.times.shape == (0,) and e.present().shape == (0, 0)
    e2 = Poses.empty("halpe", 3, "world", times=[0.0, 0.5, 1.0])
    assert e2.coords.shape == (3, 0, 26, 3)
    e3 = Poses.empty(COCO17, 2, "image:c", times=[0.0, 1.0], n_people=2)
    assert e3.coords.shape == (2, 2, 17, 2) and np.all(np.isnan(e3.coords))
    assert not e3.present().any()
    with pytest.raises(InputError):
        Poses.empty(COCO17, 3, "image:c")
    with pytest.raises(InputError):
        Poses.empty(COCO17, 4, "world")


def test_from_frames_ragged_with_zero_people():
    rng = np.random.default_rng(3)
    f1 = (rng.uniform(size=(2, 17, 2)), np.full((2, 17), 0.5))
    f3 = (rng.uniform(size=(3, 17, 2)), np.full((3, 17), 0.7))
    frames = [
        (np.zeros((0, 17, 2)), np.zeros((0, 17))),  # nobody
        f1,
        ([], []),                                   # nobody, no D axis given
        f3,
    ]
    p = Poses.from_frames(COCO17, frames, [0.0, 0.1, 0.2, 0.3], "image:cam0")
    assert p.coords.shape == (4, 3, 17, 2)
    np.testing.assert_allclose(p.coords[1, :2], f1[0].astype(np.float32))
    np.testing.assert_allclose(p.coords[3], f3[0].astype(np.float32))
    assert np.all(np.isnan(p.coords[0])) and np.all(p.scores[0] == 0)
    assert np.all(np.isnan(p.coords[1, 2])) and np.all(p.scores[1, 2] == 0)
    assert np.all(np.isnan(p.coords[2]))
    np.testing.assert_array_equal(
        p.present(), [[False] * 3, [True, True, False], [False] * 3, [True] * 3]
    )
    # inputs untouched
    assert f1[1][0, 0] == 0.5


def test_from_frames_all_empty_and_errors():
    p = Poses.from_frames("coco17", [([], []), ([], [])], [0, 1], "world")
    assert p.coords.shape == (2, 0, 17, 3)
    p0 = Poses.from_frames("coco17", [], [], "image:c")
    assert p0.coords.shape == (0, 0, 17, 2)
    one = (np.zeros((1, 17, 2)), np.ones((1, 17)))
    with pytest.raises(InputError, match="one time per frame"):
        Poses.from_frames(COCO17, [one, one], [0.0], "image:c")
    with pytest.raises(InputError, match=r"K=17"):
        Poses.from_frames(COCO17, [(np.zeros((1, 26, 2)), np.ones((1, 26)))], [0.0], "image:c")
    with pytest.raises(InputError, match="same D"):
        Poses.from_frames(COCO17, [one, (np.zeros((1, 17, 3)), np.ones((1, 17)))], [0, 1],
                          "image:c")
    with pytest.raises(InputError, match="scores"):
        Poses.from_frames(COCO17, [(np.zeros((1, 17, 2)), np.ones((2, 17)))], [0.0], "image:c")


def test_concat_pads_people():
    a = make(t=3, p=1, seed=1)
    b = make(t=2, p=3, seed=2)
    b = dataclasses.replace(b, times=b.times + 1.0)
    c = Poses.concat([a, b])
    assert c.coords.shape == (5, 3, 17, 2)
    np.testing.assert_array_equal(c.coords[:3, :1], a.coords)
    assert np.all(np.isnan(c.coords[:3, 1:])) and np.all(c.scores[:3, 1:] == 0)
    np.testing.assert_array_equal(c.coords[3:], b.coords)
    np.testing.assert_array_equal(c.times, np.concatenate([a.times, b.times]))
    with pytest.raises(InputError, match="non-decreasing"):
        Poses.concat([b, a])
    with pytest.raises(InputError, match="skeleton"):
        Poses.concat([a, make(skeleton=HALPE26)])
    with pytest.raises(InputError, match="at least one"):
        Poses.concat([])
    with pytest.raises(InputError):
        Poses.concat([a, make(d=3)])


# -- selection ---------------------------------------------------------------------------


def test_between_is_half_open():
    p = make(t=10)  # times 0.0 .. 0.9
    q = p.between(0.2, 0.5)
    np.testing.assert_allclose(q.times, [0.2, 0.3, 0.4])
    np.testing.assert_array_equal(q.coords, p.coords[2:5])
    assert p.between(None, 0.15).n_frames == 2
    assert p.between(0.85, None).n_frames == 1
    assert p.between(5.0, 6.0).n_frames == 0
    assert p.between().n_frames == 10
    with pytest.raises(InputError):
        p.between(0.5, 0.2)
    with pytest.raises(InputError):
        p.between(float("nan"), None)


def test_frames_selection():
    p = make(t=6)
    np.testing.assert_array_equal(p.frames(slice(1, 4)).coords, p.coords[1:4])
    np.testing.assert_array_equal(p.frames([0, 2, 5]).times, p.times[[0, 2, 5]])
    mask = np.array([True, False, True, False, False, True])
    np.testing.assert_array_equal(p.frames(mask).scores, p.scores[mask])
    assert p.frames([]).n_frames == 0
    with pytest.raises(InputError, match="out of range"):
        p.frames([0, 6])
    with pytest.raises(InputError, match="mask"):
        p.frames(np.array([True, False]))
    with pytest.raises(InputError, match="non-decreasing"):
        p.frames([3, 1])


def test_people_selection_keeps_axis():
    p = make(p=3)
    one = p.people(1)
    assert one.coords.shape == (5, 1, 17, 2)
    np.testing.assert_array_equal(one.coords[:, 0], p.coords[:, 1])
    two = p.people([2, 0])
    np.testing.assert_array_equal(two.scores[:, 0], p.scores[:, 2])
    np.testing.assert_array_equal(two.scores[:, 1], p.scores[:, 0])
    assert p.people(-1).coords.shape[1] == 1
    with pytest.raises(InputError, match="out of range"):
        p.people(3)


def test_present():
    coords, scores, times = make_arrays(t=2, p=2)
    scores[0, 1] = 0
    coords[1, 0] = np.nan
    p = Poses(COCO17, coords, scores, times, "image:c")
    np.testing.assert_array_equal(p.present(), [[True, False], [False, True]])


# -- conversion / meta / immutability ----------------------------------------------------


def test_to_skeleton_blazepose_to_halpe():
    p = make(skeleton=BLAZEPOSE33, d=3, space="body", meta={"k": 1})
    q = p.to_skeleton("halpe26")
    assert q.skeleton is HALPE26 and q.coords.shape == (5, 2, 26, 3)
    assert q.space == "body" and dict(q.meta) == {"k": 1}
    neck = HALPE26.index("neck")
    np.testing.assert_allclose(
        q.coords[:, :, neck], (p.coords[:, :, 11] + p.coords[:, :, 12]) / 2, rtol=1e-6
    )
    np.testing.assert_array_equal(
        q.scores[:, :, neck], np.minimum(p.scores[:, :, 11], p.scores[:, :, 12])
    )
    assert np.all(np.isnan(q.coords[:, :, HALPE26.index("head_top")]))
    c = q.to_skeleton("coco17")
    np.testing.assert_array_equal(c.coords, p.to_skeleton("coco").coords)


def test_to_skeleton_hand_side():
    p = make(skeleton=get_skeleton("hand21"))
    q = p.to_skeleton("wholebody", side="left")
    np.testing.assert_array_equal(q.coords[:, :, 91:112], p.coords)
    with pytest.raises(InputError, match="side"):
        p.to_skeleton("wholebody")


def test_with_meta_returns_new_object():
    p = make(meta={"a": 1})
    q = p.with_meta(b=2, a=3)
    assert dict(q.meta) == {"a": 3, "b": 2}
    assert dict(p.meta) == {"a": 1}
    assert q is not p


def test_methods_return_new_objects_and_leave_original_unchanged():
    p = make(t=6, p=3)
    snapshot = (p.coords.copy(), p.scores.copy(), p.times.copy())
    results = [
        p.between(0.1, 0.4), p.frames(slice(0, 2)), p.people([0]), p.to_skeleton("body25"),
        p.with_meta(x=1), Poses.concat([p, p.between(0.5, None)]),
    ]
    for r in results:
        assert r is not p
        assert not np.shares_memory(r.coords, p.coords)
        assert not r.coords.flags.writeable
    np.testing.assert_array_equal(p.coords, snapshot[0])
    np.testing.assert_array_equal(p.scores, snapshot[1])
    np.testing.assert_array_equal(p.times, snapshot[2])
