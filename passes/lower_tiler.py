"""lower-tiler: every tiler op becomes upstream linalg/memref/scf/arith/math.

    xdsl-opt tiled.mlir -p lower-tiler
    xdsl-opt allocated.mlir -p 'lower-tiler{memory-spaces=integers}'

Compute ops (tile or destination form, on memrefs) become `linalg.generic`s built from
their tiling descriptions (passes/lowering): the loops of the tile's box, the operands'
maps relative to the regions the tile's buffers hold, border padding as guarded reads,
a split reduction's first tile initialising the output (to its bias, or the combiner's
identity) and the others accumulating. Softmax and layer normalization take a few steps
over a per-row scratch buffer, allocated in the compute level around the op's loop nest
(allocate places it like any buffer). Reshape views become `memref.collapse_shape` and
`memref.expand_shape`. Afterwards the module holds no tiler op, and no unsigned type
(arith's integers are signless: the unsigned data's ops are the unsigned forms, and
@main's unsigned arguments and results say so with `tiler.unsigned`; lowering/signless.py).

`memory-spaces=integers` (run it last, after allocate) replaces every `#tiler.mem<"L">`
memory space by the level's position in the hierarchy (the module's `tiler.levels`
records the order) and drops the `#tiler.hierarchy` attribute, for tools that know no
tiler attribute (mlir-opt, iree-opt); it also drops the names of `memref.dma_start`s,
which MLIR's parser of that op does not accept. The default, `names`, keeps them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func, memref
from xdsl.dialects.builtin import (
    ArrayAttr,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    NoneAttr,
    StringAttr,
    i64,
)
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    TypeConversionPattern,
    attr_type_rewrite_pattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from tiler_dialect.errors import raise_at
from tiler_dialect.attributes import HIERARCHY_ATTR_NAME, MemorySpaceAttr, hierarchy_of
from tiler_dialect.ops import TilerOp
from tiler_passes.lowering.ops import LoweringError, lower_compute
from tiler_passes.lowering.signless import unsigned_to_signless
from tiler_passes.lowering.views import dense_i64, reassociation
from tiler_passes.options import OptionError, Options

MEMORY_SPACES = ("names", "integers")
LEVELS_ATTR = "tiler.levels"


def _top_level(op: Operation) -> Operation:
    """The ancestor of `op` directly in its function's body."""
    while not isinstance(op.parent_op(), func.FuncOp):
        parent = op.parent_op()
        assert parent is not None
        op = parent
    return op


class LowerComputeOp(RewritePattern):
    """A compute op on memrefs -> its linalg ops (and scratch around its loop nest)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TilerOp, rewriter: PatternRewriter) -> None:
        if op.IS_VIEW:
            return
        try:
            lowered = lower_compute(op)
        except LoweringError as e:
            raise_at(op, e)
        if lowered.hoisted:
            anchor = _top_level(op)
            for alloc in lowered.hoisted:
                rewriter.insert(alloc, InsertPoint.before(anchor))
            rewriter.insert([memref.DeallocOp.get(alloc) for alloc in reversed(lowered.hoisted)], InsertPoint.after(anchor))
        rewriter.insert(lowered.ops, InsertPoint.before(op))
        rewriter.erase(op)


class LowerReshapeView(RewritePattern):
    """A reshape of a contiguous buffer -> collapse to one dim, then expand."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TilerOp, rewriter: PatternRewriter) -> None:
        if not op.IS_VIEW:
            return
        source = op.inputs[0]
        st, rt = source.type, op.res[0].type
        assert isinstance(st, MemRefType) and isinstance(rt, MemRefType)
        if not isinstance(st.layout, NoneAttr):
            raise_at(op, LoweringError(f"{op.display_name}: reshapes a strided view; only contiguous buffers are lowered"))
        n = 1
        for s in st.get_shape():
            n *= s
        flat_type = MemRefType(st.element_type, [n], memory_space=st.memory_space)
        ops: list[Operation] = []
        value = source
        if st.get_shape() != (n,):
            collapse = memref.CollapseShapeOp(
                operands=[value],
                result_types=[flat_type],
                properties={"reassociation": reassociation([list(range(len(st.get_shape())))])},
            )
            ops.append(collapse)
            value = collapse.result
        if rt.get_shape() != (n,):
            expand = memref.ExpandShapeOp(
                operands=[value, []],
                result_types=[rt],
                properties={
                    "reassociation": reassociation([list(range(len(rt.get_shape())))]),
                    "static_output_shape": dense_i64(rt.get_shape()),
                },
            )
            ops.append(expand)
            value = expand.result
        if value is source:  # 1-d to 1-d: the same buffer
            op.res[0].replace_all_uses_with(source)
            rewriter.erase(op)
            return
        value.name_hint = op.res[0].name_hint
        rewriter.replace(op, ops, [value])


class MemorySpaceToInteger(TypeConversionPattern):
    def __init__(self, levels: list[str]):
        super().__init__(recursive=True)
        self.levels = levels

    @attr_type_rewrite_pattern
    def convert_type(self, typ: MemRefType) -> MemRefType | None:
        space = typ.memory_space
        if not isinstance(space, MemorySpaceAttr):
            return None
        return MemRefType(typ.element_type, typ.get_shape(), typ.layout, IntegerAttr(self.levels.index(space.level.data), i64))


def lower_tiler(module: ModuleOp) -> None:
    for op in module.walk():
        if isinstance(op, TilerOp) and not op.outputs and not (op.res and isinstance(op.res[0].type, MemRefType)):
            raise_at(op, LoweringError(f"{op.display_name} works on tensors: lower-tiler needs buffers, run tile (or apply-tiles) first"))
    PatternRewriteWalker(LowerReshapeView(), apply_recursively=False).rewrite_module(module)
    PatternRewriteWalker(LowerComputeOp(), apply_recursively=False).rewrite_module(module)
    unsigned_to_signless(module)


def memory_spaces_to_integers(module: ModuleOp) -> None:
    levels = list(hierarchy_of(module).memoryLevels)
    PatternRewriteWalker(MemorySpaceToInteger(levels)).rewrite_module(module)
    for op in module.walk():
        if isinstance(op, memref.DmaStartOp):  # MLIR's parser of dma_start takes no attributes
            for key in [k for k in op.attributes if k.startswith("tiler.")]:
                del op.attributes[key]
    del module.attributes[HIERARCHY_ATTR_NAME]
    module.attributes[LEVELS_ATTR] = ArrayAttr(StringAttr(level) for level in levels)


@dataclass(frozen=True)
class LowerTilerOptions(Options):
    memory_spaces: str = "names"

    def _validate(self) -> None:
        if self.memory_spaces not in MEMORY_SPACES:
            raise OptionError(f"memory-spaces must be one of {', '.join(MEMORY_SPACES)}, got '{self.memory_spaces}'")


@dataclass(frozen=True)
class LowerTilerPass(LowerTilerOptions, ModulePass):
    name = "lower-tiler"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lower_tiler(op)
        if self.memory_spaces == "integers":
            memory_spaces_to_integers(op)


