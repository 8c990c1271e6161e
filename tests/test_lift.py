"""The lifter's generated training data, its model, its ONNX export and a short training."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from posestack.lift.model import Lifter  # noqa: E402
from posestack.lift.synthetic import sample_motions, view  # noqa: E402


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
    """45 s of training (about 300 steps on 2 cores) take the held-out PA-MPJPE on
    generated sequences well below an untrained model's. (Eight minutes reach 80 mm,
    the figure the README and benchmarks/bench_monocular3d.py report.)"""
    from posestack.evaluate import mpjpe
    from posestack.lift.train import _data, train

    xv, yv = _data(60, 4242)
    untrained = Lifter().eval()
    with torch.no_grad():
        base = 1000 * mpjpe(untrained(torch.from_numpy(xv)).numpy(), yv, "procrustes")
    model, figures = train(sequences=600, minutes=0.75, seed=1)
    assert figures["steps"] > 30
    with torch.no_grad():
        got = 1000 * mpjpe(model(torch.from_numpy(xv)).numpy(), yv, "procrustes")
    assert got < 0.75 * base and got < 200, (got, base)
