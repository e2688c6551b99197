"""One converter per ONNX op: read the node's attributes (resolving defaults and opset
differences), and emit the canonical tiler op. Here: windows (Conv, pools), contractions,
normalizations and reductions, and the registry every converter module adds to; data
movement and views, elementwise ops, training ops, Einsum, the quantized ops and the
indexing ops (ArgMax/ArgMin, Tile, Gather) have modules of their own."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tiler_dialect.ops import (
    AddOp,
    AveragePoolOp,
    BatchNormOp,
    ConvOp,
    DivOp,
    GemmOp,
    GlobalAveragePoolOp,
    LayerNormOp,
    MatMulOp,
    MaxPoolOp,
    MulOp,
    PowOp,
    ReduceMaxOp,
    ReduceMeanOp,
    ReduceMinOp,
    ReduceProdOp,
    ReduceSumOp,
    SoftmaxOp,
    SqrtOp,
    SubOp,
    TransposeOp,
)
from tiler_dialect.ops.activations import (
    ExpOp,
    LogOp,
)
from tiler_dialect.ops.base import TilerOp
from tiler_dialect.ops.reduction import ReduceL1Op, ReduceSumSquareOp
from tiler_dialect.ops.normalization import InstanceNormOp, RMSNormOp
from tiler_dialect.ops.properties import bool_attr, float_attr, int_attr, ints_attr
from tiler_tools.onnx_frontend.errors import MalformedModel
from tiler_tools.onnx_frontend.node import Const, Converter, Node, Value, value_dtype, value_shape

CONVERTERS: dict[tuple[str, str], Converter] = {}
STATIC_INPUTS: dict[tuple[str, str], frozenset[int]] = {}
"""Inputs that must be constants at import (shapes, axes, pads, bounds), per op."""


def converter(*op_types: str, domain: str = "", static: tuple[int, ...] = ()):
    def register(fn: Converter) -> Converter:
        for op in op_types:
            CONVERTERS[(domain, op)] = fn
            STATIC_INPUTS[(domain, op)] = frozenset(static)
        return fn

    return register


def checked_axis(n: Node, axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < max(rank, 1):
        raise n.fail(f"{what} {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def int_list(values: object) -> list[int]:
    return [int(v) for v in np.asarray(values).reshape(-1)]


# -- windows ----------------------------------------------------------------------------


def _pads(
    n: Node,
    spatial: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
) -> list[int]:
    """Explicit begin/end pads, with ONNX's auto_pad resolved."""
    r = len(spatial)
    auto = n.attr("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        pads = int_list(n.attr("pads", [0] * (2 * r)))
        if len(pads) != 2 * r:
            raise n.fail(f"pads needs {2 * r} values, got {len(pads)}")
        return pads
    if auto == "VALID":
        return [0] * (2 * r)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for size, k, s, d in zip(spatial, kernel, strides, dilations):
            out = -(-size // s)
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
            small = total // 2
            begin = small if auto == "SAME_UPPER" else total - small
            begins.append(begin)
            ends.append(total - begin)
        return begins + ends
    raise n.fail(f"auto_pad '{auto}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER")


def _window_props(n: Node, kernel: Sequence[int]) -> dict:
    spatial = n.shape(0)[2:]
    r = len(spatial)
    if len(kernel) != r:
        raise n.fail(f"kernel has {len(kernel)} spatial dims, the input has {r}")
    strides = int_list(n.attr("strides", [1] * r))
    dilations = int_list(n.attr("dilations", [1] * r))
    pads = _pads(n, spatial, kernel, strides, dilations)
    return {"strides": ints_attr(strides), "dilations": ints_attr(dilations), "pads": ints_attr(pads)}


def conv_props(n: Node, weight: int = 1) -> dict:
    """A convolution's window and group, its weight being input `weight`."""
    if len(n.shape(0)) < 3:
        raise n.fail(f"input must be (N, C, spatial...), got rank {len(n.shape(0))}")
    kernel = n.shape(weight)[2:]
    declared = n.attr("kernel_shape")
    if declared is not None and int_list(declared) != list(kernel):
        raise n.fail(f"kernel_shape {int_list(declared)} differs from the weight's {list(kernel)}")
    props = _window_props(n, kernel)
    props.update(n.given_ints("group"))
    return props


@converter("Conv")
def _conv(n: Node) -> Sequence[Value]:
    return [n.emit(ConvOp, n.inputs()[:3], conv_props(n))]


def _pool_props(n: Node) -> dict:
    if len(n.shape(0)) < 3:
        raise n.fail(f"input must be (N, C, spatial...), got rank {len(n.shape(0))}")
    if "kernel_shape" not in n.attrs:
        raise MalformedModel(f"{n.label}: kernel_shape is required")
    kernel = int_list(n.attrs["kernel_shape"])
    props = _window_props(n, kernel)
    ceil = int(n.attr("ceil_mode", 0))
    if ceil and n.attr("auto_pad", "NOTSET") not in ("NOTSET", ""):
        raise n.fail("ceil_mode together with auto_pad is not supported")
    props["kernel_shape"] = ints_attr(kernel)
    props["ceil_mode"] = bool_attr(bool(ceil))
    return props


@converter("MaxPool")
def _max_pool(n: Node) -> Sequence[Value]:
    n.require_single_output("the pooled values (not Indices)")
    return [n.emit(MaxPoolOp, [n.input(0)], _pool_props(n))]


@converter("AveragePool")
def _average_pool(n: Node) -> Sequence[Value]:
    props = _pool_props(n)
    props.update(n.given_bools("count_include_pad"))
    return [n.emit(AveragePoolOp, [n.input(0)], props)]


@converter("LRN")
def _lrn(n: Node) -> Sequence[Value]:
    """x / (bias + alpha/size * sum of x^2 over a window of `size` channels)^beta, as
    ONNX defines it: x^2 viewed as (N, 1, C, rest) is average-pooled over channels (a
    window of `size` with zero padding, divided by `size`), so the channel window tiles
    with its halo like any pool."""
    shape = n.shape(0)
    if len(shape) < 2:
        raise n.fail(f"input must be (N, C, ...), got rank {len(shape)}")
    if "size" not in n.attrs:
        raise MalformedModel(f"{n.label}: size is required")
    size = int(n.attrs["size"])
    if size < 1:
        raise n.fail(f"size must be positive, got {size}")
    alpha, beta, bias = (float(n.attr(a, d)) for a, d in (("alpha", 1e-4), ("beta", 0.75), ("bias", 1.0)))
    x = n.input(0)
    dtype = value_dtype(x)
    columns = math.prod(shape[2:])
    squares = n.emit_view(n.emit(MulOp, [x, x]), (shape[0], 1, shape[1], columns))
    window = {
        "kernel_shape": ints_attr([size, 1]),
        "strides": ints_attr([1, 1]),
        "dilations": ints_attr([1, 1]),
        "pads": ints_attr([(size - 1) // 2, 0, size // 2, 0]),
        "ceil_mode": bool_attr(False),
        "count_include_pad": bool_attr(True),
    }
    mean = n.emit_view(n.emit(AveragePoolOp, [squares], window), shape)
    scale = n.emit(AddOp, [n.emit(MulOp, [mean, Const(np.array(alpha, dtype), "alpha")]), Const(np.array(bias, dtype), "bias")])
    return [n.emit(MulOp, [x, n.emit(PowOp, [scale, Const(np.array(-beta, dtype), "minus_beta")])])]


@converter("GlobalAveragePool")
def _global_average_pool(n: Node) -> Sequence[Value]:
    return [n.emit(GlobalAveragePoolOp, [n.input(0)])]


@converter("GlobalMaxPool")
def _global_max_pool(n: Node) -> Sequence[Value]:
    """The maximum over all spatial dims is ReduceMax over them, keeping them as 1s."""
    if len(n.shape(0)) < 3:
        raise n.fail(f"input must be (N, C, spatial...), got rank {len(n.shape(0))}")
    return [_reduce(n, ReduceMaxOp, n.input(0), list(range(2, len(n.shape(0)))), True)]


# -- contractions -----------------------------------------------------------------------


@converter("Gemm")
def _gemm(n: Node) -> Sequence[Value]:
    if len(n.shape(0)) > 2 or len(n.shape(1)) > 2:
        return [_batched_gemm(n)]
    props = n.given_floats("alpha", "beta") | n.given_bools("transA", "transB")
    return [n.emit(GemmOp, n.inputs()[:3], props)]


def _last_two_swapped(n: Node, x: Value) -> Value:
    rank = len(value_shape(x))
    perm = [*range(rank - 2), rank - 1, rank - 2]
    return n.emit(TransposeOp, [x], {"perm": ints_attr(perm)})


def _batched_gemm(n: Node) -> Value:
    """Gemm on stacks of matrices, as Deeploy's exporter writes it (ONNX's Gemm takes
    matrices): transA/transB swap the last two dims, then a batched MatMul, times alpha,
    plus beta * C broadcast."""
    a, b = n.input(0), n.input(1)
    if min(len(n.shape(0)), len(n.shape(1))) < 2:
        raise n.fail(f"A {list(n.shape(0))} and B {list(n.shape(1))} must have at least 2 dims")
    if n.attr("transA", 0):
        a = _last_two_swapped(n, a)
    if n.attr("transB", 0):
        b = _last_two_swapped(n, b)
    y = n.emit(MatMulOp, [a, b])
    dtype = value_dtype(y)
    alpha, beta = float(n.attr("alpha", 1.0)), float(n.attr("beta", 1.0))  # type: ignore[arg-type]
    if alpha != 1.0:
        y = n.emit(MulOp, [y, Const(np.array(alpha, dtype), "alpha")])
    if n.has_input(2) and beta != 0.0:
        c = n.input(2)
        if beta != 1.0:
            c = n.emit(MulOp, [c, Const(np.array(beta, dtype), "beta")])
        y = n.emit(AddOp, [y, c])
    return y


@converter("MatMul")
def _matmul(n: Node) -> Sequence[Value]:
    return [n.emit(MatMulOp, [n.input(0), n.input(1)])]


# -- normalizations ---------------------------------------------------------------------


@converter("Softmax")
def _softmax(n: Node) -> Sequence[Value]:
    x = n.input(0)
    shape = n.shape(0)
    if n.opset >= 13:
        return [n.emit(SoftmaxOp, [x], n.given_ints("axis"))]
    # opsets 1-11: the input is coerced to 2-D at `axis`, normalized along the second dim
    axis = checked_axis(n, int(n.attr("axis", 1)), len(shape))  # type: ignore[arg-type]
    rows, cols = math.prod(shape[:axis]), math.prod(shape[axis:])
    flat = n.emit_view(x, (rows, cols))
    y = n.emit(SoftmaxOp, [flat], {"axis": int_attr(1)})
    return [n.emit_view(y, shape)]


@converter("LayerNormalization")
def _layer_norm(n: Node) -> Sequence[Value]:
    x = n.input(0)
    props = n.given_ints("axis") | n.given_floats("epsilon")
    results = [n.emit(LayerNormOp, n.inputs()[:3], props)]
    norm = results[0].owner
    assert isinstance(norm, LayerNormOp)
    if not (n.output_used(1) or n.output_used(2)):
        return results
    # the statistics outputs, from ops we have: Mean = mean(x), InvStdDev = 1/sqrt(var + eps)
    dtype = value_dtype(x)
    if n.attr("stash_type", 1) == 1 and dtype != np.float32:
        raise n.fail(f"Mean/InvStdDev outputs of {dtype} inputs (stash_type float32) are not supported")
    rank = len(n.shape(0))
    axes = list(range(norm.axis_index, rank))
    epsilon = norm.epsilon.value.data
    keep = {"axes": ints_attr(axes), "keepdims": bool_attr(True)}
    mean = n.emit(ReduceMeanOp, [x], keep)
    centered = n.emit(SubOp, [x, mean])
    var = n.emit(ReduceMeanOp, [n.emit(MulOp, [centered, centered])], keep)
    std = n.emit(SqrtOp, [n.emit(AddOp, [var, Const(np.array(epsilon, dtype), "epsilon")])])
    return results + [mean, n.emit(DivOp, [Const(np.array(1, dtype), "one"), std])]


@converter("RMSNormalization")
def _rms_norm(n: Node) -> Sequence[Value]:
    n.require_single_output("Y")
    props = n.given_ints("axis") | n.given_floats("epsilon")
    return [n.emit(RMSNormOp, n.inputs()[:2], props)]


@converter("RMSNorm")
def _deeploy_rms_norm(n: Node) -> Sequence[Value]:
    """Deeploy's fused RMSNorm (a custom op in the default domain): over the last axis,
    `eps` (ONNX's 1e-5 when absent), inputs (x, weight)."""
    props = {"epsilon": float_attr(float(n.attr("eps", 1e-5)))}  # type: ignore[arg-type]
    return [n.emit(RMSNormOp, [n.input(0), n.input(1)], props)]


@converter("InstanceNormalization")
def _instance_norm(n: Node) -> Sequence[Value]:
    return [n.emit(InstanceNormOp, n.inputs()[:3], n.given_floats("epsilon"))]


@converter("GroupNormalization")
def _group_norm(n: Node) -> Sequence[Value]:
    """Instance normalization of x viewed as (N, G, C/G, *S); the scale and bias, per
    channel from opset 21 (viewed as [G, C/G]) or per group before."""
    shape = n.shape(0)
    if len(shape) < 3:
        raise n.fail(f"input must be (N, C, spatial...), got rank {len(shape)}")
    groups = int(n.attr("num_groups", 0))  # type: ignore[arg-type]
    channels = shape[1]
    if groups <= 0 or channels % groups:
        raise n.fail(f"num_groups {groups} does not divide the {channels} channels")
    per_group = (groups, channels // groups) if n.opset >= 21 else (groups,)
    params = []
    for i, name in ((1, "scale"), (2, "bias")):
        if n.shape(i) != (math.prod(per_group),):
            raise n.fail(f"{name} must have shape [{math.prod(per_group)}], got {list(n.shape(i))}")
        params.append(n.emit_view(n.input(i), per_group))
    grouped = n.emit_view(n.input(0), (shape[0], groups, channels // groups, *shape[2:]))
    y = n.emit(InstanceNormOp, [grouped, *params], n.given_floats("epsilon"))
    return [n.emit_view(y, shape)]


@converter("BatchNormalization")
def _batch_norm(n: Node) -> Sequence[Value]:
    if n.attr("training_mode", 0):
        raise n.fail("training_mode=1 is not supported: only inference")
    if not n.attr("spatial", 1):
        raise n.fail("spatial=0 (per-activation statistics) is not supported")
    n.require_single_output("Y (not the running statistics)")
    return [n.emit(BatchNormOp, n.inputs()[:5], n.given_floats("epsilon"))]


# -- reductions -------------------------------------------------------------------------


def _reduction(n: Node, axes_input_from: int = 18) -> tuple[list[int], bool] | None:
    """The axes (sorted, non-negative) and keepdims of a reduction node, or None when it
    is a no-op (no axes and noop_with_empty_axes). Its axes are an attribute before
    opset `axes_input_from`, an input from then on; none means all."""
    r = len(n.shape(0))
    keep = bool(n.attr("keepdims", 1))
    if n.opset < axes_input_from:
        axes = int_list(n.attr("axes")) if "axes" in n.attrs else []
    else:
        axes = int_list(n.const_input(1, "axes")) if n.has_input(1) else []
        if not axes and n.attr("noop_with_empty_axes", 0):
            return None
    return (sorted({checked_axis(n, a, r) for a in axes}) if axes else list(range(r))), keep


def reduce_over(n: Node, op_class: type[TilerOp], x: Value, axes: Sequence[int], keep: bool) -> Value:
    """The reduction `op_class` of x over `axes` (sorted, non-negative)."""
    return n.emit(op_class, [x], {"axes": ints_attr(list(axes)), "keepdims": bool_attr(keep)})


def _reduce(n: Node, op_class: type[TilerOp], x: Value, axes: list[int], keep: bool) -> Value:
    """A reduction node's: of a scalar input (no axes to name), as a one-element vector."""
    if not n.shape(0):
        return reduce_over(n, op_class, n.emit_view(x, [1]), [0], False)
    return reduce_over(n, op_class, x, axes, keep)


_REDUCTIONS = {
    "ReduceMean": ReduceMeanOp,
    "ReduceSum": ReduceSumOp,
    "ReduceMax": ReduceMaxOp,
    "ReduceMin": ReduceMinOp,
    "ReduceProd": ReduceProdOp,
    "ReduceL1": ReduceL1Op,
    "ReduceSumSquare": ReduceSumSquareOp,
}


@converter(*_REDUCTIONS, "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", static=(1,))
def _reduction_op(n: Node) -> Sequence[Value]:
    op_type = n.proto.op_type
    found = _reduction(n, 13 if op_type == "ReduceSum" else 18)
    x = n.input(0)
    if found is None:
        return [x]
    axes, keep = found
    if op_type in _REDUCTIONS:
        return [_reduce(n, _REDUCTIONS[op_type], x, axes, keep)]
    if op_type == "ReduceL2":  # sqrt(sum(x^2)), ONNX's reference order
        return [n.emit(SqrtOp, [_reduce(n, ReduceSumSquareOp, x, axes, keep)])]
    if op_type == "ReduceLogSum":
        return [n.emit(LogOp, [_reduce(n, ReduceSumOp, x, axes, keep)])]
    # log-sum-exp, shifted by the maximum so that exp cannot overflow
    peak = _reduce(n, ReduceMaxOp, x, axes, True)
    total = _reduce(n, ReduceSumOp, n.emit(ExpOp, [n.emit(SubOp, [n.emit_view(x, n.shape(0) or [1]), peak])]), axes, keep)
    shape = value_shape(total)
    return [n.emit(AddOp, [n.emit(LogOp, [total]), n.emit_view(peak, shape)])]


# the data movement, elementwise, training, einsum and quantization ops register themselves
# in CONVERTERS (modules of their own)
from tiler_tools.onnx_frontend import data_movement_converters as _data_movement  # noqa: E402,F401
from tiler_tools.onnx_frontend import elementwise_converters as _elementwise  # noqa: E402,F401
from tiler_tools.onnx_frontend import training_converters as _training  # noqa: E402,F401
from tiler_tools.onnx_frontend import einsum as _einsum  # noqa: E402,F401
from tiler_tools.onnx_frontend import quantized as _quantized  # noqa: E402,F401
from tiler_tools.onnx_frontend import indexing_converters as _indexing  # noqa: E402,F401
