"""tile: the pipeline of the tiling steps, choose-tiles, apply-tiles, multi-buffer.

    xdsl-opt model.mlir -p 'tile{l1=8K double-buffer=false report=tiles.json}'

is `choose-tiles{l1=8K double-buffer=false report=tiles.json},apply-tiles,multi-buffer`
in one pass (the same IR and report). Hierarchy options (`l1`, `l2`, `l3`, `default-mem-level`,
`hierarchy-file`) override the module's hierarchy first, as set-memory-hierarchy does.
`search-strategy` is "cycles" (the cost model, default), "max", "min" or "random-max";
`alignment` rounds buffer sizes (bytes); `seed` seeds the solver; `report` writes the
JSON tile report. The options and their checks are `tiler_passes.options.HierarchyOptions`
and `TileOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from tiler_passes import progress
from tiler_passes.apply_tiles import apply_tiles
from tiler_passes.choose_tiles import choose_tiles
from tiler_passes.multi_buffer import multi_buffer
from tiler_passes.options import HierarchyOptions, TileOptions


@dataclass(frozen=True)
class TilePass(HierarchyOptions, TileOptions, ModulePass):
    name = "tile"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        with progress.stage("choose-tiles"):
            choose_tiles(op, self)
        with progress.stage("apply-tiles"):
            apply_tiles(op, self.alignment)
        with progress.stage("multi-buffer"):
            multi_buffer(op)
