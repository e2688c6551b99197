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
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects import affine, arith, builtin, func, math, memref, scf
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float32Type,
    Float64Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    StridedLayoutAttr,
    StringAttr,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.ir.affine import AffineBinaryOpExpr, AffineBinaryOpKind, AffineConstantExpr, AffineDimExpr, AffineExpr, AffineSymExpr
from xdsl.utils.exceptions import DiagnosticException
from xdsl.utils.target import Target

from tiler_dialect.attributes import MemorySpaceAttr
from tiler_tools.executor import signature


class CTargetError(DiagnosticException):
    """The module cannot be written as C (an op or type the C target does not take)."""


@dataclass(frozen=True)
class CProgram:
    source: str
    """The C file; it includes `header_name`."""
    header: str
    header_name: str
    io: dict
    """Names, shapes and element types of the entry point's inputs and outputs."""


# -- types -------------------------------------------------------------------------------


def c_type(t: Attribute) -> str:
    if isinstance(t, IndexType):
        return "long"
    if isinstance(t, IntegerType):
        width = t.width.data
        if width == 1:
            return "bool"
        if width not in (8, 16, 32, 64):
            raise CTargetError(f"the C target takes 1-, 8-, 16-, 32- and 64-bit integers, not {t}")
        return f"{'uint' if t.signedness.data.name == 'UNSIGNED' else 'int'}{width}_t"
    if isinstance(t, Float32Type):
        return "float"
    if isinstance(t, Float64Type):
        return "double"
    raise CTargetError(f"the C target has no type for {t}")


def _unsigned(t: Attribute) -> str:
    """The unsigned type integer arithmetic on `t` wraps in (at least 32 bits wide, so
    that C's promotion to int cannot overflow)."""
    if isinstance(t, IndexType):
        return "unsigned long"
    width = t.width.data if isinstance(t, IntegerType) else 32
    return f"uint{max(width, 32)}_t"


def _bits_unsigned(t: Attribute) -> str:
    """The unsigned type of exactly t's width (for unsigned comparisons and extensions)."""
    if isinstance(t, IndexType):
        return "unsigned long"
    width = t.width.data
    return "bool" if width == 1 else f"uint{width}_t"


def numpy_dtype(t: Attribute) -> str:
    if isinstance(t, Float32Type):
        return "float32"
    if isinstance(t, Float64Type):
        return "float64"
    if isinstance(t, IntegerType):
        return f"{'uint' if t.signedness.data.name == 'UNSIGNED' else 'int'}{t.width.data}"
    raise CTargetError(f"no numpy type for {t}")


_C_WORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if inline int long "
    "register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while "
    "bool true false in out main memcpy NAN INFINITY".split()
)
"""C's keywords and the names the generated code itself uses."""


def _identifier(text: str) -> str:
    name = re.sub(r"\W+", "_", text).strip("_") or "v"
    name = name if not name[0].isdigit() else "v_" + name
    return name + "_" if name in _C_WORDS else name


def _float_literal(value: float, t: Attribute) -> str:
    single = isinstance(t, Float32Type)
    if pymath.isnan(value):
        return "NAN" if single else "(double)NAN"
    if pymath.isinf(value):
        return ("-" if value < 0 else "") + ("INFINITY" if single else "(double)INFINITY")
    # the shortest decimal that reads back as the same float32 / double (C's conversion
    # rounds correctly), so exact and the same text every run
    text = str(np.float32(value)) if single else repr(float(value))
    if "e" not in text and "." not in text:
        text += ".0"
    return f"{text}f" if single else text


def _int_literal(value: int, t: Attribute) -> str:
    if isinstance(t, IntegerType) and t.width.data == 1:
        return "true" if value & 1 else "false"
    if isinstance(t, IntegerType) and t.width.data == 64 or isinstance(t, IndexType):
        if value == -(2**63):
            return "(-9223372036854775807L - 1)"
        return f"{value}L"
    if isinstance(t, IntegerType) and value == -(2 ** (t.width.data - 1)) and t.width.data == 32:
        return "(-2147483647 - 1)"
    return str(value)


# -- memrefs -----------------------------------------------------------------------------


@dataclass
class Buffer:
    """What the emitter knows of a memref value: a C pointer expression to its first
    element, its sizes and strides (C expressions; literals where static)."""

    pointer: str
    element: Attribute
    sizes: list[str]
    strides: list[str]
    const: bool = False

    def element_at(self, indices: Sequence[str]) -> str:
        return f"{self.pointer}[{_sum(_product(i, s) for i, s in zip(indices, self.strides))}]"


def _literal(text: str) -> int | None:
    text = text.removesuffix("L")
    return int(text) if text.lstrip("-").isdigit() else None


def _product(a: str, b: str) -> str:
    """a * b as C, folded where one side is a literal 0 or 1 (or both literals)."""
    x, y = _literal(a), _literal(b)
    if x is not None and y is not None:
        return str(x * y)
    if x == 0 or y == 0:
        return "0"
    if x == 1:
        return b
    if y == 1:
        return a
    return f"{_operand(a)} * {_operand(b)}"


def _sum(terms) -> str:
    kept = [t for t in terms if t != "0"]
    return " + ".join(kept) or "0"


def _operand(text: str) -> str:
    return text if re.fullmatch(r"-?\w+", text) else f"({text})"


def _static_strides(t: MemRefType) -> list[int | None]:
    layout = t.layout
    if isinstance(layout, StridedLayoutAttr):
        return [None if s is None else int(s) for s in layout.get_strides()]
    return list(MemRefType.strides_for_shape(t.get_shape())) if t.has_static_shape() else [None] * t.get_num_dims()


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
        self.name = _identifier(name)
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
        base = _identifier(hint)
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
            items = [_float_literal(float(x), t.element_type) for x in data]
        else:
            items = [_int_literal(int(x), t.element_type) for x in data]
        level = self._level_of(t)
        tiler_name = op.attributes.get("tiler.name")
        note = f" /* {tiler_name.data} */" if isinstance(tiler_name, StringAttr) else ""
        rows = [", ".join(items[i : i + 8]) for i in range(0, len(items), 8)]
        body = ",\n    ".join(rows)
        self.globals.append(
            f"static const {ctype} {name}[{count}] TILER_CONST_SECTION(\"{_section(level)}.rodata\"){note} = {{\n    {body}\n}};"
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
            offset = _attr_int(f.arg_attrs.data[i] if f.arg_attrs else None, "tiler.offset")
            level = self._level_of(t)
            if offset is None or level not in self.arenas:
                raise CTargetError(f"input {arg_names[i]} has no place in an arena: run the allocate pass first")
            name = self.fresh(arg_names[i])
            ctype = c_type(t.element_type)
            self.global_pointer(name, f"{ctype} *const {name} = ({ctype} *)({self.arenas[level][0]} + {offset});")
            self.fn.line(f"memcpy({name}, in[{i}], {_bytes(t)});")
            self.buffers[arg] = _contiguous(name, t)
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
        expected = _contiguous(buffer.pointer, t)
        if buffer.strides == expected.strides:
            self.fn.line(f"memcpy({target}, {buffer.pointer}, {_bytes(t)});")
            return
        raise CTargetError("an output that is not a contiguous buffer")

    def _arena(self, op: memref.AllocOp) -> None:
        level = _attr_text(op.attributes, "tiler.arena") or "arena"
        t = op.memref.type
        assert isinstance(t, MemRefType)
        size = max(1, pymath.prod(t.get_shape()))
        name = self.fresh(f"{self.name}_arena_{level}")
        self.arenas[level] = (name, size)
        self.globals.append(f"static uint8_t {name}[{size}] TILER_ARENA_SECTION(\"{_section(level)}\");")
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
            name = self.fresh(f"{self.name}_{_identifier(key)[:48]}")
            self.op_functions.append((name, key, self.fn))
            entry.line(f"{name}();")
        self.fn = entry

    def _comment(self, op: Operation) -> None:
        name = _attr_text(op.attributes, "tiler.name")
        if name and (isinstance(op, memref.DmaStartOp) or isinstance(op, memref.ViewOp) and not _at_fixed_place(op)):
            self.fn.line(f"/* {name.replace('*/', '* /')} */")

    def _op(self, op: Operation) -> None:
        handler = _HANDLERS.get(type(op))
        if handler is None:
            raise CTargetError(f"the C target does not take {op.name} (lower the module first: lower-tiler, convert-linalg-to-loops)")
        self._comment(op)
        handler(self, op)

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
                f"/* The network, op after op. */",
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


def _at_fixed_place(op: Operation) -> bool:
    """A value every op's function may use: a literal, a constant array, or a view at a
    constant offset of an arena."""
    if isinstance(op, arith.ConstantOp | memref.GetGlobalOp):
        return True
    if isinstance(op, memref.ViewOp):
        source = op.source.owner
        return (
            isinstance(source, memref.AllocOp) and "tiler.arena" in source.attributes
            and isinstance(op.byte_shift.owner, arith.ConstantOp) and not op.sizes
        )
    return False


def _segment_of(op: Operation) -> str | None:
    name = _attr_text(op.attributes, "tiler.tile_loop" if isinstance(op, scf.ForOp) else "tiler.name")
    if name is None and isinstance(op, scf.ForOp):
        name = _attr_text(op.attributes, "tiler.name")
    return name.split(":")[0] if name else None


def _segments(body: list[Operation]) -> dict[Operation, str | None] | None:
    """The op of the graph each top-level op belongs to (None: at a fixed place), or None
    when some value crosses from one op's code to another's (then one function)."""
    keys: dict[Operation, str | None] = {}
    for op in body:
        keys[op] = None if _at_fixed_place(op) else _segment_of(op)
    fixed = {op for op in body if _at_fixed_place(op)}
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


def _section(level: str) -> str:
    return "." + _identifier(level).lower()


def _bytes(t: MemRefType) -> int:
    from tiler_dialect.ops import element_dtype

    return pymath.prod(t.get_shape()) * element_dtype(t.element_type).itemsize


def _contiguous(pointer: str, t: MemRefType) -> Buffer:
    shape = t.get_shape()
    strides = MemRefType.strides_for_shape(shape)
    return Buffer(pointer, t.element_type, [str(s) for s in shape], [str(s) for s in strides])


def _attr_text(attrs, key: str) -> str | None:
    if attrs is None:
        return None
    data = attrs.data if hasattr(attrs, "data") and isinstance(attrs.data, dict) else attrs
    a = data.get(key) if isinstance(data, dict) else None
    return a.data if isinstance(a, StringAttr) else None


def _attr_int(attrs, key: str) -> int | None:
    if attrs is None:
        return None
    data = attrs.data if hasattr(attrs, "data") else attrs
    a = data.get(key)
    return a.value.data if isinstance(a, IntegerAttr) else None


_HELPERS = r"""/* arith's integer division and float min/max, as MLIR defines them */
static inline int64_t tiler_floordiv(int64_t a, int64_t b) { int64_t q = a / b; return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q; }
static inline int64_t tiler_ceildiv(int64_t a, int64_t b) { int64_t q = a / b; return (a % b != 0 && ((a < 0) == (b < 0))) ? q + 1 : q; }
static inline long tiler_mod(long a, long b) { long r = a % b; return r < 0 ? r + (b < 0 ? -b : b) : r; }
static inline float tiler_maximumf(float a, float b) { return (a != a || b != b) ? NAN : (a > b ? a : (b > a ? b : (signbit(a) ? b : a))); }
static inline float tiler_minimumf(float a, float b) { return (a != a || b != b) ? NAN : (a < b ? a : (b < a ? b : (signbit(a) ? a : b))); }
static inline double tiler_maximum(double a, double b) { return (a != a || b != b) ? NAN : (a > b ? a : (b > a ? b : (signbit(a) ? b : a))); }
static inline double tiler_minimum(double a, double b) { return (a != a || b != b) ? NAN : (a < b ? a : (b < a ? b : (signbit(a) ? a : b))); }
"""


# -- op handlers ---------------------------------------------------------------------------------

_HANDLERS: dict[type[Operation], object] = {}


def handles(*classes):
    def register(fn):
        for c in classes:
            _HANDLERS[c] = fn
        return fn

    return register




@handles(arith.ConstantOp)
def _constant(e: CEmitter, op: arith.ConstantOp) -> None:
    """A literal, written where it is used."""
    value, t = op.value, op.result.type
    if isinstance(value, IntegerAttr):
        e.names[op.result] = _int_literal(value.value.data, t)
    elif isinstance(value, FloatAttr):
        e.names[op.result] = _float_literal(value.value.data, t)
    else:
        raise CTargetError(f"arith.constant of {value}: only scalars")


_INT_BINARY = {arith.AddiOp: "+", arith.SubiOp: "-", arith.MuliOp: "*"}
_BITWISE = {arith.AndIOp: "&", arith.OrIOp: "|", arith.XOrIOp: "^"}
_FLOAT_BINARY = {arith.AddfOp: "+", arith.SubfOp: "-", arith.MulfOp: "*", arith.DivfOp: "/"}


@handles(*_INT_BINARY)
def _int_binary(e: CEmitter, op) -> None:
    a, b, t = e.value(op.lhs), e.value(op.rhs), op.result.type
    symbol = _INT_BINARY[type(op)]
    if isinstance(t, IndexType):
        e.define(op.result, f"{a} {symbol} {b}")
    else:  # wrapping, as arith's integers do
        u = _unsigned(t)
        e.define(op.result, f"({c_type(t)})(({u})({_bits_unsigned(t)}){a} {symbol} ({u})({_bits_unsigned(t)}){b})")


@handles(*_BITWISE)
def _bitwise(e: CEmitter, op) -> None:
    t = op.result.type
    e.define(op.result, f"({c_type(t)})({e.value(op.lhs)} {_BITWISE[type(op)]} {e.value(op.rhs)})")


@handles(*_FLOAT_BINARY)
def _float_binary(e: CEmitter, op) -> None:
    e.define(op.result, f"{e.value(op.lhs)} {_FLOAT_BINARY[type(op)]} {e.value(op.rhs)}")


@handles(arith.DivSIOp, arith.RemSIOp)
def _div_rem(e: CEmitter, op) -> None:
    symbol = "/" if isinstance(op, arith.DivSIOp) else "%"
    e.define(op.result, f"{e.value(op.lhs)} {symbol} {e.value(op.rhs)}")


@handles(arith.DivUIOp, arith.RemUIOp)
def _div_rem_unsigned(e: CEmitter, op) -> None:
    t = op.result.type
    u = _bits_unsigned(t)
    symbol = "/" if isinstance(op, arith.DivUIOp) else "%"
    e.define(op.result, f"({c_type(t)})(({u}){e.value(op.lhs)} {symbol} ({u}){e.value(op.rhs)})")


@handles(arith.FloorDivSIOp, arith.CeilDivSIOp)
def _floor_ceil_div(e: CEmitter, op) -> None:
    helper = "tiler_floordiv" if isinstance(op, arith.FloorDivSIOp) else "tiler_ceildiv"
    e.define(op.result, f"({c_type(op.result.type)}){helper}({e.value(op.lhs)}, {e.value(op.rhs)})")


@handles(arith.MinSIOp, arith.MaxSIOp)
def _min_max_signed(e: CEmitter, op) -> None:
    a, b = e.value(op.lhs), e.value(op.rhs)
    symbol = "<" if isinstance(op, arith.MinSIOp) else ">"
    e.define(op.result, f"{a} {symbol} {b} ? {a} : {b}")


@handles(arith.MinUIOp, arith.MaxUIOp)
def _min_max_unsigned(e: CEmitter, op) -> None:
    a, b, u = e.value(op.lhs), e.value(op.rhs), _bits_unsigned(op.result.type)
    symbol = "<" if isinstance(op, arith.MinUIOp) else ">"
    e.define(op.result, f"({u}){a} {symbol} ({u}){b} ? {a} : {b}")


@handles(arith.MaximumfOp, arith.MinimumfOp)
def _maximum_minimum(e: CEmitter, op) -> None:
    double = isinstance(op.result.type, Float64Type)
    helper = {True: "tiler_maximum", False: "tiler_minimum"}[isinstance(op, arith.MaximumfOp)] + ("" if double else "f")
    e.define(op.result, f"{helper}({e.value(op.lhs)}, {e.value(op.rhs)})")


@handles(arith.MaxnumfOp, arith.MinnumfOp)
def _maxnum_minnum(e: CEmitter, op) -> None:
    f = ("fmax" if isinstance(op, arith.MaxnumfOp) else "fmin") + ("" if isinstance(op.result.type, Float64Type) else "f")
    e.define(op.result, f"{f}({e.value(op.lhs)}, {e.value(op.rhs)})")


_CMPI = {0: "==", 1: "!=", 2: "<", 3: "<=", 4: ">", 5: ">=", 6: "<", 7: "<=", 8: ">", 9: ">="}


@handles(arith.CmpiOp)
def _cmpi(e: CEmitter, op: arith.CmpiOp) -> None:
    predicate = op.predicate.value.data
    a, b = e.value(op.lhs), e.value(op.rhs)
    if predicate >= 6:
        u = _bits_unsigned(op.lhs.type)
        a, b = f"({u}){a}", f"({u}){b}"
    e.define(op.result, f"{a} {_CMPI[predicate]} {b}", "p")


_CMPF_ORDERED = {1: "==", 2: ">", 3: ">=", 4: "<", 5: "<=", 6: "!="}


@handles(arith.CmpfOp)
def _cmpf(e: CEmitter, op: arith.CmpfOp) -> None:
    p = op.predicate.value.data
    a, b = e.value(op.lhs), e.value(op.rhs)
    unordered = f"({a} != {a} || {b} != {b})"
    if p == 0:
        text = "false"
    elif p == 15:
        text = "true"
    elif p == 7:
        text = f"!{unordered}"
    elif p == 14:
        text = unordered
    elif p in _CMPF_ORDERED:
        text = f"!{unordered} && {a} {_CMPF_ORDERED[p]} {b}"
    else:  # 8..13: unordered or the relation
        text = f"{unordered} || {a} {_CMPF_ORDERED[p - 7]} {b}"
    e.define(op.result, text, "p")


@handles(arith.SelectOp)
def _select(e: CEmitter, op: arith.SelectOp) -> None:
    e.define(op.result, f"{e.value(op.cond)} ? {e.value(op.lhs)} : {e.value(op.rhs)}")


@handles(arith.ExtSIOp, arith.TruncIOp, arith.IndexCastOp, arith.SIToFPOp, arith.FPToSIOp, arith.ExtFOp, arith.TruncFOp)
def _cast(e: CEmitter, op) -> None:
    e.define(op.result, f"({c_type(op.result.type)}){e.value(op.input)}")


@handles(arith.ExtUIOp, arith.UIToFPOp)
def _cast_unsigned(e: CEmitter, op) -> None:
    e.define(op.result, f"({c_type(op.result.type)})({_bits_unsigned(op.input.type)}){e.value(op.input)}")


@handles(arith.FPToUIOp)
def _float_to_unsigned(e: CEmitter, op) -> None:
    t = op.result.type
    e.define(op.result, f"({c_type(t)})({_bits_unsigned(t)}){e.value(op.input)}")


@handles(arith.ShLIOp, arith.ShRUIOp)
def _shift_unsigned(e: CEmitter, op) -> None:
    """Shifts of the bits as unsigned (defined in C for every value)."""
    t = op.result.type
    symbol = "<<" if isinstance(op, arith.ShLIOp) else ">>"
    e.define(op.result, f"({c_type(t)})(({_unsigned(t)})({_bits_unsigned(t)}){e.value(op.lhs)} {symbol} {e.value(op.rhs)})")


@handles(arith.ShRSIOp)
def _shift_right_signed(e: CEmitter, op) -> None:
    """floor(a / 2^b): C99 leaves >> of a negative value to the compiler; the runtime's
    tiler_floordiv is exact everywhere."""
    t = op.result.type
    e.define(op.result, f"({c_type(t)})tiler_floordiv({e.value(op.lhs)}, (int64_t)1 << {e.value(op.rhs)})")


@handles(arith.NegfOp)
def _negf(e: CEmitter, op) -> None:
    e.define(op.result, f"-{e.value(op.operand)}")


_MATH = {
    math.ExpOp: "exp", math.LogOp: "log", math.SqrtOp: "sqrt", math.TanhOp: "tanh", math.ErfOp: "erf",
    math.AbsFOp: "fabs", math.FloorOp: "floor", math.CeilOp: "ceil", math.RoundEvenOp: "rint",
    math.RoundOp: "round", math.SinOp: "sin", math.CosOp: "cos", math.Log1pOp: "log1p", math.ExpM1Op: "expm1",
}


@handles(*_MATH)
def _math_unary(e: CEmitter, op) -> None:
    suffix = "" if isinstance(op.result.type, Float64Type) else "f"
    e.define(op.result, f"{_MATH[type(op)]}{suffix}({e.value(op.operand)})")


@handles(math.RsqrtOp)
def _rsqrt(e: CEmitter, op) -> None:
    double = isinstance(op.result.type, Float64Type)
    e.define(op.result, f"{'1.0' if double else '1.0f'} / sqrt{'' if double else 'f'}({e.value(op.operand)})")


@handles(math.FmaOp)
def _fma(e: CEmitter, op) -> None:
    """One rounding, as the IR says (C99's fmaf; not a contraction the compiler chose)."""
    suffix = "" if isinstance(op.result.type, Float64Type) else "f"
    a, b, c = (e.value(v) for v in op.operands)
    e.define(op.result, f"fma{suffix}({a}, {b}, {c})")


@handles(math.PowFOp)
def _powf(e: CEmitter, op) -> None:
    suffix = "" if isinstance(op.result.type, Float64Type) else "f"
    e.define(op.result, f"pow{suffix}({e.value(op.lhs)}, {e.value(op.rhs)})")


def _affine(expr: AffineExpr, dims: Sequence[str], symbols: Sequence[str]) -> str:
    if isinstance(expr, AffineConstantExpr):
        return f"{expr.value}L"
    if isinstance(expr, AffineDimExpr):
        return dims[expr.position]
    if isinstance(expr, AffineSymExpr):
        return symbols[expr.position]
    assert isinstance(expr, AffineBinaryOpExpr)
    a, b = _affine(expr.lhs, dims, symbols), _affine(expr.rhs, dims, symbols)
    kind = expr.kind
    if kind == AffineBinaryOpKind.Add:
        return f"({a} + {b})"
    if kind == AffineBinaryOpKind.Mul:
        return f"({a} * {b})"
    helper = {AffineBinaryOpKind.Mod: "tiler_mod", AffineBinaryOpKind.FloorDiv: "tiler_floordiv", AffineBinaryOpKind.CeilDiv: "tiler_ceildiv"}[kind]
    return f"{helper}({a}, {b})"


@handles(affine.ApplyOp)
def _affine_apply(e: CEmitter, op: affine.ApplyOp) -> None:
    m = op.map.data
    operands = [e.value(v) for v in op.mapOperands]
    (result,) = m.results
    if isinstance(result, AffineConstantExpr):
        e.names[op.result] = f"{result.value}L"
        return
    e.define(op.result, _affine(result, operands[: m.num_dims], operands[m.num_dims :]), "i")


# memrefs


@handles(memref.ViewOp)
def _view(e: CEmitter, op: memref.ViewOp) -> None:
    source = e.buffers[op.source]
    t = op.result.type
    assert isinstance(t, MemRefType)
    if op.sizes:
        raise CTargetError("memref.view with dynamic sizes")
    ctype = c_type(t.element_type)
    what = _attr_text(op.attributes, "tiler.name")
    name = e.fresh(what or op.result.name_hint or "view")
    declaration = f"{ctype} *const {name} = ({ctype} *)({source.pointer} + {e.value(op.byte_shift)});"
    if _at_fixed_place(op):
        e.global_pointer(name, declaration + (f"  /* {what} */" if what else ""))
    else:
        e.fn.line(declaration, declares=name)
    e.buffers[op.result] = _contiguous(name, t)


@handles(memref.GetGlobalOp)
def _get_global(e: CEmitter, op: memref.GetGlobalOp) -> None:
    symbol = op.name_.string_value() if hasattr(op.name_, "string_value") else op.name_.root_reference.data
    name, t = e.constants[symbol]
    buffer = _contiguous(name, t)
    buffer.const = True
    e.buffers[op.memref] = buffer


@handles(memref.AllocOp, memref.AllocaOp)
def _alloc(e: CEmitter, op) -> None:
    t = op.memref.type
    assert isinstance(t, MemRefType)
    if not t.has_static_shape():
        raise CTargetError(f"{op.name} of a dynamic shape")
    count = max(1, pymath.prod(t.get_shape()))
    what = _attr_text(op.attributes, "tiler.name") or op.memref.name_hint or "buffer"
    name = e.fresh(what)
    if "tiler.dma_tags" in op.attributes:
        e.fn.line(f"tiler_dma_tag_t {name}[{count}] = {{{{0}}}};  /* {what} */")
        e.buffers[op.memref] = _contiguous(name, t)
        return
    # a scratch buffer outside the arenas (the lowering's per-row temporaries, a few
    # elements): on the stack, where the IR allocates it
    e.fn.line(f"{c_type(t.element_type)} {name}[{count}];", declares=name)
    e.buffers[op.memref] = _contiguous(name, t)


@handles(memref.DeallocOp)
def _dealloc(e: CEmitter, op) -> None:
    pass


def _index_list(e: CEmitter, static: Sequence[int], dynamic: Sequence[SSAValue]) -> list[str]:
    it = iter(dynamic)
    return [e.value(next(it)) if s == builtin.DYNAMIC_INDEX else str(s) for s in static]


@handles(memref.SubviewOp)
def _subview(e: CEmitter, op: memref.SubviewOp) -> None:
    source = e.buffers[op.source]
    t = op.result.type
    assert isinstance(t, MemRefType)
    offsets = _index_list(e, op.static_offsets.get_values(), op.offsets)
    sizes = _index_list(e, op.static_sizes.get_values(), op.sizes)
    steps = _index_list(e, op.static_strides.get_values(), op.strides)
    offset = _sum(_product(o, s) for o, s in zip(offsets, source.strides))
    if offset == "0":  # the same first element: the source's pointer
        name = source.pointer
    else:
        name = e.fresh(op.result.name_hint or "sub")
        qualifier = "const " if source.const else ""
        e.fn.line(f"{qualifier}{c_type(t.element_type)} *const {name} = {source.pointer} + {offset};", declares=name)
    kept_sizes, kept_strides = [], []
    result_shape = t.get_shape()
    static = _static_strides(t)
    j = 0
    for size, stride, step in zip(sizes, source.strides, steps):
        fits = j < len(result_shape) and (
            str(result_shape[j]) == size or (result_shape[j] == builtin.DYNAMIC_INDEX and not size.lstrip("-").isdigit())
        )
        if fits:  # greedy: a unit dim kept or dropped is all the same to the addresses
            kept_sizes.append(size)
            kept_strides.append(str(static[j]) if static[j] is not None else f"{stride} * {step}")
            j += 1
        elif size != "1":  # only unit dims are dropped
            raise CTargetError("memref.subview: cannot tell which unit dims it drops")
    if len(kept_sizes) != len(result_shape):
        raise CTargetError("memref.subview: cannot tell which unit dims it drops")
    e.buffers[op.result] = Buffer(name, t.element_type, kept_sizes, kept_strides, source.const)


@handles(memref.ExpandShapeOp, memref.CollapseShapeOp)
def _reshape(e: CEmitter, op) -> None:
    source = e.buffers[op.src]
    t = op.result.type
    assert isinstance(t, MemRefType)
    static = _static_strides(t)
    if any(s is None for s in static) or not t.has_static_shape():
        raise CTargetError(f"{op.name} with dynamic sizes or strides")
    e.buffers[op.result] = Buffer(source.pointer, t.element_type, [str(s) for s in t.get_shape()], [str(s) for s in static], source.const)


@handles(memref.DimOp)
def _dim(e: CEmitter, op: memref.DimOp) -> None:
    source = e.buffers[op.source]
    index = op.index.owner
    if not isinstance(index, arith.ConstantOp):
        raise CTargetError("memref.dim of a dynamic dim index")
    e.define(op.result, f"(long)({source.sizes[index.value.value.data]})", "dim")


@handles(memref.LoadOp)
def _load(e: CEmitter, op: memref.LoadOp) -> None:
    buffer = e.buffers[op.memref]
    e.define(op.res, buffer.element_at([e.value(i) for i in op.indices]), "x")


@handles(memref.StoreOp)
def _store(e: CEmitter, op: memref.StoreOp) -> None:
    buffer = e.buffers[op.memref]
    e.fn.line(f"{buffer.element_at([e.value(i) for i in op.indices])} = {e.value(op.value)};")


def _row_major_position(indices: Sequence[str], sizes: Sequence[str]) -> str:
    text = "0"
    for i, s in zip(indices, sizes):
        text = _sum([_product(text, s), i])
    return text


@handles(memref.DmaStartOp)
def _dma_start(e: CEmitter, op: memref.DmaStartOp) -> None:
    src, dst, tags = e.buffers[op.src], e.buffers[op.dest], e.buffers[op.tag]
    from tiler_dialect.ops import element_dtype

    element_bytes = element_dtype(src.element).itemsize

    def region(b: Buffer, indices) -> str:
        sizes = "(const long[]){" + ", ".join(b.sizes or ["1"]) + "}"
        strides = "(const long[]){" + ", ".join(b.strides or ["1"]) + "}"
        first = _row_major_position([e.value(i) for i in indices], b.sizes)
        return f"{b.pointer}, {len(b.sizes)}, {sizes}, {strides}, {first}"

    tag = "&" + tags.element_at([e.value(i) for i in op.tag_indices])
    e.fn.line(f"tiler_dma_start({tag}, {element_bytes}, {e.value(op.num_elements)},")
    e.fn.line(f"                {region(dst, op.dest_indices)},")
    e.fn.line(f"                {region(src, op.src_indices)});")


@handles(memref.DmaWaitOp)
def _dma_wait(e: CEmitter, op: memref.DmaWaitOp) -> None:
    tags = e.buffers[op.tag]
    e.fn.line(f"tiler_dma_wait(&{tags.element_at([e.value(i) for i in op.tag_indices])});")


# control flow


def _declare_results(e: CEmitter, results: Sequence[SSAValue], hint: str) -> list[str]:
    names = []
    for r in results:
        if isinstance(r.type, MemRefType):
            raise CTargetError("scf results of memref type")
        name = e.fresh(r.name_hint or hint)
        e.fn.line(f"{c_type(r.type)} {name};")
        e.names[r] = name
        names.append(name)
    return names


def _region_body(e: CEmitter, block: Block, targets: Sequence[str]) -> None:
    e.fn.depth += 1
    for op in block.ops:
        if isinstance(op, scf.YieldOp):
            for target, v in zip(targets, op.arguments):
                e.fn.line(f"{target} = {e.value(v)};")
        else:
            e._op(op)
    e.fn.depth -= 1


@handles(scf.ForOp)
def _for(e: CEmitter, op: scf.ForOp) -> None:
    name = _attr_text(op.attributes, "tiler.tile_loop")
    if name:
        e.fn.line(f"/* tiles of {name} */")
    carried = _declare_results(e, op.results, "acc")
    for var, init in zip(carried, op.iter_args):
        e.fn.line(f"{var} = {e.value(init)};")
    body = op.body.block
    index = e.fresh(body.args[0].name_hint or "i")
    e.names[body.args[0]] = index
    for arg, var in zip(body.args[1:], carried):
        e.names[arg] = var
    lb, ub, step = e.value(op.lb), e.value(op.ub), e.value(op.step)
    e.fn.line(f"for (long {index} = {lb}; {index} < {ub}; {index} += {step}) {{")
    _region_body(e, body, carried)
    e.fn.line("}")


@handles(scf.IfOp)
def _if(e: CEmitter, op: scf.IfOp) -> None:
    targets = _declare_results(e, op.results, "r")
    e.fn.line(f"if ({e.value(op.cond)}) {{")
    _region_body(e, op.true_region.block, targets)
    if op.false_region.blocks and list(op.false_region.block.ops):
        e.fn.line("} else {")
        _region_body(e, op.false_region.block, targets)
    e.fn.line("}")


@handles(func.ReturnOp)
def _return(e: CEmitter, op) -> None:
    pass  # the entry point copies the outputs out


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
