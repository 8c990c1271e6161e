"""Calibration boards: their specification, their 3D corners, and finding them in images.

A board is written ``checkerboard:COLSxROWS:SQUARE_MM`` where COLS and ROWS count the
*inner* corners (where four squares meet), in either order, as OpenCV and Pose2Sim count
them (Pose2Sim's sample board is ``checkerboard:4x7:60``). Corners are found with
OpenCV's sector-based detector (``findChessboardCornersSB``, sub-pixel accurate by
construction), falling back to the classic detector refined by ``cornerSubPix``.

A ChArUco board is written ``charuco:COLSxROWS:SQUARE_MM:MARKER_MM[:DICTIONARY]``, where
COLS and ROWS count the *squares* (as OpenCV's ``CharucoBoard`` and Anipose do) and the
dictionary is one of OpenCV's predefined ArUco dictionaries (default ``DICT_4X4_50``,
Anipose's). Its corners are found by OpenCV's ``CharucoDetector``: each corner has an id,
so a board partly out of view or hidden still counts, and its orientation is never
ambiguous.

Conventions: board corners ``(N, 3)`` float32 metres in the board's own frame (Z = 0,
row by row as OpenCV returns them); image corners ``(N, 2)`` float32 pixels.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Board:
    """A checkerboard: ``cols × rows`` inner corners, ``square`` metres apart."""

    cols: int
    rows: int
    square: float

    @property
    def corners(self) -> np.ndarray:
        """``(cols·rows, 3)`` float32 corners in metres, row by row (x along cols)."""
        x, y = np.meshgrid(np.arange(self.cols), np.arange(self.rows))
        pts = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], axis=1) * self.square
        return pts.astype(np.float32)

    def __str__(self) -> str:
        return f"checkerboard:{self.cols}x{self.rows}:{self.square * 1000:g}"


@dataclass(frozen=True)
class CharucoBoard:
    """A ChArUco board: ``cols × rows`` squares ``square`` metres wide, ArUco markers
    ``marker`` metres wide in the white squares, from the OpenCV dictionary named
    ``dictionary``."""

    cols: int
    rows: int
    square: float
    marker: float
    dictionary: str = "DICT_4X4_50"

    def cv(self):
        """OpenCV's ``cv2.aruco.CharucoBoard`` for this board."""
        return _cv_charuco(self)

    @property
    def corners(self) -> np.ndarray:
        """``((cols−1)·(rows−1), 3)`` float32 inner corners in metres, indexed by id."""
        return np.asarray(self.cv().getChessboardCorners(), np.float32).reshape(-1, 3)

    def __str__(self) -> str:
        return (f"charuco:{self.cols}x{self.rows}:{self.square * 1000:g}:"
                f"{self.marker * 1000:g}:{self.dictionary}")


@functools.lru_cache(maxsize=8)
def _cv_charuco(b: CharucoBoard):
    d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, b.dictionary))
    return cv2.aruco.CharucoBoard((b.cols, b.rows), b.square, b.marker, d)


def _parse_charuco(spec: str) -> CharucoBoard:
    m = re.fullmatch(r"\s*charuco:(\d+)[xX×](\d+):([0-9.]+):([0-9.]+)(?::(\w+))?\s*",
                     str(spec), flags=re.IGNORECASE)
    if not m:
        raise InputError(f"board {spec!r} is not of the form charuco:COLSxROWS:SQUARE_MM:"
                         "MARKER_MM[:DICTIONARY] (squares, e.g. charuco:7x5:40:30:DICT_4X4_50)")
    cols, rows = int(m.group(1)), int(m.group(2))
    try:
        sq, mk = float(m.group(3)), float(m.group(4))
    except ValueError:
        raise InputError(f"board {spec!r}: the square and marker sizes are numbers (mm)") \
            from None
    name = (m.group(5) or "DICT_4X4_50").upper()
    if not name.startswith("DICT_"):
        name = "DICT_" + name
    known = sorted(k for k in dir(cv2.aruco) if k.startswith("DICT_"))
    if name not in known:
        raise InputError(f"board {spec!r}: unknown ArUco dictionary {name}; known: "
                         f"{', '.join(known[:8])}, ...")
    if cols < 3 or rows < 3:
        raise InputError(f"board {spec!r}: a ChArUco board needs at least 3 × 3 squares")
    if not 0 < mk < sq < 10_000:
        raise InputError(f"board {spec!r}: the marker ({mk:g} mm) must be smaller than the "
                         f"square ({sq:g} mm), both > 0")
    n_markers = cols * rows // 2
    size = int(re.search(r"_(\d+)$", name).group(1)) if re.search(r"_(\d+)$", name) else 0
    if size and n_markers > size:
        raise InputError(f"board {spec!r}: {n_markers} markers, but {name} has only {size}: "
                         "use a larger dictionary (e.g. DICT_4X4_100)")
    return CharucoBoard(cols, rows, sq / 1000.0, mk / 1000.0, name)


def gray(image: np.ndarray) -> np.ndarray:
    """An RGB ``(H, W, 3)`` or grey ``(H, W)`` uint8 image as grey, for the detectors."""
    image = np.asarray(image)
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image


def find_charuco(gray: np.ndarray, board: CharucoBoard, min_corners: int = 6
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """The ChArUco corners found in a grey uint8 image: ``(M, 2)`` float32 pixels and their
    ``(M,)`` ids (rows of :attr:`CharucoBoard.corners`), or None where fewer than
    ``min_corners`` are found."""
    det = cv2.aruco.CharucoDetector(board.cv())
    corners, ids, _, _ = det.detectBoard(gray)
    if ids is None or len(ids) < min_corners:
        return None
    return np.asarray(corners, np.float32).reshape(-1, 2), np.asarray(ids).ravel()


def parse_board(spec: str) -> Board | CharucoBoard:
    """``checkerboard:COLSxROWS:SQUARE_MM`` → :class:`Board`, or
    ``charuco:COLSxROWS:SQUARE_MM:MARKER_MM[:DICT]`` → :class:`CharucoBoard` (metres).

    Raises:
        InputError: another kind of board, or sizes that make no board.
    """
    kind = str(spec).strip().split(":")[0].lower()
    if kind == "charuco":
        return _parse_charuco(spec)
    if kind in ("aruco", "circles", "asymmetric_circles"):
        raise InputError(f"board kind {kind!r} is not supported yet; use checkerboard:"
                         "COLSxROWS:SQUARE_MM or charuco:COLSxROWS:SQUARE_MM:MARKER_MM")
    m = re.fullmatch(r"\s*(\w+):(\d+)[xX×](\d+):([0-9.]+)\s*", str(spec))
    if not m:
        raise InputError(f"board {spec!r} is not of the form checkerboard:COLSxROWS:SQUARE_MM "
                         "(inner corners, e.g. checkerboard:4x7:60)")
    kind, cols, rows, square = m.group(1).lower(), int(m.group(2)), int(m.group(3)), m.group(4)
    if kind != "checkerboard":
        raise InputError(f"board kind {kind!r} is not supported yet; use checkerboard:"
                         "COLSxROWS:SQUARE_MM")
    try:
        mm = float(square)
    except ValueError:
        raise InputError(f"board {spec!r}: the square size {square!r} is not a number") from None
    if cols < 2 or rows < 2 or cols == rows:
        raise InputError(f"board {spec!r}: needs at least 2 × 2 inner corners and a different "
                         "count along each side (a square board's orientation is ambiguous)")
    if not 0 < mm < 10_000:
        raise InputError(f"board {spec!r}: the square size is millimetres, > 0; got {mm:g}")
    return Board(cols, rows, mm / 1000.0)


def find_corners(gray: np.ndarray, board: Board) -> np.ndarray | None:
    """The board's inner corners in a grey uint8 image: ``(cols·rows, 2)`` float32 pixels
    in the order of :attr:`Board.corners`, or None where the whole board is not found."""
    size = (board.cols, board.rows)
    ok, pts = cv2.findChessboardCornersSB(
        gray, size, flags=cv2.CALIB_CB_NORMALIZE_IMAGE | cv2.CALIB_CB_EXHAUSTIVE
        | cv2.CALIB_CB_ACCURACY)
    if ok and _regular(np.asarray(pts, np.float32).reshape(-1, 2), board):
        return np.asarray(pts, np.float32).reshape(-1, 2)
    ok, pts = cv2.findChessboardCorners(
        gray, size, flags=cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE)
    if not ok:
        return None
    pts = cv2.cornerSubPix(gray, pts, (5, 5), (-1, -1),
                           (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3))
    pts = np.asarray(pts, np.float32).reshape(-1, 2)
    return pts if _regular(pts, board) else None


def _regular(pts: np.ndarray, board: Board) -> bool:
    """Whether corners ``(cols·rows, 2)`` form a plausible grid in the board's order: each
    step to the next corner along a row or a column is within a factor of 2.5 of the
    median step (a perspective view changes steps gradually; a detection that jumps
    across the board, seen on a Pose2Sim sample view, does not)."""
    steps = _steps(pts, board)
    med = float(np.median(steps))
    return med > 0 and float(steps.max()) < 2.5 * med and float(steps.min()) > med / 2.5


def edge_blur(gray: np.ndarray, board: Board, corners: np.ndarray) -> float:
    """How blurred the board's edges are: OpenCV's ``estimateChessboardSharpness`` (the
    mean width, in pixels, over which an edge rises from dark to light) divided by the
    board's square size in pixels, so that close-ups and far views compare. Sharp views of
    real boards measure 0.025-0.06 (Pose2Sim's sample); a Gaussian blur of σ = 1.5 px on
    50-px squares gives 0.14."""
    width = float(cv2.estimateChessboardSharpness(gray, (board.cols, board.rows),
                                                  corners.reshape(-1, 1, 2))[0][0])
    return width / max(float(np.median(_steps(corners, board))), 1e-6)


def _steps(corners: np.ndarray, board: Board) -> np.ndarray:
    """Pixel distances between neighbouring corners along the board's rows and columns."""
    grid = corners.reshape(board.rows, board.cols, 2)
    return np.concatenate([np.linalg.norm(np.diff(grid, axis=0), axis=-1).ravel(),
                           np.linalg.norm(np.diff(grid, axis=1), axis=-1).ravel()])


__all__ = ["Board", "CharucoBoard", "edge_blur", "find_charuco", "find_corners", "gray",
           "parse_board"]
