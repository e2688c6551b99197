"""The tiling flow behind the `Tiler`'s reference names (passes/tiler.py): one problem per
layer, one CP-SAT solve per distinct problem, the checks of a schedule against the op and
the levels' capacities, its record in the IR (choose-tiles) and the rewrite it says
(apply-tiles)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from xdsl.dialects.builtin import ModuleOp

from tiler_dialect.attributes import memory_level_of
from tiler_dialect.errors import TilerPassFailed, raise_at
from tiler_dialect.hierarchy import MemoryHierarchy
from tiler_dialect.ops import TilerOp
from tiler_dialect.program import check_defined_before_use, main_function
from tiler_dialect.schedule import (
    SCHEDULE_ATTR,
    OpTiling,
    ScheduleAttr,
    ScheduleError,
    canonical,
    check_tiling,
    max_extents,
    op_tiling,
    region_extent,
    schedule_attr,
)
from tiler_passes import progress
from tiler_passes.home_capacity import check_home_capacity
from tiler_passes.options import TileOptions
from tiler_passes.tiling.bufferize import bufferize_and_tile, op_name
from tiler_passes.tiling.estimate import Estimate, double_buffered, estimate
from tiler_passes.tiling.problem import Problem, align_up, problem_of
from tiler_passes.tiling.solver import NoScheduleFits, Solution, solve
from tiler_passes.tiling.traffic import Traffic, compulsory_bytes, exact_traffic


class TilingError(TilerPassFailed):
    """The model cannot be tiled as asked; the message says why."""


@dataclass
class LayerSchedule:
    """One layer's solved schedule and its figures."""

    name: str
    op: TilerOp
    problem: Problem
    tiling: OpTiling
    estimate: Estimate
    traffic: Traffic
    lower_bound_bytes: int

    def tile_shapes(self) -> dict[str, list[int]]:
        """Per operand, the shape of one compute-level buffer."""
        per_level = max_extents(self.problem.desc, self.tiling)
        # no level below home (home is the compute level): the op runs on whole operands
        extents = per_level[-1] if per_level else [d.size for d in self.problem.desc.dims]
        accesses = [*self.problem.desc.inputs, *self.problem.desc.outputs]
        return {
            name: region_extent(a, extents, shape)
            for name, a, shape in zip(self.problem.tensor_names, accesses, self.problem.shapes)
        }


@dataclass
class TilingSolution:
    layers: list[LayerSchedule] = field(default_factory=list)
    compile_seconds: float = 0.0

    def by_op(self) -> dict[TilerOp, OpTiling]:
        return {layer.op: layer.tiling for layer in self.layers}

    def report(self) -> dict:
        """The `--tile-report` JSON (issue 3 section 7)."""
        ops = [
            {
                "name": l.name,
                "op": l.op.name,
                "tiles": l.tiling.tiles,
                "tile_shapes": l.tile_shapes(),
                "dma_bytes": l.traffic.bytes,
                "dma_transfers": l.traffic.transfers,
                "lower_bound_bytes": l.lower_bound_bytes,
                "est_cycles": l.estimate.cycles,
                "double_buffered": double_buffered(l.tiling),
                "levels": [
                    {"level": lvl.level, "counts": list(lvl.counts), "slots": list(lvl.slots), "footprint": fp}
                    for lvl, fp in zip(l.tiling.levels, l.estimate.footprint)
                ],
            }
            for l in self.layers
        ]
        return {
            "ops": ops,
            "total": {
                "dma_bytes": sum(o["dma_bytes"] for o in ops),
                "lower_bound_bytes": sum(o["lower_bound_bytes"] for o in ops),
                "est_cycles": sum(o["est_cycles"] for o in ops),
                "compile_seconds": round(self.compile_seconds, 3),
            },
        }


CopiesPerTensor = Callable[[Problem, Sequence[str], str, str], int]
"""(problem, path, level, tensor name) -> how many copies of the tensor's tile that level
holds: the reference's `multiBufferStrategy`."""


class TilingFlow:
    """Tiling, as the `Tiler` runs it: `setup` then `solve` (or `apply` of recorded
    schedules). Keeps the layers of the last setup and every solve, keyed by problem
    signature and options, so equal layers are solved once."""

    def __init__(self, copies: CopiesPerTensor):
        self.copies = copies
        self.layers: list[tuple[str, TilerOp, Problem]] = []
        self._solved: dict[tuple, Solution] = {}

    @staticmethod
    def check_module(module: ModuleOp) -> None:
        """What tiling needs of any module: values defined before use, tensors that fit
        their levels."""
        check_defined_before_use(module)
        check_home_capacity(module)

    def setup(self, schedule: Sequence[Sequence[TilerOp]], hierarchy: MemoryHierarchy) -> list[Problem]:
        """One tiling problem per layer of a layer-wise schedule."""
        counter: dict[str, int] = {}
        self.layers = []
        for (op,) in schedule:
            name = op_name(op, counter)
            self.layers.append((name, op, problem_of(op, f"'{name}' ({op.name})", hierarchy)))
        return [p for _, _, p in self.layers]

    def solve(self, options: TileOptions) -> TilingSolution:
        """Solve every layer of the last setup."""
        start = time.perf_counter()
        solution = TilingSolution()
        for index, (name, op, problem) in enumerate(self.layers, 1):
            op_start = time.perf_counter()
            key = (problem.signature, options)
            solved_before = key in self._solved
            if not solved_before:
                copies = [
                    [self.copies(problem, problem.path, hop, n) for n in problem.operand_names]
                    for hop in problem.path[1:]
                ]
                try:
                    self._solved[key] = solve(problem, options, copies)
                except NoScheduleFits as e:
                    raise TilingError(str(e)) from None
            tiling = canonical(problem.desc, self._solved[key].tiling)
            solution.layers.append(
                LayerSchedule(
                    name, op, problem, tiling,
                    estimate(problem, tiling, options.alignment),
                    exact_traffic(problem, tiling),
                    compulsory_bytes(problem),
                )
            )
            detail = f"{tiling.tiles} tiles" + (", same as an earlier layer" if solved_before else "")
            progress.step(index, len(self.layers), f"{name} ({op.name})", detail, time.perf_counter() - op_start)
        solution.compile_seconds = time.perf_counter() - start
        return solution

    @staticmethod
    def record(solution: TilingSolution) -> None:
        """Write each layer's schedule into the IR, as the op's `tiler.schedule`."""
        for layer in solution.layers:
            layer.op.attributes[SCHEDULE_ATTR] = schedule_attr(layer.problem.desc, layer.tiling)

    @staticmethod
    def apply(module: ModuleOp, schedule: Sequence[Sequence[TilerOp]], hierarchy: MemoryHierarchy, alignment: int) -> None:
        """Rewrite every layer into the loop nest its `tiler.schedule` describes, after
        checking the schedule fits the op and every level's capacity."""
        check_defined_before_use(module)
        main = main_function(module)
        compute = hierarchy.computeName
        counter: dict[str, int] = {}
        tilings: dict[TilerOp, OpTiling | None] = {}
        for (op,) in schedule:
            name = op_name(op, counter)
            label = f"'{name}' ({op.name})"
            attr = op.attributes.get(SCHEDULE_ATTR)
            if memory_level_of(op.res[0].type) == compute:
                tilings[op] = None  # computed where it lives
                continue
            if not isinstance(attr, ScheduleAttr):
                raise_at(op, TilingError(f"{label} has no {SCHEDULE_ATTR}: run choose-tiles first, or give it one"))
            problem = problem_of(op, label, hierarchy)
            try:
                tiling = op_tiling(problem.desc, attr)
                check_fits(problem, tiling, alignment)
            except ScheduleError as e:
                raise_at(op, TilingError(f"{label}: invalid schedule: {e}"))
            except TilingError as e:
                raise_at(op, e)
            tilings[op] = tiling
        bufferize_and_tile(module, main, lambda op, name: tilings[op])


def check_solution(solution: TilingSolution, alignment: int) -> None:
    """Every layer's schedule is well formed and fits (TilingError)."""
    for layer in solution.layers:
        try:
            check_tiling(layer.problem.desc, layer.tiling)
        except ScheduleError as e:
            raise TilingError(f"{layer.problem.label}: invalid schedule: {e}") from None
        check_fits(layer.problem, layer.tiling, alignment)


def check_fits(problem: Problem, tiling: OpTiling, alignment: int) -> None:
    """Every buffer count is an integer >= 1, every buffer size a multiple of the
    alignment, and each level's buffers fit its capacity (TilingError)."""
    extents = max_extents(problem.desc, tiling)
    for h, level in enumerate(tiling.levels):
        used = 0
        for k, slots in enumerate(level.slots):
            if not isinstance(slots, int) or slots < 1:
                raise TilingError(f"{problem.label}: buffer count {slots!r} is not an integer >= 1")
            size = align_up(problem.region_bytes(k, extents[h]), alignment)
            used += slots * size
        if h == len(tiling.levels) - 1 and problem.desc.scratch:  # the compute level's scratch
            used += align_up(problem.scratch_bytes(extents[h]), alignment)
        if used > problem.capacities[h]:
            raise TilingError(
                f"{problem.label}: tiles need {used} bytes of {level.level}, which holds {problem.capacities[h]}"
            )
