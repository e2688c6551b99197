"""The memory hierarchy: the reference's API, validation, JSON, the IR attribute and the
set-memory-hierarchy pass."""

from __future__ import annotations

import json

import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.parser import Parser
from xdsl.printer import Printer

from tiler_dialect import (
    HIERARCHY_ATTR_NAME,
    HierarchyError,
    MemoryHierarchy,
    MemoryHierarchyAttr,
    MemoryLevel,
    hierarchy_of,
    memory_level_of,
    parse_bytes,
)
from tiler_dialect.dialect import Tiler


def chain() -> MemoryHierarchy:
    h = MemoryHierarchy(
        [MemoryLevel("L3", ["L2"], 8 << 20), MemoryLevel("L2", ["L3", "L1"], 1 << 20), MemoryLevel("L1", ["L2"], 64 << 10)]
    )
    h.setDefaultMemoryLevel("L2")
    return h


def test_reference_api():
    h = chain()
    assert list(h.memoryLevels) == ["L3", "L2", "L1"]
    assert h.getDefaultMemoryLevel().name == "L2"
    assert h.getComputeMemoryLevel().name == "L1"
    assert h.memoryLevels["L1"].size == 65536
    assert h.memoryLevels["L2"].neighbourNames == ["L3", "L1"]
    assert h.bfs("L3", "L1") == ["L3", "L2", "L1"]
    assert h.bfs("L1", "L1") == ["L1"]
    assert h.homePath() == ["L2", "L1"]
    h.setDefaultMemoryLevel("L3")
    assert h.homePath() == ["L3", "L2", "L1"]
    assert MemoryLevel("A", ["B"], 4) == MemoryLevel("A", ["B"], 4)
    assert MemoryLevel("A", ["B"], 4) != MemoryLevel("A", ["B"], 8)


def test_links_are_undirected():
    # a DMA moves data both ways: a link listed on one side is enough
    h = MemoryHierarchy([MemoryLevel("DRAM", [], 1 << 24), MemoryLevel("TCDM", ["DRAM"], 1 << 16)])
    assert h.bfs("DRAM", "TCDM") == ["DRAM", "TCDM"]


def test_branching_hierarchy_shortest_path():
    h = MemoryHierarchy(
        [
            MemoryLevel("L3", ["L2", "SPI"], 1 << 23),
            MemoryLevel("SPI", ["L3"], 1 << 22),
            MemoryLevel("L2", ["L3", "L1"], 1 << 20),
            MemoryLevel("L1", ["L2"], 1 << 16),
        ]
    )
    h.setDefaultMemoryLevel("SPI")
    assert h.homePath() == ["SPI", "L3", "L2", "L1"]


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: MemoryLevel("L1", ["L2"], 0), "must be from 1 to 1099511627776 bytes (1 TiB), got 0"),
        (lambda: MemoryLevel("L1", ["L2"], -5), "must be from 1 to"),
        (lambda: MemoryLevel("L1", ["L2"], 2**70), "got 1180591620717411303424"),
        (lambda: MemoryLevel("L1", ["L2"], 1.5), "must be an integer number of bytes"),
        (lambda: MemoryLevel("L1", ["L1"], 4), "cannot be its own neighbour"),
        (lambda: MemoryLevel("", [], 4), "must be an identifier of letters, digits and '_'"),
        (lambda: MemoryLevel('L"1', [], 4), """got 'L"1'"""),
        (lambda: MemoryLevel("L\n1", [], 4), "got 'L\\n1'"),
        (lambda: MemoryLevel("1L", [], 4), "not starting with a digit"),
        (lambda: MemoryHierarchy([]), "at least one level"),
        (lambda: MemoryHierarchy([MemoryLevel("L1", ["L9"], 4)]), "unknown neighbour(s) 'L9'"),
        (
            lambda: MemoryHierarchy([MemoryLevel("L1", [], 4), MemoryLevel("L2", [], 4)]),
            "'L2' cannot be reached from 'L1'",
        ),
        (lambda: MemoryHierarchy([MemoryLevel("L1", [], 4), MemoryLevel("L1", [], 8)]), "defined twice"),
        (lambda: chain().setDefaultMemoryLevel("L0"), "default memory level 'L0' is not a level"),
        (lambda: MemoryHierarchy([MemoryLevel("A", [], 4)]).getDefaultMemoryLevel(), "no default memory level"),
        (lambda: MemoryHierarchy([MemoryLevel("A", [], 4)]).getComputeMemoryLevel(), "no compute memory level"),
    ],
)
def test_invalid_hierarchies_are_clear_errors(build, message):
    with pytest.raises(HierarchyError) as e:
        build()
    assert message in str(e.value)


def test_default_and_flags():
    d = MemoryHierarchy.default()
    assert {n: l.size for n, l in d.memoryLevels.items()} == {"L3": 8 << 20, "L2": 1 << 20, "L1": 64 << 10}
    assert (d.defaultName, d.computeName) == ("L2", "L1")
    f = MemoryHierarchy.fromSizes(l1=8192, default="L3")
    assert f.memoryLevels["L1"].size == 8192 and f.memoryLevels["L2"].size == 1 << 20
    assert f.defaultName == "L3"


@pytest.mark.parametrize("text, value", [("65536", 65536), ("64K", 65536), ("64KiB", 65536), ("1M", 1 << 20), ("2MiB", 2 << 20), ("12B", 12), ("4G", 4 << 30)])
def test_parse_bytes(text, value):
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text", ["", "1.5K", "-4", "4T", "K", "2048G", "9" * 400, "٣"])
def test_parse_bytes_rejects(text):
    with pytest.raises(ValueError):
        parse_bytes(text)


def test_json_round_trip(tmp_path):
    h = chain()
    path = tmp_path / "h.json"
    path.write_text(json.dumps(h.toJSON()))
    assert MemoryHierarchy.load(path) == h


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "expected a JSON object"),
        ({"levels": []}, "'levels' must be a non-empty list"),
        ({"levels": [{"name": "L1", "size": 4}], "default": "L1"}, "level #0 has no 'neighbours'"),
        ({"levels": [{"name": "L1", "size": 4, "neighbours": [], "speed": 1}], "default": "L1"}, "unknown key(s) ['speed']; known: name, size, neighbours"),
        ({"levels": [{"name": "L1", "size": 4, "neighbours": []}]}, "no 'default' level"),
        ({"levels": [{"name": "L1", "size": 4, "neighbours": []}], "default": "L1", "extra": 1}, "unknown key(s) ['extra']; known: levels"),
        ({"levels": [{"name": "L1", "size": "4X", "neighbours": []}], "default": "L1"}, "not a byte count"),
        ({"levels": [{"name": "A", "size": 4, "neighbours": []}], "default": "A"}, "no compute memory level"),
    ],
)
def test_json_errors_name_the_file_and_problem(tmp_path, data, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(HierarchyError) as e:
        MemoryHierarchy.load(path)
    assert str(path) in str(e.value) and message in str(e.value)


def test_json_not_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{levels")
    with pytest.raises(HierarchyError, match="not valid JSON"):
        MemoryHierarchy.load(path)
    with pytest.raises(HierarchyError, match="cannot read hierarchy file"):
        MemoryHierarchy.load(tmp_path / "missing.json")


def _ctx() -> Context:
    ctx = Context()
    ctx.load_dialect(Tiler)
    return ctx


def test_attribute_round_trip():
    attr = MemoryHierarchyAttr.from_hierarchy(chain())
    assert attr.to_hierarchy() == chain()
    import io

    out = io.StringIO()
    Printer(stream=out).print_attribute(attr)
    text = out.getvalue()
    assert text.startswith('#tiler.hierarchy<default = "L2", compute = "L1", levels = [<"L3", size = 8388608')
    assert Parser(_ctx(), text).parse_attribute() == attr


def test_module_hierarchy_lookup_and_default():
    module = ModuleOp([])
    assert hierarchy_of(module) == MemoryHierarchy.default()
    h = MemoryHierarchy.fromSizes(l1=4096)
    module.attributes[HIERARCHY_ATTR_NAME] = MemoryHierarchyAttr.from_hierarchy(h)
    assert hierarchy_of(module) == h


def test_set_memory_hierarchy_pass_moves_home_tensors():
    from tiler_passes.set_memory_hierarchy import SetMemoryHierarchyPass
    from tiler_tools.onnx_frontend import import_onnx
    from tiler_tools.onnx_frontend.loading import parse_model_text

    model = parse_model_text(
        '<ir_version: 8, opset_import: ["" : 17]> g (float[1,4] X) => (float[1,4] Y)'
        " <float[4] W = {1.0, 2.0, 3.0, 4.0}> { Y = Add(X, W) }",
        "test",
    )
    module = import_onnx(model)
    SetMemoryHierarchyPass(l1=2048, default_mem_level="L3").apply(_ctx(), module)
    module.verify()
    h = hierarchy_of(module)
    assert h.defaultName == "L3" and h.memoryLevels["L1"].size == 2048
    levels = {
        memory_level_of(r.type)
        for op in module.walk()
        for r in op.results
        if isinstance(r.type, TensorType)
    }
    assert levels == {"L3"}
