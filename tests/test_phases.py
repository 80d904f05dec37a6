"""make test's phases side by side (scripts/test_phases.py): a test of the parallel phase that uses the stack waits for
the exclusive phase, the others do not, and the parallel phase's output comes whole after the exclusive phase's."""

import fcntl
import subprocess
import sys
import time

import pytest

from scripts.test_phases import beside
from tests.exclusive_gate import GATE_VARIABLE, Gate


class Item:
    """What the gate reads of a collected test."""

    def __init__(self, live: bool = False, fixtures: tuple[str, ...] = ()):
        self.fixturenames, self._live = fixtures, live

    def get_closest_marker(self, name: str):
        return object() if name == "live" and self._live else None


@pytest.fixture
def held_gate(tmp_path):
    """The gate's lock, held as the runner holds it during the exclusive phase, by another process for a second."""
    lock = tmp_path / "exclusive-phase.lock"
    lock.touch()
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\n"
                               f"lock = open({str(lock)!r}, 'w'); fcntl.flock(lock, fcntl.LOCK_EX)\n"
                               "print('held', flush=True); time.sleep(1)"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    yield lock
    holder.wait()


@pytest.mark.parametrize("item", [Item(live=True), Item(fixtures=("tmp_path", "stack"))], ids=["live", "of the stack"])
def test_a_test_that_uses_the_stack_starts_once_the_exclusive_phase_has_ended(held_gate, item):
    began = time.monotonic()
    gate = Gate({GATE_VARIABLE: str(held_gate)})
    gate.wait_for(item)
    assert time.monotonic() - began > 0.5, "the test did not wait for the exclusive phase"
    with open(held_gate) as lock:
        assert fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB) is None  # the gate keeps no lock of its own


def test_a_test_that_leaves_the_stack_alone_does_not_wait(held_gate):
    began = time.monotonic()
    Gate({GATE_VARIABLE: str(held_gate)}).wait_for(Item(fixtures=("tmp_path",)))
    assert time.monotonic() - began < 0.5


def test_outside_the_two_phases_side_by_side_no_test_waits(held_gate):
    began = time.monotonic()
    Gate({}).wait_for(Item(live=True))  # a session the runner named no gate to, while another's is held
    assert time.monotonic() - began < 0.5


def test_the_held_phases_output_comes_whole_and_in_order_after_the_other_phases(capfd):
    lines = [f"line {n}" for n in range(200)]
    writer = [sys.executable, "-c", "import sys, time\n"
              f"for n, line in enumerate({lines!r}):\n"
              "    print(line, flush=True)\n"
              "    time.sleep(0.005 if n % 20 else 0.05)\n"
              "sys.exit(3)"]

    def meanwhile() -> int:
        time.sleep(0.3)  # the held phase has written some of its lines, and goes on writing
        print("the other phase's output", flush=True)
        return 0

    assert beside(writer, {}, meanwhile) == (0, 3)
    shown = capfd.readouterr().out.splitlines()
    assert shown == ["the other phase's output", *lines]
