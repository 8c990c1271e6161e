"""Tests for posestack.skeletons: layout tables, registry and keypoint maps.

The reference strings below are copied from the published definitions (mmpose dataset
configs, OpenPose poseParameters*, MediaPipe *_connections.py) independently of the
way the module builds its tables, so a wrong table fails here.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from posestack.errors import InputError
from posestack.skeletons import (
    BLAZEPOSE33,
    BODY25,
    BODY25B,
    COCO17,
    COCO_WHOLEBODY,
    FACE468,
    H36M17,
    HALPE26,
    HAND21,
    SKELETONS,
    KeypointMap,
    Skeleton,
    get_skeleton,
    keypoint_map,
)


def pairs(text: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in re.findall(r"(\d+)-(\d+)", text)]


def edge_set(edges) -> set[frozenset[int]]:
    return {frozenset(e) for e in edges}


# -- reference tables --------------------------------------------------------------------

REF_EDGES = {
    "coco17": "15-13, 13-11, 16-14, 14-12, 11-12, 5-11, 6-12, 5-6, 5-7, 6-8, 7-9, 8-10, 1-2, "
              "0-1, 0-2, 1-3, 2-4, 3-5, 4-6",
    "coco_wholebody133": (
        "15-13, 13-11, 16-14, 14-12, 11-12, 5-11, 6-12, 5-6, 5-7, 6-8, 7-9, 8-10, 1-2, 0-1, "
        "0-2, 1-3, 2-4, 3-5, 4-6, 15-17, 15-18, 15-19, 16-20, 16-21, 16-22, 91-92, 92-93, "
        "93-94, 94-95, 91-96, 96-97, 97-98, 98-99, 91-100, 100-101, 101-102, 102-103, 91-104, "
        "104-105, 105-106, 106-107, 91-108, 108-109, 109-110, 110-111, 112-113, 113-114, "
        "114-115, 115-116, 112-117, 117-118, 118-119, 119-120, 112-121, 121-122, 122-123, "
        "123-124, 112-125, 125-126, 126-127, 127-128, 112-129, 129-130, 130-131, 131-132"
    ),
    "halpe26": "15-13, 13-11, 11-19, 16-14, 14-12, 12-19, 17-18, 18-19, 18-5, 5-7, 7-9, 18-6, "
               "6-8, 8-10, 1-2, 0-1, 0-2, 1-3, 2-4, 3-5, 4-6, 15-20, 15-22, 15-24, 16-21, "
               "16-23, 16-25",
    "blazepose33": "0-1, 1-2, 2-3, 3-7, 0-4, 4-5, 5-6, 6-8, 9-10, 11-12, 11-13, 13-15, 15-17, "
                   "15-19, 15-21, 17-19, 12-14, 14-16, 16-18, 16-20, 16-22, 18-20, 11-23, "
                   "12-24, 23-24, 23-25, 24-26, 25-27, 26-28, 27-29, 28-30, 29-31, 30-32, "
                   "27-31, 28-32",
    "hand21": "0-1, 1-2, 2-3, 3-4, 0-5, 5-6, 6-7, 7-8, 0-9, 9-10, 10-11, 11-12, 0-13, 13-14, "
              "14-15, 15-16, 0-17, 17-18, 18-19, 19-20",
    "body25": "1-8, 1-2, 1-5, 2-3, 3-4, 5-6, 6-7, 8-9, 9-10, 10-11, 8-12, 12-13, 13-14, 1-0, "
              "0-15, 15-17, 0-16, 16-18, 14-19, 19-20, 14-21, 11-22, 22-23, 11-24",
    "body25b": "0-1, 0-2, 1-3, 2-4, 5-7, 6-8, 7-9, 8-10, 5-11, 6-12, 11-13, 12-14, 13-15, "
               "14-16, 15-19, 19-20, 15-21, 16-22, 22-23, 16-24, 5-17, 6-17, 17-18, 11-12",
    "h36m17": "0-4, 4-5, 5-6, 0-1, 1-2, 2-3, 0-7, 7-8, 8-9, 9-10, 8-11, 11-12, 12-13, 8-14, "
              "14-15, 15-16",
}

REF_FLIP_PAIRS = {
    "coco17": "1-2, 3-4, 5-6, 7-8, 9-10, 11-12, 13-14, 15-16",
    "coco_wholebody133": (
        "1-2, 3-4, 5-6, 7-8, 9-10, 11-12, 13-14, 15-16, 17-20, 18-21, 19-22, 23-39, 24-38, "
        "25-37, 26-36, 27-35, 28-34, 29-33, 30-32, 40-49, 41-48, 42-47, 43-46, 44-45, 54-58, "
        "55-57, 59-68, 60-67, 61-66, 62-65, 63-70, 64-69, 71-77, 72-76, 73-75, 78-82, 79-81, "
        "83-87, 84-86, 88-90, 91-112, 92-113, 93-114, 94-115, 95-116, 96-117, 97-118, 98-119, "
        "99-120, 100-121, 101-122, 102-123, 103-124, 104-125, 105-126, 106-127, 107-128, "
        "108-129, 109-130, 110-131, 111-132"
    ),
    "halpe26": "1-2, 3-4, 5-6, 7-8, 9-10, 11-12, 13-14, 15-16, 20-21, 22-23, 24-25",
    "blazepose33": "1-4, 2-5, 3-6, 7-8, 9-10, 11-12, 13-14, 15-16, 17-18, 19-20, 21-22, "
                   "23-24, 25-26, 27-28, 29-30, 31-32",
    "hand21": "",
    "body25": "2-5, 3-6, 4-7, 9-12, 10-13, 11-14, 15-16, 17-18, 19-22, 20-23, 21-24",
    "body25b": "1-2, 3-4, 5-6, 7-8, 9-10, 11-12, 13-14, 15-16, 19-22, 20-23, 21-24",
    "h36m17": "1-4, 2-5, 3-6, 11-14, 12-15, 13-16",
}

EXPECTED_K = {
    "coco17": 17, "coco_wholebody133": 133, "halpe26": 26, "blazepose33": 33, "hand21": 21,
    "face468": 468, "body25": 25, "body25b": 25, "h36m17": 17, "holistic543": 543,
}

COCO_SIGMAS = [0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
               0.107, 0.107, 0.087, 0.087, 0.089, 0.089]
HAND_SIGMAS = [0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024,
               0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.020, 0.019, 0.022, 0.031]

MEDIAPIPE_POSE_NAMES = [
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
]


# -- counts and basic structure -----------------------------------------------------------


def test_registry_has_every_layout_with_expected_counts():
    assert {n: len(s) for n, s in SKELETONS.items()} == EXPECTED_K
    for name, skel in SKELETONS.items():
        assert skel.name == name
        assert len(skel.keypoints) == len(set(skel.keypoints)) == EXPECTED_K[name]
        assert all(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", k) for k in skel.keypoints)


@pytest.mark.parametrize("skel", list(SKELETONS.values()), ids=lambda s: s.name)
def test_edges_in_range_no_duplicates_no_loops(skel):
    k = len(skel)
    assert skel.edges
    for a, b in skel.edges:
        assert 0 <= a < k and 0 <= b < k and a != b
    assert len(edge_set(skel.edges)) == len(skel.edges)


@pytest.mark.parametrize("name", sorted(REF_EDGES))
def test_edges_match_reference(name):
    ref = pairs(REF_EDGES[name])
    skel = SKELETONS[name]
    assert len(skel.edges) == len(ref)
    assert edge_set(skel.edges) == edge_set(ref)


def test_edge_counts():
    counts = {n: len(s.edges) for n, s in SKELETONS.items()}
    assert counts == {
        "coco17": 19, "coco_wholebody133": 65, "halpe26": 27, "blazepose33": 35, "hand21": 20,
        "face468": 124, "body25": 24, "body25b": 24, "h36m17": 16,
        "holistic543": 35 + 20 + 20 + 124,
    }


@pytest.mark.parametrize("skel", list(SKELETONS.values()), ids=lambda s: s.name)
def test_flip_is_involution(skel):
    flip = np.array(skel.flip)
    assert flip.shape == (len(skel),)
    assert np.array_equal(flip[flip], np.arange(len(skel)))


@pytest.mark.parametrize("name", sorted(REF_FLIP_PAIRS))
def test_flip_pairs_match_reference(name):
    skel = SKELETONS[name]
    ref = {tuple(sorted(p)) for p in pairs(REF_FLIP_PAIRS[name])}
    assert set(skel.flip_pairs) == ref
    assert len(skel.flip_pairs) == len(ref)


def _swap(name: str) -> str:
    sw = {"left": "right", "right": "left"}
    return "_".join(sw.get(t, t) for t in name.split("_"))


@pytest.mark.parametrize(
    "skel", [s for s in SKELETONS.values() if s.name != "face468"], ids=lambda s: s.name
)
def test_flip_maps_left_to_right_by_name(skel):
    face68 = {tuple(sorted(p)) for p in pairs(REF_FLIP_PAIRS["coco_wholebody133"])
              if 23 <= p[0] <= 90}
    for i, name in enumerate(skel.keypoints):
        tokens = name.split("_")
        j = skel.flip[i]
        if "left" in tokens or "right" in tokens:
            assert skel.keypoints[j] == _swap(name), (skel.name, name)
        elif skel.name == "coco_wholebody133" and name.startswith("face_"):
            if i != j:
                assert tuple(sorted((i, j))) in face68
        elif skel.name == "holistic543" and name.startswith("face_mesh_"):
            off = 33 + 42  # the face mesh's own flip table, shifted
            assert j - off == SKELETONS["face468"].flip[i - off]
        else:
            assert j == i, (skel.name, name)


def test_wholebody_face_midline_points_are_self_symmetric():
    fixed = [i for i in range(23, 91) if COCO_WHOLEBODY.flip[i] == i]
    assert fixed == [31, 50, 51, 52, 53, 56, 74, 80, 85, 89]


def test_sigmas():
    with_sigmas = {n: len(s.sigmas) for n, s in SKELETONS.items() if s.sigmas is not None}
    assert with_sigmas == {"coco17": 17, "coco_wholebody133": 133, "halpe26": 26, "hand21": 21}
    for name in ("blazepose33", "face468", "body25", "body25b", "h36m17"):
        assert SKELETONS[name].sigmas is None
    assert list(COCO17.sigmas) == COCO_SIGMAS
    wb = COCO_WHOLEBODY.sigmas
    assert list(wb[:17]) == COCO_SIGMAS
    assert list(wb[17:23]) == [0.068, 0.066, 0.066, 0.092, 0.094, 0.094]
    assert wb[23] == 0.042 and wb[23 + 16] == 0.045 and wb[23 + 47] == 0.034
    assert wb[90] == 0.008
    assert list(wb[91:112]) == HAND_SIGMAS == list(wb[112:133])
    assert list(HAND21.sigmas) == HAND_SIGMAS
    # mmpose halpe26.py values (Halpe's own eval uses 0.08 / 0.089 instead)
    assert list(HALPE26.sigmas[:17]) == COCO_SIGMAS
    assert HALPE26.sigmas[17:20] == (0.026, 0.026, 0.066)
    assert HALPE26.sigmas[20:] == (0.079,) * 6


# -- specific facts ----------------------------------------------------------------------


def test_coco17_names():
    assert COCO17.keypoints == (
        "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
        "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
        "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    )


def test_wholebody_layout_facts():
    kp = COCO_WHOLEBODY.keypoints
    assert kp[:17] == COCO17.keypoints
    assert kp[17:23] == ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe",
                         "right_small_toe", "right_heel")
    assert kp[23] == "face_0" and kp[90] == "face_67"
    assert kp[91] == "left_hand_root"
    assert kp[92] == "left_thumb1" and kp[95] == "left_thumb4"
    assert kp[96] == "left_forefinger1" and kp[100] == "left_middle_finger1"
    assert kp[104] == "left_ring_finger1" and kp[111] == "left_pinky_finger4"
    assert kp[112] == "right_hand_root" and kp[132] == "right_pinky_finger4"
    parts = COCO_WHOLEBODY.parts
    assert parts["body"] == tuple(range(17))
    assert parts["feet"] == tuple(range(17, 23))
    assert parts["face"] == tuple(range(23, 91))
    assert parts["left_hand"] == tuple(range(91, 112))
    assert parts["right_hand"] == tuple(range(112, 133))


def test_halpe26_foot_order_alternates():
    assert HALPE26.keypoints[17:] == (
        "head_top", "neck", "mid_hip", "left_big_toe", "right_big_toe", "left_small_toe",
        "right_small_toe", "left_heel", "right_heel",
    )
    assert HALPE26.keypoints[:17] == COCO17.keypoints


def test_blazepose_names_exactly_mediapipe():
    assert list(BLAZEPOSE33.keypoints) == MEDIAPIPE_POSE_NAMES
    assert BLAZEPOSE33.parts["face"] == tuple(range(11))
    assert BLAZEPOSE33.parts["body"] == tuple(range(33))


def test_hand21_names():
    assert HAND21.keypoints[:5] == ("wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip")
    assert HAND21.keypoints[5:9] == ("index_finger_mcp", "index_finger_pip",
                                     "index_finger_dip", "index_finger_tip")
    assert HAND21.keypoints[9] == "middle_finger_mcp"
    assert HAND21.keypoints[13] == "ring_finger_mcp"
    assert HAND21.keypoints[17:] == ("pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip")
    assert HAND21.flip == tuple(range(21))


def test_body25_facts():
    kp = BODY25.keypoints
    assert kp[0] == "nose" and kp[1] == "neck" and kp[8] == "mid_hip"
    assert kp[2] == "right_shoulder" and kp[5] == "left_shoulder"
    assert kp[9] == "right_hip" and kp[12] == "left_hip"
    assert kp[15:19] == ("right_eye", "left_eye", "right_ear", "left_ear")
    assert kp[19:] == ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe",
                       "right_small_toe", "right_heel")


def test_body25b_facts():
    kp = BODY25B.keypoints
    assert kp[:17] == COCO17.keypoints
    assert kp[17] == "upper_neck" and kp[18] == "head_top"
    assert kp[19:] == BODY25.keypoints[19:]


def test_h36m_facts():
    kp = H36M17.keypoints
    assert kp[0] == "pelvis" and kp[8] == "thorax" and kp[10] == "head"
    assert kp[1:4] == ("right_hip", "right_knee", "right_ankle")
    assert kp[4:7] == ("left_hip", "left_knee", "left_ankle")
    assert kp[11] == "left_shoulder" and kp[16] == "right_wrist"


def test_same_point_same_name_across_layouts():
    assert {s.name for s in SKELETONS.values() if "neck" in s.keypoints} == {"halpe26", "body25"}
    for name in ("left_shoulder", "left_big_toe", "right_heel", "nose", "left_ankle"):
        holders = [s for s in SKELETONS.values() if name in s.keypoints]
        assert len(holders) >= 3, name
    assert COCO_WHOLEBODY.index("left_big_toe") == 17
    assert HALPE26.index("left_big_toe") == 20
    assert BODY25.index("left_big_toe") == 19
    assert BODY25B.index("left_big_toe") == 19
    assert HALPE26.index("neck") == 18 and BODY25.index("neck") == 1


# -- face mesh ---------------------------------------------------------------------------


def test_face468_contours():
    parts = FACE468.parts
    assert FACE468.keypoints[0] == "face_mesh_0" and FACE468.keypoints[-1] == "face_mesh_467"
    assert not set(FACE468.keypoints) & set(COCO_WHOLEBODY.keypoints)  # different points
    assert parts["face"] == tuple(range(468))
    assert {len(parts[p]) for p in ("left_eye", "right_eye")} == {16}
    assert len(parts["face_oval"]) == 36
    assert len(parts["lips"]) == 40
    assert len(parts["left_eyebrow"]) == len(parts["right_eyebrow"]) == 10
    assert {33, 133, 159, 145} <= set(parts["right_eye"])
    assert {263, 362, 386, 374} <= set(parts["left_eye"])
    # every contour edge lies inside one contour part
    groups = [set(parts[p]) for p in ("lips", "left_eye", "left_eyebrow", "right_eye",
                                      "right_eyebrow", "face_oval")]
    for a, b in FACE468.edges:
        assert any(a in g and b in g for g in groups)


def _edges_in(part: str) -> set[frozenset[int]]:
    nodes = set(FACE468.parts[part])
    return {frozenset(e) for e in FACE468.edges if set(e) <= nodes}


def test_face468_flip_mirrors_contours():
    flip = FACE468.flip

    def mirrored(es):
        return {frozenset(flip[i] for i in e) for e in es}

    assert mirrored(_edges_in("left_eye")) == _edges_in("right_eye")
    assert mirrored(_edges_in("left_eyebrow")) == _edges_in("right_eyebrow")
    assert mirrored(_edges_in("lips")) == _edges_in("lips")
    assert mirrored(_edges_in("face_oval")) == _edges_in("face_oval")
    assert flip[33] == 263 and flip[133] == 362 and flip[61] == 291
    assert flip[10] == 10 and flip[152] == 152 and flip[1] == 1
    assert sum(1 for i, j in enumerate(flip) if i == j) == 28


# -- Skeleton object ---------------------------------------------------------------------


def test_index_and_indices():
    assert COCO17.index("left_wrist") == 9
    assert COCO17.indices(["nose", "right_ankle"]) == (0, 16)
    assert COCO17.indices("nose") == (0,)
    with pytest.raises(InputError, match="coco17") as err:
        COCO17.index("left_wristt")
    assert "left_wrist" in str(err.value)
    with pytest.raises(InputError, match="face468") as err:
        FACE468.index("face_1000")
    assert len(str(err.value)) < 300


def test_skeleton_hashable_immutable():
    d = {COCO17: 1, BLAZEPOSE33: 2}
    assert d[get_skeleton("coco")] == 1
    copy = Skeleton(COCO17.name, COCO17.keypoints, COCO17.edges, COCO17.flip,
                    dict(COCO17.parts), COCO17.sigmas)
    assert copy == COCO17 and hash(copy) == hash(COCO17) and copy is not COCO17
    assert COCO17 != HALPE26
    with pytest.raises(dataclasses.FrozenInstanceError):
        COCO17.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        COCO17.parts["body"] = (0,)  # type: ignore[index]


def test_custom_skeleton_validation():
    with pytest.raises(InputError, match="involution"):
        Skeleton("s", ("a", "b", "c"), (), (1, 2, 0), {})
    with pytest.raises(InputError, match="edge"):
        Skeleton("s", ("a", "b"), ((0, 2),), (0, 1), {})
    with pytest.raises(InputError, match="duplicate edge"):
        Skeleton("s", ("a", "b"), ((0, 1), (1, 0)), (0, 1), {})
    with pytest.raises(InputError, match="duplicate keypoint"):
        Skeleton("s", ("a", "a"), (), (0, 1), {})
    with pytest.raises(InputError, match="sigmas"):
        Skeleton("s", ("a", "b"), (), (0, 1), {}, (0.1,))
    with pytest.raises(InputError, match="part"):
        Skeleton("s", ("a", "b"), (), (0, 1), {"body": (0, 5)})


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("coco", "coco17"), ("COCO_17", "coco17"), ("coco17", "coco17"),
        ("wholebody", "coco_wholebody133"), ("coco_wholebody", "coco_wholebody133"),
        ("COCO-WholeBody", "coco_wholebody133"), ("halpe", "halpe26"),
        ("blazepose", "blazepose33"), ("mediapipe_pose", "blazepose33"), ("hand", "hand21"),
        ("body25", "body25"), ("BODY_25", "body25"), ("body_25b", "body25b"),
        ("h36m", "h36m17"), ("face_mesh", "face468"),
    ],
)
def test_get_skeleton_aliases(alias, name):
    assert get_skeleton(alias) is SKELETONS[name]


def test_get_skeleton_unknown():
    with pytest.raises(InputError, match="coco17") as err:
        get_skeleton("mpii")
    assert "blazepose33" in str(err.value) and "h36m17" in str(err.value)
    assert get_skeleton(COCO17) is COCO17
    with pytest.raises(InputError):
        get_skeleton(17)  # type: ignore[arg-type]


# -- keypoint maps -----------------------------------------------------------------------

# (source, target, side) of every built-in table
MAPS = [
    ("blazepose33", "coco17", None),
    ("blazepose33", "halpe26", None),
    ("blazepose33", "coco_wholebody133", None),
    ("blazepose33", "body25", None),
    ("hand21", "coco_wholebody133", "left"),
    ("hand21", "coco_wholebody133", "right"),
    ("coco17", "h36m17", None),
    ("coco_wholebody133", "h36m17", None),
    ("halpe26", "h36m17", None),
    ("coco_wholebody133", "body25", None),
    ("coco17", "body25", None),
    ("halpe26", "body25", None),
    ("coco17", "coco_wholebody133", None),
    ("coco_wholebody133", "coco17", None),
    ("halpe26", "coco17", None),
    ("coco17", "halpe26", None),
    ("coco_wholebody133", "halpe26", None),
]

# One-to-one pairs whose names differ on purpose (source name, target name).
APPROXIMATIONS = {
    ("left_foot_index", "left_big_toe"),    # BlazePose foot tip taken as the big toe
    ("right_foot_index", "right_big_toe"),
    ("nose", "neck_base"),                  # mmpose COCO -> H36M convention
}
# hand21 (MediaPipe names) vs COCO-WholeBody hand names: same points, different words.
HAND_RENAMES = {
    "wrist": "hand_root",
    "thumb_cmc": "thumb1", "thumb_mcp": "thumb2", "thumb_ip": "thumb3", "thumb_tip": "thumb4",
    "index_finger_mcp": "forefinger1", "index_finger_pip": "forefinger2",
    "index_finger_dip": "forefinger3", "index_finger_tip": "forefinger4",
    "middle_finger_mcp": "middle_finger1", "middle_finger_pip": "middle_finger2",
    "middle_finger_dip": "middle_finger3", "middle_finger_tip": "middle_finger4",
    "ring_finger_mcp": "ring_finger1", "ring_finger_pip": "ring_finger2",
    "ring_finger_dip": "ring_finger3", "ring_finger_tip": "ring_finger4",
    "pinky_mcp": "pinky_finger1", "pinky_pip": "pinky_finger2", "pinky_dip": "pinky_finger3",
    "pinky_tip": "pinky_finger4",
}


def _names_agree(src_name: str, tgt_name: str, side: str | None) -> bool:
    if src_name == tgt_name or (src_name, tgt_name) in APPROXIMATIONS:
        return True
    if side is not None:
        return tgt_name == f"{side}_{HAND_RENAMES[src_name]}"
    return (tgt_name, src_name) in APPROXIMATIONS


def _random(shape, seed=0):
    return np.random.default_rng(seed).uniform(-5, 5, size=shape).astype(np.float32)


@pytest.mark.parametrize("spec", MAPS, ids=lambda s: "->".join(x for x in s if x))
def test_map_one_to_one_names_agree(spec):
    src, tgt, side = spec
    m = keypoint_map(src, tgt, side=side)
    assert m.source is SKELETONS[src] and m.target is SKELETONS[tgt]
    assert len(m.sources) == len(m.target)
    assert m.one_to_one, "map has no one-to-one points"
    for t, s in m.one_to_one:
        assert _names_agree(m.source.keypoints[s], m.target.keypoints[t], side), (
            m.source.keypoints[s], m.target.keypoints[t])
    # and the same check on the inverse
    inv = m.inverse()
    for t, s in inv.one_to_one:
        assert _names_agree(inv.target.keypoints[t], inv.source.keypoints[s], side)


@pytest.mark.parametrize("spec", MAPS, ids=lambda s: "->".join(x for x in s if x))
def test_map_round_trip_both_ways(spec):
    src, tgt, side = spec
    m = keypoint_map(src, tgt, side=side)
    inv = m.inverse()
    k_src, k_tgt = len(m.source), len(m.target)

    # forward then inverse: every one-to-one mapped source point comes back exactly
    x = _random((3, 2, k_src, 2))
    y, _ = m(x)
    z, zs = inv(y)
    mapped = {s for _, s in m.one_to_one}
    for s in range(k_src):
        if s in mapped:
            assert np.array_equal(z[..., s, :], x[..., s, :])
            assert np.all(zs[..., s] == 1)
        else:
            assert np.all(np.isnan(z[..., s, :]))
            assert np.all(zs[..., s] == 0)

    # inverse then forward: every one-to-one target point comes back exactly
    w = _random((4, k_tgt, 3), seed=1)
    back, _ = m(inv(w)[0])
    for t, _ in m.one_to_one:
        assert np.array_equal(back[..., t, :], w[..., t, :])

    # the reverse direction is available from keypoint_map too (the inverse, unless a
    # table of its own exists, e.g. coco17 -> halpe26 derives neck / mid_hip)
    rev = keypoint_map(tgt, src, side=side)
    if (tgt, src, side) not in MAPS:
        assert rev == inv
    else:
        assert set(inv.one_to_one) <= set(rev.one_to_one)


def test_blazepose_to_halpe26_derived_points():
    m = keypoint_map("blazepose", "halpe")
    x = _random((5, 33, 2))
    s = np.random.default_rng(2).uniform(0.1, 1, size=(5, 33)).astype(np.float32)
    y, ys = m(x, s)
    h = HALPE26.index
    b = BLAZEPOSE33.index
    np.testing.assert_allclose(y[:, h("neck")], (x[:, 11] + x[:, 12]) / 2, rtol=1e-6)
    np.testing.assert_allclose(y[:, h("mid_hip")], (x[:, 23] + x[:, 24]) / 2, rtol=1e-6)
    np.testing.assert_array_equal(ys[:, h("neck")], np.minimum(s[:, 11], s[:, 12]))
    np.testing.assert_array_equal(y[:, h("left_big_toe")], x[:, b("left_foot_index")])
    np.testing.assert_array_equal(y[:, h("right_heel")], x[:, b("right_heel")])
    for name in ("head_top", "left_small_toe", "right_small_toe"):
        assert np.all(np.isnan(y[:, h(name)])) and np.all(ys[:, h(name)] == 0)
    np.testing.assert_array_equal(y[:, :17], x[:, [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23,
                                                   24, 25, 26, 27, 28]])


def test_blazepose_to_wholebody_and_body25():
    m = keypoint_map("blazepose33", "coco_wholebody133")
    avail = [t for t, e in enumerate(m.sources) if e]
    assert avail == [*range(17), 17, 19, 20, 22]  # body, big toes and heels
    m25 = keypoint_map("blazepose33", "body25")
    assert m25.sources[BODY25.index("neck")] == (11, 12)
    assert m25.sources[BODY25.index("mid_hip")] == (23, 24)
    assert m25.sources[BODY25.index("left_big_toe")] == (31,)
    assert m25.sources[BODY25.index("left_small_toe")] == ()
    assert m25.sources[BODY25.index("right_heel")] == (30,)


def test_coco17_to_h36m_matches_mmpose():
    m = keypoint_map("coco17", "h36m17")
    x = _random((2, 17, 3))
    y, _ = m(x)
    pelvis = (x[:, 11] + x[:, 12]) / 2
    thorax = (x[:, 5] + x[:, 6]) / 2
    np.testing.assert_allclose(y[:, 0], pelvis, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y[:, 8], thorax, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y[:, 7], (pelvis + thorax) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y[:, 10], (x[:, 1] + x[:, 2]) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y[:, 9], x[:, 0])
    order = [12, 14, 16, 11, 13, 15]
    np.testing.assert_array_equal(y[:, 1:7], x[:, order])
    np.testing.assert_array_equal(y[:, 11:17], x[:, [5, 7, 9, 6, 8, 10]])


def test_wholebody_to_body25_matches_reference():
    m = keypoint_map("coco_wholebody133", "body25")
    ref = {0: (0,), 1: (5, 6), 2: (6,), 3: (8,), 4: (10,), 5: (5,), 6: (7,), 7: (9,),
           8: (11, 12), 9: (12,), 10: (14,), 11: (16,), 12: (11,), 13: (13,), 14: (15,),
           15: (2,), 16: (1,), 17: (4,), 18: (3,), 19: (17,), 20: (18,), 21: (19,),
           22: (20,), 23: (21,), 24: (22,)}
    assert {t: tuple(sorted(e)) for t, e in enumerate(m.sources)} == ref


def test_hand21_to_wholebody_sides():
    left = keypoint_map("hand21", "coco_wholebody133", side="left")
    right = keypoint_map("hand", "wholebody", side="RIGHT")
    x = _random((21, 2))
    yl, _ = left(x)
    yr, _ = right(x)
    np.testing.assert_array_equal(yl[91:112], x)
    np.testing.assert_array_equal(yr[112:133], x)
    assert np.all(np.isnan(yl[:91])) and np.all(np.isnan(yl[112:]))
    assert np.all(np.isnan(yr[:112]))
    back, _ = keypoint_map("coco_wholebody133", "hand21", side="right")(yr)
    np.testing.assert_array_equal(back, x)
    with pytest.raises(InputError, match="side"):
        keypoint_map("hand21", "coco_wholebody133")
    with pytest.raises(InputError, match="side"):
        keypoint_map("hand21", "coco_wholebody133", side="middle")
    with pytest.raises(InputError, match="side"):
        keypoint_map("coco17", "h36m17", side="left")


def test_identity_body_maps():
    x = _random((17, 2))
    wb, wbs = keypoint_map("coco17", "wholebody")(x)
    np.testing.assert_array_equal(wb[:17], x)
    assert np.all(np.isnan(wb[17:])) and np.all(wbs[17:] == 0) and np.all(wbs[:17] == 1)
    back, _ = keypoint_map("wholebody", "coco17")(wb)
    np.testing.assert_array_equal(back, x)
    h = _random((26, 2))
    c, _ = keypoint_map("halpe26", "coco17")(h)
    np.testing.assert_array_equal(c, h[:17])
    same = keypoint_map("body25", "body25")
    np.testing.assert_array_equal(same(h[:25])[0], h[:25])


def test_map_nan_propagation_and_scores():
    m = keypoint_map("coco17", "body25")
    x = _random((2, 17, 2))
    s = np.full((2, 17), 0.9, dtype=np.float32)
    s[0, 6] = 0.4
    x[1, 5, 0] = np.nan  # left shoulder partly missing in frame 1
    y, ys = m(x, s)
    neck = BODY25.index("neck")
    lsh = BODY25.index("left_shoulder")
    assert ys[0, neck] == pytest.approx(0.4)  # min of the two shoulder scores
    assert np.all(np.isnan(y[1, neck])) and ys[1, neck] == 0
    assert np.all(np.isnan(y[1, lsh])) and ys[1, lsh] == 0
    assert np.all(np.isfinite(y[1, BODY25.index("mid_hip")]))
    assert ys[1, BODY25.index("right_shoulder")] == pytest.approx(0.9)
    feet = slice(19, 25)
    assert np.all(np.isnan(y[:, feet])) and np.all(ys[:, feet] == 0)


def test_map_does_not_mutate_and_keeps_dtype():
    m = keypoint_map("blazepose33", "coco17")
    x = _random((3, 33, 2))
    x[0, 0] = np.nan
    s = np.full((3, 33), 0.5, dtype=np.float32)
    x0, s0 = x.copy(), s.copy()
    y, ys = m(x, s)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(s, s0)
    assert y.dtype == np.float32 and ys.dtype == np.float32
    assert not np.shares_memory(y, x)
    y64, _ = m(x.astype(np.float64))
    assert y64.dtype == np.float64
    yint, _ = m(np.ones((33, 2), dtype=np.int64))
    assert yint.dtype == np.float64 and np.all(yint == 1)


def test_map_shape_errors():
    m = keypoint_map("coco17", "h36m17")
    with pytest.raises(InputError, match=r"K=17"):
        m(np.zeros((2, 33, 2)))
    with pytest.raises(InputError, match="scores"):
        m(np.zeros((2, 17, 2)), np.zeros((2, 16)))
    with pytest.raises(InputError):
        m(np.zeros(17))


def test_keypoint_map_unknown_pair_and_inverse_default():
    with pytest.raises(InputError, match="no keypoint map"):
        keypoint_map("face468", "coco17")
    with pytest.raises(InputError, match="unknown skeleton"):
        keypoint_map("coco17", "nope")
    inv = keypoint_map("coco17", "blazepose33")
    assert inv.sources[BLAZEPOSE33.index("left_eye")] == (1,)
    assert inv.sources[BLAZEPOSE33.index("left_eye_inner")] == ()


def test_keypoint_map_validation():
    with pytest.raises(InputError):
        KeypointMap(COCO17, H36M17, ((0,),) * 16)
    with pytest.raises(InputError):
        KeypointMap(COCO17, H36M17, ((17,),) * 17)


# -- holistic543 and the face-68 map ----------------------------------------------------------


def test_holistic543_layout():
    h = SKELETONS["holistic543"]
    assert h.keypoints[:33] == SKELETONS["blazepose33"].keypoints
    assert h.keypoints[33] == "left_hand_wrist" and h.keypoints[54] == "right_hand_wrist"
    assert h.keypoints[75] == "face_mesh_0" and h.keypoints[-1] == "face_mesh_467"
    assert h.keypoints[h.flip[h.index("left_hand_index_finger_tip")]] == (
        "right_hand_index_finger_tip")
    assert set(h.parts) == {"body", "left_hand", "right_hand", "face"}


def test_face68_map_is_mirror_symmetric():
    """Mapping a mesh then flipping it equals flipping the 68 points then mapping."""
    m = keypoint_map("face468", "coco_wholebody133")
    mesh_flip = SKELETONS["face468"].flip
    wb_flip = COCO_WHOLEBODY.flip
    for k in range(23, 91):
        src = sorted(m.sources[k])
        assert src, k
        assert sorted(mesh_flip[i] for i in src) == sorted(m.sources[wb_flip[k]]), k
    assert all(not m.sources[k] for k in range(23)) and all(not m.sources[k]
                                                           for k in range(91, 133))


def test_face68_map_on_a_synthetic_mesh():
    m = keypoint_map("face468", "coco_wholebody133")
    mesh = np.zeros((468, 2))
    mesh[:, 0] = np.arange(468)
    out, sc = m(mesh)
    assert out[23 + 8, 0] == 152  # chin
    assert out[23 + 3, 0] == (132 + 58) / 2  # jaw point 3: a mean of two mesh points
    assert out[23 + 36, 0] == 33 and out[23 + 45, 0] == 263  # outer eye corners
    assert np.isnan(out[0, 0]) and sc[0] == 0


def test_holistic_to_wholebody_covers_all_but_small_toes():
    m = keypoint_map("holistic543", "coco_wholebody133")
    missing = [COCO_WHOLEBODY.keypoints[i] for i, s in enumerate(m.sources) if not s]
    assert missing == ["left_small_toe", "right_small_toe"]
    h = SKELETONS["holistic543"]
    assert m.sources[COCO_WHOLEBODY.index("right_thumb4")] == (h.index("right_hand_thumb_tip"),)
    assert m.sources[COCO_WHOLEBODY.index("left_hand_root")] == (h.index("left_hand_wrist"),)
