"""make report: the single-file Allure 3 report of the last run, reports/allure-report/index.html.

The report is named after the run it shows (its deployment and run id). Each real run replaces the Allure results
of the last one; the trend is kept in reports/allure-history/<deployment>.jsonl, which the report adds its run to
once, so the report shows the trend of that deployment's runs, never another deployment's.
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creditflow.reporting.allure_formatter import results_dir  # noqa: E402
from creditflow.reporting.allure_report import generate, run_of  # noqa: E402

HISTORIES = ROOT / "reports" / "allure-history"
OUTPUT = ROOT / "reports" / "allure-report"


def history_of(deployment: str) -> Path:
    """A deployment may be named module:Class; its history file is named with what a file name may hold."""
    return HISTORIES / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', deployment)}.jsonl"


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    results = ROOT / results_dir("reports/allure-results")
    if not results.is_dir():
        print(f"report: no Allure results in {results}: run make acceptance first", file=sys.stderr)
        return 1
    run = run_of(results)
    history = history_of(run["deployment"]) if "deployment" in run else None
    generated = generate(results, OUTPUT, history)
    if generated.returncode != 0:
        print(f"report: allure generate failed:\n{generated.stdout[-3000:]}{generated.stderr[-3000:]}", file=sys.stderr)
        return generated.returncode
    shown = f"run {run['run']} of {run['deployment']}" if "run" in run else "results of no finished run"
    print(f"report: {shown}; open {(OUTPUT / 'index.html').relative_to(ROOT)}")
    if history is not None:
        print(f"report: the trend of {run['deployment']}'s runs: {history.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
