"""Whole body on LiteRT: BlazePose plus both hands and the face, as MediaPipe Holistic.

For every person :class:`~posestack.estimate.blazepose.BlazePose` follows,
the hands and the face are found from the body landmarks the way MediaPipe's
Holistic graph does it (numbers from ``shared/reference/blazepose.md`` §4):

* hand (per side, only if the pose wrist's visibility > 0.1): an ROI around
  the estimated middle finger ``(2·index + pinky)/3`` (×2.7, shifted −0.1),
  the ``hand_recrop`` model's two points give a tighter ROI (×1.0, shifted
  −0.1), which in video mode gives way to the ROI of the previous frame's hand
  landmarks while the two agree (RoiTracking: 40°, 0.2, 0.4, margin −0.1); the
  hand landmark model (224×224) returns 21 points and its presence (> 0.5);
* face: an ROI around pose landmarks 0–10 (×3, rotated eye to eye), the
  short-range face detector (128×128, 896 anchors) inside it, an ROI from the
  detector's six keypoints (×2, shifted −0.1), or in video mode the ROI of the
  previous face landmarks (×1.5; RoiTracking 15°, 0.1, 0.3, margin −0.2); the
  face mesh model (192×192) returns 468 points and its presence (> 0.5).

The output layout is ``holistic543``: BlazePose-33, left hand 21, right hand
21, face mesh 468 (the person's left and right). Scores: body points carry
BlazePose's visibility, hand and face points their model's presence
probability; a part not found is NaN with score 0.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AssetError
from .blazepose import (
    BlazePose,
    PersonPose,
    Roi,
    _load_interpreter,
    _sigmoid,
    align_points,
    crop_to_tensor,
    normalize_radians,
    project_from_roi,
    ssd_anchors,
    transform_roi,
    weighted_nms,
)

N_HAND = 21
N_FACE = 468
N_HOLISTIC = 33 + 2 * N_HAND + N_FACE

# pose landmark indices (wrist, pinky, index) of each hand, by the person's side
_POSE_HAND = {"left": (15, 17, 19), "right": (16, 18, 20)}
HAND_WRIST_VISIBILITY = 0.1
HAND_PRESENCE = 0.5
FACE_PRESENCE = 0.5
FACE_DET_SIZE = 128
FACE_DET_STRIDES = (8, 16, 16, 16)
FACE_DET_SCORE = 0.5
_HAND_SUBSET = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)


@dataclass(frozen=True)
class TrackingRequirements:
    """RoiTrackingCalculator options: when the previous frame's ROI may be kept."""

    rotation_deg: float
    translation: float
    scale: float
    margin: float


HAND_TRACKING = TrackingRequirements(40.0, 0.2, 0.4, -0.1)
FACE_TRACKING = TrackingRequirements(15.0, 0.1, 0.3, -0.2)


def keep_tracking(prev: Roi, prev_xy: np.ndarray, recrop: Roi,
                  req: TrackingRequirements) -> bool:
    """MediaPipe's RoiTracking decision, in pixels.

    True when the ROI from the previous landmarks (``prev``) is close to the
    current re-crop ROI (rotation, translation and size along the re-crop
    ROI's axes) and every previous landmark ``(L, 2)`` lies inside the re-crop
    ROI grown by ``margin`` (a negative margin shrinks it).
    """
    diff = math.degrees(prev.rot - recrop.rot)
    if diff > 180.0:
        diff -= 360.0
    if diff < -180.0:
        diff += 360.0
    c, s = math.cos(-recrop.rot), math.sin(-recrop.rot)

    def rot(x: np.ndarray | float, y: np.ndarray | float):
        return x * c - y * s, x * s + y * c

    px, py = rot(prev.xc, prev.yc)
    rx, ry = rot(recrop.xc, recrop.yc)
    if (abs(diff) > req.rotation_deg or abs(px - rx) > recrop.w * req.translation
            or abs(py - ry) > recrop.h * req.translation
            or abs(prev.w - recrop.w) > recrop.w * req.scale
            or abs(prev.h - recrop.h) > recrop.h * req.scale):
        return False
    hw = recrop.w * (1.0 + req.margin) / 2.0
    hh = recrop.h * (1.0 + req.margin) / 2.0
    lx, ly = rot(prev_xy[:, 0], prev_xy[:, 1])
    return bool(np.all((rx - hw < lx) & (lx < rx + hw) & (ry - hh < ly) & (ly < ry + hh)))


def box_roi(points: np.ndarray, rot: float) -> Roi:
    """DetectionsToRects: the axis-aligned min/max box of ``(N, 2)`` points, with ``rot``."""
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return Roi(float(x0 + x1) / 2, float(y0 + y1) / 2, float(x1 - x0), float(y1 - y0), rot)


def rotation_between(a: np.ndarray, b: np.ndarray, target_deg: float) -> float:
    """Rotation that makes the direction a→b point at ``target_deg`` (pixels, y down)."""
    return normalize_radians(math.radians(target_deg)
                             - math.atan2(-float(b[1] - a[1]), float(b[0] - a[0])))


def hand_roi_from_pose(wrist: np.ndarray, pinky: np.ndarray, index: np.ndarray) -> Roi:
    """HandDetectionsFromPoseToRects + RectTransformation (×2.7, shift −0.1)."""
    middle = (2.0 * index + pinky) / 3.0
    size = 2.0 * float(np.hypot(*(middle - wrist)))
    roi = Roi(float(middle[0]), float(middle[1]), size, size,
              rotation_between(wrist, middle, 90.0))
    return transform_roi(roi, 2.7, 2.7, shift_y=-0.1)


def hand_roi_from_landmarks(xy: np.ndarray) -> Roi:
    """HandLandmarksToRect on the 12-point subset, then ×2.0, shift −0.1 (pixels)."""
    sub = xy[list(_HAND_SUBSET)]
    target = ((sub[4] + sub[8]) / 2.0 + sub[6]) / 2.0  # index, ring, middle MCPs
    rot = rotation_between(sub[0], target, 90.0)
    centre = (sub.min(axis=0) + sub.max(axis=0)) / 2.0
    c, s = math.cos(-rot), math.sin(-rot)
    d = sub - centre
    px = d[:, 0] * c - d[:, 1] * s
    py = d[:, 0] * s + d[:, 1] * c
    pcx, pcy = (px.max() + px.min()) / 2.0, (py.max() + py.min()) / 2.0
    cr, sr = math.cos(rot), math.sin(rot)
    xc = pcx * cr - pcy * sr + centre[0]
    yc = pcx * sr + pcy * cr + centre[1]
    roi = Roi(float(xc), float(yc), float(px.max() - px.min()), float(py.max() - py.min()), rot)
    return transform_roi(roi, 2.0, 2.0, shift_y=-0.1)


def face_roi_from_pose(body_xy: np.ndarray) -> Roi:
    """Face ROI from pose landmarks 0–10: their box, eye-to-eye rotation, ×3."""
    pts = body_xy[:11]
    return transform_roi(box_roi(pts, rotation_between(pts[5], pts[2], 0.0)), 3.0, 3.0)


def face_roi_from_landmarks(xy: np.ndarray) -> Roi:
    """Face ROI from 468 mesh points: their box, rotation 33→263, ×1.5."""
    return transform_roi(box_roi(xy, rotation_between(xy[33], xy[263], 0.0)), 1.5, 1.5)


def _project(xy01: np.ndarray, roi: Roi, pad: tuple[float, float, float, float]) -> np.ndarray:
    left, top, right, bottom = pad
    xy = (xy01 - [left, top]) / [1.0 - left - right, 1.0 - top - bottom]
    return project_from_roi(xy, roi)


class _Model:
    """A LiteRT model with one square RGB input; outputs looked up by name."""

    def __init__(self, path: Path, size: int, what: str, asset: str, threads: int,
                 outputs: tuple[str, ...]) -> None:
        self.interp = _load_interpreter(path, threads, size, what, asset)
        names = {d["name"]: d["index"] for d in self.interp.get_output_details()}
        missing = [n for n in outputs if n not in names]
        if missing:
            raise AssetError(f"{path} is not {what}: it lacks the outputs {missing} "
                             f"(has {sorted(names)}). Use the asset {asset}")
        self._in = self.interp.get_input_details()[0]["index"]
        self._out = [names[n] for n in outputs]
        self.size = size
        # One interpreter serves every person: two people's same-side hands (or faces)
        # reach it from the pool's threads, and LiteRT refuses overlapping invokes.
        self._lock = threading.Lock()

    def __call__(self, tensor: np.ndarray) -> list[np.ndarray]:
        with self._lock:
            self.interp.set_tensor(self._in, tensor)
            self.interp.invoke()
            return [np.array(self.interp.get_tensor(i)) for i in self._out]


@dataclass
class HandResult:
    xy: np.ndarray        # (21, 2) pixels
    z: np.ndarray         # (21,) pixels, relative to the wrist (MediaPipe's z · image width)
    presence: float
    handedness: float     # the model's "Left" score; for an unmirrored image, P(person's right)
    roi: Roi


@dataclass
class FaceResult:
    xy: np.ndarray        # (468, 2) pixels
    z: np.ndarray         # (468,) pixels
    presence: float
    roi: Roi


@dataclass
class HolisticPerson:
    """One person's whole body in one frame (layout ``holistic543``)."""

    slot: int
    xy: np.ndarray        # (543, 2) pixels: body 33, left hand 21, right hand 21, face 468
    scores: np.ndarray    # (543,) in [0, 1]
    world: np.ndarray     # (33, 3) metres: BlazePose world landmarks
    body: PersonPose
    left_hand: HandResult | None
    right_hand: HandResult | None
    face: FaceResult | None

    @property
    def score(self) -> float:
        return self.body.score


@dataclass
class _PartState:
    prev_xy: np.ndarray | None = None


@dataclass
class _PersonState:
    parts: dict[str, _PartState] = field(default_factory=lambda: {
        "left": _PartState(), "right": _PartState(), "face": _PartState()})


class Holistic:
    """BlazePose + hands + face for every person (MediaPipe Holistic's method).

    Args are those of :class:`~posestack.estimate.blazepose.BlazePose`, plus the
    paths of the hand, hand re-crop, face detector and face mesh models
    (default: the cached assets). Call it on successive RGB uint8 frames with
    their times (seconds); it returns one :class:`HolisticPerson` per person.
    """

    skeleton_name = "holistic543"
    has_world = True  # the body's 33 world landmarks

    def __init__(self, *, max_people: int = 1, static: bool = False, smooth: bool = True,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 detect_interval: int = 10, num_threads: int | None = None,
                 hand_path: Path | str | None = None, hand_recrop_path: Path | str | None = None,
                 face_detector_path: Path | str | None = None,
                 face_path: Path | str | None = None, person_detector: str = "auto") -> None:
        from .. import assets

        threads = num_threads if num_threads is not None else 1
        # With more than one thread the hands and face run in a pool beside the body
        # (about two cores' worth of work); the body model gets the threads beyond two.
        # Its own threads would otherwise compete with the pool's, and wait on them.
        self.body = BlazePose(max_people=max_people, static=static, smooth=smooth,
                              min_detection_confidence=min_detection_confidence,
                              min_tracking_confidence=min_tracking_confidence,
                              detect_interval=detect_interval,
                              num_threads=max(1, threads - 2),
                              person_detector=person_detector)

        paths = {
            "hand_landmark_full": hand_path, "hand_recrop": hand_recrop_path,
            "face_detection_short_range": face_detector_path, "face_landmark": face_path,
        }
        files = {k: Path(v) if v else assets.path(k) for k, v in paths.items()}
        # With more than one thread the two hands and the face run at the same time, each
        # on its own single-threaded interpreters (LiteRT releases the GIL while invoking).
        part_threads = 1 if threads > 1 else threads
        self._pool = ThreadPoolExecutor(max_workers=3) if threads > 1 else None
        self.hand = {side: _Model(files["hand_landmark_full"], 224,
                                  "the MediaPipe hand landmark model", "hand_landmark_full",
                                  part_threads, ("Identity", "Identity_1", "Identity_2"))
                     for side in _POSE_HAND}
        self.recrop = {side: _Model(files["hand_recrop"], 256, "the Holistic hand re-crop model",
                                    "hand_recrop", part_threads, ("output_crop",))
                       for side in _POSE_HAND}
        self.face_det = _Model(files["face_detection_short_range"], FACE_DET_SIZE,
                               "the short-range face detector", "face_detection_short_range",
                               part_threads, ("regressors", "classificators"))
        self.face = _Model(files["face_landmark"], 192, "the face mesh model", "face_landmark",
                           part_threads, ("conv2d_21", "conv2d_31"))
        self.face_anchors = ssd_anchors(FACE_DET_SIZE, FACE_DET_STRIDES)
        self.model_files = {**self.body.model_files, **files}
        self._state: dict[int, _PersonState] = {}

    @property
    def static(self) -> bool:
        return self.body.static

    @static.setter
    def static(self, value: bool) -> None:
        self.body.static = bool(value)

    def reset(self) -> None:
        """Forget everyone (call between unrelated videos)."""
        self.body.reset()
        self._state = {}

    @property
    def stats(self) -> dict[str, int]:
        """The body's detector counts (see :attr:`BlazePose.stats`)."""
        return self.body.stats

    def __call__(self, image: np.ndarray, time: float | None = None) -> list[HolisticPerson]:
        """Whole-body landmarks of every person in one RGB uint8 ``(H, W, 3)`` frame."""
        return self._gather(self._start_parts(image, self.body(image, time)))

    def stream(self, frames: Iterable[tuple[np.ndarray, float]]
               ) -> Iterator[list[HolisticPerson]]:
        """Results for ``(rgb, time_s)`` frames in order, as calling on each in turn.

        With more than one thread, the body model of the next frame runs while
        the hands and face of the current one are being found (their ROIs need
        only the current body), so the two overlap; the results are the same.
        """
        pending = None
        for image, t in frames:
            people = self.body(image, t)
            if pending is not None:
                yield self._gather(pending)
            pending = self._start_parts(image, people)
        if pending is not None:
            yield self._gather(pending)

    def _start_parts(self, image: np.ndarray, people: list[PersonPose]) -> list[tuple]:
        """Start (in the pool) or run the hands and face of every person."""
        live = {p.slot for p in people}
        self._state = {k: v for k, v in self._state.items() if k in live}
        jobs = []
        for p in people:
            state = _PersonState() if self.static else self._state.setdefault(
                p.slot, _PersonState())
            tasks = [(self._hand, side) for side in _POSE_HAND] + [(self._face, "face")]
            if self._pool is not None:
                done = [self._pool.submit(fn, image, p, part, state.parts[part])
                        for fn, part in tasks]
            else:
                done = [fn(image, p, part, state.parts[part]) for fn, part in tasks]
            jobs.append((p, done))
        return jobs

    @staticmethod
    def _gather(jobs: list[tuple]) -> list[HolisticPerson]:
        out = []
        for p, done in jobs:
            left, right, face = (d.result() if isinstance(d, Future) else d for d in done)
            xy = np.full((N_HOLISTIC, 2), np.nan, np.float32)
            sc = np.zeros(N_HOLISTIC, np.float32)
            xy[:33], sc[:33] = p.xy, p.visibility
            for off, h in ((33, left), (33 + N_HAND, right)):
                if h is not None:
                    xy[off:off + N_HAND], sc[off:off + N_HAND] = h.xy, h.presence
            if face is not None:
                xy[33 + 2 * N_HAND:], sc[33 + 2 * N_HAND:] = face.xy, face.presence
            out.append(HolisticPerson(p.slot, xy, sc, p.world, p, left, right, face))
        return out

    # -- hands ---------------------------------------------------------------------------

    def _hand(self, image: np.ndarray, p: PersonPose, side: str,
              state: _PartState) -> HandResult | None:
        wi, pi, ii = _POSE_HAND[side]
        if not p.visibility[wi] > HAND_WRIST_VISIBILITY:
            state.prev_xy = None
            return None
        xy = p.xy.astype(np.float64)
        roi0 = hand_roi_from_pose(xy[wi], xy[pi], xy[ii])
        if roi0.w < 2.0:
            state.prev_xy = None
            return None
        tensor, pad, padded = crop_to_tensor(image, roi0, 256, True, (0.0, 1.0), False)
        pts = self.recrop[side](tensor)[0].reshape(2, 2).astype(np.float64) / 256.0
        kp = _project(pts, padded, pad)
        recrop = transform_roi(align_points(kp[0], kp[1], -90.0), 1.0, 1.0, shift_y=-0.1)
        roi = recrop
        if state.prev_xy is not None:
            prev = hand_roi_from_landmarks(state.prev_xy)
            if keep_tracking(prev, state.prev_xy, recrop, HAND_TRACKING):
                roi = prev
        if roi.w < 2.0:
            state.prev_xy = None
            return None
        tensor, pad, padded = crop_to_tensor(image, roi, 224, True, (0.0, 1.0), False)
        lm, presence, handedness = self.hand[side](tensor)
        presence = float(presence.reshape(-1)[0])
        if not presence > HAND_PRESENCE:
            state.prev_xy = None
            return None
        raw = lm.reshape(N_HAND, 3).astype(np.float64)
        hxy = _project(raw[:, :2] / 224.0, padded, pad)
        left, _, right, _ = pad
        z = raw[:, 2] / 224.0 / 0.4 / (1.0 - left - right) * padded.w
        state.prev_xy = None if self.static else hxy
        return HandResult(hxy.astype(np.float32), z.astype(np.float32), presence,
                          float(handedness.reshape(-1)[0]), roi)

    # -- face ----------------------------------------------------------------------------

    def _detect_face(self, image: np.ndarray, roi: Roi) -> np.ndarray | None:
        tensor, pad, padded = crop_to_tensor(image, roi, FACE_DET_SIZE, True, (-1.0, 1.0), True)
        raw, logits = self.face_det(tensor)
        raw, logits = raw[0], logits[0, :, 0]
        scores = _sigmoid(np.clip(logits, -100.0, 100.0))
        keep = scores >= FACE_DET_SCORE
        if not keep.any():
            return None
        raw, scores, anchors = raw[keep], scores[keep], self.face_anchors[keep]
        xc = raw[:, 0] / FACE_DET_SIZE + anchors[:, 0]
        yc = raw[:, 1] / FACE_DET_SIZE + anchors[:, 1]
        bw, bh = raw[:, 2] / FACE_DET_SIZE, raw[:, 3] / FACE_DET_SIZE
        ok = (bw >= 0) & (bh >= 0)
        boxes = np.stack([xc - bw / 2, yc - bh / 2, xc + bw / 2, yc + bh / 2], axis=1)[ok]
        kps = (raw[:, 4:16].reshape(-1, 6, 2) / FACE_DET_SIZE + anchors[:, None, :])[ok]
        if not len(kps):
            return None
        _, kps, _ = weighted_nms(boxes, kps, scores[ok])
        return _project(kps[0], padded, pad)

    def _face(self, image: np.ndarray, p: PersonPose, _part: str,
              state: _PartState) -> FaceResult | None:
        roi0 = face_roi_from_pose(p.xy.astype(np.float64))
        if roi0.w < 2.0:
            state.prev_xy = None
            return None
        kp = self._detect_face(image, roi0)
        if kp is None:
            state.prev_xy = None
            return None
        recrop = transform_roi(box_roi(kp, rotation_between(kp[0], kp[1], 0.0)), 2.0, 2.0,
                               shift_y=-0.1)
        roi = recrop
        if state.prev_xy is not None:
            prev = face_roi_from_landmarks(state.prev_xy)
            if keep_tracking(prev, state.prev_xy, recrop, FACE_TRACKING):
                roi = prev
        tensor, _, padded = crop_to_tensor(image, roi, 192, False, (0.0, 1.0), False)
        lm, flag = self.face(tensor)
        presence = float(_sigmoid(np.float64(flag.reshape(-1)[0])))
        if not presence > FACE_PRESENCE:
            state.prev_xy = None
            return None
        raw = lm.reshape(N_FACE, 3).astype(np.float64)
        fxy = project_from_roi(raw[:, :2] / 192.0, padded)
        z = raw[:, 2] / 192.0 * padded.w
        state.prev_xy = None if self.static else fxy
        return FaceResult(fxy.astype(np.float32), z.astype(np.float32), presence, roi)
