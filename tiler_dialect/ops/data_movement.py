"""Ops that move or select data: Transpose, Expand, Tile, Gather, Concat, Slice, Pad
and the reshape view."""

from __future__ import annotations

from typing import ClassVar

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import (
    DenseArrayBase,
    f64,
    Float64Type,
    FloatAttr,
    I64,
    i64,
    IntegerAttr,
    MemRefType,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import irdl_op_definition, opt_prop_def, prop_def
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.attributes import memory_level_of, verify_memory_level
from tiler_dialect.errors import TilerError
from tiler_dialect.ops.base import TilerOp
from tiler_dialect.ops.dtypes import element_dtype
from tiler_dialect.ops.shapes import Shape, normalize_axis
from tiler_dialect.tiling import (
    IterDim,
    IterKind,
    OperandAccess,
    OutOfBounds,
    TilingDescription,
    border,
    d,
    dims_map,
    elementwise_description,
)


def _identity_dims(shape: Shape, whole: Sequence[int] = ()) -> tuple[IterDim, ...]:
    return tuple(IterDim(f"d{i}", s, tileable=i not in whole) for i, s in enumerate(shape))


def _output_access(rank: int, num_dims: int | None = None) -> OperandAccess:
    """The output indexed by the first `rank` iteration dims (of `num_dims`, default `rank`)."""
    return OperandAccess(dims_map(rank if num_dims is None else num_dims, [d(i) for i in range(rank)]))


@irdl_op_definition
class TransposeOp(TilerOp):
    """Output dim i is input dim perm[i]."""

    name = "tiler.transpose"

    perm = prop_def(DenseArrayBase[I64])

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x = shapes[0]
        perm = self.perm.get_values()
        if sorted(perm) != list(range(len(x))):
            raise VerifyException(f"perm {list(perm)} is not a permutation of {len(x)} dims")
        return tuple(x[p] for p in perm)

    def tiling(self) -> TilingDescription:
        perm = self.perm.get_values()
        n = len(perm)
        inverse = [perm.index(j) for j in range(n)]
        return TilingDescription(
            _identity_dims(self.output_shape),
            (OperandAccess(dims_map(n, [d(i) for i in inverse])),),
            (_output_access(n),),
        )

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.require(np.transpose(x, self.perm.get_values()), requirements="C")


@irdl_op_definition
class ExpandOp(TilerOp):
    """x broadcast (numpy's rules) against `shape`: each output element is a copy of its
    broadcast input element (ONNX Expand; the output may have more dims than either)."""

    name = "tiler.expand"

    shape = prop_def(DenseArrayBase[I64])

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        target = tuple(self.shape.get_values())
        try:
            return tuple(np.broadcast_shapes(shapes[0], target))
        except ValueError:
            raise VerifyException(f"input of shape {list(shapes[0])} does not broadcast with {list(target)}") from None

    def tiling(self) -> TilingDescription:
        return elementwise_description(self.output_shape, self.input_shapes)

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.array(np.broadcast_to(x, self.output_shape))

    def compute_tile(self, inputs: Sequence[np.ndarray], box: Sequence[tuple[int, int]]) -> np.ndarray:
        """The tile's box, not the whole output, is what its input region broadcasts to."""
        return np.array(np.broadcast_to(inputs[0], tuple(hi - lo for lo, hi in box)))


@irdl_op_definition
class TileOp(TilerOp):
    """ONNX Tile: x repeated `repeats[i]` times along each dim i, so output index o of a
    dim of size m reads input index o mod m.

    Tiling: a dim that repeats (repeats > 1, size m > 1) is two iteration dims, the copy
    r and the index j within it, with the output index m * r + j and the input index j:
    linear maps, so no modulo in the description. A tile that takes part of j stays
    within one copy (r extent 1: the nested-output rule) and needs the input region of
    its j range, [o mod m, ...]; a tile of several copies takes j whole and needs the
    whole input dim. Those are the two regions a tile of an output dim can need without
    wrapping around inside one box."""

    name = "tiler.tile"

    repeats = prop_def(DenseArrayBase[I64])

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x = shapes[0]
        repeats = self.repeats.get_values()
        if len(repeats) != len(x):
            raise VerifyException(f"repeats needs one value per dim ({len(x)}), got {len(repeats)}")
        if any(r < 1 for r in repeats):
            raise VerifyException(f"repeats {list(repeats)} must be positive: empty tensors are not supported")
        return tuple(s * r for s, r in zip(x, repeats))

    def _layout(self) -> list[tuple[int | None, int | None]]:
        """Per dim, the positions of its copy dim and its index dim (None: absent)."""
        out, n = [], 0
        for m, r in zip(self.input_shapes[0], self.repeats.get_values()):
            copy = index = None
            if r > 1 or m == 1:
                copy, n = n, n + 1
            if m > 1:
                index, n = n, n + 1
            out.append((copy, index))
        return out

    def tiling(self) -> TilingDescription:
        x = self.input_shapes[0]
        layout = self._layout()
        dims: list[IterDim] = []
        x_exprs: list = []
        y_exprs: list = []
        for i, ((copy, index), m, r) in enumerate(zip(layout, x, self.repeats.get_values())):
            if copy is not None:
                dims.append(IterDim(f"r{i}", r))
            if index is not None:
                dims.append(IterDim(f"d{i}", m))
        n = len(dims)
        for (copy, index), m in zip(layout, x):
            x_exprs.append(0 if index is None else d(index))
            if copy is None:
                y_exprs.append(d(index))  # type: ignore[arg-type]
            elif index is None:
                y_exprs.append(d(copy))
            else:
                y_exprs.append(d(copy) * m + d(index))
        return TilingDescription(tuple(dims), (OperandAccess(dims_map(n, x_exprs)),), (OperandAccess(dims_map(n, y_exprs)),))

    def compute_tile(self, inputs: Sequence[np.ndarray], box: Sequence[tuple[int, int]]) -> np.ndarray:
        """The tile's input region repeated by the extent of each copy dim in the box."""
        reps = [1 if copy is None else box[copy][1] - box[copy][0] for copy, _ in self._layout()]
        return np.tile(inputs[0], reps)

    def compute(self, x: np.ndarray) -> np.ndarray:
        return np.tile(x, self.repeats.get_values())


INDEX_TYPES = (np.dtype(np.int32), np.dtype(np.int64))
"""The element types of Gather's indices (ONNX's tind)."""


@irdl_op_definition
class GatherOp(TilerOp):
    """ONNX Gather: out[o..., i..., n...] = data[o..., indices[i...], n...] along `axis`
    (non-negative); an index below zero counts from the end (-size <= index < size).

    Tiling: the dims of data before and after the axis, and the dims of indices, tile
    freely; the gathered axis of data (dim `k`) is taken whole by every tile, as a window
    is: which rows a tile reads depends on the indices' values. With constant indices
    only the rows a tile's indices name would be needed, but whole is what is described
    (simple, and sound)."""

    name = "tiler.gather"
    NUM_INPUTS: ClassVar = (2, 2)

    axis = prop_def(IntegerAttr[I64], default_value=IntegerAttr(0, i64))

    @property
    def axis_index(self) -> int:
        return normalize_axis(self.axis.value.data, len(self.input_shapes[0]))

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        data, indices = shapes
        if not data:
            raise VerifyException("data must have rank 1 or more")
        axis = normalize_axis(self.axis.value.data, len(data))
        return (*data[:axis], *indices, *data[axis + 1 :])

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        data, indices = element_types
        if element_dtype(indices) not in INDEX_TYPES:
            raise VerifyException(f"indices must be int32 or int64, got {indices}")
        return data

    def index_inputs(self) -> dict[int, int]:
        return {1: self.input_shapes[0][self.axis_index]}

    def tiling(self) -> TilingDescription:
        data, indices = self.input_shapes
        axis = self.axis_index
        out = self.output_shape
        q = len(indices)
        dims = [IterDim(f"o{i}", s) for i, s in enumerate(data[:axis])]
        dims += [IterDim(f"i{j}", s) for j, s in enumerate(indices)]
        dims += [IterDim(f"n{i}", s) for i, s in enumerate(data[axis + 1 :], start=axis + 1)]
        dims.append(IterDim("k", data[axis], IterKind.WINDOW, tileable=False))
        n = len(dims)
        k = n - 1
        data_map = dims_map(n, [*(d(i) for i in range(axis)), d(k), *(d(axis + q + j) for j in range(len(data) - axis - 1))])
        indices_map = dims_map(n, [d(axis + j) for j in range(q)])
        return TilingDescription(
            tuple(dims), (OperandAccess(data_map), OperandAccess(indices_map)), (_output_access(len(out), n),)
        )

    def compute(self, data: np.ndarray, indices: np.ndarray) -> np.ndarray:
        problem = index_out_of_range(indices, data.shape[self.axis_index], self.axis_index)
        if problem is not None:
            raise TilerError(f"{self.display_name}: {problem}")
        return np.take(data, indices.astype(np.int64), axis=self.axis_index)


def index_out_of_range(indices: np.ndarray, size: int, axis: int) -> str | None:
    """What is wrong with Gather indices into an axis of `size`, or None when all lie in
    [-size, size)."""
    bad = (indices < -size) | (indices >= size)
    if not np.any(bad):
        return None
    return f"index {int(indices[bad].reshape(-1)[0])} is outside [-{size}, {size}) (axis {axis} of data has size {size})"


@irdl_op_definition
class ConcatOp(TilerOp):
    """Concatenation along `axis`; the axis stays whole inside a tile."""

    name = "tiler.concat"
    NUM_INPUTS: ClassVar = (1, 1 << 30)

    axis = prop_def(IntegerAttr[I64])

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        first = shapes[0]
        axis = normalize_axis(self.axis.value.data, len(first))
        total = 0
        for i, s in enumerate(shapes):
            if len(s) != len(first) or any(
                a != b for j, (a, b) in enumerate(zip(s, first)) if j != axis
            ):
                raise VerifyException(
                    f"input #{i} of shape {list(s)} does not match {list(first)} outside axis {axis}"
                )
            total += s[axis]
        return (*first[:axis], total, *first[axis + 1 :])

    @property
    def axis_index(self) -> int:
        return normalize_axis(self.axis.value.data, len(self.output_shape))

    def tiling(self) -> TilingDescription:
        axis = self.axis_index
        n = len(self.output_shape)
        inputs, offset = [], 0
        for s in self.input_shapes:
            exprs = [d(i) if i != axis else d(i) + (-offset) for i in range(n)]
            inputs.append(OperandAccess(dims_map(n, exprs), OutOfBounds.SKIP))
            offset += s[axis]
        return TilingDescription(
            _identity_dims(self.output_shape, (axis,)), tuple(inputs), (_output_access(n),)
        )

    def compute(self, *xs: np.ndarray) -> np.ndarray:
        return np.concatenate(xs, axis=self.axis_index)


@irdl_op_definition
class SliceOp(TilerOp):
    """Strided selection, one (start, end, step) per dim, already clamped as ONNX does:
    step > 0: 0 <= start <= end <= size; step < 0: -1 <= end <= start < size."""

    name = "tiler.slice"

    starts = prop_def(DenseArrayBase[I64])
    ends = prop_def(DenseArrayBase[I64])
    steps = prop_def(DenseArrayBase[I64])

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x = shapes[0]
        starts, ends, steps = self.starts.get_values(), self.ends.get_values(), self.steps.get_values()
        if not len(starts) == len(ends) == len(steps) == len(x):
            raise VerifyException(f"starts, ends and steps need one value per dim ({len(x)})")
        out = []
        for i, (size, b, e, s) in enumerate(zip(x, starts, ends, steps)):
            if s == 0:
                raise VerifyException(f"step of dim {i} is zero")
            ok = 0 <= b <= e <= size if s > 0 else -1 <= e <= b < size
            if not ok:
                raise VerifyException(
                    f"dim {i}: start {b}, end {e}, step {s} are not clamped to size {size}"
                )
            count = -(-(e - b) // s)
            if count < 1:
                raise VerifyException(f"dim {i}: the slice selects no elements")
            out.append(count)
        return tuple(out)

    def tiling(self) -> TilingDescription:
        starts, steps = self.starts.get_values(), self.steps.get_values()
        n = len(starts)
        x_map = dims_map(n, [d(i) * steps[i] + starts[i] for i in range(n)])
        return TilingDescription(
            _identity_dims(self.output_shape), (OperandAccess(x_map),), (_output_access(n),)
        )

    def compute_tile(self, inputs: Sequence[np.ndarray], box: Sequence[tuple[int, int]]) -> np.ndarray:
        """The tile's input is the region between its first and last selected elements
        (with a negative step, the first is the region's last)."""
        steps = self.steps.get_values()
        return np.require(inputs[0][tuple(slice(None, None, s) for s in steps)], requirements="C")

    def compute(self, x: np.ndarray) -> np.ndarray:
        starts, ends, steps = self.starts.get_values(), self.ends.get_values(), self.steps.get_values()
        index = tuple(
            slice(b, None if e < 0 else e, s) for b, e, s in zip(starts, ends, steps)
        )
        return np.require(x[index], requirements="C")


PAD_MODES = ("constant", "edge", "reflect", "wrap")


@irdl_op_definition
class PadOp(TilerOp):
    """Padding; `pads` are begins then ends per dim, negative values crop. `mode` is
    "constant" (the default, filling with `value`), "edge", "reflect" or "wrap"."""

    name = "tiler.pad"

    pads = prop_def(DenseArrayBase[I64])
    value = prop_def(FloatAttr[Float64Type])
    mode = opt_prop_def(StringAttr)

    @property
    def pad_mode(self) -> str:
        return self.mode.data if self.mode is not None else "constant"

    def verify_(self) -> None:
        if self.pad_mode not in PAD_MODES:
            raise VerifyException(f"mode must be one of {', '.join(PAD_MODES)}, got \"{self.pad_mode}\"")
        super().verify_()

    @staticmethod
    def value_attr(value: float) -> FloatAttr:
        return FloatAttr(float(value), f64)

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x = shapes[0]
        pads = self.pads.get_values()
        if len(pads) != 2 * len(x):
            raise VerifyException(f"pads needs {2 * len(x)} values, got {len(pads)}")
        out = tuple(s + pads[i] + pads[i + len(x)] for i, s in enumerate(x))
        if any(o < 1 for o in out):
            raise VerifyException(f"padding {list(pads)} leaves no elements of {list(x)}")
        if any(-p > s for p, s in zip(pads, (*x, *x))):
            raise VerifyException(f"negative pads {list(pads)} crop more than {list(x)}")
        if self.pad_mode == "reflect":
            n = len(x)
            for i, s in enumerate(x):
                kept = s + min(pads[i], 0) + min(pads[i + n], 0)
                if max(pads[i], pads[i + n]) > kept - 1:
                    raise VerifyException(
                        f"reflect padding of dim {i} by {max(pads[i], pads[i + n])} needs more "
                        f"than its {kept} element(s)"
                    )
        return out

    def tiling(self) -> TilingDescription:
        pads = self.pads.get_values()
        n = len(pads) // 2
        x_map = dims_map(n, [d(i) + (-pads[i]) for i in range(n)])
        if self.pad_mode == "constant":
            access = OperandAccess(x_map, OutOfBounds.PAD, self.value.value.data)
            whole: tuple[int, ...] = ()
        else:
            access = OperandAccess(x_map, OutOfBounds.FILL)
            whole = tuple(i for i in range(n) if pads[i] or pads[i + n])
        return TilingDescription(
            _identity_dims(self.output_shape, whole), (access,), (_output_access(n),)
        )

    def compute_tile(self, inputs: Sequence[np.ndarray], box: Sequence[tuple[int, int]]) -> np.ndarray:
        """Constant padding: pad the tile's region where it leaves the input. Other modes
        keep padded dims whole, so the tile is the op itself on its region."""
        x = inputs[0]
        if self.pad_mode != "constant":
            return self.compute(x)
        desc = self.tiling()
        region = desc.region(desc.inputs[0], box)
        size = self.input_shapes[0]
        widths = [border(lo, hi, n) for (lo, hi), n in zip(region, size)]
        value = x.dtype.type(self.value.value.data)
        return np.pad(x, widths, constant_values=value)

    def compute(self, x: np.ndarray) -> np.ndarray:
        pads = self.pads.get_values()
        n = x.ndim
        crop = tuple(
            slice(max(0, -pads[i]), x.shape[i] - max(0, -pads[i + n])) for i in range(n)
        )
        widths = [(max(0, pads[i]), max(0, pads[i + n])) for i in range(n)]
        if self.pad_mode != "constant":
            return np.pad(x[crop], widths, mode=self.pad_mode)
        value = x.dtype.type(self.value.value.data)
        return np.pad(x[crop], widths, constant_values=value)


@irdl_op_definition
class ReshapeOp(TilerOp):
    """A view of the input with another shape (same elements, same order). Reshape,
    Flatten, Squeeze and Unsqueeze all import as this op; it moves no data."""

    name = "tiler.reshape"
    IS_VIEW: ClassVar = True

    @classmethod
    def build_view(cls, source: SSAValue, shape: Sequence[int], attributes=None) -> ReshapeOp:
        t = source.type
        assert isinstance(t, TensorType)
        return cls([source], TensorType(t.element_type, list(shape), t.encoding), attributes=attributes)

    def verify_(self) -> None:
        if len(self.inputs) != 1:
            raise VerifyException(f"expects 1 input(s), got {len(self.inputs)}")
        if self.outputs or len(self.res) != 1:
            raise VerifyException("a reshape view has exactly one result and no destination")
        src, dst = self.inputs[0].type, self.res[0].type
        if not (
            (isinstance(src, TensorType) and isinstance(dst, TensorType))
            or (isinstance(src, MemRefType) and isinstance(dst, MemRefType))
        ):
            raise VerifyException("a reshape view takes and returns tensors, or memrefs")
        verify_memory_level(src, self, "input #0")
        verify_memory_level(dst, self, "result")
        if src.element_type != dst.element_type:
            raise VerifyException("a reshape view keeps the element type")
        if memory_level_of(src) != memory_level_of(dst):
            raise VerifyException("a reshape view keeps the memory level")
        a, b = math.prod(src.get_shape()), math.prod(dst.get_shape())
        if a != b:
            raise VerifyException(f"a reshape view keeps the element count ({a} vs {b})")

    def compute(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.output_shape)
