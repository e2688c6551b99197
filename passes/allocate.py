"""allocate: give every buffer of tiled IR an offset in its level's arena (a thin wrapper
around `Tiler`'s allocation: computeMemoryMap, testMemoryMapCorrectness,
annotateMemoryLevel, plotMemoryAlloc).

    xdsl-opt tiled.mlir -p 'allocate{strategy=MiniMalloc memory-map=map.json plot=map.html}'

`strategy` is "MiniMalloc" (native, default), "TetrisRandom" or "TetrisCo-Opt";
`alignment` (bytes, default `DEFAULT_ALIGNMENT`, 4) is enforced on every offset; `seed` seeds the random and
CP-SAT strategies; `timeout` bounds each level's search (seconds); `memory-map` writes the
JSON memory map, `plot` the interactive HTML view. The options and their checks are
`tiler_passes.options.AllocateOptions`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from tiler_dialect.attributes import hierarchy_of
from tiler_passes.allocation.blocks import lower_bound
from tiler_passes.allocation.memory_map import MemoryMap
from tiler_passes.options import AllocateOptions
from tiler_passes.tiler import Tiler
from tiler_passes.output_files import write_output


def memory_map_json(mmap: MemoryMap, arenas: dict[str, int], level_order: list[str]) -> dict:
    """`--memory-map`: per level its capacity, arena, lower bound and placed blocks."""
    levels = {}
    for level in level_order:
        if level not in mmap.levels:
            continue
        blocks = mmap.levels[level]
        levels[level] = {
            "capacity": mmap.capacities[level],
            "arena_bytes": arenas[level],
            "lower_bound_bytes": lower_bound([b.block for b in blocks]),
            "blocks": [
                {
                    "name": b.block.id,
                    "kind": b.kind,
                    "lower": b.block.lower,
                    "upper": b.block.upper,
                    "size": b.block.size,
                    "offset": b.offset,
                }
                for b in blocks
            ],
        }
    return {"steps": mmap.steps, "levels": levels}


@dataclass(frozen=True)
class AllocatePass(AllocateOptions, ModulePass):
    name = "allocate"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        tiler = Tiler.configured(hierarchy_of(op), self)
        mmap = tiler.allocate(op)
        order = list(tiler.memoryHierarchy.memoryLevels)
        if self.memory_map is not None:
            text = json.dumps(memory_map_json(mmap, tiler.worstCaseBufferSize, order), indent=1)
            write_output(self.memory_map, text + "\n", "the memory map")
        if self.plot is not None:
            tiler.plotMemoryAlloc(mmap, self.plot)
