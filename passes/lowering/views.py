"""Views of a buffer in another shape: `memref.expand_shape` and `collapse_shape` pieces
the lowering builds (reshapes, and the extra unit dims a named op's operands need)."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import memref
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    IntegerAttr,
    MemRefType,
    NoneAttr,
    StridedLayoutAttr,
    i64,
)
from xdsl.ir import SSAValue


def reassociation(groups: Sequence[Sequence[int]]) -> ArrayAttr:
    return ArrayAttr(ArrayAttr(IntegerAttr(i, i64) for i in g) for g in groups)


def dense_i64(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, list(values))


def with_unit_dim_after(value: SSAValue, dim: int) -> memref.ExpandShapeOp:
    """`value` with a dim of size 1 inserted after `dim`. Of a strided view, the unit dim
    takes the split dim's stride, as MLIR computes an expanded layout."""
    t = value.type
    assert isinstance(t, MemRefType)
    shape = list(t.get_shape())
    shape.insert(dim + 1, 1)
    layout = t.layout
    if isinstance(layout, StridedLayoutAttr):
        strides = list(layout.strides.data)
        strides.insert(dim + 1, strides[dim])
        layout = StridedLayoutAttr(strides, layout.offset)
    elif not isinstance(layout, NoneAttr):
        raise ValueError(f"cannot expand a memref with layout {layout}")
    result = MemRefType(t.element_type, shape, layout, t.memory_space)
    groups = [[d] for d in range(dim)] + [[dim, dim + 1]] + [[d + 1] for d in range(dim + 1, len(shape) - 1)]
    return memref.ExpandShapeOp(
        operands=[value, []],
        result_types=[result],
        properties={"reassociation": reassociation(groups), "static_output_shape": dense_i64(shape)},
    )
