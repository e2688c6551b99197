"""`tiler-bench`: the figures that define "good" (BRIEF section 7) for the shared models.

For every model and L1 budget it runs the `tiler-opt --tile` pipeline in-process (import,
solve, rewrite, verify, print) and prints one row: compile time, ops, tiles, DMA bytes and
their ratio to the compulsory traffic, and estimated cycles under the cost model
(docs/cost_model.md). Timing lives here, never in tests.

    tiler-bench                         # KWS, ResNet-8, CCT at L1 = 8/32/64 KiB, L2 = 1 MiB home
    tiler-bench --kernels               # also the Deeploy single-op kernels
    tiler-bench --search-strategy max   # the reference's objective, for comparison
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from xdsl.printer import Printer

KIB = 1024

MODELS = {
    "kws_dscnn": "mlperf-tiny/kws_dscnn_float32.onnx",
    "resnet8": "mlperf-tiny/resnet8_float32.onnx",
    "cct_1_16_16_8": "deeploy/CCT_1_16_16_8/network.onnx",
}


@dataclass(frozen=True)
class Config:
    """One memory configuration to tile under."""

    label: str
    l1: int
    l2: int
    home: str = "L2"


CONFIGS = [Config(f"L1 {k} KiB", k * KIB, 1024 * KIB) for k in (8, 32, 64)]
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


def shared_dir(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    if "TILER_SHARED" in os.environ:
        return Path(os.environ["TILER_SHARED"])
    return Path.cwd().parent / "shared"


def measure(name: str, path: Path, config: Config, double: bool, strategy: str) -> Row:
    from tiler_dialect import MemoryHierarchy
    from tiler_passes.tiler import Tiler
    from tiler_tools.onnx_frontend import import_onnx

    hierarchy = MemoryHierarchy.fromSizes(l1=config.l1, l2=config.l2, default=config.home)
    start = time.perf_counter()
    module = import_onnx(path, hierarchy)
    imported = time.perf_counter()
    tiler = Tiler(hierarchy)
    tiler.doubleBuffer = double
    tiler.searchStrategy = strategy
    solution = tiler.tile(module)
    tiled = time.perf_counter()
    module.verify()
    Printer(stream=io.StringIO()).print_op(module)
    done = time.perf_counter()
    total = solution.report()["total"]
    return Row(
        model=name,
        config=config.label,
        buffering="double" if double else "single",
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
    parser.add_argument("--models", nargs="*", choices=sorted(MODELS), default=sorted(MODELS))
    parser.add_argument("--kernels", action="store_true", help="also the Deeploy single-op kernels")
    parser.add_argument("--no-l3", action="store_true", help="skip the L3-home configuration")
    parser.add_argument("--single-buffer", action="store_true", help="also measure single buffering")
    parser.add_argument("--search-strategy", default="cycles", choices=["cycles", "max", "min", "random-max"])
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)

    models_dir = shared_dir(args.shared) / "models"
    if not models_dir.is_dir():
        print(f"tiler-bench: error: {models_dir} not found (pass --shared DIR or set TILER_SHARED)", file=sys.stderr)
        return 1
    models = {name: models_dir / MODELS[name] for name in args.models}
    if args.kernels:
        for path in sorted((models_dir / "deeploy" / "kernels-fp32").glob("*/network.onnx")):
            models[path.parent.name] = path

    print(f"# tiler-bench, {date.today().isoformat()}, {machine()}")
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    rows = []
    bufferings = [True, False] if args.single_buffer else [True]
    for name, path in models.items():
        configs = list(CONFIGS)
        if name == "resnet8" and not args.no_l3:
            configs.append(L3_CONFIG)
        for config in configs:
            for double in bufferings:
                row = measure(name, path, config, double, args.search_strategy)
                rows.append(row)
                print(markdown_row(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) | {"ratio": round(r.ratio, 4)} for r in rows], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
