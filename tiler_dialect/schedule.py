"""Tiling schedules: how one op is cut into tiles at each level on its path to compute,
as a Python model (`OpTiling`) and as an IR attribute (`#tiler.schedule`).

At each level below home the current box (the whole iteration space at the first level,
the enclosing tile deeper down) is split along some dims into balanced tiles: a dim of
extent P in n tiles gets P % n tiles of size ceil(P/n) and the rest of size floor(P/n),
never 28 + 4 where 16 + 16 will do. The tiles are visited in one flat order, `order`
listing the split dims from outermost to innermost (reductions innermost, so partial sums
stay in the compute level). An operand is (re)loaded only when a dim it depends on
advances: with stride s (the number of tiles during which its region stays the same), at
tile t when t % s == 0. This is what keeps weights resident while spatial tiles sweep.

In the IR the decision is an attribute on the op, `tiler.schedule`, which `choose-tiles`
writes and `apply-tiles` reads, so a user can read, edit or write one by hand:

    tiler.conv %x, %w, %b {..., tiler.schedule = #tiler.schedule<[
        <"L1", tile = [1, 1, 8, 6, 6, 2, 3, 3], order = [2], buffers = [1, 2, 1, 2]>]>}

one entry per level below home, down to the compute level: `tile` the largest tile
extent per iteration dim (in the order of the op's tiling description; a dim is split
into ceil(extent / tile) balanced tiles of the enclosing box), `order` the split dims
outermost first, `buffers` the copies of each operand's tile at that level (inputs, then
the output: 2 streams a tile while the previous one computes), and optionally `offsets`,
byte offsets of those buffers in the level (the TetrisCo-Opt strategy places them with
the tile sizes). An empty list means the op runs where it is (home is the compute level).
"""

from __future__ import annotations

import operator

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects.builtin import ArrayAttr, DenseArrayBase, StringAttr, i64
from xdsl.ir import Attribute, ParametrizedAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.tiling import IterKind, OperandAccess, TilingDescription, linear_form
from tiler_dialect.errors import TilerError

SCHEDULE_ATTR = "tiler.schedule"
"""The op attribute that carries an op's `#tiler.schedule`."""


# -- the model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelTiling:
    level: str
    counts: tuple[int, ...]
    """Tiles per iteration dim within the enclosing box (1: the dim stays whole)."""
    order: tuple[int, ...]
    """The split dims (count > 1), outermost first."""
    slots: tuple[int, ...]
    """Buffers per operand at this level, inputs then the output (2: double buffered)."""
    offsets: tuple[int, ...] | None = None
    """Byte offsets of the operands' buffers in the level, when the tiling model placed
    them together with the tile sizes (allocation strategy TetrisCo-Opt)."""

    @property
    def tiles(self) -> int:
        return math.prod(self.counts)

    def dim_stride(self, dim: int) -> int:
        """Tiles visited while `dim` stays at one index."""
        position = self.order.index(dim)
        return math.prod(self.counts[d] for d in self.order[position + 1 :])

    def stride(self, dims: set[int]) -> int:
        """Tiles during which an operand depending on `dims` keeps its region."""
        split = [d for d in self.order if d in dims]
        if not split:
            return self.tiles
        return self.dim_stride(split[-1])

    def loads(self, dims: set[int]) -> int:
        """How many times an operand depending on `dims` is loaded per enclosing box."""
        return self.tiles // self.stride(dims)


@dataclass(frozen=True)
class OpTiling:
    levels: tuple[LevelTiling, ...]
    """From the level below home down to the compute level."""

    @property
    def tiles(self) -> int:
        return math.prod(l.tiles for l in self.levels)


def operand_dims(desc: TilingDescription) -> list[set[int]]:
    """For each operand (inputs, then the output), the iteration dims its region uses."""
    return [set(a.map.used_dims()) for a in (*desc.inputs, *desc.outputs)]


def balanced(extent: int, count: int) -> list[tuple[int, int]]:
    """[lo, hi) of `count` balanced tiles of [0, extent)."""
    q, r = divmod(extent, count)
    out, lo = [], 0
    for i in range(count):
        hi = lo + q + (1 if i < r else 0)
        out.append((lo, hi))
        lo = hi
    return out


def max_extents(desc: TilingDescription, tiling: OpTiling) -> list[list[int]]:
    """Per level, the largest tile extent of each iteration dim."""
    out, extent = [], [d.size for d in desc.dims]
    for level in tiling.levels:
        extent = [-(-e // c) for e, c in zip(extent, level.counts)]
        out.append(extent)
    return out


def region_lengths(access: OperandAccess, extents: Sequence):
    """The one region rule: the length, per operand dim, of the largest region an operand
    needs for a box of these extents (not clipped). An index sum(c_d * d) + k spans
    1 + sum(|c_d| * (extent_d - 1)) values. `extents` may be ints or the solver's
    expressions (the rule is linear in them)."""
    return [1 + sum(abs(c) * (extents[d] - 1) for d, c in linear_form(expr).coeffs) for expr in access.map.results]


def region_extent(access: OperandAccess, extents: Sequence[int], shape: Sequence[int]) -> list[int]:
    """Largest region an operand needs for a box of these extents, clipped to the operand."""
    return [min(length, size) for length, size in zip(region_lengths(access, extents), shape)]


def moves_at(t, stride, output: bool, *, mod=operator.mod, add=operator.add, equal=operator.eq):
    """The one load/store cadence rule, for tile `t` of a level's loop: an operand keeps its
    region for `stride` consecutive tiles (`LevelTiling.stride`), so an input is loaded at
    the first tile of each run and the output stored after the last. `mod`, `add` and
    `equal` let code generators apply it to index values; `LevelTiling.loads` counts it."""
    return equal(mod(add(t, 1) if output else t, stride), 0)


class ScheduleError(TilerError, ValueError):
    """A schedule that breaks the structural rules; the message names the rule."""


def _require(condition: bool, message: str) -> None:
    if not condition:  # a real check: it must not vanish under `python -O` as assert would
        raise ScheduleError(message)


def check_tiling(desc: TilingDescription, tiling: OpTiling) -> None:
    """Structural rules every schedule obeys; ScheduleError names the first one broken."""
    last = len(tiling.levels) - 1
    for i, level in enumerate(tiling.levels):
        where = f"level {level.level}"
        _require(len(level.counts) == len(desc.dims), f"{where}: {len(level.counts)} tile extents for {len(desc.dims)} dims")
        split = sorted(d for d, c in enumerate(level.counts) if c > 1)
        _require(sorted(level.order) == split, f"{where}: the loop order {list(level.order)} must list exactly the split dims {split}")
        _require(
            len(level.slots) == len(desc.inputs) + 1 and all(s >= 1 for s in level.slots),
            f"{where}: one buffer count >= 1 per operand ({len(desc.inputs) + 1}), got {list(level.slots)}",
        )
        if level.offsets is not None:
            _require(len(level.offsets) == len(level.slots), f"{where}: one offset per operand ({len(level.slots)})")
        for d, (dim, c) in enumerate(zip(desc.dims, level.counts)):
            _require(c >= 1, f"{where}: dim {dim.name} has tile count {c}, below 1")
            if c > 1:
                _require(dim.tileable, f"{where}: dim {dim.name} is split but must stay whole")
                if dim.kind == IterKind.REDUCTION:
                    _require(
                        i == last and desc.combine == "sum",
                        f"{where}: reduction dim {dim.name} may be split only at the compute level of an op that sums",
                    )
        reductions = [d for d in level.order if desc.dims[d].kind == IterKind.REDUCTION]
        _require(
            level.order[len(level.order) - len(reductions) :] == tuple(reductions),
            f"{where}: reduction loops must be innermost",
        )
    for level, extents in zip(tiling.levels, max_extents(desc, tiling)):
        why = desc.inexact_output(extents)
        _require(why is None, f"level {level.level}: {why}")


# -- the attribute ----------------------------------------------------------------------------


def _ints(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, list(values))


def _values(array: DenseArrayBase) -> tuple[int, ...]:
    return tuple(int(v) for v in array.get_values())


@irdl_attr_definition
class LevelScheduleAttr(ParametrizedAttribute):
    """One level of a schedule: `<"L1", tile = [...], order = [...], buffers = [...]>`,
    optionally `offsets = [...]`. Printed only inside `#tiler.schedule`."""

    name = "tiler.level_schedule"

    level: StringAttr
    tile: DenseArrayBase
    order: DenseArrayBase
    buffers: DenseArrayBase
    offsets: DenseArrayBase
    """Empty when the buffers are placed by the allocator."""

    @staticmethod
    def get(level: str, tile: Sequence[int], order: Sequence[int], buffers: Sequence[int], offsets: Sequence[int] | None = None) -> LevelScheduleAttr:
        return LevelScheduleAttr(StringAttr(level), _ints(tile), _ints(order), _ints(buffers), _ints(offsets or []))

    @property
    def tile_sizes(self) -> tuple[int, ...]:
        return _values(self.tile)

    @property
    def loop_order(self) -> tuple[int, ...]:
        return _values(self.order)

    @property
    def buffer_counts(self) -> tuple[int, ...]:
        return _values(self.buffers)

    @property
    def buffer_offsets(self) -> tuple[int, ...] | None:
        values = _values(self.offsets)
        return values or None

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            return cls.parse_fields(parser)

    @classmethod
    def parse_fields(cls, parser: AttrParser) -> Sequence[Attribute]:
        start = parser.pos
        fields = cls._parse_fields(parser)
        try:
            LevelScheduleAttr.new(fields)  # verifies: report a bad level at its text
        except VerifyException as e:
            parser.raise_error(str(e), start, parser.pos)
        return fields

    @classmethod
    def _parse_fields(cls, parser: AttrParser) -> Sequence[Attribute]:
        level = parser.parse_str_literal("a level name")
        fields: dict[str, DenseArrayBase] = {}
        while parser.parse_optional_punctuation(","):
            key = parser.parse_identifier("'tile', 'order', 'buffers' or 'offsets'")
            if key not in ("tile", "order", "buffers", "offsets") or key in fields:
                parser.raise_error(f"expected one each of 'tile', 'order', 'buffers' and optionally 'offsets', got '{key}'")
            parser.parse_punctuation("=")
            values = parser.parse_comma_separated_list(parser.Delimiter.SQUARE, lambda: parser.parse_integer(allow_boolean=False))
            fields[key] = _ints(values)
        for key in ("tile", "order", "buffers"):
            if key not in fields:
                parser.raise_error(f"level {level!r} of a schedule needs '{key} = [...]'")
        return (StringAttr(level), fields["tile"], fields["order"], fields["buffers"], fields.get("offsets", _ints([])))

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            self.print_fields(printer)

    def print_fields(self, printer: Printer) -> None:
        printer.print_string_literal(self.level.data)
        fields = [("tile", self.tile), ("order", self.order), ("buffers", self.buffers)]
        if self.buffer_offsets is not None:
            fields.append(("offsets", self.offsets))
        for key, values in fields:
            printer.print_string(f", {key} = [{', '.join(str(v) for v in _values(values))}]")

    def verify(self) -> None:
        where = f"schedule level {self.level.data!r}"
        if not self.level.data:
            raise VerifyException("a schedule level needs a level name")
        for key, array in (("tile", self.tile), ("order", self.order), ("buffers", self.buffers), ("offsets", self.offsets)):
            if array.elt_type != i64:
                raise VerifyException(f"{where}: '{key}' must be i64 values")
        tile, order, buffers = self.tile_sizes, self.loop_order, self.buffer_counts
        if any(t < 1 for t in tile):  # (a scalar op has no dims: an empty tile)
            raise VerifyException(f"{where}: tile extents must be >= 1, got {list(tile)}")
        if len(set(order)) != len(order) or any(not 0 <= d < len(tile) for d in order):
            raise VerifyException(f"{where}: order must list distinct dims of the {len(tile)}, got {list(order)}")
        if not buffers or any(b < 1 for b in buffers):
            raise VerifyException(f"{where}: buffer counts must be >= 1, got {list(buffers)}")
        offsets = self.buffer_offsets
        if offsets is not None and (len(offsets) != len(buffers) or any(o < 0 for o in offsets)):
            raise VerifyException(f"{where}: offsets must be one byte offset >= 0 per buffer count, got {list(offsets)}")


@irdl_attr_definition
class ScheduleAttr(ParametrizedAttribute):
    """An op's tiling schedule: `#tiler.schedule<[<"L2", ...>, <"L1", ...>]>`, one entry per
    level below home, down to the compute level (see the module docstring)."""

    name = "tiler.schedule"

    levels: ArrayAttr[LevelScheduleAttr]

    @staticmethod
    def get(levels: Sequence[LevelScheduleAttr]) -> ScheduleAttr:
        return ScheduleAttr(ArrayAttr(levels))

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():

            def level() -> LevelScheduleAttr:
                with parser.in_angle_brackets():
                    return LevelScheduleAttr.new(LevelScheduleAttr.parse_fields(parser))

            return (ArrayAttr(parser.parse_comma_separated_list(parser.Delimiter.SQUARE, level)),)

    def print_parameters(self, printer: Printer) -> None:
        def print_level(level: LevelScheduleAttr) -> None:
            with printer.in_angle_brackets():
                level.print_fields(printer)

        with printer.in_angle_brackets():
            with printer.in_square_brackets():
                printer.print_list(self.levels, print_level)

    def verify(self) -> None:
        names = [l.level.data for l in self.levels]
        if len(set(names)) != len(names):
            raise VerifyException(f"a schedule names a level twice: {names}")
        for level in self.levels:
            level.verify()


# -- between the two ----------------------------------------------------------------------------


def schedule_attr(desc: TilingDescription, tiling: OpTiling) -> ScheduleAttr:
    """The attribute of a schedule: tile extents instead of counts. Every count the
    tiler chooses is the fewest tiles of its largest extent, so it round-trips."""
    levels = []
    for level, extents in zip(tiling.levels, max_extents(desc, tiling)):
        levels.append(LevelScheduleAttr.get(level.level, extents, level.order, level.slots, level.offsets))
    return ScheduleAttr.get(levels)


def op_tiling(desc: TilingDescription, attr: ScheduleAttr) -> OpTiling:
    """The schedule an attribute describes; ScheduleError when it does not fit the op."""
    levels = []
    parent = [d.size for d in desc.dims]
    for level in attr.levels:
        where = f"level {level.level.data}"
        tile = level.tile_sizes
        _require(len(tile) == len(desc.dims), f"{where}: {len(tile)} tile extents for the op's {len(desc.dims)} iteration dims ({', '.join(d.name for d in desc.dims)})")
        counts = tuple(-(-p // t) for p, t in zip(parent, tile))
        for d, (dim, p, t) in enumerate(zip(desc.dims, parent, tile)):
            _require(t <= p, f"{where}: tile extent {t} of dim {dim.name} is larger than its enclosing {p}")
        levels.append(LevelTiling(level.level.data, counts, level.loop_order, level.buffer_counts, level.buffer_offsets))
        parent = [-(-p // c) for p, c in zip(parent, counts)]
    tiling = OpTiling(tuple(levels))
    check_tiling(desc, tiling)
    return tiling


def canonical(desc: TilingDescription, tiling: OpTiling) -> OpTiling:
    """The same schedule with each count the fewest tiles that keep its largest extent
    (10 in 6 tiles has extent 2, as 10 in 5 tiles has): the form the attribute records."""
    levels, parent = [], [d.size for d in desc.dims]
    for level in tiling.levels:
        extents = [-(-p // c) for p, c in zip(parent, level.counts)]
        counts = tuple(-(-p // e) for p, e in zip(parent, extents))
        order = tuple(d for d in level.order if counts[d] > 1)
        levels.append(LevelTiling(level.level, counts, order, level.slots, level.offsets))
        parent = extents
    return OpTiling(tuple(levels))
