"""A native implementation of MiniMalloc (Moffitt, ASPLOS 2023).

The search places blocks one at a time, each at its *minimum offset*: the highest end of
the already placed blocks it overlaps in time (aligned). Every solution can be rearranged
into such a canonical one, so this loses nothing, and the search enforces the canonical
order: offsets never decrease along a branch (ties broken by a static preorder index).
On top of that, as in the paper:

- **Sections.** A sweep over time cuts the lifetimes into cross sections (sets of blocks
  live together). Each section keeps a floor (no unplaced block of it can go lower: the
  top of its placed blocks, the smallest minimum offset of its unplaced ones, and the
  offset of the last placement, since offsets only grow) and the total size of its
  unplaced blocks. *Section inference* prunes a branch as soon as some section's floor
  plus total exceeds the capacity.
- **Dynamic ordering.** At each node the candidates are the unplaced blocks in order of
  minimum offset, then preorder.
- **Dominance.** A block whose minimum offset is at or above the lowest top any unplaced
  block could reach would leave a gap that block could fill: skipped.
- **Decomposition.** Independent parts of the timeline (no block spans the boundary,
  initially or once the spanning blocks are placed) are solved separately.
- **Restarts.** Several static preorders ("WAT", "TAW", "TWA": lifetime width, area,
  section total) take turns under a node budget that doubles each round.

The search is complete: when every preorder finishes without a solution, the instance
is infeasible. The per-node work is vectorised with numpy over the sections and the
overlaps of the block being placed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tiler_passes.allocation.blocks import AllocationError, Block

PREORDERINGS = ("WAT", "TAW", "TWA")

_FOUND, _NOT_FOUND, _ABORTED, _TIMEOUT, _BUDGET = range(5)

PROBE_NODES = 20_000
"""The node budget of each narrowing probe of `minimalloc_lowest_peak` (a second or two): a
count, not a time, so the peak it reaches does not depend on the machine's speed."""
_KEY_LIMIT = 1 << 62
CANDIDATE_CHUNK = 32
"""Candidates a search node takes at a time (more only if all of these fail)."""

MAX_KEPT_OVERLAPS = 4_000_000
"""Above this many overlapping pairs (32 MB of indices), each block's overlaps are
computed when it is placed instead of kept."""


class Infeasible(AllocationError):
    """The search proved that no placement fits the capacity."""


class OutOfTime(AllocationError):
    """The search ran out of time before finding a placement or proving there is none."""


class OutOfBudget(OutOfTime):
    """The search used its node budget before finding a placement or proving there is none."""


@dataclass
class _Sweep:
    """Cross sections of the timeline and, per block, the range of sections it spans:
    block i is a member of sections sec_lo[i] .. sec_hi[i] - 1. Two blocks overlap in time
    exactly when they share a section."""

    sec_lo: list[int]
    sec_hi: list[int]
    sections: int
    flat: np.ndarray
    """The members of every section, section after section (each in order of start)."""
    starts: np.ndarray
    """Section s's members are flat[starts[s] : starts[s + 1]]."""
    partitions: list[tuple[list[int], int, int]]  # (blocks, first section, end section)


def _sweep(lowers: Sequence[int], uppers: Sequence[int], ids: Sequence[int]) -> _Sweep:
    """A section closes at each step where some block ends (its members: the blocks live
    just before). One pass over the sorted endpoints; the members are laid out with numpy,
    so nothing here is quadratic in Python (the members themselves can be: a block is a
    member of every section it spans)."""
    # right endpoints before left ones at the same time: lifetimes are half-open
    events = sorted([(lowers[i], 1, i) for i in ids] + [(uppers[i], 0, i) for i in ids])
    n = len(lowers)
    sec_lo, sec_hi = [0] * n, [0] * n
    sections = 0
    partitions: list[tuple[list[int], int, int]] = []
    active = 0
    last_time: int | None = None
    part_start = 0
    part_blocks: list[int] = []
    for t, kind, i in events:
        if last_time is None:
            last_time = t
        if kind == 0:  # right endpoint
            if last_time < t:
                last_time = t
                sections += 1
            active -= 1
            sec_hi[i] = sections
            if not active:
                partitions.append((part_blocks, part_start, sections))
                part_blocks, part_start = [], sections
        else:
            part_blocks.append(i)
            active += 1
            sec_lo[i] = sections
    member = np.array(list(ids), dtype=np.int64)
    lo = np.array([sec_lo[i] for i in ids], dtype=np.int64)
    span = np.array([sec_hi[i] - sec_lo[i] for i in ids], dtype=np.int64)
    owner = np.repeat(member, span)
    # each entry's section: its block's first section plus the entry's index within the block
    first_entry = np.repeat(np.cumsum(span) - span, span)
    section = np.repeat(lo, span) + (np.arange(len(owner), dtype=np.int64) - first_entry)
    # within a section, members in order of start (lower, then index), as the sweep meets them
    start_order = np.empty(n, dtype=np.int64)
    start_order[np.argsort(np.array(lowers, dtype=np.int64), kind="stable")] = np.arange(n, dtype=np.int64)
    flat = owner[np.lexsort((start_order[owner], section))]
    starts = np.zeros(sections + 1, dtype=np.int64)
    starts[1:] = np.cumsum(np.bincount(section, minlength=sections))[:sections]
    return _Sweep(sec_lo, sec_hi, sections, flat, starts, partitions)


class _Search:
    def __init__(self, blocks: Sequence[Block], capacity: int, deadline: float, max_nodes: int | None = None):
        self.capacity = capacity
        self.deadline = deadline
        self.max_nodes = max_nodes
        n = len(blocks)
        self.size = np.array([b.size for b in blocks], dtype=np.int64)
        self.size_l = [b.size for b in blocks]
        self.align = np.array([b.alignment for b in blocks], dtype=np.int64)
        self.aligned = bool((self.align == 1).all())
        self.lower = [b.lower for b in blocks]
        self.upper = [b.upper for b in blocks]
        ids = [i for i, b in enumerate(blocks) if b.size > 0]  # empty blocks go anywhere
        self.sw = _sweep(self.lower, self.upper, ids)
        self.sec_lo = np.array(self.sw.sec_lo, dtype=np.int64)
        self.sec_hi = np.array(self.sw.sec_hi, dtype=np.int64)
        sections = self.sw.sections
        self.flat, self.starts = self.sw.flat, self.sw.starts
        # a block's minimum offset while unplaced; the capacity once placed, so that masked
        # minima over a section need no separate mask (and an all-placed section passes)
        self.min_off = np.zeros(n, dtype=np.int64)
        self.placed = np.zeros(n, dtype=bool)
        self.offsets = [0] * n
        self.solution = [0] * n
        self.floor = np.zeros(sections, dtype=np.int64)
        self.total = np.add.reduceat(self.size[self.flat], self.starts[:-1]) if sections else np.zeros(0, dtype=np.int64)
        # cuts[s]: unplaced blocks spanning sections s and s + 1 (a difference array)
        steps = np.zeros(sections + 1, dtype=np.int64)
        np.add.at(steps, self.sec_lo[ids], 1)
        np.add.at(steps, self.sec_hi[ids] - 1, -1)
        self.cuts = np.cumsum(steps)[: max(sections - 1, 0)]
        # per block, the blocks it overlaps in time and the sections its placement can
        # affect (its own and those of the blocks it overlaps) with their members, as
        # slices ready for one reduceat. Kept for every block when the pairs are few;
        # computed at each placement instead when they are many (n blocks all live at
        # once have n**2 pairs), which costs O(n) numpy work per placement, no memory
        self.nonempty = np.array(ids, dtype=np.int64)
        self.lower_a = np.array(self.lower, dtype=np.int64)[self.nonempty]
        self.upper_a = np.array(self.upper, dtype=np.int64)[self.nonempty]
        pairs = self._overlap_pairs()
        self._overlaps: list[np.ndarray] | None = None
        self._windows: list[tuple[int, int, np.ndarray, np.ndarray]] | None = None
        if pairs <= MAX_KEPT_OVERLAPS:
            empty = self.flat[:0]
            self._overlaps = [empty] * n
            self._windows = [(0, 0, empty, empty)] * n
            for i in ids:
                self._overlaps[i] = self._compute_overlaps(i)
                self._windows[i] = self._compute_window(i, self._overlaps[i])
        self._width = np.array(self.upper, dtype=np.int64) - np.array(self.lower, dtype=np.int64)
        self._area_fits = bool(
            n == 0 or int(self._width.max()) * int(self.size.max()) < (1 << 62)
        )
        self.nodes_remaining = 0
        self.nodes = 0
        self.backtracks = 0

    def _overlap_pairs(self) -> int:
        """How many (block, other block) pairs overlap in time, counted by sorting."""
        if not len(self.nonempty):
            return 0
        lowers, uppers = np.sort(self.lower_a), np.sort(self.upper_a)
        started_before_end = np.searchsorted(lowers, self.upper_a, side="left")
        ended_before_start = np.searchsorted(uppers, self.lower_a, side="right")
        return int((started_before_end - ended_before_start - 1).sum())

    def _compute_overlaps(self, i: int) -> np.ndarray:
        live = (self.lower_a < self.upper[i]) & (self.upper_a > self.lower[i])
        ov = self.nonempty[live]
        return ov[ov != i]

    def _compute_window(self, i: int, ov: np.ndarray) -> tuple[int, int, np.ndarray, np.ndarray]:
        lo = min(self.sw.sec_lo[i], int(self.sec_lo[ov].min()) if len(ov) else self.sw.sec_lo[i])
        hi = max(self.sw.sec_hi[i], int(self.sec_hi[ov].max()) if len(ov) else self.sw.sec_hi[i])
        a = self.starts[lo]
        return lo, hi, self.flat[a : self.starts[hi]], self.starts[lo:hi] - a

    def overlaps(self, i: int) -> np.ndarray:
        return self._overlaps[i] if self._overlaps is not None else self._compute_overlaps(i)

    def window(self, i: int) -> tuple[int, int, np.ndarray, np.ndarray]:
        if self._windows is not None:
            return self._windows[i]
        return self._compute_window(i, self._compute_overlaps(i))

    # -- the search ----------------------------------------------------------------

    def solve(self, heuristics: Sequence[str]) -> list[int]:
        what = f"{len(self.size_l)} buffers in {self.capacity} bytes"
        if any(s > self.capacity for s in self.size_l):
            raise Infeasible(f"infeasible: a buffer of {max(self.size_l)} bytes is larger than the capacity {self.capacity}")
        node_limit = max(len(self.size_l), 1)
        while True:
            node_limit *= 2
            for heuristic in heuristics:
                self.nodes_remaining = node_limit
                status = _FOUND
                for blocks, lo, hi in self.sw.partitions:
                    status = self._sub_solve(np.array(blocks, dtype=np.int64), lo, hi, heuristic)
                    if status != _FOUND:
                        break
                if status == _FOUND:
                    return self.solution
                if status == _NOT_FOUND:
                    raise Infeasible(f"infeasible: no placement of the {what} exists (the search was exhausted)")
                if status == _TIMEOUT:
                    raise OutOfTime(f"out of time: no placement of the {what} found within the time limit")
                if status == _BUDGET:
                    raise OutOfBudget(f"out of budget: no placement of the {what} found within {self.max_nodes} nodes")

    def _sub_solve(self, part: np.ndarray, lo: int, hi: int, heuristic: str) -> int:
        """Solve one part (sections [lo, hi)) with its blocks in the preorder `heuristic`
        at this point of the search (section totals shrink as blocks are placed). A block's
        rank is its position in that order."""
        return self._search(part[self._preorder(part, heuristic)], lo, hi, 0, -1, heuristic)

    def _preorder(self, part: np.ndarray, heuristic: str) -> np.ndarray:
        """Positions of `part`'s blocks sorted largest first by lifetime Width, Area and
        section Total (the max over the block's sections of the unplaced bytes), in the
        letters' order, then by index; vectorised, as parts are re-ordered often (a chain
        of lifetimes decomposes after every placement)."""
        width = self._width[part]
        # one reduceat over [lo0, hi0, lo1, hi1, ...]: the even results are the block maxima
        bounds = np.empty(2 * len(part), dtype=np.int64)
        bounds[0::2], bounds[1::2] = self.sec_lo[part], self.sec_hi[part]
        totals = np.maximum.reduceat(np.append(self.total, 0), bounds)[0::2]
        if self._area_fits:
            area = width * self.size[part]
        else:  # areas beyond int64: exact Python integers, ranked
            exact = [w * s for w, s in zip(width.tolist(), self.size[part].tolist())]
            area = np.empty(len(part), dtype=np.int64)
            area[sorted(range(len(part)), key=exact.__getitem__)] = np.arange(len(part))
        values = {"W": width, "A": area, "T": totals}
        return np.lexsort([part] + [-values[c] for c in reversed(heuristic)])

    def _search(self, order: np.ndarray, lo: int, hi: int, min_offset: int, min_rank: int, heuristic: str) -> int:
        """Place the unplaced blocks of `order` (a part spanning sections [lo, hi), in the
        part's preorder: a block's rank is its position)."""
        if self.nodes_remaining <= 0:
            return _ABORTED
        self.nodes_remaining -= 1
        self.nodes += 1
        if self.max_nodes is not None and self.nodes > self.max_nodes:
            return _BUDGET
        if not self.nodes & 255 and time.monotonic() > self.deadline:
            return _TIMEOUT
        ranks = np.flatnonzero(~self.placed[order])
        if not len(ranks):
            return _FOUND
        live = order[ranks]
        min_height = int((self.min_off[live] + self.size[live]).min())
        # every section's floor is at least the placement's offset (offsets only grow), so
        # a placement at `off` needs off + total <= capacity in every section: candidates
        # come in order of offset, so past this bound none fits (and below min_height a
        # block at or above it would leave a gap another could fill: dominated)
        last_offset = min(min_height, self.capacity - int(self.total[lo:hi].max()) + 1)
        after = (-1, -1)
        while True:
            # candidates in order of (offset, rank), a few at a time: a frame keeps only
            # these, so the depth-n recursion holds O(n) memory per part, not O(n**2)
            chunk = self._candidates(live, ranks, len(order) + 1, last_offset, after)
            del live, ranks
            for b, off, r in chunk:
                if off < min_offset or (off == min_offset and r < min_rank):
                    continue  # not canonical
                undo = self._place(b, off)
                status = _NOT_FOUND
                if self._check(b):
                    status = self._decompose(b, order, lo, hi, off, r, heuristic)
                self._unplace(b, off, undo)
                if status != _NOT_FOUND:
                    return status
            if len(chunk) < CANDIDATE_CHUNK:
                break  # that was the last of them
            after = (chunk[-1][1], chunk[-1][2])
            ranks = np.flatnonzero(~self.placed[order])  # as on entry: every placement was undone
            live = order[ranks]
        self.backtracks += 1
        return _NOT_FOUND

    def _candidates(
        self, live: np.ndarray, ranks: np.ndarray, width: int, last_offset: int, after: tuple[int, int]
    ) -> list[tuple[int, int, int]]:
        """The next CANDIDATE_CHUNK unplaced blocks (block, offset, rank) in order of
        (minimum offset, rank) after `after`, with offsets below `last_offset`. Ranks are
        distinct, so the order is strict and the chunks well defined."""
        offs = self.min_off[live]
        if self.capacity < _KEY_LIMIT // width:  # one int64 key per block
            key = offs * width + ranks
            keep = offs < last_offset
            if after[0] >= 0:
                keep &= key > after[0] * width + after[1]
            live, key = live[keep], key[keep]
            if len(live) > CANDIDATE_CHUNK:
                first = np.argpartition(key, CANDIDATE_CHUNK)[:CANDIDATE_CHUNK]
                first = first[np.argsort(key[first])]
            else:
                first = np.argsort(key)
            chosen = key[first]
            return list(zip(live[first].tolist(), (chosen // width).tolist(), (chosen % width).tolist()))
        keep = (offs < last_offset) & ((offs > after[0]) | ((offs == after[0]) & (ranks > after[1])))
        live, offs, ranks = live[keep], offs[keep], ranks[keep]
        first = np.lexsort((ranks, offs))[:CANDIDATE_CHUNK]
        return list(zip(live[first].tolist(), offs[first].tolist(), ranks[first].tolist()))

    def _decompose(self, b: int, order: np.ndarray, lo: int, hi: int, off: int, r: int, heuristic: str) -> int:
        """Continue after placing `b`; when no unplaced block spans some section boundary
        any more, solve the parts on either side separately."""
        self.solution[b] = off
        blo, bhi = self.sw.sec_lo[b], self.sw.sec_hi[b]
        span = self.cuts[blo : bhi - 1]  # a view: updated in place, restored below
        span -= 1
        try:
            zeros = np.flatnonzero(span == 0)
            if not len(zeros):
                return self._search(order, lo, hi, off, r, heuristic)
            cutpoints = [lo, *(zeros + blo + 1).tolist(), hi]
            remaining = order[~self.placed[order]]
            first, end = self.sec_lo[remaining], self.sec_hi[remaining]
            for a, z in zip(cutpoints, cutpoints[1:]):
                part = remaining[(first < z) & (a < end)]
                if len(part):
                    status = self._sub_solve(part, a, z, heuristic)
                    if status != _FOUND:
                        return status
            return _FOUND
        finally:
            span += 1

    def _place(self, b: int, off: int):
        self.placed[b] = True
        self.min_off[b] = self.capacity
        height = off + self.size_l[b]
        ov = self.overlaps(b)
        raised = ov[self.min_off[ov] < height]  # placed blocks hold the capacity >= height
        before = self.min_off[raised]
        if self.aligned:
            self.min_off[raised] = height
        else:
            a = self.align[raised]
            self.min_off[raised] = (height + a - 1) // a * a
        lo, hi = self.sw.sec_lo[b], self.sw.sec_hi[b]
        floor = self.floor[lo:hi].copy()
        self.floor[lo:hi] = height
        self.total[lo:hi] -= self.size_l[b]
        return raised, before, floor

    def _unplace(self, b: int, off: int, undo) -> None:
        raised, before, floor = undo
        lo, hi = self.sw.sec_lo[b], self.sw.sec_hi[b]
        self.floor[lo:hi] = floor
        self.total[lo:hi] += self.size_l[b]
        self.min_off[raised] = before
        self.min_off[b] = off
        self.placed[b] = False

    def _check(self, b: int) -> bool:
        """Section inference where placing `b` may have changed something: the sections of
        `b` and of the blocks it overlaps (elsewhere floors and totals are unchanged, and
        the offset bound, off + total <= capacity everywhere, held before placing).
        A section's floor is the top of its placed blocks or the lowest minimum offset of
        its unplaced ones; its unplaced blocks all overlap, so they stack above it."""
        lo, hi, members, segments = self.window(b)
        lowest = np.minimum.reduceat(self.min_off[members], segments)
        return int((np.maximum(self.floor[lo:hi], lowest) + self.total[lo:hi]).max()) <= self.capacity


def minimalloc(
    blocks: Sequence[Block],
    capacity: int,
    timeout: float = 60.0,
    heuristics: Sequence[str] = PREORDERINGS,
    max_nodes: int | None = None,
) -> list[int]:
    """Offsets for `blocks` within `capacity`; raises Infeasible, or OutOfTime (OutOfBudget
    when `max_nodes` search nodes did not settle it)."""
    if not blocks:
        return []
    search = _Search(blocks, capacity, time.monotonic() + timeout, max_nodes)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(blocks) + 1000))
    try:
        offsets = search.solve(heuristics)
    finally:
        sys.setrecursionlimit(limit)
    return [int(o) if b.size > 0 else 0 for o, b in zip(offsets, blocks)]


def minimalloc_lowest_peak(blocks: Sequence[Block], capacity: int, timeout: float = 60.0) -> list[int]:
    """A placement within `capacity` whose peak is as low as the search finds: the lowest
    capacity that admits a placement, by bisection between the lower bound (the most bytes
    live at once) and the best peak found. The first solve must succeed (else Infeasible /
    OutOfTime). Each later probe has a node budget (PROBE_NODES), so the result is the
    same on any machine; a probe that exhausts it counts as a miss (as if infeasible) and
    the bisection goes on above it. `timeout` still bounds the whole call."""
    from tiler_passes.allocation.blocks import lower_bound, peak

    deadline = time.monotonic() + timeout
    best = minimalloc(blocks, capacity, timeout)
    low, high = lower_bound(blocks), peak(blocks, best)  # a placement fits at `high`
    while low < high:
        probe = (low + high) // 2
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            best = minimalloc(blocks, probe, remaining, max_nodes=PROBE_NODES)
            high = peak(blocks, best)
        except (Infeasible, OutOfBudget):
            low = probe + 1
        except OutOfTime:
            break
    return best
