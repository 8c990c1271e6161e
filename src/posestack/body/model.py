"""The small interface every parametric body in posestack offers.

A body model maps :class:`BodyParams` to vertices, joints and keypoints named
as posestack keypoints, so that :func:`posestack.body.fit.fit_body` can fit
any of them to any layout that shares those names:

* ``shape`` ``(S,)``, one per person: Anny's phenotype in [0, 1], SMPL's betas;
* ``pose`` ``(T, J, 3)`` rotation vectors (radians) of :attr:`ParametricBody.pose_bones`;
* ``global_orient`` ``(T, 3)`` rotation vector and ``transl`` ``(T, 3)`` metres.

Each model states its world axes (:attr:`ParametricBody.up`: the up axis of its rest
pose) and optional per-bone joint limits (:attr:`ParametricBody.limits`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["BodyParams", "JointLimit", "ParametricBody"]


@dataclass
class BodyParams:
    """One person's parameters over T frames (see the module docstring)."""

    shape: np.ndarray          # (S,)
    pose: np.ndarray           # (T, J, 3) rotation vectors, radians
    global_orient: np.ndarray  # (T, 3) rotation vector, radians
    transl: np.ndarray         # (T, 3) metres

    @property
    def phenotype(self) -> np.ndarray:
        """Anny's name for :attr:`shape`."""
        return self.shape

    @property
    def frames(self) -> int:
        return int(np.shape(self.transl)[0])

    @classmethod
    def rest(cls, frames: int, shape: Any = 0.5, bones: int | None = None,
             n_shape: int = 6) -> BodyParams:
        """The rest pose at the origin for ``frames`` frames (Anny's sizes by default)."""
        if bones is None:
            from .anny_body import FIT_BONES
            bones = len(FIT_BONES)
        s = np.broadcast_to(np.asarray(shape, float), (n_shape,)).copy()
        return cls(s, np.zeros((frames, bones, 3)), np.zeros((frames, 3)), np.zeros((frames, 3)))

    def slice(self, a: int, b: int) -> BodyParams:
        """Frames ``a:b`` (the shape is shared)."""
        return BodyParams(self.shape, self.pose[a:b], self.global_orient[a:b], self.transl[a:b])

    def check(self, model: ParametricBody | None = None) -> None:
        """Raise :class:`InputError` unless shapes agree, values are finite and in range."""
        T = self.transl.shape[0] if np.ndim(self.transl) == 2 else -1
        n_shape = len(model.shape_names) if model is not None else np.shape(self.shape)[0]
        bones = len(model.pose_bones) if model is not None else np.shape(self.pose)[1]
        label = "phenotype" if model is not None and model.name == "anny" else "shape"
        shapes = {label: (self.shape, (n_shape,)), "pose": (self.pose, (T, bones, 3)),
                  "global_orient": (self.global_orient, (T, 3)), "transl": (self.transl, (T, 3))}
        for name, (value, shape) in shapes.items():
            a = np.asarray(value)
            if a.shape != shape or not np.isfinite(a).all():
                raise InputError(f"BodyParams.{name} must be finite with shape {shape}; got "
                                 f"{a.shape}" + ("" if a.shape != shape else " with NaN/inf"))
        if model is not None and model.shape_bounds is not None:
            lo, hi = model.shape_bounds
            if np.any((self.shape < lo) | (self.shape > hi)):
                raise InputError(f"BodyParams.{label} must lie in [{lo}, {hi}]")


@dataclass(frozen=True)
class JointLimit:
    """Box limits on a bone's rotation vector expressed in a frame.

    ``frame`` ``(3, 3)``: columns are the axes (in the bone's local-ref axes);
    the components ``frame.T @ rotvec`` must lie in ``[lo, hi]`` (radians).
    """

    frame: tuple[tuple[float, float, float], ...]
    lo: tuple[float, float, float]
    hi: tuple[float, float, float]


class ParametricBody:
    """Base of the body models (:class:`~posestack.body.anny_body.AnnyBody`,
    :class:`~posestack.body.smpl_body.SMPLBody`).

    Subclasses set the attributes below and implement :meth:`forward_torch`.
    """

    name: str = "body"
    #: Names of the shape coefficients (``S``).
    shape_names: tuple[str, ...] = ()
    #: ``(lo, hi)`` when the shape is bounded (Anny: [0, 1]); None: Gaussian prior around 0.
    shape_bounds: tuple[float, float] | None = None
    #: Bones whose rotation vectors make up ``BodyParams.pose``.
    pose_bones: tuple[str, ...] = ()
    #: Model keypoints, named as posestack keypoints.
    keypoint_names: tuple[str, ...] = ()
    #: All joints of the rig (``joints`` output).
    joint_names: tuple[str, ...] = ()
    #: The rest pose's up axis in the model's world ("z" or "y").
    up: str = "z"
    #: The rest pose's facing direction (unit vector in the model's world).
    forward: tuple[float, float, float] = (0.0, -1.0, 0.0)
    #: Per-bone joint limits by bone name.
    limits: dict[str, JointLimit] = {}  # noqa: RUF012 (class-level default, never mutated)
    faces: np.ndarray

    def default_shape(self) -> np.ndarray:
        """The shape to start fitting from (the mean)."""
        if self.shape_bounds is not None:
            return np.full(len(self.shape_names), 0.5 * sum(self.shape_bounds))
        return np.zeros(len(self.shape_names))

    def rest_params(self, frames: int) -> BodyParams:
        return BodyParams(self.default_shape(), np.zeros((frames, len(self.pose_bones), 3)),
                          np.zeros((frames, 3)), np.zeros((frames, 3)))

    def forward_torch(self, shape: Any, pose: Any, global_orient: Any, transl: Any, *,
                      mesh: bool = True) -> dict[str, Any]:
        """Torch forward: ``shape (S,)``, ``pose (T, J, 3)``, ``global_orient (T, 3)``,
        ``transl (T, 3)`` -> ``keypoints (T, K, 3)``, ``joints (T, J', 3)`` and, with
        ``mesh``, ``vertices (T, V, 3)`` (metres, the model's axes)."""
        raise NotImplementedError

    def __call__(self, params: BodyParams, batch: int = 64) -> dict[str, np.ndarray]:
        """Numpy outputs: ``vertices (T, V, 3)``, ``joints (T, J', 3)``,
        ``keypoints (T, K, 3)`` (metres, the model's axes)."""
        params.check(self)
        torch = self.torch  # type: ignore[attr-defined]
        outs: dict[str, list[np.ndarray]] = {"vertices": [], "joints": [], "keypoints": []}
        f32 = torch.float32
        with torch.no_grad():
            for a in range(0, params.frames, batch):
                p = params.slice(a, min(params.frames, a + batch))
                o = self.forward_torch(torch.as_tensor(p.shape, dtype=f32),
                                       torch.as_tensor(p.pose, dtype=f32),
                                       torch.as_tensor(p.global_orient, dtype=f32),
                                       torch.as_tensor(p.transl, dtype=f32))
                for k in outs:
                    outs[k].append(o[k].numpy().astype(float))
        return {k: np.concatenate(v) for k, v in outs.items()}
