"""The shared models, tiled, executed with DMA hazard detection, equal to the untiled
result: at L1 = 8, 32 and 64 KiB (home L2 = 1 MiB), double and single buffered, and
ResNet-8 with home L3 (L2 = 64 KiB, L1 = 16 KiB). Also: every layer fits its levels, the
report's exact traffic is what the executor's DMA engine moved, and tiling twice prints
byte-identical IR."""

from __future__ import annotations

import io
import json

import pytest
from conftest import FLOAT_MODELS, run_tool, shared_path
from tiling_helpers import assert_same, check_solution_fits, random_inputs, tile
from xdsl.printer import Printer

from tiler_dialect import MemoryHierarchy
from tiler_tools import tiler_opt
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx

KIB = 1024
MODELS = FLOAT_MODELS


@pytest.mark.parametrize("double", [True, False], ids=["double", "single"])
@pytest.mark.parametrize("l1", [8 * KIB, 32 * KIB, 64 * KIB], ids=["8K", "32K", "64K"])
@pytest.mark.parametrize("model", MODELS)
def test_tiled_model_equals_untiled(model, l1, double):
    path = shared_path("models", model)
    hierarchy = MemoryHierarchy.fromSizes(l1=l1, l2=1024 * KIB)
    untiled = import_onnx(path, hierarchy)
    feeds = random_inputs(untiled)
    want = execute(untiled, feeds)
    module = import_onnx(path, hierarchy)
    solution = tile(module, doubleBuffer=double)
    check_solution_fits(solution)
    counters: dict[str, int] = {}
    assert_same(execute(module, feeds, counters), want)
    assert counters["dma_bytes"] == sum(l.traffic.bytes for l in solution.layers)
    assert counters["dma_transfers"] == sum(l.traffic.transfers for l in solution.layers)
    if not double:
        assert all(s == 1 for l in solution.layers for lvl in l.tiling.levels for s in lvl.slots)


def test_resnet8_from_l3_home():
    path = shared_path("models", "mlperf-tiny", "resnet8_float32.onnx")
    hierarchy = MemoryHierarchy.fromSizes(l1=16 * KIB, l2=64 * KIB, default="L3")
    untiled = import_onnx(path, hierarchy)
    feeds = random_inputs(untiled, seed=3)
    want = execute(untiled, feeds)
    module = import_onnx(path, hierarchy)
    solution = tile(module)
    check_solution_fits(solution)
    counters: dict[str, int] = {}
    assert_same(execute(module, feeds, counters), want)
    assert counters["dma_bytes"] == sum(l.traffic.bytes for l in solution.layers)
    # tiles travel L3 -> L2 -> L1, and somewhere an L2 tile is larger than its L1 tiles
    assert all([lvl.level for lvl in l.tiling.levels] == ["L2", "L1"] for l in solution.layers)
    assert any(l.tiling.levels[1].tiles > 1 for l in solution.layers)


def _print(module) -> str:
    out = io.StringIO()
    Printer(stream=out).print_op(module)
    return out.getvalue()


def test_tiling_is_deterministic():
    path = shared_path("models", "mlperf-tiny", "kws_dscnn_float32.onnx")
    texts = []
    for _ in range(2):
        module = import_onnx(path, MemoryHierarchy.fromSizes(l1=8 * KIB))
        tile(module)
        texts.append(_print(module))
    assert texts[0] == texts[1]


def test_cli_tile_report_and_fixpoint(tmp_path):
    path = shared_path("models", "mlperf-tiny", "kws_dscnn_float32.onnx")
    out, report = tmp_path / "kws.mlir", tmp_path / "tiles.json"
    code, _, err = run_tool(tiler_opt.main, [str(path), "--tile", "--l1", "8K", "--tile-report", str(report), "-o", str(out)])
    assert code == 0, err
    data = json.loads(report.read_text())
    assert set(data) == {"ops", "total"}
    assert len(data["ops"]) == 21
    for op in data["ops"]:
        assert {"name", "op", "tiles", "tile_shapes", "dma_bytes", "dma_transfers", "lower_bound_bytes", "est_cycles"} <= set(op)
        assert op["dma_bytes"] >= op["lower_bound_bytes"] > 0
    total = data["total"]
    assert total["dma_bytes"] == sum(o["dma_bytes"] for o in data["ops"])
    assert total["compile_seconds"] > 0
    code, again, err = run_tool(tiler_opt.main, [str(out)])
    assert code == 0 and again == out.read_text()
