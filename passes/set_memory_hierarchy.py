"""set-memory-hierarchy: attach a memory hierarchy to the module, or replace its own.

Options mirror tiler-opt's flags (`tiler_passes.options.HierarchyOptions`): `l1`, `l2`,
`l3` (bytes, e.g. 8192 or 8K; the L3 - L2 - L1 chain, levels not given keep their
documented defaults), `default-mem-level` (the home level graph tensors live in) and
`hierarchy-file` (a JSON hierarchy, for any other graph of levels).
When the home level changes, tensors that lived in the old home move to the new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Attribute
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriteWalker,
    TypeConversionPattern,
    attr_type_rewrite_pattern,
)
from tiler_dialect.errors import TilerPassFailed

from tiler_dialect.attributes import (
    HIERARCHY_ATTR_NAME,
    MemoryHierarchyAttr,
    MemorySpaceAttr,
    hierarchy_of,
    memory_level_of,
)
from tiler_dialect.hierarchy import HierarchyError, MemoryHierarchy
from tiler_passes.options import HierarchyOptions


@dataclass(frozen=True)
class SetMemoryHierarchyPass(HierarchyOptions, ModulePass):
    name = "set-memory-hierarchy"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        set_hierarchy(op, self)


def set_hierarchy(op: ModuleOp, options: HierarchyOptions) -> None:
    """Give `op` the hierarchy `options` describe, moving tensors of the old home level."""
    try:
        new = options.hierarchy()
    except HierarchyError as e:
        raise TilerPassFailed(f"invalid memory hierarchy: {e}") from None
    old_home = hierarchy_of(op).defaultName
    op.attributes[HIERARCHY_ATTR_NAME] = MemoryHierarchyAttr.from_hierarchy(new)
    if old_home != new.defaultName:
        PatternRewriteWalker(_MoveHome(old_home, new.defaultName)).rewrite_module(op)
    _check_levels_exist(op, new)


class _MoveHome(TypeConversionPattern):
    """Retype every value in level `old` to level `new` (tensor encodings, memref memory
    spaces, function signatures and constants alike)."""

    def __init__(self, old: str, new: str):
        super().__init__(recursive=True)
        self.old, self.new = old, new

    @attr_type_rewrite_pattern
    def convert_type(self, typ: MemorySpaceAttr) -> Attribute | None:
        return MemorySpaceAttr(self.new) if typ.level_name == self.old else None


def _check_levels_exist(module: ModuleOp, hierarchy: MemoryHierarchy) -> None:
    for inner in module.walk():
        for value in (*inner.results, *(a for r in inner.regions for b in r.blocks for a in b.args)):
            level = memory_level_of(value.type)
            if level is not None and level not in hierarchy.memoryLevels:
                raise TilerPassFailed(
                    f"the new hierarchy has no level \"{level}\", but {inner.name} uses it "
                    f"(levels: {', '.join(hierarchy.memoryLevels)})"
                )
