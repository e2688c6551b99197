// tile is choose-tiles, apply-tiles and multi-buffer in a row, from hand-written tensor IR:
// a relu of 4x16 floats with l1=256 (the option replaces the module's hierarchy by the
// L3 - L2 - L1 chain) takes 2 tiles of 4x8, one copy each of input and output (128 B
// each): fewer, larger tiles beat double buffering's four tiles of a row at this size.
// Its output equals the three passes run one by one, and computes what the untiled IR
// does.
// RUN: tiler-opt %s -p 'tile{l1=256}' > %t.mlir
// RUN: filecheck %s < %t.mlir
// RUN: tiler-opt %s -p 'choose-tiles{l1=256},apply-tiles,multi-buffer' | diff - %t.mlir
// RUN: python -c "import numpy as np; np.savez('%t.in.npz', x=np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32))"
// RUN: tiler-run %s --inputs %t.in.npz --outputs %t.ref.npz
// RUN: tiler-run %t.mlir --inputs %t.in.npz --check %t.ref.npz | filecheck %s --check-prefix=EXEC

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L2", compute = "L1", levels = [<"L2", size = 65536, neighbours = ["L1"]>, <"L1", size = 1024, neighbours = ["L2"]>]>} {
  func.func @main(%x: tensor<4x16xf32, #tiler.mem<"L2">> {tiler.name = "x"}) -> (tensor<4x16xf32, #tiler.mem<"L2">> {tiler.name = "y"}) {
    %y = tiler.relu %x {tiler.name = "act"} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<4x16xf32, #tiler.mem<"L2">>
    func.return %y : tensor<4x16xf32, #tiler.mem<"L2">>
  }
}

// CHECK-NOT:  tiler.schedule
// CHECK:      %act_tags = memref.alloc() {tiler.name = "act: DMA tags", tiler.dma_tags} : memref<2x1xi32>
// CHECK-NEXT: %act_in0_L1 = memref.alloc() {tiler.name = "act: in0 in L1"} : memref<1x4x8xf32, #tiler.mem<"L1">>
// CHECK-NEXT: %act_out_L1 = memref.alloc() {tiler.name = "act: out in L1"} : memref<1x4x8xf32, #tiler.mem<"L1">>
// CHECK:      scf.for %t0 = %c0 to %c2 step %c1 {
// CHECK-NOT:    scf.if
// CHECK:        memref.dma_start {{.*}} {tiler.name = "act: load in0 to L1"}
// CHECK:        tiler.relu ins({{.*}}) outs({{.*}}) tile [0, %{{.*}}] [4, 8] of {{\[\[}}4, 16]] -> [4, 16]
// CHECK:        memref.dma_start {{.*}} {tiler.name = "act: store out from L1"}
// CHECK:      } {tiler.tile_loop = "act: L1"}

// EXEC: ok y: max |out - golden| = 0
