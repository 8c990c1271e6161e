"""Helpers shared by the benchmark and reference scripts.

Imported by scripts run with the project's venv and by those run in MediaPipe's
throwaway venv (numpy<2), so it needs nothing but the standard library, numpy
and PyAV, and must never import posestack.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np

_T0 = time.perf_counter()


def log(msg: str) -> None:
    """A progress line on stderr, stamped with the seconds since the script started."""
    print(f"[{time.perf_counter() - _T0:7.1f} s] {msg}", file=sys.stderr, flush=True)


def default_threads() -> int:
    """The number of inference threads ``posestack.run`` uses when none is given and a core
    is free (on a busy machine it takes one: ``posestack.pipeline.default_threads``)."""
    return min(2, os.cpu_count() or 1)


def peak_rss_mb() -> float:
    """Peak resident memory of this process, MiB (``ru_maxrss``; inherited across exec)."""
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def vm_hwm_mb() -> float | None:
    """Peak RSS of this process image (Linux /proc; not inherited across exec), else None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def decode_frames(path: Path, max_frames: int | None) -> tuple[list[np.ndarray], float]:
    """The first ``max_frames`` frames as C-contiguous RGB uint8 arrays, and the clip's fps."""
    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 30)
        for frame in container.decode(stream):
            if max_frames is not None and len(frames) >= max_frames:
                break
            frames.append(np.ascontiguousarray(frame.to_ndarray(format="rgb24")))
    if not frames:
        raise SystemExit(f"{path}: no frames decoded")
    return frames, fps


def iter_rgb_frames(path: Path, max_frames: int | None) -> Iterator[np.ndarray]:
    """Read-only HxWx3 uint8 RGB frames in decode order, at most ``max_frames`` of them."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            if max_frames is not None and index >= max_frames:
                break
            # PyAV may return a row-padded (strided) view; MediaPipe needs C-contiguous data.
            rgb = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
            rgb.flags.writeable = False
            yield rgb


def iter_indexed_frames(path: Path, last: int | None = None
                        ) -> Iterator[tuple[int, np.ndarray]]:
    """(index, HxWx3 uint8 RGB) in decode order, stopping after index ``last``."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            yield index, np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
            if last is not None and index >= last:
                break


def parse_frames(spec: str) -> list[int]:
    """Parse ``"0,10,20"`` and/or ``"start:stop[:step]"`` items into sorted unique indices."""
    out: set[int] = set()
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        if ":" in item:
            parts = [int(p) for p in item.split(":")]
            if len(parts) not in (2, 3):
                raise argparse.ArgumentTypeError(f"bad range {item!r}")
            out.update(range(*parts))
        else:
            out.add(int(item))
    if not out or min(out) < 0:
        raise argparse.ArgumentTypeError(f"bad frame list {spec!r}")
    return sorted(out)


def run_json(cmd: list[str], what: str) -> dict[str, Any]:
    """Run ``cmd``, return the JSON object on the last line of its stdout."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("{")]
    if not lines:
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-2000:])
        raise SystemExit(f"{what}: no JSON line in the output of {' '.join(cmd)}")
    return json.loads(lines[-1])
