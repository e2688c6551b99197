"""The training ops Deeploy tiles: SoftmaxCrossEntropyLoss (ONNX), and onnxruntime's
SoftmaxGrad and SoftmaxCrossEntropyLossGrad (domain com.microsoft). Each becomes a chain
of tiler ops (log-softmax, a one-hot mask of the labels, reductions), so each part is
tiled, lowered and compiled like any other op.

Deeploy's exports use two forms of their own, read as Deeploy's kernels compute them:
a SoftmaxCrossEntropyLoss whose only output is declared with the scores' shape is the
log-probabilities (a loss never has the class dim); a SoftmaxCrossEntropyLossGrad with two
inputs (log_prob, labels) and no upstream gradient is (softmax - one_hot) / N^2, its
kernel normalising once for the mean loss and once for the gradient."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from tiler_dialect.ops import DivOp, MulOp, ReduceMaxOp, ReduceSumOp, SubOp
from tiler_dialect.ops.activations import ExpOp, LogOp, NegOp
from tiler_dialect.ops.elementwise import CastOp
from tiler_dialect.ops.logic import EqualOp, NotOp
from tiler_tools.onnx_frontend.converters import converter, reduce_over
from tiler_tools.onnx_frontend.dtypes import mlir_element_type
from tiler_tools.onnx_frontend.errors import ModelWarning
from tiler_tools.onnx_frontend.node import Const, Node, Value, declared_shape, value_dtype, value_shape

_MS = "com.microsoft"
_REDUCTIONS = ("mean", "sum", "none")


def _sum(n: Node, x: Value, axes: Sequence[int], keep: bool) -> Value:
    return reduce_over(n, ReduceSumOp, x, axes, keep)


def _all_axes(x: Value) -> list[int]:
    return list(range(len(value_shape(x))))


def _log_softmax(n: Node, x: Value, axis: int) -> Value:
    """log(exp(x - max) / sum(exp(x - max))) along `axis`: ONNX's reference order."""
    peak = reduce_over(n, ReduceMaxOp, x, [axis], True)
    e = n.emit(ExpOp, [n.emit(SubOp, [x, peak])])
    return n.emit(LogOp, [n.emit(DivOp, [e, _sum(n, e, [axis], True)])])


def _cast(n: Node, x: Value, dtype: np.dtype) -> Value:
    return n.emit(CastOp, [x], {"to": mlir_element_type(np.dtype(dtype), "the scores' type")})


def _one_hot(n: Node, labels: Value, scores_shape: Sequence[int], dtype: np.dtype) -> Value:
    """1 where the class (dim 1 of the scores) is the label, else 0, in `dtype`."""
    shape = value_shape(labels)
    classes = scores_shape[1]
    trailing = (1,) * (len(scores_shape) - 2)
    index = Const(np.arange(classes, dtype=value_dtype(labels)).reshape((classes, *trailing)), "classes")
    hit = n.emit(EqualOp, [n.emit_view(labels, (shape[0], 1, *shape[1:])), index])
    return _cast(n, hit, dtype)


def _check_labels(n: Node, scores: Sequence[int], labels: Sequence[int]) -> None:
    if len(scores) < 2 or tuple(labels) != (scores[0], *scores[2:]):
        raise n.fail(f"labels of shape {list(labels)} do not match scores of shape {list(scores)} (N, C, D...)")


def _reduction(n: Node) -> str:
    reduction = str(n.attr("reduction", "mean"))
    if reduction not in _REDUCTIONS:
        raise n.fail(f"reduction '{reduction}' is not one of {', '.join(_REDUCTIONS)}")
    return reduction


def _declared_shape(n: Node, output: int) -> list[int | None] | None:
    name = n.proto.output[output] if output < len(n.proto.output) else ""
    graph = n.builder.graph
    for info in [*graph.output, *graph.value_info]:
        if info.name == name:
            return declared_shape(info)
    return None


@converter("SoftmaxCrossEntropyLoss")
def _softmax_cross_entropy(n: Node) -> Sequence[Value]:
    """loss = -log_softmax(scores)[label] * weight[label], 0 where label == ignore_index,
    reduced by `reduction` (mean: over the weights of the counted labels); outputs (loss,
    log_prob)."""
    scores, labels = n.input(0), n.input(1)
    shape = n.shape(0)
    _check_labels(n, shape, n.shape(1))
    dtype = value_dtype(scores)
    log_prob = _log_softmax(n, scores, 1)
    if len(n.proto.output) == 1 and _declared_shape(n, 0) == list(shape):
        warnings.warn(
            f"{n.label}: its only output is declared with the scores' shape {list(shape)}: read as "
            "the log-probabilities, as Deeploy's kernel computes them (ONNX's first output is the loss)",
            ModelWarning,
            stacklevel=2,
        )
        return [log_prob]
    reduction = _reduction(n)
    hot = _one_hot(n, labels, shape, dtype)
    picked = _sum(n, n.emit(MulOp, [log_prob, hot]), [1], False)
    trailing = (1,) * (len(shape) - 2)
    if n.has_input(2):
        weight = n.emit_view(n.input(2), (shape[1], *trailing))
        counted = _sum(n, n.emit(MulOp, [hot, weight]), [1], False)
    else:
        counted = _sum(n, hot, [1], False)  # 1 where the label is a class, else 0
    if "ignore_index" in n.attrs:
        ignored = Const(np.array(int(n.attr("ignore_index", 0)), value_dtype(labels)), "ignore_index")  # type: ignore[arg-type]
        kept = n.emit(NotOp, [n.emit(EqualOp, [labels, ignored])])
        counted = n.emit(MulOp, [counted, _cast(n, kept, dtype)])
    loss = n.emit(NegOp, [n.emit(MulOp, [picked, counted])])
    if reduction == "sum":
        loss = _sum(n, loss, _all_axes(loss), False)
    elif reduction == "mean":
        loss = n.emit(DivOp, [_sum(n, loss, _all_axes(loss), False), _sum(n, counted, _all_axes(counted), False)])
    return [loss, log_prob]


@converter("SoftmaxCrossEntropyLossGrad", domain=_MS)
def _softmax_cross_entropy_grad(n: Node) -> Sequence[Value]:
    """onnxruntime's (dY, log_prob, label): d_logits = (softmax - one_hot) * dY, divided
    by the label count for reduction mean; or Deeploy's (log_prob, label), see above."""
    deeploy = len(n.inputs()) == 2
    lp_index = 0 if deeploy else 1
    log_prob, labels = n.input(lp_index), n.input(lp_index + 1)
    shape = n.shape(lp_index)
    _check_labels(n, shape, n.shape(lp_index + 1))
    dtype = value_dtype(log_prob)
    diff = n.emit(SubOp, [n.emit(ExpOp, [log_prob]), _one_hot(n, labels, shape, dtype)])
    if deeploy:
        if len(shape) != 2:
            raise n.fail(f"Deeploy's two-input form takes (N, C) log-probabilities, got {list(shape)}")
        return [n.emit(MulOp, [diff, Const(np.array(1.0 / (shape[0] * shape[0]), dtype), "batch_norm")])]
    if len(n.inputs()) > 3 or "ignore_index" in n.attrs:
        raise n.fail("weights and ignore_index are not supported")
    reduction = _reduction(n)
    upstream = n.input(0)
    if reduction == "none":
        labels_shape = n.shape(lp_index + 1)
        upstream = n.emit_view(upstream, (labels_shape[0], 1, *labels_shape[1:]))
    elif reduction == "mean":
        count = Const(np.array(math.prod(n.shape(lp_index + 1)), dtype), "count")
        upstream = n.emit(DivOp, [upstream, count])
    return [n.emit(MulOp, [diff, upstream])]


@converter("SoftmaxGrad", "SoftmaxGrad_13", domain=_MS)
def _softmax_grad(n: Node) -> Sequence[Value]:
    """dX = Y * (dY - sum(dY * Y)) along `axis` (inputs dY, Y). SoftmaxGrad_13 has
    Softmax-13's single axis (default -1); SoftmaxGrad coerces to 2-D at `axis`
    (default 1), as Softmax before opset 13."""
    dy, y = n.input(0), n.input(1)
    shape = n.shape(1)
    if n.shape(0) != shape:
        raise n.fail(f"dY of shape {list(n.shape(0))} differs from Y's {list(shape)}")
    single_axis = n.proto.op_type == "SoftmaxGrad_13"
    axis = int(n.attr("axis", -1 if single_axis else 1))  # type: ignore[arg-type]
    if not -len(shape) <= axis < max(len(shape), 1):
        raise n.fail(f"axis {axis} is out of range for rank {len(shape)}")
    axis %= max(len(shape), 1)
    if not single_axis:
        flat = (math.prod(shape[:axis]), math.prod(shape[axis:]))
        dy, y, axis = n.emit_view(dy, flat), n.emit_view(y, flat), 1
    weighted = _sum(n, n.emit(MulOp, [dy, y]), [axis], True)
    return [n.emit_view(n.emit(MulOp, [y, n.emit(SubOp, [dy, weighted])]), shape)]

