"""The allocated IR checked on its real addresses, read back from the IR alone.

After allocation a program reaches memory only through its arenas: buffers are
`memref.view`s of an arena at a constant byte offset, graph inputs and constants carry
`tiler.offset`. This check reads those addresses back without the memory map or the
placement that produced them, so a fault in either (or in writing the IR) shows:

- each level has at most one arena, and it fits the level's capacity;
- every view of an arena sits at a constant offset aligned to the alignment asked for and
  to its element size, with all its bytes inside the arena; a multi-buffered tile
  buffer's leading dim, its buffer count, is an integer >= 1;
- inputs and constants have an aligned offset inside their level's arena;
- no two buffers share a byte while both are in use. A buffer is in use from its
  definition (the view; the start of @main for inputs and constants) to the last
  top-level op that touches it or a view of it (the end for what @main returns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, MemRefType, ModuleOp, StringAttr
from xdsl.ir import SSAValue

from tiler_dialect.attributes import ARENA_ATTR, OFFSET_ATTR, memory_level_of
from tiler_dialect.ops import NAME_ATTR, shaped_bytes
from tiler_passes.allocation.blocks import AllocationError
from tiler_passes.allocation.memory_map import buffer_alignment, function_ops, root_of


@dataclass
class _Placed:
    name: str
    level: str
    offset: int
    size: int
    first: int
    """Position in @main's block of the op that defines it (-1: before the first op)."""
    last: int = -1
    """Position of the last top-level op that uses it."""


def _name(attrs: Mapping[str, object], fallback: str) -> str:
    name = attrs.get(NAME_ATTR)
    return name.data if isinstance(name, StringAttr) else fallback


def check_addresses(module: ModuleOp, main: func.FuncOp, capacities: Mapping[str, int], home: str, alignment: int) -> None:
    """Raise AllocationError naming the first buffer whose address breaks a rule above."""
    ops = function_ops(main)
    arenas = _arenas(ops, capacities)
    placer = _Placer({level: size for level, size in arenas.values()}, alignment)
    placed = _placed_inputs(main, placer)
    placed.update(_placed_buffers(module, ops, arenas, placer, home))
    _mark_last_uses(ops, placed)
    _check_no_overlap(placed)


def _arenas(ops, capacities: Mapping[str, int]) -> dict[SSAValue, tuple[str, int]]:
    """Each arena's level and size: at most one per level, within its capacity."""
    arenas: dict[SSAValue, tuple[str, int]] = {}
    for op in ops:
        if isinstance(op, memref.AllocOp) and ARENA_ATTR in op.attributes:
            t = op.memref.type
            assert isinstance(t, MemRefType)
            level = memory_level_of(t)
            size = t.get_shape()[0]
            if level in (lvl for lvl, _ in arenas.values()):
                raise AllocationError(f"level {level} has two arenas")
            if level is None or level not in capacities:
                raise AllocationError(f"an arena of {size} bytes is in no known memory level")
            if size > capacities[level]:
                raise AllocationError(f"the {level} arena of {size} bytes exceeds the level's capacity {capacities[level]}")
            arenas[op.memref] = (level, size)
    return arenas


@dataclass
class _Placer:
    """Checks one buffer's address against its level's arena and the alignment."""

    arena_size: dict[str, int]
    alignment: int

    def __call__(self, name: str, level: str | None, offset: int, t: MemRefType, first: int) -> _Placed:
        size = shaped_bytes(t)
        if level not in self.arena_size:
            raise AllocationError(f"{name}: its level {level} has no arena")
        align = buffer_alignment(t, self.alignment)
        if offset % align:
            raise AllocationError(f"{name}: offset {offset} in {level} is not {align}-byte aligned")
        if offset < 0 or offset + size > self.arena_size[level]:
            raise AllocationError(
                f"{name}: bytes [{offset}, {offset + size}) lie outside the {level} arena of {self.arena_size[level]} bytes"
            )
        return _Placed(name, level, offset, size, first)


def _placed_inputs(main: func.FuncOp, place: _Placer) -> dict[SSAValue, _Placed]:
    """The graph inputs with a `tiler.offset`."""
    placed: dict[SSAValue, _Placed] = {}
    attrs = main.arg_attrs.data if main.arg_attrs is not None else ()
    for i, arg in enumerate(main.body.blocks[0].args):
        entry = attrs[i] if i < len(attrs) else None
        offset = entry.data.get(OFFSET_ATTR) if isinstance(entry, DictionaryAttr) else None
        if isinstance(arg.type, MemRefType) and isinstance(offset, IntegerAttr):
            name = _name(entry.data, f"argument {i}") if isinstance(entry, DictionaryAttr) else f"argument {i}"
            placed[arg] = place(f"input {name}", memory_level_of(arg.type), offset.value.data, arg.type, -1)
    return placed


def _placed_buffers(module: ModuleOp, ops, arenas: dict[SSAValue, tuple[str, int]], place: _Placer, home: str) -> dict[SSAValue, _Placed]:
    """The constants with a `tiler.offset` (live throughout) and the views of the arenas."""
    placed: dict[SSAValue, _Placed] = {}
    globals_ = {op.sym_name.data: op for op in module.walk() if isinstance(op, memref.GlobalOp)}
    for pos, op in enumerate(ops):
        if isinstance(op, memref.GetGlobalOp):
            g = globals_.get(op.name_.root_reference.data)
            offset = g.attributes.get(OFFSET_ATTR) if g is not None else None
            if isinstance(offset, IntegerAttr):
                t = op.memref.type
                assert isinstance(t, MemRefType)
                placed[op.memref] = place(f"constant {g.sym_name.data}", memory_level_of(t), offset.value.data, t, -1)
                placed[op.memref].last = len(ops)  # constants live throughout
        elif isinstance(op, memref.ViewOp) and op.source in arenas:
            shift = op.byte_shift.owner
            if not (isinstance(shift, arith.ConstantOp) and isinstance(shift.value, IntegerAttr)):
                raise AllocationError(f"{_name(op.attributes, 'a view')}: its offset is not a constant")
            t = op.result.type
            assert isinstance(t, MemRefType)
            level = arenas[op.source][0]
            name = _name(op.attributes, op.result.name_hint or "a view")
            if memory_level_of(t) != level:
                raise AllocationError(f"{name}: a {memory_level_of(t)} buffer in the {level} arena")
            if level != home and (not t.get_shape() or t.get_shape()[0] < 1):
                raise AllocationError(f"{name}: its buffer count (leading dim) must be an integer >= 1")
            placed[op.result] = place(name, level, shift.value.value.data, t, pos)
    return placed


def _mark_last_uses(ops, placed: dict[SSAValue, _Placed]) -> None:
    """A buffer is in use until the last top-level op that touches it or a view of it."""
    for pos, op in enumerate(ops):
        for inner in op.walk():
            for operand in inner.operands:
                p = placed.get(root_of(operand))
                if p is not None:
                    p.last = max(p.last, len(ops) if isinstance(inner, func.ReturnOp) else pos)


def _check_no_overlap(placed: dict[SSAValue, _Placed]) -> None:
    """No two buffers of a level share a byte while both are in use."""
    by_level: dict[str, list[_Placed]] = {}
    for p in placed.values():
        by_level.setdefault(p.level, []).append(p)
    for level, items in by_level.items():
        items.sort(key=lambda p: (p.first, p.offset))
        for i, a in enumerate(items):
            for b in items[i + 1 :]:
                if b.first > a.last:
                    break  # sorted by first use: nothing later is in use together with a
                if b.first <= a.last and a.first <= b.last and a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                    raise AllocationError(
                        f"{level}: {a.name} [{a.offset}, {a.offset + a.size}) and {b.name} "
                        f"[{b.offset}, {b.offset + b.size}) overlap while both are in use"
                    )
