// An invalid hierarchy or level is a parse error at the attribute, saying what is wrong.
// RUN: tiler-opt %s --parsing-diagnostics --split-input-file | filecheck %s

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L2", compute = "L1", levels = [<"L2", size = 1024, neighbours = ["L5"]>, <"L1", size = 256, neighbours = ["L2"]>]>} {
}
// CHECK: invalid memory hierarchy: memory level 'L2' names unknown neighbour(s) 'L5'; known levels: 'L2', 'L1'

// -----

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L2", compute = "L1", levels = [<"L2", size = 1024, neighbours = []>, <"L1", size = 256, neighbours = []>]>} {
}
// CHECK: invalid memory hierarchy: memory level(s) 'L1' cannot be reached from 'L2': every level must be connected to the others by neighbour links

// -----

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L9", compute = "L1", levels = [<"L2", size = 1024, neighbours = ["L1"]>, <"L1", size = 256, neighbours = []>]>} {
}
// CHECK: invalid memory hierarchy: default memory level 'L9' is not a level of the hierarchy; levels: 'L2', 'L1'

// -----

builtin.module attributes {tiler.hierarchy = #tiler.hierarchy<default = "L2", compute = "L0", levels = [<"L2", size = 1024, neighbours = ["L1"]>, <"L1", size = 256, neighbours = []>]>} {
}
// CHECK: invalid memory hierarchy: compute memory level 'L0' is not a level of the hierarchy; levels: 'L2', 'L1'

// -----

builtin.module attributes {tiler.level = #tiler.level<"L1", size = 0, neighbours = ["L2"]>} {
}
// CHECK: invalid memory level: size of memory level 'L1' must be from 1 to 1099511627776 bytes (1 TiB), got 0

// -----

builtin.module attributes {tiler.level = #tiler.level<"L1", size = 64, neighbours = ["L1"]>} {
}
// CHECK: invalid memory level: memory level 'L1' cannot be its own neighbour
