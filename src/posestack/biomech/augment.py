"""OpenCap marker augmentation: 43 anatomical markers from 22 video keypoints.

The two LSTMs of OpenCap's marker augmenter v0.3 (Stanford; the ONNX files
Pose2Sim ships, asset ``marker_augmenter``) predict the positions of the
markers of a motion-capture marker set (ASIS/PSIS, medial and lateral knee and
ankle, toes, calcaneus, thigh and shank clusters, hip joint centres, elbows and
wrists) from the keypoints a video pose model gives. OpenSim's IK is much better
posed on those markers (``scale_and_ik(..., layout="lstm")``).

Models (as Pose2Sim 0.10.49 ``markerAugmentation.py`` runs them):

==========  ======================================================  ===========
model       inputs, in this order (Pose2Sim marker names)           outputs
==========  ======================================================  ===========
lower       Neck, RShoulder, LShoulder, RHip, LHip, RKnee, LKnee,    35 markers
            RAnkle, LAnkle, RHeel, LHeel, RSmallToe, LSmallToe,
            RBigToe, LBigToe  (15 x 3 + height + mass = 47)
upper       Neck, RShoulder, LShoulder, RElbow, LElbow, RWrist,      8 markers
            LWrist  (7 x 3 + height + mass = 23)
==========  ======================================================  ===========

Normalisation: each point minus the mid-hip point (Pose2Sim's ``Hip``), divided by
the height (m); height (m) and mass (kg) appended; every feature z-scored with the
model's ``mean.npy``/``std.npy``; the whole sequence goes through the LSTM as one
``(1, T, F)`` batch; outputs times height plus mid-hip.

Convention (axes): OpenCap trained on Y-up lab coordinates and Pose2Sim feeds
the rows of its Y-up ``.trc`` as they are. posestack's world is Z up, so the
points are turned with :func:`~posestack.io.trc.zup_to_yup` (``(x, y, z) ->
(y, z, x)``, exactly what our and Pose2Sim's ``.trc`` writers do) before the
model and turned back after it: fed from the same triangulation, the LSTM sees the
same numbers as in Pose2Sim.

Missing inputs: the LSTM is causal and a NaN poisons every later frame, so
frames that lack one of a model's inputs get NaN outputs (score 0) and the model
is run separately on each run of consecutive complete frames (the hidden state
starts afresh after a gap). Pose2Sim does not interpolate in this step: it relies
on its triangulation step having filled gaps (up to 20 frames). Fill short gaps
first (``posestack.filters``) for the same behaviour.

BlazePose has one toe point (mapped to the big toe) and no small toe, so the
lower model cannot run on it (Pose2Sim skips it). ``missing_small_toes=
"use_big_toe"`` feeds the big toe in place of the small toe: an approximation
(the model then sees a narrower forefoot; the 5th-metatarsal markers suffer most).
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import AssetError, InputError
from ..filters import true_runs
from ..io.trc import POSE2SIM_NAMES, write_trc, yup_to_zup, zup_to_yup
from ..poses import Poses
from ..skeletons import Skeleton

__all__ = [
    "LOWER_INPUTS",
    "LOWER_MARKERS",
    "LSTM_MARKERS",
    "LSTM_SKELETON",
    "UPPER_INPUTS",
    "UPPER_MARKERS",
    "augment_markers",
    "write_augmented_trc",
]

log = logging.getLogger(__name__)

# Input keypoints (halpe26 names), in the models' order (Pose2Sim names in the comments).
LOWER_INPUTS: tuple[str, ...] = (
    "neck", "right_shoulder", "left_shoulder",          # Neck RShoulder LShoulder
    "right_hip", "left_hip", "right_knee", "left_knee",  # RHip LHip RKnee LKnee
    "right_ankle", "left_ankle", "right_heel", "left_heel",  # RAnkle LAnkle RHeel LHeel
    "right_small_toe", "left_small_toe",                # RSmallToe LSmallToe
    "right_big_toe", "left_big_toe",                    # RBigToe LBigToe
)
UPPER_INPUTS: tuple[str, ...] = (
    "neck", "right_shoulder", "left_shoulder", "right_elbow", "left_elbow",
    "right_wrist", "left_wrist",
)
# Output markers, in the models' order (OpenCap's names, as in Markers_LSTM.xml).
LOWER_MARKERS: tuple[str, ...] = (
    "r.ASIS_study", "L.ASIS_study", "r.PSIS_study", "L.PSIS_study",
    "r_knee_study", "r_mknee_study", "r_ankle_study", "r_mankle_study", "r_toe_study",
    "r_5meta_study", "r_calc_study",
    "L_knee_study", "L_mknee_study", "L_ankle_study", "L_mankle_study", "L_toe_study",
    "L_calc_study", "L_5meta_study",
    "r_shoulder_study", "L_shoulder_study", "C7_study",
    "r_thigh1_study", "r_thigh2_study", "r_thigh3_study",
    "L_thigh1_study", "L_thigh2_study", "L_thigh3_study",
    "r_sh1_study", "r_sh2_study", "r_sh3_study", "L_sh1_study", "L_sh2_study", "L_sh3_study",
    "RHJC_study", "LHJC_study",
)
UPPER_MARKERS: tuple[str, ...] = (
    "r_lelbow_study", "r_melbow_study", "r_lwrist_study", "r_mwrist_study",
    "L_lelbow_study", "L_melbow_study", "L_lwrist_study", "L_mwrist_study",
)
LSTM_MARKERS: tuple[str, ...] = LOWER_MARKERS + UPPER_MARKERS

_MODELS = (("v0.3_lower", LOWER_INPUTS, LOWER_MARKERS), ("v0.3_upper", UPPER_INPUTS, UPPER_MARKERS))
_SMALL_TOES = {"right_small_toe": "right_big_toe", "left_small_toe": "left_big_toe"}
_MISSING_SMALL_TOES = ("error", "use_big_toe")


def _mirror(name: str) -> str:
    for a, b in (("r.", "L."), ("r_", "L_"), ("RHJC", "LHJC")):
        if name.startswith(a):
            return b + name[len(a):]
        if name.startswith(b):
            return a + name[len(b):]
    return name


def _lstm_skeleton() -> Skeleton:
    names = LSTM_MARKERS
    idx = {n: i for i, n in enumerate(names)}
    chains = []
    for s in ("r", "L"):
        chains += [
            (f"{s}_knee_study", f"{s}_ankle_study"), (f"{s}_mknee_study", f"{s}_mankle_study"),
            (f"{s}_calc_study", f"{s}_toe_study"), (f"{s}_calc_study", f"{s}_5meta_study"),
            (f"{s}_ankle_study", f"{s}_calc_study"), (f"{s}.ASIS_study", f"{s}.PSIS_study"),
            (f"{s}_lelbow_study", f"{s}_lwrist_study"), (f"{s}_melbow_study", f"{s}_mwrist_study"),
            (f"{s}_shoulder_study", f"{s}_lelbow_study"),
        ]
    chains += [("RHJC_study", "r_knee_study"), ("LHJC_study", "L_knee_study"),
               ("r.ASIS_study", "L.ASIS_study"), ("r.PSIS_study", "L.PSIS_study"),
               ("C7_study", "r_shoulder_study"), ("C7_study", "L_shoulder_study")]
    lower = tuple(range(len(LOWER_MARKERS)))
    upper = tuple(range(len(LOWER_MARKERS), len(names)))
    return Skeleton(
        name="opencap_lstm43",
        keypoints=names,
        edges=tuple((idx[a], idx[b]) for a, b in chains),
        flip=tuple(idx[_mirror(n)] for n in names),
        parts={"lower": lower, "upper": upper},
    )


LSTM_SKELETON: Skeleton = _lstm_skeleton()
"""The 43 augmented markers (OpenCap names) as a posestack layout; ``parts``
``"lower"`` (35) and ``"upper"`` (8) say which model made each."""


@functools.lru_cache(maxsize=4)
def _session(onnx_path: str):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2 if (os.cpu_count() or 1) >= 2 else 1
    try:
        return ort.InferenceSession(onnx_path, sess_options=opts,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise AssetError(f"cannot load the marker-augmenter model {onnx_path}: {exc}") from None


def _load_model(folder: Path) -> tuple[Any, np.ndarray, np.ndarray]:
    files = [folder / f for f in ("model.onnx", "mean.npy", "std.npy")]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise AssetError(
            f"marker-augmenter files missing: {', '.join(missing)}; run "
            f"`posestack assets fetch marker_augmenter`"
        )
    mean = np.load(files[1], allow_pickle=False).astype(np.float64)
    std = np.load(files[2], allow_pickle=False).astype(np.float64)
    return _session(str(files[0])), mean, std


def _per_person(value: float | Sequence[float], n: int, what: str, unit: str) -> list[float]:
    values: list[Any] = [value] * n if np.ndim(value) == 0 else list(value)  # type: ignore[arg-type]
    if len(values) != n:
        raise InputError(f"{what} must be one number or one per person ({n}); got {len(values)}")
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = math.nan
        if not (math.isfinite(f) and f > 0):
            raise InputError(f"{what} must be a positive number of {unit}; got {v!r}")
        out.append(f)
    return out


def _as_halpe26(poses: Poses) -> Poses:
    if not isinstance(poses, Poses):
        raise InputError(f"poses must be a Poses object; got {type(poses).__name__}")
    if poses.dim != 3 or poses.space not in ("world", "body"):
        raise InputError(
            f"marker augmentation needs 3D poses in 'world' or 'body' space (metres, Z up); "
            f"got D={poses.dim} in {poses.space!r}"
        )
    if poses.skeleton.name == "halpe26":
        return poses
    try:
        return poses.to_skeleton("halpe26")
    except InputError as exc:
        raise InputError(
            f"marker augmentation needs Halpe-26 keypoints (neck, hips, knees, ankles, heels, "
            f"toes, shoulders, elbows, wrists) and {poses.skeleton.name} cannot be converted "
            f"to halpe26: {exc}"
        ) from None


def augment_markers(
    poses: Poses,
    height: float | Sequence[float],
    mass: float | Sequence[float],
    *,
    missing_small_toes: Literal["error", "use_big_toe"] = "error",
    model_dir: str | os.PathLike | None = None,
) -> Poses:
    """Predict OpenCap's 43 anatomical markers from 3D keypoints.

    Args:
        poses: ``(T, P, K, 3)`` metres, Z up (``"world"`` or ``"body"`` space),
            in halpe26 or a layout that converts to it (coco_wholebody133,
            body25, blazepose33 ...). Times should be evenly spaced (OpenCap
            trained at its capture rate; Pose2Sim feeds any rate).
        height: subject height in metres (one value, or one per person slot).
        mass: subject mass in kg (one value, or one per person slot).
        missing_small_toes: ``"error"`` (default) or ``"use_big_toe"``: feed a
            missing small toe with the big toe of the same frame (see the
            module docstring; needed for BlazePose).
        model_dir: folder holding ``v0.3_lower/`` and ``v0.3_upper/``
            (``model.onnx``, ``mean.npy``, ``std.npy``); default the
            ``marker_augmenter`` asset's ``LSTM/`` folder.

    Returns:
        Poses in :data:`LSTM_SKELETON` (K = 43, :data:`LSTM_MARKERS` order),
        same times, person slots, space and tracking as the input, Z up. A
        marker's score is the mean score of its model's inputs in that frame;
        frames where an input is missing are NaN with score 0.

    Raises:
        InputError: not 3D, a layout that cannot give the inputs, bad height or
            mass, or no frame of any person with every lower-body input.
        AssetError: the model files cannot be found or loaded.

    Example::

        >>> aug = augment_markers(poses3d, height=1.72, mass=70.0)   # doctest: +SKIP
        >>> aug.coords[:, 0, aug.skeleton.index("r_knee_study")]     # doctest: +SKIP
    """
    if missing_small_toes not in _MISSING_SMALL_TOES:
        raise InputError(
            f"missing_small_toes must be one of {', '.join(_MISSING_SMALL_TOES)}; "
            f"got {missing_small_toes!r}"
        )
    src = _as_halpe26(poses)
    t, p = src.n_frames, src.n_people
    heights = _per_person(height, p, "height", "metres")
    masses = _per_person(mass, p, "mass", "kg")
    if model_dir is None:
        from .. import assets

        model_dir = assets.path("marker_augmenter") / "LSTM"
    model_dir = Path(model_dir)

    skel = src.skeleton
    coords = src.coords.astype(np.float64)  # (T, P, K, 3), Z up
    scores = src.scores.astype(np.float64)
    valid = np.asarray(np.isfinite(coords).all(-1))
    if missing_small_toes == "use_big_toe":
        coords = coords.copy()
        scores = scores.copy()
        for small, big in _SMALL_TOES.items():
            i, j = skel.index(small), skel.index(big)
            fill = ~valid[..., i] & valid[..., j]
            coords[fill, i] = coords[fill, j]
            scores[fill, i] = scores[fill, j]
            valid[fill, i] = True
    # Reference: mid-hip (Pose2Sim's "Hip"), else the mean of the two hips.
    ref = coords[:, :, skel.index("mid_hip")]
    hips = (coords[:, :, skel.index("right_hip")] + coords[:, :, skel.index("left_hip")]) / 2
    ref = np.where(np.isfinite(ref).all(-1, keepdims=True), ref, hips)
    ref_ok = np.asarray(np.isfinite(ref).all(-1))
    coords_y = zup_to_yup(coords)
    ref_y = zup_to_yup(ref)

    out = np.full((t, p, len(LSTM_MARKERS), 3), np.nan)
    out_scores = np.zeros((t, p, len(LSTM_MARKERS)))
    start = 0
    for folder, inputs, markers in _MODELS:
        stop = start + len(markers)
        idx = list(skel.indices(inputs))
        ok: np.ndarray = valid[:, :, idx].all(-1) & ref_ok  # (T, P)
        if not ok.any():
            names = [n for n in inputs if not valid[:, :, skel.index(n)].any()] or list(inputs)
            msg = (f"marker augmentation ({folder}): no frame has all of its inputs; never "
                   f"seen: {', '.join(names)}")
            if folder.endswith("lower"):
                hint = (" (BlazePose has no small toe: pass missing_small_toes='use_big_toe')"
                        if any(n in _SMALL_TOES for n in names) else "")
                raise InputError(msg + hint)
            log.warning("%s; its %d markers are NaN", msg, len(markers))
            start = stop
            continue
        session, mean, std = _load_model(model_dir / folder)
        if mean.shape != (3 * len(inputs) + 2,) or std.shape != mean.shape:
            raise AssetError(
                f"{model_dir / folder}: mean.npy/std.npy have shapes {mean.shape}/{std.shape}, "
                f"expected ({3 * len(inputs) + 2},)"
            )
        for q in range(p):
            for a, b in zip(*true_runs(ok[:, q]), strict=True):
                x = (coords_y[a:b, q, idx] - ref_y[a:b, q, None]).reshape(b - a, -1)
                x = x / heights[q]
                x = np.concatenate(
                    [x, np.full((b - a, 1), heights[q]), np.full((b - a, 1), masses[q])], axis=1
                )
                x = ((x - mean) / std).astype(np.float32)[None]
                y = session.run(None, {session.get_inputs()[0].name: x})[0][0]
                y = y.astype(np.float64).reshape(b - a, len(markers), 3) * heights[q]
                y = y + ref_y[a:b, q, None]
                out[a:b, q, start:stop] = yup_to_zup(y)
                out_scores[a:b, q, start:stop] = scores[a:b, q][:, idx].mean(-1, keepdims=True)
        start = stop
    return Poses(
        skeleton=LSTM_SKELETON,
        coords=out.astype(np.float32),
        scores=np.clip(out_scores, 0.0, 1.0).astype(np.float32),
        times=src.times,
        space=src.space,
        tracked=src.tracked,
        meta={
            "augmenter": "OpenCap marker augmenter LSTM v0.3 (ONNX, Pose2Sim 0.10.49)",
            "source_skeleton": poses.skeleton.name,
            "height_m": heights,
            "mass_kg": masses,
            "missing_small_toes": missing_small_toes,
        },
    )


def write_augmented_trc(
    path: str | os.PathLike,
    poses: Poses,
    augmented: Poses,
    person: int = 0,
    *,
    units: Literal["m", "cm", "mm"] = "m",
    rate: float | None = None,
    missing: Literal["NaN", ""] = "NaN",
    frame_offset: int = 0,
) -> None:
    """Write keypoints and augmented markers into one ``.trc`` for OpenSim's LSTM setup.

    Like Pose2Sim's ``*_LSTM.trc``: the keypoints under their Pose2Sim names
    (halpe26: Hip, RHip, ..., LWrist), then the 43 markers. Scaling with
    ``layout="lstm"`` needs both (e.g. the torso uses RShoulder and C7_study).

    Args:
        path: the ``.trc`` to write.
        poses: the keypoints the markers came from (any layout that converts to halpe26).
        augmented: the result of :func:`augment_markers` on ``poses``.
        person: the person slot to write.
        units, rate, missing, frame_offset: as in :func:`~posestack.io.trc.write_trc`.

    Raises:
        InputError: ``augmented`` is not in :data:`LSTM_SKELETON`, or the two do
            not share times and person slots.
    """
    src = _as_halpe26(poses)
    if not isinstance(augmented, Poses) or augmented.skeleton != LSTM_SKELETON:
        raise InputError("augmented must be the Poses returned by augment_markers")
    if (augmented.n_frames != src.n_frames or augmented.n_people != src.n_people
            or not np.array_equal(augmented.times, src.times)):
        raise InputError(
            f"poses and augmented must have the same frames and person slots; got "
            f"T={src.n_frames}, P={src.n_people} and T={augmented.n_frames}, "
            f"P={augmented.n_people}"
        )
    table = POSE2SIM_NAMES["halpe26"]
    idx = list(src.skeleton.indices(list(table)))
    names = (*table.values(), *LSTM_MARKERS)
    skel = Skeleton(name="pose2sim_lstm", keypoints=names, edges=(),
                    flip=tuple(range(len(names))), parts={})
    both = Poses(
        skeleton=skel,
        coords=np.concatenate([src.coords[:, :, idx], augmented.coords], axis=2),
        scores=np.concatenate([src.scores[:, :, idx], augmented.scores], axis=2),
        times=src.times,
        space=src.space,
        tracked=src.tracked,
    )
    write_trc(path, both, person, units=units, rate=rate, missing=missing,
              frame_offset=frame_offset)
