"""Check a --tile-report: no level cuts the smallest enclosing tile into empty tiles.

    python no_empty_tiles.py REPORT.json D0,D1,...   (the first op's iteration dims)

Per level, from home down: every dim's tile count must be at most the extent of the
smallest enclosing tile (floor division, as balanced splits go), which becomes
floor(extent / count) for the next level. Prints the smallest tiles of the compute level
and the offending (level, dim) pairs, if any."""

import json
import sys

levels = json.load(open(sys.argv[1]))["ops"][0]["levels"]
smallest = [int(s) for s in sys.argv[2].split(",")]
empty = []
for level in levels:
    counts = level["counts"]
    assert len(counts) == len(smallest), (counts, smallest)
    empty += [(level["level"], d) for d, (n, e) in enumerate(zip(counts, smallest)) if n > e]
    smallest = [e // n for n, e in zip(counts, smallest)]
print("smallest tiles", smallest, "empty", empty)
