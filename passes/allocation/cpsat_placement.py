"""Placement with CP-SAT: every block an interval of addresses, no two blocks that are
live together overlapping (NoOverlap2D over time x address), minimising the peak.

Used by the TetrisCo-Opt strategy. Blocks may come with fixed offsets (placements the
tiling model already decided together with the tile sizes). The search starts from a
hint (a greedy placement), so it always has a solution to improve; it runs
single-threaded with a fixed seed and a deterministic time budget, so results repeat.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
from ortools.sat.python import cp_model

from tiler_passes.allocation.blocks import AllocationError, Block, lower_bound, peak


def greedy_hint(blocks: Sequence[Block], fixed: Mapping[int, int], deadline: float | None = None) -> list[int] | None:
    """Largest-first best fit around the fixed blocks: each block at the lowest top (or 0)
    of the placed blocks it overlaps in time where it collides with none of them. None
    when the deadline passes first (the hint is optional) or the sizes are beyond int64.

    Vectorised per block: with the overlapping placed intervals sorted by offset and the
    running maximum of their ends, a candidate c collides iff the intervals starting below
    c + size reach above c, one searchsorted for all candidates at once."""
    n = len(blocks)
    if sum(b.size + b.alignment for b in blocks) + max(fixed.values(), default=0) >= 1 << 62:
        return None
    lower = np.array([b.lower for b in blocks], dtype=np.int64)
    upper = np.array([b.upper for b in blocks], dtype=np.int64)
    size = np.array([b.size for b in blocks], dtype=np.int64)
    offsets = np.zeros(n, dtype=np.int64)
    placed = np.zeros(n, dtype=bool)
    for i, o in fixed.items():
        offsets[i], placed[i] = o, True
    order = sorted((i for i in range(n) if i not in fixed), key=lambda i: (-blocks[i].size, i))
    for k, i in enumerate(order):
        if deadline is not None and not k & 63 and time.monotonic() > deadline:
            return None
        b = blocks[i]
        near = placed & (lower < b.upper) & (upper > b.lower)
        starts, ends = offsets[near], offsets[near] + size[near]
        by_start = np.argsort(starts, kind="stable")
        starts, reach = starts[by_start], np.maximum.accumulate(ends[by_start]) if len(ends) else ends
        candidates = np.unique(np.append(ends, 0))
        aligned = -(-candidates // b.alignment) * b.alignment
        below = np.searchsorted(starts, aligned + b.size, side="left")
        free = (below == 0) | (reach[np.maximum(below - 1, 0)] <= aligned) if len(starts) else np.ones(len(aligned), bool)
        if b.size == 0:
            free[:] = True
        offsets[i] = aligned[int(np.argmax(free))]  # the highest end is always free
        placed[i] = True
    return offsets.tolist()


def cpsat_placement(
    blocks: Sequence[Block],
    capacity: int,
    fixed: Mapping[int, int] | None = None,
    seed: int = 0,
    time_limit: float = 10.0,
    wall_limit: float | None = None,
) -> list[int]:
    """`time_limit` is CP-SAT's deterministic time (reproducible placements);
    `wall_limit`, when given, also caps the wall-clock seconds (benchmarks) of the whole
    call: the hint stops when it is spent, and the solver gets what remains."""
    began = time.monotonic()
    fixed = dict(fixed or {})
    if not blocks:
        return []
    least = lower_bound(blocks)
    if least > capacity:
        raise AllocationError(f"TetrisCo-Opt: infeasible: {least} bytes are live at once, more than the capacity {capacity}")
    m = cp_model.CpModel()
    peak_var = m.NewIntVar(least, capacity, "peak")
    starts, x_intervals, y_intervals = [], [], []
    for i, b in enumerate(blocks):
        if i in fixed:
            start = m.NewConstant(fixed[i])
        else:
            q = m.NewIntVar(0, max(0, (capacity - b.size) // b.alignment), f"q{i}")
            start = q * b.alignment
        s = m.NewIntVar(0, capacity, f"s{i}")
        m.Add(s == start)
        m.Add(s + b.size <= peak_var)
        starts.append(s)
        x_intervals.append(m.NewFixedSizeIntervalVar(b.lower, b.upper - b.lower, f"t{i}"))
        y_intervals.append(m.NewFixedSizeIntervalVar(s, b.size, f"a{i}"))
    live = [i for i, b in enumerate(blocks) if b.size > 0]
    m.AddNoOverlap2D([x_intervals[i] for i in live], [y_intervals[i] for i in live])
    m.Minimize(peak_var)
    hint = greedy_hint(blocks, fixed, None if wall_limit is None else began + wall_limit / 2)
    if hint is not None and peak(blocks, hint) <= capacity:
        for s, o in zip(starts, hint):
            m.AddHint(s, o)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_deterministic_time = time_limit
    if wall_limit is not None:
        solver.parameters.max_time_in_seconds = max(wall_limit - (time.monotonic() - began), 0.01)
    status = solver.Solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if status == cp_model.INFEASIBLE:
            raise AllocationError(f"TetrisCo-Opt: no placement fits the capacity {capacity} (proved by CP-SAT)")
        budget = f"{wall_limit} s" if wall_limit is not None else f"{time_limit} deterministic s"
        raise AllocationError(f"TetrisCo-Opt: CP-SAT found no placement within its time budget ({budget})")
    return [int(solver.Value(s)) for s in starts]
