"""Small ONNX graphs of the quantization and integer ops (QOperator, com.microsoft and
QDQ chains), each with random 8-bit inputs: `GRAPHS[name]()` -> (model, feeds)."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(7)


def model_of(nodes, inputs, outputs, initializers, opset=21):
    graph = helper.make_graph(nodes, "g", inputs, outputs, [numpy_helper.from_array(a, n) for n, a in initializers.items()])
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets)


def _int8(shape):
    return RNG.integers(-128, 128, shape).astype(np.int8)


def conv_integer():
    w = _int8((6, 4, 3, 3))
    nodes = [helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], pads=[1, 1, 1, 1], strides=[1, 2])]
    feeds = {"x": _int8((1, 4, 9, 8))}
    inits = {"w": w, "xz": np.array(-5, np.int8), "wz": np.array(2, np.int8)}
    return model_of(nodes, [helper.make_tensor_value_info("x", TensorProto.INT8, [1, 4, 9, 8])],
                  [helper.make_tensor_value_info("y", TensorProto.INT32, None)], inits), feeds


def matmul_integer():
    nodes = [helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])]
    feeds = {"a": _int8((6, 20))}
    inits = {"b": _int8((20, 7)), "az": np.array(-4, np.int8), "bz": np.array(3, np.int8)}
    return model_of(nodes, [helper.make_tensor_value_info("a", TensorProto.INT8, [6, 20])],
                  [helper.make_tensor_value_info("y", TensorProto.INT32, None)], inits), feeds


def quantize_dequantize():
    """Per-axis quantize of floats to int8, and back."""
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=1),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=1),
    ]
    feeds = {"x": (RNG.standard_normal((2, 5, 6)) * 40).astype(np.float32)}
    inits = {"s": np.array([0.1, 0.25, 0.5, 1.0, 0.3], np.float32), "z": np.array([0, -3, 7, 100, -128], np.int8)}
    return model_of(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, 6])],
                  [helper.make_tensor_value_info("q", TensorProto.INT8, None),
                   helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits), feeds


def qlinear_conv():
    w = _int8((6, 4, 3, 3))
    nodes = [helper.make_node(
        "QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"], pads=[1, 0, 1, 2])]
    feeds = {"x": _int8((1, 4, 7, 7))}
    inits = {
        "xs": np.array(0.05, np.float32), "xz": np.array(3, np.int8), "w": w,
        "ws": RNG.uniform(0.001, 0.01, 6).astype(np.float32), "wz": np.zeros(6, np.int8),
        "ys": np.array(0.08, np.float32), "yz": np.array(-10, np.int8),
        "b": RNG.integers(-2000, 2000, 6).astype(np.int32),
    }
    return model_of(nodes, [helper.make_tensor_value_info("x", TensorProto.INT8, [1, 4, 7, 7])],
                  [helper.make_tensor_value_info("y", TensorProto.INT8, None)], inits), feeds


# -- com.microsoft's QOperator ops, as onnxruntime's quantizer writes them ----------------


def _scalar(value, dtype):
    return np.array(value, dtype)


def _qparams(prefix, dtype):
    """A random per-tensor scale and zero point."""
    info = np.iinfo(dtype)
    return {
        f"{prefix}s": _scalar(RNG.uniform(0.01, 0.2), np.float32),
        f"{prefix}z": _scalar(RNG.integers(info.min // 2, info.max // 2 + 1), dtype),
    }


def _data(shape, dtype):
    info = np.iinfo(dtype)
    return RNG.integers(info.min, info.max + 1, shape).astype(dtype)


def _tensor(name, dtype, shape):
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)


def _qlinear_binary(op, a_shape, b_shape, dtype):
    nodes = [helper.make_node(op, ["a", "as", "az", "b", "bs", "bz", "cs", "cz"], ["y"], domain="com.microsoft")]
    feeds = {"a": _data(a_shape, dtype), "b": _data(b_shape, dtype)}
    inits = {**_qparams("a", dtype), **_qparams("b", dtype), **_qparams("c", dtype)}
    return model_of(nodes, [_tensor("a", dtype, a_shape), _tensor("b", dtype, b_shape)], [_tensor("y", dtype, None)], inits), feeds


def qlinear_add():
    return _qlinear_binary("QLinearAdd", [1, 6, 5, 8], [1, 6, 5, 8], np.int8)


def qlinear_add_broadcast_first():
    """onnxruntime swaps a broadcast first input to second: the rounding follows."""
    return _qlinear_binary("QLinearAdd", [1, 6, 1, 1], [1, 6, 5, 8], np.uint8)


def qlinear_mul():
    return _qlinear_binary("QLinearMul", [2, 6, 7], [6, 1], np.int8)


def _qlinear_unary(op, shape, dtype, out_shape=None, **attrs):
    nodes = [helper.make_node(op, ["x", "xs", "xz", "ys", "yz"], ["y"], domain="com.microsoft", **attrs)]
    feeds = {"x": _data(shape, dtype)}
    inits = {**_qparams("x", dtype), **_qparams("y", dtype)}
    return model_of(nodes, [_tensor("x", dtype, shape)], [_tensor("y", dtype, out_shape)], inits), feeds


def qlinear_global_average_pool():
    return _qlinear_unary("QLinearGlobalAveragePool", [1, 8, 9, 7], np.uint8, channels_last=0)


def qlinear_average_pool_whole_image():
    return _qlinear_unary("QLinearAveragePool", [1, 8, 5, 5], np.int8, kernel_shape=[5, 5])


def qlinear_average_pool_window():
    """Any other window is dequantize, average pool, quantize (onnxruntime's kernel works
    in float32 too)."""
    return _qlinear_unary("QLinearAveragePool", [1, 4, 9, 9], np.uint8, kernel_shape=[3, 3], strides=[2, 2],
                          pads=[1, 1, 1, 1], count_include_pad=1)


def qlinear_softmax_int8():
    return _qlinear_unary("QLinearSoftmax", [3, 4, 10], np.int8, axis=-1, opset=13)


def qlinear_softmax_uint8():
    return _qlinear_unary("QLinearSoftmax", [4, 10, 3], np.uint8, axis=1, opset=13)


def qlinear_concat():
    """The first input has the output's scale and zero point (copied), the second not
    (requantized)."""
    dtype = np.int8
    nodes = [helper.make_node("QLinearConcat", ["ys", "yz", "a", "ys", "yz", "b", "bs", "bz"], ["y"],
                              domain="com.microsoft", axis=1)]
    feeds = {"a": _data([1, 3, 4, 5], dtype), "b": _data([1, 6, 4, 5], dtype)}
    inits = {**_qparams("y", dtype), **_qparams("b", dtype)}
    return model_of(nodes, [_tensor("a", dtype, [1, 3, 4, 5]), _tensor("b", dtype, [1, 6, 4, 5])],
                  [_tensor("y", dtype, None)], inits), feeds


# -- QDQ chains the rewrite turns into the integer ops ------------------------------------


def _qdq(body, inputs, inits, out_params, dtype=np.int8, opset=13):
    """Quantize each float input, dequantize it, run `body` (nodes from the DQ'd names to
    "r"), quantize "r" with `out_params` and dequantize it to the float output "y"."""
    nodes, feeds, infos = [], {}, []
    for name, (shape, params) in inputs.items():
        nodes += [helper.make_node("QuantizeLinear", [name, f"{params}s", f"{params}z"], [f"{name}_q"]),
                  helper.make_node("DequantizeLinear", [f"{name}_q", f"{params}s", f"{params}z"], [f"{name}_dq"])]
        feeds[name] = (RNG.standard_normal(shape) * 2).astype(np.float32)
        infos.append(_tensor(name, np.float32, shape))
    nodes += body
    nodes += [helper.make_node("QuantizeLinear", ["r", f"{out_params}s", f"{out_params}z"], ["r_q"]),
              helper.make_node("DequantizeLinear", ["r_q", f"{out_params}s", f"{out_params}z"], ["y"])]
    return model_of(nodes, infos, [_tensor("y", np.float32, None)], inits, opset=opset), feeds


def qdq_add_mul():
    inits = {**_qparams("a", np.int8), **_qparams("b", np.int8), **_qparams("c", np.int8)}
    body = [helper.make_node("Add", ["a_dq", "b_dq"], ["s"]),
            helper.make_node("QuantizeLinear", ["s", "cs", "cz"], ["s_q"]),
            helper.make_node("DequantizeLinear", ["s_q", "cs", "cz"], ["s_dq"]),
            helper.make_node("Mul", ["s_dq", "b_dq"], ["r"])]
    return _qdq(body, {"a": ([1, 4, 6, 6], "a"), "b": ([1, 4, 6, 6], "b")}, inits, "a")


def qdq_views_max_pool_concat():
    """Reshape and MaxPool between a DQ and a Q of one scale act on the int8 data; the
    Concat of two scales is QLinearConcat."""
    inits = {**_qparams("a", np.int8), **_qparams("b", np.int8), "shape": np.array([1, 4, 8, 4], np.int64)}
    body = [helper.make_node("MaxPool", ["a_dq"], ["m"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("QuantizeLinear", ["m", "as", "az"], ["m_q"]),
            helper.make_node("DequantizeLinear", ["m_q", "as", "az"], ["m_dq"]),
            helper.make_node("Reshape", ["b_dq", "shape"], ["v"]),
            helper.make_node("QuantizeLinear", ["v", "bs", "bz"], ["v_q"]),
            helper.make_node("DequantizeLinear", ["v_q", "bs", "bz"], ["v_dq"]),
            helper.make_node("Concat", ["m_dq", "v_dq"], ["r"], axis=1)]
    return _qdq(body, {"a": ([1, 4, 16, 8], "a"), "b": ([1, 4, 32], "b")}, inits, "a")


def qdq_conv_weight_without_zero_point():
    """A weight DequantizeLinear without a zero point: 0 of the weights' type."""
    inits = {**_qparams("a", np.int8), **_qparams("y", np.int8), "w": _int8((5, 4, 3, 3)),
             "ws": RNG.uniform(0.001, 0.01, 5).astype(np.float32)}
    body = [helper.make_node("DequantizeLinear", ["w", "ws"], ["w_dq"], axis=0),
            helper.make_node("Conv", ["a_dq", "w_dq"], ["r"], pads=[1, 1, 1, 1])]
    return _qdq(body, {"a": ([1, 4, 6, 6], "a")}, inits, "y")


GRAPHS = {f.__name__: f for f in (
    conv_integer, matmul_integer, quantize_dequantize, qlinear_conv, qlinear_add, qlinear_add_broadcast_first,
    qlinear_mul, qlinear_global_average_pool, qlinear_average_pool_whole_image, qlinear_average_pool_window,
    qlinear_softmax_int8, qlinear_softmax_uint8, qlinear_concat, qdq_add_mul, qdq_views_max_pool_concat,
    qdq_conv_weight_without_zero_point,
)}
