"""Each tiler op as linalg: its tiling description gives the loops and the operands' maps
(structured.py); what is left per op is its scalar formula, `Lowering` below.

- a map op (elementwise, transpose, slice, pad, concat) yields its formula;
- a reduction yields `combine(out, contribution)`; the output starts from `init` (the
  reduction-independent inputs, e.g. a bias, or the combiner's identity) in the tile
  that starts the reduction, and accumulates in the others (a split reduction);
- softmax and layer normalization take several steps over a per-row scratch buffer.

The scalar formulas follow the ops' numpy kernels (tiler_dialect/ops), including where
those compute in double precision.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import arith, math, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    Float32Type,
    Float64Type,
    IndexType,
    IntegerType,
    MemRefType,
    StridedLayoutAttr,
    StringAttr,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.exceptions import DiagnosticException

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
    GlobalAveragePoolOp,
    HardSigmoidOp,
    HardSwishOp,
    LayerNormOp,
    MatMulIntegerOp,
    MatMulOp,
    MaxPoolOp,
    MulOp,
    NAME_ATTR,
    PadOp,
    PowOp,
    QLinearConvOp,
    QLinearMatMulOp,
    QuantizeLinearOp,
    ReduceMeanOp,
    ReduceSumOp,
    ReluOp,
    SigmoidOp,
    SliceOp,
    SoftmaxOp,
    SqrtOp,
    SubOp,
    TanhOp,
    TilerOp,
    TransposeOp,
)
from tiler_dialect.ops.base import get_bool, get_float, get_int, get_ints
from tiler_dialect.ops.deeploy import (
    IntegerHardswishOp,
    IntegerNoNormOp,
    IntegerRMSNormOp,
    IntegerSoftmaxOp,
    RequantizedConvOp,
    RequantizedMatMulOp,
    RequantShiftOp,
)
from tiler_dialect.ops.qlinear import (
    QLinearAddOp,
    QLinearGlobalAveragePoolOp,
    QLinearMulOp,
    QLinearSoftmaxOp,
    RequantizeLinearOp,
)
from tiler_dialect.tiling import IterKind, LinearForm, OutOfBounds, TilingDescription, linear_form
from tiler_passes.lowering import deeploy, integer
from tiler_passes.lowering.body import Body
from tiler_passes.lowering.named import named_op
from tiler_passes.lowering.structured import Access, Element, Emitter, Index, constant_of, fill, generic

class LoweringError(DiagnosticException):
    """An op this lowering cannot express (named in the message)."""


@dataclass(frozen=True)
class Lowering:
    formula: Callable[[TilerOp, Element, "Tile"], SSAValue]
    combiner: str | None = None  # "add" or "max": a reduction
    init: Callable[[TilerOp, Element, "Tile"], SSAValue] | None = None
    reduction_inputs: tuple[int, ...] | None = None
    """The inputs the reduction's body reads; by default those that depend on the
    reduction (the others, e.g. a bias, initialise the output)."""


# -- the tile being lowered ---------------------------------------------------------------


@dataclass
class Tile:
    """A tile-form (or destination-form: the whole box) op's loops: the dims of extent
    above 1 in the problem (the others are index 0 throughout) and their offsets."""

    op: TilerOp
    desc: TilingDescription
    offsets: list[Index]
    sizes: list[Index]
    kept: list[int]

    @property
    def position(self) -> dict[int, int]:
        return {d: j for j, d in enumerate(self.kept)}

    def absolute(self, e: Element, dim: int) -> SSAValue:
        """The absolute index of iteration dim `dim` (of the description) in a body."""
        if dim in self.position:
            return e.absolute(self.position[dim])
        return e.b.const(0, IndexType())

    def forms(self, access, dims: Sequence[int] | None = None) -> list[LinearForm]:
        """The access's linear forms over the loop dims `dims` (default: all kept)."""
        dims = self.kept if dims is None else dims
        pos = {d: j for j, d in enumerate(dims)}
        out = []
        for expr in access.map.results:
            form = linear_form(expr)
            terms = [(d, c) for d, c in form.coeffs if self.desc.dims[d].size > 1]
            if any(d not in pos for d, _ in terms):
                raise LoweringError(f"{self.op.name}: an init operand depends on a reduction dim")
            out.append(LinearForm(tuple((pos[d], c) for d, c in terms), 0))
        return out


def tile_of(op: TilerOp) -> Tile:
    desc = op.tiling()
    n = len(desc.dims)
    if op.is_tile:
        assert op.static_tile_offsets is not None and op.static_tile_sizes is not None
        dyn_offsets, dyn_sizes = iter(op.tile_offsets), iter(op.tile_sizes)
        offsets: list[Index] = [next(dyn_offsets) if v == DYNAMIC_INDEX else v for v in op.static_tile_offsets.get_values()]
        sizes: list[Index] = [next(dyn_sizes) if v == DYNAMIC_INDEX else v for v in op.static_tile_sizes.get_values()]
    else:
        offsets, sizes = [0] * n, [dim.size for dim in desc.dims]
    return Tile(op, desc, offsets, sizes, [i for i, dim in enumerate(desc.dims) if dim.size > 1])


def _input_access(emitter: Emitter, tile: Tile, buffer: SSAValue, access, shape) -> Access:
    """The buffer holds the operand's region from its (clipped) start, so an element's
    index in it is sum(c_i * d'_i) + shift with shift = const + sum(c_i * o_i) - start,
    where a negative coefficient starts the region at the box's far end."""
    forms = tile.forms(access)
    ends = [emitter.add(n, -1) for n in tile.sizes]
    region = tile.desc.region(access, tile.desc.full_box)
    never = access.oob == OutOfBounds.NEVER
    shift: list[Index | None] = []  # None: this index never leaves the operand
    for expr, (lo, hi), n in zip(access.map.results, region, shape):
        form = linear_form(expr)
        far = LinearForm(tuple((d, -c) for d, c in form.coeffs if c < 0), 0)  # the far ends' part, negated
        if never or (0 <= lo and hi <= n):  # the region starts at the map's value at the box's start
            shift.append(emitter.linear(far, ends))
        else:  # ... clipped to the operand
            start = emitter.add(emitter.linear(form, tile.offsets), emitter.mul(emitter.linear(far, ends), -1))
            shift.append(emitter.add(emitter.linear(form, tile.offsets), emitter.mul(emitter.max(start, 0), -1)))
            continue
        if isinstance(shift[-1], int):
            forms[len(shift) - 1] = LinearForm(forms[len(shift) - 1].coeffs, shift[-1])  # type: ignore[arg-type]
            shift[-1] = None
    if all(x is None for x in shift):  # a plain operand
        return Access(buffer, forms)
    mode = getattr(tile.op, "pad_mode", None) if access.oob == OutOfBounds.FILL else None
    return Access(buffer, forms, shift, access.oob, access.pad_value, mode)


def _depends_on_reduction(desc: TilingDescription, access) -> bool:
    reductions = {i for i, dim in enumerate(desc.dims) if dim.kind != IterKind.PARALLEL}
    return bool(access.map.used_dims() & reductions)


def lower_compute(op: TilerOp) -> Emitter:
    """The ops that compute what `op` (memref form) computes, in `.ops`; in `.hoisted`,
    scratch buffers to allocate around the op's whole loop nest."""
    special = _SPECIAL.get(type(op))
    if special is None and not isinstance(op.outputs[0].type.element_type, AnyFloat):  # type: ignore[attr-defined]
        special = _INTEGER_SPECIAL.get(type(op))
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
        _input_access(emitter, tile, buffer, access, shape)
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
        current = e.out[0]
        if lowering.combiner == "add":
            return [e.b.add(current, contribution)]
        return [e.b.max(current, contribution)]

    named = named_op(op, [inputs[i] for i in dependent], out)
    if named is not None:
        emitter.ops.extend(named)
        return emitter
    generic(emitter, iterators, extents, [inputs[i] for i in dependent], [output], reduce, offsets, name)
    return emitter


def _initialise(emitter: Emitter, tile: Tile, lowering: Lowering, inputs, accesses, out: SSAValue) -> None:
    element_type = out.type.element_type  # type: ignore[attr-defined]
    if lowering.init is None or not inputs:
        identity = 0.0 if lowering.combiner == "add" else float("-inf")
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
    alpha = get_float(op.properties, "alpha", 0.2)
    beta = get_float(op.properties, "beta", 0.5)
    return _clamp(b, b.add(b.mul(b.const(alpha, x.type), x), b.const(beta, x.type)), 0.0, 1.0)


def _clip(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    return _clamp(e.b, _x(e), get_float(op.properties, "min"), get_float(op.properties, "max"))


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
    alpha = get_float(op.properties, "alpha")
    return p if alpha == 1.0 else b.mul(p, b.const(alpha, p.type))


def _gemm_init(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, c = e.b, e.values[0]
    beta = get_float(op.properties, "beta")
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
    include = get_bool(op.properties, "count_include_pad")
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


def _reduce_count(op: TilerOp) -> int:
    shape = op.input_shapes[0]
    return pymath.prod(shape[a] for a in get_ints(op.properties, "axes"))


def _batch_norm(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b = e.b
    x, scale, bias, mean, var = (b.wide(v) for v in e.values)
    eps = b.const(get_float(op.properties, "epsilon"), x.type)
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
    ReduceMeanOp: Lowering(_mean_of(_reduce_count), "add"),
    QuantizeLinearOp: Lowering(integer.quantize),
    DequantizeLinearOp: Lowering(integer.dequantize),
    ConvIntegerOp: Lowering(integer.shifted_product, "add", reduction_inputs=(0, 1, 2, 3)),
    MatMulIntegerOp: Lowering(integer.shifted_product, "add", reduction_inputs=(0, 1, 2, 3)),
    QLinearAddOp: Lowering(integer.qlinear_add),
    QLinearMulOp: Lowering(integer.qlinear_mul),
    RequantizeLinearOp: Lowering(integer.requantize_linear),
    ReduceSumOp: Lowering(_copy, "add"),
    CastOp: Lowering(lambda op, e, tile: e.b.convert(e.values[0], op.properties["to"])),
    RequantShiftOp: Lowering(deeploy.requant_shift),
    IntegerHardswishOp: Lowering(deeploy.hardswish),
    IntegerNoNormOp: Lowering(deeploy.no_norm),
}
"""QLinearConv and QLinearMatMul have steps of their own (_lower_qlinear_contraction)."""


# -- softmax and layer normalization: steps over a per-row scratch ------------------------


def _scratch_buffer(
    emitter: Emitter, tile: Tile, shape: list[int], sizes: Sequence[Index], element_type: Attribute, what: str
) -> tuple[memref.AllocOp, SSAValue]:
    """A row-major buffer of `shape` (the largest tile's) in the output's level, named
    `<op>: <what>`: the alloc (placed by the caller outside any loop; its leading dim
    counts its one copy, as a tile buffer's does) and this tile's view of `sizes`."""
    t = tile.op.outputs[0].type
    assert isinstance(t, MemRefType)
    alloc = memref.AllocOp.get(element_type, shape=[1, *shape], memory_space=t.memory_space)
    alloc.attributes[NAME_ATTR] = StringAttr(f"{tile.op.node_name or tile.op.name}: {what}")
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    view_shape = [s if isinstance(s, int) else DYNAMIC_INDEX for s in sizes]
    view_type = MemRefType(element_type, view_shape, StridedLayoutAttr(strides, 0), t.memory_space)
    view = memref.SubviewOp.get(alloc.memref, [0] * (len(shape) + 1), [1, *sizes], [1] * (len(shape) + 1), view_type)
    emitter.emit(view)
    return alloc, view.result


def _scratch(
    emitter: Emitter, tile: Tile, rows: list[int], element_type: Attribute | None = None
) -> tuple[memref.AllocOp, SSAValue]:
    """A buffer for one value per row (the loop dims `rows`), of the output's element
    type unless given."""
    out = tile.op.outputs[0]
    most = _largest_tile(out)
    shape = [most[tile.kept[r]] for r in rows]
    sizes = [tile.sizes[tile.kept[r]] for r in rows]
    return _scratch_buffer(emitter, tile, shape, sizes, element_type or out.type.element_type, "scratch")  # type: ignore[attr-defined]


def _largest_tile(view: SSAValue) -> list[int]:
    """The output's extents in the largest tile: its static shape, or, where dynamic, the
    buffer it views (a tile buffer's leading dim counts its copies)."""
    t = view.type
    assert isinstance(t, MemRefType)
    shape = list(t.get_shape())
    if DYNAMIC_INDEX not in shape:
        return shape
    root = view
    while isinstance(root.owner, memref.SubviewOp):
        root = root.owner.source
    full = list(root.type.get_shape())  # type: ignore[attr-defined]
    full = full[len(full) - len(shape) :]
    return [s if s != DYNAMIC_INDEX else f for s, f in zip(shape, full)]


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


def _row_steps(emitter: Emitter, tile: Tile, axes: set[int], element_type: Attribute | None = None) -> RowSteps:
    """The steps' loops over the row axes `axes`, with a per-row scratch of
    `element_type` (the output's by default)."""
    op = tile.op
    rows = [j for j, d in enumerate(tile.kept) if d not in axes]
    out_shape = op.output_shape
    whole = [LinearForm(((tile.position[i], 1),), 0) if out_shape[i] > 1 else LinearForm((), 0) for i in range(len(out_shape))]
    alloc, scratch = _scratch(emitter, tile, rows, element_type)
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
    r = _row_steps(emitter, tile, {op.axis_index})
    fill(emitter, constant_of(emitter, float("-inf"), r.element_type), r.scratch)
    generic(emitter, r.iterators, r.extents, [r.x], [r.rows], lambda e: [e.b.max(e.out[0], e.values[0])], doc=f"{r.name}: max")
    generic(emitter, r.parallel, r.extents, [r.x, r.rows], [r.y], lambda e: [e.b.exp(e.b.sub(e.values[0], e.values[1]))], doc=f"{r.name}: exp")
    fill(emitter, constant_of(emitter, 0.0, r.element_type), r.scratch)
    generic(emitter, r.iterators, r.extents, [r.y], [r.rows], lambda e: [e.b.add(e.out[0], e.values[0])], doc=f"{r.name}: sum")
    generic(emitter, r.parallel, r.extents, [r.rows], [r.y], lambda e: [e.b.div(e.out[0], e.values[0])], doc=f"{r.name}: normalize")


def _lower_layer_norm(emitter: Emitter, tile: Tile) -> None:
    """mean per row; y = x - mean; variance per row (of y); y = y / sqrt(var + eps) *
    scale + bias. Means divide each term by the row's size, as a running mean."""
    op = tile.op
    assert isinstance(op, LayerNormOp)
    axes = set(range(op.axis_index, len(op.output_shape)))
    r = _row_steps(emitter, tile, axes)
    count = float(pymath.prod(op.output_shape[a] for a in axes))
    params = [Access(v, tile.forms(a)) for v, a in zip(op.inputs[1:], tile.desc.inputs[1:])]
    eps = get_float(op.properties, "epsilon")

    def mean_term(e: Element, v: SSAValue) -> list[SSAValue]:
        return [e.b.add(e.out[0], e.b.div(v, e.b.const(count, v.type)))]

    fill(emitter, constant_of(emitter, 0.0, r.element_type), r.scratch)
    generic(emitter, r.iterators, r.extents, [r.x], [r.rows], lambda e: mean_term(e, e.values[0]), doc=f"{r.name}: mean")
    generic(emitter, r.parallel, r.extents, [r.x, r.rows], [r.y], lambda e: [e.b.sub(e.values[0], e.values[1])], doc=f"{r.name}: center")
    fill(emitter, constant_of(emitter, 0.0, r.element_type), r.scratch)
    generic(emitter, r.iterators, r.extents, [r.y], [r.rows], lambda e: mean_term(e, e.b.mul(e.values[0], e.values[0])), doc=f"{r.name}: variance")

    def normalize(e: Element) -> list[SSAValue]:
        b = e.b
        var, *p = e.values
        v = b.div(e.out[0], b.sqrt(b.add(var, b.const(eps, var.type))))
        v = b.mul(v, p[0])
        return [b.add(v, p[1]) if len(p) > 1 else v]

    generic(emitter, r.parallel, r.extents, [r.rows, *params], [r.y], normalize, doc=f"{r.name}: normalize")


# -- QLinearConv and QLinearMatMul: an int32 sum in scratch, then the epilogue ----------


def _output_scratch(emitter: Emitter, tile: Tile, element_type: Attribute, what: str) -> tuple[memref.AllocOp, SSAValue]:
    """A buffer shaped like the op's output tile (its largest one; this tile's view of it)."""
    out = tile.op.outputs[0]
    most = _largest_tile(out)
    return _scratch_buffer(emitter, tile, most, [emitter.dim(out, r) for r in range(len(most))], element_type, what)


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
        _input_access(emitter, tile, buffer, access, shape)
        for buffer, access, shape in zip(op.inputs[:terms], desc.inputs, op.input_shapes)
    ]
    parallel = [d for d in tile.kept if desc.dims[d].kind == IterKind.PARALLEL]
    par_extents = [tile.sizes[d] for d in parallel]
    par_offsets = [tile.offsets[d] for d in parallel]
    alloc, scratch = _output_scratch(emitter, tile, IntegerType(32), "int32 sum")
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
    alloc, scratch = _output_scratch(emitter, tile, accumulator, f"{accumulator} sum")
    emitter.hoisted.append(alloc)
    fill(emitter, constant_of(emitter, 0, accumulator), scratch)
    x = _input_access(emitter, tile, op.inputs[0], desc.inputs[0], op.input_shapes[0])
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
    count = _reduce_count(op)
    _lower_integer_sum(emitter, tile, IntegerType(64), lambda e: deeploy.integer_mean(op.rounding_mode, e.b, e.values[0], count, out_type))


def _lower_integer_softmax(emitter: Emitter, tile: Tile) -> None:
    """Deeploy's iSoftmax per row (the last axis): the max; y = its integer exp
    (deeploy.softmax_term) in an int64 scratch; the int64 sum of y; out = floor(y (n - 1)
    / sum)."""
    op = tile.op
    axis = len(op.output_shape) - 1
    x_type = op.inputs[0].type.element_type  # type: ignore[attr-defined]
    r = _row_steps(emitter, tile, {axis}, x_type)  # its scratch holds the row's max
    i64_ = IntegerType(64)
    rows = [j for j, d in enumerate(tile.kept) if d != axis]
    sum_alloc, sums = _scratch(emitter, tile, rows, i64_)
    y_alloc, ys = _output_scratch(emitter, tile, i64_, "int64 exp")
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
    r = _row_steps(emitter, tile, {axis}, i64_)  # its scratch holds the sum, then std
    rows = [j for j, d in enumerate(tile.kept) if d != axis]
    std_alloc, stds = _scratch(emitter, tile, rows, i64_)
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
    p = op.properties
    axis = op.axis_index
    r = _row_steps(emitter, tile, {axis})  # its scratch (int8) holds the row's max
    length = op.output_shape[axis]
    x_scale = float(np.float32(get_float(p, "x_scale")))
    shift = max(0.0, pymath.log(float(np.float32(np.finfo(np.float32).max) / np.float32(length))) - 5) / x_scale
    k = float(pymath.floor(np.float32(1.0) / np.float32(get_float(p, "y_scale"))))
    zero_point = get_int(p, "y_zero_point")
    f32_, f64_, i32_ = Float32Type(), Float64Type(), IntegerType(32)
    rows = [j for j, d in enumerate(tile.kept) if d != axis]
    sum_alloc, sums = _scratch(emitter, tile, rows, f32_)
    t_alloc, table = _output_scratch(emitter, tile, f32_, "exp table")
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


_SPECIAL: dict[type[TilerOp], Callable[[Emitter, Tile], None]] = {
    SoftmaxOp: _lower_softmax,
    LayerNormOp: _lower_layer_norm,
    QLinearConvOp: _lower_qlinear_contraction,
    QLinearMatMulOp: _lower_qlinear_contraction,
    QLinearGlobalAveragePoolOp: _lower_qlinear_global_pool,
    QLinearSoftmaxOp: _lower_qlinear_softmax,
    RequantizedConvOp: _lower_requantized_contraction,
    RequantizedMatMulOp: _lower_requantized_contraction,
    IntegerSoftmaxOp: _lower_integer_softmax,
    IntegerRMSNormOp: _lower_integer_rms_norm,
}

_INTEGER_SPECIAL: dict[type[TilerOp], Callable[[Emitter, Tile], None]] = {
    ReduceMeanOp: _lower_integer_mean,
}
"""Ops whose integer form takes steps of their own (the float form is in LOWERINGS)."""
