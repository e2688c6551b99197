"""tiler-run: execute a model (.onnx, .onnxtxt) or IR of any stage (.mlir) with numpy, or
generated C (.c, from tiler-opt -t c) compiled with the machine's C compiler.

    tiler-run INPUT [--inputs IN.npz | --seed N] [--outputs OUT.npz] [--check GOLDEN.npz [--rtol R] [--atol A]]
    tiler-run model.c --inputs IN.npz [--sanitize] [--deferred-dma] ...

npz keys are the graph's input and output names. With --check, each output is compared
with the golden one (|out - golden| <= atol + rtol * |golden|) and a mismatch exits 1.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.universe import Universe

from tiler_passes.output_files import output_transaction, protect_input, write_output
from tiler_tools.diagnostics import UsageError, printed_warnings, report
from tiler_tools.ir_input import parse_ir
from tiler_tools.executor import ExecutionError, execute, signature
from tiler_tools.tiler_opt import _input_shape


def load_module(path: str, input_shapes: dict[str, tuple[int, ...]]) -> ModuleOp:
    """Import an ONNX model or parse and verify IR; `-` reads IR from stdin."""
    if path != "-" and Path(path).suffix in (".onnx", ".onnxtxt"):
        from tiler_tools.onnx_frontend import import_onnx

        return import_onnx(path, input_shapes=input_shapes)
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise ExecutionError(f"cannot read {path}: {e.strerror}") from None
    ctx = Context()
    for name, factory in Universe.get_multiverse().all_dialects.items():
        ctx.register_dialect(name, factory)
    module = parse_ir(ctx, data, "stdin" if path == "-" else path)
    module.verify()
    return module


def _load_npz(path: str, what: str) -> dict[str, np.ndarray]:
    """Arrays by name from an npz archive (no pickles: an npz is data, not code)."""
    try:
        data = np.load(path, allow_pickle=False)
    except OSError as e:
        raise ExecutionError(f"cannot read {what} {path}: {e.strerror or e}") from None
    except Exception as e:  # noqa: BLE001 - numpy raises many kinds on a corrupt archive
        raise ExecutionError(f"cannot read {what} {path}: not an npz archive ({type(e).__name__})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ExecutionError(f"{what} {path} is a single .npy array; expected an npz archive of arrays by name (numpy.savez)")
    try:
        with data:
            return {k: data[k] for k in data.files}
    except Exception as e:  # noqa: BLE001 - a member can be corrupt or a pickle
        raise ExecutionError(f"cannot read {what} {path}: {type(e).__name__}: {str(e)[:200]}") from None


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


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
    """Outputs land only when everything before them succeeded, never over an input."""
    with output_transaction() as outputs:
        for path in (args.input, args.inputs, args.check):
            if path not in (None, "-"):
                protect_input(path)
        if args.outputs:
            outputs.check(args.outputs, "--outputs")
        code = _run(args)
        if code == 0:  # a mismatch with --check is a failure too: no outputs
            outputs.commit()
    return code


def _run_c(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Compile the generated C (its header beside it) with the host runtime, and run it."""
    from tiler_tools.c_target.runner import compile_and_run

    from tiler_tools.c_target.runner import read_io

    if args.inputs is None:
        header = Path(args.input).with_suffix(".h")
        try:
            _, spec = read_io(header.read_text())
        except OSError as e:
            raise ExecutionError(f"cannot read the header {header} beside {args.input}: {e.strerror}") from None
        inputs = seeded_inputs([(x["name"], x["shape"], np.dtype(x["dtype"])) for x in spec["inputs"]], args.seed)
    else:
        inputs = _load_npz(args.inputs, "inputs")
    return compile_and_run(Path(args.input), inputs, sanitize=args.sanitize, deferred_dma=args.deferred_dma)


def seeded_inputs(specs: Sequence[tuple[str, Sequence[int], np.dtype]], seed: int) -> dict[str, np.ndarray]:
    """random_inputs, said on stderr: the inputs when none are given."""
    inputs = random_inputs(specs, seed)
    described = ", ".join(f"{n} {v.dtype}{list(v.shape)}" for n, v in inputs.items()) or "none"
    print(f"tiler-run: no --inputs: running on random inputs from seed {seed} ({described}); "
          "pass --inputs IN.npz (numpy.savez, keys the input names) for your own", file=sys.stderr)
    return inputs


def input_specs(module) -> list[tuple[str, Sequence[int], np.dtype]]:
    """(name, shape, dtype) of the graph's inputs, as random_inputs takes them."""
    from tiler_dialect.ops import element_dtype

    return [(n, t.get_shape(), element_dtype(t.element_type)) for n, t in signature(module)[0]]


def random_inputs(specs: Sequence[tuple[str, Sequence[int], np.dtype]], seed: int) -> dict[str, np.ndarray]:
    """(name, shape, dtype) -> standard normal floats, integers over their type's range (at
    most -128..127), from numpy's generator seeded with `seed`."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for name, shape, dtype in specs:
        if np.issubdtype(dtype, np.floating):
            inputs[name] = rng.standard_normal(tuple(shape)).astype(dtype)
        elif dtype == np.bool_:
            inputs[name] = rng.integers(0, 2, tuple(shape)).astype(np.bool_)
        else:
            info = np.iinfo(dtype)
            inputs[name] = rng.integers(max(info.min, -128), min(int(info.max), 127) + 1, tuple(shape)).astype(dtype)
    return inputs


def _run(args: argparse.Namespace) -> int:
    if args.input != "-" and Path(args.input).suffix == ".c":
        outputs = _run_c(args)
    else:
        if args.sanitize or args.deferred_dma:
            raise UsageError("--sanitize and --deferred-dma are for generated C (a .c input)")
        outputs = _execute(args)
    for name, value in outputs.items():
        print(f"{name}: {value.dtype}{list(value.shape)}")
    if args.outputs:
        write_output(args.outputs, _npz_bytes(outputs), "--outputs")
    if args.check:
        lines = compare(outputs, _load_npz(args.check, "golden outputs"), args.rtol, args.atol)
        print("\n".join(lines))
        if any(line.startswith("MISMATCH") for line in lines):
            return 1
    return 0


def _execute(args: argparse.Namespace) -> dict[str, np.ndarray]:
    module = load_module(args.input, dict(args.input_shape))
    if args.inputs is None:
        return execute(module, seeded_inputs(input_specs(module), args.seed))
    inputs = _load_npz(args.inputs, "inputs")
    arg_names = [n for n, _ in signature(module)[0]]
    unknown = sorted(set(inputs) - set(arg_names))
    if unknown:
        raise ExecutionError(
            f"{args.inputs} has array(s) {', '.join(unknown)} that are not graph inputs; "
            f"the graph takes {', '.join(arg_names) or 'no inputs'}"
        )
    return execute(module, inputs)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tiler-run", description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="model (.onnx, .onnxtxt), IR (.mlir, - for stdin) or generated C (.c)")
    parser.add_argument("--inputs", metavar="IN.npz",
                        help="graph inputs by name (default: random inputs from --seed, said on stderr)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs without --inputs (0)")
    parser.add_argument("--outputs", metavar="OUT.npz", help="write the graph outputs by name")
    parser.add_argument("--check", metavar="GOLDEN.npz", help="compare outputs with these")
    parser.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance (1e-4)")
    parser.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (1e-5)")
    parser.add_argument(
        "--input-shape", type=_input_shape, action="append", default=[], metavar="NAME=DxDx...",
        help="pin the shape of an ONNX graph input with dynamic dims (repeatable)",
    )
    parser.add_argument("--sanitize", action="store_true",
                        help="generated C: build with -fsanitize=address,undefined")
    parser.add_argument("--deferred-dma", action="store_true",
                        help="generated C: the runtime copies at each wait, not at the start (a missing wait shows)")
    args = parser.parse_args(argv)
    try:
        with printed_warnings("tiler-run"):
            code = run(args)
    except Exception as e:
        code = report("tiler-run", e)
    sys.exit(code)


if __name__ == "__main__":
    main()
