"""ONNX import: a model (.onnx protobuf or .onnxtxt text) becomes a module of tiler ops.

    module = import_onnx("model.onnx", MemoryHierarchy.default(), {"input": (1, 3, 32, 32)})
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from xdsl.dialects.builtin import ModuleOp

from tiler_dialect.hierarchy import MemoryHierarchy
from tiler_tools.onnx_frontend.converters import CONVERTERS, STATIC_INPUTS
from tiler_tools.onnx_frontend.errors import (
    DynamicShape,
    ImportFailure,
    MalformedModel,
    ModelWarning,
    UnsupportedFeature,
    UnsupportedOp,
)
from tiler_tools.onnx_frontend.graph import import_graph, supported_ops_text
from tiler_tools.onnx_frontend.integer_graph import (
    graph_inputs,
    integer_converters,
    minimal_integer_dtype,
    prepare_integer_graph,
    sample_input_types,
)
from tiler_tools.onnx_frontend.loading import (
    load_external_data,
    load_model,
    parse_model_bytes,
    parse_model_text,
    parse_model_text_bytes,
)


def import_onnx(
    model: onnx.ModelProto | str | Path,
    hierarchy: MemoryHierarchy | None = None,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    integer_inputs: dict[str, np.dtype | str] | None = None,
) -> ModuleOp:
    """Import a model; raises ImportFailure (with a message for the user) on bad input.

    A path is read with its external data from its folder; a ModelProto must carry its
    tensors' data inline (see `load_external_data`). With `integer_inputs` (each graph
    input's integer type) the model is one of Deeploy's integer graphs, whose float
    tensors hold integers (see integer_graph.py)."""
    if not isinstance(model, onnx.ModelProto):
        model = load_model(model)
    else:
        load_external_data(model, None, "the model")
    converters, static = CONVERTERS, STATIC_INPUTS
    if integer_inputs is not None:
        model = prepare_integer_graph(model, {k: np.dtype(v) for k, v in integer_inputs.items()})
        converters, static = integer_converters(converters, static)
    return import_graph(model, hierarchy or MemoryHierarchy.default(), input_shapes or {}, converters, static)


def supported_ops() -> list[str]:
    return sorted({(f"{d}." if d else "") + op for d, op in CONVERTERS})


__all__ = [
    "STATIC_INPUTS",
    "DynamicShape",
    "ImportFailure",
    "MalformedModel",
    "ModelWarning",
    "UnsupportedFeature",
    "UnsupportedOp",
    "import_onnx",
    "load_external_data",
    "load_model",
    "graph_inputs",
    "minimal_integer_dtype",
    "sample_input_types",
    "parse_model_bytes",
    "parse_model_text",
    "parse_model_text_bytes",
    "supported_ops",
    "supported_ops_text",
]
