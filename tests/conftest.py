"""Fixtures: the live embedded stack (started when not running) and the suite's own clients."""

import pytest

from creditflow.config import resolve
from creditflow.services import Services
from creditflow.world import World
from sandbox import stack as sandbox


def pytest_collection_modifyitems(items):
    """The tests of the full run of the suite share that run, which measures the guide's latency budgets: they
    belong to make test's exclusive phase, which runs before the parallel one, a test at a time."""
    for item in items:
        if "full_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.exclusive)


@pytest.fixture(scope="session")
def stack() -> sandbox.Stack:
    return sandbox.up()  # workers asking at once wait for one start


@pytest.fixture(scope="session")
def config(stack):
    return resolve({}, environ={}, start_embedded=stack.suite_settings)


@pytest.fixture(scope="session")
async def services(config):
    connected = await Services.connect(config)
    yield connected
    await connected.close()


@pytest.fixture
def api(services):
    """The reference's endpoints, one method each (the contract deployment's HTTP layer)."""
    return services.deployment.api


@pytest.fixture
async def world(services):
    """One scenario's world: what it creates is removed afterwards, pass or fail."""
    scenario = World(services)
    yield scenario
    assert await scenario.books.invariant_violations() == []
    assert await scenario.clean_up() == []
