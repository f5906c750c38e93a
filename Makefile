# highlightd: every task a user or developer runs, in one place.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= highlightd.toml

.PHONY: install install-run lock test-servers bench-tools test lint format run demo bench clean

# Both installs come from hashed lock files (`make lock`), so a fresh machine gets
# exactly the versions the tests passed with. `install-run` is what `make run` needs
# (no dev tools); `install` adds the dev tools (test, lint, bench).
RUN_LOCK := requirements/run.txt
DEV_LOCK := requirements/dev.txt
UV := uv==0.13.9

install: $(VENV)/.installed-dev

install-run: $(VENV)/.installed-run

$(VENV)/.installed-run: pyproject.toml $(RUN_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(RUN_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(DEV_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed-run

# After a change to the dependencies in pyproject.toml: pin them again. uv's
# `pip compile --universal` writes plain requirements files (pip installs them) that
# hold for every Python 3.11.x and platform, with markers where a dependency differs
# (redis needs async-timeout below 3.11.3, as on Debian 12). The dev lock is
# constrained to the runtime one, so both agree.
LOCK_FLAGS := --quiet --universal --python-version 3.11 --generate-hashes --upgrade
lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet $(UV)
	.venv-lock/bin/uv pip compile $(LOCK_FLAGS) -o $(RUN_LOCK) pyproject.toml
	.venv-lock/bin/uv pip compile $(LOCK_FLAGS) --extra dev -c $(RUN_LOCK) -o $(DEV_LOCK) pyproject.toml

# See it work, offline: a local IRC server, the daemon and a scripted scene; Ctrl-C ends it.
demo: install-run $(VENV)/.demo-installed
	$(BIN)/highlightd demo

# miniircd, the demo's IRC server where Debian's ngircd is not installed.
$(VENV)/.demo-installed: $(VENV)/.installed-run
	$(BIN)/pip install --quiet -e '.[demo]'
	touch $@

# The tests talk to a real IRC server: ngircd from Debian (miniircd from PyPI is the fallback).
test-servers:
	@sh scripts/install-test-servers.sh

test: install test-servers
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

$(CONFIG):
	cp config.example.toml $(CONFIG)
	@echo "wrote $(CONFIG) from config.example.toml: edit [[networks]] (and [twilio] to send real SMS)"

run: install-run $(CONFIG)
	$(BIN)/highlightd run --config $(CONFIG)

# wrk, the webhook benchmarks' load generator (Debian's package).
bench-tools:
	@sh scripts/install-bench-tools.sh

bench: install test-servers bench-tools
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .venv-lock build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
