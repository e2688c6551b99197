"""tile: choose tile sizes with CP-SAT and rewrite every layer into double-buffered DMA
loop nests (a thin wrapper around `Tiler`, see tiler_passes.tiler).

    xdsl-opt model.mlir -p 'tile{l1=8192 double-buffer=false report=tiles.json}'

Hierarchy options (`l1`, `l2`, `l3`, `default-mem-level`, `hierarchy-file`) override the
module's hierarchy first, as set-memory-hierarchy does. `search-strategy` is "cycles"
(the cost model, default), "max", "min" or "random-max"; `alignment` rounds buffer sizes
(bytes); `seed` seeds the solver; `report` writes the JSON tile report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from tiler_dialect.attributes import hierarchy_of
from tiler_passes.set_memory_hierarchy import SetMemoryHierarchyPass
from tiler_passes.tiler import Tiler
from tiler_tools.files import write_atomically


@dataclass(frozen=True)
class TilePass(ModulePass):
    name = "tile"

    l1: int | None = None
    l2: int | None = None
    l3: int | None = None
    default_mem_level: str | None = None
    hierarchy_file: str | None = None
    search_strategy: str = "cycles"
    double_buffer: bool = True
    alignment: int = 4
    seed: int = 0
    report: str | None = None
    mem_alloc_strategy: str = "MiniMalloc"
    """With "TetrisCo-Opt", the tiling model also places each op's buffers (their offsets
    are kept by the allocate pass with the same strategy)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        overrides = (self.l1, self.l2, self.l3, self.default_mem_level, self.hierarchy_file)
        if any(v is not None for v in overrides):
            SetMemoryHierarchyPass(*overrides).apply(ctx, op)
        tiler = Tiler(hierarchy_of(op))
        tiler.searchStrategy = self.search_strategy  # type: ignore[assignment]
        tiler.doubleBuffer = self.double_buffer
        tiler.alignment = self.alignment
        tiler.seed = self.seed
        tiler.memoryAllocStrategy = self.mem_alloc_strategy  # type: ignore[assignment]
        solution = tiler.tile(op)
        if self.report is not None:
            write_atomically(self.report, json.dumps(solution.report(), indent=2) + "\n")
