"""posestack.body: Anny fitted to its own synthetic keypoints (known truth)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("anny")
torch = pytest.importorskip("torch")

from posestack.body import (  # noqa: E402
    FIT_BONES,
    KEYPOINT_NAMES,
    AnnyBody,
    BodyParams,
    fit_body,
    write_body_npz,
    write_obj,
)
from posestack.errors import InputError  # noqa: E402
from posestack.poses import Poses  # noqa: E402
from posestack.skeletons import get_skeleton  # noqa: E402


@pytest.fixture(scope="module")
def body():
    torch.set_num_threads(2)
    return AnnyBody()


def synthetic(body, frames=12, seed=0):
    """A random plausible shape and a smooth motion of every fitted bone."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 30
    pose = np.zeros((frames, len(FIT_BONES), 3))
    for j, b in enumerate(FIT_BONES):
        big = any(k in b for k in ("upperleg01", "lowerleg01", "upperarm01", "lowerarm01"))
        for a in range(3):
            pose[:, j, a] = (0.35 if big else 0.1) * rng.uniform(0.3, 1) * np.sin(
                2 * np.pi * rng.uniform(0.3, 1.0) * t + rng.uniform(0, 2 * np.pi))
    orient = np.zeros((frames, 3))
    orient[:, 2] = 0.5 * t + rng.uniform(-np.pi, np.pi)
    transl = np.stack([0.5 * t, 0.1 * t, 0.95 + 0 * t], 1)
    truth = BodyParams(rng.uniform(0.25, 0.75, 6), pose, orient, transl)
    return truth, body(truth), t


def as_poses(keypoints, t, noise=0.0, missing=0.0, seed=1):
    rng = np.random.default_rng(seed)
    sk = get_skeleton("coco_wholebody133")
    T = keypoints.shape[0]
    xyz = np.full((T, 1, len(sk), 3), np.nan)
    for i, n in enumerate(KEYPOINT_NAMES):
        xyz[:, 0, sk.index(n)] = keypoints[:, i] + rng.normal(0, noise, (T, 3))
    gone = rng.random((T, len(sk))) < missing
    for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder"):
        gone[:, sk.index(n)] = False    # keep the torso (the initialisation needs it)
    xyz[:, 0][gone] = np.nan
    scores = np.isfinite(xyz[..., 0]).astype(np.float32)
    return Poses(sk, xyz, scores, t, "world")


def test_model_outputs(body):
    out = body(BodyParams.rest(2))
    T, V = out["vertices"].shape[:2]
    assert T == 2 and V > 10000 and body.faces.max() < V
    assert out["keypoints"].shape == (2, 23, 3) and out["joints"].shape == (2, 104, 3)
    kp = dict(zip(KEYPOINT_NAMES, out["keypoints"][0], strict=True))
    # Z up, standing: head above hips above ankles; left on +X (facing -Y)
    assert kp["nose"][2] > kp["left_hip"][2] > kp["left_ankle"][2]
    assert kp["left_hip"][0] > kp["right_hip"][0]
    height = np.ptp(out["vertices"][0, :, 2])
    assert 1.4 < height < 2.0
    with pytest.raises(InputError, match="phenotype"):
        body(BodyParams(np.full(6, 2.0), np.zeros((1, len(FIT_BONES), 3)), np.zeros((1, 3)),
                        np.zeros((1, 3))))


def test_recovers_exact_keypoints(body, tmp_path):
    """Exact 3D keypoints: mean vertex error <= 10 mm (issue 6)."""
    truth, out, t = synthetic(body)
    fit = fit_body(as_poses(out["keypoints"], t), body=body, iterations=200)
    verr = np.linalg.norm(fit.vertices - out["vertices"], axis=-1).mean()
    assert verr < 0.010, verr
    assert np.nanmean(fit.residuals) < 0.005
    assert np.abs(fit.params.phenotype - truth.phenotype).max() < 0.5
    # outputs
    p = write_body_npz(tmp_path / "body.npz", fit)
    z = np.load(p)
    assert z["vertices"].shape == out["vertices"].shape and z["faces"].shape[1] == 3
    assert z["keypoints"].shape == (len(t), 133, 3) and str(z["layout"]) == "coco_wholebody133"
    obj = write_obj(tmp_path / "f0.obj", fit.vertices[0], fit.faces)
    lines = obj.read_text().splitlines()
    assert sum(ln.startswith("v ") for ln in lines) == out["vertices"].shape[1]


def test_recovers_noisy_missing_keypoints(body):
    """1 cm noise and 10% missing: mean vertex error <= 30 mm (issue 6)."""
    _, out, t = synthetic(body, seed=3)
    fit = fit_body(as_poses(out["keypoints"], t, noise=0.01, missing=0.1), body=body,
                   iterations=200)
    verr = np.linalg.norm(fit.vertices - out["vertices"], axis=-1).mean()
    assert verr < 0.030, verr


def test_bad_input(body):
    sk = get_skeleton("coco17")
    two_d = Poses(sk, np.zeros((3, 1, 17, 2)), np.ones((3, 1, 17)), np.arange(3) / 30,
                  "image:c")
    with pytest.raises(InputError, match="3D"):
        fit_body(two_d, body=body)
    hands = Poses("hand21", np.zeros((3, 1, 21, 3)), np.ones((3, 1, 21)), np.arange(3) / 30,
                  "world")
    with pytest.raises(InputError, match="left_hip"):
        fit_body(hands, body=body)
