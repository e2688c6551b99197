"""Reductions beyond the sum and mean (data_movement.py's ReduceOp): maximum, minimum,
product, and the sums of absolute values and of squares, over `axes`; and the index of
the maximum or minimum along one axis (ArgMax, ArgMin).

The sums split across tiles (their partial results add); the others stay whole along
the reduced axes, as a pooling window does. ONNX's L2 norm, log-sum and log-sum-exp
import as these followed by elementwise ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import BoolAttr, I64, IntegerAttr, i64
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, prop_def
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.ops.base import TilerOp
from tiler_dialect.ops.data_movement import ReduceOp
from tiler_dialect.ops.logic import is_bool
from tiler_dialect.ops.shapes import Shape, normalize_axis
from tiler_dialect.tiling import IterDim, IterKind, OperandAccess, TilingDescription, d, dims_map


class _NumpyReduction(ReduceOp):
    """`REDUCE` is numpy's reduction; the result has the input's element type."""

    def compute(self, x: np.ndarray) -> np.ndarray:
        axes = tuple(self.axes.get_values())
        keep = bool(self.keepdims.value.data)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(type(self).REDUCE(self.prepare(x), axis=axes, keepdims=keep)).astype(x.dtype)

    def prepare(self, x: np.ndarray) -> np.ndarray:
        return x


@irdl_op_definition
class ReduceMaxOp(_NumpyReduction):
    """The maximum over `axes` (NaN wins)."""

    name = "tiler.reduce_max"
    REDUCE: ClassVar = staticmethod(np.max)


@irdl_op_definition
class ReduceMinOp(_NumpyReduction):
    name = "tiler.reduce_min"
    REDUCE: ClassVar = staticmethod(np.min)


@irdl_op_definition
class ReduceProdOp(_NumpyReduction):
    """The product over `axes`, in the input's element type."""

    name = "tiler.reduce_prod"
    REDUCE: ClassVar = staticmethod(np.prod)


@irdl_op_definition
class ReduceL1Op(_NumpyReduction):
    """The sum of absolute values over `axes`."""

    name = "tiler.reduce_l1"
    COMBINE: ClassVar = "sum"
    REDUCE: ClassVar = staticmethod(np.sum)

    def prepare(self, x):
        return np.abs(x)


@irdl_op_definition
class ReduceSumSquareOp(_NumpyReduction):
    """The sum of squares over `axes`."""

    name = "tiler.reduce_sum_square"
    COMBINE: ClassVar = "sum"
    REDUCE: ClassVar = staticmethod(np.sum)

    def prepare(self, x):
        return x * x


class ArgReduction(TilerOp):
    """The index (int64) of the maximum (ArgMax) or minimum (ArgMin) along `axis`: the
    first one, or the last with `select_last_index`; a NaN counts as the extreme (numpy's
    argmax/argmin, ONNX's reference). `keepdims` keeps the axis as size 1.

    Tiling: the other dims tile freely; the reduced axis stays whole in a tile. Splitting
    it would need each tile to carry its best value beside its index and a combine that
    compares values (not a sum), which the descriptions' combine does not express; the
    lowering keeps the running best value in a per-output scratch buffer (`scratch`)."""

    axis = prop_def(IntegerAttr[I64], default_value=IntegerAttr(0, i64))
    keepdims = prop_def(BoolAttr, default_value=BoolAttr.from_bool(True))
    select_last_index = prop_def(BoolAttr, default_value=BoolAttr.from_bool(False))

    PICK: ClassVar = staticmethod(np.argmax)
    LARGEST: ClassVar[bool] = True
    """Whether the op looks for the maximum (its lowering's comparison and start value)."""

    @property
    def axis_index(self) -> int:
        return normalize_axis(self.axis.value.data, len(self.input_shapes[0]))

    @property
    def last(self) -> bool:
        return bool(self.select_last_index.value.data)

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x = shapes[0]
        if not x:
            raise VerifyException(f"{self.name} needs an input of rank 1 or more")
        axis = normalize_axis(self.axis.value.data, len(x))
        keep = bool(self.keepdims.value.data)
        return tuple(1 if i == axis else s for i, s in enumerate(x) if keep or i != axis)

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        t = element_types[0]
        if is_bool(t):
            raise VerifyException(f"{self.name} is defined on numbers, got {t}")
        return i64

    def tiling(self) -> TilingDescription:
        x = self.input_shapes[0]
        axis = self.axis_index
        keep = bool(self.keepdims.value.data)
        kept = [i for i in range(len(x)) if i != axis]
        order = [*kept, axis]  # the kept dims (parallel), then the reduced one, whole
        dims = tuple(
            IterDim(f"d{i}", x[i], IterKind.REDUCTION, tileable=False) if i == axis else IterDim(f"d{i}", x[i])
            for i in order
        )
        n = len(order)
        position = {dim: p for p, dim in enumerate(order)}
        x_map = dims_map(n, [d(position[i]) for i in range(len(x))])
        y_map = dims_map(n, [0 if i == axis else d(position[i]) for i in range(len(x)) if keep or i != axis])
        # the running best value per output element
        return TilingDescription(dims, (OperandAccess(x_map),), (OperandAccess(y_map),), scratch=(OperandAccess(y_map),))

    def compute(self, x: np.ndarray) -> np.ndarray:
        axis = self.axis_index
        pick = type(self).PICK
        if self.last:
            index = x.shape[axis] - 1 - pick(np.flip(x, axis), axis=axis)
        else:
            index = pick(x, axis=axis)
        if self.keepdims.value.data:
            index = np.expand_dims(index, axis)
        return np.asarray(index, dtype=np.int64)


@irdl_op_definition
class ArgMaxOp(ArgReduction):
    name = "tiler.arg_max"


@irdl_op_definition
class ArgMinOp(ArgReduction):
    name = "tiler.arg_min"
    PICK: ClassVar = staticmethod(np.argmin)
    LARGEST: ClassVar[bool] = False


REDUCTION_OPS = (ReduceMaxOp, ReduceMinOp, ReduceProdOp, ReduceL1Op, ReduceSumSquareOp, ArgMaxOp, ArgMinOp)
