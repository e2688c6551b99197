"""tiler-run: execute a model (.onnx, .onnxtxt) or IR of any stage (.mlir) with numpy.

    tiler-run INPUT --inputs IN.npz [--outputs OUT.npz] [--check GOLDEN.npz [--rtol R] [--atol A]]

npz keys are the graph's input and output names. With --check, each output is compared
with the golden one (|out - golden| <= atol + rtol * |golden|) and a mismatch exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.universe import Universe

from tiler_tools.diagnostics import report
from tiler_tools.executor import ExecutionError, execute, signature
from tiler_tools.tiler_opt import _input_shape


def load_module(path: str, input_shapes: dict[str, tuple[int, ...]]) -> ModuleOp:
    """Import an ONNX model or parse and verify IR; `-` reads IR from stdin."""
    if path != "-" and Path(path).suffix in (".onnx", ".onnxtxt"):
        from tiler_tools.onnx_frontend import import_onnx

        return import_onnx(path, input_shapes=input_shapes)
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    ctx = Context()
    for name, factory in Universe.get_multiverse().all_dialects.items():
        ctx.register_dialect(name, factory)
    module = Parser(ctx, text, "stdin" if path == "-" else path).parse_module()
    module.verify()
    return module


def _load_npz(path: str, what: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError) as e:
        raise ExecutionError(f"cannot read {what} {path}: {e}") from None


def _save_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def compare(
    outputs: dict[str, np.ndarray], golden: dict[str, np.ndarray], rtol: float, atol: float
) -> list[str]:
    """One line per output; lines of mismatches start with 'MISMATCH'."""
    lines = []
    for name, value in outputs.items():
        if name not in golden:
            lines.append(f"MISMATCH {name}: not in the golden file (has {', '.join(golden)})")
            continue
        ref = np.asarray(golden[name])
        if ref.shape != value.shape:
            lines.append(f"MISMATCH {name}: shape {list(value.shape)}, golden {list(ref.shape)}")
            continue
        ok = np.allclose(value, ref, rtol=rtol, atol=atol, equal_nan=True)
        with np.errstate(invalid="ignore"):
            diff = np.abs(value.astype(np.float64) - ref.astype(np.float64))
        worst = float(np.nanmax(np.where(np.isinf(ref) & (value == ref), 0, diff))) if diff.size else 0.0
        lines.append(f"{'ok' if ok else 'MISMATCH'} {name}: max |out - golden| = {worst:.3g}")
    return lines


def run(args: argparse.Namespace) -> int:
    module = load_module(args.input, dict(args.input_shape))
    inputs = _load_npz(args.inputs, "inputs")
    arg_names = [n for n, _ in signature(module)[0]]
    unknown = sorted(set(inputs) - set(arg_names))
    if unknown:
        raise ExecutionError(
            f"{args.inputs} has array(s) {', '.join(unknown)} that are not graph inputs; "
            f"the graph takes {', '.join(arg_names) or 'no inputs'}"
        )
    outputs = execute(module, inputs)
    for name, value in outputs.items():
        print(f"{name}: {value.dtype}{list(value.shape)}")
    if args.outputs:
        _save_npz(args.outputs, outputs)
    if args.check:
        lines = compare(outputs, _load_npz(args.check, "golden outputs"), args.rtol, args.atol)
        print("\n".join(lines))
        if any(line.startswith("MISMATCH") for line in lines):
            return 1
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tiler-run", description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="model (.onnx, .onnxtxt) or IR (.mlir, - for stdin)")
    parser.add_argument("--inputs", required=True, metavar="IN.npz", help="graph inputs by name")
    parser.add_argument("--outputs", metavar="OUT.npz", help="write the graph outputs by name")
    parser.add_argument("--check", metavar="GOLDEN.npz", help="compare outputs with these")
    parser.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance (1e-4)")
    parser.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (1e-5)")
    parser.add_argument(
        "--input-shape", type=_input_shape, action="append", default=[], metavar="NAME=DxDx...",
        help="pin the shape of an ONNX graph input with dynamic dims (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        code = run(args)
    except Exception as e:
        code = report("tiler-run", e)
    sys.exit(code)


if __name__ == "__main__":
    main()
