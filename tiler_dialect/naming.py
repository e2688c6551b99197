"""Names: the ONNX name an op or buffer carries, how diagnostics name an op and quote a
value, and the one rule that turns any name into an identifier (for SSA name hints,
symbols and C)."""

from __future__ import annotations

import re

from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Operation

NAME_ATTR = "tiler.name"
"""Discardable attribute: the ONNX node (or initializer) an op came from."""


def node_name(op: Operation) -> str | None:
    """The ONNX node (or buffer) name `op` carries, if any."""
    attr = op.attributes.get(NAME_ATTR)
    return attr.data if isinstance(attr, StringAttr) else None


def op_label(op: Operation) -> str:
    """How every diagnostic names an op: `'conv1' (tiler.conv)` when the op carries its
    ONNX name, else the op's name."""
    name = node_name(op)
    return f"'{name}' ({op.name})" if name else op.name


def identifier(text: str, fallback: str = "v") -> str:
    """`text` as letters, digits and underscores, not starting with a digit: a name that
    MLIR name hints and symbols and C all accept (runs of other characters become one
    underscore, leading and trailing ones go; `fallback` when nothing is left)."""
    name = re.sub(r"\W+", "_", text, flags=re.ASCII).strip("_") or fallback
    return "v_" + name if name[0].isdigit() else name


def shown(value: object, limit: int = 60) -> str:
    """A value for an error message, cut short: messages stay one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
