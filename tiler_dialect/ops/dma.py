"""Asynchronous DMA between neighbouring memory levels.

    tiler.dma_start %src to %dst tag [2, %slot] : memref<...L2> to memref<...L1>
    ...
    tiler.dma_wait tag [2, %slot]

`dma_start` begins copying the rectangle `src` (any strided view) into `dst` (a view of
the same shape in a neighbouring level). The data is guaranteed in `dst` only after the
`dma_wait` with the same tag, a (stream, slot) pair; until then neither may be touched:
reading `dst` is a read before wait, writing `src` or `dst` an overwrite while in flight.
Waiting on a tag with no transfer in flight does nothing, so pipelined code can wait for
a slot's previous transfer without tracking whether there was one.
"""

from __future__ import annotations

from xdsl.dialects.builtin import DYNAMIC_INDEX, DenseArrayBase, IndexType, MemRefType
from xdsl.dialects.utils import DynamicIndexList
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    var_operand_def,
)
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.attributes import memory_level_of, shared_hierarchy_of, verify_memory_level


def _verify_tag(op: IRDLOperation, static_tag: DenseArrayBase) -> None:
    values = static_tag.get_values()
    if len(values) != 2:
        raise VerifyException(f"a DMA tag is [stream, slot], got {len(values)} values")
    if values[0] == DYNAMIC_INDEX or values[0] < 0:
        raise VerifyException("the tag's stream must be a non-negative constant")
    dynamic = sum(1 for v in values if v == DYNAMIC_INDEX)
    if dynamic != len(op.tag_values):  # type: ignore[attr-defined]
        raise VerifyException(f"the tag names {dynamic} dynamic value(s), {len(op.tag_values)} given")  # type: ignore[attr-defined]


@irdl_op_definition
class DmaStartOp(IRDLOperation):
    name = "tiler.dma_start"

    source = operand_def(MemRefType)
    target = operand_def(MemRefType)
    tag_values = var_operand_def(IndexType)
    static_tag = prop_def(DenseArrayBase)

    assembly_format = (
        "$source `to` $target `tag` custom<DynamicIndexList>($tag_values, $static_tag) "
        "attr-dict `:` type($source) `to` type($target)"
    )
    custom_directives = (DynamicIndexList,)

    def verify_(self) -> None:
        _verify_tag(self, self.static_tag)
        src, dst = self.source.type, self.target.type
        assert isinstance(src, MemRefType) and isinstance(dst, MemRefType)
        verify_memory_level(src, self, "source")
        verify_memory_level(dst, self, "target")
        if src.element_type != dst.element_type:
            raise VerifyException(f"source holds {src.element_type}, target {dst.element_type}")
        a, b = src.get_shape(), dst.get_shape()
        if len(a) != len(b) or any(x != y and DYNAMIC_INDEX not in (x, y) for x, y in zip(a, b)):
            raise VerifyException(f"source shape {list(a)} and target shape {list(b)} differ")
        s_level, d_level = memory_level_of(src), memory_level_of(dst)
        hierarchy = shared_hierarchy_of(self)
        if s_level == d_level:
            raise VerifyException(f"a DMA moves data between levels; both sides are in {s_level}")
        if hierarchy.bfs(s_level, d_level) != [s_level, d_level]:  # type: ignore[arg-type]
            raise VerifyException(f"levels {s_level} and {d_level} are not neighbours: no DMA connects them")


@irdl_op_definition
class DmaWaitOp(IRDLOperation):
    name = "tiler.dma_wait"

    tag_values = var_operand_def(IndexType)
    static_tag = prop_def(DenseArrayBase)

    assembly_format = "`tag` custom<DynamicIndexList>($tag_values, $static_tag) attr-dict"
    custom_directives = (DynamicIndexList,)

    def verify_(self) -> None:
        _verify_tag(self, self.static_tag)
