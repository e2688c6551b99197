"""The C target's figures for `tiler-bench`: per model and L1 budget, the generated
program's run time on this machine against onnxruntime's (one thread, the same inputs),
as a ratio measured in the same run (compiled with -O3 -march=native), and its static
footprint as `size -A` reports the object file: .text, the constants (.rodata and the levels' .rodata sections) and the
arenas (the levels' sections)."""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPEATS = 20
"""Runs timed per measurement (after one warm-up), for the C program and onnxruntime."""

OPTIMIZE = ("-O3", "-march=native")
"""How the benchmark compiles the program: for speed on this machine, as onnxruntime's
kernels are (still -ffp-contract=off: the IR's rounding)."""


@dataclass
class CRow:
    model: str
    config: str
    c_seconds: float
    """Mean wall time of one run of the compiled program."""
    ort_seconds: float
    """Mean wall time of one onnxruntime run (intra- and inter-op threads 1)."""
    text_bytes: int
    const_bytes: int
    arena_bytes: int
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.c_seconds / self.ort_seconds if self.ort_seconds else float("nan")


C_HEADER = "| model | memory | C run ms | onnxruntime ms | ratio (C / ort) | .text | constants | arenas |"


def c_row(r: CRow) -> str:
    if r.note:
        return f"| {r.model} | {r.config} | - | - | - | - | - | - ({r.note}) |"
    ort = f"{r.ort_seconds * 1e3:.3f} | {r.ratio:.2f}x" if r.ort_seconds else "- | -"
    return (
        f"| {r.model} | {r.config} | {r.c_seconds * 1e3:.3f} | {ort} "
        f"| {r.text_bytes:,} | {r.const_bytes:,} | {r.arena_bytes:,} |"
    )


def _sections(obj: Path) -> dict[str, int]:
    done = subprocess.run(["size", "-A", str(obj)], capture_output=True, text=True, check=True)
    sizes = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def _onnxruntime_seconds(path: Path, feeds: dict) -> float:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    known = {i.name for i in session.get_inputs()}
    feeds = {k: v for k, v in feeds.items() if k in known}
    session.run(None, feeds)
    start = time.perf_counter()
    for _ in range(REPEATS):
        session.run(None, feeds)
    return (time.perf_counter() - start) / REPEATS


def measure_c(name: str, path: Path, module, config_label: str, peer: Path | None = None, integer_graph: bool = False) -> CRow:
    """`module`: the allocated IR of `path` at this configuration. onnxruntime runs
    `peer` instead of `path` where given (on its own random inputs): the same network in a
    form onnxruntime runs, for Deeploy's integer graphs (its custom ops are not
    onnxruntime's); with `peer` None for such a graph, the row has no onnxruntime time."""
    from xdsl.utils.exceptions import DiagnosticException

    from tiler_tools.c_target import CTargetError, emit_c
    from tiler_tools.c_target.runner import FLAGS, RUNTIME_DIR, build, compiler, run
    from tiler_tools.tiler_run import input_specs, random_inputs

    try:
        program = emit_c(module, "net")
    except (CTargetError, DiagnosticException) as e:  # an op or type the C target does not take
        return CRow(name, config_label, 0.0, 0.0, 0, 0, 0, note=str(e).splitlines()[0][:80])
    feeds = random_inputs(input_specs(module), 0)
    with tempfile.TemporaryDirectory(prefix="tiler-bench-c-") as tmp:
        folder = Path(tmp)
        (folder / "net.c").write_text(program.source)
        (folder / "net.h").write_text(program.header)
        built = build(folder / "net.c", folder, optimize=OPTIMIZE)
        run(built, feeds)  # warm-up
        _, c_seconds = run(built, feeds, repeat=REPEATS)
        obj = folder / "net.o"
        subprocess.run(
            [compiler(), *FLAGS, *OPTIMIZE, "-I", str(RUNTIME_DIR), "-c", str(folder / "net.c"), "-o", str(obj)], check=True
        )
        sections = _sections(obj)
    levels = re.compile(r"^\.l\d+$")
    arenas = sum(v for k, v in sections.items() if levels.match(k))
    consts = sum(v for k, v in sections.items() if k.startswith(".rodata") or (k.startswith(".l") and k.endswith(".rodata")))
    if peer is not None:
        ort_seconds = _onnxruntime_seconds(peer, _onnx_random_inputs(peer))
    else:
        ort_seconds = 0.0 if integer_graph else _onnxruntime_seconds(path, feeds)
    return CRow(name, config_label, c_seconds or 0.0, ort_seconds, sections.get(".text", 0), consts, arenas)


def _onnx_random_inputs(path: Path) -> dict:
    from tiler_tools.onnx_frontend import import_onnx
    from tiler_tools.tiler_run import input_specs, random_inputs

    return random_inputs(input_specs(import_onnx(path)), 0)
