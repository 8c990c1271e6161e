"""Skeletal IK (posestack.kinematics.ik): the model's own keypoints fitted back."""

from __future__ import annotations

import numpy as np
import pytest

from posestack.errors import InputError
from posestack.kinematics import ik
from posestack.multiview.calibration import Calibration, Camera
from posestack.poses import Poses

DOF = {n: i for i, n in enumerate(ik.DOF_NAMES)}

# centre and amplitude (degrees) of each DoF's random smooth trajectory
MOTION = {
    "pelvis_rotation": (30, 40), "pelvis_tilt": (5, 8), "pelvis_obliquity": (0, 6),
    "lumbar_bending": (0, 10), "lumbar_rotation": (0, 15),
    "neck_flexion": (5, 20), "neck_bending": (0, 15), "neck_rotation": (0, 30),
}
for _s in ("left", "right"):
    MOTION.update({
        f"{_s}_hip_flexion": (25, 35), f"{_s}_hip_adduction": (-3, 10),
        f"{_s}_hip_rotation": (0, 20), f"{_s}_knee_flexion": (50, 40),
        f"{_s}_ankle_dorsiflexion": (-3, 15), f"{_s}_ankle_inversion": (0, 8),
        f"{_s}_shoulder_flexion": (25, 40), f"{_s}_shoulder_abduction": (30, 25),
        f"{_s}_shoulder_rotation": (5, 30), f"{_s}_elbow_flexion": (65, 45),
        f"{_s}_forearm_pronation": (60, 40), f"{_s}_wrist_flexion": (0, 25),
        f"{_s}_wrist_deviation": (5, 12),
    })


def motion(frames: int, fps: float = 60.0, seed: int = 0, lean: str = "pelvis") -> np.ndarray:
    """``(T, len(DOF_NAMES))`` smooth random DoFs within the limits.

    The trunk's sagittal lean is split the way ``fit(lean=...)`` assumes: all in
    the pelvis (lumbar_flexion = 0) or equally (lumbar_flexion = pelvis_tilt).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fps
    q = np.zeros((frames, len(ik.DOF_NAMES)))
    for name, (c, a) in MOTION.items():
        wave = sum(rng.uniform(0.3, 1) * np.sin(2 * np.pi * rng.uniform(0.2, 1.5) * t
                                                 + rng.uniform(0, 2 * np.pi)) for _ in range(3))
        q[:, DOF[name]] = c + a * wave / 3
    q[:, DOF["pelvis_tx"]] = 0.8 * t
    q[:, DOF["pelvis_ty"]] = 0.2 * np.sin(t)
    q[:, DOF["pelvis_tz"]] = 0.9 + 0.03 * np.sin(4 * t)
    q[:, DOF["lumbar_flexion"]] = q[:, DOF["pelvis_tilt"]] if lean == "split" else 0.0
    return q


def make_poses(model: ik.BodyModel, q: np.ndarray, *, noise: float = 0.0,
               missing: float = 0.0, fps: float = 60.0, seed: int = 1) -> Poses:
    rng = np.random.default_rng(seed)
    xyz = model.keypoints(q)
    xyz = xyz + rng.normal(0.0, noise, xyz.shape) if noise else xyz
    if missing:
        xyz[rng.random(xyz.shape[:2]) < missing] = np.nan
    scores = np.isfinite(xyz[..., 0]).astype(float)
    times = np.arange(q.shape[0]) / fps
    return Poses(model.skeleton, xyz[:, None], scores[:, None], times, "world", tracked=True)


def standing(frames: int = 5, **dofs: float) -> np.ndarray:
    q = np.zeros((frames, len(ik.DOF_NAMES)))
    q[:, DOF["pelvis_tz"]] = 0.95
    for name, value in dofs.items():
        q[:, DOF[name]] = value
    return q


def angle_rms(result: ik.IKResult, q: np.ndarray) -> dict[str, float]:
    out = {}
    for name in result.angles.names:
        err = result.angles.get(name)[:, 0] - q[:, DOF[name]]
        out[name] = float(np.sqrt(np.nanmean(err**2)))
    return out


# --------------------------------------------------------------------------------------
# Conventions
# --------------------------------------------------------------------------------------


def test_tables_are_consistent():
    assert ik.DOF_NAMES[:3] == ("pelvis_tx", "pelvis_ty", "pelvis_tz")
    assert ik.ANGLE_NAMES == ik.DOF_NAMES[3:]
    assert set(ik.OPENSIM_NAMES) == set(ik.ANGLE_NAMES)
    for name, (lo, hi) in ik.LIMITS.items():
        assert name in ik.ANGLE_NAMES and lo <= 0 < hi
    assert ik.LIMITS["left_knee_flexion"] == (0, 160)
    assert ik.OPENSIM_NAMES["lumbar_flexion"] == ("L5_S1_Flex_Ext", -1.0)
    assert ik.OPENSIM_NAMES["right_knee_flexion"] == ("knee_angle_r", 1.0)
    assert ik.OPENSIM_NAMES["left_shoulder_abduction"] == ("arm_add_l", -1.0)


def _moved(layout: str, point: str, **dofs: float) -> np.ndarray:
    """Displacement of a keypoint when the DoFs are set, from the zero pose."""
    m = ik.default_model(layout)
    k = m.skeleton.index(point)
    return m.keypoints(standing(1, **dofs))[0, k] - m.keypoints(standing(1))[0, k]


@pytest.mark.parametrize(("dofs", "point", "axis", "sign"), [
    ({"left_hip_flexion": 30}, "left_knee", 0, 1),               # knee forward
    ({"right_hip_flexion": 30}, "right_knee", 0, 1),
    ({"left_hip_adduction": 20}, "left_knee", 1, -1),            # left knee medial (-Y)
    ({"right_hip_adduction": 20}, "right_knee", 1, 1),           # right knee medial (+Y)
    ({"left_knee_flexion": 40, "left_hip_rotation": 30}, "left_ankle", 1, 1),   # internal
    ({"right_knee_flexion": 40, "right_hip_rotation": 30}, "right_ankle", 1, -1),  # → foot out
    ({"left_knee_flexion": 40}, "left_ankle", 0, -1),            # ankle backwards
    ({"left_ankle_dorsiflexion": 20}, "left_big_toe", 2, 1),     # toes up
    ({"left_ankle_inversion": 20}, "left_big_toe", 2, 1),        # medial edge up
    ({"right_ankle_inversion": 20}, "right_big_toe", 2, 1),
    ({"pelvis_tilt": 10}, "neck", 0, 1),                         # anterior tilt: trunk forward
    ({"pelvis_obliquity": 10}, "left_hip", 2, 1),                # left side up
    ({"pelvis_rotation": 20}, "left_hip", 0, -1),                # turn left: left hip back
    ({"lumbar_flexion": 20}, "neck", 0, 1),
    ({"lumbar_bending": 20}, "neck", 1, -1),                     # bend to the right
    ({"lumbar_rotation": 20}, "left_shoulder", 0, -1),           # turn left
    ({"neck_flexion": 20}, "nose", 2, -1),                       # nose down
    ({"neck_bending": 20}, "head_top", 1, -1),                   # to the right
    ({"neck_rotation": 20}, "nose", 1, 1),                       # look left
    ({"left_shoulder_flexion": 40}, "left_elbow", 0, 1),         # elbow forward
    ({"left_shoulder_abduction": 40}, "left_elbow", 1, 1),       # left elbow lateral (+Y)
    ({"right_shoulder_abduction": 40}, "right_elbow", 1, -1),
    ({"left_elbow_flexion": 60, "left_shoulder_rotation": 30}, "left_wrist", 1, -1),  # internal
    ({"right_elbow_flexion": 60, "right_shoulder_rotation": 30}, "right_wrist", 1, 1),
    ({"left_elbow_flexion": 60}, "left_wrist", 0, 1),            # forearm forward
])
def test_signs(dofs, point, axis, sign):
    layout = "halpe26"
    d = _moved(layout, point, **dofs)
    assert sign * d[axis] > 0.01, d


@pytest.mark.parametrize(("dofs", "point", "axis", "sign"), [
    ({"left_forearm_pronation": 40}, "left_index", 0, 1),        # thumb side turns forward
    ({"right_forearm_pronation": 40}, "right_index", 0, 1),
    ({"left_wrist_flexion": 30}, "left_pinky", 0, 1),            # towards the palm
    ({"left_wrist_deviation": 20}, "left_index", 1, -1),         # ulnar: medial
    ({"right_wrist_deviation": 20}, "right_index", 1, 1),
])
def test_hand_signs(dofs, point, axis, sign):
    d = _moved("blazepose33", point, **dofs)
    assert sign * d[axis] > 0.005, d


def test_lean_goes_to_pelvis_or_is_split():
    """The unobservable pelvis/lumbar split follows ``lean``; the trunk is the same."""
    truth = ik.default_model("halpe26")
    q = motion(120, seed=4, lean="split")
    poses = make_poses(truth, q)
    split = ik.fit(poses, lean="split")
    rms = angle_rms(split, q)
    assert rms["lumbar_flexion"] < 1.0 and rms["pelvis_tilt"] < 1.0, rms
    pelvis = ik.fit(poses)                                   # the default: OpenSim's choice
    assert pelvis.meta["lean"] == "pelvis"
    assert np.sqrt(np.mean(pelvis.angles.get("lumbar_flexion") ** 2)) < 2.0
    tilt = pelvis.angles.get("pelvis_tilt")[:, 0]
    lean = q[:, DOF["pelvis_tilt"]] + q[:, DOF["lumbar_flexion"]]
    assert np.sqrt(np.mean((tilt - lean) ** 2)) < 3.0       # the pelvis takes the whole lean
    for res in (split, pelvis):
        assert np.nanmax(res.residuals) < 0.01
    with pytest.raises(InputError, match="lean must be one of pelvis, split"):
        ik.fit(poses, lean="trunk")


def test_zero_pose_gives_zero_angles():
    m = ik.default_model("halpe26")
    res = ik.fit(make_poses(m, standing(8)))
    assert np.abs(res.angles.degrees).max() < 0.05
    np.testing.assert_allclose(res.translation[:, 0], [[0, 0, 0.95]] * 8, atol=1e-4)
    assert np.nanmax(res.residuals) < 1e-3
    assert res.angles.meta["kind"] == "ik"


def test_pelvis_rotation_past_half_a_turn_is_wrapped():
    """A person turning from 150° to 240° (past facing backwards): the fit follows the
    turn, and every angle out is in (−180°, 180°] (angles_ik once read 211°)."""
    m = ik.default_model("halpe26")
    q = standing(30)
    q[:, DOF["pelvis_rotation"]] = np.linspace(150, 240, 30)
    res = ik.fit(make_poses(m, q))
    deg = res.angles.degrees
    assert np.nanmax(deg) <= 180 and np.nanmin(deg) > -180
    got = res.angles.get("pelvis_rotation")[:, 0]
    err = ik.wrap_degrees(got - q[:, DOF["pelvis_rotation"]])
    assert np.abs(err).max() < 0.1
    assert got[0] == pytest.approx(150, abs=0.1) and got[-1] == pytest.approx(-120, abs=0.1)
    np.testing.assert_allclose(ik.wrap_degrees([180, -180, 540, -181, 0]), [180, 180, 180, 179, 0])


def test_single_joint_recovered():
    m = ik.default_model("coco17")
    res = ik.fit(make_poses(m, standing(6, right_knee_flexion=30, left_elbow_flexion=70)))
    np.testing.assert_allclose(res.angles.get("right_knee_flexion")[:, 0], 30, atol=0.05)
    np.testing.assert_allclose(res.angles.get("left_elbow_flexion")[:, 0], 70, atol=0.05)


# --------------------------------------------------------------------------------------
# Accuracy on the model's own motion
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["halpe26", "coco17", "blazepose33", "body25",
                                    "coco_wholebody133"])
def test_recovers_angles_and_lengths(layout):
    truth = ik.default_model(layout, 1.68)
    q = motion(200, seed=2)
    poses = make_poses(truth, q, noise=0.005, missing=0.03)
    res = ik.fit(poses)
    rms = angle_rms(res, q)
    assert max(rms.values()) < 3.0, sorted(rms.items(), key=lambda kv: -kv[1])[:3]
    assert np.sqrt(np.mean(np.square(list(rms.values())))) < 1.5
    est = res.models[0]
    for name, value in truth.lengths.items():
        assert abs(est.lengths[name] - value) < 0.01, name
    assert res.bone_lengths[0] == est.lengths
    for name, value in truth.offsets.items():
        assert np.abs(est.offsets[name] - value).max() < 0.01, name
    np.testing.assert_allclose(res.translation[:, 0], q[:, :3], atol=0.02)
    # the fitted keypoints: the model's, in the input's layout and space
    assert res.fitted.skeleton == poses.skeleton and res.fitted.space == "world"
    assert np.nanmean(res.residuals) < 0.012


def test_smoothing_helps_with_noise():
    m = ik.default_model("halpe26")
    q = motion(150, seed=4)
    poses = make_poses(m, q, noise=0.015)
    raw = angle_rms(ik.fit(poses, smooth=0), q)
    smooth = angle_rms(ik.fit(poses, smooth=1.0), q)
    assert np.mean(list(smooth.values())) < 0.8 * np.mean(list(raw.values()))


def test_scipy_reference_agrees():
    m = ik.default_model("halpe26")
    q = motion(12, seed=5)
    poses = make_poses(m, q, noise=0.01, missing=0.05)
    fast = ik.fit(poses)
    ref = ik.fit(poses, solver="scipy")
    np.testing.assert_allclose(fast.angles.degrees, ref.angles.degrees, atol=0.01)
    np.testing.assert_allclose(fast.translation, ref.translation, atol=1e-5)


def test_jacobian_matches_finite_differences(monkeypatch):
    from posestack.kinematics import ik as module

    m = ik.default_model("blazepose33")
    q = motion(4, seed=6)
    poses = make_poses(m, q)
    calib, views = _rig(poses)
    seen = {}
    solve = module._solve_banded

    def spy(pb, x0, max_iter):
        seen["pb"] = pb
        return solve(pb, x0, max_iter)

    monkeypatch.setattr(module, "_solve_banded", spy)
    ik.fit(poses, cameras=calib, keypoints2d=views)
    pb = seen["pb"]
    assert len(pb.cams) == len(calib)
    x = np.random.default_rng(0).normal(0, 0.3, (4, len(pb.st.dof_index)))
    _, J, *_ = pb.terms(x)
    eps = 1e-6
    for k in range(x.shape[1]):
        dx = np.zeros_like(x)
        dx[:, k] = eps
        fd = (pb.terms(x + dx, jac=False)[0] - pb.terms(x - dx, jac=False)[0]) / (2 * eps)
        np.testing.assert_allclose(J[:, :, k], fd, atol=1e-6)


# --------------------------------------------------------------------------------------
# Limits, missing data, people, axes
# --------------------------------------------------------------------------------------


def test_limits_hold_when_the_data_push_beyond():
    m = ik.default_model("halpe26")
    q = standing(10, left_knee_flexion=-25, right_elbow_flexion=-25, left_hip_flexion=20)
    poses = make_poses(m, q)
    res = ik.fit(poses)
    assert res.angles.get("left_knee_flexion").min() > -1.5
    assert res.angles.get("right_elbow_flexion").min() > -1.5
    free = ik.fit(poses, limits=False)
    np.testing.assert_allclose(free.angles.get("left_knee_flexion"), -25, atol=0.1)
    np.testing.assert_allclose(free.angles.get("right_elbow_flexion"), -25, atol=0.1)


def test_missing_keypoints_and_absent_frames():
    m = ik.default_model("halpe26")
    q = motion(120, seed=7)
    xyz = m.keypoints(q)
    sk = m.skeleton
    xyz[:, sk.index("head_top")] = np.nan                       # never seen
    xyz[40:60, sk.index("right_knee")] = np.nan                 # a gap
    xyz[100:110] = np.nan                                       # the person is gone
    scores = np.isfinite(xyz[..., 0]).astype(float)
    poses = Poses(sk, xyz[:, None], scores[:, None], np.arange(120) / 60, "world")
    res = ik.fit(poses)
    assert np.isnan(res.angles.degrees[100:110]).all()
    assert np.isnan(res.fitted.coords[100:110]).all()
    assert np.isfinite(res.angles.degrees[:100]).all()
    assert np.isnan(res.residuals[:, 0, sk.index("head_top")]).all()
    # the unseen head_top is still drawn, at its default offset
    assert np.isfinite(res.fitted.coords[:100, 0, sk.index("head_top")]).all()
    gap = res.angles.get("right_knee_flexion")[40:60, 0] - q[40:60, DOF["right_knee_flexion"]]
    assert np.abs(gap).max() < 3.0


def test_two_people_each_with_their_body():
    a, b = ik.default_model("coco17", 1.6), ik.default_model("coco17", 1.9)
    q1, q2 = motion(80, seed=8), motion(80, seed=9)
    x1, x2 = a.keypoints(q1), b.keypoints(q2)
    x2[:20] = np.nan
    xyz = np.stack([x1, x2], axis=1)
    poses = Poses("coco17", xyz, np.isfinite(xyz[..., 0]).astype(float), np.arange(80) / 60,
                  "world", tracked=True)
    res = ik.fit(poses)
    assert res.angles.degrees.shape == (80, 2, len(res.angles.names))
    assert abs(res.bone_lengths[0]["left_thigh"] - a.lengths["left_thigh"]) < 0.005
    assert abs(res.bone_lengths[1]["left_thigh"] - b.lengths["left_thigh"]) < 0.005
    assert np.isnan(res.angles.degrees[:20, 1]).all()
    assert np.isfinite(res.angles.degrees[20:, 1]).all()


def test_empty_and_unseen_people():
    m = ik.default_model("halpe26")
    poses = make_poses(m, standing(5))
    two = Poses(poses.skeleton, np.concatenate([poses.coords, np.full_like(poses.coords, np.nan)],
                                               axis=1),
                np.concatenate([poses.scores, np.zeros_like(poses.scores)], axis=1),
                poses.times, "world", tracked=True)
    res = ik.fit(two)
    assert res.models[1] is None and res.bone_lengths[1] == {} and res.iterations[1] == 0
    assert np.isnan(res.angles.degrees[:, 1]).all()
    none = ik.fit(Poses.empty("halpe26", 3, "world", times=np.arange(4) / 30))
    assert none.angles.degrees.shape == (4, 0, len(none.angles.names))
    assert none.fitted.coords.shape == (4, 0, 26, 3)


def test_up_axis():
    m = ik.default_model("halpe26")
    q = motion(40, seed=10)
    poses = make_poses(m, q)
    zup = ik.fit(poses)
    # the same scene in Y-up axes (OpenSim's: X, Y, Z = world y, z, x)
    yup_xyz = poses.coords[..., [1, 2, 0]]
    yup = Poses(poses.skeleton, yup_xyz, poses.scores, poses.times, "world")
    res = ik.fit(yup, up="y")
    np.testing.assert_allclose(res.angles.degrees, zup.angles.degrees, atol=1e-3)
    np.testing.assert_allclose(res.fitted.coords, zup.fitted.coords[..., [1, 2, 0]], atol=1e-5)


def test_symmetric_lengths():
    m = ik.default_model("halpe26")
    lengths = dict(m.lengths, left_thigh=0.44, right_thigh=0.40)
    asym = ik.BodyModel("halpe26", lengths, m.offsets)
    poses = make_poses(asym, motion(30, seed=11))
    both = ik.estimate_model(poses)
    assert both.lengths["left_thigh"] == pytest.approx(0.42, abs=1e-6)
    assert both.lengths["right_thigh"] == pytest.approx(0.42, abs=1e-6)
    each = ik.estimate_model(poses, symmetric=False)
    assert each.lengths["left_thigh"] == pytest.approx(0.44, abs=1e-6)
    assert each.lengths["right_thigh"] == pytest.approx(0.40, abs=1e-6)
    res = ik.fit(poses, symmetric=False, smooth=0)
    assert np.nanmax(res.residuals) < 1e-3


# --------------------------------------------------------------------------------------
# 2D keypoints of calibrated cameras
# --------------------------------------------------------------------------------------


def _rig(poses: Poses) -> tuple[Calibration, list[Poses]]:
    """Four cameras 4 m around (1, 0, 1) and the exact 2D keypoints of ``poses``."""
    cams = []
    for i, ang in enumerate(np.radians([20, 110, 200, 290])):
        centre = np.array([1 + 4 * np.cos(ang), 4 * np.sin(ang), 1.3])
        z = np.array([1.0, 0.0, 1.0]) - centre
        z /= np.linalg.norm(z)
        x = np.cross(z, [0.0, 0.0, 1.0])
        x /= np.linalg.norm(x)
        R = np.stack([x, np.cross(z, x), z])
        cams.append(Camera(f"cam{i}", K=[[1400, 0, 960], [0, 1400, 540], [0, 0, 1]],
                           dist=[0.05, -0.02, 0, 0], R=R, t=-R @ centre, size=(1920, 1080)))
    calib = Calibration(tuple(cams))
    views = [Poses(poses.skeleton, c.project(poses.coords.astype(float)), poses.scores,
                   poses.times, f"image:{c.name}", tracked=True) for c in cams]
    return calib, views


def test_2d_keypoints_correct_noisy_3d():
    m = ik.default_model("halpe26")
    q = motion(60, seed=12)
    clean = make_poses(m, q)
    calib, views = _rig(clean)
    rng = np.random.default_rng(0)
    noisy = Poses(clean.skeleton, clean.coords + rng.normal(0, 0.03, clean.coords.shape),
                  clean.scores, clean.times, "world", tracked=True)
    only3d = angle_rms(ik.fit(noisy), q)
    both = ik.fit(noisy, cameras=calib, keypoints2d={v.space[6:]: v for v in views})
    with2d = angle_rms(both, q)
    assert np.mean(list(with2d.values())) < 0.7 * np.mean(list(only3d.values()))
    assert both.meta["cameras"] == list(calib.names)


def test_2d_outlier_views_are_left_out():
    m = ik.default_model("halpe26")
    q = motion(30, seed=13)
    clean = make_poses(m, q)
    calib, views = _rig(clean)
    bad = views[0].coords.copy()
    bad[:, 0, :9] += 300.0                                     # a wrong detection in one view
    views[0] = Poses(views[0].skeleton, bad, views[0].scores, views[0].times, views[0].space)
    res = ik.fit(clean, cameras=calib, keypoints2d=views, smooth=0)
    assert max(angle_rms(res, q).values()) < 0.05


# --------------------------------------------------------------------------------------
# OpenSim, errors, speed
# --------------------------------------------------------------------------------------


def test_to_opensim():
    m = ik.default_model("halpe26")
    # facing world +Y, which is OpenSim's +X (posestack's .trc axes), so pelvis_rotation = 0
    q = standing(3, pelvis_rotation=90, pelvis_tilt=10, pelvis_obliquity=5, lumbar_flexion=10,
                 right_knee_flexion=40, left_shoulder_abduction=30, neck_flexion=15)
    res = ik.fit(make_poses(m, q), lean="split")
    osim = ik.to_opensim(res, zero=None)      # our zero pose; signs and axes only
    np.testing.assert_allclose(osim["pelvis_rotation"], 0, atol=0.05)
    np.testing.assert_allclose(osim["pelvis_tilt"], -10, atol=0.05)   # OpenSim: posterior +
    np.testing.assert_allclose(osim["pelvis_list"], 5, atol=0.05)
    np.testing.assert_allclose(osim["L5_S1_Flex_Ext"], -10, atol=0.05)
    np.testing.assert_allclose(osim["knee_angle_r"], 40, atol=0.05)
    np.testing.assert_allclose(osim["arm_add_l"], -30, atol=0.05)
    np.testing.assert_allclose(osim["neck_flexion"], -15, atol=0.05)
    np.testing.assert_allclose(osim["pelvis_ty"], 0.95, atol=1e-4)     # OpenSim Y = world Z
    facing_x = ik.to_opensim(ik.fit(make_poses(m, standing(3))), zero=None)
    np.testing.assert_allclose(facing_x["pelvis_rotation"], -90, atol=0.05)
    # calibrated to the model (default): OpenSim's pelvis origin is above our hip centres
    cal = ik.to_opensim(res)
    assert 0.04 < float(np.mean(cal["pelvis_ty"])) - 0.95 < 0.15
    assert not np.allclose(cal["elbow_flex_l"], osim["elbow_flex_l"], atol=5)


@pytest.mark.parametrize(("call", "match"), [
    (lambda p: ik.fit(Poses("halpe26", np.zeros((2, 1, 26, 2)), np.ones((2, 1, 26)),
                            [0.0, 0.1], "image:c")), "3D"),
    (lambda p: ik.fit(Poses("hand21", np.zeros((2, 1, 21, 3)), np.ones((2, 1, 21)),
                            [0.0, 0.1], "world")), "left_hip"),
    (lambda p: ik.fit(p, solver="lm"), "banded, scipy"),
    (lambda p: ik.fit(p, smooth=-1), "smooth"),
    (lambda p: ik.fit(p, up="w"), "up must be"),
    (lambda p: ik.fit(p, cameras=[]), "keypoints2d"),
    (lambda p: ik.fit("poses"), "Poses"),
    (lambda p: ik.estimate_model(p, person=3), "person"),
    (lambda p: ik.default_model("halpe26").keypoints(np.zeros(5)), "DOF_NAMES"),
    (lambda p: ik.BodyModel("halpe26", {"femur": 0.4}, {}), "unknown length"),
])
def test_bad_input(call, match):
    poses = make_poses(ik.default_model("halpe26"), standing(3))
    with pytest.raises(InputError, match=match):
        call(poses)


def test_long_sequence_runs():
    """Speed sanity (not timed): 1000 frames converge in a few iterations."""
    m = ik.default_model("halpe26")
    q = motion(1000, seed=14)
    res = ik.fit(make_poses(m, q, noise=0.005, missing=0.02))
    assert res.iterations[0] < 30
    assert res.seconds > 0
    assert np.sqrt(np.mean(np.square(list(angle_rms(res, q).values())))) < 1.5
