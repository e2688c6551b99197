"""ONNX's node conformance cases, as the conformance, tiled-conformance, description and
kernel tests share them: which cases are in scope, which the importer rejects (and why),
how static inputs are bound, and the ops the runnable cases import to.

In scope: every case of `onnx.backend.test.loader.load_model_tests(kind="node")` whose
ops all have an importer (plus Constant, which always folds). Inputs that the importer
needs as constants (Slice starts, Pad pads, Reshape shape, ...: `STATIC_INPUTS`) are
bound to the case's values as initializers, since the tiler compiles static programs.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from tiler_dialect.ops import TilerOp, element_dtype
from tiler_tools.onnx_frontend import STATIC_INPUTS, ImportFailure, import_onnx, supported_ops

REJECTED_FILE = Path(__file__).parent / "data" / "conformance_rejected.txt"

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the loader's own generators warn about casts
    from onnx.backend.test.loader import load_model_tests

    ALL_CASES = load_model_tests(kind="node")


def _as_array(value):
    """Some cases (Cast's) give their data as TensorProtos."""
    return numpy_helper.to_array(value) if isinstance(value, onnx.TensorProto) else value


for _case in ALL_CASES:
    if _case.data_sets:
        _case.data_sets = [
            ([_as_array(v) for v in inputs], [_as_array(v) for v in outputs]) for inputs, outputs in _case.data_sets
        ]

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
"""Case name -> the diagnostic the importer must reject it with."""

RUNNABLE = [c for c in CASES if c.name not in REJECTED]


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


def ops_of(module) -> list[TilerOp]:
    """The compute ops of a module (views are not computed)."""
    return [op for op in module.walk() if isinstance(op, TilerOp) and not op.IS_VIEW]


def random_input(rng, op: TilerOp, i: int) -> np.ndarray:
    """A random value for input `i` of `op`: no zero divisors, no overflow, positive
    floats (valid for sqrt and pow), and indices in their dim's range, negative ones too."""
    t = op.inputs[i].type
    dtype = element_dtype(t.element_type)
    shape = tuple(t.get_shape())
    bound = op.index_inputs().get(i)
    if bound is not None:
        return rng.integers(-bound, bound, shape).astype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(1, 5, shape).astype(dtype)
    return rng.uniform(0.5, 2.0, shape).astype(dtype)


@functools.cache
def conformance_ops() -> tuple[tuple[str, TilerOp], ...]:
    """(case name, op) for every compute op of the runnable cases, imported once."""
    out = []
    for case in RUNNABLE:
        model, _ = bind_static_inputs(case.model, case.data_sets[0][0])
        try:
            module = import_onnx(model)
        except ImportFailure:  # pragma: no cover - the conformance test covers imports
            continue
        out.extend((case.name, op) for op in ops_of(module))
    return tuple(out)
