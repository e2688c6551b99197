"""Compile generated C with the machine's C compiler and run it on numpy inputs.

The program is built from the generated file, its header, the host runtime and a small
main (written here) that reads each input from a raw file, calls `<name>_run`, and
writes each output to a raw file; with `repeat` > 1 it also prints the mean time of a
run, for the benchmark.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tiler_tools.c_target.emit import CTargetError

RUNTIME_DIR = Path(__file__).parent / "runtime"
"""tiler_runtime.h and the host implementation tiler_runtime.c."""

WARNINGS = ("-std=c99", "-Wall", "-Wextra", "-Werror")
FLAGS = (*WARNINGS, "-O2", "-ffp-contract=off")
"""No fused multiply-adds: the IR's float arithmetic rounds after every operation."""
SANITIZE = ("-O1", "-g", "-ffp-contract=off", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")


class CRunError(CTargetError):
    """The C compiler or the compiled program failed."""


def compiler() -> str:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    raise CRunError("no C compiler found (set CC, or install gcc)")


def read_io(header: str) -> tuple[str, dict]:
    """(entry-point prefix, io description) from a generated header."""
    match = re.search(r"tiler-io: (\{.*\})", header)
    entry = re.search(r"int (\w+)_run\(", header)
    if not match or not entry:
        raise CRunError("not a header of the tiler's C target (no tiler-io line or <name>_run)")
    return entry.group(1), json.loads(match.group(1))


def _main_source(prefix: str, header_name: str, io: dict) -> str:
    n_in, n_out = len(io["inputs"]), len(io["outputs"])
    sizes_in = [int(np.prod(x["shape"], dtype=np.int64)) * np.dtype(x["dtype"]).itemsize for x in io["inputs"]]
    sizes_out = [int(np.prod(x["shape"], dtype=np.int64)) * np.dtype(x["dtype"]).itemsize for x in io["outputs"]]
    return f"""#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "{header_name}"

static const size_t input_bytes[] = {{{", ".join(map(str, sizes_in)) or "0"}}};
static const size_t output_bytes[] = {{{", ".join(map(str, sizes_out)) or "0"}}};

static void *load(const char *path, size_t bytes) {{
    void *data = malloc(bytes ? bytes : 1);
    FILE *f = fopen(path, "rb");
    if (!data || !f || fread(data, 1, bytes, f) != bytes) {{ fprintf(stderr, "cannot read %s\\n", path); exit(2); }}
    fclose(f);
    return data;
}}

int main(int argc, char **argv) {{
    const void *in[{max(n_in, 1)}];
    void *out[{max(n_out, 1)}];
    if (argc != 2 + {n_in} + {n_out}) {{ fprintf(stderr, "usage: repeat inputs... outputs...\\n"); return 2; }}
    long repeat = atol(argv[1]);
    for (int i = 0; i < {n_in}; ++i) in[i] = load(argv[2 + i], input_bytes[i]);
    for (int i = 0; i < {n_out}; ++i) out[i] = malloc(output_bytes[i] ? output_bytes[i] : 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long r = 0; r < repeat; ++r)
        if ({prefix}_run(in, out) != 0) return 3;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (repeat > 1) printf("seconds per run: %.9f\\n", ((t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec)) / repeat);
    for (int i = 0; i < {n_out}; ++i) {{
        FILE *f = fopen(argv[2 + {n_in} + i], "wb");
        if (!f || fwrite(out[i], 1, output_bytes[i], f) != output_bytes[i]) {{ fprintf(stderr, "cannot write output\\n"); return 2; }}
        fclose(f);
    }}
    for (int i = 0; i < {n_in}; ++i) free((void *)in[i]);
    for (int i = 0; i < {n_out}; ++i) free(out[i]);
    return 0;
}}
"""


@dataclass
class Built:
    executable: Path
    prefix: str
    io: dict
    workdir: Path


def build(
    source: Path, workdir: Path, sanitize: bool = False, deferred_dma: bool = False, optimize: Sequence[str] = ()
) -> Built:
    """Compile `source` (and the header beside it) with the runtime and a main; `optimize`
    flags come after the defaults (the benchmark's -O3 -march=native)."""
    header_path = source.with_suffix(".h")
    try:
        header = header_path.read_text()
    except OSError as e:
        raise CRunError(f"cannot read the header {header_path} beside {source}: {e.strerror}") from None
    prefix, io = read_io(header)
    main = workdir / "tiler_main.c"
    main.write_text(_main_source(prefix, header_path.name, io))
    executable = workdir / "tiler_program"
    command = [
        compiler(), *(SANITIZE if sanitize else FLAGS), *WARNINGS, *optimize,
        *(["-DTILER_DMA_DEFERRED"] if deferred_dma else []),
        "-I", str(RUNTIME_DIR), "-I", str(header_path.parent),
        str(source), str(RUNTIME_DIR / "tiler_runtime.c"), str(main), "-lm", "-o", str(executable),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise CRunError(f"the C compiler failed on {source}:\n{done.stderr.strip()[:4000]}")
    return Built(executable, prefix, io, workdir)


def run(built: Built, inputs: dict[str, np.ndarray], repeat: int = 1) -> tuple[dict[str, np.ndarray], float | None]:
    """Outputs by name (and seconds per run when `repeat` > 1)."""
    args = [str(built.executable), str(repeat)]
    for i, spec in enumerate(built.io["inputs"]):
        if spec["name"] not in inputs:
            raise CRunError(f"no input {spec['name']!r} (given: {', '.join(inputs) or 'none'})")
        value = np.asarray(inputs[spec["name"]], dtype=spec["dtype"], order="C")  # (ascontiguousarray makes scalars 1-d)
        if list(value.shape) != list(spec["shape"]):
            raise CRunError(f"input {spec['name']}: shape {list(value.shape)}, the program takes {spec['shape']}")
        path = built.workdir / f"in{i}.bin"
        path.write_bytes(value.tobytes())
        args.append(str(path))
    outs = [built.workdir / f"out{i}.bin" for i in range(len(built.io["outputs"]))]
    args += [str(p) for p in outs]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise CRunError(f"the compiled program failed (exit {done.returncode}):\n{done.stderr.strip()[:4000]}")
    seconds = None
    match = re.search(r"seconds per run: ([0-9.eE+-]+)", done.stdout)
    if match:
        seconds = float(match.group(1))
    results = {}
    for spec, path in zip(built.io["outputs"], outs):
        results[spec["name"]] = np.frombuffer(path.read_bytes(), dtype=spec["dtype"]).reshape(spec["shape"])
    return results, seconds


def compile_and_run(
    source: Path, inputs: dict[str, np.ndarray], sanitize: bool = False, deferred_dma: bool = False
) -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory(prefix="tiler-c-") as tmp:
        built = build(Path(source), Path(tmp), sanitize=sanitize, deferred_dma=deferred_dma)
        return run(built, inputs)[0]
