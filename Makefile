# Two commands do all set-up: `make demo` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: install node spectral browser wrk lint test test-fast demo serve bench messages clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON) --quiet
	@touch $@

install: $(VENV)/.synced

# The independent verifier (Digital Bazaar's JavaScript stack) for the interop tests.
interop/node_modules/.installed: interop/package.json interop/package-lock.json
	npm ci --prefix interop --no-audit --no-fund --loglevel=error
	@touch $@

node: interop/node_modules/.installed

# Spectral, the OpenAPI linter run over the API document (tests/api/test_openapi_lint.py).
tools/spectral/node_modules/.installed: tools/spectral/package.json tools/spectral/package-lock.json
	npm ci --prefix tools/spectral --no-audit --no-fund --loglevel=error
	@touch $@

spectral: tools/spectral/node_modules/.installed

# Debian's Chromium for the browser tests (tests/e2e), driven by Playwright: never a
# browser download. CI runs as root; elsewhere install the package once by hand.
browser:
	@test -x /usr/bin/chromium || \
	  (apt-get update && apt-get install -y --no-install-recommends chromium)

# wrk, the HTTP load generator of the server benchmark (bench/server_bench.py).
wrk:
	@command -v wrk >/dev/null || \
	  (apt-get update && apt-get install -y --no-install-recommends wrk)

lint: install
	$(BIN)/ruff check src tests bench clients/python
	$(BIN)/ruff format --check src tests bench clients/python
	$(BIN)/mypy --strict src bench
	$(BIN)/mypy --strict clients/python/src
	$(BIN)/lint-imports --no-cache
	@tmp=$$(mktemp -d) && \
	  CHARTER_DATABASE_URL="sqlite:///$$tmp/check.db" $(BIN)/alembic upgrade head >/dev/null 2>&1 && \
	  CHARTER_DATABASE_URL="sqlite:///$$tmp/check.db" $(BIN)/alembic check; \
	  status=$$?; rm -rf "$$tmp"; exit $$status

test: lint node spectral browser
	$(BIN)/python -m pytest -n 2 --timeout=600 --durations=25 $(PYTEST_ARGS)

test-fast: install
	CHARTER_TEST_BACKENDS=sqlite $(BIN)/python -m pytest -x -q $(PYTEST_ARGS)

demo: install
	$(BIN)/charter demo

# The catalogue of the pages' text for translators (see Languages in README.md), extracted by
# Babel as babel.cfg says. tests/web/test_translation_markers.py fails when it is out of date.
messages: install
	$(BIN)/pybabel extract --mapping-file=babel.cfg --output-file=src/charter/web/locale/messages.pot \
	  --project=Charter --add-location=file --sort-output --no-wrap src/charter

bench: install node wrk
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) interop/node_modules tools/spectral/node_modules .mypy_cache .ruff_cache .pytest_cache
