"""Speed and memory of posestack's BlazePose against MediaPipe's own legacy Pose solution.

Run from the repository root with the project venv (MediaPipe, which needs numpy<2, runs in its
own throwaway venv made by ``bash benchmarks/mediapipe_env.sh``)::

    .venv/bin/python benchmarks/bench_estimate.py --mediapipe-python .mpref-venv/bin/python
    make bench                    # the same, after setting up both venvs and fetching the clips
    .venv/bin/python benchmarks/bench_estimate.py --mediapipe-python .mpref-venv/bin/python \\
        --quick --json-out bench.json         # ~1 minute: 30 frames, 1 repeat, loop 3

Without ``--mediapipe-python`` the MediaPipe columns are left empty. Tables go to stdout,
progress to stderr; ``--json-out`` also writes every number as JSON.

What it measures, in one run:

1. Throughput (decode excluded). The first ``--max-frames`` frames (default: all) of the
   single-person clip (pose2sim_demo_singleperson ``videos/cam01.mp4``, 1080x1920, 100 frames at
   60 fps) and of the two-person clip (sports2d_demo ``demo.mp4``, 1768x994, 230 frames at
   30 fps) are decoded into memory once with PyAV (RGB, C-contiguous). posestack's
   ``BlazePose(max_people=1)`` is built (untimed), warmed up on the first ``--warmup`` frames
   (untimed), then processes the frames ``--repeat`` times in a row with increasing timestamps
   (the clip loops; the tracker sees a cut), timed as a whole; once with ``num_threads=1`` and
   once with the number of threads ``posestack.run`` uses by default (2 on a machine with >= 2
   cores). ``benchmarks/mediapipe_throughput.py`` does exactly the same with MediaPipe
   (``model_complexity=1``, video mode, smoothing) in a subprocess of the MediaPipe venv. The
   table gives fps, the mean number of people found per frame by each, and posestack/MediaPipe
   fps ratios. On the two-person clip posestack also runs with ``max_people=2`` (MediaPipe's
   solution only ever follows one person); ms/frame divided by people/frame (the cost of one
   person-frame: one landmark-model call plus its share of detection and overhead) is printed
   for both clips, which shows that the cost grows linearly with the number of people.

2. Memory. Peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at the end, in MiB) of
   ``posestack.run(video, output=tmpdir, max_people=1, progress=False)`` (the whole pipeline:
   decode thread, estimation, overlay.mp4 encoding, output files), each in a fresh subprocess,
   on the cam01 clip and on a ``--loop`` (10) times longer clip made by re-encoding the decoded
   frames ``--loop`` times with PyAV (libx264, yuv420p, same fps; done once, in a subprocess,
   into a temp dir). MediaPipe's streaming mode (``--loop 1`` and ``--loop K``) gives its peak
   for comparison. A flat pipeline has a ratio (K x / 1 x) close to 1.

   On Linux a child started by (v)fork + exec inherits its parent's peak in ``ru_maxrss``; so
   the memory runs are done FIRST, while this process is small (its own peak is reported as
   ``launcher_peak_rss_mb``, a floor for the children's figures), and every child also reports
   VmHWM from /proc/self/status, which does not inherit; a warning is printed if they disagree.

3. A summary of the key numbers (stdout), also written with ``--json-out PATH``.

``--quick`` uses 30 frames, 1 repeat and loop 3 (the memory runs then use the first 30 frames
of cam01 too) so that the whole benchmark fits in about a minute. Keep other heavy work off the
machine while it runs: the timings use all cores.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np

from _common import decode_frames, default_threads, log, peak_rss_mb, run_json, vm_hwm_mb

HERE = Path(__file__).resolve().parent
MEDIAPIPE_SCRIPT = HERE / "mediapipe_throughput.py"
# key -> (asset name, member inside the asset folder or None when the asset is the file itself)
CLIPS: dict[str, tuple[str, str | None]] = {
    "cam01": ("pose2sim_demo_singleperson", "videos/cam01.mp4"),
    "demo": ("sports2d_demo", None),
}
SINGLE, MULTI = "cam01", "demo"
QUICK = {"max_frames": 30, "repeat": 1, "loop": 3}
FULL = {"max_frames": None, "repeat": 3, "loop": 10}
_T0 = time.perf_counter()


def clip_path(key: str) -> Path:
    from posestack import assets

    name, member = CLIPS[key]
    root = assets.path(name)
    return root / member if member else root


# --- children (fresh interpreters) ------------------------------------------------------------


def child_pipeline(video: str, out: str, end: float | None) -> dict[str, Any]:
    """posestack.run on one video in this (fresh) process; its peak RSS."""
    import posestack

    before = peak_rss_mb()
    t0 = time.perf_counter()
    (result,) = posestack.run(video, output=out, max_people=1, progress=False, end=end)
    seconds = time.perf_counter() - t0
    frames = len(result.frames)
    return {"frames": frames, "seconds": seconds, "fps": frames / seconds,
            "rss_after_import_mb": before, "peak_rss_mb": peak_rss_mb(), "vm_hwm_mb": vm_hwm_mb(),
            "warnings": list(getattr(result, "warnings", ()))}


def child_encode_loop(src: str, dst: str, times: int, max_frames: int | None) -> dict[str, Any]:
    """Write the first ``max_frames`` frames of ``src`` ``times`` times in a row to ``dst``."""
    frames, _ = decode_frames(Path(src), max_frames)
    with av.open(src) as container:
        rate = container.streams.video[0].average_rate or 30
    h, w = frames[0].shape[:2]
    t0 = time.perf_counter()
    with av.open(dst, mode="w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height = w - w % 2, h - h % 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for _ in range(times):
            for rgb in frames:
                frame = av.VideoFrame.from_ndarray(rgb[: h - h % 2, : w - w % 2], format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return {"frames": times * len(frames), "seconds": time.perf_counter() - t0,
            "bytes": os.path.getsize(dst)}


def child_main(argv: Sequence[str]) -> int:
    kind, payload = argv[0], json.loads(argv[1])
    if kind == "pipeline":
        result = child_pipeline(**payload)
    elif kind == "encode_loop":
        result = child_encode_loop(**payload)
    else:
        raise SystemExit(f"unknown child {kind!r}")
    print(json.dumps(result), flush=True)
    return 0


def run_child(kind: str, what: str, **payload: Any) -> dict[str, Any]:
    return run_json([sys.executable, str(Path(__file__).resolve()), "--child", kind,
                     json.dumps(payload)], what)


def run_mediapipe(args: argparse.Namespace, video: Path, extra: list[str],
                  what: str) -> dict[str, Any] | None:
    if not args.mediapipe_python:
        return None
    cmd = [str(args.mediapipe_python), str(MEDIAPIPE_SCRIPT), "--video", str(video), "--json",
           *extra]
    if args.max_frames is not None:
        cmd += ["--max-frames", str(args.max_frames)]
    return run_json(cmd, what)


# --- 2. memory --------------------------------------------------------------------------------


def measure_memory(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    video = clip_path(SINGLE)
    with av.open(str(video)) as container:
        fps = float(container.streams.video[0].average_rate or 30)
    # The 1x run reads the clip itself; --max-frames N keeps frames with t < (N - 0.5) / fps.
    end = None if args.max_frames is None else (args.max_frames - 0.5) / fps
    launcher = peak_rss_mb()
    log(f"memory: posestack.run on {video.name} (1x) in a fresh process")
    ps1 = run_child("pipeline", "posestack.run 1x", video=str(video), out=str(tmp / "out1"),
                    end=end)
    log(f"memory: encoding the {args.loop}x looped clip (libx264)")
    looped = tmp / f"cam01_x{args.loop}.mp4"
    enc = run_child("encode_loop", "looped clip", src=str(video), dst=str(looped),
                    times=args.loop, max_frames=args.max_frames)
    log(f"memory: {enc['frames']} frames written in {enc['seconds']:.1f} s; "
        f"posestack.run on it ({args.loop}x)")
    psk = run_child("pipeline", f"posestack.run {args.loop}x", video=str(looped),
                    out=str(tmp / "outk"), end=None)
    if psk["frames"] != args.loop * ps1["frames"]:
        log(f"WARNING: looped run processed {psk['frames']} frames, expected "
            f"{args.loop} x {ps1['frames']}")
    mp1 = mpk = None
    if args.mediapipe_python:
        log("memory: MediaPipe --loop 1")
        mp1 = run_mediapipe(args, video, ["--loop", "1"], "MediaPipe --loop 1")
        log(f"memory: MediaPipe --loop {args.loop}")
        mpk = run_mediapipe(args, video, ["--loop", str(args.loop)],
                            f"MediaPipe --loop {args.loop}")
    for name, r in (("posestack 1x", ps1), (f"posestack {args.loop}x", psk),
                    ("MediaPipe 1x", mp1), (f"MediaPipe {args.loop}x", mpk)):
        hwm = r.get("vm_hwm_mb") if r else None
        if r and hwm and abs(r["peak_rss_mb"] - hwm) > 0.05 * hwm:
            log(f"WARNING: {name}: ru_maxrss {r['peak_rss_mb']:.0f} MiB but VmHWM {hwm:.0f} MiB "
                "(ru_maxrss inherited the launcher's peak?)")
    return {
        "clip": video.name, "loop": args.loop, "launcher_peak_rss_mb": launcher,
        "looped_clip": enc,
        "posestack_1x": ps1, "posestack_kx": psk,
        "posestack_ratio": psk["peak_rss_mb"] / ps1["peak_rss_mb"],
        "mediapipe_1x": mp1, "mediapipe_kx": mpk,
        "mediapipe_ratio": (mpk["peak_rss_mb"] / mp1["peak_rss_mb"]) if mp1 and mpk else None,
    }


# --- 1. throughput ----------------------------------------------------------------------------


def time_posestack(frames: list[np.ndarray], fps: float, *, max_people: int, threads: int,
                   repeat: int, warmup: int) -> dict[str, Any]:
    from posestack.estimate.blazepose import BlazePose

    est = BlazePose(max_people=max_people, static=False, smooth=True, num_threads=threads)
    n = len(frames)
    for i, rgb in enumerate(frames[:warmup]):
        est(rgb, i / fps)
    offset = min(warmup, n)
    people = 0
    per_repeat: list[float] = []
    t0, c0 = time.perf_counter(), time.process_time()
    for r in range(repeat):
        tr = time.perf_counter()
        for i, rgb in enumerate(frames):
            people += len(est(rgb, (offset + r * n + i) / fps))
        per_repeat.append(n / (time.perf_counter() - tr))
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    del est
    gc.collect()
    total = n * repeat
    return {"max_people": max_people, "threads": threads, "frames": total, "seconds": seconds,
            "fps": total / seconds, "ms_per_frame": 1000 * seconds / total,
            "people_per_frame": people / total,
            "ms_per_person_frame": (1000 * seconds / people) if people else None,
            "cpu_util": cpu / seconds, "fps_per_repeat": per_repeat}


def measure_throughput(args: argparse.Namespace) -> dict[str, Any]:
    thread_set = sorted({1, default_threads()})
    out: dict[str, Any] = {}
    for key in (SINGLE, MULTI):
        video = clip_path(key)
        log(f"throughput: decoding {video.name}")
        frames, fps = decode_frames(video, args.max_frames)
        h, w = frames[0].shape[:2]
        entry: dict[str, Any] = {"video": video.name, "frames": len(frames), "fps_clip": fps,
                                 "size": f"{w}x{h}", "posestack": {}}
        people_set = (1, 2) if key == MULTI else (1,)
        for max_people in people_set:
            for threads in thread_set:
                log(f"throughput: posestack {video.name} max_people={max_people} "
                    f"threads={threads}, {args.repeat} x {len(frames)} frames")
                r = time_posestack(frames, fps, max_people=max_people, threads=threads,
                                   repeat=args.repeat, warmup=args.warmup)
                log(f"  {r['fps']:.1f} fps, {r['people_per_frame']:.2f} people/frame")
                entry["posestack"][f"p{max_people}_t{threads}"] = r
        del frames
        gc.collect()
        if args.mediapipe_python:
            log(f"throughput: MediaPipe {video.name}")
            mp = run_mediapipe(args, video, ["--repeat", str(args.repeat), "--warmup",
                                             str(args.warmup)], f"MediaPipe on {video.name}")
            assert mp is not None
            mp["people_per_frame"] = mp["frames_with_pose"] / mp["frames"]
            log(f"  {mp['fps']:.1f} fps, {mp['people_per_frame']:.2f} people/frame")
            entry["mediapipe"] = mp
        else:
            entry["mediapipe"] = None
        out[key] = entry
    return out


# --- reporting --------------------------------------------------------------------------------


def _f(x: float | None, fmt: str = ".1f") -> str:
    return "n/a" if x is None else format(x, fmt)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def report(res: dict[str, Any]) -> dict[str, Any]:
    """Print the tables; return the summary numbers."""
    tp, mem = res["throughput"], res["memory"]
    nt = res["default_threads"]
    t1, td = "p1_t1", f"p1_t{nt}"
    summary: dict[str, Any] = {}

    print(f"\nThroughput, decode excluded ({res['repeat']} repeats after {res['warmup']} warm-up "
          f"frames; {res['cpu_count']} CPU cores; MediaPipe {res['mediapipe_version'] or 'n/a'})")
    head = (f"{'clip':<10}{'frames':>7}{'size':>11}{'people/frame ps|MP':>20}"
            f"{'ps fps 1t':>11}{f'ps fps {nt}t':>11}{'MP fps':>9}{'ps1t/MP':>9}"
            f"{f'ps{nt}t/MP':>9}")
    print(head)
    print("-" * len(head))
    for key in (SINGLE, MULTI):
        e = tp[key]
        p1, pd, mp = e["posestack"][t1], e["posestack"][td], e["mediapipe"]
        mp_fps = mp["fps"] if mp else None
        ppl = f"{p1['people_per_frame']:.2f} | {_f(mp and mp['people_per_frame'], '.2f')}"
        print(f"{key:<10}{e['frames']:>7}{e['size']:>11}{ppl:>20}{p1['fps']:>11.1f}"
              f"{pd['fps']:>11.1f}{_f(mp_fps):>9}{_f(_ratio(p1['fps'], mp_fps), '.2f'):>9}"
              f"{_f(_ratio(pd['fps'], mp_fps), '.2f'):>9}")
        summary[key] = {"posestack_fps_1t": p1["fps"], f"posestack_fps_{nt}t": pd["fps"],
                        "mediapipe_fps": mp_fps, "ratio_1t": _ratio(p1["fps"], mp_fps),
                        f"ratio_{nt}t": _ratio(pd["fps"], mp_fps),
                        "posestack_people_per_frame": p1["people_per_frame"],
                        "mediapipe_people_per_frame": mp and mp["people_per_frame"]}
    cpu = "; ".join(
        f"{k}: ps 1t {tp[k]['posestack'][t1]['cpu_util']:.2f}, ps {nt}t "
        f"{tp[k]['posestack'][td]['cpu_util']:.2f}, MP "
        f"{_f(tp[k]['mediapipe'] and tp[k]['mediapipe']['cpu_util'], '.2f')}"
        for k in (SINGLE, MULTI))
    print(f"CPU utilisation (process CPU s / wall s): {cpu}")

    print("\nCost per person (posestack; ms/frame divided by people/frame)")
    head = (f"{'clip':<10}{'max_people':>11}{'people/frame':>14}{'fps 1t':>9}{f'fps {nt}t':>9}"
            f"{'ms/frame 1t':>13}{f'ms/frame {nt}t':>13}{'ms/person 1t':>14}"
            f"{f'ms/person {nt}t':>14}")
    print(head)
    print("-" * len(head))
    rows = [(SINGLE, 1), (MULTI, 1), (MULTI, 2)]
    for key, p in rows:
        a = tp[key]["posestack"][f"p{p}_t1"]
        b = tp[key]["posestack"][f"p{p}_t{nt}"]
        print(f"{key:<10}{p:>11}{a['people_per_frame']:>14.2f}{a['fps']:>9.1f}{b['fps']:>9.1f}"
              f"{a['ms_per_frame']:>13.2f}{b['ms_per_frame']:>13.2f}"
              f"{_f(a['ms_per_person_frame'], '.2f'):>14}{_f(b['ms_per_person_frame'], '.2f'):>14}")
    scaling: dict[str, Any] = {}
    for t in sorted({1, nt}):
        one = tp[MULTI]["posestack"][f"p1_t{t}"]
        two = tp[MULTI]["posestack"][f"p2_t{t}"]
        single = tp[SINGLE]["posestack"][f"p1_t{t}"]
        scaling[f"{t}t"] = {
            "demo_people_ratio": _ratio(two["people_per_frame"], one["people_per_frame"]),
            "demo_ms_per_frame_ratio": _ratio(two["ms_per_frame"], one["ms_per_frame"]),
            "ms_per_person_frame_single_clip": single["ms_per_person_frame"],
            "ms_per_person_frame_two_person_clip": two["ms_per_person_frame"],
            "demo_max_people_2_fps": two["fps"],
        }
        s = scaling[f"{t}t"]
        print(f"{t} thread(s): demo max_people 2 vs 1: {_f(s['demo_people_ratio'], '.2f')}x "
              f"people/frame for {_f(s['demo_ms_per_frame_ratio'], '.2f')}x ms/frame; "
              f"ms per person-frame {_f(s['ms_per_person_frame_two_person_clip'], '.2f')} "
              f"(demo, 2 people) vs {_f(s['ms_per_person_frame_single_clip'], '.2f')} (cam01)")
    summary["scaling"] = scaling

    k = mem["loop"]
    ps1, psk, mp1, mpk = (mem["posestack_1x"], mem["posestack_kx"], mem["mediapipe_1x"],
                          mem["mediapipe_kx"])
    print(f"\nPeak RSS, MiB (ru_maxrss, a fresh process each; {mem['clip']}; posestack.run "
          f"with max_people=1 incl. overlay.mp4; MediaPipe streaming mode)")
    head = (f"{'input':<24}{'frames':>8}{'posestack.run':>15}{'MP frames':>11}"
            f"{'MediaPipe':>11}")
    print(head)
    print("-" * len(head))
    print(f"{'1x clip':<24}{ps1['frames']:>8}{ps1['peak_rss_mb']:>15.0f}"
          f"{(mp1['frames'] if mp1 else 'n/a'):>11}{_f(mp1 and mp1['peak_rss_mb'], '.0f'):>11}")
    print(f"{f'{k}x (looped)':<24}{psk['frames']:>8}{psk['peak_rss_mb']:>15.0f}"
          f"{(mpk['frames'] if mpk else 'n/a'):>11}{_f(mpk and mpk['peak_rss_mb'], '.0f'):>11}")
    print(f"{f'ratio {k}x / 1x':<24}{'':>8}{mem['posestack_ratio']:>15.2f}{'':>11}"
          f"{_f(mem['mediapipe_ratio'], '.2f'):>11}")
    print(f"posestack after import, before run: {ps1['rss_after_import_mb']:.0f} MiB; "
          f"pipeline speed {ps1['fps']:.1f} fps (1x), {psk['fps']:.1f} fps ({k}x) incl. decode "
          f"and overlay; launcher peak {mem['launcher_peak_rss_mb']:.0f} MiB (floor)")
    summary["memory"] = {"posestack_1x_mb": ps1["peak_rss_mb"],
                         f"posestack_{k}x_mb": psk["peak_rss_mb"],
                         "posestack_ratio": mem["posestack_ratio"],
                         "mediapipe_1x_mb": mp1 and mp1["peak_rss_mb"],
                         f"mediapipe_{k}x_mb": mpk and mpk["peak_rss_mb"],
                         "mediapipe_ratio": mem["mediapipe_ratio"]}

    print(f"\nSummary ({res['elapsed_s']:.0f} s in all)")
    for key in (SINGLE, MULTI):
        s = summary[key]
        print(f"  {key}: posestack {s['posestack_fps_1t']:.1f} fps (1 thread), "
              f"{s[f'posestack_fps_{nt}t']:.1f} fps ({nt} threads) vs MediaPipe "
              f"{_f(s['mediapipe_fps'])} fps -> {_f(s['ratio_1t'], '.2f')}x / "
              f"{_f(s[f'ratio_{nt}t'], '.2f')}x")
    s = scaling[f"{nt}t"]
    print(f"  demo max_people=2 ({nt} threads): {s['demo_max_people_2_fps']:.1f} fps, "
          f"{_f(s['ms_per_person_frame_two_person_clip'], '.2f')} ms per person-frame vs "
          f"{_f(s['ms_per_person_frame_single_clip'], '.2f')} on cam01")
    m = summary["memory"]
    print(f"  peak RSS posestack.run: {m['posestack_1x_mb']:.0f} MiB (1x) -> "
          f"{m[f'posestack_{k}x_mb']:.0f} MiB ({k}x), ratio {m['posestack_ratio']:.2f}; "
          f"MediaPipe {_f(m['mediapipe_1x_mb'], '.0f')} -> {_f(m[f'mediapipe_{k}x_mb'], '.0f')} "
          f"MiB, ratio {_f(m['mediapipe_ratio'], '.2f')}")
    return summary


def mediapipe_version(python: Path | None) -> str | None:
    if not python:
        return None
    proc = subprocess.run([str(python), "-c", "import mediapipe; print(mediapipe.__version__)"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mediapipe-python", type=Path, default=None,
                        help="python of the MediaPipe venv (bash benchmarks/mediapipe_env.sh); "
                             "without it MediaPipe is skipped")
    parser.add_argument("--max-frames", type=int, default=None,
                        help="use the first N frames of each clip (default: all; --quick: 30)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed passes over the frames (default 3; --quick: 1)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed warm-up frames (5)")
    parser.add_argument("--loop", type=int, default=None, metavar="K",
                        help="memory: length factor of the looped clip (default 10; --quick: 3)")
    parser.add_argument("--quick", action="store_true",
                        help="30 frames, 1 repeat, loop 3: about a minute in all")
    parser.add_argument("--json-out", type=Path, default=None, help="also write JSON here")
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.repeat < 1 or args.loop < 2 or args.warmup < 0 or (
            args.max_frames is not None and args.max_frames < 1):
        parser.error("--repeat and --max-frames must be >= 1, --loop >= 2, --warmup >= 0")
    if args.mediapipe_python is not None and not args.mediapipe_python.exists():
        parser.error(f"{args.mediapipe_python} does not exist; create it with "
                     "`bash benchmarks/mediapipe_env.sh`")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child_main(argv[1:])
    args = parse_args(argv)
    import posestack

    for key in CLIPS:  # fetch missing clips before timing anything
        clip_path(key)
    if not args.mediapipe_python:
        log("no --mediapipe-python: MediaPipe columns will be empty")
    res: dict[str, Any] = {
        "posestack_version": posestack.__version__,
        "mediapipe_version": mediapipe_version(args.mediapipe_python),
        "python": platform.python_version(), "machine": platform.machine(),
        "cpu_count": os.cpu_count(), "default_threads": default_threads(),
        "quick": args.quick, "max_frames": args.max_frames, "repeat": args.repeat,
        "warmup": args.warmup, "loop": args.loop,
    }
    # Memory first, while this process is small (see the module docstring).
    with tempfile.TemporaryDirectory(prefix="posestack-bench-") as tmp:
        res["memory"] = measure_memory(args, Path(tmp))
    res["throughput"] = measure_throughput(args)
    res["elapsed_s"] = time.perf_counter() - _T0
    res["summary"] = report(res)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(res, indent=2) + "\n")
        log(f"wrote {args.json_out}")
    log(f"done in {res['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
