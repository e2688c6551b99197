"""Asynchronous DMA with hazard detection.

A transfer started by `tiler.dma_start` lands in its target only when the matching
`tiler.dma_wait` runs, at an unknown time in between on real hardware. So while it is in
flight the executor forbids, and reports as a hazard naming the ops involved:

- reading its target (read before wait), by a compute op or another transfer;
- writing its source or target (overwrite while in flight);
- starting a second transfer on the same tag before the first was waited on;
- leaving the function with transfers in flight.

Copying at wait time is exact for every program free of these hazards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Operation

from tiler_tools.executor.errors import ExecutionError


def describe(op: Operation) -> str:
    name = op.attributes.get("tiler.name")
    return f"{op.name} '{name.data}'" if isinstance(name, StringAttr) else op.name


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    return np.may_share_memory(a, b) and np.shares_memory(a, b)


@dataclass
class Transfer:
    op: Operation
    source: np.ndarray
    target: np.ndarray


@dataclass
class DmaEngine:
    in_flight: dict[tuple[int, int], Transfer] = field(default_factory=dict)
    transfers: int = 0
    bytes_moved: int = 0

    def _hazard(self, op: Operation, what: str, other: Transfer, doing: str) -> ExecutionError:
        return ExecutionError(
            f"DMA hazard: {describe(op)} {what} a buffer that {describe(other.op)} is still "
            f"{doing} (no dma_wait yet)"
        )

    def check_read(self, op: Operation, array: np.ndarray) -> None:
        for t in self.in_flight.values():
            if _overlap(array, t.target):
                raise self._hazard(op, "reads", t, "writing")

    def check_write(self, op: Operation, array: np.ndarray) -> None:
        for t in self.in_flight.values():
            if _overlap(array, t.target):
                raise self._hazard(op, "overwrites", t, "writing")
            if _overlap(array, t.source):
                raise self._hazard(op, "overwrites", t, "reading")

    def start(self, op: Operation, tag: tuple[int, int], source: np.ndarray, target: np.ndarray) -> None:
        if tag in self.in_flight:
            raise ExecutionError(
                f"{describe(op)} starts a transfer on tag {list(tag)}, whose previous transfer by "
                f"{describe(self.in_flight[tag].op)} was not waited on"
            )
        if source.shape != target.shape:
            raise ExecutionError(
                f"{describe(op)} copies shape {list(source.shape)} into shape {list(target.shape)}"
            )
        self.check_read(op, source)
        self.check_write(op, target)
        self.in_flight[tag] = Transfer(op, source, target)
        self.transfers += 1
        self.bytes_moved += source.nbytes

    def wait(self, tag: tuple[int, int]) -> None:
        transfer = self.in_flight.pop(tag, None)
        if transfer is not None:
            transfer.target[...] = transfer.source

    def check_idle(self, op: Operation) -> None:
        if self.in_flight:
            t = next(iter(self.in_flight.values()))
            raise ExecutionError(f"{describe(op)}: {describe(t.op)} is still in flight at the end of the function")
