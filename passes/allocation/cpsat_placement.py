"""Placement with CP-SAT: every block an interval of addresses, no two blocks that are
live together overlapping (NoOverlap2D over time x address), minimising the peak.

Used by the TetrisCo-Opt strategy. Blocks may come with fixed offsets (placements the
tiling model already decided together with the tile sizes). The search starts from a
hint (a greedy placement), so it always has a solution to improve; it runs
single-threaded with a fixed seed and a deterministic time budget, so results repeat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ortools.sat.python import cp_model

from tiler_passes.allocation.blocks import AllocationError, Block, lower_bound, peak
from tiler_passes.allocation.tetris import drop


def greedy_hint(blocks: Sequence[Block], fixed: Mapping[int, int]) -> list[int] | None:
    """Largest-first drop around the fixed blocks; None if it collides with them."""
    order = sorted((i for i in range(len(blocks)) if i not in fixed), key=lambda i: (-blocks[i].size, i))
    offsets = [0] * len(blocks)
    for i, o in fixed.items():
        offsets[i] = o
    placed = list(fixed)
    for i in order:
        b = blocks[i]
        candidates = sorted({0, *(offsets[j] + blocks[j].size for j in placed)})
        for c in candidates:
            c = -(-c // b.alignment) * b.alignment
            if all(
                not blocks[j].overlaps_in_time(b) or c + b.size <= offsets[j] or offsets[j] + blocks[j].size <= c
                for j in placed
            ):
                offsets[i] = c
                break
        placed.append(i)
    return offsets


def cpsat_placement(
    blocks: Sequence[Block],
    capacity: int,
    fixed: Mapping[int, int] | None = None,
    seed: int = 0,
    time_limit: float = 10.0,
    wall_limit: float | None = None,
) -> list[int]:
    """`time_limit` is CP-SAT's deterministic time (reproducible placements);
    `wall_limit`, when given, also caps the wall-clock seconds (benchmarks)."""
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
    hint = greedy_hint(blocks, fixed)
    if hint is not None and peak(blocks, hint) <= capacity:
        for s, o in zip(starts, hint):
            m.AddHint(s, o)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_deterministic_time = time_limit
    if wall_limit is not None:
        solver.parameters.max_time_in_seconds = wall_limit
    status = solver.Solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if status == cp_model.INFEASIBLE:
            raise AllocationError(f"TetrisCo-Opt: no placement fits the capacity {capacity} (proved by CP-SAT)")
        budget = f"{wall_limit} s" if wall_limit is not None else f"{time_limit} deterministic s"
        raise AllocationError(f"TetrisCo-Opt: CP-SAT found no placement within its time budget ({budget})")
    return [int(solver.Value(s)) for s in starts]
