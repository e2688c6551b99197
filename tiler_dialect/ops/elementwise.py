"""Elementwise ops: unary activations and broadcasting binary arithmetic (ONNX semantics)."""

from __future__ import annotations

from typing import ClassVar

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import (
    AnyFloat,
    AnyFloatConstr,
    f32,
    f64,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntegerType,
    StringAttr,
)
from xdsl.ir import Attribute
from xdsl.irdl import base, irdl_op_definition, opt_prop_def, prop_def
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.ops.base import TilerOp
from tiler_dialect.ops.dtypes import element_dtype
from tiler_dialect.ops.shapes import Shape, broadcast_shapes
from tiler_dialect.tiling import TilingDescription, elementwise_description


class ElementwiseOp(TilerOp):
    """Every output element depends only on the (broadcast) input elements at its index."""

    def tiling(self) -> TilingDescription:
        return elementwise_description(self.output_shape, self.input_shapes)


# -- unary ------------------------------------------------------------------------------


class UnaryOp(ElementwiseOp):
    NUM_INPUTS: ClassVar = (1, 1)

    def compute(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np.asarray(self.apply(x)).astype(x.dtype, copy=False)


@irdl_op_definition
class ReluOp(UnaryOp):
    name = "tiler.relu"

    def apply(self, x):
        return np.maximum(x, x.dtype.type(0))


@irdl_op_definition
class SigmoidOp(UnaryOp):
    name = "tiler.sigmoid"
    FLOAT_ONLY: ClassVar = True

    def apply(self, x):
        # exp(-x) overflows to inf for very negative x, giving the right limit 0
        return 1.0 / (1.0 + np.exp(-x))


@irdl_op_definition
class TanhOp(UnaryOp):
    name = "tiler.tanh"
    FLOAT_ONLY: ClassVar = True

    def apply(self, x):
        return np.tanh(x)


@irdl_op_definition
class SqrtOp(UnaryOp):
    name = "tiler.sqrt"
    FLOAT_ONLY: ClassVar = True

    def apply(self, x):
        return np.sqrt(x)


_erf = np.frompyfunc(math.erf, 1, 1)


@irdl_op_definition
class GeluOp(UnaryOp):
    """GELU; `approximate` is "none" (erf form) or "tanh", as in ONNX opset 20."""

    name = "tiler.gelu"
    FLOAT_ONLY: ClassVar = True

    approximate = opt_prop_def(StringAttr)

    @property
    def mode(self) -> str:
        return self.approximate.data if self.approximate is not None else "none"

    def verify_(self) -> None:
        if self.mode not in ("none", "tanh"):
            raise VerifyException(f"approximate must be \"none\" or \"tanh\", got \"{self.mode}\"")
        super().verify_()

    def apply(self, x):
        x64 = x.astype(np.float64)
        if self.mode == "tanh":
            inner = math.sqrt(2.0 / math.pi) * (x64 + 0.044715 * x64**3)
            return 0.5 * x64 * (1.0 + np.tanh(inner))
        return 0.5 * x64 * (1.0 + _erf(x64 / math.sqrt(2.0)).astype(np.float64))


@irdl_op_definition
class HardSwishOp(UnaryOp):
    name = "tiler.hard_swish"
    FLOAT_ONLY: ClassVar = True

    def apply(self, x):
        return x * np.clip(x / 6 + 0.5, 0, 1)


@irdl_op_definition
class HardSigmoidOp(UnaryOp):
    """max(0, min(1, alpha * x + beta)); ONNX defaults alpha 0.2, beta 0.5."""

    name = "tiler.hard_sigmoid"
    FLOAT_ONLY: ClassVar = True

    alpha = prop_def(FloatAttr[Float32Type], default_value=FloatAttr(0.2, f32))
    beta = prop_def(FloatAttr[Float32Type], default_value=FloatAttr(0.5, f32))

    def apply(self, x):
        alpha, beta = self.alpha.value.data, self.beta.value.data
        return np.clip(x.dtype.type(alpha) * x + x.dtype.type(beta), 0, 1)


@irdl_op_definition
class ClipOp(UnaryOp):
    """Clamp to [min, max]; a missing bound is unbounded."""

    name = "tiler.clip"

    min = opt_prop_def(FloatAttr[Float64Type])
    max = opt_prop_def(FloatAttr[Float64Type])

    @staticmethod
    def bound(value: float) -> FloatAttr:
        return FloatAttr(float(value), f64)

    def apply(self, x):
        lo = self.min.value.data if self.min is not None else None
        hi = self.max.value.data if self.max is not None else None
        out = x
        if lo is not None:
            out = np.maximum(out, x.dtype.type(lo))
        if hi is not None:
            out = np.minimum(out, x.dtype.type(hi))
        return out


@irdl_op_definition
class CastOp(UnaryOp):
    """Conversion to the element type `to`, as numpy's astype (ONNX Cast, C): integers
    wrap when they narrow, floats round to the nearest, floats become integers by
    truncation toward zero, and anything becomes a bool (i1) by comparing with zero."""

    name = "tiler.cast"

    to = prop_def(base(IntegerType) | AnyFloatConstr)

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        source = element_types[0]
        if not isinstance(source, IntegerType | AnyFloat):
            raise VerifyException(f"tiler.cast converts numbers, got {source}")
        return self.to

    def compute(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            return x.astype(element_dtype(self.to))


# -- binary -----------------------------------------------------------------------------


class BinaryOp(ElementwiseOp):
    NUM_INPUTS: ClassVar = (2, 2)

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        return broadcast_shapes(*shapes)

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np.asarray(self.apply(a, b)).astype(a.dtype, copy=False)


@irdl_op_definition
class AddOp(BinaryOp):
    name = "tiler.add"

    def apply(self, a, b):
        return a + b


@irdl_op_definition
class SubOp(BinaryOp):
    name = "tiler.sub"

    def apply(self, a, b):
        return a - b


@irdl_op_definition
class MulOp(BinaryOp):
    name = "tiler.mul"

    def apply(self, a, b):
        return a * b


@irdl_op_definition
class DivOp(BinaryOp):
    """Division; integer division truncates toward zero, as ONNX (C) does."""

    name = "tiler.div"

    def apply(self, a, b):
        if np.issubdtype(a.dtype, np.integer):
            q = np.abs(a) // np.abs(b)
            return np.where((a < 0) != (b < 0), -q, q)
        return a / b


@irdl_op_definition
class PowOp(BinaryOp):
    """base ** exponent; the exponent may have another element type, the result the base's."""

    name = "tiler.pow"

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        base, exponent = element_types
        for t in (base, exponent):
            if not isinstance(t, AnyFloat | IntegerType):
                raise VerifyException(f"tiler.pow needs numeric tensors, got {t}")
        return base

    def apply(self, a, b):
        if np.issubdtype(a.dtype, np.floating):
            return np.power(a, b.astype(a.dtype))
        return np.power(a.astype(np.float64), b.astype(np.float64))

