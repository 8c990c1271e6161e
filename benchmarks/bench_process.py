"""Whole-process speed: ``posestack run`` against a MediaPipe script, both timed from outside.

Run from the repository root with the project venv (MediaPipe, which needs numpy<2, runs in its
own throwaway venv made by ``bash benchmarks/mediapipe_env.sh``)::

    .venv/bin/python benchmarks/bench_process.py --mediapipe-python .mpref-venv/bin/python
    .venv/bin/python benchmarks/bench_process.py --mediapipe-python .mpref-venv/bin/python \\
        --repeat 1 --cases body          # one pair, about 15 s

What is timed is everything a user waits for and pays for: a fresh interpreter, its imports,
model loading, decoding, colour conversion, inference, and writing the results, from the fork
of the child to its exit. Two cases, each a pair of child processes:

* ``body``: ``posestack run sports2d_demo.mp4 --max-people 1 --no-video -o TMP`` (a new folder
  for every run; the default outputs: keypoint, angle and 3D Parquet tables, COCO json,
  per-frame OpenPose json, manifest) against ``benchmarks/mediapipe_process.py --solution
  pose`` (MediaPipe's legacy Pose, model complexity 1, video mode, frames read with
  ``cv2.VideoCapture`` and converted with ``cv2.cvtColor``, landmarks written to an ``.npz``).
* ``holistic``: the same with ``--estimator holistic`` on Pose2Sim's ``videos/cam01.mp4``
  (1080×1920, 100 frames) against ``--solution holistic``.

``--posestack-args`` adds options to every ``posestack run`` (e.g. ``"--threads 1"``).
``--baseline-src OTHER/src`` times a second posestack checkout as a third arm (before and
after a change, measured in the same run). The arms are interleaved (posestack, MediaPipe,
posestack, …; each goes first in turn) so that load from other processes on the machine hits
all alike, and each is measured ``--repeat`` times (default 5). For each child, wall seconds
(``time.perf_counter`` around ``Popen``…``wait4``) and CPU seconds (user + system from
``os.wait4``'s rusage, which counts all of the child's threads) are recorded. The table gives
the medians and the ratios MediaPipe/posestack: wall > 1 means posestack finishes sooner;
CPU < 1 means posestack spends less CPU time (the figure that matters when every core is
busy, as in a batch). The ratio of the medians and the median of the per-repeat ratios are
both printed; the second is less sensitive to a burst of load hitting one repeat. On a shared
machine the wall figures move with the other processes' load (printed with the table); the
CPU figures much less. ``--json-out PATH`` also writes every measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import log

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MEDIAPIPE_SCRIPT = HERE / "mediapipe_process.py"
CASES = {
    # name: (asset, member, posestack options, MediaPipe solution)
    "body": ("sports2d_demo", None, ["--max-people", "1", "--no-video"], "pose"),
    "holistic": ("pose2sim_demo_singleperson", "videos/cam01.mp4",
                 ["--estimator", "holistic", "--max-people", "1", "--no-video"], "holistic"),
}


def clip_path(asset: str, member: str | None) -> Path:
    from posestack import assets

    root = assets.path(asset)
    return root / member if member else root


def timed(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; its wall seconds, CPU seconds (user, system) and peak RSS (MiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        # wait4: this child's own rusage (all its threads), not that of earlier children
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.stderr.write(stderr[-4000:])
        raise SystemExit(f"failed (exit {proc.returncode}): {shlex.join(cmd)}")
    return {"wall_s": wall, "user_s": usage.ru_utime, "sys_s": usage.ru_stime,
            "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "stdout_tail": stdout.strip().splitlines()[-1:]}


def posestack_cmd(video: Path, out: Path, options: list[str], extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "posestack", "run", str(video), *options, *extra,
            "-o", str(out)]


def mediapipe_cmd(python: str, video: Path, out: Path, solution: str) -> list[str]:
    return [python, str(MEDIAPIPE_SCRIPT), "--video", str(video), "--out", str(out),
            "--solution", solution]


def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(src), *filter(None, [os.environ.get("PYTHONPATH")])])}


def run_case(name: str, mp_python: str | None, repeat: int, extra: list[str], tmp: Path,
             baseline: Path | None = None) -> dict[str, Any]:
    """Time every arm ``repeat`` times, interleaved; medians and ratios to MediaPipe."""
    asset, member, options, solution = CASES[name]
    video = clip_path(asset, member)
    arms: dict[str, list[dict]] = {"posestack": []}
    if baseline is not None:
        arms["baseline"] = []
    if mp_python:
        arms["mediapipe"] = []
    for r in range(repeat):
        # a fresh output folder each time: a first run, not the replacement of a bundle
        jobs = {"posestack": (posestack_cmd(video, tmp / f"{name}_{r}", options, extra),
                              _env(ROOT / "src")),
                "baseline": (posestack_cmd(video, tmp / f"{name}_{r}_base", options, extra),
                             _env(baseline) if baseline is not None else None),
                "mediapipe": (mediapipe_cmd(mp_python or "", video, tmp / f"{name}_{r}.npz",
                                            solution), None)}
        order = list(arms)
        order = order[r % len(order):] + order[:r % len(order)]  # each goes first in turn
        for who in order:
            cmd, env = jobs[who]
            m = timed(cmd, env)
            arms[who].append(m)
            log(f"{name} #{r + 1} {who}: {m['wall_s']:.2f} s wall, {m['cpu_s']:.2f} s CPU "
                f"({m['user_s']:.2f} user + {m['sys_s']:.2f} sys), {m['peak_rss_mb']:.0f} MiB")
    res: dict[str, Any] = {"video": str(video), "posestack_args": [*options, *extra],
                           "mediapipe_solution": solution, "baseline_src": str(baseline)
                           if baseline is not None else None, "runs": arms}
    res["median"] = {who: {k: statistics.median(m[k] for m in runs)
                           for k in ("wall_s", "cpu_s", "peak_rss_mb")}
                     for who, runs in arms.items()}
    if mp_python:
        theirs = arms["mediapipe"]
        mp_med = res["median"]["mediapipe"]
        res["ratios"] = {}
        for who in ("posestack", "baseline"):
            if who not in arms:
                continue
            ours = arms[who]
            med = res["median"][who]
            res["ratios"][who] = {
                "wall": mp_med["wall_s"] / med["wall_s"],
                "cpu": med["cpu_s"] / mp_med["cpu_s"],
                "wall_paired": statistics.median(
                    t["wall_s"] / o["wall_s"] for o, t in zip(ours, theirs, strict=True)),
                "cpu_paired": statistics.median(
                    o["cpu_s"] / t["cpu_s"] for o, t in zip(ours, theirs, strict=True))}
    return res


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mediapipe-python", help="python of the MediaPipe venv (omit: "
                        "posestack only)")
    parser.add_argument("--cases", default="body,holistic",
                        help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--repeat", type=int, default=5, help="runs per arm and case "
                        "(default 5)")
    parser.add_argument("--posestack-args", default="",
                        help="extra options for every posestack run (quoted)")
    parser.add_argument("--baseline-src", type=Path,
                        help="the src/ folder of another posestack checkout, timed as a third "
                        "arm (before/after a change, in the same run)")
    parser.add_argument("--json-out", type=Path, help="also write every number here")
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    bad = [c for c in cases if c not in CASES]
    if bad or args.repeat < 1:
        parser.error(f"unknown case(s) {bad}; valid: {', '.join(CASES)}" if bad
                     else "--repeat must be ≥ 1")
    if args.baseline_src is not None and not (args.baseline_src / "posestack").is_dir():
        parser.error(f"--baseline-src {args.baseline_src} has no posestack package")
    extra = shlex.split(args.posestack_args)
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(),
                                           "python": platform.python_version(),
                                           "load_avg_before": os.getloadavg()},
                               "repeat": args.repeat, "cases": {}}
    with tempfile.TemporaryDirectory(prefix="bench_process_") as tmp:
        for name in cases:
            results["cases"][name] = run_case(name, args.mediapipe_python, args.repeat, extra,
                                              Path(tmp), args.baseline_src)
    results["machine"]["load_avg_after"] = os.getloadavg()

    load = results["machine"]
    print(f"\nWhole process, median of {args.repeat} interleaved runs ({os.cpu_count()} CPUs; "
          f"load average before {load['load_avg_before'][0]:.1f}, "
          f"after {load['load_avg_after'][0]:.1f})")
    print("| case | run | wall s | CPU s | MediaPipe wall / CPU s | speed-up (wall) "
          "| CPU, posestack/MediaPipe |")
    print("|---|---|---|---|---|---|---|")
    for name, res in results["cases"].items():
        mp_med = res["median"].get("mediapipe")
        for who in ("posestack", "baseline"):
            if who not in res["median"]:
                continue
            o = res["median"][who]
            row = f"| {name} | {who} | {o['wall_s']:.2f} | {o['cpu_s']:.2f} |"
            if mp_med is None:
                print(row + " – | – | – |")
                continue
            q = res["ratios"][who]
            print(row + f" {mp_med['wall_s']:.2f} / {mp_med['cpu_s']:.2f} | {q['wall']:.2f}× "
                  f"(paired {q['wall_paired']:.2f}×) | {q['cpu']:.2f}× "
                  f"(paired {q['cpu_paired']:.2f}×) |")
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
