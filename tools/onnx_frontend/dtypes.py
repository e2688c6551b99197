"""Element types: ONNX tensor types, numpy dtypes and MLIR element types."""

from __future__ import annotations

import numpy as np
import onnx
from xdsl.dialects.builtin import (
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    Signedness,
)
from xdsl.ir import Attribute

from tiler_tools.onnx_frontend.errors import UnsupportedFeature

_SUPPORTED = {
    np.dtype(np.float16): Float16Type(),
    np.dtype(np.float32): Float32Type(),
    np.dtype(np.float64): Float64Type(),
    np.dtype(np.bool_): IntegerType(1),
    **{np.dtype(f"int{w}"): IntegerType(w) for w in (8, 16, 32, 64)},
    **{np.dtype(f"uint{w}"): IntegerType(w, Signedness.UNSIGNED) for w in (8, 16, 32, 64)},
}


def numpy_dtype_of_onnx(elem_type: int, what: str) -> np.dtype:
    try:
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, ValueError, TypeError):
        dtype = None
    if dtype is None or dtype not in _SUPPORTED:
        name = onnx.TensorProto.DataType.Name(elem_type) if elem_type in onnx.TensorProto.DataType.values() else str(elem_type)
        raise UnsupportedFeature(
            f"{what} has element type {name}; supported: float16, float32, float64, "
            "int8-int64, uint8-uint64, bool"
        )
    return dtype


def mlir_element_type(dtype: np.dtype, what: str) -> Attribute:
    t = _SUPPORTED.get(np.dtype(dtype))
    if t is None:
        raise UnsupportedFeature(f"{what} has element type {dtype}, which is not supported")
    return t
