"""How long the README's two commands take: the figures of the README's "Measured here" come from this script.

    python3 benchmarks/suite_time.py acceptance [--runs 3]     make acceptance, the stack already running
    python3 benchmarks/suite_time.py test                      make test, the stack already running, with
                                                               pytest's slowest tests (where the time goes)
    python3 benchmarks/suite_time.py fresh [--into DIR]        a fresh clone of this checkout: make acceptance,
                                                               then make test, from a stopped stack and an empty
                                                               download cache (Keycloak, LiteLLM), then down; each
                                                               part of the setup with its wall time; run from a new
                                                               virtualenv, activated, as on a machine without the
                                                               suite's Python packages (python3 -m venv /tmp/bare
                                                               && . /tmp/bare/bin/activate): the README's commands
                                                               say python3, and find that virtualenv's

Each command runs as a reader would type it, in a shell; the wall time is the script's own clock. Every
measurement is appended to reports/bench/suite-time.jsonl with the date, the machine's cores and load, and
printed; each command's whole output is kept in reports/bench/consoles/. Exit status 1 when a measured
command failed (its figure is not a measurement of a green run), or when the fresh clone's stack did not stop.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "reports" / "bench" / "suite-time.jsonl"
CONSOLES = OUT.parent / "consoles"  # each measured command's whole output, to read a failure from
SLOWEST = re.compile(r"^([\d.]+)s (call|setup|teardown) +(\S+)", re.M)
# The Makefile's settings a measurement may be taken with (from the environment).
MAKE_SETTINGS = ("JOBS", "TEST_JOBS", "PYTHON")
CLOSING = re.compile(r"^(=+ .* in [\d.]+s.* =+|\d+ scenarios passed.*)$", re.M)
SETUP_PART = re.compile(r"^== setup: (.*) \((\d+) s\)$", re.M)  # each part of scripts/setup.sh, as it ends


def timed(command: str, cwd: Path, env: dict[str, str] | None = None) -> dict:
    started = time.monotonic()
    finished = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                              env={**os.environ, **(env or {})})
    seconds = round(time.monotonic() - started, 1)
    said = finished.stdout + finished.stderr
    CONSOLES.mkdir(parents=True, exist_ok=True)
    console = CONSOLES / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{command.replace(' ', '-')}.log"
    console.write_text(said)
    return {"command": command, "seconds": seconds, "exit": finished.returncode, "console": str(console),
            "closing": CLOSING.findall(said)[-2:],
            "setup": [f"{int(s):4d} s {part}" for part, s in SETUP_PART.findall(said)],
            "slowest": [f"{float(s):.1f} s {phase} {test}" for s, phase, test in SLOWEST.findall(said)[:15]]}


def record(kind: str, measured: list[dict]) -> None:
    entry = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "kind": kind, "cores": os.cpu_count(),
             "load_before": os.getloadavg()[0], "measured": measured}
    if settings := {name: os.environ[name] for name in MAKE_SETTINGS if name in os.environ}:
        entry["settings"] = settings  # what the measured commands ran with, besides the Makefile's defaults
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("a") as lines:
        lines.write(json.dumps(entry) + "\n")
    for run in measured:
        print(f"{run['seconds']:8.1f} s  exit {run['exit']}  {run['command']}")
        for line in run["setup"]:
            print(f"            setup: {line}")
        for line in run["closing"]:
            print(f"            {line}")
        for line in run["slowest"]:
            print(f"            {line}")


def running_stack(cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "sandbox", "up"], cwd=cwd, check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["acceptance", "test", "fresh"])
    parser.add_argument("--runs", type=int, default=3, help="make acceptance this many times (acceptance)")
    parser.add_argument("--into", type=Path, help="where the fresh clone goes (fresh; default: a mktemp -d folder)")
    options = parser.parse_args()
    stack_left_running = False
    if options.what == "acceptance":
        running_stack(ROOT)
        measured = [timed("make acceptance", ROOT) for _ in range(options.runs)]
    elif options.what == "test":
        running_stack(ROOT)
        measured = [timed("make test", ROOT, {"PYTEST_ADDOPTS": "--durations=15"})]
    else:
        folder = options.into or Path(tempfile.mkdtemp(prefix="creditflow-fresh-"))
        clone, cache = folder / "creditflow", folder / "download-cache"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        # An empty download cache: Keycloak and LiteLLM are fetched and built again, as on a fresh machine.
        env = {"CREDITFLOW_CACHE": str(cache)}
        measured = [timed("make acceptance", clone, env), timed("make test", clone, env)]
        # Through the clone's own make, with the Python its commands installed the packages into.
        stopped = subprocess.run(["make", "down"], cwd=clone, env={**os.environ, **env}, capture_output=True,
                                 text=True)
        stack_left_running = stopped.returncode != 0
        if stack_left_running:  # the clone is kept: its stack's state says what to stop
            print(f"the fresh clone's stack did not stop ({clone}):\n{stopped.stdout}{stopped.stderr}",
                  file=sys.stderr)
        elif options.into is None:
            shutil.rmtree(folder, ignore_errors=True)
    record(options.what, measured)
    return 0 if all(run["exit"] == 0 for run in measured) and not stack_left_running else 1


if __name__ == "__main__":
    sys.exit(main())
