"""Seeded generators of fuzz cases for tiler-opt, tiler-run and tiler-malloc.

Every generator is a function `(random.Random) -> Case`; `make_case(seed, index)` picks
the generator for an index from a fixed weighted schedule and seeds it with
`Random(f"{seed}/{generator}/{index}")`, so the same seed always gives the same cases,
whatever the number of jobs or the order they run in. Hypothesis strategies are drawn
deterministically from that Random (`draw`).

Generators (GENERATORS):
    onnx-bytes   flipped/truncated/inserted/deleted/duplicated bytes of the shared models
    onnx-proto   protobuf-level mutations (attribute types, weird or non-UTF-8 names,
                 dropped/duplicated/reordered nodes, cycles, wrong/dynamic/huge dims,
                 external data, unknown ops, empty graphs, opsets, element types, ...)
    ir-text      truncated or mutated printed IR (imported, tiled, allocated), deep nesting
    hierarchy    --hierarchy JSON files: huge/negative/float sizes, weird names, encodings,
                 deep nesting, missing/unknown keys, cycles, disconnected levels
    malloc-csv   tiler-malloc CSVs: quoted ids, huge/negative values, missing columns,
                 non-UTF-8, 10,000 chained rows, and its flags
    flags        random tiler-opt/tiler-run flag combinations, -p pipelines, outputs that
                 name an input or a missing directory
    valid-graph  random valid float32 graphs, checked against onnxruntime through import,
                 printed IR, tiling and allocation (a mismatch is a wrong result)

Generators read the shared models (../shared or $TILER_SHARED) and the examples, never
write anywhere; missing shared models shrink the corpus instead of failing.
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import onnx
import onnx.parser
import onnx.printer
from onnx import TensorProto, helper, numpy_helper

from .harness import Case, Step

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TILER_SHARED", ROOT.parent / "shared")).resolve()
CONV_RELU = ROOT / "examples" / "small" / "conv_relu.onnxtxt"
KWS = ROOT / "examples" / "kws_dscnn" / "kws_dscnn_float32.onnx"


# -- drawing values -----------------------------------------------------------------------


def draw(strategy, rng: random.Random):
    """One value of a hypothesis strategy, determined by rng. (Hypothesis' first example
    is the simplest one, so this runs a few and keeps the last.)"""
    from hypothesis import HealthCheck, Phase, given, seed, settings

    values = []

    @seed(rng.getrandbits(64))
    @settings(max_examples=3, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value):
        values.append(value)

    collect()
    return values[-1]


@functools.cache
def _strategies() -> dict:
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    return {
        "json": st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4), max_leaves=8),
        "text": st.text(max_size=24),
        "byte_count": st.from_regex(r"\A\s?-?\d{0,24}(\.\d)?\s?(|B|K|k|KB|KiB|M|MiB|G|GiB|e3)\s?\Z"),
        "csv_field": st.integers() | st.text(max_size=10) | st.floats().map(repr),
    }


WEIRD_NAMES = [
    "%0", "%arg0", "0", "", " ", "a b", 'a"b', "a'b", "a\nb", "a\tb", "a\\b", "a}b", "a{b", "@main",
    "^bb0", "#map", "a,b", "a:b", "a=b", "a;b", "a/b", "../x", "名前", "\u202eevil", "\U0001f600", "x" * 3000,
    "builtin.module", "tiler.conv", "-", "--", "\x00", "a\rb",
]
NON_UTF8 = "QzNonUtf8Qz"  # a placeholder replaced in the serialized bytes by ...
NON_UTF8_BYTES = b"\xff\xfeNonUtf8\xc3\x28"  # ... the same number of invalid UTF-8 bytes
HUGE_INTS = [0, -1, -2, 1, 2**31 - 1, 2**31, 2**32, 2**40, 2**62, 2**63 - 1, -(2**63)]


def weird_name(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.15:
        return NON_UTF8
    if r < 0.3:
        return draw(_strategies()["text"], rng)
    return rng.choice(WEIRD_NAMES)


def weird_int_text(rng: random.Random) -> str:
    return rng.choice(["0", "1", "-1", "3", "2**40", str(2**40), str(2**63), "99999999999999999999999999",
                       "abc", "", "1.5", "nan", "1e3", "0x10", " 4", "-0"])


# -- the corpus ---------------------------------------------------------------------------


class Model:
    """A base model: its bytes, a graph-inputs npz (or None) and whether tiling it is cheap."""

    def __init__(self, name: str, path: Path, small: bool):
        self.name, self.path, self.small = name, path, small
        self.data = path.read_bytes()
        npz = path.parent / "inputs.npz"
        self.inputs = npz.read_bytes() if npz.exists() else None

    @property
    def suffix(self) -> str:
        return self.path.suffix

    def proto(self) -> onnx.ModelProto:
        if self.suffix == ".onnxtxt":
            return onnx.parser.parse_model(self.data.decode())
        model = onnx.ModelProto()
        model.ParseFromString(self.data)
        return model


@functools.cache
def models() -> tuple[Model, ...]:
    found = [Model("conv_relu", CONV_RELU, True), Model("kws_example", KWS, False)]
    for path in sorted((SHARED / "models" / "mlperf-tiny").glob("*.onnx")):
        found.append(Model(path.stem, path, False))
    for path in sorted((SHARED / "models" / "deeploy").glob("**/network.onnx")):
        found.append(Model(path.parent.name, path, "kernels" in str(path)))
    return tuple(found)


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def random_feeds(model: onnx.ModelProto, rng: random.Random) -> dict[str, np.ndarray]:
    """Random float inputs for the model's declared (static) input shapes."""
    gen = np.random.default_rng(rng.getrandbits(32))
    inits = {t.name for t in model.graph.initializer}
    feeds = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in vi.type.tensor_type.shape.dim]
        feeds[vi.name] = gen.standard_normal(dims).astype(np.float32)
    return feeds


def model_inputs(model: Model, rng: random.Random) -> bytes:
    return model.inputs if model.inputs is not None else npz_bytes(random_feeds(model.proto(), rng))


CONV_RELU_FEEDS = {"image": np.linspace(-1, 1, 72, dtype=np.float32).reshape(1, 2, 6, 6)}


def _quiet_session_options():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    options.intra_op_num_threads = 1
    return options


@functools.cache
def conv_relu_golden() -> bytes:
    import onnxruntime as ort

    model = onnx.parser.parse_model(CONV_RELU.read_text())
    session = ort.InferenceSession(model.SerializeToString(), _quiet_session_options(), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, CONV_RELU_FEEDS)
    return npz_bytes({"logits": logits})


def _tiler_opt_text(argv: list[str], model: Path) -> str | None:
    """tiler-opt's printed IR for a base model (run in this process, in a scratch dir)."""
    import contextlib
    import tempfile

    from tiler_tools import tiler_opt

    with tempfile.TemporaryDirectory(prefix="tiler-fuzz-base-") as tmp:
        src = Path(tmp) / model.name
        src.write_bytes(model.read_bytes())
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                tiler_opt.main([str(src), *argv, "-o", str(Path(tmp) / "out.mlir")])
            except SystemExit as e:
                if e.code:
                    return None
            except Exception:  # a product bug: that base is left out
                return None
        return (Path(tmp) / "out.mlir").read_text()


@functools.cache
def base_irs() -> tuple[tuple[str, str], ...]:
    """(stage, text) of printed IR of the small example at every stage."""
    variants = {
        "imported": [],
        "generic": ["--print-op-generic"],
        "tiled": ["--l1", "2K", "--tile"],
        "tiled-l3": ["--l1", "1K", "--l2", "8K", "--default-mem-level", "L3", "--tile"],
        "allocated": ["--l1", "2K", "--tile", "--allocate"],
    }
    found = []
    for stage, argv in variants.items():
        text = _tiler_opt_text(argv, CONV_RELU)
        if text:
            found.append((stage, text))
    return tuple(found)


@functools.cache
def malloc_bases() -> tuple[tuple[str, int], ...]:
    """(csv text, optimal capacity) of the shared small MiniMalloc cases."""
    out = []
    for path in sorted((SHARED / "minimalloc" / "small").glob("*.csv")):
        try:
            out.append((path.read_text(), int(path.name.split(".")[1])))
        except (ValueError, IndexError):
            continue
    return tuple(out)


# -- generator: byte mutations of models ---------------------------------------------------


def mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """One to three byte-level mutations; returns the bytes and what was done."""
    data = bytearray(data)
    notes = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        n = len(data)
        kind = rng.choice(["flip", "flip", "truncate", "insert", "delete", "duplicate", "overwrite", "varint"])
        at = rng.randrange(max(1, n))
        if kind == "flip" and n:
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(n)
                data[i] ^= 1 << rng.randrange(8)
        elif kind == "truncate":
            data = data[:at]
        elif kind == "insert":
            data[at:at] = bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 2, 4, 16, 100])))
        elif kind == "delete":
            del data[at:at + rng.choice([1, 2, 4, 16, 1000])]
        elif kind == "duplicate":
            chunk = data[at:at + rng.choice([2, 16, 200, 5000])]
            data[at:at] = chunk * rng.randint(1, 3)
        elif kind == "overwrite" and n:
            size = rng.choice([1, 4, 8, 64])
            data[at:at + size] = bytes([rng.choice([0x00, 0xFF, 0x7F, 0x80])]) * size
        elif kind == "varint" and n:
            # a length or varint prefix turned into a huge one
            data[at:at + 1] = b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
        notes.append(f"{kind}@{at}")
    return bytes(data), " ".join(notes)


def mutate_text_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Mutations that suit a text file (the .onnxtxt example): non-UTF-8 bytes, deleted or
    duplicated lines, changed numbers, as well as raw byte mutations."""
    kind = rng.choice(["bytes", "non-utf8", "lines", "numbers", "utf16"])
    if kind == "bytes":
        return mutate_bytes(rng, data)
    if kind == "non-utf8":
        at = rng.randrange(len(data))
        return data[:at] + rng.choice([b"\xff", b"\xc3\x28", b"\x80\x80", b"\xed\xa0\x80"]) + data[at:], f"non-utf8@{at}"
    if kind == "utf16":
        return data.decode().encode("utf-16"), "utf-16"
    text = data.decode()
    if kind == "lines":
        lines = text.splitlines(keepends=True)
        i = rng.randrange(len(lines))
        if rng.random() < 0.5:
            del lines[i]
        else:
            lines.insert(i, lines[rng.randrange(len(lines))])
        return "".join(lines).encode(), f"line {i}"
    numbers = list(re.finditer(r"\d+", text))
    m = rng.choice(numbers)
    return (text[:m.start()] + weird_int_text(rng) + text[m.end():]).encode(), f"number@{m.start()}"


def gen_onnx_bytes(rng: random.Random) -> Case:
    model = rng.choice(models())
    if model.suffix == ".onnxtxt":
        data, note = mutate_text_bytes(rng, model.data)
    else:
        data, note = mutate_bytes(rng, model.data)
    name = "m" + model.suffix
    files = {name: data}
    r = rng.random()
    if r < 0.6:
        steps = [Step("tiler-opt", [name], inputs=[name])]
    elif r < 0.8:
        steps = [Step("tiler-opt", [name, "-o", "out.mlir"], inputs=[name], outputs=["out.mlir"]),
                 Step("tiler-opt", ["out.mlir", "-o", "again.mlir"], inputs=["out.mlir"], outputs=["again.mlir"], must_pass=True)]
    elif r < 0.9:
        steps = [Step("tiler-opt", [name, "-t", "summary"], inputs=[name])]
    else:
        files["in.npz"] = model_inputs(model, rng)
        steps = [Step("tiler-run", [name, "--inputs", "in.npz"], inputs=[name, "in.npz"])]
    return Case("onnx-bytes", files, steps, note=f"{model.name}: {note}")


# -- generator: protobuf-level mutations ---------------------------------------------------

A = onnx.AttributeProto


def _all_names(g: onnx.GraphProto) -> list[str]:
    names = [v.name for v in g.input] + [v.name for v in g.output] + [t.name for t in g.initializer]
    for n in g.node:
        names += list(n.input) + list(n.output)
    return sorted({n for n in names if n})


def _rename(g: onnx.GraphProto, old: str, new: str, everywhere: bool, rng: random.Random) -> None:
    places = []
    for v in list(g.input) + list(g.output) + list(g.value_info) + list(g.initializer):
        if v.name == old:
            places.append((v, "name", None))
    for n in g.node:
        for field in ("input", "output"):
            seq = getattr(n, field)
            for i, x in enumerate(seq):
                if x == old:
                    places.append((seq, field, i))
    if not everywhere and places:
        places = [rng.choice(places)]
    for obj, field, i in places:
        if i is None:
            obj.name = new
        else:
            obj[i] = new


def _shape_of(vi: onnx.ValueInfoProto):
    return vi.type.tensor_type.shape


def m_attr_type(rng, model, extra):
    nodes = [n for n in model.graph.node if n.attribute]
    if not nodes:
        return m_unknown_op(rng, model, extra)
    node = rng.choice(nodes)
    attr = rng.choice(node.attribute)
    kind = rng.choice(["float-in-ints", "ints-no-value", "float", "string", "undefined", "tensor", "graph",
                       "huge-ints", "zero-ints", "wrong-count", "duplicate", "empty-name", "int-as-ints", "sparse"])
    old_type = attr.type
    if kind == "float-in-ints":
        attr.type = A.INTS
        del attr.ints[:]
        attr.floats.extend([rng.uniform(-3, 3) for _ in range(rng.randint(1, 4))])
    elif kind == "ints-no-value":
        attr.type = A.INTS
        for f in ("ints", "floats", "strings"):
            attr.ClearField(f)
        attr.ClearField("i")
        attr.ClearField("f")
    elif kind == "float":
        attr.type = A.FLOAT
        attr.f = rng.choice([0.5, float("nan"), float("inf"), -1.0])
    elif kind == "string":
        attr.type = A.STRING
        attr.s = rng.choice([b"abc", b"", b"\xff\xfe", b"NOTSET", b"SAME_UPPER"])
    elif kind == "undefined":
        attr.type = A.UNDEFINED
    elif kind == "tensor":
        attr.type = A.TENSOR
    elif kind == "graph":
        attr.type = A.GRAPH
        attr.g.name = "empty"
    elif kind == "huge-ints":
        values = [rng.choice(HUGE_INTS) for _ in range(max(1, len(attr.ints)))]
        del attr.ints[:]
        attr.ints.extend(values)
        attr.i = rng.choice(HUGE_INTS)
    elif kind == "zero-ints":
        n = max(1, len(attr.ints))
        del attr.ints[:]
        attr.ints.extend([0] * n)
        attr.i = 0
    elif kind == "wrong-count":
        values = list(attr.ints) or [1]
        del attr.ints[:]
        attr.ints.extend((values * 3)[: rng.choice([0, 1, len(values) + 1, 7])])
    elif kind == "duplicate":
        node.attribute.add().CopyFrom(attr)
    elif kind == "empty-name":
        attr.name = ""
    elif kind == "int-as-ints":
        attr.type = A.INT if old_type == A.INTS else A.INTS
    elif kind == "sparse":
        attr.type = A.SPARSE_TENSOR
    return f"attr {node.op_type}.{attr.name}: {kind}"


def m_add_attribute(rng, model, extra):
    if not model.graph.node:
        return "no node"
    node = rng.choice(model.graph.node)
    name = rng.choice(["bogus", "axis", "group", "kernel_shape", "pads", "auto_pad", "alpha", "transB", ""])
    node.attribute.append(helper.make_attribute(name, rng.choice([1, -1, 2**62, 0.5, "VALID", [0, 0], [1, 2, 3]])))
    return f"add attr {node.op_type}.{name}"


def m_rename(rng, model, extra):
    names = _all_names(model.graph)
    if not names:
        return "no names"
    old = rng.choice(names)
    if rng.random() < 0.2:
        new = rng.choice(names)  # a clash with another value
    else:
        new = weird_name(rng)
    everywhere = rng.random() < 0.75
    _rename(model.graph, old, new, everywhere, rng)
    if rng.random() < 0.3 and model.graph.node:  # node names too
        rng.choice(model.graph.node).name = weird_name(rng)
    return f"rename {old!r}->{new!r} {'everywhere' if everywhere else 'once'}"


def m_nodes(rng, model, extra):
    g = model.graph
    if not g.node:
        return m_empty(rng, model, extra)
    kind = rng.choice(["drop", "duplicate", "reverse", "shuffle", "self-loop", "cycle"])
    i = rng.randrange(len(g.node))
    nodes = list(g.node)
    if kind == "drop":
        del nodes[i]
    elif kind == "duplicate":
        copy = onnx.NodeProto()
        copy.CopyFrom(nodes[i])
        nodes.insert(i + rng.randint(0, 1), copy)
    elif kind == "reverse":
        nodes.reverse()
    elif kind == "shuffle":
        rng.shuffle(nodes)
    elif kind == "self-loop" and nodes[i].input and nodes[i].output:
        nodes[i].input[0] = nodes[i].output[0]
    elif kind == "cycle":
        # the first consumer of a node's output feeds that node: a cycle of two or more
        producer = nodes[i]
        for later in nodes[i + 1:]:
            if producer.output and producer.output[0] in later.input and later.output and producer.input:
                producer.input[0] = later.output[0]
                break
    del g.node[:]
    g.node.extend(nodes)
    return f"nodes: {kind} #{i}"


def m_dims(rng, model, extra):
    g = model.graph
    inits = {t.name for t in g.initializer}
    values = [v for v in list(g.input) + list(g.output) if v.name not in inits]
    if rng.random() < 0.3 and g.initializer:
        t = rng.choice(g.initializer)
        kind = rng.choice(["dims", "huge", "rank"])
        if kind == "dims" and t.dims:
            t.dims[rng.randrange(len(t.dims))] = rng.choice([0, 1, 3, -1, 1000])
        elif kind == "huge":
            del t.dims[:]
            t.dims.extend([2**31, 2**31, rng.choice([1, 2**20])])
            t.ClearField("raw_data")
            t.ClearField("float_data")
        else:
            t.dims.append(rng.choice([1, 2]))
        return f"initializer {t.name!r} dims: {kind}"
    if not values:
        return "no values"
    vi = rng.choice(values)
    shape = _shape_of(vi)
    kind = rng.choice(["value", "dynamic", "unknown", "no-shape", "rank+", "rank-", "huge"])
    if kind in ("value", "dynamic", "unknown", "huge") and shape.dim:
        d = shape.dim[rng.randrange(len(shape.dim))]
        if kind == "value":
            d.dim_value = rng.choice([0, 1, 2, 7, 1000])
        elif kind == "huge":
            d.dim_value = rng.choice([2**31, 2**40, 2**62, 2**63 - 1])
        elif kind == "dynamic":
            d.dim_param = rng.choice(["N", "batch", "", "?", NON_UTF8, "a b"])
        else:
            d.ClearField("dim_value")
            d.ClearField("dim_param")
    elif kind == "no-shape":
        vi.type.tensor_type.ClearField("shape")
    elif kind == "rank+":
        shape.dim.add().dim_value = rng.choice([1, 2])
    elif shape.dim:
        del shape.dim[-1]
    return f"dims of {vi.name!r}: {kind}"


EXTERNAL_LOCATIONS = ["w.bin", "missing.bin", "../w.bin", "sub/../w.bin", "../../w.bin", "/nonexistent-tiler-fuzz/w.bin",
                      "", ".", "sub", "w.bin\x00x", NON_UTF8]


def _externalize(rng: random.Random, t: onnx.TensorProto, extra: dict) -> str:
    data = numpy_helper.to_array(t).tobytes() if (t.raw_data or t.float_data or t.int64_data or t.int32_data) else b""
    location = rng.choice(EXTERNAL_LOCATIONS + [str(KWS)])
    for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data"):
        t.ClearField(field)
    t.data_location = TensorProto.EXTERNAL
    del t.external_data[:]
    t.external_data.add(key="location", value=location)
    if rng.random() < 0.4:
        t.external_data.add(key="offset", value=rng.choice(["0", "8", "-1", "abc", str(2**62)]))
    if rng.random() < 0.4:
        t.external_data.add(key="length", value=rng.choice([str(len(data)), "0", "1", str(2**40)]))
    if location in ("w.bin", "sub/../w.bin"):
        extra["w.bin"] = data
        extra["sub/keep"] = b""
    elif location == "../w.bin":
        extra["../w.bin"] = data
    return location


def m_external(rng, model, extra):
    g = model.graph
    if not g.initializer:
        return "no initializer"
    t = rng.choice(g.initializer)
    if rng.random() < 0.4:
        # the initializer becomes a Constant node whose value is external
        value = onnx.TensorProto()
        value.CopyFrom(t)
        location = _externalize(rng, value, extra)
        g.initializer.remove(t)
        g.node.insert(0, helper.make_node("Constant", [], [t.name], value=value))
        return f"Constant {t.name!r} with external data at {location!r}"
    location = _externalize(rng, t, extra)
    return f"initializer {t.name!r} with external data at {location!r}"


def m_unknown_op(rng, model, extra):
    g = model.graph
    if not g.node:
        return m_empty(rng, model, extra)
    node = rng.choice(g.node)
    kind = rng.choice(["type", "domain", "arity", "lower", "if"])
    if kind == "type":
        node.op_type = rng.choice(["FuzzOp", "", "Conv2D", NON_UTF8, "tiler.conv", "Loop", "Scan"])
    elif kind == "domain":
        node.domain = rng.choice(["com.bogus", "ai.onnx.ml", "com.microsoft", "ai.onnx", NON_UTF8])
    elif kind == "arity":
        if rng.random() < 0.5 and node.input:
            del node.input[-1]
        else:
            node.input.append(rng.choice(list(node.input) or ["x"]))
        if rng.random() < 0.3:
            node.output.append("extra_out")
    elif kind == "lower":
        node.op_type = node.op_type.lower()
    else:
        node.op_type = "If"
        del node.attribute[:]
        node.attribute.append(helper.make_attribute("then_branch", helper.make_graph([], "t", [], [])))
    return f"op {node.name or node.op_type}: {kind}"


def m_empty(rng, model, extra):
    g = model.graph
    kind = rng.choice(["no-nodes", "no-outputs", "no-inputs", "output-is-input", "output-is-initializer", "no-graph-name", "everything"])
    if kind == "no-nodes":
        del g.node[:]
    elif kind == "no-outputs":
        del g.output[:]
    elif kind == "no-inputs":
        del g.input[:]
    elif kind == "output-is-input" and g.input and g.output:
        g.output[0].name = g.input[0].name
    elif kind == "output-is-initializer" and g.initializer and g.output:
        g.output[0].name = g.initializer[0].name
    elif kind == "no-graph-name":
        g.name = ""
    elif kind == "everything":
        model.graph.CopyFrom(onnx.GraphProto())
    return f"graph: {kind}"


def m_opset(rng, model, extra):
    kind = rng.choice(["none", "old", "future", "negative", "ir", "duplicate", "domain"])
    if kind == "none":
        del model.opset_import[:]
    elif kind in ("old", "future", "negative") and model.opset_import:
        model.opset_import[0].version = {"old": rng.choice([1, 5, 7]), "future": 99, "negative": -1}[kind]
    elif kind == "ir":
        model.ir_version = rng.choice([0, 1, 3, 99])
    elif kind == "duplicate":
        model.opset_import.add(domain="", version=rng.choice([11, 13, 99]))
    else:
        model.opset_import.add(domain=rng.choice(["com.bogus", NON_UTF8]), version=1)
    return f"opset: {kind}"


ELEM_TYPES = [0, TensorProto.STRING, TensorProto.BFLOAT16, TensorProto.COMPLEX64, TensorProto.FLOAT8E4M3FN,
              TensorProto.DOUBLE, TensorProto.INT8, TensorProto.BOOL, TensorProto.FLOAT16, TensorProto.UINT64, 23, 99]


def m_elem_type(rng, model, extra):
    g = model.graph
    if rng.random() < 0.5 and g.initializer:
        t = rng.choice(g.initializer)
        kind = rng.choice(["type", "raw-truncated", "raw-extended", "float-data-count", "both", "sparse"])
        if kind == "type":
            try:
                t.data_type = rng.choice(ELEM_TYPES)
            except ValueError:
                t.data_type = 0
        elif kind == "raw-truncated":
            data = numpy_helper.to_array(t).tobytes()
            t.ClearField("float_data")
            t.raw_data = data[: rng.randrange(max(1, len(data)))]
        elif kind == "raw-extended":
            t.raw_data = numpy_helper.to_array(t).tobytes() + b"\x00" * rng.choice([1, 4, 1000])
        elif kind == "float-data-count":
            t.ClearField("raw_data")
            del t.float_data[:]
            t.float_data.extend([1.0] * rng.choice([0, 1, 3]))
        elif kind == "both":
            t.float_data.extend([1.0, 2.0])
        else:
            sparse = model.graph.sparse_initializer.add()
            sparse.values.CopyFrom(t)
            sparse.dims.extend(t.dims)
            g.initializer.remove(t)
        return f"initializer {t.name!r}: {kind}"
    values = list(g.input) + list(g.output)
    if not values:
        return "no values"
    vi = rng.choice(values)
    try:
        vi.type.tensor_type.elem_type = rng.choice(ELEM_TYPES)
    except ValueError:
        vi.type.tensor_type.elem_type = 0
    if rng.random() < 0.1:
        vi.type.ClearField("tensor_type")
        vi.type.sequence_type.elem_type.tensor_type.elem_type = TensorProto.FLOAT
    return f"elem type of {vi.name!r}"


def m_value_info(rng, model, extra):
    g = model.graph
    names = [o for n in g.node for o in n.output]
    if not names:
        return "no values"
    name = rng.choice(names)
    g.value_info.append(helper.make_tensor_value_info(name, rng.choice([TensorProto.FLOAT, TensorProto.INT64]), [rng.choice([1, 3, 2**40]), "N"]))
    return f"value_info for {name!r}"


def m_function(rng, model, extra):
    fn = helper.make_function("local", "Fuzzy", ["x"], ["y"], [helper.make_node("Relu", ["x"], ["y"])], [helper.make_opsetid("", 17)])
    model.functions.append(fn)
    model.opset_import.add(domain="local", version=1)
    g = model.graph
    if g.node and g.node[0].input:
        g.node[0].op_type, g.node[0].domain = "Fuzzy", "local"
        del g.node[0].attribute[:]
        del g.node[0].input[1:]
    return "local function"


PROTO_MUTATIONS: list[Callable] = [
    m_attr_type, m_attr_type, m_add_attribute, m_rename, m_rename, m_nodes, m_dims, m_dims, m_external,
    m_external, m_unknown_op, m_empty, m_opset, m_elem_type, m_value_info, m_function,
]


def mutate_proto(rng: random.Random, model: onnx.ModelProto) -> tuple[bytes, dict[str, bytes], str]:
    extra: dict[str, bytes] = {}
    notes = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        try:
            notes.append(rng.choice(PROTO_MUTATIONS)(rng, model, extra))
        except Exception as e:  # noqa: BLE001 - protobuf or numpy refused this mutation of this model
            notes.append(f"(mutation refused: {type(e).__name__})")
    data = model.SerializeToString()
    return data.replace(NON_UTF8.encode(), NON_UTF8_BYTES), extra, "; ".join(notes)


def gen_onnx_proto(rng: random.Random) -> Case:
    base = rng.choice(models())
    data, extra, note = mutate_proto(rng, base.proto())
    if base.suffix == ".onnxtxt" and rng.random() < 0.5 and NON_UTF8_BYTES not in data:
        proto = onnx.ModelProto()
        proto.ParseFromString(data)
        try:
            name, data = "m.onnxtxt", onnx.printer.to_text(proto).encode()
        except Exception:  # the printer refuses some mutations: keep the binary form
            name = "m.onnx"
    else:
        name = "m.onnx"
    files = {name: data, **extra}
    r = rng.random()
    if r < 0.45:
        steps = [Step("tiler-opt", [name], inputs=[name])]
    elif r < 0.7:
        steps = [Step("tiler-opt", [name, "-o", "out.mlir"], inputs=[name], outputs=["out.mlir"]),
                 Step("tiler-opt", ["out.mlir", "-o", "again.mlir"], inputs=["out.mlir"], outputs=["again.mlir"], must_pass=True)]
    elif r < 0.85 and base.small:
        steps = [Step("tiler-opt", [name, "--l1", rng.choice(["1K", "4K", "16K"]), "--tile", "--allocate", "--alloc-timeout", "5"], inputs=[name])]
    else:
        files["in.npz"] = model_inputs(base, rng)
        steps = [Step("tiler-run", [name, "--inputs", "in.npz"], inputs=[name, "in.npz"])]
    return Case("onnx-proto", files, steps, note=f"{base.name}: {note}")


# -- generator: printed IR ----------------------------------------------------------------


def _nest(text: str, depth: int, rng: random.Random) -> str:
    kind = rng.choice(["modules", "array-attr", "parens", "types", "regions"])
    if kind == "modules":
        return "builtin.module {\n" * depth + text + "\n}" * depth
    if kind == "array-attr":
        return text.replace("{tiler.name = ", "{tiler.fuzz = " + "[" * depth + "0" + "]" * depth + ", tiler.name = ", 1)
    if kind == "parens":
        return text.replace("ins(", "ins(" + "(" * depth, 1)
    if kind == "types":
        return text.replace("memref<", "memref<" + "tuple<" * depth + "f32" + ">" * depth + ", ", 1)
    return text.replace("func.func @main", '"test.op"() (' + "{\n" * depth + "}" * depth + ") : () -> ()\n  func.func @main", 1)


def mutate_ir(rng: random.Random, text: str) -> tuple[bytes, str]:
    kind = rng.choice(["cut", "cut-hex", "cut-hex", "swap-tokens", "delete-lines", "duplicate-line", "swap-lines",
                       "number", "shape", "elem-type", "level", "nest", "non-utf8", "unknown-op", "no-hierarchy",
                       "dup-ssa", "split-marker", "attr-value"])
    if kind == "cut":
        at = rng.randrange(len(text))
        return text[:at].encode(), f"cut@{at}"
    if kind == "cut-hex":
        spans = [m.span(1) for m in re.finditer(r'dense<"0x([0-9A-Fa-f]+)', text)]
        if spans:
            lo, hi = rng.choice(spans)
            at = rng.randrange(lo, hi + 1)
            tail = "" if rng.random() < 0.5 else text[hi:]  # cut, or drop hex digits
            return (text[:at] + tail).encode(), f"cut-hex@{at}"
        at = rng.randrange(len(text))
        return text[:at].encode(), f"cut@{at}"
    if kind == "swap-tokens":
        tokens = list(re.finditer(r"%?[\w.]+|[^\w\s]", text))
        a, b = sorted(rng.sample(range(len(tokens)), 2))
        ta, tb = tokens[a], tokens[b]
        out = text[:ta.start()] + tb.group() + text[ta.end():tb.start()] + ta.group() + text[tb.end():]
        return out.encode(), f"swap {ta.group()!r}@{ta.start()} {tb.group()!r}@{tb.start()}"
    lines = text.splitlines(keepends=True)
    if kind == "delete-lines":
        i = rng.randrange(len(lines))
        del lines[i:i + rng.choice([1, 1, 2, 5])]
        return "".join(lines).encode(), f"delete line {i}"
    if kind == "duplicate-line":
        i = rng.randrange(len(lines))
        lines.insert(rng.randrange(len(lines)), lines[i])
        return "".join(lines).encode(), f"duplicate line {i}"
    if kind == "swap-lines":
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "".join(lines).encode(), f"swap lines {i} {j}"
    if kind == "split-marker":
        i = rng.randrange(len(lines))
        lines.insert(i, "// -----\n")
        return "".join(lines).encode(), f"split marker at line {i}"
    if kind == "number":
        numbers = list(re.finditer(r"(?<![\w.])-?\d+(?![\w.])", text))
        m = rng.choice(numbers)
        new = rng.choice(["0", "-1", "1", str(2**63), str(2**64), "99999999999999999999", "1e309", "nan", "-0", "007"])
        return (text[:m.start()] + new + text[m.end():]).encode(), f"number {m.group()}->{new}@{m.start()}"
    if kind == "shape":
        shapes = list(re.finditer(r"(?<=[<x])(\d+)(?=x)", text))
        m = rng.choice(shapes)
        new = rng.choice(["0", "?", "1", "99999999999", "-1", str(2**62)])
        return (text[:m.start()] + new + text[m.end():]).encode(), f"dim {m.group()}->{new}@{m.start()}"
    if kind == "elem-type":
        new = rng.choice(["f16", "f64", "i32", "i1", "bf16", "complex<f32>", "index", "i8", "f80"])
        return text.replace("xf32", "x" + new, rng.choice([1, 2, 100])).encode(), f"xf32->{new}"
    if kind == "level":
        new = rng.choice(['"L9"', '""', '"L1"', '"L3"', '"\\""', "L2", '"l2"'])
        old = rng.choice(['"L1"', '"L2"', '"L3"'])
        return text.replace(f"#tiler.mem<{old}>", f"#tiler.mem<{new}>", rng.choice([1, 3, 1000])).encode(), f"mem {old}->{new}"
    if kind == "nest":
        depth = rng.choice([10, 100, 1000, 10_000, 100_000])
        return _nest(text, depth, rng).encode(), f"nest {depth}"
    if kind == "non-utf8":
        at = rng.randrange(len(text))
        return text[:at].encode() + rng.choice([b"\xff", b"\xc3\x28", b"\x80"]) + text[at:].encode(), f"non-utf8@{at}"
    if kind == "unknown-op":
        ops = sorted(set(re.findall(r"\btiler\.[a-z_]+", text)))
        old = rng.choice(ops)
        new = rng.choice(["tiler.bogus", "tiler.", "tiler.conv", "tiler.dma_wait", "tiler.relu"])
        return text.replace(old, new, 1).encode(), f"{old}->{new}"
    if kind == "no-hierarchy":
        out = re.sub(r"tiler\.hierarchy = #tiler\.hierarchy<.*?>\]>", rng.choice(["", 'tiler.hierarchy = 1', 'tiler.hierarchy = #tiler.hierarchy<default = "L9", compute = "L1", levels = []>']), text, count=1)
        return out.encode(), "hierarchy attr"
    if kind == "dup-ssa":
        names = sorted(set(re.findall(r"%\w+", text)))
        a, b = rng.sample(names, 2)
        return re.sub(re.escape(a) + r"\b", b, text, count=rng.choice([1, 2])).encode(), f"{a}->{b}"
    # attr-value: an attribute's integers made weird
    m = rng.choice(list(re.finditer(r"array<i64: ([-\d, ]+)>", text)) or [None])
    if m is None:
        return text.encode(), "unchanged"
    new = ", ".join(rng.choice(["0", "-1", "1", "2", str(2**40)]) for _ in m.group(1).split(","))
    return (text[:m.start(1)] + new + text[m.end(1):]).encode(), f"array {m.group(1)}->{new}"


def gen_ir_text(rng: random.Random) -> Case:
    stage, text = rng.choice(base_irs())
    data, note = mutate_ir(rng, text)
    files = {"x.mlir": data}
    r = rng.random()
    if r < 0.3:
        steps = [Step("tiler-opt", ["x.mlir", "-o", "out.mlir"], inputs=["x.mlir"], outputs=["out.mlir"]),
                 Step("tiler-opt", ["out.mlir", "-o", "again.mlir"], inputs=["out.mlir"], outputs=["again.mlir"], must_pass=True)]
    elif r < 0.4:
        steps = [Step("tiler-opt", ["x.mlir", rng.choice(["--split-input-file", "--print-op-generic", "--verify-diagnostics", "-t", "summary"][: 4 if rng.random() < 0.8 else 5])], inputs=["x.mlir"])]
    elif r < 0.55:
        flags = ["--tile", "--l1", rng.choice(["512", "2K", "8K"])] if stage in ("imported", "generic") else ["--allocate"]
        steps = [Step("tiler-opt", ["x.mlir", *flags, "--alloc-timeout", "5"], inputs=["x.mlir"])]
    elif r < 0.65:
        steps = [Step("tiler-opt", ["-"], stdin=data)]
    elif r < 0.7:
        files["in.npz"] = npz_bytes(CONV_RELU_FEEDS)
        steps = [Step("tiler-run", ["-", "--inputs", "in.npz"], inputs=["in.npz"], stdin=data)]
    else:
        files["in.npz"] = npz_bytes(CONV_RELU_FEEDS)
        steps = [Step("tiler-run", ["x.mlir", "--inputs", "in.npz"], inputs=["x.mlir", "in.npz"])]
    return Case("ir-text", files, steps, note=f"{stage}: {note}")


# -- generator: hierarchy JSON files ------------------------------------------------------


WEIRD_SIZES = [2**70, "9" * 400, 9 * 10**399, -1, 0, 1, 1.5, 65536.0, float("nan"), float("inf"), True, False, None,
               "abc", "64 KiB", "1e3", [], {}, "8K", 2**63, 2**62, 2**60, "64kb", "-1", "", "0x100", "1G", 3]


def base_hierarchy(rng: random.Random) -> dict:
    l1 = rng.choice([1024, 2048, 8192, "4KiB", "16K"])
    if rng.random() < 0.25:
        return {"levels": [{"name": "L2", "size": 1048576, "neighbours": ["L1"]},
                           {"name": "L1", "size": l1, "neighbours": ["L2"]}], "default": "L2", "compute": "L1"}
    return {
        "levels": [
            {"name": "L3", "size": 8388608, "neighbours": ["L2"]},
            {"name": "L2", "size": rng.choice([1048576, 65536, "512K"]), "neighbours": ["L3", "L1"]},
            {"name": "L1", "size": l1, "neighbours": ["L2"]},
        ],
        "default": rng.choice(["L2", "L2", "L3"]),
        "compute": "L1",
    }


def mutate_hierarchy(rng: random.Random, h: dict) -> str:
    levels = h["levels"]
    level = rng.choice(levels)
    kind = rng.choice(["size", "size", "name", "neighbours", "default", "compute", "missing", "unknown", "cycle",
                       "disconnected", "links", "rates", "levels", "top", "many", "random", "duplicate"])
    if kind == "size":
        level["size"] = rng.choice(WEIRD_SIZES)
    elif kind == "name":
        old, new = level["name"], rng.choice(WEIRD_NAMES + [123, None, ["L1"]])
        level["name"] = new
        if rng.random() < 0.7 and isinstance(new, str):
            for other in levels:
                other["neighbours"] = [new if n == old else n for n in other["neighbours"]]
            for key in ("default", "compute"):
                if h.get(key) == old:
                    h[key] = new
    elif kind == "neighbours":
        level["neighbours"] = rng.choice(["L2", [], [123], ["L9"], [level["name"]], ["L2", "L2"], None, {"L2": 1}])
    elif kind in ("default", "compute"):
        h[kind] = rng.choice(["L9", "", None, 1, ["L2"], {"a": 1}, "L1", "L3", "l2"])
    elif kind == "missing":
        if rng.random() < 0.5:
            h.pop(rng.choice(["levels", "default", "compute"]), None)
        else:
            level.pop(rng.choice(["name", "size", "neighbours"]), None)
    elif kind == "unknown":
        (h if rng.random() < 0.5 else level)[rng.choice(["bogus", "Size", "", "levels "])] = 1
    elif kind == "cycle" and len(levels) == 3:
        levels[0]["neighbours"].append(levels[2]["name"])
        levels[2]["neighbours"].append(levels[0]["name"])
        if rng.random() < 0.5:
            h["default"] = "L3"
    elif kind == "disconnected":
        levels.append({"name": "L4", "size": 4096, "neighbours": []})
        if rng.random() < 0.5:
            h[rng.choice(["default", "compute"])] = "L4"
        if rng.random() < 0.3:  # one-way link
            levels[-1]["neighbours"] = [levels[0]["name"]]
    elif kind == "links":
        h["links"] = rng.choice([
            [{"between": ["L2", "L1"], "bandwidth": rng.choice([0, -1, 2**70, 1.5, "8", None]), "latency": rng.choice([0, -1, 2**70, 1.5])}],
            [{"between": ["L3", "L1"], "bandwidth": 8, "latency": 10}],
            [{"between": ["L9", "L1"], "bandwidth": 8, "latency": 10}],
            [{"between": ["L2"], "bandwidth": 8, "latency": 10}],
            [{"between": ["L2", "L1"], "bandwidth": 8}],
            {"L2": 1}, "fast", [1],
        ])
    elif kind == "rates":
        h["compute_rates"] = rng.choice([{"bogus": 1}, {"tile_overhead": -1}, {"tile_overhead": 2**70}, [], "x",
                                         {"tile_overhead": 1.5}, {"tile_overhead": 0}])
    elif kind == "levels":
        h["levels"] = rng.choice([[], {}, "L1", [None], [[]], [1, 2]])
    elif kind == "top":
        return json.dumps(rng.choice([[], "L1", 3, None, [h]]))
    elif kind == "many":
        n = rng.choice([10, 1000, 10_000])
        chain = [{"name": f"M{i}", "size": 1 << 20, "neighbours": [f"M{j}" for j in (i - 1, i + 1) if 0 <= j < n]} for i in range(n)]
        h.update(levels=chain, default="M0", compute=f"M{n - 1}")
    elif kind == "random":
        target = rng.choice(["size", "name", "neighbours", "default", "compute", "links"])
        value = draw(_strategies()["json"], rng)
        if target in ("size", "name", "neighbours"):
            level[target] = value
        else:
            h[target] = value
    elif kind == "duplicate":
        levels.append(dict(level))
    return json.dumps(h, ensure_ascii=rng.random() < 0.5)


def encode_hierarchy(rng: random.Random, text: str) -> tuple[bytes, str]:
    kind = rng.choice(["utf8"] * 20 + ["bom", "utf16", "utf32", "latin1", "binary", "empty", "truncated", "deep",
                                      "duplicate-keys", "trailing", "nan", "comment"])
    if kind == "utf8":
        return text.encode(), ""
    if kind == "bom":
        return b"\xef\xbb\xbf" + text.encode(), kind
    if kind in ("utf16", "utf32"):
        return text.encode("utf-16" if kind == "utf16" else "utf-32"), kind
    if kind == "latin1":
        return text.replace('"L1"', '"L\xe91"').encode("latin-1", "replace"), kind
    if kind == "binary":
        return bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 16, 300]))), kind
    if kind == "empty":
        return b"", kind
    if kind == "truncated":
        return text.encode()[: rng.randrange(max(1, len(text)))], kind
    if kind == "deep":
        depth = rng.choice([100, 1000, 10_000, 100_000])
        bracket = rng.choice(["[]", "{}"])
        if bracket == "[]":
            return ("[" * depth + "]" * depth).encode(), f"deep {depth}"
        return ('{"levels": ' + '{"a": ' * depth + "1" + "}" * depth + "}").encode(), f"deep {depth}"
    if kind == "duplicate-keys":
        return text.replace('"default": ', '"default": "L9", "default": ', 1).encode(), kind
    if kind == "trailing":
        return (text + rng.choice([" x", "\x00", "}", ",", "\n\n{}"])).encode(), kind
    if kind == "nan":
        return text.replace("8388608", rng.choice(["NaN", "Infinity", "-Infinity", "1e400"]), 1).encode(), kind
    return ("// a comment\n" + text).encode(), kind


def gen_hierarchy(rng: random.Random) -> Case:
    h = base_hierarchy(rng)
    text = json.dumps(h)
    for _ in range(rng.choice([0, 0, 1, 1, 1, 2])):
        try:
            text = mutate_hierarchy(rng, h)
            h = json.loads(text)
        except (KeyError, TypeError, AttributeError, IndexError, ValueError):
            break  # an earlier mutation left no structure for this one to change
        if not isinstance(h, dict) or not isinstance(h.get("levels"), list) or not h["levels"]:
            break
    data, encoding = encode_hierarchy(rng, text)
    files = {"h.json": data}
    r = rng.random()
    imported = dict(base_irs()).get("imported")
    if r < 0.2 and imported:
        files["x.mlir"] = imported.encode()
        argv, inputs = ["x.mlir", "--hierarchy", "h.json"], ["x.mlir", "h.json"]
    elif r < 0.3 and imported:
        files["x.mlir"] = imported.encode()
        option = rng.choice(['tile{hierarchy_file="h.json"}', 'set-memory-hierarchy{hierarchy_file="h.json"}'])
        argv, inputs = ["x.mlir", "-p", option], ["x.mlir", "h.json"]
    else:
        files["m.onnxtxt"] = CONV_RELU.read_bytes()
        argv, inputs = ["m.onnxtxt", "--hierarchy", "h.json"], ["m.onnxtxt", "h.json"]
    outputs = []
    r = rng.random()
    if r < 0.3:
        argv += ["--tile", "--alloc-timeout", "5"] + (["--allocate"] if rng.random() < 0.4 else [])
    if rng.random() < 0.4:
        argv += ["-o", "out.mlir"]
        outputs.append("out.mlir")
    return Case("hierarchy", files, [Step("tiler-opt", argv, inputs=inputs, outputs=outputs)], note=f"{text[:200]} {encoding}")


# -- generator: tiler-malloc CSVs ----------------------------------------------------------


def random_blocks(rng: random.Random) -> list[list[str]]:
    n = rng.randint(1, 25)
    rows = []
    for i in range(n):
        lower = rng.randint(0, 20)
        rows.append([str(i), str(lower), str(lower + rng.randint(1, 8)), str(rng.choice([1, 4, 8, 16, 100, 1000]))])
    return rows


def mutate_rows(rng: random.Random, header: list[str], rows: list[list[str]]) -> str:
    kind = rng.choice(["id-comma", "id-newline", "id-quote", "id-empty", "id-duplicate", "huge", "negative", "float",
                       "lower>=upper", "zero-size", "missing-column", "extra-column", "header", "alignment",
                       "whitespace", "random", "none"])
    row = rng.choice(rows) if rows else None
    if row is not None:
        if kind == "id-comma":
            row[0] = rng.choice(['"a,b"', "a,b"])
        elif kind == "id-newline":
            row[0] = rng.choice(['"a\nb"', '"a\r\nb"', "a\rb"])
        elif kind == "id-quote":
            row[0] = rng.choice(['"a""b"', 'a"b', '"', "'x'"])
        elif kind == "id-empty":
            row[0] = ""
        elif kind == "id-duplicate":
            row[0] = rows[0][0]
        elif kind == "huge":
            row[rng.randint(1, 3)] = rng.choice([str(2**70), str(2**63), str(2**60), str(2**59), "9" * 400])
        elif kind == "negative":
            row[rng.randint(1, 3)] = rng.choice(["-1", "-0", "-99999999999999999999"])
        elif kind == "float":
            row[rng.randint(1, 3)] = rng.choice(["1.5", "1e3", "nan", "inf", "0x10", "1_000", "+3", "٣"])
        elif kind == "lower>=upper":
            row[2] = row[1] if rng.random() < 0.5 else str(int(row[1]) - 1)
        elif kind == "zero-size":
            row[3] = "0"
        elif kind == "missing-column":
            del row[rng.randrange(len(row))]
        elif kind == "extra-column":
            row.append("7")
        elif kind == "whitespace":
            row[rng.randrange(len(row))] = " " + row[rng.randrange(len(row))] + "\t"
        elif kind == "random":
            row[rng.randrange(len(row))] = str(draw(_strategies()["csv_field"], rng))
    if kind == "header":
        header[:] = rng.choice([["id", "lower", "upper"], ["id", "lower", "upper", "size", "size"],
                                ["size", "upper", "lower", "id"], ["ID", "lower", "upper", "size"],
                                ["id", "lower", "upper", "size", "offset"], ["id", "lower", "upper", "size", "bogus"], []])
        if len(header) > 4:
            for r in rows:
                r.append("0")
    elif kind == "alignment":
        header.append("alignment")
        for r in rows:
            r.append(rng.choice(["1", "4", "0", "3", "-4", str(2**40), "16", ""]))
    return "\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n"


def gen_malloc_csv(rng: random.Random) -> Case:
    header = ["id", "lower", "upper", "size"]
    bases = malloc_bases()
    r = rng.random()
    timeout = rng.choice(["5", "5", "5", "1", "0", "-1", "nan", "inf", "1e-9", "abc"])
    if r < 0.1:
        n = 10_000
        overlap = rng.choice([1, 2])
        text = "id,lower,upper,size\n" + "".join(f"b{i},{i},{i + overlap},{rng.choice([4, 64])}\n" for i in range(n))
        capacity = rng.choice([128, 1 << 20, 64])
        note = f"{n} chained rows"
        if timeout in ("inf", "5"):
            timeout = "2"  # the tool must stop by then: a run over the time limit is a hang
    else:
        if bases and rng.random() < 0.4:
            base_text, optimum = rng.choice(bases)
            rows = [line.split(",") for line in base_text.strip().splitlines()[1:]]
            capacity = rng.choice([optimum, optimum - 1, optimum * 2])
        else:
            rows = random_blocks(rng)
            total = sum(int(r[3]) for r in rows)
            capacity = rng.choice([total, total // 2, max(1, total // 4), 1 << 20])
        if len(rows) > 8 and timeout == "inf":
            timeout = "5"  # an exact search without a time limit may take long: not a bug
        text = mutate_rows(rng, header, rows) if rng.random() < 0.8 else "\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n"
        note = ""
    data = text.encode()
    enc = rng.random()
    if enc < 0.05:
        data = b"\xef\xbb\xbf" + data
    elif enc < 0.1:
        data = data.replace(b"\n", b"\r\n")
    elif enc < 0.15:
        at = rng.randrange(len(data))
        data = data[:at] + b"\xff\xfe" + data[at:]
    elif enc < 0.18:
        data = rng.choice([b"", b"\x00" * 10, data.decode().encode("utf-16")])
    p_bad = 0.0 if rng.random() < 0.6 else 0.25
    capacity_arg = maybe_bad(rng, [str(capacity)], ["0", "-1", str(2**60), str(2**70), "abc", "1.5"], p_bad)
    out = maybe_bad(rng, ["out.csv"], ["in.csv", "missing/out.csv", ".", "sub", "pipe"], p_bad)
    argv = ["in.csv", "--capacity", capacity_arg, "-o", out, "--timeout", timeout if p_bad or note else "5"]
    if rng.random() < 0.4:
        argv += ["--strategy", maybe_bad(rng, ["MiniMalloc", "TetrisRandom", "TetrisCo-Opt"], ["bogus"], p_bad)]
    if rng.random() < 0.2:
        argv.append("--lowest-peak")
    if rng.random() < 0.2:
        argv += ["--seed", maybe_bad(rng, ["0", "3"], ["-1", str(2**80), "x"], p_bad)]
    files = {"in.csv": data}
    if out == "sub":
        files["sub/keep"] = b""
    steps = [Step("tiler-malloc", argv, inputs=["in.csv"], outputs=[out])]
    if out == "out.csv" and rng.random() < 0.5:
        # the output must read back: same blocks, with an offset column
        steps.append(Step("tiler-malloc", ["out.csv", "--capacity", capacity_arg, "-o", "again.csv", "--timeout", "5"],
                          inputs=["out.csv"], outputs=["again.csv"], must_pass=True))
    return Case("malloc-csv", files, steps, note=note, fifos=["pipe"] if out == "pipe" else [])


# -- generator: flags ---------------------------------------------------------------------

GOOD_SIZES = ["512", "1K", "2K", "4K", "8K", "32K", "64K", "1M", "8M", "65536", "64KiB", "8KB", "8k", " 64", "1", "64"]
BAD_SIZES = ["0", "abc", "-1", "1.5", "99999999999999999999999999", str(2**62), str(2**63), "8 K", "0x100", "", "4G", "1e3"]


def maybe_bad(rng: random.Random, good: list[str], bad: list[str], p_bad: float = 0.15) -> str:
    """Mostly a valid value (so that cases get past the command line), sometimes a bad one."""
    return rng.choice(bad) if rng.random() < p_bad else rng.choice(good)
GOOD_PIPELINES = ["tile{l1=8192}", "tile", 'tile{report="r.json"}', "tile,tile", "tile{l1=4096},allocate",
                  'allocate{memory_map="m.json"}', "set-memory-hierarchy{l1=1024 default-mem-level=L3}", "canonicalize",
                  "cse", "dce", 'tile{mem_alloc_strategy="TetrisCo-Opt" l1=4096}', "tile{l1=4096 double_buffer=false}"]
BAD_PIPELINES = ["garbage-pass", "tile{l1=abc}", "tile{bogus=1}", "tile{l1=8K}", "tile{l1=1000", "tile{l1=-1}", "tile{l1=0}",
                 "tile{l1=99999999999999999999999}", 'tile{search_strategy="bogus"}', "tile{double_buffer=maybe}",
                 "tile{alignment=3}", "tile{seed=-1}", "allocate", 'tile{l1=4096},allocate{strategy="bogus"}',
                 "tile{l1=4096},allocate{alignment=0}", "tile{l1=4096},allocate{timeout=0}", "set-memory-hierarchy{l1=0}",
                 "set-memory-hierarchy{default-mem-level=L9}", 'tile{hierarchy_file="missing.json"}', ",", "",
                 "tile{l1=4096 l1=8192}", "tile{", "tile}", 'tile{report="r.json"},tile{report="r.json"}']


def _base_for_flags(rng: random.Random) -> tuple[str, dict[str, bytes], bytes | None]:
    """(input name, files, inputs npz) of a small model or its IR."""
    r = rng.random()
    irs = dict(base_irs())
    if r < 0.55 or not irs:
        return "m.onnxtxt", {"m.onnxtxt": CONV_RELU.read_bytes()}, npz_bytes(CONV_RELU_FEEDS)
    if r < 0.75:
        stage = rng.choice(sorted(irs))
        return "m.mlir", {"m.mlir": irs[stage].encode()}, npz_bytes(CONV_RELU_FEEDS)
    small = [m for m in models() if m.small and m.suffix == ".onnx"]
    if not small:
        return "m.onnxtxt", {"m.onnxtxt": CONV_RELU.read_bytes()}, npz_bytes(CONV_RELU_FEEDS)
    model = rng.choice(small)
    return "m.onnx", {"m.onnx": model.data}, model_inputs(model, rng)


def gen_flags(rng: random.Random) -> Case:
    """tiler-opt (or, for 30% of the cases, tiler-run) with random flags. Half the cases use
    valid values only, so they get past the command line; the others make each value bad
    with probability 0.3."""
    if rng.random() < 0.3:
        return gen_run_flags(rng)
    p_bad = 0.0 if rng.random() < 0.5 else 0.3
    name, files, _ = _base_for_flags(rng)
    argv = [name]
    inputs = [name]
    outputs: list[str] = []
    for flag in ("--l1", "--l2", "--l3"):
        if rng.random() < 0.3:
            if rng.random() < 0.1 * (p_bad > 0):
                argv += [flag, draw(_strategies()["byte_count"], rng)]
            else:
                argv += [flag, maybe_bad(rng, GOOD_SIZES, BAD_SIZES, p_bad)]
    if rng.random() < 0.15:
        argv += ["--seed", maybe_bad(rng, ["0", "1", "7", "12345"], ["-1", str(2**80), "abc"], p_bad)]
    if rng.random() < 0.15:
        argv += ["--alignment", maybe_bad(rng, ["1", "4", "16", "64"], ["0", "3", str(2**40), "-4", "abc"], p_bad)]
    if rng.random() < 0.2:
        argv += ["--default-mem-level", maybe_bad(rng, ["L1", "L2", "L3"], ["bogus", "", "l2"], p_bad)]
    argv += ["--alloc-timeout", maybe_bad(rng, ["5", "2.5"], ["0", "nan", "-1", "inf", "1e-9", "abc"], p_bad)]
    if rng.random() < 0.45:
        argv.append("--tile")
    if rng.random() < 0.3:
        argv.append("--allocate")
    if rng.random() < 0.1:
        argv.append("--no-double-buffer")
    if rng.random() < 0.15:
        argv += ["--search-strategy", maybe_bad(rng, ["cycles", "max", "min", "random-max"], ["bogus"], p_bad)]
    if rng.random() < 0.2:
        argv += ["--mem-alloc-strategy", maybe_bad(rng, ["MiniMalloc", "TetrisRandom", "TetrisCo-Opt"], ["bogus"], p_bad)]
    if rng.random() < 0.2:
        argv += ["-p", maybe_bad(rng, GOOD_PIPELINES, BAD_PIPELINES, max(p_bad, 0.5))]
    if rng.random() < 0.1 and name != "m.onnx":
        argv += ["--input-shape", maybe_bad(rng, ["image=1x2x6x6"], ["image=0x2", "bogus=1x1", "image=1x2x6x6x1", "=1", "image=", "image=1x2x7x7"], p_bad)]
    if rng.random() < 0.1:
        argv += ["-t", maybe_bad(rng, ["summary", "mlir"], ["bogus"], p_bad)]
    if rng.random() < 0.05:
        argv.append(maybe_bad(rng, ["--print-op-generic", "--split-input-file", "--verify-diagnostics"], ["--bogus-flag", "--version"], p_bad))
    if rng.random() < 0.15:
        files["h.json"] = json.dumps(base_hierarchy(rng)).encode()
        argv += ["--hierarchy", "h.json"]
        inputs.append("h.json")
    # output options, sometimes naming an input, a missing directory, a directory, or each other
    targets = {"-o": "out.mlir", "--tile-report": "r.json", "--memory-map": "m.json", "--plot-mem-alloc": "m.html"}
    fifos = []
    for flag, default in targets.items():
        if rng.random() < 0.3:
            target = maybe_bad(rng, [default], inputs + ["nodir/x.out", ".", "sub", "out.mlir", "r.json", "m.json", "pipe"], max(p_bad, 0.3))
            if target == "sub":
                files["sub/keep"] = b""
            if target == "pipe" and not fifos:
                fifos.append("pipe")  # like -o /dev/stdout: written into, never replaced
            argv += [flag, target]
            outputs.append(target)
    if any("report=" in a or "memory_map=" in a for a in argv):
        outputs += ["r.json", "m.json"]
    return Case("flags", files, [Step("tiler-opt", argv, inputs=inputs, outputs=outputs)], note=f"p_bad={p_bad}", fifos=fifos)


def gen_run_flags(rng: random.Random) -> Case:
    """tiler-run on the small example with good and bad npz files, tolerances and outputs."""
    name, files, good_inputs = _base_for_flags(rng)
    conv_relu = name != "m.onnx"
    feeds = dict(CONV_RELU_FEEDS)
    kind = "good" if rng.random() < 0.5 else rng.choice(["missing-key", "extra-key", "shape", "dtype", "garbage", "empty", "npy", "truncated", "object", "scalar"])
    if not conv_relu and kind not in ("good", "garbage", "empty", "truncated"):
        kind = "good"
    if kind == "good":
        data = good_inputs
    elif kind == "missing-key":
        data = npz_bytes({})
    elif kind == "extra-key":
        data = npz_bytes({**feeds, "bogus": np.zeros(3, np.float32)})
    elif kind == "shape":
        data = npz_bytes({"image": np.zeros(rng.choice([(1, 2, 6, 7), (2, 6, 6), (1, 2, 6, 6, 1), (0,), ()]), np.float32)})
    elif kind == "dtype":
        data = npz_bytes({"image": feeds["image"].astype(rng.choice([np.float64, np.int32, np.bool_, np.float16, np.complex64]))})
    elif kind == "garbage":
        data = bytes(rng.getrandbits(8) for _ in range(100))
    elif kind == "empty":
        data = b""
    elif kind == "npy":
        buf = io.BytesIO()
        np.save(buf, feeds["image"])
        data = buf.getvalue()
    elif kind == "truncated":
        data = good_inputs[: rng.randrange(len(good_inputs))]
    elif kind == "object":
        buf = io.BytesIO()
        np.savez(buf, image=np.array([{"a": 1}], dtype=object))
        data = buf.getvalue()
    else:
        data = npz_bytes({"image": np.float32(1.0)})
    files["in.npz"] = data
    argv = [name, "--inputs", "in.npz"]
    inputs = [name, "in.npz"]
    outputs = []
    if conv_relu and rng.random() < 0.5:
        golden = rng.choice(["good", "good", "wrong", "missing", "shape", "nan"])
        good = dict(np.load(io.BytesIO(conv_relu_golden())))
        files["golden.npz"] = {
            "good": conv_relu_golden(),
            "wrong": npz_bytes({"logits": good["logits"] + 1}),
            "missing": npz_bytes({"other": good["logits"]}),
            "shape": npz_bytes({"logits": good["logits"].ravel()}),
            "nan": npz_bytes({"logits": np.full_like(good["logits"], np.nan)}),
        }[golden]
        argv += ["--check", "golden.npz"]
        inputs.append("golden.npz")
        if rng.random() < 0.3:
            argv += ["--rtol", rng.choice(["0", "-1", "nan", "inf", "abc", "1e-4"])]
        if rng.random() < 0.3:
            argv += ["--atol", rng.choice(["0", "-1", "nan", "inf", "1e-5"])]
    if rng.random() < 0.5:
        target = maybe_bad(rng, ["out.npz", "out"], inputs + ["nodir/out.npz", ".", "pipe"], 0.4)
        argv += ["--outputs", target]
        outputs.append(target)
        fifos = ["pipe"] if target == "pipe" else []
    else:
        fifos = []
    if rng.random() < 0.1:
        argv += ["--input-shape", rng.choice(["image=1x2x6x6", "image=0", "bogus=1", "image"])]
    return Case("flags", files, [Step("tiler-run", argv, inputs=inputs, outputs=outputs)], note=f"inputs: {kind}", fifos=fifos)


# -- generator: random valid graphs, checked against onnxruntime ----------------------------


class _GraphBuilder:
    """Random valid float32 graphs of the supported ops, tracking static shapes."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.np = np.random.default_rng(rng.getrandbits(32))
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.inputs: dict[str, tuple[int, ...]] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.footprints: list[int] = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, shape, scale: float = 1.0) -> str:
        n = self.name("w")
        self.inits.append(numpy_helper.from_array((self.np.standard_normal(shape) * scale).astype(np.float32), n))
        self.shapes[n] = tuple(shape)
        return n

    def input(self, shape) -> str:
        n = self.name("in")
        self.inputs[n] = tuple(shape)
        self.shapes[n] = tuple(shape)
        return n

    def node(self, op: str, ins: list[str], out_shape, **attrs) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        self.shapes[out] = tuple(out_shape)
        self.footprints.append(4 * (sum(math.prod(self.shapes[i]) for i in ins if i) + math.prod(out_shape)))
        return out

    def same_shape(self, x: str) -> str | None:
        peers = [n for n, s in self.shapes.items() if s == self.shapes[x] and n != x and not n.startswith("w")]
        return self.rng.choice(peers) if peers else None

    def step(self, x: str) -> str:
        rng, shape = self.rng, self.shapes[x]
        rank = len(shape)
        ops = ["Relu", "Add", "Mul", "Transpose", "Softmax", "Concat", "Reshape"]
        if rank == 4:
            ops += ["Conv", "Conv", "Conv", "MaxPool", "MaxPool", "AveragePool", "AveragePool", "Relu"]
        if rank == 2:
            ops += ["Gemm", "Gemm", "MatMul"]
        if rank == 3:
            ops += ["MatMul"]
        op = rng.choice(ops)
        if op == "Relu":
            return self.node("Relu", [x], shape)
        if op in ("Add", "Mul"):
            choice = rng.random()
            other = self.same_shape(x) if choice < 0.3 else None
            if other is None and choice < 0.45:
                other = self.input(shape)
            if other is None:
                options = [shape, shape[-1:], (), tuple(1 if i != 1 else d for i, d in enumerate(shape))]
                other = self.const(rng.choice(options))
            args = [x, other] if rng.random() < 0.5 else [other, x]
            return self.node(op, args, shape)
        if op == "Transpose":
            perm = list(range(rank))
            rng.shuffle(perm)
            return self.node("Transpose", [x], [shape[p] for p in perm], perm=perm)
        if op == "Softmax":
            return self.node("Softmax", [x], shape, axis=rng.randrange(-rank, rank))
        if op == "Concat":
            axis = rng.randrange(rank)
            other_shape = list(shape)
            other_shape[axis] = rng.randint(1, 3)
            other = x if rng.random() < 0.5 else self.const(other_shape)
            out = list(shape)
            out[axis] += self.shapes[other][axis]
            return self.node("Concat", [x, other], out, axis=axis)
        if op == "Reshape":
            total = math.prod(shape)
            target = rng.choice([[shape[0], -1], [-1], [1, total], [total, 1]] + ([[shape[0], shape[1], -1]] if rank >= 3 else []))
            resolved = [total // math.prod(d for d in target if d != -1) if d == -1 else d for d in target]
            return self.node("Reshape", [x, self.shape_const(target)], resolved)
        if op == "Conv":
            n, c, h, w = shape
            group = c if rng.random() < 0.2 else 1
            cout = c * rng.randint(1, 2) if group > 1 else rng.randint(1, 6)
            kh, kw = rng.randint(1, min(3, h + 1)), rng.randint(1, min(3, w + 1))
            pads = [rng.randint(0, k - 1) for k in (kh, kw)] * 2
            strides = [rng.randint(1, 2), rng.randint(1, 2)]
            dil = [rng.choice([1, 1, 2]) for _ in range(2)]
            oh = (h + 2 * pads[0] - dil[0] * (kh - 1) - 1) // strides[0] + 1
            ow = (w + 2 * pads[1] - dil[1] * (kw - 1) - 1) // strides[1] + 1
            if oh < 1 or ow < 1:
                return self.node("Relu", [x], shape)
            ins = [x, self.const((cout, c // group, kh, kw), 1 / math.sqrt(c // group * kh * kw))]
            if rng.random() < 0.5:
                ins.append(self.const((cout,)))
            return self.node("Conv", ins, (n, cout, oh, ow), kernel_shape=[kh, kw], pads=pads, strides=strides,
                             dilations=dil, group=group)
        if op in ("MaxPool", "AveragePool"):
            n, c, h, w = shape
            kh, kw = rng.randint(1, min(3, h)), rng.randint(1, min(3, w))
            pads = [rng.randint(0, k - 1) for k in (kh, kw)] * 2
            strides = [rng.randint(1, 2), rng.randint(1, 2)]
            ceil = int(rng.random() < 0.3)

            def extent(size, k, pad, stride):
                out = -(-(size + 2 * pad - k) // stride) + 1 if ceil else (size + 2 * pad - k) // stride + 1
                return out - 1 if ceil and (out - 1) * stride >= size + pad else out  # windows start inside

            oh, ow = extent(h, kh, pads[0], strides[0]), extent(w, kw, pads[1], strides[1])
            attrs = dict(kernel_shape=[kh, kw], pads=pads, strides=strides, ceil_mode=ceil)
            if op == "AveragePool":
                attrs["count_include_pad"] = rng.randint(0, 1)
            return self.node(op, [x], (n, c, oh, ow), **attrs)
        if op == "Gemm":
            m, k = shape
            trans_a = int(rng.random() < 0.25)
            if trans_a:
                m, k = k, m
            nout = rng.randint(1, 12)
            trans_b = rng.randint(0, 1)
            b = self.const((nout, k) if trans_b else (k, nout), 1 / math.sqrt(k))
            ins = [x, b] + ([self.const(rng.choice([(nout,), (1, nout), (m, nout)]))] if rng.random() < 0.6 else [])
            return self.node("Gemm", ins, (m, nout), transA=trans_a, transB=trans_b, alpha=rng.choice([1.0, 0.5]),
                             beta=rng.choice([1.0, 2.0]))
        # MatMul
        k = shape[-1]
        nout = rng.randint(1, 10)
        b = self.const((k, nout), 1 / math.sqrt(k))
        return self.node("MatMul", [x, b], (*shape[:-1], nout))

    def shape_const(self, dims) -> str:
        n = self.name("shape")
        self.inits.append(numpy_helper.from_array(np.array(dims, np.int64), n))
        self.shapes[n] = (len(dims),)
        return n

    def build(self) -> tuple[onnx.ModelProto, str]:
        rng = self.rng
        rank = rng.choice([4, 4, 4, 2, 2, 3])
        shape = {4: (rng.randint(1, 2), rng.randint(1, 4), rng.randint(3, 10), rng.randint(3, 10)),
                 2: (rng.randint(1, 8), rng.randint(1, 16)), 3: (rng.randint(1, 3), rng.randint(1, 6), rng.randint(1, 8))}[rank]
        x = self.input(shape)
        for _ in range(rng.randint(1, 6)):
            x = self.step(x)
        outputs = [x]
        if len(self.nodes) > 1 and rng.random() < 0.2:  # an intermediate value is an output too
            outputs.insert(0, rng.choice(self.nodes[:-1]).output[0])
        graph = helper.make_graph(
            self.nodes, "fuzz",
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in self.inputs.items()],
            [helper.make_tensor_value_info(o, TensorProto.FLOAT, self.shapes[o]) for o in outputs],
            self.inits,
        )
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), outputs


def random_valid_model(rng: random.Random):
    """(model, feeds, golden outputs, largest op footprint in bytes, description)."""
    import onnxruntime as ort

    for _ in range(20):
        builder = _GraphBuilder(rng)
        model, outputs = builder.build()
        feeds = {n: builder.np.standard_normal(s).astype(np.float32) for n, s in builder.inputs.items()}
        try:
            onnx.checker.check_model(model, full_check=True)
            session = ort.InferenceSession(model.SerializeToString(), _quiet_session_options(), providers=["CPUExecutionProvider"])
            wants = session.run(None, feeds)
        except Exception:  # noqa: BLE001 - a graph onnxruntime rejects: draw another one
            continue
        if any(w.shape != builder.shapes[o] for o, w in zip(outputs, wants)):
            continue  # the shape bookkeeping and onnxruntime disagree: not a case to test
        ops = " ".join(n.op_type for n in model.graph.node)
        return model, feeds, dict(zip(outputs, wants)), max(builder.footprints), f"{list(builder.inputs.values())[0]} {ops}"
    raise RuntimeError("no valid random graph in 20 attempts")


def gen_valid_graph(rng: random.Random) -> Case:
    model, feeds, golden, footprint, description = random_valid_model(rng)
    l1 = max(64, int(footprint * rng.uniform(0.1, 0.7)) // 4 * 4)
    tile_flags = ["--l1", str(l1)]
    if rng.random() < 0.15:
        tile_flags += ["--l2", str(max(4 * l1, 4096)), "--default-mem-level", "L3"]
    if rng.random() < 0.3:
        tile_flags.append("--no-double-buffer")
    if rng.random() < 0.3:
        tile_flags += ["--search-strategy", rng.choice(["max", "min", "random-max", "cycles"])]
    alloc_flags = ["--alloc-timeout", "10"]
    if rng.random() < 0.4:
        alloc_flags += ["--mem-alloc-strategy", rng.choice(["TetrisRandom", "TetrisCo-Opt"])]
    if rng.random() < 0.2:
        alloc_flags += ["--alignment", rng.choice(["8", "16", "64"])]
    files = {"m.onnx": model.SerializeToString(), "in.npz": npz_bytes(feeds), "golden.npz": npz_bytes(golden)}
    check = ["--inputs", "in.npz", "--check", "golden.npz"]
    data = ["in.npz", "golden.npz"]
    steps = [
        Step("tiler-run", ["m.onnx", *check], inputs=["m.onnx", *data], differential=True),
        Step("tiler-opt", ["m.onnx", "-o", "m.mlir"], inputs=["m.onnx"], outputs=["m.mlir"], must_pass=True),
        Step("tiler-run", ["m.mlir", *check], inputs=["m.mlir", *data], differential=True, must_pass=True),
        Step("tiler-opt", ["m.onnx", *tile_flags, "--tile", "-o", "t.mlir"], inputs=["m.onnx"], outputs=["t.mlir"]),
        Step("tiler-run", ["t.mlir", *check], inputs=["t.mlir", *data], differential=True, must_pass=True),
        Step("tiler-opt", ["m.onnx", *tile_flags, "--tile", "--allocate", *alloc_flags, "-o", "a.mlir"], inputs=["m.onnx"], outputs=["a.mlir"]),
        Step("tiler-run", ["a.mlir", *check], inputs=["a.mlir", *data], differential=True, must_pass=True),
    ]
    return Case("valid-graph", files, steps, note=description)


# -- the schedule -------------------------------------------------------------------------

GENERATORS: dict[str, Callable[[random.Random], Case]] = {
    "onnx-bytes": gen_onnx_bytes,
    "onnx-proto": gen_onnx_proto,
    "ir-text": gen_ir_text,
    "hierarchy": gen_hierarchy,
    "malloc-csv": gen_malloc_csv,
    "flags": gen_flags,
    "valid-graph": gen_valid_graph,
}
WEIGHTS = {"onnx-bytes": 16, "onnx-proto": 24, "ir-text": 16, "hierarchy": 11, "malloc-csv": 11, "flags": 14, "valid-graph": 8}
# the quick pytest: the same generators, fewer of the slow differential cases
QUICK_WEIGHTS = {**WEIGHTS, "valid-graph": 2}


def schedule(weights: dict[str, int]) -> list[str]:
    """One period of a smooth weighted round robin: each generator `weight` times,
    spread evenly (so any prefix of the cases covers all generators in proportion)."""
    total = sum(weights.values())
    current = dict.fromkeys(weights, 0)
    order = []
    for _ in range(total):
        for name, weight in weights.items():
            current[name] += weight
        best = max(current, key=lambda name: current[name])
        current[best] -= total
        order.append(best)
    return order


def make_case(seed: int, index: int, weights: dict[str, int] = WEIGHTS) -> Case:
    order = schedule(weights)
    name = order[index % len(order)]
    case = GENERATORS[name](random.Random(f"{seed}/{name}/{index}"))
    case.id = f"{seed}-{index:05d}-{name}"
    return case


def iter_cases(seed: int, count: int, weights: dict[str, int] = WEIGHTS) -> Iterator[Case]:
    for index in range(count):
        yield make_case(seed, index, weights)
