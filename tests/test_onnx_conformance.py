"""ONNX's node conformance cases, imported and executed, against their expected outputs.

The cases in scope, and how their static inputs are bound: tests/conformance_cases.py.

Each in-scope case must either match its expected outputs with the case's own rtol/atol,
or be listed in `data/conformance_rejected.txt` with the reason the importer gives (a
mode we do not implement, training behaviour, non-tensor types) and be rejected with
exactly that diagnostic. The list is checked both ways, so coverage changes are seen.
"""

from __future__ import annotations

import numpy as np
import pytest
from conformance_cases import CASES, REJECTED, REJECTED_FILE, bind_static_inputs
from summaries import ONNX_CONFORMANCE

from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import ImportFailure, import_onnx


def test_rejection_list_names_existing_cases():
    known = {c.name for c in CASES}
    stale = sorted(set(REJECTED) - known)
    assert not stale, f"{REJECTED_FILE.name} lists cases that are not in scope: {stale}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance_case(case):
    inputs, expected = case.data_sets[0]
    model, feeds = bind_static_inputs(case.model, inputs)
    if case.name in REJECTED:
        with pytest.raises(ImportFailure) as failure:
            import_onnx(model)
        assert REJECTED[case.name] in str(failure.value)
        ONNX_CONFORMANCE[case.name] = "rejected"
        return
    module = import_onnx(model)
    outputs = execute(module, feeds)
    assert len(outputs) == len(expected)
    for (name, actual), want in zip(outputs.items(), expected):
        want = np.asarray(want)
        assert actual.dtype == want.dtype, f"{name}: dtype {actual.dtype}, expected {want.dtype}"
        assert actual.shape == want.shape, f"{name}: shape {actual.shape}, expected {want.shape}"
        np.testing.assert_allclose(actual, want, rtol=case.rtol, atol=case.atol, err_msg=name)
    ONNX_CONFORMANCE[case.name] = "pass"
