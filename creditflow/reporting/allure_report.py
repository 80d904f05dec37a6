"""The single-file Allure 3 report of one run's results (allurerc.mjs), named after the run it shows.

A real run replaces the Allure results of the last one, so the results hold one run; the trend across runs is kept
in an Allure history file beside them, which a report adds its run to once: the same run reported again adds
nothing, and results that no run finished writing (no environment.properties) add nothing.
"""

import json
import os
import subprocess
from pathlib import Path

from creditflow.config import ROOT

REPORT_NAME = "Ops-Center credit flow"


def run_of(results: Path) -> dict[str, str]:
    """The run the results are of, as it named itself when it finished (environment.properties); {} when none did."""
    properties = results / "environment.properties"
    if not properties.exists():
        return {}
    return dict(line.split("=", 1) for line in properties.read_text().splitlines() if "=" in line)


def report_name(run: dict[str, str]) -> str:
    if "run" not in run:
        return f"{REPORT_NAME}: results of no finished run"
    return f"{REPORT_NAME}: {run['deployment']}, run {run['run']}"


def in_history(name: str, history: Path) -> bool:
    """Whether a report of this run was already added to the history (Allure keeps each report's name there)."""
    if not history.exists():
        return False
    return any(json.loads(line).get("name") == name for line in history.read_text().splitlines() if line.strip())


def generate(results: Path, output: Path, history: Path | None = None) -> subprocess.CompletedProcess:
    """`allure generate` of `results` into `output`/index.html; with `history`, the report shows the trend of the runs
    in that file, and adds this one to it unless it is there already."""
    run = run_of(results)
    name = report_name(run)
    env = {**os.environ, "CREDITFLOW_ALLURE_NAME": name}
    if history is not None:
        history.parent.mkdir(parents=True, exist_ok=True)
        adds = "run" in run and not in_history(name, history)
        env |= {"CREDITFLOW_ALLURE_HISTORY": str(history), "CREDITFLOW_ALLURE_APPEND_HISTORY": "1" if adds else "0"}
    return subprocess.run(["npx", "--no-install", "allure", "generate", str(results), "--config",
                           str(ROOT / "allurerc.mjs"), "-o", str(output)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
