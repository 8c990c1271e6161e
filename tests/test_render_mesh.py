"""posestack.render.mesh: the CPU rasteriser and its maps, on shapes whose truth is known.

The camera is a pinhole at the world origin looking along +z (world = camera frame,
OpenCV axes), f = 100 px, 80x60 pixels, principal point at a pixel centre, unless said.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from posestack.errors import InputError
from posestack.multiview.calibration import Camera
from posestack.render.mesh import (
    MAP_NAMES,
    depth_map,
    normal_map,
    overlay,
    project_vertices,
    rasterize,
    render_maps,
    render_mesh,
    resized_camera,
    semantic_map,
)

F, W, H = 100.0, 80, 60
CX, CY = 39.0, 29.0


def pinhole(f=F, size=(W, H), cx=CX, cy=CY, dist=None, R=None, t=None) -> Camera:
    return Camera("test", K=[[f, 0, cx], [0, f, cy], [0, 0, 1]],
                  dist=np.zeros(5) if dist is None else dist,
                  R=np.eye(3) if R is None else R, t=np.zeros(3) if t is None else t, size=size)


def square(cx, cy, z, half, slope=0.0):
    """A square facing the camera (normal -z, counter-clockwise seen from it); z + slope x."""
    xy = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float) * half + (cx, cy)
    v = np.column_stack([xy, z + slope * (xy[:, 0] - cx)])
    return v, np.array([[0, 2, 1], [0, 3, 2]])


def uv_sphere(centre, r, n_lat=48, n_lon=96):
    """Closed sphere, poles on the z axis, faces counter-clockwise seen from outside."""
    th = np.linspace(0, np.pi, n_lat + 1)[1:-1]
    ph = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    T, P = np.meshgrid(th, ph, indexing="ij")
    ring = np.stack([np.sin(T) * np.cos(P), np.sin(T) * np.sin(P), np.cos(T)], -1).reshape(-1, 3)
    v = np.vstack([[0, 0, 1], ring, [0, 0, -1]]) * r + centre
    idx = lambda i, j: 1 + i * n_lon + j % n_lon  # noqa: E731
    faces = [(0, idx(0, j), idx(0, j + 1)) for j in range(n_lon)]
    for i in range(n_lat - 2):
        for j in range(n_lon):
            a, b, c, d = idx(i, j), idx(i, j + 1), idx(i + 1, j), idx(i + 1, j + 1)
            faces += [(a, c, b), (b, c, d)]
    last = len(v) - 1
    faces += [(idx(n_lat - 2, j), last, idx(n_lat - 2, j + 1)) for j in range(n_lon)]
    faces = np.array(faces)
    a, b, c = v[faces[:, 0]] - centre, v[faces[:, 1]] - centre, v[faces[:, 2]] - centre
    assert np.einsum("ij,ij->i", a, np.cross(b, c)).sum() > 0  # outward winding
    return v, faces


def pixel_rays():
    """(H, W, 2) normalised image coordinates (x/z, y/z) of every pixel centre."""
    u, v = np.meshgrid(np.arange(W), np.arange(H))
    return np.stack([(u - CX) / F, (v - CY) / F], -1)


# --- depth, perspective and the z-buffer ---------------------------------------------------

def test_square_depth_is_analytic_and_perspective_correct():
    cam = pinhole()
    # a plane tilted about y: z = 2 + 0.5 x; on the ray (a, b, 1) z = 2 / (1 - 0.5 a)
    v, f = square(0.0, 0.0, 2.0, 0.6, slope=0.5)
    view = render_mesh(v, f, cam)
    r = view.raster
    ray = pixel_rays()
    truth = 2.0 / (1.0 - 0.5 * ray[..., 0])
    assert r.mask.sum() > 1000
    assert np.abs(r.depth[r.mask] - truth[r.mask]).max() < 1e-5   # metres (float32)
    # barycentrics are perspective-correct: interpolated points lie on the pixel's ray
    p = view.pixel_points[r.mask]
    assert np.abs(p[:, :2] / p[:, 2:] - ray[r.mask]).max() < 1e-5
    assert np.isinf(r.depth[~r.mask]).all() and (r.face_id[~r.mask] == -1).all()
    assert r.face_id.dtype == np.int32 and r.bary.dtype == np.float32
    assert r.depth.dtype == np.float32 and r.bary.shape == (H, W, 3)
    assert np.allclose(r.bary[r.mask].sum(1), 1, atol=1e-6)
    img, depth = depth_map(view)
    assert depth is r.depth and img.shape == (H, W, 3) and img.dtype == np.uint8
    # near bright, far dark: the plane recedes to the right (+x)
    row = img[int(CY), :, 0][r.mask[int(CY)]]
    assert row[0] == 255 and row[-1] == 0 and np.all(np.diff(row.astype(int)) <= 0)
    assert (img[~r.mask] == 0).all()


def test_nearer_square_occludes_the_farther_one_in_any_order():
    cam = pinhole()
    near, fn = square(-0.1, 0.0, 2.0, 0.3)     # pixels u in [19, 49]
    far, ff = square(0.25, 0.0, 3.0, 0.45)     # pixels u in [32.3, 62.3]
    for order in (0, 1):
        parts = [(near, fn), (far, ff)] if order == 0 else [(far, ff), (near, fn)]
        v = np.vstack([parts[0][0], parts[1][0]])
        f = np.vstack([parts[0][1], parts[1][1] + 4])
        r = render_mesh(v, f, cam).raster
        near_faces = (0, 1) if order == 0 else (2, 3)
        row = int(CY)
        assert r.depth[row, 40] == pytest.approx(2.0, abs=1e-6)   # both cover it: near wins
        assert np.isin(r.face_id[row, 40], near_faces)
        assert r.depth[row, 60] == pytest.approx(3.0, abs=1e-6)   # only the far one
        assert r.depth[row, 22] == pytest.approx(2.0, abs=1e-6)   # only the near one
        overlap = (np.abs(pixel_rays()[..., 0] * 2.0 + 0.1) < 0.29) & (np.abs(
            pixel_rays()[..., 0] * 3.0 - 0.25) < 0.44) & (np.abs(pixel_rays()[..., 1]) < 0.14)
        assert overlap.sum() > 100
        assert np.allclose(r.depth[overlap], 2.0)


def test_sphere_silhouette_has_no_holes_and_exact_depth_and_normals():
    cam = pinhole()
    c, rad = np.array([0.0, 0.0, 2.0]), 0.5
    v, f = uv_sphere(c, rad)
    maps = render_maps(v, f, cam, ("depth", "normal"))
    r = maps.view.raster
    ray = pixel_rays()
    # the silhouette of a sphere on the axis: a circle of radius f tan(asin(r / d))
    rho = F * np.hypot(ray[..., 0], ray[..., 1])
    R_img = F * np.tan(np.arcsin(rad / 2.0))  # 25.8 px
    inside, outside = rho < R_img - 1.0, rho > R_img + 0.5
    assert inside.sum() > 1900
    assert r.mask[inside].all()             # no holes (1 px margin for the polygon's chords)
    assert not r.mask[outside].any()
    # depth: the ray's first intersection with the true sphere. A facet's middle lies up
    # to r (1 - cos(sqrt(2) pi / 96)) = 0.54 mm inside it; along the ray that grows as
    # 1 / cos(incidence): < 1 mm out to 0.8 of the radius, a few mm at the rim.
    d = np.concatenate([ray, np.ones((H, W, 1))], -1)
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    b = d @ c
    s = b - np.sqrt(np.maximum(b ** 2 - (c @ c - rad ** 2), 0))
    z_true = s * d[..., 2]
    err = np.abs(r.depth - z_true)
    assert err[rho < 0.8 * R_img].max() < 1e-3 and err[inside].max() < 3e-3   # metres
    assert r.depth[int(CY), int(CX)] == pytest.approx(1.5, abs=1e-4)  # the pole faces us
    # normals: x right, y up, z towards the camera
    n = maps.normals
    assert np.allclose(n[int(CY), int(CX)], (0, 0, 1), atol=1e-3)
    assert np.array_equal(maps.normal_image[int(CY), int(CX)], (128, 128, 255))
    hit = s[..., None] * d
    n_true = (hit - c) / rad * (1, -1, -1)
    assert np.abs(n[inside] - n_true[inside]).max() < 0.05
    assert np.allclose(np.linalg.norm(n[r.mask], axis=1), 1, atol=1e-5)
    right, top = n[int(CY), int(CX) + 12], n[int(CY) - 12, int(CX)]
    assert right[0] > 0.3 and abs(right[1]) < 1e-3 and top[1] > 0.3 and abs(top[0]) < 1e-3
    enc = np.rint((n[r.mask] * 0.5 + 0.5) * 255)
    assert np.array_equal(maps.normal_image[r.mask], enc.astype(np.uint8))
    img, n2 = normal_map(maps.view)
    assert np.array_equal(img, maps.normal_image) and np.array_equal(n2, n)
    assert (maps.normal_image[~r.mask] == 0).all()
    assert maps.labels is None and maps.semantic_image is None


def test_back_faces_culled_give_the_same_closed_surface():
    v, f = uv_sphere(np.array([0.1, -0.05, 2.5]), 0.4, 24, 48)
    a = render_mesh(v, f, pinhole()).raster
    b = render_mesh(v, f, pinhole(), cull_back=True).raster
    assert np.array_equal(a.face_id, b.face_id) and np.array_equal(a.depth, b.depth)


# --- edges, clipping, culling --------------------------------------------------------------

def test_shared_edges_cover_every_pixel_exactly_once():
    # a square whose edges and diagonal run through pixel centres: the fill rule decides
    uv = np.array([[10.0, 10.0], [20.0, 10.0], [20.0, 20.0], [10.0, 20.0]])
    z = np.full(4, 2.0)
    quad = np.array([[0, 1, 2], [0, 2, 3]])
    both = rasterize(uv, z, quad, (32, 32))
    one = [rasterize(uv, z, quad[i:i + 1], (32, 32)).mask for i in (0, 1)]
    assert not (one[0] & one[1]).any()
    assert np.array_equal(one[0] | one[1], both.mask)
    assert both.mask.sum() == 100           # 10 x 10: half-open on two sides
    # a fan of 12 triangles around a vertex at a pixel centre: covered once
    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    uv = np.vstack([[16.0, 16.0], 16 + 9.0 * np.column_stack([np.cos(ang), np.sin(ang)])])
    fan = np.array([[0, 1 + i, 1 + (i + 1) % 12] for i in range(12)])
    z = np.full(13, 3.0)
    masks = np.stack([rasterize(uv, z, fan[i:i + 1], (32, 32)).mask for i in range(12)])
    assert masks.sum(0).max() == 1
    assert np.array_equal(masks.any(0), rasterize(uv, z, fan, (32, 32)).mask)
    assert masks[:, 16, 16].sum() == 1


def test_random_triangles_agree_with_a_per_pixel_reference():
    rng = np.random.default_rng(3)
    n, w, h = 80, 48, 36
    uv = rng.uniform(-20, 68, (3 * n, 2))
    z = rng.uniform(1.0, 5.0, 3 * n)
    faces = np.arange(3 * n).reshape(n, 3)
    r = rasterize(uv, z, faces, (w, h))
    # reference: every triangle against every pixel centre, barycentrics by a 2x2 solve
    px = np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1).reshape(-1, 2).astype(float)
    best = np.full(len(px), np.inf)
    ambiguous = np.zeros(len(px), dtype=bool)
    for a, b, c in faces:
        M = np.array([uv[b] - uv[a], uv[c] - uv[a]]).T
        if abs(np.linalg.det(M)) < 1e-9:
            continue
        l12 = np.linalg.solve(M, (px - uv[a]).T).T
        lam = np.column_stack([1 - l12.sum(1), l12])
        ambiguous |= (np.abs(lam) < 1e-9).any(1) & (lam > -1e-9).all(1)
        ins = (lam > 0).all(1)
        zz = 1.0 / (lam[ins] @ (1.0 / z[[a, b, c]]))
        best[ins] = np.minimum(best[ins], zz)
    ok = ~ambiguous
    got = r.depth.ravel().astype(float)
    assert np.isfinite(best[ok]).sum() > 500
    assert np.array_equal(np.isfinite(got[ok]), np.isfinite(best[ok]))
    fin = ok & np.isfinite(best)
    assert np.allclose(got[fin], best[fin], rtol=1e-6)


def test_behind_the_camera_and_off_screen():
    cam = pinhole()
    behind, f = square(0.0, 0.0, -2.0, 0.5)
    assert not render_mesh(behind, f, cam).raster.mask.any()
    # one vertex behind the near plane: the whole triangle is dropped
    v = np.array([[-0.5, -0.5, 2.0], [0.5, -0.5, 2.0], [0.0, 0.5, 0.005]])
    assert not render_mesh(v, [[0, 1, 2]], cam).raster.mask.any()
    assert render_mesh(v, [[0, 1, 2]], cam, near=0.001).raster.mask.any()
    # entirely off-screen
    off, f = square(5.0, 0.0, 2.0, 0.5)
    assert not render_mesh(off, f, cam).raster.mask.any()
    # huge (uv ~ +-5000 px) and partly off-screen: clipped, every pixel covered once
    big, f = square(0.0, 0.0, 2.0, 100.0)
    r = render_mesh(big, f, cam).raster
    assert r.mask.all() and np.allclose(r.depth, 2.0)
    part, f = square(0.6, 0.0, 2.0, 0.3)     # u from 54 to 84: cut at the right border
    r = render_mesh(part, f, cam).raster
    assert r.mask[int(CY), 55:].all() and not r.mask[int(CY), :53].any()
    # empty mesh
    assert not rasterize(np.zeros((0, 2)), np.zeros(0), np.zeros((0, 3), int), (8, 6)).mask.any()


def test_large_image_takes_the_tiled_path():
    cam = pinhole(f=1000.0, size=(700, 500), cx=350.0, cy=250.0)
    v, f = square(0.0, 0.0, 2.0, 0.3)      # a 300 x 300 px square: 5 x 5 tiles each
    r = render_mesh(v, f, cam).raster
    assert r.mask.sum() == 300 * 300
    assert np.allclose(r.depth[r.mask], 2.0)


# --- projection and size ---------------------------------------------------------------------

def test_projection_uses_the_distortion_and_size_override_scales_k():
    cam = pinhole(dist=np.array([-0.2, 0.05, 0.001, -0.002, 0.0]))
    X = np.array([[0.3, -0.2, 2.0], [0.0, 0.0, 1.0], [0.1, 0.1, -1.0]])
    uv, depth = project_vertices(X, cam)
    assert np.allclose(uv[:2], cam.project(X[:2]), atol=1e-9)
    assert np.isnan(uv[2]).all() and np.allclose(depth, X[:, 2])
    big = resized_camera(cam, (2 * W, 3 * H))
    uv2, _ = project_vertices(X[:2], big)
    assert np.allclose(uv2, (uv[:2] + 0.5) * (2, 3) - 0.5)
    v, f = square(0.0, 0.0, 2.0, 0.3)
    maps = render_maps(v, f, pinhole(), ("depth",), size=(2 * W, 2 * H))
    assert maps.depth.shape == (2 * H, 2 * W) and maps.view.camera.size == (2 * W, 2 * H)
    small = render_mesh(v, f, pinhole()).raster.mask.sum()
    assert maps.view.raster.mask.sum() == pytest.approx(4 * small, rel=0.1)


# --- semantic and overlay ---------------------------------------------------------------------

def test_semantic_map_takes_the_palette_colours():
    cam = pinhole()
    a, fa = square(-0.3, 0.0, 2.0, 0.2)
    b, fb = square(0.3, 0.0, 2.0, 0.2)
    v, f = np.vstack([a, b]), np.vstack([fa, fb + 4])
    labels = np.array([1] * 4 + [2] * 4)
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], dtype=np.uint8)
    maps = render_maps(v, f, cam, ("semantic",), vertex_labels=labels, palette=palette)
    img, lab = maps.semantic_image, maps.labels
    assert np.array_equal(img[int(CY), int(CX) - 15], (255, 0, 0))
    assert np.array_equal(img[int(CY), int(CX) + 15], (0, 0, 255))
    assert np.array_equal(img[int(CY), int(CX)], (0, 0, 0)) and lab[int(CY), int(CX)] == -1
    assert set(np.unique(lab)) == {-1, 1, 2}
    assert np.array_equal(img[lab == 2], np.broadcast_to([0, 0, 255], ((lab == 2).sum(), 3)))
    # mixed labels on one triangle: the majority (by barycentric weight) wins
    view = render_mesh(a, fa, cam)
    _, lab = semantic_map(view, np.array([1, 1, 2, 1]), palette)
    assert set(np.unique(lab[view.raster.mask])) <= {1, 2}
    assert (lab[view.raster.mask] == 1).mean() > 0.6


def test_overlay_blends_a_headlit_grey_over_the_frame():
    cam = pinhole()
    v, f = square(0.0, 0.0, 2.0, 0.3)
    view = render_mesh(v, f, cam)
    frame = np.full((H, W, 3), 100, dtype=np.uint8)
    out = overlay(view, frame, alpha=0.5, colour=(200, 200, 200), ambient=0.2)
    m = view.raster.mask
    assert np.array_equal(out[~m], frame[~m]) and (frame == 100).all()
    # at the principal point the surface faces the light: full colour
    assert np.array_equal(out[int(CY), int(CX)], (150, 150, 150))
    # off-axis pixels see the light obliquely: darker
    assert out[int(CY), int(CX) + 25, 0] < 150
    maps = render_maps(v, f, cam, MAP_NAMES, vertex_labels=np.zeros(4, int), frame=frame)
    assert maps.overlay_image.shape == (H, W, 3)


# --- bad input -------------------------------------------------------------------------------

def test_bad_input_raises_input_error():
    cam = pinhole()
    v, f = square(0.0, 0.0, 2.0, 0.3)
    cases = [
        (lambda: render_mesh(v[:, :2], f, cam), "shape"),
        (lambda: render_mesh(np.where(np.arange(12).reshape(4, 3) == 4, np.nan, v), f, cam),
         "NaN"),
        (lambda: render_mesh(v, f + 1, cam), "0..3"),
        (lambda: render_mesh(v, [[0, 1, 2, 3]], cam), "(F, 3)"),
        (lambda: render_mesh(v, [[0.5, 1, 2]], cam), "integer"),
        (lambda: render_mesh(v, f, "cam"), "Camera"),
        (lambda: render_mesh(v, f, cam, size=(0, 10)), "positive"),
        (lambda: project_vertices(np.full((2, 3), np.inf), cam), "NaN or infinite"),
        (lambda: rasterize(np.zeros((4, 2)), np.zeros(3), f, (8, 8)), "depth"),
        (lambda: render_maps(v, f, cam, ("depth", "normals")), "choose from"),
        (lambda: render_maps(v, f, cam, ("semantic",)), "vertex_labels"),
        (lambda: render_maps(v, f, cam, ("overlay",)), "frame"),
        (lambda: render_maps(v, f, cam, ("semantic",), vertex_labels=np.zeros(3, int)),
         "shape (4,)"),
        (lambda: render_maps(v, f, cam, ("semantic",), vertex_labels=np.full(4, 20)),
         "palette"),
        (lambda: overlay(render_mesh(v, f, cam), np.zeros((10, 10, 3), np.uint8)), "size"),
        (lambda: overlay(render_mesh(v, f, cam), np.zeros((H, W, 3), np.uint8), alpha=2),
         "alpha"),
    ]
    for call, words in cases:
        with pytest.raises(InputError, match=None) as e:
            call()
        assert words in str(e.value), (words, str(e.value))


# --- Anny ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def anny():
    pytest.importorskip("anny")
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)
    from posestack.body import AnnyBody

    body = AnnyBody()
    return body, body(body.rest_params(1))["vertices"][0]


def test_anny_part_labels(anny):
    from posestack.body.parts import PART_COLOURS, PART_NAMES, anny_part_labels, bone_part

    body, v = anny
    lab = anny_part_labels(body)
    assert lab.shape == (len(v),) and not lab.flags.writeable
    t = time.perf_counter()
    assert anny_part_labels(body) is lab                      # cached
    assert time.perf_counter() - t < 0.01
    counts = np.bincount(lab, minlength=len(PART_NAMES))
    assert len(counts) == len(PART_NAMES)
    assert counts.min() >= 50, dict(zip(PART_NAMES, counts, strict=True))
    mean = {n: v[lab == i].mean(0) for i, n in enumerate(PART_NAMES)}
    for n in PART_NAMES:
        if n.startswith("left_"):
            assert mean[n][0] > 0.05 and mean[n.replace("left", "right")][0] < -0.05, n
    z = [mean[n][2] for n in ("head", "neck", "torso", "left_thigh", "left_shin", "left_foot")]
    assert np.all(np.diff(z) < 0), z
    assert len({tuple(c) for c in PART_COLOURS}) == len(PART_NAMES)
    assert (PART_COLOURS.max(1) > 0).all()
    assert PART_NAMES[bone_part("toe3-2.R")] == "right_foot"
    from posestack.errors import AssetError

    with pytest.raises(AssetError, match="no body part"):
        bone_part("tail01")
    with pytest.raises(InputError, match="AnnyBody"):
        anny_part_labels(object())


def test_anny_rest_body_renders_front_on(anny):
    from posestack.body.parts import PART_NAMES, anny_part_labels

    body, v = anny
    lab = anny_part_labels(body)
    mid = (v.min(0) + v.max(0)) / 2                  # the rest body is centred near the origin
    height = v[:, 2].max() - v[:, 2].min()
    # 3 m in front (the body faces -Y), looking +Y: image right = world +X, down = -Z
    R = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    centre = mid + np.array([0.0, -3.0, 0.0])
    f = 800.0
    cam = Camera("front", K=[[f, 0, 255.5], [0, f, 255.5], [0, 0, 1]], dist=np.zeros(5), R=R,
                 t=-R @ centre, size=(512, 512))
    maps = render_maps(v, body.faces, cam, ("depth", "normal", "semantic"), vertex_labels=lab)
    m = maps.view.raster.mask
    rows = np.flatnonzero(m.any(1))
    # silhouette height ~ f h / 3 (the head and feet are ~0.1 m nearer than the centre)
    assert rows[-1] - rows[0] == pytest.approx(f * height / 3.0, rel=0.05)
    area_m2 = m.sum() / (f / 3.0) ** 2
    assert 0.3 < area_m2 < 0.6, area_m2                 # a person's frontal area, A-pose
    # no holes: every background pixel inside the silhouette's rows connects to the border
    import cv2

    bg = (~m).astype(np.uint8)
    n = cv2.connectedComponents(bg, connectivity=4)[0]
    assert n == 2, f"{n - 2} holes in the silhouette"
    # parts top to bottom, the body's left on the image's right
    rc = np.argwhere(m)
    at = {name: rc[maps.labels[m] == i].mean(0) for i, name in enumerate(PART_NAMES)}
    order = ("head", "neck", "torso", "right_thigh", "right_shin", "right_foot")
    assert np.all(np.diff([at[n][0] for n in order]) > 0)
    assert at["head"][0] < rows[0] + 0.15 * (rows[-1] - rows[0])
    assert at["left_foot"][0] > rows[-1] - 0.1 * (rows[-1] - rows[0])
    for n in ("hand", "forearm", "thigh", "foot"):
        assert at[f"left_{n}"][1] > 255.5 > at[f"right_{n}"][1]
    # the torso faces the camera: its normals are bluish
    torso = maps.labels == PART_NAMES.index("torso")
    assert np.median(maps.normals[torso][:, 2]) > 0.8
    assert np.all(maps.depth[m] > 2.7) and np.all(maps.depth[m] < 3.3)
