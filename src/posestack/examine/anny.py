"""Sweeps over rendered bodies: where an estimator breaks as the viewpoint, the body's
shape or its pose move away from the usual, with exact truth.

The parametric body (Anny, the ``body`` extra) is posed, shaped and rendered (shaded
by its normals, over a plain grey background) through a known camera; its own
keypoints projected through that camera are the truth, so no clean run is needed.
PoseExaminer searches such a space with a policy; here each axis is swept on its own
from an easy start (seen from the front at chest height, a mild random pose, an
average body) to its extreme, and the failing severity is found by bisection, as for
the image perturbations (:func:`posestack.examine.search.search`).

Sweeps (severity 1 to 5):

* ``view``: the camera turns around the person, 0° (front) to 180° (back);
* ``elevation``: the camera rises, 0° (level) to 80° (looking down from above);
* ``shape``: the phenotype (gender, age, muscle, weight, height, proportions) drawn
  from 0.5 ± 0.1 to 0.5 ± 0.5 (every extreme of Anny's range);
* ``pose``: every joint drawn within 20 % to 100 % of its range of motion;
* ``distance``: the body's largest side from 60 % to 6 % of the image height.

Measured here: BlazePose finds Anny's renders (median 5–7 px from the truth for a
person 430 px tall, at 0°, 45°, 90°, 135° and 180°), so the sweeps measure it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from ..progress import progress_bar
from . import perturb as pt
from .search import Examination, _best, make_examined, search

SWEEPS = {
    "view": pt.Perturbation("view", (0.0, 45.0, 90.0, 135.0, 180.0), "degrees from the front"),
    "elevation": pt.Perturbation("elevation", (0.0, 20.0, 40.0, 60.0, 80.0),
                                 "degrees above level"),
    "shape": pt.Perturbation("shape", (0.1, 0.2, 0.3, 0.4, 0.5),
                             "phenotype spread about 0.5"),
    "pose": pt.Perturbation("pose", (0.2, 0.4, 0.6, 0.8, 1.0), "share of the joint ranges"),
    "distance": pt.Perturbation("distance", (0.6, 0.3, 0.15, 0.09, 0.06),
                                "body's largest side / image height"),
}
SIZE = (720, 1280)  # (width, height) of the renders


def _camera(azimuth: float, elevation: float, distance: float, focal: float) -> Any:
    from ..multiview.calibration import Camera

    a, e = np.radians(azimuth), np.radians(elevation)
    target = np.array([0.0, 0.0, 0.0])
    # the body faces -y: azimuth 0 puts the camera in front of it
    centre = distance * np.array([np.sin(a) * np.cos(e), -np.cos(a) * np.cos(e), np.sin(e)])
    z = target - centre
    z /= np.linalg.norm(z)
    up = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.99 else np.array([0.0, 1.0, 0.0])
    x = np.cross(z, up)
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(z, x), z])
    K = np.array([[focal, 0, SIZE[0] / 2], [0, focal, SIZE[1] / 2], [0, 0, 1.0]])
    return Camera("anny", K, np.zeros(5), R, -R @ centre, SIZE)


def _pose(body: Any, share: float, rng: np.random.Generator) -> np.ndarray:
    """``(J, 3)`` rotation vectors: each limited bone drawn within ``share`` of its range
    (about the rest pose), fingers left at rest."""
    pose = np.zeros((len(body.pose_bones), 3))
    for j, name in enumerate(body.pose_bones):
        lim = body.limits.get(name)
        if lim is None or name.startswith("finger"):
            continue
        c = rng.uniform(np.asarray(lim.lo) * share, np.asarray(lim.hi) * share)
        pose[j] = np.asarray(lim.frame) @ c
    return pose


def render_case(body: Any, sweep: str, value: float, seed: int
                ) -> tuple[np.ndarray, np.ndarray, Any]:
    """One render of the ``sweep`` at parameter ``value`` (its own unit).

    Returns:
        ``(rgb, truth, camera)``: the ``(H, W, 3)`` uint8 image, the body's keypoints
        ``(K, 2)`` in pixels (``body.keypoint_names``), and the camera.
    """
    from ..body.model import BodyParams
    from ..render.mesh import normal_map, render_mesh

    rng = np.random.default_rng(seed)
    n_shape = len(body.shape_names)
    spread = value if sweep == "shape" else 0.1
    shape = np.clip(0.5 + rng.uniform(-spread, spread, n_shape), 0.0, 1.0)
    pose = _pose(body, value if sweep == "pose" else 0.2, rng)
    p = BodyParams(shape, pose[None], np.zeros((1, 3)), np.zeros((1, 3)))
    out = body(p)
    v, kp = out["vertices"][0], out["keypoints"][0]
    centre = 0.5 * (v.min(0) + v.max(0))
    v, kp = v - centre, kp - centre
    extent = float(np.ptp(v, axis=0).max())  # the body's largest side, metres
    share = value if sweep == "distance" else 0.6
    distance = 4.0
    focal = share * SIZE[1] * distance / max(extent, 0.5)
    az = value if sweep == "view" else rng.uniform(-20, 20)
    el = value if sweep == "elevation" else rng.uniform(-5, 10)
    cam = _camera(az + (rng.uniform(-10, 10) if sweep == "view" else 0.0), el, distance, focal)
    view = render_mesh(v, body.faces, cam)
    _, normals = normal_map(view)
    grey = np.full((SIZE[1], SIZE[0], 3), 118, np.uint8)
    light = np.clip(0.3 + 0.7 * np.abs(normals[..., 2]), 0.0, 1.0)[..., None]
    skin = (np.array([205.0, 165.0, 145.0]) * light).astype(np.uint8)
    mask = view.raster.mask
    grey[mask] = skin[mask]
    return grey, cam.project(kp), cam


def sweep(estimator: str | Callable = "blazepose", *, sweeps: Sequence[str] = tuple(SWEEPS),
          renders: int = 8, alpha: float = 0.1, fail_below: float = 0.5, refine: int = 3,
          model: str | None = None, names: Sequence[str] | None = None,
          person_detector: str = "blazepose", num_threads: int | None = None,
          progress: bool = True, body: Any = None) -> Examination:
    """Sweep rendered bodies along each axis and find where the estimator fails.

    Args:
        estimator: a posestack estimator name, or a callable ``est(rgb, t)`` returning
            people with ``xy (K, 2)`` and ``scores (K,)`` (then give ``names``).
        sweeps: names from :data:`SWEEPS`.
        renders: bodies rendered per severity (each with its own random pose and shape).
        alpha: a keypoint is found within ``alpha`` × the person's size (the longer side
            of the true keypoints' box) of the truth.
        fail_below: the PCK under which the estimator fails.
        refine: bisection steps between the last passing and the first failing severity.
        model, names, person_detector, num_threads: as :func:`posestack.examine.examine`.
        progress: a progress bar.
        body: an :class:`~posestack.body.AnnyBody` (default: a new one, ~1 s).

    Returns:
        an :class:`~posestack.examine.search.Examination` (``frames``: renders per
        severity; the rows also give ``median_px``, the median keypoint error).

    Raises:
        InputError: an unknown sweep, bad options, or the ``body`` extra missing.
    """
    from ..evaluate.keypoints import name_pairs

    if len(set(sweeps)) < len(sweeps):
        raise InputError(f"a sweep is named twice ({', '.join(sweeps)})")
    unknown = [s for s in sweeps if s not in SWEEPS]
    if unknown or not sweeps:
        raise InputError(f"unknown sweep(s) {', '.join(unknown) or '(none given)'}; the "
                         f"sweeps are {', '.join(SWEEPS)}")
    if renders < 1:
        raise InputError(f"renders must be at least 1; got {renders}")
    if not 0 < alpha <= 1 or not 0 < fail_below < 1:
        raise InputError(f"alpha must be in (0, 1] and fail_below in (0, 1); got {alpha}, "
                         f"{fail_below}")
    est, kp_names = make_examined(estimator, names, model, person_detector, num_threads)
    if body is None:
        from ..body.anny_body import AnnyBody

        body = AnnyBody()
    pairs = name_pairs(kp_names, body.keypoint_names)
    if len(pairs) < 4:
        raise InputError(f"the estimator's keypoints ({', '.join(kp_names[:5])}…) share "
                         "fewer than 4 names with the body's")
    ours, theirs = (np.array(x) for x in zip(*pairs, strict=True))
    perts = [SWEEPS[s] for s in dict.fromkeys(sweeps)]
    bar = progress_bar(renders * len(perts) * (5 + refine), "sweep", unit="render",
                       enabled=progress)
    calls = 0

    def measure(p: pt.Perturbation, s: float) -> dict[str, Any]:
        nonlocal calls
        good = total = lost = 0
        errs: list[float] = []
        for i in range(renders):
            rgb, truth, _ = render_case(body, p.name, p.parameter(s), seed=1000 * i + 7)
            t = truth[theirs]
            ok = np.isfinite(t).all(1) & (t >= 0).all(1) & (t < SIZE).all(1)
            size = float(np.max(np.ptp(t[ok], axis=0))) if ok.sum() > 1 else 1.0
            person = _best(est(rgb, 0.0))
            calls += 1
            bar.update(1)
            total += int(ok.sum())
            if person is None:
                lost += 1
                continue
            d = np.linalg.norm(np.asarray(person.xy, np.float64)[ours] - t, axis=1)[ok]
            good += int((d <= alpha * size).sum())
            errs.extend(d.tolist())
        row = {"perturbation": p.name, "severity": round(s, 4),
               "parameter": round(p.parameter(s), 4), "unit": p.unit,
               "pck": good / total if total else float("nan"), "lost": lost / renders,
               "frames": renders,
               "median_px": float(np.median(errs)) if errs else float("nan")}
        return row

    try:
        rows, failures = search(perts, measure, fail_below, refine)
    finally:
        bar.close()
    return Examination(rows, failures, renders, calls, fail_below, "the rendered bodies")
