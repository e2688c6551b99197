"""Print the totals of a `tiler-opt --tile-report` JSON file in one line."""

import json
import sys

total = json.load(open(sys.argv[1]))["total"]
print(
    f"DMA {total['dma_bytes']:,} B = {total['dma_bytes'] / total['lower_bound_bytes']:.2f}x the compulsory "
    f"{total['lower_bound_bytes']:,} B; {total['est_cycles']:,} est. cycles; solved in {total['compile_seconds']} s"
)
