"""The reference's `Tiler`, for tiler IR. The `tile` pass is a thin wrapper around it.

    tiler = Tiler(hierarchy)
    tiler.searchStrategy = "cycles"            # or "max", "min", "random-max"
    tiler.setupModel(module)                   # one tiling problem per layer
    solution = tiler.computeTilingSchedule()   # CP-SAT, once per distinct op signature
    tiler.testTilingSolutionCorrectness(solution)
    report = tiler.tile(module)                # all of the above, then the rewrite

Names and meanings follow the Tiler of Deeploy (BRIEF section 2); where it asserts, this
one returns booleans or raises `TilingError` with a message for the user. The class keeps
the reference's attributes and hooks; the work is done by the tiling flow
(passes/tiling/flow.py) and the allocation flow (passes/allocation/flow.py), which read
the attributes as the passes' validated options (passes/options.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TypeVar

from xdsl.dialects.builtin import ModuleOp, TensorType

from tiler_dialect.attributes import memory_level_of
from tiler_dialect.hierarchy import MemoryHierarchy
from tiler_dialect.ops import TilerOp
from tiler_passes import progress
from tiler_passes.allocation.blocks import Block
from tiler_passes.allocation.external import external_minimalloc
from tiler_passes.allocation.flow import AllocationFlow, MemoryAllocationError
from tiler_passes.allocation.memory_map import MemoryMap
from tiler_passes.allocation.plot import write_memory_map_html
from tiler_passes.allocation.strategies import place
from tiler_passes.multi_buffer import multi_buffer
from tiler_passes.options import (
    DEFAULT_ALIGNMENT,
    DEFAULT_ALLOCATION_STRATEGY,
    DEFAULT_ALLOCATION_TIMEOUT,
    DEFAULT_SEARCH_STRATEGY,
    DEFAULT_TILING_TIME_LIMIT,
    AllocateOptions,
    AllocationStrategy,
    OptionError,
    SearchStrategy,
    TileOptions,
)
from tiler_passes.output_files import write_output
from tiler_passes.tiling.flow import LayerSchedule, TilingError, TilingFlow, TilingSolution, check_solution
from tiler_passes.tiling.problem import Problem

__all__ = ["LayerSchedule", "MemoryAllocationError", "Tiler", "TilingError", "TilingSolution"]


_Options = TypeVar("_Options", TileOptions, AllocateOptions)


class Tiler:
    """Chooses tile sizes for every layer with CP-SAT and rewrites the module into
    double-buffered DMA loop nests."""

    def __init__(self, memoryHierarchy: MemoryHierarchy, testName: str | None = None, workDir: str | None = None):
        self.memoryHierarchy = memoryHierarchy.validate()
        self.testName = testName
        self.workDir = workDir
        self.searchStrategy: SearchStrategy = DEFAULT_SEARCH_STRATEGY
        """"cycles" minimises the cost model; "max"/"min"/"random-max" maximise / minimise the
        compute level's tile bytes (seeded random ties), as in the reference."""
        self.memoryAllocStrategy: AllocationStrategy = DEFAULT_ALLOCATION_STRATEGY
        self.visualizeMemoryAlloc = False
        self.doubleBuffer = True
        self.alignment = DEFAULT_ALIGNMENT
        self.seed = 0
        self.timeLimit = DEFAULT_TILING_TIME_LIMIT
        """CP-SAT's deterministic seconds per tiling solve."""
        self.allocationTimeLimit = DEFAULT_ALLOCATION_TIMEOUT
        """Seconds per level for MiniMalloc (and CP-SAT's deterministic budget for Co-Opt)."""
        self._worstCaseBufferSize: dict[str, int] = {}
        # through a lambda: a multiBufferStrategy set on the instance later is the one used
        self._tiling = TilingFlow(lambda *args: self.multiBufferStrategy(*args))

    # The reference's attribute names for each pass option (tiler_passes.options): the one
    # mapping between the Python API and the passes' options, both ways.
    _TILE_ATTRIBUTES = {
        "search_strategy": "searchStrategy", "double_buffer": "doubleBuffer", "alignment": "alignment",
        "seed": "seed", "mem_alloc_strategy": "memoryAllocStrategy", "time_limit": "timeLimit",
    }
    _ALLOCATE_ATTRIBUTES = {
        "strategy": "memoryAllocStrategy", "alignment": "alignment", "seed": "seed", "timeout": "allocationTimeLimit",
    }

    @classmethod
    def configured(cls, memoryHierarchy: MemoryHierarchy, options: TileOptions | AllocateOptions) -> Tiler:
        """A Tiler with the attributes that pass options (already validated) set."""
        tiler = cls(memoryHierarchy)
        names = cls._TILE_ATTRIBUTES if isinstance(options, TileOptions) else cls._ALLOCATE_ATTRIBUTES
        for option, attribute in names.items():
            setattr(tiler, attribute, getattr(options, option))
        return tiler

    def tileOptions(self) -> TileOptions:
        """The tiling options the attributes say, validated as the flags and pass options
        are (TilingError names a bad one)."""
        return self._options(TileOptions, self._TILE_ATTRIBUTES, TilingError)

    def allocateOptions(self) -> AllocateOptions:
        """The allocation options the attributes say (MemoryAllocationError names a bad one)."""
        return self._options(AllocateOptions, self._ALLOCATE_ATTRIBUTES, MemoryAllocationError)

    def _options(self, kind: type[_Options], names: dict[str, str], error: type[Exception]) -> _Options:
        try:
            return kind(**{option: getattr(self, attribute) for option, attribute in names.items()})
        except OptionError as e:
            attribute = names.get(e.option or "")  # the attribute the user set
            raise error(e.naming(attribute) if attribute else str(e)) from None

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
        self.tileOptions()
        TilingFlow.check_module(module)
        schedule = self.schedule(module)
        if not self.assertLayerWiseTiling(schedule):
            raise TilingError("only layer-wise tiling is supported")
        if not self.assertUniformMemoryLevelAllocation(module, self.memoryHierarchy.defaultName):
            raise TilingError(
                f"every tensor must live in the home level {self.memoryHierarchy.defaultName} before tiling"
            )
        return self._tiling.setup(schedule, self.memoryHierarchy)

    def computeTilingSchedule(self) -> TilingSolution:
        """Solve every layer; layers with the same signature share one solve."""
        return self._tiling.solve(self.tileOptions())

    def chooseTiles(self, module: ModuleOp) -> TilingSolution:
        """What the choose-tiles pass does: solve every layer and record its schedule in
        the IR, as the op's `tiler.schedule` attribute (which apply-tiles reads)."""
        start = time.perf_counter()
        self.setupModel(module)
        solution = self.computeTilingSchedule()
        self.testTilingSolutionCorrectness(solution)
        self._tiling.record(solution)
        solution.compile_seconds = time.perf_counter() - start
        return solution

    def applyTiles(self, module: ModuleOp) -> None:
        """What the apply-tiles pass does: rewrite every compute op into the loop nest its
        `tiler.schedule` attribute describes (no solver), after checking the schedule fits
        the op and every level's capacity."""
        options = self.tileOptions()
        self._tiling.apply(module, self.schedule(module), self.memoryHierarchy, options.alignment)

    def testTilingSolutionCorrectness(self, tilingSolution: TilingSolution | ModuleOp) -> None:
        """Every buffer count is an integer >= 1, every buffer size is a multiple of the
        alignment, and every level's tiles fit its capacity (raises TilingError).

        Given the allocated module instead, the same on the real addresses, read back from
        the IR: aligned offsets inside each level's arena, arenas within capacity, buffer
        counts, and no two buffers sharing bytes while both are in use (raises
        MemoryAllocationError)."""
        if isinstance(tilingSolution, ModuleOp):
            self._allocation().check_addresses(tilingSolution)
            return
        check_solution(tilingSolution, self.tileOptions().alignment)

    def tile(self, module: ModuleOp) -> TilingSolution:
        """The tile pass: choose-tiles, apply-tiles, multi-buffer (solve, record, check,
        rewrite, overlap the loads of double-buffered inputs with compute)."""
        start = time.perf_counter()
        solution = self.chooseTiles(module)
        self.applyTiles(module)
        multi_buffer(module)
        solution.compile_seconds = time.perf_counter() - start
        return solution

    # -- allocation -------------------------------------------------------------------------

    def _allocation(self) -> AllocationFlow:
        return AllocationFlow(self.memoryHierarchy, self.allocateOptions(), self.minimalloc)

    def computeMemoryMap(self, module: ModuleOp) -> MemoryMap:
        """Per level, every buffer of the tiled module as a block: lifetime in schedule
        steps (half-open), size in bytes times its buffer count (aligned)."""
        return self._allocation().memory_map(module)

    def testMemoryMapCorrectness(self, memoryMap: MemoryMap) -> None:
        """Graph inputs are alive at the first step, outputs at the last, and every operand
        of every step is alive at that step (raises MemoryAllocationError)."""
        AllocationFlow.check_memory_map(memoryMap)

    def minimalloc(self, blocks: Sequence[Block], capacity: int, levelName: str) -> list[int]:
        """Offsets for `blocks` in `capacity` bytes. Like the reference, runs the external
        MiniMalloc (`$MINIMALLOC_INSTALL_DIR/minimalloc --capacity=N`, CSV in, `offset`
        column out) when that variable is set; else the native solver."""
        directory = os.environ.get("MINIMALLOC_INSTALL_DIR")
        if directory:
            return external_minimalloc(os.path.join(directory, "minimalloc"), blocks, capacity, self.workDir, levelName)
        return place(blocks, capacity, "MiniMalloc", self.seed, self.allocationTimeLimit)

    def annotateMemoryLevel(self, module: ModuleOp, memoryMap: MemoryMap) -> None:
        """Place every level's blocks with `memoryAllocStrategy`, check the placement
        (inside the capacity, aligned, no two live blocks overlapping), and write it into
        the IR: one arena per level, every buffer a view at its offset."""
        self._worstCaseBufferSize = {}  # stays empty if a level cannot be placed
        self._worstCaseBufferSize = self._allocation().place(module, memoryMap)

    def plotMemoryAlloc(self, memoryMap: MemoryMap, path: str | None = None) -> str:
        """The memory map as one self-contained interactive HTML page (returned, and
        written to `path` or `<workDir>/<testName>_memory_map.html` when given)."""
        page = write_memory_map_html(memoryMap, self._worstCaseBufferSize, list(self.memoryHierarchy.memoryLevels))
        if path is None and self.workDir:
            path = os.path.join(self.workDir, f"{self.testName or 'network'}_memory_map.html")
        if path is not None:
            write_output(path, page, "the memory-map view")
        return page

    def allocate(self, module: ModuleOp) -> MemoryMap:
        """The allocation flow: memory map, its checks, placement, checks, IR, (plot)."""
        with progress.stage("memory map"):
            memory_map = self.computeMemoryMap(module)
            self.testMemoryMapCorrectness(memory_map)
        with progress.stage("placement"):
            self.annotateMemoryLevel(module, memory_map)
            self.testTilingSolutionCorrectness(module)  # on the addresses now in the IR
        if self.visualizeMemoryAlloc:
            with progress.stage("view"):
                self.plotMemoryAlloc(memory_map)
        return memory_map
