"""The gate between make test's two phases when they run side by side (scripts/test_phases.py): the exclusive phase's
runner holds a lock while that phase runs, and the parallel phase's tests that use the stack wait for it."""

import fcntl
import os

GATE_VARIABLE = "CREDITFLOW_EXCLUSIVE_PHASE_GATE"  # the lock file, set for the parallel phase alone


def uses_the_stack(item) -> bool:
    return item.get_closest_marker("live") is not None or "stack" in getattr(item, "fixturenames", ())


class Gate:
    """Passed once per process: after the exclusive phase, it stays open."""

    def __init__(self, environ: dict[str, str] | None = None):
        self._lock = (os.environ if environ is None else environ).get(GATE_VARIABLE)

    def wait_for(self, item) -> None:
        if self._lock is None or not uses_the_stack(item):
            return
        with open(self._lock) as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)  # granted once the runner lets go of its exclusive lock
        self._lock = None
