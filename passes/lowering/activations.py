"""The scalar formulas of the math functions and parametrised activations
(tiler_dialect/ops/activations.py): the operations of each op's numpy kernel, in the
same order and precision, so that the lowered program gives the kernel's values."""

from __future__ import annotations

from xdsl.dialects import math
from xdsl.dialects.builtin import AnyFloat
from xdsl.ir import SSAValue

from tiler_dialect.ops.activations import (
    AbsOp,
    CeilOp,
    CeluOp,
    CosOp,
    EluOp,
    ErfOp,
    ExpOp,
    FloorOp,
    LeakyReluOp,
    LogOp,
    MishOp,
    NegOp,
    ReciprocalOp,
    RoundOp,
    SeluOp,
    ShrinkOp,
    SignOp,
    SinOp,
    SoftplusOp,
    SoftsignOp,
    SwishOp,
    ThresholdedReluOp,
)
from tiler_dialect.ops.base import TilerOp
from tiler_passes.lowering.body import Body
from tiler_passes.lowering.structured import Element
from tiler_passes.lowering.tile import Tile



def _math(op_class):
    return lambda op, e, tile: e.b.unary(op_class, e.values[0])


def _prop(op: TilerOp, name: str, x: SSAValue, b: Body) -> SSAValue:
    """The op's float property `name` as a constant of x's type."""
    return b.const(getattr(op, name).value.data, x.type)


def abs_of(b: Body, x: SSAValue) -> SSAValue:
    if isinstance(x.type, AnyFloat):
        return b.unary(math.AbsFOp, x)
    return b.select(b.less_than(x, b.const(0, x.type)), b.neg(x), x)


def _abs(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    return abs_of(e.b, e.values[0])


def _sign(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    """1 above zero, -1 below, else x itself (zero, or NaN)."""
    b, x = e.b, e.values[0]
    t = x.type
    below = b.select(b.less_than(x, b.const(0, t)), b.const(-1, t), x)
    return b.select(b.greater_than(x, b.const(0, t)), b.const(1, t), below)


def _erf(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, e.values[0]
    return b.convert(b.unary(math.ErfOp, b.wide(x)), x.type)


def _leaky_relu(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, e.values[0]
    return b.select(b.less_than(x, b.const(0, x.type)), b.mul(x, _prop(op, "alpha", x, b)), x)


def _expm1_times(b: Body, x: SSAValue, factor: SSAValue) -> SSAValue:
    return b.mul(b.sub(b.exp(x), b.const(1, x.type)), factor)


def _elu(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, e.values[0]
    return b.select(b.less_than(x, b.const(0, x.type)), _expm1_times(b, x, _prop(op, "alpha", x, b)), x)


def _selu(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, e.values[0]
    alpha, gamma = _prop(op, "alpha", x, b), _prop(op, "gamma", x, b)
    negative = b.mul(b.sub(b.mul(b.exp(x), alpha), alpha), gamma)
    return b.select(b.greater_than(x, b.const(0, x.type)), b.mul(x, gamma), negative)


def _celu(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, e.values[0]
    alpha, zero = _prop(op, "alpha", x, b), b.const(0, x.type)
    return b.add(b.max(zero, x), b.min(zero, _expm1_times(b, b.div(x, alpha), alpha)))


def _softplus_of(b: Body, x: SSAValue) -> SSAValue:
    return b.unary(math.LogOp, b.add(b.exp(x), b.const(1, x.type)))


def _softsign(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, e.values[0]
    return b.div(x, b.add(b.const(1, x.type), b.unary(math.AbsFOp, x)))


def _mish(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, e.values[0]
    return b.mul(x, b.unary(math.TanhOp, _softplus_of(b, x)))


def _swish(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, e.values[0]
    one = b.const(1, x.type)
    return b.mul(x, b.div(one, b.add(one, b.exp(b.neg(b.mul(x, _prop(op, "alpha", x, b)))))))


def _thresholded_relu(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, e.values[0]
    return b.select(b.greater_than(x, _prop(op, "alpha", x, b)), x, b.const(0, x.type))


def _shrink(op: TilerOp, e: Element, tile: Tile) -> SSAValue:
    b, x = e.b, e.values[0]
    bias, lambd = _prop(op, "bias", x, b), _prop(op, "lambd", x, b)
    above = b.select(b.greater_than(x, lambd), b.sub(x, bias), b.const(0, x.type))
    return b.select(b.less_than(x, b.neg(lambd)), b.add(x, bias), above)


FORMULAS = {
    ExpOp: _math(math.ExpOp),
    LogOp: _math(math.LogOp),
    NegOp: lambda op, e, tile: e.b.neg(e.values[0]),
    AbsOp: _abs,
    SignOp: _sign,
    ReciprocalOp: lambda op, e, tile: e.b.div(e.b.const(1, e.values[0].type), e.values[0]),
    ErfOp: _erf,
    FloorOp: _math(math.FloorOp),
    CeilOp: _math(math.CeilOp),
    RoundOp: _math(math.RoundEvenOp),
    SinOp: _math(math.SinOp),
    CosOp: _math(math.CosOp),
    LeakyReluOp: _leaky_relu,
    EluOp: _elu,
    SeluOp: _selu,
    CeluOp: _celu,
    SoftplusOp: lambda op, e, tile: _softplus_of(e.b, e.values[0]),
    SoftsignOp: _softsign,
    MishOp: _mish,
    SwishOp: _swish,
    ThresholdedReluOp: _thresholded_relu,
    ShrinkOp: _shrink,
}
"""Per op, its scalar formula (an elementwise map: no reduction)."""
