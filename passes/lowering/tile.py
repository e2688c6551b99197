"""The tile an op's lowering works on: its loops (the iteration dims of extent above 1),
its inputs' accesses within the regions their buffers hold, and scratch buffers in the
output's level shaped by the largest tile."""

from __future__ import annotations

import math as pymath
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects import memref
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    IndexType,
    MemRefType,
    StridedLayoutAttr,
    StringAttr,
)
from xdsl.ir import Attribute, SSAValue

from tiler_dialect.ops import NAME_ATTR, TilerOp
from tiler_dialect.tiling import LinearForm, OutOfBounds, TilingDescription, linear_form
from tiler_passes.lowering.structured import Access, Element, Emitter, Index
from tiler_dialect.errors import TilerPassFailed


class LoweringError(TilerPassFailed):
    """An op this lowering cannot express (named in the message)."""


@dataclass
class Tile:
    """A tile-form (or destination-form: the whole box) op's loops: the dims of extent
    above 1 in the problem (the others are index 0 throughout) and their offsets."""

    op: TilerOp
    desc: TilingDescription
    offsets: list[Index]
    sizes: list[Index]
    kept: list[int]

    @property
    def position(self) -> dict[int, int]:
        return {d: j for j, d in enumerate(self.kept)}

    def absolute(self, e: Element, dim: int) -> SSAValue:
        """The absolute index of iteration dim `dim` (of the description) in a body."""
        if dim in self.position:
            return e.absolute(self.position[dim])
        return e.b.const(0, IndexType())

    def forms(self, access, dims: Sequence[int] | None = None) -> list[LinearForm]:
        """The access's linear forms over the loop dims `dims` (default: all kept)."""
        dims = self.kept if dims is None else dims
        pos = {d: j for j, d in enumerate(dims)}
        out = []
        for expr in access.map.results:
            form = linear_form(expr)
            terms = [(d, c) for d, c in form.coeffs if self.desc.dims[d].size > 1]
            if any(d not in pos for d, _ in terms):
                raise LoweringError(f"{self.op.name}: an init operand depends on a reduction dim")
            out.append(LinearForm(tuple((pos[d], c) for d, c in terms), 0))
        return out


def tile_of(op: TilerOp) -> Tile:
    desc = op.tiling()
    n = len(desc.dims)
    if op.is_tile:
        assert op.static_tile_offsets is not None and op.static_tile_sizes is not None
        dyn_offsets, dyn_sizes = iter(op.tile_offsets), iter(op.tile_sizes)
        offsets: list[Index] = [next(dyn_offsets) if v == DYNAMIC_INDEX else v for v in op.static_tile_offsets.get_values()]
        sizes: list[Index] = [next(dyn_sizes) if v == DYNAMIC_INDEX else v for v in op.static_tile_sizes.get_values()]
    else:
        offsets, sizes = [0] * n, [dim.size for dim in desc.dims]
    return Tile(op, desc, offsets, sizes, [i for i, dim in enumerate(desc.dims) if dim.size > 1])


def input_access(emitter: Emitter, tile: Tile, buffer: SSAValue, access, shape) -> Access:
    """The buffer holds the operand's region from its (clipped) start, so an element's
    index in it is sum(c_i * d'_i) + shift with shift = const + sum(c_i * o_i) - start,
    where a negative coefficient starts the region at the box's far end."""
    forms = tile.forms(access)
    ends = [emitter.add(n, -1) for n in tile.sizes]
    region = tile.desc.region(access, tile.desc.full_box)
    never = access.oob == OutOfBounds.NEVER
    shift: list[Index | None] = []  # None: this index never leaves the operand
    for expr, (lo, hi), n in zip(access.map.results, region, shape):
        form = linear_form(expr)
        far = LinearForm(tuple((d, -c) for d, c in form.coeffs if c < 0), 0)  # the far ends' part, negated
        if never or (0 <= lo and hi <= n):  # the region starts at the map's value at the box's start
            shift.append(emitter.linear(far, ends))
        else:  # ... clipped to the operand
            start = emitter.add(emitter.linear(form, tile.offsets), emitter.mul(emitter.linear(far, ends), -1))
            shift.append(emitter.add(emitter.linear(form, tile.offsets), emitter.mul(emitter.max(start, 0), -1)))
            continue
        if isinstance(shift[-1], int):
            forms[len(shift) - 1] = LinearForm(forms[len(shift) - 1].coeffs, shift[-1])  # type: ignore[arg-type]
            shift[-1] = None
    if all(x is None for x in shift):  # a plain operand
        return Access(buffer, forms)
    mode = getattr(tile.op, "pad_mode", None) if access.oob == OutOfBounds.FILL else None
    return Access(buffer, forms, shift, access.oob, access.pad_value, mode)



def reduce_count(op: TilerOp) -> int:
    shape = op.input_shapes[0]
    return pymath.prod(shape[a] for a in op.axes.get_values())


# -- scratch buffers ----------------------------------------------------------------------


def scratch_buffer(
    emitter: Emitter, tile: Tile, shape: list[int], sizes: Sequence[Index], element_type: Attribute, what: str
) -> tuple[memref.AllocOp, SSAValue]:
    """A row-major buffer of `shape` (the largest tile's) in the output's level, named
    `<op>: <what>`: the alloc (placed by the caller outside any loop; its leading dim
    counts its one copy, as a tile buffer's does) and this tile's view of `sizes`."""
    t = tile.op.outputs[0].type
    assert isinstance(t, MemRefType)
    alloc = memref.AllocOp.get(element_type, shape=[1, *shape], memory_space=t.memory_space)
    alloc.attributes[NAME_ATTR] = StringAttr(f"{tile.op.node_name or tile.op.name}: {what}")
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    view_shape = [s if isinstance(s, int) else DYNAMIC_INDEX for s in sizes]
    view_type = MemRefType(element_type, view_shape, StridedLayoutAttr(strides, 0), t.memory_space)
    view = memref.SubviewOp.get(alloc.memref, [0] * (len(shape) + 1), [1, *sizes], [1] * (len(shape) + 1), view_type)
    emitter.emit(view)
    return alloc, view.result


def row_scratch(
    emitter: Emitter, tile: Tile, rows: list[int], element_type: Attribute | None = None
) -> tuple[memref.AllocOp, SSAValue]:
    """A buffer for one value per row (the loop dims `rows`), of the output's element
    type unless given."""
    out = tile.op.outputs[0]
    most = largest_tile(out)
    shape = [most[tile.kept[r]] for r in rows]
    sizes = [tile.sizes[tile.kept[r]] for r in rows]
    return scratch_buffer(emitter, tile, shape, sizes, element_type or out.type.element_type, "scratch")  # type: ignore[attr-defined]


def largest_tile(view: SSAValue) -> list[int]:
    """The output's extents in the largest tile: its static shape, or, where dynamic, the
    buffer it views (a tile buffer's leading dim counts its copies)."""
    t = view.type
    assert isinstance(t, MemRefType)
    shape = list(t.get_shape())
    if DYNAMIC_INDEX not in shape:
        return shape
    root = view
    while isinstance(root.owner, memref.SubviewOp):
        root = root.owner.source
    full = list(root.type.get_shape())  # type: ignore[attr-defined]
    full = full[len(full) - len(shape) :]
    return [s if s != DYNAMIC_INDEX else f for s, f in zip(shape, full)]


def output_scratch(emitter: Emitter, tile: Tile, element_type: Attribute, what: str) -> tuple[memref.AllocOp, SSAValue]:
    """A buffer shaped like the op's output tile (its largest one; this tile's view of it)."""
    out = tile.op.outputs[0]
    most = largest_tile(out)
    return scratch_buffer(emitter, tile, most, [emitter.dim(out, r) for r in range(len(most))], element_type, what)
