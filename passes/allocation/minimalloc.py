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
_BIG = np.iinfo(np.int64).max // 4


class Infeasible(AllocationError):
    """The search proved that no placement fits the capacity."""


class OutOfTime(AllocationError):
    """The search ran out of time before finding a placement or proving there is none."""


class OutOfBudget(OutOfTime):
    """The search used its node budget before finding a placement or proving there is none."""


@dataclass
class _Sweep:
    """Cross sections of the timeline and, per block, the range of sections it spans."""

    sec_lo: list[int]
    sec_hi: list[int]
    sections: list[list[int]]
    overlaps: list[np.ndarray]
    partitions: list[tuple[list[int], int, int]]  # (blocks, first section, end section)


def _sweep(lowers: Sequence[int], uppers: Sequence[int], ids: Sequence[int]) -> _Sweep:
    # right endpoints before left ones at the same time: lifetimes are half-open
    events = sorted([(lowers[i], 1, i) for i in ids] + [(uppers[i], 0, i) for i in ids])
    n = len(lowers)
    sec_lo, sec_hi = [0] * n, [0] * n
    sections: list[list[int]] = []
    overlaps: list[list[int]] = [[] for _ in range(n)]
    partitions: list[tuple[list[int], int, int]] = []
    actives: dict[int, None] = {}  # insertion-ordered set: deterministic
    last_time: int | None = None
    part_start = 0
    part_blocks: list[int] = []
    for t, kind, i in events:
        if last_time is None:
            last_time = t
        if kind == 0:  # right endpoint
            if last_time < t:
                last_time = t
                sections.append(list(actives))
            del actives[i]
            sec_hi[i] = len(sections)
            if not actives:
                partitions.append((part_blocks, part_start, len(sections)))
                part_blocks, part_start = [], len(sections)
        else:
            part_blocks.append(i)
            for a in actives:
                overlaps[a].append(i)
                overlaps[i].append(a)
            actives[i] = None
            sec_lo[i] = len(sections)
    return _Sweep(sec_lo, sec_hi, sections, [np.array(sorted(o), dtype=np.int64) for o in overlaps], partitions)


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
        self.flat = np.array([i for s in sections for i in s], dtype=np.int64)
        starts = [0]
        for s in sections:
            starts.append(starts[-1] + len(s))
        self.starts = np.array(starts, dtype=np.int64)
        # a block's minimum offset while unplaced; the capacity once placed, so that masked
        # minima over a section need no separate mask (and an all-placed section passes)
        self.min_off = np.zeros(n, dtype=np.int64)
        self.placed = np.zeros(n, dtype=bool)
        self.offsets = [0] * n
        self.solution = [0] * n
        self.floor = np.zeros(len(sections), dtype=np.int64)
        self.total = np.array([int(self.size[s].sum()) for s in sections] or [0], dtype=np.int64)[: len(sections)]
        # cuts[s]: unplaced blocks spanning sections s and s + 1
        cuts = np.zeros(max(len(sections) - 1, 0), dtype=np.int64)
        for i in ids:
            cuts[self.sw.sec_lo[i] : self.sw.sec_hi[i] - 1] += 1
        self.cuts = cuts
        # per block, the sections its placement can affect (its own and those of the blocks
        # it overlaps) and their members, as slices ready for one reduceat
        self.window: list[tuple[int, int, np.ndarray, np.ndarray]] = [(0, 0, self.flat[:0], self.flat[:0])] * n
        for i in ids:
            ov = self.sw.overlaps[i]
            lo = min(self.sw.sec_lo[i], int(self.sec_lo[ov].min()) if len(ov) else self.sw.sec_lo[i])
            hi = max(self.sw.sec_hi[i], int(self.sec_hi[ov].max()) if len(ov) else self.sw.sec_hi[i])
            a = self.starts[lo]
            self.window[i] = (lo, hi, self.flat[a : self.starts[hi]], self.starts[lo:hi] - a)
        self.nodes_remaining = 0
        self.nodes = 0
        self.backtracks = 0

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
                    status = self._sub_solve(blocks, lo, hi, heuristic)
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

    def _preorder(self, blocks: list[int], heuristic: str) -> list[int]:
        total = self.total

        def key(i: int):
            lo, hi = self.sw.sec_lo[i], self.sw.sec_hi[i]
            values = {
                "W": self.upper[i] - self.lower[i],
                "A": (self.upper[i] - self.lower[i]) * self.size_l[i],
                "T": int(total[lo:hi].max()),
            }
            return tuple(-values[c] for c in heuristic) + (i,)

        return sorted(blocks, key=key)

    def _sub_solve(self, blocks: list[int], lo: int, hi: int, heuristic: str) -> int:
        order = self._preorder(blocks, heuristic)
        ranks = np.zeros(len(self.size_l), dtype=np.int64)
        ranks[order] = np.arange(len(order))
        return self._search(np.array(order, dtype=np.int64), ranks, len(order) + 1, lo, hi, 0, -1, heuristic)

    def _search(
        self, pending: np.ndarray, ranks: np.ndarray, width: int, lo: int, hi: int,
        min_offset: int, min_rank: int, heuristic: str,
    ) -> int:
        """Place the unplaced blocks of `pending` (a part spanning sections [lo, hi))."""
        if self.nodes_remaining <= 0:
            return _ABORTED
        self.nodes_remaining -= 1
        self.nodes += 1
        if self.max_nodes is not None and self.nodes > self.max_nodes:
            return _BUDGET
        if not self.nodes & 255 and time.monotonic() > self.deadline:
            return _TIMEOUT
        pending = pending[~self.placed[pending]]
        if not len(pending):
            return _FOUND
        offs = self.min_off[pending]
        order = np.argsort(offs * width + ranks[pending], kind="stable")
        pending, offs = pending[order], offs[order]
        min_height = int((offs + self.size[pending]).min())
        # every section's floor is at least the placement's offset (offsets only grow), so
        # a placement at `off` needs off + total <= capacity in every section: candidates
        # come in order of offset, so past this bound none fits
        last_offset = min(min_height, self.capacity - int(self.total[lo:hi].max()) + 1)
        candidate_ranks = ranks[pending].tolist()
        for b, off, r in zip(pending.tolist(), offs.tolist(), candidate_ranks):
            if off >= last_offset:
                break  # dominated (a fillable gap below) or over the capacity, and so is the rest
            if off < min_offset or (off == min_offset and r < min_rank):
                continue  # not canonical
            undo = self._place(b, off)
            status = _NOT_FOUND
            if self._check(b):
                status = self._decompose(b, pending, ranks, width, lo, hi, off, r, heuristic)
            self._unplace(b, off, undo)
            if status != _NOT_FOUND:
                return status
        self.backtracks += 1
        return _NOT_FOUND

    def _decompose(
        self, b: int, pending: np.ndarray, ranks: np.ndarray, width: int, lo: int, hi: int,
        off: int, r: int, heuristic: str,
    ) -> int:
        """Continue after placing `b`; when no unplaced block spans some section boundary
        any more, solve the parts on either side separately."""
        self.solution[b] = off
        blo, bhi = self.sw.sec_lo[b], self.sw.sec_hi[b]
        span = self.cuts[blo : bhi - 1]  # a view: updated in place, restored below
        span -= 1
        try:
            zeros = np.flatnonzero(span == 0)
            if not len(zeros):
                return self._search(pending, ranks, width, lo, hi, off, r, heuristic)
            cutpoints = [lo, *(zeros + blo + 1).tolist(), hi]
            remaining = [i for i in pending.tolist() if not self.placed[i]]
            for a, z in zip(cutpoints, cutpoints[1:]):
                part = [i for i in remaining if self.sw.sec_lo[i] < z and a < self.sw.sec_hi[i]]
                if part:
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
        ov = self.sw.overlaps[b]
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
        lo, hi, members, segments = self.window[b]
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
