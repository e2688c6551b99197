"""Folding the index arithmetic of ops cloned at a known tile: constants in, literals out.

When multi-buffer clones a tile's load at tile 0, its index arithmetic, conditions and
views have constant inputs; this folds them the way the emitter folds the static parts of
a nest: integer arithmetic and comparisons of constants become the function's constants,
selects and `scf.if`s on a known condition take their branch, and subviews at constant
offsets and sizes get static ones (so their types print as the shapes they are).
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects import arith, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    IndexType,
    IntAttr,
    IntegerAttr,
    IntegerType,
    MemRefType,
    StridedLayoutAttr,
    i1,
)
from xdsl.ir import Block, Operation, SSAValue


def _trunc_div(a: int, b: int) -> int | None:
    if not b:
        return None
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


_BINARY: dict[type[Operation], Callable[[int, int], int | None]] = {
    arith.AddiOp: lambda a, b: a + b,
    arith.SubiOp: lambda a, b: a - b,
    arith.MuliOp: lambda a, b: a * b,
    arith.DivSIOp: _trunc_div,
    arith.RemSIOp: lambda a, b: None if not b else a - _trunc_div(a, b) * b,  # type: ignore[operator]
    arith.DivUIOp: lambda a, b: a // b if b > 0 and a >= 0 else None,
    arith.RemUIOp: lambda a, b: a % b if b > 0 and a >= 0 else None,
    arith.CeilDivSIOp: lambda a, b: -(-a // b) if b else None,
    arith.MinSIOp: min,
    arith.MaxSIOp: max,
}

_PREDICATES: dict[int, Callable[[int, int], bool]] = {
    0: lambda a, b: a == b,  # eq
    1: lambda a, b: a != b,  # ne
    2: lambda a, b: a < b,  # slt
    3: lambda a, b: a <= b,  # sle
    4: lambda a, b: a > b,  # sgt
    5: lambda a, b: a >= b,  # sge
}


def constant_of(value: SSAValue) -> int | None:
    """The value of an integer or index constant (i1: 0 or 1), else None."""
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        if isinstance(value.type, IndexType) or value.type == i1:
            v = owner.value.value.data
            return int(bool(v)) if value.type == i1 else v
    return None


class Constants:
    """A function's index constants, at the top of its entry block, made on demand."""

    def __init__(self, entry: Block):
        self.entry = entry
        self.created: list[arith.ConstantOp] = []
        self.known = {
            op.value.value.data: op.result
            for op in entry.ops
            if isinstance(op, arith.ConstantOp) and isinstance(op.value, IntegerAttr) and isinstance(op.result.type, IndexType)
        }

    def __call__(self, value: int) -> SSAValue:
        if value not in self.known:
            op = arith.ConstantOp(IntegerAttr(value, IndexType()))
            op.result.name_hint = f"c{value}" if value >= 0 else f"cm{-value}"
            if self.entry.first_op is None:
                self.entry.add_op(op)
            else:
                self.entry.insert_op_before(op, self.entry.first_op)
            self.known[value] = op.result
            self.created.append(op)
        return self.known[value]

    def drop_unused(self) -> None:
        """Erase the constants made for values that then folded further (a size that
        became a static subview size)."""
        for op in self.created:
            if not op.result.uses:
                self.entry.erase_op(op)
        self.created.clear()


def fold(ops: list[Operation], constants: Constants) -> list[Operation]:
    """Fold a straight-line list of (detached) ops; returns the ops that remain."""
    out: list[Operation] = []
    for op in ops:
        out.extend(_fold(op, constants))
    # conditions folded into the selects and ifs they fed are left without uses
    return [op for op in out if not (isinstance(op, arith.ConstantOp) and not op.result.uses)]


def _fold(op: Operation, constants: Constants) -> list[Operation]:
    folder = _BINARY.get(type(op))
    if folder is not None and isinstance(op.results[0].type, IndexType):
        a, b = (constant_of(v) for v in op.operands)
        value = folder(a, b) if a is not None and b is not None else None
        if value is not None:
            op.results[0].replace_all_uses_with(constants(value))
            return _gone(op)
    if isinstance(op, arith.CmpiOp):
        a, b = (constant_of(v) for v in op.operands)
        predicate = _PREDICATES.get(op.predicate.value.data)
        if a is not None and b is not None and predicate is not None:
            flag = arith.ConstantOp(IntegerAttr(int(predicate(a, b)), IntegerType(1)))
            op.result.replace_all_uses_with(flag.result)
            return [flag]
    if isinstance(op, arith.SelectOp):
        cond = constant_of(op.cond)
        if cond is not None or op.lhs is op.rhs:
            op.result.replace_all_uses_with(op.lhs if cond != 0 else op.rhs)
            return _gone(op)
    if isinstance(op, scf.IfOp) and not op.results:
        cond = constant_of(op.cond)
        if cond is not None:
            region = op.true_region if cond else op.false_region
            inner = [o for o in region.block.ops if not isinstance(o, scf.YieldOp)] if region.blocks else []
            for o in inner:
                o.detach()
            _gone(op)
            return fold(inner, constants)
        for region in op.regions:  # a condition not known: fold inside
            for block in region.blocks:
                inner = list(block.ops)
                for o in inner:
                    o.detach()
                for o in fold(inner, constants):
                    block.add_op(o)
        return [op]
    if isinstance(op, memref.SubviewOp) and any(constant_of(v) is not None for v in (*op.offsets, *op.sizes)):
        return [static_subview(op)]
    return [op]


def _gone(op: Operation) -> list[Operation]:
    """Drop a folded op, releasing its operands (its results have no uses left)."""
    op.erase()
    return []


def _mixed(static, dynamic) -> list[int | SSAValue]:
    values = iter(dynamic)
    out: list[int | SSAValue] = []
    for s in static:
        if s == DYNAMIC_INDEX:
            v = next(values)
            known = constant_of(v)
            out.append(v if known is None else known)
        else:
            out.append(s)
    return out


def static_subview(op: memref.SubviewOp) -> memref.SubviewOp:
    """The subview with every constant offset and size static, its type recomputed."""
    offsets = _mixed(op.static_offsets.get_values(), op.offsets)
    sizes = _mixed(op.static_sizes.get_values(), op.sizes)
    strides = _mixed(op.static_strides.get_values(), op.strides)
    if any(not isinstance(s, int) for s in strides):
        return op
    source, result = op.source.type, op.result.type
    assert isinstance(source, MemRefType) and isinstance(result, MemRefType)
    layout = result.layout
    if not isinstance(layout, StridedLayoutAttr):
        return op
    source_strides = source.get_strides()
    source_layout = source.layout
    base = (
        source_layout.offset.data
        if isinstance(source_layout, StridedLayoutAttr) and isinstance(source_layout.offset, IntAttr)
        else 0 if not isinstance(source_layout, StridedLayoutAttr) else None
    )
    offset = layout.offset
    if source_strides is not None and base is not None and all(isinstance(o, int) for o in offsets):
        offset = base + sum(o * s for o, s in zip(offsets, source_strides))  # type: ignore[operator, misc]
    rank = len(result.get_shape())
    dropped = len(sizes) - rank  # a rank-reducing subview drops leading unit dims
    shape = [s if isinstance(s, int) else DYNAMIC_INDEX for s in sizes[dropped:]]
    new_type = MemRefType(result.element_type, shape, StridedLayoutAttr(layout.strides, offset), result.memory_space)
    new = memref.SubviewOp.get(op.source, offsets, sizes, strides, new_type)
    new.result.name_hint = op.result.name_hint
    op.result.replace_all_uses_with(new.result)
    op.erase()
    return new
