"""Actions in words: recognise and count actions defined as sequences of poses, with no
training (GAP's idea of describing actions in language, without a language model).

A definition is a list of phases, each a pose query in the vocabulary of
:mod:`posestack.describe.find` ("both knees deeply bent", "standing", "both hands above
the head"...). A phase holds on a frame when all its clauses hold (the stabilized
posecodes of :mod:`posestack.describe`), and counts once it has held for ``min_phase``
seconds. Going through every phase in order, each starting within ``max_gap`` seconds of
the previous one's end, is one **repetition**; repetitions less than ``max_gap`` apart
form one **bout** (a segment: start, end, repetitions). Definitions come from a small
TOML file (:data:`DEFAULT_DEFINITIONS` ships six: squat, jumping jack, lunge, bow, raise
the right or left hand)::

    [squat]
    description = "both knees deeply bent, then standing up again"
    phases = ["both knees deeply bent", "standing"]
    min_phase = 0.15   # optional, seconds
    max_gap = 3.0      # optional, seconds
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..describe.codes import Codes
from ..describe.find import Query, parse, score_codes
from ..errors import InputError
from ..filters import true_runs

DEFAULT_DEFINITIONS = Path(__file__).with_name("definitions.toml")
WORDS_FILE = "actions_defined.parquet"


@dataclass(frozen=True)
class Definition:
    """An action as phases (parsed queries) in order."""

    name: str
    phases: tuple[Query, ...]
    description: str = ""
    min_phase: float = 0.15
    max_gap: float = 3.0


@dataclass(frozen=True)
class Bout:
    """``repetitions`` of one action by one person from ``start`` to ``end`` (seconds),
    with the end time of each repetition."""

    person: int
    action: str
    start: float
    end: float
    repetitions: int
    rep_ends: tuple[float, ...]


def read_definitions(path: str | os.PathLike | None = None) -> list[Definition]:
    """Definitions from a TOML file (default: the six that ship); every phase is parsed
    now, so an unknown word fails here with the nearest known words."""
    p = DEFAULT_DEFINITIONS if path is None else Path(path).expanduser()
    if not p.is_file():
        raise InputError(f"no such definitions file: {p}")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{p} is not valid TOML: {e}") from None
    out = []
    for name, d in doc.items():
        if not isinstance(d, dict) or not isinstance(d.get("phases"), list) or \
                not d["phases"] or not all(isinstance(x, str) for x in d["phases"]):
            raise InputError(f"{p}: [{name}] needs phases = [\"a pose\", \"another\", ...] "
                             "(a list of pose queries)")
        unknown = set(d) - {"phases", "description", "min_phase", "max_gap"}
        if unknown:
            raise InputError(f"{p}: [{name}] has unknown keys {sorted(unknown)} (valid: "
                             "phases, description, min_phase, max_gap)")
        phases = []
        for i, text in enumerate(d["phases"]):
            try:
                phases.append(parse(text))
            except InputError as e:
                raise InputError(f"{p}: [{name}] phase {i + 1} ({text!r}): {e}") from None
        mp, mg = float(d.get("min_phase", 0.15)), float(d.get("max_gap", 3.0))
        if not (mp >= 0 and mg > 0):
            raise InputError(f"{p}: [{name}] min_phase must be >= 0 and max_gap > 0")
        out.append(Definition(name, tuple(phases), str(d.get("description", "")), mp, mg))
    if not out:
        raise InputError(f"{p} defines no action")
    return out


def _timed_runs(mask: np.ndarray, times: np.ndarray, min_len: float, dt: float
                ) -> list[tuple[float, float]]:
    """``(start, end)`` seconds of each run of True at least ``min_len`` long."""
    out = []
    for a, b in zip(*true_runs(mask), strict=True):
        s, e = float(times[a]), float(times[b - 1]) + dt
        if e - s >= min_len - 1e-9:
            out.append((s, e))
    return out


def _repetitions(runs: list[list[tuple[float, float]]], max_gap: float, min_phase: float
                 ) -> list[tuple[float, float]]:
    """Each pass through the phases' runs in order: a phase's run starts at or after the
    previous phase's run started and within ``max_gap`` of its end; the next repetition
    starts after the last phase of this one was reached. ``(start, end)`` seconds: when
    the person left the last phase's pose before the first phase (or the first phase's
    start), and the moment the last phase had held ``min_phase``."""
    reps: list[tuple[float, float]] = []
    t_free = -np.inf
    for s0, e0 in runs[0]:
        if s0 < t_free:
            continue
        prev_s, prev_e = s0, e0
        for rs in runs[1:]:
            nxt = next(((s, e) for s, e in rs if prev_s <= s <= prev_e + max_gap), None)
            if nxt is None:
                break
            prev_s, prev_e = nxt
        else:
            end = prev_s + min_phase if len(runs) > 1 else prev_e
            # it began when the person left the last phase's pose before (the rest pose)
            before = [e for _, e in runs[-1] if e <= s0 + 1e-9 and s0 - e <= max_gap]
            start = max(before) if len(runs) > 1 and before else s0
            reps.append((max(start, t_free), end))
            t_free = prev_s
    return reps


def count_actions(codes: Codes, definitions: list[Definition]) -> list[Bout]:
    """Bouts of every defined action for every person in ``codes`` (see the module doc)."""
    times = np.asarray(codes.times, float)
    T, P = codes.values.shape[:2]
    dt = float(np.median(np.diff(times))) if T > 1 else 0.0
    bouts: list[Bout] = []
    for d in definitions:
        held = [score_codes(q, codes) >= 1.0 - 1e-9 for q in d.phases]     # (T, P) each
        for p in range(P):
            runs = [_timed_runs(h[:, p], times, d.min_phase, dt) for h in held]
            reps = _repetitions(runs, d.max_gap, d.min_phase)
            groups: list[list[tuple[float, float]]] = []
            for r in reps:
                if groups and r[0] - groups[-1][-1][1] <= d.max_gap:
                    groups[-1].append(r)
                else:
                    groups.append([r])
            bouts += [Bout(p, d.name, g[0][0], g[-1][1], len(g), tuple(e for _, e in g))
                      for g in groups]
    bouts.sort(key=lambda b: (b.person, b.start, b.action))
    return bouts


def write_bouts(path: str | os.PathLike, bouts: list[Bout]) -> Path:
    """``actions_defined.parquet``: person, action, start, end, repetitions (atomic)."""
    import pyarrow as pa

    from ..io.tables import write_parquet

    table = pa.table({
        "person": pa.array([b.person for b in bouts], pa.int32()),
        "action": pa.array([b.action for b in bouts], pa.string()),
        "start": pa.array([b.start for b in bouts], pa.float64()),
        "end": pa.array([b.end for b in bouts], pa.float64()),
        "repetitions": pa.array([b.repetitions for b in bouts], pa.int32()),
    })
    write_parquet(path, table)
    return Path(path)


def bundle_bouts(bundle: str | os.PathLike, definitions: str | os.PathLike | None = None,
                 *, write: bool = True) -> list[Bout]:
    """Count the defined actions in a bundle's 3D (the posecodes of
    :func:`posestack.describe.bundle.bundle_codes`); ``actions_defined.parquet`` is
    written into the bundle when ``write``."""
    from ..describe.bundle import bundle_codes

    defs = read_definitions(definitions)            # bad definitions fail before any work
    codes, _ = bundle_codes(bundle, write=False)
    bouts = count_actions(codes, defs)
    if write:
        write_bouts(Path(bundle) / WORDS_FILE, bouts)
    return bouts


__all__ = ["DEFAULT_DEFINITIONS", "WORDS_FILE", "Bout", "Definition", "bundle_bouts",
           "count_actions", "read_definitions", "write_bouts"]
