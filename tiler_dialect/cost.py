"""Parameters of the cost model the tiler minimises (docs/cost_model.md explains it).

- A link between two neighbouring levels moves `bandwidth` bytes per cycle after a fixed
  `latency` in cycles per transfer (programming the DMA, first beat).
- Compute runs `macs_per_cycle` multiply-accumulates per cycle for contractions (conv,
  gemm, matmul) and `elements_per_cycle` iteration points per cycle for every other op;
  each tile costs `tile_overhead` cycles more (kernel call, loop control).

Defaults model a PULP-style cluster: an 8-core compute level fed by a 64-bit cluster DMA
(8 B/cycle, ~30 cycles per transfer), and a slow off-chip interface on links further
away (2 B/cycle, ~200 cycles per transfer). Any of them can be overridden in the
hierarchy file.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class LinkCost:
    bandwidth: int
    """Bytes per cycle."""
    latency: int
    """Cycles per transfer."""

    def __post_init__(self) -> None:
        if self.bandwidth < 1 or self.latency < 0:
            raise ValueError(f"a link needs bandwidth >= 1 byte/cycle and latency >= 0, got {self}")


@dataclass(frozen=True)
class ComputeRates:
    macs_per_cycle: int = 8
    elements_per_cycle: int = 8
    tile_overhead: int = 100

    def __post_init__(self) -> None:
        if self.macs_per_cycle < 1 or self.elements_per_cycle < 1 or self.tile_overhead < 0:
            raise ValueError(f"compute rates must be positive (overhead non-negative), got {self}")

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


NEAR_LINK = LinkCost(bandwidth=8, latency=30)
"""Default for a link that touches the compute level."""

FAR_LINK = LinkCost(bandwidth=2, latency=200)
"""Default for any other link."""
