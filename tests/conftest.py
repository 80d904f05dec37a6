"""Fixtures: the live embedded stack (started when not running) and the suite's own clients."""

import pytest

from creditflow.run import configure, open_run
from sandbox import stack as sandbox
from sandbox.launcher import SandboxLauncher


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
async def world(run):
    """One scenario's world: what it creates is removed afterwards, pass or fail."""
    scenario = run.world()
    yield scenario
    assert await scenario.books.invariant_violations() == []
    assert await scenario.clean_up() == []
