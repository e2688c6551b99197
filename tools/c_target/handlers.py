"""One C construct per scalar op the lowered module holds (arith, math, affine.apply,
memref views, loads, stores and DMA, scf loops and ifs), registered in `HANDLERS` by
`handles`; each writes its lines into the emitter's current function."""

from __future__ import annotations

import math as pymath
from collections.abc import Sequence
from typing import TYPE_CHECKING

from xdsl.dialects import affine, arith, builtin, func, math, memref, scf
from xdsl.dialects.builtin import (
    Float64Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
)
from xdsl.ir import Block, Operation, SSAValue
from xdsl.ir.affine import AffineBinaryOpExpr, AffineBinaryOpKind, AffineConstantExpr, AffineDimExpr, AffineExpr, AffineSymExpr

from tiler_dialect.xdsl_fixes import RemFOp
from tiler_tools.c_target.spelling import (
    Buffer,
    CTargetError,
    at_fixed_place,
    attr_text,
    bits_c_type,
    c_product,
    c_sum,
    c_type,
    contiguous,
    float_literal,
    int_literal,
    static_strides,
    unsigned_c_type,
)

if TYPE_CHECKING:
    from tiler_tools.c_target.emit import CEmitter


# -- op handlers ---------------------------------------------------------------------------------

HANDLERS: dict[type[Operation], object] = {}


def handles(*classes):
    def register(fn):
        for c in classes:
            HANDLERS[c] = fn
        return fn

    return register




@handles(arith.ConstantOp)
def _constant(e: CEmitter, op: arith.ConstantOp) -> None:
    """A literal, written where it is used."""
    value, t = op.value, op.result.type
    if isinstance(value, IntegerAttr):
        e.names[op.result] = int_literal(value.value.data, t)
    elif isinstance(value, FloatAttr):
        e.names[op.result] = float_literal(value.value.data, t)
    else:
        raise CTargetError(f"arith.constant of {value}: only scalars")


_INT_BINARY = {arith.AddiOp: "+", arith.SubiOp: "-", arith.MuliOp: "*"}
_BITWISE = {arith.AndIOp: "&", arith.OrIOp: "|", arith.XOrIOp: "^"}
_FLOAT_BINARY = {arith.AddfOp: "+", arith.SubfOp: "-", arith.MulfOp: "*", arith.DivfOp: "/"}


@handles(*_INT_BINARY)
def _int_binary(e: CEmitter, op) -> None:
    a, b, t = e.value(op.lhs), e.value(op.rhs), op.result.type
    symbol = _INT_BINARY[type(op)]
    if isinstance(t, IndexType):
        e.define(op.result, f"{a} {symbol} {b}")
    else:  # wrapping, as arith's integers do
        u = unsigned_c_type(t)
        e.define(op.result, f"({c_type(t)})(({u})({bits_c_type(t)}){a} {symbol} ({u})({bits_c_type(t)}){b})")


@handles(*_BITWISE)
def _bitwise(e: CEmitter, op) -> None:
    t = op.result.type
    e.define(op.result, f"({c_type(t)})({e.value(op.lhs)} {_BITWISE[type(op)]} {e.value(op.rhs)})")


@handles(*_FLOAT_BINARY)
def _float_binary(e: CEmitter, op) -> None:
    e.define(op.result, f"{e.value(op.lhs)} {_FLOAT_BINARY[type(op)]} {e.value(op.rhs)}")


# C's / and % truncate toward zero, as arith's signed ops do; the unsigned ones run on the
# operands' bits read as unsigned.
_DIVISION = {
    arith.DivSIOp: ("/", False),
    arith.RemSIOp: ("%", False),
    arith.DivUIOp: ("/", True),
    arith.RemUIOp: ("%", True),
}


@handles(*_DIVISION)
def _division(e: CEmitter, op) -> None:
    symbol, unsigned = _DIVISION[type(op)]
    a, b = e.value(op.lhs), e.value(op.rhs)
    if unsigned:
        t = op.result.type
        u = bits_c_type(t)
        e.define(op.result, f"({c_type(t)})(({u}){a} {symbol} ({u}){b})")
    else:
        e.define(op.result, f"{a} {symbol} {b}")


@handles(arith.FloorDivSIOp, arith.CeilDivSIOp)
def _floor_ceil_div(e: CEmitter, op) -> None:
    helper = "tiler_floordiv" if isinstance(op, arith.FloorDivSIOp) else "tiler_ceildiv"
    e.define(op.result, f"({c_type(op.result.type)}){helper}({e.value(op.lhs)}, {e.value(op.rhs)})")


@handles(arith.MinSIOp, arith.MaxSIOp)
def _min_max_signed(e: CEmitter, op) -> None:
    a, b = e.value(op.lhs), e.value(op.rhs)
    symbol = "<" if isinstance(op, arith.MinSIOp) else ">"
    e.define(op.result, f"{a} {symbol} {b} ? {a} : {b}")


@handles(arith.MinUIOp, arith.MaxUIOp)
def _min_max_unsigned(e: CEmitter, op) -> None:
    a, b, u = e.value(op.lhs), e.value(op.rhs), bits_c_type(op.result.type)
    symbol = "<" if isinstance(op, arith.MinUIOp) else ">"
    e.define(op.result, f"({u}){a} {symbol} ({u}){b} ? {a} : {b}")


@handles(arith.MaximumfOp, arith.MinimumfOp)
def _maximum_minimum(e: CEmitter, op) -> None:
    double = isinstance(op.result.type, Float64Type)
    helper = {True: "tiler_maximum", False: "tiler_minimum"}[isinstance(op, arith.MaximumfOp)] + ("" if double else "f")
    e.define(op.result, f"{helper}({e.value(op.lhs)}, {e.value(op.rhs)})")


@handles(arith.MaxnumfOp, arith.MinnumfOp)
def _maxnum_minnum(e: CEmitter, op) -> None:
    f = ("fmax" if isinstance(op, arith.MaxnumfOp) else "fmin") + ("" if isinstance(op.result.type, Float64Type) else "f")
    e.define(op.result, f"{f}({e.value(op.lhs)}, {e.value(op.rhs)})")


_CMPI = {0: "==", 1: "!=", 2: "<", 3: "<=", 4: ">", 5: ">=", 6: "<", 7: "<=", 8: ">", 9: ">="}


@handles(arith.CmpiOp)
def _cmpi(e: CEmitter, op: arith.CmpiOp) -> None:
    predicate = op.predicate.value.data
    a, b = e.value(op.lhs), e.value(op.rhs)
    if predicate >= 6:
        u = bits_c_type(op.lhs.type)
        a, b = f"({u}){a}", f"({u}){b}"
    e.define(op.result, f"{a} {_CMPI[predicate]} {b}", "p")


_CMPF_ORDERED = {1: "==", 2: ">", 3: ">=", 4: "<", 5: "<=", 6: "!="}


@handles(arith.CmpfOp)
def _cmpf(e: CEmitter, op: arith.CmpfOp) -> None:
    p = op.predicate.value.data
    a, b = e.value(op.lhs), e.value(op.rhs)
    unordered = f"({a} != {a} || {b} != {b})"
    if p == 0:
        text = "false"
    elif p == 15:
        text = "true"
    elif p == 7:
        text = f"!{unordered}"
    elif p == 14:
        text = unordered
    elif p in _CMPF_ORDERED:
        text = f"!{unordered} && {a} {_CMPF_ORDERED[p]} {b}"
    else:  # 8..13: unordered or the relation
        text = f"{unordered} || {a} {_CMPF_ORDERED[p - 7]} {b}"
    e.define(op.result, text, "p")


@handles(arith.SelectOp)
def _select(e: CEmitter, op: arith.SelectOp) -> None:
    e.define(op.result, f"{e.value(op.cond)} ? {e.value(op.lhs)} : {e.value(op.rhs)}")


@handles(arith.ExtSIOp, arith.TruncIOp, arith.IndexCastOp, arith.SIToFPOp, arith.FPToSIOp, arith.ExtFOp, arith.TruncFOp)
def _cast(e: CEmitter, op) -> None:
    e.define(op.result, f"({c_type(op.result.type)}){e.value(op.input)}")


@handles(arith.ExtUIOp, arith.UIToFPOp)
def _cast_unsigned(e: CEmitter, op) -> None:
    e.define(op.result, f"({c_type(op.result.type)})({bits_c_type(op.input.type)}){e.value(op.input)}")


@handles(arith.FPToUIOp)
def _float_to_unsigned(e: CEmitter, op) -> None:
    t = op.result.type
    e.define(op.result, f"({c_type(t)})({bits_c_type(t)}){e.value(op.input)}")


@handles(arith.ShLIOp, arith.ShRUIOp)
def _shift_unsigned(e: CEmitter, op) -> None:
    """Shifts of the bits as unsigned (defined in C for every value)."""
    t = op.result.type
    symbol = "<<" if isinstance(op, arith.ShLIOp) else ">>"
    e.define(op.result, f"({c_type(t)})(({unsigned_c_type(t)})({bits_c_type(t)}){e.value(op.lhs)} {symbol} {e.value(op.rhs)})")


@handles(arith.ShRSIOp)
def _shift_right_signed(e: CEmitter, op) -> None:
    """floor(a / 2^b): C99 leaves >> of a negative value to the compiler; the runtime's
    tiler_floordiv is exact everywhere."""
    t = op.result.type
    e.define(op.result, f"({c_type(t)})tiler_floordiv({e.value(op.lhs)}, (int64_t)1 << {e.value(op.rhs)})")


@handles(arith.NegfOp)
def _negf(e: CEmitter, op) -> None:
    e.define(op.result, f"-{e.value(op.operand)}")


_MATH = {
    math.ExpOp: "exp", math.LogOp: "log", math.SqrtOp: "sqrt", math.TanhOp: "tanh", math.ErfOp: "erf",
    math.AbsFOp: "fabs", math.FloorOp: "floor", math.CeilOp: "ceil", math.RoundEvenOp: "rint",
    math.RoundOp: "round", math.SinOp: "sin", math.CosOp: "cos", math.Log1pOp: "log1p", math.ExpM1Op: "expm1",
}


@handles(*_MATH)
def _math_unary(e: CEmitter, op) -> None:
    suffix = "" if isinstance(op.result.type, Float64Type) else "f"
    e.define(op.result, f"{_MATH[type(op)]}{suffix}({e.value(op.operand)})")


@handles(math.RsqrtOp)
def _rsqrt(e: CEmitter, op) -> None:
    double = isinstance(op.result.type, Float64Type)
    e.define(op.result, f"{'1.0' if double else '1.0f'} / sqrt{'' if double else 'f'}({e.value(op.operand)})")


@handles(math.FmaOp)
def _fma(e: CEmitter, op) -> None:
    """One rounding, as the IR says (C99's fmaf; not a contraction the compiler chose)."""
    suffix = "" if isinstance(op.result.type, Float64Type) else "f"
    a, b, c = (e.value(v) for v in op.operands)
    e.define(op.result, f"fma{suffix}({a}, {b}, {c})")


@handles(RemFOp)
def _remf(e: CEmitter, op) -> None:
    suffix = "" if isinstance(op.result.type, Float64Type) else "f"
    e.define(op.result, f"fmod{suffix}({e.value(op.lhs)}, {e.value(op.rhs)})")


@handles(math.PowFOp)
def _powf(e: CEmitter, op) -> None:
    suffix = "" if isinstance(op.result.type, Float64Type) else "f"
    e.define(op.result, f"pow{suffix}({e.value(op.lhs)}, {e.value(op.rhs)})")


def _affine(expr: AffineExpr, dims: Sequence[str], symbols: Sequence[str]) -> str:
    if isinstance(expr, AffineConstantExpr):
        return f"{expr.value}L"
    if isinstance(expr, AffineDimExpr):
        return dims[expr.position]
    if isinstance(expr, AffineSymExpr):
        return symbols[expr.position]
    assert isinstance(expr, AffineBinaryOpExpr)
    a, b = _affine(expr.lhs, dims, symbols), _affine(expr.rhs, dims, symbols)
    kind = expr.kind
    if kind == AffineBinaryOpKind.Add:
        return f"({a} + {b})"
    if kind == AffineBinaryOpKind.Mul:
        return f"({a} * {b})"
    helper = {AffineBinaryOpKind.Mod: "tiler_mod", AffineBinaryOpKind.FloorDiv: "tiler_floordiv", AffineBinaryOpKind.CeilDiv: "tiler_ceildiv"}[kind]
    return f"{helper}({a}, {b})"


@handles(affine.ApplyOp)
def _affine_apply(e: CEmitter, op: affine.ApplyOp) -> None:
    m = op.map.data
    operands = [e.value(v) for v in op.mapOperands]
    (result,) = m.results
    if isinstance(result, AffineConstantExpr):
        e.names[op.result] = f"{result.value}L"
        return
    e.define(op.result, _affine(result, operands[: m.num_dims], operands[m.num_dims :]), "i")


# memrefs


@handles(memref.ViewOp)
def _view(e: CEmitter, op: memref.ViewOp) -> None:
    source = e.buffers[op.source]
    t = op.result.type
    assert isinstance(t, MemRefType)
    if op.sizes:
        raise CTargetError("memref.view with dynamic sizes")
    ctype = c_type(t.element_type)
    what = attr_text(op.attributes, "tiler.name")
    name = e.fresh(what or op.result.name_hint or "view")
    declaration = f"{ctype} *const {name} = ({ctype} *)({source.pointer} + {e.value(op.byte_shift)});"
    if at_fixed_place(op):
        e.global_pointer(name, declaration + (f"  /* {what} */" if what else ""))
    else:
        e.fn.line(declaration, declares=name)
    e.buffers[op.result] = contiguous(name, t)


@handles(memref.GetGlobalOp)
def _get_global(e: CEmitter, op: memref.GetGlobalOp) -> None:
    symbol = op.name_.string_value() if hasattr(op.name_, "string_value") else op.name_.root_reference.data
    name, t = e.constants[symbol]
    buffer = contiguous(name, t)
    buffer.const = True
    e.buffers[op.memref] = buffer


@handles(memref.AllocOp, memref.AllocaOp)
def _alloc(e: CEmitter, op) -> None:
    t = op.memref.type
    assert isinstance(t, MemRefType)
    if not t.has_static_shape():
        raise CTargetError(f"{op.name} of a dynamic shape")
    count = max(1, pymath.prod(t.get_shape()))
    what = attr_text(op.attributes, "tiler.name") or op.memref.name_hint or "buffer"
    name = e.fresh(what)
    if "tiler.dma_tags" in op.attributes:
        e.fn.line(f"tiler_dma_tag_t {name}[{count}] = {{{{0}}}};  /* {what} */")
        e.buffers[op.memref] = contiguous(name, t)
        return
    # a scratch buffer outside the arenas (the lowering's per-row temporaries, a few
    # elements): on the stack, where the IR allocates it
    e.fn.line(f"{c_type(t.element_type)} {name}[{count}];", declares=name)
    e.buffers[op.memref] = contiguous(name, t)


@handles(memref.DeallocOp)
def _dealloc(e: CEmitter, op) -> None:
    pass


def _index_list(e: CEmitter, static: Sequence[int], dynamic: Sequence[SSAValue]) -> list[str]:
    it = iter(dynamic)
    return [e.value(next(it)) if s == builtin.DYNAMIC_INDEX else str(s) for s in static]


@handles(memref.SubviewOp)
def _subview(e: CEmitter, op: memref.SubviewOp) -> None:
    source = e.buffers[op.source]
    t = op.result.type
    assert isinstance(t, MemRefType)
    offsets = _index_list(e, op.static_offsets.get_values(), op.offsets)
    sizes = _index_list(e, op.static_sizes.get_values(), op.sizes)
    steps = _index_list(e, op.static_strides.get_values(), op.strides)
    offset = c_sum(c_product(o, s) for o, s in zip(offsets, source.strides))
    if offset == "0":  # the same first element: the source's pointer
        name = source.pointer
    else:
        name = e.fresh(op.result.name_hint or "sub")
        qualifier = "const " if source.const else ""
        e.fn.line(f"{qualifier}{c_type(t.element_type)} *const {name} = {source.pointer} + {offset};", declares=name)
    kept_sizes, kept_strides = [], []
    result_shape = t.get_shape()
    static = static_strides(t)
    j = 0
    for size, stride, step in zip(sizes, source.strides, steps):
        fits = j < len(result_shape) and (
            str(result_shape[j]) == size or (result_shape[j] == builtin.DYNAMIC_INDEX and not size.lstrip("-").isdigit())
        )
        if fits:  # greedy: a unit dim kept or dropped is all the same to the addresses
            kept_sizes.append(size)
            kept_strides.append(str(static[j]) if static[j] is not None else f"{stride} * {step}")
            j += 1
        elif size != "1":  # only unit dims are dropped
            raise CTargetError("memref.subview: cannot tell which unit dims it drops")
    if len(kept_sizes) != len(result_shape):
        raise CTargetError("memref.subview: cannot tell which unit dims it drops")
    e.buffers[op.result] = Buffer(name, t.element_type, kept_sizes, kept_strides, source.const)


@handles(memref.ExpandShapeOp, memref.CollapseShapeOp)
def _reshape(e: CEmitter, op) -> None:
    source = e.buffers[op.src]
    t = op.result.type
    assert isinstance(t, MemRefType)
    static = static_strides(t)
    if any(s is None for s in static) or not t.has_static_shape():
        raise CTargetError(f"{op.name} with dynamic sizes or strides")
    e.buffers[op.result] = Buffer(source.pointer, t.element_type, [str(s) for s in t.get_shape()], [str(s) for s in static], source.const)


@handles(memref.DimOp)
def _dim(e: CEmitter, op: memref.DimOp) -> None:
    source = e.buffers[op.source]
    index = op.index.owner
    if not isinstance(index, arith.ConstantOp):
        raise CTargetError("memref.dim of a dynamic dim index")
    e.define(op.result, f"(long)({source.sizes[index.value.value.data]})", "dim")


@handles(memref.LoadOp)
def _load(e: CEmitter, op: memref.LoadOp) -> None:
    buffer = e.buffers[op.memref]
    e.define(op.res, buffer.element_at([e.value(i) for i in op.indices]), "x")


@handles(memref.StoreOp)
def _store(e: CEmitter, op: memref.StoreOp) -> None:
    buffer = e.buffers[op.memref]
    e.fn.line(f"{buffer.element_at([e.value(i) for i in op.indices])} = {e.value(op.value)};")


def _row_major_position(indices: Sequence[str], sizes: Sequence[str]) -> str:
    text = "0"
    for i, s in zip(indices, sizes):
        text = c_sum([c_product(text, s), i])
    return text


@handles(memref.DmaStartOp)
def _dma_start(e: CEmitter, op: memref.DmaStartOp) -> None:
    src, dst, tags = e.buffers[op.src], e.buffers[op.dest], e.buffers[op.tag]
    from tiler_dialect.ops import element_dtype

    element_bytes = element_dtype(src.element).itemsize

    def region(b: Buffer, indices) -> str:
        sizes = "(const long[]){" + ", ".join(b.sizes or ["1"]) + "}"
        strides = "(const long[]){" + ", ".join(b.strides or ["1"]) + "}"
        first = _row_major_position([e.value(i) for i in indices], b.sizes)
        return f"{b.pointer}, {len(b.sizes)}, {sizes}, {strides}, {first}"

    tag = "&" + tags.element_at([e.value(i) for i in op.tag_indices])
    e.fn.line(f"tiler_dma_start({tag}, {element_bytes}, {e.value(op.num_elements)},")
    e.fn.line(f"                {region(dst, op.dest_indices)},")
    e.fn.line(f"                {region(src, op.src_indices)});")


@handles(memref.DmaWaitOp)
def _dma_wait(e: CEmitter, op: memref.DmaWaitOp) -> None:
    tags = e.buffers[op.tag]
    e.fn.line(f"tiler_dma_wait(&{tags.element_at([e.value(i) for i in op.tag_indices])});")


# control flow


def _declare_results(e: CEmitter, results: Sequence[SSAValue], hint: str) -> list[str]:
    names = []
    for r in results:
        if isinstance(r.type, MemRefType):
            raise CTargetError("scf results of memref type")
        name = e.fresh(r.name_hint or hint)
        e.fn.line(f"{c_type(r.type)} {name};")
        e.names[r] = name
        names.append(name)
    return names


def _region_body(e: CEmitter, block: Block, targets: Sequence[str]) -> None:
    e.fn.depth += 1
    for op in block.ops:
        if isinstance(op, scf.YieldOp):
            for target, v in zip(targets, op.arguments):
                e.fn.line(f"{target} = {e.value(v)};")
        else:
            e._op(op)
    e.fn.depth -= 1


@handles(scf.ForOp)
def _for(e: CEmitter, op: scf.ForOp) -> None:
    name = attr_text(op.attributes, "tiler.tile_loop")
    if name:
        e.fn.line(f"/* tiles of {name} */")
    carried = _declare_results(e, op.results, "acc")
    for var, init in zip(carried, op.iter_args):
        e.fn.line(f"{var} = {e.value(init)};")
    body = op.body.block
    index = e.fresh(body.args[0].name_hint or "i")
    e.names[body.args[0]] = index
    for arg, var in zip(body.args[1:], carried):
        e.names[arg] = var
    lb, ub, step = e.value(op.lb), e.value(op.ub), e.value(op.step)
    e.fn.line(f"for (long {index} = {lb}; {index} < {ub}; {index} += {step}) {{")
    _region_body(e, body, carried)
    e.fn.line("}")


@handles(scf.IfOp)
def _if(e: CEmitter, op: scf.IfOp) -> None:
    targets = _declare_results(e, op.results, "r")
    e.fn.line(f"if ({e.value(op.cond)}) {{")
    _region_body(e, op.true_region.block, targets)
    if op.false_region.blocks and list(op.false_region.block.ops):
        e.fn.line("} else {")
        _region_body(e, op.false_region.block, targets)
    e.fn.line("}")


@handles(func.ReturnOp)
def _return(e: CEmitter, op) -> None:
    pass  # the entry point copies the outputs out
