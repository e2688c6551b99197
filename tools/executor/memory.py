"""Memrefs as numpy arrays: allocation, subviews, globals, index arithmetic.

A memref value is a numpy array that views its allocation, so subviews, DMA targets and
compute operands alias exactly as the IR says. New allocations are filled with NaN (floats)
so that reading data nothing wrote shows up in the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import (
    ArrayAttr,
    DYNAMIC_INDEX,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.interpreters.arith import ArithFunctions

from tiler_dialect.attributes import ARENA_ATTR, OFFSET_ATTR
from tiler_dialect.ops import element_dtype
from tiler_tools.executor.errors import ExecutionError


def fresh(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A new buffer whose every element says "never written"."""
    if np.issubdtype(dtype, np.floating):
        return np.full(shape, np.nan, dtype=dtype)
    if dtype == np.bool_:
        return np.zeros(shape, dtype=dtype)
    return np.full(shape, np.iinfo(dtype).min, dtype=dtype)


def new_arena(size: int) -> np.ndarray:
    """A level's memory: all bytes 0xFF, which reads as NaN in every float type (and -1 in
    signed integers), so reading what was never written shows."""
    return np.full(size, 0xFF, dtype=np.uint8)


def typed_view(arena: np.ndarray, t: MemRefType, offset: int, what: str) -> np.ndarray:
    dtype = element_dtype(t.element_type)
    shape = tuple(t.get_shape())
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if offset < 0 or offset + size > arena.size:
        raise ExecutionError(f"{what}: bytes [{offset}, {offset + size}) lie outside its arena of {arena.size} bytes")
    return arena[offset : offset + size].view(dtype).reshape(shape)


def integer_levels(module: ModuleOp) -> list[str]:
    """The level names of integer memory spaces (lower-tiler{memory-spaces=integers})."""
    levels = module.attributes.get("tiler.levels")
    return [s.data for s in levels.data] if isinstance(levels, ArrayAttr) else []  # type: ignore[attr-defined]


def arena_view(arenas: dict[str, np.ndarray], t: Any, offset: int, what: str, levels: Sequence[str] = ()) -> np.ndarray:
    from tiler_dialect.attributes import memory_level_of

    level = memory_level_of(t)
    space = getattr(t, "memory_space", None)
    if level is None and isinstance(space, IntegerAttr) and 0 <= space.value.data < len(levels):
        level = levels[space.value.data]
    if level not in arenas:
        raise ExecutionError(f"{what} is placed at offset {offset} of level {level}, which has no arena")
    return typed_view(arenas[level], t, offset, what)


def describe_view(op: memref.ViewOp) -> str:
    name = op.attributes.get("tiler.name")
    return f"memref.view '{name.data}'" if isinstance(name, StringAttr) else "memref.view"


def dense_array(value: DenseIntOrFPElementsAttr) -> np.ndarray:
    """The array a dense attribute holds, without copying its bytes."""
    t = value.type
    dtype = element_dtype(t.element_type)
    return np.frombuffer(value.data.data, dtype=dtype).reshape(t.get_shape())


def _mixed(static: tuple[int, ...], dynamic: list[int]) -> list[int]:
    it = iter(dynamic)
    return [next(it) if v == DYNAMIC_INDEX else v for v in static]


@register_impls
class IndexArithFunctions(ArithFunctions):
    """xDSL's arith, plus dense tensor constants and the index ops tiled loops use."""

    @impl(arith.ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: arith.ConstantOp, args: tuple[Any, ...]):
        value = op.value
        if isinstance(value, DenseIntOrFPElementsAttr) and isinstance(value.type, TensorType):
            return (dense_array(value),)
        if isinstance(value, IntegerAttr | FloatAttr):
            return (value.value.data,)
        raise ExecutionError(f"arith.constant of {value} is not supported")

    @impl(arith.MinSIOp)
    def run_minsi(self, interpreter: Interpreter, op: arith.MinSIOp, args: tuple[Any, ...]):
        return (min(args),)

    @impl(arith.MaxSIOp)
    def run_maxsi(self, interpreter: Interpreter, op: arith.MaxSIOp, args: tuple[Any, ...]):
        return (max(args),)

    @impl(arith.CeilDivSIOp)
    def run_ceildivsi(self, interpreter: Interpreter, op: arith.CeilDivSIOp, args: tuple[Any, ...]):
        a, b = args
        return (-(-a // b),)


@register_impls
class MemrefFunctions(InterpreterFunctions):
    def __init__(self, module: ModuleOp, arenas: dict[str, np.ndarray] | None = None):
        self.globals = {
            op.sym_name.data: op for op in module.walk() if isinstance(op, memref.GlobalOp)
        }
        self.global_values: dict[str, np.ndarray] = {}
        self.arenas = arenas or {}
        for name, g in self.globals.items():  # constants the runtime placed in an arena
            offset = g.attributes.get(OFFSET_ATTR)
            if isinstance(offset, IntegerAttr) and isinstance(g.initial_value, DenseIntOrFPElementsAttr):
                data = dense_array(g.initial_value)
                view = arena_view(self.arenas, g.type, offset.value.data, f"@{name}", integer_levels(module))
                view[...] = data
                self.global_values[name] = view

    @impl(memref.AllocOp)
    def run_alloc(self, interpreter: Interpreter, op: memref.AllocOp, args: tuple[Any, ...]):
        t = op.memref.type
        assert isinstance(t, MemRefType)
        if args:
            raise ExecutionError(f"{op.name}: dynamically sized allocations are not supported")
        level = op.attributes.get(ARENA_ATTR)
        if isinstance(level, StringAttr) and level.data in self.arenas:
            return (self.arenas[level.data],)
        return (fresh(tuple(t.get_shape()), element_dtype(t.element_type)),)

    @impl(memref.ViewOp)
    def run_view(self, interpreter: Interpreter, op: memref.ViewOp, args: tuple[Any, ...]):
        """A typed buffer at a byte offset of an arena: it aliases whatever else lives there."""
        source, shift = args[0], args[1]
        t = op.result.type
        assert isinstance(t, MemRefType)
        if args[2:]:
            raise ExecutionError("memref.view with dynamic sizes is not supported")
        return (typed_view(source, t, shift, describe_view(op)),)

    @impl(memref.DeallocOp)
    def run_dealloc(self, interpreter: Interpreter, op: memref.DeallocOp, args: tuple[Any, ...]):
        return ()

    @impl(memref.GetGlobalOp)
    def run_get_global(self, interpreter: Interpreter, op: memref.GetGlobalOp, args: tuple[Any, ...]):
        name = op.name_.root_reference.data
        if name not in self.global_values:
            g = self.globals.get(name)
            if g is None or not isinstance(g.initial_value, DenseIntOrFPElementsAttr):
                raise ExecutionError(f"memref.get_global: no initialized global @{name}")
            value = dense_array(g.initial_value).copy()
            value.setflags(write=False)  # constants: a write would be a bug
            self.global_values[name] = value
        return (self.global_values[name],)

    @impl(memref.SubviewOp)
    def run_subview(self, interpreter: Interpreter, op: memref.SubviewOp, args: tuple[Any, ...]):
        source = args[0]
        n_off, n_size = len(op.offsets), len(op.sizes)
        offsets = _mixed(op.static_offsets.get_values(), list(args[1 : 1 + n_off]))
        sizes = _mixed(op.static_sizes.get_values(), list(args[1 + n_off : 1 + n_off + n_size]))
        strides = _mixed(op.static_strides.get_values(), list(args[1 + n_off + n_size :]))
        index = []
        for d, (o, n, st, extent) in enumerate(zip(offsets, sizes, strides, source.shape)):
            if n < 0 or o < 0 or st < 1 or (n > 0 and o + (n - 1) * st >= extent):
                raise ExecutionError(
                    f"memref.subview out of bounds: dim {d} takes [{o}, {o + max(n - 1, 0) * st}] "
                    f"step {st} of a memref of size {extent}"
                )
            index.append(slice(o, o + (n - 1) * st + 1 if n else o, st))
        view = source[(*index, Ellipsis)]  # a view, even of a 0-d memref
        result_type = op.result.type
        assert isinstance(result_type, MemRefType)
        rank = len(result_type.get_shape())
        while view.ndim > rank:  # rank-reducing subview: drop leading unit dims
            unit = next((i for i, s in enumerate(view.shape) if s == 1), None)
            if unit is None:
                raise ExecutionError(f"memref.subview: cannot drop a dim of {list(view.shape)} to rank {rank}")
            view = np.squeeze(view, axis=unit)
        for d, (want, got) in enumerate(zip(result_type.get_shape(), view.shape)):
            if want != DYNAMIC_INDEX and want != got:
                raise ExecutionError(f"memref.subview: dim {d} has size {got}, its type says {want}")
        return (view,)
