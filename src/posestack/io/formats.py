"""Writers for the field's keypoint formats: COCO results and OpenPose json.

COCO results (``coco_results.json``): a list of
``{"image_id", "category_id": 1, "keypoints": [x, y, v]*K, "score"}`` in the
COCO-17 layout, as pycocotools/xtcocotools ``loadRes`` expects; ``image_id``
is the frame index in the source; ``v`` is the keypoint score.

OpenPose json (``openpose/<name>_<frame:012d>_keypoints.json``): OpenPose's
per-frame format (version 1.3): ``people[*].pose_keypoints_2d`` =
``[x, y, c]*K`` in the layout named in the bundle manifest (BlazePose-33 for
the BlazePose estimator, which Pose2Sim reads as ``pose_model = 'BLAZEPOSE'``);
missing points are ``0, 0, 0`` as OpenPose writes them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..poses import Poses
from .atomic import _umask, write_json


def _flat(coords: np.ndarray, scores: np.ndarray) -> list[float]:
    ok = np.isfinite(coords).all(-1) & (scores > 0)
    xyz = np.where(ok[:, None], coords, 0.0)
    s = np.where(ok, scores, 0.0)
    # np.round + tolist: the same 3-decimal floats as round(float(v), 3), without a Python
    # call per number (a Holistic frame has 543 points)
    flat = np.concatenate([xyz, s[:, None]], axis=1).astype(np.float64).ravel()
    return np.round(flat, 3).tolist()


def coco_results(poses: Poses, frames: np.ndarray) -> list[dict]:
    """COCO keypoint results for 2D poses already in the COCO-17 layout."""
    if poses.skeleton.name != "coco17" or poses.dim != 2:
        raise ValueError("coco_results needs 2D poses in the coco17 layout; convert with "
                         "poses.to_skeleton('coco17')")
    out = []
    present = poses.present()
    for ti, pi in zip(*np.nonzero(present), strict=True):
        c, s = poses.coords[ti, pi], poses.scores[ti, pi]
        seen = s > 0
        out.append({
            "image_id": int(frames[ti]),
            "category_id": 1,
            "keypoints": _flat(c, s),
            "score": round(float(s[seen].mean()) if seen.any() else 0.0, 4),
        })
    return out


def write_coco_results(path: str | os.PathLike, poses: Poses, frames: np.ndarray) -> None:
    """Write :func:`coco_results` atomically."""
    write_json(path, coco_results(poses, frames), indent=None)


def write_openpose(folder: str | os.PathLike, stem: str, poses: Poses, frames: np.ndarray) -> None:
    """Write one OpenPose json per frame into ``folder`` (replaced atomically as a whole)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    tmp.chmod(0o777 & ~_umask())
    try:
        for ti in range(poses.n_frames):
            people = []
            for pi in np.nonzero(poses.present()[ti])[0]:
                people.append({
                    "person_id": [-1],
                    "pose_keypoints_2d": _flat(poses.coords[ti, pi], poses.scores[ti, pi]),
                    "face_keypoints_2d": [], "hand_left_keypoints_2d": [],
                    "hand_right_keypoints_2d": [], "pose_keypoints_3d": [],
                    "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
                    "hand_right_keypoints_3d": [],
                })
            name = f"{stem}_{int(frames[ti]):012d}_keypoints.json"
            (tmp / name).write_text(json.dumps({"version": 1.3, "people": people}))
        old = None
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
