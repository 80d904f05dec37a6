"""Which runs of the suite a pytest session judged, make acceptance's kept run or one it made
(tests/test_suite_self.py): each is noted in a file of the session's folder, which the workers share with the
controller, and the session's summary says it (tests/conftest.py). make test's runner asks too
(scripts/test_phases.py)."""

import os

from creditflow.run.kept import KeptRun, kept_run
from sandbox import stack as sandbox

FULL_RUN_FACTS = "full-run.json"  # the judged whole run, as every worker reads it
BUDGETS_RUN_FACTS = "budgets-run.json"  # which run's latency budgets were judged
SAID_AS = {FULL_RUN_FACTS: "the suite's full run", BUDGETS_RUN_FACTS: "the latency budgets"}


def suite_environment() -> dict[str, str]:
    """The environment of the suite's runs here: this one's, but a checkout set for the live product test."""
    return {key: value for key, value in os.environ.items() if key != "OPS_CENTER_SOURCE"}


def kept_here(stack: sandbox.Stack) -> KeptRun | None:
    """make acceptance's kept run, if it is of this checkout as it is, on this stack, with the settings of this
    session's runs."""
    return kept_run(sandbox.KEPT_RUN_DIR, stack.pids, suite_environment())
