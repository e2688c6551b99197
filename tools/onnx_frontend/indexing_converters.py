"""The ONNX ops that select by index: ArgMax and ArgMin (the index of the extreme along
an axis), Tile (copies of the input) and Gather (rows picked by an index tensor, e.g. an
embedding lookup). Gather whose inputs are all constants folds at import, as any node."""

from __future__ import annotations

from collections.abc import Sequence

from tiler_dialect.ops import ArgMaxOp, ArgMinOp, GatherOp, TileOp
from tiler_dialect.ops.data_movement import INDEX_TYPES, index_out_of_range
from tiler_dialect.ops.properties import int_attr, ints_attr
from tiler_tools.onnx_frontend.converters import checked_axis, converter, int_list
from tiler_tools.onnx_frontend.errors import MalformedModel
from tiler_tools.onnx_frontend.node import Const, Node, Value, value_dtype


@converter("ArgMax", "ArgMin")
def _arg_reduction(n: Node) -> Sequence[Value]:
    rank = len(n.shape(0))
    if not rank:
        raise n.fail("the input is a scalar: there is no axis to reduce")
    axis = checked_axis(n, int(n.attr("axis", 0)), rank)  # type: ignore[arg-type]
    props = {"axis": int_attr(axis)} | n.given_bools("keepdims", "select_last_index")
    op_class = ArgMaxOp if n.proto.op_type == "ArgMax" else ArgMinOp
    return [n.emit(op_class, [n.input(0)], props)]


@converter("Tile", static=(1,))
def _tile(n: Node) -> Sequence[Value]:
    if n.opset < 6:
        raise n.fail("opset-1 Tile (tiles and axis inputs) is not supported; from opset 6 it takes repeats")
    shape = n.shape(0)
    repeats = int_list(n.const_input(1, "repeats"))
    if len(repeats) != len(shape):
        raise MalformedModel(f"{n.label}: repeats has {len(repeats)} values for an input of rank {len(shape)}")
    if any(r < 0 for r in repeats):
        raise MalformedModel(f"{n.label}: repeats {repeats} must not be negative")
    if 0 in repeats:
        raise n.fail(f"repeats {repeats} make an empty output: empty tensors are not supported")
    if all(r == 1 for r in repeats):
        return [n.input(0)]  # one copy: the value itself
    return [n.emit(TileOp, [n.input(0)], {"repeats": ints_attr(repeats)})]


@converter("Gather")
def _gather(n: Node) -> Sequence[Value]:
    """Data may be a weight or an activation, indices a constant or computed (int32 or
    int64); constant indices are checked here, the others when the program runs."""
    data, indices = n.input(0), n.input(1)
    shape = n.shape(0)
    if not shape:
        raise MalformedModel(f"{n.label}: data is a scalar: there is no axis to gather along")
    axis = checked_axis(n, int(n.attr("axis", 0)), len(shape))  # type: ignore[arg-type]
    if value_dtype(indices) not in INDEX_TYPES:
        raise MalformedModel(f"{n.label}: indices must be int32 or int64, got {value_dtype(indices)}")
    if isinstance(indices, Const):
        problem = index_out_of_range(indices.array, shape[axis], axis)
        if problem is not None:
            raise MalformedModel(f"{n.label}: {problem}")
    if 0 in n.shape(1):
        raise n.fail("the indices are empty: empty tensors are not supported")
    return [n.emit(GatherOp, [data, indices], {"axis": int_attr(axis)})]

