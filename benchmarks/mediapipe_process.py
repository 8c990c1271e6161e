"""A whole MediaPipe process, the reference for ``benchmarks/bench_process.py``.

Runs INSIDE the throwaway MediaPipe venv (``bash benchmarks/mediapipe_env.sh``); it does not
import posestack. It is the script a user would write around MediaPipe's legacy solutions:
import, read the clip with OpenCV (``cv2.VideoCapture``, BGR → RGB with ``cv2.cvtColor``),
``process`` every frame in video mode, and write the landmarks to a file. Everything, imports
included, is inside the process that ``bench_process.py`` times from outside.

* ``--solution pose``: ``mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
  smooth_landmarks=True, enable_segmentation=False)``; writes ``(T, 33, 4)`` pixels x, y,
  z (MediaPipe's z · width) and visibility, and ``(T, 33, 4)`` world landmarks, NaN where no
  pose was found.
* ``--solution holistic``: ``mp.solutions.holistic.Holistic(static_image_mode=False,
  model_complexity=1, smooth_landmarks=True, refine_face_landmarks=False,
  enable_segmentation=False)``; writes ``(T, 543, 3)`` pixels (pose 33, left hand 21, right
  hand 21, face 468), NaN where a part was not found.

``--out`` takes the ``.npz`` file (written by ``numpy.savez_compressed``). The last line on stdout
is a JSON object: frames read, frames with a pose, the seconds spent inside the process (from
just after start-up to just before exit), and the mediapipe version.

Usage::

    .mpref-venv/bin/python benchmarks/mediapipe_process.py --video demo.mp4 --out /tmp/mp.npz
    .mpref-venv/bin/python benchmarks/mediapipe_process.py --video cam01.mp4 \\
        --solution holistic --out /tmp/mp_holistic.npz
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import mediapipe as mp  # noqa: E402
import numpy as np  # noqa: E402

PARTS = ("pose_landmarks", "left_hand_landmarks", "right_hand_landmarks", "face_landmarks")
SIZES = (33, 21, 21, 468)


def _points(landmarks, n: int, w: int, h: int, fields: tuple[str, ...]) -> np.ndarray:
    """``(n, len(fields))`` float32: x, y scaled to pixels (z by the width); NaN if none."""
    out = np.full((n, len(fields)), np.nan, np.float32)
    if landmarks is None:
        return out
    for i, lm in enumerate(landmarks.landmark):
        out[i] = [getattr(lm, f) for f in fields]
    out[:, 0] *= w
    out[:, 1] *= h
    if "z" in fields:
        out[:, fields.index("z")] *= w
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path, help="landmarks, .npz")
    parser.add_argument("--solution", choices=("pose", "holistic"), default="pose")
    args = parser.parse_args()

    if args.solution == "pose":
        solution = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                                          smooth_landmarks=True, enable_segmentation=False)
    else:
        solution = mp.solutions.holistic.Holistic(
            static_image_mode=False, model_complexity=1, smooth_landmarks=True,
            refine_face_landmarks=False, enable_segmentation=False)
    cap = cv2.VideoCapture(str(args.video))
    if not cap.isOpened():
        raise SystemExit(f"{args.video}: cannot open")
    xy, world = [], []
    found = 0
    with solution:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            h, w = bgr.shape[:2]
            res = solution.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            found += res.pose_landmarks is not None
            if args.solution == "pose":
                xy.append(_points(res.pose_landmarks, 33, w, h, ("x", "y", "z", "visibility")))
                world.append(_points(res.pose_world_landmarks, 33, 1, 1,
                                     ("x", "y", "z", "visibility")))
            else:
                xy.append(np.concatenate([_points(getattr(res, p), n, w, h, ("x", "y", "z"))
                                          for p, n in zip(PARTS, SIZES, strict=True)]))
    cap.release()
    if not xy:
        raise SystemExit(f"{args.video}: no frames read")
    arrays = {"xy": np.stack(xy)}
    if world:
        arrays["world"] = np.stack(world)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(json.dumps({"frames": len(xy), "frames_with_pose": found,
                      "seconds_in_process": time.perf_counter() - _T0,
                      "solution": args.solution, "mediapipe": mp.__version__}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
