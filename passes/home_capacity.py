"""Fail fast when a program cannot fit its memory hierarchy at all.

Before any solving: every tensor of an untiled program must fit the level it lives in on
its own, and a level's constants (resident for the whole run) must fit it together.
Otherwise no tiling can help, and the error names the tensor, its size and the level
right away instead of after minutes of solving."""

from __future__ import annotations

from collections import defaultdict

from xdsl.dialects import arith
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType
from xdsl.ir import SSAValue

from tiler_dialect.attributes import hierarchy_of, memory_level_of
from tiler_dialect.ops import NAME_ATTR, shaped_bytes
from tiler_dialect.program import main_function
from tiler_dialect.errors import TilerPassFailed


class HomeCapacityError(TilerPassFailed):
    """A tensor, or a level's constants, larger than the level they live in."""


def _describe(value: SSAValue) -> str:
    owner = value.owner
    name = None
    if hasattr(owner, "attributes") and isinstance(owner.attributes.get(NAME_ATTR), StringAttr):
        name = owner.attributes[NAME_ATTR].data
    label = f"'{name}'" if name else (f"%{value.name_hint}" if value.name_hint else "a tensor")
    assert isinstance(value.type, TensorType)
    shape = "x".join(str(d) for d in value.type.get_shape())
    return f"{label} ({shape}x{value.type.element_type})"


def _advice(level: str, need: int, module: ModuleOp) -> str:
    levels = hierarchy_of(module).memoryLevels
    larger = [n for n, l in levels.items() if l.size >= need and n != level]
    more = f"give {level} at least {need} bytes"
    return more + (f", or make {larger[0]} the home level (--default-mem-level {larger[0]})" if larger else "")


def check_home_capacity(module: ModuleOp) -> None:
    """Raise HomeCapacityError if some tensor of @main cannot fit its level even alone, or
    a level's constants cannot fit it together (untiled, tensor-form programs only)."""
    hierarchy = hierarchy_of(module)
    main = main_function(module)
    values: list[SSAValue] = list(main.body.blocks[0].args)
    for op in main.walk():
        values.extend(op.results)
    constants: dict[str, list[tuple[int, SSAValue]]] = defaultdict(list)
    for value in values:
        if not isinstance(value.type, TensorType):
            continue
        level = memory_level_of(value.type)
        if level not in hierarchy.memoryLevels:
            continue  # the verifier reports it
        size = shaped_bytes(value.type)
        capacity = hierarchy.memoryLevels[level].size
        if size > capacity:
            raise HomeCapacityError(
                f"{_describe(value)} needs {size} bytes, more than its level {level} holds "
                f"({capacity} bytes) even with nothing else in it: {_advice(level, size, module)}"
            )
        if isinstance(value.owner, arith.ConstantOp):
            constants[level].append((size, value))
    for level, sized in constants.items():
        total = sum(s for s, _ in sized)
        capacity = hierarchy.memoryLevels[level].size
        if total > capacity:
            largest = ", ".join(f"{_describe(v)} {s} B" for s, v in sorted(sized, key=lambda sv: -sv[0])[:3])
            raise HomeCapacityError(
                f"the {len(sized)} constants in {level} need {total} bytes together (they stay for "
                f"the whole run), more than its {capacity} bytes; the largest: {largest}: "
                f"{_advice(level, total, module)}"
            )
