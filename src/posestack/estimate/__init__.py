"""2D (+ per-model 3D) keypoint estimators, chosen by name.

``make_estimator("blazepose", ...)`` is the one place that maps a name to a
backend. Names: ``blazepose`` (embedded default; MediaPipe's BlazePose full
models on LiteRT).
"""

from __future__ import annotations

from ..errors import InputError

ESTIMATORS = ("blazepose",)
DEVICES = ("cpu",)


def make_estimator(name: str, *, device: str = "cpu", max_people: int = 1,
                   static: bool = False, smooth: bool = True,
                   min_detection_confidence: float = 0.5,
                   min_tracking_confidence: float = 0.5, detect_interval: int = 10,
                   num_threads: int | None = None):
    """Build an estimator by name; :class:`InputError` lists the valid names and devices."""
    if device not in DEVICES:
        raise InputError(f"device {device!r} is not supported by the {name} estimator; "
                         f"valid devices: {', '.join(DEVICES)}")
    match name.lower():
        case "blazepose":
            from .blazepose import BlazePose

            return BlazePose(max_people=max_people, static=static, smooth=smooth,
                             min_detection_confidence=min_detection_confidence,
                             min_tracking_confidence=min_tracking_confidence,
                             detect_interval=detect_interval, num_threads=num_threads)
        case _:
            raise InputError(f"unknown estimator {name!r}; valid estimators: "
                             f"{', '.join(ESTIMATORS)}")
