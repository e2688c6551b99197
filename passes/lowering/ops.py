"""Each tiler op as linalg: its tiling description gives the loops and the operands' maps
(structured.py); what is left per op is its scalar formula, `Lowering` below.

- a map op (elementwise, transpose, slice, pad, concat) yields its formula;
- a reduction yields `combine(out, contribution)`; the output starts from `init` (the
  reduction-independent inputs, e.g. a bias, or the combiner's identity) in the tile
  that starts the reduction, and accumulates in the others (a split reduction);
- softmax, layer normalization and the integer contractions, sums and normalizations
  take several steps over scratch buffers (steps.py; the tile they work on: tile.py).

The scalar formulas follow the ops' numpy kernels (tiler_dialect/ops), including where
those compute in double precision.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable
from dataclasses import dataclass

from xdsl.dialects import arith, math, scf
from xdsl.dialects.builtin import (
    AnyFloat,
    IndexType,
)
from xdsl.ir import SSAValue

from tiler_dialect.ops import (
    AddOp,
    AveragePoolOp,
    BatchNormOp,
    CastOp,
    ClipOp,
    ConcatOp,
    ConvIntegerOp,
    ConvOp,
    DequantizeLinearOp,
    DivOp,
    GeluOp,
    GemmOp,
    ExpandOp,
    GlobalAveragePoolOp,
    TileOp,
    HardSigmoidOp,
    HardSwishOp,
    MatMulIntegerOp,
    MatMulOp,
    MaxPoolOp,
    MulOp,
    PadOp,
    PowOp,
    QuantizeLinearOp,
    ReduceMeanOp,
    ReduceSumOp,
    ReluOp,
    SigmoidOp,
    SliceOp,
    SqrtOp,
    SubOp,
    TanhOp,
    TilerOp,
    TransposeOp,
)
from tiler_dialect.ops.deeploy import (
    IntegerHardswishOp,
    IntegerNoNormOp,
    RequantShiftOp,
)
from tiler_dialect.ops.reduction import ReduceL1Op, ReduceMaxOp, ReduceMinOp, ReduceProdOp, ReduceSumSquareOp
from tiler_dialect.ops.qlinear import (
    QLinearAddOp,
    QLinearMulOp,
    RequantizeLinearOp,
)
from tiler_dialect.tiling import IterKind, TilingDescription
from tiler_passes.lowering import deeploy, integer
from tiler_passes.lowering.activations import FORMULAS as ACTIVATION_FORMULAS, abs_of as _abs_of
from tiler_passes.lowering.logic import FORMULAS as LOGIC_FORMULAS
from tiler_passes.lowering.body import Body
from tiler_passes.lowering.named import named_op
from tiler_passes.lowering.structured import Access, Element, Emitter, constant_of, fill, generic
from tiler_passes.lowering.tile import LoweringError, Tile, input_access, reduce_count, tile_of
from tiler_passes.lowering.steps import INTEGER_STEPS, STEPS


COMBINERS: dict[str, tuple[float, Callable[[Body, SSAValue, SSAValue], SSAValue]]] = {
    "add": (0.0, Body.add),
    "mul": (1.0, Body.mul),
    "max": (float("-inf"), Body.max),
    "min": (float("inf"), Body.min),
}
"""How a reduction accumulates: its identity (an integer type's bound for the infinities)
and its operation."""


@dataclass(frozen=True)
class Lowering:
    formula: Callable[[TilerOp, Element, "Tile"], SSAValue]
    combiner: str | None = None  # a reduction: one of COMBINERS
    init: Callable[[TilerOp, Element, "Tile"], SSAValue] | None = None
    reduction_inputs: tuple[int, ...] | None = None
    """The inputs the reduction's body reads; by default those that depend on the
    reduction (the others, e.g. a bias, initialise the output)."""


def _depends_on_reduction(desc: TilingDescription, access) -> bool:
    reductions = {i for i, dim in enumerate(desc.dims) if dim.kind != IterKind.PARALLEL}
    return bool(access.map.used_dims() & reductions)


def lower_compute(op: TilerOp) -> Emitter:
    """The ops that compute what `op` (memref form) computes, in `.ops`; in `.hoisted`,
    scratch buffers to allocate around the op's whole loop nest."""
    special = STEPS.get(type(op))
    if special is None and not isinstance(op.outputs[0].type.element_type, AnyFloat):  # type: ignore[attr-defined]
        special = INTEGER_STEPS.get(type(op))
    if special is not None:
        emitter = Emitter()
        special(emitter, tile_of(op))
        return emitter
    lowering = LOWERINGS.get(type(op))
    if lowering is None:
        raise LoweringError(f"{op.display_name}: {op.name} has no lowering to linalg")
    tile = tile_of(op)
    desc = tile.desc
    emitter = Emitter()
    inputs = [
        input_access(emitter, tile, buffer, access, shape)
        for buffer, access, shape in zip(op.inputs, desc.inputs, op.input_shapes)
    ]
    out = op.outputs[0]
    output = Access(out, tile.forms(desc.outputs[0]))
    iterators = ["parallel" if desc.dims[i].kind == IterKind.PARALLEL else "reduction" for i in tile.kept]
    extents = [tile.sizes[i] for i in tile.kept]
    offsets = [tile.offsets[i] for i in tile.kept]
    name = op.node_name or op.name
    if lowering.combiner is None:
        named = named_op(op, inputs, out)
        if named is not None:
            emitter.ops.extend(named)
            return emitter
        generic(emitter, iterators, extents, inputs, [output], lambda e: [lowering.formula(op, e, tile)], offsets, name)
        return emitter

    dependent = (
        list(lowering.reduction_inputs)
        if lowering.reduction_inputs is not None
        else [i for i, a in enumerate(desc.inputs) if _depends_on_reduction(desc, a)]
    )
    independent = [i for i in range(len(inputs)) if i not in dependent]
    # the tile that starts the reduction sets the output to its initial value
    starts = emitter.is_true_all(
        [(tile.offsets[i], 0) for i, dim in enumerate(desc.dims) if dim.kind != IterKind.PARALLEL]
    )
    if starts is not False:
        init = Emitter()
        init._constants = emitter._constants if starts is True else {}
        _initialise(init, tile, lowering, [inputs[i] for i in independent], [desc.inputs[i] for i in independent], out)
        if starts is True:
            emitter.ops.extend(init.ops)
        else:
            emitter.emit(scf.IfOp(starts, [], [*init.ops, scf.YieldOp()]))

    def reduce(e: Element) -> list[SSAValue]:
        contribution = lowering.formula(op, e, tile)
        return [COMBINERS[lowering.combiner][1](e.b, e.out[0], contribution)]

    named = named_op(op, [inputs[i] for i in dependent], out)
    if named is not None:
        emitter.ops.extend(named)
        return emitter
    generic(emitter, iterators, extents, [inputs[i] for i in dependent], [output], reduce, offsets, name)
    return emitter


def _initialise(emitter: Emitter, tile: Tile, lowering: Lowering, inputs, accesses, out: SSAValue) -> None:
    element_type = out.type.element_type  # type: ignore[attr-defined]
    if lowering.init is None or not inputs:
        identity = COMBINERS[lowering.combiner][0]
        fill(emitter, constant_of(emitter, identity, element_type), out)
        return
    parallel = [i for i in tile.kept if tile.desc.dims[i].kind == IterKind.PARALLEL]
    forms = [Access(a.buffer, tile.forms(access, parallel)) for a, access in zip(inputs, accesses)]
    output = Access(out, tile.forms(tile.desc.outputs[0], parallel))
    generic(
        emitter,
        ["parallel"] * len(parallel),
        [tile.sizes[i] for i in parallel],
        forms,
        [output],
        lambda e: [lowering.init(tile.op, e, tile)],  # type: ignore[misc]
        [tile.offsets[i] for i in parallel],
        f"{tile.op.node_name or tile.op.name}: init",
    )


# -- the formulas -------------------------------------------------------------------------


def _x(e: Element) -> SSAValue:
    return e.values[0]


def _in_type(f: Callable[[Body, SSAValue], SSAValue]) -> Callable[[TilerOp, Element, Tile], SSAValue]:
    return lambda op, e, tile: f(e.b, _x(e))


def _relu(b: Body, x: SSAValue) -> SSAValue:
    return b.max(x, b.const(0, x.type))


def _sigmoid(b: Body, x: SSAValue) -> SSAValue:
    one = b.const(1.0, x.type)
    return b.div(one, b.add(one, b.exp(b.neg(x))))


def _hard_swish(b: Body, x: SSAValue) -> SSAValue:
    t = x.type
    return b.mul(x, _clamp(b, b.add(b.div(x, b.const(6.0, t)), b.const(0.5, t)), 0.0, 1.0))


def _clamp(b: Body, x: SSAValue, lo: float | None, hi: float | None) -> SSAValue:
    if lo is not None:
        x = b.max(x, b.const(lo, x.type))
    if hi is not None:
        x = b.min(x, b.const(hi, x.type))
    return x


def _hard_sigmoid(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, _x(e)
    alpha, beta = op.alpha.value.data, op.beta.value.data
    return _clamp(b, b.add(b.mul(b.const(alpha, x.type), x), b.const(beta, x.type)), 0.0, 1.0)


def _clip(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    lo = op.min.value.data if op.min is not None else None
    hi = op.max.value.data if op.max is not None else None
    return _clamp(e.b, _x(e), lo, hi)


def _gelu(op: GeluOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, _x(e)
    x64 = b.wide(x)
    half, one = b.const(0.5, x64.type), b.const(1.0, x64.type)
    if op.mode == "tanh":
        cube = b.mul(b.mul(x64, x64), x64)
        inner = b.mul(b.const(pymath.sqrt(2.0 / pymath.pi), x64.type), b.add(x64, b.mul(b.const(0.044715, x64.type), cube)))
        y = b.mul(b.mul(half, x64), b.add(one, b.unary(math.TanhOp, inner)))
    else:
        scaled = b.div(x64, b.const(pymath.sqrt(2.0), x64.type))
        y = b.mul(b.mul(half, x64), b.add(one, b.unary(math.ErfOp, scaled)))
    return b.convert(y, x.type)


def _binary(f: Callable[[Body, SSAValue, SSAValue], SSAValue]) -> Callable[[TilerOp, Element, Tile], SSAValue]:
    return lambda op, e, tile: f(e.b, e.values[0], e.values[1])


def _pow(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, base, exponent = e.b, e.values[0], e.values[1]
    if isinstance(base.type, AnyFloat):
        return b.emit(math.PowFOp(base, b.convert(exponent, base.type)))
    wide = b.emit(math.PowFOp(b.wide(base), b.wide(exponent)))
    return b.convert(wide, base.type)


def _copy(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    return _x(e)


def _concat(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    """The input whose part of the axis holds the element (the last one when none of the
    others does)."""
    b = e.b
    value = e.values[-1]
    for v, inside in zip(reversed(e.values[:-1]), reversed(e.valid[:-1])):
        value = v if inside is None else b.select(inside, v, value)
    return value


def _product(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    return e.b.mul(e.values[0], e.values[1])


def _gemm_product(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b = e.b
    p = b.mul(e.values[0], e.values[1])
    alpha = op.alpha.value.data
    return p if alpha == 1.0 else b.mul(p, b.const(alpha, p.type))


def _gemm_init(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, c = e.b, e.values[0]
    beta = op.beta.value.data
    if beta == 0.0:
        return b.const(0.0, c.type)
    return c if beta == 1.0 else b.mul(c, b.const(beta, c.type))


def _bias(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    return e.values[0]


def _average(op: AveragePoolOp, e: Element, tile: Tile) -> SSAValue:
    """x / the window's element count: the kernel's size when padding counts, else the
    positions inside the input (per spatial dim: the kernel offsets that land inside)."""
    b, x = e.b, _x(e)
    win = op.window
    include = bool(op.count_include_pad.value.data)
    shape = op.input_shapes[0]
    index = IndexType()
    count: SSAValue | None = None
    for i in range(win.rank):
        lo, hi = (-win.begins[i], shape[2 + i] + win.ends[i]) if include else (0, shape[2 + i])
        start = b.emit(
            arith.SubiOp(b.emit(arith.MuliOp(tile.absolute(e, 2 + i), b.const(win.strides[i], index))), b.const(win.begins[i], index))
        )
        n = b.const(0, index)
        for k in range(win.kernel[i]):
            at = b.emit(arith.AddiOp(start, b.const(k * win.dilations[i], index)))
            inside = b.and_(b.cmp(at, b.const(lo, index), "sge"), b.cmp(at, b.const(hi, index), "slt"))
            n = b.select(inside, b.emit(arith.AddiOp(n, b.const(1, index))), n)
        count = n if count is None else b.emit(arith.MuliOp(count, n))
    assert count is not None
    return b.div(x, b.convert(count, x.type))


def _mean_of(count: Callable[[TilerOp], int]) -> Callable[[TilerOp, Element, Tile], SSAValue]:
    """x / count, in double precision (the kernels' mean), rounded back."""

    def formula(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
        b, x = e.b, _x(e)
        if not isinstance(x.type, AnyFloat):
            raise LoweringError(f"{op.name}: the mean of integers (rounded toward zero at the end) is not lowered")
        return b.div(x, b.const(float(count(op)), x.type))

    return formula


def _global_count(op: TilerOp) -> int:
    return pymath.prod(op.input_shapes[0][2:])


def _batch_norm(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b = e.b
    x, scale, bias, mean, var = (b.wide(v) for v in e.values)
    eps = b.const(op.epsilon.value.data, x.type)
    y = b.add(b.mul(b.div(b.sub(x, mean), b.sqrt(b.add(var, eps))), scale), bias)
    return b.convert(y, e.values[0].type)


LOWERINGS: dict[type[TilerOp], Lowering] = {
    ReluOp: Lowering(_in_type(_relu)),
    SigmoidOp: Lowering(_in_type(_sigmoid)),
    TanhOp: Lowering(_in_type(lambda b, x: b.unary(math.TanhOp, x))),
    SqrtOp: Lowering(_in_type(lambda b, x: b.sqrt(x))),
    GeluOp: Lowering(_gelu),  # type: ignore[arg-type]
    HardSwishOp: Lowering(_in_type(_hard_swish)),
    HardSigmoidOp: Lowering(_hard_sigmoid),
    ClipOp: Lowering(_clip),
    AddOp: Lowering(_binary(lambda b, x, y: b.add(x, y))),
    SubOp: Lowering(_binary(lambda b, x, y: b.sub(x, y))),
    MulOp: Lowering(_binary(lambda b, x, y: b.mul(x, y))),
    DivOp: Lowering(_binary(lambda b, x, y: b.div(x, y))),
    PowOp: Lowering(_pow),
    TransposeOp: Lowering(_copy),
    ExpandOp: Lowering(_copy),
    TileOp: Lowering(_copy),
    SliceOp: Lowering(_copy),
    PadOp: Lowering(_copy),
    ConcatOp: Lowering(_concat),
    BatchNormOp: Lowering(_batch_norm),
    MatMulOp: Lowering(_product, "add"),
    GemmOp: Lowering(_gemm_product, "add", _gemm_init),
    ConvOp: Lowering(_product, "add", _bias),
    MaxPoolOp: Lowering(_copy, "max"),
    AveragePoolOp: Lowering(_average, "add"),  # type: ignore[arg-type]
    GlobalAveragePoolOp: Lowering(_mean_of(_global_count), "add"),
    ReduceMeanOp: Lowering(_mean_of(reduce_count), "add"),
    QuantizeLinearOp: Lowering(integer.quantize),
    DequantizeLinearOp: Lowering(integer.dequantize),
    ConvIntegerOp: Lowering(integer.shifted_product, "add", reduction_inputs=(0, 1, 2, 3)),
    MatMulIntegerOp: Lowering(integer.shifted_product, "add", reduction_inputs=(0, 1, 2, 3)),
    QLinearAddOp: Lowering(integer.qlinear_add),
    QLinearMulOp: Lowering(integer.qlinear_mul),
    RequantizeLinearOp: Lowering(integer.requantize_linear),
    ReduceSumOp: Lowering(_copy, "add"),
    ReduceMaxOp: Lowering(_copy, "max"),
    ReduceMinOp: Lowering(_copy, "min"),
    ReduceProdOp: Lowering(_copy, "mul"),
    ReduceL1Op: Lowering(lambda op, e, tile: _abs_of(e.b, _x(e)), "add"),
    ReduceSumSquareOp: Lowering(lambda op, e, tile: e.b.mul(_x(e), _x(e)), "add"),
    CastOp: Lowering(lambda op, e, tile: e.b.convert(e.values[0], op.to)),
    RequantShiftOp: Lowering(deeploy.requant_shift),
    IntegerHardswishOp: Lowering(deeploy.hardswish),
    IntegerNoNormOp: Lowering(deeploy.no_norm),
    **{op_class: Lowering(formula) for op_class, formula in ACTIVATION_FORMULAS.items()},
    **{op_class: Lowering(formula) for op_class, formula in LOGIC_FORMULAS.items()},
}
"""QLinearConv and QLinearMatMul have steps of their own (_lower_qlinear_contraction)."""

