"""One converter per ONNX op: read the node's attributes (resolving defaults and opset
differences), and emit the canonical tiler op. Views (Reshape, Flatten, Squeeze,
Unsqueeze) become `tiler.reshape`; Identity and Dropout disappear."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tiler_dialect.ops import (
    AddOp,
    AveragePoolOp,
    BatchNormOp,
    ConcatOp,
    ConvOp,
    DivOp,
    ExpandOp,
    GemmOp,
    GlobalAveragePoolOp,
    LayerNormOp,
    MatMulOp,
    MaxPoolOp,
    MulOp,
    PadOp,
    ReduceMaxOp,
    ReduceMeanOp,
    ReduceMinOp,
    ReduceProdOp,
    ReduceSumOp,
    SliceOp,
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
from tiler_dialect.ops.data_movement import PAD_MODES
from tiler_tools.onnx_frontend.errors import MalformedModel
from tiler_tools.onnx_frontend.node import Const, Converter, Node, Value, value_dtype, value_shape
from xdsl.dialects.builtin import StringAttr

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


def _axis(n: Node, axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < max(rank, 1):
        raise n.fail(f"{what} {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def _ints(values: object) -> list[int]:
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
        pads = _ints(n.attr("pads", [0] * (2 * r)))
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
    strides = _ints(n.attr("strides", [1] * r))
    dilations = _ints(n.attr("dilations", [1] * r))
    pads = _pads(n, spatial, kernel, strides, dilations)
    return {"strides": ints_attr(strides), "dilations": ints_attr(dilations), "pads": ints_attr(pads)}


def conv_props(n: Node, weight: int = 1) -> dict:
    """A convolution's window and group, its weight being input `weight`."""
    if len(n.shape(0)) < 3:
        raise n.fail(f"input must be (N, C, spatial...), got rank {len(n.shape(0))}")
    kernel = n.shape(weight)[2:]
    declared = n.attr("kernel_shape")
    if declared is not None and _ints(declared) != list(kernel):
        raise n.fail(f"kernel_shape {_ints(declared)} differs from the weight's {list(kernel)}")
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
    kernel = _ints(n.attrs["kernel_shape"])
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
    axis = _axis(n, int(n.attr("axis", 1)), len(shape))  # type: ignore[arg-type]
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


# -- data movement ----------------------------------------------------------------------


@converter("Transpose")
def _transpose(n: Node) -> Sequence[Value]:
    rank = len(n.shape(0))
    perm = _ints(n.attr("perm", list(range(rank))[::-1]))
    return [n.emit(TransposeOp, [n.input(0)], {"perm": ints_attr(perm)})]


def _rearrange(n: Node, x: Value, split: Sequence[int], perm: Sequence[int], out: Sequence[int]) -> Value:
    """View x as `split`, transpose by `perm`, view as `out`: one data movement."""
    moved = n.emit(TransposeOp, [n.emit_view(x, split)], {"perm": ints_attr(list(perm))})
    return n.emit_view(moved, out)


def _block(n: Node) -> tuple[int, int, int, int, int]:
    shape = n.shape(0)
    if len(shape) != 4:
        raise n.fail(f"input must be (N, C, H, W), got rank {len(shape)}")
    b = int(n.attr("blocksize", 0))  # type: ignore[arg-type]
    if b <= 0:
        raise MalformedModel(f"{n.label}: blocksize must be positive, got {b}")
    return (b, *shape)  # type: ignore[return-value]


@converter("DepthToSpace")
def _depth_to_space(n: Node) -> Sequence[Value]:
    """ONNX's definition: DCR (depth, column, row) or CRD order of the channel blocks."""
    b, N, C, H, W = _block(n)
    if C % (b * b):
        raise MalformedModel(f"{n.label}: {C} channels do not divide into blocks of {b}x{b}")
    c = C // (b * b)
    out = (N, c, H * b, W * b)
    mode = n.attr("mode", "DCR")
    if mode == "DCR":
        return [_rearrange(n, n.input(0), (N, b, b, c, H, W), (0, 3, 4, 1, 5, 2), out)]
    if mode == "CRD":
        return [_rearrange(n, n.input(0), (N, c, b, b, H, W), (0, 1, 4, 2, 5, 3), out)]
    raise n.fail(f"mode '{mode}' is not one of DCR, CRD")


@converter("SpaceToDepth")
def _space_to_depth(n: Node) -> Sequence[Value]:
    b, N, C, H, W = _block(n)
    if H % b or W % b:
        raise MalformedModel(f"{n.label}: the {H}x{W} image does not divide into blocks of {b}x{b}")
    out = (N, C * b * b, H // b, W // b)
    split = (N, C, H // b, b, W // b, b)
    mode = n.attr("mode", "DCR")  # an attribute from opset 28; DepthToSpace's inverse
    if mode == "DCR":
        return [_rearrange(n, n.input(0), split, (0, 3, 5, 1, 2, 4), out)]
    if mode == "CRD":
        return [_rearrange(n, n.input(0), split, (0, 1, 3, 5, 2, 4), out)]
    raise n.fail(f"mode '{mode}' is not one of DCR, CRD")


@converter("Expand", static=(1,))
def _expand(n: Node) -> Sequence[Value]:
    shape = _ints(n.const_input(1, "shape"))
    try:
        out = np.broadcast_shapes(n.shape(0), tuple(shape))
    except ValueError:
        raise MalformedModel(f"{n.label}: input of shape {list(n.shape(0))} does not broadcast with {shape}") from None
    if out == n.shape(0):
        return [n.input(0)]  # nothing to broadcast: the value itself
    return [n.emit(ExpandOp, [n.input(0)], {"shape": ints_attr(shape)})]


@converter("Concat")
def _concat(n: Node) -> Sequence[Value]:
    if "axis" not in n.attrs:
        raise MalformedModel(f"{n.label}: axis is required")
    return [n.emit(ConcatOp, n.inputs(), {"axis": int_attr(n.attrs["axis"])})]


@converter("Slice", static=(1, 2, 3, 4))
def _slice(n: Node) -> Sequence[Value]:
    shape = n.shape(0)
    r = len(shape)
    if n.opset < 10:
        starts, ends = _ints(n.attr("starts", [])), _ints(n.attr("ends", []))
        axes = _ints(n.attr("axes", list(range(len(starts)))))
        steps = [1] * len(starts)
    else:
        starts = _ints(n.const_input(1, "starts"))
        ends = _ints(n.const_input(2, "ends"))
        axes = _ints(n.const_input(3, "axes")) if n.has_input(3) else list(range(len(starts)))
        steps = _ints(n.const_input(4, "steps")) if n.has_input(4) else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise MalformedModel(f"{n.label}: starts, ends, axes and steps differ in length")
    full_starts, full_ends, full_steps = [0] * r, list(shape), [1] * r
    seen = set()
    for a, b, e, s in zip(axes, starts, ends, steps):
        a = _axis(n, a, r)
        if a in seen:
            raise MalformedModel(f"{n.label}: axis {a} is sliced twice")
        seen.add(a)
        if s == 0:
            raise MalformedModel(f"{n.label}: step of axis {a} is zero")
        size = shape[a]
        b = b + size if b < 0 else b
        e = e + size if e < 0 else e
        if s > 0:
            b, e = min(max(b, 0), size), min(max(e, 0), size)
        else:
            b, e = min(max(b, 0), size - 1), min(max(e, -1), size - 1)
        if -(-(e - b) // s) < 1:
            raise n.fail(f"the slice of axis {a} is empty: empty tensors are not supported")
        full_starts[a], full_ends[a], full_steps[a] = b, e, s
    props = {"starts": ints_attr(full_starts), "ends": ints_attr(full_ends), "steps": ints_attr(full_steps)}
    return [n.emit(SliceOp, [n.input(0)], props)]


@converter("Split", static=(1,))
def _split(n: Node) -> Sequence[Value]:
    """Each output a slice of the input along `axis`: the sizes `split` gives, else
    num_outputs parts of ceil(size / num_outputs) (the last one smaller), else equal parts."""
    shape = n.shape(0)
    r = len(shape)
    axis = _axis(n, int(n.attr("axis", 0)), r)  # type: ignore[arg-type]
    size, count = shape[axis], len(n.proto.output)
    if n.opset < 13:
        sizes = _ints(n.attr("split")) if "split" in n.attrs else None
    else:
        sizes = _ints(n.const_input(1, "split")) if n.has_input(1) else None
    if sizes is None:
        parts = int(n.attr("num_outputs", count))  # type: ignore[arg-type]
        if parts != count:
            raise MalformedModel(f"{n.label}: num_outputs is {parts}, but the node has {count} outputs")
        if "num_outputs" in n.attrs:
            chunk = -(-size // parts)
            sizes = [min(chunk, size - i * chunk) for i in range(parts)]
        elif size % parts:
            raise MalformedModel(f"{n.label}: axis {axis} of size {size} does not split into {parts} equal parts")
        else:
            sizes = [size // parts] * parts
    if len(sizes) != count or sum(sizes) != size or any(s < 0 for s in sizes):
        raise MalformedModel(f"{n.label}: split sizes {sizes} do not cut axis {axis} of size {size} into {count} outputs")
    if any(s == 0 and n.output_used(i) for i, s in enumerate(sizes)):
        raise n.fail(f"split sizes {sizes} make an empty output: empty tensors are not supported")
    results: list[Value] = []
    start = 0
    for i, part in enumerate(sizes):
        if part == 0:  # unused (checked above): a placeholder that nothing reads
            results.append(Const(np.zeros([0 if d == axis else s for d, s in enumerate(shape)], value_dtype(n.input(0))), n.proto.output[i]))
            continue
        starts, ends = [0] * r, list(shape)
        starts[axis], ends[axis] = start, start + part
        props = {"starts": ints_attr(starts), "ends": ints_attr(ends), "steps": ints_attr([1] * r)}
        results.append(n.input(0) if part == size else n.emit(SliceOp, [n.input(0)], props))
        start += part
    return results


@converter("Pad", static=(1, 2, 3))
def _pad(n: Node) -> Sequence[Value]:
    mode = n.attr("mode", "constant")
    if mode not in PAD_MODES:
        raise n.fail(f"mode '{mode}' is not one of {', '.join(PAD_MODES)}")
    r = len(n.shape(0))
    if n.opset < 11:
        pads = _ints(n.attr("pads", n.attr("paddings", [])))
        value = float(n.attr("value", 0.0))  # type: ignore[arg-type]
    else:
        pads = _ints(n.const_input(1, "pads"))
        value = 0.0
        if n.has_input(2):
            value = float(n.const_input(2, "constant_value").reshape(-1)[0])
        if n.has_input(3):
            axes = [_axis(n, a, r) for a in _ints(n.const_input(3, "axes"))]
            if len(pads) != 2 * len(axes):
                raise MalformedModel(f"{n.label}: pads needs {2 * len(axes)} values for {len(axes)} axes")
            full = [0] * (2 * r)
            for i, a in enumerate(axes):
                full[a], full[a + r] = pads[i], pads[i + len(axes)]
            pads = full
    if len(pads) != 2 * r:
        raise MalformedModel(f"{n.label}: pads needs {2 * r} values, got {len(pads)}")
    props = {"pads": ints_attr(pads), "value": PadOp.value_attr(value)}
    if mode != "constant":
        props["mode"] = StringAttr(str(mode))
    return [n.emit(PadOp, [n.input(0)], props)]


def _reduction(n: Node, axes_input_from: int = 18) -> tuple[list[int], bool] | None:
    """The axes (sorted, non-negative) and keepdims of a reduction node, or None when it
    is a no-op (no axes and noop_with_empty_axes). Its axes are an attribute before
    opset `axes_input_from`, an input from then on; none means all."""
    r = len(n.shape(0))
    keep = bool(n.attr("keepdims", 1))
    if n.opset < axes_input_from:
        axes = _ints(n.attr("axes")) if "axes" in n.attrs else []
    else:
        axes = _ints(n.const_input(1, "axes")) if n.has_input(1) else []
        if not axes and n.attr("noop_with_empty_axes", 0):
            return None
    return (sorted({_axis(n, a, r) for a in axes}) if axes else list(range(r))), keep


def _reduce(n: Node, op_class: type[TilerOp], x: Value, axes: list[int], keep: bool) -> Value:
    if not n.shape(0):  # a scalar: reduce it as a one-element vector
        return n.emit(op_class, [n.emit_view(x, [1])], {"axes": ints_attr([0]), "keepdims": bool_attr(False)})
    return n.emit(op_class, [x], {"axes": ints_attr(axes), "keepdims": bool_attr(keep)})


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


# -- views and no-ops -------------------------------------------------------------------


@converter("Identity")
def _identity(n: Node) -> Sequence[Value]:
    return [n.input(0)]


@converter("Dropout", static=(1, 2))
def _dropout(n: Node) -> Sequence[Value]:
    training = n.has_input(2) and bool(n.const_input(2, "training_mode").reshape(-1)[0])
    ratio = float(n.const_input(1, "ratio").reshape(-1)[0]) if n.has_input(1) else 0.5
    if training and ratio != 0.0:
        raise n.fail("training_mode=true drops random elements: only inference is supported")
    # in inference (or with ratio 0) nothing is dropped and the mask is all true; before
    # opset 10 the mask has the data's type
    dtype = np.bool_ if n.opset >= 10 else value_dtype(n.input(0))
    mask = Const(np.ones(n.shape(0), dtype=dtype), n.proto.output[1] if len(n.proto.output) > 1 else "mask")
    return [n.input(0), mask]


@converter("Reshape", static=(1,))
def _reshape(n: Node) -> Sequence[Value]:
    src = n.shape(0)
    target = _ints(n.attr("shape", [])) if n.opset < 5 else _ints(n.const_input(1, "shape"))
    allow_zero = bool(n.attr("allowzero", 0))
    out = [src[i] if s == 0 and not allow_zero else s for i, s in enumerate(target)]
    if out.count(-1) > 1:
        raise MalformedModel(f"{n.label}: shape {target} has more than one -1")
    if -1 in out:
        known = math.prod(s for s in out if s != -1)
        if known == 0 or math.prod(src) % known:
            raise MalformedModel(f"{n.label}: cannot reshape {list(src)} to {target}")
        out[out.index(-1)] = math.prod(src) // known
    if math.prod(out) != math.prod(src) or any(s < 0 for s in out):
        raise MalformedModel(f"{n.label}: cannot reshape {list(src)} to {target}")
    return [n.emit_view(n.input(0), out)]


@converter("Flatten")
def _flatten(n: Node) -> Sequence[Value]:
    src = n.shape(0)
    axis = int(n.attr("axis", 1))  # type: ignore[arg-type]
    if not -len(src) <= axis <= len(src):
        raise n.fail(f"axis {axis} is out of range for rank {len(src)}")
    if axis < 0:
        axis += len(src)
    return [n.emit_view(n.input(0), (math.prod(src[:axis]), math.prod(src[axis:])))]


@converter("Squeeze", static=(1,))
def _squeeze(n: Node) -> Sequence[Value]:
    src = n.shape(0)
    if n.opset < 13:
        axes = _ints(n.attr("axes")) if "axes" in n.attrs else None
    else:
        axes = _ints(n.const_input(1, "axes")) if n.has_input(1) else None
    if axes is None:
        drop = {i for i, s in enumerate(src) if s == 1}
    else:
        drop = {_axis(n, a, len(src)) for a in axes}
        for a in drop:
            if src[a] != 1:
                raise MalformedModel(f"{n.label}: cannot squeeze axis {a} of size {src[a]}")
    return [n.emit_view(n.input(0), [s for i, s in enumerate(src) if i not in drop])]


@converter("Unsqueeze", static=(1,))
def _unsqueeze(n: Node) -> Sequence[Value]:
    src = n.shape(0)
    axes = _ints(n.attr("axes", [])) if n.opset < 13 else _ints(n.const_input(1, "axes"))
    rank = len(src) + len(axes)
    inserted = {_axis(n, a, rank) for a in axes}
    if len(inserted) != len(axes):
        raise MalformedModel(f"{n.label}: repeated axes {axes}")
    it = iter(src)
    return [n.emit_view(n.input(0), [1 if i in inserted else next(it) for i in range(rank)])]


@converter("Shape")
def _shape(n: Node) -> Sequence[Value]:
    # shapes are static, so Shape of any tensor is a constant
    shape = value_shape(n.input(0))
    start, end = int(n.attr("start", 0)), n.attr("end")  # type: ignore[arg-type]
    selected = shape[start:] if end is None else shape[start : int(end)]  # type: ignore[arg-type]
    return [Const(np.array(selected, dtype=np.int64), n.proto.output[0])]


@converter("Size")
def _size(n: Node) -> Sequence[Value]:
    return [Const(np.array(math.prod(value_shape(n.input(0))), dtype=np.int64), n.proto.output[0])]


# the elementwise, training, einsum and quantization ops register themselves in CONVERTERS (modules of their own)
from tiler_tools.onnx_frontend import elementwise_converters as _elementwise  # noqa: E402,F401
from tiler_tools.onnx_frontend import training_converters as _training  # noqa: E402,F401
from tiler_tools.onnx_frontend import einsum as _einsum  # noqa: E402,F401
from tiler_tools.onnx_frontend import quantized as _quantized  # noqa: E402,F401
