"""QDQ graphs: DequantizeLinear -> Conv / MatMul / Gemm -> QuantizeLinear as one integer op.

onnxruntime's quantizer, PyTorch and TensorFlow write quantized models as float ops
between DequantizeLinear (DQ) and QuantizeLinear (Q) nodes. Where a Conv, MatMul or Gemm
reads DQ'd 8-bit data and weights (and a DQ'd int32 bias whose scale is the data's times
the weights'), and its float result goes only to a Q (perhaps through a Relu), the chain
is the integer op onnxruntime itself runs for it: QLinearConv, QLinearMatMul or
com.microsoft QGemm, accumulating in int32 and requantizing into the Q's type. A Relu in
between becomes a clip at the output's zero point (the quantized form of max(x, 0)), a
Clip with constant bounds a clip at the bounds quantized with the output's scale.
Add, Mul, AveragePool, GlobalAveragePool and Softmax between DQs and a Q become the
com.microsoft ops onnxruntime runs (QLinearAdd, ...); Concat becomes QLinearConcat; the
views and MaxPool between a DQ and a Q of the same scale and zero point act on the 8-bit
data directly.
Everything else stays as it is: a Q or DQ of no pattern is an element-wise op of its own.

The rewrite needs the weights, scales and zero points to be constants with per-tensor
data and output scales (per-channel weight scales are fine), like onnxruntime's fusion.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from tiler_dialect.ops.quantization import quantize

QGEMM_DOMAIN = "com.microsoft"


def _is(node: onnx.NodeProto | None, op_type: str) -> bool:
    return node is not None and node.op_type == op_type and node.domain in ("", "ai.onnx")


def fuse_qdq(
    nodes: list[onnx.NodeProto],
    constants: dict[str, np.ndarray],
    graph_outputs: set[str],
    opset: int = 13,
) -> tuple[list[onnx.NodeProto], dict[str, np.ndarray]]:
    """The node list with each matching chain replaced by its integer op, and constants
    the new nodes add (a transposed weight, a relu's bound)."""
    producer = {o: n for n in nodes for o in n.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    added: dict[str, np.ndarray] = {}

    def const(name: str) -> np.ndarray | None:
        return constants.get(name)

    def dq_parts(value: str, weight: bool) -> tuple[str, str, str] | None:
        """(quantized input, scale, zero point) of the DQ producing `value`."""
        dq = producer.get(value)
        if not _is(dq, "DequantizeLinear") or len(dq.input) < 2 or not dq.output:  # type: ignore[union-attr]
            return None
        q, scale = dq.input[0], dq.input[1]  # type: ignore[union-attr]
        zp = dq.input[2] if len(dq.input) > 2 else ""  # type: ignore[union-attr]
        s = const(scale)
        if s is None or (zp and const(zp) is None) or (weight and const(q) is None):
            return None
        if not weight and s.size != 1:
            return None
        if any(a.name == "block_size" and a.i for a in dq.attribute):  # type: ignore[union-attr]
            return None
        return q, scale, zp

    def only_user(value: str) -> onnx.NodeProto | None:
        users = consumers.get(value, [])
        return users[0] if len(users) == 1 and value not in graph_outputs else None

    def eight_bit(name: str) -> bool:
        a = const(name)
        return a is not None and a.dtype in (np.int8, np.uint8)

    replaced: dict[int, list[onnx.NodeProto]] = {}  # id of the Q -> its replacement
    removed: set[int] = set()
    for n in nodes:
        if not (_is(n, "Conv") or _is(n, "MatMul") or _is(n, "Gemm")) or len(n.input) < 2 or not n.output:
            continue  # (a malformed node is the converter's to report)
        x = dq_parts(n.input[0], weight=False)
        w = dq_parts(n.input[1], weight=True)
        if x is None or w is None or not x[2] or not eight_bit(x[2]) or not eight_bit(w[0]):
            continue
        after = only_user(n.output[0])
        relu = after if (_is(after, "Relu") or _clip_bounds(after, const, opset) is not None) and after.output else None  # type: ignore[union-attr]
        q = only_user(relu.output[0]) if relu is not None else after
        if not _is(q, "QuantizeLinear") or len(q.input) < 3 or not q.output:  # type: ignore[union-attr]
            continue
        y_scale, y_zp = q.input[1], q.input[2]  # type: ignore[union-attr]
        if const(y_scale) is None or const(y_scale).size != 1 or not eight_bit(y_zp):  # type: ignore[union-attr]
            continue
        bias = _bias(n, x, w, producer, const)
        if bias is False:
            continue
        x_zp = x[2]
        w_zp = w[2]
        if not w_zp:  # DequantizeLinear's default zero point: 0 of the weights' type
            w_zp = (n.name or n.output[0]) + "_w_zero_point"
            added[w_zp] = np.zeros((), const(w[0]).dtype)  # type: ignore[union-attr]
        out = q.output[0]  # type: ignore[union-attr]
        fused_out = out + "_before_relu" if relu is not None else out
        name = n.name or out
        if _is(n, "Conv"):
            inputs = [x[0], x[1], x_zp, w[0], w[1], w_zp, y_scale, y_zp] + ([bias] if bias else [])
            attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
            fused = helper.make_node("QLinearConv", inputs, [fused_out], name=name, **attrs)
        elif _is(n, "MatMul"):
            inputs = [x[0], x[1], x_zp, w[0], w[1], w_zp, y_scale, y_zp]
            fused = helper.make_node("QLinearMatMul", inputs, [fused_out], name=name)
        else:
            attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
            if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
                continue
            inputs = [x[0], x[1], x_zp, w[0], w[1], w_zp, bias or "", y_scale, y_zp]
            fused = helper.make_node(
                "QGemm", inputs, [fused_out], name=name, domain=QGEMM_DOMAIN, transB=attrs.get("transB", 0)
            )
        chain = [fused]
        if relu is not None:  # the clamp in the output's integers: Q is monotone, so
            # Q(clip(y, lo, hi)) = clip(Q(y), Q(lo), Q(hi)); a Relu is clip(y, 0, inf)
            lo, hi = (0.0, None) if _is(relu, "Relu") else _clip_bounds(relu, const, opset)  # type: ignore[misc]
            bounds = []
            for which, bound in (("low", lo), ("high", hi)):
                if bound is None:
                    bounds.append("")
                    continue
                bounds.append(f"{out}_{which}_bound")
                added[bounds[-1]] = quantize(np.array(bound, np.float32), const(y_scale).reshape(()), const(y_zp).reshape(()))  # type: ignore[union-attr]
            inputs = [fused_out, *bounds]
            while inputs[-1] == "":
                inputs.pop()
            chain.append(helper.make_node("Clip", inputs, [out], name=(relu.name or out) + "_quantized"))
        replaced[id(q)] = chain
        removed.update(id(m) for m in (n, relu) if m is not None)
    for n in nodes:
        fused = _qlinear_node(n, dq_parts, only_user, eight_bit, const, opset) or _integer_data_movement(
            n, dq_parts, only_user, eight_bit, const
        )
        if fused is not None:
            q = only_user(n.output[0])
            replaced[id(q)] = [fused]
            removed.add(id(n))
    if not replaced:
        return nodes, added
    result: list[onnx.NodeProto] = []
    for n in nodes:
        if id(n) in replaced:
            result.extend(replaced[id(n)])
        elif id(n) not in removed:
            result.append(n)
    return _without_unused_dequantize(result, graph_outputs), added


_QLINEAR = {
    "Add": "QLinearAdd",
    "Mul": "QLinearMul",
    "AveragePool": "QLinearAveragePool",
    "GlobalAveragePool": "QLinearGlobalAveragePool",
    "Softmax": "QLinearSoftmax",
}
"""The ops between DQ and Q that onnxruntime runs as com.microsoft integer ops."""


def _qlinear_node(n, dq_parts, only_user, eight_bit, const, opset: int) -> onnx.NodeProto | None:
    """The com.microsoft op for DQ(s) -> n -> Q, or None when the chain does not match:
    every input a DQ of 8-bit data with per-tensor scale and zero point, the output going
    only to a per-tensor Q of the same type."""
    if n.op_type not in _QLINEAR or not _is(n, n.op_type) or not n.output:
        return None
    arity = 2 if n.op_type in ("Add", "Mul") else 1
    if len(n.input) != arity:
        return None
    parts = [dq_parts(i, weight=False) for i in n.input]
    q = only_user(n.output[0])
    if any(p is None or not p[2] for p in parts) or not _is(q, "QuantizeLinear") or len(q.input) < 3 or not q.output:
        return None
    y_scale, y_zp = q.input[1], q.input[2]
    zps = [const(p[2]) for p in parts] + [const(y_zp)]
    if const(y_scale) is None or const(y_scale).size != 1 or not all(eight_bit(z) for z in (*(p[2] for p in parts), y_zp)):
        return None
    if len({z.dtype for z in zps}) != 1 or any(z.size != 1 for z in zps):
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
    if n.op_type == "Softmax":
        if opset < 13:  # the 2-D coercion of older opsets
            return None
        attrs = {"axis": attrs.get("axis", -1), "opset": 13}
    inputs = [name for p in parts for name in p] + [y_scale, y_zp]
    return helper.make_node(_QLINEAR[n.op_type], inputs, list(q.output), name=n.name or q.output[0], domain=QGEMM_DOMAIN, **attrs)


def _clip_bounds(n, const, opset: int) -> tuple[float | None, float | None] | None:
    """A Clip's constant (min, max), None for an absent one; None if not a Clip or a bound
    is not a constant."""
    if not _is(n, "Clip") or not n.input:
        return None
    if opset < 11:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        return attrs.get("min"), attrs.get("max")
    bounds: list[float | None] = []
    for i in (1, 2):
        name = n.input[i] if len(n.input) > i else ""
        if not name:
            bounds.append(None)
            continue
        value = const(name)
        if value is None or value.size != 1:
            return None
        bounds.append(float(value.reshape(-1)[0]))
    return bounds[0], bounds[1]


_VIEWS_AND_MAX = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity", "MaxPool")
"""Ops that only move or select values: between a DQ and a Q of one scale and zero point
they compute the same on the 8-bit data (onnxruntime drops such Q/DQ pairs)."""


def _integer_data_movement(n, dq_parts, only_user, eight_bit, const) -> onnx.NodeProto | None:
    """DQ -> view or MaxPool -> Q of the same scale and zero point as the op on the 8-bit
    data; DQs -> Concat -> Q as com.microsoft QLinearConcat (its inputs of another scale
    requantized); None when the chain does not match."""
    if not (n.op_type in _VIEWS_AND_MAX or n.op_type == "Concat") or not _is(n, n.op_type) or len(n.output) != 1:
        return None
    q = only_user(n.output[0])
    if not _is(q, "QuantizeLinear") or len(q.input) < 3 or not q.output or not n.input:
        return None
    y_scale, y_zp = q.input[1], q.input[2]
    data = n.input if n.op_type == "Concat" else n.input[:1]
    parts = [dq_parts(i, weight=False) for i in data]
    if any(p is None or not p[2] or not eight_bit(p[2]) for p in parts) or not eight_bit(y_zp):
        return None
    if const(y_scale) is None or const(y_scale).size != 1:
        return None
    if any(const(p[2]).size != 1 or const(p[2]).dtype != const(y_zp).dtype for p in parts):
        return None

    def same(p) -> bool:
        return bool(
            np.float32(const(p[1]).reshape(-1)[0]) == np.float32(const(y_scale).reshape(-1)[0])
            and const(p[2]).reshape(-1)[0] == const(y_zp).reshape(-1)[0]
        )

    attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
    name = n.name or q.output[0]
    if n.op_type == "Concat":
        if all(same(p) for p in parts):
            return helper.make_node("Concat", [p[0] for p in parts], list(q.output), name=name, **attrs)
        inputs = [y_scale, y_zp] + [v for p in parts for v in p]
        return helper.make_node("QLinearConcat", inputs, list(q.output), name=name, domain=QGEMM_DOMAIN, **attrs)
    if not same(parts[0]):
        return None
    return helper.make_node(n.op_type, [parts[0][0], *n.input[1:]], list(q.output), name=name, **attrs)


def _bias(n, x, w, producer, const) -> str | None | bool:
    """The int32 bias the integer op takes: None without one, False if it does not fit
    (not a DQ'd int32 constant with zero point 0 and scale x_scale * w_scale)."""
    if len(n.input) < 3 or not n.input[2]:
        return None
    dq = producer.get(n.input[2])
    if not _is(dq, "DequantizeLinear") or len(dq.input) < 2:
        return False
    b, scale = dq.input[0], dq.input[1]
    values, s = const(b), const(scale)
    if values is None or s is None or values.dtype != np.int32:
        return False
    if len(dq.input) > 2 and dq.input[2] and np.any(const(dq.input[2]) != 0):
        return False
    expected = const(x[1]).astype(np.float32).reshape(-1)[0] * const(w[1]).astype(np.float32).reshape(-1)
    if not np.allclose(np.broadcast_to(s.reshape(-1), expected.shape), expected, rtol=1e-5, atol=0):
        return False
    return b


def _without_unused_dequantize(nodes: list[onnx.NodeProto], graph_outputs: set[str]) -> list[onnx.NodeProto]:
    """Drop DequantizeLinear nodes nothing reads any more (the fused ops read their inputs)."""
    while True:
        used = {i for n in nodes for i in n.input} | graph_outputs
        kept = [n for n in nodes if not (_is(n, "DequantizeLinear") and n.output[0] not in used)]
        if len(kept) == len(nodes):
            return nodes
        nodes = kept
