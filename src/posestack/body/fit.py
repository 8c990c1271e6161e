"""Fit Anny to a sequence of 3D keypoints: one shape per person, a pose per frame.

:func:`fit_body` minimises, over all frames at once (batched; torch autograd,
Adam):

* **data**: the Geman–McClure robust distance (scale ``robust`` metres) between
  Anny's keypoints (:data:`~posestack.body.anny_body.KEYPOINT_NAMES`, regressed
  from the mesh) and the input keypoints of the same name, weighted by score;
  NaN keypoints weigh 0;
* **pose prior**: ``prior`` × squared rotation vectors of the fitted bones
  (they start at rest; keeps unobserved twists at rest);
* **temporal smoothness**: 100 × ``smooth`` × squared second differences (per
  frame, so its effect depends on the frame rate) of the pose, orientation and
  translation;
* the phenotype is one per person, kept in [0, 1] by a sigmoid.

Initialisation: the rest body turned and placed on each frame by a Kabsch fit
of its hips and shoulders to the observed ones (frames without them take the
nearest frame's), then a first stage fits orientation, translation and shape
only, then everything.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io.atomic import atomic_path
from ..poses import Poses
from .anny_body import FIT_BONES, KEYPOINT_NAMES, PHENOTYPES, AnnyBody, BodyParams

log = logging.getLogger(__name__)

__all__ = ["BodyFit", "fit_body", "write_body_npz", "write_obj"]

_TORSO = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")


@dataclass
class BodyFit:
    """What :func:`fit_body` returns for one person.

    Attributes:
        params: the fitted :class:`BodyParams` (frames ``t0:t1`` of the input).
        frames: ``(T,)`` input frame indices fitted.
        times: ``(T,)`` seconds.
        vertices: ``(T, V, 3)`` metres, in the input's axes.
        faces: ``(F, 3)`` int.
        joints: ``(T, J, 3)`` bone heads (``joint_names``), input axes.
        joint_names: Anny's bone names.
        keypoints: ``(T, K, 3)`` the model's keypoints in the input layout
            (NaN for keypoints Anny has no regressor for).
        residuals: ``(T, K)`` metres, model vs input keypoint (NaN where either is missing).
        layout: the input layout's name.
        seconds: wall time of the fit.
    """

    params: BodyParams
    frames: np.ndarray
    times: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray
    joints: np.ndarray
    joint_names: tuple[str, ...]
    keypoints: np.ndarray
    residuals: np.ndarray
    layout: str
    seconds: float


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation R minimising ||R a_i - b_i|| for centred point sets ``(N, 3)``."""
    H = a.T @ b
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    return Vt.T @ np.diag([1.0, 1.0, d]) @ U.T


def _fill_nearest(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    idx = np.flatnonzero(ok)
    near = idx[np.clip(np.searchsorted(idx, np.arange(len(x))), 0, len(idx) - 1)]
    prev = idx[np.clip(np.searchsorted(idx, np.arange(len(x))) - 1, 0, len(idx) - 1)]
    pick = np.where(np.abs(prev - np.arange(len(x))) < np.abs(near - np.arange(len(x))),
                    prev, near)
    return x[pick]


def fit_body(poses: Poses, person: int = 0, *, up: str = "z", iterations: int = 250,
             prior: float = 1e-4, smooth: float = 1e-4, robust: float = 0.1,
             body: AnnyBody | None = None, progress: bool = False) -> BodyFit:
    """Fit Anny to one person's 3D keypoints over the whole sequence.

    Args:
        poses: 3D keypoints ``(T, P, K, 3)``, metres, any layout whose names
            include some of :data:`KEYPOINT_NAMES` (hips and shoulders needed).
        person: the person slot.
        up: the world's up axis (as :func:`posestack.kinematics.ik.fit`).
        iterations: Adam iterations of the full stage (the first stage takes a
            fifth of that).
        prior: weight of the pose prior (m² per rad²).
        smooth: weight of the second-difference penalty (×100; per frame).
        robust: Geman–McClure scale, metres.
        body: an :class:`AnnyBody` to reuse (loading one takes ~1 s).
        progress: show a progress bar.

    Returns:
        :class:`BodyFit` over the frames from the first to the last where the
        person has keypoints.

    Raises:
        InputError: not 3D, no usable keypoint, no hips and shoulders.
    """
    from ..kinematics.ik import _up_matrix

    if not isinstance(poses, Poses) or poses.dim != 3:
        raise InputError("fit_body fits 3D keypoints (a Poses with D=3, metres)")
    if not 0 <= int(person) < poses.n_people:
        raise InputError(f"person must be in [0, {poses.n_people}); got {person!r}")
    names = poses.skeleton.keypoints
    shared = [n for n in KEYPOINT_NAMES if n in names]
    if not all(n in shared for n in _TORSO):
        raise InputError(f"fit_body needs {', '.join(_TORSO)}; layout {poses.skeleton.name} "
                         f"has {', '.join(shared) or 'none of the body model keypoints'}")
    for name, v in (("iterations", iterations), ("prior", prior), ("smooth", smooth),
                    ("robust", robust)):
        if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
            raise InputError(f"{name} must be a finite number >= 0; got {v!r}")
    t_start = time.perf_counter()
    body = body or AnnyBody()
    torch, roma = body.torch, body.roma
    A = _up_matrix(up)
    present = np.flatnonzero(poses.present()[:, person])
    if present.size == 0:
        raise InputError(f"person {person} has no keypoints")
    t0, t1 = int(present[0]), int(present[-1]) + 1
    T = t1 - t0
    src = [names.index(n) for n in shared]
    dst = [KEYPOINT_NAMES.index(n) for n in shared]
    obs = poses.coords[t0:t1, person][:, src].astype(float) @ A.T          # (T, S, 3) Z up
    w = np.where(np.isfinite(obs).all(-1), poses.scores[t0:t1, person][:, src], 0.0)
    obs = np.nan_to_num(obs)
    # -- initial orientation and translation from the torso --------------------------------
    rest = body(BodyParams.rest(1))
    kp_rest = rest["keypoints"][0]
    torso = [shared.index(n) for n in _TORSO]
    a = kp_rest[[KEYPOINT_NAMES.index(n) for n in _TORSO]]
    a_c = a - a.mean(0)
    R0 = np.tile(np.eye(3), (T, 1, 1))
    tr0 = np.zeros((T, 3))
    ok = (w[:, torso] > 0).all(1)
    if not ok.any():
        raise InputError(f"person {person} never has both hips and both shoulders")
    for t in np.flatnonzero(ok):
        b = obs[t, torso]
        R0[t] = _kabsch(a_c, b - b.mean(0))
        tr0[t] = b.mean(0) - R0[t] @ a.mean(0)
    R0, tr0 = _fill_nearest(R0, ok), _fill_nearest(tr0, ok)

    f32 = torch.float32
    Y = torch.as_tensor(obs, dtype=f32)
    W = torch.as_tensor(w, dtype=f32)
    dst_t = torch.as_tensor(dst)
    ph_logit = torch.zeros(6, dtype=f32, requires_grad=True)
    pose = torch.zeros((T, len(FIT_BONES), 3), dtype=f32, requires_grad=True)
    orient = roma.rotmat_to_rotvec(torch.as_tensor(R0, dtype=f32)).clone().requires_grad_(True)
    transl = torch.as_tensor(tr0, dtype=f32).clone().requires_grad_(True)
    wsum = W.sum().clamp(min=1.0)
    s2 = robust**2

    def loss_fn() -> Any:
        out = body.forward_torch(torch.sigmoid(ph_logit), pose, orient, transl)
        d2 = ((out["keypoints"][:, dst_t] - Y) ** 2).sum(-1)
        data = (W * (s2 * d2 / (d2 + s2))).sum() / wsum if robust > 0 else (W * d2).sum() / wsum
        loss = data + prior * (pose**2).sum(-1).mean()
        if T >= 3 and smooth > 0:
            d2 = lambda x: x[2:] - 2 * x[1:-1] + x[:-2]  # noqa: E731
            loss = loss + 1e2 * smooth * ((d2(pose) ** 2).sum((-1, -2)).mean()
                                          + (d2(orient) ** 2).sum(-1).mean()
                                          + (d2(transl) ** 2).sum(-1).mean())
        return loss, data

    stages = ((max(1, iterations // 5), [ph_logit, orient, transl], 0.02),
              (iterations, [ph_logit, pose, orient, transl], 0.02))
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=sum(s[0] for s in stages), desc="body fit", unit="it")
    for n_it, variables, lr in stages:
        opt = torch.optim.Adam(variables, lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, n_it, eta_min=lr * 0.05)
        for _ in range(n_it):
            opt.zero_grad()
            loss, data = loss_fn()
            loss.backward()
            opt.step()
            sched.step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(rms_mm=f"{math.sqrt(float(data)) * 1000:.1f}")
    if bar is not None:
        bar.close()
    params = BodyParams(torch.sigmoid(ph_logit).detach().numpy().astype(float),
                        pose.detach().numpy().astype(float),
                        orient.detach().numpy().astype(float),
                        transl.detach().numpy().astype(float))
    out = body(params)
    back = lambda x: x @ A  # noqa: E731  (Z-up fit frame -> input axes)
    kp = np.full((T, len(names), 3), np.nan)
    kp[:, src] = back(out["keypoints"][:, dst])
    inp = poses.coords[t0:t1, person].astype(float)
    res = np.linalg.norm(kp - inp, axis=-1)
    return BodyFit(params, np.arange(t0, t1), poses.times[t0:t1].copy(), back(out["vertices"]),
                   body.faces, back(out["joints"]), body.joint_names, kp, res,
                   poses.skeleton.name, time.perf_counter() - t_start)


def write_body_npz(path: str | Path, fit: BodyFit) -> Path:
    """``body.npz``: parameters per frame, vertices, faces, joints, keypoints (atomic write)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f, model="anny", phenotype=fit.params.phenotype,
                phenotype_names=np.array(PHENOTYPES), pose=fit.params.pose,
                pose_bones=np.array(FIT_BONES), global_orient=fit.params.global_orient,
                transl=fit.params.transl, frames=fit.frames, times=fit.times,
                vertices=fit.vertices.astype(np.float32), faces=fit.faces.astype(np.int32),
                joints=fit.joints.astype(np.float32), joint_names=np.array(fit.joint_names),
                keypoints=fit.keypoints.astype(np.float32), residuals=fit.residuals,
                layout=fit.layout)
    return path


def write_obj(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """One mesh as Wavefront OBJ (metres; faces 1-based), written atomically."""
    v = np.asarray(vertices, float)
    f = np.asarray(faces, int)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
        raise InputError(f"write_obj needs vertices (V, 3) and faces (F, 3); got {v.shape}, "
                         f"{f.shape}")
    if f.min() < 0 or f.max() >= len(v):
        raise InputError("faces index vertices out of range")
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w") as out:
            np.savetxt(out, v, fmt="v %.5f %.5f %.5f")
            np.savetxt(out, f + 1, fmt="f %d %d %d")
    return path
