"""Asynchronous DMA with hazard detection, for `memref.dma_start` / `memref.dma_wait`
(semantics in tiler_dialect.dma).

A transfer started by `dma_start` lands in its target only when the matching `dma_wait`
runs, at an unknown time in between on real hardware. So while it is in flight the
executor forbids, and reports as a hazard naming the ops involved:

- reading its target (read before wait), by a compute op or another transfer;
- writing its source or target (overwrite while in flight);
- starting a second transfer on the same tag before the first was waited on;
- leaving the function with transfers in flight.

Copying at wait time is exact for every program free of these hazards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.ir import Operation

from tiler_dialect.naming import op_label
from tiler_tools.executor.errors import ExecutionError


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    return np.may_share_memory(a, b) and np.shares_memory(a, b)


@dataclass
class Transfer:
    op: Operation
    source: np.ndarray
    target: np.ndarray
    source_index: tuple | None = None
    """Fancy indices of the elements moved, when they are not the whole views."""
    target_index: tuple | None = None

    def land(self) -> None:
        if self.source_index is None:
            self.target[...] = self.source.reshape(self.target.shape)
        else:
            self.target[self.target_index] = self.source[self.source_index]


def _run(view: np.ndarray, start: tuple[int, ...], count: int, what: str, op: Operation) -> tuple | None:
    """The elements `count` from `start` in row-major order of `view`'s indices, as fancy
    indices; None when that is the whole view."""
    if len(start) != view.ndim:
        raise ExecutionError(f"{op_label(op)}: {len(start)} {what} indices for a rank-{view.ndim} memref")
    first = int(np.ravel_multi_index(start, view.shape)) if view.size else 0
    if first == 0 and count == view.size:
        return None
    if count < 0 or first + count > view.size:
        raise ExecutionError(
            f"{op_label(op)}: {count} elements from {list(start)} run past the {what} memref's {view.size} elements"
        )
    return np.unravel_index(np.arange(first, first + count), view.shape)


@dataclass
class DmaEngine:
    in_flight: dict[tuple[int, int], Transfer] = field(default_factory=dict)
    transfers: int = 0
    bytes_moved: int = 0

    def _hazard(self, op: Operation, what: str, other: Transfer, doing: str) -> ExecutionError:
        return ExecutionError(
            f"DMA hazard: {op_label(op)} {what} a buffer that {op_label(other.op)} is still "
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

    def start(
        self, op: Operation, tag: tuple, source: np.ndarray, source_start: tuple[int, ...],
        target: np.ndarray, target_start: tuple[int, ...], count: int,
    ) -> None:
        if tag in self.in_flight:
            raise ExecutionError(
                f"{op_label(op)} starts a transfer on tag {list(tag[1:])}, whose previous transfer by "
                f"{op_label(self.in_flight[tag].op)} was not waited on"
            )
        if source.dtype != target.dtype:
            raise ExecutionError(f"{op_label(op)} copies {source.dtype} into {target.dtype}")
        source_index = _run(source, source_start, count, "source", op)
        target_index = _run(target, target_start, count, "destination", op)
        if (source_index is None) != (target_index is None) or (source_index is None and source.size != target.size):
            if source_index is None:
                source_index = np.unravel_index(np.arange(count), source.shape)
            if target_index is None:
                target_index = np.unravel_index(np.arange(count), target.shape)
        self.check_read(op, source)
        self.check_write(op, target)
        self.in_flight[tag] = Transfer(op, source, target, source_index, target_index)
        self.transfers += 1
        self.bytes_moved += count * source.itemsize

    def wait(self, tag: tuple) -> None:
        transfer = self.in_flight.pop(tag, None)
        if transfer is not None:
            transfer.land()

    def check_idle(self, op: Operation) -> None:
        if self.in_flight:
            t = next(iter(self.in_flight.values()))
            raise ExecutionError(f"{op_label(op)}: {op_label(t.op)} is still in flight at the end of the function")
