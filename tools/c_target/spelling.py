"""How the C target spells MLIR: C types for element types, literals, identifiers,
and a memref as a pointer with its sizes and strides (C expressions, folded where static)."""

from __future__ import annotations

import math as pymath
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import (
    Float32Type,
    Float64Type,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    StridedLayoutAttr,
    StringAttr,
)
from xdsl.ir import Attribute, Operation

from tiler_dialect.naming import identifier
from tiler_dialect.errors import TilerError


class CTargetError(TilerError):
    """The module cannot be written as C (an op or type the C target does not take)."""


# -- types -------------------------------------------------------------------------------


def c_type(t: Attribute) -> str:
    if isinstance(t, IndexType):
        return "long"
    if isinstance(t, IntegerType):
        width = t.width.data
        if width == 1:
            return "bool"
        if width not in (8, 16, 32, 64):
            raise CTargetError(f"the C target takes 1-, 8-, 16-, 32- and 64-bit integers, not {t}")
        return f"{'uint' if t.signedness.data.name == 'UNSIGNED' else 'int'}{width}_t"
    if isinstance(t, Float32Type):
        return "float"
    if isinstance(t, Float64Type):
        return "double"
    raise CTargetError(f"the C target has no type for {t}")


def unsigned_c_type(t: Attribute) -> str:
    """The unsigned type integer arithmetic on `t` wraps in (at least 32 bits wide, so
    that C's promotion to int cannot overflow)."""
    if isinstance(t, IndexType):
        return "unsigned long"
    width = t.width.data if isinstance(t, IntegerType) else 32
    return f"uint{max(width, 32)}_t"


def bits_c_type(t: Attribute) -> str:
    """The unsigned type of exactly t's width (for unsigned comparisons and extensions)."""
    if isinstance(t, IndexType):
        return "unsigned long"
    width = t.width.data
    return "bool" if width == 1 else f"uint{width}_t"


def numpy_dtype(t: Attribute) -> str:
    if isinstance(t, Float32Type):
        return "float32"
    if isinstance(t, Float64Type):
        return "float64"
    if isinstance(t, IntegerType):
        if t.width.data == 1:
            return "bool"
        return f"{'uint' if t.signedness.data.name == 'UNSIGNED' else 'int'}{t.width.data}"
    raise CTargetError(f"no numpy type for {t}")


C_WORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if inline int long "
    "register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while "
    "bool true false in out main memcpy NAN INFINITY".split()
)
"""C's keywords and the names the generated code itself uses."""


def c_identifier(text: str) -> str:
    name = identifier(text)
    return name + "_" if name in C_WORDS else name


def float_literal(value: float, t: Attribute) -> str:
    single = isinstance(t, Float32Type)
    if pymath.isnan(value):
        return "NAN" if single else "(double)NAN"
    if pymath.isinf(value):
        return ("-" if value < 0 else "") + ("INFINITY" if single else "(double)INFINITY")
    # the shortest decimal that reads back as the same float32 / double (C's conversion
    # rounds correctly), so exact and the same text every run
    text = str(np.float32(value)) if single else repr(float(value))
    if "e" not in text and "." not in text:
        text += ".0"
    return f"{text}f" if single else text


def int_literal(value: int, t: Attribute) -> str:
    if isinstance(t, IntegerType) and t.width.data == 1:
        return "true" if value & 1 else "false"
    if isinstance(t, IntegerType) and t.width.data == 64 or isinstance(t, IndexType):
        if value == -(2**63):
            return "(-9223372036854775807L - 1)"
        return f"{value}L"
    if isinstance(t, IntegerType) and value == -(2 ** (t.width.data - 1)) and t.width.data == 32:
        return "(-2147483647 - 1)"
    return str(value)


# -- memrefs -----------------------------------------------------------------------------


@dataclass
class Buffer:
    """What the emitter knows of a memref value: a C pointer expression to its first
    element, its sizes and strides (C expressions; literals where static)."""

    pointer: str
    element: Attribute
    sizes: list[str]
    strides: list[str]
    const: bool = False

    def element_at(self, indices: Sequence[str]) -> str:
        return f"{self.pointer}[{c_sum(c_product(i, s) for i, s in zip(indices, self.strides))}]"


def literal_value(text: str) -> int | None:
    text = text.removesuffix("L")
    return int(text) if text.lstrip("-").isdigit() else None


def c_product(a: str, b: str) -> str:
    """a * b as C, folded where one side is a literal 0 or 1 (or both literals)."""
    x, y = literal_value(a), literal_value(b)
    if x is not None and y is not None:
        return str(x * y)
    if x == 0 or y == 0:
        return "0"
    if x == 1:
        return b
    if y == 1:
        return a
    return f"{c_operand(a)} * {c_operand(b)}"


def c_sum(terms) -> str:
    kept = [t for t in terms if t != "0"]
    return " + ".join(kept) or "0"


def c_operand(text: str) -> str:
    return text if re.fullmatch(r"-?\w+", text) else f"({text})"


def static_strides(t: MemRefType) -> list[int | None]:
    layout = t.layout
    if isinstance(layout, StridedLayoutAttr):
        return [None if s is None else int(s) for s in layout.get_strides()]
    return list(MemRefType.strides_for_shape(t.get_shape())) if t.has_static_shape() else [None] * t.get_num_dims()


def section_of(level: str) -> str:
    return "." + c_identifier(level).lower()


def memref_bytes(t: MemRefType) -> int:
    from tiler_dialect.ops import element_dtype

    return pymath.prod(t.get_shape()) * element_dtype(t.element_type).itemsize


def contiguous(pointer: str, t: MemRefType) -> Buffer:
    shape = t.get_shape()
    strides = MemRefType.strides_for_shape(shape)
    return Buffer(pointer, t.element_type, [str(s) for s in shape], [str(s) for s in strides])


def attr_text(attrs, key: str) -> str | None:
    if attrs is None:
        return None
    data = attrs.data if hasattr(attrs, "data") and isinstance(attrs.data, dict) else attrs
    a = data.get(key) if isinstance(data, dict) else None
    return a.data if isinstance(a, StringAttr) else None


def attr_int(attrs, key: str) -> int | None:
    if attrs is None:
        return None
    data = attrs.data if hasattr(attrs, "data") else attrs
    a = data.get(key)
    return a.value.data if isinstance(a, IntegerAttr) else None


def at_fixed_place(op: Operation) -> bool:
    """A value every op's function may use: a literal, a constant array, or a view at a
    constant offset of an arena."""
    if isinstance(op, arith.ConstantOp | memref.GetGlobalOp):
        return True
    if isinstance(op, memref.ViewOp):
        source = op.source.owner
        return (
            isinstance(source, memref.AllocOp) and "tiler.arena" in source.attributes
            and isinstance(op.byte_shift.owner, arith.ConstantOp) and not op.sizes
        )
    return False
