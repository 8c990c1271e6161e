"""Short clips cut from the sample videos, for tests that need many real inputs."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from posestack import assets
from posestack.io.media import VideoWriter


def _frames(path: Path, first: int, count: int, width: int) -> list[np.ndarray]:
    out = []
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= first + count:
                break
            if i >= first:
                rgb = f.to_ndarray(format="rgb24")
                h, w = rgb.shape[:2]
                height = round(h * width / w / 2) * 2
                out.append(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))
    return out


def cut_clips(folder: Path, n: int = 20, frames: int = 8, width: int = 480) -> list[Path]:
    """``n`` clips of ``frames`` frames (``width`` px wide, 30 frames/s), taken in turn
    from the Sports2D sample (two people) and the four Pose2Sim cameras (one person),
    at different starting frames: ``folder/clip_00.mp4``…"""
    folder.mkdir(parents=True, exist_ok=True)
    p2s = assets.path("pose2sim_demo_singleperson") / "videos"
    sources = [assets.path("sports2d_demo"), *sorted(p2s.glob("cam0*.mp4"))]
    paths = []
    for i in range(n):
        src = sources[i % len(sources)]
        first = 10 + 7 * (i // len(sources))
        rgb = _frames(src, first, frames, width)
        h, w = rgb[0].shape[:2]
        path = folder / f"clip_{i:02d}.mp4"
        with VideoWriter(path, w, h, 30.0) as out:
            for f in rgb:
                out.write(f)
        paths.append(path)
    return paths
