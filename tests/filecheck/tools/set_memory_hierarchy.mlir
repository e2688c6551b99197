// set-memory-hierarchy replaces the module's hierarchy; when the home level changes,
// values in the old home move to the new one. It runs from plain xdsl-opt, and
// tiler-opt's hierarchy flags on IR input apply it.
// RUN: xdsl-opt %s -p 'set-memory-hierarchy{l1=8192 default-mem-level=L3}' | filecheck %s
// RUN: tiler-opt %s --l1 8K --default-mem-level L3 | filecheck %s
// RUN: xdsl-opt %s -p 'set-memory-hierarchy{l2=65536}' | filecheck %s --check-prefix=SIZES
// RUN: not tiler-opt %s --l2 0 2>&1 | filecheck %s --check-prefix=BAD
// RUN: tiler-opt %s --verify-diagnostics -p 'set-memory-hierarchy{default-mem-level=L7}' | filecheck %s --check-prefix=DIAG

builtin.module {
  func.func @main(%x: tensor<2x4xf32, #tiler.mem<"L2">> {tiler.name = "x"}) -> (tensor<2x4xf32, #tiler.mem<"L2">> {tiler.name = "y"}) {
    %w = arith.constant dense<1.500000e+00> : tensor<4xf32, #tiler.mem<"L2">>
    %y = tiler.add %x, %w : (tensor<2x4xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>) -> tensor<2x4xf32, #tiler.mem<"L2">>
    func.return %y : tensor<2x4xf32, #tiler.mem<"L2">>
  }
}

// CHECK:      builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L3", compute = "L1", levels = [<"L3", size = 8388608, neighbours = ["L2"]>, <"L2", size = 1048576, neighbours = ["L3", "L1"]>, <"L1", size = 8192, neighbours = ["L2"]>]>} {
// CHECK-NEXT:   func.func @main(%x: tensor<2x4xf32, #tiler.mem<"L3">> {tiler.name = "x"}) -> (tensor<2x4xf32, #tiler.mem<"L3">> {tiler.name = "y"}) {
// CHECK-NEXT:     %w = arith.constant dense<1.500000e+00> : tensor<4xf32, #tiler.mem<"L3">>
// CHECK-NEXT:     %y = tiler.add %x, %w : (tensor<2x4xf32, #tiler.mem<"L3">>, tensor<4xf32, #tiler.mem<"L3">>) -> tensor<2x4xf32, #tiler.mem<"L3">>
// CHECK-NEXT:     func.return %y : tensor<2x4xf32, #tiler.mem<"L3">>

// SIZES: #tiler.hierarchy<default = "L2", compute = "L1", levels = [<"L3", size = 8388608, neighbours = ["L2"]>, <"L2", size = 65536, neighbours = ["L3", "L1"]>, <"L1", size = 65536, neighbours = ["L2"]>]>
// SIZES: %y = tiler.add %x, %w : (tensor<2x4xf32, #tiler.mem<"L2">>

// BAD: tiler-opt: error: argument --l2: a level size must be from 1 to 1099511627776 bytes (1 TiB), got 0

// DIAG: invalid memory hierarchy: default memory level 'L7' is not a level of the hierarchy; levels: 'L3', 'L2', 'L1'
