"""Speed of ``posestack.multiview.triangulate`` against per-point loops, on a synthetic rig.

Run from the repository root with the project venv::

    .venv/bin/python benchmarks/bench_triangulate_synthetic.py
    .venv/bin/python benchmarks/bench_triangulate_synthetic.py --cameras 8 --points 1000000 \\
        --naive-points 500 --json-out bench.json

The rig: ``--cameras`` 1920x1080 cameras (f = 1000 px) evenly spread on a 4 m circle, aimed at
the centre of a 2 m capture volume; ``--points`` uniform random points in it, projected with
1 px Gaussian noise, scores uniform in [0.5, 1]. Two scenarios:

* ``clean``: no outliers; every point is accepted with all its views.
* ``outliers``: each observation is, with probability ``--outlier-rate`` (0.1), moved by
  200 px in a random direction, so about a third of the points (4 cameras) need camera
  exclusion.

Both loops are timed on the first ``--naive-points`` points (they are ~1e4 times slower) and
reported as points/s:

* ``naive``: the per-point reference of the tests (itertools over view subsets,
  ``np.linalg.svd`` per subset), Pose2Sim's rule with no overhead;
* ``pose2sim_style``: the same rule written as Pose2Sim writes it
  (``common.weighted_triangulation``: rows stacked with ``np.vstack``, ``cv2.SVDecomp``;
  ``reprojection`` and ``euclidean_distance`` per camera); still leaner than Pose2Sim's
  ``triangulation_from_best_cameras``, which also copies and filters its arrays per level;
* ``pose2sim`` (only if the ``Pose2Sim`` package is importable): Pose2Sim's own
  ``triangulation_from_best_cameras``, called per point as its ``triangulate_all`` does
  (low likelihoods set to NaN first; left/right swap and undistortion off).

The vectorised function is timed on all points (best of ``--repeat``), with its results
checked against the naive loop on the common points. ``--memory`` also reports the peak of
memory allocated by numpy inside one ``triangulate`` call (``tracemalloc``), which stays
bounded by the chunking, whatever the number of points. Single-threaded (numpy's batched
``eigh`` does not use threads for 4x4 matrices); tables go to stdout.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
import tracemalloc

import cv2
import numpy as np

from posestack.multiview.triangulate import triangulate


def look_at(centre: np.ndarray, target: np.ndarray, f: float = 1000.0) -> np.ndarray:
    z = (target - centre) / np.linalg.norm(target - centre)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(z, x), z])
    K = np.array([[f, 0.0, 960.0], [0.0, f, 540.0], [0.0, 0.0, 1.0]])
    return K @ np.hstack([R, (-R @ centre)[:, None]])


def make_problem(C: int, n: int, outlier_rate: float, seed: int = 0):
    angles = np.linspace(0.0, 2 * np.pi, C, endpoint=False) + 0.3
    P = np.stack([look_at(np.array([4 * np.cos(a), 4 * np.sin(a), 1.5 + 0.2 * (i % 5)]),
                          np.array([0.0, 0.0, 1.0])) for i, a in enumerate(angles)])
    rng = np.random.default_rng(seed)
    X = rng.uniform([-1.0, -1.0, 0.0], [1.0, 1.0, 2.0], (n, 3))
    h = np.einsum("cij,nj->cni", P, np.hstack([X, np.ones((n, 1))]))
    xy = h[..., :2] / h[..., 2:] + rng.normal(0.0, 1.0, (C, n, 2))
    out = rng.random((C, n)) < outlier_rate
    d = rng.normal(size=(int(out.sum()), 2))
    xy[out] += 200.0 * d / np.linalg.norm(d, axis=1, keepdims=True)
    scores = rng.uniform(0.5, 1.0, (C, n))
    return P, X, xy, scores


# --------------------------------------------------------------------------- per-point loops


def naive(xy, scores, P, min_score=0.3, min_views=2, max_error=15.0):
    """The tests' reference: Pose2Sim's rule, one point and one subset at a time."""
    C, n = scores.shape
    out = np.full((n, 3), np.nan)
    used = np.zeros((C, n), dtype=bool)
    for i in range(n):
        valid = [c for c in range(C) if np.isfinite(xy[c, i]).all() and scores[c, i] >= min_score]
        for size in range(len(valid), min_views - 1, -1):
            best = (np.inf, None, None)
            for cams in map(list, itertools.combinations(valid, size)):
                rows = []
                for c in cams:
                    rows.append(scores[c, i] * (xy[c, i, 0] * P[c, 2] - P[c, 0]))
                    rows.append(scores[c, i] * (xy[c, i, 1] * P[c, 2] - P[c, 1]))
                q = np.linalg.svd(np.array(rows))[2][-1]
                X = q[:3] / q[3]
                errs = []
                for c in cams:
                    hc = P[c] @ np.append(X, 1.0)
                    errs.append(np.hypot(hc[0] / hc[2] - xy[c, i, 0], hc[1] / hc[2] - xy[c, i, 1]))
                err = float(np.mean(errs))
                if err < best[0]:
                    best = (err, X, cams)
            if best[0] <= max_error:
                out[i] = best[1]
                used[best[2], i] = True
                break
    return out, used


def _weighted_triangulation(P_all, x_all, y_all, likelihood_all):
    # As Pose2Sim's common.weighted_triangulation.
    A = np.empty((0, 4))
    for c in range(len(x_all)):
        P_cam = P_all[c]
        A = np.vstack((A, (P_cam[0] - x_all[c] * P_cam[2]) * likelihood_all[c]))
        A = np.vstack((A, (P_cam[1] - y_all[c] * P_cam[2]) * likelihood_all[c]))
    if np.shape(A)[0] >= 4:
        _, _, Vt = cv2.SVDecomp(A)
        V = Vt.T
        return np.array([V[0][3] / V[3][3], V[1][3] / V[3][3], V[2][3] / V[3][3], 1])
    return np.array([np.nan, np.nan, np.nan, 1])


def _reprojection(P_all, Q):
    x_calc, y_calc = [], []
    for P_cam in P_all:
        x_calc.append(P_cam[0] @ Q / (P_cam[2] @ Q))
        y_calc.append(P_cam[1] @ Q / (P_cam[2] @ Q))
    return x_calc, y_calc


def _euclidean_distance(q1, q2):
    dist = np.array(q2) - np.array(q1)
    return np.sqrt(np.nansum([d**2 for d in dist]))


def pose2sim_style(xy, scores, P, min_score=0.3, min_views=2, max_error=15.0):
    """Pose2Sim's rule with Pose2Sim's per-point helpers (a lower bound on its cost)."""
    C, n = scores.shape
    out = np.full((n, 3), np.nan)
    for i in range(n):
        valid = [c for c in range(C) if np.isfinite(xy[c, i]).all() and scores[c, i] >= min_score]
        nb_off, error_min, Q = 0, np.inf, None
        while error_min > max_error and len(valid) - nb_off >= min_views:
            errors, Qs = [], []
            for cams in itertools.combinations(valid, len(valid) - nb_off):
                P_f = [P[c] for c in cams]
                x_f = [xy[c, i, 0] for c in cams]
                y_f = [xy[c, i, 1] for c in cams]
                Qc = _weighted_triangulation(P_f, x_f, y_f, [scores[c, i] for c in cams])
                x_calc, y_calc = _reprojection(P_f, Qc)
                errors.append(np.mean([_euclidean_distance((x_f[k], y_f[k]), (x_calc[k], y_calc[k]))
                                       for k in range(len(cams))]))
                Qs.append(Qc)
            error_min = np.nanmin(errors)
            Q = Qs[int(np.nanargmin(errors))][:3]
            nb_off += 1
        if Q is not None and error_min <= max_error:
            out[i] = Q
    return out


def load_pose2sim():
    """Pose2Sim's ``triangulation_from_best_cameras``, or None if Pose2Sim is not installed."""
    try:
        from Pose2Sim.triangulation import triangulation_from_best_cameras
    except ImportError:
        return None
    return triangulation_from_best_cameras


def pose2sim_real(fn, xy, scores, P, min_score=0.3, min_views=2, max_error=15.0):
    """Pose2Sim's own per-keypoint function, fed as ``triangulate_all`` feeds it."""
    cfg = {"triangulation": {"reproj_error_threshold_triangulation": max_error,
                             "min_cameras_for_triangulation": min_views,
                             "handle_LR_swap": False, "undistort_points": False}}
    P_list = list(P)
    n = scores.shape[1]
    out = np.full((n, 3), np.nan)
    for i in range(n):
        x, y, lik = xy[:, i, 0].copy(), xy[:, i, 1].copy(), scores[:, i].copy()
        low = lik < min_score
        x[low], y[low], lik[low] = np.nan, np.nan, np.nan
        out[i] = fn(cfg, (x, y, lik), (x, y, lik), P_list, None)[0]
    return out


# --------------------------------------------------------------------------- timing


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--naive-points", type=int, default=2000)
    ap.add_argument("--outlier-rate", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory", action="store_true", help="also report tracemalloc peak")
    ap.add_argument("--json-out", default=None)
    args = ap.parse_args()

    results = {"cameras": args.cameras, "points": args.points,
               "naive_points": args.naive_points, "machine": platform.processor()
               or platform.machine(), "numpy": np.__version__, "scenarios": {}}
    p2s_fn = load_pose2sim()
    print(f"{args.cameras} cameras, {args.points} points (loops on {args.naive_points}); "
          f"Pose2Sim {'found' if p2s_fn else 'not installed: its column is skipped'}")
    print(f"{'scenario':<10} {'method':<16} {'points/s':>12} {'speed-up':>9}  notes")
    for name, rate in (("clean", 0.0), ("outliers", args.outlier_rate)):
        P, X, xy, scores = make_problem(args.cameras, args.points, rate)
        t_fast = best_time(lambda xy=xy, scores=scores, P=P: triangulate(xy, scores, P),
                           args.repeat)
        res = triangulate(xy, scores, P)
        m = args.naive_points
        sub_xy, sub_s = xy[:, :m], scores[:, :m]
        t0 = time.perf_counter()
        ref_X, ref_used = naive(sub_xy, sub_s, P)
        t_naive = time.perf_counter() - t0
        t0 = time.perf_counter()
        p2s_X = pose2sim_style(sub_xy, sub_s, P)
        t_p2s = time.perf_counter() - t0
        agree = bool(np.array_equal(res.used[:, :m], ref_used)
                     and np.allclose(res.points[:m], ref_X, atol=1e-9, equal_nan=True))
        agree_p2s = float(np.nanmax(np.abs(res.points[:m] - p2s_X), initial=0.0))
        rate_fast, rate_naive, rate_p2s = args.points / t_fast, m / t_naive, m / t_p2s
        frac = float(np.mean(res.n_views < args.cameras))
        err3d = np.linalg.norm(res.points - X, axis=1)
        med, p99 = (float(v) for v in np.nanpercentile(err3d, [50, 99]))
        wrong = float(np.mean(err3d > 0.05))
        print(f"{name:<10} {'triangulate':<16} {rate_fast:>12,.0f} {'':>9}  "
              f"{frac:.1%} points lose a view; 3D error median {med * 1000:.1f} mm, "
              f"p99 {p99 * 1000:.1f} mm, > 5 cm {wrong:.2%}")
        print(f"{'':<10} {'naive':<16} {rate_naive:>12,.0f} {rate_fast / rate_naive:>8.0f}x  "
              f"same views & points (1e-9 m): {agree}")
        print(f"{'':<10} {'pose2sim_style':<16} {rate_p2s:>12,.0f} {rate_fast / rate_p2s:>8.0f}x  "
              f"max |Δ| vs triangulate {agree_p2s:.1e} m")
        if p2s_fn is not None:
            t0 = time.perf_counter()
            real_X = pose2sim_real(p2s_fn, sub_xy, sub_s, P)
            rate_real = m / (time.perf_counter() - t0)
            diff_real = float(np.nanmax(np.abs(res.points[:m] - real_X), initial=0.0))
            same_nan = bool(np.array_equal(np.isnan(real_X), np.isnan(res.points[:m])))
            print(f"{'':<10} {'pose2sim':<16} {rate_real:>12,.0f} "
                  f"{rate_fast / rate_real:>8.0f}x  max |Δ| vs triangulate {diff_real:.1e} m, "
                  f"same NaNs: {same_nan}")
            results["scenarios"].setdefault(name, {}).update(
                pose2sim_points_per_s=rate_real, speedup_vs_pose2sim=rate_fast / rate_real,
                max_abs_diff_pose2sim_m=diff_real, same_nans_as_pose2sim=same_nan)
        results["scenarios"].setdefault(name, {}).update({
            "outlier_rate": rate, "triangulate_points_per_s": rate_fast,
            "naive_points_per_s": rate_naive, "pose2sim_style_points_per_s": rate_p2s,
            "speedup_vs_naive": rate_fast / rate_naive,
            "speedup_vs_pose2sim_style": rate_fast / rate_p2s,
            "agrees_with_naive": agree, "max_abs_diff_pose2sim_style_m": agree_p2s,
            "fraction_points_with_excluded_views": frac, "median_3d_error_m": med,
            "p99_3d_error_m": p99, "fraction_3d_error_over_5cm": wrong,
        })
        if args.memory:
            tracemalloc.start()
            triangulate(xy, scores, P)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            out_mb = (xy.shape[1] * (3 + 1 + 1) * 8 + xy.shape[0] * xy.shape[1]) / 2**20
            print(f"{'':<10} peak numpy memory in triangulate: {peak / 2**20:.0f} MiB "
                  f"(outputs alone {out_mb:.0f} MiB; inputs {xy.nbytes / 2**20:.0f} MiB)")
            results["scenarios"][name]["peak_alloc_mib"] = peak / 2**20
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
