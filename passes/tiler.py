"""The reference's `Tiler`, for tiler IR. The `tile` pass is a thin wrapper around it.

    tiler = Tiler(hierarchy)
    tiler.searchStrategy = "cycles"            # or "max", "min", "random-max"
    tiler.setupModel(module)                   # one tiling problem per layer
    solution = tiler.computeTilingSchedule()   # CP-SAT, once per distinct op signature
    tiler.testTilingSolutionCorrectness(solution)
    report = tiler.tile(module)                # all of the above, then the rewrite

Names and meanings follow the Tiler of Deeploy (BRIEF section 2); where it asserts, this
one returns booleans or raises `TilingError` with a message for the user.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.utils.exceptions import DiagnosticException

from tiler_dialect.attributes import ARENA_ATTR, memory_level_of
from tiler_dialect.hierarchy import MemoryHierarchy
from tiler_dialect.ops import TilerOp
from tiler_dialect.program import check_defined_before_use, main_function
from tiler_passes.allocation.address_check import check_addresses
from tiler_passes.allocation.annotate import write_placement
from tiler_passes.allocation.blocks import AllocationError, Block, busiest_time, check_placement, lower_bound, peak
from tiler_passes.allocation.external import external_minimalloc
from tiler_passes.allocation.memory_map import MemoryMap, check_memory_map, compute_memory_map
from tiler_passes.allocation.plot import write_memory_map_html
from tiler_passes.allocation.strategies import place
from tiler_passes.home_capacity import check_home_capacity
from tiler_passes.options import (
    ALLOCATION_STRATEGIES,
    DEFAULT_ALIGNMENT,
    DEFAULT_ALLOCATION_STRATEGY,
    DEFAULT_ALLOCATION_TIMEOUT,
    DEFAULT_SEARCH_STRATEGY,
    SEARCH_STRATEGIES,
    OptionError,
    check_alignment,
    check_choice,
    check_seed,
    check_timeout,
)
from tiler_passes.output_files import write_output
from tiler_passes.tiling.bufferize import bufferize_and_tile, op_name
from tiler_passes.tiling.estimate import Estimate, double_buffered, estimate
from tiler_passes.tiling.problem import Problem, align_up, problem_of
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
from tiler_passes.tiling.solver import Infeasible, Solution, SolverOptions, solve
from tiler_passes.tiling.traffic import Traffic, compulsory_bytes, exact_traffic


class TilingError(DiagnosticException):
    """The model cannot be tiled as asked; the message says why."""


class MemoryAllocationError(DiagnosticException):
    """The buffers cannot be placed as asked, or a placement check failed; the message
    says which level and why."""


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


class Tiler:
    """Chooses tile sizes for every layer with CP-SAT and rewrites the module into
    double-buffered DMA loop nests."""

    def __init__(self, memoryHierarchy: MemoryHierarchy, testName: str | None = None, workDir: str | None = None):
        self.memoryHierarchy = memoryHierarchy.validate()
        self.testName = testName
        self.workDir = workDir
        self.searchStrategy: Literal["cycles", "max", "min", "random-max"] = DEFAULT_SEARCH_STRATEGY
        """"cycles" minimises the cost model; "max"/"min"/"random-max" maximise / minimise the
        compute level's tile bytes (seeded random ties), as in the reference."""
        self.memoryAllocStrategy: Literal["TetrisRandom", "TetrisCo-Opt", "MiniMalloc"] = DEFAULT_ALLOCATION_STRATEGY
        self.visualizeMemoryAlloc = False
        self.doubleBuffer = True
        self.alignment = DEFAULT_ALIGNMENT
        self.seed = 0
        self.timeLimit = 10.0
        self.allocationTimeLimit = DEFAULT_ALLOCATION_TIMEOUT
        """Seconds per level for MiniMalloc (and CP-SAT's deterministic budget for Co-Opt)."""
        self._layers: list[tuple[str, TilerOp, Problem]] = []
        self._worstCaseBufferSize: dict[str, int] = {}
        self._solved: dict[tuple, Solution] = {}

    def _check_options(self, error: type[DiagnosticException]) -> None:
        """The attributes a user set, checked as the flags and pass options are."""
        try:
            check_alignment(self.alignment)
            check_seed(self.seed)
            check_choice(self.searchStrategy, SEARCH_STRATEGIES, "search strategy")
            check_choice(self.memoryAllocStrategy, ALLOCATION_STRATEGIES, "allocation strategy")
            check_timeout(self.timeLimit, "timeLimit")
            check_timeout(self.allocationTimeLimit, "allocationTimeLimit")
        except OptionError as e:
            raise error(str(e)) from None

    @property
    def worstCaseBufferSize(self) -> dict[str, int]:
        """Per level, the highest end address used: the arena size (filled by
        `annotateMemoryLevel`)."""
        return self._worstCaseBufferSize

    # -- the reference's hooks ---------------------------------------------------------

    def multiBufferStrategy(self, problem: Problem, path: Sequence[str], hop: str, tensorName: str) -> int:
        """How many copies of `tensorName`'s tile may live at level `hop` on `path`: 2 for
        double buffering (used only when the tile actually streams), 1 for single buffers.
        Override to restrict some tensors to one copy."""
        return 2 if self.doubleBuffer else 1

    def propagateIOBufferStrategy(self, patternBuffers: list[dict[str, int]]) -> list[dict[str, int]]:
        """A compatibility stub of the reference's static n-ple buffering: every buffer a
        pattern's steps use stays live for the whole pattern. Takes, per step, buffer name
        -> bytes; returns each step with all of them. The flow does not call it: tiling is
        layer-wise, one step per pattern, for which this is the identity (what the
        reference's does for one-op patterns); the fusion issue's multi-op patterns will."""
        union: dict[str, int] = {}
        for step in patternBuffers:
            for name, size in step.items():
                union[name] = max(size, union.get(name, 0))
        return [dict(union) for _ in patternBuffers]

    @staticmethod
    def assertLayerWiseTiling(schedule: Sequence[Sequence[TilerOp]]) -> bool:
        """True when every pattern of the schedule is a single layer."""
        return all(len(pattern) == 1 for pattern in schedule)

    @staticmethod
    def assertUniformMemoryLevelAllocation(module: ModuleOp, defaultMemoryLevel: str) -> bool:
        """True when every tensor of the (untiled) module lives in `defaultMemoryLevel`."""
        for op in module.walk():
            for v in (*op.results, *(a for r in op.regions for b in r.blocks for a in b.args)):
                if isinstance(v.type, TensorType) and memory_level_of(v.type) != defaultMemoryLevel:
                    return False
        return True

    # -- the flow ------------------------------------------------------------------------

    def schedule(self, module: ModuleOp) -> list[list[TilerOp]]:
        """Layers in execution order, one pattern per compute op (views are not layers)."""
        return [[op] for op in module.walk() if isinstance(op, TilerOp) and not op.IS_VIEW and not op.outputs]

    def setupModel(self, module: ModuleOp) -> list[Problem]:
        """Build one tiling problem per layer (the CP-SAT models are built when solved)."""
        self._check_options(TilingError)
        check_defined_before_use(module)
        check_home_capacity(module)
        schedule = self.schedule(module)
        if not self.assertLayerWiseTiling(schedule):
            raise TilingError("only layer-wise tiling is supported")
        if not self.assertUniformMemoryLevelAllocation(module, self.memoryHierarchy.defaultName):
            raise TilingError(
                f"every tensor must live in the home level {self.memoryHierarchy.defaultName} before tiling"
            )
        counter: dict[str, int] = {}
        self._layers = []
        for (op,) in schedule:
            name = op_name(op, counter)
            self._layers.append((name, op, problem_of(op, f"'{name}' ({op.name})", self.memoryHierarchy)))
        return [p for _, _, p in self._layers]

    def _options(self) -> SolverOptions:
        return SolverOptions(
            self.searchStrategy, self.doubleBuffer, self.alignment, self.seed, self.timeLimit,
            place_buffers=self.memoryAllocStrategy == "TetrisCo-Opt",
        )

    def computeTilingSchedule(self) -> TilingSolution:
        """Solve every layer; layers with the same signature share one solve."""
        start = time.perf_counter()
        solution = TilingSolution()
        for name, op, problem in self._layers:
            key = (problem.signature, self._options())
            if key not in self._solved:
                copies = [
                    [self.multiBufferStrategy(problem, problem.path, hop, n) for n in problem.operand_names]
                    for hop in problem.path[1:]
                ]
                try:
                    self._solved[key] = solve(problem, self._options(), copies)
                except Infeasible as e:
                    raise TilingError(str(e)) from None
            tiling = canonical(problem.desc, self._solved[key].tiling)
            solution.layers.append(
                LayerSchedule(
                    name, op, problem, tiling,
                    estimate(problem, tiling, self.alignment),
                    exact_traffic(problem, tiling),
                    compulsory_bytes(problem),
                )
            )
        solution.compile_seconds = time.perf_counter() - start
        return solution

    def chooseTiles(self, module: ModuleOp) -> TilingSolution:
        """What the choose-tiles pass does: solve every layer and record its schedule in
        the IR, as the op's `tiler.schedule` attribute (which apply-tiles reads)."""
        start = time.perf_counter()
        self.setupModel(module)
        solution = self.computeTilingSchedule()
        self.testTilingSolutionCorrectness(solution)
        for layer in solution.layers:
            layer.op.attributes[SCHEDULE_ATTR] = schedule_attr(layer.problem.desc, layer.tiling)
        solution.compile_seconds = time.perf_counter() - start
        return solution

    def applyTiles(self, module: ModuleOp) -> None:
        """What the apply-tiles pass does: rewrite every compute op into the loop nest its
        `tiler.schedule` attribute describes (no solver), after checking the schedule fits
        the op and every level's capacity."""
        self._check_options(TilingError)
        check_defined_before_use(module)
        main = main_function(module)
        hierarchy = self.memoryHierarchy
        compute = hierarchy.computeName
        counter: dict[str, int] = {}
        tilings: dict[TilerOp, OpTiling | None] = {}
        for (op,) in self.schedule(module):
            name = op_name(op, counter)
            label = f"'{name}' ({op.name})"
            attr = op.attributes.get(SCHEDULE_ATTR)
            if memory_level_of(op.res[0].type) == compute:
                tilings[op] = None  # computed where it lives
                continue
            if not isinstance(attr, ScheduleAttr):
                raise TilingError(f"{label} has no {SCHEDULE_ATTR}: run choose-tiles first, or give it one")
            problem = problem_of(op, label, hierarchy)
            try:
                tiling = op_tiling(problem.desc, attr)
            except ScheduleError as e:
                raise TilingError(f"{label}: invalid schedule: {e}") from None
            self._check_fits(problem, tiling)
            tilings[op] = tiling
        bufferize_and_tile(module, main, lambda op, name: tilings[op])

    def _check_fits(self, problem: Problem, tiling: OpTiling) -> None:
        """Every buffer count is an integer >= 1, every buffer size a multiple of the
        alignment, and each level's buffers fit its capacity (TilingError)."""
        extents = max_extents(problem.desc, tiling)
        for h, level in enumerate(tiling.levels):
            used = 0
            for k, slots in enumerate(level.slots):
                if not isinstance(slots, int) or slots < 1:
                    raise TilingError(f"{problem.label}: buffer count {slots!r} is not an integer >= 1")
                size = align_up(problem.region_bytes(k, extents[h]), self.alignment)
                used += slots * size
            if h == len(tiling.levels) - 1 and problem.desc.scratch:  # the compute level's scratch
                used += align_up(problem.scratch_bytes(extents[h]), self.alignment)
            if used > problem.capacities[h]:
                raise TilingError(
                    f"{problem.label}: tiles need {used} bytes of {level.level}, which holds {problem.capacities[h]}"
                )

    def testTilingSolutionCorrectness(self, tilingSolution: TilingSolution | ModuleOp) -> None:
        """Every buffer count is an integer >= 1, every buffer size is a multiple of the
        alignment, and every level's tiles fit its capacity (raises TilingError).

        Given the allocated module instead, the same on the real addresses, read back from
        the IR: aligned offsets inside each level's arena, arenas within capacity, buffer
        counts, and no two buffers sharing bytes while both are in use (raises
        MemoryAllocationError)."""
        if isinstance(tilingSolution, ModuleOp):
            hierarchy = self.memoryHierarchy
            capacities = {name: level.size for name, level in hierarchy.memoryLevels.items()}
            try:
                check_addresses(tilingSolution, main_function(tilingSolution), capacities, hierarchy.defaultName, self.alignment)
            except AllocationError as e:
                raise MemoryAllocationError(f"allocated IR: {e}") from None
            return
        for layer in tilingSolution.layers:
            try:
                check_tiling(layer.problem.desc, layer.tiling)
            except ScheduleError as e:
                raise TilingError(f"{layer.problem.label}: invalid schedule: {e}") from None
            self._check_fits(layer.problem, layer.tiling)

    def tile(self, module: ModuleOp) -> TilingSolution:
        """The tile pass: choose-tiles, apply-tiles, multi-buffer (solve, record, check,
        rewrite, overlap the loads of double-buffered inputs with compute)."""
        from tiler_passes.multi_buffer import multi_buffer

        start = time.perf_counter()
        solution = self.chooseTiles(module)
        self.applyTiles(module)
        multi_buffer(module)
        solution.compile_seconds = time.perf_counter() - start
        return solution

    # -- allocation -------------------------------------------------------------------------

    def computeMemoryMap(self, module: ModuleOp) -> MemoryMap:
        """Per level, every buffer of the tiled module as a block: lifetime in schedule
        steps (half-open), size in bytes times its buffer count (aligned)."""
        self._check_options(MemoryAllocationError)
        if any(isinstance(v.type, TensorType) for op in module.walk() for v in op.results):
            raise MemoryAllocationError("allocation needs tiled (bufferized) IR: run the tile pass first")
        main = main_function(module)
        check_defined_before_use(module)
        if any(ARENA_ATTR in op.attributes for op in main.body.blocks[0].ops):
            raise MemoryAllocationError("the module is allocated already (it has arenas)")
        try:
            return compute_memory_map(module, main, self.alignment)
        except AllocationError as e:
            raise MemoryAllocationError(str(e)) from None

    def testMemoryMapCorrectness(self, memoryMap: MemoryMap) -> None:
        """Graph inputs are alive at the first step, outputs at the last, and every operand
        of every step is alive at that step (raises MemoryAllocationError)."""
        try:
            check_memory_map(memoryMap)
        except AllocationError as e:
            raise MemoryAllocationError(f"memory map: {e}") from None

    def minimalloc(self, blocks: Sequence[Block], capacity: int, levelName: str) -> list[int]:
        """Offsets for `blocks` in `capacity` bytes. Like the reference, runs the external
        MiniMalloc (`$MINIMALLOC_INSTALL_DIR/minimalloc --capacity=N`, CSV in, `offset`
        column out) when that variable is set; else the native solver."""
        import os

        directory = os.environ.get("MINIMALLOC_INSTALL_DIR")
        if directory:
            return external_minimalloc(os.path.join(directory, "minimalloc"), blocks, capacity, self.workDir, levelName)
        return place(blocks, capacity, "MiniMalloc", self.seed, self.allocationTimeLimit)

    def annotateMemoryLevel(self, module: ModuleOp, memoryMap: MemoryMap) -> None:
        """Place every level's blocks with `memoryAllocStrategy`, check the placement
        (inside the capacity, aligned, no two live blocks overlapping), and write it into
        the IR: one arena per level, every buffer a view at its offset."""
        self._worstCaseBufferSize = {}
        for level, mblocks in memoryMap.levels.items():
            blocks = [b.block for b in mblocks]
            capacity = memoryMap.capacities[level]
            need = lower_bound(blocks)
            if need > capacity:
                step, live = busiest_time(blocks)
                largest = sorted(live, key=lambda i: -blocks[i].size)[:4]
                names = ", ".join(f"{blocks[i].id} ({blocks[i].size} B)" for i in largest)
                raise MemoryAllocationError(
                    f"{level} ({capacity} bytes) cannot hold what is live at step {step}: {need} bytes "
                    f"in {len(live)} buffers, the largest {names}"
                )
            try:
                if self.memoryAllocStrategy == "MiniMalloc":
                    offsets = self.minimalloc(blocks, capacity, level)
                else:
                    # Co-Opt keeps the offsets the tiling model chose with the tile sizes
                    fixed = {i: b.hint for i, b in enumerate(mblocks) if b.hint is not None}
                    offsets = place(blocks, capacity, self.memoryAllocStrategy, self.seed, self.allocationTimeLimit, fixed)
                check_placement(blocks, offsets, capacity)
            except AllocationError as e:
                raise MemoryAllocationError(
                    f"{level}: {self.memoryAllocStrategy} could not place its {len(blocks)} buffers in "
                    f"{capacity} bytes (at most {need} are live at once): {e}"
                ) from None
            for b, o in zip(mblocks, offsets):
                b.offset = o
            self._worstCaseBufferSize[level] = peak(blocks, offsets)
        order = [name for name in self.memoryHierarchy.memoryLevels]
        write_placement(main_function(module), memoryMap, self._worstCaseBufferSize, order)

    def plotMemoryAlloc(self, memoryMap: MemoryMap, path: str | None = None) -> str:
        """The memory map as one self-contained interactive HTML page (returned, and
        written to `path` or `<workDir>/<testName>_memory_map.html` when given)."""
        import os

        page = write_memory_map_html(memoryMap, self._worstCaseBufferSize, list(self.memoryHierarchy.memoryLevels))
        if path is None and self.workDir:
            path = os.path.join(self.workDir, f"{self.testName or 'network'}_memory_map.html")
        if path is not None:
            write_output(path, page, "the memory-map view")
        return page

    def allocate(self, module: ModuleOp) -> MemoryMap:
        """The allocation flow: memory map, its checks, placement, checks, IR, (plot)."""
        memory_map = self.computeMemoryMap(module)
        self.testMemoryMapCorrectness(memory_map)
        self.annotateMemoryLevel(module, memory_map)
        self.testTilingSolutionCorrectness(module)  # on the addresses now in the IR
        if self.visualizeMemoryAlloc:
            self.plotMemoryAlloc(memory_map)
        return memory_map
