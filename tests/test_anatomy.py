"""From keypoints to anatomy: the hip definition of each 2D model (posestack.biomech.anatomy).

Truth is known by construction: Pose2Sim's own 3D of its demo trial (OpenPose BODY_25B, COCO
hips) is the reference; BlazePose-defined hips are made from it by moving each frame's hips
by the documented offset in that frame's pelvis frame. Mapped back, the hips, and OpenSim's
angles, must come out as from the reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posestack.biomech.anatomy import HIP_OFFSETS, keypoint_source, to_reference_hips
from posestack.errors import InputError
from posestack.io.trc import POSE2SIM_NAMES, read_trc, write_trc
from posestack.poses import Poses
from posestack.skeletons import get_skeleton

PEER = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "pose2sim_demo"
THEIR_TRC = PEER / "pose2sim_filt_butterworth_0-100.trc"


def test_keypoint_source():
    assert keypoint_source(estimator="blazepose") == "blazepose"
    assert keypoint_source(estimator="holistic") == "blazepose"
    for est in ("rtmw", "dwpose", "rtmpose", "rtmo"):
        assert keypoint_source(estimator=est) == "coco"
    assert keypoint_source(layout="blazepose33") == "blazepose"
    assert keypoint_source(layout="body25b") == "coco"
    assert keypoint_source("coco", estimator="blazepose") == "coco"  # the user decides
    assert keypoint_source("auto", estimator="blazepose") == "blazepose"
    with pytest.raises(InputError, match=r"unknown keypoint source 'openpose'.*coco"):
        keypoint_source("openpose")


def _their_poses() -> Poses:
    """Pose2Sim's filtered 3D of the demo (BODY_25B, Z up, metres) as one person's Poses."""
    d = read_trc(THEIR_TRC, z_up=True, metres=True)
    skel = get_skeleton("body25b")
    ours = {v: k for k, v in POSE2SIM_NAMES["body25b"].items()}
    coords = np.full((len(d.times), 1, len(skel), 3), np.nan, np.float32)
    for j, name in enumerate(d.names):
        if name in ours:
            coords[:, 0, skel.index(ours[name])] = d.xyz[:, j]
    scores = np.where(np.isfinite(coords).all(-1), 1.0, 0.0).astype(np.float32)
    return Poses(skel, coords, scores, d.times - d.times[0], "world", tracked=True)


def _as_blazepose(poses: Poses) -> Poses:
    """Move COCO hips to where BlazePose puts them (the inverse of to_reference_hips)."""
    off = HIP_OFFSETS["blazepose"]
    k = poses.skeleton.index
    c = poses.coords.astype(np.float64)
    lh, rh = c[:, :, k("left_hip")], c[:, :, k("right_hip")]
    ms = (c[:, :, k("left_shoulder")] + c[:, :, k("right_shoulder")]) / 2
    lat = (rh - lh) / np.linalg.norm(rh - lh, axis=-1, keepdims=True)
    up = ms - (lh + rh) / 2
    up -= np.sum(up * lat, -1, keepdims=True) * lat
    up /= np.linalg.norm(up, axis=-1, keepdims=True)
    out = poses.coords.copy()
    out[:, :, k("left_hip")] += (up * off.up + lat * off.medial).astype(np.float32)
    out[:, :, k("right_hip")] += (up * off.up - lat * off.medial).astype(np.float32)
    return poses._replace(coords=out)


def test_to_reference_hips_recovers_the_coco_hips():
    ref = _their_poses()
    bp = _as_blazepose(ref)
    k = ref.skeleton.index
    moved = np.linalg.norm(bp.coords[:, 0, k("left_hip")] - ref.coords[:, 0, k("left_hip")],
                           axis=-1)
    assert np.allclose(moved, np.hypot(0.042, 0.013), atol=1e-4)  # 4.4 cm apart
    back = to_reference_hips(bp, "blazepose")
    for name in ("left_hip", "right_hip"):
        err = np.linalg.norm(back.coords[:, 0, k(name)] - ref.coords[:, 0, k(name)], axis=-1)
        assert err.max() < 2e-6  # metres (float32)
    # BlazePose hips sit lower: after the mapping, both hips are higher (world Z up)
    assert (back.coords[:, 0, k("left_hip"), 2] > bp.coords[:, 0, k("left_hip"), 2]).all()
    # everything else is untouched; COCO-defined keypoints are returned as they are
    others = [i for i, n in enumerate(ref.skeleton.keypoints) if n not in ("left_hip", "right_hip")]
    assert np.array_equal(back.coords[:, :, others], bp.coords[:, :, others], equal_nan=True)
    assert to_reference_hips(ref, "coco") is ref


def test_to_reference_hips_keeps_frames_without_a_pelvis_frame():
    ref = _their_poses()
    k = ref.skeleton.index
    coords = ref.coords.copy()
    coords[:10, 0, k("left_shoulder")] = np.nan  # no up direction in these frames
    p = ref._replace(coords=coords)
    out = to_reference_hips(p, "blazepose")
    assert np.array_equal(out.coords[:10], p.coords[:10], equal_nan=True)
    assert not np.allclose(out.coords[10:, 0, k("left_hip")], p.coords[10:, 0, k("left_hip")])


@pytest.mark.assets
@pytest.mark.slow
def test_opensim_angles_do_not_depend_on_the_hip_definition(tmp_path):
    """Pose2Sim's 3D (COCO hips) through OpenSim as it is, and with BlazePose's hips:
    told that the hips are BlazePose's, OpenSim gives the same angles; not told, it does
    not."""
    pytest.importorskip("opensim")
    from posestack.biomech.opensim_ik import scale_and_ik

    ref = _their_poses()
    bp = _as_blazepose(ref)
    runs = {}
    for name, poses, source in (("ref", ref, "coco"), ("bp", bp, "blazepose"),
                                ("bp_as_coco", bp, "coco")):
        trc = tmp_path / f"{name}.trc"
        write_trc(trc, poses)
        runs[name] = scale_and_ik(trc, tmp_path / name, layout="body25b", height=1.75,
                                  mass=70.0, keypoints=source)
    assert runs["bp"].keypoints == "blazepose" and runs["ref"].keypoints == "coco"
    # what OpenSim read: the hips moved back to where the reference has them
    got = read_trc(runs["bp"].markers, z_up=True, metres=True)
    want = read_trc(runs["ref"].markers, z_up=True, metres=True)
    for name in ("LHip", "RHip", "LKnee"):
        d = got.xyz[:, got.names.index(name)] - want.xyz[:, want.names.index(name)]
        assert np.abs(d).max() < 1e-4, name

    def rmse(a: str, b: str, coord: str) -> float:
        x, y = runs[a].angle(coord), runs[b].angle(coord)
        return float(np.sqrt(np.nanmean((x - y) ** 2)))

    coords = ("pelvis_tilt", "pelvis_list", "hip_flexion_r", "hip_flexion_l",
              "hip_adduction_r", "hip_adduction_l", "knee_angle_r", "knee_angle_l")
    mapped = {c: rmse("bp", "ref", c) for c in coords}
    raw = {c: rmse("bp_as_coco", "ref", c) for c in coords}
    # mapped: the same markers (to 0.1 mm, float32 and the .trc's digits), so the same
    # angles to a few tenths of a degree (OpenSim's solver); unmapped: the hips' 4 cm show
    # in the hips' adduction and the knees (1.6-2.2 degrees RMSE)
    assert max(mapped.values()) < 0.5, (mapped, raw)
    assert max(raw.values()) > 1.5, (mapped, raw)
