"""More elementwise unary ops: ONNX's math functions (Exp, Log, Abs, Floor, Sin, ...) and
its parametrised activations (LeakyRelu, Elu, Selu, Celu, Softplus, Softsign, Mish,
Swish, ThresholdedRelu, Shrink).

Each kernel computes in the input's own precision with numpy, the operations in the
order ONNX's reference implementation uses, so the linalg lowering (the same operations
on one element) gives the same values.
"""

from __future__ import annotations

from typing import ClassVar

import math

import numpy as np
from xdsl.dialects.builtin import Float32Type, FloatAttr, f32
from xdsl.irdl import irdl_op_definition, prop_def

from tiler_dialect.ops.elementwise import UnaryOp

_erf = np.frompyfunc(math.erf, 1, 1)


class _FloatUnary(UnaryOp):
    FLOAT_ONLY: ClassVar = True


# -- math functions -----------------------------------------------------------------------


@irdl_op_definition
class ExpOp(_FloatUnary):
    name = "tiler.exp"

    def apply(self, x):
        return np.exp(x)


@irdl_op_definition
class LogOp(_FloatUnary):
    name = "tiler.log"

    def apply(self, x):
        return np.log(x)


@irdl_op_definition
class NegOp(UnaryOp):
    """-x; of integers, wrapping (the most negative value stays)."""

    name = "tiler.neg"

    def apply(self, x):
        return np.negative(x)


@irdl_op_definition
class AbsOp(UnaryOp):
    """|x|; of signed integers, wrapping (the most negative value stays)."""

    name = "tiler.abs"

    def apply(self, x):
        return np.abs(x)


@irdl_op_definition
class SignOp(UnaryOp):
    """-1, 0 or 1 (NaN stays NaN)."""

    name = "tiler.sign"

    def apply(self, x):
        return np.sign(x)


@irdl_op_definition
class ReciprocalOp(_FloatUnary):
    name = "tiler.reciprocal"

    def apply(self, x):
        return x.dtype.type(1) / x


@irdl_op_definition
class ErfOp(_FloatUnary):
    """erf, computed in double precision and rounded to the input's type."""

    name = "tiler.erf"

    def apply(self, x):
        return _erf(x.astype(np.float64)).astype(np.float64)


@irdl_op_definition
class FloorOp(_FloatUnary):
    name = "tiler.floor"

    def apply(self, x):
        return np.floor(x)


@irdl_op_definition
class CeilOp(_FloatUnary):
    name = "tiler.ceil"

    def apply(self, x):
        return np.ceil(x)


@irdl_op_definition
class RoundOp(_FloatUnary):
    """To the nearest integer, halves to even (ONNX's Round)."""

    name = "tiler.round"

    def apply(self, x):
        return np.rint(x)


@irdl_op_definition
class SinOp(_FloatUnary):
    name = "tiler.sin"

    def apply(self, x):
        return np.sin(x)


@irdl_op_definition
class CosOp(_FloatUnary):
    name = "tiler.cos"

    def apply(self, x):
        return np.cos(x)


# -- activations --------------------------------------------------------------------------


def _float_prop(default: float):
    """An f32 property with its ONNX default."""
    return prop_def(FloatAttr[Float32Type], default_value=FloatAttr(default, f32))


@irdl_op_definition
class LeakyReluOp(_FloatUnary):
    """x where x >= 0, else alpha * x (ONNX default alpha 0.01)."""

    name = "tiler.leaky_relu"
    alpha = _float_prop(0.01)

    def apply(self, x):
        return np.where(x < 0, x * x.dtype.type(self.alpha.value.data), x)


@irdl_op_definition
class EluOp(_FloatUnary):
    """x where x >= 0, else alpha * (exp(x) - 1) (ONNX default alpha 1)."""

    name = "tiler.elu"
    alpha = _float_prop(1.0)

    def apply(self, x):
        one = x.dtype.type(1)
        return np.where(x < 0, (np.exp(x) - one) * x.dtype.type(self.alpha.value.data), x)


@irdl_op_definition
class SeluOp(_FloatUnary):
    """gamma * x where x > 0, else gamma * (alpha * exp(x) - alpha)."""

    name = "tiler.selu"
    alpha = _float_prop(1.67326319217681884765625)
    gamma = _float_prop(1.05070102214813232421875)

    def apply(self, x):
        t = x.dtype.type
        alpha, gamma = t(self.alpha.value.data), t(self.gamma.value.data)
        return np.where(x > 0, x * gamma, (np.exp(x) * alpha - alpha) * gamma)


@irdl_op_definition
class CeluOp(_FloatUnary):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (ONNX default alpha 1)."""

    name = "tiler.celu"
    alpha = _float_prop(1.0)

    def apply(self, x):
        t = x.dtype.type
        alpha = t(self.alpha.value.data)
        return np.maximum(t(0), x) + np.minimum(t(0), (np.exp(x / alpha) - t(1)) * alpha)


@irdl_op_definition
class SoftplusOp(_FloatUnary):
    """log(exp(x) + 1)."""

    name = "tiler.softplus"

    def apply(self, x):
        return np.log(np.exp(x) + x.dtype.type(1))


@irdl_op_definition
class SoftsignOp(_FloatUnary):
    """x / (1 + |x|)."""

    name = "tiler.softsign"

    def apply(self, x):
        return x / (x.dtype.type(1) + np.abs(x))


@irdl_op_definition
class MishOp(_FloatUnary):
    """x * tanh(log(exp(x) + 1))."""

    name = "tiler.mish"

    def apply(self, x):
        return x * np.tanh(np.log(np.exp(x) + x.dtype.type(1)))


@irdl_op_definition
class SwishOp(_FloatUnary):
    """x * sigmoid(alpha * x) (ONNX default alpha 1; with alpha 1 it is SiLU)."""

    name = "tiler.swish"
    alpha = _float_prop(1.0)

    def apply(self, x):
        t = x.dtype.type
        return x * (t(1) / (t(1) + np.exp(-(x * t(self.alpha.value.data)))))


@irdl_op_definition
class ThresholdedReluOp(_FloatUnary):
    """x where x > alpha, else 0 (ONNX default alpha 1)."""

    name = "tiler.thresholded_relu"
    alpha = _float_prop(1.0)

    def apply(self, x):
        return np.where(x > x.dtype.type(self.alpha.value.data), x, x.dtype.type(0))


@irdl_op_definition
class ShrinkOp(_FloatUnary):
    """x + bias where x < -lambd, x - bias where x > lambd, else 0."""

    name = "tiler.shrink"
    bias = _float_prop(0.0)
    lambd = _float_prop(0.5)

    def apply(self, x):
        t = x.dtype.type
        bias, lambd = t(self.bias.value.data), t(self.lambd.value.data)
        return np.where(x < -lambd, x + bias, np.where(x > lambd, x - bias, t(0)))


ACTIVATION_OPS = (
    ExpOp,
    LogOp,
    NegOp,
    AbsOp,
    SignOp,
    ReciprocalOp,
    ErfOp,
    FloorOp,
    CeilOp,
    RoundOp,
    SinOp,
    CosOp,
    LeakyReluOp,
    EluOp,
    SeluOp,
    CeluOp,
    SoftplusOp,
    SoftsignOp,
    MishOp,
    SwishOp,
    ThresholdedReluOp,
    ShrinkOp,
)
