"""multi-buffer: start each tile's loads one tile early, so they overlap the compute.

    xdsl-opt tiled.mlir -p multi-buffer

The job of MLIR's affine-pipeline-data-transfer, on the loop nests apply-tiles writes. In
a tile loop (`scf.for {tiler.tile_loop = "conv1: L1"}`) a load into an input buffer with
two or more copies (its leading dim; the schedule's `buffers`) starts at the top of the
tile it feeds and is waited for at once. This pass moves that start one tile earlier:

    prologue   the load of the first tile, before the loop
    loop t     scf.if t + 1 < T: the load of tile t + 1, into its copy (the index
               arithmetic it needs is cloned with t + 1 for t), then tile t as before,
               which now waits for a transfer started a tile ago; the loop is marked
               {tiler.pipelined}

A load into copy (t / stride) % copies writes a copy the compute of tile t does not read
(it starts only when the operand's region changes, which moves it to the next copy), so
the IR stays correct; the executor's DMA hazard checks would say otherwise. Loads into a
single copy, stores, and loops already pipelined are left as they are. Like MLIR's pass it
keeps the loop's bounds and guards the last prefetch instead of peeling an epilogue, so
nothing of the body (inner levels' nests included) is duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import MemRefType, ModuleOp, StringAttr, UnitAttr
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.transforms.dead_code_elimination import region_dce

from tiler_dialect.attributes import memory_level_of, shared_hierarchy_of
from tiler_dialect.dma import PIPELINED_ATTR, TILE_LOOP_ATTR
from tiler_dialect.ops import TilerOp
from tiler_passes.tiling.fold import Constants, fold


def _buffer(value: SSAValue) -> SSAValue:
    """The buffer a view (subview, reshape) views."""
    while True:
        owner = value.owner
        if isinstance(owner, memref.SubviewOp):
            value = owner.source
        elif isinstance(owner, TilerOp) and owner.IS_VIEW:
            value = owner.inputs[0]
        else:
            return value


def _copies(buffer: SSAValue) -> int:
    t = buffer.type
    return t.get_shape()[0] if isinstance(t, MemRefType) and t.get_shape() else 1


def _starts(op: Operation) -> list[memref.DmaStartOp]:
    return [inner for inner in op.walk() if isinstance(inner, memref.DmaStartOp)]


def _is_load_start(op: Operation, level: str, loop: scf.ForOp) -> bool:
    """A DMA start into `level` (the loop's level) from farther from the compute level (a
    load, not an inner level's store), whose buffer, allocated outside the loop, has two
    copies or more; alone or in an scf.if with nothing else that acts."""
    if isinstance(op, scf.IfOp):
        if op.false_region.blocks and any(not isinstance(o, scf.YieldOp) for o in op.false_region.block.ops):
            return False
        acting = [o for o in op.walk() if o is not op and not _pure(o) and not isinstance(o, scf.YieldOp)]
        if len(acting) != 1 or not isinstance(acting[0], memref.DmaStartOp):
            return False
        start = acting[0]
    elif isinstance(op, memref.DmaStartOp):
        start = op
    else:
        return False
    if memory_level_of(start.dest.type) != level:
        return False
    source = memory_level_of(start.src.type)
    hierarchy = shared_hierarchy_of(loop)
    if source not in hierarchy.memoryLevels or level not in hierarchy.memoryLevels:
        return False
    compute = hierarchy.computeName
    if len(hierarchy.bfs(source, compute)) <= len(hierarchy.bfs(level, compute)):
        return False  # towards home: a store
    buffer = _buffer(start.dest)
    outside = not loop.is_ancestor(buffer.owner) if isinstance(buffer.owner, Operation) else True
    return outside and _copies(buffer) >= 2


def _pure(op: Operation) -> bool:
    """Index arithmetic and views: what a load's slice may contain and cloning repeats."""
    return op.dialect_name() == "arith" or isinstance(op, memref.SubviewOp)


def _slice(ops: list[Operation], body: Block) -> list[Operation] | None:
    """The ops of `body` (top level) that `ops` depend on, in body order; None if one of
    them is not pure (then the load cannot move)."""
    needed: set[Operation] = set()
    work: list[SSAValue] = [v for op in ops for inner in op.walk() for v in inner.operands]
    while work:
        value = work.pop()
        owner = value.owner
        if not isinstance(owner, Operation) or owner.parent_block() is not body or owner in needed or owner in ops:
            continue
        if not _pure(owner):
            return None
        needed.add(owner)
        work.extend(owner.operands)
    return [op for op in body.ops if op in needed]


def _clone(ops: list[Operation], mapping: dict[SSAValue, SSAValue]) -> list[Operation]:
    out = []
    for op in ops:
        copy = op.clone(value_mapper=mapping)
        for old, new in zip(op.results, copy.results):
            mapping[old] = new
        out.append(copy)
    return out


def _entry_block(op: Operation) -> Block:
    """The entry block of the function that holds `op`."""
    cur = op
    while not isinstance(cur.parent_op(), func.FuncOp):
        parent = cur.parent_op()
        assert parent is not None
        cur = parent
    block = cur.parent_block()
    assert block is not None
    return block


def pipeline(loop: scf.ForOp) -> bool:
    """Prefetch the loads of one tile loop; False when there is nothing to move."""
    label = loop.attributes.get(TILE_LOOP_ATTR)
    if not isinstance(label, StringAttr):
        return False
    level = label.data.rpartition(": ")[2]
    body = loop.body.block
    if PIPELINED_ATTR in loop.attributes:
        return False
    loads = [op for op in body.ops if _is_load_start(op, level, loop)]
    group = _slice(loads, body) if loads else None
    if not loads or group is None:
        return False
    iv = body.args[0]
    # prologue: the first tile's loads, their arithmetic folded to constants
    parent = loop.parent_block()
    assert parent is not None
    constants = Constants(_entry_block(loop))
    for op in fold(_clone([*group, *loads], {iv: loop.lb}), constants):
        parent.insert_op_before(op, loop)
    constants.drop_unused()
    # in the loop: the next tile's, while this one computes
    following = arith.AddiOp(iv, loop.step)
    following.result.name_hint = "next"
    more = arith.CmpiOp(following.result, loop.ub, "slt")
    block = Block()
    for op in _clone([*group, *loads], {iv: following.result}):
        block.add_op(op)
    block.add_op(scf.YieldOp())
    prefetch = scf.IfOp(more.result, [], Region(block))
    loop.attributes[PIPELINED_ATTR] = UnitAttr()
    first = body.first_op
    assert first is not None
    for op in (following, more, prefetch):
        body.insert_op_before(op, first)
    for op in loads:
        body.erase_op(op)
    region_dce(loop.body)  # the slices' originals nothing else used
    return True


@dataclass(frozen=True)
class MultiBufferPass(ModulePass):
    name = "multi-buffer"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        multi_buffer(op)


def multi_buffer(module: ModuleOp) -> int:
    """Pipeline every tile loop of the module; returns how many were."""
    loops = [op for op in module.walk() if isinstance(op, scf.ForOp) and TILE_LOOP_ATTR in op.attributes]
    return sum(pipeline(loop) for loop in loops)
