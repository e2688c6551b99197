"""Emitting index arithmetic, views and structured control flow.

`Index` values are ints when known at compile time and SSA `index` values otherwise;
arithmetic on two ints folds, so the static parts of a schedule (the last tile of a loop,
dims that are not split) print as literals, like MLIR's mixed static/dynamic lists.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

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

@dataclass(frozen=True)
class Lin:
    """const + sum(coefficient * value): index arithmetic kept symbolic until used, so that
    e.g. (o + n) - o folds to n and a tile's size prints as a literal."""

    const: int
    terms: tuple[tuple[SSAValue, int], ...]


Index = int | SSAValue | Lin


def _lin(x: Index) -> Lin:
    if isinstance(x, Lin):
        return x
    if isinstance(x, int):
        return Lin(x, ())
    return Lin(0, ((x, 1),))


def _simplify(x: Lin) -> Index:
    return x.const if not x.terms else x


Range = tuple[float, float]
"""Inclusive bounds of an index value; +-inf when unknown."""

UNKNOWN: Range = (-math.inf, math.inf)


class Emitter:
    """Appends ops to the current block; constants are hoisted to the entry block, and
    index computations are simplified and emitted once per block (and nested blocks).

    Every loop index carries its range, and ranges propagate through the arithmetic, so a
    min, max, comparison or remainder whose outcome the ranges decide folds away (the
    clamps of interior tiles, a slot index that cannot wrap), as MLIR's affine
    simplification of min/max maps does."""

    def __init__(self, entry: Block):
        self.entry = entry
        self.block = entry
        self.constants: dict[int, SSAValue] = {}
        self.scopes: list[dict[tuple, SSAValue]] = [{}]
        self.ranges: dict[SSAValue, Range] = {}

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

    def _cached(self, key: tuple, make: Callable[[], SSAValue]) -> SSAValue:
        for scope in reversed(self.scopes):
            if key in scope:
                return scope[key]
        value = make()
        self.scopes[-1][key] = value
        return value

    def value(self, x: Index) -> SSAValue:
        if isinstance(x, int):
            return self.const(x)
        if isinstance(x, SSAValue):
            return x
        if x.const == 0 and len(x.terms) == 1 and x.terms[0][1] == 1:
            return x.terms[0][0]

        if x.const:  # (terms) + const: the terms part is shared with other uses
            base = self.value(Lin(0, x.terms))
            return self._op(arith.AddiOp, "add", base, x.const)
        if len(x.terms) == 1:
            v, c = x.terms[0]
            return self._op(arith.MuliOp, "mul", v, c)
        head = self.value(Lin(0, x.terms[:-1]))
        return self._op(arith.AddiOp, "add", head, Lin(0, x.terms[-1:]))

    # -- index arithmetic (symbolic while linear; folds when known) ----------------------

    def add(self, a: Index, b: Index) -> Index:
        la, lb = _lin(a), _lin(b)
        terms = dict(la.terms)
        for v, c in lb.terms:
            terms[v] = terms.get(v, 0) + c
        return _simplify(Lin(la.const + lb.const, tuple((v, c) for v, c in terms.items() if c)))

    def mul(self, a: Index, b: Index) -> Index:
        if isinstance(b, int) or isinstance(a, int):
            k, x = (b, a) if isinstance(b, int) else (a, b)
            lx = _lin(x)
            if k == 0:
                return 0
            return _simplify(Lin(lx.const * k, tuple((v, c * k) for v, c in lx.terms)))
        return self._op(arith.MuliOp, "mul", a, b)

    def sub(self, a: Index, b: Index) -> Index:
        return self.add(a, self.mul(b, -1))

    def _op(self, cls, kind: str, a: Index, b: Index) -> SSAValue:
        va, vb = self.value(a), self.value(b)
        return self._cached((kind, id(va), id(vb)), lambda: self.emit(cls(va, vb)).results[0])

    # -- ranges ---------------------------------------------------------------------------

    def range(self, x: Index) -> Range:
        if isinstance(x, int):
            return (x, x)
        if isinstance(x, SSAValue):
            return self.ranges.get(x, UNKNOWN)
        lo = hi = float(x.const)
        for v, c in x.terms:
            vlo, vhi = self.ranges.get(v, UNKNOWN)
            lo, hi = (lo + c * vlo, hi + c * vhi) if c > 0 else (lo + c * vhi, hi + c * vlo)
        return (lo, hi)

    def _ranged(self, value: SSAValue, bounds: Range) -> SSAValue:
        if bounds != UNKNOWN:
            self.ranges.setdefault(value, bounds)
        return value

    def _difference(self, a: Index, b: Index) -> Range:
        return self.range(self.sub(a, b))

    # -- non-linear arithmetic (folds when the ranges decide it) --------------------------

    def div(self, a: Index, b: int) -> Index:
        """Floor division of a non-negative value by a positive constant."""
        if b == 1:
            return a
        if isinstance(a, int):
            return a // b
        lo, hi = self.range(a)
        if lo >= 0 and lo // b == hi // b:
            return int(lo // b)
        # (divsi truncates toward zero: the floor bounds hold only for non-negative values)
        bounds = (lo // b, hi // b if hi < math.inf else hi) if lo >= 0 else UNKNOWN
        return self._ranged(self._op(arith.DivSIOp, "div", a, b), bounds)

    def mod(self, a: Index, b: int) -> Index:
        """Remainder of a non-negative value by a positive constant."""
        if b == 1:
            return 0
        if isinstance(a, int):
            return a % b
        lo, hi = self.range(a)
        if 0 <= lo and hi < b:
            return a
        return self._ranged(self._op(arith.RemSIOp, "mod", a, b), (0, b - 1) if lo >= 0 else UNKNOWN)

    def min(self, a: Index, b: Index) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return min(a, b)
        lo, hi = self._difference(a, b)
        if hi <= 0:
            return a
        if lo >= 0:
            return b
        (alo, ahi), (blo, bhi) = self.range(a), self.range(b)
        return self._ranged(self._op(arith.MinSIOp, "min", a, b), (min(alo, blo), min(ahi, bhi)))

    def max(self, a: Index, b: Index) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return max(a, b)
        lo, hi = self._difference(a, b)
        if lo >= 0:
            return a
        if hi <= 0:
            return b
        (alo, ahi), (blo, bhi) = self.range(a), self.range(b)
        return self._ranged(self._op(arith.MaxSIOp, "max", a, b), (max(alo, blo), max(ahi, bhi)))

    def less(self, a: Index, b: Index) -> bool | SSAValue:
        lo, hi = self._difference(a, b)
        if hi < 0 or lo >= 0:
            return hi < 0
        va, vb = self.value(a), self.value(b)
        return self._cached(("lt", id(va), id(vb)), lambda: self.emit(arith.CmpiOp(va, vb, "slt")).results[0])

    def equal(self, a: Index, b: Index) -> bool | SSAValue:
        lo, hi = self._difference(a, b)
        if lo == hi == 0 or lo > 0 or hi < 0:
            return lo == hi == 0
        va, vb = self.value(a), self.value(b)
        return self._cached(("eq", id(va), id(vb)), lambda: self.emit(arith.CmpiOp(va, vb, "eq")).results[0])

    def select(self, cond: bool | SSAValue, a: Index, b: Index) -> Index:
        if isinstance(cond, bool):
            return a if cond else b
        va, vb = self.value(a), self.value(b)
        (alo, ahi), (blo, bhi) = self.range(a), self.range(b)
        return self._ranged(
            self._cached(("sel", id(cond), id(va), id(vb)), lambda: self.emit(arith.SelectOp(cond, va, vb)).results[0]),
            (min(alo, blo), max(ahi, bhi)),
        )

    # -- structure ----------------------------------------------------------------------

    @contextmanager
    def inside(self, block: Block):
        saved = self.block
        self.block = block
        self.scopes.append({})
        try:
            yield
        finally:
            self.scopes.pop()
            self.block = saved

    def loop(
        self, lower: int, upper: int, body: Callable[[Index], None], name: str = "t",
        attributes: dict[str, Attribute] | None = None,
    ) -> None:
        """scf.for over [lower, upper) with step 1; `body` emits into the loop. A loop of
        one iteration is emitted inline with a constant index, so its arithmetic folds."""
        if upper - lower == 1:
            body(lower)
            return
        block = Block(arg_types=[IndexType()])
        block.args[0].name_hint = name
        self.ranges[block.args[0]] = (lower, upper - 1)
        with self.inside(block):
            body(block.args[0])
            self.emit(scf.YieldOp())
        loop = scf.ForOp(self.const(lower), self.const(upper), self.const(1), [], Region(block))
        loop.attributes.update(attributes or {})
        self.emit(loop)

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
        op = memref.SubviewOp.get(
            source,
            [o if isinstance(o, int) else self.value(o) for o in offsets],
            [n if isinstance(n, int) else self.value(n) for n in sizes],
            [1] * len(sizes),
            result,
        )
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
