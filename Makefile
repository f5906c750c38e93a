# highlightd: every task a user or developer runs, in one place.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= highlightd.toml

.PHONY: install test-servers test lint format run demo bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# See it work, offline: a local IRC server, the daemon and a scripted scene; Ctrl-C ends it.
demo: install $(VENV)/.demo-installed
	$(BIN)/highlightd demo

# miniircd, the demo's IRC server where Debian's ngircd is not installed.
$(VENV)/.demo-installed: $(VENV)/.installed
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

run: install $(CONFIG)
	$(BIN)/highlightd run --config $(CONFIG)

bench: install
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
