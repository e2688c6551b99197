// multi-buffer starts each load into a buffer with two copies one tile early: the first
// tile's before the loop (its index arithmetic folded), and tile t + 1's at the top of
// tile t, under t + 1 < T, into the other copy; the loop is marked tiler.pipelined. The
// input is apply-tiles' synchronous IR of a relu (input: 2 copies, so it pipelines) and
// a matmul whose streamed input has one copy (left as it is: no second copy to fill).
// Running the pass again changes nothing; the result computes the same, and the DMA
// hazard checks of the executor pass (no copy is read while its next tile lands).
// RUN: tiler-opt %s -p multi-buffer > %t.mlir
// RUN: filecheck %s < %t.mlir
// RUN: tiler-opt %t.mlir -p multi-buffer | diff - %t.mlir
// RUN: python -c "import numpy as np; r = np.random.default_rng(0); np.savez('%t.in.npz', x=r.standard_normal((4, 16)).astype(np.float32), w=r.standard_normal((8, 4)).astype(np.float32))"
// RUN: tiler-run %s --inputs %t.in.npz --outputs %t.ref.npz
// RUN: tiler-run %t.mlir --inputs %t.in.npz --check %t.ref.npz | filecheck %s --check-prefix=EXEC

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L2", compute = "L1", levels = [<"L2", size = 65536, neighbours = ["L1"]>, <"L1", size = 512, neighbours = ["L2"]>]>} {
  func.func @main(%x: memref<4x16xf32, #tiler.mem<"L2">> {tiler.name = "x"}, %w: memref<8x4xf32, #tiler.mem<"L2">> {tiler.name = "w"}) -> (memref<4x16xf32, #tiler.mem<"L2">> {tiler.name = "y"}, memref<8x4xf32, #tiler.mem<"L2">> {tiler.name = "z"}) {
    %c8 = arith.constant 8 : index
    %c32 = arith.constant 32 : index
    %c4 = arith.constant 4 : index
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %y = memref.alloc() {tiler.name = "act"} : memref<4x16xf32, #tiler.mem<"L2">>
    %act_tags = memref.alloc() {tiler.name = "act: DMA tags", tiler.dma_tags} : memref<2x2xi32>
    %act_in0_L1 = memref.alloc() {tiler.name = "act: in0 in L1"} : memref<2x1x16xf32, #tiler.mem<"L1">>
    %act_out_L1 = memref.alloc() {tiler.name = "act: out in L1"} : memref<1x1x16xf32, #tiler.mem<"L1">>
    scf.for %t0 = %c0 to %c4 step %c1 {
      %0 = arith.remsi %t0, %c2 : index
      %1 = memref.subview %act_in0_L1[%0, 0, 0] [1, 1, 16] [1, 1, 1] : memref<2x1x16xf32, #tiler.mem<"L1">> to memref<1x16xf32, strided<[16, 1], offset: ?>, #tiler.mem<"L1">>
      %2 = memref.subview %x[%t0, 0] [1, 16] [1, 1] : memref<4x16xf32, #tiler.mem<"L2">> to memref<1x16xf32, strided<[16, 1], offset: ?>, #tiler.mem<"L2">>
      memref.dma_start %2[%c0, %c0], %1[%c0, %c0], %c16, %act_tags[%c0, %0] {tiler.name = "act: load in0 to L1"} : memref<1x16xf32, strided<[16, 1], offset: ?>, #tiler.mem<"L2">>, memref<1x16xf32, strided<[16, 1], offset: ?>, #tiler.mem<"L1">>, memref<2x2xi32>
      memref.dma_wait %act_tags[%c0, %0], %c16 : memref<2x2xi32>
      memref.dma_wait %act_tags[%c1, %c0], %c16 : memref<2x2xi32>
      %3 = memref.subview %act_in0_L1[%0, 0, 0] [1, 1, 16] [1, 1, 1] : memref<2x1x16xf32, #tiler.mem<"L1">> to memref<1x16xf32, strided<[16, 1], offset: ?>, #tiler.mem<"L1">>
      %4 = memref.subview %act_out_L1[0, 0, 0] [1, 1, 16] [1, 1, 1] : memref<1x1x16xf32, #tiler.mem<"L1">> to memref<1x16xf32, strided<[16, 1]>, #tiler.mem<"L1">>
      tiler.relu ins(%3 : memref<1x16xf32, strided<[16, 1], offset: ?>, #tiler.mem<"L1">>) outs(%4 : memref<1x16xf32, strided<[16, 1]>, #tiler.mem<"L1">>) tile [%t0, 0] [1, 16] of [[4, 16]] -> [4, 16] {tiler.name = "act"}
      %5 = memref.subview %y[%t0, 0] [1, 16] [1, 1] : memref<4x16xf32, #tiler.mem<"L2">> to memref<1x16xf32, strided<[16, 1], offset: ?>, #tiler.mem<"L2">>
      memref.dma_start %4[%c0, %c0], %5[%c0, %c0], %c16, %act_tags[%c1, %c0] {tiler.name = "act: store out from L1"} : memref<1x16xf32, strided<[16, 1]>, #tiler.mem<"L1">>, memref<1x16xf32, strided<[16, 1], offset: ?>, #tiler.mem<"L2">>, memref<2x2xi32>
    } {tiler.tile_loop = "act: L1"}
    memref.dma_wait %act_tags[%c1, %c0], %c16 : memref<2x2xi32>
    memref.dealloc %act_in0_L1 : memref<2x1x16xf32, #tiler.mem<"L1">>
    memref.dealloc %act_out_L1 : memref<1x1x16xf32, #tiler.mem<"L1">>
    memref.dealloc %act_tags : memref<2x2xi32>
    %v = tiler.reshape %y {tiler.name = "view"} : (memref<4x16xf32, #tiler.mem<"L2">>) -> memref<8x8xf32, #tiler.mem<"L2">>
    %z = memref.alloc() {tiler.name = "mm"} : memref<8x4xf32, #tiler.mem<"L2">>
    %mm_tags = memref.alloc() {tiler.name = "mm: DMA tags", tiler.dma_tags} : memref<3x2xi32>
    %mm_in0_L1 = memref.alloc() {tiler.name = "mm: in0 in L1"} : memref<1x2x8xf32, #tiler.mem<"L1">>
    %mm_in1_L1 = memref.alloc() {tiler.name = "mm: in1 in L1"} : memref<1x8x4xf32, #tiler.mem<"L1">>
    %mm_out_L1 = memref.alloc() {tiler.name = "mm: out in L1"} : memref<2x2x4xf32, #tiler.mem<"L1">>
    %6 = memref.subview %mm_in1_L1[0, 0, 0] [1, 8, 4] [1, 1, 1] : memref<1x8x4xf32, #tiler.mem<"L1">> to memref<8x4xf32, strided<[4, 1]>, #tiler.mem<"L1">>
    %7 = memref.subview %w[0, 0] [8, 4] [1, 1] : memref<8x4xf32, #tiler.mem<"L2">> to memref<8x4xf32, strided<[4, 1]>, #tiler.mem<"L2">>
    memref.dma_start %7[%c0, %c0], %6[%c0, %c0], %c32, %mm_tags[%c1, %c0] {tiler.name = "mm: load in1 to L1"} : memref<8x4xf32, strided<[4, 1]>, #tiler.mem<"L2">>, memref<8x4xf32, strided<[4, 1]>, #tiler.mem<"L1">>, memref<3x2xi32>
    memref.dma_wait %mm_tags[%c1, %c0], %c32 : memref<3x2xi32>
    scf.for %t0_1 = %c0 to %c4 step %c1 {
      %8 = memref.subview %mm_in0_L1[0, 0, 0] [1, 2, 8] [1, 1, 1] : memref<1x2x8xf32, #tiler.mem<"L1">> to memref<2x8xf32, strided<[8, 1]>, #tiler.mem<"L1">>
      %9 = arith.muli %t0_1, %c2 : index
      %10 = memref.subview %v[%9, 0] [2, 8] [1, 1] : memref<8x8xf32, #tiler.mem<"L2">> to memref<2x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L2">>
      memref.dma_start %10[%c0, %c0], %8[%c0, %c0], %c16, %mm_tags[%c0, %c0] {tiler.name = "mm: load in0 to L1"} : memref<2x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L2">>, memref<2x8xf32, strided<[8, 1]>, #tiler.mem<"L1">>, memref<3x2xi32>
      memref.dma_wait %mm_tags[%c0, %c0], %c16 : memref<3x2xi32>
      %11 = arith.remsi %t0_1, %c2 : index
      memref.dma_wait %mm_tags[%c2, %11], %c8 : memref<3x2xi32>
      %12 = memref.subview %mm_in0_L1[0, 0, 0] [1, 2, 8] [1, 1, 1] : memref<1x2x8xf32, #tiler.mem<"L1">> to memref<2x8xf32, strided<[8, 1]>, #tiler.mem<"L1">>
      %13 = memref.subview %mm_in1_L1[0, 0, 0] [1, 8, 4] [1, 1, 1] : memref<1x8x4xf32, #tiler.mem<"L1">> to memref<8x4xf32, strided<[4, 1]>, #tiler.mem<"L1">>
      %14 = memref.subview %mm_out_L1[%11, 0, 0] [1, 2, 4] [1, 1, 1] : memref<2x2x4xf32, #tiler.mem<"L1">> to memref<2x4xf32, strided<[4, 1], offset: ?>, #tiler.mem<"L1">>
      tiler.matmul ins(%12, %13 : memref<2x8xf32, strided<[8, 1]>, #tiler.mem<"L1">>, memref<8x4xf32, strided<[4, 1]>, #tiler.mem<"L1">>) outs(%14 : memref<2x4xf32, strided<[4, 1], offset: ?>, #tiler.mem<"L1">>) tile [%9, 0, 0] [2, 4, 8] of [[8, 8], [8, 4]] -> [8, 4] {tiler.name = "mm"}
      %15 = memref.subview %z[%9, 0] [2, 4] [1, 1] : memref<8x4xf32, #tiler.mem<"L2">> to memref<2x4xf32, strided<[4, 1], offset: ?>, #tiler.mem<"L2">>
      memref.dma_start %14[%c0, %c0], %15[%c0, %c0], %c8, %mm_tags[%c2, %11] {tiler.name = "mm: store out from L1"} : memref<2x4xf32, strided<[4, 1], offset: ?>, #tiler.mem<"L1">>, memref<2x4xf32, strided<[4, 1], offset: ?>, #tiler.mem<"L2">>, memref<3x2xi32>
    } {tiler.tile_loop = "mm: L1"}
    memref.dma_wait %mm_tags[%c2, %c0], %c8 : memref<3x2xi32>
    memref.dma_wait %mm_tags[%c2, %c1], %c8 : memref<3x2xi32>
    memref.dealloc %mm_in0_L1 : memref<1x2x8xf32, #tiler.mem<"L1">>
    memref.dealloc %mm_in1_L1 : memref<1x8x4xf32, #tiler.mem<"L1">>
    memref.dealloc %mm_out_L1 : memref<2x2x4xf32, #tiler.mem<"L1">>
    memref.dealloc %mm_tags : memref<3x2xi32>
    func.return %y, %z : memref<4x16xf32, #tiler.mem<"L2">>, memref<8x4xf32, #tiler.mem<"L2">>
  }
}


// The first tile of x into copy 0, before the loop, with literal offsets.
// CHECK:      %act_out_L1 = memref.alloc() {tiler.name = "act: out in L1"} : memref<1x1x16xf32, #tiler.mem<"L1">>
// CHECK-NEXT: [[D0:%[0-9]+]] = memref.subview %act_in0_L1[0, 0, 0] [1, 1, 16] [1, 1, 1] : memref<2x1x16xf32, #tiler.mem<"L1">> to memref<1x16xf32, strided<[16, 1]>, #tiler.mem<"L1">>
// CHECK-NEXT: [[S0:%[0-9]+]] = memref.subview %x[0, 0] [1, 16] [1, 1] : memref<4x16xf32, #tiler.mem<"L2">> to memref<1x16xf32, strided<[16, 1]>, #tiler.mem<"L2">>
// CHECK-NEXT: memref.dma_start [[S0]][%c0, %c0], [[D0]][%c0, %c0], %c16, %act_tags[%c0, %c0] {tiler.name = "act: load in0 to L1"}
// In the loop, first the next tile's load into copy (t + 1) % 2, then tile t as before:
// it waits for its own load, started a tile ago.
// CHECK-NEXT: scf.for %t0 = %c0 to %c4 step %c1 {
// CHECK-NEXT:   %next = arith.addi %t0, %c1 : index
// CHECK-NEXT:   [[MORE:%[0-9]+]] = arith.cmpi slt, %next, %c4 : index
// CHECK-NEXT:   scf.if [[MORE]] {
// CHECK-NEXT:     [[NC:%[0-9]+]] = arith.remsi %next, %c2 : index
// CHECK-NEXT:     [[ND:%[0-9]+]] = memref.subview %act_in0_L1{{\[}}[[NC]], 0, 0] [1, 1, 16] [1, 1, 1]
// CHECK-NEXT:     [[NS:%[0-9]+]] = memref.subview %x[%next, 0] [1, 16] [1, 1]
// CHECK-NEXT:     memref.dma_start [[NS]][%c0, %c0], [[ND]][%c0, %c0], %c16, %act_tags[%c0, [[NC]]] {tiler.name = "act: load in0 to L1"}
// CHECK-NEXT:   }
// CHECK-NEXT:   [[C:%[0-9]+]] = arith.remsi %t0, %c2 : index
// CHECK-NEXT:   memref.dma_wait %act_tags[%c0, [[C]]], %c16 : memref<2x2xi32>
// CHECK-NOT:    memref.dma_start {{.*}} "act: load in0 to L1"
// CHECK:        tiler.relu
// CHECK:        memref.dma_start {{.*}} {tiler.name = "act: store out from L1"}
// CHECK-NEXT: } {tiler.tile_loop = "act: L1", tiler.pipelined}

// The matmul's loop keeps its synchronous load: its input buffer has one copy.
// CHECK:      scf.for %t0_1 = %c0 to %c4 step %c1 {
// CHECK-NEXT:   [[MD:%[0-9]+]] = memref.subview %mm_in0_L1[0, 0, 0] [1, 2, 8] [1, 1, 1]
// CHECK-NEXT:   [[MR:%[0-9]+]] = arith.muli %t0_1, %c2 : index
// CHECK-NEXT:   [[MS:%[0-9]+]] = memref.subview %v{{\[}}[[MR]], 0] [2, 8] [1, 1]
// CHECK-NEXT:   memref.dma_start [[MS]][%c0, %c0], [[MD]][%c0, %c0], %c16, %mm_tags[%c0, %c0] {tiler.name = "mm: load in0 to L1"}
// CHECK-NEXT:   memref.dma_wait %mm_tags[%c0, %c0], %c16 : memref<3x2xi32>
// CHECK:      } {tiler.tile_loop = "mm: L1"}

// EXEC: ok y: max |out - golden| = 0
// EXEC: ok z: max |out - golden| = 0
