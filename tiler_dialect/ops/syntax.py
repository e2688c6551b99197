"""The custom syntax every tiler compute op shares (see tiler_dialect/ops/base.py):

    %y = tiler.relu %x {props} : (tensor<...>) -> tensor<...>                 tensor form
    tiler.relu ins(%x : memref<...>) outs(%y : memref<...>) {props}             destination form
    tiler.relu ins(...) outs(...) tile [%i, 0] [%n, 8] of [[64, 8]] -> [64, 8]  tile form

Properties print in the attribute dictionary, sorted by name, with the discardable
attributes; the parser sorts them back by the op's IRDL definition."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

from xdsl.dialects.builtin import DYNAMIC_INDEX, ArrayAttr, DenseArrayBase, IndexType, IntegerType, i64
from xdsl.dialects.utils.dynamic_index_list import parse_dynamic_index_list_without_types, print_dynamic_index_list
from xdsl.ir import Attribute, SSAValue
from xdsl.parser import Parser
from xdsl.printer import Printer

if TYPE_CHECKING:
    from tiler_dialect.ops.base import TilerOp

Op = TypeVar("Op", bound="TilerOp")

SEGMENTS = "operandSegmentSizes"

SYNTAX_PROPS = {SEGMENTS, "static_tile_offsets", "static_tile_sizes", "problem_shapes"}
"""Properties printed by the custom syntax itself, not in the attribute dictionary."""


def _printable_attributes(op: TilerOp) -> dict[str, Attribute]:
    merged = {k: v for k, v in op.properties.items() if k not in SYNTAX_PROPS}
    merged.update(op.attributes)
    return {k: merged[k] for k in sorted(merged)}


def print_tiler_op(op: TilerOp, printer: Printer) -> None:
    attrs = _printable_attributes(op)
    if op.outputs:
        for keyword, values in (("ins", op.inputs), ("outs", op.outputs)):
            printer.print_string(f" {keyword}(")
            printer.print_list(values, printer.print_operand)
            printer.print_string(" : ")
            printer.print_list([v.type for v in values], printer.print_attribute)
            printer.print_string(")")
        if op.is_tile:
            _print_tile(op, printer)
        if attrs:
            printer.print_string(" ")
            printer.print_attr_dict(attrs)
        return
    printer.print_string(" ")
    printer.print_list(op.inputs, printer.print_operand)
    if attrs:
        printer.print_string(" ")
        printer.print_attr_dict(attrs)
    printer.print_string(" : ")
    printer.print_function_type([v.type for v in op.inputs], [r.type for r in op.res])


def _print_tile(op: TilerOp, printer: Printer) -> None:
    assert op.static_tile_offsets is not None and op.static_tile_sizes is not None
    assert op.problem_shapes is not None
    printer.print_string(" tile ")
    print_dynamic_index_list(printer, DYNAMIC_INDEX, op.tile_offsets, op.static_tile_offsets.get_values())
    printer.print_string(" ")
    print_dynamic_index_list(printer, DYNAMIC_INDEX, op.tile_sizes, op.static_tile_sizes.get_values())
    shapes = ["[" + ", ".join(map(str, s.get_values())) + "]" for s in op.problem_shapes.data]
    printer.print_string(f" of [{', '.join(shapes[:-1])}] -> {shapes[-1]}")


def parse_tiler_op(cls: type[Op], parser: Parser) -> Op:
    tile_operands: list[SSAValue] = []
    tile_props: dict[str, Attribute] = {}
    segments = [0, 0]
    if parser.parse_optional_keyword("ins") is not None:
        inputs = _parse_operand_group(parser)
        parser.parse_keyword("outs")
        outputs = _parse_operand_group(parser)
        if parser.parse_optional_keyword("tile") is not None:
            tile_operands, tile_props, segments = _parse_tile(parser)
        attrs = parser.parse_optional_attr_dict()
        result_types: list[Attribute] = []
    else:
        pos = parser.pos
        unresolved = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_unresolved_operand)
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        ftype = parser.parse_function_type()
        inputs = parser.resolve_operands(unresolved, ftype.inputs.data, pos)
        outputs = []
        result_types = list(ftype.outputs.data)
    prop_names = set(cls.get_irdl_definition().properties) - SYNTAX_PROPS
    properties = {k: v for k, v in attrs.items() if k in prop_names}
    attributes = {k: v for k, v in attrs.items() if k not in prop_names}
    properties.update(tile_props)
    properties[SEGMENTS] = DenseArrayBase.from_list(IntegerType(32), [len(inputs), len(outputs), *segments])
    return cls.create(
        operands=[*inputs, *outputs, *tile_operands],
        result_types=result_types,
        properties=properties,
        attributes=attributes,
    )


def _parse_tile(parser: Parser) -> tuple[list[SSAValue], dict[str, Attribute], list[int]]:
    """`[offsets] [sizes] of [[shape], ...] -> [shape]` after the `tile` keyword."""
    index = IndexType()
    off_ops, off_static = parse_dynamic_index_list_without_types(parser, DYNAMIC_INDEX)
    size_ops, size_static = parse_dynamic_index_list_without_types(parser, DYNAMIC_INDEX)
    parser.parse_keyword("of")

    def parse_shape() -> list[int]:
        return parser.parse_comma_separated_list(
            parser.Delimiter.SQUARE, lambda: parser.parse_integer(allow_boolean=False)
        )

    shapes = parser.parse_comma_separated_list(parser.Delimiter.SQUARE, parse_shape)
    parser.parse_punctuation("->")
    shapes.append(parse_shape())
    offsets = [parser.resolve_operand(o, index) for o in off_ops]
    sizes = [parser.resolve_operand(o, index) for o in size_ops]
    props: dict[str, Attribute] = {
        "static_tile_offsets": DenseArrayBase.from_list(i64, off_static),
        "static_tile_sizes": DenseArrayBase.from_list(i64, size_static),
        "problem_shapes": ArrayAttr(DenseArrayBase.from_list(i64, sh) for sh in shapes),
    }
    return [*offsets, *sizes], props, [len(offsets), len(sizes)]


def _parse_operand_group(parser: Parser) -> Sequence[SSAValue]:
    parser.parse_punctuation("(")
    pos = parser.pos
    unresolved = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_unresolved_operand)
    parser.parse_punctuation(":")
    types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
    parser.parse_punctuation(")")
    return parser.resolve_operands(unresolved, types, pos)
