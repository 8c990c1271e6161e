"""Several people: the person detectors' cost and `posestack run` with 1, 2 and 3 people.

Measured in one run, on this machine:

1. **detector cost per call** (ms, median of the Sports2D frames 60-160 every 10):
   BlazePose's detector on the whole frame (the old default), SSDLite on the whole
   frame, SSDLite on the frame and its square tiles, and the ``auto`` candidate
   search (both detectors, tiles, and a BlazePose ROI inside each box);
2. **whole runs** (``posestack.run``, 2D, no overlay, default threads) with
   ``person_detector="blazepose"`` (old) and ``"auto"`` (new), on: the Pose2Sim
   cam03 clip (1 person), the composited two- and three-person clips
   (tests/crowd_scenes.py) and the Sports2D sample (2 people): frames/s, the
   ratio new/old, and recall / identities against the composited truth;
3. four cameras with a second person pasted through the calibration: 3D recall of
   each person and the error of the found ones;
4. with ``--mediapipe-python PY`` (the venv of ``benchmarks/mediapipe_env.sh``):
   MediaPipe's legacy Pose on the cam03 clip in the same run, the reference the
   embedded path must stay faster than on one person.

Usage::

    .venv/bin/python benchmarks/bench_crowd.py [--mediapipe-python .mpref-venv/bin/python]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import decode  # noqa: E402
from tests.crowd_scenes import build, build_multiview  # noqa: E402

import posestack  # noqa: E402
from posestack import assets  # noqa: E402
from posestack.detect import SSDLitePersonDetector, TiledPersonDetector  # noqa: E402
from posestack.estimate.blazepose import BlazePose, PoseDetector  # noqa: E402
from posestack.evaluate.composite import crowd_metrics  # noqa: E402


def _ms(fn, frames) -> float:
    times = []
    for f in frames:
        t0 = time.perf_counter()
        fn(f)
        times.append(time.perf_counter() - t0)
    return 1000.0 * float(np.median(times))


def detector_costs() -> None:
    frames = list(decode(assets.path("sports2d_demo"), set(range(60, 170, 10))).values())
    bp = PoseDetector(assets.path("blazepose_detector"))
    ssd = SSDLitePersonDetector()
    tiled = TiledPersonDetector(ssd)
    auto = BlazePose(max_people=4, person_detector="auto")
    for f in frames[:2]:  # warm-up
        ssd(f)
        bp(f)
    print("detector cost per call, Sports2D 1768x994 (median ms):")
    rows = [("BlazePose detector, whole frame (old)", lambda f: bp(f)),
            ("SSDLite, whole frame", lambda f: ssd(f)),
            ("SSDLite, frame + square tiles", lambda f: tiled(f)),
            ("auto candidates (both, tiles, ROI in each box)", lambda f: auto._candidates(f))]
    for name, fn in rows:
        print(f"  {name:50s} {_ms(fn, frames):7.1f}")


def _run(video: Path, detector: str, truth=None) -> dict:
    t0 = time.perf_counter()
    [r] = posestack.run(video, None, person_detector=detector, video=False, progress=False)
    wall = time.perf_counter() - t0
    out = {"fps": r.keypoints2d.n_frames / wall, "identities": r.keypoints2d.n_people}
    if truth is not None:
        m = crowd_metrics(r.keypoints2d.coords, truth, size=(r.info.width, r.info.height))
        out.update(recall=m.recall, error_rel=m.error_rel, id_switches=m.id_switches)
    return out


def runs(mediapipe_python: str | None) -> None:
    p2s = assets.path("pose2sim_demo_singleperson") / "videos"
    with tempfile.TemporaryDirectory() as tmp:
        two, three = build("two", Path(tmp)), build("three", Path(tmp))
        clips = [("1 person (P2S cam03)", p2s / "cam03.mp4", None),
                 ("2 people (composite)", two.video, two.truth),
                 ("3 people (composite)", three.video, three.truth),
                 ("2 people (Sports2D)", assets.path("sports2d_demo"), None)]
        print("\nposestack run (2D, no overlay), frames/s and recall vs the composited truth:")
        print(f"  {'clip':24s} {'old fps':>8s} {'new fps':>8s} {'new/old':>8s}  "
              f"{'old recall':>10s} {'new recall':>10s}  ids old/new")
        for name, video, truth in clips:
            old = _run(video, "blazepose", truth)
            new = _run(video, "auto", truth)
            rec = (f"{old['recall']:10.2f} {new['recall']:10.2f}" if truth is not None
                   else f"{'-':>10s} {'-':>10s}")
            print(f"  {name:24s} {old['fps']:8.1f} {new['fps']:8.1f} "
                  f"{new['fps'] / old['fps']:8.2f}  {rec}  {old['identities']}/"
                  f"{new['identities']}")
            if name.startswith("1 person"):
                one_person_fps = new["fps"]
        print("\nfour cameras, the subject and a clone pasted through the calibration "
              "(tests/crowd_scenes.py build_multiview), 3D recall per person and error:")
        from posestack.pipeline import run_multiview

        scene = build_multiview(Path(tmp) / "mv")
        for detector in ("blazepose", "auto"):
            t0 = time.perf_counter()
            mv = run_multiview(scene.folder / "videos", None, None, video=False,
                               progress=False, person_detector=detector)
            wall = time.perf_counter() - t0
            p = mv.poses3d.coords
            t_n = min(len(p), len(scene.truth))
            m = crowd_metrics(p[:t_n], scene.truth[:t_n])
            print(f"  {detector:10s} recall subject {m.per_person_recall[0]:.2f}, clone "
                  f"{m.per_person_recall[1]:.2f}; median error {1000 * m.error_px:.0f} mm; "
                  f"3D people per frame {mv.manifest['people']['per_frame_3d']}; "
                  f"{4 * scene.frames / wall:.1f} camera-frames/s")
    if mediapipe_python:
        proc = subprocess.run(
            [mediapipe_python, str(ROOT / "benchmarks" / "mediapipe_throughput.py"), "--video",
             str(p2s / "cam03.mp4"), "--max-frames", "100", "--repeat", "2", "--json"],
            capture_output=True, text=True, check=True)
        mp = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"\nMediaPipe legacy Pose, cam03 (in memory, decode excluded): "
              f"{mp['fps']:.1f} frames/s; posestack auto (whole run, decode included): "
              f"{one_person_fps:.1f} frames/s; ratio {one_person_fps / mp['fps']:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mediapipe-python", help="python of the MediaPipe reference venv")
    args = ap.parse_args()
    detector_costs()
    runs(args.mediapipe_python)


if __name__ == "__main__":
    main()
