"""The cost model, evaluated for one schedule (docs/cost_model.md).

Per hop h (from path[h] down to path[h+1]) and operand k:
    loads_k      = tiles of the levels above x loads per enclosing box (schedule.py)
    region_k     = bytes of the operand's largest region at this level
    dma_h        = sum_k loads_k * latency_h + ceil(sum_k loads_k * region_k / bandwidth_h)
Compute:
    compute      = ceil(work / rate) + tile_overhead * tiles
        (work: MACs for contractions, at macs_per_cycle, macs_per_cycle_16bit or
         macs_per_cycle_8bit by their data's width; iteration points at
         elements_per_cycle for every other op)
When some operand streams through a second buffer (double buffering), transfers overlap
compute and each other, except the first tile's loads and the last tile's store:
    cycles       = max(compute, max_h dma_h)
                   + sum_h (sum_inputs (latency_h + ceil(region / bandwidth_h))
                            + latency_h + ceil(output region / bandwidth_h))
Otherwise (single buffered, or nothing streams) nothing overlaps:
    cycles       = compute + sum_h dma_h

Regions are those of the largest (interior) tile; `traffic.py` counts exact bytes. The
CP-SAT model (`solver.py`) encodes these same formulas; a test holds them equal.
"""

from __future__ import annotations

from dataclasses import dataclass

from tiler_passes.tiling.problem import Problem, align_up
from tiler_dialect.schedule import OpTiling, max_extents


@dataclass(frozen=True)
class Estimate:
    cycles: int
    compute_cycles: int
    dma_cycles: tuple[int, ...]
    transfers: tuple[int, ...]
    bytes: tuple[int, ...]
    footprint: tuple[int, ...]
    """Aligned bytes of all buffers (times their slots) per level below home."""


def double_buffered(tiling: OpTiling) -> bool:
    return any(s > 1 for level in tiling.levels for s in level.slots)


def estimate(problem: Problem, tiling: OpTiling, alignment: int) -> Estimate:
    deps = problem.operand_dims
    extents = max_extents(problem.desc, tiling)
    parent_tiles = 1
    dma, transfers, moved, footprint, first = [], [], [], [], 0
    for h, (level, link) in enumerate(zip(tiling.levels, problem.links)):
        count = total = 0
        used = 0
        for k in range(len(problem.shapes)):
            region = problem.region_bytes(k, extents[h])
            loads = parent_tiles * level.loads(deps[k])
            count += loads
            total += loads * region
            used += level.slots[k] * align_up(region, alignment)
            first += link.latency + -(-region // link.bandwidth)  # first loads, last store
        if h == len(tiling.levels) - 1 and problem.desc.scratch:  # the compute level's scratch
            used += align_up(problem.scratch_bytes(extents[h]), alignment)
        dma.append(count * link.latency + -(-total // link.bandwidth))
        transfers.append(count)
        moved.append(total)
        footprint.append(used)
        parent_tiles *= level.tiles
    compute = problem.compute_cycles + problem.rates.tile_overhead * parent_tiles
    cycles = max([compute, *dma]) + first if double_buffered(tiling) else compute + sum(dma)
    return Estimate(cycles, compute, tuple(dma), tuple(transfers), tuple(moved), tuple(footprint))
