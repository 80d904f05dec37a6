"""Fixtures: the live embedded stack (started when not running) and the suite's own clients; and the check that the
tests leave the user's reports as they found them."""

import json

import pytest

from creditflow.judging.invariants import violations
from creditflow.run.composition import configure, open_run
from sandbox import stack as sandbox
from sandbox.launcher import SandboxLauncher
from tests.exclusive_gate import Gate
from tests.judged_runs import SAID_AS
from tests.user_reports import changes, described, snapshot

USER_REPORTS_BEFORE = pytest.StashKey[dict[str, tuple[int, int]]]()
USER_REPORTS_CHECK = "tests/user_reports.py::the user's reports are as the tests found them"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """The user's reports as the tests find them, taken where the whole session is seen: in pytest's own process,
    which under pytest-xdist is the controller, before its workers start (a worker sees only its share)."""
    if not hasattr(session.config, "workerinput"):
        session.config.stash[USER_REPORTS_BEFORE] = snapshot()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    """Once every test has run (and every worker has ended), the user's reports are compared with what they were: a
    change fails the session, reported as a failed test of its own that names each change. make test's two pytest
    sessions each check their own span."""
    before = session.config.stash.get(USER_REPORTS_BEFORE, None)
    if before is None:
        return
    found = changes(before, snapshot())
    if found:
        report = pytest.TestReport(USER_REPORTS_CHECK, ("tests/user_reports.py", None, "the user's reports"), {},
                                   "failed", described(found), "call")
        session.config.hook.pytest_runtest_logreport(report=report)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config):
    """Which runs of the suite the session judged (tests/judged_runs.py)."""
    session_folder = config._tmp_path_factory.getbasetemp()  # noqa: SLF001 (pytest's own session folder)
    for facts, run in SAID_AS.items():
        if (session_folder / facts).exists():
            terminalreporter.write_line(f"{run}: {json.loads((session_folder / facts).read_text())['judged']}")


EXCLUSIVE_PHASE = Gate()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Beside make test's exclusive phase (scripts/test_phases.py), a test that uses the stack starts after it."""
    EXCLUSIVE_PHASE.wait_for(item)


def pytest_itemcollected(item):
    """The tests of the run that measures the guide's latency budgets belong to make test's exclusive phase, which
    runs before the parallel one, a test at a time."""
    if "budgets_run" in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.exclusive)


def pytest_collection_modifyitems(items):
    """The tests of the full run of the suite first: that run is make test's longest piece of work, so it starts
    with the parallel phase instead of ending it (the others keep their order)."""
    items.sort(key=lambda item: "full_run" not in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def stack() -> sandbox.Stack:
    return sandbox.up()  # workers asking at once wait for one start


@pytest.fixture(scope="session")
def launcher(stack) -> SandboxLauncher:
    return SandboxLauncher()


@pytest.fixture(scope="session")
def config(launcher):
    return configure({}, launcher, environ={})  # the reference on the embedded stack, whatever is set


@pytest.fixture(scope="session")
async def run(config, launcher):
    opened = await open_run(config, launcher)
    yield opened
    await opened.close()


@pytest.fixture(scope="session")
def services(run):
    return run.services


@pytest.fixture
def api(services):
    """The reference's endpoints, one method each (the contract deployment's HTTP layer)."""
    return services.deployment.api


@pytest.fixture
async def scene(run):
    """One scenario's scene: what it creates is removed afterwards, pass or fail."""
    scenario = run.scene()
    yield scenario
    assert await violations(scenario) == []
    assert await scenario.clean_up() == []
