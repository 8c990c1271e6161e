"""From 2D keypoints in several calibrated cameras to 3D people.

:func:`reconstruct` aligns the views in time (per-camera frame offsets),
undistorts the 2D points, groups the detections of each frame into people, one
group per person (:func:`~posestack.multiview.associate.associate`), links the
people through time and makes their left/right labels consistent
(:func:`~posestack.multiview.link.link_people`,
:func:`~posestack.multiview.link.orient_people`) and triangulates every keypoint
of every person and frame in one vectorised call
(:func:`~posestack.multiview.triangulate.triangulate`: confidence-weighted DLT
with exclusion of outlier views), with the left and right keypoints of the
detections found mirrored exchanged first.

Conventions: world metres, right-handed, as the calibration's world (Z up for
the Pose2Sim/Qualisys sample); pixels are image pixels of each camera.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..poses import Poses
from ..skeletons import Skeleton
from .associate import Landmarks, associate
from .calibration import Calibration
from .link import join_rows, link_people, orient_people
from .triangulate import triangulate

_CORE_NAMES = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")


@dataclass(frozen=True)
class Reconstruction:
    """3D people from several cameras.

    ``poses``: ``(T, Q, K, 3)`` world metres, ``tracked`` (Q = identity);
    scores are the mean 2D score of the views used (0 where not triangulated).
    ``error``: ``(T, Q, K)`` mean reprojection error over the views used, px.
    ``n_views``: ``(T, Q, K)`` views used. ``groups``: ``(T, Q, C)`` detection
    index of each person in each camera's 2D (−1: not used).
    ``frames``: ``(T,)`` common frame index (camera frame − its offset).
    ``camera_use``: per camera, the share of the points it detected (score ≥
    ``min_score``, in a person's group) that it was used for after outlier
    rejection; a camera far below the others is out of sync or miscalibrated.
    ``swaps``: per camera, frames in which a left/right side group was swapped
    back before triangulation (``{camera: {group: frames}}``, see
    :func:`posestack.swaps.fix_swaps_multiview`).
    ``mirrored``: ``(T, Q, C)`` bool, the detections whose left and right keypoints
    were exchanged before triangulation (a detector's side swap).
    ``merged``: groups merged into another as a second view of the same person.
    """

    poses: Poses
    error: np.ndarray
    n_views: np.ndarray
    groups: np.ndarray
    frames: np.ndarray
    cameras: tuple[str, ...]
    camera_use: dict[str, float]
    mirrored: np.ndarray | None = None
    merged: int = 0
    swaps: dict[str, dict[str, int]] = field(default_factory=dict)


def core_keypoints(skeleton: Skeleton) -> list[int]:
    """Keypoints used to associate people: shoulders and hips when the layout has them."""
    names = [n for n in _CORE_NAMES if n in skeleton.keypoints]
    return [skeleton.index(n) for n in names] if len(names) >= 2 else list(range(len(skeleton)))


def landmarks(skeleton: Skeleton) -> Landmarks:
    """The :class:`~posestack.multiview.associate.Landmarks` of a layout.

    Core: :func:`core_keypoints`. Body: the layout's ``body`` part (all keypoints when
    it has none), without points whose mirror is outside it. Flip: the layout's
    left/right table, None when the core has no sides.
    """
    core = core_keypoints(skeleton)
    flip = tuple(skeleton.flip)
    part = set(skeleton.parts.get("body", range(len(skeleton))))
    body = tuple(k for k in sorted(part) if flip[k] in part)
    sided = all(flip[k] in core for k in core) and any(flip[k] != k for k in core)
    return Landmarks(tuple(core), body, flip if sided else None)


def _timeline(views: Sequence[Poses], frames: Sequence[np.ndarray],
              offsets: Sequence[int]) -> np.ndarray:
    allf = [np.asarray(f, np.int64) - o for f, o in zip(frames, offsets, strict=True)]
    return np.unique(np.concatenate(allf)) if allf else np.zeros(0, np.int64)


def reconstruct(views: Sequence[Poses], calibration: Calibration, *,
                frames: Sequence[np.ndarray] | None = None,
                offsets: Mapping[str, int] | None = None, fps: float | None = None,
                min_views: int = 2, max_error: float = 15.0, min_score: float = 0.3,
                association_error: float = 20.0, max_distance: float = 1.0,
                max_age: float = 1.0, same_person: float = 0.15,
                fix_swaps: bool = True) -> Reconstruction:
    """Triangulate people seen by several calibrated cameras.

    Args:
        views: per camera 2D :class:`Poses` ``(T_c, P_c, K, 2)`` in pixels, same
            skeleton, in the order of ``calibration``'s cameras.
        calibration: the cameras (:func:`~posestack.multiview.calibration.match_videos`
            orders a calibration like the videos).
        frames: per camera the source frame index of each time step (default
            ``0..T_c−1``).
        offsets: frames to subtract from a camera's frame index so that equal
            indices are simultaneous (``{"cam02": 3}``: cam02's frame 3 is
            everyone else's frame 0).
        fps: frame rate for the output times (default: from the first view).
        min_views, max_error, min_score: triangulation (views, px, 2D score).
        association_error: largest reprojection error (px) of a person's group.
        max_distance, max_age: linking people through time (m, s).
        same_person: two groups of detections whose body keypoints lie closer than this
            (m, median), as labelled or with left and right exchanged, are one person:
            merged in a frame, never two identities (0: never merged).
        fix_swaps: swap back left/right side groups that a minority of the cameras
            labelled the other way round (:func:`posestack.swaps.fix_swaps_multiview`).

    Returns:
        :class:`Reconstruction`.

    Raises:
        InputError: views and cameras do not match (count, skeleton), bad offsets.
    """
    c = len(calibration)
    if len(views) != c:
        raise InputError(f"{len(views)} views for a calibration of {c} cameras "
                         f"({', '.join(calibration.names)}); give one video or 2D folder per "
                         "camera")
    if c < 2:
        raise InputError("3D needs at least 2 calibrated cameras")
    skel = views[0].skeleton
    for cam, v in zip(calibration.names, views, strict=True):
        if v.skeleton != skel:
            raise InputError(f"camera {cam} has 2D in the {v.skeleton.name} layout, the "
                             f"others in {skel.name}; use one layout for every camera")
        if v.dim != 2:
            raise InputError(f"camera {cam}: 2D keypoints expected, got D={v.dim}")
    frames = [np.arange(v.n_frames) if frames is None else np.asarray(frames[i])
              for i, v in enumerate(views)]
    offsets = dict(offsets or {})
    unknown = set(offsets) - set(calibration.names)
    if unknown:
        raise InputError(f"--offset names unknown cameras {sorted(unknown)}; cameras: "
                         f"{', '.join(calibration.names)}")
    offs = [int(offsets.get(n, 0)) for n in calibration.names]
    common = _timeline(views, frames, offs)
    t_all = len(common)
    k = len(skel)
    pos = {f: i for i, f in enumerate(common)}
    # per camera (T_all, P_c, K, 2) ideal pixels and (T_all, P_c, K) scores
    xy_c, sc_c = [], []
    for cam, v, fr, o in zip(calibration.cameras, views, frames, offs, strict=True):
        rows = np.array([pos[f - o] for f in fr], np.int64)
        xy = np.full((t_all, v.n_people, k, 2), np.nan)
        sc = np.zeros((t_all, v.n_people, k))
        xy[rows] = cam.undistort(v.coords.astype(np.float64))
        sc[rows] = v.scores
        xy_c.append(xy)
        sc_c.append(sc)
    P = calibration.projections()
    marks = landmarks(skel)
    assoc = associate(xy_c, sc_c, P, marks, min_views=min_views,
                      max_error=association_error, min_score=min_score,
                      same_person=same_person)
    rate = fps
    if rate is None:
        dt = np.diff(views[0].times)
        rate = 1.0 / float(np.median(dt)) if len(dt) and np.median(dt) > 0 else 30.0
    times = common / rate
    rel = times - times[0] if t_all else times
    twin = marks.twin("body")
    ids_t = link_people(assoc.body, rel, max_distance=max_distance, max_age=max_age,
                        same_person=same_person, twin=twin)
    ids_t, groups_t, flags_t, body_t = join_rows(ids_t, assoc.groups, assoc.mirrored,
                                                 assoc.body, twin)
    if twin is not None:
        flags_t = orient_people(ids_t, body_t, flags_t, groups_t, twin, rel,
                                max_gap=max(0.1, 2.5 / rate))
    q = max([0, *(int(i.max()) + 1 for i in ids_t if len(i))])
    groups = np.full((t_all, q, c), -1, np.int64)
    mirrored = np.zeros((t_all, q, c), bool)
    for ti, (g, ids, fl) in enumerate(zip(groups_t, ids_t, flags_t, strict=True)):
        for row, ident, f in zip(g, ids, fl, strict=True):
            groups[ti, ident] = row
            mirrored[ti, ident] = f & (row >= 0)
    # gather (C, T, Q, K, 2) and triangulate everything at once
    gx = np.full((c, t_all, q, k, 2), np.nan)
    gs = np.zeros((c, t_all, q, k))
    for ci in range(c):
        tt, qq = np.nonzero(groups[:, :, ci] >= 0)
        det = groups[tt, qq, ci]
        order = np.where(mirrored[tt, qq, ci][:, None], np.asarray(skel.flip)[None],
                         np.arange(k)[None])                             # (n, K)
        gx[ci, tt, qq] = np.take_along_axis(xy_c[ci][tt, det], order[..., None], axis=1)
        gs[ci, tt, qq] = np.take_along_axis(sc_c[ci][tt, det], order, axis=1)
    swaps: dict[str, dict[str, int]] = {}
    if fix_swaps:
        from ..swaps import fix_swaps_multiview, swap_counts

        gx, gs, swapped = fix_swaps_multiview(gx, gs, P, skel, min_score=min_score)
        swaps = swap_counts(swapped, list(calibration.names))
    tri = triangulate(gx, gs, P, min_score=min_score, min_views=min_views, max_error=max_error)
    used = tri.used
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(tri.n_views > 0, (gs * used).sum(0) / np.maximum(tri.n_views, 1), 0.0)
    score = np.clip(np.nan_to_num(score), 0.0, 1.0)
    poses = Poses(skel, tri.points.astype(np.float32), score.astype(np.float32), times, "world",
                  tracked=True, meta={"cameras": list(calibration.names),
                                      "triangulation": {"min_views": min_views,
                                                        "max_error_px": max_error,
                                                        "min_score": min_score}})
    seen = (gs >= min_score) & np.isfinite(gx).all(-1) & (tri.n_views > 0)[None]
    use = {name: float(used[ci].sum() / max(int(seen[ci].sum()), 1))
           for ci, name in enumerate(calibration.names)}
    return Reconstruction(poses, tri.error.astype(np.float32), tri.n_views.astype(np.int16),
                          groups, common, tuple(calibration.names), use, mirrored,
                          assoc.merged, swaps)


def bone_length_cv(poses: Poses) -> dict[str, float]:
    """Coefficient of variation (std / mean over frames) of each edge's length, per person 0.

    Returns ``{"a-b": cv}`` for the skeleton's edges seen in at least 3 frames.
    """
    out = {}
    if poses.n_people == 0:
        return out
    names = poses.skeleton.keypoints
    for a, b in poses.skeleton.edges:
        d = np.linalg.norm(poses.coords[:, 0, a] - poses.coords[:, 0, b], axis=-1)
        d = d[np.isfinite(d)]
        if len(d) >= 3 and d.mean() > 0:
            out[f"{names[a]}-{names[b]}"] = float(d.std() / d.mean())
    return out


def people_report(rec: Reconstruction, min_share: float = 0.8,
                  ) -> tuple[dict, list[str]]:
    """Who each camera sees, and warnings where cameras or times disagree on the count.

    For every frame, the people in 3D and, per camera, how many of them that
    camera saw separately (its 2D detection joined their group). A camera that
    sees fewer people than the 3D holds in more than ``1 − min_share`` of the
    frames has people hidden or merged with another in its view (they are
    reconstructed from the other cameras); the number of 3D people changing over
    the trial is reported too.

    Returns ``(summary, warnings)``: ``summary = {"per_frame_3d": {n: frames},
    "cameras": {cam: share of (frame, person) pairs seen}, "left_right_swaps": {cam:
    detections used with left and right exchanged}, "groups_merged": n}``
    (:class:`Reconstruction`'s ``mirrored`` and ``merged``).
    """
    present = rec.poses.present()                       # (T, Q)
    n3 = present.sum(axis=1)                            # (T,)
    seen = (rec.groups >= 0) & present[:, :, None]      # (T, Q, C)
    counts = np.bincount(n3, minlength=1) if n3.size else np.zeros(1, np.int64)
    summary: dict = {"per_frame_3d": {str(i): int(c) for i, c in enumerate(counts) if c},
                     "cameras": {}}
    if rec.mirrored is not None:
        summary["left_right_swaps"] = {cam: int(rec.mirrored[:, :, c].sum())
                                       for c, cam in enumerate(rec.cameras)}
    summary["groups_merged"] = int(rec.merged)
    warnings: list[str] = []
    total = max(int(present.sum()), 1)
    for c, cam in enumerate(rec.cameras):
        share = float(seen[:, :, c].sum()) / total
        summary["cameras"][cam] = round(share, 3)
        short = (seen[:, :, c].sum(axis=1) < n3) & (n3 > 0)
        if n3.size and short.mean() > 1.0 - min_share:
            usual = int(np.median(seen[:, :, c].sum(axis=1)[short]))
            want = int(np.median(n3[short]))
            warnings.append(
                f"camera {cam} sees fewer people than the 3D holds in {short.mean():.0%} of "
                f"the frames (typically {usual} of {want}): someone is hidden or merged with "
                "another person in that view; they are reconstructed from the other cameras")
    busy = {i: int(c) for i, c in enumerate(counts) if c and i > 0}
    if len(busy) > 1:
        warnings.append("the number of people in 3D changes over the trial ("
                        + ", ".join(f"{i} in {c} frames" for i, c in sorted(busy.items()))
                        + "): people entering or leaving, or lost in some frames")
    return summary, warnings
