"""Find moments by text: a small query language over posecodes, run by DuckDB.

A query is clauses joined by "and", commas, "while" or "with". A clause names a posture or
arm pose ("squatting", "arms crossed", "T-pose"), or a body part with a state, optionally
a side and a reference ("left knee bent at a right angle", "both hands above the head",
"feet wide apart", "trunk leaning forward", "head turned to the left", "right foot off
the ground"), or a number with a unit ("knee flexion over 90 degrees", "hands less than 20
cm apart"); "not" negates a clause. Whole-query modifiers: "for at least 2 s" (moments
that long) and a superlative ("when is the left knee most bent": the frames ranked by
that value). Sides: "left", "right", "both", "either" (default: either; a plural part
without a side means both).

:func:`parse` turns the text into :class:`Query` (clear errors name any word it does not
know, with the nearest known words); :func:`to_sql` writes the DuckDB SQL over the
bundles' ``codes.parquet``; :func:`find` runs it and returns ranked :class:`Moment`.
"""

from __future__ import annotations

import difflib
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .codes import Codes
from .vocab import COMPOUNDS, KINDS


@dataclass(frozen=True)
class Clause:
    """One condition: codes (any of ``codes`` on ``need`` of them) in ``categories``, or
    with ``value op number``; ``negate`` for "not"."""

    codes: tuple[str, ...]
    need: int = 1
    categories: tuple[str, ...] = ()
    op: str = ""
    number: float = 0.0
    negate: bool = False
    text: str = ""


@dataclass(frozen=True)
class Query:
    """A parsed query."""

    clauses: tuple[Clause, ...]
    min_duration: float = 0.0
    extreme: tuple[str, str] | None = None   # (code, "max" | "min")
    text: str = ""


@dataclass(frozen=True)
class Moment:
    """A found stretch of one person in one bundle."""

    bundle: str
    person: int
    start: float
    end: float
    frame: int
    score: float
    description: str = ""
    value: float | None = None
    path: str = ""          # the bundle folder


# -- vocabulary of the parser -----------------------------------------------------------------

_PARTS = {  # noun -> part id used in code names
    "knee": "knee", "knees": "knee", "elbow": "elbow", "elbows": "elbow", "hip": "hip",
    "hips": "hip", "hand": "hand", "hands": "hand", "wrist": "hand", "wrists": "hand",
    "foot": "foot", "feet": "foot", "ankle": "foot", "ankles": "foot", "thigh": "thigh",
    "thighs": "thigh", "shin": "shin", "shins": "shin", "leg": "leg", "legs": "leg",
    "arm": "arm", "arms": "arm", "forearm": "forearm", "forearms": "forearm",
    "trunk": "trunk", "torso": "trunk", "back": "trunk", "body": "trunk", "head": "head",
    "upper_arm": "upper_arm", "upper_arms": "upper_arm",
}
_PLURAL = {"knees", "elbows", "hips", "hands", "feet", "thighs", "shins", "legs", "arms",
           "forearms", "upper_arms", "wrists", "ankles"}
_STOP = {"the", "a", "an", "is", "are", "be", "being", "of", "his", "her", "their", "its",
         "someone", "person", "people", "subject", "who", "with", "has", "have", "at",
         "when", "where", "find", "moments", "moment", "show", "me", "to", "in", "on", "by",
         "about", "very", "quite", "held", "keeps", "keeping", "position", "pose", "frames",
         "one's", "s", "side", "sides", "from", "than", "it", "this", "that", "there", "all",
         "while", "and", "or", "also", "other", "but"}
_SIDE_WORDS = {"left", "right", "both", "either"}
_BEND = {  # state words of a joint -> bend categories
    "straight": ("straight",), "extended": ("straight",),
    "slightly_bent": ("slightly_bent",), "bent": ("bent", "right_angle", "deeply_bent",
                                                  "fully_bent"),
    "right_angle": ("right_angle",), "deeply_bent": ("deeply_bent", "fully_bent"),
    "fully_bent": ("fully_bent",),
}
# the most specific state word wins ("bent at a right angle" is a right angle)
_STATE_ORDER = ("right_angle", "fully_bent", "deeply_bent", "slightly_bent", "straight", "bent")
_COMPOUND_WORDS = {
    "standing": ("posture", ("standing", "one_leg_stance")),
    "one_leg_stance": ("posture", ("one_leg_stance",)),
    "sitting": ("posture", ("sitting",)), "kneeling": ("posture", ("kneeling",)),
    "squatting": ("posture", ("squatting",)), "lunging": ("posture", ("lunging",)),
    "lying": ("posture", ("lying",)), "t_pose": ("arms_pose", ("t_pose",)),
    "arms_crossed": ("arms_pose", ("arms_crossed",)),
    "hands_on_hips": ("arms_pose", ("hands_on_hips",)),
    "arms_raised": ("arms_pose", ("arms_raised",)), "arms_down": ("arms_pose", ("arms_down",)),
}
_SYN = [  # (regex, replacement), applied in order to the lower-cased query
    (r"\bone[- ]leg(ged)?( stance)?\b|\bstanding on one (leg|foot)\b|\bon one leg\b",
     " one_leg_stance "),
    (r"\bt[- ]?pose\b", " t_pose "),
    (r"\b(level|even) with\b|\bat the same height as\b", " level_with "),
    (r"\b(crossed arms|arms (are )?crossed|arms folded|folded arms)\b", " arms_crossed "),
    (r"\bhands? on (the |his |her |their )?hips\b", " hands_on_hips "),
    (r"\b(arms|hands) (are )?(raised|up) (above|over) the head\b", " both hands above head "),
    (r"\b(arms (are )?(raised|up)|raised arms|arms overhead)\b", " arms_raised "),
    (r"\b(arms (are )?(down|by (the|his|her|their) sides?)|arms at (the )?sides)\b",
     " arms_down "),
    (r"\bupper arms?\b", lambda m: " upper_arms " if m.group(0).endswith("s") else
     " upper_arm "),
    (r"\bright[- ]angle[ds]?\b|\bl[- ]shape[d]?\b", " right_angle "),
    (r"\bat a right_angle\b|\bat right_angle\b", " right_angle "),
    (r"\b(slightly|a little|a bit|partly|somewhat) (bent|flexed|bending)\b", " slightly_bent "),
    (r"\b(deeply|very|strongly) (bent|flexed)\b", " deeply_bent "),
    (r"\b(fully|completely|totally) (bent|flexed)\b", " fully_bent "),
    (r"\b(flexed|flexing|bending|bend)\b", " bent "),
    (r"\b(extended|stretched|locked)\b", " straight "),
    (r"\b(sit|sits|seated)\b", " sitting "), (r"\b(stand|stands|upright)\b", " standing "),
    (r"\b(kneel|kneels)\b", " kneeling "), (r"\b(squat|squats|crouching|crouched)\b",
                                            " squatting "),
    (r"\b(lunge|lunges)\b", " lunging "), (r"\b(lie|lies|laying|lying down)\b", " lying "),
    (r"\b(raised|lifted|up high|high)\b", " above "), (r"\b(over|higher than)\b", " above "),
    (r"\b(under|lower than|beneath)\b", " below "),
    (r"\b(spread|separated)\b", " apart "),
    (r"\bshoulder[- ]width( apart)?\b", " shoulder_width "),
    (r"\b(together|touching)\b", " close "),
    (r"\bon the (ground|floor)\b|\bgrounded\b|\bon (the )?(ground|floor)\b", " on_ground "),
    (r"\boff the (ground|floor)\b|\b(lifted|raised) off\b|\bin the air\b", " off_ground "),
    (r"\bin front of\b|\bforwards?\b", " front "), (r"\bbackwards?\b|\bbehind\b", " behind "),
    (r"\b(leaning|leans|lean|inclined|tilted|tilting|bowed|bowing)\b", " lean "),
    (r"\b(turned|turning|turns|rotated|looking)\b", " turned "),
    (r"\b(more than|greater than|at least|>=|>)\b", " gt "),
    (r"\b(less than|fewer than|at most|<=|<)\b", " lt "),
    (r"\bnot\b|\bisn't\b|\baren't\b|\bno longer\b", " not "),
]
_NUM = re.compile(r"(-?\d+(?:\.\d+)?)\s*(degrees?|deg|°|cm|centimetres?|centimeters?|mm|"
                  r"m|metres?|meters?|s|sec|seconds?)(?![a-z])")
_ANGLE_UNITS = ("degree", "degrees", "deg", "°")


def _known_words() -> list[str]:
    words = set(_PARTS) | _SIDE_WORDS | set(_BEND) | set(_COMPOUND_WORDS) | _STOP | {
        "above", "below", "front", "behind", "close", "apart", "wide", "shoulder_width",
        "on_ground", "off_ground", "lean", "turned", "gt", "lt", "not", "most", "least",
        "for", "flexion", "angle", "distance", "crossed", "shoulder", "shoulders", "hip",
        "head", "level", "ground", "floor"}
    for k in KINDS.values():
        for w in k.words.values():
            words.update(re.findall(r"[a-z_]+", w))
    for d in COMPOUNDS.values():
        for w in d.values():
            words.update(re.findall(r"[a-z_]+", _normalise(w)))
    for k in KINDS.values():
        for w in k.words.values():
            words.update(re.findall(r"[a-z_]+", _normalise(w)))
    from .vocab import PARTS

    for one, many in PARTS.values():
        words.update(re.findall(r"[a-z_]+", _normalise(one + " " + many)))
    return sorted(words)


_KNOWN: frozenset[str] | None = None


def known_words() -> frozenset[str]:
    """Every word :func:`parse` understands (after its synonyms)."""
    global _KNOWN
    if _KNOWN is None:
        _KNOWN = frozenset(_known_words())
    return _KNOWN


def _normalise(text: str) -> str:
    s = " " + text.lower().replace("’", "'") + " "
    s = re.sub(r"(?<!\d)\.|\.(?!\d)", " . ", s.replace("?", " ")).replace(";", " , ")
    for pat, rep in _SYN:
        s = re.sub(pat, rep, s)
    return re.sub(r"\s+", " ", s).strip()


def parse(text: str) -> Query:
    """Parse a query (see the module doc).

    Raises:
        InputError: an empty query, a word the language does not know (named, with the
            nearest known words), or a clause that names no code.
    """
    if not text or not text.strip():
        raise InputError('an empty query; try e.g. "left knee bent at a right angle and both '
                         'hands above the head"')
    s = _normalise(text)
    min_dur = 0.0
    m = re.search(r"\bfor gt (\d+(?:\.\d+)?)\s*(s|sec|seconds?)\b", s) or \
        re.search(r"\bfor (\d+(?:\.\d+)?)\s*(s|sec|seconds?)( or more)?\b", s)
    if m:
        min_dur = float(m.group(1))
        s = s[:m.start()] + s[m.end():]
    extreme = None
    m = re.search(r"\b(most|least)\b", s)
    if m:
        extreme = "max" if m.group(1) == "most" else "min"
        s = s.replace(m.group(0), " ")
    # unknown words, all at once
    words = re.findall(r"[a-z_']+", _NUM.sub(" ", s))
    known = known_words()
    unknown = sorted({w for w in words if w not in known})
    if unknown:
        hints = "; ".join(f"{w!r}: did you mean "
                          + (", ".join(difflib.get_close_matches(w, known, n=3, cutoff=0.6))
                             or "(nothing close)") for w in unknown)
        raise InputError(f"the query has words posestack does not know: {hints}. Known: "
                         "body parts (knee, elbow, hip, hand, foot, thigh, shin, upper arm, "
                         "forearm, trunk, head), sides (left, right, both, either), states "
                         "(straight, bent, right angle, above, below, apart, close, on the "
                         "ground, leaning, turned...) and postures (standing, sitting, "
                         "kneeling, squatting, lunging, lying, T-pose, arms crossed...)")
    parts = [p.strip() for p in re.split(r"\band\b|\bbut\b|,|\bwhile\b|\bwith\b|"
                                         r"(?<!\d)\.(?!\d)", s) if p.strip()]
    clauses: list[Clause] = []
    ext_code = None
    for p in parts:
        cl = _lookup(p) or _clause(p)
        if cl is None:
            if p.strip() in ("for",):
                continue
            raise InputError(f"no posecode in {p!r} (from {text!r}); name a body part and a "
                             "state, e.g. 'left knee bent' or 'hands above the head'")
        if isinstance(cl, str):   # a part without a state: the subject of a superlative
            if not extreme:
                raise InputError(f"{p!r} (from {text!r}) names a body part but not its state; "
                                 "say e.g. 'bent', 'straight', 'at a right angle', 'over 90 "
                                 "degrees', or 'when is ... most bent'")
            ext_code = cl
            continue
        clauses.append(cl)
    if extreme and ext_code is None:
        # "most bent" with the part in an ordinary clause: rank by its first code
        bend = next((c for c in clauses if c.codes and c.codes[0].endswith(".bend")), None)
        if bend is None:
            raise InputError(f"'{'most' if extreme == 'max' else 'least'}' needs a joint to "
                             "rank, e.g. 'when is the left knee most bent'")
        ext_code = bend.codes[0]
        clauses = [c for c in clauses if c is not bend]
    return Query(tuple(clauses), min_dur, (ext_code, extreme) if extreme else None, text)


def _key(text: str) -> str:
    """A phrase's lookup key: normalised words without stop words or sides' articles."""
    return " ".join(w for w in re.findall(r"[a-z_0-9]+", _normalise(text))
                    if w not in _STOP or w in ("not",))


def _phrase_index() -> dict[str, Clause]:
    """Every phrase the descriptions can say -> its clause (so that any description, or a
    part of one, reads back as a query)."""
    from .codes import SPECS
    from .text import _merge_b, _side_free
    from .vocab import PARTS

    index: dict[str, Clause] = {}
    for spec in SPECS:
        kind = KINDS[spec.kind]
        for cat, tmpl in kind.words.items():
            if not tmpl:
                continue
            one = tmpl.format(a=PARTS[spec.a][0], b=spec.b,
                              be="are" if spec.a in ("hands", "feet", "knees", "elbows")
                              else "is")
            index.setdefault(_key(one), Clause((spec.name,), 1, (cat,), text=one))
            free = _side_free(spec.name)
            if free is not None:
                other = next((o.name for o in SPECS if o.name != spec.name
                              and _side_free(o.name) == free), None)
                if other is not None:
                    both = tmpl.format(a=PARTS[spec.a][1], b=_merge_b(spec.b), be="are")
                    pair = tuple(sorted((spec.name, other)))
                    index.setdefault(_key(both), Clause(pair, 2, (cat,), text=both))
    for code, cats in COMPOUNDS.items():
        for cat, words in cats.items():
            index.setdefault(_key(words), Clause((code,), 1, (cat,), text=words))
    return index


_INDEX: dict[str, Clause] | None = None


def _lookup(p: str) -> Clause | None:
    global _INDEX
    if _INDEX is None:
        _INDEX = _phrase_index()
    toks = p.split()
    negate = "not" in toks
    key = " ".join(w for w in toks if w not in _STOP and w != "not")
    c = _INDEX.get(key)
    if c is None:
        return None
    return Clause(c.codes, c.need, c.categories, negate=negate, text=p)


def _side_codes(side: str, fmt) -> tuple[tuple[str, ...], int]:
    if side == "both":
        return (fmt("left"), fmt("right")), 2
    if side in ("left", "right"):
        return (fmt(side),), 1
    return (fmt("left"), fmt("right")), 1


def _clause(p: str) -> Clause | str | None:
    toks = ["level" if t == "level_with" else t for t in p.split()]
    negate = "not" in toks
    toks = [t for t in toks if t != "not"]
    side = next((t for t in toks if t in _SIDE_WORDS), None)
    nouns = [t for t in toks if t in _PARTS]
    comp = [t for t in toks if t in _COMPOUND_WORDS]
    text = p
    if comp and not nouns:
        code, cats = _COMPOUND_WORDS[comp[0]]
        return Clause((code,), 1, cats, negate=negate, text=text)
    if comp and comp[0] in ("arms_crossed", "hands_on_hips", "arms_raised", "arms_down",
                            "t_pose"):
        code, cats = _COMPOUND_WORDS[comp[0]]
        return Clause((code,), 1, cats, negate=negate, text=text)
    if not nouns and any(t in toks for t in ("lean", "behind", "front")):
        nouns = ["trunk"]          # "leaning to the left": the trunk
    if not nouns:
        return None
    noun = nouns[0]
    if noun in ("arms", "arm", "legs", "leg") and any(t in toks for t in ("apart", "wide",
                                                                          "close")):
        noun = "hands" if noun.startswith("arm") else "feet"   # arms spread: the hands apart
    part = _PARTS[noun]
    if side is None:
        side = "both" if noun in _PLURAL and part not in ("hand", "foot", "knee", "elbow") \
            else "either"
        if noun in _PLURAL and any(t in toks for t in ("above", "below", "on_ground",
                                                       "off_ground", "bent", "straight",
                                                       "right_angle", "slightly_bent",
                                                       "deeply_bent", "fully_bent")):
            side = "both"
    num = _NUM.search(p)
    op = "gt" if "gt" in toks else "lt" if "lt" in toks else ""
    if "above" in toks and num:
        op = op or "gt"
    if "below" in toks and num:
        op = op or "lt"
    ref = nouns[1] if len(nouns) > 1 else None
    ref_part = _PARTS.get(ref) if ref else None
    value = None
    angle_unit = False
    if num:
        value = float(num.group(1))
        unit = num.group(2)
        angle_unit = unit in _ANGLE_UNITS
        if unit.startswith(("cm", "centi")):
            value /= 100.0
        elif unit == "mm":
            value /= 1000.0
        if unit in ("s", "sec", "second", "seconds"):
            raise InputError(f"{p!r}: seconds go with a duration ('for at least 2 s')")
    # joints: bend
    if part in ("knee", "elbow", "hip") and ref is None:
        codes, need = _side_codes(side, lambda s: f"{s}_{part}.bend")
        if value is not None and op:
            if not angle_unit:
                raise InputError(f"{p!r}: a joint's flexion is measured in degrees "
                                 f"(e.g. 'over 90 degrees'), not {num.group(2)!r}")
            return Clause(codes, need, op=op, number=value, negate=negate, text=text)
        state = next((s for s in _STATE_ORDER if s in toks), None)
        if state is None:
            if "on_ground" in toks or "off_ground" in toks:
                g = "on_ground" if "on_ground" in toks else "off_ground"
                codes, need = _side_codes(side, lambda s: f"{s}_{part}.ground")
                return Clause(codes, need, (g,), negate=negate, text=text)
            return f"{codes[0]}" if len(codes) == 1 else codes[0]   # superlative subject
        return Clause(codes, need, _BEND[state], negate=negate, text=text)
    if part in ("hand", "foot", "knee", "elbow") and ("close" in toks or "apart" in toks or
                                                      "wide" in toks or "shoulder_width" in toks
                                                      or (value is not None and "apart"
                                                          in p)) and ref is None:
        pair = {"hand": "hands", "foot": "feet", "knee": "knees", "elbow": "elbows"}[part]
        if value is not None and op:
            if angle_unit:
                raise InputError(f"{p!r}: a distance is measured in cm or m, not degrees")
            return Clause((f"{pair}.distance",), 1, op=op, number=value, negate=negate,
                          text=text)
        cat = ("close",) if "close" in toks else ("wide",) if "wide" in toks else \
            ("shoulder_width",) if "shoulder_width" in toks else ("apart", "wide")
        return Clause((f"{pair}.distance",), 1, cat, negate=negate, text=text)
    if part == "hand" and "crossed" in toks:
        return Clause(("hands.crossed",), 1, ("crossed",), negate=negate, text=text)
    if part in ("hand", "foot", "knee") and ("on_ground" in toks or "off_ground" in toks):
        g = "on_ground" if "on_ground" in toks else "off_ground"
        codes, need = _side_codes(side, lambda s: f"{s}_{part}.ground")
        return Clause(codes, need, (g,), negate=negate, text=text)
    if part in ("hand", "arm") and ("above" in toks or "below" in toks or "level" in toks):
        target = "shoulder" if ref_part in ("hand",) and ref == "shoulder" else None
        target = "shoulder" if "shoulder" in toks or "shoulders" in toks else \
            "head" if (ref_part == "head" or "head" in toks or target is None) else target
        cat = ("above",) if "above" in toks else ("below",) if "below" in toks else ("level",)
        if target == "shoulder":
            codes, need = _side_codes(side, lambda s: f"{s}_hand.height_vs_shoulder")
        else:
            codes, need = _side_codes(side, lambda s: f"{s}_hand.height_vs_head")
        if value is not None:
            return Clause(codes, need, op="gt" if "above" in toks else "lt",
                          number=value if "above" in toks else -value, negate=negate,
                          text=text)
        return Clause(codes, need, cat, negate=negate, text=text)
    if part == "foot" and ("above" in toks or "front" in toks or "behind" in toks or
                           "below" in toks):
        kind = "height" if ("above" in toks or "below" in toks) else "depth"
        cat = {"above": "above", "below": "below", "front": "in_front", "behind": "behind"}[
            next(t for t in toks if t in ("above", "below", "front", "behind"))]
        codes, need = _side_codes(side, lambda s: f"{s}_foot.{kind}_vs_"
                                  f"{'right' if s == 'left' else 'left'}_foot")
        return Clause(codes, 1 if need == 1 else 2, (cat,), negate=negate, text=text)
    if part in ("arm", "upper_arm", "forearm", "thigh", "shin", "leg") and ref is None:
        seg = {"arm": "upper_arm", "leg": "thigh"}.get(part, part)
        if part in ("arm", "leg") and any(t in _BEND for t in toks):
            joint = "elbow" if part == "arm" else "knee"
            state = next(s for s in _STATE_ORDER if s in toks)
            codes, need = _side_codes(side, lambda s: f"{s}_{joint}.bend")
            return Clause(codes, need, _BEND[state], negate=negate, text=text)
        cat = ("horizontal",) if "horizontal" in toks else ("up", "angled_up") if (
            "above" in toks or "up" in toks or ("pointing" in toks and "up" in toks)) else \
            ("down", "angled_down") if ("down" in toks or "below" in toks) else \
            ("down",) if "vertical" in toks else None
        if cat is None:
            return None
        codes, need = _side_codes(side, lambda s: f"{s}_{seg}.elevation")
        return Clause(codes, need, cat, negate=negate, text=text)
    if part == "trunk":
        if "lean" in toks or "front" in toks or "behind" in toks or "bent" in toks:
            if "left" in toks or "right" in toks:
                d = "left" if "left" in toks else "right"
                return Clause(("trunk.side_lean",), 1, (d, f"slightly_{d}"), negate=negate,
                              text=text)
            if "behind" in toks:
                return Clause(("trunk.lean",), 1, ("backward", "slightly_backward"),
                              negate=negate, text=text)
            return Clause(("trunk.lean",), 1, ("forward", "slightly_forward"), negate=negate,
                          text=text)
        if "straight" in toks or "standing" in toks:
            return Clause(("trunk.lean",), 1, ("upright",), negate=negate, text=text)
        if "turned" in toks:
            d = "left" if "left" in toks else "right"
            return Clause(("trunk.twist",), 1, (d, f"slightly_{d}"), negate=negate, text=text)
        return None
    if part == "head":
        if "turned" in toks and ("left" in toks or "right" in toks):
            d = "left" if "left" in toks else "right"
            return Clause(("head.turn",), 1, (d, f"slightly_{d}"), negate=negate, text=text)
        if "lean" in toks or "down" in toks or "bent" in toks or "below" in toks:
            return Clause(("head.pitch",), 1, ("down",), negate=negate, text=text)
        if "up" in toks or "behind" in toks or "above" in toks:
            return Clause(("head.pitch",), 1, ("up",), negate=negate, text=text)
        return None
    return None


_OPS = {"gt": ">", "lt": "<"}


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def to_sql(query: Query, files: Sequence[str], limit: int = 10, gap: float = 0.07) -> str:
    """The DuckDB SQL that :func:`find` runs for ``query`` over the ``codes.parquet``
    ``files`` (one per bundle). It returns at most ``limit`` moments: runs of frames of one
    person (gaps up to ``gap`` seconds bridged) with the best score found (the fraction of
    clauses a frame satisfies), longest first; with a superlative, single frames by the
    ranked value. A person-frame counts when its ``trunk.twist`` code (hips and shoulders
    seen) exists."""
    src = ("read_parquet([" + ", ".join(_sql_str(f) for f in files)
           + "], filename = true)")
    parts = [f"WITH codes AS (SELECT filename AS file, person, frame, time, code, category, "
             f"value FROM {src}),",
             "frames AS (SELECT file, person, frame, time FROM codes "
             "WHERE code = 'trunk.twist')"]
    hits = []
    for i, c in enumerate(query.clauses):
        codes = ", ".join(_sql_str(x) for x in c.codes)
        if c.op:
            cond = f"value {_OPS[c.op]} {c.number!r}"
        else:
            cond = "category IN (" + ", ".join(_sql_str(x) for x in c.categories) + ")"
        parts[-1] += ","
        parts.append(f"c{i} AS (SELECT file, person, frame FROM codes WHERE code IN "
                     f"({codes}) AND {cond} GROUP BY ALL HAVING count(DISTINCT code) >= "
                     f"{c.need})")
        hits.append(f"(c{i}.frame IS {'NOT ' if not c.negate else ''}NULL)")
    joins = " ".join(f"LEFT JOIN c{i} USING (file, person, frame)"
                     for i in range(len(hits)))
    n = max(1, len(hits))
    score = " + ".join(f"CAST({h} AS INTEGER)" for h in hits) or "1"
    if query.extreme:
        code, how = query.extreme
        parts[-1] += ","
        parts.append(f"ex AS (SELECT file, person, frame, value AS rank_value FROM codes "
                     f"WHERE code = {_sql_str(code)} AND isfinite(value))")
        parts.append(f"SELECT frames.file, frames.person, frames.frame AS fm, "
                     f"frames.time AS t0, frames.time AS t1, ({score}) / {n}.0 AS "
                     f"score, rank_value FROM frames {joins} JOIN ex USING (file, person, "
                     f"frame) WHERE ({score}) = {max(1, len(hits))} ORDER BY rank_value "
                     f"{'DESC' if how == 'max' else 'ASC'}, frames.file, frames.person, "
                     f"frames.frame LIMIT {int(limit)}")
        return "\n".join(parts)
    parts[-1] += ","
    parts.append(f"scored AS (SELECT frames.file, frames.person, frames.frame, frames.time, "
                 f"({score}) / {n}.0 AS score FROM frames {joins}),")
    parts.append("best AS (SELECT * FROM scored WHERE score > 0 AND score = "
                 "(SELECT max(score) FROM scored)),")
    parts.append("brk AS (SELECT *, CASE WHEN time - lag(time) OVER (PARTITION BY file, "
                 f"person ORDER BY frame) > {gap + 1e-6!r} THEN 1 ELSE 0 END AS b FROM best),")
    parts.append("runs AS (SELECT *, sum(b) OVER (PARTITION BY file, person ORDER BY frame "
                 "ROWS UNBOUNDED PRECEDING) AS grp FROM brk),")
    parts.append("moments AS (SELECT file, person, quantile_disc(frame, 0.5) AS fm, "
                 "min(time) AS t0, max(time) AS t1, any_value(score) AS score FROM runs "
                 "GROUP BY file, person, grp)")
    parts.append(f"SELECT file, person, fm, t0, t1, score, NULL AS rank_value FROM "
                 f"moments WHERE t1 - t0 >= {max(0.0, query.min_duration) - 1e-6!r} "
                 f"ORDER BY score DESC, t1 - t0 DESC, file, person, t0 LIMIT {int(limit)}")
    return "\n".join(parts)


def _codes_files(bundles: Sequence[str | os.PathLike]) -> list[str]:
    from .bundle import CODES_FILE, bundle_codes, codes_are_current

    files = []
    for b in bundles:
        p = Path(b).expanduser()
        if not p.is_dir():
            raise InputError(f"{p} is not a bundle folder")
        found = [p] if (p / "keypoints3d.parquet").is_file() or (p / CODES_FILE).is_file() \
            or (p / "keypoints3d_body.parquet").is_file() else \
            [d for d in sorted(p.iterdir()) if d.is_dir() and (
                (d / CODES_FILE).is_file() or (d / "keypoints3d.parquet").is_file()
                or (d / "keypoints3d_body.parquet").is_file())]
        if not found:
            raise InputError(f"{p} holds no bundle with 3D keypoints or codes.parquet")
        for d in found:
            if not codes_are_current(d):   # none yet, damaged, or made from older 3D
                bundle_codes(d)
            files.append(str((d / CODES_FILE).absolute()))
    return files


def find(bundles: str | os.PathLike | Sequence[str | os.PathLike], query: str | Query, *,
         limit: int = 10, gap: float = 0.07) -> tuple[list[Moment], str]:
    """Ranked moments matching ``query`` in the bundles (folders of bundles are searched
    too; a bundle without ``codes.parquet`` gets one first).

    The frames of one person with the best score found (all clauses, when any frame
    satisfies all) are joined into moments across gaps up to ``gap`` seconds, longest first;
    moments shorter than the query's "for at least" are dropped. With a superlative, the
    frames satisfying every other clause with the most extreme value come first.

    Returns:
        ``(moments, sql)``: at most ``limit`` moments, best first, and the SQL that ran.

    Raises:
        InputError: a bad query (:func:`parse`), no bundle, or DuckDB missing (the
            message says ``pip install posestack[query]``).
    """
    if isinstance(bundles, str | os.PathLike):
        bundles = [bundles]
    if not (isinstance(limit, int) and limit >= 1):
        raise InputError(f"limit must be 1 or more; got {limit!r}")
    q = parse(query) if isinstance(query, str) else query
    files = _codes_files(bundles)
    try:
        import duckdb
    except ImportError:
        raise InputError("posestack find needs DuckDB: pip install 'posestack[query]'") from None
    sql = to_sql(q, files, limit, gap)
    con = duckdb.connect()
    try:
        rows = con.sql(sql).fetchall()
    except duckdb.Error as e:
        raise InputError(f"the codes could not be searched ({str(e).splitlines()[0]}); "
                         f"remove the bundles' codes.parquet to have them made again") from None
    finally:
        con.close()
    names = _display_names(files)
    moments = [Moment(names[f], int(p), float(t0), float(t1), int(fm), float(score),
                      value=None if v is None else float(v), path=str(Path(f).parent))
               for f, p, fm, t0, t1, score, v in rows]
    return [_with_description(m) for m in moments], sql


def _display_names(files: Sequence[str]) -> dict[str, str]:
    """Each codes file's bundle name; with its parent folder where two names collide."""
    names = {f: Path(f).parent.name for f in files}
    counts = Counter(names.values())
    return {f: (n if counts[n] == 1 else f"{Path(f).parent.parent.name}/{n}")
            for f, n in names.items()}


def _with_description(m: Moment) -> Moment:
    import pyarrow.parquet as pq

    from .bundle import CODES_FILE
    from .text import describe_codes

    f = Path(m.path) / CODES_FILE
    t = pq.read_table(f, columns=["code", "category"],
                      filters=[("frame", "=", m.frame), ("person", "=", m.person)])
    cats = dict(zip(t["code"].to_pylist(), t["category"].to_pylist(), strict=True))
    return Moment(m.bundle, m.person, m.start, m.end, m.frame, m.score,
                  describe_codes(cats, detail=3), m.value, m.path)


def score_codes(query: str | Query, codes: Codes) -> np.ndarray:
    """``(T, P)`` fraction of the query's clauses each frame and person of ``codes``
    (a :class:`~posestack.describe.codes.Codes`) satisfies: the same rules as the SQL of
    :func:`find`, in NumPy, for ranking poses in memory."""
    q = parse(query) if isinstance(query, str) else query
    T, P = codes.values.shape[:2]
    if not q.clauses:
        return np.ones((T, P))
    total = np.zeros((T, P))
    for c in q.clauses:
        hits = np.zeros((T, P), int)
        for name in c.codes:
            if name not in codes.names:
                continue
            i = codes.index(name)
            if c.op:
                v = codes.values[:, :, i]
                with np.errstate(invalid="ignore"):
                    hits += (v > c.number) if c.op == "gt" else (v < c.number)
            else:
                hits += np.isin(codes.categories[:, :, i], c.categories)
        ok = hits >= c.need
        total += ~ok if c.negate else ok
    return total / len(q.clauses)


__all__ = ["Clause", "Moment", "Query", "find", "known_words", "parse", "score_codes",
           "to_sql"]
