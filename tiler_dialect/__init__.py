"""tiler: a memory-aware tiler for neural networks, as an xDSL dialect.

This package holds the IR: the memory hierarchy and its attributes, the compute ops with
their ONNX semantics, tiling descriptions and numpy kernels.
"""

from tiler_dialect import xdsl_fixes

xdsl_fixes.apply()  # before anything parses IR


from tiler_dialect.attributes import (  # noqa: E402
    HIERARCHY_ATTR_NAME,
    MemoryHierarchyAttr,
    MemoryLevelAttr,
    MemorySpaceAttr,
    hierarchy_of,
    memory_level_of,
)
from tiler_dialect.hierarchy import HierarchyError, MemoryHierarchy, MemoryLevel, parse_bytes
from tiler_dialect.tiling import IterDim, IterKind, OperandAccess, OutOfBounds, TilingDescription

__all__ = [
    "HIERARCHY_ATTR_NAME",
    "HierarchyError",
    "IterDim",
    "IterKind",
    "MemoryHierarchy",
    "MemoryHierarchyAttr",
    "MemoryLevel",
    "MemoryLevelAttr",
    "MemorySpaceAttr",
    "OperandAccess",
    "OutOfBounds",
    "TilingDescription",
    "hierarchy_of",
    "memory_level_of",
    "parse_bytes",
]
