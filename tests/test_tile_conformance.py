"""ONNX conformance cases, tiled under budgets that force at least two tiles for every op
with a dim that can be split, executed (DMA hazards checked), equal to the untiled result,
and so again once lower-tiler has made it linalg.

The budget for a case is one byte below the smallest footprint any of its splittable ops
has as a single tile (so none fits whole), but never below the largest footprint any op
needs at its smallest tiles (so all remain feasible). When a case's ops make both
impossible at once, the budget is that largest minimum and only ops that do not fit
whole must split, and each op of such a case is also tiled on its own under its own
forcing budget. The run prints how many ops were forced either way.
"""

from __future__ import annotations

import pytest
from conformance_cases import RUNNABLE, bind_static_inputs
from summaries import SPLIT_ALONE, TILED_CONFORMANCE
from tiling_helpers import alignment_for, assert_same, budget, check_solution_fits, footprints, tile

from tiler_dialect import MemoryHierarchy
from tiler_dialect.ops import TilerOp
from tiler_passes.lower_tiler import lower_tiler
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx


@pytest.mark.parametrize("double", [True, False], ids=["double", "single"])
@pytest.mark.parametrize("case", RUNNABLE, ids=[c.name for c in RUNNABLE])
def test_tiled_conformance_case(case, double):
    model, feeds = bind_static_inputs(case.model, case.data_sets[0][0])
    untiled = import_onnx(model)
    want = execute(untiled, feeds)
    alignment = alignment_for(untiled)
    l1, ops = budget(untiled, alignment)
    module = import_onnx(model, MemoryHierarchy.fromSizes(l1=l1))
    names = {id(op): i for i, (op, _, _) in enumerate(ops)}
    solution = tile(module, doubleBuffer=double, alignment=alignment)
    check_solution_fits(solution)
    forced, possible = set(), set()
    for i, (layer, (op, whole, splits)) in enumerate(zip(solution.layers, ops)):
        if splits:
            possible.add(i)
            if whole > l1:
                assert layer.tiling.tiles >= 2, f"{layer.name}: {whole} bytes whole, budget {l1}"
                forced.add(i)
    assert len(names) == len(solution.layers)
    assert_same(execute(module, feeds), want)
    if double:
        TILED_CONFORMANCE[case.name] = (forced, possible)
    # and lowered to linalg: the same result, every split tile included
    lower_tiler(module)
    module.verify()
    assert_same(execute(module, feeds), want)


def single_op_module(op: TilerOp):
    """A module computing just `op`, its operands as arguments."""
    from xdsl.dialects import func
    from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, ModuleOp, StringAttr
    from xdsl.ir import Block, Region

    from tiler_dialect.ops import NAME_ATTR

    block = Block(arg_types=[v.type for v in op.inputs])
    clone = op.clone()
    for i, arg in enumerate(block.args):
        clone.operands[i] = arg
    block.add_op(clone)
    block.add_op(func.ReturnOp(clone.res[0]))
    names = lambda prefix, n: ArrayAttr(DictionaryAttr({NAME_ATTR: StringAttr(f"{prefix}{i}")}) for i in range(n))  # noqa: E731
    main = func.FuncOp(
        "main", ([v.type for v in op.inputs], [clone.res[0].type]), Region(block),
        arg_attrs=names("in", len(op.inputs)), res_attrs=names("out", 1),
    )
    return ModuleOp([main])


def _ops_of_multi_op_cases():
    for case in RUNNABLE:
        model, _ = bind_static_inputs(case.model, case.data_sets[0][0])
        ops = [op for op in import_onnx(model).walk() if isinstance(op, TilerOp) and not op.IS_VIEW]
        if len(ops) > 1:
            for i, op in enumerate(ops):
                if footprints(op)[2]:
                    yield (case.name, i), op


MULTI = list(_ops_of_multi_op_cases())


@pytest.mark.parametrize("item", MULTI, ids=[f"{case}:{i}:{op.name}" for (case, i), op in MULTI])
def test_each_op_of_multi_op_cases_split_alone(item):
    from tiling_helpers import random_inputs

    key, op = item
    untiled = single_op_module(op)
    untiled.verify()
    feeds = random_inputs(untiled, seed=5)
    want = execute(untiled, feeds)
    alignment = alignment_for(untiled)
    l1, _ = budget(untiled, alignment)
    module = single_op_module(op)
    solution = tile(module, MemoryHierarchy.fromSizes(l1=l1), alignment=alignment)
    assert solution.layers[0].tiling.tiles >= 2
    assert_same(execute(module, feeds), want)
    SPLIT_ALONE.add(key)
