"""Fixes to the pinned xDSL release that the tiler's inputs need; applied on import of
`tiler_dialect`, so `tiler-opt`, `tiler-run`, the Python API and plain `xdsl-opt` with the
tiler universe all parse with them.

- String literals: xDSL 0.74's lexer matches a string literal with
  `"(?:[^"\\\n\v\f]+|\\(?:...))*"`, a `+` nested in a `*`. On a literal that never
  closes (IR cut off inside `dense<"0x...`) the regex engine tries every way of splitting
  the run of characters before it gives up: exponential in the literal's length, so a
  truncated file of constants hangs the parser for minutes. The same language, written
  with possessive quantifiers (Python >= 3.11), fails in linear time and the parser then
  reports its located "End of file reached before closing string literal." error.
- `memref.dma_start` / `memref.dma_wait`: xDSL 0.74 defines them without MLIR's custom
  syntax, so they print in the generic form only. They get MLIR's:
      memref.dma_start %src[%i, %j], %dst[%k, %l], %num, %tag[%t] {attrs} : type(src), type(dst), type(tag)
      memref.dma_wait %tag[%t], %num {attrs} : type(tag)
  (the generic form still parses, and the custom one is what upstream MLIR reads).
- `linalg.pooling_nchw_max`: xDSL 0.74 builds its body as max(input, window), so every
  pass that reads the body (convert-linalg-to-loops, the executor) takes the maximum of
  the input and the unread window operand; MLIR defines it as max(output, input), which
  the body built here computes.
- `arith.remf`: MLIR's float remainder (C's fmod: the dividend's sign), which xDSL 0.74
  lacks; defined here and added to xDSL's arith dialect, so it parses and prints as
  upstream MLIR writes it.
"""

from __future__ import annotations

import re

from collections.abc import Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import AnyFloat, IndexType
from xdsl.dialects.linalg.ops import PoolingNchwMaxOp, YieldOp
from xdsl.ir import BlockArgument, Region, SSAValue
from xdsl.irdl import irdl_op_definition, traits_def
from xdsl.traits import Pure
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.mlir_lexer import MLIRLexer

_LINEAR_STRING_LITERAL = re.compile(r'"(?:[^"\\\n\v\f]++|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*+"')


def _print_indexed(printer: Printer, value, indices) -> None:
    printer.print_ssa_value(value)
    printer.print_string("[")
    printer.print_list(indices, printer.print_ssa_value)
    printer.print_string("]")


def _parse_indexed(parser: Parser):
    value = parser.parse_unresolved_operand()
    indices = parser.parse_comma_separated_list(parser.Delimiter.SQUARE, parser.parse_unresolved_operand)
    return value, indices


def _print_dma_start(self: memref.DmaStartOp, printer: Printer) -> None:
    printer.print_string(" ")
    _print_indexed(printer, self.src, self.src_indices)
    printer.print_string(", ")
    _print_indexed(printer, self.dest, self.dest_indices)
    printer.print_string(", ")
    printer.print_ssa_value(self.num_elements)
    printer.print_string(", ")
    _print_indexed(printer, self.tag, self.tag_indices)
    printer.print_op_attributes(self.attributes, reserved_attr_names=("operandSegmentSizes",))
    printer.print_string(" : ")
    printer.print_list([self.src.type, self.dest.type, self.tag.type], printer.print_attribute)


def _parse_dma_start(cls, parser: Parser) -> memref.DmaStartOp:
    src, src_indices = _parse_indexed(parser)
    parser.parse_punctuation(",")
    dest, dest_indices = _parse_indexed(parser)
    parser.parse_punctuation(",")
    num = parser.parse_unresolved_operand()
    parser.parse_punctuation(",")
    tag, tag_indices = _parse_indexed(parser)
    attributes = parser.parse_optional_attr_dict()
    parser.parse_punctuation(":")
    src_type = parser.parse_type()
    parser.parse_punctuation(",")
    dest_type = parser.parse_type()
    parser.parse_punctuation(",")
    tag_type = parser.parse_type()
    index = IndexType()
    op = memref.DmaStartOp.get(
        parser.resolve_operand(src, src_type),
        [parser.resolve_operand(i, index) for i in src_indices],
        parser.resolve_operand(dest, dest_type),
        [parser.resolve_operand(i, index) for i in dest_indices],
        parser.resolve_operand(num, index),
        parser.resolve_operand(tag, tag_type),
        [parser.resolve_operand(i, index) for i in tag_indices],
    )
    op.attributes.update(attributes)
    return op


def _print_dma_wait(self: memref.DmaWaitOp, printer: Printer) -> None:
    printer.print_string(" ")
    _print_indexed(printer, self.tag, self.tag_indices)
    printer.print_string(", ")
    printer.print_ssa_value(self.num_elements)
    printer.print_op_attributes(self.attributes)
    printer.print_string(" : ")
    printer.print_attribute(self.tag.type)


def _parse_dma_wait(cls, parser: Parser) -> memref.DmaWaitOp:
    tag, tag_indices = _parse_indexed(parser)
    parser.parse_punctuation(",")
    num = parser.parse_unresolved_operand()
    attributes = parser.parse_optional_attr_dict()
    parser.parse_punctuation(":")
    tag_type = parser.parse_type()
    index = IndexType()
    op = memref.DmaWaitOp.get(
        parser.resolve_operand(tag, tag_type),
        [parser.resolve_operand(i, index) for i in tag_indices],
        parser.resolve_operand(num, index),
    )
    op.attributes.update(attributes)
    return op


def _pooling_max_body(cls, inputs: Sequence[SSAValue], outputs: Sequence[SSAValue]) -> Region:
    arg_types = cls.body_arg_types((*inputs, *outputs))
    maximum = arith.MaximumfOp if isinstance(arg_types[-1], AnyFloat) else arith.MaxSIOp

    @Builder.implicit_region(arg_types)
    def body(args: tuple[BlockArgument, ...]) -> None:
        YieldOp(maximum(args[2], args[0]))  # (input, window, output)

    return body


@irdl_op_definition
class RemFOp(arith.FloatingPointLikeBinaryOperation):
    """The remainder of lhs / rhs with the sign of lhs (C's fmod)."""

    name = "arith.remf"
    traits = traits_def(Pure())


def apply() -> None:
    if RemFOp not in arith.Arith._operations:  # pyright: ignore[reportPrivateUsage]
        arith.Arith._operations.append(RemFOp)  # pyright: ignore[reportPrivateUsage]
    MLIRLexer._unescaped_characters_regex = _LINEAR_STRING_LITERAL  # pyright: ignore[reportPrivateUsage]
    memref.DmaStartOp.print = _print_dma_start  # type: ignore[method-assign]
    memref.DmaStartOp.parse = classmethod(_parse_dma_start)  # type: ignore[method-assign, assignment]
    memref.DmaWaitOp.print = _print_dma_wait  # type: ignore[method-assign]
    memref.DmaWaitOp.parse = classmethod(_parse_dma_wait)  # type: ignore[method-assign, assignment]
    PoolingNchwMaxOp.get_hidden_region = classmethod(_pooling_max_body)  # type: ignore[method-assign, assignment]
