"""Windowed ops over N-d spatial layouts (N, C, *spatial): Conv, MaxPool, AveragePool,
GlobalAveragePool. ONNX semantics; `auto_pad` is resolved into explicit `pads` on import.

`pads` lists the begin pads of every spatial dim, then the end pads (ONNX order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from xdsl.dialects.builtin import BoolAttr, DenseArrayBase, I64, i64, IntegerAttr
from xdsl.irdl import irdl_op_definition, prop_def
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.ops.base import TilerOp
from tiler_dialect.ops.reduction import mean_part
from tiler_dialect.ops.shapes import Shape
from tiler_dialect.tiling import (
    IterDim,
    IterKind,
    OperandAccess,
    OutOfBounds,
    TilingDescription,
    border,
    d,
    dims_map,
)


@dataclass(frozen=True)
class Window:
    """Geometry of a sliding window over the spatial dims."""

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads: tuple[int, ...]  # begins then ends
    ceil_mode: bool = False

    @property
    def rank(self) -> int:
        return len(self.kernel)

    @property
    def begins(self) -> tuple[int, ...]:
        return self.pads[: self.rank]

    @property
    def ends(self) -> tuple[int, ...]:
        return self.pads[self.rank :]

    def span(self, i: int) -> int:
        return (self.kernel[i] - 1) * self.dilations[i] + 1

    def check(self, spatial: Sequence[int]) -> None:
        r = self.rank
        if len(spatial) != r:
            raise VerifyException(f"kernel has {r} spatial dims, the input has {len(spatial)}")
        for name, values, n in (
            ("strides", self.strides, r),
            ("dilations", self.dilations, r),
            ("pads", self.pads, 2 * r),
        ):
            if len(values) != n:
                raise VerifyException(f"{name} needs {n} values, got {len(values)}")
        if any(k < 1 for k in self.kernel):
            raise VerifyException(f"kernel sizes must be positive, got {list(self.kernel)}")
        if any(s < 1 for s in self.strides):
            raise VerifyException(f"strides must be positive, got {list(self.strides)}")
        if any(x < 1 for x in self.dilations):
            raise VerifyException(f"dilations must be positive, got {list(self.dilations)}")
        if any(p < 0 for p in self.pads):
            raise VerifyException(f"pads must not be negative, got {list(self.pads)}")

    def output_spatial(self, spatial: Sequence[int]) -> tuple[int, ...]:
        self.check(spatial)
        out = []
        for i, size in enumerate(spatial):
            room = size + self.begins[i] + self.ends[i] - self.span(i)
            if room < 0:
                raise VerifyException(
                    f"window of extent {self.span(i)} does not fit spatial dim {i} of size "
                    f"{size} with pads {self.begins[i]}+{self.ends[i]}"
                )
            if self.ceil_mode:
                o = -(-room // self.strides[i]) + 1
                # the last window must start inside the input or its begin padding
                if (o - 1) * self.strides[i] >= size + self.begins[i]:
                    o -= 1
            else:
                o = room // self.strides[i] + 1
            out.append(o)
        return tuple(out)

    def windows(self, x: np.ndarray, out: Sequence[int], pad_value: float) -> np.ndarray:
        """View (N, C, *out, *kernel) of `x` padded with `pad_value` (and, in ceil mode,
        past its end padding as far as the last window reaches)."""
        widths = [(0, 0), (0, 0)]
        for i, size in enumerate(x.shape[2:]):
            reach = (out[i] - 1) * self.strides[i] + self.span(i)
            widths.append((self.begins[i], max(self.ends[i], reach - size - self.begins[i])))
        xp = np.pad(x, widths, constant_values=pad_value)
        spans = [self.span(i) for i in range(self.rank)]
        v = sliding_window_view(xp, spans, axis=tuple(range(2, 2 + self.rank)))
        index = (
            (slice(None), slice(None))
            + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out, self.strides))
            + tuple(slice(None, None, dl) for dl in self.dilations)
        )
        return v[index]


def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, win: Window, group: int, out: Sequence[int]) -> np.ndarray:
    v = win.windows(x, out, 0.0)  # (N, C, *O, *K)
    n, c = x.shape[:2]
    m = w.shape[0]
    v = v.reshape(n, group, c // group, *v.shape[2:])
    wg = w.reshape(group, m // group, *w.shape[1:])
    o_idx, k_idx = "pqrstu"[: win.rank], "vwxyz"[: win.rank]
    y = np.einsum(f"ngc{o_idx}{k_idx},gmc{k_idx}->ngm{o_idx}", v, wg, optimize=True).reshape(n, m, *out)
    if b is not None:
        y = y + b.reshape(m, *([1] * win.rank))
    return y.astype(x.dtype, copy=False)


def max_pool(x: np.ndarray, win: Window, out: Sequence[int]) -> np.ndarray:
    low = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    v = win.windows(x, out, low)
    return v.max(axis=tuple(range(-win.rank, 0))).astype(x.dtype, copy=False)


def average_pool(x: np.ndarray, win: Window, out: Sequence[int], include_pad: bool) -> np.ndarray:
    r = win.rank
    axes = tuple(range(-r, 0))
    sums = win.windows(x.astype(np.float64), out, 0.0).sum(axis=axes)
    # count, per output position, the window points that are data (or border padding)
    if include_pad:
        mask = np.ones((1, 1, *(s + b + e for s, b, e in zip(x.shape[2:], win.begins, win.ends))))
        inner = Window(win.kernel, win.strides, win.dilations, (0,) * (2 * r), win.ceil_mode)
        counts = inner.windows(mask, out, 0.0).sum(axis=axes)
    else:
        counts = win.windows(np.ones((1, 1, *x.shape[2:])), out, 0.0).sum(axis=axes)
    return (sums / counts).astype(x.dtype, copy=False)


def tile_window(op: TilerOp, win: Window, box: Sequence[tuple[int, int]]) -> tuple[Window, tuple[int, ...]]:
    """The window a tile computes with on its input region: the border padding of the
    tile (where its region leaves the input), no ceil mode; and the tile's output extent."""
    desc = op.tiling()  # type: ignore[attr-defined]
    region = desc.region(desc.inputs[0], box)
    spatial = op.input_shapes[0][2:]
    widths = [border(lo, hi, size) for (lo, hi), size in zip(region[2:], spatial)]
    begins, ends = [b for b, _ in widths], [e for _, e in widths]
    tile = Window(win.kernel, win.strides, win.dilations, (*begins, *ends), False)
    out = tuple(hi - lo for lo, hi in desc.region(desc.outputs[0], box)[2:])
    return tile, out


def _window_of(op: ConvBase | PoolOp, kernel: Sequence[int]) -> Window:
    """The op's window properties (pools have a ceil mode; convolutions do not)."""
    ceil_mode = getattr(op, "ceil_mode", None)
    return Window(
        kernel=tuple(kernel),
        strides=op.strides.get_values(),
        dilations=op.dilations.get_values(),
        pads=op.pads.get_values(),
        ceil_mode=bool(ceil_mode.value.data) if ceil_mode is not None else False,
    )


def _check_nchw(shape: Shape, what: str = "input") -> None:
    if len(shape) < 3:
        raise VerifyException(
            f"{what} must be (N, C, spatial...) with at least one spatial dim, got rank {len(shape)}"
        )


def _spatial_maps(
    num_dims: int, first_out: int, first_k: int, window: Window
) -> list:
    """o_i * stride_i + k_i * dilation_i - pad_begin_i for each spatial dim."""
    return [
        d(first_out + i) * window.strides[i]
        + d(first_k + i) * window.dilations[i]
        + (-window.begins[i])
        for i in range(window.rank)
    ]


class ConvBase(TilerOp):
    """A convolution's shapes, window and tiling (the float and integer ops share them)."""

    NUM_INPUTS: ClassVar = (2, 3)
    FLOAT_ONLY: ClassVar = True
    MULTIPLY_ACCUMULATES: ClassVar = True

    strides = prop_def(DenseArrayBase[I64])
    pads = prop_def(DenseArrayBase[I64])
    dilations = prop_def(DenseArrayBase[I64])
    group = prop_def(IntegerAttr[I64], default_value=IntegerAttr(1, i64))

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x, w = shapes[0], shapes[1]
        _check_nchw(x)
        if len(w) != len(x):
            raise VerifyException(f"weight rank {len(w)} differs from input rank {len(x)}")
        group = self.group.value.data
        if group < 1:
            raise VerifyException(f"group must be positive, got {group}")
        channels, out_channels = x[1], w[0]
        if channels != w[1] * group:
            raise VerifyException(
                f"input has {channels} channels but weight expects {w[1]} x group {group}"
            )
        if out_channels % group:
            raise VerifyException(f"{out_channels} output channels do not divide into {group} groups")
        if len(shapes) == 3 and shapes[2] != (out_channels,):
            raise VerifyException(f"bias must have shape [{out_channels}], got {list(shapes[2])}")
        window = _window_of(self, w[2:])
        return (x[0], out_channels, *window.output_spatial(x[2:]))


    @property
    def window(self) -> Window:
        return _window_of(self, self.input_shapes[1][2:])

    def tiling(self) -> TilingDescription:
        x, w = self.input_shapes[0], self.input_shapes[1]
        y = self.output_shape
        win = self.window
        group = self.group.value.data
        cin, cout = w[1], w[0] // group
        r = win.rank
        # n, g, m (out channel in group), o_0.., c (in channel in group), k_0..
        dims = [
            IterDim("n", x[0]),
            IterDim("g", group),
            IterDim("m", cout),
            *(IterDim(f"o{i}", y[2 + i]) for i in range(r)),
            IterDim("c", cin, IterKind.REDUCTION),
            *(IterDim(f"k{i}", w[2 + i], IterKind.WINDOW, tileable=False) for i in range(r)),
        ]
        nd = len(dims)
        n, g, m, c = d(0), d(1), d(2), d(3 + r)
        ks = [d(4 + r + i) for i in range(r)]
        inputs = [
            OperandAccess(
                dims_map(nd, [n, g * cin + c, *_spatial_maps(nd, 3, 4 + r, win)]),
                OutOfBounds.PAD,
                0.0,
            ),
            OperandAccess(dims_map(nd, [g * cout + m, c, *ks])),
        ]
        if len(self.inputs) == 3:
            inputs.append(OperandAccess(dims_map(nd, [g * cout + m])))
        out = OperandAccess(dims_map(nd, [n, g * cout + m, *(d(3 + i) for i in range(r))]))
        return TilingDescription(tuple(dims), tuple(inputs), (out,), combine="sum")

    def compute(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        return conv(x, w, b, self.window, self.group.value.data, self.output_shape[2:])

    def compute_tile(self, inputs: Sequence[np.ndarray], box: Sequence[tuple[int, int]]) -> np.ndarray | None:
        """A tile on its own regions: a convolution over the tile's groups with the tile's
        border padding. None when the tile's channels are not whole groups."""
        r = self.window.rank
        (g0, g1), m_box, c_box = box[1], box[2], box[3 + r]
        w_shape = self.input_shapes[1]
        groups = g1 - g0
        if groups > 1 and (m_box != (0, w_shape[0] // self.group.value.data) or c_box != (0, w_shape[1])):
            return None
        window, out = tile_window(self, self.window, box)
        x, w, *b = inputs
        return conv(x, w, b[0] if b else None, window, groups, out)


@irdl_op_definition
class ConvOp(ConvBase):
    """ONNX Conv: inputs X (N, C, *S), W (M, C/group, *K) and optional bias B (M)."""

    name = "tiler.conv"


class PoolOp(TilerOp):
    NUM_INPUTS: ClassVar = (1, 1)

    kernel_shape = prop_def(DenseArrayBase[I64])
    strides = prop_def(DenseArrayBase[I64])
    pads = prop_def(DenseArrayBase[I64])
    dilations = prop_def(DenseArrayBase[I64])
    ceil_mode = prop_def(BoolAttr, default_value=BoolAttr.from_bool(False))

    PAD_VALUE: ClassVar[float]

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x = shapes[0]
        _check_nchw(x)
        window = _window_of(self, self.kernel_shape.get_values())
        return (x[0], x[1], *window.output_spatial(x[2:]))

    @property
    def window(self) -> Window:
        return _window_of(self, self.kernel_shape.get_values())

    def tiling(self) -> TilingDescription:
        x = self.input_shapes[0]
        y = self.output_shape
        win = self.window
        r = win.rank
        dims = [
            IterDim("n", x[0]),
            IterDim("c", x[1]),
            *(IterDim(f"o{i}", y[2 + i]) for i in range(r)),
            *(IterDim(f"k{i}", win.kernel[i], IterKind.WINDOW, tileable=False) for i in range(r)),
        ]
        nd = len(dims)
        x_map = dims_map(nd, [d(0), d(1), *_spatial_maps(nd, 2, 2 + r, win)])
        y_map = dims_map(nd, [d(0), d(1), *(d(2 + i) for i in range(r))])
        return TilingDescription(
            tuple(dims),
            (OperandAccess(x_map, OutOfBounds.PAD, self.PAD_VALUE),),
            (OperandAccess(y_map),),
        )


@irdl_op_definition
class MaxPoolOp(PoolOp):
    name = "tiler.max_pool"
    PAD_VALUE: ClassVar = float("-inf")

    def compute(self, x: np.ndarray) -> np.ndarray:
        return max_pool(x, self.window, self.output_shape[2:])

    def compute_tile(self, inputs: Sequence[np.ndarray], box: Sequence[tuple[int, int]]) -> np.ndarray:
        """A tile on its region with the tile's border padding (padding never wins a max)."""
        window, out = tile_window(self, self.window, box)
        return max_pool(inputs[0], window, out)


@irdl_op_definition
class AveragePoolOp(PoolOp):
    """Average over each window; `count_include_pad` counts border padding in the divisor
    (never the extra reach of ceil mode)."""

    name = "tiler.average_pool"
    FLOAT_ONLY: ClassVar = True
    PAD_VALUE: ClassVar = 0.0

    count_include_pad = prop_def(BoolAttr, default_value=BoolAttr.from_bool(False))


    def compute(self, x: np.ndarray) -> np.ndarray:
        include = bool(self.count_include_pad.value.data)
        return average_pool(x, self.window, self.output_shape[2:], include)

    def compute_tile(self, inputs: Sequence[np.ndarray], box: Sequence[tuple[int, int]]) -> np.ndarray | None:
        """A tile on its region with the tile's border padding. When padding counts in the
        divisor, a tile reaching past the end padding (ceil mode) cannot tell counted
        padding from the uncounted rest: None."""
        include = bool(self.count_include_pad.value.data)
        window, out = tile_window(self, self.window, box)
        if include and any(e > pe for e, pe in zip(window.ends, self.window.ends)):
            return None
        return average_pool(inputs[0], window, out, include)


class GlobalPoolBase(TilerOp):
    """A reduction over all spatial dims: (N, C, *S) -> (N, C, 1, ...)."""

    NUM_INPUTS: ClassVar = (1, 1)
    COMBINE: ClassVar[str | None] = None
    """How partial results over spatial tiles combine; None: the spatial dims stay whole."""

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        x = shapes[0]
        _check_nchw(x)
        return (x[0], x[1], *([1] * (len(x) - 2)))


    def tiling(self) -> TilingDescription:
        x = self.input_shapes[0]
        r = len(x) - 2
        dims = (
            IterDim("n", x[0]),
            IterDim("c", x[1]),
            *(IterDim(f"s{i}", x[2 + i], IterKind.REDUCTION) for i in range(r)),
        )
        nd = len(dims)
        return TilingDescription(
            dims,
            (OperandAccess(dims_map(nd, [d(i) for i in range(nd)])),),
            (OperandAccess(dims_map(nd, [d(0), d(1), *([0] * r)])),),
            combine=self.COMBINE,
        )


@irdl_op_definition
class GlobalAveragePoolOp(GlobalPoolBase):
    """Mean over all spatial dims: (N, C, *S) -> (N, C, 1, ...)."""

    name = "tiler.global_average_pool"
    FLOAT_ONLY: ClassVar = True

    COMBINE: ClassVar = "sum"  # a sum of x / count: partial sums over spatial tiles add up

    def compute_tile(self, inputs: Sequence[np.ndarray], box: Sequence[tuple[int, int]]) -> np.ndarray:
        x = inputs[0]
        return mean_part(x, range(2, x.ndim), math.prod(self.input_shapes[0][2:]), True)

    def compute(self, x: np.ndarray) -> np.ndarray:
        axes = tuple(range(2, x.ndim))
        return x.astype(np.float64).mean(axis=axes, keepdims=True).astype(x.dtype)
