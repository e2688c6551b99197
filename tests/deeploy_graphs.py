"""Deeploy's integer test networks (../shared/models/deeploy-int) as the tests use them:
the graphs' names, each graph's path, input types, feeds and golden outputs, and the
exact comparison with them."""

from __future__ import annotations

import numpy as np
import onnx
from conftest import SHARED, shared_path

from tiler_tools.onnx_frontend import sample_input_types

ROOT = SHARED / "models" / "deeploy-int"
GRAPHS = sorted(
    [f"kernels/{p.name}" for p in (ROOT / "kernels").glob("*") if p.is_dir()]
    + [f"models/{p.name}" for p in (ROOT / "models").glob("*") if p.is_dir()]
)


def graph(name: str):
    """(path, input types, feeds, golden outputs) of a graph: the inputs.npz arrays in
    graph-input order, typed by Deeploy's rule (the narrowest integer type of the values)."""
    folder = shared_path("models", "deeploy-int", *name.split("/"))
    path = folder / "network.onnx"
    with np.load(folder / "inputs.npz") as data:
        samples = [data[k] for k in data.files]
    model = onnx.load(path)
    types = sample_input_types(model, samples)
    feeds = {k: samples[i].astype(types[k]) for i, k in enumerate(types)}
    with np.load(folder / "outputs.npz") as data:
        golden = [data[k] for k in data.files]
    return path, types, feeds, golden


def assert_exact(got: dict[str, np.ndarray], golden: list[np.ndarray]) -> None:
    assert len(got) == len(golden)
    for value, want in zip(got.values(), golden):
        assert np.issubdtype(value.dtype, np.integer), value.dtype
        np.testing.assert_array_equal(value.astype(np.int64), want.astype(np.int64).reshape(value.shape))
