"""tile: choose tile sizes with CP-SAT and rewrite every layer into double-buffered DMA
loop nests (a thin wrapper around `Tiler`, see tiler_passes.tiler).

    xdsl-opt model.mlir -p 'tile{l1=8K double-buffer=false report=tiles.json}'

Hierarchy options (`l1`, `l2`, `l3`, `default-mem-level`, `hierarchy-file`) override the
module's hierarchy first, as set-memory-hierarchy does. `search-strategy` is "cycles"
(the cost model, default), "max", "min" or "random-max"; `alignment` rounds buffer sizes
(bytes); `seed` seeds the solver; `report` writes the JSON tile report. The options and
their checks are `tiler_passes.options.HierarchyOptions` and `TileOptions`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from tiler_dialect.attributes import hierarchy_of
from tiler_passes.options import HierarchyOptions, TileOptions
from tiler_passes.output_files import write_output
from tiler_passes.set_memory_hierarchy import set_hierarchy
from tiler_passes.tiler import Tiler


@dataclass(frozen=True)
class TilePass(HierarchyOptions, TileOptions, ModulePass):
    name = "tile"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.overrides_hierarchy:
            set_hierarchy(op, self)
        tiler = Tiler(hierarchy_of(op))
        tiler.searchStrategy = self.search_strategy  # type: ignore[assignment]
        tiler.doubleBuffer = self.double_buffer
        tiler.alignment = self.alignment
        tiler.seed = self.seed
        tiler.memoryAllocStrategy = self.mem_alloc_strategy  # type: ignore[assignment]
        solution = tiler.tile(op)
        if self.report is not None:
            write_output(self.report, json.dumps(solution.report(), indent=2) + "\n", "the tile report")
