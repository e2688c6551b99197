"""tiler-malloc: the standalone static allocator, on MiniMalloc's CSV format.

    tiler-malloc IN.csv --capacity N -o OUT.csv [--strategy S] [--timeout SECONDS] [--lowest-peak]

IN.csv has `id,lower,upper,size` (and optionally `alignment`): buffer `id` is live on
[lower, upper) and needs `size` bytes. OUT.csv repeats them with an `offset` column. The
placement fits the capacity and is checked (alignment, no two live buffers overlapping)
before it is written. `--lowest-peak` then narrows the capacity to the lowest peak the
search finds (each probe within a node budget, so the answer does not depend on the
machine; `--timeout` bounds it all). Exit 0 with a summary on stderr; 1 when the instance is proved
infeasible, the time runs out, or the input is malformed (the message says which); 2 for
a bad command line.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tiler_passes.options import OptionError, check_seed, check_timeout

from tiler_passes.allocation.blocks import LIMIT, AllocationError, check_placement, lower_bound, peak, read_csv, write_csv
from tiler_passes.allocation.minimalloc import minimalloc, minimalloc_lowest_peak
from tiler_passes.allocation.strategies import place
from tiler_passes.options import ALLOCATION_STRATEGIES, DEFAULT_ALLOCATION_STRATEGY
from tiler_tools.diagnostics import checked_type
from tiler_passes.output_files import OutputFileError, OutputTransaction


def _capacity(value: int) -> int:
    if not 0 <= value < LIMIT:
        raise OptionError(f"the capacity must be a non-negative number of bytes below 2**60, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tiler-malloc", description=__doc__.splitlines()[0])
    parser.add_argument("input", metavar="IN.csv")
    parser.add_argument("--capacity", type=checked_type(int, _capacity), required=True, metavar="BYTES")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.csv")
    parser.add_argument("--strategy", choices=ALLOCATION_STRATEGIES, default=DEFAULT_ALLOCATION_STRATEGY)
    parser.add_argument("--timeout", type=checked_type(float, check_timeout), default=60.0, metavar="SECONDS")
    parser.add_argument("--lowest-peak", action="store_true", help="then lower the peak as far as the time allows")
    parser.add_argument("--seed", type=checked_type(int, check_seed), default=0)
    args = parser.parse_args(argv)
    try:
        outputs = OutputTransaction()
        outputs.protect(args.input)
        outputs.check(args.output, "-o")
        try:
            text = Path(args.input).read_text(encoding="utf-8-sig")  # a BOM is not part of the header
        except OSError as e:
            raise AllocationError(f"cannot read {args.input}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise AllocationError(f"{args.input} is not UTF-8 text; expected a CSV file") from None
        blocks = read_csv(text, args.input)
        start = time.perf_counter()
        if args.strategy == "MiniMalloc":
            search = minimalloc_lowest_peak if args.lowest_peak else minimalloc
            offsets = search(blocks, args.capacity, args.timeout)
        else:
            offsets = place(blocks, args.capacity, args.strategy, args.seed, args.timeout)
        seconds = time.perf_counter() - start
        check_placement(blocks, offsets, args.capacity)
        outputs.add(args.output, write_csv(blocks, offsets), "-o")
        outputs.commit()
    except (AllocationError, OutputFileError, OSError) as e:
        print(f"tiler-malloc: error: {e}", file=sys.stderr)
        return 1
    print(
        f"tiler-malloc: placed {len(blocks)} buffers in {args.capacity} bytes with {args.strategy}: "
        f"peak {peak(blocks, offsets)}, lower bound {lower_bound(blocks)}, {seconds:.2f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
