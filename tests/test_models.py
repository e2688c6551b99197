"""The shared real models: imported, printed, re-parsed and executed.

- MLPerf Tiny KWS DS-CNN and ResNet-8 against onnxruntime on seeded random inputs;
- every Deeploy network against its golden outputs.npz;
- for every model, `tiler-opt X.onnx | tiler-opt -` prints what `tiler-opt X.onnx`
  prints, plain `xdsl-opt` reads it back identically, and importing is deterministic.
Tolerances: rtol 1e-4, atol 1e-5.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED, run_tool, shared_path

from tiler_tools import tiler_opt
from tiler_tools.executor import execute, signature
from tiler_tools.onnx_frontend import import_onnx

RTOL, ATOL = 1e-4, 1e-5
MLPERF = ["kws_dscnn_float32.onnx", "resnet8_float32.onnx"]
DEEPLOY = sorted(
    str(p.parent.relative_to(SHARED / "models" / "deeploy"))
    for p in (SHARED / "models" / "deeploy").glob("**/network.onnx")
)
ALL_MODELS = [f"mlperf-tiny/{m}" for m in MLPERF] + [f"deeploy/{d}/network.onnx" for d in DEEPLOY]


@pytest.mark.parametrize("name", MLPERF)
def test_mlperf_tiny_matches_onnxruntime(name):
    import onnxruntime as ort

    path = shared_path("models", "mlperf-tiny", name)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    feeds = {i.name: rng.standard_normal(i.shape).astype(np.float32) for i in session.get_inputs()}
    expected = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    outputs = execute(import_onnx(path), feeds)
    assert outputs.keys() == expected.keys()
    for k in expected:
        np.testing.assert_allclose(outputs[k], expected[k], rtol=RTOL, atol=ATOL)


def deeploy_feeds(module, folder: Path) -> tuple[dict, dict]:
    """Deeploy's npz files are positional (arr_0, ... or names that need not match the
    graph's): the first arrays are the graph inputs in order, then initializer values;
    outputs likewise in order."""
    ins, outs = signature(module)
    with np.load(folder / "inputs.npz") as f:
        arrays = [f[k] for k in f.files]
    with np.load(folder / "outputs.npz") as f:
        golden = [f[k] for k in f.files]
    assert len(arrays) >= len(ins) and len(golden) == len(outs)
    return (
        {name: arrays[i] for i, (name, _) in enumerate(ins)},
        {name: golden[i] for i, (name, _) in enumerate(outs)},
    )


@pytest.mark.parametrize("network", DEEPLOY)
def test_deeploy_network_matches_golden(network):
    folder = shared_path("models", "deeploy", network)
    module = import_onnx(folder / "network.onnx")
    feeds, golden = deeploy_feeds(module, folder)
    outputs = execute(module, feeds)
    for name, want in golden.items():
        np.testing.assert_allclose(outputs[name], want, rtol=RTOL, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("model", ALL_MODELS)
def test_printed_ir_is_a_fixpoint(model, tmp_path):
    path = shared_path("models", model)
    code, first, err = run_tool(tiler_opt.main, [str(path)])
    assert code == 0, err
    ir = tmp_path / "model.mlir"
    ir.write_text(first)
    code, second, err = run_tool(tiler_opt.main, [str(ir)])
    assert code == 0, err
    assert second == first
    code, generic, err = run_tool(tiler_opt.main, [str(ir), "--print-op-generic"])
    ir.write_text(generic)
    code, from_generic, err = run_tool(tiler_opt.main, [str(ir)])
    assert from_generic == first
    # determinism: a second import prints byte-identical IR
    assert run_tool(tiler_opt.main, [str(path)])[1] == first


def test_cli_pipeline_and_plain_xdsl_opt(tmp_path):
    """The real commands, as a user runs them: tiler-opt X.onnx | tiler-opt - ; xdsl-opt."""
    path = shared_path("models", "mlperf-tiny", "resnet8_float32.onnx")
    bindir = Path(sys.executable).parent
    first = subprocess.run([bindir / "tiler-opt", path], capture_output=True, text=True, check=True).stdout
    piped = subprocess.run([bindir / "tiler-opt", "-"], input=first, capture_output=True, text=True, check=True).stdout
    assert piped == first
    plain = subprocess.run([bindir / "xdsl-opt"], input=first, capture_output=True, text=True, check=True).stdout
    assert plain == first


@pytest.mark.parametrize("name", MLPERF)
def test_tiler_run_cli_matches_onnxruntime(name, tmp_path):
    import onnxruntime as ort

    from tiler_tools import tiler_run

    path = shared_path("models", "mlperf-tiny", name)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(11)
    feeds = {i.name: rng.standard_normal(i.shape).astype(np.float32) for i in session.get_inputs()}
    np.savez(tmp_path / "in.npz", **feeds)
    np.savez(tmp_path / "golden.npz", **dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds))))
    code, out, err = run_tool(tiler_opt.main, [str(path), "-o", str(tmp_path / "m.mlir")])
    assert code == 0, err
    for source in (path, tmp_path / "m.mlir"):
        code, out, err = run_tool(
            tiler_run.main,
            [str(source), "--inputs", str(tmp_path / "in.npz"), "--outputs", str(tmp_path / "out.npz"),
             "--check", str(tmp_path / "golden.npz")],
        )
        assert code == 0, out + err
        assert "MISMATCH" not in out and out.count("ok ") == len(session.get_outputs())


@pytest.mark.parametrize("model", ALL_MODELS)
def test_tiler_run_matches_onnxruntime_on_every_shared_model(model, tmp_path):
    """The CLI on each shared model against onnxruntime on the same inputs (the model's
    own inputs.npz where it has one, else seeded random data)."""
    import onnxruntime as ort

    from tiler_tools import tiler_run

    path = shared_path("models", model)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    if (path.parent / "inputs.npz").exists():
        feeds, _ = deeploy_feeds(import_onnx(path), path.parent)
    else:
        rng = np.random.default_rng(5)
        feeds = {i.name: rng.standard_normal(i.shape).astype(np.float32) for i in session.get_inputs()}
    types = {i.name: i.type for i in session.get_inputs()}
    feeds = {k: v.astype(np.float32 if types[k] == "tensor(float)" else v.dtype) for k, v in feeds.items()}
    names = [o.name for o in session.get_outputs()]
    np.savez(tmp_path / "in.npz", **feeds)
    np.savez(tmp_path / "ort.npz", **dict(zip(names, session.run(None, feeds))))
    code, out, err = run_tool(
        tiler_run.main,
        [str(path), "--inputs", str(tmp_path / "in.npz"), "--check", str(tmp_path / "ort.npz")],
    )
    assert code == 0, out + err
    assert out.count("\nok ") + out.startswith("ok ") == len(names), out
