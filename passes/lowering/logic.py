"""The scalar formulas of the variadic, comparison, logical and bitwise ops
(tiler_dialect/ops/logic.py), following their numpy kernels."""

from __future__ import annotations

from functools import reduce

from xdsl.dialects import arith
from xdsl.dialects.builtin import AnyFloat, IntegerType, i1
from xdsl.ir import SSAValue

from tiler_dialect.ops.logic import (
    AndOp,
    BitShiftOp,
    BitwiseAndOp,
    BitwiseNotOp,
    BitwiseOrOp,
    BitwiseXorOp,
    ComparisonOp,
    EqualOp,
    GreaterOp,
    GreaterOrEqualOp,
    IsInfOp,
    IsNaNOp,
    LessOp,
    LessOrEqualOp,
    MaxOp,
    MeanOp,
    MinOp,
    ModOp,
    NotOp,
    OrOp,
    PReluOp,
    SumOp,
    WhereOp,
    XorOp,
)
from tiler_dialect.ops.base import TilerOp
from tiler_dialect.xdsl_fixes import RemFOp
from tiler_passes.lowering.body import Body
from tiler_passes.lowering.signless import is_unsigned
from tiler_passes.lowering.structured import Element
from tiler_passes.lowering.tile import Tile


def _fold(combine):
    return lambda op, e, tile: reduce(lambda a, x: combine(e.b, a, x), e.values)


def _mean(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b = e.b
    total = reduce(b.add, e.values)
    return b.div(total, b.const(float(len(e.values)), total.type))


def _mod(op: ModOp, e: Element, tile: Tile) -> SSAValue:
    """fmod: C's remainder (the dividend's sign); otherwise that plus the divisor where
    the signs differ (numpy's mod). Integers divide by 1 where the divisor is 0 or -1
    (the remainder is 0 either way; C traps on MIN % -1)."""
    b, x, y = e.b, e.values[0], e.values[1]
    t = x.type
    zero = b.const(0, t)
    if isinstance(t, AnyFloat):
        r = b.emit(RemFOp(x, y))
    else:
        trivial = b.cmp(y, zero, "eq")
        if not is_unsigned(t):
            trivial = b.emit(arith.OrIOp(trivial, b.cmp(y, b.const(-1, t), "eq")))
        safe = b.select(trivial, b.const(1, t), y)
        r = b.emit((arith.RemUIOp if is_unsigned(t) else arith.RemSIOp)(x, safe))
    if op.fmod.value.data or is_unsigned(t):
        return r
    nonzero = b.cmpf(r, zero, "une") if isinstance(t, AnyFloat) else b.cmp(r, zero, "ne")
    signs_differ = b.emit(arith.XOrIOp(b.less_than(r, zero), b.less_than(y, zero)))
    return b.select(b.and_(nonzero, signs_differ), b.add(r, y), r)


def _bit_shift(op: BitShiftOp, e: Element, tile: Tile) -> SSAValue:
    b, x, amount = e.b, e.values[0], e.values[1]
    t = x.type
    assert isinstance(t, IntegerType)
    zero = b.const(0, t)
    valid = b.cmp(amount, b.const(t.width.data, t), "ult")  # a negative amount is a large unsigned one
    safe = b.select(valid, amount, zero)
    if op.left.value.data:
        return b.select(valid, b.emit(arith.ShLIOp(x, safe)), zero)
    if is_unsigned(t):
        return b.select(valid, b.emit(arith.ShRUIOp(x, safe)), zero)
    fill = b.select(b.less_than(x, zero), b.const(-1, t), zero)
    return b.select(valid, b.emit(arith.ShRSIOp(x, safe)), fill)


def _prelu(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x, slope = e.b, e.values[0], e.values[1]
    return b.select(b.less_than(x, b.const(0, x.type)), b.mul(x, slope), x)


def _compare(op: ComparisonOp, e: Element, tile: Tile) -> SSAValue:
    b, x, y = e.b, e.values[0], e.values[1]
    p = op.PREDICATE
    if isinstance(x.type, AnyFloat):
        return b.cmpf(x, y, "o" + p)
    return b.cmp(x, y, p if p in ("eq", "ne") else "s" + p)


def _is_inf(op: IsInfOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, e.values[0]
    tests = []
    if op.detect_positive.value.data:
        tests.append(b.cmpf(x, b.const(float("inf"), x.type), "oeq"))
    if op.detect_negative.value.data:
        tests.append(b.cmpf(x, b.const(float("-inf"), x.type), "oeq"))
    if not tests:
        return b.const(0, i1)
    return reduce(lambda p, q: b.emit(arith.OrIOp(p, q)), tests)


def _bitwise(op_class):
    return lambda op, e, tile: e.b.emit(op_class(e.values[0], e.values[1]))


def _invert(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, e.values[0]
    t = x.type
    all_ones = float("inf") if is_unsigned(t) or t.width.data == 1 else -1  # const clamps inf to the type's top
    return b.emit(arith.XOrIOp(x, b.const(all_ones, t)))


FORMULAS = {
    MaxOp: _fold(Body.max),
    MinOp: _fold(Body.min),
    SumOp: _fold(Body.add),
    MeanOp: _mean,
    ModOp: _mod,
    BitShiftOp: _bit_shift,
    PReluOp: _prelu,
    EqualOp: _compare,
    LessOp: _compare,
    LessOrEqualOp: _compare,
    GreaterOp: _compare,
    GreaterOrEqualOp: _compare,
    IsNaNOp: lambda op, e, tile: e.b.cmpf(e.values[0], e.values[0], "uno"),
    IsInfOp: _is_inf,
    AndOp: _bitwise(arith.AndIOp),
    OrOp: _bitwise(arith.OrIOp),
    XorOp: _bitwise(arith.XOrIOp),
    BitwiseAndOp: _bitwise(arith.AndIOp),
    BitwiseOrOp: _bitwise(arith.OrIOp),
    BitwiseXorOp: _bitwise(arith.XOrIOp),
    NotOp: _invert,
    BitwiseNotOp: _invert,
    WhereOp: lambda op, e, tile: e.b.select(*e.values),
}
"""Per op, its scalar formula (an elementwise map: no reduction)."""
