"""Import diagnostics: each names what is wrong and, where there is one, the node."""

from __future__ import annotations


from tiler_dialect.errors import TilerError


class ImportFailure(TilerError):
    """An ONNX model the importer cannot turn into IR; the message is for the user.

    A diagnostic (TilerError, an xDSL DiagnosticException), so `tiler-opt --verify-diagnostics` prints it like a verifier
    error and lit tests can check it."""

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


def node_label(name: str, op_type: str, domain: str = "", outputs: list[str] | None = None) -> str:
    op = f"{domain}.{op_type}" if domain and domain != "ai.onnx" else op_type
    if name:
        return f"node '{name}' ({op})"
    produced = [o for o in outputs or [] if o]
    return f"the {op} node producing '{produced[0]}'" if produced else f"an unnamed {op} node"


class ModelWarning(UserWarning):
    """Something in the model that is not what ONNX computes but has one clear reading
    (e.g. a graph output declared [1] that computes a scalar): the import goes on with
    what ONNX computes, as onnxruntime does, and says so."""

