# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BUILD  := build
EXAMPLE := examples/kws_dscnn

.PHONY: demo test test-all test-optimized pytest pytest-all lit fuzz bench clean

# (Re)install when the project's metadata changes; the install is editable, so source
# edits need no reinstall.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet -e '.[interop]' \
	    || echo "iree-base-compiler did not install: the upstream MLIR interop test will skip"
	touch $@

demo: $(STAMP)
	mkdir -p $(BUILD)
	$(BIN)/tiler-opt $(EXAMPLE)/kws_dscnn_float32.onnx -o $(BUILD)/kws_dscnn.mlir
	@echo "== imported $(EXAMPLE)/kws_dscnn_float32.onnx -> $(BUILD)/kws_dscnn.mlir"
	$(BIN)/tiler-opt $(BUILD)/kws_dscnn.mlir -t summary
	@echo "== executing the IR, checked against onnxruntime's outputs"
	$(BIN)/tiler-run $(BUILD)/kws_dscnn.mlir --inputs $(EXAMPLE)/inputs.npz \
	    --outputs $(BUILD)/kws_dscnn_outputs.npz --check $(EXAMPLE)/outputs.npz
	@echo "== tiling for L1 = 32 KiB, L2 = 1 MiB: CP-SAT tile sizes, double-buffered DMA loop nests"
	$(BIN)/tiler-opt $(EXAMPLE)/kws_dscnn_float32.onnx --l1 32768 --l2 1048576 --tile \
	    --tile-report $(BUILD)/kws_dscnn_tiles.json -o $(BUILD)/kws_dscnn_tiled.mlir
	$(BIN)/python examples/print_tile_totals.py $(BUILD)/kws_dscnn_tiles.json
	@echo "== executing the tiled IR (DMA hazards checked), against onnxruntime's outputs"
	$(BIN)/tiler-run $(BUILD)/kws_dscnn_tiled.mlir --inputs $(EXAMPLE)/inputs.npz \
	    --outputs $(BUILD)/kws_dscnn_tiled_outputs.npz --check $(EXAMPLE)/outputs.npz
	@echo "== allocating: every buffer at an offset in its level's arena (native MiniMalloc)"
	$(BIN)/tiler-opt $(EXAMPLE)/kws_dscnn_float32.onnx --l1 32768 --l2 1048576 --tile --allocate \
	    --memory-map $(BUILD)/kws_dscnn_memory_map.json --plot-mem-alloc $(BUILD)/kws_dscnn_memory_map.html \
	    -o $(BUILD)/kws_dscnn_allocated.mlir
	$(BIN)/python examples/print_arenas.py $(BUILD)/kws_dscnn_memory_map.json
	@echo "== executing the allocated IR on one byte array per arena, against onnxruntime's outputs"
	$(BIN)/tiler-run $(BUILD)/kws_dscnn_allocated.mlir --inputs $(EXAMPLE)/inputs.npz \
	    --outputs $(BUILD)/kws_dscnn_allocated_outputs.npz --check $(EXAMPLE)/outputs.npz
	@echo "== open $(BUILD)/kws_dscnn_memory_map.html in a browser for the memory map"

# `make test` leaves out the tests marked `slow` (pytest -m slow lists them); `make
# test-all` runs everything, and `make test-optimized` the quick slice under `python -O`
# (asserts stripped: no check of the tool may rest on one). CI runs both.
test: pytest lit

test-all: pytest-all lit

pytest: $(STAMP)
	$(BIN)/pytest -q -m "not slow" tests

pytest-all: $(STAMP)
	$(BIN)/pytest -q tests

test-optimized: $(STAMP)
	$(BIN)/python -O -m pytest -q -m "not slow" tests

lit: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/lit -v tests/filecheck

# The long fuzz run: 10,000 seeded cases (malformed models, IR, hierarchy files, CSVs,
# flags and pipelines; random valid graphs checked against onnxruntime at every stage),
# counts per outcome; exit 1 if any case ends in a traceback, hang, changed input,
# leftover output or wrong result. `make test` runs a quick slice (tests/fuzz/test_fuzz.py).
FUZZ_CASES ?= 10000
FUZZ_SEED ?= 0
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz --cases $(FUZZ_CASES) --jobs 2 --seed $(FUZZ_SEED) --save-failures $(BUILD)/fuzz-failures

# The figures of BRIEF section 7 for the shared models (docs/benchmarks.md keeps them).
bench: $(STAMP)
	$(BIN)/tiler-bench --single-buffer --zoo

clean:
	rm -rf $(BUILD) $(VENV) tests/filecheck/**/Output
