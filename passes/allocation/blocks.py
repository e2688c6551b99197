"""Static allocation problems: blocks with lifetimes and sizes, placed at offsets.

A block is live on the half-open interval [lower, upper) of schedule steps and needs
`size` bytes; a placement gives each block an offset. It is valid when every block lies
inside the capacity, every offset is a multiple of the block's alignment, and no two
blocks that are live at the same time overlap in [offset, offset + size). This is the
problem (and the CSV format, `id,lower,upper,size[,alignment]` plus an `offset` column in
solutions) of MiniMalloc.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from tiler_dialect.errors import TilerError


class AllocationError(TilerError):
    """No placement: infeasible, out of time, or malformed input. The message says which."""


LIMIT = 1 << 60
"""Bound on steps, sizes and capacities: the search works in 64-bit integers (numpy)."""


@dataclass(frozen=True)
class Block:
    id: str
    lower: int
    upper: int
    size: int
    alignment: int = 1

    def __post_init__(self) -> None:
        if self.upper <= self.lower:
            raise AllocationError(f"block {self.id}: empty lifetime [{self.lower}, {self.upper})")
        if self.size < 0:
            raise AllocationError(f"block {self.id}: negative size {self.size}")
        if self.alignment < 1:
            raise AllocationError(f"block {self.id}: alignment {self.alignment} is not positive")
        if max(abs(self.lower), abs(self.upper), self.size, self.alignment) >= LIMIT:
            raise AllocationError(f"block {self.id}: a value of 2**60 or more (the solver works in 64-bit integers)")

    def overlaps_in_time(self, other: Block) -> bool:
        return self.lower < other.upper and other.lower < self.upper


def lower_bound(blocks: Sequence[Block]) -> int:
    """The maximum over time of the live bytes: no placement can use less."""
    events: dict[int, int] = {}
    for b in blocks:
        events[b.lower] = events.get(b.lower, 0) + b.size
        events[b.upper] = events.get(b.upper, 0) - b.size
    peak = live = 0
    for t in sorted(events):
        live += events[t]
        peak = max(peak, live)
    return peak


def busiest_time(blocks: Sequence[Block]) -> tuple[int, list[int]]:
    """When the most bytes are live (the first such time), and the blocks live then."""
    events: dict[int, int] = {}
    for b in blocks:
        events[b.lower] = events.get(b.lower, 0) + b.size
        events[b.upper] = events.get(b.upper, 0) - b.size
    best_t, best_live, live = 0, -1, 0
    for t in sorted(events):
        live += events[t]
        if live > best_live:
            best_t, best_live = t, live
    return best_t, [i for i, b in enumerate(blocks) if b.lower <= best_t < b.upper]


def peak(blocks: Sequence[Block], offsets: Sequence[int]) -> int:
    """The highest end address a placement uses."""
    return max((o + b.size for b, o in zip(blocks, offsets)), default=0)


def check_placement(blocks: Sequence[Block], offsets: Sequence[int], capacity: int) -> None:
    """Raise AllocationError naming the first violation; independent of every solver.

    A sweep over time keeps the live blocks sorted by offset (they never overlap, so a new
    block can only collide with its two neighbours in that order): O(n log n), with
    list insertions that move pointers in C, rather than pairwise."""
    if len(offsets) != len(blocks):
        raise AllocationError(f"{len(offsets)} offsets for {len(blocks)} blocks")
    for b, o in zip(blocks, offsets):
        if o < 0 or o + b.size > capacity:
            raise AllocationError(f"block {b.id} at [{o}, {o + b.size}) is outside the capacity {capacity}")
        if o % b.alignment:
            raise AllocationError(f"block {b.id} at offset {o} is not {b.alignment}-byte aligned")
    # ends before starts at the same step: lifetimes are half-open
    events = sorted(
        [(b.lower, 1, i) for i, b in enumerate(blocks) if b.size] + [(b.upper, 0, i) for i, b in enumerate(blocks) if b.size]
    )
    live_offsets: list[int] = []  # sorted; distinct, as live blocks are disjoint and not empty
    live_ids: list[int] = []
    for _, starts, i in events:
        b, o = blocks[i], offsets[i]
        k = bisect.bisect_left(live_offsets, o)
        if not starts:
            del live_offsets[k], live_ids[k]
            continue
        for j in (live_ids[k - 1] if k else None, live_ids[k] if k < len(live_ids) else None):
            if j is None:
                continue
            oj, sj = offsets[j], blocks[j].size
            if o < oj + sj and oj < o + b.size:
                first, second = (j, i) if (blocks[j].lower, j) < (b.lower, i) else (i, j)
                bf, bs = blocks[first], blocks[second]
                of, os_ = offsets[first], offsets[second]
                raise AllocationError(
                    f"blocks {bf.id} [{of}, {of + bf.size}) and {bs.id} [{os_}, {os_ + bs.size}) overlap "
                    f"while both are live (steps [{max(bf.lower, bs.lower)}, {min(bf.upper, bs.upper)}))"
                )
        live_offsets.insert(k, o)
        live_ids.insert(k, i)


# -- MiniMalloc's CSV format ------------------------------------------------------------

_INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits only (int() would also take "1_000", "٣")


def read_csv(text: str, source: str = "input") -> list[Block]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise AllocationError(f"{source}: empty file; expected a header id,lower,upper,size") from None
    required = ["id", "lower", "upper", "size"]
    missing = [h for h in required if h not in header]
    if missing:
        raise AllocationError(f"{source}: the header lacks {', '.join(missing)} (it has {','.join(header)})")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise AllocationError(f"{source}: the header repeats {', '.join(repeated)}")
    col = {h: header.index(h) for h in header}
    blocks, seen = [], set()
    for line, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise AllocationError(f"{source}:{line}: {len(row)} fields, the header has {len(header)}")
        numbers = {h: row[col[h]].strip() for h in ("lower", "upper", "size", "alignment") if h in col}
        if not all(_INTEGER.fullmatch(v) for v in numbers.values()):
            raise AllocationError(f"{source}:{line}: lower, upper, size (and alignment) must be integers")
        if any(len(v.lstrip("-").lstrip("0")) > 19 for v in numbers.values()):
            # beyond LIMIT; int() of thousands of digits would fail, or take long
            raise AllocationError(
                f"{source}:{line}: block {row[col['id']].strip()[:60]}: a value of 2**60 or more "
                "(the solver works in 64-bit integers)"
            )
        values = {h: int(v) for h, v in numbers.items()}
        alignment = values.get("alignment", 1)
        ident = row[col["id"]].strip()
        if ident in seen:
            raise AllocationError(f"{source}:{line}: duplicate id {ident}")
        seen.add(ident)
        try:
            blocks.append(Block(ident, values["lower"], values["upper"], values["size"], alignment))
        except AllocationError as e:
            raise AllocationError(f"{source}:{line}: {e}") from None
    return blocks


def write_csv(blocks: Sequence[Block], offsets: Sequence[int]) -> str:
    """MiniMalloc's CSV with an offset column; ids with commas, quotes or line breaks are
    quoted (RFC 4180), so `read_csv` reads back exactly what was written."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    aligned = any(b.alignment != 1 for b in blocks)
    writer.writerow(["id", "lower", "upper", "size", *(["alignment"] if aligned else []), "offset"])
    for b, o in zip(blocks, offsets):
        writer.writerow([b.id, b.lower, b.upper, b.size, *([b.alignment] if aligned else []), o])
    return out.getvalue()
