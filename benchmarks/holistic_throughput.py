"""Time MediaPipe's legacy Holistic solution in video mode, the baseline for posestack's holistic.

Runs INSIDE the throwaway MediaPipe venv (``bash benchmarks/mediapipe_env.sh`` creates it and
prints its python on the last line); it does not import posestack.

Settings: ``mediapipe.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1,
smooth_landmarks=True, refine_face_landmarks=False, enable_segmentation=False)`` (pose detector
on the first frame, then landmark-based tracking of pose, hands and face, as in a video), fed RGB
frames decoded with PyAV (``frame.to_ndarray(format="rgb24")``, made C-contiguous), like
posestack decodes them. Holistic runs the hand and face models only when their ROI (derived from
the pose, or tracked from the previous frame) is usable, so its cost per frame depends on how
many parts are found: ``frames_with_*`` in the output say how often each part was.

Two ways to run:

* default (in memory): the first ``--max-frames`` frames are decoded into memory first (decode
  time excluded). ONE Holistic object is created and warmed up on the first ``--warmup`` frames
  (untimed; the first call of a fresh graph is slow), then the frames are processed ``--repeat``
  times in a row by that same object and timed: steady-state throughput of the solution alone.
  Between repeats the video jumps from the last frame back to the first, as a looping clip would;
  the tracker handles that as it would any cut. ``--fresh`` instead creates a new Holistic object
  per repeat (construction untimed, its first slow call timed, no warm-up within it), i.e. the
  cost of processing the clip from scratch. Peak RSS here includes the decoded frames held in
  memory (``frames_mb``).
* ``--loop K``: streaming, to measure peak memory on a K-times longer input. One Holistic object
  processes the clip K times in a row, frames decoded one at a time from PyAV (container
  re-opened each pass, nothing kept), so peak RSS is that of the solution plus one frame.
  Time here INCLUDES decoding and colour conversion; no warm-up.

``--dump PATH.npz`` (in-memory mode) also saves the landmarks of the first timed pass over the
clip (frames 0..n-1 in order, after the warm-up): ``xy`` ``(n, 543, 2)`` float32 pixels in
posestack's ``holistic543`` layout (pose 33, left hand 21, right hand 21, face 468; the person's
left and right, as MediaPipe names them; NaN where a part was not found; x = x_norm * width,
y = y_norm * height) and ``found`` ``(n, 4)`` bool (pose, left hand, right hand, face). The
result objects are only kept during the timed loop and converted after it, so timing is not
affected beyond appending to a list.

Output: one JSON line with ``--json`` (otherwise a short text line), starting with
``{"frames": n, "seconds": s, "fps": n/s, "peak_rss_mb": ..., "vm_hwm_mb": ...,
"mediapipe": "0.10.21", ...}`` where ``frames`` counts timed frames only, ``cpu_seconds`` is the
process CPU time over the timed part (``cpu_seconds / seconds`` > 1 means MediaPipe used more
than one core), ``peak_rss_mb`` is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at the end, in
MiB, and ``vm_hwm_mb`` the same peak from /proc/self/status (Linux; null elsewhere), which unlike
ru_maxrss does not inherit the launching process's peak.

Usage (from the repository root)::

    PY=$(bash benchmarks/mediapipe_env.sh | tail -n 1)
    $PY benchmarks/holistic_throughput.py --video cam01.mp4 --max-frames 100 --repeat 3 --json
    $PY benchmarks/holistic_throughput.py --video cam01.mp4 --loop 10 --json
    $PY benchmarks/holistic_throughput.py --video cam01.mp4 --json --dump /tmp/mp_cam01.npz
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

PARTS = {
    "pose": "pose_landmarks",
    "left_hand": "left_hand_landmarks",
    "right_hand": "right_hand_landmarks",
    "face": "face_landmarks",
}


def make_holistic() -> Any:
    return mp.solutions.holistic.Holistic(
        static_image_mode=False,
        model_complexity=1,
        smooth_landmarks=True,
        refine_face_landmarks=False,
        enable_segmentation=False,
        min_detection_confidence=0.5,
        min_tracking_confidence=0.5,
    )


# offset and length of each part in the holistic543 layout of --dump
LAYOUT = {"pose": (0, 33), "left_hand": (33, 21), "right_hand": (54, 21), "face": (75, 468)}
N_POINTS = 543


def write_dump(path: Path, results: list[Any], width: int, height: int) -> None:
    """Save the landmarks of ``results`` (one per frame) as pixels, see ``--dump``."""
    xy = np.full((len(results), N_POINTS, 2), np.nan, np.float32)
    found = np.zeros((len(results), len(PARTS)), bool)
    for i, result in enumerate(results):
        for j, (part, field) in enumerate(PARTS.items()):
            landmarks = getattr(result, field)
            if landmarks is None:
                continue
            off, n = LAYOUT[part]
            pts = np.array([(lm.x, lm.y) for lm in landmarks.landmark], np.float64)[:n]
            xy[i, off : off + len(pts)] = pts * (width, height)
            found[i, j] = True
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, xy=xy, found=found, parts=np.array(list(PARTS)), width=width, height=height
    )


class Counter:
    """Counts the frames in which each part was found."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(PARTS, 0)

    def add(self, result: Any) -> None:
        for part, field in PARTS.items():
            self.counts[part] += getattr(result, field) is not None

    def as_dict(self) -> dict[str, int]:
        return {f"frames_with_{part}": n for part, n in self.counts.items()}


def run_in_memory(args: argparse.Namespace) -> dict[str, Any]:
    frames = list(iter_rgb_frames(args.video, args.max_frames))
    if not frames:
        raise SystemExit(f"{args.video}: no frames decoded")
    found = Counter()
    kept: list[Any] = []  # --dump: the results of the first timed pass, converted afterwards
    keep = args.dump is not None
    if args.fresh:
        seconds = cpu = 0.0
        for r in range(args.repeat):
            with make_holistic() as holistic:
                t0, c0 = time.perf_counter(), time.process_time()
                for rgb in frames:
                    result = holistic.process(rgb)
                    found.add(result)
                    if keep and r == 0:
                        kept.append(result)
                seconds += time.perf_counter() - t0
                cpu += time.process_time() - c0
    else:
        with make_holistic() as holistic:
            for rgb in frames[: args.warmup]:
                holistic.process(rgb)
            t0, c0 = time.perf_counter(), time.process_time()
            for r in range(args.repeat):
                for rgb in frames:
                    result = holistic.process(rgb)
                    found.add(result)
                    if keep and r == 0:
                        kept.append(result)
            seconds = time.perf_counter() - t0
            cpu = time.process_time() - c0
    if keep:
        height, width = frames[0].shape[:2]
        write_dump(args.dump, kept, width, height)
    return {
        "mode": "in_memory",
        "holistic_objects": "fresh per repeat" if args.fresh else "one, warmed up",
        "warmup_frames": 0 if args.fresh else min(args.warmup, len(frames)),
        "clip_frames": len(frames),
        "repeat": args.repeat,
        "frames": len(frames) * args.repeat,
        **found.as_dict(),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "decode_timed": False,
        "frame_shape": list(frames[0].shape),
        "frames_mb": sum(f.nbytes for f in frames) / 2**20,
        "dump": str(args.dump) if keep else None,
    }


def run_streaming(args: argparse.Namespace) -> dict[str, Any]:
    n = 0
    found = Counter()
    shape: list[int] = []
    with make_holistic() as holistic:
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.loop):
            for rgb in iter_rgb_frames(args.video, args.max_frames):
                found.add(holistic.process(rgb))
                n += 1
                shape = list(rgb.shape)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
    if n == 0:
        raise SystemExit(f"{args.video}: no frames decoded")
    return {
        "mode": "streaming",
        "holistic_objects": "one",
        "warmup_frames": 0,
        "clip_frames": n // args.loop,
        "loop": args.loop,
        "frames": n,
        **found.as_dict(),
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
        "--fresh", action="store_true", help="in-memory mode: a new Holistic object per repeat"
    )
    parser.add_argument(
        "--loop",
        type=int,
        default=None,
        metavar="K",
        help="streaming mode: decode and process the clip K times with one Holistic object",
    )
    parser.add_argument(
        "--dump",
        type=Path,
        default=None,
        metavar="PATH.npz",
        help="in-memory mode: save the landmarks of the first timed pass (pixels, holistic543)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0 or (args.loop is not None and args.loop < 1):
        parser.error("--repeat and --loop must be >= 1, --warmup >= 0")
    if args.dump is not None and args.loop is not None:
        parser.error("--dump works in in-memory mode only (not with --loop)")

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
            "solution": "mediapipe.solutions.holistic.Holistic",
            "model_complexity": 1,
            "static_image_mode": False,
            "smooth_landmarks": True,
            "refine_face_landmarks": False,
            "enable_segmentation": False,
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
        }
    )
    first = ("frames", "seconds", "fps", "peak_rss_mb", "vm_hwm_mb", "mediapipe")
    ordered = {k: result.pop(k) for k in first}
    ordered.update(result)
    for key, value in ordered.items():
        if isinstance(value, float):
            ordered[key] = round(value, 4)
    if args.json:
        print(json.dumps(ordered), flush=True)
    else:
        parts = ", ".join(f"{p} {ordered[f'frames_with_{p}']}" for p in PARTS)
        print(
            f"{ordered['video']}: {ordered['frames']} frames in {ordered['seconds']:.2f} s = "
            f"{ordered['fps']:.1f} fps ({ordered['mode']}, cpu util {ordered['cpu_util']:.2f}), "
            f"found: {parts}; peak RSS {ordered['peak_rss_mb']:.0f} MiB, "
            f"mediapipe {ordered['mediapipe']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
