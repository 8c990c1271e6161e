"""Small ONNX graphs with known outputs, standing in for RTMPose / RTMO / YOLOX models.

Real weights cannot be fetched in the test environment, so the tests run the
estimators on graphs built here with ``onnx.helper``. Each builder writes an
``.onnx`` file and returns its path. The outputs are constants, or simple
functions of the input tensor, so that the expected keypoints and boxes can be
computed by hand:

* :func:`constant_simcc` — a SimCC pose model whose ``simcc_x`` / ``simcc_y``
  are the given ``(K, W·r)`` / ``(K, H·r)`` arrays for every person of the batch;
* :func:`probe_simcc` — a SimCC model whose peak bins depend on the per-channel
  means of each person's input crop (colour order, normalisation and batching);
* :func:`conv_simcc` — a SimCC model with a few real convolutions (benchmarks);
* :func:`yolox_raw`, :func:`yolox_end2end`, :func:`pixel_probe_end2end` —
  the two YOLOX flavours (raw Megvii ``(1, A, 5 + C)`` and mmdeploy ``dets``);
* :func:`rtmo` — an RTMO model with constant ``dets`` / ``keypoints``.

Graphs that return constants still read their input (``+ 0·mean(input)``), so
that ONNX Runtime keeps the input and the batch dimension broadcasts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 9  # readable by every onnxruntime posestack supports (>= 1.17)

Dim = int | str


def _save(path: Path | str, nodes: list, inputs: list, outputs: list,
          initializers: Sequence[tuple[str, np.ndarray]] = ()) -> Path:
    inits = [numpy_helper.from_array(a, name) for name, a in initializers]
    graph = helper.make_graph(nodes, Path(path).stem, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="posestack-tests")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def _image_input(name: str, batch: Dim, in_hw: tuple[Dim, Dim]):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, 3, *in_hw])


def _zero_of_input(x: str, out: str) -> list:
    """Nodes computing ``out`` = 0·mean(x) with shape ``(N, 1, 1)`` (N = batch of x)."""
    return [
        helper.make_node("ReduceMean", [x], [out + "_m"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Unsqueeze", [out + "_m", "axes_12"], [out + "_u"]),
        helper.make_node("Mul", [out + "_u", "zero"], [out]),
    ]


def constant_simcc(path: Path | str, simcc_x: np.ndarray, simcc_y: np.ndarray, *,
                   in_hw: tuple[Dim, Dim] = (256, 192), batch: Dim = "N",
                   names: tuple[str, str] = ("simcc_x", "simcc_y"),
                   symbolic_outputs: bool = False) -> Path:
    """SimCC model returning ``simcc_x`` ``(K, Wx)`` and ``simcc_y`` ``(K, Wy)`` per person.

    Input ``input`` ``(batch, 3, H, W)``; outputs ``(batch, K, Wx)``, ``(batch, K, Wy)``.
    ``symbolic_outputs`` declares the output shapes as ``(N, K, Wx)`` strings only, so
    the number of keypoints must be found by running the model.
    """
    sx = np.asarray(simcc_x, np.float32)
    sy = np.asarray(simcc_y, np.float32)
    k = sx.shape[0]
    inits: list[tuple[str, np.ndarray]] = [
        ("cx", sx), ("cy", sy), ("zero", np.zeros((), np.float32)),
        ("axes_12", np.array([1, 2], np.int64))]
    nodes = _zero_of_input("input", "z")
    cx, cy = "cx", "cy"
    if symbolic_outputs:  # reshape by a shape ONNX Runtime cannot infer (+ 0·input)
        inits += [("shape_x", np.array([1, *sx.shape], np.int64)),
                  ("shape_y", np.array([1, *sy.shape], np.int64))]
        nodes += [
            helper.make_node("ReduceMean", ["input"], ["all_m"], keepdims=0),
            helper.make_node("Mul", ["all_m", "zero"], ["all_z"]),
            helper.make_node("Cast", ["all_z"], ["all_i"], to=TensorProto.INT64),
            helper.make_node("Add", ["shape_x", "all_i"], ["dyn_x"]),
            helper.make_node("Add", ["shape_y", "all_i"], ["dyn_y"]),
            helper.make_node("Reshape", ["cx", "dyn_x"], ["cx_r"]),
            helper.make_node("Reshape", ["cy", "dyn_y"], ["cy_r"]),
        ]
        cx, cy = "cx_r", "cy_r"
        shapes = ([batch, "K", "Wx"], [batch, "K", "Wy"])
    else:
        shapes = ([batch, k, sx.shape[1]], [batch, k, sy.shape[1]])
    nodes += [helper.make_node("Add", ["z", cx], [names[0]]),
              helper.make_node("Add", ["z", cy], [names[1]])]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
               for n, s in zip(names, shapes, strict=True)]
    return _save(path, nodes, [_image_input("input", batch, in_hw)], outputs, inits)


def peaked(k: int, bins: int, peaks: Sequence[int], heights: Sequence[float] | float = 1.0,
           floor: float = 0.0) -> np.ndarray:
    """``(k, bins)`` float32 array equal to ``floor`` except ``heights`` at bin ``peaks[i]``."""
    a = np.full((k, bins), floor, np.float32)
    a[np.arange(k), np.asarray(peaks)] = np.broadcast_to(np.asarray(heights, np.float32), (k,))
    return a


def probe_simcc(path: Path | str, *, k: int = 3, in_hw: tuple[int, int] = (256, 192),
                wx: Sequence[float] = (50.0, 0.0, 0.0), bx: float = 192.0,
                wy: Sequence[float] = (0.0, 50.0, 0.0), by: float = 256.0,
                offsets: Sequence[float] | None = None, batch: Dim = "N",
                ratio: int = 2) -> Path:
    """SimCC model whose peaks follow the channel means of each input crop.

    With ``m`` = per-channel mean of one person's input ``(3,)`` (after the
    caller's normalisation), keypoint ``j`` gets

        simcc_x[j, b] = 1 − (b − (m·wx + bx + offsets[j]))²   for bins b = 0 … W·ratio − 1
        simcc_y[j, b] = 1 − (b − (m·wy + by + offsets[j]))²   for bins b = 0 … H·ratio − 1

    so its x peak is the bin nearest to ``m·wx + bx + offsets[j]`` and its score
    is ``1 − (distance to that bin)²`` (in (0.75, 1]).
    """
    h, w = in_hw
    off = np.zeros(k, np.float32) if offsets is None else np.asarray(offsets, np.float32)
    inits: list[tuple[str, np.ndarray]] = [
        ("wx", np.asarray(wx, np.float32).reshape(3, 1)),
        ("wy", np.asarray(wy, np.float32).reshape(3, 1)),
        ("bx", np.array([bx], np.float32)), ("by", np.array([by], np.float32)),
        ("off", off.reshape(1, k, 1)),
        ("bins_x", np.arange(w * ratio, dtype=np.float32).reshape(1, 1, -1)),
        ("bins_y", np.arange(h * ratio, dtype=np.float32).reshape(1, 1, -1)),
        ("one", np.ones((), np.float32)), ("axes_2", np.array([2], np.int64)),
    ]
    nodes = [helper.make_node("ReduceMean", ["input"], ["m"], axes=[2, 3], keepdims=0)]
    for a in ("x", "y"):
        nodes += [
            helper.make_node("MatMul", ["m", f"w{a}"], [f"c{a}0"]),           # (N, 1)
            helper.make_node("Add", [f"c{a}0", f"b{a}"], [f"c{a}1"]),
            helper.make_node("Unsqueeze", [f"c{a}1", "axes_2"], [f"c{a}2"]),  # (N, 1, 1)
            helper.make_node("Add", [f"c{a}2", "off"], [f"c{a}"]),            # (N, K, 1)
            helper.make_node("Sub", [f"bins_{a}", f"c{a}"], [f"d{a}"]),       # (N, K, B)
            helper.make_node("Mul", [f"d{a}", f"d{a}"], [f"q{a}"]),
            helper.make_node("Sub", ["one", f"q{a}"], [f"simcc_{a}"]),
        ]
    outputs = [helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, [batch, k, w * ratio]),
               helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, [batch, k, h * ratio])]
    return _save(path, nodes, [_image_input("input", batch, in_hw)], outputs, inits)


def conv_simcc(path: Path | str, *, k: int = 17, in_hw: tuple[int, int] = (256, 192),
               width: int = 32, seed: int = 0, batch: Dim = "N") -> Path:
    """SimCC-shaped model with real compute, for latency measurements.

    Four 3×3 convolutions (stride 2, 2, 2, 1; ``width``, 2·``width``, 4·``width``,
    4·``width`` channels, ReLU), global average pooling and two linear heads to
    ``simcc_x`` ``(N, K, 2W)`` and ``simcc_y`` ``(N, K, 2H)``. Random weights.
    """
    rng = np.random.default_rng(seed)
    h, w = in_hw
    chans = [3, width, 2 * width, 4 * width, 4 * width]
    strides = [2, 2, 2, 1]
    nodes, inits, x = [], [], "input"
    for i, s in enumerate(strides):
        cin, cout = chans[i], chans[i + 1]
        wt = rng.normal(0, (2.0 / (9 * cin)) ** 0.5, (cout, cin, 3, 3)).astype(np.float32)
        inits += [(f"w{i}", wt), (f"b{i}", np.zeros(cout, np.float32))]
        nodes += [helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], kernel_shape=[3, 3],
                                   pads=[1, 1, 1, 1], strides=[s, s]),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        x = f"r{i}"
    nodes += [helper.make_node("GlobalAveragePool", [x], ["gap"]),
              helper.make_node("Flatten", ["gap"], ["feat"], axis=1)]
    for a, bins in (("x", 2 * w), ("y", 2 * h)):
        inits += [(f"head_{a}", rng.normal(0, 0.1, (chans[-1], k * bins)).astype(np.float32)),
                  (f"shape_{a}", np.array([-1, k, bins], np.int64))]
        nodes += [helper.make_node("MatMul", ["feat", f"head_{a}"], [f"flat_{a}"]),
                  helper.make_node("Reshape", [f"flat_{a}", f"shape_{a}"], [f"simcc_{a}"])]
    outputs = [helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, [batch, k, 2 * w]),
               helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, [batch, k, 2 * h])]
    return _save(path, nodes, [_image_input("input", batch, in_hw)], outputs, inits)


def yolox_grid_size(in_hw: tuple[int, int], strides: Sequence[int] = (8, 16, 32)) -> int:
    """Number of YOLOX anchors A for an input size: Σ (H // s)·(W // s)."""
    return sum((in_hw[0] // s) * (in_hw[1] // s) for s in strides)


def yolox_raw(path: Path | str, rows: dict[int, Sequence[float]], *,
              in_hw: tuple[int, int] = (320, 320), num_classes: int = 80,
              dynamic_input: bool = False) -> Path:
    """Megvii YOLOX export (``decode_in_inference=False``) with constant output.

    Input ``images`` ``(1, 3, H, W)`` (``dynamic_input``: declared ``(1, 3, "H", "W")``);
    output ``output`` ``(1, A, 5 + C)`` for the anchors of ``in_hw``, zero except the
    given rows (anchor index → raw ``tx, ty, tw, th, obj, cls_0 … cls_{C−1}``; a shorter
    row is zero-padded).
    """
    a = yolox_grid_size(in_hw)
    out = np.zeros((1, a, 5 + num_classes), np.float32)
    for i, row in rows.items():
        out[0, i, :len(row)] = row
    nodes = [*_zero_of_input("images", "z"), helper.make_node("Add", ["z", "c"], ["output"])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                             [1, a, 5 + num_classes])]
    declared: tuple[Dim, Dim] = ("H", "W") if dynamic_input else in_hw
    return _save(path, nodes, [_image_input("images", 1, declared)], outputs,
                 [("c", out), ("zero", np.zeros((), np.float32)),
                  ("axes_12", np.array([1, 2], np.int64))])


def yolox_end2end(path: Path | str, dets: np.ndarray, labels: np.ndarray | None = None, *,
                  in_hw: tuple[int, int] = (640, 640)) -> Path:
    """mmdeploy YOLOX end2end export: ``dets`` ``(1, N, 5)`` [+ ``labels`` ``(1, N)`` int64]."""
    d = np.asarray(dets, np.float32)[None]
    nodes = [*_zero_of_input("input", "z"), helper.make_node("Add", ["z", "d"], ["dets"])]
    inits: list = [("d", d), ("zero", np.zeros((), np.float32)),
                   ("axes_12", np.array([1, 2], np.int64))]
    outputs = [helper.make_tensor_value_info("dets", TensorProto.FLOAT, [1, d.shape[1], 5])]
    if labels is not None:
        inits.append(("lab", np.asarray(labels, np.int64)[None]))
        nodes.append(helper.make_node("Identity", ["lab"], ["labels"]))
        outputs.append(helper.make_tensor_value_info("labels", TensorProto.INT64,
                                                     [1, d.shape[1]]))
    return _save(path, nodes, [_image_input("input", 1, in_hw)], outputs, inits)


def pixel_probe_end2end(path: Path | str, boxes: np.ndarray, *,
                        in_hw: tuple[int, int] = (320, 320)) -> Path:
    """YOLOX end2end stand-in whose two scores are input pixels / 255.

    ``dets[0, 0] = (*boxes[0], input[0, 0, 0, 0] / 255)`` (channel 0 of the top-left
    pixel) and ``dets[0, 1] = (*boxes[1], input[0, 2, H−1, W−1] / 255)`` (channel 2 of
    the bottom-right pixel), so a test can read back colour order and padding value.
    """
    h, w = in_hw
    b = np.asarray(boxes, np.float32).reshape(1, 2, 4)
    inits: list[tuple[str, np.ndarray]] = [("b", b), ("inv255", np.array(1.0 / 255.0, np.float32)),
             ("s0", np.array([0, 0, 0, 0], np.int64)), ("e0", np.array([1, 1, 1, 1], np.int64)),
             ("s1", np.array([0, 2, h - 1, w - 1], np.int64)),
             ("e1", np.array([1, 3, h, w], np.int64)),
             ("shape", np.array([1, 2, 1], np.int64))]
    nodes = [helper.make_node("Slice", ["input", "s0", "e0"], ["p0"]),
             helper.make_node("Slice", ["input", "s1", "e1"], ["p1"]),
             helper.make_node("Concat", ["p0", "p1"], ["p"], axis=1),   # (1, 2, 1, 1)
             helper.make_node("Reshape", ["p", "shape"], ["pr"]),      # (1, 2, 1)
             helper.make_node("Mul", ["pr", "inv255"], ["score"]),
             helper.make_node("Concat", ["b", "score"], ["dets"], axis=2)]
    outputs = [helper.make_tensor_value_info("dets", TensorProto.FLOAT, [1, 2, 5])]
    return _save(path, nodes, [_image_input("input", 1, in_hw)], outputs, inits)


def rtmo(path: Path | str, dets: np.ndarray, keypoints: np.ndarray, *,
         in_hw: tuple[int, int] = (640, 640)) -> Path:
    """RTMO stand-in: constant ``dets`` ``(1, N, 5)`` and ``keypoints`` ``(1, N, K, 3)``."""
    d = np.asarray(dets, np.float32)[None]
    kp = np.asarray(keypoints, np.float32)[None]
    nodes = [helper.make_node("ReduceMean", ["input"], ["m"], axes=[1, 2, 3], keepdims=0),
             helper.make_node("Mul", ["m", "zero"], ["z"]),
             helper.make_node("Add", ["z", "d"], ["dets"]),
             helper.make_node("Add", ["z", "k"], ["keypoints"])]
    outputs = [helper.make_tensor_value_info("dets", TensorProto.FLOAT, list(d.shape)),
               helper.make_tensor_value_info("keypoints", TensorProto.FLOAT, list(kp.shape))]
    return _save(path, nodes, [_image_input("input", 1, in_hw)], outputs,
                 [("d", d), ("k", kp), ("zero", np.zeros((), np.float32))])


def pooled(path: Path | str) -> Path:
    """A model of no known kind: input ``(1, 3, 8, 8)`` → channel means ``(1, 3)``."""
    nodes = [helper.make_node("GlobalAveragePool", ["input"], ["gap"]),
             helper.make_node("Flatten", ["gap"], ["means"], axis=1)]
    outputs = [helper.make_tensor_value_info("means", TensorProto.FLOAT, [1, 3])]
    return _save(path, nodes, [_image_input("input", 1, (8, 8))], outputs)
