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
    chains = _GeluChains(nodes, constants, graph_outputs)
    removed: set[int] = set()
    fused: dict[int, tuple[onnx.NodeProto, int]] = {}  # id of the chain's last node -> Gelu
    for n in nodes:
        if n.op_type != "Erf" or n.domain not in ("", "ai.onnx"):
            continue
        found = chains.match(n)
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


class _GeluChains:
    """Matches x * 0.5 * (1 + erf(x / sqrt(2))) around an Erf, in the orders exporters
    write it; every intermediate must have the chain as its only user."""

    def __init__(self, nodes: list[onnx.NodeProto], constants: dict[str, np.ndarray], graph_outputs: set[str]):
        self.constants, self.graph_outputs = constants, graph_outputs
        self.producer = {o: n for n in nodes for o in n.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in nodes:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)

    def only_use(self, value: str) -> onnx.NodeProto | None:
        users = self.consumers.get(value, [])
        if len(users) != 1 or value in self.graph_outputs:
            return None
        return users[0]

    @staticmethod
    def other_operand(node: onnx.NodeProto, value: str) -> str | None:
        if len(node.input) != 2 or value not in node.input:
            return None
        return node.input[1] if node.input[0] == value else node.input[0]

    def is_constant(self, name: str | None, target: float) -> bool:
        """`name` is a scalar constant within 1e-4 (relative) of `target`."""
        value = _scalar(self.constants, name or "")
        return value is not None and abs(value - target) <= 1e-4 * abs(target)

    def match(self, erf: onnx.NodeProto) -> tuple[str, list[onnx.NodeProto], str] | None:
        """(x, the chain's nodes, its output) for a GELU around `erf`, else None."""
        scale = self.producer.get(erf.input[0])
        if scale is None or self.only_use(erf.input[0]) is not erf:
            return None
        x = self._scaled_input(scale)
        add = self.only_use(erf.output[0])
        if x is None or add is None or add.op_type != "Add":
            return None
        if not self.is_constant(self.other_operand(add, erf.output[0]), 1.0):
            return None
        found = self._halved_product(x, add)
        if found is None:
            return None
        tail, out = found
        return x, [scale, erf, add, *tail], out

    def _scaled_input(self, scale: onnx.NodeProto) -> str | None:
        """x, where `scale` is x / sqrt(2) or x * (1 / sqrt(2))."""
        if scale.op_type == "Div" and self.is_constant(scale.input[1], math.sqrt(2)):
            return scale.input[0]
        if scale.op_type == "Mul":
            return next((i for i in scale.input if self.is_constant(self.other_operand(scale, i), 1 / math.sqrt(2))), None)
        return None

    def _halved_product(self, x: str, add: onnx.NodeProto) -> tuple[list[onnx.NodeProto], str] | None:
        """The nodes that multiply (1 + erf) by x and 0.5, and the output, in any of the
        three orders."""
        first = self.only_use(add.output[0])
        if first is None or first.op_type != "Mul":
            return None
        partner = self.other_operand(first, add.output[0])
        if partner == x:  # (x * (1 + erf)) * 0.5
            second = self.only_use(first.output[0])
            if second is None or second.op_type != "Mul":
                return None
            if not self.is_constant(self.other_operand(second, first.output[0]), 0.5):
                return None
            return [first, second], second.output[0]
        if self.is_constant(partner, 0.5):  # x * ((1 + erf) * 0.5)
            second = self.only_use(first.output[0])
            if second is None or second.op_type != "Mul" or self.other_operand(second, first.output[0]) != x:
                return None
            return [first, second], second.output[0]
        half = self.producer.get(partner or "")  # (x * 0.5) * (1 + erf)
        if half is not None and half.op_type == "Mul" and self.only_use(half.output[0]) is first:
            if x in half.input and self.is_constant(self.other_operand(half, x), 0.5):
                return [half, first], first.output[0]
        return None

