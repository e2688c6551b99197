"""Converters of ONNX's quantization ops: QuantizeLinear and DequantizeLinear, and the
integer convolutions and matmuls (ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul).

A per-axis scale and zero point (1-D, along `axis`) become views that broadcast along the
data's axis; a per-tensor one (a scalar or one element) broadcasts everywhere. A missing
zero point is 0 of the output type: `output_dtype` (opset 21) or uint8 for QuantizeLinear,
the data's type for DequantizeLinear.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx

from tiler_dialect.ops import (
    AveragePoolOp,
    ConcatOp,
    ConvIntegerOp,
    DequantizeLinearOp,
    MatMulIntegerOp,
    QLinearConvOp,
    QLinearAddOp,
    QLinearGlobalAveragePoolOp,
    QLinearMatMulOp,
    QLinearMulOp,
    QLinearSoftmaxOp,
    QuantizeLinearOp,
    RequantizeLinearOp,
    TransposeOp,
)
from tiler_dialect.ops.properties import bool_attr, float_attr, int_attr, ints_attr
from tiler_dialect.ops.qlinear import global_pool_multiplier, qlinear_add_parameters
from tiler_tools.onnx_frontend.converters import _pool_props, conv_props, converter
from tiler_tools.onnx_frontend.dtypes import numpy_dtype_of_onnx
from tiler_tools.onnx_frontend.node import Const, Node, Value, value_dtype, value_shape


def _along_axis(n: Node, value: Value, what: str) -> Value:
    """`value` (scale or zero point) shaped to broadcast against the data."""
    rank = len(n.shape(0))
    shape = value_shape(value)
    if len(shape) == 0 or shape == (1,):
        return n.emit_view(value, (1,) * rank) if rank else n.emit_view(value, ())
    if len(shape) != 1:
        raise n.fail(f"{what} of shape {list(shape)}: only per-tensor and per-axis (1-D) quantization is supported")
    axis = int(n.attr("axis", 1))  # type: ignore[arg-type]
    if not -rank <= axis < rank:
        raise n.fail(f"axis {axis} is out of range for rank {rank}")
    axis %= rank
    if shape[0] != n.shape(0)[axis]:
        raise n.fail(f"{what} has {shape[0]} values for axis {axis} of size {n.shape(0)[axis]}")
    return n.emit_view(value, tuple(shape[0] if d == axis else 1 for d in range(rank)))


def _refuse_blocks(n: Node) -> None:
    if int(n.attr("block_size", 0)):  # type: ignore[arg-type]
        raise n.fail("blocked quantization (block_size) is not supported")


@converter("QuantizeLinear")
def _quantize_linear(n: Node) -> Sequence[Value]:
    _refuse_blocks(n)
    if n.has_input(2):
        zero_point = n.input(2)
    else:
        code = int(n.attr("output_dtype", 0)) or onnx.TensorProto.UINT8  # type: ignore[arg-type]
        dtype = numpy_dtype_of_onnx(code, f"{n.label}: output_dtype")
        zero_point = Const(np.zeros((), dtype), n.proto.output[0] + "_zero_point")
    inputs = [n.input(0), _along_axis(n, n.input(1), "the scale"), _along_axis(n, zero_point, "the zero point")]
    return [n.emit(QuantizeLinearOp, inputs)]


@converter("DequantizeLinear")
def _dequantize_linear(n: Node) -> Sequence[Value]:
    _refuse_blocks(n)
    zero_point = _zero_point(n, 2, like=0)
    inputs = [n.input(0), _along_axis(n, n.input(1), "the scale"), _along_axis(n, zero_point, "the zero point")]
    return [n.emit(DequantizeLinearOp, inputs)]


# -- integer convolution and matmul ------------------------------------------------------


def _zero_point(n: Node, i: int, like: int) -> Value:
    """Input i, or 0 of input `like`'s type when it is absent."""
    if n.has_input(i):
        return n.input(i)
    return Const(np.zeros((), value_dtype(n.input(like))), f"{n.proto.output[0]}_zero_point{i}")


def _scalar_or_vector(n: Node, value: Value, length: int, what: str, each: str = "output channel") -> Value:
    """A per-tensor value as a scalar, one per channel (or column) as [length]."""
    shape = value_shape(value)
    if int(np.prod(shape, dtype=np.int64)) == 1:
        return n.emit_view(value, ())
    if shape != (length,):
        raise n.fail(f"{what} of shape {list(shape)}: expected a scalar or {length} values, one per {each}")
    return value


def _scalar(n: Node, value: Value, what: str) -> Value:
    shape = value_shape(value)
    if int(np.prod(shape, dtype=np.int64)) != 1:
        raise n.fail(f"{what} must be a scalar, got shape {list(shape)}")
    return n.emit_view(value, ())


def _multiplier(n: Node, x_scale: int, w_scale: int, y_scale: int, what: str) -> np.ndarray:
    """x_scale * w_scale / y_scale in float32, in that order (onnxruntime's CPU kernels)."""
    xs, ws, ys = (n.const_input(i, f"{what} scale").astype(np.float32) for i in (x_scale, w_scale, y_scale))
    return (xs.reshape(-1)[0] * ws / ys.reshape(-1)[0]).astype(np.float32)


@converter("ConvInteger")
def _conv_integer(n: Node) -> Sequence[Value]:
    props = conv_props(n)
    channels = n.shape(1)[0]
    inputs = [
        n.input(0),
        n.input(1),
        _scalar(n, _zero_point(n, 2, 0), "x_zero_point"),
        _scalar_or_vector(n, _zero_point(n, 3, 1), channels, "w_zero_point"),
    ]
    return [n.emit(ConvIntegerOp, inputs, props)]


@converter("QLinearConv", static=(1, 2, 4, 5, 6, 7))
def _qlinear_conv(n: Node) -> Sequence[Value]:
    props = conv_props(n, weight=3)
    channels = n.shape(3)[0]
    multiplier = _multiplier(n, 1, 4, 6, "QLinearConv")
    inputs = [
        n.input(0),
        n.input(3),
        _scalar(n, n.input(2), "x_zero_point"),
        _scalar_or_vector(n, n.input(5), channels, "w_zero_point"),
        _scalar_or_vector(n, Const(multiplier, f"{n.proto.output[0]}_multiplier"), channels, "w_scale"),
        _scalar(n, n.input(7), "y_zero_point"),
    ]
    if n.has_input(8):
        inputs.append(n.input(8))
    return [n.emit(QLinearConvOp, inputs, props)]


def _per_row(n: Node, value: Value, rows: int, what: str) -> Value:
    """A's zero point: a scalar, or one per row as [rows, 1] (broadcast against the output)."""
    shape = value_shape(value)
    if int(np.prod(shape, dtype=np.int64)) == 1:
        return n.emit_view(value, ())
    if shape != (rows,):
        raise n.fail(f"{what} of shape {list(shape)}: expected a scalar or {rows} values, one per row")
    return n.emit_view(value, (rows, 1))


def _matmul_shapes(n: Node, a: int, b: int) -> tuple[int, int]:
    sa, sb = n.shape(a), n.shape(b)
    if len(sa) < 2 or len(sb) < 2:
        raise n.fail(f"operands of rank {len(sa)} and {len(sb)}: only rank 2 or more is supported")
    return sa[-2], sb[-1]


@converter("MatMulInteger")
def _matmul_integer(n: Node) -> Sequence[Value]:
    rows, columns = _matmul_shapes(n, 0, 1)
    inputs = [
        n.input(0),
        n.input(1),
        _per_row(n, _zero_point(n, 2, 0), rows, "a_zero_point"),
        _scalar_or_vector(n, _zero_point(n, 3, 1), columns, "b_zero_point", "column"),
    ]
    return [n.emit(MatMulIntegerOp, inputs)]


@converter("QLinearMatMul", static=(1, 2, 4, 5, 6, 7))
def _qlinear_matmul(n: Node) -> Sequence[Value]:
    rows, columns = _matmul_shapes(n, 0, 3)
    if int(np.prod(value_shape(n.input(1)), dtype=np.int64)) != 1:
        raise n.fail("a per-row a_scale is not supported")
    multiplier = _multiplier(n, 1, 4, 6, "QLinearMatMul")
    inputs = [
        n.input(0),
        n.input(3),
        _per_row(n, n.input(2), rows, "a_zero_point"),
        _scalar_or_vector(n, n.input(5), columns, "b_zero_point", "column"),
        _scalar_or_vector(n, Const(multiplier, f"{n.proto.output[0]}_multiplier"), columns, "b_scale", "column"),
        _scalar(n, n.input(7), "y_zero_point"),
    ]
    return [n.emit(QLinearMatMulOp, inputs)]


@converter("QGemm", domain="com.microsoft", static=(1, 2, 3, 4, 5, 7, 8))
def _qgemm(n: Node) -> Sequence[Value]:
    """com.microsoft QGemm with a quantized output (y_scale given) and alpha 1: a
    QLinearMatMul with a bias. A transposed B must be a constant (it is transposed here);
    a transposed A is an 8-bit transpose before it."""
    a: Value = n.input(0)
    if int(n.attr("transA", 0)):  # type: ignore[arg-type]
        if len(n.shape(0)) != 2:
            raise n.fail(f"A must be 2-D, got shape {list(n.shape(0))}")
        a = n.emit(TransposeOp, [a], {"perm": ints_attr([1, 0])})
    if float(n.attr("alpha", 1.0)) != 1.0:  # type: ignore[arg-type]
        raise n.fail("alpha other than 1 is not supported")
    if not n.has_input(7):
        raise n.fail("a float output (no y_scale) is not supported")
    b: Value = n.input(3)
    if int(n.attr("transB", 0)):  # type: ignore[arg-type]
        weights = n.const_input(3, "B (transposed)")
        b = Const(np.ascontiguousarray(weights.T), n.proto.input[3] + "_transposed")
    rows, columns = value_shape(a)[-2], value_shape(b)[-1]
    multiplier = _multiplier(n, 1, 4, 7, "QGemm")
    inputs = [
        a,
        b,
        _per_row(n, n.input(2), rows, "a_zero_point"),
        _scalar_or_vector(n, n.input(5), columns, "b_zero_point", "column"),
        _scalar_or_vector(n, Const(multiplier, f"{n.proto.output[0]}_multiplier"), columns, "b_scale", "column"),
        _scalar(n, n.input(8), "y_zero_point") if n.has_input(8) else Const(np.zeros((), np.uint8), "y_zero_point"),
    ]
    if n.has_input(6):
        bias = n.input(6)
        if value_shape(bias) not in ((columns,), (1, columns)):
            raise n.fail(f"C of shape {list(value_shape(bias))}: only a bias of one value per column is supported")
        inputs.append(n.emit_view(bias, (columns,)))
    return [n.emit(QLinearMatMulOp, inputs)]


# -- com.microsoft's requantizing element-wise, pooling and softmax ops -------------------------


def _scale(n: Node, i: int, what: str) -> float:
    array = n.const_input(i, what)
    if array.size != 1:
        raise n.fail(f"{what} must be one value (per-tensor quantization), got shape {list(array.shape)}")
    return float(array.astype(np.float32).reshape(-1)[0])


def _zero(n: Node, i: int, like: int, what: str) -> int:
    """Zero point input i (0 of input `like`'s type when absent), one value."""
    if not n.has_input(i):
        return 0
    array = n.const_input(i, what)
    if array.size != 1:
        raise n.fail(f"{what} must be one value (per-tensor quantization), got shape {list(array.shape)}")
    if array.dtype != value_dtype(n.input(like)):
        raise n.fail(f"{what} is {array.dtype}, the data {value_dtype(n.input(like))}")
    return int(array.reshape(-1)[0])


def _eight_bit(n: Node, *inputs: int) -> None:
    dtypes = {value_dtype(n.input(i)) for i in inputs}
    if len(dtypes) != 1 or dtypes.pop() not in (np.int8, np.uint8):
        raise n.fail("the quantized inputs must be int8 or uint8, all of one type")


@converter("QLinearAdd", "QLinearMul", domain="com.microsoft", static=(1, 2, 4, 5, 6, 7))
def _qlinear_binary(n: Node) -> Sequence[Value]:
    _eight_bit(n, 0, 3)
    a = (n.input(0), _scale(n, 1, "A_scale"), _zero(n, 2, 0, "A_zero_point"))
    b = (n.input(3), _scale(n, 4, "B_scale"), _zero(n, 5, 3, "B_zero_point"))
    c_scale, c_zp = _scale(n, 6, "C_scale"), _zero(n, 7, 0, "C_zero_point")
    if n.proto.op_type == "QLinearMul":
        props = {
            "multiplier": float_attr(float(np.float32(np.float32(a[1]) * np.float32(b[1])) / np.float32(c_scale))),
            "a_zero_point": int_attr(a[2]),
            "b_zero_point": int_attr(b[2]),
            "c_zero_point": int_attr(c_zp),
        }
        return [n.emit(QLinearMulOp, [a[0], b[0]], props)]
    sa, sb = value_shape(a[0]), value_shape(b[0])
    if (not sa or sa[-1] == 1) and sb and sb[-1] > 1:  # onnxruntime takes the broadcast input second
        a, b = b, a
    parameters = qlinear_add_parameters(a[1], a[2], b[1], b[2], c_scale, c_zp)
    return [n.emit(QLinearAddOp, [a[0], b[0]], {k: float_attr(v) for k, v in parameters.items()})]


def _refuse_channels_last(n: Node) -> None:
    if int(n.attr("channels_last", 0)):  # type: ignore[arg-type]
        raise n.fail("channels_last=1 (NHWC) is not supported")


def _global_pool(n: Node) -> Value:
    _eight_bit(n, 0)
    count = int(np.prod(n.shape(0)[2:], dtype=np.int64))
    props = {
        "multiplier": float_attr(global_pool_multiplier(_scale(n, 1, "x_scale"), _scale(n, 3, "y_scale"), count)),
        "x_zero_point": int_attr(_zero(n, 2, 0, "x_zero_point")),
        "y_zero_point": int_attr(_zero(n, 4, 0, "y_zero_point")),
    }
    return n.emit(QLinearGlobalAveragePoolOp, [n.input(0)], props)


@converter("QLinearGlobalAveragePool", domain="com.microsoft", static=(1, 2, 3, 4))
def _qlinear_global_average_pool(n: Node) -> Sequence[Value]:
    _refuse_channels_last(n)
    return [_global_pool(n)]


@converter("QLinearAveragePool", domain="com.microsoft", static=(1, 2, 3, 4))
def _qlinear_average_pool(n: Node) -> Sequence[Value]:
    """The window covering the whole image is onnxruntime's integer global pool; any other
    window is computed as dequantize, average pool, quantize (float32)."""
    _refuse_channels_last(n)
    spatial = list(n.shape(0)[2:])
    kernel = [int(k) for k in n.attr("kernel_shape", [])]
    pads = [int(p) for p in n.attr("pads", [0] * (2 * len(spatial)))]
    if kernel == spatial and not any(pads) and n.attr("auto_pad", "NOTSET") in ("NOTSET", "VALID", ""):
        return [_global_pool(n)]
    x = n.emit(DequantizeLinearOp, [n.input(0), *(_along_axis(n, n.input(i), w) for i, w in ((1, "x_scale"), (2, "x_zero_point")))])
    props = _pool_props(n)
    props["count_include_pad"] = bool_attr(bool(n.attr("count_include_pad", 0)))
    pooled = n.emit(AveragePoolOp, [x], props)
    y_zp = n.input(4) if n.has_input(4) else Const(np.zeros((), value_dtype(n.input(0))), f"{n.proto.output[0]}_zero_point")
    rank = len(n.shape(0))
    y_scale, y_zp = (n.emit_view(v, (1,) * rank) for v in (n.input(3), y_zp))
    return [n.emit(QuantizeLinearOp, [pooled, y_scale, y_zp])]


@converter("QLinearSoftmax", domain="com.microsoft", static=(1, 2, 3, 4))
def _qlinear_softmax(n: Node) -> Sequence[Value]:
    _eight_bit(n, 0)
    rank = len(n.shape(0))
    opset = int(n.attr("opset", 13))  # type: ignore[arg-type]
    axis = int(n.attr("axis", -1 if opset >= 13 else 1))  # type: ignore[arg-type]
    if opset < 13 and axis % max(rank, 1) != rank - 1:
        raise n.fail("the opset-12 form over more than the last axis is not supported")
    props = {
        "axis": int_attr(axis),
        "x_scale": float_attr(_scale(n, 1, "X_scale")),
        "y_scale": float_attr(_scale(n, 3, "y_scale")),
        "y_zero_point": int_attr(_zero(n, 4, 0, "y_zero_point")),
    }
    return [n.emit(QLinearSoftmaxOp, [n.input(0)], props)]


_MAX_CONCAT_INPUTS = 256
"""QLinearConcat's scales and zero points (every input but the tensors) are constants."""


@converter(
    "QLinearConcat", domain="com.microsoft",
    static=tuple(i for i in range(2 + 3 * _MAX_CONCAT_INPUTS) if i < 2 or (i - 2) % 3),
)
def _qlinear_concat(n: Node) -> Sequence[Value]:
    """Concat of 8-bit tensors: an input with the output's scale and zero point is copied,
    any other requantized first (onnxruntime's lookup table)."""
    count, rest = divmod(len(n.proto.input) - 2, 3)
    if count < 1 or rest or count > _MAX_CONCAT_INPUTS:
        raise n.fail(f"takes Y_scale, Y_zero_point and (tensor, scale, zero point) per input, got {len(n.proto.input)} inputs")
    if "axis" not in n.attrs:
        raise n.fail("axis is required")
    _eight_bit(n, *(2 + 3 * k for k in range(count)))
    y_scale, y_zp = _scale(n, 0, "Y_scale"), _zero(n, 1, 2, "Y_zero_point")
    parts = []
    for k in range(count):
        i = 2 + 3 * k
        x_scale, x_zp = _scale(n, i + 1, f"input {k}'s scale"), _zero(n, i + 2, i, f"input {k}'s zero point")
        if np.float32(x_scale) == np.float32(y_scale) and x_zp == y_zp:
            parts.append(n.input(i))
            continue
        props = {
            "x_scale": float_attr(x_scale),
            "x_zero_point": int_attr(x_zp),
            "y_scale": float_attr(y_scale),
            "y_zero_point": int_attr(y_zp),
        }
        parts.append(n.emit(RequantizeLinearOp, [n.input(i)], props))
    return [n.emit(ConcatOp, parts, {"axis": int_attr(int(n.attrs["axis"]))})]  # type: ignore[arg-type]
