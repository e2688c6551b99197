"""Writing a placement into the IR.

Per level, one arena at the top of @main, sized to the level's highest end address:

    %arena_L1 = memref.alloc() {tiler.arena = "L1"} : memref<8192xi8, #tiler.mem<"L1">>

and every allocation becomes a view of its arena at its offset (MLIR's `memref.view`),
its `memref.dealloc` gone (the placement already reuses the space):

    %x = memref.view %arena_L1[%c1024][] {tiler.name = "..."} : memref<8192xi8, ...> to memref<2x1x4x6xf32, ...>

Graph inputs and constants, which the runtime places before the call, carry their offset
as `tiler.offset` (an argument attribute; an attribute of the `memref.global`).
"""

from __future__ import annotations

from collections.abc import Mapping

from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    StringAttr,
    i8,
    i64,
)
from xdsl.ir import Block, Operation, SSAValue

from tiler_dialect.attributes import ARENA_ATTR, OFFSET_ATTR, MemorySpaceAttr
from tiler_dialect.ops import NAME_ATTR
from tiler_passes.allocation.memory_map import MemoryMap, function_ops


def _index_constants(block: Block) -> dict[int, SSAValue]:
    found = {}
    for op in block.ops:
        if isinstance(op, arith.ConstantOp) and isinstance(op.result.type, IndexType):
            value = op.value
            if isinstance(value, IntegerAttr):
                found.setdefault(value.value.data, op.result)
    return found


def write_placement(main: func.FuncOp, mmap: MemoryMap, arenas: Mapping[str, int], level_order: list[str]) -> None:
    """`mmap`'s blocks must all have offsets; `arenas` gives each level's arena bytes."""
    block = main.body.blocks[0]  # the entry block, which dominates every use
    constants = _index_constants(block)
    # new ops go to the top, in a stable order: the offsets' index constants, the arenas
    top: list[Operation] = []
    for value in sorted({b.offset for b in mmap.all() if b.kind in ("activation", "buffer")} - constants.keys()):
        c = arith.ConstantOp(IntegerAttr(value, IndexType()))
        c.result.name_hint = f"c{value}"
        constants[value] = c.result
        top.append(c)
    arena_values: dict[str, SSAValue] = {}
    for level in level_order:
        if level not in mmap.levels:
            continue
        t = MemRefType(i8, [max(arenas[level], 1)], memory_space=MemorySpaceAttr(level))
        alloc = memref.AllocOp([], [], t)
        alloc.attributes[ARENA_ATTR] = StringAttr(level)
        alloc.results[0].name_hint = f"arena_{level}"
        arena_values[level] = alloc.results[0]
        top.append(alloc)
    for op in reversed(top):
        if block.first_op is None:
            block.add_op(op)
        else:
            block.insert_op_before(op, block.first_op)

    replaced: set[SSAValue] = set()
    arg_attrs = list(main.arg_attrs.data) if main.arg_attrs is not None else [DictionaryAttr({})] * len(block.args)
    for b in mmap.all():
        assert b.offset is not None, b.block.id
        if b.kind == "input":
            i = b.source
            assert isinstance(i, int)
            entries = dict(arg_attrs[i].data)
            entries[OFFSET_ATTR] = IntegerAttr(b.offset, i64)
            arg_attrs[i] = DictionaryAttr(entries)
        elif b.kind == "constant":
            assert isinstance(b.source, memref.GlobalOp)
            b.source.attributes[OFFSET_ATTR] = IntegerAttr(b.offset, i64)
        else:
            alloc = b.source
            assert isinstance(alloc, memref.AllocOp)
            t = alloc.memref.type
            assert isinstance(t, MemRefType)
            view = memref.ViewOp(arena_values[b.level], constants[b.offset], [], t)
            view.attributes.update({k: v for k, v in alloc.attributes.items() if k == NAME_ATTR})
            view.result.name_hint = alloc.memref.name_hint
            home = alloc.parent_block()
            assert home is not None
            home.insert_op_before(view, alloc)
            alloc.memref.replace_all_uses_with(view.result)
            home.erase_op(alloc)
            replaced.add(view.result)
    if block.args:
        main.arg_attrs = ArrayAttr(arg_attrs)
    for op in function_ops(main):
        if isinstance(op, memref.DeallocOp) and op.memref in replaced:
            op.detach()
            op.erase()
