"""Scalar formulas of Deeploy's integer ops (tiler_dialect/ops/deeploy.py says the
arithmetic): RequantShift, alone or as the epilogue of a convolution or matmul, and the
element-wise steps of iSoftmax, iRMSNorm, iHardswish and iNoNorm.

The ops' kernels compute on exact integers (int64 in numpy); so do these formulas: every
product and sum past the 8-bit operands is an i64, and `>>` is the arithmetic shift
(floor division by a power of two) that numpy's is. A convolution's or matmul's sum of
8-bit products stays in int32, as in Deeploy's kernels: exact below 2^17 terms.
"""

from __future__ import annotations

from xdsl.dialects import math
from xdsl.dialects.builtin import Float64Type, IntegerType
from xdsl.ir import Attribute, SSAValue

from tiler_dialect.ops.deeploy import levels_type

from tiler_passes.lowering.body import Body
from tiler_passes.lowering.structured import Element

i32 = IntegerType(32)
i64 = IntegerType(64)


def _wide(b: Body, v: SSAValue) -> SSAValue:
    return b.convert(v, i64)


def _shift(b: Body, v: SSAValue, bits: int) -> SSAValue:
    return v if bits == 0 else b.shr(v, b.const(bits, i64))


def _log2(value: int) -> int:
    return value.bit_length() - 1


def _clamp_to(b: Body, v: SSAValue, lo: int, hi: int, t: Attribute) -> SSAValue:
    return b.convert(b.min(b.max(v, b.const(lo, i64)), b.const(hi, i64)), t)


def requantized(op, b: Body, t: SSAValue, mul: SSAValue, add: SSAValue) -> SSAValue:
    """clamp((t * mul + add + 2^(s-1)) >> s) into the op's levels (div = 2^s)."""
    s = _log2(op.div.value.data)
    v = b.add(b.mul(_wide(b, t), _wide(b, mul)), _wide(b, add))
    if s > 0:
        v = _shift(b, b.add(v, b.const(1 << (s - 1), i64)), s)
    n, signed = op.n_levels.value.data, bool(op.signed.value.data)
    lo, hi = (-(n // 2), n // 2 - 1) if signed else (0, n - 1)
    return _clamp_to(b, v, lo, hi, levels_type(n, signed))


def requant_shift(op, e: Element, tile) -> SSAValue:
    """RequantShift(x, mul, add), and the epilogue of RequantizedConv and RequantizedMatMul
    on their sum: (acc, mul, add)."""
    return requantized(op, e.b, *e.values)


def product(op, e: Element, tile) -> SSAValue:
    """x * w in int32; a padded x contributes 0 (Deeploy's convolutions pad with zeros)."""
    b = e.b
    x, w = (b.convert(v, i32) for v in e.values[:2])
    if e.valid[0] is not None:
        x = b.select(e.valid[0], x, b.const(0, i32))
    return b.mul(x, w)


def hardswish(op, e: Element, tile) -> SSAValue:
    """x * (clamp(x + three, 0, six) * one_over_six), wrapped to int32."""
    b = e.b
    x = _wide(b, e.values[0])
    gate = b.min(b.max(b.add(x, b.const(op.three.value.data, i64)), b.const(0, i64)), b.const(op.six.value.data, i64))
    return b.convert(b.mul(x, b.mul(gate, b.const(op.one_over_six.value.data, i64))), i32)


def no_norm(op, e: Element, tile) -> SSAValue:
    """((x * w + b) * mul) >> log2(D), wrapped to int8."""
    b = e.b
    x, w, bias = (_wide(b, v) for v in e.values)
    v = b.mul(b.add(b.mul(x, w), bias), b.const(op.mul.value.data, i64))
    return b.convert(_shift(b, v, _log2(op.D.value.data)), IntegerType(8))


# -- iSoftmax's and iRMSNorm's steps (their loops: ops.py) -----------------------------


def softmax_term(op, b: Body, x: SSAValue, row_max: SSAValue) -> SSAValue:
    """y = (A (p + B)^2 + C) >> z with xt = x - max, z = min(floor(-xt / log2), 31), p =
    xt + z log2, in i64."""
    log2 = b.const(op.log2.value.data, i64)
    xt = b.sub(_wide(b, x), _wide(b, row_max))
    z = b.min(b.floordiv(b.neg(xt), log2), b.const(31, i64))
    r = b.add(xt, b.mul(z, log2))
    shifted = b.add(r, b.const(op.coeffB.value.data, i64))
    y = b.add(b.mul(b.const(op.coeffA.value.data, i64), b.mul(shifted, shifted)), b.const(op.coeffC.value.data, i64))
    return b.shr(y, z)


def softmax_output(op, b: Body, y: SSAValue, total: SSAValue, out_type: Attribute) -> SSAValue:
    """floor(y (n_levels - 1) / sum), wrapped to the output type."""
    scaled = b.mul(y, b.const(op.n_levels.value.data - 1, i64))
    return b.convert(b.floordiv(scaled, total), out_type)


def square(op, b: Body, x: SSAValue) -> SSAValue:
    x = _wide(b, x)
    return b.mul(x, x)


def rms_std(op, b: Body, total: SSAValue, length: int) -> SSAValue:
    """isqrt(sum / L + 1): floor(sqrt) in double, corrected to the exact integer root."""
    s = b.add(b.floordiv(total, b.const(length, i64)), b.const(1, i64))
    r = b.convert(b.emit(math.FloorOp(b.sqrt(b.convert(s, Float64Type())))), i64)
    one = b.const(1, i64)
    r = b.select(b.cmp(b.mul(r, r), s, "sgt"), b.sub(r, one), r)
    up = b.add(r, one)
    return b.select(b.cmp(b.mul(up, up), s, "sle"), up, r)


def rms_output(op, b: Body, x: SSAValue, weight: SSAValue, std: SSAValue, out_type: Attribute) -> SSAValue:
    """clamp(trunc(x * weight / std) >> log2(D), -n/2, n/2 - 1)."""
    n = op.n_levels.value.data
    v = _shift(b, b.div(b.mul(_wide(b, x), _wide(b, weight)), std), _log2(op.D.value.data))
    return _clamp_to(b, v, -(n // 2), n // 2 - 1, out_type)


def integer_mean(mode: str, b: Body, total: SSAValue, count: int, out_type: Attribute) -> SSAValue:
    """An integer mean of `count` terms rounded as ReduceMean's `rounding` says."""
    n = b.const(count, i64)
    half = b.const(count // 2, i64)
    if mode == "toward_zero":
        mean = b.div(total, n)
    elif mode == "half_up":
        mean = b.floordiv(b.add(total, half), n)
    else:  # half away from zero
        away = b.select(b.cmp(total, b.const(0, i64), "sge"), half, b.neg(half))
        mean = b.div(b.add(total, away), n)
    return b.convert(mean, out_type)
