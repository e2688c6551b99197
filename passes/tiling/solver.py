"""Choosing one op's tiles with OR-tools CP-SAT.

Variables, per level below home and per dim that may be split there: the number of
tiles n and the largest tile extent t = ceil(P / n) of the enclosing extent P (at the
first level, t ranges over exactly the balanced sizes ceil(S / k)). From them, linearly
or by product constraints: each operand's largest region, its aligned bytes, whether it
streams (is loaded more than once per enclosing box, and so gets a second buffer when
double buffering), each level's footprint (which must fit its capacity), and the
cost model of `estimate.py`.

Objectives (`strategy`): "cycles" (default) minimises estimated cycles, then the number
of tiles (and then cycles) among schedules within 1% of the fastest; "max" and "min" maximise or minimise the compute level's tile bytes, and
"random-max" maximises them with seeded random tie-breaking, as the reference's search
strategies do. The loop order is not a variable: a few orders are tried (natural, and
each input's dims outermost so that it stays resident) and the best kept. The solver runs
single-threaded with a fixed seed and a deterministic time budget, so results repeat.
Double buffering (a second buffer for every operand that streams, and overlap) is the
model's own choice per op: single buffering wins when it is faster or when only it fits.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from tiler_dialect.errors import TilerError
from tiler_dialect.tiling import IterKind
from tiler_passes.options import TileOptions
from tiler_passes.tiling.problem import Problem, align_up
from tiler_dialect.schedule import LevelTiling, OpTiling, region_extent, region_lengths

NEAR_TIE_PERCENT = 1
"""Schedules this close to the fastest estimate count as equally fast."""


@dataclass(frozen=True)
class Solution:
    tiling: OpTiling
    objective: int
    double: bool


class NoScheduleFits(TilerError):
    """No schedule fits; the message names the op, its smallest footprint, the capacity
    and the operands that dominate it."""


Expr = int | cp_model.IntVar | cp_model.LinearExpr


def candidate_orders(problem: Problem) -> list[tuple[int, ...]]:
    desc = problem.desc
    dims = range(len(desc.dims))
    parallel = [d for d in dims if desc.dims[d].kind == IterKind.PARALLEL]
    reductions = [d for d in dims if desc.dims[d].kind == IterKind.REDUCTION]
    candidates = [tuple(parallel + reductions)]
    for deps in problem.operand_dims[: problem.n_inputs]:
        front = [d for d in parallel if d in deps]
        candidates.append(tuple(front + [d for d in parallel if d not in deps] + reductions))
    split = {d for d in dims if any(problem.splittable(l, d) for l in range(problem.levels))}
    out, seen = [], set()
    for c in candidates:
        key = tuple(d for d in c if d in split)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


class _Model:
    """One CP-SAT model: a problem, a loop order, a buffering mode."""

    def __init__(self, problem: Problem, options: TileOptions, copies: Sequence[Sequence[int]], order: tuple[int, ...], double: bool):
        self.p, self.o, self.order, self.double = problem, options, order, double
        self.m = cp_model.CpModel()
        self.copies = copies
        self._build()

    # -- helpers --------------------------------------------------------------------

    def _var(self, lo: int, hi: int, name: str) -> cp_model.IntVar:
        return self.m.NewIntVar(lo, max(lo, hi), name)

    def _product(self, factors: Sequence[Expr], bound: int, name: str) -> Expr:
        known = math.prod(f for f in factors if isinstance(f, int))
        variables = [f for f in factors if not isinstance(f, int)]
        if not variables:
            return known
        acc: Expr = variables[0]
        for i, f in enumerate(variables[1:]):
            v = self._var(0, bound, f"{name}_{i}")
            self.m.AddMultiplicationEquality(v, [acc, f])
            acc = v
        if known == 1:
            return acc
        return acc * known

    def _ceil_div(self, numerator: Expr, divisor: int, bound: int, name: str) -> Expr:
        if isinstance(numerator, int):
            return -(-numerator // divisor)
        if divisor == 1:
            return numerator
        q = self._var(0, bound, name)
        self.m.AddDivisionEquality(q, numerator + (divisor - 1), divisor)
        return q

    def _region_elements(self, access, shape: Sequence[int], tops: Sequence[Expr], name: str) -> Expr:
        """Elements of the largest region `access` needs for tiles of extents `tops`,
        clipped to the operand's `shape`."""
        lengths: list[Expr] = []
        for j, (length, size) in enumerate(zip(region_lengths(access, tops), shape)):
            if isinstance(length, int):
                lengths.append(min(length, size))
            else:
                r = self._var(1, size, f"r{name}_{j}")
                self.m.AddMinEquality(r, [length, size])
                lengths.append(r)
        return self._product(lengths, math.prod(shape), f"e{name}")

    # -- the model -------------------------------------------------------------------

    def _build(self) -> None:
        """The model, level by level from the home level down: tile counts and extents,
        which splits reload which operands, buffers and their footprint, DMA cycles; then
        the op's cycles and the objective."""
        p = self.p
        sizes = [d.size for d in p.desc.dims]
        self.biggest = max(math.prod(s) * b for s, b in zip(p.shapes, p.element_bytes))
        self.tiles_bound = math.prod(sizes)
        # largest and smallest tile extent of the enclosing box, per dim
        upper: list[Expr] = list(sizes)
        lower: list[Expr] = list(sizes)
        self.n: list[list[Expr]] = []
        self.two: list[list[Expr]] = []
        enclosing: Expr = 1  # tiles of the levels above
        dma: list[Expr] = []
        first: Expr = 0  # the first tile's loads and the last tile's store do not overlap compute
        self.footprint: list[Expr] = []
        self.starts: list[list[Expr]] = []
        # double buffering is a choice per op: a second buffer for what streams, and overlap
        self.db = self.m.NewBoolVar("double_buffer") if self.double else 0
        for h in range(p.levels):
            counts, tops, bottoms = self._tile_extents(h, sizes, upper, lower)
            self.n.append(counts)
            self._exact_output(tops, sizes, h)
            upper, lower = tops, bottoms
            reach = self._reloads(h, counts)
            loads_all, moved, used, level_two, first = self._operand_buffers(h, tops, reach, enclosing, first)
            self.two.append(level_two)
            footprint = sum(used) + sum(self._scratch(h, tops))
            self.m.Add(footprint <= p.capacities[h])
            self.footprint.append(footprint)
            if self.o.place_buffers:
                self.starts.append(self._place_buffers(used, p.capacities[h], h))
            link = p.links[h]
            bound = self.tiles_bound * self.biggest * len(moved)
            dma.append(link.latency * sum(loads_all) + self._ceil_div(sum(moved), link.bandwidth, bound, f"d{h}"))
            enclosing = self._product([enclosing, *counts], self.tiles_bound, f"T{h}")
        self.tiles = enclosing
        self.cycles = self._cycles(enclosing, dma, first)
        self._objective()

    def _tile_extents(
        self, h: int, sizes: list[int], upper: list[Expr], lower: list[Expr]
    ) -> tuple[list[Expr], list[Expr], list[Expr]]:
        """Level `h`'s tile count per dim, and its tiles' largest and smallest extents,
        splitting each enclosing tile (of extents `upper` down to `lower`)."""
        p, m = self.p, self.m
        counts: list[Expr] = []
        tops: list[Expr] = []
        bottoms: list[Expr] = []
        for d, size in enumerate(sizes):
            P, Q = upper[d], lower[d]
            if not p.splittable(h, d):
                counts.append(1)
                tops.append(P)
                bottoms.append(Q)
            elif isinstance(P, int) and P == Q:
                values = sorted({-(-P // k) for k in range(1, P + 1)})
                t = m.NewIntVarFromDomain(cp_model.Domain.FromValues(values), f"t{h}_{d}")
                n = self._var(1, P, f"n{h}_{d}")
                m.AddAllowedAssignments([t, n], [(v, -(-P // v)) for v in values])
                low = self._var(1, P, f"u{h}_{d}")
                m.AddDivisionEquality(low, P, n)
                counts.append(n)
                tops.append(t)
                bottoms.append(low)
            else:  # split each enclosing tile; even the smallest gets no empty tile
                n = self._var(1, size, f"n{h}_{d}")
                t = self._var(1, size, f"t{h}_{d}")
                low = self._var(1, size, f"u{h}_{d}")
                m.Add(n <= Q)
                m.AddDivisionEquality(t, P + n - 1, n)
                m.AddDivisionEquality(low, Q, n)
                counts.append(n)
                tops.append(t)
                bottoms.append(low)
        return counts, tops, bottoms

    def _reloads(self, h: int, counts: list[Expr]) -> dict[int, Expr]:
        """Per split dim d of level `h`: the tiles visited up to d's loop (the loop order's
        prefix product) if d is split, else 0. An operand is loaded once per change of its
        innermost dependent split dim."""
        m = self.m
        prefix: Expr = 1
        reach: dict[int, Expr] = {}
        for d in self.order:
            prefix = self._product([prefix, counts[d]], self.tiles_bound, f"p{h}_{d}")
            if isinstance(counts[d], int):
                continue
            s_d = m.NewBoolVar(f"split{h}_{d}")
            m.Add(counts[d] >= 2).OnlyEnforceIf(s_d)
            m.Add(counts[d] <= 1).OnlyEnforceIf(s_d.Not())
            w = self._var(0, self.tiles_bound, f"w{h}_{d}")
            m.Add(w == prefix).OnlyEnforceIf(s_d)
            m.Add(w == 0).OnlyEnforceIf(s_d.Not())
            reach[d] = w
        return reach

    def _operand_buffers(
        self, h: int, tops: list[Expr], reach: dict[int, Expr], enclosing: Expr, first: Expr
    ) -> tuple[list[Expr], list[Expr], list[Expr], list[Expr], Expr]:
        """Per operand at level `h`: its loads (in all), bytes moved, buffer bytes (a second
        buffer when it streams double buffered) and whether it has two; and `first` with
        this level's first transfers added."""
        p, m = self.p, self.m
        deps = p.operand_dims
        link = p.links[h]
        biggest, tiles_bound = self.biggest, self.tiles_bound
        loads_all: list[Expr] = []
        moved: list[Expr] = []
        used: list[Expr] = []
        level_two: list[Expr] = []
        for k, (access, shape) in enumerate(zip([*p.desc.inputs, *p.desc.outputs], p.shapes)):
            elements = self._region_elements(access, shape, tops, f"{h}_{k}")
            region = elements * p.element_bytes[k]
            aligned = self._ceil_div(region, self.o.alignment, biggest, f"a{h}_{k}") * self.o.alignment
            gated = [reach[d] for d in self.order if d in deps[k] and d in reach]
            if gated:
                loads: Expr = self._var(1, tiles_bound, f"l{h}_{k}")
                m.AddMaxEquality(loads, [1, *gated])
            else:
                loads = 1
            two: Expr = 0
            extra: Expr = 0
            if self.double and self.copies[h][k] >= 2 and not isinstance(loads, int):
                streams = m.NewBoolVar(f"streams{h}_{k}")
                m.Add(loads >= 2).OnlyEnforceIf(streams)
                m.Add(loads <= 1).OnlyEnforceIf(streams.Not())
                two = m.NewBoolVar(f"two{h}_{k}")  # <=> double buffered and streams
                m.AddImplication(two, self.db)
                m.AddImplication(two, streams)
                m.AddBoolOr([two, self.db.Not(), streams.Not()])  # type: ignore[union-attr]
                extra = self._var(0, biggest, f"x{h}_{k}")
                m.Add(extra == aligned).OnlyEnforceIf(two)
                m.Add(extra == 0).OnlyEnforceIf(two.Not())
            level_two.append(two)
            used += [aligned, extra]
            total_loads = self._product([enclosing, loads], tiles_bound, f"lt{h}_{k}")
            loads_all.append(total_loads)
            moved.append(self._product([total_loads, region], tiles_bound * biggest, f"b{h}_{k}"))
            first = first + link.latency + self._ceil_div(region, link.bandwidth, biggest, f"f{h}_{k}")
        return loads_all, moved, used, level_two, first

    def _scratch(self, h: int, tops: list[Expr]) -> list[Expr]:
        """The compute level's working buffers (one copy each); none above it."""
        p = self.p
        if h != p.levels - 1:
            return []
        out: list[Expr] = []
        for j, access in enumerate(p.desc.scratch):
            elements = self._region_elements(access, p.desc.scratch_shape(access), tops, f"s{h}_{j}")
            bytes_ = elements * p.element_bytes[-1]
            out.append(self._ceil_div(bytes_, self.o.alignment, self.biggest, f"as{h}_{j}") * self.o.alignment)
        return out

    def _cycles(self, tiles: Expr, dma: list[Expr], first: Expr) -> Expr:
        """Compute plus every level's DMA, serially; or, when some operand streams through
        two buffers, the busiest of them plus the first transfers."""
        p, m = self.p, self.m
        compute = p.compute_cycles + p.rates.tile_overhead * tiles
        serial = compute + sum(dma)
        doubled = [t for level in self.two for t in level if not isinstance(t, int)]
        if not doubled:
            return serial
        n_ops = len(p.shapes)
        bound = p.compute_cycles + p.rates.tile_overhead * self.tiles_bound + sum(
            n_ops * self.tiles_bound * (link.latency + self.biggest) for link in p.links
        )
        peak = self._var(0, bound, "peak")
        m.AddMaxEquality(peak, [compute, *dma])
        overlap = m.NewBoolVar("overlap")  # <=> some operand streams through two buffers
        m.AddBoolOr(doubled).OnlyEnforceIf(overlap)
        m.AddBoolAnd([t.Not() for t in doubled]).OnlyEnforceIf(overlap.Not())
        cycles = self._var(0, 2 * bound, "cycles")
        m.Add(cycles == peak + first).OnlyEnforceIf(overlap)
        m.Add(cycles == serial).OnlyEnforceIf(overlap.Not())
        return cycles

    def _exact_output(self, tops: list[Expr], sizes: list[int], h: int) -> None:
        """A tile writes back its output box, so the box must be all its own: an inner dim
        of a combined output index taken in part forces its outer dims to extent 1
        (TilingDescription.nested_output_dims)."""
        m = self.m
        for inner, outers in self.p.desc.nested_output_dims():
            top = tops[inner]
            if isinstance(top, int) and top >= sizes[inner]:
                continue  # the inner dim is whole: any outer extent writes a box
            partial = m.NewBoolVar(f"partial{h}_{inner}")
            if isinstance(top, int):
                m.Add(partial == 1)
            else:
                m.Add(top <= sizes[inner] - 1).OnlyEnforceIf(partial)
                m.Add(top >= sizes[inner]).OnlyEnforceIf(partial.Not())
            for d in outers:
                m.Add(tops[d] == 1).OnlyEnforceIf(partial)

    def _place_buffers(self, used: list[Expr], capacity: int, h: int) -> list[Expr]:
        """An aligned offset per operand buffer (its slots together), all within the
        capacity and pairwise disjoint: the buffers of one op are live together."""
        m, align = self.m, self.o.alignment
        starts, intervals = [], []
        for k in range(0, len(used), 2):
            size = self._var(0, capacity, f"os{h}_{k // 2}")
            m.Add(size == used[k] + used[k + 1])  # the buffer, and its second slot if double buffered
            q = self._var(0, capacity // align, f"o{h}_{k // 2}")
            start = q * align
            end = self._var(0, capacity, f"oe{h}_{k // 2}")
            intervals.append(m.NewIntervalVar(start, size, end, f"buffer{h}_{k // 2}"))
            starts.append(start)
        m.AddNoOverlap(intervals)
        return starts

    def _objective(self) -> None:
        strategy, m = self.o.search_strategy, self.m
        used = self.footprint[-1]
        if strategy == "cycles":  # then, among the fastest, the fewest tiles (see solve)
            m.Minimize(self.cycles)
            self.sign = 1
        elif strategy == "min":
            m.Minimize(used)
            self.sign = 1
        elif strategy == "max":
            m.Maximize(used)
            self.sign = -1
        else:  # "random-max" (TileOptions checked the name)
            rng = random.Random(self.o.seed)
            weights = [rng.randrange(1000) for _ in self.n[-1]]
            m.Maximize(used * 1000 * (len(weights) + 1) + sum(w * n for w, n in zip(weights, self.n[-1])))
            self.sign = -1

    def _run(self) -> cp_model.CpSolver | None:
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = self.o.seed
        solver.parameters.max_deterministic_time = self.o.time_limit
        if solver.Solve(self.m) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        return solver

    def solve(self) -> tuple[int, cp_model.CpSolver] | None:
        """Optimise the strategy's objective: (objective, lower is better; solver)."""
        solver = self._run()
        if solver is None:
            return None
        return int(round(solver.ObjectiveValue())) * self.sign, solver

    def solve_fewest_tiles(self, limit: int) -> tuple[int, int, cp_model.CpSolver] | None:
        """Among schedules estimated at most `limit` cycles, the fewest tiles, then the
        fastest: (tiles, cycles, solver)."""
        self.m.Add(self.cycles <= limit)
        self.m.Minimize(self.tiles * (limit + 1) + self.cycles)
        solver = self._run()
        if solver is None:
            return None
        return self._value(solver, self.tiles), self._value(solver, self.cycles), solver

    @staticmethod
    def _value(solver: cp_model.CpSolver, e: Expr) -> int:
        return e if isinstance(e, int) else int(solver.Value(e))

    def extract(self, solver: cp_model.CpSolver, objective: int) -> Solution:
        levels = []
        for h, level in enumerate(self.p.path[1:]):
            counts = tuple(self._value(solver, n) for n in self.n[h])
            order = tuple(d for d in self.order if counts[d] > 1)
            slots = tuple(1 + self._value(solver, t) for t in self.two[h])
            offsets = tuple(int(solver.Value(s)) for s in self.starts[h]) if self.starts else None
            levels.append(LevelTiling(level, counts, order, slots, offsets))
        return Solution(OpTiling(tuple(levels)), objective, self.double)


def solve(problem: Problem, options: TileOptions, copies: Sequence[Sequence[int]]) -> Solution:
    """The best schedule over a few loop orders; whether to double-buffer is the model's
    own choice (when allowed).

    Strategy "cycles" decides in two rounds: the fastest estimate over all orders, then,
    among all schedules (of any order) within NEAR_TIE_PERCENT of it, the fewest tiles and
    then the fewest cycles; when one hop dominates, smaller tiles elsewhere gain nothing
    real. Earlier orders win exact ties, so the choice is deterministic."""
    if problem.levels == 0:  # home is the compute level: nothing moves
        return Solution(OpTiling(()), 0, False)
    models = [_Model(problem, options, copies, order, options.double_buffer) for order in candidate_orders(problem)]
    found = [(model, model.solve()) for model in models]
    solved = [(model, result) for model, result in found if result is not None]
    if not solved:
        raise NoScheduleFits(infeasibility_message(problem, options.alignment))
    best_model, (best, best_solver) = min(solved, key=lambda mr: mr[1][0])
    if options.search_strategy != "cycles":
        return best_model.extract(best_solver, best)
    limit = best * (100 + NEAR_TIE_PERCENT) // 100
    choice: tuple[int, int, _Model, cp_model.CpSolver] | None = None
    for model, (fastest, solver) in solved:
        if fastest > limit:
            continue
        if isinstance(model.tiles, int):
            candidate = (model.tiles, fastest, solver)
        else:
            candidate = model.solve_fewest_tiles(limit) or (model._value(solver, model.tiles), fastest, solver)
        tiles, cycles, solver = candidate
        if choice is None or (tiles, cycles) < choice[:2]:
            choice = (tiles, cycles, model, solver)
    assert choice is not None  # the fastest model itself is within the limit
    tiles, cycles, model, solver = choice
    return model.extract(solver, cycles)


def infeasibility_message(problem: Problem, alignment: int) -> str:
    """Name the op, its smallest footprint, the capacity and the dominating operands."""
    extents = problem.smallest_extents()
    accesses = [*problem.desc.inputs, *problem.desc.outputs]
    parts = []
    for k, (access, shape) in enumerate(zip(accesses, problem.shapes)):
        region = region_extent(access, extents, shape)
        size = align_up(math.prod(region) * problem.element_bytes[k], alignment)
        parts.append((size, problem.operand_names[k], region))
    total = sum(size for size, _, _ in parts)
    scratch = align_up(problem.scratch_bytes(extents), alignment) if problem.desc.scratch else 0
    for i, (level, capacity) in enumerate(zip(problem.path[1:], problem.capacities)):
        if i == problem.levels - 1 and scratch:  # the compute level holds the scratch too
            parts.append((scratch, "scratch", [scratch // max(problem.element_bytes[-1], 1)]))
            total += scratch
        if total > capacity:
            parts.sort(key=lambda x: -x[0])
            detail = ", ".join(
                f"{name} {size} B (tile {'x'.join(map(str, region)) or 'scalar'})" for size, name, region in parts
            )
            return (
                f"{problem.label} cannot fit in {level} ({capacity} bytes): even its smallest tiles "
                f"need {total} bytes, single buffered: {detail}"
            )
    return f"{problem.label}: no schedule found within the solver's time budget"
