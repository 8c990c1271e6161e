"""An Anny body sequence as one animated, skinned binary glTF 2.0 file (``.glb``).

:func:`write_glb` stores one person's fitted sequence (:class:`BodyParams`) so that any
glTF viewer or DCC tool (Blender, three.js, Babylon, ...) plays it back:

* the mesh at the person's rest shape (their phenotype, Anny's bind pose):
  ``POSITION``, ``NORMAL`` (area-weighted), triangle ``indices`` (uint32);
* a skin with one node per Anny bone (104), parented as Anny's ``bone_parents``;
  ``inverseBindMatrices`` are the inverses of Anny's rest bone poses, so glTF's
  ``jointMatrix = globalTransform(joint) · inverseBindMatrix`` is exactly Anny's
  skinning transform ``bone_poses · inv(rest_bone_poses)`` (Anny's poses are rigid,
  checked at write time, so each node holds a rotation and a translation, no scale);
* ``JOINTS_0/WEIGHTS_0`` and ``JOINTS_1/WEIGHTS_1``: Anny's default rig has up to 9
  influences per vertex (2 of its 13,718 vertices have 9, the rest <= 8), so by default
  the 8 largest are kept (the dropped 9th weights are 0.0005 and 0.001) and renormalised
  to sum 1; ``influences=12`` keeps them all, ``influences=4`` suits viewers that read
  only ``JOINTS_0`` (weights beyond the 4th reach 0.22: visibly approximate);
* one animation (``LINEAR``): per-frame ``rotation`` (unit quaternions, x y z w) and
  ``translation`` of the bone nodes whose local transform moves (the root bone and
  the posed bones). Keyframe times are in seconds from 0. The nodes' default
  transforms are posestack's rest pose (:meth:`BodyParams.rest`: zero rotations,
  root at the origin), which is not the bind pose of the stored mesh (Anny's zero
  rotations are relative to its reference bone orientations).

Axes: glTF is Y up, metres, the asset's front facing +Z. Anny's world is Z up and its
rest pose faces -Y. The change of axes (by default a rotation of -90 degrees about X:
``(x, y, z) -> (x, z, -y)``, so Anny's -Y front becomes +Z) is *baked* into the data:
rest vertices, normals, inverse bind matrices and the root bone's transform are
rotated, and no extra node is added. The skinned mesh node and the skeleton root are
then scene roots without transforms, as the spec recommends, and loaders that ignore
skinning (trimesh, ...) see a Y-up mesh too. Units stay metres.

:func:`read_glb` and :func:`skin_glb` read such a file back (a small reader of what
this module writes, not a general glTF loader).
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..errors import AssetError, InputError
from ..io.atomic import atomic_path
from .anny_body import PHENOTYPES, BodyParams

if TYPE_CHECKING:
    from .anny_body import AnnyBody

__all__ = ["AXES", "read_glb", "skin_glb", "write_glb"]

#: Named world rotations for ``write_glb(axes=...)``: Anny's Z-up world -> the file's.
AXES: dict[str, np.ndarray] = {
    "y_up": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),  # -90° about X
    "z_up": np.eye(3),  # Anny's own axes (not glTF's convention)
}

_MAGIC, _VERSION = 0x46546C67, 2          # b"glTF", 2
_JSON, _BIN = 0x4E4F534A, 0x004E4942      # chunk types b"JSON", b"BIN\0"
_FLOAT, _UBYTE, _USHORT, _UINT = 5126, 5121, 5123, 5125
_DTYPES = {5120: np.int8, _UBYTE: np.uint8, 5122: np.int16, _USHORT: np.uint16,
           _UINT: np.uint32, _FLOAT: np.float32}
_NCOMP = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_DEFAULT_FPS = 30.0
#: Local transforms that move less than this (radians / metres) are not animated.
_STATIC_TOL = 1e-5


# -- small rigid-transform helpers (float64) -------------------------------------------
def _rigid_inv(m: np.ndarray) -> np.ndarray:
    """Inverse of rigid 4x4 transforms ``(..., 4, 4)`` (rotation transposed)."""
    out = np.zeros_like(m)
    rt = np.swapaxes(m[..., :3, :3], -1, -2)
    out[..., :3, :3] = rt
    out[..., :3, 3] = -(rt @ m[..., :3, 3, None])[..., 0]
    out[..., 3, 3] = 1.0
    return out


def _quat_from_rotmat(r: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` x y z w of rotation matrices ``(..., 3, 3)``."""
    from scipy.spatial.transform import Rotation

    shape = r.shape[:-2]
    q = Rotation.from_matrix(r.reshape(-1, 3, 3)).as_quat()
    return q.reshape(*shape, 4)


def _rotmat_from_quat(q: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` of quaternions ``(..., 4)`` x y z w (normalised)."""
    q = np.asarray(q, float)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def _continuous(q: np.ndarray) -> np.ndarray:
    """Flip quaternion signs ``(T, 4)`` so consecutive keys are in the same hemisphere."""
    q = q.copy()
    for i in range(1, len(q)):
        if np.dot(q[i], q[i - 1]) < 0:
            q[i] = -q[i]
    return q


def _rotation_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (radians) between rotation matrices ``(..., 3, 3)``."""
    # chordal form 2·asin(|a - b|_F / sqrt(8)): accurate for small angles, unlike acos
    chord = np.linalg.norm(a - b, axis=(-2, -1)) / np.sqrt(8)
    return 2 * np.arcsin(np.clip(chord, 0.0, 1.0))


# -- Anny ------------------------------------------------------------------------------
def _anny_rig(body: AnnyBody, params: BodyParams) -> dict[str, np.ndarray]:
    """Anny's rest model and posed bone poses for ``params`` (float64 numpy, Z up).

    Returns rest_vertices ``(V, 3)``, rest_bone_poses ``(J, 4, 4)``, bone_poses
    ``(T, J, 4, 4)`` and zero_bone_poses ``(J, 4, 4)`` (posestack's rest pose), all in
    metres, after checking that Anny skins by ``bone_poses · inv(rest_bone_poses)``
    with rigid poses (else glTF could not reproduce it).
    """
    torch, model = body.torch, body.model
    skin_name = getattr(model._skinning_method, "__name__", "")
    if "linear_blend" not in skin_name:
        raise AssetError(f"anny skins with {skin_name!r}, not linear blend skinning; glTF "
                         "export needs LBS: build the model with skinning_method='lbs'")
    dtype = model.dtype
    T = params.transl.shape[0]
    # The pose parameters exactly as AnnyBody.forward_torch builds them ('local-ref'),
    # plus one all-zero rest frame (the nodes' default transforms).
    f = lambda x: torch.as_tensor(x, dtype=dtype)  # noqa: E731
    zero = torch.zeros((1, 3), dtype=dtype)
    with torch.no_grad():
        pose_params = body.pose_matrices(
            torch.cat([f(params.pose), torch.zeros((1, *params.pose.shape[1:]), dtype=dtype)]),
            torch.cat([f(params.global_orient), zero]), torch.cat([f(params.transl), zero]))
        rest = body.rest_model(f(params.phenotype))
        transforms, poses = model.get_bone_transforms(pose_params, rest["rest_bone_poses"])
    rest_poses = rest["rest_bone_poses"][0].double().numpy()
    poses = poses.double().numpy()
    transforms = transforms.double().numpy()
    for name, m in (("rest bone poses", rest_poses), ("bone poses", poses)):
        r = m[..., :3, :3]
        err = np.abs(np.swapaxes(r, -1, -2) @ r - np.eye(3)).max()
        if err > 1e-4 or np.linalg.det(r).min() < 0:
            raise AssetError(f"anny's {name} are not rigid (|R^T R - I| = {err:.2g}); this "
                             "anny version is not supported by the glTF export")
    err = np.abs(transforms - poses @ _rigid_inv(rest_poses)).max()
    if err > 1e-4:
        raise AssetError(f"anny's bone transforms differ from bone_poses · inv(rest_bone_poses)"
                         f" by {err:.2g}; this anny version is not supported by the glTF export")
    return {"rest_vertices": rest["rest_vertices"][0].double().numpy(),
            "rest_bone_poses": rest_poses, "bone_poses": poses[:T],
            "zero_bone_poses": poses[T]}


def _skin_weights(body: AnnyBody, influences: int) -> tuple[np.ndarray, np.ndarray]:
    """Anny's per-vertex bone indices and weights, the largest ``influences`` of each
    vertex, sorted by decreasing weight and renormalised to sum 1: ``(V, influences)``
    uint8/uint16 joints and float32 weights (unused slots: joint 0, weight 0)."""
    w = body.model.vertex_bone_weights.double().numpy()
    idx = body.model.vertex_bone_indices.long().numpy()
    V, J = w.shape[0], len(body.model.bone_labels)
    dense = np.zeros((V, J))
    np.add.at(dense, (np.repeat(np.arange(V), w.shape[1]), idx.ravel()), w.ravel())
    dense[dense < 0] = 0
    order = np.argsort(-dense, axis=1, kind="stable")[:, :influences]
    weights = np.take_along_axis(dense, order, 1)
    total = weights.sum(1, keepdims=True)
    if np.any(total <= 0):
        raise AssetError("some anny vertices have no bone weight; cannot skin them in glTF")
    weights = weights / total
    joints = np.where(weights > 0, order, 0)
    weights32 = weights.astype(np.float32)
    # make the float32 sums as close to 1 as possible: fold the residual into the largest
    weights32[:, 0] += (1 - weights32.astype(np.float64).sum(1)).astype(np.float32)
    jtype = np.uint8 if J <= 256 else np.uint16
    return joints.astype(jtype), weights32


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit area-weighted vertex normals ``(V, 3)`` (+Y where a vertex has no area: glTF
    wants unit normals everywhere)."""
    from ..render.mesh import vertex_normals

    n = vertex_normals(vertices, faces)
    return np.where(np.linalg.norm(n, axis=1, keepdims=True) > 0, n, [0.0, 1.0, 0.0])


# -- input checks ----------------------------------------------------------------------
def _check_axes(axes: str | np.ndarray | None) -> tuple[np.ndarray, str]:
    if axes is None:
        axes = "y_up"
    if isinstance(axes, str):
        if axes not in AXES:
            raise InputError(f"axes {axes!r} is not known; use one of {sorted(AXES)} or a "
                             "3x3 rotation matrix")
        return AXES[axes], axes
    a = np.asarray(axes, float)
    if a.shape != (3, 3) or not np.isfinite(a).all() \
            or np.abs(a.T @ a - np.eye(3)).max() > 1e-6 or np.linalg.det(a) < 0:
        raise InputError("axes must be 'y_up', 'z_up' or a proper 3x3 rotation matrix "
                         "(orthonormal, determinant +1) from Anny's world to the file's")
    return a, "custom"


def _check_times(times: Any, frames: int) -> tuple[np.ndarray, float]:
    if times is None:
        return (np.arange(frames) / _DEFAULT_FPS).astype(np.float32), 0.0
    t = np.asarray(times, float)
    if t.shape != (frames,):
        raise InputError(f"times must have one value per frame, shape ({frames},) like "
                         f"params.transl; got shape {t.shape}")
    if not np.isfinite(t).all():
        raise InputError("times must be finite (seconds); drop or fill the NaN frames first")
    t32 = (t - t[0]).astype(np.float32)
    if np.any(np.diff(t32) <= 0):
        raise InputError("times must be strictly increasing (seconds, at float32 precision); "
                         "sort the frames and remove duplicates")
    return t32, float(t[0])


# -- GLB writing -----------------------------------------------------------------------
class _Builder:
    """Accumulates the binary chunk, bufferViews and accessors of one glTF file."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def accessor(self, data: np.ndarray, type_: str, target: int | None = None,
                 minmax: bool = False, name: str | None = None) -> int:
        """Append ``data`` (its dtype is the component type) as its own bufferView."""
        data = np.ascontiguousarray(data)
        ctype = {np.dtype(v): k for k, v in _DTYPES.items()}[data.dtype]
        ncomp = _NCOMP[type_]
        count = data.size // ncomp
        raw = data.tobytes()
        view: dict[str, Any] = {"buffer": 0, "byteOffset": self.size, "byteLength": len(raw)}
        if target is not None:
            view["target"] = target
        self.chunks.append(raw + b"\0" * (-len(raw) % 4))   # every view 4-byte aligned
        self.size += len(raw) + (-len(raw) % 4)
        self.views.append(view)
        acc: dict[str, Any] = {"bufferView": len(self.views) - 1, "componentType": ctype,
                               "count": count, "type": type_}
        if minmax:
            flat = data.reshape(count, ncomp)
            acc["min"] = [v.item() for v in flat.min(0)]
            acc["max"] = [v.item() for v in flat.max(0)]
        if name:
            acc["name"] = name
        self.accessors.append(acc)
        return len(self.accessors) - 1


def _glb_bytes(gltf: dict, binary: bytes) -> bytes:
    js = json.dumps(gltf, separators=(",", ":"), allow_nan=False).encode("utf-8")
    js += b" " * (-len(js) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(js) + 8 + len(binary)
    return b"".join([struct.pack("<III", _MAGIC, _VERSION, total),
                     struct.pack("<II", len(js), _JSON), js,
                     struct.pack("<II", len(binary), _BIN), binary])


def _trs(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quaternions ``(..., 4)`` and translations ``(..., 3)`` of rigid ``(..., 4, 4)``."""
    return _quat_from_rotmat(m[..., :3, :3]), m[..., :3, 3]


def write_glb(path: str | os.PathLike, body: AnnyBody, params: BodyParams,
              times: Any = None, axes: str | np.ndarray | None = None, *,
              influences: int = 8, name: str = "anny") -> Path:
    """Write one person's Anny sequence as an animated, skinned binary glTF 2.0 file.

    Args:
        path: the ``.glb`` file to write (atomically; its folder is created).
        body: the loaded :class:`~posestack.body.anny_body.AnnyBody`.
        params: the person's :class:`BodyParams`: phenotype ``(6,)`` in [0, 1], pose
            ``(T, len(FIT_BONES), 3)`` and global_orient ``(T, 3)`` rotation vectors
            (radians), transl ``(T, 3)`` metres, in Anny's Z-up world.
        times: keyframe times ``(T,)`` in seconds, strictly increasing; stored shifted to
            start at 0 (the original start is kept in ``extras.posestack.time_offset_s``).
            None: frame / 30 s.
        axes: the world rotation from Anny's Z-up axes to the file's, baked into the data
            (see the module docstring): ``"y_up"`` (None, glTF's convention: -90° about
            X), ``"z_up"`` (Anny's axes unchanged) or a ``(3, 3)`` rotation matrix.
        influences: bone influences kept per vertex, 4, 8 (default: ``JOINTS_0/1``) or 12
            (all of Anny's; ``JOINTS_0/1/2``), largest first, renormalised to sum 1.
        name: the mesh, skin and animation name.

    Returns:
        The written path.

    Raises:
        InputError: malformed ``params`` (shapes, NaN, phenotype outside [0, 1]),
            ``times`` or ``axes``; nothing is written then.
        AssetError: the installed anny skins in a way glTF cannot reproduce.
    """
    if not hasattr(body, "model") or not hasattr(body, "bone_index"):
        raise InputError("body must be a posestack.body.AnnyBody; build one with AnnyBody()")
    if not isinstance(params, BodyParams):
        raise InputError(f"params must be a BodyParams; got {type(params).__name__}")
    if getattr(body, "name", "anny") != "anny":
        raise InputError(f"write_glb exports Anny bodies only; got a {body.name!r} body")
    params.check(body)
    T = params.transl.shape[0]
    if T < 1:
        raise InputError("params has no frame; write_glb needs at least one")
    t32, t_offset = _check_times(times, T)
    rot, axes_name = _check_axes(axes)
    if influences not in (4, 8, 12):
        raise InputError(f"influences must be 4, 8 or 12 (bones per vertex); got {influences}")
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; give write_glb a file path ending in .glb")

    rig = _anny_rig(body, params)
    parents = [int(p) for p in body.model.bone_parents]
    labels = list(body.model.bone_labels)
    J = len(labels)
    A = np.eye(4)
    A[:3, :3] = rot

    # Everything in the file's axes: x' = A x for the world, bone frames unchanged.
    rest_poses = A @ rig["rest_bone_poses"]                  # (J, 4, 4)
    poses = A @ rig["bone_poses"]                            # (T, J, 4, 4)
    zero = A @ rig["zero_bone_poses"]                        # (J, 4, 4)
    vertices = rig["rest_vertices"] @ rot.T                  # (V, 3)
    faces = np.asarray(body.faces, np.int64)
    if faces.ndim != 2 or faces.shape[1] != 3:   # quads: let anny split them
        faces = body.model.get_triangular_faces().cpu().numpy().astype(np.int64)
    normals = _vertex_normals(vertices, faces)
    parent_idx = np.array([max(p, 0) for p in parents])
    is_root = np.array([p < 0 for p in parents])

    def local(m: np.ndarray) -> np.ndarray:  # node transforms relative to their parents
        out = _rigid_inv(m[..., parent_idx, :, :]) @ m
        out[..., is_root, :, :] = m[..., is_root, :, :]
        return out

    local_t, local_0 = local(poses), local(zero)
    q0, p0 = _trs(local_0)
    qt, pt = _trs(local_t)
    joints, weights = _skin_weights(body, influences)

    b = _Builder()
    attributes = {
        "POSITION": b.accessor(vertices.astype(np.float32), "VEC3", _ARRAY_BUFFER, True),
        "NORMAL": b.accessor(normals.astype(np.float32), "VEC3", _ARRAY_BUFFER),
    }
    for s in range(influences // 4):
        attributes[f"JOINTS_{s}"] = b.accessor(joints[:, 4 * s:4 * s + 4], "VEC4",
                                               _ARRAY_BUFFER)
        attributes[f"WEIGHTS_{s}"] = b.accessor(weights[:, 4 * s:4 * s + 4], "VEC4",
                                                _ARRAY_BUFFER)
    indices = b.accessor(faces.astype(np.uint32).ravel(), "SCALAR", _ELEMENT_ARRAY_BUFFER)
    ibm = _rigid_inv(rest_poses)
    ibm[:, 3] = [0.0, 0.0, 0.0, 1.0]
    ibm_acc = b.accessor(np.swapaxes(ibm, 1, 2).astype(np.float32), "MAT4",  # column-major
                         name="inverseBindMatrices")

    nodes: list[dict[str, Any]] = []
    for j in range(J):
        node: dict[str, Any] = {"name": labels[j], "rotation": [float(v) for v in q0[j]],
                                "translation": [float(v) for v in p0[j]]}
        children = [c for c in range(J) if parents[c] == j]
        if children:
            node["children"] = children
        nodes.append(node)
    roots = [j for j in range(J) if parents[j] < 0]
    nodes.append({"name": name, "mesh": 0, "skin": 0})

    time_acc = b.accessor(t32, "SCALAR", minmax=True, name="time_s")
    samplers: list[dict[str, Any]] = []
    channels: list[dict[str, Any]] = []
    for j in range(J):
        moves_r = _rotation_angle(local_t[:, j, :3, :3], local_0[j, :3, :3]).max() > _STATIC_TOL
        moves_t = np.abs(pt[:, j] - p0[j]).max() > _STATIC_TOL
        if moves_r:
            q = _continuous(qt[:, j])
            out = b.accessor(q.astype(np.float32), "VEC4")
            channels.append({"sampler": len(samplers), "target": {"node": j,
                                                                  "path": "rotation"}})
            samplers.append({"input": time_acc, "output": out, "interpolation": "LINEAR"})
        if moves_t:
            out = b.accessor(pt[:, j].astype(np.float32), "VEC3")
            channels.append({"sampler": len(samplers), "target": {"node": j,
                                                                  "path": "translation"}})
            samplers.append({"input": time_acc, "output": out, "interpolation": "LINEAR"})
    if not channels:   # a still sequence at posestack's rest pose: keep one (constant) track
        out = b.accessor(np.repeat(q0[roots[0]][None], T, 0).astype(np.float32), "VEC4")
        channels.append({"sampler": 0, "target": {"node": roots[0], "path": "rotation"}})
        samplers.append({"input": time_acc, "output": out, "interpolation": "LINEAR"})

    binary = b"".join(b.chunks)
    gltf: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": f"posestack {__version__} (anny body)"},
        "scene": 0,
        "scenes": [{"name": name, "nodes": [*roots, J]}],
        "nodes": nodes,
        "meshes": [{"name": name, "primitives": [{"attributes": attributes,
                                                  "indices": indices, "mode": 4,
                                                  "material": 0}]}],
        "materials": [{"name": "skin", "pbrMetallicRoughness": {
            "baseColorFactor": [0.8, 0.62, 0.52, 1.0], "metallicFactor": 0.0,
            "roughnessFactor": 0.7}}],
        "skins": [{"name": name, "inverseBindMatrices": ibm_acc,
                   "joints": list(range(J)), "skeleton": roots[0]}],
        "animations": [{"name": name, "channels": channels, "samplers": samplers}],
        "accessors": b.accessors,
        "bufferViews": b.views,
        "buffers": [{"byteLength": len(binary)}],
        "extras": {"posestack": {
            "model": "anny", "frames": T, "axes": axes_name,
            "axes_matrix": [[float(v) for v in row] for row in rot],
            "time_offset_s": t_offset, "influences": influences,
            "phenotype": {k: float(v) for k, v in zip(PHENOTYPES, params.phenotype,
                                                       strict=True)}}},
    }
    data = _glb_bytes(gltf, binary)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


# -- reading back ----------------------------------------------------------------------
def read_glb(path: str | os.PathLike) -> dict[str, Any]:
    """Read a binary glTF 2.0 file as written by :func:`write_glb`.

    Returns a dict with ``json`` (the glTF JSON), ``bin`` (the binary chunk, bytes) and
    ``accessors``: one numpy array per accessor, ``(count,)`` for SCALAR, ``(count, n)``
    for VECn and ``(count, 4, 4)`` for MAT4 (row-major, i.e. the mathematical matrix;
    glTF stores it column-major). Sparse accessors are not supported.

    Raises:
        InputError: the file is missing or not a well-formed GLB.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}; check the path") from None
    if len(raw) < 20:
        raise InputError(f"{path} is too short for a GLB file; is it a .glb?")
    magic, version, length = struct.unpack_from("<III", raw, 0)
    if magic != _MAGIC or version != _VERSION or length != len(raw):
        raise InputError(f"{path} is not a binary glTF 2.0 file (bad header); give a .glb")
    chunks: dict[int, bytes] = {}
    pos = 12
    while pos + 8 <= len(raw):
        size, kind = struct.unpack_from("<II", raw, pos)
        chunks.setdefault(kind, raw[pos + 8:pos + 8 + size])
        pos += 8 + size
    if _JSON not in chunks:
        raise InputError(f"{path} has no JSON chunk; it is not a valid .glb")
    gltf = json.loads(chunks[_JSON].decode("utf-8"))
    binary = chunks.get(_BIN, b"")
    arrays = []
    for acc in gltf.get("accessors", []):
        ncomp, dtype = _NCOMP[acc["type"]], np.dtype(_DTYPES[acc["componentType"]])
        count = acc["count"]
        if "bufferView" not in acc:
            arr = np.zeros((count, ncomp), dtype)
        else:
            view = gltf["bufferViews"][acc["bufferView"]]
            start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
            elem = ncomp * dtype.itemsize
            stride = view.get("byteStride", elem)
            rows = np.frombuffer(binary, np.uint8, count=(count - 1) * stride + elem
                                 if count else 0, offset=start)
            arr = np.lib.stride_tricks.as_strided(rows, (count, elem), (stride, 1)).copy()
            arr = arr.view(dtype).reshape(count, ncomp)
        if acc["type"] == "SCALAR":
            arr = arr[:, 0]
        elif acc["type"].startswith("MAT"):
            n = {4: 2, 9: 3, 16: 4}[ncomp]
            arr = np.swapaxes(arr.reshape(count, n, n), 1, 2)
        arrays.append(arr)
    return {"json": gltf, "bin": binary, "accessors": arrays}


def skin_glb(data: dict[str, Any], t: int) -> np.ndarray:
    """Skinned vertices ``(V, 3)`` (metres, the file's axes) at keyframe ``t``.

    Evaluates glTF skinning from :func:`read_glb`'s output: node local transforms
    (defaults, overridden by the first animation's keyframe ``t``), their global
    transforms through the hierarchy, ``jointMatrix = global(joint) ·
    inverseBindMatrix`` and the ``JOINTS_n/WEIGHTS_n`` blend of the first skinned mesh
    primitive (the skinned mesh node's own transform is ignored, as the spec says).
    """
    gltf, acc = data["json"], data["accessors"]
    nodes = gltf["nodes"]
    anim = gltf.get("animations", [{}])[0]
    n_keys = min((len(acc[s["input"]]) for s in anim.get("samplers", [])), default=1)
    if not 0 <= int(t) < n_keys:
        raise InputError(f"frame {t} is outside the animation's {n_keys} keyframes; use "
                         f"0..{n_keys - 1}")
    trs = []
    for node in nodes:
        if "matrix" in node:
            m = np.array(node["matrix"], float).reshape(4, 4).T
            trs.append({"matrix": m})
        else:
            trs.append({"translation": np.array(node.get("translation", [0, 0, 0]), float),
                        "rotation": np.array(node.get("rotation", [0, 0, 0, 1]), float),
                        "scale": np.array(node.get("scale", [1, 1, 1]), float)})
    for ch in anim.get("channels", []):
        value = acc[anim["samplers"][ch["sampler"]]["output"]][int(t)].astype(float)
        target = ch["target"]
        trs[target["node"]][target["path"]] = value
    local = []
    for d in trs:
        if "matrix" in d:
            local.append(d["matrix"])
            continue
        m = np.eye(4)
        m[:3, :3] = _rotmat_from_quat(d["rotation"]) * d["scale"]
        m[:3, 3] = d["translation"]
        local.append(m)
    parent = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}
    world: dict[int, np.ndarray] = {}

    def global_of(i: int) -> np.ndarray:
        if i not in world:
            world[i] = local[i] if i not in parent else global_of(parent[i]) @ local[i]
        return world[i]

    mesh_node = next(n for n in nodes if "skin" in n and "mesh" in n)
    skin = gltf["skins"][mesh_node["skin"]]
    ibm = acc[skin["inverseBindMatrices"]].astype(float)
    jm = np.stack([global_of(j) for j in skin["joints"]]) @ ibm          # (J, 4, 4)
    attrs = gltf["meshes"][mesh_node["mesh"]]["primitives"][0]["attributes"]
    v = acc[attrs["POSITION"]].astype(float)
    out = np.zeros_like(v)
    s = 0
    while f"JOINTS_{s}" in attrs:
        jn = acc[attrs[f"JOINTS_{s}"]].astype(np.int64)
        wn = acc[attrs[f"WEIGHTS_{s}"]].astype(float)
        for k in range(jn.shape[1]):
            m = jm[jn[:, k]]
            out += wn[:, k, None] * (np.einsum("vij,vj->vi", m[:, :3, :3], v) + m[:, :3, 3])
        s += 1
    return out
