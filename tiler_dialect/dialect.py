"""The `tiler` dialect object that xDSL contexts load."""

from xdsl.ir import Dialect

from tiler_dialect.attributes import (
    LinkCostAttr,
    MemoryHierarchyAttr,
    MemoryLevelAttr,
    MemorySpaceAttr,
)
from tiler_dialect.ops import ALL_OPS
from tiler_dialect.schedule import LevelScheduleAttr, ScheduleAttr

Tiler = Dialect(
    "tiler",
    ALL_OPS,
    [MemorySpaceAttr, MemoryLevelAttr, MemoryHierarchyAttr, LinkCostAttr, ScheduleAttr, LevelScheduleAttr],
)
