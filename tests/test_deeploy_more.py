"""The rest of Deeploy's float test networks (../shared/models/deeploy-more): each imported
and executed equal to its golden outputs.npz; then tiled at L1 = 8, 32 and 64 KiB (home
L2 = 1 MiB, double buffered), allocated, and the allocated program executed (DMA hazards
checked, on its arenas) equal to the same outputs, moving exactly the bytes the tile
report counts. CCT_2_32_32_128_Opset20, whose activations need more than 1 MiB of L2, is
tiled as Deeploy's CI tiles it: L3 home (64,000,000 bytes), L2 = 1,024,000 and L1 =
128,000 bytes, and at the three L1 sizes from the same L3 home.
Tolerances: rtol 1e-4, atol 1e-5, as for the other shared models."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import SHARED, run_tool, shared_path
from test_models import deeploy_feeds
from tiling_helpers import check_solution_fits, tile

from tiler_dialect import MemoryHierarchy
from tiler_passes.tiler import MemoryAllocationError, Tiler
from tiler_tools import tiler_opt
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import ModelWarning, import_onnx

RTOL, ATOL = 1e-4, 1e-5
KIB = 1024
FOLDER = SHARED / "models" / "deeploy-more"
NETWORKS = sorted(str(p.parent.relative_to(FOLDER)) for p in FOLDER.glob("**/network.onnx"))
L3_HOME = {"CCT_2_32_32_128_Opset20"}
"""Networks whose activations do not fit L2: their home is L3."""


def _hierarchy(network: str, l1: int) -> MemoryHierarchy:
    if network in L3_HOME:
        return MemoryHierarchy.fromSizes(l1=l1, l2=1_024_000, l3=64_000_000, default="L3")
    return MemoryHierarchy.fromSizes(l1=l1, l2=1024 * KIB)


def _import(folder, hierarchy=None):
    with warnings.catch_warnings():
        # two networks warn, as they should (test_deeploy_forms_warn checks the words)
        warnings.simplefilter("ignore", ModelWarning)
        return import_onnx(folder / "network.onnx", hierarchy)


def _assert_golden(outputs: dict, golden: dict) -> None:
    assert outputs.keys() == golden.keys()
    for name, want in golden.items():
        assert outputs[name].shape == want.shape, name
        np.testing.assert_allclose(outputs[name], want, rtol=RTOL, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("network", NETWORKS)
def test_network_matches_golden(network):
    folder = shared_path("models", "deeploy-more", network)
    module = _import(folder)
    feeds, golden = deeploy_feeds(module, folder)
    _assert_golden(execute(module, feeds), golden)


def _budgets(network: str) -> list[int]:
    """L1 sizes: 8, 32 and 64 KiB, and Deeploy CI's 128,000 bytes for the L3-home one."""
    return [8 * KIB, 32 * KIB, 64 * KIB] + ([128_000] if network in L3_HOME else [])


TILED = [(network, l1) for network in NETWORKS for l1 in _budgets(network)]


@pytest.mark.parametrize("network, l1", TILED, ids=[f"{n}-{l1}" for n, l1 in TILED])
def test_tiled_allocated_network_matches_golden(network, l1):
    folder = shared_path("models", "deeploy-more", network)
    hierarchy = _hierarchy(network, l1)
    module = _import(folder, hierarchy)
    feeds, golden = deeploy_feeds(module, folder)
    solution = tile(module, doubleBuffer=True)
    check_solution_fits(solution)
    tiler = Tiler(hierarchy)
    memory_map = tiler.allocate(module)
    for level, arena in tiler.worstCaseBufferSize.items():
        assert arena <= memory_map.capacities[level], level
    counters: dict[str, int] = {}
    _assert_golden(execute(module, feeds, counters), golden)
    assert counters["dma_bytes"] == sum(layer.traffic.bytes for layer in solution.layers)


def test_l3_home_network_does_not_fit_l2_home():
    """Why CCT_2 has L3 as home: with L2 as home its live activations exceed 1 MiB, and
    allocation says so, naming the level."""
    folder = shared_path("models", "deeploy-more", "CCT_2_32_32_128_Opset20")
    hierarchy = MemoryHierarchy.fromSizes(l1=64 * KIB, l2=1024 * KIB)
    module = _import(folder, hierarchy)
    tile(module)
    with pytest.raises(MemoryAllocationError, match=r"L2 \(1048576 bytes\) cannot hold what is live"):
        Tiler(hierarchy).allocate(module)


@pytest.mark.parametrize(
    "network, words",
    [
        ("kernels-fp32/ReduceMean_NoKeepDims_AllAxes", "graph output 'output' is declared with shape [1] but computes []"),
        ("kernels-fp32/Softmax_CrossEntropy", "read as the log-probabilities, as Deeploy's kernel computes them"),
    ],
)
def test_deeploy_forms_warn(network, words, tmp_path):
    """Deeploy's exports that differ from ONNX's reading import with a warning on stderr,
    in the tool's own words, and exit 0."""
    folder = shared_path("models", "deeploy-more", network)
    code, out, err = run_tool(tiler_opt.main, [str(folder / "network.onnx"), "-o", str(tmp_path / "m.mlir")])
    assert code == 0, err
    assert "tiler-opt: warning: " in err and words in err, err


@pytest.mark.parametrize(
    "trans_a, trans_b, b_shape, alpha, beta",
    [(0, 0, (8, 6), 1.0, 1.0), (1, 0, (8, 6), 0.5, 2.0), (0, 1, (3, 6, 8), 1.0, 0.0), (1, 1, (3, 6, 8), 2.0, 1.0)],
)
def test_batched_gemm_as_deeploy_exports(trans_a, trans_b, b_shape, alpha, beta):
    """Gemm on stacks of matrices (rank-3 A, B of rank 2 or 3), which Deeploy's exporter
    writes and ONNX's Gemm does not define: alpha * op(A) @ op(B) + beta * C with op a
    swap of the last two dims; untiled and tiled at L1 = 1 KiB, against numpy."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 8, 5) if trans_a else (3, 5, 8)).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    c = rng.standard_normal((6,)).astype(np.float32)
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transA=trans_a, transB=trans_b, alpha=alpha, beta=beta)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("a", TensorProto.FLOAT, a.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(b, "b"), numpy_helper.from_array(c, "c")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    op_a = a.swapaxes(-1, -2) if trans_a else a
    op_b = b.swapaxes(-1, -2) if trans_b else b
    want = (alpha * (op_a.astype(np.float64) @ op_b) + beta * c).astype(np.float32)
    np.testing.assert_allclose(execute(import_onnx(model), {"a": a})["y"], want, rtol=1e-5, atol=1e-5)
    tiled = import_onnx(model, MemoryHierarchy.fromSizes(l1=1024))
    solution = tile(tiled)
    assert any(layer.tiling.tiles > 1 for layer in solution.layers)
    np.testing.assert_allclose(execute(tiled, {"a": a})["y"], want, rtol=1e-5, atol=1e-5)
