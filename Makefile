# Two commands do everything on a fresh machine:  `make reproduce`  and  `make test`.
# Each creates the virtual environment (.venv) when it is missing or older than pyproject.toml.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PRESET ?= demo
PYTEST_ARGS ?=

.PHONY: env reproduce test test-fast figures assets clean-results

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU build of torch, pinned: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

env: $(STAMP)

assets: env
	$(BIN)/python -m paper_utils assets fetch --preset $(PRESET)

reproduce: env
	$(BIN)/python -m paper_utils assets fetch --preset $(PRESET)
	$(BIN)/python -m paper_utils reproduce --preset $(PRESET)

figures: env
	$(BIN)/python -m paper_utils figures --preset $(PRESET)

# Default tiers: unit tests, the real offline packs (`assets`) and the notebooks (`notebooks`).
# The `gpu` tier runs only where CUDA is present.
test: env
	$(BIN)/python -m pytest -m "not gpu" $(PYTEST_ARGS)

test-fast: env
	$(BIN)/python -m pytest -m "not gpu and not assets and not notebooks and not slow" $(PYTEST_ARGS)
