"""Exact DMA traffic of a schedule, tile by tile, as the generated code moves it, and the
compulsory traffic it is measured against (BRIEF section 7)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tiler_dialect.tiling import OutOfBounds
from tiler_passes.tiling.problem import Problem
from tiler_passes.tiling.schedule import OpTiling, balanced, operand_dims


@dataclass(frozen=True)
class Traffic:
    bytes: int
    transfers: int
    per_hop: tuple[tuple[int, int], ...]
    """(bytes, transfers) per hop, from home down."""


def _region_bytes(problem: Problem, k: int, box: list[tuple[int, int]]) -> int:
    access = [*problem.desc.inputs, *problem.desc.outputs][k]
    region = problem.desc.region(access, box)
    shape = problem.shapes[k]
    if access.oob != OutOfBounds.NEVER:
        region = tuple((max(lo, 0), min(hi, s)) for (lo, hi), s in zip(region, shape))
    return math.prod(max(hi - lo, 0) for lo, hi in region) * problem.element_bytes[k]


def exact_traffic(problem: Problem, tiling: OpTiling) -> Traffic:
    deps = operand_dims(problem.desc)
    n = len(problem.shapes)
    per_hop = [[0, 0] for _ in tiling.levels]

    def visit(h: int, box: list[tuple[int, int]]) -> None:
        level = tiling.levels[h]
        splits = [
            balanced(hi - lo, c) if c > 1 else [(0, hi - lo)]
            for (lo, hi), c in zip(box, level.counts)
        ]
        strides = [level.stride(deps[k]) for k in range(n)]
        for t in range(level.tiles):
            sub = []
            for d, ((lo, _), parts) in enumerate(zip(box, splits)):
                i = (t // level.dim_stride(d)) % level.counts[d] if level.counts[d] > 1 else 0
                a, b = parts[i]
                sub.append((lo + a, lo + b))
            for k in range(n):
                output = k == n - 1
                moves = (t + 1) % strides[k] == 0 if output else t % strides[k] == 0
                if moves:
                    per_hop[h][0] += _region_bytes(problem, k, sub)
                    per_hop[h][1] += 1
            if h + 1 < len(tiling.levels):
                visit(h + 1, sub)

    visit(0, [(0, d.size) for d in problem.desc.dims])
    return Traffic(
        sum(b for b, _ in per_hop), sum(t for _, t in per_hop), tuple((b, t) for b, t in per_hop)
    )


def compulsory_bytes(problem: Problem) -> int:
    """Every byte an op needs crosses every hop once: the regions the whole iteration space
    reads from each input, and its output."""
    box = [(0, d.size) for d in problem.desc.dims]
    once = sum(_region_bytes(problem, k, box) for k in range(len(problem.shapes)))
    return once * problem.levels
