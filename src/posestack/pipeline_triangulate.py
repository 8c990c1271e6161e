"""3D from 2D made elsewhere: ``triangulate_files`` (``posestack triangulate``) reads
posestack bundles or OpenPose json folders (:func:`read_2d_folders`, also used by the
calibration commands) and reconstructs them with a calibration, as
:mod:`posestack.pipeline_multiview` does after its own 2D.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .pipeline import BUNDLE_FILES, RunParameters, read_keypoints
from .pipeline_multiview import (
    MultiviewResult,
    _camera_offsets,
    _multiview_3d,
    _select_cameras,
    log,
)
from .poses import Poses


def _bundle_fps(folder: Path) -> float | None:
    """The frame rate of the video behind a bundle's ``openpose/`` folder, if known."""
    if folder.name != BUNDLE_FILES["openpose"]:
        return None
    try:
        fps = json.loads((folder.parent / BUNDLE_FILES["manifest"]).read_text())["input"]["fps"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(fps) if fps else None


def _estimator_of(folder: Path) -> str | None:
    """The estimator named by the manifest of a bundle folder (or of the bundle whose
    ``openpose/`` this is), if any."""
    for d in (folder, folder.resolve().parent):
        try:
            man = json.loads((d / BUNDLE_FILES["manifest"]).read_text(encoding="utf-8"))
            return str(man["parameters"]["estimator"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def read_2d_folders(folders: Sequence[Path], layout: str = "auto", fps: float | None = None
                    ) -> tuple[list[Poses], list[np.ndarray], list[str], Any, float | None]:
    """Per camera 2D from posestack bundles or OpenPose json folders.

    Returns the views (2D pixels), each one's source frame indices, the cameras' names (a
    bundle's camera, or the json folder's name without ``_json``), the OpenPose layout
    read (None for bundles) and the frame rate of the json (``fps``, or a bundle's own
    json's video rate; None when not known: 30 frames/s is then assumed, with a warning).
    """
    from .io.openpose_reader import read_openpose_folders

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
    if jsons and fps is None:  # a bundle's own json: its video's rate; else say what is assumed
        rates = {_bundle_fps(folders[i]) for i in jsons}
        if len(rates) == 1 and None not in rates:
            fps = rates.pop()
        else:
            log.warning("no --fps: the OpenPose json folders are taken as 30 frames/s (give "
                        "--fps for their real rate: every time and offset in seconds follows "
                        "it)")
    if jsons:   # read together: one layout for every camera (BODY_25/25B from all of them)
        read = read_openpose_folders([folders[i] for i in jsons], layout, fps=fps or 30.0,
                                     cameras=[names[i] for i in jsons])
        for i, (poses, fr) in zip(jsons, read, strict=True):
            views[i], frames[i] = poses, fr
        layout_info = read[0][0].meta.get("layout")
    return views, frames, names, layout_info, fps


def triangulate_files(inputs: Iterable[str | os.PathLike], calibration: str | os.PathLike,
                      output: str | os.PathLike | None, *, layout: str = "auto",
                      fps: float | None = None, offsets: dict[str, int] | None = None,
                      cameras: Sequence[str] | None = None, min_views: int = 2,
                      max_error: float = 15.0, filter: str = "none", cutoff: float = 6.0,
                      order: int = 4, min_cutoff: float = 1.0, beta: float = 0.0,
                      max_gap: int = 0, max_age: float = 1.0,
                      ik: bool = False, opensim: bool = False, augment: bool = False,
                      height: float | None = None, mass: float = 70.0,
                      force: bool = False, fix_swaps: bool = True,
                      keypoints_from: str = "auto") -> MultiviewResult:
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
        fps: frame rate of the json files (default: a bundle's ``openpose/`` takes its
            video's; other json folders 30, with a warning; bundles know theirs).
        offsets, cameras, min_views, max_error: as in :func:`run_multiview`.
        filter, cutoff, order, min_cutoff, beta, max_gap, max_age: 3D filtering and
            identity linking, as in :func:`run`.
        force: redo the 3D even if ``output`` holds a complete result for these
            inputs and parameters.
        fix_swaps: swap back left/right side groups that a minority of the cameras
            labels the other way round, before triangulation.
        keypoints_from: the 2D model whose hip definition the keypoints follow
            (``"coco"``: OpenPose, RTM models; ``"blazepose"``); ``"auto"``: from the
            bundles' estimator, else from the layout (``blazepose33`` is BlazePose's,
            any other COCO's). Used by ``ik``, ``opensim`` and ``augment`` (see
            :mod:`posestack.biomech.anatomy`).
    """
    from .biomech.anatomy import keypoint_source
    from .io.bundle import file_record
    from .multiview.calibration import load_calibration, match_videos

    folders = [Path(p).expanduser() for p in inputs]
    views, frames, names, layout_info, fps = read_2d_folders(folders, layout, fps)
    calib_path = Path(calibration).expanduser()
    calib = match_videos(_select_cameras(load_calibration(calib_path), cameras), names)
    offsets = _camera_offsets(offsets, calib.names)
    source = keypoint_source(keypoints_from) if keypoints_from != "auto" else None
    if source is None:
        made_by = {_estimator_of(f) for f in folders} - {None}
        source = (keypoint_source(estimator=made_by.pop()) if len(made_by) == 1 else
                  keypoint_source(layout=views[0].skeleton.name))
    params = RunParameters(filter=filter, cutoff=cutoff, order=order, min_cutoff=min_cutoff,
                           beta=beta, max_gap=max_gap, max_age=max_age, video=False, ik=ik,
                           opensim=opensim, augment=augment, height=height, mass=mass,
                           fix_swaps=fix_swaps, keypoints_from=source)
    out_dir = Path(output).expanduser() if output is not None else None
    inputs_key = [file_record(f / "keypoints2d.parquet" if (f / "keypoints2d.parquet")
                              .is_file() else f)["sha256"] for f in folders]
    return _multiview_3d(views, frames, calib, calib_path, out_dir, params, offsets, fps,
                         [str(f) for f in folders], min_views, max_error, None, False, [],
                         inputs_key=inputs_key, force=force, layout=layout_info)
