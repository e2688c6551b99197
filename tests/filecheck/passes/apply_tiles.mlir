// apply-tiles rewrites each op into the loop nest its tiler.schedule (written here by
// hand: no solver runs) describes, with synchronous DMA: every load is waited for at
// once; the multi-buffer pass overlaps them later. The relu is cut into 2 x 2 tiles of
// 2x8 (two copies of each buffer); the matmul into 4 tiles of 2 rows, its weights
// whole: they change with no split dim, so they are loaded once, before the loop.
// RUN: tiler-opt %s -p apply-tiles > %t.mlir
// RUN: filecheck %s < %t.mlir
// RUN: tiler-opt %t.mlir | diff - %t.mlir
// RUN: python -c "import numpy as np; r = np.random.default_rng(0); np.savez('%t.in.npz', x=r.standard_normal((4, 16)).astype(np.float32), w=r.standard_normal((8, 4)).astype(np.float32))"
// RUN: tiler-run %s --inputs %t.in.npz --outputs %t.ref.npz
// RUN: tiler-run %t.mlir --inputs %t.in.npz --check %t.ref.npz | filecheck %s --check-prefix=EXEC

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L2", compute = "L1", levels = [<"L2", size = 65536, neighbours = ["L1"]>, <"L1", size = 512, neighbours = ["L2"]>]>} {
  func.func @main(%x: tensor<4x16xf32, #tiler.mem<"L2">> {tiler.name = "x"}, %w: tensor<8x4xf32, #tiler.mem<"L2">> {tiler.name = "w"}) -> (tensor<4x16xf32, #tiler.mem<"L2">> {tiler.name = "y"}, tensor<8x4xf32, #tiler.mem<"L2">> {tiler.name = "z"}) {
    %y = tiler.relu %x {tiler.name = "act", tiler.schedule = #tiler.schedule<[<"L1", tile = [2, 8], order = [0, 1], buffers = [2, 2]>]>} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<4x16xf32, #tiler.mem<"L2">>
    %v = tiler.reshape %y {tiler.name = "view"} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<8x8xf32, #tiler.mem<"L2">>
    %z = tiler.matmul %v, %w {tiler.name = "mm", tiler.schedule = #tiler.schedule<[<"L1", tile = [2, 4, 8], order = [0], buffers = [2, 1, 2]>]>} : (tensor<8x8xf32, #tiler.mem<"L2">>, tensor<8x4xf32, #tiler.mem<"L2">>) -> tensor<8x4xf32, #tiler.mem<"L2">>
    func.return %y, %z : tensor<4x16xf32, #tiler.mem<"L2">>, tensor<8x4xf32, #tiler.mem<"L2">>
  }
}

// The relu: the DMA tags (2 streams x 2 copies), a buffer of 2 copies of 2x8 for its
// input and its output, and one loop over the 4 tiles; tile t is row block t / 2,
// column block t % 2, in copy t % 2.
// CHECK:      %y = memref.alloc() {tiler.name = "act"} : memref<4x16xf32, #tiler.mem<"L2">>
// CHECK-NEXT: %act_tags = memref.alloc() {tiler.name = "act: DMA tags", tiler.dma_tags} : memref<2x2xi32>
// CHECK-NEXT: %act_in0_L1 = memref.alloc() {tiler.name = "act: in0 in L1"} : memref<2x2x8xf32, #tiler.mem<"L1">>
// CHECK-NEXT: %act_out_L1 = memref.alloc() {tiler.name = "act: out in L1"} : memref<2x2x8xf32, #tiler.mem<"L1">>
// CHECK-NEXT: scf.for %t0 = %c0 to %c4 step %c1 {
// CHECK-NEXT:   [[ROW:%[0-9]+]] = arith.divsi %t0, %c2 : index
// CHECK-NEXT:   [[COPY:%[0-9]+]] = arith.remsi %t0, %c2 : index
// CHECK-NEXT:   [[DST:%[0-9]+]] = memref.subview %act_in0_L1{{\[}}[[COPY]], 0, 0] [1, 2, 8] [1, 1, 1]
// CHECK-NEXT:   [[R:%[0-9]+]] = arith.muli [[ROW]], %c2 : index
// CHECK-NEXT:   [[C:%[0-9]+]] = arith.muli [[COPY]], %c8 : index
// CHECK-NEXT:   [[SRC:%[0-9]+]] = memref.subview %x{{\[}}[[R]], [[C]]] [2, 8] [1, 1]
// The load of tile t, waited for at once; then the output copy's previous store.
// CHECK-NEXT:   memref.dma_start [[SRC]][%c0, %c0], [[DST]][%c0, %c0], %c16, %act_tags[%c0, [[COPY]]] {tiler.name = "act: load in0 to L1"}
// CHECK-NEXT:   memref.dma_wait %act_tags[%c0, [[COPY]]], %c16 : memref<2x2xi32>
// CHECK-NEXT:   memref.dma_wait %act_tags[%c1, [[COPY]]], %c16 : memref<2x2xi32>
// CHECK-NEXT:   [[IN:%[0-9]+]] = memref.subview %act_in0_L1{{\[}}[[COPY]], 0, 0] [1, 2, 8] [1, 1, 1]
// CHECK-NEXT:   [[OUT:%[0-9]+]] = memref.subview %act_out_L1{{\[}}[[COPY]], 0, 0] [1, 2, 8] [1, 1, 1]
// CHECK-NEXT:   tiler.relu ins([[IN]] : {{.*}}) outs([[OUT]] : {{.*}}) tile {{\[}}[[R]], [[C]]] [2, 8] of {{\[\[}}4, 16]] -> [4, 16] {tiler.name = "act"}
// CHECK-NEXT:   [[HOME:%[0-9]+]] = memref.subview %y{{\[}}[[R]], [[C]]] [2, 8] [1, 1]
// CHECK-NEXT:   memref.dma_start [[OUT]][%c0, %c0], [[HOME]][%c0, %c0], %c16, %act_tags[%c1, [[COPY]]] {tiler.name = "act: store out from L1"}
// CHECK-NEXT: } {tiler.tile_loop = "act: L1"}
// The drain: both copies' last stores.
// CHECK-NEXT: memref.dma_wait %act_tags[%c1, %c0], %c16 : memref<2x2xi32>
// CHECK-NEXT: memref.dma_wait %act_tags[%c1, %c1], %c16 : memref<2x2xi32>
// CHECK-NEXT: memref.dealloc %act_in0_L1
// CHECK-NEXT: memref.dealloc %act_out_L1
// CHECK-NEXT: memref.dealloc %act_tags

// The matmul reads the relu's result through the view. Its weights (in1) change with no
// split dim: one copy, loaded and waited for before the loop; the loop only streams rows.
// CHECK-NEXT: %v = tiler.reshape %y {tiler.name = "view"} : (memref<4x16xf32, #tiler.mem<"L2">>) -> memref<8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT: %z = memref.alloc() {tiler.name = "mm"} : memref<8x4xf32, #tiler.mem<"L2">>
// CHECK-NEXT: %mm_tags = memref.alloc() {tiler.name = "mm: DMA tags", tiler.dma_tags} : memref<3x2xi32>
// CHECK-NEXT: %mm_in0_L1 = memref.alloc() {tiler.name = "mm: in0 in L1"} : memref<2x2x8xf32, #tiler.mem<"L1">>
// CHECK-NEXT: %mm_in1_L1 = memref.alloc() {tiler.name = "mm: in1 in L1"} : memref<1x8x4xf32, #tiler.mem<"L1">>
// CHECK-NEXT: %mm_out_L1 = memref.alloc() {tiler.name = "mm: out in L1"} : memref<2x2x4xf32, #tiler.mem<"L1">>
// CHECK-NEXT: [[WD:%[0-9]+]] = memref.subview %mm_in1_L1[0, 0, 0] [1, 8, 4] [1, 1, 1]
// CHECK-NEXT: [[WS:%[0-9]+]] = memref.subview %w[0, 0] [8, 4] [1, 1]
// CHECK-NEXT: memref.dma_start [[WS]][%c0, %c0], [[WD]][%c0, %c0], %c32, %mm_tags[%c1, %c0] {tiler.name = "mm: load in1 to L1"}
// CHECK-NEXT: memref.dma_wait %mm_tags[%c1, %c0], %c32 : memref<3x2xi32>
// CHECK-NEXT: scf.for %t0_1 = %c0 to %c4 step %c1 {
// CHECK:        memref.dma_start {{.*}} {tiler.name = "mm: load in0 to L1"}
// CHECK-NEXT:   memref.dma_wait %mm_tags[%c0, [[MC:%[0-9]+]]], %c16
// CHECK-NEXT:   memref.dma_wait %mm_tags[%c2, [[MC]]], %c8
// CHECK:        tiler.matmul ins({{.*}}) outs({{.*}}) tile [{{%[0-9]+}}, 0, 0] [2, 4, 8] of {{\[\[}}8, 8], [8, 4]] -> [8, 4] {tiler.name = "mm"}
// CHECK:        memref.dma_start {{.*}} {tiler.name = "mm: store out from L1"}
// CHECK-NEXT: } {tiler.tile_loop = "mm: L1"}
// CHECK-NOT:  tiler.schedule
// CHECK:      func.return %y, %z : memref<4x16xf32, #tiler.mem<"L2">>, memref<8x4xf32, #tiler.mem<"L2">>

// EXEC: ok y: max |out - golden| = 0
// EXEC: ok z: max |out - golden| = 0
