// lower-tiler on unsigned data: arith's integers are signless, so the formulas take the
// unsigned ops for the uint8 values (a RequantShift into uint8 clamps to 0..255 in i64
// and truncates; the max pool of its result compares with maxui) and every ui8 type
// becomes i8; @main's result keeps `tiler.unsigned`, so the runner still gives uint8.
// The lowered IR, its loops and the generated C compute what the tiled IR computes.
// RUN: tiler-opt %s --l1 256 --tile > %t.tiled.mlir
// RUN: tiler-opt %t.tiled.mlir -p lower-tiler > %t.mlir
// RUN: filecheck %s < %t.mlir
// RUN: python -c "import numpy as np; r = np.random.default_rng(0); np.savez('%t.in.npz', x=r.integers(-3000, 3000, (1, 4, 6, 6)).astype(np.int32), m=r.integers(-3, 4, (4, 1, 1)).astype(np.int32), a=r.integers(-50, 400, (4, 1, 1)).astype(np.int32))"
// RUN: tiler-run %t.tiled.mlir --inputs %t.in.npz --outputs %t.ref.npz | filecheck %s --check-prefix=TYPE
// RUN: tiler-run %t.mlir --inputs %t.in.npz --check %t.ref.npz | filecheck %s --check-prefix=EXEC
// RUN: xdsl-opt %t.mlir -p convert-linalg-to-loops,convert-scf-to-cf > %t.cf.mlir
// RUN: tiler-run %t.cf.mlir --inputs %t.in.npz --check %t.ref.npz | filecheck %s --check-prefix=EXEC
// RUN: tiler-opt %t.tiled.mlir --allocate -t c -o %t.c
// RUN: tiler-run %t.c --inputs %t.in.npz --check %t.ref.npz | filecheck %s --check-prefix=EXEC
// RUN: filecheck %s --check-prefix=HEADER < %t.h

// CHECK-NOT:  ui8
// CHECK:      func.func @main({{.*}}) -> (memref<1x4x3x3xi8, #tiler.mem<"L2">> {tiler.name = "y", tiler.unsigned})
// CHECK:      doc = "tiler.requant_shift"
// CHECK:        %[[T:.*]] = arith.addi %{{.*}}, %{{.*}} : i64
// CHECK-NEXT:   %[[HALF:.*]] = arith.constant 2 : i64
// CHECK-NEXT:   %[[R:.*]] = arith.addi %[[T]], %[[HALF]] : i64
// CHECK-NEXT:   %[[S:.*]] = arith.shrsi %[[R]], %[[HALF]] : i64
// CHECK-NEXT:   %[[LO:.*]] = arith.constant 0 : i64
// CHECK-NEXT:   %[[A:.*]] = arith.maxsi %[[S]], %[[LO]] : i64
// CHECK-NEXT:   %[[HI:.*]] = arith.constant 255 : i64
// CHECK-NEXT:   %[[B:.*]] = arith.minsi %[[A]], %[[HI]] : i64
// CHECK-NEXT:   %[[Q:.*]] = arith.trunci %[[B]] : i64 to i8
// CHECK-NEXT:   linalg.yield %[[Q]] : i8
// CHECK:      %[[ZERO:.*]] = arith.constant 0 : i8
// CHECK-NEXT: linalg.fill ins(%[[ZERO]] : i8)
// CHECK:      doc = "tiler.max_pool"
// CHECK:        %[[M:.*]] = arith.maxui %{{.*}}, %{{.*}} : i8
// CHECK-NEXT:   linalg.yield %[[M]] : i8

// TYPE: y: uint8[1, 4, 3, 3]
// EXEC: ok y: max |out - golden| = 0
// HEADER: output 0: y, uint8[1, 4, 3, 3]

builtin.module {
  func.func @main(%x: tensor<1x4x6x6xi32, #tiler.mem<"L2">> {tiler.name = "x"}, %m: tensor<4x1x1xi32, #tiler.mem<"L2">> {tiler.name = "m"}, %a: tensor<4x1x1xi32, #tiler.mem<"L2">> {tiler.name = "a"}) -> (tensor<1x4x3x3xui8, #tiler.mem<"L2">> {tiler.name = "y"}) {
    %q = tiler.requant_shift %x, %m, %a {div = 4 : i64, n_levels = 256 : i64, signed = false} : (tensor<1x4x6x6xi32, #tiler.mem<"L2">>, tensor<4x1x1xi32, #tiler.mem<"L2">>, tensor<4x1x1xi32, #tiler.mem<"L2">>) -> tensor<1x4x6x6xui8, #tiler.mem<"L2">>
    %y = tiler.max_pool %q {ceil_mode = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x6x6xui8, #tiler.mem<"L2">>) -> tensor<1x4x3x3xui8, #tiler.mem<"L2">>
    func.return %y : tensor<1x4x3x3xui8, #tiler.mem<"L2">>
  }
}
