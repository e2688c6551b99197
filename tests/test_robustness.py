"""Bad input never gets a traceback, a hang, a changed input or a partial output.

One regression test per class of defect a hostile-user run found (issue 8): outputs that
named an input, outputs left by failing commands, external data read from outside the
model's folder, parsers that spun on truncated IR, internal errors on odd ONNX, hierarchy
files, flags and pipelines, CSV output that did not round-trip, and models that cannot fit
their home level at all. The fuzz suite (tests/fuzz) hunts for new ones."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import ROOT, run_tool
from onnx import TensorProto, helper, numpy_helper

from tiler_tools import tiler_malloc, tiler_opt, tiler_run
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import ImportFailure, import_onnx
from tiler_tools.tiler_run import load_module

SMALL = ROOT / "examples" / "small" / "conv_relu.onnxtxt"
RELU = '<ir_version: 8, opset_import: ["" : 17]>\ng (float[2,4] X) => (float[2,4] Y) { Y = Relu(X) }\n'


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def opt(*args) -> tuple[int, str, str]:
    return run_tool(tiler_opt.main, [str(a) for a in args])


def assert_clear_error(code: int, err: str, expected_code: int = 1, tool: str = "tiler-opt") -> None:
    assert code == expected_code, err
    assert f"{tool}: error: " in err and "Traceback" not in err and "internal error" not in err, err


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.onnxtxt"
    path.write_bytes(SMALL.read_bytes())
    return path


# -- data loss: outputs never name an input ----------------------------------------------


@pytest.mark.parametrize("flag", ["-o", "--memory-map", "--plot-mem-alloc", "--tile-report"])
@pytest.mark.parametrize("as_ir", [False, True])
def test_no_output_option_may_name_the_input(tmp_path, small, flag, as_ir):
    model = small
    if as_ir:
        model = tmp_path / "small.mlir"
        assert opt(small, "-o", model)[0] == 0
    before = digest(model)
    out = tmp_path / "out.mlir"
    args = [model, "--l1", "768", "--tile", "--allocate", flag, model]
    if flag != "-o":
        args += ["-o", out]
    code, _, err = opt(*args)
    assert_clear_error(code, err)
    assert f"{flag} {model} would overwrite the input {model}" in err
    assert digest(model) == before and not out.exists()


def test_outputs_may_not_name_the_hierarchy_file_or_each_other(tmp_path, small):
    hierarchy = tmp_path / "chip.json"
    hierarchy.write_text(json.dumps({
        "levels": [{"name": "L2", "size": 65536, "neighbours": ["L1"]}, {"name": "L1", "size": 768, "neighbours": []}],
        "default": "L2",
    }))
    before = digest(hierarchy)
    code, _, err = opt(small, "--hierarchy", hierarchy, "--tile", "--tile-report", hierarchy)
    assert_clear_error(code, err)
    assert "would overwrite the input" in err and digest(hierarchy) == before
    code, _, err = opt(small, "--tile", "--tile-report", tmp_path / "a.json", "--memory-map", tmp_path / "." / "a.json", "--allocate")
    assert_clear_error(code, err)
    assert "name the same file" in err and not (tmp_path / "a.json").exists()


def test_pass_options_may_not_name_an_input(tmp_path, small):
    before = digest(small)
    code, _, err = opt(small, "-p", f'tile{{l1=768 report="{small}"}}')
    assert_clear_error(code, err)
    assert f"the tile report {small} would overwrite the input" in err
    assert digest(small) == before


def test_outputs_appear_only_when_the_whole_command_succeeds(tmp_path, small):
    # each tensor fits L2 = 1200 bytes and so do the constants, but not what is live at once:
    # tiling succeeds, allocation fails, and the report tiling wrote must not appear
    report, out, mmap = tmp_path / "tiles.json", tmp_path / "out.mlir", tmp_path / "map.json"
    code, _, err = opt(small, "--l1", "768", "--l2", "1200", "--tile", "--allocate", "--tile-report", report,
                       "--memory-map", mmap, "-o", out)
    assert_clear_error(code, err)
    assert "L2 (1200 bytes) cannot hold what is live" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.onnxtxt"]
    # and with enough L2 every output lands
    code, _, err = opt(small, "--l1", "768", "--tile", "--allocate", "--tile-report", report, "--memory-map", mmap, "-o", out)
    assert code == 0, err
    assert report.exists() and out.exists() and mmap.exists()


def test_output_in_a_missing_directory_fails_before_any_work(tmp_path, small):
    code, _, err = opt(small, "--tile", "--tile-report", tmp_path / "nowhere" / "t.json")
    assert_clear_error(code, err)
    assert "the directory" in err and "does not exist" in err


def test_tiler_run_outputs_only_on_success_and_never_over_an_input(tmp_path, small):
    inputs = tmp_path / "in.npz"
    np.savez(inputs, image=np.ones((1, 2, 6, 6), np.float32))
    before = digest(inputs)
    code, _, err = run_tool(tiler_run.main, [str(small), "--inputs", str(inputs), "--outputs", str(inputs)])
    assert_clear_error(code, err, tool="tiler-run")
    assert digest(inputs) == before
    golden = tmp_path / "golden.npz"
    np.savez(golden, logits=np.zeros((1, 3), np.float32))
    out = tmp_path / "out.npz"
    code, _, _ = run_tool(tiler_run.main, [str(small), "--inputs", str(inputs), "--outputs", str(out), "--check", str(golden)])
    assert code == 1 and not out.exists()  # a mismatch is a failure: no output
    code, _, err = run_tool(tiler_run.main, [str(small), "--inputs", str(inputs), "--outputs", str(out)])
    assert code == 0 and out.exists(), err


# -- confinement: external data only from inside the model's folder ------------------------


def _relu_plus_constant(tensor: TensorProto, as_constant_node: bool) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    nodes, inits = [], []
    if as_constant_node:
        nodes.append(helper.make_node("Constant", [], ["c"], value=tensor))
    else:
        inits.append(tensor)
    nodes += [helper.make_node("Add", ["x", "c"], ["s"]), helper.make_node("Relu", ["s"], ["y"])]
    graph = helper.make_graph(nodes, "g", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _external(location: str, values: np.ndarray, offset: int = 0) -> TensorProto:
    t = TensorProto(name="c", data_type=TensorProto.FLOAT, dims=list(values.shape))
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(values.nbytes))):
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    return t


@pytest.mark.parametrize("as_constant_node", [False, True])
def test_external_data_beside_the_model_is_read_from_the_models_folder(tmp_path, monkeypatch, as_constant_node):
    values = np.array([1, -2, 3, -4], np.float32)
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\0" * 8 + values.tobytes())
    onnx.save(_relu_plus_constant(_external("weights.bin", values, offset=8), as_constant_node), folder / "m.onnx")
    # a decoy of the same name in the current directory must not be read
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "weights.bin").write_bytes(np.full(6, 100, np.float32).tobytes())
    monkeypatch.chdir(elsewhere)
    x = np.array([0.5, 0.5, 0.5, 0.5], np.float32)
    got = execute(import_onnx(folder / "m.onnx"), {"x": x})["y"]
    np.testing.assert_array_equal(got, np.maximum(x + values, 0))
    code, out, err = opt(folder / "m.onnx")
    assert code == 0, err


@pytest.mark.parametrize("as_constant_node", [False, True])
@pytest.mark.parametrize("where", ["parent", "absolute", "symlink", "missing", "beyond-end"])
def test_external_data_outside_the_folder_is_a_clear_error(tmp_path, where, as_constant_node):
    values = np.array([1, 2, 3, 4], np.float32)
    folder = tmp_path / "model"
    folder.mkdir()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(values.tobytes())
    location = {
        "parent": "../secret.bin", "absolute": str(secret), "symlink": "link.bin", "missing": "none.bin",
        "beyond-end": "short.bin",
    }[where]
    if where == "symlink":
        (folder / "link.bin").symlink_to(secret)
    if where == "beyond-end":
        (folder / "short.bin").write_bytes(b"\0" * 4)
    onnx.save(_relu_plus_constant(_external(location, values), as_constant_node), folder / "m.onnx")
    code, _, err = opt(folder / "m.onnx")
    assert_clear_error(code, err)
    expected = {
        "parent": "is outside the model's folder", "absolute": "is an absolute path",
        "symlink": "is outside the model's folder", "missing": "not found in", "beyond-end": "lies beyond the end",
    }[where]
    assert expected in err


def test_external_data_without_a_folder_is_a_clear_error(tmp_path):
    model = _relu_plus_constant(_external("weights.bin", np.zeros(4, np.float32)), True)
    with pytest.raises(ImportFailure, match="no folder to find it in"):
        import_onnx(model)


# -- hangs: truncated IR fails fast with a located error -----------------------------------


def test_every_truncation_inside_a_dense_literal_fails_fast(tmp_path, small):
    ir = tmp_path / "small.mlir"
    assert opt(small, "-o", ir)[0] == 0
    text = ir.read_text()
    start = text.index('dense<"0x')
    cuts = list(range(start, start + 120)) + list(range(0, len(text), max(1, len(text) // 60)))
    for cut in cuts:
        piece = tmp_path / "cut.mlir"
        piece.write_text(text[:cut])
        began = time.monotonic()
        code, _, err = opt(piece)
        assert time.monotonic() - began < 5, f"cut at {cut} took too long"
        assert_clear_error(code, err)
        assert "cut.mlir:" in err, err  # a located parse error
        code, _, err = run_tool(tiler_run.main, [str(piece), "--inputs", str(tmp_path / "none.npz")])
        assert_clear_error(code, err, tool="tiler-run")


def test_parse_errors_clip_long_lines(tmp_path):
    ir = tmp_path / "long.mlir"
    ir.write_text('builtin.module {\n  %0 = arith.constant dense<"0x' + "AB" * 50_000)
    code, _, err = opt(ir)
    assert_clear_error(code, err)
    assert "long.mlir:2:" in err and len(err) < 1000


# -- internal errors on odd ONNX -----------------------------------------------------------


def _pool_model(mutate) -> onnx.ModelProto:
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[1, 1])
    mutate(node)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _retype_float(node):
    a = node.attribute[0]
    del a.ints[:]
    a.type, a.f = onnx.AttributeProto.FLOAT, 2.0


def _undefined(node):
    node.attribute[0].type = onnx.AttributeProto.UNDEFINED


def _int_without_value(node):
    a = node.attribute[1]
    del a.ints[:]
    a.type = onnx.AttributeProto.INT


def _duplicate(node):
    node.attribute.append(node.attribute[0])


@pytest.mark.parametrize("mutate, message", [
    (_retype_float, "attribute 'kernel_shape' is FLOAT, but the op declares it INTS"),
    (_undefined, "attribute 'kernel_shape' has no (or an unknown) type"),
    (_int_without_value, "attribute 'strides' is INT, but the op declares it INTS"),
    (_duplicate, "attribute 'kernel_shape' is given twice"),
])
def test_attributes_of_the_wrong_type_or_without_a_value(tmp_path, mutate, message):
    path = tmp_path / "m.onnx"
    onnx.save(_pool_model(mutate), path)
    code, _, err = opt(path)
    assert_clear_error(code, err)
    assert message in err


def test_attribute_without_its_value_on_an_op_without_schema(tmp_path):
    def custom(node):
        node.domain = "my.domain"
        node.attribute[1].type = onnx.AttributeProto.INT  # holds ints, declares int, has no i
    model = _pool_model(custom)
    model.opset_import.append(helper.make_opsetid("my.domain", 1))
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    code, _, err = opt(path)
    assert_clear_error(code, err)
    assert "attribute 'strides' (INT) has no value" in err


def test_value_names_that_are_not_utf8(tmp_path):
    model = helper.make_model(
        helper.make_graph([helper.make_node("Relu", ["x"], ["yy"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("yy", TensorProto.FLOAT, [2])]),
        opset_imports=[helper.make_opsetid("", 17)], ir_version=8,
    )
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString().replace(b"yy", b"\xff\xfe"))
    code, _, err = opt(path)
    assert_clear_error(code, err)
    assert "is not valid UTF-8 text" in err


def test_names_that_are_not_ssa_name_hints_keep_their_onnx_names(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["%0"], ["%1"]), helper.make_node("Relu", ["%1"], ["a b\"c"])], "g",
        [helper.make_tensor_value_info("%0", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("a b\"c", TensorProto.FLOAT, [2])],
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    code, out, err = opt(path)
    assert code == 0, err
    assert '{tiler.name = "%0"}' in out and '{tiler.name = "a b\\22c"}' in out
    ir = tmp_path / "m.mlir"
    ir.write_text(out)
    assert opt(ir)[1] == out  # re-prints identically
    got = execute(import_onnx(path), {"%0": np.array([-1, 2], np.float32)})
    np.testing.assert_array_equal(got['a b"c'], [0, 2])


def test_onnx_text_that_is_not_utf8(tmp_path):
    path = tmp_path / "m.onnxtxt"
    path.write_bytes(RELU.encode().replace(b"Relu(X) }", b"Relu(X) } # \xff"))
    code, _, err = opt(path)
    assert_clear_error(code, err)
    assert "ONNX text must be UTF-8" in err


# -- hierarchy files --------------------------------------------------------------------------


def _levels(name="L1", size=65536) -> dict:
    return {"levels": [{"name": "L2", "size": 1 << 20, "neighbours": [name]}, {"name": name, "size": size, "neighbours": []}],
            "default": "L2", "compute": name}


@pytest.mark.parametrize("content, message", [
    (json.dumps(_levels(size=2**70)), "must be from 1 to 1099511627776 bytes (1 TiB)"),
    (json.dumps(_levels(size="9" * 400)), "is more than the 1099511627776 (1 TiB) a level may have"),
    ('{"levels": [{"name": "L1", "size": ' + "9" * 5000 + ', "neighbours": []}], "default": "L1"}', "not valid JSON"),
    (json.dumps(_levels(name='L"1')), "must be an identifier of letters, digits and '_'"),
    (json.dumps(_levels(name="L\n1")), "must be an identifier of letters, digits and '_'"),
    (json.dumps({**_levels(), "default": ["L2"]}), "default memory level ['L2'] is not a level"),
    ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
    (b"\x00\x01\x02\xff binary", "not UTF-8 text"),
    (json.dumps(_levels()).encode("utf-16"), "not UTF-8 text"),
])
def test_hierarchy_files_that_break_the_rules(tmp_path, small, content, message):
    path = tmp_path / "chip.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, _, err = opt(small, "--hierarchy", path)
    assert_clear_error(code, err)
    assert message in err and len(err) < 600


def test_hierarchy_file_with_a_byte_order_mark_is_read(tmp_path, small):
    path = tmp_path / "chip.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(_levels()).encode())
    code, out, err = opt(small, "--hierarchy", path)
    assert code == 0, err


# -- flags and pipelines --------------------------------------------------------------------


@pytest.mark.parametrize("flags, message", [
    (["--l1", "99999999999999999999999999"], "argument --l1: '99999999999999999999999999' bytes is more than"),
    (["--seed", str(2**80)], f"argument --seed: seed must be an integer from 0 to 2147483647, got {2**80}"),
    (["--seed", "-1"], "argument --seed: seed must be an integer from 0 to 2147483647, got -1"),
    (["--alignment", "3"], "argument --alignment: alignment must be a power of two"),
    (["--alignment", str(2**40)], "argument --alignment: alignment must be a power of two"),
    (["--alloc-timeout", "nan"], "argument --alloc-timeout: timeout must be a positive number"),
    (["--alloc-timeout", "0"], "argument --alloc-timeout: timeout must be a positive number"),
])
def test_flag_values_out_of_range_are_usage_errors(small, flags, message):
    code, _, err = opt(small, *flags, "--tile")
    assert code == 2 and message in err, err


@pytest.mark.parametrize("pipeline, message", [
    ("garbage-pass", "-p: unknown pass 'garbage-pass'. The tiler's passes: set-memory-hierarchy, choose-tiles, apply-tiles, multi-buffer, tile, allocate"),
    ("tiel", "-p: unknown pass 'tiel'; did you mean 'tile'?"),
    ("tile{l1=abc}", "-p: pass 'tile': l1: not a byte count: 'abc'"),
    ("tile{bogus=1}", "-p: pass 'tile' has no option 'bogus'. Its options: search-strategy,"),
    ("tile{seed=1208925819614629174706176}", "-p: pass 'tile': seed must be an integer from 0 to 2147483647"),
    ("allocate{timeout=0}", "-p: pass 'allocate': timeout must be a positive number of seconds"),
    ("allocate{strategy=Best}", "-p: pass 'allocate': unknown allocation strategy 'Best'; known: MiniMalloc"),
    ("tile{l1=8K", "-p: Error parsing pass pipeline specification"),
    ("canonicalize{bogus=1}", "-p: pass 'canonicalize' has no option 'bogus'"),
])
def test_pipeline_mistakes_are_usage_errors(small, pipeline, message):
    code, _, err = opt(small, "-p", pipeline)
    assert_clear_error(code, err, expected_code=2)
    assert message in err


def test_pass_size_options_take_the_flags_forms(small):
    by_flag = opt(small, "--l1", "1K", "--tile")
    by_option = opt(small, "-p", "tile{l1=1K}")
    by_bytes = opt(small, "-p", "tile{l1=1024}")
    assert by_flag[0] == by_option[0] == by_bytes[0] == 0
    assert by_flag[1] == by_option[1] == by_bytes[1]


@pytest.mark.parametrize("home", ["L1", "L2", "L3"])
def test_any_home_level_tiles_and_allocates(tmp_path, small, home):
    out = tmp_path / "out.mlir"
    code, _, err = opt(small, "--default-mem-level", home, "--tile", "--allocate", "-o", out)
    assert code == 0, err
    inputs = tmp_path / "in.npz"
    image = np.random.default_rng(0).standard_normal((1, 2, 6, 6)).astype(np.float32)
    np.savez(inputs, image=image)
    want = execute(import_onnx(SMALL), {"image": image})["logits"]
    golden = tmp_path / "golden.npz"
    np.savez(golden, logits=want)
    code, _, err = run_tool(tiler_run.main, [str(out), "--inputs", str(inputs), "--check", str(golden)])
    assert code == 0, err


# -- tiler-malloc -------------------------------------------------------------------------------


def test_malloc_quotes_ids_so_its_csv_reads_back(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('id,lower,upper,size\n"a,b",0,1,4\n"c\nd",0,2,4\n"e""f",1,2,2\n')
    out = tmp_path / "out.csv"
    assert tiler_malloc.main([str(src), "--capacity", "64", "-o", str(out)]) == 0
    from tiler_passes.allocation.blocks import read_csv

    assert [b.id for b in read_csv(out.read_text())] == ["a,b", "c\nd", 'e"f']
    again = tmp_path / "again.csv"
    assert tiler_malloc.main([str(out), "--capacity", "64", "-o", str(again)]) == 0
    assert again.read_text() == out.read_text()


def test_malloc_refuses_to_overwrite_its_input_and_bad_flags_are_usage_errors(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("id,lower,upper,size\na,0,1,4\n")
    before = digest(src)
    assert tiler_malloc.main([str(src), "--capacity", "64", "-o", str(src)]) == 1
    assert digest(src) == before
    with pytest.raises(SystemExit) as e:
        tiler_malloc.main([str(src), "--capacity", "64", "--seed", str(2**40), "-o", str(tmp_path / "o.csv")])
    assert e.value.code == 2
    src.write_text("id,lower,upper,size\na,0,1," + "9" * 5000 + "\n")
    assert tiler_malloc.main([str(src), "--capacity", "64", "-o", str(tmp_path / "o.csv")]) == 1
    assert "a value of 2**60 or more" in capsys.readouterr().err


@pytest.mark.parametrize("shape", ["chain", "all-at-once", "staircase"])
def test_malloc_on_ten_thousand_rows_finishes(tmp_path, shape):
    """Nothing in the allocator is quadratic in Python or in memory per search level: 10,000
    blocks that all overlap (10**8 pairs) place in seconds. A generous bound, as a hang
    guard; the figures live in the bench."""
    rows = {
        "chain": lambda i: (i, i + 2),
        "all-at-once": lambda i: (0, 1),
        "staircase": lambda i: (i, 10_000),
    }[shape]
    src = tmp_path / "in.csv"
    src.write_text("id,lower,upper,size\n" + "".join(f"b{i},{rows(i)[0]},{rows(i)[1]},{1 + i % 7}\n" for i in range(10_000)))
    began = time.monotonic()
    assert tiler_malloc.main([str(src), "--capacity", str(1 << 20), "-o", str(tmp_path / "o.csv")]) == 0
    assert time.monotonic() - began < 120


# -- fail fast: a model that cannot fit its home level at all ----------------------------------


def test_a_tensor_larger_than_its_home_level_is_rejected_at_import(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, 128, 128])  # 4 MiB
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64, 128, 128])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="act")], "g", [x], [y])
    path = tmp_path / "big.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    began = time.monotonic()
    code, _, err = opt(path, "--l2", "1M", "--tile", "--allocate")
    assert time.monotonic() - began < 10
    assert_clear_error(code, err)
    assert "(1x64x128x128xf32) needs 4194304 bytes, more than its level L2 holds (1048576 bytes)" in err
    assert "--default-mem-level L3" in err


def test_constants_that_cannot_fit_their_level_together_are_rejected_at_import(tmp_path):
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.standard_normal((256, 256)).astype(np.float32), f"w{i}") for i in range(5)]
    nodes, prev = [], "x"
    for i in range(5):
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"h{i}"]))
        prev = f"h{i}"
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 256])],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 256])], weights)
    path = tmp_path / "mlp.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    code, _, err = opt(path, "--l2", "1M")
    assert_clear_error(code, err)
    assert "the 5 constants in L2 need 1310720 bytes together" in err
    assert opt(path, "--l2", "2M")[0] == 0


def test_fail_fast_also_guards_ir_input(tmp_path, small):
    ir = tmp_path / "small.mlir"
    assert opt(small, "-o", ir)[0] == 0
    code, _, err = opt(ir, "--l2", "256", "--tile")
    assert_clear_error(code, err)
    assert "more than its level L2 holds (256 bytes)" in err


# -- classes the fuzz suite found ---------------------------------------------------------------


def test_ir_that_is_not_utf8_or_that_xdsl_has_no_rule_for(tmp_path):
    for name, content, message in (
        ("bad.mlir", b"builtin.module {}\xff\n", "IR must be UTF-8 text (invalid byte at offset 17)"),
        ("f80.mlir", b"func.func @f() { %0 = arith.constant dense<[1.0]> : tensor<1xf80> func.return }", "xDSL cannot read this IR"),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        code, _, err = opt(path)
        assert_clear_error(code, err)
        assert message in err
        code, _, err = run_tool(tiler_run.main, [str(path), "--inputs", str(tmp_path / "x.npz")])
        assert_clear_error(code, err, tool="tiler-run")
        assert message in err


def test_an_unknown_input_format_is_a_usage_error(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text("hello")
    code, _, err = opt(path)
    assert_clear_error(code, err, expected_code=2)
    assert "unknown input format 'txt'" in err


@pytest.mark.parametrize("content, message", [
    (b"PK\x03\x04 not really a zip", "not an npz archive"),
    (b"", "not an npz archive"),
    (None, "is a single .npy array"),
])
def test_tiler_run_inputs_that_are_not_an_npz(tmp_path, small, content, message):
    path = tmp_path / "in.npz"
    if content is None:
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    else:
        path.write_bytes(content)
    code, _, err = run_tool(tiler_run.main, [str(small), "--inputs", str(path)])
    assert_clear_error(code, err, tool="tiler-run")
    assert message in err


def test_a_fifo_or_device_output_is_written_into_not_replaced(tmp_path, small):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    import threading

    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()))
    reader.start()
    code, _, err = opt(small, "-o", fifo)
    reader.join(timeout=30)
    assert code == 0, err
    assert b"tiler.conv" in received[0]
    assert os.path.exists(fifo) and not os.path.isfile(fifo)  # still a FIFO
    code, _, err = opt(small, "-o", os.devnull, "--tile", "--tile-report", os.devnull)
    assert code == 0, err
    assert not os.path.isfile(os.devnull)


@pytest.mark.parametrize("node, message", [
    ("Y = Add(X)", "has 1 input(s), but Add takes 2"),
    ("Y = Add(X, X, X)", "has 3 input(s), but Add takes 2"),
    ('Y = Add("", X)', "input #0 (A) is required but not given"),
])
def test_nodes_with_the_wrong_number_of_inputs(tmp_path, node, message):
    path = tmp_path / "m.onnxtxt"
    path.write_text('<ir_version: 8, opset_import: ["" : 17]>\ng (float[2] X) => (float[2] Y) { ' + node + " }\n")
    code, _, err = opt(path)
    assert_clear_error(code, err)
    assert message in err


@pytest.mark.parametrize("as_constant_node", [False, True])
def test_tensor_data_of_the_wrong_size(tmp_path, as_constant_node):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"abc")
    onnx.save(_relu_plus_constant(_external("w.bin", np.zeros(4, np.float32)), as_constant_node), folder / "ext.onnx")
    # the length entry says 16, the file has 3: beyond its end
    code, _, err = opt(folder / "ext.onnx")
    assert_clear_error(code, err)
    tensor = _external("w.bin", np.zeros(4, np.float32))
    del tensor.external_data[2]  # no length: the whole file, 3 bytes for 4 floats
    onnx.save(_relu_plus_constant(tensor, as_constant_node), folder / "short.onnx")
    code, _, err = opt(folder / "short.onnx")
    assert_clear_error(code, err)
    assert "its external data has 3 bytes, but a 4 FLOAT tensor needs 16" in err
    inline = TensorProto(name="c", data_type=TensorProto.FLOAT, dims=[4], raw_data=b"abc")
    onnx.save(_relu_plus_constant(inline, as_constant_node), folder / "inline.onnx")
    code, _, err = opt(folder / "inline.onnx")
    assert_clear_error(code, err)


def test_ir_that_uses_a_value_before_defining_it(tmp_path, small):
    lines = opt(small)[1].splitlines()
    conv = next(i for i, line in enumerate(lines) if "tiler.conv " in line)
    relu = next(i for i, line in enumerate(lines) if "tiler.relu " in line)
    lines[conv], lines[relu] = lines[relu], lines[conv]
    path = tmp_path / "swapped.mlir"
    path.write_text("\n".join(lines))
    code, _, err = opt(path, "--tile", "--l1", "8K")
    assert_clear_error(code, err)
    assert "tiler.relu: operand #0 (%conv) is used before it is defined" in err
    code, _, err = run_tool(tiler_run.main, [str(path), "--inputs", str(tmp_path / "none.npz")])
    assert_clear_error(code, err, tool="tiler-run")


def test_main_must_be_at_the_top_level(tmp_path, small):
    text = opt(small)[1]
    path = tmp_path / "nested.mlir"
    path.write_text("builtin.module {\n" + text + "}\n")
    code, _, err = opt(path, "--tile")
    assert_clear_error(code, err)
    assert "@main must be defined at the top level of the module" in err


def test_home_at_the_compute_level_reports_whole_operands(tmp_path, small):
    report = tmp_path / "r.json"
    code, _, err = opt(small, "--default-mem-level", "L1", "--tile", "--tile-report", report, "--allocate")
    assert code == 0, err
    ops = json.loads(report.read_text())["ops"]
    assert ops[0]["tiles"] == 1 and ops[0]["levels"] == [] and ops[0]["dma_bytes"] == 0
    assert ops[0]["tile_shapes"]["image"] == [1, 2, 6, 6]


@pytest.mark.parametrize("strategy", ["TetrisRandom", "TetrisCo-Opt", "MiniMalloc"])
def test_malloc_honours_its_timeout(tmp_path, strategy):
    src = tmp_path / "in.csv"
    src.write_text("id,lower,upper,size\n" + "".join(f"b{i},{i},{i + 2},{1 + i % 7}\n" for i in range(10_000)))
    began = time.monotonic()
    code = tiler_malloc.main([str(src), "--capacity", str(1 << 20), "--timeout", "1e-9", "--strategy", strategy, "-o", str(tmp_path / "o.csv")])
    assert time.monotonic() - began < 30
    assert code == 1 and not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("element", ["bf16", "f80", "i3", "f128"])
def test_element_types_without_a_numpy_dtype_are_clear_errors(tmp_path, element):
    t = f'tensor<2x{element}, #tiler.mem<"L2">>'
    path = tmp_path / "m.mlir"
    path.write_text(
        f'func.func @main(%x: {t}) -> {t} {{\n  %y = tiler.relu %x : ({t}) -> {t}\n  func.return %y : {t}\n}}\n'
    )
    for args in ([], ["--tile"]):
        code, _, err = opt(path, *args)
        assert_clear_error(code, err)
        assert f"element type {element} is not supported" in err
    code, _, err = run_tool(tiler_run.main, [str(path), "--inputs", str(tmp_path / "none.npz")])
    assert_clear_error(code, err, tool="tiler-run")


def test_attributes_of_ops_without_an_onnx_schema_are_checked_by_kind(tmp_path):
    """LayerNormalization below opset 17 (as Deeploy's CCT exports it) has no ONNX schema;
    its attributes are checked against what the importer expects."""
    scale = numpy_helper.from_array(np.ones(4, np.float32), "s")
    node = helper.make_node("LayerNormalization", ["x", "s"], ["y"], epsilon=1e-5)
    node.attribute[0].type = onnx.AttributeProto.INTS
    node.attribute[0].ClearField("f")
    node.attribute[0].ints.extend([1, 2])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [scale])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), path)
    code, _, err = opt(path)
    assert_clear_error(code, err)
    assert "attribute 'epsilon' must be a number, got a list" in err


def _grouped_conv(tmp_path):
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((12, 2, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], group=3, pads=[1, 1, 1, 1], name="gconv")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 12, 8, 8])], [w],
    )
    path = tmp_path / "gconv.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    return path, {"x": rng.standard_normal((1, 6, 8, 8)).astype(np.float32)}


@pytest.mark.parametrize("strategy", ["cycles", "max", "min", "random-max"])
@pytest.mark.parametrize("l1", ["1K", "2K", "4K"])
def test_grouped_conv_tiles_write_only_their_own_channels(tmp_path, l1, strategy):
    """A grouped conv's output channel is g * M + m: a tile with part of m and several g
    would write back a box of channels that are not all its own (the fuzz suite's
    valid-graph generator found the DMA hazard that made). The solver keeps g at one
    group whenever m is split, and the result equals the untiled one."""
    path, feeds = _grouped_conv(tmp_path)
    want = execute(import_onnx(path), feeds)
    out, report = tmp_path / "t.mlir", tmp_path / "r.json"
    code, _, err = opt(path, "--l1", l1, "--search-strategy", strategy, "--tile", "--tile-report", report, "-o", out)
    assert code == 0, err
    counts = json.loads(report.read_text())["ops"][0]["levels"][0]["counts"]
    n, g, m = counts[:3]
    assert m == 1 or g == 3, counts  # m split => one group per tile
    got = execute(load_module(str(out), {}), feeds)
    np.testing.assert_allclose(got["y"], want["y"], rtol=1e-5, atol=1e-5)


def test_a_schedule_that_would_write_a_foreign_box_is_rejected(tmp_path):
    path, _ = _grouped_conv(tmp_path)
    chosen = opt(path, "--l1", "64K", "-p", "choose-tiles")[1]
    import re

    schedule = re.search(r"#tiler.schedule<\[.*?\]>\]>", chosen).group(0)
    bad = '#tiler.schedule<[<"L1", tile = [1, 3, 2, 8, 8, 2, 3, 3], order = [2], buffers = [1, 1, 1]>]>'
    ir = tmp_path / "bad.mlir"
    ir.write_text(chosen.replace(schedule, bad))
    code, _, err = opt(ir, "-p", "apply-tiles")
    assert_clear_error(code, err)
    assert "dim m is split, so the output index it shares with g would not be a box" in err


def test_a_global_deleted_from_tiled_ir_is_a_clear_error(tmp_path, small):
    tiled = opt(small, "--l1", "768", "--tile")[1].splitlines()
    path = tmp_path / "x.mlir"
    path.write_text("\n".join(line for line in tiled if "memref.global" not in line or "fc_w" not in line))
    code, _, err = opt(path, "--allocate")
    assert_clear_error(code, err)
    assert "memref.get_global @fc_w names no memref.global of the module" in err


def test_buffers_in_a_level_the_hierarchy_lacks_are_a_clear_error(tmp_path, small):
    code, tiled, err = opt(small, "--tile", "--l1", "8K", "--default-mem-level", "L3")
    assert code == 0, err
    path = tmp_path / "renamed.mlir"
    path.write_text(tiled.replace('#tiler.mem<"L2">', '#tiler.mem<"l2">'))  # the L2 tile buffers, consistently
    code, _, err = opt(path, "--allocate")
    assert_clear_error(code, err)
    assert "lives in level 'l2', which the memory hierarchy does not have (levels: L3, L2, L1)" in err
