"""Deeploy's integer graphs: ONNX graphs whose float tensors hold integers.

Deeploy's test networks store every tensor as float (or int64) and read it as an integer
type it infers from the values (docs/research/deeploy_integer_semantics.md). Imported in
integer mode, such a graph becomes integer IR that computes on the real integer values:

- graph inputs get the types the caller gives (`minimal_integer_dtype` of sample values
  is Deeploy's rule: the narrowest of uint8, int8, uint16, int16, uint32, int32);
- float constants holding integers become integer constants, narrowed where an op
  needs it (8-bit weights, int32 requantization parameters);
- Conv, Gemm and MatMul accumulate in int32; Add, Sub, Mul, ReduceSum widen to int32;
  ReduceMean rounds as Deeploy's template does;
- RequantShift and Deeploy's integer kernels (iSoftmax, iRMSNorm, iHardswish, iNoNorm,
  TrueIntegerDiv) become tiler ops, in domain '' or 'ai.onnx.contrib';
- a Conv, Gemm or MatMul (with a constant Add) whose only use is a RequantShift becomes
  one requantizing op, as Deeploy's PULP target fuses them: its int32 accumulator lives
  only inside a tile.

The graph is repaired where Deeploy's exporter wrote invalid ONNX: Pad with `pads` as an
attribute at opset 11 and later, declared element types that are not the values'.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import helper, numpy_helper
from xdsl.dialects.builtin import IntegerType

from tiler_dialect.ops import (
    AddOp,
    CastOp,
    ConvIntegerOp,
    IntegerHardswishOp,
    IntegerNoNormOp,
    IntegerRMSNormOp,
    IntegerSoftmaxOp,
    MatMulIntegerOp,
    MulOp,
    ReduceMeanOp,
    ReduceSumOp,
    RequantizedConvOp,
    RequantizedMatMulOp,
    RequantShiftOp,
    SubOp,
    TransposeOp,
)
from tiler_dialect.ops.properties import bool_attr, int_attr, ints_attr
from tiler_tools.onnx_frontend.converters import conv_props
from tiler_tools.onnx_frontend.errors import MalformedModel, UnsupportedFeature
from tiler_tools.onnx_frontend.node import Const, Converter, Node, Value, value_dtype, value_shape
from xdsl.dialects.builtin import StringAttr

FUSED_DOMAIN = "tiler.integer"
"""The domain of the fused nodes the rewrite adds (RequantizedConv, RequantizedGemm)."""

CUSTOM_DOMAINS = ("", "ai.onnx.contrib")
"""Where Deeploy's exporters put RequantShift and the integer kernels."""

_CANDIDATES = ("uint8", "int8", "uint16", "int16", "uint32", "int32")


def minimal_integer_dtype(values: np.ndarray, what: str = "the values") -> np.dtype:
    """Deeploy's type of a tensor from its values: the narrowest integer type holding
    them, unsigned before signed."""
    array = np.asarray(values)
    if array.size and not np.array_equal(array, np.round(array)):
        raise UnsupportedFeature(f"{what} are not integers: an integer graph needs integer inputs")
    lo, hi = (int(array.min()), int(array.max())) if array.size else (0, 0)
    for name in _CANDIDATES:
        info = np.iinfo(name)
        if info.min <= lo and hi <= info.max:
            return np.dtype(name)
    raise UnsupportedFeature(f"{what} range over [{lo}, {hi}], wider than int32")


def graph_inputs(model: onnx.ModelProto) -> list[str]:
    """The graph inputs a caller feeds: those that are not initializers, in graph order."""
    initializers = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in initializers]


def sample_input_types(model: onnx.ModelProto, samples: Sequence[np.ndarray]) -> dict[str, np.dtype]:
    """Each graph input's type from sample values given in graph order, as Deeploy's
    test harness pairs `inputs.npz` with the graph (arrays beyond the inputs are ignored)."""
    names = graph_inputs(model)
    if len(samples) < len(names):
        raise UnsupportedFeature(f"{len(samples)} sample array(s) for {len(names)} graph input(s)")
    return {name: minimal_integer_dtype(a, f"the sample values of '{name}'") for name, a in zip(names, samples)}


# -- the graph rewrite ---------------------------------------------------------------------


def _integer_valued(array: np.ndarray) -> bool:
    return np.issubdtype(array.dtype, np.floating) and bool(np.all(np.isfinite(array))) and np.array_equal(array, np.round(array))


def _as_integer_tensor(t: onnx.TensorProto) -> onnx.TensorProto:
    array = numpy_helper.to_array(t)
    if not _integer_valued(array):
        return t
    return numpy_helper.from_array(array.astype(np.int64), t.name)


def prepare_integer_graph(model: onnx.ModelProto, input_types: dict[str, np.dtype]) -> onnx.ModelProto:
    """A copy of `model` typed as integers and with Deeploy's fusions applied."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    for info in graph.input:
        if info.name in initializers:
            continue
        if info.name not in input_types:
            raise UnsupportedFeature(
                f"graph input '{info.name}' has no integer type: give it with --input-type {info.name}=TYPE "
                "(or an inputs.npz beside the model)"
            )
        info.type.tensor_type.elem_type = helper.np_dtype_to_tensor_dtype(np.dtype(input_types[info.name]))
    unknown = set(input_types) - {i.name for i in graph.input if i.name not in initializers}
    if unknown:
        raise UnsupportedFeature(f"--input-type names {', '.join(sorted(unknown))}, which is not a graph input")
    for i, t in enumerate(graph.initializer):
        graph.initializer[i].CopyFrom(_as_integer_tensor(t))
    for n in graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value" and a.type == onnx.AttributeProto.TENSOR:
                    a.t.CopyFrom(_as_integer_tensor(a.t))
    for info in graph.output:  # declared types are the exporter's, not the values'
        if info.type.HasField("tensor_type"):
            info.type.tensor_type.elem_type = 0
    del graph.value_info[:]
    opset = {(o.domain or ""): o.version for o in model.opset_import}.get("", 0)
    nodes = [_pad_attributes(n, graph) if n.op_type == "Pad" and opset >= 11 else n for n in graph.node]
    nodes = _fuse_requant(nodes, {t.name for t in graph.initializer}, {o.name for o in graph.output})
    del graph.node[:]
    graph.node.extend(nodes)
    if any(n.domain == FUSED_DOMAIN for n in nodes):
        model.opset_import.append(helper.make_opsetid(FUSED_DOMAIN, 1))
    return model


def _pad_attributes(n: onnx.NodeProto, graph: onnx.GraphProto) -> onnx.NodeProto:
    """Pad with `pads` (and `value`) as attributes, as opset 2 had them, in its opset-11 form."""
    attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
    if "pads" not in attrs or len(n.input) != 1:
        return n
    base = n.output[0]
    graph.initializer.append(numpy_helper.from_array(np.array(attrs["pads"], np.int64), f"{base}_pads"))
    inputs = [n.input[0], f"{base}_pads"]
    if "value" in attrs:
        graph.initializer.append(numpy_helper.from_array(np.array(float(attrs["value"])), f"{base}_value"))
        inputs.append(f"{base}_value")
    kept = {k: v for k, v in attrs.items() if k not in ("pads", "value")}
    return helper.make_node("Pad", inputs, list(n.output), name=n.name, **kept)


def _is_custom(n: onnx.NodeProto | None, op_type: str) -> bool:
    return n is not None and n.op_type == op_type and n.domain in CUSTOM_DOMAINS


def _is_standard(n: onnx.NodeProto | None, op_type: str) -> bool:
    return n is not None and n.op_type == op_type and n.domain in ("", "ai.onnx")


def _fuse_requant(nodes: list[onnx.NodeProto], constants: set[str], graph_outputs: set[str]) -> list[onnx.NodeProto]:
    """Each Conv / Gemm / MatMul [-> Add(constant)] -> RequantShift chain as one node."""
    producer = {o: n for n in nodes for o in n.output}
    uses: dict[str, int] = {}
    for n in nodes:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1

    def sole(value: str) -> onnx.NodeProto | None:
        """The producer of `value` when the chain is its only user."""
        if uses.get(value) != 1 or value in graph_outputs:
            return None
        return producer.get(value)

    removed: set[int] = set()
    replaced: dict[int, onnx.NodeProto] = {}
    for rq in nodes:
        if not _is_custom(rq, "RequantShift") or len(rq.input) != 3 or len(rq.output) != 1:
            continue
        p = sole(rq.input[0])
        chain: list[onnx.NodeProto] = []
        fused = None
        if _is_standard(p, "Conv") and len(p.input) == 2:  # type: ignore[union-attr]
            fused = helper.make_node("RequantizedConv", [*p.input, *rq.input[1:]], list(rq.output), domain=FUSED_DOMAIN)  # type: ignore[union-attr]
            chain = [p]  # type: ignore[list-item]
        elif _is_standard(p, "Gemm") and len(p.input) in (2, 3):  # type: ignore[union-attr]
            a, b, *c = p.input  # type: ignore[union-attr]
            fused = helper.make_node("RequantizedGemm", [a, b, c[0] if c else "", *rq.input[1:]], list(rq.output), domain=FUSED_DOMAIN)
            chain = [p]  # type: ignore[list-item]
        elif _is_standard(p, "MatMul"):
            fused = helper.make_node("RequantizedGemm", [*p.input, "", *rq.input[1:]], list(rq.output), domain=FUSED_DOMAIN)  # type: ignore[union-attr]
            chain = [p]  # type: ignore[list-item]
        elif _is_standard(p, "Add"):
            x, y = p.input  # type: ignore[union-attr]
            for data, bias in ((x, y), (y, x)):
                m = sole(data)
                if _is_standard(m, "MatMul") and bias in constants:
                    fused = helper.make_node("RequantizedGemm", [*m.input, bias, *rq.input[1:]], list(rq.output), domain=FUSED_DOMAIN)  # type: ignore[union-attr]
                    chain = [m, p]  # type: ignore[list-item]
                    break
        if fused is None:
            continue
        fused.name = rq.name or chain[-1].name
        fused.attribute.extend([*chain[0].attribute, *rq.attribute])
        removed.update(id(c) for c in chain)
        replaced[id(rq)] = fused
    return [replaced.get(id(n), n) for n in nodes if id(n) not in removed]


# -- converters ----------------------------------------------------------------------------

INTEGER_CONVERTERS: dict[tuple[str, str], Converter] = {}
INTEGER_STATIC_INPUTS: dict[tuple[str, str], frozenset[int]] = {}


def _integer(*op_types: str, domains: Sequence[str] = ("",), static: tuple[int, ...] = ()):
    def register(fn: Converter) -> Converter:
        for domain in domains:
            for op in op_types:
                INTEGER_CONVERTERS[(domain, op)] = fn
                INTEGER_STATIC_INPUTS[(domain, op)] = frozenset(static)
        return fn

    return register


def _number(n: Node, name: str, default: int | None = None) -> int:
    """An integer attribute, given as an int, a float or a one-element tensor."""
    value = n.attrs.get(name)
    if value is None:
        if default is None:
            raise MalformedModel(f"{n.label}: attribute '{name}' is required")
        return default
    if isinstance(value, onnx.TensorProto):
        array = numpy_helper.to_array(value).reshape(-1)
        if array.size != 1:
            raise MalformedModel(f"{n.label}: attribute '{name}' must hold one value, got {array.size}")
        value = array[0].item()
    if isinstance(value, list | tuple) and len(value) == 1:
        value = value[0]
    if not isinstance(value, int | float) or float(value) != int(value):
        raise UnsupportedFeature(f"{n.label}: attribute '{name}' must be an integer, got {value!r}")
    return int(value)


def _narrowed(n: Node, value: Value, dtype: str, what: str) -> Value:
    """A constant in `dtype` (its values must fit), or an IR value already of that width."""
    if isinstance(value, Const):
        info = np.iinfo(dtype)
        array = value.array
        if not np.issubdtype(array.dtype, np.integer):
            raise n.fail(f"{what} holds values that are not integers: an integer graph needs integer constants")
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise n.fail(f"{what} range over [{array.min()}, {array.max()}], beyond {dtype}")
        return Const(array.astype(dtype), value.name)
    return value


def _i32(n: Node, value: Value) -> Value:
    """`value` widened to int32 (a constant converted, an IR value cast)."""
    if isinstance(value, Const):
        return _narrowed(n, value, "int32", f"constant '{value.name}'")
    if value_dtype(value) == np.int32:
        return value
    if not np.issubdtype(value_dtype(value), np.integer):
        raise n.fail(f"an integer graph computes on integers, got {value_dtype(value)}")
    return n.emit(CastOp, [value], {"to": IntegerType(32)})


def _weight(n: Node, i: int) -> Value:
    v = n.input(i)
    return _narrowed(n, v, "int8", f"the weight '{n.proto.input[i]}'") if isinstance(v, Const) else v


def _zero(n: Node, like: Value) -> Const:
    return Const(np.zeros((), value_dtype(like)), f"{n.proto.output[0]}_zero")


def _rq_param(n: Node, i: int, out: tuple[int, ...]) -> Const:
    """RequantShift's mul or add as int32 shaped to broadcast against the output: per
    channel along axis 1, as Deeploy lays them out; a parameter of the output's rank that
    broadcasts (per row [M, 1]) as numpy does."""
    v = n.input(i)
    if not isinstance(v, Const):
        raise n.fail(f"input #{i} ('{n.proto.input[i]}') must be a constant")
    array = _narrowed(n, v, "int32", f"input #{i}").array  # type: ignore[union-attr]
    if array.size == 1:
        return Const(array.reshape(()), v.name)
    if array.ndim == len(out) and _broadcasts(array.shape, out):
        return Const(array, v.name)
    if len(out) >= 2 and array.size == out[1] and sum(s != 1 for s in array.shape) <= 1:
        return Const(array.reshape((out[1],) + (1,) * (len(out) - 2)), v.name)
    if _broadcasts(array.shape, out):
        return Const(array, v.name)
    raise n.fail(f"input #{i} of shape {list(array.shape)} is neither per channel nor broadcast against {list(out)}")


def _broadcasts(shape: Sequence[int], out: Sequence[int]) -> bool:
    try:
        return np.broadcast_shapes(tuple(shape), tuple(out)) == tuple(out)
    except ValueError:
        return False


def _requant_props(n: Node) -> dict:
    levels = _number(n, "n_levels_out" if "n_levels_out" in n.attrs else "n_levels", 256)
    return {
        "div": int_attr(_number(n, "div")),
        "n_levels": int_attr(levels),
        "signed": bool_attr(bool(_number(n, "signed", 1))),
    }


@_integer("RequantShift", domains=CUSTOM_DOMAINS)
def _requant_shift(n: Node) -> Sequence[Value]:
    out = n.shape(0)
    return [n.emit(RequantShiftOp, [n.input(0), _rq_param(n, 1, out), _rq_param(n, 2, out)], _requant_props(n))]


@_integer("RequantizedConv", domains=(FUSED_DOMAIN,))
def _requantized_conv(n: Node) -> Sequence[Value]:
    props = {**conv_props(n), **_requant_props(n)}
    channels = n.shape(1)[0]
    params = []
    for i in (2, 3):
        p = _rq_param(n, i, (1, channels))
        params.append(Const(p.array.reshape(-1) if p.array.ndim else p.array, p.name))
    return [n.emit(RequantizedConvOp, [n.input(0), _weight(n, 1), *params], props)]


def _transposed(n: Node, i: int, flag: str) -> Value:
    v = _weight(n, i) if isinstance(n.input(i), Const) else n.input(i)
    if not _number(n, flag, 0):
        return v
    rank = len(value_shape(v))
    if isinstance(v, Const):
        return Const(np.swapaxes(v.array, -1, -2).copy(), v.name)
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    return n.emit(TransposeOp, [v], {"perm": ints_attr(perm)})


@_integer("RequantizedGemm", domains=(FUSED_DOMAIN,))
def _requantized_gemm(n: Node) -> Sequence[Value]:
    a, b = _transposed(n, 0, "transA"), _transposed(n, 1, "transB")
    out = tuple(np.broadcast_shapes(value_shape(a)[:-2], value_shape(b)[:-2])) + (value_shape(a)[-2], value_shape(b)[-1])
    mul, add = _rq_param(n, 3, out), _rq_param(n, 4, out)
    alpha, beta = _number(n, "alpha", 1), _number(n, "beta", 1)
    folded_mul = mul.array.astype(np.int64) * alpha
    folded_add = add.array.astype(np.int64)
    if n.has_input(2):
        c = n.input(2)
        if not isinstance(c, Const):
            raise n.fail("C must be a constant")
        folded_add = folded_add + beta * c.array.astype(np.int64) * mul.array.astype(np.int64)
    params = [
        _narrowed(n, Const(folded_mul, mul.name), "int32", "alpha * mul"),
        _narrowed(n, Const(folded_add, add.name), "int32", "beta * C * mul + add"),
    ]
    return [n.emit(RequantizedMatMulOp, [a, b, *params], _requant_props(n))]


@_integer("Conv")
def _conv(n: Node) -> Sequence[Value]:
    x, w = n.input(0), _weight(n, 1)
    y = n.emit(ConvIntegerOp, [x, w, _zero(n, x), _zero(n, w)], conv_props(n))
    if n.has_input(2):
        bias = _i32(n, n.input(2))
        y = n.emit(AddOp, [y, n.emit_view(bias, (value_shape(bias)[0],) + (1,) * (len(value_shape(y)) - 2))])
    return [y]


def _matmul_integer(n: Node, a: Value, b: Value) -> Value:
    return n.emit(MatMulIntegerOp, [a, b, _zero(n, a), _zero(n, b)])


@_integer("MatMul")
def _matmul(n: Node) -> Sequence[Value]:
    return [_matmul_integer(n, n.input(0), _weight(n, 1) if isinstance(n.input(1), Const) else n.input(1))]


@_integer("Gemm")
def _gemm(n: Node) -> Sequence[Value]:
    y = _matmul_integer(n, _transposed(n, 0, "transA"), _transposed(n, 1, "transB"))
    alpha, beta = _number(n, "alpha", 1), _number(n, "beta", 1)
    if alpha != 1:
        y = n.emit(MulOp, [y, Const(np.array(alpha, np.int32), f"{n.proto.output[0]}_alpha")])
    if n.has_input(2) and beta != 0:
        c = _i32(n, n.input(2))
        if beta != 1:
            c = n.emit(MulOp, [c, Const(np.array(beta, np.int32), f"{n.proto.output[0]}_beta")]) if not isinstance(c, Const) else Const((c.array * beta).astype(np.int32), c.name)
        y = n.emit(AddOp, [y, c])
    return [y]


_WIDENING = {"Add": AddOp, "Sub": SubOp, "Mul": MulOp}


@_integer(*_WIDENING)
def _widening(n: Node) -> Sequence[Value]:
    return [n.emit(_WIDENING[n.proto.op_type], [_i32(n, n.input(0)), _i32(n, n.input(1))])]


def _axes(n: Node, static_input: bool) -> tuple[list[int], bool]:
    rank = len(n.shape(0))
    if static_input and n.has_input(1):
        axes = [int(a) for a in n.const_input(1, "axes").reshape(-1)]
    else:
        axes = [int(a) for a in n.attr("axes", [])] if "axes" in n.attrs else []
    axes = sorted({a % rank for a in axes}) if axes else list(range(rank))
    return axes, bool(n.attr("keepdims", 1))


@_integer("ReduceMean", static=(1,))
def _reduce_mean(n: Node) -> Sequence[Value]:
    axes, keep = _axes(n, n.opset >= 18)
    count = int(np.prod([n.shape(0)[a] for a in axes]))
    rounding = "half_up" if count & (count - 1) == 0 else "half_away"  # Deeploy's template
    props = {"axes": ints_attr(axes), "keepdims": bool_attr(keep), "rounding": StringAttr(rounding)}
    return [n.emit(ReduceMeanOp, [n.input(0)], props)]


@_integer("ReduceSum", static=(1,))
def _reduce_sum(n: Node) -> Sequence[Value]:
    axes, keep = _axes(n, n.opset >= 13)
    return [n.emit(ReduceSumOp, [_i32(n, n.input(0))], {"axes": ints_attr(axes), "keepdims": bool_attr(keep)})]


@_integer("iSoftmax", domains=CUSTOM_DOMAINS)
def _integer_softmax(n: Node) -> Sequence[Value]:
    props = {k: int_attr(_number(n, k)) for k in ("coeffA", "coeffB", "coeffC", "log2")}
    props["n_levels"] = int_attr(_number(n, "n_levels", 256))
    return [n.emit(IntegerSoftmaxOp, [n.input(0)], props)]


@_integer("iRMSNorm", domains=CUSTOM_DOMAINS)
def _integer_rms_norm(n: Node) -> Sequence[Value]:
    props = {"D": int_attr(_number(n, "D")), "n_levels": int_attr(_number(n, "n_levels", 256))}
    return [n.emit(IntegerRMSNormOp, [n.input(0), _i32(n, n.input(1))], props)]


@_integer("iHardswish", domains=CUSTOM_DOMAINS)
def _integer_hardswish(n: Node) -> Sequence[Value]:
    props = {k: int_attr(_number(n, k)) for k in ("one_over_six", "three", "six")}
    return [n.emit(IntegerHardswishOp, [n.input(0)], props)]


@_integer("iNoNorm", domains=CUSTOM_DOMAINS)
def _integer_no_norm(n: Node) -> Sequence[Value]:
    props = {"D": int_attr(_number(n, "D")), "mul": int_attr(_number(n, "mul"))}
    return [n.emit(IntegerNoNormOp, [n.input(0), _i32(n, n.input(1)), _i32(n, n.input(2))], props)]


@_integer("TrueIntegerDiv", domains=CUSTOM_DOMAINS)
def _true_integer_div(n: Node) -> Sequence[Value]:
    """x * floor(Delta * eta / (y * eta + eps)): the coefficient Deeploy's merge into the
    following RequantShift computes, kept as a multiplication of its own."""
    delta, eps, eta, y = (_number(n, k) for k in ("Delta", "eps", "eta", "y"))
    if y * eta + eps == 0:
        raise n.fail("y * eta + eps is zero")
    coeff = (delta * eta) // (y * eta + eps)
    return [n.emit(MulOp, [_i32(n, n.input(0)), Const(np.array(coeff, np.int32), f"{n.proto.output[0]}_coeff")])]


def integer_converters(
    converters: dict[tuple[str, str], Converter], static: dict[tuple[str, str], frozenset[int]]
) -> tuple[dict[tuple[str, str], Converter], dict[tuple[str, str], frozenset[int]]]:
    """The converter tables of integer mode: the standard ones, integer versions over them."""
    return {**converters, **INTEGER_CONVERTERS}, {**static, **INTEGER_STATIC_INPUTS}

