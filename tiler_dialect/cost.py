"""Parameters of the cost model the tiler minimises (docs/cost_model.md explains it).

- A link between two neighbouring levels moves `bandwidth` bytes per cycle after a fixed
  `latency` in cycles per transfer (programming the DMA, first beat).
- Compute runs `macs_per_cycle` multiply-accumulates per cycle for contractions (conv,
  gemm, matmul) on 32-bit data, `macs_per_cycle_16bit` and `macs_per_cycle_8bit` on
  narrower data (SIMD lanes hold more of them), and `elements_per_cycle` iteration
  points per cycle for every other op; each tile costs `tile_overhead` cycles more
  (kernel call, loop control).

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
    """Contractions on 32-bit (and wider) data."""
    macs_per_cycle_16bit: int = 16
    """Contractions whose data is 16-bit (int16, float16): two per SIMD lane."""
    macs_per_cycle_8bit: int = 32
    """Contractions whose data is 8-bit (int8, uint8): four per SIMD lane, as PULP's
    4-way dot-product instructions compute them."""
    elements_per_cycle: int = 8
    tile_overhead: int = 100

    def __post_init__(self) -> None:
        rates = (self.macs_per_cycle, self.macs_per_cycle_16bit, self.macs_per_cycle_8bit, self.elements_per_cycle)
        if min(rates) < 1 or self.tile_overhead < 0:
            raise ValueError(f"compute rates must be positive (overhead non-negative), got {self}")

    def macs_for(self, element_bytes: int) -> int:
        """MACs per cycle of a contraction whose data has elements of this many bytes."""
        if element_bytes == 1:
            return self.macs_per_cycle_8bit
        if element_bytes == 2:
            return self.macs_per_cycle_16bit
        return self.macs_per_cycle

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


NEAR_LINK = LinkCost(bandwidth=8, latency=30)
"""Default for a link that touches the compute level."""

FAR_LINK = LinkCost(bandwidth=2, latency=200)
"""Default for any other link."""
