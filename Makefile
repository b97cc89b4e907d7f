# Surge developer commands.  `make demo` runs the demo, `make test` runs every check CI runs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 5000

.PHONY: setup system-demo system-test demo demo-cluster test lint compiled bench fuzz-compat clean

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
	SURGE_PURE=1 $(BIN)/pip install -q --disable-pip-version-check -e ".[dev]"  # an edit to src/ is what runs
	touch $@

node_modules/.installed: package.json package-lock.json | system-demo
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/surge examples/demo/app.py --port $(PORT)

# The demo as two processes (PORT and PORT+1) sharing rooms through Redis (the machine's, or one of its own).
demo-cluster: setup
	PORT=$(PORT) $(BIN)/python examples/demo/cluster.py

lint: setup
	$(BIN)/ruff check setup.py src tests examples bench fuzz
	$(BIN)/ruff format --check setup.py src tests examples bench fuzz
	$(BIN)/mypy

# The hot path compiled by mypyc, as `pip install` builds it where a C compiler is (setup.py),
# into build/compiled: the suite and the benchmarks run on it with PYTHONPATH.
compiled: setup
	rm -rf build  # setuptools keeps build/lib between builds: a stale extension would ship
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation --target build/compiled .

# Every test twice: on the Python source, then on the compiled build (3 workers: mostly waiting on peers);
# then, once, Surge as users get it: built by pip's isolated build, installed in fresh venvs (tests/install).
test: system-test lint compiled
	$(BIN)/pytest -n 3 --ignore=tests/install
	SURGE_BUILD=compiled PYTHONPATH=$(CURDIR)/build/compiled $(BIN)/pytest -n 3 --ignore=tests/install
	$(BIN)/pytest tests/install

# The generators run long against the reference (not CI's: about an hour): API sequences on
# Flask-SocketIO's test client and Surge's, and emit data against python-socketio's encoder.
fuzz-compat: setup
	$(BIN)/pytest -p no:cacheprovider -o timeout=7200 --hypothesis-profile=long --hypothesis-show-statistics \
		tests/differential/test_generated.py tests/differential/test_generated_live.py tests/protocol/test_jsoncodec.py

bench: compiled
	$(BIN)/pip install -q --disable-pip-version-check matplotlib
	PYTHONPATH=$(CURDIR)/build/compiled $(BIN)/python bench/compare.py

clean:
	rm -rf $(VENV) node_modules build .pytest_cache .mypy_cache .ruff_cache .hypothesis
