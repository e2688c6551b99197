"""The executor: runs tiler IR of every stage with numpy, on xDSL's interpreter.

xDSL's `Interpreter` walks functions, `scf` loops and `arith` index arithmetic; every
tiler op runs its own numpy kernel on whole arrays (`compute.py`), never xDSL's
per-element interpretation; memrefs are numpy views of their allocations (`memory.py`);
DMA is asynchronous, with hazards reported (`dma.py`). Each kernel result is checked
against the type the IR declares, so a wrong shape or dtype is caught where it happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from xdsl.dialects import func, memref
from xdsl.dialects.builtin import (
    DictionaryAttr,
    IntegerType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    Signedness,
    StringAttr,
    TensorType,
)
from xdsl.interpreter import (
    Interpreter,
    ReturnedValues,
    InterpreterFunctions,
    impl,
    impl_terminator,
    register_impls,
)
from xdsl.interpreters.func import FuncFunctions
from xdsl.interpreters.affine import AffineFunctions
from xdsl.interpreters.cf import CfFunctions
from xdsl.interpreters.scf import ScfFunctions

from tiler_dialect.attributes import ARENA_ATTR, OFFSET_ATTR
from tiler_dialect.ops import ALL_OPS, NAME_ATTR, TilerOp, element_dtype
from tiler_dialect.dma import check_dma
from tiler_dialect.program import check_defined_before_use, main_function
from tiler_passes.lowering.signless import UNSIGNED_ATTR
from tiler_tools.executor.compiled import can_compile, compile_function
from tiler_tools.executor.compute import run_compute
from tiler_tools.executor.dma import DmaEngine
from tiler_tools.executor.errors import ExecutionError
from tiler_tools.executor.elementwise import ElementFunctions
from tiler_tools.executor.linalg import LinalgFunctions
from tiler_tools.executor.memory import MemrefFunctions, arena_view, integer_levels, new_arena


def _tiler_functions() -> type[InterpreterFunctions]:
    """One implementation per tiler op class, each calling the op's own kernel."""

    def run(ft, interpreter: Interpreter, op: TilerOp, args: tuple[Any, ...]):
        return run_compute(ft.dma, op, args)

    def init(self, dma: DmaEngine) -> None:
        self.dma = dma

    namespace: dict[str, Any] = {f"run_{cls.__name__}": impl(cls)(run) for cls in ALL_OPS}
    namespace["__init__"] = init
    return register_impls(type("TilerFunctions", (InterpreterFunctions,), namespace))


TilerFunctions = _tiler_functions()


@register_impls
class DmaFunctions(InterpreterFunctions):
    def __init__(self, dma: DmaEngine):
        self.dma = dma

    @impl(memref.DmaStartOp)
    def run_start(self, interpreter: Interpreter, op: memref.DmaStartOp, args: tuple[Any, ...]):
        it = iter(args)
        source = next(it)
        source_start = tuple(next(it) for _ in op.src_indices)
        target = next(it)
        target_start = tuple(next(it) for _ in op.dest_indices)
        count = next(it)
        tags = next(it)
        tag = (id(tags), *(next(it) for _ in op.tag_indices))
        self.dma.start(op, tag, source, source_start, target, target_start, count)
        return ()

    @impl(memref.DmaWaitOp)
    def run_wait(self, interpreter: Interpreter, op: memref.DmaWaitOp, args: tuple[Any, ...]):
        tags, *indices = args[:-1]
        self.dma.wait((id(tags), *indices))
        return ()


@register_impls
class ReturnChecksDma(FuncFunctions):
    """func.return, checking no transfer is left in flight."""

    def __init__(self, dma: DmaEngine):
        self.dma = dma

    @impl_terminator(func.ReturnOp)
    def run_return(self, interpreter: Interpreter, op: func.ReturnOp, args: tuple[Any, ...]):
        self.dma.check_idle(op)
        return ReturnedValues(args), ()


def _names(attrs: Any, count: int, kind: str) -> list[str]:
    names = []
    for i in range(count):
        entry = attrs.data[i] if attrs is not None and i < len(attrs.data) else None
        name = entry.data.get(NAME_ATTR) if isinstance(entry, DictionaryAttr) else None
        names.append(name.data if isinstance(name, StringAttr) else f"{kind}{i}")
    return names


def _declared(attrs: Any, types: list) -> list:
    """The types as the graph declares them: an argument or result that lowering made
    signless but marked `tiler.unsigned` is unsigned (lowering/signless.py)."""
    out = []
    for i, t in enumerate(types):
        entry = attrs.data[i] if attrs is not None and i < len(attrs.data) else None
        if isinstance(entry, DictionaryAttr) and UNSIGNED_ATTR in entry.data and isinstance(t, MemRefType | TensorType):
            element = IntegerType(t.element_type.width.data, Signedness.UNSIGNED)  # type: ignore[attr-defined]
            t = MemRefType(element, t.get_shape(), t.layout, t.memory_space) if isinstance(t, MemRefType) else TensorType(element, t.get_shape())
        out.append(t)
    return out


def signature(module: ModuleOp) -> tuple[list[tuple[str, TensorType]], list[tuple[str, TensorType]]]:
    """The graph's named inputs and outputs, with their types as the graph declares them."""
    main = main_function(module)
    ins = _declared(main.arg_attrs, list(main.function_type.inputs.data))
    outs = _declared(main.res_attrs, list(main.function_type.outputs.data))
    return (
        list(zip(_names(main.arg_attrs, len(ins), "arg"), ins)),
        list(zip(_names(main.res_attrs, len(outs), "result"), outs)),
    )


def _bind_input(name: str, t: TensorType | MemRefType, value: np.ndarray) -> np.ndarray:
    value = np.asarray(value)
    shape = tuple(t.get_shape())
    dtype = element_dtype(t.element_type)
    if value.shape != shape:
        raise ExecutionError(f"input '{name}' has shape {list(value.shape)}, the graph expects {list(shape)}")
    if value.dtype != dtype:
        if not np.can_cast(value.dtype, dtype, casting="same_kind"):
            raise ExecutionError(f"input '{name}' is {value.dtype}, the graph expects {dtype}")
        value = value.astype(dtype)
    # a memref argument is a buffer the program may write: give it its own copy
    return np.array(value, order="C", copy=True) if isinstance(t, MemRefType) else np.require(value, requirements="C")


def _arenas(module: ModuleOp) -> dict[str, np.ndarray]:
    """One byte array per level the allocation gave an arena (`memref.alloc {tiler.arena}`)."""
    arenas = {}
    for op in main_function(module).body.blocks[0].ops:  # the entry block (a CFG has more)
        level = op.attributes.get(ARENA_ATTR)
        if isinstance(op, memref.AllocOp) and isinstance(level, StringAttr):
            t = op.memref.type
            assert isinstance(t, MemRefType)
            arenas[level.data] = new_arena(t.get_shape()[0])
    return arenas


def _arg_offsets(module: ModuleOp) -> list[int | None]:
    main = main_function(module)
    out: list[int | None] = []
    for i in range(len(main.function_type.inputs.data)):
        entry = main.arg_attrs.data[i] if main.arg_attrs is not None and i < len(main.arg_attrs.data) else None
        offset = entry.data.get(OFFSET_ATTR) if isinstance(entry, DictionaryAttr) else None
        out.append(offset.value.data if isinstance(offset, IntegerAttr) else None)
    return out


def execute(
    module: ModuleOp, inputs: Mapping[str, np.ndarray], counters: dict[str, int] | None = None
) -> dict[str, np.ndarray]:
    """Run @main on named inputs; returns the named outputs.

    Works on the IR of every stage: tensors, or memrefs with loops and DMA (checked for
    hazards as it runs). If `counters` is given, it receives the DMA traffic the run
    moved: "dma_bytes" and "dma_transfers"."""
    check_defined_before_use(module)
    check_dma(module)
    arg_sig, res_sig = signature(module)
    missing = [n for n, _ in arg_sig if n not in inputs]
    if missing:
        raise ExecutionError(
            f"missing input(s) {', '.join(missing)}; the graph takes {', '.join(n for n, _ in arg_sig)}"
        )
    main = main_function(module)
    # the declared types bind the inputs, the IR's own (signless for unsigned data) run them
    actual = list(main.function_type.inputs.data)
    args = [_bind_input(n, t, inputs[n]).view(element_dtype(a.element_type)) for (n, t), a in zip(arg_sig, actual)]
    arenas = _arenas(module)
    if arenas:  # an allocated module: inputs go where the allocation placed them
        offsets = _arg_offsets(module)
        for i, ((name, _), t, offset) in enumerate(zip(arg_sig, actual, offsets)):
            if offset is not None:
                view = arena_view(arenas, t, offset, f"input '{name}'", integer_levels(module))
                view[...] = args[i]
                args[i] = view
    dma = DmaEngine()
    interpreter = Interpreter(module)
    interpreter.register_implementations(ReturnChecksDma(dma))
    interpreter.register_implementations(ScfFunctions())
    interpreter.register_implementations(CfFunctions())
    interpreter.register_implementations(AffineFunctions())
    interpreter.register_implementations(ElementFunctions())
    interpreter.register_implementations(LinalgFunctions())
    interpreter.register_implementations(MemrefFunctions(module, arenas))
    interpreter.register_implementations(DmaFunctions(dma))
    interpreter.register_implementations(TilerFunctions(dma))
    try:
        if can_compile(main):  # scalar code: as Python, not op by op
            results = compile_function(main, interpreter, dma.check_idle)(*args)
        else:
            results = interpreter.call_op("main", tuple(args))
    except ExecutionError:
        raise
    except Exception as e:
        raise ExecutionError(f"execution failed: {type(e).__name__}: {e}") from e
    if counters is not None:
        counters["dma_bytes"] = dma.bytes_moved
        counters["dma_transfers"] = dma.transfers
    return {name: np.array(v, copy=True).view(element_dtype(t.element_type)) for (name, t), v in zip(res_sig, results)}
