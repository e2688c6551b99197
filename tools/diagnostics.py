"""Turning exceptions into short messages for the command line."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
import warnings
from collections.abc import Iterator

from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError

from tiler_dialect.errors import TilerUsageError

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


_MAX_EXCERPT = 120  # columns of a source line shown around a parse error


def _clipped_context(span, msg: str) -> str:
    """`file:line:col`, the line (clipped around the error: IR lines of hex constants run
    to megabytes), carets under the span and the message."""
    content = span.input.content
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    start = min(span.start, len(content))
    line_start = content.rfind("\n", 0, start) + 1
    line_end = content.find("\n", start)
    line = content[line_start : line_end if line_end >= 0 else len(content)].removesuffix("\r")
    column = start - line_start
    width = max(1, min(span.end, line_start + len(line)) - start)
    left = max(0, column - _MAX_EXCERPT // 2)
    shown = line[left : left + _MAX_EXCERPT]
    prefix = "..." if left else ""
    suffix = "..." if left + _MAX_EXCERPT < len(line) else ""
    caret_at = len(prefix) + column - left
    carets = "^" * max(1, min(width, len(shown) - (column - left)))
    return "\n".join(
        [str(span.get_location()), prefix + shown + suffix, " " * caret_at + carets, " " * caret_at + msg]
    )


def format_parse_error(e: ParseError) -> str:
    text = _clipped_context(e.span, e.msg)
    for span, note in getattr(e, "refs", []) or []:
        text += "\n" + _clipped_context(span, note or "")
    return text


def format_error(e: BaseException) -> str:
    if isinstance(e, ParseError):
        return format_parse_error(e)
    message = str(e).strip()
    notes = [n for n in getattr(e, "__notes__", []) if isinstance(n, str)]
    if isinstance(e, DiagnosticException) and notes:
        excerpt = _ir_excerpt(notes[-1])
        if excerpt:
            message += "\n" + excerpt
    return message


EXIT_BAD_INPUT = 1  # the input is wrong: the message says what
EXIT_USAGE = 2  # the command line or pass pipeline is wrong (argparse's code too)
EXIT_INTERNAL = 70  # a bug in the tool (sysexits' EX_SOFTWARE)


class UsageError(TilerUsageError):
    """A bad command line or pass pipeline; the message names what is wrong and what exists."""


def checked_type(convert, check):
    """An argparse type: `convert` the text, then range-check the value with `check` (one
    of tiler_passes.options' checks, so flags and pass options answer alike)."""
    import argparse

    from tiler_passes.options import OptionError

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text[:60]!r}") from None
        try:
            return check(value)
        except OptionError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return parse


@contextlib.contextmanager
def printed_warnings(tool: str) -> Iterator[None]:
    """Within: warnings (e.g. the importer's ModelWarning) print as `tool: warning: message`
    lines on stderr, like errors, without Python's file-and-line prefix."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"{tool}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


def report(tool: str, e: BaseException) -> int:
    """Print an error for `e`; internal errors (bugs) say so. Returns the exit code."""
    if isinstance(e, (TilerUsageError, ArgSpecParseError)):  # UsageError, OptionError
        print(f"{tool}: error: {format_error(e)}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(e, (DiagnosticException, ParseError, OSError)):  # TilerError and xDSL's
        print(f"{tool}: error: {format_error(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(e, MemoryError):  # the input asks for more memory than this machine has
        print(f"{tool}: error: out of memory: the input needs more memory than is available", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(e, RecursionError):  # e.g. IR nested deeper than the parser recurses
        print(f"{tool}: error: the input is nested too deeply to process", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{tool}: internal error: {type(e).__name__}: {e}", file=sys.stderr)
    if os.environ.get("TILER_DEBUG"):
        traceback.print_exception(e)
    else:
        print("(set TILER_DEBUG=1 for a traceback, and please report it)", file=sys.stderr)
    return EXIT_INTERNAL
