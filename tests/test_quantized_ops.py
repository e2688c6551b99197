"""The quantization and integer ops on 8-bit data, built here as ONNX graphs: against
onnxruntime (its int8 kernels allowed, as on ARM), tiled under a budget that splits them,
and lowered to linalg (and on to loops), every form exactly equal. ConvInteger pads with
its zero point (a padded element contributes 0), which the lowering must keep; zero points
and scales are per channel where onnxruntime takes it (per-tensor for ConvInteger and
MatMulInteger). The com.microsoft QOperator ops (QLinearAdd, QLinearMul, the pools,
QLinearSoftmax, QLinearConcat) and the QDQ chains that become them are checked the same
way; they lower too (on signed data; unsigned data is a clear error in the lowering for
now)."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from quantized_graphs import GRAPHS, model_of
from tiling_helpers import tile

from xdsl.dialects.builtin import IntegerType

from tiler_dialect import MemoryHierarchy
from tiler_dialect.ops import TilerOp
from tiler_passes.lower_tiler import lower_tiler
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx

ort = pytest.importorskip("onnxruntime")

@pytest.mark.parametrize("name", list(GRAPHS))
def test_integer_op_equals_onnxruntime_tiled_and_lowered(name):
    model, feeds = GRAPHS[name]()
    options = ort.SessionOptions()
    options.add_session_config_entry("session.qdqisint8allowed", "1")  # its int8 kernels, as on ARM
    want = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"]).run(None, feeds)
    module = import_onnx(model, MemoryHierarchy.fromSizes(l1=160, l2=1 << 20))
    if name.startswith("qdq"):  # the chains became integer ops, float only at the ends
        ends = ("tiler.quantize_linear", "tiler.dequantize_linear")
        inner = [op for op in module.walk() if isinstance(op, TilerOp) and op.name not in ends]
        assert inner and all(isinstance(op.results[0].type.element_type, IntegerType) for op in inner)
    got = execute(module, feeds)
    for (key, value), expected in zip(got.items(), want):
        assert value.dtype == expected.dtype, key
        np.testing.assert_array_equal(value, expected, err_msg=key)
    tile(module)
    tiles = sum(1 for op in module.walk() if op.name == "scf.for")
    assert tiles, "the budget splits the op"
    tiled = execute(module, feeds)
    for key in got:
        np.testing.assert_array_equal(tiled[key], got[key], err_msg=key)
    lower_tiler(module)
    module.verify()
    assert not [op.name for op in module.walk() if op.name.startswith("tiler.") and op.name != "tiler.reshape"]
    lowered = execute(module, feeds)
    for key in got:
        np.testing.assert_array_equal(lowered[key], got[key], err_msg=key)
    from xdsl.context import Context
    from xdsl.transforms.convert_linalg_to_loops import ConvertLinalgToLoopsPass

    ConvertLinalgToLoopsPass().apply(Context(), module)
    loops = execute(module, feeds)
    for key in got:
        np.testing.assert_array_equal(loops[key], got[key], err_msg=key)


@pytest.mark.parametrize(
    "nodes",
    [
        [helper.make_node("Conv", [], ["y"])],
        [helper.make_node("DequantizeLinear", [], ["d"]), helper.make_node("Conv", ["d", "d"], ["c"]),
         helper.make_node("QuantizeLinear", ["c"], ["y"])],
        [helper.make_node("DequantizeLinear", ["x", "s"], ["d"]), helper.make_node("Conv", ["d", "d"], ["c"]),
         helper.make_node("QuantizeLinear", ["c"], ["y"])],
    ],
    ids=["conv-without-inputs", "dq-without-inputs", "q-without-scale"],
)
def test_malformed_qdq_chains_are_a_diagnostic(nodes):
    """The QDQ rewrite looks at nodes before their converters check them: a malformed
    chain is left alone, and the converter names what is wrong."""
    from tiler_tools.onnx_frontend import ImportFailure

    model = model_of(nodes, [helper.make_tensor_value_info("x", TensorProto.INT8, [1, 1, 3, 3])],
                   [helper.make_tensor_value_info("y", TensorProto.INT8, None)], {"s": np.array(0.1, np.float32)}, opset=13)
    with pytest.raises(ImportFailure, match=r"has \d input\(s\), but \w+ takes 2 to 3"):
        import_onnx(model)


@pytest.mark.parametrize("bounds", [(0.0, 6.0), (None, 0.5), (-0.25, None)], ids=["relu6", "max-only", "min-only"])
def test_qdq_conv_clip_becomes_an_integer_clip_at_the_quantized_bounds(bounds):
    """DQ -> Conv -> Clip(lo, hi) -> Q is QLinearConv then a clip at Q(lo), Q(hi) (Q is
    monotone, so that is exact): equal to onnxruntime running exactly that, QLinearConv
    and an int8 Clip."""
    from quantized_graphs import RNG, model_of

    w = RNG.integers(-128, 128, (4, 3, 3, 3)).astype(np.int8)
    xs, xz, ws, ys, yz = np.float32(0.05), np.int8(3), np.float32(0.01), np.float32(0.03), np.int8(-7)
    lo, hi = bounds
    clip_inputs = ["c", "lo" if lo is not None else "", "hi" if hi is not None else ""]
    while clip_inputs[-1] == "":
        clip_inputs.pop()
    nodes = [
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["x"]),
        helper.make_node("DequantizeLinear", ["w", "ws"], ["wf"]),
        helper.make_node("Conv", ["x", "wf"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Clip", clip_inputs, ["r"]),
        helper.make_node("QuantizeLinear", ["r", "ys", "yz"], ["y"]),
    ]
    inits = {"w": w, "xs": xs, "xz": xz, "ws": ws, "ys": ys, "yz": yz}
    inits.update({k: np.float32(v) for k, v in (("lo", lo), ("hi", hi)) if v is not None})
    info = [helper.make_tensor_value_info("xq", TensorProto.INT8, [1, 3, 6, 6])]
    model = model_of(nodes, info, [helper.make_tensor_value_info("y", TensorProto.INT8, None)], inits, opset=13)
    feeds = {"xq": RNG.integers(-128, 128, (1, 3, 6, 6)).astype(np.int8)}
    module = import_onnx(model)
    names = [op.name for op in module.walk()]
    assert "tiler.qlinear_conv" in names and "tiler.clip" in names and "tiler.conv" not in names

    def q(v):
        return np.clip(np.rint(np.float32(v) / ys) + yz, -128, 127).astype(np.int8)

    reference_nodes = [
        helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c", "qlo" if lo is not None else "", "qhi" if hi is not None else ""], ["y"]),
    ]
    ref_inits = {"w": w, "xs": xs, "xz": xz, "ws": ws, "wz": np.int8(0), "ys": ys, "yz": yz,
                 "qlo": q(lo if lo is not None else -1e9), "qhi": q(hi if hi is not None else 1e9)}
    reference = model_of(reference_nodes, info, [helper.make_tensor_value_info("y", TensorProto.INT8, None)], ref_inits, opset=13)
    (want,) = ort.InferenceSession(reference.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    np.testing.assert_array_equal(execute(module, feeds)["y"], want)
