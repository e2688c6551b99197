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
import onnx
import pytest
from onnx import TensorProto, helper
from quantized_graphs import GRAPHS, model_of
from tiling_helpers import tile

from xdsl.dialects.builtin import IntegerType

from tiler_dialect import MemoryHierarchy
from tiler_dialect.ops import TilerOp
from tiler_passes.lower_tiler import lower_tiler
from tiler_passes.lowering.ops import REQUANTIZING_OPS, LoweringError
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
    if any(isinstance(op, REQUANTIZING_OPS) for op in module.walk()) or "xui" in str(module):  # a clear error
        with pytest.raises(LoweringError, match="not lowered to linalg yet|works on unsigned integers"):
            lower_tiler(module)
        return
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
