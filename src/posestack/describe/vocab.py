"""The words of :mod:`posestack.describe`: one data table, easy to extend and translate.

Everything the descriptions say and the queries understand comes from the tables below:

* :data:`KINDS`: per kind of code, its categories (low to high), the thresholds between
  them (the measured value's units: degrees or metres), the hysteresis margin, and for each
  category how telling it is (``salience``: 0 never said, 1 said when there is room, 2
  said first) and its words.
* :data:`PARTS`: body-part names as they are written (singular, and plural for "both").
* :data:`COMPOUNDS`: whole-body codes (posture, arms) and their words.
* :data:`SYNONYMS`: other words a query may use for a category or a part.

Thresholds follow the values PoseScript published for its posecodes (Delmas et al.,
ECCV 2022: angles 45/75/105/135/160° between segments, i.e. 20/45/75/105/135° of flexion;
distances 0.20/0.40/0.80 m; relative positions ±0.05/±0.15 m; vertical/horizontal within
10°; on the ground within 0.10 m; trunk incline ±20/±50°, side lean ±15/±30°, twist
±20/±50°); the vocabulary, templates and structures are posestack's own. A translation
replaces the strings in these tables and nothing else.

Templates: ``{a}`` the part (or parts), ``{b}`` the second part, ``{be}`` "is"/"are".
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kind:
    """One kind of code: bins of a measured value and the words of each bin."""

    unit: str                          # "deg" or "m"
    categories: tuple[str, ...]        # low -> high
    thresholds: tuple[float, ...]      # len(categories) - 1, increasing
    margin: float                      # hysteresis half-band, in ``unit``
    words: dict[str, str]              # category -> template
    salience: dict[str, int] = field(default_factory=dict)   # default 1
    measure: str = ""                  # what the value is, for queries and --sql

    def category(self, value: float) -> str:
        """The category of one value (upper bounds inclusive, as PoseScript bins)."""
        for c, t in zip(self.categories, self.thresholds, strict=False):
            if value <= t:
                return c
        return self.categories[-1]


KINDS: dict[str, Kind] = {
    # flexion of a joint: 0 deg straight (our ISB joint angles)
    "bend": Kind(
        "deg",
        ("straight", "slightly_bent", "bent", "right_angle", "deeply_bent", "fully_bent"),
        (20.0, 45.0, 75.0, 105.0, 135.0), 5.0,
        {"straight": "{a} {be} straight", "slightly_bent": "{a} {be} slightly bent",
         "bent": "{a} {be} bent", "right_angle": "{a} {be} bent at a right angle",
         "deeply_bent": "{a} {be} deeply bent", "fully_bent": "{a} {be} fully bent"},
        {"straight": 0, "slightly_bent": 1, "bent": 1, "right_angle": 2, "deeply_bent": 2,
         "fully_bent": 2},
        "flexion (degrees, 0 = straight)"),
    # distance between two points
    "distance": Kind(
        "m", ("close", "shoulder_width", "apart", "wide"), (0.20, 0.40, 0.80), 0.03,
        {"close": "{a} {be} close together", "shoulder_width": "{a} {be} shoulder-width apart",
         "apart": "{a} {be} apart", "wide": "{a} {be} wide apart"},
        {"close": 2, "shoulder_width": 1, "apart": 0, "wide": 2},
        "distance (metres)"),
    "near": Kind(   # a point near another: said only when close
        "m", ("touching", "near", "away"), (0.12, 0.25), 0.03,
        {"touching": "{a} {be} at {b}", "near": "{a} {be} near {b}", "away": ""},
        {"touching": 2, "near": 1, "away": 0},
        "distance (metres)"),
    # position of a point relative to another along the body's axes
    "height": Kind(
        "m", ("below", "slightly_below", "level", "slightly_above", "above"),
        (-0.15, -0.05, 0.05, 0.15), 0.03,
        {"below": "{a} {be} below {b}", "level": "{a} {be} level with {b}",
         "above": "{a} {be} above {b}", "slightly_below": "", "slightly_above": ""},
        {"below": 1, "slightly_below": 0, "level": 1, "slightly_above": 0, "above": 2},
        "height difference (metres, > 0 above)"),
    "depth": Kind(
        "m", ("behind", "slightly_behind", "level", "slightly_in_front", "in_front"),
        (-0.15, -0.05, 0.05, 0.15), 0.03,
        {"behind": "{a} {be} behind {b}", "in_front": "{a} {be} in front of {b}",
         "level": "", "slightly_behind": "", "slightly_in_front": ""},
        {"behind": 1, "slightly_behind": 0, "level": 0, "slightly_in_front": 0,
         "in_front": 1},
        "forward difference (metres, > 0 in front)"),
    "side": Kind(   # left hand vs right hand across the body: > 0 means crossed
        "m", ("uncrossed", "crossed"), (0.0,), 0.03,
        {"uncrossed": "", "crossed": "{a} {be} crossed"},
        {"uncrossed": 0, "crossed": 2},
        "crossing (metres, > 0 crossed)"),
    # direction of a segment, proximal -> distal, above the horizontal plane
    "elevation": Kind(
        "deg", ("down", "angled_down", "horizontal", "angled_up", "up"),
        (-80.0, -10.0, 10.0, 80.0), 5.0,
        {"down": "{a} {be} pointing down", "angled_down": "{a} {be} angled down",
         "horizontal": "{a} {be} horizontal", "angled_up": "{a} {be} angled up",
         "up": "{a} {be} pointing up"},
        {"down": 0, "angled_down": 1, "horizontal": 2, "angled_up": 2, "up": 2},
        "elevation (degrees above horizontal)"),
    # the upper arm against the trunk: 0 along the body, 90 out level, 180 overhead
    "arm_raise": Kind(
        "deg", ("along_body", "raised_low", "shoulder_height", "raised_high", "overhead"),
        (30.0, 70.0, 110.0, 150.0), 5.0,
        {"along_body": "", "raised_low": "{a} {be} raised a little",
         "shoulder_height": "{a} {be} raised to shoulder height",
         "raised_high": "{a} {be} raised high", "overhead": "{a} {be} raised overhead"},
        {"along_body": 0, "raised_low": 0, "shoulder_height": 0, "raised_high": 0,
         "overhead": 0},
        "arm raise against the trunk (degrees, 0 along the body, 180 overhead)"),
    "ground": Kind(
        "m", ("on_ground", "off_ground"), (0.10,), 0.03,
        {"on_ground": "{a} {be} on the ground", "off_ground": "{a} {be} off the ground"},
        {"on_ground": 1, "off_ground": 1},
        "height above the lowest point (metres)"),
    "lean": Kind(
        "deg", ("backward", "slightly_backward", "upright", "slightly_forward", "forward"),
        (-50.0, -20.0, 20.0, 50.0), 5.0,
        {"backward": "the trunk leans back", "slightly_backward": "the trunk leans back a little",
         "upright": "the trunk is upright", "slightly_forward": "the trunk leans forward a little",
         "forward": "the trunk is bent forward"},
        {"backward": 2, "slightly_backward": 1, "upright": 0, "slightly_forward": 1,
         "forward": 2},
        "trunk incline (degrees, > 0 forward)"),
    "side_lean": Kind(
        "deg", ("right", "slightly_right", "straight", "slightly_left", "left"),
        (-30.0, -15.0, 15.0, 30.0), 5.0,
        {"right": "the trunk leans to the right", "slightly_right":
         "the trunk leans a little to the right", "straight": "",
         "slightly_left": "the trunk leans a little to the left",
         "left": "the trunk leans to the left"},
        {"right": 2, "slightly_right": 1, "straight": 0, "slightly_left": 1, "left": 2},
        "side lean (degrees, > 0 to the left)"),
    "twist": Kind(
        "deg", ("right", "slightly_right", "square", "slightly_left", "left"),
        (-50.0, -20.0, 20.0, 50.0), 5.0,
        {"right": "the shoulders are turned to the right", "slightly_right":
         "the shoulders are turned a little to the right", "square": "",
         "slightly_left": "the shoulders are turned a little to the left",
         "left": "the shoulders are turned to the left"},
        {"right": 2, "slightly_right": 1, "square": 0, "slightly_left": 1, "left": 2},
        "twist of the shoulders against the hips (degrees, > 0 to the left)"),
    "head_turn": Kind(
        "deg", ("right", "slightly_right", "ahead", "slightly_left", "left"),
        (-30.0, -15.0, 15.0, 30.0), 5.0,
        {"right": "the head is turned to the right", "slightly_right":
         "the head is turned a little to the right", "ahead": "",
         "slightly_left": "the head is turned a little to the left",
         "left": "the head is turned to the left"},
        {"right": 2, "slightly_right": 1, "ahead": 0, "slightly_left": 1, "left": 2},
        "head turn against the trunk (degrees, > 0 to the left)"),
    "head_pitch": Kind(
        "deg", ("down", "level", "up"), (-25.0, 25.0), 5.0,
        {"down": "the head is bowed", "level": "", "up": "the head is tilted back"},
        {"down": 2, "level": 0, "up": 2},
        "head pitch against the trunk (degrees, > 0 up)"),
}

#: (code name suffix, category) -> salience, overriding the kind's for those codes
CODE_SALIENCE: dict[tuple[str, str], int] = {
    ("hand.height_vs_head", "below"): 0, ("hand.height_vs_head", "level"): 1,
    ("hand.height_vs_shoulder", "below"): 0, ("hand.height_vs_shoulder", "level"): 1,
    ("knees.distance", "close"): 0, ("knees.distance", "shoulder_width"): 0,
    ("elbows.distance", "close"): 1, ("elbows.distance", "shoulder_width"): 0,
    ("elbows.distance", "apart"): 0, ("feet.distance", "close"): 1,
    ("hand.depth_vs_trunk", "in_front"): 1, ("hand.depth_vs_trunk", "behind"): 2,
    ("foot.ground", "on_ground"): 0, ("hand.ground", "off_ground"): 0,
    ("knee.ground", "off_ground"): 0, ("foot.ground", "off_ground"): 2,
    ("hand.ground", "on_ground"): 2, ("knee.ground", "on_ground"): 2,
    ("hips.ground", "on_ground"): 2, ("hips.ground", "off_ground"): 0,
}

#: words for a left/right pair compared with each other, when they are level
PAIR_LEVEL: dict[str, str] = {
    "foot.height": "",   # level feet are the rule, not worth saying
    "foot.depth": "",
}

#: part id -> (singular, plural); a code's parts are named by these ids.
PARTS: dict[str, tuple[str, str]] = {
    **{f"{s}_{p}": (f"the {s} {w}", f"both {wp}") for s in ("left", "right")
       for p, w, wp in (("knee", "knee", "knees"), ("elbow", "elbow", "elbows"),
                        ("hip", "hip", "hips"), ("shoulder", "shoulder", "shoulders"),
                        ("hand", "hand", "hands"), ("foot", "foot", "feet"),
                        ("thigh", "thigh", "thighs"), ("shin", "shin", "shins"),
                        ("upper_arm", "upper arm", "upper arms"),
                        ("forearm", "forearm", "forearms"))},
    "hands": ("the hands", "the hands"), "feet": ("the feet", "the feet"),
    "knees": ("the knees", "the knees"), "elbows": ("the elbows", "the elbows"),
    "arms": ("the arms", "the arms"), "hips": ("the hips", "the hips"),
    "head": ("the head", "the head"), "trunk": ("the trunk", "the trunk"),
    "body": ("the body", "the body"),
}

#: compound code -> category -> words (a whole sentence or a leading phrase)
COMPOUNDS: dict[str, dict[str, str]] = {
    "posture": {
        "standing": "standing", "one_leg_stance": "standing on one leg",
        "sitting": "sitting", "kneeling": "kneeling", "squatting": "squatting",
        "lunging": "in a lunge", "lying": "lying down",
    },
    "arms_pose": {
        "t_pose": "arms stretched out to the sides (T-pose)",
        "arms_raised": "both hands above the head",
        "hands_on_hips": "hands on the hips", "arms_crossed": "arms crossed",
        "arms_down": "arms by the sides",
    },
}

#: query word -> the canonical word(s) it stands for
SYNONYMS: dict[str, str] = {
    "flexed": "bent", "bend": "bent", "bending": "bent", "flexion": "bent",
    "extended": "straight", "stretched": "straight",
    "raised": "up", "lifted": "up", "high": "up", "overhead": "above_head",
    "apart": "apart", "spread": "apart", "separated": "apart",
    "together": "close", "near": "close", "touching": "close",
    "90": "right_angle", "l-shape": "right_angle",
    "sit": "sitting", "seated": "sitting", "stand": "standing", "upright": "standing",
    "kneel": "kneeling", "squat": "squatting", "crouching": "squatting",
    "lunge": "lunging", "lie": "lying", "lying": "lying", "laying": "lying",
    "t-pose": "t_pose", "tpose": "t_pose",
    "arm": "arms", "hand": "hands", "leg": "legs", "knee": "knees", "foot": "feet",
    "elbow": "elbows", "hip": "hips",
}
