// A schedule that cannot be read, or does not fit its op, is an error saying why.
// RUN: tiler-opt %s --parsing-diagnostics --verify-diagnostics --split-input-file | filecheck %s

builtin.module {
  func.func @f(%x: tensor<4x16xf32, #tiler.mem<"L2">>) {
    %y = tiler.relu %x {tiler.schedule = #tiler.schedule<[<"L1", tile = [2, 8], order = [0, 1]>]>} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<4x16xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: level 'L1' of a schedule needs 'buffers = [...]'

// -----

builtin.module {
  func.func @f(%x: tensor<4x16xf32, #tiler.mem<"L2">>) {
    %y = tiler.relu %x {tiler.schedule = #tiler.schedule<[<"L1", tile = [2, 8], order = [0, 1], buffers = [2, 2], speed = [1]>]>} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<4x16xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: expected one each of 'tile', 'order', 'buffers' and optionally 'offsets', got 'speed'

// -----

builtin.module {
  func.func @f(%x: tensor<4x16xf32, #tiler.mem<"L2">>) {
    %y = tiler.relu %x {tiler.schedule = #tiler.schedule<[<"L1", tile = [0, 8], order = [0, 1], buffers = [2, 2]>]>} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<4x16xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: schedule level 'L1': tile extents must be >= 1, got [0, 8]

// -----

builtin.module {
  func.func @f(%x: tensor<4x16xf32, #tiler.mem<"L2">>) {
    %y = tiler.relu %x {tiler.schedule = #tiler.schedule<[<"L1", tile = [2, 8], order = [1, 1], buffers = [2, 0]>]>} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<4x16xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: schedule level 'L1': order must list distinct dims of the 2, got [1, 1]

// -----

builtin.module {
  func.func @f(%x: tensor<4x16xf32, #tiler.mem<"L2">>) {
    %y = tiler.relu %x {tiler.schedule = #tiler.schedule<[<"L1", tile = [2, 8, 1], order = [0, 1], buffers = [2, 2]>]>} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<4x16xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: invalid schedule: level L1: 3 tile extents for the op's 2 iteration dims (d0, d1)

// -----

builtin.module {
  func.func @f(%x: tensor<4x16xf32, #tiler.mem<"L2">>) {
    %y = tiler.relu %x {tiler.schedule = #tiler.schedule<[<"L1", tile = [2, 8], order = [1], buffers = [2, 2]>]>} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<4x16xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: invalid schedule: level L1: the loop order [1] must list exactly the split dims [0, 1]

// -----

builtin.module {
  func.func @f(%x: tensor<4x16xf32, #tiler.mem<"L2">>) {
    %y = tiler.relu %x {tiler.schedule = #tiler.schedule<[<"L1", tile = [8, 8], order = [1], buffers = [2, 2]>]>} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<4x16xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: invalid schedule: level L1: tile extent 8 of dim d0 is larger than its enclosing 4

// -----

builtin.module {
  func.func @f(%x: tensor<4x16xf32, #tiler.mem<"L2">>) {
    %y = tiler.relu %x {tiler.schedule = #tiler.schedule<[<"L2", tile = [2, 8], order = [0, 1], buffers = [2, 2]>]>} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<4x16xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: the schedule names levels ['L2'], but below the home level L2 the path to the compute level is ['L1']

// -----

builtin.module {
  func.func @f(%x: tensor<4x16xf32, #tiler.mem<"L2">>) {
    %y = tiler.softmax %x {axis = 1 : i64, tiler.schedule = #tiler.schedule<[<"L1", tile = [4, 8], order = [1], buffers = [2, 2]>]>} : (tensor<4x16xf32, #tiler.mem<"L2">>) -> tensor<4x16xf32, #tiler.mem<"L2">>
    func.return
  }
}
// CHECK: Operation does not verify: invalid schedule: level L1: dim {{.*}} is split but must stay whole
