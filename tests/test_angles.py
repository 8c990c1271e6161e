"""Joint angles (3D, ISB-style) and planar angles (2D, Sports2D-style).

Skeletons are built by hand in known poses: a standing anatomical pose in world
space (facing +X, left +Y, up +Z), then limbs turned by known rotations about
the joint centres.
"""

from __future__ import annotations

import cmath
import math

import numpy as np
import pytest

from posestack.errors import InputError
from posestack.kinematics import JOINT_ANGLES_3D, PLANAR_ANGLES, Angles, joint_angles, planar_angles
from posestack.poses import Poses
from posestack.skeletons import get_skeleton

# world axes of the person in the standing pose
ANTERIOR = np.array([1.0, 0.0, 0.0])
RIGHT = np.array([0.0, -1.0, 0.0])
UP = np.array([0.0, 0.0, 1.0])

MIDLINE_SAME = ("pelvis_tilt", "neck_flexion")
MIDLINE_NEGATED = ("pelvis_obliquity", "pelvis_rotation", "lumbar_bending", "lumbar_rotation",
                   "neck_bending", "neck_rotation")


# --------------------------------------------------------------------------------------
# pose construction helpers
# --------------------------------------------------------------------------------------


def standing() -> dict[str, np.ndarray]:
    """Anatomical position: upright, arms hanging, palms forward, feet forward."""
    p: dict[str, tuple[float, float, float]] = {
        "mid_hip": (0, 0, 1.0), "neck": (0, 0, 1.5), "head_top": (0, 0, 1.75),
        "nose": (0.1, 0, 1.6),
    }
    for s, y in (("left", 1.0), ("right", -1.0)):
        p |= {
            f"{s}_hip": (0, 0.1 * y, 1.0), f"{s}_knee": (0, 0.1 * y, 0.55),
            f"{s}_ankle": (0, 0.1 * y, 0.1), f"{s}_heel": (-0.05, 0.1 * y, 0.02),
            f"{s}_big_toe": (0.15, 0.1 * y, 0.02), f"{s}_small_toe": (0.13, 0.13 * y, 0.02),
            f"{s}_foot_index": (0.15, 0.1 * y, 0.02),
            f"{s}_shoulder": (0, 0.2 * y, 1.45), f"{s}_elbow": (0, 0.2 * y, 1.15),
            f"{s}_wrist": (0, 0.2 * y, 0.9), f"{s}_hand_root": (0, 0.2 * y, 0.9),
            f"{s}_ear": (0, 0.08 * y, 1.62), f"{s}_eye": (0.08, 0.035 * y, 1.65),
            # hand (palm forward: index lateral to pinky)
            f"{s}_index": (0, 0.23 * y, 0.82), f"{s}_forefinger1": (0, 0.23 * y, 0.82),
            f"{s}_pinky": (0, 0.17 * y, 0.82), f"{s}_pinky_finger1": (0, 0.17 * y, 0.82),
            f"{s}_middle_finger1": (0, 0.2 * y, 0.82), f"{s}_thumb": (0, 0.26 * y, 0.86),
        }
    return {k: np.array(v, dtype=float) for k, v in p.items()}


def rot(axis: np.ndarray, deg: float) -> np.ndarray:
    """Right-hand rotation matrix about ``axis`` (Rodrigues)."""
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    t = math.radians(deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(t) * k + (1 - math.cos(t)) * (k @ k)


def group(side: str, part: str) -> list[str]:
    hand = ["index", "forefinger1", "pinky", "pinky_finger1", "middle_finger1", "thumb"]
    parts = {
        "leg": ["knee", "ankle", "heel", "big_toe", "small_toe", "foot_index"],
        "shank": ["ankle", "heel", "big_toe", "small_toe", "foot_index"],
        "foot": ["heel", "big_toe", "small_toe", "foot_index"],
        "arm": ["elbow", "wrist", "hand_root", *hand],
        "forearm": ["wrist", "hand_root", *hand],
        "hand": hand,
    }
    return [f"{side}_{n}" for n in parts[part]]


def turn(pts: dict, names: list[str], pivot: str, r: np.ndarray) -> dict:
    out = dict(pts)
    c = pts[pivot]
    for n in names:
        out[n] = c + r @ (pts[n] - c)
    return out


def to_poses(frames: list[list[dict]] | list[dict], layout: str = "halpe26",
             space: str = "world", transform=None) -> Poses:
    """Poses (T, P) from name->point dicts; names the layout lacks are dropped."""
    if isinstance(frames[0], dict):
        frames = [[f] for f in frames]
    skel = get_skeleton(layout)
    t, p = len(frames), max(len(f) for f in frames)
    xyz = np.full((t, p, len(skel), 3), np.nan)
    for i, people in enumerate(frames):
        for j, pts in enumerate(people):
            for name, v in pts.items():
                if name in skel.keypoints:
                    xyz[i, j, skel.index(name)] = v if transform is None else transform(v)
    return Poses(skel, xyz, np.ones(xyz.shape[:3]), np.arange(t) / 30.0, space)


def angles_of(pts: dict, layout: str = "halpe26", **kw) -> dict[str, float]:
    a = joint_angles(to_poses([pts], layout), **kw)
    return {n: float(a.degrees[0, 0, i]) for i, n in enumerate(a.names)}


def posed() -> dict:
    """An asymmetric pose exercising every joint."""
    p = standing()
    p = turn(p, group("right", "arm"), "right_shoulder", rot(RIGHT, 35) @ rot(ANTERIOR, -20))
    p = turn(p, group("right", "forearm"), "right_elbow",
             rot(p["right_shoulder"] - p["right_elbow"], 15) @ rot(RIGHT, 70))
    p = turn(p, group("left", "arm"), "left_shoulder", rot(RIGHT, -15) @ rot(ANTERIOR, 40))
    p = turn(p, group("left", "forearm"), "left_elbow", rot(RIGHT, 100))
    p = turn(p, group("right", "hand"), "right_wrist", rot(RIGHT, 25))
    p = turn(p, group("right", "leg"), "right_hip", rot(RIGHT, 40) @ rot(ANTERIOR, 8))
    p = turn(p, group("right", "shank"), "right_knee", rot(RIGHT, -60))
    p = turn(p, group("left", "leg"), "left_hip", rot(UP, -12) @ rot(ANTERIOR, 5))
    p = turn(p, group("left", "foot"), "left_ankle", rot(RIGHT, -15))
    upper = ["neck", "head_top", "nose", "left_ear", "right_ear", "left_eye", "right_eye",
             "left_shoulder", "right_shoulder", *group("left", "arm"), *group("right", "arm")]
    p = turn(p, upper, "mid_hip", rot(UP, 10) @ rot(RIGHT, -15))
    head = ["head_top", "nose", "left_ear", "right_ear", "left_eye", "right_eye"]
    p = turn(p, head, "neck", rot(ANTERIOR, 10) @ rot(RIGHT, -20))
    return p


# --------------------------------------------------------------------------------------
# 3D
# --------------------------------------------------------------------------------------


def test_name_tables_are_consistent():
    from posestack.kinematics.angles import _NEEDS_3D, _PLANAR_DEFS

    assert tuple(_NEEDS_3D) == JOINT_ANGLES_3D
    assert tuple(_PLANAR_DEFS) == PLANAR_ANGLES
    assert len(set(JOINT_ANGLES_3D)) == len(JOINT_ANGLES_3D)


@pytest.mark.parametrize("layout", ["halpe26", "blazepose33", "coco_wholebody133", "body25"])
def test_zero_pose(layout):
    a = angles_of(standing(), layout)
    for name, v in a.items():
        if name.endswith("shoulder_rotation"):
            assert np.isnan(v), name  # straight elbow: humerus rotation undefined
        else:
            assert abs(v) < 1e-6, (name, v)


def test_names_follow_the_layout():
    halpe = joint_angles(to_poses([standing()], "halpe26")).names
    blaze = joint_angles(to_poses([standing()], "blazepose33")).names
    coco = joint_angles(to_poses([standing()], "coco17")).names
    assert "left_wrist_flexion" not in halpe  # no hand keypoints
    assert "left_wrist_flexion" in blaze and "neck_rotation" in blaze
    assert set(halpe) | {"left_wrist_flexion", "right_wrist_flexion"} == set(JOINT_ANGLES_3D)
    # no feet in COCO-17: no ankle angles and no hip rotation; knees still there
    assert "left_ankle_dorsiflexion" not in coco and "right_hip_rotation" not in coco
    assert "right_knee_flexion" in coco
    assert list(halpe) == [n for n in JOINT_ANGLES_3D if n in halpe]


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("layout", ["halpe26", "blazepose33"])
def test_hip_flexed_90(side, layout):
    p = turn(standing(), group(side, "leg"), f"{side}_hip", rot(RIGHT, 90))
    a = angles_of(p, layout)
    assert a[f"{side}_hip_flexion"] == pytest.approx(90, abs=1e-4)
    for n in ("hip_adduction", "hip_rotation", "knee_flexion", "ankle_dorsiflexion"):
        assert a[f"{side}_{n}"] == pytest.approx(0, abs=1e-4), n
    other = "left" if side == "right" else "right"
    assert a[f"{other}_hip_flexion"] == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("side", ["left", "right"])
def test_knee_flexed_90(side):
    p = turn(standing(), group(side, "shank"), f"{side}_knee", rot(RIGHT, -90))
    a = angles_of(p)
    assert a[f"{side}_knee_flexion"] == pytest.approx(90, abs=1e-4)
    for n in ("hip_flexion", "hip_adduction", "hip_rotation", "ankle_dorsiflexion"):
        assert a[f"{side}_{n}"] == pytest.approx(0, abs=1e-4), n


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("deg", [20, -30])
def test_ankle_dorsiflexion(side, deg):
    p = turn(standing(), group(side, "foot"), f"{side}_ankle", rot(RIGHT, deg))
    a = angles_of(p, "blazepose33")
    assert a[f"{side}_ankle_dorsiflexion"] == pytest.approx(deg, abs=1e-4)
    assert a[f"{side}_knee_flexion"] == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("side", ["left", "right"])
def test_hip_cardan_sequence(side):
    """Flexion 30, adduction 10, internal rotation 20 give exactly those angles."""
    m = 1 if side == "right" else -1  # adduction / internal rotation are mirrored in space
    r = rot(RIGHT, 30) @ rot(ANTERIOR, 10 * m) @ rot(UP, 20 * m)
    a = angles_of(turn(standing(), group(side, "leg"), f"{side}_hip", r))
    assert a[f"{side}_hip_flexion"] == pytest.approx(30, abs=1e-4)
    assert a[f"{side}_hip_adduction"] == pytest.approx(10, abs=1e-4)
    assert a[f"{side}_hip_rotation"] == pytest.approx(20, abs=1e-4)


@pytest.mark.parametrize("side", ["left", "right"])
def test_elbow_and_shoulder(side):
    m = 1 if side == "right" else -1
    p = turn(standing(), group(side, "forearm"), f"{side}_elbow", rot(RIGHT, 90))
    a = angles_of(p, "blazepose33")
    assert a[f"{side}_elbow_flexion"] == pytest.approx(90, abs=1e-4)
    assert a[f"{side}_shoulder_rotation"] == pytest.approx(0, abs=1e-4)  # now defined
    assert a[f"{side}_wrist_flexion"] == pytest.approx(0, abs=1e-4)
    # flexion 40, abduction 30, internal rotation 20 of the upper arm
    r = rot(RIGHT, 40) @ rot(ANTERIOR, -30 * m) @ rot(UP, 20 * m)
    a = angles_of(turn(p, group(side, "arm"), f"{side}_shoulder", r), "blazepose33")
    assert a[f"{side}_shoulder_flexion"] == pytest.approx(40, abs=1e-4)
    assert a[f"{side}_shoulder_abduction"] == pytest.approx(30, abs=1e-4)
    assert a[f"{side}_shoulder_rotation"] == pytest.approx(20, abs=1e-4)
    assert a[f"{side}_elbow_flexion"] == pytest.approx(90, abs=1e-4)


@pytest.mark.parametrize("side", ["left", "right"])
def test_shoulder_abducted_and_flexed_90(side):
    m = 1 if side == "right" else -1
    p = turn(standing(), group(side, "arm"), f"{side}_shoulder", rot(ANTERIOR, -90 * m))
    assert angles_of(p)[f"{side}_shoulder_abduction"] == pytest.approx(90, abs=1e-4)
    p = turn(standing(), group(side, "arm"), f"{side}_shoulder", rot(RIGHT, 90))
    a = angles_of(p)
    assert a[f"{side}_shoulder_flexion"] == pytest.approx(90, abs=1e-4)
    assert a[f"{side}_shoulder_abduction"] == pytest.approx(0, abs=1e-4)


@pytest.mark.parametrize("layout", ["blazepose33", "coco_wholebody133"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_wrist_flexion(layout, side):
    # palm forward: palmar flexion moves the fingers forward (about the right axis, +)
    p = turn(standing(), group(side, "hand"), f"{side}_wrist", rot(RIGHT, 30))
    assert angles_of(p, layout)[f"{side}_wrist_flexion"] == pytest.approx(30, abs=1e-4)


def test_trunk_neck_and_pelvis():
    p = standing()
    upper = ["neck", "head_top", "nose", "left_ear", "right_ear", "left_shoulder",
             "right_shoulder", *group("left", "arm"), *group("right", "arm")]
    lean = turn(p, upper, "mid_hip", rot(RIGHT, -20))  # trunk leans forward 20
    a = angles_of(lean)
    assert a["pelvis_tilt"] == pytest.approx(20, abs=1e-4)
    assert a["left_hip_flexion"] == pytest.approx(20, abs=1e-4)  # thigh vs trunk line
    assert a["lumbar_bending"] == pytest.approx(0, abs=1e-4)
    assert a["neck_flexion"] == pytest.approx(0, abs=1e-4)
    # the head nods forward 25, bends right 10 and turns left 15
    head = ["head_top", "nose", "left_ear", "right_ear"]
    nod = turn(p, head, "neck", rot(RIGHT, -25) @ rot(ANTERIOR, 10) @ rot(UP, 15))
    a = angles_of(nod)
    assert a["neck_flexion"] == pytest.approx(25, abs=1e-4)
    assert a["neck_bending"] == pytest.approx(10, abs=1e-4)
    assert a["neck_rotation"] == pytest.approx(15, abs=1e-4)
    # shoulders turned 30 to the left over the pelvis
    twist = turn(p, upper, "mid_hip", rot(UP, 30))
    a = angles_of(twist)
    assert a["lumbar_rotation"] == pytest.approx(30, abs=1e-4)
    assert a["pelvis_rotation"] == pytest.approx(0, abs=1e-6)
    # right hip lower than the left one: positive obliquity
    drop = dict(p, right_hip=p["right_hip"] + [0, 0, -0.2 * math.tan(math.radians(10))])
    assert angles_of(drop)["pelvis_obliquity"] == pytest.approx(10, abs=1e-4)


def test_mirror_left_right():
    p = posed()
    skel = get_skeleton("halpe26")
    poses = to_poses([p])
    mirrored = poses.coords.copy()
    mirrored[..., 1] *= -1  # reflect across the sagittal (XZ) plane ...
    mirrored = mirrored[:, :, list(skel.flip)]  # ... and swap left/right names
    a = joint_angles(poses)
    b = joint_angles(Poses(skel, mirrored, poses.scores, poses.times, "world"))
    assert a.names == b.names
    checked = 0
    for name in a.names:
        if name.startswith(("left_", "right_")):
            other = name.replace("left_", "@").replace("right_", "left_").replace("@", "right_")
            np.testing.assert_allclose(b.get(other), a.get(name), atol=1e-3, err_msg=name)
            checked += np.isfinite(a.get(name)).all()
        elif name in MIDLINE_SAME:
            np.testing.assert_allclose(b.get(name), a.get(name), atol=1e-3, err_msg=name)
        else:
            assert name in MIDLINE_NEGATED
            np.testing.assert_allclose(b.get(name), -a.get(name), atol=1e-3, err_msg=name)
    assert checked >= 16
    assert np.abs(a.degrees).max() > 10  # the pose is far from zero


def test_rigid_motion_changes_only_pelvis_angles():
    p = posed()
    a = joint_angles(to_poses([p]))
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))  # proper rotation
    shift = np.array([3.0, -2.0, 0.5])
    b = joint_angles(to_poses([p], transform=lambda v: q @ v + shift))
    pelvis = [n for n in a.names if n.startswith("pelvis_")]
    for name in a.names:
        if name not in pelvis:
            np.testing.assert_allclose(b.get(name), a.get(name), atol=2e-3, err_msg=name)
    # turning about the vertical changes only pelvis_rotation, by the turn
    c = joint_angles(to_poses([p], transform=lambda v: rot(UP, 40) @ v))
    np.testing.assert_allclose(c.get("pelvis_rotation"), a.get("pelvis_rotation") + 40, atol=1e-3)
    for name in ("pelvis_tilt", "pelvis_obliquity"):
        np.testing.assert_allclose(c.get(name), a.get(name), atol=1e-3)
    assert abs(float(a.get("pelvis_tilt")[0, 0])) > 5


def test_body_and_camera_space_defaults():
    """BlazePose world / camera axes: x = person's left when facing the camera, y down."""
    m = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])  # world -> body
    p = posed()
    a = joint_angles(to_poses([p]))
    for space in ("body", "camera:cam0"):
        b = joint_angles(to_poses([p], space=space, transform=lambda v: m @ v))
        assert b.meta["up"] == (0.0, -1.0, 0.0)
        np.testing.assert_allclose(b.degrees, a.degrees, atol=1e-3)
    # an explicit up / forward in world space: Y up, facing -Z
    c = joint_angles(to_poses([p], transform=lambda v: m @ v), up=(0, -1, 0), forward=(0, 0, -1))
    np.testing.assert_allclose(c.degrees, a.degrees, atol=1e-3)


def test_layouts_agree():
    p = posed()
    a = joint_angles(to_poses([p], "halpe26"))
    b = joint_angles(to_poses([p], "blazepose33"))
    c = joint_angles(to_poses([p], "coco_wholebody133"))
    for name in a.names:
        if name.startswith("neck_"):
            continue  # head axis: neck -> head top (HALPE) vs shoulder mid -> ear mid
        np.testing.assert_allclose(b.get(name), a.get(name), atol=1e-3, err_msg=name)
        np.testing.assert_allclose(c.get(name), a.get(name), atol=1e-3, err_msg=name)
    np.testing.assert_allclose(b.get("neck_rotation"), c.get("neck_rotation"), atol=1e-3)
    assert b.meta["sources"]["neck"] == "mean(left_shoulder, right_shoulder)"
    assert a.meta["sources"]["neck"] == "neck"
    np.testing.assert_allclose(b.get("right_wrist_flexion"), c.get("right_wrist_flexion"),
                               atol=1e-3)


def test_nan_propagation():
    p = standing()
    knee_gone = dict(p, right_knee=np.full(3, np.nan))
    neck_gone = dict(p, neck=np.full(3, np.nan))
    a = joint_angles(to_poses([[p, knee_gone], [neck_gone, {}]]))
    assert a.degrees.shape == (2, 2, len(a.names))
    ok = a.degrees[0, 0]
    assert np.isfinite(ok[[not n.endswith("shoulder_rotation") for n in a.names]]).all()
    assert np.isnan(a.degrees[1, 1]).all()  # an absent person
    for name in a.names:
        v = float(a.get(name)[0, 1])
        needs_knee = name.startswith("right_hip_") or name in (
            "right_knee_flexion", "right_ankle_dorsiflexion")
        assert np.isnan(v) == (needs_knee or name.endswith("shoulder_rotation")), name
        w = float(a.get(name)[1, 0])
        # pelvis obliquity and rotation, hip adduction and rotation need only the hip line
        hip_line_only = ("obliquity", "pelvis_rotation", "hip_adduction", "hip_rotation")
        needs_neck = not name.endswith(hip_line_only) and not any(
            k in name for k in ("knee", "ankle", "elbow", "wrist"))
        assert np.isnan(w) == (needs_neck or name.endswith("shoulder_rotation")), name


def test_min_score():
    poses = to_poses([standing()])
    scores = poses.scores.copy()
    scores[0, 0, poses.skeleton.index("left_ankle")] = 0.2
    poses = Poses(poses.skeleton, poses.coords, scores, poses.times, poses.space)
    assert np.isfinite(joint_angles(poses).get("left_knee_flexion")).all()
    assert np.isnan(joint_angles(poses, min_score=0.3).get("left_knee_flexion")).all()


def test_vectorised_matches_single_frames():
    frames = [[posed(), standing()], [standing(), posed()], [posed(), {}]]
    a = joint_angles(to_poses(frames))
    for t, people in enumerate(frames):
        for j, pts in enumerate(people):
            if pts:
                b = joint_angles(to_poses([pts]))
                np.testing.assert_array_equal(a.degrees[t, j], b.degrees[0, 0])


def test_empty_poses():
    skel = get_skeleton("halpe26")
    a = joint_angles(Poses.empty(skel, 3, "world"))
    assert a.degrees.shape == (0, 0, len(a.names))
    assert a.to_table().num_rows == 0
    b = planar_angles(Poses.empty(skel, 2, "image:cam", times=[0.0, 0.1], n_people=2))
    assert b.degrees.shape == (2, 2, len(b.names)) and np.isnan(b.degrees).all()


# --------------------------------------------------------------------------------------
# Angles container
# --------------------------------------------------------------------------------------


def test_angles_table():
    frames = [[posed(), {}], [standing(), posed()]]
    a = joint_angles(to_poses(frames))
    table = a.to_table(np.array([10, 11]))
    assert table.column_names == ["frame", "time", "person", "angle", "degrees"]
    assert table.num_rows == 3 * len(a.names)  # the empty person slot is left out
    assert str(table.schema.field("frame").type) == "int32"
    assert str(table.schema.field("person").type) == "int16"
    assert str(table.schema.field("degrees").type) == "float"
    assert table.schema.metadata[b"posestack.units"] == b"degrees"
    rows = table.to_pylist()
    row = next(r for r in rows if r["frame"] == 11 and r["person"] == 1
               and r["angle"] == "right_knee_flexion")
    assert row["degrees"] == pytest.approx(float(a.get("right_knee_flexion")[1, 1]))
    assert row["time"] == pytest.approx(1 / 30)
    with pytest.raises(InputError, match="frames"):
        a.to_table([1])


def test_angles_is_frozen_and_checked():
    a = joint_angles(to_poses([standing()]))
    assert a.degrees.dtype == np.float32 and not a.degrees.flags.writeable
    with pytest.raises(AttributeError):
        a.names = ()
    with pytest.raises(InputError, match="available"):
        a.get("knee")
    with pytest.raises(InputError, match="shape"):
        Angles(("a",), np.zeros((2, 1, 2)), np.zeros(2))
    with pytest.raises(InputError, match="times"):
        Angles(("a",), np.zeros((2, 1, 1)), np.zeros(3))


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------


def test_bad_input():
    poses3 = to_poses([standing()])
    skel = poses3.skeleton
    poses2 = Poses(skel, poses3.coords[..., :2], poses3.scores, poses3.times, "image:cam0")
    with pytest.raises(InputError, match=r"D=3.*planar_angles"):
        joint_angles(poses2)
    with pytest.raises(InputError, match=r"D=2.*joint_angles"):
        planar_angles(poses3)
    with pytest.raises(InputError, match="Poses"):
        joint_angles(poses3.coords)
    with pytest.raises(InputError, match="up"):
        joint_angles(poses3, up=(0, 0, 0))
    with pytest.raises(InputError, match="up"):
        joint_angles(poses3, up=(0, 1))
    with pytest.raises(InputError, match="forward"):
        joint_angles(poses3, forward=(0, 0, -2))
    with pytest.raises(InputError, match="min_score"):
        joint_angles(poses3, min_score=2)
    with pytest.raises(InputError, match="visible_side"):
        planar_angles(poses2, visible_side="top")
    with pytest.raises(InputError, match="space"):
        Poses(skel, poses3.coords, poses3.scores, poses3.times, "scene")
    odd = to_poses([standing()])
    object.__setattr__(odd, "space", "scene")  # an unknown space slipped past Poses
    with pytest.raises(InputError, match="'world', 'body' or 'camera:<cam>'"):
        joint_angles(odd)


# --------------------------------------------------------------------------------------
# 2D (Sports2D)
# --------------------------------------------------------------------------------------


def side_view(facing: str = "right") -> dict[str, tuple[float, float]]:
    """A person seen from the side in an image (pixels, y down), facing +x."""
    p = {
        "mid_hip": (500, 500), "neck": (500, 200), "head_top": (510, 100),
        "right_hip": (500, 500), "left_hip": (505, 500),
        "right_knee": (550, 650), "right_ankle": (480, 780),
        "right_heel": (460, 800), "right_big_toe": (560, 790),
        "left_knee": (505, 650), "left_ankle": (505, 800),
        "left_heel": (485, 820), "left_big_toe": (585, 820),
        "right_shoulder": (500, 220), "right_elbow": (560, 330), "right_wrist": (660, 300),
        "left_shoulder": (505, 220), "left_elbow": (480, 330), "left_wrist": (480, 430),
        "right_index": (700, 290), "left_index": (470, 470),
    }
    if facing == "left":
        p = {k: (1000 - x, y) for k, (x, y) in p.items()}
    return p


def to_poses2d(frames: list[dict], layout: str = "halpe26") -> Poses:
    skel = get_skeleton(layout)
    xy = np.full((len(frames), 1, len(skel), 2), np.nan)
    for i, pts in enumerate(frames):
        for name, v in pts.items():
            if name in skel.keypoints:
                xy[i, 0, skel.index(name)] = v
    return Poses(skel, xy, np.ones(xy.shape[:3]), np.arange(len(frames)) / 30.0, "image:cam0")


def phase(v) -> float:
    """Anticlockwise angle on screen (degrees) of an image vector (y down)."""
    return math.degrees(cmath.phase(complex(v[0], -v[1])))


def wrap(a: float, half: float = 180.0) -> float:
    return (a + half) % (2 * half) - half


def reference_2d(p: dict) -> dict[str, float]:
    """Sports2D's angles for a person facing right, from their meaning (not its code)."""
    d = {k: np.asarray(v, float) for k, v in p.items()}
    out = {}
    for s in ("right", "left"):
        def seg(a, b, s=s):
            return phase(d[f"{s}_{b}"] - d[f"{s}_{a}"])  # direction a -> b

        trunk = phase(d["neck"] - d["mid_hip"])
        # foot vs shank; thigh -> shank; knee->hip vs trunk; arm -> forearm
        out[f"{s}_ankle"] = wrap(seg("heel", "big_toe") - seg("knee", "ankle") - 90)
        out[f"{s}_knee"] = wrap(seg("hip", "knee") - seg("knee", "ankle"))
        out[f"{s}_hip"] = wrap(seg("knee", "hip") - trunk)
        out[f"{s}_shoulder"] = wrap(seg("elbow", "shoulder") - trunk)
        out[f"{s}_elbow"] = wrap(seg("elbow", "wrist") - seg("shoulder", "elbow"))
        out[f"{s}_foot"] = wrap(seg("heel", "big_toe"))
        out[f"{s}_shank"] = wrap(seg("knee", "ankle"))
        out[f"{s}_thigh"] = wrap(seg("hip", "knee"))
        out[f"{s}_arm"] = wrap(seg("shoulder", "elbow"))
        out[f"{s}_forearm"] = wrap(seg("elbow", "wrist"))
        out[f"{s}_hand"] = wrap(seg("wrist", "index"))
    out["pelvis"] = wrap(phase(d["left_hip"] - d["right_hip"]), 90)
    out["shoulders"] = wrap(phase(d["left_shoulder"] - d["right_shoulder"]), 90)
    out["trunk"] = wrap(phase(d["neck"] - d["mid_hip"]))
    out["head"] = wrap(phase(d["head_top"] - d["neck"]))
    return out


def close_deg(a: float, b: float, tol: float = 1e-3) -> bool:
    return abs(wrap(a - b)) < tol


def test_planar_hand_computed():
    p = {
        "mid_hip": (500, 500), "neck": (500, 200),
        "right_hip": (500, 500), "right_knee": (500, 600), "right_ankle": (450, 650),
        "right_heel": (440, 670), "right_big_toe": (540, 670),
        "right_shoulder": (500, 220), "right_elbow": (500, 320), "right_wrist": (600, 320),
    }
    a = planar_angles(to_poses2d([p]), visible_side="right")
    v = {n: float(a.get(n)[0, 0]) for n in a.names}
    assert v["right_knee"] == pytest.approx(45)  # 180 - 135 between thigh and shank
    assert v["right_hip"] == pytest.approx(0)  # thigh in line with the trunk
    assert v["right_elbow"] == pytest.approx(90)  # forearm forward, arm down
    assert v["right_shoulder"] == pytest.approx(0)
    # shank 45 deg back from vertical, foot horizontal: 45 deg dorsiflexion
    assert v["right_ankle"] == pytest.approx(45)
    assert v["right_thigh"] == pytest.approx(-90)  # hip -> knee points down
    assert v["right_shank"] == pytest.approx(-135)  # knee -> ankle: down-left on screen
    assert v["right_foot"] == pytest.approx(0)
    assert v["trunk"] == pytest.approx(90)
    assert v["right_arm"] == pytest.approx(-90)
    assert v["right_forearm"] == pytest.approx(0)
    assert np.isnan(v["left_knee"])  # not given
    # the same person facing left, with visible_side "auto" (feet point to -x)
    q = {k: (1000 - x, y) for k, (x, y) in p.items()}
    q |= {"left_heel": (560, 670), "left_big_toe": (460, 670)}
    b = planar_angles(to_poses2d([q]))
    for n in ("right_knee", "right_elbow", "right_ankle", "right_shank", "trunk"):
        assert float(b.get(n)[0, 0]) == pytest.approx(v[n]), n
    # knee hyperextended 10 deg: negative flexion
    t = math.radians(10)
    h = dict(p, right_ankle=(500 + 150 * math.sin(t), 600 + 150 * math.cos(t)))
    c = planar_angles(to_poses2d([h]), visible_side="right")
    assert float(c.get("right_knee")[0, 0]) == pytest.approx(-10)


@pytest.mark.parametrize("facing", ["right", "left"])
def test_planar_matches_reference(facing):
    rng = np.random.default_rng(1)
    frames = []
    for _ in range(20):
        p = side_view()
        frames.append({k: (x + rng.normal(0, 40), y + rng.normal(0, 40)) for k, (x, y) in
                       p.items()})
    if facing == "left":
        frames = [{k: (1000 - x, y) for k, (x, y) in f.items()} for f in frames]
    a = planar_angles(to_poses2d(frames))
    assert set(a.names) == set(PLANAR_ANGLES) - {"right_hand", "left_hand"}  # no index
    for t, f in enumerate(frames):
        if facing == "left":
            f = {k: (1000 - x, y) for k, (x, y) in f.items()}
        ref = reference_2d(f)
        for n in a.names:
            assert close_deg(float(a.get(n)[t, 0]), ref[n], 2e-3), (t, n)
    with_hand = planar_angles(to_poses2d(frames, "blazepose33"))
    assert "right_hand" in with_hand.names and "head" not in with_hand.names


def test_planar_ranges_and_names():
    a = planar_angles(to_poses2d([side_view()] * 3))
    assert a.meta["kind"] == "planar"
    assert list(a.names) == [n for n in PLANAR_ANGLES if n in a.names]
    d = a.degrees
    assert (d >= -180).all() and (d < 180).all()
    assert (np.abs(a.get("pelvis")) <= 90).all() and (np.abs(a.get("shoulders")) <= 90).all()


def test_planar_front_view():
    """Facing the camera: the person's right is on the image left."""
    p = {
        "mid_hip": (500, 500), "neck": (500, 200), "head_top": (500, 100),
        "right_hip": (450, 500), "left_hip": (550, 500),
        "right_shoulder": (420, 220), "left_shoulder": (580, 220),
        "right_elbow": (320, 220), "left_elbow": (680, 220),  # arms abducted 90
        "right_wrist": (220, 220), "left_wrist": (780, 220),
        "right_knee": (450, 650), "left_knee": (550, 650),
    }
    a = planar_angles(to_poses2d([p]), visible_side="front")
    v = {n: float(a.get(n)[0, 0]) for n in a.names}
    assert v["right_shoulder"] == pytest.approx(90) and v["left_shoulder"] == pytest.approx(90)
    assert v["right_arm"] == pytest.approx(0) and v["left_arm"] == pytest.approx(0)
    assert v["pelvis"] == pytest.approx(0) and v["shoulders"] == pytest.approx(0)
    assert v["right_hip"] == pytest.approx(0) and v["left_hip"] == pytest.approx(0)
    b = planar_angles(to_poses2d([p]), visible_side="none")
    assert float(b.get("right_arm")[0, 0]) == pytest.approx(-180)  # unflipped: points left
    assert float(b.get("left_arm")[0, 0]) == pytest.approx(0)


def test_planar_nan_rules():
    p = side_view()
    no_feet = {k: v for k, v in p.items() if "heel" not in k and "toe" not in k}
    one_foot = {k: v for k, v in p.items() if not k.startswith("left_") or "knee" in k}
    a = planar_angles(to_poses2d([p, no_feet, one_foot]))
    assert np.isfinite(a.get("right_knee")[0, 0])
    # auto side with no foot visible: the flip is unknown, so every angle is NaN
    assert np.isnan(a.degrees[1]).all()
    # one foot is enough to tell the side
    assert a.get("right_knee")[2, 0] == pytest.approx(a.get("right_knee")[0, 0])
    b = planar_angles(to_poses2d([no_feet]), visible_side="right")
    assert np.isfinite(b.get("right_knee")[0, 0]) and np.isnan(b.get("right_ankle")[0, 0])
    # a layout without feet: "auto" falls back to "right", as Sports2D does
    c = planar_angles(to_poses2d([p], "coco17"))
    assert "right_ankle" not in c.names
    assert c.get("right_knee")[0, 0] == pytest.approx(a.get("right_knee")[0, 0])
    assert c.meta["sources"]["neck"] == "mean(left_shoulder, right_shoulder)"
    assert c.meta["sources"]["mid_hip"] == "mean(left_hip, right_hip)"
