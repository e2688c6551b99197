"""Integer convolution and matmul: ONNX ConvInteger, MatMulInteger, QLinearConv and
QLinearMatMul.

Each is its float counterpart's tiling (the same loops and windows) on 8-bit data with
zero points, accumulating exactly in int32. ConvInteger and MatMulInteger return that
accumulator; the QLinear ops requantize it in their epilogue, so the int32 values exist
only inside a tile and every operand and result is 8-bit:

    acc = sum((x - x_zp) * (w - w_zp)) [+ bias]                    int32
    y   = clamp(float32(acc) * multiplier, qmin - y_zp, qmax - y_zp),
          rounded half to even, + y_zp                             y_zp's type

with multiplier = x_scale * w_scale / y_scale, computed at import in float32 as
onnxruntime's CPU kernels compute it (per output channel or column where the weight's
scale is). The reduction of these ops is never split: a tile sums all of its input
channels and window (or its whole inner dimension), as the epilogue needs the whole sum.

Zero points and multipliers are operands: a per-channel one is indexed by the output
channel (conv) or broadcast against the output (matmul), so a tile reads its slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import AnyFloat, IntegerType
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.ops.shapes import Shape
from tiler_dialect.ops.contraction import MatMulWithOutputOperands
from tiler_dialect.ops.spatial import ConvBase, conv
from tiler_dialect.tiling import OperandAccess, TilingDescription, dims_map

i32 = IntegerType(32)


def is_8bit(t: Attribute) -> bool:
    return isinstance(t, IntegerType) and t.width.data == 8


def _requantized_type(multiplier: Attribute, y_zp: Attribute, *bias: Attribute) -> Attribute:
    """The result type of a requantizing op: its output zero point's (8-bit)."""
    if not isinstance(multiplier, AnyFloat):
        raise VerifyException(f"the multiplier must be a float, got {multiplier}")
    if not is_8bit(y_zp):
        raise VerifyException(f"the output zero point must be an 8-bit integer, got {y_zp}")
    if bias and bias[0] != i32:
        raise VerifyException(f"the bias must be i32, got {bias[0]}")
    return y_zp


def requantize(acc: np.ndarray, multiplier: np.ndarray, zero_point: np.ndarray) -> np.ndarray:
    """acc (int32) scaled by the float32 multiplier into zero_point's 8-bit type."""
    info = np.iinfo(zero_point.dtype)
    zp = zero_point.astype(np.float32)
    scaled = acc.astype(np.float32) * multiplier.astype(np.float32)
    scaled = np.minimum(np.maximum(scaled, np.float32(info.min) - zp), np.float32(info.max) - zp)
    return (np.rint(scaled) + zp).astype(zero_point.dtype)


def _shift(values: np.ndarray, zero_point: np.ndarray) -> np.ndarray:
    return values.astype(np.int64) - zero_point.astype(np.int64)


class _IntegerOperands:
    """The element types both integer families share: 8-bit data and weights with zero
    points of their types, an int32 result, or the requantized output's type."""

    REQUANTIZES: ClassVar[bool] = False

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        x, w, x_zp, w_zp = element_types[:4]
        if not (is_8bit(x) and is_8bit(w)):
            raise VerifyException(f"{self.name} takes 8-bit integer operands, got {x} and {w}")  # type: ignore[attr-defined]
        if x_zp != x or w_zp != w:
            raise VerifyException("the zero points must have their operands' types")
        return _requantized_type(*element_types[4:]) if self.REQUANTIZES else i32


# -- convolution --------------------------------------------------------------------------


class _IntegerConv(_IntegerOperands, ConvBase):
    """ins(x, w, x_zp, w_zp, ...): x_zp a scalar, w_zp a scalar or one per output channel."""

    FLOAT_ONLY: ClassVar = False
    EXTRA_INPUTS: ClassVar[int] = 2  # operands after x and w, before an optional bias

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        return self._conv_shape(shapes, self.EXTRA_INPUTS)

    def _conv_shape(self, shapes: Sequence[Shape], extra_inputs: int) -> Shape:
        """The convolution's shape, with `extra_inputs` zero points (scalars, or one per
        output channel for the weight's) between the weight and the bias."""
        x, w, *rest = shapes
        bias = rest[extra_inputs:]
        out = ConvBase.infer_shape(self, [x, w, *bias])
        for i, s in enumerate(rest[:extra_inputs], start=2):
            if s not in ((), (w[0],)) or (i == 2 and s != ()):
                raise VerifyException(
                    f"input #{i} must be a scalar{'' if i == 2 else f' or one per output channel ({w[0]})'}, "
                    f"got shape {list(s)}"
                )
        return out


    def tiling(self) -> TilingDescription:
        base = ConvBase.tiling(self)
        nd = len(base.dims)
        channel = base.inputs[1].map.results[0]  # the weight's output channel, g * M + m
        extras = [
            OperandAccess(dims_map(nd, [channel] if len(s) else []))
            for s in self.input_shapes[2:]
        ]
        return TilingDescription(base.dims, (*base.inputs[:2], *extras), base.outputs, combine=None)

    def _accumulate(self, x, w, x_zp, w_zp, bias, conv_of) -> np.ndarray | None:
        """The int32 sums; None where conv_of (a tile's fast path) has none."""
        w_zp = w_zp.reshape((-1,) + (1,) * (w.ndim - 1)) if w_zp.ndim else w_zp
        b = [bias.astype(np.int64)] if bias is not None else []
        acc = conv_of(_shift(x, x_zp), _shift(w, w_zp), b)
        return None if acc is None else np.asarray(acc).astype(np.int32)


@irdl_op_definition
class ConvIntegerOp(_IntegerConv):
    """ONNX ConvInteger: the int32 sums of (x - x_zp) * (w - w_zp); padding counts 0."""

    name = "tiler.conv_integer"
    NUM_INPUTS: ClassVar = (4, 4)


    def compute(self, x, w, x_zp, w_zp) -> np.ndarray:
        group, out = self.group.value.data, self.output_shape[2:]
        return self._accumulate(x, w, x_zp, w_zp, None, lambda a, b, bias: conv(a, b, None, self.window, group, out))

    def compute_tile(self, inputs, box):
        x, w, x_zp, w_zp = inputs
        return self._accumulate(x, w, x_zp, w_zp, None, lambda a, b, bias: ConvBase.compute_tile(self, [a, b], box))


@irdl_op_definition
class QLinearConvOp(_IntegerConv):
    """ONNX QLinearConv: ins(x, w, x_zp, w_zp, multiplier, y_zp[, bias]), the multiplier
    float32 (a scalar or one per output channel), the bias int32."""

    name = "tiler.qlinear_conv"
    NUM_INPUTS: ClassVar = (6, 7)
    EXTRA_INPUTS: ClassVar[int] = 4
    REQUANTIZES: ClassVar = True

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x, w, x_zp, w_zp, multiplier, y_zp, *bias = shapes
        out = self._conv_shape([x, w, x_zp, w_zp, *bias], _IntegerConv.EXTRA_INPUTS)
        if multiplier not in ((), (w[0],)):
            raise VerifyException(f"the multiplier must be a scalar or one per output channel, got {list(multiplier)}")
        if y_zp != ():
            raise VerifyException(f"the output zero point must be a scalar, got shape {list(y_zp)}")
        return out


    def _output(self, acc: np.ndarray, multiplier: np.ndarray, y_zp: np.ndarray) -> np.ndarray:
        multiplier = multiplier.reshape((-1,) + (1,) * (acc.ndim - 2)) if multiplier.ndim else multiplier
        return requantize(acc, multiplier, y_zp)

    def compute(self, x, w, x_zp, w_zp, multiplier, y_zp, bias=None) -> np.ndarray:
        group, out = self.group.value.data, self.output_shape[2:]
        acc = self._accumulate(
            x, w, x_zp, w_zp, bias, lambda a, b, bs: conv(a, b, bs[0] if bs else None, self.window, group, out)
        )
        return self._output(acc, multiplier, y_zp)

    def compute_tile(self, inputs, box):
        x, w, x_zp, w_zp, multiplier, y_zp, *bias = inputs
        acc = self._accumulate(
            x, w, x_zp, w_zp, bias[0] if bias else None, lambda a, b, bs: ConvBase.compute_tile(self, [a, b, *bs], box)
        )
        return None if acc is None else self._output(acc, multiplier, y_zp)


# -- matmul -------------------------------------------------------------------------------


class _IntegerMatMul(_IntegerOperands, MatMulWithOutputOperands):
    """ins(a, b, a_zp, b_zp, ...): zero points shaped to broadcast against the output
    (a's per row as [M, 1], b's per column as [N])."""

    EXTRA_INPUTS: ClassVar[int] = 2

    @staticmethod
    def _accumulate(a, b, a_zp, b_zp) -> np.ndarray:
        # a's zero point is broadcast against the output [.., M, N]: per row it is [M, 1]
        return np.matmul(_shift(a, a_zp), _shift(b, b_zp)).astype(np.int32)


@irdl_op_definition
class MatMulIntegerOp(_IntegerMatMul):
    """ONNX MatMulInteger: the int32 products of (a - a_zp) @ (b - b_zp)."""

    name = "tiler.matmul_integer"
    NUM_INPUTS: ClassVar = (4, 4)


    def compute(self, a, b, a_zp, b_zp) -> np.ndarray:
        return self._accumulate(a, b, a_zp, b_zp)


@irdl_op_definition
class QLinearMatMulOp(_IntegerMatMul):
    """ONNX QLinearMatMul (and com.microsoft QGemm with alpha 1): ins(a, b, a_zp, b_zp,
    multiplier, y_zp[, bias]), the multiplier float32 and the bias int32, both broadcast
    against the output."""

    name = "tiler.qlinear_matmul"
    NUM_INPUTS: ClassVar = (6, 7)
    REQUANTIZES: ClassVar = True


    def compute(self, a, b, a_zp, b_zp, multiplier, y_zp, bias=None) -> np.ndarray:
        acc = self._accumulate(a, b, a_zp, b_zp)
        if bias is not None:
            acc = (acc.astype(np.int64) + bias).astype(np.int32)
        return requantize(acc, multiplier, y_zp)


INTEGER_OPS = (ConvIntegerOp, QLinearConvOp, MatMulIntegerOp, QLinearMatMulOp)
