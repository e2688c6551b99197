"""Entry point (`xdsl.universe`) that lets plain `xdsl-opt` parse tiler IR and run its passes.

Factories import lazily, as xDSL's own registry does, so that discovering the universe
costs nothing until the dialect or a pass is used.
"""

from xdsl.universe import Universe


def _dialect():
    from tiler_dialect.dialect import Tiler

    return Tiler


def _set_memory_hierarchy():
    from tiler_passes.set_memory_hierarchy import SetMemoryHierarchyPass

    return SetMemoryHierarchyPass


def _allocate():
    from tiler_passes.allocate import AllocatePass

    return AllocatePass


def _tile():
    from tiler_passes.tile import TilePass

    return TilePass


def _choose_tiles():
    from tiler_passes.choose_tiles import ChooseTilesPass

    return ChooseTilesPass


def _apply_tiles():
    from tiler_passes.apply_tiles import ApplyTilesPass

    return ApplyTilesPass


def _multi_buffer():
    from tiler_passes.multi_buffer import MultiBufferPass

    return MultiBufferPass


def _lower_tiler():
    from tiler_passes.lower_tiler import LowerTilerPass

    return LowerTilerPass


TILER_UNIVERSE = Universe(
    all_dialects={"tiler": _dialect},
    all_passes={
        "set-memory-hierarchy": _set_memory_hierarchy,
        "choose-tiles": _choose_tiles,
        "apply-tiles": _apply_tiles,
        "multi-buffer": _multi_buffer,
        "tile": _tile,
        "allocate": _allocate,
        "lower-tiler": _lower_tiler,
    },
)
