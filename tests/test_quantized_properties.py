"""Property tests of the 8-bit ops (hypothesis, derandomized): random QLinearConv,
QLinearMatMul, com.microsoft QGemm and QLinearAdd with random shapes, attributes, scales
and zero points (per tensor and per channel, int8 and uint8 activations), each against
onnxruntime's integer kernels, then tiled under a random L1 budget, single or double
buffered: either exactly onnxruntime's result, in tiles that fit the budget, or reported
infeasible with the diagnostic; nothing else may happen."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from onnx import helper, numpy_helper
from tiling_helpers import SETTINGS, tile_or_infeasible

from tiler_dialect import MemoryHierarchy
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx

ort = pytest.importorskip("onnxruntime")

TYPES = {np.int8: 3, np.uint8: 2}  # ONNX element types
"""onnx TensorProto codes of the 8-bit types."""


def _model(node, inputs: dict[str, tuple[np.dtype, tuple]], initializers: dict[str, np.ndarray], out_type):
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(k, TYPES[t], s) for k, (t, s) in inputs.items()],
        [helper.make_tensor_value_info(node.output[0], TYPES[out_type], None)],
        [numpy_helper.from_array(v, k) for k, v in initializers.items()],
    )
    opsets = [helper.make_opsetid("", 19), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=9)


def _values(rng, dtype, shape):
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, shape).astype(dtype)


def _scale(rng, size=None):
    return np.asarray(rng.uniform(0.002, 0.3, size), np.float32)


def _zero_point(rng, dtype, size=None):
    info = np.iinfo(dtype)
    return np.asarray(rng.integers(info.min // 2, int(info.max) // 2 + 1, size), dtype)


def check_against_onnxruntime(model, feeds, l1: int, double: bool) -> str:
    options = ort.SessionOptions()
    options.add_session_config_entry("session.qdqisint8allowed", "1")
    (want,) = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"]).run(None, feeds)
    hierarchy = MemoryHierarchy.fromSizes(l1=l1)
    module = import_onnx(model, hierarchy)
    (got,) = execute(module, feeds).values()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    if tile_or_infeasible(module, double) is None:
        return "infeasible"
    (tiled,) = execute(module, feeds).values()
    np.testing.assert_array_equal(tiled, want)
    return "tiled"


activation_types = st.sampled_from([np.int8, np.uint8])
budgets = st.integers(64, 2048)  # 8-bit tiles are small: budgets that split them


@SETTINGS
@given(st.data(), activation_types, st.booleans(), budgets, st.booleans())
def test_qlinear_conv(data, x_type, per_channel, l1, double):
    draw = data.draw
    group = draw(st.sampled_from([1, 2]))
    cin, cout = group * draw(st.integers(1, 3)), group * draw(st.integers(1, 3))
    if draw(st.booleans()):  # depthwise
        group = cin = cout = draw(st.integers(1, 6))
    kernel = [draw(st.integers(1, 3)) for _ in range(2)]
    dil = [draw(st.integers(1, 2)) for _ in range(2)]
    strides = [draw(st.integers(1, 2)) for _ in range(2)]
    pads = [draw(st.integers(0, 2)) for _ in range(4)]
    spatial = [draw(st.integers((k - 1) * d + 1, 12)) for k, d in zip(kernel, dil)]
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    w_type = np.int8 if x_type == np.int8 else draw(st.sampled_from([np.int8, np.uint8]))
    inits = {
        "xs": _scale(rng), "xz": _zero_point(rng, x_type),
        "w": _values(rng, w_type, (cout, cin // group, *kernel)),
        "ws": _scale(rng, cout) / 10 if per_channel else _scale(rng) / 10,
        # onnxruntime takes a per-channel weight zero point only when it is 0 throughout
        "wz": np.zeros(cout, w_type) if per_channel else _zero_point(rng, w_type),
        "ys": _scale(rng), "yz": _zero_point(rng, x_type),
        "b": rng.integers(-5000, 5000, cout).astype(np.int32),
    }
    node = helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"],
                            group=group, dilations=dil, strides=strides, pads=pads)
    shape = (1, cin, *spatial)
    model = _model(node, {"x": (x_type, shape)}, inits, x_type)
    check_against_onnxruntime(model, {"x": _values(rng, x_type, shape)}, l1, double)


@SETTINGS
@given(st.integers(1, 10), st.integers(1, 48), st.integers(1, 10), st.integers(0, 2), activation_types, budgets,
       st.booleans(), st.integers(0, 999))
def test_qlinear_matmul(m, k, n, batch, a_type, l1, double, seed):
    rng = np.random.default_rng(seed)
    b_type = np.int8 if a_type == np.int8 else np.uint8
    a_shape = (*((2,) * batch), m, k)
    inits = {
        "as": _scale(rng), "az": _zero_point(rng, a_type), "b": _values(rng, b_type, (k, n)),
        "bs": _scale(rng) / 10, "bz": _zero_point(rng, b_type), "ys": _scale(rng), "yz": _zero_point(rng, a_type),
    }
    node = helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])
    model = _model(node, {"a": (a_type, a_shape)}, inits, a_type)
    check_against_onnxruntime(model, {"a": _values(rng, a_type, a_shape)}, l1, double)


@SETTINGS
@given(st.integers(1, 10), st.integers(1, 40), st.integers(1, 10), st.booleans(), st.booleans(), st.booleans(),
       activation_types, budgets, st.booleans(), st.integers(0, 999))
def test_qgemm(m, k, n, trans_a, trans_b, per_column, a_type, l1, double, seed):
    rng = np.random.default_rng(seed)
    a_shape = (k, m) if trans_a else (m, k)
    inits = {
        "as": _scale(rng), "az": _zero_point(rng, a_type),
        "b": _values(rng, np.int8, (n, k) if trans_b else (k, n)),
        "bs": _scale(rng, n) / 10 if per_column else _scale(rng) / 10,
        "bz": np.zeros(n, np.int8) if per_column else np.array(0, np.int8),
        "c": rng.integers(-3000, 3000, n).astype(np.int32),
        "ys": _scale(rng), "yz": _zero_point(rng, a_type),
    }
    node = helper.make_node("QGemm", ["a", "as", "az", "b", "bs", "bz", "c", "ys", "yz"], ["y"], domain="com.microsoft",
                            transA=int(trans_a), transB=int(trans_b), alpha=1.0)
    model = _model(node, {"a": (a_type, a_shape)}, inits, a_type)
    check_against_onnxruntime(model, {"a": _values(rng, a_type, a_shape)}, l1, double)


@SETTINGS
@given(st.lists(st.integers(1, 9), min_size=1, max_size=4), st.data(), activation_types, budgets, st.booleans())
def test_qlinear_add(shape, data, dtype, l1, double):
    other = [data.draw(st.sampled_from([1, s])) for s in shape[len(shape) - data.draw(st.integers(0, len(shape))):]]
    shapes = [tuple(shape), tuple(other)]
    if data.draw(st.booleans()):
        shapes.reverse()  # the broadcast operand first: onnxruntime swaps it
    rng = np.random.default_rng(data.draw(st.integers(0, 999)))
    inits = {"as": _scale(rng), "az": _zero_point(rng, dtype), "bs": _scale(rng), "bz": _zero_point(rng, dtype),
             "cs": _scale(rng), "cz": _zero_point(rng, dtype)}
    node = helper.make_node("QLinearAdd", ["a", "as", "az", "b", "bs", "bz", "cs", "cz"], ["y"], domain="com.microsoft")
    model = _model(node, {"a": (dtype, shapes[0]), "b": (dtype, shapes[1])}, inits, dtype)
    feeds = {"a": _values(rng, dtype, shapes[0]), "b": _values(rng, dtype, shapes[1])}
    check_against_onnxruntime(model, feeds, l1, double)
