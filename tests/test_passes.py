"""The tiling steps as separate passes: choose-tiles records each op's decision as a
`tiler.schedule` attribute, apply-tiles rewrites from the attribute alone, multi-buffer
starts the loads of double-buffered inputs a tile early, and `tile` is the three in a row. Proven on every shared model, through printed IR (so the attribute's
text is the only thing passed between them), and by executing what a hand-edited schedule
produces."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SHARED, run_tool, shared_path
from tiling_helpers import assert_same, random_inputs

from tiler_dialect import MemoryHierarchy
from tiler_dialect.ops import TilerOp
from tiler_tools import tiler_opt
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx
from tiler_tools.tiler_run import load_module

SMALL = ROOT / "examples" / "small" / "conv_relu.onnxtxt"
MODELS = ["mlperf-tiny/kws_dscnn_float32.onnx", "mlperf-tiny/resnet8_float32.onnx"] + sorted(
    str(p.relative_to(SHARED / "models")) for p in (SHARED / "models" / "deeploy").glob("**/network.onnx")
)


def opt(*args) -> str:
    code, out, err = run_tool(tiler_opt.main, [str(a) for a in args])
    assert code == 0, err
    return out


L2_HOME = ["--l1", "8K"]
L3_HOME = ["--l1", "16K", "--l2", "64K", "--default-mem-level", "L3"]
CASES = [pytest.param(m, L2_HOME, id=f"{m}-L2-home") for m in MODELS] + [
    # ResNet-8 from L3 is the longest (about 30 s): `make test-all`
    pytest.param(m, L3_HOME, id=f"{m}-L3-home", marks=[pytest.mark.slow] if "resnet8" in m else [])
    for m in MODELS
    if "resnet8" in m or "deeploy/CCT" in m
]


@pytest.mark.parametrize("model, flags", CASES)
def test_choose_tiles_then_apply_tiles_is_tile(tmp_path, model, flags):
    path = shared_path("models", model)
    chosen = tmp_path / "chosen.mlir"
    chosen.write_text(opt(path, *flags, "-p", "choose-tiles"))
    computes = [op for op in import_onnx(path).walk() if isinstance(op, TilerOp) and not op.IS_VIEW]
    assert chosen.read_text().count("tiler.schedule = #tiler.schedule<") == len(computes)
    applied = tmp_path / "applied.mlir"
    applied.write_text(opt(chosen, "-p", "apply-tiles"))
    assert "tiler.schedule" not in applied.read_text()  # spent by the rewrite
    buffered = opt(applied, "-p", "multi-buffer")
    assert buffered == opt(path, *flags, "--tile")


def _small_ir(tmp_path, l1: str = "768") -> str:
    return opt(SMALL, "--l1", l1, "-p", "choose-tiles")


def _run(ir: str, tmp_path, feeds) -> dict[str, np.ndarray]:
    path = tmp_path / "m.mlir"
    path.write_text(ir)
    return execute(load_module(str(path), {}), feeds)


def test_a_hand_edited_schedule_is_applied_and_computes_the_same(tmp_path):
    chosen = _small_ir(tmp_path)
    relu = next(line for line in chosen.splitlines() if "tiler.relu" in line)
    schedule = re.search(r"#tiler.schedule<\[.*?\]>\]>", relu).group(0)
    # the relu in 6 tiles of one row instead of the solver's choice, single buffered
    edited = '#tiler.schedule<[<"L1", tile = [1, 4, 1, 6], order = [2], buffers = [1, 1]>]>'
    assert edited != schedule
    ir = chosen.replace(relu, relu.replace(schedule, edited))
    applied = opt_text(tmp_path, ir, "-p", "apply-tiles")
    untiled = import_onnx(SMALL, MemoryHierarchy.fromSizes(l1=768))
    feeds = random_inputs(untiled)
    assert_same(_run(applied, tmp_path, feeds), execute(untiled, feeds))
    # the relu now moves its six row tiles: six loads and six stores of 4x1x6 floats
    relu_dmas = [line for line in applied.splitlines() if "dma_start" in line and "relu1" in line]
    assert any("memref<1x4x1x6xf32" in line for line in relu_dmas)


def opt_text(tmp_path, ir: str, *args) -> str:
    path = tmp_path / "in.mlir"
    path.write_text(ir)
    return opt(path, *args)


def test_apply_tiles_needs_a_schedule(tmp_path):
    path = tmp_path / "m.mlir"
    path.write_text(opt(SMALL, "--l1", "768"))
    code, _, err = run_tool(tiler_opt.main, [str(path), "-p", "apply-tiles"])
    assert code == 1
    assert "has no tiler.schedule: run choose-tiles first, or give it one" in err
    # located at the op, through xDSL's diagnostic: the op marked, the message under it
    marked = err.splitlines().index(next(line for line in err.splitlines() if line.lstrip().startswith("^^^")))
    assert '"tiler.conv"' in err.splitlines()[marked - 1]
    assert "has no tiler.schedule" in err.splitlines()[marked + 1]


def test_lowering_errors_are_located_at_their_op(tmp_path):
    path = tmp_path / "m.mlir"
    path.write_text(opt(SMALL))
    code, _, err = run_tool(tiler_opt.main, [str(path), "-p", "lower-tiler"])
    assert code == 1
    lines = err.splitlines()
    assert lines[0] == "tiler-opt: error: tiler.conv works on tensors: lower-tiler needs buffers, run tile (or apply-tiles) first"
    marked = next(i for i, line in enumerate(lines) if line.lstrip().startswith("^^^"))
    assert '"tiler.conv"' in lines[marked - 1] and "works on tensors" in lines[marked + 1]


def test_apply_tiles_checks_a_hand_written_schedule_fits(tmp_path):
    chosen = _small_ir(tmp_path)
    relu = next(line for line in chosen.splitlines() if "tiler.relu" in line)
    schedule = re.search(r"#tiler.schedule<\[.*?\]>\]>", relu).group(0)
    whole = '#tiler.schedule<[<"L1", tile = [1, 4, 6, 6], order = [], buffers = [2, 2]>]>'
    path = tmp_path / "m.mlir"
    path.write_text(chosen.replace(relu, relu.replace(schedule, whole)))
    code, _, err = run_tool(tiler_opt.main, [str(path), "-p", "apply-tiles"])
    assert code == 1
    assert "'relu1' (tiler.relu): tiles need 2304 bytes of L1, which holds 768" in err


def test_choose_tiles_writes_the_report_tile_writes(tmp_path):
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    opt(SMALL, "--l1", "768", "-p", f'choose-tiles{{report="{one}"}}')
    opt(SMALL, "--l1", "768", "--tile", "--tile-report", two)
    strip = lambda text: re.sub(r'"compile_seconds": [0-9.e-]+', "", text)  # noqa: E731
    assert strip(one.read_text()) == strip(two.read_text())


KIB = 1024


def _budget_cases():
    """Every model at 8/32/64 KiB; ResNet-8 (about 50 s a budget) at 8 KiB in `make test`,
    at 32 and 64 KiB in `make test-all`."""
    for model in MODELS:
        for l1, name in ((8 * KIB, "8K"), (32 * KIB, "32K"), (64 * KIB, "64K")):
            slow = "resnet8" in model and l1 != 8 * KIB
            yield pytest.param(model, l1, id=f"{model}-{name}", marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize("model, l1", list(_budget_cases()))
def test_every_tiling_pass_preserves_the_result(model, l1):
    """choose-tiles, apply-tiles, multi-buffer, lower-tiler, then upstream xDSL's
    convert-linalg-to-loops and convert-scf-to-cf, one after the other: each one's output,
    executed (with DMA hazard checks once there is DMA), equals its input's; multi-buffer
    moves the same bytes in the same transfers as apply-tiles, only earlier, and so does
    the lowered IR, which holds no tiler op, in loops and as a control-flow graph."""
    from tiler_passes.choose_tiles import ChooseTilesPass
    from tiler_passes.apply_tiles import ApplyTilesPass
    from tiler_passes.lower_tiler import LowerTilerPass
    from tiler_passes.multi_buffer import MultiBufferPass
    from xdsl.context import Context
    from xdsl.transforms.convert_linalg_to_loops import ConvertLinalgToLoopsPass
    from xdsl.transforms.convert_scf_to_cf import ConvertScfToCf

    path = shared_path("models", model)
    module = import_onnx(path, MemoryHierarchy.fromSizes(l1=l1, l2=1024 * KIB))
    feeds = random_inputs(module, seed=5)
    want = execute(module, feeds)
    counters: list[dict[str, int]] = []
    steps = (ChooseTilesPass(), ApplyTilesPass(), MultiBufferPass(), LowerTilerPass(), ConvertLinalgToLoopsPass(), ConvertScfToCf())
    for step in steps:
        step.apply(Context(), module)
        module.verify()
        moved: dict[str, int] = {}
        got = execute(module, feeds, moved)
        assert_same(got, want)
        want = got
        counters.append(moved)
    assert counters[1] == counters[2] == counters[3] == counters[4] == counters[5]
    assert not [op.name for op in module.walk() if op.name.startswith(("tiler.", "linalg.", "scf."))]


IREE_OPT = Path(sys.executable).with_name("iree-opt")


@pytest.mark.parametrize("model", [None, "mlperf-tiny/kws_dscnn_float32.onnx"], ids=["conv_relu", "kws"])
def test_lowered_allocated_ir_is_upstream_mlir(tmp_path, model):
    """tile, lower-tiler, allocate, then memory spaces as integers: no tiler op or
    attribute is left, the result still computes the same, and upstream MLIR's parser
    (iree-opt, without --allow-unregistered-dialect) takes it."""
    path = SMALL if model is None else shared_path("models", model)
    flags = ["--l1", "768"] if model is None else ["--l1", "32K"]
    pipeline = "tile,lower-tiler,allocate,lower-tiler{memory-spaces=integers}"
    lowered = tmp_path / "lowered.mlir"
    lowered.write_text(opt(path, *flags, "-p", pipeline))
    text = lowered.read_text()
    assert "#tiler." not in text  # no tiler attribute: memory spaces are integers
    assert not re.search(r'^\s*(%[\w#]+ = )?"?tiler\.', text, re.MULTILINE)  # no tiler op
    module = import_onnx(path)
    feeds = random_inputs(module, seed=3)
    assert_same(execute(load_module(str(lowered), {}), feeds), execute(module, feeds))
    if not IREE_OPT.exists():
        pytest.skip("iree-opt is not installed (pip install -e '.[interop]': iree-base-compiler did not install here)")
    done = subprocess.run([str(IREE_OPT), str(lowered)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[:2000]
    assert "func.func @main" in done.stdout


SOFTMAX_LAYERNORM = """<ir_version: 8, opset_import: ["" : 17]>
g (float[48,40] x, float[40] s, float[40] b) => (float[48,40] y, float[48,40] z) {
  y = Softmax <axis = -1> (x)
  z = LayerNormalization <axis = -1, epsilon = 0.00001> (x, s, b)
}
"""


def test_the_solver_leaves_room_for_the_scratch_lowering_adds(tmp_path):
    """Softmax and layer norm keep one value per row in an L1 scratch once lowered: the
    tiling counts it, so at every budget the lowered program still allocates in L1 (without
    the count, 17 of 434 budgets between 1300 and 2600 bytes overflowed by a few bytes)."""
    from tiler_passes.allocate import AllocatePass
    from tiler_passes.lower_tiler import LowerTilerPass
    from tiler_passes.tile import TilePass
    from tiler_passes.tiling.problem import problem_of
    from xdsl.context import Context

    path = tmp_path / "m.onnxtxt"
    path.write_text(SOFTMAX_LAYERNORM)
    softmax = next(op for op in import_onnx(path).walk() if op.name == "tiler.softmax")
    assert problem_of(softmax, "softmax").scratch_bytes([5, 40]) == 5 * 4  # a value per row
    feeds = random_inputs(import_onnx(path), seed=1)
    for l1 in range(1300, 2600, 13):
        module = import_onnx(path, MemoryHierarchy.fromSizes(l1=l1))
        want = execute(module, feeds) if l1 % 10 == 0 else None
        TilePass().apply(Context(), module)
        LowerTilerPass().apply(Context(), module)
        AllocatePass().apply(Context(), module)  # raises if L1 overflows
        if want is not None:
            assert_same(execute(module, feeds), want)
