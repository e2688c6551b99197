"""Import diagnostics: each names what is wrong and, where there is one, the node."""

from __future__ import annotations


class ImportFailure(Exception):
    """An ONNX model the importer cannot turn into IR; the message is for the user."""

    kind = "error"


class MalformedModel(ImportFailure):
    kind = "malformed ONNX"


class DynamicShape(ImportFailure):
    kind = "dynamic shape"


class UnsupportedOp(ImportFailure):
    kind = "unsupported op"


class UnsupportedFeature(ImportFailure):
    """A supported op used in a way we do not support (a mode, a dtype, an extra output)."""

    kind = "unsupported feature"


def node_label(name: str, op_type: str, domain: str = "") -> str:
    op = f"{domain}.{op_type}" if domain and domain != "ai.onnx" else op_type
    return f"node '{name}' ({op})" if name else f"a {op} node"
