"""Element types: the numpy dtype each MLIR element type computes in, and byte sizes."""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects.builtin import Float16Type, Float32Type, Float64Type, IntegerType, MemRefType, TensorType
from xdsl.ir import Attribute
from xdsl.utils.exceptions import VerifyException


class UnsupportedElementType(VerifyException):
    """An element type the tiler has no numpy dtype for (f80, bf16, i3, complex, ...)."""


_FLOATS = {Float16Type: np.float16, Float32Type: np.float32, Float64Type: np.float64}
_INT_WIDTHS = (8, 16, 32, 64)
SUPPORTED_ELEMENT_TYPES = "f16, f32, f64, i1, i8/i16/i32/i64 (signless or signed), ui8/ui16/ui32/ui64"


def element_dtype(element_type: Attribute) -> np.dtype:
    """numpy dtype of an MLIR element type (f16/f32/f64, iN/uiN for N in 8..64, i1);
    UnsupportedElementType (a diagnostic) for any other."""
    if isinstance(element_type, IntegerType):
        width = element_type.width.data
        if width == 1:
            return np.dtype(np.bool_)
        if width in _INT_WIDTHS:
            unsigned = element_type.signedness.data.name == "UNSIGNED"
            return np.dtype(f"{'u' if unsigned else ''}int{width}")
    for kind, dtype in _FLOATS.items():
        if isinstance(element_type, kind):
            return np.dtype(dtype)
    raise UnsupportedElementType(f"element type {element_type} is not supported; supported: {SUPPORTED_ELEMENT_TYPES}")


def shaped_bytes(t: Attribute) -> int:
    """Bytes of a static-shaped tensor or memref type."""
    assert isinstance(t, TensorType | MemRefType)
    return math.prod(t.get_shape()) * element_dtype(t.element_type).itemsize
