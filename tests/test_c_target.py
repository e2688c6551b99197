"""The C target, proven by compiling and running it: every shared float model tiled at
L1 = 8/32/64 KiB, single and double buffered, allocated, written as C, compiled with
-std=c99 -Wall -Wextra -Werror and run: equal to onnxruntime (rtol 1e-4, atol 1e-5) and
to the executor's result on the same allocated IR. A subset again under AddressSanitizer
and UndefinedBehaviorSanitizer, with the runtime copying at each wait (a missing wait or
an overrun arena shows). Then the command line: -t c with -o, determinism, and the
diagnostics for what it does not take."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import FLOAT_MODELS as MODELS
from conformance_cases import RUNNABLE as CONFORMANCE_RUNNABLE
from conformance_cases import bind_static_inputs, conformance_ops
from conftest import run_tool, shared_path
from quantized_graphs import GRAPHS as QUANTIZED_GRAPHS
from deeploy_graphs import GRAPHS as DEEPLOY_GRAPHS
from deeploy_graphs import assert_exact
from deeploy_graphs import graph as deeploy_graph
from tiling_helpers import alignment_for, budget, random_inputs

from xdsl.context import Context

from tiler_dialect import MemoryHierarchy
from tiler_passes.allocate import AllocatePass
from tiler_passes.tile import TilePass
from tiler_tools import tiler_opt, tiler_run
from tiler_tools.c_target import CTargetError, emit_c
from tiler_tools.c_target.runner import build, run
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx

ort = pytest.importorskip("onnxruntime")
if shutil.which("cc") is None and shutil.which("gcc") is None:  # pragma: no cover - .ci/run installs gcc
    pytest.skip("no C compiler (cc or gcc) on this machine; .ci/run installs Debian's gcc", allow_module_level=True)

KIB = 1024
RTOL, ATOL = 1e-4, 1e-5
SANITIZED = [
    ("mlperf-tiny/kws_dscnn_float32.onnx", 8 * KIB, True),
    ("deeploy/CCT_1_16_16_8/network.onnx", 8 * KIB, False),
    ("deeploy/kernels-fp32/Conv_DW_2D_Bias/network.onnx", 8 * KIB, True),
    ("deeploy/kernels-fp32/Softmax_Regular/network.onnx", 8 * KIB, True),
    ("deeploy/kernels-fp32/LayerNorm/network.onnx", 8 * KIB, False),
]


def allocated(path: Path, l1: int, double: bool):
    module = import_onnx(path, MemoryHierarchy.fromSizes(l1=l1, l2=1024 * KIB))
    TilePass(double_buffer=double).apply(Context(), module)
    AllocatePass().apply(Context(), module)
    return module


def onnxruntime_outputs(path: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    known = {i.name for i in session.get_inputs()}
    return dict(zip(names, session.run(None, {k: v for k, v in feeds.items() if k in known})))


def compile_and_run(module, tmp_path: Path, feeds, sanitize: bool = False) -> dict[str, np.ndarray]:
    program = emit_c(module, "net")
    (tmp_path / "net.c").write_text(program.source)
    (tmp_path / "net.h").write_text(program.header)
    built = build(tmp_path / "net.c", tmp_path, sanitize=sanitize, deferred_dma=sanitize)
    return run(built, feeds)[0]


@pytest.mark.parametrize("double", [True, False], ids=["double", "single"])
@pytest.mark.parametrize("l1", [8 * KIB, 32 * KIB, 64 * KIB], ids=["8K", "32K", "64K"])
@pytest.mark.parametrize("model", MODELS)
def test_generated_c_equals_onnxruntime(model, l1, double, tmp_path):
    path = shared_path("models", model)
    module = allocated(path, l1, double)
    feeds = random_inputs(module, seed=5)
    got = compile_and_run(module, tmp_path, feeds)
    executed = execute(module, feeds)
    want = onnxruntime_outputs(path, feeds)
    assert set(got) == set(executed)
    for name, value in got.items():
        np.testing.assert_allclose(value, executed[name], rtol=RTOL, atol=ATOL, err_msg=f"{name} against the executor")
        if name in want:
            np.testing.assert_allclose(value, want[name], rtol=RTOL, atol=ATOL, err_msg=f"{name} against onnxruntime")


@pytest.mark.parametrize("model, l1, double", SANITIZED, ids=[f"{Path(m).parent.name or m}-{d}" for m, _, d in SANITIZED])
def test_generated_c_is_clean_under_sanitizers_and_deferred_dma(model, l1, double, tmp_path):
    """ASan + UBSan, and DMA copies that land only at their wait: no report, same result."""
    path = shared_path("models", model)
    module = allocated(path, l1, double)
    feeds = random_inputs(module, seed=6)
    got = compile_and_run(module, tmp_path, feeds, sanitize=True)
    for name, value in execute(module, feeds).items():
        np.testing.assert_allclose(got[name], value, rtol=RTOL, atol=ATOL, err_msg=name)


def test_a_missing_wait_gives_wrong_results_with_deferred_dma(tmp_path):
    """The deferred runtime is a real check: drop the waits of the first op's loads and
    the program computes garbage (or aborts on a busy tag), where the eager one is right."""
    path = shared_path("models", "deeploy/kernels-fp32/ReLU/network.onnx")
    module = allocated(path, 8 * KIB, False)
    feeds = random_inputs(module, seed=7)
    want = execute(module, feeds)
    program = emit_c(module, "net")
    lines = program.source.splitlines()
    waits = [i for i, line in enumerate(lines) if "tiler_dma_wait(" in line]
    assert waits
    broken = "\n".join(line for i, line in enumerate(lines) if i != waits[0]) + "\n"
    (tmp_path / "net.c").write_text(broken)
    (tmp_path / "net.h").write_text(program.header)
    eager = run(build(tmp_path / "net.c", tmp_path), feeds)[0]
    for name, value in want.items():
        np.testing.assert_allclose(eager[name], value, rtol=RTOL, atol=ATOL)
    deferred_dir = tmp_path / "deferred"
    deferred_dir.mkdir()
    try:
        got = run(build(tmp_path / "net.c", deferred_dir, deferred_dma=True), feeds)[0]
    except CTargetError as e:  # a second start on the tag whose wait was dropped
        assert "was not waited for" in str(e)
        return
    assert any(not np.allclose(got[n], v, rtol=RTOL, atol=ATOL) for n, v in want.items())


def test_tiler_opt_writes_c_and_its_header_and_tiler_run_checks_it(tmp_path):
    model = shared_path("models", "deeploy/kernels-fp32/Conv_Regular_2D_Bias/network.onnx")
    out = tmp_path / "conv.c"
    code, _, err = run_tool(tiler_opt.main, [str(model), "--l1", "8K", "--tile", "--allocate", "-t", "c", "-o", str(out)])
    assert code == 0, err
    header = (tmp_path / "conv.h").read_text()
    assert "int conv_run(const void *const in[], void *const out[]);" in header
    assert '#include "conv.h"' in out.read_text()
    code, _, err = run_tool(tiler_opt.main, [str(model), "--l1", "8K", "--tile", "--allocate", "-t", "c", "-o", str(tmp_path / "again.c")])
    assert code == 0, err
    assert (tmp_path / "again.c").read_text() == out.read_text().replace("conv", "again"), "deterministic"
    feeds = random_inputs(import_onnx(model), seed=8)
    np.savez(tmp_path / "in.npz", **feeds)
    code, _, err = run_tool(tiler_run.main, [str(model), "--inputs", str(tmp_path / "in.npz"), "--outputs", str(tmp_path / "ref.npz")])
    assert code == 0, err
    code, stdout, err = run_tool(tiler_run.main, [str(out), "--inputs", str(tmp_path / "in.npz"), "--check", str(tmp_path / "ref.npz")])
    assert code == 0, err
    assert stdout.count("ok ") >= 1 and "MISMATCH" not in stdout


def test_c_on_stdout_carries_its_header():
    model = shared_path("models", "deeploy/kernels-fp32/ReLU/network.onnx")
    code, out, err = run_tool(tiler_opt.main, [str(model), "--tile", "--allocate", "-t", "c"])
    assert code == 0, err
    assert "int model_run(const void *const in[], void *const out[]);" in out and "#include \"model.h\"" not in out


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--tile", "-t", "c"], 1, "the C target takes allocated IR"),
        (["--tile", "--allocate", "-t", "c", "-o", "{tmp}/x.txt"], 2, "does not end in .c"),
    ],
    ids=["not-allocated", "not-a-c-file"],
)
def test_c_target_diagnostics(args, code, message, tmp_path):
    model = shared_path("models", "deeploy/kernels-fp32/ReLU/network.onnx")
    got, _, err = run_tool(tiler_opt.main, [str(model), *(a.format(tmp=tmp_path) for a in args)])
    assert got == code and message in err and "Traceback" not in err, err
    assert not list(tmp_path.iterdir()), "no partial output"


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    """(model, qoperator, signed) -> path of KWS or ResNet-8 quantized by onnxruntime."""
    from tiler_tools.quantize import quantize_qdq

    made: dict[tuple, Path] = {}

    def make(model: str, qoperator: bool, signed: bool = True) -> Path:
        key = (model, qoperator, signed)
        if key not in made:
            folder = tmp_path_factory.mktemp("quantized")
            made[key] = quantize_qdq(shared_path("models", model), folder / "int8.onnx", signed=signed, qoperator=qoperator)
        return made[key]

    return make


INT8_MODELS = ["mlperf-tiny/kws_dscnn_float32.onnx", "mlperf-tiny/resnet8_float32.onnx"]


# int8 per channel at every budget; uint8 per tensor (onnxruntime's other scheme) at one
INT8_CASES = [
    (model, qoperator, True, l1, double)
    for model in INT8_MODELS for qoperator in (False, True) for l1 in (8 * KIB, 32 * KIB, 64 * KIB) for double in (True, False)
] + [(model, qoperator, False, 32 * KIB, double) for model in INT8_MODELS for qoperator in (False, True) for double in (True, False)]


def _int8_id(case) -> str:
    model, qoperator, signed, l1, double = case
    return "-".join([Path(model).stem.split("_")[0], "qoperator" if qoperator else "qdq", "s8" if signed else "u8",
                     f"{l1 // KIB}K", "double" if double else "single"])


@pytest.mark.parametrize("model, qoperator, signed, l1, double", INT8_CASES, ids=[_int8_id(c) for c in INT8_CASES])
def test_generated_c_of_int8_networks_equals_onnxruntime_exactly(quantized, model, qoperator, signed, l1, double, tmp_path):
    """KWS and ResNet-8 quantized by onnxruntime (int8 per channel, or uint8 per tensor),
    tiled, allocated, as C: every output element equal to onnxruntime's integer kernels
    and to the executor."""
    path = quantized(model, qoperator, signed)
    module = allocated(path, l1, double)
    feeds = random_inputs(module, seed=9)
    options = ort.SessionOptions()
    options.add_session_config_entry("session.qdqisint8allowed", "1")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    want = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    got = compile_and_run(module, tmp_path, feeds)
    executed = execute(module, feeds)
    for name, value in got.items():
        np.testing.assert_array_equal(value, executed[name], err_msg=f"{name} against the executor")
        np.testing.assert_array_equal(value, want[name], err_msg=f"{name} against onnxruntime")


# -- Deeploy's integer networks (../shared/models/deeploy-int) ----------------------------

DEEPLOY_MODELS = [g for g in DEEPLOY_GRAPHS if g.startswith("models/")]
DEEPLOY_KERNELS = [g for g in DEEPLOY_GRAPHS if g.startswith("kernels/")]
# the networks at every budget, single and double buffered; each kernel at two corners
DEEPLOY_CASES = [(g, l1, double) for g in DEEPLOY_MODELS for l1 in (8 * KIB, 32 * KIB, 64 * KIB) for double in (True, False)] + [
    (g, l1, double) for g in DEEPLOY_KERNELS for l1, double in ((8 * KIB, False), (64 * KIB, True))
]


@pytest.mark.parametrize("name, l1, double", DEEPLOY_CASES, ids=[f"{g}-{l1 // KIB}K-{'double' if d else 'single'}" for g, l1, d in DEEPLOY_CASES])
def test_generated_c_of_deeploy_integer_graphs_equals_the_golden_outputs(name, l1, double, tmp_path):
    """Every Deeploy integer graph (RequantShift and the convs and matmuls it fuses into,
    iSoftmax, iRMSNorm, iHardswish, iNoNorm, uint8 data) as C: exactly Deeploy's golden
    outputs and the executor's."""
    path, types, feeds, golden = deeploy_graph(name)
    module = import_onnx(path, MemoryHierarchy.fromSizes(l1=l1, l2=1024 * KIB), integer_inputs=types)
    TilePass(double_buffer=double).apply(Context(), module)
    AllocatePass().apply(Context(), module)
    got = compile_and_run(module, tmp_path, feeds)
    executed = execute(module, feeds)
    for key, value in executed.items():
        assert got[key].dtype == value.dtype, key
        np.testing.assert_array_equal(got[key], value, err_msg=key)
    assert_exact(got, golden)


def test_tiler_opt_writes_c_of_a_deeploy_network(tmp_path):
    model = shared_path("models", "deeploy-int/models/KeywordSpotting/network.onnx")
    code, _, err = run_tool(tiler_opt.main, [str(model), "--integer-graph", "--tile", "--allocate", "-t", "c", "-o", str(tmp_path / "kws.c")])
    assert code == 0, err
    source = (tmp_path / "kws.c").read_text()
    assert "int kws_run(" in source and source.count("static void ") >= 10
    header = (tmp_path / "kws.h").read_text()
    assert "input 0: input, uint8[1, 1, 49, 13]" in header and "output 0: output, int8[1, 12]" in header


@pytest.mark.parametrize("double", [True, False], ids=["double", "single"])
@pytest.mark.parametrize("name", sorted(QUANTIZED_GRAPHS))
def test_generated_c_of_integer_ops_equals_the_executor_exactly(name, double, tmp_path):
    """Every QOperator/QDQ single-op graph (ConvInteger, MatMulInteger, Quantize and
    Dequantize, the QLinear ops; int8 and uint8) as C: every element equal."""
    model, feeds = QUANTIZED_GRAPHS[name]()
    module = import_onnx(model, MemoryHierarchy.fromSizes(l1=160, l2=1 << 20))
    TilePass(double_buffer=double).apply(Context(), module)
    AllocatePass().apply(Context(), module)
    want = execute(module, feeds)
    got = compile_and_run(module, tmp_path, feeds)
    for key, value in want.items():
        assert got[key].dtype == value.dtype
        np.testing.assert_array_equal(got[key], value, err_msg=key)


@pytest.mark.parametrize("model", ["mlperf-tiny/kws_dscnn_float32.onnx", "mlperf-tiny/resnet8_float32.onnx"])
def test_one_function_per_op_named_after_its_node(model):
    from tiler_dialect.ops import NAME_ATTR, TilerOp

    module = allocated(shared_path("models", model), 32 * KIB, True)
    ops = [op for op in module.walk() if isinstance(op, TilerOp) and not op.IS_VIEW]
    named = [op.attributes[NAME_ATTR].data for op in ops if NAME_ATTR in op.attributes]
    source = emit_c(module, "net").source
    comments = [line.removeprefix("/* ONNX node '").removesuffix("' */") for line in source.splitlines() if line.startswith("/* ONNX node '")]
    assert len(comments) == len(set(comments)) == len(ops)
    assert [c for c in comments if c in named] == list(dict.fromkeys(named)), "in graph order"
    assert source.count("\nstatic void net_") == len(comments)
    run = source[source.index("int net_run("):]
    assert run.count("();") == len(comments), "the entry point calls each op's function once, in order"


def test_tiler_run_of_c_without_inputs_uses_the_same_seeded_inputs(tmp_path):
    model = shared_path("models", "deeploy/kernels-fp32/Softmax_Regular/network.onnx")
    code, _, err = run_tool(tiler_opt.main, [str(model), "--l1", "8K", "--tile", "--allocate", "-t", "c", "-o", str(tmp_path / "s.c")])
    assert code == 0, err
    code, _, err = run_tool(tiler_run.main, [str(model), "--seed", "3", "--outputs", str(tmp_path / "ref.npz")])
    assert code == 0, err
    code, out, err = run_tool(tiler_run.main, [str(tmp_path / "s.c"), "--seed", "3", "--check", str(tmp_path / "ref.npz")])
    assert code == 0 and "random inputs from seed 3" in err and "MISMATCH" not in out, err


def _c_typed(case) -> bool:
    """All of the case's tensors have a C type (no float16)."""
    types = [v.type.tensor_type.elem_type for v in (*case.model.graph.input, *case.model.graph.output)]
    return onnx.TensorProto.FLOAT16 not in types


def _one_case_per_op() -> list[str]:
    """For each tiler op kind the conformance cases import to, the first case (of C
    types) that has it: every op's lowering and C statements, once."""
    cases: dict[str, str] = {}
    by_name = {c.name: c for c in CONFORMANCE_RUNNABLE}
    for case_name, op in conformance_ops():
        if op.name not in cases and _c_typed(by_name[case_name]):
            cases[op.name] = case_name
    return sorted(set(cases.values()))

C_CONFORMANCE = _one_case_per_op()


@pytest.mark.parametrize("case_name", C_CONFORMANCE)
def test_generated_c_of_conformance_cases_equals_the_executor(case_name, tmp_path):
    """One ONNX conformance case per op kind, tiled under the budget that forces tiles
    (as the tiled conformance test does), allocated, as C: equal to the executor on the
    same IR (floats to 1e-5, integers and bools exactly)."""
    case = next(c for c in CONFORMANCE_RUNNABLE if c.name == case_name)
    model, feeds = bind_static_inputs(case.model, case.data_sets[0][0])
    untiled = import_onnx(model)
    alignment = alignment_for(untiled)
    l1, _ = budget(untiled, alignment)
    module = import_onnx(model, MemoryHierarchy.fromSizes(l1=l1, l2=1 << 20))
    TilePass(alignment=alignment).apply(Context(), module)
    AllocatePass(alignment=alignment).apply(Context(), module)
    want = execute(module, feeds)
    got = compile_and_run(module, tmp_path, feeds)
    for key, value in want.items():
        assert got[key].dtype == value.dtype and got[key].shape == value.shape, key
        if np.issubdtype(value.dtype, np.floating):
            np.testing.assert_allclose(got[key], value, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=key)
        else:
            np.testing.assert_array_equal(got[key], value, err_msg=key)
