"""The converters of ONNX's elementwise ops: activations and math functions, arithmetic,
comparisons and logic (with or without broadcasting), variadic ops, casts and clamps.
They register in `converters.CONVERTERS` like the others."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tiler_dialect.ops import (
    AddOp,
    CastOp,
    ClipOp,
    DivOp,
    GeluOp,
    HardSigmoidOp,
    HardSwishOp,
    MulOp,
    PowOp,
    ReluOp,
    SigmoidOp,
    SqrtOp,
    SubOp,
    TanhOp,
)
from tiler_dialect.ops.activations import (
    AbsOp,
    CeilOp,
    CeluOp,
    CosOp,
    EluOp,
    ErfOp,
    ExpOp,
    FloorOp,
    LeakyReluOp,
    LogOp,
    MishOp,
    NegOp,
    ReciprocalOp,
    RoundOp,
    SeluOp,
    ShrinkOp,
    SignOp,
    SinOp,
    SoftplusOp,
    SoftsignOp,
    SwishOp,
    ThresholdedReluOp,
)
from tiler_dialect.ops.base import TilerOp
from tiler_dialect.ops.logic import (
    AndOp,
    BitShiftOp,
    BitwiseAndOp,
    BitwiseNotOp,
    BitwiseOrOp,
    BitwiseXorOp,
    EqualOp,
    GreaterOp,
    GreaterOrEqualOp,
    IsInfOp,
    IsNaNOp,
    LessOp,
    LessOrEqualOp,
    MaxOp,
    MeanOp,
    MinOp,
    ModOp,
    NotOp,
    OrOp,
    PReluOp,
    SumOp,
    WhereOp,
    XorOp,
)
from tiler_dialect.ops.properties import bool_attr
from tiler_tools.onnx_frontend.converters import converter
from tiler_tools.onnx_frontend.dtypes import mlir_element_type, numpy_dtype_of_onnx
from tiler_tools.onnx_frontend.errors import MalformedModel
from tiler_tools.onnx_frontend.node import Node, Value, value_dtype
from xdsl.dialects.builtin import StringAttr



# -- unary ------------------------------------------------------------------------

_UNARY = {
    "Relu": ReluOp,
    "Sigmoid": SigmoidOp,
    "Tanh": TanhOp,
    "Sqrt": SqrtOp,
    "HardSwish": HardSwishOp,
    "Not": NotOp,
    "BitwiseNot": BitwiseNotOp,
    "IsNaN": IsNaNOp,
}
_BINARY = {
    "Add": AddOp,
    "Sub": SubOp,
    "Mul": MulOp,
    "Div": DivOp,
    "Pow": PowOp,
    "PRelu": PReluOp,
    "Equal": EqualOp,
    "Less": LessOp,
    "LessOrEqual": LessOrEqualOp,
    "Greater": GreaterOp,
    "GreaterOrEqual": GreaterOrEqualOp,
    "And": AndOp,
    "Or": OrOp,
    "Xor": XorOp,
    "BitwiseAnd": BitwiseAndOp,
    "BitwiseOr": BitwiseOrOp,
    "BitwiseXor": BitwiseXorOp,
}


@converter(*_UNARY)
def _unary(n: Node) -> Sequence[Value]:
    return [n.emit(_UNARY[n.proto.op_type], [n.input(0)])]


_ACTIVATIONS: dict[str, tuple[type[TilerOp], tuple[str, ...]]] = {
    "Exp": (ExpOp, ()),
    "Log": (LogOp, ()),
    "Neg": (NegOp, ()),
    "Abs": (AbsOp, ()),
    "Sign": (SignOp, ()),
    "Reciprocal": (ReciprocalOp, ()),
    "Erf": (ErfOp, ()),
    "Floor": (FloorOp, ()),
    "Ceil": (CeilOp, ()),
    "Round": (RoundOp, ()),
    "Sin": (SinOp, ()),
    "Cos": (CosOp, ()),
    "LeakyRelu": (LeakyReluOp, ("alpha",)),
    "Elu": (EluOp, ("alpha",)),
    "Selu": (SeluOp, ("alpha", "gamma")),
    "Celu": (CeluOp, ("alpha",)),
    "Softplus": (SoftplusOp, ()),
    "Softsign": (SoftsignOp, ()),
    "Mish": (MishOp, ()),
    "Swish": (SwishOp, ("alpha",)),
    "ThresholdedRelu": (ThresholdedReluOp, ("alpha",)),
    "Shrink": (ShrinkOp, ("bias", "lambd")),
}
"""ONNX op -> the tiler op and the float attributes it takes (the others keep ONNX's
defaults, which the op's definition holds)."""


@converter(*_ACTIVATIONS)
def _activation(n: Node) -> Sequence[Value]:
    op_class, attributes = _ACTIVATIONS[n.proto.op_type]
    return [n.emit(op_class, [n.input(0)], n.given_floats(*attributes))]


@converter(*_BINARY)
def _binary(n: Node) -> Sequence[Value]:
    if "axis" in n.attrs or "broadcast" in n.attrs:
        raise n.fail("legacy broadcasting along 'axis' (opset < 7) is not supported")
    return [n.emit(_BINARY[n.proto.op_type], [n.input(0), n.input(1)])]


_VARIADIC = {"Max": MaxOp, "Min": MinOp, "Sum": SumOp, "Mean": MeanOp}


@converter(*_VARIADIC)
def _variadic(n: Node) -> Sequence[Value]:
    return [n.emit(_VARIADIC[n.proto.op_type], n.inputs())]




@converter("IsInf")
def _is_inf(n: Node) -> Sequence[Value]:
    return [n.emit(IsInfOp, [n.input(0)], n.given_bools("detect_positive", "detect_negative"))]


@converter("Mod")
def _mod(n: Node) -> Sequence[Value]:
    return [n.emit(ModOp, [n.input(0), n.input(1)], n.given_bools("fmod"))]


@converter("BitShift")
def _bit_shift(n: Node) -> Sequence[Value]:
    direction = n.attr("direction", "")
    if direction not in ("LEFT", "RIGHT"):
        raise MalformedModel(f"{n.label}: direction must be 'LEFT' or 'RIGHT', got '{direction}'")
    return [n.emit(BitShiftOp, [n.input(0), n.input(1)], {"left": bool_attr(direction == "LEFT")})]


@converter("Where")
def _where(n: Node) -> Sequence[Value]:
    return [n.emit(WhereOp, [n.input(0), n.input(1), n.input(2)])]


def _cast_to(n: Node, target: np.dtype) -> Sequence[Value]:
    if target == value_dtype(n.input(0)):
        return [n.input(0)]
    return [n.emit(CastOp, [n.input(0)], {"to": mlir_element_type(target, "the target type")})]


@converter("Cast")
def _cast(n: Node) -> Sequence[Value]:
    if "to" not in n.attrs:
        raise MalformedModel(f"{n.label}: attribute 'to' is required")
    return _cast_to(n, numpy_dtype_of_onnx(int(n.attr("to", 0)), "the target type 'to'"))  # type: ignore[arg-type]


@converter("CastLike", static=(1,))  # only its element type is read: a constant serves
def _cast_like(n: Node) -> Sequence[Value]:
    return _cast_to(n, value_dtype(n.input(1)))


@converter("HardSigmoid")
def _hard_sigmoid(n: Node) -> Sequence[Value]:
    return [n.emit(HardSigmoidOp, [n.input(0)], n.given_floats("alpha", "beta"))]


@converter("Gelu")
@converter("Gelu", domain="com.microsoft")
def _gelu(n: Node) -> Sequence[Value]:
    mode = n.attr("approximate", "none")
    if mode not in ("none", "tanh"):
        raise n.fail(f"approximate must be 'none' or 'tanh', got '{mode}'")
    return [n.emit(GeluOp, [n.input(0)], {"approximate": StringAttr(str(mode))})]


@converter("Clip", static=(1, 2))
def _clip(n: Node) -> Sequence[Value]:
    props = {}
    if n.opset < 11:
        for key in ("min", "max"):
            if key in n.attrs:
                props[key] = ClipOp.bound(float(n.attrs[key]))  # type: ignore[arg-type]
    else:
        for i, key in ((1, "min"), (2, "max")):
            if n.has_input(i):
                props[key] = ClipOp.bound(float(n.const_input(i, f"Clip {key}").reshape(-1)[0]))
    return [n.emit(ClipOp, [n.input(0)], props)]


