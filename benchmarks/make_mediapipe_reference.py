"""Record MediaPipe's legacy Pose solution output on sample video frames, as a test fixture.

Runs INSIDE the throwaway MediaPipe venv (``bash benchmarks/mediapipe_env.sh`` creates it and
prints its python on the last line); it does not import posestack, whose own BlazePose
implementation is compared against the JSON written here.

Frames are decoded with PyAV exactly as posestack decodes them
(``frame.to_ndarray(format="rgb24")``, no rotation applied; frame index = decode order counted
from 0) and passed as RGB to ``mediapipe.solutions.pose.Pose``.

Two modes, each stored in its own top-level section of the output:

* static (default), key ``"static"``: ``static_image_mode=True``, ``smooth_landmarks=False``;
  only the listed frames are decoded and processed, each on its own (detector on every frame).
* ``--video-mode``, key ``"video_mode"``: ``static_image_mode=False``, ``smooth_landmarks=True``;
  a fresh Pose object per video processes ALL frames 0..N-1 in order (detector once, then
  landmark-based tracking, plus MediaPipe's landmark smoothing) and only the listed frames are
  stored. The legacy solution API stamps packets at a simulated 30 fps (33333 us per call),
  whatever the video's real frame rate; the smoothing filters see those timestamps.

Both use ``model_complexity=1`` (pose_landmark_full), ``enable_segmentation=False`` and
``min_detection_confidence=0.5`` (``min_tracking_confidence`` left at its default 0.5).

Usage (from the repository root)::

    PY=$(bash benchmarks/mediapipe_env.sh | tail -n 1)
    V=/path/to/videos
    $PY benchmarks/make_mediapipe_reference.py --video $V/cam01.mp4 --video $V/cam03.mp4 \\
        --frames 0:100:10 --out tests/data/mediapipe_reference.json
    $PY benchmarks/make_mediapipe_reference.py --video-mode --merge --video $V/cam01.mp4 \\
        --frames 0:100:10 --out tests/data/mediapipe_reference.json

``--frames`` takes comma-separated indices and/or ``start:stop[:step]`` ranges
(``0,10,20`` or ``0:100:10``). ``--merge`` keeps the other mode's section of an existing output
file and replaces only the section computed now; each section carries its own header (versions,
settings, date, exact command line).

Output layout (see the ``conventions`` field in the file)::

    {"format": ..., "conventions": {...}, "landmark_names": [33 names],
     "static": {"header": {...}, "frames": [FRAME, ...]},
     "video_mode": {"header": {...}, "frames": [FRAME, ...]}}
    FRAME = {"video": "cam01.mp4", "frame": 0, "width": W, "height": H, "detected": bool,
             "landmarks": 33x[x_px, y_px, z_norm] | null, "visibility": 33 | null,
             "presence": 33 | null (the legacy solution leaves it unset),
             "world": 33x[x_m, y_m, z_m] | null}
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import av
import mediapipe as mp
import numpy as np

from _common import iter_indexed_frames, parse_frames

FORMAT = "posestack.mediapipe_reference/1"
PX_DECIMALS = 4
Z_DECIMALS = 6
SCORE_DECIMALS = 4
WORLD_DECIMALS = 5

CONVENTIONS = {
    "landmarks": (
        "33 x [x_px, y_px, z]: x_px = x_norm * width, y_px = y_norm * height (MediaPipe "
        "normalized coordinates times the decoded image size, origin at the top-left corner of "
        "the top-left pixel, no half-pixel shift); z is MediaPipe's raw normalized z (depth "
        "relative to the hip midpoint, smaller = closer to the camera, on roughly the scale of "
        "x_norm: multiply by width for pixels), not converted."
    ),
    "visibility": "33 values from NormalizedLandmark.visibility (sigmoid already applied).",
    "presence": (
        "33 values from NormalizedLandmark.presence (sigmoid already applied), or null when "
        "MediaPipe leaves the field unset: the legacy Pose solution of mediapipe 0.10.21 does "
        "not fill it, so it is null in every frame there."
    ),
    "world": (
        "33 x [x, y, z] in metres from pose_world_landmarks: origin at the hip midpoint, "
        "y pointing down, as MediaPipe gives them."
    ),
    "no_pose": "landmarks, visibility, presence and world are null and detected is false.",
    "frame": "0-based index in PyAV decode order of the first video stream.",
    "image": (
        "PyAV frame.to_ndarray(format='rgb24'), container rotation metadata ignored; width and "
        "height are those of that array."
    ),
    "rounding": (
        f"px to {PX_DECIMALS} decimals, z to {Z_DECIMALS}, visibility/presence to "
        f"{SCORE_DECIMALS}, world metres to {WORLD_DECIMALS}."
    ),
}


def make_pose(video_mode: bool) -> Any:
    return mp.solutions.pose.Pose(
        static_image_mode=not video_mode,
        model_complexity=1,
        smooth_landmarks=video_mode,
        enable_segmentation=False,
        min_detection_confidence=0.5,
    )


def record(video: str, index: int, rgb: np.ndarray, result: Any) -> dict[str, Any]:
    height, width = rgb.shape[:2]
    entry: dict[str, Any] = {
        "video": video,
        "frame": index,
        "width": width,
        "height": height,
        "detected": result.pose_landmarks is not None,
        "landmarks": None,
        "visibility": None,
        "presence": None,
        "world": None,
    }
    if result.pose_landmarks is None:
        return entry
    lms = result.pose_landmarks.landmark
    entry["landmarks"] = [
        [
            round(lm.x * width, PX_DECIMALS),
            round(lm.y * height, PX_DECIMALS),
            round(lm.z, Z_DECIMALS),
        ]
        for lm in lms
    ]
    entry["visibility"] = [round(lm.visibility, SCORE_DECIMALS) for lm in lms]
    if any(lm.HasField("presence") for lm in lms):
        entry["presence"] = [round(lm.presence, SCORE_DECIMALS) for lm in lms]
    if result.pose_world_landmarks is not None:
        entry["world"] = [
            [round(lm.x, WORLD_DECIMALS), round(lm.y, WORLD_DECIMALS), round(lm.z, WORLD_DECIMALS)]
            for lm in result.pose_world_landmarks.landmark
        ]
    return entry


def run_video(path: Path, frames: list[int], video_mode: bool) -> list[dict[str, Any]]:
    wanted = set(frames)
    entries = []
    with make_pose(video_mode) as pose:
        # Static mode stops decoding after the last wanted frame; video mode tracks through all.
        last = None if video_mode else frames[-1]
        for index, rgb in iter_indexed_frames(path, last):
            if not video_mode and index not in wanted:
                continue
            rgb.flags.writeable = False
            result = pose.process(rgb)
            if index in wanted:
                entries.append(record(path.name, index, rgb, result))
    found = {e["frame"] for e in entries}
    if found != wanted:
        missing = sorted(wanted - found)
        raise SystemExit(f"{path}: frames {missing} not in the video ({len(found)} decoded)")
    return entries


def header(video_mode: bool, frames: list[int], videos: list[Path]) -> dict[str, Any]:
    return {
        "mode": "video" if video_mode else "static",
        "mediapipe": mp.__version__,
        "numpy": np.__version__,
        "av": av.__version__,
        "python": sys.version.split()[0],
        "solution": "mediapipe.solutions.pose.Pose",
        "static_image_mode": not video_mode,
        "model_complexity": 1,
        "smooth_landmarks": video_mode,
        "enable_segmentation": False,
        "min_detection_confidence": 0.5,
        "min_tracking_confidence": 0.5,
        "processed_frames": "all frames 0..N-1 in order" if video_mode else "listed frames only",
        "videos": [p.name for p in videos],
        "frames": frames,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": shlex.join(sys.orig_argv),
    }


def dumps(doc: dict[str, Any]) -> str:
    """JSON with readable headers but one line per frame record, to keep the file small."""
    sections = {}
    for key in ("static", "video_mode"):
        if key in doc:
            sections[key] = doc[key]
    head = {k: v for k, v in doc.items() if k not in sections}
    lines = ["{"]
    items = [
        f"  {json.dumps(k)}: {json.dumps(v, indent=2)}".replace("\n", "\n  ")
        for k, v in head.items()
    ]
    for key, section in sections.items():
        frames = ",\n".join(
            "      " + json.dumps(f, separators=(",", ":")) for f in section["frames"]
        )
        hdr = json.dumps(section["header"], indent=2).replace("\n", "\n    ")
        items.append(
            f'  {json.dumps(key)}: {{\n    "header": {hdr},\n    "frames": [\n{frames}\n    ]\n  }}'
        )
    lines.append(",\n".join(items))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--video", action="append", required=True, type=Path, help="video file (repeatable)"
    )
    parser.add_argument(
        "--frames",
        required=True,
        type=parse_frames,
        help="frame indices: '0,10,20' and/or 'start:stop[:step]'",
    )
    parser.add_argument("--out", required=True, type=Path, help="output JSON path")
    parser.add_argument(
        "--video-mode",
        action="store_true",
        help="tracking + smoothing over all frames; stored under 'video_mode'",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other mode's section of an existing --out file",
    )
    args = parser.parse_args(argv)

    key = "video_mode" if args.video_mode else "static"
    frames_out: list[dict[str, Any]] = []
    for path in args.video:
        entries = run_video(path, args.frames, args.video_mode)
        detected = sum(e["detected"] for e in entries)
        misses = [e["frame"] for e in entries if not e["detected"]]
        print(
            f"{key} {path.name}: pose in {detected}/{len(entries)} frames"
            + (f" (none in {misses})" if misses else ""),
            file=sys.stderr,
        )
        frames_out.extend(entries)

    doc: dict[str, Any] = {}
    if args.merge and args.out.exists():
        doc = json.loads(args.out.read_text())
    doc["format"] = FORMAT
    doc["conventions"] = CONVENTIONS
    doc["landmark_names"] = [lm.name.lower() for lm in mp.solutions.pose.PoseLandmark]
    doc[key] = {"header": header(args.video_mode, args.frames, args.video), "frames": frames_out}
    ordered = {k: doc[k] for k in ("format", "conventions", "landmark_names") if k in doc}
    ordered.update({k: v for k, v in doc.items() if k not in ordered})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dumps(ordered))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.1f} KiB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
