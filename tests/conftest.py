"""Shared fixtures: the sample videos (fetched by `make test`) and decoded frames."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from posestack import assets


@pytest.fixture(scope="session")
def p2s_videos() -> Path:
    """Pose2Sim Demo_SinglePerson videos folder (cam01..cam04.mp4)."""
    return assets.path("pose2sim_demo_singleperson") / "videos"


@pytest.fixture(scope="session")
def sports2d_video() -> Path:
    """Sports2D demo: two people, 1768x994, 230 frames at 30 fps."""
    return assets.path("sports2d_demo")


@pytest.fixture(scope="session")
def s2d_bundle(tmp_path_factory, sports2d_video) -> Path:
    """The Sports2D sample processed once (``posestack run --no-video``), shared by the
    tests that read a real two-person bundle; they may add tables, never change any."""
    from posestack.cli import main

    out = tmp_path_factory.mktemp("s2d")
    assert main(["run", str(sports2d_video), "-o", str(out), "--no-video", "-q"]) == 0
    return out / sports2d_video.stem


def decode(path: Path, indices: set[int] | None = None) -> dict[int, np.ndarray]:
    """RGB frames of a video by decode index (all of them when ``indices`` is None)."""
    out = {}
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if indices is None or i in indices:
                out[i] = f.to_ndarray(format="rgb24")
            if indices is not None and i >= max(indices):
                break
    return out


@pytest.fixture(scope="session")
def cam01_frames(p2s_videos) -> list[np.ndarray]:
    frames = decode(p2s_videos / "cam01.mp4")
    return [frames[i] for i in sorted(frames)]


@pytest.fixture(scope="session")
def blazepose_static():
    from posestack.estimate.blazepose import BlazePose

    # MediaPipe's own pipeline: its detector (the parity tests compare with MediaPipe)
    return BlazePose(static=True, max_people=1, num_threads=1, person_detector="blazepose")
