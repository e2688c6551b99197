"""Reading ONNX models from binary protobuf (.onnx) or ONNX's textual syntax (.onnxtxt)."""

from __future__ import annotations

from pathlib import Path

import onnx
import onnx.parser
from google.protobuf.message import DecodeError

from tiler_tools.onnx_frontend.errors import MalformedModel


def parse_model_bytes(data: bytes, source: str) -> onnx.ModelProto:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise MalformedModel(f"{source}: not a valid ONNX protobuf ({e})") from None
    if not model.HasField("graph"):
        raise MalformedModel(f"{source}: the ONNX model has no graph")
    return model


def parse_model_text(text: str, source: str) -> onnx.ModelProto:
    try:
        return onnx.parser.parse_model(text)
    except onnx.parser.ParseError as e:
        detail = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else str(e)
        raise MalformedModel(f"{source}: invalid ONNX text syntax: {detail.strip()}") from None


def load_model(path: str | Path) -> onnx.ModelProto:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise MalformedModel(f"cannot read {p}: {e.strerror}") from None
    if p.suffix == ".onnxtxt":
        try:
            return parse_model_text(data.decode(), str(p))
        except UnicodeDecodeError:
            raise MalformedModel(f"{p}: ONNX text must be UTF-8") from None
    return parse_model_bytes(data, str(p))
