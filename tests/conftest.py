"""Fixtures: the live embedded stack (started when not running) and the suite's own clients."""

import pytest

from creditflow.config import resolve
from creditflow.flow import CreditFlow, Services
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
async def flow(services):
    """One scenario's world: what it creates is removed afterwards, pass or fail."""
    world = CreditFlow(services)
    yield world
    assert await world.invariant_violations() == []
    assert await world.cleanup() == []
