"""The numbers behind ``posestack report``: angle names, normal ranges, range of motion,
left/right symmetry, angle plots (SVG) and the skeleton player's data.

Everything here is a pure function of arrays or tables (no files, no HTML), so each
number in the report can be checked on its own. Angles are in degrees, times in
seconds, coordinates in metres (3D) or pixels (2D), as in the bundle's tables.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

# --------------------------------------------------------------------------------------
# Angle names
# --------------------------------------------------------------------------------------

_PREFIX = re.compile(r"^(left|right)[_\s]+(.+)$", re.IGNORECASE)
_SUFFIX = re.compile(r"^(.+?)[_\s]+(l|r|left|right)$", re.IGNORECASE)
_SIDE = {"l": "left", "r": "right", "left": "left", "right": "right"}

ORDER = ("hip", "knee", "ankle", "shoulder", "elbow", "wrist", "pelvis", "lumbar", "trunk",
         "neck", "shoulders", "head", "thigh", "shank", "foot", "arm", "forearm", "hand")
"""Display order of angles by the first word of their quantity (joints first, then
trunk and segments); anything else follows in the order of the table."""

PLANAR_LABELS = {
    "hip": "Hip flexion (2D)", "knee": "Knee flexion (2D)",
    "ankle": "Ankle dorsiflexion (2D)", "shoulder": "Shoulder flexion (2D)",
    "elbow": "Elbow flexion (2D)", "pelvis": "Pelvis (segment, 2D)",
    "trunk": "Trunk (segment, 2D)", "shoulders": "Shoulder line (segment, 2D)",
    "head": "Head (segment, 2D)", "thigh": "Thigh (segment, 2D)",
    "shank": "Shank (segment, 2D)", "foot": "Foot (segment, 2D)",
    "arm": "Upper arm (segment, 2D)", "forearm": "Forearm (segment, 2D)",
    "hand": "Hand (segment, 2D)",
}
"""Readable titles of the planar (Sports2D) quantities, after docs/angles.md."""


def split_side(name: str) -> tuple[str | None, str]:
    """``(side, quantity)`` of an angle name: ``"left_knee_flexion"`` → ``("left",
    "knee_flexion")``, ``"hip_flexion_r"`` → ``("right", "hip_flexion")``,
    ``"pelvis_tilt"`` → ``(None, "pelvis_tilt")``."""
    m = _PREFIX.match(name)
    if m:
        return m.group(1).lower(), m.group(2)
    m = _SUFFIX.match(name)
    if m:
        return _SIDE[m.group(2).lower()], m.group(1)
    return None, name


def quantity_label(quantity: str, kind: str) -> str:
    """A readable title for a quantity (``"knee_flexion"`` → ``"Knee flexion"``)."""
    if kind == "planar" and quantity in PLANAR_LABELS:
        return PLANAR_LABELS[quantity]
    text = quantity.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def order_names(names: Sequence[str]) -> list[str]:
    """Angle names in display order: by :data:`ORDER` of the quantity's first word, then
    by first appearance; the left side before the right."""
    def key(item):
        i, name = item
        side, quantity = split_side(name)
        first = quantity.split("_")[0].lower()
        rank = ORDER.index(first) if first in ORDER else len(ORDER)
        return rank, quantity_first[quantity], {"left": 0, "right": 1}.get(side or "", 2), i

    quantity_first: dict[str, int] = {}
    for i, name in enumerate(names):
        quantity_first.setdefault(split_side(name)[1], i)
    return [n for _, n in sorted(enumerate(names), key=key)]


# --------------------------------------------------------------------------------------
# Normal ranges
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NormalRange:
    """A reference range of active motion, degrees, in the angle's own sign convention
    (``low`` may be negative: e.g. hip extension as negative flexion)."""

    low: float
    high: float
    text: str
    source: str


AAOS = ("AAOS, as tabulated in Norkin & White, Measurement of Joint Motion: A Guide to "
        "Goniometry (F.A. Davis), appendix of normal adult ranges")

# Normal active range of motion of healthy adults (AAOS; Greene & Heckman, The Clinical
# Measurement of Joint Motion, AAOS 1994; tabulated in Norkin & White's appendix):
#   hip flexion 0-120, extension 0-20, abduction 0-45, adduction 0-30,
#   internal (medial) rotation 0-45, external (lateral) rotation 0-45;
#   knee flexion 0-135; ankle dorsiflexion 0-20, plantarflexion 0-50;
#   shoulder flexion 0-180, extension 0-60, abduction 0-180;
#   elbow flexion 0-150; wrist flexion 0-80, extension 0-70.
# Only angles whose definition (docs/angles.md) measures the same motion with the same
# zero and sign get a range; segment angles and the pelvis/trunk get none.
NORMAL_RANGES_3D: dict[str, NormalRange] = {
    "hip_flexion": NormalRange(-20, 120, "flexion 0–120°, extension 0–20°", AAOS),
    "hip_adduction": NormalRange(-45, 30, "adduction 0–30°, abduction 0–45°", AAOS),
    "hip_rotation": NormalRange(-45, 45, "internal 0–45°, external 0–45°", AAOS),
    "knee_flexion": NormalRange(0, 135, "flexion 0–135°", AAOS),
    "ankle_dorsiflexion": NormalRange(-50, 20, "dorsiflexion 0–20°, plantarflexion 0–50°",
                                      AAOS),
    "shoulder_flexion": NormalRange(-60, 180, "flexion 0–180°, extension 0–60°", AAOS),
    "shoulder_abduction": NormalRange(0, 180, "abduction 0–180°", AAOS),
    "elbow_flexion": NormalRange(0, 150, "flexion 0–150°", AAOS),
    "wrist_flexion": NormalRange(-70, 80, "flexion 0–80°, extension 0–70°", AAOS),
}
"""Quantity (ISB names of ``joint_angles`` and the skeletal IK) -> normal range."""

NORMAL_RANGES_PLANAR: dict[str, NormalRange] = {
    # Sports2D planar joint angles: flexion positive, zero at the anatomical position
    # (docs/angles.md), i.e. the sagittal-plane motions above seen side-on.
    "hip": NORMAL_RANGES_3D["hip_flexion"],
    "knee": NORMAL_RANGES_3D["knee_flexion"],
    "ankle": NORMAL_RANGES_3D["ankle_dorsiflexion"],
    "shoulder": NORMAL_RANGES_3D["shoulder_flexion"],
    "elbow": NORMAL_RANGES_3D["elbow_flexion"],
}
"""Quantity (planar names) -> normal range; valid only for a side-on (sagittal) view."""


def normal_range(name: str, kind: str) -> NormalRange | None:
    """The normal range of an angle, or ``None`` where none applies.

    Args:
        name: the angle's name in the table (``"left_knee_flexion"``, ``"right_hip"``).
        kind: the table's ``posestack.kind``: ``"planar"`` (Sports2D 2D angles),
            ``"joint3d"`` or ``"ik"`` (ISB 3D angles); any other kind (e.g. OpenSim
            coordinates, whose zero and sign depend on the model) gets none.
    """
    quantity = split_side(name)[1].lower()
    if kind == "planar":
        return NORMAL_RANGES_PLANAR.get(quantity)
    if kind in ("joint3d", "ik"):
        return NORMAL_RANGES_3D.get(quantity)
    return None


# --------------------------------------------------------------------------------------
# Angle series, range of motion, symmetry
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AngleSeries:
    """Angles pivoted from the long table.

    Attributes:
        names: ``(A,)`` angle names in the table's order of first appearance.
        times: ``(T,)`` seconds, sorted, unique.
        persons: ``(P,)`` person ids.
        degrees: ``(T, P, A)`` float64 degrees; NaN where a person has no value.
        kind: the table's ``posestack.kind`` (``"planar"``, ``"joint3d"``, ``"ik"``, …).
    """

    names: tuple[str, ...]
    times: np.ndarray
    persons: tuple[int, ...]
    degrees: np.ndarray
    kind: str


def angle_series(table) -> AngleSeries:
    """Pivot a long angles table (pyarrow; columns ``time, person, angle, degrees``).

    Raises:
        InputError: a column is missing.
    """
    need = {"time", "person", "angle", "degrees"}
    if not need <= set(table.column_names):
        raise InputError(f"an angles table needs the columns {sorted(need)}; this one has "
                         f"{table.column_names}")
    md = table.schema.metadata or {}
    kind = md.get(b"posestack.kind", b"").decode()
    times = np.asarray(table.column("time").to_numpy(zero_copy_only=False), float)
    person = np.asarray(table.column("person").to_numpy(zero_copy_only=False)).astype(int)
    angle = [str(x) for x in table.column("angle").to_pylist()]
    deg = np.asarray(table.column("degrees").to_numpy(zero_copy_only=False), float)
    names = list(dict.fromkeys(angle))
    col = {n: i for i, n in enumerate(names)}
    ut, ti = np.unique(times, return_inverse=True)
    up, pi = np.unique(person, return_inverse=True)
    values = np.full((len(ut), len(up), len(names)), np.nan)
    values[ti, pi, np.array([col[a] for a in angle], dtype=int)] = deg
    return AngleSeries(tuple(names), ut, tuple(int(p) for p in up), values, kind)


def continuous_branch(degrees: np.ndarray) -> tuple[np.ndarray, bool]:
    """Angles ``(N,)`` (degrees, NaN allowed) moved by whole turns onto the branch where
    they span the least, when they cross the ±180° cut (e.g. a segment pointing left:
    ``179, -179`` → ``179, 181``): ``(values, moved)``.

    The cut is put in the middle of the largest gap between the values around the
    circle; the branch is chosen so the mean lies in [−180, 180). Values that span
    180° or less are returned unchanged.
    """
    v = np.asarray(degrees, float)
    finite = v[np.isfinite(v)]
    if finite.size < 2 or finite.max() - finite.min() <= 180.0:
        return v, False
    m = np.sort(np.mod(finite, 360.0))
    gaps = np.diff(np.concatenate([m, [m[0] + 360.0]]))
    i = int(np.argmax(gaps))
    low = m[i] + gaps[i] / 2.0 - 360.0  # the branch [low, low + 360)
    out = np.mod(v - low, 360.0) + low
    if np.nanmax(out) - np.nanmin(out) >= finite.max() - finite.min() - 1e-9:
        return v, False
    mean = float(np.nanmean(out))
    out = out - 360.0 * math.floor((mean + 180.0) / 360.0)
    return out, True


@dataclass(frozen=True)
class RomRow:
    """Range of motion of one angle of one person, degrees (NaN where no frame has a
    value); ``frames``: how many frames have a value; ``unwrapped``: the values crossed
    ±180° and are taken on a continuous branch (:func:`continuous_branch`)."""

    person: int
    angle: str
    minimum: float
    maximum: float
    mean: float
    range: float
    frames: int
    normal: NormalRange | None
    unwrapped: bool = False


def rom_rows(series: AngleSeries) -> list[RomRow]:
    """Min, max, mean and range (max − min) of every angle of every person, over the
    frames where the angle is defined, in :func:`order_names` order; values that cross
    ±180° are first put on a continuous branch (:func:`continuous_branch`)."""
    rows = []
    index = {n: i for i, n in enumerate(series.names)}
    for p, person in enumerate(series.persons):
        for name in order_names(series.names):
            v, moved = continuous_branch(series.degrees[:, p, index[name]])
            v = v[np.isfinite(v)]
            if v.size == 0:
                lo = hi = mean = float("nan")
            else:
                lo, hi, mean = float(v.min()), float(v.max()), float(v.mean())
            rows.append(RomRow(person, name, lo, hi, mean, hi - lo, int(v.size),
                               normal_range(name, series.kind), moved))
    return rows


def symmetry_index(left: float, right: float) -> float:
    """Symmetry index, percent: ``100·|L − R| / ((L + R) / 2)`` (0 = symmetric); NaN
    where either value is NaN or ``L + R`` is 0."""
    if not (math.isfinite(left) and math.isfinite(right)) or left + right == 0:
        return float("nan")
    return 100.0 * abs(left - right) / ((left + right) / 2.0)


@dataclass(frozen=True)
class SymmetryRow:
    """Left and right range of motion (degrees) of one quantity and their symmetry
    index (percent)."""

    person: int
    quantity: str
    left_range: float
    right_range: float
    index: float


def symmetry_rows(rows: Sequence[RomRow]) -> list[SymmetryRow]:
    """One row per person and quantity that has both a left and a right angle."""
    by: dict[tuple[int, str], dict[str, RomRow]] = {}
    for r in rows:
        side, quantity = split_side(r.angle)
        if side:
            by.setdefault((r.person, quantity), {})[side] = r
    out = []
    for (person, quantity), sides in by.items():
        if "left" in sides and "right" in sides:
            lr, rr = sides["left"].range, sides["right"].range
            out.append(SymmetryRow(person, quantity, lr, rr, symmetry_index(lr, rr)))
    return out


# --------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------

LEFT, RIGHT, MIDDLE = "#1a9b3c", "#e8750a", "#2f7fd6"
"""Curve colours: the person's left, right, and midline (close to the overlay's)."""
BAND = "#2e7d32"
MAX_POINTS = 2000
"""Samples per curve at most (every n-th frame beyond it)."""
COLS = 4


def _subsample(n: int, limit: int) -> slice:
    return slice(None, None, max(1, math.ceil(n / limit)))


def plot_person_svg(series: AngleSeries, person: int, *, cols: int = COLS) -> str:
    """Inline SVG (text, no XML prolog) of one person's angles: one small plot per
    quantity, left and right on the same axes, the normal range shaded where known;
    angles without a single value are left out.

    x: time (s); y: degrees (values crossing ±180° on a continuous branch, as in the
    table). Rendered with matplotlib's SVG backend on a private ``Figure`` (no pyplot
    state is touched).

    Raises:
        InputError: ``person`` is not in the series.
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    if person not in series.persons:
        raise InputError(f"no person {person} in the angles (persons: {series.persons})")
    p = series.persons.index(person)
    groups: dict[str, list[tuple[str | None, int]]] = {}
    index = {n: i for i, n in enumerate(series.names)}
    for name in order_names(series.names):
        side, quantity = split_side(name)
        if np.isfinite(series.degrees[:, p, index[name]]).any():  # no empty plots
            groups.setdefault(quantity, []).append((side, index[name]))
    rows = max(1, math.ceil(len(groups) / cols))
    sl = _subsample(len(series.times), MAX_POINTS)
    t = series.times[sl]
    rc = {"svg.fonttype": "none", "svg.hashsalt": f"posestack-report-{person}",
          "font.family": "sans-serif", "font.size": 8.5, "axes.titlesize": 9.5,
          "axes.edgecolor": "#b0b8c0", "axes.linewidth": 0.8, "xtick.color": "#505a64",
          "ytick.color": "#505a64", "axes.labelcolor": "#505a64"}
    with mpl.rc_context(rc):
        fig = Figure(figsize=(3.0 * cols, 2.15 * rows + 0.25), dpi=100)
        FigureCanvasSVG(fig)
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, (quantity, curves) in zip(axes.flat, groups.items(), strict=False):
            values = []
            for side, a in curves:
                y = continuous_branch(series.degrees[:, p, a])[0][sl]
                values.append(y[np.isfinite(y)])
                colour = {"left": LEFT, "right": RIGHT}.get(side or "", MIDDLE)
                ax.plot(t, y, color=colour, lw=1.4, label=side or "")
            normal = normal_range(series.names[curves[0][1]], series.kind)
            finite = np.concatenate(values) if values else np.empty(0)
            if normal is not None:
                ax.axhspan(normal.low, normal.high, color=BAND, alpha=0.09, lw=0)
                for edge in (normal.low, normal.high):
                    ax.axhline(edge, color=BAND, lw=0.7, ls=(0, (3, 3)), alpha=0.7)
            if finite.size:
                lo, hi = float(finite.min()), float(finite.max())
                pad = max(5.0, 0.12 * (hi - lo))
                ax.set_ylim(lo - pad, hi + pad)
            else:
                ax.text(0.5, 0.5, "no values", ha="center", va="center",
                        transform=ax.transAxes, color="#8a949e")
            if t.size:
                ax.set_xlim(float(t[0]), float(t[-1]) if t[-1] > t[0] else float(t[0]) + 1)
            ax.set_title(quantity_label(quantity, series.kind), loc="left")
            ax.grid(True, color="#e6eaee", lw=0.6)
            ax.spines[["top", "right"]].set_visible(False)
            ax.tick_params(length=2)
            ax.set_ylabel("deg")
            ax.set_xlabel("time (s)")
        for ax in list(axes.flat)[len(groups):]:
            ax.set_visible(False)
        fig.tight_layout(pad=0.6, h_pad=0.9, w_pad=0.8)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", facecolor="white",  # no metadata: no URLs in it
                    metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    return clean_svg(buf.getvalue())


def clean_svg(svg: str) -> str:
    """An SVG document as inline markup: no XML prolog or DOCTYPE, and scaling with its
    container (width 100%, height from the viewBox)."""
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    head_end = svg.find(">")
    head = re.sub(r'\s(width|height)="[^"]*"', "", svg[:head_end])
    return head + ' width="100%" preserveAspectRatio="xMinYMin meet"' + svg[head_end:]


# --------------------------------------------------------------------------------------
# Skeleton player data
# --------------------------------------------------------------------------------------

MAX_FRAMES = 1800
"""Frames in the player at most (every n-th beyond it)."""
BODY_SPACING = 1000.0
"""mm between people in ``body`` space (each centred on their own hips), side by side."""
MAX_VALUES = 3_000_000
"""Numbers in the player's data at most (fewer frames beyond it)."""


def display_axes(coords: np.ndarray, space: str) -> np.ndarray:
    """Coordinates ``(..., 3)`` (or ``(..., 2)`` in an image) in the player's frame:
    right-handed, Z up, units unchanged.

    ``world``: unchanged (posestack's world is Z up). ``body``/``camera:*``
    (x right, y down, z away from the camera): ``(x, z, −y)``. ``image:*`` (pixels,
    y down): ``(x, 0, −y)``.
    """
    c = np.asarray(coords, dtype=float)
    if space.startswith("image") or c.shape[-1] == 2:
        return np.stack([c[..., 0], np.zeros_like(c[..., 0]), -c[..., 1]], axis=-1)
    if space == "world":
        return c.copy()
    return np.stack([c[..., 0], c[..., 2], -c[..., 1]], axis=-1)


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Fill NaN by interpolation (edges held), then a centred moving average."""
    x = np.asarray(x, float)
    ok = np.isfinite(x)
    if not ok.any():
        return np.zeros_like(x)
    idx = np.arange(len(x))
    x = np.interp(idx, idx[ok], x[ok])
    if width > 1 and len(x) > 1:
        pad = np.pad(x, width // 2, mode="edge")
        x = np.convolve(pad, np.ones(width) / width, mode="valid")[: len(idx)]
    return x


def player_data(times: np.ndarray, coords: np.ndarray, persons: Sequence[int],
                keypoints: Sequence[str], edges: Sequence[tuple[int, int]], space: str,
                *, max_frames: int = MAX_FRAMES) -> dict:
    """The skeleton player's data, ready for JSON.

    Args:
        times: ``(T,)`` seconds.
        coords: ``(T, P, K, D)`` metres (D = 3) or pixels (D = 2); NaN where missing.
        persons: ``(P,)`` person ids.
        keypoints: ``(K,)`` names; ``edges``: index pairs into them.
        space: the table's ``posestack.space`` (``"world"``, ``"body"``, ``"image:…"``);
            in ``body`` space people are set :data:`BODY_SPACING` apart along x.
        max_frames: frames kept at most (every n-th frame beyond it).

    Returns:
        ``{"mode": "3d"|"2d", "unit": "mm"|"px", "times": [T'], "persons", "keypoints",
        "edges", "sides": [K] ("l"/"r"/"m"), "frames": [T'][P] (flat ``[x, y, z]·K``
        integers in mm or px, ``null`` per missing point, or ``null`` for an absent
        person), "centre": [T'][x, y, z] (smoothed), "floor", "extent", "azimuth"}`` in the
        player's Z-up frame (:func:`display_axes`).
    """
    coords = np.asarray(coords, float)
    times = np.asarray(times, float)
    if coords.ndim != 4 or coords.shape[0] != times.shape[0] or \
            coords.shape[2] != len(keypoints):
        raise ValueError(f"coords must have shape (T, P, K, D) = ({times.shape[0]}, P, "
                         f"{len(keypoints)}, 2|3); got {coords.shape}")
    is2d = coords.shape[-1] == 2 or space.startswith("image")
    T, P, K = coords.shape[:3]
    keep = max(1, min(max_frames, MAX_VALUES // max(1, P * K * 3)))
    sl = _subsample(T, keep)
    xyz = display_axes(coords[sl], space) * (1.0 if is2d else 1000.0)  # mm or px
    if (space == "body" or space.startswith("camera:")) and P > 1:  # each on their hips
        xyz[..., 0] += ((np.arange(P) - (P - 1) / 2.0) * BODY_SPACING)[None, :, None]
    times = times[sl]
    frames = []
    for f in range(xyz.shape[0]):
        row = []
        for p in range(P):
            pts = xyz[f, p]
            if not np.isfinite(pts).any():
                row.append(None)
                continue
            flat: list[int | None] = []
            for k in range(K):
                if np.isfinite(pts[k]).all():
                    flat.extend(round(float(v)) for v in pts[k])
                else:
                    flat.extend((None, None, None))
            row.append(flat)
        frames.append(row)
    fps = 1.0 / float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    with np.errstate(all="ignore"):
        centre_raw = np.nanmean(xyz.reshape(len(times), -1, 3), axis=1) \
            if len(times) else np.zeros((0, 3))
    width = max(1, round(fps * 0.5))
    centre = np.stack([_smooth(centre_raw[:, 0], width), _smooth(centre_raw[:, 1], width),
                       _smooth(centre_raw[:, 2], width)], axis=-1) if len(times) \
        else np.zeros((0, 3))
    rel = xyz - centre[:, None, None, :]
    dist = np.sqrt(np.nansum(rel**2, axis=-1))
    dist[~np.isfinite(xyz).all(axis=-1)] = np.nan
    with np.errstate(all="ignore"):
        per_frame = np.nanmax(dist.reshape(len(times), -1), axis=1) if len(times) else []
    per_frame = np.asarray(per_frame, float)
    extent = float(np.nanpercentile(per_frame, 95)) if np.isfinite(per_frame).any() else 1.0
    zs = xyz[..., 2][np.isfinite(xyz[..., 2])]
    floor = float(np.percentile(zs, 1)) if zs.size else 0.0
    # Look across the main direction of travel (a side view of walking), else along +Y.
    azimuth = 0.0
    ok = np.isfinite(centre_raw[:, 0]) if len(times) else np.zeros(0, bool)
    if not is2d and ok.sum() > 1:
        d = centre_raw[ok][-1, :2] - centre_raw[ok][0, :2]
        if float(np.hypot(*d)) > 300.0:  # mm
            azimuth = float(math.atan2(d[1], d[0]))  # view along the travel's normal
    sides = []
    for name in keypoints:
        n = name.lower()
        sides.append("l" if n.startswith("left") else "r" if n.startswith("right") else "m")
    return {
        "mode": "2d" if is2d else "3d", "unit": "px" if is2d else "mm",
        "times": [round(float(t), 4) for t in times], "persons": [int(p) for p in persons],
        "keypoints": list(keypoints), "edges": [[int(a), int(b)] for a, b in edges],
        "sides": sides, "frames": frames,
        "centre": [[round(float(c[0]), 1), round(float(c[1]), 1), round(float(c[2]), 1)]
                   for c in centre],
        "floor": round(floor, 1), "extent": round(max(extent, 1e-3), 1),
        "azimuth": round(azimuth, 4),
    }


def keypoint_arrays(table, keypoints: Sequence[str], camera: str | None = None):
    """Pivot a long keypoint table (pyarrow; ``time, person, keypoint, x, y[, z]``).

    Args:
        table: a ``keypoints2d``/``keypoints3d``/``keypoints3d_body`` table.
        keypoints: ``(K,)`` the layout's names (rows with other names are dropped).
        camera: keep only this camera's rows where the table has a ``camera`` column.

    Returns:
        ``(times (T,), persons (P,), coords (T, P, K, D))``: seconds, ids, and metres
        or pixels with NaN where missing; D = 3 with a ``z`` column, else 2.
    """
    import pyarrow.compute as pc

    if camera is not None and "camera" in table.column_names:
        table = table.filter(pc.equal(table.column("camera").cast("string"), camera))
    cols = ["x", "y", "z"] if "z" in table.column_names else ["x", "y"]
    times = np.asarray(table.column("time").to_numpy(zero_copy_only=False), float)
    person = np.asarray(table.column("person").to_numpy(zero_copy_only=False)).astype(int)
    names = [str(x) for x in table.column("keypoint").to_pylist()]
    xyz = np.stack([np.asarray(table.column(c).to_numpy(zero_copy_only=False), float)
                    for c in cols], axis=-1) if table.num_rows else np.empty((0, len(cols)))
    col = {n: i for i, n in enumerate(keypoints)}
    k = np.array([col.get(n, -1) for n in names], dtype=int)
    keep = k >= 0
    ut, ti = np.unique(times[keep], return_inverse=True)
    up, pi = np.unique(person[keep], return_inverse=True)
    out = np.full((len(ut), len(up), len(keypoints), len(cols)), np.nan)
    out[ti, pi, k[keep]] = xyz[keep]
    return ut, tuple(int(p) for p in up), out
