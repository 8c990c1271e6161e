"""OpenSim motion files (``.mot``, also ``.sto``): read them, write them.

Format (tab-separated; the header as OpenSim's Inverse Kinematics tool writes it)::

    Coordinates                         <- the table's name
    version=1
    nRows=<T>
    nColumns=<1 + N>                    <- the time column counts
    inDegrees=yes
    <blank line and free text lines>
    endheader
    time  <column 1>  ...  <column N>
    <t>   <value>     ...               <- one row per frame

``inDegrees=yes`` says that rotational coordinates are in degrees; translational
ones (``pelvis_tx`` ...) are always metres. OpenSim 4 ``.sto`` files
(``DataType=double``, ``OpenSimVersion=...`` lines, no ``nRows``) are read the
same way. Missing values are written as ``NaN`` and read back as NaN.

Example::

    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "walk.mot"
    >>> write_mot(path, ["knee_angle_r"], np.array([0.0, 0.01]), np.array([[5.0], [6.5]]))
    >>> m = read_mot(path)
    >>> m.names, m.values[:, 0].tolist(), m.header["inDegrees"]
    (('knee_angle_r',), [5.0, 6.5], 'yes')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import InputError
from ..io.atomic import atomic_path

__all__ = ["MOTData", "read_mot", "write_mot"]


class MOTData(NamedTuple):
    """What :func:`read_mot` returns.

    Attributes:
        names: the N column names after ``time``.
        times: ``(T,)`` float64 seconds.
        values: ``(T, N)`` float64, in the file's units (degrees when
            ``header["inDegrees"] == "yes"``, metres for translations).
        header: ``{"name": first line, key: value for each "key=value" line,
            "text": the other header lines}``.
    """

    names: tuple[str, ...]
    times: np.ndarray
    values: np.ndarray
    header: dict[str, Any]


_UNITS_TEXT = (
    "Units are S.I. units (second, meters, Newtons, ...)",
    "If the header above contains a line with 'inDegrees', this indicates whether rotational "
    "values are in degrees (yes) or radians (no).",
)


def read_mot(path: str | os.PathLike) -> MOTData:
    """Read an OpenSim ``.mot`` / ``.sto`` table.

    Returns:
        :class:`MOTData` ``(names, times, values, header)``.

    Raises:
        InputError: missing or unreadable file, no ``endheader`` line, no
            ``time`` column, rows of the wrong length or holding non-numbers.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"no such .mot file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read .mot file {path}: {exc}") from None
    lines = text.splitlines()
    end = next((i for i, line in enumerate(lines) if line.strip().lower() == "endheader"), None)
    if end is None:
        raise InputError(f"{path}: not an OpenSim .mot/.sto file (no 'endheader' line)")
    header: dict[str, Any] = {"name": lines[0].strip() if end > 0 else "", "text": []}
    for line in lines[1:end]:
        key, sep, value = line.partition("=")
        if sep and key.strip() and " " not in key.strip():
            header[key.strip()] = value.strip()
        elif line.strip():
            header["text"].append(line.strip())
    body = [line for line in lines[end + 1:] if line.strip()]
    if not body:
        raise InputError(f"{path}: no column-name line after 'endheader'")
    columns = [c.strip() for c in body[0].split("\t")] if "\t" in body[0] else body[0].split()
    if not columns or columns[0].lower() != "time":
        raise InputError(f"{path}: the first column must be 'time'; got {columns[:1]}")
    width = len(columns)
    rows = []
    for lineno, line in enumerate(body[1:], start=2):
        cells = line.split("\t") if "\t" in line else line.split()
        cells = [c.strip() for c in cells]
        while len(cells) > width and not cells[-1]:
            cells.pop()  # a trailing tab
        if len(cells) != width:
            raise InputError(
                f"{path}: data row {lineno - 1} has {len(cells)} field(s), expected {width} "
                f"(time and {width - 1} column(s))"
            )
        rows.append([c if c else "nan" for c in cells])
    try:
        table = np.array(rows, dtype=np.float64).reshape(len(rows), width)
    except ValueError as exc:
        raise InputError(f"{path}: a data row holds something that is not a number ({exc})") \
            from None
    return MOTData(tuple(columns[1:]), table[:, 0].copy(), np.ascontiguousarray(table[:, 1:]),
                   header)


def write_mot(
    path: str | os.PathLike,
    names: Sequence[str],
    times: np.ndarray,
    values: np.ndarray,
    *,
    in_degrees: bool = True,
    name: str = "Coordinates",
) -> None:
    """Write an OpenSim ``.mot`` table atomically (OpenSim's IK output layout).

    Args:
        path: the file to write (its folder is created).
        names: the N column names (``time`` is added in front).
        times: ``(T,)`` seconds.
        values: ``(T, N)``; NaN is written as ``NaN``.
        in_degrees: the ``inDegrees`` flag (rotational values in degrees).
        name: the table name on the first line.

    Raises:
        InputError: shapes that disagree, names that are empty, repeated or
            hold whitespace, non-finite times.
    """
    names = [str(n) for n in names]
    for n in names:
        if not n or any(c.isspace() for c in n) or n.lower() == "time":
            raise InputError(
                f"column names must be non-empty, without whitespace and not 'time'; got {n!r}"
            )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"column names must be unique; repeated: {dupes}")
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if times.ndim != 1 or not np.isfinite(times).all():
        raise InputError(f"times must be a (T,) array of finite seconds; got shape {times.shape}")
    if values.shape != (times.shape[0], len(names)):
        raise InputError(
            f"values must have shape (T, N) = ({times.shape[0]}, {len(names)}); "
            f"got {values.shape}"
        )
    if "\n" in name or not name.strip():
        raise InputError(f"name must be one non-empty line; got {name!r}")
    lines = [
        name.strip(),
        "version=1",
        f"nRows={times.shape[0]}",
        f"nColumns={len(names) + 1}",
        f"inDegrees={'yes' if in_degrees else 'no'}",
        "",
        *_UNITS_TEXT,
        "",
        "endheader",
        "\t".join(["time", *names]),
    ]
    cells = np.char.mod("%.8f", np.column_stack([times, values]))
    cells[np.isnan(np.column_stack([times, values]))] = "NaN"
    lines += ["\t".join(row) for row in cells]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
