"""Op properties: building them (ONNX attribute values as xDSL attributes) and reading
them by name, with a diagnostic when one is missing or of the wrong kind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from xdsl.dialects.builtin import DenseArrayBase, FloatAttr, IntegerAttr, StringAttr, f32, i1, i64
from xdsl.ir import Attribute
from xdsl.utils.exceptions import VerifyException

Props = Mapping[str, Attribute]


def ints_attr(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def int_attr(value: int) -> IntegerAttr:
    return IntegerAttr(int(value), i64)


def bool_attr(value: bool) -> IntegerAttr:
    return IntegerAttr(1 if value else 0, i1)


def float_attr(value: float) -> FloatAttr:
    return FloatAttr(float(value), f32)


def _prop(props: Props, name: str, kind: type[Attribute], what: str) -> Attribute:
    attr = props.get(name)
    if not isinstance(attr, kind):
        found = "missing" if attr is None else f"{attr}"
        raise VerifyException(f"property '{name}' must be {what}, got {found}")
    return attr


def get_ints(props: Props, name: str) -> tuple[int, ...]:
    attr = _prop(props, name, DenseArrayBase, "an array<i64: ...>")
    return tuple(int(v) for v in attr.iter_values())  # type: ignore[attr-defined]


def get_int(props: Props, name: str) -> int:
    return _prop(props, name, IntegerAttr, "an integer").value.data  # type: ignore[attr-defined]


def get_bool(props: Props, name: str) -> bool:
    return bool(get_int(props, name))


def get_float(props: Props, name: str, default: float | None = None) -> float | None:
    if props.get(name) is None:
        return default
    return _prop(props, name, FloatAttr, "a float").value.data  # type: ignore[attr-defined]


def get_str(props: Props, name: str) -> str:
    return _prop(props, name, StringAttr, "a string").data  # type: ignore[attr-defined]
