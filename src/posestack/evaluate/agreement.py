"""Agreement of two sets of joint angles, compared the way measuring instruments are.

Bland and Altman's method (Lancet 1986): two instruments measure the same
quantity; their agreement is summarised by the mean difference (bias), the
spread of the differences and the interval expected to hold 95% of them (the
limits of agreement), with RMSE and Pearson's r beside them as the motion
capture literature reports them.

Convention:
    Difference ``d = a − b``: a positive bias means ``a`` reads higher than
    ``b``. Everything is in the units of the inputs (degrees for
    ``angles.parquet`` and ``.mot`` files; ``units`` is only a label).

    ==========  ============================================================
    n           paired samples where both ``a`` and ``b`` are finite
    rmse        ``sqrt(mean(d²))``
    bias        ``mean(d)``
    sd          sample standard deviation of ``d`` (``ddof=1``)
    loa         95% limits of agreement: ``bias ± 1.96·sd``
    r           Pearson correlation of ``a`` and ``b``
    ==========  ============================================================

    ``overall`` pools every finite (frame, angle) pair of all angles into one
    sample (bias and RMSE then weigh each angle by its number of samples; r
    mixes between-angle and within-angle variation, so it is usually higher
    than any angle's own r).

Confidence intervals (block bootstrap):
    Bootstrap percentile intervals (level ``ci``) for RMSE, bias and r, from
    ``n_boot`` resamples of *frames*: a frame keeps all its angles together,
    so the pooled intervals respect that the angles of a frame are measured
    together. Consecutive frames of a video are not independent (errors come
    in runs: a misdetected limb stays wrong for several frames), and an
    ordinary bootstrap of single frames then gives intervals that are too
    narrow. Resamples are therefore built by the moving-block bootstrap
    (Künsch 1989): blocks of ``block`` consecutive frames, started at random,
    are concatenated up to the series' length. Choose ``block`` at least as
    long as the errors stay correlated (the default, 10 frames, is a third of
    a second at 30 fps); ``block=1`` is the ordinary bootstrap, right for
    independent samples. Frames with NaN stay in the resamples and their pairs
    are dropped there, like in the point estimates. Resamples are drawn from a
    generator seeded with ``seed``, so a report is reproducible.

Example:
    >>> import numpy as np
    >>> t = np.linspace(0, 2, 201)
    >>> a = 30 * np.sin(2 * np.pi * t)
    >>> rep = agreement(a, a + 2, names=["knee"], n_boot=200)
    >>> round(rep["knee"].bias, 6), round(rep["knee"].rmse, 6), round(rep["knee"].r, 6)
    (-2.0, 2.0, 1.0)
"""

from __future__ import annotations

import logging
import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

log = logging.getLogger(__name__)

Z_LOA = 1.96
"""Multiplier of the SD in the 95% limits of agreement (Bland–Altman)."""

OVERALL = "overall"
"""Name of the pooled row in tables and reports."""

_CHUNK = 4_000_000  # bootstrap weights held at once (replicates × frames)


@dataclass(frozen=True)
class AngleAgreement:
    """Agreement statistics of one angle (or of all angles pooled).

    ``*_ci`` are ``(low, high)`` bootstrap percentile intervals; NaN where
    undefined (no resamples, or too few samples: SD and r need ``n >= 2``, r a
    non-constant ``a`` and ``b``).
    """

    name: str
    n: int
    rmse: float
    bias: float
    sd: float
    loa_lower: float
    loa_upper: float
    r: float
    rmse_ci: tuple[float, float]
    bias_ci: tuple[float, float]
    r_ci: tuple[float, float]

    def row(self) -> dict:
        """A flat dict: the fields, each interval split into ``*_lo`` and ``*_hi``."""
        out = {}
        for key, value in asdict(self).items():
            if key.endswith("_ci"):
                out[key[:-3] + "_lo"], out[key[:-3] + "_hi"] = value
            else:
                out[key] = value
        return out


@dataclass(frozen=True)
class AgreementReport:
    """Per-angle and pooled agreement of ``labels[0]`` (a) against ``labels[1]`` (b).

    Attributes:
        angles: one :class:`AngleAgreement` per angle, in input order.
        overall: all angles pooled (named ``"overall"``).
        ci: level of the bootstrap intervals (e.g. 0.95).
        n_boot: number of bootstrap resamples (0: no intervals).
        block: block length of the bootstrap, in frames.
        seed: seed of the resampling generator.
        labels: names of the two sources, for display (``bias = a − b``).
        units: unit label of the values, for display.
    """

    angles: tuple[AngleAgreement, ...]
    overall: AngleAgreement
    ci: float
    n_boot: int
    block: int
    seed: int
    labels: tuple[str, str] = ("a", "b")
    units: str = "deg"

    @property
    def names(self) -> tuple[str, ...]:
        """The angle names, in order (without ``"overall"``)."""
        return tuple(s.name for s in self.angles)

    def __getitem__(self, name: str) -> AngleAgreement:
        """The statistics of one angle by name, or ``"overall"``."""
        if name == OVERALL:
            return self.overall
        for s in self.angles:
            if s.name == name:
                return s
        raise KeyError(f"no angle {name!r}; the report has: {', '.join(self.names)}, {OVERALL}")

    def rows(self) -> list[dict]:
        """One flat dict per angle, then the ``overall`` row (see :meth:`AngleAgreement.row`)."""
        return [s.row() for s in (*self.angles, self.overall)]

    def to_table(self):
        """A ``pyarrow.Table`` of :meth:`rows`: one row per angle, the last ``overall``.

        Columns: name, n, rmse, bias, sd, loa_lower, loa_upper, r, rmse_lo,
        rmse_hi, bias_lo, bias_hi, r_lo, r_hi.
        """
        import pyarrow as pa

        rows = self.rows()
        cols = ["name", "n", "rmse", "bias", "sd", "loa_lower", "loa_upper", "r",
                "rmse_lo", "rmse_hi", "bias_lo", "bias_hi", "r_lo", "r_hi"]
        types = {"name": pa.string(), "n": pa.int64()}
        return pa.table({c: pa.array([row[c] for row in rows], types.get(c, pa.float64()))
                         for c in cols})

    def to_dict(self) -> dict:
        """A JSON-ready dict (NaN written as None)."""
        return {
            "labels": list(self.labels),
            "units": self.units,
            "difference": f"{self.labels[0]} - {self.labels[1]}",
            "limits_of_agreement": f"bias +/- {Z_LOA} sd",
            "bootstrap": {"ci": self.ci, "n_boot": self.n_boot, "block_frames": self.block,
                          "seed": self.seed, "method": "moving-block percentile"},
            "angles": [_json_row(s.row()) for s in self.angles],
            "overall": _json_row(self.overall.row()),
        }

    def format(self) -> str:
        """A readable text table, one line per angle and a last ``overall`` line."""
        pct = f"{100 * self.ci:g}%"
        head = ["angle", "n", f"RMSE [{pct} CI]", f"bias [{pct} CI]", "SD", "95% LoA",
                f"r [{pct} CI]"]
        lines = []
        for s in (*self.angles, self.overall):
            lines.append([
                s.name, str(s.n),
                f"{_num(s.rmse)} [{_num(s.rmse_ci[0])}, {_num(s.rmse_ci[1])}]",
                f"{_num(s.bias)} [{_num(s.bias_ci[0])}, {_num(s.bias_ci[1])}]",
                _num(s.sd),
                f"[{_num(s.loa_lower)}, {_num(s.loa_upper)}]",
                f"{_num(s.r, 3)} [{_num(s.r_ci[0], 3)}, {_num(s.r_ci[1], 3)}]",
            ])
        widths = [max(len(x[i]) for x in [head, *lines]) for i in range(len(head))]

        def fmt(cells: list[str]) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

        a, b = self.labels
        boot = (f"{pct} CIs: moving-block bootstrap, {self.n_boot} resamples of frames in blocks "
                f"of {self.block}" if self.n_boot else "no bootstrap intervals (n_boot=0)")
        out = [f"Agreement of {a} with {b} ({self.units}; bias = {a} − {b}; "
               f"LoA = bias ± {Z_LOA} SD)", boot, fmt(head),
               "  ".join("-" * w for w in widths)]
        out += [fmt(x) for x in lines[:-1]]
        out += ["  ".join("-" * w for w in widths), fmt(lines[-1])]
        return "\n".join(out)


def _num(x: float, digits: int = 2) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.{digits}f}"


def _json_row(row: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in row.items()}


# ---------------------------------------------------------------------------
# statistics


def _frame_sums(a: np.ndarray, b: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Per-frame sufficient statistics ``(T, ..., 8)`` of centred finite pairs.

    ``a``, ``b``: ``(T, A)``; ``centers``: ``(3, A)`` (d, a, b centres). The 8
    statistics: count, Σd', Σd'², Σa', Σb', Σa'², Σb'², Σa'b' (primes: centred).
    """
    m = np.isfinite(a) & np.isfinite(b)
    ac = np.where(m, a - centers[1], 0.0)
    bc = np.where(m, b - centers[2], 0.0)
    dc = np.where(m, (a - b) - centers[0], 0.0)
    return np.stack([m.astype(float), dc, dc * dc, ac, bc, ac * ac, bc * bc, ac * bc], axis=-1)


def _finish(s: np.ndarray, centers: np.ndarray) -> dict[str, np.ndarray]:
    """Statistics from summed sufficient statistics ``s (..., 8)`` and their centres."""
    n, sd1, sd2, sa1, sb1, sa2, sb2, sab = np.moveaxis(s, -1, 0)
    cd, ca, cb = centers
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_c = sd1 / n
        bias = np.where(n > 0, cd + mean_c, np.nan)
        ss = np.maximum(sd2 - sd1 * mean_c, 0.0)
        sd = np.where(n > 1, np.sqrt(ss / (n - 1)), np.nan)
        mse = np.maximum(sd2 + 2 * cd * sd1 + n * cd * cd, 0.0) / n
        rmse = np.where(n > 0, np.sqrt(mse), np.nan)
        va = np.maximum(sa2 - sa1 * sa1 / n, 0.0)
        vb = np.maximum(sb2 - sb1 * sb1 / n, 0.0)
        cov = sab - sa1 * sb1 / n
        # a constant series (variance at rounding level) has no correlation
        ok = (n > 1) & (va / n > (1e-10 * (np.abs(ca) + 1)) ** 2) & \
             (vb / n > (1e-10 * (np.abs(cb) + 1)) ** 2)
        r = np.where(ok, np.clip(cov / np.sqrt(va * vb), -1.0, 1.0), np.nan)
    return {"n": n, "rmse": rmse, "bias": bias, "sd": sd, "r": r}


def _centers(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(3, ...)`` means of d, a, b over finite pairs along axis 0 (0 where none)."""
    m = np.isfinite(a) & np.isfinite(b)
    cnt = np.maximum(m.sum(axis=0), 1)
    out = [np.where(m, x, 0.0).sum(axis=0) / cnt for x in (a - b, a, b)]
    return np.stack(out)


def _block_indices(rng: np.random.Generator, t: int, block: int, n: int) -> np.ndarray:
    """``(n, t)`` frame indices of ``n`` moving-block bootstrap resamples of ``t`` frames."""
    block = min(block, t)
    nb = -(-t // block)
    starts = rng.integers(0, t - block + 1, size=(n, nb))
    return (starts[:, :, None] + np.arange(block)).reshape(n, nb * block)[:, :t]


def _weights(idx: np.ndarray, t: int) -> np.ndarray:
    """How often each frame occurs in each resample: ``(n, t)`` from indices ``(n, t)``."""
    n = idx.shape[0]
    flat = (idx + (np.arange(n) * t)[:, None]).ravel()
    return np.bincount(flat, minlength=n * t).reshape(n, t).astype(float)


def _percentiles(x: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    q = [50 * (1 - ci), 50 * (1 + ci)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
        lo, hi = np.nanpercentile(x, q, axis=0)
    return lo, hi


def _check_int(name: str, value, lowest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lowest:
        raise InputError(f"{name} must be an integer >= {lowest}; got {value!r}")
    return int(value)


def agreement(a, b, names: Sequence[str] | None = None, *, n_boot: int = 1000,
              seed: int = 0, ci: float = 0.95, block: int = 10,
              labels: tuple[str, str] = ("a", "b"), units: str = "deg") -> AgreementReport:
    """Bland–Altman agreement of ``a`` with ``b``, per angle and pooled.

    Args:
        a: ``(T,)`` one angle or ``(T, A)`` A angles over T frames (the
            instrument under test). NaN where missing.
        b: the same shape, the same frames and angles (the reference).
        names: A angle names (default ``angle`` for 1-D input, else
            ``angle0``, ``angle1``, …); unique, not ``"overall"``.
        n_boot: bootstrap resamples (0: no intervals, all NaN).
        seed: seed of the resampling generator.
        ci: level of the percentile intervals, in (0, 1).
        block: bootstrap block length in frames (see the module docstring);
            1 for independent samples; clipped to T.
        labels: names of a and b for display.
        units: unit label for display.

    Pairs where either value is NaN (or infinite) are dropped. See the module
    docstring for the definitions.

    Raises:
        InputError: shapes differ or are not (T,)/(T, A), values not numeric,
            bad names or parameters.
    """
    try:
        a = np.asarray(a, dtype=float)
        b = np.asarray(b, dtype=float)
    except (TypeError, ValueError) as e:
        raise InputError(f"a and b must be numeric arrays: {e}") from None
    if a.shape != b.shape or a.ndim not in (1, 2):
        raise InputError(f"a and b must both have shape (T,) or (T, A) with the same T and A; "
                         f"got a {a.shape} and b {b.shape} (pair the samples first, e.g. by "
                         "time with compare_files)")
    one = a.ndim == 1
    if one:
        a, b = a[:, None], b[:, None]
    t, n_angles = a.shape
    if n_angles == 0:
        raise InputError("a and b have no angles (shape (T, 0))")
    if names is None:
        names = ["angle"] if one else [f"angle{j}" for j in range(n_angles)]
    names = [str(x) for x in names]
    if len(names) != n_angles:
        raise InputError(f"names has {len(names)} entries for {n_angles} angles")
    if len(set(names)) != len(names) or OVERALL in names:
        raise InputError(f"angle names must be unique and not {OVERALL!r}; got {names}")
    n_boot = _check_int("n_boot", n_boot, 0)
    block = _check_int("block", block, 1)
    if not 0 < ci < 1:
        raise InputError(f"ci must be in (0, 1), e.g. 0.95; got {ci!r}")

    # per-frame sufficient statistics, per angle (T, A, 8) and pooled (T, 8)
    c_ang = _centers(a, b)  # (3, A)
    c_all = _centers(a.reshape(-1), b.reshape(-1))  # (3,)
    s_ang = _frame_sums(a, b, c_ang)
    s_all = _frame_sums(a, b, c_all[:, None]).sum(axis=1)
    frames = np.concatenate([s_ang, s_all[:, None]], axis=1)  # (T, A + 1, 8)
    centers = np.concatenate([c_ang, c_all[:, None]], axis=1)  # (3, A + 1)

    point = _finish(frames.sum(axis=0), centers)
    lo = {k: np.full(n_angles + 1, np.nan) for k in ("rmse", "bias", "r")}
    hi = {k: v.copy() for k, v in lo.items()}
    if n_boot and t:
        rng = np.random.default_rng(seed)
        flat = frames.reshape(t, -1)
        chunk = max(1, _CHUNK // t)
        reps = {k: [] for k in lo}
        for start in range(0, n_boot, chunk):
            idx = _block_indices(rng, t, block, min(chunk, n_boot - start))
            res = _finish((_weights(idx, t) @ flat).reshape(-1, n_angles + 1, 8), centers)
            for k in reps:
                reps[k].append(res[k])
        for k, v in reps.items():
            lo[k], hi[k] = _percentiles(np.concatenate(v), ci)

    def stats(j: int, name: str) -> AngleAgreement:
        bias, sd = float(point["bias"][j]), float(point["sd"][j])
        return AngleAgreement(
            name=name, n=int(np.rint(point["n"][j])), rmse=float(point["rmse"][j]), bias=bias,
            sd=sd, loa_lower=bias - Z_LOA * sd, loa_upper=bias + Z_LOA * sd,
            r=float(point["r"][j]),
            rmse_ci=(float(lo["rmse"][j]), float(hi["rmse"][j])),
            bias_ci=(float(lo["bias"][j]), float(hi["bias"][j])),
            r_ci=(float(lo["r"][j]), float(hi["r"][j])))

    return AgreementReport(
        angles=tuple(stats(j, nm) for j, nm in enumerate(names)),
        overall=stats(n_angles, OVERALL), ci=float(ci), n_boot=n_boot,
        block=min(block, max(t, 1)), seed=int(seed),
        labels=(str(labels[0]), str(labels[1])), units=str(units))


# ---------------------------------------------------------------------------
# files


@dataclass(frozen=True)
class _AngleSeries:
    """One person's angles: names (A,), times (T,) s ascending, degrees (T, A)."""

    names: tuple[str, ...]
    times: np.ndarray
    degrees: np.ndarray


_TRANSLATION = re.compile(r"_t[xyz]$")


def _read_mot(path: Path) -> _AngleSeries:
    """Read an OpenSim storage file (``.mot``/``.sto``): header, ``endheader``, columns.

    Rotational columns are returned in degrees: when the header says
    ``inDegrees=no`` they are converted from radians; columns named like
    translations (``*_tx``, ``*_ty``, ``*_tz``) are left as they are.
    """
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    in_degrees = True
    end = None
    for i, line in enumerate(lines):
        key, sep, value = line.strip().partition("=")
        if sep and key.strip().lower() == "indegrees":
            in_degrees = value.strip().lower() not in {"no", "false", "0"}
        if line.strip().lower() == "endheader":
            end = i
            break
    if end is None or end + 1 >= len(lines):
        raise InputError(f"{path}: not an OpenSim .mot/.sto file (no 'endheader' line followed "
                         "by a row of column names)")
    cols = lines[end + 1].split()
    if not cols or cols[0].lower() != "time":
        raise InputError(f"{path}: the first column after 'endheader' must be 'time'; got "
                         f"{cols[:3]}")
    rows = []
    for k, line in enumerate(lines[end + 2:], start=end + 3):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != len(cols):
            raise InputError(f"{path}:{k}: {len(fields)} values for {len(cols)} columns")
        try:
            rows.append([float(x) for x in fields])
        except ValueError as e:
            raise InputError(f"{path}:{k}: {e}") from None
    data = np.array(rows, dtype=float).reshape(len(rows), len(cols))
    values = data[:, 1:]
    if not in_degrees:
        rot = np.array([not _TRANSLATION.search(c) for c in cols[1:]], dtype=bool)
        values[:, rot] = np.degrees(values[:, rot])
    return _sorted(path, tuple(cols[1:]), data[:, 0], values)


def _read_angles_parquet(path: Path, person: int) -> _AngleSeries:
    """One person's angles from a long ``angles.parquet`` (frame, time, person, angle, degrees)."""
    from ..io.tables import read_parquet

    table = read_parquet(path, what="angles table")
    need = {"time", "person", "angle", "degrees"}
    if not need <= set(table.column_names):
        raise InputError(f"{path}: an angles table needs columns {sorted(need)}; it has "
                         f"{table.column_names}")
    persons = np.asarray(table.column("person").to_numpy(zero_copy_only=False))
    keep = persons == person
    if not keep.any():
        found = sorted({int(p) for p in persons})
        raise InputError(f"{path}: no rows for person {person}; persons present: {found}")
    times = np.asarray(table.column("time").to_numpy(zero_copy_only=False), float)[keep]
    angle = np.asarray(table.column("angle").to_pylist(), dtype=object)[keep]
    deg = np.asarray(table.column("degrees").to_numpy(zero_copy_only=False), float)[keep]
    names, ai = np.unique(angle.astype(str), return_inverse=True)
    first = np.full(len(names), len(ai))
    np.minimum.at(first, ai, np.arange(len(ai)))
    order = np.argsort(first)  # names in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    ut, ti = np.unique(times, return_inverse=True)
    values = np.full((len(ut), len(names)), np.nan)
    cell = ti * len(names) + rank[ai]
    if len(np.unique(cell)) != len(cell):
        raise InputError(f"{path}: person {person} has several rows for the same time and angle")
    values.reshape(-1)[cell] = deg
    return _sorted(path, tuple(names[order]), ut, values)


def _sorted(path: Path, names: tuple[str, ...], times: np.ndarray,
            values: np.ndarray) -> _AngleSeries:
    ok = np.isfinite(times)
    times, values = times[ok], values[ok]
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    if len(times) == 0:
        raise InputError(f"{path}: no samples")
    if np.any(np.diff(times) == 0):
        raise InputError(f"{path}: repeated time values")
    return _AngleSeries(names, times, values)


def _read_angles(path: str | os.PathLike, person: int) -> _AngleSeries:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file (give an angles.parquet or an OpenSim .mot)")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_angles_parquet(path, person)
    if suffix in (".mot", ".sto"):
        return _read_mot(path)
    raise InputError(f"{path}: unknown angle file type {suffix!r}; valid: .parquet (posestack "
                     "angles table), .mot or .sto (OpenSim)")


def _pair_times(ta: np.ndarray, tb: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices pairing ascending times: each sample of a with the nearest of b within ``tol``.

    A sample of b is used at most once (by the nearest sample of a).
    """
    j = np.clip(np.searchsorted(tb, ta), 1, len(tb) - 1) if len(tb) > 1 else np.zeros(len(ta), int)
    if len(tb) > 1:
        j = np.where(np.abs(tb[j - 1] - ta) <= np.abs(tb[j] - ta), j - 1, j)
    gap = np.abs(tb[j] - ta)
    ia = np.nonzero(gap <= tol)[0]
    ib = j[ia]
    order = np.lexsort((gap[ia], ib))  # by b index, nearest first
    ia, ib = ia[order], ib[order]
    first = np.ones(len(ib), bool)
    first[1:] = ib[1:] != ib[:-1]
    ia, ib = ia[first], ib[first]
    order = np.argsort(ia)
    return ia[order], ib[order]


def _pair_names(a: Sequence[str], b: Sequence[str], mapping) -> list[tuple[str, str, int]]:
    """``(a name, b name, sign)``: the mapping's pairs, then equal names not yet used."""
    pairs = []
    for name_a, target in (mapping or {}).items():
        if isinstance(target, str):
            name_b, sign = target, 1
        else:
            try:
                name_b, sign = target
            except (TypeError, ValueError):
                raise InputError(f"names[{name_a!r}] must be a name of b or (name, sign); got "
                                 f"{target!r}") from None
        if sign not in (1, -1):
            raise InputError(f"names[{name_a!r}]: sign must be 1 or -1; got {sign!r}")
        if name_a not in a:
            raise InputError(f"names: {name_a!r} is not an angle of a; a has: {', '.join(a)}")
        if name_b not in b:
            raise InputError(f"names: {name_b!r} is not an angle of b; b has: {', '.join(b)}")
        pairs.append((str(name_a), str(name_b), int(sign)))
    used_a = {p[0] for p in pairs}
    used_b = {p[1] for p in pairs}
    pairs += [(n, n, 1) for n in a if n in b and n not in used_a and n not in used_b]
    if not pairs:
        raise InputError(f"no angle names in common; a has: {', '.join(a)}; b has: "
                         f"{', '.join(b)}; pair them with names={{a_name: (b_name, sign)}}")
    return pairs


def compare_files(a: str | os.PathLike, b: str | os.PathLike, *, person: int = 0,
                  names: Mapping[str, str | tuple[str, int]] | None = None,
                  time_tolerance: float = 1e-3, n_boot: int = 1000, seed: int = 0,
                  ci: float = 0.95, block: int = 10,
                  out: str | os.PathLike | None = None) -> AgreementReport:
    """Agreement of the angles in file ``a`` with those in file ``b`` (the reference).

    Each file is a posestack ``angles.parquet`` (long table: frame, time,
    person, angle, degrees; ``person`` selects the rows) or an OpenSim
    ``.mot``/``.sto`` (one person; ``time`` then one column per coordinate,
    converted to degrees when the header says ``inDegrees=no``).

    Samples are paired by time: each time of a with the nearest time of b, if
    within ``time_tolerance`` seconds. Angles are paired by ``names`` and, for
    the rest, by equal names. ``names`` maps a's names to b's, with an optional
    sign applied to b, e.g. ``{"left_knee_flexion": ("knee_angle_l", -1)}``
    compares a's left knee flexion with minus b's ``knee_angle_l``. The report
    uses a's names. Translations (names ending ``_tx``, ``_ty``, ``_tz``: metres,
    such as a ``.mot``'s ``pelvis_tx``) are left out, so that the ``overall`` row
    pools degrees only.

    Args:
        n_boot, seed, ci, block: as in :func:`agreement`.
        out: also write the report there as JSON (:meth:`AgreementReport.to_dict`
            plus ``files``, ``person``, ``pairs`` and ``paired_samples``).

    Raises:
        InputError: a file is missing, unreadable or of an unknown type; no
            times pair up; no angles pair up; a name in ``names`` is unknown.
    """
    sa, sb = _read_angles(a, person), _read_angles(b, person)
    if not time_tolerance >= 0:
        raise InputError(f"time_tolerance must be >= 0 seconds; got {time_tolerance!r}")
    ia, ib = _pair_times(sa.times, sb.times, time_tolerance)
    if len(ia) == 0:
        raise InputError(f"no samples of {a} and {b} are within {time_tolerance} s of each "
                         f"other: a spans {sa.times[0]:.3f}–{sa.times[-1]:.3f} s, b spans "
                         f"{sb.times[0]:.3f}–{sb.times[-1]:.3f} s; check the time bases or "
                         "raise time_tolerance")
    pairs = _pair_names(sa.names, sb.names, names)
    # angles only: coordinates in metres (pelvis_tx, ...) would be pooled with degrees
    moved = [p for p in pairs if _TRANSLATION.search(p[0]) or _TRANSLATION.search(p[1])]
    pairs = [p for p in pairs if p not in moved]
    if moved:
        log.info("compare: translations left out (metres, not angles): %s",
                 ", ".join(p[0] for p in moved))
    if not pairs:
        only = ", ".join(p[0] for p in moved)
        raise InputError(f"no angles in common, only translations ({only}); compare those "
                         "with posestack.evaluate.agreement.agreement")
    col_a = [sa.names.index(p[0]) for p in pairs]
    col_b = [sb.names.index(p[1]) for p in pairs]
    sign = np.array([p[2] for p in pairs], dtype=float)
    va = sa.degrees[np.ix_(ia, col_a)]
    vb = sb.degrees[np.ix_(ib, col_b)] * sign
    log.info("compare: %d paired times of %d (a) and %d (b); %d angles", len(ia),
             len(sa.times), len(sb.times), len(pairs))
    report = agreement(va, vb, [p[0] for p in pairs], n_boot=n_boot, seed=seed, ci=ci,
                       block=block, labels=(Path(a).name, Path(b).name), units="deg")
    if out is not None:
        from ..io.atomic import write_json

        doc = report.to_dict()
        doc["files"] = {"a": str(a), "b": str(b)}
        doc["person"] = int(person)
        doc["pairs"] = [{"a": x, "b": y, "sign": s} for x, y, s in pairs]
        doc["left_out"] = [x for x, _, _ in moved]
        doc["paired_samples"] = {"paired": len(ia), "a": len(sa.times), "b": len(sb.times),
                                 "time_tolerance_s": time_tolerance}
        write_json(out, doc)
    return report
