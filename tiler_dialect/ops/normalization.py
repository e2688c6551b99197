"""Normalizations: Softmax (opset-13 single-axis form), LayerNormalization,
RMSNormalization, Instance- and GroupNormalization, and BatchNormalization (inference).
The normalized axes must stay whole inside a tile."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import f32, Float32Type, FloatAttr, I64, i64, IntegerAttr
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, prop_def
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.ops.base import TilerOp
from tiler_dialect.ops.shapes import Shape, normalize_axis
from tiler_dialect.tiling import (
    IterDim,
    OperandAccess,
    TilingDescription,
    d,
    dims_map,
)


def identity_description(
    shape: Shape, whole: set[int], params: Sequence[Sequence]
) -> TilingDescription:
    """Output indexed like input 0; `whole` dims cannot be tiled; `params` are the
    operand-dim -> iteration-dim maps of the other inputs."""
    n = len(shape)
    dims = tuple(IterDim(f"d{i}", s, tileable=i not in whole) for i, s in enumerate(shape))
    ident = dims_map(n, [d(i) for i in range(n)])
    inputs = [OperandAccess(ident)] + [OperandAccess(dims_map(n, p)) for p in params]
    return TilingDescription(dims, tuple(inputs), (OperandAccess(ident),))


def _per_row(shape: Shape, axes: set[int]) -> OperandAccess:
    """One value per row: the dims outside `axes` (the lowering's max, sum, mean, variance)."""
    n = len(shape)
    return OperandAccess(dims_map(n, [d(i) for i in range(n) if i not in axes]))


class AlongAxis:
    """An op along its `axis` (negative from the end): the shape is the input's."""

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        normalize_axis(self.axis.value.data, len(shapes[0]))  # type: ignore[attr-defined]
        return shapes[0]

    @property
    def axis_index(self) -> int:
        return normalize_axis(self.axis.value.data, len(self.output_shape))  # type: ignore[attr-defined]


@irdl_op_definition
class SoftmaxOp(AlongAxis, TilerOp):
    """exp(x) / sum(exp(x)) along `axis` (the opset-13 definition; older opsets' 2-D
    coercion is expressed with reshapes on import)."""

    name = "tiler.softmax"
    FLOAT_ONLY: ClassVar = True

    axis = prop_def(IntegerAttr[I64], default_value=IntegerAttr(-1, i64))

    def tiling(self) -> TilingDescription:
        desc = identity_description(self.output_shape, {self.axis_index}, [])
        return replace(desc, scratch=(_per_row(self.output_shape, {self.axis_index}),))

    def compute(self, x: np.ndarray) -> np.ndarray:
        axis = self.axis_index
        shifted = x - x.max(axis=axis, keepdims=True)
        e = np.exp(shifted)
        return (e / e.sum(axis=axis, keepdims=True)).astype(x.dtype, copy=False)


class RowNormalization(TilerOp):
    """A normalization over each row of the dims from `first_normalized_axis` (a property
    each normalization defines) on, kept whole in a tile, with per-element `scale` and optional `bias` inputs: y = (x - mean)
    / sqrt(var + epsilon) * scale + bias, or, not `CENTERED`, y = x / sqrt(mean(x^2) +
    epsilon) * scale. Scale and bias broadcast against x aligned at its end, or, with
    `PARAMS_AFTER_BATCH`, at its dim 1. The lowering (passes/lowering/steps.py) computes
    the row statistics in scratch."""

    NUM_INPUTS: ClassVar = (2, 3)
    FLOAT_ONLY: ClassVar = True
    CENTERED: ClassVar = True
    PARAMS_AFTER_BATCH: ClassVar = False

    epsilon = prop_def(FloatAttr[Float32Type], default_value=FloatAttr(1e-5, f32))

    @property
    def normalized_axes(self) -> set[int]:
        return set(range(self.first_normalized_axis, len(self.output_shape)))

    def _param_offset(self, rank: int) -> int:
        """The dim of x a scale or bias of this rank starts at."""
        return 1 if self.PARAMS_AFTER_BATCH else len(self.output_shape) - rank

    def tiling(self) -> TilingDescription:
        x = self.output_shape
        params = []
        for s in self.input_shapes[1:]:
            offset = self._param_offset(len(s))
            params.append([0 if size == 1 and x[offset + i] != 1 else d(offset + i) for i, size in enumerate(s)])
        axes = self.normalized_axes
        return replace(identity_description(x, axes, params), scratch=(_per_row(x, axes),))

    def _param(self, p: np.ndarray) -> np.ndarray:
        """A scale or bias shaped to broadcast against x (numpy's rules)."""
        trailing = len(self.output_shape) - self._param_offset(p.ndim) - p.ndim
        return p.astype(np.float64).reshape(p.shape + (1,) * trailing)

    def compute(self, x: np.ndarray, scale: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
        axes = tuple(sorted(self.normalized_axes))
        eps = self.epsilon.value.data
        xf = x.astype(np.float64)
        if self.CENTERED:
            xf = xf - xf.mean(axis=axes, keepdims=True)
        y = xf / np.sqrt((xf * xf).mean(axis=axes, keepdims=True) + eps) * self._param(scale)
        if bias is not None:
            y = y + self._param(bias)
        return y.astype(x.dtype)


class _TrailingNormalization(RowNormalization):
    """Normalized over the dims from `axis` on; scale and bias broadcast to them (numpy's
    rules, aligned at the end)."""

    axis = prop_def(IntegerAttr[I64], default_value=IntegerAttr(-1, i64))

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x = shapes[0]
        axis = normalize_axis(self.axis.value.data, len(x))
        normalized = x[axis:]
        for name, s in zip(("scale", "bias"), shapes[1:]):
            if len(s) > len(normalized) or any(
                a not in (1, b) for a, b in zip(s[::-1], normalized[::-1])
            ):
                raise VerifyException(
                    f"{name} of shape {list(s)} does not broadcast to the normalized "
                    f"shape {list(normalized)}"
                )
        return x

    @property
    def axis_index(self) -> int:
        return normalize_axis(self.axis.value.data, len(self.output_shape))

    @property
    def first_normalized_axis(self) -> int:
        return self.axis_index


@irdl_op_definition
class LayerNormOp(_TrailingNormalization):
    """(x - mean) / sqrt(var + epsilon) * scale + bias over the dims from `axis` on."""

    name = "tiler.layer_norm"


@irdl_op_definition
class RMSNormOp(_TrailingNormalization):
    """x / sqrt(mean(x^2) + epsilon) * scale over the dims from `axis` on (ONNX's
    RMSNormalization; Deeploy's RMSNorm is the last axis)."""

    name = "tiler.rms_norm"
    NUM_INPUTS: ClassVar = (2, 2)
    CENTERED: ClassVar = False


@irdl_op_definition
class InstanceNormOp(RowNormalization):
    """(x - mean) / sqrt(var + epsilon) * scale + bias over the spatial dims (2, 3, ...)
    of each (n, c) of x (N, C, *S). Scale and bias are indexed by the leading dims after
    N: shape [C] for InstanceNormalization; GroupNormalization is this op on x viewed as
    (N, G, C/G, *S), normalized per (n, g), its per-channel scale viewed as [G, C/G]."""

    name = "tiler.instance_norm"
    NUM_INPUTS: ClassVar = (3, 3)

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x = shapes[0]
        if len(x) < 3:
            raise VerifyException(f"input must be (N, C, spatial...), got rank {len(x)}")
        for name, s in zip(("scale", "bias"), shapes[1:]):
            if not 1 <= len(s) < len(x) or any(a not in (1, b) for a, b in zip(s, x[1:])):
                raise VerifyException(
                    f"{name} of shape {list(s)} does not index the leading dims {list(x[1:])} after N"
                )
        return x

    PARAMS_AFTER_BATCH: ClassVar = True

    @property
    def first_normalized_axis(self) -> int:
        return 2


@irdl_op_definition
class BatchNormOp(TilerOp):
    """Inference batch norm: (x - mean) / sqrt(var + epsilon) * scale + bias, per channel
    (dim 1). Inputs: X, scale, bias, mean, var."""

    name = "tiler.batch_norm"
    NUM_INPUTS: ClassVar = (5, 5)
    FLOAT_ONLY: ClassVar = True

    epsilon = prop_def(FloatAttr[Float32Type], default_value=FloatAttr(1e-5, f32))

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x = shapes[0]
        if len(x) < 2:
            raise VerifyException(f"input must be (N, C, ...), got rank {len(x)}")
        for name, s in zip(("scale", "bias", "mean", "var"), shapes[1:]):
            if s != (x[1],):
                raise VerifyException(f"{name} must have shape [{x[1]}], got {list(s)}")
        return x

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        # ONNX lets mean/var have their own float type; the result is X's
        return super().infer_element_type(element_types[:3])

    def tiling(self) -> TilingDescription:
        return identity_description(self.output_shape, set(), [[d(1)]] * 4)

    def compute(self, x, scale, bias, mean, var) -> np.ndarray:
        eps = self.epsilon.value.data
        shape = (1, -1) + (1,) * (x.ndim - 2)
        f = lambda a: a.astype(np.float64).reshape(shape)  # noqa: E731
        y = (x.astype(np.float64) - f(mean)) / np.sqrt(f(var) + eps) * f(scale) + f(bias)
        return y.astype(x.dtype)
