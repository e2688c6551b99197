"""The ONNX ops that move data or only view it: Transpose, DepthToSpace/SpaceToDepth,
Expand, Concat, Slice, Split and Pad become data movement ops; Reshape, Flatten, Squeeze
and Unsqueeze become `tiler.reshape` views; Identity and Dropout disappear; Shape and Size
are constants."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import StringAttr

from tiler_dialect.ops import ConcatOp, ExpandOp, PadOp, SliceOp, TransposeOp
from tiler_dialect.ops.data_movement import PAD_MODES
from tiler_dialect.ops.properties import int_attr, ints_attr
from tiler_tools.onnx_frontend.converters import checked_axis, converter, int_list
from tiler_tools.onnx_frontend.errors import MalformedModel
from tiler_tools.onnx_frontend.node import Const, Node, Value, value_dtype, value_shape


# -- data movement ----------------------------------------------------------------------


@converter("Transpose")
def _transpose(n: Node) -> Sequence[Value]:
    rank = len(n.shape(0))
    perm = int_list(n.attr("perm", list(range(rank))[::-1]))
    return [n.emit(TransposeOp, [n.input(0)], {"perm": ints_attr(perm)})]


def _rearrange(n: Node, x: Value, split: Sequence[int], perm: Sequence[int], out: Sequence[int]) -> Value:
    """View x as `split`, transpose by `perm`, view as `out`: one data movement."""
    moved = n.emit(TransposeOp, [n.emit_view(x, split)], {"perm": ints_attr(list(perm))})
    return n.emit_view(moved, out)


def _block(n: Node) -> tuple[int, int, int, int, int]:
    shape = n.shape(0)
    if len(shape) != 4:
        raise n.fail(f"input must be (N, C, H, W), got rank {len(shape)}")
    b = int(n.attr("blocksize", 0))  # type: ignore[arg-type]
    if b <= 0:
        raise MalformedModel(f"{n.label}: blocksize must be positive, got {b}")
    return (b, *shape)  # type: ignore[return-value]


@converter("DepthToSpace")
def _depth_to_space(n: Node) -> Sequence[Value]:
    """ONNX's definition: DCR (depth, column, row) or CRD order of the channel blocks."""
    b, N, C, H, W = _block(n)
    if C % (b * b):
        raise MalformedModel(f"{n.label}: {C} channels do not divide into blocks of {b}x{b}")
    c = C // (b * b)
    out = (N, c, H * b, W * b)
    mode = n.attr("mode", "DCR")
    if mode == "DCR":
        return [_rearrange(n, n.input(0), (N, b, b, c, H, W), (0, 3, 4, 1, 5, 2), out)]
    if mode == "CRD":
        return [_rearrange(n, n.input(0), (N, c, b, b, H, W), (0, 1, 4, 2, 5, 3), out)]
    raise n.fail(f"mode '{mode}' is not one of DCR, CRD")


@converter("SpaceToDepth")
def _space_to_depth(n: Node) -> Sequence[Value]:
    b, N, C, H, W = _block(n)
    if H % b or W % b:
        raise MalformedModel(f"{n.label}: the {H}x{W} image does not divide into blocks of {b}x{b}")
    out = (N, C * b * b, H // b, W // b)
    split = (N, C, H // b, b, W // b, b)
    mode = n.attr("mode", "DCR")  # an attribute from opset 28; DepthToSpace's inverse
    if mode == "DCR":
        return [_rearrange(n, n.input(0), split, (0, 3, 5, 1, 2, 4), out)]
    if mode == "CRD":
        return [_rearrange(n, n.input(0), split, (0, 1, 3, 5, 2, 4), out)]
    raise n.fail(f"mode '{mode}' is not one of DCR, CRD")


@converter("Expand", static=(1,))
def _expand(n: Node) -> Sequence[Value]:
    shape = int_list(n.const_input(1, "shape"))
    try:
        out = np.broadcast_shapes(n.shape(0), tuple(shape))
    except ValueError:
        raise MalformedModel(f"{n.label}: input of shape {list(n.shape(0))} does not broadcast with {shape}") from None
    if out == n.shape(0):
        return [n.input(0)]  # nothing to broadcast: the value itself
    return [n.emit(ExpandOp, [n.input(0)], {"shape": ints_attr(shape)})]


@converter("Concat")
def _concat(n: Node) -> Sequence[Value]:
    if "axis" not in n.attrs:
        raise MalformedModel(f"{n.label}: axis is required")
    return [n.emit(ConcatOp, n.inputs(), {"axis": int_attr(n.attrs["axis"])})]


@converter("Slice", static=(1, 2, 3, 4))
def _slice(n: Node) -> Sequence[Value]:
    shape = n.shape(0)
    r = len(shape)
    if n.opset < 10:
        starts, ends = int_list(n.attr("starts", [])), int_list(n.attr("ends", []))
        axes = int_list(n.attr("axes", list(range(len(starts)))))
        steps = [1] * len(starts)
    else:
        starts = int_list(n.const_input(1, "starts"))
        ends = int_list(n.const_input(2, "ends"))
        axes = int_list(n.const_input(3, "axes")) if n.has_input(3) else list(range(len(starts)))
        steps = int_list(n.const_input(4, "steps")) if n.has_input(4) else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise MalformedModel(f"{n.label}: starts, ends, axes and steps differ in length")
    full_starts, full_ends, full_steps = [0] * r, list(shape), [1] * r
    seen = set()
    for a, b, e, s in zip(axes, starts, ends, steps):
        a = checked_axis(n, a, r)
        if a in seen:
            raise MalformedModel(f"{n.label}: axis {a} is sliced twice")
        seen.add(a)
        if s == 0:
            raise MalformedModel(f"{n.label}: step of axis {a} is zero")
        size = shape[a]
        b = b + size if b < 0 else b
        e = e + size if e < 0 else e
        if s > 0:
            b, e = min(max(b, 0), size), min(max(e, 0), size)
        else:
            b, e = min(max(b, 0), size - 1), min(max(e, -1), size - 1)
        if -(-(e - b) // s) < 1:
            raise n.fail(f"the slice of axis {a} is empty: empty tensors are not supported")
        full_starts[a], full_ends[a], full_steps[a] = b, e, s
    props = {"starts": ints_attr(full_starts), "ends": ints_attr(full_ends), "steps": ints_attr(full_steps)}
    return [n.emit(SliceOp, [n.input(0)], props)]


@converter("Split", static=(1,))
def _split(n: Node) -> Sequence[Value]:
    """Each output a slice of the input along `axis`: the sizes `split` gives, else
    num_outputs parts of ceil(size / num_outputs) (the last one smaller), else equal parts."""
    shape = n.shape(0)
    r = len(shape)
    axis = checked_axis(n, int(n.attr("axis", 0)), r)  # type: ignore[arg-type]
    size, count = shape[axis], len(n.proto.output)
    if n.opset < 13:
        sizes = int_list(n.attr("split")) if "split" in n.attrs else None
    else:
        sizes = int_list(n.const_input(1, "split")) if n.has_input(1) else None
    if sizes is None:
        parts = int(n.attr("num_outputs", count))  # type: ignore[arg-type]
        if parts != count:
            raise MalformedModel(f"{n.label}: num_outputs is {parts}, but the node has {count} outputs")
        if "num_outputs" in n.attrs:
            chunk = -(-size // parts)
            sizes = [min(chunk, size - i * chunk) for i in range(parts)]
        elif size % parts:
            raise MalformedModel(f"{n.label}: axis {axis} of size {size} does not split into {parts} equal parts")
        else:
            sizes = [size // parts] * parts
    if len(sizes) != count or sum(sizes) != size or any(s < 0 for s in sizes):
        raise MalformedModel(f"{n.label}: split sizes {sizes} do not cut axis {axis} of size {size} into {count} outputs")
    if any(s == 0 and n.output_used(i) for i, s in enumerate(sizes)):
        raise n.fail(f"split sizes {sizes} make an empty output: empty tensors are not supported")
    results: list[Value] = []
    start = 0
    for i, part in enumerate(sizes):
        if part == 0:  # unused (checked above): a placeholder that nothing reads
            results.append(Const(np.zeros([0 if d == axis else s for d, s in enumerate(shape)], value_dtype(n.input(0))), n.proto.output[i]))
            continue
        starts, ends = [0] * r, list(shape)
        starts[axis], ends[axis] = start, start + part
        props = {"starts": ints_attr(starts), "ends": ints_attr(ends), "steps": ints_attr([1] * r)}
        results.append(n.input(0) if part == size else n.emit(SliceOp, [n.input(0)], props))
        start += part
    return results


@converter("Pad", static=(1, 2, 3))
def _pad(n: Node) -> Sequence[Value]:
    mode = n.attr("mode", "constant")
    if mode not in PAD_MODES:
        raise n.fail(f"mode '{mode}' is not one of {', '.join(PAD_MODES)}")
    r = len(n.shape(0))
    if n.opset < 11:
        pads = int_list(n.attr("pads", n.attr("paddings", [])))
        value = float(n.attr("value", 0.0))  # type: ignore[arg-type]
    else:
        pads = int_list(n.const_input(1, "pads"))
        value = 0.0
        if n.has_input(2):
            value = float(n.const_input(2, "constant_value").reshape(-1)[0])
        if n.has_input(3):
            axes = [checked_axis(n, a, r) for a in int_list(n.const_input(3, "axes"))]
            if len(pads) != 2 * len(axes):
                raise MalformedModel(f"{n.label}: pads needs {2 * len(axes)} values for {len(axes)} axes")
            full = [0] * (2 * r)
            for i, a in enumerate(axes):
                full[a], full[a + r] = pads[i], pads[i + len(axes)]
            pads = full
    if len(pads) != 2 * r:
        raise MalformedModel(f"{n.label}: pads needs {2 * r} values, got {len(pads)}")
    props = {"pads": ints_attr(pads), "value": PadOp.value_attr(value)}
    if mode != "constant":
        props["mode"] = StringAttr(str(mode))
    return [n.emit(PadOp, [n.input(0)], props)]


# -- views and no-ops -------------------------------------------------------------------


@converter("Identity")
def _identity(n: Node) -> Sequence[Value]:
    return [n.input(0)]


@converter("Dropout", static=(1, 2))
def _dropout(n: Node) -> Sequence[Value]:
    training = n.has_input(2) and bool(n.const_input(2, "training_mode").reshape(-1)[0])
    ratio = float(n.const_input(1, "ratio").reshape(-1)[0]) if n.has_input(1) else 0.5
    if training and ratio != 0.0:
        raise n.fail("training_mode=true drops random elements: only inference is supported")
    # in inference (or with ratio 0) nothing is dropped and the mask is all true; before
    # opset 10 the mask has the data's type
    dtype = np.bool_ if n.opset >= 10 else value_dtype(n.input(0))
    mask = Const(np.ones(n.shape(0), dtype=dtype), n.proto.output[1] if len(n.proto.output) > 1 else "mask")
    return [n.input(0), mask]


@converter("Reshape", static=(1,))
def _reshape(n: Node) -> Sequence[Value]:
    src = n.shape(0)
    target = int_list(n.attr("shape", [])) if n.opset < 5 else int_list(n.const_input(1, "shape"))
    allow_zero = bool(n.attr("allowzero", 0))
    out = [src[i] if s == 0 and not allow_zero else s for i, s in enumerate(target)]
    if out.count(-1) > 1:
        raise MalformedModel(f"{n.label}: shape {target} has more than one -1")
    if -1 in out:
        known = math.prod(s for s in out if s != -1)
        if known == 0 or math.prod(src) % known:
            raise MalformedModel(f"{n.label}: cannot reshape {list(src)} to {target}")
        out[out.index(-1)] = math.prod(src) // known
    if math.prod(out) != math.prod(src) or any(s < 0 for s in out):
        raise MalformedModel(f"{n.label}: cannot reshape {list(src)} to {target}")
    return [n.emit_view(n.input(0), out)]


@converter("Flatten")
def _flatten(n: Node) -> Sequence[Value]:
    src = n.shape(0)
    axis = int(n.attr("axis", 1))  # type: ignore[arg-type]
    if not -len(src) <= axis <= len(src):
        raise n.fail(f"axis {axis} is out of range for rank {len(src)}")
    if axis < 0:
        axis += len(src)
    return [n.emit_view(n.input(0), (math.prod(src[:axis]), math.prod(src[axis:])))]


@converter("Squeeze", static=(1,))
def _squeeze(n: Node) -> Sequence[Value]:
    src = n.shape(0)
    if n.opset < 13:
        axes = int_list(n.attr("axes")) if "axes" in n.attrs else None
    else:
        axes = int_list(n.const_input(1, "axes")) if n.has_input(1) else None
    if axes is None:
        drop = {i for i, s in enumerate(src) if s == 1}
    else:
        drop = {checked_axis(n, a, len(src)) for a in axes}
        for a in drop:
            if src[a] != 1:
                raise MalformedModel(f"{n.label}: cannot squeeze axis {a} of size {src[a]}")
    return [n.emit_view(n.input(0), [s for i, s in enumerate(src) if i not in drop])]


@converter("Unsqueeze", static=(1,))
def _unsqueeze(n: Node) -> Sequence[Value]:
    src = n.shape(0)
    axes = int_list(n.attr("axes", [])) if n.opset < 13 else int_list(n.const_input(1, "axes"))
    rank = len(src) + len(axes)
    inserted = {checked_axis(n, a, rank) for a in axes}
    if len(inserted) != len(axes):
        raise MalformedModel(f"{n.label}: repeated axes {axes}")
    it = iter(src)
    return [n.emit_view(n.input(0), [1 if i in inserted else next(it) for i in range(rank)])]


@converter("Shape")
def _shape(n: Node) -> Sequence[Value]:
    # shapes are static, so Shape of any tensor is a constant
    shape = value_shape(n.input(0))
    start, end = int(n.attr("start", 0)), n.attr("end")  # type: ignore[arg-type]
    selected = shape[start:] if end is None else shape[start : int(end)]  # type: ignore[arg-type]
    return [Const(np.array(selected, dtype=np.int64), n.proto.output[0])]


@converter("Size")
def _size(n: Node) -> Sequence[Value]:
    return [Const(np.array(math.prod(value_shape(n.input(0))), dtype=np.int64), n.proto.output[0])]
