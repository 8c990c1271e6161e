"""Intrinsics (K and distortion) of one camera from views of a checkerboard.

:func:`calibrate_intrinsics` takes the views of one camera (images, or frames sampled
from a video), finds the board in each (:func:`~posestack.calibrate.boards.find_corners`),
skips blurred views (edges wider than a tenth of a square:
:func:`~posestack.calibrate.boards.edge_blur`) and near-duplicates (every corner within
1% of the image diagonal of a view already kept), fits OpenCV's model
(``calibrateCameraExtended``; ``fisheye`` for the fisheye model),
drops views whose RMS reprojection error is an outlier (over 3× the median and over
0.5 px) and fits again. Its result's ``warnings`` say when the board never reached parts of
the image (the distortion there is extrapolated); the command line prints them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..multiview.calibration import Camera
from .boards import Board, CharucoBoard, edge_blur, find_charuco, find_corners, gray

MIN_VIEWS = 4          # views with the whole board needed for a fit
COVERAGE_GRID = 4      # the image is cut into 4 × 4 regions to judge coverage
MIN_COVERAGE = 0.5     # warn below this share of regions reached by the board
MAX_BLUR = 0.1         # edge width over square size above which a view is blurred


@dataclass
class View:
    """One view of the board: where it came from, its corners ``(N, 2)`` pixels (None:
    not found; a ChArUco board's ``ids`` say which), and after the fit its RMS
    reprojection error (pixels) and status."""

    source: str
    corners: np.ndarray | None
    blur: float = float("nan")       # edge width / square size (edge_blur; checkerboards)
    ids: np.ndarray | None = None    # ChArUco: the board corners seen (rows of its corners)
    rms: float = float("nan")
    status: str = ""     # used | not found | blurred | duplicate | outlier


@dataclass
class IntrinsicsResult:
    """A camera's fitted intrinsics and how each view fared."""

    camera: Camera
    rms: float                      # over the views used, pixels
    views: list[View]
    coverage: float                 # share of the image's regions the board reached
    warnings: list[str] = field(default_factory=list)

    @property
    def used(self) -> list[View]:
        return [v for v in self.views if v.status == "used"]


def _coverage(views: Sequence[View], size: tuple[int, int]) -> tuple[float, list[str]]:
    w, h = size
    hit = np.zeros((COVERAGE_GRID, COVERAGE_GRID), bool)
    for v in views:
        gx = np.clip((v.corners[:, 0] / w * COVERAGE_GRID).astype(int), 0, COVERAGE_GRID - 1)
        gy = np.clip((v.corners[:, 1] / h * COVERAGE_GRID).astype(int), 0, COVERAGE_GRID - 1)
        hit[gy, gx] = True
    missing = []
    for name, (ys, xs) in {"top left": (0, 0), "top right": (0, -1), "bottom left": (-1, 0),
                           "bottom right": (-1, -1)}.items():
        if not hit[ys, xs]:
            missing.append(name)
    return float(hit.mean()), missing


def _fit(views: Sequence[View], board: Board | CharucoBoard, size: tuple[int, int], fisheye: bool,
         k3: bool = False) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """RMS, K, dist and per-view RMS of OpenCV's calibration over ``views``."""
    obj = [board.corners if v.ids is None else board.corners[v.ids] for v in views]
    img = [v.corners for v in views]
    if fisheye:
        crit = (cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 100, 1e-9)
        flags = (cv2.fisheye.CALIB_RECOMPUTE_EXTRINSIC | cv2.fisheye.CALIB_FIX_SKEW
                 | cv2.fisheye.CALIB_CHECK_COND)
        try:
            rms, K, dist, rvecs, tvecs = cv2.fisheye.calibrate(
                [o.reshape(-1, 1, 3).astype(np.float64) for o in obj],
                [i.reshape(-1, 1, 2).astype(np.float64) for i in img], size, None, None,
                flags=flags, criteria=crit)
        except cv2.error as e:
            raise InputError(f"the fisheye fit failed ({str(e).strip().splitlines()[-1]}): "
                             "some views are degenerate; add views with the board tilted "
                             "and nearer the image corners") from None
        per = []
        for o, i, r, t in zip(obj, img, rvecs, tvecs, strict=True):
            p, _ = cv2.fisheye.projectPoints(o.reshape(-1, 1, 3).astype(np.float64), r, t, K,
                                             dist)
            per.append(float(np.sqrt(np.mean(np.sum((p.reshape(-1, 2) - i) ** 2, 1)))))
        return float(rms), K, dist.ravel(), np.asarray(per)
    flags = 0 if k3 else cv2.CALIB_FIX_K3
    rms, K, dist, _, _, _, _, per = cv2.calibrateCameraExtended(obj, img, size, None, None,
                                                                flags=flags)
    return float(rms), K, dist.ravel(), np.asarray(per).ravel()


def calibrate_intrinsics(frames: Iterable[tuple[str, np.ndarray]],
                         board: Board | CharucoBoard, *,
                         name: str = "cam01", fisheye: bool = False, k3: bool = False,
                         debug_dir: str | Path | None = None) -> IntrinsicsResult:
    """Fit one camera's intrinsics from views of ``board``.

    Args:
        frames: ``(source, image)`` pairs: RGB (or grey) uint8 ``(H, W[, 3])`` views of one
            camera, all the same size; ``source`` names the view in reports.
        board: the checkerboard (:func:`~posestack.calibrate.boards.parse_board`).
        name: the camera's name in the result.
        fisheye: OpenCV's fisheye model (4 coefficients) instead of the standard one (5).
        k3: fit the standard model's third radial term too. Off by default (OpenCV's advice
            for lenses that are not wide-angle): with a few views that leave the image's
            corners uncovered, k3 takes wild values (±0.7–1.3 on Pose2Sim's sample boards)
            that bend the edges of the image.
        debug_dir: when given, each view with its detected corners is saved there as PNG.

    Returns:
        the fitted :class:`~posestack.multiview.calibration.Camera` (R = identity, t = 0:
        intrinsics only), the RMS error and every view's fate.

    Raises:
        InputError: views of different sizes, or the board found (sharp, distinct) in
            fewer than ``MIN_VIEWS`` views (the message names the views where it was not).
    """
    views: list[View] = []
    size: tuple[int, int] | None = None
    grays = []
    for source, image in frames:
        g = gray(image)
        s = (g.shape[1], g.shape[0])
        if size is None:
            size = s
        elif s != size:
            raise InputError(f"{source}: {s[0]}×{s[1]} pixels, but the other views of camera "
                             f"{name} are {size[0]}×{size[1]}: give each camera's views "
                             "separately")
        if isinstance(board, CharucoBoard):
            found = find_charuco(g, board)
            v = View(source, *(found if found else (None,))[:1])
            if found:
                v.ids = found[1]
        else:
            v = View(source, find_corners(g, board))
        v.status = "found" if v.corners is not None else "not found"
        if v.corners is not None and v.ids is None:
            v.blur = edge_blur(g, board, v.corners)
        views.append(v)
        if debug_dir is not None:
            grays.append(g)
    if size is None:
        raise InputError(f"no views of camera {name} were given")
    found = [v for v in views if v.corners is not None]
    if found:
        diag = float(np.hypot(*size))
        kept: list[View] = []
        for v in found:
            if v.blur > MAX_BLUR:
                v.status = "blurred"
            elif any(_same_view(v, k, diag) for k in kept):
                v.status = "duplicate"
            else:
                v.status = "used"
                kept.append(v)
    used = [v for v in views if v.status == "used"]
    if len(used) < MIN_VIEWS:
        missing = [v.source for v in views if v.status == "not found"]
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8
                                          else "")
        raise InputError(
            f"camera {name}: the board {board} was found in {len(found)} of {len(views)} "
            f"views ({len(used)} sharp and distinct; {MIN_VIEWS} needed)"
            + (f"; not found in: {shown}" if missing else "")
            + (". Check the board's squares count, marker size and dictionary"
               if isinstance(board, CharucoBoard) else
               ". Check the board's inner-corner count (COLSxROWS counts the corners where "
               "four squares meet) and that the whole board is in view"))
    rms, K, dist, per = _fit(used, board, size, fisheye, k3)
    med = float(np.median(per))
    out = [v for v, e in zip(used, per, strict=True) if e > 3 * med and e > 0.5]
    if out and len(used) - len(out) >= MIN_VIEWS:
        for v in out:
            v.status = "outlier"
        used = [v for v in used if v.status == "used"]
        rms, K, dist, per = _fit(used, board, size, fisheye, k3)
    for v, e in zip(used, per, strict=True):
        v.rms = float(e)
    coverage, corners_missed = _coverage(used, size)
    warnings = []
    if coverage < MIN_COVERAGE or corners_missed:
        warnings.append(
            f"camera {name}: the board reached {coverage:.0%} of the image"
            + (f" and never its {', '.join(corners_missed)} corner"
               + ("s" if len(corners_missed) > 1 else "") if corners_missed else "")
            + ": the distortion there is extrapolated; add views with the board near the "
              "image's edges and corners")
    if debug_dir is not None:
        _debug_images(Path(debug_dir), views, grays, board)
    K[0, 1] = 0.0
    cam = Camera(name, K, dist, np.eye(3), np.zeros(3), size, fisheye=fisheye)
    return IntrinsicsResult(cam, rms, views, coverage, warnings)


def _same_view(v: View, k: View, diag: float) -> bool:
    """Whether two views show the board in (nearly) the same place: every corner they
    share within 1% of the image diagonal (a ChArUco view shares most of its corners)."""
    if v.ids is None:
        return bool(np.max(np.linalg.norm(v.corners - k.corners, axis=1)) < 0.01 * diag)
    common, iv, ik = np.intersect1d(v.ids, k.ids, return_indices=True)
    if len(common) < 0.8 * max(len(v.ids), len(k.ids)):
        return False
    return bool(np.max(np.linalg.norm(v.corners[iv] - k.corners[ik], axis=1)) < 0.01 * diag)


def _debug_images(folder: Path, views: Sequence[View], grays: Sequence[np.ndarray],
                  board: Board | CharucoBoard) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (v, g) in enumerate(zip(views, grays, strict=True)):
        img = cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)
        if v.corners is not None and v.ids is not None:
            cv2.aruco.drawDetectedCornersCharuco(img, v.corners.reshape(-1, 1, 2),
                                                 v.ids.reshape(-1, 1).astype(np.int32))
        elif v.corners is not None:
            cv2.drawChessboardCorners(img, (board.cols, board.rows),
                                      v.corners.reshape(-1, 1, 2), True)
        label = v.status + (f" {v.rms:.2f} px" if np.isfinite(v.rms) else "")
        cv2.putText(img, label, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 255), 2,
                    cv2.LINE_AA)
        stem = Path(v.source).stem.replace(":", "_").replace("#", "_")
        cv2.imwrite(str(folder / f"{i:03d}_{stem}.png"), img)


__all__ = ["IntrinsicsResult", "View", "calibrate_intrinsics"]
