"""DMA between neighbouring memory levels, as upstream `memref.dma_start`/`dma_wait`.

The tiler moves each tile as one transfer between two views of the same shape:

    %tags = memref.alloc() {tiler.dma_tags} : memref<4x2xi32>
    memref.dma_start %src[%c0, %c0], %dst[%c0, %c0], %n, %tags[%c1, %slot]
        : memref<8x16xf32, strided<[64, 1], offset: ?>, #tiler.mem<"L2">>,
          memref<8x16xf32, strided<[16, 1]>, #tiler.mem<"L1">>, memref<4x2xi32>
    ...
    memref.dma_wait %tags[%c1, %slot], %c128 : memref<4x2xi32>

Semantics, as the executor and the generated C implement them: `dma_start` copies
`num_elements` elements of the source view, in row-major order of its indices from the
given ones, into the destination view at the given indices (the tiler gives zeros and the
whole view, so a start moves one strided N-d rectangle). The data is in the destination
only after the `dma_wait` on the same tag element; until then neither side may be
touched: reading the destination is a read before wait, writing either side an overwrite
in flight. Waiting on a tag with no transfer in flight does nothing, so pipelined code
can wait for a slot's previous transfer without knowing whether there was one. The count
on a wait is the size of the slot the tag guards (an upper bound of the transfer's); the
runtime waits by tag.

Each op's loop nest allocates its own tag array, one row per DMA stream (operand and
level) and one column per buffer copy; it carries `tiler.dma_tags` and no memory level:
it names transfers, it holds no data, so allocation leaves it out of the arenas.
"""

from __future__ import annotations

from xdsl.dialects import memref
from xdsl.dialects.builtin import MemRefType, ModuleOp
from xdsl.ir import SSAValue

from tiler_dialect.attributes import memory_level_of, shared_hierarchy_of
from tiler_dialect.errors import TilerError
from tiler_dialect.naming import op_label

DMA_TAGS_ATTR = "tiler.dma_tags"
"""On the `memref.alloc` of an op nest's DMA tag array."""

TILE_LOOP_ATTR = "tiler.tile_loop"
"""On an `scf.for` over the tiles of one level of an op's nest ("conv1: L1"): the loops
the multi-buffer pass pipelines."""

PIPELINED_ATTR = "tiler.pipelined"
"""On a tile loop whose loads the multi-buffer pass starts a tile early."""


class DmaError(TilerError):
    """A transfer the hierarchy cannot do (levels that are not neighbours, shapes or
    element types that differ)."""


def is_dma_tags(value: SSAValue) -> bool:
    owner = value.owner
    return isinstance(owner, memref.AllocOp) and DMA_TAGS_ATTR in owner.attributes


def check_dma(module: ModuleOp) -> None:
    """Every `memref.dma_start` between tiler levels connects neighbouring levels and
    copies between views of one element type (DmaError otherwise)."""
    hierarchy = shared_hierarchy_of(module)
    for op in module.walk():
        if not isinstance(op, memref.DmaStartOp):
            continue
        src, dst = op.src.type, op.dest.type
        assert isinstance(src, MemRefType) and isinstance(dst, MemRefType)
        a, b = memory_level_of(src), memory_level_of(dst)
        if a is None or b is None:
            continue  # not between tiler levels: upstream semantics only
        if src.element_type != dst.element_type:
            raise DmaError(f"{op_label(op)}: the source holds {src.element_type}, the destination {dst.element_type}")
        for level in (a, b):
            if level not in hierarchy.memoryLevels:
                raise DmaError(f"{op_label(op)}: level {level} is not in the module's hierarchy")
        if hierarchy.bfs(a, b) != [a, b]:
            raise DmaError(f"{op_label(op)}: levels {a} and {b} are not neighbours: no DMA connects them")
