# Two commands set up a fresh machine: `make acceptance` and `make test` (see README.md).
PYTHON ?= python3
BEHAVE = $(PYTHON) -m behave

.PHONY: setup setup-scenarios up down status acceptance quick test report bench lint conformance matrix soak fuzz load mutate

setup:  ## everything: what the scenarios need, and the tests' tools (pytest, Schemathesis, Chromium, Allure, ...)
	bash scripts/setup.sh

setup-scenarios:  ## only what running the scenarios needs: a newcomer's first command waits for nothing else
	bash scripts/setup.sh --scenarios

up: setup-scenarios
	$(PYTHON) -m sandbox up

down:
	$(PYTHON) -m sandbox down

status:
	$(PYTHON) -m sandbox status

JOBS ?= 3
acceptance: setup-scenarios  ## every scenario, on the embedded stack (started when not running), JOBS behave processes side by side
	$(PYTHON) scripts/acceptance.py --jobs $(JOBS)

quick: setup-scenarios  ## every scenario but the @slow ones
	$(PYTHON) scripts/acceptance.py --jobs $(JOBS) --tags 'not @slow'

TEST_JOBS ?= 4
test: setup  ## unit tests and the suite's self-tests (the sandbox is started when not running): the exclusive ones alone, and the rest on TEST_JOBS workers (scripts/test_phases.py)
	$(PYTHON) scripts/test_phases.py --jobs $(TEST_JOBS)

report: setup  ## the single-file Allure HTML report of the last run, named after it, with the trend of its deployment's runs
	$(PYTHON) scripts/report.py

# FUZZ_ARGS, SOAK_ARGS, LOAD_ARGS, MUTATE_ARGS and CONFORMANCE_ARGS are passed as written ($(value ...)): a regular expression's $ reaches the shell,
# not make.
RUNS ?= 20
soak: setup  ## the whole suite RUNS times on one stack: per-scenario pass counts, flaky scenarios, Allure history
	$(PYTHON) scripts/soak.py --runs $(RUNS) $(value SOAK_ARGS)

EXAMPLES ?= 30
fuzz: setup  ## Schemathesis against the target's OpenAPI document as real personas, then the money check
	$(PYTHON) scripts/fuzz.py --examples $(EXAMPLES) $(value FUZZ_ARGS)

bench: setup-scenarios  ## p50/p95 latency figures of the embedded stack
	$(PYTHON) benchmarks/bench.py

lint:
	$(PYTHON) -m ruff check .

EXPECT ?= compare
conformance: setup-scenarios  ## the whole suite, docs/conformance/<deployment>-<version>.md, and a gate on unexpected results (OPS_CENTER_SOURCE=PATH: the real product; EXPECT=update records the expectations)
	$(PYTHON) scripts/conformance.py $(if $(filter update,$(EXPECT)),--update) $(value CONFORMANCE_ARGS)

matrix:  ## docs/conformance/matrix.md (and reports/matrix.html) from the committed JSON reports: a column per implementation
	$(PYTHON) scripts/conformance.py matrix

LOAD_WORKERS ?= 0
LOAD_PROFILE ?= step
load: setup  ## Locust as the suite's personas (LOAD_WORKERS=N: a master and N workers), then the money check
	$(PYTHON) scripts/load.py --profile $(LOAD_PROFILE) --workers $(LOAD_WORKERS) $(value LOAD_ARGS)

mutate: setup  ## cosmic-ray over the reference's business modules, each mutant judged by the suite (MUTATE_ARGS: --module calls.py ledger.py --share 0.25 --retest-survivors); resumable
	$(PYTHON) scripts/mutate.py $(value MUTATE_ARGS)
