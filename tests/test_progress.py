"""Progress on stderr for long compiles (a bar on a terminal, plain lines otherwise,
nothing with -q or for short compiles) and --timing's table of seconds per stage."""

from __future__ import annotations

import io
import json
import re

import pytest
from conftest import ROOT, run_tool

from tiler_passes import progress
from tiler_tools import tiler_opt

KWS = ROOT / "examples" / "kws_dscnn" / "kws_dscnn_float32.onnx"


def _steps(reporter: progress.ProgressReporter) -> None:
    with progress.reporting(reporter, None), progress.stage("choose-tiles"):
        progress.step(1, 2, "conv1 (tiler.conv)", "4 tiles", 0.25)
        progress.step(2, 2, "relu1 (tiler.relu)", "2 tiles", 0.01)


def test_plain_lines_name_stage_op_tiles_and_seconds():
    out = io.StringIO()
    _steps(progress.ProgressReporter(out, "tiler-opt", interactive=False, min_ops=0))
    lines = out.getvalue().splitlines()
    assert lines[:2] == [
        "tiler-opt: choose-tiles 1/2 conv1 (tiler.conv): 4 tiles, 0.25 s",
        "tiler-opt: choose-tiles 2/2 relu1 (tiler.relu): 2 tiles, 0.01 s",
    ]
    assert len(lines) == 3 and re.fullmatch(r"tiler-opt: choose-tiles done in \d+\.\d\d s", lines[2])


def test_interactive_bar_rewrites_one_line_and_clears_it():
    out = io.StringIO()
    _steps(progress.ProgressReporter(out, "tiler-opt", interactive=True, min_ops=0))
    text, done = out.getvalue().rsplit("tiler-opt: choose-tiles done in ", 1)
    assert "\n" not in text and text.count("\r") >= 3 and re.fullmatch(r"\d+\.\d\d s\n", done)
    assert "[##########..........] 1/2 conv1 (tiler.conv): 4 tiles" in text
    assert "[####################] 2/2 relu1" in text
    assert text.endswith("\r") and text.rsplit("\r", 2)[-2].strip() == ""  # cleared at the end


def test_nothing_for_stages_of_few_ops():
    out = io.StringIO()
    reporter = progress.ProgressReporter(out, "tiler-opt", interactive=False, min_ops=3)
    _steps(reporter)
    with progress.reporting(reporter, None), progress.stage("allocate"):
        pass
    assert out.getvalue() == ""


def test_no_reporter_no_output(capsys):
    with progress.stage("tile"):
        progress.step(1, 1, "x", "1 tiles", 0.0)
    assert capsys.readouterr() == ("", "")


def test_tiler_opt_reports_every_layer_with_its_tiles(tmp_path, monkeypatch):
    """A stage of MIN_OPS ops or more (0 here) prints one line per layer, with the tile
    count the tile report gives that layer, then the end of each later stage."""
    monkeypatch.setattr(progress, "MIN_OPS", 0)
    report = tmp_path / "tiles.json"
    code, _, err = run_tool(tiler_opt.main, [str(KWS), "--l1", "32K", "--tile", "--tile-report", str(report),
                                             "-o", str(tmp_path / "t.mlir")])
    assert code == 0, err
    lines = [l for l in err.splitlines() if l.startswith("tiler-opt: choose-tiles ")]
    ops = json.loads(report.read_text())["ops"]
    assert len(lines) == len(ops)
    for i, (line, op) in enumerate(zip(lines, ops), 1):
        m = re.fullmatch(rf"tiler-opt: choose-tiles {i}/{len(ops)} (.+) \((tiler\.\w+)\): (\d+) tiles(, same as an earlier layer)?, \d+\.\d\d s", line)
        assert m, line
        assert (m[1], m[2], int(m[3])) == (op["name"], op["op"], op["tiles"])
    assert any(", same as an earlier layer" in l for l in lines)  # KWS repeats its blocks
    assert re.search(r"^tiler-opt: tile done in \d+\.\d\d s$", err, re.M)
    assert re.search(r"^tiler-opt: print done in \d+\.\d\d s$", err, re.M)

    monkeypatch.setattr(progress, "MIN_OPS", len(ops) + 1)
    code, _, few = run_tool(tiler_opt.main, [str(KWS), "--l1", "32K", "--tile", "-o", str(tmp_path / "f.mlir")])
    assert code == 0 and few == ""
    monkeypatch.setattr(progress, "MIN_OPS", 0)
    code, _, quiet = run_tool(tiler_opt.main, [str(KWS), "--l1", "32K", "--tile", "-q", "-o", str(tmp_path / "q.mlir")])
    assert code == 0 and quiet == ""
    assert (tmp_path / "q.mlir").read_bytes() == (tmp_path / "t.mlir").read_bytes()


def _timing_table(err: str) -> dict[str, float]:
    lines = err.split("tiler-opt: timing\n", 1)[1].splitlines()
    table = {}
    for line in lines:
        m = re.fullmatch(r"  (\s*)(\S.*?)\s+(\d+\.\d{3}) s", line)
        assert m, line
        table[("  " * (len(m[1]) // 2)) + m[2]] = float(m[3])
    return table


def test_timing_prints_seconds_per_stage(tmp_path):
    out = tmp_path / "a.mlir"
    code, _, err = run_tool(tiler_opt.main, [str(KWS), "--l1", "32K", "--tile", "--allocate", "--timing", "-o", str(out)])
    assert code == 0, err
    table = _timing_table(err)
    assert list(table) == [
        "import", "verify", "tile", "  choose-tiles", "  apply-tiles", "  multi-buffer",
        "allocate", "  memory map", "  placement", "print", "other", "total",
    ]
    top = sum(s for k, s in table.items() if not k.startswith(" ") and k not in ("other", "total"))
    assert top <= table["total"] + 0.002
    assert table["tile"] >= table["  choose-tiles"] + table["  apply-tiles"] + table["  multi-buffer"] - 0.003
    assert table["  choose-tiles"] > 0
    code, _, plain = run_tool(tiler_opt.main, [str(KWS), "--l1", "32K", "--tile", "--allocate", "-o", str(tmp_path / "b.mlir")])
    assert code == 0 and "timing" not in plain
    assert out.read_bytes() == (tmp_path / "b.mlir").read_bytes()  # --timing changes no output


def test_timing_of_a_pipeline_names_its_passes(tmp_path):
    code, _, err = run_tool(tiler_opt.main, [str(KWS), "-p", "choose-tiles{l1=32K},apply-tiles", "--timing",
                                             "-o", str(tmp_path / "p.mlir")])
    assert code == 0, err
    assert [k for k in _timing_table(err) if k not in ("verify",)] == [
        "import", "choose-tiles", "apply-tiles", "print", "other", "total",
    ]


@pytest.mark.parametrize("flag", ["-q", "--quiet"])
def test_quiet_is_a_flag(flag, tmp_path):
    code, _, err = run_tool(tiler_opt.main, [str(KWS), flag, "-o", str(tmp_path / "m.mlir")])
    assert code == 0 and err == ""
