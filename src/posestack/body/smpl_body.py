"""SMPL, SMPL-H, SMPL-X and MANO (through the ``smplx`` package) behind posestack's body interface.

The model files are not part of posestack and cannot be downloaded by it: each
needs a free registration and is under the Max Planck Institute's
non-commercial licence (so is the ``smplx`` package itself, which is why it is
an optional install: ``pip install smplx==0.1.28``). Download them yourself and
give :class:`SMPLBody` the path:

* SMPL (``SMPL_NEUTRAL.pkl``/``.npz`` ...): https://smpl.is.tue.mpg.de
* SMPL-H and MANO (``SMPLH_MALE.pkl``, ``MANO_RIGHT.pkl`` ...): https://mano.is.tue.mpg.de
* SMPL-X (``SMPLX_NEUTRAL.npz`` ...): https://smpl-x.is.tue.mpg.de

Parameters (:class:`~posestack.body.model.BodyParams`):

* ``shape`` ``(S,)``: the betas (``beta0`` ...), unbounded, one per person (the
  fitter puts a Gaussian prior on them); SMPL-X's expression stays at zero;
* ``pose`` ``(T, J, 3)`` rotation vectors (radians) of :attr:`SMPLBody.pose_bones`,
  each joint's rotation relative to its parent about axes parallel to the model's
  world axes at rest (SMPL's own convention). SMPL: the 23 joints after the pelvis;
  SMPL-H: 21 body joints and 15 per hand; SMPL-X: those and the jaw (the eyeballs
  stay at rest); MANO: the 15 finger joints. Zero finger rotations give the flat
  hand (smplx's ``flat_hand_mean=True``, no hand PCA);
* ``global_orient`` ``(T, 3)`` and ``transl`` ``(T, 3)`` metres: the root joint's
  (pelvis or wrist) rotation and smplx's translation.

World axes: the models' own, metres, Y up; the rest pose faces +Z and the body's
left is +X (the T-pose, palms down).

Keypoints (:attr:`SMPLBody.keypoint_names`), named as posestack keypoints, each a
fixed linear function of the posed joints and vertices (see :data:`KEYPOINT_SOURCES`):

* shoulders, elbows, wrists, hips, knees, ankles: smplx's joints of those names.
  These are joint centres regressed inside the body, not surface landmarks, so they
  approximate the COCO points: SMPL's hip joints lie medial to COCO's (lateral)
  hips, its shoulder joints lower and more medial than COCO's shoulders;
* nose, eyes, ears, big/small toes and heels: smplx's ``vertex_ids`` (the
  SMPL-to-COCO/OpenPose correspondences it ships; plain SMPL uses the SMPL-H ones,
  the two share the 6,890-vertex mesh);
* hands (SMPL-H, SMPL-X, MANO; the 21 COCO-WholeBody points): the wrist joint for
  the hand root, the three finger joints (``thumb1`` is the thumb's carpometacarpal
  joint, ``index1`` the index knuckle ...) and smplx's fingertip vertices for
  ``*4``; SMPL, whose hand is rigid, has only the hand roots (= the wrists);
* SMPL-X only: the 51 face landmarks smplx computes from ``lmk_faces_idx`` /
  ``lmk_bary_coords`` as ``face_17`` ... ``face_67`` (the 68-point iBUG layout
  without the jaw contour, as SMPLify-X pairs them with OpenPose's face points).

MANO bodies have hand points only (``right_*`` or ``left_*``), so
:func:`~posestack.body.fit.fit_body`, which needs hips and shoulders, cannot fit
them; use them through :meth:`SMPLBody.forward_torch`.

Joint limits (:attr:`SMPLBody.limits`): the knees and elbows as hinges (flexion
0 to 2.6 rad, little twist and side bend); none on the other joints.

Loading: ``.npz`` files are read with numpy, ``.pkl`` files with a restricted
unpickler that only builds numpy arrays (and reads the ``chumpy`` and
``scipy.sparse`` objects of the original SMPL/SMPL-H/MANO pickles as plain
arrays, so chumpy, which breaks on numpy >= 1.24, is not needed). SMPL, SMPL-H and
MANO reach smplx as arrays; smplx reads SMPL-X ``.npz`` files itself (with
``allow_pickle=True``: use files you trust), and a SMPL-X ``.pkl`` goes to it as
a temporary ``.npz`` of its cleaned arrays.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AssetError, InputError
from .model import JointLimit, ParametricBody

__all__ = ["JOINTS", "KEYPOINT_SOURCES", "KINDS", "SMPLBody", "keypoints_of"]

#: The model kinds :class:`SMPLBody` loads.
KINDS = ("smpl", "smplh", "smplx", "mano")
_LABEL = {"smpl": "SMPL", "smplh": "SMPL-H", "smplx": "SMPL-X", "mano": "MANO"}
_SITE = {"smpl": "https://smpl.is.tue.mpg.de", "smplh": "https://mano.is.tue.mpg.de",
         "smplx": "https://smpl-x.is.tue.mpg.de", "mano": "https://mano.is.tue.mpg.de"}
_FILE_STEM = {"smpl": "SMPL", "smplh": "SMPLH", "smplx": "SMPLX", "mano": "MANO"}
#: (vertices, joints) of each kind.
_SIZES = {"smpl": (6890, 24), "smplh": (6890, 52), "smplx": (10475, 55), "mano": (778, 16)}

#: Finger order of smplx's and MANO's hand joints, and posestack's name of each finger.
_HAND_ORDER = ("index", "middle", "pinky", "ring", "thumb")
_FINGER_NAMES = {"thumb": "thumb", "index": "forefinger", "middle": "middle_finger",
                 "ring": "ring_finger", "pinky": "pinky_finger"}

_BODY_JOINTS = ("pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee",
                "spine2", "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot",
                "neck", "left_collar", "right_collar", "head", "left_shoulder",
                "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")
_BODY_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)


def _hand_joints(side: str) -> tuple[str, ...]:
    return tuple(f"{side}_{f}{i}" for f in _HAND_ORDER for i in (1, 2, 3))


def _hand_parents(root: int, first: int) -> tuple[int, ...]:
    out: list[int] = []
    for f in range(5):
        a = first + 3 * f
        out += [root, a, a + 1]
    return tuple(out)


#: Each kind's joints (smplx's names; SMPL-X's eyeball joints renamed ``*_eyeball``; MANO:
#: a right hand, ``left_*`` for a left one).
JOINTS = {
    "smpl": (*_BODY_JOINTS, "left_hand", "right_hand"),
    "smplh": (*_BODY_JOINTS, *_hand_joints("left"), *_hand_joints("right")),
    "smplx": (*_BODY_JOINTS, "jaw", "left_eyeball", "right_eyeball", *_hand_joints("left"),
              *_hand_joints("right")),
    "mano": ("right_wrist", *_hand_joints("right")),
}
_PARENTS = {
    "smpl": (*_BODY_PARENTS, 20, 21),
    "smplh": (*_BODY_PARENTS, *_hand_parents(20, 22), *_hand_parents(21, 37)),
    "smplx": (*_BODY_PARENTS, 15, 15, 15, *_hand_parents(20, 25), *_hand_parents(21, 40)),
    "mano": (-1, *_hand_parents(0, 1)),
}

_JOINT_KEYPOINTS = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
                    "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                    "right_knee", "left_ankle", "right_ankle")
#: posestack keypoint -> smplx ``vertex_ids`` label (SMPL/SMPL-H/SMPL-X).
_VERTEX_KEYPOINTS = {"nose": "nose", "left_eye": "leye", "right_eye": "reye",
                     "left_ear": "lear", "right_ear": "rear", "left_big_toe": "LBigToe",
                     "left_small_toe": "LSmallToe", "left_heel": "LHeel",
                     "right_big_toe": "RBigToe", "right_small_toe": "RSmallToe",
                     "right_heel": "RHeel"}
#: SMPL-X's 51 static face landmarks are the iBUG-68 points 17..67.
_FACE_FIRST = 17
_N_LANDMARKS = 51

_WANTED = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f",
           "hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr",
           "hands_components", "hands_mean", "lmk_faces_idx", "lmk_bary_coords")
_REQUIRED = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table",
             "f")
_HAND_KEYS = {"smplh": ("hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr"),
              "smplx": ("hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr"),
              "mano": ("hands_components", "hands_mean")}


def _side_joints(kind: str, is_rhand: bool) -> tuple[str, ...]:
    if kind != "mano" or is_rhand:
        return JOINTS[kind]
    return ("left_wrist", *_hand_joints("left"))


def _keypoint_sources(kind: str, is_rhand: bool = True) -> dict[str, tuple[str, Any]]:
    """posestack keypoint -> ("joint", joint name) | ("vertex", smplx vertex_ids label) |
    ("landmark", index), in coco_wholebody133 order."""
    src: dict[str, tuple[str, Any]] = {}
    if kind != "mano":
        for name in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"):
            src[name] = ("vertex", _VERTEX_KEYPOINTS[name])
        for name in _JOINT_KEYPOINTS:
            src[name] = ("joint", name)
        for name in ("left_big_toe", "left_small_toe", "left_heel", "right_big_toe",
                     "right_small_toe", "right_heel"):
            src[name] = ("vertex", _VERTEX_KEYPOINTS[name])
        if kind == "smplx":
            for i in range(_N_LANDMARKS):
                src[f"face_{_FACE_FIRST + i}"] = ("landmark", i)
    sides = ("left", "right") if kind != "mano" else (("right",) if is_rhand else ("left",))
    for side in sides:
        src[f"{side}_hand_root"] = ("joint", f"{side}_wrist")
        if kind == "smpl":
            continue
        for finger in ("thumb", "index", "middle", "ring", "pinky"):
            ps = _FINGER_NAMES[finger]
            for i in (1, 2, 3):
                src[f"{side}_{ps}{i}"] = ("joint", f"{side}_{finger}{i}")
            label = finger if kind == "mano" else f"{side[0]}{finger}"
            src[f"{side}_{ps}4"] = ("vertex", label)
    # sort by the coco_wholebody133 order
    from ..skeletons import get_skeleton
    order = get_skeleton("coco_wholebody133").keypoints
    return {n: src[n] for n in sorted(src, key=order.index)}


#: Where each kind's keypoints come from: posestack keypoint -> ("joint", smplx joint name),
#: ("vertex", label in ``smplx.vertex_ids.vertex_ids``) or ("landmark", SMPL-X landmark index).
#: (MANO: the right hand; a left-hand body names them ``left_*``.)
KEYPOINT_SOURCES: dict[str, dict[str, tuple[str, Any]]] = {}


def _import():
    try:
        import roma
        import smplx
        import torch
    except ImportError:
        raise AssetError("SMPLBody needs torch, roma and smplx: pip install 'posestack[body]' "
                         "smplx==0.1.28 (smplx and the SMPL-family models are under the Max "
                         "Planck Institute's non-commercial licence)") from None
    return torch, roma, smplx


# -- reading model files ----------------------------------------------------------------------

class _Chumpy:
    """Stands in for a pickled chumpy object: keeps its state (the array is ``x``)."""

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _Sparse:
    """Stands in for a pickled scipy.sparse matrix (rebuilt dense by :func:`_to_array`)."""

    format = ""

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _sparse_class(fmt: str) -> type:
    return type(f"_Sparse_{fmt}", (_Sparse,), {"format": fmt})


_SAFE = {("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"),
         ("__builtin__", "object"), ("builtins", "object"), ("__builtin__", "set"),
         ("builtins", "set"), ("__builtin__", "frozenset"), ("builtins", "frozenset"),
         ("collections", "OrderedDict"), ("_codecs", "encode")}


class _ModelUnpickler(pickle.Unpickler):
    """Builds only numpy arrays, plain containers and stand-ins for chumpy/scipy.sparse."""

    def find_class(self, module: str, name: str) -> Any:
        top = module.split(".")[0]
        if top == "chumpy":
            return _Chumpy
        if module.startswith("scipy.sparse"):
            for fmt in ("csc", "csr", "coo"):
                if name.startswith(fmt):
                    return _sparse_class(fmt)
        if top == "numpy":
            if module.startswith("numpy.core") and hasattr(np, "_core"):   # numpy 2 names
                module = "numpy._core" + module[len("numpy.core"):]
            return super().find_class(module, name)
        if (module, name) in _SAFE:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected object {module}.{name}")


def _to_array(value: Any, key: str, path: Path) -> np.ndarray:
    if isinstance(value, _Chumpy):
        state = value.state if isinstance(value.state, dict) else {}
        x = state.get("x")
        if x is None:
            raise AssetError(f"{path}: '{key}' is a chumpy expression this loader cannot "
                             "evaluate; convert the file to plain numpy arrays (e.g. with "
                             "smplx's tools/clean_ch.py) or use the .npz release")
        return _to_array(x, key, path)
    if isinstance(value, _Sparse):
        import scipy.sparse as sp

        s = value.state if isinstance(value.state, dict) else {}
        shape = s.get("_shape", s.get("shape"))
        try:
            if value.format == "coo":
                m = sp.coo_matrix((s["data"], (s["row"], s["col"])), shape=shape)
            else:
                cls = sp.csc_matrix if value.format == "csc" else sp.csr_matrix
                m = cls((s["data"], s["indices"], s["indptr"]), shape=shape)
        except (KeyError, TypeError, ValueError):
            raise AssetError(f"{path}: '{key}' is a sparse matrix that cannot be read; "
                             "download the model file again") from None
        return np.asarray(m.toarray())
    try:
        a = np.asarray(value)
    except (TypeError, ValueError):
        a = np.asarray(None)
    if a.dtype == object:
        raise AssetError(f"{path}: '{key}' is not a numeric array; the file is not a model "
                         "file or is damaged: download it again")
    return a


def _read(path: Path, label: str) -> dict[str, np.ndarray]:
    """The model arrays of an ``.npz`` or ``.pkl`` file (only the keys smplx uses)."""
    bad = (f"cannot read {path} as a {label} model file ({{}}); download it again from "
           f"the model's website")
    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: np.asarray(z[k]) for k in _WANTED if k in z.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise AssetError(bad.format(e)) from None
    try:
        with open(path, "rb") as f:
            obj = _ModelUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError,
            TypeError, ValueError, OSError) as e:
        raise AssetError(bad.format(e)) from None
    if not isinstance(obj, dict):
        raise AssetError(bad.format(f"it holds a {type(obj).__name__}, not a dict of arrays"))
    return {k: _to_array(obj[k], k, path) for k in _WANTED if k in obj}


def _kind_of(V: int, J: int) -> str | None:
    for k, size in _SIZES.items():
        if size == (V, J):
            return k
    return None


def _check(data: dict[str, np.ndarray], kind: str, path: Path) -> None:
    """Raise AssetError unless ``data`` is a complete model of ``kind``."""
    label = _LABEL[kind]
    V0, J0 = _SIZES[kind]
    fix = f"give the path of a {label} model file ({_SITE[kind]})"
    other = None
    if "v_template" in data and "J_regressor" in data:
        v, j = np.shape(data["v_template"]), np.shape(data["J_regressor"])
        if len(v) == 2 and len(j) == 2:
            V, J = v[0], j[0]
            other = _kind_of(V, J)
            if (V, J) != (V0, J0):
                if other is not None:
                    raise AssetError(
                        f"{path} is a {_LABEL[other]} model file ({V} vertices, {J} joints), "
                        f"not {label} ({V0} vertices, {J0} joints): pass kind='{other}' or "
                        f"{fix}")
                raise AssetError(f"{path} has {V} vertices and {J} joints; a {label} model has "
                                 f"{V0} and {J0}: {fix}")
    required = _REQUIRED + (("lmk_faces_idx", "lmk_bary_coords") if kind == "smplx" else ())
    missing = [k for k in required if k not in data]
    if missing:
        raise AssetError(f"{path} is not a {label} model file: it lacks "
                         f"{', '.join(missing)}; {fix}")
    P = 9 * (J0 - 1)
    shapes: dict[str, tuple[int | None, ...]] = {
        "v_template": (V0, 3), "shapedirs": (V0, 3, None), "posedirs": (V0, 3, P),
        "J_regressor": (J0, V0), "weights": (V0, J0), "kintree_table": (2, J0),
        "f": (None, 3), "lmk_faces_idx": (_N_LANDMARKS,), "lmk_bary_coords": (_N_LANDMARKS, 3),
        "hands_componentsl": (None, 45), "hands_componentsr": (None, 45),
        "hands_meanl": (45,), "hands_meanr": (45,), "hands_components": (None, 45),
        "hands_mean": (45,)}
    for key, want in shapes.items():
        if key not in data or (key.startswith("lmk") and kind != "smplx"):
            continue
        got = np.shape(data[key])
        if len(got) != len(want) or any(w is not None and g != w for g, w in zip(got, want,
                                                                               strict=True)):
            raise AssetError(f"{path}: '{key}' has shape {got}, a {label} model needs "
                             f"{tuple('*' if w is None else w for w in want)}; the file is "
                             f"damaged or not a {label} model: {fix}")
    numeric = [k for k in data if not np.issubdtype(np.asarray(data[k]).dtype, np.number)]
    if numeric:
        raise AssetError(f"{path}: {', '.join(numeric)} not numeric; {fix}")
    if not all(np.isfinite(np.asarray(data[k], float)).all() for k in _REQUIRED):
        raise AssetError(f"{path} holds NaN or inf values; {fix}")
    parents = np.asarray(data["kintree_table"][0]).astype(np.int64)
    parents[0] = -1
    if tuple(parents.tolist()) != _PARENTS[kind]:
        raise AssetError(f"{path}: its joint tree (kintree_table) is not {label}'s; {fix}")
    f = np.asarray(data["f"])
    if f.size == 0 or f.min() < 0 or f.max() >= V0:
        raise AssetError(f"{path}: faces (f) index vertices outside [0, {V0}); {fix}")
    if kind == "smplx":
        S = np.shape(data["shapedirs"])[2]
        if S < 20:
            raise AssetError(f"{path}: a SMPL-X model has at least 20 shape+expression "
                             f"components, this one {S}; {fix}")
        li = np.asarray(data["lmk_faces_idx"])
        if li.min() < 0 or li.max() >= len(f):
            raise AssetError(f"{path}: lmk_faces_idx indexes faces outside [0, {len(f)}); {fix}")


def _resolve(model_path: Any, kind: str, gender: str, is_rhand: bool) -> Path:
    label = _LABEL[kind]
    if not isinstance(model_path, str | os.PathLike):
        raise InputError(f"model_path must be the path of a {label} model file (str or Path); "
                         f"got {type(model_path).__name__}")
    path = Path(model_path).expanduser()
    how = (f"download it from {_SITE[kind]} (free registration, non-commercial licence) and "
           "pass its path")
    if path.is_dir():
        tag = ("RIGHT" if is_rhand else "LEFT") if kind == "mano" else gender.upper()
        names = [f"{_FILE_STEM[kind]}_{tag}.{ext}" for ext in ("npz", "pkl")]
        tried = [d / n for d in (path, path / kind) for n in names]
        found = [p for p in tried if p.is_file()]
        if not found:
            raise AssetError(f"no {label} model file in {path} (looked for "
                             f"{', '.join(str(p) for p in tried)}): {how}")
        path = found[0]
    elif not path.exists():
        raise AssetError(f"{label} model file not found: {path}; {how}")
    if path.suffix.lower() not in (".npz", ".pkl"):
        raise AssetError(f"{path} is not a {label} model file (.npz or .pkl expected): {how}")
    if kind == "mano":
        stem = path.name.upper()
        if is_rhand and "LEFT" in stem and "RIGHT" not in stem:
            raise InputError(f"{path} looks like a left-hand MANO file: pass is_rhand=False "
                             "(or give MANO_RIGHT)")
        if not is_rhand and "RIGHT" in stem and "LEFT" not in stem:
            raise InputError(f"{path} looks like a right-hand MANO file: pass is_rhand=True "
                             "(or give MANO_LEFT)")
    return path


def _limits(kind: str) -> dict[str, JointLimit]:
    """Hinge limits (radians) in SMPL's rest axes (X to the body's left, Y up, Z forward).

    Knees flex about +X (a positive rotation swings the shin backwards, to -Z); in the
    T-pose with the palms down the elbows flex in the horizontal plane, about -Y for the
    left arm (forearm along +X) and +Y for the right (forearm along -X). Each frame's
    first axis is the flexion axis, its second the bone's long axis (twist), its third
    the side bend.
    """
    if kind == "mano":
        return {}
    f = lambda *cols: tuple(tuple(float(c[i]) for c in cols) for i in range(3))  # noqa: E731
    knee = f((1, 0, 0), (0, 1, 0), (0, 0, 1))
    out = {}
    for side in ("left", "right"):
        out[f"{side}_knee"] = JointLimit(knee, (-0.1, -0.3, -0.3), (2.6, 0.3, 0.3))
        s = 1.0 if side == "left" else -1.0
        elbow = f((0, -s, 0), (s, 0, 0), (0, 0, 1))
        out[f"{side}_elbow"] = JointLimit(elbow, (-0.1, -1.6, -0.3), (2.6, 1.6, 0.3))
    return out


# -- the body --------------------------------------------------------------------------------

class SMPLBody(ParametricBody):
    """A SMPL-family model loaded from the user's file through ``smplx`` (see the module
    docstring for the parameters, keypoints and axes).

    Args:
        model_path: the model file (``.npz`` or ``.pkl``), or a folder holding
            ``SMPL_NEUTRAL.pkl``-style names (``<KIND>_<GENDER>``, MANO:
            ``MANO_RIGHT``/``MANO_LEFT``; directly or in a ``smpl``/``smplh``/``smplx``/
            ``mano`` subfolder, as smplx lays them out). The files need a registration at
            the model's website; posestack cannot download them.
        kind: "smpl", "smplh", "smplx" or "mano".
        gender: "neutral", "male" or "female" (picks the file in a folder).
        num_betas: shape coefficients to use; at most what the file has (smplx uses at
            most 10 from files with fewer than 300).
        is_rhand: MANO only: a right (True) or left hand.

    Attributes:
        name: the kind ("smpl" ...), as :attr:`BodyFit.model` reports it.
        shape_names: ``beta0`` ... (S = ``num_betas`` or fewer).
        pose_bones: the B joints ``BodyParams.pose (T, B, 3)`` rotates (SMPL 23,
            SMPL-H 51, SMPL-X 52, MANO 15).
        joint_names: the J joints of the rig, smplx's names (SMPL 24, SMPL-H 52,
            SMPL-X 55, MANO 16).
        keypoint_names: the K posestack keypoints (SMPL 25, SMPL-H 65, SMPL-X 116,
            MANO 21); ``keypoint_sources`` says where each comes from.
        limits: knee and elbow hinge limits (:func:`_limits`; none for MANO).
        faces: ``(F, 3)`` int64 vertex indices. n_vertices: V (6,890; SMPL-X 10,475;
            MANO 778). path: the file read. layer: the smplx layer module.

    Raises:
        InputError: a bad ``kind``, ``gender``, ``num_betas`` or ``model_path`` type, or a
            MANO file of the other hand.
        AssetError: smplx missing, the file missing or unreadable, or not a model of
            ``kind`` (another kind, missing keys, wrong sizes, another joint tree).
    """

    shape_bounds = None
    up = "y"
    forward = (0.0, 0.0, 1.0)

    def __init__(self, model_path: str | os.PathLike, kind: str = "smpl",
                 gender: str = "neutral", num_betas: int = 10, is_rhand: bool = True) -> None:
        if kind not in KINDS:
            raise InputError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        if gender not in ("neutral", "male", "female"):
            raise InputError(f"gender must be 'neutral', 'male' or 'female'; got {gender!r}")
        if not (isinstance(num_betas, int | np.integer) and not isinstance(num_betas, bool)
                and num_betas >= 1):
            raise InputError(f"num_betas must be an integer >= 1; got {num_betas!r}")
        if not isinstance(is_rhand, bool | np.bool_):
            raise InputError(f"is_rhand must be True or False; got {is_rhand!r}")
        path = _resolve(model_path, kind, gender, bool(is_rhand))
        self.torch, self.roma, smplx = _import()
        data = _read(path, _LABEL[kind])
        _check(data, kind, path)
        self.name = kind
        self.kind = kind
        self.path = path
        self.is_rhand = bool(is_rhand)
        self.layer = self._build(smplx, data, path, kind, gender, int(num_betas))
        self._setup(smplx)

    # -- construction -------------------------------------------------------------------
    def _build(self, smplx: Any, data: dict[str, np.ndarray], path: Path, kind: str,
               gender: str, num_betas: int) -> Any:
        torch = self.torch
        complete = all(k in data for k in _HAND_KEYS.get(kind, ()))
        for k in _HAND_KEYS.get(kind, ()):     # unused: no PCA, flat hand mean
            if k not in data:
                data[k] = np.zeros((1, 45) if "components" in k else (45,))
        kw: dict[str, Any] = {"num_betas": num_betas, "dtype": torch.float32}
        if kind != "smpl":
            kw.update(use_pca=False, flat_hand_mean=True)
        from smplx.utils import Struct

        try:
            with contextlib.redirect_stdout(io.StringIO()):   # smplx prints warnings
                if kind == "smpl":
                    return smplx.SMPLLayer(str(path), data_struct=Struct(**data), gender=gender,
                                           **kw)
                if kind == "smplh":
                    return smplx.SMPLHLayer(str(path), data_struct=Struct(**data),
                                            gender=gender, **kw)
                if kind == "mano":
                    return smplx.MANOLayer(str(path), data_struct=Struct(**data),
                                           is_rhand=self.is_rhand, **kw)
                kw.update(gender=gender, use_face_contour=False)
                if path.suffix.lower() == ".npz" and complete:
                    return smplx.SMPLXLayer(str(path), ext="npz", **kw)
                with tempfile.TemporaryDirectory() as tmp:
                    clean = Path(tmp) / "SMPLX_CLEAN.npz"
                    np.savez(clean, **data)
                    return smplx.SMPLXLayer(str(clean), ext="npz", **kw)
        except AssetError:
            raise
        except Exception as e:   # smplx raises anything from a bad file
            raise AssetError(f"smplx could not build a {_LABEL[kind]} model from {path} "
                             f"({type(e).__name__}: {e}); download the file again from "
                             f"{_SITE[kind]}") from None

    def _setup(self, smplx: Any) -> None:
        from smplx.vertex_ids import vertex_ids

        torch = self.torch
        kind, m = self.kind, self.layer
        self.joint_names: tuple[str, ...] = _side_joints(kind, self.is_rhand)
        J = len(self.joint_names)
        self.n_vertices = int(m.v_template.shape[0])
        self.faces: np.ndarray = m.faces_tensor.cpu().numpy().astype(np.int64)
        S = int(m.num_betas)
        self.shape_names = tuple(f"beta{i}" for i in range(S))
        # pose bones: every joint after the root but SMPL-X's eyeballs
        skip = {"left_eyeball", "right_eyeball"}
        self.pose_bones = tuple(n for n in self.joint_names[1:] if n not in skip)
        self._pose_index = torch.tensor([self.joint_names.index(b) for b in self.pose_bones])
        self.limits = _limits(kind)
        # keypoints: M (K, J + U) over the posed joints and the U vertices they use
        sources = _keypoint_sources(kind, self.is_rhand)
        if kind == "mano":
            ids = vertex_ids["mano"]
        else:
            ids = vertex_ids["smplx" if kind == "smplx" else "smplh"]
        terms: list[list[tuple[str, int, float]]] = []
        faces = self.faces
        for src, key in sources.values():
            if src == "joint":
                terms.append([("j", self.joint_names.index(key), 1.0)])
            elif src == "vertex":
                terms.append([("v", int(ids[key]), 1.0)])
            else:
                face = faces[int(m.lmk_faces_idx[key])]
                bary = m.lmk_bary_coords[key].cpu().numpy().astype(float)
                terms.append([("v", int(v), float(b)) for v, b in zip(face, bary, strict=True)])
        used = sorted({i for t in terms for s, i, _ in t if s == "v"})
        if used and used[-1] >= self.n_vertices:
            raise AssetError(f"{self.path}: the model has {self.n_vertices} vertices, fewer "
                             f"than smplx's keypoint vertex ids need")
        col = {v: J + u for u, v in enumerate(used)}
        M = np.zeros((len(terms), J + len(used)))
        for k, t in enumerate(terms):
            for s, i, w in t:
                M[k, i if s == "j" else col[i]] += w
        self.keypoint_names: tuple[str, ...] = tuple(sources)
        self.keypoint_sources = sources
        f32 = torch.float32
        self._M = torch.as_tensor(M, dtype=f32)
        self._used = torch.as_tensor(used, dtype=torch.long)
        # the fast path's constant tensors (the keypoints without the mesh)
        with torch.no_grad():
            vt, sd = m.v_template.to(f32), m.shapedirs.to(f32)
            Jr = m.J_regressor.to(f32)
            self._J_t = Jr @ vt                                         # (J, 3)
            self._J_d = torch.einsum("jv,vcs->jcs", Jr, sd)             # (J, 3, S)
            u = self._used
            self._vt_u = vt[u]                                          # (U, 3)
            self._sd_u = sd[u]                                          # (U, 3, S)
            P = m.posedirs.shape[0]
            self._pd_u = m.posedirs.to(f32).reshape(P, -1, 3)[:, u]     # (P, U, 3)
            self._w_u = m.lbs_weights.to(f32)[u]                        # (U, J)
        self._parents = m.parents
        from smplx.lbs import batch_rigid_transform
        self._rigid = batch_rigid_transform

    # -- torch ---------------------------------------------------------------------------
    def rotations(self, pose: Any, global_orient: Any) -> Any:
        """Every joint's rotation matrix ``(T, J, 3, 3)`` from ``pose (T, B, 3)`` and
        ``global_orient (T, 3)`` rotation vectors (torch; joints outside
        :attr:`pose_bones` stay at rest)."""
        T = pose.shape[0]
        full = pose.new_zeros((T, len(self.joint_names), 3))
        full[:, 0] = global_orient
        full[:, self._pose_index] = pose
        return self.roma.rotvec_to_rotmat(full)

    def _smplx_forward(self, betas: Any, rot: Any, transl: Any) -> tuple[Any, Any]:
        m, kind = self.layer, self.kind
        J = len(self.joint_names)
        go = rot[:, :1]
        if kind == "smpl":
            out = m(betas=betas, global_orient=go, body_pose=rot[:, 1:], transl=transl)
        elif kind == "smplh":
            out = m(betas=betas, global_orient=go, body_pose=rot[:, 1:22],
                    left_hand_pose=rot[:, 22:37], right_hand_pose=rot[:, 37:52], transl=transl)
        elif kind == "smplx":
            out = m(betas=betas, global_orient=go, body_pose=rot[:, 1:22],
                    jaw_pose=rot[:, 22:23], leye_pose=rot[:, 23:24], reye_pose=rot[:, 24:25],
                    left_hand_pose=rot[:, 25:40], right_hand_pose=rot[:, 40:55], transl=transl)
        else:
            out = m(betas=betas, global_orient=go, hand_pose=rot[:, 1:], transl=transl)
        return out.vertices, out.joints[:, :J]

    def forward_torch(self, shape: Any, pose: Any, global_orient: Any, transl: Any, *,
                      mesh: bool = True) -> dict[str, Any]:
        """Torch forward: ``shape (S,)`` betas, ``pose (T, B, 3)`` rotation vectors of
        :attr:`pose_bones`, ``global_orient (T, 3)``, ``transl (T, 3)`` metres ->
        ``keypoints (T, K, 3)``, ``joints (T, J, 3)`` and, with ``mesh``, ``vertices
        (T, V, 3)`` (metres, the model's axes: Y up, facing +Z).

        With ``mesh`` the vertices and joints come from smplx's layer; without, only the
        joints and the few vertices the keypoints use are posed (same skinning, same
        values to float precision; what the fitter uses)."""
        torch = self.torch
        T = pose.shape[0]
        rot = self.rotations(pose, global_orient)
        if mesh:
            betas = shape[None].expand(T, -1)
            vertices, joints = self._smplx_forward(betas, rot, transl)
            pts = torch.cat([joints, vertices[:, self._used]], 1)
        else:
            j_rest = self._J_t + torch.einsum("jcs,s->jc", self._J_d, shape)
            joints, A = self._rigid(rot, j_rest.expand(T, -1, -1), self._parents,
                                    dtype=rot.dtype)
            eye = torch.eye(3, dtype=rot.dtype)
            feat = (rot[:, 1:] - eye).reshape(T, -1)
            v = (self._vt_u + torch.einsum("ucs,s->uc", self._sd_u, shape)
                 + torch.einsum("tp,puc->tuc", feat, self._pd_u))
            G = torch.einsum("uj,tjab->tuab", self._w_u, A)
            v = torch.einsum("tuab,tub->tua", G[..., :3, :3], v) + G[..., :3, 3]
            joints = joints + transl[:, None]
            pts = torch.cat([joints, v + transl[:, None]], 1)
        out = {"keypoints": torch.einsum("kn,tnc->tkc", self._M, pts), "joints": joints}
        if mesh:
            out["vertices"] = vertices
        return out


for _k in KINDS:
    KEYPOINT_SOURCES[_k] = _keypoint_sources(_k)


def keypoints_of(kind: str, is_rhand: bool = True) -> tuple[str, ...]:
    """The posestack keypoint names a body of ``kind`` provides (no model file needed)."""
    if kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    return tuple(_keypoint_sources(kind, is_rhand))
