"""Every op's tiling description is sound: a tile's outputs depend only on the input
regions the description derives for that tile.

For op instances from the ONNX conformance cases and the shared models, and random
boxes of the iteration space (tileable parallel dims cut, the rest whole): every input
element outside the box's region is poisoned (NaN, or a different integer), the op is
recomputed with its numpy kernel, and the outputs inside the box must be unchanged.
A map that misses a halo row, a stride, a broadcast or a transposition fails here.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import onnx
from conformance_cases import conformance_ops, ops_of, random_input
from conftest import SHARED, shared_path
from quantized_graphs import GRAPHS as QUANTIZED_GRAPHS
from tiling_helpers import as_tile

from tiler_dialect.ops import TilerOp
from tiler_dialect.tiling import IterKind, OutOfBounds, TilingDescription
from tiler_tools.onnx_frontend import import_onnx, sample_input_types

def _clip(region, shape):
    return tuple((max(lo, 0), min(hi, size)) for (lo, hi), size in zip(region, shape))


def _random_box(rng, desc: TilingDescription):
    box = []
    for dim in desc.dims:
        if dim.tileable and dim.kind == IterKind.PARALLEL and dim.size > 1:
            lo = int(rng.integers(0, dim.size))
            hi = int(rng.integers(lo + 1, dim.size + 1))
            box.append((lo, hi))
        else:
            box.append((0, dim.size))
    return tuple(as_tile(box, desc))


def check_op(op: TilerOp, rng, boxes: int = 3) -> None:
    desc = op.tiling()
    out_shape = op.output_shape
    assert desc.region(desc.outputs[0], desc.full_box) == tuple((0, s) for s in out_shape), (
        f"{op.name}: the output map does not cover the output exactly"
    )
    xs = [random_input(rng, op, i) for i in range(len(op.inputs))]
    reference = op.compute(*xs)
    for _ in range(boxes):
        box = _random_box(rng, desc)
        poisoned = []
        for x, access in zip(xs, desc.inputs):
            region = desc.region(access, box)
            if access.oob == OutOfBounds.NEVER:
                assert all(0 <= lo and hi <= s for (lo, hi), s in zip(region, x.shape)), (
                    f"{op.name}: region {region} leaves an input of shape {x.shape} "
                    "although the access is declared in-bounds"
                )
            inside = np.zeros(x.shape, dtype=bool)
            inside[tuple(slice(lo, hi) for lo, hi in _clip(region, x.shape))] = True
            bound = op.index_inputs().get(len(poisoned))
            if bound is not None:  # indices: another valid index, in [-bound, bound)
                junk = ((x + bound + 1) % (2 * bound) - bound).astype(x.dtype)
            elif np.issubdtype(x.dtype, np.floating):
                junk = np.full(x.shape, np.nan, dtype=x.dtype)
            elif x.dtype == np.bool_:
                junk = ~x
            else:
                junk = (x + 7).astype(x.dtype)
            poisoned.append(np.where(inside, x, junk))
        with np.errstate(all="ignore"):
            result = op.compute(*poisoned)
        out_region = tuple(slice(lo, hi) for lo, hi in desc.region(desc.outputs[0], box))
        np.testing.assert_array_equal(
            result[out_region],
            reference[out_region],
            err_msg=f"{op.name}: box {box} reads outside the regions its description gives",
        )


CONFORMANCE_OPS = list(conformance_ops())


def _deeploy_integer_ops():
    """The ops of Deeploy's integer graphs (requantization and integer kernels, which
    no ONNX conformance case has)."""
    root = SHARED / "models" / "deeploy-int"
    for folder in sorted(p.parent for p in root.glob("*/*/network.onnx")):
        with np.load(folder / "inputs.npz") as data:
            samples = [data[k] for k in data.files]
        path = folder / "network.onnx"
        module = import_onnx(path, integer_inputs=sample_input_types(onnx.load(path), samples))
        for op in ops_of(module):
            yield folder.name, op


DEEPLOY_INTEGER_OPS = list(_deeploy_integer_ops())


def _quantized_ops():
    """The ops of the QOperator and QDQ graphs (com.microsoft's requantizing ops, which
    no ONNX conformance case has)."""
    for name, make in QUANTIZED_GRAPHS.items():
        for op in ops_of(import_onnx(make()[0])):
            yield name, op


QUANTIZED_OPS = list(_quantized_ops())


def test_every_op_kind_is_covered():
    from tiler_dialect.ops import ALL_OPS

    if not DEEPLOY_INTEGER_OPS:
        pytest.skip("../shared/models/deeploy-int is absent: its integer ops are not exercised")
    seen = {type(op) for _, op in CONFORMANCE_OPS + DEEPLOY_INTEGER_OPS + QUANTIZED_OPS}
    missing = {cls.name for cls in ALL_OPS if not cls.IS_VIEW} - {cls.name for cls in seen}
    assert not missing, f"no conformance case or integer graph exercises {sorted(missing)}"


@pytest.mark.parametrize(
    "case_op", DEEPLOY_INTEGER_OPS, ids=[f"{name}:{op.name}" for name, op in DEEPLOY_INTEGER_OPS]
)
def test_description_is_sound_on_deeploy_integer_ops(case_op):
    name, op = case_op
    check_op(op, np.random.default_rng(zlib.crc32(name.encode())))


@pytest.mark.parametrize("case_op", QUANTIZED_OPS, ids=[f"{name}:{op.name}" for name, op in QUANTIZED_OPS])
def test_description_is_sound_on_quantized_ops(case_op):
    name, op = case_op
    check_op(op, np.random.default_rng(zlib.crc32(name.encode())))


@pytest.mark.parametrize(
    "case_op", CONFORMANCE_OPS, ids=[f"{name}:{op.name}" for name, op in CONFORMANCE_OPS]
)
def test_description_is_sound_on_conformance_ops(case_op):
    name, op = case_op
    check_op(op, np.random.default_rng(zlib.crc32(name.encode())))


@pytest.mark.parametrize(
    "model",
    ["mlperf-tiny/kws_dscnn_float32.onnx", "mlperf-tiny/resnet8_float32.onnx", "deeploy/CCT_1_16_16_8/network.onnx"],
)
def test_description_is_sound_on_model_ops(model):
    module = import_onnx(shared_path("models", model))
    rng = np.random.default_rng(3)
    for op in ops_of(module):
        check_op(op, rng, boxes=2)
