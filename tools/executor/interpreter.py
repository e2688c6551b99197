"""The executor: runs tiler IR with numpy, on xDSL's interpreter.

xDSL's `Interpreter` walks the IR (functions, and later loops and index arithmetic);
every tiler op runs its own numpy kernel (`TilerOp.compute`) on whole arrays, never xDSL's
per-element interpretation. Tensors are numpy arrays. Each result is checked against the
type the IR declares, so a kernel that returns the wrong shape or dtype is caught where it
happens rather than as a wrong number later.

Later stages plug in here: memrefs as numpy views into one byte array per memory level,
subviews, loops and DMA with hazard tracking are further `InterpreterFunctions`
registered next to these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.interpreters.arith import ArithFunctions
from xdsl.interpreters.func import FuncFunctions

from tiler_dialect.ops import ALL_OPS, NAME_ATTR, TilerOp, element_dtype


class ExecutionError(Exception):
    """The program cannot run (bad inputs, a failing kernel); the message names the op."""


def _check_result(op: TilerOp, value: np.ndarray) -> np.ndarray:
    t = op.result_type
    expected_shape = tuple(t.get_shape())
    expected_dtype = element_dtype(t.element_type)
    if value.shape != expected_shape or value.dtype != expected_dtype:
        raise ExecutionError(
            f"{op.display_name}: kernel returned {value.dtype}{list(value.shape)}, "
            f"the IR declares {expected_dtype}{list(expected_shape)}"
        )
    return value


def _run_tiler_op(ft: InterpreterFunctions, interpreter: Interpreter, op: TilerOp, args: tuple[Any, ...]):
    if op.outputs:
        raise ExecutionError(f"{op.display_name}: the destination (memref) form is not executable yet")
    with np.errstate(all="ignore"):
        result = op.compute(*args)
    return (_check_result(op, np.asarray(result)),)


def _tiler_functions() -> type[InterpreterFunctions]:
    """One implementation per tiler op class, all calling the op's own kernel."""
    namespace = {f"run_{cls.__name__}": impl(cls)(_run_tiler_op) for cls in ALL_OPS}
    return register_impls(type("TilerFunctions", (InterpreterFunctions,), namespace))


TilerFunctions = _tiler_functions()


@register_impls
class TensorArithFunctions(ArithFunctions):
    """xDSL's arith implementations, plus dense tensor constants as numpy arrays."""

    @impl(arith.ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: arith.ConstantOp, args: tuple[Any, ...]):
        value = op.value
        if isinstance(value, DenseIntOrFPElementsAttr) and isinstance(value.type, TensorType):
            dtype = element_dtype(value.type.element_type)
            array = np.frombuffer(value.data.data, dtype=dtype).reshape(value.type.get_shape())
            return (array,)
        return super().run_constant(interpreter, op, args)


def main_function(module: ModuleOp) -> func.FuncOp:
    funcs = [op for op in module.walk() if isinstance(op, func.FuncOp) and op.sym_name.data == "main"]
    if len(funcs) != 1:
        raise ExecutionError("the module must define exactly one function @main")
    return funcs[0]


def _names(attrs: Any, count: int, kind: str) -> list[str]:
    names = []
    for i in range(count):
        entry = attrs.data[i] if attrs is not None and i < len(attrs.data) else None
        name = entry.data.get(NAME_ATTR) if isinstance(entry, DictionaryAttr) else None
        names.append(name.data if isinstance(name, StringAttr) else f"{kind}{i}")
    return names


def signature(module: ModuleOp) -> tuple[list[tuple[str, TensorType]], list[tuple[str, TensorType]]]:
    """The graph's named inputs and outputs, with their types."""
    main = main_function(module)
    ins = list(main.function_type.inputs.data)
    outs = list(main.function_type.outputs.data)
    return (
        list(zip(_names(main.arg_attrs, len(ins), "arg"), ins)),
        list(zip(_names(main.res_attrs, len(outs), "result"), outs)),
    )


def _bind_input(name: str, t: TensorType, value: np.ndarray) -> np.ndarray:
    value = np.asarray(value)
    shape = tuple(t.get_shape())
    dtype = element_dtype(t.element_type)
    if value.shape != shape:
        raise ExecutionError(f"input '{name}' has shape {list(value.shape)}, the graph expects {list(shape)}")
    if value.dtype != dtype:
        if not np.can_cast(value.dtype, dtype, casting="same_kind"):
            raise ExecutionError(f"input '{name}' is {value.dtype}, the graph expects {dtype}")
        value = value.astype(dtype)
    return np.require(value, requirements="C")


def execute(module: ModuleOp, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run @main on named inputs; returns the named outputs."""
    arg_sig, res_sig = signature(module)
    missing = [n for n, _ in arg_sig if n not in inputs]
    if missing:
        raise ExecutionError(
            f"missing input(s) {', '.join(missing)}; the graph takes {', '.join(n for n, _ in arg_sig)}"
        )
    args = [_bind_input(n, t, inputs[n]) for n, t in arg_sig]
    interpreter = Interpreter(module)
    interpreter.register_implementations(FuncFunctions())
    interpreter.register_implementations(TensorArithFunctions())
    interpreter.register_implementations(TilerFunctions())
    try:
        results = interpreter.call_op("main", tuple(args))
    except ExecutionError:
        raise
    except Exception as e:
        cause = e
        raise ExecutionError(f"execution failed: {type(cause).__name__}: {cause}") from e
    return {name: np.asarray(v) for (name, _), v in zip(res_sig, results)}
