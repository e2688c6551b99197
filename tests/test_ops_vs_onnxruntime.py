"""Property tests: random single-op models (shapes and attributes drawn by hypothesis),
imported and executed, equal to onnxruntime within rtol 1e-4, atol 1e-5.

Derandomized so that CI runs the same examples every time."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx

SETTINGS = settings(
    max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
OPSET = 19


def run_both(node: onnx.NodeProto, inputs: dict[str, np.ndarray], initializers: dict[str, np.ndarray] | None = None):
    initializers = initializers or {}
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, k) for k, v in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=9)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, inputs)
    got = execute(import_onnx(model), inputs)[node.output[0]]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def arrays(rng_seed: int, *shapes):
    rng = np.random.default_rng(rng_seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@st.composite
def conv_cases(draw):
    rank = draw(st.integers(1, 2))
    group = draw(st.sampled_from([1, 2, 4]))
    cin = group * draw(st.integers(1, 3))
    cout = group * draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 4)) for _ in range(rank)]
    dil = [draw(st.integers(1, 2)) for _ in range(rank)]
    strides = [draw(st.integers(1, 3)) for _ in range(rank)]
    auto = draw(st.sampled_from(["NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    if auto.startswith("SAME"):
        dil = [1] * rank  # onnxruntime does not implement dilated SAME padding
    pads = [draw(st.integers(0, 2)) for _ in range(2 * rank)]
    spatial = [draw(st.integers((k - 1) * d + 1, 12)) for k, d in zip(kernel, dil)]
    bias = draw(st.booleans())
    return rank, group, cin, cout, kernel, dil, strides, auto, pads, spatial, bias, draw(st.integers(0, 1000))


@SETTINGS
@given(conv_cases())
def test_conv(case):
    rank, group, cin, cout, kernel, dil, strides, auto, pads, spatial, bias, seed = case
    x, w, b = arrays(seed, (1, cin, *spatial), (cout, cin // group, *kernel), (cout,))
    attrs = dict(group=group, dilations=dil, strides=strides, kernel_shape=kernel)
    if auto == "NOTSET":
        attrs["pads"] = pads
    else:
        attrs["auto_pad"] = auto
    inits = {"W": w, **({"B": b} if bias else {})}
    node = helper.make_node("Conv", ["X", "W"] + (["B"] if bias else []), ["Y"], **attrs)
    run_both(node, {"X": x}, inits)


@st.composite
def pool_cases(draw):
    rank = draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 4)) for _ in range(rank)]
    strides = [draw(st.integers(1, 3)) for _ in range(rank)]
    dil = [draw(st.integers(1, 2)) for _ in range(rank)]
    pads = [draw(st.integers(0, k - 1)) for k in kernel] * 2  # ONNX: pad < kernel
    spatial = [draw(st.integers((k - 1) * d + 1, 11)) for k, d in zip(kernel, dil)]
    return (
        rank, kernel, strides, dil, pads, spatial,
        draw(st.sampled_from(["MaxPool", "AveragePool"])), draw(st.booleans()), draw(st.booleans()),
        draw(st.integers(0, 1000)),
    )


@SETTINGS
@given(pool_cases())
def test_pooling(case):
    rank, kernel, strides, dil, pads, spatial, op, ceil, include_pad, seed = case
    (x,) = arrays(seed, (2, 3, *spatial))
    attrs = dict(kernel_shape=kernel, strides=strides, pads=pads, ceil_mode=int(ceil), dilations=dil)
    if op == "AveragePool":
        attrs["count_include_pad"] = int(include_pad)
    run_both(helper.make_node(op, ["X"], ["Y"], **attrs), {"X": x})


@SETTINGS
@given(
    st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.booleans(), st.booleans(),
    st.sampled_from([None, "n", "1n", "m1", "mn", "scalar"]), st.floats(-2, 2), st.floats(-2, 2), st.integers(0, 1000),
)
def test_gemm(m, k, n, trans_a, trans_b, c_shape, alpha, beta, seed):
    a, b = arrays(seed, (k, m) if trans_a else (m, k), (n, k) if trans_b else (k, n))
    shapes = {"n": (n,), "1n": (1, n), "m1": (m, 1), "mn": (m, n), "scalar": ()}
    inits = {"B": b}
    inputs = ["A", "B"]
    if c_shape is not None:
        inits["C"] = arrays(seed + 1, shapes[c_shape])[0]
        inputs.append("C")
    node = helper.make_node("Gemm", inputs, ["Y"], alpha=alpha, beta=beta, transA=int(trans_a), transB=int(trans_b))
    run_both(node, {"A": a}, inits)


@st.composite
def broadcast_pair(draw):
    rank = draw(st.integers(0, 4))
    shape = [draw(st.integers(1, 4)) for _ in range(rank)]
    other_rank = draw(st.integers(0, rank))
    other = [draw(st.sampled_from([1, s])) for s in shape[rank - other_rank :]]
    if draw(st.booleans()):
        shape, other = other, shape
    return tuple(shape), tuple(other)


@SETTINGS
@given(broadcast_pair(), st.sampled_from(["Add", "Sub", "Mul", "Div"]), st.integers(0, 1000))
def test_broadcast_binary(shapes, op, seed):
    a, b = arrays(seed, *shapes)
    run_both(helper.make_node(op, ["A", "B"], ["Y"]), {"A": a, "B": b})


@SETTINGS
@given(st.integers(0, 2), st.integers(0, 2), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(0, 1000))
def test_matmul_batched_broadcast(batch_a, batch_b, m, k, n, seed):
    a, b = arrays(seed, (*([2] * batch_a), m, k), (*([1, 2][:batch_b]), k, n))
    run_both(helper.make_node("MatMul", ["A", "B"], ["Y"]), {"A": a, "B": b})


@SETTINGS
@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.data())
def test_softmax_layernorm_reducemean_transpose(shape, data):
    (x,) = arrays(data.draw(st.integers(0, 1000)), tuple(shape))
    rank = len(shape)
    axis = data.draw(st.integers(-rank, rank - 1))
    run_both(helper.make_node("Softmax", ["X"], ["Y"], axis=axis), {"X": x})
    normalized = shape[axis % rank :]
    scale, bias = arrays(1, tuple(normalized), tuple(normalized))
    run_both(
        helper.make_node("LayerNormalization", ["X", "S", "B"], ["Y"], axis=axis, epsilon=1e-3),
        {"X": x},
        {"S": scale, "B": bias},
    )
    axes = sorted(set(data.draw(st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=rank))))
    keep = data.draw(st.booleans())
    run_both(
        helper.make_node("ReduceMean", ["X", "axes"], ["Y"], keepdims=int(keep)),
        {"X": x},
        {"axes": np.array(axes, np.int64)},
    )
    perm = data.draw(st.permutations(range(rank)))
    run_both(helper.make_node("Transpose", ["X"], ["Y"], perm=list(perm)), {"X": x})


@SETTINGS
@given(st.lists(st.integers(1, 6), min_size=1, max_size=3), st.data())
def test_slice_and_pad(shape, data):
    (x,) = arrays(data.draw(st.integers(0, 1000)), tuple(shape))
    rank = len(shape)
    starts, ends, steps = [], [], []
    for size in shape:
        step = data.draw(st.sampled_from([1, 2, 3, -1, -2]))
        if step > 0:
            b = data.draw(st.integers(-size, size - 1))
            e = data.draw(st.integers(b % size + 1, size + 3))
        else:
            # ends below -size clamp to "before the first element"; -1 would mean the last
            b = data.draw(st.integers(0, size - 1))
            e = data.draw(st.sampled_from([-size - 1, -size - 3, *range(0, b)]))
        starts.append(b)
        ends.append(e)
        steps.append(step)
    run_both(
        helper.make_node("Slice", ["X", "s", "e", "a", "t"], ["Y"]),
        {"X": x},
        {k: np.array(v, np.int64) for k, v in zip("seat", (starts, ends, list(range(rank)), steps))},
    )
    mode = data.draw(st.sampled_from(["constant", "edge", "reflect"]))
    begins, ends = [], []
    for size in shape:
        # crop at most size - 1 elements in all, so that something is left
        b = data.draw(st.integers(-(size - 1), 2))
        e = data.draw(st.integers(-(size - 1 + min(b, 0)), 2))
        if mode == "reflect":  # reflection needs pad <= kept - 1
            b, e = min(max(b, 0), size - 1), min(max(e, 0), size - 1)
        begins.append(b)
        ends.append(e)
    pads = begins + ends
    run_both(
        helper.make_node("Pad", ["X", "p", "v"], ["Y"], mode=mode),
        {"X": x},
        {"p": np.array(pads, np.int64), "v": np.array(1.5, np.float32)},
    )
