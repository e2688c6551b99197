"""int8 networks as onnxruntime's quantizer writes them: KWS and ResNet-8 quantized here
with `quantize_static` (QDQ; per-channel int8 or per-tensor uint8 activations), imported,
checked against onnxruntime, tiled and allocated.

The QDQ chains around Conv, Gemm, the residual Adds, the average pool and the softmax
become integer ops (tools/onnx_frontend/qdq.py) computed as onnxruntime's CPU kernels
compute them, so every layer moves 8-bit data only. Agreement with onnxruntime's integer
kernels is measured and printed; the bar is every output element within one quantization
step and at least 99% exactly equal (measured: 100%, every element equal).

onnxruntime's own graph optimiser decides which QDQ chains it runs as integer kernels:
with uint8 activations all of them; with int8 activations on x86 only those it can turn
into uint8 ones (QDQIsInt8Allowed is false there, true on ARM), so for int8 the reference
is the session that allows int8 kernels (`session.qdqisint8allowed`), which is what an
ARM CPU runs by default. The default x86 session computes six of ResNet-8's int8 convs in
float32 instead, printed for comparison.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from conftest import shared_path

from xdsl.dialects.builtin import IntegerType

from tiler_dialect import MemoryHierarchy
from tiler_dialect.ops import TilerOp
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx
from tiler_tools.quantize import quantize_qdq

ort = pytest.importorskip("onnxruntime")

KIB = 1024
MODELS = {"kws": "mlperf-tiny/kws_dscnn_float32.onnx", "resnet8": "mlperf-tiny/resnet8_float32.onnx"}
SCHEMES = {  # (signed, per channel, QOperator rather than QDQ)
    "s8-per-channel": (True, True, False),
    "u8-per-tensor": (False, False, False),
    "qop-s8-per-channel": (True, True, True),
    "qop-u8-per-tensor": (False, False, True),
}


def _input_of(model: onnx.ModelProto) -> tuple[str, list[int]]:
    info = model.graph.input[0]
    return info.name, [d.dim_value or 1 for d in info.type.tensor_type.shape.dim]


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    """(model, scheme) -> path of the quantized model, made once per test module."""
    made: dict[tuple[str, str], str] = {}

    def make(model: str, scheme: str) -> str:
        if (model, scheme) not in made:
            signed, per_channel, qoperator = SCHEMES[scheme]
            folder = tmp_path_factory.mktemp(f"{model}-{scheme}")
            path = quantize_qdq(
                shared_path("models", MODELS[model]), folder / "quantized.onnx",
                signed=signed, per_channel=per_channel, qoperator=qoperator,
            )
            made[model, scheme] = str(path)
        return made[model, scheme]

    return make


CASES = [pytest.param(m, s, id=f"{m}-{s}") for m in MODELS for s in SCHEMES]


@pytest.mark.parametrize("model, scheme", CASES)
def test_qdq_convolutions_and_gemms_become_integer_ops(quantized, model, scheme):
    module = import_onnx(quantized(model, scheme))
    names = [op.name for op in module.walk()]
    assert "tiler.conv" not in names and "tiler.gemm" not in names
    assert names.count("tiler.qlinear_conv") == 9 and names.count("tiler.qlinear_matmul") == 1
    for op in module.walk():
        if op.name in ("tiler.qlinear_conv", "tiler.qlinear_matmul"):
            data, weights = (op.operands[i].type.element_type for i in (0, 1))
            out = op.results[0].type.element_type
            assert data.width.data == weights.width.data == out.width.data == 8


def _output_step(model: onnx.ModelProto) -> float:
    """The scale of the DequantizeLinear producing the graph's output."""
    out = model.graph.output[0].name
    node = next(n for n in model.graph.node if out in n.output)
    assert node.op_type == "DequantizeLinear"
    scale = next(t for t in model.graph.initializer if t.name == node.input[1])
    return float(onnx.numpy_helper.to_array(scale).reshape(-1)[0])


def _agreement(module, path: str, int8_kernels: bool) -> tuple[int, int, float]:
    """(equal elements, elements, worst difference in output steps) over 40 random inputs."""
    proto = onnx.load(path)
    name, shape = _input_of(proto)
    step = _output_step(proto)
    options = ort.SessionOptions()
    options.add_session_config_entry("session.qdqisint8allowed", "1" if int8_kernels else "0")
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    equal = total = 0
    worst = 0.0
    for _ in range(40):
        x = rng.standard_normal(shape).astype(np.float32)
        got = next(iter(execute(module, {name: x}).values()))
        want = session.run(None, {name: x})[0]
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        worst = max(worst, float(np.rint(diff.max() / step)))  # in whole quantization steps
        equal += int((diff == 0).sum())
        total += diff.size
    return equal, total, worst


@pytest.mark.parametrize("model, scheme", CASES)
def test_quantized_models_agree_with_onnxruntime(quantized, model, scheme):
    path = quantized(model, scheme)
    module = import_onnx(path)
    names = {op.name for op in module.walk()}
    assert not names & {"tiler.conv", "tiler.gemm", "tiler.add", "tiler.softmax", "tiler.average_pool"}
    equal, total, worst = _agreement(module, path, int8_kernels=True)
    print(f"{model} {scheme}: {equal}/{total} = {equal / total:.4f} exactly equal to onnxruntime's integer "
          f"kernels, worst {worst:.0f} quantization steps")
    if SCHEMES[scheme][0]:
        e, t, w = _agreement(module, path, int8_kernels=False)
        print(f"  (the default x86 session, some int8 layers in float32: {e}/{t} = {e / t:.4f}, worst {w:.0f} steps)")
    assert worst <= 1
    assert equal / total >= 0.99


def _int8_session(path: str):
    options = ort.SessionOptions()
    options.add_session_config_entry("session.qdqisint8allowed", "1")
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("double_buffer", [True, False], ids=["double", "single"])
@pytest.mark.parametrize("l1", [8 * KIB, 32 * KIB, 64 * KIB], ids=["8K", "32K", "64K"])
@pytest.mark.parametrize("model, scheme", CASES)
def test_tiled_quantized_models_equal_onnxruntime(quantized, model, scheme, l1, double_buffer):
    """Tiled at the real byte widths (int8 tiles, the int32 accumulator only inside a
    tile), allocated and run on the arenas: exactly onnxruntime's integer kernels' output
    and the untiled result."""
    from tiler_passes.allocate import AllocatePass
    from tiler_passes.tile import TilePass
    from xdsl.context import Context

    path = quantized(model, scheme)
    module = import_onnx(path, MemoryHierarchy.fromSizes(l1=l1, l2=1024 * KIB))
    name, shape = _input_of(onnx.load(path))
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    (want,) = _int8_session(path).run(None, {name: x})
    (untiled,) = execute(module, {name: x}).values()
    TilePass(double_buffer=double_buffer).apply(Context(), module)
    AllocatePass().apply(Context(), module)
    (got,) = execute(module, {name: x}).values()
    np.testing.assert_array_equal(got, untiled)
    np.testing.assert_array_equal(got, want)
    buffers = [op for op in module.walk() if op.name == "memref.view"]
    assert buffers, "allocated IR places its buffers with memref.view"
    ops = [op for op in module.walk() if isinstance(op, TilerOp)]
    first = next(i for i, op in enumerate(ops) if op.name == "tiler.quantize_linear")
    last = max(i for i, op in enumerate(ops) if op.name == "tiler.dequantize_linear")
    layers = ops[first + 1 : last]  # between the float input's quantize and the output's dequantize
    assert len(layers) >= 12
    for op in layers:  # their L1 tiles, and so the DMAs that fill and drain them, are 8-bit
        for value in (op.inputs[0], *op.outputs, *op.results):
            element = value.type.element_type
            assert isinstance(element, IntegerType) and element.width.data == 8, (op.name, str(value.type))
