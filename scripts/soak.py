"""The whole suite, many times in a row on one stack: how often each scenario passed, and which are flaky.

    python scripts/soak.py --runs 20 [behave arguments, e.g. --tags "not @slow"]

Each run's verdicts (reports/soak/run-N.json) and reports are kept; Allure 3 keeps a history across the
runs (reports/soak/history.jsonl), so the report in reports/soak/allure-report shows the trend and marks
flaky tests. A scenario is flaky when its verdict changed between runs. The summary is printed and written
to reports/soak/soak.json and soak.txt; the exit status is 1 when a scenario was flaky or never passed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creditflow.reporting.allure_report import generate  # noqa: E402


def one_run(number: int, out: Path, behave_args: list[str]) -> dict:
    run_dir = out / f"run-{number}"
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CREDITFLOW_RESULTS": str(out / f"run-{number}.json"),
           "CREDITFLOW_REPORT": str(run_dir / "report.txt"),
           "CREDITFLOW_PERFORMANCE": str(run_dir / "performance.json"),
           "CREDITFLOW_ERROR_LOG": str(run_dir / "errors.log"),
           "CREDITFLOW_ALLURE_RESULTS": str(out / "allure-results")}
    started = time.monotonic()
    finished = subprocess.run([sys.executable, "-m", "behave", "--no-color", "-f", "progress", *behave_args],
                              cwd=ROOT, env=env, capture_output=True, text=True)
    (run_dir / "console.txt").write_text(finished.stdout + finished.stderr)
    results = out / f"run-{number}.json"
    if not results.exists():
        raise SystemExit(f"run {number} wrote no verdicts (exit {finished.returncode}); see {run_dir}/console.txt")
    allure_history(out)
    verdicts = json.loads(results.read_text())
    verdicts["seconds"] = round(time.monotonic() - started, 1)
    return verdicts


def allure_history(out: Path) -> None:
    """Adds the run to the Allure history and regenerates the report with its trend."""
    generate(out / "allure-results", out / "allure-report", out / "history.jsonl")


def summarise(runs: list[dict]) -> dict:
    outcomes: dict[str, list[str]] = defaultdict(list)
    for run in runs:
        for scenario in run["scenarios"]:
            outcomes[f"{scenario['feature']} / {scenario['scenario']}"].append(scenario["status"])
    flaky = sorted(name for name, seen in outcomes.items() if len(set(seen)) > 1)
    never = sorted(name for name, seen in outcomes.items() if "passed" not in seen)
    return {
        "runs": len(runs), "scenarios": len(outcomes), "flaky": flaky, "never_passed": never,
        "passes": {name: f"{seen.count('passed')}/{len(seen)}" for name, seen in sorted(outcomes.items())},
        "money_conserved_in_every_run": all(run.get("money_conserved") is not False for run in runs),
        "seconds_per_run": [run["seconds"] for run in runs],
    }


def text(summary: dict) -> str:
    lines = [f"Soak: {summary['runs']} runs of {summary['scenarios']} scenarios; {len(summary['flaky'])} flaky, "
             f"{len(summary['never_passed'])} never passed; money conserved in every run: "
             f"{summary['money_conserved_in_every_run']}",
             f"seconds per run: {', '.join(map(str, summary['seconds_per_run']))}", ""]
    lines += [f"FLAKY  {name}: passed {summary['passes'][name]}" for name in summary["flaky"]]
    lines += [f"FAILED {name}: passed {summary['passes'][name]}" for name in summary["never_passed"]]
    lines += [f"       {name}: passed {passes}" for name, passes in summary["passes"].items()
              if name not in summary["flaky"] and name not in summary["never_passed"]]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "soak")
    options, behave_args = parser.parse_known_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    shutil.rmtree(options.out, ignore_errors=True)
    options.out.mkdir(parents=True)
    runs = []
    for number in range(1, options.runs + 1):
        runs.append(one_run(number, options.out, behave_args))
        failed = sum(s["status"] != "passed" for s in runs[-1]["scenarios"])
        print(f"soak: run {number}/{options.runs}: {len(runs[-1]['scenarios']) - failed} passed, {failed} failed "
              f"({runs[-1]['seconds']} s)", flush=True)
    summary = summarise(runs)
    (options.out / "soak.json").write_text(json.dumps(summary, indent=1))
    (options.out / "soak.txt").write_text(text(summary))
    print(text(summary), end="")
    return 1 if summary["flaky"] or summary["never_passed"] or not summary["money_conserved_in_every_run"] else 0


if __name__ == "__main__":
    sys.exit(main())
