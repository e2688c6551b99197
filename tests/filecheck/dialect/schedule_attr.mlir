// The schedule attribute prints and parses back identically, in both syntaxes, on the op
// it schedules; an empty schedule (home is the compute level) too.
// RUN: tiler-opt %s --split-input-file | filecheck %s
// RUN: tiler-opt %s --split-input-file | tiler-opt - --split-input-file | filecheck %s
// RUN: tiler-opt %s --split-input-file --print-op-generic | tiler-opt - --split-input-file | filecheck %s

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L3", compute = "L1", levels = [<"L3", size = 1048576, neighbours = ["L2"]>, <"L2", size = 65536, neighbours = ["L3", "L1"]>, <"L1", size = 4096, neighbours = ["L2"]>]>} {
  func.func @main(%x: tensor<1x4x16x16xf32, #tiler.mem<"L3">>, %w: tensor<8x4x3x3xf32, #tiler.mem<"L3">>) -> tensor<1x8x16x16xf32, #tiler.mem<"L3">> {
    %y = tiler.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>, tiler.schedule = #tiler.schedule<[<"L2", tile = [1, 1, 8, 8, 16, 4, 3, 3], order = [3], buffers = [2, 1, 2]>, <"L1", tile = [1, 1, 4, 4, 8, 2, 3, 3], order = [2, 3, 4, 5], buffers = [2, 2, 2], offsets = [0, 1024, 2048]>]>} : (tensor<1x4x16x16xf32, #tiler.mem<"L3">>, tensor<8x4x3x3xf32, #tiler.mem<"L3">>) -> tensor<1x8x16x16xf32, #tiler.mem<"L3">>
    func.return %y : tensor<1x8x16x16xf32, #tiler.mem<"L3">>
  }
}
// CHECK:      tiler.conv %x, %w
// CHECK-SAME: tiler.schedule = #tiler.schedule<[<"L2", tile = [1, 1, 8, 8, 16, 4, 3, 3], order = [3], buffers = [2, 1, 2]>, <"L1", tile = [1, 1, 4, 4, 8, 2, 3, 3], order = [2, 3, 4, 5], buffers = [2, 2, 2], offsets = [0, 1024, 2048]>]>

// -----

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L1", compute = "L1", levels = [<"L2", size = 65536, neighbours = ["L1"]>, <"L1", size = 4096, neighbours = ["L2"]>]>} {
  func.func @main(%x: tensor<4xf32, #tiler.mem<"L1">>) -> tensor<4xf32, #tiler.mem<"L1">> {
    %y = tiler.relu %x {tiler.schedule = #tiler.schedule<[]>} : (tensor<4xf32, #tiler.mem<"L1">>) -> tensor<4xf32, #tiler.mem<"L1">>
    func.return %y : tensor<4xf32, #tiler.mem<"L1">>
  }
}
// CHECK: tiler.relu %x {tiler.schedule = #tiler.schedule<[]>}
