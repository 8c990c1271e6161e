"""Two- and three-person clips with known truth, composited from the samples.

Used by tests/test_crowd.py and benchmarks/bench_crowd.py. The truth of each
person is their source video's single-person run (posestack, BlazePose,
``max_people=1``), moved by the paste transform.

* ``two``: Pose2Sim cam03 (the subject turning on the spot) with the Sports2D
  walker pasted in front of him, walking right to left across him: she covers
  part of his body for about a third of the clip.
* ``three``: the same, plus the cam02 subject (another view of the same man, a
  sixth of a second later) pasted behind, on the left, partly hidden by the walker when
  she passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

import posestack
from posestack import assets
from posestack.evaluate.composite import (
    PastedPerson,
    PersonSegmenter,
    composite_frames,
    paste,
    similarity_matrix,
)
from posestack.io.media import FrameReader, VideoWriter, probe

N_FRAMES = 90  # cam03 at 60 fps: 1.5 s


@dataclass(frozen=True)
class Scene:
    video: Path          # the composited H.264 clip
    truth: np.ndarray    # (T, Q, 33, 2) pixels, blazepose33
    fps: float


def _frames(video: Path, first: int, n: int) -> list[np.ndarray]:
    out = []
    for i, _, rgb in FrameReader(probe(video)):
        if i >= first + n:
            break
        if i >= first:
            out.append(rgb)
    return out


@cache
def _single(video: Path, first: int, n: int, pick_x: float | None = None) -> np.ndarray:
    """``(n, 33, 2)`` one person's keypoints: the video's single-person run, or the
    tracked person whose mean x in the first frame is nearest ``pick_x``."""
    info = probe(video)
    start, end = first / info.fps, (first + n - 0.5) / info.fps
    [r] = posestack.run(video, None, start=start, end=end, progress=False, video=False,
                        max_people=1 if pick_x is None else 4)
    xy = r.keypoints2d.coords
    assert xy.shape[0] == n, (video, xy.shape)
    if pick_x is None:
        return xy[:, 0].astype(np.float64)
    cx = np.nanmean(xy[:, :, :, 0], axis=(0, 2))
    return xy[:, int(np.nanargmin(np.abs(cx - pick_x)))].astype(np.float64)


def _place(src: np.ndarray, dst: np.ndarray, scale: float, dx: float, dy: float) -> np.ndarray:
    """(T, 2, 3): scale the source person about their mean hip point and put that point at
    ``dst`` + (dx, dy); the same matrix every frame (their own motion is kept)."""
    hips = np.nanmean(src[:, 23:25], axis=(0, 1))
    m = similarity_matrix(scale, 0.0, (dst[0] - hips[0] + dx, dst[1] - hips[1] + dy), hips)
    return np.repeat(m[None], src.shape[0], axis=0)


def build(kind: str, folder: Path) -> Scene:
    """Write the ``kind`` scene (``"two"`` or ``"three"``) into ``folder``."""
    p2s = assets.path("pose2sim_demo_singleperson") / "videos"
    s2d = assets.path("sports2d_demo")
    back = _frames(p2s / "cam03.mp4", 0, N_FRAMES)
    subject = _single(p2s / "cam03.mp4", 0, N_FRAMES)
    hip = np.nanmean(subject[:, 23:25], axis=(0, 1))
    size = np.nanmedian(np.ptp(subject[:, :, 1], axis=1))
    # The walker: Sports2D frames 60-149, at about the subject's size, slightly lower
    # in the image (nearer the camera), crossing him from right to left.
    walker_src = _single(s2d, 60, N_FRAMES, pick_x=1500.0)
    w_size = np.nanmedian(np.ptp(walker_src[:, :, 1], axis=1))
    walker = PastedPerson(_frames(s2d, 60, N_FRAMES), walker_src,
                          _place(walker_src, hip, 0.95 * size / w_size, 60.0, 120.0))
    people = [walker]
    truth = [subject]
    if kind == "three":
        clone_src = _single(p2s / "cam02.mp4", 10, N_FRAMES)
        c_size = np.nanmedian(np.ptp(clone_src[:, :, 1], axis=1))
        clone = PastedPerson(_frames(p2s / "cam02.mp4", 10, N_FRAMES), clone_src,
                             _place(clone_src, hip, 0.7 * size / c_size, -330.0, -150.0))
        people = [clone, walker]  # the clone behind, the walker in front
    elif kind != "two":
        raise ValueError(kind)
    info = probe(p2s / "cam03.mp4")
    video = folder / f"crowd_{kind}.mp4"
    seg = PersonSegmenter()
    truths = []
    with VideoWriter(video, info.width, info.height, info.fps) as w:
        for frame, pasted, _ in composite_frames(back, people, seg):
            w.write(frame)
            truths.append(pasted)
    pasted = np.stack(truths)  # (T, len(people), 33, 2)
    truth = np.concatenate([np.stack(truth, axis=1), pasted], axis=1)
    return Scene(video, truth, float(info.fps))


# --------------------------------------------------------------------------------------
# Four cameras: a second person pasted consistently into every view
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MultiviewScene:
    folder: Path         # videos/cam0N.mp4 + calibration/Calib.qca.txt
    truth: np.ndarray    # (T, 2, 33, 3) world metres: the subject, the clone
    frames: int


@cache
def _subject_3d(lag: int, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The subject's 3D (T, 33, 3) from the 4-camera sample, and each camera's 2D."""
    p2s = assets.path("pose2sim_demo_singleperson")
    from posestack.pipeline import run_multiview

    mv = run_multiview(p2s / "videos", None, None, progress=False, video=False,
                                 max_people=1, end=(n + lag + 0.5) / 60.0)
    xyz = mv.poses3d.coords[:, 0].astype(np.float64)
    views = {r.keypoints2d.space.split(":", 1)[1]: r.keypoints2d.coords[:, 0].astype(np.float64)
             for r in mv.views}
    return xyz, views


def build_multiview(folder: Path, shift: tuple[float, float, float] = (-0.9, -0.3, 0.0),
                    lag: int = 20, n: int = 60) -> MultiviewScene:
    """Paste a clone of the subject, ``lag`` frames later and moved by ``shift`` metres
    (world, Z up), into all four cameras of the Pose2Sim sample.

    In each camera the clone's pixels are the subject's own (frame t + lag) moved by
    the similarity that best maps the subject's projected 3D keypoints to the
    shifted ones; whoever is nearer the camera is drawn in front. The truth is the
    subject's triangulation (its own frame t) and the same shifted (frame t + lag).
    """
    import shutil

    import cv2

    from posestack.multiview.calibration import load_calibration

    p2s = assets.path("pose2sim_demo_singleperson")
    calib = load_calibration(p2s / "calibration" / "Calib.qca.txt")
    xyz, views = _subject_3d(lag, n)
    clone3d = xyz[lag:lag + n] + np.asarray(shift)
    subject3d = xyz[:n]
    seg = PersonSegmenter()
    (folder / "videos").mkdir(parents=True, exist_ok=True)
    (folder / "calibration").mkdir(exist_ok=True)
    shutil.copy(p2s / "calibration" / "Calib.qca.txt", folder / "calibration")
    for cam in calib.cameras:
        src = _frames(p2s / "videos" / f"{cam.name}.mp4", 0, n + lag)
        info = probe(p2s / "videos" / f"{cam.name}.mp4")
        kp2d = views[cam.name]
        with VideoWriter(folder / "videos" / f"{cam.name}.mp4", info.width, info.height,
                         info.fps) as w:
            for t in range(n):
                a = cam.project(xyz[t + lag])     # the subject at t + lag, in this camera
                b = cam.project(clone3d[t])       # where the clone is
                ok = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
                m, _ = cv2.estimateAffinePartial2D(a[ok], b[ok])
                clone_mask = seg(src[t + lag], kp2d[t + lag])
                frame, _ = paste(src[t], src[t + lag], clone_mask, m)
                near_clone = np.nanmean(cam.to_camera(clone3d[t])[:, 2])
                near_subject = np.nanmean(cam.to_camera(subject3d[t])[:, 2])
                if near_subject < near_clone:  # the subject in front: draw them again
                    frame, _ = paste(frame, src[t], seg(src[t], kp2d[t]), np.eye(2, 3))
                w.write(frame)
    truth = np.stack([subject3d, clone3d], axis=1)
    return MultiviewScene(folder, truth, n)
