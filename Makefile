# Two commands do everything on a fresh machine with Python 3.11:
#   make demo   set up .venv, generate the sample data, run the pipeline, print the report
#   make test   set up .venv, lint (sqlfluff, ruff) and run every test
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
MANIFEST := dbt_project/target/manifest.json
export DBT_PROFILES_DIR := $(CURDIR)
# dbt's parse and the linter open the warehouse file, so point them at a scratch one.
SCRATCH_DB := $(CURDIR)/warehouse/scratch.duckdb
# The linter compiles the models, and compiling the staging models needs a salt; this one
# only ever hashes nothing. The UI is for the demo data, so it gets the demo's public salt
# unless CAMPAIGN_REPORT_PII_SALT is set (orchestration/personal_data.py).
LINT_SALT := lint-only-salt-never-hashes-data
DEMO_SALT := campaign-report-demo-salt-not-for-real-data

.PHONY: setup demo test lint ui clean bench

$(INSTALLED): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# --no-deps: the lock already lists every package at an exact, hash-checked version.
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $@

# An existing profiles.yml is never overwritten (it may hold your connection
# details), so one copied before the memory limit existed is pointed at it.
profiles.yml: profiles.example.yml
	test -f $@ || cp $< $@
	@grep -q memory_limit $@ || echo "note: $@ sets no DuckDB memory_limit;" \
		"copy that line from $<"

$(MANIFEST): $(INSTALLED) profiles.yml $(shell find dbt_project/models dbt_project/macros dbt_project/seeds dbt_project/tests -type f 2>/dev/null) dbt_project/dbt_project.yml
	mkdir -p warehouse
	cd dbt_project && CAMPAIGN_REPORT_DATABASE=$(SCRATCH_DB) ../$(BIN)/dbt parse --quiet

setup: $(INSTALLED) profiles.yml $(MANIFEST)

demo: setup
	$(BIN)/campaign-report demo

lint: setup
	$(BIN)/ruff check orchestration tests
	$(BIN)/ruff format --check orchestration tests
	CAMPAIGN_REPORT_DATABASE=$(SCRATCH_DB) CAMPAIGN_REPORT_PII_SALT=$(LINT_SALT) \
		$(BIN)/sqlfluff lint --processes 0 dbt_project

# Two workers, one test module each at a time: the machine has two cores, and a
# module's fixtures (one pipeline run shared by its tests) stay in one worker.
test: lint
	$(BIN)/pytest -n 2 --dist loadfile

# Sizes are message events, e.g. BENCH_SIZES=100k,1M make bench for a quick look.
bench: setup
	$(BIN)/python -m orchestration.bench

ui: setup
	mkdir -p .dagster && cp config/dagster.yaml .dagster/dagster.yaml
	DAGSTER_HOME=$(CURDIR)/.dagster \
		CAMPAIGN_REPORT_PII_SALT="$${CAMPAIGN_REPORT_PII_SALT:-$(DEMO_SALT)}" \
		$(BIN)/dagster dev -w workspace.yaml

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs warehouse landing .dagster
