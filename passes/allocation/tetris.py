"""TetrisRandom: the reference's allocator, kept for comparison.

Blocks are taken in a seeded random order and each is dropped on top of the blocks placed
before it that overlap it in time (at the highest end among them, aligned), like a
Tetris piece. Several seeded orders are tried and the lowest peak kept; when none fits
the capacity, the allocation fails.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

import numpy as np

from tiler_passes.allocation.blocks import AllocationError, Block, peak


class TetrisOutOfTime(AllocationError):
    """Not even one order was dropped within the time limit."""


_SAFE = 1 << 62  # below this sum of sizes and alignments, tops fit int64


def drop(blocks: Sequence[Block], order: Sequence[int], deadline: float | None = None) -> list[int]:
    """Offsets when the blocks fall in `order`: each lands on the highest top among the
    placed blocks it overlaps in time (aligned). Vectorised over the placed blocks, so n
    blocks cost n numpy passes, not n**2 Python steps."""
    n = len(blocks)
    if sum(b.size + b.alignment for b in blocks) >= _SAFE:  # exact Python integers
        return _drop_exact(blocks, order)
    lower = np.array([b.lower for b in blocks], dtype=np.int64)
    upper = np.array([b.upper for b in blocks], dtype=np.int64)
    ends = np.full(n, -1, dtype=np.int64)  # -1 while unplaced: below every top
    offsets = [0] * n
    for k, i in enumerate(order):
        if deadline is not None and not k & 255 and time.monotonic() > deadline:
            raise TetrisOutOfTime("TetrisRandom: out of time before one order was placed")
        b = blocks[i]
        top = max(int(ends[(lower < b.upper) & (upper > b.lower)].max(initial=0)), 0)
        offsets[i] = -(-top // b.alignment) * b.alignment
        ends[i] = offsets[i] + b.size
    return offsets


def _drop_exact(blocks: Sequence[Block], order: Sequence[int]) -> list[int]:
    offsets = [0] * len(blocks)
    placed: list[int] = []
    for i in order:
        b = blocks[i]
        top = max((offsets[j] + blocks[j].size for j in placed if blocks[j].overlaps_in_time(b)), default=0)
        offsets[i] = -(-top // b.alignment) * b.alignment
        placed.append(i)
    return offsets


def tetris_random(
    blocks: Sequence[Block], capacity: int, seed: int = 0, tries: int = 16, timeout: float | None = None
) -> list[int]:
    """The lowest-peak placement among `tries` seeded random orders; with `timeout`
    (seconds), the orders that finished in time (at least one, else TetrisOutOfTime)."""
    rng = random.Random(seed)
    deadline = None if timeout is None else time.monotonic() + timeout
    best: list[int] | None = None
    for _ in range(max(tries, 1)):
        order = list(range(len(blocks)))
        rng.shuffle(order)
        try:
            offsets = drop(blocks, order, deadline)
        except TetrisOutOfTime:
            if best is None:
                raise
            break
        if best is None or peak(blocks, offsets) < peak(blocks, best):
            best = offsets
        if deadline is not None and time.monotonic() > deadline:
            break
    assert best is not None  # the loop ran at least once or raised
    if peak(blocks, best) > capacity:
        raise AllocationError(
            f"TetrisRandom: the best of {tries} random orders needs {peak(blocks, best)} bytes, "
            f"more than the capacity {capacity}"
        )
    return best
