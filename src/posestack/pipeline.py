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
from .cores import others_busy
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
    "keypoints3d_lifted": "keypoints3d_lifted.parquet",
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
    matrix or an image's EXIF orientation asks), else as stored. ``keypoints_from``:
    the 2D model whose hip definition the keypoints follow (``"coco"``,
    ``"blazepose"``; None: from ``estimator``), see :mod:`posestack.biomech.anatomy`.
    ``lift``: lift every person's 2D to 3D with a lifter (``"posestack"``: the bundled
    one, else a path to a lifter ``.onnx``), written as ``keypoints3d_lifted.parquet``
    (:func:`posestack.lift.infer.lift_poses`); None: no lifting.
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
    keypoints_from: str | None = None
    lift: str | None = None

    def __post_init__(self) -> None:
        from .biomech.anatomy import keypoint_source
        from .estimate import ESTIMATORS, PERSON_DETECTORS

        # whose definition of the hip the keypoints follow (for --ik, --opensim, --augment)
        object.__setattr__(self, "keypoints_from",
                           keypoint_source(self.keypoints_from, estimator=self.estimator))
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
        if self.filter == "butterworth" and not (np.isfinite(self.cutoff) and self.cutoff > 0):
            raise InputError(f"--cutoff must be a positive number of Hz; got {self.cutoff}")
        if self.filter == "butterworth" and not (self.order >= 2 and self.order % 2 == 0):
            raise InputError(f"--order must be an even number ≥ 2 (the zero-phase filter runs "
                             f"forwards and backwards); got {self.order}")
        if self.filter == "oneeuro" and not (np.isfinite(self.min_cutoff)
                                             and self.min_cutoff > 0):
            raise InputError(f"--min-cutoff must be a positive number of Hz; got "
                             f"{self.min_cutoff}")
        if self.filter == "oneeuro" and not (np.isfinite(self.beta) and self.beta >= 0):
            raise InputError(f"--beta must be ≥ 0; got {self.beta}")
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
        if self.lift is not None:
            from .lift.infer import lifter_path

            lifter_path(self.lift)  # a missing file or another kind of model: refused now


@dataclass(frozen=True)
class Result:
    """What :func:`run` returns for one input.

    ``keypoints2d``: (T, P, K, 2) pixels, space ``image:<camera>``, in the
    requested layout; ``tracked`` when tracking ran (P is then the identity).
    ``keypoints3d``: (T, P, 33, 3) metres, space ``body`` (BlazePose world
    landmarks, hip-centred), or None for estimators without 3D.
    ``frames``: (T,) index of each time step in the source.
    ``bundle``: the output folder, or None when nothing was written.
    ``lifted``: with ``lift``, (T, P, 17, 3) COCO-17 metres in the camera's axes,
    space ``camera:<camera>`` (:func:`posestack.lift.infer.lift_poses`), else None.
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
    lifted: Poses | None = None


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
        autorotate: bool = True, fix_swaps: bool = True,
        names: Sequence[str] | None = None,
        lift: bool | str | os.PathLike | None = None) -> list[Result]:
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
        names: the bundles' folder names, one per input file (after folders are
            expanded); None: the inputs' stems, prefixed by their parent folders
            where two would clash.
        lift: also lift each person's 2D to 3D with a lifter: True (or
            ``"posestack"``) for the bundled one (:mod:`posestack.lift`), or the path of
            a lifter ``.onnx``; written as
            ``keypoints3d_lifted.parquet`` (COCO-17, metres, the camera's axes,
            origin at the mid-hip; the focal length is guessed as the image's larger
            side). None or False: no lifting.

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
        style=style, autorotate=autorotate, fix_swaps=fix_swaps,
        lift=None if lift is None or lift is False else
        "posestack" if lift is True else str(lift))
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
    if names is None:
        names = _bundle_names(paths)
    elif len(names) != len(paths) or len(set(names)) != len(names) or not all(
            n and "/" not in n and n not in (".", "..") for n in names):
        raise InputError(f"names must be {len(paths)} distinct folder names, one per input "
                         f"file; got {list(names)}")
    if out_root is not None:
        for name in names:
            check_bundle_folder(out_root / name)

    model_digests = {k: sha256_file(Path(v)) for k, v in
                     (("model", params.model), ("detector", params.detector))
                     if v is not None and Path(v).is_file()}
    if params.lift is not None:
        from .lift.infer import lifter_path

        model_digests["lift"] = sha256_file(lifter_path(params.lift))
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
        threads = (num_threads if num_threads is not None
                   else default_threads(params.estimator))
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
    if params.lift is not None and target.name != "coco17":
        try:
            keypoint_map(target, "coco17")
        except InputError:
            raise InputError(f"--lift lifts body keypoints (COCO-17); {target.name} has "
                             "none (a hand or face model): leave out --lift") from None


def _run_key(digest: str, params: RunParameters, models: dict[str, str]) -> str:
    blob = json.dumps({"input": digest, "params": dataclasses.asdict(params),
                       "models": models, "version": __version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


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


def default_threads(estimator: str = "blazepose") -> int:
    """Inference threads when none are asked for: two where a core is free, else one.

    A second thread makes BlazePose's models about 1.7× faster on an idle core but
    costs 10-30% more CPU time (XNNPACK's workers spin and wait for each other); on a
    machine whose cores are all busy (as in a batch with a worker per core) it buys no
    speed, only that cost. "Busy" is what other processes use now
    (:func:`posestack.cores.others_busy`, a fraction of a second of ``/proc/stat``),
    not the 1-minute load average, which remembers runs that have just ended: on 2
    cores, Holistic right after another run read a load of 2.3, took one thread and ran
    1.14× as fast as MediaPipe instead of 1.5×. Where ``/proc/stat`` is missing, the
    load average decides (one thread at a load ≥ cores).

    The body alone (``estimator="blazepose"``) takes one thread on a machine of two
    cores: the decoder keeps the second core busy, and a second inference thread
    bought 1-3% of wall time for 10-15% more CPU there (whole process, Sports2D demo:
    1.64× MediaPipe's speed at 0.72× its CPU on one thread, 1.62× at 0.80× on two).
    Holistic runs its hands and face beside the body in a pool when given two.
    Results do not depend on the number of threads.
    """
    cores = os.cpu_count() or 1
    if cores < 2:
        return 1
    if estimator == "blazepose" and cores <= 2:
        return 1
    busy = others_busy()
    if busy is not None:
        if busy <= cores - 1.5:  # at least one and a half cores free
            return 2
        log.info("the cores are busy (other processes use %.1f of %d): one inference "
                 "thread (--threads 2 for two)", busy, cores)
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


def _lifted(kp2d: Poses, params: RunParameters, info: MediaInfo) -> Poses | None:
    """The 2D lifted to 3D when ``--lift`` asks for it (COCO-17, the camera's axes)."""
    if params.lift is None:
        return None
    from .lift.infer import lift_poses

    return lift_poses(kp2d, params.lift, size=(info.width, info.height),
                      fps=info.fps if info.fps else None)


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


def _replacing(bundle: Path | None, now: dict[str, Any],
               own: Iterable[str] | None = None) -> list[str]:
    """Warnings about what a new run (parameters ``now``) replaces in an existing bundle;
    ``own``: the names that run writes (default: a 2D bundle's), the others are kept."""
    if bundle is None or not bundle.is_dir():
        return []
    try:
        old = json.loads((bundle / BUNDLE_FILES["manifest"]).read_text())
    except (OSError, ValueError):
        return []
    out = []
    before = old.get("parameters") or {}
    changed = [k for k in now if k in before and before[k] != now[k]]
    if changed:
        out.append(f"replaced the finished results in {bundle}, made with "
                   + ", ".join(f"{k}={before[k]}" for k in changed) + " (now "
                   + ", ".join(f"{k}={now[k]}" for k in changed) + "); write to another "
                   "folder with -o to keep both")
    own = set(BUNDLE_FILES.values()) | {"overlay.png"} if own is None else set(own)
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
    lifted = _lifted(kp2d, params, info)
    t_render = time.perf_counter()
    if stage is not None and params.video:
        with atomic_path(stage / _overlay_name(info)) as tmp:
            _render(tmp, info, params, kp2d, raw.frames, name, progress)
    render_s = time.perf_counter() - t_render
    wall = time.perf_counter() - t_start
    warnings = [*reader.warnings, *_rotation_warnings(path, info),
                *_replacing(bundle, dataclasses.asdict(params)), *filter_warnings(kp2d, params)]
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
    if lifted is not None:
        manifest["conventions"]["keypoints3d_lifted"] = (
            "coco17 lifted from the 2D (--lift): metres, the camera's axes (x right, y down, "
            f"z forward), origin at the mid-hip; focal length {lifted.meta['focal_px']:.0f} "
            "px (guessed: the image's larger side)")
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
        if lifted is not None:
            write_parquet(stage / BUNDLE_FILES["keypoints3d_lifted"],
                          poses_to_table(lifted, raw.frames, camera))
            outputs.append("keypoints3d_lifted")
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
                  angles=angles, lifted=lifted)


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
    lifted = None
    if "keypoints3d_lifted" in manifest.get("outputs", {}):
        lifted, _ = read_keypoints(bundle / BUNDLE_FILES["keypoints3d_lifted"])
    return Result(name, path, info, kp2d, kp3d, frames, bundle, manifest,
                  tuple(w for w in manifest.get("warnings", ()) if not w.startswith(_RERUN)),
                  skipped=True, lifted=lifted)


# warnings about what a run replaced: said by that run, not again when a rerun skips it
_RERUN = ("replaced the finished results", "kept ")


__all__ = ["BUNDLE_FILES", "FILTERS", "LAYOUTS", "STYLES", "Result", "RunParameters",
           "default_threads", "read_keypoints", "run"]


# several calibrated cameras: posestack.pipeline_multiview and pipeline_triangulate
# (re-exported here)
from .pipeline_multiview import (  # noqa: E402
    CALIBRATION_SUFFIXES,
    MultiviewResult,
    find_calibration,
    run_multiview,
)
from .pipeline_triangulate import triangulate_files  # noqa: E402

__all__ += ["CALIBRATION_SUFFIXES", "MultiviewResult", "find_calibration", "run_multiview",
            "triangulate_files"]
