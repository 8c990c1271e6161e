"""2D (+ per-model 3D) keypoint estimators, chosen by name.

:func:`make_estimator` is the one place that maps a name to a backend:

* ``blazepose`` (default): MediaPipe's BlazePose full model on LiteRT, every person;
* ``holistic``: BlazePose plus both hands and the face mesh (layout ``holistic543``);
* ``rtmw``, ``dwpose``: whole-body (COCO-WholeBody-133) top-down ONNX models;
* ``rtmpose``: body (COCO-17 / Halpe-26) or hand top-down ONNX models;
* ``rtmo``: one-stage ONNX body model.

The ONNX models are the user's files (``model=``; see the README for where to
get them); top-down models take person boxes from ``detector=`` (a YOLOX
``.onnx``) or, by default, from posestack's embedded BlazePose detector.

Every estimator is called as ``est(rgb, time_s)`` and returns a list of people
with at least ``xy (K, 2)`` pixels and ``scores (K,)``; BlazePose-based ones add
``world (33, 3)`` metres and a ``slot``.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import AssetError, InputError

ESTIMATORS = ("blazepose", "holistic", "rtmw", "dwpose", "rtmpose", "rtmo")
PERSON_DETECTORS = ("auto", "ssdlite", "blazepose")
DEVICES = ("cpu",)
_ONNX = {"rtmw", "dwpose", "rtmpose", "rtmo"}
_GET_MODELS = ("see the README section 'ONNX models' for where to download RTMW, DWPose, "
               "RTMPose, RTMO and YOLOX .onnx files")


def make_estimator(name: str, *, device: str = "cpu", max_people: int = 1,
                   static: bool = False, smooth: bool = True,
                   min_detection_confidence: float = 0.5,
                   min_tracking_confidence: float = 0.5, detect_interval: int = 10,
                   num_threads: int | None = None, model: str | Path | None = None,
                   detector: str | Path | None = None, person_detector: str = "auto"):
    """Build an estimator by name; :class:`InputError` lists the valid names and devices.

    ``model``/``detector`` are for the ONNX estimators. ``person_detector``
    (``"auto"``, ``"ssdlite"`` or ``"blazepose"``) finds the people for BlazePose
    and Holistic, and for top-down ONNX models given no ``detector`` file.
    """
    if person_detector not in PERSON_DETECTORS:
        raise InputError(f"unknown person detector {person_detector!r}; valid: "
                         f"{', '.join(PERSON_DETECTORS)}")
    key = name.lower()
    if key not in ESTIMATORS:
        raise InputError(f"unknown estimator {name!r}; valid estimators: {', '.join(ESTIMATORS)}")
    if device not in DEVICES:
        raise InputError(f"device {device!r} is not supported by the {name} estimator; "
                         f"valid devices: {', '.join(DEVICES)}")
    if key not in _ONNX and (model is not None or detector is not None):
        raise InputError(f"--model/--detector are for the ONNX estimators "
                         f"({', '.join(sorted(_ONNX))}); {key} uses its bundled models")
    common = dict(max_people=max_people, static=static, smooth=smooth,
                  min_detection_confidence=min_detection_confidence,
                  min_tracking_confidence=min_tracking_confidence,
                  detect_interval=detect_interval, num_threads=num_threads,
                  person_detector=person_detector)
    match key:
        case "blazepose":
            from .blazepose import BlazePose

            return BlazePose(**common)
        case "holistic":
            from .holistic import Holistic

            return Holistic(**common)
        case _:
            return _onnx_estimator(key, model, detector, max_people, num_threads,
                                   person_detector)


def _onnx_estimator(key: str, model, detector, max_people: int, num_threads: int | None,
                    person_detector: str = "auto"):
    from .rtm import RTMO, RTMEstimator

    if model is None:
        raise InputError(f"the {key} estimator needs its model file: pass --model PATH.onnx "
                         f"({_GET_MODELS})")
    if not Path(model).is_file():
        raise AssetError(f"model file not found: {model} ({_GET_MODELS})")
    if key == "rtmo":
        if detector is not None:
            raise InputError("RTMO finds people itself: drop --detector")
        est = RTMEstimator(model, None, max_people=max_people, num_threads=num_threads)
        if not isinstance(est.pose, RTMO):
            raise AssetError(f"{model} is a top-down model, not RTMO; use --estimator rtmpose, "
                             "rtmw or dwpose for it")
        return est
    default = "ssdlite" if person_detector == "auto" else person_detector
    est = RTMEstimator(model, detector if detector is not None else default,
                       max_people=max_people, num_threads=num_threads)
    if isinstance(est.pose, RTMO):
        raise AssetError(f"{model} is an RTMO one-stage model; use --estimator rtmo")
    layout = est.skeleton_name
    if key in ("rtmw", "dwpose") and layout != "coco_wholebody133":
        raise AssetError(f"--estimator {key} expects a 133-keypoint whole-body model; {model} "
                         f"has the {layout} layout (use --estimator rtmpose for it)")
    if key == "rtmpose" and layout == "coco_wholebody133":
        raise AssetError(f"{model} is a whole-body model; use --estimator rtmw or dwpose")
    return est
