"""Deeploy's integer ops: RequantShift, the convolution and matmul it fuses into, and the
integer kernels of Deeploy's Generic and Snitch targets (iSoftmax, iRMSNorm, iHardswish,
iNoNorm). Every value is a real integer (Deeploy's unsigned offsets are transparent, see
docs/research/deeploy_integer_semantics.md); sums and products are exact (computed in
int64 here, int32 in Deeploy's C, which never overflows on its graphs).

RequantShift(x, mul, add) with `div` a power of two 2^s, `n_levels` and `signed`:

    t   = x * mul + add
    t   = (t + 2^(s-1)) >> s            rounded half up (an arithmetic shift floors)
    out = clamp(t, -n/2, n/2 - 1)       signed,   or clamp(t, 0, n - 1) unsigned

RequantizedConv and RequantizedMatMul are a Conv or MatMul whose int32 accumulator is
requantized in the epilogue, as Deeploy's PULP target fuses them: the accumulator lives
only inside a tile (the reduction is never split) and only 8-bit data moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import BoolAttr, I64, IntegerAttr, IntegerType, Signedness
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, prop_def
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.ops.base import TilerOp
from tiler_dialect.ops.shapes import Shape, broadcast_shapes
from tiler_dialect.ops.contraction import MatMulWithOutputOperands
from tiler_dialect.ops.elementwise import ElementwiseOp
from tiler_dialect.ops.integer import is_8bit
from tiler_dialect.ops.spatial import ConvBase, conv
from tiler_dialect.ops.normalization import identity_description
from tiler_dialect.tiling import OperandAccess, TilingDescription, d, dims_map

i32 = IntegerType(32)


def levels_type(n_levels: int, signed: bool) -> IntegerType:
    """The narrowest integer type holding n_levels values from -n/2 (signed) or 0."""
    for width in (8, 16, 32):
        if n_levels <= 1 << width:
            return IntegerType(width) if signed else IntegerType(width, Signedness.UNSIGNED)
    raise VerifyException(f"n_levels {n_levels} needs more than 32 bits")


def _is_integer(t: Attribute) -> bool:
    return isinstance(t, IntegerType) and t.width.data in (8, 16, 32, 64)


def _shift_of(div: int) -> int:
    if div < 1 or div & (div - 1):
        raise VerifyException(f"div must be a power of two, got {div}")
    return div.bit_length() - 1


def requant_shift(t: np.ndarray, mul: np.ndarray, add: np.ndarray, div: int, n_levels: int, signed: bool) -> np.ndarray:
    """RequantShift of exact integers t, into levels_type(n_levels, signed)."""
    s = _shift_of(div)
    v = t.astype(np.int64) * mul.astype(np.int64) + add.astype(np.int64)
    if s > 0:
        v = (v + (1 << (s - 1))) >> s
    lo, hi = (-(n_levels // 2), n_levels // 2 - 1) if signed else (0, n_levels - 1)
    dtype = np.dtype(f"{'' if signed else 'u'}int{levels_type(n_levels, signed).width.data}")
    return np.clip(v, lo, hi).astype(dtype)


class _Requantizing:
    """The properties and result type of the ops that end in a RequantShift."""

    div = prop_def(IntegerAttr[I64])
    n_levels = prop_def(IntegerAttr[I64])
    signed = prop_def(BoolAttr)

    def requantized_type(self) -> IntegerType:
        _shift_of(self.div.value.data)
        n = self.n_levels.value.data
        if n < 2:
            raise VerifyException(f"n_levels must be at least 2, got {n}")
        return levels_type(n, bool(self.signed.value.data))

    @staticmethod
    def check_parameters(element_types: Sequence[Attribute]) -> None:
        for what, t in zip(("mul", "add"), element_types):
            if not _is_integer(t):
                raise VerifyException(f"{what} must be an integer tensor, got {t}")

    def requantize(self, t: np.ndarray, mul: np.ndarray, add: np.ndarray) -> np.ndarray:
        return requant_shift(t, mul, add, self.div.value.data, self.n_levels.value.data, bool(self.signed.value.data))


@irdl_op_definition
class RequantShiftOp(_Requantizing, ElementwiseOp):
    """ins(x, mul, add), mul and add broadcast against x (the importer gives a per-channel
    one its channel axis as a broadcastable shape)."""

    name = "tiler.requant_shift"
    NUM_INPUTS: ClassVar = (3, 3)

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        if tuple(broadcast_shapes(*shapes)) != tuple(shapes[0]):
            raise VerifyException(f"mul and add must broadcast to the data's shape {list(shapes[0])}")
        return tuple(shapes[0])

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        if not _is_integer(element_types[0]):
            raise VerifyException(f"{self.name} requantizes integers, got {element_types[0]}")
        self.check_parameters(element_types[1:])
        return self.requantized_type()

    def compute(self, x: np.ndarray, mul: np.ndarray, add: np.ndarray) -> np.ndarray:
        return self.requantize(x, mul, add)


def _check_8bit(op: TilerOp, x: Attribute, w: Attribute) -> None:
    if not (is_8bit(x) and is_8bit(w)):
        raise VerifyException(f"{op.name} takes 8-bit integer operands, got {x} and {w}")


class _RequantizedContraction(_Requantizing):
    """ins(x, w, mul, add): 8-bit operands, integer mul and add, requantized."""

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        _check_8bit(self, *element_types[:2])  # type: ignore[arg-type]
        self.check_parameters(element_types[2:])
        return self.requantized_type()


@irdl_op_definition
class RequantizedConvOp(_RequantizedContraction, ConvBase):
    """ins(x, w, mul, add): an integer convolution (no bias, zero padding) requantized per
    output channel; mul and add are scalars or one per output channel."""

    name = "tiler.requantized_conv"
    NUM_INPUTS: ClassVar = (4, 4)
    FLOAT_ONLY: ClassVar = False

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x, w, mul, add = shapes
        out = ConvBase.infer_shape(self, [x, w])
        for what, s in (("mul", mul), ("add", add)):
            if s not in ((), (w[0],)):
                raise VerifyException(f"{what} must be a scalar or one per output channel ({w[0]}), got {list(s)}")
        return out

    def tiling(self) -> TilingDescription:
        base = ConvBase.tiling(self)
        nd = len(base.dims)
        channel = base.inputs[1].map.results[0]  # the weight's output channel, g * M + m
        extras = [OperandAccess(dims_map(nd, [channel] if s else [])) for s in self.input_shapes[2:]]
        return TilingDescription(base.dims, (*base.inputs[:2], *extras), base.outputs, combine=None)

    def _epilogue(self, acc: np.ndarray, mul: np.ndarray, add: np.ndarray) -> np.ndarray:
        per_channel = (-1,) + (1,) * (acc.ndim - 2)
        return self.requantize(acc, mul.reshape(per_channel) if mul.ndim else mul, add.reshape(per_channel) if add.ndim else add)

    def compute(self, x, w, mul, add) -> np.ndarray:
        acc = conv(x.astype(np.int64), w.astype(np.int64), None, self.window, self.group.value.data, self.output_shape[2:])
        return self._epilogue(acc, mul, add)

    def compute_tile(self, inputs, box):
        x, w, mul, add = inputs
        acc = ConvBase.compute_tile(self, [x.astype(np.int64), w.astype(np.int64)], box)
        return None if acc is None else self._epilogue(np.asarray(acc), mul, add)


@irdl_op_definition
class RequantizedMatMulOp(_RequantizedContraction, MatMulWithOutputOperands):
    """ins(a, b, mul, add): an integer matmul (numpy.matmul's shapes) requantized with mul
    and add broadcast against the output (per row as [M, 1], per column as [N]). Gemm's
    alpha, beta and C fold into them at import: alpha * mul, beta * C * mul + add."""

    name = "tiler.requantized_matmul"
    NUM_INPUTS: ClassVar = (4, 4)

    def operand_label(self, index: int) -> str:
        return ("mul", "add")[index - 2]

    def compute(self, a, b, mul, add) -> np.ndarray:
        return self.requantize(np.matmul(a.astype(np.int64), b.astype(np.int64)), mul, add)


# -- Deeploy's integer kernels ----------------------------------------------------------


def _trunc_div(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """C's integer division: rounded toward zero."""
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (np.asarray(b) < 0), -q, q)


def _last_axis_description(shape: Shape, params: Sequence[Shape]) -> TilingDescription:
    """Rows along the last axis, kept whole; parameters indexed by the last axis."""
    n = len(shape)
    maps = []
    for s in params:
        if s not in ((), (shape[-1],)):
            raise VerifyException(f"a parameter must be a scalar or one per element of the last axis ({shape[-1]}), got {list(s)}")
        maps.append([d(n - 1)] if s else [])
    return identity_description(shape, {n - 1}, maps)


@irdl_op_definition
class IntegerSoftmaxOp(TilerOp):
    """Deeploy's iSoftmax (I-BERT's integer softmax) along the last axis, into unsigned
    n_levels values:

        xt = x - max(x);  z = min(floor(-xt / log2), 31);  p = xt + z * log2
        y  = (coeffA * (p + coeffB)^2 + coeffC) >> z
        out = floor(y * (n_levels - 1) / sum(y))
    """

    name = "tiler.integer_softmax"
    coeffA = prop_def(IntegerAttr[I64])
    coeffB = prop_def(IntegerAttr[I64])
    coeffC = prop_def(IntegerAttr[I64])
    log2 = prop_def(IntegerAttr[I64])
    n_levels = prop_def(IntegerAttr[I64])

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        if not _is_integer(element_types[0]):
            raise VerifyException(f"{self.name} takes integers, got {element_types[0]}")
        if self.log2.value.data < 1:
            raise VerifyException(f"log2 must be positive, got {self.log2.value.data}")
        return levels_type(self.n_levels.value.data, False)

    def tiling(self) -> TilingDescription:
        return _last_axis_description(self.output_shape, [])

    def compute(self, x: np.ndarray) -> np.ndarray:
        log2, n_levels = self.log2.value.data, self.n_levels.value.data
        xt = x.astype(np.int64) - x.astype(np.int64).max(axis=-1, keepdims=True)
        z = np.minimum((-xt) // log2, 31)
        r = xt + z * log2
        y = (self.coeffA.value.data * (r + self.coeffB.value.data) ** 2 + self.coeffC.value.data) >> z
        out = y * (n_levels - 1) // y.sum(axis=-1, keepdims=True)
        return out.astype(f"uint{levels_type(n_levels, False).width.data}")


def _isqrt(s: np.ndarray) -> np.ndarray:
    """floor(sqrt(s)) exactly, for non-negative integers."""
    r = np.floor(np.sqrt(s.astype(np.float64))).astype(np.int64)
    r = np.where(r * r > s, r - 1, r)
    return np.where((r + 1) * (r + 1) <= s, r + 1, r)


@irdl_op_definition
class IntegerRMSNormOp(TilerOp):
    """Deeploy's iRMSNorm(x, weight) along the last axis (length L), into signed n_levels
    values:

        std = isqrt(trunc(sum(x^2) / L) + 1)
        out = clamp(trunc(x * weight / std) >> log2(D), -n/2, n/2 - 1)
    """

    name = "tiler.integer_rms_norm"
    NUM_INPUTS: ClassVar = (2, 2)
    D = prop_def(IntegerAttr[I64])
    n_levels = prop_def(IntegerAttr[I64])

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        for t in element_types:
            if not _is_integer(t):
                raise VerifyException(f"{self.name} takes integers, got {t}")
        _shift_of(self.D.value.data)
        return levels_type(self.n_levels.value.data, True)

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        _last_axis_description(shapes[0], shapes[1:])
        return tuple(shapes[0])

    def tiling(self) -> TilingDescription:
        return _last_axis_description(self.output_shape, self.input_shapes[1:])

    def compute(self, x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        n = self.n_levels.value.data
        x64 = x.astype(np.int64)
        std = _isqrt((x64 * x64).sum(axis=-1, keepdims=True) // x.shape[-1] + 1)
        out = _trunc_div(x64 * weight.astype(np.int64), std) >> _shift_of(self.D.value.data)
        return np.clip(out, -(n // 2), n // 2 - 1).astype(f"int{levels_type(n, True).width.data}")


@irdl_op_definition
class IntegerHardswishOp(ElementwiseOp):
    """Deeploy's iHardswish into int32: x * (clamp(x + three, 0, six) * one_over_six)."""

    name = "tiler.integer_hardswish"
    one_over_six = prop_def(IntegerAttr[I64])
    three = prop_def(IntegerAttr[I64])
    six = prop_def(IntegerAttr[I64])

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        if not _is_integer(element_types[0]):
            raise VerifyException(f"{self.name} takes integers, got {element_types[0]}")
        return i32

    def compute(self, x: np.ndarray) -> np.ndarray:
        x64 = x.astype(np.int64)
        gate = np.clip(x64 + self.three.value.data, 0, self.six.value.data)
        return (x64 * (gate * self.one_over_six.value.data)).astype(np.int32)


@irdl_op_definition
class IntegerNoNormOp(ElementwiseOp):
    """Deeploy's iNoNorm(x, weights, bias) into int8: ((x * w + b) * mul) >> log2(D),
    wrapped to 8 bits as Deeploy's cast does; w and b broadcast against x."""

    name = "tiler.integer_no_norm"
    NUM_INPUTS: ClassVar = (3, 3)
    D = prop_def(IntegerAttr[I64])
    mul = prop_def(IntegerAttr[I64])

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        if tuple(broadcast_shapes(*shapes)) != tuple(shapes[0]):
            raise VerifyException(f"weights and bias must broadcast to the data's shape {list(shapes[0])}")
        return tuple(shapes[0])

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        for t in element_types:
            if not _is_integer(t):
                raise VerifyException(f"{self.name} takes integers, got {t}")
        _shift_of(self.D.value.data)
        return IntegerType(8)

    def compute(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        v = (x.astype(np.int64) * w.astype(np.int64) + b.astype(np.int64)) * self.mul.value.data
        return (v >> _shift_of(self.D.value.data)).astype(np.int8)


DEEPLOY_OPS = (
    RequantShiftOp,
    RequantizedConvOp,
    RequantizedMatMulOp,
    IntegerSoftmaxOp,
    IntegerRMSNormOp,
    IntegerHardswishOp,
    IntegerNoNormOp,
)
