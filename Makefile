# The two commands a new user needs: `make dev` and `make test`. Both set themselves up on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# The CPU wheel of PyTorch on these machines is built for CPython 3.11, so the dev venv uses 3.11;
# deployed functions run on python312 (firebase.json) and the code is kept compatible with both.
BOOTSTRAP_PYTHON ?= $(shell command -v python3.11 || command -v python3)
PYTEST_ARGS ?=

# The web dashboard (web/): its own package.json and lockfile; Vite builds it into web/dist, the
# directory firebase.json's hosting section serves.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) \
	web/index.html web/vite.config.ts web/tsconfig.json shared/constants.json
WEB_BUILD := web/dist/index.html

.PHONY: help setup chromium dev test test-firebase lint typecheck contracts bench chaos clean web

help:
	@echo "make dev            the whole platform locally (Firestore, Auth, Pub/Sub, Storage, functions,"
	@echo "                    and the web dashboard on http://127.0.0.1:5000)"
	@echo "make web            build the web dashboard into web/dist"
	@echo "make test           every test against an isolated local stack on free ports"
	@echo "make test-firebase  the same suite under 'firebase emulators:exec' (needs the official emulators)"
	@echo "make lint           ruff + mypy"
	@echo "make contracts      regenerate shared/ (JSON Schemas, OpenAPI, constants) from the models"
	@echo "make bench          run benchmarks/ and write benchmarks/results/"
	@echo "make chaos          10-minute reliability soak: faults under load, then invariants"

setup: $(VENV)/.installed node_modules/.installed web/node_modules/.installed chromium

# The browser tests drive Debian's Chromium (Playwright may not download browser builds here).
# Installed with apt when missing and we are root; otherwise say how, and let the tests decide
# (they fail under CI=true, skip with the reason elsewhere).
chromium:
	@if [ -n "$$AIDE_CHROMIUM" ] || command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "NOTE: no chromium: browser tests need it. Install it with 'sudo apt-get install chromium'" \
			"(Debian/Ubuntu) or set AIDE_CHROMIUM=/path/to/chromium."; \
	fi

$(VENV)/.installed: functions/requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEB_BUILD): web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run --silent build

web: $(WEB_BUILD)

dev: setup $(WEB_BUILD)
	$(PY) -m emulators.stack --dev

test: setup $(WEB_BUILD)
	cd web && npm test --silent
	$(PY) -m pytest $(PYTEST_ARGS)

test-firebase: setup
	npx firebase emulators:exec --project demo-aide --only auth,firestore,pubsub,storage \
		"AIDE_USE_OFFICIAL_EMULATORS=1 $(PY) -m pytest $(PYTEST_ARGS)"

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy functions emulators
	cd web && npm run --silent typecheck

contracts: setup
	cd functions && ../$(PY) -m aide.contracts ../shared

bench: setup
	$(PY) -m benchmarks

# The soak whose figures README's "Reliability" section quotes (a short one runs in `make test`).
CHAOS_ARGS ?= --duration 600 --users 40 --workers 4 --max-group 200 --task-rate 2 --real-sweeper-bound
chaos: setup
	$(PY) -m benchmarks.reliability $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) node_modules web/node_modules web/dist .pytest_cache .mypy_cache .ruff_cache
