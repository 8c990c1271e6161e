"""A CPU triangle-mesh rasteriser (pure numpy) and the maps human image animation uses.

Champ-style conditioning images of a body mesh seen by a calibrated camera:
depth, normal and semantic (body-part) maps, and a shaded overlay on a video frame.

Pipeline: :func:`project_vertices` (world metres → pixels and camera depth, with the
camera's distortion) → :func:`rasterize` (z-buffered triangle ids and
perspective-correct barycentrics per pixel) → :func:`depth_map`,
:func:`normal_map`, :func:`semantic_map`, :func:`overlay`. :func:`render_mesh` does
the first two steps; :func:`render_maps` everything at once.

Conventions:
    * Camera: :class:`~posestack.multiview.calibration.Camera` (OpenCV: x right,
      y down, z forward; ``X_cam = R X_world + t``); pixel ``(u, v)`` has its origin
      at the centre of the top-left pixel, so pixel ``[row, col]`` covers the
      point ``u = col, v = row``.
    * A pixel belongs to a triangle when its centre is inside it. Centres exactly
      on an edge go to one triangle only (a top-left rule on edge functions that
      two triangles sharing an edge compute bit for bit alike), so a closed mesh
      has neither holes nor double cover along its edges.
    * Depth is the camera-space ``z`` (metres), not the distance to the centre.
    * Triangles with a vertex at depth ≤ ``near`` are dropped whole (no near-plane
      clipping); triangles partly outside the image are clipped to it.
    * Faces wind counter-clockwise seen from outside (the OBJ convention; Anny's
      mesh does): face normals are ``(b - a) × (c - a)``.
    * With lens distortion, vertices are distorted exactly and triangles are
      straight between them (exact enough for body meshes' small triangles);
      perspective-correct interpolation assumes a pinhole inside each triangle.

Rendering at another size (``size=(W', H')``) rescales the camera matrix with
:func:`resized_camera`: ``fx' = fx W'/W``, ``fy' = fy H'/H`` and, for pixel centres
at integer coordinates, ``cx' = (cx + 0.5) W'/W - 0.5``, ``cy' = (cy + 0.5) H'/H - 0.5``
(the plain ``cx W'/W`` is off by less than half a pixel).

Example:
    >>> import numpy as np
    >>> from posestack.multiview.calibration import Camera
    >>> cam = Camera("c", K=[[100., 0, 31.5], [0, 100., 31.5], [0, 0, 1]], dist=np.zeros(4),
    ...              R=np.eye(3), t=np.zeros(3), size=(64, 64))
    >>> square = np.array([[-.5, -.5, 2.], [.5, -.5, 2.], [.5, .5, 2.], [-.5, .5, 2.]])
    >>> faces = np.array([[0, 2, 1], [0, 3, 2]])   # counter-clockwise seen from the camera
    >>> maps = render_maps(square, faces, cam, maps=("depth", "normal"))
    >>> float(maps.depth[32, 32]), maps.normal_image[32, 32].tolist()
    (2.0, [128, 128, 255])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import InputError
from ..multiview.calibration import Camera

__all__ = ["MAP_NAMES", "MeshMaps", "MeshView", "Raster", "depth_map", "normal_map", "overlay",
           "project_vertices", "rasterize", "render_maps", "render_mesh", "resized_camera",
           "semantic_map", "vertex_normals"]

#: The maps :func:`render_maps` can make.
MAP_NAMES = ("depth", "normal", "semantic", "overlay")
#: Overlay colour: a light neutral grey (RGB, 0-255).
MESH_COLOUR = (205, 205, 200)

# Bounding-box size classes (pixels) of the vectorised rasteriser; boxes larger than
# _TILE are cut into tiles first. Candidates per numpy batch: _BUDGET.
_CLASSES = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64])
_TILE = int(_CLASSES[-1])
_BUDGET = 1 << 19


# --- results ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Raster:
    """Which triangle each pixel sees, where in it, and how far.

    Attributes:
        face_id: (H, W) int32 face index, -1 for background.
        bary: (H, W, 3) float32 perspective-correct barycentric weights of the face's
            three vertices (in ``faces`` order); zeros for background.
        depth: (H, W) float32 camera-space z (metres); ``inf`` for background.
    """

    face_id: np.ndarray
    bary: np.ndarray
    depth: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """(H, W) bool: pixels covered by the mesh."""
        return self.face_id >= 0

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.face_id.shape[1]), int(self.face_id.shape[0])


@dataclass(frozen=True, eq=False)
class MeshView:
    """A mesh rasterised by one camera (:func:`render_mesh`); input of the map functions.

    Attributes:
        raster: the :class:`Raster`.
        camera: the camera used (resized to the render size).
        vertices_cam: (V, 3) float64 vertices in the camera frame (OpenCV axes), metres.
        faces: (F, 3) int64 vertex indices.
    """

    raster: Raster
    camera: Camera
    vertices_cam: np.ndarray
    faces: np.ndarray

    @cached_property
    def vertex_normals(self) -> np.ndarray:
        """(V, 3) float64 unit vertex normals in the camera frame (OpenCV axes)."""
        return vertex_normals(self.vertices_cam, self.faces)

    @cached_property
    def pixel_normals(self) -> np.ndarray:
        """(H, W, 3) float32 unit normals (OpenCV camera axes); zeros for background."""
        return _interpolate(self.raster, self.faces, self.vertex_normals, normalise=True)

    @cached_property
    def pixel_points(self) -> np.ndarray:
        """(H, W, 3) float32 surface points in the camera frame (metres); zeros for background."""
        return _interpolate(self.raster, self.faces, self.vertices_cam, normalise=False)


@dataclass(frozen=True, eq=False)
class MeshMaps:
    """Maps from :func:`render_maps`; a field is None when its map was not asked for.

    Attributes:
        view: the :class:`MeshView` they were made from.
        depth: (H, W) float32 camera-space depth, metres; ``inf`` for background.
        depth_image: (H, W, 3) uint8, near bright, far dark, background black.
        normals: (H, W, 3) float32 unit normals, x right, y up, z towards the camera;
            zeros for background.
        normal_image: (H, W, 3) uint8 ``round((n * 0.5 + 0.5) * 255)``, background black.
        labels: (H, W) int32 part label per pixel, -1 for background.
        semantic_image: (H, W, 3) uint8 part colours, background black.
        overlay_image: (H, W, 3) uint8 shaded mesh blended over the frame.
    """

    view: MeshView
    depth: np.ndarray | None = None
    depth_image: np.ndarray | None = None
    normals: np.ndarray | None = None
    normal_image: np.ndarray | None = None
    labels: np.ndarray | None = None
    semantic_image: np.ndarray | None = None
    overlay_image: np.ndarray | None = None


# --- input checks ----------------------------------------------------------------------------

def _float_array(a: Any, cols: int | None, what: str, *, finite: bool = True) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a numeric array, got {type(a).__name__}") from None
    if cols is None:
        if arr.ndim != 1:
            raise InputError(f"{what} must have shape (N,), got {arr.shape}")
    elif arr.ndim != 2 or arr.shape[1] != cols:
        raise InputError(f"{what} must have shape (N, {cols}), got {arr.shape}")
    if finite and not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr.reshape(len(arr), -1))).any(1).sum())
        raise InputError(f"{what} has {bad} rows with NaN or infinite values; "
                         "drop or fill them before rendering")
    return arr


def _faces(faces: Any, n_vertices: int) -> np.ndarray:
    f = np.asarray(faces)
    if f.ndim != 2 or f.shape[1] != 3:
        raise InputError(f"faces must have shape (F, 3) (triangles), got {f.shape}")
    if f.size and not np.issubdtype(f.dtype, np.integer):
        if not np.issubdtype(f.dtype, np.floating) or np.any(f != np.round(f)):
            raise InputError(f"faces must hold integer vertex indices, got dtype {f.dtype}")
    f = f.astype(np.int64)
    if f.size and (f.min() < 0 or f.max() >= n_vertices):
        raise InputError(f"faces index vertices {f.min()}..{f.max()} but there are "
                         f"{n_vertices} vertices (valid: 0..{n_vertices - 1})")
    return f


def _size(size: Any) -> tuple[int, int]:
    try:
        w, h = (int(s) for s in size)
    except (TypeError, ValueError):
        raise InputError(f"size must be (width, height) in pixels, got {size!r}") from None
    if w <= 0 or h <= 0:
        raise InputError(f"size must be positive (width, height), got {w}x{h}")
    return w, h


# --- camera ----------------------------------------------------------------------------------

def resized_camera(camera: Camera, size: tuple[int, int]) -> Camera:
    """The camera for its image resampled to ``size`` = (width, height) pixels.

    ``fx, fy`` scale by ``W'/W, H'/H``; ``cx' = (cx + 0.5) W'/W - 0.5`` (likewise
    ``cy``) keeps pixel centres at integer coordinates. Distortion, pose and the
    fisheye flag are unchanged (distortion acts on normalised coordinates). The
    aspect ratio may change (the image is then stretched).
    """
    w2, h2 = _size(size)
    w, h = camera.size
    if (w2, h2) == (w, h):
        return camera
    sx, sy = w2 / w, h2 / h
    K = camera.K
    K2 = np.array([[K[0, 0] * sx, 0.0, (K[0, 2] + 0.5) * sx - 0.5],
                   [0.0, K[1, 1] * sy, (K[1, 2] + 0.5) * sy - 0.5], [0.0, 0.0, 1.0]])
    return Camera(camera.name, K2, camera.dist, camera.R, camera.t, (w2, h2), camera.fisheye)


def project_vertices(vertices: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Project world vertices with the camera, distortion included.

    Args:
        vertices: (N, 3) world points, metres (finite).
        camera: the camera (``cv2.projectPoints`` / ``cv2.fisheye.projectPoints``
            model when it has distortion).

    Returns:
        ``uv`` (N, 2) float64 pixels (NaN for points at or behind the camera plane)
        and ``depth`` (N,) float64 camera-space z, metres.
    """
    v = _float_array(vertices, 3, "vertices")
    return camera.project(v), camera.to_camera(v)[:, 2]


# --- rasteriser ------------------------------------------------------------------------------

def _edges(x: np.ndarray, y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, ...]:
    """Edge-function coefficients (A, B, C) (3, n) and tie ownership (3, n).

    Edge k is opposite vertex k, traversed v[k+1] → v[k+2]. Its function
    ``A u + B v + C`` is computed from the two end points in a canonical order
    (smaller x, then smaller y, first) and negated as needed, so the two triangles
    sharing an edge get bitwise opposite values; it is ≥ 0 inside.
    """
    A = np.empty((3, len(s)))
    B = np.empty_like(A)
    C = np.empty_like(A)
    own = np.empty(A.shape, dtype=bool)
    for k in range(3):
        px, py = x[:, (k + 1) % 3], y[:, (k + 1) % 3]
        qx, qy = x[:, (k + 2) % 3], y[:, (k + 2) % 3]
        swap = (px > qx) | ((px == qx) & (py > qy))
        sx, sy = np.where(swap, qx, px), np.where(swap, qy, py)
        ex, ey = np.where(swap, px, qx), np.where(swap, py, qy)
        dx, dy = ex - sx, ey - sy
        g = np.where(swap, -s, s)
        A[k] = -dy * g
        B[k] = dx * g
        C[k] = (dy * sx - dx * sy) * g
        # oriented direction (interior on its left): s * (q - p); own ties on edges
        # pointing +v, or pointing -u when horizontal. The neighbour has the opposite.
        ox, oy = s * (qx - px), s * (qy - py)
        own[k] = (oy > 0) | ((oy == 0) & (ox < 0))
    return A, B, C, own


def _tiles(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray
           ) -> tuple[np.ndarray, ...]:
    """Cut pixel boxes (inclusive) into tiles of at most _TILE × _TILE; (owner, x0, y0, x1, y1)."""
    nx = (x1 - x0) // _TILE + 1
    ny = (y1 - y0) // _TILE + 1
    nt = nx * ny
    owner = np.arange(len(x0))
    if np.all(nt == 1):
        return owner, x0, y0, x1, y1
    owner = np.repeat(owner, nt)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(nt) - nt, nt)
    tx, ty = k % nx[owner], k // nx[owner]
    a = x0[owner] + _TILE * tx
    b = y0[owner] + _TILE * ty
    return owner, a, b, np.minimum(a + _TILE - 1, x1[owner]), np.minimum(b + _TILE - 1,
                                                                          y1[owner])


def rasterize(uv: np.ndarray, depth: np.ndarray, faces: np.ndarray, size: tuple[int, int], *,
              near: float = 1e-2, cull_back: bool = False) -> Raster:
    """Rasterise triangles with a z-buffer (nearest surface wins).

    Args:
        uv: (N, 2) vertex pixels (``u`` right, ``v`` down, origin at the top-left
            pixel's centre); NaN for vertices that cannot be projected.
        depth: (N,) vertex camera-space z, metres.
        faces: (F, 3) vertex indices.
        size: (width, height) of the image, pixels.
        near: triangles with a vertex at depth ≤ ``near`` (metres) are dropped.
        cull_back: also drop triangles wound clockwise on screen, i.e. facing away
            from the camera for counter-clockwise (outward) faces. Halves the work
            for closed meshes; leave off for open or inconsistently wound ones.

    Returns:
        A :class:`Raster` of shape (H, W). Barycentrics are perspective-correct
        (``1/z`` interpolated linearly in the image), and so is its depth.
    """
    W, H = _size(size)
    uv = _float_array(uv, 2, "uv", finite=False)
    z = _float_array(depth, None, "depth", finite=False)
    if len(z) != len(uv):
        raise InputError(f"uv has {len(uv)} rows but depth has {len(z)}; give one per vertex")
    f = _faces(faces, len(uv))
    face_id = np.full(H * W, -1, dtype=np.int32)
    bary = np.zeros((H * W, 3), dtype=np.float32)
    zbuf = np.full(H * W, np.inf, dtype=np.float32)

    x, y, zf = uv[f, 0], uv[f, 1], z[f]
    with np.errstate(invalid="ignore"):
        area2 = ((x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0])
                 - (x[:, 2] - x[:, 0]) * (y[:, 1] - y[:, 0]))
        ok = np.isfinite(area2) & (area2 != 0) & (zf > near).all(1)
        if cull_back:
            ok &= area2 < 0
        xl = np.ceil(np.clip(x.min(1), -1, W)).astype(np.int64)
        xh = np.floor(np.clip(x.max(1), -1, W)).astype(np.int64)
        yl = np.ceil(np.clip(y.min(1), -1, H)).astype(np.int64)
        yh = np.floor(np.clip(y.max(1), -1, H)).astype(np.int64)
    xl, yl = np.maximum(xl, 0), np.maximum(yl, 0)
    xh, yh = np.minimum(xh, W - 1), np.minimum(yh, H - 1)
    ok &= (xh >= xl) & (yh >= yl)
    ids = np.flatnonzero(ok)
    if len(ids) == 0:
        return _raster(face_id, bary, zbuf, H, W)
    x, y, zf = x[ids], y[ids], zf[ids]
    A, B, C, own = _edges(x, y, np.sign(area2[ids]))
    inv_z = 1.0 / zf

    owner, tx0, ty0, tx1, ty1 = _tiles(xl[ids], yl[ids], xh[ids], yh[ids])
    cw = np.searchsorted(_CLASSES, tx1 - tx0 + 1)
    ch = np.searchsorted(_CLASSES, ty1 - ty0 + 1)
    key = ch * len(_CLASSES) + cw
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    out_pix, out_tri, out_w = [], [], []
    for group in np.split(order, bounds):
        gw, gh = int(_CLASSES[cw[group[0]]]), int(_CLASSES[ch[group[0]]])
        ox = np.tile(np.arange(gw), gh)
        oy = np.repeat(np.arange(gh), gw)
        step = max(1, _BUDGET // (gw * gh))
        for i in range(0, len(group), step):
            t = group[i:i + step]
            tri = owner[t]
            px = tx0[t, None] + ox
            py = ty0[t, None] + oy
            inside = (px <= tx1[t, None]) & (py <= ty1[t, None])
            pxf, pyf = px.astype(np.float64), py.astype(np.float64)
            fs = []
            for k in range(3):
                fk = A[k, tri, None] * pxf + B[k, tri, None] * pyf + C[k, tri, None]
                inside &= (fk > 0) | ((fk == 0) & own[k, tri, None])
                fs.append(fk)
            r, c = np.nonzero(inside)
            if len(r) == 0:
                continue
            out_pix.append(py[r, c] * W + px[r, c])
            out_tri.append(tri[r])
            out_w.append(np.stack([fk[r, c] for fk in fs], 1))
    if not out_pix:
        return _raster(face_id, bary, zbuf, H, W)
    pix = np.concatenate(out_pix)
    tri = np.concatenate(out_tri)
    w = np.concatenate(out_w)
    # screen-space barycentrics -> perspective-correct ones and depth
    w /= w.sum(1, keepdims=True)
    w *= inv_z[tri]
    inv = w.sum(1)
    w /= inv[:, None]
    zpix = (1.0 / inv).astype(np.float32)
    np.minimum.at(zbuf, pix, zpix)
    win = np.flatnonzero(zpix == zbuf[pix])
    # ties (coincident surfaces): keep the first candidate per pixel
    _, first = np.unique(pix[win], return_index=True)
    win = win[first]
    face_id[pix[win]] = ids[tri[win]]
    bary[pix[win]] = w[win]
    return _raster(face_id, bary, zbuf, H, W)


def _raster(face_id: np.ndarray, bary: np.ndarray, zbuf: np.ndarray, H: int, W: int) -> Raster:
    return Raster(face_id.reshape(H, W), bary.reshape(H, W, 3), zbuf.reshape(H, W))


# --- maps ------------------------------------------------------------------------------------

def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Smooth unit vertex normals (V, 3): the area-weighted sum of the adjacent face normals.

    Faces wind counter-clockwise seen from outside (normals ``(b - a) × (c - a)``).
    Vertices in no face (or only in degenerate ones) get a zero normal.
    """
    v = _float_array(vertices, 3, "vertices")
    f = _faces(faces, len(v))
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])  # |fn| = 2 × area
    idx = f.ravel()
    n = np.stack([np.bincount(idx, np.repeat(fn[:, k], 3), minlength=len(v))
                  for k in range(3)], 1)
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    return np.divide(n, norm, out=np.zeros_like(n), where=norm > 0)


def _interpolate(raster: Raster, faces: np.ndarray, values: np.ndarray, *,
                 normalise: bool) -> np.ndarray:
    """Per-pixel barycentric interpolation of per-vertex (V, D) values; zeros for background."""
    H, W = raster.face_id.shape
    out = np.zeros((H, W, values.shape[1]), dtype=np.float32)
    m = raster.mask
    tri = faces[raster.face_id[m]]
    b = raster.bary[m].astype(np.float64)
    val = np.einsum("nk,nkd->nd", b, values[tri])
    if normalise:
        norm = np.linalg.norm(val, axis=1, keepdims=True)
        val = np.divide(val, norm, out=np.zeros_like(val), where=norm > 0)
    out[m] = val
    return out


def _gray(value: np.ndarray) -> np.ndarray:
    return np.repeat(value[..., None], 3, axis=-1)


def depth_map(view: MeshView) -> tuple[np.ndarray, np.ndarray]:
    """Depth as image-animation datasets store it.

    Returns:
        ``image`` (H, W, 3) uint8 grey: the mesh's visible depth range in this view
        mapped linearly to 255 (nearest pixel) ... 0 (farthest), background black;
        and ``depth`` (H, W) float32 camera-space z in metres, ``inf`` for background.
    """
    depth = view.raster.depth
    m = view.raster.mask
    img = np.zeros(depth.shape, dtype=np.uint8)
    if m.any():
        d = depth[m].astype(np.float64)
        lo, hi = d.min(), d.max()
        span = hi - lo
        scaled = (hi - d) / span if span > 0 else np.ones_like(d)
        img[m] = np.rint(255.0 * scaled).astype(np.uint8)
    return _gray(img), depth


def normal_map(view: MeshView) -> tuple[np.ndarray, np.ndarray]:
    """Camera-space normals, smooth (interpolated area-weighted vertex normals).

    Convention (as SMPL/Champ normal renders): x right, y up, z towards the camera,
    i.e. OpenCV's camera axes with y and z flipped; encoded as
    ``round((n * 0.5 + 0.5) * 255)`` per channel (R = x, G = y, B = z), so a
    surface facing the camera is bluish ``(128, 128, 255)``, one facing right
    reddish, one facing up greenish. Faces seen from behind keep their normal
    (pointing away). Background black.

    Returns:
        ``image`` (H, W, 3) uint8 and ``normals`` (H, W, 3) float32 unit vectors in
        that convention (zeros for background).
    """
    n = view.pixel_normals * np.array([1.0, -1.0, -1.0], dtype=np.float32)
    m = view.raster.mask
    img = np.zeros(n.shape, dtype=np.uint8)
    img[m] = np.rint((n[m] * 0.5 + 0.5) * 255.0).clip(0, 255).astype(np.uint8)
    return img, n


def _palette(palette: Any, n_labels: int) -> np.ndarray:
    if palette is None:
        from ..body.parts import PART_COLOURS

        palette = PART_COLOURS
    p = np.asarray(palette)
    if p.ndim != 2 or p.shape[1] != 3 or not np.issubdtype(p.dtype, np.number):
        raise InputError(f"palette must be (L, 3) RGB values, got shape {p.shape}")
    if np.any(p < 0) or np.any(p > 255):
        raise InputError("palette values must be in 0..255 (RGB uint8)")
    if len(p) < n_labels:
        raise InputError(f"labels go up to {n_labels - 1} but the palette has {len(p)} "
                         f"colours; give a palette with at least {n_labels} rows")
    return p.astype(np.uint8)


def _vertex_labels(labels: Any, n_vertices: int) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.shape != (n_vertices,):
        raise InputError(f"vertex_labels must have shape ({n_vertices},) (one per vertex), "
                         f"got {lab.shape}")
    if lab.size and not np.issubdtype(lab.dtype, np.integer):
        raise InputError(f"vertex_labels must be integers, got dtype {lab.dtype}")
    if lab.size and lab.min() < 0:
        raise InputError(f"vertex_labels must be ≥ 0, got {lab.min()}")
    return lab.astype(np.int64)


def semantic_map(view: MeshView, vertex_labels: np.ndarray,
                 palette: np.ndarray | Sequence[Sequence[int]] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Body-part colours: each pixel takes the hit triangle's majority label.

    Args:
        view: from :func:`render_mesh`.
        vertex_labels: (V,) int labels ≥ 0 (e.g. :func:`posestack.body.parts.anny_part_labels`).
        palette: (L, 3) RGB uint8, one colour per label; default
            :data:`posestack.body.parts.PART_COLOURS`.

    Returns:
        ``image`` (H, W, 3) uint8 (background black) and ``labels`` (H, W) int32
        (-1 for background). The majority is by barycentric weight: each of the
        face's labels scores the summed weights of its vertices (the nearest
        vertex's label when all three differ).
    """
    lab = _vertex_labels(vertex_labels, len(view.vertices_cam))
    pal = _palette(palette, int(lab.max()) + 1 if lab.size else 0)
    r = view.raster
    m = r.mask
    labels = np.full(m.shape, -1, dtype=np.int32)
    vl = lab[view.faces[r.face_id[m]]]                      # (n, 3) labels of the 3 vertices
    b = r.bary[m]
    same = vl[:, :, None] == vl[:, None, :]                 # (n, 3, 3)
    score = np.einsum("nkj,nj->nk", same, b)                # weight of each vertex's label
    labels[m] = vl[np.arange(len(vl)), score.argmax(1)]
    img = np.zeros((*m.shape, 3), dtype=np.uint8)
    img[m] = pal[labels[m]]
    return img, labels


def overlay(view: MeshView, frame: np.ndarray, alpha: float = 0.6,
            colour: tuple[int, int, int] = MESH_COLOUR, ambient: float = 0.25) -> np.ndarray:
    """The mesh shaded and alpha-blended over a frame.

    Lambert shading with a headlight (a light at the camera centre, two-sided):
    ``colour * (ambient + (1 - ambient) |n · l|)`` with ``l`` the unit vector from
    the surface point to the camera.

    Args:
        view: from :func:`render_mesh`, rendered at the frame's size.
        frame: (H, W, 3) uint8 RGB (not modified).
        alpha: opacity of the mesh in [0, 1].
        colour: RGB 0-255 of the mesh.
        ambient: share of light that does not depend on the angle, in [0, 1].

    Returns:
        (H, W, 3) uint8 RGB.
    """
    img = np.asarray(frame)
    w, h = view.raster.size
    if img.shape != (h, w, 3) or img.dtype != np.uint8:
        raise InputError(f"frame must be uint8 RGB of shape ({h}, {w}, 3) (the render size), "
                         f"got {img.dtype} {img.shape}; render with size=(W, H) of the frame")
    if not 0.0 <= alpha <= 1.0 or not 0.0 <= ambient <= 1.0:
        raise InputError(f"alpha and ambient must be in [0, 1], got {alpha}, {ambient}")
    m = view.raster.mask
    out = img.copy()
    if not m.any():
        return out
    n = view.pixel_normals[m].astype(np.float64)
    p = view.pixel_points[m].astype(np.float64)
    light = -p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    lam = np.abs(np.einsum("nd,nd->n", n, light))
    shade = (ambient + (1.0 - ambient) * lam)[:, None] * np.asarray(colour, dtype=np.float64)
    out[m] = np.rint((1.0 - alpha) * img[m] + alpha * shade).clip(0, 255).astype(np.uint8)
    return out


# --- all at once -----------------------------------------------------------------------------

def render_mesh(vertices: np.ndarray, faces: np.ndarray, camera: Camera, *,
                size: tuple[int, int] | None = None, near: float = 1e-2,
                cull_back: bool = False) -> MeshView:
    """Project and rasterise a mesh: the input of the map functions.

    Args:
        vertices: (V, 3) world vertices, metres (finite).
        faces: (F, 3) vertex indices, counter-clockwise seen from outside.
        camera: the camera (its distortion is applied).
        size: (width, height) to render at instead of ``camera.size``
            (see :func:`resized_camera`).
        near: triangles with a vertex at depth ≤ ``near`` metres are dropped.
        cull_back: drop faces turned away from the camera (closed meshes only).
    """
    v = _float_array(vertices, 3, "vertices")
    f = _faces(faces, len(v))
    if not isinstance(camera, Camera):
        raise InputError(f"camera must be a posestack Camera, got {type(camera).__name__}")
    cam = resized_camera(camera, size) if size is not None else camera
    xc = cam.to_camera(v)
    raster = rasterize(cam.project(v), xc[:, 2], f, cam.size, near=near, cull_back=cull_back)
    return MeshView(raster, cam, xc, f)


def render_maps(vertices: np.ndarray, faces: np.ndarray, camera: Camera,
                maps: Sequence[str] = ("depth", "normal", "semantic"), *,
                vertex_labels: np.ndarray | None = None,
                palette: np.ndarray | Sequence[Sequence[int]] | None = None,
                frame: np.ndarray | None = None, alpha: float = 0.6,
                size: tuple[int, int] | None = None, near: float = 1e-2,
                cull_back: bool = False) -> MeshMaps:
    """Render a mesh once and make the asked-for maps (:data:`MAP_NAMES`).

    ``"semantic"`` needs ``vertex_labels`` (and ``palette`` unless the labels are
    :mod:`posestack.body.parts` ones); ``"overlay"`` needs ``frame`` at the render
    size. See :func:`render_mesh`, :func:`depth_map`, :func:`normal_map`,
    :func:`semantic_map` and :func:`overlay` for the arguments and conventions.
    """
    if isinstance(maps, str):
        maps = (maps,)
    unknown = [m for m in maps if m not in MAP_NAMES]
    if unknown:
        raise InputError(f"unknown map(s) {unknown}; choose from {', '.join(MAP_NAMES)}")
    if "semantic" in maps and vertex_labels is None:
        raise InputError("the semantic map needs vertex_labels (one part label per vertex), "
                         "e.g. posestack.body.parts.anny_part_labels(body)")
    if "overlay" in maps and frame is None:
        raise InputError("the overlay map needs frame (uint8 RGB at the render size)")
    view = render_mesh(vertices, faces, camera, size=size, near=near, cull_back=cull_back)
    out: dict[str, np.ndarray] = {}
    if "depth" in maps:
        out["depth_image"], out["depth"] = depth_map(view)
    if "normal" in maps:
        out["normal_image"], out["normals"] = normal_map(view)
    if "semantic" in maps:
        out["semantic_image"], out["labels"] = semantic_map(view, vertex_labels, palette)
    if "overlay" in maps:
        out["overlay_image"] = overlay(view, frame, alpha)
    return MeshMaps(view, **out)
