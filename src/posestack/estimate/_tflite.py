"""Drop the outputs of a TFLite model that nobody reads, with the operators that feed only them.

LiteRT runs every operator of a model, whether or not its result is read. BlazePose's landmark
model (``pose_landmark_full.tflite``) also computes a 256×256 segmentation mask, which posestack
does not use (MediaPipe's Pose solution runs it too, even with ``enable_segmentation=False``);
its decoder is about a third of the model's CPU time. :func:`prune_outputs` returns the model
without it: the operators left are the same, in the same order, with the same weights, so the
outputs kept are bit-identical (``tests/test_blazepose.py`` checks this).

The model is edited in place in a copy of its bytes: the first subgraph's ``outputs`` and
``operators`` vectors are shortened (FlatBuffers vectors are stored as a length followed by
the elements, and table references as offsets relative to where they are stored, so shrinking
a vector moves nothing else). Field numbers are those of TFLite's ``schema.fbs``, which
FlatBuffers' rules forbid changing: Model.subgraphs = 2; SubGraph.tensors = 0, .outputs = 2,
.operators = 3; Operator.inputs = 1, .outputs = 2; Tensor.shape = 0, .name = 3.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

_MODEL_SUBGRAPHS = 2
_SUBGRAPH_TENSORS, _SUBGRAPH_OUTPUTS, _SUBGRAPH_OPERATORS = 0, 2, 3
_OPERATOR_INPUTS, _OPERATOR_OUTPUTS = 1, 2
_TENSOR_SHAPE, _TENSOR_NAME = 0, 3


def _u32(buf: bytes | bytearray, pos: int) -> int:
    return struct.unpack_from("<I", buf, pos)[0]


def _field(buf: bytes | bytearray, table: int, index: int) -> int | None:
    """Position of field ``index`` of the table at ``table``, or None when absent."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    size = struct.unpack_from("<H", buf, vtable)[0]
    if 4 + 2 * index >= size:
        return None
    off = struct.unpack_from("<H", buf, vtable + 4 + 2 * index)[0]
    return table + off if off else None


def _ref(buf: bytes | bytearray, table: int, index: int) -> int | None:
    """Where the vector, string or table of reference field ``index`` starts, or None."""
    pos = _field(buf, table, index)
    return None if pos is None else pos + _u32(buf, pos)


def _ints(buf: bytes | bytearray, vector: int | None) -> list[int]:
    if vector is None:
        return []
    n = _u32(buf, vector)
    return list(struct.unpack_from(f"<{n}i", buf, vector + 4))


def _tables(buf: bytes | bytearray, vector: int | None) -> list[int]:
    if vector is None:
        return []
    return [vector + 4 + 4 * i + _u32(buf, vector + 4 + 4 * i) for i in range(_u32(buf, vector))]


def prune_outputs(model: bytes, keep: Callable[[str, tuple[int, ...]], bool]) -> bytes:
    """The model with only the main subgraph's outputs for which ``keep(name, shape)`` is true.

    Operators that contribute to no output kept are removed; the rest keep their order.
    Returns ``model`` itself when every output is kept, when none would be, or when the
    graph has an operator without outputs (one run for a side effect is never removed).
    """
    buf = bytearray(model)
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ValueError("not a TFLite model (no TFL3 identifier)")
    root = _u32(buf, 0)
    subgraphs = _tables(buf, _ref(buf, root, _MODEL_SUBGRAPHS))
    if not subgraphs:
        raise ValueError("TFLite model without a subgraph")
    sg = subgraphs[0]
    tensors = _tables(buf, _ref(buf, sg, _SUBGRAPH_TENSORS))

    def name(t: int) -> str:
        pos = _ref(buf, tensors[t], _TENSOR_NAME)
        return "" if pos is None else bytes(buf[pos + 4:pos + 4 + _u32(buf, pos)]).decode()

    outputs_at = _ref(buf, sg, _SUBGRAPH_OUTPUTS)
    outputs = _ints(buf, outputs_at)
    kept = [t for t in outputs
            if keep(name(t), tuple(_ints(buf, _ref(buf, tensors[t], _TENSOR_SHAPE))))]
    if len(kept) == len(outputs) or not kept:
        return model
    operators_at = _ref(buf, sg, _SUBGRAPH_OPERATORS)
    operators = _tables(buf, operators_at)
    ins = [_ints(buf, _ref(buf, op, _OPERATOR_INPUTS)) for op in operators]
    outs = [_ints(buf, _ref(buf, op, _OPERATOR_OUTPUTS)) for op in operators]
    if any(not o for o in outs):
        return model
    needed = set(kept)
    used = []
    for j in reversed(range(len(operators))):
        if any(t in needed for t in outs[j]):
            used.append(j)
            needed.update(t for t in ins[j] if t >= 0)  # -1: an optional input left out
    used.reverse()
    assert outputs_at is not None and operators_at is not None
    struct.pack_into(f"<I{len(kept)}i", buf, outputs_at, len(kept), *kept)
    struct.pack_into("<I", buf, operators_at, len(used))
    for k, j in enumerate(used):
        slot = operators_at + 4 + 4 * k
        struct.pack_into("<I", buf, slot, operators[j] - slot)
    return bytes(buf)
