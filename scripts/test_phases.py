"""make test's two phases: the tests that need the stack to themselves (pytest -m exclusive, one at a time), and the
others on parallel workers (pytest -m 'not exclusive' -n JOBS --dist worksteal).

    python3 scripts/test_phases.py [--jobs 4]

When make acceptance's kept run of this checkout, on this stack, holds the whole suite (creditflow/run/kept.py), the
exclusive phase measures nothing: it judges that run's latency budgets. Then the parallel phase starts beside it: it
collects its tests and runs those that leave the stack alone, while each test that uses the stack waits for the
exclusive phase to end (tests/exclusive_gate.py). Its output follows the exclusive phase's. Otherwise, the latency
budgets being measured in the exclusive phase, the two run one after the other, and a failed exclusive phase ends
make test there, as make ends at a failed command.

Exit status: the exclusive phase's when it failed, else the parallel phase's.
"""

import argparse
import fcntl
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox import stack as sandbox  # noqa: E402
from tests.exclusive_gate import GATE_VARIABLE  # noqa: E402
from tests.judged_runs import kept_here  # noqa: E402

GATE = sandbox.STATE_DIR / "exclusive-phase.lock"


def whole_suite_kept(stack: sandbox.Stack) -> bool:
    kept = kept_here(stack)  # as the exclusive phase's budgets_run asks
    return kept is not None and {path.resolve() for path in kept.features} >= {
        path.resolve() for path in (ROOT / "features").glob("*.feature")}


def follow(written: IO[bytes], process: subprocess.Popen) -> None:
    """What the process has written so far, then the rest as it comes, until it ends."""
    while True:
        ended = process.poll() is not None
        while chunk := written.read(65536):
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        if ended:
            return
        time.sleep(0.2)


def beside(command: list[str], env: dict[str, str], meanwhile: Callable[[], int]) -> tuple[int, int]:
    """`command` runs while `meanwhile` does, its output held back and shown after; returns both exit statuses."""
    # The command writes to a file of its own, read here through another opening of it: a shared one would share
    # the position too, and each read would move where the command writes next.
    with (tempfile.NamedTemporaryFile(prefix="creditflow-held-output-") as output, open(output.name, "rb") as written):
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            first = meanwhile()
            follow(written, process)
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait()
    return first, process.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4, help="the parallel phase's pytest-xdist workers")
    options = parser.parse_args()
    exclusive = [sys.executable, "-m", "pytest", "-m", "exclusive"]
    parallel = [sys.executable, "-m", "pytest", "-m", "not exclusive", "-n", str(options.jobs), "--dist", "worksteal"]
    if not whole_suite_kept(sandbox.up()):
        first = subprocess.run(exclusive, cwd=ROOT).returncode
        return first or subprocess.run(parallel, cwd=ROOT).returncode
    with open(GATE, "w") as gate:
        fcntl.flock(gate, fcntl.LOCK_EX)  # before the parallel phase starts: none of its tests of the stack runs first

        def exclusive_phase() -> int:
            ended = subprocess.run(exclusive, cwd=ROOT).returncode
            fcntl.flock(gate, fcntl.LOCK_UN)
            return ended

        first, second = beside(parallel, {**os.environ, GATE_VARIABLE: str(GATE)}, exclusive_phase)
    return first or second


if __name__ == "__main__":
    sys.exit(main())
