"""Property tests of the tile pass (hypothesis, derandomized): random conv, gemm, pooling
and elementwise ops, random shapes and attributes, random L1 budgets, both buffering
modes. Each either tiles, fits its budget and computes what the untiled op computes, or is
reported infeasible with the diagnostic; nothing else may happen."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from tiling_helpers import SETTINGS, assert_same, random_inputs, tile_or_infeasible

from tiler_dialect import MemoryHierarchy
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx

def single_node_model(node, inputs: dict[str, tuple], initializers: dict[str, np.ndarray]):
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, s) for k, s in inputs.items()],
        [helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in initializers.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)], ir_version=9)


def check_tiles(model, l1: int, double: bool, l3_home: bool = False) -> str:
    if l3_home:
        hierarchy = MemoryHierarchy.fromSizes(l1=l1, l2=4 * l1, default="L3")
    else:
        hierarchy = MemoryHierarchy.fromSizes(l1=l1)
    untiled = import_onnx(model, hierarchy)
    feeds = random_inputs(untiled, seed=l1)
    module = import_onnx(model, hierarchy)
    if tile_or_infeasible(module, double) is None:
        return "infeasible"
    assert_same(execute(module, feeds), execute(untiled, feeds))
    return "tiled"


budgets = st.integers(64, 16 * 1024)


@st.composite
def conv_models(draw):
    rank = draw(st.integers(1, 2))
    group = draw(st.sampled_from([1, 2]))
    depthwise = draw(st.booleans())
    cin = group * draw(st.integers(1, 3))
    cout = group * draw(st.integers(1, 3))
    if depthwise:
        group = cin = cout = draw(st.integers(1, 6))
    kernel = [draw(st.integers(1, 3)) for _ in range(rank)]
    dil = [draw(st.integers(1, 2)) for _ in range(rank)]
    strides = [draw(st.integers(1, 3)) for _ in range(rank)]
    pads = [draw(st.integers(0, 2)) for _ in range(2 * rank)]
    spatial = [draw(st.integers((k - 1) * d + 1, 14)) for k, d in zip(kernel, dil)]
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    w = rng.standard_normal((cout, cin // group, *kernel)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], group=group, dilations=dil, strides=strides, pads=pads)
    return single_node_model(node, {"x": (1, cin, *spatial)}, {"w": w, "b": b})


@SETTINGS
@given(conv_models(), budgets, st.booleans(), st.booleans())
def test_conv(model, l1, double, l3):
    check_tiles(model, l1, double, l3)


@SETTINGS
@given(st.integers(1, 12), st.integers(1, 40), st.integers(1, 12), st.booleans(), st.booleans(), budgets, st.booleans())
def test_gemm(m, k, n, trans_a, trans_b, l1, double):
    rng = np.random.default_rng(m * 100 + k)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    c = rng.standard_normal(n).astype(np.float32)
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transA=int(trans_a), transB=int(trans_b), alpha=0.5)
    check_tiles(single_node_model(node, {"a": (k, m) if trans_a else (m, k)}, {"b": b, "c": c}), l1, double)


@st.composite
def pool_models(draw):
    rank = draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 3)) for _ in range(rank)]
    strides = [draw(st.integers(1, 3)) for _ in range(rank)]
    pads = [draw(st.integers(0, k - 1)) for k in kernel] * 2
    spatial = [draw(st.integers(k, 12)) for k in kernel]
    op = draw(st.sampled_from(["MaxPool", "AveragePool"]))
    attrs = dict(kernel_shape=kernel, strides=strides, pads=pads, ceil_mode=int(draw(st.booleans())))
    if op == "AveragePool":
        attrs["count_include_pad"] = int(draw(st.booleans()))
    return single_node_model(helper.make_node(op, ["x"], ["y"], **attrs), {"x": (1, draw(st.integers(1, 5)), *spatial)}, {})


@SETTINGS
@given(pool_models(), budgets, st.booleans())
def test_pooling(model, l1, double):
    check_tiles(model, l1, double)


@SETTINGS
@given(
    st.lists(st.integers(1, 9), min_size=1, max_size=4),
    st.sampled_from(["Add", "Mul", "Sub", "Div", "Relu", "Sigmoid"]),
    st.data(),
    budgets,
    st.booleans(),
)
def test_elementwise(shape, op, data, l1, double):
    if op in ("Relu", "Sigmoid"):
        model = single_node_model(helper.make_node(op, ["x"], ["y"]), {"x": tuple(shape)}, {})
    else:
        other = [data.draw(st.sampled_from([1, s])) for s in shape[len(shape) - data.draw(st.integers(0, len(shape))):]]
        model = single_node_model(helper.make_node(op, ["x", "z"], ["y"]), {"x": tuple(shape), "z": tuple(other)}, {})
    check_tiles(model, l1, double)


def test_property_tests_hit_both_outcomes():
    """The budget range is wide enough to see tiling and infeasibility both."""
    node = helper.make_node("Softmax", ["x"], ["y"], axis=1)
    model = single_node_model(node, {"x": (4, 512)}, {})
    assert check_tiles(model, 64, True) == "infeasible"
    assert check_tiles(model, 8192, True) == "tiled"
