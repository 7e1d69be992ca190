# The two commands a new user needs: `make dev` and `make test`. Both set themselves up on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# The CPU wheel of PyTorch on these machines is built for CPython 3.11, so the dev venv uses 3.11;
# deployed functions run on python312 (firebase.json) and the code is kept compatible with both.
BOOTSTRAP_PYTHON ?= $(shell command -v python3.11 || command -v python3)
PYTEST_ARGS ?=

.PHONY: help setup dev test test-firebase lint typecheck contracts bench chaos clean

help:
	@echo "make dev            the whole platform locally (Firestore, Auth, Pub/Sub, Storage, functions)"
	@echo "make test           every test against an isolated local stack on free ports"
	@echo "make test-firebase  the same suite under 'firebase emulators:exec' (needs the official emulators)"
	@echo "make lint           ruff + mypy"
	@echo "make contracts      regenerate shared/ (JSON Schemas, OpenAPI, constants) from the models"
	@echo "make bench          run benchmarks/ and write benchmarks/results/"
	@echo "make chaos          10-minute reliability soak: faults under load, then invariants"

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: functions/requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

dev: setup
	$(PY) -m emulators.stack --dev

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-firebase: setup
	npx firebase emulators:exec --project demo-aide --only auth,firestore,pubsub,storage \
		"AIDE_USE_OFFICIAL_EMULATORS=1 $(PY) -m pytest $(PYTEST_ARGS)"

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy functions emulators

contracts: setup
	cd functions && ../$(PY) -m aide.contracts ../shared

bench: setup
	$(PY) -m benchmarks

# The soak whose figures README's "Reliability" section quotes (a short one runs in `make test`).
CHAOS_ARGS ?= --duration 600 --users 40 --workers 4 --max-group 200 --task-rate 2 --real-sweeper-bound
chaos: setup
	$(PY) -m benchmarks.reliability $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
