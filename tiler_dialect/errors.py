"""The tiler's diagnostics: one hierarchy on xDSL's exceptions.

Every error the tiler raises about its input is a `TilerError`, an xDSL
`DiagnosticException`, so xDSL's tools (`xdsl-opt --verify-diagnostics`, the pass
manager) and the tiler's own command lines report it as a diagnostic rather than a bug:

- `TilerError`: the input (a model, IR, a hierarchy, a schedule, an allocation problem)
  is wrong or asks for what cannot be done; exit code 1 on the command line.
- `TilerPassFailed`: a pass could not do its work on valid IR (no tiling fits, the
  buffers cannot be placed, an op cannot be lowered); also an xDSL `PassFailedException`.
- `TilerUsageError`: a bad option value, command line or pass pipeline; exit code 2.

Verifier failures stay xDSL's `VerifyException`, raised by the op being verified.
Errors that also subclass `ValueError` (hierarchy, schedule, option errors) do so
because the Python API documents them as such.
"""

from __future__ import annotations

from io import StringIO
from typing import NoReturn

from xdsl.ir import Operation
from xdsl.printer import Printer
from xdsl.utils.diagnostic import Diagnostic
from xdsl.utils.exceptions import DiagnosticException, PassFailedException


class TilerError(DiagnosticException):
    """Base of the tiler's diagnostics: the message is for the user and names what is
    wrong."""


class TilerPassFailed(PassFailedException, TilerError):
    """A pass failed on valid input: what it was asked cannot be done (the message says
    why)."""


class TilerUsageError(TilerError):
    """A bad command line, pass pipeline or option value."""


_CONTEXT_OPS = 3
"""Ops printed on either side of the one an error is located at."""


def raise_at(op: Operation, error: DiagnosticException) -> NoReturn:
    """Raise `error` located at `op`, through xDSL's diagnostics: the error's note is the
    op and the ops around it in its block, with the op marked and the message under it,
    which the command lines print. (xDSL's `emit_error` prints the whole module, which on
    a large model dominates the error path.)"""
    diagnostic = Diagnostic()
    diagnostic.add_message(op, str(error))
    stream = StringIO()
    printer = Printer(stream=stream, diagnostic=diagnostic, print_generic_format=True)
    for neighbour in _neighbourhood(op):
        printer.print_op(neighbour)
        printer.print_string("\n")
    error.add_note(stream.getvalue())
    raise error


def _neighbourhood(op: Operation) -> list[Operation]:
    block = op.parent_block()
    if block is None:
        return [op]
    ops = list(block.ops)
    at = ops.index(op)
    return ops[max(0, at - _CONTEXT_OPS) : at + _CONTEXT_OPS + 1]
