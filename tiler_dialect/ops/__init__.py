"""The tiler dialect's compute ops, one module per family."""

from tiler_dialect.naming import NAME_ATTR
from tiler_dialect.ops.base import TilerOp
from tiler_dialect.ops.dtypes import element_dtype, shaped_bytes
from tiler_dialect.ops.contraction import GemmOp, MatMulOp
from tiler_dialect.ops.data_movement import (
    ConcatOp,
    PadOp,
    ReduceMeanOp,
    ReduceSumOp,
    ReshapeOp,
    SliceOp,
    TransposeOp,
)
from tiler_dialect.ops.elementwise import (
    AddOp,
    CastOp,
    ClipOp,
    DivOp,
    GeluOp,
    HardSigmoidOp,
    HardSwishOp,
    MulOp,
    PowOp,
    ReluOp,
    SigmoidOp,
    SqrtOp,
    SubOp,
    TanhOp,
)
from tiler_dialect.ops.normalization import BatchNormOp, LayerNormOp, SoftmaxOp
from tiler_dialect.ops.deeploy import (
    IntegerHardswishOp,
    IntegerNoNormOp,
    IntegerRMSNormOp,
    IntegerSoftmaxOp,
    RequantizedConvOp,
    RequantizedMatMulOp,
    RequantShiftOp,
)
from tiler_dialect.ops.integer import ConvIntegerOp, MatMulIntegerOp, QLinearConvOp, QLinearMatMulOp
from tiler_dialect.ops.qlinear import (
    QLinearAddOp,
    QLinearGlobalAveragePoolOp,
    QLinearMulOp,
    QLinearSoftmaxOp,
    RequantizeLinearOp,
)
from tiler_dialect.ops.quantization import DequantizeLinearOp, QuantizeLinearOp
from tiler_dialect.ops.spatial import AveragePoolOp, ConvOp, GlobalAveragePoolOp, MaxPoolOp

ALL_OPS: tuple[type[TilerOp], ...] = (
    ConvOp,
    GemmOp,
    MatMulOp,
    AddOp,
    SubOp,
    MulOp,
    DivOp,
    PowOp,
    ReluOp,
    ClipOp,
    SigmoidOp,
    TanhOp,
    GeluOp,
    HardSwishOp,
    HardSigmoidOp,
    SqrtOp,
    MaxPoolOp,
    AveragePoolOp,
    GlobalAveragePoolOp,
    SoftmaxOp,
    LayerNormOp,
    BatchNormOp,
    TransposeOp,
    ConcatOp,
    SliceOp,
    PadOp,
    ReduceMeanOp,
    ReshapeOp,
    QuantizeLinearOp,
    DequantizeLinearOp,
    ConvIntegerOp,
    QLinearConvOp,
    MatMulIntegerOp,
    QLinearMatMulOp,
    CastOp,
    ReduceSumOp,
    RequantShiftOp,
    RequantizedConvOp,
    RequantizedMatMulOp,
    IntegerSoftmaxOp,
    IntegerRMSNormOp,
    IntegerHardswishOp,
    IntegerNoNormOp,
    QLinearAddOp,
    QLinearMulOp,
    QLinearGlobalAveragePoolOp,
    QLinearSoftmaxOp,
    RequantizeLinearOp,
)

__all__ = [op.__name__ for op in ALL_OPS] + ["ALL_OPS", "NAME_ATTR", "TilerOp", "element_dtype", "shaped_bytes"]
