"""RTMPose / RTMW / DWPose (top-down SimCC), RTMO and YOLOX on ONNX Runtime (CPU).

The models are the ONNX exports published by OpenMMLab (mmdeploy) and used by
rtmlib; this module writes its own pre- and post-processing from the numbers in
mmpose / rtmlib / Megvii YOLOX (facts sheet: ``shared/reference/rtm_and_skeletons.md``
§1–§4, §7):

* :class:`TopDownPose` — one person per box: box → centre and size × ``padding``
  (1.25), enlarged to the model's aspect ratio, affine crop (bilinear, black
  border) to the model input, ``(pixel − mean) / std`` with mean (123.675,
  116.28, 103.53), std (58.395, 57.12, 57.375), NCHW float32; SimCC decode =
  argmax of ``simcc_x`` ``(P, K, W·2)`` and ``simcc_y`` ``(P, K, H·2)`` divided by the
  split ratio 2, back to the image through the aspect-fixed padded box; score =
  mean (rtmlib) or min (mmpose, DWPose) of the two maxima. All persons of a
  frame go through the network in one call when its batch axis is dynamic.
* :class:`YoloxDetector` — person boxes from either YOLOX flavour: mmdeploy's
  end2end export (``dets`` ``(1, N, 5)`` [+ ``labels``], NMS inside the graph) or
  Megvii's raw export (``(1, A, 5 + C)``: grid decode with strides 8/16/32,
  score = objectness · person-class score, our own NMS).
* :class:`RTMO` — one-stage multi-person model (``dets`` ``(1, N, 5)`` and
  ``keypoints`` ``(1, N, K, 3)``), letterboxed input.
* :class:`RTMEstimator` — a pose model plus an optional detector (``None``:
  one person, the whole image; ``"blazepose"``: the cached BlazePose detector;
  a path: a YOLOX ``.onnx``), called per frame like
  :class:`~posestack.estimate.blazepose.BlazePose`.

Colour order. Top-down models were trained on **RGB** crops (mmpose
``bgr_to_rgb=True``); rtmlib, mmpose's ORT example and DWPose feed OpenCV's BGR
frames with the same RGB-ordered mean/std (rtmlib issue #48).
``flip_rgb=True`` (default) feeds RGB as in training; ``flip_rgb=False`` feeds
BGR, bit-compatible with rtmlib. YOLOX and RTMO take raw 0–255 **BGR** values
(no normalisation), letterboxed at the top-left of a canvas filled with 114.

Conventions: image pixels, origin at the top-left pixel's centre, x right, y
down (OpenCV); boxes are ``(x1, y1, x2, y2)`` pixels; keypoint locations come
from SimCC bins as rtmlib does (crop x = bin / split ratio, no half-pixel
shift). Shapes: P persons, K keypoints. A keypoint whose score is ≤ 0 has no
location (NaN), as mmpose and rtmlib mark it −1.

Getting real models (needs internet; posestack does not download them). The
rtmlib / OpenMMLab zips each hold one ``.onnx`` file (mmdeploy's ``end2end.onnx``):

* whole body (133 keypoints, COCO-WholeBody), RTMW from the RTMPose zoo:
  https://download.openmmlab.com/mmpose/v1/projects/rtmw/onnx_sdk/rtmw-dw-x-l_simcc-cocktail14_270e-384x288_20231122.zip
  (a 256×192 variant: ``rtmw-dw-x-l_simcc-cocktail14_270e-256x192_20231122.zip``);
* DWPose (133 keypoints, 384×288) and its Megvii YOLOX-L detector, from the
  Hugging Face repository ``yzd-v/DWPose``:
  https://huggingface.co/yzd-v/DWPose/resolve/main/dw-ll_ucoco_384.onnx and
  https://huggingface.co/yzd-v/DWPose/resolve/main/yolox_l.onnx;
* body (17 keypoints, COCO), RTMPose-m body7:
  https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/onnx_sdk/rtmpose-m_simcc-body7_pt-body7_420e-256x192-e48f03d0_20230504.zip;
* RTMO-m body7 (one-stage, no detector needed):
  https://download.openmmlab.com/mmpose/v1/projects/rtmo/onnx_sdk/rtmo-m_16xb16-600e_body7-640x640-39e78cc4_20231211.zip;
* person detector YOLOX-m HumanArt (end2end, NMS in the graph):
  https://download.openmmlab.com/mmpose/v1/projects/rtmposev1/onnx_sdk/yolox_m_8xb8-300e_humanart-c2c7a14a.zip.

Unzip and pass the ``.onnx`` files with ``--model`` (pose) and ``--detector``
(YOLOX), or in Python::

    est = RTMEstimator("rtmw-dw-x-l_384x288.onnx", detector="yolox_m_humanart.onnx")
    people = est(frame_rgb)          # list[Person2D]

The kind of each file is recognised from its outputs; a file passed in the
wrong place raises :class:`~posestack.errors.AssetError` saying what it is and
where it belongs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as _ort_state

from ..detect._nms import nms
from ..errors import AssetError, InputError

if TYPE_CHECKING:
    from ..detect import TiledPersonDetector
    from .blazepose import PoseDetector

log = logging.getLogger(__name__)

__all__ = [
    "PADDING",
    "RTMO",
    "SIMCC_MEAN",
    "SIMCC_STD",
    "SKELETON_BY_KEYPOINTS",
    "OnnxModel",
    "Person2D",
    "RTMEstimator",
    "TensorInfo",
    "TopDownPose",
    "YoloxDetector",
    "blazepose_boxes",
    "box_center_scale",
    "crop_matrix",
    "crop_people",
    "crop_to_image",
    "fix_aspect_ratio",
    "letterbox",
    "model_kind",
    "nms",
    "normalise_crops",
    "simcc_decode",
    "skeleton_for_keypoints",
    "yolox_decode",
]

# --- mmpose PoseDataPreprocessor (RTMPose / RTMW / DWPose configs), RGB order -----------
SIMCC_MEAN = (123.675, 116.28, 103.53)
SIMCC_STD = (58.395, 57.12, 57.375)
# --- mmpose GetBBoxCenterScale default -------------------------------------------------
PADDING = 1.25
# --- YOLOX preproc / rtmlib letterbox --------------------------------------------------
LETTERBOX_VALUE = 114
YOLOX_STRIDES = (8, 16, 32)
PERSON_CLASS = 0

SKELETON_BY_KEYPOINTS: Mapping[int, str] = MappingProxyType({
    17: "coco17",              # RTMPose body7, RTMO
    21: "hand21",              # RTMPose hand5
    26: "halpe26",             # RTMPose body7-halpe26
    133: "coco_wholebody133",  # RTMW, DWPose
})
"""Number of keypoints K of a model → posestack skeleton name."""

ScoreMode = Literal["mean", "min"]
SCORE_MODES = ("mean", "min")

ModelKind = Literal["simcc", "rtmo", "yolox_end2end", "yolox_raw", "sequence", "unknown"]

_KIND_TEXT = {
    "simcc": "a top-down SimCC pose model (RTMPose / RTMW / DWPose)",
    "rtmo": "an RTMO one-stage pose model",
    "yolox_end2end": "a YOLOX person detector with NMS in the graph (mmdeploy end2end)",
    "yolox_raw": "a raw YOLOX detector (Megvii export)",
    "sequence": "a sequence model, not an image model (input (N, T, F); e.g. OpenCap's "
                "marker-augmenter LSTM)",
    "unknown": "an ONNX model of a kind posestack does not know",
}
_KIND_FIX = {
    "simcc": "Pass it as the pose model (--model; RTMEstimator's pose_model).",
    "rtmo": "Pass it as the pose model (--model; RTMEstimator's pose_model) without a "
            "detector.",
    "yolox_end2end": "Pass it as the person detector (--detector; RTMEstimator's detector) "
                     "and give an RTMPose / RTMW / DWPose / RTMO .onnx as the pose model.",
    "yolox_raw": "Pass it as the person detector (--detector; RTMEstimator's detector) and "
                 "give an RTMPose / RTMW / DWPose / RTMO .onnx as the pose model.",
    "sequence": "posestack runs OpenCap's marker augmenter itself (`posestack run VIDEOS "
                "--calibration FILE --opensim --augment`, or posestack.biomech.augment); "
                "--model takes an RTMPose / RTMW / DWPose / RTMO .onnx.",
    "unknown": "posestack runs RTMPose / RTMW / DWPose (SimCC), RTMO and YOLOX ONNX exports; "
               "the docstring of posestack.estimate.rtm lists where to get them.",
}
_EXPECT_SIMCC = ("a top-down SimCC pose model (one input (N, 3, H, W); outputs simcc_x "
                 "(N, K, W·2) and simcc_y (N, K, H·2))")
_EXPECT_RTMO = ("an RTMO model (one input (1, 3, H, W); outputs dets (1, N, 5) and "
                "keypoints (1, N, K, 3))")
_EXPECT_YOLOX = ("a YOLOX person detector (one input (1, 3, H, W); outputs dets (1, N, 5) "
                 "[+ labels (1, N)], or one raw output (1, A, 5 + classes))")
_EXPECT_POSE = "a pose model (top-down SimCC: RTMPose / RTMW / DWPose, or RTMO)"

_ORT_ERRORS = (_ort_state.Fail, _ort_state.InvalidArgument, _ort_state.InvalidGraph,
               _ort_state.InvalidProtobuf, _ort_state.NoSuchFile, _ort_state.NotImplemented,
               _ort_state.RuntimeException, RuntimeError)


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Person2D:
    """One person in one frame: what :class:`TopDownPose`, :class:`RTMO` and
    :class:`RTMEstimator` return.

    ``score`` is the mean of ``scores`` for every backend, so it compares across
    them; ``box_score`` is the detector's confidence in ``box`` (NaN when the box
    came from the caller or is the whole image).
    """

    box: np.ndarray     # (4,) float32 x1, y1, x2, y2 pixels: the person's box
    xy: np.ndarray      # (K, 2) float32 pixels; NaN where the model gives no location
    scores: np.ndarray  # (K,) float32: SimCC maxima (top-down) or visibility (RTMO)
    score: float        # mean of scores
    box_score: float    # detector score, NaN if none


def _person(box: np.ndarray, xy: np.ndarray, scores: np.ndarray, box_score: float) -> Person2D:
    return Person2D(np.asarray(box, np.float32), np.asarray(xy, np.float32),
                    np.asarray(scores, np.float32), float(np.mean(scores)), float(box_score))


# --------------------------------------------------------------------------------------
# Pure functions: crops, SimCC decode, letterbox, YOLOX decode, NMS
# --------------------------------------------------------------------------------------


def skeleton_for_keypoints(k: int, source: str = "the model") -> str:
    """Skeleton name for a model with ``k`` keypoints (see :data:`SKELETON_BY_KEYPOINTS`).

    Raises:
        AssetError: ``k`` is not a supported count (the message lists them).

    Example:
        >>> skeleton_for_keypoints(133)
        'coco_wholebody133'
    """
    try:
        return SKELETON_BY_KEYPOINTS[int(k)]
    except KeyError:
        valid = ", ".join(f"{n} ({s})" for n, s in sorted(SKELETON_BY_KEYPOINTS.items()))
        raise AssetError(f"{source} gives {k} keypoints per person; posestack knows the "
                         f"layouts for {valid}") from None


def box_center_scale(boxes: np.ndarray, padding: float = PADDING,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """mmpose ``GetBBoxCenterScale``: ``(P, 4)`` xyxy boxes → centres and padded sizes.

    Returns ``centers`` ``(P, 2)`` and ``scales`` ``(P, 2)`` (width, height) in pixels,
    the box size times ``padding``.

    Example:
        >>> c, s = box_center_scale(np.array([[10.0, 20.0, 50.0, 100.0]]))
        >>> c.tolist(), s.tolist()
        ([[30.0, 60.0]], [[50.0, 100.0]])
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    centers = 0.5 * (boxes[:, :2] + boxes[:, 2:])
    scales = (boxes[:, 2:] - boxes[:, :2]) * padding
    return centers, scales


def fix_aspect_ratio(scales: np.ndarray, aspect: float) -> np.ndarray:
    """Enlarge ``(P, 2)`` (w, h) sizes to the aspect ratio ``aspect`` = w / h.

    The box only grows: ``(w, w / aspect)`` if ``w > h·aspect``, else ``(h·aspect, h)``.

    Example:
        >>> fix_aspect_ratio(np.array([[100.0, 100.0], [30.0, 80.0]]), 0.75).tolist()
        [[100.0, 133.33333333333334], [60.0, 80.0]]
    """
    scales = np.asarray(scales, np.float64).reshape(-1, 2)
    w, h = scales[:, :1], scales[:, 1:]
    return np.where(w > h * aspect, np.hstack([w, w / aspect]), np.hstack([h * aspect, h]))


def crop_matrix(center: np.ndarray, scale: np.ndarray, input_hw: tuple[int, int],
                ) -> np.ndarray:
    """``(2, 3)`` affine image → crop: ``center`` → crop centre, ``scale[0]`` → crop width.

    A uniform scale ``s = W_in / scale[0]`` plus a translation (rotation 0, no
    half-pixel correction), the same map as rtmlib's three-point
    ``get_warp_matrix``; ``scale`` must already have the crop's aspect ratio.
    """
    h_in, w_in = input_hw
    s = w_in / float(scale[0])
    return np.array([[s, 0.0, 0.5 * w_in - s * float(center[0])],
                     [0.0, s, 0.5 * h_in - s * float(center[1])]])


def crop_people(image: np.ndarray, boxes: np.ndarray, input_hw: tuple[int, int],
                padding: float = PADDING) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-down crops of ``(P, 4)`` xyxy boxes from an ``(H, W, C)`` uint8 image.

    Box → centre and size × ``padding`` → size enlarged to the model aspect
    ``W_in / H_in`` → ``cv2.warpAffine`` (bilinear, constant border 0).

    Returns:
        crops ``(P, H_in, W_in, C)`` uint8, centers ``(P, 2)`` and the aspect-fixed
        padded sizes ``scales`` ``(P, 2)`` in image pixels (for :func:`crop_to_image`).
    """
    h_in, w_in = input_hw
    centers, scales = box_center_scale(boxes, padding)
    scales = fix_aspect_ratio(scales, w_in / h_in)
    crops = np.empty((len(centers), h_in, w_in, image.shape[2]), np.uint8)
    for i in range(len(centers)):
        crops[i] = cv2.warpAffine(image, crop_matrix(centers[i], scales[i], input_hw),
                                  (w_in, h_in), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return crops, centers, scales


def normalise_crops(crops: np.ndarray, mean: Sequence[float] = SIMCC_MEAN,
                    std: Sequence[float] = SIMCC_STD) -> np.ndarray:
    """``(P, H, W, 3)`` uint8 → ``(P, 3, H, W)`` float32 ``(pixel − mean) / std`` per channel.

    ``mean`` / ``std`` apply to the channels in the order given (no colour swap here).
    """
    x = crops.astype(np.float32)
    x -= np.asarray(mean, np.float32)
    x /= np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def simcc_decode(simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float = 2.0,
                 score_mode: ScoreMode = "mean") -> tuple[np.ndarray, np.ndarray]:
    """SimCC argmax decode (mmpose ``get_simcc_maximum`` / rtmlib, no DARK, no softmax).

    Args:
        simcc_x: ``(P, K, W_in·r)`` logits over x bins.
        simcc_y: ``(P, K, H_in·r)`` logits over y bins.
        split_ratio: r, bins per crop pixel.
        score_mode: ``"mean"`` of the two maxima (rtmlib) or ``"min"`` (mmpose, DWPose).

    Returns:
        xy ``(P, K, 2)`` float64 crop pixels (bin / r; NaN where the score ≤ 0) and
        scores ``(P, K)`` float32.

    Example:
        >>> sx = np.zeros((1, 2, 8), np.float32); sx[0, 0, 5] = 0.8
        >>> sy = np.zeros((1, 2, 6), np.float32); sy[0, 0, 3] = 0.4
        >>> xy, sc = simcc_decode(sx, sy, 2.0, "min")
        >>> xy[0].tolist(), sc[0].tolist()
        ([[2.5, 1.5], [nan, nan]], [0.4000000059604645, 0.0])
    """
    if score_mode not in SCORE_MODES:
        raise InputError(f"score_mode must be one of {', '.join(SCORE_MODES)}; got "
                         f"{score_mode!r}")
    bx = np.argmax(simcc_x, axis=-1)
    by = np.argmax(simcc_y, axis=-1)
    mx = np.take_along_axis(simcc_x, bx[..., None], axis=-1)[..., 0]
    my = np.take_along_axis(simcc_y, by[..., None], axis=-1)[..., 0]
    scores = 0.5 * (mx + my) if score_mode == "mean" else np.minimum(mx, my)
    xy = np.stack([bx, by], axis=-1).astype(np.float64) / split_ratio
    xy[scores <= 0] = np.nan
    return xy, scores.astype(np.float32)


def crop_to_image(xy: np.ndarray, centers: np.ndarray, scales: np.ndarray,
                  input_hw: tuple[int, int]) -> np.ndarray:
    """Crop pixels ``(P, K, 2)`` → image pixels: ``xy / (W_in, H_in) · scale + center − scale/2``.

    ``centers`` / ``scales`` ``(P, 2)`` are those of :func:`crop_people` (aspect-fixed,
    padded box sizes).
    """
    h_in, w_in = input_hw
    size = np.array([w_in, h_in], np.float64)
    return (xy / size * scales[:, None, :] + centers[:, None, :]
            - 0.5 * scales[:, None, :])


def letterbox(image: np.ndarray, input_hw: tuple[int, int], value: int = LETTERBOX_VALUE,
              ) -> tuple[np.ndarray, float]:
    """YOLOX / rtmlib letterbox: uniform resize into ``input_hw``, pasted at the top-left.

    ratio ``r = min(H_in / H, W_in / W)``; the image is resized (bilinear) to
    ``(int(W·r), int(H·r))`` and pasted at the top-left of an ``(H_in, W_in, C)``
    canvas filled with ``value``. Divide model boxes by ``r`` to get image pixels.

    Returns the uint8 canvas and ``r``.
    """
    h, w = image.shape[:2]
    h_in, w_in = input_hw
    r = min(h_in / h, w_in / w)
    nh, nw = int(h * r), int(w * r)
    resized = image if (nh, nw) == (h, w) else cv2.resize(image, (nw, nh),
                                                         interpolation=cv2.INTER_LINEAR)
    canvas = np.full((h_in, w_in, image.shape[2]), value, np.uint8)
    canvas[:nh, :nw] = resized
    return canvas, r


def _yolox_grid(input_hw: tuple[int, int], strides: Sequence[int] = YOLOX_STRIDES,
                ) -> tuple[np.ndarray, np.ndarray]:
    """Cell (x, y) ``(A, 2)`` and stride ``(A,)`` of every YOLOX anchor, Megvii's order."""
    grids, strs = [], []
    for s in strides:
        hs, ws = input_hw[0] // s, input_hw[1] // s
        ys, xs = np.mgrid[0:hs, 0:ws]
        grids.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        strs.append(np.full(hs * ws, s))
    return np.concatenate(grids).astype(np.float64), np.concatenate(strs).astype(np.float64)


def yolox_decode(raw: np.ndarray, input_hw: tuple[int, int],
                 strides: Sequence[int] = YOLOX_STRIDES, rows: np.ndarray | None = None,
                 ) -> np.ndarray:
    """Megvii YOLOX box decode (``demo_postprocess``) → xyxy boxes in input pixels.

    Args:
        raw: ``(A, 5 + C)`` raw output rows (tx, ty, tw, th, obj, classes) for every
            anchor; anchors are ordered by stride, then row, then column.
        input_hw: model input (H_in, W_in).
        rows: optional ``(M,)`` anchor indices to decode (default: all).

    Returns ``(M, 4)`` float64 boxes: centre ``(t_xy + cell)·stride``, size
    ``exp(t_wh)·stride``.
    """
    grid, stride = _yolox_grid(input_hw, strides)
    if len(grid) != len(raw):
        raise InputError(f"YOLOX output has {len(raw)} rows but an input of {input_hw} with "
                         f"strides {tuple(strides)} has {len(grid)} anchors")
    if rows is not None:
        raw, grid, stride = raw[rows], grid[rows], stride[rows]
    raw = raw.astype(np.float64)
    cxy = (raw[:, :2] + grid) * stride[:, None]
    wh = np.exp(np.minimum(raw[:, 2:4], 30.0)) * stride[:, None]
    return np.concatenate([cxy - 0.5 * wh, cxy + 0.5 * wh], axis=1)


# --------------------------------------------------------------------------------------
# ONNX Runtime session
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorInfo:
    """Name and shape of a model input or output; a ``str`` dimension is dynamic."""

    name: str
    shape: tuple[int | str, ...]

    def __str__(self) -> str:
        return f"{self.name} ({', '.join(str(d) for d in self.shape)})"


def _dims(shape) -> tuple[int | str, ...]:
    if shape is None:
        return ()
    return tuple(d if isinstance(d, int) and d > 0 else str(d or "?") for d in shape)


def model_kind(outputs: Sequence[TensorInfo],
               inputs: Sequence[TensorInfo] | None = None) -> ModelKind:
    """Recognise a model by its outputs (and, when given, its inputs).

    * ``"sequence"``: inputs given, and one of them has rank 3 ``(N, T, F)`` while
      none is an image ``(N, C, H, W)`` (OpenCap's marker-augmenter LSTM);
    * ``"rtmo"``: a rank-4 output ending in 3 (keypoints) and a rank-3 output ending in 5;
    * ``"yolox_end2end"``: a rank-3 output ending in 5 (``dets``), no keypoints;
    * ``"yolox_raw"``: one rank-3 output ending in more than 5 (``(1, A, 5 + C)``);
    * ``"simcc"``: two rank-3 outputs (``simcc_x``, ``simcc_y``);
    * ``"unknown"``: anything else.
    """
    def ends(o: TensorInfo, rank: int, last: int) -> bool:
        return len(o.shape) == rank and o.shape[-1] == last

    if inputs is not None and not any(len(i.shape) == 4 for i in inputs):
        return "sequence" if any(len(i.shape) == 3 for i in inputs) else "unknown"

    has_dets = any(ends(o, 3, 5) for o in outputs)
    if has_dets and any(ends(o, 4, 3) for o in outputs):
        return "rtmo"
    if has_dets:
        return "yolox_end2end"
    if (len(outputs) == 1 and len(outputs[0].shape) == 3 and isinstance(outputs[0].shape[-1], int)
            and outputs[0].shape[-1] > 5):
        return "yolox_raw"
    if len(outputs) == 2 and all(len(o.shape) == 3 for o in outputs):
        return "simcc"
    return "unknown"


class OnnxModel:
    """One ONNX Runtime session on the CPU provider and its input/output signature.

    Args:
        model_path: ``.onnx`` file.
        num_threads: intra-op threads (None: ONNX Runtime's default, one per core).

    Raises:
        AssetError: the file does not exist or is not a loadable ONNX model.
    """

    def __init__(self, model_path: Path | str, *, num_threads: int | None = None) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise AssetError(f"model file {path} does not exist (or is not a file); pass the "
                             "path of an .onnx file (the docstring of posestack.estimate.rtm "
                             "lists where to get RTMPose / RTMW / DWPose / RTMO / YOLOX models)")
        if num_threads is not None and num_threads < 1:
            raise InputError(f"num_threads must be ≥ 1 or None; got {num_threads}")
        opts = ort.SessionOptions()
        if num_threads is not None:
            opts.intra_op_num_threads = int(num_threads)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # errors only
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts,
                                                providers=["CPUExecutionProvider"])
        except _ORT_ERRORS as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise AssetError(
                f"{path} is not a loadable ONNX model ({first}). Pass an .onnx file: an "
                "RTMPose / RTMW / DWPose / RTMO pose model or a YOLOX detector (for the "
                "BlazePose detector pass detector='blazepose' instead of a file)"
            ) from e
        self.path = path
        self.inputs = tuple(TensorInfo(i.name, _dims(i.shape)) for i in self.session.get_inputs())
        self.outputs = tuple(TensorInfo(o.name, _dims(o.shape))
                             for o in self.session.get_outputs())
        self.kind: ModelKind = model_kind(self.outputs, self.inputs)

    def signature(self) -> str:
        """Inputs and outputs as text: ``input (N, 3, 256, 192) -> simcc_x (N, 17, 384), …``."""
        return (", ".join(str(i) for i in self.inputs) + " -> "
                + ", ".join(str(o) for o in self.outputs))

    def run(self, x: np.ndarray, outputs: Sequence[str] | None = None) -> list[np.ndarray]:
        """Run on the single input ``x``; returns the outputs (all, or those named)."""
        names = list(outputs) if outputs is not None else None
        return self.session.run(names, {self.inputs[0].name: x})

    def __repr__(self) -> str:
        return f"OnnxModel({str(self.path)!r}, kind={self.kind!r}: {self.signature()})"


def _open(model: OnnxModel | Path | str, num_threads: int | None) -> OnnxModel:
    return model if isinstance(model, OnnxModel) else OnnxModel(model, num_threads=num_threads)


def _wrong_kind(model: OnnxModel, expected: str) -> AssetError:
    return AssetError(f"{model.path} is {_KIND_TEXT[model.kind]} (inputs/outputs: "
                      f"{model.signature()}), but {expected} was expected here. "
                      f"{_KIND_FIX[model.kind]}")


def _image_input(model: OnnxModel, input_size: tuple[int, int] | None, expected: str,
                 ) -> tuple[int | None, tuple[int, int]]:
    """Fixed batch size (None if dynamic) and (H_in, W_in) of a ``(N, 3, H, W)`` input."""
    shape = model.inputs[0].shape if len(model.inputs) == 1 else ()
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
        raise AssetError(f"{model.path} has inputs {', '.join(map(str, model.inputs))}, but "
                         f"{expected} was expected (one image input (N, 3, H, W))")
    h, w = shape[2], shape[3]
    if input_size is not None:
        try:
            w_req, h_req = (int(v) for v in input_size)
        except (TypeError, ValueError):
            raise InputError(f"input_size must be (width, height) in pixels; got "
                             f"{input_size!r}") from None
        if w_req < 1 or h_req < 1:
            raise InputError(f"input_size must be positive; got {input_size!r}")
        for name, have, want in (("height", h, h_req), ("width", w, w_req)):
            if isinstance(have, int) and have != want:
                raise InputError(f"input_size {input_size!r} (width, height) disagrees with "
                                 f"the model's fixed input {name} {have} ({model.path})")
        h, w = h_req, w_req
    if not (isinstance(h, int) and isinstance(w, int)):
        raise AssetError(f"{model.path} has a dynamic input size {model.inputs[0]}; pass "
                         "input_size=(width, height) (e.g. (192, 256) or (288, 384) for "
                         "RTMPose, (640, 640) for YOLOX-m / RTMO)")
    batch = shape[0] if isinstance(shape[0], int) else None
    return batch, (h, w)


def _check_image(image: np.ndarray) -> np.ndarray:
    if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3
            and image.dtype == np.uint8 and image.shape[0] > 0 and image.shape[1] > 0):
        raise InputError("image must be a uint8 RGB array of shape (H, W, 3); got "
                         f"{getattr(image, 'dtype', type(image).__name__)} "
                         f"{getattr(image, 'shape', '')}")
    return image


def _check_boxes(boxes: np.ndarray | Sequence | None) -> np.ndarray:
    if boxes is None:
        return np.zeros((0, 4))
    try:
        b = np.asarray(boxes, np.float64)
    except (TypeError, ValueError):
        raise InputError(f"boxes must be an (N, 4) array of x1, y1, x2, y2 pixels; got "
                         f"{type(boxes).__name__}") from None
    if b.size == 0:
        return np.zeros((0, 4))
    if b.ndim != 2 or b.shape[1] != 4:
        raise InputError(f"boxes must be an (N, 4) array of x1, y1, x2, y2 pixels; got shape "
                         f"{b.shape}")
    if not np.isfinite(b).all():
        raise InputError("boxes must be finite; got NaN or inf in rows "
                         f"{np.nonzero(~np.isfinite(b).all(axis=1))[0].tolist()}")
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    bad = (w < 0) | (h < 0) | ((w == 0) & (h == 0))
    if bad.any():
        raise InputError("boxes must have x2 ≥ x1, y2 ≥ y1 and a non-zero size; bad rows "
                         f"{np.nonzero(bad)[0].tolist()}: {b[bad][:3].tolist()}")
    return b


def _check_threshold(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise InputError(f"{name} must be in [0, 1]; got {value}")
    return float(value)


# --------------------------------------------------------------------------------------
# Top-down SimCC pose (RTMPose / RTMW / DWPose)
# --------------------------------------------------------------------------------------


class TopDownPose:
    """Top-down SimCC pose model (RTMPose / RTMW / DWPose ONNX) for given person boxes.

    Args:
        model_path: ``.onnx`` file, or an :class:`OnnxModel` already open (its threads
            are kept; ``num_threads`` is then ignored). Input ``(N, 3, H_in, W_in)`` (N may
            be dynamic), outputs ``simcc_x`` ``(N, K, W_in·r)`` and ``simcc_y``
            ``(N, K, H_in·r)`` (by name, else in that order); the split ratio r (2 for
            every published model) is read from the shapes.
        flip_rgb: feed crops in RGB order, as the models were trained (True), or in
            BGR order with the same mean/std numbers, like rtmlib (False).
        score_mode: keypoint score = ``"mean"`` (rtmlib) or ``"min"`` (mmpose, DWPose) of
            the x and y maxima.
        padding: box enlargement before the aspect fix (mmpose: 1.25).
        batch: True: all persons of a call in one inference; False: one inference per
            person; None: batched when the model's batch axis is dynamic. A model with
            a fixed batch size b > 1 always runs in chunks of b (zero-padded).
        whole_image_if_no_box: with no boxes, use the whole image as one box (rtmlib,
            DWPose); else return no person.
        input_size: (W_in, H_in) for a model whose input size is dynamic.
        num_threads: ONNX Runtime intra-op threads (None: its default).

    Attributes: ``input_hw`` (H_in, W_in), ``num_keypoints`` K, ``split_ratio`` r,
    ``skeleton_name``, ``batched``.

    Raises:
        AssetError: missing or unloadable file, or not a SimCC model (e.g. a
            detector), or a keypoint count with no known layout.
    """

    def __init__(self, model_path: OnnxModel | Path | str, *, flip_rgb: bool = True,
                 score_mode: ScoreMode = "mean", padding: float = PADDING,
                 batch: bool | None = None, whole_image_if_no_box: bool = True,
                 input_size: tuple[int, int] | None = None,
                 num_threads: int | None = None) -> None:
        if score_mode not in SCORE_MODES:
            raise InputError(f"score_mode must be one of {', '.join(SCORE_MODES)}; got "
                             f"{score_mode!r}")
        if not (isinstance(padding, int | float) and math.isfinite(padding) and padding > 0):
            raise InputError(f"padding must be a positive number (mmpose: 1.25); got {padding!r}")
        if batch not in (None, True, False):
            raise InputError(f"batch must be True, False or None (automatic); got {batch!r}")
        self.model = _open(model_path, num_threads)
        if self.model.kind != "simcc":
            raise _wrong_kind(self.model, _EXPECT_SIMCC)
        self._fixed_batch, self.input_hw = _image_input(self.model, input_size, _EXPECT_SIMCC)
        if batch is True and self._fixed_batch == 1:
            raise InputError(f"{self.model.path} has a fixed batch size of 1, so persons "
                             "cannot share one inference; use batch=None or batch=False")
        self.batched = self._fixed_batch != 1 and (batch is not False or
                                                   self._fixed_batch is not None)
        self.flip_rgb = bool(flip_rgb)
        self.score_mode: ScoreMode = score_mode
        self.padding = float(padding)
        self.whole_image_if_no_box = bool(whole_image_if_no_box)

        by_name = {o.name: o for o in self.model.outputs}
        if "simcc_x" in by_name and "simcc_y" in by_name:
            ox, oy = by_name["simcc_x"], by_name["simcc_y"]
        else:
            ox, oy = self.model.outputs
        self._outputs = (ox.name, oy.name)
        dims = (*ox.shape[1:], *oy.shape[1:])
        if not all(isinstance(d, int) for d in dims):  # symbolic: ask the model itself
            sx, sy = self._run(np.zeros((self._fixed_batch or 1, 3, *self.input_hw),
                                        np.float32))
            dims = (*sx.shape[1:], *sy.shape[1:])
        k, wx, ky, wy = (int(d) for d in dims)
        h_in, w_in = self.input_hw
        if k != ky:
            raise AssetError(f"{self.model.path}: {ox.name} has {k} keypoints but {oy.name} "
                             f"has {ky}; not a SimCC pose model")
        rx, ry = wx / w_in, wy / h_in
        if not math.isclose(rx, ry, rel_tol=1e-9) or rx <= 0:
            raise AssetError(
                f"{self.model.path}: {ox.name} has {wx} bins for an input width of {w_in} "
                f"(ratio {rx:g}) but {oy.name} has {wy} for a height of {h_in} (ratio {ry:g}); "
                "SimCC models use the same split ratio (2) on both axes. Check input_size "
                "(width, height) or the model file"
            )
        if rx != 2.0:
            log.info("%s: SimCC split ratio %g (published models use 2)", self.model.path, rx)
        self.num_keypoints = k
        self.split_ratio = rx
        self.skeleton_name = skeleton_for_keypoints(k, str(self.model.path))

    @property
    def path(self) -> Path:
        """The model file."""
        return self.model.path

    def _run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sx, sy = self.model.run(x, self._outputs)
        return sx, sy

    def _infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(P, 3, H_in, W_in)`` → simcc_x ``(P, K, Wx)``, simcc_y ``(P, K, Wy)``."""
        n = len(tensor)
        step = self._fixed_batch or (n if self.batched else 1)
        xs, ys = [], []
        for i in range(0, n, step):
            part = tensor[i:i + step]
            real = len(part)
            if self._fixed_batch is not None and real < step:
                pad = np.zeros((step - real, *part.shape[1:]), np.float32)
                part = np.concatenate([part, pad])
            sx, sy = self._run(part)
            xs.append(sx[:real])
            ys.append(sy[:real])
        return np.concatenate(xs), np.concatenate(ys)

    def predict(self, image_rgb: np.ndarray, boxes: np.ndarray,
                ) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints for ``(P, 4)`` xyxy boxes as arrays (no whole-image fallback).

        Returns xy ``(P, K, 2)`` float64 image pixels (NaN where the score ≤ 0) and
        scores ``(P, K)`` float32.
        """
        image = _check_image(image_rgb)
        boxes = _check_boxes(boxes)
        k = self.num_keypoints
        if len(boxes) == 0:
            return np.zeros((0, k, 2)), np.zeros((0, k), np.float32)
        crops, centers, scales = crop_people(image, boxes, self.input_hw, self.padding)
        if not self.flip_rgb:
            crops = crops[..., ::-1]  # rtmlib feeds BGR with the RGB-ordered mean/std
        sx, sy = self._infer(normalise_crops(crops))
        xy, scores = simcc_decode(sx, sy, self.split_ratio, self.score_mode)
        return crop_to_image(xy, centers, scales, self.input_hw), scores

    def __call__(self, image_rgb: np.ndarray, boxes: np.ndarray | None = None,
                 box_scores: np.ndarray | None = None) -> list[Person2D]:
        """Pose of each person box in one RGB uint8 ``(H, W, 3)`` image.

        Args:
            image_rgb: the frame, RGB uint8.
            boxes: ``(P, 4)`` x1, y1, x2, y2 pixels; None or empty: the whole image
                (``whole_image_if_no_box``) or nobody.
            box_scores: ``(P,)`` detector scores stored as ``Person2D.box_score``.

        Returns: one :class:`Person2D` per box, in the order of ``boxes``.
        """
        image = _check_image(image_rgb)
        b = _check_boxes(boxes)
        if box_scores is None:
            bs = np.full(len(b), np.nan)
        else:
            bs = np.asarray(box_scores, np.float64).reshape(-1)
            if len(bs) != len(b):
                raise InputError(f"box_scores has {len(bs)} values for {len(b)} boxes")
        if len(b) == 0:
            if not self.whole_image_if_no_box:
                return []
            h, w = image.shape[:2]
            b, bs = np.array([[0.0, 0.0, w, h]]), np.array([np.nan])
        xy, scores = self.predict(image, b)
        return [_person(b[i], xy[i], scores[i], bs[i]) for i in range(len(b))]

    def __repr__(self) -> str:
        return (f"TopDownPose({str(self.path)!r}, K={self.num_keypoints}, "
                f"input={self.input_hw[1]}x{self.input_hw[0]}, batched={self.batched})")


# --------------------------------------------------------------------------------------
# YOLOX person detector
# --------------------------------------------------------------------------------------


class YoloxDetector:
    """YOLOX person detector (ONNX), either export flavour.

    * mmdeploy end2end (rtmlib's ``yolox_*_humanart``): ``dets`` ``(1, N, 5)``
      (x1, y1, x2, y2, score) [+ ``labels`` ``(1, N)``], NMS already in the graph; boxes
      with score > ``score_threshold`` (and label 0 = person when labels exist) are kept.
    * Megvii raw (DWPose's ``yolox_l.onnx``): ``(1, A, 5 + C)`` with already-sigmoided
      objectness and class scores; grid decode (strides 8/16/32), score = obj ·
      class-0 (person) score — the best class need not be person — threshold,
      then NMS with ``nms_threshold``.

    Input: letterbox (top-left, fill 114), **BGR**, raw 0–255 values, NCHW float32.

    Args:
        model_path: ``.onnx`` file (or an :class:`OnnxModel`).
        score_threshold: keep boxes with score above this.
        nms_threshold: IoU above which the weaker box is dropped (raw flavour).
        input_size: (W_in, H_in) for a model whose input size is dynamic.
        num_threads: ONNX Runtime intra-op threads.
    """

    def __init__(self, model_path: OnnxModel | Path | str, *, score_threshold: float = 0.3,
                 nms_threshold: float = 0.45, input_size: tuple[int, int] | None = None,
                 num_threads: int | None = None) -> None:
        self.score_threshold = _check_threshold("score_threshold", score_threshold)
        self.nms_threshold = _check_threshold("nms_threshold", nms_threshold)
        self.model = _open(model_path, num_threads)
        if self.model.kind not in ("yolox_end2end", "yolox_raw"):
            raise _wrong_kind(self.model, _EXPECT_YOLOX)
        batch, self.input_hw = _image_input(self.model, input_size, _EXPECT_YOLOX)
        if batch not in (None, 1):
            raise AssetError(f"{self.model.path}: fixed batch {batch}; a detector must take "
                             "one image (batch 1 or dynamic)")
        self.flavour = self.model.kind
        outs = self.model.outputs
        if self.flavour == "yolox_end2end":
            self._dets = next(o.name for o in outs if len(o.shape) == 3 and o.shape[-1] == 5)
            self._labels = next((o.name for o in outs if len(o.shape) == 2), None)
        else:
            a = outs[0].shape[1]
            n_anchors = len(_yolox_grid(self.input_hw)[0])
            if isinstance(a, int) and a != n_anchors:
                raise AssetError(
                    f"{self.model.path}: raw YOLOX output {outs[0]} has {a} rows but an input "
                    f"of {self.input_hw[1]}x{self.input_hw[0]} has {n_anchors} anchors "
                    f"(strides {YOLOX_STRIDES}); was it exported with decode_in_inference?")

    @property
    def path(self) -> Path:
        """The model file."""
        return self.model.path

    def __call__(self, image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes in one RGB uint8 ``(H, W, 3)`` image.

        Returns boxes ``(N, 4)`` float64 x1, y1, x2, y2 image pixels and scores ``(N,)``,
        best first.
        """
        image = _check_image(image_rgb)
        canvas, r = letterbox(image[..., ::-1], self.input_hw)  # YOLOX expects BGR
        x = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], np.float32)
        if self.flavour == "yolox_end2end":
            names = [self._dets] + ([self._labels] if self._labels else [])
            out = self.model.run(x, names)
            dets = np.asarray(out[0], np.float64).reshape(-1, 5)
            keep = dets[:, 4] > self.score_threshold
            if self._labels:
                keep &= np.asarray(out[1]).reshape(-1) == PERSON_CLASS
            boxes, scores = dets[keep, :4], dets[keep, 4]
            order = np.argsort(-scores, kind="stable")
            boxes, scores = boxes[order], scores[order]
        else:
            raw = self.model.run(x)[0][0]
            scores_all = raw[:, 4].astype(np.float64) * raw[:, 5 + PERSON_CLASS]
            rows = np.nonzero(scores_all > self.score_threshold)[0]
            boxes = yolox_decode(raw, self.input_hw, rows=rows)
            scores = scores_all[rows]
            idx = nms(boxes, scores, self.nms_threshold)
            boxes, scores = boxes[idx], scores[idx]
        return boxes / r, scores

    def __repr__(self) -> str:
        return (f"YoloxDetector({str(self.path)!r}, {self.flavour}, "
                f"input={self.input_hw[1]}x{self.input_hw[0]})")


# --------------------------------------------------------------------------------------
# RTMO one-stage pose
# --------------------------------------------------------------------------------------


class RTMO:
    """RTMO one-stage multi-person pose model (ONNX).

    Input: letterbox (top-left, fill 114), **BGR**, raw 0–255 values, NCHW float32
    (rtmlib). Outputs ``dets`` ``(1, N, 5)`` and ``keypoints`` ``(1, N, K, 3)`` (x, y,
    visibility) in input pixels; boxes and keypoints are divided by the letterbox
    ratio, persons with box score ≤ ``score_threshold`` dropped, then NMS.

    Args:
        model_path: ``.onnx`` file (or an :class:`OnnxModel`).
        score_threshold: keep persons whose box score is above this.
        nms_threshold: IoU above which the weaker person is dropped.
        input_size: (W_in, H_in) for a model whose input size is dynamic.
        num_threads: ONNX Runtime intra-op threads.
    """

    def __init__(self, model_path: OnnxModel | Path | str, *, score_threshold: float = 0.5,
                 nms_threshold: float = 0.45, input_size: tuple[int, int] | None = None,
                 num_threads: int | None = None) -> None:
        self.score_threshold = _check_threshold("score_threshold", score_threshold)
        self.nms_threshold = _check_threshold("nms_threshold", nms_threshold)
        self.model = _open(model_path, num_threads)
        if self.model.kind != "rtmo":
            raise _wrong_kind(self.model, _EXPECT_RTMO)
        batch, self.input_hw = _image_input(self.model, input_size, _EXPECT_RTMO)
        if batch not in (None, 1):
            raise AssetError(f"{self.model.path}: fixed batch {batch}; RTMO must take one "
                             "image (batch 1 or dynamic)")
        outs = self.model.outputs
        self._dets = next(o.name for o in outs if len(o.shape) == 3 and o.shape[-1] == 5)
        kp = next(o for o in outs if len(o.shape) == 4 and o.shape[-1] == 3)
        self._kps = kp.name
        k = kp.shape[2]
        if not isinstance(k, int):
            canvas = np.zeros((1, 3, *self.input_hw), np.float32)
            k = self.model.run(canvas, [self._kps])[0].shape[2]
        self.num_keypoints = int(k)
        self.skeleton_name = skeleton_for_keypoints(self.num_keypoints, str(self.model.path))

    @property
    def path(self) -> Path:
        """The model file."""
        return self.model.path

    def __call__(self, image_rgb: np.ndarray) -> list[Person2D]:
        """Every person in one RGB uint8 ``(H, W, 3)`` image, best box score first."""
        image = _check_image(image_rgb)
        canvas, r = letterbox(image[..., ::-1], self.input_hw)  # RTMO expects BGR
        x = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], np.float32)
        dets, kps = self.model.run(x, [self._dets, self._kps])
        dets = np.asarray(dets[0], np.float64)  # (N, 5)
        kps = np.asarray(kps[0], np.float64)    # (N, K, 3)
        keep = np.nonzero(dets[:, 4] > self.score_threshold)[0]
        dets, kps = dets[keep], kps[keep]
        idx = nms(dets[:, :4], dets[:, 4], self.nms_threshold)
        return [_person(dets[i, :4] / r, kps[i, :, :2] / r, kps[i, :, 2], dets[i, 4])
                for i in idx]

    def __repr__(self) -> str:
        return (f"RTMO({str(self.path)!r}, K={self.num_keypoints}, "
                f"input={self.input_hw[1]}x{self.input_hw[0]})")


# --------------------------------------------------------------------------------------
# Estimator: detector + pose per frame
# --------------------------------------------------------------------------------------


def blazepose_boxes(detections: Sequence, min_size: float = 1.0,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes from BlazePose detections (:class:`~posestack.estimate.blazepose.Detection`).

    BlazePose's ROI is a square of side ``2·|kp1 − kp0|·1.25`` centred on the hip
    centre kp0, where kp1 marks the top of the body: the body lies inside the
    circle of radius ``ρ = |kp1 − kp0|`` around the hips, whatever its rotation.
    The box is that circle's axis-aligned square, side ``2ρ`` (the ROI side
    without BlazePose's own 1.25 margin, which :class:`TopDownPose`'s ``padding``
    adds back), centred on the hips; the ROI rotation is not used because the
    SimCC models take upright crops. (The bounding box of the rotated ROI would
    be up to √2 larger at 45° and would carry the 1.25 margin twice.)

    Returns boxes ``(N, 4)`` xyxy pixels and scores ``(N,)``, in detection order,
    without boxes smaller than ``min_size`` pixels.
    """
    boxes, scores = [], []
    for d in detections:
        c = np.asarray(d.keypoints[0], np.float64)
        rho = float(np.hypot(*(np.asarray(d.keypoints[1], np.float64) - c)))
        if 2.0 * rho < min_size:
            continue
        boxes.append([c[0] - rho, c[1] - rho, c[0] + rho, c[1] + rho])
        scores.append(float(d.score))
    return np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(scores, np.float64)


class RTMEstimator:
    """A pose model (top-down SimCC or RTMO) plus a person detector, per frame.

    Args:
        pose_model: ``.onnx`` file: RTMPose / RTMW / DWPose (top-down SimCC) or RTMO;
            recognised from its outputs.
        detector: for a top-down model: None (one person: the whole image is the box),
            ``"blazepose"`` (posestack's cached BlazePose detector, asset
            ``blazepose_detector``; boxes from :func:`blazepose_boxes`) or the path of
            a YOLOX ``.onnx`` (either flavour). Must be None for RTMO.
        flip_rgb, score_mode, padding, batch: see :class:`TopDownPose`.
        min_detection_confidence: detector score threshold (None: 0.3 for YOLOX, 0.5 for
            BlazePose, 0.5 for RTMO's boxes).
        nms_threshold: IoU threshold of the NMS for raw YOLOX and RTMO.
        max_people: keep at most this many people (best detector scores first;
            None: all).
        whole_image_if_no_box: with a detector that finds nobody, run the pose model on
            the whole image (rtmlib does) instead of returning no person.
        num_threads: threads per model (None: ONNX Runtime's default; 1 for BlazePose).

    Attributes: ``skeleton_name``, ``model_files`` (``{"pose": path, "detector": path}``),
    ``pose`` (:class:`TopDownPose` or :class:`RTMO`), ``detector`` (or None).

    Call it on RGB uint8 ``(H, W, 3)`` frames; frames are independent (no tracking),
    so ``time`` is accepted for interface parity with BlazePose and not used.
    """

    static = True  # every frame is processed on its own (set by the pipeline; no effect)

    def __init__(self, pose_model: Path | str, detector: Path | str | None = None, *,
                 flip_rgb: bool = True, score_mode: ScoreMode = "mean",
                 padding: float = PADDING, batch: bool | None = None,
                 min_detection_confidence: float | None = None, nms_threshold: float = 0.45,
                 max_people: int | None = None, whole_image_if_no_box: bool = False,
                 num_threads: int | None = None) -> None:
        if max_people is not None and max_people < 1:
            raise InputError(f"max_people must be ≥ 1 or None; got {max_people}")
        if min_detection_confidence is not None:
            _check_threshold("min_detection_confidence", min_detection_confidence)
        self.max_people = max_people
        self.whole_image_if_no_box = bool(whole_image_if_no_box)
        model = OnnxModel(pose_model, num_threads=num_threads)
        self.pose: TopDownPose | RTMO
        self.detector: YoloxDetector | PoseDetector | TiledPersonDetector | None = None
        self._detector_kind: Literal["none", "yolox", "blazepose", "ssdlite"] = "none"
        self.model_files: dict[str, Path] = {"pose": model.path}
        match model.kind:
            case "rtmo":
                if detector is not None:
                    raise InputError(f"{model.path} is an RTMO one-stage model, which finds "
                                     f"people itself; drop the detector ({detector!r})")
                self.pose = RTMO(model, score_threshold=_or(min_detection_confidence, 0.5),
                                 nms_threshold=nms_threshold)
            case "simcc":
                self.pose = TopDownPose(model, flip_rgb=flip_rgb, score_mode=score_mode,
                                        padding=padding, batch=batch,
                                        whole_image_if_no_box=True)
                self._make_detector(detector, min_detection_confidence, nms_threshold,
                                    num_threads)
            case _:
                raise _wrong_kind(model, _EXPECT_POSE)
        self.skeleton_name = self.pose.skeleton_name

    def _make_detector(self, detector: Path | str | None, min_conf: float | None,
                       nms_threshold: float, num_threads: int | None) -> None:
        if detector is None:
            return
        if isinstance(detector, str) and detector.strip().lower() == "ssdlite":
            from ..detect import TiledPersonDetector

            self.detector = TiledPersonDetector(num_threads=num_threads or 1)
            self.detector.detector.min_score = _or(min_conf, self.detector.detector.min_score)
            self._detector_kind = "ssdlite"
            path = self.detector.detector.path
        elif isinstance(detector, str) and detector.strip().lower() == "blazepose":
            from .. import assets
            from .blazepose import PoseDetector

            path = assets.path("blazepose_detector")
            self.detector = PoseDetector(path, _or(min_conf, 0.5), num_threads or 1)
            self._detector_kind = "blazepose"
        else:
            if isinstance(detector, str | Path) and not Path(detector).is_file():
                raise AssetError(f"detector {str(detector)!r} is neither 'ssdlite', 'blazepose' "
                                 "nor an existing file; pass detector='ssdlite', the path of a "
                                 "YOLOX .onnx, or None (whole image, one person)")
            self.detector = YoloxDetector(detector, score_threshold=_or(min_conf, 0.3),
                                          nms_threshold=nms_threshold,
                                          num_threads=num_threads)
            self._detector_kind = "yolox"
            path = self.detector.path
        self.model_files["detector"] = Path(path)

    def reset(self) -> None:
        """Nothing to forget (no tracking); kept for interface parity with BlazePose."""

    def detect(self, image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Person boxes ``(N, 4)`` xyxy pixels and scores ``(N,)``, best first.

        Without a detector: the whole image with score NaN. Boxes with no width or
        no height are dropped; at most ``max_people`` are kept.
        """
        image = _check_image(image_rgb)
        det = self.detector
        if det is None:
            h, w = image.shape[:2]
            return np.array([[0.0, 0.0, w, h]]), np.array([np.nan])
        if self._detector_kind != "blazepose":
            boxes, scores = det(image)
        else:
            boxes, scores = blazepose_boxes(det(image))
        ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]) & np.isfinite(
            boxes).all(axis=1)
        boxes, scores = boxes[ok], scores[ok]
        if self.max_people is not None:
            boxes, scores = boxes[:self.max_people], scores[:self.max_people]
        return boxes, scores

    def __call__(self, image_rgb: np.ndarray, time: float | None = None) -> list[Person2D]:
        """People in one RGB uint8 ``(H, W, 3)`` frame (``time`` in seconds, unused)."""
        image = _check_image(image_rgb)
        if isinstance(self.pose, RTMO):
            people = self.pose(image)
            return people if self.max_people is None else people[:self.max_people]
        boxes, scores = self.detect(image)
        if len(boxes) == 0 and not self.whole_image_if_no_box:
            return []
        return self.pose(image, boxes, scores)

    def __repr__(self) -> str:
        return f"RTMEstimator(pose={self.pose!r}, detector={self._detector_kind})"


def _or(value: float | None, default: float) -> float:
    return default if value is None else float(value)
