"""Reading IR text: UTF-8, parsed, and nothing but a located diagnostic when it is wrong."""

from __future__ import annotations

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.utils.exceptions import DiagnosticException, ParseError

from tiler_dialect.errors import TilerError


class MalformedIR(TilerError):
    """IR text that cannot be read; the message names the file and why."""


def parse_ir(ctx: Context, data: bytes | str, source: str, implicit_module: bool = True) -> ModuleOp:
    """Parse IR (bytes must be UTF-8). xDSL raises ParseError for what its grammar rejects;
    a few inputs it has no rule for (element types like f80 or complex in a dense literal)
    surface as other exceptions from inside the parser: those are input errors too, so they
    become MalformedIR naming what xDSL said."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise MalformedIR(f"{source}: IR must be UTF-8 text (invalid byte at offset {e.start})") from None
    try:
        return Parser(ctx, data, source).parse_module(implicit_module)
    except (ParseError, DiagnosticException, RecursionError, MemoryError):
        raise
    except Exception as e:  # noqa: BLE001 - the parser's own gaps, see the docstring
        detail = str(e).strip().splitlines()[0][:200] if str(e).strip() else "no detail"
        raise MalformedIR(f"{source}: xDSL cannot read this IR ({type(e).__name__}: {detail})") from e
