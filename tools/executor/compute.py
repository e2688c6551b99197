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
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr

from tiler_dialect.ops import TilerOp, element_dtype
from tiler_dialect.tiling import IterKind, OutOfBounds, TilingDescription
from tiler_dialect.naming import op_label
from tiler_tools.executor.dma import DmaEngine
from tiler_tools.executor.errors import ExecutionError


def _check_result(op: TilerOp, value: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    expected_dtype = element_dtype(op.result_type.element_type)
    if value.shape != tuple(shape) or value.dtype != expected_dtype:
        raise ExecutionError(
            f"{op_label(op)}: kernel returned {value.dtype}{list(value.shape)}, "
            f"the IR declares {expected_dtype}{list(shape)}"
        )
    return value


def _depends_on_reduction(desc: TilingDescription, access) -> bool:
    reductions = {i for i, d in enumerate(desc.dims) if d.kind == IterKind.REDUCTION}
    return bool(access.map.used_dims() & reductions)


_DESCRIPTIONS: dict[int, tuple[TilerOp, TilingDescription]] = {}


def description(op: TilerOp) -> TilingDescription:
    """op.tiling(), built once per op (a tiled loop runs the same op many times)."""
    cached = _DESCRIPTIONS.get(id(op))
    if cached is None or cached[0] is not op:
        if len(_DESCRIPTIONS) > 4096:
            _DESCRIPTIONS.clear()
        cached = _DESCRIPTIONS[id(op)] = (op, op.tiling())
    return cached[1]


def run_tile(op: TilerOp, inputs: Sequence[np.ndarray], out: np.ndarray, box: list[tuple[int, int]]) -> None:
    desc = description(op)
    for (lo, hi), dim in zip(box, desc.dims):
        if not (0 <= lo < hi <= dim.size):
            raise ExecutionError(f"{op_label(op)}: tile [{lo}, {hi}) is outside dim {dim.name} of size {dim.size}")
        if not dim.tileable and (lo, hi) != (0, dim.size):
            raise ExecutionError(f"{op_label(op)}: dim {dim.name} must stay whole, the tile takes [{lo}, {hi})")
    partial = any(
        d.kind == IterKind.REDUCTION and (lo, hi) != (0, d.size) for d, (lo, hi) in zip(desc.dims, box)
    )
    if partial and desc.combine != "sum":
        raise ExecutionError(f"{op_label(op)}: its reduction cannot be split, the tile takes part of it")
    starts = all(lo == 0 for d, (lo, _) in zip(desc.dims, box) if d.kind == IterKind.REDUCTION)

    regions = []
    used: list[np.ndarray | None] = []
    for i, (x, access, shape) in enumerate(zip(inputs, desc.inputs, op.input_shapes)):
        region = [(max(lo, 0), min(hi, size)) for (lo, hi), size in zip(desc.region(access, box), shape)]
        want = tuple(max(hi - lo, 0) for lo, hi in region)
        if x.shape != want:
            raise ExecutionError(
                f"{op_label(op)}: input #{i} holds {list(x.shape)}, the tile needs its region "
                f"{[list(r) for r in region]} of shape {list(want)}"
            )
        regions.append(region)
        # a bias counts once, in the tile that starts the reduction
        used.append(None if partial and not starts and not _depends_on_reduction(desc, access) else x)
    while used and used[-1] is None:
        used.pop()
    if any(x is None for x in used):
        raise ExecutionError(f"{op_label(op)}: a reduction-independent input is not trailing")
    with np.errstate(all="ignore"):
        tile = tile_result(op, desc, used, regions, box, partial)
    if out.shape != tile.shape:
        raise ExecutionError(
            f"{op_label(op)}: output holds {list(out.shape)}, the tile computes {list(tile.shape)}"
        )
    if partial and not starts:
        out += tile
    else:
        out[...] = tile


def is_local(desc: TilingDescription) -> bool:
    """Every map picks iteration dims (or broadcasts) without offsets or padding: a tile is
    then the op itself on the tile's regions."""
    for access in (*desc.inputs, *desc.outputs):
        if access.oob != OutOfBounds.NEVER:
            return False
        seen = set()
        for expr in access.map.results:
            if isinstance(expr, AffineConstantExpr) and expr.value == 0:
                continue
            if not isinstance(expr, AffineDimExpr) or expr.position in seen:
                return False
            seen.add(expr.position)
    return True


def tile_result(
    op: TilerOp,
    desc: TilingDescription,
    inputs: Sequence[np.ndarray | None],
    regions: Sequence[Sequence[tuple[int, int]]],
    box: Sequence[tuple[int, int]],
    partial: bool,
) -> np.ndarray:
    """The output region of a tile. Fast paths compute on the tile's arrays (the op's own
    `compute_tile`, or `compute` when every map is local); the definition, used otherwise,
    places each region in a problem-sized array and runs the op's kernel."""
    fast = getattr(op, "compute_tile", None)
    if fast is not None:
        result = fast(inputs, box)
        if result is not None:
            return np.asarray(result)
    if is_local(desc):
        return np.asarray(op.compute(*inputs))
    return tile_by_definition(op, desc, inputs, regions, box, partial)


def tile_by_definition(
    op: TilerOp,
    desc: TilingDescription,
    inputs: Sequence[np.ndarray | None],
    regions: Sequence[Sequence[tuple[int, int]]],
    box: Sequence[tuple[int, int]],
    partial: bool,
) -> np.ndarray:
    """Each input region placed in an array of the problem's input shape; the rest is NaN
    (zero when summing part of a reduction), so reading outside the promised regions
    poisons the tile; the op's kernel runs on these, and the box's output region is kept."""
    full_inputs = []
    for x, region, shape in zip(inputs, regions, op.input_shapes):
        assert x is not None
        fill = 0 if partial or not np.issubdtype(x.dtype, np.floating) else np.nan
        full = np.full(shape, fill, dtype=x.dtype)
        full[tuple(slice(lo, hi) for lo, hi in region)] = x
        full_inputs.append(full)
    result = np.asarray(op.compute(*full_inputs))
    _check_result(op, result, op.output_shape)
    return result[tuple(slice(lo, hi) for lo, hi in desc.region(desc.outputs[0], box))]


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
