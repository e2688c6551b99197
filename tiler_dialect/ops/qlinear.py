"""onnxruntime's requantizing element-wise, pooling and softmax ops (com.microsoft
QLinearAdd, QLinearMul, QLinearGlobalAveragePool / the global case of
QLinearAveragePool, QLinearSoftmax), on 8-bit data with onnxruntime's CPU arithmetic
(docs/research/onnxruntime_quantized_kernels.md; f32() rounds to float32, rne rounds half
to even, sat saturates to the output type):

    add:      r = fma(a, ra, fma(b, rb, fixed)),  out = sat(rne(r))
              ra = f32(sa / sc), rb = f32(sb / sc),
              fixed = f32(zc - fma(ra, za, f32(rb * zb)))         (computed at import)
    mul:      p = (a - za)(b - zb),  out = sat(rne(f32(f32(p) * m) + zc)),  m = f32(f32(sa sb) / sc)
    global average pool:
              acc = sum(x) - zx N,  out = sat(rne(clamp(f32(acc) * m)) + zy),
              m = f32(sx / f32(sy N))
    requantize (QLinearConcat's table for an input of another scale or zero point):
              out = quantize(dequantize(x, sx, zx), sy, zy)
    softmax:  t = f32(exp((x - max + shift) sx)) (onnxruntime's 256-entry table),
              out = rne(f32(t k) / sum(t)) + zy,  k = floor(1 / sy), the sum sequential in
              float32; above 255 it is 255, and int8 results wrap as onnxruntime's do

The fused multiply-adds are rounded once, as the AVX2 kernel's are: `fma32` computes them
exactly from float64 with an error-free sum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import Float32Type, FloatAttr, I64, IntegerAttr
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, prop_def
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.ops.base import TilerOp
from tiler_dialect.ops.shapes import Shape, broadcast_shapes
from tiler_dialect.ops.elementwise import ElementwiseOp
from tiler_dialect.ops.integer import is_8bit
from tiler_dialect.ops.normalization import AlongAxis, identity_description
from tiler_dialect.ops.quantization import dequantize, quantize
from tiler_dialect.ops.spatial import GlobalPoolBase

F32 = np.float32


def fma32(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """a * b + c for float32 arrays, rounded once to float32 (round half to even)."""
    a64, b64, c64 = (np.asarray(v, F32).astype(np.float64) for v in (a, b, c))
    p = a64 * b64  # exact: two 24-bit significands
    s = p + c64
    bb = s - p
    e = (p - (s - bb)) + (c64 - bb)  # s + e == p + c exactly (TwoSum)
    up, down = np.nextafter(s, np.inf), np.nextafter(s, -np.inf)
    # s can round wrongly to float32 only when it is a float32 tie and the rest is not 0
    tie = up.astype(F32) != down.astype(F32)
    nudged = np.where(e > 0, up, down)
    return np.where(tie & (e != 0), nudged, s).astype(F32)


def _saturate_rne(r: np.ndarray, dtype: np.dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.clip(np.rint(np.nan_to_num(r, nan=0.0)), info.min, info.max).astype(dtype)


class _EightBit:
    """The ops of this module take 8-bit integers of one type and return that type."""

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        first = element_types[0]
        for t in element_types:
            if not is_8bit(t) or t != first:
                raise VerifyException(
                    f"{self.name} takes 8-bit integers of one type, got {', '.join(map(str, element_types))}"  # type: ignore[attr-defined]
                )
        return first


class _Binary(_EightBit, ElementwiseOp):
    """ins(a, b), broadcast."""

    NUM_INPUTS: ClassVar = (2, 2)

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        return broadcast_shapes(*shapes)


@irdl_op_definition
class QLinearAddOp(_Binary):
    """ins(a, b), broadcast: onnxruntime's QLinearAdd with its scales folded into
    `a_ratio`, `b_ratio` and `fixed` (a is the operand onnxruntime calls the first after
    its swap of a broadcast first input)."""

    name = "tiler.qlinear_add"
    a_ratio = prop_def(FloatAttr[Float32Type])
    b_ratio = prop_def(FloatAttr[Float32Type])
    fixed = prop_def(FloatAttr[Float32Type])

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        inner = fma32(b.astype(F32), F32(self.b_ratio.value.data), F32(self.fixed.value.data))
        return _saturate_rne(fma32(a.astype(F32), F32(self.a_ratio.value.data), inner), a.dtype)


def qlinear_add_parameters(
    a_scale: float, a_zp: int, b_scale: float, b_zp: int, c_scale: float, c_zp: int
) -> dict[str, float]:
    """QLinearAdd's folded parameters, as onnxruntime computes them (float32)."""
    ra, rb = F32(F32(a_scale) / F32(c_scale)), F32(F32(b_scale) / F32(c_scale))
    fixed = F32(F32(c_zp) - fma32(np.array(ra), np.array(F32(a_zp)), np.array(F32(rb * F32(b_zp)))))
    return {"a_ratio": float(ra), "b_ratio": float(rb), "fixed": float(fixed)}


@irdl_op_definition
class QLinearMulOp(_Binary):
    """ins(a, b), broadcast: onnxruntime's QLinearMul, multiplier f32(f32(sa sb) / sc)."""

    name = "tiler.qlinear_mul"
    multiplier = prop_def(FloatAttr[Float32Type])
    a_zero_point = prop_def(IntegerAttr[I64])
    b_zero_point = prop_def(IntegerAttr[I64])
    c_zero_point = prop_def(IntegerAttr[I64])

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        product = (a.astype(np.int32) - self.a_zero_point.value.data) * (b.astype(np.int32) - self.b_zero_point.value.data)
        r = (product.astype(F32) * F32(self.multiplier.value.data)).astype(F32) + F32(self.c_zero_point.value.data)
        return _saturate_rne(r.astype(F32), a.dtype)


@irdl_op_definition
class QLinearGlobalAveragePoolOp(_EightBit, GlobalPoolBase):
    """The mean over the spatial dims of 8-bit data, requantized: onnxruntime's integer
    QLinearGlobalAveragePool (also its QLinearAveragePool whose window is the image)."""

    name = "tiler.qlinear_global_average_pool"
    multiplier = prop_def(FloatAttr[Float32Type])
    x_zero_point = prop_def(IntegerAttr[I64])
    y_zero_point = prop_def(IntegerAttr[I64])

    def compute(self, x: np.ndarray) -> np.ndarray:
        axes = tuple(range(2, x.ndim))
        count = math.prod(x.shape[2:])
        acc = x.astype(np.int64).sum(axis=axes, keepdims=True) - self.x_zero_point.value.data * count
        info, zy = np.iinfo(x.dtype), self.y_zero_point.value.data
        scaled = (acc.astype(np.int32).astype(F32) * F32(self.multiplier.value.data)).astype(F32)
        scaled = np.clip(scaled, F32(info.min - zy), F32(info.max - zy))
        return (np.rint(scaled).astype(np.int32) + zy).astype(x.dtype)


def global_pool_multiplier(x_scale: float, y_scale: float, count: int) -> float:
    return float(F32(F32(x_scale) / F32(F32(y_scale) * F32(count))))


@irdl_op_definition
class QLinearSoftmaxOp(_EightBit, AlongAxis, TilerOp):
    """onnxruntime's QLinearSoftmax (opset-13 form) along `axis`, with its lookup table."""

    name = "tiler.qlinear_softmax"
    axis = prop_def(IntegerAttr[I64])
    x_scale = prop_def(FloatAttr[Float32Type])
    y_scale = prop_def(FloatAttr[Float32Type])
    y_zero_point = prop_def(IntegerAttr[I64])

    def tiling(self):
        return identity_description(self.output_shape, {self.axis_index}, [])

    def compute(self, x: np.ndarray) -> np.ndarray:
        axis = self.axis_index
        rows = np.moveaxis(x.astype(np.int64), axis, -1)
        length = rows.shape[-1]
        xs = float(F32(self.x_scale.value.data))
        shift = max(0.0, math.log(float(F32(np.finfo(F32).max) / F32(length))) - 5) / xs
        table = np.exp((np.arange(-255, 1, dtype=np.float64) + shift) * xs).astype(F32)  # index x - max + 255
        t = table[rows - rows.max(axis=-1, keepdims=True) + 255]
        total = np.zeros(t.shape[:-1], F32)
        for i in range(length):  # sequential, as onnxruntime sums
            total = (total + t[..., i]).astype(F32)
        k = F32(math.floor(F32(1.0) / F32(self.y_scale.value.data)))
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.rint(((t * k).astype(F32) / total[..., None]).astype(F32))
        v = q.astype(np.int64) + self.y_zero_point.value.data
        out = np.where(v > 255, 255, v)
        out = out.astype(np.uint8) if x.dtype == np.uint8 else out.astype(np.int64).astype(np.int8)  # int8 wraps
        return np.moveaxis(out, -1, axis).astype(x.dtype)


@irdl_op_definition
class RequantizeLinearOp(_EightBit, ElementwiseOp):
    """8-bit data moved to another scale and zero point, as onnxruntime's QLinearConcat
    moves an input whose scale or zero point is not the output's (its 256-entry table is
    quantize(dequantize(x)) in float32)."""

    name = "tiler.requantize_linear"
    NUM_INPUTS: ClassVar = (1, 1)
    x_scale = prop_def(FloatAttr[Float32Type])
    x_zero_point = prop_def(IntegerAttr[I64])
    y_scale = prop_def(FloatAttr[Float32Type])
    y_zero_point = prop_def(IntegerAttr[I64])

    def compute(self, x: np.ndarray) -> np.ndarray:
        real = dequantize(x, np.array(self.x_scale.value.data, F32), np.array(self.x_zero_point.value.data, x.dtype))
        return quantize(real, np.array(self.y_scale.value.data, F32), np.array(self.y_zero_point.value.data, x.dtype))


QLINEAR_OPS = (RequantizeLinearOp, QLinearAddOp, QLinearMulOp, QLinearGlobalAveragePoolOp, QLinearSoftmaxOp)
