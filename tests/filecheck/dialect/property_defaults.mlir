// Properties that ONNX defaults may be left out; each op's definition fills in the ONNX
// default (`default_value=`), so the printed op has them all, and reading it back gives
// the same op.
// RUN: tiler-opt %s | filecheck %s
// RUN: tiler-opt %s | tiler-opt - | filecheck %s

builtin.module {
  func.func @defaults(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %w: tensor<8x4x3x3xf32, #tiler.mem<"L2">>, %a: tensor<2x16xf32, #tiler.mem<"L2">>, %bm: tensor<16x8xf32, #tiler.mem<"L2">>, %s: tensor<8xf32, #tiler.mem<"L2">>) {
    %conv = tiler.conv %x, %w {dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<8x4x3x3xf32, #tiler.mem<"L2">>) -> tensor<1x8x8x8xf32, #tiler.mem<"L2">>
    %gemm = tiler.gemm %a, %bm : (tensor<2x16xf32, #tiler.mem<"L2">>, tensor<16x8xf32, #tiler.mem<"L2">>) -> tensor<2x8xf32, #tiler.mem<"L2">>
    %sm = tiler.softmax %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %pool = tiler.average_pool %x {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x4x4xf32, #tiler.mem<"L2">>
    %mean = tiler.reduce_mean %x {axes = array<i64: 2, 3>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x1x1xf32, #tiler.mem<"L2">>
    %hs = tiler.hard_sigmoid %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    func.return
  }
}

// CHECK:      %conv = tiler.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
// CHECK-NEXT: %gemm = tiler.gemm %a, %bm {alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, transA = false, transB = false}
// CHECK-NEXT: %sm = tiler.softmax %x {axis = -1 : i64}
// CHECK-NEXT: %pool = tiler.average_pool %x {ceil_mode = false, count_include_pad = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>}
// CHECK-NEXT: %mean = tiler.reduce_mean %x {axes = array<i64: 2, 3>, keepdims = true}
// CHECK-NEXT: %hs = tiler.hard_sigmoid %x {alpha = 2.000000e-01 : f32, beta = 5.000000e-01 : f32}
