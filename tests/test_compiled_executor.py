"""The executor's Python translation of scalar code (tools/executor/compiled.py): it
computes what the IR says (integer division and remainder rounding toward zero, affine
floor division and modulo, loops carrying values, blocks with arguments), in the IR's
element types, and reports a bad index naming the op, as xDSL's interpreter would."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.universe import Universe

from tiler_tools.executor import ExecutionError, execute
from tiler_tools.executor.compiled import can_compile
from tiler_tools.ir_input import parse_ir
from tiler_dialect.program import main_function


def module_of(text: str):
    ctx = Context()
    for name, factory in Universe.get_multiverse().all_dialects.items():
        ctx.register_dialect(name, factory)
    module = parse_ir(ctx, text, "test")
    module.verify()
    return module


def run(text: str, **inputs):
    module = module_of(text)
    assert can_compile(main_function(module))
    return execute(module, inputs)


INTEGER_DIVISION = """
func.func @main() -> (memref<8xi64> {tiler.name = "out"}) {
  %out = memref.alloc() : memref<8xi64>
  %a = arith.constant -7 : index
  %b = arith.constant 2 : index
  %q = arith.divsi %a, %b : index
  %r = arith.remsi %a, %b : index
  %f = arith.floordivsi %a, %b : index
  %c = arith.ceildivsi %a, %b : index
  %m = affine.apply affine_map<(d0) -> (d0 mod 2)>(%a)
  %fd = affine.apply affine_map<(d0) -> (d0 floordiv 2)>(%a)
  %cd = affine.apply affine_map<(d0)[s0] -> ((d0 + s0) ceildiv 2)>(%a)[%b]
  %lo = arith.minsi %a, %b : index
  %i0 = arith.constant 0 : index
  %i1 = arith.constant 1 : index
  %i2 = arith.constant 2 : index
  %i3 = arith.constant 3 : index
  %i4 = arith.constant 4 : index
  %i5 = arith.constant 5 : index
  %i6 = arith.constant 6 : index
  %i7 = arith.constant 7 : index
  %q64 = arith.index_cast %q : index to i64
  memref.store %q64, %out[%i0] : memref<8xi64>
  %r64 = arith.index_cast %r : index to i64
  memref.store %r64, %out[%i1] : memref<8xi64>
  %f64 = arith.index_cast %f : index to i64
  memref.store %f64, %out[%i2] : memref<8xi64>
  %c64 = arith.index_cast %c : index to i64
  memref.store %c64, %out[%i3] : memref<8xi64>
  %m64 = arith.index_cast %m : index to i64
  memref.store %m64, %out[%i4] : memref<8xi64>
  %fd64 = arith.index_cast %fd : index to i64
  memref.store %fd64, %out[%i5] : memref<8xi64>
  %cd64 = arith.index_cast %cd : index to i64
  memref.store %cd64, %out[%i6] : memref<8xi64>
  %lo64 = arith.index_cast %lo : index to i64
  memref.store %lo64, %out[%i7] : memref<8xi64>
  func.return %out : memref<8xi64>
}
"""


def test_integer_division_rounds_as_arith_and_affine_say():
    out = run(INTEGER_DIVISION)["out"]
    #          divsi remsi floordivsi ceildivsi mod floordiv ceildiv(-5/2) minsi
    assert out.tolist() == [-3, -1, -4, -3, 1, -4, -2, -7]


# the sum of x[i] * 2 for i < n, once as scf.for carrying the sum and once as the control
# flow graph convert-scf-to-cf makes of it (blocks with arguments)
SCF_SUM = """
func.func @main(%x: memref<5xf32> {tiler.name = "x"}) -> (memref<2xf32> {tiler.name = "out"}) {
  %out = memref.alloc() : memref<2xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %sum = scf.for %i = %c0 to %c5 step %c1 iter_args(%acc = %zero) -> (f32) {
    %v = memref.load %x[%i] : memref<5xf32>
    %w = arith.mulf %v, %two : f32
    %big = arith.cmpi sgt, %i, %c1 : index
    %next = scf.if %big -> (f32) {
      %s = arith.addf %acc, %w : f32
      scf.yield %s : f32
    } else {
      scf.yield %acc : f32
    }
    scf.yield %next : f32
  }
  memref.store %sum, %out[%c0] : memref<2xf32>
  %top = arith.maximumf %sum, %two : f32
  memref.store %top, %out[%c1] : memref<2xf32>
  func.return %out : memref<2xf32>
}
"""

CF_SUM = """
func.func @main(%x: memref<5xf32> {tiler.name = "x"}) -> (memref<2xf32> {tiler.name = "out"}) {
  %out = memref.alloc() : memref<2xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  cf.br ^header(%c0, %zero : index, f32)
^header(%i: index, %acc: f32):
  %more = arith.cmpi slt, %i, %c5 : index
  cf.cond_br %more, ^body, ^exit
^body:
  %v = memref.load %x[%i] : memref<5xf32>
  %w = arith.mulf %v, %two : f32
  %big = arith.cmpi sgt, %i, %c1 : index
  cf.cond_br %big, ^add, ^latch(%acc : f32)
^add:
  %s = arith.addf %acc, %w : f32
  cf.br ^latch(%s : f32)
^latch(%next: f32):
  %i2 = arith.addi %i, %c1 : index
  cf.br ^header(%i2, %next : index, f32)
^exit:
  memref.store %acc, %out[%c0] : memref<2xf32>
  %top = arith.maximumf %acc, %two : f32
  memref.store %top, %out[%c1] : memref<2xf32>
  func.return %out : memref<2xf32>
}
"""


@pytest.mark.parametrize("text", [SCF_SUM, CF_SUM], ids=["scf", "cf"])
def test_loops_carry_values_in_the_element_type(text):
    x = np.array([1.5, -2.0, 3.25, np.nan, 0.125], np.float32)
    out = run(text, x=x)["out"]
    assert out.dtype == np.float32
    assert np.isnan(out[0]) and np.isnan(out[1])  # a NaN read propagates through max
    x[3] = 4.0
    out = run(text, x=x)["out"]
    want = np.float32(3.25) * 2 + np.float32(4.0) * 2 + np.float32(0.125) * 2
    assert out.tolist() == [want, want]


@pytest.mark.parametrize("index, message", [("-1", r"negative index \[-1\]"), ("5", "out of bounds")])
def test_a_bad_index_is_an_error_naming_the_op(index, message):
    text = f"""
func.func @main(%x: memref<5xf32> {{tiler.name = "x"}}) -> (memref<5xf32> {{tiler.name = "out"}}) {{
  %i = arith.constant {index} : index
  %v = memref.load %x[%i] {{tiler.name = "the load"}} : memref<5xf32>
  func.return %x : memref<5xf32>
}}
"""
    with pytest.raises(ExecutionError, match=rf"'the load' \(memref.load\): .*{message}"):
        run(text, x=np.zeros(5, np.float32))


def test_linalg_stays_with_the_array_evaluation():
    module = module_of("""
func.func @main(%x: memref<4xf32>) -> (memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%x : memref<4xf32>)
  func.return %x : memref<4xf32>
}
""")
    assert not can_compile(main_function(module))
