"""BlazePose on LiteRT: MediaPipe's models, our own pre- and post-processing.

The two models (``pose_detection.tflite`` and ``pose_landmark_full.tflite``
from the mediapipe 0.10.21 wheel) run on the LiteRT interpreter
(``ai-edge-litert``). Everything around them is written here from the numbers
in MediaPipe's graphs (sources in ``shared/reference/blazepose.md``):

1. detection: letterbox to 224×224 in [-1, 1], 2254 SSD anchors, sigmoid
   scores, weighted non-maximum suppression (IoU 0.3), letterbox removal;
2. detection → ROI: centre at the hip keypoint, size 2·|kp1 − kp0|·1.25,
   rotation so that kp1 is "up";
3. landmarks: rotated crop to 256×256 in [0, 1], 39 landmarks with heatmap
   refinement (7×7 window), projection back to the image, 33 world landmarks
   (metres, hip-centred) rotated back by the ROI angle;
4. video mode: each person's next ROI comes from the (one-euro filtered)
   auxiliary landmarks 33/34, and the detector runs again only when a person
   is lost, or every ``detect_interval`` frames while fewer than
   ``max_people`` are followed.

Unlike MediaPipe's Pose solution, every person the detector finds (up to
``max_people``) gets landmarks.

Conventions: image pixels, origin top-left, x right, y down, OpenCV pixel
centres; rotations in radians; world landmarks in metres, origin between the
hips, x right, y down, z towards the camera negative (MediaPipe's GHUM frame).
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import AssetError, InputError
from ..filters import LowPass, OneEuro
from ..track import inside_fraction as _inside

N_LANDMARKS = 33
_N_RAW = 39

# --- pose_detection_cpu.pbtxt -------------------------------------------------
DET_SIZE = 224
DET_STRIDES = (8, 16, 32, 32, 32)
DET_NMS_IOU = 0.3
DET_SCORE_CLIP = 100.0
# --- pose_detection_to_roi.pbtxt / pose_landmarks_to_roi.pbtxt ----------------
ROI_SCALE = 1.25
# --- pose_landmark_by_roi_cpu.pbtxt --------------------------------------------
LM_SIZE = 256
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5
# --- pose_landmark_filtering.pbtxt --------------------------------------------
VISIBILITY_ALPHA = 0.1
LANDMARK_FILTER = dict(min_cutoff=0.05, beta=80.0, d_cutoff=1.0)
WORLD_FILTER = dict(min_cutoff=0.1, beta=40.0, d_cutoff=1.0)
AUX_FILTER = dict(min_cutoff=0.01, beta=10.0, d_cutoff=1.0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def normalize_radians(a: float) -> float:
    """Wrap an angle to [-π, π)."""
    return a - 2.0 * math.pi * math.floor((a + math.pi) / (2.0 * math.pi))


@dataclass(frozen=True)
class Roi:
    """A rotated rectangle in image pixels: centre, size, rotation (radians)."""

    xc: float
    yc: float
    w: float
    h: float
    rot: float

    def box(self) -> tuple[float, float, float, float]:
        """Axis-aligned bounding box (x0, y0, x1, y1) of the rotated rectangle."""
        c, s = abs(math.cos(self.rot)), abs(math.sin(self.rot))
        hw = 0.5 * (self.w * c + self.h * s)
        hh = 0.5 * (self.w * s + self.h * c)
        return (self.xc - hw, self.yc - hh, self.xc + hw, self.yc + hh)


def ssd_anchors(input_size: int = DET_SIZE, strides: tuple[int, ...] = DET_STRIDES,
                ) -> np.ndarray:
    """Anchor centres of MediaPipe's SSD anchor generator with fixed anchor size.

    Layers of equal stride are merged; each layer adds two anchors per cell
    (aspect ratio 1 plus the interpolated one). Order: stride group, row, column,
    anchor. Returns float32 ``(N, 2)`` (x, y) in [0, 1]; N = 2254 for BlazePose.
    """
    out = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = 2 * (j - i)
        fm = math.ceil(input_size / strides[i])
        ys, xs = np.meshgrid((np.arange(fm) + 0.5) / fm, (np.arange(fm) + 0.5) / fm,
                             indexing="ij")
        cells = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(cells, per_cell, axis=0))
        i = j
    return np.concatenate(out).astype(np.float32)


def crop_to_tensor(image: np.ndarray, roi: Roi, size: int, keep_aspect: bool,
                   value_range: tuple[float, float], border_zero: bool,
                   ) -> tuple[np.ndarray, tuple[float, float, float, float], Roi]:
    """MediaPipe's ImageToTensor (CPU): rotated ROI crop → float32 tensor.

    Args:
        image: uint8 RGB ``(H, W, 3)``.
        roi: the region in pixels.
        size: square output side in pixels.
        keep_aspect: letterbox the ROI to the tensor aspect (enlarging it).
        value_range: pixel 0..255 maps linearly onto this range.
        border_zero: pad with 0 (→ range min) instead of replicating the edge.

    Returns:
        tensor ``(1, size, size, 3)`` float32, letterbox padding
        (left, top, right, bottom) as fractions of the tensor, and the padded ROI.
    """
    pad = (0.0, 0.0, 0.0, 0.0)
    if keep_aspect:
        roi_aspect = roi.h / roi.w
        tensor_aspect = 1.0
        if tensor_aspect > roi_aspect:
            vp = (1.0 - roi_aspect / tensor_aspect) / 2.0
            roi = Roi(roi.xc, roi.yc, roi.w, roi.w * tensor_aspect, roi.rot)
            pad = (0.0, vp, 0.0, vp)
        else:
            hp = (1.0 - tensor_aspect / roi_aspect) / 2.0
            roi = Roi(roi.xc, roi.yc, roi.h / tensor_aspect, roi.h, roi.rot)
            pad = (hp, 0.0, hp, 0.0)
    src = cv2.boxPoints(((roi.xc, roi.yc), (roi.w, roi.h), math.degrees(roi.rot)))
    dst = np.array([[0, size], [0, 0], [size, 0]], dtype=np.float32)
    m = cv2.getAffineTransform(src[:3].astype(np.float32), dst)
    lo, hi = value_range
    border = cv2.BORDER_CONSTANT if border_zero else cv2.BORDER_REPLICATE
    crop = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=border,
                          borderValue=(0, 0, 0))
    tensor = crop.astype(np.float32)
    tensor *= (hi - lo) / 255.0
    tensor += lo
    return tensor[None], pad, roi


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 iou_threshold: float = DET_NMS_IOU,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's WEIGHTED non-maximum suppression.

    Args:
        boxes: ``(N, 4)`` (x0, y0, x1, y1). keypoints: ``(N, M, 2)``. scores: ``(N,)``.

    Returns the merged boxes, keypoints and scores, best first. Each output is
    the score-weighted mean of the detections with IoU > ``iou_threshold``
    with the best remaining one; its score is that best detection's score.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    area = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0,
                                                                   None)
    remaining = np.arange(len(scores))
    out_b, out_k, out_s = [], [], []
    while remaining.size:
        top = remaining[0]
        b = boxes[remaining]
        ix0 = np.maximum(b[:, 0], boxes[top, 0])
        iy0 = np.maximum(b[:, 1], boxes[top, 1])
        ix1 = np.minimum(b[:, 2], boxes[top, 2])
        iy1 = np.minimum(b[:, 3], boxes[top, 3])
        inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
        union = area[remaining] + area[top] - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
        cand = iou > iou_threshold
        cand[0] = True
        idx = remaining[cand]
        w = scores[idx][:, None]
        total = w.sum()
        out_b.append((boxes[idx] * w).sum(0) / total)
        out_k.append((keypoints[idx] * w[:, :, None]).sum(0) / total)
        out_s.append(scores[top])
        remaining = remaining[~cand]
    if not out_s:
        return (np.zeros((0, 4), np.float32), np.zeros((0, *keypoints.shape[1:]), np.float32),
                np.zeros((0,), np.float32))
    return np.array(out_b), np.array(out_k), np.array(out_s)


def align_points(center: np.ndarray, scale_point: np.ndarray, target_deg: float = 90.0) -> Roi:
    """MediaPipe's AlignmentPointsRects in pixels.

    A square of side ``2·|scale_point − center|`` centred on ``center``,
    rotated so that the direction centre→scale_point points at ``target_deg``
    (90° = up, −90° = down, 0° = right).
    """
    dx = float(scale_point[0] - center[0])
    dy = float(scale_point[1] - center[1])
    size = 2.0 * math.hypot(dx, dy)
    rot = normalize_radians(math.radians(target_deg) - math.atan2(-dy, dx))
    return Roi(float(center[0]), float(center[1]), size, size, rot)


def transform_roi(roi: Roi, scale_x: float = 1.0, scale_y: float = 1.0, shift_x: float = 0.0,
                  shift_y: float = 0.0, square_long: bool = True) -> Roi:
    """MediaPipe's RectTransformation in pixels: shift along the rotated axes
    (fractions of the ROI's width/height), make square on the long side, then scale."""
    c, s = math.cos(roi.rot), math.sin(roi.rot)
    xc = roi.xc + roi.w * shift_x * c - roi.h * shift_y * s
    yc = roi.yc + roi.w * shift_x * s + roi.h * shift_y * c
    w, h = roi.w, roi.h
    if square_long:
        w = h = max(w, h)
    return Roi(xc, yc, w * scale_x, h * scale_y, roi.rot)


def roi_from_points(center: np.ndarray, scale_point: np.ndarray, target_deg: float = 90.0,
                    scale: float = ROI_SCALE) -> Roi:
    """BlazePose's person ROI: :func:`align_points` then :func:`transform_roi` (×``scale``)."""
    return transform_roi(align_points(center, scale_point, target_deg), scale, scale)


def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray, kernel: int = HEATMAP_KERNEL,
                        min_confidence: float = HEATMAP_MIN_CONFIDENCE) -> np.ndarray:
    """MediaPipe's RefineLandmarksFromHeatmap on tensor-normalised landmarks.

    Args:
        xy: ``(L, 2)`` landmark x, y as fractions of the crop.
        heatmap: ``(Hh, Wh, L)`` logits.

    Returns refined ``(L, 2)``: the sigmoid-weighted mean cell index over a
    ``kernel``² window (clipped at the edges) divided by the map size, where
    the window's max sigmoid ≥ ``min_confidence``. As in MediaPipe, a
    landmark whose row lies past the map's last row is not skipped (the
    upstream bounds check compares the column twice).
    """
    hh, hw, _ = heatmap.shape
    out = xy.copy()
    off = (kernel - 1) // 2
    cols = np.trunc(xy[:, 0] * hw).astype(np.int64)
    rows = np.trunc(xy[:, 1] * hh).astype(np.int64)
    # The upstream bounds check tests the column twice, so rows past the end pass;
    # their window is whatever part of the map it still covers (often none).
    ok = (cols >= 0) & (cols < hw) & (rows >= 0) & (rows < hh + off)
    idx = np.nonzero(ok)[0]
    if idx.size == 0:
        return out
    span = np.arange(kernel) - off
    rr = rows[idx, None] + span  # (n, k) map rows
    cc = cols[idx, None] + span
    # Window cells outside the map weigh 0 (the upstream window is clipped at the edges).
    inside = (((rr >= 0) & (rr < hh))[:, :, None] & ((cc >= 0) & (cc < hw))[:, None, :])
    win = heatmap[np.clip(rr, 0, hh - 1)[:, :, None], np.clip(cc, 0, hw - 1)[:, None, :],
                  idx[:, None, None]].astype(np.float64)
    conf = np.where(inside, 1.0 / (1.0 + np.exp(-np.clip(win, -80.0, 80.0))), 0.0)
    total = conf.sum(axis=(1, 2))
    refine = (conf.max(axis=(1, 2)) >= min_confidence) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    x = (conf * cc[:, None, :]).sum(axis=(1, 2)) / hw / safe
    y = (conf * rr[:, :, None]).sum(axis=(1, 2)) / hh / safe
    out[idx[refine], 0] = x[refine]
    out[idx[refine], 1] = y[refine]
    return out


def project_from_roi(xy: np.ndarray, roi: Roi) -> np.ndarray:
    """Crop-normalised ``(L, 2)`` → image pixels through the rotated ROI."""
    c, s = math.cos(roi.rot), math.sin(roi.rot)
    dx = xy[:, 0] - 0.5
    dy = xy[:, 1] - 0.5
    x = (c * dx - s * dy) * roi.w + roi.xc
    y = (s * dx + c * dy) * roi.h + roi.yc
    return np.stack([x, y], axis=1)


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for the block (C++ log lines, not exceptions)."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _load_interpreter(model_path: Path, num_threads: int, input_size: int, what: str,
                      asset: str, keep_outputs: Callable[[str, tuple[int, ...]], bool] | None
                      = None):
    """A LiteRT interpreter for a model whose one input is ``(1, size, size, 3)``.

    ``keep_outputs(name, shape)``: the outputs the caller reads; the others, and the
    operators that compute only them, are left out (:func:`._tflite.prune_outputs`;
    the outputs kept are unchanged). None keeps the whole model.

    A file that is not a TFLite model, or a model with another input, raises
    :class:`AssetError` naming the asset that should be used.
    """
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as e:  # pragma: no cover - core dependency
        raise AssetError("ai-edge-litert is not installed: pip install ai-edge-litert") from e
    source: dict[str, Any] = {"model_path": str(model_path)}
    if keep_outputs is not None:
        from ._tflite import prune_outputs

        try:
            data = Path(model_path).read_bytes()
        except OSError as e:
            raise AssetError(f"cannot read {model_path}: {e.strerror or e}") from None
        try:
            source = {"model_content": prune_outputs(data, keep_outputs)}
        except (ValueError, IndexError, struct.error, UnicodeDecodeError):
            source = {"model_content": data}  # not a model we can edit: LiteRT will say why
    try:
        with _native_stderr_silenced():  # LiteRT prints an INFO line per interpreter
            interp = Interpreter(**source, num_threads=num_threads)
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        raise AssetError(
            f"{model_path} is not a loadable TFLite model ({e}). Re-fetch it with "
            f"`posestack assets fetch {asset}` or pass the right .tflite file"
        ) from e
    inp = interp.get_input_details()
    want = (1, input_size, input_size, 3)
    if len(inp) != 1 or tuple(inp[0]["shape"]) != want:
        raise AssetError(
            f"{model_path} is not {what}: expected one input of shape {want}, got "
            f"{[tuple(d['shape']) for d in inp]}. Use the asset {asset}"
        )
    return interp


@dataclass
class Detection:
    """One person detection in image pixels: face box, 4 keypoints, score."""

    box: np.ndarray        # (4,) x0, y0, x1, y1 pixels
    keypoints: np.ndarray  # (4, 2) pixels: hip centre, full-body scale point, shoulders, ...
    score: float

    def roi(self) -> Roi:
        return roi_from_points(self.keypoints[0], self.keypoints[1])


class PoseDetector:
    """BlazePose person detector (``pose_detection.tflite``)."""

    def __init__(self, model_path: Path, min_score: float = 0.5, num_threads: int = 1) -> None:
        self.interp = _load_interpreter(model_path, num_threads, DET_SIZE,
                                        "the BlazePose detector", "blazepose_detector")
        outs = self.interp.get_output_details()
        by_shape = {tuple(d["shape"])[-1]: d["index"] for d in outs}
        if 12 not in by_shape or 1 not in by_shape:
            raise AssetError(f"{model_path}: unexpected detector outputs "
                             f"{[tuple(d['shape']) for d in outs]}")
        self._in = self.interp.get_input_details()[0]["index"]
        self._boxes = by_shape[12]
        self._scores = by_shape[1]
        self.anchors = ssd_anchors()
        self.min_score = float(min_score)

    def __call__(self, image: np.ndarray) -> list[Detection]:
        """Detect people in an RGB uint8 ``(H, W, 3)`` image, best first."""
        h, w = image.shape[:2]
        whole = Roi(w / 2.0, h / 2.0, float(w), float(h), 0.0)
        tensor, pad, _ = crop_to_tensor(image, whole, DET_SIZE, True, (-1.0, 1.0), True)
        self.interp.set_tensor(self._in, tensor)
        self.interp.invoke()
        raw = self.interp.get_tensor(self._boxes)[0]
        logits = self.interp.get_tensor(self._scores)[0, :, 0]
        scores = _sigmoid(np.clip(logits, -DET_SCORE_CLIP, DET_SCORE_CLIP))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        raw, scores, anchors = raw[keep], scores[keep], self.anchors[keep]
        xc = raw[:, 0] / DET_SIZE + anchors[:, 0]
        yc = raw[:, 1] / DET_SIZE + anchors[:, 1]
        bw = raw[:, 2] / DET_SIZE
        bh = raw[:, 3] / DET_SIZE
        ok = (bw >= 0) & (bh >= 0)
        boxes = np.stack([xc - bw / 2, yc - bh / 2, xc + bw / 2, yc + bh / 2], axis=1)[ok]
        kps = (raw[:, 4:12].reshape(-1, 4, 2) / DET_SIZE + anchors[:, None, :])[ok]
        boxes, kps, scores = weighted_nms(boxes, kps, scores[ok])
        left, top, right, bottom = pad
        sx, sy = 1.0 - left - right, 1.0 - top - bottom
        boxes = (boxes - [left, top, left, top]) / [sx, sy, sx, sy] * [w, h, w, h]
        kps = (kps - [left, top]) / [sx, sy] * [w, h]
        return [Detection(boxes[i].astype(np.float64), kps[i].astype(np.float64),
                          float(scores[i])) for i in range(len(scores))]


@dataclass
class LandmarkResult:
    """The landmark model's output for one ROI (pixels and metres)."""

    xy: np.ndarray          # (33, 2) pixels
    z: np.ndarray           # (33,) pixels, relative depth (MediaPipe's z·image width)
    visibility: np.ndarray  # (33,)
    presence: np.ndarray    # (33,)
    world: np.ndarray       # (33, 3) metres
    aux: np.ndarray         # (2, 2) pixels: auxiliary landmarks 33, 34
    flag: float             # pose presence probability


class PoseLandmarker:
    """BlazePose landmark model (``pose_landmark_full.tflite``)."""

    def __init__(self, model_path: Path, num_threads: int = 1) -> None:
        want = {"landmarks": (1, _N_RAW * 5), "flag": (1, 1), "heatmap": (1, 64, 64, _N_RAW),
                "world": (1, _N_RAW * 3)}
        # Without the segmentation mask (256x256, unused here): a third less CPU per call.
        self.interp = _load_interpreter(model_path, num_threads, LM_SIZE,
                                        "a BlazePose landmark model", "blazepose_landmark_full",
                                        keep_outputs=lambda _, shape: shape in want.values())
        by_shape = {tuple(d["shape"]): d["index"] for d in self.interp.get_output_details()}
        missing = [k for k, s in want.items() if s not in by_shape]
        if missing:
            raise AssetError(f"{model_path}: landmark model outputs {sorted(by_shape)} lack "
                             f"{missing}")
        self._in = self.interp.get_input_details()[0]["index"]
        self._out = {k: by_shape[s] for k, s in want.items()}

    def __call__(self, image: np.ndarray, roi: Roi) -> LandmarkResult:
        """Run on the ROI of an RGB uint8 image."""
        tensor, _, roi = crop_to_tensor(image, roi, LM_SIZE, True, (0.0, 1.0), False)
        self.interp.set_tensor(self._in, tensor)
        self.interp.invoke()
        get = self.interp.get_tensor
        flag = float(get(self._out["flag"]).reshape(-1)[0])
        raw = get(self._out["landmarks"]).reshape(_N_RAW, 5).astype(np.float64)
        heat = get(self._out["heatmap"])[0]
        world = get(self._out["world"]).reshape(_N_RAW, 3)[:N_LANDMARKS].astype(np.float64)
        xy = raw[:, :2] / LM_SIZE
        xy = refine_from_heatmap(xy, heat)
        pix = project_from_roi(xy, roi)
        c, s = math.cos(roi.rot), math.sin(roi.rot)
        wx = c * world[:, 0] - s * world[:, 1]
        wy = s * world[:, 0] + c * world[:, 1]
        return LandmarkResult(
            xy=pix[:N_LANDMARKS], z=raw[:N_LANDMARKS, 2] / LM_SIZE * roi.w,
            visibility=_sigmoid(raw[:N_LANDMARKS, 3]), presence=_sigmoid(raw[:N_LANDMARKS, 4]),
            world=np.stack([wx, wy, world[:, 2]], axis=1), aux=pix[33:35], flag=flag,
        )


@dataclass
class PersonPose:
    """One person in one frame: what :class:`BlazePose` returns."""

    slot: int               # stable index while the person is followed (< max_people)
    xy: np.ndarray          # (33, 2) pixels
    visibility: np.ndarray  # (33,) in [0, 1]
    presence: np.ndarray    # (33,) in [0, 1]
    world: np.ndarray       # (33, 3) metres, hip-centred
    score: float            # pose presence probability

    @property
    def scores(self) -> np.ndarray:
        """Per-keypoint confidence ``(33,)``: the visibility (as every estimator's ``scores``)."""
        return self.visibility


@dataclass
class _Track:
    slot: int
    roi: Roi
    last_xy: np.ndarray | None = None
    last_vis: np.ndarray | None = None
    aux_filter: OneEuro = field(default_factory=lambda: OneEuro(**AUX_FILTER))
    lm_filter: OneEuro = field(default_factory=lambda: OneEuro(**LANDMARK_FILTER))
    world_filter: OneEuro = field(default_factory=lambda: OneEuro(**WORLD_FILTER))
    vis_filter: LowPass = field(default_factory=LowPass)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class BlazePose:
    """Multi-person BlazePose (full model) on LiteRT.

    Args:
        max_people: most people followed per frame.
        static: treat every frame as an unrelated image (detect every frame,
            no smoothing), like MediaPipe's ``static_image_mode``.
        smooth: one-euro smoothing of landmarks in video mode (MediaPipe's
            default). The auxiliary ROI landmarks are always smoothed.
        min_detection_confidence: detector score threshold.
        min_tracking_confidence: a person is dropped (and the detector runs
            again) when the landmark model's presence is not above this.
        detect_interval: in video mode, frames between detector runs while
            fewer than ``max_people`` are followed (0: only when someone is lost).
        num_threads: interpreter threads per model.
        detector_path, landmark_path: model files; default: the cached assets.

    Call it on successive RGB uint8 ``(H, W, 3)`` frames with their times
    (seconds); it returns one :class:`PersonPose` per person found.
    """

    skeleton_name = "blazepose33"
    has_world = True  # people carry 33 world landmarks in metres

    def __init__(self, *, max_people: int = 1, static: bool = False, smooth: bool = True,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 detect_interval: int = 10, num_threads: int | None = None,
                 detector_path: Path | str | None = None,
                 landmark_path: Path | str | None = None,
                 person_detector: str = "auto") -> None:
        if max_people < 1:
            raise InputError(f"max_people must be ≥ 1; got {max_people}")
        for name, v in (("min_detection_confidence", min_detection_confidence),
                        ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= v <= 1.0:
                raise InputError(f"{name} must be in [0, 1]; got {v}")
        from .. import assets

        det = Path(detector_path) if detector_path else assets.path("blazepose_detector")
        lm = Path(landmark_path) if landmark_path else assets.path("blazepose_landmark_full")
        for p in (det, lm):
            if not p.is_file():
                raise AssetError(f"model file {p} does not exist")
        if person_detector not in PERSON_DETECTORS:
            raise InputError(f"person_detector {person_detector!r} is not valid; choose one "
                             f"of: {', '.join(PERSON_DETECTORS)}")
        threads = num_threads if num_threads is not None else 1
        self.detector = PoseDetector(det, min_detection_confidence, threads)
        self.landmarker = PoseLandmarker(lm, threads)
        self.model_files = {"blazepose_detector": det, "blazepose_landmark_full": lm}
        self.person_detector = person_detector
        self.boxes = None
        if person_detector in ("auto", "ssdlite"):
            from ..detect import TiledPersonDetector

            # one thread: the same boxes on every run (results never depend on threads)
            self.boxes = TiledPersonDetector(num_threads=1)
            self.model_files["ssdlite_person_detector"] = self.boxes.detector.path
        self.max_people = int(max_people)
        self.static = bool(static)
        self.smooth = bool(smooth)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.detect_interval = int(detect_interval)
        self.reset()

    def reset(self) -> None:
        """Forget all followed people (call between unrelated videos)."""
        self._tracks: list[_Track] = []
        self._since_detect = 0
        self._hunt = 0
        self._searches = 0
        self._since_full = EMPTY_SEARCH_INTERVAL  # the first search is a full one
        self.stats = {"detector_runs": 0, "split_poses": 0, "recovered": 0}

    def _free_slot(self, new: list | None = None) -> int:
        used = {t.slot for t in self._tracks} | {t.slot for t, _ in new or []}
        return next(i for i in range(self.max_people) if i not in used)

    def _candidates(self, image: np.ndarray, full: bool = True, own_only: bool = False,
                    ) -> tuple[list[list[Roi]], np.ndarray]:
        """Person ROIs from the chosen detector(s), best first, and the boxes ``(N, 4)``.

        ``full``: also search the square tiles (a light search looks at the whole
        frame only). ``own_only``: BlazePose's detections on the whole frame alone (no
        SSDLite, no tiles): the first, cheap look when one more person is wanted.

        Each candidate person is a list of ROIs to try in turn (a box may hold
        several people's BlazePose detections: the one nearest its centre first).

        ``auto`` takes BlazePose's own detections first (on the whole image, then on
        its square tiles), then a ROI inside each
        SSDLite box (:meth:`_rois_in_box`); the boxes gain the BlazePose
        detections that no box explains (the same person when the box's square
        and the BlazePose ROI's square overlap by IoU > 0.4).
        """
        rois: list[list[Roi]] = []
        boxes = np.zeros((0, 4))
        use_boxes = self.boxes is not None and not own_only
        if use_boxes:
            boxes, scores = self.boxes(image) if full else self.boxes.detector(image)
            # the most prominent people first (score × √area): with max_people=1 the
            # main subject, not a confident small figure in the background
            order = np.argsort(-scores * np.sqrt(np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)),
                               kind="stable")
            boxes = boxes[order]
        if self.person_detector in ("auto", "blazepose"):
            # MediaPipe's own detections come first (where it fires, its ROI is the
            # reference one); the boxes then add the people it missed. A candidate
            # that repeats a person already found is dropped by _detect_new.
            squares = [_square(b) for b in boxes]
            extra = []
            dets = list(self.detector(image))
            if self.person_detector == "auto" and full and not own_only:
                # and on the square tiles: a person a third of the frame tall is too small
                # for the detector's 224-pixel view of a whole wide (or tall) frame
                from ..detect import square_tiles

                h, w = image.shape[:2]
                for x0, y0, side in square_tiles(w, h):
                    tile = np.ascontiguousarray(image[y0:y0 + side, x0:x0 + side])
                    shift = np.array([x0, y0], np.float64)
                    dets += [Detection(d.box + np.tile(shift, 2), d.keypoints + shift,
                                       d.score) for d in self.detector(tile)]
            seen: list[tuple[float, float, float, float]] = []
            for d in dets:
                roi = d.roi()
                if roi.w <= 1.0 or any(_iou(roi.box(), b) > 0.5 for b in seen):
                    continue
                seen.append(roi.box())
                rois.append([roi])
                if not any(_iou(roi.box(), sq) > 0.4 for sq in squares):
                    extra.append(roi.box())
            if extra:
                boxes = np.vstack([boxes, extra])
        if use_boxes:
            # a box that is the landmark box of someone followed needs no new ROI
            followed = [_landmark_box(t.last_xy) for t in self._tracks if t.last_xy is not None]
            rois += [self._rois_in_box(image, b) for b in boxes[:len(order)]
                     if not any(_iou(tuple(b), f) > 0.7 for f in followed)]
        self.stats["detector_runs"] += 1
        return rois, boxes

    def _rois_in_box(self, image: np.ndarray, box: np.ndarray, out: int = 448) -> list[Roi]:
        """BlazePose ROIs for the person in ``box``: its detector run on a crop.

        The crop is the box's square ×1.5 (zero-padded at the image border),
        resampled to ``out`` pixels; each detection whose hip centre lies in the box
        gives a rotated ROI (rotation and scale from the body, as MediaPipe's),
        nearest the box centre first (in a box around two overlapping people, the
        one it is centred on); last, the upright square around the box
        (:func:`roi_from_box`).
        """
        x0, y0, x1, y1 = (float(v) for v in box)
        side = 1.5 * max(x1 - x0, y1 - y0)
        if side < 8:
            return [roi_from_box(box)]
        k = out / side
        cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        ox, oy = cx - side / 2, cy - side / 2
        m = np.array([[k, 0.0, -ox * k], [0.0, k, -oy * k]])
        crop = cv2.warpAffine(image, m, (out, out), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        found = []
        for d in self.detector(crop):
            hip = d.keypoints[0] / k + [ox, oy]
            if x0 <= hip[0] <= x1 and y0 <= hip[1] <= y1:
                det = Detection(d.box / k + [ox, oy, ox, oy], d.keypoints / k + [ox, oy],
                                d.score)
                found.append((abs(hip[0] - cx) / (x1 - x0 + 1e-9), det.roi()))
        found.sort(key=lambda fr: fr[0])
        return [roi for _, roi in found[:2]] + [roi_from_box(box)]

    def _detect_new(self, image: np.ndarray,
                    ) -> tuple[np.ndarray, list[tuple[_Track, LandmarkResult]]]:
        """Start following the people the detector finds and nobody followed explains.

        Each candidate ROI is tried with the landmark model (as MediaPipe does on a
        detection frame); an upright ROI made from a bare box is refined once from
        the pose's own alignment points. Returns the detection boxes ``(N, 4)`` and
        the new people's tracks with their landmarks for this frame.
        """
        # The periodic search for more people alternates a full search (tiles too) with
        # a light one (whole frame); the first search, and searches for someone lost,
        # are full.
        full = not self._tracks or self._hunt > 0 or self._searches % 2 == 0
        self._searches += 1
        self._since_detect = 0
        if not self._tracks:
            # Nobody followed (an empty stretch, someone out of view): BlazePose's own
            # whole-frame detection every frame, as MediaPipe does; the person detector
            # and the tiles (about ten times its cost) every EMPTY_SEARCH_INTERVAL frames.
            if self._since_full < EMPTY_SEARCH_INTERVAL:
                self._since_full += 1
                return self._search(image, full=False,
                                    own_only=self.person_detector != "ssdlite")
            self._since_full = 1
        if self.person_detector == "auto" and self.max_people - len(self._tracks) == 1:
            # one more person wanted: BlazePose's own detection of the whole frame comes
            # first in the candidates anyway; where it finds someone new, the person
            # detector and the tiles (most of a search's cost) are not needed
            rois, boxes = self._candidates(image, full, own_only=True)
            new = self._follow_new(image, rois)
            if new:
                return boxes, new
        return self._search(image, full)

    def _search(self, image: np.ndarray, full: bool, own_only: bool = False,
                ) -> tuple[np.ndarray, list[tuple[_Track, LandmarkResult]]]:
        rois, boxes = self._candidates(image, full, own_only=own_only)
        return boxes, self._follow_new(image, rois)

    def _follow_new(self, image: np.ndarray, rois: list[list[Roi]],
                    ) -> list[tuple[_Track, LandmarkResult]]:
        """Tracks for the candidate ROIs (best first) whose landmarks find someone new."""
        followed = [(t.last_xy, t.last_vis) for t in self._tracks if t.last_xy is not None]
        rois_followed = [t.roi.box() for t in self._tracks]
        new: list[tuple[_Track, LandmarkResult]] = []
        for group in rois:
            if len(self._tracks) + len(new) >= self.max_people:
                break
            for roi in group:
                if any(_iou(roi.box(), f) > 0.6 for f in rois_followed):
                    continue  # the region of someone we already follow
                res = self.landmarker(image, roi)
                if roi.rot == 0.0 and res.flag > self.min_tracking_confidence:
                    roi = roi_from_points(res.aux[0], res.aux[1])  # bare box: refine once
                    res = self.landmarker(image, roi)
                if res.flag <= self.min_tracking_confidence:
                    continue
                if any(_same_person(res.xy, res.visibility, xy, vis) for xy, vis in followed):
                    continue  # the landmarks found someone we already follow
                track = _Track(self._free_slot(new), roi)
                new.append((track, res))
                followed.append((res.xy, res.visibility))
                rois_followed.append(roi.box())
                break
        return new

    def __call__(self, image: np.ndarray, time: float | None = None) -> list[PersonPose]:
        """Landmarks of every person in one RGB uint8 frame.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
            time: seconds since the start of the video (video mode smoothing);
                ignored in static mode.

        Returns: people sorted by slot.
        """
        if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3
                and image.dtype == np.uint8):
            raise InputError("image must be a uint8 RGB array of shape (H, W, 3); got "
                             f"{getattr(image, 'dtype', type(image))} "
                             f"{getattr(image, 'shape', '')}")
        if self.static:
            self.reset()
        boxes = None
        new: list[tuple[_Track, LandmarkResult]] = []
        # After losing someone (an occlusion, two tracks merged into one), look for them
        # every few frames for a while: the people followed no longer explain the image.
        interval = min(self.detect_interval, HUNT_INTERVAL) if self._hunt > 0 \
            else self.detect_interval
        self._hunt = max(self._hunt - 1, 0)
        if not self._tracks or (
            len(self._tracks) < self.max_people and interval > 0
            and self._since_detect >= interval
        ):
            boxes, new = self._detect_new(image)
        else:
            self._since_detect += 1
        t = 0.0 if time is None else float(time)
        results: list[tuple[_Track, LandmarkResult]] = []
        for track in self._tracks:
            res = self.landmarker(image, track.roi)
            if res.flag > self.min_tracking_confidence:
                results.append((track, res))
        results += new
        if boxes is not None and len(boxes) > 1:
            results = [self._one_person(image, track, res, boxes) for track, res in results]
            results = [(tr, r) for tr, r in results if r is not None]
        # Two followed ROIs that converged on one person: keep the more confident. (Two
        # people who overlap in the image keep both: their landmarks differ.)
        results.sort(key=lambda tr: -tr[1].flag)
        kept: list[tuple[_Track, LandmarkResult]] = []
        for track, res in results:
            if not any(_same_person(res.xy, res.visibility, r.xy, r.visibility)
                       for _, r in kept):
                kept.append((track, res))
        lost = len(kept) < len(self._tracks) + len(new)
        people = [self._finish(track, res, t) for track, res in kept]
        self._tracks = [track for track, _ in kept]
        if self._tracks:  # when everyone is lost, the first search is a full one
            self._since_full = EMPTY_SEARCH_INTERVAL
        if lost:
            self._since_detect = max(self._since_detect, self.detect_interval)
            self._hunt = HUNT_FRAMES
        return sorted(people, key=lambda p: p.slot)

    def _one_person(self, image: np.ndarray, track: _Track, res: LandmarkResult,
                    boxes: np.ndarray) -> tuple[_Track, LandmarkResult | None]:
        """Check that one pose's landmarks belong to one detected person.

        With the frame's person boxes at hand, a pose whose visible landmarks fall
        mostly outside its best box while a fair share lies in another box joins
        two people (a head and an arm of one, the legs of the other): its ROI is
        reset to its best box and the landmark model run again; a pose that still
        spans two people is dropped (the detector picks the people up again).
        """
        share = _box_shares(res.xy, res.visibility, boxes)
        if share.size == 0:
            return track, res
        best = int(np.argmax(share))
        others = np.delete(share, best)
        if share[best] >= 0.8 or others.size == 0 or others.max() < 0.25:
            return track, res
        self.stats["split_poses"] += 1
        roi = roi_from_box(boxes[best])
        res2 = self.landmarker(image, roi)
        if res2.flag > self.min_tracking_confidence:
            share2 = _box_shares(res2.xy, res2.visibility, boxes)
            if share2.size and share2[best] >= 0.8:
                track.roi = roi
                self.stats["recovered"] += 1
                return track, res2
        return track, None

    def _finish(self, track: _Track, res: LandmarkResult, t: float) -> PersonPose:
        xy, vis, world = res.xy, res.visibility, res.world
        aux = res.aux
        if not self.static:
            scale = 2.0 * float(np.hypot(*(res.aux[1] - res.aux[0])))
            if scale > 1e-6:
                aux = track.aux_filter(res.aux, t, 1.0 / scale)
                if self.smooth:
                    xy = track.lm_filter(res.xy, t, 1.0 / scale)
                    world = track.world_filter(res.world, t)
                    vis = track.vis_filter(res.visibility, VISIBILITY_ALPHA)
            track.roi = roi_from_points(aux[0], aux[1])
        track.last_xy = xy
        track.last_vis = vis
        return PersonPose(track.slot, xy.astype(np.float32), vis.astype(np.float32),
                          res.presence.astype(np.float32), world.astype(np.float32),
                          res.flag)


PERSON_DETECTORS = ("auto", "ssdlite", "blazepose")
# After a person is lost: detect every HUNT_INTERVAL frames for HUNT_FRAMES frames.
HUNT_INTERVAL = 3
HUNT_FRAMES = 30
# While nobody is followed: the full search (person detector and tiles) every this many
# frames, BlazePose's own whole-frame detection in between.
EMPTY_SEARCH_INTERVAL = 5


def roi_from_box(box: np.ndarray, scale: float = ROI_SCALE) -> Roi:
    """An upright square landmark ROI around a person box ``(x0, y0, x1, y1)`` pixels.

    Side: the box's long side × ``scale`` (BlazePose's 1.25 margin).
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0) * scale
    return Roi(0.5 * (x0 + x1), 0.5 * (y0 + y1), side, side, 0.0)


def _square(box: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in box)
    r = 0.5 * max(x1 - x0, y1 - y0)
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    return (cx - r, cy - r, cx + r, cy + r)


_HEAD = np.arange(0, 13)  # face points and both shoulders


def _same_person(a_xy: np.ndarray, a_vis: np.ndarray, b_xy: np.ndarray, b_vis: np.ndarray,
                 tol: float = 0.1, min_visibility: float = 0.5) -> bool:
    """Whether two landmark sets ``(33, 2)`` are one person seen twice.

    They are when the median distance between their landmarks visible in both is
    below ``tol`` × the larger landmark box side, and so is that of their heads and
    shoulders. Box overlap is not enough: a person in front of another overlaps
    them without sharing their landmarks; and the landmark model puts the hidden
    legs of a person behind onto the legs of the one in front, so legs alone
    coinciding do not make one person. With fewer than 5 landmarks visible in
    both, the boxes must overlap by IoU > 0.7.
    """
    ok_a = (a_vis >= min_visibility) & np.isfinite(a_xy).all(axis=1)
    ok_b = (b_vis >= min_visibility) & np.isfinite(b_xy).all(axis=1)
    both = ok_a & ok_b
    if both.sum() < 5:
        return _iou(_landmark_box(a_xy), _landmark_box(b_xy)) > 0.7
    size = max(float(np.ptp(a_xy[both], axis=0).max()), float(np.ptp(b_xy[both], axis=0).max()),
               1.0)
    dist = np.linalg.norm(a_xy - b_xy, axis=1)
    head_ok = np.isfinite(dist[_HEAD])
    head = float(np.median(dist[_HEAD][head_ok])) if head_ok.any() else 0.0
    if float(np.median(dist[both])) < tol * size and head < tol * size:
        return True
    # Two unsteady estimates of one bending person: much the same region, heads near;
    # or nearly the same region whatever the heads (one estimate upside down in a flip).
    box_a, box_b = _landmark_box(a_xy), _landmark_box(b_xy)
    box_iou = _iou(box_a, box_b)
    if (box_iou > 0.6 and head < 2.5 * tol * size) or box_iou > 0.75:
        return True
    # A fragment: a small pose inside the other, made of its parts (a box around
    # someone's legs gives a "person" whose landmarks all lie on that someone).
    return _fragment_of(a_xy, ok_a, box_a, b_xy, ok_b, box_b) or _fragment_of(
        b_xy, ok_b, box_b, a_xy, ok_a, box_a)


def _fragment_of(a_xy: np.ndarray, ok_a: np.ndarray, box_a: tuple, b_xy: np.ndarray,
                 ok_b: np.ndarray, box_b: tuple) -> bool:
    """Whether pose ``a`` is a piece of pose ``b``: its box ≥ 85% inside ``b``'s and at
    most 0.6 of its height, and ≥ 60% of its visible landmarks within 8% of ``b``'s
    height of one of ``b``'s visible landmarks."""
    h_a, h_b = box_a[3] - box_a[1], box_b[3] - box_b[1]
    if not (ok_a.sum() >= 5 and ok_b.sum() >= 5 and h_b > 0 and h_a <= 0.6 * h_b
            and _inside(box_a, box_b) >= 0.85):
        return False
    d = np.linalg.norm(a_xy[ok_a][:, None] - b_xy[ok_b][None], axis=-1).min(axis=1)
    return float(np.mean(d < 0.08 * h_b)) >= 0.6


def _box_shares(xy: np.ndarray, visibility: np.ndarray, boxes: np.ndarray,
                min_visibility: float = 0.5, margin: float = 0.1) -> np.ndarray:
    """Fraction of a pose's visible landmarks ``(33, 2)`` inside each box ``(N, 4)``.

    Boxes are grown by ``margin`` of their size on every side (hands and feet stick
    out of tight detector boxes). Returns ``(N,)``; empty when nothing is visible.
    """
    vis = (visibility >= min_visibility) & np.isfinite(xy).all(axis=1)
    if vis.sum() < 4 or len(boxes) == 0:
        return np.zeros(0)
    b = np.asarray(boxes, np.float64)
    m = margin * np.stack([b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1)
    lo, hi = b[:, :2] - m, b[:, 2:] + m
    p = xy[vis][None]  # (1, V, 2)
    inside = ((p >= lo[:, None]) & (p <= hi[:, None])).all(axis=2)  # (N, V)
    return inside.mean(axis=1)


def _landmark_box(xy: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0 = np.nanmin(xy, axis=0)
    x1, y1 = np.nanmax(xy, axis=0)
    return (float(x0), float(y0), float(x1), float(y1))
