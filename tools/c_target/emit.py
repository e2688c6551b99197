"""C99 from the allocated IR (docs/c_target.md).

The allocated module is lowered here the way a user's pipeline would lower it
(`lower-tiler`, then xDSL's `convert-linalg-to-loops`), which leaves scalar code: scf
loops and ifs, arith, math, affine.apply, memref loads and stores on views of the arenas,
and the DMA ops. Each of those maps onto one C construct:

- an arena (`memref.alloc {tiler.arena}`) is a static byte array in its level's section,
  a buffer (`memref.view`) a typed pointer at its allocated offset, a subview a pointer
  moved by its offsets, with its sizes and strides known to the emitter (static ones as
  literals, dynamic ones as variables);
- a constant (`memref.global`) a const array in its level's read-only section;
- a DMA a call into tiler_runtime.h, a wait the matching wait;
- the graph's inputs are copied into the arena at their offsets on entry, its outputs out
  of it on return.

Integer arithmetic wraps (it is done on unsigned types, as arith defines it); float
arithmetic is float32 or double as in the IR, with no contraction into fused
multiply-adds (the runner compiles with -ffp-contract=off).
"""

from __future__ import annotations

import json
from collections import Counter
import math as pymath
import re
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import func, memref, scf
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float32Type,
    Float64Type,
    MemRefType,
    ModuleOp,
    StringAttr,
)
from xdsl.ir import Operation, SSAValue
from xdsl.utils.target import Target

from tiler_dialect.errors import raise_at
from tiler_dialect.attributes import MemorySpaceAttr
from tiler_tools.executor import signature
from tiler_tools.c_target.spelling import (
    Buffer,
    CTargetError,
    at_fixed_place,
    attr_int,
    attr_text,
    c_identifier,
    c_type,
    contiguous,
    float_literal,
    int_literal,
    memref_bytes,
    numpy_dtype,
    section_of,
)
from tiler_tools.c_target.handlers import HANDLERS

__all__ = ["CProgram", "CTarget", "CTargetError", "emit_c", "inline_header", "lower_for_c"]


@dataclass(frozen=True)
class CProgram:
    source: str
    """The C file; it includes `header_name`."""
    header: str
    header_name: str
    io: dict
    """Names, shapes and element types of the entry point's inputs and outputs."""



# -- the emitter ---------------------------------------------------------------------------


@dataclass
class _Function:
    lines: list[str] = field(default_factory=list)
    depth: int = 1
    declared: dict[int, str] = field(default_factory=dict)
    """Line number -> the name a pure declaration on it defines."""

    def line(self, text: str, declares: str | None = None) -> None:
        if declares is not None:
            self.declared[len(self.lines)] = declares
        self.lines.append("    " * self.depth + text)

    def pruned(self) -> list[str]:
        """The lines without declarations nothing reads (a subview's size the loads never
        need, say): C would warn of unused variables. Last first, so chains go too."""
        counts = Counter(w for line in self.lines for w in _WORD.findall(line))
        dropped = set()
        for number in sorted(self.declared, reverse=True):
            if counts[self.declared[number]] == 1:
                dropped.add(number)
                counts.subtract(_WORD.findall(self.lines[number]))
        return [line for i, line in enumerate(self.lines) if i not in dropped]


_WORD = re.compile(r"\b[A-Za-z_]\w*\b")


class CEmitter:
    def __init__(self, module: ModuleOp, name: str, header_name: str | None = None):
        self.module = module
        self.name = c_identifier(name)
        self.header_name = header_name or f"{self.name}.h"
        self.names: dict[SSAValue, str] = {}
        self.used: set[str] = set()
        self.buffers: dict[SSAValue, Buffer] = {}
        self.globals: list[str] = []
        self.arenas: dict[str, tuple[str, int]] = {}  # level -> (C name, bytes)
        self.constants: dict[str, tuple[str, MemRefType]] = {}  # symbol -> (C name, type)
        self.fn = _Function()
        self.op_functions: list[tuple[str, str, _Function]] = []
        self.global_lines: dict[int, str] = {}  # index in globals -> the name it declares

    # names

    def fresh(self, hint: str) -> str:
        base = c_identifier(hint)
        name, k = base, 1
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name

    def value(self, v: SSAValue) -> str:
        return self.names[v]

    def define(self, v: SSAValue, expression: str, hint: str | None = None) -> None:
        """Declare a C variable holding `expression` for the scalar value v."""
        name = self.fresh(hint or v.name_hint or "v")
        self.fn.line(f"const {c_type(v.type)} {name} = {expression};", declares=name)
        self.names[v] = name

    # the module

    def emit(self) -> CProgram:
        funcs = [op for op in self.module.ops if isinstance(op, func.FuncOp)]
        if len(funcs) != 1:
            raise CTargetError(f"the C target takes a module of one function, got {len(funcs)}")
        for op in self.module.ops:
            if isinstance(op, memref.GlobalOp):
                self._global(op)
            elif not isinstance(op, func.FuncOp):
                raise CTargetError(f"the C target does not take a top-level {op.name}")
        return self._function(funcs[0])

    def _level_of(self, t: MemRefType) -> str:
        space = t.memory_space
        return space.level.data if isinstance(space, MemorySpaceAttr) else "host"

    def _global(self, op: memref.GlobalOp) -> None:
        t = op.type
        assert isinstance(t, MemRefType)
        value = op.initial_value
        if not isinstance(value, DenseIntOrFPElementsAttr):
            raise CTargetError(f"constant @{op.sym_name.data} has no dense initial value")
        name = self.fresh("const_" + op.sym_name.data)
        ctype = c_type(t.element_type)
        data = value.get_values()
        count = max(1, pymath.prod(t.get_shape()))
        if len(data) == 1 and count > 1:  # a splat
            data = list(data) * count
        if isinstance(t.element_type, Float32Type | Float64Type):
            items = [float_literal(float(x), t.element_type) for x in data]
        else:
            items = [int_literal(int(x), t.element_type) for x in data]
        level = self._level_of(t)
        tiler_name = op.attributes.get("tiler.name")
        note = f" /* {tiler_name.data} */" if isinstance(tiler_name, StringAttr) else ""
        rows = [", ".join(items[i : i + 8]) for i in range(0, len(items), 8)]
        body = ",\n    ".join(rows)
        self.globals.append(
            f"static const {ctype} {name}[{count}] TILER_CONST_SECTION(\"{section_of(level)}.rodata\"){note} = {{\n    {body}\n}};"
        )
        self.constants[op.sym_name.data] = (name, t)

    def _function(self, f: func.FuncOp) -> CProgram:
        block = f.body.block
        ins, outs = signature(self.module)  # the names the executor and tiler-run use
        arg_names, res_names = [n for n, _ in ins], [n for n, _ in outs]
        inputs, outputs = [], []
        arena_ops = [op for op in block.ops if isinstance(op, memref.AllocOp) and "tiler.arena" in op.attributes]
        for op in arena_ops:  # arenas first: the inputs live in them
            self._arena(op)
        for i, arg in enumerate(block.args):
            t = arg.type
            if not isinstance(t, MemRefType):
                raise CTargetError(f"input {arg_names[i]} is not a memref")
            offset = attr_int(f.arg_attrs.data[i] if f.arg_attrs else None, "tiler.offset")
            level = self._level_of(t)
            if offset is None or level not in self.arenas:
                raise CTargetError(f"input {arg_names[i]} has no place in an arena: run the allocate pass first")
            name = self.fresh(arg_names[i])
            ctype = c_type(t.element_type)
            self.global_pointer(name, f"{ctype} *const {name} = ({ctype} *)({self.arenas[level][0]} + {offset});")
            self.fn.line(f"memcpy({name}, in[{i}], {memref_bytes(t)});")
            self.buffers[arg] = contiguous(name, t)
            inputs.append({"name": arg_names[i], "shape": t.get_shape(), "dtype": numpy_dtype(ins[i][1].element_type)})
        body = [op for op in block.ops if op not in arena_ops and not isinstance(op, func.ReturnOp)]
        self._ops_as_functions(body)
        ret = block.last_op
        assert isinstance(ret, func.ReturnOp)
        for i, v in enumerate(ret.arguments):
            t = v.type
            assert isinstance(t, MemRefType)
            self._copy_out(self.buffers[v], t, f"out[{i}]")
            outputs.append({"name": res_names[i], "shape": t.get_shape(), "dtype": numpy_dtype(outs[i][1].element_type)})
        self.fn.line("return 0;")
        io = {"inputs": inputs, "outputs": outputs}
        return self._program(io)

    def _copy_out(self, buffer: Buffer, t: MemRefType, target: str) -> None:
        expected = contiguous(buffer.pointer, t)
        if buffer.strides == expected.strides:
            self.fn.line(f"memcpy({target}, {buffer.pointer}, {memref_bytes(t)});")
            return
        raise CTargetError("an output that is not a contiguous buffer")

    def _arena(self, op: memref.AllocOp) -> None:
        level = attr_text(op.attributes, "tiler.arena") or "arena"
        t = op.memref.type
        assert isinstance(t, MemRefType)
        size = max(1, pymath.prod(t.get_shape()))
        name = self.fresh(f"{self.name}_arena_{level}")
        self.arenas[level] = (name, size)
        self.globals.append(f"static uint8_t {name}[{size}] TILER_ARENA_SECTION(\"{section_of(level)}\");")
        self.buffers[op.memref] = Buffer(name, t.element_type, [str(size)], ["1"])

    # blocks and ops

    def global_pointer(self, name: str, declaration: str) -> None:
        """A pointer at a fixed place in an arena, at file scope (every op's function sees it)."""
        self.global_lines[len(self.globals)] = name
        self.globals.append(f"static {declaration}")

    def _ops_as_functions(self, body: list[Operation]) -> None:
        """One static function per op of the graph (its buffers, DMA and tile loops), called
        in order from the entry point; buffers at fixed places are file-scope pointers."""
        keys = _segments(body)
        if keys is None:  # a value crosses ops: keep one function
            for op in body:
                self._op(op)
            return
        for op in body:
            if keys[op] is None:  # at fixed places (file scope): constants, arena views
                self._op(op)
        entry = self.fn
        for key in dict.fromkeys(k for k in keys.values() if k is not None):
            self.fn = _Function()
            for op in body:
                if keys[op] == key:
                    self._op(op)
            name = self.fresh(f"{self.name}_{c_identifier(key)[:48]}")
            self.op_functions.append((name, key, self.fn))
            entry.line(f"{name}();")
        self.fn = entry

    def _comment(self, op: Operation) -> None:
        name = attr_text(op.attributes, "tiler.name")
        if name and (isinstance(op, memref.DmaStartOp) or isinstance(op, memref.ViewOp) and not at_fixed_place(op)):
            self.fn.line(f"/* {name.replace('*/', '* /')} */")

    def _op(self, op: Operation) -> None:
        handler = HANDLERS.get(type(op))
        if handler is None:
            raise_at(op, CTargetError(f"the C target does not take {op.name} (lower the module first: lower-tiler, convert-linalg-to-loops)"))
        self._comment(op)
        try:
            handler(self, op)
        except CTargetError as e:
            if getattr(e, "__notes__", None):  # located already
                raise
            raise_at(op, e)

    def _program(self, io: dict) -> CProgram:
        guard = f"{self.name.upper()}_H"
        header_name = self.header_name
        decl = f"int {self.name}_run(const void *const in[], void *const out[])"
        lines = [
            f"/* {self.name}: generated by the tiler's C target. Inputs and outputs, by position in in[] and out[]:",
        ]
        for role, items in (("input", io["inputs"]), ("output", io["outputs"])):
            for i, item in enumerate(items):
                lines.append(f" *   {role} {i}: {item['name']}, {item['dtype']}{list(item['shape'])}")
        lines += [
            " * Buffers are row-major and contiguous.",
            f" * tiler-io: {json.dumps(io, sort_keys=True)}",
            " */",
            f"#ifndef {guard}",
            f"#define {guard}",
            "",
            f"#define {self.name.upper()}_INPUTS {len(io['inputs'])}",
            f"#define {self.name.upper()}_OUTPUTS {len(io['outputs'])}",
            "",
            "/* Runs the network once; returns 0. */",
            decl + ";",
            "",
            "#endif",
            "",
        ]
        header = "\n".join(lines)
        arena_lines = [f" *   {level}: {size} bytes" for level, (_, size) in self.arenas.items()]
        source = "\n".join(
            [
                f"/* {self.name}: generated by the tiler's C target from the allocated IR. One static",
                " * arena per memory level, every buffer at its allocated offset in it:",
                *arena_lines,
                " */",
                "#include <math.h>",
                "#include <stdbool.h>",
                "#include <stdint.h>",
                "#include <string.h>",
                "",
                '#include "tiler_runtime.h"',
                f'#include "{header_name}"',
                "",
                "#ifndef TILER_ARENA_ALIGNMENT",
                "#define TILER_ARENA_ALIGNMENT 16",
                "#endif",
                "/* Each level's arena and constants in sections of its own, for the linker script to place. */",
                "#ifndef TILER_ARENA_SECTION",
                "#define TILER_ARENA_SECTION(name) __attribute__((section(name), aligned(TILER_ARENA_ALIGNMENT)))",
                "#endif",
                "#ifndef TILER_CONST_SECTION",
                "#define TILER_CONST_SECTION(name) __attribute__((section(name), aligned(TILER_ARENA_ALIGNMENT)))",
                "#endif",
                "",
                _HELPERS,
                *self.globals,
                "",
                *self._function_texts(),
                "/* The network, op after op. */",
                decl + " {",
                *self.fn.pruned(),
                "}",
                "",
            ]
        )
        return CProgram(_without_unused_globals(source, self.globals, self.global_lines), header, header_name, io)

    def _function_texts(self) -> list[str]:
        lines = []
        for name, node, fn in self.op_functions:
            lines.append(f"/* ONNX node '{node.replace('*/', '* /')}' */")
            lines.append(f"static void {name}(void) {{")
            lines.extend(fn.pruned())
            lines.append("}")
            lines.append("")
        return lines


def _segment_of(op: Operation) -> str | None:
    name = attr_text(op.attributes, "tiler.tile_loop" if isinstance(op, scf.ForOp) else "tiler.name")
    if name is None and isinstance(op, scf.ForOp):
        name = attr_text(op.attributes, "tiler.name")
    return name.split(":")[0] if name else None


def _segments(body: list[Operation]) -> dict[Operation, str | None] | None:
    """The op of the graph each top-level op belongs to (None: at a fixed place), or None
    when some value crosses from one op's code to another's (then one function)."""
    keys: dict[Operation, str | None] = {}
    for op in body:
        keys[op] = None if at_fixed_place(op) else _segment_of(op)
    fixed = {op for op in body if at_fixed_place(op)}
    for op in body:  # an unnamed op goes with what it uses (a dealloc with its alloc)
        if keys[op] is None and op not in fixed:
            for operand in op.operands:
                owner = operand.owner
                if isinstance(owner, Operation) and keys.get(owner) is not None:
                    keys[op] = keys[owner]
                    break
    following: str | None = None
    for op in reversed(body):  # ... or with the next named op (a subview before its DMA)
        if op in fixed:
            continue
        if keys[op] is None:
            keys[op] = following
        following = keys[op]
    preceding: str | None = None
    for op in body:
        if op not in fixed:
            if keys[op] is None:
                keys[op] = preceding
            preceding = keys[op]
    order = [keys[op] for op in body if op not in fixed]
    if any(a != b and b in order[: i] for i, (a, b) in enumerate(zip(order, order[1:]))):
        return None  # an op's code is not contiguous
    for op in body:
        for inner in op.walk():
            for operand in inner.operands:
                owner = operand.owner
                if isinstance(owner, Operation) and owner in keys and owner not in fixed and keys[owner] != keys[op]:
                    return None
    return keys


def _without_unused_globals(source: str, globals_: list[str], declared: dict[int, str]) -> str:
    """Drop file-scope pointers nothing uses (C warns of unused static variables)."""
    counts = Counter(_WORD.findall(source))
    unused = {globals_[i] for i, name in declared.items() if counts[name] == 1}
    if not unused:
        return source
    return "\n".join(line for line in source.split("\n") if line not in unused)



_HELPERS = r"""/* arith's integer division and float min/max, as MLIR defines them */
static inline int64_t tiler_floordiv(int64_t a, int64_t b) { int64_t q = a / b; return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q; }
static inline int64_t tiler_ceildiv(int64_t a, int64_t b) { int64_t q = a / b; return (a % b != 0 && ((a < 0) == (b < 0))) ? q + 1 : q; }
static inline long tiler_mod(long a, long b) { long r = a % b; return r < 0 ? r + (b < 0 ? -b : b) : r; }
static inline float tiler_maximumf(float a, float b) { return (a != a || b != b) ? NAN : (a > b ? a : (b > a ? b : (signbit(a) ? b : a))); }
static inline float tiler_minimumf(float a, float b) { return (a != a || b != b) ? NAN : (a < b ? a : (b < a ? b : (signbit(a) ? a : b))); }
static inline double tiler_maximum(double a, double b) { return (a != a || b != b) ? NAN : (a > b ? a : (b > a ? b : (signbit(a) ? b : a))); }
static inline double tiler_minimum(double a, double b) { return (a != a || b != b) ? NAN : (a < b ? a : (b < a ? b : (signbit(a) ? a : b))); }
"""


# -- the whole path ------------------------------------------------------------------------------


def lower_for_c(module: ModuleOp) -> ModuleOp:
    """A copy of the allocated module lowered to scalar code (the module is not changed)."""
    from xdsl.transforms.convert_linalg_to_loops import ConvertLinalgToLoopsPass

    from tiler_passes.lower_tiler import lower_tiler

    lowered = module.clone()
    lower_tiler(lowered)
    ConvertLinalgToLoopsPass().apply(Context(), lowered)
    return lowered


def emit_c(module: ModuleOp, name: str = "model", header_name: str | None = None) -> CProgram:
    """The allocated module as C: `name`_run in the source, its declaration in the header
    (which the source includes as `header_name`, by default NAME.h)."""
    if not any(isinstance(op, memref.AllocOp) and "tiler.arena" in op.attributes for op in module.walk()):
        raise CTargetError("the C target takes allocated IR (buffers in arenas): run --tile --allocate first")
    return CEmitter(lower_for_c(module), name, header_name).emit()


def inline_header(program: CProgram) -> str:
    """The C file with its header pasted in place of the #include: one text for stdout."""
    return program.source.replace(f'#include "{program.header_name}"\n', program.header, 1)


@dataclass(frozen=True)
class CTarget(Target):
    """`-t c`: the allocated module as C99 (with -o FILE.c, the header goes to FILE.h;
    on stdout it is pasted into the C text). `c{prefix=NAME}` names the entry point
    NAME_run (default: the output file's stem, else model)."""

    name = "c"
    prefix: str = ""

    def emit(self, ctx: Context, module: ModuleOp, output) -> None:
        output.write(inline_header(emit_c(module, self.prefix or "model")))
