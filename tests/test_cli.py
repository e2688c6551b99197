"""tiler-opt and tiler-run as users run them: diagnostics, exit codes, files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, run_tool

from tiler_tools import tiler_opt, tiler_run
from tiler_tools.diagnostics import report

BIN = Path(sys.executable).parent
RELU = """<ir_version: 8, opset_import: ["" : 17]>
g (float[2,4] X) => (float[2,4] Y) { Y = Relu(X) }
"""
KWS = ROOT / "examples" / "kws_dscnn" / "kws_dscnn_float32.onnx"


@pytest.fixture
def relu_model(tmp_path) -> Path:
    path = tmp_path / "relu.onnxtxt"
    path.write_text(RELU)
    return path


def write(tmp_path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BAD_INPUTS = [
    ("garbage.onnx", b"\x08\x01garbage", [], "not a valid ONNX protobuf"),
    ("text.onnxtxt", b"agraph (float[1] X => (", [], "invalid ONNX text syntax"),
    ("unsupported.onnxtxt", b'<ir_version: 8, opset_import: ["" : 17]> g (float[2] X) => (float[2] Y) { Y = Hardmax(X) }', [], "unsupported op 'Hardmax'. Supported: Abs, Add,"),
    ("dynamic.onnxtxt", b'<ir_version: 8, opset_import: ["" : 17]> g (float[N,2] X) => (float[N,2] Y) { Y = Relu(X) }', [], "dynamic shape Nx2; pin it with --input-shape X=Nx2"),
    ("ir.mlir", b'builtin.module { "tiler.relu"( }', [], "ir.mlir:1:"),
    ("ok.onnxtxt", RELU.encode(), ["--default-mem-level", "L0"], "default memory level 'L0' is not a level"),
    ("ok.onnxtxt", RELU.encode(), ["--hierarchy", "missing.json"], "cannot read hierarchy file missing.json"),
    ("ok.onnxtxt", RELU.encode(), ["--input-shape", "Z=1x4"], "--input-shape names Z, which is not a graph input"),
]


@pytest.mark.parametrize("name, content, flags, message", BAD_INPUTS, ids=[b[3][:30] for b in BAD_INPUTS])
def test_bad_input_is_one_clear_error(tmp_path, name, content, flags, message):
    path = tmp_path / name
    path.write_bytes(content)
    out_file = tmp_path / "out.mlir"
    code, out, err = run_tool(tiler_opt.main, [str(path), *flags, "-o", str(out_file)])
    assert code == 1
    assert err.startswith("tiler-opt: error: ") and message in err, err
    assert "Traceback" not in err and out == ""
    assert not out_file.exists(), "a failed run must not leave an output file"


def test_real_process_has_no_traceback(tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"not onnx")
    proc = subprocess.run([BIN / "tiler-opt", path], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith("tiler-opt: error:") and "Traceback" not in proc.stderr


def test_bad_flag_values_are_usage_errors(relu_model):
    for flags, message in (
        (["--l1", "lots"], "argument --l1: not a byte count: 'lots'"),
        (["--l1", "0"], "argument --l1: a level size must be from 1 to 1099511627776 bytes (1 TiB), got 0"),
        (["--input-shape", "X=2xN"], "argument --input-shape: expected NAME=D0xD1x..."),
        (["--input-shape", "2x4"], "argument --input-shape: expected NAME=D0xD1x..."),
    ):
        code, _, err = run_tool(tiler_opt.main, [str(relu_model), *flags])
        assert code == 2 and err.startswith("usage: ") and message in err, flags


def test_output_file_written_whole_and_input_never_overwritten(tmp_path, relu_model):
    out = tmp_path / "relu.mlir"
    code, stdout, err = run_tool(tiler_opt.main, [str(relu_model), "-o", str(out)])
    assert code == 0 and stdout == ""
    text = out.read_text()
    assert "tiler.relu" in text
    code, _, err = run_tool(tiler_opt.main, [str(out), "-o", str(out)])
    assert code == 1 and "-o " + str(out) + " would overwrite the input" in err
    assert out.read_text() == text
    # a failing run keeps an existing output file as it was
    bad = write(tmp_path, "bad.mlir", "builtin.module { %x = }")
    code, _, _ = run_tool(tiler_opt.main, [str(bad), "-o", str(out)])
    assert code == 1 and out.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mlir", "relu.mlir", "relu.onnxtxt"]


def test_stdin_and_determinism(relu_model):
    first = subprocess.run([BIN / "tiler-opt", relu_model], capture_output=True, text=True, check=True).stdout
    again = subprocess.run([BIN / "tiler-opt", relu_model], capture_output=True, text=True, check=True).stdout
    piped = subprocess.run([BIN / "tiler-opt", "-"], input=first, capture_output=True, text=True, check=True).stdout
    assert first == again == piped


def test_input_shape_pins_dynamic_dims(tmp_path):
    path = write(tmp_path, "dyn.onnxtxt", '<ir_version: 8, opset_import: ["" : 17]> g (float[N,C] X) => (float[N,C] Y) { Y = Relu(X) }')
    code, out, err = run_tool(tiler_opt.main, [str(path), "--input-shape", "X=3x5"])
    assert code == 0, err
    assert 'tensor<3x5xf32, #tiler.mem<"L2">>' in out
    code, _, err = run_tool(tiler_opt.main, [str(path), "--input-shape", "X=3x5x1"])
    assert code == 1 and "has rank 3, the model declares rank 2" in err


def test_hierarchy_flags_on_ir_input_replace_the_hierarchy(tmp_path, relu_model):
    ir = tmp_path / "relu.mlir"
    run_tool(tiler_opt.main, [str(relu_model), "-o", str(ir)])
    code, out, err = run_tool(tiler_opt.main, [str(ir), "--l1", "16K", "--default-mem-level", "L3"])
    assert code == 0, err
    assert '<"L1", size = 16384' in out and 'default = "L3"' in out
    assert '#tiler.mem<"L2">' not in out.split("\n", 1)[1]


def test_summary_target():
    code, out, err = run_tool(tiler_opt.main, [str(KWS), "-t", "summary"])
    assert code == 0, err
    assert "ops:         23 (9 conv, 9 relu, 2 reshape (view), 1 average_pool, 1 gemm, 1 softmax)" in out
    assert "inputs:      input_1 float32[1,49,10,1]" in out


def test_internal_errors_are_labelled(capsys):
    assert report("tiler-opt", RuntimeError("boom")) == 70
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: boom" in err and "TILER_DEBUG=1" in err


# -- tiler-run --------------------------------------------------------------------------


def test_tiler_run_checks_and_writes_outputs(tmp_path, relu_model):
    x = np.array([[-1, 2, -3, 4], [5, -6, 7, -8]], np.float32)
    np.savez(tmp_path / "in.npz", X=x)
    np.savez(tmp_path / "good.npz", Y=np.maximum(x, 0))
    np.savez(tmp_path / "bad.npz", Y=x)
    code, out, err = run_tool(
        tiler_run.main,
        [str(relu_model), "--inputs", str(tmp_path / "in.npz"), "--outputs", str(tmp_path / "out.npz"), "--check", str(tmp_path / "good.npz")],
    )
    assert code == 0, err
    assert "Y: float32[2, 4]" in out and "ok Y: max |out - golden| = 0" in out
    with np.load(tmp_path / "out.npz") as f:
        np.testing.assert_array_equal(f["Y"], np.maximum(x, 0))
    code, out, _ = run_tool(tiler_run.main, [str(relu_model), "--inputs", str(tmp_path / "in.npz"), "--check", str(tmp_path / "bad.npz")])
    assert code == 1 and "MISMATCH Y: max |out - golden| = 8" in out


def test_tiler_run_casts_same_kind_inputs(tmp_path, relu_model):
    # e.g. golden data stored as float64 for a float32 model
    np.savez(tmp_path / "in.npz", X=np.ones((2, 4), np.float64))
    code, out, err = run_tool(tiler_run.main, [str(relu_model), "--inputs", str(tmp_path / "in.npz")])
    assert code == 0, err


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({}, "missing input(s) X; the graph takes X"),
        ({"X": np.zeros((2, 4), np.float32), "Z": np.zeros(1)}, "array(s) Z that are not graph inputs"),
        ({"X": np.zeros((4, 2), np.float32)}, "input 'X' has shape [4, 2], the graph expects [2, 4]"),
        ({"X": np.zeros((2, 4), np.complex64)}, "input 'X' is complex64, the graph expects float32"),
    ],
)
def test_tiler_run_input_errors(tmp_path, relu_model, arrays, message):
    np.savez(tmp_path / "in.npz", **arrays)
    code, _, err = run_tool(tiler_run.main, [str(relu_model), "--inputs", str(tmp_path / "in.npz")])
    assert code == 1 and message in err, err


def test_tiler_run_unreadable_npz(tmp_path, relu_model):
    bad = write(tmp_path, "in.npz", "not a zip")
    code, _, err = run_tool(tiler_run.main, [str(relu_model), "--inputs", str(bad)])
    assert code == 1 and "cannot read inputs" in err


def test_tiler_run_without_inputs_uses_seeded_random_ones_and_says_so(tmp_path, relu_model):
    """A newcomer's first run needs no npz: random inputs from --seed (0), stated on
    stderr, reproducible, and the outputs are the graph's on exactly those inputs."""
    code, out, err = run_tool(tiler_run.main, [str(relu_model), "--outputs", str(tmp_path / "a.npz")])
    assert code == 0, err
    assert "no --inputs: running on random inputs from seed 0 (X float32[2, 4])" in err and "--inputs IN.npz" in err
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    with np.load(tmp_path / "a.npz") as got:
        np.testing.assert_array_equal(got["Y"], np.maximum(x, 0))
    code, _, err = run_tool(tiler_run.main, [str(relu_model), "--seed", "7", "--outputs", str(tmp_path / "b.npz")])
    assert code == 0 and "from seed 7" in err
    x7 = np.random.default_rng(7).standard_normal((2, 4)).astype(np.float32)
    with np.load(tmp_path / "b.npz") as got:
        np.testing.assert_array_equal(got["Y"], np.maximum(x7, 0))
