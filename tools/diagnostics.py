"""Turning exceptions into short messages for the command line."""

from __future__ import annotations

import os
import sys
import traceback

from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError

_CONTEXT_LINES = 3
_FULL_IR_LINES = 40


def _ir_excerpt(note: str) -> str:
    """xDSL attaches the whole module, with the failing op marked, to verifier errors.
    Keep the marked op and a few lines around it when the module is large."""
    lines = note.rstrip("\n").splitlines()
    if len(lines) <= _FULL_IR_LINES:
        return "\n".join(lines)
    marks = [i for i, line in enumerate(lines) if line.lstrip().startswith("^^^")]
    if not marks:
        return ""
    keep: set[int] = set()
    for m in marks:
        keep.update(range(max(0, m - _CONTEXT_LINES), min(len(lines), m + _CONTEXT_LINES + 2)))
    out, last = [], -2
    for i in sorted(keep):
        if i != last + 1:
            out.append("    ...")
        out.append(lines[i][:300])
        last = i
    return "\n".join(out)


def format_error(e: BaseException) -> str:
    if isinstance(e, ParseError):
        return str(e).strip()
    message = str(e).strip()
    notes = [n for n in getattr(e, "__notes__", []) if isinstance(n, str)]
    if isinstance(e, DiagnosticException) and notes:
        excerpt = _ir_excerpt(notes[-1])
        if excerpt:
            message += "\n" + excerpt
    return message


EXIT_BAD_INPUT = 1  # the input or an option value is wrong: the message says what
EXIT_INTERNAL = 70  # a bug in the tool (sysexits' EX_SOFTWARE); argparse uses 2 for usage


def report(tool: str, e: BaseException) -> int:
    """Print an error for `e`; internal errors (bugs) say so. Returns the exit code."""
    from tiler_dialect.hierarchy import HierarchyError
    from tiler_tools.executor import ExecutionError

    user_errors = (DiagnosticException, ParseError, ArgSpecParseError, OSError, HierarchyError, ExecutionError)
    if isinstance(e, user_errors):
        print(f"{tool}: error: {format_error(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{tool}: internal error: {type(e).__name__}: {e}", file=sys.stderr)
    if os.environ.get("TILER_DEBUG"):
        traceback.print_exception(e)
    else:
        print("(set TILER_DEBUG=1 for a traceback, and please report it)", file=sys.stderr)
    return EXIT_INTERNAL
