"""The Emitter's range folding: a min, max, remainder, quotient or comparison folds only
when the ranges of its operands decide it; the generated arithmetic, executed for every
value of the loop index, computes what plain integer arithmetic computes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType
from xdsl.ir import Block, SSAValue

from tiler_passes.tiling.emit import Emitter


def emitter_in_loop(lower: int, upper: int):
    """An Emitter whose current block is the body of scf.for over [lower, upper)."""
    em = Emitter(Block())
    captured = {}

    def body(t):
        captured["t"] = t
        captured["block"] = em.block

    em.loop(lower, upper, body)
    return em, captured["t"]


def evaluate(em: Emitter, x, t: SSAValue, t_value: int) -> int:
    """Evaluate an Index by interpreting the arith ops that define it."""
    if isinstance(x, int):
        return x
    if not isinstance(x, SSAValue):
        return x.const + sum(c * evaluate(em, v, t, t_value) for v, c in x.terms)
    if x is t:
        return t_value
    op = x.owner
    if isinstance(op, arith.ConstantOp):
        return op.value.value.data
    a, b = (evaluate(em, o, t, t_value) for o in op.operands[:2])
    if isinstance(op, arith.AddiOp):
        return a + b
    if isinstance(op, arith.MuliOp):
        return a * b
    if isinstance(op, arith.MinSIOp):
        return min(a, b)
    if isinstance(op, arith.MaxSIOp):
        return max(a, b)
    if isinstance(op, arith.DivSIOp):
        return a // b
    if isinstance(op, arith.RemSIOp):
        return a % b
    raise AssertionError(op)


def test_interior_clamps_fold():
    em, t = emitter_in_loop(0, 2)  # t in [0, 1]
    lo = em.add(em.mul(t, 4), 3)
    assert em.max(lo, 0) is lo  # 4t + 3 >= 3 > 0
    assert em.min(lo, 12) is lo  # 4t + 3 <= 7 < 12
    assert em.mod(t, 2) is t  # t < 2 never wraps
    assert em.div(t, 2) == 0
    assert em.less(t, 2) is True and em.less(t, 0) is False
    assert em.equal(em.add(t, 5), 4) is False


def test_undecided_operations_are_emitted():
    em, t = emitter_in_loop(0, 2)  # t in [0, 1]
    hi = em.add(em.mul(t, 4), 9)  # 9..13 against 12: undecided
    clipped = em.min(hi, 12)
    assert isinstance(clipped, SSAValue) and isinstance(clipped.owner, arith.MinSIOp)
    assert em.range(clipped) == (9, 12)
    # and the result's range decides what follows: max(min(4t + 9, 12), 4t + 3) is the min
    assert em.max(clipped, em.add(em.mul(t, 4), 3)) is clipped
    em, t = emitter_in_loop(0, 3)  # t in [0, 2]
    assert isinstance(em.mod(t, 2), SSAValue)
    assert isinstance(em.less(t, 1), SSAValue)


def test_an_unknown_value_never_folds():
    em = Emitter(Block())
    x = Block(arg_types=[IndexType()]).args[0]  # no range
    assert isinstance(em.max(x, 0), SSAValue)
    assert isinstance(em.min(x, 5), SSAValue)
    assert isinstance(em.div(x, 3), SSAValue)
    assert isinstance(em.equal(x, 0), SSAValue)


def test_one_iteration_loop_is_inline():
    em, t = emitter_in_loop(3, 4)
    assert t == 3  # the body got the constant index


expressions = st.recursive(
    st.one_of(st.just("t"), st.integers(-20, 20)),
    lambda inner: st.tuples(st.sampled_from(["add", "mul", "min", "max", "div", "mod"]), inner, st.integers(-20, 20)),
    max_leaves=6,
)


def build(em: Emitter, expr, t):
    if expr == "t":
        return t
    if isinstance(expr, int):
        return expr
    kind, inner, k = expr
    x = build(em, inner, t)
    if kind in ("div", "mod"):  # defined for non-negative values by positive divisors
        x = em.max(x, 0)
        return getattr(em, kind)(x, abs(k) or 1)
    return getattr(em, kind)(x, k)


def reference(expr, t: int) -> int:
    if expr == "t":
        return t
    if isinstance(expr, int):
        return expr
    kind, inner, k = expr
    x = reference(inner, t)
    if kind in ("div", "mod"):
        x = max(x, 0)
        return x // (abs(k) or 1) if kind == "div" else x % (abs(k) or 1)
    return {"add": x + k, "mul": x * k, "min": min(x, k), "max": max(x, k)}[kind]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(expressions, st.integers(-5, 5), st.integers(1, 8))
def test_folded_arithmetic_computes_the_same(expr, lower, trips):
    em, t = emitter_in_loop(lower, lower + trips)
    result = build(em, expr, t)
    lo, hi = em.range(result)
    for value in range(lower, lower + trips):
        want = reference(expr, value)
        got = evaluate(em, result, t, value)
        assert got == want, (expr, value)
        assert lo <= want <= hi, (expr, value, (lo, hi))
