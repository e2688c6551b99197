"""Print each level's arena from a `tiler-opt --memory-map` JSON file, one line per level."""

import json
import sys

for name, level in json.load(open(sys.argv[1]))["levels"].items():
    arena, bound = level["arena_bytes"], level["lower_bound_bytes"]
    print(
        f"{name}: arena {arena:,} B for {len(level['blocks'])} buffers = {arena / bound:.3f}x the lower bound "
        f"{bound:,} B (most bytes live at once); capacity {level['capacity']:,} B"
    )
