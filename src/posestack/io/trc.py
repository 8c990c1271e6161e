"""OpenSim marker files (``.trc``): write one person's 3D keypoints, read them back.

Convention (axes):
    posestack's world is right-handed, metres, **Z up**. OpenSim is **Y up**.
    By default :func:`write_trc` turns the world into OpenSim's frame the way
    Pose2Sim does (``Pose2Sim/common.py``, ``zup2yup``): the columns of each
    marker are reordered, a cyclic permutation, i.e. a proper rotation (it keeps
    handedness and lengths)::

        file X = world y        file Y = world z (up)        file Z = world x

    so a point at world ``(x, y, z)`` is written as ``(y, z, x)``. The inverse
    (:func:`yup_to_zup`, ``read_trc(..., z_up=True)``) gives back ``(x, y, z)``
    from the file's ``(X, Y, Z)`` as ``(Z, X, Y)``. With
    ``rotate_to_y_up=False`` the world axes are written unchanged.

    TRC has no comment syntax. The axis convention is stated in the one free
    text field OpenSim keeps, the file-name field of the first line
    (OpenSim's TRC readers check only the first token, ``PathFileType``, and
    the number after it), e.g.::

        PathFileType<TAB>4<TAB>(X/Y/Z)<TAB>walk.trc (posestack: Y up; X,Y,Z = world y,z,x)

Format (tab-separated; the header as OpenSim's ``TRCFileAdapter`` writes it)::

    PathFileType  4  (X/Y/Z)  <file name and axis note>
    DataRate  CameraRate  NumFrames  NumMarkers  Units  OrigDataRate  OrigDataStartFrame
        OrigNumFrames                                          (one line)
    <values of the line above>
    Frame#  Time  <marker 1>  _  _  <marker 2>  _  _ ...       (each name followed by 3 tabs)
    _  _  X1  Y1  Z1  X2  Y2  Z2 ...                           (each label followed by a tab)
    <blank line>
    <frame>  <time s>  <x1>  <y1>  <z1>  <x2> ...              (one row per frame)

Missing markers:
    A keypoint is missing when its coordinates are NaN or its score is 0 (the
    rule of our OpenPose writer). It is written as the text ``NaN`` in its three
    fields (``missing="NaN"``, the default). OpenSim 4's readers (checked in
    opensim-core's source) turn that into NaN: ``MarkerData`` (Scale and IK
    tools) reads ``NaN`` because its TRC reader allows NaNs, and
    ``TRCFileAdapter`` parses each field with ``std::stod``. Pose2Sim (pandas)
    reads it as NaN too. ``missing=""`` writes empty fields instead, as Pose2Sim
    does (older ``MarkerData`` code without NaN support reads only those). Each
    row then ends with a tab, as OpenSim's own writer does, so that a missing
    *last* marker still has its three fields for ``TRCFileAdapter``.
    :func:`read_trc` reads either form, and ``-nan``, as NaN.

Frame numbers: row ``i`` (0-based) is frame ``frame_offset + i + 1``: TRC frame
numbers start at 1, and ``OrigDataStartFrame`` is ``frame_offset + 1``.

Marker names: the skeleton's keypoint names, or renamed and selected by a
mapping (``names=``). :data:`POSE2SIM_NAMES` gives, for the layouts Pose2Sim
knows, the marker names (and order) of Pose2Sim's own ``.trc`` files, which are
the names in Pose2Sim's OpenSim marker sets (``OpenSim_Setup/Markers_*.xml``).

Example (the axis mapping)::

    >>> import numpy as np
    >>> zup_to_yup(np.array([1.0, 2.0, 3.0]))
    array([2., 3., 1.])
    >>> yup_to_zup(np.array([2.0, 3.0, 1.0]))
    array([1., 2., 3.])
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

import numpy as np

from ..errors import InputError
from ..poses import Poses
from .atomic import atomic_path

__all__ = [
    "POSE2SIM_NAMES",
    "TRCData",
    "read_trc",
    "write_trc",
    "yup_to_zup",
    "zup_to_yup",
]

log = logging.getLogger(__name__)

# Scale from metres, and decimals giving 1 µm resolution, per unit.
_UNITS: dict[str, tuple[float, int]] = {"m": (1.0, 6), "cm": (100.0, 4), "mm": (1000.0, 3)}
_MISSING = ("NaN", "")
_HEADER_KEYS = (
    "DataRate",
    "CameraRate",
    "NumFrames",
    "NumMarkers",
    "Units",
    "OrigDataRate",
    "OrigDataStartFrame",
    "OrigNumFrames",
)
_INT_KEYS = {"NumFrames", "NumMarkers", "OrigDataStartFrame", "OrigNumFrames"}
_FLOAT_KEYS = {"DataRate", "CameraRate", "OrigDataRate"}
# Irregular sampling: largest step deviation allowed, relative to the median step.
_RATE_TOLERANCE = 0.01


def _table(pairs: tuple[tuple[str, str], ...]) -> Mapping[str, str]:
    return MappingProxyType(dict(pairs))


# Our keypoint name -> Pose2Sim marker name, in the order of Pose2Sim's .trc files
# (pre-order of the nodes with an id in Pose2Sim/skeletons.py, v0.10.49). Nodes that
# Pose2Sim computes itself (id None, e.g. COCO_17's Hip and Neck) are not keypoints
# and are absent. blazepose33: Pose2Sim's tree spells the left knee "Lknee"; we use
# "LKnee", the name in Markers_BlazePose.xml, so that OpenSim matches the marker.
POSE2SIM_NAMES: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "halpe26": _table((
        ("mid_hip", "Hip"), ("right_hip", "RHip"), ("right_knee", "RKnee"),
        ("right_ankle", "RAnkle"), ("right_big_toe", "RBigToe"),
        ("right_small_toe", "RSmallToe"), ("right_heel", "RHeel"), ("left_hip", "LHip"),
        ("left_knee", "LKnee"), ("left_ankle", "LAnkle"), ("left_big_toe", "LBigToe"),
        ("left_small_toe", "LSmallToe"), ("left_heel", "LHeel"), ("neck", "Neck"),
        ("head_top", "Head"), ("nose", "Nose"), ("right_shoulder", "RShoulder"),
        ("right_elbow", "RElbow"), ("right_wrist", "RWrist"), ("left_shoulder", "LShoulder"),
        ("left_elbow", "LElbow"), ("left_wrist", "LWrist"),
    )),
    "coco17": _table((
        ("right_hip", "RHip"), ("right_knee", "RKnee"), ("right_ankle", "RAnkle"),
        ("left_hip", "LHip"), ("left_knee", "LKnee"), ("left_ankle", "LAnkle"),
        ("nose", "Nose"), ("right_shoulder", "RShoulder"), ("right_elbow", "RElbow"),
        ("right_wrist", "RWrist"), ("left_shoulder", "LShoulder"), ("left_elbow", "LElbow"),
        ("left_wrist", "LWrist"),
    )),
    "body25": _table((
        ("mid_hip", "CHip"), ("right_hip", "RHip"), ("right_knee", "RKnee"),
        ("right_ankle", "RAnkle"), ("right_big_toe", "RBigToe"),
        ("right_small_toe", "RSmallToe"), ("right_heel", "RHeel"), ("left_hip", "LHip"),
        ("left_knee", "LKnee"), ("left_ankle", "LAnkle"), ("left_big_toe", "LBigToe"),
        ("left_small_toe", "LSmallToe"), ("left_heel", "LHeel"), ("neck", "Neck"),
        ("nose", "Nose"), ("right_shoulder", "RShoulder"), ("right_elbow", "RElbow"),
        ("right_wrist", "RWrist"), ("left_shoulder", "LShoulder"), ("left_elbow", "LElbow"),
        ("left_wrist", "LWrist"),
    )),
    "body25b": _table((
        ("right_hip", "RHip"), ("right_knee", "RKnee"), ("right_ankle", "RAnkle"),
        ("right_big_toe", "RBigToe"), ("right_small_toe", "RSmallToe"),
        ("right_heel", "RHeel"), ("left_hip", "LHip"), ("left_knee", "LKnee"),
        ("left_ankle", "LAnkle"), ("left_big_toe", "LBigToe"),
        ("left_small_toe", "LSmallToe"), ("left_heel", "LHeel"), ("upper_neck", "Neck"),
        ("head_top", "Head"), ("nose", "Nose"), ("right_shoulder", "RShoulder"),
        ("right_elbow", "RElbow"), ("right_wrist", "RWrist"), ("left_shoulder", "LShoulder"),
        ("left_elbow", "LElbow"), ("left_wrist", "LWrist"),
    )),
    "blazepose33": _table((
        ("right_hip", "RHip"), ("right_knee", "RKnee"), ("right_ankle", "RAnkle"),
        ("right_heel", "RHeel"), ("right_foot_index", "RBigToe"), ("left_hip", "LHip"),
        ("left_knee", "LKnee"), ("left_ankle", "LAnkle"), ("left_heel", "LHeel"),
        ("left_foot_index", "LBigToe"), ("nose", "Nose"), ("right_eye", "REye"),
        ("left_eye", "LEye"), ("right_shoulder", "RShoulder"), ("right_elbow", "RElbow"),
        ("right_wrist", "RWrist"), ("right_pinky", "RPinky"), ("right_index", "RIndex"),
        ("right_thumb", "RThumb"), ("left_shoulder", "LShoulder"), ("left_elbow", "LElbow"),
        ("left_wrist", "LWrist"), ("left_pinky", "LPinky"), ("left_index", "LIndex"),
        ("left_thumb", "LThumb"),
    )),
})


class TRCData(NamedTuple):
    """What :func:`read_trc` returns (unpacks as ``names, times, xyz, header``).

    Attributes:
        names: the M marker names, in file order.
        times: ``(T,)`` float64 seconds (the Time column).
        xyz: ``(T, M, 3)`` float64 in the file's units, NaN where missing; in the
            file's axes unless read with ``z_up=True``.
        header: ``PathFileType`` (int), ``AxisLabel`` (e.g. ``"(X/Y/Z)"``),
            ``FileName`` (the rest of line 1), then the 8 keys of line 2 with
            their values (ints for counts and frames, floats for rates, str for
            ``Units``).
    """

    names: tuple[str, ...]
    times: np.ndarray
    xyz: np.ndarray
    header: dict[str, Any]


# -- axes ----------------------------------------------------------------------------------


def zup_to_yup(xyz: np.ndarray) -> np.ndarray:
    """Z-up world ``(..., 3)`` -> OpenSim Y-up: ``(x, y, z) -> (y, z, x)`` (Pose2Sim's zup2yup)."""
    xyz = np.asarray(xyz)
    if xyz.shape[-1:] != (3,):
        raise InputError(f"points must have shape (..., 3); got {xyz.shape}")
    return xyz[..., [1, 2, 0]]


def yup_to_zup(xyz: np.ndarray) -> np.ndarray:
    """Inverse of :func:`zup_to_yup`: file ``(X, Y, Z) -> (Z, X, Y)`` in the Z-up world."""
    xyz = np.asarray(xyz)
    if xyz.shape[-1:] != (3,):
        raise InputError(f"points must have shape (..., 3); got {xyz.shape}")
    return xyz[..., [2, 0, 1]]


# -- writing -------------------------------------------------------------------------------


def _marker_selection(
    poses: Poses, names: Mapping[str, str] | str | None
) -> tuple[list[int], list[str]]:
    skel = poses.skeleton
    if names is None:
        table: Mapping[str, str] = {k: k for k in skel.keypoints}
    elif isinstance(names, str):
        if names != "pose2sim":
            raise InputError(
                f"names must be None, 'pose2sim' or a mapping keypoint -> marker name; "
                f"got {names!r}"
            )
        if skel.name not in POSE2SIM_NAMES:
            raise InputError(
                f"names='pose2sim': no Pose2Sim marker names for skeleton {skel.name}; "
                f"known for: {', '.join(POSE2SIM_NAMES)}. Pass a mapping instead"
            )
        table = POSE2SIM_NAMES[skel.name]
    elif isinstance(names, Mapping):
        table = names
    else:
        raise InputError(
            f"names must be None, 'pose2sim' or a mapping keypoint -> marker name; "
            f"got {type(names).__name__}"
        )
    if not table:
        raise InputError("names selects no markers; give at least one keypoint")
    idx, out = [], []
    for key, marker in table.items():
        if key not in skel.keypoints:
            raise InputError(
                f"names: {key!r} is not a keypoint of skeleton {skel.name}; "
                f"valid: {', '.join(skel.keypoints)}"
            )
        if not isinstance(marker, str) or not marker or any(c.isspace() for c in marker):
            raise InputError(
                f"names: marker name for {key!r} must be a non-empty string without "
                f"whitespace (OpenSim splits on it); got {marker!r}"
            )
        idx.append(skel.index(key))
        out.append(marker)
    dupes = sorted({m for m in out if out.count(m) > 1})
    if dupes:
        raise InputError(f"names: marker names must be unique; repeated: {dupes}")
    return idx, out


def _data_rate(times: np.ndarray, rate: float | None) -> float:
    if rate is not None:
        try:
            value = float(rate)
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"rate must be a positive number of frames per second; got {rate!r}")
        return value
    if times.shape[0] < 2:
        raise InputError(
            f"cannot tell the data rate from {times.shape[0]} frame(s); "
            f"pass rate=<frames per second>"
        )
    steps = np.diff(times)
    step = float(np.median(steps))
    if not step > 0:
        raise InputError(
            "cannot tell the data rate: the median time step is 0 (repeated times); "
            "pass rate=<frames per second>"
        )
    worst = float(np.max(np.abs(steps - step)))
    if worst > _RATE_TOLERANCE * step:
        raise InputError(
            f"times are not evenly spaced: a step differs from the median step {step:.6g} s "
            f"by {worst:.3g} s (more than {_RATE_TOLERANCE:.0%}); resample the poses or "
            f"pass rate=<frames per second> to write them anyway"
        )
    return 1.0 / step


def _fmt_number(value: float) -> str:
    return f"{value:.10g}"


def write_trc(
    path: str | os.PathLike,
    poses: Poses,
    person: int = 0,
    *,
    units: Literal["m", "cm", "mm"] = "m",
    rotate_to_y_up: bool = True,
    frame_offset: int = 0,
    rate: float | None = None,
    names: Mapping[str, str] | Literal["pose2sim"] | None = None,
    missing: Literal["NaN", ""] = "NaN",
) -> None:
    """Write one person's 3D keypoints as an OpenSim ``.trc`` file (atomically).

    Args:
        path: the ``.trc`` file to write (its folder is created).
        poses: 3D poses (D = 3) in ``"world"`` or ``"body"`` space (metres, Z up).
        person: the person slot p to write.
        units: ``"m"`` (default), ``"cm"`` or ``"mm"``; coordinates are scaled
            from metres and written with 1 µm resolution.
        rotate_to_y_up: write OpenSim's Y-up axes, file ``(X, Y, Z)`` = world
            ``(y, z, x)`` (default); False writes the world axes as they are.
        frame_offset: row i gets frame number ``frame_offset + i + 1``.
        rate: frames per second for ``DataRate``/``CameraRate``/``OrigDataRate``.
            By default ``1 / median(time step)``, which needs at least 2 frames and
            steps within 1 % of the median. The Time column is always
            ``poses.times``.
        names: marker names: None (the skeleton's keypoint names, all of them),
            ``"pose2sim"`` (:data:`POSE2SIM_NAMES` for the skeleton) or a mapping
            keypoint name -> marker name, which also selects and orders the
            markers written.
        missing: text for a missing coordinate: ``"NaN"`` (default) or ``""``
            (empty fields; rows then end with a tab). See the module docstring.

    Raises:
        InputError: not 3D world/body poses, no frames, bad person index, bad
            names, units, rate or frame_offset, or irregular times without ``rate``.
    """
    if not isinstance(poses, Poses):
        raise InputError(f"poses must be a Poses object; got {type(poses).__name__}")
    if poses.dim != 3 or poses.space not in ("world", "body"):
        raise InputError(
            f"write_trc needs 3D poses in 'world' or 'body' space (metres, Z up); got "
            f"D={poses.dim} in {poses.space!r}. Triangulate or lift 2D poses, and move "
            f"camera-frame poses to the world first"
        )
    if poses.n_frames == 0:
        raise InputError("write_trc: poses have no frames; nothing to write")
    if isinstance(person, bool) or not isinstance(person, (int, np.integer)):
        raise InputError(f"person must be an integer index; got {person!r}")
    if not 0 <= int(person) < poses.n_people:
        raise InputError(
            f"person {person} out of range: poses have {poses.n_people} person slot(s)"
        )
    if units not in _UNITS:
        raise InputError(f"units must be one of {', '.join(_UNITS)}; got {units!r}")
    if missing not in _MISSING:
        raise InputError(f"missing must be 'NaN' or '' (empty fields); got {missing!r}")
    if isinstance(frame_offset, bool) or not isinstance(frame_offset, (int, np.integer)):
        raise InputError(f"frame_offset must be an integer; got {frame_offset!r}")
    frame_offset = int(frame_offset)
    if frame_offset < 0:
        raise InputError(f"frame_offset must be >= 0; got {frame_offset}")

    idx, markers = _marker_selection(poses, names)
    data_rate = _data_rate(poses.times, rate)
    scale, decimals = _UNITS[units]

    coords = poses.coords[:, int(person)][:, idx].astype(np.float64)  # (T, M, 3)
    scores = poses.scores[:, int(person)][:, idx]
    gone = ~np.isfinite(coords).all(-1) | (scores <= 0)
    coords[gone] = np.nan
    if rotate_to_y_up:
        coords = zup_to_yup(coords)
    coords = coords * scale

    t, m = coords.shape[:2]
    file_name = " ".join(Path(path).name.split())  # no tab or line break in the header
    note = (
        "posestack: Y up; X,Y,Z = world y,z,x"
        if rotate_to_y_up
        else "posestack: Z up; X,Y,Z = world x,y,z"
    )
    values = [
        _fmt_number(data_rate), _fmt_number(data_rate), str(t), str(m), units,
        _fmt_number(data_rate), str(frame_offset + 1), str(t),
    ]
    lines = [
        f"PathFileType\t4\t(X/Y/Z)\t{file_name} ({note})",
        "\t".join(_HEADER_KEYS),
        "\t".join(values),
        "Frame#\tTime\t" + "".join(f"{name}\t\t\t" for name in markers),
        "\t\t" + "".join(f"X{i}\tY{i}\tZ{i}\t" for i in range(1, m + 1)),
        "",
    ]
    cells = np.char.mod(f"%.{decimals}f", coords.reshape(t, m * 3))
    cells[np.isnan(coords.reshape(t, m * 3))] = missing
    end = "\t" if missing == "" else ""
    times = np.char.mod("%.6f", poses.times)
    for i in range(t):
        lines.append(f"{frame_offset + i + 1}\t{times[i]}\t" + "\t".join(cells[i]) + end)
    text = "\n".join(lines) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


# -- reading -------------------------------------------------------------------------------


def _split_header(line: str, maxsplit: int = -1) -> list[str]:
    """Non-empty fields of a header line: tab-separated, or whitespace when it has no tab."""
    if "\t" in line:
        parts = line.split("\t", maxsplit) if maxsplit >= 0 else line.split("\t")
        if maxsplit < 0:
            return [p.strip() for p in parts if p.strip()]
        return [p.strip() for p in parts]
    return line.split(None, maxsplit)


def _parse_value(key: str, value: str, path: Path) -> Any:
    try:
        if key in _INT_KEYS:
            return int(float(value))
        if key in _FLOAT_KEYS:
            return float(value)
    except ValueError:
        raise InputError(f"{path}: header value {key}={value!r} is not a number") from None
    return value


def read_trc(path: str | os.PathLike, *, z_up: bool = False, metres: bool = False) -> TRCData:
    """Read a ``.trc`` marker file (ours, OpenSim's, Pose2Sim's, Sports2D's).

    Args:
        path: the file.
        z_up: convert the file's Y-up axes back to the Z-up world with
            :func:`yup_to_zup` (right for files written with
            ``rotate_to_y_up=True`` and for Pose2Sim's files).
        metres: convert coordinates from the file's ``Units`` (m, cm, mm) to metres.

    Returns:
        :class:`TRCData` ``(names, times, xyz, header)``; empty fields and
        ``NaN`` (any case, any sign) are NaN.

    Raises:
        InputError: missing or unreadable file, a header that is not TRC, a
            marker count that disagrees with ``NumMarkers``, a row that is not
            numbers, or unknown units with ``metres=True``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"no such TRC file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read TRC file {path}: {exc}") from None
    lines = text.splitlines()
    if len(lines) < 5:
        raise InputError(f"{path}: not a TRC file (it has {len(lines)} line(s), a header has 5)")

    first = _split_header(lines[0], maxsplit=3)
    if not first or first[0] != "PathFileType":
        raise InputError(f"{path}: not a TRC file (line 1 must start with PathFileType)")
    header: dict[str, Any] = {}
    try:
        header["PathFileType"] = int(first[1]) if len(first) > 1 else None
    except ValueError:
        header["PathFileType"] = first[1]
    header["AxisLabel"] = first[2] if len(first) > 2 else ""
    header["FileName"] = "\t".join(first[3:])

    keys = _split_header(lines[1])
    vals = _split_header(lines[2])
    if len(keys) != len(vals) or "NumMarkers" not in keys:
        raise InputError(
            f"{path}: lines 2-3 must hold the header keys ({', '.join(_HEADER_KEYS)}) and "
            f"as many values; got {len(keys)} key(s) and {len(vals)} value(s)"
        )
    for key, value in zip(keys, vals, strict=True):
        header[key] = _parse_value(key, value, path)

    labels = [c.strip() for c in lines[3].split("\t") if c.strip()]
    if labels[:2] != ["Frame#", "Time"]:
        raise InputError(f"{path}: line 4 must start with Frame# and Time; got {labels[:2]}")
    names = tuple(labels[2:])
    m = header["NumMarkers"]
    if len(names) != m:
        raise InputError(
            f"{path}: header says NumMarkers={m} but line 4 names {len(names)} marker(s)"
        )

    width = 2 + 3 * m
    rows: list[list[str]] = []
    for lineno, line in enumerate(lines[5:], start=6):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) > width:
            if any(cells[width:]):
                raise InputError(
                    f"{path}, line {lineno}: {len(cells)} fields, expected {width} "
                    f"(Frame#, Time and 3 per marker)"
                )
            cells = cells[:width]
        elif len(cells) < width:
            cells += [""] * (width - len(cells))  # trailing missing markers left out
        if not cells[1]:
            raise InputError(f"{path}, line {lineno}: no time value")
        rows.append(cells)

    t = len(rows)
    if t:
        try:
            table = np.array(
                [[c if c else "nan" for c in row[1:]] for row in rows], dtype=np.float64
            )
        except ValueError as exc:
            raise InputError(
                f"{path}: a data row holds something that is not a number ({exc})"
            ) from None
    else:
        table = np.zeros((0, 1 + 3 * m))
    if "NumFrames" in header and header["NumFrames"] != t:
        log.warning("%s: header says NumFrames=%s but the file has %d row(s)",
                    path, header["NumFrames"], t)
    times = table[:, 0].copy()
    xyz = table[:, 1:].reshape(t, m, 3)
    if z_up:
        xyz = yup_to_zup(xyz)
    if metres:
        unit = str(header.get("Units", "")).strip().lower()
        if unit not in _UNITS:
            raise InputError(
                f"{path}: cannot convert Units={header.get('Units')!r} to metres; "
                f"known: {', '.join(_UNITS)}"
            )
        xyz = xyz / _UNITS[unit][0]
    return TRCData(names, times, np.ascontiguousarray(xyz), header)
