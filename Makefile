# Two commands do everything on a fresh machine:  `make reproduce`  and  `make test`.
# Each (re)creates the virtual environment (.venv) from requirements.lock when it is missing or older
# than requirements.lock or pyproject.toml. `make lock` regenerates the lock after a pyproject edit.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PRESET ?= demo
PYTEST_ARGS ?=
LOCK   := requirements.lock
PIP_VERSION   := 26.3
TORCH_VERSION := 2.13.0
# `make lock`: its own tool venv; uv resolves for the project's machines (CPython 3.11, x86_64 Linux).
LOCK_TOOLS  ?= .venv-lock
UV_VERSION  := 0.13.9
LOCK_UPGRADE ?=
LOCK_COMPILE = uv pip compile pyproject.toml --extra dev --python-version 3.11.7 \
	--python-platform x86_64-manylinux_2_28 --generate-hashes --annotation-style split --no-header $(LOCK_UPGRADE)

.PHONY: env lock lock-check reproduce test test-fast figures assets clean-results

# The lock must have been made from this pyproject.toml (a hash in its header, not file dates).
lock-check:
	@$(PYTHON) -I paper_utils/lockfile.py check

$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -I paper_utils/lockfile.py check
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	# torch first and alone: the CPU build, pinned (an unpinned torch pulls a multi-GB CUDA build);
	# its CPU dependencies (sympy, networkx, ...) come pinned from the lock.
	$(BIN)/python -m pip install --quiet --no-deps torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

env: lock-check $(STAMP)

# Regenerate requirements.lock from pyproject.toml, keeping every pin it can;
# `make lock LOCK_UPGRADE='--upgrade-package transformers'` moves one package (or `--upgrade`: all).
lock:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)
	rm -f $(LOCK_TOOLS)/uv-out.txt; if [ -f $(LOCK) ]; then cp $(LOCK) $(LOCK_TOOLS)/uv-out.txt; fi  # uv keeps its pins
	$(LOCK_TOOLS)/bin/$(LOCK_COMPILE) --quiet -o $(LOCK_TOOLS)/uv-out.txt
	$(PYTHON) -I paper_utils/lockfile.py write $(LOCK_TOOLS)/uv-out.txt "uv $(UV_VERSION)" $(LOCK_COMPILE) > $(LOCK_TOOLS)/lock.txt
	mv $(LOCK_TOOLS)/lock.txt $(LOCK)

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
