"""The reference's external-tool path: with $MINIMALLOC_INSTALL_DIR set, `Tiler.minimalloc`
runs `$MINIMALLOC_INSTALL_DIR/minimalloc --capacity=N` on a CSV of `id,lower,upper,size`
and reads the `offset` column back. A stand-in binary (a script that stacks every block
above the previous one, which is always a valid placement when it fits) plays the tool."""

from __future__ import annotations

import re
import stat
import sys

import pytest
from conftest import ROOT
from tiling_helpers import assert_same, random_inputs, tile

from tiler_dialect import MemoryHierarchy
from tiler_passes.allocation.blocks import AllocationError, Block, check_placement
from tiler_passes.tiler import MemoryAllocationError, Tiler
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx

STACKING_TOOL = """#!{python}
import csv, sys
args = dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:])
with open(args["input"]) as f:
    rows = list(csv.DictReader(f))
with open("{log}", "a") as log:
    log.write(" ".join(sys.argv[1:]) + " " + ",".join(rows[0].keys()) + "\\n")
top = 0
with open(args["output"], "w", newline="") as f:
    out = csv.writer(f)
    out.writerow(["id", "lower", "upper", "size", "offset"])
    for r in rows:
        out.writerow([r["id"], r["lower"], r["upper"], r["size"], top])
        top += int(r["size"])
if top > int(args["capacity"]):
    sys.exit("does not fit")
"""


@pytest.fixture
def tool(tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    binary = tmp_path / "minimalloc"
    binary.write_text(STACKING_TOOL.format(python=sys.executable, log=log))
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("MINIMALLOC_INSTALL_DIR", str(tmp_path))
    return binary, log


def test_minimalloc_runs_the_external_tool_when_the_variable_is_set(tool):
    _, log = tool
    blocks = [Block("a", 0, 2, 8), Block("b", 1, 3, 12), Block("c", 3, 4, 4)]
    offsets = Tiler(MemoryHierarchy.default()).minimalloc(blocks, 64, "L1")
    assert offsets == [0, 8, 20]  # the tool's answer, not the native solver's (c would go to 0)
    check_placement(blocks, offsets, 64)
    # called once, the reference's way, with exactly the tool's four columns
    (call,) = log.read_text().splitlines()
    assert re.fullmatch(r"--capacity=64 --input=\S+/L1_in\.csv --output=\S+/L1_out\.csv id,lower,upper,size", call)


def test_allocate_through_the_external_tool_runs_correctly(tool):
    _, log = tool
    hierarchy = MemoryHierarchy.fromSizes(l1=64 * 1024)
    path = ROOT / "examples" / "small" / "conv_relu.onnxtxt"
    untiled = import_onnx(path, hierarchy)
    module = import_onnx(path, hierarchy)
    tile(module)
    tiler = Tiler(hierarchy)
    mmap = tiler.allocate(module)
    calls = log.read_text().splitlines()
    assert sorted(c.split()[0] for c in calls) == sorted(f"--capacity={hierarchy.memoryLevels[lvl].size}" for lvl in mmap.levels)
    # stacked: every level's arena is the sum of its blocks
    for level, blocks in mmap.levels.items():
        assert tiler.worstCaseBufferSize[level] == sum(b.block.size for b in blocks)
    feeds = random_inputs(untiled, seed=2)
    assert_same(execute(module, feeds), execute(untiled, feeds))


def test_a_failing_or_missing_tool_is_a_diagnostic(tool, tmp_path, monkeypatch):
    binary, _ = tool
    blocks = [Block("a", 0, 2, 40), Block("b", 1, 3, 40)]
    with pytest.raises(AllocationError, match="does not fit") as caught:
        Tiler(MemoryHierarchy.default()).minimalloc(blocks, 64, "L1")
    assert "failed (exit 1)" in str(caught.value)
    monkeypatch.setenv("MINIMALLOC_INSTALL_DIR", str(tmp_path / "nowhere"))
    hierarchy = MemoryHierarchy.fromSizes(l1=64 * 1024)
    module = import_onnx(ROOT / "examples" / "small" / "conv_relu.onnxtxt", hierarchy)
    tile(module)
    with pytest.raises(MemoryAllocationError, match="MINIMALLOC_INSTALL_DIR is set but .*nowhere/minimalloc is not an executable"):
        Tiler(hierarchy).allocate(module)


def test_tool_output_without_an_offset_is_a_diagnostic(tool):
    binary, _ = tool
    binary.write_text(f"#!{sys.executable}\nimport sys\nargs = dict(a.lstrip('-').split('=', 1) for a in sys.argv[1:])\n"
                      "open(args['output'], 'w').write('id,lower,upper,size\\n')\n")
    with pytest.raises(AllocationError, match="returned no offset for a"):
        Tiler(MemoryHierarchy.default()).minimalloc([Block("a", 0, 1, 4)], 64, "L1")
