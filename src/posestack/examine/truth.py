"""A multi-view reference for ``examine``: a trial's 3D, reprojected into the examined
camera through its calibration, instead of the estimator's own clean run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Truth:
    """Reference 2D keypoints of one camera: ``times`` ``(T,)`` seconds, ``xy``
    ``(T, P, K, 2)`` pixels (NaN where missing or out of the image), ``names`` the K
    keypoint names, ``source`` a description for messages."""

    times: np.ndarray
    xy: np.ndarray
    names: tuple[str, ...]
    source: str


def reprojected(reference: str | os.PathLike, calibration: str | os.PathLike,
                camera: str, size: tuple[int, int] | None = None) -> Truth:
    """A 3D reference (a multiview bundle, its ``keypoints3d.parquet`` or a ``.trc``)
    projected into ``camera`` of ``calibration``.

    Args:
        reference: world 3D keypoints, metres.
        calibration: the calibration the 3D was made with (any format posestack reads).
        camera: the camera's name in it (``cam01`` matches ``cam_01``).
        size: the examined video's ``(width, height)``; a camera calibrated for another
            size is refused (:meth:`Calibration.check_sizes`).

    Raises:
        InputError: an unreadable reference or calibration, a camera it lacks, a size
            that does not match, or 3D that is not in the world's axes.
    """
    from ..evaluate.keypoints import load_keypoints
    from ..multiview.calibration import find_camera, load_calibration

    kp = load_keypoints(reference)
    if kp.space != "world" or kp.coords.shape[-1] != 3:
        raise InputError(f"--reference {kp.source} is not 3D in the world's axes "
                         f"({kp.space}): give a multiview bundle (or its keypoints3d.parquet, "
                         "or a .trc) made with this calibration")
    calib = load_calibration(calibration)
    name = find_camera(camera, calib.names, f"camera (of {Path(calibration).name})")
    cam = calib[name]
    if size is not None:  # (codec padding allowed, as for triangulation)
        calib.select([name]).check_sizes({name: tuple(size)})
    xy = cam.project(kp.coords)
    w, h = cam.size
    inside = (xy[..., 0] >= 0) & (xy[..., 0] < w) & (xy[..., 1] >= 0) & (xy[..., 1] < h)
    xy = np.where(inside[..., None], xy, np.nan)
    return Truth(np.asarray(kp.times, np.float64), xy, tuple(kp.names),
                 f"{Path(kp.source).name} through {name}")


def truth_frames(truth: Truth, times: np.ndarray, names: tuple[str, ...],
                 clean_xy: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """The reference 2D of each sampled frame in the estimator's keypoint order.

    Args:
        truth: the reprojected reference.
        times: ``(F,)`` the sampled frames' times, seconds.
        names: the estimator's K keypoint names.
        clean_xy: per frame, the estimator's clean ``(K, 2)`` keypoints of its clearest
            person, or None; picks the reference person nearest to it (with one
            reference person, that one).

    Returns:
        ``(xy, has)``: ``(F, K, 2)`` pixels (NaN where the reference has no point) and
        ``(F,)`` whether the frame has a reference person.
    """
    from ..evaluate.keypoints import match_frames, name_pairs

    pairs = name_pairs(names, truth.names)
    if len(pairs) < 4:
        raise InputError(f"the reference ({truth.source}) shares fewer than 4 keypoint names "
                         f"with the estimator ({', '.join(names[:6])}…)")
    f_idx, t_idx = match_frames(np.asarray(times, np.float64), truth.times)
    out = np.full((len(times), len(names), 2), np.nan)
    has = np.zeros(len(times), bool)
    for f, j in zip(f_idx, t_idx, strict=True):
        people = truth.xy[j]                       # (P, K_truth, 2)
        mapped = np.full((people.shape[0], len(names), 2), np.nan)
        for k, i in pairs:
            mapped[:, k] = people[:, i]
        seen = np.isfinite(mapped).all(-1).sum(-1) >= 4
        if not seen.any():
            continue
        choice = np.flatnonzero(seen)
        if len(choice) > 1 and clean_xy[f] is not None:
            d = np.nanmean(np.linalg.norm(mapped[choice] - clean_xy[f], axis=-1), axis=-1)
            choice = choice[np.argsort(np.nan_to_num(d, nan=np.inf))]
        out[f] = mapped[choice[0]]
        has[f] = True
    return out, has
