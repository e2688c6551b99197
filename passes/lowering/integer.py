"""Scalar formulas of the quantization and integer ops (their tiler_dialect definitions
say the arithmetic): quantize and dequantize element by element, the int32 product of
zero-point-shifted 8-bit operands that ConvInteger, MatMulInteger and the QLinear ops
sum, and the QLinear ops' requantizing epilogue."""

from __future__ import annotations

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import IntegerType, f32
from xdsl.ir import SSAValue

from tiler_passes.lowering.structured import Element

i32 = IntegerType(32)


def _range(t: IntegerType) -> tuple[int, int]:
    bits = t.width.data
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def quantize(op, e: Element, tile) -> SSAValue:
    """clamp(x / scale, qmin - zp, qmax - zp) (NaN: qmin - zp), rounded half to even, + zp."""
    b = e.b
    x, scale, zero_point = e.values
    out_type = zero_point.type
    assert isinstance(out_type, IntegerType)
    qmin, qmax = _range(out_type)
    zp = b.convert(zero_point, f32)
    scaled = b.div(b.convert(x, f32), b.convert(scale, f32))
    low, high = b.sub(b.const(float(qmin), f32), zp), b.sub(b.const(float(qmax), f32), zp)
    is_nan = b.emit(arith.CmpfOp(scaled, scaled, "uno"))
    clamped = b.select(is_nan, low, b.min(b.max(scaled, low), high))
    return b.convert(b.add(b.emit(math.RoundEvenOp(clamped)), zp), out_type)


def dequantize(op, e: Element, tile) -> SSAValue:
    """float(int32(q) - int32(zp)) * scale."""
    b = e.b
    q, scale, zero_point = e.values
    shifted = b.sub(b.convert(q, i32), b.convert(zero_point, i32))
    return b.mul(b.convert(shifted, scale.type), scale)


def shifted_product(op, e: Element, tile) -> SSAValue:
    """(x - x_zp) * (w - w_zp) in int32; a padded x contributes 0 (it is x_zp)."""
    b = e.b
    x, w, x_zp, w_zp = e.values[:4]
    xs = b.sub(b.convert(x, i32), b.convert(x_zp, i32))
    if e.valid[0] is not None:
        xs = b.select(e.valid[0], xs, b.const(0, i32))
    return b.mul(xs, b.sub(b.convert(w, i32), b.convert(w_zp, i32)))


def requantize(e: Element) -> SSAValue:
    """The QLinear epilogue: clamp(float32(acc) * multiplier, qmin - y_zp, qmax - y_zp),
    rounded half to even, + y_zp (tiler_dialect.ops.integer.requantize)."""
    b = e.b
    acc, multiplier, zero_point = e.values
    out_type = zero_point.type
    assert isinstance(out_type, IntegerType)
    qmin, qmax = _range(out_type)
    zp = b.convert(zero_point, f32)
    scaled = b.mul(b.convert(acc, f32), b.convert(multiplier, f32))
    low, high = b.sub(b.const(float(qmin), f32), zp), b.sub(b.const(float(qmax), f32), zp)
    clamped = b.min(b.max(scaled, low), high)
    return b.convert(b.add(b.emit(math.RoundEvenOp(clamped)), zp), out_type)
