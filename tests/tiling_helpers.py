"""Helpers for tests of the tile pass: tile a module, run both, compare."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, event, settings
from hypothesis.control import currently_in_test_context
from xdsl.dialects.builtin import ModuleOp

from tiler_dialect import MemoryHierarchy
from tiler_dialect.ops import TilerOp
from tiler_passes.tiling.problem import align_up, problem_of
from tiler_passes.tiler import Tiler, TilingSolution
from tiler_tools.executor import signature

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
"""The property tests' hypothesis settings: derandomized, so CI sees the same cases."""


def note_outcome(outcome: str) -> None:
    """Record an outcome for pytest --hypothesis-show-statistics; event() is only legal
    inside a @given test, and example-based tests share the checks."""
    if currently_in_test_context():
        event(outcome)


def random_inputs(module: ModuleOp, seed: int = 0) -> dict[str, np.ndarray]:
    from tiler_dialect.ops import element_dtype

    from tiler_tools.executor.interpreter import main_function

    rng = np.random.default_rng(seed)
    out = {}
    args = main_function(module).body.block.args
    for (name, t), arg in zip(signature(module)[0], args):
        dtype = element_dtype(t.element_type)
        shape = tuple(t.get_shape())
        bound = _index_bound(arg)
        if bound is not None:  # indices (Gather's): valid ones, negative ones too
            out[name] = rng.integers(-bound, bound, shape).astype(dtype)
        elif np.issubdtype(dtype, np.floating):
            out[name] = rng.standard_normal(shape).astype(dtype)
        else:
            out[name] = rng.integers(1, 5, shape).astype(dtype)
    return out


def _index_bound(value) -> int | None:
    """The smallest dim size that `value` indexes into (TilerOp.index_inputs), through
    views, or None when no op reads it as indices."""
    bounds = []
    for use in value.uses:
        op = use.operation
        if isinstance(op, TilerOp) and op.IS_VIEW:
            inner = _index_bound(op.results[0])
            if inner is not None:
                bounds.append(inner)
        elif isinstance(op, TilerOp) and use.index in op.index_inputs():
            bounds.append(op.index_inputs()[use.index])
    return min(bounds) if bounds else None


def as_tile(box: list[tuple[int, int]], desc) -> list[tuple[int, int]]:
    """`box` narrowed to one a tile can be: a tile writes its output as one box, so where
    an output index combines dims (a grouped conv's channel, Tile's copy and index), a
    dim taken in part takes its outer dims one index at a time
    (TilingDescription.nested_output_dims)."""
    for inner, outers in desc.nested_output_dims():
        if box[inner] != (0, desc.dims[inner].size):
            for o in outers:
                box[o] = (box[o][0], box[o][0] + 1)
    return box


def tile(module: ModuleOp, hierarchy: MemoryHierarchy | None = None, **settings) -> TilingSolution:
    """Run the Tiler on `module` in place (its own hierarchy unless one is given)."""
    from tiler_dialect.attributes import HIERARCHY_ATTR_NAME, MemoryHierarchyAttr, hierarchy_of

    if hierarchy is not None:
        module.attributes[HIERARCHY_ATTR_NAME] = MemoryHierarchyAttr.from_hierarchy(hierarchy)
    tiler = Tiler(hierarchy_of(module))
    for key, value in settings.items():
        setattr(tiler, key, value)
    solution = tiler.tile(module)
    module.verify()
    return solution


def assert_same(tiled: dict[str, np.ndarray], untiled: dict[str, np.ndarray]) -> None:
    """Tiled results equal the untiled ones. Sums split over tiles add the same terms in
    another order, so they may round differently: by a few float32 ulps of the terms'
    magnitude, not of the (possibly cancelled, small) result. Hence the absolute
    tolerance is 8 ulps of the output's element type at its largest magnitude (for
    float32 ~1e-6 of it; float16's ulps are 8192 times coarser), while a wrong tile, halo
    or offset errs by the order of the values themselves."""
    assert tiled.keys() == untiled.keys()
    for name, want in untiled.items():
        got = tiled[name]
        assert got.shape == want.shape and got.dtype == want.dtype, name
        if np.issubdtype(want.dtype, np.floating):
            finite = want[np.isfinite(want)]
            scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
            ulps = 8 * float(np.finfo(want.dtype).eps)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=ulps * scale, equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)


def check_solution_fits(solution: TilingSolution) -> None:
    for layer in solution.layers:
        for footprint, capacity in zip(layer.estimate.footprint, layer.problem.capacities):
            assert footprint <= capacity, layer.name
        assert layer.traffic.bytes >= layer.lower_bound_bytes or layer.lower_bound_bytes == 0, layer.name


def tile_or_infeasible(module: ModuleOp, double: bool) -> TilingSolution | None:
    """The property tests' step: tile, and check the solution fits its budget; None when
    the budget cannot hold the op, which must then be the infeasibility diagnostic."""
    from tiler_passes.tiler import TilingError

    try:
        solution = tile(module, doubleBuffer=double)
    except TilingError as e:
        message = str(e)
        assert "cannot fit in" in message and "even its smallest tiles need" in message, message
        note_outcome("infeasible")
        return None
    check_solution_fits(solution)
    note_outcome("tiled into >= 2 tiles" if solution.layers[0].tiling.tiles > 1 else "one tile")
    return solution


# -- budgets that force tiles ---------------------------------------------------------


def footprints(op: TilerOp, alignment: int = 4) -> tuple[int, int, bool]:
    """(bytes as one tile, bytes at its smallest tiles, has a dim that can split)."""
    p = problem_of(op, op.name, MemoryHierarchy.default())
    whole = [d.size for d in p.desc.dims]
    smallest = p.smallest_extents()
    def size(extents: list[int]) -> int:  # operands, and the scratch the lowering needs
        scratch = align_up(p.scratch_bytes(extents), alignment) if p.desc.scratch else 0
        return sum(align_up(p.region_bytes(k, extents), alignment) for k in range(len(p.shapes))) + scratch

    return size(whole), size(smallest), smallest != whole


def alignment_for(module) -> int:
    """4 bytes, unless padding to 4 makes some op's smallest tiles as big as its whole
    (e.g. 3 int8 values): then 1, so that splitting it still saves bytes."""
    ops = [op for op in module.walk() if isinstance(op, TilerOp) and not op.IS_VIEW]
    stuck = any(whole == smallest and splits for whole, smallest, splits in map(footprints, ops))
    return 1 if stuck else 4


def budget(module, alignment: int = 4) -> tuple[int, list[tuple[TilerOp, int, bool]]]:
    ops = [op for op in module.walk() if isinstance(op, TilerOp) and not op.IS_VIEW]
    sizes = [(op, *footprints(op, alignment)) for op in ops]
    floor = max((smallest for _, _, smallest, _ in sizes), default=4)
    whole = [w for _, w, _, splits in sizes if splits]
    cap = min(whole) - 1 if whole else floor
    return max(cap, floor), [(op, w, s) for op, w, _, s in sizes]
