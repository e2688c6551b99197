"""TetrisRandom: the reference's allocator, kept for comparison.

Blocks are taken in a seeded random order and each is dropped on top of the blocks placed
before it that overlap it in time (at the highest end among them, aligned), like a
Tetris piece. Several seeded orders are tried and the lowest peak kept; when none fits
the capacity, the allocation fails.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from tiler_passes.allocation.blocks import AllocationError, Block, peak


def drop(blocks: Sequence[Block], order: Sequence[int]) -> list[int]:
    """Offsets when the blocks fall in `order`."""
    offsets = [0] * len(blocks)
    placed: list[int] = []
    for i in order:
        b = blocks[i]
        top = max((offsets[j] + blocks[j].size for j in placed if blocks[j].overlaps_in_time(b)), default=0)
        offsets[i] = -(-top // b.alignment) * b.alignment
        placed.append(i)
    return offsets


def tetris_random(blocks: Sequence[Block], capacity: int, seed: int = 0, tries: int = 16) -> list[int]:
    """The lowest-peak placement among `tries` seeded random orders."""
    rng = random.Random(seed)
    best: list[int] | None = None
    for _ in range(max(tries, 1)):
        order = list(range(len(blocks)))
        rng.shuffle(order)
        offsets = drop(blocks, order)
        if best is None or peak(blocks, offsets) < peak(blocks, best):
            best = offsets
    assert best is not None
    if peak(blocks, best) > capacity:
        raise AllocationError(
            f"TetrisRandom: the best of {tries} random orders needs {peak(blocks, best)} bytes, "
            f"more than the capacity {capacity}"
        )
    return best
