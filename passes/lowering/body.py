"""Building the scalar bodies of linalg ops: typed arith/math on one element at a time.

A `Body` appends to one block and picks the float or integer form of each operation from
its operands' type, so a payload reads like the formula it computes (`b.add(x, b.mul(y,
z))`) for every element type the op accepts.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import arith, math, memref
from xdsl.dialects.linalg.ops import IndexOp, YieldOp
from xdsl.dialects.builtin import (
    AnyFloat,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    f64,
    i1,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from tiler_passes.lowering.signless import is_unsigned


def _compares_unsigned(t: Attribute) -> bool:
    """Unsigned integers, and bools (i1: 0 and 1, not 0 and -1): they compare, take
    maxima and widen as unsigned."""
    return is_unsigned(t) or (isinstance(t, IntegerType) and t.width.data == 1)


class Body:
    """Appends ops to `block`; values are SSA values of scalar (or index) type. Unsigned
    integers take the unsigned forms of division, min, max, comparison and conversion."""

    def __init__(self, block: Block):
        self.block = block
        self._indices: dict[int, SSAValue] = {}
        self._constants: dict[tuple[float, Attribute], SSAValue] = {}

    def emit(self, op: Operation) -> SSAValue:
        self.block.add_op(op)
        return op.results[0] if op.results else None  # type: ignore[return-value]

    # -- constants and indices --------------------------------------------------------

    def const(self, value: float, t: Attribute) -> SSAValue:
        """A constant of type `t`, made once per body."""
        key = (value, t)
        if key not in self._constants:
            self._constants[key] = self._const(value, t)
        return self._constants[key]

    def _const(self, value: float, t: Attribute) -> SSAValue:
        if isinstance(t, AnyFloat):
            return self.emit(arith.ConstantOp(FloatAttr(float(value), t)))
        if isinstance(t, IntegerType):
            # the type's range bounds the value (an identity of -inf is the type's minimum)
            width = t.width.data
            if is_unsigned(t) or width == 1:
                lo, hi = 0, (1 << width) - 1
            else:
                lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
            v = lo if value == float("-inf") else hi if value == float("inf") else int(value)
            return self.emit(arith.ConstantOp(IntegerAttr(max(lo, min(hi, v)), t)))
        return self.emit(arith.ConstantOp(IntegerAttr(int(value), IndexType())))

    def index(self, dim: int) -> SSAValue:
        """The iteration index of `dim` (linalg.index), made once per body."""
        if dim not in self._indices:
            self._indices[dim] = self.emit(IndexOp(dim))
        return self._indices[dim]

    # -- arithmetic, float or integer by operand type ------------------------------------

    def _binary(self, a: SSAValue, b: SSAValue, float_op, int_op, unsigned_op=None) -> SSAValue:
        if isinstance(a.type, AnyFloat):
            return self.emit(float_op(a, b))
        if unsigned_op is not None and _compares_unsigned(a.type):
            return self.emit(unsigned_op(a, b))
        return self.emit(int_op(a, b))

    def add(self, a, b):
        return self._binary(a, b, arith.AddfOp, arith.AddiOp)

    def sub(self, a, b):
        return self._binary(a, b, arith.SubfOp, arith.SubiOp)

    def mul(self, a, b):
        return self._binary(a, b, arith.MulfOp, arith.MuliOp)

    def div(self, a, b):
        """Float division; integer division truncating toward zero (C, ONNX)."""
        return self._binary(a, b, arith.DivfOp, arith.DivSIOp, arith.DivUIOp)

    def max(self, a, b):
        """Maximum; NaN wins for floats (as numpy's maximum)."""
        return self._binary(a, b, arith.MaximumfOp, arith.MaxSIOp, arith.MaxUIOp)

    def min(self, a, b):
        return self._binary(a, b, arith.MinimumfOp, arith.MinSIOp, arith.MinUIOp)

    def neg(self, a):
        if isinstance(a.type, AnyFloat):
            return self.emit(arith.NegfOp(a))
        return self.sub(self.const(0, a.type), a)

    def floordiv(self, a, b):
        """Signed division rounding toward minus infinity."""
        return self.emit(arith.FloorDivSIOp(a, b))

    def shr(self, a, b):
        """floor(a / 2^b): an arithmetic shift (b non-negative, below the width)."""
        return self.emit(arith.ShRSIOp(a, b))

    def select(self, cond, a, b):
        return self.emit(arith.SelectOp(cond, a, b))

    def cmp(self, a, b, predicate: str) -> SSAValue:
        """Integer/index comparison ("slt", "sge", "eq", ...; of unsigned integers, the
        unsigned predicate)."""
        if _compares_unsigned(a.type) and predicate[0] == "s":
            predicate = "u" + predicate[1:]
        return self.emit(arith.CmpiOp(a, b, predicate))

    def cmpf(self, a, b, predicate: str) -> SSAValue:
        """Float comparison ("olt", "ogt", "oeq", ...: false when either is NaN)."""
        return self.emit(arith.CmpfOp(a, b, predicate))

    def less_than(self, a, b) -> SSAValue:
        """a < b for floats (false at NaN) and integers alike."""
        return self.cmpf(a, b, "olt") if isinstance(a.type, AnyFloat) else self.cmp(a, b, "slt")

    def greater_than(self, a, b) -> SSAValue:
        return self.cmpf(a, b, "ogt") if isinstance(a.type, AnyFloat) else self.cmp(a, b, "sgt")

    def and_(self, a, b):
        return self.emit(arith.AndIOp(a, b))

    # -- math and conversions -----------------------------------------------------------

    def unary(self, op_class, a):
        return self.emit(op_class(a))

    def exp(self, a):
        return self.emit(math.ExpOp(a))

    def sqrt(self, a):
        return self.emit(math.SqrtOp(a))

    def convert(self, a: SSAValue, t: Attribute) -> SSAValue:
        """A value of another scalar type: float widths, int <-> float, index <-> int, as
        numpy's astype; to a bool (i1) by comparing with zero (NaN is true), from a bool
        as 0 or 1."""
        s = a.type
        if s == t:
            return a
        if t == i1 and not isinstance(s, IndexType):
            if isinstance(s, AnyFloat):
                return self.cmpf(a, self.const(0.0, s), "une")
            return self.cmp(a, self.const(0, s), "ne")
        if isinstance(s, IndexType):
            if isinstance(t, IntegerType):
                return self.emit(arith.IndexCastOp(a, t))
            return self.convert(self.emit(arith.IndexCastOp(a, IntegerType(64))), t)
        if isinstance(s, AnyFloat) and isinstance(t, AnyFloat):
            if s.bitwidth < t.bitwidth:
                return self.emit(arith.ExtFOp(a, t))
            return self.emit(arith.TruncFOp(a, t))
        if isinstance(s, IntegerType) and isinstance(t, AnyFloat):
            return self.emit((arith.UIToFPOp if _compares_unsigned(s) else arith.SIToFPOp)(a, t))
        if isinstance(s, AnyFloat) and isinstance(t, IntegerType):
            return self.emit((arith.FPToUIOp if is_unsigned(t) else arith.FPToSIOp)(a, t))
        if isinstance(s, IntegerType) and isinstance(t, IntegerType):
            if s.width.data < t.width.data:
                return self.emit((arith.ExtUIOp if _compares_unsigned(s) else arith.ExtSIOp)(a, t))
            if s.width.data == t.width.data:  # a change of signedness only: the same bits
                return self.emit(arith.BitcastOp(a, t))
            return self.emit(arith.TruncIOp(a, t))
        raise ValueError(f"no conversion from {s} to {t}")

    def wide(self, a: SSAValue) -> SSAValue:
        """f64 for a float computed in double precision (as the reference kernels do)."""
        return self.convert(a, f64)

    def load(self, source: SSAValue, indices: Sequence[SSAValue]) -> SSAValue:
        return self.emit(memref.LoadOp.get(source, list(indices)))

    def yield_(self, *values: SSAValue) -> None:
        self.block.add_op(YieldOp(*values))
