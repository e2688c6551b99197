"""The fuzz harness: runs cases in long-lived worker processes and classifies them.

A case is a set of files created in a fresh temporary directory and one or more steps,
each a tool (`tiler-opt`, `tiler-run`, `tiler-malloc`) with its argv. Steps run in order
in the case's directory; a step that exits non-zero ends the case.

The tools run *in-process* inside worker processes (this file, run as a script with
`--worker`): a worker imports `tiler_tools` once and then calls `main(argv)` for each
step with the working directory set to the case's directory, capturing stdout, stderr and
the `SystemExit` code. A step costs milliseconds instead of the interpreter's start-up.
Each step has a time limit; a worker that runs over it is killed (a `hang`) and replaced.

Every case gets exactly one outcome (`OUTCOMES`):

    ok-0, ok-1, ok-2   the tool's contract: exit 0, 1 (with a `tool: error:` line, or
                       tiler-run's MISMATCH report of --check), 2 (command line/pipeline)
    traceback          'Traceback' or 'internal error' on stderr, exit 70, or an
                       exception escaping main()
    hang               the step ran over the time limit
    bad-exit           any other exit (another code, exit 1 without a message, a worker
                       killed by a signal)
    changed-input      a file the step reads, or any file it was not asked to write,
                       changed or vanished (sha256 before and after)
    leftover-output    a failed step left a new or changed file, or a successful one left
                       a file it was not asked to write (e.g. a temporary file)
    wrong-result       a differential step (tiler-run --check on IR the tools produced
                       from a valid model) found a MISMATCH, or could not run that IR

This module only needs the standard library in the parent process; the worker side
imports the tools.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import queue
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

OUTCOMES = (
    "ok-0", "ok-1", "ok-2", "traceback", "hang", "bad-exit", "changed-input", "leftover-output", "wrong-result",
)
OK_OUTCOMES = frozenset({"ok-0", "ok-1", "ok-2"})
TOOLS = ("tiler-opt", "tiler-run", "tiler-malloc")
DEFAULT_TIME_LIMIT = 60.0  # a hang is minutes; a TetrisCo-Opt compile on a loaded machine can take 40 s
DEFAULT_MEMORY_LIMIT = 6 * 1024**3  # address space per worker; huge allocations fail, not the machine
_KEEP_CHARS = 20_000  # of each step's stdout and stderr


# -- the case format --------------------------------------------------------------------


@dataclasses.dataclass
class Step:
    """One tool run in the case directory.

    `inputs`: files the step reads (they must not change even if also named as outputs).
    `outputs`: paths the step may write, and only on success. Any other pre-existing file
    must not change either. `differential`: a tiler-run --check against onnxruntime's
    outputs, where a MISMATCH is a wrong result; `must_pass`: the step's input is what an
    earlier step produced from a valid input (printed IR, tiled IR, an output CSV), so any
    failure is a wrong result, not a refusal."""

    tool: str
    argv: list[str]
    inputs: list[str] = dataclasses.field(default_factory=list)
    outputs: list[str] = dataclasses.field(default_factory=list)
    stdin: bytes | None = None
    differential: bool = False
    must_pass: bool = False

    def command_line(self) -> str:
        line = shlex.join([self.tool, *self.argv])
        return line + " < stdin.bin" if self.stdin is not None else line

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["stdin"] = None if self.stdin is None else base64.b64encode(self.stdin).decode()
        return data


@dataclasses.dataclass
class Case:
    """`files`: path relative to the case directory -> bytes. A path may climb one level
    ('../x') into the case's own private parent directory, never further. `fifos`: named
    pipes to create (an output option naming one must write into it, not replace it; the
    harness reads whatever is written, so a correct tool never blocks)."""

    generator: str
    files: dict[str, bytes]
    steps: list[Step]
    note: str = ""
    id: str = ""
    fifos: list[str] = dataclasses.field(default_factory=list)

    def digest(self) -> str:
        """A fingerprint of everything that defines the case (for determinism checks)."""
        h = hashlib.sha256()
        h.update(json.dumps(self.fifos).encode())
        for name in sorted(self.files):
            h.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        h.update(json.dumps([s.to_json() for s in self.steps], sort_keys=True).encode())
        return h.hexdigest()


@dataclasses.dataclass
class StepResult:
    step: int
    outcome: str
    detail: str
    code: int | None
    stdout: str
    stderr: str
    seconds: float


@dataclasses.dataclass
class CaseResult:
    case: Case
    outcome: str
    detail: str
    steps: list[StepResult]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES

    @property
    def failing_step(self) -> StepResult | None:
        return self.steps[-1] if self.steps and not self.ok else None

    def compact(self) -> None:
        """Drop what only a failure needs (files, full output): long runs keep every result."""
        self.case.files = {}
        for step in self.case.steps:
            step.stdin = None
        for r in self.steps:
            r.stdout, r.stderr = "", r.stderr[:300]

    def first_stderr_line(self) -> str:
        """The failing (or last) step's first stderr line; for an exception that escaped
        main(), its last line (the exception) instead of 'Traceback ...'."""
        step = self.failing_step or (self.steps[-1] if self.steps else None)
        if step is None:
            return ""
        lines = [line.strip() for line in step.stderr.splitlines() if line.strip()]
        if not lines:
            return self.detail
        if lines[0].startswith("Traceback"):
            return lines[-1]
        return lines[0]


# -- the worker side ----------------------------------------------------------------------


def _worker_loop() -> None:
    """Serve requests (one JSON line each on stdin) until stdin closes; answer on the
    original stdout. Anything native code prints goes to the worker's log instead."""
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    os.dup2(2, 1)  # fd 2 is the worker's log file (see Worker)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p not in ("", ".", here)]  # import the tools, never a case's files

    limit = int(os.environ.get("TILER_FUZZ_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT))
    if limit > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    from tiler_tools import tiler_malloc, tiler_opt, tiler_run

    # Warm up what the tools import lazily, so the first case is not slower than the rest.
    import tiler_passes.allocate  # noqa: F401
    import tiler_passes.tile  # noqa: F401
    import tiler_tools.onnx_frontend  # noqa: F401
    import tiler_tools.summary  # noqa: F401

    mains = {"tiler-opt": tiler_opt.main, "tiler-run": tiler_run.main, "tiler-malloc": tiler_malloc.main}
    home = os.getcwd()
    protocol.write(json.dumps({"ready": os.getpid()}) + "\n")
    protocol.flush()
    for line in requests:
        request = json.loads(line)
        stdin = base64.b64decode(request["stdin"]) if request.get("stdin") is not None else b""
        try:
            os.chdir(request["cwd"])
            reply = _run_in_process(mains[request["tool"]], request["tool"], request["argv"], stdin)
        finally:
            os.chdir(home)
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()


def _run_in_process(main: Callable, tool: str, argv: list[str], stdin: bytes) -> dict:
    import io
    import traceback

    streams = (sys.stdin, sys.stdout, sys.stderr, sys.argv)
    environ = dict(os.environ)
    recursion = sys.getrecursionlimit()
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True)
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    sys.stdout, sys.stderr, sys.argv = out, err, [tool, *argv]
    code: int | None = 0
    escaped = None
    start = time.perf_counter()
    try:
        returned = main(list(argv))
        code = returned if isinstance(returned, int) else 0
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            code = e.code or 0
        else:  # sys.exit("message"): Python prints it and exits 1
            print(e.code, file=err)
            code = 1
    except BaseException:  # noqa: BLE001 - anything escaping main() is the finding
        escaped = traceback.format_exc()
        code = None
    finally:
        seconds = time.perf_counter() - start
        sys.stdin, sys.stdout, sys.stderr, sys.argv = streams
        os.environ.clear()
        os.environ.update(environ)
        sys.setrecursionlimit(recursion)
    stdout = out.buffer.getvalue().decode("utf-8", "backslashreplace")
    stderr = err.buffer.getvalue().decode("utf-8", "backslashreplace")
    if escaped:
        stderr += escaped
    return {
        "code": code,
        "escaped": escaped is not None,
        "mismatch": any(line.startswith("MISMATCH") for line in stdout.splitlines()),
        "stdout": stdout[:_KEEP_CHARS],
        "stderr": stderr[:_KEEP_CHARS] if len(stderr) <= _KEEP_CHARS else stderr[:_KEEP_CHARS // 2] + "\n...\n" + stderr[-_KEEP_CHARS // 2:],
        "seconds": seconds,
    }


# -- the parent side ----------------------------------------------------------------------


class WorkerDied(Exception):
    pass


class Worker:
    """A worker process; `run` returns its reply, or None when the time limit passed (the
    worker is then killed and a new one started on the next call)."""

    START_TIMEOUT = 300.0

    def __init__(self, log_dir: Path, memory_limit: int = DEFAULT_MEMORY_LIMIT):
        self.log_path = log_dir / f"worker-{id(self):x}.log"
        self.memory_limit = memory_limit
        self.proc: subprocess.Popen | None = None
        self._buffer = b""

    def _start(self) -> None:
        env = dict(os.environ)
        env.pop("MINIMALLOC_INSTALL_DIR", None)  # the native MiniMalloc, as the tests use
        env["TILER_DEBUG"] = "1"  # internal errors come with their traceback
        env["PYTHONHASHSEED"] = "0"
        env["TILER_FUZZ_MEMORY_LIMIT"] = str(self.memory_limit)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--worker"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
                cwd=self.log_path.parent,
                start_new_session=True,  # a Ctrl-C reaches the parent, not a tool mid-case
            )
        finally:
            log.close()
        self._buffer = b""
        line = self._read_line(self.START_TIMEOUT)
        if line is None or "ready" not in json.loads(line):
            self.kill()
            raise RuntimeError(f"the fuzz worker did not start; see {self.log_path}:\n{self.log_tail()}")

    def _read_line(self, timeout: float) -> str | None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise WorkerDied(self._death_reason())
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def _death_reason(self) -> str:
        assert self.proc is not None
        code = self.proc.wait()
        reason = f"the worker died with signal {signal.Signals(-code).name}" if code < 0 else f"the worker exited with {code}"
        self.proc = None
        return reason

    def log_tail(self, size: int = 2000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-size:].decode("utf-8", "replace")

    def run(self, tool: str, argv: list[str], cwd: Path, stdin: bytes | None, timeout: float) -> dict | None:
        if self.proc is None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        request = {"tool": tool, "argv": argv, "cwd": str(cwd), "stdin": None if stdin is None else base64.b64encode(stdin).decode()}
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise WorkerDied(self._death_reason()) from None
        line = self._read_line(timeout)
        if line is None:
            self.kill()
            return None
        return json.loads(line)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # our own child, by its pid
            self.proc.wait()
            self.proc = None

    def close(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None


FIFO = "<fifo>"


def _snapshot(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under root (symlinks by their target; named
    pipes as FIFO, never read)."""
    import stat

    out = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            try:
                if stat.S_ISFIFO(path.stat().st_mode):
                    out[rel] = FIFO
                else:
                    out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                out[rel] = "unreadable"
    return out


class _Drain:
    """Reads the case's named pipes while a step runs, so that a tool writing its output
    into one (as it should) does not block for want of a reader."""

    def __init__(self, paths: list[Path]):
        self.fds = [os.open(p, os.O_RDONLY | os.O_NONBLOCK) for p in paths]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            ready, _, _ = select.select(self.fds, [], [], 0.05)
            idle = True
            for fd in ready:
                try:
                    idle &= not os.read(fd, 1 << 16)  # b"": no writer (select keeps saying ready)
                except BlockingIOError:
                    pass
            if idle:
                self.stop.wait(0.01)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for fd in self.fds:
            os.close(fd)


def _norm(path: str) -> str:
    """A step's path (relative to the work dir) as a path relative to the case root."""
    return os.path.normpath(os.path.join("work", path))


def classify_step(step: Step, reply: dict | None, before: dict[str, str], after: dict[str, str], died: str | None = None) -> tuple[str, str]:
    """The outcome of one step and a one-line detail, from the worker's reply (None for a
    time-out) and the case directory's snapshots before and after."""
    if died is not None:
        return "bad-exit", died
    if reply is None:
        return "hang", "ran over the time limit"
    code, stderr = reply["code"], reply["stderr"]
    if reply["escaped"]:
        return "traceback", "an exception escaped main()"
    if "Traceback" in stderr or code == 70 or "internal error" in stderr:
        return "traceback", f"exit {code} with an internal error"
    inputs = {_norm(p) for p in step.inputs}
    outputs = {_norm(p) for p in step.outputs} - inputs
    changed = sorted(p for p, h in before.items() if after.get(p) != h)
    replaced = [p for p in changed if before[p] == FIFO]
    if replaced:
        return "changed-input", f"replaced the named pipe {', '.join(replaced)} instead of writing into it"
    touched_inputs = [p for p in changed if p not in outputs]
    if touched_inputs:
        return "changed-input", f"changed or removed: {', '.join(touched_inputs)}"
    new = sorted(set(after) - set(before))
    if code != 0 and (new or changed):
        return "leftover-output", f"exit {code} but wrote: {', '.join(new + changed)}"
    stray = [p for p in new if p not in outputs]
    if code == 0 and stray:
        return "leftover-output", f"exit 0 but left files it was not asked for: {', '.join(stray)}"
    if step.differential and code != 0 and reply["mismatch"]:
        return "wrong-result", "tiler-run --check: MISMATCH"
    if step.must_pass and code != 0:
        return "wrong-result", f"exit {code} on what the tools produced from a valid input"
    if code == 1 and not reply["mismatch"] and f"{step.tool}: error:" not in stderr:
        return "bad-exit", f"exit 1 without a '{step.tool}: error:' message"
    if code in (0, 1, 2):
        return f"ok-{code}", ""
    return "bad-exit", f"exit {code}"


def _write_files(work: Path, files: dict[str, bytes]) -> None:
    container = work.parent
    for name, data in files.items():
        path = (work / name).resolve()
        if container.resolve() not in path.parents:
            raise ValueError(f"case file {name!r} is outside the case's directory")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def run_case(worker: Worker, case: Case, root: Path, time_limit: float = DEFAULT_TIME_LIMIT) -> CaseResult:
    """Run the case's steps in a fresh directory under root, removed afterwards."""
    container = Path(tempfile.mkdtemp(prefix=f"{case.id or case.generator}-", dir=root))
    work = container / "work"
    work.mkdir()
    results: list[StepResult] = []
    start = time.monotonic()
    try:
        _write_files(work, case.files)
        for name in case.fifos:
            os.mkfifo(work / name)
        for i, step in enumerate(case.steps):
            before = _snapshot(container)
            remaining = max(0.1, time_limit - (time.monotonic() - start))
            died = None
            t0 = time.monotonic()
            drain = _Drain([work / name for name in case.fifos]) if case.fifos else None
            try:
                reply = worker.run(step.tool, step.argv, work, step.stdin, remaining)
            except WorkerDied as e:
                reply, died = None, f"{e}; log tail: {worker.log_tail(300)!r}"
            finally:
                if drain is not None:
                    drain.close()
            after = _snapshot(container)
            outcome, detail = classify_step(step, reply, before, after, died)
            results.append(StepResult(
                i, outcome, detail, None if reply is None else reply["code"],
                "" if reply is None else reply["stdout"], "" if reply is None else reply["stderr"],
                time.monotonic() - t0,
            ))
            if outcome != "ok-0":  # a failure, or a refusal that ends the chain
                break
    finally:
        shutil.rmtree(container, ignore_errors=True)
    last = results[-1]
    return CaseResult(case, last.outcome, last.detail, results, time.monotonic() - start)


def run_cases(
    cases: Iterable[Case],
    jobs: int = 2,
    time_limit: float = DEFAULT_TIME_LIMIT,
    on_result: Callable[[CaseResult], None] | None = None,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
) -> list[CaseResult]:
    """Run all cases on `jobs` workers; results in the order of `cases`. Cases are drawn
    from the iterable lazily, and the results of ok cases are compacted after `on_result`
    saw them (their files and output dropped), so long runs need little memory."""
    root = Path(tempfile.mkdtemp(prefix="tiler-fuzz-"))
    todo: queue.Queue = queue.Queue(maxsize=4 * jobs)
    results: dict[int, CaseResult] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def serve() -> None:
        worker = Worker(root, memory_limit)
        try:
            while True:
                item = todo.get()
                if item is None:
                    return
                index, case = item
                result = run_case(worker, case, root, time_limit)
                with lock:
                    results[index] = result
                    if on_result is not None:
                        on_result(result)
                    if result.ok:
                        result.compact()
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
            while todo.get() is not None:  # drain, so the producer never blocks
                pass
        finally:
            worker.close()

    threads = [threading.Thread(target=serve, daemon=True) for _ in range(jobs)]
    for t in threads:
        t.start()
    try:
        for index, case in enumerate(cases):
            if errors:
                break
            todo.put((index, case))
    finally:
        for _ in threads:
            todo.put(None)
        for t in threads:
            t.join()
        shutil.rmtree(root, ignore_errors=True)
    if errors:
        raise errors[0]
    return [results[i] for i in sorted(results)]


# -- reporting ----------------------------------------------------------------------------


def _blank(line: str) -> str:
    line = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", line)
    line = re.sub(r"\b0x[0-9a-fA-F]+", "N", line)
    line = re.sub(r"(?<![A-Za-z])-?\d[\d.e+x_]*", "N", line)
    return re.sub(r"\S*/\S*", "PATH", line)


def failure_class(result: CaseResult) -> str:
    """A name for the cause of a failure, shared by the cases of one class: the outcome,
    the tool, and the first stderr line with names and numbers blanked; for a traceback
    also the function that raised; for a hang or a file outcome the detail instead."""
    step = result.failing_step
    tool = result.case.steps[step.step].tool if step is not None else ""
    if result.outcome in ("hang", "changed-input", "leftover-output") or (result.outcome == "bad-exit" and "worker" in result.detail):
        return f"{result.outcome}: {tool}: {_blank(result.detail)[:160]}"
    line = _blank(result.first_stderr_line())[:160]
    if result.outcome == "traceback" and step is not None:
        frames = re.findall(r'File "([^"]+)", line \d+, in (\S+)', step.stderr)
        if frames:
            path, function = frames[-1]
            line += f" [in {Path(path).name}:{function}]"
    return f"{result.outcome}: {line}"


def save_failure(result: CaseResult, directory: Path) -> Path:
    """Write the case under directory/<outcome>/<id>/: files/, stdin.bin, case.json and
    repro.sh (copies files/ into a fresh directory and runs the steps there)."""
    case = result.case
    target = directory / result.outcome / (case.id or case.generator)
    if target.exists():
        shutil.rmtree(target)
    files = target / "files" / "work"
    files.mkdir(parents=True)
    _write_files(files, case.files)
    script = [
        "#!/bin/sh",
        f"# {case.id}: {result.outcome}: {result.detail}",
        f"# {case.note}" if case.note else "#",
        f"PATH={shlex.quote(str(Path(sys.executable).parent))}:\"$PATH\"  # the tools of the fuzzed venv",
        'set -e; here="$(cd "$(dirname "$0")" && pwd)"; tmp="$(mktemp -d)"',
        'cp -r "$here/files/." "$tmp/"; cd "$tmp/work"; echo "in $tmp/work"',
        "set +e",
    ]
    for name in case.fifos:  # a named pipe with a reader, as in the harness
        script.append(f"mkfifo {shlex.quote(name)}; cat {shlex.quote(name)} > {shlex.quote(name + '.read')} & readers=\"$readers $!\"")
    for i, step in enumerate(case.steps[: len(result.steps)]):
        command = step.command_line()
        if step.stdin is not None:
            (target / f"stdin{i}.bin").write_bytes(step.stdin)
            command = shlex.join([step.tool, *step.argv]) + f' < "$here/stdin{i}.bin"'
        script.append(command + "; echo \"exit $?\"")
    if case.fifos:
        script.append('kill $readers 2>/dev/null; ls -l ' + " ".join(shlex.quote(n) for n in case.fifos))
    (target / "repro.sh").write_text("\n".join(script) + "\n")
    (target / "repro.sh").chmod(0o755)
    (target / "case.json").write_text(json.dumps({
        "id": case.id, "generator": case.generator, "note": case.note, "fifos": case.fifos,
        "outcome": result.outcome, "detail": result.detail,
        "steps": [
            {**s.to_json(), "command_line": s.command_line(), **({
                "code": r.code, "outcome": r.outcome, "detail": r.detail,
                "stderr": r.stderr, "stdout_head": r.stdout[:2000], "seconds": round(r.seconds, 3),
            })}
            for s, r in zip(case.steps, result.steps)
        ],
    }, indent=2, ensure_ascii=False))
    return target


def describe(result: CaseResult) -> str:
    """A few lines that reproduce a failing case."""
    step = result.failing_step
    lines = [f"{result.case.id}: {result.outcome} ({result.detail}) {result.case.note}".rstrip()]
    if step is not None:
        lines.append("  $ " + result.case.steps[step.step].command_line())
        lines.append("  " + result.first_stderr_line()[:300])
    return "\n".join(lines)


def tabulate(results: list[CaseResult]) -> str:
    """Counts per generator (rows) and outcome (columns), and the seconds the cases took
    (summed over the workers)."""
    generators = sorted({r.case.generator for r in results})
    used = [o for o in OUTCOMES if any(r.outcome == o for r in results)]
    counts = {(r.case.generator, r.outcome): 0 for r in results}
    for r in results:
        counts[(r.case.generator, r.outcome)] += 1
    width = max([len("generator"), len("total"), *map(len, generators)])
    header = f"{'generator':<{width}} " + " ".join(f"{o:>{max(6, len(o))}}" for o in used) + f" {'total':>6} {'seconds':>8}"
    rows = [header, "-" * len(header)]
    for g in generators + ["total"]:
        cells = []
        for o in used:
            n = sum(counts.get((g2, o), 0) for g2 in generators) if g == "total" else counts.get((g, o), 0)
            cells.append(f"{n:>{max(6, len(o))}}")
        mine = results if g == "total" else [r for r in results if r.case.generator == g]
        seconds = sum(r.seconds for r in mine)
        rows.append(f"{g:<{width}} " + " ".join(cells) + f" {len(mine):>6} {seconds:>8.1f}")
    return "\n".join(rows)


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        _worker_loop()
    else:
        sys.exit("usage: harness.py --worker  (started by the fuzz suite; see tests/fuzz/__main__.py)")
