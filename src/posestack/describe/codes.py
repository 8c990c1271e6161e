"""Posecodes: what a 3D pose is, in categories, per frame and person.

:func:`compute_codes` turns 3D :class:`~posestack.poses.Poses` (multi-view 3D, BlazePose's
world landmarks of one camera, a fitted body's keypoints; any layout, by keypoint name)
into a :class:`Codes`: for every code a value per frame and person (degrees or metres) and
its category (a bin of :data:`~posestack.describe.vocab.KINDS`).

Everything is measured in the body's own frame: ``up`` from the world (``+Z`` in world
space, ``-Y`` for BlazePose's ``body`` space and cameras), ``left`` the horizontal
direction from the right hip to the left one (with the shoulders' where the hip line is
near vertical), ``forward = left × up``; the person's facing direction is thereby
removed. Codes whose points a layout lacks, or that
are missing in a frame, are absent (NaN value, empty category), never guessed.

Over time (:func:`stabilize`), a category changes only when the value crosses the
threshold by the kind's margin, and a category held for less than ``min_duration`` is
merged into its neighbours, so the words do not flicker.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..poses import Poses
from .vocab import COMPOUNDS, KINDS


@dataclass(frozen=True)
class CodeSpec:
    """One code: its name, kind and the parts its words name (``a``, and ``b`` for pairs)."""

    name: str
    kind: str
    a: str
    b: str = ""


def _sides(fmt: Callable[[str, str], CodeSpec]) -> list[CodeSpec]:
    return [fmt(s, o) for s, o in (("left", "right"), ("right", "left"))]


#: Every elementary code, in the order descriptions consider them.
SPECS: tuple[CodeSpec, ...] = (
    *_sides(lambda s, o: CodeSpec(f"{s}_knee.bend", "bend", f"{s}_knee")),
    *_sides(lambda s, o: CodeSpec(f"{s}_hip.bend", "bend", f"{s}_hip")),
    *_sides(lambda s, o: CodeSpec(f"{s}_elbow.bend", "bend", f"{s}_elbow")),
    CodeSpec("trunk.lean", "lean", "trunk"),
    CodeSpec("trunk.side_lean", "side_lean", "trunk"),
    CodeSpec("trunk.twist", "twist", "trunk"),
    CodeSpec("head.turn", "head_turn", "head"),
    CodeSpec("head.pitch", "head_pitch", "head"),
    *_sides(lambda s, o: CodeSpec(f"{s}_hand.height_vs_head", "height", f"{s}_hand",
                                  "the head")),
    *_sides(lambda s, o: CodeSpec(f"{s}_hand.height_vs_shoulder", "height", f"{s}_hand",
                                  f"the {s} shoulder")),
    *_sides(lambda s, o: CodeSpec(f"{s}_foot.height_vs_{o}_foot", "height", f"{s}_foot",
                                  f"the {o} foot")),
    *_sides(lambda s, o: CodeSpec(f"{s}_foot.depth_vs_{o}_foot", "depth", f"{s}_foot",
                                  f"the {o} foot")),
    *_sides(lambda s, o: CodeSpec(f"{s}_hand.depth_vs_trunk", "depth", f"{s}_hand",
                                  "the body")),
    CodeSpec("hands.distance", "distance", "hands"),
    CodeSpec("elbows.distance", "distance", "elbows"),
    CodeSpec("knees.distance", "distance", "knees"),
    CodeSpec("feet.distance", "distance", "feet"),
    CodeSpec("hands.crossed", "side", "hands"),
    *_sides(lambda s, o: CodeSpec(f"{s}_hand.near_head", "near", f"{s}_hand", "the head")),
    *_sides(lambda s, o: CodeSpec(f"{s}_hand.near_{s}_hip", "near", f"{s}_hand",
                                  f"the {s} hip")),
    *_sides(lambda s, o: CodeSpec(f"{s}_hand.near_{o}_elbow", "near", f"{s}_hand",
                                  f"the {o} elbow")),
    *_sides(lambda s, o: CodeSpec(f"{s}_hand.near_{o}_shoulder", "near", f"{s}_hand",
                                  f"the {o} shoulder")),
    *_sides(lambda s, o: CodeSpec(f"{s}_upper_arm.elevation", "elevation", f"{s}_upper_arm")),
    *_sides(lambda s, o: CodeSpec(f"{s}_arm.raise", "arm_raise", f"{s}_upper_arm")),
    *_sides(lambda s, o: CodeSpec(f"{s}_forearm.elevation", "elevation", f"{s}_forearm")),
    *_sides(lambda s, o: CodeSpec(f"{s}_thigh.elevation", "elevation", f"{s}_thigh")),
    *_sides(lambda s, o: CodeSpec(f"{s}_shin.elevation", "elevation", f"{s}_shin")),
    CodeSpec("trunk.elevation", "elevation", "trunk"),
    *_sides(lambda s, o: CodeSpec(f"{s}_foot.ground", "ground", f"{s}_foot")),
    *_sides(lambda s, o: CodeSpec(f"{s}_knee.ground", "ground", f"{s}_knee")),
    *_sides(lambda s, o: CodeSpec(f"{s}_hand.ground", "ground", f"{s}_hand")),
    CodeSpec("hips.ground", "ground", "hips"),
)
SPEC = {s.name: s for s in SPECS}
COMPOUND_NAMES = tuple(COMPOUNDS)

# keypoint roles -> names tried in order in a layout
_ROLES: dict[str, tuple[str, ...]] = {
    **{f"{s}_{p}": names for s in ("left", "right") for p, names in (
        ("shoulder", (f"{s}_shoulder",)), ("elbow", (f"{s}_elbow",)),
        ("hand", (f"{s}_wrist",)), ("hip", (f"{s}_hip",)), ("knee", (f"{s}_knee",)),
        ("ankle", (f"{s}_ankle",)), ("ear", (f"{s}_ear",)), ("eye", (f"{s}_eye",)),
        ("heel", (f"{s}_heel",)),
        ("toe", (f"{s}_big_toe", f"{s}_foot_index", f"{s}_small_toe")))},
    "nose": ("nose",), "head_top": ("head_top",), "neck": ("neck",),
    "mid_hip": ("mid_hip", "pelvis"),
}


def _default_up(space: str) -> np.ndarray:
    if space == "world":
        return np.array([0.0, 0.0, 1.0])
    if space == "body" or space.startswith("camera:"):
        return np.array([0.0, -1.0, 0.0])
    raise InputError(f"posecodes need 3D poses in world, body or camera space; got {space!r}")


@dataclass(frozen=True, eq=False)
class Codes:
    """Posecodes of ``T`` frames and ``P`` people.

    Attributes:
        names: the C code names (elementary codes first, then :data:`COMPOUND_NAMES`).
        values: ``(T, P, C)`` float64: degrees or metres (compounds: 1.0 where one
            holds); NaN where the code is not observed.
        categories: ``(T, P, C)`` object array of category names; ``""`` where absent.
        times: ``(T,)`` seconds. frames: ``(T,)`` source frame numbers.
        skeleton: the layout the codes were computed from.
    """

    names: tuple[str, ...]
    values: np.ndarray
    categories: np.ndarray
    times: np.ndarray
    frames: np.ndarray
    skeleton: str

    def index(self, name: str) -> int:
        """Column of a code (InputError lists the valid names)."""
        try:
            return self.names.index(name)
        except ValueError:
            raise InputError(f"no code {name!r}; codes: {', '.join(self.names)}") from None

    def at(self, t: int, p: int = 0) -> dict[str, tuple[str, float]]:
        """The observed codes of frame *index* ``t`` (0..T-1, not seconds: see
        :meth:`index_at`), person ``p``: name -> (category, value)."""
        if not isinstance(t, int | np.integer) or not isinstance(p, int | np.integer):
            raise InputError(f"Codes.at takes a frame index and a person (integers); got "
                             f"{t!r}, {p!r} (for seconds: codes.at(codes.index_at(s)))")
        T, P = self.values.shape[:2]
        if not (-T <= t < T and -P <= p < P):
            raise InputError(f"frame index {t} / person {p} out of range ({T} frames, "
                             f"{P} people)")
        return {n: (str(self.categories[t, p, i]), float(self.values[t, p, i]))
                for i, n in enumerate(self.names) if self.categories[t, p, i]}

    def index_at(self, seconds: float) -> int:
        """The frame index nearest a time in seconds."""
        return int(np.argmin(np.abs(self.times - float(seconds))))

    def to_table(self):
        """The long table ``codes.parquet`` holds (sorted by code, then frame and person):
        frame, time, person, code, category
        (the kind's category, or the compound's), kind, value (degrees or metres; 1.0 for a
        compound that holds)."""
        import pyarrow as pa

        # code-major order: one code's rows are contiguous, so a search reads only the
        # row groups of the codes it asks about
        c_idx, t_idx, p_idx = np.nonzero(np.moveaxis(self.categories, 2, 0) != "")
        kinds = np.array([SPEC[n].kind if n in SPEC else "compound" for n in self.names])
        names = np.asarray(self.names, dtype=object)
        return pa.table({
            "frame": pa.array(self.frames[t_idx].astype(np.int32)),
            "time": pa.array(self.times[t_idx].astype(np.float64)),
            "person": pa.array(p_idx.astype(np.int16)),
            "code": pa.array(names[c_idx].tolist()).dictionary_encode(),
            "category": pa.array(self.categories[t_idx, p_idx, c_idx].tolist())
            .dictionary_encode(),
            "kind": pa.array(kinds[c_idx].tolist()).dictionary_encode(),
            "value": pa.array(self.values[t_idx, p_idx, c_idx].astype(np.float32)),
        })


def _unit(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _deg(x: np.ndarray) -> np.ndarray:
    return np.degrees(x)


def _signed_angle(a: np.ndarray, b: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Angle (deg) from horizontal vector ``a`` to ``b`` about ``up`` (> 0 counter-clockwise
    seen from above, i.e. towards the body's left when ``a`` points forward)."""
    cross = np.sum(np.cross(a, b) * up, axis=-1)
    return _deg(np.arctan2(cross, np.sum(a * b, axis=-1)))


def _horizontal(v: np.ndarray, up: np.ndarray) -> np.ndarray:
    return v - np.sum(v * up, axis=-1, keepdims=True) * up


def compute_codes(poses: Poses, *, up: np.ndarray | None = None,
                  compounds: bool = True) -> Codes:
    """Posecodes of every frame and person of 3D poses (no smoothing over time).

    Args:
        poses: ``(T, P, K, 3)`` 3D poses in metres (``world``, ``body`` or ``camera:*``).
        up: the vertical direction in the poses' coordinates. Default: ``+Z`` for world,
            ``-Y`` for body and camera spaces. BlazePose's world landmarks (``body``) turn
            with the camera, so ``-Y`` is up only for a level camera: a camera looking down
            25° adds about 25° of forward lean (pass the camera's up when it is known).
        compounds: also the whole-body codes (posture, arms).

    Returns:
        :class:`Codes`. Angle codes use :func:`~posestack.kinematics.angles.joint_angles`
        (ISB flexion, 0° straight).

    Raises:
        InputError: 2D poses, or a layout without hips and shoulders.
    """
    from ..kinematics.angles import joint_angles

    if not isinstance(poses, Poses):
        raise InputError(f"compute_codes needs a posestack Poses (e.g. from "
                         f"posestack.read_keypoints); got {type(poses).__name__}")
    if poses.dim != 3:
        raise InputError("posecodes need 3D poses (multi-view keypoints3d, BlazePose's "
                         "keypoints3d_body or a fitted body), not 2D")
    names = list(poses.skeleton.keypoints)
    idx = {r: next((names.index(n) for n in cands if n in names), None)
           for r, cands in _ROLES.items()}
    for r in ("left_hip", "right_hip", "left_shoulder", "right_shoulder"):
        if idx[r] is None:
            raise InputError(f"layout {poses.skeleton.name} has no {r}: posecodes need the "
                             "hips and shoulders to find the body's frame")
    u = _unit(np.asarray(_default_up(poses.space) if up is None else up, np.float64))
    X = poses.coords.astype(np.float64)                      # (T, P, K, 3)
    X = np.where((poses.scores > 0)[..., None], X, np.nan)
    T, P = X.shape[:2]

    def pt(role: str) -> np.ndarray:
        i = idx.get(role)
        return X[:, :, i] if i is not None else np.full((T, P, 3), np.nan)

    def mean(*roles: str) -> np.ndarray:
        return np.mean([pt(r) for r in roles], axis=0)

    lh, rh, ls, rs = pt("left_hip"), pt("right_hip"), pt("left_shoulder"), pt("right_shoulder")
    mid_hip = pt("mid_hip") if idx["mid_hip"] is not None else (lh + rh) / 2
    neck = pt("neck") if idx["neck"] is not None else (ls + rs) / 2
    # the pelvis faces where the person faces (the shoulders may twist); where the hip
    # line is near vertical (lying on one side), the shoulders help
    hip_line = _horizontal(lh - rh, u)
    both_lines = _horizontal((lh - rh) + (ls - rs), u)
    weak = np.linalg.norm(hip_line, axis=-1, keepdims=True) < 0.05
    left = _unit(np.where(weak, both_lines, hip_line))
    fwd = np.cross(left, u)

    vals: dict[str, np.ndarray] = {}
    # joint flexion: our ISB joint angles
    ang = joint_angles(poses, up=u)
    for s in ("left", "right"):
        for joint, a in (("knee", "knee_flexion"), ("hip", "hip_flexion"),
                         ("elbow", "elbow_flexion")):
            if f"{s}_{a}" in ang.names:
                vals[f"{s}_{joint}.bend"] = ang.get(f"{s}_{a}").astype(np.float64)
    # trunk
    trunk = neck - mid_hip
    up_c = np.sum(trunk * u, -1)
    lowest_ankle = np.fmin(np.sum(pt("left_ankle") * u, -1), np.sum(pt("right_ankle") * u, -1))
    standing_up = np.sum(neck * u, -1) - lowest_ankle > 0.20   # not lying or upside down
    vals["trunk.lean"] = np.where(standing_up, _deg(np.arctan2(np.sum(trunk * fwd, -1), up_c)),
                                  np.nan)
    vals["trunk.side_lean"] = np.where(
        standing_up, _deg(np.arctan2(np.sum(trunk * left, -1), up_c)), np.nan)
    vals["trunk.twist"] = _signed_angle(_unit(_horizontal(lh - rh, u)),
                                        _unit(_horizontal(ls - rs, u)), u)
    # head: ears' midpoint -> nose
    ears = mean("left_ear", "right_ear")
    head_dir = _unit(pt("nose") - ears)
    tr = _unit(trunk)
    # the turn about the trunk's own axis (a leaning trunk tilts the head with it)
    f_t = _unit(fwd - np.sum(fwd * tr, -1, keepdims=True) * tr)
    h_t = _unit(head_dir - np.sum(head_dir * tr, -1, keepdims=True) * tr)
    turn = _signed_angle(f_t, h_t, tr)
    along = np.abs(np.sum(head_dir * tr, -1))
    # not said where the nose points nearly along the trunk (the turn is then undefined),
    # nor beyond 90° (past what a neck turns: the face keypoints are wrong there)
    vals["head.turn"] = np.where((along < np.sin(np.radians(60.0))) & (np.abs(turn) <= 90.0),
                                 turn, np.nan)
    # 0 = the nose about 15 degrees below the plane perpendicular to the trunk (upright head)
    vals["head.pitch"] = _deg(np.arcsin(np.clip(np.sum(head_dir * tr, -1), -1, 1))) + 15.0
    head = pt("head_top") if idx["head_top"] is not None else ears
    head = np.where(np.isfinite(head), head, pt("nose"))

    def height(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.sum((a - b) * u, -1)

    def depth(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.sum((a - b) * fwd, -1)

    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.linalg.norm(a - b, axis=-1)

    for s, o in (("left", "right"), ("right", "left")):
        hand, foot = pt(f"{s}_hand"), pt(f"{s}_ankle")
        vals[f"{s}_hand.height_vs_head"] = height(hand, head)
        vals[f"{s}_hand.height_vs_shoulder"] = height(hand, pt(f"{s}_shoulder"))
        vals[f"{s}_foot.height_vs_{o}_foot"] = height(foot, pt(f"{o}_ankle"))
        vals[f"{s}_foot.depth_vs_{o}_foot"] = depth(foot, pt(f"{o}_ankle"))
        vals[f"{s}_hand.depth_vs_trunk"] = depth(hand, (mid_hip + neck) / 2)
        vals[f"{s}_hand.near_head"] = dist(hand, np.where(np.isfinite(pt("nose")), pt("nose"),
                                                          head))
        vals[f"{s}_hand.near_{s}_hip"] = dist(hand, pt(f"{s}_hip"))
        vals[f"{s}_hand.near_{o}_elbow"] = dist(hand, pt(f"{o}_elbow"))
        vals[f"{s}_hand.near_{o}_shoulder"] = dist(hand, pt(f"{o}_shoulder"))
    for pair, a, b in (("hands", "left_hand", "right_hand"), ("elbows", "left_elbow",
                       "right_elbow"), ("knees", "left_knee", "right_knee"),
                       ("feet", "left_ankle", "right_ankle")):
        vals[f"{pair}.distance"] = dist(pt(a), pt(b))
    # crossed: the left hand to the right of the right hand (along the body's left axis)
    vals["hands.crossed"] = np.sum((pt("right_hand") - pt("left_hand")) * left, -1)

    def elevation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        v = _unit(b - a)
        return _deg(np.arcsin(np.clip(np.sum(v * u, -1), -1, 1)))

    for s in ("left", "right"):
        vals[f"{s}_upper_arm.elevation"] = elevation(pt(f"{s}_shoulder"), pt(f"{s}_elbow"))
        vals[f"{s}_forearm.elevation"] = elevation(pt(f"{s}_elbow"), pt(f"{s}_hand"))
        vals[f"{s}_thigh.elevation"] = elevation(pt(f"{s}_hip"), pt(f"{s}_knee"))
        vals[f"{s}_shin.elevation"] = elevation(pt(f"{s}_knee"), pt(f"{s}_ankle"))
    vals["trunk.elevation"] = elevation(mid_hip, neck)
    down_trunk = _unit(mid_hip - neck)
    for s in ("left", "right"):
        arm = _unit(pt(f"{s}_elbow") - pt(f"{s}_shoulder"))
        vals[f"{s}_arm.raise"] = _deg(np.arccos(np.clip(np.sum(arm * down_trunk, -1), -1, 1)))
    # ground: height above the lowest keypoint of the person in that frame
    h_all = np.sum(X * u, -1)                                  # (T, P, K)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN frames: NaN floor
        floor = np.nanmin(h_all, axis=-1)
    foot_low = {s: np.fmin(np.fmin(np.sum(pt(f"{s}_ankle") * u, -1),
                                   np.sum(pt(f"{s}_heel") * u, -1)),
                           np.sum(pt(f"{s}_toe") * u, -1)) for s in ("left", "right")}
    for s in ("left", "right"):
        vals[f"{s}_foot.ground"] = foot_low[s] - floor
        vals[f"{s}_knee.ground"] = np.sum(pt(f"{s}_knee") * u, -1) - floor
        vals[f"{s}_hand.ground"] = np.sum(pt(f"{s}_hand") * u, -1) - floor
    vals["hips.ground"] = np.sum(mid_hip * u, -1) - floor

    out_names = [s.name for s in SPECS if s.name in vals
                 and np.isfinite(vals[s.name]).any()]
    values = np.stack([vals[n] for n in out_names], axis=-1) if out_names else \
        np.zeros((T, P, 0))
    cats = np.full(values.shape, "", dtype=object)
    for i, n in enumerate(out_names):
        kind = KINDS[SPEC[n].kind]
        v = values[:, :, i]
        ok = np.isfinite(v)
        c = np.searchsorted(np.asarray(kind.thresholds), v[ok], side="left")
        cats[:, :, i][ok] = np.asarray(kind.categories, dtype=object)[c]
    codes = Codes(tuple(out_names), values, cats, np.asarray(poses.times, np.float64),
                  np.arange(T), poses.skeleton.name)
    return add_compounds(codes) if compounds else codes


def _get(codes: Codes, values: Mapping[str, np.ndarray], name: str) -> np.ndarray:
    v = values.get(name)
    if v is not None:
        return v
    T, P = codes.values.shape[:2]
    return np.full((T, P), np.nan)


def add_compounds(codes: Codes) -> Codes:
    """``codes`` with the whole-body codes of :data:`~posestack.describe.vocab.COMPOUNDS`
    (posture; arms) appended, decided from the elementary values (and their categories
    where a category is meant, so that stabilized categories give stable compounds).

    A compound whose evidence is not observed is absent. Rules (values as measured):

    * lying: trunk within 35° of horizontal, hips under 0.35 m above the lowest point;
    * kneeling: a knee on the ground, bent (over 45°);
    * squatting: both knees deeply bent (over 105°) with both feet on the ground;
    * sitting: both thighs within 35° of horizontal, both knees bent 45–105°;
    * lunging: the feet over 0.6 m apart front to back, the front knee bent over 60°;
    * standing on one leg: one foot on the ground, the other over 0.15 m above it, the
      stance knee bent under 60° and the trunk over 35° from horizontal;
    * standing: trunk over 60° from horizontal and both knees straight or slightly bent
      (under 45°).

    Knee states are read from the knee codes' categories (stabilized ones when given).

    Arms: T-pose (both upper arms within 20° of horizontal, elbows under 25°, hands over
    1.0 m apart); both hands above the head (over 0.10 m); hands on the hips (each hand
    within 0.15 m of its hip, elbows bent over 45°); arms crossed (hands crossed, each
    within 0.25 m of the other elbow); arms by the sides (both upper arms over 60° below
    horizontal, elbows under 30°).
    """
    vals = {n: codes.values[:, :, i] for i, n in enumerate(codes.names)}
    cats = {n: codes.categories[:, :, i] for i, n in enumerate(codes.names)}
    g = lambda n: _get(codes, vals, n)  # noqa: E731
    T, P = codes.values.shape[:2]

    def both(fn):
        return fn("left") & fn("right")

    def cat_is(name: str, *allowed: str) -> np.ndarray:
        c = cats.get(name)
        return np.isin(c, allowed) if c is not None else np.zeros((T, P), bool)

    with np.errstate(invalid="ignore"):
        trunk_e = np.abs(g("trunk.elevation"))
        knee = {s: g(f"{s}_knee.bend") for s in ("left", "right")}
        foot_on = {s: cat_is(f"{s}_foot.ground", "on_ground") for s in ("left", "right")}
        knee_on = {s: cat_is(f"{s}_knee.ground", "on_ground") for s in ("left", "right")}
        posture = np.full((T, P), "", dtype=object)
        observed = np.isfinite(trunk_e) & np.isfinite(knee["left"]) & np.isfinite(
            knee["right"])
        lying = (trunk_e < 35) & (g("hips.ground") < 0.35)
        # knee states by their (stabilized) categories, so the posture holds as they do
        kb = {s: codes.categories[:, :, codes.index(f"{s}_knee.bend")]
              if f"{s}_knee.bend" in codes.names else np.full((T, P), "", dtype=object)
              for s in ("left", "right")}
        straightish = {s: np.isin(kb[s], ("straight", "slightly_bent")) for s in kb}
        kneeling = (knee_on["left"] & ~straightish["left"]) | (knee_on["right"]
                                                               & ~straightish["right"])
        squatting = both(lambda s: np.isin(kb[s], ("deeply_bent", "fully_bent")) & foot_on[s])
        sitting = both(lambda s: (np.abs(g(f"{s}_thigh.elevation")) < 35)
                       & np.isin(kb[s], ("bent", "right_angle")))
        step = np.abs(g("left_foot.depth_vs_right_foot"))
        front = np.where(g("left_foot.depth_vs_right_foot") > 0, knee["left"], knee["right"])
        lunging = (step > 0.6) & (front > 60)
        lift = g("left_foot.ground") - g("right_foot.ground")
        # on one leg: the stance knee fairly straight, the trunk anywhere but lying (a
        # balancing person leans)
        one_leg = ((foot_on["left"] & (lift < -0.15) & (knee["left"] < 60))
                   | (foot_on["right"] & (lift > 0.15) & (knee["right"] < 60)))
        standing = (trunk_e > 60) & straightish["left"] & straightish["right"]
        for name, mask in (("standing", standing), ("one_leg_stance", one_leg & (trunk_e > 35)),
                           ("lunging", lunging), ("sitting", sitting),
                           ("squatting", squatting), ("kneeling", kneeling),
                           ("lying", lying)):
            posture[observed & mask] = name   # later rules win: the most specific last

        arms = np.full((T, P), "", dtype=object)
        ua = {s: g(f"{s}_upper_arm.elevation") for s in ("left", "right")}
        el = {s: g(f"{s}_elbow.bend") for s in ("left", "right")}
        arms_seen = np.isfinite(ua["left"]) & np.isfinite(ua["right"])
        rules = (
            ("arms_down", both(lambda s: (ua[s] < -60) & (el[s] < 30))),
            ("t_pose", both(lambda s: (np.abs(ua[s]) < 20) & (el[s] < 25))
             & (g("hands.distance") > 1.0)),
            ("hands_on_hips", both(lambda s: (g(f"{s}_hand.near_{s}_hip") < 0.15)
                                   & (el[s] > 45))),
            ("arms_crossed", (g("hands.crossed") > 0)
             & (g("left_hand.near_right_elbow") < 0.25)
             & (g("right_hand.near_left_elbow") < 0.25)),
            ("arms_raised", both(lambda s: g(f"{s}_hand.height_vs_head") > 0.10)),
        )
        for name, mask in rules:
            arms[arms_seen & mask] = name
    extra = {"posture": posture, "arms_pose": arms}
    names = codes.names + tuple(n for n in COMPOUND_NAMES if n not in codes.names)
    new_vals = np.concatenate([codes.values] + [
        np.where(extra[n] != "", 1.0, np.nan)[..., None] for n in COMPOUND_NAMES
        if n not in codes.names], axis=-1)
    new_cats = np.concatenate([codes.categories] + [
        extra[n][..., None] for n in COMPOUND_NAMES if n not in codes.names], axis=-1)
    return Codes(names, new_vals, new_cats, codes.times, codes.frames, codes.skeleton)


def stabilize(codes: Codes, min_duration: float = 0.1) -> Codes:
    """Categories that do not flicker: hysteresis on every elementary code, then the
    compounds decided again from the stabilized categories.

    A category changes only when the value is past the threshold between the old and new
    bins by the kind's ``margin``; runs of one category shorter than ``min_duration``
    seconds (between two runs of the same other category, or at the ends) take the
    neighbouring category (for the posture and arms, runs shorter than three times
    that: they change more slowly). Missing frames break a run.
    """
    T = codes.values.shape[0]
    dt = float(np.median(np.diff(codes.times))) if T > 1 else 1.0
    min_frames = max(1, round(min_duration / dt)) if dt > 0 else 1
    elementary = [i for i, n in enumerate(codes.names) if n in SPEC]
    cats = codes.categories[:, :, elementary].copy()
    for j, i in enumerate(elementary):
        kind = KINDS[SPEC[codes.names[i]].kind]
        th = np.asarray(kind.thresholds)
        order = {c: k for k, c in enumerate(kind.categories)}
        for p in range(codes.values.shape[1]):
            v = codes.values[:, p, i]
            col = cats[:, p, j]
            state = -1
            for t in range(T):
                if not np.isfinite(v[t]):
                    state = -1
                    continue
                raw = order[col[t]]
                if state < 0 or raw == state:
                    state = raw
                elif raw > state:   # going up: past the next threshold by the margin
                    k = state
                    while k < raw and v[t] > th[k] + kind.margin:
                        k += 1
                    state = k
                else:
                    k = state
                    while k > raw and v[t] <= th[k - 1] - kind.margin:
                        k -= 1
                    state = k
                col[t] = kind.categories[state]
            _merge_short_runs(col, np.isfinite(v), min_frames)
    out = codes.categories.copy()
    out[:, :, elementary] = cats
    base = Codes(tuple(codes.names[i] for i in elementary), codes.values[:, :, elementary],
                 cats, codes.times, codes.frames, codes.skeleton)
    if any(n in COMPOUND_NAMES for n in codes.names):
        full = add_compounds(base)
        for n in COMPOUND_NAMES:
            if n in codes.names:
                col = full.categories[:, :, full.index(n)].copy()
                for p in range(col.shape[1]):
                    _merge_short_runs(col[:, p], col[:, p] != "", 3 * min_frames)
                out[:, :, codes.index(n)] = col
    return Codes(codes.names, codes.values, out, codes.times, codes.frames, codes.skeleton)


def _merge_short_runs(col: np.ndarray, seen: np.ndarray, min_frames: int) -> None:
    """In place: runs shorter than ``min_frames`` take the previous run's category (or
    the next one's at the start); unseen frames are left alone."""
    if min_frames <= 1 or col.size == 0:
        return
    starts = [0] + [t for t in range(1, col.size) if col[t] != col[t - 1]
                    or seen[t] != seen[t - 1]]
    bounds = list(zip(starts, [*starts[1:], col.size], strict=True))
    for k, (a, b) in enumerate(bounds):
        if b - a >= min_frames or not seen[a]:
            continue
        prev = bounds[k - 1] if k > 0 else None
        nxt = bounds[k + 1] if k + 1 < len(bounds) else None
        if prev is not None and seen[prev[0]]:
            col[a:b] = col[prev[0]]
        elif nxt is not None and seen[nxt[0]] and nxt[1] - nxt[0] >= min_frames:
            col[a:b] = col[nxt[0]]
