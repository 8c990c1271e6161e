"""Anny (PyPI ``anny``, Apache-2.0) behind posestack's small body-model interface.

Parameters (:class:`BodyParams`, per person and sequence):

* ``phenotype`` ``(6,)`` in [0, 1]: Anny's ``gender, age, muscle, weight,
  height, proportions`` (one shape per person);
* ``pose`` ``(T, J, 3)`` rotation vectors (radians) of the articulated bones
  :data:`FIT_BONES` in Anny's ``local-ref`` parameterization (each bone's
  rotation relative to its parent, about axes aligned with the world at rest);
  all other bones (fingers, toes, eyes...) stay at rest;
* ``global_orient`` ``(T, 3)`` rotation vector and ``transl`` ``(T, 3)``
  metres: the root bone's world transform.

Outputs (:meth:`AnnyBody.forward`): ``vertices (T, V, 3)`` metres, ``faces (F, 3)``,
``joints (T, J, 3)`` (bone heads, :attr:`AnnyBody.joint_names`) and
``keypoints (T, 23, 3)``: COCO-17 plus the six foot points, regressed from
the vertices by Anny's own COCO regressor (``anny.KeypointsRegressor.coco``),
named as posestack keypoints (:data:`KEYPOINT_NAMES`), so any layout that has
those names (coco17, halpe26, coco_wholebody133...) can be fitted.

World axes: Anny's, Z up, metres; the rest pose faces -Y. Only Anny's default
(free) topology and rig are used; its SMPL-X topology (non-commercial) is not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import AssetError, InputError

__all__ = ["FIT_BONES", "KEYPOINT_NAMES", "PHENOTYPES", "AnnyBody", "BodyParams"]

PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")
#: Bones whose rotation is fitted (Anny's default 104-bone rig); the rest stay at rest.
FIT_BONES = (
    "spine05", "spine04", "spine03", "spine02", "spine01", "neck01", "neck02", "head",
    *(f"{b}.{s}" for s in "LR" for b in (
        "pelvis", "upperleg01", "upperleg02", "lowerleg01", "foot",
        "clavicle", "shoulder01", "upperarm01", "upperarm02", "lowerarm01", "lowerarm02",
        "wrist")),
)
#: Anny's COCO regressor labels (COCO-WholeBody body + feet), in its order.
KEYPOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_big_toe",
    "right_big_toe", "left_small_toe", "right_small_toe", "left_heel", "right_heel",
)


@dataclass
class BodyParams:
    """One person's parameters over T frames (see the module docstring)."""

    phenotype: np.ndarray      # (6,)
    pose: np.ndarray           # (T, len(FIT_BONES), 3) rotation vectors, radians
    global_orient: np.ndarray  # (T, 3) rotation vector, radians
    transl: np.ndarray         # (T, 3) metres

    @classmethod
    def rest(cls, frames: int, phenotype: Any = 0.5) -> BodyParams:
        """The rest pose at the origin for ``frames`` frames."""
        ph = np.broadcast_to(np.asarray(phenotype, float), (6,)).copy()
        return cls(ph, np.zeros((frames, len(FIT_BONES), 3)), np.zeros((frames, 3)),
                   np.zeros((frames, 3)))

    def check(self) -> None:
        T = self.transl.shape[0] if np.ndim(self.transl) == 2 else -1
        shapes = {"phenotype": (6,), "pose": (T, len(FIT_BONES), 3), "global_orient": (T, 3),
                  "transl": (T, 3)}
        for name, shape in shapes.items():
            a = np.asarray(getattr(self, name))
            if a.shape != shape or not np.isfinite(a).all():
                raise InputError(f"BodyParams.{name} must be finite with shape {shape}; got "
                                 f"{a.shape}")
        if np.any((self.phenotype < 0) | (self.phenotype > 1)):
            raise InputError("BodyParams.phenotype must lie in [0, 1]")


def _import():
    try:
        import anny
        import roma
        import torch
    except ImportError:
        raise AssetError("the body model needs the 'body' extra: pip install "
                         "'posestack[body]' (torch==2.13.0 and anny)") from None
    return torch, roma, anny


@lru_cache(maxsize=2)
def _load(dtype_name: str):
    torch, _, anny = _import()
    os.environ.setdefault("WARP_LOG_LEVEL", "error")
    model = anny.Anny().to(dtype=getattr(torch, dtype_name))
    model.eval()
    regressor = anny.KeypointsRegressor.coco(model, labels=None)
    labels = tuple(regressor.labels)
    if labels != KEYPOINT_NAMES:
        raise AssetError(f"anny's COCO regressor labels changed: {labels}")
    return model, regressor


class AnnyBody:
    """Anny's default body (13,718 vertices, 104 bones) as a differentiable function.

    ``AnnyBody()(params)`` gives numpy arrays; :meth:`forward_torch` the torch
    graph used by the fitter. Loading builds Anny's cache on first use (about
    40 s, in ``~/.cache/anny`` or ``ANNY_CACHE_DIR``), then takes < 1 s.
    """

    def __init__(self) -> None:
        self.torch, self.roma, _ = _import()
        self.model, self.regressor = _load("float32")
        labels = list(self.model.bone_labels)
        missing = [b for b in FIT_BONES if b not in labels]
        if missing:
            raise AssetError(f"anny's rig lacks the bones {missing}")
        self.bone_index = self.torch.tensor([labels.index(b) for b in FIT_BONES])
        self.joint_names: tuple[str, ...] = tuple(labels)
        self.faces: np.ndarray = self.model.faces.cpu().numpy().astype(np.int64)
        self.n_vertices = int(self.model.template_vertices.shape[0]) \
            if hasattr(self.model, "template_vertices") else -1

    # -- torch ---------------------------------------------------------------------------
    def forward_torch(self, phenotype, pose, global_orient, transl) -> dict:
        """Torch forward: ``phenotype (6,)`` or ``(T, 6)``, ``pose (T, J, 3)``,
        ``global_orient (T, 3)``, ``transl (T, 3)`` -> vertices, joints, keypoints."""
        torch, roma = self.torch, self.roma
        T = pose.shape[0]
        eye = torch.eye(4, dtype=pose.dtype)
        P = eye.expand(T, len(self.joint_names), 4, 4).clone()
        P[:, self.bone_index, :3, :3] = roma.rotvec_to_rotmat(pose)
        P[:, 0, :3, :3] = roma.rotvec_to_rotmat(global_orient)
        P[:, 0, :3, 3] = transl
        ph = phenotype.expand(T, 6) if phenotype.ndim == 1 else phenotype
        out = self.model(pose_parameters=P,
                         phenotype_kwargs={k: ph[:, i] for i, k in enumerate(PHENOTYPES)})
        joints = out["bone_poses"][:, :, :3, 3]
        return {"vertices": out["vertices"], "joints": joints,
                "keypoints": self.regressor(out)}

    # -- numpy ---------------------------------------------------------------------------
    def __call__(self, params: BodyParams, batch: int = 64) -> dict[str, np.ndarray]:
        """Vertices ``(T, V, 3)``, joints ``(T, 104, 3)``, keypoints ``(T, 23, 3)`` (metres)."""
        params.check()
        torch = self.torch
        outs: dict[str, list[np.ndarray]] = {"vertices": [], "joints": [], "keypoints": []}
        T = params.transl.shape[0]
        with torch.no_grad():
            for a in range(0, T, batch):
                b = min(T, a + batch)
                o = self.forward_torch(torch.as_tensor(params.phenotype, dtype=torch.float32),
                                       torch.as_tensor(params.pose[a:b], dtype=torch.float32),
                                       torch.as_tensor(params.global_orient[a:b],
                                                       dtype=torch.float32),
                                       torch.as_tensor(params.transl[a:b], dtype=torch.float32))
                for k in outs:
                    outs[k].append(o[k].numpy())
        return {k: np.concatenate(v) for k, v in outs.items()}
