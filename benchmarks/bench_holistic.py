"""Speed of posestack's Holistic (body + hands + face) against MediaPipe's legacy Holistic solution.

Run from the repository root with the project venv (MediaPipe, which needs numpy<2, runs in its
own throwaway venv made by ``bash benchmarks/mediapipe_env.sh``)::

    .venv/bin/python benchmarks/bench_holistic.py --mediapipe-python .mpref-venv/bin/python
    .venv/bin/python benchmarks/bench_holistic.py --mediapipe-python .mpref-venv/bin/python \\
        --quick --json-out bench_holistic.json     # < 1 minute: 30 frames per clip, 1 repeat

Without ``--mediapipe-python`` the MediaPipe columns are left empty. Tables go to stdout,
progress to stderr; ``--json-out`` also writes every number as JSON.

Clips (both decoded from an mp4 file, by posestack and by MediaPipe alike, so that both see the
very same RGB frames):

* ``cam01``: pose2sim_demo_singleperson ``videos/cam01.mp4`` (1080x1920, 100 frames at 60 fps,
  one person; the hands are visible in part of it; the face is anonymised, so no face is ever
  found there).
* ``astronaut``: a clip where a face IS found, made from the scikit-image astronaut portrait
  (asset ``astronaut_image``, 512x512 PNG): ``--astronaut-frames`` (60; --quick: 30) frames at
  30 fps of a crop that slowly zooms in towards the face (crop side 512 -> 384 px) and back out,
  resampled to 512x512 (bilinear) so that every frame differs, written once to a temp mp4 with
  PyAV (libx264, crf 18, yuv420p; in a child process). Her hands are not in the picture.

What it measures, on each clip:

1. Throughput, decode excluded. In a FRESH child process per configuration the first
   ``--max-frames`` frames (default: all) are decoded into memory with PyAV (RGB, C-contiguous);
   posestack's ``Holistic(max_people=1, static=False)`` is built (untimed), warmed up on the
   first ``--warmup`` frames (untimed), then processes the frames ``--repeat`` times in a row
   with increasing timestamps (the clip loops; the tracker sees a cut), timed as a whole; once
   with ``num_threads=1`` and once with the number of threads ``posestack.run`` uses by default
   (2 on a machine with >= 2 cores; then the two hands and the face run concurrently).
   ``benchmarks/holistic_throughput.py`` does exactly the same with MediaPipe's
   ``mediapipe.solutions.holistic.Holistic`` (``model_complexity=1``, video mode, smoothing, no
   face refinement, no segmentation) in a subprocess of the MediaPipe venv. The table gives, for
   each, the fraction of timed frames in which the body, the person's left hand, right hand and
   face were found, fps, and posestack/MediaPipe fps ratios (the project's goal: >= 1.3).

2. Agreement. The landmarks of the first timed pass (frames 0..n-1, after the same warm-up) of
   posestack (default threads) and of MediaPipe (``holistic_throughput.py --dump``) are compared
   per part: in how many frames both, only posestack or only MediaPipe found it, and the median
   and 95th percentile pixel distance over the points of the frames where both did (points that
   lie inside the image in both; BlazePose also places body points off-screen). posestack
   with 1 and with N threads are also compared with each other (they should agree exactly).

3. Memory, as a side result. Each configuration runs in its own fresh process, so its peak RSS
   (``ru_maxrss``; cross-checked against VmHWM from /proc/self/status, which a child started by
   (v)fork + exec does not inherit from this launcher, unlike ``ru_maxrss``: a warning is printed
   if they disagree) is that of one estimator plus the decoded frames it holds (reported as
   ``frames_mb``), for posestack and MediaPipe alike. The launcher itself stays small (it never
   loads a model or holds frames); its own peak is reported as ``launcher_peak_rss_mb``.

``--quick`` uses 30 frames per clip and 1 repeat so that the whole benchmark fits in under a
minute. Keep other heavy work off the machine while it runs: the timings use all cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from _common import decode_frames, default_threads, log, peak_rss_mb, run_json, vm_hwm_mb

HERE = Path(__file__).resolve().parent
MEDIAPIPE_SCRIPT = HERE / "holistic_throughput.py"
CAM01, ASTRONAUT = "cam01", "astronaut"
CLIP_KEYS = (CAM01, ASTRONAUT)
# part -> (offset, number of points) in the holistic543 layout
PARTS: dict[str, tuple[int, int]] = {
    "pose": (0, 33), "left_hand": (33, 21), "right_hand": (54, 21), "face": (75, 468),
}
QUICK = {"max_frames": 30, "repeat": 1, "astronaut_frames": 30}
FULL = {"max_frames": None, "repeat": 3, "astronaut_frames": 60}
ASTRONAUT_SIZE = 512
ASTRONAUT_FPS = 30
GOAL = 1.3
_T0 = time.perf_counter()


# --- children (fresh interpreters) ------------------------------------------------------------


def astronaut_crop(i: int, n: int, side: int = ASTRONAUT_SIZE) -> tuple[float, float, float]:
    """Crop (x0, y0, size) of frame ``i`` of ``n``: zoom towards the face and back out."""
    u = (1.0 - math.cos(2.0 * math.pi * i / n)) / 2.0  # 0 -> 1 -> 0 over the clip
    size = side * (1.0 - 0.25 * u)
    cx, cy = side / 2 - 30.0 * u, side / 2 - 40.0 * u  # the face is up and to the left
    return cx - size / 2, cy - size / 2, size


def child_make_astronaut(src: str, dst: str, frames: int) -> dict[str, Any]:
    """Write the panning/zooming astronaut clip (see the module docstring) to ``dst``."""
    import av
    import cv2

    bgr = cv2.imread(src, cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"{src}: not an image")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    side = ASTRONAUT_SIZE
    t0 = time.perf_counter()
    with av.open(dst, mode="w") as out:
        stream = out.add_stream("libx264", rate=ASTRONAUT_FPS)
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for i in range(frames):
            x0, y0, size = astronaut_crop(i, frames, min(rgb.shape[:2]))
            k = side / size
            m = np.array([[k, 0.0, -x0 * k], [0.0, k, -y0 * k]])
            img = cv2.warpAffine(rgb, m, (side, side), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return {"frames": frames, "seconds": time.perf_counter() - t0, "bytes": os.path.getsize(dst)}


def child_time(video: str, threads: int, repeat: int, warmup: int, max_frames: int | None,
               dump: str | None) -> dict[str, Any]:
    """Time posestack's Holistic on the decoded frames of ``video`` (this process is fresh)."""
    from posestack.estimate.holistic import N_HOLISTIC, Holistic

    frames, fps = decode_frames(Path(video), max_frames)
    frames_mb = sum(f.nbytes for f in frames) / 2**20
    est = Holistic(max_people=1, static=False, num_threads=threads)
    for i, rgb in enumerate(frames[:warmup]):
        est(rgb, i / fps)
    n = len(frames)
    offset = min(warmup, n)
    counts = dict.fromkeys(PARTS, 0)
    kept: list[Any] = []  # first timed pass, for the agreement
    t0, c0 = time.perf_counter(), time.process_time()
    # est.stream is what `posestack run` uses: the next frame's body model runs while
    # the current frame's hands and face are found (results identical to est(rgb, t)).
    timed = ((rgb, (offset + r * n + i) / fps) for r in range(repeat)
             for i, rgb in enumerate(frames))
    for k, people in enumerate(est.stream(timed)):
        if k < n:
            kept.append(people[0] if people else None)
        if people:
            p = people[0]
            counts["pose"] += 1
            counts["left_hand"] += p.left_hand is not None
            counts["right_hand"] += p.right_hand is not None
            counts["face"] += p.face is not None
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    h, w = frames[0].shape[:2]
    if dump:  # the landmarks of the first timed pass, as holistic_throughput.py --dump
        xy = np.full((n, N_HOLISTIC, 2), np.nan, np.float32)
        found = np.zeros((n, len(PARTS)), bool)
        for i, p in enumerate(kept):
            if p is not None:
                xy[i] = p.xy
                found[i] = (True, p.left_hand is not None, p.right_hand is not None,
                            p.face is not None)
        np.savez_compressed(dump, xy=xy, found=found, parts=np.array(list(PARTS)), width=w,
                            height=h)
    total = n * repeat
    return {"threads": threads, "clip_frames": n, "repeat": repeat, "frames": total,
            "seconds": seconds, "fps": total / seconds, "ms_per_frame": 1000 * seconds / total,
            "cpu_seconds": cpu, "cpu_util": cpu / seconds,
            **{f"frames_with_{part}": c for part, c in counts.items()},
            "frame_size": f"{w}x{h}", "fps_clip": fps, "frames_mb": frames_mb,
            "peak_rss_mb": peak_rss_mb(), "vm_hwm_mb": vm_hwm_mb()}


def child_main(argv: Sequence[str]) -> int:
    kind, payload = argv[0], json.loads(argv[1])
    if kind == "time":
        result = child_time(**payload)
    elif kind == "make_astronaut":
        result = child_make_astronaut(**payload)
    else:
        raise SystemExit(f"unknown child {kind!r}")
    print(json.dumps(result), flush=True)
    return 0


def run_child(kind: str, what: str, **payload: Any) -> dict[str, Any]:
    return run_json([sys.executable, str(Path(__file__).resolve()), "--child", kind,
                     json.dumps(payload)], what)


def run_mediapipe(args: argparse.Namespace, video: Path, dump: Path,
                  what: str) -> dict[str, Any] | None:
    if not args.mediapipe_python:
        return None
    cmd = [str(args.mediapipe_python), str(MEDIAPIPE_SCRIPT), "--video", str(video), "--json",
           "--repeat", str(args.repeat), "--warmup", str(args.warmup), "--dump", str(dump)]
    if args.max_frames is not None:
        cmd += ["--max-frames", str(args.max_frames)]
    return run_json(cmd, what)


# --- measurements -----------------------------------------------------------------------------


def make_clips(args: argparse.Namespace, tmp: Path) -> dict[str, Path]:
    from posestack import assets

    cam01 = assets.path("pose2sim_demo_singleperson") / "videos/cam01.mp4"
    astro = tmp / "astronaut.mp4"
    log(f"making the astronaut clip ({args.astronaut_frames} frames, libx264)")
    enc = run_child("make_astronaut", "astronaut clip", src=str(assets.path("astronaut_image")),
                    dst=str(astro), frames=args.astronaut_frames)
    log(f"  written in {enc['seconds']:.1f} s, {enc['bytes'] / 1024:.0f} KiB")
    return {CAM01: cam01, ASTRONAUT: astro}


def fractions(r: dict[str, Any] | None) -> dict[str, float | None]:
    return {part: (r[f"frames_with_{part}"] / r["frames"]) if r else None for part in PARTS}


def agreement(ps: Path, mp: Path | None) -> dict[str, Any] | None:
    """Per part: frames found by both / only one; pixel distances where both found it.

    Distances are taken over the points that lie inside the image in both (BlazePose also
    places the body's points outside the frame, where the two may differ a lot).
    """
    if mp is None or not mp.exists():
        return None
    a, b = np.load(ps), np.load(mp)
    if a["xy"].shape != b["xy"].shape:
        log(f"WARNING: {ps.name} {a['xy'].shape} vs {mp.name} {b['xy'].shape}: not compared")
        return None
    size = np.array([b["width"], b["height"]], np.float32)

    def inside(xy: np.ndarray) -> np.ndarray:
        return np.all((xy >= 0) & (xy < size), axis=-1)

    out: dict[str, Any] = {}
    for j, (part, (off, n)) in enumerate(PARTS.items()):
        fa, fb = a["found"][:, j], b["found"][:, j]
        both = fa & fb
        xa, xb = a["xy"][both, off:off + n], b["xy"][both, off:off + n]
        d = np.linalg.norm(xa - xb, axis=-1)[inside(xa) & inside(xb)]
        out[part] = {"both": int(both.sum()), "posestack_only": int((fa & ~fb).sum()),
                     "mediapipe_only": int((fb & ~fa).sum()),
                     "median_px": float(np.median(d)) if d.size else None,
                     "p95_px": float(np.percentile(d, 95)) if d.size else None}
    return out


def same_output(p1: Path, p2: Path) -> dict[str, Any]:
    """posestack with 1 vs N threads: same parts found, and the largest landmark difference."""
    a, b = np.load(p1), np.load(p2)
    same = bool(np.array_equal(a["found"], b["found"]))
    ok = np.isfinite(a["xy"]) & np.isfinite(b["xy"])
    diff = float(np.abs(a["xy"][ok] - b["xy"][ok]).max()) if ok.any() else 0.0
    return {"same_parts_found": same, "max_abs_diff_px": diff}


def measure(args: argparse.Namespace, clips: dict[str, Path], tmp: Path) -> dict[str, Any]:
    nt = default_threads()
    thread_set = sorted({1, nt})
    out: dict[str, Any] = {}
    for key in CLIP_KEYS:
        video = clips[key]
        entry: dict[str, Any] = {"video": video.name, "posestack": {}}
        dumps: dict[int, Path] = {}
        for threads in thread_set:
            log(f"posestack {key}: threads={threads}, {args.repeat} repeat(s)")
            dumps[threads] = tmp / f"ps_{key}_t{threads}.npz"
            r = run_child("time", f"posestack on {key}", video=str(video), threads=threads,
                          repeat=args.repeat, warmup=args.warmup, max_frames=args.max_frames,
                          dump=str(dumps[threads]))
            log(f"  {r['fps']:.1f} fps ({r['clip_frames']} frames x {r['repeat']}), "
                f"cpu util {r['cpu_util']:.2f}")
            entry["posestack"][f"t{threads}"] = r
        first = entry["posestack"]["t1"]
        entry.update(frames=first["clip_frames"], size=first["frame_size"],
                     fps_clip=first["fps_clip"])
        mp_dump: Path | None = None
        if args.mediapipe_python:
            log(f"MediaPipe {key}")
            mp_dump = tmp / f"mp_{key}.npz"
            mp = run_mediapipe(args, video, mp_dump, f"MediaPipe on {key}")
            assert mp is not None
            log(f"  {mp['fps']:.1f} fps, cpu util {mp['cpu_util']:.2f}")
            if mp["clip_frames"] != entry["frames"]:
                log(f"WARNING: MediaPipe used {mp['clip_frames']} frames of {key}, posestack "
                    f"{entry['frames']}")
            entry["mediapipe"] = mp
        else:
            entry["mediapipe"] = None
        entry["agreement"] = agreement(dumps[nt], mp_dump)
        entry["threads_1_vs_n"] = same_output(dumps[1], dumps[nt])
        for name, r in [*entry["posestack"].items(), ("mediapipe", entry["mediapipe"])]:
            hwm = r.get("vm_hwm_mb") if r else None
            if r and hwm and abs(r["peak_rss_mb"] - hwm) > 0.05 * hwm:
                log(f"WARNING: {key} {name}: ru_maxrss {r['peak_rss_mb']:.0f} MiB but VmHWM "
                    f"{hwm:.0f} MiB (ru_maxrss inherited the launcher's peak?)")
        out[key] = entry
    return out


# --- reporting --------------------------------------------------------------------------------


def _f(x: float | None, fmt: str = ".1f") -> str:
    return "n/a" if x is None else format(x, fmt)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def report(res: dict[str, Any]) -> dict[str, Any]:
    """Print the tables; return the summary numbers."""
    clips, nt = res["clips"], res["default_threads"]
    t1, td = "t1", f"t{nt}"
    summary: dict[str, Any] = {}

    print(f"\nHolistic throughput, decode excluded ({res['repeat']} repeats after "
          f"{res['warmup']} warm-up frames; {res['cpu_count']} CPU cores; MediaPipe "
          f"{res['mediapipe_version'] or 'n/a'}); found = fraction of timed frames, ps | MP")
    head = (f"{'clip':<10}{'frames':>7}{'size':>10}{'body':>12}{'left hand':>12}"
            f"{'right hand':>12}{'face':>12}{'ps fps 1t':>11}{f'ps fps {nt}t':>11}{'MP fps':>9}"
            f"{'ps1t/MP':>9}{f'ps{nt}t/MP':>9}")
    print(head)
    print("-" * len(head))
    for key in CLIP_KEYS:
        e = clips[key]
        p1, pd, mp = e["posestack"][t1], e["posestack"][td], e["mediapipe"]
        fp, fm = fractions(pd), fractions(mp)
        mp_fps = mp["fps"] if mp else None
        found = "".join(format(f"{_f(fp[part], '.2f')} | {_f(fm[part], '.2f')}", ">12")
                        for part in PARTS)
        print(f"{key:<10}{e['frames']:>7}{e['size']:>10}{found}{p1['fps']:>11.1f}"
              f"{pd['fps']:>11.1f}{_f(mp_fps):>9}{_f(_ratio(p1['fps'], mp_fps), '.2f'):>9}"
              f"{_f(_ratio(pd['fps'], mp_fps), '.2f'):>9}")
        summary[key] = {"posestack_fps_1t": p1["fps"], f"posestack_fps_{nt}t": pd["fps"],
                        "mediapipe_fps": mp_fps, "ratio_1t": _ratio(p1["fps"], mp_fps),
                        f"ratio_{nt}t": _ratio(pd["fps"], mp_fps),
                        "posestack_found": fp, "mediapipe_found": fm}
    if nt != 1:
        diffs = "; ".join(
            f"{key}: {'same' if clips[key]['threads_1_vs_n']['same_parts_found'] else 'OTHER'} "
            f"parts found, max difference {clips[key]['threads_1_vs_n']['max_abs_diff_px']:.3g} px"
            for key in CLIP_KEYS)
        print(f"(found: posestack with {nt} threads; posestack 1 vs {nt} threads: {diffs})")

    print("\nCPU utilisation (process CPU s / wall s) and peak RSS, MiB (a fresh process each, "
          "decoded frames included)")
    head = (f"{'clip':<10}{'frames MiB':>11}{'cpu ps 1t':>11}{f'cpu ps {nt}t':>11}{'cpu MP':>8}"
            f"{'RSS ps 1t':>11}{f'RSS ps {nt}t':>11}{'RSS MP':>8}")
    print(head)
    print("-" * len(head))
    for key in CLIP_KEYS:
        e = clips[key]
        p1, pd, mp = e["posestack"][t1], e["posestack"][td], e["mediapipe"]
        print(f"{key:<10}{pd['frames_mb']:>11.0f}{p1['cpu_util']:>11.2f}{pd['cpu_util']:>11.2f}"
              f"{_f(mp and mp['cpu_util'], '.2f'):>8}{p1['peak_rss_mb']:>11.0f}"
              f"{pd['peak_rss_mb']:>11.0f}{_f(mp and mp['peak_rss_mb'], '.0f'):>8}")
    print(f"launcher peak RSS {res['launcher_peak_rss_mb']:.0f} MiB (floor of the children's "
          "ru_maxrss)")

    if any(clips[key]["agreement"] for key in CLIP_KEYS):
        print(f"\nAgreement with MediaPipe, first timed pass (posestack {nt} threads; frames in "
              "which a part was found by both / only one; px distance over the points of the "
              "frames found by both that lie inside the image in both)")
        head = (f"{'clip':<10}{'part':<12}{'both':>6}{'ps only':>9}{'MP only':>9}"
                f"{'median px':>11}{'p95 px':>9}")
        print(head)
        print("-" * len(head))
        for key in CLIP_KEYS:
            agree = clips[key]["agreement"]
            for part, a in (agree or {}).items():
                print(f"{key:<10}{part:<12}{a['both']:>6}{a['posestack_only']:>9}"
                      f"{a['mediapipe_only']:>9}{_f(a['median_px'], '.2f'):>11}"
                      f"{_f(a['p95_px'], '.2f'):>9}")
            summary[key]["agreement"] = agree

    print(f"\nSummary ({res['elapsed_s']:.0f} s in all; goal: posestack >= {GOAL}x MediaPipe's "
          "throughput)")
    for key in CLIP_KEYS:
        s = summary[key]
        ratio = s[f"ratio_{nt}t"]
        verdict = "n/a" if ratio is None else ("met" if ratio >= GOAL else "NOT met")
        print(f"  {key}: posestack {s['posestack_fps_1t']:.1f} fps (1 thread), "
              f"{s[f'posestack_fps_{nt}t']:.1f} fps ({nt} threads) vs MediaPipe "
              f"{_f(s['mediapipe_fps'])} fps -> {_f(s['ratio_1t'], '.2f')}x / "
              f"{_f(ratio, '.2f')}x; goal {verdict}")
        s["goal_met"] = None if ratio is None else ratio >= GOAL
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
    parser.add_argument("--astronaut-frames", type=int, default=None,
                        help="length of the astronaut clip (default 60; --quick: 30)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed passes over the frames (default 3; --quick: 1)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed warm-up frames (5)")
    parser.add_argument("--quick", action="store_true",
                        help="30 frames per clip, 1 repeat: under a minute in all")
    parser.add_argument("--json-out", type=Path, default=None, help="also write JSON here")
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.repeat < 1 or args.astronaut_frames < 2 or args.warmup < 0 or (
            args.max_frames is not None and args.max_frames < 1):
        parser.error("--repeat and --max-frames must be >= 1, --astronaut-frames >= 2, "
                     "--warmup >= 0")
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

    if not args.mediapipe_python:
        log("no --mediapipe-python: MediaPipe columns will be empty")
    res: dict[str, Any] = {
        "posestack_version": posestack.__version__,
        "mediapipe_version": mediapipe_version(args.mediapipe_python),
        "python": platform.python_version(), "machine": platform.machine(),
        "cpu_count": os.cpu_count(), "default_threads": default_threads(),
        "quick": args.quick, "max_frames": args.max_frames, "repeat": args.repeat,
        "warmup": args.warmup, "astronaut_frames": args.astronaut_frames,
    }
    with tempfile.TemporaryDirectory(prefix="posestack-bench-holistic-") as tmp:
        clips = make_clips(args, Path(tmp))  # fetches missing assets before timing anything
        res["clips"] = measure(args, clips, Path(tmp))
    res["launcher_peak_rss_mb"] = peak_rss_mb()
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
