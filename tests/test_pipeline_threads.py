"""The threads a run uses around its models: OpenCV's pool and the video decoder."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import posestack
from posestack import pipeline
from posestack.io.media import FrameReader, MediaInfo, probe

pytestmark = pytest.mark.assets


def test_estimate_pass_runs_opencv_on_one_thread_and_restores_it(p2s_videos, monkeypatch):
    from posestack.estimate import blazepose

    seen = []
    original = blazepose.BlazePose.__call__

    def spy(self, image, time=None):
        seen.append(cv2.getNumThreads())
        return original(self, image, time)

    monkeypatch.setattr(blazepose.BlazePose, "__call__", spy)
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        posestack.run(p2s_videos / "cam01.mp4", None, end=0.1, video=False, progress=False)
        assert cv2.getNumThreads() == 2  # the caller's setting is back
    finally:
        cv2.setNumThreads(before)
    assert seen and set(seen) == {1}


def test_decoder_threads_by_frame_size():
    def info(w, h):
        return MediaInfo(None, "video", w, h, 30.0, 10, 1 / 3, "h264")

    assert pipeline._decode_threads(info(1768, 994)) == 1
    assert pipeline._decode_threads(info(1080, 1920)) == 1
    assert pipeline._decode_threads(info(3840, 2160)) is None  # FFmpeg's own choice


def test_one_decoder_thread_gives_the_same_frames(p2s_videos):
    info = probe(p2s_videos / "cam01.mp4")
    one = list(FrameReader(info, end=0.2, threads=1))
    auto = list(FrameReader(info, end=0.2))
    assert len(one) == len(auto) == 12
    for (i, t, a), (j, u, b) in zip(one, auto, strict=True):
        assert (i, t) == (j, u) and np.array_equal(a, b)


def test_holistic_body_leaves_the_cores_to_the_parts_pool(p2s_videos, monkeypatch):
    from posestack.estimate import blazepose, holistic

    threads = []
    original = blazepose.BlazePose.__init__

    def spy(self, **kwargs):
        threads.append(kwargs["num_threads"])
        original(self, **kwargs)

    monkeypatch.setattr(holistic.BlazePose, "__init__", spy)
    runs = [posestack.run(p2s_videos / "cam01.mp4", None, estimator="holistic", end=0.1,
                          video=False, progress=False, num_threads=n)[0] for n in (1, 2, 4)]
    # one thread: no pool; two: the pool and a one-thread body; four: two for the body
    assert threads == [1, 1, 2]
    a = runs[0].keypoints2d
    for r in runs[1:]:  # the same results whatever the threads
        b = r.keypoints2d
        assert np.array_equal(a.coords, b.coords, equal_nan=True)
        assert np.array_equal(a.scores, b.scores)


def test_default_threads_follow_the_load(monkeypatch):
    monkeypatch.setattr(pipeline.os, "cpu_count", lambda: 2)
    busy = {"cores": 0.0}
    monkeypatch.setattr(pipeline, "others_busy", lambda: busy["cores"])
    # what a run that just ended leaves in the 1-minute load average does not count
    monkeypatch.setattr(pipeline.os, "getloadavg", lambda: (2.3, 2.0, 1.5))
    assert pipeline.default_threads("holistic") == 2  # a core is free
    # the body alone on two cores: the decoder has the other core
    assert pipeline.default_threads("blazepose") == 1
    assert pipeline.default_threads() == 1
    busy["cores"] = 1.0  # another process keeps a core busy now
    assert pipeline.default_threads("holistic") == 1
    monkeypatch.setattr(pipeline.os, "cpu_count", lambda: 8)
    busy["cores"] = 6.0
    assert pipeline.default_threads("holistic") == 2
    assert pipeline.default_threads("blazepose") == 2
    busy["cores"] = 7.0
    assert pipeline.default_threads("blazepose") == 1
    monkeypatch.setattr(pipeline.os, "cpu_count", lambda: 1)
    assert pipeline.default_threads("holistic") == 1

    # no /proc/stat (not Linux): the load average decides
    monkeypatch.setattr(pipeline, "others_busy", lambda: None)
    monkeypatch.setattr(pipeline.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(pipeline.os, "getloadavg", lambda: (0.3, 0.5, 0.5))
    assert pipeline.default_threads("holistic") == 2
    monkeypatch.setattr(pipeline.os, "getloadavg", lambda: (2.2, 2.0, 1.5))
    assert pipeline.default_threads("holistic") == 1

    def no_load():
        raise OSError("no load average")

    monkeypatch.setattr(pipeline.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(pipeline.os, "getloadavg", no_load)
    assert pipeline.default_threads("rtmpose") == 2


def test_others_busy_sees_another_process_and_not_its_own_work():
    import subprocess
    import sys
    import time

    from posestack import cores

    cores.others_busy(0.05)  # start a fresh window
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.3:  # this process's own work is not "others"
        pass
    own = cores.others_busy(0.05)
    if own is None:
        pytest.skip("no /proc/stat on this system")
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # the interpreter starts
        cores.others_busy(0.05)
        time.sleep(0.5)
        other = cores.others_busy(0.05)
    finally:
        spin.kill()
        spin.wait()
    assert other - own > 0.6, (own, other)  # one more busy core (other tests may run too)


def test_run_uses_the_default_threads(p2s_videos, monkeypatch):
    import posestack.estimate as estimate

    asked = []
    original = estimate.make_estimator

    def spy(name, **kwargs):
        asked.append(kwargs["num_threads"])
        return original(name, **kwargs)

    monkeypatch.setattr(estimate, "make_estimator", spy)
    monkeypatch.setattr(pipeline, "default_threads", lambda estimator="blazepose": 1)
    posestack.run(p2s_videos / "cam01.mp4", None, end=0.05, video=False, progress=False)
    posestack.run(p2s_videos / "cam01.mp4", None, end=0.05, video=False, progress=False,
                  num_threads=2)
    assert asked == [1, 2]
