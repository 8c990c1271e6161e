"""The main job: videos or images in, a bundle of keypoint files out.

:func:`run` does, for each input:

1. **estimate**: frames are decoded in a reader thread and streamed through the
   estimator; with tracking (default for video) each person gets a stable
   identity (:class:`posestack.track.Tracker`, on the body keypoints);
2. **post-process**: conversion to the requested layout, then filtering
   (one-euro or zero-phase Butterworth, optional gap filling);
3. **render**: the video is read again and the final keypoints are drawn
   (``style="skeleton"`` over the frames, or ``style="openpose"``: the
   ControlNet/DWPose pose image on black) and encoded to H.264;
4. **write** the bundle; every file is written under a temporary name and
   renamed when complete, ``manifest.json`` last, so a bundle with a manifest
   is whole. A rerun with the same input and parameters skips the work.

Progress bars show frames/s and the ETA of stages 1 and 3.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import queue
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .assets import sha256_file
from .errors import InputError, OutputError
from .io.atomic import atomic_path, write_json
from .io.bundle import (
    bundle_lock,
    check_bundle_folder,
    commit,
    damaged,
    record_files,
    recover,
    staged,
)
from .io.formats import write_coco_results, write_openpose
from .io.media import FrameReader, MediaInfo, VideoWriter, collect_inputs, probe
from .io.tables import poses_to_table, read_parquet, write_parquet
from .poses import Poses
from .skeletons import Skeleton, get_skeleton, keypoint_map

log = logging.getLogger(__name__)

BUNDLE_FILES = {
    "keypoints2d": "keypoints2d.parquet",
    "angles": "angles.parquet",
    "keypoints3d_body": "keypoints3d_body.parquet",
    "coco": "coco_results.json",
    "openpose": "openpose",
    "overlay": "overlay.mp4",
    "manifest": "manifest.json",
}
LAYOUTS = {"native": None, "coco17": "coco17", "halpe26": "halpe26",
           "wholebody133": "coco_wholebody133"}
FILTERS = ("none", "oneeuro", "butterworth")
STYLES = ("skeleton", "openpose")


def _choice(name: str, value: str, valid: Iterable[str]) -> None:
    valid = tuple(valid)
    if value not in valid:
        raise InputError(f"--{name} {value!r} is not valid; choose one of: {', '.join(valid)}")


@dataclass(frozen=True)
class RunParameters:
    """Everything that changes a run's results (stored in the manifest).

    Times are seconds; ``start``/``end`` select ``start ≤ t < end``. Filter
    parameters: ``cutoff`` Hz and ``order`` (Butterworth), ``min_cutoff`` Hz and
    ``beta`` (one-euro), ``max_gap`` frames filled before filtering.
    ``autorotate``: analyse frames as displayed (turned as a phone video's display
    matrix or an image's EXIF orientation asks), else as stored.
    """

    estimator: str = "blazepose"
    model: str | None = None
    detector: str | None = None
    max_people: int = 4
    start: float | None = None
    end: float | None = None
    device: str = "cpu"
    smooth: bool | None = None
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    detect_interval: int = 10
    person_detector: str = "auto"
    layout: str = "native"
    track: bool = True
    max_age: float = 1.0
    max_identities: int | None = None
    filter: str = "none"
    cutoff: float = 6.0
    order: int = 4
    min_cutoff: float = 1.0
    beta: float = 0.0
    max_gap: int = 0
    video: bool = True
    style: str = "skeleton"
    ik: bool = False
    opensim: bool = False
    augment: bool = False
    height: float | None = None
    mass: float = 70.0
    autorotate: bool = True
    fix_swaps: bool = True

    def __post_init__(self) -> None:
        from .estimate import ESTIMATORS, PERSON_DETECTORS

        if self.smooth is None:  # BlazePose's causal smoothing lags; a zero-phase filter won't
            object.__setattr__(self, "smooth", self.filter != "butterworth")

        for name in ("start", "end"):
            v = getattr(self, name)
            if v is not None and (not np.isfinite(v) or v < 0):
                raise InputError(f"--{name} must be a non-negative number of seconds; got {v}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InputError(f"--end ({self.end} s) must be after --start ({self.start} s)")
        if self.max_people < 1:
            raise InputError(f"--max-people must be at least 1; got {self.max_people}")
        _choice("estimator", self.estimator, ESTIMATORS)
        _choice("person-detector", self.person_detector, PERSON_DETECTORS)
        if self.detect_interval < 0:
            raise InputError(f"--detect-interval must be ≥ 0 frames (0: only when someone is "
                             f"lost); got {self.detect_interval}")
        if self.max_identities is not None and self.max_identities < 1:
            raise InputError(f"--max-identities must be at least 1; got {self.max_identities}")
        _choice("layout", self.layout, LAYOUTS)
        _choice("filter", self.filter, FILTERS)
        _choice("style", self.style, STYLES)
        if self.max_gap < 0:
            raise InputError(f"--max-gap must be ≥ 0 frames; got {self.max_gap}")
        if not self.max_age > 0:
            raise InputError(f"--max-age must be > 0 seconds; got {self.max_age}")
        if self.height is not None and not 0.5 < self.height < 2.8:
            raise InputError(f"--height must be in metres (0.5-2.8); got {self.height}")
        if not 10 < self.mass < 400:
            raise InputError(f"--mass must be in kg (10-400); got {self.mass}")
        if self.augment and not self.opensim:
            raise InputError("--augment adds markers for OpenSim: use it with --opensim")
        if (self.height is not None or self.mass != 70.0) and not self.opensim:
            raise InputError("--height and --mass scale the OpenSim model: use them with "
                             "--opensim (3D from several cameras)")


@dataclass(frozen=True)
class Result:
    """What :func:`run` returns for one input.

    ``keypoints2d``: (T, P, K, 2) pixels, space ``image:<camera>``, in the
    requested layout; ``tracked`` when tracking ran (P is then the identity).
    ``keypoints3d``: (T, P, 33, 3) metres, space ``body`` (BlazePose world
    landmarks, hip-centred), or None for estimators without 3D.
    ``frames``: (T,) index of each time step in the source.
    ``bundle``: the output folder, or None when nothing was written.
    """

    name: str
    source: Path
    info: MediaInfo
    keypoints2d: Poses
    keypoints3d: Poses | None
    frames: np.ndarray
    bundle: Path | None
    manifest: dict[str, Any]
    warnings: tuple[str, ...] = ()
    skipped: bool = False
    angles: Any = None


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"posestack": __version__, "python": platform.python_version()}
    for dist in ("numpy", "scipy", "opencv-python-headless", "av", "ai-edge-litert",
                 "onnxruntime", "pyarrow"):
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


def _check_against_media(path: Path, info: MediaInfo, params: RunParameters) -> None:
    """Options that only make sense for some inputs, checked once the input is probed."""
    if info.applied_rotation:
        log.info("%s: turned %d° clockwise as the file asks (--no-autorotate: as stored)",
                 path.name, info.applied_rotation)
    if info.kind != "video":
        return
    if params.start is not None and info.duration and params.start >= info.duration:
        raise InputError(f"--start {params.start} s is past the end of {path} "
                         f"({info.duration:.2f} s long)")
    if params.filter == "butterworth" and info.fps and params.cutoff >= info.fps / 2:
        raise InputError(f"--cutoff {params.cutoff} Hz is at or above the Nyquist frequency "
                         f"of {path} ({info.fps / 2:g} Hz at {info.fps:g} frames/s); choose a "
                         "lower cut-off (6 Hz is usual for human movement)")
    if params.filter == "butterworth":
        from .io.media import frame_times, variable_rate

        vfr = variable_rate(frame_times(info, params.start, params.end))
        if vfr is not None:
            raise InputError(
                f"{path} has a variable frame rate (frame steps from {vfr[0] * 1000:.1f} to "
                f"{vfr[1] * 1000:.1f} ms, as phones record); --filter butterworth needs a "
                "constant rate: use --filter oneeuro, which follows each frame's time, or "
                "convert the video to a constant rate first (ffmpeg -i IN -vf fps=30 OUT)")


def _orientation(info: MediaInfo) -> dict[str, Any]:
    """The manifest's record of how the input was turned: ``rotation`` (clockwise degrees
    applied), ``rotation_in_file`` (asked for by the file), the stored size in pixels."""
    sw, sh = info.stored_size
    out: dict[str, Any] = {"rotation": info.applied_rotation, "rotation_in_file": info.rotation,
                           "stored_width": sw, "stored_height": sh}
    if info.mirrored:
        out["mirrored"] = info.autorotate
    return out


def _rotation_warnings(path: Path, info: MediaInfo) -> list[str]:
    """Say when a file asks to be turned and is not (``autorotate=False``)."""
    if info.autorotate or not (info.rotation or info.mirrored):
        return []
    how = "upside down" if info.rotation == 180 else "sideways" if info.rotation else "mirrored"
    return [f"{path.name}: analysed as stored (--no-autorotate): the file asks for a "
            f"{info.rotation}° clockwise turn{' and a mirror' if info.mirrored else ''} to show "
            f"it upright, so keypoints, angles and the overlay are {how}"]


def _bundle_names(paths: Sequence[Path]) -> list[str]:
    """One folder name per input, unique and stable: the file stem; where stems collide,
    the stem and the suffix (``clip_mp4``, ``clip_mov``); where those collide too (the
    same file name in two folders), the parent folders' names in front
    (``s1_clip``, ``s2_clip``), as many levels as it takes.

    Raises :class:`InputError` when one file is given twice.
    """
    resolved = [p.resolve() for p in paths]
    dupes = sorted({str(p) for p in resolved if resolved.count(p) > 1})
    if dupes:
        raise InputError(f"the same input is given twice: {', '.join(dupes)}")
    stems = [p.stem for p in paths]
    names = [s if stems.count(s) == 1 else f"{s}_{p.suffix.lstrip('.').lower()}"
             for p, s in zip(paths, stems, strict=True)]
    depth = 0
    while len(set(names)) < len(names):
        depth += 1
        clash = {n for n in names if names.count(n) > 1}
        for i, (p, n) in enumerate(zip(resolved, list(names), strict=True)):
            if n in clash:
                parents = [q.name for q in list(p.parents)[:depth]][::-1]
                if len(parents) < depth:  # pragma: no cover - distinct paths always differ
                    raise InputError(f"cannot give {paths[i]} a bundle name of its own")
                names[i] = "_".join([*parents, paths[i].stem])
    return names


def run(inputs: str | os.PathLike | Iterable[str | os.PathLike], output: str | os.PathLike |
        None = None, *, estimator: str = "blazepose", model: str | os.PathLike | None = None,
        detector: str | os.PathLike | None = None, max_people: int = 4,
        start: float | None = None, end: float | None = None, layout: str = "native",
        track: bool = True, max_age: float = 1.0, filter: str = "none", cutoff: float = 6.0,
        order: int = 4, min_cutoff: float = 1.0, beta: float = 0.0, max_gap: int = 0,
        video: bool = True, style: str = "skeleton", device: str = "cpu",
        smooth: bool | None = None, min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5, detect_interval: int = 10,
        person_detector: str = "auto", max_identities: int | None = None,
        num_threads: int | None = None, progress: bool = True, force: bool = False,
        autorotate: bool = True, fix_swaps: bool = True) -> list[Result]:
    """Estimate keypoints on videos or images and (optionally) write a bundle per input.

    Args:
        inputs: a video, an image, a folder of them, or a list of those.
        output: folder for the bundles (``output/<input stem>/``); None keeps
            results in memory only.
        estimator: ``"blazepose"``, ``"holistic"``, ``"rtmw"``, ``"dwpose"``,
            ``"rtmpose"`` or ``"rtmo"``.
        model, detector: ``.onnx`` files for the ONNX estimators (detector: a
            YOLOX model; default: posestack's embedded BlazePose detector).
        max_people: most people per frame.
        start, end: seconds; only frames with ``start ≤ t < end``.
        layout: ``"native"`` (the estimator's own), ``"coco17"``, ``"halpe26"``
            or ``"wholebody133"``; points a layout has but the estimator does
            not make are NaN with score 0.
        track: give people stable identities across video frames.
        max_age: seconds a lost person keeps their identity.
        filter: ``"none"``, ``"oneeuro"`` (``min_cutoff`` Hz, ``beta``) or
            ``"butterworth"`` (zero-phase, ``cutoff`` Hz, ``order``).
        max_gap: fill gaps of at most this many frames before filtering.
        video: write ``overlay.mp4`` (H.264; ``overlay.png`` for an image).
        style: ``"skeleton"`` (drawn over the video) or ``"openpose"`` (the
            ControlNet/DWPose pose image on black).
        device: ``"cpu"``.
        smooth: BlazePose's own one-euro smoothing in video mode (as MediaPipe).
            None (default): on, except with ``filter="butterworth"``: that causal
            filter delays the landmarks by 1–2 frames, which the zero-phase
            Butterworth then keeps (measured on the Pose2Sim sample: without it the
            OpenSim angles agree better with Pose2Sim's, docs/angles.md).
        min_detection_confidence, min_tracking_confidence, detect_interval:
            BlazePose detector/landmark thresholds and re-detection interval.
        person_detector: who finds people for BlazePose/Holistic and the top-down
            ONNX models without ``detector``: ``"auto"`` (SSDLite over the image
            and its tiles, plus BlazePose's own detector; default), ``"ssdlite"``
            or ``"blazepose"`` (MediaPipe's, made for one person).
        max_identities: most identities a video may have (the number of people
            in it): once reached, a new detection takes back the most similar
            lost identity. None: no cap.
        num_threads: inference threads (default: :func:`default_threads`, 2 or 1).
        progress: show progress bars (frames/s, ETA) on stderr.
        force: redo inputs whose bundle is already complete.
        autorotate: turn frames as the file asks (a phone video's display matrix,
            an image's EXIF orientation), so that keypoints, angles and the
            overlay are in the displayed orientation (the manifest's
            ``input.rotation``, clockwise degrees); False: analyse as stored.
        fix_swaps: swap back left/right side groups (legs, arms…) that the 2D
            estimator labelled the other way round for some frames, found from each
            tracked person's motion (:func:`posestack.swaps.fix_swaps_temporal`;
            the manifest's ``swaps`` counts them). Multi-view runs settle swaps by
            the geometry of the other cameras instead, before triangulation.

    Returns:
        one :class:`Result` per input, in order.

    Raises:
        InputError: missing or unreadable input, bad parameters.
        OutputError: the output folder cannot be written (checked before any work).
        AssetError: a model cannot be found, fetched or loaded, or is of the wrong kind.
    """
    if isinstance(inputs, str | os.PathLike):
        inputs = [inputs]
    params = RunParameters(
        estimator=estimator, model=str(model) if model is not None else None,
        detector=str(detector) if detector is not None else None, max_people=max_people,
        start=start, end=end, device=device, smooth=smooth,
        min_detection_confidence=min_detection_confidence,
        min_tracking_confidence=min_tracking_confidence, detect_interval=detect_interval,
        person_detector=person_detector, max_identities=max_identities,
        layout=layout, track=track, max_age=max_age, filter=filter, cutoff=cutoff,
        order=order, min_cutoff=min_cutoff, beta=beta, max_gap=max_gap, video=video,
        style=style, autorotate=autorotate, fix_swaps=fix_swaps)
    paths = collect_inputs(inputs)
    out_root = Path(output).expanduser() if output is not None else None
    if out_root is not None:
        _check_writable(out_root)
    if num_threads is not None and not 1 <= num_threads <= 8 * (os.cpu_count() or 1):
        raise InputError(f"--threads must be between 1 and {8 * (os.cpu_count() or 1)} (this "
                         f"machine has {os.cpu_count()} cores); got {num_threads}")
    # fail on a bad input before any work
    infos = [probe(p, autorotate=params.autorotate) for p in paths]
    for p, info in zip(paths, infos, strict=True):
        _check_against_media(p, info, params)
    names = _bundle_names(paths)
    if out_root is not None:
        for name in names:
            check_bundle_folder(out_root / name)

    model_digests = {k: sha256_file(Path(v)) for k, v in
                     (("model", params.model), ("detector", params.detector))
                     if v is not None and Path(v).is_file()}
    est = None
    results = []
    for path, info, name in zip(paths, infos, names, strict=True):
        bundle = out_root / name if out_root is not None else None
        with bundle_lock(bundle) if bundle is not None else contextlib.nullcontext():
            if bundle is not None:
                for line in recover(bundle):
                    log.info("%s: %s", name, line)
            digest = sha256_file(path)
            key = _run_key(digest, params, model_digests)
            if bundle is not None and not force:
                done = _finished(bundle, key)
                if done is not None:
                    log.info("%s: bundle %s is complete for these parameters; skipping", name,
                             bundle)
                    results.append(_load_result(name, path, info, bundle, done))
                    continue
            est = _one_input(est, path, info, name, bundle, params, digest, key, progress,
                             num_threads, results)
    return results


def _one_input(est, path: Path, info: MediaInfo, name: str, bundle: Path | None,
               params: RunParameters, digest: str, key: str, progress: bool,
               num_threads: int | None, results: list[Result]):
    """Make the estimator on first use, run one input, append its result; returns the
    estimator for the next input."""
    from .estimate import make_estimator

    if est is None:
        threads = num_threads if num_threads is not None else default_threads()
        est = make_estimator(params.estimator, device=params.device,
                             max_people=params.max_people, smooth=params.smooth,
                             min_detection_confidence=params.min_detection_confidence,
                             min_tracking_confidence=params.min_tracking_confidence,
                             detect_interval=params.detect_interval, num_threads=threads,
                             model=params.model, detector=params.detector,
                             person_detector=params.person_detector)
        _check_layouts(get_skeleton(est.skeleton_name), params)
    est.reset()
    est.static = info.kind == "image"
    results.append(_run_one(est, path, info, name, bundle, params, digest, key, progress))
    return est


def _target_skeleton(native: Skeleton, params: RunParameters) -> Skeleton:
    target = LAYOUTS[params.layout]
    return native if target is None else get_skeleton(target)


def _check_layouts(native: Skeleton, params: RunParameters) -> None:
    """Fail before any work when the requested layout or style cannot be made."""
    target = _target_skeleton(native, params)
    if target is not native:
        keypoint_map(native, target)  # InputError names the missing map
    if params.style == "openpose" and target.name != "coco_wholebody133":
        try:
            keypoint_map(target, "coco_wholebody133")
        except InputError:
            raise InputError(f"--style openpose needs a body layout; {target.name} cannot be "
                             "drawn as an OpenPose image") from None


def _run_key(digest: str, params: RunParameters, models: dict[str, str]) -> str:
    blob = json.dumps({"input": digest, "params": dataclasses.asdict(params),
                       "models": models, "version": __version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _finished(bundle: Path, key: str) -> dict | None:
    mf = bundle / BUNDLE_FILES["manifest"]
    try:
        manifest = json.loads(mf.read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("run_key") != key:
        return None
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(_files_of(manifest)):
        return None
    bad = damaged(bundle, files)
    if bad:
        log.warning("%s is not complete (%s); making it again", bundle, "; ".join(bad))
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
    except BaseException as e:  # handed to the consumer
        q.put(e)


def _stream(reader: FrameReader) -> Iterator[tuple[int, float, np.ndarray]]:
    """Frames decoded ahead in a thread (a queue of 4), re-raising its errors here."""
    q: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()
    t = threading.Thread(target=_reader_thread, args=(reader, q, stop), daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _bar(total: int | None, desc: str, progress: bool):
    from .progress import progress_bar

    return progress_bar(total, desc, enabled=progress)


def _expected_frames(info: MediaInfo, params: RunParameters) -> int | None:
    total = info.n_frames
    if total and info.fps and (params.start or params.end):
        a = int((params.start or 0) * info.fps)
        b = int(params.end * info.fps) if params.end is not None else total
        total = max(0, min(total, b) - a)
    return total


@dataclass
class _Estimates:
    frames: np.ndarray          # (T,)
    times: np.ndarray           # (T,)
    coords: np.ndarray          # (T, P, K, 2)
    scores: np.ndarray          # (T, P, K)
    world: np.ndarray | None    # (T, P, 33, 3)
    seconds: float
    stats: dict = dataclasses.field(default_factory=dict)  # detector/tracker counts


def _track_part(skeleton: Skeleton) -> tuple[Skeleton, np.ndarray]:
    """The body keypoints used for tracking, and their layout."""
    match skeleton.name:
        case "holistic543":
            return get_skeleton("blazepose33"), np.arange(33)
        case "coco_wholebody133":
            return get_skeleton("coco17"), np.arange(17)
        case _:
            return skeleton, np.arange(len(skeleton))


def default_threads() -> int:
    """Inference threads when none are asked for: two where a core is free, else one.

    A second thread makes BlazePose about 1.7× faster on an idle core but costs
    10-30% more CPU time (XNNPACK's workers spin and wait for each other); on a
    machine whose cores are all busy (1-minute load average ≥ cores, as in a batch
    with a worker per core) it buys no speed, only that cost. A lower bar would take
    the load a run that just ended leaves behind (the average decays over a minute)
    for a busy machine: on 2 cores at load 1.4, Holistic on one thread ran 1.01× as
    fast as MediaPipe, on two 1.34×. Results do not depend on the number of threads.
    """
    cores = os.cpu_count() or 1
    if cores < 2:
        return 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows)
        return 2
    if load < cores:
        return 2
    log.info("the cores are busy (load average %.1f on %d cores): one inference thread "
             "(--threads 2 for two)", load, cores)
    return 1


def _decode_threads(info: MediaInfo) -> int | None:
    """Decoder threads: one for frames up to 1920×1088, FFmpeg's choice above.

    One thread decodes H.264 at 1080p faster than the estimators take the frames, and
    FFmpeg's frame threads (one per core, plus one) spend about 40% more CPU on it.
    """
    return 1 if info.width * info.height <= 1920 * 1088 else None


def _opencv_threads(n: int) -> int:
    """Set OpenCV's number of threads (process-wide); returns the previous number.

    The estimate pass runs OpenCV on one thread. Its crops (``warpAffine`` to 256 px
    or less) are too small for its thread pool, whose workers spin between calls; and
    ``warpAffine`` gives some pixels ±1 apart depending on how many threads share the
    image, so with a pool that concurrent callers (Holistic's hands and face) take in
    turn, Holistic's results changed from run to run and from machine to machine.
    """
    import cv2

    previous = cv2.getNumThreads()
    cv2.setNumThreads(n)
    return previous


def _estimate(est, reader: FrameReader, params: RunParameters, name: str, total: int | None,
              progress: bool, static: bool) -> _Estimates:
    from .reid import appearance
    from .track import Tracker

    skeleton = get_skeleton(est.skeleton_name)
    k = len(skeleton)
    tracker = None
    if params.track and not static:
        track_skeleton, track_idx = _track_part(skeleton)
        tracker = Tracker(track_skeleton, max_age=params.max_age,
                          max_identities=params.max_identities)
    frames: list[int] = []
    times: list[float] = []
    rows: list[list[tuple[int, Any]]] = []
    n_ids = 0
    dropped = dropped_frames = 0
    bar = _bar(total, name, progress)
    pending: deque[tuple[int, float]] = deque()

    def frames_in() -> Iterator[tuple[np.ndarray, float]]:
        for index, t, rgb in _stream(reader):
            pending.append((index, t, rgb))
            yield rgb, t

    # An estimator with a `stream` method overlaps work across frames (Holistic).
    results = est.stream(frames_in()) if hasattr(est, "stream") else (
        est(rgb, t) for rgb, t in frames_in())
    cv_threads = _opencv_threads(1)
    t0 = time.perf_counter()
    try:
        for people in results:
            index, t, rgb = pending.popleft()
            if tracker is not None:
                xy = np.array([p.xy[track_idx] for p in people]).reshape(-1, len(track_idx), 2)
                sc = np.array([p.scores[track_idx] for p in people]).reshape(-1, len(track_idx))
                ids = tracker.update(xy, sc, t, appearance(rgb, xy, sc, track_skeleton))
            else:
                ids = [getattr(p, "slot", i) for i, p in enumerate(people)]
            row = [(int(i), p) for i, p in zip(ids, people, strict=True) if i >= 0]
            if tracker is not None and len(row) < len(people):
                dropped += len(people) - len(row)
                dropped_frames += 1
            n_ids = max([n_ids, *(i + 1 for i, _ in row)])
            frames.append(index)
            times.append(t)
            rows.append(row)
            bar.update(1)
    finally:
        bar.close()
        _opencv_threads(cv_threads)
    seconds = time.perf_counter() - t0  # decoding runs alongside in its own thread
    n = len(frames)
    coords = np.full((n, n_ids, k, 2), np.nan, np.float32)
    scores = np.zeros((n, n_ids, k), np.float32)
    world = np.full((n, n_ids, 33, 3), np.nan, np.float32) if getattr(
        est, "has_world", False) else None
    for ti, row in enumerate(rows):
        for i, p in row:
            coords[ti, i], scores[ti, i] = p.xy, p.scores
            if world is not None:
                world[ti, i] = p.world
    stats = dict(getattr(est, "stats", {}) or {})
    if tracker is not None:
        stats["reidentified"] = tracker.reidentified
        stats["dropped_people"] = dropped
        stats["dropped_frames"] = dropped_frames
        coords, scores, world, stats["fragments_merged"] = _stitch(
            skeleton, coords, scores, world, np.asarray(times, np.float64), params)
        stats["identities"] = coords.shape[1]
    return _Estimates(np.asarray(frames, np.int64), np.asarray(times, np.float64), coords,
                      scores, world, seconds, stats)


def _stitch(skeleton: Skeleton, coords: np.ndarray, scores: np.ndarray,
            world: np.ndarray | None, times: np.ndarray, params: RunParameters,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    """Merge identity fragments of one person (:func:`posestack.track.stitch`) in every array."""
    from .track import stitch

    if coords.shape[1] < 2 or len(times) < 2:
        return coords, scores, world, 0
    merged, mapping = stitch(Poses(skeleton, coords, scores, times, "image:stitch",
                                   tracked=True), max_gap=params.max_age)
    n = merged.n_people
    out_w = None if world is None else np.full((world.shape[0], n, *world.shape[2:]), np.nan,
                                               np.float32)
    if out_w is not None:  # the world landmarks follow the same merges
        for old, new in enumerate(mapping):
            if new >= 0:
                here = (scores[:, old] > 0).any(axis=1)
                out_w[here, new] = world[here, old]
    return merged.coords, merged.scores, out_w, int(coords.shape[1] - n)


def _postprocess(est: _Estimates, native: Skeleton, params: RunParameters, camera: str,
                 tracked: bool, meta: dict) -> tuple[Poses, Poses | None]:
    from .filters import filter_poses

    kp2d = Poses(native, est.coords, est.scores, est.times, f"image:{camera}", tracked=tracked,
                 meta=meta)
    kp3d = None
    if est.world is not None:
        kp3d = Poses("blazepose33", est.world, est.scores[:, :, :33], est.times, "body",
                     tracked=tracked, meta=meta)
    if params.fix_swaps and tracked:
        from .swaps import apply_swaps, fix_swaps_temporal

        kp2d, swapped = fix_swaps_temporal(kp2d)
        if kp3d is not None:
            kp3d = apply_swaps(kp3d, swapped)
    target = _target_skeleton(native, params)
    if target is not native:
        kp2d = kp2d.to_skeleton(target)
    if (params.filter != "none" or params.max_gap > 0) and kp2d.n_frames > 1:
        kw = dict(cutoff=params.cutoff, order=params.order, min_cutoff=params.min_cutoff,
                  beta=params.beta, max_gap=params.max_gap)
        kp2d = filter_poses(kp2d, params.filter, **kw)
        if kp3d is not None:
            kp3d = filter_poses(kp3d, params.filter, **kw)
    return kp2d, kp3d


def filter_warnings(poses: Poses, params: RunParameters, what: str = "keypoint") -> list[str]:
    """Say where the requested filter could not run (too few frames, or tracks too short
    for Butterworth), so that a manifest never claims more filtering than was done."""
    if params.filter == "none":
        return []
    if poses.n_frames < 2:
        return [f"--filter {params.filter}: only {poses.n_frames} frame, nothing was filtered"]
    fp = poses.meta.get("filter_params", {})
    n, short = fp.get("samples", 0), fp.get("unfiltered", 0)
    if not short:
        return []
    return [f"--filter butterworth: {short} of {n} {what} positions ({100 * short / n:.0f}%) "
            f"were left unfiltered, in tracks shorter than {fp['min_run']} frames (too short "
            "for the zero-phase filter); --max-gap N joins tracks across short gaps"]


def _overlay_name(info: MediaInfo) -> str:
    """``overlay.mp4`` for a video, ``overlay.png`` for an image."""
    return "overlay.png" if info.kind == "image" else BUNDLE_FILES["overlay"]


def _render(path_out: Path, info: MediaInfo, params: RunParameters, kp2d: Poses,
            frames: np.ndarray, name: str, progress: bool) -> None:
    """Read the video (or image) again and draw the final keypoints into an H.264 file
    (a PNG for an image)."""
    from .render.draw import draw_skeleton
    from .render.openpose import draw_openpose

    row_of = {int(f): i for i, f in enumerate(frames)}
    wb = kp2d
    if params.style == "openpose" and kp2d.skeleton.name != "coco_wholebody133":
        wb = kp2d.to_skeleton("coco_wholebody133")
    present = kp2d.present()

    def draw(ti: int, rgb: np.ndarray) -> np.ndarray:
        who = np.nonzero(present[ti])[0]
        if params.style == "openpose":
            return draw_openpose(rgb.shape[:2], wb.coords[ti, who], wb.scores[ti, who])
        return draw_skeleton(rgb, kp2d.coords[ti, who], kp2d.scores[ti, who],
                             kp2d.skeleton, labels=[f"#{p}" for p in who])

    reader = FrameReader(info, start=params.start, end=params.end,
                         threads=_decode_threads(info))
    if info.kind == "image":
        import cv2

        for index, _, rgb in reader:
            ok, png = cv2.imencode(".png", cv2.cvtColor(draw(row_of[int(index)], rgb),
                                                        cv2.COLOR_RGB2BGR))
            if not ok:  # pragma: no cover - PNG encoding of a uint8 image does not fail
                raise OutputError(f"cannot encode {path_out} as PNG")
            path_out.write_bytes(png.tobytes())
        return
    fps = info.fps if info.fps else 1.0
    bar = _bar(len(frames), f"{name} overlay", progress)
    try:
        with VideoWriter(path_out, info.width, info.height, fps) as writer:
            for index, _, rgb in _stream(reader):
                ti = row_of.get(int(index))
                if ti is None:
                    continue
                writer.write(draw(ti, rgb))
                bar.update(1)
    finally:
        bar.close()


def _run_one(est, path: Path, info: MediaInfo, name: str, bundle: Path | None,
             params: RunParameters, digest: str, key: str, progress: bool) -> Result:
    native = get_skeleton(est.skeleton_name)
    static = info.kind == "image"
    reader = FrameReader(info, start=params.start, end=params.end,
                         threads=_decode_threads(info))
    t_start = time.perf_counter()
    with staged(bundle) if bundle is not None else contextlib.nullcontext() as stage:
        return _run_staged(est, path, info, name, bundle, stage, params, digest, key, progress,
                           reader, native, static, t_start)


def _replacing(bundle: Path | None, params: RunParameters) -> list[str]:
    """Warnings about what a new run replaces in an existing bundle."""
    if bundle is None or not bundle.is_dir():
        return []
    try:
        old = json.loads((bundle / BUNDLE_FILES["manifest"]).read_text())
    except (OSError, ValueError):
        return []
    out = []
    before = old.get("parameters") or {}
    now = dataclasses.asdict(params)
    changed = [k for k in now if k in before and before[k] != now[k]]
    if changed:
        out.append(f"replaced the finished results in {bundle}, made with "
                   + ", ".join(f"{k}={before[k]}" for k in changed) + " (now "
                   + ", ".join(f"{k}={now[k]}" for k in changed) + "); write to another "
                   "folder with -o to keep both")
    own = set(BUNDLE_FILES.values())
    kept = sorted(e.name for e in bundle.iterdir() if e.name not in own)
    if kept:
        out.append("kept " + ", ".join(kept) + f" in {bundle}: made from the previous "
                   "results, so rerun the commands that wrote them to update them")
    return out


def _run_staged(est, path: Path, info: MediaInfo, name: str, bundle: Path | None,
                stage: Path | None, params: RunParameters, digest: str, key: str,
                progress: bool, reader: FrameReader, native: Skeleton, static: bool,
                t_start: float) -> Result:
    """Estimate, post-process and write one input into ``stage``, then swap it in."""
    raw = _estimate(est, reader, params, name, _expected_frames(info, params), progress,
                    static)
    if not len(raw.frames):
        span = f" between {params.start} s and {params.end} s" if (
            params.start is not None or params.end is not None) else ""
        raise InputError(f"{path} has no frames{span} to process")
    camera = path.stem
    tracked = params.track and not static
    meta = {"source": str(path), "estimator": params.estimator}
    kp2d, kp3d = _postprocess(raw, native, params, camera, tracked, meta)
    t_render = time.perf_counter()
    if stage is not None and params.video:
        with atomic_path(stage / _overlay_name(info)) as tmp:
            _render(tmp, info, params, kp2d, raw.frames, name, progress)
    render_s = time.perf_counter() - t_render
    wall = time.perf_counter() - t_start
    warnings = [*reader.warnings, *_rotation_warnings(path, info), *_replacing(bundle, params),
                *filter_warnings(kp2d, params)]
    if raw.stats.get("dropped_frames") and params.max_identities is not None:
        warnings.append(
            f"{raw.stats['dropped_people']} people in {raw.stats['dropped_frames']} frames were "
            f"left out: more people were in view at once than --max-identities "
            f"{params.max_identities} allows")
    for w in warnings:  # also in the manifest and Result.warnings; the CLI prints them
        log.info(w)
    n_read = len(raw.frames)
    from .kinematics.angles import planar_angles

    try:
        angles = planar_angles(kp2d, min_score=0.3)
    except InputError as e:
        angles = None
        warnings.append(f"no joint angles: {e}")
    coco_ok = True
    try:
        coco17 = kp2d.to_skeleton("coco17") if kp2d.skeleton.name != "coco17" else kp2d
    except InputError:
        coco_ok, coco17 = False, None
        warnings.append(f"no COCO-17 results: the {kp2d.skeleton.name} layout has no body")
    manifest: dict[str, Any] = {
        "posestack": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "run_key": key,
        "input": {"path": str(path.resolve()), "size": path.stat().st_size, "sha256": digest,
                  "kind": info.kind, "width": info.width, "height": info.height,
                  "fps": info.fps, "frames_declared": info.n_frames, "codec": info.codec,
                  **_orientation(info)},
        "frames": {"processed": n_read, "first": int(raw.frames[0]),
                   "last": int(raw.frames[-1]),
                   "with_people": int(kp2d.present().any(axis=1).sum())},
        "truncated": reader.truncated,
        "parameters": dataclasses.asdict(params),
        "models": [{"name": n, "file": str(p), "sha256": sha256_file(Path(p))}
                   for n, p in est.model_files.items()],
        "skeleton": {"estimator": native.name, "keypoints2d": kp2d.skeleton.name},
        "people": kp2d.n_people,
        "people_per_frame": _people_counts(kp2d),
        "detection": raw.stats,
        "swaps": {"method": "temporal", "frames": kp2d.meta.get("swaps", {})}
        if params.fix_swaps and tracked else None,
        "tracked": tracked,
        "versions": _versions(),
        "timings": {"wall_s": round(wall, 3), "estimate_s": round(raw.seconds, 3),
                    "render_s": round(render_s, 3),
                    "frames_per_s": round(n_read / wall, 2) if wall > 0 else None,
                    "estimate_frames_per_s": round(n_read / raw.seconds, 2)
                    if raw.seconds > 0 else None},
        "warnings": warnings,
        "outputs": {},
        "conventions": {
            "keypoints2d": f"{kp2d.skeleton.name} layout; pixels, origin top-left, x right, "
                           "y down; missing = NaN, score 0; person = identity when tracked",
            "keypoints3d_body": "blazepose33 world landmarks: metres, origin between the "
                                "hips, x right, y down, z away from the camera",
            "coco_results": "COCO-17 layout; image_id = frame index",
            "angles": "planar joint and segment angles in degrees, Sports2D conventions "
                      "(docs/angles.md)",
            "openpose": "OpenPose 1.3 json, pose_keypoints_2d in the "
                        f"{kp2d.skeleton.name} layout",
            "overlay": "ControlNet/DWPose pose image on black" if params.style == "openpose"
                       else "skeletons drawn over the video, labelled by person",
        },
    }
    if bundle is not None and stage is not None:
        camera = path.stem
        write_parquet(stage / BUNDLE_FILES["keypoints2d"],
                      poses_to_table(kp2d, raw.frames, camera))
        outputs = ["keypoints2d"]
        if angles is not None:
            write_parquet(stage / BUNDLE_FILES["angles"], angles.to_table(raw.frames))
            outputs.append("angles")
        if kp3d is not None:
            write_parquet(stage / BUNDLE_FILES["keypoints3d_body"],
                          poses_to_table(kp3d, raw.frames, camera))
            outputs.append("keypoints3d_body")
        if coco_ok:
            write_coco_results(stage / BUNDLE_FILES["coco"], coco17, raw.frames)
            outputs.append("coco")
        write_openpose(stage / BUNDLE_FILES["openpose"], camera, kp2d, raw.frames)
        outputs.append("openpose")
        if params.video:
            outputs.append("overlay")
        manifest["outputs"] = {o: BUNDLE_FILES[o] for o in outputs}
        if params.video:
            manifest["outputs"]["overlay"] = _overlay_name(info)
        manifest["files"] = record_files(stage, manifest["outputs"].values())
        write_json(stage / BUNDLE_FILES["manifest"], manifest)
        commit(stage, bundle, [*BUNDLE_FILES.values(), "overlay.png"])
    return Result(name, path, info, kp2d, kp3d, raw.frames, bundle, manifest, tuple(warnings),
                  angles=angles)


def _people_counts(kp2d: Poses) -> dict[str, int]:
    """How many frames show 0, 1, 2… people: ``{"0": n0, "1": n1, …}``."""
    counts = np.bincount(kp2d.present().sum(axis=1), minlength=1) if kp2d.n_frames else []
    return {str(i): int(c) for i, c in enumerate(counts)}


def read_keypoints(path: str | os.PathLike) -> tuple[Poses, np.ndarray]:
    """Read a ``keypoints2d``/``keypoints3d`` Parquet file back into :class:`Poses`.

    The table holds rows only for the people present; the result has every frame
    from the first to the last the run covered, on the source's regular frame grid,
    so that filters and fits see the video's timing: frames in which nobody was found
    have NaN coordinates and score 0, their times interpolated between those of the
    frames around them. (A table written without the covered range in its metadata
    spans its first to its last row's frame.)

    Args:
        path: a ``keypoints2d.parquet``, ``keypoints3d.parquet`` or
            ``keypoints3d_body.parquet`` written by posestack.

    Returns:
        ``(poses, frames)``: :class:`Poses` ``(T, P, K, D)`` (D = 2, pixels, or 3,
        metres; P = the highest person index + 1; times in seconds) and the ``(T,)``
        int64 source frame index of each time step (consecutive integers).

    Raises:
        InputError: the file is missing or was not written by posestack.
    """
    path = Path(path)
    table = read_parquet(path, what="keypoint table")
    md = table.schema.metadata or {}
    try:
        skeleton = get_skeleton(md[b"posestack.skeleton"].decode())
        space = md[b"posestack.space"].decode()
    except KeyError:
        raise InputError(f"{path} was not written by posestack (no skeleton metadata)") from None
    tracked = md.get(b"posestack.tracked", b"false") == b"true"
    dims = ["x", "y", "z"] if "z" in table.column_names else ["x", "y"]
    frame = table["frame"].to_numpy().astype(np.int64)
    person = table["person"].to_numpy().astype(np.int64)
    kp = table["keypoint"].combine_chunks().indices.to_numpy().astype(np.int64)
    tvals = table["time"].to_numpy()
    # the times known: those of the rows' frames and of the covered range's two ends
    f_known, first = np.unique(frame, return_index=True)
    t_known = tvals[first].astype(np.float64)
    span = json.loads(md.get(b"posestack.frames") or b"{}")
    if span:
        f_known, keep = np.unique(np.r_[f_known, span["first"], span["last"]],
                                  return_index=True)
        t_known = np.r_[t_known, span["times"]][keep]
    if len(f_known):
        grid = np.arange(f_known[0], f_known[-1] + 1, dtype=np.int64)
        times = np.interp(grid, f_known, t_known)
    else:
        grid, times = np.zeros(0, np.int64), np.zeros(0)
    fi = frame - (grid[0] if len(grid) else 0)
    n_p = int(person.max()) + 1 if len(person) else 0
    coords = np.full((len(grid), n_p, len(skeleton), len(dims)), np.nan, np.float32)
    scores = np.zeros((len(grid), n_p, len(skeleton)), np.float32)
    for d, c in enumerate(dims):
        coords[fi, person, kp, d] = table[c].to_numpy()
    scores[fi, person, kp] = table["score"].to_numpy()
    return Poses(skeleton, coords, scores, times, space, tracked=tracked), grid


def _load_result(name: str, path: Path, info: MediaInfo, bundle: Path, manifest: dict) -> Result:
    kp2d, frames = read_keypoints(bundle / BUNDLE_FILES["keypoints2d"])
    kp3d = None
    if "keypoints3d_body" in manifest.get("outputs", {}):
        kp3d, _ = read_keypoints(bundle / BUNDLE_FILES["keypoints3d_body"])
    return Result(name, path, info, kp2d, kp3d, frames, bundle, manifest,
                  tuple(manifest.get("warnings", ())), skipped=True)


__all__ = ["BUNDLE_FILES", "FILTERS", "LAYOUTS", "STYLES", "Result", "RunParameters",
           "default_threads", "read_keypoints", "run"]


# --- several calibrated cameras ---------------------------------------------------------------

CALIBRATION_SUFFIXES = (".qca.txt", ".toml", ".yml", ".yaml", ".json")


@dataclass(frozen=True)
class MultiviewResult:
    """What :func:`run_multiview` and :func:`triangulate_files` return.

    ``views``: the per-camera 2D results (``run_multiview``) or None;
    ``poses3d``: ``(T, Q, K, 3)`` world metres, tracked, filtered as asked;
    ``reconstruction``: the unfiltered triangulation with reprojection errors
    and views used; ``bundle``: ``OUT/multiview`` or None.
    """

    views: tuple[Result, ...] | None
    reconstruction: Any
    poses3d: Poses
    bundle: Path | None
    manifest: dict[str, Any]
    warnings: tuple[str, ...] = ()
    angles: Any = None
    ik: Any = None
    skipped: bool = False


def find_calibration(folder: Path) -> Path | None:
    """The single calibration file in ``folder`` or its ``calibration/`` subfolder, if any.

    Only files that read as a calibration count: a ``pyproject.toml`` or a
    ``notes.json`` beside the videos is passed over (and logged), not taken for one.

    Raises:
        InputError: several calibration files in the first place that has any.
    """
    from .multiview.calibration import load_calibration

    found = []
    for d in (folder, folder / "calibration", folder.parent / "calibration"):
        if d.is_dir():
            for p in sorted(d.iterdir()):
                if not (p.is_file() and p.name.lower().endswith(CALIBRATION_SUFFIXES)
                        and not p.name.lower().startswith("config")):
                    continue
                try:
                    load_calibration(p)
                except InputError as e:
                    log.info("%s is not taken as the calibration: %s", p, e)
                    continue
                found.append(p)
        if found:
            break
    if len(found) > 1:
        raise InputError(f"several calibration files next to {folder}: "
                         f"{', '.join(p.name for p in found)}; choose one with --calibration")
    return found[0] if found else None


def _camera_warnings(rec, names: Sequence[str]) -> list[str]:
    out = []
    use = rec.camera_use
    best = max(use.values()) if use else 0.0
    for cam in names:
        if use.get(cam, 0.0) < 0.5 and best > 0.8:
            out.append(f"camera {cam} agrees with the others for only {use[cam]:.0%} of its "
                       "points (the others: up to {:.0%}); it may be out of sync (try "
                       "--offset {}=N) or its calibration may be off".format(best, cam))
    if rec.n_views.size and not (rec.n_views > 0).any():
        out.append("no point could be triangulated: check that the calibration belongs to "
                   "these videos and that the cameras are synchronised")
    return out


def _camera_offsets(offsets: dict[str, int] | None, names: Sequence[str]) -> dict[str, int]:
    """``offsets`` keyed by the cameras' names (a name is matched like a video: ``cam2`` ~
    ``cam02``), checked before any work."""
    from .multiview.calibration import find_camera

    out: dict[str, int] = {}
    for given, n in (offsets or {}).items():
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise InputError(f"--offset {given}={n!r}: an offset is a whole number of frames")
        cam = find_camera(str(given), names, "--offset")
        if cam in out:
            raise InputError(f"--offset gives camera {cam} twice")
        out[cam] = int(n)
    return out


def _frame_offsets(offsets: dict[str, int], names: Sequence[str]) -> dict[str, int]:
    """The offsets that number the 3D frames from the camera that started first: each
    camera's frame index minus its offset (Pose2Sim's convention), shifted so that no 3D
    frame is negative. Returns the nonzero ones; camera frame = 3D frame + offset."""
    shift = max(offsets.get(n, 0) for n in names) if names else 0
    return {n: offsets.get(n, 0) - shift for n in names if offsets.get(n, 0) != shift}


def _select_cameras(calib, cameras: Sequence[str] | None):
    """The calibration reduced to ``cameras`` (names matched like videos), in that order."""
    if cameras is None:
        return calib
    from .multiview.calibration import find_camera

    if isinstance(cameras, str):
        cameras = [c for c in cameras.split(",") if c.strip()]
    picked = [find_camera(c.strip(), calib.names, "--cameras") for c in cameras]
    if len(set(picked)) != len(picked):
        raise InputError(f"--cameras names a camera twice: {', '.join(cameras)}")
    if len(picked) < 2:
        raise InputError("--cameras: 3D needs at least 2 cameras")
    return calib.select(picked)


def _multiview_3d(views: Sequence[Poses], frames: Sequence[np.ndarray], calib, calib_path,
                  out_dir: Path | None, params: RunParameters, offsets: dict[str, int],
                  fps: float | None, sources: Sequence[str], min_views: int, max_error: float,
                  videos: dict[str, MediaInfo] | None, progress: bool,
                  warnings: list[str], inputs_key: Sequence[Any] = (),
                  force: bool = False, layout: dict[str, Any] | None = None,
                  ) -> MultiviewResult:
    """Reconstruct 3D from the views and write ``out_dir`` (built aside, under its lock;
    skipped when complete for the same inputs, calibration and parameters)."""
    args = (views, frames, calib, calib_path, params, offsets, fps, sources, min_views,
            max_error, videos, progress, warnings, layout)
    if out_dir is None:
        return _multiview_compute(*args, None, None, "")
    key = hashlib.sha256(json.dumps({
        "inputs": list(inputs_key), "sources": list(sources),
        "calibration": sha256_file(calib_path) if calib_path else None,
        "params": dataclasses.asdict(params), "offsets": dict(sorted(offsets.items())),
        "min_views": min_views, "max_error": max_error, "version": __version__},
        sort_keys=True, default=str).encode()).hexdigest()
    check_bundle_folder(out_dir)
    with bundle_lock(out_dir):
        for line in recover(out_dir):
            log.info("%s: %s", out_dir.name, line)
        if not force:
            done = _finished(out_dir, key)
            if done is not None:
                log.info("%s is complete for these inputs and parameters; skipping", out_dir)
                poses3d, _ = read_keypoints(out_dir / "keypoints3d.parquet")
                return MultiviewResult(None, None, poses3d, out_dir, done,
                                       tuple(done.get("warnings", ())), skipped=True)
        with staged(out_dir) as stage:
            own = _output_names(_old_manifest(out_dir)) | {BUNDLE_FILES["manifest"]}
            try:
                mv = _multiview_compute(*args, stage, key, out_dir.name)
            except _OpenSimFailed as e:
                # the 3D is kept, unless that would replace a finished result: a failed
                # rerun never destroys one (the manifest, without a run key, is redone)
                if not _old_manifest(out_dir).get("run_key"):
                    commit(stage, out_dir, own | _output_names(_old_manifest(stage)))
                    log.warning("%s holds the 3D; OpenSim failed (see manifest.json)",
                                out_dir)
                raise e.__cause__ from None
            commit(stage, out_dir, own | _output_names(mv.manifest))
    return dataclasses.replace(mv, bundle=out_dir)


class _OpenSimFailed(Exception):
    """Raised from the OpenSim step (its error is the cause) inside a staged bundle."""


def _old_manifest(bundle: Path) -> dict:
    try:
        return json.loads((bundle / BUNDLE_FILES["manifest"]).read_text())
    except (OSError, ValueError):
        return {}


def _output_names(manifest: dict) -> set[str]:
    """Top-level names of the files and folders a manifest's ``outputs`` lists."""
    return {Path(f).parts[0] for f in _files_of(manifest)}


def _files_of(manifest: dict) -> list[str]:
    """Every output path (relative) a manifest's ``outputs`` lists, for the file records."""
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list | tuple):
            for x in v:
                walk(x)

    walk(manifest.get("outputs", {}))
    return sorted(set(out))


def _multiview_compute(views: Sequence[Poses], frames: Sequence[np.ndarray], calib, calib_path,
                       params: RunParameters, offsets: dict[str, int], fps: float | None,
                       sources: Sequence[str], min_views: int, max_error: float,
                       videos: dict[str, MediaInfo] | None, progress: bool,
                       warnings: list[str], layout: dict[str, Any] | None,
                       out_dir: Path | None, key: str | None, name: str) -> MultiviewResult:
    from .filters import filter_poses
    from .multiview.job import accuracy, render_reprojections, write_multiview
    from .multiview.reconstruct import reconstruct

    given = dict(offsets)
    offsets = _frame_offsets(given, calib.names)
    lengths = {n: len(f) for n, f in zip(calib.names, frames, strict=True)}
    if len(set(lengths.values())) > 1:
        warnings = [*warnings, "the cameras have different numbers of frames ("
                    + ", ".join(f"{k}: {v}" for k, v in lengths.items())
                    + "); frames are matched by index"
                    + (" after the given offsets" if given else
                       " (pass --offset CAM=N if they do not start together)")]
    rec = reconstruct(views, calib, frames=frames, offsets=offsets, fps=fps,
                      min_views=min_views, max_error=max_error, max_age=params.max_age,
                      fix_swaps=params.fix_swaps)
    poses3d = rec.poses
    if (params.filter != "none" or params.max_gap > 0) and poses3d.n_frames > 1:
        poses3d = filter_poses(poses3d, params.filter, cutoff=params.cutoff, order=params.order,
                               min_cutoff=params.min_cutoff, beta=params.beta,
                               max_gap=params.max_gap)
    from .multiview.reconstruct import people_report

    people, people_warnings = people_report(rec)
    warnings = [*warnings, *_camera_warnings(rec, calib.names), *people_warnings,
                *filter_warnings(poses3d, params, "3D keypoint")]
    from .kinematics.angles import joint_angles

    angles = joint_angles(poses3d, min_score=0.0)
    ik = None
    if params.ik and poses3d.n_frames > 1:
        from .kinematics.ik import fit

        ik = fit(poses3d)
    for w in warnings:
        log.warning(w)
    manifest: dict[str, Any] = {"accuracy": accuracy(rec, poses3d), "warnings": warnings,
                                "people": people, "swaps": rec.swaps}
    if layout is not None:
        manifest["layout"] = layout
    if out_dir is not None:
        overlays = []
        if videos and params.video:
            vmap = {n: (v, f) for n, v, f in zip(calib.names, views, frames, strict=True)}
            overlays = render_reprojections(out_dir, rec, poses3d, calib, videos, vmap,
                                            offsets, progress)
        write_parquet(out_dir / BUNDLE_FILES["angles"], angles.to_table(rec.frames))
        extra = {"angles": BUNDLE_FILES["angles"]}
        if ik is not None:
            from .biomech.mot import write_mot
            from .kinematics.ik import to_opensim

            write_parquet(out_dir / "angles_ik.parquet", ik.angles.to_table(rec.frames))
            # the same motion as coordinates of Pose2Sim's OpenSim model (opens in OpenSim)
            coords = to_opensim(ik)
            write_mot(out_dir / "angles_ik.mot", list(coords), poses3d.times,
                      np.stack(list(coords.values()), axis=1))
            extra["angles_ik"] = "angles_ik.parquet"
            extra["angles_ik_mot"] = "angles_ik.mot"
        manifest = write_multiview(
            out_dir, rec, poses3d, calib, calib_path, name=name,
            # OpenSim's steps are marked done by _opensim once their files exist
            parameters={**dataclasses.asdict(params), "opensim": False, "augment": False,
                        "min_views": min_views, "max_reprojection_error_px": max_error,
                        "offsets": given},
            offsets=offsets, sources=sources, warnings=warnings, overlays=overlays,
            extra_outputs=extra)
        manifest["people"] = people
        manifest["swaps"] = {"method": "multiview", "frames": rec.swaps}
        if layout is not None:
            manifest["layout"] = layout
        if params.opensim:
            try:
                manifest = _opensim(out_dir, poses3d, params, manifest,
                                    int(rec.frames[0]) if len(rec.frames) else 0)
            except Exception as e:
                raise _OpenSimFailed() from e
        manifest["run_key"] = key
        manifest["files"] = record_files(out_dir, _files_of(manifest))
        write_json(out_dir / BUNDLE_FILES["manifest"], manifest)
    return MultiviewResult(None, rec, poses3d, out_dir, manifest, tuple(warnings),
                           angles=angles, ik=ik)


def _opensim(out_dir: Path, poses3d: Poses, params: RunParameters, manifest: dict,
             frames0: int = 0) -> dict:
    """Scale Pose2Sim's OpenSim model and run OpenSim IK on person 0's .trc.

    The manifest says ``parameters.opensim`` (``.augment``) true only once that step's
    files are written; a step that fails leaves ``opensim.error`` and a warning in the
    manifest (the 3D results stay valid) and its error is raised again.
    """
    trcs = manifest["outputs"].get("trc", [])
    if not trcs:
        manifest["warnings"].append("no .trc for OpenSim (fewer than 2 frames)")
        write_json(out_dir / BUNDLE_FILES["manifest"], manifest)
        return manifest
    try:
        return _opensim_steps(out_dir.absolute(), trcs[0], poses3d, params, manifest, frames0)
    except Exception as e:
        manifest.setdefault("opensim", {})["error"] = str(e)
        manifest["warnings"].append(f"OpenSim failed: {e}")
        write_json(out_dir / BUNDLE_FILES["manifest"], manifest)
        raise


def _opensim_steps(out_dir: Path, trc: str, poses3d: Poses, params: RunParameters,
                   manifest: dict, frames0: int) -> dict:
    from .biomech.opensim_ik import scale_and_ik

    res = scale_and_ik(out_dir / trc, out_dir / "opensim", layout=poses3d.skeleton.name,
                       height=params.height, mass=params.mass)
    rel = res.mot.relative_to(out_dir)
    # the OpenSim coordinates back in the long angles layout (rotations only, degrees)
    import pyarrow as pa

    rot = [i for i, u in enumerate(res.units) if u == "deg"]
    t0 = float(poses3d.times[0]) if poses3d.n_frames else 0.0
    fps = 1.0 / float(np.median(np.diff(poses3d.times))) if poses3d.n_frames > 1 else 1.0
    frames = np.round((res.times - t0) * fps).astype(np.int64) + int(frames0)
    n, a = len(res.times), len(rot)
    table = pa.table({
        "frame": pa.array(np.repeat(frames, a).astype(np.int32)),
        "time": pa.array(np.repeat(res.times, a)),
        "person": pa.array(np.zeros(n * a, np.int16)),
        "angle": pa.array([res.coordinates[i] for i in rot] * n).dictionary_encode(),
        "degrees": pa.array(res.angles[:, rot].reshape(-1).astype(np.float32)),
    })
    write_parquet(out_dir / "angles_opensim.parquet", table)
    manifest["outputs"]["angles_opensim"] = "angles_opensim.parquet"
    manifest["outputs"]["opensim"] = {"model": str(res.scaled_model.relative_to(out_dir)),
                                      "mot": str(rel)}
    manifest["opensim"] = {"height_m": res.height, "mass_kg": res.mass,
                           "marker_rms_m_median": float(np.nanmedian(res.marker_errors)),
                           "seconds_scale": res.seconds_scale, "seconds_ik": res.seconds_ik}
    manifest["parameters"]["opensim"] = True
    write_json(out_dir / BUNDLE_FILES["manifest"], manifest)
    if params.augment:
        from .biomech.augment import augment_markers, write_augmented_trc

        aug = augment_markers(poses3d, res.height, params.mass, missing_small_toes="use_big_toe")
        lstm_trc = out_dir / f"{Path(trc).stem}_LSTM.trc"
        write_augmented_trc(lstm_trc, poses3d, aug)
        res2 = scale_and_ik(lstm_trc, out_dir / "opensim_lstm", layout="lstm",
                            height=res.height, mass=params.mass)
        manifest["outputs"]["augmented_trc"] = lstm_trc.name
        manifest["outputs"]["opensim_lstm"] = {
            "model": str(res2.scaled_model.relative_to(out_dir)),
            "mot": str(res2.mot.relative_to(out_dir))}
        manifest["opensim"]["lstm_marker_rms_m_median"] = float(
            np.nanmedian(res2.marker_errors))
        manifest["warnings"].append("marker augmentation: BlazePose has no small toes; the "
                                    "big toe stands in for them (5th-metatarsal markers are "
                                    "least reliable)")
        manifest["parameters"]["augment"] = True
        write_json(out_dir / BUNDLE_FILES["manifest"], manifest)
    return manifest


def _turned_calibration_warnings(names: Sequence[str], infos: Sequence[MediaInfo]) -> list[str]:
    """A half turn keeps the image size, so the size check cannot tell whether the
    calibration was made on the picture as displayed (assumed) or as stored."""
    return [f"camera {n}: its video file asks for a 180° turn, which is applied; the "
            "calibration is taken to be of the picture as displayed (as players, FFmpeg and "
            "OpenCV show it). If it was made on the frames as stored, use --no-autorotate"
            for n, i in zip(names, infos, strict=True) if i.applied_rotation == 180]


def run_multiview(videos: str | os.PathLike | Iterable[str | os.PathLike],
                  calibration: str | os.PathLike | None, output: str | os.PathLike | None,
                  *, offsets: dict[str, int] | None = None,
                  cameras: Sequence[str] | None = None, min_views: int = 2,
                  max_error: float = 15.0, **kwargs: Any) -> MultiviewResult:
    """2D on every camera's video, then 3D: association, triangulation, filtering.

    Args:
        videos: one video per calibrated camera, or a folder of them; a folder
            may also hold the calibration (or a ``calibration/`` next to it).
        calibration: Qualisys ``.qca.txt``, Pose2Sim/Anipose ``.toml``, or OpenCV
            ``.yml``/``.json`` (None: look next to the videos).
        output: bundles go to ``output/<camera>/`` (2D) and ``output/multiview/`` (3D).
        offsets: ``{camera: N}`` frames to subtract from a camera's frame index so
            that equal indices are simultaneous, Pose2Sim's convention: ``{"cam02": 3}``
            means cam02's frame 3 shows the instant of the other cameras' frame 0 (it
            started 3 frames early; ``-3``: 3 frames late). Cameras are named like the
            videos (``cam2`` finds ``cam02``). The 3D frames are numbered from the
            camera that started first (the manifest's ``offsets``: camera frame = 3D
            frame + offset).
        cameras: the calibration's cameras that filmed these videos (names matched
            like videos), when it has more than were used; None: all.
        min_views: cameras a 3D point needs.
        max_error: reprojection error (px) above which views are left out.
        kwargs: the 2D options of :func:`run` (estimator, layout, filter…; the
            filter is applied to the 3D tracks, not to the 2D).

    Raises:
        InputError: no or unreadable calibration, one that does not match the
            videos (count, names, image sizes), an offset or camera name that is
            not a camera — all before any 2D work.
    """
    from .multiview.calibration import load_calibration, match_videos

    if isinstance(videos, str | os.PathLike):
        videos = [videos]
    videos = [Path(v).expanduser() for v in videos]
    calib_path = Path(calibration).expanduser() if calibration is not None else None
    if calib_path is None:
        for v in videos:
            if v.is_dir():
                calib_path = find_calibration(v)
                if calib_path:
                    break
        if calib_path is None:
            raise InputError("no calibration given and none found next to the videos; pass "
                             "--calibration FILE (.qca.txt, .toml, .yml or .json)")
    paths = collect_inputs(videos)
    paths = [p for p in paths if p.suffix.lower() not in (".txt", ".toml", ".json", ".yml",
                                                          ".yaml")]
    autorotate = kwargs.get("autorotate", True)
    infos = [probe(p, autorotate=autorotate) for p in paths]
    names = _bundle_names(paths)
    calib = match_videos(_select_cameras(load_calibration(calib_path), cameras), names)
    calib.check_sizes({n: (i.width, i.height) for n, i in zip(names, infos, strict=True)},
                      rotations={n: i.rotation for n, i in zip(names, infos, strict=True)},
                      autorotate=autorotate)
    offsets = _camera_offsets(offsets, calib.names)
    filt = {k: kwargs.pop(k) for k in ("filter", "cutoff", "order", "min_cutoff", "beta",
                                       "max_gap", "ik", "opensim", "augment", "height",
                                       "mass")
            if k in kwargs}
    params = RunParameters(**{k: str(v) if isinstance(v, os.PathLike) else v
                              for k, v in {**kwargs, **filt}.items()
                              if k in RunParameters.__dataclass_fields__})
    for p, info in zip(paths, infos, strict=True):  # the 3D filter too, before any 2D work
        _check_against_media(p, info, params)
    # left/right swaps are settled by the geometry of the other cameras (association takes
    # whole-body mirrored detections, fix_swaps_multiview single limbs), not per camera from
    # the motion, which would break a camera's whole-body mirror into pieces
    smooth = kwargs.get("smooth")
    if smooth is None:  # the 3D filter decides, as in RunParameters
        smooth = filt.get("filter", "none") != "butterworth"
    results = run(paths, output, **{**kwargs, "fix_swaps": False, "smooth": smooth})
    warnings = _turned_calibration_warnings(names, infos)
    fps = next((i.fps for i in infos if i.fps), None)
    out_dir = Path(output).expanduser() / "multiview" if output is not None else None
    mv = _multiview_3d([r.keypoints2d for r in results], [r.frames for r in results], calib,
                       calib_path, out_dir, params, offsets, fps,
                       [str(p) for p in paths], min_views, max_error,
                       {n: i for n, i in zip(names, infos, strict=True)},
                       kwargs.get("progress", True), warnings,
                       inputs_key=[r.manifest.get("run_key") or r.manifest.get("input", {})
                                   .get("sha256") for r in results],
                       force=bool(kwargs.get("force", False)))
    return dataclasses.replace(mv, views=tuple(results))


def triangulate_files(inputs: Iterable[str | os.PathLike], calibration: str | os.PathLike,
                      output: str | os.PathLike | None, *, layout: str = "auto",
                      fps: float | None = None, offsets: dict[str, int] | None = None,
                      cameras: Sequence[str] | None = None, min_views: int = 2,
                      max_error: float = 15.0, filter: str = "none", cutoff: float = 6.0,
                      order: int = 4, min_cutoff: float = 1.0, beta: float = 0.0,
                      max_gap: int = 0, max_age: float = 1.0,
                      ik: bool = False, opensim: bool = False, augment: bool = False,
                      height: float | None = None, mass: float = 70.0,
                      force: bool = False, fix_swaps: bool = True) -> MultiviewResult:
    """Triangulate 2D keypoints computed elsewhere: posestack bundles or OpenPose json folders.

    Args:
        inputs: per camera, a posestack bundle folder (with ``keypoints2d.parquet``)
            or a folder of OpenPose per-frame json files (``<cam>_json``, or a bundle's
            ``openpose/``, named by its bundle).
        calibration: the cameras' calibration file.
        layout: keypoint layout of the json files; ``auto`` takes it from the number
            of points (17 coco17, 26 halpe26, 33 blazepose33, 133 wholebody133) and,
            for 25 points, tells OpenPose BODY_25 from BODY_25B by the geometry of
            every camera's people, or stops with an error asking for the layout when
            that does not decide. The manifest's ``layout`` says what was used and how
            it was chosen.
        fps: frame rate of the json files (default 30; bundles know theirs).
        offsets, cameras, min_views, max_error: as in :func:`run_multiview`.
        filter, cutoff, order, min_cutoff, beta, max_gap, max_age: 3D filtering and
            identity linking, as in :func:`run`.
        force: redo the 3D even if ``output`` holds a complete result for these
            inputs and parameters.
        fix_swaps: swap back left/right side groups that a minority of the cameras
            labels the other way round, before triangulation.
    """
    from .io.bundle import file_record
    from .io.openpose_reader import read_openpose_folders
    from .multiview.calibration import load_calibration, match_videos

    folders = [Path(p).expanduser() for p in inputs]
    views, frames, names = [None] * len(folders), [None] * len(folders), [""] * len(folders)
    jsons = []
    for i, f in enumerate(folders):
        if not f.is_dir():
            raise InputError(f"{f} is not a folder: give posestack bundles or OpenPose json "
                             "folders, one per camera")
        if (f / "keypoints2d.parquet").is_file():
            views[i], frames[i] = read_keypoints(f / "keypoints2d.parquet")
            space = views[i].space
            names[i] = space.split(":", 1)[-1] if space.startswith("image:") else f.name
        else:
            names[i] = f.name[:-5] if f.name.lower().endswith("_json") else f.name
            if f.name == BUNDLE_FILES["openpose"] and (f.parent / "keypoints2d.parquet").is_file():
                names[i] = f.absolute().parent.name  # a bundle's own json: the bundle's camera
            jsons.append(i)
    layout_info = None
    if jsons:   # read together: one layout for every camera (BODY_25/25B from all of them)
        read = read_openpose_folders([folders[i] for i in jsons], layout, fps=fps or 30.0,
                                     cameras=[names[i] for i in jsons])
        for i, (poses, fr) in zip(jsons, read, strict=True):
            views[i], frames[i] = poses, fr
        layout_info = read[0][0].meta.get("layout")
    calib_path = Path(calibration).expanduser()
    calib = match_videos(_select_cameras(load_calibration(calib_path), cameras), names)
    offsets = _camera_offsets(offsets, calib.names)
    params = RunParameters(filter=filter, cutoff=cutoff, order=order, min_cutoff=min_cutoff,
                           beta=beta, max_gap=max_gap, max_age=max_age, video=False, ik=ik,
                           opensim=opensim, augment=augment, height=height, mass=mass,
                           fix_swaps=fix_swaps)
    out_dir = Path(output).expanduser() if output is not None else None
    inputs_key = [file_record(f / "keypoints2d.parquet" if (f / "keypoints2d.parquet")
                              .is_file() else f)["sha256"] for f in folders]
    return _multiview_3d(views, frames, calib, calib_path, out_dir, params, offsets, fps,
                         [str(f) for f in folders], min_views, max_error, None, False, [],
                         inputs_key=inputs_key, force=force, layout=layout_info)
