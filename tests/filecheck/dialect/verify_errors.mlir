// Verifier errors of the tiler ops, as --verify-diagnostics prints them.
// RUN: tiler-opt %s --verify-diagnostics --split-input-file | filecheck %s

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>) {
    %y = tiler.relu %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x9xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: result shape [1, 4, 8, 9] does not match the inferred shape [1, 4, 8, 8]

// -----

builtin.module {
  func.func @f(%x: tensor<4xf32, #tiler.mem<"L7">>) {
    %y = tiler.relu %x : (tensor<4xf32, #tiler.mem<"L7">>) -> tensor<4xf32, #tiler.mem<"L7">>
    func.return
  }
}
// CHECK: Operation does not verify: input #0 lives in memory level "L7", which is not in the module's hierarchy (levels: L3, L2, L1)

// -----

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L2", compute = "L1", levels = [<"L2", size = 1024, neighbours = ["L1"]>, <"L1", size = 256, neighbours = []>]>} {
  func.func @f(%x: tensor<4xf32, #tiler.mem<"L3">>) {
    %y = tiler.relu %x : (tensor<4xf32, #tiler.mem<"L3">>) -> tensor<4xf32, #tiler.mem<"L3">>
    func.return
  }
}
// CHECK: Operation does not verify: input #0 lives in memory level "L3", which is not in the module's hierarchy (levels: L2, L1)

// -----

builtin.module {
  func.func @f(%x: tensor<4xf32>) {
    %y = tiler.relu %x : (tensor<4xf32>) -> tensor<4xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: input #0 has no memory level: expected a #tiler.mem<"LEVEL"> encoding, got tensor<4xf32>

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>) {
    %y = tiler.conv %x {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: expects 2 to 3 input(s), got 1

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %h: tensor<1x4x8x8xf16, #tiler.mem<"L2">>) {
    %y = tiler.add %x, %h : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<1x4x8x8xf16, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: input #1 has element type f16, expected f32 like input #0

// -----

builtin.module {
  func.func @f(%i: tensor<4xi32, #tiler.mem<"L2">>) {
    %y = tiler.sigmoid %i : (tensor<4xi32, #tiler.mem<"L2">>) -> tensor<4xi32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: tiler.sigmoid is defined on floating-point tensors, got i32

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %w: tensor<8x3x3x3xf32, #tiler.mem<"L2">>) {
    %y = tiler.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<8x3x3x3xf32, #tiler.mem<"L2">>) -> tensor<1x8x6x6xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: input has 4 channels but weight expects 3 x group 1

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %w: tensor<6x1x3x3xf32, #tiler.mem<"L2">>) {
    %y = tiler.conv %x, %w {dilations = array<i64: 1, 1>, group = 4 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<6x1x3x3xf32, #tiler.mem<"L2">>) -> tensor<1x6x6x6xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: 6 output channels do not divide into 4 groups

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %w: tensor<8x4x3x3xf32, #tiler.mem<"L2">>) {
    %y = tiler.conv %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 0, 1>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<8x4x3x3xf32, #tiler.mem<"L2">>) -> tensor<1x8x6x6xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: strides must be positive, got [0, 1]

// -----

builtin.module {
  func.func @f(%a: tensor<2x16xf32, #tiler.mem<"L2">>, %b: tensor<8x16xf32, #tiler.mem<"L2">>) {
    %y = tiler.gemm %a, %b {alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, transA = false, transB = false} : (tensor<2x16xf32, #tiler.mem<"L2">>, tensor<8x16xf32, #tiler.mem<"L2">>) -> tensor<2x16xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: inner dimensions differ: A' is 2x16, B' is 8x16

// -----

builtin.module {
  func.func @f(%a: tensor<2x16xf32, #tiler.mem<"L2">>, %b: tensor<8x4xf32, #tiler.mem<"L2">>) {
    %y = tiler.matmul %a, %b : (tensor<2x16xf32, #tiler.mem<"L2">>, tensor<8x4xf32, #tiler.mem<"L2">>) -> tensor<2x4xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: inner dimensions differ: [2, 16] @ [8, 4] (16 vs 8)

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %s: tensor<3x1xf32, #tiler.mem<"L2">>) {
    %y = tiler.add %x, %s : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<3x1xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: shapes [1, 4, 8, 8], [3, 1] do not broadcast

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>) {
    %y = tiler.transpose %x {perm = array<i64: 0, 1, 1, 2>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x4x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: perm [0, 1, 1, 2] is not a permutation of 4 dims

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %z: tensor<1x4x8x7xf32, #tiler.mem<"L2">>) {
    %y = tiler.concat %x, %z {axis = 1 : i64} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<1x4x8x7xf32, #tiler.mem<"L2">>) -> tensor<1x8x8x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: input #1 of shape [1, 4, 8, 7] does not match [1, 4, 8, 8] outside axis 1

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>) {
    %y = tiler.slice %x {ends = array<i64: 1, 4, 9, 8>, starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x9x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: dim 2: start 0, end 9, step 1 are not clamped to size 8

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>) {
    %y = tiler.pad %x {pads = array<i64: 0, 0, 0, -8, 0, 0, 0, 0>, value = 0.000000e+00 : f64} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x1xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: padding [0, 0, 0, -8, 0, 0, 0, 0] leaves no elements of [1, 4, 8, 8]

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>) {
    %y = tiler.reduce_mean %x {axes = array<i64: 3, 1>, keepdims = true} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x1x8x1xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: axes [3, 1] must be sorted, unique and within rank 4

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>) {
    %y = tiler.softmax %x {axis = 4 : i64} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: axis 4 is out of range for rank 4

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %g: tensor<4xf32, #tiler.mem<"L2">>) {
    %y = tiler.layer_norm %x, %g {axis = -1 : i64, epsilon = 1.000000e-05 : f32} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: scale of shape [4] does not broadcast to the normalized shape [8]

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %s: tensor<4xf32, #tiler.mem<"L2">>, %m: tensor<8xf32, #tiler.mem<"L2">>) {
    %y = tiler.batch_norm %x, %s, %s, %m, %s {epsilon = 1.000000e-05 : f32} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: mean must have shape [4], got [8]

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>) {
    %y = tiler.max_pool %x {ceil_mode = false, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 9, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x1x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: window of extent 9 does not fit spatial dim 0 of size 8 with pads 0+0

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>) {
    %y = tiler.gelu %x {approximate = "fast"} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: approximate must be "none" or "tanh", got "fast"

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>) {
    %y = tiler.reshape %x : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x255xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: a reshape view keeps the element count (256 vs 255)

// -----

builtin.module {
  func.func @f(%a: memref<4xf32, #tiler.mem<"L2">>, %b: memref<4xf32, #tiler.mem<"L1">>) {
    tiler.relu ins(%a : memref<4xf32, #tiler.mem<"L2">>) outs(%b : memref<4xf32, #tiler.mem<"L1">>)
    func.return
  }
}
// CHECK: Operation does not verify: compute reads only the compute level "L1", but operand #0 lives in "L2"

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>) {
    "tiler.relu"(%x) <{operandSegmentSizes = array<i32: 1, 0, 0, 0>}> : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> ()
    func.return
  }
}
// CHECK: Operation does not verify: expects exactly one result (or an outs(...) destination)

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xi32, #tiler.mem<"L2">>, %m: tensor<i32, #tiler.mem<"L2">>) {
    %y = tiler.requant_shift %x, %m, %m {div = 1000 : i64, n_levels = 256 : i64, signed = true} : (tensor<1x4x8x8xi32, #tiler.mem<"L2">>, tensor<i32, #tiler.mem<"L2">>, tensor<i32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xi8, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: div must be a power of two, got 1000

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xi32, #tiler.mem<"L2">>, %m: tensor<i32, #tiler.mem<"L2">>) {
    %y = tiler.requant_shift %x, %m, %m {div = 1024 : i64, n_levels = 256 : i64, signed = false} : (tensor<1x4x8x8xi32, #tiler.mem<"L2">>, tensor<i32, #tiler.mem<"L2">>, tensor<i32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xi8, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: result element type i8 does not match the inferred ui8

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xi32, #tiler.mem<"L2">>, %w: tensor<8x4x3x3xi8, #tiler.mem<"L2">>, %p: tensor<8xi32, #tiler.mem<"L2">>) {
    %y = tiler.requantized_conv %x, %w, %p, %p {dilations = array<i64: 1, 1>, div = 256 : i64, group = 1 : i64, n_levels = 256 : i64, pads = array<i64: 1, 1, 1, 1>, signed = true, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xi32, #tiler.mem<"L2">>, tensor<8x4x3x3xi8, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>, tensor<8xi32, #tiler.mem<"L2">>) -> tensor<1x8x8x8xi8, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: tiler.requantized_conv takes 8-bit integer operands, got i32 and i8

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xi8, #tiler.mem<"L2">>, %w: tensor<8x4x3x3xi8, #tiler.mem<"L2">>, %p: tensor<4xi32, #tiler.mem<"L2">>) {
    %y = tiler.requantized_conv %x, %w, %p, %p {dilations = array<i64: 1, 1>, div = 256 : i64, group = 1 : i64, n_levels = 256 : i64, pads = array<i64: 1, 1, 1, 1>, signed = true, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>, tensor<8x4x3x3xi8, #tiler.mem<"L2">>, tensor<4xi32, #tiler.mem<"L2">>, tensor<4xi32, #tiler.mem<"L2">>) -> tensor<1x8x8x8xi8, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: mul must be a scalar or one per output channel (8), got [4]

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>) {
    %y = tiler.cast %x {to = i32} : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: result element type f32 does not match the inferred i32

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xi8, #tiler.mem<"L2">>) {
    %y = tiler.reduce_mean %x {axes = array<i64: 1>, keepdims = false, rounding = "up"} : (tensor<1x4x8x8xi8, #tiler.mem<"L2">>) -> tensor<1x8x8xi8, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: rounding must be one of toward_zero, half_up, half_away, got "up"

// -----

builtin.module {
  func.func @bad_where(%c: tensor<3xf32, #tiler.mem<"L2">>, %x: tensor<3xf32, #tiler.mem<"L2">>) {
    %w = tiler.where %c, %x, %x : (tensor<3xf32, #tiler.mem<"L2">>, tensor<3xf32, #tiler.mem<"L2">>, tensor<3xf32, #tiler.mem<"L2">>) -> tensor<3xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: the condition must be bool (i1), got f32

// -----

builtin.module {
  func.func @bad_and(%x: tensor<3xi8, #tiler.mem<"L2">>) {
    %a = tiler.and %x, %x : (tensor<3xi8, #tiler.mem<"L2">>, tensor<3xi8, #tiler.mem<"L2">>) -> tensor<3xi8, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: tiler.and is defined on bool (i1) tensors, got i8

// -----

builtin.module {
  func.func @bad_shift(%x: tensor<3xf32, #tiler.mem<"L2">>) {
    %s = tiler.bit_shift %x, %x {left = true} : (tensor<3xf32, #tiler.mem<"L2">>, tensor<3xf32, #tiler.mem<"L2">>) -> tensor<3xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: tiler.bit_shift is defined on integer tensors, got f32

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %g: tensor<8xf32, #tiler.mem<"L2">>) {
    %y = tiler.instance_norm %x, %g, %g : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>, tensor<8xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: scale of shape [8] does not index the leading dims [4, 8, 8] after N

// -----

builtin.module {
  func.func @f(%x: tensor<1x4x8x8xf32, #tiler.mem<"L2">>, %g: tensor<4xf32, #tiler.mem<"L2">>) {
    %y = tiler.rms_norm %x, %g : (tensor<1x4x8x8xf32, #tiler.mem<"L2">>, tensor<4xf32, #tiler.mem<"L2">>) -> tensor<1x4x8x8xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: scale of shape [4] does not broadcast to the normalized shape [8]

// -----

builtin.module {
  func.func @f(%x: tensor<2x3xi1, #tiler.mem<"L2">>) {
    %y = tiler.arg_max %x : (tensor<2x3xi1, #tiler.mem<"L2">>) -> tensor<1x3xi64, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: tiler.arg_max is defined on numbers, got i1

// -----

builtin.module {
  func.func @f(%x: tensor<2x3xf32, #tiler.mem<"L2">>) {
    %y = tiler.arg_min %x {axis = 2 : i64} : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<2x3xi64, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: axis 2 is out of range for rank 2

// -----

builtin.module {
  func.func @f(%x: tensor<2x3xf32, #tiler.mem<"L2">>) {
    %y = tiler.tile %x {repeats = array<i64: 2>} : (tensor<2x3xf32, #tiler.mem<"L2">>) -> tensor<4x3xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: repeats needs one value per dim (2), got 1

// -----

builtin.module {
  func.func @f(%e: tensor<10x4xf32, #tiler.mem<"L2">>, %i: tensor<5xf32, #tiler.mem<"L2">>) {
    %y = tiler.gather %e, %i : (tensor<10x4xf32, #tiler.mem<"L2">>, tensor<5xf32, #tiler.mem<"L2">>) -> tensor<5x4xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: indices must be int32 or int64, got f32
