// choose-tiles solves each op and records the decision as its tiler.schedule; nothing
// else changes (views get none). From hand-written IR, under an L1 of 256 bytes: a relu
// of 4x16 floats (256 B in, 256 B out) must be cut; the cost model prefers 2 tiles of
// 4x8, single buffered (128 B each side), to more, smaller double-buffered ones. A matmul
// 8x8 x 8x4 (416 B) is cut along its rows into 4 tiles of 2 rows, the weights whole and
// loaded once; single buffered only, the cheapest fit splits the reduction instead
// (4 slices of 2 along k, summed into the output tile). With 1 KiB nothing is cut.
// RUN: tiler-opt %s -p 'choose-tiles{report="%t.json"}' | filecheck %s
// RUN: filecheck %s --check-prefix=REPORT < %t.json
// RUN: tiler-opt %s -p 'choose-tiles{double-buffer=false}' | filecheck %s --check-prefix=SINGLE
// RUN: tiler-opt %s -p 'choose-tiles{l1=1K}' | filecheck %s --check-prefix=ROOMY

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L2", compute = "L1", levels = [<"L2", size = 65536, neighbours = ["L1"]>, <"L1", size = 256, neighbours = ["L2"]>]>} {
  func.func @main(%x: tensor<4x16xf32, #tiler.mem<"L2">> {tiler.name = "x"}, %w: tensor<8x4xf32, #tiler.mem<"L2">> {tiler.name = "w"}) -> (tensor<4x16xf32, #tiler.mem<"L2">> {tiler.name = "y"}, tensor<8x4xf32, #tiler.mem<"L2">> {tiler.name = "z"}) {
    %y = tiler.relu %x {tiler.name = "act"} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<4x16xf32, #tiler.mem<"L2">>
    %v = tiler.reshape %y {tiler.name = "view"} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<8x8xf32, #tiler.mem<"L2">>
    %z = tiler.matmul %v, %w {tiler.name = "mm"} : (tensor<8x8xf32, #tiler.mem<"L2">>, tensor<8x4xf32, #tiler.mem<"L2">>) -> tensor<8x4xf32, #tiler.mem<"L2">>
    func.return %y, %z : tensor<4x16xf32, #tiler.mem<"L2">>, tensor<8x4xf32, #tiler.mem<"L2">>
  }
}

// CHECK:      %y = tiler.relu %x {tiler.name = "act", tiler.schedule = #tiler.schedule<[<"L1", tile = [4, 8], order = [1], buffers = [1, 1]>]>}
// CHECK-NEXT: %v = tiler.reshape %y {tiler.name = "view"}
// CHECK-NEXT: %z = tiler.matmul %v, %w {tiler.name = "mm", tiler.schedule = #tiler.schedule<[<"L1", tile = [2, 4, 8], order = [0], buffers = [1, 1, 1]>]>}
// CHECK-NEXT: func.return %y, %z

// The report holds the figures behind the choice.
// REPORT:      "name": "act",
// REPORT-NEXT: "op": "tiler.relu",
// REPORT-NEXT: "tiles": 2,
// REPORT:      "dma_bytes": 512,
// REPORT:      "name": "mm",
// REPORT-NEXT: "op": "tiler.matmul",
// REPORT-NEXT: "tiles": 4,

// SINGLE: tiler.relu %x {tiler.name = "act", tiler.schedule = #tiler.schedule<[<"L1", tile = [4, 8], order = [1], buffers = [1, 1]>]>}
// SINGLE: tiler.matmul %v, %w {tiler.name = "mm", tiler.schedule = #tiler.schedule<[<"L1", tile = [8, 4, 2], order = [2], buffers = [1, 1, 1]>]>}

// ROOMY: tiler.relu %x {tiler.name = "act", tiler.schedule = #tiler.schedule<[<"L1", tile = [4, 16], order = [], buffers = [1, 1]>]>}
// ROOMY: tiler.matmul %v, %w {tiler.name = "mm", tiler.schedule = #tiler.schedule<[<"L1", tile = [8, 4, 8], order = [], buffers = [1, 1, 1]>]>}
