"""Extrinsics from scene points of known position (Pose2Sim's "scene" method, without
clicking in a window: the points file is the input).

A points file (TOML) gives the world coordinates of a few marked points (metres, Z up:
the corners of a floor tile, the feet of a calibration frame) and, per camera, where each
point is in that camera's image (pixels as recorded, distortion included)::

    [world]
    origin = [0.0, 0.0, 0.0]
    x1 = [1.0, 0.0, 0.0]
    y1 = [0.0, 1.0, 0.0]
    pole = [1.0, 1.0, 0.5]

    [pixels.cam01]
    origin = [512.0, 1630.5]
    x1 = [780.2, 1500.0]
    y1 = [320.9, 1410.4]
    pole = [610.0, 1200.8]

A camera needs at least four points (six or more, spread over the scene and not all on one
line, give a better fit). :func:`camera_from_points` solves OpenCV's PnP (SQPnP, then
Levenberg–Marquardt) with the camera's intrinsics and reports the RMS reprojection error.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..multiview.calibration import Camera

MIN_POINTS = 4


@dataclass
class ScenePoints:
    """World points (name → (3,) metres) and, per camera, name → (2,) pixels."""

    world: dict[str, np.ndarray]
    pixels: dict[str, dict[str, np.ndarray]]


def _pair(v, n: int, what: str, path: Path) -> np.ndarray:
    if not (isinstance(v, list) and len(v) == n and all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            for x in v)):
        raise InputError(f"{path}: {what} must be {n} numbers, e.g. "
                         f"{[0.0] * n}; got {v!r}")
    return np.asarray(v, np.float64)


def read_points(path: str | Path) -> ScenePoints:
    """Read a points file (see the module docstring).

    Raises:
        InputError: no such file, not TOML, no ``[world]`` or ``[pixels.CAM]`` table, a
            coordinate that is not 3 (world) or 2 (pixel) finite numbers, a pixel of a point
            the world does not name.
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: no such points file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: not a TOML points file ({e}); see 'posestack calibrate "
                         "extrinsics --help' for its layout") from None
    world_t = data.get("world")
    pixels_t = data.get("pixels")
    if not isinstance(world_t, dict) or not world_t:
        raise InputError(f"{p}: no [world] table of named points (name = [x, y, z] metres)")
    if not isinstance(pixels_t, dict) or not pixels_t:
        raise InputError(f"{p}: no [pixels.CAMERA] tables (name = [x, y] pixels)")
    world = {k: _pair(v, 3, f"world point {k}", p) for k, v in world_t.items()}
    pixels: dict[str, dict[str, np.ndarray]] = {}
    for cam, table in pixels_t.items():
        if not isinstance(table, dict):
            raise InputError(f"{p}: [pixels.{cam}] must be a table of name = [x, y]")
        unknown = sorted(set(table) - set(world))
        if unknown:
            raise InputError(f"{p}: camera {cam} gives pixels of {unknown}, which [world] "
                             "does not name")
        pixels[cam] = {k: _pair(v, 2, f"pixel of {k} in {cam}", p) for k, v in table.items()}
    return ScenePoints(world, pixels)


def camera_from_points(camera: Camera, world: np.ndarray, pixels: np.ndarray,
                       names: list[str] | None = None) -> tuple[Camera, np.ndarray]:
    """The camera's rotation and translation from known points it sees.

    Args:
        camera: intrinsics (K, distortion, size); its R, t are ignored.
        world: ``(N, 3)`` points in metres.
        pixels: ``(N, 2)`` where the camera sees them, pixels as recorded.
        names: the points' names, for messages.

    Returns:
        the camera with its R, t, and ``(N,)`` reprojection errors in pixels.

    Raises:
        InputError: fewer than four points, all on one line, a pixel outside the image,
            or no solution in front of the camera.
    """
    names = names or [str(i) for i in range(len(world))]
    w, h = camera.size
    if len(world) < MIN_POINTS:
        raise InputError(f"camera {camera.name}: {len(world)} points ({', '.join(names)}); "
                         f"at least {MIN_POINTS} are needed, six or more spread over the scene "
                         "are better")
    out = [n for n, (x, y) in zip(names, pixels, strict=True)
           if not (-0.5 <= x <= w - 0.5 and -0.5 <= y <= h - 0.5)]
    if out:
        raise InputError(f"camera {camera.name}: points {out} lie outside its {w}×{h} image: "
                         "are the pixels of another camera, or of a rotated image?")
    c = world - world.mean(0)
    if np.linalg.svd(c, compute_uv=False)[1] < 1e-6 * max(1.0, float(np.abs(c).max())):
        raise InputError(f"camera {camera.name}: the points {names} lie on one line: the "
                         "camera cannot be placed; add points off that line")
    if camera.fisheye:
        und = camera.undistort(pixels).reshape(-1, 1, 2)
        K, dist = camera.K, np.zeros(4)
    else:
        und = pixels.reshape(-1, 1, 2)
        K, dist = camera.K, camera.dist
    obj = world.reshape(-1, 1, 3).astype(np.float64)
    ok, rvec, tvec = cv2.solvePnP(obj, und.astype(np.float64), K, dist,
                                  flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        raise InputError(f"camera {camera.name}: no camera pose fits these points")
    rvec, tvec = cv2.solvePnPRefineLM(obj, und.astype(np.float64), K, dist, rvec, tvec)
    R = cv2.Rodrigues(rvec)[0]
    cam = Camera(camera.name, camera.K, camera.dist, R, tvec.ravel(), camera.size,
                 camera.fisheye)
    if (cam.to_camera(world)[:, 2] <= 0).any():
        raise InputError(f"camera {camera.name}: the best fit puts points behind the camera: "
                         "check that each pixel belongs to the point of that name")
    err = np.linalg.norm(cam.project(world) - pixels, axis=1)
    return cam, err



def require_charuco(board) -> None:
    """Refuse a board that cannot place several cameras in one world.

    Raises:
        InputError: a checkerboard (its corner order can flip by 180° between cameras).
    """
    from .boards import CharucoBoard

    if not isinstance(board, CharucoBoard):
        raise InputError("a checkerboard cannot place several cameras in one world (its "
                         "corner order can flip by 180° from one camera to the next): use a "
                         "ChArUco board (--board charuco:...) or scene points (--points)")


def cameras_from_board(cameras: list[Camera], images: list[np.ndarray], board
                       ) -> list[tuple[Camera, float, int]]:
    """Each camera's pose from one image of a ChArUco board that defines the world.

    The world is the board's own frame (OpenCV's: the origin at the outer corner of the
    board's first square, X along its rows as printed), turned if need be so that Z points
    out of the board on the cameras' side: a board lying face up on the floor gives Z up,
    and then Y runs up the print's columns.

    Args:
        cameras: intrinsics per camera (R, t ignored).
        images: one grey or RGB uint8 image per camera showing the board.
        board: a :class:`~posestack.calibrate.boards.CharucoBoard` (a checkerboard's
            corner order can flip by 180° between cameras, so it cannot define one world).

    Returns:
        per camera ``(camera with R and t, RMS reprojection error px, corners used)``.

    Raises:
        InputError: a checkerboard, or a camera whose image shows fewer than 6 corners.
    """
    from .boards import find_charuco, gray

    require_charuco(board)
    placed = []
    for cam, img in zip(cameras, images, strict=True):
        g = gray(img)
        if (g.shape[1], g.shape[0]) != tuple(cam.size):
            raise InputError(f"camera {cam.name}: its image is {g.shape[1]}×{g.shape[0]}, its "
                             f"intrinsics {cam.size[0]}×{cam.size[1]}")
        found = find_charuco(g, board)
        if found is None:
            raise InputError(f"camera {cam.name}: the board {board} was not found (6 corners "
                             "needed): check the board's squares, marker size and dictionary")
        corners, ids = found
        world = board.corners[ids].astype(np.float64)
        c, err = camera_from_points(cam, world, corners.astype(np.float64),
                                    [f"corner {i}" for i in ids])
        placed.append((c, float(np.sqrt(np.mean(err ** 2))), len(ids)))
    # Z towards the cameras: turn the world 180° about X if they are below the board
    if np.mean([c.center[2] for c, _, _ in placed]) < 0:
        flip = np.diag([1.0, -1.0, -1.0])
        placed = [(Camera(c.name, c.K, c.dist, c.R @ flip, c.t, c.size, c.fisheye), e, n)
                  for c, e, n in placed]
    return placed


__all__ = ["ScenePoints", "camera_from_points", "cameras_from_board", "read_points",
           "require_charuco"]
