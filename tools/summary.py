"""`tiler-opt -t summary`: what a module holds, in a few lines instead of its IR."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import IO

from xdsl.context import Context
from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.utils.target import Target

from tiler_dialect.attributes import hierarchy_of
from tiler_dialect.ops import TilerOp, element_dtype, shaped_bytes
from tiler_tools.executor import signature


def human_bytes(n: int) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _fmt_type(t: TensorType) -> str:
    return f"{element_dtype(t.element_type)}[{','.join(map(str, t.get_shape()))}]"


def summarize(module: ModuleOp) -> str:
    h = hierarchy_of(module)
    levels = " <-> ".join(f"{l.name} {human_bytes(l.size)}" for l in h.memoryLevels.values())
    ins, outs = signature(module)
    kinds: Counter[str] = Counter()
    constants = const_bytes = activation_bytes = largest = macs = 0
    for op in module.walk():
        if isinstance(op, arith.ConstantOp) and isinstance(op.result.type, TensorType):
            constants += 1
            const_bytes += shaped_bytes(op.result.type)
        elif isinstance(op, memref.GlobalOp) and op.initial_value is not None:  # tiled IR's weights
            constants += 1
            const_bytes += shaped_bytes(op.type)
        elif isinstance(op, TilerOp):
            kinds[op.name.removeprefix("tiler.") + (" (view)" if op.IS_VIEW else "")] += 1
            if op.IS_VIEW:
                continue
            # the whole problem's result: in tiled IR the op computes one tile of it
            size = math.prod(op.output_shape) * element_dtype(op.result_type.element_type).itemsize
            activation_bytes += size
            largest = max(largest, size)
            if op.MULTIPLY_ACCUMULATES:
                macs += math.prod(d.size for d in op.tiling().dims)
    lines = [
        f"hierarchy:   {levels}; home {h.defaultName}, compute {h.computeName}",
        "inputs:      " + ", ".join(f"{n} {_fmt_type(t)}" for n, t in ins),
        "outputs:     " + ", ".join(f"{n} {_fmt_type(t)}" for n, t in outs),
        f"ops:         {sum(kinds.values())} ("
        + ", ".join(f"{c} {k}" for k, c in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
        + ")",
        f"constants:   {constants} tensors, {human_bytes(const_bytes)}",
        f"activations: {human_bytes(activation_bytes)} in all, largest {human_bytes(largest)}",
        f"MACs:        {macs:,} (conv, gemm, matmul)",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SummaryTarget(Target):
    name = "summary"

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        output.write(summarize(module))
