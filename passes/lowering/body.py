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
    Signedness,
    f64,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue


class Body:
    """Appends ops to `block`; values are SSA values of scalar (or index) type."""

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
            if t.signedness.data == Signedness.UNSIGNED or width == 1:
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

    def _binary(self, a: SSAValue, b: SSAValue, float_op, int_op) -> SSAValue:
        if isinstance(a.type, AnyFloat):
            return self.emit(float_op(a, b))
        return self.emit(int_op(a, b))

    def add(self, a, b):
        return self._binary(a, b, arith.AddfOp, arith.AddiOp)

    def sub(self, a, b):
        return self._binary(a, b, arith.SubfOp, arith.SubiOp)

    def mul(self, a, b):
        return self._binary(a, b, arith.MulfOp, arith.MuliOp)

    def div(self, a, b):
        """Float division; signed integer division truncating toward zero (C, ONNX)."""
        return self._binary(a, b, arith.DivfOp, arith.DivSIOp)

    def max(self, a, b):
        """Maximum; NaN wins for floats (as numpy's maximum)."""
        return self._binary(a, b, arith.MaximumfOp, arith.MaxSIOp)

    def min(self, a, b):
        return self._binary(a, b, arith.MinimumfOp, arith.MinSIOp)

    def neg(self, a):
        if isinstance(a.type, AnyFloat):
            return self.emit(arith.NegfOp(a))
        return self.sub(self.const(0, a.type), a)

    def floordiv(self, a, b):
        return self.emit(arith.FloorDivSIOp(a, b))

    def select(self, cond, a, b):
        return self.emit(arith.SelectOp(cond, a, b))

    def cmp(self, a, b, predicate: str) -> SSAValue:
        """Signed integer/index comparison ("slt", "sge", "eq", ...)."""
        return self.emit(arith.CmpiOp(a, b, predicate))

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
        """A value of another scalar type: float widths, int <-> float, index <-> int."""
        s = a.type
        if s == t:
            return a
        if isinstance(s, IndexType):
            if isinstance(t, IntegerType):
                return self.emit(arith.IndexCastOp(a, t))
            return self.convert(self.emit(arith.IndexCastOp(a, IntegerType(64))), t)
        if isinstance(s, AnyFloat) and isinstance(t, AnyFloat):
            if s.bitwidth < t.bitwidth:
                return self.emit(arith.ExtFOp(a, t))
            return self.emit(arith.TruncFOp(a, t))
        if isinstance(s, IntegerType) and isinstance(t, AnyFloat):
            return self.emit(arith.SIToFPOp(a, t))
        if isinstance(s, AnyFloat) and isinstance(t, IntegerType):
            return self.emit(arith.FPToSIOp(a, t))
        if isinstance(s, IntegerType) and isinstance(t, IntegerType):
            if s.width.data < t.width.data:
                return self.emit(arith.ExtSIOp(a, t))
            return self.emit(arith.TruncIOp(a, t))
        raise ValueError(f"no conversion from {s} to {t}")

    def wide(self, a: SSAValue) -> SSAValue:
        """f64 for a float computed in double precision (as the reference kernels do)."""
        return self.convert(a, f64)

    def load(self, source: SSAValue, indices: Sequence[SSAValue]) -> SSAValue:
        return self.emit(memref.LoadOp.get(source, list(indices)))

    def yield_(self, *values: SSAValue) -> None:
        self.block.add_op(YieldOp(*values))
