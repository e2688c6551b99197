"""Attributes of the tiler dialect.

- `#tiler.mem<"L2">`: the memory level a tensor (as its encoding) or a memref (as its
  memory space) lives in.
- `#tiler.hierarchy<...>`: the memory hierarchy, carried by the module as the attribute
  `tiler.hierarchy`; levels named by `#tiler.mem` are checked against it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import lru_cache

from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    IntAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Operation, ParametrizedAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.cost import ComputeRates, LinkCost
from tiler_dialect.hierarchy import HierarchyError, MemoryHierarchy, MemoryLevel

HIERARCHY_ATTR_NAME = "tiler.hierarchy"


@irdl_attr_definition
class MemorySpaceAttr(ParametrizedAttribute):
    """The memory level a value lives in: `#tiler.mem<"L1">`."""

    name = "tiler.mem"

    level: StringAttr

    def __init__(self, level: str | StringAttr):
        super().__init__(StringAttr(level) if isinstance(level, str) else level)

    @property
    def level_name(self) -> str:
        return self.level.data

    def verify(self) -> None:
        if not self.level.data:
            raise VerifyException("#tiler.mem needs a non-empty level name")


@irdl_attr_definition
class MemoryLevelAttr(ParametrizedAttribute):
    """One level: `#tiler.level<"L1", size = 65536, neighbours = ["L2"]>`."""

    name = "tiler.level"

    level: StringAttr
    size: IntAttr
    neighbours: ArrayAttr[StringAttr]

    def __init__(self, level: str, size: int, neighbours: Sequence[str]):
        super().__init__(
            StringAttr(level), IntAttr(size), ArrayAttr(StringAttr(n) for n in neighbours)
        )

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        start = parser.pos
        with parser.in_angle_brackets():
            params = cls.parse_fields(parser)
        name, size, neighbours = params
        try:
            MemoryLevel(name.data, [n.data for n in neighbours], size.data)  # type: ignore[attr-defined]
        except HierarchyError as e:
            parser.raise_error(f"invalid memory level: {e}", start, parser.pos)
        return params

    @classmethod
    def parse_fields(cls, parser: AttrParser) -> Sequence[Attribute]:
        name = parser.parse_str_literal("memory level name")
        parser.parse_punctuation(",")
        parser.parse_keyword("size")
        parser.parse_punctuation("=")
        size = parser.parse_integer(allow_boolean=False, allow_negative=True)
        parser.parse_punctuation(",")
        parser.parse_keyword("neighbours")
        parser.parse_punctuation("=")
        neighbours = parser.parse_comma_separated_list(
            parser.Delimiter.SQUARE, lambda: parser.parse_str_literal("level name")
        )
        return (
            StringAttr(name),
            IntAttr(size),
            ArrayAttr(StringAttr(n) for n in neighbours),
        )

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            self.print_fields(printer)

    def print_fields(self, printer: Printer) -> None:
        printer.print_string_literal(self.level.data)
        printer.print_string(f", size = {self.size.data}, neighbours = ")
        with printer.in_square_brackets():
            printer.print_list(self.neighbours, lambda n: printer.print_string_literal(n.data))

    def to_level(self) -> MemoryLevel:
        return MemoryLevel(self.level.data, [n.data for n in self.neighbours], self.size.data)

    def verify(self) -> None:
        try:
            self.to_level()
        except HierarchyError as e:
            raise VerifyException(str(e)) from None


@irdl_attr_definition
class LinkCostAttr(ParametrizedAttribute):
    """A link's cost-model override: `<"L2", "L1", bandwidth = 8, latency = 30>` inside
    `#tiler.hierarchy<..., links = [...]>`."""

    name = "tiler.link"

    a: StringAttr
    b: StringAttr
    bandwidth: IntAttr
    latency: IntAttr

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            return cls.parse_fields(parser)

    @classmethod
    def parse_fields(cls, parser: AttrParser) -> Sequence[Attribute]:
        a = parser.parse_str_literal("level name")
        parser.parse_punctuation(",")
        b = parser.parse_str_literal("level name")
        values = []
        for key in ("bandwidth", "latency"):
            parser.parse_punctuation(",")
            parser.parse_keyword(key)
            parser.parse_punctuation("=")
            values.append(IntAttr(parser.parse_integer(allow_boolean=False)))
        return (StringAttr(a), StringAttr(b), *values)

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            self.print_fields(printer)

    def print_fields(self, printer: Printer) -> None:
        printer.print_string_literal(self.a.data)
        printer.print_string(", ")
        printer.print_string_literal(self.b.data)
        printer.print_string(f", bandwidth = {self.bandwidth.data}, latency = {self.latency.data}")


@irdl_attr_definition
class MemoryHierarchyAttr(ParametrizedAttribute):
    """The hierarchy, e.g.

    `#tiler.hierarchy<default = "L2", compute = "L1", levels = [<"L3", size = 8388608,
    neighbours = ["L2"]>, <"L2", size = 1048576, neighbours = ["L3", "L1"]>,
    <"L1", size = 65536, neighbours = ["L2"]>]>`
    """

    name = "tiler.hierarchy"

    default_level: StringAttr
    compute_level: StringAttr
    levels: ArrayAttr[MemoryLevelAttr]
    links: ArrayAttr[LinkCostAttr]
    """Cost-model overrides per link (empty: defaults)."""
    rates: DictionaryAttr
    """Compute-rate overrides (empty: defaults)."""

    @staticmethod
    def from_hierarchy(h: MemoryHierarchy) -> MemoryHierarchyAttr:
        defaults = ComputeRates()
        return MemoryHierarchyAttr(
            StringAttr(h.defaultName),
            StringAttr(h.computeName),
            ArrayAttr(
                MemoryLevelAttr(l.name, l.size, l.neighbourNames)
                for l in h.memoryLevels.values()
            ),
            ArrayAttr(
                LinkCostAttr(StringAttr(x), StringAttr(y), IntAttr(c.bandwidth), IntAttr(c.latency))
                for pair, c in sorted(h.linkCosts.items(), key=lambda kv: sorted(kv[0]))
                for x, y in [sorted(pair)]
            ),
            DictionaryAttr(
                {
                    name: IntAttr(getattr(h.computeRates, name))
                    for name in ComputeRates.field_names()
                    if getattr(h.computeRates, name) != getattr(defaults, name)
                }
            ),
        )

    def to_hierarchy(self) -> MemoryHierarchy:
        """A new MemoryHierarchy of its own: the caller may change it."""
        return copy.deepcopy(_to_hierarchy(self))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        start = parser.pos
        params = cls._parse_fields(parser)
        default, compute, levels, links, rates = params
        try:
            _build_hierarchy(default.data, compute.data, tuple(levels), tuple(links), rates)  # type: ignore[attr-defined]
        except (HierarchyError, ValueError) as e:
            parser.raise_error(f"invalid memory hierarchy: {e}", start, parser.pos)
        return params

    @classmethod
    def _parse_fields(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            parser.parse_keyword("default")
            parser.parse_punctuation("=")
            default = parser.parse_str_literal("default level name")
            parser.parse_punctuation(",")
            parser.parse_keyword("compute")
            parser.parse_punctuation("=")
            compute = parser.parse_str_literal("compute level name")
            parser.parse_punctuation(",")
            parser.parse_keyword("levels")
            parser.parse_punctuation("=")

            def parse_level() -> MemoryLevelAttr:
                with parser.in_angle_brackets():
                    return MemoryLevelAttr.new(MemoryLevelAttr.parse_fields(parser))

            levels = parser.parse_comma_separated_list(parser.Delimiter.SQUARE, parse_level)
            links: list[LinkCostAttr] = []
            rates: dict[str, Attribute] = {}
            while parser.parse_optional_punctuation(","):
                key = parser.parse_identifier("'links' or 'rates'")
                parser.parse_punctuation("=")
                if key == "links":

                    def parse_link() -> LinkCostAttr:
                        with parser.in_angle_brackets():
                            return LinkCostAttr.new(LinkCostAttr.parse_fields(parser))

                    links = parser.parse_comma_separated_list(parser.Delimiter.SQUARE, parse_link)
                elif key == "rates":

                    def parse_rate() -> tuple[str, IntAttr]:
                        name = parser.parse_identifier("compute rate")
                        parser.parse_punctuation("=")
                        return name, IntAttr(parser.parse_integer(allow_boolean=False))

                    rates = dict(parser.parse_comma_separated_list(parser.Delimiter.ANGLE, parse_rate))
                else:
                    parser.raise_error(f"expected 'links' or 'rates', got '{key}'")
        return StringAttr(default), StringAttr(compute), ArrayAttr(levels), ArrayAttr(links), DictionaryAttr(rates)

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_string("default = ")
            printer.print_string_literal(self.default_level.data)
            printer.print_string(", compute = ")
            printer.print_string_literal(self.compute_level.data)
            printer.print_string(", levels = ")

            def print_level(level: MemoryLevelAttr) -> None:
                with printer.in_angle_brackets():
                    level.print_fields(printer)

            with printer.in_square_brackets():
                printer.print_list(self.levels, print_level)
            if self.links.data:
                printer.print_string(", links = ")

                def print_link(link: LinkCostAttr) -> None:
                    with printer.in_angle_brackets():
                        link.print_fields(printer)

                with printer.in_square_brackets():
                    printer.print_list(self.links, print_link)
            if self.rates.data:
                printer.print_string(", rates = ")
                with printer.in_angle_brackets():
                    printer.print_list(
                        self.rates.data.items(),
                        lambda kv: printer.print_string(f"{kv[0]} = {kv[1].data}"),  # type: ignore[attr-defined]
                    )

    def verify(self) -> None:
        try:
            self.to_hierarchy()
        except (HierarchyError, ValueError) as e:
            raise VerifyException(f"invalid memory hierarchy: {e}") from None


def _to_hierarchy(attr: MemoryHierarchyAttr) -> MemoryHierarchy:
    return _build_hierarchy(
        attr.default_level.data, attr.compute_level.data, tuple(attr.levels), tuple(attr.links), attr.rates
    )


@lru_cache(maxsize=64)
def _build_hierarchy(
    default: str,
    compute: str,
    levels: tuple[MemoryLevelAttr, ...],
    links: tuple[LinkCostAttr, ...],
    rates: DictionaryAttr,
) -> MemoryHierarchy:
    h = MemoryHierarchy([l.to_level() for l in levels])
    h.setDefaultMemoryLevel(default)
    h.setComputeMemoryLevel(compute)
    for link in links:
        h.setLinkCost(link.a.data, link.b.data, LinkCost(link.bandwidth.data, link.latency.data))
    unknown = set(rates.data) - set(ComputeRates.field_names())
    if unknown:
        raise HierarchyError(
            f"unknown compute rate(s) {', '.join(sorted(unknown))}; known: {', '.join(ComputeRates.field_names())}"
        )
    h.computeRates = ComputeRates(**{k: v.data for k, v in rates.data.items()})  # type: ignore[attr-defined]
    return h


def hierarchy_of(op: Operation) -> MemoryHierarchy:
    """The hierarchy of the nearest enclosing module that carries one, else the default;
    a new object each call, so changing it changes nothing else."""
    return copy.deepcopy(shared_hierarchy_of(op))


def shared_hierarchy_of(op: Operation) -> MemoryHierarchy:
    """`hierarchy_of` without the copy, for the verifiers that read it on every op: one
    object shared by every module with an equal attribute. Read it; never change it or
    hand it out."""
    cur: Operation | None = op
    while cur is not None:
        if isinstance(cur, ModuleOp):
            attr = cur.attributes.get(HIERARCHY_ATTR_NAME)
            if isinstance(attr, MemoryHierarchyAttr):
                return _to_hierarchy(attr)
        cur = cur.parent_op()
    return _default_hierarchy()


@lru_cache(maxsize=1)
def _default_hierarchy() -> MemoryHierarchy:
    return MemoryHierarchy.default()


def memory_level_of(type_: Attribute) -> str | None:
    """The level named by a tensor's encoding or a memref's memory space, if any."""
    if isinstance(type_, TensorType):
        space = type_.encoding
    elif isinstance(type_, MemRefType):
        space = type_.memory_space
    else:
        return None
    return space.level_name if isinstance(space, MemorySpaceAttr) else None


def verify_memory_level(type_: Attribute, op: Operation, what: str) -> None:
    """A shaped value of a tiler op must name a level of the module's hierarchy."""
    if isinstance(type_, TensorType):
        space, where = type_.encoding, "encoding"
    elif isinstance(type_, MemRefType):
        space, where = type_.memory_space, "memory space"
    else:
        raise VerifyException(f"{what} must be a tensor or memref, got {type_}")
    if not isinstance(space, MemorySpaceAttr):
        raise VerifyException(
            f"{what} has no memory level: expected a #tiler.mem<\"LEVEL\"> {where}, got {type_}"
        )
    hierarchy = shared_hierarchy_of(op)
    if space.level_name not in hierarchy.memoryLevels:
        raise VerifyException(
            f"{what} lives in memory level \"{space.level_name}\", which is not in the "
            f"module's hierarchy (levels: {', '.join(hierarchy.memoryLevels)})"
        )


ARENA_ATTR = "tiler.arena"
"""On the `memref.alloc` of a level's arena (after allocation); its value names the level."""

OFFSET_ATTR = "tiler.offset"
"""A byte offset in its level's arena, for what the runtime places before the call: on
`memref.global` constants and in graph inputs' argument attributes."""
