"""Building a `func.func @main` of tiler ops from an ONNX graph.

Values are either IR values or constants not yet in the IR (`Const`): initializers,
`Constant` nodes and everything computed from constants only. Constants fold through
nodes (any op, evaluated by ONNX's reference implementation) and become `arith.constant`
only where a compute op consumes them, once per constant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import onnx
from onnx import numpy_helper
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    ArrayAttr,
    BytesAttr,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FunctionType,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.attributes import HIERARCHY_ATTR_NAME, MemoryHierarchyAttr, MemorySpaceAttr
from tiler_dialect.hierarchy import MemoryHierarchy
from tiler_dialect.ops import NAME_ATTR, ReshapeOp, TilerOp, element_dtype
from tiler_dialect.ops.properties import bool_attr, float_attr, int_attr
from tiler_passes.home_capacity import check_home_capacity
from tiler_tools.onnx_frontend.dtypes import mlir_element_type, numpy_dtype_of_onnx
from tiler_tools.onnx_frontend.errors import (
    DynamicShape,
    MalformedModel,
    UnsupportedFeature,
    UnsupportedOp,
    node_label,
)
from tiler_tools.onnx_frontend.folding import fold_node
from tiler_tools.onnx_frontend.patterns import fuse_gelu
from tiler_tools.onnx_frontend.qdq import QGEMM_DOMAIN, fuse_qdq


@dataclass
class Const:
    """A constant known at import time; `name` is where it came from."""

    array: np.ndarray
    name: str
    ssa: SSAValue | None = None  # its arith.constant, once a compute op needed it


Value = SSAValue | Const


def value_shape(v: Value) -> tuple[int, ...]:
    if isinstance(v, Const):
        return tuple(v.array.shape)
    assert isinstance(v.type, TensorType)
    return tuple(v.type.get_shape())


def value_dtype(v: Value) -> np.dtype:
    if isinstance(v, Const):
        return v.array.dtype
    assert isinstance(v.type, TensorType)
    return element_dtype(v.type.element_type)


_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_$.\-]")
_MAX_NAME = 40


def ssa_name(onnx_name: str) -> str | None:
    """An SSA name hint from the ONNX value name, or None (numbered) when it is too long
    to help a reader; the node name stays in the op's `tiler.name`."""
    name = _INVALID_NAME_CHARS.sub("_", onnx_name)
    if not name or name[0].isdigit() or name[0] in "$.-":
        name = "v" + name
    if len(name) > _MAX_NAME:
        return None
    # the form the parser gives back (it drops a `_<digits>` suffix, which the printer
    # uses to tell equal names apart), so that printed IR re-prints identically; a name
    # that is nothing but such a suffix ('%0' -> '_0') is numbered instead
    return SSAValue.extract_valid_name(name) or None


@dataclass
class Node:
    """One ONNX node being converted: its attributes, inputs and emission helpers."""

    proto: onnx.NodeProto
    opset: int
    builder: GraphBuilder
    attrs: dict[str, object] = field(init=False)

    def __post_init__(self) -> None:
        schema = _schema(self.key[0], self.proto.op_type, self.opset)
        if schema is not None:
            _check_arity(self.proto, schema, self.label)
        declared = {name: int(a.type) for name, a in schema.attributes.items()} if schema else {}
        self.attrs = {}
        for a in self.proto.attribute:
            if a.name in self.attrs:
                raise MalformedModel(f"{self.label}: attribute '{a.name}' is given twice")
            self.attrs[a.name] = _attribute_value(a, declared.get(a.name), self.label)

    @property
    def key(self) -> tuple[str, str]:
        return (self.proto.domain if self.proto.domain != "ai.onnx" else "", self.proto.op_type)

    @property
    def label(self) -> str:
        return node_label(self.proto.name, self.proto.op_type, self.proto.domain, list(self.proto.output))

    def attr(self, name: str, default: object = None) -> object:
        """The attribute's value, or `default`. With a default, the value must be of the
        default's kind (a number, a list, a string): ops ONNX has no schema for (custom
        domains) are checked here rather than by the schema."""
        value = self.attrs.get(name, default)
        if default is not None and not _same_kind(value, default):
            raise MalformedModel(
                f"{self.label}: attribute '{name}' must be {_kind(default)}, got {_kind(value)} {_short(value)}"
            )
        return value

    def given(self, kind: object, convert: Callable[[Any], Attribute], *names: str) -> dict[str, Attribute]:
        """The named attributes the node sets, each checked to be of `kind`'s kind (as
        `attr` checks it) and converted to a property. The others are left out: the op's
        definition holds their ONNX defaults (`default_value=`)."""
        return {name: convert(self.attr(name, kind)) for name in names if name in self.attrs}

    def given_floats(self, *names: str) -> dict[str, Attribute]:
        return self.given(0.0, float_attr, *names)

    def given_ints(self, *names: str) -> dict[str, Attribute]:
        return self.given(0, int_attr, *names)

    def given_bools(self, *names: str) -> dict[str, Attribute]:
        """Integer attributes that ONNX uses as booleans (transA, count_include_pad, ...)."""
        return self.given(0, lambda v: bool_attr(bool(v)), *names)

    def has_input(self, i: int) -> bool:
        return i < len(self.proto.input) and self.proto.input[i] != ""

    def input(self, i: int) -> Value:
        return self.builder.values[self.proto.input[i]]

    def inputs(self) -> list[Value]:
        return [self.input(i) for i in range(len(self.proto.input)) if self.has_input(i)]

    def shape(self, i: int) -> tuple[int, ...]:
        return value_shape(self.input(i))

    def const_input(self, i: int, what: str) -> np.ndarray:
        assert i in self.builder.static_inputs.get(self.key, ()), f"{self.key} input {i} is not declared static"
        v = self.input(i)
        if not isinstance(v, Const):
            raise UnsupportedFeature(
                f"{self.label}: {what} (input #{i}, '{self.proto.input[i]}') must be a "
                "constant: only static values are supported"
            )
        return v.array

    def output_used(self, i: int) -> bool:
        return i < len(self.proto.output) and self.builder.is_used(self.proto.output[i])

    def fail(self, message: str) -> UnsupportedFeature:
        return UnsupportedFeature(f"{self.label}: {message}")

    def require_single_output(self, what: str = "its first output") -> None:
        for i in range(1, len(self.proto.output)):
            if self.output_used(i):
                raise self.fail(
                    f"output #{i} ('{self.proto.output[i]}') is used, but only {what} is supported"
                )

    def emit(self, op_class: type[TilerOp], inputs: Sequence[Value], props: dict | None = None) -> SSAValue:
        ssa = [self.builder.materialize(v) for v in inputs]
        attributes = {NAME_ATTR: StringAttr(self.proto.name)} if self.proto.name else {}
        try:
            op = op_class.build(ssa, props or {}, attributes, self.builder.level)
        except VerifyException as e:
            raise UnsupportedFeature(f"{self.label}: {e}") from None
        self.builder.block.add_op(op)
        return op.res[0]

    def emit_view(self, value: Value, shape: Sequence[int]) -> Value:
        shape = tuple(int(s) for s in shape)
        if isinstance(value, Const):
            return Const(value.array.reshape(shape), value.name)
        if value_shape(value) == shape:
            return value
        attributes = {NAME_ATTR: StringAttr(self.proto.name)} if self.proto.name else {}
        op = ReshapeOp.build_view(value, shape, attributes)
        self.builder.block.add_op(op)
        return op.res[0]


Converter = Callable[[Node], Sequence[Value]]


class GraphBuilder:
    def __init__(
        self,
        model: onnx.ModelProto,
        hierarchy: MemoryHierarchy,
        input_shapes: dict[str, tuple[int, ...]],
        converters: dict[tuple[str, str], Converter],
        static_inputs: dict[tuple[str, str], frozenset[int]],
    ):
        self.model = model
        self.static_inputs = static_inputs
        self.graph = model.graph
        self.hierarchy = hierarchy
        self.level = MemorySpaceAttr(hierarchy.defaultName)
        self.input_shapes = dict(input_shapes)
        self.converters = converters
        self.values: dict[str, Value] = {}
        self.block = Block()
        self.opsets = {(o.domain or ""): o.version for o in model.opset_import}
        self.uses: dict[str, int] = {}
        self.fused: dict[int, int] = {}  # fused node id -> rank its constants broadcast to

    # -- bookkeeping ------------------------------------------------------------------

    def is_used(self, name: str) -> bool:
        return self.uses.get(name, 0) > 0

    def materialize(self, v: Value) -> SSAValue:
        """The IR value for `v`, adding an `arith.constant` for a constant once."""
        if not isinstance(v, Const):
            return v
        if v.ssa is None:
            array = np.require(v.array, requirements="C")
            if array.size == 0:
                raise UnsupportedFeature(f"constant '{v.name}' has no elements: empty tensors are not supported")
            t = TensorType(mlir_element_type(array.dtype, f"constant '{v.name}'"), array.shape, self.level)
            op = arith.ConstantOp(DenseIntOrFPElementsAttr(t, BytesAttr(array.tobytes())), t)
            op.attributes[NAME_ATTR] = StringAttr(v.name)
            op.result.name_hint = ssa_name(v.name)
            self.block.add_op(op)
            v.ssa = op.result
        return v.ssa

    # -- the import -------------------------------------------------------------------

    def build(self) -> ModuleOp:
        self._check_opsets()
        self._add_initializers()
        args = self._add_inputs()
        constants = self._pattern_constants()
        outputs = {o.name for o in self.graph.output}
        nodes, added = fuse_qdq(list(self.graph.node), constants, outputs, self.opsets.get("", 0))
        for name, array in added.items():
            self.values[name] = Const(array, name)
        original = {id(n) for n in self.graph.node}
        if any(n.domain == QGEMM_DOMAIN and id(n) not in original for n in nodes):
            self.opsets.setdefault(QGEMM_DOMAIN, 1)  # the fusion's QGemm (a contrib op)
        nodes, self.fused = fuse_gelu(nodes, constants, outputs)
        nodes = self._sorted_nodes(nodes)
        for proto in nodes:
            for name in proto.input:
                self.uses[name] = self.uses.get(name, 0) + 1
        for out in self.graph.output:
            self.uses[out.name] = self.uses.get(out.name, 0) + 1
        for proto in nodes:
            self._convert(proto)
        results, res_attrs = self._outputs()
        self.block.add_op(func.ReturnOp(*results))
        main = func.FuncOp(
            "main",
            FunctionType.from_lists([a.type for a in args], [r.type for r in results]),
            Region(self.block),
            arg_attrs=ArrayAttr(
                DictionaryAttr({NAME_ATTR: StringAttr(i.name)}) for i in self.input_infos
            ),
            res_attrs=ArrayAttr(res_attrs),
        )
        module = ModuleOp([main])
        module.attributes[HIERARCHY_ATTR_NAME] = MemoryHierarchyAttr.from_hierarchy(self.hierarchy)
        check_home_capacity(module)
        return module

    def _check_opsets(self) -> None:
        if not self.model.opset_import:
            raise MalformedModel("the model declares no opset_import")
        if "ai.onnx" in self.opsets:  # another spelling of the default domain
            self.opsets.setdefault("", self.opsets["ai.onnx"])

    def _add_initializers(self) -> None:
        for t in self.graph.initializer:
            try:
                array = numpy_helper.to_array(t)
            except Exception as e:  # onnx raises various errors on corrupt tensors
                raise MalformedModel(f"initializer '{t.name}' cannot be read: {e}") from None
            self.values[t.name] = Const(array, t.name)
        for t in self.graph.sparse_initializer:
            raise UnsupportedFeature(f"sparse initializer '{t.values.name}' is not supported")

    def _add_inputs(self) -> list[SSAValue]:
        # older exporters list initializers among the inputs; those are weights
        inputs = self.input_infos = [i for i in self.graph.input if i.name not in self.values]
        unknown = set(self.input_shapes) - {i.name for i in inputs}
        if unknown:
            raise DynamicShape(
                f"--input-shape names {', '.join(sorted(unknown))}, which "
                f"{'is' if len(unknown) == 1 else 'are'} not a graph input; inputs: "
                f"{', '.join(i.name for i in inputs) or '(none)'}"
            )
        args = []
        for info in inputs:
            t = info.type
            if not t.HasField("tensor_type"):
                raise UnsupportedFeature(f"graph input '{info.name}' is not a tensor")
            dtype = numpy_dtype_of_onnx(t.tensor_type.elem_type, f"graph input '{info.name}'")
            shape = self._input_shape(info)
            arg_type = TensorType(mlir_element_type(dtype, info.name), shape, self.level)
            arg = self.block.insert_arg(arg_type, len(self.block.args))
            arg.name_hint = ssa_name(info.name)
            self.values[info.name] = arg
            args.append(arg)
        return args

    def _input_shape(self, info: onnx.ValueInfoProto) -> tuple[int, ...]:
        tt = info.type.tensor_type
        declared = (
            [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            if tt.HasField("shape")
            else None
        )
        pinned = self.input_shapes.get(info.name)
        if pinned is not None:
            if declared is not None:
                if len(declared) != len(pinned):
                    raise DynamicShape(
                        f"--input-shape {info.name} has rank {len(pinned)}, the model declares "
                        f"rank {len(declared)}"
                    )
                for i, (dd, pp) in enumerate(zip(declared, pinned)):
                    if dd not in (None, 0) and dd != pp:
                        raise DynamicShape(
                            f"--input-shape {info.name} sets dim {i} to {pp}, the model fixes it to {dd}"
                        )
            return tuple(pinned)
        if declared is None:
            raise DynamicShape(
                f"graph input '{info.name}' has no shape; give one with --input-shape {info.name}=DxDx..."
            )
        if any(dd is None or dd <= 0 for dd in declared):
            dims = "x".join(
                str(dd) if dd not in (None, 0) else (d.dim_param or "?")
                for dd, d in zip(declared, tt.shape.dim)
            )
            raise DynamicShape(
                f"graph input '{info.name}' has dynamic shape {dims}; pin it with "
                f"--input-shape {info.name}=" + "x".join(str(dd) if dd else "N" for dd in declared)
            )
        return tuple(declared)  # type: ignore[arg-type]

    def _pattern_constants(self) -> dict[str, np.ndarray]:
        """Constants visible before conversion: initializers and Constant nodes' values."""
        known = {name: v.array for name, v in self.values.items() if isinstance(v, Const)}
        for n in self.graph.node:
            if n.op_type == "Constant" and len(n.output) == 1:
                for a in n.attribute:
                    try:
                        if a.name == "value":
                            known[n.output[0]] = numpy_helper.to_array(a.t)
                        elif a.name in ("value_float", "value_int"):
                            known[n.output[0]] = np.array(onnx.helper.get_attribute_value(a))
                    except Exception:  # noqa: BLE001 - a corrupt value: converting the node reports it
                        pass
        return known

    def _sorted_nodes(self, nodes: list[onnx.NodeProto]) -> list[onnx.NodeProto]:
        """Nodes in a topological order (ONNX requires one; we repair mild violations)."""
        available = set(self.values) | {""}
        pending = list(nodes)
        ordered: list[onnx.NodeProto] = []
        while pending:
            progressed = False
            rest = []
            for n in pending:
                if all(i in available for i in n.input):
                    ordered.append(n)
                    available.update(n.output)
                    progressed = True
                else:
                    rest.append(n)
            if not progressed:
                n = rest[0]
                missing = [i for i in n.input if i not in available]
                produced = {o for m in rest for o in m.output}
                why = "a cycle" if all(m in produced for m in missing) else "an undefined value"
                raise MalformedModel(
                    f"{node_label(n.name, n.op_type, n.domain, list(n.output))} uses "
                    f"{', '.join(repr(m) for m in missing)}: {why} in the graph"
                )
            pending = rest
        return ordered

    def _convert(self, proto: onnx.NodeProto) -> None:
        domain = proto.domain if proto.domain != "ai.onnx" else ""
        opset = self.opsets.get(domain)
        if opset is None:
            raise MalformedModel(
                f"{node_label(proto.name, proto.op_type, proto.domain, list(proto.output))} uses domain "
                f"'{domain}', which the model does not import"
            )
        node = Node(proto, opset, self)
        inputs = [self.values[i] for i in proto.input if i]
        converter = self.converters.get((domain, proto.op_type))
        foldable = not _never_fold(proto.op_type) and id(proto) not in self.fused
        if foldable and all(isinstance(v, Const) for v in inputs):
            arrays = fold_node(proto, [v.array for v in inputs], self.model, node.label)  # type: ignore[union-attr]
            # the evaluator returns the outputs that have names; omitted ones ("") get none
            folded = iter(arrays)
            results: Sequence[Value] = [
                Const(next(folded), name) if name else Const(np.zeros(()), "") for name in proto.output
            ]
        elif converter is None:
            raise UnsupportedOp(
                f"{node.label}: unsupported op '{proto.op_type}'"
                + (f" in domain '{proto.domain}'" if domain else "")
                + f". Supported: {supported_ops_text(self.converters)}"
            )
        else:
            try:
                results = converter(node)
            except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError, OverflowError) as e:
                # a converter meeting input it does not expect (odd but parsable ONNX) is a
                # diagnostic about that node, not a crash
                raise MalformedModel(f"{node.label}: cannot convert it: {type(e).__name__}: {_short(e)}") from e
            if id(proto) in self.fused:
                results = [self._broadcast_rank(node, results[0], self.fused[id(proto)])]
        for name, value in zip(proto.output, results):
            if not name:
                continue
            if not isinstance(value, Const) and isinstance(value.owner, TilerOp) and value.name_hint is None:
                value.name_hint = ssa_name(name)
            self.values[name] = value

    @staticmethod
    def _broadcast_rank(node: Node, value: Value, rank: int) -> Value:
        """A fused chain's size-1 constants of rank > 0 broadcast its result to their
        rank: leading dims of size 1, i.e. a view."""
        shape = value_shape(value)
        if len(shape) >= rank:
            return value
        return node.emit_view(value, (1,) * (rank - len(shape)) + shape)

    def _outputs(self) -> tuple[list[SSAValue], list[DictionaryAttr]]:
        results, attrs = [], []
        for info in self.graph.output:
            if info.name not in self.values:
                raise MalformedModel(f"graph output '{info.name}' is not produced by any node")
            v = self.values[info.name]
            ssa = self.materialize(v)
            self._check_declared(info, v)
            results.append(ssa)
            attrs.append(DictionaryAttr({NAME_ATTR: StringAttr(info.name)}))
        return results, attrs

    def _check_declared(self, info: onnx.ValueInfoProto, v: Value) -> None:
        tt = info.type.tensor_type if info.type.HasField("tensor_type") else None
        if tt is None:
            return
        if tt.elem_type and numpy_dtype_of_onnx(tt.elem_type, info.name) != value_dtype(v):
            raise MalformedModel(
                f"graph output '{info.name}' is declared {onnx.TensorProto.DataType.Name(tt.elem_type)}"
                f" but computes {value_dtype(v)}"
            )
        if tt.HasField("shape"):
            declared = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            actual = value_shape(v)
            if len(declared) != len(actual) or any(
                dd not in (None, 0) and dd != a for dd, a in zip(declared, actual)
            ):
                raise MalformedModel(
                    f"graph output '{info.name}' is declared with shape {declared} but computes "
                    f"{list(actual)}"
                )


_VALUE_FIELD = {
    onnx.AttributeProto.INT: "i",
    onnx.AttributeProto.FLOAT: "f",
    onnx.AttributeProto.STRING: "s",
    onnx.AttributeProto.TENSOR: "t",
    onnx.AttributeProto.GRAPH: "g",
    onnx.AttributeProto.SPARSE_TENSOR: "sparse_tensor",
    onnx.AttributeProto.TYPE_PROTO: "tp",
}


@lru_cache(maxsize=None)
def _schema(domain: str, op_type: str, opset: int) -> onnx.defs.OpSchema | None:
    """ONNX's schema of the op at the model's opset; None for ops ONNX does not know
    (custom domains, Deeploy's integer ops)."""
    try:
        return onnx.defs.get_schema(op_type, opset, domain)
    except onnx.defs.SchemaError:
        return None


def _check_arity(proto: onnx.NodeProto, schema: onnx.defs.OpSchema, label: str) -> None:
    """Inputs and outputs as many as the schema allows, and every required input named."""
    inputs, outputs = len(proto.input), len(proto.output)
    if not schema.min_input <= inputs <= schema.max_input:
        raise MalformedModel(
            f"{label}: has {inputs} input(s), but {proto.op_type} takes "
            + (f"{schema.min_input}" if schema.min_input == schema.max_input else f"{schema.min_input} to {schema.max_input}")
        )
    if not schema.min_output <= outputs <= schema.max_output:
        raise MalformedModel(
            f"{label}: has {outputs} output(s), but {proto.op_type} gives "
            + (f"{schema.min_output}" if schema.min_output == schema.max_output else f"{schema.min_output} to {schema.max_output}")
        )
    single = onnx.defs.OpSchema.FormalParameterOption.Single
    for k, formal in enumerate(schema.inputs):
        if formal.option == single and (k >= inputs or not proto.input[k]):
            raise MalformedModel(f"{label}: input #{k} ({formal.name}) is required but not given")


def _attribute_value(a: onnx.AttributeProto, expected: int | None, label: str) -> object:
    """The value of attribute `a`, which must have the type the op's schema declares and
    carry a value of that type."""
    type_name = onnx.AttributeProto.AttributeType.Name
    if a.type == onnx.AttributeProto.UNDEFINED or a.type not in onnx.AttributeProto.AttributeType.values():
        raise MalformedModel(f"{label}: attribute '{a.name}' has no (or an unknown) type")
    if expected is not None and a.type != expected:
        raise MalformedModel(
            f"{label}: attribute '{a.name}' is {type_name(a.type)}, but the op declares it {type_name(expected)}"
        )
    field = _VALUE_FIELD.get(a.type)
    if field is not None and not a.HasField(field):
        raise MalformedModel(f"{label}: attribute '{a.name}' ({type_name(a.type)}) has no value")
    value = onnx.helper.get_attribute_value(a)
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise MalformedModel(f"{label}: attribute '{a.name}' is not valid UTF-8 text") from None
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        try:
            return [v.decode() for v in value]
        except UnicodeDecodeError:
            raise MalformedModel(f"{label}: attribute '{a.name}' is not valid UTF-8 text") from None
    return value


def _kind(value: object) -> str:
    if isinstance(value, bool | int | float | np.number):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def _same_kind(value: object, default: object) -> bool:
    return _kind(value) == _kind(default)


def _short(value: object, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Ops whose value is not a function of their inputs: folding them would freeze one sample.
_NONDETERMINISTIC = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}


def _never_fold(op_type: str) -> bool:
    return op_type in _NONDETERMINISTIC


def supported_ops_text(converters: dict[tuple[str, str], Converter]) -> str:
    names = sorted({(f"{d}." if d else "") + op for d, op in converters})
    return ", ".join(names) + "; any other op is folded when all its inputs are constants"


def import_graph(
    model: onnx.ModelProto,
    hierarchy: MemoryHierarchy,
    input_shapes: dict[str, tuple[int, ...]],
    converters: dict[tuple[str, str], Converter],
    static_inputs: dict[tuple[str, str], frozenset[int]],
) -> ModuleOp:
    return GraphBuilder(model, hierarchy, input_shapes, converters, static_inputs).build()
