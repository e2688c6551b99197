"""The executor's fast tile kernels equal the definition of a tile.

A tile of an op is defined by its tiling description: the op's kernel run on problem-sized
inputs that hold only the tile's regions (`tile_by_definition`). For speed the executor
computes most tiles on the tile arrays directly (an op's `compute_tile`, or its kernel
when every map is local). For op instances from the ONNX conformance cases and the shared
models, and random boxes (splitting reductions that combine by sum), both must agree.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from conformance_cases import conformance_ops, ops_of, random_input
from conftest import shared_path
from tiling_helpers import as_tile

from tiler_dialect.ops import TilerOp
from tiler_dialect.tiling import IterKind
from tiler_tools.executor.compute import tile_by_definition, tile_result
from tiler_tools.onnx_frontend import import_onnx

CONFORMANCE_OPS = list(conformance_ops())


def _random_box(rng, desc):
    box = []
    for dim in desc.dims:
        splittable = dim.tileable and (dim.kind == IterKind.PARALLEL or (dim.kind == IterKind.REDUCTION and desc.combine == "sum"))
        if splittable and dim.size > 1:
            lo = int(rng.integers(0, dim.size))
            box.append((lo, int(rng.integers(lo + 1, dim.size + 1))))
        else:
            box.append((0, dim.size))
    return as_tile(box, desc)


def check(op: TilerOp, rng, boxes: int = 3) -> None:
    desc = op.tiling()
    xs = [random_input(rng, op, i) for i in range(len(op.inputs))]
    for _ in range(boxes):
        box = _random_box(rng, desc)
        partial = any(d.kind == IterKind.REDUCTION and b != (0, d.size) for d, b in zip(desc.dims, box))
        regions, tiles = [], []
        for x, access, shape in zip(xs, desc.inputs, op.input_shapes):
            region = [(max(lo, 0), min(hi, s)) for (lo, hi), s in zip(desc.region(access, box), shape)]
            regions.append(region)
            tiles.append(x[tuple(slice(lo, max(lo, hi)) for lo, hi in region)])
        with np.errstate(all="ignore"):
            fast = tile_result(op, desc, tiles, regions, box, partial)
            definition = tile_by_definition(op, desc, tiles, regions, box, partial)
        assert fast.shape == definition.shape, (op.name, box)
        if np.issubdtype(definition.dtype, np.floating):
            np.testing.assert_allclose(fast, definition, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=f"{op.name} {box}")
        else:
            np.testing.assert_array_equal(fast, definition, err_msg=f"{op.name} {box}")


@pytest.mark.parametrize("case_op", CONFORMANCE_OPS, ids=[f"{n}:{op.name}" for n, op in CONFORMANCE_OPS])
def test_fast_tiles_match_definition_on_conformance_ops(case_op):
    name, op = case_op
    check(op, np.random.default_rng(zlib.crc32(name.encode())))


@pytest.mark.parametrize("model", ["mlperf-tiny/kws_dscnn_float32.onnx", "mlperf-tiny/resnet8_float32.onnx", "deeploy/CCT_1_16_16_8/network.onnx"])
def test_fast_tiles_match_definition_on_model_ops(model):
    rng = np.random.default_rng(11)
    for op in ops_of(import_onnx(shared_path("models", model))):
        check(op, rng, boxes=2)
