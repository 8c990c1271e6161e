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
from posestack.multiview.calibration import Camera  # noqa: E402
from posestack.poses import Poses  # noqa: E402
from posestack.skeletons import get_skeleton  # noqa: E402


@pytest.fixture(scope="module")
def body():
    torch.set_num_threads(2)
    return AnnyBody()


def synthetic(body, frames=12, seed=0):
    """A random plausible shape and a smooth motion of every fitted bone, within the
    model's joint limits (each component oscillates inside its range)."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 30
    pose = np.zeros((frames, len(FIT_BONES), 3))
    for j, b in enumerate(FIT_BONES):
        big = any(k in b for k in ("upperleg01", "lowerleg01", "upperarm01", "lowerarm01"))
        lim = body.limits[b]
        lo, hi, F = np.asarray(lim.lo), np.asarray(lim.hi), np.asarray(lim.frame)
        a = np.zeros((frames, 3))
        for i in range(3):
            amp = min((0.35 if big else 0.1) * rng.uniform(0.3, 1), (hi[i] - lo[i]) / 2)
            c = np.clip(0.0, lo[i] + amp, hi[i] - amp)
            a[:, i] = c + amp * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * t
                                       + rng.uniform(0, 2 * np.pi))
        pose[:, j] = a @ F.T
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
    assert out["keypoints"].shape == (2, 65, 3) and out["joints"].shape == (2, 104, 3)
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


def pa_aligned(a, b):
    """``a (N, 3)`` after the similarity transform that best maps it onto ``b``."""
    ma, mb = a.mean(0), b.mean(0)
    U, S, Vt = np.linalg.svd((a - ma).T @ (b - mb))
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))])
    R = (U @ D @ Vt).T
    s = (S * np.diag(D)).sum() / ((a - ma) ** 2).sum()
    return s * (a - ma) @ R.T + mb


def front_camera(distance=3.5):
    """A 1280x720 camera ``distance`` m in front of the body (which faces -Y), Z up."""
    R = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    C = np.array([0.2, -distance, 0.9])
    K = np.array([[1000.0, 0, 640], [0, 1000, 360], [0, 0, 1]])
    return Camera("front", K, np.array([0.05, -0.02, 0, 0, 0]), R, -R @ C, (1280, 720))


def test_keypoints_without_mesh_match_the_mesh(body):
    """The fitter's fast path (65 skinned points) equals the regressor on the mesh."""
    truth, out, _ = synthetic(body, frames=3, seed=5)
    f32 = torch.float32
    o = body.forward_torch(*(torch.as_tensor(x, dtype=f32) for x in (
        truth.shape, truth.pose, truth.global_orient, truth.transl)))
    coco = body.regressor(o).numpy()
    assert np.abs(o["keypoints"].numpy()[:, :23] - coco).max() < 1e-4
    for name, v in body.tip_vertex.items():
        k = KEYPOINT_NAMES.index(name)
        assert np.abs(o["keypoints"].numpy()[:, k] - o["vertices"].numpy()[:, v]).max() < 1e-5
    # hand points lie on the hand: within 12 cm of the wrist, tips further than knuckles
    kp = dict(zip(KEYPOINT_NAMES, out["keypoints"][0], strict=True))
    for side in ("left", "right"):
        root = kp[f"{side}_hand_root"]
        assert np.linalg.norm(root - kp[f"{side}_wrist"]) < 0.03
        for f in ("thumb", "forefinger", "middle_finger", "ring_finger", "pinky_finger"):
            tip, knuckle = kp[f"{side}_{f}4"], kp[f"{side}_{f}1"]
            assert np.linalg.norm(tip - root) < 0.22
            assert np.linalg.norm(tip - root) > np.linalg.norm(knuckle - root)


def test_2d_known_camera(body):
    """2D keypoints of a known (distorting) camera: joint error after similarity
    alignment <= 40 mm (issue 6); the reprojection error is sub-pixel."""
    _, out, t = synthetic(body, frames=12, seed=0)
    p3 = as_poses(out["keypoints"], t)
    cam = front_camera()
    for noise_px, bound in ((0.0, 0.040), (2.0, 0.040)):
        uv = cam.project(p3.coords.astype(float))
        uv = uv + np.random.default_rng(4).normal(0, noise_px, uv.shape)
        p2 = Poses(p3.skeleton, uv, p3.scores, p3.times, "image:front")
        fit = fit_body(p2, camera=cam, body=body, iterations=200)
        assert fit.residual_unit == "px"
        if noise_px == 0:
            assert np.nanmean(fit.residuals) < 1.5, np.nanmean(fit.residuals)
        idx = [p3.skeleton.index(n) for n in KEYPOINT_NAMES[:23]]
        err = np.mean([np.linalg.norm(pa_aligned(fit.keypoints[i, idx], out["keypoints"][i, :23])
                                      - out["keypoints"][i, :23], axis=-1).mean()
                       for i in range(len(t))])
        assert err < bound, (noise_px, err)


def side_camera(distance=3.5):
    """The front camera's twin on the body's left (+X), looking at it along -X."""
    R = np.array([[0, 1.0, 0], [0, 0, -1.0], [-1.0, 0, 0]])
    C = np.array([distance, 0.3, 0.9])
    return Camera("side", front_camera().K, np.zeros(5), R, -R @ C, (1280, 720))


def test_2d_several_known_cameras(body):
    """2D keypoints of two calibrated cameras: depth and size are observed, so the joints
    come back within 15 mm with no alignment at all (one view: ~1.5 m off in depth)."""

    _, out, t = synthetic(body, frames=12, seed=0)
    p3 = as_poses(out["keypoints"], t)
    cams = [front_camera(), side_camera()]
    views = [Poses(p3.skeleton, c.project(p3.coords.astype(float)), p3.scores, p3.times,
                   f"image:{c.name}") for c in cams]
    fit = fit_body(views, camera=cams, body=body, iterations=200)
    idx = [p3.skeleton.index(n) for n in KEYPOINT_NAMES[:23]]
    err = np.linalg.norm(fit.keypoints[:, idx] - out["keypoints"][:, :23], axis=-1).mean()
    assert err < 0.015, err
    assert np.nanmean(fit.residuals) < 1.5 and fit.residual_unit == "px"
    with pytest.raises(InputError, match="as many cameras"):
        fit_body(views, camera=cams[:1], body=body)
    short = Poses(p3.skeleton, views[1].coords[:6], p3.scores[:6], p3.times[:6], "image:side")
    with pytest.raises(InputError, match="synchronised"):
        fit_body([views[0], short], camera=cams, body=body)


def test_2d_estimated_camera(body):
    """Without a camera, one is estimated from the image size; the body lands in front."""
    _, out, t = synthetic(body, frames=6, seed=7)
    p3 = as_poses(out["keypoints"], t)
    uv = front_camera().project(p3.coords.astype(float))
    p2 = Poses(p3.skeleton, uv, p3.scores, p3.times, "image:front")
    fit = fit_body(p2, image_size=(1280, 720), body=body, iterations=120, confidence=False)
    assert fit.camera.name == "estimated" and fit.camera.size == (1280, 720)
    assert np.nanmean(fit.residuals) < 5.0
    assert (fit.vertices[..., 2] > 1.0).all()     # the camera's frame: in front, +Z
    head, ankle = (p3.skeleton.index(n) for n in ("nose", "left_ankle"))
    assert (fit.keypoints[:, head, 1] < fit.keypoints[:, ankle, 1]).all()   # y down


def test_uncertainty_rises_where_keypoints_are_missing(body):
    """POCO-style confidence: hiding the left arm for 5 frames raises its wrist's
    uncertainty at least twofold there, leaves the right wrist alone, and the
    uncertainty is of the order of the true error."""
    _, out, t = synthetic(body, frames=16, seed=2)
    p3 = as_poses(out["keypoints"], t, noise=0.01)
    sk = p3.skeleton
    arm = [i for i, n in enumerate(sk.keypoints) if n.startswith("left_")
           and any(k in n for k in ("elbow", "wrist", "hand", "thumb", "finger"))]
    xyz, sc = p3.coords.copy(), p3.scores.copy()
    xyz[5:10, 0, arm], sc[5:10, 0, arm] = np.nan, 0
    fit = fit_body(Poses(sk, xyz, sc, p3.times, "world"), body=body, iterations=200)
    lw, rw = sk.index("left_wrist"), sk.index("right_wrist")
    u = fit.uncertainty
    gap, rest = slice(5, 10), np.r_[0:5, 10:16]
    assert u[gap, lw].min() > 2 * u[rest, lw].max(), u[:, lw]
    assert u[gap, rw].max() < 1.2 * u[rest, rw].min()
    assert fit.frame_uncertainty[gap].min() > fit.frame_uncertainty[rest].max()
    err = np.linalg.norm(fit.keypoints[:, lw] - out["keypoints"][:, KEYPOINT_NAMES.index(
        "left_wrist")], axis=-1)
    assert 0.3 < err[gap].mean() / u[gap, lw].mean() < 3
    assert np.isnan(fit.uncertainty[:, sk.index("left_eye")]).sum() == 0


def test_joint_limits_keep_knees_from_hyperextending(body):
    """Keypoints of a knee bent 0.5 rad backwards: with limits the fit stays within
    the knee's range (it cannot follow); without limits it follows."""
    truth = BodyParams.rest(4)
    k = FIT_BONES.index("lowerleg01.L")
    truth.pose[:, k, 0] = -0.5
    truth.transl[:, 2] = 0.95
    out = body(truth)
    t = np.arange(4) / 30
    p3 = as_poses(out["keypoints"], t)
    on = fit_body(p3, body=body, iterations=150, confidence=False)
    off = fit_body(p3, body=body, iterations=150, limits=0.0, confidence=False)
    lim = body.limits["lowerleg01.L"]
    flex = lambda f: (f.params.pose[:, k] @ np.asarray(lim.frame))[:, 0]  # noqa: E731
    assert flex(on).min() > lim.lo[0] - 0.06, flex(on)
    assert flex(off).max() < -0.3, flex(off)


def test_bad_input(body):
    sk = get_skeleton("coco17")
    two_d = Poses(sk, np.zeros((3, 1, 17, 2)), np.ones((3, 1, 17)), np.arange(3) / 30,
                  "image:c")
    with pytest.raises(InputError, match="camera"):
        fit_body(two_d, body=body)
    hands = Poses("hand21", np.zeros((3, 1, 21, 3)), np.ones((3, 1, 21)), np.arange(3) / 30,
                  "world")
    with pytest.raises(InputError, match="left_hip"):
        fit_body(hands, body=body)
    three_d = Poses(sk, np.zeros((3, 1, 17, 3)), np.ones((3, 1, 17)), np.arange(3) / 30,
                    "world")
    for kw in ({"iterations": -1}, {"smooth": float("nan")}, {"robust": "x"}):
        with pytest.raises(InputError):
            fit_body(three_d, body=body, **kw)
    with pytest.raises(InputError, match="person"):
        fit_body(three_d, 3, body=body)
    with pytest.raises(InputError, match="image size"):
        fit_body(two_d, image_size=(0, 10), body=body)
    with pytest.raises(InputError, match="NaN"):
        write_obj("/tmp/never.obj", np.full((3, 3), np.nan), np.array([[0, 1, 2]]))


def test_uncertainty_windows_cover_every_frame_once():
    """Long sequences are handled in overlapping windows; each frame is kept from exactly
    one window, and that window extends past it (unless at the sequence's ends)."""
    from posestack.body.fit import _windows

    for T in (1, 50, 120, 121, 300, 1001):
        kept = np.concatenate([keep for _, _, keep in _windows(T)])
        assert np.array_equal(np.sort(kept), np.arange(T)), T
        for a, b, keep in _windows(T):
            assert a <= keep[0] and keep[-1] < b
            assert a == 0 or keep[0] - a >= 15
            assert b == T or b - 1 - keep[-1] >= 15
