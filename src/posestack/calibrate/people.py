"""Extrinsics from the people alone: no board, only synchronised 2D keypoints.

:func:`calibrate_from_people` takes one camera's 2D poses per camera (the same moments,
e.g. the bundles of ``posestack run`` on synchronised videos) and the cameras' intrinsics
(from any calibration file, or guessed and then refined), and returns a calibration in
metres with Z up:

1. **The same person everywhere.** Each camera's candidate people are its tracks seen
   longest. For every pair of cameras and every pair of candidates, an essential matrix
   (OpenCV, RANSAC, in undistorted normalised coordinates) is fitted to their common
   keypoints; the candidates whose keypoints agree with one rigid geometry best (most
   RANSAC inliers) are the same person. A 3D point is one keypoint of that person at one
   frame.
2. **A first geometry.** The pair of cameras with most inliers starts it (relative pose
   from the essential matrix, points triangulated); each further camera is placed by
   PnP-RANSAC on the points it sees, and the points are triangulated again from all the
   cameras placed.
3. **Bundle adjustment** over all cameras and points (scipy ``least_squares``, Jacobian
   sparsity, soft-L1 loss of 3 px scale), pixels of the undistorted image; observations
   with errors above ``max(4 × median, 8 px)`` are dropped and it runs again. With
   intrinsics guessed, each camera's focal length is refined too.
4. **The world.** Scale from the person's height (``height``, metres; the skeleton's
   segments measured as Pose2Sim does, :func:`~posestack.biomech.opensim_ik.estimate_height`;
   1.70 m when not given, as Pose2Sim's default), Z up along the body's median long axis
   (refined by a plane through the feet's low points when they spread over the floor),
   the floor (Z = 0) through the lowest foot points, the origin under the person's hips at
   the first frame where they are seen, X the way they face there.

Two cameras work (a single essential matrix, then bundle adjustment), but nothing checks
them: a left/right swap or a wrong person in one view is caught only by RANSAC. With three
or more cameras each point is seen more than twice and the geometry is over-determined.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import lil_matrix

from ..errors import InputError
from ..multiview.calibration import Calibration, Camera
from ..multiview.triangulate import dlt
from ..poses import Poses
from .timeline import ranked_people

MIN_SCORE = 0.5          # keypoints below this confidence are not used
MIN_SHARED = 60          # common keypoints a camera pair needs to be related
MAX_FRAMES = 300         # frames used (evenly spread) at most
CANDIDATES = 3           # people per camera tried when matching
RANSAC_PX = 4.0          # essential-matrix RANSAC threshold, pixels
DEFAULT_HEIGHT = 1.70    # metres (Pose2Sim's default_height)
LOSS_SCALE_PX = 3.0
MAX_ERROR_PX = 20.0      # a camera whose median reprojection error is above: refused
MIN_KEPT = 0.5           # ... or fewer of whose keypoints than this share fit (75% or more
                         # on the Pose2Sim sample, 33% for a camera playing backwards)
# keypoints not used to calibrate: a hip "point" is a guess inside the pelvis that each view
# places differently, and the face's and hands' small points are noisy and add little
EXCLUDED = frozenset({"left_hip", "right_hip", "mid_hip", "left_eye_inner", "right_eye_inner",
                      "left_eye_outer", "right_eye_outer", "mouth_left", "mouth_right",
                      "left_pinky", "right_pinky", "left_index", "right_index",
                      "left_thumb", "right_thumb"})
# the face's points, when the estimator places the side a camera does not see (BlazePose
# reports both ears in every frame of every Pose2Sim camera; OpenPose drops the far one):
# left out when the intrinsics are known (on the Pose2Sim sample that brought BlazePose's
# orientations from 0.4-1.8° to 0.4-0.8° of the Qualisys calibration's); when the focal
# lengths are guessed they help to find them, and only the last adjustment, with the focal
# lengths fixed, leaves them out.
FACE = frozenset({"nose", "left_eye", "right_eye", "left_ear", "right_ear", "head_top",
                  "head"})


@dataclass
class PeopleCalibration:
    """What :func:`calibrate_from_people` found.

    ``calibration``: the cameras in a world of metres, Z up, floor at Z = 0;
    ``errors``: median reprojection error per camera (pixels, as observed);
    ``people``: the person index used in each camera's poses;
    ``points``: 3D points (keypoint × frame) in the final adjustment;
    ``height``: the height the scale was taken from (metres), ``height_given`` whether the
    user gave it; ``warnings``: what the user should know.
    """

    calibration: Calibration
    errors: dict[str, float]
    people: dict[str, int]
    points: int
    height: float
    height_given: bool
    warnings: list[str] = field(default_factory=list)
    fit: dict[str, float] = field(default_factory=dict)   # share of each camera's keypoints
                                                           # that fit the geometry
    keypoints3d: np.ndarray | None = None   # (F, K, 3) world metres, NaN where not solved
    frames: np.ndarray | None = None        # (F,) the rows of the views keypoints3d is of


def _frame_sample(n: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, MAX_FRAMES)).round().astype(int))


def _essential(a: np.ndarray, b: np.ndarray, ka: Camera, kb: Camera
               ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray] | None:
    """RANSAC essential matrix between ideal pixels ``a``, ``b`` (N, 2): inliers, R, t,
    inlier mask (R, t: camera a → camera b, |t| = 1)."""
    if len(a) < 8:
        return None
    na = (a - ka.K[:2, 2]) / np.diag(ka.K)[:2]
    nb = (b - kb.K[:2, 2]) / np.diag(kb.K)[:2]
    f = 0.5 * (ka.K[0, 0] + kb.K[0, 0])
    E, mask = cv2.findEssentialMat(na, nb, np.eye(3), cv2.RANSAC, 0.999, RANSAC_PX / f,
                                   maxIters=2000)
    if E is None or E.shape != (3, 3):
        return None
    n, R, t, mask2 = cv2.recoverPose(E, na, nb, np.eye(3), mask=mask.copy())
    return int(n), R, t.ravel(), mask2.ravel() > 0


def _guesses_hidden_face(views: Sequence[Poses], people: Sequence[int], frames: np.ndarray
                         ) -> bool:
    """Whether the estimator reports both ears with confidence in nearly every frame of
    some camera (so it places the face's hidden side rather than seeing it)."""
    for v, q in zip(views, people, strict=True):
        sk = v.skeleton
        if "left_ear" not in sk.keypoints or "right_ear" not in sk.keypoints:
            continue
        sc = np.nan_to_num(v.scores[frames, q][:, [sk.index("left_ear"),
                                                   sk.index("right_ear")]])
        seen = (np.nan_to_num(v.scores[frames, q]) >= MIN_SCORE).any(1)
        if seen.sum() >= 10 and (sc[seen] >= MIN_SCORE).all(1).mean() > 0.9:
            return True
    return False


def _observations(views: Sequence[Poses], cams: Sequence[Camera], frames: np.ndarray,
                  people: Sequence[int], exclude: frozenset[str] = EXCLUDED) -> np.ndarray:
    """(C, F, K, 2) ideal pixels of the chosen person, NaN where unseen or unsure."""
    out = []
    for p, cam, q in zip(views, cams, people, strict=True):
        xy = p.coords[frames, q, :, :2].astype(np.float64)
        ok = (p.scores[frames, q] >= MIN_SCORE) & np.isfinite(xy).all(-1)
        ok[:, [i for i, k in enumerate(p.skeleton.keypoints) if k in exclude]] = False
        xy = np.where(ok[..., None], xy, np.nan)
        out.append(cam.undistort(xy))
    return np.stack(out)


def _match_people(views: Sequence[Poses], cams: Sequence[Camera], frames: np.ndarray
                  ) -> list[int]:
    """The person index in each camera that is the same person as in the others."""
    cands = [ranked_people(p, MIN_SCORE, CANDIDATES, frames) for p in views]
    for cam, c in zip(cams, cands, strict=True):
        if not c:
            raise InputError(f"camera {cam.name}: nobody was seen with confidence "
                             f"≥ {MIN_SCORE} in the frames given: nothing to calibrate from")
    # each candidate's ideal pixels (F·K, 2), once
    obs = {(c, q): _observations([views[c]], [cams[c]], frames, [q])[0].reshape(-1, 2)
           for c in range(len(views)) for q in cands[c]}
    # score every (camera pair, candidate pair) once; pick the joint choice with most inliers
    score: dict[tuple[int, int, int, int], int] = {}
    for a, b in itertools.combinations(range(len(views)), 2):
        for qa in cands[a]:
            for qb in cands[b]:
                xa, xb = obs[a, qa], obs[b, qb]
                ok = np.isfinite(xa).all(-1) & np.isfinite(xb).all(-1)
                res = _essential(xa[ok], xb[ok], cams[a], cams[b]) \
                    if ok.sum() >= MIN_SHARED else None
                score[a, b, qa, qb] = res[0] if res else 0
    best, best_total = None, -1
    for choice in itertools.product(*cands):
        total = sum(score[a, b, choice[a], choice[b]]
                    for a, b in itertools.combinations(range(len(views)), 2))
        if total > best_total:
            best, best_total = choice, total
    return list(best)


def _triangulate(obs: np.ndarray, Ps: np.ndarray) -> np.ndarray:
    """DLT of (C, N, 2) ideal pixels with (C, 3, 4) projections → (N, 3); NaN where fewer
    than two views."""
    return dlt(obs, np.isfinite(obs).all(-1).astype(float), Ps)


def _projections(rt: np.ndarray, K: np.ndarray) -> np.ndarray:
    Ps = []
    for (rv, tv), k in zip(rt, K, strict=True):
        R = cv2.Rodrigues(rv)[0]
        Ps.append(k @ np.hstack([R, tv[:, None]]))
    return np.stack(Ps)


def _in_front(X: np.ndarray, rt: np.ndarray, cams: Sequence[int]) -> np.ndarray:
    ok = np.isfinite(X).all(-1)
    for c in cams:
        R = cv2.Rodrigues(rt[c, 0])[0]
        z = X @ R[2] + rt[c, 1, 2]
        ok &= ~(z <= 0)
    return ok


def _initial(obs: np.ndarray, K: np.ndarray, cams: Sequence[Camera]) -> np.ndarray:
    """(C, 2, 3) rotation vectors and translations of a first geometry (arbitrary scale)."""
    C = obs.shape[0]
    flat = obs.reshape(C, -1, 2)
    seen = np.isfinite(flat).all(-1)
    pair, pair_res = None, None
    for a, b in itertools.combinations(range(C), 2):
        both = seen[a] & seen[b]
        if both.sum() < MIN_SHARED:
            continue
        res = _essential(flat[a, both], flat[b, both], cams[a], cams[b])
        if res and (pair_res is None or res[0] > pair_res[0]):
            pair, pair_res = (a, b), res
    if pair is None:
        raise InputError(_never_together(seen, cams))
    a, b = pair
    rt = np.full((C, 2, 3), np.nan)
    rt[a] = 0.0
    rt[b, 0] = cv2.Rodrigues(pair_res[1])[0].ravel()
    rt[b, 1] = pair_res[2]
    placed = [a, b]
    while True:
        X = _triangulate(flat[placed], _projections(rt[placed], K[placed]))
        X[~_in_front(X, rt, placed)] = np.nan
        rest = [c for c in range(C) if c not in placed]
        if not rest:
            return rt
        usable = {c: np.isfinite(X).all(-1) & seen[c] for c in rest}
        c = max(rest, key=lambda c: usable[c].sum())
        if usable[c].sum() < MIN_SHARED // 2:
            raise InputError(_never_together(seen, cams, cams[c].name))
        m = usable[c]
        ok, rv, tv, inl = cv2.solvePnPRansac(X[m], flat[c, m], K[c], None,
                                             reprojectionError=2 * RANSAC_PX,
                                             iterationsCount=1000, flags=cv2.SOLVEPNP_EPNP)
        if not ok or inl is None or len(inl) < 12:
            raise InputError(f"camera {cams[c].name} could not be placed: its keypoints do "
                             "not agree with the other cameras' (is it the same moment? "
                             "run 'posestack sync' first)")
        sel = inl.ravel()
        _, rv, tv = cv2.solvePnP(X[m][sel], flat[c, m][sel], K[c], None, rv, tv,
                                 useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
        rt[c] = rv.ravel(), tv.ravel()
        placed.append(c)


def _never_together(seen: np.ndarray, cams: Sequence[Camera], which: str | None = None) -> str:
    C = len(cams)
    pairs = ", ".join(f"{cams[a].name}–{cams[b].name} {int((seen[a] & seen[b]).sum())}"
                      for a, b in itertools.combinations(range(C), 2))
    who = f"camera {which} never sees" if which else "no two cameras see"
    return (f"{who} the same person at the same time often enough to calibrate (keypoints "
            f"seen together per pair: {pairs}; {MIN_SHARED} needed). Are the videos "
            "synchronised ('posestack sync') and of the same scene?")


def _rotate(rv: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Rotate points X (N, 3) by rotation vectors rv (N, 3) (Rodrigues' formula)."""
    th = np.linalg.norm(rv, axis=1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(th > 1e-12, rv / th, 0.0)
    cos, sin = np.cos(th), np.sin(th)
    dot = np.sum(k * X, axis=1)[:, None]
    return X * cos + np.cross(k, X) * sin + k * dot * (1 - cos)


def _adjust(obs: np.ndarray, rt: np.ndarray, K: np.ndarray, X: np.ndarray,
            refine_focal: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bundle adjustment. obs (C, N, 2) ideal pixels, rt (C, 2, 3), K (C, 3, 3), X (N, 3).
    Returns rt, K, X and the (C, N) reprojection errors (NaN where unobserved)."""
    C, N, _ = obs.shape
    seen = np.isfinite(obs).all(-1) & np.isfinite(X).all(-1)[None]
    cam_i, pt_i = np.nonzero(seen)
    used_pts = np.unique(pt_i)
    remap = np.full(N, -1)
    remap[used_pts] = np.arange(len(used_pts))
    p_i = remap[pt_i]
    npc = 7 if refine_focal else 6
    f0 = K[:, 0, 0].copy()
    c0 = K[:, :2, 2].copy()
    aspect = K[:, 1, 1] / K[:, 0, 0]
    target = obs[cam_i, pt_i]

    def unpack(x):
        cp = x[:C * npc].reshape(C, npc)
        return cp, x[C * npc:].reshape(-1, 3)

    def residuals(x):
        cp, P = unpack(x)
        Xc = _rotate(cp[cam_i, :3], P[p_i]) + cp[cam_i, 3:6]
        f = f0[cam_i] * (np.exp(cp[cam_i, 6]) if refine_focal else 1.0)
        uv = Xc[:, :2] / Xc[:, 2:3]
        proj = np.stack([f * uv[:, 0], f * aspect[cam_i] * uv[:, 1]], 1) + c0[cam_i]
        return (proj - target).ravel()

    m = len(cam_i)
    A = lil_matrix((2 * m, C * npc + 3 * len(used_pts)), dtype=int)
    rows = np.arange(m)
    for s in range(npc):
        A[2 * rows, cam_i * npc + s] = 1
        A[2 * rows + 1, cam_i * npc + s] = 1
    for s in range(3):
        A[2 * rows, C * npc + p_i * 3 + s] = 1
        A[2 * rows + 1, C * npc + p_i * 3 + s] = 1
    cp0 = np.zeros((C, npc))
    cp0[:, :6] = rt.reshape(C, 6)
    x0 = np.concatenate([cp0.ravel(), X[used_pts].ravel()])
    sol = least_squares(residuals, x0, jac_sparsity=A, loss="soft_l1", f_scale=LOSS_SCALE_PX,
                        x_scale="jac", method="trf", max_nfev=100, ftol=1e-6, xtol=1e-8)
    cp, P = unpack(sol.x)
    rt = cp[:, :6].reshape(C, 2, 3).copy()
    K = K.copy()
    if refine_focal:
        K[:, 0, 0] = f0 * np.exp(cp[:, 6])
        K[:, 1, 1] = K[:, 0, 0] * aspect
    X = np.full((N, 3), np.nan)
    X[used_pts] = P
    err = np.full((C, N), np.nan)
    err[cam_i, pt_i] = np.hypot(*sol.fun.reshape(-1, 2).T)
    return rt, K, X, err


def _marker_dict(X: np.ndarray, skeleton) -> dict[str, np.ndarray]:
    """(T, K, 3) → Pose2Sim marker names for :func:`estimate_height`."""
    names = {"RHeel": "right_heel", "LHeel": "left_heel", "RAnkle": "right_ankle",
             "LAnkle": "left_ankle", "RKnee": "right_knee", "LKnee": "left_knee",
             "RHip": "right_hip", "LHip": "left_hip", "RShoulder": "right_shoulder",
             "LShoulder": "left_shoulder", "Head": "head_top", "Nose": "nose"}
    nan = np.full((X.shape[0], 3), np.nan)
    out = {m: (X[:, skeleton.index(k)] if k in skeleton.keypoints else nan)
           for m, k in names.items()}
    out["MidShoulder"] = (out["RShoulder"] + out["LShoulder"]) / 2
    return out


def _mid(X: np.ndarray, skeleton, a: str, b: str) -> np.ndarray:
    return (X[:, skeleton.index(a)] + X[:, skeleton.index(b)]) / 2


def _world(X: np.ndarray, skeleton) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rotation R (3, 3) and translation o (3,) taking reconstruction points to the world
    (Z up, floor at 0, origin under the first hips, X forward): ``x_w = R @ (x - o)``."""
    notes = []
    need = ("left_hip", "right_hip", "left_shoulder", "right_shoulder", "left_ankle",
            "right_ankle")
    missing = [k for k in need if k not in skeleton.keypoints]
    if missing:
        raise InputError(f"the {skeleton.name} skeleton lacks {missing}: people-only "
                         "calibration needs hips, shoulders and ankles to find up and the floor")
    hips = _mid(X, skeleton, "left_hip", "right_hip")
    axis = _mid(X, skeleton, "left_shoulder", "right_shoulder") - \
        _mid(X, skeleton, "left_ankle", "right_ankle")
    ok = np.isfinite(axis).all(-1)
    if ok.sum() < 3:
        raise InputError("the person's shoulders and ankles were solved in fewer than 3 "
                         "frames: up and the floor cannot be found")
    u = axis[ok] / np.linalg.norm(axis[ok], axis=1, keepdims=True)
    up = np.median(u, axis=0)
    up /= np.linalg.norm(up)
    feet_names = [k for k in ("left_heel", "right_heel", "left_foot_index", "right_foot_index",
                              "left_ankle", "right_ankle", "left_big_toe", "right_big_toe",
                              "left_small_toe", "right_small_toe")
                  if k in skeleton.keypoints]
    feet = X[:, [skeleton.index(k) for k in feet_names]].reshape(-1, 3)
    feet = feet[np.isfinite(feet).all(-1)]
    h = feet @ up
    low = feet[h <= np.percentile(h, 20)]
    if len(low) >= 10:
        c = low - low.mean(0)
        _, s, vt = np.linalg.svd(c, full_matrices=False)
        n = vt[2] * np.sign(vt[2] @ up)
        spread = s[:2] / math.sqrt(len(low))
        if spread[1] > 0.25 * np.nanmedian(np.linalg.norm(axis[ok], axis=1)) and n @ up > \
                math.cos(math.radians(20)):
            up = n
            notes.append("up: the plane through the feet's low points")
    z = up
    lr = X[:, skeleton.index("left_hip")] - X[:, skeleton.index("right_hip")]
    first = np.flatnonzero(np.isfinite(lr).all(-1) & np.isfinite(hips).all(-1))
    if not len(first):
        raise InputError("the person's hips were never solved: no origin")
    i = first[0]
    y = lr[i] - (lr[i] @ z) * z
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    R = np.stack([x, y, z])
    floor = float(np.percentile(feet @ z, 2))
    o = hips[i] - (hips[i] @ z - floor) * z
    return R, o, notes


def check_height(height: float | None) -> float | None:
    """``height`` if it is a person's height in metres (0.5 to 2.5) or None.

    Raises:
        InputError: anything else (a height in centimetres, text).
    """
    if height is not None and not (isinstance(height, int | float) and 0.5 <= height <= 2.5):
        raise InputError(f"--height is the person's height in metres (0.5 to 2.5); got "
                         f"{height!r}")
    return height


def lenses(intrinsics: Calibration, names: Sequence[str],
           sizes: Sequence[tuple[int, int]]) -> Calibration:
    """The intrinsics of the cameras ``names`` (matched as videos are: ``cam2`` finds
    ``cam02``), checked against their images' ``sizes`` (codec padding allowed: the size
    becomes the image's) and with R = I, t = 0.

    Raises:
        InputError: a camera the file lacks, or an image of another size.
    """
    from ..multiview.calibration import find_camera, match_videos

    picked = []
    for n in names:
        try:
            picked.append(find_camera(n, intrinsics.names, "camera"))
        except InputError:
            raise InputError(f"--intrinsics has no camera for {n} (it has "
                             f"{', '.join(intrinsics.names)}): give a calibration file of "
                             "these cameras") from None
    own = match_videos(intrinsics.select(picked), names)
    own.check_sizes({n: tuple(s) for n, s in zip(names, sizes, strict=True)})
    return Calibration(tuple(Camera(n, c.K, c.dist, np.eye(3), np.zeros(3), tuple(s),
                                    c.fisheye)
                             for n, c, s in zip(names, own, sizes, strict=True)))


def _check_inside(views: Sequence[Poses], cams: Sequence[Camera]) -> None:
    """Refuse keypoints that lie well outside their camera's image: the image size (from
    --intrinsics, for OpenPose json that does not say it) is not these videos'."""
    for v, cam in zip(views, cams, strict=True):
        xy = v.coords[..., :2][np.nan_to_num(v.scores) >= MIN_SCORE]
        if not len(xy):
            continue
        w, h = cam.size
        hi = np.percentile(xy, 99, axis=0)
        if hi[0] > 1.1 * w or hi[1] > 1.1 * h:
            raise InputError(f"camera {cam.name}: keypoints reach x {hi[0]:.0f}, y "
                             f"{hi[1]:.0f} px, beyond its {w}×{h} image: the intrinsics given "
                             "are of another camera or resolution")


def calibrate_from_people(views: Sequence[Poses], sizes: Sequence[tuple[int, int]],
                          names: Sequence[str], *, intrinsics: Calibration | None = None,
                          height: float | None = None) -> PeopleCalibration:
    """Calibrate cameras from the people they see at the same moments.

    Args:
        views: one :class:`~posestack.poses.Poses` per camera, 2D pixels ``(T, P, K, 2)``,
            frame ``t`` of every view the same moment (synchronised), same skeleton.
        sizes: each camera's image ``(width, height)``, pixels.
        names: camera names.
        intrinsics: K and distortion per camera (matched by name; extrinsics ignored).
            None: a focal length of the image's larger side, refined by the adjustment,
            and no distortion.
        height: the person's height in metres (for the scale); None: 1.70 m.

    Returns:
        a :class:`PeopleCalibration`.

    Raises:
        InputError: fewer than two cameras, different skeletons, nobody seen, cameras that
            never see the same person at the same time, a height that makes no sense.
    """
    C = len(views)
    if C < 2:
        raise InputError("people-only calibration needs at least two cameras; got "
                         f"{C}")
    if not (len(sizes) == len(names) == C):
        raise InputError("views, sizes and names must have one entry per camera")
    check_height(height)
    sk = views[0].skeleton
    for n, v in zip(names, views, strict=True):
        if v.skeleton.name != sk.name:
            raise InputError(f"camera {n} has {v.skeleton.name} keypoints, camera {names[0]} "
                             f"{sk.name}: run every camera with the same estimator and layout")
        if v.dim != 2:
            raise InputError(f"camera {n}: 2D keypoints needed, got {v.dim}D")
    T = min(v.n_frames for v in views)
    if T < 10:
        raise InputError(f"only {T} frames seen by every camera: too few to calibrate from")
    if intrinsics is not None:
        base = list(lenses(intrinsics, names, sizes))
    else:
        from ..body.fit import estimate_camera

        base = [estimate_camera(int(s[0]), int(s[1]), n) for n, s in zip(names, sizes,
                                                                          strict=True)]
    _check_inside(views, base)
    frames = _frame_sample(T)
    people = _match_people(views, base, frames)
    refine = intrinsics is None
    guessed_face = _guesses_hidden_face(views, people, frames)
    obs4 = _observations(views, base, frames, people, EXCLUDED | FACE
                         if guessed_face and not refine else EXCLUDED)  # (C, F, K, 2)
    F, Kn = obs4.shape[1:3]
    obs = obs4.reshape(C, F * Kn, 2)
    K = np.stack([c.K for c in base])
    rt = _initial(obs4, K, base)
    X = _triangulate(obs, _projections(rt, K))
    X[~_in_front(X, rt, range(C))] = np.nan
    seen0 = np.isfinite(obs).all(-1).sum(1)                        # (C,) observations
    for _ in range(2):
        rt, K, X, err = _adjust(obs, rt, K, X, refine)
        e = err[np.isfinite(err)]
        limit = max(4 * float(np.median(e)), 8.0)
        obs = np.where((err > limit)[..., None], np.nan, obs)
    rt, K, X, err = _adjust(obs, rt, K, X, refine)
    kept = np.isfinite(obs).all(-1).sum(1) / np.maximum(seen0, 1)   # (C,) share that fits
    face = np.isin(np.arange(F * Kn) % Kn, [i for i, k in enumerate(views[0].skeleton.keypoints)
                                            if k in FACE])
    if guessed_face and refine and (~face & np.isfinite(obs).all(-1).any(0)).sum() \
            >= MIN_SHARED:
        obs = np.where(face[None, :, None], np.nan, obs)
        X[face] = np.nan
        rt, K, X, err = _adjust(obs, rt, K, X, False)
    # every keypoint (the excluded ones too) from the final cameras, for the scale and world
    full = _observations(views, base, frames, people, frozenset()).reshape(C, F * Kn, 2)
    full = np.where(np.isfinite(obs).all(-1, keepdims=True) | ~np.isfinite(X).all(-1)[None, :,
                                                                                      None],
                    full, np.nan)
    X3 = _triangulate(full, _projections(rt, K))
    X3[~_in_front(X3, rt, range(C))] = np.nan
    X3 = X3.reshape(F, Kn, 3)
    # metric scale from the height, then the world frame
    from ..biomech.opensim_ik import estimate_height

    units = estimate_height(_marker_dict(X3, sk))
    if not math.isfinite(units) or units <= 0:
        raise InputError("the person's legs and trunk were not solved: the scale cannot be "
                         "found from their height")
    h = float(height) if height is not None else DEFAULT_HEIGHT
    s = h / units
    Xm = X3 * s
    Rw, o, notes = _world(Xm, sk)
    cams = []
    for c, b in enumerate(base):
        Rc = cv2.Rodrigues(rt[c, 0])[0]
        tc = rt[c, 1] * s
        # x_c = Rc x + tc, x = Rwᵀ x_w + o  →  x_c = Rc Rwᵀ x_w + (Rc o + tc)
        cams.append(Camera(b.name, K[c], b.dist, Rc @ Rw.T, Rc @ o + tc, b.size, b.fisheye))
    calib = Calibration(tuple(cams), source="people (posestack calibrate people)")
    Xw = (Xm - o) @ Rw.T
    errors = {}
    for c, cam in enumerate(cams):
        e = err[c][np.isfinite(err[c])]
        errors[cam.name] = float(np.median(e)) if len(e) else float("nan")
    bad = {n: (e, k) for (n, e), cam, k in zip(errors.items(), cams, kept, strict=True)
           if not (e <= max(MAX_ERROR_PX, 0.01 * float(np.hypot(*cam.size)))
                   and k >= MIN_KEPT)}
    if bad:
        raise InputError("the people do not fit one geometry in camera(s) "
                         + ", ".join(f"{n} (median reprojection error {e:.0f} px; {k:.0%} of "
                                     "its keypoints fit)" for n, (e, k) in bad.items())
                         + ": are the videos synchronised ('posestack sync', --sync) and of "
                           "the same moments, and do the intrinsics belong to these cameras? "
                           "No calibration written")
    warnings = list(notes)
    if intrinsics is None:
        warnings.append("the focal lengths were guessed and refined from the people (on the "
                        "Pose2Sim sample within -9% to +6% with four cameras, worse with "
                        "two) and distortion taken as zero: give --intrinsics (e.g. from "
                        "'posestack calibrate intrinsics') for accurate cameras")
    if height is None:
        warnings.append(f"the scale assumes the person is {DEFAULT_HEIGHT:.2f} m tall: give "
                        "--height for distances in true metres")
    n_points = int((np.isfinite(obs).all(-1).sum(0) >= 2).sum())
    return PeopleCalibration(calib, errors, dict(zip(names, people, strict=True)), n_points,
                             h, height is not None, warnings,
                             dict(zip(names, map(float, kept), strict=True)), Xw, frames)


__all__ = ["PeopleCalibration", "calibrate_from_people"]
