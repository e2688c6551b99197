"""linalg ops with numpy: a body evaluated once on arrays over the whole iteration box.

Each loop dim is an axis; a block argument is its operand gathered through the
operand's indexing map (a view where the map picks dims, fancy indexing otherwise);
`linalg.index` is an arange along its axis; `memref.load` in a body gathers at the index
arrays it is given (out-of-bounds indices are errors, as they are undefined behaviour);
every arith/math op is its numpy function (elementwise.py). Outputs are written as
linalg says: a parallel op stores its yield; a reduction `out = combine(out, x)` (add,
max, min, mul) reduces x over the reduction axes and combines it with the output once.
A body of any other shape runs once per point of the reduction dims, in order. Boxes of
many points are cut along their dims, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any

import numpy as np
from xdsl.dialects import arith, memref
from xdsl.dialects.linalg import ops as linalg
from xdsl.dialects.linalg.abstract_ops import LinalgStructuredOperation
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, MemRefType
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineBinaryOpExpr, AffineBinaryOpKind, AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap

from tiler_tools.executor.elementwise import apply_kernel, dtype_of
from tiler_tools.executor.errors import ExecutionError
from tiler_tools.executor.memory import fresh

MAX_POINTS = 1 << 22  # iteration points evaluated at once

_COMBINERS: dict[type[Operation], Any] = {
    arith.AddfOp: np.add,
    arith.AddiOp: np.add,
    arith.MaximumfOp: np.maximum,
    arith.MaxSIOp: np.maximum,
    arith.MinimumfOp: np.minimum,
    arith.MinSIOp: np.minimum,
    arith.MulfOp: np.multiply,
    arith.MuliOp: np.multiply,
}


def _affine(expr: AffineExpr, iotas: Sequence[np.ndarray]) -> Any:
    if isinstance(expr, AffineDimExpr):
        return iotas[expr.position]
    if isinstance(expr, AffineConstantExpr):
        return expr.value
    if isinstance(expr, AffineBinaryOpExpr):
        a, b = _affine(expr.lhs, iotas), _affine(expr.rhs, iotas)
        if expr.kind == AffineBinaryOpKind.Add:
            return a + b
        if expr.kind == AffineBinaryOpKind.Mul:
            return a * b
        if expr.kind == AffineBinaryOpKind.FloorDiv:
            return np.floor_divide(a, b)
        if expr.kind == AffineBinaryOpKind.CeilDiv:
            return -np.floor_divide(-a, b)
        if expr.kind == AffineBinaryOpKind.Mod:
            return np.mod(a, b)
    raise ExecutionError(f"affine expression {expr} is not supported")


def _gather(array: np.ndarray, indices: Sequence[Any], what: str) -> np.ndarray:
    for d, (i, n) in enumerate(zip(indices, array.shape)):
        i = np.asarray(i)
        if i.size and (i.min() < 0 or i.max() >= n):
            raise ExecutionError(f"{what}: index {int(i.min())}..{int(i.max())} of dim {d} is outside [0, {n})")
    return array[tuple(indices)]


class Box:
    """A box of the iteration space: per dim [lo, hi)."""

    def __init__(self, ranges: Sequence[tuple[int, int]]):
        self.ranges = list(ranges)
        n = len(ranges)
        self.iotas = [
            np.arange(lo, hi, dtype=np.int64).reshape([-1 if j == i else 1 for j in range(n)])
            for i, (lo, hi) in enumerate(ranges)
        ]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(hi - lo for lo, hi in self.ranges)

    def operand(self, array: np.ndarray, m: AffineMap, what: str) -> np.ndarray:
        """The operand's elements at every point of the box (broadcastable to its shape)."""
        dims = [e.position if isinstance(e, AffineDimExpr) else None for e in m.results]
        if all(d is not None for d in dims) and len(set(dims)) == len(dims):
            sub = array[tuple(slice(*self.ranges[d]) for d in dims)]  # type: ignore[index]
            order = sorted(range(len(dims)), key=lambda r: dims[r])  # type: ignore[arg-type, return-value]
            sub = np.transpose(sub, order)
            shape = [self.shape[i] if i in dims else 1 for i in range(len(self.ranges))]
            return sub.reshape(shape)
        indices = [_affine(e, self.iotas) for e in m.results]
        value = _gather(array, indices, what)
        return value.reshape(value.shape + (1,) * (len(self.ranges) - value.ndim)) if value.ndim < len(self.ranges) else value

    def output(self, array: np.ndarray, m: AffineMap) -> "OutputWindow":
        return OutputWindow(self, array, m)


class OutputWindow:
    """An output's elements over a box, read and written in loop-dim order (axes of the
    dims the map does not use have extent 1): a view where the map picks dims or
    constants, indices otherwise (a grouped conv's channel g * M + m)."""

    def __init__(self, box: Box, array: np.ndarray, m: AffineMap):
        n = len(box.ranges)
        self.used = sorted(m.used_dims())
        self.target = [box.shape[i] if i in self.used else 1 for i in range(n)]
        self.array = array
        self.indices: tuple[Any, ...] | None = None
        index: list[Any] = []
        axes: list[int] = []
        for e in m.results:
            if isinstance(e, AffineDimExpr) and e.position not in axes:
                index.append(slice(*box.ranges[e.position]))
                axes.append(e.position)
            elif isinstance(e, AffineConstantExpr):
                index.append(e.value)
            else:
                self.indices = tuple(np.broadcast_to(_affine(r, box.iotas), self.target) for r in m.results)
                return
        self.view = array[(*index, Ellipsis)]  # a view, even when every index is a constant
        self.axes = axes

    def get(self) -> np.ndarray:
        if self.indices is not None:
            return _gather(self.array, self.indices, "output")
        order = sorted(range(len(self.axes)), key=lambda r: self.axes[r])
        return np.transpose(self.view, order).reshape(self.target)

    def set(self, value: np.ndarray) -> None:
        value = np.broadcast_to(value, self.target).astype(self.array.dtype, copy=False)
        if self.indices is not None:
            self.array[self.indices] = value
            return
        value = value.reshape([self.target[i] for i in sorted(self.axes)])
        self.view[...] = np.transpose(value, [sorted(self.axes).index(a) for a in self.axes])


def _loop_extents(op: linalg.GenericOp, operands: Sequence[np.ndarray], maps: Sequence[AffineMap]) -> list[int]:
    n = maps[0].num_dims if maps else 0
    extents: list[int | None] = [None] * n
    for array, m in zip(operands, maps):
        for r, e in enumerate(m.results):
            if isinstance(e, AffineDimExpr) and extents[e.position] is None:
                extents[e.position] = np.shape(array)[r]
    missing = [i for i, x in enumerate(extents) if x is None]
    if missing:
        raise ExecutionError(f"{op.name}: loop dims {missing} are not a plain index of any operand")
    return extents  # type: ignore[return-value]


def _evaluate_body(op: linalg.GenericOp, box: Box, operands, maps, outs_now) -> dict[SSAValue, Any]:
    block = op.body.block
    env: dict[SSAValue, Any] = {}
    n_in = len(op.inputs)
    for i, (arg, array, m) in enumerate(zip(block.args, operands, maps)):
        if i < n_in:
            if arg.uses:
                env[arg] = box.operand(array, m, f"{op.name} operand #{i}")
        else:
            env[arg] = outs_now[i - n_in]
    for inner in block.ops:
        if isinstance(inner, linalg.YieldOp):
            break
        if isinstance(inner, linalg.IndexOp):
            env[inner.result] = box.iotas[inner.dim.value.data]
        elif isinstance(inner, arith.ConstantOp):
            value = inner.value
            if not isinstance(value, IntegerAttr | FloatAttr):
                raise ExecutionError(f"{op.name}: constant {value} in a body is not supported")
            env[inner.result] = np.asarray(value.value.data, dtype=dtype_of(inner.result.type))
        elif isinstance(inner, memref.LoadOp):
            source = env.get(inner.memref)
            if source is None:
                source = _outside[inner.memref]
            idx = [env[v] if v in env else _outside[v] for v in inner.indices]
            env[inner.res] = _gather(source, idx, f"{op.name}: memref.load")
        else:
            args = [env[v] if v in env else _outside[v] for v in inner.operands]
            env[inner.results[0]] = apply_kernel(inner, args)
    return env


_outside: dict[SSAValue, Any] = {}  # values defined outside a body, set per run


def _combiner(op: linalg.GenericOp, k: int) -> tuple[Any, SSAValue] | None:
    """(numpy combiner, contribution) when output k's yield is combine(out_k, x) and x
    does not depend on out_k."""
    block = op.body.block
    out_arg = block.args[len(op.inputs) + k]
    yielded = block.last_op.operands[k]  # type: ignore[union-attr]
    owner = yielded.owner
    if type(owner) not in _COMBINERS or len(owner.operands) != 2:
        return None
    a, b = owner.operands
    other = b if a is out_arg else a if b is out_arg else None
    if other is None or _depends_on(other, out_arg, block):
        return None
    return _COMBINERS[type(owner)], other


def _depends_on(value: SSAValue, arg: SSAValue, block) -> bool:
    seen: set[SSAValue] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if v is arg:
            return True
        if v in seen:
            continue
        seen.add(v)
        owner = v.owner
        if isinstance(owner, Operation) and owner.parent_block() is block:
            stack.extend(owner.operands)
    return False


def run_generic(op: LinalgStructuredOperation, operands: Sequence[np.ndarray], outside: dict[SSAValue, Any]) -> None:
    """A linalg.generic, or a named op (by its indexing maps and body)."""
    maps = [m.data for m in op.get_indexing_maps().data]
    extents = _loop_extents(op, operands, maps)
    reductions = [i for i, t in enumerate(op.get_iterator_types().data) if t.data.value == "reduction"]
    n_in = len(op.inputs)
    outs = list(operands[n_in:])
    combiners = [_combiner(op, k) for k in range(len(outs))]
    vectorised = all(c is not None for c in combiners) or not reductions
    _outside.clear()
    _outside.update(outside)
    for box in _boxes(extents, reductions if vectorised else []):
        if vectorised:
            _run_box(op, box, operands, maps, outs, combiners, reductions)
        else:  # one reduction point at a time, in order
            for point in np.ndindex(*(box.ranges[i][1] - box.ranges[i][0] for i in reductions)):
                ranges = list(box.ranges)
                for i, p in zip(reductions, point):
                    ranges[i] = (box.ranges[i][0] + p, box.ranges[i][0] + p + 1)
                _run_box(op, Box(ranges), operands, maps, outs, [None] * len(outs), [])


def _boxes(extents: Sequence[int], reductions: Sequence[int]):
    """Boxes covering the iteration space, each of at most MAX_POINTS points, cut along
    the outermost dims first (reduction dims after the parallel ones)."""
    order = [i for i in range(len(extents)) if i not in reductions] + list(reductions)

    def split(ranges: list[tuple[int, int]], k: int):
        points = prod(hi - lo for lo, hi in ranges)
        if points <= MAX_POINTS or k >= len(order):
            yield Box(ranges)
            return
        d = order[k]
        lo, hi = ranges[d]
        rest = points // max(hi - lo, 1)
        step = max(1, MAX_POINTS // max(rest, 1))
        for start in range(lo, hi, step):
            sub = list(ranges)
            sub[d] = (start, min(start + step, hi))
            yield from split(sub, k + 1)

    if 0 in extents:
        return
    yield from split([(0, e) for e in extents], 0)


def _run_box(op, box: Box, operands, maps, outs, combiners, reductions) -> None:
    n_in = len(op.inputs)
    windows = [box.output(out, maps[n_in + k]) for k, out in enumerate(outs)]
    outs_now = [w.get() for w in windows]
    env = _evaluate_body(op, box, operands, maps, outs_now)
    yields = op.body.block.last_op.operands  # type: ignore[union-attr]
    n = len(box.ranges)
    for k, (window, combiner) in enumerate(zip(windows, combiners)):
        if reductions and combiner is not None:
            fn, contribution = combiner
            x = np.broadcast_to(env[contribution] if contribution in env else _outside[contribution], box.shape)
            with np.errstate(all="ignore"):
                total = fn.reduce(x, axis=tuple(reductions), keepdims=True) if x.size else x
                value = fn(outs_now[k], total)
        else:
            value = np.asarray(env[yields[k]] if yields[k] in env else _outside[yields[k]])
        if value.ndim == n and any(value.shape[i] > 1 and i not in window.used for i in range(n)):
            raise ExecutionError(f"{op.name}: a parallel dim the output does not index would write each element many times")
        window.set(value)


NAMED_OPS = (
    linalg.MatmulOp, linalg.Conv2DNchwFchwOp, linalg.Conv2DNgchwGfchwOp, linalg.PoolingNchwMaxOp, linalg.TransposeOp,
)


def _linalg_functions() -> type[InterpreterFunctions]:
    def run(self, interpreter: Interpreter, op: LinalgStructuredOperation, args: tuple[Any, ...]):
        run_generic(op, args, _values_used_from_outside(interpreter, op))
        return ()

    namespace = {f"run_{cls.__name__}": impl(cls)(run) for cls in (linalg.GenericOp, *NAMED_OPS)}
    return type("StructuredFunctions", (InterpreterFunctions,), namespace)


@register_impls
class LinalgFunctions(_linalg_functions()):  # type: ignore[misc]

    @impl(linalg.FillOp)
    def run_fill(self, interpreter: Interpreter, op: linalg.FillOp, args: tuple[Any, ...]):
        value, *outs = args
        for out in outs:
            out[...] = value
        return ()

    @impl(memref.AllocaOp)
    def run_alloca(self, interpreter: Interpreter, op: memref.AllocaOp, args: tuple[Any, ...]):
        t = op.memref.type
        assert isinstance(t, MemRefType)
        sizes = iter(args)
        shape = tuple(next(sizes) if s < 0 else s for s in t.get_shape())
        return (fresh(shape, dtype_of(t.element_type)),)

    @impl(memref.DimOp)
    def run_dim(self, interpreter: Interpreter, op: memref.DimOp, args: tuple[Any, ...]):
        source, index = args
        return (int(np.shape(source)[index]),)

    @impl(memref.LoadOp)
    def run_load(self, interpreter: Interpreter, op: memref.LoadOp, args: tuple[Any, ...]):
        source, *indices = args
        return (_gather(source, [int(i) for i in indices], "memref.load")[()],)

    @impl(memref.StoreOp)
    def run_store(self, interpreter: Interpreter, op: memref.StoreOp, args: tuple[Any, ...]):
        value, target, *indices = args
        _gather(target, [int(i) for i in indices], "memref.store")  # bounds
        target[tuple(int(i) for i in indices)] = value
        return ()

    @impl(memref.CollapseShapeOp)
    def run_collapse(self, interpreter: Interpreter, op: memref.CollapseShapeOp, args: tuple[Any, ...]):
        return (_reshape_view(args[0], op.result.type, op.name),)

    @impl(memref.ExpandShapeOp)
    def run_expand(self, interpreter: Interpreter, op: memref.ExpandShapeOp, args: tuple[Any, ...]):
        return (_reshape_view(args[0], op.result.type, op.name),)


def _reshape_view(source: np.ndarray, t, what: str) -> np.ndarray:
    view = source.view()
    try:
        view.shape = tuple(t.get_shape())  # raises instead of copying
    except AttributeError as e:
        raise ExecutionError(f"{what}: the source's layout cannot be reshaped in place") from e
    return view


def _values_used_from_outside(interpreter: Interpreter, op: linalg.GenericOp) -> dict[SSAValue, Any]:
    block = op.body.block
    values: dict[SSAValue, Any] = {}
    for inner in block.ops:
        for v in inner.operands:
            owner = v.owner
            inside = (isinstance(owner, Operation) and owner.parent_block() is block) or v in block.args
            if not inside and v not in values:
                values[v] = interpreter.get_values((v,))[0]
    return values
