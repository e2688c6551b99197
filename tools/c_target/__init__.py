"""The C target: the allocated IR as one C99 file, its header and a small DMA runtime
(docs/c_target.md)."""

from tiler_tools.c_target.emit import CProgram, CTargetError, emit_c

__all__ = ["CProgram", "CTargetError", "emit_c"]
