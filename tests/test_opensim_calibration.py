"""Calibration of posestack's skeletal IK to OpenSim's model: known poses of the model itself.

OpenSim puts Pose2Sim's model in poses whose coordinates we choose; our IK fits its
markers as keypoints; ``to_opensim`` must give those coordinates back.
"""

from __future__ import annotations

import numpy as np
import pytest

from posestack.biomech import opensim_ik as oik
from posestack.errors import InputError
from posestack.kinematics import ik
from posestack.kinematics._opensim_zero import OPENSIM_ZERO

pytest.importorskip("opensim")


def test_packaged_calibration_is_the_models_own():
    """The table in the package is what ik_calibration measures now (not tuned by hand)."""
    fresh = oik.ik_calibration("halpe26")
    stored = OPENSIM_ZERO["halpe26"]
    assert set(fresh["zero"]) == set(stored["zero"])
    for name, value in stored["zero"].items():
        assert abs(fresh["zero"][name] - value) < 0.01, name
    assert set(fresh["curves"]) == set(stored["curves"])
    for name, (ours, theirs) in stored["curves"].items():
        np.testing.assert_allclose(fresh["curves"][name][0], ours, atol=0.01, err_msg=name)
        np.testing.assert_allclose(fresh["curves"][name][1], theirs, atol=1e-6, err_msg=name)
    # what the curves must contain: every main flexion, each side, increasing
    for s in ("left", "right"):
        for j in ("hip_flexion", "knee_flexion", "ankle_dorsiflexion", "elbow_flexion",
                  "shoulder_flexion"):
            ours, theirs = stored["curves"][f"{s}_{j}"]
            assert np.all(np.diff(ours) > 0) and np.all(np.diff(theirs) > 0)


def test_zero_pose_is_symmetric_and_not_ours():
    zp = oik.model_pose("halpe26")
    assert zp.coords.shape == (1, 1, 26, 3)
    k = zp.skeleton.index
    xyz = zp.coords[0, 0]
    # facing world +y (OpenSim's +X), left = -x: left and right mirror each other
    for a, b in (("left_knee", "right_knee"), ("left_elbow", "right_elbow")):
        np.testing.assert_allclose(xyz[k(a)] * (-1, 1, 1), xyz[k(b)], atol=1e-3)
    zero = OPENSIM_ZERO["halpe26"]["zero"]
    # OpenSim's zero is not ours: its elbow markers look hyperextended by ~20 degrees
    assert zero["left_elbow_flexion"] < -15
    # the head frame has no ears/eyes among the markers: no neck angles in the table
    assert "neck_flexion" not in zero


@pytest.mark.parametrize("pose", [
    {"knee_angle_r": 60.0},
    {"elbow_flex_l": 90.0},
    {"hip_flexion_l": 30.0, "knee_angle_l": 45.0, "ankle_angle_l": 10.0},
    {"hip_flexion_r": 70.0, "knee_angle_r": 100.0, "elbow_flex_r": 120.0,
     "pelvis_tilt": -10.0, "pelvis_rotation": 30.0},
    {"arm_flex_l": 60.0},
])
def test_model_poses_come_back(pose):
    """Known OpenSim coordinates → markers → our IK → to_opensim ≈ the coordinates.

    Within 4°: the model's hip markers sit off the femur heads, so hip flexion
    changes the hip-knee marker line by up to ~3° (measured); our hip joint is
    the hip keypoint.
    """
    held = ["pro_sup_l", "pro_sup_r"]          # where OpenSim's IK leaves them (default 90°)
    poses = oik.model_pose("halpe26", coordinates=[pose] * 3, keep_default=held)
    res = ik.fit(poses, smooth=0.0, max_iter=1000)
    got = ik.to_opensim(res)
    raw = ik.to_opensim(res, zero=None)
    for name, value in pose.items():
        assert abs(got[name][1] - value) < 4.0, (name, got[name][1], value)
    # other main coordinates stay near 0 (not the elbows: below ~20° of OpenSim elbow
    # flexion the carrying angle makes our angle fall, then rise: the map is ambiguous
    # there and to_opensim reads the rising branch)
    for name in ("knee_angle_l", "knee_angle_r", "hip_flexion_l", "hip_flexion_r"):
        if name not in pose:
            assert abs(got[name][1]) < 4.0, (name, got[name][1])
    # without the calibration the elbow would be off by ~20 degrees
    if "elbow_flex_l" in pose:
        assert abs(raw["elbow_flex_l"][1] - pose["elbow_flex_l"]) > 5.0


def test_bad_calibration_arguments():
    res = ik.fit(oik.model_pose("halpe26", coordinates=[{}] * 3))
    with pytest.raises(InputError, match="zero must be"):
        ik.to_opensim(res, zero="scaled")
    with pytest.raises(InputError, match="zero must be"):
        ik.to_opensim(res, zero={"left_knee_flexion": 3.0})
    with pytest.raises(InputError, match="unknown coordinate"):
        oik.model_pose("halpe26", coordinates={"knee_flexion_r": 10.0})
    with pytest.raises(InputError, match="not 'lstm'"):
        oik.model_pose("lstm")
