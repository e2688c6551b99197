"""The tiler's options: names, defaults, ranges and checks, each in one place.

Every entry point validates through this module, so a value gets the same answer
wherever it is given: `tiler-opt`'s flags (argparse types built from these checks), the
passes' options in `-p` pipelines (the passes are these dataclasses: a bad value fails
when the pipeline is built, before any input is read), and the Python `Tiler` (checked
when its flow starts). A bad value raises `OptionError`, whose message names the option,
the value and what is allowed.

Pass options that are byte sizes accept the flags' forms (`8192`, `8K`, `64KiB`, `1M`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

from tiler_dialect.hierarchy import HierarchyError, MemoryHierarchy, check_level_size, parse_bytes
from tiler_dialect.errors import TilerUsageError


class OptionError(TilerUsageError, ValueError):
    """An option value out of its range or not one of its choices. `option` is the name
    the message gives the option (None when it names no single option) and `problem` what
    is wrong, so an entry point that calls the option otherwise (the `Tiler`'s reference
    names) can say it in its own words (`naming`)."""

    def __init__(self, problem: str, option: str | None = None) -> None:
        self.option, self.problem = option, problem
        super().__init__(problem if option is None else f"{option} {problem}")

    def naming(self, option: str) -> str:
        """The message, calling the option `option`."""
        return f"{option} {self.problem}"


DEFAULT_ALIGNMENT = 4
"""Bytes: every buffer offset (and buffer size) is a multiple of it."""
MAX_ALIGNMENT = 1 << 16

SearchStrategy = Literal["cycles", "max", "min", "random-max"]
""""cycles" minimises the cost model; "max"/"min"/"random-max" maximise / minimise the
compute level's tile bytes (seeded random ties), the reference's tile-size objectives."""
SEARCH_STRATEGIES: tuple[SearchStrategy, ...] = get_args(SearchStrategy)
DEFAULT_SEARCH_STRATEGY: SearchStrategy = "cycles"

AllocationStrategy = Literal["MiniMalloc", "TetrisRandom", "TetrisCo-Opt"]
""""MiniMalloc" (native, default), the reference's "TetrisRandom", or "TetrisCo-Opt" (CP-SAT
places each op's buffers together with its tile sizes, then minimises the peak)."""
ALLOCATION_STRATEGIES: tuple[AllocationStrategy, ...] = get_args(AllocationStrategy)
DEFAULT_ALLOCATION_STRATEGY: AllocationStrategy = "MiniMalloc"
CO_OPTIMISING_STRATEGY: AllocationStrategy = "TetrisCo-Opt"
"""The allocation strategy that the tiling model takes part in (it places L1 buffers)."""

MAX_SEED = 2**31 - 1
"""CP-SAT's `random_seed` is a 32-bit signed integer."""

DEFAULT_ALLOCATION_TIMEOUT = 60.0
"""Seconds of search per level."""
DEFAULT_TILING_TIME_LIMIT = 10.0
"""CP-SAT's deterministic time budget per tiling solve (reproducible, unlike wall time)."""
MAX_TIMEOUT = 7 * 24 * 3600.0


def check_alignment(value: Any, what: str = "alignment") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ALIGNMENT or value & (value - 1):
        raise OptionError(f"must be a power of two number of bytes from 1 to {MAX_ALIGNMENT}, got {value!r}", what)
    return value


def check_seed(value: Any, what: str = "seed") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise OptionError(f"must be an integer from 0 to {MAX_SEED}, got {value!r}", what)
    return value


def check_timeout(value: Any, what: str = "timeout") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        math.isfinite(value) and 0 < value <= MAX_TIMEOUT
    ):
        raise OptionError(f"must be a positive number of seconds up to {MAX_TIMEOUT:g}, got {value!r}", what)
    return float(value)


def check_choice(value: Any, choices: Sequence[str], what: str) -> str:
    if value not in choices:
        raise OptionError(f"unknown {what} {value!r}; known: {', '.join(choices)}")
    return value


def check_byte_size(value: Any, what: str) -> int | None:
    """None, a positive number of bytes, or a string such as '8K'; returns the bytes."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = parse_bytes(value)
        except ValueError as e:
            raise OptionError(f"{what}: {e}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"must be a number of bytes, got {value!r}", what)
    try:
        return check_level_size(value, what)
    except HierarchyError as e:
        raise OptionError(str(e)) from None


def check_path(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or "\0" in value:
        raise OptionError(f"must be a file name, got {value!r}", what)
    return value


@dataclass(frozen=True)
class Options:
    """Base of option groups: on construction, every group's `_validate` runs (most
    derived last), so a pass built from a pipeline spec or by hand is valid or fails."""

    def __post_init__(self) -> None:
        for cls in reversed(type(self).__mro__):
            validate = cls.__dict__.get("_validate")
            if validate is not None:
                validate(self)

    def _normalize(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # frozen: only while constructing

    def option_fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class HierarchyOptions(Options):
    """The memory hierarchy: the L3 - L2 - L1 chain (`l1`, `l2`, `l3`: bytes; levels not
    given keep their defaults), `default_mem_level` (the home level of graph tensors), or
    `hierarchy_file` (a JSON hierarchy, for any other graph of levels)."""

    l1: int | str | None = None
    l2: int | str | None = None
    l3: int | str | None = None
    default_mem_level: str | None = None
    hierarchy_file: str | None = None

    def _validate(self) -> None:
        for name in ("l1", "l2", "l3"):
            self._normalize(name, check_byte_size(getattr(self, name), name))
        if self.default_mem_level is not None and not isinstance(self.default_mem_level, str):
            raise OptionError(f"must be a level name, got {self.default_mem_level!r}", "default_mem_level")
        check_path(self.hierarchy_file, "hierarchy_file")
        if self.hierarchy_file is not None and any(v is not None for v in (self.l1, self.l2, self.l3)):
            raise OptionError("give either a hierarchy file or level sizes (--l1/--l2/--l3), not both")

    @property
    def overrides_hierarchy(self) -> bool:
        return any(v is not None for v in (self.l1, self.l2, self.l3, self.default_mem_level, self.hierarchy_file))

    def hierarchy(self) -> MemoryHierarchy:
        """The hierarchy these options describe; HierarchyError if it is invalid."""
        if self.hierarchy_file is not None:
            from tiler_passes.output_files import protect_input

            protect_input(self.hierarchy_file)
            h = MemoryHierarchy.load(self.hierarchy_file)
            if self.default_mem_level is not None:
                h.setDefaultMemoryLevel(self.default_mem_level)
            return h
        return MemoryHierarchy.fromSizes(self.l1, self.l2, self.l3, self.default_mem_level)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TileOptions(Options):
    """How tiles are chosen: `search_strategy`, `double_buffer`, `alignment` (bytes),
    `seed`, `report` (the JSON tile report's file), `mem_alloc_strategy` ("TetrisCo-Opt"
    makes the tiling model also place each op's L1 buffers), `time_limit` (CP-SAT's
    deterministic seconds per solve). The solver reads these options too."""

    search_strategy: str = DEFAULT_SEARCH_STRATEGY  # str, not the Literal: the check below words the error
    double_buffer: bool = True
    alignment: int = DEFAULT_ALIGNMENT
    seed: int = 0
    report: str | None = None
    mem_alloc_strategy: str = DEFAULT_ALLOCATION_STRATEGY
    time_limit: float | int = DEFAULT_TILING_TIME_LIMIT

    def _validate(self) -> None:
        check_choice(self.search_strategy, SEARCH_STRATEGIES, "search strategy")
        if not isinstance(self.double_buffer, bool):
            raise OptionError(f"must be true or false, got {self.double_buffer!r}", "double_buffer")
        check_alignment(self.alignment)
        check_seed(self.seed)
        check_path(self.report, "report")
        check_choice(self.mem_alloc_strategy, ALLOCATION_STRATEGIES, "allocation strategy")
        self._normalize("time_limit", check_timeout(self.time_limit, "time_limit"))

    @property
    def place_buffers(self) -> bool:
        """The tiling model also places each level's buffers (TetrisCo-Opt)."""
        return self.mem_alloc_strategy == CO_OPTIMISING_STRATEGY


@dataclass(frozen=True)
class ApplyTilesOptions(Options):
    """How the recorded schedules are applied: `alignment` (bytes) of the tile buffers."""

    alignment: int = DEFAULT_ALIGNMENT

    def _validate(self) -> None:
        check_alignment(self.alignment)


@dataclass(frozen=True)
class AllocateOptions(Options):
    """How buffers are placed: `strategy`, `alignment` (bytes), `seed`, `timeout`
    (seconds per level), `memory_map` (JSON file) and `plot` (HTML file)."""

    strategy: str = DEFAULT_ALLOCATION_STRATEGY  # str: as search_strategy
    alignment: int = DEFAULT_ALIGNMENT
    seed: int = 0
    timeout: float | int = DEFAULT_ALLOCATION_TIMEOUT
    memory_map: str | None = None
    plot: str | None = None

    def _validate(self) -> None:
        check_choice(self.strategy, ALLOCATION_STRATEGIES, "allocation strategy")
        check_alignment(self.alignment)
        check_seed(self.seed)
        self._normalize("timeout", check_timeout(self.timeout))
        check_path(self.memory_map, "memory_map")
        check_path(self.plot, "plot")
