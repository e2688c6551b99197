"""Linear quantization: ONNX QuantizeLinear and DequantizeLinear as element-wise ops.

Scale and zero point are operands broadcast against the data (the importer gives a
per-axis scale its axis as a broadcastable shape), so a tile reads the slice of them its
elements need, like any broadcast operand. The arithmetic is onnxruntime's CPU kernels'
(MLAS), in float32:

    quantize:   q = clamp(x / scale, qmin - zp, qmax - zp), rounded half to even, + zp
                (a NaN clamps to qmin - zp, as SSE's max does)
    dequantize: y = float32(int32(q) - int32(zp)) * scale
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import AnyFloat, IntegerType
from xdsl.ir import Attribute
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.ops.shapes import Shape, broadcast_shapes
from tiler_dialect.ops.elementwise import ElementwiseOp
from xdsl.irdl import irdl_op_definition


class _LinearQuantization(ElementwiseOp):
    NUM_INPUTS: ClassVar = (3, 3)

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        out = broadcast_shapes(*shapes)
        if tuple(out) != tuple(shapes[0]):
            raise VerifyException(f"scale and zero point must broadcast to the data's shape {list(shapes[0])}")
        return tuple(shapes[0])


@irdl_op_definition
class QuantizeLinearOp(_LinearQuantization):
    """ins(x: float, scale: float, zero_point: integer) -> the zero point's integer type."""

    name = "tiler.quantize_linear"

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        x, scale, zero_point = element_types
        if not isinstance(x, AnyFloat) or not isinstance(scale, AnyFloat):
            raise VerifyException(f"tiler.quantize_linear quantizes floats with a float scale, got {x} and {scale}")
        if not isinstance(zero_point, IntegerType) or zero_point.width.data not in (8, 16, 32):
            raise VerifyException(f"the zero point must be an 8-, 16- or 32-bit integer, got {zero_point}")
        return zero_point

    def compute(self, x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray) -> np.ndarray:
        return quantize(x, scale, zero_point)


@irdl_op_definition
class DequantizeLinearOp(_LinearQuantization):
    """ins(q: integer, scale: float, zero_point: q's type) -> the scale's float type."""

    name = "tiler.dequantize_linear"

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        q, scale, zero_point = element_types
        if not isinstance(q, IntegerType) or q.width.data not in (8, 16, 32):
            raise VerifyException(f"tiler.dequantize_linear takes 8-, 16- or 32-bit integers, got {q}")
        if zero_point != q:
            raise VerifyException(f"the zero point has type {zero_point}, the data {q}")
        if not isinstance(scale, AnyFloat):
            raise VerifyException(f"the scale must be a float, got {scale}")
        return scale

    def compute(self, q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray) -> np.ndarray:
        return dequantize(q, scale, zero_point)


def quantize(x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray) -> np.ndarray:
    info = np.iinfo(zero_point.dtype)
    zp = zero_point.astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scaled = x.astype(np.float32) / scale.astype(np.float32)
    low, high = np.float32(info.min) - zp, np.float32(info.max) - zp
    scaled = np.where(np.isnan(scaled), low, np.minimum(np.maximum(scaled, low), high))
    return (np.rint(scaled) + zp).astype(zero_point.dtype)


def dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray) -> np.ndarray:
    shifted = q.astype(np.int32) - zero_point.astype(np.int32)
    return (shifted.astype(np.float32) * scale.astype(np.float32)).astype(scale.dtype)


QUANTIZATION_OPS = (QuantizeLinearOp, DequantizeLinearOp)
