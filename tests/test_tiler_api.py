"""The Tiler's API and the solver's promises: the reference's methods and their meanings,
search strategies, balanced tiles, split reductions, residency, caching, determinism,
the cost model's consistency, and the infeasibility diagnostic."""

from __future__ import annotations

import numpy as np
import pytest
from tiling_helpers import assert_same, random_inputs, tile

from tiler_dialect import MemoryHierarchy
from tiler_dialect.cost import ComputeRates, LinkCost
from tiler_passes.tiler import Tiler, TilingError
from tiler_passes.tiling import solver as solver_module
from tiler_passes.tiling.estimate import estimate
from tiler_passes.tiling.problem import align_up
from tiler_passes.options import TileOptions
from tiler_passes.tiling.solver import NoScheduleFits, solve
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx, parse_model_text

HEADER = '<ir_version: 8, opset_import: ["" : 17]>\n'


def model(text: str, **sizes):
    return import_onnx(parse_model_text(HEADER + text, "test"), MemoryHierarchy.fromSizes(**sizes))


CONV = """g (float[1, 16, 32, 32] x) => (float[1, 32, 32, 32] y)
<float[32, 16, 3, 3] w = {%s}, float[32] b = {%s}>
{ y = Conv <pads = [1, 1, 1, 1]> (x, w, b) }""" % (
    ", ".join(str((i % 7) / 10) for i in range(32 * 16 * 9)),
    ", ".join(str(i / 10) for i in range(32)),
)


def test_reference_api_flow():
    module = model(CONV, l1=16 * 1024)
    tiler = Tiler(MemoryHierarchy.fromSizes(l1=16 * 1024))
    problems = tiler.setupModel(module)
    assert len(problems) == 1 and problems[0].path == ("L2", "L1")
    solution = tiler.computeTilingSchedule()
    tiler.testTilingSolutionCorrectness(solution)
    (layer,) = solution.layers
    assert layer.tiling.tiles > 1
    assert tiler.worstCaseBufferSize == {}  # filled by allocation


SMALL_WEIGHTS = """g (float[1, 4, 64, 64] x) => (float[1, 8, 64, 64] y)
<float[8, 4, 3, 3] w = {%s}, float[8] b = {%s}>
{ y = Conv <pads = [1, 1, 1, 1]> (x, w, b) }""" % (
    ", ".join(str((i % 5) / 10) for i in range(8 * 4 * 9)),
    ", ".join(str(i / 10) for i in range(8)),
)


def test_unchanged_tiles_stay_resident():
    # spatial tiles sweep while the small weights and bias stay in L1: loaded once each
    module = model(SMALL_WEIGHTS, l1=16 * 1024)
    tiler = Tiler(MemoryHierarchy.fromSizes(l1=16 * 1024))
    tiler.setupModel(module)
    (layer,) = tiler.computeTilingSchedule().layers
    level = layer.tiling.levels[0]
    assert layer.tiling.tiles > 1
    assert level.slots[1] == level.slots[2] == 1
    w_bytes, b_bytes = 8 * 4 * 9 * 4, 8 * 4
    x_and_y = layer.traffic.bytes - w_bytes - b_bytes
    assert x_and_y >= (4 + 8) * 64 * 64 * 4  # the rest is activations (and halos)
    untiled = model(SMALL_WEIGHTS, l1=16 * 1024)
    feeds = random_inputs(untiled)
    tile(module)
    counters: dict[str, int] = {}
    assert_same(execute(module, feeds, counters), execute(untiled, feeds))
    assert counters["dma_bytes"] == layer.traffic.bytes


def test_assertions_of_the_reference():
    module = model(CONV)
    tiler = Tiler(MemoryHierarchy.default())
    assert tiler.assertLayerWiseTiling(tiler.schedule(module))
    assert not tiler.assertLayerWiseTiling([[object(), object()]])
    assert tiler.assertUniformMemoryLevelAllocation(module, "L2")
    assert not tiler.assertUniformMemoryLevelAllocation(module, "L3")
    steps = [{"x": 64, "w": 32}, {"x": 64, "y": 128}]
    assert tiler.propagateIOBufferStrategy(steps) == [{"x": 64, "w": 32, "y": 128}] * 2


def test_multi_buffer_strategy_is_the_copies_limit():
    class OneCopy(Tiler):
        def multiBufferStrategy(self, problem, path, hop, tensorName):
            return 1

    module = model(CONV, l1=16 * 1024)
    tiler = OneCopy(MemoryHierarchy.fromSizes(l1=16 * 1024))
    tiler.setupModel(module)
    (layer,) = tiler.computeTilingSchedule().layers
    assert all(s == 1 for level in layer.tiling.levels for s in level.slots)
    assert Tiler(MemoryHierarchy.default()).multiBufferStrategy(None, (), "L1", "x") == 2


def test_solution_correctness_check_catches_overflow():
    module = model(CONV, l1=16 * 1024)
    tiler = Tiler(MemoryHierarchy.fromSizes(l1=16 * 1024))
    tiler.setupModel(module)
    solution = tiler.computeTilingSchedule()
    layer = solution.layers[0]
    level = layer.tiling.levels[0]
    from dataclasses import replace

    layer.tiling = replace(layer.tiling, levels=(replace(level, slots=tuple(s + 8 for s in level.slots)),))
    with pytest.raises(TilingError, match="tiles need .* bytes of L1"):
        tiler.testTilingSolutionCorrectness(solution)


SMALL_CONV = """g (float[1, 4, 12, 12] x) => (float[1, 6, 12, 12] y)
<float[6, 4, 3, 3] w = {%s}, float[6] b = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}>
{ y = Conv <pads = [1, 1, 1, 1]> (x, w, b) }""" % ", ".join(str((i % 7) / 10) for i in range(6 * 4 * 9))


@pytest.mark.parametrize("strategy", ["cycles", "max", "min", "random-max"])
def test_search_strategies_tile_correctly(strategy):
    untiled = model(SMALL_CONV, l1=2048)
    feeds = random_inputs(untiled)
    module = model(SMALL_CONV, l1=2048)
    solution = tile(module, searchStrategy=strategy)
    assert_same(execute(module, feeds), execute(untiled, feeds))
    assert solution.layers[0].estimate.footprint[0] <= 2048


@pytest.mark.slow  # about 50 s: four strategies on a convolution
def test_max_fills_more_than_min_and_random_max_is_seeded():
    def footprint(strategy, seed=0):
        tiler = Tiler(MemoryHierarchy.fromSizes(l1=16 * 1024))
        tiler.searchStrategy, tiler.seed = strategy, seed
        tiler.setupModel(model(CONV, l1=16 * 1024))
        layer = tiler.computeTilingSchedule().layers[0]
        return layer.estimate.footprint[0], layer.tiling

    assert footprint("max")[0] > footprint("min")[0]
    assert footprint("random-max", 1) == footprint("random-max", 1)


def test_unknown_strategy_is_a_clear_error():
    tiler = Tiler(MemoryHierarchy.default())
    tiler.searchStrategy = "fastest"  # type: ignore[assignment]
    with pytest.raises(TilingError, match="unknown search strategy 'fastest'"):
        tiler.setupModel(model(CONV))


def test_balanced_tiles():
    # 32 channels that need two tiles are split 16 + 16, never 28 + 4
    text = "g (float[1, 32, 8, 8] x) => (float[1, 32, 8, 8] y) { y = Relu (x) }"
    tiler = Tiler(MemoryHierarchy.fromSizes(l1=5000))
    tiler.searchStrategy = "min"
    tiler.setupModel(model(text, l1=5000))
    layer = tiler.computeTilingSchedule().layers[0]
    from tiler_dialect.schedule import balanced, max_extents

    for count, dim in zip(layer.tiling.levels[0].counts, layer.problem.desc.dims):
        sizes = [hi - lo for lo, hi in balanced(dim.size, count)]
        assert max(sizes) - min(sizes) <= 1
    assert max_extents(layer.problem.desc, layer.tiling)[0] == [
        -(-d.size // c) for d, c in zip(layer.problem.desc.dims, layer.tiling.levels[0].counts)
    ]


def test_reduction_is_split_when_it_cannot_fit():
    k = 4096
    text = f"g (float[4, {k}] a) => (float[4, 8] y) <float[{k}, 8] b = {{{', '.join('0.01' for _ in range(k * 8))}}}> {{ y = MatMul (a, b) }}"
    untiled = model(text, l1=4096)
    feeds = random_inputs(untiled)
    module = model(text, l1=4096)
    solution = tile(module)
    k_dim = [d.name for d in solution.layers[0].problem.desc.dims].index("k")
    assert solution.layers[0].tiling.levels[0].counts[k_dim] > 1
    assert_same(execute(module, feeds), execute(untiled, feeds))


def test_identical_signatures_are_solved_once(monkeypatch):
    text = """g (float[1, 8, 16, 16] x) => (float[1, 8, 16, 16] y)
    { a = Relu (x)  b = Relu (a)  c = Relu (b)  y = Sigmoid (c) }"""
    calls = []
    real = solver_module._Model.solve

    def counting(self):
        calls.append(self.p.signature[0])
        return real(self)

    monkeypatch.setattr(solver_module._Model, "solve", counting)
    tiler = Tiler(MemoryHierarchy.fromSizes(l1=2048))
    tiler.setupModel(model(text, l1=2048))
    solution = tiler.computeTilingSchedule()
    assert len(solution.layers) == 4
    assert {layer.tiling for layer in solution.layers[:3]} == {solution.layers[0].tiling}
    relu_solves = calls.count("tiler.relu")
    assert relu_solves == calls.count("tiler.sigmoid") > 0  # three relus: one set of solves


@pytest.mark.parametrize("double", [True, False])
@pytest.mark.parametrize(
    "path, l1",
    [
        ("mlperf-tiny/kws_dscnn_float32.onnx", 8 * 1024),
        ("deeploy/CCT_1_16_16_8/network.onnx", 4 * 1024),
    ],
)
def test_solver_objective_is_the_documented_estimate(path, l1, double):
    from conftest import shared_path

    module = import_onnx(shared_path("models", path), MemoryHierarchy.fromSizes(l1=l1))
    tiler = Tiler(MemoryHierarchy.fromSizes(l1=l1))
    tiler.doubleBuffer = double
    for problem in tiler.setupModel(module):
        copies = [[2 if double else 1] * len(problem.shapes) for _ in range(problem.levels)]
        found = solve(problem, TileOptions(double_buffer=double), copies)
        assert found.objective == estimate(problem, found.tiling, 4).cycles, problem.label


def test_cost_model_overrides_change_the_choice():
    slow = MemoryHierarchy.fromSizes(l1=16 * 1024)
    slow.setLinkCost("L2", "L1", LinkCost(bandwidth=1, latency=5000))
    fast = MemoryHierarchy.fromSizes(l1=16 * 1024)
    fast.computeRates = ComputeRates(macs_per_cycle=1, elements_per_cycle=1, tile_overhead=0)
    results = []
    for h in (slow, fast):
        tiler = Tiler(h)
        tiler.setupModel(model(CONV, l1=16 * 1024))
        results.append(tiler.computeTilingSchedule().layers[0])
    # a very slow link per transfer: fewer, larger transfers
    assert results[0].traffic.transfers <= results[1].traffic.transfers


CONV_INTEGER = """g (int8[1, 16, 32, 32] x) => (int32[1, 32, 32, 32] y)
<int8[32, 16, 3, 3] w = {%s}>
{ y = ConvInteger <pads = [1, 1, 1, 1]> (x, w) }""" % ", ".join(str(i % 7 - 3) for i in range(32 * 16 * 9))


@pytest.mark.parametrize(
    "rates, float_rate, int8_rate",
    [(ComputeRates(), 8, 32), (ComputeRates(macs_per_cycle=4, macs_per_cycle_8bit=64), 4, 64)],
    ids=["defaults", "overridden"],
)
def test_contractions_compute_at_their_data_widths_mac_rate(rates, float_rate, int8_rate):
    """An int8 conv's MACs run at macs_per_cycle_8bit, a float conv's at macs_per_cycle,
    and the solver's objective is still the documented estimate."""
    macs = 32 * 32 * 32 * 16 * 9
    for text, rate in ((CONV, float_rate), (CONV_INTEGER, int8_rate)):
        h = MemoryHierarchy.fromSizes(l1=16 * 1024)
        h.computeRates = rates
        tiler = Tiler(h)
        (problem,) = tiler.setupModel(model(text, l1=16 * 1024))
        assert problem.multiply_accumulates and problem.work == macs
        assert problem.compute_cycles == -(-macs // rate)
        copies = [[2] * len(problem.shapes) for _ in range(problem.levels)]
        found = solve(problem, TileOptions(), copies)
        assert found.objective == estimate(problem, found.tiling, 4).cycles


def test_element_width_mac_rates_come_from_the_hierarchy_file(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(
        '{"levels": [{"name": "L2", "size": 1048576, "neighbours": ["L1"]}, '
        '{"name": "L1", "size": 16384, "neighbours": ["L2"]}], "default": "L2", "compute": "L1", '
        '"compute_rates": {"macs_per_cycle_8bit": 128, "macs_per_cycle_16bit": 3}}'
    )
    rates = MemoryHierarchy.load(path).computeRates
    assert (rates.macs_for(1), rates.macs_for(2), rates.macs_for(4)) == (128, 3, 8)


def test_infeasible_names_op_footprint_capacity_and_operands():
    text = "g (float[1, 4096] x) => (float[1, 4096] y) { y = Softmax <axis = 1> (x) }"
    with pytest.raises(TilingError) as e:
        tile(model(text, l1=8192))
    message = str(e.value)
    assert "'softmax1' (tiler.softmax) cannot fit in L1 (8192 bytes)" in message
    assert "need 32772 bytes" in message  # in, out, and the row's value of scratch
    assert "in0 %x 16384 B (tile 1x4096)" in message and "out %y 16384 B" in message
    assert "scratch 4 B (tile 1)" in message


def test_falls_back_to_single_buffering_before_giving_up():
    # one row of 1024 floats in and out: 8 KiB fits single buffered, not double
    text = "g (float[4, 1024] x) => (float[4, 1024] y) { y = Softmax <axis = 1> (x) }"
    solution = tile(model(text, l1=align_up(2 * 4096, 4) + 16))
    assert solution.layers[0].tiling.tiles == 4
    assert all(s == 1 for s in solution.layers[0].tiling.levels[0].slots)


def test_infeasible_exception_from_solver_directly():
    from tiler_passes.tiling.problem import problem_of
    from tiler_dialect.ops import TilerOp

    module = model("g (float[1, 4096] x) => (float[1, 4096] y) { y = Softmax <axis = 1> (x) }", l1=1024)
    (op,) = [o for o in module.walk() if isinstance(o, TilerOp)]
    problem = problem_of(op, "softmax")
    with pytest.raises(NoScheduleFits):
        solve(problem, TileOptions(), [[2, 2]])


def test_home_equal_to_compute_level_computes_in_place():
    flat = MemoryHierarchy.chain({"L1": 1 << 20}, "L1", "L1")
    text = "g (float[4, 8] x) => (float[4, 8] y) { y = Relu (x) }"
    untiled = import_onnx(parse_model_text(HEADER + text, "t"), flat)
    module = import_onnx(parse_model_text(HEADER + text, "t"), flat)
    feeds = random_inputs(untiled)
    tile(module)
    text_ir = str(module)
    assert "dma_start" not in text_ir and "ins(" in text_ir
    assert_same(execute(module, feeds), execute(untiled, feeds))


def test_mixed_levels_are_refused(tmp_path):
    from tiler_tools.tiler_run import load_module

    ir = tmp_path / "mixed.mlir"
    ir.write_text(
        """builtin.module {
  func.func @main(%x: tensor<4x8xf32, #tiler.mem<"L3">> {tiler.name = "x"}) -> (tensor<4x8xf32, #tiler.mem<"L3">> {tiler.name = "y"}) {
    %y = tiler.relu %x : (tensor<4x8xf32, #tiler.mem<"L3">>) -> tensor<4x8xf32, #tiler.mem<"L3">>
    func.return %y : tensor<4x8xf32, #tiler.mem<"L3">>
  }
}
"""
    )
    with pytest.raises(TilingError, match="must live in the home level L2"):
        tile(load_module(str(ir), {}))


def test_double_buffered_loop_structure():
    from xdsl.dialects import memref, scf

    module = model("g (float[64, 32] x) => (float[64, 32] y) { y = Relu (x) }", l1=4096)
    tile(module)
    main = module.body.block.first_op
    top = list(main.body.block.ops)
    loops = [op for op in top if isinstance(op, scf.ForOp)]
    assert len(loops) == 1
    before = top[: top.index(loops[0])]
    assert any(isinstance(op, memref.DmaStartOp) for op in before), "prologue loads tile 0"
    body = list(loops[0].body.block.ops)
    prefetch = [op for op in body if isinstance(op, scf.IfOp)]
    assert len(prefetch) == 1 and any(isinstance(op, memref.DmaStartOp) for op in prefetch[0].walk()), (
        "the next tile's input is loaded under t + 1 < T"
    )
    stores = [op for op in body if isinstance(op, memref.DmaStartOp)]
    assert len(stores) == 1, "each tile stores its output"
    after = top[top.index(loops[0]) + 1 :]
    assert not any(isinstance(op, memref.DmaStartOp) for op in after), "no epilogue: the loop covers every tile"
    assert sum(isinstance(op, memref.DmaWaitOp) for op in after) == 2, "the drain waits for both output copies"
    np.testing.assert_equal(len(loops[0].body.block.args), 1)
