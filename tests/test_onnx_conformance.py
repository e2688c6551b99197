"""ONNX's node conformance cases, imported and executed, against their expected outputs.

In scope: every case of `onnx.backend.test.loader.load_model_tests(kind="node")` whose
ops all have an importer (plus Constant, which always folds). Inputs that the importer
needs as constants (Slice starts, Pad pads, Reshape shape, ...: `STATIC_INPUTS`) are
bound to the case's values as initializers, since the tiler compiles static programs.

Each in-scope case must either match its expected outputs with the case's own rtol/atol,
or be listed in `data/conformance_rejected.txt` with the reason the importer gives (a
mode we do not implement, training behaviour, non-tensor types) and be rejected with
exactly that diagnostic. The list is checked both ways, so coverage changes are seen.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import STATIC_INPUTS, ImportFailure, import_onnx, supported_ops

REJECTED_FILE = Path(__file__).parent / "data" / "conformance_rejected.txt"

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the loader's own generators warn about casts
    from onnx.backend.test.loader import load_model_tests

    ALL_CASES = load_model_tests(kind="node")

SUPPORTED = set(supported_ops()) | {"Constant"}


def _op_name(node: onnx.NodeProto) -> str:
    return (f"{node.domain}." if node.domain not in ("", "ai.onnx") else "") + node.op_type


def _in_scope(case) -> bool:
    return {_op_name(n) for n in case.model.graph.node} <= SUPPORTED


CASES = [c for c in ALL_CASES if _in_scope(c)]


def _expected_rejections() -> dict[str, str]:
    out = {}
    for line in REJECTED_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, reason = line.partition(" ")
            out[name] = reason.strip()
    return out


REJECTED = _expected_rejections()
RESULTS: dict[str, str] = {}  # case -> "pass" | "rejected"; read by conftest's summary


def bind_static_inputs(model: onnx.ModelProto, values: list[np.ndarray]) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """Turn graph inputs that only feed static operands into initializers."""
    initialized = {t.name for t in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in initialized]
    feeds = dict(zip(names, values))
    uses: dict[str, list[bool]] = {}
    for node in model.graph.node:
        static = STATIC_INPUTS.get((node.domain if node.domain != "ai.onnx" else "", node.op_type), frozenset())
        for i, name in enumerate(node.input):
            uses.setdefault(name, []).append(i in static)
    bound = [n for n in names if uses.get(n) and all(uses[n])]
    if not bound:
        return model, feeds
    model = onnx.ModelProto.FromString(model.SerializeToString())
    for name in bound:
        model.graph.initializer.append(numpy_helper.from_array(np.asarray(feeds.pop(name)), name))
    kept = [i for i in model.graph.input if i.name not in bound]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    return model, feeds


def test_rejection_list_names_existing_cases():
    known = {c.name for c in CASES}
    stale = sorted(set(REJECTED) - known)
    assert not stale, f"{REJECTED_FILE.name} lists cases that are not in scope: {stale}"


def test_enough_cases_in_scope():
    # guards against the filter silently dropping everything (e.g. an onnx API change)
    assert len(CASES) > 250
    assert sum(1 for c in CASES if c.name not in REJECTED) > 230


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance_case(case):
    inputs, expected = case.data_sets[0]
    model, feeds = bind_static_inputs(case.model, inputs)
    if case.name in REJECTED:
        with pytest.raises(ImportFailure) as failure:
            import_onnx(model)
        assert REJECTED[case.name] in str(failure.value)
        RESULTS[case.name] = "rejected"
        return
    module = import_onnx(model)
    outputs = execute(module, feeds)
    assert len(outputs) == len(expected)
    for (name, actual), want in zip(outputs.items(), expected):
        want = np.asarray(want)
        assert actual.dtype == want.dtype, f"{name}: dtype {actual.dtype}, expected {want.dtype}"
        assert actual.shape == want.shape, f"{name}: shape {actual.shape}, expected {want.shape}"
        np.testing.assert_allclose(actual, want, rtol=case.rtol, atol=case.atol, err_msg=name)
    RESULTS[case.name] = "pass"
