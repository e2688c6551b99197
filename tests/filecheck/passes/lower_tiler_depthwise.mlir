// lower-tiler makes a depthwise conv (as many groups as channels) upstream's grouped
// conv, linalg.conv_2d_ngchw_gfchw, on views that give each operand a unit dim for the
// channels in a group (expand_shape keeps the strides of the tile buffers it views); the
// bias initialises the output first. The input is tiled IR of a 3x3 depthwise conv over
// 4 channels, 2 channels by 2 columns per tile (unpadded, so every tile is plain). It
// computes the same before and after, and after convert-linalg-to-loops,convert-scf-to-cf.
// RUN: tiler-opt %s -p lower-tiler > %t.mlir
// RUN: filecheck %s < %t.mlir
// RUN: python -c "import numpy as np; np.savez('%t.in.npz', x=np.random.default_rng(0).standard_normal((1, 4, 6, 6)).astype(np.float32))"
// RUN: tiler-run %s --inputs %t.in.npz --outputs %t.ref.npz
// RUN: tiler-run %t.mlir --inputs %t.in.npz --check %t.ref.npz | filecheck %s --check-prefix=EXEC
// RUN: xdsl-opt %t.mlir -p convert-linalg-to-loops,convert-scf-to-cf > %t.cf.mlir
// RUN: tiler-run %t.cf.mlir --inputs %t.in.npz --check %t.ref.npz | filecheck %s --check-prefix=EXEC

// CHECK-NOT:  tiler.conv
// CHECK:      linalg.generic {{.*}} doc = "dw: init"} ins(%[[BIAS:.*]] : memref<2xf32, {{.*}}>) outs(%[[OUT:.*]] : memref<1x2x4x2xf32, strided<[16, 8, 2, 1]>, #tiler.mem<"L1">>)
// CHECK:      %[[X:.*]] = memref.expand_shape %{{.*}} {{\[}}[0 : i64], [1 : i64, 2 : i64], [3 : i64], [4 : i64]] output_shape [1, 2, 1, 6, 4] : memref<1x2x6x4xf32, strided<[48, 24, 4, 1]>, #tiler.mem<"L1">> into memref<1x2x1x6x4xf32, strided<[48, 24, 24, 4, 1]>, #tiler.mem<"L1">>
// CHECK-NEXT: %[[W:.*]] = memref.expand_shape %{{.*}} {{\[}}[0 : i64, 1 : i64], [2 : i64], [3 : i64], [4 : i64]] output_shape [2, 1, 1, 3, 3] : memref<2x1x3x3xf32, strided<[9, 9, 3, 1]>, #tiler.mem<"L1">> into memref<2x1x1x3x3xf32, strided<[9, 9, 9, 3, 1]>, #tiler.mem<"L1">>
// CHECK-NEXT: %[[Y:.*]] = memref.expand_shape %[[OUT]] {{\[}}[0 : i64], [1 : i64, 2 : i64], [3 : i64], [4 : i64]] output_shape [1, 2, 1, 4, 2] : memref<1x2x4x2xf32, strided<[16, 8, 2, 1]>, #tiler.mem<"L1">> into memref<1x2x1x4x2xf32, strided<[16, 8, 8, 2, 1]>, #tiler.mem<"L1">>
// CHECK-NEXT: linalg.conv_2d_ngchw_gfchw {strides = dense<1> : tensor<2xi64>, dilations = dense<1> : tensor<2xi64>} ins(%[[X]], %[[W]] : {{.*}}) outs(%[[Y]] : {{.*}})
// CHECK-NOT:  linalg.generic

// EXEC: ok y: max |out - golden| =

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L2", compute = "L1", levels = [<"L3", size = 8388608, neighbours = ["L2"]>, <"L2", size = 1048576, neighbours = ["L3", "L1"]>, <"L1", size = 400, neighbours = ["L2"]>]>} {
  "memref.global"() <{sym_name = "w", type = memref<4x1x3x3xf32, #tiler.mem<"L2">>, initial_value = dense<[[[[3.000000e-01, 8.000000e-01, 3.000000e-01], [-1.300000e+00, 9.000000e-01, 4.000000e-01], [-5.000000e-01, 6.000000e-01, 4.000000e-01]]], [[[3.000000e-01, 0.000000e+00, 5.000000e-01], [-7.000000e-01, -2.000000e-01, -5.000000e-01], [6.000000e-01, 0.000000e+00, -3.000000e-01]]], [[[-8.000000e-01, -3.000000e-01, 0.000000e+00], [-3.000000e-01, 1.300000e+00, 1.000000e+00], [-2.700000e+00, -1.900000e+00, -2.000000e-01]]], [[[-4.000000e-01, 2.000000e-01, 2.000000e-01], [2.100000e+00, -1.100000e+00, -4.000000e-01], [2.000000e+00, 6.000000e-01, 7.000000e-01]]]]> : tensor<4x1x3x3xf32>, sym_visibility = "private", constant}> {tiler.name = "w"} : () -> ()
  "memref.global"() <{sym_name = "b", type = memref<4xf32, #tiler.mem<"L2">>, initial_value = dense<[5.000000e-01, -1.000000e+00, 2.500000e-01, 2.000000e+00]> : tensor<4xf32>, sym_visibility = "private", constant}> {tiler.name = "b"} : () -> ()
  func.func @main(%x: memref<1x4x6x6xf32, #tiler.mem<"L2">> {tiler.name = "x"}) -> (memref<1x4x4x4xf32, #tiler.mem<"L2">> {tiler.name = "y"}) {
    %c4 = arith.constant 4 : index
    %c16 = arith.constant 16 : index
    %c3 = arith.constant 3 : index
    %c1 = arith.constant 1 : index
    %c18 = arith.constant 18 : index
    %c48 = arith.constant 48 : index
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %w = memref.get_global @w : memref<4x1x3x3xf32, #tiler.mem<"L2">>
    %b = memref.get_global @b : memref<4xf32, #tiler.mem<"L2">>
    %y = memref.alloc() {tiler.name = "dw"} : memref<1x4x4x4xf32, #tiler.mem<"L2">>
    %dw_tags = memref.alloc() {tiler.name = "dw: DMA tags", tiler.dma_tags} : memref<4x1xi32>
    %dw_in0_L1 = memref.alloc() {tiler.name = "dw: in0 in L1"} : memref<1x1x2x6x4xf32, #tiler.mem<"L1">>
    %dw_in1_L1 = memref.alloc() {tiler.name = "dw: in1 in L1"} : memref<1x2x1x3x3xf32, #tiler.mem<"L1">>
    %dw_in2_L1 = memref.alloc() {tiler.name = "dw: in2 in L1"} : memref<1x2xf32, #tiler.mem<"L1">>
    %dw_out_L1 = memref.alloc() {tiler.name = "dw: out in L1"} : memref<1x1x2x4x2xf32, #tiler.mem<"L1">>
    scf.for %t0 = %c0 to %c4 step %c1 {
      %0 = arith.divsi %t0, %c2 : index
      %1 = arith.remsi %t0, %c2 : index
      %2 = memref.subview %dw_in0_L1[0, 0, 0, 0, 0] [1, 1, 2, 6, 4] [1, 1, 1, 1, 1] : memref<1x1x2x6x4xf32, #tiler.mem<"L1">> to memref<1x2x6x4xf32, strided<[48, 24, 4, 1]>, #tiler.mem<"L1">>
      %3 = arith.muli %0, %c2 : index
      %4 = arith.muli %1, %c2 : index
      %5 = memref.subview %x[0, %3, 0, %4] [1, 2, 6, 4] [1, 1, 1, 1] : memref<1x4x6x6xf32, #tiler.mem<"L2">> to memref<1x2x6x4xf32, strided<[144, 36, 6, 1], offset: ?>, #tiler.mem<"L2">>
      memref.dma_start %5[%c0, %c0, %c0, %c0], %2[%c0, %c0, %c0, %c0], %c48, %dw_tags[%c0, %c0] {tiler.name = "dw: load in0 to L1"} : memref<1x2x6x4xf32, strided<[144, 36, 6, 1], offset: ?>, #tiler.mem<"L2">>, memref<1x2x6x4xf32, strided<[48, 24, 4, 1]>, #tiler.mem<"L1">>, memref<4x1xi32>
      %6 = arith.cmpi eq, %1, %c0 : index
      scf.if %6 {
        %7 = memref.subview %dw_in1_L1[0, 0, 0, 0, 0] [1, 2, 1, 3, 3] [1, 1, 1, 1, 1] : memref<1x2x1x3x3xf32, #tiler.mem<"L1">> to memref<2x1x3x3xf32, strided<[9, 9, 3, 1]>, #tiler.mem<"L1">>
        %8 = memref.subview %w[%3, 0, 0, 0] [2, 1, 3, 3] [1, 1, 1, 1] : memref<4x1x3x3xf32, #tiler.mem<"L2">> to memref<2x1x3x3xf32, strided<[9, 9, 3, 1], offset: ?>, #tiler.mem<"L2">>
        memref.dma_start %8[%c0, %c0, %c0, %c0], %7[%c0, %c0, %c0, %c0], %c18, %dw_tags[%c1, %c0] {tiler.name = "dw: load in1 to L1"} : memref<2x1x3x3xf32, strided<[9, 9, 3, 1], offset: ?>, #tiler.mem<"L2">>, memref<2x1x3x3xf32, strided<[9, 9, 3, 1]>, #tiler.mem<"L1">>, memref<4x1xi32>
      }
      scf.if %6 {
        %9 = memref.subview %dw_in2_L1[0, 0] [1, 2] [1, 1] : memref<1x2xf32, #tiler.mem<"L1">> to memref<2xf32, strided<[1]>, #tiler.mem<"L1">>
        %10 = memref.subview %b[%3] [2] [1] : memref<4xf32, #tiler.mem<"L2">> to memref<2xf32, strided<[1], offset: ?>, #tiler.mem<"L2">>
        memref.dma_start %10[%c0], %9[%c0], %c2, %dw_tags[%c2, %c0] {tiler.name = "dw: load in2 to L1"} : memref<2xf32, strided<[1], offset: ?>, #tiler.mem<"L2">>, memref<2xf32, strided<[1]>, #tiler.mem<"L1">>, memref<4x1xi32>
      }
      memref.dma_wait %dw_tags[%c0, %c0], %c48 : memref<4x1xi32>
      scf.if %6 {
        memref.dma_wait %dw_tags[%c1, %c0], %c18 : memref<4x1xi32>
      }
      scf.if %6 {
        memref.dma_wait %dw_tags[%c2, %c0], %c2 : memref<4x1xi32>
      }
      memref.dma_wait %dw_tags[%c3, %c0], %c16 : memref<4x1xi32>
      %11 = memref.subview %dw_in0_L1[0, 0, 0, 0, 0] [1, 1, 2, 6, 4] [1, 1, 1, 1, 1] : memref<1x1x2x6x4xf32, #tiler.mem<"L1">> to memref<1x2x6x4xf32, strided<[48, 24, 4, 1]>, #tiler.mem<"L1">>
      %12 = memref.subview %dw_in1_L1[0, 0, 0, 0, 0] [1, 2, 1, 3, 3] [1, 1, 1, 1, 1] : memref<1x2x1x3x3xf32, #tiler.mem<"L1">> to memref<2x1x3x3xf32, strided<[9, 9, 3, 1]>, #tiler.mem<"L1">>
      %13 = memref.subview %dw_in2_L1[0, 0] [1, 2] [1, 1] : memref<1x2xf32, #tiler.mem<"L1">> to memref<2xf32, strided<[1]>, #tiler.mem<"L1">>
      %14 = memref.subview %dw_out_L1[0, 0, 0, 0, 0] [1, 1, 2, 4, 2] [1, 1, 1, 1, 1] : memref<1x1x2x4x2xf32, #tiler.mem<"L1">> to memref<1x2x4x2xf32, strided<[16, 8, 2, 1]>, #tiler.mem<"L1">>
      tiler.conv ins(%11, %12, %13 : memref<1x2x6x4xf32, strided<[48, 24, 4, 1]>, #tiler.mem<"L1">>, memref<2x1x3x3xf32, strided<[9, 9, 3, 1]>, #tiler.mem<"L1">>, memref<2xf32, strided<[1]>, #tiler.mem<"L1">>) outs(%14 : memref<1x2x4x2xf32, strided<[16, 8, 2, 1]>, #tiler.mem<"L1">>) tile [0, %3, 0, 0, %4, 0, 0, 0] [1, 2, 1, 4, 2, 1, 3, 3] of [[1, 4, 6, 6], [4, 1, 3, 3], [4]] -> [1, 4, 4, 4] {dilations = array<i64: 1, 1>, group = 4 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>, tiler.name = "dw"}
      %15 = memref.subview %y[0, %3, 0, %4] [1, 2, 4, 2] [1, 1, 1, 1] : memref<1x4x4x4xf32, #tiler.mem<"L2">> to memref<1x2x4x2xf32, strided<[64, 16, 4, 1], offset: ?>, #tiler.mem<"L2">>
      memref.dma_start %14[%c0, %c0, %c0, %c0], %15[%c0, %c0, %c0, %c0], %c16, %dw_tags[%c3, %c0] {tiler.name = "dw: store out from L1"} : memref<1x2x4x2xf32, strided<[16, 8, 2, 1]>, #tiler.mem<"L1">>, memref<1x2x4x2xf32, strided<[64, 16, 4, 1], offset: ?>, #tiler.mem<"L2">>, memref<4x1xi32>
    } {tiler.tile_loop = "dw: L1"}
    memref.dma_wait %dw_tags[%c3, %c0], %c16 : memref<4x1xi32>
    memref.dealloc %dw_in0_L1 : memref<1x1x2x6x4xf32, #tiler.mem<"L1">>
    memref.dealloc %dw_in1_L1 : memref<1x2x1x3x3xf32, #tiler.mem<"L1">>
    memref.dealloc %dw_in2_L1 : memref<1x2xf32, #tiler.mem<"L1">>
    memref.dealloc %dw_out_L1 : memref<1x1x2x4x2xf32, #tiler.mem<"L1">>
    memref.dealloc %dw_tags : memref<4x1xi32>
    func.return %y : memref<1x4x4x4xf32, #tiler.mem<"L2">>
  }
}

