// The indexing ops: ArgMax/ArgMin (int64 results; axis 0, keepdims, first index by
// default), Tile (repeats) and Gather (int32 or int64 indices, axis 0 by default), in
// tensor form and in destination form; the printed IR reads back the same, also from the
// generic form. Their verifier errors are in verify_errors.mlir.
// RUN: tiler-opt %s | filecheck %s
// RUN: tiler-opt %s | tiler-opt - | filecheck %s
// RUN: tiler-opt %s --print-op-generic | tiler-opt - | filecheck %s

builtin.module {
  func.func @ops(%x: tensor<2x3xf32, #tiler.mem<"L2">>, %e: tensor<10x4xf32, #tiler.mem<"L2">>, %i: tensor<2x5xi32, #tiler.mem<"L2">>) {
    %a = tiler.arg_max %x : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<1x3xi64, #tiler.mem<"L2">>
    %b = tiler.arg_min %x {axis = 1 : i64, keepdims = false, select_last_index = true} : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<2xi64, #tiler.mem<"L2">>
    %t = tiler.tile %x {repeats = array<i64: 2, 3>} : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<4x9xf32, #tiler.mem<"L2">>
    %g = tiler.gather %e, %i : (tensor<10x4xf32, #tiler.mem<"L2">>, tensor<2x5xi32, #tiler.mem<"L2">>) -> tensor<2x5x4xf32, #tiler.mem<"L2">>
    %h = tiler.gather %e, %i {axis = 1 : i64} : (tensor<10x4xf32, #tiler.mem<"L2">>, tensor<2x5xi32, #tiler.mem<"L2">>) -> tensor<10x2x5xf32, #tiler.mem<"L2">>
    func.return
  }
  func.func @destination(%x: memref<2x3xf32, #tiler.mem<"L1">>, %y: memref<4x9xf32, #tiler.mem<"L1">>, %r: memref<2xi64, #tiler.mem<"L1">>) {
    tiler.tile ins(%x : memref<2x3xf32, #tiler.mem<"L1">>) outs(%y : memref<4x9xf32, #tiler.mem<"L1">>) {repeats = array<i64: 2, 3>}
    tiler.arg_max ins(%x : memref<2x3xf32, #tiler.mem<"L1">>) outs(%r : memref<2xi64, #tiler.mem<"L1">>) {axis = 1 : i64, keepdims = false}
    func.return
  }
}

// CHECK:      builtin.module {
// CHECK-NEXT:   func.func @ops(%x: tensor<2x3xf32, #tiler.mem<"L2">>, %e: tensor<10x4xf32, #tiler.mem<"L2">>, %i: tensor<2x5xi32, #tiler.mem<"L2">>) {
// CHECK-NEXT:     %a = tiler.arg_max %x {axis = 0 : i64, keepdims = true, select_last_index = false} : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<1x3xi64, #tiler.mem<"L2">>
// CHECK-NEXT:     %b = tiler.arg_min %x {axis = 1 : i64, keepdims = false, select_last_index = true} : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<2xi64, #tiler.mem<"L2">>
// CHECK-NEXT:     %t = tiler.tile %x {repeats = array<i64: 2, 3>} : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<4x9xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %g = tiler.gather %e, %i {axis = 0 : i64} : (tensor<10x4xf32, #tiler.mem<"L2">>, tensor<2x5xi32, #tiler.mem<"L2">>) -> tensor<2x5x4xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %h = tiler.gather %e, %i {axis = 1 : i64} : (tensor<10x4xf32, #tiler.mem<"L2">>, tensor<2x5xi32, #tiler.mem<"L2">>) -> tensor<10x2x5xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     func.return
// CHECK-NEXT:   }
// CHECK-NEXT:   func.func @destination(%x: memref<2x3xf32, #tiler.mem<"L1">>, %y: memref<4x9xf32, #tiler.mem<"L1">>, %r: memref<2xi64, #tiler.mem<"L1">>) {
// CHECK-NEXT:     tiler.tile ins(%x : memref<2x3xf32, #tiler.mem<"L1">>) outs(%y : memref<4x9xf32, #tiler.mem<"L1">>) {repeats = array<i64: 2, 3>}
// CHECK-NEXT:     tiler.arg_max ins(%x : memref<2x3xf32, #tiler.mem<"L1">>) outs(%r : memref<2xi64, #tiler.mem<"L1">>) {axis = 1 : i64, keepdims = false, select_last_index = false}
// CHECK-NEXT:     func.return
// CHECK-NEXT:   }
// CHECK-NEXT: }
