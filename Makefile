# smskit: `make demo` runs the whole loop on the embedded emulator; `make test` runs every check.
# Both create .venv and install the project with its dev extras when missing.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit browser-deps java-deps bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/smskit demo --out demo-output

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# the browser test needs Chromium and the Spark tests a Java runtime: installed first when missing
# (or told exactly what to do)
unit: $(STAMP) browser-deps java-deps
	$(PY) -m pytest

test: lint typecheck unit

browser-deps:
	bash .ci/browser-deps.sh

# The Spark tests need a Java runtime: installed from Debian's packages when `java` is missing.
java-deps:
	@command -v java >/dev/null 2>&1 || bash .ci/java-deps.sh

bench: $(STAMP)
	$(PY) bench/send.py
	$(PY) bench/emulator.py
	$(PY) bench/pacing.py
	$(PY) bench/campaign.py
	$(PY) bench/ledger.py
	$(PY) bench/reports.py
	$(PY) bench/analytics.py
	$(PY) bench/experiments.py
	$(PY) bench/experiments.py --text-ids --naive-sample 10
	$(PY) bench/policy.py
	$(PY) bench/policy.py --single-template
	$(PY) bench/warehouse.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-output test-artifacts
