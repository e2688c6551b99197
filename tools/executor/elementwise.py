"""arith and math ops as numpy functions, on scalars or whole arrays alike.

One table serves both the bodies of linalg ops (evaluated on arrays over a whole
iteration box, linalg.py) and the scalar code convert-linalg-to-loops leaves (the
interpreter's implementations below), so both compute in the IR's element types.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable
from typing import Any

import numpy as np
from xdsl.dialects import arith, math
from xdsl.dialects.builtin import IndexType
from xdsl.interpreter import Interpreter, impl, register_impls
from xdsl.ir import Attribute, Operation

from tiler_dialect.xdsl_fixes import RemFOp
from tiler_dialect.ops import element_dtype
from tiler_tools.executor.errors import ExecutionError
from tiler_tools.executor.memory import IndexArithFunctions


def dtype_of(t: Attribute) -> np.dtype:
    if isinstance(t, IndexType):
        return np.dtype(np.int64)
    return element_dtype(t)


def _trunc_div(a, b):
    if np.issubdtype(np.asarray(a).dtype, np.integer):
        q = np.abs(a) // np.abs(b)
        return np.where((np.asarray(a) < 0) != (np.asarray(b) < 0), -q, q)
    return np.trunc(a / b)


_erf = np.vectorize(pymath.erf, otypes=[np.float64])

def _as_unsigned(a):
    """The same bits read as unsigned (arith's integers are signless; the `u` ops read
    them so)."""
    a = np.asarray(a)
    if a.dtype.kind == "i":
        return a.astype(np.dtype(f"uint{a.dtype.itemsize * 8}"))
    return a


def _unsigned(f):
    return lambda op, *args: f(*(_as_unsigned(a) for a in args))


# CmpiOp / CmpfOp predicates by their number (MLIR's order; 6-9 compare as unsigned)
_CMPI = {
    0: np.equal, 1: np.not_equal, 2: np.less, 3: np.less_equal, 4: np.greater, 5: np.greater_equal,
    6: lambda a, b: np.less(_as_unsigned(a), _as_unsigned(b)),
    7: lambda a, b: np.less_equal(_as_unsigned(a), _as_unsigned(b)),
    8: lambda a, b: np.greater(_as_unsigned(a), _as_unsigned(b)),
    9: lambda a, b: np.greater_equal(_as_unsigned(a), _as_unsigned(b)),
}
_CMPF = {
    1: np.equal, 2: np.greater, 3: np.greater_equal, 4: np.less, 5: np.less_equal, 6: np.not_equal,
    8: np.equal, 9: np.greater, 10: np.greater_equal, 11: np.less, 12: np.less_equal, 13: np.not_equal,
}


def _cmpf(op, a, b):
    p = op.predicate.value.data
    if p == 0:
        return np.zeros(np.broadcast(a, b).shape, bool)
    if p == 15:
        return np.ones(np.broadcast(a, b).shape, bool)
    if p == 7:  # ordered
        return ~(np.isnan(a) | np.isnan(b))
    if p == 14:  # unordered
        return np.isnan(a) | np.isnan(b)
    result = _CMPF[p](a, b)
    return result | (np.isnan(a) | np.isnan(b)) if p >= 8 else result


Kernel = Callable[..., Any]

KERNELS: dict[type[Operation], Kernel] = {
    arith.AddfOp: lambda op, a, b: np.add(a, b),
    arith.SubfOp: lambda op, a, b: np.subtract(a, b),
    arith.MulfOp: lambda op, a, b: np.multiply(a, b),
    arith.DivfOp: lambda op, a, b: np.divide(a, b),
    arith.NegfOp: lambda op, a: np.negative(a),
    arith.MaximumfOp: lambda op, a, b: np.maximum(a, b),
    arith.MinimumfOp: lambda op, a, b: np.minimum(a, b),
    arith.MaxnumfOp: lambda op, a, b: np.fmax(a, b),
    arith.MinnumfOp: lambda op, a, b: np.fmin(a, b),
    arith.AddiOp: lambda op, a, b: np.add(a, b),
    arith.SubiOp: lambda op, a, b: np.subtract(a, b),
    arith.MuliOp: lambda op, a, b: np.multiply(a, b),
    arith.DivSIOp: lambda op, a, b: _trunc_div(a, b),
    arith.RemSIOp: lambda op, a, b: np.fmod(a, b),
    arith.FloorDivSIOp: lambda op, a, b: np.floor_divide(a, b),
    arith.CeilDivSIOp: lambda op, a, b: -np.floor_divide(np.negative(a), b),
    arith.MaxSIOp: lambda op, a, b: np.maximum(a, b),
    arith.MinSIOp: lambda op, a, b: np.minimum(a, b),
    arith.DivUIOp: _unsigned(np.floor_divide),
    arith.RemUIOp: _unsigned(np.remainder),
    arith.MaxUIOp: _unsigned(np.maximum),
    arith.MinUIOp: _unsigned(np.minimum),
    arith.ShLIOp: lambda op, a, b: np.left_shift(a, b),
    arith.ShRSIOp: lambda op, a, b: np.right_shift(a, b),
    arith.ShRUIOp: _unsigned(np.right_shift),
    arith.AndIOp: lambda op, a, b: np.bitwise_and(a, b),
    arith.OrIOp: lambda op, a, b: np.bitwise_or(a, b),
    arith.XOrIOp: lambda op, a, b: np.bitwise_xor(a, b),
    arith.CmpiOp: lambda op, a, b: _CMPI[op.predicate.value.data](a, b),
    arith.CmpfOp: _cmpf,
    arith.SelectOp: lambda op, c, a, b: np.where(c, a, b),
    arith.IndexCastOp: lambda op, a: a,
    arith.SIToFPOp: lambda op, a: a,
    arith.FPToSIOp: lambda op, a: np.trunc(a),
    arith.ExtFOp: lambda op, a: a,
    arith.TruncFOp: lambda op, a: a,
    arith.ExtSIOp: lambda op, a: a,
    arith.ExtUIOp: _unsigned(lambda a: a),
    arith.UIToFPOp: _unsigned(lambda a: a),
    arith.FPToUIOp: lambda op, a: np.trunc(a).astype(np.dtype(f"uint{op.result.type.width.data}")),
    arith.TruncIOp: lambda op, a: a,
    math.ExpOp: lambda op, a: np.exp(a),
    math.TanhOp: lambda op, a: np.tanh(a),
    math.SqrtOp: lambda op, a: np.sqrt(a),
    math.RsqrtOp: lambda op, a: 1 / np.sqrt(a),
    math.ErfOp: lambda op, a: _erf(a),
    math.PowFOp: lambda op, a, b: np.power(a, b),
    math.AbsFOp: lambda op, a: np.abs(a),
    math.LogOp: lambda op, a: np.log(a),
    math.RoundEvenOp: lambda op, a: np.rint(a),
    RemFOp: lambda op, a, b: np.fmod(a, b),
    math.FloorOp: lambda op, a: np.floor(a),
    math.CeilOp: lambda op, a: np.ceil(a),
    math.SinOp: lambda op, a: np.sin(a),
    math.CosOp: lambda op, a: np.cos(a),
    math.FmaOp: lambda op, a, b, c: _fma(a, b, c),
}


def _fma(a, b, c):
    """a * b + c rounded once (float32 exactly, as a fused multiply-add; wider floats in
    double precision)."""
    if np.asarray(a).dtype == np.float32:
        from tiler_dialect.ops.qlinear import fma32

        return fma32(a, b, c)
    return np.asarray(a, np.float64) * b + c


def apply_kernel(op: Operation, args: list[Any]) -> Any:
    """The op's result, in its result type (numpy promotes otherwise)."""
    kernel = KERNELS.get(type(op))
    if kernel is None:
        raise ExecutionError(f"{op.name} is not supported by the executor")
    with np.errstate(all="ignore"):
        value = kernel(op, *args)
    dtype = dtype_of(op.results[0].type) if not isinstance(op, arith.CmpiOp | arith.CmpfOp) else np.dtype(bool)
    value = np.asarray(value)
    return value.astype(dtype, copy=False) if value.dtype != dtype else value


# the scalar form: the interpreter's implementation of each op in the table, except the
# integer and index ops xDSL's own arith runs on Python ints (loop bounds, offsets)
_PYTHON_INT_OPS = {
    arith.AddiOp, arith.SubiOp, arith.MuliOp, arith.DivSIOp, arith.RemSIOp, arith.FloorDivSIOp,
    arith.CeilDivSIOp, arith.MaxSIOp, arith.MinSIOp, arith.AndIOp, arith.OrIOp, arith.XOrIOp,
    arith.CmpiOp, arith.SelectOp, arith.IndexCastOp,
}


def _scalar(op: Operation, args: tuple[Any, ...]) -> Any:
    value = apply_kernel(op, list(args))
    return value[()] if value.ndim == 0 else value


def _element_functions() -> type:
    def run(self, interpreter: Interpreter, op: Operation, args: tuple[Any, ...]):
        if any(isinstance(a, np.ndarray) and a.ndim for a in args):
            raise ExecutionError(f"{op.name} on tensors is not supported by the executor")
        return (_scalar(op, args),)

    namespace = {
        f"run_{cls.__name__}": impl(cls)(run) for cls in KERNELS if cls not in _PYTHON_INT_OPS
    }
    return register_impls(type("ElementFunctions", (IndexArithFunctions,), namespace))


ElementFunctions = _element_functions()
