// Every integer tiler op (quantization, ONNX integer ops, Deeploy's requantization and
// integer kernels, cast, reduce_sum, an integer mean's rounding) prints back identically:
// from the custom form, from the generic form, and through plain xdsl-opt.
// RUN: tiler-opt %s | filecheck %s
// RUN: tiler-opt %s | tiler-opt - | filecheck %s
// RUN: tiler-opt %s --print-op-generic | tiler-opt - | filecheck %s
// RUN: xdsl-opt %s | filecheck %s

builtin.module {
  func.func @integer_ops(%x: tensor<1x4x8x8xui8, #tiler.mem<"L2">>, %w: tensor<8x4x3x3xi8, #tiler.mem<"L2">>, %p: tensor<8xi32, #tiler.mem<"L2">>, %acc: tensor<1x4x8x8xi32, #tiler.mem<"L2">>, %cp: tensor<4x1x1xi32, #tiler.mem<"L2">>, %a: tensor<2x16xi8, #tiler.mem<"L2">>, %b: tensor<16x8xi8, #tiler.mem<"L2">>, %row: tensor<2x1xi32, #tiler.mem<"L2">>, %s: tensor<1x4x8x8xi8, #tiler.mem<"L2">>, %lw: tensor<8xi32, #tiler.mem<"L2">>, %f: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %sc: tensor<f32, #tiler.mem<"L2">>, %zp: tensor<i8, #tiler.mem<"L2">>, %zu: tensor<ui8, #tiler.mem<"L2">>, %zw: tensor<i8, #tiler.mem<"L2">>, %ws: tensor<8xf32, #tiler.mem<"L2">>) {
    %rq = tiler.requant_shift %acc, %cp, %cp {div = 65536 : i64, n_levels = 256 : i64, signed = false} : (tensor<1x4x8x8xi32, #tiler.mem<"L2">>, tensor<4x1x1xi32, #tiler.mem<"L2">>, tensor<4x1x1xi32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xui8, #tiler.mem<"L2">>
    %rqc = tiler.requantized_conv %x, %w, %p, %p {dilations = array<i64: 1, 1>, div = 256 : i64, group = 1 : i64, n_levels = 256 : i64, pads = array<i64: 1, 1, 1, 1>, signed = true, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xui8, #tiler.mem<"L2">>, tensor<8x4x3x3xi8, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>) -> tensor<1x8x8x8xi8, #tiler.mem<"L2">>
    %rqm = tiler.requantized_matmul %a, %b, %row, %row {div = 1024 : i64, n_levels = 256 : i64, signed = true} : (tensor<2x16xi8, #tiler.mem<"L2">>, tensor<16x8xi8, #tiler.mem<"L2">>, tensor<2x1xi32, #tiler.mem<"L2">>, tensor<2x1xi32, #tiler.mem<"L2">>) -> tensor<2x8xi8, #tiler.mem<"L2">>
    %ism = tiler.integer_softmax %s {coeffA = 1 : i64, coeffB = 345 : i64, coeffC = 62395 : i64, log2 = 255 : i64, n_levels = 256 : i64} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>) -> tensor<1x4x8x8xui8, #tiler.mem<"L2">>
    %irms = tiler.integer_rms_norm %s, %lw {D = 65536 : i64, n_levels = 256 : i64} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xi8, #tiler.mem<"L2">>
    %ihs = tiler.integer_hardswish %s {one_over_six = 33 : i64, six = 1530 : i64, three = 765 : i64} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>) -> tensor<1x4x8x8xi32, #tiler.mem<"L2">>
    %inn = tiler.integer_no_norm %s, %lw, %lw {D = 65536 : i64, mul = 425 : i64} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xi8, #tiler.mem<"L2">>
    %cast = tiler.cast %s {to = i32} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>) -> tensor<1x4x8x8xi32, #tiler.mem<"L2">>
    %rsum = tiler.reduce_sum %acc {axes = array<i64: 1>, keepdims = false} : (tensor<1x4x8x8xi32, #tiler.mem<"L2">>) -> tensor<1x8x8xi32, #tiler.mem<"L2">>
    %rmean = tiler.reduce_mean %s {axes = array<i64: 1>, keepdims = false, rounding = "half_up"} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>) -> tensor<1x8x8xi8, #tiler.mem<"L2">>
    %q = tiler.quantize_linear %f, %sc, %zp : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<f32, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>) -> tensor<1x4x8x8xi8, #tiler.mem<"L2">>
    %dq = tiler.dequantize_linear %q, %sc, %zp : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>, tensor<f32, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    %ci = tiler.conv_integer %x, %w, %zu, %zw {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xui8, #tiler.mem<"L2">>, tensor<8x4x3x3xi8, #tiler.mem<"L2">>, tensor<ui8, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>) -> tensor<1x8x6x6xi32, #tiler.mem<"L2">>
    %qc = tiler.qlinear_conv %x, %w, %zu, %zw, %ws, %zp, %p {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xui8, #tiler.mem<"L2">>, tensor<8x4x3x3xi8, #tiler.mem<"L2">>, tensor<ui8, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>) -> tensor<1x8x8x8xi8, #tiler.mem<"L2">>
    %mi = tiler.matmul_integer %a, %b, %zw, %zw : (tensor<2x16xi8, #tiler.mem<"L2">>, tensor<16x8xi8, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>) -> tensor<2x8xi32, #tiler.mem<"L2">>
    %qm = tiler.qlinear_matmul %a, %b, %zw, %zw, %sc, %zp : (tensor<2x16xi8, #tiler.mem<"L2">>, tensor<16x8xi8, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>, tensor<f32, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>) -> tensor<2x8xi8, #tiler.mem<"L2">>
    func.return
  }
}

// CHECK:      builtin.module {
// CHECK-NEXT:   func.func @integer_ops(%x: tensor<1x4x8x8xui8, #tiler.mem<"L2">>, %w: tensor<8x4x3x3xi8, #tiler.mem<"L2">>, %p: tensor<8xi32, #tiler.mem<"L2">>, %acc: tensor<1x4x8x8xi32, #tiler.mem<"L2">>, %cp: tensor<4x1x1xi32, #tiler.mem<"L2">>, %a: tensor<2x16xi8, #tiler.mem<"L2">>, %b: tensor<16x8xi8, #tiler.mem<"L2">>, %row: tensor<2x1xi32, #tiler.mem<"L2">>, %s: tensor<1x4x8x8xi8, #tiler.mem<"L2">>, %lw: tensor<8xi32, #tiler.mem<"L2">>, %f: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %sc: tensor<f32, #tiler.mem<"L2">>, %zp: tensor<i8, #tiler.mem<"L2">>, %zu: tensor<ui8, #tiler.mem<"L2">>, %zw: tensor<i8, #tiler.mem<"L2">>, %ws: tensor<8xf32, #tiler.mem<"L2">>) {
// CHECK-NEXT:     %rq = tiler.requant_shift %acc, %cp, %cp {div = 65536 : i64, n_levels = 256 : i64, signed = false} : (tensor<1x4x8x8xi32, #tiler.mem<"L2">>, tensor<4x1x1xi32, #tiler.mem<"L2">>, tensor<4x1x1xi32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xui8, #tiler.mem<"L2">>
// CHECK-NEXT:     %rqc = tiler.requantized_conv %x, %w, %p, %p {dilations = array<i64: 1, 1>, div = 256 : i64, group = 1 : i64, n_levels = 256 : i64, pads = array<i64: 1, 1, 1, 1>, signed = true, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xui8, #tiler.mem<"L2">>, tensor<8x4x3x3xi8, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>) -> tensor<1x8x8x8xi8, #tiler.mem<"L2">>
// CHECK-NEXT:     %rqm = tiler.requantized_matmul %a, %b, %row, %row {div = 1024 : i64, n_levels = 256 : i64, signed = true} : (tensor<2x16xi8, #tiler.mem<"L2">>, tensor<16x8xi8, #tiler.mem<"L2">>, tensor<2x1xi32, #tiler.mem<"L2">>, tensor<2x1xi32, #tiler.mem<"L2">>) -> tensor<2x8xi8, #tiler.mem<"L2">>
// CHECK-NEXT:     %ism = tiler.integer_softmax %s {coeffA = 1 : i64, coeffB = 345 : i64, coeffC = 62395 : i64, log2 = 255 : i64, n_levels = 256 : i64} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>) -> tensor<1x4x8x8xui8, #tiler.mem<"L2">>
// CHECK-NEXT:     %irms = tiler.integer_rms_norm %s, %lw {D = 65536 : i64, n_levels = 256 : i64} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xi8, #tiler.mem<"L2">>
// CHECK-NEXT:     %ihs = tiler.integer_hardswish %s {one_over_six = 33 : i64, six = 1530 : i64, three = 765 : i64} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>) -> tensor<1x4x8x8xi32, #tiler.mem<"L2">>
// CHECK-NEXT:     %inn = tiler.integer_no_norm %s, %lw, %lw {D = 65536 : i64, mul = 425 : i64} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xi8, #tiler.mem<"L2">>
// CHECK-NEXT:     %cast = tiler.cast %s {to = i32} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>) -> tensor<1x4x8x8xi32, #tiler.mem<"L2">>
// CHECK-NEXT:     %rsum = tiler.reduce_sum %acc {axes = array<i64: 1>, keepdims = false} : (tensor<1x4x8x8xi32, #tiler.mem<"L2">>) -> tensor<1x8x8xi32, #tiler.mem<"L2">>
// CHECK-NEXT:     %rmean = tiler.reduce_mean %s {axes = array<i64: 1>, keepdims = false, rounding = "half_up"} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>) -> tensor<1x8x8xi8, #tiler.mem<"L2">>
// CHECK-NEXT:     %q = tiler.quantize_linear %f, %sc, %zp : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<f32, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>) -> tensor<1x4x8x8xi8, #tiler.mem<"L2">>
// CHECK-NEXT:     %dq = tiler.dequantize_linear %q, %sc, %zp : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>, tensor<f32, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
// CHECK-NEXT:     %ci = tiler.conv_integer %x, %w, %zu, %zw {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xui8, #tiler.mem<"L2">>, tensor<8x4x3x3xi8, #tiler.mem<"L2">>, tensor<ui8, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>) -> tensor<1x8x6x6xi32, #tiler.mem<"L2">>
// CHECK-NEXT:     %qc = tiler.qlinear_conv %x, %w, %zu, %zw, %ws, %zp, %p {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xui8, #tiler.mem<"L2">>, tensor<8x4x3x3xi8, #tiler.mem<"L2">>, tensor<ui8, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>) -> tensor<1x8x8x8xi8, #tiler.mem<"L2">>
// CHECK-NEXT:     %mi = tiler.matmul_integer %a, %b, %zw, %zw : (tensor<2x16xi8, #tiler.mem<"L2">>, tensor<16x8xi8, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>) -> tensor<2x8xi32, #tiler.mem<"L2">>
// CHECK-NEXT:     %qm = tiler.qlinear_matmul %a, %b, %zw, %zw, %sc, %zp : (tensor<2x16xi8, #tiler.mem<"L2">>, tensor<16x8xi8, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>, tensor<f32, #tiler.mem<"L2">>, tensor<i8, #tiler.mem<"L2">>) -> tensor<2x8xi8, #tiler.mem<"L2">>
// CHECK-NEXT:     func.return
// CHECK-NEXT:   }
// CHECK-NEXT: }
