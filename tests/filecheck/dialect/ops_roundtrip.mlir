// Every tiler op in its custom form prints back identically: from the custom form, from
// the generic form, and through plain xdsl-opt (which finds the dialect via its entry point).
// RUN: tiler-opt %s | filecheck %s
// RUN: tiler-opt %s | tiler-opt - | filecheck %s
// RUN: tiler-opt %s --print-op-generic | tiler-opt - | filecheck %s
// RUN: xdsl-opt %s | filecheck %s

builtin.module {
  func.func @all_ops(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %w: tensor<8x4x3x3xf32, #tiler.mem<"L2">>, %b: tensor<8xf32, #tiler.mem<"L2">>, %wd: tensor<4x1x3x3xf32, #tiler.mem<"L2">>, %a: tensor<2x16xf32, #tiler.mem<"L2">>, %bm: tensor<8x16xf32, #tiler.mem<"L2">>, %c: tensor<8xf32, #tiler.mem<"L2">>, %m3: tensor<3x2x16xf32, #tiler.mem<"L2">>, %m2: tensor<16x8xf32, #tiler.mem<"L2">>, %s: tensor<4x1x1xf32, #tiler.mem<"L2">>, %g: tensor<8xf32, #tiler.mem<"L2">>, %s1: tensor<4xf32, #tiler.mem<"L2">>) {
    %conv = tiler.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>, tiler.name = "conv0"} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<8x4x3x3xf32, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>) -> tensor<1x8x4x4xf32, #tiler.mem<"L2">>
    %dw = tiler.conv %x, %wd {dilations = array<i64: 2, 2>, group = 4 : i64, pads = array<i64: 2, 2, 2, 2>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4x1x3x3xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %gemm = tiler.gemm %a, %bm, %c {alpha = 5.000000e-01 : f32, beta = 1.000000e+00 : f32, transA = false, transB = true} : (tensor<2x16xf32, #tiler.mem<"L2">>, tensor<8x16xf32, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>) -> tensor<2x8xf32, #tiler.mem<"L2">>
    %mm = tiler.matmul %m3, %m2 : (tensor<3x2x16xf32, #tiler.mem<"L2">>, tensor<16x8xf32, #tiler.mem<"L2">>) -> tensor<3x2x8xf32, #tiler.mem<"L2">>
    %add = tiler.add %x, %s : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4x1x1xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %sub = tiler.sub %x, %s : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4x1x1xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %mul = tiler.mul %x, %s : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4x1x1xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %div = tiler.div %x, %s : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4x1x1xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %pow = tiler.pow %x, %s : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4x1x1xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %relu = tiler.relu %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %sigmoid = tiler.sigmoid %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %tanh = tiler.tanh %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %sqrt = tiler.sqrt %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %hard_swish = tiler.hard_swish %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %gelu = tiler.gelu %x {approximate = "tanh"} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %hsig = tiler.hard_sigmoid %x {alpha = 2.000000e-01 : f32, beta = 5.000000e-01 : f32} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %clip = tiler.clip %x {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %maxp = tiler.max_pool %x {ceil_mode = true, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x4x4xf32, #tiler.mem<"L2">>
    %avgp = tiler.average_pool %x {ceil_mode = false, count_include_pad = true, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x5x5xf32, #tiler.mem<"L2">>
    %gap = tiler.global_average_pool %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x1x1xf32, #tiler.mem<"L2">>
    %sm = tiler.softmax %x {axis = -1 : i64} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %ln = tiler.layer_norm %x, %g, %g {axis = -1 : i64, epsilon = 1.000000e-05 : f32} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %bn = tiler.batch_norm %x, %s1, %s1, %s1, %s1 {epsilon = 1.000000e-05 : f32} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %tr = tiler.transpose %x {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x8x8x4xf32, #tiler.mem<"L2">>
    %cat = tiler.concat %x, %x, %x {axis = 1 : i64} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x12x8x8xf32, #tiler.mem<"L2">>
    %sl = tiler.slice %x {ends = array<i64: 1, 4, -1, 8>, starts = array<i64: 0, 1, 7, 0>, steps = array<i64: 1, 2, -2, 3>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x2x4x3xf32, #tiler.mem<"L2">>
    %pad = tiler.pad %x {pads = array<i64: 0, 0, 1, -1, 0, 0, 2, 1>, value = -1.500000e+00 : f64} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x11x8xf32, #tiler.mem<"L2">>
    %rm = tiler.reduce_mean %x {axes = array<i64: 1, 3>, keepdims = false} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x8xf32, #tiler.mem<"L2">>
    %rs = tiler.reshape %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x256xf32, #tiler.mem<"L2">>
    func.return
  }
  func.func @destination_form(%x: memref<1x4x8x8xf32, #tiler.mem<"L1">>, %w: memref<8x4x3x3xf32, #tiler.mem<"L1">>, %y: memref<1x4x8x8xf32, #tiler.mem<"L1">>, %o: memref<1x8x8x8xf32, #tiler.mem<"L1">>) {
    tiler.relu ins(%x : memref<1x4x8x8xf32, #tiler.mem<"L1">>) outs(%y : memref<1x4x8x8xf32, #tiler.mem<"L1">>)
    tiler.conv ins(%x, %w : memref<1x4x8x8xf32, #tiler.mem<"L1">>, memref<8x4x3x3xf32, #tiler.mem<"L1">>) outs(%o : memref<1x8x8x8xf32, #tiler.mem<"L1">>) {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
    func.return
  }
}

// CHECK:      builtin.module {
// CHECK-NEXT:   func.func @all_ops(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %w: tensor<8x4x3x3xf32, #tiler.mem<"L2">>, %b: tensor<8xf32, #tiler.mem<"L2">>, %wd: tensor<4x1x3x3xf32, #tiler.mem<"L2">>, %a: tensor<2x16xf32, #tiler.mem<"L2">>, %bm: tensor<8x16xf32, #tiler.mem<"L2">>, %c: tensor<8xf32, #tiler.mem<"L2">>, %m3: tensor<3x2x16xf32, #tiler.mem<"L2">>, %m2: tensor<16x8xf32, #tiler.mem<"L2">>, %s: tensor<4x1x1xf32, #tiler.mem<"L2">>, %g: tensor<8xf32, #tiler.mem<"L2">>, %s1: tensor<4xf32, #tiler.mem<"L2">>) {
// CHECK-NEXT:     %conv = tiler.conv %x, %w, %b {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>, tiler.name = "conv0"} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<8x4x3x3xf32, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>) -> tensor<1x8x4x4xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %dw = tiler.conv %x, %wd {dilations = array<i64: 2, 2>, group = 4 : i64, pads = array<i64: 2, 2, 2, 2>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4x1x3x3xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %gemm = tiler.gemm %a, %bm, %c {alpha = 5.000000e-01 : f32, beta = 1.000000e+00 : f32, transA = false, transB = true} : (tensor<2x16xf32, #tiler.mem<"L2">>, tensor<8x16xf32, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>) -> tensor<2x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %mm = tiler.matmul %m3, %m2 : (tensor<3x2x16xf32, #tiler.mem<"L2">>, tensor<16x8xf32, #tiler.mem<"L2">>) -> tensor<3x2x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %add = tiler.add %x, %s : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4x1x1xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %sub = tiler.sub %x, %s : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4x1x1xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %mul = tiler.mul %x, %s : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4x1x1xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %div = tiler.div %x, %s : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4x1x1xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %pow = tiler.pow %x, %s : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4x1x1xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %relu = tiler.relu %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %sigmoid = tiler.sigmoid %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %tanh = tiler.tanh %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %sqrt = tiler.sqrt %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %hard_swish = tiler.hard_swish %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %gelu = tiler.gelu %x {approximate = "tanh"} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %hsig = tiler.hard_sigmoid %x {alpha = 2.000000e-01 : f32, beta = 5.000000e-01 : f32} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %clip = tiler.clip %x {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %maxp = tiler.max_pool %x {ceil_mode = true, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x4x4xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %avgp = tiler.average_pool %x {ceil_mode = false, count_include_pad = true, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x5x5xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %gap = tiler.global_average_pool %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x1x1xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %sm = tiler.softmax %x {axis = -1 : i64} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %ln = tiler.layer_norm %x, %g, %g {axis = -1 : i64, epsilon = 1.000000e-05 : f32} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %bn = tiler.batch_norm %x, %s1, %s1, %s1, %s1 {epsilon = 1.000000e-05 : f32} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %tr = tiler.transpose %x {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x8x8x4xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %cat = tiler.concat %x, %x, %x {axis = 1 : i64} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x12x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %sl = tiler.slice %x {ends = array<i64: 1, 4, -1, 8>, starts = array<i64: 0, 1, 7, 0>, steps = array<i64: 1, 2, -2, 3>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x2x4x3xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %pad = tiler.pad %x {pads = array<i64: 0, 0, 1, -1, 0, 0, 2, 1>, value = -1.500000e+00 : f64} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x11x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %rm = tiler.reduce_mean %x {axes = array<i64: 1, 3>, keepdims = false} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %rs = tiler.reshape %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x256xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     func.return
// CHECK-NEXT:   }
// CHECK-NEXT:   func.func @destination_form(%x: memref<1x4x8x8xf32, #tiler.mem<"L1">>, %w: memref<8x4x3x3xf32, #tiler.mem<"L1">>, %y: memref<1x4x8x8xf32, #tiler.mem<"L1">>, %o: memref<1x8x8x8xf32, #tiler.mem<"L1">>) {
// CHECK-NEXT:     tiler.relu ins(%x : memref<1x4x8x8xf32, #tiler.mem<"L1">>) outs(%y : memref<1x4x8x8xf32, #tiler.mem<"L1">>)
// CHECK-NEXT:     tiler.conv ins(%x, %w : memref<1x4x8x8xf32, #tiler.mem<"L1">>, memref<8x4x3x3xf32, #tiler.mem<"L1">>) outs(%o : memref<1x8x8x8xf32, #tiler.mem<"L1">>) {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
// CHECK-NEXT:     func.return
// CHECK-NEXT:   }
// CHECK-NEXT: }
