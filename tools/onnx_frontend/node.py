"""One ONNX node as the converters see it (`Node`): its attributes, read against ONNX's
schema of the op, its inputs as IR values or import-time constants (`Const`), and the
helpers that emit its tiler ops into the graph being built."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from xdsl.dialects.builtin import StringAttr, TensorType
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.ops import NAME_ATTR, ReshapeOp, TilerOp, element_dtype
from tiler_dialect.ops.properties import bool_attr, float_attr, int_attr
from tiler_tools.onnx_frontend.errors import MalformedModel, UnsupportedFeature, node_label

if TYPE_CHECKING:
    from tiler_tools.onnx_frontend.graph import GraphBuilder


def declared_shape(info: onnx.ValueInfoProto) -> list[int | None] | None:
    """A value's declared shape (None for a symbolic or unknown dim), or None if it
    declares none."""
    tt = info.type.tensor_type if info.type.HasField("tensor_type") else None
    if tt is None or not tt.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]


@dataclass
class Const:
    """A constant known at import time; `name` is where it came from."""

    array: np.ndarray
    name: str
    ssa: SSAValue | None = None  # its arith.constant, once a compute op needed it


Value = SSAValue | Const


def value_shape(v: Value) -> tuple[int, ...]:
    if isinstance(v, Const):
        return tuple(v.array.shape)
    assert isinstance(v.type, TensorType)
    return tuple(v.type.get_shape())


def value_dtype(v: Value) -> np.dtype:
    if isinstance(v, Const):
        return v.array.dtype
    assert isinstance(v.type, TensorType)
    return element_dtype(v.type.element_type)


@dataclass
class Node:
    """One ONNX node being converted: its attributes, inputs and emission helpers."""

    proto: onnx.NodeProto
    opset: int
    builder: GraphBuilder
    attrs: dict[str, object] = field(init=False)

    def __post_init__(self) -> None:
        schema = _schema(self.key[0], self.proto.op_type, self.opset)
        if schema is not None:
            _check_arity(self.proto, schema, self.label)
        declared = {name: int(a.type) for name, a in schema.attributes.items()} if schema else {}
        self.attrs = {}
        for a in self.proto.attribute:
            if a.name in self.attrs:
                raise MalformedModel(f"{self.label}: attribute '{a.name}' is given twice")
            self.attrs[a.name] = _attribute_value(a, declared.get(a.name), self.label)

    @property
    def key(self) -> tuple[str, str]:
        return (self.proto.domain if self.proto.domain != "ai.onnx" else "", self.proto.op_type)

    @property
    def label(self) -> str:
        return node_label(self.proto.name, self.proto.op_type, self.proto.domain, list(self.proto.output))

    def attr(self, name: str, default: object = None) -> object:
        """The attribute's value, or `default`. With a default, the value must be of the
        default's kind (a number, a list, a string): ops ONNX has no schema for (custom
        domains) are checked here rather than by the schema."""
        value = self.attrs.get(name, default)
        if default is not None and not _same_kind(value, default):
            raise MalformedModel(
                f"{self.label}: attribute '{name}' must be {_kind(default)}, got {_kind(value)} {short(value)}"
            )
        return value

    def given(self, kind: object, convert: Callable[[Any], Attribute], *names: str) -> dict[str, Attribute]:
        """The named attributes the node sets, each checked to be of `kind`'s kind (as
        `attr` checks it) and converted to a property. The others are left out: the op's
        definition holds their ONNX defaults (`default_value=`)."""
        return {name: convert(self.attr(name, kind)) for name in names if name in self.attrs}

    def given_floats(self, *names: str) -> dict[str, Attribute]:
        return self.given(0.0, float_attr, *names)

    def given_ints(self, *names: str) -> dict[str, Attribute]:
        return self.given(0, int_attr, *names)

    def given_bools(self, *names: str) -> dict[str, Attribute]:
        """Integer attributes that ONNX uses as booleans (transA, count_include_pad, ...)."""
        return self.given(0, lambda v: bool_attr(bool(v)), *names)

    def has_input(self, i: int) -> bool:
        return i < len(self.proto.input) and self.proto.input[i] != ""

    def input(self, i: int) -> Value:
        return self.builder.values[self.proto.input[i]]

    def inputs(self) -> list[Value]:
        return [self.input(i) for i in range(len(self.proto.input)) if self.has_input(i)]

    def shape(self, i: int) -> tuple[int, ...]:
        return value_shape(self.input(i))

    def const_input(self, i: int, what: str) -> np.ndarray:
        assert i in self.builder.static_inputs.get(self.key, ()), f"{self.key} input {i} is not declared static"
        v = self.input(i)
        if not isinstance(v, Const):
            raise UnsupportedFeature(
                f"{self.label}: {what} (input #{i}, '{self.proto.input[i]}') must be a "
                "constant: only static values are supported"
            )
        return v.array

    def output_used(self, i: int) -> bool:
        return i < len(self.proto.output) and self.builder.is_used(self.proto.output[i])

    def fail(self, message: str) -> UnsupportedFeature:
        return UnsupportedFeature(f"{self.label}: {message}")

    def require_single_output(self, what: str = "its first output") -> None:
        for i in range(1, len(self.proto.output)):
            if self.output_used(i):
                raise self.fail(
                    f"output #{i} ('{self.proto.output[i]}') is used, but only {what} is supported"
                )

    def emit(self, op_class: type[TilerOp], inputs: Sequence[Value], props: dict | None = None) -> SSAValue:
        ssa = [self.builder.materialize(v) for v in inputs]
        attributes = {NAME_ATTR: StringAttr(self.proto.name)} if self.proto.name else {}
        try:
            op = op_class.build(ssa, props or {}, attributes, self.builder.level)
        except VerifyException as e:
            raise UnsupportedFeature(f"{self.label}: {e}") from None
        self.builder.block.add_op(op)
        return op.res[0]

    def emit_view(self, value: Value, shape: Sequence[int]) -> Value:
        shape = tuple(int(s) for s in shape)
        if isinstance(value, Const):
            return Const(value.array.reshape(shape), value.name)
        if value_shape(value) == shape:
            return value
        attributes = {NAME_ATTR: StringAttr(self.proto.name)} if self.proto.name else {}
        op = ReshapeOp.build_view(value, shape, attributes)
        self.builder.block.add_op(op)
        return op.res[0]


Converter = Callable[[Node], Sequence[Value]]


_VALUE_FIELD = {
    onnx.AttributeProto.INT: "i",
    onnx.AttributeProto.FLOAT: "f",
    onnx.AttributeProto.STRING: "s",
    onnx.AttributeProto.TENSOR: "t",
    onnx.AttributeProto.GRAPH: "g",
    onnx.AttributeProto.SPARSE_TENSOR: "sparse_tensor",
    onnx.AttributeProto.TYPE_PROTO: "tp",
}


@lru_cache(maxsize=None)
def _schema(domain: str, op_type: str, opset: int) -> onnx.defs.OpSchema | None:
    """ONNX's schema of the op at the model's opset; None for ops ONNX does not know
    (custom domains, Deeploy's integer ops)."""
    try:
        return onnx.defs.get_schema(op_type, opset, domain)
    except onnx.defs.SchemaError:
        return None


def _check_arity(proto: onnx.NodeProto, schema: onnx.defs.OpSchema, label: str) -> None:
    """Inputs and outputs as many as the schema allows, and every required input named."""
    inputs, outputs = len(proto.input), len(proto.output)
    if not schema.min_input <= inputs <= schema.max_input:
        raise MalformedModel(
            f"{label}: has {inputs} input(s), but {proto.op_type} takes "
            + (f"{schema.min_input}" if schema.min_input == schema.max_input else f"{schema.min_input} to {schema.max_input}")
        )
    if not schema.min_output <= outputs <= schema.max_output:
        raise MalformedModel(
            f"{label}: has {outputs} output(s), but {proto.op_type} gives "
            + (f"{schema.min_output}" if schema.min_output == schema.max_output else f"{schema.min_output} to {schema.max_output}")
        )
    single = onnx.defs.OpSchema.FormalParameterOption.Single
    for k, formal in enumerate(schema.inputs):
        if formal.option == single and (k >= inputs or not proto.input[k]):
            raise MalformedModel(f"{label}: input #{k} ({formal.name}) is required but not given")


def _attribute_value(a: onnx.AttributeProto, expected: int | None, label: str) -> object:
    """The value of attribute `a`, which must have the type the op's schema declares and
    carry a value of that type."""
    type_name = onnx.AttributeProto.AttributeType.Name
    if a.type == onnx.AttributeProto.UNDEFINED or a.type not in onnx.AttributeProto.AttributeType.values():
        raise MalformedModel(f"{label}: attribute '{a.name}' has no (or an unknown) type")
    if expected is not None and a.type != expected:
        raise MalformedModel(
            f"{label}: attribute '{a.name}' is {type_name(a.type)}, but the op declares it {type_name(expected)}"
        )
    field = _VALUE_FIELD.get(a.type)
    if field is not None and not a.HasField(field):
        raise MalformedModel(f"{label}: attribute '{a.name}' ({type_name(a.type)}) has no value")
    value = onnx.helper.get_attribute_value(a)
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise MalformedModel(f"{label}: attribute '{a.name}' is not valid UTF-8 text") from None
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        try:
            return [v.decode() for v in value]
        except UnicodeDecodeError:
            raise MalformedModel(f"{label}: attribute '{a.name}' is not valid UTF-8 text") from None
    return value


def _kind(value: object) -> str:
    if isinstance(value, bool | int | float | np.number):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def _same_kind(value: object, default: object) -> bool:
    return _kind(value) == _kind(default)


def short(value: object, limit: int = 80) -> str:
    """`value` as text for a message, cut to `limit` characters."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
