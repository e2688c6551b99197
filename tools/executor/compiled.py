"""Scalar code as Python: a function's blocks and `scf` loops translated to Python source.

The IR convert-linalg-to-loops and convert-scf-to-cf leave computes one element per op.
xDSL's interpreter runs it, but looks every operand up in scoped dictionaries and
dispatches every op by its class: about 2 ms per multiply-accumulate, hours for a real
network. Here the function becomes one Python function instead: SSA values are its local
variables, index arithmetic, `affine.apply`, element-wise arith and `memref.load`/`store`
are Python expressions on ints and numpy scalars (so they compute in the IR's element types,
like the numpy kernels), `scf.for`/`scf.if` are Python loops and branches, and the blocks of
a control-flow graph are dispatched by number in one loop (a block with a single
predecessor is inlined where it is branched to, so a loop costs one dispatch per
iteration). Every other op (subviews, allocations, DMA, tiler ops, math) runs through the
interpreter's own implementation of it, so there is one definition of what each op does.

Loads and stores check their indices against the memref's shape (numpy would wrap a
negative index around silently).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from xdsl.dialects import affine, arith, cf, func, memref, scf
from xdsl.dialects.builtin import (
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
)
from xdsl.interpreter import Interpreter
from xdsl.ir import Block, Operation, SSAValue
from xdsl.traits import IsTerminator
from xdsl.ir.affine import AffineBinaryOpExpr, AffineBinaryOpKind, AffineConstantExpr, AffineDimExpr, AffineExpr, AffineSymExpr

from tiler_dialect.naming import op_label
from tiler_tools.executor.elementwise import KERNELS, apply_kernel, dtype_of
from tiler_tools.executor.errors import ExecutionError

# Python's parser refuses code indented more than 100 levels; a chain of branches deeper
# than this is dispatched instead of inlined
_MAX_INLINE_DEPTH = 48

_STRUCTURED = (scf.ForOp, scf.IfOp)


def can_compile(function: func.FuncOp) -> bool:
    """Whether every op in the function is one this module can place: ops with regions
    only as scf.for and scf.if (a linalg op's body is evaluated on arrays instead)."""
    for op in function.body.walk():
        if op.regions and not isinstance(op, _STRUCTURED):
            return False
    return True


def _element(op: Operation, args: tuple[Any, ...]) -> Any:
    return apply_kernel(op, list(args))[()]


def _divsi(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def _remsi(a: int, b: int) -> int:
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _is_index_like(t: Any) -> bool:
    return isinstance(t, IndexType) or (isinstance(t, IntegerType) and t.width.data == 1)


_INDEX_BINARY = {
    arith.AddiOp: "({0} + {1})",
    arith.SubiOp: "({0} - {1})",
    arith.MuliOp: "({0} * {1})",
    arith.FloorDivSIOp: "({0} // {1})",
    arith.CeilDivSIOp: "(-(-{0} // {1}))",
    arith.DivSIOp: "_divsi({0}, {1})",
    arith.RemSIOp: "_remsi({0}, {1})",
    arith.MinSIOp: "({0} if {0} < {1} else {1})",
    arith.MaxSIOp: "({0} if {0} > {1} else {1})",
    arith.AndIOp: "({0} & {1})",
    arith.OrIOp: "({0} | {1})",
    arith.XOrIOp: "({0} ^ {1})",
}

_FLOAT_BINARY = {
    arith.AddfOp: "({0} + {1})",
    arith.SubfOp: "({0} - {1})",
    arith.MulfOp: "({0} * {1})",
    arith.DivfOp: "({0} / {1})",
    # NaN-propagating, like np.maximum / np.minimum
    arith.MaximumfOp: "({0} if {0} > {1} or {0} != {0} else {1})",
    arith.MinimumfOp: "({0} if {0} < {1} or {0} != {0} else {1})",
}

# signed predicates of arith.cmpi (unsigned ones run through the interpreter)
_CMPI = {0: "==", 1: "!=", 2: "<", 3: "<=", 4: ">", 5: ">="}

_AFFINE = {
    AffineBinaryOpKind.Add: "({0} + {1})",
    AffineBinaryOpKind.Mul: "({0} * {1})",
    AffineBinaryOpKind.Mod: "({0} % {1})",
    AffineBinaryOpKind.FloorDiv: "({0} // {1})",
    AffineBinaryOpKind.CeilDiv: "(-(-{0} // {1}))",
}


class _Source:
    """Lines of Python, each with its indentation and the op it runs, if one may fail."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str, Operation | None]] = []

    def add(self, depth: int, text: str, op: Operation | None = None) -> None:
        self.lines.append((depth, text, op))

    def extend(self, other: _Source, shift: int) -> None:
        self.lines.extend((d + shift, t, op) for d, t, op in other.lines)

    def text(self) -> str:
        return "\n".join("    " * d + t for d, t, _ in self.lines) + "\n"

    def ops_by_line(self) -> dict[int, Operation]:
        return {n: op for n, (_, _, op) in enumerate(self.lines, start=1) if op is not None}


class _Translator:
    def __init__(self, function: func.FuncOp):
        self.function = function
        self.names: dict[SSAValue, str] = {}
        self.constants: dict[str, Any] = {}
        self.ops: list[Operation] = []  # ops run by the interpreter, by position
        blocks = list(function.body.blocks)
        self.predecessors: dict[Block, int] = {b: 0 for b in blocks}
        for b in blocks:
            last = b.last_op
            if last is not None:
                for s in last.successors:
                    self.predecessors[s] += 1
        self.dispatch: dict[Block, int] = {}
        self.pending: list[Block] = []
        self._dispatched(blocks[0])

    # -- names -------------------------------------------------------------------------

    def name(self, value: SSAValue) -> str:
        if value not in self.names:
            self.names[value] = f"v{len(self.names)}"
        return self.names[value]

    def names_of(self, values: Any) -> list[str]:
        return [self.name(v) for v in values]

    def constant(self, value: Any) -> str:
        name = f"c{len(self.constants)}"
        self.constants[name] = value
        return name

    def op_ref(self, op: Operation) -> str:
        self.ops.append(op)
        return f"_ops[{len(self.ops) - 1}]"

    def _dispatched(self, block: Block) -> int:
        if block not in self.dispatch:
            self.dispatch[block] = len(self.dispatch)
            self.pending.append(block)
        return self.dispatch[block]

    # -- ops -----------------------------------------------------------------------------

    def expression(self, op: Operation) -> str | None:
        """A Python expression for the op's single result, or None to run it otherwise."""
        if len(op.results) != 1:
            return None
        t = op.results[0].type
        args = self.names_of(op.operands)
        if isinstance(op, arith.ConstantOp):
            value = op.value
            if isinstance(value, IntegerAttr) and isinstance(t, IndexType):
                return str(int(value.value.data))
            if isinstance(value, IntegerAttr) and _is_index_like(t):
                return str(bool(value.value.data))
            if isinstance(value, IntegerAttr | FloatAttr):
                return self.constant(dtype_of(t).type(value.value.data))
            return None
        if type(op) in _INDEX_BINARY and _is_index_like(t):
            if isinstance(op, arith.AndIOp | arith.OrIOp | arith.XOrIOp) or isinstance(t, IndexType):
                return _INDEX_BINARY[type(op)].format(*args)
        if type(op) in _FLOAT_BINARY and not isinstance(t, IndexType | IntegerType):
            return _FLOAT_BINARY[type(op)].format(*args)
        if isinstance(op, arith.NegfOp):
            return f"(-{args[0]})"
        if isinstance(op, arith.CmpiOp) and op.predicate.value.data in _CMPI:
            if _is_index_like(op.lhs.type):
                return f"({args[0]} {_CMPI[op.predicate.value.data]} {args[1]})"
        if isinstance(op, arith.SelectOp) and _is_index_like(op.cond.type):
            return f"({args[1]} if {args[0]} else {args[2]})"
        if isinstance(op, arith.IndexCastOp) and isinstance(t, IndexType):
            return f"int({args[0]})"
        if isinstance(op, arith.SIToFPOp | arith.ExtFOp | arith.TruncFOp):
            return f"{self.constant(dtype_of(t).type)}({args[0]})"
        if isinstance(op, affine.ApplyOp):
            m = op.map.data
            if len(m.results) == 1:
                return self.affine(m.results[0], args[: m.num_dims], args[m.num_dims :])
        if isinstance(op, memref.LoadOp):
            return f"{args[0]}[{self.index_tuple(args[1:])}]"
        if type(op) in KERNELS and isinstance(t, IntegerType) and not _is_index_like(t):
            # integers of a width: numpy's, in the result type (xDSL's arith would compute
            # on unbounded Python ints, its signless results unsigned)
            return f"_element({self.op_ref(op)}, ({self.index_tuple(args)}))"
        return None

    def affine(self, e: AffineExpr, dims: list[str], symbols: list[str]) -> str:
        if isinstance(e, AffineDimExpr):
            return dims[e.position]
        if isinstance(e, AffineSymExpr):
            return symbols[e.position]
        if isinstance(e, AffineConstantExpr):
            return str(e.value)
        assert isinstance(e, AffineBinaryOpExpr)
        return _AFFINE[e.kind].format(self.affine(e.lhs, dims, symbols), self.affine(e.rhs, dims, symbols))

    @staticmethod
    def index_tuple(indices: list[str]) -> str:
        if not indices:
            return "()"
        return ", ".join(indices) + ("," if len(indices) == 1 else "")

    def negative_check(self, out: _Source, depth: int, op: Operation, indices: list[str]) -> None:
        """numpy refuses indices past a dim's end (IndexError, reported with the op) but
        counts negative ones from the end: those are refused here, all in one test (the
        bitwise or of ints is negative when one of them is)."""
        if indices:
            out.add(depth, f"if ({' | '.join(indices)}) < 0:")
            out.add(depth + 1, f"raise IndexError(f'negative index {{[{', '.join(indices)}]}}')", op)

    def op(self, out: _Source, depth: int, op: Operation) -> None:
        if isinstance(op, memref.LoadOp):
            self.negative_check(out, depth, op, self.names_of(op.indices))
        expression = self.expression(op)
        if expression is not None:
            out.add(depth, f"{self.name(op.results[0])} = {expression}", op)
            return
        if isinstance(op, memref.StoreOp):
            indices = self.names_of(op.indices)
            self.negative_check(out, depth, op, indices)
            out.add(depth, f"{self.name(op.memref)}[{self.index_tuple(indices)}] = {self.name(op.value)}", op)
            return
        if isinstance(op, scf.ForOp):
            self.for_loop(out, depth, op)
            return
        if isinstance(op, scf.IfOp):
            self.if_else(out, depth, op)
            return
        call = f"_run({self.op_ref(op)}, ({self.index_tuple(self.names_of(op.operands))}))"
        if op.results:
            out.add(depth, f"{self.index_tuple(self.names_of(op.results))} = {call}")
        else:
            out.add(depth, call)

    def assign(self, out: _Source, depth: int, targets: Any, values: Any) -> None:
        t, v = self.names_of(targets), self.names_of(values)
        if t:
            out.add(depth, f"{', '.join(t)} = {', '.join(v)}")

    def region_ops(self, out: _Source, depth: int, block: Block) -> Operation:
        """The block's ops up to its terminator, which is returned."""
        for op in block.ops:
            if op is block.last_op and op.has_trait(IsTerminator):
                return op
            self.op(out, depth, op)
        raise ExecutionError(f"a block of {self.function.sym_name.data} has no terminator")

    def for_loop(self, out: _Source, depth: int, op: scf.ForOp) -> None:
        body = op.body.block
        iv, *carried = body.args
        self.assign(out, depth, carried, op.iter_args)
        lb, ub, step = self.names_of((op.lb, op.ub, op.step))
        out.add(depth, f"for {self.name(iv)} in range({lb}, {ub}, {step}):")
        out.add(depth + 1, "pass")
        terminator = self.region_ops(out, depth + 1, body)
        self.assign(out, depth + 1, carried, terminator.operands)
        self.assign(out, depth, op.results, carried)

    def if_else(self, out: _Source, depth: int, op: scf.IfOp) -> None:
        out.add(depth, f"if {self.name(op.cond)}:")
        out.add(depth + 1, "pass")
        self.assign(out, depth + 1, op.results, self.region_ops(out, depth + 1, op.true_region.block).operands)
        if op.false_region.blocks:
            out.add(depth, "else:")
            out.add(depth + 1, "pass")
            self.assign(out, depth + 1, op.results, self.region_ops(out, depth + 1, op.false_region.block).operands)

    # -- blocks --------------------------------------------------------------------------

    def block(self, out: _Source, depth: int, block: Block) -> None:
        terminator = self.region_ops(out, depth, block)
        if isinstance(terminator, cf.BranchOp):
            self.jump(out, depth, terminator.successor, terminator.arguments)
        elif isinstance(terminator, cf.ConditionalBranchOp):
            out.add(depth, f"if {self.name(terminator.cond)}:")
            self.jump(out, depth + 1, terminator.then_block, terminator.then_arguments)
            out.add(depth, "else:")
            self.jump(out, depth + 1, terminator.else_block, terminator.else_arguments)
        elif isinstance(terminator, func.ReturnOp):
            out.add(depth, f"_returning({self.op_ref(terminator)})")
            values = self.names_of(terminator.arguments)
            out.add(depth, f"return ({self.index_tuple(values)})")
        else:
            raise ExecutionError(f"{terminator.name} is not supported by the executor")

    def jump(self, out: _Source, depth: int, target: Block, arguments: Any) -> None:
        self.assign(out, depth, target.args, arguments)
        if target in self.dispatch or self.predecessors[target] != 1 or depth > _MAX_INLINE_DEPTH:
            out.add(depth, f"_block = {self._dispatched(target)}")
            out.add(depth, "continue")
        else:
            self.block(out, depth, target)

    def source(self) -> _Source:
        bodies: dict[int, _Source] = {}
        while self.pending:
            block = self.pending.pop()
            body = _Source()
            self.block(body, 0, block)
            bodies[self.dispatch[block]] = body
        out = _Source()
        params = self.names_of(self.function.body.blocks[0].args)
        out.add(0, f"def compiled({', '.join(params)}):")
        if len(bodies) == 1:
            out.add(1, "while True:")  # `continue` is never emitted: the loop runs once
            out.extend(bodies[0], 2)
        else:
            out.add(1, "_block = 0")
            out.add(1, "while True:")
            self._tree(out, 2, bodies, 0, len(bodies))
        return out

    def _tree(self, out: _Source, depth: int, bodies: dict[int, _Source], lo: int, hi: int) -> None:
        """Binary search over the dispatched blocks' numbers."""
        if hi - lo == 1:
            out.extend(bodies[lo], depth)
            return
        mid = (lo + hi) // 2
        out.add(depth, f"if _block < {mid}:")
        self._tree(out, depth + 1, bodies, lo, mid)
        out.add(depth, "else:")
        self._tree(out, depth + 1, bodies, mid, hi)


def compile_function(
    function: func.FuncOp, interpreter: Interpreter, returning: Callable[[Operation], None]
) -> Callable[..., tuple[Any, ...]]:
    """The function as a Python callable on the executor's values. Ops it does not
    translate run by `interpreter`'s implementations; `returning` is called with the
    func.return before the function returns. An op translated inline that fails raises
    ExecutionError naming the op."""
    translator = _Translator(function)
    source = translator.source()
    filename = f"<compiled @{function.sym_name.data}>"
    namespace: dict[str, Any] = dict(translator.constants)
    namespace.update(
        _ops=translator.ops, _run=interpreter.run_op, _returning=returning, _divsi=_divsi, _remsi=_remsi,
        _element=_element,
    )
    exec(compile(source.text(), filename, "exec"), namespace)
    compiled = namespace["compiled"]
    ops_by_line = source.ops_by_line()

    def run(*args: Any) -> tuple[Any, ...]:
        try:
            with np.errstate(all="ignore"):
                return compiled(*args)
        except (IndexError, ZeroDivisionError, TypeError, ValueError) as e:
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename != filename:
                tb = tb.tb_next
            while tb is not None and tb.tb_next is not None and tb.tb_next.tb_frame.f_code.co_filename == filename:
                tb = tb.tb_next
            op = ops_by_line.get(tb.tb_lineno) if tb is not None else None
            if op is None:
                raise
            raise ExecutionError(f"{op_label(op)}: {e}") from e

    return run
