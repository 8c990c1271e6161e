"""Descriptions: posecodes into sentences, for one pose and for stretches of time.

Deterministic by default (the same codes give the same words); ``seed`` varies the
phrasing (openers and joins), never the content. What is said, in order:

1. the posture and the arms (compound codes), as the opening phrase;
2. the elementary codes that are telling (``salience`` 2, then 1; see
   :mod:`~posestack.describe.vocab`) and not implied by the posture or arms already said
   (:data:`IMPLIED`);
3. left and right merged when both sides have the same category ("both knees are bent at
   a right angle"); of a mirrored pair (the left foot above the right one / the right one
   below the left one), only the upward or forward one.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .codes import SPEC, Codes
from .vocab import CODE_SALIENCE, COMPOUNDS, KINDS, PAIR_LEVEL, PARTS

#: compound category -> codes whose categories it already says (not repeated)
IMPLIED: dict[str, tuple[str, ...]] = {
    "standing": ("knee.bend", "hip.bend", "thigh.elevation", "shin.elevation",
                 "trunk.elevation", "foot.ground", "knee.ground", "trunk.lean"),
    "one_leg_stance": ("trunk.elevation", "foot.ground", "foot.height_vs_"),
    "sitting": ("thigh.elevation", "trunk.elevation", "hip.bend"),
    "squatting": ("knee.bend", "foot.ground", "thigh.elevation", "hip.bend"),
    "kneeling": ("knee.ground", "thigh.elevation"),
    "lunging": ("foot.depth_vs_", "feet.distance"),
    "lying": ("trunk.elevation", "trunk.lean", "foot.ground", "knee.ground", "hand.ground",
              "thigh.elevation", "shin.elevation"),
    "t_pose": ("upper_arm.elevation", "forearm.elevation", "elbow.bend", "hands.distance",
               "elbows.distance", "hand.height_vs_shoulder"),
    "arms_raised": ("hand.height_vs_head", "hand.height_vs_shoulder", "upper_arm.elevation",
                    "forearm.elevation"),
    "hands_on_hips": ("hand.near_", "elbow.bend"),
    "arms_crossed": ("hands.crossed", "hand.near_", "hands.distance"),
    "arms_down": ("upper_arm.elevation", "forearm.elevation", "elbow.bend",
                  "hand.height_vs_", "hand.near_", "hands.distance", "elbows.distance",
                  "hand.depth_vs_"),
}
#: (code pattern, category) -> (code pattern, category) it makes redundant, same side
ELEMENTARY_IMPLIES: tuple[tuple[str, str, str, str], ...] = (
    ("hand.height_vs_head", "above", "hand.height_vs_shoulder", "above"),
    ("hand.near_head", "touching", "hand.height_vs_shoulder", "above"),
    ("hands.crossed", "crossed", "hands.distance", "close"),
    ("knee.bend", "fully_bent", "shin.elevation", ""),
    ("upper_arm.elevation", "up", "hand.height_vs_shoulder", "above"),
)
#: details said after the posture by default: with 7, a pose's description read back as a
#: query ranks that pose first among 1,000 random ones 91% of the time (5: 72%, 10: 99.5%)
DETAIL = 7
#: details said of a segment (what holds over seconds is fewer things)
SEGMENT_DETAIL = 5
_OPENERS = ("The person is {p}", "Someone {p}", "The subject is {p}")
_LAST_JOINS = (" and ", ", and ", " while ")


@dataclass(frozen=True)
class Phrase:
    """One thing said: its text, the codes it stands for and how telling it is."""

    text: str
    codes: tuple[str, ...]
    salience: int


def _be(plural: bool) -> str:
    return "are" if plural else "is"


def _side_free(name: str) -> str | None:
    """``left_knee.bend`` -> ``knee.bend``; a code without a side -> None."""
    m = re.match(r"^(left|right)_(.*)$", name)
    if not m:
        return None
    return re.sub(r"_(left|right)_", "_SIDE_", m.group(2)).replace("vs_left", "vs_SIDE") \
        .replace("vs_right", "vs_SIDE").replace("near_left", "near_SIDE") \
        .replace("near_right", "near_SIDE")


_PLURAL_B = {"hip": "hips", "shoulder": "shoulders", "elbow": "elbows", "foot": "feet",
             "knee": "knees", "hand": "hands"}


def _merge_b(b: str) -> str:
    m = re.match(r"^the (left|right) (\w+)$", b)
    return f"the {_PLURAL_B.get(m.group(2), m.group(2))}" if m else b


@dataclass(frozen=True)
class _Static:
    """What does not change from pose to pose about one code (precomputed once)."""

    suffix: str
    mirror: str            # the mirrored pair code ("" if none)
    vs_side: bool          # compares a left part with a right one
    partner: str           # the same code on the other side ("" if none)
    implied_by: tuple[tuple[str, str, str], ...]   # (other code, its category, own category)


_STATIC: dict[str, _Static] = {}
_IMPLIED_NAMES: dict[str, frozenset[str]] = {}


def _static(name: str) -> _Static:
    st = _STATIC.get(name)
    if st is None:
        suffix = name.split("_", 1)[1] if name.startswith(("left_", "right_")) else name
        suffix = re.sub(r"_vs_(left|right)_\w+$", "", suffix)
        free = _side_free(name)
        partner = next((n for n in SPEC if n != name and free is not None
                        and _side_free(n) == free), "")
        side = name.split("_", 1)[0] if name.startswith(("left_", "right_")) else ""
        implied = []
        for a, ca, b, cb in ELEMENTARY_IMPLIES:
            if b in name:
                for other in SPEC:
                    if other != name and a in other and (
                            not side or other.startswith(side)
                            or not other.startswith(("left_", "right_"))):
                        implied.append((other, ca, cb))
        st = _Static(suffix, _mirror_pair(name),
                     bool(re.search(r"_vs_(left|right)_", name)), partner, tuple(implied))
        _STATIC[name] = st
    return st


def _implied_names(category: str) -> frozenset[str]:
    names = _IMPLIED_NAMES.get(category)
    if names is None:
        pats = IMPLIED.get(category, ())
        names = frozenset(n for n in SPEC if any(p in n for p in pats))
        _IMPLIED_NAMES[category] = names
    return names


def phrases(codes: Mapping[str, str]) -> list[Phrase]:
    """What to say about one pose, most telling first.

    Args:
        codes: code name -> category (e.g. ``Codes.at(t, p)`` without the values, or the
            categories held over a segment).
    """
    implied: set[str] = set()
    for n in COMPOUNDS:
        if codes.get(n):
            implied |= _implied_names(codes[n])
    out: list[Phrase] = []
    said: set[str] = set()
    for name in SPEC:
        cat = codes.get(name)
        if not cat or name in said or name in implied:
            continue
        st = _static(name)
        if any(codes.get(o) == ca and (not cb or cat == cb) for o, ca, cb in st.implied_by):
            continue
        spec = SPEC[name]
        kind = KINDS[spec.kind]
        sal = CODE_SALIENCE.get((st.suffix, cat), kind.salience.get(cat, 1))
        if st.vs_side and (cat == "level" or cat.startswith("slightly")):
            key = st.suffix.split("_vs_")[0]
            if cat == "level" and PAIR_LEVEL.get(key) and st.mirror not in said:
                said.update((name, st.mirror))
                out.append(Phrase(PAIR_LEVEL[key], (name, st.mirror), 1))
            said.add(name)
            continue
        if name == "trunk.elevation" and cat not in ("horizontal", "down"):
            sal = 0   # an upright or leaning trunk is said by trunk.lean
        tmpl = kind.words.get(cat, "")
        if sal <= 0 or not tmpl:
            continue
        # a mirrored pair: say the upward / forward one only
        if st.mirror and cat in ("below", "behind") and codes.get(st.mirror) in (
                "above", "in_front"):
            continue
        other = st.partner if (st.partner and codes.get(st.partner) == cat
                               and st.partner not in said
                               and st.partner not in implied) else None
        if other is not None:
            text = tmpl.format(a=PARTS[spec.a][1], b=_merge_b(spec.b), be="are")
            said.update((name, other))
            out.append(Phrase(text, (name, other), sal))
        else:
            text = tmpl.format(a=PARTS[spec.a][0], b=spec.b,
                               be=_be(spec.a in ("hands", "feet", "knees", "elbows")))
            said.add(name)
            out.append(Phrase(text, (name,), sal))
    out.sort(key=lambda p: -p.salience)   # stable: body order within a salience
    return out


def _mirror_pair(name: str) -> str:
    m = re.match(r"^(left|right)_(\w+)\.(\w+)_vs_(left|right)_(\w+)$", name)
    if not m:
        return ""
    return f"{m.group(4)}_{m.group(2)}.{m.group(3)}_vs_{m.group(1)}_{m.group(5)}"


def describe_codes(codes: Mapping[str, str] | Mapping[str, tuple[str, float]], *,
                   detail: int = DETAIL, seed: int | None = None) -> str:
    """One description of one pose (or of a stretch held over time).

    Args:
        codes: code name -> category (or -> (category, value), as ``Codes.at`` gives).
        detail: at most this many elementary phrases after the posture.
        seed: None (default) for the deterministic wording; an integer varies the
            openers and joins (the same seed, the same words).
    """
    if detail < 0:
        raise InputError(f"detail must be 0 or more; got {detail}")
    codes = {n: (c[0] if isinstance(c, tuple) else c) for n, c in codes.items()}
    rng = random.Random(seed) if seed is not None else None
    posture = codes.get("posture", "")
    arms = codes.get("arms_pose", "")
    lead = []
    if posture:
        lead.append(COMPOUNDS["posture"][posture])
    if arms:
        lead.append(("with " if lead else "") + COMPOUNDS["arms_pose"][arms])
    ph = [p.text for p in phrases(codes)][:detail]
    first = ", ".join(lead)
    if first:
        opener = rng.choice(_OPENERS) if rng else "{p}"
        if rng:
            first = opener.format(p=first if not opener.startswith("Someone")
                                  else "is " + first)
        first = first[0].upper() + first[1:] + "."
    body = ""
    if ph:
        last = rng.choice(_LAST_JOINS) if rng else " and "
        body = ", ".join(ph[:-1]) + (last if len(ph) > 1 else "") + ph[-1]
        body = body[0].upper() + body[1:] + "."
    text = " ".join(x for x in (first, body) if x)
    return text or "Nothing notable: a neutral pose."


@dataclass(frozen=True)
class Segment:
    """A stretch of time with one description."""

    person: int
    start: float
    end: float
    frame_start: int
    frame_end: int
    codes: dict[str, str]
    text: str


#: codes whose category starts a new segment when it changes (with the compounds)
SEGMENT_KEYS = ("posture", "arms_pose", "left_knee.bend", "right_knee.bend",
                "left_elbow.bend", "right_elbow.bend", "trunk.lean",
                "left_hand.height_vs_head", "right_hand.height_vs_head")


def segments(codes: Codes, person: int = 0, *, min_duration: float = 0.3,
             detail: int = SEGMENT_DETAIL, seed: int | None = None) -> list[Segment]:
    """Stable stretches of one person's (stabilized) codes, each with a description.

    A new segment starts where the posture, the arms or one of :data:`SEGMENT_KEYS`
    changes category; the shortest stretch under ``min_duration`` seconds joins its more
    alike neighbour, again and again, and neighbours that then hold the same categories
    join. Each segment is described by the category each code holds for most of it (a
    code absent most of the time is not said).
    """
    keys = [codes.index(k) for k in SEGMENT_KEYS if k in codes.names]
    T = codes.values.shape[0]
    seen = (codes.categories[:, person, :] != "").any(-1)
    sig = [tuple(codes.categories[t, person, keys]) if seen[t] else None for t in range(T)]
    runs: list[list[int]] = []
    for t in range(T):
        if sig[t] is None:
            continue
        if runs and sig[runs[-1][1]] == sig[t] and runs[-1][1] == t - 1:
            runs[-1][1] = t
        else:
            runs.append([t, t])
    dt = float(np.median(np.diff(codes.times))) if T > 1 else 0.0

    def dur(r: list[int]) -> float:
        return float(codes.times[r[1]] - codes.times[r[0]]) + dt

    def mode_sig(r: list[int]) -> tuple:
        return tuple(Counter(codes.categories[r[0]:r[1] + 1, person, k]).most_common(1)[0][0]
                     for k in keys)

    def alike(x: list[int], y: list[int]) -> int:
        return sum(a == b for a, b in zip(mode_sig(x), mode_sig(y), strict=True))

    # merge the shortest stretch into its more similar neighbour until all are long enough
    merged = [r[:] for r in runs]
    while len(merged) > 1:
        k = min(range(len(merged)), key=lambda i: dur(merged[i]))
        if dur(merged[k]) >= min_duration:
            break
        nb = [i for i in (k - 1, k + 1) if 0 <= i < len(merged)
              and abs(merged[i][0] - merged[k][1]) <= T and abs(merged[k][0] - merged[i][1])
              <= T]
        j = max(nb, key=lambda i: (alike(merged[i], merged[k]), dur(merged[i])))
        lo, hi = min(merged[j][0], merged[k][0]), max(merged[j][1], merged[k][1])
        merged[min(j, k)] = [lo, hi]
        merged.pop(max(j, k))
    # neighbours that now hold the same categories become one
    i = 0
    while i + 1 < len(merged):
        if mode_sig(merged[i]) == mode_sig(merged[i + 1]):
            merged[i] = [merged[i][0], merged[i + 1][1]]
            merged.pop(i + 1)
        else:
            i += 1
    out = []
    for a, b in merged:
        held = {}
        for i, n in enumerate(codes.names):
            # the category held most of the time; an absent code (or compound) counts
            top = Counter(codes.categories[a:b + 1, person, i]).most_common(1)[0][0]
            if top:
                held[n] = top
        out.append(Segment(person, float(codes.times[a]), float(codes.times[b] + dt),
                           int(codes.frames[a]), int(codes.frames[b]), held,
                           describe_codes(held, detail=detail, seed=seed)))
    return out
