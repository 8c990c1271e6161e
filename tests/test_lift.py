"""The lifter's generated training data, its model, its ONNX export and a short training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from posestack.lift.model import Lifter  # noqa: E402
from posestack.lift.synthetic import sample_motions, view  # noqa: E402

# PA-MPJPE of the bundled lifter on 1.6 s of the Pose2Sim sample's cam01 against
# Pose2Sim's own 3D: measured 104.5 mm (BlazePose's world landmarks: 81.9 mm; a lifter
# trained for 39 steps: 197 mm); the bound leaves room for thread-count noise
LIFT_PA_BOUND_MM = 125.0


def test_generated_motions_stand_on_the_floor_and_are_filmed_consistently():
    poses = sample_motions(40, frames=30, seed=1)
    assert poses.shape == (40, 30, 17, 3) and np.isfinite(poses).all()
    assert np.allclose(poses[..., 2].min(axis=(1, 2)), 0.0)  # the feet reach the floor
    tall = np.ptp(poses[..., 2], axis=2).max(axis=1)
    assert 1.2 < np.median(tall) < 2.0   # people of human height
    x2d, scores, y3d = view(poses, seed=2)
    assert np.allclose(y3d[..., 11:13, :].mean(-2), 0.0, atol=1e-9)  # mid-hip relative
    ok = scores > 0
    hips_seen = ok[..., 11] & ok[..., 12]
    assert np.abs(x2d[..., 11:13, :].mean(-2)[hips_seen]).max() < 0.05
    assert (x2d[~ok] == 0).all() and 0.01 < (~ok).mean() < 0.15
    assert (y3d[..., 2] + 5 > 0).all()  # in front of the camera (depth relative to hips)


def test_the_model_and_its_onnx_export_agree(tmp_path):
    from posestack.lift.infer import lift
    from posestack.lift.train import export

    model = Lifter(width=32).eval()
    assert model(torch.zeros(2, 1, 17, 3)).shape == (2, 1, 17, 3)
    path = export(model, tmp_path / "l.onnx", {"note": "untrained"})
    rng = np.random.default_rng(0)
    xy = rng.uniform(400, 600, (20, 17, 2))
    scores = np.ones((20, 17))
    got = lift(path, xy, scores, 1000.0, (500.0, 500.0))
    uv = xy - 500.0
    x = (uv - uv[:, 11:13].mean(1, keepdims=True)) / 1000.0
    inp = torch.from_numpy(np.concatenate([x, scores[..., None]], -1)[None].astype(np.float32))
    with torch.no_grad():
        want = model(inp)[0].numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)
    xy[3, 11] = np.nan  # no hips: no 3D
    assert np.isnan(lift(path, xy, scores, 1000.0, (500.0, 500.0))[3]).all()


def test_a_short_training_learns_to_lift_generated_sequences():
    """300 steps of training (under a minute on 2 cores) take the held-out PA-MPJPE on
    generated sequences well below an untrained model's, whatever the machine's speed.
    (The shipped lifter had 1,404 steps: held-out PA-MPJPE 95 mm.)"""
    from posestack.evaluate import mpjpe
    from posestack.lift.train import _data, train

    xv, yv = _data(60, 4242)
    untrained = Lifter().eval()
    with torch.no_grad():
        base = 1000 * mpjpe(untrained(torch.from_numpy(xv)).numpy(), yv, "procrustes")
    model, figures = train(sequences=600, minutes=60, steps=300, seed=1, threads=2)
    assert figures["steps"] == 300
    with torch.no_grad():
        got = 1000 * mpjpe(model(torch.from_numpy(xv)).numpy(), yv, "procrustes")
    assert got < 0.75 * base and got < 200, (got, base)


def test_a_high_frame_rate_is_lifted_at_the_trained_rate(tmp_path):
    """At 60 frames/s the even and the odd frames are lifted as two 30 frames/s
    sequences, interleaved back."""
    from posestack.lift.infer import lift
    from posestack.lift.train import export

    torch.manual_seed(0)
    path = export(Lifter(width=32).eval(), tmp_path / "l.onnx", {})
    rng = np.random.default_rng(1)
    xy = 500 + np.cumsum(rng.normal(0, 2, (40, 17, 2)), axis=0)
    scores = np.ones((40, 17))
    at60 = lift(path, xy, scores, 1000.0, (500.0, 500.0), fps=60.0)
    even = lift(path, xy[0::2], scores[0::2], 1000.0, (500.0, 500.0), fps=30.0)
    odd = lift(path, xy[1::2], scores[1::2], 1000.0, (500.0, 500.0), fps=30.0)
    np.testing.assert_allclose(at60[0::2], even, atol=1e-6)
    np.testing.assert_allclose(at60[1::2], odd, atol=1e-6)
    assert not np.allclose(at60, lift(path, xy, scores, 1000.0, (500.0, 500.0), fps=30.0))


def test_a_wrong_lifter_is_refused_before_any_work(tmp_path, sports2d_video, capsys):
    from posestack import assets
    from posestack.cli import main

    out = tmp_path / "out"
    cases = {
        tmp_path / "none.onnx": "not found",
        tmp_path: "is a folder",
        Path(__file__): "not an ONNX model",
        assets.path("blazepose_landmark_full"): "not an ONNX model",  # a .tflite
    }
    # an ONNX model of another kind: the bundled marker augmenter
    aug = next(assets.path("marker_augmenter").rglob("*.onnx"), None)
    if aug is not None:
        cases[aug] = "not a posestack lifter"
    # the lifter's input, but (batch, frames, 17) out: refused before the 2D, not after
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Constant", [], ["axes"], value=helper.make_tensor(
            "a", TensorProto.INT64, [1], [3])),
         helper.make_node("ReduceSum", ["keypoints", "axes"], ["xyz"], keepdims=0)],
        "wrong", [helper.make_tensor_value_info("keypoints", TensorProto.FLOAT,
                                                ["b", "t", 17, 3])],
        [helper.make_tensor_value_info("xyz", TensorProto.FLOAT, ["b", "t", 17])])
    wrong = tmp_path / "wrong_out.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), wrong)
    cases[wrong] = "not a posestack lifter"
    for model, message in cases.items():
        assert main(["run", str(sports2d_video), "-o", str(out), "--lifter", str(model),
                     "-q"]) == 2
        err = capsys.readouterr().err
        assert message in err and str(model.name) in err, err
        assert not out.exists() or not any(out.iterdir())


@pytest.mark.assets
def test_run_lift_on_the_sample_against_pose2sims_3d(tmp_path, p2s_videos, capsys):
    """Real data: `posestack run cam01.mp4 --lift` (the bundled lifter, the focal length
    guessed) scored against Pose2Sim's published 3D of the same trial (OpenPose, four
    cameras), which nobody here made."""
    import pyarrow.parquet as pq

    from posestack.cli import main
    from posestack.evaluate.keypoints import evaluate

    out = tmp_path / "out"
    assert main(["run", str(p2s_videos / "cam01.mp4"), "-o", str(out), "--lift", "--end",
                 "1.6", "--no-video", "--max-people", "1", "-q"]) == 0
    table = out / "cam01" / "keypoints3d_lifted.parquet"
    meta = pq.read_schema(table).metadata
    assert meta[b"posestack.space"] == b"camera:cam01"
    import json

    manifest = json.loads((out / "cam01" / "manifest.json").read_text())
    assert "focal length 1920 px" in manifest["conventions"]["keypoints3d_lifted"]
    ev = evaluate(table, Path(__file__).parents[1] / "benchmarks/data/pose2sim_demo/"
                  "pose2sim_filt_butterworth_0-100.trc")
    row = ev.rows[0]
    assert row["frames"] >= 90
    assert row["pa_mpjpe_mm"] < LIFT_PA_BOUND_MM, row
    assert any("camera's axes" in w for w in ev.warnings)
    capsys.readouterr()
    assert main(["run", str(p2s_videos / "cam01.mp4"), "-o", str(out), "--lift", "--end",
                 "1.6", "--no-video", "--max-people", "1", "-q"]) == 0
    assert "skipped" in capsys.readouterr().out
    import posestack

    (again,) = posestack.run(p2s_videos / "cam01.mp4", out, lift="posestack", end=1.6,
                             video=False, max_people=1, progress=False)
    assert again.skipped and again.lifted.coords.shape[1:] == (1, 17, 3)
    assert again.lifted.space == "camera:cam01"


def test_lift_with_a_hand_model_is_refused_before_any_work(tmp_path, sports2d_video, capsys):
    """An RTMPose hand model (21 keypoints) has no body to lift: refused once the model is
    loaded, before a frame is read, and nothing is written."""
    from posestack.cli import main

    from . import onnx_graphs as g

    hand = g.constant_simcc(tmp_path / "hand.onnx", np.zeros((21, 512), np.float32),
                            np.zeros((21, 512), np.float32), in_hw=(256, 256))
    out = tmp_path / "out"
    assert main(["run", str(sports2d_video), "-o", str(out), "--estimator", "rtmpose",
                 "--model", str(hand), "--lift", "-q"]) == 2
    assert "hand21 has none" in capsys.readouterr().err
    assert not (out / sports2d_video.stem / "manifest.json").exists()
