"""Graph patterns fused before conversion.

GELU as PyTorch exports it (before opset 20 had a Gelu op) is a chain around Erf:

    y = x * 0.5 * (1 + erf(x / sqrt(2)))

in one of several association orders, with the division sometimes written as a
multiplication by 1/sqrt(2). Each such chain becomes one Gelu node, provided none of its
intermediate values is used elsewhere.
"""

from __future__ import annotations

import math
import numpy as np
import onnx

FUSED_GELU_DOMAIN = ""


def _scalar(values: dict[str, np.ndarray], name: str) -> float | None:
    a = values.get(name)
    if a is None or a.size != 1:
        return None
    return float(np.asarray(a).reshape(-1)[0])


def fuse_gelu(
    nodes: list[onnx.NodeProto],
    constants: dict[str, np.ndarray],
    graph_outputs: set[str],
) -> tuple[list[onnx.NodeProto], dict[int, int]]:
    """Return the node list with Erf-GELU chains fused, and for each fused node (by id)
    the largest rank of the chain's constants: size-1 constants of rank r broadcast the
    result to at least rank r, which the importer restores with a view."""
    producer = {o: n for n in nodes for o in n.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def only_use(value: str) -> onnx.NodeProto | None:
        users = consumers.get(value, [])
        if len(users) != 1 or value in graph_outputs:
            return None
        return users[0]

    def near(value: float | None, target: float) -> bool:
        return value is not None and abs(value - target) <= 1e-4 * abs(target)

    def other_operand(node: onnx.NodeProto, value: str) -> str | None:
        if len(node.input) != 2 or value not in node.input:
            return None
        return node.input[1] if node.input[0] == value else node.input[0]

    def match(erf: onnx.NodeProto) -> tuple[str, list[onnx.NodeProto], str] | None:
        scale = producer.get(erf.input[0])
        if scale is None or only_use(erf.input[0]) is not erf:
            return None
        if scale.op_type == "Div" and near(_scalar(constants, scale.input[1]), math.sqrt(2)):
            x = scale.input[0]
        elif scale.op_type == "Mul":
            x = next(
                (i for i in scale.input if near(_scalar(constants, other_operand(scale, i) or ""), 1 / math.sqrt(2))),
                None,
            )
            if x is None:
                return None
        else:
            return None
        add = only_use(erf.output[0])
        if add is None or add.op_type != "Add":
            return None
        if not near(_scalar(constants, other_operand(add, erf.output[0]) or ""), 1.0):
            return None
        chain = [scale, erf, add]
        first = only_use(add.output[0])
        if first is None or first.op_type != "Mul":
            return None
        partner = other_operand(first, add.output[0])
        if partner == x:  # (x * (1 + erf)) * 0.5
            second = only_use(first.output[0])
            if second is None or second.op_type != "Mul":
                return None
            if not near(_scalar(constants, other_operand(second, first.output[0]) or ""), 0.5):
                return None
            return x, chain + [first, second], second.output[0]
        if near(_scalar(constants, partner or ""), 0.5):  # x * ((1 + erf) * 0.5)
            second = only_use(first.output[0])
            if second is None or second.op_type != "Mul" or other_operand(second, first.output[0]) != x:
                return None
            return x, chain + [first, second], second.output[0]
        half = producer.get(partner or "")  # (x * 0.5) * (1 + erf)
        if half is not None and half.op_type == "Mul" and only_use(half.output[0]) is first:
            if x in half.input and near(_scalar(constants, other_operand(half, x) or ""), 0.5):
                return x, chain + [half, first], first.output[0]
        return None

    removed: set[int] = set()
    fused: dict[int, onnx.NodeProto] = {}  # id of the chain's last node -> Gelu
    for n in nodes:
        if n.op_type != "Erf" or n.domain not in ("", "ai.onnx"):
            continue
        found = match(n)
        if found is None:
            continue
        x, chain, out = found
        last = max(chain, key=nodes.index)
        gelu = onnx.helper.make_node("Gelu", [x], [out], name=n.name or out, domain=FUSED_GELU_DOMAIN)
        rank = max((constants[i].ndim for c in chain for i in c.input if i in constants), default=0)
        removed.update(id(c) for c in chain)
        fused[id(last)] = (gelu, rank)
    result: list[onnx.NodeProto] = []
    for n in nodes:
        if id(n) in fused:
            result.append(fused[id(n)][0])
        elif id(n) not in removed:
            result.append(n)
    return result, {id(g): rank for g, rank in fused.values()}

