"""Camera calibrations: read, check, project, undistort and write.

Convention: camera frame OpenCV (x right, y down, z forward); ``R``, ``t`` map
world to camera (``X_cam = R @ X_world + t``); world right-handed, metres
(Z up for Qualisys and Pose2Sim calibrations); pixels with the origin at the
top-left pixel's centre; distortion in OpenCV's model
(``k1, k2, p1, p2[, k3[, k4, k5, k6[, s1, s2, s3, s4[, τx, τy]]]]``) or, with
``fisheye=True``, OpenCV's fisheye model (``k1, k2, k3, k4``).

Formats :func:`load_calibration` reads (picked by the file name, else by content):

=================== ==================================================================
``.qca.txt``        Qualisys QTM XML (see :func:`read_qca` for the conversion)
``.toml``           Pose2Sim / Anipose ``Calib.toml``: one table per camera with
                    ``name, size, matrix, distortions, rotation`` (Rodrigues vector or
                    3×3), ``translation`` (metres), ``fisheye``; the tables
                    ``metadata, capture_volume, charuco, checkerboard`` are skipped
``.yml`` ``.yaml``  OpenCV FileStorage: ``names`` (a list of camera names) and, per
                    camera ``<n>``: ``K_<n>`` (3×3), ``dist_<n>``, ``R_<n>`` (3×3, or a
                    3×1 Rodrigues vector as EasyMocap writes it) or ``rvec_<n>`` or
                    ``Rot_<n>`` (3×3), ``t_<n>`` or ``T_<n>`` (metres),
                    ``size_<n>`` ([width, height]) and optionally ``fisheye_<n>`` (0/1)
``.json``           ``{"cameras": [{"name", "K", "dist", "R" or "rvec", "t", "size",
                    "fisheye"?}, ...]}`` — or the FileStorage layout above written
                    as JSON by OpenCV (a top-level ``names``)
=================== ==================================================================

:func:`save_toml` writes the Pose2Sim/Anipose layout; :func:`save_calibration`
writes any of the three by the file's suffix.

Example:
    >>> import numpy as np
    >>> cam = Camera("cam1", K=np.array([[1000., 0, 640], [0, 1000., 360], [0, 0, 1]]),
    ...              dist=np.zeros(4), R=np.eye(3), t=np.array([0., 0., 2.]), size=(1280, 720))
    >>> cam.project(np.array([0.2, -0.1, 0.0])).round(3)
    array([740., 310.])
    >>> cam.center
    array([ 0.,  0., -2.])
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import InputError
from ..io.atomic import atomic_path

log = logging.getLogger(__name__)

FORMATS = (".qca.txt (Qualisys)", ".toml (Pose2Sim/Anipose)", ".yml/.yaml (OpenCV FileStorage)",
           ".json")
TOML_SKIP = frozenset({"metadata", "capture_volume", "charuco", "checkerboard"})
TOML_FIELDS = ("name", "size", "matrix", "distortions", "rotation", "translation", "fisheye")
DIST_LENGTHS = (4, 5, 8, 12, 14)
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg",
                            ".wmv", ".flv", ".ts", ".mts", ".m2ts", ".3gp"})
MACROBLOCK = 16
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-12)
_ROT_TOL = 1e-5
_FS_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_TOML_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
# π about the camera x axis: Qualisys camera frame (y up, looking along -z) -> OpenCV.
_RX_PI = np.diag([1.0, -1.0, -1.0])


# --- the camera --------------------------------------------------------------------------------

def _array(value: Any, shape: tuple[int, ...] | None, what: str, cam: str) -> np.ndarray:
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"camera {cam!r}: {what} is not numeric ({e})") from None
    if shape is not None and a.shape != shape:
        if a.size == math.prod(shape):
            a = a.reshape(shape)
        else:
            raise InputError(f"camera {cam!r}: {what} has shape {a.shape}, expected {shape}")
    if not np.isfinite(a).all():
        raise InputError(f"camera {cam!r}: {what} has NaN or infinite values")
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated camera (OpenCV conventions, see the module docstring).

    Attributes:
        name: camera name, unique within a :class:`Calibration`.
        K: (3, 3) camera matrix ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` (no skew).
        dist: (n,) distortion, n in 4, 5, 8, 12, 14 (4 for fisheye); zeros allowed.
        R: (3, 3) world→camera rotation.
        t: (3,) world→camera translation, metres.
        size: (width, height) of the image, pixels.
        fisheye: OpenCV's fisheye model instead of the standard one.

    Arrays are stored as read-only float64 copies. Instances compare by identity;
    use :meth:`isclose` to compare values.
    """

    name: str
    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray
    size: tuple[int, int]
    fisheye: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"a camera needs a non-empty name, got {self.name!r}")
        n = self.name
        K = _array(self.K, (3, 3), "K (camera matrix)", n)
        if not (K[0, 0] > 0 and K[1, 1] > 0):
            raise InputError(f"camera {n!r}: K has non-positive focal lengths "
                             f"fx={K[0, 0]}, fy={K[1, 1]}")
        tol = 1e-9 * max(K[0, 0], K[1, 1])
        if abs(K[0, 1]) > tol or abs(K[1, 0]) > tol or not np.allclose(K[2], (0, 0, 1),
                                                                       atol=1e-12):
            raise InputError(f"camera {n!r}: K must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] "
                             f"(OpenCV's model has no skew), got {K.tolist()}")
        dist = _array(self.dist, None, "dist (distortion)", n).ravel()
        if dist.size == 0:
            dist = np.zeros(4)
        allowed = (4,) if self.fisheye else DIST_LENGTHS
        if dist.size not in allowed:
            kind = "fisheye" if self.fisheye else "OpenCV"
            raise InputError(f"camera {n!r}: {dist.size} distortion coefficients; the {kind} "
                             f"model takes {' or '.join(map(str, allowed))}")
        dist.setflags(write=False)
        R = _array(self.R, (3, 3), "R (rotation)", n)
        if not np.allclose(R @ R.T, np.eye(3), atol=_ROT_TOL) or np.linalg.det(R) < 0:
            raise InputError(f"camera {n!r}: R is not a rotation matrix (R Rᵀ ≠ I or det < 0); "
                             "give a world→camera rotation (or a Rodrigues vector in the file)")
        t = _array(self.t, (3,), "t (translation)", n)
        try:
            w, h = (round(float(s)) for s in self.size)
        except (TypeError, ValueError):
            raise InputError(f"camera {n!r}: size must be (width, height), "
                             f"got {self.size!r}") from None
        if w <= 0 or h <= 0:
            raise InputError(f"camera {n!r}: image size {w}x{h} must be positive")
        for attr, value in (("K", K), ("dist", dist), ("R", R), ("t", t), ("size", (w, h)),
                            ("fisheye", bool(self.fisheye))):
            object.__setattr__(self, attr, value)

    @property
    def P(self) -> np.ndarray:
        """(3, 4) projection ``K [R | t]`` to ideal (undistorted) pixels."""
        return self.K @ np.hstack([self.R, self.t[:, None]])

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world metres, ``-Rᵀ t``."""
        return -self.R.T @ self.t

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.dist != 0))

    def to_camera(self, X: np.ndarray) -> np.ndarray:
        """World points (..., 3) → camera frame (..., 3), metres."""
        X = _points(X, 3, "X")
        return X @ self.R.T + self.t

    def project(self, X: np.ndarray, distort: bool = True) -> np.ndarray:
        """World points (..., 3) in metres → pixels (..., 2).

        Same numbers as ``cv2.projectPoints`` (``cv2.fisheye.projectPoints`` for a
        fisheye camera); ``distort=False`` gives ideal pixels ``K x/z``. NaN in
        gives NaN out; points on or behind the camera plane (z ≤ 0) give NaN.
        """
        Xc = self.to_camera(X)
        flat = Xc.reshape(-1, 3)
        out = np.full((flat.shape[0], 2), np.nan)
        ok = np.isfinite(flat).all(axis=1) & (flat[:, 2] > 0)
        if ok.any():
            pts = flat[ok]
            if distort and self.has_distortion:
                zero = np.zeros(3)
                if self.fisheye:
                    uv = cv2.fisheye.projectPoints(pts.reshape(-1, 1, 3), zero, zero, self.K,
                                                   self.dist)[0]
                else:
                    uv = cv2.projectPoints(pts, zero, zero, self.K, self.dist)[0]
                out[ok] = uv.reshape(-1, 2)
            else:
                xy = pts[:, :2] / pts[:, 2:]
                out[ok] = xy * (self.K[0, 0], self.K[1, 1]) + (self.K[0, 2], self.K[1, 2])
        return out.reshape(*Xc.shape[:-1], 2)

    def undistort(self, xy: np.ndarray) -> np.ndarray:
        """Observed pixels (..., 2) → ideal pixels (..., 2) with the same ``K``.

        ``cv2.undistortPoints(..., P=K)`` (fisheye: ``cv2.fisheye.undistortPoints``),
        iterated to convergence (200 iterations, 1e-12); NaN stays NaN.
        """
        xy = _points(xy, 2, "xy")
        if not self.has_distortion:
            return xy.copy()
        flat = xy.reshape(-1, 2)
        out = np.full_like(flat, np.nan)
        ok = np.isfinite(flat).all(axis=1)
        if ok.any():
            pts = np.ascontiguousarray(flat[ok]).reshape(-1, 1, 2)
            if self.fisheye:
                und = cv2.fisheye.undistortPoints(pts, self.K, self.dist, P=self.K,
                                                  criteria=_UNDISTORT_CRITERIA)
            else:
                und = cv2.undistortPoints(pts, self.K, self.dist, P=self.K,
                                          criteria=_UNDISTORT_CRITERIA)
            out[ok] = und.reshape(-1, 2)
        return out.reshape(xy.shape)

    def rotated(self, quarter_turns: int) -> Camera:
        """The same camera for its image rotated by ``quarter_turns`` × 90° clockwise.

        A pixel ``(u, v)`` of a W×H image lands at ``(H-1-v, u)`` after one clockwise
        turn; ``K``, ``R``, ``t``, the tangential and thin-prism distortion terms and
        ``size`` follow, so that ``rotated(k).project(X)`` is the rotated
        ``project(X)``. Use it when a video was rotated after calibration (a
        portrait export of a landscape sensor).
        """
        cam = self
        for _ in range(int(quarter_turns) % 4):
            cam = cam._rotated_cw()
        return cam

    def _rotated_cw(self) -> Camera:
        K, (w, h) = self.K, self.size
        K2 = np.array([[K[1, 1], 0.0, h - 1 - K[1, 2]], [0.0, K[0, 0], K[0, 2]], [0, 0, 1]])
        Rz = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # x'=-y, y'=x
        d = self.dist.copy()
        if not self.fisheye:
            if d.size == 14 and np.any(d[12:] != 0):
                raise InputError(f"camera {self.name!r}: cannot rotate a tilted-sensor model "
                                 "(τx, τy ≠ 0); recalibrate on the rotated video")
            d[2], d[3] = self.dist[3], -self.dist[2]
            if d.size >= 12:
                d[8], d[9], d[10], d[11] = (-self.dist[10], -self.dist[11], self.dist[8],
                                            self.dist[9])
        return Camera(self.name, K2, d, Rz @ self.R, Rz @ self.t, (h, w), self.fisheye)

    def isclose(self, other: Camera, *, atol: float = 1e-9) -> bool:
        """Same name, size, model and arrays equal to ``atol`` (R, t, dist; K relative)."""
        return (self.name == other.name and self.size == other.size
                and self.fisheye == other.fisheye and self.dist.shape == other.dist.shape
                and np.allclose(self.K, other.K, rtol=atol, atol=atol)
                and np.allclose(self.dist, other.dist, rtol=0, atol=atol)
                and np.allclose(self.R, other.R, rtol=0, atol=atol)
                and np.allclose(self.t, other.t, rtol=0, atol=atol))


def _points(a: Any, d: int, what: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0 or a.shape[-1] != d:
        raise InputError(f"{what} must have shape (..., {d}), got {a.shape}")
    return a


# --- the set of cameras ------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Calibration:
    """Calibrated cameras, in order (C cameras), and where they came from."""

    cameras: tuple[Camera, ...]
    source: str = ""
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        cams = tuple(self.cameras)
        if not cams:
            raise InputError("a calibration needs at least one camera")
        bad = [type(c).__name__ for c in cams if not isinstance(c, Camera)]
        if bad:
            raise InputError(f"a calibration holds Camera objects, got {', '.join(bad)}")
        names = [c.name for c in cams]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InputError(f"camera names must be unique; repeated: {', '.join(dupes)}")
        object.__setattr__(self, "cameras", cams)
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(names)})

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self) -> Iterator[Camera]:
        return iter(self.cameras)

    def __getitem__(self, key: str | int) -> Camera:
        if isinstance(key, str):
            if key not in self._index:
                raise KeyError(f"no camera {key!r}; cameras: {', '.join(self.names)}")
            return self.cameras[self._index[key]]
        return self.cameras[key]

    def projections(self, undistorted: bool = True) -> np.ndarray:
        """(C, 3, 4) projection matrices ``K [R | t]``, float64.

        They map world points to ideal pixels, i.e. to :meth:`Camera.undistort`'s
        output (which keeps ``K``). ``undistorted=False`` returns the same matrices
        for use on raw pixels, ignoring distortion as Pose2Sim does by default;
        exact only for cameras without distortion.
        """
        del undistorted  # same matrices either way; the flag documents the caller's intent
        return np.stack([c.P for c in self.cameras])

    def select(self, names: Sequence[str]) -> Calibration:
        """The cameras named, in the order given."""
        if isinstance(names, str):
            names = [names]
        unknown = [n for n in names if n not in self._index]
        if unknown:
            raise InputError(f"unknown camera(s) {', '.join(map(repr, unknown))}; the "
                             f"calibration has {', '.join(self.names)}")
        return Calibration(tuple(self[n] for n in names), self.source)

    def check_sizes(self, sizes: Mapping[str, tuple[int, int]], *,
                    codec_padding: bool = True, rotations: Mapping[str, int] | None = None,
                    autorotate: bool = True) -> None:
        """Check the image size of every camera's video against the calibration.

        ``sizes`` maps every camera name to the (width, height) in pixels of the frames
        analysed. ``rotations`` maps a camera to the clockwise degrees its video file
        asks a player to turn the stored frames by (a phone's display matrix);
        ``autorotate`` says whether ``sizes`` are after that turn (as displayed) or
        before it (as stored). They only shape the message: the calibration must be of
        the frames as analysed, and one that fits the other orientation is named as such.
        With ``codec_padding`` a video up to 15 pixels narrower or shorter than a
        calibration whose size is a multiple of 16 is accepted with a logged
        warning: the calibration was made on the codec's coded frame (H.264 codes
        1080 lines as 1088) and the decoder crops the padding at the right/bottom,
        so pixel coordinates and ``K`` are unchanged. Pose2Sim's demo has this: a
        1088×1920 calibration for all cameras, cam01/cam02 decode at 1080×1920 (cam01's
        H.264 stream codes 1088 columns and its SPS crops 8 on the right; cam02 is a
        VP9 re-encode at 1080).

        Raises:
            InputError: naming every camera whose size differs (with both sizes and
                the likely cause), and unknown or missing cameras.
        """
        problems = []
        unknown = [n for n in sizes if n not in self._index]
        missing = [n for n in self.names if n not in sizes]
        if unknown:
            problems.append(f"videos for unknown camera(s) {', '.join(map(repr, unknown))}")
        if missing:
            problems.append(f"no video size for camera(s) {', '.join(map(repr, missing))}")
        for cam in self.cameras:
            if cam.name not in sizes:
                continue
            vw, vh = (int(s) for s in sizes[cam.name])
            cw, ch = cam.size
            if (vw, vh) == (cw, ch):
                continue
            if codec_padding and _padded(cw, vw) and _padded(ch, vh):
                log.warning("camera %r: video %dx%d, calibration %dx%d: taken as codec "
                            "padding cropped at the right/bottom (K unchanged)",
                            cam.name, vw, vh, cw, ch)
                continue
            turn = int((rotations or {}).get(cam.name, 0)) % 360
            fits_other = bool(turn % 180) and (  # the size before/after the quarter turn
                _padded(cw, vh) and _padded(ch, vw) if codec_padding else (vh, vw) == (cw, ch))
            if turn and autorotate and fits_other:
                problems.append(
                    f"camera {cam.name!r}: video is {vw}x{vh} as displayed (its file asks for "
                    f"a {turn}° turn, applied) but the calibration is {cw}x{ch}, the size as "
                    "stored: calibrate on the displayed orientation, or analyse the videos as "
                    "stored with --no-autorotate")
            elif turn and fits_other:
                problems.append(
                    f"camera {cam.name!r}: video is {vw}x{vh} as stored (--no-autorotate; its "
                    f"file asks for a {turn}° turn) but the calibration is {cw}x{ch}, the size "
                    "as displayed: leave out --no-autorotate")
            else:
                how = ("" if not turn else f" as displayed (turned {turn}°)" if autorotate
                       else " as stored (--no-autorotate)")
                problems.append(f"camera {cam.name!r}: video is {vw}x{vh}{how} but the "
                                f"calibration is {cw}x{ch}{_size_hint(cw, ch, vw, vh)}")
        if problems:
            raise InputError("calibration does not match the videos: " + "; ".join(problems)
                             + f" (calibration cameras: {', '.join(self.names)}). Use the "
                             "videos the calibration was made for, or recalibrate")

    def isclose(self, other: Calibration, *, atol: float = 1e-9) -> bool:
        return len(self) == len(other) and all(
            a.isclose(b, atol=atol) for a, b in zip(self.cameras, other.cameras, strict=True))


def _padded(cal: int, vid: int) -> bool:
    return cal == vid or (cal % MACROBLOCK == 0 and 0 < cal - vid < MACROBLOCK)


def _size_hint(cw: int, ch: int, vw: int, vh: int) -> str:
    if (vw, vh) == (ch, cw):
        return (" — the video is rotated by 90° relative to the calibration: use "
                "camera.rotated(1) (clockwise) or camera.rotated(3)")
    if vw * ch == vh * cw:
        f = cw / vw
        if abs(f - round(f)) < 1e-9 and round(f) > 1:
            return (f" — the video is {cw // vw}x smaller: a binned recording "
                    f"(for Qualisys, read_qca(path, binning={cw // vw}))")
        return " — the video was resized: recalibrate at the video's resolution"
    return ""


# --- matching videos ----------------------------------------------------------------------------

def _number(name: str) -> int | None:
    found = re.findall(r"\d+", name)
    return int(found[-1]) if found else None


def _stem(name: str) -> str:
    p = Path(str(name))
    return p.stem if p.suffix.lower() in VIDEO_SUFFIXES else p.name


def _canonical(name: str) -> str:
    """Lower case, letters and digits only, numbers without leading zeros:
    ``Cam_02`` → ``cam2``."""
    return re.sub(r"\d+", lambda m: str(int(m.group())), re.sub(r"[^0-9a-z]", "",
                                                              name.casefold()))


def find_camera(name: str, cameras: Sequence[str], what: str = "camera",
                by_number: bool = True) -> str:
    """The one of ``cameras`` that ``name`` means, by the rules of :func:`match_videos`.

    The same name, else the same name ignoring case, else the same letters and
    number (``cam2`` ~ ``cam02`` ~ ``Cam_02``), else (``by_number``) the same last
    number in the name (a video ``GoPro_2.mp4`` for camera ``cam02``).

    Args:
        name: a camera name as a user wrote it.
        cameras: the camera names to choose from.
        what: how the name is called in the error (e.g. ``"--offset"``).
        by_number: allow the last, loosest rule (for video file names; an option
            that names a camera is held to the first three).

    Raises:
        InputError: no camera or several cameras match; the message lists the
            cameras and the closest names.
    """
    import difflib

    cams = list(cameras)
    rules = [lambda s: s, str.casefold, _canonical] + ([_number] if by_number else [])
    for rule in rules:
        key = rule(name)
        if key is None:
            continue
        hits = [c for c in cams if rule(c) == key]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise InputError(f"{what} {name!r} matches several cameras ({', '.join(hits)}); "
                             "write the full name")
    close = difflib.get_close_matches(name, cams, n=3, cutoff=0.5)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    raise InputError(f"{what} {name!r} is not a camera here{hint}; the cameras are "
                     f"{', '.join(cams) or '(none)'}")


def match_videos(calib: Calibration, video_names: Sequence[str]) -> Calibration:
    """The calibration's cameras for these videos, in the videos' order and names.

    A video (a name, or a file name whose video extension is dropped) matches the
    camera of the same name, else the same name ignoring case, else the same
    number (the last number in the name: ``cam_01`` ~ ``cam01`` ~ ``camera1``).
    The returned cameras are renamed to the video names, so that sizes, offsets
    and outputs are keyed by video; the mapping is logged.

    Raises:
        InputError: counts differ, a video matches no camera, or a match is
            ambiguous (both lists are named).
    """
    videos = [_stem(v) for v in video_names]
    cams = list(calib.names)
    sides = f"videos: {', '.join(videos) or '(none)'}; cameras: {', '.join(cams)}"
    if len(videos) != len(cams):
        hint = "--cameras NAME,NAME,..."
        if len(videos) < len(cams):
            with contextlib.suppress(InputError):
                picked = [find_camera(v, cams) for v in videos]
                if len(set(picked)) == len(picked):
                    hint = f"--cameras {','.join(picked)}"
        raise InputError(f"{len(videos)} video(s) for a calibration of {len(cams)} camera(s) "
                         f"({sides}); give exactly one video per calibrated camera, or choose "
                         f"the cameras you filmed with ({hint}; in Python, "
                         "calibration.select([...]))")
    if len(set(videos)) != len(videos):
        raise InputError(f"video names repeat ({sides}); give each video a distinct name")
    rules = (lambda s: s, str.casefold, _number)
    chosen: dict[int, int] = {}
    for rule in rules:
        free = [j for j in range(len(cams)) if j not in chosen.values()]
        keys = {j: rule(cams[j]) for j in free}
        for i, v in enumerate(videos):
            if i in chosen:
                continue
            k = rule(v)
            if k is None:
                continue
            hits = [j for j in free if keys[j] == k]
            if len(hits) > 1:
                raise InputError(f"video {v!r} matches several cameras "
                                 f"({', '.join(cams[j] for j in hits)}); {sides}. Rename the "
                                 "videos like the cameras")
            if hits and hits[0] not in chosen.values():
                chosen[i] = hits[0]
    lost = [v for i, v in enumerate(videos) if i not in chosen]
    if lost:
        raise InputError(f"no calibrated camera for video(s) {', '.join(lost)} ({sides}); "
                         "name each video like its camera (same name or number)")
    out = []
    for i, v in enumerate(videos):
        cam = calib.cameras[chosen[i]]
        if cam.name != v:
            log.info("video %r uses calibration camera %r", v, cam.name)
        out.append(Camera(v, cam.K, cam.dist, cam.R, cam.t, cam.size, cam.fisheye))
    return Calibration(tuple(out), calib.source)


# --- reading ------------------------------------------------------------------------------------

def load_calibration(path: str | os.PathLike) -> Calibration:
    """Read a calibration file; the format comes from its name, else its content.

    See the module docstring for the formats. Qualisys files are read with
    binning 1 (use :func:`read_qca` for binned recordings).

    Raises:
        InputError: the file is missing, unreadable, of an unknown format, or a
            camera lacks a field (the message names the camera and the field).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"calibration file not found: {p}; give a {', '.join(FORMATS)} file")
    if not p.is_file():
        raise InputError(f"calibration path is not a file: {p}")
    name = p.name.lower()
    if name.endswith(".qca.txt"):
        return read_qca(p)
    if name.endswith(".toml"):
        return read_toml(p)
    if name.endswith((".yml", ".yaml")):
        return read_opencv(p)
    if name.endswith(".json"):
        return read_json(p)
    head = p.read_bytes()[:4096].lstrip().decode("utf-8", errors="replace")
    if head.startswith("<") and "<calibration" in head:
        return read_qca(p)
    if head.startswith("%YAML"):
        return read_opencv(p)
    if head.startswith("{"):
        return read_json(p)
    if head.startswith(("[", "#")):
        return read_toml(p)
    raise InputError(f"unknown calibration format: {p}; supported: {', '.join(FORMATS)}")


def _natural_key(s: str) -> list:
    return [int(x) if x.isdigit() else x.lower() for x in re.split(r"(\d+)", s)]


def _attr(el: Any, key: str, cam: str, path: Path) -> float:
    value = el.get(key)
    if value is None:
        raise InputError(f"{path}: camera {cam!r}: <{el.tag}> has no {key!r}; the file is not a "
                         "complete Qualisys calibration")
    try:
        return float(value)
    except ValueError:
        raise InputError(f"{path}: camera {cam!r}: {el.tag} {key}={value!r} is not a "
                         "number") from None


def read_qca(path: str | os.PathLike, binning: int = 1) -> Calibration:
    """Read a Qualisys QTM ``.qca.txt`` calibration (XML).

    The conversion follows Pose2Sim's ``calibration.read_qca`` + ``calib_qca_fun``:

    * cameras whose ``model`` contains "video", "hybrid" or "none" (video
      cameras), named by ``serial`` and sorted naturally (cam2 before cam10);
    * size = ``fov_video`` (right − left + 1, bottom − top + 1) / binning;
    * ``fx, fy`` = ``focalLengthU/V`` / 64 / binning (QTM stores 1/64 pixels);
      ``cx, cy`` = (``centerPointU/V`` / 64 − fov_video left/top) / binning (the
      principal point is relative to the video window). Pose2Sim subtracts the
      offset after dividing by binning; both agree when binning is 1 or the window
      starts at 0;
    * distortion = (radialDistortion1, radialDistortion2, tangentalDistortion1,
      tangentalDistortion2[, radialDistortion3]) / 64 / binning — Pose2Sim's
      convention, the inverse of its ``calib_toml_to_qca`` writer (which made
      the Pose2Sim demo file); k3 is kept when non-zero (Pose2Sim drops it);
    * ``transform``: rows (r11 r12 r13 / r21 … / r31 …) = M, camera centre
      (x, y, z) in mm. World→camera ``R = diag(1, −1, −1) · M`` (Pose2Sim's π turn
      about the camera x axis from Qualisys' camera frame to OpenCV's) and
      ``t = −R · centre / 1000``.

    QTM's ``viewrotation`` (a camera mounted sideways) is not applied, as in
    Pose2Sim: the calibration stays in sensor orientation and a warning is logged;
    :meth:`Camera.rotated` converts it for a rotated video. The Pose2Sim demo file
    is already portrait (1088×1920, viewrotation 0).
    """
    import xml.etree.ElementTree as ET

    p = Path(path)
    if binning < 1 or int(binning) != binning:
        raise InputError(f"binning must be a positive integer, got {binning!r}")
    try:
        root = ET.parse(p).getroot()
    except (ET.ParseError, UnicodeDecodeError, OSError) as e:
        raise InputError(f"{p} is not a readable Qualisys .qca.txt (XML) file ({e}); export the "
                         "calibration from QTM again") from None
    elements = root.findall("cameras/camera")
    if root.tag != "calibration" or not elements:
        raise InputError(f"{p} has no <calibration><cameras><camera> elements; it is not a "
                         "Qualisys calibration")
    models = [el.get("model", "") for el in elements]
    keep = [el for el, m in zip(elements, models, strict=True)
            if any(k in m.lower() for k in ("video", "hybrid", "none"))]
    if not keep:
        raise InputError(f"{p}: no video camera (model containing 'video', 'hybrid' or 'none'); "
                         f"camera models: {', '.join(sorted(set(models)))}")
    cams = []
    for el in sorted(keep, key=lambda e: _natural_key(e.get("serial", ""))):
        name = el.get("serial") or ""
        if not name:
            raise InputError(f"{p}: a camera has no 'serial' (its name)")
        parts = {}
        for tag in ("fov_video", "intrinsic", "transform"):
            sub = el.find(tag)
            if sub is None:
                raise InputError(f"{p}: camera {name!r} has no <{tag}>")
            parts[tag] = sub
        fov, intr, tr = parts["fov_video"], parts["intrinsic"], parts["transform"]
        left, top = _attr(fov, "left", name, p), _attr(fov, "top", name, p)
        w = (_attr(fov, "right", name, p) - left + 1) / binning
        h = (_attr(fov, "bottom", name, p) - top + 1) / binning
        fx = _attr(intr, "focalLengthU", name, p) / 64 / binning
        fy = _attr(intr, "focalLengthV", name, p) / 64 / binning
        cx = (_attr(intr, "centerPointU", name, p) / 64 - left) / binning
        cy = (_attr(intr, "centerPointV", name, p) / 64 - top) / binning
        skew = float(intr.get("skew", 0) or 0)
        if skew != 0:
            log.warning("%s: camera %r has skew %g, which OpenCV's model ignores", p, name, skew)
        d = [_attr(intr, k, name, p) for k in ("radialDistortion1", "radialDistortion2",
                                               "tangentalDistortion1", "tangentalDistortion2")]
        k3 = float(intr.get("radialDistortion3", 0) or 0)
        if k3 != 0:
            d.append(k3)
        dist = np.array(d) / 64 / binning
        M = np.array([[_attr(tr, f"r{i}{j}", name, p) for j in (1, 2, 3)] for i in (1, 2, 3)])
        centre = np.array([_attr(tr, k, name, p) for k in ("x", "y", "z")]) / 1000.0
        R = _RX_PI @ M
        rot = el.get("viewrotation", "0")
        if rot not in ("0", "", None):
            log.warning("%s: camera %r has viewrotation=%s; the calibration is kept in sensor "
                        "orientation (%dx%d): use Camera.rotated() if the video was rotated",
                        p, name, rot, round(w), round(h))
        cams.append(Camera(name, np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]]), dist, R,
                           -R @ centre, (w, h)))
    return Calibration(tuple(cams), str(p))


def _rotation(value: Any, cam: str, what: str) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:   # ragged lists, text: hypothesis found [[], [0.0]]
        raise InputError(f"camera {cam!r}: {what} is not numeric ({e})") from None
    if a.size == 9:
        return a.reshape(3, 3)
    if a.size == 3:
        from scipy.spatial.transform import Rotation  # lazy: 0.3 s that a 2D run never needs

        return Rotation.from_rotvec(a.ravel()).as_matrix()
    raise InputError(f"camera {cam!r}: {what} must be a Rodrigues 3-vector or a 3×3 matrix, "
                     f"got shape {a.shape}")


def _warn_units(cams: Sequence[Camera], path: Path) -> None:
    far = [c.name for c in cams if np.linalg.norm(c.t) > 100]
    if far:
        log.warning("%s: camera(s) %s are more than 100 m from the origin: translations must "
                    "be in metres (Anipose files are often in mm)", path, ", ".join(far))


def read_toml(path: str | os.PathLike) -> Calibration:
    """Read a Pose2Sim/Anipose ``Calib.toml`` (one table per camera)."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{p} is not a readable TOML file ({e}); expected a Pose2Sim/Anipose "
                         "Calib.toml") from None
    tables = {k: t for k, t in data.items()
              if isinstance(t, dict) and k.lower() not in TOML_SKIP}
    if not any(f in t for t in tables.values() for f in TOML_FIELDS[1:-1]):
        raise InputError(f"{p} is not a calibration file: none of its tables describes a "
                         f"camera ({', '.join(TOML_FIELDS[:-1])}); expected a Pose2Sim/Anipose "
                         "Calib.toml")
    cams = []
    for key, table in tables.items():
        missing = [k for k in TOML_FIELDS[1:-1] if k not in table]
        if missing:
            raise InputError(f"{p}: camera table [{key}] has no {', '.join(map(repr, missing))}; "
                             f"each camera table needs {', '.join(TOML_FIELDS[:-1])} "
                             "(and optionally fisheye)")
        name = str(table.get("name", key))
        try:
            cams.append(Camera(name, table["matrix"], table["distortions"],
                               _rotation(table["rotation"], name, "rotation"),
                               table["translation"], tuple(table["size"]),
                               bool(table.get("fisheye", False))))
        except (TypeError, ValueError) as e:  # InputError is a ValueError
            raise InputError(f"{p}: camera table [{key}]: {e}") from None
    if not cams:
        raise InputError(f"{p} has no camera tables (tables with {', '.join(TOML_FIELDS[:-1])})")
    _warn_units(cams, p)
    return Calibration(tuple(cams), str(p))


def _fs_array(fs: Any, key: str) -> np.ndarray | None:
    node = fs.getNode(key)
    if node.empty() or node.isNone():
        return None
    if node.isSeq():
        return np.array([node.at(i).real() for i in range(node.size())])
    if node.isReal() or node.isInt():
        return np.array([node.real()])
    m = node.mat()
    return None if m is None else np.asarray(m, dtype=np.float64)


def read_opencv(path: str | os.PathLike) -> Calibration:
    """Read the OpenCV FileStorage layout (``.yml``/``.yaml``, or OpenCV's ``.json``)."""
    p = Path(path)
    try:
        fs = cv2.FileStorage(str(p), cv2.FILE_STORAGE_READ)
    except (cv2.error, SystemError) as e:  # cv2 wraps parse errors in a SystemError
        cause = e.__cause__ or e
        raise InputError(f"{p} is not a readable OpenCV FileStorage (YAML/JSON) file: "
                         f"{str(cause).strip().splitlines()[-1]}") from None
    try:
        if not fs.isOpened():
            raise InputError(f"{p} could not be opened as an OpenCV FileStorage file")
        names_node = fs.getNode("names")
        if names_node.empty() or not names_node.isSeq():
            raise InputError(f"{p} has no 'names' list of cameras; the OpenCV layout is names: "
                             "[...] and K_<name>, dist_<name>, R_<name> or rvec_<name>, "
                             "t_<name>, size_<name> per camera")
        cams = []
        for i in range(names_node.size()):
            n = names_node.at(i).string()
            got = {k: _fs_array(fs, f"{k}_{n}")
                   for k in ("K", "dist", "R", "rvec", "Rot", "t", "T", "size", "fisheye")}
            rot = next((got[k] for k in ("R", "Rot", "rvec") if got[k] is not None), None)
            t = got["t"] if got["t"] is not None else got["T"]
            missing = [k for k, v in (("K", got["K"]), ("dist", got["dist"]), ("R or rvec", rot),
                                      ("t", t), ("size", got["size"])) if v is None]
            if missing:
                raise InputError(f"{p}: camera {n!r} has no "
                                 f"{', '.join(f'{m}_{n}' for m in missing)}")
            fish = got["fisheye"] is not None and bool(got["fisheye"].ravel()[0])
            cams.append(Camera(n, got["K"], got["dist"], _rotation(rot, n, "R/rvec"),
                               t.ravel(), tuple(got["size"].ravel()), fish))
    finally:
        fs.release()
    _warn_units(cams, p)
    return Calibration(tuple(cams), str(p))


def read_json(path: str | os.PathLike) -> Calibration:
    """Read ``{"cameras": [{"name", "K", "dist", "R" or "rvec", "t", "size", "fisheye"?}]}``.

    A JSON file in OpenCV's FileStorage layout (top-level ``names``) is read with
    :func:`read_opencv`.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{p} is not readable JSON ({e}); expected "
                         '{"cameras": [...]}') from None
    if isinstance(data, dict) and "names" in data and "cameras" not in data:
        return read_opencv(p)
    if not isinstance(data, dict) or not isinstance(data.get("cameras"), list):
        raise InputError(f"{p} is not a calibration file: expected {{\"cameras\": [{{\"name\", "
                         "\"K\", \"dist\", \"R\" or \"rvec\", \"t\", \"size\"}, ...]} (or "
                         "OpenCV FileStorage JSON)")
    cams = []
    for i, c in enumerate(data["cameras"]):
        if not isinstance(c, dict):
            raise InputError(f"{p}: cameras[{i}] is not an object")
        name = str(c.get("name", f"cameras[{i}]"))
        rot = c.get("R", c.get("rvec"))
        missing = [k for k, v in (("name", c.get("name")), ("K", c.get("K")),
                                  ("dist", c.get("dist")), ("R or rvec", rot), ("t", c.get("t")),
                                  ("size", c.get("size"))) if v is None]
        if missing:
            raise InputError(f"{p}: camera {name!r} has no {', '.join(map(repr, missing))}")
        cams.append(Camera(name, c["K"], c["dist"], _rotation(rot, name, "R/rvec"), c["t"],
                           tuple(c["size"]), bool(c.get("fisheye", False))))
    if not cams:
        raise InputError(f"{p}: the 'cameras' list is empty")
    _warn_units(cams, p)
    return Calibration(tuple(cams), str(p))


# --- writing ------------------------------------------------------------------------------------

def _f(x: float) -> str:
    return repr(float(x))


def _vec(a: np.ndarray) -> str:
    return "[ " + ", ".join(_f(x) for x in np.ravel(a)) + "]"


def _toml_key(name: str) -> str:
    return name if _TOML_BARE.match(name) else json.dumps(name, ensure_ascii=False)


def rodrigues(R: np.ndarray) -> np.ndarray:
    """(3,) rotation vector of a rotation matrix (accurate near π, unlike a naive formula)."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_matrix(np.asarray(R, dtype=np.float64)).as_rotvec()


def save_toml(calib: Calibration, path: str | os.PathLike) -> None:
    """Write a Pose2Sim/Anipose-compatible ``Calib.toml``, atomically.

    One table per camera (named like the camera) with ``name, size, matrix,
    distortions, rotation`` (Rodrigues), ``translation`` (metres), ``fisheye``,
    then ``[metadata] adjusted = false, error = 0.0`` as Pose2Sim writes it.
    Floats are written with Python's shortest round-trip repr, so reading the
    file back gives the same K, dist and t (R to ~1e-15 through Rodrigues).
    """
    keys = [c.name.lower() for c in calib.cameras]
    clash = [c.name for c in calib.cameras if c.name.lower() in TOML_SKIP]
    if clash or len(set(keys)) != len(keys):
        raise InputError(f"camera name(s) {', '.join(clash) or 'differing only in case'} "
                         f"cannot be TOML tables; rename the cameras (not {', '.join(TOML_SKIP)})")
    lines = ["# Camera calibration (Pose2Sim/Anipose layout): OpenCV camera model, rotation as "
             "a Rodrigues vector world->camera, translation in metres."]
    if calib.source:
        lines.append(f"# Converted by posestack from {calib.source}")
    for c in calib.cameras:
        K = c.K
        lines += ["", f"[{_toml_key(c.name)}]",
                  f"name = {json.dumps(c.name, ensure_ascii=False)}",
                  f"size = [ {c.size[0]}, {c.size[1]}]",
                  "matrix = [ " + ", ".join(_vec(row) for row in K) + "]",
                  f"distortions = {_vec(c.dist)}",
                  f"rotation = {_vec(rodrigues(c.R))}",
                  f"translation = {_vec(c.t)}",
                  f"fisheye = {'true' if c.fisheye else 'false'}"]
    lines += ["", "[metadata]", "adjusted = false", "error = 0.0", ""]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines), encoding="utf-8")


def _check_fs_names(calib: Calibration) -> None:
    bad = [c.name for c in calib.cameras if not _FS_KEY.match(c.name)]
    if bad:
        raise InputError(f"camera name(s) {', '.join(map(repr, bad))} cannot be OpenCV "
                         "FileStorage keys (letters, digits, '_' and '-', not starting with a "
                         "digit); rename the cameras or save as .toml")


def save_opencv(calib: Calibration, path: str | os.PathLike) -> None:
    """Write the OpenCV FileStorage layout (``.yml``/``.yaml``; ``.json`` as OpenCV's JSON)."""
    _check_fs_names(calib)
    final = Path(path)
    with atomic_path(final, suffix=final.suffix) as tmp:
        fs = cv2.FileStorage(str(tmp), cv2.FILE_STORAGE_WRITE)
        try:
            fs.startWriteStruct("names", cv2.FileNode_SEQ)
            for c in calib.cameras:
                fs.write("", c.name)
            fs.endWriteStruct()
            for c in calib.cameras:
                fs.write(f"K_{c.name}", c.K)
                fs.write(f"dist_{c.name}", c.dist.reshape(1, -1))
                fs.write(f"R_{c.name}", c.R)
                fs.write(f"t_{c.name}", c.t.reshape(3, 1))
                fs.startWriteStruct(f"size_{c.name}", cv2.FileNode_SEQ | cv2.FileNode_FLOW)
                fs.write("", int(c.size[0]))
                fs.write("", int(c.size[1]))
                fs.endWriteStruct()
                fs.write(f"fisheye_{c.name}", int(c.fisheye))
        finally:
            fs.release()


def save_json(calib: Calibration, path: str | os.PathLike) -> None:
    """Write ``{"cameras": [{"name", "K", "dist", "R", "rvec", "t", "size", "fisheye"}]}``."""
    doc = {"convention": "OpenCV camera (x right, y down, z forward); R, t world->camera; "
                         "metres; pixels",
           "source": calib.source,
           "cameras": [{"name": c.name, "size": list(c.size), "K": c.K.tolist(),
                        "dist": c.dist.tolist(), "R": c.R.tolist(),
                        "rvec": rodrigues(c.R).tolist(), "t": c.t.tolist(),
                        "fisheye": c.fisheye} for c in calib.cameras]}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")


def save_calibration(calib: Calibration, path: str | os.PathLike) -> None:
    """Write by suffix: ``.toml`` (:func:`save_toml`), ``.yml``/``.yaml``
    (:func:`save_opencv`) or ``.json`` (:func:`save_json`)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".toml":
        save_toml(calib, path)
    elif suffix in (".yml", ".yaml"):
        save_opencv(calib, path)
    elif suffix == ".json":
        save_json(calib, path)
    else:
        raise InputError(f"cannot write a calibration as {suffix or 'a file without suffix'}; "
                         "use .toml, .yml/.yaml or .json")
