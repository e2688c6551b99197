"""The ops whose lowering takes several steps over scratch buffers rather than one
linalg.generic: softmax and layer normalization per row, ArgMax/ArgMin and Gather
(indexing.py), the integer contractions (an
int32 sum, then the requantizing epilogue), the integer sums and means, Deeploy's
iSoftmax and iRMSNorm, onnxruntime's QLinearSoftmax. `STEPS` maps each op to its steps;
`INTEGER_STEPS` those whose integer form alone takes steps."""

from __future__ import annotations

import math as pymath
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import math
from xdsl.dialects.builtin import (
    Float32Type,
    Float64Type,
    IntegerType,
)
from xdsl.ir import Attribute, SSAValue

from tiler_dialect.ops import (
    InstanceNormOp,
    LayerNormOp,
    RMSNormOp,
    QLinearConvOp,
    QLinearMatMulOp,
    ReduceMeanOp,
    SoftmaxOp,
    TilerOp,
)
from tiler_dialect.ops.normalization import RowNormalization
from tiler_dialect.ops.deeploy import (
    IntegerRMSNormOp,
    IntegerSoftmaxOp,
    RequantizedConvOp,
    RequantizedMatMulOp,
)
from tiler_dialect.ops.qlinear import (
    QLinearGlobalAveragePoolOp,
    QLinearSoftmaxOp,
)
from tiler_dialect.tiling import IterKind, LinearForm
from tiler_passes.lowering import deeploy, integer
from tiler_passes.lowering.indexing import STEPS as INDEXING_STEPS
from tiler_passes.lowering.structured import Access, Element, Emitter, Index, constant_of, fill, generic
from tiler_passes.lowering.tile import Tile, input_access, output_scratch, reduce_count, row_scratch


# -- per-row steps ------------------------------------------------------------------------


@dataclass
class RowSteps:
    """What the steps of a per-row op share: its loops (the row axes are the reductions),
    the input and output over them, and the per-row scratch (`rows`: an access to it)."""

    iterators: list[str]
    parallel: list[str]
    extents: list[Index]
    x: Access
    y: Access
    scratch: SSAValue
    rows: Access
    name: str

    @property
    def element_type(self):
        return self.scratch.type.element_type  # type: ignore[attr-defined]


def row_steps(emitter: Emitter, tile: Tile, axes: set[int], element_type: Attribute | None = None) -> RowSteps:
    """The steps' loops over the row axes `axes`, with a per-row scratch of
    `element_type` (the output's by default)."""
    op = tile.op
    rows = [j for j, d in enumerate(tile.kept) if d not in axes]
    out_shape = op.output_shape
    whole = [LinearForm(((tile.position[i], 1),), 0) if out_shape[i] > 1 else LinearForm((), 0) for i in range(len(out_shape))]
    alloc, scratch = row_scratch(emitter, tile, rows, element_type)
    emitter.hoisted.append(alloc)
    return RowSteps(
        iterators=["reduction" if d in axes else "parallel" for d in tile.kept],
        parallel=["parallel"] * len(tile.kept),
        extents=[tile.sizes[d] for d in tile.kept],
        x=Access(op.inputs[0], whole),
        y=Access(op.outputs[0], whole),
        scratch=scratch,
        rows=Access(scratch, [LinearForm(((r, 1),), 0) for r in rows]),
        name=op.node_name or op.name,
    )


def _lower_softmax(emitter: Emitter, tile: Tile) -> None:
    """max per row; y = exp(x - max); sum per row; y = y / sum (the kernel's order)."""
    op = tile.op
    assert isinstance(op, SoftmaxOp)
    r = row_steps(emitter, tile, {op.axis_index})
    fill(emitter, constant_of(emitter, float("-inf"), r.element_type), r.scratch)
    generic(emitter, r.iterators, r.extents, [r.x], [r.rows], lambda e: [e.b.max(e.out[0], e.values[0])], doc=f"{r.name}: max")
    generic(emitter, r.parallel, r.extents, [r.x, r.rows], [r.y], lambda e: [e.b.exp(e.b.sub(e.values[0], e.values[1]))], doc=f"{r.name}: exp")
    fill(emitter, constant_of(emitter, 0.0, r.element_type), r.scratch)
    generic(emitter, r.iterators, r.extents, [r.y], [r.rows], lambda e: [e.b.add(e.out[0], e.values[0])], doc=f"{r.name}: sum")
    generic(emitter, r.parallel, r.extents, [r.rows], [r.y], lambda e: [e.b.div(e.out[0], e.values[0])], doc=f"{r.name}: normalize")


def _lower_row_normalization(emitter: Emitter, tile: Tile) -> None:
    """Centered (LayerNorm, InstanceNorm): mean per row; y = x - mean; variance per row
    (of y). Not centered (RMSNorm): the mean of x's squares per row. Then y = (y, or x)
    / sqrt(var + eps) * scale + bias. Means divide each term by the row's size, as a
    running mean."""
    op = tile.op
    assert isinstance(op, RowNormalization)
    axes = op.normalized_axes
    r = row_steps(emitter, tile, axes)
    count = float(pymath.prod(op.output_shape[a] for a in axes))
    params = [Access(v, tile.forms(a)) for v, a in zip(op.inputs[1:], tile.desc.inputs[1:])]
    eps = op.epsilon.value.data

    def mean_term(e: Element, v: SSAValue) -> list[SSAValue]:
        return [e.b.add(e.out[0], e.b.div(v, e.b.const(count, v.type)))]

    centered = op.CENTERED
    if centered:
        fill(emitter, constant_of(emitter, 0.0, r.element_type), r.scratch)
        generic(emitter, r.iterators, r.extents, [r.x], [r.rows], lambda e: mean_term(e, e.values[0]), doc=f"{r.name}: mean")
        generic(emitter, r.parallel, r.extents, [r.x, r.rows], [r.y], lambda e: [e.b.sub(e.values[0], e.values[1])], doc=f"{r.name}: center")
    terms = r.y if centered else r.x  # the centered values, or x itself
    fill(emitter, constant_of(emitter, 0.0, r.element_type), r.scratch)
    generic(emitter, r.iterators, r.extents, [terms], [r.rows], lambda e: mean_term(e, e.b.mul(e.values[0], e.values[0])),
            doc=f"{r.name}: variance" if centered else f"{r.name}: mean square")

    def normalize(e: Element) -> list[SSAValue]:
        b = e.b
        var, *p = e.values
        value = e.out[0] if centered else p.pop()
        v = b.mul(b.div(value, b.sqrt(b.add(var, b.const(eps, var.type)))), p[0])
        return [b.add(v, p[1]) if len(p) > 1 else v]

    inputs = [r.rows, *params] + ([] if centered else [r.x])
    generic(emitter, r.parallel, r.extents, inputs, [r.y], normalize, doc=f"{r.name}: normalize")


# -- QLinearConv and QLinearMatMul: an int32 sum in scratch, then the epilogue ----------


def _lower_integer_contraction(
    emitter: Emitter, tile: Tile, terms: int, bias: int | None, params: Sequence[int],
    product: Callable[[TilerOp, Element, Tile], SSAValue], epilogue: Callable[[TilerOp, Element, Tile], SSAValue],
) -> None:
    """acc = the bias input (or 0); acc += product(inputs[:terms]) over the tile's whole
    reduction (it is never split); y = epilogue(acc, *inputs[params]). The int32 sum lives
    in a scratch buffer shaped like the output tile, only for the tile's duration."""
    op = tile.op
    desc = tile.desc
    name = op.node_name or op.name
    inputs = [
        input_access(emitter, tile, buffer, access, shape)
        for buffer, access, shape in zip(op.inputs[:terms], desc.inputs, op.input_shapes)
    ]
    parallel = [d for d in tile.kept if desc.dims[d].kind == IterKind.PARALLEL]
    par_extents = [tile.sizes[d] for d in parallel]
    par_offsets = [tile.offsets[d] for d in parallel]
    alloc, scratch = output_scratch(emitter, tile, IntegerType(32), "int32 sum")
    emitter.hoisted.append(alloc)
    out_access = desc.outputs[0]
    acc_parallel = Access(scratch, tile.forms(out_access, parallel))
    if bias is not None and len(op.inputs) > bias:  # the bias starts the sum
        start = Access(op.inputs[bias], tile.forms(desc.inputs[bias], parallel))
        generic(emitter, ["parallel"] * len(parallel), par_extents, [start], [acc_parallel],
                lambda e: [e.values[0]], par_offsets, f"{name}: bias")
    else:
        fill(emitter, constant_of(emitter, 0, IntegerType(32)), scratch)
    iterators = ["parallel" if desc.dims[d].kind == IterKind.PARALLEL else "reduction" for d in tile.kept]
    generic(
        emitter, iterators, [tile.sizes[d] for d in tile.kept], inputs, [Access(scratch, tile.forms(out_access))],
        lambda e: [e.b.add(e.out[0], product(op, e, tile))],
        [tile.offsets[d] for d in tile.kept], f"{name}: int32 sum",
    )
    extra = [Access(op.inputs[i], tile.forms(desc.inputs[i], parallel)) for i in params]
    generic(emitter, ["parallel"] * len(parallel), par_extents, [acc_parallel, *extra],
            [Access(op.outputs[0], tile.forms(out_access, parallel))],
            lambda e: [epilogue(op, e, tile)], par_offsets, f"{name}: requantize")


def _lower_qlinear_contraction(emitter: Emitter, tile: Tile) -> None:
    """QLinearConv, QLinearMatMul: ins(x, w, x_zp, w_zp, multiplier, y_zp[, bias])."""
    _lower_integer_contraction(emitter, tile, 4, 6, (4, 5), integer.shifted_product, lambda op, e, tile: integer.requantize(e))


def _lower_requantized_contraction(emitter: Emitter, tile: Tile) -> None:
    """Deeploy's RequantizedConv and RequantizedMatMul: ins(x, w, mul, add)."""
    _lower_integer_contraction(emitter, tile, 2, None, (2, 3), deeploy.product, deeploy.requant_shift)


def _lower_integer_sum(
    emitter: Emitter, tile: Tile, accumulator: IntegerType, epilogue: Callable[[Element], SSAValue]
) -> None:
    """acc = sum(x) over the tile's whole reduction (never split), in a scratch of
    `accumulator` integers shaped like the output tile; then y = epilogue(acc)."""
    op = tile.op
    desc = tile.desc
    name = op.node_name or op.name
    parallel = [d for d in tile.kept if desc.dims[d].kind == IterKind.PARALLEL]
    alloc, scratch = output_scratch(emitter, tile, accumulator, f"{accumulator} sum")
    emitter.hoisted.append(alloc)
    fill(emitter, constant_of(emitter, 0, accumulator), scratch)
    x = input_access(emitter, tile, op.inputs[0], desc.inputs[0], op.input_shapes[0])
    iterators = ["parallel" if desc.dims[d].kind == IterKind.PARALLEL else "reduction" for d in tile.kept]
    generic(emitter, iterators, [tile.sizes[d] for d in tile.kept], [x], [Access(scratch, tile.forms(desc.outputs[0]))],
            lambda e: [e.b.add(e.out[0], e.b.convert(e.values[0], accumulator))], [tile.offsets[d] for d in tile.kept],
            f"{name}: sum")
    generic(emitter, ["parallel"] * len(parallel), [tile.sizes[d] for d in parallel],
            [Access(scratch, tile.forms(desc.outputs[0], parallel))],
            [Access(op.outputs[0], tile.forms(desc.outputs[0], parallel))],
            lambda e: [epilogue(e)], [tile.offsets[d] for d in parallel], f"{name}: mean")


def _lower_qlinear_global_pool(emitter: Emitter, tile: Tile) -> None:
    """The int32 sum over the whole image, then the requantizing epilogue with the
    image's element count."""
    op = tile.op
    count = pymath.prod(op.input_shapes[0][2:])
    _lower_integer_sum(emitter, tile, IntegerType(32), lambda e: integer.global_pool_epilogue(op, e, count))


def _lower_integer_mean(emitter: Emitter, tile: Tile) -> None:
    """An integer mean: the int64 sum, divided once, rounded as the op's `rounding` says
    (a float mean sums each term divided by the count, the generic reduction)."""
    op = tile.op
    assert isinstance(op, ReduceMeanOp)
    out_type = op.outputs[0].type.element_type  # type: ignore[attr-defined]
    count = reduce_count(op)
    _lower_integer_sum(emitter, tile, IntegerType(64), lambda e: deeploy.integer_mean(op.rounding_mode, e.b, e.values[0], count, out_type))


def _lower_integer_softmax(emitter: Emitter, tile: Tile) -> None:
    """Deeploy's iSoftmax per row (the last axis): the max; y = its integer exp
    (deeploy.softmax_term) in an int64 scratch; the int64 sum of y; out = floor(y (n - 1)
    / sum)."""
    op = tile.op
    axis = len(op.output_shape) - 1
    x_type = op.inputs[0].type.element_type  # type: ignore[attr-defined]
    r = row_steps(emitter, tile, {axis}, x_type)  # its scratch holds the row's max
    i64_ = IntegerType(64)
    rows = [j for j, d in enumerate(tile.kept) if d != axis]
    sum_alloc, sums = row_scratch(emitter, tile, rows, i64_)
    y_alloc, ys = output_scratch(emitter, tile, i64_, "int64 exp")
    emitter.hoisted.extend([sum_alloc, y_alloc])
    sum_rows, y = Access(sums, r.rows.forms), Access(ys, r.y.forms)
    fill(emitter, constant_of(emitter, float("-inf"), x_type), r.scratch)
    generic(emitter, r.iterators, r.extents, [r.x], [r.rows], lambda e: [e.b.max(e.out[0], e.values[0])], doc=f"{r.name}: max")
    generic(emitter, r.parallel, r.extents, [r.x, r.rows], [y],
            lambda e: [deeploy.softmax_term(op, e.b, *e.values)], doc=f"{r.name}: exp")
    fill(emitter, constant_of(emitter, 0, i64_), sums)
    generic(emitter, r.iterators, r.extents, [y], [sum_rows], lambda e: [e.b.add(e.out[0], e.values[0])], doc=f"{r.name}: sum")
    out_type = op.outputs[0].type.element_type  # type: ignore[attr-defined]
    generic(emitter, r.parallel, r.extents, [y, sum_rows], [r.y],
            lambda e: [deeploy.softmax_output(op, e.b, *e.values, out_type)], doc=f"{r.name}: normalize")


def _lower_integer_rms_norm(emitter: Emitter, tile: Tile) -> None:
    """Deeploy's iRMSNorm per row (the last axis): the int64 sum of x^2; std =
    isqrt(sum / L + 1); out = clamp(trunc(x w / std) >> log2(D))."""
    op = tile.op
    axis = len(op.output_shape) - 1
    i64_ = IntegerType(64)
    r = row_steps(emitter, tile, {axis}, i64_)  # its scratch holds the sum, then std
    rows = [j for j, d in enumerate(tile.kept) if d != axis]
    std_alloc, stds = row_scratch(emitter, tile, rows, i64_)
    emitter.hoisted.append(std_alloc)
    std_rows = Access(stds, r.rows.forms)
    weight = Access(op.inputs[1], tile.forms(tile.desc.inputs[1]))
    length = op.output_shape[axis]
    fill(emitter, constant_of(emitter, 0, i64_), r.scratch)
    generic(emitter, r.iterators, r.extents, [r.x], [r.rows],
            lambda e: [e.b.add(e.out[0], deeploy.square(op, e.b, e.values[0]))], doc=f"{r.name}: sum of squares")
    generic(emitter, ["parallel"] * len(rows), [r.extents[j] for j in rows], [Access(r.scratch, _identity_forms(len(rows)))],
            [Access(stds, _identity_forms(len(rows)))], lambda e: [deeploy.rms_std(op, e.b, e.values[0], length)],
            doc=f"{r.name}: std")
    out_type = op.outputs[0].type.element_type  # type: ignore[attr-defined]
    generic(emitter, r.parallel, r.extents, [r.x, weight, std_rows], [r.y],
            lambda e: [deeploy.rms_output(op, e.b, *e.values, out_type)], doc=f"{r.name}: normalize")


def _identity_forms(rank: int) -> list[LinearForm]:
    return [LinearForm(((j, 1),), 0) for j in range(rank)]


def _lower_qlinear_softmax(emitter: Emitter, tile: Tile) -> None:
    """onnxruntime's QLinearSoftmax per row: the max; t = float32(exp((x - max + shift)
    * x_scale)) in double (its table's entries); the float32 sum of t, in order; y =
    rint(float32(t * floor(1 / y_scale)) / sum) + y_zp, 255 above 255, wrapping to int8."""
    op = tile.op
    assert isinstance(op, QLinearSoftmaxOp)
    axis = op.axis_index
    r = row_steps(emitter, tile, {axis})  # its scratch (int8) holds the row's max
    length = op.output_shape[axis]
    x_scale = float(np.float32(op.x_scale.value.data))
    shift = max(0.0, pymath.log(float(np.float32(np.finfo(np.float32).max) / np.float32(length))) - 5) / x_scale
    k = float(pymath.floor(np.float32(1.0) / np.float32(op.y_scale.value.data)))
    zero_point = op.y_zero_point.value.data
    f32_, f64_, i32_ = Float32Type(), Float64Type(), IntegerType(32)
    rows = [j for j, d in enumerate(tile.kept) if d != axis]
    sum_alloc, sums = row_scratch(emitter, tile, rows, f32_)
    t_alloc, table = output_scratch(emitter, tile, f32_, "exp table")
    emitter.hoisted.extend([sum_alloc, t_alloc])
    sum_rows = Access(sums, r.rows.forms)
    t = Access(table, r.y.forms)
    fill(emitter, constant_of(emitter, float("-inf"), r.element_type), r.scratch)  # the type's minimum
    generic(emitter, r.iterators, r.extents, [r.x], [r.rows], lambda e: [e.b.max(e.out[0], e.values[0])], doc=f"{r.name}: max")

    def exp_term(e: Element) -> list[SSAValue]:
        b = e.b
        d = b.convert(b.sub(b.convert(e.values[0], i32_), b.convert(e.values[1], i32_)), f64_)
        return [b.convert(b.exp(b.mul(b.add(d, b.const(shift, f64_)), b.const(x_scale, f64_))), f32_)]

    generic(emitter, r.parallel, r.extents, [r.x, r.rows], [t], exp_term, doc=f"{r.name}: exp table")
    fill(emitter, constant_of(emitter, 0.0, f32_), sums)
    # (+ 0.0, exact for these positive terms, keeps the executor's sum in order, as
    # onnxruntime's and the C loop's are, rather than numpy's pairwise reduction)
    generic(emitter, r.iterators, r.extents, [t], [sum_rows],
            lambda e: [e.b.add(e.b.add(e.out[0], e.values[0]), e.b.const(0.0, f32_))], doc=f"{r.name}: sum")

    def quantize(e: Element) -> list[SSAValue]:
        b = e.b
        value, total = e.values
        q = b.emit(math.RoundEvenOp(b.div(b.mul(value, b.const(k, f32_)), total)))
        v = b.add(b.convert(q, i32_), b.const(zero_point, i32_))
        return [b.convert(b.min(v, b.const(255, i32_)), r.element_type)]  # int8 wraps

    generic(emitter, r.parallel, r.extents, [t, sum_rows], [r.y], quantize, doc=f"{r.name}: quantize")


STEPS: dict[type[TilerOp], Callable[[Emitter, Tile], None]] = {
    SoftmaxOp: _lower_softmax,
    LayerNormOp: _lower_row_normalization,
    RMSNormOp: _lower_row_normalization,
    InstanceNormOp: _lower_row_normalization,
    QLinearConvOp: _lower_qlinear_contraction,
    QLinearMatMulOp: _lower_qlinear_contraction,
    QLinearGlobalAveragePoolOp: _lower_qlinear_global_pool,
    QLinearSoftmaxOp: _lower_qlinear_softmax,
    RequantizedConvOp: _lower_requantized_contraction,
    RequantizedMatMulOp: _lower_requantized_contraction,
    IntegerSoftmaxOp: _lower_integer_softmax,
    IntegerRMSNormOp: _lower_integer_rms_norm,
    **INDEXING_STEPS,
}

INTEGER_STEPS: dict[type[TilerOp], Callable[[Emitter, Tile], None]] = {
    ReduceMeanOp: _lower_integer_mean,
}
"""Ops whose integer form takes steps of their own (the float form is in LOWERINGS)."""
