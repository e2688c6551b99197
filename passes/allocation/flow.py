"""The allocation flow behind the `Tiler`'s reference names (passes/tiler.py): the memory
map of the tiled module, its checks, the placement of every level's blocks with the chosen
strategy, the checks of the placement, and its record in the IR (arenas and offsets)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.dialects.builtin import ModuleOp, TensorType

from tiler_dialect.attributes import ARENA_ATTR
from tiler_dialect.errors import TilerPassFailed
from tiler_dialect.hierarchy import MemoryHierarchy
from tiler_dialect.program import check_defined_before_use, main_function
from tiler_passes.allocation.address_check import check_addresses
from tiler_passes.allocation.annotate import write_placement
from tiler_passes.allocation.blocks import AllocationError, Block, busiest_time, check_placement, lower_bound, peak
from tiler_passes.allocation.memory_map import MemoryMap, check_memory_map, compute_memory_map
from tiler_passes.allocation.strategies import place
from tiler_passes.options import AllocateOptions


class MemoryAllocationError(TilerPassFailed):
    """The buffers cannot be placed as asked, or a placement check failed; the message
    says which level and why."""


NativePlacement = Callable[[Sequence[Block], int, str], list[int]]
"""(blocks, capacity, level name) -> offsets: the reference's `minimalloc` hook."""


class AllocationFlow:
    """Allocation, as the `Tiler` runs it, with the options it was given."""

    def __init__(self, hierarchy: MemoryHierarchy, options: AllocateOptions, minimalloc: NativePlacement):
        self.hierarchy = hierarchy
        self.options = options
        self.minimalloc = minimalloc

    def memory_map(self, module: ModuleOp) -> MemoryMap:
        """Per level, every buffer of the tiled module as a block: lifetime in schedule
        steps (half-open), size in bytes times its buffer count (aligned)."""
        if any(isinstance(v.type, TensorType) for op in module.walk() for v in op.results):
            raise MemoryAllocationError("allocation needs tiled (bufferized) IR: run the tile pass first")
        main = main_function(module)
        check_defined_before_use(module)
        if any(ARENA_ATTR in op.attributes for op in main.body.blocks[0].ops):
            raise MemoryAllocationError("the module is allocated already (it has arenas)")
        try:
            return compute_memory_map(module, main, self.options.alignment)
        except AllocationError as e:
            raise MemoryAllocationError(str(e)) from None

    @staticmethod
    def check_memory_map(memory_map: MemoryMap) -> None:
        """Graph inputs are alive at the first step, outputs at the last, and every operand
        of every step is alive at that step (MemoryAllocationError)."""
        try:
            check_memory_map(memory_map)
        except AllocationError as e:
            raise MemoryAllocationError(f"memory map: {e}") from None

    def place(self, module: ModuleOp, memory_map: MemoryMap) -> dict[str, int]:
        """Place every level's blocks, check the placement (inside the capacity, aligned,
        no two live blocks overlapping) and write it into the IR: one arena per level,
        every buffer a view at its offset. Returns each level's arena size."""
        arenas: dict[str, int] = {}
        for level, mblocks in memory_map.levels.items():
            offsets = self._place_level(level, [b.block for b in mblocks], memory_map.capacities[level], mblocks)
            for b, o in zip(mblocks, offsets):
                b.offset = o
            arenas[level] = peak([b.block for b in mblocks], offsets)
        write_placement(main_function(module), memory_map, arenas, list(self.hierarchy.memoryLevels))
        return arenas

    def _place_level(self, level: str, blocks: list[Block], capacity: int, mblocks) -> list[int]:
        strategy = self.options.strategy
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
            if strategy == "MiniMalloc":  # through the reference's hook
                offsets = self.minimalloc(blocks, capacity, level)
            else:
                # Co-Opt keeps the offsets the tiling model chose with the tile sizes
                fixed = {i: b.hint for i, b in enumerate(mblocks) if b.hint is not None}
                offsets = place(blocks, capacity, strategy, self.options.seed, self.options.timeout, fixed)
            check_placement(blocks, offsets, capacity)
        except AllocationError as e:
            raise MemoryAllocationError(
                f"{level}: {strategy} could not place its {len(blocks)} buffers in "
                f"{capacity} bytes (at most {need} are live at once): {e}"
            ) from None
        return offsets

    def check_addresses(self, module: ModuleOp) -> None:
        """The allocated module's real addresses, read back from the IR: aligned offsets
        inside each level's arena, arenas within capacity, buffer counts, and no two
        buffers sharing bytes while both are in use (MemoryAllocationError)."""
        capacities = {name: level.size for name, level in self.hierarchy.memoryLevels.items()}
        try:
            check_addresses(module, main_function(module), capacities, self.hierarchy.defaultName, self.options.alignment)
        except AllocationError as e:
            raise MemoryAllocationError(f"allocated IR: {e}") from None
