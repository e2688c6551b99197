"""Rewriting one op into a loop nest over its tiles (the apply-tiles pass).

For each level on the op's path below home, in order:

    buffers   memref.alloc per operand, [copies x largest region], in the level's memory,
              and one DMA tag array for the nest
    prologue  load what every tile reads (weights that do not change), and wait
    loop      scf.for t in [0, T) {tiler.tile_loop}: load tile t of each input whose
              region changes at t into its copy (t / stride) % copies and wait for it,
              wait for the previous store from the output's copy, compute (the tile op,
              or the next level's loop nest), and start storing the output tile when it
              is complete
    drain     wait for the last stores; dealloc

Loads wait at once here; the multi-buffer pass then starts each load of an input with two
copies one tile early, into the other copy, so that it overlaps the compute (as MLIR's
affine-pipeline-data-transfer does after affine-data-copy-generate). Stores already
overlap the next tiles through the output's copies. Every region, copy and condition
follows from the tiling description and the schedule; nothing here knows what the op
computes.
"""

from __future__ import annotations

import math

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects import memref
from xdsl.dialects.builtin import IntegerAttr, MemRefType, StringAttr, UnitAttr, i32, i64
from xdsl.ir import Attribute, SSAValue

from tiler_dialect.naming import identifier
from tiler_dialect.attributes import OFFSET_ATTR, MemorySpaceAttr
from tiler_dialect.ops import NAME_ATTR, TilerOp
from tiler_dialect.ops.base import TileBox
from tiler_dialect.dma import DMA_TAGS_ATTR, TILE_LOOP_ATTR
from tiler_dialect.tiling import OperandAccess, OutOfBounds, TilingDescription, linear_form
from tiler_passes.tiling.emit import Emitter, Index, memref_type
from tiler_dialect.schedule import (
    SCHEDULE_ATTR,
    LevelTiling,
    OpTiling,
    max_extents,
    moves_at,
    operand_dims,
    region_extent,
)

Box = list[tuple[Index, Index]]  # (offset, size) per iteration dim


@dataclass
class Held:
    """A buffer holding a region of an operand, and the region's first element."""

    buffer: SSAValue
    origin: list[Index]


class OpCodegen:
    def __init__(
        self,
        em: Emitter,
        op: TilerOp,
        tiling: OpTiling,
        inputs: Sequence[SSAValue],
        output: SSAValue,
        name: str,
    ):
        self.em = em
        self.op = op
        self.desc: TilingDescription = op.tiling()
        self.tiling = tiling
        self.name = name
        self.accesses: list[OperandAccess] = [*self.desc.inputs, *self.desc.outputs]
        self.shapes = [*op.input_shapes, op.output_shape]
        self.elements: list[Attribute] = [v.type.element_type for v in (*inputs, output)]  # type: ignore[attr-defined]
        self.deps = operand_dims(self.desc)
        self.home = [*inputs, output]
        self.extents = max_extents(self.desc, tiling)
        self.streams = 0

    @property
    def n_inputs(self) -> int:
        return len(self.desc.inputs)

    def run(self) -> None:
        box: Box = [(0, d.size) for d in self.desc.dims]
        held = [Held(v, [0] * len(s)) for v, s in zip(self.home, self.shapes)]
        # one tag per DMA stream (operand and level) and buffer copy
        streams = len(self.tiling.levels) * len(self.accesses)
        copies = max(s for level in self.tiling.levels for s in level.slots)
        tags = memref.AllocOp([], [], MemRefType(i32, [streams, copies]))
        tags.attributes[NAME_ATTR] = StringAttr(f"{self.name}: DMA tags")
        tags.attributes[DMA_TAGS_ATTR] = UnitAttr()
        self.em.emit(tags)
        tags.memref.name_hint = _hint(f"{self.name}_tags")
        self.tags = tags.memref
        self.slot_elements: list[int] = []
        # every level's buffers, allocated once for the whole nest (inner levels reuse
        # theirs across the tiles of the levels above)
        self.buffers = [self._allocate(li) for li in range(len(self.tiling.levels))]
        self._level(0, box, held)
        for level in self.buffers:
            for b, _ in level:
                self.em.emit(memref.DeallocOp.get(b))
        self.em.emit(memref.DeallocOp.get(self.tags))

    def _allocate(self, li: int) -> list[tuple[SSAValue, int]]:
        """(buffer, DMA stream) per operand at level `li`."""
        level = self.tiling.levels[li]
        space = MemorySpaceAttr(level.level)
        out = []
        for k, (access, shape) in enumerate(zip(self.accesses, self.shapes)):
            extent = region_extent(access, self.extents[li], shape)
            self.slot_elements.append(math.prod(extent))
            alloc = memref.AllocOp([], [], memref_type([level.slots[k], *extent], self.elements[k], space))
            role = f"in{k}" if k < self.n_inputs else "out"
            alloc.attributes[NAME_ATTR] = StringAttr(f"{self.name}: {role} in {level.level}")
            if level.offsets is not None:  # placed by the tiling model (TetrisCo-Opt)
                alloc.attributes[OFFSET_ATTR] = IntegerAttr(level.offsets[k], i64)
            self.em.emit(alloc)
            alloc.memref.name_hint = _hint(f"{self.name}_{role}_{level.level}")
            out.append((alloc.memref, self.streams))
            self.streams += 1
        return out

    # -- geometry ---------------------------------------------------------------------

    def _tile_box(self, level: LevelTiling, t: Index, parent: Box) -> Box:
        em, box = self.em, []
        for d, ((lo, size), count) in enumerate(zip(parent, level.counts)):
            if count == 1:
                box.append((lo, size))
                continue
            i = em.div(t, level.dim_stride(d))
            if d != level.order[0]:  # the outermost split dim never wraps around
                i = em.mod(i, count)
            q, r = em.div(size, count), em.mod(size, count)
            if r == 0:  # an even split
                box.append((em.add(lo, em.mul(i, q)), q))
            else:  # the first r tiles are one larger
                box.append((em.add(lo, em.add(em.mul(i, q), em.min(i, r))), em.add(q, em.select(em.less(i, r), 1, 0))))
        return box

    def _region(self, k: int, box: Box) -> list[tuple[Index, Index]]:
        """[lo, hi) per operand dim, clipped to the operand where the access may leave it."""
        em, access = self.em, self.accesses[k]
        out = []
        for expr, size in zip(access.map.results, self.shapes[k]):
            lf = linear_form(expr)
            lo: Index = lf.const
            hi: Index = lf.const + 1
            for d, c in lf.coeffs:
                first, (off, n) = box[d][0], box[d]
                last = em.sub(em.add(off, n), 1)
                lo = em.add(lo, em.mul(c, first if c > 0 else last))
                hi = em.add(hi, em.mul(c, last if c > 0 else first))
            if access.oob != OutOfBounds.NEVER:
                # clipped to the operand; a tile wholly in the padding gets an empty region
                lo = em.min(em.max(lo, 0), size)
                hi = em.max(em.min(hi, size), lo)
            out.append((lo, hi))
        return out

    # -- memory -----------------------------------------------------------------------

    def _slot_view(self, buffer: SSAValue, slot: Index, sizes: Sequence[Index]) -> SSAValue:
        return self.em.subview(buffer, [slot, *([0] * len(sizes))], [1, *sizes], drop_leading=1)

    def _part(self, held: Held, region: Sequence[tuple[Index, Index]]) -> SSAValue:
        em = self.em
        return em.subview(
            held.buffer,
            [em.sub(lo, o) for (lo, _), o in zip(region, held.origin)],
            [em.sub(hi, lo) for lo, hi in region],
        )

    def _dma(self, source: SSAValue, target: SSAValue, sizes: Sequence[Index], stream: int, slot: Index, what: str) -> None:
        """memref.dma_start of the whole view `source` into `target` (same shape `sizes`)
        on tag [stream, slot] (see tiler_dialect.dma)."""
        em = self.em
        count: Index = 1
        for n in sizes:
            count = em.mul(count, n)
        zero = em.const(0)
        rank = len(sizes)
        op = memref.DmaStartOp.get(
            source, [zero] * rank, target, [zero] * rank, em.value(count), self.tags, [em.const(stream), em.value(slot)]
        )
        op.attributes[NAME_ATTR] = StringAttr(f"{self.name}: {what}")
        em.emit(op)

    def _wait(self, stream: int, slot: Index) -> None:
        em = self.em
        em.emit(memref.DmaWaitOp.get(self.tags, [em.const(stream), em.value(slot)], em.const(self.slot_elements[stream])))

    # -- one level ---------------------------------------------------------------------

    def _level(self, li: int, parent: Box, held: list[Held]) -> None:
        _LevelNest(self, li, parent, held).emit()

    def _compute(self, inputs: list[SSAValue], output: SSAValue, box: Box) -> None:
        op = self.op
        props = {k: v for k, v in op.properties.items() if k not in _STRUCTURAL_PROPS}
        em = self.em
        tile = TileBox(
            [o if isinstance(o, int) else em.value(o) for o, _ in box],
            [n if isinstance(n, int) else em.value(n) for _, n in box],
            self.shapes,
        )
        self.em.emit(type(op)(inputs, outputs=[output], tile=tile, properties=props, attributes=kept_attributes(op)))


def kept_attributes(op: TilerOp) -> dict[str, Attribute]:
    """An op's attributes for its tiled form: the schedule it was tiled by is spent."""
    return {k: v for k, v in op.attributes.items() if k != SCHEDULE_ATTR}


_STRUCTURAL_PROPS = {"operandSegmentSizes", "static_tile_offsets", "static_tile_sizes", "problem_shapes"}


def _hint(text: str) -> str | None:
    return SSAValue.extract_valid_name(identifier(text, "b"))


class _LevelNest:
    """One level's loop over its tiles of the enclosing box `parent`: each operand's
    region DMA'd between the level above (`held`) and this level's slot buffers when it
    changes, waited for before use, and the output stored when its region is complete;
    inside, the next level's nest or, on the compute level, the op on its tile."""

    def __init__(self, gen: OpCodegen, li: int, parent: Box, held: list[Held]):
        self.gen, self.em, self.li, self.parent, self.held = gen, gen.em, li, parent, held
        self.level = level = gen.tiling.levels[li]
        self.tiles = level.tiles
        self.last_level = li == len(gen.tiling.levels) - 1
        self.out = out = gen.n_inputs
        self.buffers = [b for b, _ in gen.buffers[li]]
        self.streams = [s for _, s in gen.buffers[li]]
        self.strides = [level.stride(gen.deps[k]) for k in range(out + 1)]
        self.once = [self.strides[k] >= self.tiles for k in range(out + 1)]  # the same region for every tile

    def slot(self, k: int, t: Index) -> Index:
        em = self.em
        return em.mod(em.div(t, self.strides[k]), self.level.slots[k])

    def changes(self, k: int, t: Index):
        """Whether operand k's region is new at tile t (an input's load)."""
        em = self.em
        return moves_at(t, self.strides[k], False, mod=em.mod, add=em.add, equal=em.equal)

    def output_complete(self, t: Index):
        """Whether the output's region is complete after tile t (its store)."""
        em = self.em
        return moves_at(t, self.strides[self.out], True, mod=em.mod, add=em.add, equal=em.equal)

    def load(self, k: int, t: Index) -> None:
        gen, em = self.gen, self.em
        region = gen._region(k, gen._tile_box(self.level, t, self.parent))
        target = gen._slot_view(self.buffers[k], self.slot(k, t), [em.sub(hi, lo) for lo, hi in region])
        sizes = [em.sub(hi, lo) for lo, hi in region]
        gen._dma(gen._part(self.held[k], region), target, sizes, self.streams[k], self.slot(k, t), f"load in{k} to {self.level.level}")

    def store(self, t: Index, view: SSAValue, region) -> None:
        gen, em, out = self.gen, self.em, self.out
        gen._dma(
            view, gen._part(self.held[out], region), [em.sub(hi, lo) for lo, hi in region],
            self.streams[out], self.slot(out, t), f"store out from {self.level.level}",
        )

    def body(self, t: Index) -> None:
        gen, em, out, once, streams = self.gen, self.em, self.out, self.once, self.streams
        box = gen._tile_box(self.level, t, self.parent)
        streamed = [k for k in range(out) if not once[k]]
        for k in streamed:
            em.when(self.changes(k, t), lambda k=k: self.load(k, t))
        for k in streamed:
            em.when(self.changes(k, t), lambda k=k: gen._wait(streams[k], self.slot(k, t)))
        # before reusing an output slot, wait for its previous store; when the output is
        # one region for every tile, or at a known tile whose slot has not been stored
        # from yet in this nest (the drain emptied it), there is none
        first_use = isinstance(t, int) and t < self.level.slots[out] * self.strides[out]
        if not once[out] and not first_use:
            em.when(self.changes(out, t), lambda: gen._wait(streams[out], self.slot(out, t)))
        regions = [gen._region(k, box) for k in range(out + 1)]
        views = [
            gen._slot_view(self.buffers[k], self.slot(k, t), [em.sub(hi, lo) for lo, hi in regions[k]])
            for k in range(out + 1)
        ]
        if self.last_level:
            gen._compute(views[:out], views[out], box)
        else:
            inner = [Held(v, [lo for lo, _ in r]) for v, r in zip(views, regions)]
            gen._level(self.li + 1, box, inner)
        # the output region is complete after its last tile; when it is the same for
        # every tile, only after the last tile of all (stored after the loop)
        if not once[out]:
            em.when(self.output_complete(t), lambda: self.store(t, views[out], regions[out]))

    def emit(self) -> None:
        gen, em, out, once = self.gen, self.em, self.out, self.once
        # prologue: what every tile reads
        for k in range(out):
            if once[k]:
                self.load(k, 0)
        for k in range(out):
            if once[k]:
                gen._wait(self.streams[k], 0)
        em.loop(0, self.tiles, self.body, name=f"t{self.li}", attributes={TILE_LOOP_ATTR: StringAttr(f"{gen.name}: {self.level.level}")})
        if once[out]:  # the one output region, complete after the last tile
            region = gen._region(out, gen._tile_box(self.level, self.tiles - 1, self.parent))
            self.store(self.tiles - 1, gen._slot_view(self.buffers[out], 0, [em.sub(hi, lo) for lo, hi in region]), region)
        for s in range(self.level.slots[out]):
            gen._wait(self.streams[out], s)
