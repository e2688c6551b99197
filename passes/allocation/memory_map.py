"""The memory map of tiled IR: per level, every buffer as a block with a lifetime and a size.

Schedule steps are the runs of work in @main: the top-level ops between which buffers
are allocated or freed (a layer's loop nest, or an op computed in place, is one step).
A buffer allocated before step s and freed after step t lives on [s, t + 1), the
half-open convention of MiniMalloc's CSV files; one never freed (a graph output) lives to
the last step. Graph inputs live from the first step to their last use (or to the end
when returned); constants (`memref.global`) live throughout. Views (`tiler.reshape`,
subviews) are not blocks: their uses count as uses of the buffer they view. Sizes are the
allocation's bytes (the slot dim of a multi-buffered tile buffer included), aligned up;
offsets are multiples of the alignment asked for and of the element size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, MemRefType, ModuleOp, StringAttr
from xdsl.ir import BlockArgument, Operation, SSAValue

from tiler_dialect.attributes import ARENA_ATTR, OFFSET_ATTR, hierarchy_of, memory_level_of
from tiler_dialect.dma import DMA_TAGS_ATTR, is_dma_tags
from tiler_dialect.ops import NAME_ATTR, TilerOp, element_dtype, shaped_bytes
from tiler_passes.allocation.blocks import AllocationError, Block
from tiler_passes.tiling.problem import align_up
from tiler_passes.options import DEFAULT_ALIGNMENT



@dataclass
class MapBlock:
    block: Block
    level: str
    kind: str
    """"input", "constant", "activation" (a home-level allocation) or "buffer"."""
    value: SSAValue
    """The buffer: an alloc's result, a graph input, a get_global's result."""
    source: Operation | int
    """The op that defines it in the IR (alloc, global) or the argument index."""
    offset: int | None = None
    hint: int | None = None
    """An offset the tiling model already chose (TetrisCo-Opt), from the alloc's
    `tiler.offset`."""


@dataclass
class MemoryMap:
    steps: int
    capacities: dict[str, int]
    levels: dict[str, list[MapBlock]] = field(default_factory=dict)
    uses: list[set[SSAValue]] = field(default_factory=list)
    """Per step, the buffers its ops read or write."""
    returned: set[SSAValue] = field(default_factory=set)

    def blocks(self, level: str) -> list[Block]:
        return [b.block for b in self.levels.get(level, [])]

    def all(self) -> Iterator[MapBlock]:
        for blocks in self.levels.values():
            yield from blocks


def buffer_alignment(t: MemRefType, alignment: int) -> int:
    """A buffer's offsets are multiples of the alignment asked for and never below the
    element's own: a 4-byte float at an odd address is not addressable on the targets
    this is for."""
    return max(alignment, element_dtype(t.element_type).itemsize)


_BOOKKEEPING = (
    memref.AllocOp,
    memref.DeallocOp,
    memref.GetGlobalOp,
    memref.ViewOp,
    memref.CollapseShapeOp,
    memref.ExpandShapeOp,
    func.ReturnOp,
    arith.ConstantOp,
)


def _is_work(op: Operation) -> bool:
    return not isinstance(op, _BOOKKEEPING) and not (isinstance(op, TilerOp) and op.IS_VIEW)


def root_of(value: SSAValue) -> SSAValue:
    """The buffer a view (subview, reshape) of any depth looks into."""
    while True:
        owner = value.owner
        if isinstance(owner, memref.SubviewOp | memref.CollapseShapeOp | memref.ExpandShapeOp):
            value = owner.src if not isinstance(owner, memref.SubviewOp) else owner.source
        elif isinstance(owner, TilerOp) and owner.IS_VIEW and isinstance(owner.inputs[0].type, MemRefType):
            value = owner.inputs[0]
        else:
            return value


def _arg_name(main: func.FuncOp, i: int) -> str:
    attrs = main.arg_attrs
    entry = attrs.data[i] if attrs is not None and i < len(attrs.data) else None
    name = entry.data.get(NAME_ATTR) if isinstance(entry, DictionaryAttr) else None
    return name.data if isinstance(name, StringAttr) else f"arg{i}"


def function_ops(main: func.FuncOp) -> list[Operation]:
    """@main's ops in order: of its one block, or of every block of its control-flow
    graph in the order they are written (after convert-scf-to-cf)."""
    return [op for block in main.body.blocks for op in block.ops]


def _loop_spans(main: func.FuncOp, step_of: dict[Operation, int]) -> list[tuple[int, int]]:
    """The steps [first, last] of each loop of a control-flow graph: from a block that
    a later block branches back to, to that later block."""
    blocks = list(main.body.blocks)
    position = {id(b): i for i, b in enumerate(blocks)}
    spans = []
    for i, block in enumerate(blocks):
        last = block.last_op
        if last is None:
            continue
        for successor in last.successors:
            j = position[id(successor)]
            if j <= i and successor.first_op is not None:
                spans.append((step_of[successor.first_op], step_of[last]))
    return spans


def compute_memory_map(module: ModuleOp, main: func.FuncOp, alignment: int = DEFAULT_ALIGNMENT) -> MemoryMap:
    hierarchy = hierarchy_of(module)
    capacities = {name: level.size for name, level in hierarchy.memoryLevels.items()}
    ops = function_ops(main)
    step_of, steps = _steps(ops)
    uses = _uses_per_step(ops, step_of, steps)
    returned = {root_of(v) for op in ops if isinstance(op, func.ReturnOp) for v in op.operands}
    mmap = MemoryMap(steps, capacities, uses=uses, returned=returned)
    blocks = _Blocks(mmap, alignment)
    block = main.body.blocks[0]  # the entry block: its arguments are the graph's inputs
    for i, arg in enumerate(block.args):
        if isinstance(arg.type, MemRefType):
            upper = steps if arg in returned else blocks.last_use(arg)
            blocks.add(arg, i, "input", _arg_name(main, i), 0, upper)
    _add_buffers(module, ops, step_of, blocks, hierarchy.defaultName)
    _extend_over_loops(mmap, _loop_spans(main, step_of))
    return mmap


def _steps(ops: list[Operation]) -> tuple[dict[Operation, int], int]:
    """Each op's step: the runs of work ops are the steps; an op between runs belongs to
    the step that follows it. Returns the steps of the ops and how many there are."""
    step_of: dict[Operation, int] = {}
    runs, in_run = 0, False
    for op in ops:
        if _is_work(op):
            if not in_run:
                runs, in_run = runs + 1, True
            step_of[op] = runs - 1
        else:
            in_run = False
            step_of[op] = runs
    return step_of, max(runs, 1)


def _uses_per_step(ops: list[Operation], step_of: dict[Operation, int], steps: int) -> list[set[SSAValue]]:
    """Per step, the buffers (roots of memref views, DMA tags aside) its work ops use."""
    uses: list[set[SSAValue]] = [set() for _ in range(steps)]
    for op in ops:
        if _is_work(op):
            for inner in op.walk():
                for operand in inner.operands:
                    if isinstance(operand.type, MemRefType) and not is_dma_tags(root_of(operand)):
                        uses[step_of[op]].add(root_of(operand))
    return uses


class _Blocks:
    """Adds the map's blocks, one per buffer, each named uniquely in its level."""

    def __init__(self, mmap: MemoryMap, alignment: int):
        self.mmap, self.alignment = mmap, alignment
        self.taken: set[str] = set()

    def last_use(self, value: SSAValue) -> int:
        used = [s for s, u in enumerate(self.mmap.uses) if value in u]
        return max(used) + 1 if used else 1

    def add(self, value: SSAValue, source, kind: str, name: str, lower: int, upper: int, hint: int | None = None) -> None:
        t = value.type
        assert isinstance(t, MemRefType)
        capacities = self.mmap.capacities
        level = memory_level_of(t)
        if level is None:
            raise AllocationError(f"{name}: its memref has no memory level (#tiler.mem<...>) to allocate in")
        if level not in capacities:
            raise AllocationError(
                f"{name}: its memref lives in level '{level}', which the memory hierarchy does not have "
                f"(levels: {', '.join(capacities)})"
            )
        ident, k = name, 1
        while ident in self.taken:
            k += 1
            ident = f"{name}#{k}"
        self.taken.add(ident)
        align = buffer_alignment(t, self.alignment)
        size = align_up(shaped_bytes(t), align)
        upper = max(upper, lower + 1)
        self.mmap.levels.setdefault(level, []).append(
            MapBlock(Block(ident, lower, upper, size, align), level, kind, value, source, hint=hint)
        )


def _add_buffers(module: ModuleOp, ops: list[Operation], step_of: dict[Operation, int], blocks: _Blocks, home: str) -> None:
    """The constants (live throughout) and every statically sized allocation: from its
    step to its dealloc (or the end, if returned or never freed)."""
    steps, returned = blocks.mmap.steps, blocks.mmap.returned
    globals_ = {op.sym_name.data: op for op in module.walk() if isinstance(op, memref.GlobalOp)}
    seen_globals: dict[str, SSAValue] = {}
    frees = {root_of(op.memref): step_of[op] for op in ops if isinstance(op, memref.DeallocOp)}
    for op in ops:
        if isinstance(op, memref.GetGlobalOp):
            sym = op.name_.root_reference.data
            if sym in seen_globals:
                raise AllocationError(f"@{sym} is read by two memref.get_global ops; expected one per constant")
            seen_globals[sym] = op.memref
            blocks.add(op.memref, globals_[sym], "constant", sym, 0, steps)
        elif isinstance(op, memref.AllocOp) and ARENA_ATTR not in op.attributes and DMA_TAGS_ATTR not in op.attributes:
            if op.dynamic_sizes:
                raise AllocationError("dynamically sized memref.alloc cannot be allocated statically")
            name = op.attributes.get(NAME_ATTR)
            label = name.data if isinstance(name, StringAttr) else (op.memref.name_hint or "buffer")
            # in the home level: a layer's result; below it: a tile buffer of one op
            kind = "activation" if memory_level_of(op.memref.type) == home else "buffer"
            upper = steps if op.memref in returned else frees.get(op.memref, steps)
            hint = op.attributes.get(OFFSET_ATTR)
            blocks.add(op.memref, op, kind, label, step_of[op], upper, hint.value.data if isinstance(hint, IntegerAttr) else None)


def _extend_over_loops(mmap: MemoryMap, spans: list[tuple[int, int]]) -> None:
    """A buffer live in part of a control-flow loop is live in all of it (the loop comes
    back to where it started); one allocated and freed inside a loop stays as it is."""
    changed = bool(spans)
    while changed:
        changed = False
        for b in mmap.all():
            lo, hi = b.block.lower, b.block.upper
            for first, last in spans:
                inside = first <= lo and hi <= last + 1
                if not inside and lo <= last and hi > first and (lo > first or hi < last + 1):
                    lo, hi = min(lo, first), max(hi, last + 1)
            if (lo, hi) != (b.block.lower, b.block.upper):
                b.block = Block(b.block.id, lo, hi, b.block.size, b.block.align)
                changed = True


def check_memory_map(mmap: MemoryMap) -> None:
    """The reference's testMemoryMapCorrectness: graph inputs are alive at the first step,
    outputs at the last, and every buffer an op uses is alive at that op's step."""
    alive: dict[SSAValue, MapBlock] = {b.value: b for b in mmap.all()}
    for b in mmap.all():
        if b.kind == "input" and b.block.lower != 0:
            raise AllocationError(f"input {b.block.id} is not alive at the first step")
    for value in mmap.returned:
        b = alive.get(value)
        if b is not None and b.block.upper != mmap.steps:
            raise AllocationError(f"output {b.block.id} is not alive at the last step ({mmap.steps - 1})")
    for step, used in enumerate(mmap.uses):
        for value in used:
            b = alive.get(value)
            if b is None:
                if isinstance(value, BlockArgument) or isinstance(value.owner, memref.AllocOp | memref.GetGlobalOp):
                    raise AllocationError(f"step {step} uses a buffer the memory map does not hold")
                continue  # e.g. a view of an arena: placed already
            if not b.block.lower <= step < b.block.upper:
                raise AllocationError(
                    f"{b.block.id} is used at step {step} but lives on [{b.block.lower}, {b.block.upper})"
                )
