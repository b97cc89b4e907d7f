# Surge developer commands.  `make demo` runs the demo, `make test` runs every check CI runs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 5000

.PHONY: setup system-demo system-test demo test lint bench clean

# System packages first (Node, Redis, Chromium...): installed from Debian's archive
# when run as root, otherwise the command stops and names what to install.
system-demo:
	@scripts/system-packages.sh demo
system-test:
	@scripts/system-packages.sh test

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml | system-demo
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json | system-demo
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/surge examples/demo/app.py --port $(PORT)

lint: setup
	$(BIN)/ruff check src tests examples bench fuzz
	$(BIN)/ruff format --check src tests examples bench fuzz
	$(BIN)/mypy

test: system-test lint
	$(BIN)/pytest

bench: setup
	$(BIN)/pip install -q --disable-pip-version-check matplotlib
	$(BIN)/python bench/compare.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
