"""linalg ops from access maps: one `linalg.generic` per computation step.

The lowering works on the tile form of an op: buffers holding the regions a tile reads
(clipped to each operand's bounds) and the region it writes, and the tile's box in the
op's iteration space. Iterating over the box relative to its start (d' = d - offset), an
operand's element is

    index = sum(c_i * d'_i) + shift,    shift = min(lo, 0)

where `lo` is the unclipped start of the operand's region (the map at the box's start):
zero unless the region begins in the border padding, where the buffer starts at index 0
of the operand instead. An operand that never leaves its bounds is a plain linalg
operand with the map sum(c_i * d'_i). One that may (border padding, concatenation, edge
padding) is read in the body with memref.load at the index computed from linalg.index,
guarded by its bounds (`Access.guard`): linalg maps cannot say "outside is padding".

linalg takes its loop bounds from the operands' shapes, so every loop dim must be some
plain operand's plain index; a dim no operand indexes so (a pooling window, a grouped
conv's group) gets a shape-only operand, as linalg's pooling ops take a `window`: a
`memref.alloca` of the dims' extents whose elements are never read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from xdsl.dialects import arith, memref
from xdsl.dialects.linalg.attrs import IteratorType, IteratorTypeAttr
from xdsl.dialects.linalg.ops import FillOp, GenericOp
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AffineMapAttr,
    IndexType,
    IntegerAttr,
    StringAttr,
    UnitAttr,
    i8,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap

from tiler_dialect.tiling import LinearForm, OutOfBounds
from tiler_passes.lowering.body import Body

SHAPE_ONLY_ATTR = "tiler.shape_only"
"""Marks the memref.alloca of a shape-only operand (its elements are never read)."""

Index = int | SSAValue


class Emitter:
    """Index arithmetic outside the bodies, folded where the operands are constants."""

    def __init__(self) -> None:
        self.ops: list[Operation] = []
        self.hoisted: list[Operation] = []  # allocations for outside the loop nest
        self._constants: dict[int, SSAValue] = {}

    def emit(self, op: Operation) -> SSAValue:
        self.ops.append(op)
        return op.results[0] if op.results else None  # type: ignore[return-value]

    def value(self, x: Index) -> SSAValue:
        if isinstance(x, SSAValue):
            return x
        if x not in self._constants:
            self._constants[x] = self.emit(arith.ConstantOp(IntegerAttr(x, IndexType())))
        return self._constants[x]

    def add(self, a: Index, b: Index) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return a + b
        if a == 0:
            return b
        if b == 0:
            return a
        return self.emit(arith.AddiOp(self.value(a), self.value(b)))

    def mul(self, a: Index, c: int) -> Index:
        if isinstance(a, int):
            return a * c
        if c == 1:
            return a
        return self.emit(arith.MuliOp(a, self.value(c)))

    def min(self, a: Index, b: Index) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return min(a, b)
        return self.emit(arith.MinSIOp(self.value(a), self.value(b)))

    def max(self, a: Index, b: Index) -> Index:
        if isinstance(a, int) and isinstance(b, int):
            return max(a, b)
        return self.emit(arith.MaxSIOp(self.value(a), self.value(b)))

    def linear(self, form: LinearForm, point: Sequence[Index]) -> Index:
        total: Index = form.const
        for dim, coeff in form.coeffs:
            total = self.add(total, self.mul(point[dim], coeff))
        return total

    def dim(self, buffer: SSAValue, i: int) -> Index:
        size = buffer.type.get_shape()[i]  # type: ignore[attr-defined]
        if size != DYNAMIC_INDEX:
            return size
        return self.emit(memref.DimOp(buffer, self.value(i)))

    def is_true_all(self, conditions: Sequence[tuple[Index, int]]) -> bool | SSAValue:
        """Whether every `value == constant` holds: a bool when known, else an i1 value."""
        dynamic: list[SSAValue] = []
        for value, expected in conditions:
            if isinstance(value, int):
                if value != expected:
                    return False
            else:
                dynamic.append(self.emit(arith.CmpiOp(value, self.value(expected), "eq")))
        if not dynamic:
            return True
        result = dynamic[0]
        for c in dynamic[1:]:
            result = self.emit(arith.AndIOp(result, c))
        return result


@dataclass
class Access:
    """One operand of a step: `buffer` indexed by `forms` (one linear form per buffer dim,
    over the step's loop dims, without constants). `shift` None: a plain operand; else the
    per-dim shifts of a guarded read (see the module doc), with what lies outside."""

    buffer: SSAValue
    forms: Sequence[LinearForm]
    shift: Sequence[Index | None] | None = None
    oob: OutOfBounds = OutOfBounds.NEVER
    pad_value: float = 0.0
    fill_mode: str | None = None  # for OutOfBounds.FILL: "edge", "reflect" or "wrap"

    @property
    def plain(self) -> bool:
        return self.shift is None

    def affine_map(self, num_dims: int) -> AffineMap:
        return AffineMap(num_dims, 0, tuple(_expr(f) for f in self.forms))


def _expr(form: LinearForm) -> AffineExpr:
    expr: AffineExpr | None = None
    for dim, coeff in form.coeffs:
        term = AffineDimExpr(dim) if coeff == 1 else AffineDimExpr(dim) * coeff
        expr = term if expr is None else expr + term
    if expr is None:
        return AffineConstantExpr(form.const)
    return expr + form.const if form.const else expr


def _plain_dim(form: LinearForm) -> int | None:
    if form.const == 0 and len(form.coeffs) == 1 and form.coeffs[0][1] == 1:
        return form.coeffs[0][0]
    return None


@dataclass
class Element:
    """What a payload sees: the body builder, one scalar per input (in input order), the
    validity of guarded SKIP and PAD inputs (None where an input is never out of
    bounds), and the step's absolute iteration indices."""

    b: Body
    values: list[SSAValue]
    valid: list[SSAValue | None]
    absolute: Callable[[int], SSAValue]
    element_type: Attribute
    out: list[SSAValue] = field(default_factory=list)  # the outputs' current values


Payload = Callable[[Element], Sequence[SSAValue]]


def generic(
    emitter: Emitter,
    iterators: Sequence[str],
    extents: Sequence[Index],
    inputs: Sequence[Access],
    outputs: Sequence[Access],
    payload: Payload,
    offsets: Sequence[Index] | None = None,
    doc: str | None = None,
) -> GenericOp:
    """A linalg.generic over loop dims of `extents` ("parallel"/"reduction" each) that
    yields `payload` for its outputs. `offsets` (the loop dims' absolute starts) serve
    payloads that need absolute indices."""
    n = len(iterators)
    plain_inputs = [a for a in inputs if a.plain]
    covered = {_plain_dim(f) for a in (*plain_inputs, *outputs) for f in a.forms}
    uncovered = [i for i in range(n) if i not in covered]
    shape_operand: Access | None = None
    if uncovered:
        sizes = [extents[i] for i in uncovered]
        static = [s if isinstance(s, int) else DYNAMIC_INDEX for s in sizes]
        alloca = memref.AllocaOp.get(i8, shape=static, dynamic_sizes=[s for s in sizes if not isinstance(s, int)])
        alloca.attributes[SHAPE_ONLY_ATTR] = UnitAttr()
        emitter.emit(alloca)
        shape_operand = Access(alloca.memref, [LinearForm(((i, 1),), 0) for i in uncovered])
    operands = [*plain_inputs, *([shape_operand] if shape_operand else [])]
    element_types = [a.buffer.type.element_type for a in (*operands, *outputs)]  # type: ignore[attr-defined]
    block = Block(arg_types=element_types)
    b = Body(block)
    args = iter(block.args)
    plain_values = [next(args) for _ in operands]
    out_values = [next(args) for _ in outputs]

    # guarded reads need the buffers' sizes: taken outside, before the generic
    sizes = {id(a): [emitter.dim(a.buffer, r) for r in range(len(a.forms))] for a in inputs if not a.plain}

    def absolute(dim: int) -> SSAValue:
        start = 0 if offsets is None else offsets[dim]
        here = b.index(dim)
        if start == 0:
            return here
        return b.emit(arith.AddiOp(here, start if isinstance(start, SSAValue) else b.const(start, IndexType())))

    values: list[SSAValue] = []
    valid: list[SSAValue | None] = []
    plain_iter = iter(plain_values)
    for a in inputs:
        if a.plain:
            values.append(next(plain_iter))
            valid.append(None)
        else:
            v, ok = _guarded_read(b, a, sizes[id(a)])
            values.append(v)
            valid.append(ok)
    element = Element(b, values, valid, absolute, element_types[-1], out_values)
    b.yield_(*payload(element))
    maps = [AffineMapAttr(a.affine_map(n)) for a in (*operands, *outputs)]
    op = GenericOp(
        [a.buffer for a in operands],
        [a.buffer for a in outputs],
        Region(block),
        maps,
        [IteratorTypeAttr(IteratorType(t)) for t in iterators],
        doc=StringAttr(doc) if doc else None,
    )
    emitter.emit(op)
    return op


def _guarded_read(b: Body, a: Access, sizes: Sequence[Index]) -> tuple[SSAValue, SSAValue | None]:
    """The element a guarded access reads, and (for SKIP) whether it is inside. Indices
    whose shift is None never leave the operand and are read as they are."""
    index_type = IndexType()

    def value(x: Index) -> SSAValue:
        return x if isinstance(x, SSAValue) else b.const(x, index_type)

    inside: SSAValue | None = None
    indices = []
    for form, shift, size in zip(a.forms, a.shift or (), sizes):
        i: SSAValue | None = None
        for dim, coeff in form.coeffs:
            term = b.index(dim) if coeff == 1 else b.emit(arith.MuliOp(b.index(dim), b.const(coeff, index_type)))
            i = term if i is None else b.emit(arith.AddiOp(i, term))
        offset = form.const if shift is None else shift
        if i is None:
            i = value(offset)
        elif offset != 0:
            i = b.emit(arith.AddiOp(i, value(offset)))
        if shift is None:
            indices.append(i)
            continue
        n = value(size)
        if a.oob == OutOfBounds.FILL:
            indices.append(_fill_index(b, i, n, a.fill_mode or "edge"))
            continue
        zero, last = b.const(0, index_type), b.emit(arith.SubiOp(n, b.const(1, index_type)))
        ok = b.and_(b.cmp(i, zero, "sge"), b.cmp(i, n, "slt"))
        inside = ok if inside is None else b.and_(inside, ok)
        # clamped, so the load stays inside the buffer; the select discards it outside
        indices.append(b.emit(arith.MaxSIOp(zero, b.emit(arith.MinSIOp(i, last)))))
    loaded = b.load(a.buffer, indices)
    if a.oob == OutOfBounds.PAD and inside is not None:
        # the formula sees where the padding is (an integer conv's padding is its zero point)
        return b.select(inside, loaded, b.const(a.pad_value, loaded.type)), inside
    return loaded, inside


def _fill_index(b: Body, i: SSAValue, n: SSAValue, mode: str) -> SSAValue:
    """The element edge/reflect/wrap padding repeats at index `i` of a dim of size n."""
    index_type = IndexType()
    zero, one = b.const(0, index_type), b.const(1, index_type)
    last = b.emit(arith.SubiOp(n, one))
    if mode == "edge":
        return b.emit(arith.MaxSIOp(zero, b.emit(arith.MinSIOp(i, last))))
    if mode == "wrap":
        return _modulo(b, i, n)
    # reflect (no repeat of the edge): period 2(n - 1); a dim of one element repeats it
    period = b.emit(arith.MaxSIOp(b.emit(arith.MuliOp(last, b.const(2, index_type))), one))
    j = _modulo(b, i, period)
    mirrored = b.emit(arith.SubiOp(period, j))
    return b.emit(arith.MinSIOp(b.select(b.cmp(j, n, "slt"), j, mirrored), last))


def _modulo(b: Body, i: SSAValue, n: SSAValue) -> SSAValue:
    """i mod n in [0, n) for negative i too."""
    return b.emit(arith.SubiOp(i, b.emit(arith.MuliOp(b.floordiv(i, n), n))))


def fill(emitter: Emitter, value: SSAValue, out: SSAValue) -> None:
    emitter.emit(FillOp((value,), (out,), ()))


def constant_of(emitter: Emitter, value: float, t: Attribute) -> SSAValue:
    """A scalar constant of element type `t`, outside the bodies."""
    block = Block()
    v = Body(block).const(value, t)
    op = v.owner
    block.detach_op(op)  # type: ignore[arg-type]
    return emitter.emit(op)  # type: ignore[arg-type]
