"""From one pose to another: instructions in the body's own frame (after PoseFix).

:func:`difference` compares the posecode values of pose A and pose B and says, as
instructions to the person in pose A, how to reach pose B: the posture first ("squat
down"), then the largest changes, with magnitudes where they help ("bend your left knee
about 30° more", "raise your right arm to shoulder height", "move your feet about 20 cm
further apart"). A change is said when it reaches PoseFix's published "slightly"
thresholds (Delmas et al., ICCV 2023: 18° for joint angles, 0.10 m for distances, 20° for
the trunk's incline, 15° for the head's turn); the words are posestack's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

ANGLE_STEP = 18.0     # degrees: the smallest joint change said
DIST_STEP = 0.10      # metres
LEAN_STEP = 20.0
TURN_STEP = 15.0

_POSTURE_VERB = {"standing": "stand up", "sitting": "sit down", "squatting": "squat down",
                 "kneeling": "kneel down", "lunging": "step into a lunge",
                 "lying": "lie down", "one_leg_stance": "stand on one leg"}
_ARMS_VERB = {"t_pose": "stretch your arms out to the sides", "arms_raised":
              "raise both hands above your head", "hands_on_hips": "put your hands on your hips",
              "arms_crossed": "cross your arms", "arms_down": "let your arms hang by your sides"}


@dataclass(frozen=True)
class Instruction:
    """One step: the code it changes, the change (B − A, degrees or metres; NaN for a
    posture), B's category for that code, its text and its weight in the ordering."""

    code: str
    delta: float
    target: str
    text: str
    weight: float


def _about(x: float, step: float) -> int:
    return int(max(step, round(abs(x) / step) * step))


def _side(name: str) -> tuple[str, str]:
    side, rest = name.split("_", 1)
    return side, rest


def difference(a: Mapping[str, tuple[str, float]], b: Mapping[str, tuple[str, float]],
               *, limit: int = 4) -> list[Instruction]:
    """Instructions to go from pose A to pose B.

    Args:
        a, b: code name -> (category, value) of each pose (e.g. ``Codes.at(t, p)``).
        limit: at most this many instructions besides the posture and arms.

    Returns:
        :class:`Instruction` in the order to say them (posture, arms, then by size).
    """
    out: list[Instruction] = []
    head: list[Instruction] = []
    pa, pb = a.get("posture", ("", 0))[0], b.get("posture", ("", 0))[0]
    # a posture newly seen is said unless it is plain standing (a posture that was not
    # recognised before is not a reason to "stand up")
    if pb and pb != pa and (pa or pb != "standing"):
        head.append(Instruction("posture", float("nan"), pb, _POSTURE_VERB[pb], 99.0))
    aa, ab = a.get("arms_pose", ("", 0))[0], b.get("arms_pose", ("", 0))[0]
    if ab and ab != aa:
        head.append(Instruction("arms_pose", float("nan"), ab, _ARMS_VERB[ab], 98.0))

    def val(d: Mapping[str, tuple[str, float]], n: str) -> float:
        v = d.get(n)
        return float(v[1]) if v is not None and np.isfinite(v[1]) else float("nan")

    def both(n: str) -> tuple[float, float, str]:
        return val(a, n), val(b, n), b.get(n, ("", 0))[0]

    # joints
    for s in ("left", "right"):
        for joint, word in (("knee", "knee"), ("elbow", "elbow"), ("hip", "hip")):
            n = f"{s}_{joint}.bend"
            va, vb, cat = both(n)
            d = vb - va
            if not np.isfinite(d) or abs(d) < ANGLE_STEP:
                continue
            if d > 0:
                text = (f"bend your {s} {word} about {_about(d, 5)}° more"
                        if joint != "hip" else f"bring your {s} thigh up about "
                        f"{_about(d, 5)}° (hip flexion)")
            elif cat == "straight":
                text = f"straighten your {s} {word}"
            else:
                text = (f"straighten your {s} {word} by about {_about(d, 5)}°"
                        if joint != "hip" else f"lower your {s} thigh about {_about(d, 5)}°")
            out.append(Instruction(n, d, cat, text, abs(d) / 30.0))
    # arms: the upper arm against the trunk
    for s in ("left", "right"):
        n = f"{s}_arm.raise"
        va, vb, cat = both(n)
        d = vb - va
        if not np.isfinite(d) or abs(d) < ANGLE_STEP:
            continue
        if d > 0:
            where = {"shoulder_height": " to shoulder height", "overhead": " overhead",
                     "raised_high": " above shoulder height"}.get(cat, f" about {_about(d, 5)}°")
            text = f"raise your {s} arm{where}"
        else:
            where = {"along_body": " to your side", "shoulder_height": " to shoulder height"
                     }.get(cat, f" about {_about(d, 5)}°")
            text = f"lower your {s} arm{where}"
        out.append(Instruction(n, d, cat, text, abs(d) / 30.0))
    # trunk and head
    va, vb, cat = both("trunk.lean")
    d = vb - va
    if np.isfinite(d) and abs(d) >= LEAN_STEP:
        text = ("stand up straight" if cat == "upright" else
                f"lean forward about {_about(d, 5)}° more" if d > 0 else
                f"lean back about {_about(d, 5)}°")
        out.append(Instruction("trunk.lean", d, cat, text, abs(d) / 30.0))
    va, vb, cat = both("trunk.side_lean")
    d = vb - va
    if np.isfinite(d) and abs(d) >= LEAN_STEP:
        text = f"lean about {_about(d, 5)}° to your {'left' if d > 0 else 'right'}"
        out.append(Instruction("trunk.side_lean", d, cat, text, abs(d) / 30.0))
    for n, what in (("head.turn", "your head"), ("trunk.twist", "your shoulders")):
        va, vb, cat = both(n)
        d = vb - va
        if np.isfinite(d) and abs(d) >= TURN_STEP:
            text = (f"turn {what} back to face forward" if cat in ("ahead", "square") else
                    f"turn {what} about {_about(d, 5)}° to the {'left' if d > 0 else 'right'}")
            out.append(Instruction(n, d, cat, text, abs(d) / 30.0))
    # distances
    for n, what in (("feet.distance", "feet"), ("hands.distance", "hands"),
                    ("knees.distance", "knees")):
        va, vb, cat = both(n)
        d = vb - va
        if np.isfinite(d) and abs(d) >= DIST_STEP:
            cm = _about(d * 100, 5)
            text = (f"move your {what} about {cm} cm further apart" if d > 0 else
                    f"bring your {what} about {cm} cm closer together")
            out.append(Instruction(n, d, cat, text, abs(d) / 0.2))
    # feet off / on the ground
    for s in ("left", "right"):
        n = f"{s}_foot.ground"
        ca, cb = a.get(n, ("", 0))[0], b.get(n, ("", 0))[0]
        if ca == "on_ground" and cb == "off_ground":
            out.append(Instruction(n, val(b, n) - val(a, n), cb,
                                   f"lift your {s} foot off the ground", 1.5))
        elif ca == "off_ground" and cb == "on_ground":
            out.append(Instruction(n, val(b, n) - val(a, n), cb,
                                   f"put your {s} foot down", 1.5))
    # what the posture / arms instruction already says is not repeated
    implied = {"squatting": ("knee.bend", "hip.bend", "trunk.lean"),
               "sitting": ("knee.bend", "hip.bend"), "kneeling": ("knee.bend", "hip.bend"),
               "standing": ("knee.bend", "hip.bend", "trunk.lean"),
               "lying": ("trunk.lean",),
               "one_leg_stance": ("foot.ground", "feet.distance", "knees.distance"),
               "t_pose": ("arm.raise", "elbow.bend", "hands.distance"),
               "arms_raised": ("arm.raise", "elbow.bend"), "arms_down": ("arm.raise",
                                                                         "elbow.bend"),
               "arms_crossed": ("hands.distance", "elbow.bend"),
               "hands_on_hips": ("elbow.bend", "hands.distance")}
    skip = [p for h in head for p in implied.get(h.target, ())]
    if any(i.code.endswith("arm.raise") for i in out):
        skip.append("hands.distance")   # follows from the arms
    if any(i.code.endswith("hip.bend") for i in out) or any(
            i.code.endswith("foot.ground") for i in out):
        skip.append("knees.distance")
    out = [i for i in out if not any(p in i.code for p in skip)]
    out.sort(key=lambda i: -i.weight)
    return head + out[:limit]


def say(instructions: list[Instruction]) -> str:
    """The instructions as one text ("Squat down, then bend your left knee ...")."""
    if not instructions:
        return "Hold the pose: nothing to change."
    parts = [i.text for i in instructions]
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return text[0].upper() + text[1:] + "."


__all__ = ["Instruction", "difference", "say"]
