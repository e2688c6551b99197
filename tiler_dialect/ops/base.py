"""What every tiler compute op shares: operands, forms and verification (the syntax is in
`syntax.py`; property helpers in `properties.py`, shapes in `shapes.py`, element types in
`dtypes.py`).

An op comes in two forms, like `linalg` named ops:

- tensor form (value semantics), what the importer produces:
      %y = tiler.relu %x : (tensor<1x8xf32, #tiler.mem<"L2">>) -> tensor<1x8xf32, #tiler.mem<"L2">>
- destination form on memrefs, what tiled code computes with (compute level only):
      tiler.relu ins(%x : memref<1x8xf32, #tiler.mem<"L1">>) outs(%y : memref<1x8xf32, #tiler.mem<"L1">>)
- tile form: the destination form of one tile of a larger problem. It names the tile's
  box in the problem's iteration space (offsets and sizes, static or SSA index values,
  one per iteration dim of the tiling description) and the problem's operand shapes:
      tiler.relu ins(%xt : memref<?x8xf32, ...>) outs(%yt : memref<?x8xf32, ...>)
          tile [%i, 0] [%n, 8] of [[64, 8]] -> [64, 8]
  Its inputs hold exactly the regions the description derives for the box (clipped to
  the operands), its output the box's output region. When the box covers only part of a
  reduction that combines by "sum" and does not start it, the op adds into its output and
  leaves out the inputs that do not depend on the reduction (a bias).

Properties (ONNX's attribute names) print in the attribute dictionary, sorted by name.
A concrete op states, as data and small functions: its input arity, how its result shape
and element type follow from its inputs (`infer_shape`, `infer_element_type`, shared by the
verifier and the importer), its tiling description (`tiling`) and its numpy kernel
(`compute`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from xdsl.dialects.builtin import (
    AnyFloat,
    ArrayAttr,
    DenseArrayBase,
    DYNAMIC_INDEX,
    I64,
    i64,
    IndexType,
    MemRefType,
    TensorType,
)
from xdsl.dialects.utils.dynamic_index_list import split_dynamic_index_list, verify_dynamic_index_list
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import AttrSizedOperandSegments, IRDLOperation, opt_prop_def, var_operand_def, var_result_def
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from tiler_dialect.attributes import MemorySpaceAttr, memory_level_of, shared_hierarchy_of, verify_memory_level
from tiler_dialect.naming import node_name as _node_name
from tiler_dialect.naming import op_label
from tiler_dialect.ops.dtypes import element_dtype
from tiler_dialect.ops.properties import Props
from tiler_dialect.ops.shapes import Shape, format_shape
from tiler_dialect.ops.syntax import parse_tiler_op, print_tiler_op
from tiler_dialect.schedule import SCHEDULE_ATTR, ScheduleAttr, ScheduleError, op_tiling


@dataclass(frozen=True)
class TileBox:
    """A tile of a problem: its box in the iteration space (each offset and size an int or
    an SSA index value) and the shapes of the problem's inputs and output."""

    offsets: Sequence[SSAValue | int]
    sizes: Sequence[SSAValue | int]
    problem_shapes: Sequence[Sequence[int]]



class TilerOp(IRDLOperation):
    """Base of all tiler compute ops (not registered itself)."""

    inputs = var_operand_def()
    outputs = var_operand_def()
    tile_offsets = var_operand_def(IndexType)
    tile_sizes = var_operand_def(IndexType)
    res = var_result_def()

    static_tile_offsets = opt_prop_def(DenseArrayBase[I64])
    static_tile_sizes = opt_prop_def(DenseArrayBase[I64])
    problem_shapes = opt_prop_def(ArrayAttr[DenseArrayBase[I64]])
    """In tile form: the shapes of the whole problem's inputs, then its output."""

    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    NUM_INPUTS: ClassVar[tuple[int, int]] = (1, 1)
    """Smallest and largest number of inputs."""

    IS_VIEW: ClassVar[bool] = False
    """Views (reshape) alias their input; they are not tiled or computed."""

    FLOAT_ONLY: ClassVar[bool] = False
    """The op is defined on floating-point element types only."""

    MULTIPLY_ACCUMULATES: ClassVar[bool] = False
    """A contraction (conv, gemm, matmul): its iteration points are multiply-accumulates,
    computed at the cost model's MAC rate for its element width."""

    def __init__(
        self,
        inputs: Sequence[SSAValue],
        result_type: Attribute | None = None,
        *,
        outputs: Sequence[SSAValue] = (),
        tile: TileBox | None = None,
        properties: Props | None = None,
        attributes: Props | None = None,
    ):
        props = dict(properties or {})
        offsets: list[SSAValue] = []
        sizes: list[SSAValue] = []
        if tile is not None:
            static_offsets, offsets = split_dynamic_index_list(tile.offsets, DYNAMIC_INDEX)
            static_sizes, sizes = split_dynamic_index_list(tile.sizes, DYNAMIC_INDEX)
            props["static_tile_offsets"] = DenseArrayBase.from_list(i64, static_offsets)
            props["static_tile_sizes"] = DenseArrayBase.from_list(i64, static_sizes)
            props["problem_shapes"] = ArrayAttr(
                DenseArrayBase.from_list(i64, list(shape)) for shape in tile.problem_shapes
            )
        super().__init__(
            operands=[inputs, outputs, offsets, sizes],
            result_types=[[result_type] if result_type is not None else []],
            properties=props,
            attributes=dict(attributes or {}),
        )

    # -- per-op hooks (overridden by concrete ops) ------------------------------------

    def infer_shape(self, shapes: Sequence[Shape]) -> Shape:
        """Result shape from input shapes (and the op's properties); raises
        VerifyException on inconsistency."""
        return tuple(shapes[0])

    def infer_element_type(self, element_types: Sequence[Attribute]) -> Attribute:
        """Result element type; by default every input has the same one."""
        first = element_types[0]
        for i, t in enumerate(element_types[1:], start=1):
            if t != first:
                raise VerifyException(
                    f"input #{i} has element type {t}, expected {first} like input #0"
                )
        if self.FLOAT_ONLY and not isinstance(first, AnyFloat):
            raise VerifyException(f"{self.name} is defined on floating-point tensors, got {first}")
        return first

    def index_inputs(self) -> dict[int, int]:
        """Inputs whose values are indices into a dim of another operand (Gather's
        indices): input number -> that dim's size n; valid values lie in [-n, n). Test
        data for such inputs is drawn there."""
        return {}

    # -- construction -------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        inputs: Sequence[SSAValue],
        properties: Props | None = None,
        attributes: Props | None = None,
        level: MemorySpaceAttr | None = None,
    ) -> Self:
        """Tensor form with the result type inferred; raises VerifyException if invalid."""
        props = dict(properties or {})
        types = [v.type for v in inputs]
        if not all(isinstance(t, TensorType) for t in types):
            raise VerifyException(f"{cls.name} expects tensor inputs")
        lo, hi = cls.NUM_INPUTS
        if not lo <= len(inputs) <= hi:
            raise VerifyException(_arity_message(cls, len(inputs)))
        # the inference reads the properties through the op's accessors (defaults filled
        # in), so it runs on a provisional op without a result, then erased
        provisional = cls(inputs, properties=props)
        try:
            shape = provisional.infer_shape([tuple(t.get_shape()) for t in types])
            element = provisional.infer_element_type([t.element_type for t in types])
        finally:
            provisional.erase()
        encoding = level if level is not None else types[0].encoding
        return cls(
            inputs,
            TensorType(element, shape, encoding),
            properties=dict(provisional.properties),
            attributes=attributes,
        )

    # -- accessors --------------------------------------------------------------------

    @property
    def result_type(self) -> TensorType | MemRefType:
        """Type of the result (tensor form) or of the destination (memref form)."""
        t = self.outputs[0].type if self.outputs else self.res[0].type
        assert isinstance(t, TensorType | MemRefType)
        return t

    @property
    def is_tile(self) -> bool:
        return self.problem_shapes is not None

    @property
    def input_shapes(self) -> list[Shape]:
        """Shapes of the inputs of the whole problem (in tile form, not of the tiles)."""
        if self.problem_shapes is not None:
            return [tuple(s.get_values()) for s in self.problem_shapes.data[:-1]]
        return [tuple(v.type.get_shape()) for v in self.inputs]  # type: ignore[attr-defined]

    @property
    def output_shape(self) -> Shape:
        """Shape of the output of the whole problem (in tile form, not of the tile)."""
        if self.problem_shapes is not None:
            return tuple(self.problem_shapes.data[-1].get_values())
        return tuple(self.result_type.get_shape())

    def tile_box(self, dynamic_values: Sequence[int]) -> list[tuple[int, int]]:
        """The tile's half-open box per iteration dim, given the values of the dynamic
        offsets then sizes (as an interpreter knows them)."""
        assert self.static_tile_offsets is not None and self.static_tile_sizes is not None
        it = iter(dynamic_values)
        offsets = [next(it) if v == DYNAMIC_INDEX else v for v in self.static_tile_offsets.get_values()]
        sizes = [next(it) if v == DYNAMIC_INDEX else v for v in self.static_tile_sizes.get_values()]
        return [(o, o + n) for o, n in zip(offsets, sizes)]

    @property
    def node_name(self) -> str | None:
        return _node_name(self)

    @property
    def display_name(self) -> str:
        """How diagnostics name this op (`tiler_dialect.naming.op_label`)."""
        return op_label(self)

    # -- verification -----------------------------------------------------------------

    def verify_(self) -> None:
        lo, hi = self.NUM_INPUTS
        if not lo <= len(self.inputs) <= hi:
            raise VerifyException(_arity_message(type(self), len(self.inputs)))
        if self.outputs:
            self._verify_destination_form()
        else:
            self._verify_tensor_form()
        if self.is_tile:
            self._verify_tile()
        for i, v in enumerate(self.inputs):
            verify_memory_level(v.type, self, f"input #{i}")
        verify_memory_level(self.result_type, self, "result" if self.res else "output")
        for t in (*(v.type for v in self.inputs), self.result_type):
            element_dtype(t.element_type)  # type: ignore[attr-defined]  # the kernels compute in numpy

        in_types = [v.type for v in self.inputs]
        element = self.infer_element_type([t.element_type for t in in_types])  # type: ignore[attr-defined]
        if element != self.result_type.element_type:
            raise VerifyException(
                f"result element type {self.result_type.element_type} does not match the "
                f"inferred {element}"
            )
        shapes = self.input_shapes
        if any(DYNAMIC_INDEX in s for s in shapes) or DYNAMIC_INDEX in self.output_shape:
            return  # dynamic shapes are checked where they are computed
        expected = self.infer_shape(shapes)
        if tuple(expected) != self.output_shape:
            raise VerifyException(
                f"result shape {format_shape(self.output_shape)} does not match the inferred "
                f"shape {format_shape(expected)}"
            )
        if SCHEDULE_ATTR in self.attributes:
            self._verify_schedule()

    def _verify_schedule(self) -> None:
        """A `tiler.schedule` must fit this op (its iteration dims and operands, what may
        be split) and name the levels below its home, down to the compute level."""
        attr = self.attributes[SCHEDULE_ATTR]
        if not isinstance(attr, ScheduleAttr):
            raise VerifyException(f"{SCHEDULE_ATTR} must be a #tiler.schedule, got {attr}")
        if self.outputs or self.IS_VIEW:
            raise VerifyException(f"{SCHEDULE_ATTR} belongs on an untiled compute op (the tensor form)")
        hierarchy = shared_hierarchy_of(self)
        home = memory_level_of(self.result_type)
        if home in hierarchy.memoryLevels:
            below = hierarchy.bfs(home, hierarchy.computeName)[1:]
            named = [l.level.data for l in attr.levels]
            if named != below:
                raise VerifyException(
                    f"the schedule names levels {named}, but below the home level {home} the path to "
                    f"the compute level is {below}"
                )
        try:
            op_tiling(self.tiling(), attr)  # type: ignore[attr-defined]
        except ScheduleError as e:
            raise VerifyException(f"invalid schedule: {e}") from None

    def _verify_tensor_form(self) -> None:
        if len(self.res) != 1:
            raise VerifyException("expects exactly one result (or an outs(...) destination)")
        for i, v in enumerate(self.inputs):
            if not isinstance(v.type, TensorType):
                raise VerifyException(f"input #{i} must be a tensor when the op has a result")
        if not isinstance(self.res[0].type, TensorType):
            raise VerifyException("result must be a tensor")

    def _verify_tile(self) -> None:
        if not self.outputs:
            raise VerifyException("a tile box needs the destination form (ins/outs)")
        if self.static_tile_offsets is None or self.static_tile_sizes is None:
            raise VerifyException("a tile needs its box offsets and sizes")
        assert self.problem_shapes is not None
        if len(self.problem_shapes.data) != len(self.inputs) + 1:
            raise VerifyException(
                f"a tile names {len(self.problem_shapes.data)} problem shapes, expected one per "
                f"input and one for the output ({len(self.inputs) + 1})"
            )
        ranks = [len(s) for s in (*self.input_shapes, self.output_shape)]
        types = [v.type for v in (*self.inputs, *self.outputs)]
        for i, (rank, t) in enumerate(zip(ranks, types)):
            if len(t.get_shape()) != rank:  # type: ignore[attr-defined]
                raise VerifyException(f"operand #{i} has rank {len(t.get_shape())}, its problem shape rank {rank}")  # type: ignore[attr-defined]
        offsets = self.static_tile_offsets.get_values()
        sizes = self.static_tile_sizes.get_values()
        verify_dynamic_index_list(offsets, self.tile_offsets, DYNAMIC_INDEX, " in the tile offsets")
        verify_dynamic_index_list(sizes, self.tile_sizes, DYNAMIC_INDEX, " in the tile sizes")
        dims = self.tiling().dims  # type: ignore[attr-defined]
        if not len(offsets) == len(sizes) == len(dims):
            raise VerifyException(
                f"the tile box has {len(offsets)} offsets and {len(sizes)} sizes, the iteration "
                f"space {len(dims)} dims ({', '.join(d.name for d in dims)})"
            )
        for d, o, n in zip(dims, offsets, sizes):
            if o != DYNAMIC_INDEX and n != DYNAMIC_INDEX and not (0 <= o and 0 < n and o + n <= d.size):
                raise VerifyException(f"the tile box [{o}, {o + n}) leaves dim {d.name} of size {d.size}")

    def _verify_destination_form(self) -> None:
        if self.res:
            raise VerifyException("an op with an outs(...) destination has no results")
        if len(self.outputs) != 1:
            raise VerifyException("expects exactly one outs(...) destination")
        for i, v in enumerate([*self.inputs, *self.outputs]):
            if not isinstance(v.type, MemRefType):
                raise VerifyException("ins(...) and outs(...) operands must be memrefs")
        compute = shared_hierarchy_of(self).computeName
        for i, v in enumerate([*self.inputs, *self.outputs]):
            space = v.type.memory_space  # type: ignore[attr-defined]
            if isinstance(space, MemorySpaceAttr) and space.level_name != compute:
                raise VerifyException(
                    f"compute reads only the compute level \"{compute}\", but operand #{i} "
                    f"lives in \"{space.level_name}\""
                )

    # -- custom syntax (tiler_dialect/ops/syntax.py) ----------------------------------------

    def print(self, printer: Printer) -> None:
        print_tiler_op(self, printer)

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        return parse_tiler_op(cls, parser)


def _arity_message(cls: type[TilerOp], n: int) -> str:
    lo, hi = cls.NUM_INPUTS
    want = str(lo) if lo == hi else f"{lo} to {hi}" if hi < 1 << 30 else f"at least {lo}"
    return f"expects {want} input(s), got {n}"


