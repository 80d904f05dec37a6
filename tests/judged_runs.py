"""Which runs of the suite a pytest session judged, make acceptance's kept run or one it made
(tests/test_suite_self.py): each is noted in a file of the session's folder, which the workers share with the
controller, and the session's summary says it (tests/conftest.py)."""

FULL_RUN_FACTS = "full-run.json"  # the judged whole run, as every worker reads it
BUDGETS_RUN_FACTS = "budgets-run.json"  # which run's latency budgets were judged
SAID_AS = {FULL_RUN_FACTS: "the suite's full run", BUDGETS_RUN_FACTS: "the latency budgets"}
