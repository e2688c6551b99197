"""`tiler-bench` prints the BRIEF section 7 figures; its rows agree with the tile report."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import SHARED, shared_path
from tiling_helpers import tile

from tiler_dialect import MemoryHierarchy
from tiler_passes.allocation.blocks import lower_bound
from tiler_passes.tiler import Tiler
from tiler_tools import bench
from tiler_tools.onnx_frontend import import_onnx

# tiler-bench end to end (about 75 s in all): `make test-all`
pytestmark = pytest.mark.slow


def test_bench_rows_match_the_tile_report(tmp_path, capsys):
    shared_path("models", bench.MODELS["kws_dscnn"])
    out = tmp_path / "rows.json"
    assert bench.main(["--shared", str(SHARED), "--models", "kws_dscnn", "--no-int8", "--no-malloc-suite", "--json", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("# tiler-bench, ") and "cores" in printed[0]
    assert printed[1] == bench.HEADER
    assert printed[3 + len(bench.CONFIGS):][:2] == ["", bench.ARENA_HEADER]
    figures = json.loads(out.read_text())
    rows = figures["tiling"]
    assert [r["config"] for r in rows] == [c.label for c in bench.CONFIGS]
    for row, config, line in zip(rows, bench.CONFIGS, printed[3:]):
        module = import_onnx(shared_path("models", bench.MODELS["kws_dscnn"]), MemoryHierarchy.fromSizes(l1=config.l1, l2=config.l2))
        total = tile(module).report()["total"]
        assert (row["dma_bytes"], row["lower_bound_bytes"], row["est_cycles"]) == (
            total["dma_bytes"], total["lower_bound_bytes"], total["est_cycles"],
        )
        assert row["ratio"] == round(total["dma_bytes"] / total["lower_bound_bytes"], 4) and row["ratio"] >= 1
        assert f"| {row['dma_bytes']:,} | {row['lower_bound_bytes']:,} | {row['ratio']:.2f}x |" in line
        # the arenas of the same tiled model, allocated by the allocate pass (MiniMalloc)
        tiler = Tiler(MemoryHierarchy.fromSizes(l1=config.l1, l2=config.l2))
        tiler.tile(module := import_onnx(shared_path("models", bench.MODELS["kws_dscnn"]), tiler.memoryHierarchy))
        memory_map = tiler.allocate(module)
        arenas = [a for a in figures["arenas"] if a["config"] == config.label]
        assert [a["level"] for a in arenas] == ["L2", "L1"]
        for arena in arenas:
            blocks = memory_map.blocks(arena["level"])
            assert arena["lower_bound_bytes"] == lower_bound(blocks) <= arena["arena_bytes"]
            assert arena["arena_bytes"] == tiler.worstCaseBufferSize[arena["level"]] <= arena["capacity"]
            assert arena["blocks"] == len(blocks)
            assert arena["tetris_bytes"] >= arena["lower_bound_bytes"]
            ratio = arena["arena_bytes"] / arena["lower_bound_bytes"]
            assert f"| {arena['lower_bound_bytes']:,} | {arena['arena_bytes']:,} | {ratio:.3f}x |" in "\n".join(printed)


def test_malloc_suite_rows(tmp_path, capsys):
    """The suite runs every strategy on each `X.CAPACITY.csv`; placements are checked, and
    an instance MiniMalloc proves infeasible is reported unsolved with the reason."""
    shutil.copy(shared_path("minimalloc", "G.1048576.csv"), tmp_path / "G.1048576.csv")
    # two 6-byte buffers live together cannot share 10 bytes
    (tmp_path / "A.10.csv").write_text("id,lower,upper,size\n0,0,2,6\n1,1,3,6\n")
    rows = bench.run_suite(tmp_path, minimalloc_timeout=60, cpsat_seconds=5)
    assert [(r.instance, r.strategy) for r in rows] == [
        (i, s) for i in "AG" for s in ("MiniMalloc", "TetrisRandom", "TetrisCo-Opt")
    ]
    tiny = {r.strategy: r for r in rows if r.instance == "A"}
    assert not tiny["MiniMalloc"].solved and "infeasible" in tiny["MiniMalloc"].note.lower()
    assert tiny["TetrisRandom"].peak_bytes == 12 and not tiny["TetrisRandom"].solved
    g = {r.strategy: r for r in rows if r.instance == "G"}
    assert g["MiniMalloc"].solved and g["MiniMalloc"].peak_bytes <= 1048576
    assert g["MiniMalloc"].lower_bound_bytes == 1048576 and g["MiniMalloc"].blocks > 100
    printed = capsys.readouterr().out
    assert all(bench.suite_row(r) in printed for r in rows)


def test_bench_without_shared_folder_is_a_clear_error(tmp_path, capsys):
    assert bench.main(["--shared", str(tmp_path)]) == 1
    assert "models not found" in capsys.readouterr().err


def test_bench_puts_an_int8_row_beside_each_float_row(tmp_path, capsys):
    """KWS quantized by onnxruntime (QDQ, int8): one row per budget after the float ones,
    the same tiling pipeline, far fewer DMA bytes (8-bit tensors and weights)."""
    pytest.importorskip("onnxruntime")
    shared_path("models", bench.MODELS["kws_dscnn"])
    out = tmp_path / "rows.json"
    assert bench.main(["--shared", str(SHARED), "--models", "kws_dscnn", "--no-malloc-suite", "--no-c", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["tiling"]
    by_model = {m: [r for r in rows if r["model"] == m] for m in ("kws_dscnn", "kws_dscnn-int8")}
    assert [r["config"] for r in by_model["kws_dscnn-int8"]] == [c.label for c in bench.CONFIGS]
    for float_row, int8_row in zip(by_model["kws_dscnn"], by_model["kws_dscnn-int8"]):
        assert int8_row["ratio"] >= 1 and int8_row["dma_bytes"] * 4 < float_row["dma_bytes"]
    assert any(line.startswith("| kws_dscnn-int8 |") for line in capsys.readouterr().out.splitlines())


def test_bench_rows_of_deeploys_integer_kws(tmp_path):
    """Deeploy's integer KWS (an integer graph, 8-bit activations and weights): a row per
    budget, at least the compulsory traffic, and less DMA than the float KWS moves."""
    shared_path("models", bench.DEEPLOY_INTEGER["deeploy_kws-int8"])
    out = tmp_path / "rows.json"
    args = ["--shared", str(SHARED), "--models", "deeploy_kws-int8", "kws_dscnn", "--no-malloc-suite", "--no-c", "--json", str(out)]
    assert bench.main(args) == 0
    rows = json.loads(out.read_text())["tiling"]
    # printed beside its float counterpart, after the QDQ int8 rows, whatever the order asked
    assert list(dict.fromkeys(r["model"] for r in rows)) == ["kws_dscnn", "kws_dscnn-int8", "deeploy_kws-int8"]
    deeploy = [r for r in rows if r["model"] == "deeploy_kws-int8"]
    floats = [r for r in rows if r["model"] == "kws_dscnn"]
    assert [r["config"] for r in deeploy] == [c.label for c in bench.CONFIGS]
    for float_row, int_row in zip(floats, deeploy):
        assert int_row["ratio"] >= 1 and int_row["dma_bytes"] * 4 < float_row["dma_bytes"]


def test_bench_runs_the_generated_c_against_onnxruntime(tmp_path, capsys):
    """The C table: a time per run for the program and for onnxruntime, measured in the
    same run, and the object's sections: arenas exactly the allocated arenas' bytes."""
    import shutil

    if shutil.which("cc") is None and shutil.which("gcc") is None:  # pragma: no cover - .ci/run installs gcc
        pytest.skip("no C compiler; .ci/run installs gcc")
    pytest.importorskip("onnxruntime")
    out = tmp_path / "rows.json"
    args = ["--shared", str(SHARED), "--models", "cct_1_16_16_8", "--no-int8", "--no-malloc-suite", "--json", str(out)]
    assert bench.main(args) == 0
    data = json.loads(out.read_text())
    rows = data["c"]
    assert [r["config"] for r in rows] == [c.label for c in bench.CONFIGS]
    for r in rows:
        assert r["note"] == "" and r["c_seconds"] > 0 and r["ort_seconds"] > 0 and r["text_bytes"] > 0
        assert r["ratio"] == pytest.approx(r["c_seconds"] / r["ort_seconds"], rel=1e-3)
        arenas = [a for a in data["arenas"] if a["config"] == r["config"] and a["buffering"] == "double"]
        assert r["arena_bytes"] == sum(a["arena_bytes"] for a in arenas)
        assert r["const_bytes"] >= 4 * 1000  # CCT's float weights
    assert "| cct_1_16_16_8 | L1 8 KiB |" in capsys.readouterr().out
