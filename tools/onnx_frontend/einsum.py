"""Einsum in the forms of transposes, sums, and (batched) matrix products: each operand's
summed-away labels are reduced, the operands transposed and viewed as stacks of
matrices (batch labels, free labels, contracted labels), multiplied by one batched
MatMul, and the product viewed and transposed into the output's order. Labels repeated
within one operand (diagonals) and more than two operands are not supported."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from tiler_dialect.ops import MatMulOp, ReduceSumOp, TransposeOp
from tiler_dialect.ops.properties import ints_attr
from tiler_tools.onnx_frontend.converters import converter, reduce_over
from tiler_tools.onnx_frontend.errors import MalformedModel
from tiler_tools.onnx_frontend.node import Node, Value, value_shape

_ELLIPSIS_LABELS = [chr(0x100 + i) for i in range(64)]
"""Labels for the dims an ellipsis stands for (never letters, which ONNX's labels are)."""


def parse_equation(n: Node, equation: str, ranks: Sequence[int]) -> tuple[list[list[str]], list[str]]:
    """Each operand's labels and the output's, ellipses expanded (right-aligned, as in
    numpy); an implicit output is the labels used once, in alphabetical order, after the
    ellipsis dims."""
    text = equation.replace(" ", "")
    if not re.fullmatch(r"[A-Za-z.,]*(->[A-Za-z.]*)?", text):
        raise MalformedModel(f"{n.label}: equation '{equation}' is not an einsum equation")
    lhs, arrow, rhs = text.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise MalformedModel(f"{n.label}: equation '{equation}' has {len(terms)} operands, the node {len(ranks)}")
    extras = []
    for term, rank in zip(terms, ranks):
        letters = term.replace("...", "")
        if term.count("...") > 1 or "." in letters:
            raise MalformedModel(f"{n.label}: equation '{equation}' has a malformed ellipsis")
        extra = rank - len(letters)
        if extra < 0 or (extra and "..." not in term):
            raise MalformedModel(f"{n.label}: operand '{term}' has {len(letters)} labels for {rank} dims")
        extras.append(extra)
    ellipsis_rank = max(extras, default=0)
    if ellipsis_rank > len(_ELLIPSIS_LABELS):
        raise n.fail(f"an ellipsis of {ellipsis_rank} dims is not supported")
    operands = []
    for term, extra in zip(terms, extras):
        before, _, after = term.partition("...")
        operands.append([*before, *_ELLIPSIS_LABELS[ellipsis_rank - extra : ellipsis_rank], *after])
    dots = _ELLIPSIS_LABELS[:ellipsis_rank]
    if arrow:
        before, has_dots, after = rhs.partition("...")
        output = [*before, *(dots if has_dots else []), *after]
    else:
        counts: dict[str, int] = {}
        for labels in operands:
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
        output = dots + sorted(label for label, c in counts.items() if c == 1 and label not in dots)
    if len(set(output)) != len(output) or not set(output) <= {label for labels in operands for label in labels}:
        raise MalformedModel(f"{n.label}: the output of '{equation}' repeats a label or names one no operand has")
    return operands, output


def _permute(n: Node, x: Value, labels: list[str], order: list[str]) -> Value:
    perm = [labels.index(label) for label in order]
    if perm == list(range(len(perm))):
        return x
    return n.emit(TransposeOp, [x], {"perm": ints_attr(perm)})


def _sum_away(n: Node, x: Value, labels: list[str], keep: set[str]) -> tuple[Value, list[str]]:
    axes = [i for i, label in enumerate(labels) if label not in keep]
    if not axes:
        return x, labels
    return reduce_over(n, ReduceSumOp, x, axes, False), [label for label in labels if label in keep]


@converter("Einsum")
def _einsum(n: Node) -> Sequence[Value]:
    if "equation" not in n.attrs:
        raise MalformedModel(f"{n.label}: attribute 'equation' is required")
    xs = n.inputs()
    if not 1 <= len(xs) <= 2:
        raise n.fail(f"{len(xs)} operands: only one or two are supported")
    operands, output = parse_equation(n, str(n.attr("equation", "")), [len(value_shape(x)) for x in xs])
    for labels in operands:
        if len(set(labels)) != len(labels):
            raise n.fail("a label repeated within an operand (a diagonal) is not supported")
    sizes: dict[str, int] = {}
    for x, labels in zip(xs, operands):
        for label, size in zip(labels, value_shape(x)):
            if sizes.setdefault(label, size) != size:
                raise n.fail(f"label sizes differ ({sizes[label]} and {size}): broadcasting is not supported")
    out = set(output)
    if len(xs) == 1:
        x, labels = _sum_away(n, xs[0], operands[0], out)
        return [_permute(n, x, labels, output)]
    (a, la), (b, lb) = (_sum_away(n, x, labels, out | set(other)) for x, labels, other in
                        ((xs[0], operands[0], operands[1]), (xs[1], operands[1], operands[0])))
    batch = [label for label in output if label in la and label in lb]
    free_a = [label for label in output if label in la and label not in lb]
    free_b = [label for label in output if label in lb and label not in la]
    contracted = [label for label in la if label in lb and label not in out]

    def size(labels: list[str]) -> int:
        return math.prod(sizes[label] for label in labels)

    stack = [sizes[label] for label in batch]
    a = n.emit_view(_permute(n, a, la, batch + free_a + contracted), [*stack, size(free_a), size(contracted)])
    b = n.emit_view(_permute(n, b, lb, batch + contracted + free_b), [*stack, size(contracted), size(free_b)])
    product = n.emit(MatMulOp, [a, b])
    y = n.emit_view(product, [sizes[label] for label in batch + free_a + free_b])
    return [_permute(n, y, batch + free_a + free_b, output)]
