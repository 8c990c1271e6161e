"""Cameras and their time offsets together, from the people alone.

Calibrating from people needs synchronised views, and synchronising by the geometry needs
a calibration. :func:`calibrate_and_sync` breaks the circle: it calibrates from two
starting guesses of the offsets — none (cameras started together, or nearly) and the
offsets the motion gives (cameras started seconds apart) — keeps the one whose geometry
the most keypoints fit, then alternates synchronising by that geometry and calibrating
again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..multiview.calibration import Calibration
from ..poses import Poses
from .people import PeopleCalibration, calibrate_from_people
from .sync import SyncResult, estimate_offsets
from .timeline import on_timeline


@dataclass
class JointResult:
    """The calibration, the last synchronisation (None when the offsets were given) and
    the offsets used (camera → its frames), and which start won."""

    calibration: PeopleCalibration
    sync: SyncResult | None
    offsets: dict[str, float]
    start: str


def calibrate_and_sync(views: Sequence[Poses], frames: Sequence[np.ndarray],
                       names: Sequence[str], sizes: Sequence[tuple[int, int]],
                       rates: Sequence[float], *, intrinsics: Calibration | None = None,
                       height: float | None = None,
                       offsets: Mapping[str, float] | None = None,
                       rounds: int = 2) -> JointResult:
    """Calibrate cameras from the people and find their offsets.

    Args:
        views, frames: per camera 2D :class:`Poses` and each row's source frame index.
        names, sizes, rates: per camera name, image ``(width, height)`` and frames/s.
        intrinsics, height: as :func:`~posestack.calibrate.people.calibrate_from_people`.
        offsets: known offsets (camera → its frames; Pose2Sim's convention): then the
            cameras are only calibrated.
        rounds: synchronise-then-calibrate rounds after the first calibration.

    Raises:
        InputError: as ``calibrate_from_people`` for every start tried.
    """
    fps = float(max(rates))
    if intrinsics is not None:         # matched and checked once (its warnings said once)
        from .people import lenses

        intrinsics = lenses(intrinsics, names, sizes)

    def calibrate(off: Mapping[str, float]) -> PeopleCalibration:
        aligned = on_timeline(views, frames, [off.get(n, 0.0) for n in names], fps, rates)
        return calibrate_from_people(aligned, sizes, names, intrinsics=intrinsics,
                                     height=height)

    if offsets:
        off = {n: float(offsets.get(n, 0.0)) for n in names}
        return JointResult(calibrate(off), None, off, "given")
    starts: dict[str, dict[str, float]] = {"synchronised": {n: 0.0 for n in names}}
    try:
        motion = estimate_offsets(views, names, rates, frames=frames).offsets
        if any(abs(v) > 1.0 for v in motion.values()):
            starts["motion"] = motion
    except InputError:
        pass                       # too little motion to say: only the first start
    best, best_key, first_error = None, None, None
    for start, off in starts.items():
        try:
            found = calibrate(off)
        except InputError as e:
            first_error = first_error or e
            continue
        key = (min(found.fit.values()), -float(np.mean(list(found.errors.values()))))
        if best_key is None or key > best_key:
            best, best_key, chosen, off_best = found, key, start, off
    if best is None:
        raise first_error
    found, off, sync = best, off_best, None
    for _ in range(rounds):
        sync = estimate_offsets(views, names, rates, frames=frames,
                                calibration=found.calibration)
        off = sync.offsets
        found = calibrate(off)
    return JointResult(found, sync, off, chosen)


__all__ = ["JointResult", "calibrate_and_sync"]
