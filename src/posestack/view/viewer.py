"""``posestack view``: a bundle, a multiview folder or a trial in Rerun's viewer.

Everything goes on one timeline (``time``: seconds; ``frame``: the 3D frame, or the
video frame of a single bundle). Entity layout (``<cam>`` a camera or bundle name,
``p<N>`` a person):

- ``world`` (metres, Z up; multi-view): ``world/skeleton/points`` + ``.../bones`` the
  triangulated keypoints; ``world/cameras/<cam>`` each calibrated camera (a
  ``Transform3D`` world→camera and a ``Pinhole``), holding its ``video`` and its 2D
  ``keypoints/points`` + ``keypoints/bones`` (pixels); ``world/bodies/p<N>`` the fitted
  body mesh (``posestack body``).
- ``image/<cam>`` (a bundle without calibration): its ``video`` and 2D keypoints.
- ``lifted3d/<cam>``: a bundle's lifted 3D (``--lift``; metres, the camera's axes).
- ``body3d/<cam>``: BlazePose's world landmarks of a bundle (metres, origin between the
  hips, x right, y down, z away from the camera: logged as ``RDF`` so the viewer puts
  the head up); shown for single bundles, not for the cameras of a multi-view trial.
- ``angles/<source>/p<N>/<angle>``: joint angles in degrees (``Scalars``), ``source``
  ``3d`` / ``ik`` / ``opensim`` (multi-view) or the bundle's name (planar).
- ``notes``: a ``TextLog`` line per thing the input lacks.

The logging functions take an explicit :class:`rerun.RecordingStream`; :func:`view`
serves it (gRPC + the web viewer bundled in the rerun-sdk wheel, no network) or saves
it to an ``.rrd``.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, PosestackError

#: The ports ``posestack view`` serves on by default: the web viewer and its data server.
WEB_PORT, GRPC_PORT = 9090, 9876

#: one colour per person (RGB), in person-index order, repeated past the end
PERSON_COLORS: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212))
MAX_MESH_FRAMES = 300          # a body mesh is logged on at most this many frames
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v")
VIDEO_CODECS = ("h264", "hevc", "h265", "av1", "vp9")   # what Rerun's viewers decode


def person_color(person: int) -> tuple[int, int, int]:
    """The RGB colour (0–255) that draws person ``person``."""
    return PERSON_COLORS[int(person) % len(PERSON_COLORS)]


def _rerun():
    try:
        import rerun as rr
    except ImportError:
        raise PosestackError("posestack view needs the Rerun SDK: pip install "
                             "'posestack[view]'") from None
    return rr


# ----------------------------------------------------------------------- what is there

@dataclass
class Contents:
    """What a path given to ``posestack view`` holds.

    Attributes:
        path: the path given.
        bundles: single-camera bundles (folders with ``keypoints2d.parquet``).
        multiview: the multi-view folder (``keypoints3d.parquet``), or None.
    """

    path: Path
    bundles: list[Path] = field(default_factory=list)
    multiview: Path | None = None


def _is_bundle(p: Path) -> bool:
    return p.is_dir() and (p / "keypoints2d.parquet").is_file()


def _is_multiview(p: Path) -> bool:
    return p.is_dir() and (p / "keypoints3d.parquet").is_file()


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return m if isinstance(m, dict) else {}


def find_contents(path: str | os.PathLike) -> Contents:
    """Sort out what ``path`` is: one bundle, a multiview folder (its camera bundles,
    siblings named like its cameras, come with it) or a trial / output folder holding
    bundles and ``multiview/``.

    Raises:
        InputError: ``path`` does not exist or holds no posestack results.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"posestack view: {p} does not exist")
    if not p.is_dir():
        raise InputError(f"posestack view: {p} is not a folder; give a bundle (OUT/<name>), "
                         "a multiview folder or a trial folder written by posestack run")
    c = Contents(p)
    if _is_multiview(p):
        c.multiview = p
        cams = (_manifest(p).get("calibration") or {}).get("cameras") or []
        c.bundles = [p.parent / n for n in cams if _is_bundle(p.parent / str(n))]
        if _is_bundle(p):
            c.bundles.insert(0, p)
        return c
    if _is_bundle(p):
        c.bundles = [p]
        return c
    kids = sorted(q for q in p.iterdir() if not q.name.startswith("."))
    c.bundles = [q for q in kids if _is_bundle(q)]
    mv = [q for q in kids if _is_multiview(q)]
    c.multiview = next((q for q in mv if q.name == "multiview"), mv[0] if mv else None)
    if not c.bundles and c.multiview is None:
        raise InputError(f"posestack view: {p} holds no posestack results (no "
                         "keypoints2d.parquet, keypoints3d.parquet, nor bundles or "
                         "multiview/ inside); run `posestack run` first")
    return c


# ----------------------------------------------------------------------- logging helpers

def _set_time(rec, t: float, frame: int) -> None:
    rec.set_time("time", duration=float(t))
    rec.set_time("frame", sequence=int(frame))


def _bones(xy: np.ndarray, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """``(E', 2, D)`` segments of the edges whose two ends are finite; ``xy (K, D)``."""
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    seg = xy[e]                                        # (E, 2, D)
    return seg[np.isfinite(seg).all(axis=(1, 2))]


def skeleton_arrays(coords: np.ndarray, edges: Sequence[tuple[int, int]]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, np.ndarray]:
    """One frame's points and bones, all people together.

    Args:
        coords: ``(P, K, D)`` keypoints (pixels or metres), NaN where missing.
        edges: the skeleton's keypoint pairs.

    Returns:
        ``(points (N, D), person (N,), keypoint (N,), bones [(2, D)…], bone_person (B,))``
        for the finite points only.
    """
    P = coords.shape[0]
    ok = np.isfinite(coords).all(-1)                   # (P, K)
    pp, kk = np.nonzero(ok)
    bones: list[np.ndarray] = []
    owner: list[int] = []
    for p in range(P):
        b = _bones(coords[p], edges)
        bones.extend(b)
        owner.extend([p] * len(b))
    return coords[pp, kk], pp, kk, bones, np.asarray(owner, dtype=np.int64)


def log_skeletons(rec, entity: str, poses, frames: np.ndarray, *, frame_shift: int = 0,
                  time_shift: float = 0.0) -> None:
    """Log a :class:`~posestack.poses.Poses` as ``entity/points`` and ``entity/bones``,
    one frame at a time on the ``time``/``frame`` timelines.

    Args:
        rec: the ``rerun.RecordingStream``.
        entity: entity path (e.g. ``world/skeleton``).
        poses: ``coords (T, P, K, D)`` pixels (D=2, ``Points2D``) or metres (D=3,
            ``Points3D``), ``times (T,)`` seconds.
        frames: ``(T,)`` frame index of each time step.
        frame_shift, time_shift: subtracted from the frame index and the time (a
            camera's synchronisation offset, in frames and seconds).
    """
    rr = _rerun()
    sk = poses.skeleton
    d = poses.coords.shape[-1]
    Points, Lines = (rr.Points3D, rr.LineStrips3D) if d == 3 else (rr.Points2D, rr.LineStrips2D)
    radius = 0.02 if d == 3 else rr.Radius.ui_points(3.0)
    width = 0.01 if d == 3 else rr.Radius.ui_points(2.0)
    colors = np.array(PERSON_COLORS, dtype=np.uint8)
    for ti in range(poses.coords.shape[0]):
        _set_time(rec, poses.times[ti] - time_shift, int(frames[ti]) - frame_shift)
        pts, pp, kk, bones, owner = skeleton_arrays(poses.coords[ti], sk.edges)
        rec.log(f"{entity}/points", Points(
            pts.reshape(-1, d), colors=colors[pp % len(colors)], radii=radius,
            class_ids=pp, keypoint_ids=kk, show_labels=False))
        rec.log(f"{entity}/bones", Lines(
            np.asarray(bones).reshape(-1, 2, d), colors=colors[owner % len(colors)],
            radii=width, class_ids=owner, show_labels=False))


def annotation_context(skeleton, people: int):
    """A ``rerun.AnnotationContext`` naming each person (``p<N>``, its colour) and each
    keypoint of ``skeleton`` (hover a point to read its name)."""
    rr = _rerun()
    kps = [rr.AnnotationInfo(id=i, label=n) for i, n in enumerate(skeleton.keypoints)]
    return rr.AnnotationContext([
        rr.ClassDescription(info=rr.AnnotationInfo(id=p, label=f"p{p}", color=person_color(p)),
                            keypoint_annotations=kps)
        for p in range(max(people, 1))])


def log_scalars(rec, entity: str, times: np.ndarray, frames: np.ndarray,
                values: np.ndarray) -> bool:
    """A time series: ``values (T,)`` at ``times (T,)`` seconds and ``frames (T,)``
    (NaN values are left out). Returns whether anything was logged."""
    rr = _rerun()
    ok = np.isfinite(values)
    if not ok.any():
        return False
    rec.send_columns(entity, indexes=[rr.TimeColumn("time", duration=times[ok]),
                                      rr.TimeColumn("frame", sequence=frames[ok])],
                     columns=rr.Scalars.columns(scalars=values[ok].astype(np.float64)))
    return True


def log_angles(rec, path: Path, source: str, *, frame_shift: int = 0,
               time_shift: float = 0.0) -> int:
    """Log an angles table (``frame, time, person, angle, degrees``) as one ``Scalars``
    series per person and angle under ``angles/<source>/p<N>/<angle>`` (degrees).
    Returns the number of series."""
    from ..io.tables import read_parquet

    rr = _rerun()
    t = read_parquet(path, what="angle table")
    frame = t["frame"].to_numpy().astype(np.int64) - frame_shift
    tim = t["time"].to_numpy().astype(np.float64) - time_shift
    person = t["person"].to_numpy().astype(np.int64)
    angle = np.asarray(t["angle"].to_pylist(), dtype=object)
    deg = t["degrees"].to_numpy(zero_copy_only=False).astype(np.float64)
    n = 0
    for p in np.unique(person):
        for a in sorted(set(angle[person == p])):
            sel = (person == p) & (angle == a)
            order = np.argsort(frame[sel], kind="stable")
            ent = f"angles/{source}/p{p}/{rr.escape_entity_path_part(str(a))}"
            if log_scalars(rec, ent, tim[sel][order], frame[sel][order], deg[sel][order]):
                rec.log(ent, rr.SeriesLines(names=f"p{p} {a}"), static=True)
                n += 1
    return n


def video_source(bundle: Path, manifest: dict[str, Any]) -> tuple[Path, str] | None:
    """The video to show for a bundle: its input when Rerun can play it (an MP4/MOV in
    H.264, H.265, AV1 or VP9, not rotated by metadata), else its ``overlay.mp4``
    (H.264); ``(path, "input" | "overlay")`` or None."""
    inp = manifest.get("input") or {}
    src = Path(str(inp.get("path", ""))) if inp.get("path") else None
    if (src is not None and src.is_file() and inp.get("kind") == "video"
            and src.suffix.lower() in VIDEO_SUFFIXES
            and str(inp.get("codec", "")).lower() in VIDEO_CODECS
            and not int(inp.get("rotation", 0) or 0)):
        return src, "input"
    if (bundle / "overlay.mp4").is_file():
        return bundle / "overlay.mp4", "overlay"
    return None


def log_video(rec, entity: str, video: Path, kind: str, frames: np.ndarray,
              times: np.ndarray, first_frame: int, *, frame_shift: int = 0,
              time_shift: float = 0.0) -> None:
    """Log ``video`` as one ``AssetVideo`` (static) at ``entity`` and a
    ``VideoFrameReference`` per frame in ``frames (T,)`` at ``times (T,)`` seconds.

    ``kind`` "input": video frame i is source frame i; "overlay": it is source frame
    ``first_frame + i`` (the overlay starts at the first frame processed)."""
    rr = _rerun()
    asset = rr.AssetVideo(path=video)
    rec.log(entity, asset, static=True)
    ts = np.asarray(asset.read_frame_timestamps_nanos(), dtype=np.int64)
    idx = frames - (first_frame if kind == "overlay" else 0)
    ok = (idx >= 0) & (idx < len(ts))
    if not ok.any():
        return
    rec.send_columns(entity, indexes=[
        rr.TimeColumn("time", duration=times[ok] - time_shift),
        rr.TimeColumn("frame", sequence=frames[ok] - frame_shift)],
        columns=rr.VideoFrameReference.columns_nanos(ts[idx[ok]]))


def _mesh_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Per-vertex unit normals ``(V, 3)`` of the mesh ``v (V, 3)``, ``f (F, 3)``."""
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    out = np.zeros_like(v)
    for i in range(3):
        np.add.at(out, f[:, i], n)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def log_body(rec, npz: Path, person: int, *, time_shift: float = 0.0) -> int:
    """Log a fitted body (``posestack body``'s ``body_p<N>.npz``) as ``world/bodies/p<N>``
    ``Mesh3D`` (world metres) on at most :data:`MAX_MESH_FRAMES` evenly spread frames.
    Returns the number of frames logged."""
    from ..body.fit import read_body_npz

    rr = _rerun()
    fit = read_body_npz(npz)
    frames = np.asarray(fit.frames if fit.camera is None else fit.source_frames, np.int64)
    T = len(frames)
    step = max(1, math.ceil(T / MAX_MESH_FRAMES))
    faces = np.asarray(fit.faces, np.int32)
    color = person_color(person)
    ent = f"world/bodies/p{person}"
    picks = list(range(0, T, step))
    if T and picks[-1] != T - 1:
        picks.append(T - 1)
    # the faces and colour once (static), the vertices per frame: the viewer joins them
    rec.log(ent, rr.Mesh3D.from_fields(triangle_indices=faces, albedo_factor=(*color, 160)),
            static=True)
    n = 0
    for i in picks:
        v = np.asarray(fit.vertices[i], np.float32)
        if not np.isfinite(v).all():
            continue
        _set_time(rec, float(fit.times[i]) - time_shift, int(frames[i]))
        rec.log(ent, rr.Mesh3D.from_fields(vertex_positions=v,
                                           vertex_normals=_mesh_normals(v, faces)))
        n += 1
    if fit.camera is not None:   # a one-camera fit: its camera, in the fit's world
        log_camera(rec, fit.camera, f"world/cameras/{rr.escape_entity_path_part(fit.camera.name)}")
    return n


def log_camera(rec, cam, entity: str, size: tuple[int, int] | None = None) -> None:
    """A calibrated camera (:class:`~posestack.multiview.calibration.Camera`) as a
    static ``Transform3D`` (world→camera: R, t metres) and ``Pinhole`` (K, image size in
    pixels, OpenCV axes: x right, y down, z forward) at ``entity``; ``size`` (width,
    height) overrides the calibration's image size (the video's, when they differ by
    codec padding)."""
    size = size or cam.size
    rr = _rerun()
    rec.log(entity, rr.Transform3D(translation=np.asarray(cam.t, np.float64),
                                   mat3x3=np.asarray(cam.R, np.float64),
                                   relation=rr.TransformRelation.ChildFromParent), static=True)
    rec.log(entity, rr.Pinhole(image_from_camera=np.asarray(cam.K, np.float64),
                               resolution=[int(size[0]), int(size[1])],
                               camera_xyz=rr.ViewCoordinates.RDF, image_plane_distance=0.5),
            static=True)


@dataclass
class Logged:
    """What :func:`log_bundle` logged: ``views`` the blueprint's views as
    ``(kind, origin, name)`` with kind "3d", "2d" or "series"; ``missing`` one line
    per thing the input lacks."""

    views: list[tuple[str, str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _load_calibration(mv: Path, manifest: dict[str, Any], out: Logged):
    from ..multiview.calibration import load_calibration

    cal = manifest.get("calibration") or {}
    path = Path(str(cal.get("path", ""))) if cal.get("path") else None
    if path is None or not path.is_file():
        out.missing.append(f"{mv.name}: the calibration file {path} is not found: cameras "
                           "not shown")
        return None
    try:
        calib = load_calibration(path)
        names = [n for n in cal.get("cameras") or calib.names if n in calib]
        return calib.select(names) if names else calib
    except PosestackError as e:
        out.missing.append(f"{mv.name}: calibration not read ({e}): cameras not shown")
        return None


def _log_2d_bundle(rec, bundle: Path, entity: str, out: Logged, *, frame_shift: int = 0,
                   fps: float | None = None, body3d: bool = True) -> None:
    """One camera's bundle at ``entity``: video, 2D keypoints; its angles (and BlazePose
    world landmarks when ``body3d``) under their own roots."""
    from ..pipeline import read_keypoints

    rr = _rerun()
    man = _manifest(bundle)
    name = bundle.name
    shift_t = frame_shift / fps if (frame_shift and fps) else 0.0
    poses, frames = read_keypoints(bundle / "keypoints2d.parquet")
    rec.log(entity, annotation_context(poses.skeleton, poses.coords.shape[1]), static=True)
    src = video_source(bundle, man)
    if src is None:
        out.missing.append(f"{name}: no video (input {man.get('input', {}).get('path')} "
                           "not found or not playable, no overlay.mp4): keypoints only")
    else:
        first = int((man.get("frames") or {}).get("first", frames[0] if len(frames) else 0))
        log_video(rec, f"{entity}/video", src[0], src[1], frames, poses.times, first,
                  frame_shift=frame_shift, time_shift=shift_t)
    log_skeletons(rec, f"{entity}/keypoints", poses, frames, frame_shift=frame_shift,
                  time_shift=shift_t)
    out.views.append(("2d", entity, name))
    if (bundle / "angles.parquet").is_file():
        if log_angles(rec, bundle / "angles.parquet", name, frame_shift=frame_shift,
                      time_shift=shift_t):
            out.views.append(("series", f"angles/{name}", f"{name} angles (planar, °)"))
    else:
        out.missing.append(f"{name}: no angles.parquet")
    if body3d:
        found = False
        for table, what, sub in (("keypoints3d_body.parquet", "BlazePose", "body3d"),
                                 ("keypoints3d_lifted.parquet", "lifted", "lifted3d")):
            if not (bundle / table).is_file():
                continue
            found = True
            p3, f3 = read_keypoints(bundle / table)
            root = f"{sub}/{name}"
            # a camera's axes: x right, y down, z away from the camera
            rec.log(root, rr.ViewCoordinates.RDF, static=True)
            rec.log(root, annotation_context(p3.skeleton, p3.coords.shape[1]), static=True)
            log_skeletons(rec, f"{root}/skeleton", p3, f3)
            out.views.append(("3d", root, f"{name} 3D ({what}, metres, hip-centred)"))
        if not found:
            out.missing.append(f"{name}: no 3D (no keypoints3d_body.parquet or "
                               "keypoints3d_lifted.parquet: run --lift; several calibrated "
                               "cameras give world 3D)")


def _log_multiview(rec, mv: Path, bundles: dict[str, Path], out: Logged) -> None:
    """The 3D folder: world skeletons, cameras (with their bundles' video and 2D),
    bodies, 3D / IK / OpenSim angles."""
    from ..multiview.calibration import find_camera
    from ..pipeline import read_keypoints

    rr = _rerun()
    man = _manifest(mv)
    rec.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
    poses, frames = read_keypoints(mv / "keypoints3d.parquet")
    rec.log("world/skeleton", annotation_context(poses.skeleton, poses.coords.shape[1]),
            static=True)
    log_skeletons(rec, "world/skeleton", poses, frames)
    out.views.append(("3d", "world", "3D (world, metres, Z up)"))
    fps = float(man.get("fps") or 0) or (
        (len(poses.times) - 1) / (poses.times[-1] - poses.times[0])
        if len(poses.times) > 1 and poses.times[-1] > poses.times[0] else None)
    offsets = {str(k): int(v) for k, v in (man.get("offsets") or {}).items()}
    calib = _load_calibration(mv, man, out)
    used: set[str] = set()
    for cam in calib or ():
        ent = f"world/cameras/{rr.escape_entity_path_part(cam.name)}"
        log_camera(rec, cam, ent)
        b = next((p for n, p in bundles.items() if n == cam.name), None)
        if b is None:
            try:
                b = bundles.get(find_camera(cam.name, list(bundles), by_number=False))
            except (PosestackError, TypeError):
                b = None
        if b is None:
            out.missing.append(f"{cam.name}: no camera bundle beside {mv.name}/ (no video, "
                               "no 2D keypoints for it)")
            continue
        used.add(b.name)
        inp = _manifest(b).get("input") or {}
        if inp.get("width") and inp.get("height"):
            log_camera(rec, cam, ent, (int(inp["width"]), int(inp["height"])))
        _log_2d_bundle(rec, b, ent, out, frame_shift=offsets.get(cam.name, 0), fps=fps,
                       body3d=False)
    for name, b in bundles.items():
        if name not in used:
            _log_2d_bundle(rec, b, f"image/{rr.escape_entity_path_part(name)}", out)
    for fname, source, label in (("angles.parquet", "3d", "3D angles (ISB, °)"),
                                 ("angles_ik.parquet", "ik", "IK angles (°)"),
                                 ("angles_opensim.parquet", "opensim", "OpenSim IK (°)")):
        if (mv / fname).is_file() and log_angles(rec, mv / fname, source):
            out.views.append(("series", f"angles/{source}", label))
    if not (mv / "angles.parquet").is_file():
        out.missing.append(f"{mv.name}: no angles.parquet")
    bodies = sorted((mv / "body").glob("body_p*.npz")) if (mv / "body").is_dir() else []
    _log_bodies(rec, bodies, mv, out)


def _log_bodies(rec, npzs: list[Path], folder: Path, out: Logged) -> None:
    if not npzs:
        out.missing.append(f"{folder.name}: no fitted body (run `posestack body {folder}`)")
        return
    for f in npzs:
        digits = f.stem.removeprefix("body_p")
        log_body(rec, f, int(digits) if digits.isdigit() else 0)


def log_bundle(path: str | os.PathLike, recording) -> Logged:
    """Log everything a bundle, multiview folder or trial holds into ``recording`` (a
    ``rerun.RecordingStream``): videos, 2D keypoints, 3D skeletons with the cameras,
    body meshes and joint angles, on the ``time`` (seconds) and ``frame`` timelines.
    What is missing is logged as ``TextLog`` lines at ``notes`` and returned.

    Raises:
        InputError: ``path`` holds no posestack results, or a table in it is damaged.
    """
    rr = _rerun()
    c = find_contents(path)
    out = Logged()
    rec = recording
    if c.multiview is not None:
        _log_multiview(rec, c.multiview, {b.name: b for b in c.bundles}, out)
    else:
        for b in c.bundles:
            _log_2d_bundle(rec, b, f"image/{rr.escape_entity_path_part(b.name)}", out)
        npzs = [f for b in c.bundles for f in sorted((b / "body").glob("body_p*.npz"))]
        if npzs:
            rec.log("world", rr.ViewCoordinates.RIGHT_HAND_Y_DOWN, static=True)
            _log_bodies(rec, npzs, c.path, out)
            out.views.append(("3d", "world", "body (camera's world, metres)"))
        elif len(c.bundles) == 1:
            out.missing.append(f"{c.bundles[0].name}: no fitted body (run `posestack body "
                               f"{c.bundles[0]}`)")
        out.missing.append(f"{c.path.name}: no multi-view 3D (keypoints3d.parquet)")
    _set_time(rec, 0.0, 0)
    for line in out.missing:
        rec.log("notes", rr.TextLog(line, level=rr.TextLogLevel.INFO), static=False)
    return out


def blueprint(logged: Logged):
    """The viewer's layout for what :func:`log_bundle` logged: the 3D view(s) and the
    angle plots on the left, the cameras' images in a grid on the right."""
    import rerun.blueprint as rrb

    three = [rrb.Spatial3DView(origin=o, name=n) for k, o, n in logged.views if k == "3d"]
    two = [rrb.Spatial2DView(origin=o, name=n) for k, o, n in logged.views if k == "2d"]
    order = {"angles/3d": 0, "angles/ik": 1, "angles/opensim": 2}
    series = [rrb.TimeSeriesView(origin=o, name=n) for k, o, n in
              sorted((v for v in logged.views if v[0] == "series"),
                     key=lambda v: order.get(v[1], 3))]
    left = [*three] + ([rrb.Tabs(*series)] if series else [])
    parts = []
    if left:
        parts.append(rrb.Vertical(*left, row_shares=[2] * len(three) + [1] * bool(series))
                     if len(left) > 1 else left[0])
    if two:
        parts.append(rrb.Grid(*two) if len(two) > 1 else two[0])
    if not parts:
        parts = [rrb.TextLogView(origin="notes", name="notes")]
    root = rrb.Horizontal(*parts) if len(parts) > 1 else parts[0]
    return rrb.Blueprint(root, rrb.BlueprintPanel(state="collapsed"),
                         rrb.SelectionPanel(state="collapsed"),
                         rrb.TimePanel(state="expanded"))


def _check(path: str | os.PathLike, save: str | os.PathLike | None) -> Contents:
    _rerun()
    c = find_contents(path)
    if save is not None:
        s = Path(save)
        if s.is_dir():
            raise InputError(f"--save {s}: is a folder; name the .rrd file to write")
        if not s.parent.expanduser().is_dir():
            raise InputError(f"--save {s}: the folder {s.parent} does not exist")
    return c


def save_recording(path: str | os.PathLike, save: str | os.PathLike) -> Logged:
    """Write ``path``'s recording to the ``.rrd`` file ``save`` atomically (a temporary
    name in the same folder, renamed when complete); returns what was logged."""
    from ..io.atomic import atomic_path

    rr = _rerun()
    c = _check(path, save)
    with atomic_path(Path(save).expanduser(), suffix=".rrd.part") as tmp:
        rec = rr.RecordingStream("posestack", recording_id=f"posestack-{c.path.name}",
                                 send_properties=True)
        rec.save(tmp)
        logged = log_bundle(c.path, rec)
        rec.send_blueprint(blueprint(logged))
        rec.flush()
        rec.disconnect()
    return logged


def serve(path: str | os.PathLike, *, web_port: int = WEB_PORT, grpc_port: int = GRPC_PORT,
          stop: threading.Event | None = None, ready: threading.Event | None = None) -> int:
    """Serve ``path``'s recording: a gRPC server (``grpc_port``) holding the data and
    Rerun's web viewer (``web_port``; its files come from the installed rerun-sdk wheel,
    nothing is fetched) connected to it. Prints the URL, then blocks until Ctrl-C (or
    until ``stop`` is set; ``ready`` is set once the data is logged). Returns 0."""
    from urllib.parse import quote

    rr = _rerun()
    c = _check(path, None)
    rec = rr.RecordingStream("posestack", recording_id=f"posestack-{c.path.name}")
    try:
        uri = rec.serve_grpc(grpc_port=grpc_port, server_memory_limit="50%")
        rr.serve_web_viewer(web_port=web_port, open_browser=False, connect_to=uri)
    except Exception as e:  # the bindings raise plain exceptions for a port in use
        raise PosestackError(f"posestack view: cannot serve on ports {web_port} (web) and "
                             f"{grpc_port} (gRPC): {e}") from None
    logged = log_bundle(c.path, rec)
    rec.send_blueprint(blueprint(logged))
    rec.flush()
    for line in logged.missing:
        print(f"missing: {line}")
    print(f"posestack view: open http://localhost:{web_port}/?url={quote(uri, safe=':/')} "
          "(Ctrl-C to stop)", flush=True)
    if ready is not None:
        ready.set()
    try:
        while not (stop is not None and stop.wait(0.5)):
            if stop is None:
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        rec.disconnect()
    return 0


def view(path: str | os.PathLike, save: str | os.PathLike | None = None, *,
         web_port: int = WEB_PORT, grpc_port: int = GRPC_PORT) -> int:
    """``posestack view``: with ``save``, write the recording to that ``.rrd`` file and
    return; else serve the web viewer (on ``web_port``, reading from a gRPC server on
    ``grpc_port``) until Ctrl-C. Returns the exit status (0).

    Raises:
        InputError: ``path`` holds no posestack results, or ``save`` cannot be written.
        PosestackError: the Rerun SDK is not installed (``pip install 'posestack[view]'``).
    """
    if save is not None:
        logged = save_recording(path, save)
        for line in logged.missing:
            print(f"missing: {line}")
        print(f"recording: {save} (open it with `rerun {save}`)")
        return 0
    return serve(path, web_port=web_port, grpc_port=grpc_port)
