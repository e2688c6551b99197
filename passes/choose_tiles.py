"""choose-tiles: decide every op's tiling with CP-SAT and record it in the IR.

    xdsl-opt model.mlir -p 'choose-tiles{l1=8K report=tiles.json}'

Each compute op gets a `tiler.schedule` attribute (see tiler_dialect.schedule): per level
below home, the largest tile extent of each iteration dim, the loop order of the split
dims and the copies of each operand's buffer (and their offsets with TetrisCo-Opt). Read
it, edit one layer by hand, and run `apply-tiles` on the result: the decision lives in the
IR between the two passes, as MLIR's affine tiling passes keep theirs. The options are
the `tile` pass's (`tiler_passes.options.HierarchyOptions` and `TileOptions`); `report`
writes the JSON tile report.
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
from tiler_passes.tiler import Tiler, TilingSolution


def choose_tiles(op: ModuleOp, options: HierarchyOptions | TileOptions) -> TilingSolution:
    if isinstance(options, HierarchyOptions) and options.overrides_hierarchy:
        set_hierarchy(op, options)
    solution = Tiler.configured(hierarchy_of(op), options).chooseTiles(op)  # type: ignore[arg-type]
    if options.report is not None:  # type: ignore[union-attr]
        write_output(options.report, json.dumps(solution.report(), indent=2) + "\n", "the tile report")  # type: ignore[union-attr]
    return solution


@dataclass(frozen=True)
class ChooseTilesPass(HierarchyOptions, TileOptions, ModulePass):
    name = "choose-tiles"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        choose_tiles(op, self)
