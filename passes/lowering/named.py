"""Named linalg ops where upstream has one for the tile's computation.

A tile's step is a named op when its op is one upstream names and the tile reads no
padding (its operands are all plain, see structured.py): `linalg.matmul` (2-D matmul,
gemm without transposes and alpha 1), `linalg.conv_2d_nchw_fchw` (2-D conv, one group),
`linalg.conv_2d_ngchw_gfchw` (depthwise 2-D conv: one channel per group, on views with a
unit dim for the channels in a group), `linalg.pooling_nchw_max` (2-D max pool),
`linalg.transpose`. The output is initialised
as for the generic form (the bias or the identity, in the tile that starts the
reduction); named ops accumulate into it as linalg.generic does. Everything else, and any
tile that reads border padding, stays a `linalg.generic`: upstream's named convolutions
and poolings take no padding (MLIR pads with tensor.pad, a copy this lowering does not
make), xDSL has no batch_matmul or depthwise_conv_2d_nchw_chw, and a grouped conv with
several channels per group has tiles whose channels need not start at a group's start.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import memref
from xdsl.dialects.builtin import DenseArrayBase, DenseIntOrFPElementsAttr, TensorType, UnitAttr, i64
from xdsl.dialects.linalg.ops import Conv2DNchwFchwOp, Conv2DNgchwGfchwOp, MatmulOp, PoolingNchwMaxOp, TransposeOp as LinalgTransposeOp
from xdsl.ir import Operation, SSAValue

from tiler_dialect.ops import ConvOp, GemmOp, MatMulOp, MaxPoolOp, TilerOp, TransposeOp
from tiler_passes.lowering.signless import is_unsigned
from tiler_passes.lowering.structured import SHAPE_ONLY_ATTR, Access
from tiler_passes.lowering.views import with_unit_dim_after


def _pair(values: Sequence[int]) -> DenseIntOrFPElementsAttr:
    return DenseIntOrFPElementsAttr.from_list(TensorType(i64, [len(values)]), list(values))


def _rank(value: SSAValue) -> int:
    return len(value.type.get_shape())  # type: ignore[attr-defined]


def named_op(op: TilerOp, inputs: Sequence[Access], out: SSAValue) -> list[Operation] | None:
    """The named op (and what it needs) computing the tile's main step, or None."""
    if not all(a.plain for a in inputs):
        return None
    buffers = [a.buffer for a in inputs]
    if isinstance(op, TransposeOp):
        perm = op.perm.get_values()
        return [LinalgTransposeOp(buffers[0], out, DenseArrayBase.from_list(i64, list(perm)))]
    if isinstance(op, MatMulOp) and len(buffers) == 2 and all(_rank(b) == 2 for b in buffers):
        return [MatmulOp(buffers, [out])]
    if (
        isinstance(op, GemmOp)
        and not bool(op.transA.value.data)
        and not bool(op.transB.value.data)
        and op.alpha.value.data == 1.0
    ):
        return [MatmulOp(buffers[:2], [out])]
    if isinstance(op, ConvOp) and _rank(buffers[0]) == 4 and op.group.value.data == 1:
        win = op.window
        return [Conv2DNchwFchwOp(buffers[:2], [out], strides=_pair(win.strides), dilations=_pair(win.dilations))]
    if isinstance(op, ConvOp) and _rank(buffers[0]) == 4 and _is_depthwise(op):
        # one channel per group: the grouped conv on views with a unit dim for the group's
        # channels (input n,g,c,h,w; filter g,f,c,kh,kw; output n,g,f,oh,ow)
        win = op.window
        views = [with_unit_dim_after(v, 0 if v is buffers[1] else 1) for v in (buffers[0], buffers[1], out)]
        conv = Conv2DNgchwGfchwOp(
            [views[0].result, views[1].result], [views[2].result],
            strides=_pair(win.strides), dilations=_pair(win.dilations),
        )
        return [*views, conv]
    if isinstance(op, MaxPoolOp) and _rank(buffers[0]) == 4 and not is_unsigned(buffers[0].type.element_type):  # type: ignore[attr-defined]
        # (upstream's pooling_nchw_max compares signed; unsigned data stays generic)
        win = op.window
        element = buffers[0].type.element_type  # type: ignore[attr-defined]
        window = memref.AllocaOp.get(element, shape=list(win.kernel))
        window.attributes[SHAPE_ONLY_ATTR] = UnitAttr()
        pool = PoolingNchwMaxOp([buffers[0], window.memref], [out], strides=_pair(win.strides), dilations=_pair(win.dilations))
        return [window, pool]
    return None




def _is_depthwise(op: ConvOp) -> bool:
    """As many groups as input and output channels (a channel multiplier of 1)."""
    group = op.group.value.data
    channels_in, channels_out = op.input_shapes[0][1], op.input_shapes[1][0]
    return group > 1 and channels_in == channels_out == group
