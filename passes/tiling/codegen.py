"""Rewriting one op into a pipelined loop nest over its tiles.

For each level on the op's path below home, in order:

    buffers   memref.alloc per operand, [slots x largest region], in the level's memory
    prologue  start loading tile 0 of every double-buffered input
    steady    scf.for t in [0, T-1): prefetch tile t+1 of the inputs it changes,
              wait for tile t's inputs, wait for the previous store from the output slot,
              compute (the tile op, or the next level's loop nest), store the output tile
              when it is complete
    epilogue  tile T-1, the same without prefetch
    drain     wait for the last stores; dealloc

as MLIR's pipeline-data-transfer structures double buffering. Single-buffered operands load
into their only slot and wait at once. Every region, slot and condition follows from the
tiling description and the schedule; nothing here knows what the op computes.
"""

from __future__ import annotations

import re

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects import memref
from xdsl.dialects.builtin import DYNAMIC_INDEX, DenseArrayBase, IntegerAttr, StringAttr, i64
from xdsl.ir import Attribute, SSAValue

from tiler_dialect.attributes import OFFSET_ATTR, MemorySpaceAttr
from tiler_dialect.ops import NAME_ATTR, TilerOp
from tiler_dialect.ops.base import TileBox
from tiler_dialect.ops.dma import DmaStartOp, DmaWaitOp
from tiler_dialect.tiling import OperandAccess, OutOfBounds, TilingDescription, linear_form
from tiler_passes.tiling.emit import Emitter, Index, memref_type
from tiler_dialect.schedule import (
    SCHEDULE_ATTR,
    LevelTiling,
    OpTiling,
    max_extents,
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
        # every level's buffers, allocated once for the whole nest (inner levels reuse
        # theirs across the tiles of the levels above)
        self.buffers = [self._allocate(li) for li in range(len(self.tiling.levels))]
        self._level(0, box, held)
        for level in self.buffers:
            for b, _ in level:
                self.em.emit(memref.DeallocOp.get(b))

    def _allocate(self, li: int) -> list[tuple[SSAValue, int]]:
        """(buffer, DMA stream) per operand at level `li`."""
        level = self.tiling.levels[li]
        space = MemorySpaceAttr(level.level)
        out = []
        for k, (access, shape) in enumerate(zip(self.accesses, self.shapes)):
            extent = region_extent(access, self.extents[li], shape)
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

    def _dma(self, source: SSAValue, target: SSAValue, stream: int, slot: Index, what: str) -> None:
        slot = slot if isinstance(slot, int) else self.em.value(slot)
        op = DmaStartOp.create(
            operands=[source, target, *([] if isinstance(slot, int) else [slot])],
            properties={
                "static_tag": DenseArrayBase.from_list(i64, [stream, slot if isinstance(slot, int) else DYNAMIC_INDEX]),
            },
            attributes={NAME_ATTR: StringAttr(f"{self.name}: {what}")},
        )
        self.em.emit(op)

    def _wait(self, stream: int, slot: Index) -> None:
        slot = slot if isinstance(slot, int) else self.em.value(slot)
        self.em.emit(
            DmaWaitOp.create(
                operands=[] if isinstance(slot, int) else [slot],
                properties={
                    "static_tag": DenseArrayBase.from_list(i64, [stream, slot if isinstance(slot, int) else DYNAMIC_INDEX])
                },
            )
        )

    # -- one level ---------------------------------------------------------------------

    def _level(self, li: int, parent: Box, held: list[Held]) -> None:
        em = self.em
        level = self.tiling.levels[li]
        tiles = level.tiles
        last_level = li == len(self.tiling.levels) - 1
        out = self.n_inputs
        buffers = [b for b, _ in self.buffers[li]]
        streams = [s for _, s in self.buffers[li]]
        strides = [level.stride(self.deps[k]) for k in range(out + 1)]
        once = [strides[k] >= tiles for k in range(out + 1)]  # the same region for every tile

        def slot(k: int, t: Index) -> Index:
            return em.mod(em.div(t, strides[k]), level.slots[k])

        def load(k: int, t: Index) -> None:
            region = self._region(k, self._tile_box(level, t, parent))
            target = self._slot_view(buffers[k], slot(k, t), [em.sub(hi, lo) for lo, hi in region])
            self._dma(self._part(held[k], region), target, streams[k], slot(k, t), f"load in{k} to {level.level}")

        def changes(k: int, t: Index):  # the operand's region is new at tile t
            return em.equal(em.mod(t, strides[k]), 0)

        def body(t: Index, prefetch: bool) -> None:
            box = self._tile_box(level, t, parent)
            streamed = [k for k in range(out) if not once[k]]
            for k in streamed:
                if level.slots[k] > 1:
                    if prefetch:
                        following = em.add(t, 1)
                        em.when(changes(k, following), lambda k=k, n=following: load(k, n))
                else:
                    em.when(changes(k, t), lambda k=k: load(k, t))
            for k in streamed:
                em.when(changes(k, t), lambda k=k: self._wait(streams[k], slot(k, t)))
            # before reusing an output slot, wait for its previous store; when the output is
            # one region for every tile, or at a known tile whose slot has not been stored
            # from yet in this nest (the drain emptied it), there is none
            first_use = isinstance(t, int) and t < level.slots[out] * strides[out]
            if not once[out] and not first_use:
                em.when(changes(out, t), lambda: self._wait(streams[out], slot(out, t)))
            regions = [self._region(k, box) for k in range(out + 1)]
            views = [
                self._slot_view(buffers[k], slot(k, t), [em.sub(hi, lo) for lo, hi in regions[k]])
                for k in range(out + 1)
            ]
            if last_level:
                self._compute(views[:out], views[out], box)
            else:
                inner = [Held(v, [lo for lo, _ in r]) for v, r in zip(views, regions)]
                self._level(li + 1, box, inner)
            # the output region is complete after its last tile (only the last tile of all
            # when the output is the same for every tile: then the steady loop stores nothing)
            completes = not prefetch if once[out] else em.equal(em.mod(em.add(t, 1), strides[out]), 0)
            em.when(
                completes,
                lambda: self._dma(
                    views[out], self._part(held[out], regions[out]), streams[out], slot(out, t), f"store out from {level.level}"
                ),
            )

        # prologue: what every tile reads, and tile 0 of what streams through two buffers
        for k in range(out):
            if once[k] or level.slots[k] > 1:
                load(k, 0)
        for k in range(out):
            if once[k]:
                self._wait(streams[k], 0)
        if tiles > 1:
            em.loop(0, tiles - 1, lambda t: body(t, prefetch=True), name=f"t{li}")
        body(tiles - 1, prefetch=False)
        for s in range(level.slots[out]):
            self._wait(streams[out], s)

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
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    if not name or name[0].isdigit():
        name = "b" + name
    return SSAValue.extract_valid_name(name)
