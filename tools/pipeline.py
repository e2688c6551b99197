"""Checking a `-p` pass pipeline before it runs: an unknown pass or option, or an option
value of the wrong type or out of range, is a usage error (exit 2) that names what is
wrong and what exists, not an internal error."""

from __future__ import annotations

import dataclasses
import difflib
import re
import sys
from collections.abc import Callable

from xdsl.passes import ModulePass
from xdsl.utils.arg_spec import parse_pipeline
from xdsl.utils.exceptions import ArgSpecParseError

from tiler_dialect.universe import TILER_UNIVERSE
from tiler_passes.options import OptionError
from tiler_tools.diagnostics import UsageError

TILER_PASSES = tuple(TILER_UNIVERSE.all_passes)  # in pipeline order, as --help lists them


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else "."


def pass_options(cls: type[ModulePass]) -> list[str]:
    """A pass's option names as written in `-p` (dashes)."""
    return [f.name.replace("_", "-") for f in dataclasses.fields(cls) if f.init and f.name != "name"]


def describe_tiler_passes(available: dict[str, Callable[[], type[ModulePass]]]) -> str:
    """The tiler's passes and their options (name=default), for --help."""
    lines = ["The tiler's passes (-p NAME{option=value ...}; sizes take 8K/1M forms):"]
    for name in TILER_PASSES:
        if name not in available:
            continue
        cls = available[name]()
        doc = (sys.modules[cls.__module__].__doc__ or "").strip()
        first = " ".join(doc.split("\n\n")[0].split())  # the module docstring's first paragraph
        summary = re.split(r"(?<=\.)\s| \(", first.split(": ", 1)[-1])[0].rstrip(".")
        lines.append(f"  {name}: {summary}")
        options = []
        for f in dataclasses.fields(cls):
            if not f.init or f.name == "name":
                continue
            default = "" if f.default is None or f.default is dataclasses.MISSING else f.default
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            options.append(f"{f.name.replace('_', '-')}={shown}")
        if options:
            lines.append("      " + " ".join(options))
    return "\n".join(lines)


def check_pipeline(spec: str | None, available: dict[str, Callable[[], type[ModulePass]]]) -> None:
    if not spec:
        return
    try:
        specs = list(parse_pipeline(spec))
    except ArgSpecParseError as e:
        raise UsageError(f"-p: {e}") from None
    for p in specs:
        if p.name not in available:
            ours = ", ".join(n for n in TILER_PASSES if n in available)
            raise UsageError(
                f"-p: unknown pass '{p.name}'{_suggest(p.name, sorted(available))} The tiler's passes: "
                f"{ours}; every pass is listed by tiler-opt --help"
            )
        cls = available[p.name]()
        options = pass_options(cls)
        for given in p.normalize_parameter_names().parameters:
            if given.replace("_", "-") not in options:
                raise UsageError(
                    f"-p: pass '{p.name}' has no option '{given}'"
                    f"{_suggest(given.replace('_', '-'), options)} Its options: {', '.join(options) or '(none)'}"
                )
        try:
            cls.from_pass_spec(p)
        except (ValueError, TypeError, OptionError) as e:
            raise UsageError(f"-p: pass '{p.name}': {e}") from None
