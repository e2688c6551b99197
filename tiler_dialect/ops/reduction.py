"""Reductions beyond the sum and mean (data_movement.py's ReduceOp): maximum, minimum,
product, and the sums of absolute values and of squares, over `axes`.

The sums split across tiles (their partial results add); the others stay whole along
the reduced axes, as a pooling window does. ONNX's L2 norm, log-sum and log-sum-exp
import as these followed by elementwise ops.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from xdsl.irdl import irdl_op_definition

from tiler_dialect.ops.data_movement import ReduceOp


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


REDUCTION_OPS = (ReduceMaxOp, ReduceMinOp, ReduceProdOp, ReduceL1Op, ReduceSumSquareOp)
