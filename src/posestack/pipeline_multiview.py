"""Several calibrated cameras: 2D on every video, then 3D (association, swaps,
triangulation, filtering, skeletal IK, OpenSim) into ``OUT/multiview/``, built aside
under its lock and skipped when complete; or, with ``calibrate="people"``, the cameras
found from the people first (:mod:`posestack.calibrate`). 2D made elsewhere goes through
:mod:`posestack.pipeline_triangulate`. The single-input run it builds on is
:mod:`posestack.pipeline`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .assets import sha256_file
from .errors import InputError
from .io.atomic import write_json
from .io.bundle import bundle_lock, check_bundle_folder, commit, record_files, recover, staged
from .io.media import MediaInfo, collect_inputs, probe
from .io.tables import write_parquet
from .pipeline import (
    _RERUN,
    BUNDLE_FILES,
    Result,
    RunParameters,
    _bundle_names,
    _check_against_media,
    _files_of,
    _finished,
    _replacing,
    filter_warnings,
    read_keypoints,
    run,
)
from .poses import Poses

log = logging.getLogger("posestack.pipeline")

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
        cam = find_camera(str(given), names, "--offset", by_number=False)
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
    picked = [find_camera(c.strip(), calib.names, "--cameras", by_number=False)
              for c in cameras]
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
                return MultiviewResult(None, None, poses3d, out_dir, done, tuple(
                    w for w in done.get("warnings", ()) if not w.startswith(_RERUN)),
                    skipped=True)
        with staged(out_dir) as stage:
            own = _output_names(_old_manifest(out_dir)) | {BUNDLE_FILES["manifest"]}
            now = {**dataclasses.asdict(params), "min_views": min_views,
                   "max_reprojection_error_px": max_error, "offsets": dict(offsets)}
            for k in ("opensim", "augment"):  # the manifest says them only once done
                now.pop(k)
            replaced = _replacing(out_dir, now, own)
            for w in replaced:
                log.warning(w)
            args = (*args[:12], [*warnings, *replaced], *args[13:])
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
        from .biomech.anatomy import to_reference_hips
        from .kinematics.ik import fit

        # the IK's hip joints are the keypoints: COCO-defined hips whatever the 2D model
        ik = fit(to_reference_hips(poses3d, params.keypoints_from))
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
                        "offsets": given, "fps": fps},
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
                       height=params.height, mass=params.mass,
                       keypoints=params.keypoints_from)
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
                           "seconds_scale": res.seconds_scale, "seconds_ik": res.seconds_ik,
                           "keypoints_from": res.keypoints}
    manifest["parameters"]["opensim"] = True
    write_json(out_dir / BUNDLE_FILES["manifest"], manifest)
    if params.augment:
        from .biomech.anatomy import to_reference_hips
        from .biomech.augment import augment_markers, write_augmented_trc

        # OpenCap's augmenter was trained on OpenPose keypoints: COCO-defined hips
        aug = augment_markers(to_reference_hips(poses3d, params.keypoints_from), res.height,
                              params.mass, missing_small_toes="use_big_toe")
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
                  max_error: float = 15.0, calibrate: str | None = None,
                  intrinsics: str | os.PathLike | None = None,
                  **kwargs: Any) -> MultiviewResult:
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
        calibrate: ``"people"``: no calibration is needed; the cameras and their time
            offsets are found from the people in the videos
            (:mod:`posestack.calibrate.people`, :mod:`posestack.calibrate.sync`) and
            written to ``output/calibration/`` (``Calib.toml``, ``sync.toml``). The scale
            comes from ``height`` (default 1.70 m). Given ``offsets`` are kept; otherwise
            calibration and synchronisation alternate (twice).
        intrinsics: with ``calibrate="people"``: K and distortion from this calibration
            file (its extrinsics ignored); None: guessed and refined.
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
    if calibrate is not None:
        return _run_self_calibrated(videos, calibration, output, offsets, cameras, min_views,
                                    max_error, calibrate, intrinsics, kwargs)
    if intrinsics is not None:
        raise InputError("--intrinsics is for --calibrate people (K and distortion of "
                         "cameras whose positions are to be found)")
    if calib_path is None:
        for v in videos:
            if v.is_dir():
                calib_path = find_calibration(v)
                if calib_path:
                    break
        if calib_path is None:
            raise InputError("no calibration given and none found next to the videos; pass "
                             "--calibration FILE (.qca.txt, .toml, .yml or .json)")
    autorotate = kwargs.get("autorotate", True)
    paths, infos, names = _camera_videos(videos, autorotate)
    calib = match_videos(_select_cameras(load_calibration(calib_path), cameras), names)
    calib.check_sizes({n: (i.width, i.height) for n, i in zip(names, infos, strict=True)},
                      rotations={n: i.rotation for n, i in zip(names, infos, strict=True)},
                      autorotate=autorotate)
    offsets = _camera_offsets(offsets, calib.names)
    filt, params = _split_params(kwargs)
    for p, info in zip(paths, infos, strict=True):  # the 3D filter too, before any 2D work
        _check_against_media(p, info, params)
    results = _cameras_2d(paths, output, kwargs, filt)
    warnings = _turned_calibration_warnings(names, infos)
    return _3d_of_videos(results, calib, calib_path, output, params, offsets, paths, names,
                         infos, min_views, max_error, warnings, kwargs)


def _camera_videos(videos: list[Path], autorotate: bool
                   ) -> tuple[list[Path], list[MediaInfo], list[str]]:
    """The videos of the cameras (a calibration file among them left out), their media
    information and camera names."""
    paths = [p for p in collect_inputs(videos)
             if p.suffix.lower() not in (".txt", ".toml", ".json", ".yml", ".yaml")]
    return paths, [probe(p, autorotate=autorotate) for p in paths], _bundle_names(paths)


def _cameras_2d(paths: list[Path], output, kwargs: dict[str, Any], filt: dict[str, Any]
                ) -> list[Result]:
    """2D of every camera's video, as the 3D wants it."""
    # left/right swaps are settled by the geometry of the other cameras (association takes
    # whole-body mirrored detections, fix_swaps_multiview single limbs), not per camera from
    # the motion, which would break a camera's whole-body mirror into pieces
    smooth = kwargs.get("smooth")
    if smooth is None:  # the 3D filter decides, as in RunParameters
        smooth = filt.get("filter", "none") != "butterworth"
    return run(paths, output, **{**kwargs, "fix_swaps": False, "smooth": smooth})


def _3d_of_videos(results: Sequence[Result], calib, calib_path: Path, output,
                  params: RunParameters, offsets: dict[str, int], paths: list[Path],
                  names: list[str], infos: list[MediaInfo], min_views: int, max_error: float,
                  warnings: list[str], kwargs: dict[str, Any]) -> MultiviewResult:
    """3D from the cameras' 2D results into ``output/multiview``."""
    out_dir = Path(output).expanduser() / "multiview" if output is not None else None
    mv = _multiview_3d([r.keypoints2d for r in results], [r.frames for r in results], calib,
                       calib_path, out_dir, params, offsets,
                       next((i.fps for i in infos if i.fps), None), [str(p) for p in paths],
                       min_views, max_error, dict(zip(names, infos, strict=True)),
                       kwargs.get("progress", True), warnings,
                       inputs_key=[r.manifest.get("run_key") or r.manifest.get("input", {})
                                   .get("sha256") for r in results],
                       force=bool(kwargs.get("force", False)))
    return dataclasses.replace(mv, views=tuple(results))


def _split_params(kwargs: dict[str, Any]) -> tuple[dict[str, Any], RunParameters]:
    """The 2D options of :func:`run` and the parameters of the 3D bundle."""
    filt = {k: kwargs.pop(k) for k in ("filter", "cutoff", "order", "min_cutoff", "beta",
                                       "max_gap", "ik", "opensim", "augment", "height",
                                       "mass", "keypoints_from")
            if k in kwargs}
    params = RunParameters(**{k: str(v) if isinstance(v, os.PathLike) else v
                              for k, v in {**kwargs, **filt}.items()
                              if k in RunParameters.__dataclass_fields__})
    return filt, params


def _run_self_calibrated(videos: list[Path], calibration, output, offsets, cameras,
                         min_views: int, max_error: float, calibrate: str, intrinsics,
                         kwargs: dict[str, Any]) -> MultiviewResult:
    """``run_multiview`` with ``calibrate="people"``: 2D, then the cameras and offsets from
    the people, then 3D as with a calibration."""
    from .calibrate.joint import calibrate_and_sync
    from .calibrate.people import check_height, lenses
    from .calibrate.sync import save_offsets
    from .multiview.calibration import load_calibration, save_toml

    if calibrate != "people":
        raise InputError(f"--calibrate {calibrate!r}: the only way today is 'people' (the "
                         "cameras found from the people they film)")
    if calibration is not None:
        raise InputError("--calibrate people finds the calibration: drop --calibration (or "
                         "drop --calibrate to use that file)")
    if cameras:
        raise InputError("--cameras picks cameras of a calibration file; with --calibrate "
                         "people every video is a camera")
    if output is None:
        raise InputError("--calibrate people writes the calibration it finds: give -o OUT")
    autorotate = kwargs.get("autorotate", True)
    paths, infos, names = _camera_videos(videos, autorotate)
    if len(paths) < 2:
        raise InputError(f"--calibrate people needs one video per camera, at least two; got "
                         f"{len(paths)}")
    sizes = [(i.width, i.height) for i in infos]
    height = check_height(kwargs.get("height"))   # the person's: the scale, and OpenSim's
    if not kwargs.get("opensim"):
        kwargs.pop("height", None)      # the scale only
    own = None
    if intrinsics is not None:   # checked before any 2D work

        own = lenses(load_calibration(Path(intrinsics).expanduser()), names, sizes)
    given = {n: float(v) for n, v in _camera_offsets(offsets, names).items()}
    filt, params = _split_params(kwargs)
    for p, info in zip(paths, infos, strict=True):
        _check_against_media(p, info, params)
    results = _cameras_2d(paths, output, kwargs, filt)
    views = [r.keypoints2d for r in results]
    frames = [np.asarray(r.frames) for r in results]
    rates = [i.fps or 30.0 for i in infos]
    joint = calibrate_and_sync(views, frames, names, sizes, rates, intrinsics=own,
                               height=height, offsets=given or None)
    found, sync, off = joint.calibration, joint.sync, joint.offsets
    log.info("calibration from the people (offsets started %s): reprojection %s px",
             joint.start, ", ".join(f"{n} {e:.1f}" for n, e in found.errors.items()))
    folder = Path(output).expanduser() / "calibration"
    calib_path = folder / "Calib.toml"
    save_toml(found.calibration, calib_path)
    if sync is not None:
        save_offsets(sync, folder / "sync.toml")
    warnings = [f"calibration from the people: {w}" for w in found.warnings]
    warnings += [f"synchronisation: {w}" for w in (sync.warnings if sync else [])]
    whole = {n: round(v) for n, v in off.items() if round(v) != 0}
    if any(abs(v - round(v)) > 0.25 for v in off.values()):
        warnings.append("offsets rounded to whole frames for the 3D: "
                        + ", ".join(f"{n} {v:+.2f}" for n, v in off.items()))
    # the 3D uses the file as written (what a rerun or 'triangulate' will read)
    return _3d_of_videos(results, load_calibration(calib_path), calib_path, output, params,
                         whole, paths, names, infos, min_views, max_error, warnings, kwargs)
