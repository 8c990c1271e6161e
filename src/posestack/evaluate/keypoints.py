"""Predicted keypoints against a reference, matched by time, identity and name.

:func:`load_keypoints` reads a posestack table (``keypoints3d.parquet``,
``keypoints3d_body.parquet``, ``keypoints2d.parquet``), a bundle folder (its 3D table
if it has one, else the 2D), or an OpenSim ``.trc`` (metres, Z up). :func:`evaluate`
pairs the two: the keypoints both name, each predicted frame with the reference
frame nearest in time (within half a reference frame), and people by identity
where both are one person, else by the assignment that minimises their aligned
error. It returns one row per person with MPJPE, N-MPJPE, PA-MPJPE, 3D PCK and AUC
(millimetres), and the per-joint errors.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from . import metrics

log = logging.getLogger(__name__)

ALIGNMENTS = {"mpjpe": "root", "n_mpjpe": "scale", "pa_mpjpe": "procrustes"}


@dataclass(frozen=True)
class Keypoints:
    """Keypoints read for evaluation: ``coords`` ``(T, P, K, D)`` (metres for 3D,
    pixels for 2D), NaN where missing; ``times`` ``(T,)`` seconds; ``names`` the K
    keypoint names; ``source`` the file read; ``space`` as :class:`posestack.Poses`
    (``"world"``, ``"body"``, ``"image:…"``; ``"world"`` for a TRC)."""

    coords: np.ndarray
    times: np.ndarray
    names: tuple[str, ...]
    source: Path
    space: str

    @classmethod
    def from_poses(cls, poses, source: Path) -> Keypoints:
        """A :class:`posestack.Poses`'s keypoints (score 0 → NaN), read from ``source``."""
        coords = np.where(poses.scores[..., None] > 0, poses.coords, np.nan)
        return cls(coords.astype(np.float64), np.asarray(poses.times, np.float64),
                   tuple(poses.skeleton.keypoints), Path(source), poses.space)


def load_keypoints(path: str | os.PathLike) -> Keypoints:
    """Read keypoints from a posestack table, a bundle folder or a ``.trc`` file.

    Raises:
        InputError: a missing or unreadable file, or a folder with no keypoint table.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        for name in ("keypoints3d.parquet", "keypoints3d_body.parquet", "keypoints2d.parquet"):
            if (p / name).is_file():
                p = p / name
                break
        else:
            raise InputError(f"{p} holds no keypoint table (keypoints3d.parquet, "
                             "keypoints3d_body.parquet or keypoints2d.parquet)")
    if not p.is_file():
        raise InputError(f"{p} not found: give a keypoint table (.parquet), a bundle folder "
                         "or an OpenSim .trc file")
    if p.suffix.lower() == ".trc":
        from ..io.trc import read_trc

        trc = read_trc(p, z_up=True, metres=True)
        return Keypoints(trc.xyz[:, None], np.asarray(trc.times, np.float64),
                         tuple(trc.names), p, "world")
    if p.suffix.lower() != ".parquet":
        raise InputError(f"{p}: keypoints are read from posestack .parquet tables and .trc "
                         "files (joint angles: posestack compare)")
    from ..pipeline import read_keypoints

    poses, _ = read_keypoints(p)
    return Keypoints.from_poses(poses, p)


_ALIAS = {"head": "head_top", "hip": "mid_hip", "midhip": "mid_hip"}


def recordings(table: Path) -> set[str] | None:
    """The source videos a posestack table was made from (its bundle's manifest:
    ``input.path`` of a 2D bundle, ``sources`` of a multiview one), as file names; None
    when there is no readable manifest (a ``.trc``)."""
    import json

    try:
        m = json.loads((Path(table).parent / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if isinstance(m.get("input"), dict) and m["input"].get("path"):
        return {Path(m["input"]["path"]).name}
    if isinstance(m.get("sources"), list) and m["sources"]:
        return {Path(str(x)).name for x in m["sources"]}
    return None


def world_camera(kp: Keypoints, calibration: str | os.PathLike, camera: str | None = None):
    """The calibrated camera whose axes ``kp`` is in: ``camera`` by name (``cam3`` finds
    ``cam03``), else the one the table names (space ``camera:<cam>``), else its bundle
    folder's name (``out/cam01/…`` → ``cam01``). A ``camera`` that is not the one the
    table names is used, with a warning.

    Raises:
        InputError: a camera the calibration lacks (listing those it has).
    """
    from ..multiview.calibration import find_camera, load_calibration

    calib = load_calibration(calibration)

    def find(name: str) -> str:
        return find_camera(name, calib.names, f"camera (of {Path(calibration).name})",
                           by_number=False)

    recorded = kp.space.split(":", 1)[1] if kp.space.startswith("camera:") else None
    cam = calib[find(camera or recorded or kp.source.parent.name)]
    if camera and recorded:
        try:
            same = find(recorded) == cam.name
        except InputError:  # the table's camera is not in this calibration
            same = False
        if not same:
            log.warning("%s was made from camera %s; turned by %s's rotation as --camera "
                        "says", kp.source.name, recorded, cam.name)
    return cam


def to_world(kp: Keypoints, calibration: str | os.PathLike | None,
             camera: Any = None) -> Keypoints:
    """3D in a camera's axes (BlazePose's world landmarks, ``"body"``; lifted 3D,
    ``"camera:<cam>"``) turned into the world's by the camera's calibrated rotation
    (x_world = Rᵀ x_camera). The origin stays the body's (the mid-hip), so root-aligned
    MPJPE and N-MPJPE then mean something; PA-MPJPE is unchanged.

    Args:
        kp: ``(T, P, K, 3)`` keypoints in a camera's axes.
        calibration: the calibration file (any format posestack reads).
        camera: the camera's name in it (None: as :func:`world_camera` finds it), or the
            :class:`~posestack.multiview.calibration.Camera` itself (``calibration`` is
            then not read).

    Raises:
        InputError: keypoints already in the world, or a camera the calibration lacks.
    """
    if kp.space == "world" or kp.coords.shape[-1] != 3:
        raise InputError(f"{kp.source.name} is not 3D in a camera's axes ({kp.space}): "
                         "--calibration turns a camera's 3D into the world's")
    cam = camera if hasattr(camera, "R") else world_camera(kp, calibration, camera)
    coords = np.einsum("ji,tpkj->tpki", cam.R, kp.coords)
    return Keypoints(coords, kp.times, kp.names, kp.source, "world")


def canonical_name(name: str) -> str:
    """A keypoint name in posestack's spelling, from OpenPose/Pose2Sim marker names too:
    ``RBigToe`` → ``right_big_toe``, ``LHip`` → ``left_hip``, ``Head`` → ``head_top``,
    ``Hip`` → ``mid_hip``; ``left_knee`` stays.

    >>> [canonical_name(n) for n in ("RBigToe", "LHip", "Neck", "left_knee", "Head")]
    ['right_big_toe', 'left_hip', 'neck', 'left_knee', 'head_top']
    """
    import re

    n = name.strip()
    side = ""
    m = re.fullmatch(r"([RL])([A-Z].*)", n)
    if m:
        side = "right_" if m.group(1) == "R" else "left_"
        n = m.group(2)
    n = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", n).lower().replace(".", "_").replace(" ", "_")
    return side + _ALIAS.get(n, n) if not side else side + n


def name_pairs(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    """``(index in a, index in b)`` of every keypoint both name, in ``a``'s order, names
    compared by :func:`canonical_name` (``LHip`` = ``left_hip``)."""
    where = {canonical_name(n): j for j, n in enumerate(b)}
    return [(i, where[canonical_name(n)]) for i, n in enumerate(a)
            if canonical_name(n) in where]


def match_names(pred: Keypoints, gt: Keypoints) -> tuple[list[int], list[int], list[str]]:
    """Indices of the keypoints both name (case and ``_`` / ``.`` spelling aside)."""
    pairs = name_pairs(pred.names, gt.names)
    pi, gi = [i for i, _ in pairs], [j for _, j in pairs]
    names = [pred.names[i] for i in pi]
    if len(names) < 4:
        raise InputError(f"{pred.source.name} and {gt.source.name} share {len(names)} keypoint "
                         f"name(s) ({', '.join(names) or 'none'}); at least 4 are needed (the "
                         f"reference has {', '.join(gt.names[:8])}…)")
    return pi, gi, names


def match_frames(pred_t: np.ndarray, gt_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each predicted time's nearest reference frame, within half a reference step."""
    if len(gt_t) == 0 or len(pred_t) == 0:
        return np.zeros(0, int), np.zeros(0, int)
    step = float(np.median(np.diff(gt_t))) if len(gt_t) > 1 else np.inf
    j = np.clip(np.searchsorted(gt_t, pred_t), 1, max(len(gt_t) - 1, 1))
    if len(gt_t) > 1:
        j = np.where(np.abs(gt_t[j - 1] - pred_t) <= np.abs(gt_t[j] - pred_t), j - 1, j)
    else:
        j = np.zeros(len(pred_t), int)
    ok = np.abs(gt_t[j] - pred_t) <= step / 2 + 1e-9
    return np.nonzero(ok)[0], j[ok]


def _people(p: np.ndarray, g: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (predicted person, reference person): by identity for one person each,
    else the assignment minimising the Procrustes-aligned error (people with no frame
    in common are not paired)."""
    from scipy.optimize import linear_sum_assignment

    n_p, n_g = p.shape[1], g.shape[1]
    cost = np.full((n_p, n_g), np.inf)
    for a in range(n_p):
        for b in range(n_g):
            e = metrics.joint_errors(p[:, a], g[:, b], "procrustes")
            if np.isfinite(e).any():
                cost[a, b] = np.nanmean(e)
    if not np.isfinite(cost).any():
        return []
    big = np.where(np.isfinite(cost), cost, 1e12)
    rows, cols = linear_sum_assignment(big)
    return [(int(a), int(b)) for a, b in zip(rows, cols, strict=True) if np.isfinite(cost[a, b])]


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` measured: ``rows`` (one dict per matched person: pred and
    reference person, frames, mpjpe_mm, n_mpjpe_mm, pa_mpjpe_mm, pck (within
    ``threshold_mm``), pa_pck, auc (0–150 mm), plus
    ``pck2d`` for 2D), ``per_joint`` (per person, ``{name: mm}`` after root
    alignment), ``names`` (the keypoints compared), ``unit`` (``"mm"`` or ``"px"``) and
    ``warnings`` (what makes some figures meaningless, keypoints left out)."""

    rows: list[dict]
    per_joint: dict[int, dict[str, float]]
    names: tuple[str, ...]
    unit: str
    warnings: tuple[str, ...] = ()


COCO17 = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
          "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
          "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")


def evaluate(pred: str | os.PathLike | Keypoints, gt: str | os.PathLike | Keypoints,
             root: str | None = None, threshold_mm: float = 150.0,
             keypoints: tuple[str, ...] | None = None) -> Evaluation:
    """Score predicted keypoints against a reference.

    Args:
        pred, gt: paths (see :func:`load_keypoints`) or :class:`Keypoints`.
        root: the root keypoint for MPJPE and N-MPJPE (default: the mid-hip, from
            ``left_hip`` and ``right_hip`` when both have them, else the centroid).
        threshold_mm: the 3D PCK threshold.
        keypoints: only these names (e.g. :data:`COCO17`, the 17 joints most benchmarks
            score); None: every name both have.

    Returns:
        an :class:`Evaluation`. 3D errors are in millimetres (inputs in metres); 2D in
        pixels, where PCK is PCKh@0.5 when both have ears, else PCK@0.1 of the box.

    Raises:
        InputError: dimensions differ, fewer than 4 shared keypoints, no frame or no
            person in common.
    """
    p = pred if isinstance(pred, Keypoints) else load_keypoints(pred)
    g = gt if isinstance(gt, Keypoints) else load_keypoints(gt)
    if p.coords.shape[-1] != g.coords.shape[-1]:
        raise InputError(f"{p.source.name} is {p.coords.shape[-1]}D and {g.source.name} is "
                         f"{g.coords.shape[-1]}D: compare 3D with 3D, 2D with 2D")
    pi, gi, names = match_names(p, g)
    if keypoints is not None:
        want = {canonical_name(k) for k in keypoints}
        keep = [i for i, n in enumerate(names) if canonical_name(n) in want]
        if len(keep) < 4:
            raise InputError(f"only {len(keep)} of the keypoints asked for are in both")
        pi, gi, names = [pi[i] for i in keep], [gi[i] for i in keep], [names[i] for i in keep]
    for k in (p, g):
        if not len(k.times):
            raise InputError(f"{k.source.name} holds no frame")
    fp, fg = match_frames(p.times, g.times)
    if not len(fp):
        raise InputError(f"no frame of {p.source.name} ({p.times[0]:.2f}–{p.times[-1]:.2f} s) "
                         f"falls on one of {g.source.name} ({g.times[0]:.2f}–"
                         f"{g.times[-1]:.2f} s)")
    pc = p.coords[fp][:, :, pi]
    gc = g.coords[fg][:, :, gi]
    seen = (np.isfinite(pc).all(-1).any((0, 1)) & np.isfinite(gc).all(-1).any((0, 1)))
    if seen.sum() < 4:
        raise InputError(f"fewer than 4 keypoints are present in both {p.source.name} and "
                         f"{g.source.name} in the same frames")
    never = tuple(n for n, s in zip(names, seen, strict=True) if not s)
    pc, gc = pc[:, :, seen], gc[:, :, seen]
    names = [canonical_name(n) for n, s in zip(names, seen, strict=True) if s]
    is3d = pc.shape[-1] == 3
    scale = 1000.0 if is3d else 1.0
    lower = [n.lower() for n in names]
    roots = [lower.index(n) for n in ("left_hip", "right_hip") if n in lower]
    if root is not None:
        if root.lower() not in lower:
            raise InputError(f"--root {root} is not a keypoint both have ({', '.join(names)})")
        roots = [lower.index(root.lower())]
    root_idx = roots if len(roots) in (1, 2) else None
    rows, per = [], {}
    for a, b in _people(pc, gc):
        x, y = pc[:, a] * scale, gc[:, b] * scale
        both = (np.isfinite(x).all(-1) & np.isfinite(y).all(-1)).any(-1)
        row = {"person": a, "reference_person": b, "frames": int(both.sum())}
        if is3d:
            row["threshold_mm"] = float(threshold_mm)
        for key, mode in ALIGNMENTS.items():
            row[key + ("_mm" if is3d else "_px")] = metrics.mpjpe(x, y, mode, root_idx)
        if is3d:
            row["pck"] = metrics.pck3d(x, y, threshold_mm, "root", root_idx)
            row["auc"] = metrics.auc3d(x, y, 1.0, "root", root_idx)
            row["pa_pck"] = metrics.pck3d(x, y, threshold_mm, "procrustes")
        else:
            ears = [lower.index(n) for n in ("left_ear", "right_ear") if n in lower]
            row["pck2d"] = metrics.pck2d(x, y, 0.5, head=tuple(ears)) if len(ears) == 2 \
                else metrics.pck2d(x, y, 0.1)
        rows.append(row)
        pj = metrics.per_joint(x, y, "root" if is3d else "none", root_idx)
        per[a] = {n: float(v) for n, v in zip(names, pj, strict=True)}
    if not rows:
        raise InputError(f"no person of {p.source.name} shares a frame with one of "
                         f"{g.source.name}")
    warnings = []
    if is3d and "world" in {p.space, g.space} and p.space != g.space:
        warnings.append(f"{(p if p.space != 'world' else g).source.name} is in its camera's "
                        "axes (BlazePose's world landmarks, or lifted), the other in the "
                        "world's: only PA-MPJPE is meaningful (--calibration turns it by the "
                        "camera's rotation first)")
    if never:
        warnings.append(f"never present in both, left out: {', '.join(never)}")
    rp, rg = recordings(p.source), recordings(g.source)
    if rp and rg and not rp & rg:
        warnings.append(f"{p.source.parent.name}/{p.source.name} was made from "
                        f"{', '.join(sorted(rp))} and {g.source.parent.name}/{g.source.name} "
                        f"from {', '.join(sorted(rg))}: not the same recording? (frames "
                        "are paired by time alone)")
    return Evaluation(rows, per, tuple(names), "mm" if is3d else "px", tuple(warnings))
