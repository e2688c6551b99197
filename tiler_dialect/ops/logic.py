"""Elementwise ops with several inputs beyond the four arithmetic ones (ONNX semantics,
broadcasting): the variadic Max, Min, Sum and Mean; Mod, BitShift and PRelu;
comparisons and IsNaN/IsInf (bool results); logical and bitwise ops; Where.

Booleans are i1 tensors (numpy bool), one byte per element in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import AnyFloat, BoolAttr, IntegerType, i1
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, prop_def
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.ops.elementwise import BinaryOp, ElementwiseOp, UnaryOp
from tiler_dialect.ops.shapes import Shape, broadcast_shapes

_MANY = 1 << 30


def is_bool(t: Attribute) -> bool:
    return t == i1


def _integers_only(op: ElementwiseOp, t: Attribute) -> None:
    if not isinstance(t, IntegerType) or is_bool(t):
        raise VerifyException(f"{op.name} is defined on integer tensors, got {t}")


def _bools_only(op: ElementwiseOp, t: Attribute) -> None:
    if not is_bool(t):
        raise VerifyException(f"{op.name} is defined on bool (i1) tensors, got {t}")


# -- variadic -----------------------------------------------------------------------------


class VariadicOp(ElementwiseOp):
    """One or more inputs of one element type, broadcast together and folded left to
    right with `combine` (ONNX's Max, Min, Sum, Mean)."""

    NUM_INPUTS: ClassVar = (1, _MANY)

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        return broadcast_shapes(*shapes)

    def compute(self, *inputs: np.ndarray) -> np.ndarray:
        out = np.array(inputs[0])
        with np.errstate(over="ignore", invalid="ignore"):
            for x in inputs[1:]:
                out = np.asarray(self.combine(out, x)).astype(inputs[0].dtype, copy=False)
            return np.asarray(self.finish(out, len(inputs))).astype(inputs[0].dtype, copy=False)

    def finish(self, folded: np.ndarray, count: int) -> np.ndarray:
        return folded


@irdl_op_definition
class MaxOp(VariadicOp):
    """The elementwise maximum; NaN wins (numpy's maximum)."""

    name = "tiler.max"

    @staticmethod
    def combine(a, b):
        return np.maximum(a, b)


@irdl_op_definition
class MinOp(VariadicOp):
    name = "tiler.min"

    @staticmethod
    def combine(a, b):
        return np.minimum(a, b)


@irdl_op_definition
class SumOp(VariadicOp):
    name = "tiler.sum"

    @staticmethod
    def combine(a, b):
        return a + b


@irdl_op_definition
class MeanOp(VariadicOp):
    """The sum, left to right, divided by the number of inputs."""

    name = "tiler.mean"
    FLOAT_ONLY: ClassVar = True

    @staticmethod
    def combine(a, b):
        return a + b

    def finish(self, folded, count):
        return folded / folded.dtype.type(count)


# -- arithmetic ---------------------------------------------------------------------------


@irdl_op_definition
class ModOp(BinaryOp):
    """The remainder: with the divisor's sign (numpy's mod, `fmod` false) or with the
    dividend's (C's fmod, `fmod` true). An integer remainder by zero is zero."""

    name = "tiler.mod"
    fmod = prop_def(BoolAttr, default_value=BoolAttr.from_bool(False))

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        t = super().infer_element_type(element_types)
        if is_bool(t):
            raise VerifyException(f"{self.name} is defined on numbers, got {t}")
        return t

    def apply(self, a, b):
        fmod = np.fmod if self.fmod.value.data else np.mod
        if np.issubdtype(a.dtype, np.floating):
            return fmod(a, b)
        zero = b == 0
        return np.where(zero, 0, fmod(a, np.where(zero, 1, b).astype(b.dtype)))


@irdl_op_definition
class BitShiftOp(BinaryOp):
    """Integers shifted left or right (`left`) by the second operand's bits: a right
    shift of signed integers is arithmetic, a left shift wraps; a shift by a negative
    amount or by the width or more gives what shifting out every bit does (0, or -1
    for a negative value shifted right)."""

    name = "tiler.bit_shift"
    left = prop_def(BoolAttr)

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        t = super().infer_element_type(element_types)
        _integers_only(self, t)
        return t

    def apply(self, a, b):
        a, b = np.broadcast_arrays(a, b)
        width = np.iinfo(a.dtype).bits
        valid = (b >= 0) & (b < width)
        amount = np.where(valid, b, 0).astype(a.dtype)
        if self.left.value.data:
            unsigned = np.dtype(f"u{a.dtype.itemsize}")
            shifted = np.left_shift(a.view(unsigned), amount.view(unsigned)).view(a.dtype)
            return np.where(valid, shifted, 0)
        fill = np.where(a < 0, -1, 0) if a.dtype.kind == "i" else 0
        return np.where(valid, np.right_shift(a, amount), fill)


@irdl_op_definition
class PReluOp(BinaryOp):
    """x where x >= 0, else slope * x; the slope broadcasts to x's shape."""

    name = "tiler.prelu"

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x, slope = shapes
        if tuple(broadcast_shapes(x, slope)) != tuple(x):
            raise VerifyException(f"the slope of shape {list(slope)} does not broadcast to the input's {list(x)}")
        return x

    def apply(self, x, slope):
        return np.where(x < 0, x * slope, x)


# -- comparisons --------------------------------------------------------------------------


class ComparisonOp(BinaryOp):
    """A comparison of two numbers, true or false (false where either is NaN)."""

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        super().infer_element_type(element_types)
        return i1

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.asarray(self.apply(a, b), dtype=bool)


@irdl_op_definition
class EqualOp(ComparisonOp):
    name = "tiler.equal"
    PREDICATE: ClassVar = "eq"

    def apply(self, a, b):
        return a == b


@irdl_op_definition
class LessOp(ComparisonOp):
    name = "tiler.less"
    PREDICATE: ClassVar = "lt"

    def apply(self, a, b):
        return a < b


@irdl_op_definition
class LessOrEqualOp(ComparisonOp):
    name = "tiler.less_or_equal"
    PREDICATE: ClassVar = "le"

    def apply(self, a, b):
        return a <= b


@irdl_op_definition
class GreaterOp(ComparisonOp):
    name = "tiler.greater"
    PREDICATE: ClassVar = "gt"

    def apply(self, a, b):
        return a > b


@irdl_op_definition
class GreaterOrEqualOp(ComparisonOp):
    name = "tiler.greater_or_equal"
    PREDICATE: ClassVar = "ge"

    def apply(self, a, b):
        return a >= b


class _FloatTest(UnaryOp):
    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        if not isinstance(element_types[0], AnyFloat):
            raise VerifyException(f"{self.name} is defined on floating-point tensors, got {element_types[0]}")
        return i1

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.apply(x), dtype=bool)


@irdl_op_definition
class IsNaNOp(_FloatTest):
    name = "tiler.is_nan"

    def apply(self, x):
        return np.isnan(x)


@irdl_op_definition
class IsInfOp(_FloatTest):
    """Infinite, of the signs asked for (ONNX's detect_positive, detect_negative)."""

    name = "tiler.is_inf"
    detect_positive = prop_def(BoolAttr, default_value=BoolAttr.from_bool(True))
    detect_negative = prop_def(BoolAttr, default_value=BoolAttr.from_bool(True))

    def apply(self, x):
        positive = (x == np.inf) if self.detect_positive.value.data else np.zeros(x.shape, bool)
        negative = (x == -np.inf) if self.detect_negative.value.data else np.zeros(x.shape, bool)
        return positive | negative


# -- logical and bitwise --------------------------------------------------------------------


class _Bitwise(BinaryOp):
    """`CHECK` says which element types the op takes (bools, or integers)."""

    CHECK: ClassVar = staticmethod(_integers_only)

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        t = super().infer_element_type(element_types)
        type(self).CHECK(self, t)
        return t


@irdl_op_definition
class AndOp(_Bitwise):
    name = "tiler.and"
    CHECK: ClassVar = staticmethod(_bools_only)

    def apply(self, a, b):
        return a & b


@irdl_op_definition
class OrOp(_Bitwise):
    name = "tiler.or"
    CHECK: ClassVar = staticmethod(_bools_only)

    def apply(self, a, b):
        return a | b


@irdl_op_definition
class XorOp(_Bitwise):
    name = "tiler.xor"
    CHECK: ClassVar = staticmethod(_bools_only)

    def apply(self, a, b):
        return a ^ b


@irdl_op_definition
class BitwiseAndOp(_Bitwise):
    name = "tiler.bitwise_and"

    def apply(self, a, b):
        return a & b


@irdl_op_definition
class BitwiseOrOp(_Bitwise):
    name = "tiler.bitwise_or"

    def apply(self, a, b):
        return a | b


@irdl_op_definition
class BitwiseXorOp(_Bitwise):
    name = "tiler.bitwise_xor"

    def apply(self, a, b):
        return a ^ b


@irdl_op_definition
class NotOp(UnaryOp):
    name = "tiler.not"

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        _bools_only(self, element_types[0])
        return element_types[0]

    def apply(self, x):
        return ~x


@irdl_op_definition
class BitwiseNotOp(UnaryOp):
    name = "tiler.bitwise_not"

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        _integers_only(self, element_types[0])
        return element_types[0]

    def apply(self, x):
        return ~x


@irdl_op_definition
class WhereOp(ElementwiseOp):
    """ins(condition, x, y): x where the condition holds, else y; all three broadcast."""

    name = "tiler.where"
    NUM_INPUTS: ClassVar = (3, 3)

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        return broadcast_shapes(*shapes)

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        condition, x, y = element_types
        if not is_bool(condition):
            raise VerifyException(f"the condition must be bool (i1), got {condition}")
        if x != y:
            raise VerifyException(f"x and y must have one element type, got {x} and {y}")
        return x

    def compute(self, condition, x, y) -> np.ndarray:
        return np.where(condition, x, y).astype(x.dtype, copy=False)


LOGIC_OPS = (
    MaxOp,
    MinOp,
    SumOp,
    MeanOp,
    ModOp,
    BitShiftOp,
    PReluOp,
    EqualOp,
    LessOp,
    LessOrEqualOp,
    GreaterOp,
    GreaterOrEqualOp,
    IsNaNOp,
    IsInfOp,
    AndOp,
    OrOp,
    XorOp,
    BitwiseAndOp,
    BitwiseOrOp,
    BitwiseXorOp,
    NotOp,
    BitwiseNotOp,
    WhereOp,
)
