"""Unsigned integers become signless, the last step of lower-tiler.

arith takes only signless integers: signedness is in the ops (`divui`, `maxui`, `extui`,
`uitofp`, the `u` predicates of `cmpi`), not in the types. The scalar formulas are built
while the types still say which data are unsigned (Body picks the unsigned forms for
them); then every `ui<N>` in the module, in value types, memref and tensor types and
constants, becomes `i<N>` with the same bits.

The graph's interface keeps what it declared: a unit `tiler.unsigned` on each argument
and result of @main that was unsigned, so the executor and the C target's header still
give and take uint8 data.
"""

from __future__ import annotations

from xdsl.dialects import arith, func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, IntegerAttr, IntegerType, ModuleOp, Signedness, UnitAttr
from xdsl.ir import Attribute, Operation, ParametrizedAttribute
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import Rewriter

UNSIGNED_ATTR = "tiler.unsigned"


def is_unsigned(t: Attribute) -> bool:
    """An unsigned integer type: its values compare, divide and convert as unsigned
    (Body picks those forms while the types still say so)."""
    return isinstance(t, IntegerType) and t.signedness.data == Signedness.UNSIGNED


def _element_is_unsigned(t: Attribute) -> bool:
    return is_unsigned(getattr(t, "element_type", t))


def signless(attr: Attribute) -> Attribute:
    """`attr` with every unsigned integer type in it signless (the same object if it has
    none; an integer constant of such a type rewritten as the signless type writes it)."""
    if is_unsigned(attr):
        return IntegerType(attr.width.data)  # type: ignore[attr-defined]
    if isinstance(attr, IntegerAttr) and is_unsigned(attr.type):
        # (a signless IntegerAttr writes 200 : ui8's bits as -56 : i8 itself)
        return IntegerAttr(attr.value.data, IntegerType(attr.type.width.data))
    if isinstance(attr, ArrayAttr):
        items = [signless(a) for a in attr.data]
        return attr if all(a is b for a, b in zip(items, attr.data)) else ArrayAttr(items)
    if isinstance(attr, DictionaryAttr):
        entries = {k: signless(v) for k, v in attr.data.items()}
        return attr if all(entries[k] is v for k, v in attr.data.items()) else DictionaryAttr(entries)
    if isinstance(attr, ParametrizedAttribute):
        # (a dense constant's bytes stay as they are: the same bits under the new type)
        params = [signless(p) for p in attr.parameters]
        return attr if all(a is b for a, b in zip(params, attr.parameters)) else type(attr).new(params)
    return attr


def _convert(op: Operation) -> None:
    for value in [*op.results, *(a for r in op.regions for b in r.blocks for a in b.args)]:
        t = signless(value.type)
        if t is not value.type:
            Rewriter.replace_value_with_new_type(value, t)
    for table in (op.properties, op.attributes):
        for name, attr in list(table.items()):
            converted = signless(attr)
            if converted is not attr:
                table[name] = converted


class DropIdentityBitcast(RewritePattern):
    """A change of signedness only (Body.convert's bitcast) is nothing once signless."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.BitcastOp, rewriter: PatternRewriter) -> None:
        if op.input.type == op.result.type:
            rewriter.replace_op(op, [], [op.input])


def _mark_interface(function: func.FuncOp) -> None:
    """`tiler.unsigned` on the unsigned arguments and results of `function`."""
    ft = function.function_type

    def marked(attrs, types) -> list[DictionaryAttr]:
        entries = list(attrs.data) if attrs is not None else []
        entries += [DictionaryAttr({})] * (len(types) - len(entries))
        return [
            DictionaryAttr({**entry.data, UNSIGNED_ATTR: UnitAttr()}) if _element_is_unsigned(t) else entry
            for entry, t in zip(entries, types)
        ]

    if any(_element_is_unsigned(t) for t in ft.inputs.data):
        function.arg_attrs = ArrayAttr(marked(function.arg_attrs, ft.inputs.data))
    if any(_element_is_unsigned(t) for t in ft.outputs.data):
        function.res_attrs = ArrayAttr(marked(function.res_attrs, ft.outputs.data))


def unsigned_to_signless(module: ModuleOp) -> None:
    for op in list(module.walk()):
        if isinstance(op, func.FuncOp):
            _mark_interface(op)
        _convert(op)
    PatternRewriteWalker(DropIdentityBitcast()).rewrite_module(module)
