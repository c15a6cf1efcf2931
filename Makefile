# auditbook: `make demo` runs the demo quarter, `make test` runs the tests. Both build .venv first.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
LABVENV := .venv-lab
AIRFLOWVENV := .venv-airflow
PERIOD  ?=
PARAMS  ?=
NOTEBOOKS := lib/auditbook/notebooks
OUT     ?= outputs

.PHONY: setup demo test test-slow test-airflow lint quarter lab verify bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml tools/ensure-system-packages.sh
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
		{ echo "auditbook needs Python 3.11 or newer ($(PY) is older); set PY=python3.x"; exit 1; }
	@sh tools/ensure-system-packages.sh
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[demo,dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/auditbook demo $(if $(PERIOD),--period $(PERIOD)) --out $(OUT)

quarter: $(STAMP)
	@test -n "$(PERIOD)" && test -n "$(PARAMS)" || { echo "usage: make quarter PARAMS=params/x.yaml PERIOD=2026-Q3"; exit 2; }
	$(BIN)/auditbook run --params $(PARAMS) --period $(PERIOD) --out $(OUT)

verify: $(STAMP)
	@test -n "$(RUN)" || { echo "usage: make verify RUN=outputs/<period>/<run-id>"; exit 2; }
	$(BIN)/auditbook verify $(RUN)

lint: $(STAMP)
	$(BIN)/ruff check lib tests

test: $(STAMP) lint
	$(BIN)/pytest -m "not slow"
	AUDITBOOK_OUT=$(CURDIR)/$(OUT) $(BIN)/auditbook demo-env -- $(BIN)/pytest -p no:cacheprovider --nbval-lax $(NOTEBOOKS)

# The slowest fault cases (real backoff, an emulator dying during a whole run); `make test` has the rest.
test-slow: $(STAMP)
	$(BIN)/pytest -m slow

# The Airflow DAG imported and run (dag.test()) on the demo quarter, in its own environment: Airflow is large
# and not a dependency of auditbook, so `make test` skips these two tests.
test-airflow:
	@test -x $(AIRFLOWVENV)/bin/python || $(PY) -m venv $(AIRFLOWVENV)
	$(AIRFLOWVENV)/bin/pip install --quiet --disable-pip-version-check -e ".[demo,dev,airflow]"
	$(AIRFLOWVENV)/bin/pytest -p no:cacheprovider -m "slow or not slow" tests/package/test_pkg_platform.py -k dag

# Scale figures for the README: AUDITBOOK_BENCH_SCALE=20 make bench (about 2,000 users, 1,000 secrets, 20,000 PRs).
bench: $(STAMP)
	$(BIN)/python bench/run_bench.py

# JupyterLab lives in its own environment: its server dependencies slow every papermill kernel start.
lab: $(STAMP)
	@test -x $(LABVENV)/bin/python || $(PY) -m venv $(LABVENV)
	$(LABVENV)/bin/pip install --quiet --disable-pip-version-check -e ".[demo,lab]"
	AUDITBOOK_OUT=$(CURDIR)/$(OUT) $(BIN)/auditbook demo-env -- $(LABVENV)/bin/jupyter lab --notebook-dir=$(NOTEBOOKS) \
		$(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf $(VENV) $(LABVENV) $(AIRFLOWVENV) outputs/scratch
