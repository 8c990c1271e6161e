"""Speed of ``posestack.render.mesh``: Anny's body rendered to each map at 512x512.

Run from the repository root with the project venv::

    .venv/bin/python benchmarks/bench_render.py
    .venv/bin/python benchmarks/bench_render.py --size 1024 --repeat 21 --cull-back

The body: Anny's default shape (13,718 vertices, 27,420 triangles) at rest and in a pose
(arms forward across the chest with bent elbows, one hip and knee flexed), each seen by three
pinhole cameras 3 m away (front, three-quarter, side; f chosen so the body fills ~85% of the
image height). Per map, the time of a whole frame from world vertices (projection,
rasterisation and that map alone), median of ``--repeat`` runs; ``all`` makes the four maps
from one rasterisation; ``raster`` is projection + rasterisation alone. Part labels
(``anny_part_labels``) are computed once beforehand (cached). numpy only; the rasteriser is
single-threaded. Tables go to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

MAPS = ("raster", "depth", "normal", "semantic", "overlay", "all")


def look_at(centre: np.ndarray, target: np.ndarray, f: float, size: int):
    from posestack.multiview.calibration import Camera

    z = (target - centre) / np.linalg.norm(target - centre)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(z, x), z])
    c = (size - 1) / 2
    return Camera("bench", K=[[f, 0, c], [0, f, c], [0, 0, 1]], dist=np.zeros(5), R=R,
                  t=-R @ centre, size=(size, size))


def posed_params(body):
    """A pose that puts limbs in front of the torso (z-buffer work) and bends joints."""
    from posestack.body import FIT_BONES

    p = body.rest_params(1)
    pose = p.pose.copy()
    rot = {"upperarm01.R": (0, 0, 1.1), "upperarm01.L": (0, 0, -1.1),
           "lowerarm01.R": (0, 0, 0.9), "lowerarm01.L": (0, 0, -0.9),
           "upperleg01.L": (-0.9, 0, 0), "lowerleg01.L": (1.2, 0, 0)}
    for bone, rv in rot.items():
        pose[0, FIT_BONES.index(bone)] = rv
    return type(p)(p.shape, pose, p.global_orient, p.transl)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512, help="square image side, pixels")
    ap.add_argument("--repeat", type=int, default=11, help="runs per measurement (median)")
    ap.add_argument("--cull-back", action="store_true",
                    help="drop back faces (the mesh is closed): about half the triangles")
    ap.add_argument("--save", type=Path, help="write the maps of each view as PNGs here")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()

    from posestack.body import AnnyBody
    from posestack.body.parts import anny_part_labels
    from posestack.render import mesh as M

    body = AnnyBody()
    labels = anny_part_labels(body)
    faces = body.faces
    bodies = {"rest": body(body.rest_params(1))["vertices"][0],
              "posed": body(posed_params(body))["vertices"][0]}
    lo, hi = bodies["rest"].min(0), bodies["rest"].max(0)
    mid = (lo + hi) / 2
    f = 0.85 * args.size * 3.0 / (hi[2] - lo[2])
    views = {name: look_at(mid + 3.0 * np.array(d), mid, f, args.size)
             for name, d in (("front", (0, -1, 0)), ("3/4", (0.7071, -0.7071, 0)),
                             ("side", (1, 0, 0)))}
    frame = np.full((args.size, args.size, 3), 90, dtype=np.uint8)
    kw = {"cull_back": args.cull_back}

    def one(vertices, cam, which):
        def run():
            view = M.render_mesh(vertices, faces, cam, **kw)
            if which in ("depth", "all"):
                M.depth_map(view)
            if which in ("normal", "all"):
                M.normal_map(view)
            if which in ("semantic", "all"):
                M.semantic_map(view, labels)
            if which in ("overlay", "all"):
                M.overlay(view, frame)
            return view
        return run

    print(f"Anny {len(bodies['rest'])} vertices, {len(faces)} triangles, "
          f"{args.size}x{args.size}, cull_back={args.cull_back}, median of {args.repeat}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{'body':<6} {'view':<6} {'pixels':>7} " + "".join(f"{m:>15}" for m in MAPS))
    results: dict[str, dict[str, float]] = {}
    for bname, verts in bodies.items():
        for vname, cam in views.items():
            pixels = int(one(verts, cam, "raster")().raster.mask.sum())
            row = {m: median_ms(one(verts, cam, m), args.repeat) for m in MAPS}
            results[f"{bname}/{vname}"] = row
            print(f"{bname:<6} {vname:<6} {pixels:>7} "
                  + "".join(f"{row[m]:>7.1f} ms {1e3 / row[m]:>4.0f}/s" for m in MAPS))
            if args.save:
                import cv2

                maps = M.render_maps(verts, faces, cam, M.MAP_NAMES, vertex_labels=labels,
                                     frame=frame, **kw)
                row_img = np.concatenate([maps.depth_image, maps.normal_image,
                                          maps.semantic_image, maps.overlay_image], 1)
                args.save.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(args.save / f"{bname}_{vname.replace('/', '-')}.png"),
                            row_img[..., ::-1])
    med = {m: float(np.median([r[m] for r in results.values()])) for m in MAPS}
    print(f"{'median':<14} " + "".join(f"{med[m]:>7.1f} ms {1e3 / med[m]:>4.0f}/s"
                                       for m in MAPS))
    if args.json_out:
        args.json_out.write_text(json.dumps({"size": args.size, "cull_back": args.cull_back,
                                             "ms": results, "median_ms": med}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
