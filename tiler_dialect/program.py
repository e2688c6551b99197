"""The shape of a tiler program: one `func.func @main` in a module, whose arguments and
results are the graph's inputs and outputs."""

from __future__ import annotations

from xdsl.dialects import func, memref
from xdsl.dialects.builtin import ModuleOp
from tiler_dialect.errors import TilerError


class ProgramError(TilerError):
    """The module is not a tiler program (no single @main)."""


def main_function(module: ModuleOp) -> func.FuncOp:
    """The module's `@main`; ProgramError unless there is exactly one, at the module's top
    level (the passes insert globals and arenas beside it)."""
    funcs = [op for op in module.walk() if isinstance(op, func.FuncOp) and op.sym_name.data == "main"]
    if len(funcs) != 1:
        raise ProgramError(
            f"the module must define exactly one function @main, it defines {len(funcs)}"
        )
    if funcs[0].parent_op() is not module:
        raise ProgramError("@main must be defined at the top level of the module, not in a nested one")
    if not funcs[0].body.blocks:
        raise ProgramError("@main is a declaration: it has no body")
    return funcs[0]


def check_defined_before_use(module: ModuleOp) -> None:
    """Every operand is defined before its use: by an earlier op of an enclosing block or
    as an enclosing block's argument; and every `memref.get_global` names a global of the
    module. xDSL's verifier checks neither, and IR edited by hand can break both; the
    passes and the executor walk programs in order and need them. Regions of several
    blocks (unstructured control flow) are not checked for order here."""
    globals_ = {op.sym_name.data for op in module.body.block.ops if isinstance(op, memref.GlobalOp)}
    for op in module.walk():
        if isinstance(op, memref.GetGlobalOp) and op.name_.root_reference.data not in globals_:
            raise ProgramError(f"memref.get_global @{op.name_.root_reference.data} names no memref.global of the module")
    defined: set[int] = set()

    def visit_block(block) -> None:
        added = [id(a) for a in block.args]
        defined.update(added)
        for op in block.ops:
            for i, operand in enumerate(op.operands):
                if id(operand) not in defined:
                    owner = operand.owner
                    what = f"%{operand.name_hint}" if operand.name_hint else f"result of {getattr(owner, 'name', 'a block')}"
                    raise ProgramError(f"{op.name}: operand #{i} ({what}) is used before it is defined")
            for region in op.regions:
                if len(region.blocks) == 1:  # a CFG (several blocks) needs dominator trees: trusted
                    visit_block(region.blocks[0])
            for r in op.results:
                defined.add(id(r))
                added.append(id(r))
        defined.difference_update(added)

    for block in module.body.blocks:
        visit_block(block)
