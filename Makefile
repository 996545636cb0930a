# The two set-up commands of the README:
#   make train   install everything, then run the main job (embedded default, offline, CPU)
#   make test    install everything, then run the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install system-deps train test demo bench clean

system-deps:
	@if ! command -v bwrap >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; fi; \
	fi

$(BIN)/.installed: pyproject.toml
	$(MAKE) system-deps
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: a CPU build of 2.13.0 (a plain 'torch' requirement would pull a CUDA build)
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(BIN)/.installed

train: install
	$(BIN)/prolong train

demo: install
	$(BIN)/prolong demo

test: install
	$(BIN)/ruff check prolong tests benchmarks
	$(BIN)/python -m pytest -q tests

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) runs build *.egg-info
