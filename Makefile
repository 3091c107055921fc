# The front door. `make run` serves the app; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export RAPPORT_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: run test lint fmt bench fuzz install install-dev install-clv clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8

# Bytecode is compiled at install time: where PYTHONDONTWRITEBYTECODE is set, Python
# would otherwise compile every module again on each `rapport` command (0.6 s).
$(VENV)/.installed: $(BIN)/uv requirements.lock pyproject.toml
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m compileall -q rapport
	@touch $@

# The test tools, and a real CardDAV client for the sync tests in a venv of its own (its
# pins are its own).
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.lock requirements-vdirsyncer.lock
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements-dev.lock
	$(BIN)/uv venv --quiet --allow-existing --python $(BIN)/python $(VENV)/dav-client
	$(BIN)/uv pip install --quiet --python $(VENV)/dav-client/bin/python -r requirements-vdirsyncer.lock
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Predicted customer value (numpy, scipy): optional, so `make run` works without it;
# install-dev has it (its lock includes the extra), so the tests run it.
install-clv: install
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements-clv.lock

run: install
	$(BIN)/rapport setup
	$(BIN)/rapport serve --port $(PORT)

test: install-dev
	$(BIN)/python scripts/test_both_databases.py

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/rapport check
	RAPPORT_DATA_DIR=$$(mktemp -d) $(BIN)/rapport makemigrations --check --dry-run

fmt: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# schemathesis over the whole OpenAPI document against a live `rapport serve` (a few
# thousand cases): no 5xx, every response as documented. FUZZ_EXAMPLES=20 for more.
fuzz: install-dev
	$(BIN)/python scripts/fuzz.py --max-examples $(or $(FUZZ_EXAMPLES),5)

bench: install-dev
	$(BIN)/python bench/run.py
	$(BIN)/python bench/http_search.py
	$(BIN)/python bench/audit_bench.py
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_bench $(BIN)/python bench/export_bench.py
	DATABASE_URL=sqlite:///$(CURDIR)/var/bench/rapport-1000000.sqlite3 $(BIN)/python bench/export_bench.py
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_outreach_bench $(BIN)/python bench/campaign_export_bench.py --prepare
	$(BIN)/python bench/import_bench.py --rows 1000000
	$(BIN)/python bench/mail_ingest_bench.py --messages 100000
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-bench.lock
	$(BIN)/python bench/dedupe_accuracy.py
	$(BIN)/python bench/dedupe_public.py
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_bench $(BIN)/python bench/dedupe_bench.py --scan
	DATABASE_URL=sqlite:///$(CURDIR)/var/bench/rapport-1000000.sqlite3 $(BIN)/python bench/dedupe_bench.py --scan
	$(BIN)/python bench/timeline_bench.py
	$(BIN)/python bench/segments_bench.py
	$(BIN)/python bench/insights_bench.py
	$(BIN)/python bench/scores_bench.py
	$(BIN)/python bench/clv_accuracy.py
	$(BIN)/python bench/clv_bench.py
	$(BIN)/python bench/consent_bench.py
	$(BIN)/python bench/imap_bench.py
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_imap_bench $(BIN)/python bench/imap_bench.py
	$(BIN)/python bench/outreach_bench.py --single
	$(BIN)/python bench/carddav_bench.py --contacts 10000
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_bench $(BIN)/python bench/outreach_bench.py --single --bulk

clean:
	rm -rf $(VENV)
