"""The reference's path to Google's MiniMalloc binary, kept for users who have it.

The blocks go to a CSV file (`id,lower,upper,size`), the tool runs as
`minimalloc --capacity=N --input=IN.csv --output=OUT.csv`, and the offsets come back in
the output's `offset` column. Unlike the reference, the returned offsets are checked for
alignment (the tool ignores it) and for overlaps by the caller.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import tempfile
from collections.abc import Sequence

from tiler_passes.allocation.blocks import AllocationError, Block, write_csv


def external_minimalloc(
    binary: str, blocks: Sequence[Block], capacity: int, work_dir: str | None, label: str
) -> list[int]:
    if not os.access(binary, os.X_OK):
        raise AllocationError(f"MINIMALLOC_INSTALL_DIR is set but {binary} is not an executable")
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        source = os.path.join(tmp, f"{label}_in.csv")
        target = os.path.join(tmp, f"{label}_out.csv")
        plain = [Block(b.id, b.lower, b.upper, b.size) for b in blocks]  # the tool's columns
        with open(source, "w") as f:
            f.write("\n".join(line.rsplit(",", 1)[0] for line in write_csv(plain, [0] * len(plain)).splitlines()) + "\n")
        done = subprocess.run(
            [binary, f"--capacity={capacity}", f"--input={source}", f"--output={target}"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not os.path.exists(target):
            raise AllocationError(f"{binary} failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        with open(target) as f:
            rows = list(csv.DictReader(io.StringIO(f.read())))
    by_id = {row["id"]: int(row["offset"]) for row in rows if "offset" in row}
    missing = [b.id for b in blocks if b.id not in by_id]
    if missing:
        raise AllocationError(f"{binary} returned no offset for {', '.join(missing[:5])}")
    return [by_id[b.id] for b in blocks]
