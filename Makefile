# Two commands set up a fresh machine: `make acceptance` and `make test` (see README.md).
PYTHON ?= python3
BEHAVE = $(PYTHON) -m behave

.PHONY: setup up down status acceptance quick test report bench lint conformance soak fuzz mutate

setup:
	bash scripts/setup.sh

up: setup
	$(PYTHON) -m sandbox up

down:
	$(PYTHON) -m sandbox down

status:
	$(PYTHON) -m sandbox status

acceptance: setup  ## every scenario, on the embedded stack (started when not running)
	$(BEHAVE)

quick: setup  ## every scenario but the @slow ones
	$(BEHAVE) --tags 'not @slow'

test: setup  ## unit tests and the suite's self-tests (the sandbox is started when not running)
	$(PYTHON) -m pytest

report:  ## the single-file Allure HTML report from the last run
	npx --no-install allure generate reports/allure-results --config allurerc.mjs
	@echo "open reports/allure-report/index.html"

RUNS ?= 20
soak: setup  ## the whole suite RUNS times on one stack: per-scenario pass counts, flaky scenarios, Allure history
	$(PYTHON) scripts/soak.py --runs $(RUNS) $(SOAK_ARGS)

EXAMPLES ?= 30
fuzz: setup  ## Schemathesis against the target's OpenAPI document as real personas, then the money check
	$(PYTHON) scripts/fuzz.py --examples $(EXAMPLES) $(FUZZ_ARGS)

bench: setup  ## p50/p95 latency figures of the embedded stack
	$(PYTHON) benchmarks/bench.py

lint:
	$(PYTHON) -m ruff check .

conformance: setup  ## the whole suite, and docs/conformance/<deployment>-<version>.md (OPS_CENTER_SOURCE=PATH: the real product)
	CREDITFLOW_CONFORMANCE=docs/conformance $(BEHAVE) -f progress || true
	@ls -t docs/conformance/*.md | head -1

mutate: setup  ## cosmic-ray over the reference's business modules, each mutant judged by the suite (MUTATE_ARGS: --module calls.py ledger.py --share 0.25 --retest-survivors); resumable
	$(PYTHON) scripts/mutate.py $(MUTATE_ARGS)
