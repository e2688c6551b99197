"""The indexing ops as linalg (Tile is a copy through its maps, in ops.py):

- ArgMax / ArgMin: one reduction generic with two outputs, the running best value (a
  scratch buffer shaped like the output tile, in the compute level) and its index, which
  it takes where the element beats the best so far: strictly for the first index, or
  also on ties for the last (`select_last_index`); a NaN beats any number and, for the
  first index, nothing beats a NaN (numpy's argmax/argmin, the op's kernel);
- Gather: one parallel generic over the output tile that reads the index, counts a
  negative one from the end, and loads the data row with memref.load (the tile holds
  the gathered axis whole). The index is clamped into the axis, so that an out-of-range
  index (which the executor reports) cannot read outside the buffer in C.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import AnyFloat, IndexType, i64
from xdsl.ir import SSAValue

from tiler_dialect.ops import ArgMaxOp, ArgMinOp, GatherOp
from tiler_dialect.ops.reduction import ArgReduction
from tiler_dialect.tiling import IterKind
from tiler_passes.lowering.structured import Access, Element, Emitter, constant_of, fill, generic
from tiler_passes.lowering.tile import Tile, input_access, output_scratch


def _beats(e: Element, v: SSAValue, best: SSAValue, largest: bool, last: bool) -> SSAValue:
    """Whether element v replaces the best so far (see the module doc)."""
    b = e.b
    if not isinstance(v.type, AnyFloat):
        return b.cmp(v, best, ("sge" if last else "sgt") if largest else ("sle" if last else "slt"))
    best_is_number = b.cmpf(best, best, "ord")
    if last:  # a NaN always; else a number not below (above) the best, unless the best is NaN
        ordered = b.cmpf(v, best, "oge" if largest else "ole")
        return b.emit(arith.OrIOp(b.cmpf(v, v, "uno"), b.and_(best_is_number, ordered)))
    # a NaN or a number beyond the best, unless the best is already NaN
    return b.and_(best_is_number, b.cmpf(v, best, "ugt" if largest else "ult"))


def lower_arg_reduction(emitter: Emitter, tile: Tile) -> None:
    op = tile.op
    assert isinstance(op, ArgReduction)
    desc = tile.desc
    x_type = op.inputs[0].type.element_type  # type: ignore[attr-defined]
    alloc, best = output_scratch(emitter, tile, x_type, "best value")
    emitter.hoisted.append(alloc)
    out = op.outputs[0]
    forms = tile.forms(desc.outputs[0])
    x = input_access(emitter, tile, op.inputs[0], desc.inputs[0], op.input_shapes[0])
    largest, last = op.LARGEST, op.last
    fill(emitter, constant_of(emitter, float("-inf") if largest else float("inf"), x_type), best)
    fill(emitter, constant_of(emitter, 0, i64), out)
    axis_dim = next(i for i, dim in enumerate(desc.dims) if dim.kind == IterKind.REDUCTION)

    def step(e: Element) -> list[SSAValue]:
        b = e.b
        v, (current, index) = e.values[0], e.out
        take = _beats(e, v, current, largest, last)
        at = b.convert(tile.absolute(e, axis_dim), i64)
        return [b.select(take, v, current), b.select(take, at, index)]

    iterators = ["parallel" if desc.dims[i].kind == IterKind.PARALLEL else "reduction" for i in tile.kept]
    generic(
        emitter, iterators, [tile.sizes[i] for i in tile.kept], [x], [Access(best, forms), Access(out, forms)], step,
        [tile.offsets[i] for i in tile.kept], op.node_name or op.name,
    )


def lower_gather(emitter: Emitter, tile: Tile) -> None:
    op = tile.op
    assert isinstance(op, GatherOp)
    desc = tile.desc
    k = len(desc.dims) - 1  # the gathered axis: whole in the tile, read by memref.load
    loops = [i for i in tile.kept if i != k]
    position = {dim: j for j, dim in enumerate(loops)}
    data_shape, indices_shape = op.input_shapes
    axis = op.axis_index
    size = data_shape[axis]
    indices = Access(op.inputs[1], tile.forms(desc.inputs[1], loops))
    output = Access(op.outputs[0], tile.forms(desc.outputs[0], loops))
    data = op.inputs[0]
    index_type = IndexType()

    def element(e: Element) -> list[SSAValue]:
        b = e.b
        i = e.values[0]
        zero = b.const(0, i.type)
        wrapped = b.select(b.cmp(i, zero, "slt"), b.add(i, b.const(size, i.type)), i)
        clamped = b.min(b.max(wrapped, zero), b.const(size - 1, i.type))
        row = b.emit(arith.IndexCastOp(clamped, index_type))

        def at(dim: int) -> SSAValue:
            return b.index(position[dim]) if dim in position else b.const(0, index_type)

        inner = len(data_shape) - axis - 1
        where = [*(at(r) for r in range(axis)), row, *(at(axis + len(indices_shape) + j) for j in range(inner))]
        return [b.load(data, where)]

    generic(
        emitter, ["parallel"] * len(loops), [tile.sizes[i] for i in loops], [indices], [output], element,
        [tile.offsets[i] for i in loops], op.node_name or op.name,
    )


STEPS = {ArgMaxOp: lower_arg_reduction, ArgMinOp: lower_arg_reduction, GatherOp: lower_gather}
