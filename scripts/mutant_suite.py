"""cosmic-ray's test command: the mutated reference Ops-Center, started on the running embedded stack, against
the acceptance suite. Exit 0: every scenario passed (the mutant survived); non-zero: the suite caught it.

cosmic-ray runs this in the mutation tree (scripts/mutate.py copies the committed `sandbox/` there), where it
has just written one mutant. The reference is started from that tree, the way the self-tests start a broken
reference (tests/test_suite_self.py); the suite runs unmutated from the commit the run was started on
(.mutation/suite), against the checkout's running stack. The quick suite goes first, its @critical scenarios
before the others (most mutants break a critical Rule: on 2026-12-04, 50 of the 72 caught by the quick suite were
caught among its 62 critical scenarios of 196), and stops at the first failing scenario; the @slow scenarios run
only for a mutant that survived it, and then `make fuzz` on a small budget: the OpenAPI document is part of the
contract (each route's refusals, docs/contract.md "Endpoints"), and only the fuzzer reads it.

A stack that is down would make every mutant look caught, so a run whose environment failed is not a verdict:
this command then stops cosmic-ray (its parent) and the mutant stays pending for the next `make mutate`.
"""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox import stack as sandbox  # noqa: E402 (the checkout's sandbox, not the mutated tree's)

RUN_DIR = ROOT / ".mutation" / "run"
SUITE = ROOT / ".mutation" / "suite"
# Lines of a behave run that say the environment, not the mutant, failed.
ENVIRONMENT_FAILURES = ("HOOK-ERROR in before_all", "creditflow: the target", "ConnectError to Keycloak")


def start_mutant(stack: sandbox.Stack, tree: Path) -> tuple[int, str]:
    """The mutated reference on a free port, from the mutation tree (its `sandbox` comes first on the path)."""
    port = sandbox.free_port()
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with open(RUN_DIR / "ops-center-mutant.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "sandbox.serve:ops_center", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log",
             "--forwarded-allow-ips", sandbox.NO_PROXY],
            cwd=tree, env={**os.environ, **sandbox.ops_center_env(stack), "PYTHONPATH": str(tree)},
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return process.pid, f"http://127.0.0.1:{port}"


def suite(url: str, *selection: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SUITE), "OPS_CENTER_URL": url,
           "CREDITFLOW_SANDBOX_DIR": str(sandbox.STATE_DIR),  # the checkout's stack, not one of the snapshot's
           "CREDITFLOW_REPORT": str(RUN_DIR / "report.txt"), "CREDITFLOW_PERFORMANCE": str(RUN_DIR / "perf.json"),
           "CREDITFLOW_ERROR_LOG": str(RUN_DIR / "errors.log")}
    (RUN_DIR / "errors.log").unlink(missing_ok=True)
    return subprocess.run([sys.executable, "-m", "behave", "--no-color", "-f", "plain", *selection],
                          cwd=SUITE, env=env, capture_output=True, text=True, timeout=1500)


def fuzz(url: str) -> subprocess.CompletedProcess:
    """make fuzz on the small budget of its self-test (tests/test_fuzz.py), its reports in the run's folder."""
    env = {**os.environ, "PYTHONPATH": str(SUITE), "OPS_CENTER_URL": url,
           "CREDITFLOW_SANDBOX_DIR": str(sandbox.STATE_DIR)}
    return subprocess.run([sys.executable, "scripts/fuzz.py", "--examples", "3", "--min-requests", "0",
                           "--seed", "20261126", "--out", str(RUN_DIR / "fuzz")],
                          cwd=SUITE, env=env, capture_output=True, text=True, timeout=1500)


def verdict(run: subprocess.CompletedProcess) -> str:
    """What the suite said, in a few lines: the error log names the scenario that failed and the business fact."""
    errors = RUN_DIR / "errors.log"
    if errors.exists():
        # The log opens with the run's money; the scenario that failed comes first here, so a mutant that only the
        # end-of-run money check caught can be told from one a scenario named (issue 32: every Rule named).
        lines = errors.read_text().splitlines()
        money = [line for line in lines if "money conservation" in line.lower()]
        return "\n".join(([line for line in lines if line not in money] + money)[:8])
    lines = [line for line in (run.stdout + run.stderr).splitlines()
             if re.search(r"FAILED|Assertion|HOOK-ERROR|money was not conserved|invariant", line)]
    return "\n".join(lines[:12]) or (run.stdout + run.stderr)[-1500:]


def environment_failed(run: subprocess.CompletedProcess) -> bool:
    output = run.stdout + run.stderr
    return any(marker in output for marker in ENVIRONMENT_FAILURES)


def abandon(reason: str) -> None:
    print(f"mutant_suite: not a verdict, {reason}; cosmic-ray is stopped, the mutant stays pending", flush=True)
    os.kill(os.getppid(), signal.SIGTERM)
    sys.exit(3)


def main() -> int:
    # A stopped `make mutate` ends this command with SIGTERM: as an exit, so that `finally` stops the mutant too (it
    # runs in a session of its own, which no signal to this one reaches).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack = sandbox.Stack.load()
    if stack is None or "ok" not in str(sandbox.health(stack).get("postgres")):
        abandon("the embedded stack is not running (python3 -m sandbox up)")
    pid, url = start_mutant(stack, Path.cwd())
    try:
        try:
            sandbox.wait_until("ops-center-mutant", lambda: sandbox.http_ok(f"{url}/health"), 60, pid)
        except sandbox.StartError:
            print("killed: the mutated reference does not start")
            print((RUN_DIR / "ops-center-mutant.log").read_text()[-1500:])
            return 1
        for selection in (["--tags", "@critical and not @slow", "--stop"],
                          ["--tags", "not @critical and not @slow", "--stop"], ["--tags", "@slow"]):
            run = suite(url, *selection)
            if environment_failed(run):
                abandon("the suite could not reach the stack")
            if run.returncode != 0:
                print(f"killed by the suite ({' '.join(selection)}):")
                print(verdict(run))
                return 1
        fuzzed = fuzz(url)
        if fuzzed.returncode == 1:
            print("killed by make fuzz (the OpenAPI document, server errors, money):")
            print("\n".join(fuzzed.stdout.splitlines()[:12]))
            return 1
        if fuzzed.returncode != 0:
            abandon(f"make fuzz could not run: {(fuzzed.stderr.strip().splitlines() or ['no output'])[-1]}")
        print("survived: every scenario passed, and make fuzz found nothing")
        return 0
    finally:
        os.killpg(pid, signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(main())
