"""What every tiler compute op shares: operands, forms, syntax and verification.

An op comes in two forms, like `linalg` named ops:

- tensor form (value semantics), what the importer produces:
      %y = tiler.relu %x : (tensor<1x8xf32, #tiler.mem<"L2">>) -> tensor<1x8xf32, #tiler.mem<"L2">>
- destination form on memrefs, what tiled code computes with (compute level only):
      tiler.relu ins(%x : memref<1x8xf32, #tiler.mem<"L1">>) outs(%y : memref<1x8xf32, #tiler.mem<"L1">>)

Properties (ONNX's attribute names) print in the attribute dictionary, sorted by name.
A concrete op states, as data and small functions: its input arity, how its result shape
and element type follow from its inputs (`infer_shape`, `infer_element_type`, shared by the
verifier and the importer), its tiling description (`tiling`) and its numpy kernel
(`compute`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Self

import numpy as np
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    MemRefType,
    StringAttr,
    TensorType,
    f32,
    i1,
    i64,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.attributes import MemorySpaceAttr, hierarchy_of, verify_memory_level

Shape = tuple[int, ...]
Props = Mapping[str, Attribute]

NAME_ATTR = "tiler.name"
"""Discardable attribute: the ONNX node (or initializer) an op came from."""

_SEGMENTS = "operandSegmentSizes"


# -- property helpers -------------------------------------------------------------------


def ints_attr(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def int_attr(value: int) -> IntegerAttr:
    return IntegerAttr(int(value), i64)


def bool_attr(value: bool) -> IntegerAttr:
    return IntegerAttr(1 if value else 0, i1)


def float_attr(value: float) -> FloatAttr:
    return FloatAttr(float(value), f32)


def get_ints(props: Props, name: str) -> tuple[int, ...]:
    attr = props[name]
    assert isinstance(attr, DenseArrayBase)
    return tuple(int(v) for v in attr.iter_values())


def get_int(props: Props, name: str) -> int:
    attr = props[name]
    assert isinstance(attr, IntegerAttr)
    return attr.value.data


def get_bool(props: Props, name: str) -> bool:
    return bool(get_int(props, name))


def get_float(props: Props, name: str, default: float | None = None) -> float | None:
    attr = props.get(name)
    if attr is None:
        return default
    assert isinstance(attr, FloatAttr)
    return attr.value.data


def get_str(props: Props, name: str) -> str:
    attr = props[name]
    assert isinstance(attr, StringAttr)
    return attr.data


def normalize_axis(axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < max(rank, 1):
        raise VerifyException(f"{what} {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def element_dtype(element_type: Attribute) -> np.dtype:
    """numpy dtype of an MLIR element type (f16/f32/f64, iN/uiN, i1)."""
    if isinstance(element_type, IntegerType):
        width = element_type.width.data
        if width == 1:
            return np.dtype(np.bool_)
        unsigned = element_type.signedness.data.name == "UNSIGNED"
        return np.dtype(f"{'u' if unsigned else ''}int{width}")
    if isinstance(element_type, AnyFloat):
        return np.dtype(f"float{element_type.bitwidth}")
    raise ValueError(f"no numpy dtype for element type {element_type}")


# -- the base class -------------------------------------------------------------------


class TilerOp(IRDLOperation):
    """Base of all tiler compute ops (not registered itself)."""

    inputs = var_operand_def()
    outputs = var_operand_def()
    res = var_result_def()

    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    NUM_INPUTS: ClassVar[tuple[int, int]] = (1, 1)
    """Smallest and largest number of inputs."""

    IS_VIEW: ClassVar[bool] = False
    """Views (reshape) alias their input; they are not tiled or computed."""

    FLOAT_ONLY: ClassVar[bool] = False
    """The op is defined on floating-point element types only."""

    def __init__(
        self,
        inputs: Sequence[SSAValue],
        result_type: Attribute | None = None,
        *,
        outputs: Sequence[SSAValue] = (),
        properties: Props | None = None,
        attributes: Props | None = None,
    ):
        super().__init__(
            operands=[inputs, outputs],
            result_types=[[result_type] if result_type is not None else []],
            properties=dict(properties or {}),
            attributes=dict(attributes or {}),
        )

    # -- per-op hooks (overridden by concrete ops) ------------------------------------

    @classmethod
    def infer_shape(cls, shapes: Sequence[Shape], props: Props) -> Shape:
        """Result shape from input shapes; raises VerifyException on inconsistency."""
        return tuple(shapes[0])

    @classmethod
    def infer_element_type(cls, element_types: Sequence[Attribute], props: Props) -> Attribute:
        """Result element type; by default every input has the same one."""
        first = element_types[0]
        for i, t in enumerate(element_types[1:], start=1):
            if t != first:
                raise VerifyException(
                    f"input #{i} has element type {t}, expected {first} like input #0"
                )
        if cls.FLOAT_ONLY and not isinstance(first, AnyFloat):
            raise VerifyException(f"{cls.name} is defined on floating-point tensors, got {first}")
        return first

    # -- construction -------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        inputs: Sequence[SSAValue],
        properties: Props | None = None,
        attributes: Props | None = None,
        level: MemorySpaceAttr | None = None,
    ) -> Self:
        """Tensor form with the result type inferred; raises VerifyException if invalid."""
        props = dict(properties or {})
        types = [v.type for v in inputs]
        if not all(isinstance(t, TensorType) for t in types):
            raise VerifyException(f"{cls.name} expects tensor inputs")
        lo, hi = cls.NUM_INPUTS
        if not lo <= len(inputs) <= hi:
            raise VerifyException(_arity_message(cls, len(inputs)))
        shape = cls.infer_shape([tuple(t.get_shape()) for t in types], props)
        element = cls.infer_element_type([t.element_type for t in types], props)
        encoding = level if level is not None else types[0].encoding
        return cls(
            inputs,
            TensorType(element, shape, encoding),
            properties=props,
            attributes=attributes,
        )

    # -- accessors --------------------------------------------------------------------

    @property
    def result_type(self) -> TensorType | MemRefType:
        """Type of the result (tensor form) or of the destination (memref form)."""
        t = self.outputs[0].type if self.outputs else self.res[0].type
        assert isinstance(t, TensorType | MemRefType)
        return t

    @property
    def input_shapes(self) -> list[Shape]:
        return [tuple(v.type.get_shape()) for v in self.inputs]  # type: ignore[attr-defined]

    @property
    def output_shape(self) -> Shape:
        return tuple(self.result_type.get_shape())

    @property
    def node_name(self) -> str | None:
        attr = self.attributes.get(NAME_ATTR)
        return attr.data if isinstance(attr, StringAttr) else None

    @property
    def display_name(self) -> str:
        """How diagnostics name this op: the ONNX node name when known."""
        return f"'{self.node_name}' ({self.name})" if self.node_name else self.name

    # -- verification -----------------------------------------------------------------

    def verify_(self) -> None:
        lo, hi = self.NUM_INPUTS
        if not lo <= len(self.inputs) <= hi:
            raise VerifyException(_arity_message(type(self), len(self.inputs)))
        if self.outputs:
            self._verify_destination_form()
        else:
            self._verify_tensor_form()
        for i, v in enumerate(self.inputs):
            verify_memory_level(v.type, self, f"input #{i}")
        verify_memory_level(self.result_type, self, "result" if self.res else "output")

        in_types = [v.type for v in self.inputs]
        element = type(self).infer_element_type(
            [t.element_type for t in in_types],  # type: ignore[attr-defined]
            self.properties,
        )
        if element != self.result_type.element_type:
            raise VerifyException(
                f"result element type {self.result_type.element_type} does not match the "
                f"inferred {element}"
            )
        shapes = self.input_shapes
        if any(DYNAMIC_INDEX in s for s in shapes) or DYNAMIC_INDEX in self.output_shape:
            return  # dynamic tile shapes are checked where they are computed
        expected = type(self).infer_shape(shapes, self.properties)
        if tuple(expected) != self.output_shape:
            raise VerifyException(
                f"result shape {_fmt(self.output_shape)} does not match the inferred "
                f"shape {_fmt(expected)}"
            )

    def _verify_tensor_form(self) -> None:
        if len(self.res) != 1:
            raise VerifyException("expects exactly one result (or an outs(...) destination)")
        for i, v in enumerate(self.inputs):
            if not isinstance(v.type, TensorType):
                raise VerifyException(f"input #{i} must be a tensor when the op has a result")
        if not isinstance(self.res[0].type, TensorType):
            raise VerifyException("result must be a tensor")

    def _verify_destination_form(self) -> None:
        if self.res:
            raise VerifyException("an op with an outs(...) destination has no results")
        if len(self.outputs) != 1:
            raise VerifyException("expects exactly one outs(...) destination")
        for i, v in enumerate([*self.inputs, *self.outputs]):
            if not isinstance(v.type, MemRefType):
                raise VerifyException("ins(...) and outs(...) operands must be memrefs")
        compute = hierarchy_of(self).computeName
        for i, v in enumerate([*self.inputs, *self.outputs]):
            space = v.type.memory_space  # type: ignore[attr-defined]
            if isinstance(space, MemorySpaceAttr) and space.level_name != compute:
                raise VerifyException(
                    f"compute reads only the compute level \"{compute}\", but operand #{i} "
                    f"lives in \"{space.level_name}\""
                )

    # -- custom syntax --------------------------------------------------------------------

    def _printable_attributes(self) -> dict[str, Attribute]:
        merged = {k: v for k, v in self.properties.items() if k != _SEGMENTS}
        merged.update(self.attributes)
        return {k: merged[k] for k in sorted(merged)}

    def print(self, printer: Printer) -> None:
        attrs = self._printable_attributes()
        if self.outputs:
            for keyword, values in (("ins", self.inputs), ("outs", self.outputs)):
                printer.print_string(f" {keyword}(")
                printer.print_list(values, printer.print_operand)
                printer.print_string(" : ")
                printer.print_list([v.type for v in values], printer.print_attribute)
                printer.print_string(")")
            if attrs:
                printer.print_string(" ")
                printer.print_attr_dict(attrs)
            return
        printer.print_string(" ")
        printer.print_list(self.inputs, printer.print_operand)
        if attrs:
            printer.print_string(" ")
            printer.print_attr_dict(attrs)
        printer.print_string(" : ")
        printer.print_function_type([v.type for v in self.inputs], [r.type for r in self.res])

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        if parser.parse_optional_keyword("ins") is not None:
            inputs = _parse_operand_group(parser)
            parser.parse_keyword("outs")
            outputs = _parse_operand_group(parser)
            attrs = parser.parse_optional_attr_dict()
            result_types: list[Attribute] = []
        else:
            pos = parser.pos
            unresolved = parser.parse_comma_separated_list(
                parser.Delimiter.NONE, parser.parse_unresolved_operand
            )
            attrs = parser.parse_optional_attr_dict()
            parser.parse_punctuation(":")
            ftype = parser.parse_function_type()
            inputs = parser.resolve_operands(unresolved, ftype.inputs.data, pos)
            outputs = []
            result_types = list(ftype.outputs.data)
        prop_names = set(cls.get_irdl_definition().properties)
        properties = {k: v for k, v in attrs.items() if k in prop_names}
        attributes = {k: v for k, v in attrs.items() if k not in prop_names}
        properties[_SEGMENTS] = DenseArrayBase.from_list(
            IntegerType(32), [len(inputs), len(outputs)]
        )
        return cls.create(
            operands=[*inputs, *outputs],
            result_types=result_types,
            properties=properties,
            attributes=attributes,
        )


def _parse_operand_group(parser: Parser) -> Sequence[SSAValue]:
    parser.parse_punctuation("(")
    pos = parser.pos
    unresolved = parser.parse_comma_separated_list(
        parser.Delimiter.NONE, parser.parse_unresolved_operand
    )
    parser.parse_punctuation(":")
    types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
    parser.parse_punctuation(")")
    return parser.resolve_operands(unresolved, types, pos)


def _arity_message(cls: type[TilerOp], n: int) -> str:
    lo, hi = cls.NUM_INPUTS
    want = str(lo) if lo == hi else f"{lo} to {hi}" if hi < 1 << 30 else f"at least {lo}"
    return f"expects {want} input(s), got {n}"


def _fmt(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def broadcast_shapes(*shapes: Shape) -> Shape:
    """Multidirectional (numpy) broadcasting, as ONNX defines it."""
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0}
        dims.discard(1)
        if len(dims) > 1:
            raise VerifyException(
                "shapes " + ", ".join(_fmt(s) for s in shapes) + " do not broadcast"
            )
        out.append(dims.pop() if dims else 1)
    return tuple(out)
