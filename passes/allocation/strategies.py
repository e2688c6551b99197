"""The three allocation strategies behind one call.

- "MiniMalloc" (default): the native MiniMalloc search, at the level's capacity, then
  narrowed to the lowest peak the time budget finds (`minimalloc.py`).
- "TetrisRandom": the reference's random-order drop, for comparison (`tetris.py`).
- "TetrisCo-Opt": CP-SAT placement minimising the peak (`cpsat_placement.py`); blocks
  whose offsets the tiling model already chose with the tile sizes keep them.

`timeout` is in seconds for every strategy (TetrisRandom needs none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tiler_passes.allocation.blocks import AllocationError, Block
from tiler_passes.allocation.cpsat_placement import cpsat_placement
from tiler_passes.allocation.minimalloc import minimalloc_lowest_peak
from tiler_passes.allocation.tetris import tetris_random
from tiler_passes.options import ALLOCATION_STRATEGIES, DEFAULT_ALLOCATION_STRATEGY, DEFAULT_ALLOCATION_TIMEOUT



def place(
    blocks: Sequence[Block],
    capacity: int,
    strategy: str = DEFAULT_ALLOCATION_STRATEGY,
    seed: int = 0,
    timeout: float = DEFAULT_ALLOCATION_TIMEOUT,
    fixed: Mapping[int, int] | None = None,
) -> list[int]:
    if strategy == "MiniMalloc":
        return minimalloc_lowest_peak(blocks, capacity, timeout)
    if strategy == "TetrisRandom":
        return tetris_random(blocks, capacity, seed, timeout=timeout)
    if strategy == "TetrisCo-Opt":
        # `timeout` is seconds of wall clock. CP-SAT's deterministic time (which repeats
        # on any machine) runs several times slower than the wall clock on these models,
        # so a budget of timeout / 8 units normally ends the search first and the
        # placement is reproducible; the wall-clock cap keeps the promise of seconds.
        return cpsat_placement(blocks, capacity, fixed, seed, time_limit=timeout / 8, wall_limit=timeout)
    raise AllocationError(f"unknown allocation strategy {strategy!r}; known: {', '.join(ALLOCATION_STRATEGIES)}")
