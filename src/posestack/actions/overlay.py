"""``actions.mp4``: each person's skeleton and current action over the video, with a
timeline of everyone's segments along the bottom (one row per person, the current time
marked)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from ..io.atomic import atomic_path
from ..poses import Poses

#: colours of the classes on the timeline (RGB), cycled
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


MARGIN = 28   # pixels left of the timeline for the person numbers


def _x(t: float, t0: float, t1: float, width: int) -> int:
    return MARGIN + (round((t - t0) / (t1 - t0) * (width - 1 - MARGIN)) if t1 > t0 else 0)


def _timeline(width: int, rec, n_people: int) -> np.ndarray:
    row = 22
    strip = np.full((row * n_people + 6, width, 3), 30, np.uint8)
    t0, t1 = float(rec.times[0]), float(rec.times[-1]) + 1e-9
    names = rec.label_names

    def x(t: float) -> int:
        return _x(t, t0, t1, width)

    for g in rec.segments:
        y = 3 + g.person * row
        colour = PALETTE[names.index(g.label) % len(PALETTE)]
        cv2.rectangle(strip, (x(g.start), y), (max(x(g.end) - 1, x(g.start)), y + row - 4),
                      colour, -1)
        cv2.putText(strip, g.label, (x(g.start) + 3, y + row - 9), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4, (255, 255, 255), 1, cv2.LINE_AA)
    for p in range(n_people):
        cv2.putText(strip, f"#{p}", (2, 3 + p * row + row - 9), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4, (200, 200, 200), 1, cv2.LINE_AA)
    return strip


def drawable(bundle: Path, poses: Poses, size: tuple[int, int] = (1280, 720)) -> Poses:
    """What :func:`render_actions` draws for ``poses`` of a bundle: 2D as they are; for 3D
    (metres, Z up), the bundle's own 2D keypoints of the same people when it has them (a
    single video's bundle), else a front view (the people's mean hip line across, z up)
    scaled into a ``size``
    ``(width, height)`` canvas (a multi-camera bundle, which has no video of its own)."""
    if poses.dim == 2:
        return poses
    if (Path(bundle) / "keypoints2d.parquet").is_file():
        from ..pipeline import read_keypoints

        flat, _ = read_keypoints(Path(bundle) / "keypoints2d.parquet")
        if flat.n_frames == poses.n_frames:
            return flat
    xyz = poses.coords.astype(np.float64)
    # seen from the front: the horizontal axis is the people's mean hip line (their left
    # on the right of the picture), the vertical axis is up (Z)
    axis = np.array([1.0, 0.0])
    names = list(poses.skeleton.keypoints)
    if "left_hip" in names and "right_hip" in names:
        hips = xyz[..., names.index("left_hip"), :2] - xyz[..., names.index("right_hip"), :2]
        mean = np.nanmean(hips.reshape(-1, 2), axis=0) if np.isfinite(hips).any() else axis
        if np.isfinite(mean).all() and np.hypot(*mean) > 1e-6:
            axis = mean / np.hypot(*mean)
    xz = np.stack([xyz[..., :2] @ axis, -xyz[..., 2]], axis=-1)
    finite = xz[np.isfinite(xz).all(-1)]
    w, h = size
    if finite.size:
        lo, hi = finite.min(0), finite.max(0)
        k = min((w - 80) / max(hi[0] - lo[0], 1e-6), (h - 80) / max(hi[1] - lo[1], 1e-6))
        xz = (xz - (lo + hi) / 2) * k + [w / 2, h / 2]
    return poses._replace(coords=xz.astype(np.float32), space="image:front")


def render_actions(bundle: str | os.PathLike, poses: Poses, rec, out: str | os.PathLike, *,
                   progress: bool = True) -> Path:
    """Draw ``rec`` (a :class:`~posestack.actions.predict.Recognition`) over the bundle's
    video (a dark canvas when the video is not found) into an H.264 ``out``."""
    from ..io.media import VideoWriter, frames_by_index
    from ..render.draw import draw_skeleton

    b = Path(bundle)
    try:
        man = json.loads((b / "manifest.json").read_text())
    except (OSError, ValueError):
        man = {}
    inp = man.get("input", {}) if isinstance(man, dict) else {}
    video = inp.get("path")
    if not (video and Path(video).is_file() and inp.get("kind") == "video"):
        video = None
    autorotate = bool(man.get("parameters", {}).get("autorotate", True)) if man else True
    w = int(inp.get("width") or 1280)
    h = int(inp.get("height") or 720)
    if video is None:
        finite = poses.coords[np.isfinite(poses.coords).all(-1)]
        if finite.size:
            w = max(w, int(finite[:, 0].max()) + 20)
            h = max(h, int(finite[:, 1].max()) + 20)
    P = poses.n_people
    strip = _timeline(w, rec, P)
    t0, t1 = float(rec.times[0]), float(rec.times[-1]) + 1e-9
    fps = float(inp.get("fps") or 0) or (1.0 / float(np.median(np.diff(rec.times)))
                                         if len(rec.times) > 1 else 30.0)
    names = rec.label_names
    present = poses.present()
    path = Path(out)
    n = len(rec.frames)
    with atomic_path(path) as tmp, VideoWriter(tmp, w, h + strip.shape[0], fps) as writer:
        for ti, (_, rgb) in enumerate(frames_by_index(video, rec.frames, autorotate)):
            img = rgb if rgb is not None else np.full((h, w, 3), 45, np.uint8)
            if img.shape[:2] != (h, w):
                img = cv2.resize(img, (w, h))
            who = np.nonzero(present[ti])[0]
            labels = []
            for p in who:
                k = int(rec.labels[ti, p])
                labels.append(f"#{p} {names[k]} {rec.probs[ti, p, k]:.0%}" if k >= 0
                              else f"#{p}")
            img = draw_skeleton(img, poses.coords[ti, who], poses.scores[ti, who],
                                poses.skeleton, threshold=0.3, labels=labels)
            s = strip.copy()
            xm = _x(float(rec.times[ti]), t0, t1, w)
            cv2.line(s, (xm, 0), (xm, s.shape[0] - 1), (255, 255, 255), 2)
            writer.write(np.vstack([img, s]))
            if progress and ti and ti % 300 == 0:
                print(f"actions overlay: {ti}/{n} frames", file=sys.stderr, flush=True)
    return path


__all__ = ["render_actions"]
