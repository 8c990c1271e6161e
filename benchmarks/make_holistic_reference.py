"""Record MediaPipe's legacy Holistic solution output on sample video frames, as a test fixture.

Runs INSIDE the throwaway MediaPipe venv (``bash benchmarks/mediapipe_env.sh`` creates it and
prints its python on the last line); it does not import posestack, whose own holistic pipeline
(pose + hands + face) is compared against the JSON written here.

Frames are decoded with PyAV exactly as posestack decodes them
(``frame.to_ndarray(format="rgb24")``, made C-contiguous, no rotation applied; frame index =
decode order counted from 0) and passed as RGB to ``mediapipe.solutions.holistic.Holistic``.

Two modes, each stored in its own top-level section of the output:

* static (default), key ``"static"``: ``static_image_mode=True``, ``smooth_landmarks=False``;
  only the listed frames are decoded and processed, each on its own (pose detector on every
  frame; hand and face ROIs are derived from that frame's pose landmarks).
* ``--video-mode``, key ``"video_mode"``: ``static_image_mode=False``, ``smooth_landmarks=True``;
  a fresh Holistic object per video processes ALL frames 0..N-1 in order (pose detector once, then
  landmark-based tracking of pose, hands and face, plus MediaPipe's landmark smoothing) and only
  the listed frames are stored. The legacy solution API stamps packets at a simulated 30 fps
  (33333 us per call), whatever the video's real frame rate; the smoothing filters see those.

Both use ``model_complexity=1`` (pose_landmark_full), ``refine_face_landmarks=False`` (468 face
points, no iris), ``enable_segmentation=False``, ``min_detection_confidence=0.5`` and
``min_tracking_confidence=0.5`` (the defaults).

``--require PART[,PART...]`` (parts: pose, left_hand, right_hand, face) stores only the frames
where all those parts were found; the others are listed, with what was found, in the section
header under ``dropped_incomplete``. This restricts a fixture to well detected frames
reproducibly from the command line.

Usage (from the repository root)::

    PY=$(bash benchmarks/mediapipe_env.sh | tail -n 1)
    V=/path/to/videos
    $PY benchmarks/make_holistic_reference.py --video $V/cam01.mp4 --video $V/cam03.mp4 \\
        --video $V/cam04.mp4 --frames 0:100:10 --require pose,left_hand,right_hand \\
        --out tests/data/holistic_reference.json
    $PY benchmarks/make_holistic_reference.py --video-mode --merge --video $V/cam01.mp4 \\
        --frames 0:100:10 --out tests/data/holistic_reference.json

``--frames`` takes comma-separated indices and/or ``start:stop[:step]`` ranges
(``0,10,20`` or ``0:100:10``). ``--merge`` keeps the other mode's section of an existing output
file and replaces only the section computed now; each section carries its own header (versions,
settings, date, exact command line, handedness check).

Output layout (see the ``conventions`` field in the file)::

    {"format": ..., "conventions": {...}, "pose_landmark_names": [33], "hand_landmark_names": [21],
     "static": {"header": {...}, "frames": [FRAME, ...]},
     "video_mode": {"header": {...}, "frames": [FRAME, ...]}}
    FRAME = {"video": "cam01.mp4", "frame": 0, "width": W, "height": H,
             "detected": {"pose": bool, "left_hand": bool, "right_hand": bool, "face": bool},
             "pose": 33x[x_px, y_px, z] | null, "visibility": 33 | null,
             "left_hand": 21x[x_px, y_px, z] | null, "right_hand": 21x[x_px, y_px, z] | null,
             "face": 468x[x_px, y_px, z] | null,
             "hand_wrist_nearest_pose": {"left_hand": 15 | 16 | null, "right_hand": ...}}
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

FORMAT = "posestack.holistic_reference/1"
POSE_PX_DECIMALS = 4
POSE_Z_DECIMALS = 6
SCORE_DECIMALS = 4
PART_PX_DECIMALS = 2
PART_Z_DECIMALS = 4
POSE_LEFT_WRIST = 15
POSE_RIGHT_WRIST = 16
HAND_KEYS = ("left_hand", "right_hand")
PARTS = ("pose", "left_hand", "right_hand", "face")

CONVENTIONS = {
    "pose": (
        "33 x [x_px, y_px, z]: x_px = x_norm * width, y_px = y_norm * height (MediaPipe "
        "normalized coordinates times the decoded image size, origin at the top-left corner of "
        "the top-left pixel, no half-pixel shift); z is MediaPipe's raw normalized z (depth "
        "relative to the hip midpoint, smaller = closer to the camera, on roughly the scale of "
        "x_norm: multiply by width for pixels), not converted. Same convention as "
        "mediapipe_reference.json; Holistic clears the presence field, so none is stored."
    ),
    "visibility": "33 values from NormalizedLandmark.visibility (sigmoid already applied).",
    "left_hand/right_hand": (
        "21 x [x_px, y_px, z_raw] from left_hand_landmarks / right_hand_landmarks, x/y as for "
        "pose; z_raw is MediaPipe's raw normalized hand z (depth relative to the hand's wrist, "
        "landmark 0, smaller = closer, roughly on the scale of x_norm), not converted. Point "
        "order is mediapipe.solutions.hands.HandLandmark (hand_landmark_names). null when that "
        "hand was not found."
    ),
    "handedness": (
        "MediaPipe Holistic names hands from the PERSON's point of view (per the MediaPipe "
        "Holistic docs), like the pose landmarks: left_hand is the person's left hand, whose ROI "
        "Holistic derives from pose landmarks 15/17/19 (left_wrist/left_pinky/left_index); "
        "right_hand from 16/18/20. The Hands solution's 'handedness' label instead assumes a "
        "mirrored (selfie) image, so on these non-mirrored frames it mostly reads the other way "
        "('Right' for Holistic's left_hand). Checked here: each frame's "
        "hand_wrist_nearest_pose gives which pose wrist (15 = left_wrist, 16 = right_wrist) is "
        "nearest, in pixels, to that hand's landmark 0; the section header's handedness_check "
        "counts them, and handedness_verified below sums them over this file."
    ),
    "face": (
        "468 x [x_px, y_px, z_raw] from face_landmarks (refine_face_landmarks=False: no iris "
        "points), x/y as for pose; z_raw is MediaPipe's raw normalized face-mesh z (depth "
        "relative to the face's centre of mass, smaller = closer, roughly on the scale of "
        "x_norm), not converted. Point order is the canonical 468-point face mesh. null when no "
        "face was found."
    ),
    "detected": "Which of pose, left_hand, right_hand, face are non-null in this frame.",
    "no_pose": (
        "Holistic derives hand and face ROIs from the pose, so without a pose every part is null."
    ),
    "frame": "0-based index in PyAV decode order of the first video stream.",
    "image": (
        "PyAV frame.to_ndarray(format='rgb24'), made C-contiguous, container rotation metadata "
        "ignored; width and height are those of that array."
    ),
    "rounding": (
        f"pose px to {POSE_PX_DECIMALS} decimals and z to {POSE_Z_DECIMALS}; hand and face px to "
        f"{PART_PX_DECIMALS} decimals and z to {PART_Z_DECIMALS} (file size); visibility to "
        f"{SCORE_DECIMALS}."
    ),
}


def parse_parts(spec: str) -> list[str]:
    """Parse ``"pose,left_hand"`` into a list of part names."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise argparse.ArgumentTypeError(f"bad part list {spec!r}: parts are {', '.join(PARTS)}")
    return parts


def make_holistic(video_mode: bool) -> Any:
    return mp.solutions.holistic.Holistic(
        static_image_mode=not video_mode,
        model_complexity=1,
        smooth_landmarks=video_mode,
        refine_face_landmarks=False,
        enable_segmentation=False,
        min_detection_confidence=0.5,
        min_tracking_confidence=0.5,
    )


def part_points(landmarks: Any, width: int, height: int) -> list[list[float]] | None:
    if landmarks is None:
        return None
    return [
        [
            round(lm.x * width, PART_PX_DECIMALS),
            round(lm.y * height, PART_PX_DECIMALS),
            round(lm.z, PART_Z_DECIMALS),
        ]
        for lm in landmarks.landmark
    ]


def nearest_pose_wrist(hand: list[list[float]] | None, pose: list[list[float]] | None) -> Any:
    """Which pose wrist (15 or 16) is nearest, in pixels, to the hand's wrist (landmark 0)."""
    if hand is None or pose is None:
        return None
    hx, hy = hand[0][:2]
    dist = {
        i: float(np.hypot(pose[i][0] - hx, pose[i][1] - hy))
        for i in (POSE_LEFT_WRIST, POSE_RIGHT_WRIST)
    }
    return min(dist, key=dist.__getitem__)


def record(video: str, index: int, rgb: np.ndarray, result: Any) -> dict[str, Any]:
    height, width = rgb.shape[:2]
    pose = visibility = None
    if result.pose_landmarks is not None:
        lms = result.pose_landmarks.landmark
        pose = [
            [
                round(lm.x * width, POSE_PX_DECIMALS),
                round(lm.y * height, POSE_PX_DECIMALS),
                round(lm.z, POSE_Z_DECIMALS),
            ]
            for lm in lms
        ]
        visibility = [round(lm.visibility, SCORE_DECIMALS) for lm in lms]
    left = part_points(result.left_hand_landmarks, width, height)
    right = part_points(result.right_hand_landmarks, width, height)
    face = part_points(result.face_landmarks, width, height)
    return {
        "video": video,
        "frame": index,
        "width": width,
        "height": height,
        "detected": {
            "pose": pose is not None,
            "left_hand": left is not None,
            "right_hand": right is not None,
            "face": face is not None,
        },
        "hand_wrist_nearest_pose": {
            "left_hand": nearest_pose_wrist(left, pose),
            "right_hand": nearest_pose_wrist(right, pose),
        },
        "pose": pose,
        "visibility": visibility,
        "left_hand": left,
        "right_hand": right,
        "face": face,
    }


def run_video(path: Path, frames: list[int], video_mode: bool) -> list[dict[str, Any]]:
    wanted = set(frames)
    entries = []
    with make_holistic(video_mode) as holistic:
        # Static mode stops decoding after the last wanted frame; video mode tracks through all.
        last = None if video_mode else frames[-1]
        for index, rgb in iter_indexed_frames(path, last):
            if not video_mode and index not in wanted:
                continue
            rgb.flags.writeable = False
            result = holistic.process(rgb)
            if index in wanted:
                entries.append(record(path.name, index, rgb, result))
    found = {e["frame"] for e in entries}
    if found != wanted:
        missing = sorted(wanted - found)
        raise SystemExit(f"{path}: frames {missing} not in the video ({len(found)} decoded)")
    return entries


def handedness_check(entries: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    check: dict[str, dict[str, int]] = {}
    for key in HAND_KEYS:
        near = [e["hand_wrist_nearest_pose"][key] for e in entries]
        check[key] = {
            "near_pose_15_left_wrist": sum(n == POSE_LEFT_WRIST for n in near),
            "near_pose_16_right_wrist": sum(n == POSE_RIGHT_WRIST for n in near),
        }
    return check


def handedness_verified(doc: dict[str, Any]) -> str:
    """One sentence stating, over every section in ``doc``, which pose wrist each hand is near."""
    parts = []
    for key, wrist, name in (
        ("left_hand", POSE_LEFT_WRIST, "left_wrist"),
        ("right_hand", POSE_RIGHT_WRIST, "right_wrist"),
    ):
        near = [
            e["hand_wrist_nearest_pose"][key]
            for section in doc.values()
            if isinstance(section, dict) and "frames" in section
            for e in section["frames"]
            if e["hand_wrist_nearest_pose"][key] is not None
        ]
        same = sum(n == wrist for n in near)
        parts.append(
            f"{key} landmark 0 is nearest pose landmark {wrist} ({name}) in {same} of the "
            f"{len(near)} stored frames that have a {key}"
        )
    return "Over all stored frames of this file: " + "; ".join(parts) + "."


def header(
    video_mode: bool,
    frames: list[int],
    videos: list[Path],
    kept: list[dict[str, Any]],
    dropped: list[dict[str, Any]],
    require: list[str],
) -> dict[str, Any]:
    return {
        "mode": "video" if video_mode else "static",
        "mediapipe": mp.__version__,
        "numpy": np.__version__,
        "av": av.__version__,
        "python": sys.version.split()[0],
        "solution": "mediapipe.solutions.holistic.Holistic",
        "static_image_mode": not video_mode,
        "model_complexity": 1,
        "smooth_landmarks": video_mode,
        "refine_face_landmarks": False,
        "enable_segmentation": False,
        "min_detection_confidence": 0.5,
        "min_tracking_confidence": 0.5,
        "processed_frames": "all frames 0..N-1 in order" if video_mode else "listed frames only",
        "videos": [p.name for p in videos],
        "frames": frames,
        "require": require,
        "dropped_incomplete": [
            {"video": e["video"], "frame": e["frame"], "detected": e["detected"]} for e in dropped
        ],
        "handedness_check": handedness_check(kept),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": shlex.join(sys.orig_argv),
    }


def dumps(doc: dict[str, Any]) -> str:
    """JSON with readable headers but one line per frame record, to keep the file small."""
    sections = {k: v for k, v in doc.items() if isinstance(v, dict) and "frames" in v}
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


def describe(entry: dict[str, Any]) -> str:
    found = [k for k, v in entry["detected"].items() if v]
    near = entry["hand_wrist_nearest_pose"]
    hands = ", ".join(f"{k}~pose{v}" for k, v in near.items() if v is not None)
    return f"{entry['video']} frame {entry['frame']}: {'+'.join(found) or 'nothing'}" + (
        f" ({hands})" if hands else ""
    )


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
        "--require",
        type=parse_parts,
        default=[],
        metavar="PART[,PART]",
        help=f"store only frames where all these parts were found ({', '.join(PARTS)})",
    )
    parser.add_argument(
        "--note", default=None, help="free text stored in this section's header as 'note'"
    )
    parser.add_argument(
        "--section",
        default=None,
        help="store under this key instead of 'static'/'video_mode' (e.g. 'image' for a "
        "still image given with --video and --frames 0)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other mode's section of an existing --out file",
    )
    args = parser.parse_args(argv)

    key = args.section or ("video_mode" if args.video_mode else "static")
    kept: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    for path in args.video:
        entries = run_video(path, args.frames, args.video_mode)
        for entry in entries:
            keep = all(entry["detected"][part] for part in args.require)
            print(f"{key} {describe(entry)}" + ("" if keep else " [dropped]"), file=sys.stderr)
            (kept if keep else dropped).append(entry)
        n_complete = sum(all(e["detected"].values()) for e in entries)
        print(
            f"{key} {path.name}: pose+hands+face in {n_complete}/{len(entries)} frames",
            file=sys.stderr,
        )
    if not kept:
        raise SystemExit("no frame to store")
    check = handedness_check(kept)
    print(f"{key} handedness check: {json.dumps(check)}", file=sys.stderr)

    doc: dict[str, Any] = {}
    if args.merge and args.out.exists():
        doc = json.loads(args.out.read_text())
    doc["format"] = FORMAT
    doc["conventions"] = dict(CONVENTIONS)
    doc["pose_landmark_names"] = [lm.name.lower() for lm in mp.solutions.holistic.PoseLandmark]
    doc["hand_landmark_names"] = [lm.name.lower() for lm in mp.solutions.holistic.HandLandmark]
    doc[key] = {
        "header": header(args.video_mode, args.frames, args.video, kept, dropped, args.require),
        "frames": kept,
    }
    if args.note:
        doc[key]["header"]["note"] = args.note
    doc["conventions"]["handedness_verified"] = handedness_verified(doc)
    print(doc["conventions"]["handedness_verified"], file=sys.stderr)
    first = ("format", "conventions", "pose_landmark_names", "hand_landmark_names")
    ordered = {k: doc[k] for k in first if k in doc}
    ordered.update({k: v for k, v in doc.items() if k not in ordered})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dumps(ordered))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.1f} KiB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
