"""Fixtures: the live embedded stack (started when not running) and the suite's own clients."""

import pytest

from creditflow.config import resolve
from creditflow.services import Services
from creditflow.world import World
from sandbox import stack as sandbox


@pytest.fixture(scope="session")
def stack() -> sandbox.Stack:
    return sandbox.up()


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
