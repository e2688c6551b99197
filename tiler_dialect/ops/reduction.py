"""Reductions over `axes`: the sum and the mean (ReduceOp, the base of all of them),
maximum, minimum, product, and the sums of absolute values and of squares; and the index
of the maximum or minimum along one axis (ArgMax, ArgMin).

The sums split across tiles (their partial results add); the others stay whole along
the reduced axes, as a pooling window does. ONNX's L2 norm, log-sum and log-sum-exp
import as these followed by elementwise ops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import BoolAttr, DenseArrayBase, I64, IntegerAttr, StringAttr, i64
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, opt_prop_def, prop_def
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.ops.base import TilerOp
from tiler_dialect.ops.dtypes import element_dtype
from tiler_dialect.ops.logic import is_bool
from tiler_dialect.ops.shapes import Shape, normalize_axis
from tiler_dialect.tiling import IterDim, IterKind, OperandAccess, TilingDescription, d, dims_map


def reduction_space(
    x: Shape, axes: Sequence[int], keep: bool, split: bool = True
) -> tuple[tuple[IterDim, ...], OperandAccess, OperandAccess]:
    """The iteration space of a reduction of `x` over `axes`: the kept dims (parallel),
    then the reduced ones (tileable when `split`); the input's access and the output's
    (the reduced axes as size 1 if `keep`, else dropped)."""
    kept = [i for i in range(len(x)) if i not in axes]
    order = kept + list(axes)
    dims = tuple(
        IterDim(f"d{i}", x[i]) if i in kept else IterDim(f"d{i}", x[i], IterKind.REDUCTION, tileable=split)
        for i in order
    )
    n = len(order)
    position = {dim: p for p, dim in enumerate(order)}
    x_map = dims_map(n, [d(position[i]) for i in range(len(x))])
    y_map = dims_map(n, [0 if i in axes else d(position[i]) for i in range(len(x)) if keep or i not in axes])
    return dims, OperandAccess(x_map), OperandAccess(y_map)


def mean_part(x: np.ndarray, axes: Sequence[int], count: int, keepdims: bool) -> np.ndarray:
    """The part of a float mean over `count` elements that a tile holding `x` adds: its
    sum over `axes` / count (in double precision, rounded back), so tiles' parts add up."""
    return np.asarray(x.astype(np.float64).sum(axis=tuple(axes), keepdims=keepdims) / count).astype(x.dtype)


class ReduceOp(TilerOp):
    """A reduction over `axes` (sorted, non-negative), keeping them as size 1 if `keepdims`."""

    axes = prop_def(DenseArrayBase[I64])
    keepdims = prop_def(BoolAttr, default_value=BoolAttr.from_bool(True))

    COMBINE: ClassVar[str | None] = None
    """How partial results of a split reduction combine; None: the reduction stays whole."""

    @property
    def combine(self) -> str | None:
        """This op's COMBINE (an op whose element type decides overrides it)."""
        return self.COMBINE

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x = shapes[0]
        axes = self.axes.get_values()
        if not axes or list(axes) != sorted(set(axes)) or axes[0] < 0 or axes[-1] >= len(x):
            raise VerifyException(
                f"axes {list(axes)} must be sorted, unique and within rank {len(x)}"
            )
        keep = bool(self.keepdims.value.data)
        return tuple(1 if i in axes else s for i, s in enumerate(x) if keep or i not in axes)

    def tiling(self) -> TilingDescription:
        axes = self.axes.get_values()
        dims, x_access, y_access = reduction_space(self.input_shapes[0], axes, bool(self.keepdims.value.data))
        return TilingDescription(dims, (x_access,), (y_access,), combine=self.combine)


MEAN_ROUNDINGS = ("toward_zero", "half_up", "half_away")
"""How an integer mean rounds: toward zero (ONNX), half up (floor(mean + 1/2), Deeploy's
for a power-of-two count) or half away from zero (Deeploy's otherwise)."""


@irdl_op_definition
class ReduceMeanOp(ReduceOp):
    """The mean over `axes`; an integer mean rounds as `rounding` says (default toward zero)."""

    name = "tiler.reduce_mean"

    rounding = opt_prop_def(StringAttr)

    @property
    def rounding_mode(self) -> str:
        return self.rounding.data if self.rounding is not None else "toward_zero"

    def verify_(self) -> None:
        if self.rounding_mode not in MEAN_ROUNDINGS:
            raise VerifyException(f"rounding must be one of {', '.join(MEAN_ROUNDINGS)}, got \"{self.rounding_mode}\"")
        super().verify_()

    @property
    def float_mean(self) -> bool:
        return not np.issubdtype(element_dtype(self.inputs[0].type.element_type), np.integer)

    @property
    def combine(self) -> str | None:
        # a float mean is a sum of x / count: its partial sums over tiles add up (an
        # integer mean rounds once, at the end, so it stays whole)
        return "sum" if self.float_mean else None

    def compute_tile(self, inputs: Sequence[np.ndarray], box: Sequence[tuple[int, int]]) -> np.ndarray | None:
        if not self.float_mean:
            return None
        axes = tuple(self.axes.get_values())
        count = math.prod(self.input_shapes[0][a] for a in axes)
        return mean_part(inputs[0], axes, count, bool(self.keepdims.value.data))

    def compute(self, x: np.ndarray) -> np.ndarray:
        axes = self.axes.get_values()
        keep = bool(self.keepdims.value.data)
        mode = self.rounding_mode
        if np.issubdtype(x.dtype, np.integer) and mode != "toward_zero":
            count = math.prod(x.shape[a] for a in axes)
            total = x.astype(np.int64).sum(axis=axes, keepdims=keep)
            if mode == "half_up":
                mean = (total + count // 2) // count
            else:
                shifted = total + np.where(total >= 0, 1, -1) * (count // 2)
                mean = np.where(shifted < 0, -((-shifted) // count), shifted // count)
            return np.asarray(mean).astype(x.dtype)
        mean = x.astype(np.float64).mean(axis=axes, keepdims=keep)
        if np.issubdtype(x.dtype, np.integer):
            mean = np.trunc(mean)
        return np.asarray(mean).astype(x.dtype)


@irdl_op_definition
class ReduceSumOp(ReduceOp):
    """The sum over `axes`, in the input's element type (a split reduction adds partial sums)."""

    name = "tiler.reduce_sum"
    COMBINE: ClassVar = "sum"

    def compute(self, x: np.ndarray) -> np.ndarray:
        axes = self.axes.get_values()
        keep = bool(self.keepdims.value.data)
        return np.asarray(x.sum(axis=axes, keepdims=keep)).astype(x.dtype)


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
        dims, x_access, y_access = reduction_space(
            self.input_shapes[0], [self.axis_index], bool(self.keepdims.value.data), split=False
        )
        # the scratch: the running best value per output element
        return TilingDescription(dims, (x_access,), (y_access,), scratch=(y_access,))

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
