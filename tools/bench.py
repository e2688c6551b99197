"""`tiler-bench`: the figures that define "good" (BRIEF section 7) for the shared models.

For every model and L1 budget it runs the `tiler-opt --tile --allocate` pipeline
in-process (import, solve, rewrite, allocate, verify, print) and prints one row: compile
time, ops, tiles, DMA bytes and their ratio to the compulsory traffic, and estimated cycles
under the cost model (docs/cost_model.md). A second table gives, per level, the arena
bytes MiniMalloc needs (and TetrisRandom, the reference's allocator, on the same blocks)
against the lower bound (the most bytes live at once). A third runs the allocation
strategies on MiniMalloc's challenging suite A-K at capacity 1048576. Timing lives here,
never in tests.

    tiler-bench                         # KWS, ResNet-8, CCT at L1 = 8/32/64 KiB, L2 = 1 MiB home
    tiler-bench --kernels               # also the Deeploy single-op kernels
    tiler-bench --search-strategy max   # the reference's objective, for comparison
    tiler-bench --no-malloc-suite       # skip the A-K allocation suite
    tiler-bench --no-int8               # skip the int8 rows (QDQ KWS and ResNet-8, Deeploy's integer KWS, IC, AD)
    tiler-bench --no-c                  # skip the generated C's run time and size
    tiler-bench --zoo                   # also onnx's light model zoo (L1 64 KiB, home L2 1 GiB)
    tiler-bench --models --no-c --no-malloc-suite --zoo   # the zoo alone

A fourth table runs the C target (docs/c_target.md) on every model at each L1 budget,
double buffered: the compiled program's time per inference against onnxruntime's on one
thread, measured in the same run, and the object's .text, constants and arenas.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from xdsl.printer import Printer

from tiler_passes.options import ALLOCATION_STRATEGIES, DEFAULT_SEARCH_STRATEGY, SEARCH_STRATEGIES

KIB = 1024

MODELS = {
    "kws_dscnn": "mlperf-tiny/kws_dscnn_float32.onnx",
    "resnet8": "mlperf-tiny/resnet8_float32.onnx",
    "cct_1_16_16_8": "deeploy/CCT_1_16_16_8/network.onnx",
}
QUANTIZED = ("kws_dscnn", "resnet8")
"""Models the bench also quantizes (onnxruntime's quantize_static, QDQ, per-channel int8)."""
DEEPLOY_INTEGER = {
    "deeploy_kws-int8": "deeploy-int/models/KeywordSpotting",
    "deeploy_ic-int8": "deeploy-int/models/ImageClassification",
    "deeploy_ad-int8": "deeploy-int/models/AnomalyDetection",
}
"""Deeploy's integer MLPerf Tiny networks, imported as integer graphs."""
FLOAT_COUNTERPART = {"deeploy_kws-int8": "kws_dscnn", "deeploy_ic-int8": "resnet8"}
"""The float model each of Deeploy's integer networks is printed beside (the same MLPerf
Tiny network; AnomalyDetection has none in ../shared)."""


@dataclass(frozen=True)
class Config:
    """One memory configuration to tile under."""

    label: str
    l1: int
    l2: int
    home: str = "L2"


CONFIGS = [Config(f"L1 {k} KiB", k * KIB, 1024 * KIB) for k in (8, 32, 64)]
# onnx's light zoo (onnx/backend/test/data/light): a home that holds each model's weights
# and activations (vgg19's weights are 548 MB), as tests/test_zoo.py tiles them.
ZOO_CONFIG = Config("L1 64 KiB, L2 1 GiB home", 64 * KIB, 1024 * 1024 * KIB)


def zoo_dir() -> Path:
    """Where onnx keeps its light models (imported on use: keeps start-up fast)."""
    import onnx

    return Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
# Tiles travel L3 -> L2 -> L1: the configuration of the multi-level tests.
L3_CONFIG = Config("L3 home, L2 64 KiB, L1 16 KiB", 16 * KIB, 64 * KIB, "L3")


@dataclass
class Row:
    model: str
    config: str
    buffering: str
    strategy: str
    ops: int
    tiles: int
    dma_bytes: int
    lower_bound_bytes: int
    est_cycles: int
    compile_seconds: float
    import_seconds: float
    tile_seconds: float

    @property
    def ratio(self) -> float:
        return self.dma_bytes / self.lower_bound_bytes if self.lower_bound_bytes else 1.0


@dataclass
class ArenaRow:
    """One memory level of one allocated model."""

    model: str
    config: str
    buffering: str
    level: str
    capacity: int
    blocks: int
    lower_bound_bytes: int
    arena_bytes: int
    """MiniMalloc's arena (what the allocate pass wrote into the IR)."""
    tetris_bytes: int
    """TetrisRandom's peak on the same blocks, for comparison."""
    allocate_seconds: float
    """The whole allocate pass: memory map, checks, placement of every level, IR rewrite."""


@dataclass
class SuiteRow:
    """One strategy on one MiniMalloc instance."""

    instance: str
    strategy: str
    blocks: int
    capacity: int
    lower_bound_bytes: int
    solved: bool
    peak_bytes: int | None
    seconds: float
    note: str


def shared_dir(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    if "TILER_SHARED" in os.environ:
        return Path(os.environ["TILER_SHARED"])
    return Path.cwd().parent / "shared"


def integer_inputs(folder: Path) -> dict:
    """An integer graph's input types, from the sample inputs.npz beside it."""
    import numpy as np
    import onnx

    from tiler_tools.onnx_frontend import sample_input_types

    with np.load(folder / "inputs.npz") as data:
        samples = [data[k] for k in data.files]
    return sample_input_types(onnx.load(folder / "network.onnx"), samples)


def measure(
    name: str, path: Path, config: Config, double: bool, strategy: str, integer: dict | None = None
) -> tuple[Row, list[ArenaRow], object]:
    """The rows of one model at one configuration, and its allocated module."""
    from tiler_dialect import MemoryHierarchy
    from tiler_passes.allocation.blocks import AllocationError, lower_bound, peak
    from tiler_passes.allocation.tetris import tetris_random
    from tiler_passes.tiler import Tiler
    from tiler_tools.onnx_frontend import import_onnx

    hierarchy = MemoryHierarchy.fromSizes(l1=config.l1, l2=config.l2, default=config.home)
    start = time.perf_counter()
    module = import_onnx(path, hierarchy, integer_inputs=integer)
    imported = time.perf_counter()
    tiler = Tiler(hierarchy)
    tiler.doubleBuffer = double
    tiler.searchStrategy = strategy
    solution = tiler.tile(module)
    tiled = time.perf_counter()
    memory_map = tiler.allocate(module)
    allocated = time.perf_counter()
    module.verify()
    Printer(stream=io.StringIO()).print_op(module)
    done = time.perf_counter()
    total = solution.report()["total"]
    buffering = "double" if double else "single"
    arenas = []
    for level in hierarchy.memoryLevels:
        if level not in memory_map.levels:
            continue
        blocks = memory_map.blocks(level)
        capacity = memory_map.capacities[level]
        try:
            tetris = peak(blocks, tetris_random(blocks, capacity))
        except AllocationError:
            tetris = -1  # more than the capacity
        arenas.append(
            ArenaRow(
                name, config.label, buffering, level, capacity, len(blocks), lower_bound(blocks),
                tiler.worstCaseBufferSize[level], tetris, allocated - tiled,
            )
        )
    row = Row(
        model=name,
        config=config.label,
        buffering=buffering,
        strategy=strategy,
        ops=len(solution.layers),
        tiles=sum(layer.tiling.tiles for layer in solution.layers),
        dma_bytes=total["dma_bytes"],
        lower_bound_bytes=total["lower_bound_bytes"],
        est_cycles=total["est_cycles"],
        compile_seconds=done - start,
        import_seconds=imported - start,
        tile_seconds=tiled - imported,
    )
    return row, arenas, module


def run_suite(
    directory: Path, minimalloc_timeout: float, cpsat_seconds: float
) -> list[SuiteRow]:
    """Every strategy on every challenging instance at its file's capacity. MiniMalloc
    decides feasibility (as in the paper's table); the Tetris strategies minimise the
    peak, solved when it fits."""
    from tiler_passes.allocation.blocks import AllocationError, check_placement, lower_bound, peak, read_csv
    from tiler_passes.allocation.cpsat_placement import cpsat_placement
    from tiler_passes.allocation.minimalloc import minimalloc
    from tiler_passes.allocation.tetris import tetris_random

    rows = []
    for path in sorted(directory.glob("[A-K].*.csv")):
        blocks = read_csv(path.read_text(), str(path))
        capacity = int(path.name.split(".")[1])
        runs = {
            "MiniMalloc": lambda: minimalloc(blocks, capacity, minimalloc_timeout),
            # the peak of the best random order, whatever the capacity
            "TetrisRandom": lambda: tetris_random(blocks, 1 << 62),
            "TetrisCo-Opt": lambda: cpsat_placement(blocks, 1 << 40, time_limit=1e9, wall_limit=cpsat_seconds),
        }
        for strategy, run in runs.items():
            start = time.perf_counter()
            try:
                offsets = run()
                seconds = time.perf_counter() - start
                top = peak(blocks, offsets)
                check_placement(blocks, offsets, max(top, capacity))
                solved = top <= capacity
                note = "" if solved else f"peak {top / capacity:.3f}x the capacity"
            except AllocationError as e:
                seconds = time.perf_counter() - start
                top, solved, note = None, False, str(e).removeprefix(f"{strategy}: ")
            rows.append(
                SuiteRow(path.name.split(".")[0], strategy, len(blocks), capacity, lower_bound(blocks),
                         solved, top, seconds, note)
            )
            print(suite_row(rows[-1]), flush=True)
    return rows


HEADER = (
    "| model | memory | buffers | strategy | ops | tiles | DMA bytes | lower bound | ratio "
    "| est. cycles | compile s (import + tile) |"
)


def markdown_row(r: Row) -> str:
    return (
        f"| {r.model} | {r.config} | {r.buffering} | {r.strategy} | {r.ops} | {r.tiles} "
        f"| {r.dma_bytes:,} | {r.lower_bound_bytes:,} | {r.ratio:.2f}x | {r.est_cycles:,} "
        f"| {r.compile_seconds:.2f} ({r.import_seconds:.2f} + {r.tile_seconds:.2f}) |"
    )


ARENA_HEADER = (
    "| model | memory | buffers | level | capacity | blocks | lower bound | MiniMalloc arena | ratio "
    "| TetrisRandom | ratio | allocate s |"
)


def arena_row(r: ArenaRow) -> str:
    if r.tetris_bytes < 0:
        tetris = "over capacity | -"
    else:
        tetris = f"{r.tetris_bytes:,} | {r.tetris_bytes / r.lower_bound_bytes:.2f}x"
    return (
        f"| {r.model} | {r.config} | {r.buffering} | {r.level} | {r.capacity:,} | {r.blocks} "
        f"| {r.lower_bound_bytes:,} | {r.arena_bytes:,} | {r.arena_bytes / r.lower_bound_bytes:.3f}x "
        f"| {tetris} | {r.allocate_seconds:.2f} |"
    )


SUITE_HEADER = "| instance | strategy | blocks | lower bound | solved at 1048576 | peak | seconds | note |"


def suite_row(r: SuiteRow) -> str:
    top = "-" if r.peak_bytes is None else f"{r.peak_bytes:,}"
    return (
        f"| {r.instance} | {r.strategy} | {r.blocks} | {r.lower_bound_bytes:,} | {'yes' if r.solved else 'no'} "
        f"| {top} | {r.seconds:.2f} | {r.note} |"
    )


def print_header(header: str) -> None:
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tiler-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--shared", help="the shared data folder (default $TILER_SHARED or ../shared)")
    every = sorted(MODELS) + list(DEEPLOY_INTEGER)
    parser.add_argument("--models", nargs="*", choices=every, default=every)
    parser.add_argument("--kernels", action="store_true", help="also the Deeploy single-op kernels")
    parser.add_argument("--no-l3", action="store_true", help="skip the L3-home configuration")
    parser.add_argument("--no-int8", action="store_true", help="skip the int8 rows: QDQ KWS and ResNet-8, Deeploy's integer KWS, IC and AD")
    parser.add_argument("--single-buffer", action="store_true", help="also measure single buffering")
    parser.add_argument("--no-c", action="store_true",
                        help="skip the C target's table (generated code's run time against onnxruntime, its size)")
    parser.add_argument("--search-strategy", default=DEFAULT_SEARCH_STRATEGY, choices=SEARCH_STRATEGIES)
    parser.add_argument("--no-malloc-suite", action="store_true", help="skip the MiniMalloc A-K suite")
    parser.add_argument("--minimalloc-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="MiniMalloc's time per suite instance (default 60)")
    parser.add_argument("--cpsat-seconds", type=float, default=20.0, metavar="SECONDS",
                        help="wall-clock cap of the CP-SAT placement per suite instance (default 20)")
    parser.add_argument("--zoo", action="store_true",
                        help=f"also onnx's light model zoo at {ZOO_CONFIG.label}, double buffered")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)

    models_dir = shared_dir(args.shared) / "models"
    if not models_dir.is_dir():
        print(f"tiler-bench: error: {models_dir} not found (pass --shared DIR or set TILER_SHARED)", file=sys.stderr)
        return 1
    models: dict[str, Path] = {}
    scratch = tempfile.TemporaryDirectory(prefix="tiler-bench-")
    integer: dict[str, dict] = {}
    selected = [n for n in args.models if FLOAT_COUNTERPART.get(n) not in args.models]
    for name in args.models:  # a Deeploy network right after its float counterpart's rows
        if FLOAT_COUNTERPART.get(name) in args.models:
            selected.insert(selected.index(FLOAT_COUNTERPART[name]) + 1, name)
    for name in dict.fromkeys(selected):
        if name in DEEPLOY_INTEGER:
            if not args.no_int8:
                models[name] = models_dir / DEEPLOY_INTEGER[name] / "network.onnx"
                integer[name] = integer_inputs(models[name].parent)
            continue
        models[name] = models_dir / MODELS[name]
        if name in QUANTIZED and not args.no_int8:
            # int8 beside float: QDQ from onnxruntime's quantizer (per-channel int8)
            from tiler_tools.quantize import quantize_qdq

            models[f"{name}-int8"] = quantize_qdq(models[name], Path(scratch.name) / f"{name}-int8.onnx")
    if args.kernels:
        for path in sorted((models_dir / "deeploy" / "kernels-fp32").glob("*/network.onnx")):
            models[path.parent.name] = path

    print(f"# tiler-bench, {date.today().isoformat()}, {machine()}")
    print_header(HEADER)
    rows, arenas, c_rows = [], [], []
    allocated: dict[tuple[str, str], object] = {}  # (model, config) -> double-buffered module, for C
    bufferings = [True, False] if args.single_buffer else [True]
    for name, path in models.items():
        configs = list(CONFIGS)
        if name == "resnet8" and not args.no_l3:
            configs.append(L3_CONFIG)
        for config in configs:
            for double in bufferings:
                row, levels, module = measure(name, path, config, double, args.search_strategy, integer.get(name))
                rows.append(row)
                arenas.extend(levels)
                print(markdown_row(row), flush=True)
                if double and config in CONFIGS and not args.no_c:
                    allocated[name, config.label] = module
    if args.zoo:
        print()
        print_header(HEADER)
        for path in sorted(zoo_dir().glob("light_*.onnx")):
            row, _, _ = measure(path.stem.removeprefix("light_"), path, ZOO_CONFIG, True, args.search_strategy)
            rows.append(row)
            print(markdown_row(row), flush=True)
    print()
    print_header(ARENA_HEADER)
    for arena in arenas:
        print(arena_row(arena))
    if allocated:
        from tiler_tools.bench_c import C_HEADER, c_row, measure_c

        print()
        print_header(C_HEADER)
        for (name, label), module in allocated.items():
            # Deeploy's graphs: onnxruntime runs onnxruntime's int8 quantization of the same network
            peer = models.get(f"{FLOAT_COUNTERPART[name]}-int8") if name in FLOAT_COUNTERPART else None
            c_rows.append(measure_c(name, models[name], module, label, peer, integer_graph=name in DEEPLOY_INTEGER))
            print(c_row(c_rows[-1]), flush=True)
    suite: list[SuiteRow] = []
    suite_dir = shared_dir(args.shared) / "minimalloc"
    if not args.no_malloc_suite:
        print()
        print_header(SUITE_HEADER)
        suite = run_suite(suite_dir, args.minimalloc_timeout, args.cpsat_seconds)
        for strategy in ALLOCATION_STRATEGIES:
            mine = [r for r in suite if r.strategy == strategy]
            print(f"{strategy}: {sum(r.solved for r in mine)} of {len(mine)} solved, "
                  f"{sum(r.seconds for r in mine):.1f} s in all")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({
                "tiling": [asdict(r) | {"ratio": round(r.ratio, 4)} for r in rows],
                "arenas": [asdict(a) for a in arenas],
                "malloc_suite": [asdict(r) for r in suite],
                "c": [asdict(r) | {"ratio": round(r.ratio, 4) if not r.note else None} for r in c_rows],
            }, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
