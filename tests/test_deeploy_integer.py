"""Deeploy's integer test networks (../shared/models/deeploy-int): every model and kernel
imported as an integer graph, run untiled and tiled at 8/32/64 KiB (allocated, on the
arenas), exactly equal to Deeploy's golden outputs.

Inputs are paired with the graph as Deeploy's harness pairs them (inputs.npz arrays in
graph-input order, extra arrays ignored) and typed by Deeploy's rule (the narrowest
integer type of the values). The semantics are in docs/research/deeploy_integer_semantics.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import run_tool
from deeploy_graphs import GRAPHS, assert_exact, graph
from xdsl.context import Context

from tiler_dialect import MemoryHierarchy
from tiler_dialect.ops.deeploy import requant_shift
from tiler_passes.allocate import AllocatePass
from tiler_passes.tile import TilePass
from tiler_tools import tiler_opt
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx, minimal_integer_dtype, sample_input_types

KIB = 1024


@pytest.mark.parametrize("name", GRAPHS)
def test_integer_graph_equals_deeploys_golden_outputs(name):
    path, types, feeds, golden = graph(name)
    module = import_onnx(path, integer_inputs=types)
    assert_exact(execute(module, feeds), golden)


@pytest.mark.parametrize("l1", [8 * KIB, 32 * KIB, 64 * KIB], ids=["8K", "32K", "64K"])
@pytest.mark.parametrize("name", GRAPHS)
def test_tiled_integer_graph_equals_deeploys_golden_outputs(name, l1):
    path, types, feeds, golden = graph(name)
    module = import_onnx(path, MemoryHierarchy.fromSizes(l1=l1, l2=1024 * KIB), integer_inputs=types)
    TilePass().apply(Context(), module)
    AllocatePass().apply(Context(), module)
    assert_exact(execute(module, feeds), golden)


# -- what the import makes of them ----------------------------------------------------------


def _ops(module) -> list:
    return [op for op in module.walk() if op.name.startswith("tiler.")]


@pytest.mark.parametrize("name", ["models/KeywordSpotting", "models/ImageClassification", "models/AnomalyDetection"])
def test_requant_shift_fuses_into_its_conv_or_gemm(name):
    """Every Conv and Gemm of these models ends in a RequantShift: each pair is one op,
    so no int32 tensor leaves an op except the residual adds' (Deeploy's Add is int32)."""
    path, types, _, _ = graph(name)
    names = [op.name for op in _ops(import_onnx(path, integer_inputs=types))]
    assert "tiler.conv_integer" not in names and "tiler.matmul_integer" not in names
    assert names.count("tiler.requantized_conv") + names.count("tiler.requantized_matmul") >= 10
    for op in _ops(import_onnx(path, integer_inputs=types)):
        if op.name.startswith("tiler.requantized_"):
            data, weights = (op.operands[i].type.element_type for i in (0, 1))
            assert data.width.data == weights.width.data == op.results[0].type.element_type.width.data == 8


def test_tiled_requantized_conv_moves_8bit_data_and_keeps_its_sum_in_a_tile():
    path, types, _, _ = graph("models/KeywordSpotting")
    module = import_onnx(path, MemoryHierarchy.fromSizes(l1=8 * KIB, l2=1024 * KIB), integer_inputs=types)
    TilePass().apply(Context(), module)
    convs = [op for op in module.walk() if op.name == "tiler.requantized_conv"]
    assert len(convs) == 9
    for op in convs:
        assert op.is_tile
        assert [o.type.element_type.width.data for o in op.operands[:2]] == [8, 8]
        assert op.outputs[0].type.element_type.width.data == 8
        # the whole reduction (input channels and window) in every tile
        offsets, sizes = op.static_tile_offsets.get_values(), op.static_tile_sizes.get_values()
        for offset, size, dim in zip(offsets, sizes, op.tiling().dims):
            if dim.kind != "parallel":
                assert (offset, size) == (0, dim.size)


def test_requant_shift_rounds_half_up_and_clamps():
    t = np.array([-3, -2, -1, 1, 2, 3, 1000, -1000])
    one = np.array(1)
    zero = np.array(0)
    # div 2: (t + 1) >> 1, half up for negatives too: -3/2 = -1.5 -> -1
    np.testing.assert_array_equal(requant_shift(t, one, zero, 2, 256, True), [-1, -1, 0, 1, 1, 2, 127, -128])
    np.testing.assert_array_equal(requant_shift(t, one, zero, 2, 256, False), [0, 0, 0, 1, 1, 2, 255, 0])
    assert requant_shift(t, one, zero, 2, 256, False).dtype == np.uint8


def test_sample_values_give_deeploys_types():
    assert minimal_integer_dtype(np.array([0.0, 255.0])) == np.uint8
    assert minimal_integer_dtype(np.array([0, 127])) == np.uint8
    assert minimal_integer_dtype(np.array([-128, 126])) == np.int8
    assert minimal_integer_dtype(np.array([-16380, 16380])) == np.int16


# -- the command line ---------------------------------------------------------------------


def test_tiler_opt_types_an_integer_graph_from_its_sample_inputs(tmp_path):
    path, _, _, _ = graph("models/KeywordSpotting")
    code, out, err = run_tool(tiler_opt.main, [str(path), "--integer-graph", "--l1", "16K", "--tile", "-t", "summary"])
    assert code == 0, err
    assert "input uint8[1,1,49,13]" in out and "output int8[1,12]" in out
    assert "9 requantized_conv" in out


def test_tiler_opt_needs_a_type_for_every_integer_input(tmp_path):
    path, _, _, _ = graph("kernels/Add_Regular")
    model = tmp_path / "network.onnx"
    model.write_bytes(Path(path).read_bytes())  # without its inputs.npz
    code, _, err = run_tool(tiler_opt.main, [str(model), "--integer-graph"])
    assert code == 1
    assert "no type for graph input" in err and "--input-type" in err and "Traceback" not in err
    inputs = [i.name for i in onnx.load(model).graph.input]
    args = [str(model), "--integer-graph", *(f"--input-type={n}=int8" for n in inputs), "-t", "summary"]
    code, out, err = run_tool(tiler_opt.main, args)
    assert code == 0, err
    assert "int32[1,5,5,5]" in out  # Deeploy's Add widens to int32


def test_input_type_without_integer_graph_is_a_usage_error():
    path, _, _, _ = graph("kernels/Add_Regular")
    code, _, err = run_tool(tiler_opt.main, [str(path), "--input-type", "x=int8"])
    assert code == 2 and "--integer-graph" in err


def test_a_float_graph_input_without_integers_is_a_clear_error():
    path, _, _, _ = graph("kernels/Add_Regular")
    model = onnx.load(path)
    samples = [np.full((1, 5, 5, 5), 0.5, np.float32)] * 2
    with pytest.raises(Exception, match="not integers"):
        sample_input_types(model, samples)


# -- at the L1 sizes Deeploy's CI tiles them with --------------------------------------------

# Deeploy's tiled CI configurations (DeeployTest/test_siracusa_tiled_config.py, else the
# Snitch, GAP9 or Neureka ones, L2 default level): (single-buffered, double-buffered) L1
# sizes in bytes, for the graphs they list
DEEPLOY_CI_L1 = {
    "models/KeywordSpotting": ([64000], [128000]),
    "models/ImageClassification": ([64000], [128000]),
    "models/AnomalyDetection": ([64000], [128000]),
    "models/CNN_Linear2": ([45000, 30000, 15000], [60000, 45000, 30000]),
    "models/miniMobileNet": ([60000, 12000, 6000, 3000], [60000, 24000, 12000, 6000]),
    "models/miniMobileNetv2": ([60000, 16000, 12000, 8000], [60000, 32000, 24000, 16000]),
    "kernels/Attention": ([60000, 10000, 5000], [60000, 20000, 10000, 5000]),
    "kernels/Add_Large": ([5000, 10000], []),
    "kernels/Add_Regular_RQ": ([5000, 10000], []),
    "kernels/Concat": ([32000, 16000, 8000], [64000, 32000, 16000]),
    "kernels/Conv_DW_2D_RQ": ([2561], [5121]),
    "kernels/Conv_PW_2D": ([32000], [32000]),
    "kernels/Conv_PW_2D_RQ_Regular_RQ": ([32000], [32000]),
    "kernels/Conv_PW_2D_RQ_Unsigned_RQ": ([32000], [32000]),
    "kernels/Conv_Regular_2D_RQ": ([8000, 6000, 4000], [8000, 6000, 5000]),
    "kernels/Conv_StriddedPadded_2D_RQ": ([600], []),
    "kernels/GEMM_Batch_RQ": ([20000], []),
    "kernels/GEMM_Regular_RQPerColumn": ([16000], [16000]),
    "kernels/GEMM_Regular_RQPerRow": ([2000, 5000], []),
    "kernels/Hardswish_Regular": ([750], [750]),
    "kernels/Hardswish_Regular_RQ": ([750], [800]),
    "kernels/MatMul_Batch": ([20000], []),
    "kernels/MatMul_Regular": ([64000, 32000, 16000], [64000, 32000, 16000]),
    "kernels/RMSNorm": ([2048, 1024, 512], [4096, 2048, 1024]),
    "kernels/Softmax_Regular": ([800, 500, 300], [1600, 1000, 600]),
    "kernels/Softmax_Large": ([5000, 10000], []),
    "kernels/iNoNorm": ([5000, 10000], []),
}
CI_CASES = [
    pytest.param(name, l1, double, id=f"{name}-{l1}-{'double' if double else 'single'}")
    for name, (single_sizes, double_sizes) in DEEPLOY_CI_L1.items()
    for double, sizes in ((False, single_sizes), (True, double_sizes))
    for l1 in sizes
]


@pytest.mark.parametrize("name, l1, double_buffer", CI_CASES)
def test_integer_graph_at_deeploys_ci_l1_sizes(name, l1, double_buffer):
    path, types, feeds, golden = graph(name)
    module = import_onnx(path, MemoryHierarchy.fromSizes(l1=l1, l2=1024 * KIB), integer_inputs=types)
    TilePass(double_buffer=double_buffer).apply(Context(), module)
    AllocatePass().apply(Context(), module)
    assert_exact(execute(module, feeds), golden)


# -- bad integer graphs: a diagnostic each ---------------------------------------------------

from onnx import TensorProto, helper  # noqa: E402

from tiler_tools.onnx_frontend import ImportFailure  # noqa: E402


def _rqgraph(rq_attrs: dict, mul=(3.0,), weights=1.0, mul_input=False) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])
    inits = [
        helper.make_tensor("w", TensorProto.FLOAT, [3, 2, 1, 1], [weights] * 6),
        helper.make_tensor("add", TensorProto.FLOAT, [1], [0.0]),
    ]
    inputs = [x]
    if mul_input:
        inputs.append(helper.make_tensor_value_info("mul", TensorProto.FLOAT, [1]))
    else:
        inits.append(helper.make_tensor("mul", TensorProto.FLOAT, [len(mul)], list(mul)))
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["acc"]),
        helper.make_node("RequantShift", ["acc", "mul", "add"], ["y"], **rq_attrs),
    ]
    graph = helper.make_graph(nodes, "g", inputs, [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


GOOD_RQ = {"div": 256, "n_levels": 256, "signed": 1}
BAD_INTEGER_GRAPHS = {
    "no div": (_rqgraph({"n_levels": 256, "signed": 1}), "attribute 'div' is required"),
    "div not a power of two": (_rqgraph({**GOOD_RQ, "div": 3}), "div must be a power of two"),
    "fractional weights": (_rqgraph(GOOD_RQ, weights=0.5), "not integers"),
    "weights beyond int8": (_rqgraph(GOOD_RQ, weights=300.0), "beyond int8"),
    "mul per nothing": (_rqgraph(GOOD_RQ, mul=(1.0, 2.0)), "neither per channel nor broadcast"),
    "mul not a constant": (_rqgraph(GOOD_RQ, mul_input=True), "must be a constant"),
    "text n_levels": (_rqgraph({**GOOD_RQ, "n_levels": "many"}), "must be an integer"),
}


@pytest.mark.parametrize("case", list(BAD_INTEGER_GRAPHS))
def test_a_bad_integer_graph_is_a_diagnostic(case):
    model, message = BAD_INTEGER_GRAPHS[case]
    types = {"x": "uint8"} | ({"mul": "int32"} if case == "mul not a constant" else {})
    with pytest.raises(ImportFailure, match=message):
        import_onnx(model, integer_inputs=types)


def test_the_good_graph_of_those_imports_and_requantizes():
    module = import_onnx(_rqgraph(GOOD_RQ), integer_inputs={"x": "uint8"})
    x = np.arange(32, dtype=np.uint8).reshape(1, 2, 4, 4) * 7
    got = next(iter(execute(module, {"x": x}).values()))
    acc = x.astype(np.int64).sum(axis=1, keepdims=True).repeat(3, axis=1)
    np.testing.assert_array_equal(got, np.clip((acc * 3 + 128) >> 8, -128, 127))
