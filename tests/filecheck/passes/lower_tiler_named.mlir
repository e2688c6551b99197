// lower-tiler emits upstream's named ops where one computes the tile and the tile reads
// no padding: a 1x1 conv (conv_2d_nchw_fchw), a max pool (pooling_nchw_max, its window a
// shape-only alloca), a transpose and a 2-d matmul, each output first set to the
// combiner's identity. The result computes the same before and after, and after the
// named ops' bodies become loops (convert-linalg-to-loops reads the bodies; xDSL's own
// pooling body is fixed in tiler_dialect/xdsl_fixes.py).
// RUN: tiler-opt %s -p lower-tiler > %t.mlir
// RUN: filecheck %s < %t.mlir
// RUN: python -c "import numpy as np; r = np.random.default_rng(0); np.savez('%t.in.npz', x=r.standard_normal((1, 4, 4, 4)).astype(np.float32), a=r.standard_normal((2, 6)).astype(np.float32), b=r.standard_normal((6, 3)).astype(np.float32))"
// RUN: tiler-run %s --inputs %t.in.npz --outputs %t.ref.npz
// RUN: tiler-run %t.mlir --inputs %t.in.npz --check %t.ref.npz | filecheck %s --check-prefix=EXEC
// RUN: xdsl-opt %t.mlir -p convert-linalg-to-loops,convert-scf-to-cf > %t.cf.mlir
// RUN: tiler-run %t.cf.mlir --inputs %t.in.npz --check %t.ref.npz | filecheck %s --check-prefix=EXEC

// CHECK-NOT:  tiler.conv
// CHECK:      %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: linalg.fill ins(%[[ZERO]] : f32) outs(%[[C:.*]] : memref<1x2x4x4xf32, strided<[32, 16, 4, 1]>, #tiler.mem<"L1">>)
// CHECK-NEXT: linalg.conv_2d_nchw_fchw {strides = dense<1> : tensor<2xi64>, dilations = dense<1> : tensor<2xi64>} ins(%{{.*}}, %{{.*}} : memref<1x4x4x4xf32, {{.*}}>, memref<2x4x1x1xf32, {{.*}}>) outs(%[[C]] : memref<1x2x4x4xf32, {{.*}}>)
// CHECK:      %[[LOW:.*]] = arith.constant 0xff800000 : f32
// CHECK-NEXT: linalg.fill ins(%[[LOW]] : f32) outs(%[[P:.*]] : memref<1x4x2x2xf32, {{.*}}>)
// CHECK-NEXT: %[[WINDOW:.*]] = memref.alloca() {tiler.shape_only} : memref<2x2xf32>
// CHECK-NEXT: linalg.pooling_nchw_max {strides = dense<2> : tensor<2xi64>, dilations = dense<1> : tensor<2xi64>} ins(%{{.*}}, %[[WINDOW]] : memref<1x4x4x4xf32, {{.*}}>, memref<2x2xf32>) outs(%[[P]] : memref<1x4x2x2xf32, {{.*}}>)
// CHECK:      linalg.transpose ins(%{{.*}}:memref<1x4x4x4xf32, {{.*}}>) outs(%{{.*}}:memref<4x1x4x4xf32, {{.*}}>) permutation = [1, 0, 2, 3]
// CHECK:      linalg.fill ins(%{{.*}} : f32) outs(%[[M:.*]] : memref<2x3xf32, {{.*}}>)
// CHECK-NEXT: linalg.matmul ins(%{{.*}}, %{{.*}} : memref<2x6xf32, {{.*}}>, memref<6x3xf32, {{.*}}>) outs(%[[M]] : memref<2x3xf32, {{.*}}>)
// CHECK-NOT:  linalg.generic

// EXEC-DAG: ok c: max |out - golden| =
// EXEC-DAG: ok p: max |out - golden| = 0
// EXEC-DAG: ok t: max |out - golden| = 0
// EXEC-DAG: ok m: max |out - golden| =

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L2", compute = "L1", levels = [<"L3", size = 8388608, neighbours = ["L2"]>, <"L2", size = 1048576, neighbours = ["L3", "L1"]>, <"L1", size = 512, neighbours = ["L2"]>]>} {
  "memref.global"() <{sym_name = "w", type = memref<2x4x1x1xf32, #tiler.mem<"L2">>, initial_value = dense<[[[[1.000000e+00]], [[-1.000000e+00]], [[5.000000e-01]], [[2.500000e-01]]], [[[2.000000e+00]], [[-5.000000e-01]], [[1.500000e+00]], [[-2.000000e+00]]]]> : tensor<2x4x1x1xf32>, sym_visibility = "private", constant}> {tiler.name = "w"} : () -> ()
  func.func @main(%x: memref<1x4x4x4xf32, #tiler.mem<"L2">> {tiler.name = "x"}, %a: memref<2x6xf32, #tiler.mem<"L2">> {tiler.name = "a"}, %b: memref<6x3xf32, #tiler.mem<"L2">> {tiler.name = "b"}) -> (memref<1x4x2x2xf32, #tiler.mem<"L2">> {tiler.name = "p"}, memref<1x2x4x4xf32, #tiler.mem<"L2">> {tiler.name = "c"}, memref<4x1x4x4xf32, #tiler.mem<"L2">> {tiler.name = "t"}, memref<2x3xf32, #tiler.mem<"L2">> {tiler.name = "m"}) {
    %c6 = arith.constant 6 : index
    %c18 = arith.constant 18 : index
    %c12 = arith.constant 12 : index
    %c16 = arith.constant 16 : index
    %c2 = arith.constant 2 : index
    %c32 = arith.constant 32 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %c64 = arith.constant 64 : index
    %c0 = arith.constant 0 : index
    %w = memref.get_global @w : memref<2x4x1x1xf32, #tiler.mem<"L2">>
    %c = memref.alloc() {tiler.name = "conv1"} : memref<1x2x4x4xf32, #tiler.mem<"L2">>
    %conv1_tags = memref.alloc() {tiler.name = "conv1: DMA tags", tiler.dma_tags} : memref<3x1xi32>
    %conv1_in0_L1 = memref.alloc() {tiler.name = "conv1: in0 in L1"} : memref<1x1x4x4x4xf32, #tiler.mem<"L1">>
    %conv1_in1_L1 = memref.alloc() {tiler.name = "conv1: in1 in L1"} : memref<1x2x4x1x1xf32, #tiler.mem<"L1">>
    %conv1_out_L1 = memref.alloc() {tiler.name = "conv1: out in L1"} : memref<1x1x2x4x4xf32, #tiler.mem<"L1">>
    %0 = memref.subview %conv1_in0_L1[0, 0, 0, 0, 0] [1, 1, 4, 4, 4] [1, 1, 1, 1, 1] : memref<1x1x4x4x4xf32, #tiler.mem<"L1">> to memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L1">>
    %1 = memref.subview %x[0, 0, 0, 0] [1, 4, 4, 4] [1, 1, 1, 1] : memref<1x4x4x4xf32, #tiler.mem<"L2">> to memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L2">>
    memref.dma_start %1[%c0, %c0, %c0, %c0], %0[%c0, %c0, %c0, %c0], %c64, %conv1_tags[%c0, %c0] {tiler.name = "conv1: load in0 to L1"} : memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L2">>, memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L1">>, memref<3x1xi32>
    %2 = memref.subview %conv1_in1_L1[0, 0, 0, 0, 0] [1, 2, 4, 1, 1] [1, 1, 1, 1, 1] : memref<1x2x4x1x1xf32, #tiler.mem<"L1">> to memref<2x4x1x1xf32, strided<[4, 1, 1, 1]>, #tiler.mem<"L1">>
    %3 = memref.subview %w[0, 0, 0, 0] [2, 4, 1, 1] [1, 1, 1, 1] : memref<2x4x1x1xf32, #tiler.mem<"L2">> to memref<2x4x1x1xf32, strided<[4, 1, 1, 1]>, #tiler.mem<"L2">>
    memref.dma_start %3[%c0, %c0, %c0, %c0], %2[%c0, %c0, %c0, %c0], %c8, %conv1_tags[%c1, %c0] {tiler.name = "conv1: load in1 to L1"} : memref<2x4x1x1xf32, strided<[4, 1, 1, 1]>, #tiler.mem<"L2">>, memref<2x4x1x1xf32, strided<[4, 1, 1, 1]>, #tiler.mem<"L1">>, memref<3x1xi32>
    memref.dma_wait %conv1_tags[%c0, %c0], %c64 : memref<3x1xi32>
    memref.dma_wait %conv1_tags[%c1, %c0], %c8 : memref<3x1xi32>
    %4 = memref.subview %conv1_in0_L1[0, 0, 0, 0, 0] [1, 1, 4, 4, 4] [1, 1, 1, 1, 1] : memref<1x1x4x4x4xf32, #tiler.mem<"L1">> to memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L1">>
    %5 = memref.subview %conv1_in1_L1[0, 0, 0, 0, 0] [1, 2, 4, 1, 1] [1, 1, 1, 1, 1] : memref<1x2x4x1x1xf32, #tiler.mem<"L1">> to memref<2x4x1x1xf32, strided<[4, 1, 1, 1]>, #tiler.mem<"L1">>
    %6 = memref.subview %conv1_out_L1[0, 0, 0, 0, 0] [1, 1, 2, 4, 4] [1, 1, 1, 1, 1] : memref<1x1x2x4x4xf32, #tiler.mem<"L1">> to memref<1x2x4x4xf32, strided<[32, 16, 4, 1]>, #tiler.mem<"L1">>
    tiler.conv ins(%4, %5 : memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L1">>, memref<2x4x1x1xf32, strided<[4, 1, 1, 1]>, #tiler.mem<"L1">>) outs(%6 : memref<1x2x4x4xf32, strided<[32, 16, 4, 1]>, #tiler.mem<"L1">>) tile [0, 0, 0, 0, 0, 0, 0, 0] [1, 1, 2, 4, 4, 4, 1, 1] of [[1, 4, 4, 4], [2, 4, 1, 1]] -> [1, 2, 4, 4] {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
    %7 = memref.subview %conv1_out_L1[0, 0, 0, 0, 0] [1, 1, 2, 4, 4] [1, 1, 1, 1, 1] : memref<1x1x2x4x4xf32, #tiler.mem<"L1">> to memref<1x2x4x4xf32, strided<[32, 16, 4, 1]>, #tiler.mem<"L1">>
    %8 = memref.subview %c[0, 0, 0, 0] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x4x4xf32, #tiler.mem<"L2">> to memref<1x2x4x4xf32, strided<[32, 16, 4, 1]>, #tiler.mem<"L2">>
    memref.dma_start %7[%c0, %c0, %c0, %c0], %8[%c0, %c0, %c0, %c0], %c32, %conv1_tags[%c2, %c0] {tiler.name = "conv1: store out from L1"} : memref<1x2x4x4xf32, strided<[32, 16, 4, 1]>, #tiler.mem<"L1">>, memref<1x2x4x4xf32, strided<[32, 16, 4, 1]>, #tiler.mem<"L2">>, memref<3x1xi32>
    memref.dma_wait %conv1_tags[%c2, %c0], %c32 : memref<3x1xi32>
    memref.dealloc %conv1_in0_L1 : memref<1x1x4x4x4xf32, #tiler.mem<"L1">>
    memref.dealloc %conv1_in1_L1 : memref<1x2x4x1x1xf32, #tiler.mem<"L1">>
    memref.dealloc %conv1_out_L1 : memref<1x1x2x4x4xf32, #tiler.mem<"L1">>
    memref.dealloc %conv1_tags : memref<3x1xi32>
    %p = memref.alloc() {tiler.name = "max_pool1"} : memref<1x4x2x2xf32, #tiler.mem<"L2">>
    %max_pool1_tags = memref.alloc() {tiler.name = "max_pool1: DMA tags", tiler.dma_tags} : memref<2x1xi32>
    %max_pool1_in0_L1 = memref.alloc() {tiler.name = "max_pool1: in0 in L1"} : memref<1x1x4x4x4xf32, #tiler.mem<"L1">>
    %max_pool1_out_L1 = memref.alloc() {tiler.name = "max_pool1: out in L1"} : memref<1x1x4x2x2xf32, #tiler.mem<"L1">>
    %9 = memref.subview %max_pool1_in0_L1[0, 0, 0, 0, 0] [1, 1, 4, 4, 4] [1, 1, 1, 1, 1] : memref<1x1x4x4x4xf32, #tiler.mem<"L1">> to memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L1">>
    %10 = memref.subview %x[0, 0, 0, 0] [1, 4, 4, 4] [1, 1, 1, 1] : memref<1x4x4x4xf32, #tiler.mem<"L2">> to memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L2">>
    memref.dma_start %10[%c0, %c0, %c0, %c0], %9[%c0, %c0, %c0, %c0], %c64, %max_pool1_tags[%c0, %c0] {tiler.name = "max_pool1: load in0 to L1"} : memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L2">>, memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L1">>, memref<2x1xi32>
    memref.dma_wait %max_pool1_tags[%c0, %c0], %c64 : memref<2x1xi32>
    %11 = memref.subview %max_pool1_in0_L1[0, 0, 0, 0, 0] [1, 1, 4, 4, 4] [1, 1, 1, 1, 1] : memref<1x1x4x4x4xf32, #tiler.mem<"L1">> to memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L1">>
    %12 = memref.subview %max_pool1_out_L1[0, 0, 0, 0, 0] [1, 1, 4, 2, 2] [1, 1, 1, 1, 1] : memref<1x1x4x2x2xf32, #tiler.mem<"L1">> to memref<1x4x2x2xf32, strided<[16, 4, 2, 1]>, #tiler.mem<"L1">>
    tiler.max_pool ins(%11 : memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L1">>) outs(%12 : memref<1x4x2x2xf32, strided<[16, 4, 2, 1]>, #tiler.mem<"L1">>) tile [0, 0, 0, 0, 0, 0] [1, 4, 2, 2, 2, 2] of [[1, 4, 4, 4]] -> [1, 4, 2, 2] {ceil_mode = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>}
    %13 = memref.subview %max_pool1_out_L1[0, 0, 0, 0, 0] [1, 1, 4, 2, 2] [1, 1, 1, 1, 1] : memref<1x1x4x2x2xf32, #tiler.mem<"L1">> to memref<1x4x2x2xf32, strided<[16, 4, 2, 1]>, #tiler.mem<"L1">>
    %14 = memref.subview %p[0, 0, 0, 0] [1, 4, 2, 2] [1, 1, 1, 1] : memref<1x4x2x2xf32, #tiler.mem<"L2">> to memref<1x4x2x2xf32, strided<[16, 4, 2, 1]>, #tiler.mem<"L2">>
    memref.dma_start %13[%c0, %c0, %c0, %c0], %14[%c0, %c0, %c0, %c0], %c16, %max_pool1_tags[%c1, %c0] {tiler.name = "max_pool1: store out from L1"} : memref<1x4x2x2xf32, strided<[16, 4, 2, 1]>, #tiler.mem<"L1">>, memref<1x4x2x2xf32, strided<[16, 4, 2, 1]>, #tiler.mem<"L2">>, memref<2x1xi32>
    memref.dma_wait %max_pool1_tags[%c1, %c0], %c16 : memref<2x1xi32>
    memref.dealloc %max_pool1_in0_L1 : memref<1x1x4x4x4xf32, #tiler.mem<"L1">>
    memref.dealloc %max_pool1_out_L1 : memref<1x1x4x2x2xf32, #tiler.mem<"L1">>
    memref.dealloc %max_pool1_tags : memref<2x1xi32>
    %t = memref.alloc() {tiler.name = "transpose1"} : memref<4x1x4x4xf32, #tiler.mem<"L2">>
    %transpose1_tags = memref.alloc() {tiler.name = "transpose1: DMA tags", tiler.dma_tags} : memref<2x1xi32>
    %transpose1_in0_L1 = memref.alloc() {tiler.name = "transpose1: in0 in L1"} : memref<1x1x4x4x4xf32, #tiler.mem<"L1">>
    %transpose1_out_L1 = memref.alloc() {tiler.name = "transpose1: out in L1"} : memref<1x4x1x4x4xf32, #tiler.mem<"L1">>
    %15 = memref.subview %transpose1_in0_L1[0, 0, 0, 0, 0] [1, 1, 4, 4, 4] [1, 1, 1, 1, 1] : memref<1x1x4x4x4xf32, #tiler.mem<"L1">> to memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L1">>
    %16 = memref.subview %x[0, 0, 0, 0] [1, 4, 4, 4] [1, 1, 1, 1] : memref<1x4x4x4xf32, #tiler.mem<"L2">> to memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L2">>
    memref.dma_start %16[%c0, %c0, %c0, %c0], %15[%c0, %c0, %c0, %c0], %c64, %transpose1_tags[%c0, %c0] {tiler.name = "transpose1: load in0 to L1"} : memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L2">>, memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L1">>, memref<2x1xi32>
    memref.dma_wait %transpose1_tags[%c0, %c0], %c64 : memref<2x1xi32>
    %17 = memref.subview %transpose1_in0_L1[0, 0, 0, 0, 0] [1, 1, 4, 4, 4] [1, 1, 1, 1, 1] : memref<1x1x4x4x4xf32, #tiler.mem<"L1">> to memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L1">>
    %18 = memref.subview %transpose1_out_L1[0, 0, 0, 0, 0] [1, 4, 1, 4, 4] [1, 1, 1, 1, 1] : memref<1x4x1x4x4xf32, #tiler.mem<"L1">> to memref<4x1x4x4xf32, strided<[16, 16, 4, 1]>, #tiler.mem<"L1">>
    tiler.transpose ins(%17 : memref<1x4x4x4xf32, strided<[64, 16, 4, 1]>, #tiler.mem<"L1">>) outs(%18 : memref<4x1x4x4xf32, strided<[16, 16, 4, 1]>, #tiler.mem<"L1">>) tile [0, 0, 0, 0] [4, 1, 4, 4] of [[1, 4, 4, 4]] -> [4, 1, 4, 4] {perm = array<i64: 1, 0, 2, 3>}
    %19 = memref.subview %transpose1_out_L1[0, 0, 0, 0, 0] [1, 4, 1, 4, 4] [1, 1, 1, 1, 1] : memref<1x4x1x4x4xf32, #tiler.mem<"L1">> to memref<4x1x4x4xf32, strided<[16, 16, 4, 1]>, #tiler.mem<"L1">>
    %20 = memref.subview %t[0, 0, 0, 0] [4, 1, 4, 4] [1, 1, 1, 1] : memref<4x1x4x4xf32, #tiler.mem<"L2">> to memref<4x1x4x4xf32, strided<[16, 16, 4, 1]>, #tiler.mem<"L2">>
    memref.dma_start %19[%c0, %c0, %c0, %c0], %20[%c0, %c0, %c0, %c0], %c64, %transpose1_tags[%c1, %c0] {tiler.name = "transpose1: store out from L1"} : memref<4x1x4x4xf32, strided<[16, 16, 4, 1]>, #tiler.mem<"L1">>, memref<4x1x4x4xf32, strided<[16, 16, 4, 1]>, #tiler.mem<"L2">>, memref<2x1xi32>
    memref.dma_wait %transpose1_tags[%c1, %c0], %c64 : memref<2x1xi32>
    memref.dealloc %transpose1_in0_L1 : memref<1x1x4x4x4xf32, #tiler.mem<"L1">>
    memref.dealloc %transpose1_out_L1 : memref<1x4x1x4x4xf32, #tiler.mem<"L1">>
    memref.dealloc %transpose1_tags : memref<2x1xi32>
    %m = memref.alloc() {tiler.name = "matmul1"} : memref<2x3xf32, #tiler.mem<"L2">>
    %matmul1_tags = memref.alloc() {tiler.name = "matmul1: DMA tags", tiler.dma_tags} : memref<3x1xi32>
    %matmul1_in0_L1 = memref.alloc() {tiler.name = "matmul1: in0 in L1"} : memref<1x2x6xf32, #tiler.mem<"L1">>
    %matmul1_in1_L1 = memref.alloc() {tiler.name = "matmul1: in1 in L1"} : memref<1x6x3xf32, #tiler.mem<"L1">>
    %matmul1_out_L1 = memref.alloc() {tiler.name = "matmul1: out in L1"} : memref<1x2x3xf32, #tiler.mem<"L1">>
    %21 = memref.subview %matmul1_in0_L1[0, 0, 0] [1, 2, 6] [1, 1, 1] : memref<1x2x6xf32, #tiler.mem<"L1">> to memref<2x6xf32, strided<[6, 1]>, #tiler.mem<"L1">>
    %22 = memref.subview %a[0, 0] [2, 6] [1, 1] : memref<2x6xf32, #tiler.mem<"L2">> to memref<2x6xf32, strided<[6, 1]>, #tiler.mem<"L2">>
    memref.dma_start %22[%c0, %c0], %21[%c0, %c0], %c12, %matmul1_tags[%c0, %c0] {tiler.name = "matmul1: load in0 to L1"} : memref<2x6xf32, strided<[6, 1]>, #tiler.mem<"L2">>, memref<2x6xf32, strided<[6, 1]>, #tiler.mem<"L1">>, memref<3x1xi32>
    %23 = memref.subview %matmul1_in1_L1[0, 0, 0] [1, 6, 3] [1, 1, 1] : memref<1x6x3xf32, #tiler.mem<"L1">> to memref<6x3xf32, strided<[3, 1]>, #tiler.mem<"L1">>
    %24 = memref.subview %b[0, 0] [6, 3] [1, 1] : memref<6x3xf32, #tiler.mem<"L2">> to memref<6x3xf32, strided<[3, 1]>, #tiler.mem<"L2">>
    memref.dma_start %24[%c0, %c0], %23[%c0, %c0], %c18, %matmul1_tags[%c1, %c0] {tiler.name = "matmul1: load in1 to L1"} : memref<6x3xf32, strided<[3, 1]>, #tiler.mem<"L2">>, memref<6x3xf32, strided<[3, 1]>, #tiler.mem<"L1">>, memref<3x1xi32>
    memref.dma_wait %matmul1_tags[%c0, %c0], %c12 : memref<3x1xi32>
    memref.dma_wait %matmul1_tags[%c1, %c0], %c18 : memref<3x1xi32>
    %25 = memref.subview %matmul1_in0_L1[0, 0, 0] [1, 2, 6] [1, 1, 1] : memref<1x2x6xf32, #tiler.mem<"L1">> to memref<2x6xf32, strided<[6, 1]>, #tiler.mem<"L1">>
    %26 = memref.subview %matmul1_in1_L1[0, 0, 0] [1, 6, 3] [1, 1, 1] : memref<1x6x3xf32, #tiler.mem<"L1">> to memref<6x3xf32, strided<[3, 1]>, #tiler.mem<"L1">>
    %27 = memref.subview %matmul1_out_L1[0, 0, 0] [1, 2, 3] [1, 1, 1] : memref<1x2x3xf32, #tiler.mem<"L1">> to memref<2x3xf32, strided<[3, 1]>, #tiler.mem<"L1">>
    tiler.matmul ins(%25, %26 : memref<2x6xf32, strided<[6, 1]>, #tiler.mem<"L1">>, memref<6x3xf32, strided<[3, 1]>, #tiler.mem<"L1">>) outs(%27 : memref<2x3xf32, strided<[3, 1]>, #tiler.mem<"L1">>) tile [0, 0, 0] [2, 3, 6] of [[2, 6], [6, 3]] -> [2, 3]
    %28 = memref.subview %matmul1_out_L1[0, 0, 0] [1, 2, 3] [1, 1, 1] : memref<1x2x3xf32, #tiler.mem<"L1">> to memref<2x3xf32, strided<[3, 1]>, #tiler.mem<"L1">>
    %29 = memref.subview %m[0, 0] [2, 3] [1, 1] : memref<2x3xf32, #tiler.mem<"L2">> to memref<2x3xf32, strided<[3, 1]>, #tiler.mem<"L2">>
    memref.dma_start %28[%c0, %c0], %29[%c0, %c0], %c6, %matmul1_tags[%c2, %c0] {tiler.name = "matmul1: store out from L1"} : memref<2x3xf32, strided<[3, 1]>, #tiler.mem<"L1">>, memref<2x3xf32, strided<[3, 1]>, #tiler.mem<"L2">>, memref<3x1xi32>
    memref.dma_wait %matmul1_tags[%c2, %c0], %c6 : memref<3x1xi32>
    memref.dealloc %matmul1_in0_L1 : memref<1x2x6xf32, #tiler.mem<"L1">>
    memref.dealloc %matmul1_in1_L1 : memref<1x6x3xf32, #tiler.mem<"L1">>
    memref.dealloc %matmul1_out_L1 : memref<1x2x3xf32, #tiler.mem<"L1">>
    memref.dealloc %matmul1_tags : memref<3x1xi32>
    func.return %p, %c, %t, %m : memref<1x4x2x2xf32, #tiler.mem<"L2">>, memref<1x2x4x4xf32, #tiler.mem<"L2">>, memref<4x1x4x4xf32, #tiler.mem<"L2">>, memref<2x3xf32, #tiler.mem<"L2">>
  }
}

