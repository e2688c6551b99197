"""Exact DMA traffic of a schedule, tile by tile, as the generated code moves it, and the
compulsory traffic it is measured against (BRIEF section 7)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tiler_dialect.tiling import OutOfBounds, linear_form
from tiler_passes.tiling.problem import Problem
from tiler_dialect.schedule import OpTiling, balanced, moves_at


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
    deps = problem.operand_dims
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
                if moves_at(t, strides[k], output):
                    per_hop[h][0] += _region_bytes(problem, k, sub)
                    per_hop[h][1] += 1
            if h + 1 < len(tiling.levels):
                visit(h + 1, sub)

    if tiling.levels:  # else home is the compute level: nothing moves
        visit(0, [(0, d.size) for d in problem.desc.dims])
    return Traffic(
        sum(b for b, _ in per_hop), sum(t for _, t in per_hop), tuple((b, t) for b, t in per_hop)
    )


def touched_elements(problem: Problem, k: int) -> int:
    """Elements of operand k the whole iteration space touches: per operand dim, the
    distinct in-bounds values its map takes (a stride-2 1x1 convolution touches every
    other row, not the rows' bounding range)."""
    access = [*problem.desc.inputs, *problem.desc.outputs][k]
    count = 1
    for expr, size in zip(access.map.results, problem.shapes[k]):
        lf = linear_form(expr)
        values = np.array([lf.const])
        for d, c in lf.coeffs:
            values = np.add.outer(values, c * np.arange(problem.desc.dims[d].size)).ravel()
            values = np.unique(values)  # distinct values: keeps it small as it grows
        count *= int(np.count_nonzero((values >= 0) & (values < size)))
    return count


def compulsory_bytes(problem: Problem) -> int:
    """Every byte an op needs crosses every hop at least once: what the whole iteration
    space touches of each input, and its output."""
    once = sum(touched_elements(problem, k) * problem.element_bytes[k] for k in range(len(problem.shapes)))
    return once * problem.levels
