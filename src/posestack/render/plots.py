"""PNG plots of joint angles over time, one figure per person (like Sports2D's).

Layout:
    One figure per person, titled with the person. Angles are sorted into
    groups (rows of subplots with a title): lower limb (hip, knee, ankle),
    upper limb (shoulder, elbow, wrist), trunk and pelvis; angles that match
    no group go to a last "Other" group, so nothing is left out silently.
    One subplot per joint quantity (e.g. "knee flexion") holds its left and
    right curves: the person's left side green, right side orange (the
    overlay colours of :mod:`posestack.render.draw`), a midline angle blue.
    x: time in seconds; y: degrees. Missing samples (NaN) break the line.

Names:
    An angle's side and joint come from its name's words (split on anything
    but letters and digits, case ignored): a word ``left``/``l`` or
    ``right``/``r`` gives the side (``left_knee_flexion``, ``knee_angle_r``,
    ``Right hip``); the remaining words name the subplot (``knee flexion``).
    A group takes an angle when one of its keywords is one of those words.

Rendering uses matplotlib's Agg canvas on a private ``Figure`` (no pyplot,
no global backend switch), so importing or calling this module changes no
matplotlib state. matplotlib is an optional dependency (``posestack[plot]``).
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, PosestackError

log = logging.getLogger(__name__)

DEFAULT_GROUPS: dict[str, tuple[str, ...]] = {
    "Lower limb": ("hip", "knee", "ankle", "subtalar", "mtp", "foot", "toe", "thigh", "shank"),
    "Upper limb": ("shoulder", "arm", "elbow", "forearm", "wrist", "hand"),
    "Trunk and pelvis": ("pelvis", "trunk", "lumbar", "spine", "thorax", "torso", "neck",
                         "head"),
}
"""Group title -> keywords, in plotting order (rows top to bottom)."""

OTHER = "Other"

LEFT = (0 / 255, 200 / 255, 0 / 255)
RIGHT = (255 / 255, 128 / 255, 0 / 255)
MIDDLE = (51 / 255, 153 / 255, 255 / 255)

MAX_COLS = 4
"""Subplots per row; a group with more wraps onto further rows."""

WIDTH_IN, ROW_IN, TOP_IN, DPI = 12.0, 2.8, 0.6, 100
"""Figure size: WIDTH_IN wide, TOP_IN + ROW_IN per row of subplots high (inches), at DPI."""

_SIDES = {"left": "left", "l": "left", "right": "right", "r": "right"}


@dataclass(frozen=True)
class _Angles:
    """names (A,), times (T,) s, degrees (T, P, A), persons (P,) labels."""

    names: tuple[str, ...]
    times: np.ndarray
    degrees: np.ndarray
    persons: tuple[int, ...]


def _from_table(table) -> _Angles:
    """Pivot a long angles table (frame, time, person, angle, degrees) to arrays."""
    need = {"time", "person", "angle", "degrees"}
    if not need <= set(table.column_names):
        raise InputError(f"an angles table needs columns {sorted(need)}; it has "
                         f"{table.column_names}")
    times = np.asarray(table.column("time").to_numpy(zero_copy_only=False), float)
    person = np.asarray(table.column("person").to_numpy(zero_copy_only=False)).astype(int)
    angle = np.asarray([str(x) for x in table.column("angle").to_pylist()], dtype=object)
    deg = np.asarray(table.column("degrees").to_numpy(zero_copy_only=False), float)
    names = list(dict.fromkeys(angle.tolist()))  # order of first appearance
    col = {n: i for i, n in enumerate(names)}
    ut, ti = np.unique(times, return_inverse=True)
    up, pi = np.unique(person, return_inverse=True)
    ai = np.array([col[x] for x in angle], dtype=int)
    values = np.full((len(ut), len(up), len(names)), np.nan)
    values[ti, pi, ai] = deg
    return _Angles(tuple(names), ut, values, tuple(int(p) for p in up))


def _as_angles(angles) -> _Angles:
    if hasattr(angles, "column_names"):  # a pyarrow Table
        return _from_table(angles)
    try:
        names = tuple(str(n) for n in angles.names)
        times = np.asarray(angles.times, dtype=float)
        degrees = np.asarray(angles.degrees, dtype=float)
    except (AttributeError, TypeError, ValueError):
        raise InputError("plot_angles needs a long angles table (pyarrow Table with time, "
                         "person, angle, degrees) or an object with names (A,), times (T,) "
                         f"and degrees (T, P, A); got {type(angles).__name__}") from None
    if degrees.ndim != 3 or degrees.shape[0] != times.shape[0] or \
            degrees.shape[2] != len(names) or times.ndim != 1:
        raise InputError(f"degrees must have shape (T, P, A) = ({times.shape[0]}, P, "
                         f"{len(names)}); got {degrees.shape}")
    return _Angles(names, times, degrees, tuple(range(degrees.shape[1])))


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]


def _classify(name: str, groups: Mapping[str, Sequence[str]]) -> tuple[str, int, str, str]:
    """(group, keyword rank, subplot title, side) of an angle name."""
    words = _words(name)
    sides = [_SIDES[w] for w in words if w in _SIDES]
    side = sides[0] if sides else "middle"
    rest = [w for w in words if w not in _SIDES] or words or [name]
    for group, keys in groups.items():
        for rank, key in enumerate(keys):
            if key.lower() in rest:
                return group, rank, " ".join(rest), side
    return OTHER, 0, " ".join(rest), side


def _layout(names: Sequence[str], groups: Mapping[str, Sequence[str]]):
    """Ordered ``{group: {subplot title: [(angle index, side), ...]}}``."""
    found: dict[str, dict[str, list]] = {}
    keyed = []
    for i, name in enumerate(names):
        group, rank, title, side = _classify(name, groups)
        keyed.append((group, rank, title, side, i))
    order = {g: k for k, g in enumerate([*groups, OTHER])}
    keyed.sort(key=lambda x: (order[x[0]], x[1], x[4]))
    for group, _, title, side, i in keyed:
        found.setdefault(group, {}).setdefault(title, []).append((i, side))
    side_order = {"left": 0, "right": 1, "middle": 2}
    for subplots in found.values():
        for curves in subplots.values():
            curves.sort(key=lambda c: side_order[c[1]])
    return found


def _rows(layout) -> list[int]:
    return [math.ceil(len(s) / MAX_COLS) for s in layout.values()]


def _figure_size(layout) -> tuple[float, float]:
    """Figure size in inches for a layout: fixed width, TOP_IN + ROW_IN per subplot row."""
    return WIDTH_IN, TOP_IN + ROW_IN * sum(_rows(layout))


def _draw_person(data: _Angles, p: int, layout, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..io.atomic import atomic_path

    fig = Figure(figsize=_figure_size(layout), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(f"Person {data.persons[p]}: joint angles", fontsize=14, fontweight="bold")
    rows = _rows(layout)
    ncols = min(MAX_COLS, max(len(s) for s in layout.values()))
    subfigs = fig.subfigures(len(layout), 1, height_ratios=rows, squeeze=False)[:, 0]
    t = data.times
    colours = {"left": LEFT, "right": RIGHT, "middle": MIDDLE}
    for sub, (group, subplots), nrow in zip(subfigs, layout.items(), rows, strict=True):
        sub.suptitle(group, fontsize=12, fontweight="bold", x=0.01, ha="left")
        axes = sub.subplots(nrow, ncols, squeeze=False).ravel()
        for ax, (title, curves) in zip(axes, subplots.items(), strict=False):
            for i, side in curves:
                label = data.names[i] if side == "middle" else side
                ax.plot(t, data.degrees[:, p, i], color=colours[side], lw=1.4, label=label)
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("time (s)", fontsize=9)
            ax.set_ylabel("degrees", fontsize=9)
            ax.tick_params(labelsize=8)
            ax.grid(True, alpha=0.3)
            if len(t) > 1:
                ax.set_xlim(t[0], t[-1])
            ax.legend(fontsize=8, loc="best", framealpha=0.7)
        for ax in axes[len(subplots):]:
            ax.set_visible(False)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)


def plot_angles(angles, out_dir: str | os.PathLike, *, person: int | None = None,
                groups: Mapping[str, Sequence[str]] | None = None) -> list[Path]:
    """Write ``out_dir/angles_person<p>.png``, one figure per person (see the module docstring).

    Args:
        angles: a long angles table (``pyarrow.Table`` with columns time,
            person, angle, degrees, as in ``angles.parquet``) or an object with
            ``names`` (A,), ``times`` (T,) in seconds and ``degrees`` (T, P, A);
            persons are then numbered 0..P-1.
        out_dir: folder for the PNGs (created).
        person: plot only this person (default: every person with data).
        groups: group title -> keywords, in row order (default
            :data:`DEFAULT_GROUPS`); angles matching none go to "Other".

    Returns the paths written, in person order. A person with no finite
    angle is skipped.

    Raises:
        InputError: malformed angles, no angles, or ``person`` absent.
        PosestackError: matplotlib is not installed.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PosestackError("plots need matplotlib: pip install 'posestack[plot]'") from None
    data = _as_angles(angles)
    if not data.names or data.times.size == 0:
        raise InputError("no angles to plot (the table is empty)")
    groups = DEFAULT_GROUPS if groups is None else dict(groups)
    if person is None:
        chosen = list(range(len(data.persons)))
    elif person in data.persons:
        chosen = [data.persons.index(person)]
    else:
        raise InputError(f"no angles for person {person}; persons present: {list(data.persons)}")
    layout = _layout(data.names, groups)
    out_dir = Path(out_dir)
    written = []
    for p in chosen:
        if not np.isfinite(data.degrees[:, p]).any():
            log.info("person %d has no angles; no plot", data.persons[p])
            continue
        path = out_dir / f"angles_person{data.persons[p]}.png"
        _draw_person(data, p, layout, path)
        written.append(path)
    return written


def plot_bundle(folder: str | os.PathLike, out: str | os.PathLike | None = None) -> list[Path]:
    """Plot a bundle's ``angles.parquet``: ``<out or folder/plots>/angles_person<p>.png``.

    Raises:
        InputError: ``folder`` is not a bundle folder, has no ``angles.parquet``,
            or it cannot be read.
    """
    from ..io.tables import read_parquet

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a bundle folder; give the folder that "
                         "`posestack run VIDEO -o OUT` made (OUT/<video name>)")
    src = folder / "angles.parquet"
    if not src.is_file():
        why = ("its manifest.json warnings say why" if (folder / "manifest.json").is_file()
               else "it has no manifest.json either: is it a posestack bundle?")
        raise InputError(f"{src} not found: {folder} has no joint angles ({why}). `posestack "
                         "run VIDEO -o OUT` writes angles.parquet when the keypoints have a "
                         "body (any layout but hands or face alone)")
    table = read_parquet(src, what="angles table")
    return plot_angles(table, Path(out) if out is not None else folder / "plots")
