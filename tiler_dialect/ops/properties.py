"""Op properties: building them from Python values (the importer's ONNX attribute values).
They are read through each op's IRDL accessors (`op.pads.get_values()`,
`op.transA.value.data`), which the verifier has checked against the op's definition, and
whose ONNX defaults the definition fills in (`default_value=`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from xdsl.dialects.builtin import DenseArrayBase, FloatAttr, IntegerAttr, f32, i1, i64
from xdsl.ir import Attribute

Props = Mapping[str, Attribute]


def ints_attr(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def int_attr(value: int) -> IntegerAttr:
    return IntegerAttr(int(value), i64)


def bool_attr(value: bool) -> IntegerAttr:
    return IntegerAttr(1 if value else 0, i1)


def float_attr(value: float) -> FloatAttr:
    return FloatAttr(float(value), f32)
