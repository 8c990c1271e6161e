"""posestack.body.smpl_body: SMPL, SMPL-H, SMPL-X and MANO through smplx, on small synthetic
model files of the real structure (the real files need a registration).

The synthetic models have the real vertex and joint counts, joint trees and file keys, a
T-pose skeleton in SMPL's axes (Y up, facing +Z, left +X), vertices strewn along the bones
and skinned to them (blending with the parent joint near each joint), the keypoint vertices
smplx names (nose, toes, fingertips ...) placed where they belong, smooth random shape
directions and sparse small pose correctives.
"""

from __future__ import annotations

import os
import pickle
import sys
import time
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("roma")
smplx = pytest.importorskip("smplx")

from posestack.body import BodyParams, fit_body  # noqa: E402
from posestack.body.smpl_body import (  # noqa: E402
    _PARENTS,
    JOINTS,
    KINDS,
    SMPLBody,
    keypoints_of,
)
from posestack.errors import AssetError, InputError  # noqa: E402
from posestack.poses import Poses  # noqa: E402
from posestack.skeletons import get_skeleton  # noqa: E402

SIZES = {"smpl": 6890, "smplh": 6890, "smplx": 10475, "mano": 778}
N_BETAS = {"smpl": 10, "smplh": 16, "smplx": 20, "mano": 10}

# -- a synthetic model ---------------------------------------------------------------------

BODY = {
    "pelvis": (0, 0.95, 0), "left_hip": (0.09, 0.87, 0), "right_hip": (-0.09, 0.87, 0),
    "spine1": (0, 1.05, -0.01), "left_knee": (0.10, 0.48, 0.01),
    "right_knee": (-0.10, 0.48, 0.01), "spine2": (0, 1.18, 0), "left_ankle": (0.11, 0.08, -0.02),
    "right_ankle": (-0.11, 0.08, -0.02), "spine3": (0, 1.26, 0.01),
    "left_foot": (0.12, 0.02, 0.10), "right_foot": (-0.12, 0.02, 0.10), "neck": (0, 1.45, -0.01),
    "left_collar": (0.07, 1.38, 0), "right_collar": (-0.07, 1.38, 0), "head": (0, 1.55, 0.02),
    "left_shoulder": (0.18, 1.40, -0.01), "right_shoulder": (-0.18, 1.40, -0.01),
    "left_elbow": (0.44, 1.40, -0.02), "right_elbow": (-0.44, 1.40, -0.02),
    "left_wrist": (0.70, 1.40, -0.01), "right_wrist": (-0.70, 1.40, -0.01),
    "left_hand": (0.78, 1.39, -0.01), "right_hand": (-0.78, 1.39, -0.01),
    "jaw": (0, 1.52, 0.04), "left_eyeball": (0.03, 1.62, 0.08),
    "right_eyeball": (-0.03, 1.62, 0.08),
}
# left hand, relative to the wrist (fingers along +X, palm down)
KNUCKLE = {"index": (0.09, 0, 0.025), "middle": (0.095, 0, 0.005), "ring": (0.09, 0, -0.015),
           "pinky": (0.08, 0, -0.035), "thumb": (0.025, -0.01, 0.025)}
STEP = {"index": (0.035, 0, 0), "middle": (0.038, 0, 0), "ring": (0.035, 0, 0),
        "pinky": (0.028, 0, 0), "thumb": (0.022, -0.005, 0.018)}


def joint_positions(kind):
    """Rest joints ``(J, 3)`` of the synthetic ``kind`` and a leaf extent for each."""
    names = JOINTS[kind]
    pos = {}
    for n in names:
        if n in BODY:
            pos[n] = np.array(BODY[n], float)
            continue
        side, rest = n.split("_", 1)
        finger, i = rest[:-1], int(rest[-1])
        off = np.array(KNUCKLE[finger]) + (i - 1) * np.array(STEP[finger])
        pos[n] = np.array(BODY[f"{side}_wrist"]) + off * ((1, 1, 1) if side == "left"
                                                          else (-1, 1, 1))
    P = np.array([pos[n] for n in names])
    if kind == "mano":
        P = P - P[0]
    return names, P


def vec(*x):
    return np.array(x, float)


def leaf_end(name, p):
    """Where a leaf joint's segment ends."""
    side = -1.0 if name.startswith("right") else 1.0
    if name == "head":
        return p + vec(0, 0.2, 0)
    if name.endswith("_foot"):
        return p + vec(0, -0.01, 0.09)
    if name.endswith("_hand"):
        return p + vec(side * 0.12, 0, 0)
    if name == "jaw":
        return p + vec(0, -0.05, 0.06)
    if name.endswith("eyeball"):
        return p + vec(0, 0, 0.012)
    finger = name.split("_", 1)[1][:-1]
    return p + np.array(STEP[finger]) * (side, 1, 1) * 0.7


def make_model(kind, path, seed=0, fmt="npz"):
    """Write a synthetic model file of ``kind``; return its arrays."""
    from smplx.vertex_ids import vertex_ids

    rng = np.random.default_rng(seed)
    V = SIZES[kind]
    names, P = joint_positions(kind)
    J = len(names)
    parents = np.array(_PARENTS[kind])
    children = {j: [c for c in range(J) if parents[c] == j] for j in range(J)}
    ends = np.array([P[children[j]].mean(0) if children[j] else leaf_end(names[j], P[j])
                     for j in range(J)])
    finger = np.array(["_" in n and n.split("_", 1)[1][:-1] in KNUCKLE for n in names])
    radius = np.where(finger, 0.007, 0.045)
    radius[[i for i, n in enumerate(names) if "eyeball" in n]] = 0.01
    v = np.zeros((V, 3))
    W = np.zeros((V, J))
    seg = np.full(V, -1)

    def put(ids, j, t, jitter=True):
        """Vertices ``ids`` on joint j's segment at fractions ``t``."""
        ids = np.asarray(ids)
        t = np.asarray(t, float)
        d = ends[j] - P[j]
        off = rng.normal(0, 1, (len(ids), 3))
        off -= np.outer(off @ d, d) / max(d @ d, 1e-12)
        off /= np.linalg.norm(off, axis=1, keepdims=True) + 1e-12
        v[ids] = P[j] + t[:, None] * d + (radius[j] * off if jitter else 0)
        blend = np.clip(0.5 * (1 - t / 0.3), 0, 0.5) if parents[j] >= 0 else 0 * t
        W[ids] = 0
        W[ids, j] = 1 - blend
        if parents[j] >= 0:
            W[ids, parents[j]] += blend
        seg[ids] = j

    def at(i, j, p):
        v[i], W[i], seg[i] = p, 0, j
        W[i, j] = 1

    # the keypoint vertices smplx names
    special = {}
    ids = vertex_ids["mano" if kind == "mano" else ("smplx" if kind == "smplx" else "smplh")]
    if kind != "mano":
        head = names.index("head")
        H = P[head]
        eye = {s: names.index(f"{s}_eyeball") if kind == "smplx" else head for s in ("left",
                                                                                     "right")}
        special = {"nose": (head, H + vec(0, 0.06, 0.11)),
                   "leye": (eye["left"], H + vec(0.032, 0.075, 0.09)),
                   "reye": (eye["right"], H + vec(-0.032, 0.075, 0.09)),
                   "lear": (head, H + vec(0.075, 0.06, 0)),
                   "rear": (head, H + vec(-0.075, 0.06, 0))}
        for s, S in (("left", "L"), ("right", "R")):
            sx = 1 if s == "left" else -1
            F, A = names.index(f"{s}_foot"), names.index(f"{s}_ankle")
            special[f"{S}BigToe"] = (F, P[F] + (-0.02 * sx, -0.01, 0.07))
            special[f"{S}SmallToe"] = (F, P[F] + (0.04 * sx, -0.01, 0.05))
            special[f"{S}Heel"] = (A, P[A] + (0, -0.07, -0.06))
    if kind != "smpl":
        sides = ("right",) if kind == "mano" else ("left", "right")
        for s in sides:
            for f in KNUCKLE:
                j = names.index(f"{s}_{f}3")
                label = f if kind == "mano" else f"{s[0]}{f}"
                special[label] = (j, ends[j])
    for label, (j, p) in special.items():
        at(ids[label], j, p)
    taken = {int(ids[k]) for k in special}
    free = np.array([i for i in rng.permutation(V) if i not in taken])
    # joint regressor: six vertices around each joint, averaged
    Jreg = np.zeros((J, V))
    k = 0
    for j in range(J):
        r = 0.004 if finger[j] else 0.01
        for sgn in (1, -1):
            for a in range(3):
                i = free[k]
                k += 1
                e = np.zeros(3)
                e[a] = sgn * r
                at(i, parents[j] if parents[j] >= 0 else j, P[j] + e)
                Jreg[j, i] = 1 / 6
    # SMPL-X face landmarks: faces on the head (brows, nose, eyes) and the jaw (mouth)
    faces = []
    lmk_faces_idx = lmk_bary = None
    if kind == "smplx":
        head, jaw = names.index("head"), names.index("jaw")
        lmk = []
        for li in range(51):
            j = jaw if li >= 31 else head
            tri = free[k:k + 3]
            k += 3
            c = P[j] + ((li % 10) * 0.008 - 0.04, 0.03 if j == head else -0.01, 0.09)
            for i in tri:
                at(i, j, c + rng.normal(0, 0.004, 3))
            lmk.append(len(faces))
            faces.append(tri)
        lmk_faces_idx = np.array(lmk, np.int64)
        lmk_bary = rng.dirichlet((2, 2, 2), 51)
    rest = free[k:]
    # the other vertices, spread over the segments by length
    L = np.linalg.norm(ends - P, axis=1) + 0.02
    owner = rng.choice(J, len(rest), p=L / L.sum())
    for j in range(J):
        mine = rest[owner == j]
        if len(mine):
            put(mine, j, rng.uniform(0, 1, len(mine)))
            faces += list(mine[rng.integers(0, len(mine), (2 * len(mine), 3))])
    assert (seg >= 0).all()
    f = np.array(faces, np.int64)
    # shape: smooth random linear fields (~3 cm per unit at 1 m), a little noise
    S = N_BETAS[kind]
    c = v.mean(0)
    shapedirs = np.zeros((V, 3, S))
    for s in range(min(S, 10 if kind == "smplx" else S)):
        A = rng.normal(0, 0.03, (3, 3))
        shapedirs[:, :, s] = (v - c) @ A.T + rng.normal(0, 0.0005, (V, 3))
    # pose correctives: small, on a sparse set of vertices (smplx's posedirs layout)
    posedirs = np.zeros((V, 3, 9 * (J - 1)), np.float32)
    some = rng.choice(V, 300, replace=False)
    posedirs[some] = rng.normal(0, 0.002, (300, 3, 9 * (J - 1)))
    posedirs[list(taken)] = rng.normal(0, 0.002, (len(taken), 3, 9 * (J - 1)))
    kin = np.stack([parents, np.arange(J)]).astype(np.int64)
    kin[0, 0] = 4294967295            # as in the real files (uint32 -1)
    arrays = {"v_template": v, "shapedirs": shapedirs, "posedirs": posedirs,
              "J_regressor": Jreg, "weights": W, "kintree_table": kin, "f": f}
    if kind in ("smplh", "smplx"):
        for s in "lr":
            arrays[f"hands_components{s}"] = rng.normal(0, 1, (45, 45))
            arrays[f"hands_mean{s}"] = rng.normal(0, 0.1, 45)
    if kind == "mano":
        arrays["hands_components"] = rng.normal(0, 1, (45, 45))
        arrays["hands_mean"] = rng.normal(0, 0.1, 45)
    if kind == "smplx":
        arrays["lmk_faces_idx"] = lmk_faces_idx
        arrays["lmk_bary_coords"] = lmk_bary
    if fmt == "npz":
        np.savez_compressed(path, **arrays)
    return arrays


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("smpl_models")
    out = {}
    for kind in KINDS:
        name = {"smpl": "SMPL_NEUTRAL", "smplh": "SMPLH_NEUTRAL", "smplx": "SMPLX_NEUTRAL",
                "mano": "MANO_RIGHT"}[kind]
        out[kind] = d / f"{name}.npz"
        make_model(kind, out[kind], seed=KINDS.index(kind))
    return out


@pytest.fixture(scope="module")
def bodies(model_files):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)     # small problems: extra threads only contend
    yield {k: SMPLBody(p, kind=k) for k, p in model_files.items()}
    torch.set_num_threads(threads)


def f32(*xs):
    return [torch.as_tensor(np.asarray(x), dtype=torch.float32) for x in xs]


def random_params(body, frames, rng, amp=0.3):
    pose = rng.normal(0, amp, (frames, len(body.pose_bones), 3))
    return BodyParams(rng.normal(0, 0.5, len(body.shape_names)), pose,
                      rng.normal(0, 0.5, (frames, 3)), rng.normal(0, 0.3, (frames, 3)))


# -- tests -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_loads_each_kind(bodies, kind):
    body = bodies[kind]
    V = SIZES[kind]
    J = {"smpl": 24, "smplh": 52, "smplx": 55, "mano": 16}[kind]
    bones = {"smpl": 23, "smplh": 51, "smplx": 52, "mano": 15}[kind]
    K = {"smpl": 25, "smplh": 65, "smplx": 116, "mano": 21}[kind]
    assert body.name == kind and body.up == "y" and body.shape_bounds is None
    assert len(body.joint_names) == J and len(body.pose_bones) == bones
    assert len(body.keypoint_names) == K and body.keypoint_names == keypoints_of(kind)
    assert set(body.keypoint_names) <= set(get_skeleton("coco_wholebody133").keypoints)
    assert body.shape_names == tuple(f"beta{i}" for i in range(10))
    assert body.faces.dtype == np.int64 and body.faces.shape[1] == 3 and body.faces.max() < V
    rng = np.random.default_rng(1)
    p = random_params(body, 3, rng)
    out = body(p)
    assert out["vertices"].shape == (3, V, 3) and out["joints"].shape == (3, J, 3)
    assert out["keypoints"].shape == (3, K, 3)
    # the fitter's path (joints and the keypoints' vertices only) equals smplx's mesh
    with torch.no_grad():
        fast = body.forward_torch(*f32(p.shape, p.pose, p.global_orient, p.transl), mesh=False)
    assert np.abs(fast["keypoints"].numpy() - out["keypoints"]).max() < 2e-5
    assert np.abs(fast["joints"].numpy() - out["joints"]).max() < 2e-5
    # vertex keypoints are the named vertices; joint keypoints the joints
    from smplx.vertex_ids import vertex_ids
    ids = vertex_ids["mano" if kind == "mano" else ("smplx" if kind == "smplx" else "smplh")]
    for name, (src, key) in body.keypoint_sources.items():
        k = body.keypoint_names.index(name)
        if src == "vertex":
            ref = out["vertices"][:, ids[key]]
        elif src == "joint":
            ref = out["joints"][:, body.joint_names.index(key)]
        else:
            continue
        assert np.abs(out["keypoints"][:, k] - ref).max() < 1e-5, name
    # batching over frames: a frame alone gives the same result
    one = body(p.slice(1, 2))
    assert np.abs(one["vertices"][0] - out["vertices"][1]).max() < 1e-5


def test_smplx_landmarks_match_smplx(bodies):
    """face_17..face_67 are smplx's own landmark output (joints 76..126 of its layer)."""
    body = bodies["smplx"]
    p = random_params(body, 2, np.random.default_rng(2))
    out = body(p)
    with torch.no_grad():
        rot = body.rotations(*f32(p.pose, p.global_orient))
        o = body.layer(betas=f32(p.shape)[0][None].expand(2, -1), global_orient=rot[:, :1],
                       body_pose=rot[:, 1:22], jaw_pose=rot[:, 22:23], leye_pose=rot[:, 23:24],
                       reye_pose=rot[:, 24:25], left_hand_pose=rot[:, 25:40],
                       right_hand_pose=rot[:, 40:55], transl=f32(p.transl)[0])
    lm = o.joints[:, 76:127].numpy()
    k = [body.keypoint_names.index(f"face_{i}") for i in range(17, 68)]
    assert np.abs(out["keypoints"][:, k] - lm).max() < 1e-5


def test_axes_and_hinges(bodies):
    """Y up, facing +Z, left on +X; the knee flexes about +X (the ankle goes back) and the
    left elbow about -Y (the wrist comes forward), as the joint limits assume."""
    body = bodies["smpl"]
    rest = body(body.rest_params(1))["keypoints"][0]
    kp = dict(zip(body.keypoint_names, rest, strict=True))
    assert kp["nose"][1] > kp["left_hip"][1] > kp["left_ankle"][1]
    assert kp["left_hip"][0] > kp["right_hip"][0] and kp["nose"][2] > kp["left_ear"][2]
    assert kp["left_big_toe"][2] > kp["left_heel"][2]
    p = body.rest_params(1)
    b = body.pose_bones
    for joint, angle in (("left_knee", 1.0), ("left_elbow", 1.0), ("right_elbow", 1.0)):
        # a flexion: the first axis of the limit's frame
        p.pose[0, b.index(joint)] = angle * np.asarray(body.limits[joint].frame)[:, 0]
    bent = dict(zip(body.keypoint_names, body(p)["keypoints"][0], strict=True))
    assert bent["left_ankle"][2] < kp["left_ankle"][2] - 0.2
    assert bent["left_wrist"][2] > kp["left_wrist"][2] + 0.15
    assert bent["right_wrist"][2] > kp["right_wrist"][2] + 0.15


def smooth_truth(body, frames, seed):
    """Small random betas and a smooth motion of every fitted joint inside the limits."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 30
    pose = np.zeros((frames, len(body.pose_bones), 3))
    big = ("hip", "knee", "shoulder", "elbow")
    for j, bname in enumerate(body.pose_bones):
        lim = body.limits.get(bname)
        F = np.asarray(lim.frame) if lim else np.eye(3)
        lo = np.asarray(lim.lo) if lim else np.full(3, -1.0)
        hi = np.asarray(lim.hi) if lim else np.full(3, 1.0)
        a = np.zeros((frames, 3))
        for i in range(3):
            amp = min((0.35 if any(k in bname for k in big) else 0.12) * rng.uniform(0.3, 1),
                      (hi[i] - lo[i]) / 2)
            c = np.clip(0.0, lo[i] + amp, hi[i] - amp)
            a[:, i] = c + amp * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * t
                                       + rng.uniform(0, 2 * np.pi))
        pose[:, j] = a @ F.T
    orient = np.zeros((frames, 3))
    orient[:, 1] = 0.5 * t + rng.uniform(-np.pi, np.pi)     # turning about Y (up)
    transl = np.stack([0.5 * t, 0.02 * t, 0.1 * t], 1)
    truth = BodyParams(rng.normal(0, 0.5, len(body.shape_names)), pose, orient, transl)
    return truth, body(truth), t


def as_poses(body, keypoints, t):
    """Model keypoints (Y up) as COCO-WholeBody world poses (Z up)."""
    sk = get_skeleton("coco_wholebody133")
    T = keypoints.shape[0]
    xyz = np.full((T, 1, len(sk), 3), np.nan)
    to_world = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])   # (x, y, z) -> (x, -z, y)
    for i, n in enumerate(body.keypoint_names):
        xyz[:, 0, sk.index(n)] = keypoints[:, i] @ to_world.T
    scores = np.isfinite(xyz[..., 0]).astype(np.float32)
    return Poses(sk, xyz, scores, t, "world"), to_world


@pytest.mark.parametrize("kind", ["smpl", "smplx"])
def test_fit_recovers_known_truth(bodies, kind):
    """Exact keypoints of a known shape and motion: the fit's keypoints are within 5 mm of
    the input on average (SMPL-X's 51 face and 42 hand points weigh in that mean; its COCO
    body points alone: within 25 mm) and its mesh within 15 mm (mean vertex error) of the
    truth.

    With fit_body's default ``shape_prior`` (1e-5 m² per unit²; 1e-3 shrank these betas
    about fourfold: keypoints ~12 mm, vertices ~17 mm). What remains is the pose prior's
    pull on every bone (the truth moves all of them)."""
    body = bodies[kind]
    _, out, t = smooth_truth(body, 12, seed=3)
    poses, to_world = as_poses(body, out["keypoints"], t)
    t0 = time.perf_counter()
    fit = fit_body(poses, body=body, iterations=250)
    secs = time.perf_counter() - t0
    kerr = np.nanmean(fit.residuals)
    coco = [poses.skeleton.index(n) for n in get_skeleton("coco17").keypoints]
    berr = np.nanmean(fit.residuals[:, coco])
    verr = np.linalg.norm(fit.vertices - out["vertices"] @ to_world.T, axis=-1).mean()
    print(f"{kind}: keypoints {kerr * 1000:.2f} mm (COCO-17 {berr * 1000:.2f} mm), vertices "
          f"{verr * 1000:.2f} mm, {secs:.1f} s")
    assert kerr < 0.005, kerr
    assert berr < 0.025, berr
    assert verr < 0.015, verr
    assert fit.vertices.shape == out["vertices"].shape and fit.model == kind
    assert np.isfinite(fit.uncertainty[:, coco]).all()


def test_missing_and_wrong_files(model_files, tmp_path):
    with pytest.raises(AssetError, match=r"not found.*smpl-x\.is\.tue\.mpg\.de"):
        SMPLBody(tmp_path / "nope.npz", kind="smplx")
    with pytest.raises(AssetError, match=r"is a MANO model file.*kind='mano'"):
        SMPLBody(model_files["mano"], kind="smplx")
    with pytest.raises(AssetError, match=r"is a SMPL-X model file.*kind='smplx'"):
        SMPLBody(model_files["smplx"], kind="smplh")
    with pytest.raises(AssetError, match="is a SMPL model file"):
        SMPLBody(model_files["smpl"], kind="smplh")
    z = dict(np.load(model_files["smpl"]))
    del z["J_regressor"]
    np.savez(tmp_path / "no_jreg.npz", **z)
    with pytest.raises(AssetError, match="lacks J_regressor"):
        SMPLBody(tmp_path / "no_jreg.npz", kind="smpl")
    z = dict(np.load(model_files["smplx"]))
    del z["lmk_faces_idx"]
    np.savez(tmp_path / "no_lmk.npz", **z)
    with pytest.raises(AssetError, match="lacks lmk_faces_idx"):
        SMPLBody(tmp_path / "no_lmk.npz", kind="smplx")
    z = dict(np.load(model_files["smpl"]))
    z["kintree_table"] = z["kintree_table"][:, ::-1].copy()
    np.savez(tmp_path / "tree.npz", **z)
    with pytest.raises(AssetError, match="joint tree"):
        SMPLBody(tmp_path / "tree.npz", kind="smpl")
    z = dict(np.load(model_files["smpl"]))
    z["weights"] = z["weights"][:, :10]
    np.savez(tmp_path / "weights.npz", **z)
    with pytest.raises(AssetError, match="'weights' has shape"):
        SMPLBody(tmp_path / "weights.npz", kind="smpl")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(AssetError, match="cannot read"):
        SMPLBody(tmp_path / "junk.npz", kind="smpl")
    (tmp_path / "model.obj").write_text("v 0 0 0\n")
    with pytest.raises(AssetError, match=r"\.npz or \.pkl"):
        SMPLBody(tmp_path / "model.obj", kind="smpl")
    with pytest.raises(AssetError, match="no SMPL-H model file in"):
        SMPLBody(tmp_path, kind="smplh")
    with pytest.raises(InputError, match="kind"):
        SMPLBody(model_files["smpl"], kind="smpl-x")
    with pytest.raises(InputError, match="gender"):
        SMPLBody(model_files["smpl"], gender="other")
    with pytest.raises(InputError, match="num_betas"):
        SMPLBody(model_files["smpl"], num_betas=0)
    with pytest.raises(InputError, match="is_rhand=True"):
        SMPLBody(model_files["mano"], kind="mano", is_rhand=False)


def test_folder_and_fewer_betas(model_files):
    """A folder with smplx's file names works; num_betas picks the first betas."""
    body = SMPLBody(model_files["smplh"].parent, kind="smplh", num_betas=4)
    assert body.path == model_files["smplh"] and body.shape_names[-1] == "beta3"
    out = body(body.rest_params(2))
    assert out["vertices"].shape == (2, 6890, 3)


class _FakeCh:
    """Pickles like a chumpy ``Ch`` (module chumpy.ch, state {'x': array, ...})."""

    def __init__(self, x):
        self.x = x
        self._dirty_vars = set()

    def __getstate__(self):
        return dict(self.__dict__)


def test_reads_chumpy_sparse_pickles(model_files, tmp_path):
    """A .pkl like SMPL's release (chumpy arrays, a scipy.sparse J_regressor, protocol 2)
    loads without chumpy and gives the npz's body; a pickle calling code is refused."""
    import scipy.sparse as sp

    arrays = dict(np.load(model_files["smpl"]))
    mod = types.ModuleType("chumpy.ch")
    _FakeCh.__module__, _FakeCh.__qualname__, _FakeCh.__name__ = "chumpy.ch", "Ch", "Ch"
    mod.Ch = _FakeCh
    pkg = types.ModuleType("chumpy")
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = pkg, mod
    try:
        data = {k: (_FakeCh(v) if k in ("v_template", "shapedirs", "weights") else v)
                for k, v in arrays.items()}
        data["J_regressor"] = sp.csc_matrix(arrays["J_regressor"])
        data["bs_style"] = "lbs"
        with open(tmp_path / "SMPL_NEUTRAL.pkl", "wb") as f:
            pickle.dump(data, f, protocol=2)
    finally:
        del sys.modules["chumpy"], sys.modules["chumpy.ch"]
    a = SMPLBody(tmp_path / "SMPL_NEUTRAL.pkl")
    b = SMPLBody(model_files["smpl"])
    p = random_params(a, 2, np.random.default_rng(4))
    assert np.abs(a(p)["vertices"] - b(p)["vertices"]).max() < 1e-6

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"v_template": Evil()}, f)
    with pytest.raises(AssetError, match="unexpected object"):
        SMPLBody(tmp_path / "evil.pkl")


def test_smplx_pickle_goes_through_a_clean_npz(model_files, tmp_path):
    arrays = dict(np.load(model_files["smplx"]))
    with open(tmp_path / "SMPLX_NEUTRAL.pkl", "wb") as f:
        pickle.dump(arrays, f, protocol=2)
    a = SMPLBody(tmp_path / "SMPLX_NEUTRAL.pkl", kind="smplx")
    p = a.rest_params(1)
    p.shape[:] = 0.5
    b = SMPLBody(model_files["smplx"], kind="smplx")
    assert np.abs(a(p)["keypoints"] - b(p)["keypoints"]).max() < 1e-6


def test_body_cli_with_an_smpl_file(model_files, bodies, tmp_path, capsys):
    """`posestack body BUNDLE --smpl FILE --smpl-kind smpl` fits the user's model."""
    from posestack.cli import main
    from posestack.io.tables import poses_to_table, write_parquet

    body = bodies["smpl"]
    _, out, t = smooth_truth(body, 8, seed=5)
    poses, _ = as_poses(body, out["keypoints"], t)
    write_parquet(tmp_path / "keypoints3d.parquet", poses_to_table(poses, np.arange(8)))
    path = model_files["smpl"]
    assert main(["body", str(tmp_path), "--smpl", str(path), "--smpl-kind", "smpl",
                 "--iterations", "150", "-q"]) == 0
    z = np.load(tmp_path / "body" / "body_p0.npz")
    assert str(z["model"]) == "smpl" and z["vertices"].shape == (8, 6890, 3)
    assert list(z["pose_bones"]) == list(body.pose_bones)
    assert np.nanmean(z["residuals"]) < 0.01
    assert main(["body", str(tmp_path), "--smpl", str(path), "--glb"]) != 0
    assert "Anny fits only" in capsys.readouterr().err
