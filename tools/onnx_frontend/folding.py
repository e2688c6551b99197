"""Constant folding with ONNX's own reference implementation.

A node whose inputs are all known at import time is evaluated here instead of becoming
IR, whatever its op: shape arithmetic (Shape, Gather, Concat, ...), DequantizeLinear or
Cast of weights, Constant nodes. Using `onnx.reference` keeps every op's exact semantics
at the model's opset without writing them again.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator

from tiler_tools.onnx_frontend.errors import UnsupportedFeature


def fold_node(
    node: onnx.NodeProto, inputs: list[np.ndarray], model: onnx.ModelProto, label: str
) -> list[np.ndarray]:
    names = [n for n in node.input if n]
    graph = onnx.helper.make_graph(
        [node],
        "fold",
        [onnx.helper.make_tensor_value_info(n, onnx.helper.np_dtype_to_tensor_dtype(a.dtype), a.shape) for n, a in zip(names, inputs)],
        [onnx.helper.make_empty_tensor_value_info(o) for o in node.output if o],
    )
    feeds = dict(zip(names, inputs))
    try:
        return _run(graph, list(model.opset_import), model.ir_version, feeds)
    except _MissingVersion:
        # onnx.reference implements only some versions of an op; newer versions of the ops
        # met in constant sub-graphs (DequantizeLinear, Cast, ...) extend the old ones
        try:
            newest = [onnx.helper.make_opsetid(o.domain, onnx.defs.onnx_opset_version()) if o.domain in ("", "ai.onnx") else o for o in model.opset_import]
            return _run(graph, newest, model.ir_version, feeds)
        except Exception as e:
            raise _failure(label, e) from None
    except Exception as e:  # the reference implementation raises many kinds of errors
        raise _failure(label, e) from None


class _MissingVersion(Exception):
    pass


def _run(graph, opsets, ir_version, feeds) -> list[np.ndarray]:
    folded_model = onnx.helper.make_model(graph, opset_imports=opsets, ir_version=ir_version or 8)
    try:
        evaluator = ReferenceEvaluator(folded_model)
    except RuntimeError as e:
        if "No implementation for operator" in str(e):
            raise _MissingVersion() from e
        raise
    return [np.asarray(o) for o in evaluator.run(None, feeds)]


def _failure(label: str, e: Exception) -> UnsupportedFeature:
    return UnsupportedFeature(
        f"{label}: its inputs are all constants, but folding it failed: {type(e).__name__}: {e}"
    )
