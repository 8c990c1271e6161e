"""posestack.render.animation: the PNG/mp4 writer of the animation maps (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from posestack.errors import InputError
from posestack.io.media import frames_by_index
from posestack.multiview.calibration import Camera
from posestack.render import animation


def scene(frames=3):
    """A unit square 2 m in front of a 64x64 camera, and a 'skeleton' of two points."""
    cam = Camera("c", [[60.0, 0, 31.5], [0, 60.0, 31.5], [0, 0, 1]], np.zeros(4), np.eye(3),
                 np.zeros(3), (64, 64))
    sq = np.array([[-0.5, -0.5, 2.0], [0.5, -0.5, 2.0], [0.5, 0.5, 2.0], [-0.5, 0.5, 2.0]])
    verts = np.stack([sq + np.array((0.1 * i, 0, 0)) for i in range(frames)])
    faces = np.array([[0, 2, 1], [0, 3, 2]])
    kp = np.stack([[[-0.2, 0.0, 2.0], [0.2, 0.0, 2.0]]] * frames)
    return cam, verts, faces, kp, ("left_shoulder", "right_shoulder")


def test_writes_pngs_and_mp4s(tmp_path):
    cam, verts, faces, kp, names = scene()
    out = animation.render_body(verts, faces, cam, tmp_path, maps=("depth", "skeleton"),
                                frames=np.array([10, 11, 12]), keypoints=kp,
                                keypoint_names=names)
    assert sorted(out) == ["depth", "skeleton"]
    assert [p.name for p in sorted((tmp_path / "depth").glob("*.png"))] == [
        "000010.png", "000011.png", "000012.png"]
    assert all(p.stat().st_size > 0 for p in out.values())
    # a person absent in a frame (NaN) leaves that frame empty
    verts[1] = np.nan
    animation.render_body(verts, faces, cam, tmp_path, maps=("depth",))
    import cv2
    assert cv2.imread(str(tmp_path / "depth" / "000001.png")).max() == 0
    assert cv2.imread(str(tmp_path / "depth" / "000000.png")).max() > 0


def test_an_error_leaves_earlier_results_untouched(tmp_path, monkeypatch):
    cam, verts, faces, kp, names = scene()
    animation.render_body(verts, faces, cam, tmp_path, maps=("depth",))
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "depth").iterdir()}

    def broken(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(animation, "skeleton_image", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        animation.render_body(verts, faces, cam, tmp_path, maps=("depth", "skeleton"),
                              keypoints=kp, keypoint_names=names)
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "depth").iterdir()} == before
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".*.part"))
    assert not (tmp_path / "skeleton").exists()


def test_bad_input(tmp_path):
    cam, verts, faces, *_ = scene()
    with pytest.raises(InputError, match="unknown map"):
        animation.render_body(verts, faces, cam, tmp_path, maps=("colour",))
    with pytest.raises(InputError, match="vertices"):
        animation.render_body(verts[0], faces, cam, tmp_path, maps=("depth",))
    with pytest.raises(InputError, match="skeleton map needs keypoints"):
        animation.render_body(verts, faces, cam, tmp_path, maps=("skeleton",))
    with pytest.raises(InputError, match="vertex_labels"):
        animation.render_body(verts, faces, cam, tmp_path, maps=("semantic",))
    with pytest.raises(InputError, match="frames"):
        animation.render_body(verts, faces, cam, tmp_path, maps=("depth",), frames=[1, 2])
    with pytest.raises(InputError, match="positive size"):
        animation.crop_camera(cam, (0, 0, 0, 10))


@pytest.mark.assets
def test_overlay_frames_from_a_late_start(sports2d_video):
    """The overlay's video frames are found by seeking to the first one wanted: the same
    pixels as decoding from the start."""
    import av

    wanted = np.array([200, 201, 205])
    got = dict(frames_by_index(sports2d_video, wanted))
    assert sorted(got) == wanted.tolist()
    with av.open(str(sports2d_video)) as c:
        ref = {i: f.to_ndarray(format="rgb24") for i, f in enumerate(c.decode(video=0))
               if i in set(wanted.tolist())}
    for i in wanted:
        assert got[i] is not None and np.array_equal(got[i], ref[i]), i
