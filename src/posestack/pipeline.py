"""The main job: videos or images in, a bundle of keypoint files out.

:func:`run` wires reading, estimation, drawing and writing for each input,
with frames streamed through three threads (decode → estimate → draw and
encode), a progress bar, and a manifest. Every file is written under a
temporary name and renamed when complete; ``manifest.json`` is written last,
so a bundle with a manifest is whole. A rerun with the same input and
parameters finds the manifest and skips the work.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import queue
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .assets import sha256_file
from .errors import InputError, OutputError
from .io.atomic import atomic_path, write_json
from .io.formats import write_coco_results, write_openpose
from .io.media import FrameReader, MediaInfo, VideoWriter, collect_inputs, probe
from .io.tables import poses_to_table, write_parquet
from .poses import Poses
from .skeletons import get_skeleton

log = logging.getLogger(__name__)

BUNDLE_FILES = {
    "keypoints2d": "keypoints2d.parquet",
    "keypoints3d_body": "keypoints3d_body.parquet",
    "coco": "coco_results.json",
    "openpose": "openpose",
    "overlay": "overlay.mp4",
    "manifest": "manifest.json",
}


@dataclass(frozen=True)
class RunParameters:
    """Everything that changes a run's results (stored in the manifest).

    Times are seconds; ``start``/``end`` select ``start ≤ t < end``.
    """

    estimator: str = "blazepose"
    max_people: int = 4
    start: float | None = None
    end: float | None = None
    device: str = "cpu"
    smooth: bool = True
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    detect_interval: int = 10
    video: bool = True

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            v = getattr(self, name)
            if v is not None and (not np.isfinite(v) or v < 0):
                raise InputError(f"--{name} must be a non-negative number of seconds; got {v}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InputError(f"--end ({self.end} s) must be after --start ({self.start} s)")
        if self.max_people < 1:
            raise InputError(f"--max-people must be at least 1; got {self.max_people}")


@dataclass(frozen=True)
class Result:
    """What :func:`run` returns for one input.

    ``keypoints2d``: (T, P, 33, 2) pixels, space ``image:<camera>``;
    ``keypoints3d``: (T, P, 33, 3) metres, space ``body`` (hip-centred);
    ``frames``: (T,) index of each time step in the source;
    ``bundle``: the output folder, or None when nothing was written.
    """

    name: str
    source: Path
    info: MediaInfo
    keypoints2d: Poses
    keypoints3d: Poses
    frames: np.ndarray
    bundle: Path | None
    manifest: dict[str, Any]
    warnings: tuple[str, ...] = ()
    skipped: bool = False


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"posestack": __version__, "python": platform.python_version()}
    for dist in ("numpy", "opencv-python-headless", "av", "ai-edge-litert", "pyarrow"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe_file = folder / f".posestack-write-test-{os.getpid()}"
        probe_file.write_bytes(b"")
        probe_file.unlink()
    except OSError as e:
        raise OutputError(f"cannot write to output folder {folder}: {e.strerror or e}. Choose "
                          "another folder with -o, or fix its permissions") from None


def _bundle_names(paths: Sequence[Path]) -> list[str]:
    """One folder name per input: the file stem, made unique with the suffix if needed."""
    stems = [p.stem for p in paths]
    names = []
    for p, s in zip(paths, stems, strict=True):
        names.append(s if stems.count(s) == 1 else f"{s}_{p.suffix.lstrip('.').lower()}")
    return names


def run(inputs: str | os.PathLike | Iterable[str | os.PathLike], output: str | os.PathLike |
        None = None, *, estimator: str = "blazepose", max_people: int = 4,
        start: float | None = None, end: float | None = None, video: bool = True,
        device: str = "cpu", smooth: bool = True, min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5, detect_interval: int = 10,
        num_threads: int | None = None, progress: bool = True, force: bool = False,
        ) -> list[Result]:
    """Estimate keypoints on videos or images and (optionally) write a bundle per input.

    Args:
        inputs: a video, an image, a folder of them, or a list of those.
        output: folder for the bundles (``output/<input stem>/``); None keeps
            results in memory only.
        estimator: ``"blazepose"``.
        max_people: most people followed per frame.
        start, end: seconds; only frames with ``start ≤ t < end``.
        video: write ``overlay.mp4`` (H.264) with the skeletons drawn.
        device: ``"cpu"``.
        smooth: one-euro smoothing in video mode (as MediaPipe does).
        min_detection_confidence, min_tracking_confidence: BlazePose thresholds.
        detect_interval: frames between detector runs while fewer than
            ``max_people`` are followed.
        num_threads: inference threads (default: 2 when the machine has ≥ 2 cores).
        progress: show a progress bar (frames/s, ETA) on stderr.
        force: redo inputs whose bundle is already complete.

    Returns:
        one :class:`Result` per input, in order.

    Raises:
        InputError: missing or unreadable input, bad parameters.
        OutputError: the output folder cannot be written (checked before any work).
        AssetError: a model cannot be found, fetched or loaded.
    """
    if isinstance(inputs, str | os.PathLike):
        inputs = [inputs]
    params = RunParameters(estimator=estimator, max_people=max_people, start=start, end=end,
                           device=device, smooth=smooth,
                           min_detection_confidence=min_detection_confidence,
                           min_tracking_confidence=min_tracking_confidence,
                           detect_interval=detect_interval, video=video)
    paths = collect_inputs(inputs)
    out_root = Path(output).expanduser() if output is not None else None
    if out_root is not None:
        _check_writable(out_root)
    infos = [probe(p) for p in paths]  # fail on a bad input before any work
    names = _bundle_names(paths)
    from .estimate import make_estimator

    est = None
    results = []
    for path, info, name in zip(paths, infos, names, strict=True):
        bundle = out_root / name if out_root is not None else None
        digest = sha256_file(path)
        key = _run_key(digest, params)
        if bundle is not None and not force:
            done = _finished(bundle, key)
            if done is not None:
                log.info("%s: bundle %s is complete for these parameters; skipping", name, bundle)
                results.append(_load_result(name, path, info, bundle, done))
                continue
        if est is None:
            threads = num_threads if num_threads is not None else min(2, os.cpu_count() or 1)
            est = make_estimator(params.estimator, device=params.device,
                                 max_people=params.max_people, smooth=params.smooth,
                                 min_detection_confidence=params.min_detection_confidence,
                                 min_tracking_confidence=params.min_tracking_confidence,
                                 detect_interval=params.detect_interval, num_threads=threads)
        est.reset()
        est.static = info.kind == "image"
        results.append(_run_one(est, path, info, name, bundle, params, digest, key, progress))
    return results


def _run_key(digest: str, params: RunParameters) -> str:
    blob = json.dumps({"input": digest, "params": dataclasses.asdict(params),
                       "version": __version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _finished(bundle: Path, key: str) -> dict | None:
    mf = bundle / BUNDLE_FILES["manifest"]
    try:
        manifest = json.loads(mf.read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("run_key") != key:
        return None
    if not all((bundle / f).exists() for f in manifest.get("outputs", {}).values()):
        return None
    return manifest


_END = object()


def _reader_thread(reader: FrameReader, q: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in reader:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
        q.put(_END)
    except BaseException as e:  # handed to the main thread
        q.put(e)


def _writer_thread(writer: VideoWriter, q: queue.Queue, skeleton, errors: list) -> None:
    from .render.draw import draw_skeleton

    while True:
        item = q.get()
        if item is _END:
            return
        if errors:
            continue  # drain
        rgb, coords, scores, slots = item
        try:
            writer.write(draw_skeleton(rgb, coords, scores, skeleton,
                                       labels=[f"#{s}" for s in slots]))
        except BaseException as e:
            errors.append(e)


def _run_one(est, path: Path, info: MediaInfo, name: str, bundle: Path | None,
             params: RunParameters, digest: str, key: str, progress: bool) -> Result:
    from tqdm import tqdm

    skeleton = get_skeleton(est.skeleton_name)
    k = len(skeleton)
    reader = FrameReader(info, start=params.start, end=params.end)
    t_start = time.perf_counter()
    frames_q: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()
    rt = threading.Thread(target=_reader_thread, args=(reader, frames_q, stop), daemon=True)
    total = info.n_frames
    if total and info.fps and (params.start or params.end):
        a = int((params.start or 0) * info.fps)
        b = int(params.end * info.fps) if params.end is not None else total
        total = max(0, min(total, b) - a)
    bar = tqdm(total=total, unit="frame", desc=name, disable=not progress, dynamic_ncols=True,
               leave=True)

    draw_q: queue.Queue = queue.Queue(maxsize=4)
    writer_errors: list[BaseException] = []
    writer = None
    wt = None
    overlay_ctx = None
    made_bundle = bundle is not None and not bundle.exists()
    if bundle is not None:
        # An old manifest would vouch for files this run is about to replace.
        (bundle / BUNDLE_FILES["manifest"]).unlink(missing_ok=True)
    if bundle is not None and params.video:
        bundle.mkdir(parents=True, exist_ok=True)
        overlay_ctx = atomic_path(bundle / BUNDLE_FILES["overlay"])
        tmp_overlay = overlay_ctx.__enter__()
        fps = info.fps if info.kind == "video" and info.fps else 1.0
        writer = VideoWriter(tmp_overlay, info.width, info.height, fps)
        wt = threading.Thread(target=_writer_thread, args=(writer, draw_q, skeleton,
                                                           writer_errors), daemon=True)
        wt.start()

    frames: list[int] = []
    times: list[float] = []
    xy_all: list[np.ndarray] = []
    sc_all: list[np.ndarray] = []
    world_all: list[np.ndarray] = []
    max_slot = -1
    est_seconds = 0.0
    ok = False
    rt.start()
    try:
        while True:
            item = frames_q.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            index, t, rgb = item
            t0 = time.perf_counter()
            people = est(rgb, t)
            est_seconds += time.perf_counter() - t0
            xy = np.full((params.max_people, k, 2), np.nan, np.float32)
            sc = np.zeros((params.max_people, k), np.float32)
            world = np.full((params.max_people, k, 3), np.nan, np.float32)
            for p in people:
                xy[p.slot], sc[p.slot], world[p.slot] = p.xy, p.visibility, p.world
                max_slot = max(max_slot, p.slot)
            frames.append(index)
            times.append(t)
            xy_all.append(xy)
            sc_all.append(sc)
            world_all.append(world)
            if writer is not None:
                if writer_errors:
                    raise writer_errors[0]
                slots = [p.slot for p in people]
                draw_q.put((rgb, xy[slots], sc[slots], slots))
            bar.update(1)
        if not frames:
            span = f" between {params.start} s and {params.end} s" if (
                params.start is not None or params.end is not None) else ""
            raise InputError(f"{path} has no frames{span} to process")
        if writer is not None:
            draw_q.put(_END)
            wt.join()
            if writer_errors:
                raise writer_errors[0]
            writer.close()
            writer = None
            overlay_ctx.__exit__(None, None, None)
            overlay_ctx = None
        ok = True
    finally:
        bar.close()
        stop.set()
        if not ok:
            if wt is not None and wt.is_alive():
                draw_q.put(_END)
                wt.join(timeout=10)
            if writer is not None:
                try:
                    writer.close()
                except Exception:  # the error that got us here matters more
                    pass
            if overlay_ctx is not None:
                overlay_ctx.__exit__(*sys.exc_info())
            if made_bundle and bundle.is_dir() and not any(bundle.iterdir()):
                bundle.rmdir()
    wall = time.perf_counter() - t_start

    n_people = max_slot + 1
    frames_arr = np.asarray(frames, dtype=np.int64)
    times_arr = np.asarray(times, dtype=np.float64)
    xy_arr = np.stack(xy_all)[:, :n_people]
    sc_arr = np.stack(sc_all)[:, :n_people]
    world_arr = np.stack(world_all)[:, :n_people]
    camera = path.stem
    meta = {"source": str(path), "estimator": params.estimator, "score": "visibility"}
    kp2d = Poses(skeleton, xy_arr, sc_arr, times_arr, f"image:{camera}", meta=meta)
    kp3d = Poses(skeleton, world_arr, sc_arr, times_arr, "body", meta=meta)

    warnings = list(reader.warnings)
    for w in warnings:  # also in the manifest and Result.warnings; the CLI prints them
        log.info(w)
    n_read = len(frames)
    manifest: dict[str, Any] = {
        "posestack": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "run_key": key,
        "input": {"path": str(path.resolve()), "size": path.stat().st_size, "sha256": digest,
                  "kind": info.kind, "width": info.width, "height": info.height,
                  "fps": info.fps, "frames_declared": info.n_frames, "codec": info.codec},
        "frames": {"processed": n_read, "first": int(frames_arr[0]), "last": int(frames_arr[-1]),
                   "with_people": int(kp2d.present().any(axis=1).sum())},
        "truncated": reader.truncated,
        "parameters": dataclasses.asdict(params),
        "models": [{"name": n, "file": str(p), "sha256": sha256_file(p)}
                   for n, p in est.model_files.items()],
        "skeleton": skeleton.name,
        "people": n_people,
        "versions": _versions(),
        "timings": {"wall_s": round(wall, 3), "estimate_s": round(est_seconds, 3),
                    "frames_per_s": round(n_read / wall, 2) if wall > 0 else None,
                    "estimate_frames_per_s": round(n_read / est_seconds, 2)
                    if est_seconds > 0 else None},
        "warnings": warnings,
        "outputs": {},
        "conventions": {
            "keypoints2d": "pixels, origin top-left, x right, y down; score = BlazePose "
                           "visibility; missing = NaN, score 0",
            "keypoints3d_body": "metres, origin between the hips, x right, y down, z away "
                                "from the camera (MediaPipe world landmarks)",
            "coco_results": "COCO-17 layout; image_id = frame index",
            "openpose": f"OpenPose 1.3 json, pose_keypoints_2d in the {skeleton.name} layout",
        },
    }
    if bundle is not None:
        write_parquet(bundle / BUNDLE_FILES["keypoints2d"], poses_to_table(kp2d, frames_arr,
                                                                           camera))
        write_parquet(bundle / BUNDLE_FILES["keypoints3d_body"],
                      poses_to_table(kp3d, frames_arr, camera))
        write_coco_results(bundle / BUNDLE_FILES["coco"], kp2d.to_skeleton("coco17"), frames_arr)
        write_openpose(bundle / BUNDLE_FILES["openpose"], camera, kp2d, frames_arr)
        outputs = ["keypoints2d", "keypoints3d_body", "coco", "openpose"]
        if params.video:
            outputs.append("overlay")
        else:
            (bundle / BUNDLE_FILES["overlay"]).unlink(missing_ok=True)
        manifest["outputs"] = {o: BUNDLE_FILES[o] for o in outputs}
        write_json(bundle / BUNDLE_FILES["manifest"], manifest)
    return Result(name, path, info, kp2d, kp3d, frames_arr, bundle, manifest, tuple(warnings))


def read_keypoints(path: str | os.PathLike) -> tuple[Poses, np.ndarray]:
    """Read a ``keypoints2d``/``keypoints3d`` Parquet file back into :class:`Poses`.

    Returns the poses and the (T,) source frame index of each time step. The
    table holds rows only for people present, so frames in which nobody was
    found are absent from the result.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise InputError(f"keypoint table not found: {path}")
    table = pq.read_table(path)
    md = table.schema.metadata or {}
    try:
        skeleton = get_skeleton(md[b"posestack.skeleton"].decode())
        space = md[b"posestack.space"].decode()
    except KeyError:
        raise InputError(f"{path} was not written by posestack (no skeleton metadata)") from None
    dims = ["x", "y", "z"] if "z" in table.column_names else ["x", "y"]
    frame = table["frame"].to_numpy()
    person = table["person"].to_numpy().astype(np.int64)
    kp = table["keypoint"].combine_chunks().indices.to_numpy().astype(np.int64)
    ufr, fi = np.unique(frame, return_inverse=True)
    tvals = table["time"].to_numpy()
    times = np.zeros(len(ufr))
    times[fi] = tvals
    n_p = int(person.max()) + 1 if len(person) else 0
    coords = np.full((len(ufr), n_p, len(skeleton), len(dims)), np.nan, np.float32)
    scores = np.zeros((len(ufr), n_p, len(skeleton)), np.float32)
    for d, c in enumerate(dims):
        coords[fi, person, kp, d] = table[c].to_numpy()
    scores[fi, person, kp] = table["score"].to_numpy()
    return Poses(skeleton, coords, scores, times, space), ufr


def _load_result(name: str, path: Path, info: MediaInfo, bundle: Path, manifest: dict) -> Result:
    kp2d, frames = read_keypoints(bundle / BUNDLE_FILES["keypoints2d"])
    kp3d, _ = read_keypoints(bundle / BUNDLE_FILES["keypoints3d_body"])
    return Result(name, path, info, kp2d, kp3d, frames, bundle, manifest,
                  tuple(manifest.get("warnings", ())), skipped=True)


__all__ = ["BUNDLE_FILES", "Result", "RunParameters", "read_keypoints", "run"]
