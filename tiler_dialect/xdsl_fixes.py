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
"""

from __future__ import annotations

import re

from xdsl.utils.mlir_lexer import MLIRLexer

_LINEAR_STRING_LITERAL = re.compile(r'"(?:[^"\\\n\v\f]++|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*+"')


def apply() -> None:
    MLIRLexer._unescaped_characters_regex = _LINEAR_STRING_LITERAL  # pyright: ignore[reportPrivateUsage]
