"""Contractions: Gemm and (batched, broadcasting) MatMul, with ONNX semantics."""

from __future__ import annotations

from typing import ClassVar

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import BoolAttr, f32, Float32Type, FloatAttr
from xdsl.irdl import irdl_op_definition, prop_def
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.ops.base import TilerOp
from tiler_dialect.ops.shapes import Shape, broadcast_shapes
from tiler_dialect.tiling import (
    IterDim,
    IterKind,
    OperandAccess,
    TilingDescription,
    broadcast_map,
    d,
    dims_map,
)


@irdl_op_definition
class GemmOp(TilerOp):
    """Y = alpha * A' @ B' + beta * C, with A' = A^T if transA, B' = B^T if transB and C
    (optional) broadcast to the result."""

    name = "tiler.gemm"
    NUM_INPUTS: ClassVar = (2, 3)
    MULTIPLY_ACCUMULATES: ClassVar = True

    alpha = prop_def(FloatAttr[Float32Type], default_value=FloatAttr(1.0, f32))
    beta = prop_def(FloatAttr[Float32Type], default_value=FloatAttr(1.0, f32))
    transA = prop_def(BoolAttr, default_value=BoolAttr.from_bool(False))
    transB = prop_def(BoolAttr, default_value=BoolAttr.from_bool(False))

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        a, b = shapes[0], shapes[1]
        if len(a) != 2 or len(b) != 2:
            raise VerifyException(f"A and B must be matrices, got ranks {len(a)} and {len(b)}")
        m, k = a[::-1] if self.transA.value.data else a
        k2, n = b[::-1] if self.transB.value.data else b
        if k != k2:
            raise VerifyException(f"inner dimensions differ: A' is {m}x{k}, B' is {k2}x{n}")
        if len(shapes) == 3:
            c = shapes[2]
            if len(c) > 2 or any(cd not in (1, yd) for cd, yd in zip(c[::-1], (n, m))):
                raise VerifyException(f"C of shape {list(c)} does not broadcast to [{m}, {n}]")
        return (m, n)

    def tiling(self) -> TilingDescription:
        a = self.input_shapes[0]
        trans_a = bool(self.transA.value.data)
        trans_b = bool(self.transB.value.data)
        m, n = self.output_shape
        k = a[0] if trans_a else a[1]
        dims = (IterDim("m", m), IterDim("n", n), IterDim("k", k, IterKind.REDUCTION))
        dm, dn, dk = d(0), d(1), d(2)
        inputs = [
            OperandAccess(dims_map(3, [dk, dm] if trans_a else [dm, dk])),
            OperandAccess(dims_map(3, [dn, dk] if trans_b else [dk, dn])),
        ]
        if len(self.inputs) == 3:
            inputs.append(OperandAccess(broadcast_map(3, self.input_shapes[2], (m, n))))
        return TilingDescription(
            dims, tuple(inputs), (OperandAccess(dims_map(3, [dm, dn])),), combine="sum"
        )

    def compute(self, a: np.ndarray, b: np.ndarray, c: np.ndarray | None = None) -> np.ndarray:
        if self.transA.value.data:
            a = a.T
        if self.transB.value.data:
            b = b.T
        alpha = self.alpha.value.data
        beta = self.beta.value.data
        y = a @ b
        if alpha != 1.0:
            y = y * a.dtype.type(alpha)
        if c is not None and beta != 0.0:
            y = y + (c if beta == 1.0 else c * a.dtype.type(beta))
        return y.astype(a.dtype, copy=False)


class MatMulBase(TilerOp):
    """numpy.matmul's shapes and tiling (the float and integer ops share them)."""

    NUM_INPUTS: ClassVar = (2, 2)
    MULTIPLY_ACCUMULATES: ClassVar = True

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        a, b = shapes
        if not a or not b:
            raise VerifyException("matmul operands must have rank >= 1")
        a2 = (1, *a) if len(a) == 1 else a
        b2 = (*b, 1) if len(b) == 1 else b
        if a2[-1] != b2[-2]:
            raise VerifyException(
                f"inner dimensions differ: {list(a)} @ {list(b)} ({a2[-1]} vs {b2[-2]})"
            )
        batch = broadcast_shapes(a2[:-2], b2[:-2])
        return (*batch, *a[-2:-1], *(b[-1:] if len(b) > 1 else ()))

    def tiling(self) -> TilingDescription:
        a, b = self.input_shapes[:2]
        y = self.output_shape
        batch = y[: len(y) - (len(a) > 1) - (len(b) > 1)]
        nb = len(batch)
        dims = [IterDim(f"b{i}", s) for i, s in enumerate(batch)]
        if len(a) > 1:
            dims.append(IterDim("m", a[-2]))
        if len(b) > 1:
            dims.append(IterDim("n", b[-1]))
        dims.append(IterDim("k", a[-1], IterKind.REDUCTION))
        nd = len(dims)
        dk = d(nd - 1)
        dm = d(nb) if len(a) > 1 else None
        dn = d(nd - 2) if len(b) > 1 else None

        def batch_part(shape: Shape) -> list:
            bmap = broadcast_map(nd, shape[:-2], batch)
            return list(bmap.results)

        a_map = [dk] if len(a) == 1 else [*batch_part(a), dm, dk]
        b_map = [dk] if len(b) == 1 else [*batch_part(b), dk, dn]
        y_map = [d(i) for i in range(nb)] + [x for x in (dm, dn) if x is not None]
        return TilingDescription(
            tuple(dims),
            (OperandAccess(dims_map(nd, a_map)), OperandAccess(dims_map(nd, b_map))),
            (OperandAccess(dims_map(nd, y_map)),),
            combine="sum",
        )

    def compute(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.matmul(a, b).astype(a.dtype, copy=False)


class MatMulWithOutputOperands(MatMulBase):
    """A matmul of a and b whose further operands (zero points, requantization factors)
    broadcast against the output: a row's as [M, 1], a column's as [N]. They are read at
    the output tile's indices, so a tile loads only its rows' and columns' share."""

    def operand_label(self, index: int) -> str:
        """How a diagnostic names the operand at `index` (2 or more)."""
        return f"input #{index}"

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        a, b, *rest = shapes
        if len(a) < 2 or len(b) < 2:
            raise VerifyException(f"{self.name} takes operands of rank 2 or more, got ranks {len(a)} and {len(b)}")
        out = MatMulBase.infer_shape(self, [a, b])
        for i, s in enumerate(rest, start=2):
            try:
                fits = tuple(broadcast_shapes(s, out)) == tuple(out)
            except VerifyException:
                fits = False
            if not fits:
                raise VerifyException(
                    f"{self.operand_label(i)} of shape {list(s)} does not broadcast to the output {list(out)}"
                )
        return out

    def tiling(self) -> TilingDescription:
        base = MatMulBase.tiling(self)
        nd, y = len(base.dims), self.output_shape
        extras = [OperandAccess(broadcast_map(nd, s, y)) for s in self.input_shapes[2:]]
        return TilingDescription(base.dims, (*base.inputs[:2], *extras), base.outputs, combine=None)


@irdl_op_definition
class MatMulOp(MatMulBase):
    """numpy.matmul semantics: batched, broadcasting, 1-D operands promoted and dropped."""

    name = "tiler.matmul"
