"""apply-tiles: rewrite every compute op into the loop nest its `tiler.schedule` says.

    xdsl-opt scheduled.mlir -p apply-tiles

No solver runs: each op's schedule attribute (written by choose-tiles, or by hand) gives
its tiles, loop order and buffer copies per level. The op becomes a loop nest per level:
a buffer per operand in that level, DMA of each tile in and of each output tile out, the
op's destination form on the compute level's views; tensors become memrefs (constants
`memref.global`, activations `memref.alloc` in their home level, freed after their last
use). A schedule that does not fit the op, or whose buffers overflow a level, is an error
naming the op. `alignment` (bytes, default `DEFAULT_ALIGNMENT`, 4) rounds buffer sizes as choose-tiles did.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from tiler_dialect.attributes import hierarchy_of
from tiler_passes.options import DEFAULT_ALIGNMENT, ApplyTilesOptions
from tiler_passes.tiler import Tiler


def apply_tiles(op: ModuleOp, alignment: int = DEFAULT_ALIGNMENT) -> None:
    tiler = Tiler(hierarchy_of(op))
    tiler.alignment = alignment
    tiler.applyTiles(op)


@dataclass(frozen=True)
class ApplyTilesPass(ApplyTilesOptions, ModulePass):
    name = "apply-tiles"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        apply_tiles(op, self.alignment)
