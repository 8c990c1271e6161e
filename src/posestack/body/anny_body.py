"""Anny (PyPI ``anny``, Apache-2.0) behind posestack's body-model interface.

Parameters (:class:`~posestack.body.model.BodyParams`, per person and sequence):

* ``shape`` (alias ``phenotype``) ``(6,)`` in [0, 1]: Anny's ``gender, age,
  muscle, weight, height, proportions`` (one shape per person);
* ``pose`` ``(T, 63, 3)`` rotation vectors (radians) of :data:`FIT_BONES` (33
  body bones then 15 finger bones per hand) in Anny's ``local-ref``
  parameterization (each bone's rotation relative to its parent, about axes
  aligned with the world at rest); the other bones (toes, metacarpals, eyes)
  stay at rest;
* ``global_orient`` ``(T, 3)`` rotation vector and ``transl`` ``(T, 3)``
  metres: the root bone's world transform.

Outputs (:meth:`AnnyBody.forward_torch`): ``vertices (T, V, 3)`` metres,
``faces (F, 3)``, ``joints (T, 104, 3)`` (bone heads, :attr:`AnnyBody.joint_names`)
and ``keypoints (T, 65, 3)`` named as posestack keypoints (:data:`KEYPOINT_NAMES`):

* COCO-17 and the six foot points, regressed from the vertices by Anny's own
  COCO regressor (``anny.KeypointsRegressor.coco``);
* the 21 COCO-WholeBody points of each hand: the wrist bone's head for the hand
  root, the heads of the three finger bones for the finger joints (the thumb's
  first bone starts at its carpometacarpal joint), and for each fingertip the
  skin vertex furthest along the last finger bone.

Anny is a linear-blend-skinned mesh, so every keypoint is a fixed linear
combination of the rest vertices moved by the bone transforms:
``k = sum_j B_j M_kj`` with ``M`` depending on the shape only. The fitter uses
that (``mesh=False``): it skins 65 points instead of 13,718 vertices (~6x
faster, same values to 1e-4 m).

World axes: Anny's, Z up, metres; the rest pose faces -Y, the body's left is +X.
Only Anny's default (free) topology and rig are used; its SMPL-X topology
(non-commercial) is not.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import AssetError
from .model import BodyParams, JointLimit, ParametricBody

__all__ = ["BODY_BONES", "FIT_BONES", "HAND_BONES", "KEYPOINT_NAMES", "PHENOTYPES", "AnnyBody",
           "BodyParams"]

PHENOTYPES = ("gender", "age", "muscle", "weight", "height", "proportions")
_LIMB = ("pelvis", "upperleg01", "upperleg02", "lowerleg01", "foot", "clavicle", "shoulder01",
         "upperarm01", "upperarm02", "lowerarm01", "lowerarm02", "wrist")
#: Trunk, neck, head and limb bones (Anny's default 104-bone rig).
BODY_BONES = ("spine05", "spine04", "spine03", "spine02", "spine01", "neck01", "neck02",
              "neck03", "head", *(f"{b}.{s}" for s in "LR" for b in _LIMB))
#: Finger bones: finger1 is the thumb ... finger5 the little finger.
HAND_BONES = tuple(f"finger{f}-{i}.{s}" for s in "LR" for f in range(1, 6) for i in (1, 2, 3))
#: Bones whose rotation is fitted; the rest stay at rest.
FIT_BONES = BODY_BONES + HAND_BONES

#: Anny's COCO regressor labels (COCO-WholeBody body + feet), in its order.
COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_big_toe",
    "right_big_toe", "left_small_toe", "right_small_toe", "left_heel", "right_heel",
)
_FINGERS = ("thumb", "forefinger", "middle_finger", "ring_finger", "pinky_finger")
#: posestack hand keypoint -> ("joint", bone) or ("tip", bone).
HAND_POINTS: dict[str, tuple[str, str]] = {}
for _side, _s in (("left", "L"), ("right", "R")):
    HAND_POINTS[f"{_side}_hand_root"] = ("joint", f"wrist.{_s}")
    for _f, _name in enumerate(_FINGERS, start=1):
        for _i in (1, 2, 3):
            HAND_POINTS[f"{_side}_{_name}{_i}"] = ("joint", f"finger{_f}-{_i}.{_s}")
        HAND_POINTS[f"{_side}_{_name}4"] = ("tip", f"finger{_f}-3.{_s}")
#: The model's keypoints: COCO-17 + feet (regressed), then both hands' 21 points.
KEYPOINT_NAMES = COCO_NAMES + tuple(HAND_POINTS)


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
    os.environ.setdefault("WARP_LOG_LEVEL", "error")
    try:    # anny skins with NVIDIA warp, which prints its device banner unless told not to
        import warp
        warp.config.quiet = True
        if hasattr(warp, "LOG_WARNING"):
            warp.config.log_level = warp.LOG_WARNING
    except ImportError:
        pass
    torch, _, anny = _import()
    model = anny.Anny().to(dtype=getattr(torch, dtype_name))
    model.eval()
    regressor = anny.KeypointsRegressor.coco(model, labels=None)
    labels = tuple(regressor.labels)
    if labels != COCO_NAMES:
        raise AssetError(f"anny's COCO regressor labels changed: {labels}")
    return model, regressor


def _axis_frame(axis: np.ndarray, second: np.ndarray) -> tuple[tuple[float, ...], ...]:
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    b = np.asarray(second, float) - a * (a @ second)
    b /= np.linalg.norm(b)
    return tuple(tuple(float(x) for x in row) for row in np.stack([a, b, np.cross(a, b)], 1))


def _limits(joints: dict[str, np.ndarray]) -> dict[str, JointLimit]:
    """Soft joint limits (radians) in each bone's local-ref axes (X left, Y back, Z up).

    Hinges (knees, elbows) bend one way; the trunk, neck and twist bones turn
    little; the ball joints (hips, shoulders) and hands are only kept from
    wrapping around. Ranges follow the usual clinical ranges of motion.
    """
    eye = _axis_frame(np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
    box = lambda lo, hi, f=eye: JointLimit(f, lo, hi)  # noqa: E731
    out: dict[str, JointLimit] = {}
    for b in ("spine05", "spine04", "spine03", "spine02", "spine01"):
        out[b] = box((-0.45, -0.3, -0.3), (0.45, 0.3, 0.3))
    for b in ("neck01", "neck02", "neck03", "head"):
        out[b] = box((-0.6, -0.45, -0.6), (0.6, 0.45, 0.6))
    for s in "LR":
        # knee: flexion is +X (the shin swings back, to +Y); a little twist and varus/valgus
        out[f"lowerleg01.{s}"] = box((-0.05, -0.25, -0.35), (2.6, 0.25, 0.35))
        # hip: flexion is -X (the thigh swings forward, to -Y)
        out[f"upperleg01.{s}"] = box((-2.2, -0.9, -0.9), (0.5, 0.9, 0.9))
        out[f"foot.{s}"] = box((-0.9, -0.5, -0.6), (0.9, 0.5, 0.6))
        for b in ("upperleg02", "lowerarm02", "upperarm02"):
            out[f"{b}.{s}"] = box((-0.6, -0.6, -0.6), (0.6, 0.6, 0.6))
        for b in ("pelvis", "clavicle", "shoulder01"):
            out[f"{b}.{s}"] = box((-0.4, -0.4, -0.4), (0.4, 0.4, 0.4))
        out[f"upperarm01.{s}"] = box((-2.6, -2.6, -2.6), (2.6, 2.6, 2.6))
        out[f"wrist.{s}"] = box((-1.3, -1.3, -1.3), (1.3, 1.3, 1.3))
        # elbow: the axis normal to the upper arm and forearm at rest; the rest pose is
        # already flexed, so extension stops at minus the rest angle.
        u = joints[f"lowerarm01.{s}"] - joints[f"upperarm01.{s}"]
        f = joints[f"wrist.{s}"] - joints[f"lowerarm01.{s}"]
        rest = float(np.arccos(float(u @ f) / float(np.linalg.norm(u) * np.linalg.norm(f))))
        out[f"lowerarm01.{s}"] = box((-rest, -0.3, -0.3), (2.6 - rest, 0.3, 0.3),
                                     _axis_frame(np.cross(u, f), u))
        for fi in range(1, 6):
            for i in (1, 2, 3):
                out[f"finger{fi}-{i}.{s}"] = box((-1.6, -1.6, -1.6), (1.6, 1.6, 1.6))
    return out


class AnnyBody(ParametricBody):
    """Anny's default body (13,718 vertices, 104 bones) as a differentiable function.

    ``AnnyBody()(params)`` gives numpy arrays; :meth:`forward_torch` the torch
    graph used by the fitter. Loading builds Anny's cache on first use (about
    40 s, in ``~/.cache/anny`` or ``ANNY_CACHE_DIR``), then takes < 1 s.
    """

    name = "anny"
    shape_names = PHENOTYPES
    shape_bounds = (0.0, 1.0)
    pose_bones = FIT_BONES
    keypoint_names = KEYPOINT_NAMES
    up = "z"
    forward = (0.0, -1.0, 0.0)

    def __init__(self) -> None:
        self.torch, self.roma, _ = _import()
        torch = self.torch
        self.model, self.regressor = _load("float32")
        labels = list(self.model.bone_labels)
        missing = [b for b in FIT_BONES if b not in labels]
        if missing:
            raise AssetError(f"anny's rig lacks the bones {missing}")
        self.bone_index = torch.tensor([labels.index(b) for b in FIT_BONES])
        self.joint_names: tuple[str, ...] = tuple(labels)
        self.faces: np.ndarray = self.model.faces.cpu().numpy().astype(np.int64)
        self.n_vertices = int(self.model.template_vertices.shape[0])
        self._build_keypoint_map()

    # -- keypoints as a linear map of the rest vertices and bone heads -----------------------
    def _build_keypoint_map(self) -> None:
        torch = self.torch
        m, J, V = self.model, len(self.joint_names), self.n_vertices
        with torch.no_grad():
            rest = self.rest_model(torch.full((6,), 0.5))
        rest_v = rest["rest_vertices"][0].numpy()
        heads = rest["rest_bone_poses"][0, :, :3, 3].numpy()
        idx = m.vertex_bone_indices.cpu().numpy()
        wts = m.vertex_bone_weights.cpu().numpy()
        dominant = idx[np.arange(V), wts.argmax(1)]
        self.tip_vertex: dict[str, int] = {}
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        W = self.regressor.regression_weights.cpu().numpy()
        for k, name in enumerate(KEYPOINT_NAMES):
            if k < len(COCO_NAMES):
                v = np.flatnonzero(W[k])
                w = W[k, v]
            else:
                kind, bone = HAND_POINTS[name]
                j = self.joint_names.index(bone)
                if kind == "joint":      # a bone head: skinned by its own bone only
                    rows.append(np.array([k * J + j]))
                    cols.append(np.array([V + j]))
                    vals.append(np.array([1.0]))
                    continue
                parent = int(m.bone_parents[j])
                d = heads[j] - heads[parent]
                cand = np.flatnonzero(dominant == j)
                v = np.array([cand[np.argmax((rest_v[cand] - heads[j]) @ d)]])
                w = np.array([1.0])
                self.tip_vertex[name] = int(v[0])
            rows.append((k * J + idx[v]).ravel())
            cols.append(np.repeat(v, idx.shape[1]))
            vals.append((w[:, None] * wts[v]).ravel())
        r, c, x = (np.concatenate(a) for a in (rows, cols, vals))
        keep = x != 0
        self._kp_map = torch.sparse_coo_tensor(
            torch.as_tensor(np.stack([r[keep], c[keep]])), torch.as_tensor(x[keep],
                                                                           dtype=torch.float32),
            (len(KEYPOINT_NAMES) * J, V + J), check_invariants=True).coalesce()
        joints = dict(zip(self.joint_names, heads, strict=True))
        self.limits = _limits(joints)

    def rest_model(self, phenotype: Any) -> dict:
        """Anny's rest model (``rest_vertices (1, V, 3)``, ``rest_bone_poses (1, J, 4, 4)``...)
        for a torch phenotype ``(6,)``."""
        m = self.model
        kw = {k: phenotype[None, i] for i, k in enumerate(PHENOTYPES)}
        _, ph, local, face = m.get_tensor_inputs(None, kw, None, None)
        return m.get_rest_model(m._get_phenotype_blendshape_coefficients(ph, local, face))

    def pose_matrices(self, pose: Any, global_orient: Any, transl: Any) -> Any:
        """Anny's ``local-ref`` pose parameters ``(T, 104, 4, 4)`` from posestack's pose
        ``(T, 63, 3)``, root rotation ``(T, 3)`` and translation ``(T, 3)`` (torch)."""
        torch, roma = self.torch, self.roma
        T = pose.shape[0]
        P = torch.eye(4, dtype=pose.dtype).expand(T, len(self.joint_names), 4, 4).clone()
        P[:, self.bone_index, :3, :3] = roma.rotvec_to_rotmat(pose)
        P[:, 0, :3, :3] = roma.rotvec_to_rotmat(global_orient)
        P[:, 0, :3, 3] = transl
        return P

    # -- torch ---------------------------------------------------------------------------
    def forward_torch(self, shape: Any, pose: Any, global_orient: Any, transl: Any, *,
                      mesh: bool = True) -> dict[str, Any]:
        """Torch forward: ``shape (6,)`` phenotype in [0, 1], ``pose (T, 63, 3)``,
        ``global_orient (T, 3)``, ``transl (T, 3)`` -> ``keypoints (T, 65, 3)``,
        ``joints (T, 104, 3)`` and, with ``mesh``, ``vertices (T, 13718, 3)`` (metres)."""
        torch = self.torch
        rest = self.rest_model(shape)
        bone_transforms, bone_poses = self.model.get_bone_transforms(
            self.pose_matrices(pose, global_orient, transl), rest["rest_bone_poses"])
        J = len(self.joint_names)
        pts = torch.cat([rest["rest_vertices"][0], rest["rest_bone_poses"][0, :, :3, 3]])
        pts = torch.cat([pts, torch.ones_like(pts[:, :1])], 1)
        M = torch.sparse.mm(self._kp_map, pts).reshape(len(KEYPOINT_NAMES), J, 4)
        out = {"keypoints": torch.einsum("tjab,kjb->tka", bone_transforms[:, :, :3, :], M),
               "joints": bone_poses[:, :, :3, 3]}
        if mesh:
            out["vertices"] = self.model.get_skinned_vertices(
                rest["rest_vertices"].expand(pose.shape[0], -1, -1), bone_transforms)
        return out
