// A hand-written double-buffered tiling of relu over 64x8 in 4 tiles of 16 rows:
// prologue (load tile 0), steady state (prefetch t+1, wait t, compute, store), epilogue.
builtin.module {
  func.func @main(%x: memref<64x8xf32, #tiler.mem<"L2">> {tiler.name = "x"}) -> (memref<64x8xf32, #tiler.mem<"L2">> {tiler.name = "y"}) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c16 = arith.constant 16 : index
    %y = memref.alloc() : memref<64x8xf32, #tiler.mem<"L2">>
    %xb = memref.alloc() : memref<2x16x8xf32, #tiler.mem<"L1">>
    %yb = memref.alloc() : memref<2x16x8xf32, #tiler.mem<"L1">>
    %s0 = memref.subview %x[0, 0] [16, 8] [1, 1] : memref<64x8xf32, #tiler.mem<"L2">> to memref<16x8xf32, strided<[8, 1]>, #tiler.mem<"L2">>
    %d0 = memref.subview %xb[0, 0, 0] [1, 16, 8] [1, 1, 1] : memref<2x16x8xf32, #tiler.mem<"L1">> to memref<16x8xf32, strided<[8, 1]>, #tiler.mem<"L1">>
    tiler.dma_start %s0 to %d0 tag [0, 0] : memref<16x8xf32, strided<[8, 1]>, #tiler.mem<"L2">> to memref<16x8xf32, strided<[8, 1]>, #tiler.mem<"L1">>
    scf.for %t = %c0 to %c3 step %c1 {
      %n = arith.addi %t, %c1 : index
      %ns = arith.remsi %n, %c2 : index
      %no = arith.muli %n, %c16 : index
      %sn = memref.subview %x[%no, 0] [16, 8] [1, 1] : memref<64x8xf32, #tiler.mem<"L2">> to memref<16x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L2">>
      %dn = memref.subview %xb[%ns, 0, 0] [1, 16, 8] [1, 1, 1] : memref<2x16x8xf32, #tiler.mem<"L1">> to memref<16x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L1">>
      tiler.dma_start %sn to %dn tag [0, %ns] : memref<16x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L2">> to memref<16x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L1">>
      %s = arith.remsi %t, %c2 : index
      %o = arith.muli %t, %c16 : index
      tiler.dma_wait tag [0, %s]
      tiler.dma_wait tag [1, %s]
      %xt = memref.subview %xb[%s, 0, 0] [1, 16, 8] [1, 1, 1] : memref<2x16x8xf32, #tiler.mem<"L1">> to memref<16x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L1">>
      %yt = memref.subview %yb[%s, 0, 0] [1, 16, 8] [1, 1, 1] : memref<2x16x8xf32, #tiler.mem<"L1">> to memref<16x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L1">>
      tiler.relu ins(%xt : memref<16x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L1">>) outs(%yt : memref<16x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L1">>) tile [%o, 0] [16, 8] of [[64, 8]] -> [64, 8]
      %ys = memref.subview %y[%o, 0] [16, 8] [1, 1] : memref<64x8xf32, #tiler.mem<"L2">> to memref<16x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L2">>
      tiler.dma_start %yt to %ys tag [1, %s] : memref<16x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L1">> to memref<16x8xf32, strided<[8, 1], offset: ?>, #tiler.mem<"L2">>
    }
    %xl = memref.subview %xb[1, 0, 0] [1, 16, 8] [1, 1, 1] : memref<2x16x8xf32, #tiler.mem<"L1">> to memref<16x8xf32, strided<[8, 1], offset: 128>, #tiler.mem<"L1">>
    %yl = memref.subview %yb[1, 0, 0] [1, 16, 8] [1, 1, 1] : memref<2x16x8xf32, #tiler.mem<"L1">> to memref<16x8xf32, strided<[8, 1], offset: 128>, #tiler.mem<"L1">>
    tiler.dma_wait tag [0, 1]
    tiler.dma_wait tag [1, 1]
    tiler.relu ins(%xl : memref<16x8xf32, strided<[8, 1], offset: 128>, #tiler.mem<"L1">>) outs(%yl : memref<16x8xf32, strided<[8, 1], offset: 128>, #tiler.mem<"L1">>) tile [48, 0] [16, 8] of [[64, 8]] -> [64, 8]
    %ysl = memref.subview %y[48, 0] [16, 8] [1, 1] : memref<64x8xf32, #tiler.mem<"L2">> to memref<16x8xf32, strided<[8, 1], offset: 384>, #tiler.mem<"L2">>
    tiler.dma_start %yl to %ysl tag [1, 1] : memref<16x8xf32, strided<[8, 1], offset: 128>, #tiler.mem<"L1">> to memref<16x8xf32, strided<[8, 1], offset: 384>, #tiler.mem<"L2">>
    tiler.dma_wait tag [1, 0]
    tiler.dma_wait tag [1, 1]
    func.return %y : memref<64x8xf32, #tiler.mem<"L2">>
  }
}
