"""Scalar formulas of the quantization and integer ops (their tiler_dialect definitions
say the arithmetic): quantize and dequantize element by element, the int32 product of
zero-point-shifted 8-bit operands that ConvInteger, MatMulInteger and the QLinear ops
sum, and the QLinear ops' requantizing epilogue."""

from __future__ import annotations

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import IntegerType, f32
from xdsl.ir import Attribute, SSAValue


from tiler_passes.lowering.signless import is_unsigned
from tiler_passes.lowering.structured import Element

i32 = IntegerType(32)


def _range(t: IntegerType) -> tuple[int, int]:
    bits = t.width.data
    if is_unsigned(t):
        return 0, (1 << bits) - 1
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def _to_zero_point(b, scaled: SSAValue, zp: SSAValue, out_type: Attribute, nan_low: bool = False) -> SSAValue:
    """clamp(scaled, qmin - zp, qmax - zp) (NaN: qmin - zp if `nan_low`), rounded half to
    even, + zp, in out_type: the last step of every quantization here (zp a float32)."""
    assert isinstance(out_type, IntegerType)
    qmin, qmax = _range(out_type)
    low, high = b.sub(b.const(float(qmin), f32), zp), b.sub(b.const(float(qmax), f32), zp)
    clamped = b.min(b.max(scaled, low), high)
    if nan_low:
        clamped = b.select(b.emit(arith.CmpfOp(scaled, scaled, "uno")), low, clamped)
    return b.convert(b.add(b.emit(math.RoundEvenOp(clamped)), zp), out_type)


def quantize(op, e: Element, tile) -> SSAValue:
    """clamp(x / scale, qmin - zp, qmax - zp) (NaN: qmin - zp), rounded half to even, + zp."""
    b = e.b
    x, scale, zero_point = e.values
    scaled = b.div(b.convert(x, f32), b.convert(scale, f32))
    return _to_zero_point(b, scaled, b.convert(zero_point, f32), zero_point.type, nan_low=True)


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
    scaled = b.mul(b.convert(acc, f32), b.convert(multiplier, f32))
    return _to_zero_point(b, scaled, b.convert(zero_point, f32), zero_point.type)


# -- com.microsoft's requantizing element-wise ops (tiler_dialect/ops/qlinear.py) -------------


def _saturate(b, r: SSAValue, out_type: IntegerType) -> SSAValue:
    """rint(r) clamped to out_type's range, as out_type."""
    qmin, qmax = _range(out_type)
    rounded = b.emit(math.RoundEvenOp(r))
    return b.convert(b.min(b.max(rounded, b.const(float(qmin), f32)), b.const(float(qmax), f32)), out_type)


def qlinear_add(op, e: Element, tile) -> SSAValue:
    """sat(rint(fma(a, ra, fma(b, rb, fixed)))), each fused multiply-add rounded once."""
    b = e.b
    x, y = e.values
    inner = b.emit(math.FmaOp(b.convert(y, f32), b.const(op.b_ratio.value.data, f32), b.const(op.fixed.value.data, f32)))
    r = b.emit(math.FmaOp(b.convert(x, f32), b.const(op.a_ratio.value.data, f32), inner))
    return _saturate(b, r, x.type)


def qlinear_mul(op, e: Element, tile) -> SSAValue:
    """sat(rint(float32(float32((a - za)(b - zb)) * m) + zc))."""
    b = e.b
    x, y = e.values
    shifted = [b.sub(b.convert(v, i32), b.const(zp.value.data, i32)) for v, zp in ((x, op.a_zero_point), (y, op.b_zero_point))]
    scaled = b.mul(b.convert(b.mul(*shifted), f32), b.const(op.multiplier.value.data, f32))
    return _saturate(b, b.add(scaled, b.const(float(op.c_zero_point.value.data), f32)), x.type)


def requantize_linear(op, e: Element, tile) -> SSAValue:
    """quantize(dequantize(x, sx, zx), sy, zy), in float32 (onnxruntime's table)."""
    b = e.b
    (x,) = e.values
    real = b.mul(b.convert(b.sub(b.convert(x, i32), b.const(op.x_zero_point.value.data, i32)), f32),
                 b.const(op.x_scale.value.data, f32))
    scaled = b.div(real, b.const(op.y_scale.value.data, f32))
    return _to_zero_point(b, scaled, b.const(float(op.y_zero_point.value.data), f32), x.type)


def global_pool_epilogue(op, e: Element, count: int) -> SSAValue:
    """rint(clamp(float32(sum - zx N) * m, qmin - zy, qmax - zy)) + zy."""
    b = e.b
    (acc,) = e.values
    shifted = b.sub(acc, b.const(op.x_zero_point.value.data * count, i32))
    scaled = b.mul(b.convert(shifted, f32), b.const(op.multiplier.value.data, f32))
    zy = b.const(float(op.y_zero_point.value.data), f32)
    return _to_zero_point(b, scaled, zy, op.outputs[0].type.element_type)
