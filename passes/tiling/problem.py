"""What the solver needs to know about one op: its tiling description, operand shapes
and element sizes, the levels its tiles cross, their capacities and the cost model.

Everything here is plain data, derived from the op and the hierarchy; ops with equal
`signature` have equal problems and share one solution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from tiler_dialect.attributes import hierarchy_of
from tiler_dialect.cost import ComputeRates, LinkCost
from tiler_dialect.hierarchy import MemoryHierarchy
from tiler_dialect.ops import TilerOp, element_dtype
from tiler_dialect.tiling import IterKind, TilingDescription
from tiler_dialect.schedule import operand_dims, region_extent


@dataclass(frozen=True)
class Problem:
    label: str
    """How diagnostics name the op, e.g. "'conv1' (tiler.conv)"."""
    desc: TilingDescription
    shapes: tuple[tuple[int, ...], ...]
    """Operand shapes: inputs, then the output."""
    element_bytes: tuple[int, ...]
    operand_names: tuple[str, ...]
    """For diagnostics: role and SSA name, e.g. "in0 %x"."""
    tensor_names: tuple[str, ...]
    """For reports: the tensors' names, unique within the op."""
    path: tuple[str, ...]
    """Levels from home (first) down to the compute level (last)."""
    capacities: tuple[int, ...]
    """Capacity of each level below home, in path order."""
    links: tuple[LinkCost, ...]
    """Cost of each hop: links[i] connects path[i] and path[i + 1]."""
    rates: ComputeRates
    signature: tuple
    multiply_accumulates: bool = False
    """A contraction: its work runs at the MAC rate of its data's width (element_bytes[0])."""

    @property
    def levels(self) -> int:
        return len(self.path) - 1

    @cached_property
    def operand_dims(self) -> tuple[frozenset[int], ...]:
        """For each operand (inputs, then the output), the iteration dims its region uses."""
        return tuple(frozenset(dims) for dims in operand_dims(self.desc))

    @property
    def n_inputs(self) -> int:
        return len(self.desc.inputs)

    @property
    def contraction(self) -> bool:
        return self.desc.combine == "sum"

    @property
    def work(self) -> int:
        """Iteration points: multiply-accumulates for contractions."""
        return math.prod(d.size for d in self.desc.dims)

    @property
    def compute_cycles(self) -> int:
        if self.multiply_accumulates:
            rate = self.rates.macs_for(self.element_bytes[0])
        else:
            rate = self.rates.elements_per_cycle
        return -(-self.work // rate)

    def splittable(self, level: int, dim: int) -> bool:
        """May `dim` be cut into several tiles at `level` (0 = first level below home)?"""
        d = self.desc.dims[dim]
        if not d.tileable or d.size == 1:
            return False
        if d.kind == IterKind.PARALLEL:
            return True
        # partial sums accumulate in the compute level only
        return d.kind == IterKind.REDUCTION and self.contraction and level == self.levels - 1

    def region_bytes(self, operand: int, extents: Sequence[int]) -> int:
        """Bytes of the largest region of `operand` a box of these extents needs."""
        access = [*self.desc.inputs, *self.desc.outputs][operand]
        region = region_extent(access, extents, self.shapes[operand])
        return math.prod(region) * self.element_bytes[operand]

    def scratch_bytes(self, extents: Sequence[int]) -> int:
        """Bytes of the scratch buffers (description's `scratch`) a box of these extents needs."""
        total = 0
        for access in self.desc.scratch:
            region = region_extent(access, extents, self.desc.scratch_shape(access))
            total += math.prod(region) * self.element_bytes[-1]
        return total

    def smallest_extents(self) -> list[int]:
        """Every dim that may be split at the compute level, at extent 1."""
        last = self.levels - 1
        return [1 if self.splittable(last, d) else dim.size for d, dim in enumerate(self.desc.dims)]


def align_up(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment


def problem_of(op: TilerOp, label: str, hierarchy: MemoryHierarchy | None = None) -> Problem:
    h = hierarchy or hierarchy_of(op)
    desc = op.tiling()
    shapes = (*[tuple(s) for s in op.input_shapes], tuple(op.output_shape))
    values = [*op.inputs, *(op.outputs or op.res)]
    element_bytes = tuple(element_dtype(v.type.element_type).itemsize for v in values)  # type: ignore[attr-defined]
    names = tuple(_operand_name(v, i, len(op.inputs)) for i, v in enumerate(values))
    tensors: list[str] = []
    for i, v in enumerate(values):
        base = v.name_hint or (f"in{i}" if i < len(op.inputs) else "out")
        tensors.append(base if base not in tensors else f"{base}#{i}")
    path = tuple(h.homePath())
    capacities = tuple(h.memoryLevels[level].size for level in path[1:])
    links = tuple(h.linkCost(a, b) for a, b in zip(path, path[1:]))
    props = tuple(sorted((k, str(v)) for k, v in op.properties.items() if k != "operandSegmentSizes"))
    signature = (op.name, shapes, element_bytes, props, path, capacities, links, h.computeRates)
    return Problem(
        label, desc, shapes, element_bytes, names, tuple(tensors), path, capacities, links, h.computeRates, signature,
        op.MULTIPLY_ACCUMULATES,
    )


def _operand_name(value, index: int, n_inputs: int) -> str:
    role = f"in{index}" if index < n_inputs else "out"
    return f"{role} %{value.name_hint}" if value.name_hint else role
