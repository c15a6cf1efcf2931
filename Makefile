# auditbook: `make demo` runs the demo quarter, `make test` runs the tests. Both build .venv first.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
LABVENV := .venv-lab
AIRFLOWVENV := .venv-airflow
# Installs come from lock files with hashes (pyproject.toml's ranges are their source; `make lock` refreshes them):
# LOCK = runtime + demo + dev (.venv, CI, the workflows), LABLOCK = runtime + demo + lab (.venv-lab).
LOCK    := requirements/main.lock
LABLOCK := requirements/lab.lock
LOCKVENV := .venv-lock
LOCK_PYTHON := 3.11.5
PIP_QUIET := --quiet --disable-pip-version-check
# Airflow installs with Airflow's constraints file for its version and Python, which lives on GitHub:
#   make test-airflow AIRFLOW_CONSTRAINTS=https://raw.githubusercontent.com/apache/airflow/constraints-3.1.8/constraints-3.11.txt
# Offline (a machine that reaches only a package index) the default is the pins of LOCK (without hashes), so
# auditbook's own dependencies stay at the locked versions and pip fits Airflow around them.
AIRFLOW_CONSTRAINTS ?= $(AIRFLOWVENV)/lock-pins.txt
PERIOD  ?=
PARAMS  ?=
NOTEBOOKS := lib/auditbook/notebooks
OUT     ?= outputs

# The run's variables come from whoever calls make (a scheduler passes a workflow input as PERIOD). Their text is
# never code: make does not expand it (`$(value)`, and `unexport`, since make expands a command-line variable
# it exports), a recipe reads it as a quoted environment variable (AB_PERIOD...) and never pastes it into its
# script, and the *-args targets check it against its pattern before anything runs (one usage line, exit 2).
RUN_VARS := PERIOD PARAMS OUT RUN CRITERIA SIGN_WITH SIGNER
unexport $(RUN_VARS)
$(foreach v,$(RUN_VARS),$(eval export AB_$(v) := $$(value $(v))))
PERIOD_RE   := [0-9]{4}(-Q[1-4]|-[0-9]{2})?|[0-9]{4}-[0-9]{2}-[0-9]{2}[.][.][0-9]{4}-[0-9]{2}-[0-9]{2}
PERIOD_IS   := YYYY, YYYY-MM, YYYY-Qn or YYYY-MM-DD..YYYY-MM-DD
PATH_RE     := [A-Za-z0-9_./][A-Za-z0-9_./+@,:-]*
PATH_IS     := a path of letters, digits and _ . / + @ , : - only, not starting with -
CRITERIA_RE := [A-Z0-9.,]+
CRITERIA_IS := criteria separated by commas, e.g. CC6.1,CC8.1
SIGN_WITH_RE := (ssh|kms):$(PATH_RE)
SIGN_WITH_IS := ssh:<private key file> or kms:<key id or ARN>
SIGNER_RE    := $(PATH_RE)
SIGNER_IS    := an allowed-signers file or a KMS key id or ARN
QUARTER_USAGE := make quarter PARAMS=params/x.yaml PERIOD=2026-Q3 [OUT=outputs] [CRITERIA=CC6.1,CC8.1] [SIGN_WITH=kms:KEY]
SNAPSHOT_USAGE := make snapshot PARAMS=params/x.yaml [OUT=outputs] [SIGN_WITH=kms:KEY]
VERIFY_USAGE  := make verify RUN=outputs/<period>/<run-id> [SIGNER=allowed_signers|KMS-KEY]
DEMO_USAGE    := make demo [PERIOD=2026-Q3] [OUT=outputs]
OUT_USAGE     := make test|lab [OUT=outputs]
# $(call check,VAR,required|optional,usage): AB_VAR is one line matching VAR_RE (or empty when optional), else
# "usage: ..." on stderr and exit 2.
check = @v="$$AB_$(1)"; { [ -z "$$v" ] && [ "$(2)" = optional ]; } || { [ "$$(printf '%s' "$$v" | tr -d '\n')" = "$$v" ] \
	&& printf '%s\n' "$$v" | grep -Eqx -- '$($(1)_RE)'; } || \
	{ printf '%s\n' "usage: $(3) ($(1) must be $($(1)_IS))" >&2; exit 2; }
PARAMS_RE := $(PATH_RE)
PARAMS_IS := $(PATH_IS)
OUT_RE    := $(PATH_RE)
OUT_IS    := $(PATH_IS)
RUN_RE    := $(PATH_RE)
RUN_IS    := $(PATH_IS)

.PHONY: setup lock demo demo-args out-args test test-lab test-slow test-airflow lint quarter quarter-args snapshot snapshot-args lab verify verify-args bench bench-large clean

setup: $(STAMP)

$(STAMP): pyproject.toml $(LOCK) tools/ensure-system-packages.sh
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
		{ echo "auditbook needs Python 3.11 or newer ($(PY) is older); set PY=python3.x"; exit 1; }
	@sh tools/ensure-system-packages.sh
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install $(PIP_QUIET) --require-hashes -r $(LOCK)
	$(BIN)/pip install $(PIP_QUIET) --no-deps -e .
	@touch $(STAMP)

# Re-resolve the lock files from pyproject.toml's ranges with uv (in its own throwaway environment). Versions
# already locked are kept while the ranges allow them (new dependencies are added); UPGRADE=1 takes the newest;
# LOCK_CONSTRAINTS=FILE (e.g. `.venv/bin/pip freeze --exclude-editable`) locks the versions a tested venv has.
# LABLOCK is constrained by LOCK, so the lab runs the library on the same versions as the tests.
lock:
	@test -x $(LOCKVENV)/bin/uv || { $(PY) -m venv $(LOCKVENV) && $(LOCKVENV)/bin/pip install $(PIP_QUIET) 'uv>=0.13,<1'; }
	$(LOCKVENV)/bin/uv pip compile --quiet --generate-hashes --python-version $(LOCK_PYTHON) --custom-compile-command "make lock" \
		$(if $(UPGRADE),--upgrade) $(if $(LOCK_CONSTRAINTS),-c "$(LOCK_CONSTRAINTS)") --extra demo --extra dev \
		pyproject.toml -o $(LOCK)
	$(LOCKVENV)/bin/uv pip compile --quiet --generate-hashes --python-version $(LOCK_PYTHON) --custom-compile-command "make lock" \
		$(if $(UPGRADE),--upgrade) --extra demo --extra lab -c $(LOCK) pyproject.toml -o $(LABLOCK)

# Each target's arguments are checked first (before .venv is built).
demo: demo-args $(STAMP)
	"$(BIN)/auditbook" demo $${AB_PERIOD:+--period "$$AB_PERIOD"} --out "$$AB_OUT"

demo-args:
	$(call check,PERIOD,optional,$(DEMO_USAGE))
	$(call check,OUT,required,$(DEMO_USAGE))

quarter: quarter-args $(STAMP)
	"$(BIN)/auditbook" run --params "$$AB_PARAMS" --period "$$AB_PERIOD" --out "$$AB_OUT" \
		$${AB_CRITERIA:+--criteria "$$AB_CRITERIA"} $${AB_SIGN_WITH:+--sign-with "$$AB_SIGN_WITH"}

quarter-args:
	$(call check,PARAMS,required,$(QUARTER_USAGE))
	$(call check,PERIOD,required,$(QUARTER_USAGE))
	$(call check,OUT,required,$(QUARTER_USAGE))
	$(call check,CRITERIA,optional,$(QUARTER_USAGE))
	$(call check,SIGN_WITH,optional,$(QUARTER_USAGE))

# Daily while a period runs: the configuration read now, sealed into OUT/snapshots/<taken-at>/ (exit 1 when a
# population could not be read; the rest is still kept). The quarterly run uses every snapshot of its period.
snapshot: snapshot-args $(STAMP)
	"$(BIN)/auditbook" snapshot --params "$$AB_PARAMS" --out "$$AB_OUT" $${AB_SIGN_WITH:+--sign-with "$$AB_SIGN_WITH"}

snapshot-args:
	$(call check,PARAMS,required,$(SNAPSHOT_USAGE))
	$(call check,OUT,required,$(SNAPSHOT_USAGE))
	$(call check,SIGN_WITH,optional,$(SNAPSHOT_USAGE))

verify: verify-args $(STAMP)
	"$(BIN)/auditbook" verify "$$AB_RUN" $${AB_SIGNER:+--expect-signer "$$AB_SIGNER" --require-signature}

verify-args:
	$(call check,RUN,required,$(VERIFY_USAGE))
	$(call check,SIGNER,optional,$(VERIFY_USAGE))

lint: $(STAMP)
	$(BIN)/ruff check lib tests

out-args:
	$(call check,OUT,required,$(OUT_USAGE))

test: out-args $(STAMP) lint
	$(BIN)/pytest -m "not slow"
	AUDITBOOK_OUT="$(CURDIR)/$$AB_OUT" $(BIN)/auditbook demo-env -- $(BIN)/pytest -p no:cacheprovider --nbval-lax $(NOTEBOOKS)

# The slowest fault cases (real backoff, an emulator dying during a whole run); `make test` has the rest.
test-slow: $(STAMP)
	$(BIN)/pytest -m slow

# The Airflow DAG imported and run (dag.test()) on the demo quarter, in its own environment: Airflow is large
# and not a dependency of auditbook, so `make test` skips these two tests.
test-airflow:
	@test -x $(AIRFLOWVENV)/bin/python || $(PY) -m venv $(AIRFLOWVENV)
	sed -n 's/^\([A-Za-z0-9_.-]*==[^ ]*\).*/\1/p' $(LOCK) > $(AIRFLOWVENV)/lock-pins.txt
	$(AIRFLOWVENV)/bin/pip install $(PIP_QUIET) -c "$(AIRFLOW_CONSTRAINTS)" -e ".[demo,dev,airflow]"
	$(AIRFLOWVENV)/bin/pytest -p no:cacheprovider -m "slow or not slow" tests/package/test_pkg_platform.py -k dag

# The demo against its composite floor (seeding + import-only notebooks + PDF export alone), then scale figures
# for the README: AUDITBOOK_BENCH_SCALE=20 make bench (about 2,000 users, 1,000 secrets, 20,000 PRs).
bench: $(STAMP)
	$(BIN)/python bench/run_bench.py
	AUDITBOOK_BENCH_EVENTS=1000000 $(BIN)/python bench/events_bench.py
	AUDITBOOK_BENCH_EVENTS=10000000 $(BIN)/python bench/events_bench.py

# CloudTrail at 100 million events (about 45 minutes and 10 GB of emulator memory): not part of `make bench`.
bench-large: $(STAMP)
	AUDITBOOK_BENCH_EVENTS=100000000 $(BIN)/python bench/events_bench.py

# JupyterLab lives in its own environment: its server dependencies slow every papermill kernel start.
# .venv-lab is built once and rebuilt only when its lock or pyproject.toml changes (its own stamp, like .venv's).
LABSTAMP := $(LABVENV)/.installed
$(LABSTAMP): pyproject.toml $(LABLOCK)
	@test -x $(LABVENV)/bin/python || $(PY) -m venv $(LABVENV)
	$(LABVENV)/bin/pip install $(PIP_QUIET) --require-hashes -r $(LABLOCK)
	$(LABVENV)/bin/pip install $(PIP_QUIET) --no-deps -e .
	@touch $(LABSTAMP)

lab: out-args $(STAMP) $(LABSTAMP)
	AUDITBOOK_OUT="$(CURDIR)/$$AB_OUT" $(BIN)/auditbook demo-env -- $(LABVENV)/bin/python -m auditbook.lab

# The lab driven in headless Chromium (Debian's package, installed by apt-get when missing; Playwright drives it,
# no browser is downloaded): CC8.1 Run All on the demo, screenshots in $(OUT)/test-lab/. About a minute and a half.
test-lab: out-args $(STAMP) $(LABSTAMP)
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	AUDITBOOK_LAB_PYTHON="$(CURDIR)/$(LABVENV)/bin/python" AUDITBOOK_LAB_SHOTS="$(CURDIR)/$$AB_OUT/test-lab" \
		$(BIN)/pytest -p no:cacheprovider tests/lab

clean:
	rm -rf $(VENV) $(LABVENV) $(AIRFLOWVENV) $(LOCKVENV) outputs/scratch
