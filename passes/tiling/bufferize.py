"""From tensors to memrefs, tiling every compute op on the way.

The function keeps its signature's shapes, levels and names, with memrefs for tensors:
weights become `memref.global` constants read with `memref.get_global`; each compute op's
result becomes a `memref.alloc` in its home level, filled by the op's tiled loop nest
(`codegen.py`); reshape views stay views; each allocation is freed after its last use,
which gives the allocator its lifetimes.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects import arith, func, memref
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FunctionType,
    MemRefType,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
)
from xdsl.ir import Block, Operation, SSAValue
from xdsl.transforms.dead_code_elimination import region_dce
from tiler_dialect.naming import identifier
from tiler_dialect.errors import TilerPassFailed

from tiler_dialect.attributes import hierarchy_of, memory_level_of
from tiler_dialect.ops import NAME_ATTR, ReshapeOp, TilerOp
from tiler_passes.tiling.codegen import OpCodegen, kept_attributes
from tiler_passes.tiling.emit import Emitter
from tiler_dialect.schedule import OpTiling

ChooseTiling = Callable[[TilerOp, str], OpTiling | None]
"""For a compute op and its name: its schedule, or None to compute it in place (when its
home is the compute level)."""


def memref_of(t: TensorType | MemRefType) -> MemRefType:
    if isinstance(t, MemRefType):
        return t
    return MemRefType(t.element_type, list(t.get_shape()), memory_space=t.encoding)


def op_name(op: Operation, counter: dict[str, int]) -> str:
    attr = op.attributes.get(NAME_ATTR)
    if isinstance(attr, StringAttr) and attr.data:
        return attr.data
    kind = op.name.removeprefix("tiler.")
    counter[kind] = counter.get(kind, 0) + 1
    return f"{kind}{counter[kind]}"


def bufferize_and_tile(module: ModuleOp, main: func.FuncOp, choose: ChooseTiling) -> None:
    b = _Bufferizer(module, main, choose)
    for op in main.body.block.ops:
        if isinstance(op, arith.ConstantOp) and isinstance(op.result.type, TensorType):
            b.constant(op)
        elif isinstance(op, TilerOp) and op.IS_VIEW:
            b.view(op)
        elif isinstance(op, TilerOp):
            b.compute(op)
        elif isinstance(op, func.ReturnOp):
            b.return_(op)
        else:
            raise TilerPassFailed(f"the tile pass cannot rewrite {op.name}; it expects imported tiler IR")
    b.finish()


class _Bufferizer:
    """@main rewritten op by op into a new block on memrefs: constants become globals,
    views stay views, each compute op gets its result buffer and its loop nest (or runs
    in place where it lives), activations are freed after their last use."""

    def __init__(self, module: ModuleOp, main: func.FuncOp, choose: ChooseTiling):
        self.module, self.main, self.choose = module, main, choose
        old = main.body.block
        self.new = Block(arg_types=[memref_of(a.type) for a in old.args])  # type: ignore[arg-type]
        self.values: dict[SSAValue, SSAValue] = {}
        for a, b in zip(old.args, self.new.args):
            b.name_hint = a.name_hint
            self.values[a] = b
        self.em = Emitter(self.new)
        self.globals: list[memref.GlobalOp] = []
        self.symbols: set[str] = set()
        self.counter: dict[str, int] = {}
        self.compute_level = hierarchy_of(module).computeName
        self.activations: list[SSAValue] = []
        self.roots: dict[SSAValue, SSAValue] = {}  # a view -> the buffer it views
        self.ends: dict[SSAValue, Operation] = {}  # buffer -> last op of its last user's loop nest
        self.returned: set[SSAValue] = set()

    def constant(self, op: arith.ConstantOp) -> None:
        value = op.value
        assert isinstance(value, DenseIntOrFPElementsAttr)
        t = memref_of(op.result.type)  # type: ignore[arg-type]
        sym = _symbol(op.result.name_hint or op_name(op, self.counter), self.symbols)
        initial = DenseIntOrFPElementsAttr(TensorType(t.element_type, t.get_shape()), value.data)
        g = memref.GlobalOp.get(StringAttr(sym), t, initial, constant=UnitAttr())
        if NAME_ATTR in op.attributes:
            g.attributes[NAME_ATTR] = op.attributes[NAME_ATTR]
        self.globals.append(g)
        got = self.em.emit(memref.GetGlobalOp(sym, t))
        got.results[0].name_hint = op.result.name_hint
        self.values[op.result] = got.results[0]

    def view(self, op: TilerOp) -> None:
        source = self.values[op.inputs[0]]
        view = self.em.emit(ReshapeOp([source], memref_of(op.res[0].type), attributes=dict(op.attributes)))  # type: ignore[arg-type]
        view.results[0].name_hint = op.res[0].name_hint
        self.values[op.res[0]] = view.results[0]
        self.roots[view.results[0]] = self.roots.get(source, source)

    def compute(self, op: TilerOp) -> None:
        name = op_name(op, self.counter)
        t = memref_of(op.res[0].type)  # type: ignore[arg-type]
        levels = {memory_level_of(v.type) for v in (*op.inputs, op.res[0])}
        if len(levels) != 1:
            raise TilerPassFailed(
                f"{op.display_name}: its operands live in different levels ({', '.join(sorted(map(str, levels)))}); "
                "tiling needs one home level per op"
            )
        alloc = self.em.emit(memref.AllocOp([], [], t))
        alloc.attributes[NAME_ATTR] = StringAttr(name)
        result = alloc.results[0]
        result.name_hint = op.res[0].name_hint
        self.activations.append(result)
        inputs = [self.values[v] for v in op.inputs]
        tiling = self.choose(op, name)
        if tiling is None:
            if levels != {self.compute_level}:
                raise TilerPassFailed(f"{op.display_name}: no schedule for an op outside the compute level")
            props = {k: v for k, v in op.properties.items() if k != "operandSegmentSizes"}
            self.em.emit(type(op)(inputs, outputs=[result], properties=props, attributes=kept_attributes(op)))
        else:
            OpCodegen(self.em, op, tiling, inputs, result, name).run()
        self.values[op.res[0]] = result
        # transfers of this op's nest are all waited for by its last op
        for v in (*inputs, result):
            self.ends[self.roots.get(v, v)] = self.new.last_op  # type: ignore[assignment]

    def return_(self, op: func.ReturnOp) -> None:
        results = [self.values[v] for v in op.arguments]
        self.returned.update(self.roots.get(v, v) for v in results)
        self.em.emit(func.ReturnOp(*results))

    def finish(self) -> None:
        """Free the activations, swap in the new block, retype @main, add the globals."""
        main, new = self.main, self.new
        _free_after_last_use(new, self.activations, self.ends, self.roots, self.returned)
        main.body.detach_block(main.body.block)
        main.body.add_block(new)
        region_dce(main.body)  # index arithmetic nothing ended up using
        main.function_type = FunctionType.from_lists(
            [a.type for a in new.args], [memref_of(t) for t in main.function_type.outputs.data]  # type: ignore[arg-type]
        )
        for g in self.globals:
            self.module.body.block.insert_op_before(g, main)


def _symbol(hint: str, taken: set[str]) -> str:
    base = identifier(hint, "const")
    name, i = base, 1
    while name in taken:
        name = f"{base}_{i}"
        i += 1
    taken.add(name)
    return name


def _free_after_last_use(
    block: Block,
    activations: list[SSAValue],
    ends: dict[SSAValue, Operation],
    roots: dict[SSAValue, SSAValue],
    returned: set[SSAValue],
) -> None:
    """memref.dealloc each activation after the loop nest of its last user (views count as
    uses of the buffer they view); returned buffers live on."""
    for buffer in activations:
        if buffer in returned:
            continue
        block.insert_op_after(memref.DeallocOp.get(buffer), ends[buffer])
