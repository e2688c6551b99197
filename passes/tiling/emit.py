"""Emitting index arithmetic, views and structured control flow.

`Index` values are ints when known at compile time and SSA `index` values otherwise;
arithmetic on two ints folds, so the static parts of a schedule (the last tile of a loop,
dims that are not split) print as literals, like MLIR's mixed static/dynamic lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager

from xdsl.dialects import arith, memref, scf
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    IndexType,
    IntAttr,
    IntegerAttr,
    MemRefType,
    StridedLayoutAttr,
    i1,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

Index = int | SSAValue


class Emitter:
    """Appends ops to the current block; constants are hoisted to the entry block."""

    def __init__(self, entry: Block):
        self.entry = entry
        self.block = entry
        self.constants: dict[int, SSAValue] = {}

    def emit(self, op: Operation) -> Operation:
        self.block.add_op(op)
        return op

    def const(self, value: int) -> SSAValue:
        if value not in self.constants:
            op = arith.ConstantOp(IntegerAttr(value, IndexType()))
            op.result.name_hint = f"c{value}" if value >= 0 else f"cm{-value}"
            if self.entry.first_op is None:
                self.entry.add_op(op)
            else:  # at the top of the function: constants dominate every use
                self.entry.insert_op_before(op, self.entry.first_op)
            self.constants[value] = op.result
        return self.constants[value]

    def value(self, x: Index) -> SSAValue:
        return self.const(x) if isinstance(x, int) else x

    # -- index arithmetic (folds when both sides are known) ------------------------------

    def _binary(self, cls, a: Index, b: Index, fold: Callable[[int, int], int]) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return fold(a, b)
        return self.emit(cls(self.value(a), self.value(b))).results[0]

    def add(self, a: Index, b: Index) -> Index:
        if b == 0:
            return a
        if a == 0:
            return b
        return self._binary(arith.AddiOp, a, b, lambda x, y: x + y)

    def sub(self, a: Index, b: Index) -> Index:
        if b == 0:
            return a
        return self._binary(arith.SubiOp, a, b, lambda x, y: x - y)

    def mul(self, a: Index, b: Index) -> Index:
        if b == 1:
            return a
        if a == 1:
            return b
        if a == 0 or b == 0:
            return 0
        return self._binary(arith.MuliOp, a, b, lambda x, y: x * y)

    def div(self, a: Index, b: Index) -> Index:
        """Floor division of non-negative values."""
        if b == 1:
            return a
        return self._binary(arith.DivSIOp, a, b, lambda x, y: x // y)

    def mod(self, a: Index, b: Index) -> Index:
        if b == 1:
            return 0
        return self._binary(arith.RemSIOp, a, b, lambda x, y: x % y)

    def min(self, a: Index, b: Index) -> Index:
        return self._binary(arith.MinSIOp, a, b, min)

    def max(self, a: Index, b: Index) -> Index:
        return self._binary(arith.MaxSIOp, a, b, max)

    def less(self, a: Index, b: Index) -> bool | SSAValue:
        if isinstance(a, int) and isinstance(b, int):
            return a < b
        return self.emit(arith.CmpiOp(self.value(a), self.value(b), "slt")).results[0]

    def equal(self, a: Index, b: Index) -> bool | SSAValue:
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return self.emit(arith.CmpiOp(self.value(a), self.value(b), "eq")).results[0]

    def select(self, cond: bool | SSAValue, a: Index, b: Index) -> Index:
        if isinstance(cond, bool):
            return a if cond else b
        return self.emit(arith.SelectOp(cond, self.value(a), self.value(b))).results[0]

    # -- structure ----------------------------------------------------------------------

    @contextmanager
    def inside(self, block: Block):
        saved = self.block
        self.block = block
        try:
            yield
        finally:
            self.block = saved

    def loop(self, lower: int, upper: int, body: Callable[[SSAValue], None], name: str = "t") -> None:
        """scf.for over [lower, upper) with step 1; `body` emits into the loop."""
        block = Block(arg_types=[IndexType()])
        block.args[0].name_hint = name
        with self.inside(block):
            body(block.args[0])
            self.emit(scf.YieldOp())
        self.emit(scf.ForOp(self.const(lower), self.const(upper), self.const(1), [], Region(block)))

    def when(self, cond: bool | SSAValue, body: Callable[[], None]) -> None:
        """Emit `body` if `cond` holds: inline when known, else under scf.if."""
        if cond is True:
            body()
            return
        if cond is False:
            return
        assert isinstance(cond, SSAValue) and cond.type == i1
        block = Block()
        with self.inside(block):
            body()
            self.emit(scf.YieldOp())
        if len(block.ops) > 1:
            self.emit(scf.IfOp(cond, [], Region(block)))

    # -- views ------------------------------------------------------------------------------

    def subview(
        self,
        source: SSAValue,
        offsets: Sequence[Index],
        sizes: Sequence[Index],
        drop_leading: int = 0,
    ) -> SSAValue:
        """A unit-stride rectangle of `source`; the first `drop_leading` dims (of size 1)
        are dropped from the result."""
        t = source.type
        assert isinstance(t, MemRefType)
        strides = _strides_of(t)
        offset = _static_offset(t, strides, offsets)
        result = MemRefType(
            t.element_type,
            [s if isinstance(s, int) else DYNAMIC_INDEX for s in sizes[drop_leading:]],
            StridedLayoutAttr(strides[drop_leading:], offset),
            t.memory_space,
        )
        op = memref.SubviewOp.get(source, list(offsets), list(sizes), [1] * len(sizes), result)
        return self.emit(op).results[0]


def _strides_of(t: MemRefType) -> list[int]:
    layout = t.layout
    if isinstance(layout, StridedLayoutAttr):
        strides = [s.data if isinstance(s, IntAttr) else None for s in layout.strides.data]
        if any(s is None for s in strides):
            raise ValueError("views of memrefs with dynamic strides are not supported")
        return [int(s) for s in strides]  # type: ignore[arg-type]
    strides, acc = [], 1
    for s in reversed(t.get_shape()):
        strides.append(acc)
        acc *= s
    return strides[::-1]


def _static_offset(t: MemRefType, strides: Sequence[int], offsets: Sequence[Index]) -> int | None:
    """The element offset of a view, when known: base offset + sum(offset * stride)."""
    layout = t.layout
    base: int | None = 0
    if isinstance(layout, StridedLayoutAttr):
        base = layout.offset.data if isinstance(layout.offset, IntAttr) else None
    if base is None or not all(isinstance(o, int) for o in offsets):
        return None  # prints as `offset: ?`
    return base + sum(int(o) * s for o, s in zip(offsets, strides))


def memref_type(shape: Sequence[int], element: Attribute, level: Attribute) -> MemRefType:
    return MemRefType(element, list(shape), memory_space=level)
