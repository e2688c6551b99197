"""The `tiler` dialect object that xDSL contexts load."""

from xdsl.ir import Dialect

from tiler_dialect.attributes import MemoryHierarchyAttr, MemoryLevelAttr, MemorySpaceAttr
from tiler_dialect.ops import ALL_OPS

Tiler = Dialect("tiler", list(ALL_OPS), [MemorySpaceAttr, MemoryLevelAttr, MemoryHierarchyAttr])
