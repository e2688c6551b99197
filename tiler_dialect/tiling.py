"""Declarative tiling descriptions: one per op, as data (BRIEF section 5).

An op describes its computation the way `linalg.generic` does: an iteration space of
named dimensions, and for every operand an affine map from an iteration point to the
element of that operand it touches. Everything the tiler needs follows from that:

- which dimensions may be cut into tiles (`IterDim.tileable`, alignment hints),
- which dimensions are reductions (partial results combined with `TilingDescription.combine`
  when a reduction is split) and which are kernel windows (never split),
- the region of each operand that a tile (a box of the iteration space) needs: the
  image of the box under the operand's map, i.e. halos, strides, dilations and
  padding fall out of the map's coefficients and constants,
- what lies outside an operand's bounds (`OutOfBounds`): border padding with a value,
  or another operand's part of the iteration space (concatenation).

Adding an op means writing its description; the tiler has no per-op code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
    AffineMap,
)


class IterKind(StrEnum):
    PARALLEL = "parallel"  # indexes the output: tiles of it are independent
    REDUCTION = "reduction"  # summed (or otherwise combined) into each output element
    WINDOW = "window"  # a kernel-window offset (conv/pool): always taken whole


class OutOfBounds(StrEnum):
    NEVER = "never"  # the map stays inside the operand for every iteration point
    PAD = "pad"  # points outside the operand read `pad_value` (border padding)
    SKIP = "skip"  # points outside belong to another operand (concat) and are not read
    FILL = "fill"  # points outside are computed by the op from the operand's own data
    #                (edge/reflect/wrap padding); the dims involved are never tiled


@dataclass(frozen=True)
class IterDim:
    name: str
    size: int
    kind: IterKind = IterKind.PARALLEL
    tileable: bool = True
    """False when the op needs the whole extent at once (softmax axis, layernorm axes)."""
    align: int = 1
    """Preferred multiple for tile sizes of this dimension (a hint, not a constraint)."""


@dataclass(frozen=True)
class OperandAccess:
    """How an operand is indexed: `map` takes an iteration point to an operand index."""

    map: AffineMap
    oob: OutOfBounds = OutOfBounds.NEVER
    pad_value: float = 0.0


@dataclass(frozen=True)
class LinearForm:
    """`const + sum(coeff * d_i)`: an affine expression without div/mod."""

    coeffs: tuple[tuple[int, int], ...]  # (dim position, coefficient), sorted by position
    const: int

    def bounds(self, box: Sequence[tuple[int, int]]) -> tuple[int, int]:
        """Min and max over a box of half-open [lo, hi) ranges, one per iteration dim."""
        lo = hi = self.const
        for d, c in self.coeffs:
            a, b = box[d][0], box[d][1] - 1
            lo += min(c * a, c * b)
            hi += max(c * a, c * b)
        return lo, hi


def linear_form(expr: AffineExpr) -> LinearForm:
    """Flatten an affine expression built from dims, constants, + and * by constants."""
    coeffs: dict[int, int] = {}

    def walk(e: AffineExpr, scale: int) -> int:
        if isinstance(e, AffineDimExpr):
            coeffs[e.position] = coeffs.get(e.position, 0) + scale
            return 0
        if isinstance(e, AffineConstantExpr):
            return scale * e.value
        if isinstance(e, AffineBinaryOpExpr):
            if e.kind == AffineBinaryOpKind.Add:
                return walk(e.lhs, scale) + walk(e.rhs, scale)
            if e.kind == AffineBinaryOpKind.Mul:
                if isinstance(e.rhs, AffineConstantExpr):
                    return walk(e.lhs, scale * e.rhs.value)
                if isinstance(e.lhs, AffineConstantExpr):
                    return walk(e.rhs, scale * e.lhs.value)
        raise ValueError(f"tiling maps must be linear in the iteration dims, got {e}")

    const = walk(expr, 1)
    return LinearForm(tuple(sorted((d, c) for d, c in coeffs.items() if c != 0)), const)


@dataclass(frozen=True)
class TilingDescription:
    dims: tuple[IterDim, ...]
    inputs: tuple[OperandAccess, ...]
    outputs: tuple[OperandAccess, ...]
    combine: str | None = None
    """How partial results of a split reduction combine ("sum"); None: never split."""
    scratch: tuple[OperandAccess, ...] = ()
    """Working buffers a tile needs beside its operands, in the compute level and of the
    output's element type, each indexed by its map like an operand (softmax's and layer
    norm's one value per row); the solver counts their bytes in the compute level."""

    def __post_init__(self) -> None:
        for access in (*self.inputs, *self.outputs, *self.scratch):
            if access.map.num_dims != len(self.dims):
                raise ValueError(
                    f"map {access.map} has {access.map.num_dims} dims, "
                    f"the iteration space has {len(self.dims)}"
                )
            for expr in access.map.results:
                linear_form(expr)

    @property
    def full_box(self) -> tuple[tuple[int, int], ...]:
        return tuple((0, d.size) for d in self.dims)

    def scratch_shape(self, access: OperandAccess) -> tuple[int, ...]:
        """The shape of a scratch buffer for the whole problem: its map's image."""
        return tuple(hi - lo for lo, hi in self.region(access, self.full_box))

    def nested_output_dims(self) -> list[tuple[int, tuple[int, ...]]]:
        """(inner, outers) pairs: a tile's output region is written back as one box, which
        is exact only if the box the map covers is all written. Where an output index
        combines dims (a grouped conv's channel g * M + m), an inner dim taken in part
        makes the covered set a strided comb unless every outer dim is taken one index at
        a time: so a tile that does not cover `inner` whole must have extent 1 in each
        of `outers` (the dims of larger coefficient in the same output index)."""
        pairs: list[tuple[int, tuple[int, ...]]] = []
        for access in self.outputs:
            for expr in access.map.results:
                terms = sorted(linear_form(expr).coeffs, key=lambda dc: -abs(dc[1]))
                for j in range(1, len(terms)):
                    pairs.append((terms[j][0], tuple(d for d, _ in terms[:j])))
        return pairs

    def inexact_output(self, extents: Sequence[int]) -> str | None:
        """Why a tile of these extents would write a box it does not cover, or None."""
        for inner, outers in self.nested_output_dims():
            if extents[inner] < self.dims[inner].size:
                wide = [d for d in outers if extents[d] > 1]
                if wide:
                    names = ", ".join(self.dims[d].name for d in wide)
                    return (
                        f"dim {self.dims[inner].name} is split, so the output index it shares with "
                        f"{names} would not be a box: take {names} one at a time (tile extent 1)"
                    )
        return None

    def region(
        self, access: OperandAccess, box: Sequence[tuple[int, int]]
    ) -> tuple[tuple[int, int], ...]:
        """Half-open index range per operand dim that a box of iterations touches.

        Not clipped: for PAD/SKIP accesses the range may extend past the operand."""
        out = []
        for expr in access.map.results:
            lo, hi = linear_form(expr).bounds(box)
            out.append((lo, hi + 1))
        return tuple(out)

    def render(self) -> str:
        """A readable form, e.g. for docs and debugging."""
        names = [d.name for d in self.dims]

        def show(m: AffineMap) -> str:
            parts = []
            for expr in m.results:
                lf = linear_form(expr)
                terms = [
                    (names[d] if c == 1 else f"{c}*{names[d]}") for d, c in lf.coeffs
                ]
                if lf.const or not terms:
                    terms.append(str(lf.const))
                parts.append(" + ".join(terms).replace("+ -", "- "))
            return "[" + ", ".join(parts) + "]"

        dims = ", ".join(
            f"{d.name}:{d.size}"
            + ("" if d.kind == IterKind.PARALLEL else f" {d.kind}")
            + ("" if d.tileable else " whole")
            for d in self.dims
        )
        lines = [f"iterate ({dims})"]
        for i, a in enumerate(self.inputs):
            extra = "" if a.oob == OutOfBounds.NEVER else f" oob={a.oob}"
            if a.oob == OutOfBounds.PAD:
                extra += f"({a.pad_value:g})"
            lines.append(f"  in{i}{show(a.map)}{extra}")
        for i, a in enumerate(self.outputs):
            lines.append(f"  out{i}{show(a.map)}")
        if self.combine:
            lines.append(f"  combine {self.combine}")
        return "\n".join(lines)


def border(lo: int, hi: int, size: int) -> tuple[int, int]:
    """How many positions of [lo, hi) lie before 0 and at or after `size`: the padding a
    tile's region needs on each side (the region may lie wholly in the padding)."""
    return max(0, min(hi, 0) - lo), max(0, hi - max(lo, size))


def dims_map(num_dims: int, results: Sequence[AffineExpr | int]) -> AffineMap:
    """An affine map over `num_dims` iteration dims; ints in `results` are constants."""
    return AffineMap(
        num_dims,
        0,
        tuple(
            AffineExpr.constant(r) if isinstance(r, int) else r for r in results
        ),
    )


def d(position: int) -> AffineExpr:
    return AffineExpr.dimension(position)


def broadcast_map(num_dims: int, operand_shape: Sequence[int], out_shape: Sequence[int]) -> AffineMap:
    """Map for an operand broadcast (numpy rules) against output dims 0..rank-1."""
    offset = len(out_shape) - len(operand_shape)
    return dims_map(
        num_dims,
        [
            0 if size == 1 and out_shape[offset + i] != 1 else d(offset + i)
            for i, size in enumerate(operand_shape)
        ],
    )


def elementwise_description(
    out_shape: Sequence[int], input_shapes: Sequence[Sequence[int]]
) -> TilingDescription:
    """Every output element depends on the broadcast element of each input."""
    n = len(out_shape)
    dims = tuple(IterDim(f"d{i}", s) for i, s in enumerate(out_shape))
    return TilingDescription(
        dims,
        tuple(OperandAccess(broadcast_map(n, s, out_shape)) for s in input_shapes),
        (OperandAccess(dims_map(n, [d(i) for i in range(n)])),),
    )
