"""posestack evaluate on keypoints: known truth (a moved copy of Pose2Sim's own 3D) and
real data (our triangulation of the Pose2Sim sample against Pose2Sim's, and one
camera's BlazePose world landmarks against the other cameras)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from posestack import assets
from posestack.cli import main
from posestack.errors import InputError
from posestack.evaluate.keypoints import (
    Keypoints,
    canonical_name,
    evaluate,
    load_keypoints,
    to_world,
)

ROOT = Path(__file__).resolve().parent.parent
P2S_TRC = ROOT / "benchmarks/data/pose2sim_demo/pose2sim_filt_butterworth_0-100.trc"


def test_a_moved_copy_of_known_truth():
    """Pose2Sim's TRC against itself rotated 30° about Z, scaled 1.1 and shifted 5 cm:
    the errors each alignment leaves are known."""
    from scipy.spatial.transform import Rotation

    gt = load_keypoints(P2S_TRC)
    r = Rotation.from_euler("z", 30, degrees=True).as_matrix()
    hips = np.nanmean(gt.coords[:, :, [0, 6]], axis=2, keepdims=True)  # RHip, LHip
    moved = 1.1 * np.einsum("ij,tpkj->tpki", r, gt.coords - hips) + hips + [0.05, 0, 0]
    ev = evaluate(Keypoints(moved, gt.times, gt.names, Path("moved.trc"), "world"), gt)
    (row,) = ev.rows
    assert row["pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-6)
    assert row["mpjpe_mm"] > 50 and row["n_mpjpe_mm"] > 50  # rotation left in
    shifted = Keypoints(gt.coords + np.array([0.05, 0, 0]), gt.times, gt.names,
                        Path("s.trc"), "world")
    (row,) = evaluate(shifted, gt).rows
    assert row["mpjpe_mm"] == pytest.approx(0.0, abs=1e-6)  # root-aligned
    assert row["pck"] == 1.0 and row["auc"] > 0.96  # (the 0 mm threshold counts ~none)
    assert row["frames"] == len(gt.times)


def test_names_frames_and_people_are_matched():
    assert canonical_name("RSmallToe") == "right_small_toe"
    gt = load_keypoints(P2S_TRC)
    # every other frame, a second (far) person first: person 1 pairs with reference 0
    coords = np.concatenate([gt.coords[::2] + 3.0, gt.coords[::2]], axis=1)
    ev = evaluate(Keypoints(coords, gt.times[::2], gt.names, Path("p.trc"), "world"), gt)
    assert [(r["person"], r["reference_person"]) for r in ev.rows] == [(1, 0)]
    assert ev.rows[0]["frames"] == len(gt.times[::2])
    late = Keypoints(gt.coords, gt.times + 100, gt.names, Path("late.trc"), "world")
    with pytest.raises(InputError, match=r"no frame of late\.trc"):
        evaluate(late, gt)
    few = Keypoints(gt.coords[:, :, :3], gt.times, ("a", "b", "c"), Path("few.trc"), "world")
    with pytest.raises(InputError, match="share 0 keypoint"):
        evaluate(few, gt)


@pytest.mark.assets
def test_our_triangulation_against_pose2sims(tmp_path, caplog, capsys):
    """Real data: posestack's 3D of the Pose2Sim sample (BlazePose 2D, half a second)
    against Pose2Sim's published OpenPose-based 3D of the same trial."""
    d = assets.path("pose2sim_demo_singleperson")
    calib = d / "calibration" / "Calib.qca.txt"
    out = tmp_path / "out"
    assert main(["run", str(d / "videos"), "--calibration",
                 str(calib), "-o", str(out), "--layout",
                 "halpe26", "--end", "0.5", "--no-video", "-q"]) == 0
    ev_dir = tmp_path / "ev"
    assert main(["evaluate", str(out / "multiview"), str(P2S_TRC), "-o", str(ev_dir)]) == 0
    (row,) = pq.read_table(ev_dir / "evaluation.parquet").to_pylist()
    assert 28 <= row["frames"] <= 30
    # two pipelines, two 2D models (BlazePose's hips sit ~4 cm lower than OpenPose's)
    assert 20 < row["mpjpe_mm"] < 90 and row["pa_mpjpe_mm"] < row["mpjpe_mm"]
    assert row["pck"] > 0.9
    per = pq.read_table(ev_dir / "per_joint.parquet").to_pylist()
    assert {r["keypoint"] for r in per} >= {"left_knee", "right_ankle", "nose", "neck"}
    assert (ev_dir / "per_joint.png").stat().st_size > 5000
    # one camera's BlazePose world landmarks against the triangulation: only the
    # Procrustes-aligned error means something (their axes are the camera's)
    cam = evaluate(out / "cam01", out / "multiview")
    assert 30 < cam.rows[0]["pa_mpjpe_mm"] < 150
    assert any("only PA-MPJPE is meaningful" in w for w in cam.warnings)
    # turned into the world by cam01's calibrated rotation, MPJPE means something
    turned = evaluate(to_world(load_keypoints(out / "cam01"), calib), out / "multiview")
    assert turned.rows[0]["mpjpe_mm"] < min(200, cam.rows[0]["mpjpe_mm"] / 2)
    assert turned.rows[0]["pa_mpjpe_mm"] == pytest.approx(cam.rows[0]["pa_mpjpe_mm"], abs=0.5)
    assert not any("PA-MPJPE" in w for w in turned.warnings)
    assert main(["evaluate", str(out / "cam01"), str(out / "multiview"), "--calibration",
                 str(calib)]) == 0
    with pytest.raises(InputError, match="not a camera here"):
        to_world(load_keypoints(out / "cam01"), calib, "cam07")
    with pytest.raises(InputError, match="not 3D in a camera's axes"):
        to_world(load_keypoints(out / "multiview"), calib)
    # a folder named like a camera with a number is not taken for it without --camera
    import shutil

    shutil.copytree(out / "cam01", out / "take_01")
    with pytest.raises(InputError, match="'take_01' is not a camera here"):
        to_world(load_keypoints(out / "take_01"), calib)
    moved = to_world(load_keypoints(out / "take_01"), calib, "cam01")
    np.testing.assert_allclose(moved.coords, to_world(load_keypoints(out / "cam01"),
                                                      calib).coords, equal_nan=True)
    # a table made from camera "cam3" (a video named so): turned by cam03, and a warning
    # only when --camera names another camera
    import logging

    from posestack.io.tables import poses_to_table, write_parquet
    from posestack.poses import Poses

    ref = load_keypoints(out / "multiview")
    rng = np.random.default_rng(0)
    cam3 = Poses("coco17", rng.normal(0, 0.3, (10, 1, 17, 3)), np.ones((10, 1, 17)),
                 ref.times[:10], "camera:cam3")
    write_parquet(tmp_path / "cam3.parquet", poses_to_table(cam3, np.arange(10), "cam3"))
    for camera, warned in ((None, False), ("cam03", False), ("cam01", True)):
        with caplog.at_level(logging.WARNING, logger="posestack"):
            caplog.clear()
            args = ["--camera", camera] if camera else []
            assert main(["evaluate", str(tmp_path / "cam3.parquet"), str(out / "multiview"),
                         "--calibration", str(calib), *args]) == 0
        assert ("as --camera says" in caplog.text) == warned, (camera, caplog.text)
        assert f"by camera {camera or 'cam03'}'s rotation" in capsys.readouterr().out
    # the keypoints compared are those present in both; the others are named
    ev = evaluate(out / "multiview", P2S_TRC, threshold_mm=100)
    assert "head_top" not in ev.names and any("head_top" in w for w in ev.warnings)
    assert ev.rows[0]["threshold_mm"] == 100 and ev.rows[0]["pck"] < row["pck"]


def test_bad_inputs(tmp_path, capsys):
    coco = ROOT / "tests/data/coco_keypoints_example/dt_dataset.json"
    assert main(["evaluate", str(coco), str(tmp_path)]) == 2
    assert "COCO annotation file" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "none.parquet"), str(P2S_TRC)]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["evaluate", str(P2S_TRC), str(P2S_TRC), "--threshold", "0"]) == 2
    mot = ROOT / "benchmarks/data/pose2sim_demo/pose2sim_filt_butterworth_0-100_body25b.mot"
    assert main(["evaluate", str(mot), str(P2S_TRC)]) == 2
    assert "angles and the other keypoints" in capsys.readouterr().err
    with pytest.raises(InputError, match="holds no keypoint table"):
        load_keypoints(tmp_path)


def test_coco_ap_reproduces_the_librarys_published_example(capsys):
    """faster-coco-eval's own keypoint example (a COCO val2017 image, its test suite's
    data; tests/data/coco_keypoints_example/SOURCE.md), whose stats that suite checks
    against pycocotools: posestack gives the same ten numbers, through the CLI too."""
    from posestack.evaluate.coco import coco_keypoint_ap

    d = ROOT / "tests/data/coco_keypoints_example"
    published = [0.5048844884488449, 0.7227722772277227, 0.6336633663366337,
                 0.46633663366336636, 0.7504950495049505, 0.5181818181818182,
                 0.7272727272727273, 0.6363636363636364, 0.4666666666666666, 0.75]
    stats = coco_keypoint_ap(d / "dt_dataset.json", d / "gt_dataset.json")
    assert list(stats.values()) == pytest.approx(published, abs=1e-12)
    assert main(["evaluate", str(d / "dt_dataset.json"), str(d / "gt_dataset.json")]) == 0
    assert "AP 0.505" in capsys.readouterr().out


def test_coco_ap_by_a_maintained_library_agrees_with_the_oks_by_hand(tmp_path, capsys):
    """One person, every keypoint predicted 10 px to the right: OKS is known by the
    formula (0.647 with COCO's sigmas and an area of 10,000 px²), so AP over the ten
    thresholds 0.50:0.95 is 0.3, AP50 1 and AP75 0."""
    import json

    from posestack.evaluate.coco import coco_keypoint_ap
    from posestack.skeletons import get_skeleton

    sig = np.array(get_skeleton("coco17").sigmas)
    kp = np.stack([np.linspace(100, 200, 17), np.linspace(50, 400, 17)], 1)
    ann = {"images": [{"id": 7, "width": 640, "height": 480}],
           "categories": [{"id": 1, "name": "person"}],
           "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0,
                            "area": 10000.0, "bbox": [100, 50, 100, 350],
                            "num_keypoints": 17,
                            "keypoints": np.c_[kp, np.full(17, 2)].ravel().tolist()}]}
    res = [{"image_id": 7, "category_id": 1, "score": 0.9,
            "keypoints": np.c_[kp + np.array([10.0, 0]), np.ones(17)].ravel().tolist()}]
    (tmp_path / "gt.json").write_text(json.dumps(ann))
    (tmp_path / "res.json").write_text(json.dumps(res))
    oks = np.mean(np.exp(-10.0 ** 2 / (2 * 10000 * (2 * sig) ** 2)))
    assert oks == pytest.approx(0.647, abs=1e-3)
    stats = coco_keypoint_ap(tmp_path / "res.json", tmp_path / "gt.json")
    assert stats["AP"] == pytest.approx(np.mean(oks >= np.linspace(0.5, 0.95, 10)))
    assert (stats["AP50"], stats["AP75"]) == (1.0, 0.0)
    assert main(["evaluate", str(tmp_path / "res.json"), str(tmp_path / "gt.json")]) == 0
    assert "AP 0.300" in capsys.readouterr().out
    del ann["annotations"][0]["area"]
    (tmp_path / "gt2.json").write_text(json.dumps(ann))
    with pytest.raises(InputError, match="lack 'area'"):
        coco_keypoint_ap(tmp_path / "res.json", tmp_path / "gt2.json")
    res[0]["image_id"] = 8
    (tmp_path / "res.json").write_text(json.dumps(res))
    with pytest.raises(InputError, match=r"not in gt\.json"):
        coco_keypoint_ap(tmp_path / "res.json", tmp_path / "gt.json")


def test_unrelated_recordings_are_named(tmp_path, s2d_bundle):
    """Two bundles made from different videos are paired by time alone: the evaluation
    says so, naming both sources; a bundle against itself says nothing of the kind."""
    import shutil

    other = tmp_path / "other"
    shutil.copytree(s2d_bundle, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["input"]["path"] = "/somewhere/another_take.mp4"
    (other / "manifest.json").write_text(json.dumps(manifest))
    ev = evaluate(other / "keypoints2d.parquet", s2d_bundle / "keypoints2d.parquet")
    assert any("not the same recording" in w and "another_take.mp4" in w
               for w in ev.warnings), ev.warnings
    same = evaluate(s2d_bundle / "keypoints2d.parquet", s2d_bundle / "keypoints2d.parquet")
    assert not any("not the same recording" in w for w in same.warnings)
