"""Running tiler compute ops: tensor form, destination form, and tile form.

A tile is computed from its op's tiling description, the same way for every op: each
input tile is placed at its region in an array the size of the problem's input; the rest
is NaN, so that a kernel reading anything outside the regions the description promises
poisons the tile's result. The op's kernel runs on these arrays and the box's output
region is kept. When the tile covers only part of a "sum" reduction, the rest is zero
instead, the tile adds into its output unless it starts the reduction, and inputs that
do not depend on the reduction (a bias) count only in the tile that starts it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tiler_dialect.ops import TilerOp, element_dtype
from tiler_dialect.tiling import IterKind, TilingDescription
from tiler_tools.executor.dma import DmaEngine, describe
from tiler_tools.executor.errors import ExecutionError


def _check_result(op: TilerOp, value: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    expected_dtype = element_dtype(op.result_type.element_type)
    if value.shape != tuple(shape) or value.dtype != expected_dtype:
        raise ExecutionError(
            f"{describe(op)}: kernel returned {value.dtype}{list(value.shape)}, "
            f"the IR declares {expected_dtype}{list(shape)}"
        )
    return value


def _depends_on_reduction(desc: TilingDescription, access) -> bool:
    reductions = {i for i, d in enumerate(desc.dims) if d.kind == IterKind.REDUCTION}
    return bool(access.map.used_dims() & reductions)


def run_tile(op: TilerOp, inputs: Sequence[np.ndarray], out: np.ndarray, box: list[tuple[int, int]]) -> None:
    desc = op.tiling()
    for (lo, hi), dim in zip(box, desc.dims):
        if not (0 <= lo < hi <= dim.size):
            raise ExecutionError(f"{describe(op)}: tile [{lo}, {hi}) is outside dim {dim.name} of size {dim.size}")
        if not dim.tileable and (lo, hi) != (0, dim.size):
            raise ExecutionError(f"{describe(op)}: dim {dim.name} must stay whole, the tile takes [{lo}, {hi})")
    partial = any(
        d.kind == IterKind.REDUCTION and (lo, hi) != (0, d.size) for d, (lo, hi) in zip(desc.dims, box)
    )
    if partial and desc.combine != "sum":
        raise ExecutionError(f"{describe(op)}: its reduction cannot be split, the tile takes part of it")
    starts = all(lo == 0 for d, (lo, _) in zip(desc.dims, box) if d.kind == IterKind.REDUCTION)

    shapes = op.input_shapes
    problem_inputs: list[np.ndarray | None] = []
    for i, (x, access, shape) in enumerate(zip(inputs, desc.inputs, shapes)):
        if partial and not starts and not _depends_on_reduction(desc, access):
            problem_inputs.append(None)  # added once, by the tile that starts the reduction
            continue
        region = [
            (max(lo, 0), min(hi, size)) for (lo, hi), size in zip(desc.region(access, box), shape)
        ]
        want = tuple(max(hi - lo, 0) for lo, hi in region)
        if x.shape != want:
            raise ExecutionError(
                f"{describe(op)}: input #{i} holds {list(x.shape)}, the tile needs its region "
                f"{[list(r) for r in region]} of shape {list(want)}"
            )
        fill = 0 if partial or not np.issubdtype(x.dtype, np.floating) else np.nan
        full = np.full(shape, fill, dtype=x.dtype)
        full[tuple(slice(lo, hi) for lo, hi in region)] = x
        problem_inputs.append(full)
    while problem_inputs and problem_inputs[-1] is None:
        problem_inputs.pop()
    if any(x is None for x in problem_inputs):
        raise ExecutionError(f"{describe(op)}: a reduction-independent input is not trailing")
    with np.errstate(all="ignore"):
        result = np.asarray(op.compute(*problem_inputs))
    _check_result(op, result, op.output_shape)
    out_region = tuple(slice(lo, hi) for lo, hi in desc.region(desc.outputs[0], box))
    tile = result[out_region]
    if out.shape != tile.shape:
        raise ExecutionError(
            f"{describe(op)}: output holds {list(out.shape)}, the tile computes {list(tile.shape)}"
        )
    if partial and not starts:
        out += tile
    else:
        out[...] = tile


def run_compute(dma: DmaEngine, op: TilerOp, args: Sequence) -> tuple:
    """The values of `op` (tensor form) or nothing (destination and tile forms)."""
    n_in = len(op.inputs)
    if not op.outputs:
        with np.errstate(all="ignore"):
            result = np.asarray(op.compute(*args))
        return (_check_result(op, result, op.result_type.get_shape()),)
    inputs, out = list(args[:n_in]), args[n_in]
    for x in inputs:
        dma.check_read(op, x)
    dma.check_write(op, out)
    if op.is_tile:
        run_tile(op, inputs, out, op.tile_box(list(args[n_in + 1 :])))
        return ()
    with np.errstate(all="ignore"):
        result = np.asarray(op.compute(*inputs))
    out[...] = _check_result(op, result, out.shape)
    return ()
