"""Fit a parametric body to a sequence of keypoints: one shape per person, a pose per frame.

:func:`fit_body` fits 3D keypoints (metres, from several cameras or a
monocular 3D estimate) or 2D keypoints of one camera (pixels; SMPLify-style,
with the camera known or estimated), over all frames at once (batched; torch
autograd, Adam). It minimises:

* **data**: the Geman–McClure robust distance (scale ``robust`` metres) between
  the model's keypoints and the input keypoints of the same name, weighted by
  score (NaN keypoints weigh 0). In 2D the residual is the reprojection error
  in the normalised image plane times the person's depth, so it is in metres
  at the body and the same weights serve both cases;
* **pose prior**: ``prior`` × squared rotation vectors of the fitted bones
  (they start at rest; keeps unobserved bones, such as fingers when the layout
  has no hands, at rest);
* **joint limits**: ``limits`` × squared excess of each bone's rotation beyond
  the model's range of motion (knees and elbows bend one way, the spine and neck
  turn little; :attr:`ParametricBody.limits`);
* **temporal smoothness**: 100 × ``smooth`` × squared second differences (per
  frame) of the pose, orientation and translation;
* **shape**: one per person; Anny's phenotype is kept in [0, 1] by a sigmoid,
  SMPL's betas get a Gaussian prior (``shape_prior``).

Initialisation: 3D, the rest body turned and placed on each frame by a Kabsch
fit of its hips and shoulders; 2D, a perspective-n-point fit of the rest body's
torso and head to each frame, warm-started from the previous frame's (with
several views: the Kabsch fit to the triangulated torso where it can be
triangulated); frames where that fails take the nearest frame's placement.
Then a stage fits orientation, translation and shape only, then
everything.

**Confidence** (POCO's idea, from the fit itself): the Gauss–Newton Hessian of
the whole objective with respect to every frame's parameters (the shape held
fixed) is banded over frames; the marginal covariance of each frame's
parameters (neighbours integrated out), sampled exactly through its banded
Cholesky factor and propagated to the model's keypoints, gives each joint's
standard uncertainty in metres (``BodyFit.uncertainty``; relative to the hips:
``pose_uncertainty``). The residual scale is the fit's own per-coordinate
residual variance, robustly weighted. A keypoint that is missing or has a low
score constrains nothing, so the bones it would have fixed are left to the prior
and the smoothness, and their uncertainty rises.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..io.atomic import atomic_path
from ..poses import Poses
from .model import BodyParams, ParametricBody

log = logging.getLogger(__name__)

__all__ = ["BodyFit", "estimate_camera", "fit_body", "read_body_npz", "write_body_npz",
           "write_obj"]

_TORSO = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")
_PNP = (*_TORSO, "nose", "left_eye", "right_eye", "left_ear", "right_ear")
#: Z-up (posestack's fit frame) to each model's world axes.
_MODEL_AXES = {"z": np.eye(3), "y": np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])}


@dataclass
class BodyFit:
    """What :func:`fit_body` returns for one person.

    Attributes:
        params: the fitted :class:`BodyParams` (frames ``frames`` of the input), in the
            model's own axes.
        frames: ``(T,)`` input frame indices fitted.
        times: ``(T,)`` seconds.
        vertices: ``(T, V, 3)`` metres, in the input's world axes (for 2D input: the
            camera's world).
        faces: ``(F, 3)`` int.
        joints: ``(T, J, 3)`` the rig's joints (``joint_names``), world axes.
        joint_names: the rig's joint names.
        keypoints: ``(T, K, 3)`` the model's keypoints in the input layout, world axes
            (NaN for keypoints the model lacks).
        residuals: ``(T, K)`` model vs input keypoint, metres (3D input) or pixels (2D),
            NaN where either is missing.
        uncertainty: ``(T, K)`` metres, each keypoint's standard uncertainty from the
            fit's curvature (see the module docstring); NaN where the model lacks it.
        frame_uncertainty: ``(T,)`` metres, RMS of ``uncertainty`` over the keypoints.
        layout: the input layout's name.
        model: the body model's name.
        residual_unit: "m" or "px".
        seconds: wall time of the fit.
        camera: the camera used for 2D input (given or estimated), else None.
        world_from_model: ``(3, 3)`` rotation from the model's axes to the world's.
        shape_names, pose_bones: the model's names for ``params.shape`` and ``params.pose``.
        source_frames: ``(T,)`` video frame indices when known (:func:`read_body_npz`).
        pose_uncertainty: ``(T, K)`` metres, like ``uncertainty`` but relative to the
            hips' midpoint: the pose's own uncertainty, without that of the body's
            placement (which dominates for one camera: depth along the ray).
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
    uncertainty: np.ndarray
    frame_uncertainty: np.ndarray
    layout: str
    model: str
    residual_unit: str
    seconds: float
    camera: Any = None
    world_from_model: np.ndarray = field(default_factory=lambda: np.eye(3))
    shape_names: tuple[str, ...] = ()
    pose_bones: tuple[str, ...] = ()
    source_frames: np.ndarray | None = None
    pose_uncertainty: np.ndarray | None = None


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation R minimising ||R a_i - b_i|| for centred point sets ``(N, 3)``."""
    H = a.T @ b
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    return Vt.T @ np.diag([1.0, 1.0, d]) @ U.T


def _fill_nearest(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Rows of ``x`` where ``ok`` is False take the nearest ok row (the previous on ties)."""
    idx = np.flatnonzero(ok)
    t = np.arange(len(x))
    nxt = idx[np.clip(np.searchsorted(idx, t), 0, len(idx) - 1)]
    prev = idx[np.clip(np.searchsorted(idx, t, side="right") - 1, 0, len(idx) - 1)]
    pick = np.where(np.abs(prev - t) <= np.abs(nxt - t), prev, nxt)
    return x[pick]


def estimate_camera(width: int, height: int, name: str = "estimated") -> Any:
    """A pinhole camera for a single view of unknown intrinsics.

    The focal length is the image's larger side in pixels (a horizontal field of
    view of 53° on a landscape frame, that of a typical phone or webcam), the
    principal point is the centre, no distortion, at the world origin looking
    down +Z with the image's y down (so the world is the camera's frame: up is -y).
    """
    from ..multiview.calibration import Camera

    if not (isinstance(width, int | np.integer) and isinstance(height, int | np.integer)
            and width > 0 and height > 0):
        raise InputError(f"image size must be two positive integers; got {width!r}, {height!r}")
    f = float(max(width, height))
    K = np.array([[f, 0, width / 2.0], [0, f, height / 2.0], [0, 0, 1.0]])
    return Camera(name, K, np.zeros(5), np.eye(3), np.zeros(3), (int(width), int(height)))


def _check_number(name: str, v: Any) -> None:
    if not (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            and v >= 0):
        raise InputError(f"{name} must be a finite number >= 0; got {v!r}")


def _normalised(camera: Any, xy: np.ndarray) -> np.ndarray:
    """Pixels ``(..., 2)`` to the undistorted normalised image plane (NaN kept)."""
    K = camera.K
    return (camera.undistort(xy) - (K[0, 2], K[1, 2])) / (K[0, 0], K[1, 1])


@dataclass
class _View:
    """One set of observations: 3D keypoints (``R`` None) or one camera's 2D keypoints."""

    obs: np.ndarray            # (T, S, 3) model axes, or (T, S, 2) normalised image plane
    w: np.ndarray              # (T, S) weights (score; 0 where missing)
    R: np.ndarray | None = None  # camera <- model axes
    t: np.ndarray | None = None
    zref: np.ndarray | None = None  # (T,) depth of the person, metres


def _as_views(poses: Any, camera: Any) -> tuple[list[Poses], list[Any]]:
    many = isinstance(poses, list | tuple)
    views = list(poses) if many else [poses]
    if not views or not all(isinstance(v, Poses) for v in views):
        raise InputError("fit_body needs a Poses object (or a list of 2D Poses, one per "
                         f"camera); got {type(poses).__name__}")
    if not many:
        return views, [camera]
    cams = list(camera) if isinstance(camera, list | tuple) else []
    if len(cams) != len(views):
        raise InputError(f"{len(views)} views of 2D keypoints need as many cameras "
                         f"(camera=[...]); got {len(cams) if cams else camera!r}")
    first = views[0]
    for i, v in enumerate(views):
        if v.dim != 2:
            raise InputError(f"view {i} is {v.dim}D: several views must be 2D keypoints")
        if v.skeleton.name != first.skeleton.name:
            raise InputError(f"view {i} is in layout {v.skeleton.name}, view 0 in "
                             f"{first.skeleton.name}: convert them to one layout")
        if v.n_frames != first.n_frames or not np.allclose(v.times, first.times, atol=1e-3):
            raise InputError(f"view {i} has {v.n_frames} frames at other times than view 0 "
                             f"({first.n_frames}): the views must be synchronised, frame by "
                             "frame")
        if v.n_people != first.n_people:
            raise InputError(f"view {i} has {v.n_people} person slots, view 0 "
                             f"{first.n_people}: the people must be associated across views")
    return views, cams


def fit_body(poses: Poses | Sequence[Poses], person: int = 0, *, camera: Any = None,
             image_size: tuple[int, int] | None = None, up: str | None = None,
             body: ParametricBody | None = None, iterations: int = 400, prior: float = 1e-4,
             smooth: float = 1e-4, robust: float = 0.1, limits: float = 1.0,
             shape_prior: float = 1e-5, confidence: bool = True,
             progress: bool = False) -> BodyFit:
    """Fit a body model to one person's keypoints over the whole sequence.

    Args:
        poses: 3D keypoints ``(T, P, K, 3)`` in metres (world axes); or 2D keypoints
            ``(T, P, K, 2)`` in pixels of one camera; or a list of such 2D keypoints, one
            per calibrated camera (synchronised frame by frame, the same person slot in
            each). Any layout whose names include some of the model's
            :attr:`~ParametricBody.keypoint_names` (hips and shoulders needed; hands and
            feet are fitted when the layout has them).
        person: the person slot.
        camera: for 2D input, the :class:`~posestack.multiview.calibration.Camera`
            that saw them (intrinsics, distortion, pose in the world), or a list of them
            for a list of views. None (one view only): estimated from ``image_size``
            (:func:`estimate_camera`; the world is then the camera's frame).
        image_size: ``(width, height)`` pixels, for 2D input without a camera.
        up: the world's up axis: "z" for 3D input and given cameras, "-y" for an
            estimated camera (image y points down). None: that default.
        body: the body model (default: a new :class:`~posestack.body.AnnyBody`; loading
            one takes ~1 s, so pass it when fitting several people).
        iterations: Adam iterations of the full stage (the first stage takes a fifth).
        prior: pose prior weight (m² per rad²).
        smooth: second-difference penalty weight (×100, per frame).
        robust: Geman–McClure scale, metres.
        limits: joint-limit penalty weight (m² per rad² beyond the range).
        shape_prior: Gaussian prior weight on unbounded shape coefficients (SMPL betas).
        confidence: compute :attr:`BodyFit.uncertainty` (a few seconds per 100 frames).
        progress: show a progress bar.

    Returns:
        :class:`BodyFit` over the frames from the first to the last where the
        person has keypoints. For several views, ``residuals`` are the mean
        reprojection error over the views that saw each keypoint, and ``camera`` is
        the first view's.

    Raises:
        InputError: a 2D input without camera or image size, views that do not match,
            no usable keypoint, no hips and shoulders, or a bad weight.
    """
    from ..kinematics.ik import up_matrix

    views, cameras = _as_views(poses, camera)
    first = views[0]
    if len(views) == 1 and isinstance(camera, list | tuple):
        raise InputError("camera is a list but poses is one view: give one Camera, or a "
                         "list of 2D Poses (one per camera)")
    for name, v in (("person", person), ("iterations", iterations)):
        if not isinstance(v, int | np.integer) or isinstance(v, bool):
            raise InputError(f"{name} must be an integer; got {v!r}")
    if not first.tracked and first.n_people > 1:
        log.warning("the keypoints are not tracked: person slot %d may hop between people, "
                    "and one body shape is fitted to all of them (run with tracking on)",
                    person)
    if not 0 <= int(person) < first.n_people:
        raise InputError(f"person must be in [0, {first.n_people}); got {person!r}")
    for name, v in (("iterations", iterations), ("prior", prior), ("smooth", smooth),
                    ("robust", robust), ("limits", limits), ("shape_prior", shape_prior)):
        _check_number(name, v)
    two_d = first.dim == 2
    if two_d and cameras[0] is None:
        if image_size is None:
            raise InputError("2D keypoints need the camera that saw them (camera=...) or the "
                             "image size (image_size=(width, height)) to estimate one")
        cameras = [estimate_camera(*image_size)]
        up = up or "-y"
    up = up or "z"
    t_start = time.perf_counter()
    if body is None:
        from .anny_body import AnnyBody
        body = AnnyBody()
    names = first.skeleton.keypoints
    shared = [n for n in body.keypoint_names if n in names]
    if not all(n in shared for n in _TORSO):
        raise InputError(f"fit_body needs {', '.join(_TORSO)}; layout {first.skeleton.name} "
                         f"has {', '.join(shared) or 'none of the body model keypoints'}")
    torch, roma = body.torch, body.roma  # type: ignore[attr-defined]
    # model axes <- world axes
    A = _MODEL_AXES[body.up] @ up_matrix(up)
    present = np.flatnonzero(np.any([v.present()[:, person] for v in views], axis=0))
    if present.size == 0:
        raise InputError(f"person {person} has no keypoints")
    t0, t1 = int(present[0]), int(present[-1]) + 1
    T = t1 - t0
    src = [names.index(n) for n in shared]
    dst = [body.keypoint_names.index(n) for n in shared]
    rest = body(body.rest_params(1))["keypoints"][0]
    torso = [shared.index(n) for n in _TORSO]
    R0 = np.tile(np.eye(3), (T, 1, 1))
    tr0 = np.zeros((T, 3))
    obs_views: list[_View] = []
    for v, cam in zip(views, cameras, strict=True):
        raw = v.coords[t0:t1, person][:, src].astype(float)
        w = np.where(np.isfinite(raw).all(-1), v.scores[t0:t1, person][:, src], 0.0)
        if not two_d:
            obs_views.append(_View(np.nan_to_num(raw @ A.T), w))
        else:
            R = np.asarray(cam.R, float) @ A.T             # camera <- model axes
            obs_views.append(_View(np.nan_to_num(_normalised(cam, raw)), w, R,
                                   np.array(cam.t, float)))
    if not two_d:
        obs, w = obs_views[0].obs, obs_views[0].w
        ok = (w[:, torso] > 0).all(1)
        a = rest[[body.keypoint_names.index(n) for n in _TORSO]]
        a_c = a - a.mean(0)
        for t in np.flatnonzero(ok):
            b = obs[t, torso]
            R0[t] = _kabsch(a_c, b - b.mean(0))
            tr0[t] = b.mean(0) - R0[t] @ a.mean(0)
        obs_views[0].zref = np.ones(T)
    else:
        # each view's PnP; per frame, the view that sees most keypoints places the body ...
        ok = np.zeros(T, bool)
        seen_best = np.full(T, -1.0)
        for ov in obs_views:
            Rv, tv = R0.copy(), tr0.copy()
            okv, _ = _pnp_init(rest, body.keypoint_names, shared, ov.obs, ov.w, ov.R, ov.t,
                               Rv, tv)
            better = okv & ((ov.w > 0).sum(1) > seen_best)
            R0[better], tr0[better] = Rv[better], tv[better]
            seen_best[better] = (ov.w > 0).sum(1)[better]
            ok |= okv
        if len(obs_views) > 1:
            # ... unless the torso can be triangulated: one view's PnP leaves the depth
            # (and so the size) ambiguous, which the other views would contradict
            pts, tri = _triangulate(obs_views, torso)
            a = rest[[body.keypoint_names.index(n) for n in _TORSO]]
            a_c = a - a.mean(0)
            for t in np.flatnonzero(tri):
                R0[t] = _kabsch(a_c, pts[t] - pts[t].mean(0))
                tr0[t] = pts[t].mean(0) - R0[t] @ a.mean(0)
            ok |= tri
        for ov in obs_views:   # each view's depth of the person from the chosen placement
            ov.zref = np.where(ok, (tr0 @ ov.R.T + ov.t)[:, 2], 1.0)
    if not ok.any():
        raise InputError(f"person {person} never has both hips and both shoulders"
                         + (" with enough head points to place the body" if two_d else ""))
    R0, tr0 = _fill_nearest(R0, ok), _fill_nearest(tr0, ok)
    # the placements above map rest points x to R0 x + tr0; the model turns its root
    # about a pivot p (Anny: the origin; SMPL: the pelvis joint): transl = tr0 + (R0 - I) p
    tr0 = tr0 + (R0 - np.eye(3)) @ _pivot(body, rest)
    for ov in obs_views:
        ov.zref = np.maximum(_fill_nearest(ov.zref, ok), 0.1)

    f32 = torch.float32
    tens = [{"Y": torch.as_tensor(ov.obs, dtype=f32), "W": torch.as_tensor(ov.w, dtype=f32),
             "Z": torch.as_tensor(ov.zref, dtype=f32)[:, None],
             "R": None if ov.R is None else torch.as_tensor(ov.R, dtype=f32),
             "t": None if ov.t is None else torch.as_tensor(ov.t, dtype=f32)}
            for ov in obs_views]
    dst_t = torch.as_tensor(dst)
    bounded = body.shape_bounds is not None
    s0 = body.default_shape()
    if bounded:
        lo, hi = body.shape_bounds  # type: ignore[misc]
        shape_var = torch.zeros(len(s0), dtype=f32, requires_grad=True)
        to_shape = lambda v: lo + (hi - lo) * torch.sigmoid(v)  # noqa: E731
    else:
        shape_var = torch.as_tensor(s0, dtype=f32).clone().requires_grad_(True)
        to_shape = lambda v: v  # noqa: E731
    n_bones = len(body.pose_bones)
    pose = torch.zeros((T, n_bones, 3), dtype=f32, requires_grad=True)
    orient = roma.rotmat_to_rotvec(torch.as_tensor(R0, dtype=f32)).clone().requires_grad_(True)
    transl = torch.as_tensor(tr0, dtype=f32).clone().requires_grad_(True)
    wsum = sum(float(x["W"].sum()) for x in tens)
    wsum = max(wsum, 1.0)
    s2 = robust**2
    lim_idx, lim_frame, lim_lo, lim_hi = _limit_tensors(body, torch)

    def residual2(kp: Any) -> list[Any]:
        """Squared residuals (T, S) per view, metres²."""
        x = kp[:, dst_t]
        out = []
        for v in tens:
            if v["R"] is None:
                out.append(((x - v["Y"]) ** 2).sum(-1))
                continue
            xc = x @ v["R"].T + v["t"]
            z = xc[..., 2:].clamp(min=0.05)
            out.append((((xc[..., :2] / z - v["Y"]) * v["Z"][..., None]) ** 2).sum(-1))
        return out

    def loss_fn() -> Any:
        out = body.forward_torch(to_shape(shape_var), pose, orient, transl, mesh=False)
        data = 0.0
        for v, d2 in zip(tens, residual2(out["keypoints"]), strict=True):
            data = data + ((v["W"] * (s2 * d2 / (d2 + s2))).sum() if robust > 0
                           else (v["W"] * d2).sum())
        data = data / wsum
        loss = data + prior * (pose**2).sum((-1, -2)).mean()
        if limits > 0 and lim_idx is not None:
            a = torch.einsum("tbi,bij->tbj", pose[:, lim_idx], lim_frame)
            excess = torch.relu(lim_lo - a) + torch.relu(a - lim_hi)
            loss = loss + limits * (excess**2).sum((-1, -2)).mean()
        if not bounded and shape_prior > 0:
            loss = loss + shape_prior * (shape_var**2).sum()
        if T >= 3 and smooth > 0:
            dd = lambda x: x[2:] - 2 * x[1:-1] + x[:-2]  # noqa: E731
            loss = loss + 1e2 * smooth * ((dd(pose) ** 2).sum((-1, -2)).mean()
                                          + (dd(orient) ** 2).sum(-1).mean()
                                          + (dd(transl) ** 2).sum(-1).mean())
        return loss, data

    stages = ((max(1, iterations // 5), [shape_var, orient, transl], 0.02),
              (iterations, [shape_var, pose, orient, transl], 0.02))
    bar = None
    if progress:
        from ..progress import progress_bar

        bar = progress_bar(sum(s[0] for s in stages), "body fit", unit="it")
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
                bar.set_postfix(rms_mm=f"{math.sqrt(float(data.detach())) * 1000:.1f}")
    if bar is not None:
        bar.close()
    shape = to_shape(shape_var).detach()
    params = BodyParams(shape.numpy().astype(float), pose.detach().numpy().astype(float),
                        orient.detach().numpy().astype(float),
                        transl.detach().numpy().astype(float))
    out = body(params)
    back = lambda x: x @ A  # noqa: E731  (model axes -> world axes)
    kp = np.full((T, len(names), 3), np.nan)
    kp[:, src] = back(out["keypoints"][:, dst])
    if two_d:
        with warnings.catch_warnings():    # keypoints no view saw: NaN, quietly
            warnings.simplefilter("ignore", RuntimeWarning)
            res = np.nanmean([np.linalg.norm(cam.project(kp) - v.coords[t0:t1, person],
                                             axis=-1) for v, cam in zip(views, cameras,
                                                                         strict=True)], axis=0)
    else:
        res = np.linalg.norm(kp - first.coords[t0:t1, person].astype(float), axis=-1)
    unc = np.full((T, len(names)), np.nan)
    pose_unc = unc.copy()
    if confidence:
        u = _uncertainty(body, shape, params, dst, obs_views, residual2, robust, prior, smooth,
                         limits, wsum)
        unc[:, src], pose_unc[:, src] = u[0][:, dst], u[1][:, dst]
    with np.errstate(invalid="ignore"):
        frame_unc = np.sqrt(np.nanmean(unc**2, axis=1)) if confidence else np.full(T, np.nan)
    return BodyFit(params, np.arange(t0, t1), first.times[t0:t1].copy(), back(out["vertices"]),
                   body.faces, back(out["joints"]), tuple(body.joint_names), kp, res, unc,
                   frame_unc, first.skeleton.name, body.name, "px" if two_d else "m",
                   time.perf_counter() - t_start, cameras[0] if two_d else None, A.T.copy(),
                   tuple(body.shape_names), tuple(body.pose_bones), None, pose_unc)


def _pivot(body: ParametricBody, x: np.ndarray) -> np.ndarray:
    """The point ``(3,)`` (model axes, rest shape) the model's global rotation turns about,
    measured: two quarter turns of the rest body (keypoints ``x``), least squares on
    ``(I - R) p = x' - R x``."""
    import cv2

    rest = body.rest_params(2)
    rest.global_orient[0] = (np.pi / 2, 0.0, 0.0)
    rest.global_orient[1] = (0.0, 0.0, np.pi / 2)
    moved = body(rest)["keypoints"]
    lhs, rhs = [], []
    for i, rv in enumerate(rest.global_orient):
        R = cv2.Rodrigues(np.asarray(rv, float))[0]
        lhs.append(np.tile(np.eye(3) - R, (len(x), 1)))
        rhs.append((moved[i] - x @ R.T).ravel())
    return np.linalg.lstsq(np.vstack(lhs), np.concatenate(rhs), rcond=None)[0]


def _limit_tensors(body: ParametricBody, torch: Any):
    if not body.limits:
        return None, None, None, None
    bones = [b for b in body.pose_bones if b in body.limits]
    lims = [body.limits[b] for b in bones]
    f32 = torch.float32
    return (torch.as_tensor([body.pose_bones.index(b) for b in bones]),
            torch.as_tensor(np.array([np.asarray(x.frame) for x in lims]), dtype=f32),
            torch.as_tensor(np.array([x.lo for x in lims]), dtype=f32),
            torch.as_tensor(np.array([x.hi for x in lims]), dtype=f32))


def _pnp_init(rest: np.ndarray, model_names: Sequence[str], shared: list[str], obs: np.ndarray,
              w: np.ndarray, Rc: np.ndarray, tc: np.ndarray, R0: np.ndarray,
              tr0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame PnP of the rest body's torso and head; fills R0, tr0 (model world)."""
    import cv2

    pick = [n for n in _PNP if n in shared]
    cols = [shared.index(n) for n in pick]
    obj = rest[[model_names.index(n) for n in pick]].astype(np.float64)
    torso = [pick.index(n) for n in _TORSO]
    T = len(obs)
    ok = np.zeros(T, bool)
    zref = np.ones(T)
    prev: tuple[np.ndarray, np.ndarray] | None = None
    for t in range(T):
        seen = w[t, cols] > 0
        if not seen[torso].all() or seen.sum() < 5:
            continue
        o, im = obj[seen], obs[t, cols][seen].astype(np.float64)
        good, rvec, tvec = cv2.solvePnP(o, im[:, None], np.eye(3), None,
                                        flags=cv2.SOLVEPNP_SQPNP)
        if prev is not None:    # warm start from the previous frame, keep the better one
            ok2, rv2, tv2 = cv2.solvePnP(o, im[:, None], np.eye(3), None, rvec=prev[0].copy(),
                                         tvec=prev[1].copy(), useExtrinsicGuess=True,
                                         flags=cv2.SOLVEPNP_ITERATIVE)
            if ok2 and (not good or _reproj(o, im, rv2, tv2) < _reproj(o, im, rvec, tvec)):
                good, rvec, tvec = ok2, rv2, tv2
        if not good or tvec[2, 0] <= 0.1:
            continue
        prev = (rvec, tvec)
        Rp = cv2.Rodrigues(rvec)[0]
        R0[t] = Rc.T @ Rp                          # model world <- rest body
        tr0[t] = Rc.T @ (tvec[:, 0] - tc)
        zref[t] = float(tvec[2, 0])
        ok[t] = True
    return ok, zref


def _triangulate(views: list[_View], cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Linear (DLT) triangulation of keypoints ``cols`` from normalised 2D views.

    Returns points ``(T, len(cols), 3)`` in model axes and ``ok (T,)``: frames where
    every one of those keypoints was seen by at least two views.
    """
    from ..multiview.triangulate import dlt

    xy = np.stack([v.obs[:, cols] for v in views])                    # (C, T, n, 2)
    seen = np.stack([v.w[:, cols] > 0 for v in views]).astype(float)  # (C, T, n)
    P = np.stack([np.hstack([v.R, v.t[:, None]]) for v in views])      # (C, 3, 4)
    pts = dlt(xy, seen, P)
    return pts, np.isfinite(pts).all((1, 2))


def _reproj(obj: np.ndarray, im: np.ndarray, rvec: np.ndarray, tvec: np.ndarray) -> float:
    import cv2

    uv = cv2.projectPoints(obj, rvec, tvec, np.eye(3), None)[0][:, 0]
    return float(((uv - im) ** 2).sum())


def _uncertainty(body: ParametricBody, shape: Any, params: BodyParams, dst: list[int],
                 views: list[_View], residual2: Any, robust: float, prior: float,
                 smooth: float, limits: float, wsum: float) -> np.ndarray:
    """``(2, T, K)`` standard uncertainty (metres) of each model keypoint, absolute and
    relative to the hips' midpoint; see the module docstring."""
    torch = body.torch  # type: ignore[attr-defined]
    T, n_b = params.pose.shape[:2]
    P = n_b * 3 + 6
    f32 = torch.float32
    pose = torch.as_tensor(params.pose, dtype=f32).requires_grad_(True)
    orient = torch.as_tensor(params.global_orient, dtype=f32).requires_grad_(True)
    transl = torch.as_tensor(params.transl, dtype=f32).requires_grad_(True)
    kp = body.forward_torch(shape, pose, orient, transl, mesh=False)["keypoints"]  # (T, K, 3)
    K = kp.shape[1]
    d2s = [d.numpy() for d in residual2(kp.detach())]     # squared residuals per view
    # G[t, k, c, :] = d kp[t, k, c] / d (pose_t, orient_t, transl_t): frames are independent,
    # so one backward pass of the sum over frames gives every frame's row at once.
    eye = torch.eye(K * 3, dtype=f32).reshape(K * 3, 1, K, 3).expand(K * 3, T, K, 3)
    try:
        grads = torch.autograd.grad(kp, (pose, orient, transl), eye, is_grads_batched=True)
        G = torch.cat([g.reshape(K * 3, T, -1) for g in grads], -1)
    except RuntimeError:   # vmap unsupported by some op: one pass per output
        rows = []
        for i in range(K * 3):
            g = torch.autograd.grad(kp, (pose, orient, transl), eye[i], retain_graph=True)
            rows.append(torch.cat([x.reshape(T, -1) for x in g], -1))
        G = torch.stack(rows)
    G = G.permute(1, 0, 2).reshape(T, K, 3, P).numpy().astype(float)
    # IRLS weights of the Geman-McClure loss, and the residual scale
    s2 = robust**2
    # per-coordinate residual variance, each residual weighted as the robust loss weighs it
    # (outliers the fit discounts do not inflate every joint's uncertainty); floor 3 mm
    num = den = 0.0
    for v, d2 in zip(views, d2s, strict=True):
        rw = v.w * (s2**2 / (d2 + s2) ** 2 if robust > 0 else 1.0)
        num += float((rw * d2).sum())
        den += float(rw.sum()) * v.obs.shape[-1]
    sigma2 = max(num / max(den, 1e-9), 0.003**2)
    Gs = G[:, dst]                                         # (T, S, 3, P)
    kpm = kp.detach().numpy()[:, dst]
    H = np.zeros((T, P, P))
    for v, d2 in zip(views, d2s, strict=True):
        irls = v.w * (s2**2 / (d2 + s2) ** 2 if robust > 0 else 1.0)
        if v.R is not None:   # 2D: d(residual)/d(kp) = z_ref * d(x/z)/d(x_cam) @ R
            kpn = kpm @ v.R.T + v.t                          # (T, S, 3) camera
            z = np.maximum(kpn[..., 2], 0.05)
            Dp = np.zeros((*z.shape, 2, 3))
            Dp[..., 0, 0] = Dp[..., 1, 1] = 1.0 / z
            Dp[..., 0, 2] = -kpn[..., 0] / z**2
            Dp[..., 1, 2] = -kpn[..., 1] / z**2
            Jr = v.zref[:, None, None, None] * np.einsum("tsab,bc,tscp->tsap", Dp, v.R, Gs)
        else:
            Jr = Gs
        H += np.einsum("ts,tsap,tsaq->tpq", irls, Jr, Jr)
    # the other per-frame terms of the objective, on the same scale (data is / wsum)
    H[:, np.arange(n_b * 3), np.arange(n_b * 3)] += prior * wsum / T
    H[:, np.arange(P), np.arange(P)] += 1e-9
    if limits > 0 and body.limits:
        for j, b in enumerate(body.pose_bones):
            lim = body.limits.get(b)
            if lim is None:
                continue
            F = np.asarray(lim.frame)
            a = params.pose[:, j] @ F
            out = (a < np.asarray(lim.lo)) | (a > np.asarray(lim.hi))   # active (T, 3)
            if out.any():
                sl = slice(3 * j, 3 * j + 3)
                H[:, sl, sl] += limits * wsum / T * np.einsum("ia,ta,ja->tij", F, out, F)
    c = 1e2 * smooth * wsum / (T - 2) if T >= 3 and smooth > 0 else 0.0
    root = [body.keypoint_names.index(n) for n in ("left_hip", "right_hip")]
    var = np.zeros((2, T, K))
    for a, b, keep in _windows(T):
        var[:, keep] = _marginal_keypoint_variance(H[a:b], c, G[a:b], root)[:, keep - a]
    return np.sqrt(np.maximum(sigma2 * var, 0.0))


def _windows(T: int, size: int = 120, margin: int = 15):
    """Overlapping windows ``(a, b, kept frames)`` covering ``0..T-1``: long sequences are
    handled window by window (the smoothness couples frames a few apart only)."""
    if T <= size:
        yield 0, T, np.arange(T)
        return
    step = size - 2 * margin
    for start in range(0, T, step):
        a, b = max(0, start - margin), min(T, start + step + margin)
        yield a, b, np.arange(start, min(T, start + step))


def _marginal_keypoint_variance(D: np.ndarray, c: float, G: np.ndarray, root: Sequence[int],
                                samples: int = 256) -> np.ndarray:
    """``(2, T, K)`` marginal variances of the keypoints, absolute and relative to the
    mean of the ``root`` keypoints, under the Gaussian with precision
    ``blockdiag(D_t) + c (Δ²ᵀΔ²) ⊗ I`` (Δ² the second difference over frames).

    The precision is banded (half-bandwidth 2P), so a banded Cholesky factor ``U``
    (``UᵀU = H``) gives exact samples ``U⁻¹ z``; the keypoints' variances are those of
    ``G_t x_t`` over ``samples`` draws (about 5 % relative error; fixed seed).
    """
    from scipy.linalg import cholesky_banded
    from scipy.linalg.lapack import dtbtrs

    T, P = D.shape[:2]
    n, u = T * P, (2 * P if T >= 3 and c > 0 else P - 1)
    ab = np.zeros((u + 1, n))
    i, j = np.triu_indices(P)
    cols = (np.arange(T)[:, None] * P + j).ravel()
    ab[np.tile(u - (j - i), T), cols] = D[:, i, j].ravel()
    if u == 2 * P:
        d2 = np.zeros((T - 2, T))
        d2[np.arange(T - 2), np.arange(T - 2)] = 1
        d2[np.arange(T - 2), np.arange(1, T - 1)] = -2
        d2[np.arange(T - 2), np.arange(2, T)] = 1
        S = c * d2.T @ d2
        for lag in (0, 1, 2):
            for t in range(T - lag):
                ab[u - lag * P, (t + lag) * P:(t + lag + 1) * P] += S[t, t + lag]
    U = cholesky_banded(ab, lower=False, check_finite=False)
    z = np.random.default_rng(0).standard_normal((n, samples))
    x, info = dtbtrs(U, z, uplo="U", trans="N", diag="N")
    if info != 0:
        raise RuntimeError(f"banded triangular solve failed (info={info})")
    dev = np.einsum("tkcp,tps->tkcs", G, x.reshape(T, P, samples))
    rel = dev - dev[:, list(root)].mean(1, keepdims=True)
    return np.stack([(dev**2).sum(2).mean(-1), (rel**2).sum(2).mean(-1)])


def write_body_npz(path: str | Path, fit: BodyFit,
                   source_frames: np.ndarray | None = None) -> Path:
    """``body.npz``: parameters per frame, vertices, faces, joints, keypoints (atomic write).

    Keys: ``model``, ``shape`` (and ``phenotype`` for Anny) with ``shape_names``, ``pose``
    ``(T, J, 3)`` with ``pose_bones``, ``global_orient``, ``transl`` (model axes),
    ``world_from_model`` ``(3, 3)``, ``frames``, ``times``, ``vertices (T, V, 3)``,
    ``faces``, ``joints (T, J', 3)`` with ``joint_names``, ``keypoints (T, K, 3)`` in
    ``layout``, ``residuals (T, K)`` (``residual_unit``), ``uncertainty (T, K)``,
    ``frame_uncertainty (T,)`` and ``pose_uncertainty (T, K)`` metres; for 2D fits, the
    camera's ``K``, ``dist``, ``R``, ``t`` and ``image_size``; ``source_frames (T,)``: the
    video frame of each fitted frame when given (a bundle's frame index).
    """
    path = Path(path)
    extra: dict[str, Any] = {}
    if source_frames is not None:
        sf = np.asarray(source_frames)
        if sf.shape != fit.frames.shape:
            raise InputError(f"source_frames must have shape {fit.frames.shape}; got {sf.shape}")
        extra["source_frames"] = sf.astype(np.int64)
    if fit.model == "anny":
        extra["phenotype"] = fit.params.shape
    if fit.camera is not None:
        c = fit.camera
        extra.update(camera_name=c.name, K=c.K, dist=c.dist, R=c.R, t=c.t,
                     image_size=np.array(c.size))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f, model=fit.model, shape=fit.params.shape, shape_names=np.array(fit.shape_names),
                pose=fit.params.pose, pose_bones=np.array(fit.pose_bones),
                global_orient=fit.params.global_orient, transl=fit.params.transl,
                world_from_model=fit.world_from_model, frames=fit.frames, times=fit.times,
                vertices=fit.vertices.astype(np.float32), faces=fit.faces.astype(np.int32),
                joints=fit.joints.astype(np.float32), joint_names=np.array(fit.joint_names),
                keypoints=fit.keypoints.astype(np.float32), residuals=fit.residuals,
                residual_unit=fit.residual_unit, uncertainty=fit.uncertainty,
                pose_uncertainty=(fit.pose_uncertainty if fit.pose_uncertainty is not None
                                  else np.full_like(fit.uncertainty, np.nan)),
                frame_uncertainty=fit.frame_uncertainty, layout=fit.layout, **extra)
    return path


def read_body_npz(path: str | Path) -> BodyFit:
    """Read a ``body.npz`` written by :func:`write_body_npz` back into a :class:`BodyFit`.

    The video frame of each fitted frame (``source_frames``, when stored) is in
    ``fit.source_frames``; else it equals ``fit.frames``.

    Raises:
        InputError: the file is missing or is not a posestack body file.
    """
    from ..multiview.calibration import Camera

    path = Path(path)
    if not path.is_file():
        raise InputError(f"body file not found: {path} (write one with `posestack body`)")
    import zipfile

    from ..io.bundle import damaged_file_error

    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:  # read every member now: a truncated one fails here, not later
                z = {k: loaded[k] for k in loaded.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise damaged_file_error(path, e, "posestack body file (.npz)") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise InputError(f"{path} is a single array, not a posestack body file (.npz); write "
                         "one with `posestack body`")
    need = ("model", "shape", "pose", "global_orient", "transl", "vertices", "faces",
            "frames", "times", "keypoints", "layout")
    missing = [k for k in need if k not in z]
    if missing:
        raise InputError(f"{path} is not a posestack body file (no {', '.join(missing)}); "
                         "write one with `posestack body`")
    camera = None
    if "K" in z:
        camera = Camera(str(z["camera_name"]), z["K"], z["dist"], z["R"], z["t"],
                        tuple(int(x) for x in z["image_size"]))
    T, K = z["keypoints"].shape[:2]
    get = lambda k, d: z[k] if k in z else d  # noqa: E731
    fit = BodyFit(
        BodyParams(z["shape"], z["pose"], z["global_orient"], z["transl"]), z["frames"],
        z["times"], z["vertices"].astype(np.float32), z["faces"].astype(np.int64),
        get("joints", np.zeros((T, 0, 3))).astype(float),
        tuple(str(x) for x in get("joint_names", ())), z["keypoints"].astype(float),
        get("residuals", np.full((T, K), np.nan)), get("uncertainty", np.full((T, K), np.nan)),
        get("frame_uncertainty", np.full(T, np.nan)), str(z["layout"]), str(z["model"]),
        str(get("residual_unit", "m")), 0.0, camera, get("world_from_model", np.eye(3)),
        tuple(str(x) for x in get("shape_names", ())),
        tuple(str(x) for x in get("pose_bones", ())))
    fit.source_frames = get("source_frames", fit.frames).astype(np.int64)
    fit.pose_uncertainty = get("pose_uncertainty", np.full((T, K), np.nan))
    return fit


def write_obj(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """One mesh as Wavefront OBJ (metres; faces 1-based), written atomically."""
    v = np.asarray(vertices, float)
    f = np.asarray(faces, int)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
        raise InputError(f"write_obj needs vertices (V, 3) and faces (F, 3); got {v.shape}, "
                         f"{f.shape}")
    if not np.isfinite(v).all():
        raise InputError("write_obj: vertices contain NaN or inf")
    if f.min() < 0 or f.max() >= len(v):
        raise InputError("faces index vertices out of range")
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w") as out:
            np.savetxt(out, v, fmt="v %.5f %.5f %.5f")
            np.savetxt(out, f + 1, fmt="f %d %d %d")
    return path
