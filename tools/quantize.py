"""int8 versions of float models, as onnxruntime's quantizer writes them (QDQ), for the
tests and the bench: `quantize_static` calibrated on random inputs.

onnxruntime is a test dependency, not one of the tiler's: this module is imported only
by the tests and `tiler-bench`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx


def quantize_qdq(
    source: Path | str, target: Path | str, *, signed: bool = True, per_channel: bool = True, qoperator: bool = False
) -> Path:
    """Write `source` quantized to `target`: int8 weights, int8 (`signed`) or uint8
    activations, per-channel or per-tensor weight scales; QDQ, or QOperator (QLinearConv,
    com.microsoft QLinearAdd, ...) with `qoperator`. A model of opset < 13 is first
    converted to 13 (per-channel DequantizeLinear takes an axis from opset 13 on)."""
    from onnxruntime import quantization as q

    target = Path(target)
    model = onnx.load(str(source))
    if max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) < 13:
        model = onnx.version_converter.convert_version(model, 13)
    float_path = target.with_suffix(".float.onnx")
    onnx.save(model, float_path)
    info = model.graph.input[0]
    shape = [d.dim_value or 1 for d in info.type.tensor_type.shape.dim]
    rng = np.random.default_rng(0)
    batches = iter([{info.name: rng.standard_normal(shape).astype(np.float32)} for _ in range(8)])

    class Calibration(q.CalibrationDataReader):
        def get_next(self):
            return next(batches, None)

    q.quantize_static(
        str(float_path), str(target), Calibration(), quant_format=q.QuantFormat.QOperator if qoperator else q.QuantFormat.QDQ, per_channel=per_channel,
        activation_type=q.QuantType.QInt8 if signed else q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
    )
    float_path.unlink()
    return target
