"""Conditioning images for human image animation from a fitted body sequence.

:func:`render_body` draws, for each fitted frame and one camera, the maps that
Champ-style animation models take (depth, surface normal, body-part semantic
maps; :mod:`posestack.render.mesh`), the OpenPose/DWPose skeleton image of the
body's keypoints (:func:`~posestack.render.openpose.draw_openpose`) and the mesh
overlaid on the video, as PNG sequences (``<map>/000000.png``, named by video
frame) and H.264 mp4s (``<map>.mp4``).

Motion transfer (a reference person's shape driven by this motion) is the same
call with the transferred parameters (:func:`~posestack.body.transfer.transfer_motion`).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..io.media import frames_by_index
from ..multiview.calibration import Camera

log = logging.getLogger(__name__)

__all__ = ["ANIMATION_MAPS", "crop_camera", "person_box", "render_body", "skeleton_image"]

#: Maps :func:`render_body` can write.
ANIMATION_MAPS = ("depth", "normal", "semantic", "skeleton", "overlay")


def skeleton_image(keypoints: np.ndarray, names: Sequence[str], camera: Camera,
                   size: tuple[int, int] | None = None) -> np.ndarray:
    """A DWPose/ControlNet-style skeleton image of 3D keypoints seen by a camera.

    Args:
        keypoints: ``(K, 3)`` or ``(P, K, 3)`` world metres (NaN where missing).
        names: the K keypoint names (posestack's; those of COCO-WholeBody are drawn:
            body, hands and face when present).
        camera: the camera (distortion applied).
        size: (width, height) to draw at instead of ``camera.size``.

    Returns:
        uint8 RGB ``(H, W, 3)``.
    """
    from ..skeletons import get_skeleton
    from .mesh import project_vertices, resized_camera
    from .openpose import draw_openpose

    kp = np.asarray(keypoints, float)
    if kp.ndim == 2:
        kp = kp[None]
    if kp.ndim != 3 or kp.shape[1:] != (len(names), 3):
        raise InputError(f"keypoints must be (K, 3) or (P, K, 3) with K={len(names)}; got "
                         f"{np.shape(keypoints)}")
    cam = resized_camera(camera, size) if size is not None else camera
    wb = get_skeleton("coco_wholebody133").keypoints
    index = {n: i for i, n in enumerate(wb)}
    coords = np.full((len(kp), len(wb), 2), np.nan)
    for p, pts in enumerate(kp):
        ok = np.isfinite(pts).all(1)
        uv = np.full((len(pts), 2), np.nan)
        if ok.any():
            xyz = pts[ok]
            in_front = (xyz @ cam.R.T + cam.t)[:, 2] > 1e-2
            uv_ok, _ = project_vertices(xyz, cam)
            uv_ok[~in_front] = np.nan
            uv[ok] = uv_ok
        for k, n in enumerate(names):
            if n in index:
                coords[p, index[n]] = uv[k]
    scores = np.isfinite(coords).all(-1).astype(float)
    w, h = cam.size
    return draw_openpose((h, w), coords, scores)


def crop_camera(camera: Camera, box: tuple[int, int, int, int]) -> Camera:
    """The camera seeing only the pixel box ``(x0, y0, width, height)`` of ``camera``'s
    image (the box may extend past the image): the principal point moves by ``(-x0, -y0)``,
    the image size becomes the box's; focal lengths and distortion are unchanged."""
    x0, y0, w, h = (int(v) for v in box)
    if w <= 0 or h <= 0:
        raise InputError(f"crop box needs a positive size; got {box}")
    K = np.array(camera.K, float)
    K[0, 2] -= x0
    K[1, 2] -= y0
    return Camera(camera.name, K, camera.dist, camera.R, camera.t, (w, h), camera.fisheye)


def person_box(vertices: np.ndarray, camera: Camera, margin: float = 0.1,
               square: bool = True) -> tuple[int, int, int, int]:
    """A fixed pixel box ``(x0, y0, width, height)`` holding the bodies in every frame.

    Args:
        vertices: ``(T, V, 3)`` or ``(T, P, V, 3)`` world metres (NaN: absent).
        camera: the camera.
        margin: extra space on each side, as a fraction of the box's larger side.
        square: make the box square (animation models take square crops), centred on
            the bodies.
    """
    from .mesh import project_vertices

    v = np.asarray(vertices, float).reshape(-1, np.shape(vertices)[-2], 3)
    pts = v[:, :: max(1, v.shape[1] // 800)].reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(1)]
    if not len(pts):
        raise InputError("no body vertices to frame")
    uv, depth = project_vertices(pts, camera)
    uv = uv[np.isfinite(uv).all(1) & (depth > 0)]
    if not len(uv):
        raise InputError(f"the bodies are never in front of camera {camera.name!r}")
    lo, hi = uv.min(0), uv.max(0)
    side = (hi - lo) * (1 + 2 * margin)
    if square:
        side = np.full(2, side.max())
    x0, y0 = (lo + hi) / 2 - side / 2
    return round(x0), round(y0), max(1, round(side[0])), max(1, round(side[1]))


def _fit_frame(rgb: np.ndarray, calib_size: tuple[int, int], size: tuple[int, int],
               box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """A video frame at the render size: padded at the right/bottom to the calibration's
    size when the codec cropped it (as the calibration does), cut to ``box`` (black
    outside the image), then resized."""
    cw, ch = calib_size
    h, w = rgb.shape[:2]
    if (w, h) != (cw, ch) and w <= cw and h <= ch:
        rgb = cv2.copyMakeBorder(rgb, 0, ch - h, 0, cw - w, cv2.BORDER_CONSTANT, value=0)
    if box is not None:
        x0, y0, bw, bh = box
        h, w = rgb.shape[:2]
        pad = max(0, -x0, -y0, x0 + bw - w, y0 + bh - h)
        if pad:
            rgb = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        rgb = rgb[y0 + pad:y0 + pad + bh, x0 + pad:x0 + pad + bw]
    if rgb.shape[:2] != (size[1], size[0]):
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb


def render_body(vertices: np.ndarray, faces: np.ndarray, camera: Camera,
                out: str | os.PathLike, *, maps: Sequence[str] = ANIMATION_MAPS,
                frames: np.ndarray | None = None, keypoints: np.ndarray | None = None,
                keypoint_names: Sequence[str] = (), vertex_labels: np.ndarray | None = None,
                video: str | os.PathLike | None = None, size: tuple[int, int] | None = None,
                crop: tuple[int, int, int, int] | None = None, video_offset: int = 0,
                fps: float = 30.0, progress: bool = False,
                video_autorotate: bool = True) -> dict[str, Path]:
    """Write PNG sequences and mp4s of the asked-for maps of a body sequence.

    Args:
        vertices: ``(T, V, 3)`` world metres, or ``(T, P, V, 3)`` for several people
            drawn together (z-buffered against each other; NaN: absent in that frame).
        faces: ``(F, 3)``.
        camera: the camera (its world is that of ``vertices``).
        out: folder; writes ``out/<map>/<frame:06d>.png`` and ``out/<map>.mp4``.
        maps: among :data:`ANIMATION_MAPS`.
        frames: ``(T,)`` video frame index of each step (names the PNGs; picks the
            video frames of the overlay). Default ``0..T-1``.
        keypoints: ``(T, K, 3)`` or ``(T, P, K, 3)`` world metres, for the skeleton map.
        keypoint_names: their names.
        vertex_labels: ``(V,)`` part labels (:mod:`posestack.body.parts`) for the
            semantic map.
        video: the camera's video, for the overlay (frames it lacks are drawn on black).
        size: (width, height) to render at (the camera is rescaled); default the
            camera's image size (or the crop's).
        crop: a pixel box ``(x0, y0, width, height)`` of the camera's image to render
            (:func:`person_box`); ``size`` then applies to the box.
        video_offset: the video's frame for step ``i`` is ``frames[i] + video_offset``
            (a multi-view bundle's camera offset); the PNGs keep ``frames[i]``.
        fps: frame rate of the mp4s.
        progress: show a progress bar (frames/s, ETA).
        video_autorotate: turn the video's frames as its display matrix asks (as
            displayed), else use them as stored; follow how the keypoints the body
            was fitted to were made (the bundle's ``parameters.autorotate``).

    Returns:
        ``{map: mp4 path}``. Each map is written to ``<map>.part`` names first and
        renamed at the end, so an error leaves earlier results untouched.

    Raises:
        InputError: unknown map, missing inputs for a map, wrong shapes.
    """
    from ..io.media import VideoWriter
    from .mesh import render_maps, resized_camera

    maps = [maps] if isinstance(maps, str) else list(maps)
    unknown = [m for m in maps if m not in ANIMATION_MAPS]
    if unknown or not maps:
        raise InputError(f"unknown map(s) {unknown or maps}; choose from "
                         f"{', '.join(ANIMATION_MAPS)}")
    v = np.asarray(vertices, np.float32)
    if v.ndim == 3:
        v = v[:, None]
    if v.ndim != 4 or v.shape[3] != 3:
        raise InputError(f"vertices must be (T, V, 3) or (T, P, V, 3); got {v.shape}")
    T, n_people = v.shape[:2]
    faces = np.asarray(faces)
    frames = np.arange(T) if frames is None else np.asarray(frames, int)
    if frames.shape != (T,):
        raise InputError(f"frames must have shape ({T},); got {frames.shape}")
    kp = None
    if "skeleton" in maps:
        kp = None if keypoints is None else np.asarray(keypoints, float)
        if kp is not None and kp.ndim == 3:
            kp = kp[:, None]
        if kp is None or kp.shape[:2] != (T, n_people) or kp.shape[2] != len(keypoint_names):
            raise InputError("the skeleton map needs keypoints (T, K, 3) or (T, P, K, 3) and "
                             "their K names")
    present = np.isfinite(v).all((2, 3))          # (T, P): a person's mesh in that frame
    if "semantic" in maps and vertex_labels is None:
        raise InputError("the semantic map needs vertex_labels "
                         "(posestack.body.parts.anny_part_labels)")
    if "overlay" in maps and video is None:
        log.warning("no video for the overlay: the mesh is drawn on black")
    base = crop_camera(camera, crop) if crop is not None else camera
    cam = resized_camera(base, size) if size is not None else base
    w, h = cam.size
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    parts = {m: out / f"{m}.part" for m in maps}
    for d in parts.values():
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    mesh_maps = [m for m in maps if m in ("depth", "normal", "semantic", "overlay")]
    field = {"depth": "depth_image", "normal": "normal_image", "semantic": "semantic_image",
             "overlay": "overlay_image"}
    bar = None
    if progress:
        from ..progress import progress_bar

        bar = progress_bar(T, "render", unit="frame")
    written: dict[str, Path] = {}
    writers: dict[str, VideoWriter] = {}
    try:
        tmp_videos = {}
        for m in maps:
            tmp_videos[m] = out / f".{m}.mp4.part"
            writers[m] = VideoWriter(tmp_videos[m], w, h, fps)
        t_start = time.perf_counter()
        for i, (_, rgb) in enumerate(frames_by_index(video if "overlay" in maps else None,
                                             frames + int(video_offset), video_autorotate)):
            f = int(frames[i])
            images: dict[str, np.ndarray] = {}
            if mesh_maps:
                frame = None
                if "overlay" in maps:
                    frame = np.zeros((h, w, 3), np.uint8) if rgb is None else _fit_frame(
                        rgb, camera.size, (w, h), crop)
                who = np.flatnonzero(present[i])
                if who.size:
                    nv = v.shape[2]
                    res = render_maps(
                        v[i, who].reshape(-1, 3),
                        np.concatenate([faces + k * nv for k in range(who.size)]), cam,
                        maps=mesh_maps, frame=frame,
                        vertex_labels=None if vertex_labels is None else np.tile(
                            vertex_labels, who.size))
                    for m in mesh_maps:
                        images[m] = getattr(res, field[m])
                else:                                  # nobody in this frame
                    for m in mesh_maps:
                        images[m] = frame if m == "overlay" else np.zeros((h, w, 3), np.uint8)
            if kp is not None:
                images["skeleton"] = skeleton_image(kp[i], keypoint_names, cam)
            for m, img in images.items():
                cv2.imwrite(str(parts[m] / f"{f:06d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
                writers[m].write(img)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(fps=f"{(i + 1) / (time.perf_counter() - t_start):.1f}")
        for wr in writers.values():
            wr.close()
        for m in maps:
            final = out / m
            if final.exists():
                shutil.rmtree(final)
            os.replace(parts[m], final)
            os.replace(tmp_videos[m], out / f"{m}.mp4")
            written[m] = out / f"{m}.mp4"
    except BaseException:
        for wr in writers.values():
            try:
                wr.close()
            except Exception:  # the original error matters, not this one
                log.debug("closing a video writer after an error failed", exc_info=True)
        for d in parts.values():
            shutil.rmtree(d, ignore_errors=True)
        for m in maps:
            (out / f".{m}.mp4.part").unlink(missing_ok=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return written
