// The hierarchy and memory-space attributes print back identically, in the custom and
// the generic form, and through plain xdsl-opt.
// RUN: tiler-opt %s | filecheck %s
// RUN: tiler-opt %s --print-op-generic | tiler-opt - | filecheck %s
// RUN: xdsl-opt %s | filecheck %s

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "DRAM", compute = "TCDM", levels = [<"DRAM", size = 16777216, neighbours = []>, <"SRAM", size = 262144, neighbours = ["DRAM"]>, <"TCDM", size = 32768, neighbours = ["SRAM"]>]>} {
  func.func @f(%x: tensor<4x4xf32, #tiler.mem<"DRAM">>, %b: memref<4x4xf32, #tiler.mem<"TCDM">>, %c: memref<4x4xf32, #tiler.mem<"TCDM">>) -> tensor<4x4xf32, #tiler.mem<"DRAM">> {
    %y = tiler.relu %x : (tensor<4x4xf32, #tiler.mem<"DRAM">>) -> tensor<4x4xf32, #tiler.mem<"DRAM">>
    tiler.sigmoid ins(%b : memref<4x4xf32, #tiler.mem<"TCDM">>) outs(%c : memref<4x4xf32, #tiler.mem<"TCDM">>)
    func.return %y : tensor<4x4xf32, #tiler.mem<"DRAM">>
  }
}

// CHECK:      builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "DRAM", compute = "TCDM", levels = [<"DRAM", size = 16777216, neighbours = []>, <"SRAM", size = 262144, neighbours = ["DRAM"]>, <"TCDM", size = 32768, neighbours = ["SRAM"]>]>} {
// CHECK-NEXT:   func.func @f(%x: tensor<4x4xf32, #tiler.mem<"DRAM">>, %b: memref<4x4xf32, #tiler.mem<"TCDM">>, %c: memref<4x4xf32, #tiler.mem<"TCDM">>) -> tensor<4x4xf32, #tiler.mem<"DRAM">> {
// CHECK-NEXT:     %y = tiler.relu %x : (tensor<4x4xf32, #tiler.mem<"DRAM">>) -> tensor<4x4xf32, #tiler.mem<"DRAM">>
// CHECK-NEXT:     tiler.sigmoid ins(%b : memref<4x4xf32, #tiler.mem<"TCDM">>) outs(%c : memref<4x4xf32, #tiler.mem<"TCDM">>)
// CHECK-NEXT:     func.return %y : tensor<4x4xf32, #tiler.mem<"DRAM">>
// CHECK-NEXT:   }
// CHECK-NEXT: }
