"""Reading ONNX models from binary protobuf (.onnx) or ONNX's textual syntax (.onnxtxt),
with their external data.

External data (tensor bytes kept in files beside the model: initializers, `Constant`
nodes and any other tensor attribute) is read here, once, from files inside the model's
folder only: a `location` that is absolute, leaves the folder (`..`, a symlink out of it)
or is not a regular file is an error, and so is external data when the model has no
folder (read from stdin or given as a ModelProto). Nothing downstream (constant folding
with onnx.reference included) ever opens a file of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import onnx
import onnx.parser
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from onnx.external_data_helper import ExternalDataInfo, uses_external_data

from tiler_passes.output_files import protect_input
from tiler_tools.onnx_frontend.errors import MalformedModel


def parse_model_bytes(data: bytes, source: str) -> onnx.ModelProto:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise MalformedModel(f"{source}: not a valid ONNX protobuf ({_short(e)})") from None
    if not model.HasField("graph"):
        raise MalformedModel(f"{source}: the ONNX model has no graph")
    check_strings(model, source)
    return model


def check_strings(message: Message, source: str, path: str = "model") -> None:
    """Every string field (names, op types, attribute names, ...) must be UTF-8: protobuf
    hands invalid ones over as bytes, which nothing downstream expects."""
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_STRING:
            values = value if _is_repeated(field) else [value]
            for i, v in enumerate(values):
                if not isinstance(v, str):
                    raise MalformedModel(
                        f"{source}: {path}.{field.name}{f'[{i}]' if _is_repeated(field) else ''} "
                        f"is not valid UTF-8 text ({_short(repr(v), 60)})"
                    )
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if _is_repeated(field):
                for i, m in enumerate(value):
                    check_strings(m, source, f"{path}.{field.name}[{i}]")
            else:
                check_strings(value, source, f"{path}.{field.name}")


def _is_repeated(field: FieldDescriptor) -> bool:
    return field.is_repeated


def parse_model_text(text: str, source: str) -> onnx.ModelProto:
    try:
        return onnx.parser.parse_model(text)
    except onnx.parser.ParseError as e:
        detail = e.args[0].decode("utf-8", "replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        raise MalformedModel(f"{source}: invalid ONNX text syntax: {_short(detail.strip(), 400)}") from None
    except Exception as e:  # the C++ parser raises other errors on odd input
        raise MalformedModel(f"{source}: invalid ONNX text syntax: {_short(e)}") from None


def parse_model_text_bytes(data: bytes, source: str) -> onnx.ModelProto:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise MalformedModel(f"{source}: ONNX text must be UTF-8 (invalid byte at offset {e.start})") from None
    return parse_model_text(text, source)


def load_model(path: str | Path) -> onnx.ModelProto:
    """A model file with its external data (read from the file's folder)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise MalformedModel(f"cannot read {p}: {e.strerror}") from None
    model = parse_model_text_bytes(data, str(p)) if p.suffix == ".onnxtxt" else parse_model_bytes(data, str(p))
    load_external_data(model, p.parent, str(p))
    return model


def _short(e: object, limit: int = 200) -> str:
    text = str(e)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _graph_tensors(graph: onnx.GraphProto) -> Iterator[tuple[onnx.TensorProto, str]]:
    for t in graph.initializer:
        yield t, f"initializer '{t.name}'"
    for s in graph.sparse_initializer:
        yield s.values, f"sparse initializer '{s.values.name}'"
        yield s.indices, f"sparse initializer '{s.values.name}' (indices)"
    for node in graph.node:
        for a in node.attribute:
            what = f"attribute '{a.name}' of node '{node.name or node.op_type}'"
            if a.HasField("t"):
                yield a.t, what
            for t in a.tensors:
                yield t, what
            if a.HasField("sparse_tensor"):
                yield a.sparse_tensor.values, what
                yield a.sparse_tensor.indices, what
            for s in a.sparse_tensors:
                yield s.values, what
                yield s.indices, what
            if a.HasField("g"):
                yield from _graph_tensors(a.g)
            for g in a.graphs:
                yield from _graph_tensors(g)


def load_external_data(model: onnx.ModelProto, folder: str | Path | None, source: str) -> None:
    """Replace every external-data reference of `model` by the bytes it names, read from
    inside `folder` (None: the model has no folder, so external data is an error)."""
    tensors = [(t, what) for t, what in _graph_tensors(model.graph) if uses_external_data(t)]
    if not tensors:
        return
    if folder is None:
        raise MalformedModel(
            f"{source}: {tensors[0][1]} keeps its data in an external file, but the model was not "
            "read from a file, so there is no folder to find it in; give the model's path"
        )
    root = os.path.realpath(folder)
    for tensor, what in tensors:
        data = _read_external(tensor, root, f"{source}: {what}")
        expected = _expected_bytes(tensor)
        if expected is not None and len(data) != expected:
            raise MalformedModel(
                f"{source}: {what}: its external data has {len(data)} bytes, but a "
                f"{'x'.join(map(str, tensor.dims)) or 'scalar'} "
                f"{onnx.TensorProto.DataType.Name(tensor.data_type)} tensor needs {expected}"
            )
        tensor.raw_data = data
        tensor.data_location = onnx.TensorProto.DEFAULT
        del tensor.external_data[:]


def _expected_bytes(tensor: onnx.TensorProto) -> int | None:
    """Bytes of a tensor of a fixed-size element type (None for strings and the like)."""
    try:
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    except Exception:  # noqa: BLE001 - unknown or variable-size types: nothing to check
        return None
    if onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).kind in "OSU":
        return None
    count = 1
    for d in tensor.dims:
        count *= d
    bits = {onnx.TensorProto.INT4, onnx.TensorProto.UINT4}
    if tensor.data_type in bits:
        return (count + 1) // 2
    return count * itemsize


def _read_external(tensor: onnx.TensorProto, root: str, what: str) -> bytes:
    try:
        info = ExternalDataInfo(tensor)
    except ValueError as e:
        raise MalformedModel(f"{what}: invalid external data: {_short(e)}") from None
    location = info.location
    if not location or "\0" in location:
        raise MalformedModel(f"{what}: external data without a file location")
    if os.path.isabs(location):
        raise MalformedModel(
            f"{what}: external data location {_short(location, 100)!r} is an absolute path; "
            "it must name a file in the model's folder"
        )
    path = os.path.realpath(os.path.join(root, location))
    if os.path.commonpath([root, path]) != root:
        raise MalformedModel(
            f"{what}: external data location {_short(location, 100)!r} is outside the model's folder "
            f"{root}; external data must lie inside it"
        )
    if not os.path.isfile(path):
        raise MalformedModel(f"{what}: external data file {_short(location, 100)!r} not found in {root}")
    protect_input(path)
    size = os.path.getsize(path)
    offset = info.offset or 0
    length = size - offset if info.length is None else info.length
    if offset > size or length > size - offset:
        raise MalformedModel(
            f"{what}: external data {location!r} at offset {offset}, {length} bytes, lies beyond the "
            f"end of the file ({size} bytes)"
        )
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(length)
    except OSError as e:
        raise MalformedModel(f"{what}: cannot read external data {location!r}: {e.strerror}") from None
