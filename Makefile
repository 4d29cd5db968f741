# Both targets set everything up themselves from a fresh clone: a virtual environment in .venv
# with edge-mnist installed in editable mode and every extra the job needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: pipeline test test-fast docs

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# The main job: train, export, verify; artifacts in ./artifacts. Options go through PIPELINE_ARGS,
# e.g. make pipeline PIPELINE_ARGS="--json summary.json"; EDGE_MNIST_PRECISION=float32 forces the float32 path.
PIPELINE_ARGS ?=
pipeline: $(VENV)/.installed
	$(BIN)/edge-mnist pipeline $(PIPELINE_ARGS)

# Every test, the slow, acceptance and emulated-aarch64 ones included (what CI runs). The system
# tools the tests drive for real (sshd, ssh, chromium) are installed first when missing.
test: $(VENV)/.installed
	scripts/test_tools.sh
	$(BIN)/python -m pytest

# The quick loop while developing.
test-fast: $(VENV)/.installed
	scripts/test_tools.sh
	$(BIN)/python -m pytest -m "not slow and not acceptance and not emulation"

# Regenerate every table of README.md and docs/benchmarks.md from the JSON under docs/results/.
docs: $(VENV)/.installed
	$(BIN)/python scripts/render_docs.py
