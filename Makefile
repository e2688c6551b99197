# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BUILD  := build
EXAMPLE := examples/kws_dscnn

.PHONY: demo test pytest lit clean

# (Re)install when the project's metadata changes; the install is editable, so source
# edits need no reinstall.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(STAMP)
	mkdir -p $(BUILD)
	$(BIN)/tiler-opt $(EXAMPLE)/kws_dscnn_float32.onnx -o $(BUILD)/kws_dscnn.mlir
	@echo "== imported $(EXAMPLE)/kws_dscnn_float32.onnx -> $(BUILD)/kws_dscnn.mlir"
	$(BIN)/tiler-opt $(BUILD)/kws_dscnn.mlir -t summary
	@echo "== executing the IR, checked against onnxruntime's outputs"
	$(BIN)/tiler-run $(BUILD)/kws_dscnn.mlir --inputs $(EXAMPLE)/inputs.npz \
	    --outputs $(BUILD)/kws_dscnn_outputs.npz --check $(EXAMPLE)/outputs.npz

test: pytest lit

pytest: $(STAMP)
	$(BIN)/pytest -q tests

lit: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/lit -v tests/filecheck

clean:
	rm -rf $(BUILD) $(VENV) tests/filecheck/**/Output
