// The math functions, activations, comparisons, logical, variadic and reduction ops:
// defaults filled in (LeakyRelu's alpha 0.01, Selu's alpha and gamma, IsInf's signs,
// Mod's fmod), bool results as i1, and reading the printed IR back gives the same.
// Their verifier errors are in verify_errors.mlir.
// RUN: tiler-opt %s | filecheck %s
// RUN: tiler-opt %s | tiler-opt - | filecheck %s

builtin.module {
  func.func @ops(%x: tensor<2x3xf32, #tiler.mem<"L2">>, %y: tensor<3xf32, #tiler.mem<"L2">>, %i: tensor<2x3xi8, #tiler.mem<"L2">>, %u: tensor<2x3xui8, #tiler.mem<"L2">>) {
    %lr = tiler.leaky_relu %x : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<2x3xf32, #tiler.mem<"L2">>
    %se = tiler.selu %x : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<2x3xf32, #tiler.mem<"L2">>
    %inf = tiler.is_inf %x : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<2x3xi1, #tiler.mem<"L2">>
    %lt = tiler.less %x, %y : (tensor<2x3xf32, #tiler.mem<"L2">>, tensor<3xf32, #tiler.mem<"L2">>) -> tensor<2x3xi1, #tiler.mem<"L2">>
    %w = tiler.where %lt, %x, %y : (tensor<2x3xi1, #tiler.mem<"L2">>, tensor<2x3xf32, #tiler.mem<"L2">>, tensor<3xf32, #tiler.mem<"L2">>) -> tensor<2x3xf32, #tiler.mem<"L2">>
    %m = tiler.max %x, %y, %w : (tensor<2x3xf32, #tiler.mem<"L2">>, tensor<3xf32, #tiler.mem<"L2">>, tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<2x3xf32, #tiler.mem<"L2">>
    %r = tiler.mod %i, %i : (tensor<2x3xi8, #tiler.mem<"L2">>, tensor<2x3xi8, #tiler.mem<"L2">>) -> tensor<2x3xi8, #tiler.mem<"L2">>
    %s = tiler.bit_shift %u, %u {left = true} : (tensor<2x3xui8, #tiler.mem<"L2">>, tensor<2x3xui8, #tiler.mem<"L2">>) -> tensor<2x3xui8, #tiler.mem<"L2">>
    %c = tiler.cast %i {to = f32} : (tensor<2x3xi8, #tiler.mem<"L2">>) -> tensor<2x3xf32, #tiler.mem<"L2">>
    %p = tiler.reduce_prod %x {axes = array<i64: 1>} : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<2x1xf32, #tiler.mem<"L2">>
    func.return
  }
}

// CHECK:      %lr = tiler.leaky_relu %x {alpha = 1.000000e-02 : f32}
// CHECK-NEXT: %se = tiler.selu %x {alpha = 1.67326319 : f32, gamma = 1.05070102 : f32}
// CHECK-NEXT: %inf = tiler.is_inf %x {detect_negative = true, detect_positive = true} : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<2x3xi1, #tiler.mem<"L2">>
// CHECK-NEXT: %lt = tiler.less %x, %y : {{.*}} -> tensor<2x3xi1, #tiler.mem<"L2">>
// CHECK-NEXT: %w = tiler.where %lt, %x, %y :
// CHECK-NEXT: %m = tiler.max %x, %y, %w :
// CHECK-NEXT: %r = tiler.mod %i, %i {fmod = false}
// CHECK-NEXT: %s = tiler.bit_shift %u, %u {left = true}
// CHECK-NEXT: %c = tiler.cast %i {to = f32}
// CHECK-NEXT: %p = tiler.reduce_prod %x {axes = array<i64: 1>, keepdims = true}
