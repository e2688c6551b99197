"""The native MiniMalloc: optimal peaks on the small shared cases, valid placements on the
challenging ones and on random instances (checked independently of the solver), and the
same feasible / infeasible verdict as brute force on tiny instances."""

from __future__ import annotations

import itertools

import pytest
from conftest import SHARED, shared_path
from hypothesis import given, settings
from hypothesis import strategies as st

from tiler_passes.allocation.blocks import AllocationError, Block, check_placement, lower_bound, peak, read_csv, write_csv
from tiler_passes.allocation import minimalloc as minimalloc_module
from tiler_passes.allocation.minimalloc import Infeasible, OutOfBudget, OutOfTime, minimalloc, minimalloc_lowest_peak

SMALL = sorted((SHARED / "minimalloc" / "small").glob("*.csv"))


def pairwise_valid(blocks, offsets, capacity) -> bool:
    """The definition, pair by pair (quadratic; for tests only)."""
    for b, o in zip(blocks, offsets):
        if o < 0 or o + b.size > capacity or o % b.alignment:
            return False
    for (b, o), (c, p) in itertools.combinations(zip(blocks, offsets), 2):
        if b.lower < c.upper and c.lower < b.upper and b.size and c.size and o < p + c.size and p < o + b.size:
            return False
    return True


@pytest.mark.parametrize("path", SMALL, ids=[p.name for p in SMALL])
def test_small_cases_reach_their_optimal_peak(path):
    optimum = int(path.name.split(".")[1])
    blocks = read_csv(path.read_text(), path.name)
    offsets = minimalloc_lowest_peak(blocks, 1 << 20, timeout=10)
    assert pairwise_valid(blocks, offsets, optimum)
    assert peak(blocks, offsets) == optimum
    with pytest.raises(Infeasible):
        minimalloc(blocks, optimum - 1, timeout=10)


# the six quickest (about 4 s in all); `make bench` runs all 11 and times them
@pytest.mark.parametrize("name", ["D", "G", "H", "I", "J", "K"])
def test_challenging_cases_get_valid_placements(name):
    path = shared_path("minimalloc", f"{name}.1048576.csv")
    blocks = read_csv(path.read_text(), path.name)
    offsets = minimalloc(blocks, 1048576, timeout=60)
    check_placement(blocks, offsets, 1048576)
    assert pairwise_valid(blocks, offsets, 1048576)


@st.composite
def instances(draw, max_blocks=40, horizon=30, max_size=50):
    n = draw(st.integers(1, max_blocks))
    blocks = []
    for i in range(n):
        lower = draw(st.integers(0, horizon - 1))
        upper = draw(st.integers(lower + 1, horizon))
        blocks.append(Block(str(i), lower, upper, draw(st.integers(0, max_size)), draw(st.sampled_from([1, 1, 2, 4]))))
    return blocks


@settings(max_examples=200, deadline=None, derandomize=True)
@given(instances(), st.floats(1.0, 1.6))
def test_random_placements_are_valid(blocks, slack):
    capacity = int(lower_bound(blocks) * slack) + 8
    try:
        offsets = minimalloc(blocks, capacity, timeout=20)
    except Infeasible:
        return  # tiny instances below check infeasibility against brute force
    assert pairwise_valid(blocks, offsets, capacity)
    check_placement(blocks, offsets, capacity)


def brute_force_feasible(blocks, capacity) -> bool:
    choices = [range(0, capacity - b.size + 1, b.alignment) for b in blocks]
    return any(pairwise_valid(blocks, offsets, capacity) for offsets in itertools.product(*choices))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(instances(max_blocks=5, horizon=6, max_size=5), st.integers(0, 4))
def test_infeasibility_agrees_with_brute_force(blocks, below):
    capacity = max(lower_bound(blocks) + 2 - below, 1)
    try:
        offsets = minimalloc(blocks, capacity, timeout=20)
        found = True
        assert pairwise_valid(blocks, offsets, capacity)
    except Infeasible:
        found = False
    assert found == brute_force_feasible(blocks, capacity)


def test_lowest_peak_never_above_a_first_solution():
    blocks = [Block("a", 0, 4, 3), Block("b", 2, 6, 3), Block("c", 4, 8, 3), Block("d", 0, 8, 1)]
    offsets = minimalloc_lowest_peak(blocks, 100)
    assert peak(blocks, offsets) == lower_bound(blocks) == 7


def test_out_of_time_is_reported():
    path = shared_path("minimalloc", "B.1048576.csv")
    blocks = read_csv(path.read_text(), path.name)
    with pytest.raises(OutOfTime):
        minimalloc(blocks, 1048576, timeout=0.05)


def test_node_budget_is_reported_and_narrowing_is_deterministic(monkeypatch):
    """A node budget, not the clock, bounds each narrowing probe: with a budget too small
    to settle the probes, two runs still give the same placement."""
    path = shared_path("minimalloc", "J.1048576.csv")
    blocks = read_csv(path.read_text(), path.name)
    with pytest.raises(OutOfBudget, match="out of budget: no placement of the 409 buffers in 1048576 bytes found within 10 nodes"):
        minimalloc(blocks, 1048576, max_nodes=10)
    monkeypatch.setattr(minimalloc_module, "PROBE_NODES", 300)
    first = minimalloc_lowest_peak(blocks, 1048576)
    again = minimalloc_lowest_peak(blocks, 1048576)
    assert first == again
    check_placement(blocks, first, 1048576)
    assert lower_bound(blocks) <= peak(blocks, first) <= 1048576


def test_csv_round_trip_and_errors():
    blocks = [Block("x", 0, 2, 4), Block("y", 1, 3, 4, 4)]
    text = write_csv(blocks, [0, 4])
    assert text.splitlines() == ["id,lower,upper,size,alignment,offset", "x,0,2,4,1,0", "y,1,3,4,4,4"]
    assert read_csv(text) == blocks
    for bad, message in [
        ("", "empty file"),
        ("id,lower,size\n", "lacks upper"),
        ("id,lower,upper,size\n1,0,1\n", "3 fields"),
        ("id,lower,upper,size\n1,0,x,1\n", "must be integers"),
        ("id,lower,upper,size\n1,3,3,1\n", "empty lifetime"),
        ("id,lower,upper,size\n1,0,1,1\n1,0,1,1\n", "duplicate id"),
    ]:
        with pytest.raises(AllocationError, match=message):
            read_csv(bad)


def test_checker_names_the_overlap():
    blocks = [Block("a", 0, 4, 4), Block("b", 3, 5, 4)]
    with pytest.raises(AllocationError, match="blocks a .* and b .* overlap"):
        check_placement(blocks, [0, 2], 16)
    check_placement(blocks, [0, 4], 16)
    with pytest.raises(AllocationError, match="not 4-byte aligned"):
        check_placement([Block("c", 0, 1, 4, 4)], [2], 16)
