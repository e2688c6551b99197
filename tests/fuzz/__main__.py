"""Long fuzz runs: `python -m tests.fuzz --cases 10000 --jobs 2 --seed 0 [--time-limit 60]
[--save-failures DIR] [--only GENERATOR ...]`, from the repository root.

Prints progress, a table of outcomes per generator and the failure classes (outcome and
first stderr line, names and numbers blanked) with one case of each; writes every failing
case (files, argv, stderr, repro.sh) under DIR. Exits 1 if any case is not ok-0/1/2."""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

from .generators import GENERATORS, WEIGHTS, iter_cases
from .harness import DEFAULT_TIME_LIMIT, describe, failure_class, run_cases, save_failure, tabulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="number of cases (default 1000)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed: the same seed gives the same cases")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, help="seconds per case (default 60)")
    parser.add_argument("--save-failures", type=Path, metavar="DIR", help="write each failing case under DIR")
    parser.add_argument("--only", nargs="+", choices=sorted(GENERATORS), help="only these generators")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)

    weights = {g: w for g, w in WEIGHTS.items() if not args.only or g in args.only}
    start = time.monotonic()
    done = collections.Counter()

    def progress(result) -> None:
        done[result.ok] += 1
        if args.save_failures and not result.ok:
            save_failure(result, args.save_failures)
        n = sum(done.values())
        if not args.quiet and (sys.stderr.isatty() or n % 500 == 0):
            print(f"\r{n}/{args.cases} cases, {done[False]} failing, {time.monotonic() - start:.0f} s",
                  end="" if sys.stderr.isatty() else "\n", file=sys.stderr, flush=True)

    results = run_cases(iter_cases(args.seed, args.cases, weights), args.jobs, args.time_limit, on_result=progress)
    seconds = time.monotonic() - start
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    print(tabulate(results))
    print(f"\n{len(results)} cases in {seconds:.1f} s ({args.jobs} jobs, seed {args.seed})")
    failing = [r for r in results if not r.ok]
    classes: dict[str, list] = collections.defaultdict(list)
    for r in failing:
        classes[failure_class(r)].append(r)
    if classes:
        print(f"\n{len(classes)} failure classes:")
        for name, members in sorted(classes.items(), key=lambda kv: -len(kv[1])):
            print(f"\n[{len(members)}] {name}")
            print("  " + describe(min(members, key=lambda r: len(r.case.steps[r.failing_step.step].command_line()))).replace("\n", "\n  "))
    if args.save_failures and failing:
        print(f"\nfailing cases written under {args.save_failures}/<outcome>/<case id>/ (repro.sh, case.json)")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
