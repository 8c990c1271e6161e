"""Time MediaPipe's legacy Pose solution in video mode, the baseline for posestack's BlazePose.

Runs INSIDE the throwaway MediaPipe venv (``bash benchmarks/mediapipe_env.sh`` creates it and
prints its python on the last line); it does not import posestack.

Settings: ``mediapipe.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
smooth_landmarks=True, enable_segmentation=False)`` (detector on the first frame, then
landmark-based tracking, as in a video), fed RGB frames decoded with PyAV
(``frame.to_ndarray(format="rgb24")``, made C-contiguous), like posestack decodes them.

Two ways to run:

* default (in memory): the first ``--max-frames`` frames are decoded into memory first (decode
  time excluded). ONE Pose object is created and warmed up on the first ``--warmup`` frames
  (untimed; the first call of a fresh graph costs ~0.1-0.2 s), then the frames are processed
  ``--repeat`` times in a row by that same object and timed: steady-state throughput of the
  solution alone. Between repeats the video jumps from the last frame back to the first, as a
  looping clip would; the tracker handles that as it would any cut. ``--fresh`` instead creates
  a new Pose object per repeat (construction untimed, its first slow call timed, no warm-up
  within it), i.e. the cost of processing the clip from scratch. Peak RSS here includes the
  decoded frames held in memory (``frames_mb``).
* ``--loop K``: streaming, to measure peak memory on a K-times longer input. One Pose object
  processes the clip K times in a row, frames decoded one at a time from PyAV (container
  re-opened each pass, nothing kept), so peak RSS is that of the solution plus one frame.
  Time here INCLUDES decoding and colour conversion; no warm-up.

Output: one JSON line with ``--json`` (otherwise a short text line), e.g.
``{"frames": n, "seconds": s, "fps": n/s, "peak_rss_mb": ..., "mediapipe": "0.10.21", ...}``
where ``frames`` counts timed frames only, ``cpu_seconds`` is the process CPU time over the timed
part (``cpu_seconds / seconds`` > 1 means MediaPipe used more than one core), and
``peak_rss_mb`` is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at the end, in MiB (on Linux
also ``vm_hwm_mb``, the same peak from /proc/self/status, which unlike ru_maxrss does not inherit
the launching process's peak).

Usage (from the repository root)::

    PY=$(bash benchmarks/mediapipe_env.sh | tail -n 1)
    $PY benchmarks/mediapipe_throughput.py --video cam01.mp4 --max-frames 100 --repeat 3 --json
    $PY benchmarks/mediapipe_throughput.py --video cam01.mp4 --loop 10 --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import av
import mediapipe as mp
import numpy as np

from _common import iter_rgb_frames, peak_rss_mb, vm_hwm_mb


def make_pose() -> Any:
    return mp.solutions.pose.Pose(
        static_image_mode=False,
        model_complexity=1,
        smooth_landmarks=True,
        enable_segmentation=False,
        min_detection_confidence=0.5,
    )


def run_in_memory(args: argparse.Namespace) -> dict[str, Any]:
    frames = list(iter_rgb_frames(args.video, args.max_frames))
    if not frames:
        raise SystemExit(f"{args.video}: no frames decoded")
    detected = 0
    if args.fresh:
        seconds = cpu = 0.0
        for _ in range(args.repeat):
            with make_pose() as pose:
                t0, c0 = time.perf_counter(), time.process_time()
                for rgb in frames:
                    detected += pose.process(rgb).pose_landmarks is not None
                seconds += time.perf_counter() - t0
                cpu += time.process_time() - c0
    else:
        with make_pose() as pose:
            for rgb in frames[: args.warmup]:
                pose.process(rgb)
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(args.repeat):
                for rgb in frames:
                    detected += pose.process(rgb).pose_landmarks is not None
            seconds = time.perf_counter() - t0
            cpu = time.process_time() - c0
    return {
        "mode": "in_memory",
        "pose_objects": "fresh per repeat" if args.fresh else "one, warmed up",
        "warmup_frames": 0 if args.fresh else min(args.warmup, len(frames)),
        "clip_frames": len(frames),
        "repeat": args.repeat,
        "frames": len(frames) * args.repeat,
        "frames_with_pose": detected,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "decode_timed": False,
        "frame_shape": list(frames[0].shape),
        "frames_mb": sum(f.nbytes for f in frames) / 2**20,
    }


def run_streaming(args: argparse.Namespace) -> dict[str, Any]:
    n = detected = 0
    shape: list[int] = []
    with make_pose() as pose:
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.loop):
            for rgb in iter_rgb_frames(args.video, args.max_frames):
                detected += pose.process(rgb).pose_landmarks is not None
                n += 1
                shape = list(rgb.shape)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
    if n == 0:
        raise SystemExit(f"{args.video}: no frames decoded")
    return {
        "mode": "streaming",
        "pose_objects": "one",
        "warmup_frames": 0,
        "clip_frames": n // args.loop,
        "loop": args.loop,
        "frames": n,
        "frames_with_pose": detected,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "decode_timed": True,
        "frame_shape": shape,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", required=True, type=Path, help="input video")
    parser.add_argument(
        "--max-frames", type=int, default=None, help="use the first N frames (default: all)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="in-memory mode: process the frames R times"
    )
    parser.add_argument(
        "--warmup", type=int, default=5, help="in-memory mode: untimed warm-up frames (default 5)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="in-memory mode: a new Pose object per repeat"
    )
    parser.add_argument(
        "--loop",
        type=int,
        default=None,
        metavar="K",
        help="streaming mode: decode and process the clip K times with one Pose object",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0 or (args.loop is not None and args.loop < 1):
        parser.error("--repeat and --loop must be >= 1, --warmup >= 0")

    result = run_streaming(args) if args.loop is not None else run_in_memory(args)
    result.update(
        {
            "fps": result["frames"] / result["seconds"],
            "ms_per_frame": 1000 * result["seconds"] / result["frames"],
            "cpu_util": result["cpu_seconds"] / result["seconds"],
            "peak_rss_mb": peak_rss_mb(),
            "vm_hwm_mb": vm_hwm_mb(),
            "mediapipe": mp.__version__,
            "numpy": np.__version__,
            "av": av.__version__,
            "video": args.video.name,
            "model_complexity": 1,
            "static_image_mode": False,
            "smooth_landmarks": True,
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
        }
    )
    ordered = {k: result.pop(k) for k in ("frames", "seconds", "fps", "peak_rss_mb", "mediapipe")}
    ordered.update(result)
    for key, value in ordered.items():
        if isinstance(value, float):
            ordered[key] = round(value, 4)
    if args.json:
        print(json.dumps(ordered), flush=True)
    else:
        print(
            f"{ordered['video']}: {ordered['frames']} frames in {ordered['seconds']:.2f} s = "
            f"{ordered['fps']:.1f} fps ({ordered['mode']}, cpu util {ordered['cpu_util']:.2f}), "
            f"peak RSS {ordered['peak_rss_mb']:.0f} MiB, mediapipe {ordered['mediapipe']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
