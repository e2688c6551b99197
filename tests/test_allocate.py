"""The allocate pass, proven by execution: every shared model tiled and allocated, run
with each memory level backed by one byte array (every buffer a view at its offset),
equal to the untiled result; the memory map's invariants; a corrupted placement is caught
by the numbers; the strategies; the diagnostics."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, SHARED, run_tool, shared_path
from tiling_helpers import assert_same, random_inputs, tile
from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, IntegerAttr, i64

from tiler_dialect import MemoryHierarchy
from tiler_passes.allocate import memory_map_json
from tiler_passes.allocation.blocks import check_placement, lower_bound, peak
from tiler_passes.tiler import MemoryAllocationError, Tiler
from tiler_tools import tiler_opt
from tiler_tools.executor import execute
from tiler_tools.executor.errors import ExecutionError
from tiler_dialect.dma import is_dma_tags
from tiler_dialect.program import main_function
from tiler_tools.onnx_frontend import import_onnx

KIB = 1024
MODELS = ["mlperf-tiny/kws_dscnn_float32.onnx", "mlperf-tiny/resnet8_float32.onnx"] + sorted(
    str(p.relative_to(SHARED / "models")) for p in (SHARED / "models" / "deeploy").glob("**/network.onnx")
)


def kws():
    return shared_path("models", "mlperf-tiny", "kws_dscnn_float32.onnx")


def tiled_and_allocated(path, hierarchy, strategy="MiniMalloc", **tile_settings):
    module = import_onnx(path, hierarchy)
    tile(module, **tile_settings)
    tiler = Tiler(hierarchy)
    tiler.memoryAllocStrategy = strategy
    mmap = tiler.allocate(module)
    module.verify()
    return module, tiler, mmap


def check_map(tiler, mmap):
    """Every level's placement is valid, its arena is what the IR allocates, and no
    smaller than the most bytes ever live."""
    for level, blocks in mmap.levels.items():
        plain = [b.block for b in blocks]
        offsets = [b.offset for b in blocks]
        check_placement(plain, offsets, mmap.capacities[level])
        assert tiler.worstCaseBufferSize[level] == peak(plain, offsets) >= lower_bound(plain)
        for b in blocks:
            if b.kind == "buffer":  # a tile buffer lives within its op's step
                assert b.block.upper - b.block.lower == 1, b.block
            if b.kind == "input":
                assert b.block.lower == 0
            assert b.offset % 4 == 0


@pytest.mark.parametrize("l1", [8 * KIB, 32 * KIB, 64 * KIB], ids=["8K", "32K", "64K"])
@pytest.mark.parametrize("model", MODELS)
def test_allocated_model_equals_untiled(model, l1):
    path = shared_path("models", model)
    hierarchy = MemoryHierarchy.fromSizes(l1=l1, l2=1024 * KIB)
    untiled = import_onnx(path, hierarchy)
    feeds = random_inputs(untiled, seed=1)
    want = execute(untiled, feeds)
    module, tiler, mmap = tiled_and_allocated(path, hierarchy)
    check_map(tiler, mmap)
    allocs = [op for op in main_function(module).body.block.ops if isinstance(op, memref.AllocOp)]
    arenas = {op.attributes["tiler.arena"].data: op.memref.type.get_shape()[0] for op in allocs if "tiler.arena" in op.attributes}
    assert arenas == tiler.worstCaseBufferSize
    # every allocation left is an arena, or a DMA tag array (no memory level: no data)
    assert all("tiler.arena" in op.attributes or is_dma_tags(op.memref) for op in allocs)
    assert all(is_dma_tags(op.memref) for op in module.walk() if isinstance(op, memref.DeallocOp))
    assert_same(execute(module, feeds), want)


def test_resnet8_from_l3_allocates_three_levels():
    path = shared_path("models", "mlperf-tiny", "resnet8_float32.onnx")
    hierarchy = MemoryHierarchy.fromSizes(l1=16 * KIB, l2=64 * KIB, default="L3")
    untiled = import_onnx(path, hierarchy)
    feeds = random_inputs(untiled, seed=2)
    module, tiler, mmap = tiled_and_allocated(path, hierarchy)
    check_map(tiler, mmap)
    assert set(tiler.worstCaseBufferSize) == {"L3", "L2", "L1"}
    assert tiler.worstCaseBufferSize["L2"] <= 64 * KIB and tiler.worstCaseBufferSize["L1"] <= 16 * KIB
    assert_same(execute(module, feeds), execute(untiled, feeds))


def _move_onto_a_live_neighbour(module, mmap, level, arena):
    """Rewrite one view's offset so that it overlaps a block that is still to be read:
    `a` is written at its first step while `b`, live since earlier, is read after it."""
    movable = [b for b in mmap.levels[level] if b.kind in ("activation", "buffer")]
    # prefer b live strictly before a (L2: e.g. weights still to be read); tile buffers of
    # one op share their only step (L1)
    pairs = [(a, b, strict) for strict in (True, False) for a in movable for b in mmap.levels[level]]
    for a, b, strict in pairs:
        # b read after the step that writes a (in the same step, an elementwise op may read
        # and write one place in lockstep harmlessly)
        later_reads = [s for s in range(a.block.lower + strict, b.block.upper) if b.value in mmap.uses[s]]
        starts_before = b.block.lower < a.block.lower if strict else b.block.lower <= a.block.lower
        if (
            a is not b
            and starts_before
            and a.block.lower < b.block.upper
            and later_reads
            and b.offset + a.block.size <= arena
        ):
            view = next(
                op for op in module.walk()
                if isinstance(op, memref.ViewOp) and op.attributes["tiler.name"].data == a.block.id
            )
            const = arith.ConstantOp.from_int_and_width(b.offset, view.byte_shift.type)
            view.parent_block().insert_op_before(const, view)
            view.operands[1] = const.result
            return a.block.id, b.block.id
    raise AssertionError("no block is written while another, live before it, waits to be read")


@pytest.mark.parametrize("level", ["L1", "L2"])
def test_overlapping_live_buffers_corrupt_the_result(level):
    """The arena-backed executor is a real check: two live buffers at one place break it."""
    path = kws()
    hierarchy = MemoryHierarchy.fromSizes(l1=8 * KIB)
    untiled = import_onnx(path, hierarchy)
    feeds = random_inputs(untiled, seed=4)
    want = execute(untiled, feeds)
    module, tiler, mmap = tiled_and_allocated(path, hierarchy)
    _move_onto_a_live_neighbour(module, mmap, level, tiler.worstCaseBufferSize[level])
    try:
        got = execute(module, feeds)
    except ExecutionError:
        return  # the executor caught it (e.g. a DMA hazard on the shared bytes)
    with pytest.raises(AssertionError):
        assert_same(got, want)


@pytest.mark.parametrize("level", ["L1", "L2"])
def test_address_check_catches_live_buffers_sharing_bytes(level):
    """testTilingSolutionCorrectness on the allocated module reads the addresses back from
    the IR alone; the same corruption the executor catches fails it, naming both buffers."""
    path = kws()
    hierarchy = MemoryHierarchy.fromSizes(l1=8 * KIB)
    module, tiler, mmap = tiled_and_allocated(path, hierarchy)
    tiler.testTilingSolutionCorrectness(module)  # as allocated: fine
    moved, onto = _move_onto_a_live_neighbour(module, mmap, level, tiler.worstCaseBufferSize[level])
    with pytest.raises(MemoryAllocationError, match="overlap while both are in use") as caught:
        tiler.testTilingSolutionCorrectness(module)
    assert moved in str(caught.value) and onto in str(caught.value)


def _set_view_offset(module, name, offset):
    view = next(op for op in module.walk() if isinstance(op, memref.ViewOp) and op.attributes["tiler.name"].data == name)
    const = arith.ConstantOp.from_int_and_width(offset, view.byte_shift.type)
    view.parent_block().insert_op_before(const, view)
    view.operands[1] = const.result


def test_address_check_catches_misaligned_and_out_of_arena_offsets():
    path = ROOT / "examples" / "small" / "conv_relu.onnxtxt"
    hierarchy = MemoryHierarchy.fromSizes(l1=768)
    module, tiler, mmap = tiled_and_allocated(path, hierarchy)
    buffer = next(b for b in mmap.levels["L1"] if b.kind == "buffer")
    _set_view_offset(module, buffer.block.id, buffer.offset + 2)
    with pytest.raises(MemoryAllocationError, match=f"{buffer.block.id}: offset {buffer.offset + 2} in L1 is not 4-byte aligned"):
        tiler.testTilingSolutionCorrectness(module)
    arena = tiler.worstCaseBufferSize["L1"]
    _set_view_offset(module, buffer.block.id, arena)
    with pytest.raises(MemoryAllocationError, match=rf"bytes \[{arena}, {arena + buffer.block.size}\) lie outside the L1 arena of {arena} bytes"):
        tiler.testTilingSolutionCorrectness(module)
    _set_view_offset(module, buffer.block.id, buffer.offset)
    tiler.testTilingSolutionCorrectness(module)
    # an input's offset written by the allocation, moved off alignment
    main = main_function(module)
    attrs = list(main.arg_attrs.data)
    attrs[0] = DictionaryAttr(dict(attrs[0].data) | {"tiler.offset": IntegerAttr(3, i64)})
    main.arg_attrs = ArrayAttr(attrs)
    with pytest.raises(MemoryAllocationError, match="input image: offset 3 in L2 is not 4-byte aligned"):
        tiler.testTilingSolutionCorrectness(module)


def test_offsets_keep_the_element_alignment_below_the_alignment_asked_for():
    """--alignment 1 still puts a float32 buffer at a multiple of 4 (and int8 anywhere)."""
    path = kws()
    hierarchy = MemoryHierarchy.fromSizes(l1=8 * KIB)
    module = import_onnx(path, hierarchy)
    tile(module, alignment=1)
    tiler = Tiler(hierarchy)
    tiler.alignment = 1
    mmap = tiler.allocate(module)
    blocks = list(mmap.all())
    assert blocks and all(b.block.alignment == 4 and b.offset % 4 == 0 for b in blocks)  # all float32
    feeds = random_inputs(module, seed=8)
    assert_same(execute(module, feeds), execute(import_onnx(path, hierarchy), feeds))


@pytest.mark.parametrize("strategy", ["TetrisRandom", "TetrisCo-Opt"])
def test_other_strategies_place_validly(strategy):
    path = kws()
    hierarchy = MemoryHierarchy.fromSizes(l1=32 * KIB)
    untiled = import_onnx(path, hierarchy)
    feeds = random_inputs(untiled, seed=5)
    module, tiler, mmap = tiled_and_allocated(path, hierarchy, strategy, memoryAllocStrategy=strategy)
    check_map(tiler, mmap)
    assert_same(execute(module, feeds), execute(untiled, feeds))
    hinted = [b for b in mmap.all() if b.hint is not None]
    if strategy == "TetrisCo-Opt":
        # the tiling model placed every tile buffer together with the tile sizes, and the
        # allocation kept those places
        assert hinted and all(b.kind == "buffer" for b in hinted)
        assert {b.block.id for b in hinted} == {b.block.id for b in mmap.all() if b.kind == "buffer"}
        assert all(b.offset == b.hint for b in hinted)
    else:
        assert not hinted


def test_minimalloc_reaches_the_lower_bound_on_kws():
    path = kws()
    _, tiler, mmap = tiled_and_allocated(path, MemoryHierarchy.fromSizes(l1=8 * KIB))
    for level, blocks in mmap.levels.items():
        assert tiler.worstCaseBufferSize[level] == lower_bound([b.block for b in blocks]), level


def test_memory_map_json_and_steps():
    path = kws()
    module, tiler, mmap = tiled_and_allocated(path, MemoryHierarchy.fromSizes(l1=8 * KIB))
    data = json.loads(json.dumps(memory_map_json(mmap, tiler.worstCaseBufferSize, ["L3", "L2", "L1"])))
    assert list(data["levels"]) == ["L2", "L1"] and data["steps"] == mmap.steps == 21  # 21 layers
    for level, entry in data["levels"].items():
        assert set(entry) == {"capacity", "arena_bytes", "lower_bound_bytes", "blocks"}
        assert entry["arena_bytes"] == tiler.worstCaseBufferSize[level] >= entry["lower_bound_bytes"]
        for b in entry["blocks"]:
            assert {"name", "lower", "upper", "size", "offset"} <= set(b)
            assert 0 <= b["lower"] < b["upper"] <= data["steps"]
    outputs = [b for b in mmap.all() if b.value in mmap.returned]
    assert outputs and all(b.block.upper == mmap.steps for b in outputs)


def test_memory_map_check_catches_a_dead_operand():
    path = kws()
    hierarchy = MemoryHierarchy.fromSizes(l1=8 * KIB)
    module = import_onnx(path, hierarchy)
    tile(module)
    tiler = Tiler(hierarchy)
    mmap = tiler.computeMemoryMap(module)
    tiler.testMemoryMapCorrectness(mmap)
    activation = next(b for b in mmap.levels["L2"] if b.kind == "activation")
    activation.block = activation.block.__class__(
        activation.block.id, activation.block.lower, activation.block.lower + 1, activation.block.size, 4
    )
    with pytest.raises(MemoryAllocationError, match="is used at step 1 but lives on"):
        tiler.testMemoryMapCorrectness(mmap)


def test_allocation_errors_are_diagnostics(tmp_path):
    model = str(ROOT / "examples" / "small" / "conv_relu.onnxtxt")
    code, _, err = run_tool(tiler_opt.main, [model, "--allocate"])
    assert code == 1 and "run the tile pass first" in err, err
    out = tmp_path / "a.mlir"
    assert run_tool(tiler_opt.main, [model, "--tile", "--allocate", "-o", str(out)])[0] == 0
    code, _, err = run_tool(tiler_opt.main, [str(out), "--allocate"])
    assert code == 1 and "allocated already" in err
    # L2 too small for the activations and constants that are live together
    code, _, err = run_tool(tiler_opt.main, [model, "--l2", "1024", "--l1", "768", "--tile", "--allocate"])
    assert code == 1 and "L2 (1024 bytes) cannot hold what is live at step" in err, err
    assert "Traceback" not in err


def test_allocation_is_deterministic():
    path = shared_path("models", "mlperf-tiny", "resnet8_float32.onnx")
    texts = []
    for _ in range(2):
        module, _, _ = tiled_and_allocated(path, MemoryHierarchy.fromSizes(l1=32 * KIB))
        texts.append(str(module))
    assert texts[0] == texts[1]
