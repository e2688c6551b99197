"""The model zoo that ships with onnx (onnx/backend/test/data/light/): every light_*.onnx
model imported, tiled, allocated and executed on its arenas, equal to onnxruntime on the
same seeded random inputs.

The light models make every weight with ConstantOfShape (one value, 0.02, everywhere), so
their outputs are uniform (softmax 0.001 in every class) and would hide a wrong tile.
The test gives each weight seeded random values first (He-scaled for kernels, 0.5..1.5
for per-channel vectors, which BatchNormalization's variances need positive): the zoo's
architectures, with outputs that depend on every element.

The hierarchy: L1 = 64 KiB (where compute runs), home L2 = 1 GiB, which holds each
model's weights and live activations (vgg19's weights alone are 548 MB; per-tensor home
levels, weights in L3 with activations in L2, are issue 13). Compile times are bench
figures (`tiler-bench --zoo`, docs/benchmarks.md), not asserted here. Slow: ~10 minutes
for the nine models, so `make test-all` runs them and `make test` does not."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from tiling_helpers import check_solution_fits, random_inputs, tile

from tiler_dialect import MemoryHierarchy
from tiler_passes.tiler import Tiler
from tiler_tools.bench import ZOO_CONFIG, zoo_dir
from tiler_tools.executor import execute
from tiler_tools.onnx_frontend import import_onnx

pytestmark = pytest.mark.slow

ZOO = zoo_dir()
MODELS = sorted(p.stem.removeprefix("light_") for p in ZOO.glob("light_*.onnx"))
RTOL, ATOL = 1e-4, 1e-5


def test_the_zoo_is_there():
    """The nine models onnx ships (a newer onnx with more would show here)."""
    assert MODELS == [
        "bvlc_alexnet", "densenet121", "inception_v1", "inception_v2", "resnet50",
        "shufflenet", "squeezenet", "vgg19", "zfnet512",
    ]


def with_random_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """The model with each ConstantOfShape weight replaced by an initializer of the same
    name and shape holding seeded random values."""
    rng = np.random.default_rng(seed)
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    kept, weights, shapes = [], [], set()
    for node in graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in initializers:
            kept.append(node)
            continue
        shapes.add(node.input[0])
        shape = tuple(int(d) for d in onnx.numpy_helper.to_array(initializers[node.input[0]]))
        if len(shape) >= 2:
            values = rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))
        else:
            values = rng.uniform(0.5, 1.5, shape)
        weights.append(onnx.numpy_helper.from_array(values.astype(np.float32), node.output[0]))
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    remaining = [t for t in graph.initializer if t.name not in shapes]
    del out.graph.initializer[:]
    out.graph.initializer.extend(remaining + weights)
    return out


def test_random_weights_replace_every_constant_weight():
    model = with_random_weights(onnx.load(ZOO / "light_squeezenet.onnx"))
    assert not [n for n in model.graph.node if n.op_type == "ConstantOfShape"]
    conv1 = next(t for t in model.graph.initializer if t.name == "conv1_w_0")
    values = onnx.numpy_helper.to_array(conv1)
    assert values.shape == (64, 3, 3, 3) and 0.2 < values.std() < 0.4  # sqrt(2 / 27) = 0.27


@pytest.mark.parametrize("model", MODELS)
def test_zoo_model_tiled_allocated_matches_onnxruntime(model):
    import onnxruntime as ort

    proto = with_random_weights(onnx.load(ZOO / f"light_{model}.onnx"))
    hierarchy = MemoryHierarchy.fromSizes(l1=ZOO_CONFIG.l1, l2=ZOO_CONFIG.l2, default=ZOO_CONFIG.home)
    module = import_onnx(proto, hierarchy)
    feeds = random_inputs(module)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    want = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))

    solution = tile(module, doubleBuffer=True)
    check_solution_fits(solution)
    assert sum(layer.tiling.tiles for layer in solution.layers) > len(solution.layers)  # really tiled
    tiler = Tiler(hierarchy)
    memory_map = tiler.allocate(module)
    for level, arena in tiler.worstCaseBufferSize.items():
        assert arena <= memory_map.capacities[level], level
    counters: dict[str, int] = {}
    got = execute(module, feeds, counters)
    assert got.keys() == want.keys()
    for name, value in want.items():
        assert got[name].shape == value.shape, name
        np.testing.assert_allclose(got[name], value, rtol=RTOL, atol=ATOL, err_msg=name)
    assert counters["dma_bytes"] == sum(layer.traffic.bytes for layer in solution.layers)
