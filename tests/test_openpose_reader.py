"""Tests for posestack.io.openpose_reader: per-frame OpenPose json folders -> Poses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posestack.errors import InputError
from posestack.io.formats import write_openpose
from posestack.io.openpose_reader import (
    AUTO_LAYOUTS,
    read_openpose_folder,
    read_openpose_folders,
)
from posestack.poses import Poses
from posestack.skeletons import get_skeleton


def person(k: int, seed: int, score: float = 0.9) -> list[float]:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(10, 500, size=(k, 2))
    return np.concatenate([xy, np.full((k, 1), score)], axis=1).ravel().tolist()


def write_frame(folder: Path, name: str, people: list[list[float]], key="pose_keypoints_2d"):
    folder.mkdir(parents=True, exist_ok=True)
    body = {"version": 1.3, "people": [{"person_id": [-1], key: p} for p in people]}
    (folder / name).write_text(json.dumps(body))


def openpose_name(frame: int, stem: str = "video") -> str:
    return f"{stem}_{frame:012d}_keypoints.json"


# -- content ----------------------------------------------------------------------------


def test_people_zeros_empty_frames_and_padding(tmp_path):
    folder = tmp_path / "cam01_json"
    k = 26
    a, b, c = person(k, 1), person(k, 2), person(k, 3)
    a_zeroed = list(a)
    a_zeroed[3 * 4 + 2] = 0.0                   # keypoint 4: confidence 0
    a_zeroed[3 * 7: 3 * 7 + 2] = [0.0, 0.0]     # keypoint 7: x = y = 0 with c > 0
    write_frame(folder, openpose_name(0), [a_zeroed])
    write_frame(folder, openpose_name(1), [])            # nobody
    write_frame(folder, openpose_name(2), [b, c])        # two people
    write_frame(folder, openpose_name(3), [c])
    poses, frames = read_openpose_folder(folder, "halpe26", fps=25)

    assert poses.skeleton.name == "halpe26" and poses.dim == 2
    assert poses.coords.shape == (4, 2, 26, 2) and poses.n_people == 2
    assert poses.space == "image:cam01_json" and poses.tracked is False
    assert frames.dtype == np.int64 and frames.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(poses.times, [0, 0.04, 0.08, 0.12])

    flat_a = np.array(a_zeroed).reshape(k, 3)
    assert np.isnan(poses.coords[0, 0, [4, 7]]).all()
    assert (poses.scores[0, 0, [4, 7]] == 0).all()
    keep = np.setdiff1d(np.arange(k), [4, 7])
    np.testing.assert_allclose(poses.coords[0, 0, keep], flat_a[keep, :2], rtol=1e-6)
    np.testing.assert_allclose(poses.scores[0, 0, keep], 0.9, rtol=1e-6)
    assert np.isnan(poses.coords[0, 1]).all() and (poses.scores[0, 1] == 0).all()  # padding
    assert np.isnan(poses.coords[1]).all()                                        # nobody
    np.testing.assert_allclose(poses.coords[2, 1], np.array(c).reshape(k, 3)[:, :2], rtol=1e-6)
    np.testing.assert_allclose(poses.coords[3, 0], np.array(c).reshape(k, 3)[:, :2], rtol=1e-6)
    assert poses.present().tolist() == [[True, False], [False, False], [True, True],
                                        [True, False]]
    assert poses.meta["format"] == "openpose_json"


def test_camera_name_and_max_people(tmp_path):
    folder = tmp_path / "f"
    for t in range(3):
        write_frame(folder, f"x_{t:06d}.json", [person(17, t), person(17, t + 10),
                                                person(17, t + 20)])
    poses, _ = read_openpose_folder(folder, "coco17", fps=30, camera="left", max_people=2)
    assert poses.space == "image:left" and poses.n_people == 2
    np.testing.assert_allclose(poses.coords[1, 1].ravel(),
                               np.array(person(17, 11)).reshape(17, 3)[:, :2].ravel(), rtol=1e-6)
    with pytest.raises(InputError, match=r"max_people"):
        read_openpose_folder(folder, "coco17", fps=30, max_people=0)


def test_scores_above_one_are_clipped_and_bad_values_missing(tmp_path):
    folder = tmp_path / "f"
    p = np.array(person(17, 0)).reshape(17, 3)
    p[0, 2] = 3.5          # RTMPose-style score above 1
    p[1, 2] = -0.2         # negative confidence: missing
    p[2, 0] = np.nan       # NaN coordinate: missing
    (folder).mkdir()
    (folder / "a_000001.json").write_text(
        json.dumps({"people": [{"pose_keypoints_2d": p.ravel().tolist()}]})
    )
    poses, _ = read_openpose_folder(folder, "coco17", fps=10)
    assert poses.scores[0, 0, 0] == 1.0
    assert np.isnan(poses.coords[0, 0, [1, 2]]).all() and (poses.scores[0, 0, [1, 2]] == 0).all()


def test_legacy_pose_keypoints_key(tmp_path):
    write_frame(tmp_path / "f", "old_000000000000_keypoints.json", [person(25, 0)],
                key="pose_keypoints")
    poses, _ = read_openpose_folder(tmp_path / "f", "body25", fps=30)
    assert poses.present()[0, 0]


def test_person_listed_without_keypoints_keeps_its_slot(tmp_path):
    write_frame(tmp_path / "f", "v_000000.json", [[], person(17, 1)])
    poses, _ = read_openpose_folder(tmp_path / "f", "coco17", fps=30)
    assert poses.present().tolist() == [[False, True]]


# -- file names and frame numbers -------------------------------------------------------


def test_frames_from_last_number_sorted_numerically(tmp_path):
    folder = tmp_path / "cam2"
    for name, seed in [("run3_000010.json", 10), ("run3_2.json", 2),
                       ("run3_000100_keypoints.json", 100), ("run3-7-v.json", 7)]:
        write_frame(folder, name, [person(17, seed)])
    (folder / "notes.txt").write_text("not json")
    poses, frames = read_openpose_folder(folder, "coco17", fps=10)
    assert frames.tolist() == [2, 7, 10, 100]
    np.testing.assert_allclose(poses.times, [0.2, 0.7, 1.0, 10.0])
    for t, seed in enumerate([2, 7, 10, 100]):
        np.testing.assert_allclose(poses.coords[t, 0],
                                   np.array(person(17, seed)).reshape(17, 3)[:, :2], rtol=1e-6)


def test_duplicate_frame_numbers_and_names_without_numbers(tmp_path):
    write_frame(tmp_path / "dup", "a_0005.json", [person(17, 0)])
    write_frame(tmp_path / "dup", "b_05.json", [person(17, 0)])
    with pytest.raises(InputError, match=r"a_0005.json and b_05.json both have frame number 5"):
        read_openpose_folder(tmp_path / "dup", "coco17", fps=30)
    write_frame(tmp_path / "nonum", "a_0005.json", [person(17, 0)])
    write_frame(tmp_path / "nonum", "calib.json", [])
    with pytest.raises(InputError, match=r"calib.json: its name has no number"):
        read_openpose_folder(tmp_path / "nonum", "coco17", fps=30)


# -- round trip with our writer ---------------------------------------------------------


def test_round_trip_with_write_openpose(tmp_path):
    rng = np.random.default_rng(0)
    t, p, k = 4, 2, 33
    coords = rng.uniform(1, 900, size=(t, p, k, 2))
    scores = rng.uniform(0.1, 1.0, size=(t, p, k))
    scores[1, 0, 3] = 0.0                     # missing point (written as 0, 0, 0)
    coords[2, 1, 5] = np.nan                  # missing point
    src = Poses("blazepose33", coords, scores, np.array([5, 6, 7, 9]) / 30, "image:cam0")
    frames = np.array([5, 6, 7, 9])
    write_openpose(tmp_path / "op", "cam0", src, frames)

    poses, got_frames = read_openpose_folder(tmp_path / "op", "auto", fps=30, camera="cam0")
    assert poses.skeleton.name == "blazepose33" and poses.space == src.space
    np.testing.assert_array_equal(got_frames, frames)
    np.testing.assert_allclose(poses.times, src.times)
    gone = src.scores == 0
    np.testing.assert_array_equal(poses.scores == 0, gone)
    np.testing.assert_allclose(poses.coords[~gone], src.coords[~gone], atol=1e-3)
    np.testing.assert_allclose(poses.scores, src.scores, atol=1e-3)


def test_round_trip_absent_person_shifts_slots(tmp_path):
    # The writer skips people with no keypoint; the reader follows file order, so a later
    # person moves up a slot (OpenPose json has no identities: tracked stays False).
    coords = np.random.default_rng(1).uniform(1, 100, size=(2, 2, 17, 2))
    scores = np.ones((2, 2, 17))
    scores[1, 0] = 0.0
    src = Poses("coco17", coords, scores, [0.0, 0.1], "image:c")
    write_openpose(tmp_path / "op", "c", src, np.array([0, 1]))
    poses, _ = read_openpose_folder(tmp_path / "op", "coco17", fps=10)
    assert poses.present().tolist() == [[True, True], [True, False]]
    np.testing.assert_allclose(poses.coords[1, 0], src.coords[1, 1], atol=1e-3)


# -- layouts ----------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "layout"), sorted(AUTO_LAYOUTS.items()))
def test_auto_layout_from_k(tmp_path, k, layout):
    write_frame(tmp_path / "f", openpose_name(0), [])
    write_frame(tmp_path / "f", openpose_name(1), [person(k, 0)])
    poses, _ = read_openpose_folder(tmp_path / "f", "auto", fps=30)
    assert poses.skeleton == get_skeleton(layout) and len(poses.skeleton) == k


def _write_views(folder: Path, xy: np.ndarray, scores: np.ndarray) -> list[Path]:
    """One json folder per camera from ``(C, T, K, 2)`` pixels and ``(C, T, K)`` scores."""
    dirs = []
    for c in range(xy.shape[0]):
        d = folder / f"cam{c + 1:02d}_json"
        for t in range(xy.shape[1]):
            flat = np.c_[np.nan_to_num(xy[c, t]), scores[c, t]]
            flat[scores[c, t] <= 0] = 0.0
            write_frame(d, openpose_name(t, f"cam{c + 1:02d}"), [flat.ravel().tolist()])
        dirs.append(d)
    return dirs


@pytest.fixture(scope="module")
def walker_views():
    """A walker in four cameras as BODY_25B and as BODY_25, from the same 3D."""
    from .multiview_scenes import ring_views, to_body25

    xy, sc = ring_views()
    xy25 = to_body25(xy)
    sc25 = np.where(np.isfinite(xy25).all(-1), to_body25(sc[..., None])[..., 0], 0.0)
    return {"body25b": (xy, sc), "body25": (xy25, sc25)}


@pytest.mark.parametrize("layout", ["body25", "body25b"])
def test_body25_or_body25b_detected_from_geometry(walker_views, layout):
    from posestack.io.layout_detect import detect_body25_layout

    xy, sc = walker_views[layout]
    guess = detect_body25_layout(xy, sc)
    assert guess.layout == layout
    other = "body25b" if layout == "body25" else "body25"
    assert guess.votes[other] == 0 and guess.votes[layout] > 0.9 * guess.detections
    assert guess.residual < 0.05 and layout in guess.describe()
    # one camera and a few frames are enough
    assert detect_body25_layout(xy[0, :6], sc[0, :6]).layout == layout


def test_body25_detection_refuses_when_the_geometry_does_not_decide(walker_views):
    from posestack.io.layout_detect import detect_body25_layout

    rng = np.random.default_rng(0)
    noise = detect_body25_layout(rng.uniform(10, 500, (60, 25, 2)))   # not a person
    assert noise.layout is None and noise.votes == {"body25": 0, "body25b": 0}
    assert "does not decide" in noise.describe()
    xy25, sc25 = walker_views["body25"]
    xyb, scb = walker_views["body25b"]
    mixed = detect_body25_layout(np.concatenate([xy25[0], xyb[0]]),    # half and half
                                 np.concatenate([sc25[0], scb[0]]))
    assert mixed.layout is None and min(mixed.votes.values()) > 10
    legs = xyb[0].copy()
    legs[:, :19] = np.nan                                              # feet only
    assert detect_body25_layout(legs).layout is None
    assert detect_body25_layout(xyb[0, :3]).layout is None             # too few people
    with pytest.raises(ValueError, match=r"\(\.\.\., 25, 2\)"):
        detect_body25_layout(np.zeros((3, 17, 2)))


@pytest.mark.parametrize("layout", ["body25", "body25b"])
def test_reader_auto_tells_body25_from_body25b(tmp_path, walker_views, layout, caplog):
    import logging

    dirs = _write_views(tmp_path, *walker_views[layout])
    with caplog.at_level(logging.INFO, logger="posestack.io.openpose_reader"):
        poses, _ = read_openpose_folder(dirs[0], "auto", fps=30)
    assert poses.skeleton.name == layout
    meta = poses.meta["layout"]
    assert meta["name"] == layout and meta["chosen"].startswith("detected")
    assert f"{layout} detected from the keypoint geometry" in caplog.text
    out = read_openpose_folders(dirs, "auto", fps=30)
    assert {p.skeleton.name for p, _ in out} == {layout}
    assert read_openpose_folder(dirs[0], "body25b", fps=30)[0].meta["layout"] == {
        "name": "body25b", "chosen": "given"}


def test_reader_auto_refuses_25_points_it_cannot_place(tmp_path):
    write_frame(tmp_path / "f", openpose_name(0), [person(25, 0)])
    with pytest.raises(InputError, match=r"OpenPose body25 or body25b.*does not decide.*"
                                         r"--layout body25 or --layout body25b"):
        read_openpose_folder(tmp_path / "f", "auto", fps=30)
    assert read_openpose_folder(tmp_path / "f", "body25b", fps=30)[0].skeleton.name == "body25b"
    assert read_openpose_folder(tmp_path / "f", "body_25", fps=30)[0].skeleton.name == "body25"


def test_k_mismatch_names_file_and_both_sizes(tmp_path):
    write_frame(tmp_path / "f", openpose_name(0), [person(26, 0)])
    write_frame(tmp_path / "f", openpose_name(1), [person(25, 0)])
    with pytest.raises(InputError, match=r"video_000000000001_keypoints.json: people\[0\] has "
                                         r"25 keypoints \(75 values\) but skeleton halpe26 "
                                         r"has 26 \(K=25 is body25"):
        read_openpose_folder(tmp_path / "f", "halpe26", fps=30)
    with pytest.raises(InputError, match=r"disagree on the number of keypoints \(\[25, 26\]\)"):
        read_openpose_folder(tmp_path / "f", "auto", fps=30)


def test_auto_errors(tmp_path):
    write_frame(tmp_path / "nobody", openpose_name(0), [])
    with pytest.raises(InputError, match=r"no person in any file.*name the skeleton"):
        read_openpose_folder(tmp_path / "nobody", "auto", fps=30)
    poses, _ = read_openpose_folder(tmp_path / "nobody", "halpe26", fps=30)
    assert poses.coords.shape == (1, 0, 26, 2)
    write_frame(tmp_path / "k18", openpose_name(0), [person(18, 0)])
    with pytest.raises(InputError, match=r"no known layout has K=18.*17 -> coco17"):
        read_openpose_folder(tmp_path / "k18", "auto", fps=30)
    with pytest.raises(InputError, match=r"unknown skeleton 'nope'"):
        read_openpose_folder(tmp_path / "k18", "nope", fps=30)


# -- bad input --------------------------------------------------------------------------


def test_folder_errors(tmp_path):
    with pytest.raises(InputError, match=r"no such folder"):
        read_openpose_folder(tmp_path / "missing", "coco17", fps=30)
    (tmp_path / "file.json").write_text("{}")
    with pytest.raises(InputError, match=r"not a folder"):
        read_openpose_folder(tmp_path / "file.json", "coco17", fps=30)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no .json files in"):
        read_openpose_folder(tmp_path / "empty", "coco17", fps=30)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "cannot read OpenPose json .*bad_000003.json"),
        ("[1, 2]", "bad_000003.json is not an OpenPose json"),
        ('{"version": 1.3}', "bad_000003.json is not an OpenPose json"),
        ('{"people": [{"face_keypoints_2d": []}]}', r"people\[0\] has no 'pose_keypoints_2d'"),
        ('{"people": [{"pose_keypoints_2d": [1, 2]}]}', r"\[x, y, c\] \* K; got 2 value"),
        ('{"people": [{"pose_keypoints_2d": ["a", "b", "c"]}]}', "non-numbers"),
    ],
)
def test_malformed_json_names_the_file(tmp_path, content, match):
    write_frame(tmp_path / "f", "ok_000001.json", [person(17, 0)])
    (tmp_path / "f" / "bad_000003.json").write_text(content)
    with pytest.raises(InputError, match=match):
        read_openpose_folder(tmp_path / "f", "coco17", fps=30)


@pytest.mark.parametrize("fps", [0, -5, float("nan"), "fast", None])
def test_bad_fps(tmp_path, fps):
    write_frame(tmp_path / "f", openpose_name(0), [person(17, 0)])
    with pytest.raises(InputError, match=r"fps must be a positive number"):
        read_openpose_folder(tmp_path / "f", "coco17", fps=fps)


# -- several folders --------------------------------------------------------------------


def test_read_openpose_folders(tmp_path):
    for cam in ("cam01_json", "cam02_json"):
        for t in range(3):
            write_frame(tmp_path / cam, f"{cam[:5]}_{t:06d}.json", [person(26, t)])
    out = read_openpose_folders([tmp_path / "cam01_json", tmp_path / "cam02_json"], "auto",
                                fps=60, cameras=["cam01", "cam02"])
    assert [p.space for p, _ in out] == ["image:cam01", "image:cam02"]
    assert all(p.skeleton.name == "halpe26" and f.tolist() == [0, 1, 2] for p, f in out)
    default = read_openpose_folders([tmp_path / "cam01_json"], "halpe26", fps=60)
    assert default[0][0].space == "image:cam01_json"

    with pytest.raises(InputError, match=r"2 name"):
        read_openpose_folders([tmp_path / "cam01_json"], "auto", fps=60,
                              cameras=["a", "b"])
    with pytest.raises(InputError, match=r"empty"):
        read_openpose_folders([], "auto", fps=60)
    with pytest.raises(InputError, match=r"list of folders"):
        read_openpose_folders(str(tmp_path / "cam01_json"), "auto", fps=60)
    write_frame(tmp_path / "cam03_json", "c_000000.json", [person(17, 0)])
    with pytest.raises(InputError, match=r"different layouts.*cam03_json: coco17"):
        read_openpose_folders([tmp_path / "cam01_json", tmp_path / "cam03_json"], "auto",
                              fps=60)
