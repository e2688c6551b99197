"""A tiling schedule: how one op is cut into tiles at each level on its path to compute.

At each level below home the current box (the whole iteration space at the first level,
the enclosing tile deeper down) is split along some dims into balanced tiles: a dim of
extent P in n tiles gets P % n tiles of size ceil(P/n) and the rest of size floor(P/n),
never 28 + 4 where 16 + 16 will do. The tiles are visited in one flat order, `order`
listing the split dims from outermost to innermost (reductions innermost, so partial sums
stay in the compute level). An operand is (re)loaded only when a dim it depends on
advances: with stride s (the number of tiles during which its region stays the same), at
tile t when t % s == 0. This is what keeps weights resident while spatial tiles sweep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tiler_dialect.tiling import IterKind, OperandAccess, TilingDescription, linear_form


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


def region_extent(access: OperandAccess, extents: Sequence[int], shape: Sequence[int]) -> list[int]:
    """Largest region an operand needs for a box of these extents, clipped to the operand."""
    out = []
    for expr, size in zip(access.map.results, shape):
        lf = linear_form(expr)
        length = 1 + sum(abs(c) * (extents[d] - 1) for d, c in lf.coeffs)
        out.append(min(length, size))
    return out


class ScheduleError(ValueError):
    """A schedule that breaks the structural rules; the message names the rule."""


def _require(condition: bool, message: str) -> None:
    if not condition:  # a real check: it must not vanish under `python -O` as assert would
        raise ScheduleError(message)


def check_tiling(desc: TilingDescription, tiling: OpTiling) -> None:
    """Structural rules every schedule obeys; ScheduleError names the first one broken."""
    last = len(tiling.levels) - 1
    for i, level in enumerate(tiling.levels):
        where = f"level {level.level}"
        _require(len(level.counts) == len(desc.dims), f"{where}: {len(level.counts)} tile counts for {len(desc.dims)} dims")
        split = sorted(d for d, c in enumerate(level.counts) if c > 1)
        _require(sorted(level.order) == split, f"{where}: the loop order {list(level.order)} must list exactly the split dims {split}")
        _require(
            len(level.slots) == len(desc.inputs) + 1 and all(s >= 1 for s in level.slots),
            f"{where}: one buffer count >= 1 per operand ({len(desc.inputs) + 1}), got {list(level.slots)}",
        )
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
