"""OpenSim model scaling and inverse kinematics on a ``.trc``, as Pose2Sim does it.

Uses Pose2Sim's OpenSim setup (asset ``opensim_setup``: models, marker sets,
scaling and IK setups per keypoint layout) and OpenSim's Python API (the
``biomech`` extra). Two steps, like Pose2Sim 0.10.49 ``kinematics.py``:

1. **Scaling** without a static trial. Frames are chosen where the person stands
   fairly straight: the mean of |knee flexion| and |hip flexion| (left and right,
   from the keypoints, Pose2Sim's ``angle_dict`` definitions) is below
   ``large_hip_knee_angles`` (90°); with fewer than 50 such frames, the 50 frames
   with the smallest mean are used (all frames if there are fewer). Or
   ``static_window=(t0, t1)`` picks the frames. For each marker pair of the
   layout's scaling setup, the distance is averaged over those frames with a
   trimmed mean (``trimmed_extrema_percent`` = 50: the middle half) and divided
   by the same distance on the unscaled model in its default pose; each body
   axis gets the mean ratio of its measurement's pairs (left and right pooled).
   These become OpenSim "manual" scale factors (its marker-based "measurements"
   are switched off) and ``ScaleTool`` scales the model, preserving the mass
   distribution at ``mass`` kg. Differences from Pose2Sim: marker pairs with no
   data (e.g. ``Head`` from BlazePose) are left out instead of giving an
   infinite ratio, and a body with no pair left takes the median ratio of all
   pairs (a warning says so); the trimmed mean is taken over finite distances.
2. **Inverse kinematics**: ``InverseKinematicsTool`` with the layout's IK setup
   (its marker weights; constraints enforced, accuracy 1e-5) over the whole
   ``.trc`` on the scaled model. Missing markers (NaN) are skipped frame by frame
   by OpenSim; frames with fewer than 3 of the setup's IK markers are left out
   (OpenSim's solver fails on a frame with none), so ``times`` and the ``.mot``
   may have fewer rows than the ``.trc``.

Height (informational for OpenSim's ScaleTool, which scales from marker
distances alone; the marker augmenter needs it) is estimated from the ``.trc`` when
not given, like Pose2Sim's ``compute_height``: heel-ankle + ankle-knee + knee-hip
+ hip-shoulder (left/right averaged) + mid-shoulder-to-head × 1.008 (or to nose
× 1.5), per frame, trimmed mean over the scaling frames; 1.70 m when it cannot
be computed.

Markers: the ``.trc`` may use posestack's keypoint names (what
:func:`~posestack.io.trc.write_trc` writes by default) or Pose2Sim's marker
names; posestack names are renamed with :data:`~posestack.io.trc.POSE2SIM_NAMES`.
The file must be Y up (our writer's default and Pose2Sim's), in m, cm or mm.
The markers exactly as OpenSim reads them are kept as ``<stem>_markers.trc``.

Outputs in ``out_dir`` (``<stem>`` = the ``.trc`` file's stem): ``<stem>.osim``
(scaled model), ``<stem>.mot`` (coordinates, degrees; pelvis translations in
m), ``<stem>_ik_marker_errors.sto``, ``<stem>_markers.trc`` and
``<stem>_opensim.log`` (everything OpenSim printed: its console output is sent
there while it runs). OpenSim works in a temporary folder inside ``out_dir``;
results are moved into place only when both steps succeed (on failure only the log
is kept). Sending the console to the log is process-wide: do not run
:func:`scale_and_ik` from several threads at once (use processes).

Example::

    >>> res = scale_and_ik("walk.trc", "kinematics", mass=68.0)   # doctest: +SKIP
    >>> res.angle("knee_angle_r").max(), res.mot                  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np

from ..errors import AssetError, InputError, OutputError
from ..io.trc import POSE2SIM_NAMES, read_trc, write_trc
from ..poses import Poses
from ..skeletons import Skeleton
from .mot import read_mot

__all__ = ["LAYOUTS", "OpenSimResult", "estimate_height", "ik_calibration", "model_pose",
           "scale_and_ik"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Layout:
    setup: str  # suffix of Scaling_Setup_Pose2Sim_<setup>.xml
    markers: str  # Markers_<markers>.xml
    ik: str  # IK_Setup_Pose2Sim_<ik>.xml
    names: str  # POSE2SIM_NAMES table renaming posestack keypoint names (body and feet)


LAYOUTS: Mapping[str, _Layout] = MappingProxyType({
    "halpe26": _Layout("Halpe26", "Halpe26", "Halpe26", "halpe26"),
    "coco17": _Layout("Coco17", "Coco17", "Coco17", "coco17"),
    "coco_wholebody133": _Layout("Coco133", "Coco133", "Coco133", "halpe26"),
    "body25": _Layout("Body25", "Body25", "Body25", "body25"),
    "body25b": _Layout("Body25b", "Body25b", "Body25b", "body25b"),
    "blazepose33": _Layout("Blazepose", "BlazePose", "Blazepose", "blazepose33"),
    "lstm": _Layout("LSTM", "LSTM", "withHands_LSTM", "halpe26"),
})
"""Layouts with a Pose2Sim OpenSim setup: posestack layout name -> setup files.
``"lstm"`` is for ``.trc`` files holding the augmented markers
(:func:`~posestack.biomech.augment.write_augmented_trc`)."""

_ALIASES = {"halpe": "halpe26", "coco": "coco17", "coco133": "coco_wholebody133",
            "wholebody": "coco_wholebody133", "wholebody133": "coco_wholebody133",
            "blazepose": "blazepose33", "body_25": "body25", "body_25b": "body25b"}
_MODELS = {"simple": "Model_Pose2Sim_simple.osim", "muscles": "Model_Pose2Sim_muscles_flex.osim"}
DEFAULT_HEIGHT = 1.70
_MIN_SCALING_FRAMES = 50
_MIN_IK_MARKERS = 3  # frames with fewer IK markers are left out of the IK


@dataclass(frozen=True, eq=False)
class OpenSimResult:
    """What :func:`scale_and_ik` returns.

    Attributes:
        scaled_model: the scaled ``.osim``.
        mot: the IK ``.mot`` (OpenSim's format, degrees).
        coordinates: the A model coordinates, in the ``.mot`` column order.
        angles: ``(T, A)`` float64 coordinate values: degrees for rotations,
            metres for the translations (see ``units``).
        units: ``"deg"`` or ``"m"`` per coordinate.
        times: ``(T,)`` seconds of the IK frames.
        marker_errors: ``(T,)`` RMS marker error per frame (m), from OpenSim.
        seconds_scale: wall time of the scaling step (model loading, scale
            factors, ``ScaleTool``).
        seconds_ik: wall time of ``InverseKinematicsTool``.
        height: the height used (m), given or estimated.
        mass: the mass used (kg).
        scale_factors: body name -> (x, y, z) scale factors applied.
        scaling_times: the times of the frames used for scaling.
        markers: the ``.trc`` OpenSim read (Pose2Sim marker names).
        log: OpenSim's log.
        keypoints: the keypoint source whose hips were mapped to COCO's
            (:data:`~posestack.biomech.anatomy.HIP_OFFSETS`).
    """

    scaled_model: Path
    mot: Path
    coordinates: tuple[str, ...]
    angles: np.ndarray
    units: tuple[str, ...]
    times: np.ndarray
    marker_errors: np.ndarray
    seconds_scale: float
    seconds_ik: float
    height: float
    mass: float
    scale_factors: Mapping[str, tuple[float, float, float]]
    scaling_times: np.ndarray
    markers: Path
    log: Path
    keypoints: str = "coco"

    def angle(self, name: str) -> np.ndarray:
        """``(T,)`` values of one coordinate (InputError lists the valid names)."""
        try:
            return self.angles[:, self.coordinates.index(name)]
        except ValueError:
            raise InputError(
                f"unknown coordinate {name!r}; valid: {', '.join(self.coordinates)}"
            ) from None


# -- pure helpers (no OpenSim) ----------------------------------------------------------------


def _resolve_layout(layout: str) -> tuple[str, _Layout]:
    if not isinstance(layout, str):
        raise InputError(f"layout must be a string; got {type(layout).__name__}")
    key = layout.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in LAYOUTS:
        raise InputError(
            f"layout {layout!r} has no OpenSim setup; valid: {', '.join(LAYOUTS)}"
        )
    return key, LAYOUTS[key]


def _trimmed_mean(values: np.ndarray, trimmed_extrema_percent: float) -> float:
    """Mean of the finite values after dropping ``percent/2`` % at each end (Pose2Sim's)."""
    v = np.sort(values[np.isfinite(values)])
    if v.size == 0:
        return math.nan
    cut = trimmed_extrema_percent / 100.0
    lo, hi = int(v.size * cut / 2), int(v.size * (1 - cut / 2))
    return float(v[lo:hi].mean()) if hi > lo else float(v.mean())


def _angle_deg(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unsigned angle between vectors ``(T, 3)``, degrees."""
    cross = np.linalg.norm(np.cross(u, v), axis=-1)
    return np.degrees(np.arctan2(cross, np.einsum("ij,ij->i", u, v)))


def _point(markers: Mapping[str, np.ndarray], name: str, t: int) -> np.ndarray:
    """A marker's ``(T, 3)``, with Hip/Neck/MidShoulder made from pairs when absent."""
    if name in markers:
        return markers[name]
    pairs = {"Hip": ("RHip", "LHip"), "Neck": ("RShoulder", "LShoulder"),
             "MidShoulder": ("RShoulder", "LShoulder")}
    if name in pairs and all(n in markers for n in pairs[name]):
        a, b = pairs[name]
        return (markers[a] + markers[b]) / 2
    return np.full((t, 3), np.nan)


def _flexion_mean(markers: Mapping[str, np.ndarray], t: int) -> np.ndarray:
    """Per frame, the mean |flexion| of both knees and hips (Pose2Sim's ``mean_angles``)."""
    p = {n: _point(markers, n, t) for n in (
        "RAnkle", "RKnee", "RHip", "LAnkle", "LKnee", "LHip", "Hip", "Neck")}
    angles = []
    for s in "RL":
        knee = _angle_deg(p[f"{s}Ankle"] - p[f"{s}Knee"], p[f"{s}Hip"] - p[f"{s}Knee"])
        angles.append(np.abs(knee - 180.0))  # 0 when the leg is straight
        angles.append(_angle_deg(p[f"{s}Hip"] - p[f"{s}Knee"], p["Neck"] - p["Hip"]))
    return np.mean(angles, axis=0)


def _scaling_frames(
    markers: Mapping[str, np.ndarray], times: np.ndarray,
    static_window: tuple[float, float] | None, large_hip_knee_angles: float,
) -> np.ndarray:
    """Indices of the frames used to measure segments."""
    t = times.shape[0]
    has_data = np.zeros(t, bool)
    for xyz in markers.values():
        has_data |= np.isfinite(xyz).all(-1)
    if static_window is not None:
        t0, t1 = static_window
        idx = np.flatnonzero((times >= t0) & (times <= t1) & has_data)
        if idx.size == 0:
            raise InputError(
                f"static_window ({t0:g} s, {t1:g} s) holds no frame with markers; the .trc "
                f"spans {times[0]:g} s to {times[-1]:g} s"
            )
        return idx
    ang = _flexion_mean(markers, t)
    ok = np.isfinite(ang) & has_data
    if not ok.any():
        log.warning("cannot compute knee and hip angles (RAnkle, RKnee, RHip, LAnkle, LKnee, "
                    "LHip or the trunk missing): measuring segments on all frames")
        return np.flatnonzero(has_data)
    idx = np.flatnonzero(ok & (ang < large_hip_knee_angles))
    if idx.size < _MIN_SCALING_FRAMES:
        cand = np.flatnonzero(ok)
        idx = np.sort(cand[np.argsort(ang[cand], kind="stable")[:_MIN_SCALING_FRAMES]])
    return idx


def _distances(markers: Mapping[str, np.ndarray], a: str, b: str, t: int) -> np.ndarray:
    return np.linalg.norm(_point(markers, a, t) - _point(markers, b, t), axis=-1)


def estimate_height(
    markers: Mapping[str, np.ndarray], frames: np.ndarray | None = None,
    trimmed_extrema_percent: float = 50.0,
) -> float:
    """Subject height (m) from Pose2Sim-named markers, like Pose2Sim's ``compute_height``.

    Args:
        markers: Pose2Sim marker name -> ``(T, 3)`` metres (any axes).
        frames: frame indices to use (default all).
        trimmed_extrema_percent: percentage of extreme per-frame heights dropped.

    Returns:
        the height, or NaN when the legs and trunk cannot be measured.

    Example::

        >>> import numpy as np
        >>> z = lambda h: np.array([[0.0, 0.0, h]])
        >>> m = {"RHeel": z(0.0), "RAnkle": z(0.1), "RKnee": z(0.5), "RHip": z(0.9),
        ...      "RShoulder": z(1.4), "Head": z(1.7)}
        >>> m.update({"L" + k[1:]: v for k, v in m.items() if k[0] == "R"})
        >>> round(estimate_height(m), 3)   # 0.1 + 0.4 + 0.4 + 0.5 + 0.3 * 1.008
        1.702
    """
    t = next(iter(markers.values())).shape[0] if markers else 0
    sel = np.arange(t) if frames is None else np.asarray(frames)
    m = {k: np.asarray(v, dtype=np.float64)[sel] for k, v in markers.items()}
    t = sel.shape[0]

    def seg(a: str, b: str) -> np.ndarray:
        return _distances(m, a, b, t)

    def seen(d: np.ndarray) -> bool:
        return bool(np.isfinite(d).any())

    foot = (seg("RHeel", "RAnkle") + seg("LHeel", "LAnkle")) / 2
    if not seen(foot):
        foot = np.full(t, 0.10)  # Pose2Sim: heel missing -> 10 cm
    legs = [(seg(f"{s}Ankle", f"{s}Knee"), seg(f"{s}Knee", f"{s}Hip"),
             seg(f"{s}Hip", f"{s}Shoulder")) for s in "RL"]
    shank, femur, back = ((legs[0][i] + legs[1][i]) / 2 for i in range(3))
    if not (seen(shank) and seen(femur)):
        return math.nan
    head = seg("MidShoulder", "Head") * 1.008
    if not seen(head):
        head = seg("MidShoulder", "Nose") * 1.5
    if seen(back) and seen(head):
        heights = foot + shank + femur + back + head
    else:
        heights = (foot + shank + femur) / 0.485  # Winter (2009): leg = 48.5 % of height
    return _trimmed_mean(heights, trimmed_extrema_percent)


def _parse_scaling(root: ET.Element) -> tuple[list[tuple[str, str]], dict[str, list[int]]]:
    """Marker pairs of the scaling setup, and body_axis -> indices of its measurement's pairs."""
    pairs: list[tuple[str, str]] = []
    body_pairs: dict[str, list[int]] = {}
    for meas in root.iter("Measurement"):
        mine = []
        for pair in meas.iter("MarkerPair"):
            names = (pair.findtext("markers") or "").split()
            if len(names) == 2:
                mine.append(len(pairs))
                pairs.append((names[0], names[1]))
        for body in meas.iter("BodyScale"):
            for axis in (body.findtext("axes") or "").split():
                body_pairs.setdefault(f"{body.get('name')}_{axis}", []).extend(mine)
    return pairs, body_pairs


def _scale_factors(
    pairs: list[tuple[str, str]], body_pairs: Mapping[str, list[int]],
    data_lengths: Sequence[float], model_lengths: Sequence[float],
) -> tuple[dict[str, tuple[float, float, float]], list[str]]:
    """Body -> (x, y, z) factors; the list names the body axes that got the fallback."""
    ratios = [d / m if (math.isfinite(d) and math.isfinite(m) and m > 0) else math.nan
              for d, m in zip(data_lengths, model_lengths, strict=True)]
    finite = [r for r in ratios if math.isfinite(r)]
    if not finite:
        names = sorted({n for pair in pairs for n in pair})
        raise InputError(
            f"no marker pair of the scaling setup could be measured in the .trc; it needs "
            f"markers such as {', '.join(names[:10])}"
        )
    fallback = float(np.median(finite))
    factors: dict[str, list[float]] = {}
    fell_back: list[str] = []
    for key, idx in body_pairs.items():
        body, axis = key.rsplit("_", 1)
        values = [ratios[i] for i in idx if math.isfinite(ratios[i])]
        if values:
            value = float(np.mean(values))
        else:
            value = fallback
            fell_back.append(key)
        factors.setdefault(body, [math.nan] * 3)["XYZ".index(axis)] = value
    out = {b: tuple(fallback if math.isnan(v) else v for v in f) for b, f in factors.items()}
    return out, fell_back  # type: ignore[return-value]


# -- OpenSim plumbing -------------------------------------------------------------------------


def _import_opensim():
    try:
        import opensim
    except ImportError:
        raise AssetError(
            "OpenSim is not installed: pip install posestack[biomech]"
        ) from None
    return opensim


@contextlib.contextmanager
def _console_to(path: Path) -> Iterator[None]:
    """Send the process's stdout/stderr (where OpenSim's C++ code prints) to ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no stdout/stderr to redirect (e.g. closed in a daemon)
        yield
        return
    with open(path, "ab") as f:
        try:
            os.dup2(f.fileno(), 1)
            os.dup2(f.fileno(), 2)
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _setup_files(setup_dir: Path, lay: _Layout, model: str | os.PathLike) -> dict[str, Path]:
    if isinstance(model, str) and model in _MODELS:
        model_path = setup_dir / _MODELS[model]
    elif isinstance(model, str | os.PathLike) and str(model).lower().endswith(".osim"):
        model_path = Path(model).expanduser().absolute()
        if not model_path.is_file():
            raise InputError(f"no such OpenSim model: {model_path}")
    else:
        raise InputError(
            f"model must be 'simple', 'muscles' or a path to an .osim file; got {model!r}"
        )
    files = {
        "model": model_path,
        "markers": setup_dir / f"Markers_{lay.markers}.xml",
        "scaling": setup_dir / f"Scaling_Setup_Pose2Sim_{lay.setup}.xml",
        "ik": setup_dir / f"IK_Setup_Pose2Sim_{lay.ik}.xml",
    }
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise AssetError(
            f"OpenSim setup files missing: {', '.join(missing)}; run "
            f"`posestack assets fetch opensim_setup`"
        )
    return files


def _xml(path: Path) -> ET.ElementTree[ET.Element]:
    try:
        return ET.parse(path)
    except (ET.ParseError, OSError) as exc:
        raise AssetError(f"cannot read OpenSim setup {path}: {exc}") from None


def _set(root: ET.Element, tag: str, text: str, where: str) -> None:
    el = root.find(f".//{tag}")
    if el is None:
        raise AssetError(f"{where}: no <{tag}> element")
    el.text = text


def _num(x: float) -> str:
    """A number as OpenSim's XML reads it (shortest round-trip form, never numpy's repr)."""
    return repr(float(x))


def _marker_names(path: Path) -> list[str]:
    return [m.get("name", "") for m in _xml(path).getroot().iter("Marker")]


def _ik_tasks(root: ET.Element) -> list[str]:
    out = []
    for task in root.iter("IKMarkerTask"):
        apply = (task.findtext("apply") or "true").strip().lower() == "true"
        weight = float(task.findtext("weight") or 0)
        if apply and weight > 0:
            out.append(task.get("name", ""))
    return out


def _check_number(value: float, what: str, unit: str) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        f = math.nan
    if not (math.isfinite(f) and f > 0):
        raise InputError(f"{what} must be a positive number of {unit}; got {value!r}")
    return f


def _load_markers(trc_path: Path, lay: _Layout, known: Sequence[str]
                  ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The .trc's markers (Z up, metres) under Pose2Sim names, and its times."""
    data = read_trc(trc_path, z_up=True, metres=True)
    if data.times.shape[0] == 0:
        raise InputError(f"{trc_path}: the .trc has no frames")
    rename = dict(POSE2SIM_NAMES[lay.names])
    markers: dict[str, np.ndarray] = {}
    for i, name in enumerate(data.names):
        new = rename.get(name, name)
        if new in markers:
            raise InputError(f"{trc_path}: marker {new!r} appears twice (after renaming "
                             f"posestack names to Pose2Sim names)")
        markers[new] = data.xyz[:, i].astype(np.float64)
    unknown = [n for n in markers if n not in known]
    if unknown:
        log.info("%s: %d marker(s) not in the model's marker set are ignored: %s",
                 trc_path.name, len(unknown), ", ".join(unknown[:8]))
    return markers, data.times


def _map_hips(markers: dict[str, np.ndarray], keypoints: str, trc_path: Path,
              ) -> dict[str, np.ndarray]:
    """The markers with ``keypoints``' hips moved to the COCO definition
    (:func:`~posestack.biomech.anatomy.reference_hips`; a mid ``Hip`` moves with them)."""
    from .anatomy import reference_hips

    need = ("LHip", "RHip", "LShoulder", "RShoulder")
    if not all(n in markers for n in need):
        raise InputError(f"{trc_path.name}: keypoints={keypoints!r} needs the hips and "
                         f"shoulders ({', '.join(need)}) to place the hips; the file has "
                         f"{', '.join(list(markers)[:8])}, ...")
    lh, rh, shift = reference_hips(*(markers[n] for n in need), keypoints)
    out = {**markers, "LHip": lh, "RHip": rh}
    if "Hip" in markers:
        out["Hip"] = markers["Hip"] + shift
    return out


def _write_markers(path: Path, markers: Mapping[str, np.ndarray], times: np.ndarray,
                   all_times: np.ndarray) -> None:
    names = tuple(markers)
    skel = Skeleton(name="opensim_markers", keypoints=names, edges=(),
                    flip=tuple(range(len(names))), parts={})
    coords = np.stack([markers[n] for n in names], axis=1)[:, None]
    scores = np.isfinite(coords).all(-1).astype(np.float32)
    steps = np.diff(all_times)
    rate = 1.0 / float(np.median(steps)) if steps.size and np.median(steps) > 0 else 60.0
    poses = Poses(skel, coords, scores, times, "world")
    write_trc(path, poses, rate=rate)


def scale_and_ik(
    trc_path: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    layout: str = "halpe26",
    height: float | None = None,
    mass: float = 70.0,
    model: Literal["simple", "muscles"] | str | os.PathLike = "simple",
    static_window: tuple[float, float] | None = None,
    large_hip_knee_angles: float = 90.0,
    trimmed_extrema_percent: float = 50.0,
    setup_dir: str | os.PathLike | None = None,
    keypoints: str = "coco",
) -> OpenSimResult:
    """Scale Pose2Sim's OpenSim model to a ``.trc`` and run OpenSim's inverse kinematics.

    Args:
        trc_path: 3D markers (Y up, as :func:`~posestack.io.trc.write_trc` and
            Pose2Sim write them), posestack keypoint names or Pose2Sim marker names.
        out_dir: folder for the results (created).
        layout: the keypoint layout of the markers: one of :data:`LAYOUTS`
            (``"halpe26"`` default; ``"lstm"`` for augmented markers).
        height: subject height in m; None estimates it from the ``.trc``
            (see the module docstring), 1.70 m if that fails.
        mass: subject mass in kg (default 70, Pose2Sim's).
        model: ``"simple"`` (Pose2Sim's 40-coordinate model, default),
            ``"muscles"`` (62 coordinates, flexible spine, muscles; slower) or
            a path to an ``.osim`` whose bodies match the setup files.
        static_window: ``(t0, t1)`` seconds of frames to scale on (a static
            pose); None picks frames with small hip and knee flexion.
        large_hip_knee_angles: degrees; frames whose mean |hip/knee flexion| is
            below it are used for scaling and height.
        trimmed_extrema_percent: percentage of extreme segment lengths dropped
            before averaging (half at each end).
        setup_dir: Pose2Sim's ``OpenSim_Setup`` folder; default the
            ``opensim_setup`` asset.
        keypoints: which 2D model's definition of the hip the markers follow:
            ``"coco"`` (OpenPose, RTMPose/RTMW/DWPose/RTMO: the markers as they
            are, which Pose2Sim's marker sets were made for) or ``"blazepose"``
            (BlazePose/Holistic: each frame's hips are moved 4.2 cm up and 1.3 cm
            apart in the pelvis frame, see :mod:`posestack.biomech.anatomy`), so
            that the model's hip joint centre does not depend on the 2D model.

    Returns:
        :class:`OpenSimResult`.

    Raises:
        AssetError: OpenSim is not installed (the message says
            ``pip install posestack[biomech]``), setup files missing or broken.
        InputError: missing or malformed ``.trc``, an unknown layout or a
            ``.trc`` whose markers do not match it, bad height/mass/window,
            or OpenSim failing on the data.
        OutputError: ``out_dir`` cannot be written.
    """
    trc_path = Path(trc_path).expanduser().absolute()
    if not trc_path.is_file():
        raise InputError(f"no such TRC file: {trc_path}")
    key, lay = _resolve_layout(layout)
    from .anatomy import keypoint_source

    keypoints = keypoint_source(keypoints)
    if key == "lstm":
        keypoints = "coco"  # augmented markers are anatomical: no keypoint hips to place
    mass = _check_number(mass, "mass", "kg")
    if height is not None:
        height = _check_number(height, "height", "metres")
    if static_window is not None:
        try:
            t0, t1 = (float(v) for v in static_window)
        except (TypeError, ValueError):
            raise InputError(
                f"static_window must be (start, end) in seconds; got {static_window!r}"
            ) from None
        if not (math.isfinite(t0) and math.isfinite(t1) and t1 >= t0):
            raise InputError(f"static_window must have start <= end; got {static_window!r}")
        static_window = (t0, t1)
    if not 0 <= float(trimmed_extrema_percent) < 100:
        raise InputError(
            f"trimmed_extrema_percent must be in [0, 100); got {trimmed_extrema_percent!r}"
        )
    opensim = _import_opensim()
    if setup_dir is None:
        from .. import assets

        setup_dir = assets.path("opensim_setup")
    files = _setup_files(Path(setup_dir).expanduser().absolute(), lay, model)

    scaling_tree = _xml(files["scaling"])
    ik_tree = _xml(files["ik"])
    known = _marker_names(files["markers"])
    markers, times = _load_markers(trc_path, lay, known)
    if keypoints != "coco":
        markers = _map_hips(markers, keypoints, trc_path)
    tasks = _ik_tasks(ik_tree.getroot())
    present = [n for n in tasks if n in markers and np.isfinite(markers[n]).all(-1).any()]
    if len(present) < max(3, len(tasks) // 2):
        raise InputError(
            f"{trc_path.name}: the markers do not match layout {key!r}: only {len(present)} of "
            f"the {len(tasks)} IK markers have data ({', '.join(tasks[:6])}, ...); the file "
            f"has {', '.join(list(markers)[:6])}, .... Pass the layout the file was made with "
            f"(valid: {', '.join(LAYOUTS)})"
        )
    n_seen = np.sum([np.isfinite(markers[n]).all(-1) for n in present], axis=0)
    ik_rows = n_seen >= _MIN_IK_MARKERS
    if not ik_rows.any():
        raise InputError(
            f"{trc_path.name}: no frame has {_MIN_IK_MARKERS} or more of the IK markers"
        )
    if not ik_rows.all():
        log.warning("%s: %d of %d frame(s) have fewer than %d IK markers and are left out of "
                    "the IK", trc_path.name, int((~ik_rows).sum()), ik_rows.size,
                    _MIN_IK_MARKERS)

    frames = _scaling_frames(markers, times, static_window, large_hip_knee_angles)
    if height is None:
        height = estimate_height(markers, frames, trimmed_extrema_percent)
        if not math.isfinite(height):
            log.warning("could not estimate the height from %s; using %.2f m",
                        trc_path.name, DEFAULT_HEIGHT)
            height = DEFAULT_HEIGHT
        else:
            log.info("height estimated from %s: %.3f m", trc_path.name, height)

    # OpenSim resolves a relative path in a setup file against the setup file's folder
    # (which would double a relative out_dir): every path it sees is absolute.
    out_dir = Path(out_dir).expanduser().absolute()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".opensim-", dir=out_dir))
    except OSError as exc:
        raise OutputError(f"cannot write to {out_dir}: {exc}") from None
    stem = trc_path.stem
    paths = {
        "markers": work / f"{stem}_markers.trc",
        "generic": work / "generic_with_markers.osim",
        "scaled": work / f"{stem}.osim",
        "mot": work / f"{stem}.mot",
        "errors": work / f"{stem}_ik_marker_errors.sto",
        "log": work / f"{stem}_opensim.log",
        "scale_xml": work / "scaling_setup.xml",
        "ik_xml": work / "ik_setup.xml",
    }
    try:
        _write_markers(paths["markers"], {k: v[ik_rows] for k, v in markers.items()},
                       times[ik_rows], times)
        with _console_to(paths["log"]):
            result = _run_opensim(
                opensim, files, paths, markers, times, frames, scaling_tree, ik_tree,
                height, mass, trimmed_extrema_percent,
                (times[ik_rows][0], times[ik_rows][-1]), stem,
            )
        fell_back = result.pop("fell_back")
        if fell_back:
            log.warning("no marker data to scale %s; used the median scale factor of the "
                        "other segments", ", ".join(sorted({k.rsplit("_", 1)[0]
                                                           for k in fell_back})))
        final = {}
        for name in ("scaled", "mot", "errors", "markers", "log"):
            final[name] = out_dir / paths[name].name
            if paths[name].is_file():
                os.replace(paths[name], final[name])
    except BaseException:
        if paths["log"].is_file():
            with contextlib.suppress(OSError):
                os.replace(paths["log"], out_dir / paths["log"].name)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return OpenSimResult(
        scaled_model=final["scaled"], mot=final["mot"], markers=final["markers"],
        log=final["log"], scaling_times=times[frames], height=float(height), mass=mass,
        keypoints=keypoints, **result,
    )


def _run_opensim(opensim, files, paths, markers, times, frames, scaling_tree, ik_tree,
                 height, mass, trimmed_extrema_percent, time_range, stem) -> dict:
    """Scale (factors from the data, then ``ScaleTool``) and run ``InverseKinematicsTool``.

    Runs with the console sent to the log; returns the fields of
    :class:`OpenSimResult` it computes, plus ``fell_back`` (body axes scaled
    with the fallback factor) for the caller to report.
    """
    log_note = f"see {paths['log'].name} in the output folder"
    where_scale, where_ik = files["scaling"].name, files["ik"].name
    # -- scaling ---------------------------------------------------------------------------
    tic = time.perf_counter()
    try:
        model = opensim.Model(str(files["model"]))
        model.set_MarkerSet(opensim.MarkerSet(str(files["markers"])))
        state = model.initSystem()
        model.printToXML(str(paths["generic"]))
        model_markers = model.getMarkerSet()
        locations = {}
        for i in range(model_markers.getSize()):
            mk = model_markers.get(i)
            loc = mk.getLocationInGround(state)
            locations[mk.getName()] = np.array([loc.get(0), loc.get(1), loc.get(2)])
    except RuntimeError as exc:
        raise AssetError(f"OpenSim cannot load the model {files['model']}: {exc}") from None

    root = scaling_tree.getroot()
    pairs, body_pairs = _parse_scaling(root)
    sel = {k: v[frames] for k, v in markers.items()}
    data_len = [_trimmed_mean(_distances(sel, a, b, frames.shape[0]), trimmed_extrema_percent)
                for a, b in pairs]
    model_len = [float(np.linalg.norm(locations[a] - locations[b]))
                 if a in locations and b in locations else math.nan for a, b in pairs]
    factors, fell_back = _scale_factors(pairs, body_pairs, data_len, model_len)

    tool = root.find("ScaleTool")
    if tool is None:
        raise AssetError(f"{where_scale}: no <ScaleTool> element")
    tool.set("name", stem)
    _set(tool, "mass", _num(mass), where_scale)
    _set(tool, "height", _num(height), where_scale)
    maker, scaler = tool.find("GenericModelMaker"), tool.find("ModelScaler")
    if maker is None or scaler is None:
        raise AssetError(f"{where_scale}: no <GenericModelMaker> or <ModelScaler> element")
    _set(maker, "model_file", str(paths["generic"]), where_scale)
    _set(scaler, "apply", "true", where_scale)
    _set(scaler, "scaling_order", " manualScale", where_scale)
    for meas in scaler.iter("Measurement"):
        _set(meas, "apply", "false", where_scale)
    scale_set = scaler.find(".//ScaleSet/objects")
    if scale_set is None:
        raise AssetError(f"{where_scale}: no <ScaleSet><objects> element")
    for old in list(scale_set):
        scale_set.remove(old)
    for body, (x, y, z) in sorted(factors.items()):
        el = ET.SubElement(scale_set, "Scale")
        ET.SubElement(el, "scales").text = f"{_num(x)} {_num(y)} {_num(z)}"
        ET.SubElement(el, "segment").text = body
        ET.SubElement(el, "apply").text = "true"
    for el in tool.iter("marker_file"):
        el.text = "Unassigned"
    _set(scaler, "output_model_file", str(paths["scaled"]), where_scale)
    placer = tool.find("MarkerPlacer")
    if placer is not None:
        _set(placer, "apply", "false", where_scale)
    scaling_tree.write(paths["scale_xml"], xml_declaration=True, encoding="UTF-8")
    try:
        # run() returns False whenever a MarkerPlacer is present with apply=false (as in
        # Pose2Sim's setups), even after writing the model: success = the model written.
        opensim.ScaleTool(str(paths["scale_xml"])).run()
    except RuntimeError as exc:
        raise InputError(f"OpenSim scaling failed: {exc} ({log_note})") from None
    if not paths["scaled"].is_file():
        raise InputError(f"OpenSim scaling failed ({log_note})")
    seconds_scale = time.perf_counter() - tic

    # -- inverse kinematics ---------------------------------------------------------------
    ik = ik_tree.getroot().find("InverseKinematicsTool")
    if ik is None:
        raise AssetError(f"{where_ik}: no <InverseKinematicsTool> element")
    ik.set("name", stem)
    _set(ik, "results_directory", str(paths["mot"].parent), where_ik)
    _set(ik, "model_file", str(paths["scaled"]), where_ik)
    _set(ik, "time_range", f"{_num(time_range[0])} {_num(time_range[1])}", where_ik)
    _set(ik, "output_motion_file", str(paths["mot"]), where_ik)
    _set(ik, "marker_file", str(paths["markers"]), where_ik)
    _set(ik, "report_errors", "true", where_ik)
    ik_tree.write(paths["ik_xml"], xml_declaration=True, encoding="UTF-8")
    tic = time.perf_counter()
    try:
        ok = opensim.InverseKinematicsTool(str(paths["ik_xml"])).run()
    except RuntimeError as exc:
        raise InputError(f"OpenSim inverse kinematics failed: {exc} ({log_note})") from None
    seconds_ik = time.perf_counter() - tic
    if not ok or not paths["mot"].is_file():
        raise InputError(f"OpenSim inverse kinematics failed ({log_note})")

    mot = read_mot(paths["mot"])
    scaled = opensim.Model(str(paths["scaled"]))
    coord_set = scaled.getCoordinateSet()
    units = []
    for name in mot.names:
        rotational = True
        if coord_set.contains(name):
            rotational = coord_set.get(name).getMotionType() != opensim.Coordinate.Translational
        units.append("deg" if rotational else "m")
    errors = np.full(mot.times.shape[0], np.nan)
    if paths["errors"].is_file():
        err = read_mot(paths["errors"])
        if "marker_error_RMS" in err.names and err.times.shape == mot.times.shape:
            errors = err.values[:, err.names.index("marker_error_RMS")]
    return {
        "coordinates": mot.names,
        "angles": mot.values,
        "units": tuple(units),
        "times": mot.times,
        "marker_errors": errors,
        "seconds_scale": seconds_scale,
        "seconds_ik": seconds_ik,
        "scale_factors": MappingProxyType(factors),
        "fell_back": fell_back,
    }


def model_pose(layout: str = "halpe26", model: str | os.PathLike = "simple",
               coordinates: Mapping[str, float] | Sequence[Mapping[str, float]] = (),
               keep_default: Sequence[str] = ()) -> Poses:
    """The model's markers in given poses, as keypoints (by default its zero pose).

    Every coordinate of the model (Pose2Sim's generic model, ``"muscles"``, or a
    ``.osim`` path, e.g. a scaled model from :func:`scale_and_ik`) is set to 0
    (those named in ``keep_default``: to the model's default value), then to
    ``coordinates`` (name -> degrees, or metres for translations; one
    mapping per frame), and the layout's markers (``Markers_<layout>.xml``; a
    scaled model's own markers when it has them) are read in ground. Markers are
    renamed to the layout's keypoints with
    :data:`~posestack.io.trc.POSE2SIM_NAMES`; keypoints without a marker are NaN.

    Returns:
        :class:`Poses` ``(F, 1, K, 3)`` metres (F = 1 for the zero pose) in
        posestack's world axes (Z up; world x, y, z = OpenSim ground Z, X, Y: the
        inverse of the ``.trc`` writer's mapping), space ``"world"``. Fitted by
        :func:`posestack.kinematics.ik.zero_offsets` it gives the angles our IK
        assigns to OpenSim's zero pose (used by
        :func:`~posestack.kinematics.ik.to_opensim`).

    Raises:
        AssetError: OpenSim missing or the model unreadable. InputError: a layout
            with no Pose2Sim setup, an unknown coordinate.
    """
    name, lay = _resolve_layout(layout)
    if name == "lstm":
        raise InputError("model_pose needs a keypoint layout (halpe26, coco17, ...), not 'lstm'")
    frames = [coordinates] if isinstance(coordinates, Mapping) else list(coordinates) or [{}]
    opensim = _import_opensim()
    from .. import assets
    from ..skeletons import get_skeleton

    files = _setup_files(assets.path("opensim_setup"), lay, model)
    skel = get_skeleton(name)
    renames = {v: k for k, v in POSE2SIM_NAMES[lay.names].items()}
    xyz = np.full((len(frames), 1, len(skel), 3), np.nan)
    with tempfile.TemporaryDirectory() as tmp, _console_to(Path(tmp) / "opensim.log"):
        try:
            osim = opensim.Model(str(files["model"]))
            generic = isinstance(model, str) and model in _MODELS
            if generic or osim.getMarkerSet().getSize() == 0:
                osim.set_MarkerSet(opensim.MarkerSet(str(files["markers"])))
            state = osim.initSystem()
        except RuntimeError as exc:
            raise AssetError(f"OpenSim cannot load the model {files['model']}: {exc}") from None
        coords = osim.getCoordinateSet()
        known = {coords.get(i).getName(): coords.get(i) for i in range(coords.getSize())}
        markers = osim.getMarkerSet()
        for f, values in enumerate(frames):
            unknown = sorted(set(values) - set(known))
            if unknown:
                raise InputError(f"unknown coordinate(s) {unknown} in {files['model'].name}")
            for cname, c in known.items():
                rotational = c.getMotionType() == opensim.Coordinate.Rotational
                if cname in values:
                    v = float(values[cname])
                    v = math.radians(v) if rotational else v
                else:
                    v = c.getDefaultValue() if cname in keep_default else 0.0
                c.setValue(state, v, False)
            osim.realizePosition(state)
            for i in range(markers.getSize()):
                mk = markers.get(i)
                key = renames.get(mk.getName())
                if key is not None and key in skel.keypoints:
                    g = mk.getLocationInGround(state)
                    xyz[f, 0, skel.index(key)] = (g.get(2), g.get(0), g.get(1))
    scores = np.isfinite(xyz[..., 0]).astype(np.float32)
    return Poses(skel, xyz, scores, np.arange(len(frames)) / 30.0, "world",
                 meta={"opensim_model": str(files["model"])})


# coordinates whose whole curve (ours against theirs) is measured, with their sweep (degrees)
_CURVES = {"hip_flexion": (-30.0, 120.0), "knee_angle": (0.0, 140.0),
           "ankle_angle": (-40.0, 30.0), "elbow_flex": (0.0, 145.0), "arm_flex": (-60.0, 150.0)}
_CURVE_POINTS = 31


def ik_calibration(layout: str = "halpe26", model: str | os.PathLike = "simple",
                   **fit_options) -> dict:
    """Calibrate posestack's skeletal IK to an OpenSim model, on the model alone.

    1. ``zero``: our angles (:func:`posestack.kinematics.ik.static_angles`) of
       the model's markers in its zero pose (:func:`model_pose`); coordinates
       our fit has no counterpart for (``pro_sup``, ``wrist_*``, ``mtp_*``...
       without hand or toe keypoints) are held at the model's default value,
       where OpenSim's IK leaves them (``pro_sup`` = 90°).
    2. ``curves``: for hip, knee, ankle, elbow and shoulder flexion of each
       side, the coordinate is swept over its range (31 poses, the others at 0)
       and our matching angle is measured (with joint limits, as in a normal
       fit): ``our name -> [ours, theirs]`` (degrees), the increasing part of
       the sweep that ends it (with an oblique elbow axis our angle first
       falls to the carrying angle, then rises; below, the map is extended
       linearly).

    No motion data is used: the result depends on the model and marker set
    only. :func:`posestack.kinematics.ik.to_opensim` applies it.
    ``fit_options`` (``lean``...) should match the fits it will convert.
    """
    from ..kinematics.ik import OPENSIM_NAMES, default_model, static_angles

    # coordinates our fit of this layout has no counterpart for (e.g. pro_sup without
    # hand keypoints) stay at the model's default value, where OpenSim's IK leaves them
    name, _ = _resolve_layout(layout)
    fitted = {OPENSIM_NAMES[d][0] for d in default_model(name).dof_names if d in OPENSIM_NAMES}
    fitted |= {"pelvis_tilt", "pelvis_list", "pelvis_rotation", "pelvis_tx", "pelvis_ty",
               "pelvis_tz"}
    opensim = _import_opensim()
    from .. import assets

    files = _setup_files(assets.path("opensim_setup"), _resolve_layout(layout)[1], model)
    with tempfile.TemporaryDirectory() as tmp, _console_to(Path(tmp) / "opensim.log"):
        osim = opensim.Model(str(files["model"]))
        cs = osim.getCoordinateSet()
        held = [cs.get(i).getName() for i in range(cs.getSize())
                if cs.get(i).getName() not in fitted]
        del cs, osim
    zero = {k: round(float(v[0]), 4) for k, v in
            static_angles(model_pose(layout, model, keep_default=held), **fit_options).items()}
    ours_of = {theirs: ours for ours, (theirs, _) in OPENSIM_NAMES.items()}
    curves: dict[str, list[list[float]]] = {}
    for coord, (lo, hi) in _CURVES.items():
        for side in "lr":
            name = ours_of.get(f"{coord}_{side}")
            if name is None or name not in zero:
                continue
            grid = np.linspace(lo, hi, _CURVE_POINTS)
            poses = model_pose(layout, model, [{f"{coord}_{side}": float(g)} for g in grid],
                               keep_default=held)
            # with limits, as in the fits to convert: a knee or elbow is never negative
            ours = static_angles(poses, **{"limits": True, **fit_options}).get(name)
            if ours is None:
                continue
            # the increasing run that ends the sweep (an oblique elbow axis makes our
            # angle fall first, to the carrying angle, then rise)
            falls = np.flatnonzero(np.diff(ours) <= 0)
            start = int(falls[-1]) + 1 if falls.size else 0
            if _CURVE_POINTS - start < 5:
                log.warning("ik_calibration: %s does not grow with %s_%s; no curve",
                            name, coord, side)
                continue
            curves[name] = [[round(float(v), 4) for v in ours[start:]],
                            [round(float(v), 4) for v in grid[start:]]]
    return {"zero": zero, "curves": curves}
