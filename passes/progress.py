"""Progress and timing of long compiles: the passes say what they are doing, the tool
decides whether and where it is shown.

Passes wrap their stages in `stage(name)` and report each op they finish with
`step(...)`. With nothing installed (the Python API, tests) both only read the clock.
`tiler-opt` installs a `ProgressReporter` (stderr; a bar on a terminal, plain lines
otherwise, nothing with `-q`) and, with `--timing`, a `Timings` that adds up the seconds
of each stage. Progress is shown for stages of at least `MIN_OPS` ops: whether a compile
prints it depends on the model, never on how busy the machine is, so small models'
stderr stays exactly what it was.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

MIN_OPS = 50
"""Ops a stage must have for the reporter to show its progress (a compile that long takes
seconds to minutes; smaller ones finish before progress would help)."""


@dataclass
class Timings:
    """Seconds per stage, in the order stages first ran; a stage inside another is
    listed under it (its `depth`)."""

    seconds: dict[tuple[str, ...], float] = field(default_factory=dict)

    def add(self, path: tuple[str, ...], seconds: float) -> None:
        self.seconds[path] = self.seconds.get(path, 0.0) + seconds

    def table(self, total: float) -> str:
        width = max([len(p[-1]) + 2 * (len(p) - 1) for p in self.seconds] + [5])
        lines = [f"  {'  ' * (len(p) - 1)}{p[-1]:<{width - 2 * (len(p) - 1)}}  {s:9.3f} s" for p, s in self.seconds.items()]
        top = sum(s for p, s in self.seconds.items() if len(p) == 1)
        lines.append(f"  {'other':<{width}}  {max(total - top, 0.0):9.3f} s")
        lines.append(f"  {'total':<{width}}  {total:9.3f} s")
        return "\n".join(lines)


@dataclass
class ProgressReporter:
    """Shows the `step`s of stages of at least `min_ops` ops on `stream`: on an
    interactive stream one bar line rewritten in place, otherwise one line per op; and,
    once a stage was shown, the end of each top-level stage after it. `prefix` starts
    every line (the tool's name)."""

    stream: TextIO
    prefix: str
    interactive: bool
    min_ops: int = MIN_OPS
    _shown: bool = False
    _bar_width: int = 0

    def step(self, stage: str, index: int, total: int, label: str, detail: str, seconds: float) -> None:
        if total < self.min_ops:
            return
        self._shown = True
        if self.interactive:
            filled = 20 * index // max(total, 1)
            line = f"{self.prefix}: {stage} [{'#' * filled}{'.' * (20 - filled)}] {index}/{total} {label}: {detail}"
            width = shutil.get_terminal_size().columns - 1
            line = line if len(line) <= width else line[: width - 3] + "..."
            self.stream.write("\r" + line.ljust(self._bar_width))
            self._bar_width = len(line)
            if index == total:
                self.clear()
        else:
            self.stream.write(f"{self.prefix}: {stage} {index}/{total} {label}: {detail}, {seconds:.2f} s\n")
        self.stream.flush()

    def stage_done(self, path: tuple[str, ...], seconds: float) -> None:
        if len(path) > 1 or not self._shown:
            return
        self.clear()
        self.stream.write(f"{self.prefix}: {path[-1]} done in {seconds:.2f} s\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.interactive and self._bar_width:
            self.stream.write("\r" + " " * self._bar_width + "\r")
            self._bar_width = 0


_reporter: ProgressReporter | None = None
_timings: Timings | None = None
_path: list[str] = []


@contextmanager
def reporting(reporter: ProgressReporter | None, timings: Timings | None) -> Iterator[None]:
    """Install a reporter and/or a timings collector for the duration of a compile."""
    global _reporter, _timings
    saved = (_reporter, _timings, list(_path))
    _reporter, _timings = reporter, timings
    _path.clear()
    try:
        yield
    finally:
        if _reporter is not None:
            _reporter.clear()
        _reporter, _timings = saved[0], saved[1]
        _path[:] = saved[2]


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time what runs inside as stage `name` (nested in the stage already running)."""
    _path.append(name)
    path = tuple(_path)
    if _timings is not None:
        _timings.add(path, 0.0)  # listed before the stages inside it
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        _path.pop()
        if _timings is not None:
            _timings.add(path, seconds)
        if _reporter is not None:
            _reporter.stage_done(path, seconds)


def step(index: int, total: int, label: str, detail: str, seconds: float) -> None:
    """One op of the running stage is done: the `index`-th of `total`."""
    if _reporter is not None:
        _reporter.step(_path[-1] if _path else "", index, total, label, detail, seconds)
