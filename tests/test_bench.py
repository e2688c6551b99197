"""`tiler-bench` prints the BRIEF section 7 figures; its rows agree with the tile report."""

from __future__ import annotations

import json

from conftest import SHARED, shared_path
from tiling_helpers import tile

from tiler_dialect import MemoryHierarchy
from tiler_tools import bench
from tiler_tools.onnx_frontend import import_onnx


def test_bench_rows_match_the_tile_report(tmp_path, capsys):
    shared_path("models", bench.MODELS["kws_dscnn"])
    out = tmp_path / "rows.json"
    assert bench.main(["--shared", str(SHARED), "--models", "kws_dscnn", "--json", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("# tiler-bench, ") and "cores" in printed[0]
    assert printed[1] == bench.HEADER and len(printed) == 3 + len(bench.CONFIGS)
    rows = json.loads(out.read_text())
    assert [r["config"] for r in rows] == [c.label for c in bench.CONFIGS]
    for row, config, line in zip(rows, bench.CONFIGS, printed[3:]):
        module = import_onnx(shared_path("models", bench.MODELS["kws_dscnn"]), MemoryHierarchy.fromSizes(l1=config.l1, l2=config.l2))
        total = tile(module).report()["total"]
        assert (row["dma_bytes"], row["lower_bound_bytes"], row["est_cycles"]) == (
            total["dma_bytes"], total["lower_bound_bytes"], total["est_cycles"],
        )
        assert row["ratio"] == round(total["dma_bytes"] / total["lower_bound_bytes"], 4) and row["ratio"] >= 1
        assert f"| {row['dma_bytes']:,} | {row['lower_bound_bytes']:,} | {row['ratio']:.2f}x |" in line


def test_bench_without_shared_folder_is_a_clear_error(tmp_path, capsys):
    assert bench.main(["--shared", str(tmp_path)]) == 1
    assert "models not found" in capsys.readouterr().err
