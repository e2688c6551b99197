"""The quick fuzz run of `make test`: a few hundred seeded cases over every generator, each
of which must end ok-0, ok-1 or ok-2 (see harness.py for the outcomes). Failures list one
reproduction per failure class; `python -m tests.fuzz --save-failures DIR` writes them out.

Also checks the harness itself: cases are deterministic per seed, outcomes are classified
as documented, and a step over the time limit is a hang after which the worker restarts."""

from __future__ import annotations

import collections
import os
import time

import pytest

from .generators import CONV_RELU, GENERATORS, QUICK_WEIGHTS, iter_cases, make_case
from .harness import Case, Step, Worker, classify_step, describe, failure_class, run_case, run_cases, tabulate

SEED = int(os.environ.get("TILER_FUZZ_SEED", "0"))
CASES = int(os.environ.get("TILER_FUZZ_CASES", "300"))
TIME_LIMIT = 15.0  # per case; the long mode uses 30


def test_quick_fuzz():
    start = time.monotonic()
    results = run_cases(iter_cases(SEED, CASES, QUICK_WEIGHTS), jobs=2, time_limit=TIME_LIMIT)
    seconds = time.monotonic() - start
    assert len(results) == CASES
    assert {r.case.generator for r in results} == set(GENERATORS)
    failing = [r for r in results if not r.ok]
    print(f"\n{tabulate(results)}\n{CASES} cases in {seconds:.1f} s")
    if failing:
        classes = collections.defaultdict(list)
        for r in failing:
            classes[failure_class(r)].append(r)
        report = [f"{len(failing)} of {CASES} fuzz cases (seed {SEED}) failed, in {len(classes)} classes:", tabulate(results)]
        for name, members in sorted(classes.items(), key=lambda kv: -len(kv[1])):
            report.append(f"[{len(members)}] {name}\n  " + describe(members[0]).replace("\n", "\n  "))
        pytest.fail("\n".join(report), pytrace=False)


def test_cases_are_deterministic():
    first = [make_case(SEED, i).digest() for i in range(40)]
    assert first == [make_case(SEED, i).digest() for i in range(40)]
    assert first != [make_case(SEED + 1, i).digest() for i in range(40)]


def _reply(code, stderr="", mismatch=False, escaped=False):
    return {"code": code, "stderr": stderr, "stdout": "", "mismatch": mismatch, "escaped": escaped, "seconds": 0.0}


def test_classification():
    step = Step("tiler-opt", ["m.onnx", "-o", "out.mlir"], inputs=["m.onnx"], outputs=["out.mlir"])
    before = {"work/m.onnx": "h1"}
    written = {**before, "work/out.mlir": "h2"}
    assert classify_step(step, _reply(0), before, written) == ("ok-0", "")
    assert classify_step(step, _reply(1, "tiler-opt: error: bad"), before, before) == ("ok-1", "")
    assert classify_step(step, _reply(2, "usage: ..."), before, before) == ("ok-2", "")
    assert classify_step(step, _reply(1, "oops"), before, before)[0] == "bad-exit"
    assert classify_step(step, _reply(3), before, before)[0] == "bad-exit"
    assert classify_step(step, _reply(70, "tiler-opt: internal error: X"), before, before)[0] == "traceback"
    assert classify_step(step, _reply(1, "Traceback (most recent call last):"), before, before)[0] == "traceback"
    assert classify_step(step, _reply(None, escaped=True), before, before)[0] == "traceback"
    assert classify_step(step, None, before, before)[0] == "hang"
    assert classify_step(step, _reply(0), before, {"work/m.onnx": "h3", "work/out.mlir": "h2"})[0] == "changed-input"
    assert classify_step(step, _reply(0), before, {})[0] == "changed-input"
    assert classify_step(step, _reply(1, "tiler-opt: error: bad"), before, written)[0] == "leftover-output"
    assert classify_step(step, _reply(0), before, {**written, "work/.out.mlir.tmp": "h4"})[0] == "leftover-output"
    over_input = Step("tiler-opt", ["m.onnx", "-o", "m.onnx"], inputs=["m.onnx"], outputs=["m.onnx"])
    assert classify_step(over_input, _reply(0), before, {"work/m.onnx": "h5"})[0] == "changed-input"
    to_pipe = Step("tiler-opt", ["m.onnx", "-o", "p"], inputs=["m.onnx"], outputs=["p"])
    assert classify_step(to_pipe, _reply(0), {**before, "work/p": "<fifo>"}, {**before, "work/p": "<fifo>"})[0] == "ok-0"
    assert classify_step(to_pipe, _reply(0), {**before, "work/p": "<fifo>"}, {**before, "work/p": "h6"})[0] == "changed-input"
    check = Step("tiler-run", ["t.mlir", "--check", "g.npz"], differential=True)
    assert classify_step(check, _reply(1, mismatch=True), {}, {})[0] == "wrong-result"
    assert classify_step(check, _reply(1, "tiler-run: error: unsupported"), {}, {})[0] == "ok-1"
    produced = Step("tiler-run", ["t.mlir"], differential=True, must_pass=True)
    assert classify_step(produced, _reply(1, "tiler-run: error: DMA hazard"), {}, {})[0] == "wrong-result"
    plain_run = Step("tiler-run", ["t.mlir", "--check", "g.npz"])
    assert classify_step(plain_run, _reply(1, mismatch=True), {}, {})[0] == "ok-1"


def test_worker_runs_in_process_and_restarts_after_a_hang(tmp_path):
    files = {"m.onnxtxt": CONV_RELU.read_bytes()}
    ok = Case("self-test", files, [Step("tiler-opt", ["m.onnxtxt", "-o", "out.mlir"], inputs=["m.onnxtxt"], outputs=["out.mlir"])])
    usage = Case("self-test", files, [Step("tiler-opt", ["m.onnxtxt", "--no-such-flag"], inputs=["m.onnxtxt"])])
    missing = Case("self-test", {}, [Step("tiler-opt", ["missing.onnx"])])
    slow = Case("self-test", files, [Step("tiler-opt", ["m.onnxtxt", "--tile", "--allocate"], inputs=["m.onnxtxt"])])
    worker = Worker(tmp_path)
    try:
        assert run_case(worker, ok, tmp_path).outcome == "ok-0"
        assert run_case(worker, usage, tmp_path).outcome == "ok-2"
        assert run_case(worker, missing, tmp_path).outcome == "ok-1"
        assert run_case(worker, slow, tmp_path, time_limit=0.01).outcome == "hang"
        assert run_case(worker, ok, tmp_path).outcome == "ok-0"  # a fresh worker took over
    finally:
        worker.close()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".log")) == [], "case directories are removed"
