"""tiler-opt: xdsl-opt with the tiler dialect and passes, ONNX input and hierarchy flags.

    tiler-opt model.onnx [--l1 BYTES] [--l2 BYTES] [--l3 BYTES] [--default-mem-level NAME]
              [--hierarchy FILE.json] [--input-shape NAME=1x3x32x32] [-p PASSES] [-o OUT.mlir]

Everything xdsl-opt offers (-p, --verify-diagnostics, --split-input-file,
--print-op-generic, -t TARGET, ...) works the same. Errors are reported as one clear
message and a non-zero exit code; the output file is written only when everything
succeeded, and never over the input.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import IO

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import PassPipeline
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError
from xdsl.xdsl_opt_main import xDSLOptMain

from tiler_dialect.hierarchy import check_level_size, parse_bytes
from tiler_passes.options import (
    ALLOCATION_STRATEGIES,
    DEFAULT_ALIGNMENT,
    DEFAULT_ALLOCATION_STRATEGY,
    DEFAULT_ALLOCATION_TIMEOUT,
    DEFAULT_SEARCH_STRATEGY,
    MAX_SEED,
    SEARCH_STRATEGIES,
    OptionError,
    check_alignment,
    check_seed,
    check_timeout,
)
from tiler_passes import progress
from tiler_passes.output_files import OutputFileError, OutputTransaction, output_transaction, protect_input
from tiler_passes.set_memory_hierarchy import SetMemoryHierarchyPass
from tiler_tools.diagnostics import UsageError, checked_type, format_error, printed_warnings, report
from tiler_tools.ir_input import parse_ir
from tiler_tools.pipeline import check_pipeline, describe_tiler_passes

ONNX_FORMATS = ("onnx", "onnxtxt")


def _byte_count(text: str) -> int:
    try:
        return check_level_size(parse_bytes(text), "a level size")
    except ValueError as e:  # HierarchyError is one
        raise argparse.ArgumentTypeError(str(e)) from None




def _input_shape(text: str) -> tuple[str, tuple[int, ...]]:
    name, sep, dims = text.rpartition("=")
    try:
        shape = tuple(int(d) for d in dims.lower().split("x"))
    except ValueError:
        shape = ()
    if not sep or not name or not shape or any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(
            f"expected NAME=D0xD1x... with positive dims, e.g. input=1x3x32x32; got {text!r}"
        )
    return name, shape


INTEGER_TYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32")


def _input_type(text: str) -> tuple[str, str]:
    name, sep, dtype = text.rpartition("=")
    if not sep or not name or dtype not in INTEGER_TYPES:
        raise argparse.ArgumentTypeError(f"expected NAME=TYPE with TYPE one of {', '.join(INTEGER_TYPES)}; got {text!r}")
    return name, dtype


def _summary_target():
    from tiler_tools.summary import SummaryTarget  # imported on use: keeps start-up fast

    return SummaryTarget


def _c_target():
    from tiler_tools.c_target.emit import CTarget

    return CTarget


class TilerOptMain(xDSLOptMain):
    version_format = "tiler-opt (xdsl-tiler " + version("xdsl-tiler") + ") built on xdsl {xdsl_version}"

    def __init__(self, args: Sequence[str] | None = None):
        super().__init__(description="tiler-opt: the tiler's xDSL optimizer driver", args=args)

    # -- arguments --------------------------------------------------------------------

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.formatter_class = argparse.RawDescriptionHelpFormatter
        arg_parser.epilog = describe_tiler_passes(self.available_passes)
        h = arg_parser.add_argument_group(
            "memory hierarchy",
            "The L3 - L2 - L1 chain; sizes not given keep the defaults L3 8 MiB, L2 1 MiB, "
            "L1 64 KiB. Sizes take K/KiB and M/MiB suffixes. For .mlir input, given flags "
            "replace the module's hierarchy.",
        )
        h.add_argument("--l1", type=_byte_count, metavar="BYTES", help="L1 (compute level) size")
        h.add_argument("--l2", type=_byte_count, metavar="BYTES", help="L2 size")
        h.add_argument("--l3", type=_byte_count, metavar="BYTES", help="L3 size")
        h.add_argument(
            "--default-mem-level", metavar="NAME", help="home level of graph tensors (default L2)"
        )
        h.add_argument(
            "--hierarchy", metavar="FILE.json", help="any other hierarchy, as a JSON file"
        )
        t = arg_parser.add_argument_group("tiling", "Run the tile pass after any -p passes.")
        t.add_argument("--tile", action="store_true", help="tile every layer (the 'tile' pass)")
        t.add_argument(
            "--double-buffer", action=argparse.BooleanOptionalAction, default=True,
            help="double-buffer streamed tiles (default on; --no-double-buffer for single buffers)",
        )
        t.add_argument(
            "--search-strategy", choices=SEARCH_STRATEGIES, default=DEFAULT_SEARCH_STRATEGY,
            help="cycles: minimise the cost model (default); max/min/random-max: the reference's tile-size strategies",
        )
        t.add_argument(
            "--alignment", type=checked_type(int, check_alignment), default=DEFAULT_ALIGNMENT, metavar="BYTES",
            help=f"buffer alignment, a power of two (default {DEFAULT_ALIGNMENT})",
        )
        t.add_argument("--seed", type=checked_type(int, check_seed), default=0, help=f"solver seed, 0 to {MAX_SEED} (default 0)")
        t.add_argument("--tile-report", metavar="FILE.json", help="write the per-op tiling report")
        m = arg_parser.add_argument_group("allocation", "Run the allocate pass after tiling.")
        m.add_argument("--allocate", action="store_true", help="place every buffer in its level's arena (the 'allocate' pass)")
        m.add_argument(
            "--mem-alloc-strategy", choices=ALLOCATION_STRATEGIES, default=DEFAULT_ALLOCATION_STRATEGY,
            help="MiniMalloc (native, default), TetrisRandom (the reference's), TetrisCo-Opt (CP-SAT)",
        )
        m.add_argument(
            "--alloc-timeout", type=checked_type(float, check_timeout), default=DEFAULT_ALLOCATION_TIMEOUT,
            metavar="SECONDS", help=f"search time per level (default {DEFAULT_ALLOCATION_TIMEOUT:g})",
        )
        m.add_argument("--memory-map", metavar="FILE.json", help="write the memory map")
        m.add_argument("--plot-mem-alloc", metavar="FILE.html", help="write the interactive memory-map view")
        arg_parser.add_argument(
            "--input-shape",
            type=_input_shape,
            action="append",
            default=[],
            metavar="NAME=DxDx...",
            help="pin the shape of an ONNX graph input with dynamic dims (repeatable)",
        )
        r = arg_parser.add_argument_group(
            "progress", f"Stages of {progress.MIN_OPS} ops or more say on stderr which op they are at."
        )
        r.add_argument("-q", "--quiet", action="store_true", help="print no progress")
        r.add_argument("--timing", action="store_true", help="print on stderr the seconds each stage took")
        q = arg_parser.add_argument_group(
            "integer graphs",
            "Deeploy's integer networks store integers in float tensors. --integer-graph imports "
            "them as integer IR: each input's type comes from --input-type, or else from the sample "
            "values in inputs.npz beside the model (its arrays in graph-input order, as Deeploy's "
            "tests pair them), the narrowest of " + ", ".join(INTEGER_TYPES) + ".",
        )
        q.add_argument("--integer-graph", action="store_true", help="import the ONNX model as an integer graph")
        q.add_argument(
            "--input-type", type=_input_type, action="append", default=[], metavar="NAME=TYPE",
            help="an integer graph input's type (repeatable)",
        )

    @property
    def hierarchy_flags_given(self) -> bool:
        a = self.args
        return any(v is not None for v in (a.l1, a.l2, a.l3, a.default_mem_level, a.hierarchy))

    def hierarchy_pass(self) -> SetMemoryHierarchyPass:
        a = self.args
        return SetMemoryHierarchyPass(
            l1=a.l1, l2=a.l2, l3=a.l3, default_mem_level=a.default_mem_level, hierarchy_file=a.hierarchy
        )

    # -- input ------------------------------------------------------------------------

    def get_input_stream(self) -> tuple[IO[bytes], str]:
        if self.args.input_file in (None, "-"):
            return sys.stdin.buffer, "mlir"
        return super().get_input_stream()

    def get_input_name(self) -> str:
        return "stdin" if self.args.input_file in (None, "-") else self.args.input_file

    def register_all_frontends(self) -> None:
        super().register_all_frontends()
        self.available_frontends["mlir"] = self._parse_mlir
        self.available_frontends["onnx"] = self._import_onnx_binary
        self.available_frontends["onnxtxt"] = self._import_onnx_text

    def _parse_mlir(self, stream: IO[bytes]) -> ModuleOp:
        return parse_ir(self.ctx, stream.read(), self.get_input_name(), not self.args.no_implicit_module)

    def prepare_input(self):
        fmt = self._input_format()
        if fmt not in self.available_frontends:
            raise UsageError(
                f"unknown input format '{fmt}' (from the file name {self.get_input_name()}); "
                f"name the file .mlir, .onnx or .onnxtxt, or give -f {{{','.join(self.available_frontends)}}}"
            )
        return super().prepare_input()

    def _import(self, model) -> ModuleOp:
        from tiler_tools.onnx_frontend import import_onnx, load_external_data

        source = self.get_input_name()
        folder = None if self.args.input_file in (None, "-") else Path(self.args.input_file).parent
        load_external_data(model, folder, source)
        hierarchy = self.hierarchy_pass().hierarchy()
        if self.args.input_type and not self.args.integer_graph:
            raise UsageError("--input-type types the inputs of an integer graph: add --integer-graph")
        integer_inputs = self._integer_inputs(model, folder) if self.args.integer_graph else None
        return import_onnx(model, hierarchy, dict(self.args.input_shape), integer_inputs)

    def _integer_inputs(self, model, folder: Path | None) -> dict[str, str]:
        import numpy as np

        from tiler_tools.onnx_frontend import UnsupportedFeature, graph_inputs, sample_input_types

        given = dict(self.args.input_type)
        if set(graph_inputs(model)) <= set(given):
            return given
        samples = None if folder is None else folder / "inputs.npz"
        if samples is None or not samples.is_file():
            missing = ", ".join(n for n in graph_inputs(model) if n not in given)
            raise UnsupportedFeature(
                f"--integer-graph: no type for graph input(s) {missing}; give --input-type NAME=TYPE "
                "or put the sample inputs.npz beside the model"
            )
        try:
            with np.load(samples, allow_pickle=False) as data:
                arrays = [data[k] for k in data.files]
        except Exception as e:  # noqa: BLE001 - numpy raises many kinds on a corrupt archive
            raise UnsupportedFeature(f"cannot read the sample inputs {samples}: {type(e).__name__}: {e}") from None
        inferred = sample_input_types(model, arrays)
        return {name: str(inferred[name]) for name in graph_inputs(model) if name not in given} | given

    def _import_onnx_binary(self, stream: IO[bytes]) -> ModuleOp:
        from tiler_tools.onnx_frontend import parse_model_bytes

        return self._import(parse_model_bytes(stream.read(), self.get_input_name()))

    def _import_onnx_text(self, stream: IO[bytes]) -> ModuleOp:
        from tiler_tools.onnx_frontend import parse_model_text_bytes

        return self._import(parse_model_text_bytes(stream.read(), self.get_input_name()))

    def register_all_targets(self) -> None:
        super().register_all_targets()
        self.available_targets["summary"] = _summary_target
        self.available_targets["c"] = _c_target

    # -- pipeline ---------------------------------------------------------------------

    def setup_pipeline(self) -> None:
        check_pipeline(self.args.passes, self.available_passes)
        try:
            super().setup_pipeline()
        except (ValueError, OptionError) as e:  # what check_pipeline does not foresee
            raise UsageError(f"-p: {e}") from None
        passes = list(self.pipeline.passes)
        if self.hierarchy_flags_given and self._input_format() not in ONNX_FORMATS:
            # ONNX input gets the hierarchy at import; IR input gets it from this pass
            passes.insert(0, self.hierarchy_pass())
        if self.args.tile:
            from tiler_passes.tile import TilePass

            a = self.args
            passes.append(
                TilePass(
                    search_strategy=a.search_strategy, double_buffer=a.double_buffer,
                    alignment=a.alignment, seed=a.seed, report=a.tile_report,
                    mem_alloc_strategy=a.mem_alloc_strategy,
                )
            )
        if self.args.allocate:
            from tiler_passes.allocate import AllocatePass

            a = self.args
            passes.append(
                AllocatePass(
                    strategy=a.mem_alloc_strategy, alignment=a.alignment, seed=a.seed,
                    timeout=a.alloc_timeout, memory_map=a.memory_map, plot=a.plot_mem_alloc,
                )
            )
        self.pipeline = PassPipeline(tuple(passes), self.pipeline.callback)

    def _input_format(self) -> str:
        if self.args.frontend:
            return self.args.frontend
        if self.args.input_file in (None, "-"):
            return "mlir"
        return Path(self.args.input_file).suffix.lstrip(".")

    # -- running ----------------------------------------------------------------------

    def run(self) -> None:
        """Everything the command writes lands at the end, and only if all succeeded."""
        with output_transaction() as outputs:
            if self.args.input_file not in (None, "-"):
                protect_input(self.args.input_file)
            if self.hierarchy_flags_given:
                self.hierarchy_pass().hierarchy()  # report a bad hierarchy before reading input
            self._check_output_paths(outputs)
            self.c_header: str | None = None
            text = self._timed_process()
            if self.args.output_file is not None:
                outputs.add(self.args.output_file, text, "-o")
                if self.c_header is not None:
                    outputs.add(self._c_header_path(), self.c_header, "-o (the C header)")
            outputs.commit()
        if self.args.output_file is None:
            sys.stdout.write(text)
            sys.stdout.flush()

    def _timed_process(self) -> str:
        """_process, with progress on stderr (unless -q) and --timing's table after it."""
        reporter = None
        if not self.args.quiet:
            reporter = progress.ProgressReporter(
                sys.stderr, "tiler-opt", interactive=sys.stderr.isatty(), min_ops=progress.MIN_OPS
            )
        timings = progress.Timings() if self.args.timing else None
        start = time.perf_counter()
        with progress.reporting(reporter, timings):
            text = self._process()
        if timings is not None:
            print("tiler-opt: timing\n" + timings.table(time.perf_counter() - start), file=sys.stderr)
        return text

    def apply_passes(self, prog: ModuleOp) -> None:
        """PassPipeline.apply, each pass timed as a stage and the callback between passes
        (verification, --print-between-passes) as 'verify'."""
        passes, callback = self.pipeline.passes, self.pipeline.callback
        if callback is not None:
            with progress.stage("verify"):
                callback(None, prog, passes[0] if passes else None)
        for i, p in enumerate(passes):
            with progress.stage(p.name):
                p.apply(self.ctx, prog)
            if callback is not None:
                with progress.stage("verify"):
                    callback(p, prog, passes[i + 1] if i + 1 < len(passes) else None)

    def _process(self) -> str:
        chunks, file_extension = self.prepare_input()
        out = io.StringIO()
        try:
            for i, (chunk, offset) in enumerate(chunks):
                if i > 0:
                    out.write("// -----\n")
                try:
                    with progress.stage("import" if self._input_format() in ONNX_FORMATS else "parse"):
                        module = self.parse_chunk(chunk, file_extension, offset)
                    if module is not None:
                        self.apply_passes(module)
                        with progress.stage("print"):
                            out.write(self.output_resulting_program(module))
                except ParseError as e:
                    if not self.args.parsing_diagnostics:
                        raise
                    out.write(format_error(e) + "\n")
                except DiagnosticException as e:
                    if not self.args.verify_diagnostics:
                        raise
                    out.write(str(e) + "\n")
                    for note in getattr(e, "__notes__", []):
                        out.write(str(note) + "\n")
        finally:
            for chunk, _ in chunks:
                chunk.close()
        return out.getvalue()

    # -- the C target: FILE.c and its header FILE.h ------------------------------------------

    def _c_target(self):
        """The -t c target, or None for any other target."""
        from xdsl.utils.arg_spec import parse_spec

        spec = parse_spec(self.args.target)
        if spec.name != "c":
            return None
        return _c_target()().from_spec(spec)

    def _c_header_path(self) -> str:
        return str(Path(self.args.output_file).with_suffix(".h"))

    def output_resulting_program(self, prog: ModuleOp) -> str:
        target = self._c_target()
        if target is None or self.args.output_file is None:
            return super().output_resulting_program(prog)
        from tiler_tools.c_target.emit import emit_c

        program = emit_c(prog, target.prefix or Path(self.args.output_file).stem, Path(self._c_header_path()).name)
        if self.c_header is not None:
            raise UsageError("-t c with -o writes one program: --split-input-file gives several")
        self.c_header = program.header
        return program.source

    def _check_output_paths(self, outputs: OutputTransaction) -> None:
        """Before any work: no output flag names an input, another output, or a missing
        directory (outputs that passes' options name are checked when written)."""
        a = self.args
        named = [
            ("-o", a.output_file), ("--tile-report", a.tile_report),
            ("--memory-map", a.memory_map), ("--plot-mem-alloc", a.plot_mem_alloc),
        ]
        if self._c_target() is not None and a.output_file is not None:
            if Path(a.output_file).suffix != ".c":
                raise UsageError(f"-t c writes a .c file and its .h beside it: -o {a.output_file} does not end in .c")
            named.append(("-o (the C header)", self._c_header_path()))
        given = [(what, path) for what, path in named if path is not None]
        for i, (what, path) in enumerate(given):
            outputs.check(path, what)
            for other_what, other in given[:i]:
                target = Path(os.path.realpath(path))
                if target == Path(os.path.realpath(other)) and (not target.exists() or target.is_file()):
                    raise OutputFileError(f"{what} {path} and {other_what} {other} name the same file")


def main(argv: Sequence[str] | None = None) -> None:
    try:
        with printed_warnings("tiler-opt"):
            TilerOptMain(argv).run()
    except (Exception, ArgSpecParseError) as e:  # xDSL's pipeline-syntax error is a BaseException
        sys.exit(report("tiler-opt", e))


if __name__ == "__main__":
    main()
