"""The multi-camera part of the main job: 3D bundle, TRC files, reprojection overlays.

``OUT/<name>/`` (``name`` defaults to ``multiview``) gets:

* ``keypoints3d.parquet`` — frame, time, person, keypoint, x, y, z (world metres),
  score, reprojection_error (px), views (number of cameras used);
* ``<name>_p<person>.trc`` — one OpenSim marker file per person, Y up;
* ``overlay_<camera>.mp4`` — each camera's video with its 2D detections (thin,
  grey) and the reprojected 3D skeleton (coloured, labelled by person);
* ``manifest.json`` — calibration, cameras, offsets, parameters, accuracy
  figures (reprojection error, bone-length variation), warnings.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .._version import __version__
from ..assets import sha256_file
from ..io.atomic import atomic_path, write_json
from ..io.media import FrameReader, MediaInfo, VideoWriter
from ..io.tables import poses_to_table, write_parquet
from ..poses import Poses
from .calibration import Calibration
from .reconstruct import Reconstruction, bone_length_cv

log = logging.getLogger(__name__)


def accuracy(rec: Reconstruction, poses: Poses | None = None) -> dict[str, Any]:
    """Reprojection error (median, p95, px), views used, and bone-length variation."""
    ok = rec.n_views > 0
    err = rec.error[ok]
    out: dict[str, Any] = {
        "points_triangulated": int(ok.sum()),
        "reprojection_error_px": {
            "median": round(float(np.median(err)), 3) if err.size else None,
            "p95": round(float(np.percentile(err, 95)), 3) if err.size else None},
        "mean_views": round(float(rec.n_views[ok].mean()), 3) if err.size else None,
        "frames_with_3d": int(ok.any(axis=(1, 2)).sum()) if ok.size else 0,
    }
    cv = bone_length_cv(poses if poses is not None else rec.poses)
    if cv:
        out["bone_length_cv"] = {k: round(v, 4) for k, v in cv.items()}
        out["bone_length_cv_median"] = round(float(np.median(list(cv.values()))), 4)
    return out


def _draw_reprojection(rgb: np.ndarray, det_xy: np.ndarray, det_sc: np.ndarray,
                       proj: np.ndarray, who: Sequence[int], skeleton) -> np.ndarray:
    from ..render.draw import draw_skeleton

    img = rgb.copy()
    h, w = img.shape[:2]
    thin = max(1, round(min(h, w) / 500))
    for p in range(det_xy.shape[0]):
        ok = np.isfinite(det_xy[p]).all(-1) & (det_sc[p] > 0.3)
        for a, b in skeleton.edges:
            if ok[a] and ok[b]:
                cv2.line(img, tuple(np.round(det_xy[p, a]).astype(int)),
                         tuple(np.round(det_xy[p, b]).astype(int)), (200, 200, 200), thin,
                         cv2.LINE_AA)
    sc = np.isfinite(proj).all(-1).astype(np.float32)
    return draw_skeleton(img, proj, sc, skeleton, labels=[f"3D #{q}" for q in who])


def render_reprojections(out: Path, rec: Reconstruction, poses: Poses,
                         calibration: Calibration, videos: Mapping[str, MediaInfo],
                         views: Mapping[str, tuple[Poses, np.ndarray]],
                         offsets: Mapping[str, int], progress: bool = False) -> list[str]:
    """One overlay per camera: 2D detections and the reprojected 3D skeleton.

    Args:
        videos: camera name → the video to draw on.
        views: camera name → (its 2D poses, their source frame indices).
        offsets: camera name → frame offset (see :func:`reconstruct`).

    Returns the file names written.
    """
    from ..progress import progress_bar

    row_of = {int(f): i for i, f in enumerate(rec.frames)}
    names = []
    for cam in calibration.cameras:
        info = videos.get(cam.name)
        if info is None or info.kind != "video":
            continue
        v2d, fr2d = views[cam.name]
        det_row = {int(f): i for i, f in enumerate(fr2d)}
        proj_all = cam.project(poses.coords.astype(np.float64))       # (T, Q, K, 2)
        off = int(offsets.get(cam.name, 0))
        name = f"overlay_{cam.name}.mp4"
        with atomic_path(out / name) as tmp, VideoWriter(tmp, info.width, info.height,
                                                         info.fps or 30.0) as wr:
            bar = progress_bar(len(fr2d), f"overlay {cam.name}", enabled=progress)
            for index, _, rgb in FrameReader(info):
                if index not in det_row:
                    continue
                di = det_row[index]
                ti = row_of.get(index - off)
                if ti is None:
                    who, proj = [], np.zeros((0, len(poses.skeleton), 2))
                else:
                    who = [q for q in range(poses.n_people)
                           if np.isfinite(poses.coords[ti, q]).any()]
                    proj = proj_all[ti, who]
                wr.write(_draw_reprojection(rgb, v2d.coords[di], v2d.scores[di], proj, who,
                                            poses.skeleton))
                bar.update(1)
            bar.close()
        names.append(name)
    return names


def write_multiview(out: Path, rec: Reconstruction, poses: Poses, calibration: Calibration,
                    calibration_path: Path | None, *, name: str, parameters: dict[str, Any],
                    offsets: Mapping[str, int], sources: Sequence[str],
                    warnings: Sequence[str] = (), overlays: Sequence[str] = (),
                    extra_outputs: Mapping[str, str] | None = None) -> dict:
    """Write the 3D table, TRC files and manifest (overlays are written before)."""
    from ..io.trc import write_trc

    out.mkdir(parents=True, exist_ok=True)
    table = poses_to_table(poses, rec.frames, "", extra={
        "reprojection_error": np.where(rec.n_views > 0, rec.error, np.nan).astype(np.float32),
        "views": rec.n_views.astype(np.int16)})
    write_parquet(out / "keypoints3d.parquet", table)
    outputs = {"keypoints3d": "keypoints3d.parquet"}
    trcs = []
    if poses.n_frames >= 2:
        for q in range(poses.n_people):
            if not np.isfinite(poses.coords[:, q]).any():
                continue
            trc = f"{name}_p{q}.trc"
            write_trc(out / trc, poses, person=q, frame_offset=int(rec.frames[0]))
            trcs.append(trc)
    outputs["trc"] = trcs
    for o in overlays:
        outputs.setdefault("overlays", []).append(o)
    outputs.update(extra_outputs or {})
    manifest = {
        "posestack": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "sources": list(sources),
        "calibration": {"path": str(calibration_path) if calibration_path else None,
                        "sha256": sha256_file(calibration_path) if calibration_path else None,
                        "cameras": list(calibration.names)},
        "offsets": dict(offsets),
        "parameters": parameters,
        "skeleton": poses.skeleton.name,
        "people": poses.n_people,
        "frames": {"count": len(rec.frames),
                   "first": int(rec.frames[0]) if len(rec.frames) else None,
                   "last": int(rec.frames[-1]) if len(rec.frames) else None},
        "accuracy": accuracy(rec, poses),
        "warnings": list(warnings),
        "outputs": outputs,
        "conventions": {
            "keypoints3d": "world metres in the calibration's frame (right-handed; Z up for "
                           "Qualisys/Pose2Sim); reprojection_error = mean over the cameras "
                           "used, px; views = cameras used; missing = NaN",
            "trc": "OpenSim marker file, metres, Y up (world Z becomes TRC Y)",
        },
    }
    write_json(out / "manifest.json", manifest)
    return manifest
