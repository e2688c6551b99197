"""Building a `func.func @main` of tiler ops from an ONNX graph.

Values are either IR values or constants not yet in the IR (`Const`): initializers,
`Constant` nodes and everything computed from constants only. Constants fold through
nodes (any op, evaluated by ONNX's reference implementation) and become `arith.constant`
only where a compute op consumes them, once per constant.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

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
from xdsl.ir import Block, Region, SSAValue

from tiler_dialect.attributes import HIERARCHY_ATTR_NAME, MemoryHierarchyAttr, MemorySpaceAttr
from tiler_dialect.hierarchy import MemoryHierarchy
from tiler_dialect.ops import NAME_ATTR, TilerOp
from tiler_passes.home_capacity import check_home_capacity
from tiler_tools.onnx_frontend.dtypes import mlir_element_type, numpy_dtype_of_onnx
from tiler_tools.onnx_frontend.errors import (
    DynamicShape,
    MalformedModel,
    ModelWarning,
    UnsupportedFeature,
    UnsupportedOp,
    node_label,
)
from tiler_tools.onnx_frontend.folding import fold_node
from tiler_tools.onnx_frontend.node import Const, Converter, Node, Value, declared_shape, short, value_dtype, value_shape
from tiler_tools.onnx_frontend.patterns import fuse_gelu
from tiler_tools.onnx_frontend.qdq import QGEMM_DOMAIN, fuse_qdq


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
                raise MalformedModel(f"{node.label}: cannot convert it: {type(e).__name__}: {short(e)}") from e
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
        declared = declared_shape(info)
        if declared is not None:
            actual = value_shape(v)
            if len(declared) != len(actual) or any(
                dd not in (None, 0) and dd != a for dd, a in zip(declared, actual)
            ):
                if [s for s in declared if s != 1] == [s for s in actual if s != 1]:
                    # only dims of size 1 differ (Deeploy declares a full reduction [1]):
                    # onnxruntime merges such shapes leniently and returns what it computes
                    warnings.warn(
                        f"graph output '{info.name}' is declared with shape {declared} but computes "
                        f"{list(actual)}, which differs only in dims of size 1: its shape is "
                        f"{list(actual)}, as ONNX computes it",
                        ModelWarning,
                        stacklevel=2,
                    )
                    return
                raise MalformedModel(
                    f"graph output '{info.name}' is declared with shape {declared} but computes "
                    f"{list(actual)}"
                )


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
